/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_timer.h
 * @brief One-shot and periodic timers.
 *
 * The callback runs in DPC context (csx_in_dpc() is true; it may not sleep).
 * Kernel mode: a soft hrtimer. User mode: the back end's libevent loop
 * thread. Timers due at the same time fire in the order they were started.
 */
#ifndef CSX_TIMER_H
#define CSX_TIMER_H

#include <csx/csx_types.h>

/** An opaque timer handle. */
struct csx_timer;

/**
 * Timer callback.
 * @param timer The timer that fired.
 * @param ctx The context given at creation.
 */
typedef void (*csx_timer_fn)(struct csx_timer *timer, void *ctx);

/**
 * csx_timer_create() - Create a stopped timer.
 * @param out Receives the handle.
 * @param fn Callback.
 * @param ctx Passed to @p fn.
 * @return 0, -CSX_EINVAL, -CSX_ENOMEM or -CSX_EDEADLK (atomic context).
 *         Thread context.
 */
int csx_timer_create(struct csx_timer **out, csx_timer_fn fn, void *ctx);

/**
 * csx_timer_start() - Arm (or re-arm) a timer.
 * @param timer The timer.
 * @param delay_ns First expiry, from now.
 * @param period_ns 0 for one-shot; otherwise the period of later expiries.
 * @return 0, -CSX_EINVAL, or -CSX_EDEADLK when called from an ISR.
 *
 * Any context except ISR; never sleeps. Re-arming replaces the previous
 * schedule.
 */
int csx_timer_start(struct csx_timer *timer, uint64_t delay_ns,
		    uint64_t period_ns);

/**
 * csx_timer_stop() - Disarm a timer and wait for a running callback.
 * @param timer The timer.
 * @return 1 if it was armed, 0 if not, -CSX_EINVAL, or -CSX_EDEADLK when
 *         called from atomic context (except from the timer's own callback,
 *         where it disarms without waiting).
 *
 * Thread context (or its own callback).
 */
int csx_timer_stop(struct csx_timer *timer);

/**
 * csx_timer_destroy() - Stop and free a timer.
 * @param timer The timer, or NULL.
 * @return 0, -CSX_EINVAL or -CSX_EDEADLK. Thread context.
 */
int csx_timer_destroy(struct csx_timer *timer);

#endif /* CSX_TIMER_H */
