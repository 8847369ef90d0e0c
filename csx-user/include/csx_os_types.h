/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode body of the basic types (see csx/csx_types.h): the C library's.
 */
#ifndef CSX_OS_TYPES_H
#define CSX_OS_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif /* CSX_OS_TYPES_H */
