/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Mutex + condvar work queue, the DPC baseline (see bench_wq.h).
 */
#include "bench_wq.h"

#include <semaphore.h>

struct wq_start_arg {
	struct wq *q;
	const struct bench_sched *sched;
	sem_t ready;
};

/* Take everything queued at once, as the DPC executor does. */
static struct wq_item *wq_take(struct wq *q)
{
	struct wq_item *list;

	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->stop)
		pthread_cond_wait(&q->cond, &q->lock);
	list = q->head;
	q->head = NULL;
	q->tail = &q->head;
	pthread_mutex_unlock(&q->lock);
	return list;
}

/* Clear pending before the run so the item may requeue itself. */
static void wq_run(struct wq *q, struct wq_item *list)
{
	while (list) {
		struct wq_item *it = list;

		list = it->next;
		__atomic_store_n(&it->pending, false, __ATOMIC_RELEASE);
		it->fn(it);
	}
}

static void *wq_body(void *p)
{
	struct wq_start_arg *a = p;
	struct wq *q = a->q;

	if (a->sched)
		bench_sched_set(a->sched);
	sem_post(&a->ready);
	for (;;) {
		struct wq_item *list = wq_take(q);

		if (!list)
			break;
		wq_run(q, list);
	}
	return NULL;
}

void wq_start(struct wq *q, int cpu, const struct bench_sched *sched)
{
	struct wq_start_arg a = { .q = q, .sched = sched };

	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->head = NULL;
	q->tail = &q->head;
	q->stop = false;
	sem_init(&a.ready, 0, 0);
	q->thr = bench_thread_start(cpu, wq_body, &a);
	while (sem_wait(&a.ready) != 0)
		;
	sem_destroy(&a.ready);
}

int wq_push(struct wq *q, struct wq_item *item)
{
	bool was_empty;

	/* An atomic flag, not the lock, keeps the baseline as lean as it can be. */
	if (__atomic_exchange_n(&item->pending, true, __ATOMIC_ACQ_REL))
		return 1;
	pthread_mutex_lock(&q->lock);
	item->next = NULL;
	was_empty = !q->head;
	*q->tail = item;
	q->tail = &item->next;
	pthread_mutex_unlock(&q->lock);
	/* A consumer that is not waiting rechecks the list under the lock. */
	if (was_empty)
		pthread_cond_signal(&q->cond);
	return 0;
}

void wq_stop(struct wq *q)
{
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_mutex_unlock(&q->lock);
	pthread_cond_signal(&q->cond);
	pthread_join(q->thr, NULL);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
}
