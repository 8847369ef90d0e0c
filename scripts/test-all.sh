#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# The whole test suite, as CI runs it:
#   1. user-side tests (make check) in three builds: plain (with a debug
#      build's assertions), AddressSanitizer+UBSan, ThreadSanitizer;
#   2. make doc (must be warning-free) and make distcheck-style install check;
#   3. the kernel tests in QEMU (make check-kernel): stock and debug kernel.
# Set CSX_SKIP_KERNEL=1 to stop after the user-side stages (say so loudly).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${CSX_BUILD_ROOT:-$top/build}
jobs=$(nproc 2>/dev/null || echo 2)

"$top/scripts/setup.sh" --kernel
(cd "$top" && ./autogen.sh >/dev/null)

stage() {
	name=$1
	shift
	echo "=== $name: configure $*"
	mkdir -p "$out/$name"
	(cd "$out/$name" && "$top/configure" -q "$@" >/dev/null)
	echo "=== $name: make check"
	if ! make -C "$out/$name" -j"$jobs" check >"$out/$name.log" 2>&1; then
		tail -n 60 "$out/$name.log"
		find "$out/$name" -name '*.log' -path '*tests*' -newer "$out/$name/Makefile" \
			-exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null | head -5 |
			while read -r f; do echo "--- $f"; tail -n 40 "$f"; done
		echo "=== $name: FAILED (full log: $out/$name.log)"
		exit 1
	fi
	grep -E '^(# TOTAL|# PASS|# SKIP|# XFAIL|# FAIL|# XPASS|# ERROR)' "$out/$name.log" | sed "s/^/    /"
}

stage plain --enable-debug
stage asan --enable-debug --enable-sanitizers=asan
stage tsan --enable-debug --enable-sanitizers=tsan

echo "=== docs: make doc"
make -C "$out/plain" doc

echo "=== install: make install into a staging dir"
rm -rf "$out/stage"
make -C "$out/plain" install DESTDIR="$out/stage" >/dev/null
test -f "$(find "$out/stage" -name csx-user.pc | head -1)"

if [ "${CSX_SKIP_KERNEL:-0}" = 1 ]; then
	echo "=== kernel tests SKIPPED (CSX_SKIP_KERNEL=1): not a full run"
	exit 0
fi
echo "=== kernel: make check-kernel"
make -C "$out/plain" check-kernel
echo "=== all tests passed"
