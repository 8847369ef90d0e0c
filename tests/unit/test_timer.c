/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Timers: arming, callbacks in DPC context, stop from the callback without
 * waiting on itself, destroy rules and bad handles.
 */
#include "unit.h"

struct tstate {
	int fired;
	bool in_dpc;
	int stop_ret;
	int destroy_ret;
	bool stop_inside;
	bool destroy_inside;
	bool waited;
};

static void timer_fn(struct csx_timer *t, void *ctx)
{
	struct tstate *s = ctx;

	s->fired++;
	s->in_dpc = csx_in_dpc();
	if (s->stop_inside) {
		s->stop_ret = csx_timer_stop(t);
		s->waited = mock_timer_last_stop_waited();
	}
	if (s->destroy_inside)
		s->destroy_ret = csx_timer_destroy(t);
}

static void one_shot_fires_in_dpc_context(void **state)
{
	struct tstate s = { 0 };
	struct csx_timer *t;

	(void)state;
	assert_int_equal(csx_timer_create(&t, timer_fn, &s), 0);
	assert_false(mock_timer_armed(t));
	assert_int_equal(csx_timer_start(t, 5000, 0), 0);
	assert_true(mock_timer_armed(t));
	assert_int_equal(mock_timer_delay(t), 5000);
	mock_timer_fire(t);
	assert_int_equal(s.fired, 1);
	assert_true(s.in_dpc);
	assert_false(mock_timer_armed(t));
	assert_int_equal(csx_timer_stop(t), 0);
	assert_int_equal(csx_timer_destroy(t), 0);
}

static void stop_reports_whether_armed(void **state)
{
	struct tstate s = { 0 };
	struct csx_timer *t;

	(void)state;
	assert_int_equal(csx_timer_create(&t, timer_fn, &s), 0);
	assert_int_equal(csx_timer_start(t, 100, 100), 0);
	assert_int_equal(mock_timer_period(t), 100);
	assert_int_equal(csx_timer_stop(t), 1);
	/* From a thread, stop waits for a running callback. */
	assert_true(mock_timer_last_stop_waited());
	assert_int_equal(csx_timer_stop(t), 0);
	assert_int_equal(s.fired, 0);
	assert_int_equal(csx_timer_destroy(t), 0);
}

static void stop_from_own_callback_does_not_wait(void **state)
{
	struct tstate s = { 0 };
	struct csx_timer *t;

	(void)state;
	assert_int_equal(csx_timer_create(&t, timer_fn, &s), 0);
	s.stop_inside = true;
	assert_int_equal(csx_timer_start(t, 10, 10), 0);
	mock_timer_fire(t);
	assert_int_equal(s.stop_ret, 1);
	assert_false(s.waited);
	assert_false(mock_timer_armed(t));
	assert_int_equal(csx_ctx_violations(), 0);
	assert_int_equal(csx_timer_destroy(t), 0);
}

static void destroy_from_own_callback_is_refused(void **state)
{
	struct tstate s = { 0 };
	struct csx_timer *t;

	(void)state;
	assert_int_equal(csx_timer_create(&t, timer_fn, &s), 0);
	s.destroy_inside = true;
	assert_int_equal(csx_timer_start(t, 10, 0), 0);
	mock_timer_fire(t);
	assert_int_equal(s.destroy_ret, -CSX_EDEADLK);
	assert_int_equal(csx_timer_destroy(t), 0);
}

static void other_timer_stop_in_dpc_is_refused(void **state)
{
	struct tstate s = { 0 };
	struct csx_timer *t;

	(void)state;
	assert_int_equal(csx_timer_create(&t, timer_fn, &s), 0);
	assert_int_equal(csx_timer_start(t, 10, 0), 0);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_timer_stop(t), -CSX_EDEADLK);
	assert_int_equal(csx_timer_destroy(t), -CSX_EDEADLK);
	/* Arming from DPC context is fine, from an ISR it is not. */
	assert_int_equal(csx_timer_start(t, 20, 0), 0);
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_timer_start(t, 30, 0), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(mock_timer_delay(t), 20);
	assert_int_equal(csx_timer_destroy(t), 0);
}

static void destroy_stops_an_armed_timer(void **state)
{
	struct tstate s = { 0 };
	struct csx_timer *t;

	(void)state;
	assert_int_equal(csx_timer_create(&t, timer_fn, &s), 0);
	assert_int_equal(csx_timer_start(t, 10, 10), 0);
	/* The mock flags destroying an armed back-end timer as an error. */
	assert_int_equal(csx_timer_destroy(t), 0);
	assert_int_equal(csx_timer_start(t, 10, 0), -CSX_EINVAL);
	assert_int_equal(csx_timer_stop(t), -CSX_EINVAL);
	assert_int_equal(csx_timer_destroy(t), -CSX_EINVAL);
}

static void bad_arguments(void **state)
{
	struct tstate s = { 0 };
	struct csx_timer *t;
	long n;
	int ret;

	(void)state;
	assert_int_equal(csx_timer_create(NULL, timer_fn, &s), -CSX_EINVAL);
	assert_int_equal(csx_timer_create(&t, NULL, &s), -CSX_EINVAL);
	assert_null(t);
	assert_int_equal(csx_timer_start(NULL, 1, 0), -CSX_EINVAL);
	assert_int_equal(csx_timer_stop(NULL), -CSX_EINVAL);
	assert_int_equal(csx_timer_destroy(NULL), 0);
	for (n = 0;; n++) {
		long live = mock_live_allocs();

		mock_fail_alloc_after(n);
		ret = csx_timer_create(&t, timer_fn, &s);
		mock_fail_alloc_after(-1);
		if (ret == 0)
			break;
		assert_int_equal(ret, -CSX_ENOMEM);
		assert_null(t);
		assert_int_equal(mock_live_allocs(), live);
	}
	assert_int_equal(n, 2);
	assert_int_equal(csx_timer_destroy(t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(one_shot_fires_in_dpc_context),
		UNIT_TEST(stop_reports_whether_armed),
		UNIT_TEST(stop_from_own_callback_does_not_wait),
		UNIT_TEST(destroy_from_own_callback_is_refused),
		UNIT_TEST(other_timer_stop_in_dpc_is_refused),
		UNIT_TEST(destroy_stops_an_armed_timer),
		UNIT_TEST(bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
