// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Timers: one-shot and periodic expiry, stop semantics, ordering, and the
 * callback's DPC context.
 *
 * Ordering cases start their timers from inside a DPC: the starts then
 * happen back to back on one CPU, which is what "started at the same time,
 * in this order" means for a driver.
 */
#include "csx_test_suites.h"

#define N_ORDERED 4
#define ORDER_GAP_NS (50 * CSX_NSEC_PER_MSEC)
#define ORDER_ATTEMPTS 3
#define PERIOD_NS (2 * CSX_NSEC_PER_MSEC)
#define ONE_HOUR_NS (3600 * CSX_NSEC_PER_SEC)

struct timer_slot {
	struct csx_timer *timer;
	long fired;
	long order; /* 1-based position in the firing sequence */
};

static struct timer_slot slots[N_ORDERED];
static long fire_seq;

static void count_fire(struct csx_timer *timer, void *ctx)
{
	struct timer_slot *slot = ctx;

	csx_test_inc(&slot->fired);
	if (!csx_test_load(&slot->order))
		csx_test_store(&slot->order, csx_test_inc(&fire_seq));
}

static void create_slots(unsigned int n, int *rc)
{
	unsigned int i;

	csx_test_memset(slots, 0, sizeof(slots));
	csx_test_store(&fire_seq, 0);
	*rc = 0;
	for (i = 0; i < n && !*rc; i++)
		*rc = csx_timer_create(&slots[i].timer, count_fire, &slots[i]);
}

static void destroy_slots(void)
{
	unsigned int i;

	for (i = 0; i < N_ORDERED; i++)
		csx_timer_destroy(slots[i].timer);
}

CSX_TEST(timer_one_shot_fires_once)
{
	struct timer_slot *s = &slots[0];
	int rc;

	create_slots(1, &rc);
	CSX_CHECK_OK(rc);
	CSX_CHECK_RC(csx_timer_stop(s->timer), 0);
	CSX_CHECK_OK(csx_timer_start(s->timer, 5 * CSX_NSEC_PER_MSEC, 0));
	CSX_CHECK_EVENTUALLY(csx_test_load(&s->fired) >= 1);
	csx_test_settle();
	CSX_CHECK_EQ(csx_test_load(&s->fired), 1);
	/* Fired and not periodic: no longer armed. */
	CSX_CHECK_RC(csx_timer_stop(s->timer), 0);
	/* It can be used again. */
	CSX_CHECK_OK(csx_timer_start(s->timer, 1000, 0));
	CSX_CHECK_EVENTUALLY(csx_test_load(&s->fired) >= 2);
	destroy_slots();
}

CSX_TEST(timer_periodic_until_stopped)
{
	struct timer_slot *s = &slots[0];
	long at_stop;
	int rc;

	create_slots(1, &rc);
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_timer_start(s->timer, PERIOD_NS, PERIOD_NS));
	CSX_CHECK_EVENTUALLY(csx_test_load(&s->fired) >= 5);
	CSX_CHECK_RC(csx_timer_stop(s->timer), 1);
	at_stop = csx_test_load(&s->fired);
	csx_test_settle();
	CSX_CHECK_EQ(csx_test_load(&s->fired), at_stop);
	CSX_CHECK_RC(csx_timer_stop(s->timer), 0);
	destroy_slots();
}

CSX_TEST(timer_rearm_replaces_schedule)
{
	struct timer_slot *s = &slots[0];
	long before;
	int rc;

	create_slots(1, &rc);
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_timer_start(s->timer, ONE_HOUR_NS, 0));
	CSX_CHECK_OK(csx_timer_start(s->timer, CSX_NSEC_PER_MSEC, 0));
	CSX_CHECK_EVENTUALLY(csx_test_load(&s->fired) >= 1);
	/* The hour-long schedule is gone, not merely overtaken. */
	CSX_CHECK_RC(csx_timer_stop(s->timer), 0);
	/* And a periodic timer re-armed as one-shot stops repeating. */
	CSX_CHECK_OK(csx_timer_start(s->timer, PERIOD_NS, PERIOD_NS));
	CSX_CHECK_EVENTUALLY(csx_test_load(&s->fired) >= 3);
	CSX_CHECK_OK(csx_timer_start(s->timer, ONE_HOUR_NS, 0));
	/* One expiry may already have been running when it was re-armed. */
	before = csx_test_load(&s->fired);
	csx_test_settle();
	CSX_CHECK_LE(csx_test_load(&s->fired), before + 1);
	CSX_CHECK_RC(csx_timer_stop(s->timer), 1);
	destroy_slots();
}

static long ctx_dpc, ctx_isr, ctx_atomic, ctx_fired;

static void record_timer_context(struct csx_timer *timer, void *ctx)
{
	csx_test_store(&ctx_dpc, csx_in_dpc());
	csx_test_store(&ctx_isr, csx_in_isr());
	csx_test_store(&ctx_atomic, csx_in_atomic());
	csx_test_inc(&ctx_fired);
}

CSX_TEST(timer_callback_in_dpc_context)
{
	struct csx_timer *t;

	csx_test_store(&ctx_fired, 0);
	CSX_CHECK_OK(csx_timer_create(&t, record_timer_context, NULL));
	CSX_CHECK_OK(csx_timer_start(t, 1000, 0));
	CSX_CHECK_EVENTUALLY(csx_test_load(&ctx_fired) == 1);
	CSX_CHECK_OK(csx_timer_destroy(t));
	CSX_CHECK_EQ(csx_test_load(&ctx_dpc), 1);
	CSX_CHECK_EQ(csx_test_load(&ctx_isr), 0);
	CSX_CHECK_EQ(csx_test_load(&ctx_atomic), 1);
}

static long self_stop_rc, self_fired;

static void stop_self_on_third(struct csx_timer *timer, void *ctx)
{
	if (csx_test_inc(&self_fired) == 3)
		csx_test_store(&self_stop_rc, csx_timer_stop(timer));
}

CSX_TEST(timer_stops_itself)
{
	struct csx_timer *t;

	csx_test_store(&self_fired, 0);
	csx_test_store(&self_stop_rc, 100);
	CSX_CHECK_OK(csx_timer_create(&t, stop_self_on_third, NULL));
	CSX_CHECK_OK(csx_timer_start(t, PERIOD_NS, PERIOD_NS));
	CSX_CHECK_EVENTUALLY(csx_test_load(&self_fired) >= 3);
	csx_test_settle();
	CSX_CHECK_EQ(csx_test_load(&self_fired), 3);
	/* Periodic, so still armed when its callback stopped it. */
	CSX_CHECK_RC(csx_test_load(&self_stop_rc), 1);
	CSX_CHECK_RC(csx_timer_stop(t), 0);
	CSX_CHECK_OK(csx_timer_destroy(t));
}

static long slow_started, slow_finished, stop_called;

static void slow_callback(struct csx_timer *timer, void *ctx)
{
	csx_test_linger(&slow_started, &stop_called, &slow_finished);
}

CSX_TEST(timer_stop_waits_for_callback)
{
	struct csx_timer *t;
	long finished_at_return;
	int rc;

	csx_test_store(&slow_started, 0);
	csx_test_store(&slow_finished, 0);
	csx_test_store(&stop_called, 0);
	CSX_CHECK_OK(csx_timer_create(&t, slow_callback, NULL));
	CSX_CHECK_OK(csx_timer_start(t, 1000, 0));
	CSX_CHECK_EVENTUALLY(csx_test_load(&slow_started));
	csx_test_store(&stop_called, 1);
	rc = csx_timer_stop(t);
	finished_at_return = csx_test_load(&slow_finished);
	CSX_CHECK_OK(csx_timer_destroy(t));
	CSX_CHECK(rc == 0 || rc == 1);
	CSX_CHECK_EQ(finished_at_return, 1);
}

/* Destroy disarms a running periodic timer: no callback after it returns. */
CSX_TEST(timer_destroy_armed)
{
	struct csx_timer *t;
	long at_destroy;

	csx_test_store(&ctx_fired, 0);
	CSX_CHECK_OK(csx_timer_create(&t, record_timer_context, NULL));
	CSX_CHECK_OK(csx_timer_start(t, PERIOD_NS, PERIOD_NS));
	CSX_CHECK_EVENTUALLY(csx_test_load(&ctx_fired) >= 2);
	CSX_CHECK_OK(csx_timer_destroy(t));
	at_destroy = csx_test_load(&ctx_fired);
	csx_test_settle();
	CSX_CHECK_EQ(csx_test_load(&ctx_fired), at_destroy);
	/* And one that never fired goes away quietly too. */
	CSX_CHECK_OK(csx_timer_create(&t, record_timer_context, NULL));
	CSX_CHECK_OK(csx_timer_start(t, ONE_HOUR_NS, 0));
	CSX_CHECK_OK(csx_timer_destroy(t));
	CSX_CHECK_OK(csx_timer_destroy(NULL));
}

/* ---- Ordering ------------------------------------------------------------- */

static uint64_t start_delay[N_ORDERED];
static long starts_failed;
static uint64_t start_span_ns;

/* Start every slot's timer back to back, in slot order. */
static void start_all(struct csx_dpc *dpc, void *ctx)
{
	uint64_t t0 = csx_time_ns();
	unsigned int i;

	for (i = 0; i < N_ORDERED; i++)
		if (csx_timer_start(slots[i].timer, start_delay[i], 0))
			csx_test_inc(&starts_failed);
	start_span_ns = csx_time_ns() - t0;
}

/*
 * Run one ordering round: start the timers from a DPC with the given
 * delays, wait for all, and leave each slot's firing position in order.
 */
static void run_ordering_round(void)
{
	struct csx_dpc *dpc;
	unsigned int i;
	int rc;

	create_slots(N_ORDERED, &rc);
	CSX_CHECK_OK(rc);
	csx_test_store(&starts_failed, 0);
	CSX_CHECK_OK(csx_dpc_create(&dpc, start_all, NULL));
	CSX_CHECK_RC(csx_dpc_queue(dpc), 0);
	CSX_CHECK_OK(csx_dpc_flush(dpc));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
	CSX_CHECK_EQ(csx_test_load(&starts_failed), 0);
	for (i = 0; i < N_ORDERED; i++)
		CSX_CHECK_EVENTUALLY(csx_test_load(&slots[i].fired) == 1);
}

CSX_TEST(timer_fire_in_delay_order)
{
	unsigned int i, attempt;

	/* Longest first, so start order and delay order disagree. */
	for (i = 0; i < N_ORDERED; i++)
		start_delay[i] = (N_ORDERED - i) * ORDER_GAP_NS;
	for (attempt = 0; attempt < ORDER_ATTEMPTS; attempt++) {
		CSX_STEP(run_ordering_round());
		/* Starts spread over a gap would make the order ambiguous. */
		if (start_span_ns < ORDER_GAP_NS / 2)
			break;
		csx_test_note("starts took %llu ns, retrying",
			      (unsigned long long)start_span_ns);
		destroy_slots();
	}
	for (i = 0; i < N_ORDERED; i++)
		CSX_CHECK_EQ(csx_test_load(&slots[i].order), N_ORDERED - i);
	destroy_slots();
}

CSX_TEST(timer_same_delay_fire_in_start_order)
{
	unsigned int i;

	for (i = 0; i < N_ORDERED; i++)
		start_delay[i] = 5 * CSX_NSEC_PER_MSEC;
	CSX_STEP(run_ordering_round());
	for (i = 0; i < N_ORDERED; i++)
		CSX_CHECK_EQ(csx_test_load(&slots[i].order), i + 1);
	destroy_slots();
}

CSX_TEST(timer_bad_arguments)
{
	static uint64_t foreign[64];
	struct csx_timer *t;

	CSX_CHECK_RC(csx_timer_create(NULL, count_fire, NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_timer_create(&t, NULL, NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_timer_start(NULL, 1000, 0), -CSX_EINVAL);
	CSX_CHECK_RC(csx_timer_stop(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_timer_start((struct csx_timer *)foreign, 1000, 0),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_timer_destroy((struct csx_timer *)foreign),
		     -CSX_EINVAL);
}

static const struct csx_test_case timer_cases[] = {
	CSX_TEST_CASE(timer_one_shot_fires_once),
	CSX_TEST_CASE(timer_periodic_until_stopped),
	CSX_TEST_CASE(timer_rearm_replaces_schedule),
	CSX_TEST_CASE(timer_callback_in_dpc_context),
	CSX_TEST_CASE(timer_stops_itself),
	CSX_TEST_CASE(timer_stop_waits_for_callback),
	CSX_TEST_CASE(timer_destroy_armed),
	CSX_TEST_CASE(timer_fire_in_delay_order),
	CSX_TEST_CASE(timer_same_delay_fire_in_start_order),
	CSX_TEST_CASE_MISUSE(timer_bad_arguments),
};
CSX_TEST_SUITE(timer, timer_cases);
