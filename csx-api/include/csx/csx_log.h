/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_log.h
 * @brief Logging with levels.
 *
 * Kernel mode writes through printk at the matching level; user mode writes
 * to standard error as one line per call. The back end prefixes every line
 * with "csx: " and the level; callers add their own tag (e.g. the driver
 * name) to the format.
 */
#ifndef CSX_LOG_H
#define CSX_LOG_H

#include <csx/csx_types.h>

/** Log levels, most severe first (same order as syslog/printk). */
enum csx_log_level {
	CSX_LOG_ERR = 3,   /**< An operation failed. */
	CSX_LOG_WARN = 4,  /**< Something unexpected that was handled. */
	CSX_LOG_INFO = 6,  /**< Normal but significant events. */
	CSX_LOG_DEBUG = 7, /**< Chatter for developers. */
};

/**
 * csx_log() - Log one formatted line.
 * @param level One of enum csx_log_level.
 * @param fmt printf-style format; a trailing newline is optional.
 *
 * Any context, including ISR and DPC; never sleeps. Lines above the
 * current threshold (csx_log_set_level()) are dropped cheaply.
 */
void csx_log(int level, const char *fmt, ...) CSX_PRINTF(2, 3);

/**
 * csx_vlog() - csx_log() with a va_list.
 * @param level One of enum csx_log_level.
 * @param fmt printf-style format.
 * @param ap Arguments for @p fmt.
 */
void csx_vlog(int level, const char *fmt, va_list ap);

/**
 * csx_log_set_level() - Set the most verbose level that is still printed.
 * @param level One of enum csx_log_level; others are clamped.
 * @return The previous level.
 *
 * The default is CSX_LOG_INFO; user-mode hosts (csx-run --log-level) call
 * this at start.
 */
int csx_log_set_level(int level);

/** Log an error. @param ... format and arguments. */
#define csx_err(...) csx_log(CSX_LOG_ERR, __VA_ARGS__)
/** Log a warning. @param ... format and arguments. */
#define csx_warn(...) csx_log(CSX_LOG_WARN, __VA_ARGS__)
/** Log information. @param ... format and arguments. */
#define csx_info(...) csx_log(CSX_LOG_INFO, __VA_ARGS__)
/** Log debug chatter. @param ... format and arguments. */
#define csx_dbg(...) csx_log(CSX_LOG_DEBUG, __VA_ARGS__)

#endif /* CSX_LOG_H */
