// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * The context checker: a sleeping call made where sleeping is forbidden
 * (ISR, DPC, timer callback, interrupt disabled, spinlock held) is refused
 * with -CSX_EDEADLK (NULL for csx_alloc) and counted, in every such
 * context; the non-sleeping forms of the same calls still work there.
 *
 * These cases misuse the API on purpose: the runner turns strict mode off
 * around them (CSX_TEST_MISUSE) and restores it afterwards.
 */
#include "csx_test_suites.h"

#define SHORT_NS CSX_NSEC_PER_MSEC

static struct csx_mutex *ctx_mutex;
static struct csx_event *ctx_event;
static struct csx_sem *ctx_sem;
static struct csx_rwlock *ctx_rwlock;
static struct csx_thread *wrongly_started;

static int idle_thread(void *unused)
{
	return 0;
}

static long probe_mutex(void)
{
	return csx_mutex_lock(ctx_mutex);
}

static long probe_sleep(void)
{
	return csx_thread_sleep(SHORT_NS);
}

static long probe_event_wait(void)
{
	return csx_event_wait(ctx_event, SHORT_NS);
}

static long probe_sem_down(void)
{
	return csx_sem_down(ctx_sem, SHORT_NS);
}

static long probe_rwlock(void)
{
	return csx_rwlock_read(ctx_rwlock);
}

/* 1 when refused (NULL), as the table expects. */
static long probe_alloc(void)
{
	void *p = csx_alloc(16, 0);

	csx_free(p);
	return p == NULL;
}

static long probe_thread_create(void)
{
	return csx_thread_create(&wrongly_started, "csx-test-bad", idle_thread,
				 NULL);
}

/* The non-sleeping forms: allowed everywhere, never counted. */
static long probe_event_poll(void)
{
	return csx_event_wait(ctx_event, 0);
}

static long probe_sem_poll(void)
{
	return csx_sem_down(ctx_sem, 0);
}

static long probe_atomic_alloc(void)
{
	void *p = csx_alloc(16, CSX_MEM_ATOMIC);

	csx_free(p);
	return p != NULL;
}

struct probe {
	const char *call;
	long (*fn)(void);
	long expect;
};

static const struct probe probes[] = {
	{ "csx_mutex_lock()", probe_mutex, -CSX_EDEADLK },
	{ "csx_thread_sleep(1 ms)", probe_sleep, -CSX_EDEADLK },
	{ "csx_event_wait(1 ms)", probe_event_wait, -CSX_EDEADLK },
	{ "csx_sem_down(1 ms)", probe_sem_down, -CSX_EDEADLK },
	{ "csx_rwlock_read()", probe_rwlock, -CSX_EDEADLK },
	{ "csx_alloc(16, 0) == NULL", probe_alloc, 1 },
	{ "csx_thread_create()", probe_thread_create, -CSX_EDEADLK },
	{ "csx_event_wait(0)", probe_event_poll, -CSX_ETIMEDOUT },
	{ "csx_sem_down(0)", probe_sem_poll, -CSX_ETIMEDOUT },
	{ "csx_alloc(ATOMIC) != NULL", probe_atomic_alloc, 1 },
};

#define N_PROBES (sizeof(probes) / sizeof(probes[0]))
/* The first seven are sleeping calls: one violation each. */
#define N_REFUSED 7

static long probe_result[N_PROBES];
static long probes_done;

static void run_probes(void)
{
	unsigned int i;

	for (i = 0; i < N_PROBES; i++)
		csx_test_store(&probe_result[i], probes[i].fn());
	csx_test_inc(&probes_done);
}

static void setup_objects(void)
{
	unsigned int i;

	for (i = 0; i < N_PROBES; i++)
		csx_test_store(&probe_result[i], 12345);
	csx_test_store(&probes_done, 0);
	wrongly_started = NULL;
	CSX_CHECK_OK(csx_mutex_create(&ctx_mutex));
	CSX_CHECK_OK(csx_event_create(&ctx_event, CSX_EVENT_AUTO, false));
	CSX_CHECK_OK(csx_sem_create(&ctx_sem, 0));
	CSX_CHECK_OK(csx_rwlock_create(&ctx_rwlock));
}

/*
 * Check what the probes returned and that exactly the sleeping ones were
 * counted. Then prove the refusals took nothing: every object is free.
 */
static void check_probes(const char *where, unsigned long violations)
{
	unsigned int i;

	if (wrongly_started)
		csx_thread_join(wrongly_started, NULL);
	CSX_CHECK_EQ(csx_test_load(&probes_done), 1);
	for (i = 0; i < N_PROBES; i++) {
		long got = csx_test_load(&probe_result[i]);

		if (got != probes[i].expect) {
			csx_test_fail(__FILE__, __LINE__,
				      "%s in %s returned %ld (%s), expected "
				      "%ld (%s)",
				      probes[i].call, where, got,
				      csx_status_name((int)got),
				      probes[i].expect,
				      csx_status_name((int)probes[i].expect));
			return;
		}
	}
	CSX_CHECK_EQ(violations, N_REFUSED);
	CSX_CHECK_OK(csx_mutex_trylock(ctx_mutex));
	CSX_CHECK_OK(csx_mutex_unlock(ctx_mutex));
	CSX_CHECK_OK(csx_rwlock_write(ctx_rwlock));
	CSX_CHECK_OK(csx_rwlock_unlock(ctx_rwlock));
}

static void destroy_objects(void)
{
	CSX_CHECK_OK(csx_mutex_destroy(ctx_mutex));
	CSX_CHECK_OK(csx_event_destroy(ctx_event));
	CSX_CHECK_OK(csx_sem_destroy(ctx_sem));
	CSX_CHECK_OK(csx_rwlock_destroy(ctx_rwlock));
}

static enum csx_irqreturn probing_isr(struct csx_intr *intr, void *ctx)
{
	run_probes();
	return CSX_IRQ_HANDLED;
}

static void probing_dpc(struct csx_dpc *dpc, void *ctx)
{
	run_probes();
}

static void probing_timer(struct csx_timer *timer, void *ctx)
{
	run_probes();
}

CSX_TEST(ctx_refused_in_isr)
{
	struct csx_intr *intr;
	unsigned long before;

	CSX_STEP(setup_objects());
	before = csx_ctx_violations();
	CSX_CHECK_OK(csx_intr_attach_soft(probing_isr, NULL, &intr));
	CSX_CHECK_OK(csx_intr_raise(intr));
	CSX_CHECK_EVENTUALLY(csx_test_load(&probes_done) >= 1);
	CSX_CHECK_OK(csx_intr_detach(intr));
	CSX_STEP(check_probes("an ISR", csx_ctx_violations() - before));
	CSX_STEP(destroy_objects());
}

CSX_TEST(ctx_refused_in_dpc)
{
	struct csx_dpc *dpc;
	unsigned long before;

	CSX_STEP(setup_objects());
	before = csx_ctx_violations();
	CSX_CHECK_OK(csx_dpc_create(&dpc, probing_dpc, NULL));
	CSX_CHECK_RC(csx_dpc_queue(dpc), 0);
	CSX_CHECK_OK(csx_dpc_flush(dpc));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
	CSX_STEP(check_probes("a DPC", csx_ctx_violations() - before));
	CSX_STEP(destroy_objects());
}

CSX_TEST(ctx_refused_in_timer_callback)
{
	struct csx_timer *timer;
	unsigned long before;

	CSX_STEP(setup_objects());
	before = csx_ctx_violations();
	CSX_CHECK_OK(csx_timer_create(&timer, probing_timer, NULL));
	CSX_CHECK_OK(csx_timer_start(timer, 1000, 0));
	CSX_CHECK_EVENTUALLY(csx_test_load(&probes_done) >= 1);
	CSX_CHECK_OK(csx_timer_destroy(timer));
	CSX_STEP(check_probes("a timer callback",
			      csx_ctx_violations() - before));
	CSX_STEP(destroy_objects());
}

static enum csx_irqreturn idle_isr(struct csx_intr *intr, void *ctx)
{
	return CSX_IRQ_HANDLED;
}

CSX_TEST(ctx_refused_with_interrupt_disabled)
{
	struct csx_intr *intr;
	unsigned long before, key;

	CSX_STEP(setup_objects());
	CSX_CHECK_OK(csx_intr_attach_soft(idle_isr, NULL, &intr));
	before = csx_ctx_violations();
	key = csx_intr_disable(intr);
	run_probes();
	csx_intr_restore(intr, key);
	CSX_CHECK_OK(csx_intr_detach(intr));
	CSX_STEP(check_probes("a thread holding an interrupt disabled",
			      csx_ctx_violations() - before));
	CSX_STEP(destroy_objects());
}

CSX_TEST(ctx_refused_with_spinlock_held)
{
	struct csx_spinlock *s;
	unsigned long before;

	CSX_STEP(setup_objects());
	CSX_CHECK_OK(csx_spin_create(&s));
	before = csx_ctx_violations();
	csx_spin_lock(s);
	run_probes();
	csx_spin_unlock(s);
	CSX_CHECK_OK(csx_spin_destroy(s));
	CSX_STEP(check_probes("a thread holding a spinlock",
			      csx_ctx_violations() - before));
	CSX_STEP(destroy_objects());
}

/* The same calls from a plain thread are not refused and not counted. */
CSX_TEST(ctx_allowed_in_thread)
{
	unsigned long before = csx_ctx_violations();
	void *p;

	CSX_STEP(setup_objects());
	CSX_CHECK_OK(csx_mutex_lock(ctx_mutex));
	CSX_CHECK_OK(csx_mutex_unlock(ctx_mutex));
	CSX_CHECK_OK(csx_thread_sleep(SHORT_NS));
	CSX_CHECK_RC(csx_event_wait(ctx_event, SHORT_NS), -CSX_ETIMEDOUT);
	CSX_CHECK_RC(csx_sem_down(ctx_sem, SHORT_NS), -CSX_ETIMEDOUT);
	p = csx_alloc(16, 0);
	CSX_CHECK_NOT_NULL(p);
	csx_free(p);
	CSX_STEP(destroy_objects());
	CSX_CHECK_EQ(csx_ctx_violations() - before, 0);
}

/* ---- Calls refused on a DPC, timer or interrupt from its own callback ---- */

static long self_flush_rc, self_destroy_rc, other_stop_rc, yield_done;
static struct csx_timer *other_timer;

static void self_ops_dpc(struct csx_dpc *dpc, void *ctx)
{
	csx_test_store(&self_flush_rc, csx_dpc_flush(dpc));
	csx_test_store(&self_destroy_rc, csx_dpc_destroy(dpc));
	/* Stopping another timer would wait for its callback: refused. */
	csx_test_store(&other_stop_rc, csx_timer_stop(other_timer));
	csx_thread_yield();
	csx_test_inc(&yield_done);
}

static void never_fires(struct csx_timer *timer, void *ctx)
{
}

CSX_TEST(ctx_dpc_cannot_wait_for_itself)
{
	struct csx_dpc *dpc;
	unsigned long before;

	csx_test_store(&yield_done, 0);
	CSX_CHECK_OK(csx_timer_create(&other_timer, never_fires, NULL));
	CSX_CHECK_OK(csx_dpc_create(&dpc, self_ops_dpc, NULL));
	before = csx_ctx_violations();
	CSX_CHECK_RC(csx_dpc_queue(dpc), 0);
	CSX_CHECK_EVENTUALLY(csx_test_load(&yield_done) == 1);
	/* The DPC survived its own destroy attempt. */
	CSX_CHECK_OK(csx_dpc_flush(dpc));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
	CSX_CHECK_OK(csx_timer_destroy(other_timer));
	CSX_CHECK_RC(csx_test_load(&self_flush_rc), -CSX_EDEADLK);
	CSX_CHECK_RC(csx_test_load(&self_destroy_rc), -CSX_EDEADLK);
	CSX_CHECK_RC(csx_test_load(&other_stop_rc), -CSX_EDEADLK);
	/* At least the yield, documented as a reported violation, counted. */
	CSX_CHECK_GE(csx_ctx_violations() - before, 1);
}

static long detach_rc, detach_tried;

static enum csx_irqreturn detach_self_isr(struct csx_intr *intr, void *ctx)
{
	csx_test_store(&detach_rc, csx_intr_detach(intr));
	csx_test_inc(&detach_tried);
	return CSX_IRQ_HANDLED;
}

CSX_TEST(ctx_isr_cannot_detach_itself)
{
	struct csx_intr *intr;

	csx_test_store(&detach_tried, 0);
	CSX_CHECK_OK(csx_intr_attach_soft(detach_self_isr, NULL, &intr));
	CSX_CHECK_OK(csx_intr_raise(intr));
	CSX_CHECK_EVENTUALLY(csx_test_load(&detach_tried) == 1);
	CSX_CHECK_RC(csx_test_load(&detach_rc), -CSX_EDEADLK);
	CSX_CHECK_OK(csx_intr_detach(intr));
}

CSX_TEST(ctx_strict_setting_roundtrip)
{
	bool prev = csx_ctx_set_strict(true);

	CSX_CHECK_EQ(csx_ctx_set_strict(false), true);
	CSX_CHECK_EQ(csx_ctx_set_strict(prev), false);
}

static const struct csx_test_case context_cases[] = {
	CSX_TEST_CASE_MISUSE(ctx_refused_in_isr),
	CSX_TEST_CASE_MISUSE(ctx_refused_in_dpc),
	CSX_TEST_CASE_MISUSE(ctx_refused_in_timer_callback),
	CSX_TEST_CASE_MISUSE(ctx_refused_with_interrupt_disabled),
	CSX_TEST_CASE_MISUSE(ctx_refused_with_spinlock_held),
	CSX_TEST_CASE(ctx_allowed_in_thread),
	CSX_TEST_CASE_MISUSE(ctx_dpc_cannot_wait_for_itself),
	CSX_TEST_CASE_MISUSE(ctx_isr_cannot_detach_itself),
	CSX_TEST_CASE_MISUSE(ctx_strict_setting_roundtrip),
};
CSX_TEST_SUITE(context, context_cases);
