# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Sourced by payload.sh (busybox sh) in the test VM: the edu sample driver,
# the same source file as csx_edu.ko, running as a user process (csx-run,
# csx_edu.so) against QEMU's real edu devices claimed through the kernel
# helper (/dev/csx, csx_helper.ko), and the user-mode interrupt benchmark
# against uio_pci_generic. Uses payload.sh's tap/skip. Needs the user
# root (run-vm.sh --rootfs, tests/kernel/user-rootfs.sh).
#
# Environment: CSX_KILL_ROUNDS (SIGKILL rounds, default 5),
# CSX_BENCH_ITERS (0: no benchmark), CSX_UBENCH_ROUNDS (default 4).

csx_mods=/usr/local/lib/csx/modules

# Addresses of the edu devices (vendor 0x1234, device 0x11e8).
edu_addrs() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1234 ] &&
			[ "$(cat "$d/device")" = 0x11e8 ] && basename "$d"
	done
}

# --device arguments for every edu device.
edu_device_args() {
	for a in $(edu_addrs); do
		printf ' --device pci:%s' "$a"
	done
}

# Is any edu device still bound to a driver, or a helper interrupt listed?
helper_leftovers() {
	for a in $(edu_addrs); do
		[ -e "/sys/bus/pci/devices/$a/driver" ] &&
			echo "$a bound to $(basename "$(readlink "/sys/bus/pci/devices/$a/driver")")"
	done
	grep 'csx_helper' /proc/interrupts
}

# csx_run_once NAME PATTERN MODULE...: csx-run --once on every edu device;
# passes if it exits 0 and its output has PATTERN.
csx_run_once() {
	name=$1 pat=$2
	shift 2
	# shellcheck disable=SC2046 # one argument per word
	csx-run --once $(edu_device_args) "$@" >/tmp/$name.log 2>&1
	rc=$?
	sed 's/^/# /' /tmp/$name.log | grep -v ': info: csx_edu: .*: \(bound\|removed\)' | tail -n 20
	[ $rc -eq 0 ] && grep -q "$pat" /tmp/$name.log
	tap $? "$name" "exit $rc"
}

# wait_line FILE PATTERN SECONDS: until PATTERN appears in FILE.
wait_line() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $(($3 * 10)) ] && return 1
		usleep 100000
	done
}

# SIGKILL csx-run (driver + load client) mid-traffic, repeatedly; each
# time the helper must release every device and interrupt, and the next
# instance must work.
user_kill_rounds() {
	rounds=${CSX_KILL_ROUNDS:-5}
	bad=0
	r=1
	while [ $r -le "$rounds" ]; do
		# shellcheck disable=SC2046
		csx-run $(edu_device_args) $csx_mods/csx_edu.so ./edu_load.so \
			>/tmp/kill.log 2>&1 &
		pid=$!
		if ! wait_line /tmp/kill.log "edu_load: background: .* running" 120; then
			echo "# round $r: load never started:"
			sed 's/^/#   /' /tmp/kill.log | tail -n 10
			bad=1
			kill -9 $pid 2>/dev/null
			wait $pid 2>/dev/null
			break
		fi
		# 0-700 ms into the background traffic (interrupts and DMA).
		usleep $(((r * 7919 % 701) * 1000))
		kill -9 $pid
		wait $pid 2>/dev/null
		left=$(helper_leftovers)
		if [ -n "$left" ]; then
			echo "# round $r: left behind after SIGKILL: $left"
			bad=1
		fi
		r=$((r + 1))
	done
	tap $bad "user_sigkill_${rounds}_rounds_release"
	csx_run_once user_after_sigkill "edu: demo done" \
		$csx_mods/csx_edu.so $csx_mods/edu_demo.so
}

# uio_pci_generic on device $1 (driver_override, so nothing else binds).
uio_bind() {
	echo uio_pci_generic >"/sys/bus/pci/devices/$1/driver_override" &&
		echo "$1" >/sys/bus/pci/drivers_probe &&
		[ -e "/sys/bus/pci/devices/$1/driver" ]
}
uio_unbind() {
	echo "$1" >/sys/bus/pci/drivers/uio_pci_generic/unbind
	echo >"/sys/bus/pci/devices/$1/driver_override"
}

# The benchmark: CSX user-mode ISR (bench_uintr.so on one edu device) vs
# uio_pci_generic (uio_lat on another), alternating rounds; the median of
# the rounds' medians on each side.
user_bench() {
	set -- $(edu_addrs)
	if [ $# -lt 2 ]; then
		skip user_bench "needs two edu devices"
		return
	fi
	ucsx=$1 uuio=$2
	if ! insmod ./uio.ko || ! insmod ./uio_pci_generic.ko; then
		tap 1 user_bench "uio_pci_generic did not load"
		return
	fi
	rounds=${CSX_UBENCH_ROUNDS:-4}
	: >/tmp/ub.txt
	bad=0
	r=1
	while [ $r -le "$rounds" ]; do
		csx-run --once --device "pci:$ucsx" ./bench_uintr.so \
			>/tmp/ub-csx.log 2>&1 || bad=1
		grep -o 'BENCH-RAW uintr.*' /tmp/ub-csx.log >>/tmp/ub.txt || {
			sed 's/^/# /' /tmp/ub-csx.log | tail -n 5
			bad=1
		}
		if uio_bind "$uuio"; then
			dev=/dev/$(ls "/sys/bus/pci/devices/$uuio/uio" | head -n1)
			./uio_lat "$dev" "/sys/bus/pci/devices/$uuio" 2000 \
				>>/tmp/ub.txt || bad=1
			uio_unbind "$uuio"
		else
			echo "# round $r: uio_pci_generic did not bind $uuio"
			bad=1
		fi
		r=$((r + 1))
	done
	rmmod uio_pci_generic uio
	sed 's/^/# /' /tmp/ub.txt
	[ $bad -eq 0 ] || {
		tap 1 user_bench "a round failed"
		return
	}
	# Median of medians per side; ratio CSX/uio on the raise-to-handler
	# latency, and the same for the full cycle (ISR + unmask).
	awk '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return a[int((n + 1) / 2)]
	}
	{
		for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if ($2 == "uintr") { nc++; cl[nc] = v["median"]; cc[nc] = v["cycle"]; msi = v["msi"] }
		else { nu++; ul[nu] = v["median"]; uc[nu] = v["cycle"] }
	}
	END {
		if (!nc || !nu) exit 1
		kind = msi ? "msi" : "intx"
		a = med(cl, nc); b = med(ul, nu)
		printf "BENCH user_intr_%s_vs_uio csx=%d base=%d ratio=%.2f\n", kind, a, b, a / b
		a = med(cc, nc); b = med(uc, nu)
		printf "BENCH user_intr_cycle_%s_vs_uio csx=%d base=%d ratio=%.2f\n", kind, a, b, a / b
	}' /tmp/ub.txt
	tap $? user_bench
}

user_hw_tests() {
	if ! command -v csx-run >/dev/null; then
		tap 1 user_csx_run "csx-run missing: boot with run-vm.sh --rootfs"
		return
	fi
	insmod ./csx_helper.ko
	tap $? helper_load
	[ -c /dev/csx ]
	tap $? helper_dev_node

	csx_run_once user_edu_demo "edu: demo done: $CSX_EDU_COUNT device(s) OK" \
		$csx_mods/csx_edu.so $csx_mods/edu_demo.so
	grep -q "interrupt, service edu/0" /tmp/user_edu_demo.log
	case ${CSX_IRQ:-any} in
	msi) grep -q ": bound: id 0x010000ed, MSI interrupt" /tmp/user_edu_demo.log ;;
	intx) grep -q ": bound: id 0x010000ed, INTx interrupt" /tmp/user_edu_demo.log ;;
	*) true ;;
	esac
	tap $? "user_edu_irq_kind_${CSX_IRQ:-any}"
	csx_run_once user_edu_load "edu_load: batch: $CSX_EDU_COUNT device(s), .* all correct" \
		$csx_mods/csx_edu.so ./edu_load.so
	grep -q "edu_load: background: [0-9]* requests, 0 errors" /tmp/user_edu_load.log
	tap $? user_edu_load_background
	# DMA throughput, user vs kernel build of the same driver and client
	# (edu's DMA engine finishes each transfer on a 100 ms device timer:
	# both sides are expected to be bound by it).
	u=$(grep -o 'edu_load: dma: .*' /tmp/user_edu_load.log | tail -n 1)
	k=$(cat /tmp/kernel-edu-dma.txt 2>/dev/null)
	echo "# user:   $u"
	echo "# kernel: $k"
	echo "$u|$k" | awk -F'|' '{
		split($1, a, " "); split($2, b, " ")
		# "edu_load: dma: D device(s), N round trips of B bytes in T us"
		if (a[12] > 0 && b[12] > 0)
			printf "BENCH edu_dma_roundtrip_user_vs_kernel csx=%d base=%d ratio=%.2f\n", a[12] * 1000 / a[5], b[12] * 1000 / b[5], (a[12] / a[5]) / (b[12] / b[5])
	}'
	left=$(helper_leftovers)
	[ -z "$left" ]
	tap $? user_released_on_exit "$left"

	user_kill_rounds

	if [ "${CSX_BENCH_ITERS:-0}" -gt 0 ] && [ -f ./uio_pci_generic.ko ]; then
		user_bench
	else
		skip user_bench "benchmarks off or no uio_pci_generic.ko"
	fi

	rmmod csx_helper
	tap $? helper_unload

	# The /dev/csx ABI tests and the fuzzer (payload-helper.sh) load
	# their own fresh instance of the helper.
	if type kh_tests >/dev/null 2>&1; then
		kh_tests
	else
		tap 1 kh_tests "payload-helper.sh missing"
	fi
}
