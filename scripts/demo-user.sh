#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# The user-mode demo: the edu sample driver (samples/edu/csx_edu.c) runs in
# this process against two simulated edu devices, and its client module
# edu_demo computes factorials and DMA round trips through it.
#
# usage: scripts/demo-user.sh [BUILD_DIR]
#   BUILD_DIR already configured (by you or by scripts/demo.sh): just make.
#   BUILD_DIR absent or empty: ./autogen.sh (if needed) and configure there.
#   Default BUILD_DIR: build/user-demo in the source tree.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/user-demo}

mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ ! -f "$build/Makefile" ]; then
	[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null)
	echo "== configuring in $build"
	(cd "$build" && "$top/configure" -q)
fi
echo "== building"
make -C "$build" -j2 >/dev/null

echo "== running: ./csx-run --device edu --device edu --once csx_edu.so edu_demo.so"
cd "$build"
# The log goes to stderr; show it as the demo's output.
./csx-run --device edu --device edu --once samples/edu/.libs/csx_edu.so samples/edu/.libs/edu_demo.so 2>&1
