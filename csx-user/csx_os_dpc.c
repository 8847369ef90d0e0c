/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: DPC executors. One thread per CPU, pinned to it and
 * SCHED_FIFO where allowed, runs csx__dpc_run(cpu) in DPC context whenever
 * it is kicked. A kick costs one atomic exchange; the futex syscall is paid
 * only when the executor was asleep.
 */
#include "csx_user_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Executor state word (a futex). */
enum {
	CSX_USER_EXEC_RUNNING = 0, /* awake, nothing new since it last looked */
	CSX_USER_EXEC_KICKED = 1,  /* awake or waking; must run the queue */
	CSX_USER_EXEC_SLEEPING = 2, /* asleep in futex_wait: kickers wake it */
};

struct csx_user_exec {
	uint32_t state;
	bool stop;
	unsigned int cpu;
	pthread_t tid;
} __attribute__((aligned(CSX_USER_CACHELINE)));

static struct csx_user_exec *csx_user_execs;
static unsigned int csx_user_nexecs;

/*
 * Sleep unless a kick came in while csx__dpc_run() ran. The kicker's
 * exchange and this compare-exchange are read-modify-writes of one word, so
 * one of them sees the other: a kick is never lost.
 */
static void csx_user_exec_sleep(struct csx_user_exec *e)
{
	uint32_t running = CSX_USER_EXEC_RUNNING;

	if (!__atomic_compare_exchange_n(&e->state, &running,
					 CSX_USER_EXEC_SLEEPING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	while (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) ==
	       CSX_USER_EXEC_SLEEPING)
		csx_user_futex_wait(&e->state, CSX_USER_EXEC_SLEEPING, NULL);
}

static void *csx_user_exec_main(void *arg)
{
	struct csx_user_exec *e = arg;

	csx__user_tls.role |= CSX_USER_ROLE_DPC;
	csx__user_tls.ctx |= CSX_OS_CTX_DPC;
	for (;;) {
		/*
		 * Consume the kicks so far. Every write of the state word is
		 * a read-modify-write, so this acquire sees what all earlier
		 * kickers queued (and the stop flag) before they kicked.
		 */
		__atomic_exchange_n(&e->state, CSX_USER_EXEC_RUNNING,
				    __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE))
			break;
		csx__dpc_run(e->cpu);
		csx_user_exec_sleep(e);
	}
	csx__user_tls.ctx &= ~CSX_OS_CTX_DPC;
	return NULL;
}

void csx_os_dpc_kick(unsigned int cpu)
{
	struct csx_user_exec *e;

	if (csx_user_unlikely(cpu >= csx_user_nexecs))
		return; /* executors not running: the core checks this */
	e = &csx_user_execs[cpu];
	if (__atomic_exchange_n(&e->state, CSX_USER_EXEC_KICKED,
				__ATOMIC_ACQ_REL) == CSX_USER_EXEC_SLEEPING)
		csx_user_futex_wake(&e->state, 1);
}

static void csx_user_exec_stop(unsigned int n)
{
	unsigned int cpu;

	for (cpu = 0; cpu < n; cpu++)
		__atomic_store_n(&csx_user_execs[cpu].stop, true,
				 __ATOMIC_RELEASE);
	for (cpu = 0; cpu < n; cpu++) {
		csx_os_dpc_kick(cpu);
		csx__user_thread_join(csx_user_execs[cpu].tid);
	}
}

int csx_os_dpc_start(void)
{
	unsigned int cpu, n = csx_os_cpu_count();
	char name[32]; /* cut to 15 by csx__user_thread_spawn() */
	int ret = 0;

	csx_user_execs =
		aligned_alloc(CSX_USER_CACHELINE, n * sizeof(*csx_user_execs));
	if (!csx_user_execs)
		return -CSX_ENOMEM;
	memset(csx_user_execs, 0, n * sizeof(*csx_user_execs));
	/* Kicks may arrive as soon as the first executor exists. */
	csx_user_nexecs = n;
	for (cpu = 0; cpu < n; cpu++) {
		csx_user_execs[cpu].cpu = cpu;
		snprintf(name, sizeof(name), "csx-dpc/%u", cpu);
		ret = csx__user_thread_spawn(
			&csx_user_execs[cpu].tid, name, CSX_USER_DPC_PRIO,
			csx__user_cpu_os_id(cpu), csx_user_exec_main,
			&csx_user_execs[cpu]);
		if (ret)
			goto out_stop;
	}
	return 0;

out_stop:
	csx_user_exec_stop(cpu);
	csx_user_nexecs = 0;
	free(csx_user_execs);
	csx_user_execs = NULL;
	return ret;
}

void csx_os_dpc_stop(void)
{
	if (!csx_user_execs)
		return;
	csx_user_exec_stop(csx_user_nexecs);
	csx_user_nexecs = 0;
	free(csx_user_execs);
	csx_user_execs = NULL;
}
