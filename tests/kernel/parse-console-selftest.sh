#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Unit test of parse-console.sh on hand-written console logs (no VM, ~1 s).
# usage: parse-console-selftest.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
cases=0

# Pieces of a console log as run-vm.sh writes it.
boot='SeaBIOS (version 1.16.2-debian-1.16.2-1)
[    0.000000] Linux version 6.1.0-56-amd64
[    0.000000] Command line: console=ttyS0 panic=-1 oops=panic
CSX-VM-START kernel=6.1.0-56-amd64 uptime=1.70'
tail_ok='CSX-TAINT 12288
CSX-VM-DONE rc=0'
dmesg_begin='CSX-DMESG-BEGIN
[    0.000000] Linux version 6.1.0-56-amd64'
dmesg_end='CSX-DMESG-END
[    3.000000] reboot: Power down'

# check <name> <pass|fail> <expected output substring or ""> [options] <<log
check() {
	local name=$1 want=$2 expect=$3 rc=0
	shift 3
	cases=$((cases + 1))
	cat >"$work/log"
	"$here/parse-console.sh" "$@" "$work/log" >"$work/out" 2>&1 || rc=$?
	local bad=0
	[[ $want == pass && $rc -ne 0 ]] && bad=1
	[[ $want == fail && $rc -ne 1 ]] && bad=1
	if [[ -n $expect ]] && ! grep -qF -- "$expect" "$work/out"; then
		bad=1
	fi
	if [[ $bad -eq 1 ]]; then
		echo "FAIL: $name (wanted $want${expect:+ with \"$expect\"}, exit $rc)"
		sed 's/^/    /' "$work/out"
		failures=$((failures + 1))
	else
		echo "ok: $name"
	fi
}

check "user TAP + nested kernel KTAP" pass "6 result(s): 6 passed" <<EOF
$boot
TAP version 13
1..2
ok 1 insmod
ok 2 - rmmod
$tail_ok
$dmesg_begin
[    2.000000] KTAP version 1
[    2.000001] 1..2
[    2.000002]     KTAP version 1
[    2.000003]     # Subtest: suite_a
[    2.000004]     1..2
[    2.000005]     ok 1 case_x
[    2.000006]     ok 2 case_y
[    2.000007] ok 1 suite_a
[    2.000008] ok 2 plain
$dmesg_end
EOF

check "not ok fails" fail "not ok 2 rmmod" <<EOF
$boot
1..2
ok 1 insmod
not ok 2 rmmod
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "SKIP and TODO are not failures" pass "1 skipped, 1 todo" <<EOF
$boot
1..3
ok 1 a
not ok 2 b # SKIP no device
not ok 3 c # TODO later
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "plan larger than results" fail "plan 1..3" <<EOF
$boot
1..3
ok 1 a
ok 2 b
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "nested plan mismatch" fail "plan 1..3" <<EOF
$boot
$tail_ok
$dmesg_begin
[    2.000000] 1..1
[    2.000001]     1..3
[    2.000002]     ok 1 x
[    2.000003] ok 1 suite
$dmesg_end
EOF

check "trailing plan" pass "2 passed" <<EOF
$boot
ok 1 a
ok 2 b
1..2
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "live kernel lines are not counted twice" pass "1 result(s)" <<EOF
$boot
[    2.000001] 1..1
[    2.000002] ok 1 live
$tail_ok
$dmesg_begin
[    2.000001] 1..1
[    2.000002] ok 1 live
$dmesg_end
EOF

check "no results" fail "no test results" <<EOF
$boot
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "Bail out" fail "Bail out!" <<EOF
$boot
1..2
ok 1 a
Bail out! device gone
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "kernel WARNING" fail "WARNING: CPU: 1 PID: 7" <<EOF
$boot
1..1
ok 1 a
[    2.100000] WARNING: CPU: 1 PID: 7 at drivers/x.c:10 f+0x1/0x2
[    2.100001] Call Trace:
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "--ignore drops known noise" pass "PASS" --ignore 'drivers/x\.c' <<EOF
$boot
1..1
ok 1 a
[    2.100000] WARNING: CPU: 1 PID: 7 at drivers/x.c:10 f+0x1/0x2
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "kmemleak report" fail "unreferenced object" <<EOF
$boot
1..1
ok 1 a
CSX-KMEMLEAK-BEGIN
unreferenced object 0xffff888003a1b200 (size 128):
  comm "insmod", pid 70, jiffies 4294668000 (age 5.2s)
CSX-KMEMLEAK-END
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "KASAN report" fail "BUG: KASAN: slab-out-of-bounds" <<EOF
$boot
1..1
ok 1 a
[    2.2] BUG: KASAN: slab-out-of-bounds in f+0x1/0x2 [m]
$tail_ok
$dmesg_begin
$dmesg_end
EOF

check "taint W" fail "flag(s) W" <<EOF
$boot
1..1
ok 1 a
CSX-TAINT 12800
CSX-VM-DONE rc=0
$dmesg_begin
$dmesg_end
EOF

check "--allow-taint N" pass "PASS" --allow-taint 262144 <<EOF
$boot
1..1
ok 1 a
CSX-TAINT 274432
CSX-VM-DONE rc=0
$dmesg_begin
$dmesg_end
EOF

check "no taint line" fail "no CSX-TAINT" <<EOF
$boot
1..1
ok 1 a
CSX-VM-DONE rc=0
$dmesg_begin
$dmesg_end
EOF

check "payload rc" fail "run.sh exited 3" <<EOF
$boot
1..1
ok 1 a
CSX-TAINT 0
CSX-VM-DONE rc=3
$dmesg_begin
$dmesg_end
EOF

check "panic, no sentinel" fail "no CSX-VM-DONE" <<EOF
$boot
1..1
ok 1 a
[    2.3] Kernel panic - not syncing: Fatal exception
EOF

check "dmesg cut short" fail "cut short" <<EOF
$boot
1..1
ok 1 a
$tail_ok
$dmesg_begin
EOF

check "no init" fail "no CSX-VM-START" <<EOF
SeaBIOS (version 1.16.2-debian-1.16.2-1)
[    0.000000] Linux version 6.1.0-56-amd64
EOF

echo "parse-console-selftest: $((cases - failures))/$cases passed"
[[ $failures -eq 0 ]]
