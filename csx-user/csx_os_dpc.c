/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: DPC executors. One thread per CPU, pinned to it and
 * SCHED_FIFO where allowed, runs csx__dpc_run(cpu) in DPC context whenever
 * it is kicked. A kick costs one atomic exchange; the futex syscall is paid
 * only when the executor was asleep. A kick from the executor itself (a DPC
 * queueing on its own CPU) only sets a flag it checks before sleeping.
 *
 * A wait thread runs the DPCs its ISR queued itself (csx__user_dpc_drain_*
 * below), and while its ISR runs it advertises so in the CPU's "drainers"
 * count: kicks of that CPU are then skipped, since the wait thread takes
 * the list after it drops the count. Kicker: push (seq_cst), load the
 * count (seq_cst); wait thread: decrement (seq_cst), take the list
 * (seq_cst). Like Dekker's, one of them sees the other: either the kicker
 * sees no drainer and kicks, or the wait thread's take sees the push (or
 * someone took the node before, and runs it).
 */
#include "csx_user_internal.h"
#include "../csx-api/src/csx_core.h" /* csx__dpc_run_batch() */

#include <limits.h>
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
	uint32_t drainers; /* wait threads that will take the list soon */
	bool again; /* kicked by itself: run again (the executor's only) */
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
	csx__user_tls.exec = e;
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
		/* Our own kicks (a DPC queueing on this CPU) are a flag. */
		do {
			e->again = false;
			csx__dpc_run(e->cpu);
		} while (e->again);
		csx_user_exec_sleep(e);
	}
	csx__user_tls.exec = NULL;
	csx__user_tls.ctx &= ~CSX_OS_CTX_DPC;
	return NULL;
}

static void csx_user_exec_kick(struct csx_user_exec *e)
{
	if (__atomic_exchange_n(&e->state, CSX_USER_EXEC_KICKED,
				__ATOMIC_ACQ_REL) == CSX_USER_EXEC_SLEEPING)
		csx_user_futex_wake(&e->state, 1);
}

void csx_os_dpc_kick(unsigned int cpu)
{
	struct csx_user_exec *e;

	if (csx_user_unlikely(cpu >= csx_user_nexecs))
		return; /* executors not running: the core checks this */
	e = &csx_user_execs[cpu];
	/*
	 * The executor itself, in csx__dpc_run(): it looks again before it
	 * sleeps, no locked exchange needed.
	 */
	if (csx__user_tls.exec == e) {
		e->again = true;
		return;
	}
	/* A wait thread takes the list after it stops draining: no wake. */
	if (__atomic_load_n(&e->drainers, __ATOMIC_SEQ_CST))
		return;
	csx_user_exec_kick(e);
}

unsigned int csx__user_dpc_drain_begin(void)
{
	unsigned int cpu = csx_os_cpu_current();

	if (csx_user_unlikely(cpu >= csx_user_nexecs))
		return UINT_MAX;
	__atomic_add_fetch(&csx_user_execs[cpu].drainers, 1, __ATOMIC_SEQ_CST);
	return cpu;
}

void csx__user_dpc_drain_stop(unsigned int cpu)
{
	if (cpu != UINT_MAX)
		__atomic_sub_fetch(&csx_user_execs[cpu].drainers, 1,
				   __ATOMIC_SEQ_CST);
}

void csx__user_dpc_drain_run(unsigned int cpu)
{
	struct csx_user_tls *tls = &csx__user_tls;
	unsigned int ctx = tls->ctx;

	if (cpu == UINT_MAX)
		return;
	tls->ctx = (ctx & ~CSX_OS_CTX_ISR) | CSX_OS_CTX_DPC;
	csx__dpc_run_batch(cpu);
	tls->ctx = ctx;
}

static void csx_user_exec_stop(unsigned int n)
{
	unsigned int cpu;

	for (cpu = 0; cpu < n; cpu++)
		__atomic_store_n(&csx_user_execs[cpu].stop, true,
				 __ATOMIC_RELEASE);
	for (cpu = 0; cpu < n; cpu++) {
		/* Never skipped: the executor must see its stop flag. */
		csx_user_exec_kick(&csx_user_execs[cpu]);
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
