/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Kernel-mode body of the basic types (see csx/csx_types.h): the kernel's.
 */
#ifndef CSX_OS_TYPES_H
#define CSX_OS_TYPES_H

#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/limits.h>
#include <linux/stdarg.h>

#endif /* CSX_OS_TYPES_H */
