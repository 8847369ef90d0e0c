/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Between the portable runner (csx_test_core.c) and an adapter (user/:
 * CMocka, kernel/: KTAP). Case sources never include this.
 */
#ifndef CSX_TEST_RUNNER_H
#define CSX_TEST_RUNNER_H

#include "csx_test_suites.h"

/** What became of one case. */
enum csx_test_verdict {
	CSX_TEST_PASSED = 0,
	CSX_TEST_FAILED = 1,
	CSX_TEST_SKIPPED = 2,
};

/**
 * csx_test_run_case() - Run one case in the calling thread.
 * @param c The case.
 * @return Its verdict; csx_test_reason() tells why it failed or skipped.
 *
 * Beyond the case's own checks the runner fails a case that leaves its
 * thread atomic or, unless the case is marked CSX_TEST_MISUSE, makes the
 * context checker report a violation: correct code never does.
 */
enum csx_test_verdict csx_test_run_case(const struct csx_test_case *c);

/** csx_test_reason() - The first failure (or the skip reason) of the last case. */
const char *csx_test_reason(void);

/**
 * csx_test_selected() - Does a filter select a case?
 * @param filter NULL or "" for all; else a comma-separated list of "suite"
 *               or "suite.case" names.
 * @param s The suite.
 * @param c The case.
 * @return true when the case should run.
 */
bool csx_test_selected(const char *filter, const struct csx_test_suite *s,
		       const struct csx_test_case *c);

/* ---- Provided by each adapter -------------------------------------------- */

/**
 * csx_test_port_vformat() - vsnprintf() of the mode: always terminates
 * @p buf, truncating.
 */
void csx_test_port_vformat(char *buf, size_t size, const char *fmt, va_list ap)
	CSX_PRINTF(3, 0);

/** csx_test_port_diag() - Emit one diagnostic line (no newline in @p line). */
void csx_test_port_diag(const char *line);

#endif /* CSX_TEST_RUNNER_H */
