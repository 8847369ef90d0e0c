# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Sourced by payload.sh (busybox sh) in the test VM: module-to-module calls
# with the calls sample (samples/calls), one client source and one service
# source, each built for both modes:
#   kernel→kernel  calls_client.ko → calls_svc.ko (csx.ko's registry)
#   user→kernel    calls_client.so in csx-run → calls_svc.ko, through the
#                  kernel helper (/dev/csx)
#   kernel→user    calls_client.ko → calls_svc.so in csx-run, through the
#                  kernel helper (CSX_KH_IOC_SVC_EXPORT / SERVE)
#   user→user      both .so in one csx-run (also on the host, make check),
#                  and in two csx-run processes through csx-uhelperd
# plus the lifecycle (the service's module unloaded under open channels,
# csx.ko pinned while a user process holds one, the serving process
# killed under a kernel caller) and the benchmarks of a user→kernel call
# against a bare ioctl (csx_null.ko, bench_call_uk.so) and of a kernel→user call
# against an eventfd round trip (csx_null.ko, efd_rt).
# Needs csx.ko loaded and csx_helper.ko not loaded; leaves csx.ko loaded.

csx_mods=${csx_mods:-/usr/local/lib/csx/modules}

# calls_ok FILE: the client's checked batch passed (log lines in FILE).
calls_ok() {
	grep -q "calls_client: [0-9]* calls OK on calls/echo version 2" "$1" &&
		grep -q "calls_client: shared buffer: [0-9]*-byte echo and sum OK" "$1" &&
		grep -q "calls_client: [0-9]* asynchronous calls from a DPC OK" "$1"
}

calls_tests() {
	insmod ./calls_svc.ko
	tap $? calls_svc_load

	# kernel→kernel: the direct path in csx.ko's registry.
	insmod ./calls_client.ko
	tap $? calls_kernel_to_kernel "init failed: see the kernel log"
	dmesg | grep -q "calls_client: shared buffer: [0-9]*-byte echo and sum OK"
	tap $? calls_kernel_to_kernel_shared_buffer
	dmesg | grep -q "calls_client: [0-9]* asynchronous calls from a DPC OK"
	tap $? calls_kernel_to_kernel_async
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
		# Every background channel was told (CSX_KH_IOC_SVC_GONE),
		# not only those that happened to be calling.
		nbg=$(sed -n 's/.*calls_client: background: \([0-9]*\) thread(s) running.*/\1/p' /tmp/calls-life.log)
		grep -q "calls_client: death notices: ${nbg:-x}\$" /tmp/calls-life.log
		tap $? calls_user_to_kernel_death_notices "$(grep 'death notices' /tmp/calls-life.log) of ${nbg:-?}"
	else
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		sed 's/^/# /' /tmp/calls-life.log | tail -n 8
		tap 1 calls_lifecycle "the client did not start"
		rmmod calls_svc
	fi

	calls_kernel_to_user
	calls_user_to_user_daemon

	# Benchmark: user→kernel call round trip vs a bare ioctl (64 bytes).
	# bench_call_uk.so interleaves a csx_call() into bench_echo.ko, the
	# raw /dev/csx ioctl and csx_null.ko's bare ioctl in one pinned
	# thread; three runs.
	if [ "${CSX_BENCH_ITERS:-0}" -gt 0 ] && insmod ./csx_null.ko; then
		insmod ./bench_echo.ko
		: >/tmp/calls-bench.txt
		r=1
		while [ $r -le 3 ]; do
			csx-run --once ./bench_call_uk.so 2>&1 |
				grep -o 'BENCH-RAW u2k.*' >>/tmp/calls-bench.txt
			r=$((r + 1))
		done
		# check-kernel.sh --ab: variant A (ab/) against this build, in
		# turns, in this boot: between boots the ratios move by more
		# than most changes to the call path are worth.
		if [ -d ./ab ]; then
			: >/tmp/calls-ab.txt
			for v in A B A B A B; do
				if [ -f ./ab/csx_helper.ko ]; then
					rmmod csx_helper
					if [ $v = A ]; then
						insmod ./ab/csx_helper.ko
					else
						insmod ./csx_helper.ko
					fi
				fi
				lp=
				[ $v = A ] && [ -f ./ab/libcsx-user.so.0 ] &&
					lp=$PWD/ab
				r=1
				while [ $r -le 4 ]; do
					LD_LIBRARY_PATH=$lp csx-run --once \
						./bench_call_uk.so 2>&1 |
						grep -o 'BENCH-RAW u2k.*' |
						sed "s/^/AB $v /" >>/tmp/calls-ab.txt
					r=$((r + 1))
				done
			done
			cat /tmp/calls-ab.txt
			awk '{
				for (i = 3; i <= NF; i++) {
					split($i, kv, "=")
					f[kv[1]] = kv[2]
				}
				if (!f["null"]) next
				c[$2] += f["csx"] / f["null"]
				w[$2] += f["raw"] / f["null"]
				n[$2]++
			}
			END {
				for (v in n)
					printf "AB-MEAN %s csx/null=%.3f raw/null=%.3f n=%d\n",
						v, c[v] / n[v], w[v] / n[v], n[v]
			}' /tmp/calls-ab.txt
		fi
		# check-kernel.sh --perf: a profile of each kind of call.
		if [ "${CSX_PERF:-0}" = 1 ]; then
			echo 0 >/proc/sys/kernel/kptr_restrict
			echo -1 >/proc/sys/kernel/perf_event_paranoid
			for k in csx raw null; do
				CSX_BCU_ONLY=$k CSX_BCU_REPEAT=8 perf record -q \
					-e cpu-clock -F 20000 -o /tmp/perf.data \
					csx-run --once ./bench_call_uk.so >/dev/null 2>&1
				perf report -i /tmp/perf.data --stdio --no-children \
					--sort dso,sym 2>/dev/null | grep -v '^#' |
					grep -v '^$' | head -45 | sed "s/^/PERF-$k /"
			done
		fi
		sed 's/^/# /' /tmp/calls-bench.txt
		# Each run's three figures are interleaved, so each run's ratio
		# is the figure; the row is the run with the median ratio.
		awk '
		function row(name, x, n,   i, j, k, t, idx) {
			for (i = 1; i <= n; i++)
				idx[i] = i
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && x[idx[j - 1]] / b[idx[j - 1]] > x[idx[j]] / b[idx[j]]; j--) {
					t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t
				}
			k = idx[int((n + 1) / 2)]
			printf "BENCH %s csx=%d base=%d ratio=%.2f\n", name, x[k], b[k], x[k] / b[k]
		}
		{
			for (i = 3; i <= NF; i++) {
				split($i, kv, "=")
				if (kv[1] == "csx") c[++n] = kv[2]
				else if (kv[1] == "raw") w[n] = kv[2]
				else if (kv[1] == "null") b[n] = kv[2]
			}
		}
		END {
			if (n != 3) exit 1
			for (i = 1; i <= n; i++)
				if (!b[i]) exit 1
			row("call_user_to_kernel_vs_ioctl", c, n)
			# Where the overhead is: the kernel side alone.
			row("call_user_to_kernel_raw_vs_ioctl", w, n)
		}' /tmp/calls-bench.txt
		tap $? calls_bench
		rmmod bench_echo
		# kernel→user: calls_client.ko's call64 (taken in its init,
		# before its background threads start) vs an eventfd round
		# trip, alternated three times; medians of each.
		: >/tmp/calls-k2u-bench.txt
		if start_svc /tmp/calls-k2u-bench-svc.log; then
			r=1
			while [ $r -le 3 ]; do
				kmsg_mark k2u-bench$r
				insmod ./calls_client.ko && rmmod calls_client
				kmsg_since k2u-bench$r |
					grep -o 'BENCH-RAW call64.*' |
					tail -n 1 >>/tmp/calls-k2u-bench.txt
				./efd_rt 2001 >>/tmp/calls-k2u-bench.txt
				r=$((r + 1))
			done
		fi
		kill $svcpid 2>/dev/null
		wait $svcpid 2>/dev/null
		sed 's/^/# /' /tmp/calls-k2u-bench.txt
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
			printf "BENCH call_kernel_to_user_vs_eventfd csx=%d base=%d ratio=%.2f\n", x, y, x / y
		}' /tmp/calls-k2u-bench.txt
		tap $? calls_bench_kernel_to_user
		rmmod csx_null
	else
		skip calls_bench "benchmarks off or no csx_null.ko"
	fi
	rmmod csx_helper
	tap $? calls_helper_unload
}

# kmsg_since MARK: the kernel log after the line MARK was written to it.
kmsg_mark() {
	echo "csx-test: $1" >/dev/kmsg
}
kmsg_since() {
	dmesg | sed -n "/csx-test: $1\$/,\$p"
}

# start_svc LOG: calls_svc.so in a csx-run in the background ($svcpid),
# exported (to the kernel too: the process is root) once it returns 0.
start_svc() {
	csx-run $csx_mods/calls_svc.so >"$1" 2>&1 &
	svcpid=$!
	wait_line "$1" "calls_svc: exported" 60
}

# kernel→user: a kernel module calls a service of a user process.
calls_kernel_to_user() {
	if ! start_svc /tmp/calls-k2u-svc.log; then
		kill -9 $svcpid 2>/dev/null
		tap 1 calls_kernel_to_user "calls_svc.so did not start"
		return
	fi
	kmsg_mark k2u
	insmod ./calls_client.ko
	rc=$?
	kmsg_since k2u | grep calls_client | sed 's/^/# /' | tail -n 6
	[ $rc -eq 0 ] && kmsg_since k2u | grep -q "calls_client: [0-9]* calls OK on calls/echo version 2" &&
		kmsg_since k2u | grep -q "calls_client: [0-9]* asynchronous calls from a DPC OK"
	tap $? calls_kernel_to_user "insmod exit $rc"
	kmsg_since k2u | grep -q "calls_client: shared buffer: [0-9]*-byte echo and sum OK"
	tap $? calls_kernel_to_user_shared_buffer
	# The helper is pinned while csx.ko holds a channel to a process.
	rmmod csx_helper 2>/dev/null
	[ $? -ne 0 ] && grep -q '^csx_helper ' /proc/modules
	tap $? calls_helper_pinned_by_kernel_channels
	rmmod calls_client
	kmsg_since k2u | grep -q "calls_client: background: [0-9]* calls, 0 peer gone, 0 other errors"
	tap $? calls_kernel_to_user_background

	# The serving process dies under the kernel module's calls: they
	# fail with CSX_EPEERDIED, nothing worse, and the module unloads.
	kmsg_mark k2u-kill
	insmod ./calls_client.ko
	rc=$?
	usleep 300000
	kill -9 $svcpid
	wait $svcpid 2>/dev/null
	usleep 300000
	rmmod calls_client
	rc2=$?
	kmsg_since k2u-kill | grep "calls_client: background" | sed 's/^/# /'
	[ $rc -eq 0 ] && [ $rc2 -eq 0 ] &&
		kmsg_since k2u-kill | grep -q "calls_client: background: [0-9]* calls, [1-9][0-9]* peer gone, 0 other errors"
	tap $? calls_kernel_to_user_peer_died "insmod $rc rmmod $rc2"
	nbg=$(kmsg_since k2u-kill | sed -n 's/.*calls_client: background: \([0-9]*\) thread(s) running.*/\1/p' | tail -n 1)
	kmsg_since k2u-kill | grep -q "calls_client: death notices: ${nbg:-x}\$"
	tap $? calls_kernel_to_user_death_notices "$(kmsg_since k2u-kill | grep -o 'death notices: .*') of ${nbg:-?}"
	# Nobody exports it now: a kernel open fails cleanly.
	insmod ./calls_client.ko 2>/dev/null
	[ $? -ne 0 ]
	tap $? calls_kernel_to_user_gone
}

# user→user across processes: csx-uhelperd introduces the two csx-runs.
calls_user_to_user_daemon() {
	uhd=/usr/local/sbin/csx-uhelperd
	$uhd --socket /tmp/uhd.sock >/tmp/uhd.log 2>&1 &
	uhdpid=$!
	export CSX_UHELPERD_SOCKET=/tmp/uhd.sock
	if ! start_svc /tmp/calls-uu-svc.log; then
		tap 1 calls_user_to_user_processes "calls_svc.so did not start"
	else
		i=0
		until $uhd --status --socket /tmp/uhd.sock 2>/dev/null | grep -q "calls/echo"; do
			i=$((i + 1))
			[ $i -gt 100 ] && break
			usleep 100000
		done
		csx-run --once $csx_mods/calls_client.so >/tmp/calls-uu.log 2>&1
		rc=$?
		sed 's/^/# /' /tmp/calls-uu.log | tail -n 6
		[ $rc -eq 0 ] && calls_ok /tmp/calls-uu.log
		tap $? calls_user_to_user_processes "exit $rc"
	fi
	kill -TERM $svcpid 2>/dev/null
	wait $svcpid 2>/dev/null
	kill -TERM $uhdpid
	wait $uhdpid
	tap $? calls_uhelperd_clean_exit
	unset CSX_UHELPERD_SOCKET
}
