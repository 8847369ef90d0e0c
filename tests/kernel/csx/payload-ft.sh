# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Sourced by payload.sh (busybox sh) in the test VM: fault containment
# (doc/fault-containment.md) on QEMU's edu devices. csx-uhelperd's
# supervisor runs one csx-run instance of the edu sample per device
# (pci:1234:11e8#%i,unit=%i, claimed through the kernel helper), ft_client
# puts checked load on edu/0 and edu/1, and ft_ctl kills instances
# (tests/ft/: the same programs and ft-lib.sh as the host test).
#
#   1. $CSX_FT_KILLS (default 20) SIGKILLs of a random instance, 300-1500 ms
#      apart; 10% of the requests are DMA round trips, which keep the
#      device busy most of the time (QEMU finishes each DMA transfer on a
#      100 ms timer), so most kills land mid-DMA. Every kill must be
#      followed by READY; no wrong result, no failed request, no second
#      without a success on a port that was up, every kill matched by its
#      port serving again, at least one kill with a DMA pending.
#   2. A crash during the restart: 3 kills, each also killing the successor
#      right after its STARTED (before it claimed its device, or while it
#      does): it still comes back, nothing is lost.
#   3. A kernel module as the client: csx_edu_load.ko calls the user-mode
#      instances (kernel -> user through the kernel helper) while 4 of them
#      are killed; its background traffic ends with 0 errors.
#   4. The baseline: the same supervisor restarting ft-ping (no CSX).
# Benchmark rows (short form, integer ns and req/s): ft_vm_recovery_first_ok
# and ft_vm_recovery_ready (medians, CSX vs ft-ping; _max: the maxima),
# ft_vm_requests_lost
# (CSX vs ft-ping, target 0), ft_vm_surviving_port_rate (the other port
# during outages vs its steady state).
#
# Uses payload.sh's tap. Needs the user root (run-vm.sh --rootfs) with
# ft_client, ft_ctl and ft-ping in /usr/local/bin, and csx_helper.ko; loads
# and unloads the helper itself.

ft_dir=/tmp/ft

# The measured part, in a subshell (ft-lib.sh's fail ends it): one
# "STATUS NAME DIAG" line per result in $ft_dir/results.
ft_vm_body() {
	res=$ft_dir/results
	kills=${CSX_FT_KILLS:-20}
	result() { echo "$1 $2 $3" >>"$res"; }
	fail() {
		echo "ft: FAIL: $*"
		result 1 ft_vm_aborted "$*"
		exit 1
	}
	. ./ft-lib.sh
	FT_UHD=/usr/local/sbin/csx-uhelperd
	FT_CTL=/usr/local/bin/ft_ctl
	FT_CLIENT=/usr/local/bin/ft_client
	FT_SOCK=$ft_dir/uhd.sock
	CSX_UHELPERD_SOCKET=$FT_SOCK
	export CSX_UHELPERD_SOCKET
	trap 'ft_cleanup; ft_kill_instances edu 2; ft_kill_instances ping 2' EXIT
	policy='instances = 2
restart = on-failure
backoff = 100ms
give-up = 1000 60s'
	cat >"$ft_dir/csx.conf" <<-EOF
		[edu]
		module = /usr/local/lib/csx/modules/csx_edu.so
		device = pci:1234:11e8#%i,unit=%i
		$policy
	EOF
	cat >"$ft_dir/base.conf" <<-EOF
		[ping]
		module = ft-ping
		args = --ping-dir $ft_dir
		$policy
	EOF
	# A SIGKILL lands late in an emulated guest on a busy host: answers
	# of the killed instance up to 50 ms after the kill's mark count as
	# its own, not as a recovery that needed no outage (a quiet spell,
	# --gap-ms, must be longer than that).
	load="--threads-per-service 2 --gap-ms 100 --late-ms 50"
	# The edu sample gives a DMA 1 s to complete, plenty on hardware; a
	# debug kernel emulated on a busy host has been seen to take longer
	# right after a restart. A lost interrupt still fails the request.
	edu_tmo="--set-timeout 10000"
	# The debug kernel (KASAN, lockdep) emulated by TCG can starve a
	# process for over a second on a busy host; the baseline, with no
	# CSX in it, has stalled there too. A stall is 5 s there, 1 s on the
	# stock kernel.
	case $(uname -r) in
	*debug*) load="$load --stall-ms 5000" ;;
	esac
	csxrun=$(command -v csx-run)

	# 1. Kills under load.
	FT_CHAOS_OPTS="--sleep-ms 300:1500"
	ft_side "$ft_dir" csx1 "$ft_dir/csx.conf" "$csxrun" edu "$kills" \
		$load --dma-percent 10 $edu_tmo
	result $? "ft_vm_${kills}_kills_each_followed_by_ready" \
		"$(grep FAIL "$ft_dir/csx1.chaos")"
	r=$ft_dir/csx1.report
	[ "$ft_rc" = 0 ] && grep -q "ft_client: PASS" "$r"
	result $? ft_vm_client_pass "exit $ft_rc: $(grep FAIL "$r")"
	[ "$(ft_val "$r" lost)" = 0 ]
	result $? ft_vm_no_request_lost "$(ft_val "$r" lost) failed"
	[ "$(ft_val "$r" wrong)" = 0 ]
	result $? ft_vm_no_wrong_result "$(ft_val "$r" wrong) wrong"
	[ "$(ft_val "$r" stalls)" = 0 ]
	result $? ft_vm_other_port_never_stalled "$(ft_val "$r" stalls) stall(s)"
	[ "$(ft_val "$r" matched)" = "$kills" ]
	result $? ft_vm_every_port_served_again "$(ft_val "$r" matched) of $kills"
	[ "$(ft_val "$r" kills_mid_dma)" -ge 1 ] 2>/dev/null
	result $? ft_vm_kills_mid_dma "$(ft_val "$r" kills_mid_dma) of $kills"

	# 2. Crashes during the restart.
	FT_CHAOS_OPTS="--sleep-ms 300:800 --during-restart 1"
	ft_side "$ft_dir" restart "$ft_dir/csx.conf" "$csxrun" edu 3 \
		$load --dma-percent 10 $edu_tmo
	rc=$?
	r=$ft_dir/restart.report
	[ $rc = 0 ] && [ "$ft_rc" = 0 ] && grep -q "ft_client: PASS" "$r"
	result $? ft_vm_crash_during_restart \
		"chaos $rc client $ft_rc: $(grep FAIL "$ft_dir/restart.chaos" "$r")"

	# 3. A kernel module is the client: csx_edu_load.ko (the kernel build
	# of edu_load) calls edu/0 and edu/1, served by the user-mode
	# instances through the kernel helper; its requests pending when an
	# instance dies are re-issued to the restarted one.
	ft_k2u "$csxrun"

	# 4. The baseline.
	FT_CHAOS_OPTS="--sleep-ms 300:1500"
	ft_side "$ft_dir" base1 "$ft_dir/base.conf" /usr/local/bin/ft-ping ping \
		"$kills" $load --ping "$ft_dir"
	result $? ft_vm_baseline "$(grep FAIL "$ft_dir/base1.chaos")"
	ft_rows ft_vm short "$ft_dir" >"$ft_dir/bench.txt" &&
		[ -s "$ft_dir/bench.txt" ]
	result $? ft_vm_bench_rows ""
}

# ft_k2u CSX_RUN: kernel -> user recovery (in ft_vm_body's subshell).
ft_k2u() {
	ft_daemon_start "$ft_dir/csx.conf" "$1" "$ft_dir/k2u.daemon.log"
	_i=0
	until [ "$("$FT_UHD" --socket "$FT_SOCK" --status 2>/dev/null |
		grep -cE 'edu/[01]')" -ge 2 ]; do
		_i=$((_i + 1))
		[ $_i -gt 600 ] && break
		ft_sleep_ms 50
	done
	echo "csx-test: ft-k2u" >/dev/kmsg
	if ! insmod ./csx.ko; then
		result 1 ft_vm_kernel_client "csx.ko did not load"
		ft_daemon_stop
		return
	fi
	insmod ./csx_edu_load.ko
	_lrc=$?
	if [ $_lrc = 0 ]; then
		"$FT_CTL" chaos "$FT_SOCK" edu 2 --kills 4 --sleep-ms 300:800 \
			--service "edu/%i" --ready-timeout 30 \
			>"$ft_dir/k2u.chaos" 2>&1
		_crc=$?
		ft_sleep_ms 500
		rmmod csx_edu_load
	fi
	rmmod csx
	ft_daemon_stop
	dmesg | sed -n '/csx-test: ft-k2u/,$p' >"$ft_dir/k2u.kmsg"
	grep 'edu_load: \(batch\|background\)' "$ft_dir/k2u.kmsg" |
		sed 's/^.*edu_load/# k2u: edu_load/'
	[ $_lrc = 0 ] && [ "$_crc" = 0 ] &&
		grep -q "edu_load: background: [1-9][0-9]* requests, 0 errors" \
			"$ft_dir/k2u.kmsg"
	result $? ft_vm_kernel_client_requests_survive_kills \
		"insmod $_lrc chaos ${_crc:-none}: $(grep FAIL "$ft_dir/k2u.chaos" 2>/dev/null)"
}

ft_vm_tests() {
	for f in /usr/local/sbin/csx-uhelperd /usr/local/bin/ft_client \
		/usr/local/bin/ft_ctl /usr/local/bin/ft-ping ./ft-lib.sh; do
		if [ ! -e "$f" ]; then
			tap 1 ft_vm_setup "$f missing (check-kernel.sh --user-build)"
			return
		fi
	done
	insmod ./csx_helper.ko
	tap $? ft_helper_load
	rm -rf "$ft_dir"
	mkdir -p "$ft_dir"
	: >"$ft_dir/results"
	(ft_vm_body) >"$ft_dir/body.log" 2>&1
	for f in csx1.chaos csx1.report restart.chaos restart.report \
		k2u.chaos base1.report; do
		[ -f "$ft_dir/$f" ] && grep -v "^ft_client: kill [0-9]*: " "$ft_dir/$f" |
			sed "s|^|# $f: |"
	done
	grep -v '^ft_ctl: kill' "$ft_dir/body.log" | tail -n 20 | sed 's/^/# /'
	while read -r st name diag; do
		tap "$st" "$name" "$diag"
	done <"$ft_dir/results"
	cat "$ft_dir/bench.txt" 2>/dev/null
	rmmod csx_helper
	tap $? ft_helper_unload
}
