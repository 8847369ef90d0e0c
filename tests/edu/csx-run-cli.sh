#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# csx-run from the command line: --help documents every option, and every
# way of getting the command wrong gives a clear message and its own exit
# status instead of a crash.
. "$(dirname "$0")/lib.sh"

run_status ./csx-run --help
[ $rc = 0 ] || fail "--help exited with $rc"
expect "$out" "Usage: csx-run [OPTION]... MODULE.so [MODULE.so]..." \
	"--device MODEL" "msi=on|off" "--fault [DEVICE/]FAULT" "drop-irq:N" \
	"spurious" "delay:T" "gone" "--once" "--log-level LEVEL" "--version" \
	"Exit status"

run_status ./csx-run --version
[ $rc = 0 ] || fail "--version exited with $rc"
expect "$out" "module ABI 1"

# Usage errors: 64.
run_status ./csx-run --device edu
[ $rc = 64 ] || fail "no module: exit $rc, want 64"
expect "$out" "csx-run: no module given" "Try 'csx-run --help'"
run_status ./csx-run --frobnicate samples/edu/csx_edu.la
[ $rc = 64 ] || fail "bad option: exit $rc, want 64"
expect "$out" "unknown option"
run_status ./csx-run --device toaster --once samples/edu/csx_edu.la
[ $rc = 64 ] || fail "bad model: exit $rc, want 64"
expect "$out" "no device model 'toaster' (known: edu)"
run_status ./csx-run --device edu --fault melt --once samples/edu/csx_edu.la
[ $rc = 64 ] || fail "bad fault: exit $rc, want 64"
expect "$out" "--fault melt: unknown fault 'melt'"
run_status ./csx-run --device edu --fault sim-edu7/gone --once samples/edu/csx_edu.la
[ $rc = 64 ] || fail "fault on missing device: exit $rc, want 64"
expect "$out" "--fault sim-edu7/gone: no such device"
run_status ./csx-run --log-level loud --once samples/edu/csx_edu.la
[ $rc = 64 ] || fail "bad level: exit $rc, want 64"
expect "$out" "unknown log level: loud"

# Modules that cannot be run: 66, and nothing is started.
run_status ./csx-run --once samples/edu/no_such_module.so
[ $rc = 66 ] || fail "missing module: exit $rc, want 66"
expect "$out" "samples/edu/no_such_module.so: cannot read module: No such file or directory"
run_status ./csx-run --once "$top_srcdir/tests/edu/lib.sh"
[ $rc = 66 ] || fail "not ELF: exit $rc, want 66"
expect "$out" "lib.sh: not a loadable module"
run_status ./csx-run --once libcsx-user.la
[ $rc = 66 ] || fail "not CSX: exit $rc, want 66"
expect "$out" "libcsx-user.la: not a CSX module (no csx_module_descriptor symbol"
run_status ./csx-run --once tests/edu/bad_abi.la
[ $rc = 66 ] || fail "ABI: exit $rc, want 66"
expect "$out" "tests/edu/bad_abi.la: module ABI 999, but this host runs ABI 1 modules"

# An init that fails: its status (CSX_ENODEV = 19), finis still run.
run_status ./csx-run --once samples/edu/csx_edu.la samples/edu/edu_demo.la
[ $rc = 19 ] || fail "demo without device: exit $rc, want 19"
expect "$out" "no edu device service" \
	"csx-run: module edu_demo: init failed: CSX_ENODEV"

# Real devices through the kernel helper (--device pci:...). No helper on
# the build host: every way of asking must fail clearly, without a crash.
tmp=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
run_status ./csx-run --help
expect "$out" "--device pci:[DDDD:]BB:SS.F | pci:VVVV:DDDD[#N]" \
	"CSX_KH_DEVICE" "CSX_SYSFS_PCI" "69 a PCI"
mods="samples/edu/csx_edu.la samples/edu/edu_demo.la"
if [ ! -e /dev/csx ]; then
	run_status ./csx-run --once --device pci:0000:00:04.0 $mods
	[ $rc = 69 ] || fail "no helper: exit $rc, want 69"
	expect "$out" "csx-run: --device pci:0000:00:04.0: no kernel helper (/dev/csx missing: load csx_helper.ko, or use --device edu for the simulated device)"
fi
run_status env CSX_KH_DEVICE="$tmp/csx" ./csx-run --once --device pci:00:04.0 $mods
[ $rc = 69 ] || fail "no helper (CSX_KH_DEVICE): exit $rc, want 69"
expect "$out" "csx-run: --device pci:00:04.0: no kernel helper ($tmp/csx missing" \
	"0000:00:04.0: cannot open $tmp/csx: No such file or directory"
run_status env CSX_KH_DEVICE=/dev/null ./csx-run --once --device pci:0000:00:04.0 $mods
[ $rc = 69 ] || fail "not the helper: exit $rc, want 69"
expect "$out" "csx-run: --device pci:0000:00:04.0: /dev/null is not the CSX kernel helper (version ioctl failed:"
for bad in pci:zz 'pci:1234:11e8#x' 'pci:1234:11e8#' pci:1234 pci:00:20.0 \
	pci:0000:00:04.8 pci:0000:100:04.0 'pci:12345:11e8' pci:; do
	run_status ./csx-run --once --device "$bad" $mods
	[ $rc = 64 ] || fail "malformed $bad: exit $rc, want 64"
	expect "$out" "csx-run: bad PCI device (want pci:DDDD:BB:SS.F, pci:BB:SS.F or pci:VVVV:DDDD[#N]): $bad"
done
# Ids resolve through sysfs (a fake tree), in address order; the message
# names the address the ids resolved to.
pcidev() {
	mkdir -p "$tmp/pci/$1"
	echo "$2" >"$tmp/pci/$1/vendor"
	echo "$3" >"$tmp/pci/$1/device"
}
pcidev 0000:00:05.0 0x1234 0x11e8
pcidev 0000:00:03.0 0x8086 0x100e
pcidev 0000:00:04.0 0x1234 0x11e8
pcidev 0001:02:1f.7 0x1234 0x11e8
kh() {
	run_status env CSX_SYSFS_PCI="$tmp/pci" CSX_KH_DEVICE="$tmp/csx" \
		./csx-run --once --device "$1" $mods
	[ $rc = 69 ] || fail "$1: exit $rc, want 69"
}
kh pci:1234:11e8
expect "$out" "--device pci:1234:11e8 (0000:00:04.0): no kernel helper"
kh 'pci:1234:11E8#1'
expect "$out" "--device pci:1234:11E8#1 (0000:00:05.0): no kernel helper"
kh 'pci:1234:11e8#2'
expect "$out" "--device pci:1234:11e8#2 (0001:02:1f.7): no kernel helper"
kh 'pci:1234:11e8#3'
expect "$out" "--device pci:1234:11e8#3: only 3 PCI device(s) 1234:11e8 in $tmp/pci (#N counts from 0)"
kh pci:abcd:0001
expect "$out" "--device pci:abcd:0001: no PCI device abcd:0001 in $tmp/pci"
run_status env CSX_SYSFS_PCI="$tmp/none" ./csx-run --once --device pci:8086:100e $mods
[ $rc = 69 ] || fail "no sysfs: exit $rc, want 69"
expect "$out" "cannot list PCI devices in $tmp/none: No such file or directory"
# A simulated device beside a failed claim: nothing is left behind.
run_status env CSX_KH_DEVICE="$tmp/csx" ./csx-run --once --device edu \
	--device pci:00:04.0 $mods
[ $rc = 69 ] || fail "sim + pci: exit $rc, want 69"

# The standalone executable takes the same options minus the modules.
run_status samples/edu/csx-edu --help
[ $rc = 0 ] || fail "csx-edu --help exited with $rc"
expect "$out" "Usage: csx-edu [OPTION]..." "--device MODEL" "--device pci:"
run_status env CSX_KH_DEVICE="$tmp/csx" samples/edu/csx-edu --once --device pci:0000:00:04.0
[ $rc = 69 ] || fail "csx-edu without helper: exit $rc, want 69"
expect "$out" "csx-edu: --device pci:0000:00:04.0: no kernel helper"
run_status samples/edu/csx-edu --once samples/edu/csx_edu.la
[ $rc = 64 ] || fail "csx-edu with a module: exit $rc, want 64"
expect "$out" "unexpected argument"
echo "$me: PASS"
