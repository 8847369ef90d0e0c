/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * edu_load: a client module that puts concurrent load on every edu device
 * the edu sample driver serves ("edu/0", "edu/1", ...).
 *
 * init runs a checked batch: EDU_LOAD_THREADS threads per device, each
 * EDU_LOAD_BATCH requests (factorials, and every EDU_LOAD_DMA_EVERY-th a
 * DMA round trip of a varying length), every result compared with what it
 * must be. Any wrong or failed request fails init. Then the same workers go
 * on in the background until fini, so a test can kill the process (or
 * unload the driver) in the middle of interrupt and DMA traffic.
 *
 * Log lines the tests look for:
 *   "edu_load: batch: D device(s), R requests, all correct"
 *   "edu_load: dma: D device(s), N round trips of B bytes in T us"
 *   "edu_load: background: R requests, E errors"
 * The dma line is the DMA throughput figure the VM compares between the
 * user and the kernel build of the same driver.
 *
 * Mode-free like the sample: it also builds as a kernel module.
 */
#include <csx/csx.h>

#include "edu.h"

#define EDU_LOAD_THREADS 4
#define EDU_LOAD_BATCH 40
#define EDU_LOAD_DMA_EVERY 20
#define EDU_LOAD_DMA_ROUNDS 10
#define EDU_LOAD_MAX_DEVICES 8
#define EDU_LOAD_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)

struct edu_load_worker {
	struct csx_thread *thread;
	const char *svc;
	unsigned int seed;
	unsigned int limit; /* 0: until edu_load_stop */
	bool dma_only;	    /* full-size DMA round trips only */
	uint64_t requests;
	uint64_t errors;
	uint8_t out[EDU_DMA_MAX];
	uint8_t back[EDU_DMA_MAX];
};

static char edu_load_svcs[EDU_LOAD_MAX_DEVICES][EDU_SERVICE_NAME_MAX];
static unsigned int edu_load_ndev;
static struct edu_load_worker *edu_load_bg;
static unsigned int edu_load_nbg;
static int edu_load_stop;

static uint32_t edu_load_fact(uint32_t n)
{
	uint32_t r = 1;

	while (n > 1)
		r *= n--;
	return r;
}

static unsigned int edu_load_rand(unsigned int *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static int edu_load_factorial(struct edu_load_worker *w, struct csx_chan *chan)
{
	struct edu_fact_req req = { .n = edu_load_rand(&w->seed) % 13 };
	struct edu_fact_resp resp;
	size_t len = 0;
	int ret;

	ret = csx_call(chan, EDU_OP_FACTORIAL, &req, sizeof(req), &resp,
		       sizeof(resp), &len, EDU_LOAD_TIMEOUT_NS);
	if (!ret &&
	    (len != sizeof(resp) || resp.result != edu_load_fact(req.n))) {
		csx_err("edu_load: %s: factorial(%u) = %u, expected %u", w->svc,
			req.n, resp.result, edu_load_fact(req.n));
		ret = -CSX_EIO;
	}
	return ret;
}

static int edu_load_dma(struct edu_load_worker *w, struct csx_chan *chan)
{
	size_t i, len = 0;
	size_t n = w->dma_only ? EDU_DMA_MAX :
				 1 + edu_load_rand(&w->seed) % EDU_DMA_MAX;
	unsigned int salt = edu_load_rand(&w->seed);
	int ret;

	for (i = 0; i < n; i++)
		w->out[i] = (uint8_t)(i * 13 + salt);
	for (i = 0; i < n; i++)
		w->back[i] = (uint8_t)~w->out[i];
	ret = csx_call(chan, EDU_OP_DMA_ROUNDTRIP, w->out, n, w->back,
		       sizeof(w->back), &len, EDU_LOAD_TIMEOUT_NS);
	if (ret)
		return ret;
	for (i = 0; i < n && len == n; i++)
		if (w->back[i] != w->out[i])
			break;
	if (len != n || i != n) {
		csx_err("edu_load: %s: DMA round trip of %u bytes came back different",
			w->svc, (unsigned int)n);
		return -CSX_EIO;
	}
	return 0;
}

static int edu_load_main(void *arg)
{
	struct edu_load_worker *w = arg;
	struct csx_chan *chan;
	int ret;

	ret = csx_open(w->svc, EDU_SERVICE_VERSION, &chan);
	if (ret) {
		csx_err("edu_load: %s: open failed: %s", w->svc,
			csx_strerror(ret));
		w->errors++;
		return ret;
	}
	while (w->limit ? w->requests < w->limit :
			  !__atomic_load_n(&edu_load_stop, __ATOMIC_ACQUIRE)) {
		if (w->dma_only ||
		    w->requests % EDU_LOAD_DMA_EVERY == EDU_LOAD_DMA_EVERY - 1)
			ret = edu_load_dma(w, chan);
		else
			ret = edu_load_factorial(w, chan);
		w->requests++;
		if (ret) {
			w->errors++;
			csx_err("edu_load: %s: request %llu failed: %s", w->svc,
				(unsigned long long)w->requests,
				csx_strerror(ret));
		}
	}
	csx_close(chan);
	return 0;
}

/* Start EDU_LOAD_THREADS workers per device; returns how many started. */
static unsigned int edu_load_start(struct edu_load_worker *ws,
				   unsigned int limit)
{
	unsigned int i, n = 0;

	for (i = 0; i < edu_load_ndev * EDU_LOAD_THREADS; i++) {
		ws[i].svc = edu_load_svcs[i / EDU_LOAD_THREADS];
		ws[i].seed = 0x5eed + i;
		ws[i].limit = limit;
		if (csx_thread_create(&ws[i].thread, "edu_load", edu_load_main,
				      &ws[i]))
			break;
		n++;
	}
	return n;
}

static void edu_load_join(struct edu_load_worker *ws, unsigned int n,
			  uint64_t *requests, uint64_t *errors)
{
	unsigned int i;

	*requests = 0;
	*errors = 0;
	for (i = 0; i < n; i++) {
		csx_thread_join(ws[i].thread, NULL);
		*requests += ws[i].requests;
		*errors += ws[i].errors;
	}
}

static void edu_load_find(void)
{
	struct csx_chan *chan;
	unsigned int i;

	for (i = 0; i < EDU_LOAD_MAX_DEVICES; i++) {
		edu_service_name(edu_load_svcs[edu_load_ndev], i);
		if (csx_open(edu_load_svcs[edu_load_ndev], EDU_SERVICE_VERSION,
			     &chan))
			continue;
		csx_close(chan);
		edu_load_ndev++;
	}
}

static int edu_load_batch(void)
{
	unsigned int want = edu_load_ndev * EDU_LOAD_THREADS, n;
	struct edu_load_worker *ws;
	uint64_t requests, errors;
	uint64_t t0 = csx_time_ns();

	ws = csx_alloc(want * sizeof(*ws), CSX_MEM_ZERO);
	if (!ws)
		return -CSX_ENOMEM;
	n = edu_load_start(ws, EDU_LOAD_BATCH);
	edu_load_join(ws, n, &requests, &errors);
	csx_free(ws);
	if (n != want || errors ||
	    requests != (uint64_t)want * EDU_LOAD_BATCH) {
		csx_err("edu_load: batch: %u of %u threads, %llu requests, %llu errors",
			n, want, (unsigned long long)requests,
			(unsigned long long)errors);
		return -CSX_EIO;
	}
	csx_info(
		"edu_load: batch: %u device(s), %llu requests, all correct (%llu ms)",
		edu_load_ndev, (unsigned long long)requests,
		(unsigned long long)((csx_time_ns() - t0) / 1000000));
	return 0;
}

/* One thread per device, full-size DMA round trips back to back. */
static int edu_load_dma_phase(void)
{
	struct edu_load_worker *ws;
	uint64_t requests, errors, t0 = csx_time_ns();
	unsigned int i, n = 0;

	ws = csx_alloc(edu_load_ndev * sizeof(*ws), CSX_MEM_ZERO);
	if (!ws)
		return -CSX_ENOMEM;
	for (i = 0; i < edu_load_ndev; i++) {
		ws[i].svc = edu_load_svcs[i];
		ws[i].limit = EDU_LOAD_DMA_ROUNDS;
		ws[i].dma_only = true;
		if (csx_thread_create(&ws[i].thread, "edu_load", edu_load_main,
				      &ws[i]))
			break;
		n++;
	}
	edu_load_join(ws, n, &requests, &errors);
	csx_free(ws);
	if (n != edu_load_ndev || errors) {
		csx_err("edu_load: dma: %llu errors",
			(unsigned long long)errors);
		return -CSX_EIO;
	}
	csx_info(
		"edu_load: dma: %u device(s), %llu round trips of %u bytes in %llu us",
		edu_load_ndev, (unsigned long long)requests,
		(unsigned int)EDU_DMA_MAX,
		(unsigned long long)((csx_time_ns() - t0) / 1000));
	return 0;
}

static int edu_load_init(void)
{
	int ret;

	edu_load_find();
	if (!edu_load_ndev) {
		csx_err("edu_load: no edu service (is csx_edu loaded and an edu device present?)");
		return -CSX_ENODEV;
	}
	ret = edu_load_batch();
	if (!ret)
		ret = edu_load_dma_phase();
	if (ret)
		return ret;
	edu_load_bg = csx_alloc(edu_load_ndev * EDU_LOAD_THREADS *
					sizeof(*edu_load_bg),
				CSX_MEM_ZERO);
	if (!edu_load_bg)
		return -CSX_ENOMEM;
	edu_load_nbg = edu_load_start(edu_load_bg, 0);
	csx_info("edu_load: background: %u thread(s) running", edu_load_nbg);
	return 0;
}

static void edu_load_fini(void)
{
	uint64_t requests, errors;

	__atomic_store_n(&edu_load_stop, 1, __ATOMIC_RELEASE);
	edu_load_join(edu_load_bg, edu_load_nbg, &requests, &errors);
	csx_free(edu_load_bg);
	csx_info("edu_load: background: %llu requests, %llu errors",
		 (unsigned long long)requests, (unsigned long long)errors);
}

CSX_MODULE("edu_load", "1.0.0", edu_load_init, edu_load_fini);
