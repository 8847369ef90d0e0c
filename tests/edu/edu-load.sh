#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Concurrent load on the edu sample driver in user mode: edu_load runs a
# checked batch (four threads per device, factorials and DMA round trips of
# varying lengths, every result compared), then keeps the traffic going in
# the background until csx-run stops it. On MSI and on INTx, two devices.
# The same client runs in the VM against QEMU's real edu device.
. "$(dirname "$0")/lib.sh"

for dev in edu edu,msi=off; do
	run_status ./csx-run --device $dev --device $dev --once \
		samples/edu/csx_edu.la tests/edu/edu_load.la
	[ $rc = 0 ] || fail "--device $dev: exit $rc"
	expect "$out" "edu_load: batch: 2 device(s), 320 requests, all correct" \
		"edu_load: background: 8 thread(s) running" \
		"csx_edu: sim-edu1: removed"
	printf '%s\n' "$out" | grep -q "edu_load: background: [0-9]* requests, 0 errors" ||
		fail "--device $dev: background traffic had errors"
done

# A device whose interrupts get lost: requests time out, the batch fails
# with the driver's status, and csx-run says which module failed.
run_status ./csx-run --device edu --fault drop-irq:3 --once \
	samples/edu/csx_edu.la tests/edu/edu_load.la
[ $rc = 5 ] || fail "drop-irq: exit $rc, want 5 (CSX_EIO)"
expect "$out" "edu_load: batch:" "module edu_load: init failed: CSX_EIO"
echo "$me: PASS"
