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

# The standalone executable takes the same options minus the modules.
run_status samples/edu/csx-edu --help
[ $rc = 0 ] || fail "csx-edu --help exited with $rc"
expect "$out" "Usage: csx-edu [OPTION]..." "--device MODEL"
run_status samples/edu/csx-edu --once samples/edu/csx_edu.la
[ $rc = 64 ] || fail "csx-edu with a module: exit $rc, want 64"
expect "$out" "unexpected argument"
echo "$me: PASS"
