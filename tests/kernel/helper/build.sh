#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Build the in-VM tests of the CSX kernel helper (/dev/csx) as static
# programs, warning-free: kh_abi_test and kh_fuzz.
#
# usage: build.sh OUTDIR
#   CC (default gcc) and EXTRA_CFLAGS may be set in the environment.
# Prints the built programs, one path per line, on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)

[[ $# -eq 1 ]] || {
	sed -n 's/^# \{0,1\}//; /^usage:/,/^Prints/p' "$0" >&2
	exit 2
}
out=$1
mkdir -p "$out"
cc=${CC:-gcc}
# -static: the VM has no libc. The ABI header is the only include.
cflags=(-static -O2 -Wall -Wextra -Werror -pthread -I "$top/helpers/include")
# shellcheck disable=SC2206 # word splitting of EXTRA_CFLAGS is wanted
cflags+=(${EXTRA_CFLAGS:-})

for prog in kh_abi_test kh_fuzz; do
	"$cc" "${cflags[@]}" -o "$out/$prog" "$here/$prog.c"
	echo "$out/$prog"
done
