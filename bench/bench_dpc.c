/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * DPC benchmarks against a mutex + condvar work queue (bench_wq.c) whose
 * consumer runs where the DPC executor runs (the producer's CPU, since a
 * DPC runs on the queuing CPU) with the executor's scheduling policy:
 *
 *   dpc_lat       queue -> start of the function, producer blocks between
 *   dpc_rate_batch          a producer thread queues 64 distinct DPCs and
 *                           waits for the batch (a normal thread: the
 *                           executor preempts it at every kick)
 *   dpc_rate_batch_isrprio  the same producer at the wait threads'
 *                           priority, as an ISR queueing DPCs is
 *   dpc_rate_requeue        one DPC requeues itself from its own run
 */
#include <csx/csx.h>
#include <csx_user.h>

#include "bench.h"
#include "bench_lat.h"
#include "bench_wq.h"

#include <errno.h>
#include <stdlib.h>

#define BATCH 64

struct job {
	struct csx_dpc *dpc;
	struct wq_item item;
};

static struct wq q;
static struct job jobs[BATCH];
static struct lat_sink csx_sink, base_sink;
static uint32_t batch_left;
static uint64_t requeue_left;
static sem_t done;

static void done_wait(void)
{
	while (sem_wait(&done) != 0 && errno == EINTR)
		;
}

/* ---- the same three jobs, as DPC functions and as work items ---------- */

static void lat_dpc(struct csx_dpc *dpc, void *ctx)
{
	lat_sink_hit(&csx_sink);
	lat_sink_repin(&csx_sink);
}

static void lat_item(struct wq_item *it)
{
	lat_sink_hit(&base_sink);
}

static void batch_one(void)
{
	if (__atomic_sub_fetch(&batch_left, 1, __ATOMIC_ACQ_REL) == 0)
		sem_post(&done);
}

static void batch_dpc(struct csx_dpc *dpc, void *ctx)
{
	batch_one();
}

static void batch_item(struct wq_item *it)
{
	batch_one();
}

/* Both requeue paths run on one thread at a time: no atomics needed. */
static void requeue_dpc(struct csx_dpc *dpc, void *ctx)
{
	if (--requeue_left)
		csx_dpc_queue(dpc);
	else
		sem_post(&done);
}

static void requeue_item(struct wq_item *it)
{
	if (--requeue_left)
		wq_push(&q, it);
	else
		sem_post(&done);
}

/* ---- drivers of the jobs ---------------------------------------------- */

static void fire_dpc(void *obj)
{
	csx_dpc_queue(obj);
}

static void fire_item(void *obj)
{
	wq_push(&q, obj);
}

/* Rebind every job to @dfn / @ifn. */
static int jobs_bind(csx_dpc_fn dfn, wq_fn ifn)
{
	int i, ret;

	for (i = 0; i < BATCH; i++) {
		if (jobs[i].dpc)
			csx_dpc_destroy(jobs[i].dpc);
		jobs[i].dpc = NULL;
		ret = csx_dpc_create(&jobs[i].dpc, dfn, &jobs[i]);
		if (ret)
			return ret;
		jobs[i].item = (struct wq_item){ .fn = ifn, .ctx = &jobs[i] };
	}
	return 0;
}

/* Runs per second of @batches batches of BATCH distinct jobs. */
static double batch_rate(bool csx, uint64_t batches)
{
	uint64_t b, t0 = bench_now_ns();
	int i;

	for (b = 0; b < batches; b++) {
		__atomic_store_n(&batch_left, BATCH, __ATOMIC_RELEASE);
		for (i = 0; i < BATCH; i++) {
			if (csx)
				csx_dpc_queue(jobs[i].dpc);
			else
				wq_push(&q, &jobs[i].item);
		}
		done_wait();
	}
	return (double)(batches * BATCH) * 1e9 / (bench_now_ns() - t0);
}

static double requeue_rate(bool csx, uint64_t runs)
{
	uint64_t t0 = bench_now_ns();

	requeue_left = runs;
	if (csx)
		csx_dpc_queue(jobs[0].dpc);
	else
		wq_push(&q, &jobs[0].item);
	done_wait();
	return (double)runs * 1e9 / (bench_now_ns() - t0);
}

static void lat_rows(unsigned int reps)
{
	struct lat_source cs = { fire_dpc, jobs[0].dpc, &csx_sink };
	struct lat_source bs = { fire_item, &jobs[0].item, &base_sink };
	uint64_t c[32], b[32], cp[32], bp[32], n = bench_iters(5000);
	unsigned int r;

	for (r = 0; r < reps; r++) {
		c[r] = lat_measure(&cs, 50, n, LAT_WAIT_SEM, 0, &cp[r]);
		b[r] = lat_measure(&bs, 50, n, LAT_WAIT_SEM, 0, &bp[r]);
	}
	bench_row("dpc_lat", bench_median_u64(c, reps),
		  bench_median_u64(b, reps), "ns", BENCH_TIME, "-",
		  "producer and executor/consumer on CPU0 (%s prio %d), "
		  "queue -> run, producer blocks between; p99 %llu vs %llu ns",
		  bench_sched_name(&csx_sink.sched), csx_sink.sched.prio,
		  (unsigned long long)bench_median_u64(cp, reps),
		  (unsigned long long)bench_median_u64(bp, reps));
}

/* The policy CSX gives wait threads, learnt from a software line's ISR. */
static enum csx_irqreturn sched_isr(struct csx_intr *intr, void *ctx)
{
	bench_sched_get(ctx);
	sem_post(&done);
	return CSX_IRQ_HANDLED;
}

static void isr_sched(struct bench_sched *s)
{
	struct csx_intr *line;

	bench_sched_get(s);
	if (csx_intr_attach_soft(sched_isr, s, &line) != 0)
		return;
	csx_intr_raise(line);
	done_wait();
	csx_intr_detach(line);
}

static void batch_row(const char *name, const struct bench_sched *prod,
		      unsigned int reps)
{
	uint64_t batches = bench_iters(3000);
	struct bench_sched self;
	double c[32], b[32];
	unsigned int r;

	bench_sched_get(&self);
	bench_sched_set(prod);
	for (r = 0; r < reps; r++) {
		c[r] = batch_rate(true, batches);
		b[r] = batch_rate(false, batches);
	}
	bench_sched_set(&self);
	bench_row(name, bench_median(c, reps), bench_median(b, reps), "runs/s",
		  BENCH_RATE, "ratio>=2",
		  "producer (%s prio %d) on CPU0 queues %d distinct DPCs / "
		  "work items and waits for the batch, executor/consumer "
		  "%s prio %d; %llu batches x %u reps",
		  bench_sched_name(prod), prod->prio, BATCH,
		  bench_sched_name(&csx_sink.sched), csx_sink.sched.prio,
		  (unsigned long long)batches, reps);
}

static void rate_rows(unsigned int reps)
{
	uint64_t runs = bench_iters(3000000);
	struct bench_sched self, isr;
	double c[32], b[32];
	unsigned int r;

	jobs_bind(batch_dpc, batch_item);
	bench_sched_get(&self);
	batch_row("dpc_rate_batch", &self, reps);
	isr_sched(&isr);
	batch_row("dpc_rate_batch_isrprio", &isr, reps);
	jobs_bind(requeue_dpc, requeue_item);
	for (r = 0; r < reps; r++) {
		c[r] = requeue_rate(true, runs);
		b[r] = requeue_rate(false, runs);
	}
	bench_row("dpc_rate_requeue", bench_median(c, reps),
		  bench_median(b, reps), "runs/s", BENCH_RATE, "ratio>=2",
		  "one DPC / work item requeues itself %llu times (CPU0), "
		  "%u reps",
		  (unsigned long long)runs, reps);
}

int main(void)
{
	unsigned int reps = bench_reps();

	bench_watchdog(120);
	if (reps > 32)
		reps = 32;
	if (csx_user_init() != 0)
		return 1;
	/* After init: CSX's threads must not inherit the mask. */
	bench_pin_self(BENCH_CPU_A);
	sem_init(&done, 0, 0);
	lat_sink_init(&csx_sink, BENCH_CPU_A);
	lat_sink_init(&base_sink, BENCH_CPU_A);
	if (jobs_bind(lat_dpc, lat_item) != 0)
		return 1;
	/* One run tells the executor's policy, which the consumer copies. */
	csx_dpc_queue(jobs[0].dpc);
	csx_dpc_flush(jobs[0].dpc);
	wq_start(&q, BENCH_CPU_A, &csx_sink.sched);
	lat_rows(reps);
	rate_rows(reps);
	wq_stop(&q);
	for (int i = 0; i < BATCH; i++)
		csx_dpc_destroy(jobs[i].dpc);
	lat_sink_fini(&csx_sink);
	lat_sink_fini(&base_sink);
	csx_user_fini();
	return 0;
}
