#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Boot a kernel under QEMU (TCG) with a busybox initramfs that runs a test
# payload, and keep the serial console log.
#
# usage: run-vm.sh --payload DIR --log FILE [options]
#   --payload DIR    copied to /payload in the VM; must hold run.sh, which
#                    /init runs with busybox sh (cwd /payload).  *.ko files
#                    are stripped of debug info in the copy.  Binaries must
#                    be static unless --rootfs brings their libraries.
#   --rootfs DIR     merged onto / of the initramfs before the payload (e.g.
#                    user-rootfs.sh's tree: dynamic binaries and their
#                    libraries)
#   --log FILE       serial console log (CR stripped), written even on failure
#   --kernel FILE    bzImage to boot (default: /boot/vmlinuz-<kver>)
#   --kver VER       stock Debian kernel version (default: kver.sh)
#   --debug-kernel   boot the debug kernel (debug-kernel.sh; built if needed)
#   --edu N          number of QEMU edu PCI devices (default 1)
#   --msi | --intx   interrupt mode for the payload, exported as CSX_IRQ;
#                    --intx also boots with pci=nomsi so no driver gets MSI
#   --timeout SEC    wall-clock limit for QEMU (default 300, debug kernel 600)
#   --loglevel N     console loglevel (default 7: pr_info shows live too)
#   --append STR     extra kernel command line
#   --no-kmemleak    skip the kmemleak scan at the end (saves ~5-10 s)
#   --verbose        also stream the console to stdout
#
# In the VM, run.sh sees: CSX_KERNEL (stock|debug|custom), CSX_IRQ
# (msi|intx|empty), CSX_EDU_COUNT, CSX_KMEMLEAK (1|0).
#
# Exit status: 0 VM finished and run.sh returned 0; 1 run.sh failed;
# 2 usage/setup error; 3 QEMU timed out; 4 no CSX-VM-DONE sentinel (panic,
# crash, QEMU error).  Judge the results with parse-console.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

kernel=""
kver=""
debug_kernel=0
edu=1
irq=""
payload=""
rootfs=""
log=""
timeout_s=""
loglevel=7
append=""
kmemleak=1
verbose=0

usage() {
	# The header comment is the help text.
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0" >&2
	exit 2
}
die() {
	echo "run-vm: ERROR: $*" >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--kernel) kernel=${2:?}; shift 2 ;;
	--kver) kver=${2:?}; shift 2 ;;
	--debug-kernel) debug_kernel=1; shift ;;
	--edu) edu=${2:?}; shift 2 ;;
	--msi) irq=msi; shift ;;
	--intx) irq=intx; shift ;;
	--payload) payload=${2:?}; shift 2 ;;
	--rootfs) rootfs=${2:?}; shift 2 ;;
	--log) log=${2:?}; shift 2 ;;
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--loglevel) loglevel=${2:?}; shift 2 ;;
	--append) append=${2:?}; shift 2 ;;
	--no-kmemleak) kmemleak=0; shift ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage ;;
	*) echo "run-vm: unknown argument: $1" >&2; usage ;;
	esac
done

[[ -n $payload && -n $log ]] || usage
[[ -f $payload/run.sh ]] || die "$payload/run.sh not found"
[[ $edu =~ ^[0-9]+$ ]] || die "--edu wants a number"
# The debug kernel runs ~3x slower (KASAN, lockdep, two kmemleak scans).
[[ -n $timeout_s ]] || timeout_s=$((debug_kernel ? 600 : 300))
[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout wants seconds"
[[ -z $kernel || $debug_kernel -eq 0 ]] ||
	die "--kernel and --debug-kernel exclude each other"

kind=custom
if [[ $debug_kernel -eq 1 ]]; then
	kind=debug
	"$here/debug-kernel.sh" --check >/dev/null 2>&1 ||
		echo "run-vm: debug kernel not cached, building it (~4 min)" >&2
	dk=$("$here/debug-kernel.sh") || die "debug-kernel.sh failed"
	kernel=$(echo "$dk" | sed -n 's/^CSX_DEBUG_BZIMAGE=//p')
elif [[ -z $kernel ]]; then
	kind=stock
	if [[ -z $kver ]]; then
		kver=$("$here/kver.sh") || die "no kernel (run deps.sh)"
	fi
	kernel=/boot/vmlinuz-$kver
fi
[[ -r $kernel ]] || die "cannot read kernel $kernel"

busybox=$(command -v busybox || true)
[[ -n $busybox ]] || die "busybox not found (apt-get install busybox-static)"
# Debian's dynamic busybox would need a libc in the initramfs.
if readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
	die "$busybox is dynamically linked; install busybox-static"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/csx-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

# --- initramfs -------------------------------------------------------------
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,payload}
cp "$busybox" "$root/bin/busybox"
# One symlink per applet, at the path busybox itself reports for it.
for applet in $("$busybox" --list-full); do
	[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
done
# The kernel opens /dev/console for init before devtmpfs is mounted; the node
# needs root to create (vm-init.sh copes without it, minus early messages).
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
install -m 755 "$here/vm-init.sh" "$root/init"

if [[ -n $rootfs ]]; then
	[[ -d $rootfs ]] || die "--rootfs $rootfs is not a directory"
	cp -a "$rootfs/." "$root/"
fi
cp -a "$payload/." "$root/payload/"
while IFS= read -r -d '' f; do
	strip --strip-debug "$f"
done < <(find "$root/payload" -name '*.ko' -type f -print0)
while IFS= read -r -d '' f; do
	if [[ -z $rootfs ]] &&
		readelf -l "$f" 2>/dev/null | grep -q 'Requesting program interpreter'; then
		echo "run-vm: WARNING: ${f#"$root/"} is dynamically linked;" \
			"it cannot run in the VM (link it with -static)" >&2
	fi
done < <(find "$root/payload" -type f -perm -u+x -print0)

cat >"$root/csx-env" <<EOF
CSX_KERNEL=$kind
CSX_IRQ=$irq
CSX_EDU_COUNT=$edu
CSX_KMEMLEAK=$kmemleak
EOF

initrd=$work/initrd.cpio.gz
(cd "$root" && find . -print0 | cpio --null -o -H newc --owner=0:0 --quiet) |
	gzip -1 >"$initrd"

# --- boot ------------------------------------------------------------------
# panic=-1: a panic reboots at once, and -no-reboot turns that into QEMU
# exiting.  oops=panic: an oops ends the run instead of limping on.
# printk.time=1: parse-console.sh tells kernel lines by their timestamp.
# log_buf_len: room for the final dmesg dump of a chatty debug kernel.
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=$loglevel printk.time=1"
cmdline+=" log_buf_len=4M"
# Guest time runs with the host clock, so a vCPU thread starved by a busy
# host looks stuck: with the 21 s/20 s defaults, a KASAN kernel booting on a
# loaded machine hit false RCU-stall reports.  60 s still catches real hangs.
cmdline+=" rcupdate.rcu_cpu_stall_timeout=60 watchdog_thresh=30"
# tsc=reliable: TCG's TSC reads the host's clock, the same on every vCPU,
# but the boot-time sync check sees the vCPUs start apart and marks it
# unstable; the guest then falls back to the HPET, whose every reading is
# an emulated MMIO access under QEMU's global lock (and, without a vDSO
# clock, a system call). That made every timestamp in the VM cost
# microseconds and swing with the host's load.
cmdline+=" tsc=reliable"
[[ $irq == intx ]] && cmdline+=" pci=nomsi"
[[ -n $append ]] && cmdline+=" $append"

qemu=(qemu-system-x86_64 -accel tcg -machine q35 -m 512 -smp 2
	-nographic -no-reboot -nic none -vga none
	-kernel "$kernel" -initrd "$initrd"
	-append "$cmdline")
for ((i = 0; i < edu; i++)); do
	qemu+=(-device edu)
done

echo "run-vm: booting $kind kernel $kernel ($edu edu device(s), timeout ${timeout_s}s)" >&2
mkdir -p "$(dirname "$log")"
t0=$(date +%s%N)
set +e
# KVM hangs on these machines: TCG only.  stdin from /dev/null keeps QEMU
# off the terminal; -k: SIGKILL if QEMU ignores the SIGTERM.
if [[ $verbose -eq 1 ]]; then
	timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$log"
else
	timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' >"$log"
fi
qemu_rc=${PIPESTATUS[0]}
set -e
t1=$(date +%s%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')

show_tail() {
	echo "run-vm: last lines of $log:" >&2
	tail -n 25 "$log" | sed 's/^/  | /' >&2
}

if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
	echo "run-vm: FAIL: QEMU timed out after ${timeout_s}s (log: $log)" >&2
	show_tail
	exit 3
fi
done_line=$(grep -a -o 'CSX-VM-DONE rc=[0-9]*' "$log" | head -n1 || true)
if [[ -z $done_line ]]; then
	echo "run-vm: FAIL: no CSX-VM-DONE sentinel after ${wall}s, QEMU" \
		"exit $qemu_rc (kernel panic or crash?) (log: $log)" >&2
	show_tail
	exit 4
fi
if [[ $qemu_rc -ne 0 ]]; then
	echo "run-vm: note: QEMU exited $qemu_rc after the sentinel" >&2
fi
rc=${done_line#CSX-VM-DONE rc=}
echo "run-vm: VM ran ${wall}s (boot to power-off), payload rc=$rc, log: $log" >&2
[[ $rc -eq 0 ]] || exit 1
exit 0
