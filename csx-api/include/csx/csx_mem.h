/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_mem.h
 * @brief Memory allocation.
 */
#ifndef CSX_MEM_H
#define CSX_MEM_H

#include <csx/csx_types.h>

/** @name Allocation flags */
/** @{ */
/** The caller may not sleep (ISR, DPC, interrupts disabled, spinlock held).
 *  Kernel: GFP_ATOMIC. Required in those contexts. */
#define CSX_MEM_ATOMIC 0x1u
/** Zero the memory. */
#define CSX_MEM_ZERO 0x2u
/** @} */

/**
 * csx_alloc() - Allocate memory.
 * @param size Bytes, 1 or more.
 * @param flags A combination of CSX_MEM_ATOMIC and CSX_MEM_ZERO.
 * @return The memory, aligned for any type, or NULL when out of memory,
 *         when @p size is 0, when @p flags has unknown bits, or when a
 *         non-atomic allocation is requested from a context that may not
 *         sleep (that last case is also reported by the context checker,
 *         see csx_context.h).
 *
 * May sleep unless CSX_MEM_ATOMIC is given.
 */
void *csx_alloc(size_t size, unsigned int flags);

/**
 * csx_free() - Free memory from csx_alloc().
 * @param ptr The memory, or NULL (ignored).
 *
 * Any context; never sleeps.
 */
void csx_free(void *ptr);

#endif /* CSX_MEM_H */
