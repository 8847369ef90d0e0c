/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The sleeping-call checker, memory allocation and threads.
 *
 * A sleeping call from ISR, DPC or atomic context must fail with
 * -CSX_EDEADLK without reaching a sleeping hook, be logged with the
 * function's name and counted, and stop the program in strict mode.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

struct ctx_case {
	unsigned int bits;
	const char *name;
};

static const struct ctx_case ctx_cases[] = {
	{ CSX_OS_CTX_ISR, "ISR" },
	{ CSX_OS_CTX_DPC, "DPC" },
	{ CSX_OS_CTX_ATOMIC, "atomic" },
};

static void predicates_follow_context(void **state)
{
	(void)state;
	assert_false(csx_in_isr() || csx_in_dpc() || csx_in_atomic());
	mock_set_context(CSX_OS_CTX_ISR);
	assert_true(csx_in_isr() && csx_in_atomic() && !csx_in_dpc());
	mock_set_context(CSX_OS_CTX_DPC);
	assert_true(csx_in_dpc() && csx_in_atomic() && !csx_in_isr());
	mock_set_context(CSX_OS_CTX_ATOMIC);
	assert_true(csx_in_atomic() && !csx_in_dpc() && !csx_in_isr());
	mock_set_context(0);
}

/* One sleeping call made in each context; checks the common verdict. */
static void expect_refused(int (*call)(void *), void *arg, const char *func)
{
	size_t i;
	char line[160];

	for (i = 0; i < sizeof(ctx_cases) / sizeof(ctx_cases[0]); i++) {
		unsigned long v = csx_ctx_violations();
		unsigned long sleeps = mock_sleeps();

		mock_log_clear();
		mock_set_context(ctx_cases[i].bits);
		assert_int_equal(call(arg), -CSX_EDEADLK);
		mock_set_context(0);
		assert_int_equal(csx_ctx_violations(), v + 1);
		assert_int_equal(mock_sleeps(), sleeps);
		snprintf(line, sizeof(line),
			 "%s() may sleep but was called from %s context", func,
			 ctx_cases[i].name);
		assert_true(mock_log_contains(line));
	}
}

static int call_sleep(void *arg)
{
	(void)arg;
	return csx_thread_sleep(1000);
}

static int call_mutex_lock(void *arg)
{
	return csx_mutex_lock(arg);
}

static int call_event_wait(void *arg)
{
	return csx_event_wait(arg, 1000);
}

static int call_sem_down(void *arg)
{
	return csx_sem_down(arg, CSX_WAIT_FOREVER);
}

static int call_rwlock_write(void *arg)
{
	return csx_rwlock_write(arg);
}

static int call_mutex_create(void *arg)
{
	struct csx_mutex *m = NULL;
	int ret = csx_mutex_create(&m);

	(void)arg;
	assert_null(m);
	return ret;
}

static int body_zero(void *arg)
{
	(void)arg;
	return 0;
}

static int call_thread_create(void *arg)
{
	struct csx_thread *t = (struct csx_thread *)1;
	int ret = csx_thread_create(&t, "x", body_zero, NULL);

	(void)arg;
	assert_null(t);
	return ret;
}

static void sleeping_calls_refused_in_atomic(void **state)
{
	struct csx_mutex *m;
	struct csx_event *ev;
	struct csx_sem *sem;
	struct csx_rwlock *rw;

	(void)state;
	assert_int_equal(csx_mutex_create(&m), 0);
	assert_int_equal(csx_event_create(&ev, CSX_EVENT_AUTO, false), 0);
	assert_int_equal(csx_sem_create(&sem, 0), 0);
	assert_int_equal(csx_rwlock_create(&rw), 0);

	expect_refused(call_sleep, NULL, "csx_thread_sleep");
	expect_refused(call_mutex_lock, m, "csx_mutex_lock");
	expect_refused(call_event_wait, ev, "csx_event_wait");
	expect_refused(call_sem_down, sem, "csx_sem_down");
	expect_refused(call_rwlock_write, rw, "csx_rwlock_write");
	expect_refused(call_mutex_create, NULL, "csx_mutex_create");
	expect_refused(call_thread_create, NULL, "csx_thread_create");

	/* Nothing was taken by the refused calls. */
	assert_int_equal(csx_mutex_destroy(m), 0);
	assert_int_equal(csx_rwlock_destroy(rw), 0);
	assert_int_equal(csx_event_destroy(ev), 0);
	assert_int_equal(csx_sem_destroy(sem), 0);
}

static void held_spinlock_makes_caller_atomic(void **state)
{
	struct csx_spinlock *s;
	struct csx_mutex *m;

	(void)state;
	assert_int_equal(csx_spin_create(&s), 0);
	assert_int_equal(csx_mutex_create(&m), 0);
	csx_spin_lock(s);
	assert_true(csx_in_atomic());
	assert_int_equal(csx_mutex_lock(m), -CSX_EDEADLK);
	assert_true(mock_log_contains("csx_mutex_lock() may sleep but was "
				      "called from atomic context"));
	csx_spin_unlock(s);
	assert_false(csx_in_atomic());
	assert_int_equal(csx_mutex_lock(m), 0);
	assert_int_equal(csx_mutex_unlock(m), 0);
	assert_int_equal(csx_mutex_destroy(m), 0);
	assert_int_equal(csx_spin_destroy(s), 0);
}

static void strict_mode_calls_bug(void **state)
{
	(void)state;
	assert_false(csx_ctx_set_strict(true));
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_thread_sleep(10), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(mock_bugs(), 1);
	assert_true(csx_ctx_set_strict(false));
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_thread_sleep(10), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(mock_bugs(), 1);
}

static void yield_in_atomic_is_a_reported_noop(void **state)
{
	unsigned long v = csx_ctx_violations();

	(void)state;
	mock_set_context(CSX_OS_CTX_DPC);
	csx_thread_yield();
	mock_set_context(0);
	assert_int_equal(mock_sleeps(), 0);
	assert_int_equal(csx_ctx_violations(), v + 1);
	csx_thread_yield();
	assert_int_equal(mock_sleeps(), 1);
}

/* ---- Memory ------------------------------------------------------------- */

static void alloc_flags_and_context(void **state)
{
	unsigned char *p;
	unsigned long v;
	size_t i;

	(void)state;
	assert_null(csx_alloc(0, 0));
	assert_null(csx_alloc(8, 0x80));
	p = csx_alloc(64, CSX_MEM_ZERO);
	assert_non_null(p);
	for (i = 0; i < 64; i++)
		assert_int_equal(p[i], 0);
	csx_free(p);

	/* Atomic allocations work in ISR context; sleeping ones do not. */
	mock_set_context(CSX_OS_CTX_ISR);
	p = csx_alloc(32, CSX_MEM_ATOMIC);
	assert_non_null(p);
	csx_free(p);
	v = csx_ctx_violations();
	assert_null(csx_alloc(32, 0));
	mock_set_context(0);
	assert_int_equal(csx_ctx_violations(), v + 1);
	assert_true(mock_log_contains(
		"csx_alloc() may sleep but was called from ISR context"));

	csx_free(NULL);
	mock_fail_alloc_after(0);
	assert_null(csx_alloc(16, 0));
	assert_int_equal(csx__live_count(CSX__T_ALLOC), 0);
}

/* ---- Threads ------------------------------------------------------------ */

static int body_return_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

static void thread_exit_code_reaches_join(void **state)
{
	struct csx_thread *t;
	int code = 0;

	(void)state;
	assert_int_equal(csx_thread_create(&t, "a-rather-long-thread-name",
					   body_return_arg, (void *)42),
			 0);
	assert_int_equal(csx_thread_join(t, &code), 0);
	assert_int_equal(code, 42);
	/* Joined handles are gone. */
	assert_int_equal(csx_thread_join(t, NULL), -CSX_EINVAL);
	assert_int_equal(csx_thread_join(NULL, NULL), -CSX_EINVAL);
}

struct self_join {
	struct csx_thread *self;
	int ret;
};

static int body_join_self(void *arg)
{
	struct self_join *sj = arg;
	struct csx_thread *t;

	while (!(t = __atomic_load_n(&sj->self, __ATOMIC_ACQUIRE)))
		;
	sj->ret = csx_thread_join(t, NULL);
	return 0;
}

static void thread_join_self_deadlocks(void **state)
{
	struct self_join sj = { NULL, 0 };
	struct csx_thread *t;

	(void)state;
	assert_int_equal(csx_thread_create(&t, "selfjoin", body_join_self, &sj),
			 0);
	__atomic_store_n(&sj.self, t, __ATOMIC_RELEASE);
	assert_int_equal(csx_thread_join(t, NULL), 0);
	assert_int_equal(sj.ret, -CSX_EDEADLK);
}

static void thread_create_arguments_and_enomem(void **state)
{
	struct csx_thread *t;
	long n;
	int ret;

	(void)state;
	assert_int_equal(csx_thread_create(NULL, "x", body_zero, NULL),
			 -CSX_EINVAL);
	assert_int_equal(csx_thread_create(&t, NULL, body_zero, NULL),
			 -CSX_EINVAL);
	assert_int_equal(csx_thread_create(&t, "x", NULL, NULL), -CSX_EINVAL);
	for (n = 0;; n++) {
		long live = mock_live_allocs();

		mock_fail_alloc_after(n);
		ret = csx_thread_create(&t, "x", body_zero, NULL);
		mock_fail_alloc_after(-1);
		if (ret == 0)
			break;
		assert_int_equal(ret, -CSX_ENOMEM);
		assert_null(t);
		assert_int_equal(mock_live_allocs(), live);
	}
	assert_true(n > 0);
	assert_int_equal(csx_thread_join(t, NULL), 0);
}

static void sleep_time_and_cpus(void **state)
{
	uint64_t t0;

	(void)state;
	t0 = csx_time_ns();
	assert_int_equal(csx_thread_sleep(5000), 0);
	assert_true(csx_time_ns() >= t0 + 5000);
	assert_int_equal(csx_cpu_count(), 2);
	mock_set_cpu(1);
	assert_int_equal(csx_cpu_current(), 1);
	mock_set_cpu(0);
	assert_int_equal(csx_thread_sleep(0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(predicates_follow_context),
		UNIT_TEST(sleeping_calls_refused_in_atomic),
		UNIT_TEST(held_spinlock_makes_caller_atomic),
		UNIT_TEST(strict_mode_calls_bug),
		UNIT_TEST(yield_in_atomic_is_a_reported_noop),
		UNIT_TEST(alloc_flags_and_context),
		UNIT_TEST(thread_exit_code_reaches_join),
		UNIT_TEST(thread_join_self_deadlocks),
		UNIT_TEST(thread_create_arguments_and_enomem),
		UNIT_TEST(sleep_time_and_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
