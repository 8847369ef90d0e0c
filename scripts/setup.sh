#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Install what building and testing CSX needs on Debian 12 (run as root).
# --kernel also installs what the kernel tests in QEMU need.
set -eu

pkgs="build-essential autoconf automake libtool pkg-config libevent-dev
libcmocka-dev doxygen gdb clang-format"
kpkgs="qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static
cpio kmod"

want=$pkgs
[ "${1:-}" = "--kernel" ] && want="$pkgs $kpkgs"

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "setup: dependencies present"
