/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Wake-up latency harness and the two baseline receivers (see bench_lat.h).
 */
#include "bench_lat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

void lat_sink_init(struct lat_sink *s, int cpu)
{
	memset(s, 0, sizeof(*s));
	sem_init(&s->done, 0, 0);
	s->want_cpu = cpu;
	s->cur_cpu = -1;
	bench_sched_get(&s->sched);
}

void lat_sink_fini(struct lat_sink *s)
{
	sem_destroy(&s->done);
}

void lat_sink_repin(struct lat_sink *s)
{
	int want = __atomic_load_n(&s->want_cpu, __ATOMIC_RELAXED);

	if (want == s->cur_cpu)
		return;
	if (want >= 0 && bench_pin_self(want) != 0)
		bench_log("receiver cannot pin itself to CPU %d", want);
	s->cur_cpu = want;
	bench_sched_get(&s->sched);
}

static void lat_wait_for(struct lat_sink *s, uint32_t seq, enum lat_wait wait,
			 uint64_t gap_ns)
{
	if (wait == LAT_WAIT_SEM) {
		while (sem_wait(&s->done) != 0 && errno == EINTR)
			;
	} else if (wait == LAT_WAIT_SLEEP) {
		bench_sleep_ns(gap_ns);
	}
	/* Receivers bump seq before posting, so this only spins after a
	 * stale post or in LAT_WAIT_SPIN/SLEEP. */
	while (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == seq) {
		if (wait == LAT_WAIT_SPIN)
			bench_relax();
		else
			sched_yield();
	}
}

uint64_t lat_measure(const struct lat_source *src, uint64_t warm, uint64_t n,
		     enum lat_wait wait, uint64_t gap_ns, uint64_t *p99)
{
	struct lat_sink *s = src->sink;
	struct bench_lat lat;
	uint64_t i, med;

	bench_lat_init(&lat, n);
	__atomic_store_n(&s->post, wait == LAT_WAIT_SEM, __ATOMIC_RELAXED);
	while (sem_trywait(&s->done) == 0)
		;
	for (i = 0; i < warm + n; i++) {
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		uint64_t t0 = bench_now_ns();

		src->fire(src->obj);
		lat_wait_for(s, seq, wait, gap_ns);
		if (i >= warm)
			bench_lat_add(
				&lat,
				__atomic_load_n(&s->t1, __ATOMIC_RELAXED) - t0);
	}
	med = bench_lat_median(&lat, p99);
	bench_lat_free(&lat);
	return med;
}

/* ---- eventfd reader ------------------------------------------------------ */

struct lat_efd_arg {
	struct lat_efd *e;
	const struct bench_sched *sched;
	sem_t ready;
};

static void *lat_efd_body(void *p)
{
	struct lat_efd_arg *a = p;
	struct lat_efd *e = a->e;
	uint64_t v;

	if (a->sched)
		bench_sched_set(a->sched);
	bench_sched_get(&e->sink.sched);
	sem_post(&a->ready);
	for (;;) {
		if (read(e->fd, &v, sizeof(v)) != sizeof(v))
			continue;
		lat_sink_hit(&e->sink);
		if (__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE))
			break;
	}
	return NULL;
}

void lat_efd_start(struct lat_efd *e, int cpu, const struct bench_sched *sched)
{
	struct lat_efd_arg a = { .e = e, .sched = sched };

	lat_sink_init(&e->sink, cpu);
	e->stop = false;
	e->fd = eventfd(0, EFD_CLOEXEC);
	if (e->fd < 0) {
		bench_log("eventfd: %s", strerror(errno));
		abort();
	}
	sem_init(&a.ready, 0, 0);
	e->thr = bench_thread_start(cpu, lat_efd_body, &a);
	while (sem_wait(&a.ready) != 0)
		;
	sem_destroy(&a.ready);
}

void lat_efd_fire(void *obj)
{
	struct lat_efd *e = obj;
	uint64_t one = 1;

	if (write(e->fd, &one, sizeof(one)) != sizeof(one))
		bench_log("eventfd write: %s", strerror(errno));
}

void lat_efd_stop(struct lat_efd *e)
{
	__atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
	lat_efd_fire(e);
	pthread_join(e->thr, NULL);
	close(e->fd);
	lat_sink_fini(&e->sink);
}

/* ---- busy poller --------------------------------------------------------- */

static void *lat_poll_body(void *p)
{
	struct lat_poll *lp = p;
	uint64_t seen;

	if (lp->sched)
		bench_sched_set(lp->sched);
	seen = __atomic_load_n(&lp->req, __ATOMIC_ACQUIRE);

	/* A fire before this point would go unseen: the starter waits. */
	__atomic_store_n(&lp->ready, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&lp->stop, __ATOMIC_RELAXED)) {
		uint64_t r = __atomic_load_n(&lp->req, __ATOMIC_ACQUIRE);

		if (r == seen) {
			bench_relax();
			continue;
		}
		seen = r;
		lat_sink_hit(&lp->sink);
	}
	return NULL;
}

void lat_poll_start(struct lat_poll *p, int cpu,
		    const struct bench_sched *sched)
{
	lat_sink_init(&p->sink, cpu);
	p->sched = sched;
	p->req = 0;
	p->stop = false;
	p->ready = false;
	p->thr = bench_thread_start(cpu, lat_poll_body, p);
	while (!__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE))
		sched_yield();
}

void lat_poll_fire(void *obj)
{
	struct lat_poll *p = obj;

	__atomic_add_fetch(&p->req, 1, __ATOMIC_RELEASE);
}

void lat_poll_stop(struct lat_poll *p)
{
	__atomic_store_n(&p->stop, true, __ATOMIC_RELAXED);
	pthread_join(p->thr, NULL);
	lat_sink_fini(&p->sink);
}
