#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# /init of the test VM (busybox sh), installed by run-vm.sh.  It mounts the
# pseudo file systems, runs /payload/run.sh, then prints what
# parse-console.sh checks, in this order:
#   CSX-VM-START ...                 once init runs
#   (payload output)
#   CSX-KMEMLEAK-BEGIN/-END          kmemleak report (kernels with kmemleak)
#   CSX-TAINT <n>                    /proc/sys/kernel/tainted after the run
#   CSX-VM-DONE rc=<rc>              run.sh's exit status (the sentinel)
#   CSX-DMESG-BEGIN/-END             the whole kernel log
# and powers off.  Environment for run.sh comes from /csx-env.

export PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# CONFIG_DEVTMPFS_MOUNT does not apply to an initramfs root: mount it here.
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Should the kernel have found no /dev/console to open for init, this is
# the first time stdout goes anywhere.
exec </dev/console >/dev/console 2>&1
if [ -d /sys/kernel/debug ]; then
	mount -t debugfs debugfs /sys/kernel/debug
fi

if [ -f /csx-env ]; then
	set -a
	. /csx-env
	set +a
fi

echo "CSX-VM-START kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"

cd /payload || echo "CSX: no /payload directory"
sh /payload/run.sh
rc=$?
cd /

kmemleak=/sys/kernel/debug/kmemleak
if [ "${CSX_KMEMLEAK:-1}" = 1 ] && [ -w "$kmemleak" ]; then
	# Two scans: kmemleak does not report an object whose contents
	# changed since the previous scan (it may hold a new pointer), and
	# every object is "changed" the first time it is seen.  It also
	# ignores objects younger than 5 s: the first scan runs while what
	# the payload allocated last ages, then we wait out the rest.
	t0=$(cut -d. -f1 /proc/uptime)
	echo scan >"$kmemleak"
	left=$((t0 + 6 - $(cut -d. -f1 /proc/uptime)))
	[ "$left" -gt 0 ] && sleep "$left"
	echo scan >"$kmemleak"
	echo "CSX-KMEMLEAK-BEGIN"
	cat "$kmemleak"
	echo "CSX-KMEMLEAK-END"
fi

echo "CSX-TAINT $(cat /proc/sys/kernel/tainted)"
echo "CSX-VM-DONE rc=$rc"
echo "CSX-DMESG-BEGIN"
dmesg
echo "CSX-DMESG-END"
# -f: no init to signal, just the reboot(2) call; with -no-reboot and ACPI
# QEMU then exits with status 0.
poweroff -f
