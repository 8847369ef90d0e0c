# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Real PCI devices claimed through the kernel helper (/dev/csx,
# helpers/kernel/csx_helper.ko): the second device source.

# Built into libcsx-user (csx-user/local.mk adds them).
csx_kh_sources = \
	csx-user/kh/csx_kh.h \
	csx-user/kh/csx_kh.c \
	helpers/include/csx_kh_abi.h
