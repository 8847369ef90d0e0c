// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Interrupts through software lines: ISR context, merging, nested
 * disable/restore, exclusion of the ISR by any disabling thread, and
 * detach. Device interrupts need a device and are covered by the edu
 * sample's tests; the emulation under both is the same.
 *
 * While a thread holds an interrupt disabled it may not sleep, so those
 * stretches busy-wait with csx_test_spin_ns().
 */
#include "csx_test_suites.h"

#define N_DISABLERS 2
#define DISABLE_ROUNDS 20000
#define MERGE_RAISES 5
#define HOLD_NS (5 * CSX_NSEC_PER_MSEC)

static struct csx_intr *line;
static long isr_runs;
static long isr_in_isr, isr_in_dpc, isr_in_atomic;
static long isr_verdict = CSX_IRQ_HANDLED;

static void reset_isr_state(void)
{
	csx_test_store(&isr_runs, 0);
	csx_test_store(&isr_in_isr, 0);
	csx_test_store(&isr_in_dpc, 0);
	csx_test_store(&isr_in_atomic, 0);
	csx_test_store(&isr_verdict, CSX_IRQ_HANDLED);
}

static enum csx_irqreturn counting_isr(struct csx_intr *intr, void *ctx)
{
	csx_test_store(&isr_in_isr, csx_in_isr());
	csx_test_store(&isr_in_dpc, csx_in_dpc());
	csx_test_store(&isr_in_atomic, csx_in_atomic());
	csx_test_inc(&isr_runs);
	return (enum csx_irqreturn)csx_test_load(&isr_verdict);
}

static void check_intr_stats(uint64_t raised, uint64_t handled,
			     uint64_t unhandled)
{
	struct csx_intr_stats st;

	CSX_CHECK_OK(csx_intr_stats(line, &st));
	CSX_CHECK_EQ(st.raised, raised);
	CSX_CHECK_EQ(st.handled, handled);
	CSX_CHECK_EQ(st.unhandled, unhandled);
}

CSX_TEST(intr_isr_runs_in_isr_context)
{
	reset_isr_state();
	CSX_CHECK(!csx_in_isr());
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &line));
	CSX_CHECK(!csx_intr_is_msi(line));
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) >= 1);
	CSX_CHECK_OK(csx_intr_detach(line));
	CSX_CHECK_EQ(csx_test_load(&isr_in_isr), 1);
	CSX_CHECK_EQ(csx_test_load(&isr_in_dpc), 0);
	CSX_CHECK_EQ(csx_test_load(&isr_in_atomic), 1);
}

static uint64_t verdicts_counted(void)
{
	struct csx_intr_stats st;

	if (csx_intr_stats(line, &st))
		return 0;
	return st.handled + st.unhandled;
}

CSX_TEST(intr_stats_count_verdicts)
{
	reset_isr_state();
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &line));
	CSX_STEP(check_intr_stats(0, 0, 0));
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) == 1);
	csx_test_store(&isr_verdict, CSX_IRQ_NONE);
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) == 2);
	/* The verdicts are counted once the ISR returned: wait for them. */
	CSX_EVENTUALLY(verdicts_counted() == 2);
	CSX_STEP(check_intr_stats(2, 1, 1));
	CSX_CHECK_OK(csx_intr_detach(line));
}

/*
 * Raises while the ISR is held off are pending together: one run. They are
 * spread out so the back end has time to notice each one: merging must not
 * depend on the raises coming faster than its wait thread wakes up.
 */
CSX_TEST(intr_raises_merge_while_pending)
{
	unsigned long key;
	unsigned int i;
	int rc = 0;

	reset_isr_state();
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &line));
	key = csx_intr_disable(line);
	for (i = 0; i < MERGE_RAISES; i++) {
		rc |= csx_intr_raise(line);
		csx_test_spin_ns(HOLD_NS);
	}
	csx_intr_restore(line, key);
	CSX_CHECK_OK(rc);
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) >= 1);
	csx_test_settle();
	CSX_CHECK_EQ(csx_test_load(&isr_runs), 1);
	CSX_CHECK_OK(csx_intr_detach(line));
}

CSX_TEST(intr_disable_nests)
{
	unsigned long outer, inner;
	long runs_inner, runs_outer;
	bool atomic_inner, atomic_outer;

	reset_isr_state();
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &line));
	CSX_CHECK(!csx_in_atomic());
	outer = csx_intr_disable(line);
	inner = csx_intr_disable(line);
	atomic_inner = csx_in_atomic();
	csx_intr_raise(line);
	csx_test_spin_ns(HOLD_NS);
	runs_inner = csx_test_load(&isr_runs);
	csx_intr_restore(line, inner);
	/* Still held off by the outer disable. */
	atomic_outer = csx_in_atomic();
	csx_test_spin_ns(HOLD_NS);
	runs_outer = csx_test_load(&isr_runs);
	csx_intr_restore(line, outer);
	CSX_CHECK(!csx_in_atomic());
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) == 1);
	CSX_CHECK_OK(csx_intr_detach(line));
	CSX_CHECK(atomic_inner);
	CSX_CHECK(atomic_outer);
	CSX_CHECK_EQ(runs_inner, 0);
	CSX_CHECK_EQ(runs_outer, 0);
}

/*
 * Every first hold, not only a thread's very first (which may take a
 * slower path in user mode), holds the ISR off and makes the caller atomic.
 */
CSX_TEST(intr_every_disable_holds_off)
{
	unsigned long key;
	bool atomic[3];
	long runs[3];
	int i;

	reset_isr_state();
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &line));
	for (i = 0; i < 3; i++) {
		key = csx_intr_disable(line);
		atomic[i] = csx_in_atomic();
		csx_intr_raise(line);
		csx_test_spin_ns(HOLD_NS);
		runs[i] = csx_test_load(&isr_runs);
		csx_intr_restore(line, key);
		CSX_CHECK(!csx_in_atomic());
		CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) == i + 1);
	}
	CSX_CHECK_OK(csx_intr_detach(line));
	for (i = 0; i < 3; i++) {
		CSX_CHECK(atomic[i]);
		CSX_CHECK_EQ(runs[i], i);
	}
}

/* ---- The ISR never runs while any thread holds it disabled -------------- */

static long in_section;
static long isr_active;
static long isr_overlaps;
static long thread_overlaps;
static long stop_raising;
static long raises;

static enum csx_irqreturn exclusion_isr(struct csx_intr *intr, void *ctx)
{
	csx_test_inc(&isr_active);
	if (csx_test_load(&in_section) != 0)
		csx_test_inc(&isr_overlaps);
	csx_test_inc(&isr_runs);
	csx_test_dec(&isr_active);
	return CSX_IRQ_HANDLED;
}

static int disabler(void *unused)
{
	unsigned int i;

	for (i = 0; i < DISABLE_ROUNDS; i++) {
		unsigned long key = csx_intr_disable(line);

		csx_test_inc(&in_section);
		csx_test_spin_ns(200);
		if (csx_test_load(&isr_active) != 0)
			csx_test_inc(&thread_overlaps);
		csx_test_dec(&in_section);
		csx_intr_restore(line, key);
		if (!(i & 255))
			csx_thread_yield();
	}
	return 0;
}

/*
 * Raises as fast as it can. The periodic yield matters in kernel mode,
 * where a kthread is not preempted: without it a disabler sharing the CPU
 * would never run and the raiser would never be told to stop.
 */
static int raiser(void *unused)
{
	while (!csx_test_load(&stop_raising)) {
		int rc = csx_intr_raise(line);

		if (rc)
			return rc;
		if (!(csx_test_inc(&raises) & 63))
			csx_thread_yield();
	}
	return 0;
}

CSX_TEST(intr_isr_excluded_by_every_disabler)
{
	struct csx_test_workers disablers, raisers;
	long during;
	int rc_d, rc_r, rc;

	reset_isr_state();
	csx_test_store(&in_section, 0);
	csx_test_store(&isr_active, 0);
	csx_test_store(&isr_overlaps, 0);
	csx_test_store(&thread_overlaps, 0);
	csx_test_store(&stop_raising, 0);
	csx_test_store(&raises, 0);
	CSX_CHECK_OK(csx_intr_attach_soft(exclusion_isr, NULL, &line));
	rc_r = csx_test_workers_start(&raisers, 1, raiser, NULL, 0);
	rc_d = csx_test_workers_start(&disablers, N_DISABLERS, disabler, NULL,
				      0);
	rc = csx_test_workers_join(&disablers);
	csx_test_store(&stop_raising, 1);
	rc |= csx_test_workers_join(&raisers);
	during = csx_test_load(&isr_runs);
	CSX_CHECK_OK(rc_r);
	CSX_CHECK_OK(rc_d);
	CSX_CHECK_OK(rc);
	/* Nobody holds it off any more: the line must get through. */
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) > during);
	CSX_CHECK_OK(csx_intr_detach(line));
	csx_test_note("%ld raises, %ld ISR runs while %d threads disabled",
		      csx_test_load(&raises), during, N_DISABLERS);
	CSX_CHECK_EQ(csx_test_load(&isr_overlaps), 0);
	CSX_CHECK_EQ(csx_test_load(&thread_overlaps), 0);
	CSX_CHECK_GT(csx_test_load(&isr_runs), 0);
}

/* ---- ISR side effects ----------------------------------------------------- */

static struct csx_dpc *isr_dpc;
static long isr_queue_rc = 100;
static long dpc_after_isr, dpc_saw_dpc, dpc_saw_isr;

static enum csx_irqreturn queue_dpc_isr(struct csx_intr *intr, void *ctx)
{
	csx_test_store(&isr_queue_rc, csx_dpc_queue(isr_dpc));
	csx_test_inc(&isr_runs);
	return CSX_IRQ_HANDLED;
}

static void dpc_from_isr(struct csx_dpc *dpc, void *ctx)
{
	csx_test_store(&dpc_saw_dpc, csx_in_dpc());
	csx_test_store(&dpc_saw_isr, csx_in_isr());
	csx_test_inc(&dpc_after_isr);
}

CSX_TEST(intr_isr_queues_dpc)
{
	reset_isr_state();
	csx_test_store(&dpc_after_isr, 0);
	CSX_CHECK_OK(csx_dpc_create(&isr_dpc, dpc_from_isr, NULL));
	CSX_CHECK_OK(csx_intr_attach_soft(queue_dpc_isr, NULL, &line));
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&dpc_after_isr) == 1);
	CSX_CHECK_OK(csx_intr_detach(line));
	CSX_CHECK_OK(csx_dpc_flush(isr_dpc));
	CSX_CHECK_OK(csx_dpc_destroy(isr_dpc));
	CSX_CHECK_RC(csx_test_load(&isr_queue_rc), 0);
	CSX_CHECK_EQ(csx_test_load(&dpc_saw_dpc), 1);
	CSX_CHECK_EQ(csx_test_load(&dpc_saw_isr), 0);
}

static long own_disable_done;

static enum csx_irqreturn disable_self_isr(struct csx_intr *intr, void *ctx)
{
	unsigned long outer = csx_intr_disable(intr);
	unsigned long inner = csx_intr_disable(intr);

	csx_intr_restore(intr, inner);
	csx_intr_restore(intr, outer);
	csx_test_inc(&own_disable_done);
	return CSX_IRQ_HANDLED;
}

CSX_TEST(intr_disable_from_own_isr_is_noop)
{
	csx_test_store(&own_disable_done, 0);
	CSX_CHECK_OK(csx_intr_attach_soft(disable_self_isr, NULL, &line));
	CSX_CHECK_OK(csx_intr_raise(line));
	/*
	 * A deadlocked ISR never finishes and detach would wait for it
	 * forever: on failure the line is deliberately left attached.
	 */
	CSX_CHECK_EVENTUALLY(csx_test_load(&own_disable_done) == 1);
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&own_disable_done) == 2);
	CSX_CHECK_OK(csx_intr_detach(line));
}

/* ---- Detach ----------------------------------------------------------------- */

CSX_TEST(intr_no_isr_after_detach)
{
	long at_detach;
	unsigned int i;

	reset_isr_state();
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &line));
	/* Leave raises pending: they run before detach returns, or never. */
	for (i = 0; i < 10; i++)
		CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_OK(csx_intr_detach(line));
	at_detach = csx_test_load(&isr_runs);
	csx_test_settle();
	CSX_CHECK_EQ(csx_test_load(&isr_runs), at_detach);
}

static long slow_started, slow_finished, detach_called;

static enum csx_irqreturn slow_isr(struct csx_intr *intr, void *ctx)
{
	csx_test_linger(&slow_started, &detach_called, &slow_finished);
	return CSX_IRQ_HANDLED;
}

CSX_TEST(intr_detach_waits_for_running_isr)
{
	long finished_at_return;

	csx_test_store(&slow_started, 0);
	csx_test_store(&slow_finished, 0);
	csx_test_store(&detach_called, 0);
	CSX_CHECK_OK(csx_intr_attach_soft(slow_isr, NULL, &line));
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&slow_started));
	csx_test_store(&detach_called, 1);
	CSX_CHECK_OK(csx_intr_detach(line));
	finished_at_return = csx_test_load(&slow_finished);
	CSX_CHECK_EQ(finished_at_return, 1);
}

CSX_TEST(intr_spin_budget)
{
	int rc;

	reset_isr_state();
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &line));
	rc = csx_intr_set_spin(line, 50 * CSX_NSEC_PER_USEC);
	CSX_CHECK(rc == 0 || rc == -CSX_ENOSYS);
	/* Spinning or not, the line keeps working. */
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) >= 1);
	csx_test_settle();
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) >= 2);
	CSX_CHECK_RC(csx_intr_set_spin(line, 0), rc);
	CSX_CHECK_OK(csx_intr_detach(line));
}

CSX_TEST(intr_detach_while_disabled_refused)
{
	unsigned long key;
	int rc;

	reset_isr_state();
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &line));
	key = csx_intr_disable(line);
	rc = csx_intr_detach(line);
	csx_intr_restore(line, key);
	/* Holding it disabled is atomic context: detach would wait for itself. */
	CSX_CHECK_RC(rc, -CSX_EDEADLK);
	/* Still attached and working. */
	CSX_CHECK_OK(csx_intr_raise(line));
	CSX_CHECK_EVENTUALLY(csx_test_load(&isr_runs) >= 1);
	CSX_CHECK_OK(csx_intr_detach(line));
}

CSX_TEST(intr_bad_arguments)
{
	static uint64_t foreign[64];
	struct csx_intr_stats st;
	struct csx_intr *intr;
	unsigned long key;

	CSX_CHECK_RC(csx_intr_attach_soft(NULL, NULL, &intr), -CSX_EINVAL);
	CSX_CHECK_RC(csx_intr_attach_soft(counting_isr, NULL, NULL),
		     -CSX_EINVAL);
	CSX_CHECK_RC(
		csx_intr_attach(NULL, CSX_INTR_ANY, counting_isr, NULL, &intr),
		-CSX_EINVAL);
	CSX_CHECK_RC(csx_intr_raise(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_intr_raise((struct csx_intr *)foreign), -CSX_EINVAL);
	CSX_CHECK_RC(csx_intr_detach(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_intr_stats(NULL, &st), -CSX_EINVAL);
	CSX_CHECK_RC(csx_intr_set_spin(NULL, 0), -CSX_EINVAL);
	CSX_CHECK(!csx_intr_is_msi(NULL));
	/* A bad handle gives a key that restore ignores; nothing is held. */
	key = csx_intr_disable(NULL);
	csx_intr_restore(NULL, key);
	CSX_CHECK(!csx_in_atomic());
	CSX_CHECK_OK(csx_intr_attach_soft(counting_isr, NULL, &intr));
	CSX_CHECK_RC(csx_intr_stats(intr, NULL), -CSX_EINVAL);
	CSX_CHECK_OK(csx_intr_detach(intr));
}

static const struct csx_test_case intr_cases[] = {
	CSX_TEST_CASE(intr_isr_runs_in_isr_context),
	CSX_TEST_CASE(intr_stats_count_verdicts),
	CSX_TEST_CASE(intr_raises_merge_while_pending),
	CSX_TEST_CASE(intr_disable_nests),
	CSX_TEST_CASE(intr_every_disable_holds_off),
	CSX_TEST_CASE(intr_isr_excluded_by_every_disabler),
	CSX_TEST_CASE(intr_isr_queues_dpc),
	CSX_TEST_CASE(intr_disable_from_own_isr_is_noop),
	CSX_TEST_CASE(intr_no_isr_after_detach),
	CSX_TEST_CASE(intr_detach_waits_for_running_isr),
	CSX_TEST_CASE(intr_spin_budget),
	CSX_TEST_CASE_MISUSE(intr_detach_while_disabled_refused),
	CSX_TEST_CASE_MISUSE(intr_bad_arguments),
};
CSX_TEST_SUITE(intr, intr_cases);
