/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Kernel-mode body of the basic types (see csx/csx_types.h): the kernel's.
 *
 * The public headers are written in C99 terms (INT64_MAX and friends);
 * the kernel spells those limits differently, so they are mapped here,
 * once, instead of teaching the API two vocabularies.
 */
#ifndef CSX_OS_TYPES_H
#define CSX_OS_TYPES_H

#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/limits.h>
#include <linux/stdarg.h>

#ifndef INT8_MAX
#define INT8_MAX S8_MAX
#define INT8_MIN S8_MIN
#define UINT8_MAX U8_MAX
#define INT16_MAX S16_MAX
#define INT16_MIN S16_MIN
#define UINT16_MAX U16_MAX
#define INT32_MAX S32_MAX
#define INT32_MIN S32_MIN
#define UINT32_MAX U32_MAX
#define INT64_MAX S64_MAX
#define INT64_MIN S64_MIN
#define UINT64_MAX U64_MAX
#endif
#ifndef UINTPTR_MAX
#define UINTPTR_MAX ULONG_MAX
#endif

/*
 * The head of every interrupt handle (struct csx_intr starts with it). The
 * kernel has no inline disable path: csx_intr_disable() is a call into
 * csx.ko, spin_lock_irqsave() on the interrupt's lock; the core's magic is
 * all the head holds.
 */
struct csx_os_intr_hot {
	u32 magic;
};

#endif /* CSX_OS_TYPES_H */
