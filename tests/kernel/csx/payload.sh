#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# In-VM payload of tests/kernel/check-kernel.sh (copied to /payload/run.sh;
# busybox sh). Loads the CSX modules and reports each step as a TAP line on
# the console; the modules' own KTAP goes to the kernel log, which the VM's
# /init dumps for parse-console.sh.
#
# Environment (run-vm.sh): CSX_IRQ msi|intx|"" (interrupt mode to force
# through csx.ko intr_mode=), CSX_EDU_COUNT, CSX_KERNEL. From csx-test.env
# (check-kernel.sh): CSX_CYCLES (load/unload cycles of csx_edu),
# CSX_BENCH_ITERS (0: no benchmark), CSX_KILL_ROUNDS (payload-user.sh),
# CSX_FT_KILLS (payload-ft.sh).
#
# Every step runs even if an earlier one failed (except when csx.ko does
# not load): one boot reports as much as it can. Exit 1 if any step failed.

[ -f ./csx-test.env ] && . ./csx-test.env
CSX_CYCLES=${CSX_CYCLES:-20}
CSX_BENCH_ITERS=${CSX_BENCH_ITERS:-1000}
mode=${CSX_IRQ:-any}
n=0
failed=0

tap() { # tap STATUS NAME [DIAG]: one result
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2${3:+ # $3}"
		failed=1
	fi
}
skip() { # skip NAME REASON
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}
finish() {
	echo "1..$n"
	exit $failed
}

# Lines of /proc/interrupts that belong to CSX device interrupts.
csx_irqs() { grep -E ' csx-[0-9a-f]{4}:' /proc/interrupts; }
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }

echo "# kernel $(uname -r) ($CSX_KERNEL), interrupt mode $mode, $CSX_EDU_COUNT edu device(s)"

# --- csx.ko -----------------------------------------------------------------
insmod ./csx.ko intr_mode="$mode"
tap $? "csx_load"
grep -q '^csx ' /proc/modules || finish

# check-kernel.sh --only calls: the call tests alone (a developer's loop).
if [ "$CSX_ONLY" = calls ]; then
	. ./payload-user.sh
	. ./payload-calls.sh
	calls_tests
	rmmod csx
	tap $? "csx_unload"
	finish
fi

# --- conformance suite --------------------------------------------------------
if [ -f ./csx_conformance.ko ]; then
	insmod ./csx_conformance.ko
	tap $? "conformance_load"
	rmmod csx_conformance
	tap $? "conformance_unload"
else
	skip "conformance_load" "csx_conformance.ko not built"
fi

# --- edu sample driver and demo ----------------------------------------------
insmod ./csx_edu.ko
tap $? "csx_edu_load"
nirq=$(csx_irqs | wc -l)
[ "$nirq" -eq "$CSX_EDU_COUNT" ]
tap $? "csx_edu_irq_per_device" "$nirq csx interrupt line(s), $CSX_EDU_COUNT device(s)"
csx_irqs | sed 's/^/# /'
case $mode in
msi) csx_irqs | grep -qv 'MSI' ; [ $? -ne 0 ] ;;
intx) csx_irqs | grep -q 'MSI' ; [ $? -ne 0 ] ;;
*) true ;;
esac
tap $? "csx_edu_irq_kind_$mode"

insmod ./edu_demo.ko
tap $? "edu_demo_load" "init failed: see the kernel log"
dmesg | grep -q "edu: demo done: $CSX_EDU_COUNT device(s) OK"
tap $? "edu_demo_results"
rmmod edu_demo
tap $? "edu_demo_unload"

# --- concurrent requests (KTAP from the module) ----------------------------
insmod ./csx_edu_ktest.ko
tap $? "edu_ktest_load"
rmmod csx_edu_ktest
tap $? "edu_ktest_unload"

# The load client the user-mode tests run as edu_load.so, as a kernel
# module: checked batch, the DMA throughput phase (compared with user mode
# in payload-user.sh), background traffic until rmmod.
insmod ./csx_edu_load.ko
tap $? "kernel_edu_load" "init failed: see the kernel log"
dmesg | grep -o 'edu_load: dma: .*' | tail -n 1 >/tmp/kernel-edu-dma.txt
rmmod csx_edu_load
tap $? "kernel_edu_load_unload"
dmesg | grep -q "edu_load: background: [0-9]* requests, 0 errors"
tap $? "kernel_edu_load_background"

# --- load/unload cycles ----------------------------------------------------
# Slab is compared from the 5th cycle on, once caches have warmed up; the
# leak check proper is kmemleak on the debug kernel.
bad=0
slab0=""
i=1
while [ $i -le "$CSX_CYCLES" ]; do
	rmmod csx_edu || bad=1
	if csx_irqs >/dev/null; then
		echo "# cycle $i: interrupt still listed after rmmod:"
		csx_irqs | sed 's/^/#   /'
		bad=1
	fi
	insmod ./csx_edu.ko || bad=1
	[ "$(csx_irqs | wc -l)" -eq "$CSX_EDU_COUNT" ] || bad=1
	[ $i -eq 5 ] && slab0=$(slab_kb)
	i=$((i + 1))
done
tap $bad "csx_edu_reload_cycles_$CSX_CYCLES"
if [ -n "$slab0" ]; then
	slab1=$(slab_kb)
	echo "# slab: ${slab0} kB after cycle 5, ${slab1} kB after cycle $CSX_CYCLES"
fi

# Saved state lives in csx.ko: every reload resumed from the last commit,
# so the last one is incarnation CSX_CYCLES + 1 of each unit.
resumed=$(dmesg | grep -c "csx_edu: .*: resumed from saved state: incarnation $((CSX_CYCLES + 1)),")
[ "$resumed" -eq "$CSX_EDU_COUNT" ]
tap $? "csx_edu_saved_state_across_reloads" "$resumed of $CSX_EDU_COUNT unit(s) at incarnation $((CSX_CYCLES + 1))"

# The driver still works after all that.
insmod ./edu_demo.ko && rmmod edu_demo
tap $? "edu_demo_after_cycles"

rmmod csx_edu
tap $? "csx_edu_unload"
csx_irqs >/dev/null
[ $? -ne 0 ]
tap $? "no_csx_irq_after_unload"

# --- benchmarks --------------------------------------------------------------
if [ "$CSX_BENCH_ITERS" -gt 0 ] && [ -f ./bench_ktest.ko ]; then
	insmod ./bench_ktest.ko iters="$CSX_BENCH_ITERS"
	tap $? "bench_load"
	rmmod bench_ktest
	dmesg | grep -a 'BENCH ' | sed 's/^\[[^]]*\] //; s/^/# /'
else
	skip "bench_load" "benchmarks off"
fi

# --- module-to-module calls (payload-calls.sh) ---------------------------------
. ./payload-user.sh
. ./payload-calls.sh
calls_tests

# --- csx.ko unload: the core reports leaked objects --------------------------
rmmod csx
tap $? "csx_unload"
dmesg | grep -q 'still alive at exit (leaked)'
[ $? -ne 0 ]
tap $? "csx_no_leaked_objects"

# --- kernel helper: the same edu driver as a user process ----------------------
# payload-user.sh: csx-run on the real devices, SIGKILL rounds, the
# benchmark against uio_pci_generic; payload-helper.sh: the /dev/csx ABI
# tests and the fuzzer.
[ -f ./payload-helper.sh ] && . ./payload-helper.sh
user_hw_tests

# --- fault containment: the supervisor restarts killed instances ---------------
# payload-ft.sh: one user-mode edu instance per device under csx-uhelperd,
# killed over and over under checked load; recovery benchmark rows.
. ./payload-ft.sh
ft_vm_tests

finish
