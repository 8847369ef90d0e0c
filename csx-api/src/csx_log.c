/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Logging: a threshold checked before any formatting, so a dropped debug
 * line costs one load; the back end formats and emits the rest.
 */
#include "csx_core.h"

static int csx__log_threshold = CSX_LOG_INFO;

void csx_vlog(int level, const char *fmt, va_list ap)
{
	if (level > __atomic_load_n(&csx__log_threshold, __ATOMIC_RELAXED))
		return;
	csx_os_vlog(level, fmt, ap);
}

void csx_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	csx_vlog(level, fmt, ap);
	va_end(ap);
}

int csx_log_set_level(int level)
{
	if (level < CSX_LOG_ERR)
		level = CSX_LOG_ERR;
	else if (level > CSX_LOG_DEBUG)
		level = CSX_LOG_DEBUG;
	return __atomic_exchange_n(&csx__log_threshold, level,
				   __ATOMIC_RELAXED);
}
