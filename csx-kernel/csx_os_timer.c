// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: timers are soft hrtimers, so callbacks run in softirq
 * context, which is DPC context for CSX.
 */
#include <linux/hrtimer.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "csx_kernel.h"

struct csx_os_timer {
	struct hrtimer timer;
	struct csx_timer *core;
	/*
	 * Guards period and the decision to re-arm: hrtimer_forward() on a
	 * timer that csx_os_timer_start() re-queued meanwhile is a bug.
	 */
	spinlock_t lock;
	u64 period_ns;
};

/* ktime_t is signed: clamp rather than turn a huge delay into the past. */
static ktime_t csx_k_ktime(u64 ns)
{
	return ns_to_ktime(min_t(u64, ns, KTIME_MAX));
}

static enum hrtimer_restart csx_k_timer_fn(struct hrtimer *hr)
{
	struct csx_os_timer *t = container_of(hr, struct csx_os_timer, timer);
	enum hrtimer_restart restart = HRTIMER_NORESTART;
	unsigned long flags;

	csx__timer_fire(t->core);

	/* The callback may have stopped or re-armed its own timer. */
	spin_lock_irqsave(&t->lock, flags);
	if (t->period_ns && !hrtimer_is_queued(hr)) {
		hrtimer_forward_now(hr, csx_k_ktime(t->period_ns));
		restart = HRTIMER_RESTART;
	}
	spin_unlock_irqrestore(&t->lock, flags);
	return restart;
}

int csx_os_timer_create(struct csx_os_timer **out, struct csx_timer *core)
{
	struct csx_os_timer *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return -CSX_ENOMEM;
	hrtimer_init(&t->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	t->timer.function = csx_k_timer_fn;
	t->core = core;
	spin_lock_init(&t->lock);
	*out = t;
	return 0;
}

void csx_os_timer_destroy(struct csx_os_timer *t)
{
	/* Stopped already; cancel anyway so a free never races an expiry. */
	hrtimer_cancel(&t->timer);
	kfree(t);
}

void csx_os_timer_start(struct csx_os_timer *t, uint64_t delay_ns,
			uint64_t period_ns)
{
	unsigned long flags;

	spin_lock_irqsave(&t->lock, flags);
	t->period_ns = period_ns;
	hrtimer_start(&t->timer, csx_k_ktime(delay_ns), HRTIMER_MODE_REL_SOFT);
	spin_unlock_irqrestore(&t->lock, flags);
}

bool csx_os_timer_stop(struct csx_os_timer *t, bool wait)
{
	unsigned long flags;
	bool armed;

	spin_lock_irqsave(&t->lock, flags);
	/* A periodic timer in its callback is armed: it would re-arm. */
	armed = hrtimer_is_queued(&t->timer) ||
		(t->period_ns && hrtimer_callback_running(&t->timer));
	t->period_ns = 0;
	spin_unlock_irqrestore(&t->lock, flags);

	if (wait)
		hrtimer_cancel(&t->timer);
	else
		hrtimer_try_to_cancel(&t->timer);
	return armed;
}
