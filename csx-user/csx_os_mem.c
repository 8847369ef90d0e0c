/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: memory. malloc() never sleeps in the sense that
 * matters to CSX (it does not wait for another thread to make progress),
 * so atomic and sleeping allocations are the same here.
 */
#include "csx_user_internal.h"

#include <stdlib.h>

/* malloc() already aligns for any type (max_align_t), as the contract asks. */
void *csx_os_alloc(size_t size, bool atomic)
{
	(void)atomic;
	return malloc(size);
}

void csx_os_free(void *ptr)
{
	free(ptr);
}
