// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: mutexes, spinlocks, reader/writer locks (rw_semaphore),
 * events and semaphores (a wait queue whose lock guards the state).
 */
#include <linux/hrtimer.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "csx_kernel.h"

/* ---- Objects with their own lockdep class ------------------------------- */

/* Unbound: releases wait for grace periods side by side, not in a queue. */
static struct workqueue_struct *csx_k_keyed_wq;

int csx_k_keyed_start(void)
{
	if (!IS_ENABLED(CONFIG_LOCKDEP))
		return 0;
	csx_k_keyed_wq = alloc_workqueue("csx_lockdep", WQ_UNBOUND, 0);
	return csx_k_keyed_wq ? 0 : -CSX_ENOMEM;
}

void csx_k_keyed_stop(void)
{
	/* Drains: every object is freed, no work runs our code afterwards. */
	if (csx_k_keyed_wq)
		destroy_workqueue(csx_k_keyed_wq);
	csx_k_keyed_wq = NULL;
}

static void csx_k_keyed_release(struct work_struct *work)
{
	struct csx_k_keyed *k = container_of(work, struct csx_k_keyed, release);

	lockdep_unregister_key(&k->key);
	kfree(k->obj);
}

void csx_k_keyed_init(struct csx_k_keyed *k, void *obj)
{
	k->obj = obj;
	INIT_WORK(&k->release, csx_k_keyed_release);
	lockdep_register_key(&k->key);
}

void csx_k_keyed_free(struct csx_k_keyed *k)
{
	if (IS_ENABLED(CONFIG_LOCKDEP))
		queue_work(csx_k_keyed_wq, &k->release);
	else
		kfree(k->obj);
}

/* ---- Mutex ---------------------------------------------------------------- */

struct csx_os_mutex {
	struct mutex lock;
	struct csx_k_keyed keyed;
};

int csx_os_mutex_create(struct csx_os_mutex **out)
{
	struct csx_os_mutex *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return -CSX_ENOMEM;
	csx_k_keyed_init(&m->keyed, m);
	__mutex_init(&m->lock, "csx_mutex", &m->keyed.key);
	*out = m;
	return 0;
}

void csx_os_mutex_destroy(struct csx_os_mutex *m)
{
	mutex_destroy(&m->lock);
	csx_k_keyed_free(&m->keyed);
}

void csx_os_mutex_lock(struct csx_os_mutex *m)
{
	mutex_lock(&m->lock);
}

bool csx_os_mutex_trylock(struct csx_os_mutex *m)
{
	return mutex_trylock(&m->lock);
}

void csx_os_mutex_unlock(struct csx_os_mutex *m)
{
	mutex_unlock(&m->lock);
}

/* ---- Spinlock ------------------------------------------------------------- */

struct csx_os_spinlock {
	spinlock_t lock;
	/* How the holder took it; written and read by the holder only. */
	bool bh;
	struct csx_k_keyed keyed;
};

int csx_os_spin_create(struct csx_os_spinlock **out)
{
	struct csx_os_spinlock *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return -CSX_ENOMEM;
	csx_k_keyed_init(&s->keyed, s);
	spin_lock_init(&s->lock);
	lockdep_set_class_and_name(&s->lock, &s->keyed.key, "csx_spinlock");
	*out = s;
	return 0;
}

void csx_os_spin_destroy(struct csx_os_spinlock *s)
{
	csx_k_keyed_free(&s->keyed);
}

void csx_os_spin_lock(struct csx_os_spinlock *s)
{
	/*
	 * A thread disables bottom halves so that a DPC or timer on this CPU
	 * cannot spin forever on a lock the thread it interrupted holds. In a
	 * DPC, or with bottom halves or interrupts already off, a plain lock
	 * is enough (and _bh would be wrong with interrupts off).
	 */
	if (in_interrupt() || irqs_disabled()) {
		spin_lock(&s->lock);
		s->bh = false;
	} else {
		spin_lock_bh(&s->lock);
		s->bh = true;
	}
	csx_k_atomic_enter();
}

void csx_os_spin_unlock(struct csx_os_spinlock *s)
{
	csx_k_atomic_exit();
	if (s->bh)
		spin_unlock_bh(&s->lock);
	else
		spin_unlock(&s->lock);
}

/* ---- Reader/writer lock --------------------------------------------------- */

struct csx_os_rwlock {
	struct rw_semaphore sem;
	struct csx_k_keyed keyed;
};

int csx_os_rwlock_create(struct csx_os_rwlock **out)
{
	struct csx_os_rwlock *rw = kzalloc(sizeof(*rw), GFP_KERNEL);

	if (!rw)
		return -CSX_ENOMEM;
	csx_k_keyed_init(&rw->keyed, rw);
	__init_rwsem(&rw->sem, "csx_rwlock", &rw->keyed.key);
	*out = rw;
	return 0;
}

void csx_os_rwlock_destroy(struct csx_os_rwlock *rw)
{
	csx_k_keyed_free(&rw->keyed);
}

void csx_os_rwlock_read(struct csx_os_rwlock *rw)
{
	down_read(&rw->sem);
}

void csx_os_rwlock_write(struct csx_os_rwlock *rw)
{
	down_write(&rw->sem);
}

void csx_os_rwlock_read_unlock(struct csx_os_rwlock *rw)
{
	up_read(&rw->sem);
}

void csx_os_rwlock_write_unlock(struct csx_os_rwlock *rw)
{
	up_write(&rw->sem);
}

/* ---- Waiting (events and semaphores) -------------------------------------- */

/*
 * Wait on @wq until @take(@obj) succeeds under the queue's lock, or the
 * timeout passes. Exclusive waiters are woken one per wake_up_locked(), for
 * auto-reset events and semaphores; manual events wake everybody.
 */
static int csx_k_wait(wait_queue_head_t *wq, bool (*take)(void *obj), void *obj,
		      bool exclusive, int64_t timeout_ns)
{
	struct wait_queue_entry w;
	ktime_t end, *endp = NULL;
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&wq->lock, flags);
	if (take(obj))
		goto out_unlock;
	if (timeout_ns == 0) {
		ret = -CSX_ETIMEDOUT;
		goto out_unlock;
	}
	if (timeout_ns != CSX_WAIT_FOREVER) {
		end = ktime_add_safe(ktime_get(), ns_to_ktime(timeout_ns));
		endp = &end;
	}
	/* default_wake_function leaves us queued: a lost race re-waits. */
	init_waitqueue_entry(&w, current);
	if (exclusive)
		__add_wait_queue_entry_tail_exclusive(wq, &w);
	else
		__add_wait_queue(wq, &w);
	for (;;) {
		/* TASK_IDLE: a long wait is normal, not a hung task. */
		set_current_state(TASK_IDLE);
		spin_unlock_irqrestore(&wq->lock, flags);
		schedule_hrtimeout_range(endp, 0, HRTIMER_MODE_ABS);
		spin_lock_irqsave(&wq->lock, flags);
		if (take(obj))
			break;
		if (endp && !ktime_before(ktime_get(), end)) {
			ret = -CSX_ETIMEDOUT;
			break;
		}
	}
	__set_current_state(TASK_RUNNING);
	__remove_wait_queue(wq, &w);
out_unlock:
	spin_unlock_irqrestore(&wq->lock, flags);
	return ret;
}

/* ---- Event ---------------------------------------------------------------- */

struct csx_os_event {
	wait_queue_head_t wq; /* its lock guards the fields below */
	bool manual;
	bool set;
};

int csx_os_event_create(struct csx_os_event **out, bool manual, bool set)
{
	struct csx_os_event *ev = kzalloc(sizeof(*ev), GFP_KERNEL);

	if (!ev)
		return -CSX_ENOMEM;
	init_waitqueue_head(&ev->wq);
	ev->manual = manual;
	ev->set = set;
	*out = ev;
	return 0;
}

void csx_os_event_destroy(struct csx_os_event *ev)
{
	kfree(ev);
}

void csx_os_event_set(struct csx_os_event *ev)
{
	unsigned long flags;

	spin_lock_irqsave(&ev->wq.lock, flags);
	ev->set = true;
	if (ev->manual)
		wake_up_all_locked(&ev->wq);
	else
		wake_up_locked(&ev->wq);
	spin_unlock_irqrestore(&ev->wq.lock, flags);
}

void csx_os_event_reset(struct csx_os_event *ev)
{
	unsigned long flags;

	spin_lock_irqsave(&ev->wq.lock, flags);
	ev->set = false;
	spin_unlock_irqrestore(&ev->wq.lock, flags);
}

static bool csx_k_event_take(void *obj)
{
	struct csx_os_event *ev = obj;

	if (!ev->set)
		return false;
	if (!ev->manual)
		ev->set = false;
	return true;
}

int csx_os_event_wait(struct csx_os_event *ev, int64_t timeout_ns)
{
	return csx_k_wait(&ev->wq, csx_k_event_take, ev, !ev->manual,
			  timeout_ns);
}

/* ---- Semaphore ------------------------------------------------------------ */

struct csx_os_sem {
	wait_queue_head_t wq; /* its lock guards count */
	unsigned int count;
};

int csx_os_sem_create(struct csx_os_sem **out, unsigned int initial)
{
	struct csx_os_sem *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return -CSX_ENOMEM;
	init_waitqueue_head(&s->wq);
	s->count = initial;
	*out = s;
	return 0;
}

void csx_os_sem_destroy(struct csx_os_sem *s)
{
	kfree(s);
}

void csx_os_sem_up(struct csx_os_sem *s)
{
	unsigned long flags;

	spin_lock_irqsave(&s->wq.lock, flags);
	/* The core bounds the count; saturate rather than wrap regardless. */
	if (s->count != UINT_MAX)
		s->count++;
	wake_up_locked(&s->wq);
	spin_unlock_irqrestore(&s->wq.lock, flags);
}

static bool csx_k_sem_take(void *obj)
{
	struct csx_os_sem *s = obj;

	if (!s->count)
		return false;
	s->count--;
	return true;
}

int csx_os_sem_down(struct csx_os_sem *s, int64_t timeout_ns)
{
	return csx_k_wait(&s->wq, csx_k_sem_take, s, true, timeout_ns);
}
