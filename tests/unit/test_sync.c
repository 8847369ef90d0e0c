/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Locks, events and semaphores: ownership rules, busy destroy, bad
 * handles, timeouts, semaphore limit and allocation failures.
 */
#include <pthread.h>
#include <sched.h>

#include "unit.h"

#define OTHER_THREAD ((uintptr_t)0x5eed)

/* ---- Mutex -------------------------------------------------------------- */

static void mutex_owner_rules(void **state)
{
	struct csx_mutex *m;

	(void)state;
	assert_int_equal(csx_mutex_create(&m), 0);
	assert_int_equal(csx_mutex_lock(m), 0);
	/* Mutexes do not nest: relocking would hang, so it is refused. */
	assert_int_equal(csx_mutex_lock(m), -CSX_EDEADLK);
	assert_int_equal(csx_mutex_trylock(m), -CSX_EBUSY);
	assert_int_equal(csx_mutex_destroy(m), -CSX_EBUSY);
	mock_set_tid(OTHER_THREAD);
	assert_int_equal(csx_mutex_unlock(m), -CSX_EPERM);
	mock_set_tid(0);
	assert_int_equal(csx_mutex_unlock(m), 0);
	assert_int_equal(csx_mutex_unlock(m), -CSX_EPERM);
	assert_int_equal(csx_mutex_trylock(m), 0);
	assert_int_equal(csx_mutex_unlock(m), 0);
	assert_int_equal(csx_mutex_destroy(m), 0);
}

static void mutex_bad_handles(void **state)
{
	struct csx_mutex *m;
	struct csx_event *ev;

	(void)state;
	assert_int_equal(csx_mutex_create(NULL), -CSX_EINVAL);
	assert_int_equal(csx_mutex_lock(NULL), -CSX_EINVAL);
	assert_int_equal(csx_mutex_trylock(NULL), -CSX_EINVAL);
	assert_int_equal(csx_mutex_unlock(NULL), -CSX_EINVAL);
	assert_int_equal(csx_mutex_destroy(NULL), 0);
	assert_int_equal(csx_mutex_create(&m), 0);
	assert_int_equal(csx_mutex_destroy(m), 0);
	mock_log_clear();
	assert_int_equal(csx_mutex_lock(m), -CSX_EINVAL);
	assert_true(mock_log_contains(
		"csx_mutex_lock(): invalid or destroyed handle"));
	assert_int_equal(csx_mutex_unlock(m), -CSX_EINVAL);
	assert_int_equal(csx_mutex_destroy(m), -CSX_EINVAL);
	/* Another type's handle is not a mutex. */
	assert_int_equal(csx_event_create(&ev, CSX_EVENT_AUTO, false), 0);
	assert_int_equal(csx_mutex_lock((struct csx_mutex *)ev), -CSX_EINVAL);
	assert_int_equal(csx_event_destroy(ev), 0);
}

/* ---- Spinlock ----------------------------------------------------------- */

static void spinlock_rules(void **state)
{
	struct csx_spinlock *s;

	(void)state;
	assert_int_equal(csx_spin_create(&s), 0);
	csx_spin_lock(s);
	assert_int_equal(csx_spin_destroy(s), -CSX_EBUSY);
	/* A relock would spin forever: it is refused and reported. */
	csx_ctx_set_strict(true);
	csx_spin_lock(s);
	assert_int_equal(mock_bugs(), 1);
	assert_true(mock_log_contains("already held by the caller"));
	csx_spin_unlock(s);
	csx_spin_unlock(s);
	assert_int_equal(mock_bugs(), 2);
	assert_true(mock_log_contains("not held by the caller"));
	csx_ctx_set_strict(false);
	assert_false(csx_in_atomic());
	assert_int_equal(csx_spin_destroy(s), 0);
	csx_spin_lock(s);
	csx_spin_unlock(NULL);
	assert_int_equal(csx_spin_destroy(s), -CSX_EINVAL);
	assert_int_equal(csx_spin_destroy(NULL), 0);
	assert_int_equal(csx_spin_create(NULL), -CSX_EINVAL);
}

/* ---- Reader/writer lock ------------------------------------------------- */

static void rwlock_rules(void **state)
{
	struct csx_rwlock *rw;

	(void)state;
	assert_int_equal(csx_rwlock_create(&rw), 0);
	assert_int_equal(csx_rwlock_unlock(rw), -CSX_EPERM);
	assert_int_equal(csx_rwlock_read(rw), 0);
	assert_int_equal(csx_rwlock_read(rw), 0);
	assert_int_equal(csx_rwlock_destroy(rw), -CSX_EBUSY);
	assert_int_equal(csx_rwlock_unlock(rw), 0);
	assert_int_equal(csx_rwlock_unlock(rw), 0);
	assert_int_equal(csx_rwlock_unlock(rw), -CSX_EPERM);
	assert_int_equal(csx_rwlock_write(rw), 0);
	assert_int_equal(csx_rwlock_write(rw), -CSX_EDEADLK);
	assert_int_equal(csx_rwlock_read(rw), -CSX_EDEADLK);
	assert_int_equal(csx_rwlock_destroy(rw), -CSX_EBUSY);
	mock_set_tid(OTHER_THREAD);
	assert_int_equal(csx_rwlock_unlock(rw), -CSX_EPERM);
	mock_set_tid(0);
	assert_int_equal(csx_rwlock_unlock(rw), 0);
	assert_int_equal(csx_rwlock_destroy(rw), 0);
	assert_int_equal(csx_rwlock_read(rw), -CSX_EINVAL);
	assert_int_equal(csx_rwlock_unlock(rw), -CSX_EINVAL);
	assert_int_equal(csx_rwlock_destroy(rw), -CSX_EINVAL);
	assert_int_equal(csx_rwlock_write(NULL), -CSX_EINVAL);
	assert_int_equal(csx_rwlock_destroy(NULL), 0);
}

/* ---- Events ------------------------------------------------------------- */

static void event_auto_and_manual(void **state)
{
	struct csx_event *a, *m;

	(void)state;
	assert_int_equal(csx_event_create(&a, CSX_EVENT_AUTO, true), 0);
	assert_int_equal(csx_event_create(&m, CSX_EVENT_MANUAL, false), 0);
	assert_int_equal(csx_event_wait(a, 0), 0);
	assert_int_equal(csx_event_wait(a, 0), -CSX_ETIMEDOUT);
	assert_int_equal(csx_event_wait(m, 0), -CSX_ETIMEDOUT);
	assert_int_equal(csx_event_set(m), 0);
	assert_int_equal(csx_event_wait(m, 0), 0);
	assert_int_equal(csx_event_wait(m, 1000), 0);
	assert_int_equal(csx_event_reset(m), 0);
	assert_int_equal(csx_event_wait(m, 1000), -CSX_ETIMEDOUT);
	assert_int_equal(csx_event_destroy(a), 0);
	assert_int_equal(csx_event_destroy(m), 0);
}

static void event_arguments(void **state)
{
	struct csx_event *ev;

	(void)state;
	assert_int_equal(csx_event_create(&ev, (enum csx_event_type)7, false),
			 -CSX_EINVAL);
	assert_int_equal(csx_event_create(NULL, CSX_EVENT_AUTO, false),
			 -CSX_EINVAL);
	assert_int_equal(csx_event_create(&ev, CSX_EVENT_AUTO, false), 0);
	assert_int_equal(csx_event_wait(ev, -5), -CSX_EINVAL);
	/* Polling and setting are fine in ISR context. */
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_event_set(ev), 0);
	assert_int_equal(csx_event_wait(ev, 0), 0);
	assert_int_equal(csx_event_wait(ev, 1), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(csx_event_destroy(ev), 0);
	assert_int_equal(csx_event_set(ev), -CSX_EINVAL);
	assert_int_equal(csx_event_reset(ev), -CSX_EINVAL);
	assert_int_equal(csx_event_wait(ev, 0), -CSX_EINVAL);
	assert_int_equal(csx_event_destroy(ev), -CSX_EINVAL);
	assert_int_equal(csx_event_set(NULL), -CSX_EINVAL);
	assert_int_equal(csx_event_destroy(NULL), 0);
}

struct waiter {
	struct csx_event *ev;
	struct csx_sem *sem;
	int ret;
};

static void *wait_forever(void *arg)
{
	struct waiter *w = arg;

	if (w->ev)
		w->ret = csx_event_wait(w->ev, CSX_WAIT_FOREVER);
	else
		w->ret = csx_sem_down(w->sem, CSX_WAIT_FOREVER);
	return NULL;
}

static void wait_until_blocked(void)
{
	while (mock_waiting() == 0)
		sched_yield();
}

static void event_destroy_with_waiter_is_busy(void **state)
{
	struct waiter w = { NULL, NULL, 1 };
	pthread_t th;

	(void)state;
	assert_int_equal(csx_event_create(&w.ev, CSX_EVENT_AUTO, false), 0);
	assert_int_equal(pthread_create(&th, NULL, wait_forever, &w), 0);
	wait_until_blocked();
	assert_int_equal(csx_event_destroy(w.ev), -CSX_EBUSY);
	assert_int_equal(csx_event_set(w.ev), 0);
	pthread_join(th, NULL);
	assert_int_equal(w.ret, 0);
	assert_int_equal(csx_event_destroy(w.ev), 0);
}

/* ---- Semaphores --------------------------------------------------------- */

static void sem_counts(void **state)
{
	struct csx_sem *sem;

	(void)state;
	assert_int_equal(csx_sem_create(&sem, 2), 0);
	assert_int_equal(csx_sem_down(sem, 0), 0);
	assert_int_equal(csx_sem_down(sem, 0), 0);
	assert_int_equal(csx_sem_down(sem, 0), -CSX_ETIMEDOUT);
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_sem_up(sem), 0);
	assert_int_equal(csx_sem_down(sem, CSX_WAIT_FOREVER), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(csx_sem_down(sem, 1000), 0);
	assert_int_equal(csx_sem_down(sem, -2), -CSX_EINVAL);
	assert_int_equal(csx_sem_destroy(sem), 0);
	assert_int_equal(csx_sem_up(sem), -CSX_EINVAL);
	assert_int_equal(csx_sem_down(sem, 0), -CSX_EINVAL);
	assert_int_equal(csx_sem_destroy(sem), -CSX_EINVAL);
	assert_int_equal(csx_sem_up(NULL), -CSX_EINVAL);
}

static void sem_count_limit(void **state)
{
	struct csx_sem *sem;

	(void)state;
	assert_int_equal(csx_sem_create(&sem, CSX__SEM_MAX + 1u), -CSX_EINVAL);
	assert_int_equal(csx_sem_create(&sem, CSX__SEM_MAX - 1u), 0);
	assert_int_equal(csx_sem_up(sem), 0);
	assert_int_equal(csx_sem_up(sem), -CSX_EOVERFLOW);
	assert_int_equal(csx_sem_down(sem, 0), 0);
	assert_int_equal(csx_sem_up(sem), 0);
	assert_int_equal(csx_sem_destroy(sem), 0);
}

static void sem_destroy_with_waiter_is_busy(void **state)
{
	struct waiter w = { NULL, NULL, 1 };
	pthread_t th;

	(void)state;
	assert_int_equal(csx_sem_create(&w.sem, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, wait_forever, &w), 0);
	wait_until_blocked();
	assert_int_equal(csx_sem_destroy(w.sem), -CSX_EBUSY);
	assert_int_equal(csx_sem_up(w.sem), 0);
	pthread_join(th, NULL);
	assert_int_equal(w.ret, 0);
	assert_int_equal(csx_sem_destroy(w.sem), 0);
}

/* ---- Allocation failures ------------------------------------------------ */

typedef int (*create_fn)(void **out);
typedef int (*destroy_fn)(void *obj);

static int mk_mutex(void **o)
{
	return csx_mutex_create((struct csx_mutex **)o);
}

static int rm_mutex(void *o)
{
	return csx_mutex_destroy(o);
}

static int mk_spin(void **o)
{
	return csx_spin_create((struct csx_spinlock **)o);
}

static int rm_spin(void *o)
{
	return csx_spin_destroy(o);
}

static int mk_rwlock(void **o)
{
	return csx_rwlock_create((struct csx_rwlock **)o);
}

static int rm_rwlock(void *o)
{
	return csx_rwlock_destroy(o);
}

static int mk_event(void **o)
{
	return csx_event_create((struct csx_event **)o, CSX_EVENT_MANUAL, true);
}

static int rm_event(void *o)
{
	return csx_event_destroy(o);
}

static int mk_sem(void **o)
{
	return csx_sem_create((struct csx_sem **)o, 3);
}

static int rm_sem(void *o)
{
	return csx_sem_destroy(o);
}

/* Fail each allocation of a create in turn: -CSX_ENOMEM, NULL, no leak. */
static void check_enomem(create_fn mk, destroy_fn rm)
{
	void *obj;
	long n;
	int ret;

	for (n = 0;; n++) {
		long live = mock_live_allocs();

		obj = (void *)1;
		mock_fail_alloc_after(n);
		ret = mk(&obj);
		mock_fail_alloc_after(-1);
		if (ret == 0)
			break;
		assert_int_equal(ret, -CSX_ENOMEM);
		assert_null(obj);
		assert_int_equal(mock_live_allocs(), live);
	}
	assert_true(n >= 2); /* core object + OS object */
	assert_int_equal(rm(obj), 0);
}

static void creates_fail_cleanly_without_memory(void **state)
{
	(void)state;
	check_enomem(mk_mutex, rm_mutex);
	check_enomem(mk_spin, rm_spin);
	check_enomem(mk_rwlock, rm_rwlock);
	check_enomem(mk_event, rm_event);
	check_enomem(mk_sem, rm_sem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(mutex_owner_rules),
		UNIT_TEST(mutex_bad_handles),
		UNIT_TEST(spinlock_rules),
		UNIT_TEST(rwlock_rules),
		UNIT_TEST(event_auto_and_manual),
		UNIT_TEST(event_arguments),
		UNIT_TEST(event_destroy_with_waiter_is_busy),
		UNIT_TEST(sem_counts),
		UNIT_TEST(sem_count_limit),
		UNIT_TEST(sem_destroy_with_waiter_is_busy),
		UNIT_TEST(creates_fail_cleanly_without_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
