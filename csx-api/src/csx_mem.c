/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx_alloc()/csx_free(): argument and context checks over the back end's
 * allocator, and a live-block count so leaks are reported at exit.
 */
#include "csx_core.h"

#define CSX__MEM_FLAGS (CSX_MEM_ATOMIC | CSX_MEM_ZERO)

void *csx_alloc(size_t size, unsigned int flags)
{
	bool atomic = (flags & CSX_MEM_ATOMIC) != 0;
	void *p;

	if (size == 0 || (flags & ~CSX__MEM_FLAGS)) {
		csx_err("csx_alloc(): bad size %zu or flags %#x", size, flags);
		return NULL;
	}
	if (!atomic && csx__might_sleep(__func__))
		return NULL;
	p = csx_os_alloc(size, atomic);
	if (!p)
		return NULL;
	if (flags & CSX_MEM_ZERO)
		__builtin_memset(p, 0, size);
	csx__live_inc(CSX__T_ALLOC);
	return p;
}

void csx_free(void *ptr)
{
	if (!ptr)
		return;
	csx__live_dec(CSX__T_ALLOC);
	csx_os_free(ptr);
}
