// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: threads are kthreads; sleeping is an hrtimer sleep.
 */
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "csx_kernel.h"

struct csx_os_thread {
	struct task_struct *task;
	int (*fn)(void *arg);
	void *arg;
	int ret;
	/* Completed when fn returned: join must not depend on kthread_stop(). */
	struct completion done;
};

/*
 * kthread_stop() before a kthread first runs would skip its function, so
 * the body is wrapped: join waits for "done", then reaps the task.
 */
static int csx_k_thread_main(void *data)
{
	struct csx_os_thread *t = data;

	t->ret = t->fn(t->arg);
	complete(&t->done);
	return 0;
}

int csx_os_thread_create(struct csx_os_thread **out, const char *name,
			 int (*fn)(void *), void *arg)
{
	struct csx_os_thread *t = kzalloc(sizeof(*t), GFP_KERNEL);
	struct task_struct *task;

	if (!t)
		return -CSX_ENOMEM;
	t->fn = fn;
	t->arg = arg;
	init_completion(&t->done);
	task = kthread_create(csx_k_thread_main, t, "%s", name);
	if (IS_ERR(task)) {
		kfree(t);
		return -CSX_ENOMEM;
	}
	/* Our reference keeps the task_struct for kthread_stop() in join. */
	get_task_struct(task);
	t->task = task;
	*out = t;
	wake_up_process(task);
	return 0;
}

int csx_os_thread_join(struct csx_os_thread *t)
{
	int ret;

	wait_for_completion(&t->done);
	/* Wait for the exit too: the module text may go right after join. */
	kthread_stop(t->task);
	put_task_struct(t->task);
	ret = t->ret;
	kfree(t);
	return ret;
}

bool csx_os_thread_is_current(struct csx_os_thread *t)
{
	return t->task == current;
}

void csx_os_thread_sleep(uint64_t ns)
{
	/* Saturating: an absurdly long sleep must not wrap into the past. */
	ktime_t end = ktime_add_safe(ktime_get(),
				     ns_to_ktime(min_t(u64, ns, KTIME_MAX)));

	/*
	 * TASK_IDLE: no signal ends it, and a long sleep is not mistaken for
	 * a hung task. Loop: a kthread can be woken early (kthread_stop).
	 */
	do {
		set_current_state(TASK_IDLE);
		schedule_hrtimeout_range(&end, 0, HRTIMER_MODE_ABS);
	} while (ktime_before(ktime_get(), end));
}

void csx_os_thread_yield(void)
{
	/*
	 * cond_resched() does nothing unless the scheduler already asked;
	 * a CSX yield is a real offer of the CPU, like sched_yield().
	 */
	if (!cond_resched())
		yield();
}
