# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Sourced by payload.sh (busybox sh) in the test VM: module-to-module calls
# with the calls sample (samples/calls), one client source and one service
# source, each built for both modes:
#   kernel→kernel  calls_client.ko → calls_svc.ko (csx.ko's registry)
#   user→kernel    calls_client.so in csx-run → calls_svc.ko, through the
#                  kernel helper (/dev/csx)
#   user→user      both .so in one csx-run (also on the host, make check)
# plus the lifecycle (the service's module unloaded under open channels,
# csx.ko pinned while a user process holds one) and the benchmark of a
# user→kernel call against a bare ioctl (csx_null.ko, null_ioctl).
# Needs csx.ko loaded and csx_helper.ko not loaded; leaves csx.ko loaded.

csx_mods=${csx_mods:-/usr/local/lib/csx/modules}

# calls_ok FILE: the client's checked batch passed (log lines in FILE).
calls_ok() {
	grep -q "calls_client: [0-9]* calls OK on calls/echo version 2" "$1"
}

calls_tests() {
	insmod ./calls_svc.ko
	tap $? calls_svc_load

	# kernel→kernel: the direct path in csx.ko's registry.
	insmod ./calls_client.ko
	tap $? calls_kernel_to_kernel "init failed: see the kernel log"
	rmmod calls_client
	dmesg | grep -q "calls_client: background: [0-9]* calls, 0 peer gone, 0 other errors"
	tap $? calls_kernel_to_kernel_background

	# user→kernel through /dev/csx.
	insmod ./csx_helper.ko
	tap $? calls_helper_load
	csx-run --once $csx_mods/calls_client.so >/tmp/calls-u2k.log 2>&1
	rc=$?
	sed 's/^/# /' /tmp/calls-u2k.log | tail -n 8
	[ $rc -eq 0 ] && calls_ok /tmp/calls-u2k.log
	tap $? calls_user_to_kernel "exit $rc"
	grep -q "calls_client: background: [0-9]* calls, 0 peer gone, 0 other errors" /tmp/calls-u2k.log
	tap $? calls_user_to_kernel_background

	# user→user in one process (the direct path, as on the host).
	csx-run --once $csx_mods/calls_svc.so $csx_mods/calls_client.so \
		>/tmp/calls-u2u.log 2>&1
	rc=$?
	[ $rc -eq 0 ] && calls_ok /tmp/calls-u2u.log
	tap $? calls_user_to_user "exit $rc"

	# Lifecycle: a user client keeps calling; csx.ko cannot go while it
	# holds channels; the service's module can, and the client's calls
	# then fail with CSX_EPEERDIED, nothing worse.
	csx-run $csx_mods/calls_client.so >/tmp/calls-life.log 2>&1 &
	pid=$!
	if wait_line /tmp/calls-life.log "calls_client: background: .* running" 120; then
		rmmod csx 2>/dev/null
		[ $? -ne 0 ] && grep -q '^csx ' /proc/modules
		tap $? calls_csx_pinned_by_user_channels
		rmmod calls_svc
		tap $? calls_svc_unload_under_open_channels
		usleep 300000
		kill -TERM $pid
		wait $pid
		rc=$?
		sed 's/^/# /' /tmp/calls-life.log | tail -n 4
		[ $rc -eq 0 ] &&
			grep -q "calls_client: background: [0-9]* calls, [1-9][0-9]* peer gone, 0 other errors" /tmp/calls-life.log
		tap $? calls_peer_gone_after_unload "exit $rc"
	else
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		sed 's/^/# /' /tmp/calls-life.log | tail -n 8
		tap 1 calls_lifecycle "the client did not start"
		rmmod calls_svc
	fi

	# Benchmark: user→kernel call round trip vs a bare ioctl (64 bytes).
	if [ "${CSX_BENCH_ITERS:-0}" -gt 0 ] && insmod ./csx_null.ko; then
		insmod ./calls_svc.ko
		: >/tmp/calls-bench.txt
		r=1
		while [ $r -le 3 ]; do
			csx-run --once $csx_mods/calls_client.so 2>&1 |
				grep -o 'BENCH-RAW call64.*' >>/tmp/calls-bench.txt
			./null_ioctl 2001 >>/tmp/calls-bench.txt
			r=$((r + 1))
		done
		sed 's/^/# /' /tmp/calls-bench.txt
		awk '
		function med(a, n,   i, j, t) {
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
					t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
				}
			return a[int((n + 1) / 2)]
		}
		{ split($4, kv, "="); if ($2 == "call64") c[++nc] = kv[2]; else b[++nb] = kv[2] }
		END {
			if (nc != 3 || nb != 3) exit 1
			x = med(c, nc); y = med(b, nb)
			printf "BENCH call_user_to_kernel_vs_ioctl csx=%d base=%d ratio=%.2f\n", x, y, x / y
		}' /tmp/calls-bench.txt
		tap $? calls_bench
		rmmod calls_svc
		rmmod csx_null
	else
		skip calls_bench "benchmarks off or no csx_null.ko"
	fi
	rmmod csx_helper
	tap $? calls_helper_unload
}
