// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Handles used after they were destroyed. The API documents these as
 * refused with -CSX_EINVAL, which a back end can only honour by validating
 * handles without trusting freed memory. A back end that does not would
 * crash or trip a memory checker here, so this suite runs last: such a
 * crash cannot hide the results of the others.
 */
#include "csx_test_suites.h"

static void nothing(struct csx_dpc *dpc, void *ctx)
{
}

static enum csx_irqreturn quiet_isr(struct csx_intr *intr, void *ctx)
{
	return CSX_IRQ_HANDLED;
}

CSX_TEST(stale_dpc_queue_after_destroy)
{
	struct csx_dpc *dpc;

	CSX_CHECK_OK(csx_dpc_create(&dpc, nothing, NULL));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
	CSX_CHECK_RC(csx_dpc_queue(dpc), -CSX_EINVAL);
}

CSX_TEST(stale_intr_double_detach)
{
	struct csx_intr *intr;

	CSX_CHECK_OK(csx_intr_attach_soft(quiet_isr, NULL, &intr));
	CSX_CHECK_OK(csx_intr_detach(intr));
	CSX_CHECK_RC(csx_intr_detach(intr), -CSX_EINVAL);
}

CSX_TEST(stale_intr_raise_after_detach)
{
	struct csx_intr *intr;

	CSX_CHECK_OK(csx_intr_attach_soft(quiet_isr, NULL, &intr));
	CSX_CHECK_OK(csx_intr_detach(intr));
	CSX_CHECK_RC(csx_intr_raise(intr), -CSX_EINVAL);
}

static const struct csx_test_case stale_cases[] = {
	CSX_TEST_CASE_MISUSE(stale_dpc_queue_after_destroy),
	CSX_TEST_CASE_MISUSE(stale_intr_double_detach),
	CSX_TEST_CASE_MISUSE(stale_intr_raise_after_detach),
};
CSX_TEST_SUITE(stale, stale_cases);
