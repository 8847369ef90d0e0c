// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Mutexes, spinlocks, reader/writer locks, events and semaphores: what they
 * exclude, whom they release, and how misuse is refused.
 *
 * State shared with worker threads and DPCs is static, so a case that ends
 * early on a failed check never leaves a thread pointing into its stack.
 */
#include "csx_test_suites.h"

#define N_WORKERS 4
#define LOCK_ROUNDS 2000

/* A zero-filled block that is not any CSX object: a driver's stray pointer. */
static uint64_t foreign_object[64];
#define FOREIGN(type) ((struct type *)foreign_object)

/* ---- Mutex ---------------------------------------------------------------- */

static struct csx_mutex *mutex;
static long inside;
static long overlaps;
static long plain_counter; /* only touched with the lock held */

CSX_TEST(mutex_lock_trylock_unlock)
{
	struct csx_mutex *m;

	CSX_CHECK_OK(csx_mutex_create(&m));
	CSX_CHECK_OK(csx_mutex_lock(m));
	/* Held, even by the caller: trylock does not take it again. */
	CSX_CHECK_RC(csx_mutex_trylock(m), -CSX_EBUSY);
	CSX_CHECK_OK(csx_mutex_unlock(m));
	CSX_CHECK_OK(csx_mutex_trylock(m));
	CSX_CHECK_OK(csx_mutex_unlock(m));
	CSX_CHECK_OK(csx_mutex_destroy(m));
	CSX_CHECK_OK(csx_mutex_destroy(NULL));
}

/* The section check: exactly one holder inside at any time. */
static void enter_exclusive(void)
{
	if (csx_test_inc(&inside) != 1)
		csx_test_inc(&overlaps);
	plain_counter++;
	csx_test_dec(&inside);
}

static int mutex_worker(void *unused)
{
	int i, rc;

	for (i = 0; i < LOCK_ROUNDS; i++) {
		rc = csx_mutex_lock(mutex);
		if (rc)
			return rc;
		enter_exclusive();
		rc = csx_mutex_unlock(mutex);
		if (rc)
			return rc;
	}
	return 0;
}

CSX_TEST(mutex_excludes_threads)
{
	struct csx_test_workers w;
	int rc;

	csx_test_store(&inside, 0);
	csx_test_store(&overlaps, 0);
	plain_counter = 0;
	CSX_CHECK_OK(csx_mutex_create(&mutex));
	rc = csx_test_workers_start(&w, N_WORKERS, mutex_worker, NULL, 0);
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_mutex_destroy(mutex));
	CSX_CHECK_EQ(csx_test_load(&overlaps), 0);
	CSX_CHECK_EQ(plain_counter, N_WORKERS * LOCK_ROUNDS);
}

static int unlock_foreign(void *unused)
{
	return csx_mutex_unlock(mutex);
}

static int trylock_foreign(void *unused)
{
	return csx_mutex_trylock(mutex);
}

/* Take and give back: the lock is free and usable by any thread. */
static int borrow_foreign(void *unused)
{
	int rc = csx_mutex_trylock(mutex);

	return rc ? rc : csx_mutex_unlock(mutex);
}

/* Runs @fn in another thread and returns its exit code. */
static int in_other_thread(csx_thread_fn fn)
{
	struct csx_thread *t;
	int code = 1000, rc;

	rc = csx_thread_create(&t, "csx-test-other", fn, NULL);
	if (rc)
		return 2000 + rc;
	rc = csx_thread_join(t, &code);
	return rc ? 3000 + rc : code;
}

CSX_TEST(mutex_misuse)
{
	CSX_CHECK_OK(csx_mutex_create(&mutex));
	CSX_CHECK_RC(csx_mutex_unlock(mutex), -CSX_EPERM);
	CSX_CHECK_OK(csx_mutex_lock(mutex));
	CSX_CHECK_RC(csx_mutex_lock(mutex), -CSX_EDEADLK);
	CSX_CHECK_RC(csx_mutex_destroy(mutex), -CSX_EBUSY);
	CSX_CHECK_RC(in_other_thread(unlock_foreign), -CSX_EPERM);
	CSX_CHECK_RC(in_other_thread(trylock_foreign), -CSX_EBUSY);
	/* All refusals left it intact and still ours. */
	CSX_CHECK_OK(csx_mutex_unlock(mutex));
	CSX_CHECK_OK(in_other_thread(borrow_foreign));
	CSX_CHECK_OK(csx_mutex_destroy(mutex));
}

CSX_TEST(mutex_bad_handles)
{
	CSX_CHECK_RC(csx_mutex_create(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_mutex_lock(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_mutex_trylock(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_mutex_unlock(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_mutex_destroy(FOREIGN(csx_mutex)), -CSX_EINVAL);
	CSX_CHECK_RC(csx_mutex_lock(FOREIGN(csx_mutex)), -CSX_EINVAL);
}

/* ---- Spinlock ------------------------------------------------------------- */

static struct csx_spinlock *spin;
static struct csx_dpc *spin_dpc;
static long spin_dpc_runs;

static int spin_worker(void *unused)
{
	int i;

	for (i = 0; i < LOCK_ROUNDS; i++) {
		csx_spin_lock(spin);
		enter_exclusive();
		csx_spin_unlock(spin);
	}
	return 0;
}

/* Queues the contending DPC over and over while the workers run. */
static int spin_dpc_pump(void *unused)
{
	int i, rc;

	for (i = 0; i < LOCK_ROUNDS; i++) {
		rc = csx_dpc_queue(spin_dpc);
		if (rc < 0)
			return rc;
		csx_thread_yield();
	}
	return 0;
}

static int spin_mixed(void *arg)
{
	return *(const int *)arg ? spin_dpc_pump(NULL) : spin_worker(NULL);
}

static void spin_dpc_fn(struct csx_dpc *dpc, void *ctx)
{
	csx_spin_lock(spin);
	enter_exclusive();
	csx_spin_unlock(spin);
	csx_test_inc(&spin_dpc_runs);
}

CSX_TEST(spin_excludes_threads_and_dpcs)
{
	static const int is_pump[N_WORKERS + 1] = { 0, 0, 1, 0, 0 };
	struct csx_test_workers w;
	long dpc_runs;
	int rc;

	csx_test_store(&inside, 0);
	csx_test_store(&overlaps, 0);
	csx_test_store(&spin_dpc_runs, 0);
	plain_counter = 0;
	CSX_CHECK_OK(csx_spin_create(&spin));
	CSX_CHECK_OK(csx_dpc_create(&spin_dpc, spin_dpc_fn, NULL));
	rc = csx_test_workers_start(&w, N_WORKERS + 1, spin_mixed,
				    (void *)is_pump, sizeof(is_pump[0]));
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_dpc_flush(spin_dpc));
	CSX_CHECK_OK(csx_dpc_destroy(spin_dpc));
	CSX_CHECK_OK(csx_spin_destroy(spin));
	dpc_runs = csx_test_load(&spin_dpc_runs);
	CSX_CHECK_GE(dpc_runs, 1);
	CSX_CHECK_EQ(csx_test_load(&overlaps), 0);
	CSX_CHECK_EQ(plain_counter, N_WORKERS * LOCK_ROUNDS + dpc_runs);
}

CSX_TEST(spin_holder_is_atomic)
{
	struct csx_spinlock *s;
	bool held_atomic;

	CSX_CHECK_OK(csx_spin_create(&s));
	CSX_CHECK(!csx_in_atomic());
	csx_spin_lock(s);
	held_atomic = csx_in_atomic();
	csx_spin_unlock(s);
	CSX_CHECK(held_atomic);
	CSX_CHECK(!csx_in_atomic());
	CSX_CHECK_OK(csx_spin_destroy(s));
	CSX_CHECK_OK(csx_spin_destroy(NULL));
}

CSX_TEST(spin_misuse)
{
	struct csx_spinlock *s;
	int rc;

	CSX_CHECK_RC(csx_spin_create(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_spin_destroy(FOREIGN(csx_spinlock)), -CSX_EINVAL);
	CSX_CHECK_OK(csx_spin_create(&s));
	csx_spin_lock(s);
	rc = csx_spin_destroy(s);
	csx_spin_unlock(s);
	CSX_CHECK_RC(rc, -CSX_EBUSY);
	CSX_CHECK_OK(csx_spin_destroy(s));
}

/* ---- Reader/writer lock --------------------------------------------------- */

#define N_READERS 3

static struct csx_rwlock *rwlock;
static long readers_in;
static long writers_in;
static long max_readers;
static long writer_got_it;

/*
 * Each reader holds the lock until it has seen all the others inside too
 * (or patience runs out): only a shared lock lets them all meet.
 */
static int meeting_reader(void *unused)
{
	uint64_t end = csx_time_ns() + CSX_TEST_PATIENCE_NS;
	int rc = csx_rwlock_read(rwlock);

	if (rc)
		return rc;
	csx_test_max(&max_readers, csx_test_inc(&readers_in));
	while (csx_test_load(&max_readers) < N_READERS && csx_time_ns() < end)
		csx_thread_sleep(CSX_NSEC_PER_MSEC);
	csx_test_dec(&readers_in);
	return csx_rwlock_unlock(rwlock);
}

CSX_TEST(rwlock_readers_share)
{
	struct csx_test_workers w;
	int rc;

	csx_test_store(&readers_in, 0);
	csx_test_store(&max_readers, 0);
	CSX_CHECK_OK(csx_rwlock_create(&rwlock));
	rc = csx_test_workers_start(&w, N_READERS, meeting_reader, NULL, 0);
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_rwlock_destroy(rwlock));
	CSX_CHECK_EQ(csx_test_load(&max_readers), N_READERS);
}

static int rw_reader(void *unused)
{
	int i, rc;

	for (i = 0; i < LOCK_ROUNDS; i++) {
		rc = csx_rwlock_read(rwlock);
		if (rc)
			return rc;
		csx_test_inc(&readers_in);
		if (csx_test_load(&writers_in) != 0)
			csx_test_inc(&overlaps);
		csx_test_dec(&readers_in);
		rc = csx_rwlock_unlock(rwlock);
		if (rc)
			return rc;
	}
	return 0;
}

static int rw_writer(void *unused)
{
	int i, rc;

	for (i = 0; i < LOCK_ROUNDS; i++) {
		rc = csx_rwlock_write(rwlock);
		if (rc)
			return rc;
		if (csx_test_inc(&writers_in) != 1 ||
		    csx_test_load(&readers_in) != 0)
			csx_test_inc(&overlaps);
		plain_counter++;
		csx_test_dec(&writers_in);
		rc = csx_rwlock_unlock(rwlock);
		if (rc)
			return rc;
	}
	return 0;
}

static int rw_mixed(void *arg)
{
	return *(const int *)arg ? rw_writer(NULL) : rw_reader(NULL);
}

CSX_TEST(rwlock_writer_excludes)
{
	static const int is_writer[N_WORKERS] = { 1, 0, 1, 0 };
	struct csx_test_workers w;
	int rc;

	csx_test_store(&readers_in, 0);
	csx_test_store(&writers_in, 0);
	csx_test_store(&overlaps, 0);
	plain_counter = 0;
	CSX_CHECK_OK(csx_rwlock_create(&rwlock));
	rc = csx_test_workers_start(&w, N_WORKERS, rw_mixed, (void *)is_writer,
				    sizeof(is_writer[0]));
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_rwlock_destroy(rwlock));
	CSX_CHECK_EQ(csx_test_load(&overlaps), 0);
	CSX_CHECK_EQ(plain_counter, 2 * LOCK_ROUNDS);
}

static int late_writer(void *unused)
{
	int rc = csx_rwlock_write(rwlock);

	if (rc)
		return rc;
	csx_test_store(&writer_got_it, 1);
	return csx_rwlock_unlock(rwlock);
}

CSX_TEST(rwlock_writer_waits_for_reader)
{
	struct csx_thread *t;
	long early;
	int code = -1;

	csx_test_store(&writer_got_it, 0);
	CSX_CHECK_OK(csx_rwlock_create(&rwlock));
	CSX_CHECK_OK(csx_rwlock_read(rwlock));
	CSX_CHECK_OK(
		csx_thread_create(&t, "csx-test-writer", late_writer, NULL));
	csx_test_settle();
	early = csx_test_load(&writer_got_it);
	CSX_CHECK_OK(csx_rwlock_unlock(rwlock));
	CSX_CHECK_OK(csx_thread_join(t, &code));
	CSX_CHECK_EQ(early, 0);
	CSX_CHECK_OK(code);
	CSX_CHECK_EQ(csx_test_load(&writer_got_it), 1);
	CSX_CHECK_OK(csx_rwlock_destroy(rwlock));
}

CSX_TEST(rwlock_misuse)
{
	struct csx_rwlock *rw;

	CSX_CHECK_RC(csx_rwlock_create(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_rwlock_read(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_rwlock_write(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_rwlock_unlock(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_rwlock_destroy(FOREIGN(csx_rwlock)), -CSX_EINVAL);
	CSX_CHECK_OK(csx_rwlock_create(&rw));
	CSX_CHECK_RC(csx_rwlock_unlock(rw), -CSX_EPERM);
	CSX_CHECK_OK(csx_rwlock_read(rw));
	CSX_CHECK_RC(csx_rwlock_destroy(rw), -CSX_EBUSY);
	CSX_CHECK_OK(csx_rwlock_unlock(rw));
	CSX_CHECK_OK(csx_rwlock_write(rw));
	CSX_CHECK_RC(csx_rwlock_destroy(rw), -CSX_EBUSY);
	CSX_CHECK_OK(csx_rwlock_unlock(rw));
	CSX_CHECK_OK(csx_rwlock_destroy(rw));
	CSX_CHECK_OK(csx_rwlock_destroy(NULL));
}

/* ---- Events --------------------------------------------------------------- */

#define N_WAITERS 3

static struct csx_event *event;
static long arrived;
static long released;

CSX_TEST(event_auto_poll)
{
	struct csx_event *ev;

	CSX_CHECK_OK(csx_event_create(&ev, CSX_EVENT_AUTO, false));
	CSX_CHECK_RC(csx_event_wait(ev, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_event_set(ev));
	CSX_CHECK_OK(csx_event_set(ev));
	/* Two sets without a waiter still release one wait: it is a flag. */
	CSX_CHECK_OK(csx_event_wait(ev, 0));
	CSX_CHECK_RC(csx_event_wait(ev, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_event_set(ev));
	CSX_CHECK_OK(csx_event_reset(ev));
	CSX_CHECK_RC(csx_event_wait(ev, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_event_destroy(ev));

	CSX_CHECK_OK(csx_event_create(&ev, CSX_EVENT_AUTO, true));
	CSX_CHECK_OK(csx_event_wait(ev, 0));
	CSX_CHECK_RC(csx_event_wait(ev, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_event_destroy(ev));
	CSX_CHECK_OK(csx_event_destroy(NULL));
}

CSX_TEST(event_manual_poll)
{
	struct csx_event *ev;

	CSX_CHECK_OK(csx_event_create(&ev, CSX_EVENT_MANUAL, false));
	CSX_CHECK_RC(csx_event_wait(ev, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_event_set(ev));
	CSX_CHECK_OK(csx_event_wait(ev, 0));
	CSX_CHECK_OK(csx_event_wait(ev, CSX_NSEC_PER_MSEC));
	CSX_CHECK_OK(csx_event_wait(ev, CSX_WAIT_FOREVER));
	CSX_CHECK_OK(csx_event_reset(ev));
	CSX_CHECK_RC(csx_event_wait(ev, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_event_destroy(ev));

	CSX_CHECK_OK(csx_event_create(&ev, CSX_EVENT_MANUAL, true));
	CSX_CHECK_OK(csx_event_wait(ev, 0));
	CSX_CHECK_OK(csx_event_wait(ev, 0));
	CSX_CHECK_OK(csx_event_destroy(ev));
}

CSX_TEST(event_timed_wait_times_out)
{
	struct csx_event *ev;
	int rc_auto, rc_manual;

	CSX_CHECK_OK(csx_event_create(&ev, CSX_EVENT_AUTO, false));
	rc_auto = csx_event_wait(ev, 5 * CSX_NSEC_PER_MSEC);
	CSX_CHECK_OK(csx_event_destroy(ev));
	CSX_CHECK_OK(csx_event_create(&ev, CSX_EVENT_MANUAL, false));
	rc_manual = csx_event_wait(ev, 5 * CSX_NSEC_PER_MSEC);
	CSX_CHECK_OK(csx_event_destroy(ev));
	CSX_CHECK_RC(rc_auto, -CSX_ETIMEDOUT);
	CSX_CHECK_RC(rc_manual, -CSX_ETIMEDOUT);
}

/* Bounded, so a waiter nobody releases ends the case instead of hanging. */
static int event_waiter(void *unused)
{
	int rc;

	csx_test_inc(&arrived);
	rc = csx_event_wait(event, CSX_TEST_PATIENCE_NS);
	if (!rc)
		csx_test_inc(&released);
	return rc;
}

static void start_waiters(struct csx_test_workers *w, csx_thread_fn fn, int *rc)
{
	csx_test_store(&arrived, 0);
	csx_test_store(&released, 0);
	*rc = csx_test_workers_start(w, N_WAITERS, fn, NULL, 0);
	/* Let them block: the outcome is the same if one is late. */
	CSX_EVENTUALLY(csx_test_load(&arrived) == (long)w->started);
	csx_test_settle();
}

/* Step the released count up one set at a time; records the counts seen. */
static void release_one_by_one(long seen[N_WAITERS + 1])
{
	unsigned int i;

	for (i = 1; i <= N_WAITERS; i++) {
		csx_event_set(event);
		CSX_EVENTUALLY(csx_test_load(&released) >= (long)i);
		/* A second waiter released by the same set shows up here. */
		csx_test_settle();
		seen[i] = csx_test_load(&released);
	}
}

CSX_TEST(event_auto_releases_one_per_set)
{
	long seen[N_WAITERS + 1] = { 0 };
	struct csx_test_workers w;
	unsigned int i;
	int rc;

	CSX_CHECK_OK(csx_event_create(&event, CSX_EVENT_AUTO, false));
	start_waiters(&w, event_waiter, &rc);
	seen[0] = csx_test_load(&released);
	release_one_by_one(seen);
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_event_destroy(event));
	for (i = 0; i <= N_WAITERS; i++)
		CSX_CHECK_EQ(seen[i], i);
}

CSX_TEST(event_manual_releases_all)
{
	struct csx_test_workers w;
	long before;
	int rc;

	CSX_CHECK_OK(csx_event_create(&event, CSX_EVENT_MANUAL, false));
	start_waiters(&w, event_waiter, &rc);
	before = csx_test_load(&released);
	csx_event_set(event);
	CSX_EVENTUALLY(csx_test_load(&released) == N_WAITERS);
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_EQ(before, 0);
	CSX_CHECK_EQ(csx_test_load(&released), N_WAITERS);
	/* Still set for whoever comes next. */
	CSX_CHECK_OK(csx_event_wait(event, 0));
	CSX_CHECK_OK(csx_event_destroy(event));
}

static long isr_set_rc = 1;
static struct csx_event *isr_event;

static enum csx_irqreturn set_event_isr(struct csx_intr *intr, void *ctx)
{
	csx_test_store(&isr_set_rc, csx_event_set(isr_event));
	return CSX_IRQ_HANDLED;
}

static void set_event_dpc(struct csx_dpc *dpc, void *ctx)
{
	csx_event_set(ctx);
}

/* The usual driver pattern: the ISR or DPC signals a waiting thread. */
CSX_TEST(event_set_from_isr_and_dpc)
{
	struct csx_event *dpc_event;
	struct csx_intr *intr;
	struct csx_dpc *dpc;

	csx_test_store(&isr_set_rc, 1);
	CSX_CHECK_OK(csx_event_create(&isr_event, CSX_EVENT_AUTO, false));
	CSX_CHECK_OK(csx_event_create(&dpc_event, CSX_EVENT_AUTO, false));
	CSX_CHECK_OK(csx_intr_attach_soft(set_event_isr, NULL, &intr));
	CSX_CHECK_OK(csx_dpc_create(&dpc, set_event_dpc, dpc_event));
	CSX_CHECK_OK(csx_intr_raise(intr));
	CSX_CHECK_OK(csx_event_wait(isr_event, CSX_TEST_PATIENCE_NS));
	CSX_CHECK_EQ(csx_test_load(&isr_set_rc), 0);
	CSX_CHECK_RC(csx_dpc_queue(dpc), 0);
	CSX_CHECK_OK(csx_event_wait(dpc_event, CSX_TEST_PATIENCE_NS));
	CSX_CHECK_OK(csx_intr_detach(intr));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
	CSX_CHECK_OK(csx_event_destroy(isr_event));
	CSX_CHECK_OK(csx_event_destroy(dpc_event));
}

CSX_TEST(event_bad_arguments)
{
	struct csx_event *ev;

	CSX_CHECK_RC(csx_event_create(NULL, CSX_EVENT_AUTO, false),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_event_create(&ev, (enum csx_event_type)7, false),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_event_set(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_event_reset(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_event_wait(NULL, 0), -CSX_EINVAL);
	CSX_CHECK_RC(csx_event_destroy(FOREIGN(csx_event)), -CSX_EINVAL);
	CSX_CHECK_OK(csx_event_create(&ev, CSX_EVENT_MANUAL, true));
	/* Negative timeouts other than "forever" are refused, even when set. */
	CSX_CHECK_RC(csx_event_wait(ev, -1), -CSX_EINVAL);
	CSX_CHECK_RC(csx_event_wait(ev, -(int64_t)CSX_NSEC_PER_SEC),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_event_wait(ev, -CSX_WAIT_FOREVER - 1), -CSX_EINVAL);
	CSX_CHECK_OK(csx_event_destroy(ev));
}

/* ---- Semaphores ----------------------------------------------------------- */

#define SEM_ITEMS 1000

static struct csx_sem *sem;

CSX_TEST(sem_counts)
{
	struct csx_sem *s;
	int i;

	CSX_CHECK_OK(csx_sem_create(&s, 3));
	for (i = 0; i < 3; i++)
		CSX_CHECK_OK(csx_sem_down(s, 0));
	CSX_CHECK_RC(csx_sem_down(s, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_RC(csx_sem_down(s, 5 * CSX_NSEC_PER_MSEC), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_sem_up(s));
	CSX_CHECK_OK(csx_sem_up(s));
	CSX_CHECK_OK(csx_sem_down(s, 0));
	CSX_CHECK_OK(csx_sem_down(s, CSX_WAIT_FOREVER));
	CSX_CHECK_RC(csx_sem_down(s, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_sem_destroy(s));
	CSX_CHECK_OK(csx_sem_destroy(NULL));
}

static int sem_waiter(void *unused)
{
	int rc;

	csx_test_inc(&arrived);
	rc = csx_sem_down(sem, CSX_TEST_PATIENCE_NS);
	if (!rc)
		csx_test_inc(&released);
	return rc;
}

CSX_TEST(sem_up_releases_one_waiter)
{
	long seen[N_WAITERS + 1] = { 0 };
	struct csx_test_workers w;
	unsigned int i;
	int rc;

	CSX_CHECK_OK(csx_sem_create(&sem, 0));
	start_waiters(&w, sem_waiter, &rc);
	seen[0] = csx_test_load(&released);
	for (i = 1; i <= N_WAITERS; i++) {
		csx_sem_up(sem);
		CSX_EVENTUALLY(csx_test_load(&released) >= (long)i);
		csx_test_settle();
		seen[i] = csx_test_load(&released);
	}
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_RC(csx_sem_down(sem, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_sem_destroy(sem));
	for (i = 0; i <= N_WAITERS; i++)
		CSX_CHECK_EQ(seen[i], i);
}

static int sem_producer(void *unused)
{
	int i, rc;

	for (i = 0; i < SEM_ITEMS; i++) {
		rc = csx_sem_up(sem);
		if (rc)
			return rc;
	}
	return 0;
}

static int sem_consumer(void *unused)
{
	int i, rc;

	for (i = 0; i < SEM_ITEMS; i++) {
		rc = csx_sem_down(sem, CSX_TEST_PATIENCE_NS);
		if (rc)
			return rc;
	}
	return 0;
}

static int sem_mixed(void *arg)
{
	return *(const int *)arg ? sem_producer(NULL) : sem_consumer(NULL);
}

/* Every up is consumed by exactly one down: none lost, none invented. */
CSX_TEST(sem_producers_consumers)
{
	static const int is_producer[N_WORKERS] = { 0, 1, 0, 1 };
	struct csx_test_workers w;
	int rc;

	CSX_CHECK_OK(csx_sem_create(&sem, 0));
	rc = csx_test_workers_start(&w, N_WORKERS, sem_mixed,
				    (void *)is_producer,
				    sizeof(is_producer[0]));
	CSX_CHECK_OK(csx_test_workers_join(&w));
	CSX_CHECK_OK(rc);
	CSX_CHECK_RC(csx_sem_down(sem, 0), -CSX_ETIMEDOUT);
	CSX_CHECK_OK(csx_sem_destroy(sem));
}

CSX_TEST(sem_bad_arguments)
{
	struct csx_sem *s;

	CSX_CHECK_RC(csx_sem_create(NULL, 0), -CSX_EINVAL);
	CSX_CHECK_RC(csx_sem_up(NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_sem_down(NULL, 0), -CSX_EINVAL);
	CSX_CHECK_RC(csx_sem_destroy(FOREIGN(csx_sem)), -CSX_EINVAL);
	CSX_CHECK_OK(csx_sem_create(&s, 1));
	CSX_CHECK_RC(csx_sem_down(s, -1), -CSX_EINVAL);
	CSX_CHECK_RC(csx_sem_down(s, -(int64_t)CSX_NSEC_PER_MSEC), -CSX_EINVAL);
	/* The refused calls took nothing. */
	CSX_CHECK_OK(csx_sem_down(s, 0));
	CSX_CHECK_OK(csx_sem_destroy(s));
}

static const struct csx_test_case sync_cases[] = {
	CSX_TEST_CASE(mutex_lock_trylock_unlock),
	CSX_TEST_CASE(mutex_excludes_threads),
	CSX_TEST_CASE_MISUSE(mutex_misuse),
	CSX_TEST_CASE_MISUSE(mutex_bad_handles),
	CSX_TEST_CASE(spin_excludes_threads_and_dpcs),
	CSX_TEST_CASE(spin_holder_is_atomic),
	CSX_TEST_CASE_MISUSE(spin_misuse),
	CSX_TEST_CASE(rwlock_readers_share),
	CSX_TEST_CASE(rwlock_writer_excludes),
	CSX_TEST_CASE(rwlock_writer_waits_for_reader),
	CSX_TEST_CASE_MISUSE(rwlock_misuse),
	CSX_TEST_CASE(event_auto_poll),
	CSX_TEST_CASE(event_manual_poll),
	CSX_TEST_CASE(event_timed_wait_times_out),
	CSX_TEST_CASE(event_auto_releases_one_per_set),
	CSX_TEST_CASE(event_manual_releases_all),
	CSX_TEST_CASE(event_set_from_isr_and_dpc),
	CSX_TEST_CASE_MISUSE(event_bad_arguments),
	CSX_TEST_CASE(sem_counts),
	CSX_TEST_CASE(sem_up_releases_one_waiter),
	CSX_TEST_CASE(sem_producers_consumers),
	CSX_TEST_CASE_MISUSE(sem_bad_arguments),
};
CSX_TEST_SUITE(sync, sync_cases);
