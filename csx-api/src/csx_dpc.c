/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * DPC queues: one per CPU, each a lock-free multi-producer stack that the
 * CPU's executor empties in one atomic exchange and runs oldest first.
 * Queueing never sleeps and never allocates, so an ISR may do it.
 *
 * A DPC's state word has four bits:
 * - PENDING: it must run (cleared by the executor just before the run, or
 *   by csx_dpc_cancel());
 * - IN_LIST: its node sits in some CPU's list (cleared by the executor when
 *   it takes the node off); a node is in at most one list at a time;
 * - RUNNING: an executor is calling the function;
 * - SELF: the function queued its own DPC on the CPU it runs for, so the
 *   executor that runs it owns the next run (set only with RUNNING).
 *
 * A DPC that requeues itself (a polling loop) is the common case of a
 * queue from a running DPC. Its node then stays out of the list: when the
 * function returns, the executor runs it again at once if nothing else
 * waits on that CPU, else puts it at the back of the list. Each round then
 * costs two compare-exchanges on the DPC's own state word instead of a
 * push, a list exchange and two more state changes.
 *
 * Counters: a queue that did not merge set PENDING, and every clear of
 * PENDING is a run starting (counted in "started" by the holder of
 * RUNNING, without a locked add) or a cancel. So queued is derived,
 * started + canceled + (PENDING set): queueing pays no locked add for it.
 *
 * A canceled DPC keeps its node in the list until the executor reaps it.
 * Queueing it again before that only sets PENDING, so it then runs on the
 * CPU whose list holds the node, not necessarily the queuing CPU.
 *
 * A DPC never runs on two CPUs at once: an executor that finds it running
 * elsewhere puts it back on its own list and kicks itself to retry later.
 */
#include "csx_core.h"

#define CSX__DPC_PENDING 0x1u
#define CSX__DPC_IN_LIST 0x2u
#define CSX__DPC_RUNNING 0x4u
#define CSX__DPC_SELF 0x8u

/* dpc->run_cpu of a run by a wait thread's drain, which may migrate. */
#define CSX__DPC_NO_CPU (~0u)
#define CSX__DPC_BUSY (CSX__DPC_PENDING | CSX__DPC_IN_LIST | CSX__DPC_RUNNING)

struct csx_dpc {
	uint32_t magic;
	uint32_t state;
	csx_dpc_fn fn;
	void *ctx;
	struct csx_dpc *next; /* list link, owned by whoever set IN_LIST */
	uintptr_t runner;     /* thread running fn, to refuse self-flush */
	unsigned int
		run_cpu;  /* runner is the executor of this CPU, or NO_CPU */
	uint64_t started; /* PENDING cleared for a run; RUNNING holder only */
	uint64_t merged;
	uint64_t runs;
	uint64_t canceled;
};

/* One per CPU, padded so CPUs do not share a cache line. */
struct csx__dpc_cpu {
	struct csx_dpc *head;
	char pad[64 - sizeof(struct csx_dpc *)];
};

static struct csx__dpc_cpu *csx__dpc_cpus;
static unsigned int csx__dpc_ncpu;

int csx__dpc_init(void)
{
	unsigned int n = csx_os_cpu_count();

	if (n == 0)
		n = 1;
	csx__dpc_cpus = csx__zalloc(n * sizeof(*csx__dpc_cpus));
	if (!csx__dpc_cpus)
		return -CSX_ENOMEM;
	csx__dpc_ncpu = n;
	return 0;
}

void csx__dpc_fini(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < csx__dpc_ncpu; cpu++) {
		if (csx__dpc_cpus[cpu].head)
			csx_warn("DPCs still queued on CPU %u at exit", cpu);
	}
	csx__free(csx__dpc_cpus);
	csx__dpc_cpus = NULL;
	csx__dpc_ncpu = 0;
}

static void csx__stat_inc(uint64_t *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static uint32_t csx__dpc_state(struct csx_dpc *dpc)
{
	return __atomic_load_n(&dpc->state, __ATOMIC_ACQUIRE);
}

/*
 * Push; true if the list was empty, i.e. the executor needs a kick.
 * Sequentially consistent: a back end may skip the kick when it sees that
 * a runner will take the list after it stops advertising so (see
 * csx__dpc_run_batch()); the push must then be ordered before that check.
 */
static bool csx__dpc_push(struct csx__dpc_cpu *q, struct csx_dpc *dpc)
{
	struct csx_dpc *old = __atomic_load_n(&q->head, __ATOMIC_RELAXED);

	do {
		dpc->next = old;
	} while (!__atomic_compare_exchange_n(
		&q->head, &old, dpc, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	return old == NULL;
}

int csx_dpc_create(struct csx_dpc **out, csx_dpc_fn fn, void *ctx)
{
	struct csx_dpc *dpc;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (!fn)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	dpc = csx__zalloc(sizeof(*dpc));
	if (!dpc)
		return -CSX_ENOMEM;
	dpc->fn = fn;
	dpc->ctx = ctx;
	dpc->magic = CSX__MAGIC_DPC;
	csx__live_inc(CSX__T_DPC);
	*out = dpc;
	return 0;
}

enum csx__dpc_mark { CSX__DPC_MERGED, CSX__DPC_PUSH, CSX__DPC_OWNED };

/*
 * Is the caller the executor running @dpc's function? Only the runner
 * thread itself can see its own id in dpc->runner. Executors run on their
 * CPU (csx_os_dpc_start()), so that is also the queuing CPU; a wait
 * thread's drain (NO_CPU) may have moved and takes the common path.
 */
static bool csx__dpc_own_run(struct csx_dpc *dpc)
{
	uintptr_t runner = __atomic_load_n(&dpc->runner, __ATOMIC_RELAXED);

	/* Not running (the common case): no call for the thread's id. */
	return runner && runner == csx_os_thread_id() &&
	       dpc->run_cpu != CSX__DPC_NO_CPU;
}

/*
 * Sets PENDING. MERGED: it was pending. PUSH: the caller must push the
 * node on the queuing CPU's list. OWNED: it is in a list already, or
 * @own (the caller is its run) and the run keeps it (SELF).
 */
static enum csx__dpc_mark csx__dpc_mark_pending(struct csx_dpc *dpc, bool own)
{
	uint32_t s = __atomic_load_n(&dpc->state, __ATOMIC_RELAXED);
	uint32_t ns;

	do {
		if (s & CSX__DPC_PENDING)
			return CSX__DPC_MERGED;
		if (s & (CSX__DPC_IN_LIST | CSX__DPC_SELF))
			ns = s | CSX__DPC_PENDING;
		else if (own)
			ns = s | CSX__DPC_PENDING | CSX__DPC_SELF;
		else
			ns = s | CSX__DPC_PENDING | CSX__DPC_IN_LIST;
	} while (!__atomic_compare_exchange_n(
		&dpc->state, &s, ns, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return (ns & ~s & CSX__DPC_IN_LIST) ? CSX__DPC_PUSH : CSX__DPC_OWNED;
}

static csx__cold int csx__dpc_merged(struct csx_dpc *dpc)
{
	csx__stat_inc(&dpc->merged);
	return CSX_DPC_MERGED;
}

int csx_dpc_queue(struct csx_dpc *dpc)
{
	enum csx__dpc_mark mark;
	unsigned int cpu;

	if (!csx__magic_ok(dpc, CSX__MAGIC_DPC))
		return csx__bad_handle(__func__, dpc);
	if (csx__unlikely(!csx__dpc_cpus))
		return csx__not_ready(__func__);
	/* A DPC requeueing itself: its run keeps it, no CPU to look up. */
	if (csx__dpc_own_run(dpc)) {
		mark = csx__dpc_mark_pending(dpc, true);
		return mark == CSX__DPC_MERGED ? csx__dpc_merged(dpc) : 0;
	}
	cpu = csx_os_cpu_hold();
	if (csx__unlikely(cpu >= csx__dpc_ncpu))
		cpu %= csx__dpc_ncpu;
	mark = csx__dpc_mark_pending(dpc, false);
	if (mark == CSX__DPC_PUSH && csx__dpc_push(&csx__dpc_cpus[cpu], dpc))
		csx_os_dpc_kick(cpu);
	csx_os_cpu_release();
	return mark == CSX__DPC_MERGED ? csx__dpc_merged(dpc) : 0;
}

/* Clears PENDING; true if it was set (a run was canceled). */
static bool csx__dpc_clear_pending(struct csx_dpc *dpc)
{
	uint32_t s = __atomic_load_n(&dpc->state, __ATOMIC_RELAXED);

	do {
		if (!(s & CSX__DPC_PENDING))
			return false;
	} while (!__atomic_compare_exchange_n(
		&dpc->state, &s, s & ~CSX__DPC_PENDING, true, __ATOMIC_ACQ_REL,
		__ATOMIC_RELAXED));
	csx__stat_inc(&dpc->canceled);
	return true;
}

int csx_dpc_cancel(struct csx_dpc *dpc)
{
	if (!csx__magic_ok(dpc, CSX__MAGIC_DPC))
		return csx__bad_handle(__func__, dpc);
	return csx__dpc_clear_pending(dpc) ? 1 : 0;
}

enum csx__dpc_verdict { CSX__DPC_SKIP, CSX__DPC_RUN, CSX__DPC_DEFER };

/*
 * Take @dpc off the list: a canceled node is dropped, a node running on
 * another CPU stays IN_LIST (deferred), a pending one becomes RUNNING.
 */
static enum csx__dpc_verdict csx__dpc_take(struct csx_dpc *dpc)
{
	uint32_t s = __atomic_load_n(&dpc->state, __ATOMIC_RELAXED);
	uint32_t ns;

	do {
		if (!(s & CSX__DPC_PENDING))
			ns = s & ~CSX__DPC_IN_LIST;
		else if (s & CSX__DPC_RUNNING)
			return CSX__DPC_DEFER;
		else
			ns = (s & ~(CSX__DPC_IN_LIST | CSX__DPC_PENDING)) |
			     CSX__DPC_RUNNING;
	} while (!__atomic_compare_exchange_n(
		&dpc->state, &s, ns, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return (s & CSX__DPC_PENDING) ? CSX__DPC_RUN : CSX__DPC_SKIP;
}

static struct csx_dpc *csx__dpc_reverse(struct csx_dpc *list)
{
	struct csx_dpc *fifo = NULL;

	while (list) {
		struct csx_dpc *next = list->next;

		list->next = fifo;
		fifo = list;
		list = next;
	}
	return fifo;
}

/* Put deferred nodes back (they kept IN_LIST) and ask to be run again. */
static void csx__dpc_requeue(unsigned int cpu, struct csx_dpc *deferred)
{
	struct csx__dpc_cpu *q = &csx__dpc_cpus[cpu];

	while (deferred) {
		struct csx_dpc *next = deferred->next;

		csx__dpc_push(q, deferred);
		deferred = next;
	}
	csx_os_cpu_hold();
	csx_os_dpc_kick(cpu);
	csx_os_cpu_release();
}

/*
 * A run of @dpc returned. Drop RUNNING, unless the function requeued its
 * own DPC (SELF) and nothing else waits on @cpu (@others: the rest of the
 * batch being run): then keep RUNNING and return true, run it again. With
 * others waiting it goes to the back of the list instead.
 */
static bool csx__dpc_finish(struct csx_dpc *dpc, unsigned int cpu, bool others)
{
	struct csx__dpc_cpu *q = &csx__dpc_cpus[cpu];
	uint32_t s = __atomic_load_n(&dpc->state, __ATOMIC_RELAXED);
	uint32_t ns;
	bool again;

	do {
		again = false;
		ns = s & ~(CSX__DPC_RUNNING | CSX__DPC_SELF);
		if ((s & (CSX__DPC_SELF | CSX__DPC_PENDING)) ==
		    (CSX__DPC_SELF | CSX__DPC_PENDING)) {
			if (!others &&
			    !__atomic_load_n(&q->head, __ATOMIC_RELAXED)) {
				ns = s & ~(CSX__DPC_SELF | CSX__DPC_PENDING);
				again = true;
			} else {
				ns |= CSX__DPC_IN_LIST;
			}
		}
		/* Release: the last touch, flush/destroy may free it then. */
	} while (!__atomic_compare_exchange_n(
		&dpc->state, &s, ns, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	if (!again && (ns & ~s & CSX__DPC_IN_LIST)) {
		/* IN_LIST keeps it alive; nobody can take it before this. */
		dpc->next = NULL;
		csx__dpc_requeue(cpu, dpc);
	}
	return again;
}

/* Only the holder of RUNNING writes these: no locked add. */
static void csx__dpc_count(uint64_t *ctr)
{
	__atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

/*
 * Run @dpc, whose RUNNING we hold (PENDING was cleared for it), as long as
 * it requeues itself (not in a @batch: see csx__dpc_run_list()). RUNNING
 * passes from one runner to the next with release/acquire, and so do the
 * counters.
 */
static void csx__dpc_call(struct csx_dpc *dpc, unsigned int cpu, bool batch,
			  bool others)
{
	uintptr_t me = csx_os_thread_id();

	/* Before runner: only this thread reads it, after seeing its id. */
	dpc->run_cpu = batch ? CSX__DPC_NO_CPU : cpu;
	do {
		csx__dpc_count(&dpc->started);
		__atomic_store_n(&dpc->runner, me, __ATOMIC_RELAXED);
		dpc->fn(dpc, dpc->ctx);
		__atomic_store_n(&dpc->runner, 0, __ATOMIC_RELAXED);
		csx__dpc_count(&dpc->runs);
	} while (csx__dpc_finish(dpc, cpu, others));
}

/*
 * Runs @list (@cpu's) in order; returns the deferred nodes, oldest first.
 * @batch: a wait thread's drain, which must go back to its interrupt and
 * may run on another CPU: a DPC that requeues itself is queued as from
 * any thread, on the CPU the wait thread is on.
 */
static struct csx_dpc *csx__dpc_run_list(unsigned int cpu, struct csx_dpc *list,
					 bool batch)
{
	struct csx_dpc *deferred = NULL;
	struct csx_dpc **tail = &deferred;

	while (list) {
		/* Read the link before the node can be pushed again. */
		struct csx_dpc *dpc = list;

		list = dpc->next;
		switch (csx__dpc_take(dpc)) {
		case CSX__DPC_RUN:
			csx__dpc_call(dpc, cpu, batch, list || deferred);
			break;
		case CSX__DPC_DEFER:
			dpc->next = NULL;
			*tail = dpc;
			tail = &dpc->next;
			break;
		case CSX__DPC_SKIP:
			break;
		}
	}
	return deferred;
}

/*
 * Take @cpu's whole list (sequentially consistent, for the kick-skipping
 * back ends: see csx__dpc_push()) and run it, oldest first. Several
 * runners may empty one list: each node is taken by one exchange only, and
 * a DPC running elsewhere is deferred, so it never runs twice at once.
 * false: the list was empty, or DPCs were deferred (requeued and kicked).
 */
static bool csx__dpc_run_once(unsigned int cpu, bool batch)
{
	struct csx__dpc_cpu *q = &csx__dpc_cpus[cpu];
	struct csx_dpc *list, *deferred;

	list = __atomic_exchange_n(&q->head, NULL, __ATOMIC_SEQ_CST);
	if (!list)
		return false;
	deferred = csx__dpc_run_list(cpu, csx__dpc_reverse(list), batch);
	if (deferred) {
		/* Do not spin here on a DPC another CPU runs. */
		csx__dpc_requeue(cpu, deferred);
		return false;
	}
	return true;
}

static bool csx__dpc_cpu_ok(const char *func, unsigned int cpu)
{
	if (csx__unlikely(!csx__dpc_cpus || cpu >= csx__dpc_ncpu)) {
		csx_err("%s(): no DPC queue for CPU %u", func, cpu);
		return false;
	}
	return true;
}

void csx__dpc_run(unsigned int cpu)
{
	if (!csx__dpc_cpu_ok(__func__, cpu))
		return;
	while (csx__dpc_run_once(cpu, false))
		;
}

void csx__dpc_run_batch(unsigned int cpu)
{
	if (!csx__dpc_cpu_ok(__func__, cpu))
		return;
	csx__dpc_run_once(cpu, true);
}

/* Refuse waiting on ourselves, and waiting where sleeping is forbidden. */
static int csx__dpc_wait_ok(const char *func, struct csx_dpc *dpc)
{
	if (__atomic_load_n(&dpc->runner, __ATOMIC_RELAXED) ==
	    csx_os_thread_id()) {
		csx_err("%s(): called from the DPC's own function", func);
		return -CSX_EDEADLK;
	}
	return csx__might_sleep(func);
}

static void csx__dpc_wait_idle(struct csx_dpc *dpc, uint32_t mask)
{
	while (csx__dpc_state(dpc) & mask)
		csx_os_thread_sleep(CSX__POLL_NS);
}

int csx_dpc_flush(struct csx_dpc *dpc)
{
	int ret;

	if (!csx__magic_ok(dpc, CSX__MAGIC_DPC))
		return csx__bad_handle(__func__, dpc);
	ret = csx__dpc_wait_ok(__func__, dpc);
	if (ret)
		return ret;
	csx__dpc_wait_idle(dpc, CSX__DPC_BUSY);
	return 0;
}

int csx_dpc_destroy(struct csx_dpc *dpc)
{
	int ret;

	if (!dpc)
		return 0;
	if (!csx__magic_ok(dpc, CSX__MAGIC_DPC))
		return csx__bad_handle(__func__, dpc);
	ret = csx__dpc_wait_ok(__func__, dpc);
	if (ret)
		return ret;
	/* Poison first so queueing races fail instead of reviving it. */
	csx__magic_set(dpc, CSX__MAGIC_DEAD);
	csx__dpc_clear_pending(dpc);
	csx__dpc_wait_idle(dpc, CSX__DPC_IN_LIST | CSX__DPC_RUNNING);
	csx__retire(dpc);
	csx__live_dec(CSX__T_DPC);
	return 0;
}

/*
 * queued is derived (see the top): read it from a state that did not
 * change meanwhile. Exact once the DPC is idle; while a run starts it may
 * lag by one for a moment.
 */
static void csx__dpc_read_stats(struct csx_dpc *dpc, struct csx_dpc_stats *out)
{
	uint32_t s;
	uint64_t started;

	do {
		s = csx__dpc_state(dpc);
		started = __atomic_load_n(&dpc->started, __ATOMIC_RELAXED);
		out->canceled =
			__atomic_load_n(&dpc->canceled, __ATOMIC_RELAXED);
		out->runs = __atomic_load_n(&dpc->runs, __ATOMIC_RELAXED);
	} while (csx__dpc_state(dpc) != s);
	out->queued = started + out->canceled + !!(s & CSX__DPC_PENDING);
	out->merged = __atomic_load_n(&dpc->merged, __ATOMIC_RELAXED);
}

int csx_dpc_stats(struct csx_dpc *dpc, struct csx_dpc_stats *out)
{
	if (!csx__magic_ok(dpc, CSX__MAGIC_DPC))
		return csx__bad_handle(__func__, dpc);
	if (!out)
		return -CSX_EINVAL;
	csx__dpc_read_stats(dpc, out);
	return 0;
}
