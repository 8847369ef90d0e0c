# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# shellcheck shell=sh
#
# Kernel helper (/dev/csx) tests for the VM payload; busybox sh fragment,
# sourced by tests/kernel/csx/payload.sh, which provides `tap STATUS NAME
# [DIAG]` and `skip NAME REASON`. Expects in the payload dir (the cwd): csx_helper.ko and the
# static programs kh_abi_test and kh_fuzz (tests/kernel/helper/build.sh);
# for kernel -> user calls also csx.ko and kh_upcall_client.ko, the kernel
# caller both programs drive (loaded here, with csx.ko, around each).
#
# kh_tests: one TAP line per step. The programs' own TAP is shown as "# "
# comments (its numbering would clash with the payload's); kh_abi_test's
# failing check names go into the diagnostic of its line.
# Environment: CSX_IRQ (passed on to kh_abi_test), CSX_KH_FUZZ_SECS
# (default 20; 0 skips the fuzzer).

# kh_run NAME PROG [ARGS]: run PROG, its output shown as comments and kept
# in /tmp/NAME.out; returns its exit status.
kh_run() {
	_kh_name=$1
	shift
	mkdir -p /tmp
	{
		"$@"
		echo "$?" >"/tmp/$_kh_name.rc"
	} 2>&1 | tee "/tmp/$_kh_name.out" | sed 's/^/# /'
	return "$(cat "/tmp/$_kh_name.rc" 2>/dev/null || echo 1)"
}

# A real kernel service for the fuzzer's service-call side: csx.ko and the
# edu sample ("edu/0"), with the last edu device unbound again so the
# device side still has one to claim. Only if the payload's csx.ko is
# unloaded (it is, at this point of payload.sh).
kh_svc_up() {
	_kh_svc=0
	grep -q '^csx ' /proc/modules && return
	[ -f ./csx.ko ] && [ -f ./csx_edu.ko ] || return
	insmod ./csx.ko || return
	if ! insmod ./csx_edu.ko; then
		rmmod csx
		return
	fi
	_kh_svc=1
	_kh_last=$(for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] &&
			basename "$d"
	done | tail -n 1)
	[ -n "$_kh_last" ] && [ -e "/sys/bus/pci/devices/$_kh_last/driver" ] &&
		echo "$_kh_last" >"/sys/bus/pci/devices/$_kh_last/driver/unbind"
	echo "# kh_fuzz: csx.ko and csx_edu.ko loaded (edu/0), $_kh_last left unbound"
}

# The kernel caller of kernel -> user calls for kh_abi_test: csx.ko and
# kh_upcall_client.ko (idle until driven through its parameters). Only if
# csx.ko is unloaded (it is, at this point of payload.sh).
kh_up_up() {
	_kh_up=0
	grep -q '^csx ' /proc/modules && return
	if [ ! -f ./kh_upcall_client.ko ]; then
		tap 1 "kh_upcall_client_load" "kh_upcall_client.ko not in the payload"
		return
	fi
	insmod ./csx.ko || return
	if ! insmod ./kh_upcall_client.ko; then
		tap 1 "kh_upcall_client_load"
		rmmod csx
		return
	fi
	tap 0 "kh_upcall_client_load"
	_kh_up=1
}

kh_up_down() {
	[ "$_kh_up" = 1 ] || return
	rmmod kh_upcall_client && rmmod csx
	tap $? "kh_upcall_client_unload" "a channel still pins csx.ko?"
	! dmesg | tail -n 50 | grep -q 'still alive at exit (leaked)'
	tap $? "kh_upcall_no_leaked_objects"
}

# Background kernel callers of "fuzz/up" for the fuzzer's servers; needs
# csx.ko (kh_svc_up loaded it).
kh_up_bg_up() {
	_kh_up_bg=0
	grep -q '^csx ' /proc/modules && [ -f ./kh_upcall_client.ko ] || return
	insmod ./kh_upcall_client.ko bg=1 bg_threads=2
	tap $? "kh_fuzz_upcall_callers_load"
	grep -q '^kh_upcall_client ' /proc/modules && _kh_up_bg=1
}

# Their unload waits for every call in flight (the fuzzer is gone: its
# files are released, so none can hang); their counts must show calls and
# no response longer than its buffer.
kh_up_bg_down() {
	[ "$_kh_up_bg" = 1 ] || return
	rmmod kh_upcall_client
	tap $? "kh_fuzz_upcall_callers_unload"
	_kh_bg=$(dmesg | grep -o 'kh_upcall_client: background: .*' | tail -n 1)
	echo "# $_kh_bg"
	echo "$_kh_bg" | grep -q 'background: [1-9][0-9]* calls, .* 0 bad lengths'
	tap $? "kh_fuzz_upcall_callers_counts" "$_kh_bg"
}

# Unload them; csx.ko must go (no channel left pinning it) and report no
# leaked object.
kh_svc_down() {
	[ "$_kh_svc" = 1 ] || return
	rmmod csx_edu && rmmod csx
	tap $? "kh_fuzz_svc_modules_unload" "a channel still pins csx.ko?"
	! dmesg | tail -n 50 | grep -q 'still alive at exit (leaked)'
	tap $? "kh_fuzz_svc_no_leaked_objects"
}

kh_tests() {
	insmod ./csx_helper.ko
	tap $? "kh_load"
	if ! grep -q '^csx_helper ' /proc/modules; then
		return 1
	fi
	[ -c /dev/csx ]
	tap $? "kh_dev_node"

	kh_up_up
	kh_run kh_abi_test ./kh_abi_test
	_kh_rc=$?
	kh_up_down
	_kh_bad=$(grep '^not ok' /tmp/kh_abi_test.out |
		sed 's/^not ok [0-9]* \([^ ]*\).*/\1/' | tr '\n' ' ')
	grep -q '^1\.\.[0-9]' /tmp/kh_abi_test.out || _kh_bad="$_kh_bad(no plan: crashed?)"
	tap $_kh_rc "kh_abi_test" "failed: $_kh_bad"

	_kh_secs=${CSX_KH_FUZZ_SECS:-20}
	if [ "$_kh_secs" -gt 0 ]; then
		# Each refused call logs a line; at full console loglevel the
		# serial console would throttle the fuzzer and bury the log.
		# Errors (level < 4) still show live; all is in dmesg.
		_kh_printk=$(cut -f1 /proc/sys/kernel/printk)
		echo 4 >/proc/sys/kernel/printk
		kh_svc_up
		kh_up_bg_up
		kh_run kh_fuzz ./kh_fuzz "$_kh_secs"
		_kh_rc=$?
		kh_up_bg_down
		kh_svc_down
		echo "$_kh_printk" >/proc/sys/kernel/printk
		_kh_count=$(grep '^# kh_fuzz: [0-9]' /tmp/kh_fuzz.out)
		[ -n "$_kh_count" ] || echo "# kh_fuzz: no count line"
		tap $_kh_rc "kh_fuzz" "$(tail -n 1 /tmp/kh_fuzz.out)"
	else
		skip "kh_fuzz" "CSX_KH_FUZZ_SECS=0"
	fi

	rmmod csx_helper
	tap $? "kh_unload"
	! grep -q '^csx_helper ' /proc/modules
	tap $? "kh_not_in_proc_modules"
	[ ! -e /dev/csx ]
	tap $? "kh_dev_node_removed"
}
