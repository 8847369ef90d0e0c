// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Threads, sleeping, CPUs and monotonic time.
 */
#include "csx_test_suites.h"

#define N_THREADS 4

struct exit_arg {
	int value;
	long ran;
};

static int return_value(void *p)
{
	struct exit_arg *a = p;

	csx_test_inc(&a->ran);
	return a->value;
}

CSX_TEST(thread_join_returns_exit_code)
{
	static struct exit_arg args[N_THREADS];
	struct csx_test_workers w;
	unsigned int i;
	int rc;

	for (i = 0; i < N_THREADS; i++) {
		args[i].value = (int)(i * 7 + 3);
		args[i].ran = 0;
	}
	rc = csx_test_workers_start(&w, N_THREADS, return_value, args,
				    sizeof(args[0]));
	csx_test_workers_join(&w);
	CSX_CHECK_OK(rc);
	for (i = 0; i < N_THREADS; i++) {
		CSX_CHECK_OK(w.join_rc[i]);
		CSX_CHECK_EQ(w.exit_code[i], args[i].value);
		CSX_CHECK_EQ(args[i].ran, 1);
	}
}

CSX_TEST(thread_join_null_exit_code)
{
	static struct exit_arg arg = { .value = -CSX_EIO };
	struct csx_thread *t = NULL;

	CSX_CHECK_OK(
		csx_thread_create(&t, "csx-test-null", return_value, &arg));
	CSX_CHECK_NOT_NULL(t);
	CSX_CHECK_OK(csx_thread_join(t, NULL));
	CSX_CHECK_EQ(arg.ran, 1);
}

/* Bits a thread body reports about its context; all must be clear. */
#define SAW_ISR 0x1
#define SAW_DPC 0x2
#define SAW_ATOMIC 0x4
#define SAW_BAD_CPU 0x8

static int report_context(void *unused)
{
	int saw = 0;

	if (csx_in_isr())
		saw |= SAW_ISR;
	if (csx_in_dpc())
		saw |= SAW_DPC;
	if (csx_in_atomic())
		saw |= SAW_ATOMIC;
	if (csx_cpu_current() >= csx_cpu_count())
		saw |= SAW_BAD_CPU;
	return saw;
}

CSX_TEST(thread_context_is_thread)
{
	struct csx_test_workers w;
	int rc;

	CSX_CHECK_EQ(report_context(NULL), 0);
	rc = csx_test_workers_start(&w, 2, report_context, NULL, 0);
	csx_test_workers_join(&w);
	CSX_CHECK_OK(rc);
	CSX_CHECK_EQ(w.exit_code[0], 0);
	CSX_CHECK_EQ(w.exit_code[1], 0);
}

/* The thread under test, published once csx_thread_create() returned. */
static struct csx_thread *self_handle;
static struct csx_event *self_published;

static int join_self(void *unused)
{
	int rc = csx_event_wait(self_published, CSX_TEST_PATIENCE_NS);

	if (rc)
		return 1000 - rc;
	return csx_thread_join(self_handle, NULL);
}

CSX_TEST(thread_join_self_deadlk)
{
	int code = 0;

	CSX_CHECK_OK(
		csx_event_create(&self_published, CSX_EVENT_MANUAL, false));
	CSX_CHECK_OK(csx_thread_create(&self_handle, "csx-test-self", join_self,
				       NULL));
	CSX_CHECK_OK(csx_event_set(self_published));
	CSX_CHECK_OK(csx_thread_join(self_handle, &code));
	CSX_CHECK_OK(csx_event_destroy(self_published));
	CSX_CHECK_RC(code, -CSX_EDEADLK);
}

CSX_TEST(thread_bad_arguments)
{
	struct csx_thread *t = (struct csx_thread *)&t;

	CSX_CHECK_RC(csx_thread_create(NULL, "x", return_value, NULL),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_thread_create(&t, NULL, return_value, NULL),
		     -CSX_EINVAL);
	CSX_CHECK_NULL(t);
	t = (struct csx_thread *)&t;
	CSX_CHECK_RC(csx_thread_create(&t, "x", NULL, NULL), -CSX_EINVAL);
	CSX_CHECK_NULL(t);
	CSX_CHECK_RC(csx_thread_join(NULL, NULL), -CSX_EINVAL);
}

CSX_TEST(thread_sleep_lasts)
{
	static const uint64_t durations[] = { 0, 1000, 2 * CSX_NSEC_PER_MSEC,
					      10 * CSX_NSEC_PER_MSEC };
	unsigned int i;

	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		uint64_t start = csx_time_ns();

		CSX_CHECK_OK(csx_thread_sleep(durations[i]));
		/* "At least": a lower bound, never a speed requirement. */
		CSX_CHECK_GE(csx_time_ns() - start, durations[i]);
	}
	csx_thread_yield();
}

static int read_clock(void *unused)
{
	uint64_t last = csx_time_ns();
	unsigned int i;

	for (i = 0; i < 20000; i++) {
		uint64_t now = csx_time_ns();

		if (now < last)
			return 1;
		last = now;
	}
	return 0;
}

CSX_TEST(time_monotonic)
{
	struct csx_test_workers w;
	uint64_t t0 = csx_time_ns();
	int rc;

	rc = csx_test_workers_start(&w, 3, read_clock, NULL, 0);
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(read_clock(NULL));
	CSX_CHECK_GE(csx_time_ns(), t0);
	CSX_CHECK_OK(csx_thread_sleep(CSX_NSEC_PER_MSEC));
	CSX_CHECK_GT(csx_time_ns(), t0);
}

CSX_TEST(cpu_numbers)
{
	unsigned int n = csx_cpu_count();
	unsigned int i;

	CSX_CHECK_GE(n, 1);
	for (i = 0; i < 100; i++)
		CSX_CHECK_LT(csx_cpu_current(), n);
	csx_test_note("%u CPU(s)", n);
}

static const struct csx_test_case thread_cases[] = {
	CSX_TEST_CASE(thread_join_returns_exit_code),
	CSX_TEST_CASE(thread_join_null_exit_code),
	CSX_TEST_CASE(thread_context_is_thread),
	CSX_TEST_CASE_MISUSE(thread_join_self_deadlk),
	CSX_TEST_CASE_MISUSE(thread_bad_arguments),
	CSX_TEST_CASE(thread_sleep_lasts),
	CSX_TEST_CASE(time_monotonic),
	CSX_TEST_CASE(cpu_numbers),
};
CSX_TEST_SUITE(thread, thread_cases);
