#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# A sample driver builds unmodified for both modes: no preprocessor
# conditional may test the mode. If a sample needs one, the API lacks
# something. Usage: check-no-mode-conditionals.sh [DIR...] (default samples/)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- "$top/samples"

pat='^[[:space:]]*#[[:space:]]*(if|ifdef|ifndef|elif)\b.*(__KERNEL__|\bMODULE\b|CSX_MODE|CSX_USER|CSX_KERNEL|USER_MODE|KERNEL_MODE|__linux__|_POSIX|__unix__)'
files=$(find "$@" -name '*.[ch]' | sort)
[ -n "$files" ] || { echo "check-no-mode-conditionals: no sources under $*"; exit 1; }
bad=0
for f in $files; do
	if grep -nE "$pat" "$f"; then
		echo "check-no-mode-conditionals: $f: mode conditional (see above)"
		bad=1
	fi
	# Samples see only the CSX API: no libc or kernel headers.
	if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$f" | grep -vE '<csx/'; then
		echo "check-no-mode-conditionals: $f: includes a non-CSX header (see above)"
		bad=1
	fi
done
[ $bad = 0 ] && echo "check-no-mode-conditionals: $(echo "$files" | wc -l) files clean"
exit $bad
