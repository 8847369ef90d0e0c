#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# The user-mode demo as the tutorial shows it: csx-run hosts the edu driver
# and its demo client against simulated devices, on MSI and on INTx; an
# injected fault makes it fail with the driver's status; the driver runs as
# its own executable too; and without --once it runs until SIGINT and then
# shuts down cleanly.
. "$(dirname "$0")/lib.sh"

run_status ./csx-run --device edu --device edu --once samples/edu/.libs/csx_edu.so samples/edu/.libs/edu_demo.so
[ $rc = 0 ] || fail "demo exited with $rc"
expect "$out" "edu: sim-edu0: id 0x010000ed, liveness ok, MSI interrupt" \
	"edu: sim-edu0: factorial(10) = 3628800 via interrupt" \
	"edu: sim-edu0: DMA round trip of 4095 bytes verified" \
	"edu: sim-edu1: DMA round trip of 4095 bytes verified" \
	"edu: demo done: 2 device(s) OK" \
	"csx_edu: sim-edu1: removed"

run_status ./csx-run --device edu,msi=off --once samples/edu/csx_edu.la samples/edu/edu_demo.la
[ $rc = 0 ] || fail "INTx demo exited with $rc"
expect "$out" "edu: sim-edu0: id 0x010000ed, liveness ok, INTx interrupt" \
	"edu: sim-edu0: factorial(12) = 479001600 via interrupt"

# A lost interrupt: the request times out (CSX_ETIMEDOUT = 110).
run_status ./csx-run --device edu --fault drop-irq:1 --once samples/edu/csx_edu.la samples/edu/edu_demo.la
[ $rc = 110 ] || fail "drop-irq: exit $rc, want 110"
expect "$out" "no completion interrupt within 1000 ms" \
	"module edu_demo: init failed: CSX_ETIMEDOUT"

# A device gone before probe is declined; the other one still works.
run_status ./csx-run --device edu --device edu --fault sim-edu1/gone --once samples/edu/csx_edu.la samples/edu/edu_demo.la
[ $rc = 0 ] || fail "gone: exit $rc, want 0"
expect "$out" "csx_edu: sim-edu1: identification 0xffffffff is not an edu device" \
	"edu: demo done: 1 device(s) OK"

# The driver as a standalone executable (libcsx-user-main).
run_status samples/edu/csx-edu --device edu --device edu --once
[ $rc = 0 ] || fail "csx-edu exited with $rc"
expect "$out" "csx_edu: sim-edu0: bound: id 0x010000ed, MSI interrupt, service edu/0" \
	"csx_edu: sim-edu1: bound" "csx_edu: sim-edu1: removed"

# Without --once: runs until SIGINT, then unloads cleanly (exit 0).
log=$me.run.log
./csx-run --device edu samples/edu/csx_edu.la >"$log" 2>&1 &
pid=$!
n=0
until grep -q "running; send SIGINT" "$log"; do
	n=$((n + 1))
	[ $n -lt 300 ] || { kill -9 $pid; fail "csx-run did not start: $(cat "$log")"; }
	sleep 0.1
done
kill -INT $pid
wait $pid
rc=$?
cat "$log" | sed 's/^/  | /'
[ $rc = 0 ] || fail "csx-run after SIGINT exited with $rc"
expect "$(cat "$log")" "SIGINT received, stopping" "csx_edu: sim-edu0: removed"
rm -f "$log"
echo "$me: PASS"
