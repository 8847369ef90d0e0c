/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_types.h
 * @brief Basic types every CSX header relies on.
 *
 * The fixed-width integers, @c bool, @c size_t and @c va_list come from
 * @c csx_os_types.h, which each back end provides in its own include
 * directory (user mode: the C library; kernel mode: <linux/types.h>).
 * The back end is chosen by the include path, never by @c \#ifdef.
 */
#ifndef CSX_TYPES_H
#define CSX_TYPES_H

#include <csx_os_types.h>

/** Marks a function taking a printf-style format at @p fmt_idx. */
#define CSX_PRINTF(fmt_idx, arg_idx) \
	__attribute__((format(printf, fmt_idx, arg_idx)))

/** Warns when a caller ignores the returned status. */
#define CSX_MUST_CHECK __attribute__((warn_unused_result))

/** Nanoseconds per microsecond. */
#define CSX_NSEC_PER_USEC 1000ULL
/** Nanoseconds per millisecond. */
#define CSX_NSEC_PER_MSEC 1000000ULL
/** Nanoseconds per second. */
#define CSX_NSEC_PER_SEC 1000000000ULL

/**
 * Timeout value meaning "wait until it happens".
 *
 * Every timed wait takes an @c int64_t timeout in nanoseconds: 0 polls,
 * a positive value bounds the wait, CSX_WAIT_FOREVER waits without bound
 * and any other negative value is rejected with -CSX_EINVAL.
 */
#define CSX_WAIT_FOREVER INT64_MAX

#endif /* CSX_TYPES_H */
