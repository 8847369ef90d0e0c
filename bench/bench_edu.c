/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Benchmarks through the simulated edu device (csx_sim.h):
 *
 *   edu_irq_lat_*   a device interrupt: the raiser writes the device's
 *                   interrupt-raise register (0x60), the model signals MSI
 *                   or asserts INTx, CSX's wait thread runs the ISR. Timed
 *                   from just before the register write to ISR entry, vs an
 *                   eventfd write -> read between the same two CPUs. A tiny
 *                   bench driver owns the device for this phase, so its ISR
 *                   can take the timestamp.
 *   edu_fact_*      n! requests through the edu sample driver's service
 *                   (csx_open("edu/0"), csx_call), end to end, vs the same
 *                   round trip built from raw threads: client -> device
 *                   thread (mutex+condvar, as the model) -> eventfd ->
 *                   interrupt thread -> semaphore -> client; the
 *                   model's worker and the wait thread (found by name)
 *                   and their baseline twins are pinned alike, on the
 *                   client's CPU and on the other one.
 *
 * The sample driver (samples/edu/csx_edu.c) is compiled into this program
 * unchanged; its CSX_MODULE descriptor is started as csx-run would.
 */
#include <csx/csx.h>
#include <csx_sim.h>
#include <csx_user.h>

#include "../samples/edu/edu.h"
#include "bench.h"
#include "bench_lat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define REG_IRQ_STATUS 0x24
#define REG_IRQ_RAISE 0x60
#define REG_IRQ_ACK 0x64
#define FACT_N 10u
#define FACT_RESULT 3628800u

/* From samples/edu/csx_edu.c (CSX_MODULE). */
extern const struct csx_module_desc csx_module_descriptor;

/* ---- Phase A: a bench driver that times its own ISR -------------------- */

static struct lat_sink irq_sink;
static struct csx_device *irq_dev;
static struct csx_intr *irq_line;

static enum csx_irqreturn irq_isr(struct csx_intr *intr, void *ctx)
{
	uint64_t t1 = bench_now_ns();
	uint32_t st;

	/* Acknowledge at once: an INTx line stays asserted until then. */
	st = csx_read32(irq_dev, 0, REG_IRQ_STATUS);
	if (!st)
		return CSX_IRQ_NONE;
	csx_write32(irq_dev, 0, REG_IRQ_ACK, st);
	/* Only now may the raiser raise again: before the acknowledge, a new
	 * raise would set a status bit that is still set, and be lost. */
	lat_sink_hit_at(&irq_sink, t1);
	lat_sink_repin(&irq_sink);
	return CSX_IRQ_HANDLED;
}

static int irq_probe(struct csx_device *dev, const struct csx_pci_id *id)
{
	int ret = csx_intr_attach(dev, CSX_INTR_ANY, irq_isr, NULL, &irq_line);

	if (ret == 0)
		irq_dev = dev;
	return ret;
}

static void irq_remove(struct csx_device *dev)
{
	csx_intr_detach(irq_line);
	irq_line = NULL;
	irq_dev = NULL;
}

static const struct csx_pci_id irq_ids[] = { { EDU_VENDOR, EDU_DEVICE },
					     { 0, 0 } };

static struct csx_driver irq_drv = {
	.name = "bench-edu-irq",
	.ids = irq_ids,
	.probe = irq_probe,
	.remove = irq_remove,
};

static void irq_fire(void *obj)
{
	csx_write32(obj, 0, REG_IRQ_RAISE, 1);
}

/* One row: the bench driver bound to a fresh instance made with @options. */
static void irq_row(const char *name, const char *options, int wait_cpu,
		    uint64_t n)
{
	uint64_t c[32], b[32], cp[32], bp[32];
	unsigned int r, reps = bench_reps();
	struct lat_source cs, bs;
	struct csx_sim_dev *sd;
	struct lat_efd efd;
	bool msi;

	if (reps > 32)
		reps = 32;
	/* A new instance has a new wait thread: make the ISR pin it. */
	irq_sink.cur_cpu = -1;
	if (csx_sim_create("edu", options, &sd) != 0 || !irq_dev) {
		bench_log(
			"%s: no simulated edu device bound to the bench driver",
			name);
		return;
	}
	msi = csx_intr_is_msi(irq_line);
	cs = (struct lat_source){ irq_fire, irq_dev, &irq_sink };
	irq_sink.want_cpu = wait_cpu;
	lat_measure(&cs, 20, 1, LAT_WAIT_SEM, 0, NULL);
	lat_efd_start(&efd, wait_cpu, &irq_sink.sched);
	bs = (struct lat_source){ lat_efd_fire, &efd, &efd.sink };
	for (r = 0; r < reps; r++) {
		c[r] = lat_measure(&cs, 50, n, LAT_WAIT_SEM, 0, &cp[r]);
		b[r] = lat_measure(&bs, 50, n, LAT_WAIT_SEM, 0, &bp[r]);
	}
	lat_efd_stop(&efd);
	csx_sim_destroy(sd);
	bench_row(name, bench_median_u64(c, reps), bench_median_u64(b, reps),
		  "ns", BENCH_TIME, "ratio<=1.2",
		  "%s: register write (CPU0) -> ISR entry (wait thread CPU%d, "
		  "%s) vs eventfd write -> read; p99 %llu vs %llu ns",
		  msi ? "MSI" : "INTx", wait_cpu,
		  bench_sched_name(&irq_sink.sched),
		  (unsigned long long)bench_median_u64(cp, reps),
		  (unsigned long long)bench_median_u64(bp, reps));
}

static void irq_rows(void)
{
	lat_sink_init(&irq_sink, BENCH_CPU_B);
	if (csx_driver_register(&irq_drv) != 0) {
		bench_log("cannot register the bench driver");
		return;
	}
	irq_row("edu_irq_lat_msi_samecpu", NULL, BENCH_CPU_A,
		bench_iters(3000));
	irq_row("edu_irq_lat_msi_xcpu", NULL, BENCH_CPU_B, bench_iters(1000));
	irq_row("edu_irq_lat_intx_xcpu", "msi=off", BENCH_CPU_B,
		bench_iters(1000));
	csx_driver_unregister(&irq_drv);
}

/* ---- Phase B, baseline: the same round trip on raw threads ------------- */

struct raw {
	pthread_mutex_t lock; /* the "registers" below, as in the model */
	pthread_cond_t kick;
	uint32_t arg;
	uint32_t result;
	bool busy;
	bool stop;
	int irq_fd;
	sem_t done;
	uint32_t reply;
	pthread_t dev_thr;
	pthread_t irq_thr;
};

static void *raw_dev_body(void *p)
{
	struct raw *rw = p;
	uint64_t one = 1;

	pthread_mutex_lock(&rw->lock);
	for (;;) {
		uint32_t n, res = 1;

		while (!rw->busy && !rw->stop)
			pthread_cond_wait(&rw->kick, &rw->lock);
		if (rw->stop)
			break;
		n = rw->arg;
		pthread_mutex_unlock(&rw->lock);
		while (n > 0)
			res *= n--;
		pthread_mutex_lock(&rw->lock);
		rw->result = res;
		rw->busy = false;
		if (write(rw->irq_fd, &one, sizeof(one)) != sizeof(one))
			bench_log("eventfd write: %s", strerror(errno));
	}
	pthread_mutex_unlock(&rw->lock);
	return NULL;
}

struct raw_irq_arg {
	struct raw *rw;
	struct bench_sched sched;
};

static void *raw_irq_body(void *p)
{
	struct raw_irq_arg *a = p;
	struct raw *rw = a->rw;
	uint64_t v;

	bench_sched_set(&a->sched);
	free(a);
	while (read(rw->irq_fd, &v, sizeof(v)) == sizeof(v)) {
		pthread_mutex_lock(&rw->lock);
		rw->reply = rw->result;
		if (rw->stop) {
			pthread_mutex_unlock(&rw->lock);
			break;
		}
		pthread_mutex_unlock(&rw->lock);
		sem_post(&rw->done);
	}
	return NULL;
}

static void raw_start(struct raw *rw, const struct bench_sched *irq_sched,
		      int cpu)
{
	struct raw_irq_arg *a = malloc(sizeof(*a));

	if (!a)
		abort();
	memset(rw, 0, sizeof(*rw));
	pthread_mutex_init(&rw->lock, NULL);
	pthread_cond_init(&rw->kick, NULL);
	sem_init(&rw->done, 0, 0);
	rw->irq_fd = eventfd(0, EFD_CLOEXEC);
	a->rw = rw;
	a->sched = *irq_sched;
	/* Where the model's worker and CSX's wait thread are pinned. */
	rw->dev_thr = bench_thread_start(cpu, raw_dev_body, rw);
	rw->irq_thr = bench_thread_start(cpu, raw_irq_body, a);
}

static void raw_stop(struct raw *rw)
{
	uint64_t one = 1;

	pthread_mutex_lock(&rw->lock);
	rw->stop = true;
	pthread_cond_signal(&rw->kick);
	pthread_mutex_unlock(&rw->lock);
	pthread_join(rw->dev_thr, NULL);
	if (write(rw->irq_fd, &one, sizeof(one)) != sizeof(one))
		bench_log("eventfd write: %s", strerror(errno));
	pthread_join(rw->irq_thr, NULL);
	close(rw->irq_fd);
	sem_destroy(&rw->done);
	pthread_cond_destroy(&rw->kick);
	pthread_mutex_destroy(&rw->lock);
}

static int raw_factorial(struct raw *rw, uint32_t n, uint32_t *out)
{
	pthread_mutex_lock(&rw->lock);
	rw->arg = n;
	rw->busy = true;
	pthread_cond_signal(&rw->kick);
	pthread_mutex_unlock(&rw->lock);
	while (sem_wait(&rw->done) != 0 && errno == EINTR)
		;
	*out = rw->reply;
	return 0;
}

/* ---- Phase B: requests through the sample driver ----------------------- */

static int csx_factorial(struct csx_chan *chan, uint32_t n, uint32_t *out)
{
	struct edu_fact_req req = { .n = n };
	struct edu_fact_resp resp;
	size_t len = 0;
	int ret;

	ret = csx_call(chan, EDU_OP_FACTORIAL, &req, sizeof(req), &resp,
		       sizeof(resp), &len, CSX_WAIT_FOREVER);
	if (ret == 0 && len == sizeof(resp))
		*out = resp.result;
	return ret;
}

struct fact_side {
	struct csx_chan *chan; /* NULL: the raw baseline */
	struct raw *rw;
};

/* @n sequential requests: returns requests/s, *med the median latency. */
static double fact_run(const struct fact_side *s, uint64_t n, uint64_t *med,
		       uint64_t *bad)
{
	struct bench_lat lat;
	uint64_t i, t0, t;
	uint32_t res = 0;
	int ret;

	bench_lat_init(&lat, n);
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		t = bench_now_ns();
		ret = s->chan ? csx_factorial(s->chan, FACT_N, &res) :
				raw_factorial(s->rw, FACT_N, &res);
		bench_lat_add(&lat, bench_now_ns() - t);
		if (ret != 0 || res != FACT_RESULT)
			(*bad)++;
	}
	t = bench_now_ns() - t0;
	*med = bench_lat_median(&lat, NULL);
	bench_lat_free(&lat);
	return (double)n * 1e9 / (double)t;
}

/*
 * Pin the model's worker and the edu driver's wait thread (created by the
 * simulation and by CSX, found by name) to @cpu; the client is on CPU A.
 */
static bool fact_place(int cpu)
{
	int dev = bench_pin_threads_named("csx-sim-edu", cpu);
	int isr = bench_pin_threads_named("csx-isr/", cpu);

	if (dev != 1 || isr != 1)
		bench_log("placement: pinned %d model and %d wait thread(s)",
			  dev, isr);
	return dev == 1 && isr == 1;
}

static void fact_measure(struct csx_chan *chan, int cpu, const char *pl)
{
	double cr[32], br[32];
	uint64_t cl[32], bl[32], bad = 0, n = bench_iters(2000);
	struct fact_side cs = { chan, NULL }, bs;
	unsigned int r, reps = bench_reps();
	char name[64];
	bool placed;
	struct raw rw;

	if (reps > 32)
		reps = 32;
	placed = fact_place(cpu);
	/* Same policy for the baseline's interrupt thread as a wait thread. */
	raw_start(&rw, &irq_sink.sched, cpu);
	bs = (struct fact_side){ NULL, &rw };
	fact_run(&cs, 100, &cl[0], &bad);
	fact_run(&bs, 100, &bl[0], &bad);
	for (r = 0; r < reps; r++) {
		cr[r] = fact_run(&cs, n, &cl[r], &bad);
		br[r] = fact_run(&bs, n, &bl[r], &bad);
	}
	raw_stop(&rw);
	snprintf(name, sizeof(name), "edu_fact_rate_%s", pl);
	bench_row(name, bench_median(cr, reps), bench_median(br, reps), "req/s",
		  BENCH_RATE, "-",
		  "%u! via csx_call(\"edu/0\") through the simulated device vs "
		  "raw threads doing the same hand-offs; client CPU0, device "
		  "and interrupt threads CPU%d%s; %llu wrong results",
		  FACT_N, cpu, placed ? "" : " (CSX side NOT placed)",
		  (unsigned long long)bad);
	snprintf(name, sizeof(name), "edu_fact_lat_%s", pl);
	bench_row(name, bench_median_u64(cl, reps), bench_median_u64(bl, reps),
		  "ns", BENCH_TIME, "-",
		  "end-to-end latency of one request (median), same runs as "
		  "edu_fact_rate_%s",
		  pl);
}

static void fact_rows(void)
{
	const struct csx_module_desc *m = &csx_module_descriptor;
	struct csx_sim_dev *sd = NULL;
	struct csx_chan *chan = NULL;
	char name[EDU_SERVICE_NAME_MAX];

	if (m->init() != 0) {
		bench_log("edu module init failed");
		return;
	}
	edu_service_name(name, 0);
	if (csx_sim_create("edu", NULL, &sd) != 0 ||
	    csx_open(name, EDU_SERVICE_VERSION, &chan) != 0) {
		bench_log("cannot open %s", name);
		goto out;
	}
	bench_pin_self(BENCH_CPU_A);
	fact_measure(chan, BENCH_CPU_A, "samecpu");
	fact_measure(chan, BENCH_CPU_B, "xcpu");
	csx_close(chan);
out:
	csx_sim_destroy(sd);
	m->fini();
}

int main(void)
{
	bench_watchdog(120);
	if (csx_user_init() != 0)
		return 1;
	/* First: it learns the wait threads' policy for fact_rows(). */
	bench_pin_self(BENCH_CPU_A);
	irq_rows();
	/* Unpinned while the edu driver and the model create threads. */
	bench_unpin_self();
	fact_rows();
	lat_sink_fini(&irq_sink);
	csx_user_fini();
	return 0;
}
