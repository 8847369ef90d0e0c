/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The edu sample driver (samples/edu/csx_edu.c, compiled in) against two
 * simulated edu devices, one on MSI and one on INTx, through its services
 * "edu/0" and "edu/1": many concurrent requests with correct answers, and
 * the injected faults a driver must survive (lost interrupt, spurious
 * interrupt, late completion, surprise removal).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <csx/csx.h>
#include <csx_sim.h>
#include <csx_user.h>

#include "edu.h"

/* The driver's module descriptor (CSX_MODULE in csx_edu.c). */
extern const struct csx_module_desc csx_module_descriptor;

#define NDEV 2
#define CALL_NS (30 * CSX_NSEC_PER_SEC)
#define WAIT_NS (10 * CSX_NSEC_PER_SEC)

static struct csx_sim_dev *sims[NDEV];
static struct csx_chan *chans[NDEV];

/* Start the driver and open its services. */
static int start_driver(void)
{
	char name[EDU_SERVICE_NAME_MAX];
	unsigned int i;

	if (csx_module_descriptor.init())
		return -1;
	for (i = 0; i < NDEV; i++) {
		edu_service_name(name, i);
		if (csx_open(name, EDU_SERVICE_VERSION, &chans[i]))
			return -1;
	}
	return 0;
}

static void stop_driver(void)
{
	unsigned int i;

	for (i = 0; i < NDEV; i++) {
		csx_close(chans[i]);
		chans[i] = NULL;
	}
	csx_module_descriptor.fini();
}

/*
 * Every case starts from a driver that never ran: the previous case's
 * saved state ("csx_edu/N", which a reloaded driver resumes from) goes.
 */
static void forget_saved_state(void)
{
	char name[8 + EDU_SERVICE_NAME_MAX] = "csx_";
	struct csx_state *st;
	unsigned int i;

	for (i = 0; i < NDEV; i++) {
		edu_service_name(name + 4, i);
		if (!csx_state_open(name, 1, 8, &st))
			csx_state_close(st, false);
	}
}

static int setup(void **state)
{
	if (csx_sim_create("edu", NULL, &sims[0]) ||
	    csx_sim_create("edu", "msi=off", &sims[1]))
		return -1;
	forget_saved_state();
	return start_driver();
}

static int teardown(void **state)
{
	stop_driver();
	csx_sim_destroy_all();
	return 0;
}

static int group_setup(void **state)
{
	return csx_user_init();
}

static int group_teardown(void **state)
{
	csx_user_fini();
	return 0;
}

static uint32_t expect_fact(uint32_t n)
{
	uint32_t r = 1;

	while (n > 1)
		r *= n--;
	return r;
}

static int fact(unsigned int dev, uint32_t n, uint32_t *result)
{
	struct edu_fact_req req = { n };
	struct edu_fact_resp resp = { 0 };
	size_t len = 0;
	int ret;

	ret = csx_call(chans[dev], EDU_OP_FACTORIAL, &req, sizeof(req), &resp,
		       sizeof(resp), &len, CALL_NS);
	if (!ret && len != sizeof(resp))
		ret = -CSX_EPROTO;
	*result = resp.result;
	return ret;
}

static int roundtrip(unsigned int dev, const uint8_t *in, size_t n,
		     uint8_t *out)
{
	size_t len = 0;
	int ret;

	ret = csx_call(chans[dev], EDU_OP_DMA_ROUNDTRIP, in, n, out, n, &len,
		       CALL_NS);
	if (!ret && len != n)
		ret = -CSX_EPROTO;
	return ret;
}

static struct edu_info info(unsigned int dev)
{
	struct edu_info inf;
	size_t len = 0;

	memset(&inf, 0, sizeof(inf));
	assert_int_equal(csx_call(chans[dev], EDU_OP_INFO, NULL, 0, &inf,
				  sizeof(inf), &len, CALL_NS),
			 0);
	assert_int_equal(len, sizeof(inf));
	return inf;
}

static void set_timeout(unsigned int dev, uint32_t ms)
{
	struct edu_timeout_req req = { ms };

	assert_int_equal(csx_call(chans[dev], EDU_OP_SET_TIMEOUT, &req,
				  sizeof(req), NULL, 0, NULL, CALL_NS),
			 0);
}

static void check_fact(unsigned int dev, uint32_t n)
{
	uint32_t r = 0;

	assert_int_equal(fact(dev, n, &r), 0);
	assert_int_equal(r, expect_fact(n));
}

static void check_roundtrip(unsigned int dev, size_t n, uint8_t seed)
{
	static uint8_t in[EDU_DMA_MAX], out[EDU_DMA_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		in[i] = (uint8_t)(seed + i * 13);
	memset(out, 0, sizeof(out));
	assert_int_equal(roundtrip(dev, in, n, out), 0);
	assert_memory_equal(in, out, n);
}

/* ---- Normal operation ---------------------------------------------------- */

static void test_probe_and_info(void **state)
{
	struct edu_info a = info(0), b = info(1);

	assert_string_equal(a.dev_name, "sim-edu0");
	assert_string_equal(b.dev_name, "sim-edu1");
	assert_int_equal(a.id, 0x010000ed);
	assert_int_equal(a.liveness_ok, 1);
	assert_int_equal(a.msi, 1);
	assert_int_equal(b.msi, 0); /* msi=off: INTx */
	assert_true(csx_sim_is_bound(sims[0]));
	check_fact(0, 10);
	check_fact(1, 10);
	check_roundtrip(0, EDU_DMA_MAX, 1);
	check_roundtrip(1, 1, 2);
}

struct worker {
	pthread_t tid;
	unsigned int id;
	unsigned int errors;
	unsigned int facts;
	unsigned int dmas;
};

#define WORKERS 6
#define ROUNDS 150

/* Each worker alternates devices and request kinds. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t in[EDU_DMA_MAX], out[EDU_DMA_MAX];
	unsigned int i;
	size_t n, k;
	uint32_t r;

	for (i = 0; i < ROUNDS; i++) {
		unsigned int dev = (w->id + i) % NDEV;
		uint32_t x = (w->id * 7 + i) % 14;

		if (fact(dev, x, &r) || r != expect_fact(x))
			w->errors++;
		w->facts++;
		if (i % 5)
			continue;
		n = 1 + (w->id * 997 + i * 131) % EDU_DMA_MAX;
		for (k = 0; k < n; k++)
			in[k] = (uint8_t)(w->id ^ (k * 31) ^ i);
		if (roundtrip(dev, in, n, out) || memcmp(in, out, n))
			w->errors++;
		w->dmas++;
	}
	return NULL;
}

static void test_concurrent_requests(void **state)
{
	struct worker w[WORKERS];
	struct edu_info a, b;
	unsigned int i, facts = 0, dmas = 0;

	for (i = 0; i < WORKERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		assert_int_equal(
			pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < WORKERS; i++) {
		pthread_join(w[i].tid, NULL);
		assert_int_equal(w[i].errors, 0);
		facts += w[i].facts;
		dmas += w[i].dmas;
	}
	a = info(0);
	b = info(1);
	assert_int_equal(a.factorials + b.factorials, facts);
	/* Two transfers per round trip, each completed by its interrupt. */
	assert_int_equal(a.dma_transfers + b.dma_transfers, 2 * dmas);
	assert_int_equal(a.timeouts + b.timeouts, 0);
	assert_true(a.irqs >= a.factorials + a.dma_transfers);
	assert_true(b.irqs >= b.factorials + b.dma_transfers);
}

static void test_bad_requests(void **state)
{
	static uint8_t big[EDU_DMA_MAX + 1];
	struct edu_timeout_req t = { 0 };
	struct csx_chan *c;
	uint32_t word = 3;
	size_t len;

	assert_int_equal(csx_call(chans[0], EDU_OP_FACTORIAL, &word, 2, &word,
				  4, &len, CALL_NS),
			 -CSX_EINVAL);
	assert_int_equal(csx_call(chans[0], EDU_OP_DMA_ROUNDTRIP, big,
				  sizeof(big), big, sizeof(big), &len, CALL_NS),
			 -CSX_EMSGSIZE);
	assert_int_equal(csx_call(chans[0], EDU_OP_DMA_ROUNDTRIP, big, 64, big,
				  32, &len, CALL_NS),
			 -CSX_EOVERFLOW);
	assert_int_equal(
		csx_call(chans[0], 99, NULL, 0, NULL, 0, &len, CALL_NS),
		-CSX_EOPNOTSUPP);
	assert_int_equal(csx_call(chans[0], EDU_OP_SET_TIMEOUT, &t, sizeof(t),
				  NULL, 0, NULL, CALL_NS),
			 -CSX_ERANGE);
	assert_int_equal(csx_open("edu/0", EDU_SERVICE_VERSION + 1, &c),
			 -CSX_EPROTO);
	assert_int_equal(csx_open("edu/2", EDU_SERVICE_VERSION, &c),
			 -CSX_ENOENT);
}

/* ---- Faults -------------------------------------------------------------- */

/* A lost interrupt costs one request its timeout, not the device. */
static void test_dropped_irq_times_out_then_recovers(void **state)
{
	static uint8_t buf[256];
	unsigned int dev;
	uint32_t r;

	for (dev = 0; dev < NDEV; dev++) {
		set_timeout(dev, 100);
		csx_sim_fault_drop_irqs(sims[dev], 1);
		assert_int_equal(fact(dev, 8, &r), -CSX_ETIMEDOUT);
		check_fact(dev, 8);
		/* The first of the two transfers loses its interrupt. */
		csx_sim_fault_drop_irqs(sims[dev], 1);
		assert_int_equal(roundtrip(dev, buf, sizeof(buf), buf),
				 -CSX_ETIMEDOUT);
		check_roundtrip(dev, sizeof(buf), 9);
		assert_int_equal(info(dev).timeouts, 2);
	}
}

static void wait_spurious(unsigned int dev, uint64_t want)
{
	uint64_t end = csx_time_ns() + WAIT_NS;

	while (info(dev).spurious < want) {
		assert_true(csx_time_ns() < end);
		csx_thread_sleep(100 * CSX_NSEC_PER_USEC);
	}
}

static void test_spurious_ignored_and_counted(void **state)
{
	unsigned int dev;

	for (dev = 0; dev < NDEV; dev++) {
		struct edu_info before = info(dev);

		csx_sim_fault_spurious(sims[dev]);
		wait_spurious(dev, before.spurious + 1);
		csx_sim_fault_spurious(sims[dev]);
		wait_spurious(dev, before.spurious + 2);
		check_fact(dev, 11);
		assert_int_equal(info(dev).spurious, before.spurious + 2);
		assert_int_equal(info(dev).timeouts, 0);
	}
}

/*
 * A driver that stops and starts again (a reload, or the restart of a
 * crashed user-mode instance) resumes from its saved state: the timeout a
 * client set and the counters carry over.
 */
static void test_resumes_from_saved_state(void **state)
{
	struct edu_info a;

	a = info(0);
	assert_int_equal(a.incarnation, 1);
	assert_int_equal(a.timeout_ms, 1000);
	set_timeout(0, 1234);
	check_fact(0, 5);
	check_fact(0, 6);
	stop_driver();
	assert_int_equal(start_driver(), 0);
	a = info(0);
	assert_int_equal(a.incarnation, 2);
	assert_int_equal(a.timeout_ms, 1234);
	assert_int_equal(a.factorials, 2);
	/* The other unit has its own region. */
	a = info(1);
	assert_int_equal(a.incarnation, 2);
	assert_int_equal(a.timeout_ms, 1000);
	assert_int_equal(a.factorials, 0);
}

/* Completion later than the timeout: the stale completion must not answer
 * the next request. */
static void test_late_completion(void **state)
{
	uint32_t r;

	set_timeout(0, 50);
	csx_sim_fault_delay(sims[0], 200 * CSX_NSEC_PER_MSEC);
	assert_int_equal(fact(0, 4, &r), -CSX_ETIMEDOUT);
	csx_sim_fault_delay(sims[0], 0);
	set_timeout(0, 5000);
	check_fact(0, 6);
	check_fact(0, 7);
}

static void test_gone_gives_eio(void **state)
{
	static uint8_t buf[64];
	unsigned int dev;
	uint32_t r;

	for (dev = 0; dev < NDEV; dev++) {
		/* A long timeout: the call must not wait it out. */
		set_timeout(dev, 60000);
		csx_sim_fault_gone(sims[dev], true);
		assert_int_equal(fact(dev, 5, &r), -CSX_EIO);
		assert_int_equal(roundtrip(dev, buf, sizeof(buf), buf),
				 -CSX_EIO);
		csx_sim_fault_gone(sims[dev], false);
		check_fact(dev, 5);
	}
}

struct bg_fact {
	pthread_t tid;
	unsigned int dev;
	int ret;
};

static void *bg_fact_main(void *arg)
{
	struct bg_fact *b = arg;
	uint32_t r;

	b->ret = fact(b->dev, 5, &r);
	return NULL;
}

/* Gone while a request waits: the timeout finds out why. */
static void test_gone_during_request(void **state)
{
	struct bg_fact b = { .dev = 1 };
	uint64_t end = csx_time_ns() + WAIT_NS;

	set_timeout(1, 100);
	csx_sim_fault_delay(sims[1], 3600 * CSX_NSEC_PER_SEC);
	assert_int_equal(pthread_create(&b.tid, NULL, bg_fact_main, &b), 0);
	/* The device is busy once the driver has started the request. */
	while (!(csx_sim_mmio_read(sims[1], 0, 0x20, 4) & 0x01)) {
		assert_true(csx_time_ns() < end);
		csx_thread_sleep(50 * CSX_NSEC_PER_USEC);
	}
	csx_sim_fault_gone(sims[1], true);
	pthread_join(b.tid, NULL);
	assert_int_equal(b.ret, -CSX_EIO);
	csx_sim_fault_gone(sims[1], false);
	csx_sim_fault_delay(sims[1], 0);
	set_timeout(1, 5000);
	check_fact(1, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_and_info, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_dropped_irq_times_out_then_recovers, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_spurious_ignored_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumes_from_saved_state,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_completion, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gone_gives_eio, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gone_during_request, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("edu driver", tests, group_setup,
					   group_teardown);
}
