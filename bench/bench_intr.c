/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Interrupt benchmarks of the user back end, each against a baseline doing
 * the same job without CSX, in the same process and placement:
 *
 *   rlock  csx_intr_disable/restore vs pthread_rwlock_rdlock/unlock, one
 *          thread and two threads on different CPUs; then the WRITELOCK
 *          side: raise -> ISR latency with two disabling threads running,
 *          vs idle and vs two threads running the same loop without
 *          disabling (same CPU load, no READLOCK).
 *   raise  csx_intr_raise -> ISR entry vs eventfd write -> read wake-up,
 *          same CPU and different CPUs.
 *   spin   csx_intr_set_spin(): raise -> ISR vs a busy-poll hand-off, and
 *          the CPU the process burns in an idle second after the budget.
 *
 * Usage: bench-intr [rlock] [raise] [spin]   (none: all). Rows are named
 * after the READLOCK mode taken from CSX_READLOCK (the back end reads it at
 * init), so run once per mode.
 *
 * The wait thread is created by CSX; the ISR pins it on its first runs
 * (lat_sink_repin), and its scheduling policy is copied to the baseline's
 * receiver, so both sides wake the same kind of thread on the same CPU.
 */
#include <csx/csx.h>
#include <csx_user.h>

#include "bench.h"
#include "bench_lat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPIN_BUDGET_NS 50000ull
#define LOAD_THREADS 2

static const char *mode;
static struct csx_intr *line;
static struct lat_sink sink;

static enum csx_irqreturn bench_isr(struct csx_intr *intr, void *ctx)
{
	struct lat_sink *s = ctx;

	lat_sink_hit(s);
	lat_sink_repin(s);
	return CSX_IRQ_HANDLED;
}

static void csx_fire(void *obj)
{
	csx_intr_raise(obj);
}

static struct lat_source csx_source(void)
{
	return (struct lat_source){ csx_fire, line, &sink };
}

/* Move the wait thread to @cpu: the ISR re-pins itself on the next runs. */
static void place_wait_thread(int cpu)
{
	struct lat_source src = csx_source();

	__atomic_store_n(&sink.want_cpu, cpu, __ATOMIC_RELAXED);
	lat_measure(&src, 20, 1, LAT_WAIT_SEM, 0, NULL);
}

static void name_row(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "%s_%s", what, mode);
}

/* ---- Row 1: READLOCK cost -------------------------------------------- */

typedef uint64_t (*op_loop_fn)(void *obj, const bool *stop);

#define OPS_PER_CHECK 256

static uint64_t loop_csx(void *obj, const bool *stop)
{
	struct csx_intr *in = obj;
	uint64_t n = 0;
	int i;

	while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < OPS_PER_CHECK; i++) {
			unsigned long key = csx_intr_disable(in);

			bench_barrier();
			csx_intr_restore(in, key);
		}
		n += OPS_PER_CHECK;
	}
	return n;
}

static uint64_t loop_rwlock(void *obj, const bool *stop)
{
	pthread_rwlock_t *rw = obj;
	uint64_t n = 0;
	int i;

	while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < OPS_PER_CHECK; i++) {
			pthread_rwlock_rdlock(rw);
			bench_barrier();
			pthread_rwlock_unlock(rw);
		}
		n += OPS_PER_CHECK;
	}
	return n;
}

/* The same loop with nothing to take: CPU load without a READLOCK. */
static uint64_t loop_plain(void *obj, const bool *stop)
{
	uint64_t n = 0;
	int i;

	while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < OPS_PER_CHECK; i++)
			bench_barrier();
		n += OPS_PER_CHECK;
	}
	return n;
}

struct worker {
	op_loop_fn loop;
	void *obj;
	const struct crew_cfg *cfg;
	uint64_t ops;
	uint64_t cpu_ns;
	uint64_t wall_ns;
};

/* What the workers of one crew share. */
struct crew_cfg {
	bool rt; /* run at SCHED_FIFO: the whole window on the CPU */
	bool go;
	bool stop;
	unsigned int ready;
};

/* Below CSX's own threads, above every normal thread. */
static const struct bench_sched worker_rt = { SCHED_FIFO, 1 };
/* The main thread must preempt RT workers to stop them. */
static const struct bench_sched main_rt = { SCHED_FIFO, 2 };

static void *worker_body(void *p)
{
	struct worker *w = p;
	struct crew_cfg *cfg = (struct crew_cfg *)w->cfg;
	uint64_t c0, t0;

	if (cfg->rt)
		bench_sched_set(&worker_rt);
	__atomic_add_fetch(&cfg->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&cfg->go, __ATOMIC_ACQUIRE))
		bench_relax();
	/* CPU time, not wall time: other engineers' jobs preempt us. */
	c0 = bench_thread_cpu_ns();
	t0 = bench_now_ns();
	w->ops = w->loop(w->obj, &cfg->stop);
	w->cpu_ns = bench_thread_cpu_ns() - c0;
	w->wall_ns = bench_now_ns() - t0;
	return NULL;
}

struct crew {
	struct worker w[LOAD_THREADS];
	pthread_t thr[LOAD_THREADS];
	unsigned int n;
	struct crew_cfg cfg;
};

/* Start @n workers on CPUs A, B, ... all released at the same moment. */
static void crew_start(struct crew *c, unsigned int n, bool rt, op_loop_fn loop,
		       void *obj)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->n = n;
	c->cfg.rt = rt;
	for (i = 0; i < n; i++) {
		c->w[i] = (struct worker){ loop, obj, &c->cfg, 0, 0, 0 };
		c->thr[i] = bench_thread_start(BENCH_CPU_A + (int)i,
					       worker_body, &c->w[i]);
	}
	/* Bounded: a worker that cannot start would leave the others
	 * spinning at real-time priority. */
	for (i = 0; __atomic_load_n(&c->cfg.ready, __ATOMIC_ACQUIRE) < n; i++) {
		if (i == 10000) {
			bench_log("load threads did not start; giving up");
			abort();
		}
		bench_sleep_ns(100000);
	}
	__atomic_store_n(&c->cfg.go, true, __ATOMIC_RELEASE);
}

/*
 * Stop and join; returns the mean ns per op of one thread, and in
 * *@share the smallest fraction of the window a worker was on its CPU
 * (with two workers, how much of the time they really ran together).
 */
static double crew_stop(struct crew *c, double *share)
{
	double sum = 0, min = 1;
	unsigned int i;

	__atomic_store_n(&c->cfg.stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < c->n; i++) {
		struct worker *w = &c->w[i];

		pthread_join(c->thr[i], NULL);
		sum += w->ops ? (double)w->cpu_ns / w->ops : 0;
		if (w->wall_ns && (double)w->cpu_ns / w->wall_ns < min)
			min = (double)w->cpu_ns / w->wall_ns;
	}
	if (share)
		*share = min;
	return sum / c->n;
}

/*
 * The workers run at SCHED_FIFO for the 100 ms window: with other jobs on
 * the machine, normal threads get a fraction of their CPU and two of them
 * rarely run at the same moment, which would hide the contention.
 */
static double ns_per_op(unsigned int threads, op_loop_fn loop, void *obj,
			double *share)
{
	struct bench_sched self;
	struct crew c;
	double ns;

	bench_sched_get(&self);
	bench_sched_set(&main_rt);
	crew_start(&c, threads, true, loop, obj);
	bench_sleep_ns(bench_iters(100) * 1000000ull);
	ns = crew_stop(&c, share);
	bench_sched_set(&self);
	return ns;
}

static void rlock_cost_row(unsigned int threads, pthread_rwlock_t *rw)
{
	unsigned int r, reps = bench_reps();
	double cs[32], bs[32], csh[32], bsh[32];
	char name[64];

	if (reps > 32)
		reps = 32;
	for (r = 0; r < reps; r++) {
		cs[r] = ns_per_op(threads, loop_csx, line, &csh[r]);
		bs[r] = ns_per_op(threads, loop_rwlock, rw, &bsh[r]);
	}
	name_row(name, sizeof(name),
		 threads == 1 ? "intr_disable_1t" : "intr_disable_2t");
	bench_row(name, bench_median(cs, reps), bench_median(bs, reps), "ns/op",
		  BENCH_TIME, threads == 1 ? "ratio<=0.3333" : "ratio<=0.1",
		  "%u SCHED_FIFO thread(s) on CPU%s, ns per disable+restore "
		  "vs rdlock+unlock per thread (thread CPU time), 100 ms x %u "
		  "reps; threads on CPU %.0f%% / %.0f%% of the window",
		  threads, threads == 1 ? "0" : "0 and CPU1", reps,
		  100 * bench_median(csh, reps), 100 * bench_median(bsh, reps));
}

/* Raise -> ISR latency with @loop running on both CPUs (NULL: idle). */
static uint64_t wlock_latency(op_loop_fn loop, uint64_t *p99)
{
	struct lat_source src = csx_source();
	struct crew c;
	uint64_t med;

	if (loop)
		crew_start(&c, LOAD_THREADS, false, loop, line);
	med = lat_measure(&src, 20, bench_iters(400), LAT_WAIT_SLEEP, 200000,
			  p99);
	if (loop)
		crew_stop(&c, NULL);
	return med;
}

static void wlock_rows(void)
{
	unsigned int r, reps = bench_reps();
	uint64_t rd[32], idle[32], plain[32], p99[3][32];
	char name[64];

	if (reps > 32)
		reps = 32;
	place_wait_thread(BENCH_CPU_B);
	for (r = 0; r < reps; r++) {
		idle[r] = wlock_latency(NULL, &p99[0][r]);
		rd[r] = wlock_latency(loop_csx, &p99[1][r]);
		plain[r] = wlock_latency(loop_plain, &p99[2][r]);
	}
	name_row(name, sizeof(name), "intr_wlock_lat_readers_vs_idle");
	bench_row(name, bench_median_u64(rd, reps),
		  bench_median_u64(idle, reps), "ns", BENCH_TIME, "-",
		  "raise (CPU0) -> ISR (wait thread CPU1) with 2 threads "
		  "looping disable/restore on CPU0+CPU1 vs nothing running; "
		  "p99 %llu vs %llu ns",
		  (unsigned long long)bench_median_u64(p99[1], reps),
		  (unsigned long long)bench_median_u64(p99[0], reps));
	name_row(name, sizeof(name), "intr_wlock_lat_readers_vs_load");
	bench_row(name, bench_median_u64(rd, reps),
		  bench_median_u64(plain, reps), "ns", BENCH_TIME, "ratio<=1.5",
		  "as above, vs the same 2 threads looping without disabling "
		  "(same CPU load, no READLOCK); p99 %llu vs %llu ns",
		  (unsigned long long)bench_median_u64(p99[1], reps),
		  (unsigned long long)bench_median_u64(p99[2], reps));
	name_row(name, sizeof(name), "intr_wlock_p99_readers_vs_load");
	bench_row(name, bench_median_u64(p99[1], reps),
		  bench_median_u64(p99[2], reps), "ns", BENCH_TIME, "-",
		  "the tail of the same runs: p99 latency with disabling "
		  "readers vs the same load without READLOCK (a reader "
		  "preempted inside its section holds the ISR off)");
}

static void bench_rlock(void)
{
	pthread_rwlock_t rw;

	pthread_rwlock_init(&rw, NULL);
	rlock_cost_row(1, &rw);
	rlock_cost_row(2, &rw);
	pthread_rwlock_destroy(&rw);
	wlock_rows();
}

/* ---- Row 2: software line vs eventfd --------------------------------- */

static void raise_row(int wait_cpu, const char *what, uint64_t n)
{
	struct lat_source cs = csx_source(), bs;
	unsigned int r, reps = bench_reps();
	uint64_t c[32], b[32], cp[32], bp[32];
	struct lat_efd efd;
	char name[64];

	if (reps > 32)
		reps = 32;
	place_wait_thread(wait_cpu);
	lat_efd_start(&efd, wait_cpu, &sink.sched);
	bs = (struct lat_source){ lat_efd_fire, &efd, &efd.sink };
	for (r = 0; r < reps; r++) {
		c[r] = lat_measure(&cs, 50, n, LAT_WAIT_SEM, 0, &cp[r]);
		b[r] = lat_measure(&bs, 50, n, LAT_WAIT_SEM, 0, &bp[r]);
	}
	lat_efd_stop(&efd);
	name_row(name, sizeof(name), what);
	bench_row(name, bench_median_u64(c, reps), bench_median_u64(b, reps),
		  "ns", BENCH_TIME, "ratio<=1.2",
		  "raiser CPU0, receiver CPU%d (%s), csx_intr_raise -> ISR vs "
		  "eventfd write -> read; p99 %llu vs %llu ns",
		  wait_cpu, bench_sched_name(&sink.sched),
		  (unsigned long long)bench_median_u64(cp, reps),
		  (unsigned long long)bench_median_u64(bp, reps));
}

static void bench_raise(void)
{
	raise_row(BENCH_CPU_A, "intr_raise_lat_samecpu", bench_iters(5000));
	raise_row(BENCH_CPU_B, "intr_raise_lat_xcpu", bench_iters(1500));
}

/* ---- Row 3: spin-then-block ------------------------------------------ */

/* CPU time the process burns per second while nothing happens, in ms. */
static double idle_cpu_ms_per_s(uint64_t window_ns)
{
	uint64_t c0 = bench_process_cpu_ns(), t0 = bench_now_ns();

	bench_sleep_ns(window_ns);
	return (double)(bench_process_cpu_ns() - c0) / 1e6 /
	       ((double)(bench_now_ns() - t0) / 1e9);
}

static void spin_rows(void)
{
	struct lat_source cs = csx_source();
	unsigned int r, reps = bench_reps();
	uint64_t c[32], b[32], cp[32], bp[32], n = bench_iters(20000);
	double base_idle = 0, csx_idle;
	struct lat_poll poll;
	struct lat_source bs = { lat_poll_fire, &poll, &poll.sink };
	char name[64];

	if (reps > 32)
		reps = 32;
	place_wait_thread(BENCH_CPU_B);
	for (r = 0; r < reps; r++) {
		csx_intr_set_spin(line, SPIN_BUDGET_NS);
		c[r] = lat_measure(&cs, 100, n, LAT_WAIT_SPIN, 0, &cp[r]);
		csx_intr_set_spin(line, 0);
		/*
		 * The poller owns CPU1 while it lives: start it per rep, at
		 * the wait thread's policy (like it, it must not be preempted
		 * by other jobs while it spins).
		 */
		lat_poll_start(&poll, BENCH_CPU_B, &sink.sched);
		b[r] = lat_measure(&bs, 100, n, LAT_WAIT_SPIN, 0, &bp[r]);
		if (r == 0)
			base_idle = idle_cpu_ms_per_s(200000000ull);
		lat_poll_stop(&poll);
	}
	name_row(name, sizeof(name), "intr_spin_lat_xcpu");
	bench_row(name, bench_median_u64(c, reps), bench_median_u64(b, reps),
		  "ns", BENCH_TIME, "ratio<=2",
		  "spin budget %llu us, raiser CPU0 busy-waits for the ISR, "
		  "wait thread CPU1 vs a busy-poll hand-off (poller %s like "
		  "the wait thread); p99 %llu vs %llu ns",
		  SPIN_BUDGET_NS / 1000, bench_sched_name(&sink.sched),
		  (unsigned long long)bench_median_u64(cp, reps),
		  (unsigned long long)bench_median_u64(bp, reps));

	/* Spin again, stop raising, let the budget run out, then watch. */
	csx_intr_set_spin(line, SPIN_BUDGET_NS);
	lat_measure(&cs, 0, 1000, LAT_WAIT_SPIN, 0, NULL);
	bench_sleep_ns(20 * SPIN_BUDGET_NS);
	csx_idle = idle_cpu_ms_per_s(1000000000ull);
	csx_intr_set_spin(line, 0);
	name_row(name, sizeof(name), "intr_spin_idle_cpu");
	bench_row(name, csx_idle, base_idle, "ms/s", BENCH_ABS, "csx<=5",
		  "process CPU time over 1 s without interrupts, after the "
		  "spin budget ran out; base: the busy poller idling (must "
		  "be ~1000)");
}

/* ---- main ---------------------------------------------------------------- */

static bool wanted(int argc, char **argv, const char *what)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], what) == 0)
			return true;
	return false;
}

static int setup(void)
{
	int ret;

	ret = csx_user_init();
	if (ret) {
		bench_log("csx_user_init: %d", ret);
		return ret;
	}
	lat_sink_init(&sink, BENCH_CPU_B);
	ret = csx_intr_attach_soft(bench_isr, &sink, &line);
	if (ret) {
		bench_log("csx_intr_attach_soft: %d", ret);
		csx_user_fini();
	}
	return ret;
}

int main(int argc, char **argv)
{
	bench_watchdog(120);
	mode = getenv("CSX_READLOCK");
	if (!mode || !*mode)
		mode = "default";
	/*
	 * Pin only after CSX started its threads (they inherit the mask);
	 * the raiser and the row-1 main thread live on CPU A.
	 */
	if (setup() != 0)
		return 1;
	if (bench_pin_self(BENCH_CPU_A) != 0)
		bench_log("cannot pin to CPU %d", BENCH_CPU_A);
	if (wanted(argc, argv, "rlock"))
		bench_rlock();
	if (wanted(argc, argv, "raise"))
		bench_raise();
	if (wanted(argc, argv, "spin"))
		spin_rows();
	csx_intr_detach(line);
	lat_sink_fini(&sink);
	csx_user_fini();
	return 0;
}
