// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Logging: levels are settable and clamped, and logging works from every
 * context (it is how a driver reports trouble from its ISR).
 */
#include "csx_test_suites.h"

CSX_TEST(log_level_roundtrip)
{
	int prev = csx_log_set_level(CSX_LOG_DEBUG);

	CSX_CHECK_EQ(csx_log_set_level(CSX_LOG_WARN), CSX_LOG_DEBUG);
	CSX_CHECK_EQ(csx_log_set_level(prev), CSX_LOG_WARN);
}

CSX_TEST(log_level_clamped)
{
	int prev = csx_log_set_level(1000);
	int got = csx_log_set_level(-5);

	/* Out-of-range levels land on the nearest valid one. */
	csx_log_set_level(prev);
	CSX_CHECK_EQ(got, CSX_LOG_DEBUG);
	prev = csx_log_set_level(-5);
	got = csx_log_set_level(prev);
	CSX_CHECK_EQ(got, CSX_LOG_ERR);
}

static long isr_logged;
static long dpc_logged;

static enum csx_irqreturn log_isr(struct csx_intr *intr, void *ctx)
{
	csx_dbg("conformance: debug line from an ISR (%d)", 1);
	csx_test_inc(&isr_logged);
	return CSX_IRQ_HANDLED;
}

static void log_dpc(struct csx_dpc *dpc, void *ctx)
{
	csx_dbg("conformance: debug line from a DPC (%d)", 2);
	csx_test_inc(&dpc_logged);
}

/* The runner fails the case if any of these lines counts as a violation. */
CSX_TEST(log_any_context)
{
	struct csx_intr *intr = NULL;
	struct csx_dpc *dpc = NULL;
	int prev = csx_log_set_level(CSX_LOG_ERR);

	csx_test_store(&isr_logged, 0);
	csx_test_store(&dpc_logged, 0);
	csx_dbg("conformance: suppressed debug line");
	csx_log(CSX_LOG_DEBUG, "conformance: suppressed %s", "too");
	csx_log_set_level(prev);
	CSX_CHECK_OK(csx_intr_attach_soft(log_isr, NULL, &intr));
	CSX_CHECK_OK(csx_dpc_create(&dpc, log_dpc, NULL));
	CSX_CHECK_OK(csx_intr_raise(intr));
	CSX_CHECK_GE(csx_dpc_queue(dpc), 0);
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_logged) >= 1);
	CSX_CHECK_EVENTUALLY(csx_test_load(&dpc_logged) >= 1);
	CSX_CHECK_OK(csx_intr_detach(intr));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
}

static const struct csx_test_case log_cases[] = {
	CSX_TEST_CASE(log_level_roundtrip),
	CSX_TEST_CASE(log_level_clamped),
	CSX_TEST_CASE(log_any_context),
};
CSX_TEST_SUITE(log, log_cases);
