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

/*
 * Shared buffers. The module's kernel service KUC_SB_SVC (for SVC_OPEN
 * and SVC_CALL_SHBUF from a process; exported at load, scope PUBLIC)
 * answers KUC_SB_* operations on the windows it is given, in place:
 */
#define KUC_SB_SVC "kuc/shbuf"
#define KUC_SB_ECHO 1	/* out = in (memmove: windows may overlap) */
#define KUC_SB_INVERT 2 /* out[i] = ~in[i], byte by byte from the start */
#define KUC_SB_SUM 3	/* out: struct kuc_sb_sum of the request */
#define KUC_SB_SLOW 4	/* sleep op >> 8 ms, then echo */

struct kuc_sb_sum {
	__u64 sum; /* of the request's bytes */
	__u64 len; /* the request's length */
};

/*
 * The other way, the module's "sbcall" command calls @svc (a process's
 * export, served with SVC_SERVE2) with a shared buffer of @sb_size bytes:
 * request @len bytes at @sb_in_off, response window @cap at @sb_out_off.
 * The request is a pattern; check=KUC_CHECK_ECHO wants it back in the
 * response window. A test server answers KUC_OP_ECHO in place (memmove)
 * and KUC_OP_INFO with a struct kuc_sb_info in the window.
 */
struct kuc_sb_info {
	__u32 op;
	__u32 buf_id;
	__u64 buf_len;
	__u64 in_off;
	__u64 out_off;
	__u64 req_len;
	__u64 out_cap;
};

#endif /* KH_UPCALL_TEST_H */
