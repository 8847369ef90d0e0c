/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: mutexes, spinlocks, reader/writer locks, events and
 * semaphores on POSIX threads and futexes. The core has checked handles,
 * contexts and ownership; a pthread error here is a corrupted object.
 */
#include "csx_user_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

/* ---- Mutex --------------------------------------------------------------- */

struct csx_os_mutex {
	pthread_mutex_t m;
};

int csx_os_mutex_create(struct csx_os_mutex **out)
{
	struct csx_os_mutex *m = malloc(sizeof(*m));
	int err;

	if (!m)
		return -CSX_ENOMEM;
	err = pthread_mutex_init(&m->m, NULL);
	if (err) {
		free(m);
		return csx__user_status(err);
	}
	*out = m;
	return 0;
}

void csx_os_mutex_destroy(struct csx_os_mutex *m)
{
	csx__user_check(pthread_mutex_destroy(&m->m), "pthread_mutex_destroy");
	free(m);
}

void csx_os_mutex_lock(struct csx_os_mutex *m)
{
	csx__user_check(pthread_mutex_lock(&m->m), "pthread_mutex_lock");
}

bool csx_os_mutex_trylock(struct csx_os_mutex *m)
{
	return pthread_mutex_trylock(&m->m) == 0;
}

void csx_os_mutex_unlock(struct csx_os_mutex *m)
{
	csx__user_check(pthread_mutex_unlock(&m->m), "pthread_mutex_unlock");
}

/* ---- Spinlock ------------------------------------------------------------ */

/*
 * Spin, then sleep on a futex. Pure spinning is unsafe in user mode: the
 * holder can be preempted, and a SCHED_FIFO DPC executor spinning on its
 * CPU would then never let it run again.
 * Word: 0 free, 1 held, 2 held and someone may sleep on it.
 */
struct csx_os_spinlock {
	uint32_t word;
} __attribute__((aligned(CSX_USER_CACHELINE)));

int csx_os_spin_create(struct csx_os_spinlock **out)
{
	struct csx_os_spinlock *s;

	s = aligned_alloc(CSX_USER_CACHELINE, sizeof(*s));
	if (!s)
		return -CSX_ENOMEM;
	s->word = 0;
	*out = s;
	return 0;
}

void csx_os_spin_destroy(struct csx_os_spinlock *s)
{
	free(s);
}

static void csx_user_spin_slow(struct csx_os_spinlock *s)
{
	uint32_t free_word;
	int i;

	for (i = 0; i < CSX_USER_SPIN_LOOPS; i++) {
		csx_user_cpu_relax();
		free_word = 0;
		if (!__atomic_load_n(&s->word, __ATOMIC_RELAXED) &&
		    __atomic_compare_exchange_n(&s->word, &free_word, 1, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
	}
	/* Taken as 2: whoever unlocks must assume a sleeper and wake. */
	while (__atomic_exchange_n(&s->word, 2, __ATOMIC_ACQUIRE))
		csx_user_futex_wait(&s->word, 2, NULL);
}

void csx_os_spin_lock(struct csx_os_spinlock *s)
{
	uint32_t free_word = 0;

	csx__user_tls.atomic_depth++;
	if (csx_user_unlikely(!__atomic_compare_exchange_n(
		    &s->word, &free_word, 1, false, __ATOMIC_ACQUIRE,
		    __ATOMIC_RELAXED)))
		csx_user_spin_slow(s);
}

void csx_os_spin_unlock(struct csx_os_spinlock *s)
{
	if (csx_user_unlikely(
		    __atomic_exchange_n(&s->word, 0, __ATOMIC_RELEASE) == 2))
		csx_user_futex_wake(&s->word, 1);
	csx__user_tls.atomic_depth--;
}

/* ---- Reader/writer lock -------------------------------------------------- */

struct csx_os_rwlock {
	pthread_rwlock_t rw;
};

int csx_os_rwlock_create(struct csx_os_rwlock **out)
{
	struct csx_os_rwlock *rw = malloc(sizeof(*rw));
	int err;

	if (!rw)
		return -CSX_ENOMEM;
	err = pthread_rwlock_init(&rw->rw, NULL);
	if (err) {
		free(rw);
		return csx__user_status(err);
	}
	*out = rw;
	return 0;
}

void csx_os_rwlock_destroy(struct csx_os_rwlock *rw)
{
	csx__user_check(pthread_rwlock_destroy(&rw->rw),
			"pthread_rwlock_destroy");
	free(rw);
}

void csx_os_rwlock_read(struct csx_os_rwlock *rw)
{
	csx__user_check(pthread_rwlock_rdlock(&rw->rw),
			"pthread_rwlock_rdlock");
}

void csx_os_rwlock_write(struct csx_os_rwlock *rw)
{
	csx__user_check(pthread_rwlock_wrlock(&rw->rw),
			"pthread_rwlock_wrlock");
}

void csx_os_rwlock_read_unlock(struct csx_os_rwlock *rw)
{
	csx__user_check(pthread_rwlock_unlock(&rw->rw),
			"pthread_rwlock_unlock");
}

void csx_os_rwlock_write_unlock(struct csx_os_rwlock *rw)
{
	csx__user_check(pthread_rwlock_unlock(&rw->rw),
			"pthread_rwlock_unlock");
}

/* ---- Mutex + condition variable on CLOCK_MONOTONIC ----------------------- */

struct csx_user_monitor {
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static int csx_user_monitor_init(struct csx_user_monitor *mon)
{
	pthread_condattr_t attr;
	int err;

	err = pthread_mutex_init(&mon->lock, NULL);
	if (err)
		return csx__user_status(err);
	err = pthread_condattr_init(&attr);
	if (!err) {
		err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		if (!err)
			err = pthread_cond_init(&mon->cond, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (err) {
		pthread_mutex_destroy(&mon->lock);
		return csx__user_status(err);
	}
	return 0;
}

static void csx_user_monitor_destroy(struct csx_user_monitor *mon)
{
	csx__user_check(pthread_cond_destroy(&mon->cond),
			"pthread_cond_destroy");
	csx__user_check(pthread_mutex_destroy(&mon->lock),
			"pthread_mutex_destroy");
}

static void csx_user_monitor_lock(struct csx_user_monitor *mon)
{
	csx__user_check(pthread_mutex_lock(&mon->lock), "pthread_mutex_lock");
}

static void csx_user_monitor_unlock(struct csx_user_monitor *mon)
{
	csx__user_check(pthread_mutex_unlock(&mon->lock),
			"pthread_mutex_unlock");
}

/* Wait once, until woken or @deadline (NULL: forever). true: timed out. */
static bool csx_user_monitor_wait(struct csx_user_monitor *mon,
				  const struct timespec *deadline)
{
	int err;

	if (!deadline) {
		err = pthread_cond_wait(&mon->cond, &mon->lock);
	} else {
		err = pthread_cond_timedwait(&mon->cond, &mon->lock, deadline);
		if (err == ETIMEDOUT)
			return true;
	}
	csx__user_check(err, "pthread_cond_wait");
	return false;
}

/* ---- Events -------------------------------------------------------------- */

struct csx_os_event {
	struct csx_user_monitor mon;
	bool manual;
	bool set;
	/*
	 * Manual: bumped by every set, so the threads waiting at that moment
	 * are released even if the event is reset before they get to run.
	 */
	uint64_t sets;
	/*
	 * Auto: a set while threads wait hands the event to one of them
	 * (grants) instead of setting it, so two sets release two waiters
	 * even when the first has not run yet.
	 */
	unsigned int waiters;
	unsigned int grants;
};

int csx_os_event_create(struct csx_os_event **out, bool manual, bool set)
{
	struct csx_os_event *ev = calloc(1, sizeof(*ev));
	int ret;

	if (!ev)
		return -CSX_ENOMEM;
	ret = csx_user_monitor_init(&ev->mon);
	if (ret) {
		free(ev);
		return ret;
	}
	ev->manual = manual;
	ev->set = set;
	*out = ev;
	return 0;
}

void csx_os_event_destroy(struct csx_os_event *ev)
{
	csx_user_monitor_destroy(&ev->mon);
	free(ev);
}

void csx_os_event_set(struct csx_os_event *ev)
{
	csx_user_monitor_lock(&ev->mon);
	if (ev->manual) {
		ev->set = true;
		ev->sets++;
		pthread_cond_broadcast(&ev->mon.cond);
	} else if (ev->waiters > ev->grants) {
		ev->grants++;
		pthread_cond_signal(&ev->mon.cond);
	} else {
		ev->set = true;
	}
	csx_user_monitor_unlock(&ev->mon);
}

void csx_os_event_reset(struct csx_os_event *ev)
{
	csx_user_monitor_lock(&ev->mon);
	ev->set = false;
	csx_user_monitor_unlock(&ev->mon);
}

/* Has the event released this waiter? Consumes it if auto. */
static bool csx_user_event_take(struct csx_os_event *ev, uint64_t sets0)
{
	if (ev->manual)
		return ev->set || ev->sets != sets0;
	if (ev->grants) {
		ev->grants--;
		return true;
	}
	if (!ev->set)
		return false;
	ev->set = false;
	return true;
}

int csx_os_event_wait(struct csx_os_event *ev, int64_t timeout_ns)
{
	struct timespec ts, *deadline = NULL;
	bool timed_out = false;
	uint64_t sets0;
	int ret = 0;

	if (timeout_ns > 0 && timeout_ns != CSX_WAIT_FOREVER) {
		csx__user_deadline(&ts, timeout_ns);
		deadline = &ts;
	}
	csx_user_monitor_lock(&ev->mon);
	sets0 = ev->sets;
	ev->waiters++;
	while (!csx_user_event_take(ev, sets0)) {
		if (!timeout_ns || timed_out) {
			ret = -CSX_ETIMEDOUT;
			break;
		}
		timed_out = csx_user_monitor_wait(&ev->mon, deadline);
	}
	ev->waiters--;
	csx_user_monitor_unlock(&ev->mon);
	return ret;
}

/* ---- Semaphores ---------------------------------------------------------- */

struct csx_os_sem {
	struct csx_user_monitor mon;
	unsigned int count;
	unsigned int waiters;
};

int csx_os_sem_create(struct csx_os_sem **out, unsigned int initial)
{
	struct csx_os_sem *s = malloc(sizeof(*s));
	int ret;

	if (!s)
		return -CSX_ENOMEM;
	ret = csx_user_monitor_init(&s->mon);
	if (ret) {
		free(s);
		return ret;
	}
	s->count = initial;
	s->waiters = 0;
	*out = s;
	return 0;
}

void csx_os_sem_destroy(struct csx_os_sem *s)
{
	csx_user_monitor_destroy(&s->mon);
	free(s);
}

void csx_os_sem_up(struct csx_os_sem *s)
{
	csx_user_monitor_lock(&s->mon);
	if (s->count < UINT_MAX) /* the core reports the overflow */
		s->count++;
	if (s->waiters)
		pthread_cond_signal(&s->mon.cond);
	csx_user_monitor_unlock(&s->mon);
}

int csx_os_sem_down(struct csx_os_sem *s, int64_t timeout_ns)
{
	struct timespec ts, *deadline = NULL;
	bool timed_out = false;
	int ret = 0;

	if (timeout_ns > 0 && timeout_ns != CSX_WAIT_FOREVER) {
		csx__user_deadline(&ts, timeout_ns);
		deadline = &ts;
	}
	csx_user_monitor_lock(&s->mon);
	while (!s->count && timeout_ns && !timed_out) {
		s->waiters++;
		timed_out = csx_user_monitor_wait(&s->mon, deadline);
		s->waiters--;
	}
	if (s->count)
		s->count--;
	else
		ret = -CSX_ETIMEDOUT;
	csx_user_monitor_unlock(&s->mon);
	return ret;
}
