/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The sleeping-call checker, like the kernel's might_sleep(): every API
 * function that may sleep asks here first and fails instead of sleeping
 * where sleeping is forbidden, so a driver bug shows up as a log line (or a
 * stop in strict mode) in both modes rather than as a rare deadlock.
 */
#include "csx_core.h"

static bool csx__strict_mode;
static unsigned long csx__violations;

void csx__ctx_init(bool strict)
{
	__atomic_store_n(&csx__strict_mode, strict, __ATOMIC_RELAXED);
	__atomic_store_n(&csx__violations, 0, __ATOMIC_RELAXED);
}

bool csx__strict(void)
{
	return __atomic_load_n(&csx__strict_mode, __ATOMIC_RELAXED);
}

static const char *csx__ctx_name(unsigned int ctx)
{
	if (ctx & CSX_OS_CTX_ISR)
		return "ISR";
	if (ctx & CSX_OS_CTX_DPC)
		return "DPC";
	return "atomic";
}

/*
 * csx_os_context(), plus the interrupt disables a back end counts outside
 * it (those its inline fast path took, see csx_os_intr_held()).
 */
static unsigned int csx__ctx(void)
{
	unsigned int ctx = csx_os_context();

	if (csx__unlikely(!(ctx & CSX_OS_CTX_ATOMIC) && csx_os_intr_held()))
		ctx |= CSX_OS_CTX_ATOMIC;
	return ctx;
}

void csx__misuse(const char *what)
{
	if (csx__strict())
		csx_os_bug(what);
}

static csx__cold void csx__ctx_violation(const char *func, unsigned int ctx)
{
	__atomic_add_fetch(&csx__violations, 1, __ATOMIC_RELAXED);
	csx_err("%s() may sleep but was called from %s context", func,
		csx__ctx_name(ctx));
	csx__misuse("sleeping call from a context that may not sleep");
}

int csx__might_sleep_check(const char *func, unsigned int ctx)
{
	if (!(ctx & CSX_OS_CTX_ATOMIC) && csx_os_intr_held())
		ctx |= CSX_OS_CTX_ATOMIC;
	if (!(ctx & CSX_OS_CTX_ATOMIC))
		return 0;
	csx__ctx_violation(func, ctx);
	return -CSX_EDEADLK;
}

bool csx_in_isr(void)
{
	return (csx_os_context() & CSX_OS_CTX_ISR) != 0;
}

bool csx_in_dpc(void)
{
	return (csx_os_context() & CSX_OS_CTX_DPC) != 0;
}

bool csx_in_atomic(void)
{
	return (csx__ctx() & CSX_OS_CTX_ATOMIC) != 0;
}

unsigned long csx_ctx_violations(void)
{
	return __atomic_load_n(&csx__violations, __ATOMIC_RELAXED);
}

bool csx_ctx_set_strict(bool strict)
{
	return __atomic_exchange_n(&csx__strict_mode, strict, __ATOMIC_RELAXED);
}
