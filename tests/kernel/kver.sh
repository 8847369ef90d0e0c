#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Find the Debian kernel the VM tests boot and build modules against.
#
# Executed: prints the version (e.g. 6.1.0-56-amd64), exit 1 if none.
# Sourced:  defines csx_kver() and exports CSX_KVER (set it beforehand to
#           force a version; it is then only validated).
#
# The newest version wins that has BOTH /boot/vmlinuz-<ver> (to boot) and
# /lib/modules/<ver>/build (headers, to build modules against); the version is
# never hard-coded because Debian moves the ABI number with every update.

csx_kver_usable() {
	[[ -f /boot/vmlinuz-$1 && -f /lib/modules/$1/build/Makefile ]]
}

csx_kver() {
	local v best=""

	if [[ -n ${CSX_KVER:-} ]]; then
		if ! csx_kver_usable "$CSX_KVER"; then
			echo "kver: CSX_KVER=$CSX_KVER lacks /boot/vmlinuz-$CSX_KVER" \
				"or /lib/modules/$CSX_KVER/build" >&2
			return 1
		fi
		echo "$CSX_KVER"
		return 0
	fi
	# sort -V orders 6.1.0-9 before 6.1.0-10, which plain sort does not.
	for v in $(find /lib/modules -mindepth 1 -maxdepth 1 -printf "%f\n" 2>/dev/null | sort -V); do
		csx_kver_usable "$v" && best=$v
	done
	if [[ -z $best ]]; then
		echo "kver: no kernel with both /boot/vmlinuz-<ver> and" \
			"/lib/modules/<ver>/build; run tests/kernel/deps.sh" >&2
		return 1
	fi
	echo "$best"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	csx_kver
else
	# Sourced: best effort, the caller decides what a missing kernel means.
	CSX_KVER=$(csx_kver 2>/dev/null) || CSX_KVER=""
	export CSX_KVER
fi
