/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * calls_svc: exports the "calls/echo" service (calls.h). One source for
 * the kernel module (calls_svc.ko) and the user module (calls_svc.so).
 */
#include <csx/csx.h>

#include "calls.h"

static struct csx_service *calls_svc;
static uint64_t calls_count;
static uint64_t calls_bytes;

static int calls_sum_op(const void *in, size_t in_len, void *out,
			size_t out_cap, size_t *out_len)
{
	const uint8_t *p = in;
	struct calls_sum r = { 0 };
	uint32_t v;
	size_t i;

	if (in_len % sizeof(v))
		return -CSX_EINVAL;
	if (out_cap < sizeof(r))
		return -CSX_EOVERFLOW;
	for (i = 0; i < in_len; i += sizeof(v)) {
		__builtin_memcpy(&v, p + i, sizeof(v));
		r.sum += v;
		r.count++;
	}
	__builtin_memcpy(out, &r, sizeof(r));
	*out_len = sizeof(r);
	return 0;
}

static int calls_serve(void *ctx, uint32_t op, const void *in, size_t in_len,
		       void *out, size_t out_cap, size_t *out_len)
{
	struct calls_stats st;

	(void)ctx;
	__atomic_add_fetch(&calls_count, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&calls_bytes, in_len, __ATOMIC_RELAXED);
	switch (op) {
	case CALLS_OP_ECHO:
		if (out_cap < in_len)
			return -CSX_EOVERFLOW;
		if (in_len)
			__builtin_memcpy(out, in, in_len);
		*out_len = in_len;
		return 0;
	case CALLS_OP_SUM:
		return calls_sum_op(in, in_len, out, out_cap, out_len);
	case CALLS_OP_STATS:
		if (out_cap < sizeof(st))
			return -CSX_EOVERFLOW;
		st.calls = __atomic_load_n(&calls_count, __ATOMIC_RELAXED);
		st.bytes = __atomic_load_n(&calls_bytes, __ATOMIC_RELAXED);
		__builtin_memcpy(out, &st, sizeof(st));
		*out_len = sizeof(st);
		return 0;
	default:
		return -CSX_EOPNOTSUPP;
	}
}

static int calls_svc_init(void)
{
	int ret;

	ret = csx_service_export(CALLS_SERVICE, CALLS_VERSION, calls_serve,
				 NULL, &calls_svc);
	if (!ret)
		csx_info("calls_svc: exported %s version %u", CALLS_SERVICE,
			 CALLS_VERSION);
	return ret;
}

static void calls_svc_fini(void)
{
	/* Waits for calls in progress; later calls fail with EPEERDIED. */
	csx_service_unexport(calls_svc);
	csx_info("calls_svc: withdrawn after %llu calls",
		 (unsigned long long)calls_count);
}

CSX_MODULE("calls_svc", "1.0.0", calls_svc_init, calls_svc_fini);
