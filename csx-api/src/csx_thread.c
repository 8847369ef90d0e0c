/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Threads, sleeping, CPUs and time: checks over the back end's hooks.
 */
#include "csx_core.h"

/* Kernel task names and pthread names hold 15 characters. */
#define CSX__THREAD_NAME_MAX 16

struct csx_thread {
	uint32_t magic;
	struct csx_os_thread *os;
	char name[CSX__THREAD_NAME_MAX];
};

int csx_thread_create(struct csx_thread **out, const char *name,
		      csx_thread_fn fn, void *arg)
{
	struct csx_thread *t;
	int ret;

	if (out)
		*out = NULL;
	if (!out || !name || !fn)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	t = csx__zalloc(sizeof(*t));
	if (!t)
		return -CSX_ENOMEM;
	csx__strlcpy(t->name, name, sizeof(t->name));
	t->magic = CSX__MAGIC_THREAD;
	ret = csx_os_thread_create(&t->os, t->name, fn, arg);
	if (ret) {
		csx__free(t);
		return ret;
	}
	csx__live_inc(CSX__T_THREAD);
	*out = t;
	return 0;
}

int csx_thread_join(struct csx_thread *thread, int *exit_code)
{
	int code;
	int ret;

	if (!csx__magic_ok(thread, CSX__MAGIC_THREAD))
		return csx__bad_handle(__func__, thread);
	if (csx_os_thread_is_current(thread->os)) {
		csx_err("csx_thread_join(): thread '%s' joins itself",
			thread->name);
		return -CSX_EDEADLK;
	}
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	code = csx_os_thread_join(thread->os);
	csx__magic_set(thread, CSX__MAGIC_DEAD);
	csx__retire(thread);
	csx__live_dec(CSX__T_THREAD);
	if (exit_code)
		*exit_code = code;
	return 0;
}

int csx_thread_sleep(uint64_t ns)
{
	int ret = csx__might_sleep(__func__);

	if (ret)
		return ret;
	if (ns == 0)
		csx_os_thread_yield();
	else
		csx_os_thread_sleep(ns);
	return 0;
}

void csx_thread_yield(void)
{
	if (csx__might_sleep(__func__))
		return;
	csx_os_thread_yield();
}

unsigned int csx_cpu_current(void)
{
	return csx_os_cpu_current();
}

unsigned int csx_cpu_count(void)
{
	return csx_os_cpu_count();
}

uint64_t csx_time_ns(void)
{
	return csx_os_time_ns();
}
