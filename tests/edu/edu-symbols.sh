#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# The edu driver and its demo also build as kernel modules, where there is
# no C library: their objects may call nothing but the CSX API (and the
# memcpy/memset the compiler emits for __builtin_memcpy/memset, which the
# kernel provides; sanitizer hooks in sanitizer builds).
. "$(dirname "$0")/lib.sh"

allowed='^(csx_[a-z0-9_]+|memcpy|memset|__stack_chk_fail|_GLOBAL_OFFSET_TABLE_|__(asan|tsan|ubsan|sanitizer|msan)_[A-Za-z0-9_]+)$'
for obj in samples/edu/.libs/csx_edu.o samples/edu/.libs/edu_demo.o; do
	[ -f "$obj" ] || fail "$obj not built"
	bad=$(nm -u "$obj" | awk '{ print $NF }' | grep -vE "$allowed")
	[ -z "$bad" ] || fail "$obj calls outside the CSX API: $bad"
	echo "$me: $obj: $(nm -u "$obj" | grep -c ' csx_') CSX symbols, nothing else"
done
echo "$me: PASS"
