// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * DPCs: run once, soon, on the queuing CPU, in DPC context; merging,
 * cancel, flush and self-requeue, with the counters that account for them.
 *
 * Where a case needs "still pending" to be certain, it queues from inside a
 * running DPC: the executor of that CPU is busy with the caller, so what was
 * queued there cannot run until the caller returns, in both modes.
 */
#include "csx_test_suites.h"

#define REQUEUE_ROUNDS 100
#define CPU_ROUNDS 8
#define STORM_CALLS 2000
#define N_STORMERS 2

static struct csx_dpc *dpc_a;
static struct csx_dpc *dpc_b;
static long a_runs;
static long b_runs;

static void count_b(struct csx_dpc *dpc, void *ctx)
{
	csx_test_inc(&b_runs);
}

static void reset_counts(void)
{
	csx_test_store(&a_runs, 0);
	csx_test_store(&b_runs, 0);
}

static void check_stats(struct csx_dpc *dpc, uint64_t queued, uint64_t merged,
			uint64_t runs, uint64_t canceled)
{
	struct csx_dpc_stats st;

	CSX_CHECK_OK(csx_dpc_stats(dpc, &st));
	CSX_CHECK_EQ(st.queued, queued);
	CSX_CHECK_EQ(st.merged, merged);
	CSX_CHECK_EQ(st.runs, runs);
	CSX_CHECK_EQ(st.canceled, canceled);
}

CSX_TEST(dpc_runs_once_soon)
{
	reset_counts();
	CSX_CHECK_OK(csx_dpc_create(&dpc_b, count_b, NULL));
	CSX_STEP(check_stats(dpc_b, 0, 0, 0, 0));
	CSX_CHECK_RC(csx_dpc_queue(dpc_b), 0);
	CSX_CHECK_EVENTUALLY(csx_test_load(&b_runs) >= 1);
	CSX_CHECK_OK(csx_dpc_flush(dpc_b));
	csx_test_settle();
	CSX_CHECK_EQ(csx_test_load(&b_runs), 1);
	CSX_STEP(check_stats(dpc_b, 1, 0, 1, 0));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_b));
}

/* What a DPC saw about its context. */
static long seen_dpc, seen_isr, seen_atomic, seen_cpu_ok;

static void record_context(struct csx_dpc *dpc, void *ctx)
{
	csx_test_store(&seen_dpc, csx_in_dpc());
	csx_test_store(&seen_isr, csx_in_isr());
	csx_test_store(&seen_atomic, csx_in_atomic());
	csx_test_store(&seen_cpu_ok, csx_cpu_current() < csx_cpu_count());
	csx_test_inc(&a_runs);
}

CSX_TEST(dpc_context)
{
	reset_counts();
	CSX_CHECK(!csx_in_dpc());
	CSX_CHECK_OK(csx_dpc_create(&dpc_a, record_context, NULL));
	CSX_CHECK_RC(csx_dpc_queue(dpc_a), 0);
	CSX_CHECK_OK(csx_dpc_flush(dpc_a));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_a));
	CSX_CHECK_EQ(csx_test_load(&a_runs), 1);
	CSX_CHECK_EQ(csx_test_load(&seen_dpc), 1);
	CSX_CHECK_EQ(csx_test_load(&seen_isr), 0);
	CSX_CHECK_EQ(csx_test_load(&seen_atomic), 1);
	CSX_CHECK_EQ(csx_test_load(&seen_cpu_ok), 1);
}

static long cpu_of_run[CPU_ROUNDS];
static long cpu_of_b;
static long bad_rc;

static void record_cpu_b(struct csx_dpc *dpc, void *ctx)
{
	csx_test_store(&cpu_of_b, csx_cpu_current());
	csx_test_inc(&b_runs);
}

/*
 * Each run records its CPU and requeues itself; the first also queues B.
 * A running DPC cannot migrate, so the CPU it reads is the queuing CPU of
 * everything it queues: every later run and B must report the same one.
 */
static void record_cpu_requeue(struct csx_dpc *dpc, void *ctx)
{
	long n = csx_test_load(&a_runs);

	csx_test_store(&cpu_of_run[n], csx_cpu_current());
	if (n == 0 && csx_dpc_queue(dpc_b) != 0)
		csx_test_inc(&bad_rc);
	if (csx_test_inc(&a_runs) < CPU_ROUNDS && csx_dpc_queue(dpc) != 0)
		csx_test_inc(&bad_rc);
}

CSX_TEST(dpc_runs_on_queuing_cpu)
{
	unsigned int i;

	reset_counts();
	csx_test_store(&bad_rc, 0);
	CSX_CHECK_OK(csx_dpc_create(&dpc_a, record_cpu_requeue, NULL));
	CSX_CHECK_OK(csx_dpc_create(&dpc_b, record_cpu_b, NULL));
	CSX_CHECK_RC(csx_dpc_queue(dpc_a), 0);
	CSX_CHECK_EVENTUALLY(csx_test_load(&a_runs) == CPU_ROUNDS &&
			     csx_test_load(&b_runs) == 1);
	CSX_CHECK_OK(csx_dpc_flush(dpc_a));
	CSX_CHECK_OK(csx_dpc_flush(dpc_b));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_a));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_b));
	CSX_CHECK_EQ(csx_test_load(&bad_rc), 0);
	for (i = 0; i < CPU_ROUNDS; i++) {
		CSX_CHECK_LT(cpu_of_run[i], csx_cpu_count());
		CSX_CHECK_EQ(cpu_of_run[i], cpu_of_run[0]);
	}
	CSX_CHECK_EQ(csx_test_load(&cpu_of_b), cpu_of_run[0]);
}

static long rc_first, rc_second, rc_cancel, rc_cancel_again;

/* B is certainly pending between these calls: A occupies B's executor. */
static void queue_b_twice(struct csx_dpc *dpc, void *ctx)
{
	csx_test_store(&rc_first, csx_dpc_queue(dpc_b));
	csx_test_store(&rc_second, csx_dpc_queue(dpc_b));
	csx_test_inc(&a_runs);
}

CSX_TEST(dpc_queue_while_pending_merges)
{
	reset_counts();
	CSX_CHECK_OK(csx_dpc_create(&dpc_a, queue_b_twice, NULL));
	CSX_CHECK_OK(csx_dpc_create(&dpc_b, count_b, NULL));
	CSX_CHECK_RC(csx_dpc_queue(dpc_a), 0);
	CSX_CHECK_EVENTUALLY(csx_test_load(&a_runs) == 1 &&
			     csx_test_load(&b_runs) >= 1);
	CSX_CHECK_OK(csx_dpc_flush(dpc_b));
	csx_test_settle();
	CSX_CHECK_RC(csx_test_load(&rc_first), 0);
	CSX_CHECK_RC(csx_test_load(&rc_second), CSX_DPC_MERGED);
	CSX_CHECK_EQ(csx_test_load(&b_runs), 1);
	CSX_STEP(check_stats(dpc_b, 1, 1, 1, 0));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_a));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_b));
}

struct storm_count {
	long queued;
	long merged;
	long other;
};

static int queue_storm(void *arg)
{
	struct storm_count *c = arg;
	int i, rc;

	for (i = 0; i < STORM_CALLS; i++) {
		rc = csx_dpc_queue(dpc_b);
		if (rc == 0)
			c->queued++;
		else if (rc == CSX_DPC_MERGED)
			c->merged++;
		else
			c->other++;
	}
	return 0;
}

/*
 * Threads hammer one DPC. How many calls merge depends on timing, so the
 * case counts instead of assuming: every call is accounted for exactly
 * once, and every call that queued (did not merge) produced exactly one run.
 */
CSX_TEST(dpc_merge_accounting_under_load)
{
	static struct storm_count counts[N_STORMERS];
	struct csx_test_workers w;
	struct csx_dpc_stats st;
	long queued = 0, merged = 0, other = 0;
	unsigned int i;
	int rc;

	reset_counts();
	csx_test_memset(counts, 0, sizeof(counts));
	CSX_CHECK_OK(csx_dpc_create(&dpc_b, count_b, NULL));
	rc = csx_test_workers_start(&w, N_STORMERS, queue_storm, counts,
				    sizeof(counts[0]));
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_dpc_flush(dpc_b));
	for (i = 0; i < N_STORMERS; i++) {
		queued += counts[i].queued;
		merged += counts[i].merged;
		other += counts[i].other;
	}
	CSX_CHECK_OK(csx_dpc_stats(dpc_b, &st));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_b));
	csx_test_note("%ld calls: %ld queued, %ld merged", queued + merged,
		      queued, merged);
	CSX_CHECK_EQ(other, 0);
	CSX_CHECK_EQ(st.queued, queued);
	CSX_CHECK_EQ(st.merged, merged);
	CSX_CHECK_EQ(st.queued + st.merged, N_STORMERS * STORM_CALLS);
	CSX_CHECK_GE(st.runs, 1);
	CSX_CHECK_LE(st.runs, st.queued);
	CSX_CHECK_EQ(st.runs, csx_test_load(&b_runs));
	/* Nothing canceled, all flushed: no queued run was lost. */
	CSX_CHECK_EQ(st.canceled, 0);
	CSX_CHECK_EQ(st.runs, st.queued);
}

static void queue_and_cancel_b(struct csx_dpc *dpc, void *ctx)
{
	csx_test_store(&rc_first, csx_dpc_queue(dpc_b));
	csx_test_store(&rc_cancel, csx_dpc_cancel(dpc_b));
	csx_test_store(&rc_cancel_again, csx_dpc_cancel(dpc_b));
	csx_test_inc(&a_runs);
}

CSX_TEST(dpc_cancel_pending)
{
	reset_counts();
	CSX_CHECK_OK(csx_dpc_create(&dpc_a, queue_and_cancel_b, NULL));
	CSX_CHECK_OK(csx_dpc_create(&dpc_b, count_b, NULL));
	CSX_CHECK_RC(csx_dpc_cancel(dpc_b), 0);
	CSX_CHECK_RC(csx_dpc_queue(dpc_a), 0);
	CSX_CHECK_OK(csx_dpc_flush(dpc_a));
	CSX_CHECK_OK(csx_dpc_flush(dpc_b));
	csx_test_settle();
	CSX_CHECK_EQ(csx_test_load(&a_runs), 1);
	CSX_CHECK_RC(csx_test_load(&rc_first), 0);
	CSX_CHECK_RC(csx_test_load(&rc_cancel), 1);
	CSX_CHECK_RC(csx_test_load(&rc_cancel_again), 0);
	CSX_CHECK_EQ(csx_test_load(&b_runs), 0);
	CSX_STEP(check_stats(dpc_b, 1, 0, 0, 1));
	/* A canceled DPC can be queued again and runs. */
	CSX_CHECK_RC(csx_dpc_queue(dpc_b), 0);
	CSX_CHECK_OK(csx_dpc_flush(dpc_b));
	CSX_CHECK_EQ(csx_test_load(&b_runs), 1);
	CSX_CHECK_OK(csx_dpc_destroy(dpc_a));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_b));
}

static long slow_started, slow_finished, flush_called;

/* Keeps running until the case is inside flush, then a little longer. */
static void slow_dpc(struct csx_dpc *dpc, void *ctx)
{
	csx_test_linger(&slow_started, &flush_called, &slow_finished);
}

CSX_TEST(dpc_flush_waits_for_running)
{
	long finished_at_return;

	csx_test_store(&slow_started, 0);
	csx_test_store(&slow_finished, 0);
	csx_test_store(&flush_called, 0);
	CSX_CHECK_OK(csx_dpc_create(&dpc_a, slow_dpc, NULL));
	CSX_CHECK_OK(csx_dpc_flush(dpc_a));
	CSX_CHECK_RC(csx_dpc_queue(dpc_a), 0);
	CSX_CHECK_EVENTUALLY(csx_test_load(&slow_started));
	csx_test_store(&flush_called, 1);
	CSX_CHECK_OK(csx_dpc_flush(dpc_a));
	finished_at_return = csx_test_load(&slow_finished);
	CSX_CHECK_OK(csx_dpc_destroy(dpc_a));
	CSX_CHECK_EQ(finished_at_return, 1);
}

static void requeue_self(struct csx_dpc *dpc, void *ctx)
{
	if (csx_test_inc(&a_runs) < REQUEUE_ROUNDS && csx_dpc_queue(dpc) != 0)
		csx_test_inc(&bad_rc);
}

/*
 * A DPC that requeues itself stays pending or running until the last
 * round, so a flush returns only after all rounds: no polling needed.
 */
CSX_TEST(dpc_requeues_itself)
{
	long after_flush;

	reset_counts();
	csx_test_store(&bad_rc, 0);
	CSX_CHECK_OK(csx_dpc_create(&dpc_a, requeue_self, NULL));
	CSX_CHECK_RC(csx_dpc_queue(dpc_a), 0);
	CSX_CHECK_OK(csx_dpc_flush(dpc_a));
	after_flush = csx_test_load(&a_runs);
	csx_test_settle();
	CSX_CHECK_EQ(after_flush, REQUEUE_ROUNDS);
	CSX_CHECK_EQ(csx_test_load(&a_runs), REQUEUE_ROUNDS);
	CSX_CHECK_EQ(csx_test_load(&bad_rc), 0);
	CSX_STEP(check_stats(dpc_a, REQUEUE_ROUNDS, 0, REQUEUE_ROUNDS, 0));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_a));
}

/* Destroy cancels a pending run and never returns while one runs. */
CSX_TEST(dpc_destroy_waits_for_running)
{
	reset_counts();
	csx_test_store(&slow_started, 0);
	csx_test_store(&slow_finished, 0);
	csx_test_store(&flush_called, 1);
	CSX_CHECK_OK(csx_dpc_create(&dpc_a, slow_dpc, NULL));
	CSX_CHECK_RC(csx_dpc_queue(dpc_a), 0);
	CSX_CHECK_EVENTUALLY(csx_test_load(&slow_started));
	CSX_CHECK_OK(csx_dpc_destroy(dpc_a));
	CSX_CHECK_EQ(csx_test_load(&slow_finished), 1);
}

CSX_TEST(dpc_bad_arguments)
{
	static uint64_t foreign[64];
	struct csx_dpc_stats st;
	struct csx_dpc *d;

	CSX_CHECK_RC(csx_dpc_create(NULL, count_b, NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_dpc_create(&d, NULL, NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_dpc_queue(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_dpc_cancel(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_dpc_flush(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_dpc_stats(NULL, &st), -CSX_EINVAL);
	CSX_CHECK_RC(csx_dpc_queue((struct csx_dpc *)foreign), -CSX_EINVAL);
	CSX_CHECK_RC(csx_dpc_destroy((struct csx_dpc *)foreign), -CSX_EINVAL);
	CSX_CHECK_OK(csx_dpc_create(&d, count_b, NULL));
	CSX_CHECK_RC(csx_dpc_stats(d, NULL), -CSX_EINVAL);
	CSX_CHECK_OK(csx_dpc_destroy(d));
	CSX_CHECK_OK(csx_dpc_destroy(NULL));
}

/*
 * An ISR queues a DPC: it runs in DPC context, not ISR context (user mode:
 * the wait thread runs it itself after the ISR, kernel: the tasklet). The
 * CPU is only checked for range: a user-mode wait thread is not pinned, so
 * it may move between the ISR and the DPC.
 */
static struct csx_dpc *isr_queued;
static long isr_rc = 100, isr_dpc_runs, isr_dpc_in_dpc, isr_dpc_in_isr;
static long isr_dpc_cpu = -1;

static void dpc_of_isr(struct csx_dpc *dpc, void *ctx)
{
	csx_test_store(&isr_dpc_in_dpc, csx_in_dpc());
	csx_test_store(&isr_dpc_in_isr, csx_in_isr());
	csx_test_store(&isr_dpc_cpu, csx_cpu_current());
	csx_test_inc(&isr_dpc_runs);
}

static enum csx_irqreturn isr_queues_dpc(struct csx_intr *intr, void *ctx)
{
	csx_test_store(&isr_rc, csx_dpc_queue(isr_queued));
	return CSX_IRQ_HANDLED;
}

CSX_TEST(dpc_queued_by_isr_runs_in_dpc_context)
{
	struct csx_intr *line;
	long i;

	csx_test_store(&isr_dpc_runs, 0);
	CSX_CHECK_OK(csx_dpc_create(&isr_queued, dpc_of_isr, NULL));
	CSX_CHECK_OK(csx_intr_attach_soft(isr_queues_dpc, NULL, &line));
	for (i = 1; i <= 3; i++) {
		csx_test_store(&isr_dpc_in_dpc, 0);
		csx_test_store(&isr_dpc_in_isr, 1);
		CSX_CHECK_OK(csx_intr_raise(line));
		CSX_CHECK_EVENTUALLY(csx_test_load(&isr_dpc_runs) == i);
		CSX_CHECK_RC(csx_test_load(&isr_rc), 0);
		CSX_CHECK_EQ(csx_test_load(&isr_dpc_in_dpc), 1);
		CSX_CHECK_EQ(csx_test_load(&isr_dpc_in_isr), 0);
		CSX_CHECK_LT(csx_test_load(&isr_dpc_cpu), csx_cpu_count());
	}
	CSX_CHECK_OK(csx_intr_detach(line));
	CSX_CHECK_OK(csx_dpc_flush(isr_queued));
	CSX_CHECK_OK(csx_dpc_destroy(isr_queued));
	CSX_CHECK_EQ(csx_test_load(&isr_dpc_runs), 3);
}

static const struct csx_test_case dpc_cases[] = {
	CSX_TEST_CASE(dpc_runs_once_soon),
	CSX_TEST_CASE(dpc_context),
	CSX_TEST_CASE(dpc_runs_on_queuing_cpu),
	CSX_TEST_CASE(dpc_queue_while_pending_merges),
	CSX_TEST_CASE(dpc_merge_accounting_under_load),
	CSX_TEST_CASE(dpc_cancel_pending),
	CSX_TEST_CASE(dpc_flush_waits_for_running),
	CSX_TEST_CASE(dpc_requeues_itself),
	CSX_TEST_CASE(dpc_destroy_waits_for_running),
	CSX_TEST_CASE(dpc_queued_by_isr_runs_in_dpc_context),
	CSX_TEST_CASE_MISUSE(dpc_bad_arguments),
};
CSX_TEST_SUITE(dpc, dpc_cases);
