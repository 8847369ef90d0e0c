/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: timers on one libevent loop thread.
 *
 * The back end keeps its own min-heap ordered by (due time, start order)
 * and arms a single libevent timer for the earliest expiry. libevent's heap
 * orders by time only, so two timers due in the same microsecond could fire
 * in either order; the API promises start order. Our own heap also keeps
 * nanoseconds, and starting a timer does not touch libevent at all unless
 * it becomes the earliest.
 */
#include "csx_user_internal.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdlib.h>

#define CSX_USER_TIMER_IDLE UINT32_MAX /* heap index: not armed */
#define CSX_USER_TIMER_NONE UINT64_MAX /* due time: libevent not armed */

struct csx_os_timer {
	struct csx_timer *core;
	uint64_t due;	 /* CLOCK_MONOTONIC ns */
	uint64_t period; /* 0: one-shot */
	uint64_t seq;	 /* start order: breaks ties of due */
	uint32_t idx;	 /* in the heap, or CSX_USER_TIMER_IDLE */
	bool running;	 /* the callback runs now */
};

static struct {
	pthread_mutex_t lock; /* everything below but the libevent objects */
	pthread_cond_t done;  /* a callback returned */
	unsigned int done_waiters;
	struct csx_os_timer **heap;
	uint32_t n, cap; /* armed timers, heap slots */
	uint32_t timers; /* created: cap >= timers, so start never allocates */
	uint64_t seq;
	uint64_t armed_due; /* what expire_ev is armed for */
	struct event_base *base;
	struct event *expire_ev; /* the earliest due time came */
	struct event *stop_ev;	 /* fini: leave the loop */
	pthread_t loop;
} csx_user_timers = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.armed_due = CSX_USER_TIMER_NONE,
};

static void csx_user_timers_lock(void)
{
	csx__user_check(pthread_mutex_lock(&csx_user_timers.lock),
			"pthread_mutex_lock");
}

static void csx_user_timers_unlock(void)
{
	csx__user_check(pthread_mutex_unlock(&csx_user_timers.lock),
			"pthread_mutex_unlock");
}

/* ---- The heap (lock held) ------------------------------------------------ */

static bool csx_user_timer_before(const struct csx_os_timer *a,
				  const struct csx_os_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void csx_user_heap_place(struct csx_os_timer *t, uint32_t i)
{
	csx_user_timers.heap[i] = t;
	t->idx = i;
}

static void csx_user_heap_up(struct csx_os_timer *t, uint32_t i)
{
	struct csx_os_timer **heap = csx_user_timers.heap;

	while (i && csx_user_timer_before(t, heap[(i - 1) / 2])) {
		csx_user_heap_place(heap[(i - 1) / 2], i);
		i = (i - 1) / 2;
	}
	csx_user_heap_place(t, i);
}

static void csx_user_heap_down(struct csx_os_timer *t, uint32_t i)
{
	struct csx_os_timer **heap = csx_user_timers.heap;
	uint32_t c, n = csx_user_timers.n;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && csx_user_timer_before(heap[c + 1], heap[c]))
			c++;
		if (!csx_user_timer_before(heap[c], t))
			break;
		csx_user_heap_place(heap[c], i);
		i = c;
	}
	csx_user_heap_place(t, i);
}

static void csx_user_heap_insert(struct csx_os_timer *t)
{
	csx_user_heap_up(t, csx_user_timers.n++);
}

static void csx_user_heap_remove(struct csx_os_timer *t)
{
	struct csx_os_timer *last;
	uint32_t i = t->idx;

	t->idx = CSX_USER_TIMER_IDLE;
	last = csx_user_timers.heap[--csx_user_timers.n];
	if (last == t)
		return;
	if (i && csx_user_timer_before(last, csx_user_timers.heap[(i - 1) / 2]))
		csx_user_heap_up(last, i);
	else
		csx_user_heap_down(last, i);
}

/* ---- The libevent side --------------------------------------------------- */

/* Make expire_ev fire by @due, unless it already fires earlier. */
static void csx_user_timers_arm(uint64_t due)
{
	uint64_t now, us;
	struct timeval tv;

	if (due >= csx_user_timers.armed_due || !csx_user_timers.base)
		return;
	now = csx_os_time_ns();
	/* Round up: waking early would only mean arming again. */
	us = due > now ? (due - now + 999) / 1000 : 0;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	csx_user_timers.armed_due = due;
	if (event_add(csx_user_timers.expire_ev, &tv))
		csx_err("timer: event_add failed");
}

/* The earliest timer if it is due, rescheduled if periodic; lock held. */
static struct csx_os_timer *csx_user_timers_pop_due(uint64_t now)
{
	struct csx_os_timer *t;

	if (!csx_user_timers.n || csx_user_timers.heap[0]->due > now)
		return NULL;
	t = csx_user_timers.heap[0];
	csx_user_heap_remove(t);
	if (t->period) {
		/* Keep the phase; skip periods only when a whole one is lost. */
		t->due += t->period;
		if (t->due <= now)
			t->due = now + t->period;
		t->seq = ++csx_user_timers.seq;
		csx_user_heap_insert(t);
	}
	return t;
}

static void csx_user_timers_expire(evutil_socket_t fd, short what, void *arg)
{
	struct csx_os_timer *t;

	csx_user_timers_lock();
	csx_user_timers.armed_due = CSX_USER_TIMER_NONE;
	while ((t = csx_user_timers_pop_due(csx_os_time_ns()))) {
		t->running = true;
		csx_user_timers_unlock();
		csx__user_tls.ctx |= CSX_OS_CTX_DPC;
		csx__timer_fire(t->core);
		csx__user_tls.ctx &= ~CSX_OS_CTX_DPC;
		csx_user_timers_lock();
		t->running = false; /* last touch: stop(wait) may free it now */
		if (csx_user_timers.done_waiters)
			pthread_cond_broadcast(&csx_user_timers.done);
	}
	if (csx_user_timers.n)
		csx_user_timers_arm(csx_user_timers.heap[0]->due);
	csx_user_timers_unlock();
}

static void csx_user_timers_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(csx_user_timers.base);
}

static void *csx_user_timers_main(void *arg)
{
	csx__user_tls.role |= CSX_USER_ROLE_TIMER;
	if (event_base_loop(csx_user_timers.base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
		csx_err("timer: event loop failed");
	return NULL;
}

/* ---- Hooks --------------------------------------------------------------- */

int csx_os_timer_create(struct csx_os_timer **out, struct csx_timer *core)
{
	struct csx_os_timer *t, **heap;
	int ret = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -CSX_ENOMEM;
	t->core = core;
	t->idx = CSX_USER_TIMER_IDLE;
	csx_user_timers_lock();
	if (csx_user_timers.timers == csx_user_timers.cap) {
		uint32_t cap =
			csx_user_timers.cap ? 2 * csx_user_timers.cap : 16;

		heap = realloc(csx_user_timers.heap, cap * sizeof(*heap));
		if (!heap) {
			ret = -CSX_ENOMEM;
			goto out_unlock;
		}
		csx_user_timers.heap = heap;
		csx_user_timers.cap = cap;
	}
	csx_user_timers.timers++;
out_unlock:
	csx_user_timers_unlock();
	if (ret)
		free(t);
	else
		*out = t;
	return ret;
}

/* Lock held. The loop thread never waits: it would wait for itself. */
static void csx_user_timer_wait_idle(struct csx_os_timer *t)
{
	if (csx__user_tls.role & CSX_USER_ROLE_TIMER)
		return;
	while (t->running) {
		csx_user_timers.done_waiters++;
		csx__user_check(pthread_cond_wait(&csx_user_timers.done,
						  &csx_user_timers.lock),
				"pthread_cond_wait");
		csx_user_timers.done_waiters--;
	}
}

void csx_os_timer_destroy(struct csx_os_timer *t)
{
	csx_user_timers_lock();
	if (t->idx != CSX_USER_TIMER_IDLE)
		csx_user_heap_remove(t);
	csx_user_timer_wait_idle(t);
	csx_user_timers.timers--;
	csx_user_timers_unlock();
	free(t);
}

void csx_os_timer_start(struct csx_os_timer *t, uint64_t delay_ns,
			uint64_t period_ns)
{
	uint64_t now = csx_os_time_ns();

	csx_user_timers_lock();
	if (t->idx != CSX_USER_TIMER_IDLE)
		csx_user_heap_remove(t);
	t->due = delay_ns > UINT64_MAX - now ? UINT64_MAX - 1 : now + delay_ns;
	t->period = period_ns;
	t->seq = ++csx_user_timers.seq;
	csx_user_heap_insert(t);
	if (!t->idx)
		csx_user_timers_arm(t->due);
	csx_user_timers_unlock();
}

bool csx_os_timer_stop(struct csx_os_timer *t, bool wait)
{
	bool armed;

	csx_user_timers_lock();
	armed = t->idx != CSX_USER_TIMER_IDLE;
	if (armed)
		csx_user_heap_remove(t);
	/* A spurious expiry of expire_ev just re-arms for the new head. */
	if (wait)
		csx_user_timer_wait_idle(t);
	csx_user_timers_unlock();
	return armed;
}

/* ---- Lifecycle ----------------------------------------------------------- */

static pthread_once_t csx_user_evthread_once = PTHREAD_ONCE_INIT;
static int csx_user_evthread_err;

/* Once per process: libevent keeps the callbacks global. */
static void csx_user_evthread_setup(void)
{
	csx_user_evthread_err = evthread_use_pthreads();
}

static int csx_user_timers_new_base(void)
{
	struct event_config *cfg;

	cfg = event_config_new();
	if (!cfg)
		return -CSX_ENOMEM;
	/* timerfd-precise expiries; no stale cached "now" when re-arming. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER |
					   EVENT_BASE_FLAG_NO_CACHE_TIME);
	csx_user_timers.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!csx_user_timers.base)
		return -CSX_ENOMEM;
	csx_user_timers.expire_ev = event_new(csx_user_timers.base, -1, 0,
					      csx_user_timers_expire, NULL);
	csx_user_timers.stop_ev = event_new(csx_user_timers.base, -1, 0,
					    csx_user_timers_stop_cb, NULL);
	if (!csx_user_timers.expire_ev || !csx_user_timers.stop_ev)
		return -CSX_ENOMEM;
	return 0;
}

static void csx_user_timers_free_base(void)
{
	if (csx_user_timers.expire_ev)
		event_free(csx_user_timers.expire_ev);
	if (csx_user_timers.stop_ev)
		event_free(csx_user_timers.stop_ev);
	if (csx_user_timers.base)
		event_base_free(csx_user_timers.base);
	csx_user_timers.expire_ev = NULL;
	csx_user_timers.stop_ev = NULL;
	csx_user_timers.base = NULL;
	csx_user_timers.armed_due = CSX_USER_TIMER_NONE;
}

int csx__user_timer_init(void)
{
	int ret;

	pthread_once(&csx_user_evthread_once, csx_user_evthread_setup);
	if (csx_user_evthread_err) {
		csx_err("timer: libevent has no pthreads locking");
		return -CSX_ENOSYS;
	}
	ret = csx_user_timers_new_base();
	if (ret)
		goto out_free;
	ret = csx__user_thread_spawn(&csx_user_timers.loop, "csx-timer",
				     CSX_USER_DPC_PRIO, -1,
				     csx_user_timers_main, NULL);
	if (ret)
		goto out_free;
	return 0;

out_free:
	csx_user_timers_free_base();
	return ret;
}

void csx__user_timer_fini(void)
{
	/*
	 * An active event, unlike event_base_loopbreak(), is not lost if
	 * the loop has not started yet: the loop runs it first thing.
	 */
	event_active(csx_user_timers.stop_ev, EV_TIMEOUT, 1);
	csx__user_thread_join(csx_user_timers.loop);
	csx_user_timers_lock();
	csx_user_timers_free_base(); /* under the lock: start() reads base */
	if (csx_user_timers.timers)
		csx_warn("timer: %u timers not destroyed at exit",
			 csx_user_timers.timers);
	if (!csx_user_timers.timers) {
		free(csx_user_timers.heap);
		csx_user_timers.heap = NULL;
		csx_user_timers.cap = 0;
	}
	csx_user_timers_unlock();
}
