/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Core life cycle: contract version check, init failure paths, leak
 * report at exit, strict-mode tunable, version queries and logging.
 */
#include "unit.h"

static void contract_mismatch_is_refused(void **state)
{
	struct csx_service *svc;

	(void)state;
	mock_reset();
	mock_set_contract_version(CSX_OS_CONTRACT_VERSION + 1);
	assert_int_equal(csx__core_init(), -CSX_EPROTO);
	assert_true(mock_log_contains("port contract version"));
	/* The back end was brought down again and nothing was left over. */
	assert_int_equal(mock_os_inits(), 1);
	assert_int_equal(mock_os_finis(), 1);
	assert_false(mock_dpc_started());
	assert_int_equal(mock_live_allocs(), 0);
	/* The core stays down: registries refuse to work. */
	assert_int_equal(csx_service_export("a/b", 1,
					    (csx_service_fn)(uintptr_t)1, NULL,
					    &svc),
			 -CSX_EINVAL);
	mock_reset();
}

static void os_init_failure_propagates(void **state)
{
	(void)state;
	mock_reset();
	mock_set_init_result(-CSX_EIO);
	assert_int_equal(csx__core_init(), -CSX_EIO);
	assert_int_equal(mock_os_finis(), 0);
	assert_int_equal(mock_live_allocs(), 0);
	mock_reset();
}

static void dpc_start_failure_unwinds(void **state)
{
	(void)state;
	mock_reset();
	mock_set_dpc_start_result(-CSX_ENOMEM);
	assert_int_equal(csx__core_init(), -CSX_ENOMEM);
	assert_int_equal(mock_os_finis(), 1);
	assert_int_equal(mock_live_allocs(), 0);
	mock_reset();
}

static void init_alloc_failures_unwind(void **state)
{
	long n;
	int ret;

	(void)state;
	for (n = 0;; n++) {
		mock_reset();
		mock_fail_alloc_after(n);
		ret = csx__core_init();
		if (ret == 0)
			break;
		assert_int_equal(ret, -CSX_ENOMEM);
		assert_int_equal(mock_live_allocs(), 0);
		assert_int_equal(mock_os_finis(), 1);
	}
	assert_true(n > 0);
	csx__core_fini();
	assert_int_equal(mock_live_allocs(), 0);
	mock_reset();
}

static void init_twice_is_refused(void **state)
{
	(void)state;
	assert_int_equal(csx__core_init(), -CSX_EBUSY);
	assert_true(mock_dpc_started());
}

static void fini_reports_leaked_objects(void **state)
{
	struct csx_mutex *m;
	struct csx_event *ev;
	void *p;

	(void)state;
	mock_reset();
	assert_int_equal(csx__core_init(), 0);
	assert_int_equal(csx_mutex_create(&m), 0);
	assert_int_equal(csx_event_create(&ev, CSX_EVENT_AUTO, false), 0);
	p = csx_alloc(16, 0);
	assert_non_null(p);
	csx__core_fini();
	assert_true(mock_log_contains("1 mutex object(s) still alive"));
	assert_true(mock_log_contains("1 event object(s) still alive"));
	assert_true(mock_log_contains("csx_alloc() block"));
	assert_false(mock_log_contains("semaphore object(s)"));
	/* Objects not needing the core can still be released. */
	assert_int_equal(csx_mutex_destroy(m), 0);
	assert_int_equal(csx_event_destroy(ev), 0);
	csx_free(p);
	assert_int_equal(mock_live_allocs(), 0);
	assert_int_equal(csx__live_count(CSX__T_MUTEX), 0);
	mock_reset();
}

static void strict_tunable_is_read_at_init(void **state)
{
	(void)state;
	mock_reset();
	mock_set_env_bool("CSX_STRICT", 1);
	assert_int_equal(csx__core_init(), 0);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_thread_sleep(1000), -CSX_EDEADLK);
	assert_int_equal(mock_bugs(), 1);
	mock_set_context(0);
	csx__core_fini();

	mock_reset();
	mock_set_env_bool("CSX_STRICT", 0);
	assert_int_equal(csx__core_init(), 0);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_thread_sleep(1000), -CSX_EDEADLK);
	assert_int_equal(mock_bugs(), 0);
	mock_set_context(0);
	csx__core_fini();
	mock_reset();
}

static void versions_and_backend(void **state)
{
	(void)state;
	assert_int_equal(csx_api_version(),
			 (CSX_API_VERSION_MAJOR << 16) |
				 (CSX_API_VERSION_MINOR << 8) |
				 CSX_API_VERSION_PATCH);
	assert_string_equal(csx_backend_name(), "mock");
}

static void log_threshold_filters(void **state)
{
	int prev;

	(void)state;
	prev = csx_log_set_level(CSX_LOG_WARN);
	assert_int_equal(prev, CSX_LOG_INFO);
	mock_log_clear();
	csx_info("hidden %d", 1);
	csx_warn("shown %d", 2);
	csx_err("shown %d", 3);
	assert_false(mock_log_contains("hidden 1"));
	assert_true(mock_log_contains("shown 2"));
	assert_true(mock_log_contains("shown 3"));
	/* Out-of-range levels are clamped. */
	assert_int_equal(csx_log_set_level(99), CSX_LOG_WARN);
	csx_dbg("debug %d", 4);
	assert_true(mock_log_contains("debug 4"));
	assert_int_equal(csx_log_set_level(-5), CSX_LOG_DEBUG);
	csx_warn("quiet %d", 5);
	assert_false(mock_log_contains("quiet 5"));
	csx_log_set_level(CSX_LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(contract_mismatch_is_refused),
		cmocka_unit_test(os_init_failure_propagates),
		cmocka_unit_test(dpc_start_failure_unwinds),
		cmocka_unit_test(init_alloc_failures_unwind),
		UNIT_TEST(init_twice_is_refused),
		cmocka_unit_test(fini_reports_leaked_objects),
		cmocka_unit_test(strict_tunable_is_read_at_init),
		UNIT_TEST(versions_and_backend),
		UNIT_TEST(log_threshold_filters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
