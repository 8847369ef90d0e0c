/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_sync.h
 * @brief Mutexes, spinlocks, reader/writer locks, events and semaphores.
 *
 * All objects are opaque and created by the API. Destroying an object that
 * is held or waited on fails with -CSX_EBUSY and leaves it intact.
 *
 * Which context may use what:
 * | object    | thread | DPC/timer | ISR |
 * |-----------|--------|-----------|-----|
 * | mutex     | yes    | no        | no  |
 * | rwlock    | yes    | no        | no  |
 * | spinlock  | yes    | yes       | no (use csx_intr_disable()) |
 * | event set | yes    | yes       | yes |
 * | event wait| yes    | poll only (timeout 0) | poll only |
 * | sem up    | yes    | yes       | yes |
 * | sem down  | yes    | poll only | poll only |
 */
#ifndef CSX_SYNC_H
#define CSX_SYNC_H

#include <csx/csx_types.h>

struct csx_mutex;
struct csx_spinlock;
struct csx_rwlock;
struct csx_event;
struct csx_sem;

/** Largest semaphore count; csx_sem_up() beyond it fails with -CSX_EOVERFLOW. */
#define CSX_SEM_MAX 0x7fffffffu

/**
 * csx_mutex_create() - Create a sleeping mutual-exclusion lock.
 * @param out Receives the handle.
 * @return 0, -CSX_EINVAL (@p out NULL), -CSX_ENOMEM, or -CSX_EDEADLK
 *         (atomic context).
 */
int csx_mutex_create(struct csx_mutex **out);
/**
 * csx_mutex_destroy() - Destroy a mutex.
 * @param m The mutex, or NULL (ignored, returns 0).
 * @return 0, -CSX_EINVAL (not a mutex) or -CSX_EBUSY (held; not destroyed).
 */
int csx_mutex_destroy(struct csx_mutex *m);
/**
 * csx_mutex_lock() - Take a mutex, sleeping while another thread holds it.
 * @param m The mutex.
 * @return 0, -CSX_EINVAL (bad handle), -CSX_EDEADLK (atomic context, or the
 *         caller already holds it; mutexes do not nest).
 */
int csx_mutex_lock(struct csx_mutex *m);
/**
 * csx_mutex_trylock() - Take a mutex if it is free.
 * @param m The mutex.
 * @return 0 (taken), -CSX_EBUSY (held), -CSX_EINVAL.
 */
int csx_mutex_trylock(struct csx_mutex *m);
/**
 * csx_mutex_unlock() - Release a mutex held by the caller.
 * @param m The mutex.
 * @return 0, -CSX_EINVAL (bad handle), -CSX_EPERM (caller is not the owner).
 */
int csx_mutex_unlock(struct csx_mutex *m);

/**
 * csx_spin_create() - Create a spinlock.
 * @param out Receives the handle.
 * @return 0, -CSX_EINVAL, -CSX_ENOMEM or -CSX_EDEADLK (atomic context:
 *         creation allocates and may sleep).
 *
 * A spinlock excludes threads and DPCs (kernel: it also disables bottom
 * halves on the local CPU). Hold it briefly and never sleep under it. It
 * does not exclude ISRs: use csx_intr_disable() for data an ISR touches.
 */
int csx_spin_create(struct csx_spinlock **out);
/**
 * csx_spin_destroy() - Destroy a spinlock.
 * @param s The spinlock, or NULL.
 * @return 0, -CSX_EINVAL or -CSX_EBUSY (held).
 */
int csx_spin_destroy(struct csx_spinlock *s);
/**
 * csx_spin_lock() - Take a spinlock, spinning while it is held.
 * @param s The spinlock; must be valid (checked only in debug builds).
 *
 * Thread or DPC context. Cannot fail.
 */
void csx_spin_lock(struct csx_spinlock *s);
/**
 * csx_spin_unlock() - Release a spinlock.
 * @param s The spinlock held by the caller.
 */
void csx_spin_unlock(struct csx_spinlock *s);

/**
 * csx_rwlock_create() - Create a sleeping reader/writer lock.
 * @param out Receives the handle.
 * @return 0, -CSX_EINVAL, -CSX_ENOMEM or -CSX_EDEADLK.
 */
int csx_rwlock_create(struct csx_rwlock **out);
/**
 * csx_rwlock_destroy() - Destroy a reader/writer lock.
 * @param rw The lock, or NULL.
 * @return 0, -CSX_EINVAL or -CSX_EBUSY (held).
 */
int csx_rwlock_destroy(struct csx_rwlock *rw);
/**
 * csx_rwlock_read() - Take the lock shared.
 * @param rw The lock.
 * @return 0, -CSX_EINVAL or -CSX_EDEADLK (atomic context).
 */
int csx_rwlock_read(struct csx_rwlock *rw);
/**
 * csx_rwlock_write() - Take the lock exclusive.
 * @param rw The lock.
 * @return 0, -CSX_EINVAL or -CSX_EDEADLK (atomic context).
 */
int csx_rwlock_write(struct csx_rwlock *rw);
/**
 * csx_rwlock_unlock() - Release the lock taken shared or exclusive.
 * @param rw The lock.
 * @return 0, -CSX_EINVAL or -CSX_EPERM (not held).
 */
int csx_rwlock_unlock(struct csx_rwlock *rw);

/** Event reset behaviour. */
enum csx_event_type {
	/** A successful wait clears the event; one waiter is released per set. */
	CSX_EVENT_AUTO = 0,
	/** The event stays set until csx_event_reset(); all waiters are released. */
	CSX_EVENT_MANUAL = 1,
};

/**
 * csx_event_create() - Create an event.
 * @param out Receives the handle.
 * @param type CSX_EVENT_AUTO or CSX_EVENT_MANUAL.
 * @param initially_set Whether it starts set.
 * @return 0, -CSX_EINVAL, -CSX_ENOMEM or -CSX_EDEADLK (atomic context).
 */
int csx_event_create(struct csx_event **out, enum csx_event_type type,
		     bool initially_set);
/**
 * csx_event_destroy() - Destroy an event.
 * @param ev The event, or NULL.
 * @return 0, -CSX_EINVAL or -CSX_EBUSY (a thread waits on it).
 */
int csx_event_destroy(struct csx_event *ev);
/**
 * csx_event_set() - Set an event, releasing waiters.
 * @param ev The event.
 * @return 0 or -CSX_EINVAL. Any context, including ISR.
 */
int csx_event_set(struct csx_event *ev);
/**
 * csx_event_reset() - Clear an event.
 * @param ev The event.
 * @return 0 or -CSX_EINVAL. Any context.
 */
int csx_event_reset(struct csx_event *ev);
/**
 * csx_event_wait() - Wait until the event is set.
 * @param ev The event.
 * @param timeout_ns 0 to poll, a positive bound, or CSX_WAIT_FOREVER.
 * @return 0 (set; an auto event is consumed), -CSX_ETIMEDOUT, -CSX_EINVAL
 *         (bad handle or negative timeout), -CSX_EDEADLK (a non-zero
 *         timeout in a context that may not sleep).
 */
int csx_event_wait(struct csx_event *ev, int64_t timeout_ns);

/**
 * csx_sem_create() - Create a counting semaphore.
 * @param out Receives the handle.
 * @param initial Initial count, at most CSX_SEM_MAX.
 * @return 0, -CSX_EINVAL, -CSX_ENOMEM or -CSX_EDEADLK (atomic context).
 */
int csx_sem_create(struct csx_sem **out, unsigned int initial);
/**
 * csx_sem_destroy() - Destroy a semaphore.
 * @param sem The semaphore, or NULL.
 * @return 0, -CSX_EINVAL or -CSX_EBUSY (a thread waits on it).
 */
int csx_sem_destroy(struct csx_sem *sem);
/**
 * csx_sem_up() - Increment the count, releasing one waiter.
 * @param sem The semaphore.
 * @return 0, -CSX_EINVAL or -CSX_EOVERFLOW (count at its maximum).
 *         Any context, including ISR.
 */
int csx_sem_up(struct csx_sem *sem);
/**
 * csx_sem_down() - Wait for a positive count and decrement it.
 * @param sem The semaphore.
 * @param timeout_ns 0 to poll, a positive bound, or CSX_WAIT_FOREVER.
 * @return 0, -CSX_ETIMEDOUT, -CSX_EINVAL or -CSX_EDEADLK.
 */
int csx_sem_down(struct csx_sem *sem, int64_t timeout_ns);

#endif /* CSX_SYNC_H */
