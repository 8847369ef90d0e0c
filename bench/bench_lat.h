/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Wake-up latency harness shared by the interrupt and edu benchmarks: a
 * raiser takes t0 and fires; the receiving side (a CSX ISR or a baseline
 * thread) stores t1 and bumps a sequence number. The same loop times both,
 * so the only difference between a CSX figure and its baseline is the
 * mechanism between fire() and the receiver.
 */
#ifndef BENCH_LAT_H
#define BENCH_LAT_H

#include "bench.h"

#include <semaphore.h>

/* Where a receiver reports; one per receiving side. */
struct lat_sink {
	uint64_t t1;  /* when the receiver started running */
	uint32_t seq; /* receptions so far */
	bool post;    /* also sem_post(&done) (blocking completion) */
	sem_t done;
	/* Pinning request honoured by receivers that pin themselves. */
	int want_cpu;
	int cur_cpu;
	/* The receiver's scheduling policy, copied to baselines. */
	struct bench_sched sched;
};

void lat_sink_init(struct lat_sink *s, int cpu);
void lat_sink_fini(struct lat_sink *s);

/*
 * Record a reception that started at @t1 and release the raiser. A
 * receiver that must finish something first (acknowledge the device) takes
 * t1 on entry and calls this when done, so the next fire cannot merge into
 * the interrupt still being handled.
 */
static inline void lat_sink_hit_at(struct lat_sink *s, uint64_t t1)
{
	__atomic_store_n(&s->t1, t1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->seq, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&s->post, __ATOMIC_RELAXED))
		sem_post(&s->done);
}

/* Record a reception now; call first thing in the receiver. */
static inline void lat_sink_hit(struct lat_sink *s)
{
	lat_sink_hit_at(s, bench_now_ns());
}

/* Re-pin the receiving thread if the harness asked (call after hit). */
void lat_sink_repin(struct lat_sink *s);

/* How the raiser waits for the receiver before the next fire. */
enum lat_wait {
	LAT_WAIT_SEM,	/* block on the sink's semaphore */
	LAT_WAIT_SPIN,	/* busy-poll the sequence number */
	LAT_WAIT_SLEEP, /* sleep a gap, then poll (receiver idles) */
};

struct lat_source {
	void (*fire)(void *obj);
	void *obj;
	struct lat_sink *sink;
};

/*
 * lat_measure() - Fire @n times from the calling thread, after @warm
 * unrecorded fires; returns the median latency and *@p99 (ns). @gap_ns is
 * the sleep of LAT_WAIT_SLEEP.
 */
uint64_t lat_measure(const struct lat_source *src, uint64_t warm, uint64_t n,
		     enum lat_wait wait, uint64_t gap_ns, uint64_t *p99);

/*
 * Baseline receivers. An eventfd reader thread blocks in read() (the
 * kernel wake-up a CSX wait thread also needs); a busy poller spins on a
 * counter and never blocks.
 */
struct lat_efd {
	int fd;
	struct lat_sink sink;
	bool stop;
	pthread_t thr;
};

/* Start the reader on @cpu with the policy @sched (NULL: default). */
void lat_efd_start(struct lat_efd *e, int cpu, const struct bench_sched *sched);
void lat_efd_stop(struct lat_efd *e);
void lat_efd_fire(void *obj);

struct lat_poll {
	uint64_t req;
	struct lat_sink sink;
	const struct bench_sched *sched;
	bool ready;
	bool stop;
	pthread_t thr;
};

/* Start the poller on @cpu with the policy @sched (NULL: default). */
void lat_poll_start(struct lat_poll *p, int cpu,
		    const struct bench_sched *sched);
void lat_poll_stop(struct lat_poll *p);
void lat_poll_fire(void *obj);

#endif /* BENCH_LAT_H */
