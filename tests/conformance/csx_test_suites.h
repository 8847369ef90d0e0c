/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The suites of the conformance suite, one per API area, in run order.
 * Adding an area: a test_<area>.c ending in CSX_TEST_SUITE(<area>, ...),
 * one X(<area>) line here, the file in local.mk and kernel/Kbuild.
 */
#ifndef CSX_TEST_SUITES_H
#define CSX_TEST_SUITES_H

#include "csx_test.h"

/*
 * Cheap and self-contained areas first, so a broken basic fails early;
 * stale (handles used after destroy) last, see test_stale.c.
 */
#define CSX_TEST_SUITE_LIST(X) \
	X(status)              \
	X(log)                 \
	X(mem)                 \
	X(thread)              \
	X(sync)                \
	X(dpc)                 \
	X(timer)               \
	X(intr)                \
	X(context)             \
	X(service)             \
	X(state)               \
	X(stale)

#define CSX_TEST_DECLARE_SUITE(area) \
	extern const struct csx_test_suite csx_suite_##area;
CSX_TEST_SUITE_LIST(CSX_TEST_DECLARE_SUITE)
#undef CSX_TEST_DECLARE_SUITE

/** Every suite, in run order. */
extern const struct csx_test_suite *const csx_test_suites[];
/** Number of entries in csx_test_suites. */
extern const unsigned int csx_test_suite_count;

#endif /* CSX_TEST_SUITES_H */
