#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Every C source and header follows the repo's .clang-format (kernel style).
# Fix with: git ls-files '*.c' '*.h' | xargs clang-format -i
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if ! command -v clang-format >/dev/null 2>&1; then
	echo "check-format: clang-format not installed (scripts/setup.sh installs it)"
	exit 1
fi
files=$(find csx-api csx-user csx-kernel helpers samples tests bench \
	-name '*.[ch]' -not -path '*/.libs/*' | sort)
bad=0
for f in $files; do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "check-format: $f is not formatted"
		bad=1
	fi
done
[ $bad = 0 ] && echo "check-format: $(echo "$files" | wc -l) files formatted"
exit $bad
