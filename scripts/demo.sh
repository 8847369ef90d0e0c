#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# The main demo: installs what it needs, builds CSX, runs the edu sample
# driver as a user process against two simulated edu devices, then (where
# QEMU and kernel headers are available) builds the very same driver source
# as a kernel module and runs it on QEMU's real edu device in a VM.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${CSX_BUILD_ROOT:-$top/build}/demo
jobs=$(nproc 2>/dev/null || echo 2)

"$top/scripts/setup.sh" --kernel
(cd "$top" && ./autogen.sh >/dev/null)
mkdir -p "$out"
(cd "$out" && "$top/configure" -q >/dev/null)
echo "== building CSX"
make -C "$out" -j"$jobs" >/dev/null

echo
echo "== user mode: samples/edu/csx_edu.c as a process, two simulated edu devices"
"$out/libtool" --mode=execute "$out/csx-run" --device edu --device edu --once \
	"$out/samples/edu/csx_edu.la" "$out/samples/edu/edu_demo.la"

echo
if [ -x "$(command -v qemu-system-x86_64)" ] && [ -n "$(sed -n 's/^KDIR = //p' "$out/Makefile")" ]; then
	echo "== kernel mode: the same csx_edu.c as csx_edu.ko, QEMU's edu device in a VM;"
	echo "   then as a user process on that real device through the kernel helper (/dev/csx)"
	"$top/scripts/demo-kernel.sh" "$out/kernel-demo" "$out"
else
	echo "== kernel mode skipped: QEMU or kernel headers missing"
fi
