/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Mutexes, spinlocks, reader/writer locks, events and semaphores.
 *
 * The back end supplies the blocking; the core tracks who holds what (owner
 * thread, reader count, waiter count) so misuse that would deadlock or
 * corrupt a lock is refused with a status instead: relocking an owned mutex,
 * unlocking one held by another thread, destroying a held lock or an event
 * somebody waits on.
 */
#include "csx_core.h"

struct csx_mutex {
	uint32_t magic;
	struct csx_os_mutex *os;
	uintptr_t owner; /* csx_os_thread_id() of the holder, or 0 */
};

struct csx_spinlock {
	uint32_t magic;
	struct csx_os_spinlock *os;
	uintptr_t holder;
};

struct csx_rwlock {
	uint32_t magic;
	uint32_t readers;
	struct csx_os_rwlock *os;
	uintptr_t writer;
};

struct csx_event {
	uint32_t magic;
	uint32_t waiters;
	struct csx_os_event *os;
};

struct csx_sem {
	uint32_t magic;
	uint32_t waiters;
	/*
	 * Upper bound of the back end's count: raised before csx_os_sem_up(),
	 * lowered after csx_os_sem_down(), so it never under-counts and
	 * keeping it at or below CSX__SEM_MAX bounds the real count too.
	 */
	uint32_t count;
	struct csx_os_sem *os;
};

static uintptr_t csx__self(void)
{
	return csx_os_thread_id();
}

static uintptr_t csx__load_ptr(uintptr_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void csx__store_ptr(uintptr_t *p, uintptr_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static int csx__check_timeout(const char *func, int64_t timeout_ns)
{
	if (timeout_ns < 0 && timeout_ns != CSX_WAIT_FOREVER) {
		csx_err("%s(): negative timeout %lld", func,
			(long long)timeout_ns);
		return -CSX_EINVAL;
	}
	if (timeout_ns == 0)
		return 0; /* polling is allowed everywhere */
	return csx__might_sleep(func);
}

/* ---- Mutex ------------------------------------------------------------- */

int csx_mutex_create(struct csx_mutex **out)
{
	struct csx_mutex *m;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	m = csx__zalloc(sizeof(*m));
	if (!m)
		return -CSX_ENOMEM;
	ret = csx_os_mutex_create(&m->os);
	if (ret) {
		csx__free(m);
		return ret;
	}
	m->magic = CSX__MAGIC_MUTEX;
	csx__live_inc(CSX__T_MUTEX);
	*out = m;
	return 0;
}

int csx_mutex_destroy(struct csx_mutex *m)
{
	if (!m)
		return 0;
	if (!csx__magic_ok(m, CSX__MAGIC_MUTEX))
		return csx__bad_handle(__func__, m);
	if (csx__load_ptr(&m->owner)) {
		csx_err("csx_mutex_destroy(): mutex %p is held", (void *)m);
		return -CSX_EBUSY;
	}
	csx__magic_set(m, CSX__MAGIC_DEAD);
	csx_os_mutex_destroy(m->os);
	csx__retire(m);
	csx__live_dec(CSX__T_MUTEX);
	return 0;
}

int csx_mutex_lock(struct csx_mutex *m)
{
	int ret;

	if (!csx__magic_ok(m, CSX__MAGIC_MUTEX))
		return csx__bad_handle(__func__, m);
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (csx__load_ptr(&m->owner) == csx__self()) {
		csx_err("csx_mutex_lock(): mutex %p already held by the caller",
			(void *)m);
		return -CSX_EDEADLK;
	}
	csx_os_mutex_lock(m->os);
	csx__store_ptr(&m->owner, csx__self());
	return 0;
}

int csx_mutex_trylock(struct csx_mutex *m)
{
	if (!csx__magic_ok(m, CSX__MAGIC_MUTEX))
		return csx__bad_handle(__func__, m);
	if (!csx_os_mutex_trylock(m->os))
		return -CSX_EBUSY;
	csx__store_ptr(&m->owner, csx__self());
	return 0;
}

int csx_mutex_unlock(struct csx_mutex *m)
{
	if (!csx__magic_ok(m, CSX__MAGIC_MUTEX))
		return csx__bad_handle(__func__, m);
	if (csx__load_ptr(&m->owner) != csx__self()) {
		csx_err("csx_mutex_unlock(): mutex %p not held by the caller",
			(void *)m);
		return -CSX_EPERM;
	}
	csx__store_ptr(&m->owner, 0);
	csx_os_mutex_unlock(m->os);
	return 0;
}

/* ---- Spinlock ---------------------------------------------------------- */

int csx_spin_create(struct csx_spinlock **out)
{
	struct csx_spinlock *s;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	s = csx__zalloc(sizeof(*s));
	if (!s)
		return -CSX_ENOMEM;
	ret = csx_os_spin_create(&s->os);
	if (ret) {
		csx__free(s);
		return ret;
	}
	s->magic = CSX__MAGIC_SPIN;
	csx__live_inc(CSX__T_SPIN);
	*out = s;
	return 0;
}

int csx_spin_destroy(struct csx_spinlock *s)
{
	if (!s)
		return 0;
	if (!csx__magic_ok(s, CSX__MAGIC_SPIN))
		return csx__bad_handle(__func__, s);
	if (csx__load_ptr(&s->holder)) {
		csx_err("csx_spin_destroy(): spinlock %p is held", (void *)s);
		return -CSX_EBUSY;
	}
	csx__magic_set(s, CSX__MAGIC_DEAD);
	csx_os_spin_destroy(s->os);
	csx__retire(s);
	csx__live_dec(CSX__T_SPIN);
	return 0;
}

static csx__cold void csx__spin_misuse(const char *func, const void *s,
				       const char *what)
{
	csx_err("%s(): spinlock %p %s", func, s, what);
	csx__misuse(what);
}

void csx_spin_lock(struct csx_spinlock *s)
{
	if (!csx__magic_ok(s, CSX__MAGIC_SPIN)) {
		csx__bad_handle(__func__, s);
		csx__misuse("bad spinlock handle");
		return;
	}
	/* Relocking would spin forever: refuse it loudly instead. */
	if (csx__unlikely(csx__load_ptr(&s->holder) == csx__self())) {
		csx__spin_misuse(__func__, s, "already held by the caller");
		return;
	}
	csx_os_spin_lock(s->os);
	csx__store_ptr(&s->holder, csx__self());
}

void csx_spin_unlock(struct csx_spinlock *s)
{
	if (!csx__magic_ok(s, CSX__MAGIC_SPIN)) {
		csx__bad_handle(__func__, s);
		csx__misuse("bad spinlock handle");
		return;
	}
	if (csx__unlikely(csx__load_ptr(&s->holder) != csx__self())) {
		csx__spin_misuse(__func__, s, "not held by the caller");
		return;
	}
	csx__store_ptr(&s->holder, 0);
	csx_os_spin_unlock(s->os);
}

/* ---- Reader/writer lock ------------------------------------------------ */

int csx_rwlock_create(struct csx_rwlock **out)
{
	struct csx_rwlock *rw;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	rw = csx__zalloc(sizeof(*rw));
	if (!rw)
		return -CSX_ENOMEM;
	ret = csx_os_rwlock_create(&rw->os);
	if (ret) {
		csx__free(rw);
		return ret;
	}
	rw->magic = CSX__MAGIC_RWLOCK;
	csx__live_inc(CSX__T_RWLOCK);
	*out = rw;
	return 0;
}

int csx_rwlock_destroy(struct csx_rwlock *rw)
{
	if (!rw)
		return 0;
	if (!csx__magic_ok(rw, CSX__MAGIC_RWLOCK))
		return csx__bad_handle(__func__, rw);
	if (__atomic_load_n(&rw->readers, __ATOMIC_RELAXED) ||
	    csx__load_ptr(&rw->writer)) {
		csx_err("csx_rwlock_destroy(): rwlock %p is held", (void *)rw);
		return -CSX_EBUSY;
	}
	csx__magic_set(rw, CSX__MAGIC_DEAD);
	csx_os_rwlock_destroy(rw->os);
	csx__retire(rw);
	csx__live_dec(CSX__T_RWLOCK);
	return 0;
}

/* Taking it again while writing would block on ourselves forever. */
static int csx__rwlock_enter(const char *func, struct csx_rwlock *rw)
{
	int ret;

	if (!csx__magic_ok(rw, CSX__MAGIC_RWLOCK))
		return csx__bad_handle(func, rw);
	ret = csx__might_sleep(func);
	if (ret)
		return ret;
	if (csx__load_ptr(&rw->writer) == csx__self()) {
		csx_err("%s(): rwlock %p already write-held by the caller",
			func, (void *)rw);
		return -CSX_EDEADLK;
	}
	return 0;
}

int csx_rwlock_read(struct csx_rwlock *rw)
{
	int ret = csx__rwlock_enter(__func__, rw);

	if (ret)
		return ret;
	csx_os_rwlock_read(rw->os);
	__atomic_add_fetch(&rw->readers, 1, __ATOMIC_RELAXED);
	return 0;
}

int csx_rwlock_write(struct csx_rwlock *rw)
{
	int ret = csx__rwlock_enter(__func__, rw);

	if (ret)
		return ret;
	csx_os_rwlock_write(rw->os);
	csx__store_ptr(&rw->writer, csx__self());
	return 0;
}

/* Drop one reader if there is any; false when no reader holds it. */
static bool csx__rwlock_drop_reader(struct csx_rwlock *rw)
{
	uint32_t n = __atomic_load_n(&rw->readers, __ATOMIC_RELAXED);

	do {
		if (n == 0)
			return false;
	} while (!__atomic_compare_exchange_n(&rw->readers, &n, n - 1, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

int csx_rwlock_unlock(struct csx_rwlock *rw)
{
	if (!csx__magic_ok(rw, CSX__MAGIC_RWLOCK))
		return csx__bad_handle(__func__, rw);
	if (csx__load_ptr(&rw->writer) == csx__self()) {
		csx__store_ptr(&rw->writer, 0);
		csx_os_rwlock_write_unlock(rw->os);
		return 0;
	}
	/* Readers are not tracked per thread: any reader may drop one. */
	if (csx__rwlock_drop_reader(rw)) {
		csx_os_rwlock_read_unlock(rw->os);
		return 0;
	}
	csx_err("csx_rwlock_unlock(): rwlock %p not held by the caller",
		(void *)rw);
	return -CSX_EPERM;
}

/* ---- Event ------------------------------------------------------------- */

int csx_event_create(struct csx_event **out, enum csx_event_type type,
		     bool initially_set)
{
	struct csx_event *ev;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (type != CSX_EVENT_AUTO && type != CSX_EVENT_MANUAL)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	ev = csx__zalloc(sizeof(*ev));
	if (!ev)
		return -CSX_ENOMEM;
	ret = csx_os_event_create(&ev->os, type == CSX_EVENT_MANUAL,
				  initially_set);
	if (ret) {
		csx__free(ev);
		return ret;
	}
	ev->magic = CSX__MAGIC_EVENT;
	csx__live_inc(CSX__T_EVENT);
	*out = ev;
	return 0;
}

int csx_event_destroy(struct csx_event *ev)
{
	if (!ev)
		return 0;
	if (!csx__magic_ok(ev, CSX__MAGIC_EVENT))
		return csx__bad_handle(__func__, ev);
	if (__atomic_load_n(&ev->waiters, __ATOMIC_ACQUIRE)) {
		csx_err("csx_event_destroy(): a thread waits on event %p",
			(void *)ev);
		return -CSX_EBUSY;
	}
	csx__magic_set(ev, CSX__MAGIC_DEAD);
	csx_os_event_destroy(ev->os);
	csx__retire(ev);
	csx__live_dec(CSX__T_EVENT);
	return 0;
}

int csx_event_set(struct csx_event *ev)
{
	if (!csx__magic_ok(ev, CSX__MAGIC_EVENT))
		return csx__bad_handle(__func__, ev);
	csx_os_event_set(ev->os);
	return 0;
}

int csx_event_reset(struct csx_event *ev)
{
	if (!csx__magic_ok(ev, CSX__MAGIC_EVENT))
		return csx__bad_handle(__func__, ev);
	csx_os_event_reset(ev->os);
	return 0;
}

int csx_event_wait(struct csx_event *ev, int64_t timeout_ns)
{
	int ret;

	if (!csx__magic_ok(ev, CSX__MAGIC_EVENT))
		return csx__bad_handle(__func__, ev);
	ret = csx__check_timeout(__func__, timeout_ns);
	if (ret)
		return ret;
	__atomic_add_fetch(&ev->waiters, 1, __ATOMIC_ACQ_REL);
	ret = csx_os_event_wait(ev->os, timeout_ns);
	__atomic_sub_fetch(&ev->waiters, 1, __ATOMIC_ACQ_REL);
	return ret;
}

/* ---- Semaphore --------------------------------------------------------- */

int csx_sem_create(struct csx_sem **out, unsigned int initial)
{
	struct csx_sem *sem;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (initial > CSX__SEM_MAX)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	sem = csx__zalloc(sizeof(*sem));
	if (!sem)
		return -CSX_ENOMEM;
	ret = csx_os_sem_create(&sem->os, initial);
	if (ret) {
		csx__free(sem);
		return ret;
	}
	sem->count = initial;
	sem->magic = CSX__MAGIC_SEM;
	csx__live_inc(CSX__T_SEM);
	*out = sem;
	return 0;
}

int csx_sem_destroy(struct csx_sem *sem)
{
	if (!sem)
		return 0;
	if (!csx__magic_ok(sem, CSX__MAGIC_SEM))
		return csx__bad_handle(__func__, sem);
	if (__atomic_load_n(&sem->waiters, __ATOMIC_ACQUIRE)) {
		csx_err("csx_sem_destroy(): a thread waits on semaphore %p",
			(void *)sem);
		return -CSX_EBUSY;
	}
	csx__magic_set(sem, CSX__MAGIC_DEAD);
	csx_os_sem_destroy(sem->os);
	csx__retire(sem);
	csx__live_dec(CSX__T_SEM);
	return 0;
}

int csx_sem_up(struct csx_sem *sem)
{
	uint32_t n;

	if (!csx__magic_ok(sem, CSX__MAGIC_SEM))
		return csx__bad_handle(__func__, sem);
	n = __atomic_load_n(&sem->count, __ATOMIC_RELAXED);
	do {
		if (n >= CSX__SEM_MAX)
			return -CSX_EOVERFLOW;
	} while (!__atomic_compare_exchange_n(&sem->count, &n, n + 1, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	csx_os_sem_up(sem->os);
	return 0;
}

int csx_sem_down(struct csx_sem *sem, int64_t timeout_ns)
{
	int ret;

	if (!csx__magic_ok(sem, CSX__MAGIC_SEM))
		return csx__bad_handle(__func__, sem);
	ret = csx__check_timeout(__func__, timeout_ns);
	if (ret)
		return ret;
	__atomic_add_fetch(&sem->waiters, 1, __ATOMIC_ACQ_REL);
	ret = csx_os_sem_down(sem->os, timeout_ns);
	__atomic_sub_fetch(&sem->waiters, 1, __ATOMIC_ACQ_REL);
	if (ret == 0)
		__atomic_sub_fetch(&sem->count, 1, __ATOMIC_RELAXED);
	return ret;
}
