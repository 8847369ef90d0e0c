/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * DPC queues: run once on the queuing CPU, merge, cancel, requeue, FIFO
 * order, flush/destroy, bad handles, and concurrent producers/executors.
 */
#include <pthread.h>
#include <sched.h>

#include "unit.h"

#define MAX_RUNS 16

struct rec {
	int id;
	int runs;
	unsigned int cpu[MAX_RUNS];
	bool in_dpc[MAX_RUNS];
	int *order; /* shared log of ids, in run order */
	int *norder;
	int requeue;	     /* times to queue itself again from inside */
	bool cancel_requeue; /* and cancel that again at once */
	int ret_destroy, ret_flush;
	bool try_self_destroy;
};

static void dpc_fn(struct csx_dpc *dpc, void *ctx)
{
	struct rec *r = ctx;

	if (r->runs < MAX_RUNS) {
		r->cpu[r->runs] = csx_cpu_current();
		r->in_dpc[r->runs] = csx_in_dpc();
	}
	r->runs++;
	if (r->order)
		r->order[(*r->norder)++] = r->id;
	if (r->requeue > 0) {
		r->requeue--;
		assert_int_equal(csx_dpc_queue(dpc), 0);
		if (r->cancel_requeue)
			assert_int_equal(csx_dpc_cancel(dpc), 1);
	}
	if (r->try_self_destroy) {
		r->ret_destroy = csx_dpc_destroy(dpc);
		r->ret_flush = csx_dpc_flush(dpc);
	}
}

static struct csx_dpc *new_dpc(struct rec *r)
{
	struct csx_dpc *dpc;

	assert_int_equal(csx_dpc_create(&dpc, dpc_fn, r), 0);
	return dpc;
}

static void stats_are(struct csx_dpc *dpc, uint64_t queued, uint64_t merged,
		      uint64_t runs, uint64_t canceled)
{
	struct csx_dpc_stats st;

	assert_int_equal(csx_dpc_stats(dpc, &st), 0);
	assert_int_equal(st.queued, queued);
	assert_int_equal(st.merged, merged);
	assert_int_equal(st.runs, runs);
	assert_int_equal(st.canceled, canceled);
}

static void runs_once_on_the_queuing_cpu(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	mock_set_cpu(1);
	assert_int_equal(csx_dpc_queue(dpc), 0);
	mock_set_cpu(0);
	assert_int_equal(mock_kicks(1), 1);
	assert_int_equal(mock_kicks(0), 0);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 0);
	mock_run_dpcs(1);
	assert_int_equal(r.runs, 1);
	assert_int_equal(r.cpu[0], 1);
	assert_true(r.in_dpc[0]);
	mock_run_dpcs(1);
	assert_int_equal(r.runs, 1);
	stats_are(dpc, 1, 0, 1, 0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

static void pending_queue_merges(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	assert_int_equal(csx_dpc_queue(dpc), 0);
	assert_int_equal(csx_dpc_queue(dpc), CSX_DPC_MERGED);
	assert_int_equal(csx_dpc_queue(dpc), CSX_DPC_MERGED);
	assert_int_equal(mock_kicks(0), 1);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 1);
	stats_are(dpc, 1, 2, 1, 0);
	/* After the run it queues afresh. */
	assert_int_equal(csx_dpc_queue(dpc), 0);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 2);
	stats_are(dpc, 2, 2, 2, 0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

static void runs_in_fifo_order_with_one_kick(void **state)
{
	struct rec r[5] = { { 0 } };
	struct csx_dpc *dpc[5];
	int order[8], n = 0, i;

	(void)state;
	for (i = 0; i < 5; i++) {
		r[i].id = i;
		r[i].order = order;
		r[i].norder = &n;
		dpc[i] = new_dpc(&r[i]);
	}
	for (i = 0; i < 5; i++)
		assert_int_equal(csx_dpc_queue(dpc[(i + 2) % 5]), 0);
	/* Only the push onto an empty list needs to wake the executor. */
	assert_int_equal(mock_kicks(0), 1);
	mock_run_dpcs(0);
	assert_int_equal(n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(order[i], (i + 2) % 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(csx_dpc_destroy(dpc[i]), 0);
}

/*
 * csx__dpc_run_batch() (a wait thread's drain): one batch, oldest first;
 * what is queued meanwhile is left for the executor, which is kicked.
 */
static void run_batch_runs_one_batch_in_order(void **state)
{
	struct rec r[3] = { { 0 } };
	struct csx_dpc *dpc[3];
	int order[8], n = 0, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		r[i].id = i;
		r[i].order = order;
		r[i].norder = &n;
		dpc[i] = new_dpc(&r[i]);
	}
	r[1].requeue = 1;
	csx__dpc_run_batch(0); /* empty: nothing to do */
	for (i = 0; i < 3; i++)
		assert_int_equal(csx_dpc_queue(dpc[i]), 0);
	assert_int_equal(mock_kicks(0), 1);
	csx__dpc_run_batch(0);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(order[i], i);
		assert_int_equal(r[i].runs, 1);
	}
	/* The requeue went onto the emptied list: the executor's job. */
	assert_int_equal(mock_kicks(0), 2);
	mock_run_dpcs(0);
	assert_int_equal(r[1].runs, 2);
	stats_are(dpc[1], 2, 0, 2, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(csx_dpc_destroy(dpc[i]), 0);
}

static void cancel_prevents_the_run(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	assert_int_equal(csx_dpc_cancel(dpc), 0);
	assert_int_equal(csx_dpc_queue(dpc), 0);
	assert_int_equal(csx_dpc_cancel(dpc), 1);
	assert_int_equal(csx_dpc_cancel(dpc), 0);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 0);
	stats_are(dpc, 1, 0, 0, 1);
	/* The stale node was reaped: a new queue kicks and runs. */
	assert_int_equal(csx_dpc_queue(dpc), 0);
	assert_int_equal(mock_kicks(0), 2);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 1);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

/* Documented: requeued before the executor reaped it, it stays put. */
static void requeue_after_cancel_runs_where_it_sits(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	assert_int_equal(csx_dpc_queue(dpc), 0);
	assert_int_equal(csx_dpc_cancel(dpc), 1);
	mock_set_cpu(1);
	assert_int_equal(csx_dpc_queue(dpc), 0);
	mock_set_cpu(0);
	assert_int_equal(mock_kicks(1), 0);
	mock_run_dpcs(1);
	assert_int_equal(r.runs, 0);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 1);
	assert_int_equal(r.cpu[0], 0);
	stats_are(dpc, 2, 0, 1, 1);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

static void requeue_from_inside_runs_again(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	r.requeue = 3;
	assert_int_equal(csx_dpc_queue(dpc), 0);
	mock_run_dpcs(0);
	/* One executor call drains the runs queued while it ran. */
	assert_int_equal(r.runs, 4);
	stats_are(dpc, 4, 0, 4, 0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

/* Its own run keeps a DPC that requeues itself: no push, no kick. */
static void requeue_from_inside_needs_no_kick(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	r.requeue = 3;
	assert_int_equal(csx_dpc_queue(dpc), 0);
	assert_int_equal(mock_kicks(0), 1);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 4);
	assert_int_equal(mock_kicks(0), 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r.cpu[i], 0);
	stats_are(dpc, 4, 0, 4, 0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

/* ...but goes to the back of the queue when others wait. */
static void requeue_from_inside_yields_to_waiting(void **state)
{
	struct rec r[3] = { { 0 } };
	struct csx_dpc *dpc[3];
	int order[8], n = 0, i;
	const int want[] = { 0, 1, 2, 0, 0 };

	(void)state;
	for (i = 0; i < 3; i++) {
		r[i].id = i;
		r[i].order = order;
		r[i].norder = &n;
		dpc[i] = new_dpc(&r[i]);
	}
	r[0].requeue = 2;
	for (i = 0; i < 3; i++)
		assert_int_equal(csx_dpc_queue(dpc[i]), 0);
	mock_run_dpcs(0);
	assert_int_equal(n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(order[i], want[i]);
	stats_are(dpc[0], 3, 0, 3, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(csx_dpc_destroy(dpc[i]), 0);
}

/* A requeue from inside, canceled before the run returns, never runs. */
static void requeue_from_inside_can_be_canceled(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	r.requeue = 1;
	r.cancel_requeue = true;
	assert_int_equal(csx_dpc_queue(dpc), 0);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 1);
	stats_are(dpc, 2, 0, 1, 1);
	assert_int_equal(csx_dpc_flush(dpc), 0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

static void destroy_or_flush_from_inside_deadlocks(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	r.try_self_destroy = true;
	assert_int_equal(csx_dpc_queue(dpc), 0);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 1);
	assert_int_equal(r.ret_destroy, -CSX_EDEADLK);
	assert_int_equal(r.ret_flush, -CSX_EDEADLK);
	assert_true(mock_log_contains("called from the DPC's own function"));
	/* Still alive and usable. */
	stats_are(dpc, 1, 0, 1, 0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

static void flush_waits_for_the_run(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	assert_int_equal(csx_dpc_queue(dpc), 0);
	/* The mock's executors run while flush sleeps. */
	assert_int_equal(csx_dpc_flush(dpc), 0);
	assert_int_equal(r.runs, 1);
	assert_true(mock_sleeps() > 0);
	assert_int_equal(csx_dpc_flush(dpc), 0);
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_dpc_flush(dpc), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

static void destroy_cancels_a_pending_run(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	assert_int_equal(csx_dpc_queue(dpc), 0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
	assert_int_equal(r.runs, 0);
	mock_log_clear();
	assert_int_equal(csx_dpc_queue(dpc), -CSX_EINVAL);
	assert_true(mock_log_contains(
		"csx_dpc_queue(): invalid or destroyed handle"));
	assert_int_equal(csx_dpc_cancel(dpc), -CSX_EINVAL);
	assert_int_equal(csx_dpc_flush(dpc), -CSX_EINVAL);
	assert_int_equal(csx_dpc_destroy(dpc), -CSX_EINVAL);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 0);
}

static void bad_arguments(void **state)
{
	struct csx_dpc_stats st;
	struct csx_dpc *dpc;
	struct rec r = { 0 };

	(void)state;
	mock_log_clear();
	assert_int_equal(csx_dpc_queue(NULL), -CSX_EINVAL);
	assert_true(mock_log_contains("csx_dpc_queue(): NULL handle"));
	assert_int_equal(csx_dpc_cancel(NULL), -CSX_EINVAL);
	assert_int_equal(csx_dpc_flush(NULL), -CSX_EINVAL);
	assert_int_equal(csx_dpc_stats(NULL, &st), -CSX_EINVAL);
	assert_int_equal(csx_dpc_destroy(NULL), 0);
	assert_int_equal(csx_dpc_create(NULL, dpc_fn, NULL), -CSX_EINVAL);
	assert_int_equal(csx_dpc_create(&dpc, NULL, NULL), -CSX_EINVAL);
	assert_null(dpc);
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_dpc_create(&dpc, dpc_fn, &r), -CSX_EDEADLK);
	mock_set_context(0);
	dpc = new_dpc(&r);
	assert_int_equal(csx_dpc_stats(dpc, NULL), -CSX_EINVAL);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
	mock_fail_alloc_after(0);
	assert_int_equal(csx_dpc_create(&dpc, dpc_fn, &r), -CSX_ENOMEM);
	assert_null(dpc);
	/* Destroying in atomic context is refused and leaves it intact. */
	assert_int_equal(csx_dpc_create(&dpc, dpc_fn, &r), 0);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_dpc_destroy(dpc), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

static void queue_from_isr_never_sleeps(void **state)
{
	struct rec r = { 0 };
	struct csx_dpc *dpc = new_dpc(&r);

	(void)state;
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_dpc_queue(dpc), 0);
	assert_int_equal(csx_dpc_queue(dpc), CSX_DPC_MERGED);
	assert_int_equal(csx_dpc_cancel(dpc), 1);
	assert_int_equal(csx_dpc_queue(dpc), 0);
	mock_set_context(0);
	assert_int_equal(mock_sleeps(), 0);
	assert_int_equal(csx_ctx_violations(), 0);
	mock_run_dpcs(0);
	assert_int_equal(r.runs, 1);
	assert_int_equal(csx_dpc_destroy(dpc), 0);
}

/* ---- Never on two CPUs at once --------------------------------------- */

struct nested {
	struct csx_dpc *dpc;
	int runs;
	int depth, max_depth;
};

static void nested_fn(struct csx_dpc *dpc, void *ctx)
{
	struct nested *n = ctx;

	n->runs++;
	if (++n->depth > n->max_depth)
		n->max_depth = n->depth;
	if (n->runs == 1) {
		/*
		 * Queued by a thread on CPU 1 while running on CPU 0, and
		 * CPU 1's executor runs now (another thread: the run itself
		 * requeueing is the executor's own business, next test).
		 */
		mock_set_tid(0x1001);
		mock_set_cpu(1);
		assert_int_equal(csx_dpc_queue(dpc), 0);
		mock_run_dpcs(1);
		mock_set_tid(0);
	}
	n->depth--;
}

static void a_running_dpc_is_deferred_elsewhere(void **state)
{
	struct nested n = { 0 };
	unsigned long kicks;

	(void)state;
	assert_int_equal(csx_dpc_create(&n.dpc, nested_fn, &n), 0);
	assert_int_equal(csx_dpc_queue(n.dpc), 0);
	mock_run_dpcs(0);
	assert_int_equal(n.runs, 1);
	assert_int_equal(n.max_depth, 1);
	/* CPU 1 put it back and asked to be run again. */
	kicks = mock_kicks(1);
	assert_int_equal(kicks, 2);
	mock_run_dpcs(1);
	assert_int_equal(n.runs, 2);
	assert_int_equal(n.max_depth, 1);
	assert_int_equal(csx_dpc_destroy(n.dpc), 0);
}

#define STRESS_DPCS 4
#define STRESS_QUEUES 3000

struct stress {
	struct csx_dpc *dpc[STRESS_DPCS];
	int inside[STRESS_DPCS];
	int overlap;
	int stop;
};

static struct stress stress;

static void stress_fn(struct csx_dpc *dpc, void *ctx)
{
	int *inside = ctx;

	(void)dpc;
	if (__atomic_add_fetch(inside, 1, __ATOMIC_ACQ_REL) != 1)
		__atomic_store_n(&stress.overlap, 1, __ATOMIC_RELAXED);
	sched_yield();
	__atomic_sub_fetch(inside, 1, __ATOMIC_ACQ_REL);
}

static void *stress_producer(void *arg)
{
	unsigned int cpu = (unsigned int)(uintptr_t)arg;
	int i;

	mock_set_cpu(cpu);
	for (i = 0; i < STRESS_QUEUES; i++) {
		int ret = csx_dpc_queue(stress.dpc[i % STRESS_DPCS]);

		if (ret != 0 && ret != CSX_DPC_MERGED)
			__atomic_store_n(&stress.overlap, 2, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *stress_executor(void *arg)
{
	unsigned int cpu = (unsigned int)(uintptr_t)arg;

	while (!__atomic_load_n(&stress.stop, __ATOMIC_ACQUIRE)) {
		mock_run_dpcs(cpu);
		sched_yield();
	}
	return NULL;
}

static void concurrent_queue_and_run(void **state)
{
	pthread_t prod[2], exec[2];
	struct csx_dpc_stats st;
	int i;

	(void)state;
	for (i = 0; i < STRESS_DPCS; i++) {
		stress.inside[i] = 0;
		assert_int_equal(csx_dpc_create(&stress.dpc[i], stress_fn,
						&stress.inside[i]),
				 0);
	}
	stress.overlap = 0;
	stress.stop = 0;
	for (i = 0; i < 2; i++) {
		pthread_create(&exec[i], NULL, stress_executor,
			       (void *)(uintptr_t)i);
		pthread_create(&prod[i], NULL, stress_producer,
			       (void *)(uintptr_t)i);
	}
	for (i = 0; i < 2; i++)
		pthread_join(prod[i], NULL);
	__atomic_store_n(&stress.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(exec[i], NULL);
	for (i = 0; i < STRESS_DPCS; i++) {
		/* Flush lets the mock's executors drain what is left. */
		assert_int_equal(csx_dpc_flush(stress.dpc[i]), 0);
		assert_int_equal(csx_dpc_stats(stress.dpc[i], &st), 0);
		/* Every queue call was either queued or merged... */
		assert_int_equal(st.queued + st.merged,
				 2 * STRESS_QUEUES / STRESS_DPCS);
		/* ...and every queued run happened exactly once. */
		assert_int_equal(st.runs, st.queued);
		assert_int_equal(csx_dpc_destroy(stress.dpc[i]), 0);
	}
	assert_int_equal(stress.overlap, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(runs_once_on_the_queuing_cpu),
		UNIT_TEST(pending_queue_merges),
		UNIT_TEST(runs_in_fifo_order_with_one_kick),
		UNIT_TEST(run_batch_runs_one_batch_in_order),
		UNIT_TEST(cancel_prevents_the_run),
		UNIT_TEST(requeue_after_cancel_runs_where_it_sits),
		UNIT_TEST(requeue_from_inside_runs_again),
		UNIT_TEST(requeue_from_inside_needs_no_kick),
		UNIT_TEST(requeue_from_inside_yields_to_waiting),
		UNIT_TEST(requeue_from_inside_can_be_canceled),
		UNIT_TEST(destroy_or_flush_from_inside_deadlocks),
		UNIT_TEST(flush_waits_for_the_run),
		UNIT_TEST(destroy_cancels_a_pending_run),
		UNIT_TEST(bad_arguments),
		UNIT_TEST(queue_from_isr_never_sleeps),
		UNIT_TEST(a_running_dpc_is_deferred_elsewhere),
		UNIT_TEST(concurrent_queue_and_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
