/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Timers: handle checks and callback bookkeeping over the back end's timer.
 *
 * The core remembers which thread runs the callback so that stopping a
 * timer from its own callback disarms it without waiting for the callback
 * to finish (which would wait on itself forever).
 */
#include "csx_core.h"

struct csx_timer {
	uint32_t magic;
	struct csx_os_timer *os;
	csx_timer_fn fn;
	void *ctx;
	uintptr_t runner; /* thread running fn, or 0 */
	uint64_t fired;
};

int csx_timer_create(struct csx_timer **out, csx_timer_fn fn, void *ctx)
{
	struct csx_timer *t;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (!fn)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	t = csx__zalloc(sizeof(*t));
	if (!t)
		return -CSX_ENOMEM;
	t->fn = fn;
	t->ctx = ctx;
	t->magic = CSX__MAGIC_TIMER;
	ret = csx_os_timer_create(&t->os, t);
	if (ret) {
		csx__free(t);
		return ret;
	}
	csx__live_inc(CSX__T_TIMER);
	*out = t;
	return 0;
}

static bool csx__timer_in_own_callback(struct csx_timer *t)
{
	return __atomic_load_n(&t->runner, __ATOMIC_RELAXED) ==
	       csx_os_thread_id();
}

int csx_timer_start(struct csx_timer *timer, uint64_t delay_ns,
		    uint64_t period_ns)
{
	if (!csx__magic_ok(timer, CSX__MAGIC_TIMER))
		return csx__bad_handle(__func__, timer);
	if (csx__unlikely(csx_os_context() & CSX_OS_CTX_ISR)) {
		/* Back ends arm timers under locks an ISR may interrupt. */
		csx_err("csx_timer_start() called from ISR context; queue a "
			"DPC to arm the timer");
		csx__misuse("csx_timer_start() from ISR context");
		return -CSX_EDEADLK;
	}
	csx_os_timer_start(timer->os, delay_ns, period_ns);
	return 0;
}

int csx_timer_stop(struct csx_timer *timer)
{
	int ret;

	if (!csx__magic_ok(timer, CSX__MAGIC_TIMER))
		return csx__bad_handle(__func__, timer);
	if (csx__timer_in_own_callback(timer))
		return csx_os_timer_stop(timer->os, false) ? 1 : 0;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	return csx_os_timer_stop(timer->os, true) ? 1 : 0;
}

int csx_timer_destroy(struct csx_timer *timer)
{
	int ret;

	if (!timer)
		return 0;
	if (!csx__magic_ok(timer, CSX__MAGIC_TIMER))
		return csx__bad_handle(__func__, timer);
	if (csx__timer_in_own_callback(timer)) {
		csx_err("csx_timer_destroy() called from the timer's own "
			"callback");
		return -CSX_EDEADLK;
	}
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	csx__magic_set(timer, CSX__MAGIC_DEAD);
	csx_os_timer_stop(timer->os, true);
	csx_os_timer_destroy(timer->os);
	csx__retire(timer);
	csx__live_dec(CSX__T_TIMER);
	return 0;
}

void csx__timer_fire(struct csx_timer *core)
{
	if (!csx__magic_ok(core, CSX__MAGIC_TIMER)) {
		csx__bad_handle(__func__, core);
		return;
	}
	__atomic_store_n(&core->runner, csx_os_thread_id(), __ATOMIC_RELAXED);
	core->fn(core, core->ctx);
	__atomic_store_n(&core->runner, 0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&core->fired, 1, __ATOMIC_RELAXED);
}
