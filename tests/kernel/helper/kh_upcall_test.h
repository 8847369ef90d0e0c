/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * What the kernel caller of the upcall tests (kh_upcall_client.ko) and
 * the user-side servers (kh_abi_test, kh_fuzz) agree on. Included by the
 * module and by the static test programs: plain fixed-size types only.
 */
#ifndef KH_UPCALL_TEST_H
#define KH_UPCALL_TEST_H

#include <linux/types.h>

/* The module's parameters, for the test programs. */
#define KUC_SYSFS "/sys/module/kh_upcall_client/parameters/"

/*
 * Operations of the test servers: the low byte says what the server does,
 * the rest is its argument or free (it must come through unchanged: see
 * KUC_OP_INFO). The module sends a fixed pattern as the request, so what
 * a server must do is all in the operation.
 */
#define KUC_OP_ECHO 1	 /* reply: the request, status 0 */
#define KUC_OP_INFO 2	 /* reply: struct kuc_info of what SERVE said */
#define KUC_OP_STATUS 3	 /* reply: status (__s32)op >> 8, 8 bytes */
#define KUC_OP_TOOBIG 4	 /* reply: out_cap + 1 bytes (the call gets EIO) */
#define KUC_OP_SLOW 5	 /* sleep op >> 8 ms, then echo */
#define KUC_OP_HANG 6	 /* never answered */
#define KUC_OP_UNKNOWN 7 /* replies to unknown ids first, then echoes */
#define KUC_OP_BADPTR 8	 /* reply from an unreadable pointer (EIO) */
#define KUC_OP_TWICE 9	 /* echo, then the same reply again (dropped) */

struct kuc_info {
	__u32 op;
	__u32 handle;
	__u64 req_len;
	__u64 out_cap;
};

/* check= values of the module: what a successful call's answer must be. */
#define KUC_CHECK_NONE 0
#define KUC_CHECK_ECHO 1  /* out == in */
#define KUC_CHECK_INFO 2  /* struct kuc_info matching op, len, cap */
#define KUC_CHECK_EMPTY 3 /* out_len 0 */

#endif /* KH_UPCALL_TEST_H */
