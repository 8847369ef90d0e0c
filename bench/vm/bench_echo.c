/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * bench_echo: the service of the user→kernel call benchmark
 * (bench_call_uk.c), exported as "bench/echo" version 1. Its one op
 * (BENCH_ECHO_OP) copies the request into the response and does nothing
 * else, exactly the work of csx_null.ko's bare ioctl, so that the
 * difference between the two round trips is CSX's own. (The calls
 * sample's echo also counts calls and bytes: two atomics per call.)
 * Mode-free; the VM builds it as bench_echo.ko (tests/kernel/csx/Kbuild).
 */
#include <csx/csx.h>

#include "bench_echo.h"

static struct csx_service *be_svc;

static int be_serve(void *ctx, uint32_t op, const void *in, size_t in_len,
		    void *out, size_t out_cap, size_t *out_len)
{
	size_t n = in_len < out_cap ? in_len : out_cap;

	(void)ctx;
	if (op != BENCH_ECHO_OP)
		return -CSX_EOPNOTSUPP;
	if (n)
		__builtin_memcpy(out, in, n);
	*out_len = n;
	return 0;
}

static int be_init(void)
{
	return csx_service_export(BENCH_ECHO_SERVICE, BENCH_ECHO_VERSION,
				  be_serve, NULL, &be_svc);
}

static void be_fini(void)
{
	csx_service_unexport(be_svc);
}

CSX_MODULE("bench_echo", "1.0.0", be_init, be_fini);
