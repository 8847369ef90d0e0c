#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Debugging a driver in user mode, end to end: gdb runs csx-run with the edu
# driver and its demo, stops in the driver's real ISR (a pending breakpoint:
# the module is dlopen()ed), lets it read the interrupt status register and
# checks the value it is about to handle: 0x1, the completion of the demo's
# first factorial. The command is the one doc/tutorial-user-mode.md shows.
. "$(dirname "$0")/lib.sh"

command -v gdb >/dev/null 2>&1 || { echo "$me: SKIP: gdb not installed"; exit 77; }
to=
command -v timeout >/dev/null 2>&1 && to="timeout 300"

run_status $to ./libtool --mode=execute gdb -batch -x "$top_srcdir/tests/edu/gdb-isr.gdb" --args ./csx-run --device edu --once samples/edu/.libs/csx_edu.so samples/edu/.libs/edu_demo.so
expect "$out" "Breakpoint 1 (edu_isr) pending." \
	"hit Breakpoint 1, edu_isr (" \
	"csx_read32 (" "edu ISR: interrupt status = 0x1"
# The read it finished is of the interrupt status register (0x24 = 36).
printf '%s\n' "$out" | grep -qE 'csx_read32 \(.*off=(off@entry=)?36\)' ||
	fail "the ISR's first read was not of the status register"
echo "$me: PASS"
