/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * DPC queues: one per CPU, each a lock-free multi-producer stack that the
 * CPU's executor empties in one atomic exchange and runs oldest first.
 * Queueing never sleeps and never allocates, so an ISR may do it.
 *
 * A DPC's state word has three bits:
 * - PENDING: it must run (cleared by the executor just before the run, or
 *   by csx_dpc_cancel());
 * - IN_LIST: its node sits in some CPU's list (cleared by the executor when
 *   it takes the node off); a node is in at most one list at a time;
 * - RUNNING: an executor is calling the function.
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
#define CSX__DPC_BUSY (CSX__DPC_PENDING | CSX__DPC_IN_LIST | CSX__DPC_RUNNING)

struct csx_dpc {
	uint32_t magic;
	uint32_t state;
	csx_dpc_fn fn;
	void *ctx;
	struct csx_dpc *next; /* list link, owned by whoever set IN_LIST */
	uintptr_t runner;     /* thread running fn, to refuse self-flush */
	uint64_t queued;
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

/* Sets PENDING; returns the state before, or ~0 if it was pending. */
static uint32_t csx__dpc_mark_pending(struct csx_dpc *dpc)
{
	uint32_t s = __atomic_load_n(&dpc->state, __ATOMIC_RELAXED);
	uint32_t ns;

	do {
		if (s & CSX__DPC_PENDING)
			return ~0u;
		ns = s | CSX__DPC_PENDING | CSX__DPC_IN_LIST;
	} while (!__atomic_compare_exchange_n(
		&dpc->state, &s, ns, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return s;
}

int csx_dpc_queue(struct csx_dpc *dpc)
{
	unsigned int cpu;
	uint32_t old;

	if (!csx__magic_ok(dpc, CSX__MAGIC_DPC))
		return csx__bad_handle(__func__, dpc);
	if (csx__unlikely(!csx__dpc_cpus))
		return csx__not_ready(__func__);
	cpu = csx_os_cpu_hold();
	if (csx__unlikely(cpu >= csx__dpc_ncpu))
		cpu %= csx__dpc_ncpu;
	old = csx__dpc_mark_pending(dpc);
	if (old == ~0u) {
		csx_os_cpu_release();
		csx__stat_inc(&dpc->merged);
		return CSX_DPC_MERGED;
	}
	csx__stat_inc(&dpc->queued);
	if (!(old & CSX__DPC_IN_LIST) &&
	    csx__dpc_push(&csx__dpc_cpus[cpu], dpc))
		csx_os_dpc_kick(cpu);
	csx_os_cpu_release();
	return 0;
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

static void csx__dpc_call(struct csx_dpc *dpc)
{
	__atomic_store_n(&dpc->runner, csx_os_thread_id(), __ATOMIC_RELAXED);
	dpc->fn(dpc, dpc->ctx);
	__atomic_store_n(&dpc->runner, 0, __ATOMIC_RELAXED);
	/*
	 * Only the holder of RUNNING writes runs, and RUNNING passes from
	 * one runner to the next with release/acquire: no locked add.
	 */
	__atomic_store_n(&dpc->runs,
			 __atomic_load_n(&dpc->runs, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
	/* Last touch: flush/destroy may free the DPC once this is clear. */
	__atomic_and_fetch(&dpc->state, ~CSX__DPC_RUNNING, __ATOMIC_RELEASE);
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

/* Runs @list in order; returns the deferred nodes, oldest first. */
static struct csx_dpc *csx__dpc_run_list(struct csx_dpc *list)
{
	struct csx_dpc *deferred = NULL;
	struct csx_dpc **tail = &deferred;

	while (list) {
		/* Read the link before the node can be pushed again. */
		struct csx_dpc *dpc = list;

		list = dpc->next;
		switch (csx__dpc_take(dpc)) {
		case CSX__DPC_RUN:
			csx__dpc_call(dpc);
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
 * Take @cpu's whole list (sequentially consistent, for the kick-skipping
 * back ends: see csx__dpc_push()) and run it, oldest first. Several
 * runners may empty one list: each node is taken by one exchange only, and
 * a DPC running elsewhere is deferred, so it never runs twice at once.
 * false: the list was empty, or DPCs were deferred (requeued and kicked).
 */
static bool csx__dpc_run_once(unsigned int cpu)
{
	struct csx__dpc_cpu *q = &csx__dpc_cpus[cpu];
	struct csx_dpc *list, *deferred;

	list = __atomic_exchange_n(&q->head, NULL, __ATOMIC_SEQ_CST);
	if (!list)
		return false;
	deferred = csx__dpc_run_list(csx__dpc_reverse(list));
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
	while (csx__dpc_run_once(cpu))
		;
}

void csx__dpc_run_batch(unsigned int cpu)
{
	if (!csx__dpc_cpu_ok(__func__, cpu))
		return;
	csx__dpc_run_once(cpu);
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

int csx_dpc_stats(struct csx_dpc *dpc, struct csx_dpc_stats *out)
{
	if (!csx__magic_ok(dpc, CSX__MAGIC_DPC))
		return csx__bad_handle(__func__, dpc);
	if (!out)
		return -CSX_EINVAL;
	out->queued = __atomic_load_n(&dpc->queued, __ATOMIC_RELAXED);
	out->merged = __atomic_load_n(&dpc->merged, __ATOMIC_RELAXED);
	out->runs = __atomic_load_n(&dpc->runs, __ATOMIC_RELAXED);
	out->canceled = __atomic_load_n(&dpc->canceled, __ATOMIC_RELAXED);
	return 0;
}
