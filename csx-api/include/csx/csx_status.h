/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_status.h
 * @brief Status codes and their text.
 *
 * A CSX function that can fail returns 0 on success or the negation of one
 * of the codes below (for example @c -CSX_EINVAL), exactly like the Linux
 * kernel. The values equal Linux errno values so the kernel back end passes
 * kernel errors through unchanged. Predicates return @c bool; functions
 * returning @c void cannot fail.
 */
#ifndef CSX_STATUS_H
#define CSX_STATUS_H

#include <csx/csx_types.h>

/** @name Status codes (returned negated) */
/** @{ */
#define CSX_EPERM 1	  /**< Operation not permitted. */
#define CSX_ENOENT 2	  /**< No such service, device or object. */
#define CSX_EINTR 4	  /**< Interrupted wait. */
#define CSX_EIO 5	  /**< Device input/output error (e.g. device gone). */
#define CSX_ENXIO 6	  /**< No such device or address (bad BAR/offset). */
#define CSX_E2BIG 7	  /**< Argument list or payload too long. */
#define CSX_EBADF 9	  /**< Bad handle. */
#define CSX_EAGAIN 11	  /**< Resource temporarily unavailable; try again. */
#define CSX_ENOMEM 12	  /**< Out of memory. */
#define CSX_EFAULT 14	  /**< Bad address (a CPU pointer as bus address). */
#define CSX_EBUSY 16	  /**< Object busy (held, attached, in use). */
#define CSX_EEXIST 17	  /**< Object exists (name taken, double attach). */
#define CSX_ENODEV 19	  /**< No such device. */
#define CSX_EINVAL 22	  /**< Invalid argument or handle. */
#define CSX_ENOSPC 28	  /**< No space left in a fixed-size table. */
#define CSX_ERANGE 34	  /**< Value out of range. */
#define CSX_EDEADLK 35	  /**< Sleeping call where sleeping is forbidden. */
#define CSX_ENOSYS 38	  /**< Operation not supported by this back end. */
#define CSX_EPROTO 71	  /**< Version or protocol mismatch. */
#define CSX_EOVERFLOW 75  /**< Result does not fit the buffer. */
#define CSX_EMSGSIZE 90	  /**< Message too long. */
#define CSX_EOPNOTSUPP 95 /**< Operation not supported by the target. */
#define CSX_ETIMEDOUT 110 /**< Timed wait expired. */
#define CSX_ECANCELED 125 /**< Operation canceled. */
#define CSX_EPEERDIED 130 /**< The peer of a call died (Linux EOWNERDEAD). */
/** @} */

/**
 * csx_strerror() - Describe a status code.
 * @param status A status as returned by a CSX function (0, or a negated
 *               CSX_E* code); a positive code is accepted too.
 * @return A constant, human-readable string; never NULL. Unknown codes
 *         give "unknown error".
 *
 * Any context; never sleeps.
 */
const char *csx_strerror(int status);

/**
 * csx_status_name() - The symbolic name of a status code.
 * @param status As for csx_strerror().
 * @return "CSX_EINVAL" and the like, "0" for success, "CSX_E?" if unknown.
 *
 * Any context; never sleeps.
 */
const char *csx_status_name(int status);

#endif /* CSX_STATUS_H */
