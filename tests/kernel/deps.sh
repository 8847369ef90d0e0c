#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Install what the kernel VM tests need, then print the kernel version they
# use (see kver.sh).  Idempotent: apt is only touched when a package is
# missing, and `apt-get update` only runs in that case.
#
# usage: deps.sh [--debug-kernel]
#   --debug-kernel  also install what debug-kernel.sh needs (kernel source
#                   tarball and the tool chain pieces Kbuild wants).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

pkgs=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static
	cpio kmod gzip gcc make binutils util-linux)

want_debug=0
case ${1:-} in
--debug-kernel) want_debug=1 ;;
"") ;;
*)
	echo "usage: $0 [--debug-kernel]" >&2
	exit 2
	;;
esac

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
		grep -q 'install ok installed'
}

apt_install() {
	local missing=() p
	for p in "$@"; do
		installed "$p" || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	echo "deps: installing ${missing[*]}" >&2
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	"${sudo[@]}" apt-get update >&2
	# --no-install-recommends: ~56 packages instead of ~180 (GUI libraries).
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y \
		--no-install-recommends "${missing[@]}" >&2
}

apt_install "${pkgs[@]}"

. "$here/kver.sh"
[[ -n $CSX_KVER ]] || csx_kver >/dev/null # prints the reason, fails

if [[ $want_debug -eq 1 ]]; then
	# The debug kernel is built from the source of the same major.minor as
	# the stock kernel (6.1 on Debian 12), unless told otherwise.
	mm=$(echo "$CSX_KVER" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
	src_pkg=${CSX_LINUX_SOURCE_PKG:-linux-source-$mm}
	# flex/bison: kconfig; bc: timeconst; libelf-dev: objtool (ORC);
	# libssl-dev: scripts that link libcrypto; xz-utils: the tarball.
	apt_install "$src_pkg" flex bison bc libelf-dev libssl-dev xz-utils
fi

echo "$CSX_KVER"
