#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# csx-run --device ...,unit=N: documented, accepted for simulated and PCI
# devices, and a bad N (or another setting on a PCI device) is a usage
# error (64) with a clear message, before anything starts.
. "$(dirname "$0")/../edu/lib.sh"

run_status ./csx-run --help
[ $rc = 0 ] || fail "--help exited with $rc"
expect "$out" "msi=on|off" "may end in ,unit=N" "unit=N (0 to 1023)" \
	"csx_dev_unit()"

for spec in edu,unit=1024 edu,unit=-1 edu,unit= edu,unit=x edu,msi=off,unit=7q \
	pci:00:04.0,unit=1024 pci:1234:11e8,unit=x pci:1234:11e8#1,unit=; do
	run_status ./csx-run --once --device "$spec" samples/edu/csx_edu.la
	[ $rc = 64 ] || fail "--device $spec: exit $rc, want 64"
	expect "$out" "bad unit (want unit=N, N from 0 to 1023): $spec" \
		"Try 'csx-run --help'"
done

run_status ./csx-run --once --device pci:00:04.0,msi=on samples/edu/csx_edu.la
[ $rc = 64 ] || fail "pci with msi=: exit $rc, want 64"
expect "$out" "a PCI device takes no setting but unit=N: pci:00:04.0,msi=on"

run_status ./csx-run --once --device pci:00:04.0:1,unit=1 samples/edu/csx_edu.la
[ $rc = 64 ] || fail "bad pci address with unit: exit $rc, want 64"
expect "$out" "bad PCI device"

# Good units: parsed, and the simulated devices run.
run_status ./csx-run --once --device edu,unit=0 --device edu,msi=off,unit=1023 \
	samples/edu/csx_edu.la
[ $rc = 0 ] || fail "edu with units: exit $rc, want 0"

# A PCI device with a unit gets as far as the kernel helper (none here).
run_status env CSX_KH_DEVICE=/nonexistent/csx ./csx-run --once \
	--device pci:00:04.0,unit=2 samples/edu/csx_edu.la
[ $rc = 69 ] || fail "pci with unit, no helper: exit $rc, want 69"
expect "$out" "--device pci:00:04.0,unit=2: no kernel helper"
exit 0
