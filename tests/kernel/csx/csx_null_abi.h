/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only WITH Linux-syscall-note */
/*
 * csx_null.ko's eventfd round trip, shared by the module and its user side
 * (bench/vm/efd_rt.c): the baseline of the kernel → user call benchmark.
 */
#ifndef CSX_NULL_ABI_H
#define CSX_NULL_ABI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * CSX_NULL_IOC_EFD_PING: @n times, signal eventfd @efd and wait (10 s at
 * most) for CSX_NULL_IOC_EFD_ACK from the thread that reads it; the median
 * round trip comes back in @median_ns.
 */
struct csx_null_ping {
	__s32 efd;	 /* in: the eventfd the user thread reads */
	__u32 n;	 /* in: round trips, 1..CSX_NULL_PING_MAX */
	__u64 median_ns; /* out */
};
#define CSX_NULL_PING_MAX 100000u
#define CSX_NULL_IOC_EFD_PING _IOWR('N', 1, struct csx_null_ping)
/* CSX_NULL_IOC_EFD_ACK: the user thread's answer to one signal. */
#define CSX_NULL_IOC_EFD_ACK _IO('N', 2)

#endif /* CSX_NULL_ABI_H */
