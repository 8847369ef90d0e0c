/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: threads on POSIX threads, and the helper that starts
 * the back end's own threads (DPC executors, wait threads, timer loop)
 * pinned and at real-time priority where the process may.
 */
#include "csx_user_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct csx_os_thread {
	pthread_t tid;
	int (*fn)(void *);
	void *arg;
	int ret;
	char name[16]; /* pthread names hold 15 characters */
};

static void csx_user_set_name(pthread_t tid, const char *name)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%s", name);
	pthread_setname_np(tid, buf); /* cosmetic: ignore failure */
}

static void *csx_user_thread_main(void *p)
{
	struct csx_os_thread *t = p;

	/* Set here, not from pthread_create()'s out-pointer: no race. */
	csx__user_tls.self = t;
	csx_user_set_name(pthread_self(), t->name);
	t->ret = t->fn(t->arg);
	return NULL;
}

int csx_os_thread_create(struct csx_os_thread **out, const char *name,
			 int (*fn)(void *), void *arg)
{
	struct csx_os_thread *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -CSX_ENOMEM;
	t->fn = fn;
	t->arg = arg;
	snprintf(t->name, sizeof(t->name), "%s", name);
	err = pthread_create(&t->tid, NULL, csx_user_thread_main, t);
	if (err) {
		free(t);
		return csx__user_status(err);
	}
	*out = t;
	return 0;
}

int csx_os_thread_join(struct csx_os_thread *t)
{
	int ret;

	csx__user_check(pthread_join(t->tid, NULL), "pthread_join");
	ret = t->ret;
	free(t);
	return ret;
}

bool csx_os_thread_is_current(struct csx_os_thread *t)
{
	return csx__user_tls.self == t;
}

void csx_os_thread_sleep(uint64_t ns)
{
	struct timespec ts;

	if (ns > INT64_MAX)
		ns = INT64_MAX;
	csx__user_deadline(&ts, (int64_t)ns);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

void csx_os_thread_yield(void)
{
	sched_yield();
}

/* ---- Back-end threads ---------------------------------------------------- */

static int csx_user_try_spawn(pthread_t *out, int rt_prio, int os_cpu,
			      void *(*fn)(void *), void *arg)
{
	struct sched_param sp = { .sched_priority = rt_prio };
	pthread_attr_t attr;
	cpu_set_t set;
	int err;

	err = pthread_attr_init(&attr);
	if (err)
		return err;
	if (os_cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(os_cpu, &set);
		err = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	if (!err && rt_prio) {
		err = pthread_attr_setinheritsched(&attr,
						   PTHREAD_EXPLICIT_SCHED);
		if (!err)
			err = pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		if (!err)
			err = pthread_attr_setschedparam(&attr, &sp);
	}
	if (!err)
		err = pthread_create(out, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return err;
}

/*
 * Start a back-end thread named @name, SCHED_FIFO at @rt_prio (0: normal)
 * and pinned to OS CPU @os_cpu (-1: anywhere). A process that may not use
 * real-time scheduling still works, at normal priority: say so once.
 */
int csx__user_thread_spawn(pthread_t *out, const char *name, int rt_prio,
			   int os_cpu, void *(*fn)(void *), void *arg)
{
	static bool told;
	int err;

	err = csx_user_try_spawn(out, rt_prio, os_cpu, fn, arg);
	if (err == EPERM && rt_prio) {
		if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
			csx_info("no permission for SCHED_FIFO: DPC, timer and "
				 "wait threads run at normal priority");
		err = csx_user_try_spawn(out, 0, os_cpu, fn, arg);
	}
	if (err == EINVAL && os_cpu >= 0) /* CPU left our cpuset meanwhile */
		err = csx_user_try_spawn(out, rt_prio, -1, fn, arg);
	if (err)
		return csx__user_status(err);
	csx_user_set_name(*out, name);
	return 0;
}

void csx__user_thread_join(pthread_t tid)
{
	csx__user_check(pthread_join(tid, NULL), "pthread_join");
}
