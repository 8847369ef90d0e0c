/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The baseline of the DPC benchmarks: a plain mutex + condition variable
 * work queue with one consumer thread, given the same semantics as a DPC
 * (an item queued while pending merges; the consumer takes the whole list
 * at once; the producer signals only when the list was empty).
 */
#ifndef BENCH_WQ_H
#define BENCH_WQ_H

#include "bench.h"

struct wq_item;
typedef void (*wq_fn)(struct wq_item *item);

struct wq_item {
	struct wq_item *next;
	wq_fn fn;
	void *ctx;
	bool pending; /* atomic: queued and not yet started */
};

struct wq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wq_item *head;
	struct wq_item **tail;
	bool stop;
	pthread_t thr;
};

/* Start the consumer on @cpu with the policy @sched (NULL: default). */
void wq_start(struct wq *q, int cpu, const struct bench_sched *sched);
void wq_stop(struct wq *q);
/* Returns 0 (queued) or 1 (already pending: merged), like csx_dpc_queue. */
int wq_push(struct wq *q, struct wq_item *item);

#endif /* BENCH_WQ_H */
