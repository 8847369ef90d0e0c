/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * KTAP output for the VM test modules, mode-free: the test logic calls
 * these; ktap_kernel.c prints them with printk (a user-mode build would
 * print them with printf). csx_log() cannot carry KTAP: it prefixes its
 * lines, and a result line must start the message.
 */
#ifndef CSX_KTAP_H
#define CSX_KTAP_H

#include <csx/csx.h>

/**
 * ktap_line() - Print one raw output line (no prefix, newline added).
 * @param fmt printf format.
 */
void ktap_line(const char *fmt, ...) CSX_PRINTF(1, 2);

/** A KTAP run: counts results so the plan can be checked by the reader. */
struct ktap {
	unsigned int n;	     /**< Results so far. */
	unsigned int failed; /**< "not ok" results so far. */
};

/** Start a run of @p plan results. */
static inline void ktap_start(struct ktap *k, unsigned int plan)
{
	k->n = 0;
	k->failed = 0;
	ktap_line("KTAP version 1");
	ktap_line("1..%u", plan);
}

/** Report one result. @return @p ok. */
static inline bool ktap_result(struct ktap *k, bool ok, const char *name)
{
	k->n++;
	if (!ok)
		k->failed++;
	ktap_line("%sok %u %s", ok ? "" : "not ", k->n, name);
	return ok;
}

/** Report a skipped result. */
static inline void ktap_skip(struct ktap *k, const char *name, const char *why)
{
	k->n++;
	ktap_line("ok %u %s # SKIP %s", k->n, name, why);
}

#endif /* CSX_KTAP_H */
