/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * calls_client: calls the "calls/echo" service from wherever it runs. One
 * source for calls_client.ko and calls_client.so; it never knows whether
 * the service is in its own process or kernel, or across the user/kernel
 * boundary.
 *
 * init: a version check (asking for a newer version than the service has
 * must fail at open time), then CALLS_THREADS threads x CALLS_PER_THREAD
 * checked calls (echo of lengths up to CSX_CALL_MAX_PAYLOAD, sums), then
 * calls with their payloads in a shared buffer (calls_shared()), then
 * the median round trip of a 64-byte echo, then CALLS_ASYNC asynchronous
 * calls started from a DPC (completions checked). After init, background threads
 * keep calling until fini, counting calls that found the service withdrawn
 * (CSX_EPEERDIED) apart from other errors; their channels are watched
 * (csx_chan_watch()), so the service's death is also noticed between
 * calls. Log lines the tests look for:
 *   "calls_client: N calls OK on calls/echo version V"
 *   "BENCH-RAW call64 n=N median=NS"
 *   "calls_client: shared buffer: N-byte echo and sum OK"
 *   "BENCH-RAW call1m_copy n=N median=NS", "... call1m_shbuf ..."
 *   "calls_client: N asynchronous calls from a DPC OK"
 *   "calls_client: background: N calls, P peer gone, E other errors"
 *   "calls_client: death notices: D" (at fini; D channels told)
 */
#include <csx/csx.h>

#include "calls.h"

#define CALLS_THREADS 4
#define CALLS_PER_THREAD 250
#define CALLS_BIG (64u * 1024)
#define CALLS_LAT_SAMPLES 2001
#define CALLS_TIMEOUT_NS (10ll * 1000 * 1000 * 1000)

struct calls_worker {
	struct csx_thread *thread;
	struct csx_chan *chan;
	unsigned int seed;
	bool background;
	uint64_t calls, peer_gone, errors;
	uint8_t in[CALLS_BIG], out[CALLS_BIG];
};

static struct calls_worker *calls_bg;
static unsigned int calls_nbg;
static int calls_stop;
static int calls_deaths;
static uint64_t calls_lat[CALLS_LAT_SAMPLES];

static unsigned int calls_rand(unsigned int *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static int calls_echo(struct calls_worker *w, size_t n)
{
	size_t i, len = 0;
	unsigned int salt = calls_rand(&w->seed);
	int ret;

	for (i = 0; i < n; i++)
		w->in[i] = (uint8_t)(i * 31 + salt);
	ret = csx_call(w->chan, CALLS_OP_ECHO, w->in, n, w->out, sizeof(w->out),
		       &len, CALLS_TIMEOUT_NS);
	if (ret)
		return ret;
	for (i = 0; i < n && len == n; i++)
		if (w->out[i] != w->in[i])
			break;
	return len == n && i == n ? 0 : -CSX_EIO;
}

static int calls_sum(struct calls_worker *w)
{
	uint32_t v[16];
	struct calls_sum r;
	uint64_t want = 0;
	size_t len = 0;
	unsigned int i, n = 1 + calls_rand(&w->seed) % 16;
	int ret;

	for (i = 0; i < n; i++) {
		v[i] = calls_rand(&w->seed);
		want += v[i];
	}
	ret = csx_call(w->chan, CALLS_OP_SUM, v, n * sizeof(v[0]), &r,
		       sizeof(r), &len, CALLS_TIMEOUT_NS);
	if (ret)
		return ret;
	return len == sizeof(r) && r.sum == want && r.count == n ? 0 : -CSX_EIO;
}

static int calls_one(struct calls_worker *w)
{
	unsigned int k = calls_rand(&w->seed) % 8;

	if (k == 0)
		return calls_sum(w);
	if (k == 1)
		return calls_echo(w, calls_rand(&w->seed) % (CALLS_BIG + 1));
	return calls_echo(w, calls_rand(&w->seed) % 256);
}

static int calls_main(void *arg)
{
	struct calls_worker *w = arg;
	unsigned int i;
	int ret;

	for (i = 0;
	     w->background ? !__atomic_load_n(&calls_stop, __ATOMIC_ACQUIRE) :
			     i < CALLS_PER_THREAD;
	     i++) {
		ret = calls_one(w);
		w->calls++;
		if (ret == -CSX_EPEERDIED) {
			w->peer_gone++;
			/* The service is gone for good: do not spin. */
			csx_thread_sleep(1000000);
		} else if (ret) {
			w->errors++;
			csx_err("calls_client: call failed: %s",
				csx_strerror(ret));
		}
		/*
		 * Direct calls never block: a loop of them must offer the
		 * CPU, or it stalls its CPU in a kernel without full
		 * preemption (a soft lockup) and starves threads in a process.
		 */
		csx_thread_yield();
	}
	return 0;
}

/* A service older than the caller needs is refused at open. */
static int calls_check_version(void)
{
	struct csx_chan *c;
	int ret;

	ret = csx_open(CALLS_SERVICE, CALLS_VERSION + 1, &c);
	if (ret == -CSX_EPROTO)
		return 0;
	csx_err("calls_client: open at version %u: %s, expected CSX_EPROTO",
		CALLS_VERSION + 1, csx_strerror(ret));
	if (!ret)
		csx_close(c);
	return ret ? ret : -CSX_EPROTO;
}

static int calls_open(struct csx_chan **chan)
{
	int ret;

	ret = csx_open(CALLS_SERVICE, 1, chan);
	if (ret)
		csx_err("calls_client: open %s: %s", CALLS_SERVICE,
			csx_strerror(ret));
	return ret;
}

/* A background channel's service went away (csx_chan_watch()). */
static void calls_gone(void *ctx)
{
	(void)ctx;
	__atomic_add_fetch(&calls_deaths, 1, __ATOMIC_RELAXED);
}

static unsigned int calls_start(struct calls_worker *ws, unsigned int n,
				bool background)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		ws[i].seed = 0xca11 + i;
		ws[i].background = background;
		if (calls_open(&ws[i].chan))
			break;
		if (background &&
		    csx_chan_watch(ws[i].chan, calls_gone, &ws[i]))
			csx_warn("calls_client: no death notice for a channel");
		if (csx_thread_create(&ws[i].thread, "calls", calls_main,
				      &ws[i])) {
			csx_close(ws[i].chan);
			break;
		}
	}
	return i;
}

static void calls_join(struct calls_worker *ws, unsigned int n, uint64_t *calls,
		       uint64_t *peer_gone, uint64_t *errors)
{
	unsigned int i;

	*calls = *peer_gone = *errors = 0;
	for (i = 0; i < n; i++) {
		csx_thread_join(ws[i].thread, NULL);
		csx_close(ws[i].chan);
		*calls += ws[i].calls;
		*peer_gone += ws[i].peer_gone;
		*errors += ws[i].errors;
	}
}

/* Shell sort: no allocation. */
static void calls_sort(uint64_t *v, unsigned int n)
{
	unsigned int gap, i, j;
	uint64_t x;

	for (gap = n / 2; gap; gap /= 2)
		for (i = gap; i < n; i++) {
			x = v[i];
			for (j = i; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
}

/* Round trip of a 64-byte echo, the figure the benchmark compares. */
static int calls_latency(struct calls_worker *w)
{
	uint64_t t0;
	unsigned int i;
	size_t len;
	int ret;

	for (i = 0; i < CALLS_LAT_SAMPLES; i++) {
		t0 = csx_time_ns();
		ret = csx_call(w->chan, CALLS_OP_ECHO, w->in, 64, w->out, 64,
			       &len, CALLS_TIMEOUT_NS);
		calls_lat[i] = csx_time_ns() - t0;
		if (ret)
			return ret;
	}
	calls_sort(calls_lat, CALLS_LAT_SAMPLES);
	csx_info("BENCH-RAW call64 n=%u median=%llu", CALLS_LAT_SAMPLES,
		 (unsigned long long)calls_lat[CALLS_LAT_SAMPLES / 2]);
	return 0;
}

/* One echo of the largest payload a call may carry, both ways. */
static int calls_biggest(struct csx_chan *chan)
{
	size_t i, len = 0, n = CSX_CALL_MAX_PAYLOAD;
	uint8_t *in, *out;
	int ret = -CSX_ENOMEM;

	in = csx_alloc(n, 0);
	out = csx_alloc(n, CSX_MEM_ZERO);
	if (!in || !out)
		goto out;
	for (i = 0; i < n; i++)
		in[i] = (uint8_t)(i ^ (i >> 8));
	ret = csx_call(chan, CALLS_OP_ECHO, in, n, out, n, &len,
		       CALLS_TIMEOUT_NS);
	for (i = 0; !ret && i < n; i++)
		if (len != n || out[i] != in[i])
			ret = -CSX_EIO;
	if (ret)
		csx_err("calls_client: echo of %u bytes: %s", (unsigned int)n,
			csx_strerror(ret));
out:
	csx_free(out);
	csx_free(in);
	return ret;
}

/*
 * Payloads by shared buffer: a CALLS_SHBUF-byte echo (four times what a
 * copied call may carry) answered in place into the buffer's second
 * half, and a sum over it read in place. Then the median round trip of a
 * CSX_CALL_MAX_PAYLOAD echo both ways: copied, and by shared buffer.
 */
#define CALLS_SHBUF (4u * CSX_CALL_MAX_PAYLOAD)
#define CALLS_BIG_SAMPLES 15

static uint8_t calls_pattern(size_t i)
{
	return (uint8_t)(i * 31 + (i >> 12));
}

static int calls_shared_check(struct csx_chan *chan, struct csx_shbuf *sb)
{
	uint8_t *p = csx_shbuf_addr(sb);
	struct calls_sum sum = { 0 };
	uint64_t want = 0;
	uint32_t v;
	size_t i, len = 0;
	int ret;

	for (i = 0; i < CALLS_SHBUF; i++)
		p[i] = calls_pattern(i);
	ret = csx_call_shbuf(chan, CALLS_OP_ECHO, sb, 0, CALLS_SHBUF,
			     CALLS_SHBUF, CALLS_SHBUF, &len, CALLS_TIMEOUT_NS);
	for (i = 0; !ret && i < CALLS_SHBUF; i++)
		if (len != CALLS_SHBUF ||
		    p[CALLS_SHBUF + i] != calls_pattern(i))
			ret = -CSX_EIO;
	if (ret)
		return ret;
	for (i = 0; i < CALLS_SHBUF; i += sizeof(v)) {
		__builtin_memcpy(&v, p + i, sizeof(v));
		want += v;
	}
	/* The response window overlaps nothing the service reads. */
	ret = csx_call_shbuf(chan, CALLS_OP_SUM, sb, 0, CALLS_SHBUF,
			     CALLS_SHBUF, sizeof(sum), &len, CALLS_TIMEOUT_NS);
	if (ret)
		return ret;
	__builtin_memcpy(&sum, p + CALLS_SHBUF, sizeof(sum));
	if (len != sizeof(sum) || sum.sum != want ||
	    sum.count != CALLS_SHBUF / sizeof(v))
		return -CSX_EIO;
	return 0;
}

/* Median time of CALLS_BIG_SAMPLES round trips: copied, or shared. */
static int calls_big_times(struct csx_chan *chan, struct csx_shbuf *sb,
			   uint64_t *copy_ns, uint64_t *shared_ns)
{
	size_t n = CSX_CALL_MAX_PAYLOAD, len = 0;
	uint8_t *p = csx_shbuf_addr(sb);
	unsigned int i;
	uint64_t t0;
	int ret = 0;

	for (i = 0; !ret && i < CALLS_BIG_SAMPLES; i++) {
		t0 = csx_time_ns();
		ret = csx_call(chan, CALLS_OP_ECHO, p, n, p + n, n, &len,
			       CALLS_TIMEOUT_NS);
		calls_lat[i] = csx_time_ns() - t0;
	}
	calls_sort(calls_lat, CALLS_BIG_SAMPLES);
	*copy_ns = calls_lat[CALLS_BIG_SAMPLES / 2];
	for (i = 0; !ret && i < CALLS_BIG_SAMPLES; i++) {
		t0 = csx_time_ns();
		ret = csx_call_shbuf(chan, CALLS_OP_ECHO, sb, 0, n, n, n, &len,
				     CALLS_TIMEOUT_NS);
		calls_lat[i] = csx_time_ns() - t0;
	}
	calls_sort(calls_lat, CALLS_BIG_SAMPLES);
	*shared_ns = calls_lat[CALLS_BIG_SAMPLES / 2];
	return ret;
}

static int calls_shared(struct csx_chan *chan)
{
	uint64_t copy_ns = 0, shared_ns = 0;
	struct csx_shbuf *sb;
	int ret;

	ret = csx_shbuf_alloc(chan, 2 * CALLS_SHBUF, &sb);
	if (ret) {
		csx_err("calls_client: shared buffer: %s", csx_strerror(ret));
		return ret;
	}
	ret = calls_shared_check(chan, sb);
	if (!ret)
		ret = calls_big_times(chan, sb, &copy_ns, &shared_ns);
	if (ret) {
		csx_err("calls_client: shared-buffer calls: %s",
			csx_strerror(ret));
	} else {
		csx_info("calls_client: shared buffer: %u-byte echo and sum OK",
			 CALLS_SHBUF);
		csx_info("BENCH-RAW call1m_copy n=%u median=%llu",
			 CALLS_BIG_SAMPLES, (unsigned long long)copy_ns);
		csx_info("BENCH-RAW call1m_shbuf n=%u median=%llu",
			 CALLS_BIG_SAMPLES, (unsigned long long)shared_ns);
	}
	if (csx_shbuf_free(sb) && !ret)
		ret = -CSX_EIO;
	return ret;
}

static int calls_batch(void)
{
	uint64_t calls, peer_gone, errors;
	struct calls_worker *ws;
	unsigned int n;
	int ret = 0;

	ws = csx_alloc(CALLS_THREADS * sizeof(*ws), CSX_MEM_ZERO);
	if (!ws)
		return -CSX_ENOMEM;
	n = calls_start(ws, CALLS_THREADS, false);
	calls_join(ws, n, &calls, &peer_gone, &errors);
	if (n != CALLS_THREADS || peer_gone || errors) {
		csx_err("calls_client: %u of %u threads, %llu calls, %llu errors",
			n, CALLS_THREADS, (unsigned long long)calls,
			(unsigned long long)(peer_gone + errors));
		ret = -CSX_EIO;
	} else if (!calls_open(&ws[0].chan)) {
		ret = calls_biggest(ws[0].chan);
		if (!ret)
			ret = calls_shared(ws[0].chan);
		if (!ret)
			ret = calls_latency(&ws[0]);
		csx_close(ws[0].chan);
		if (!ret)
			csx_info("calls_client: %llu calls OK on %s version %u",
				 (unsigned long long)calls, CALLS_SERVICE,
				 CALLS_VERSION);
	} else {
		ret = -CSX_EIO;
	}
	csx_free(ws);
	return ret;
}

/*
 * Asynchronous calls started from a DPC, where nothing may sleep: each
 * sums CALLS_ASYNC_VALUES values; the completions run in thread context
 * and check the sums; the last one sets the event init waits on.
 */
#define CALLS_ASYNC 32
#define CALLS_ASYNC_VALUES 4

static struct {
	struct csx_chan *chan;
	struct csx_event *done;
	uint32_t in[CALLS_ASYNC][CALLS_ASYNC_VALUES];
	struct calls_sum out[CALLS_ASYNC];
	int started, completed, wrong;
} calls_async;

static void calls_async_done(void *ctx, int status, size_t out_len)
{
	uint32_t i = (uint32_t)(uintptr_t)ctx, k;
	uint64_t want = 0;

	for (k = 0; k < CALLS_ASYNC_VALUES; k++)
		want += calls_async.in[i][k];
	if (status || out_len != sizeof(struct calls_sum) ||
	    calls_async.out[i].sum != want ||
	    calls_async.out[i].count != CALLS_ASYNC_VALUES)
		__atomic_add_fetch(&calls_async.wrong, 1, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&calls_async.completed, 1, __ATOMIC_ACQ_REL) ==
	    __atomic_load_n(&calls_async.started, __ATOMIC_ACQUIRE))
		csx_event_set(calls_async.done);
}

static void calls_async_dpc(struct csx_dpc *dpc, void *ctx)
{
	uint32_t i;
	int n = 0;

	/* Count first: a completion may run before the loop ends. */
	__atomic_store_n(&calls_async.started, CALLS_ASYNC, __ATOMIC_RELEASE);
	for (i = 0; i < CALLS_ASYNC; i++) {
		if (csx_call_async(calls_async.chan, CALLS_OP_SUM,
				   calls_async.in[i], sizeof(calls_async.in[i]),
				   &calls_async.out[i],
				   sizeof(calls_async.out[i]), CALLS_TIMEOUT_NS,
				   calls_async_done, (void *)(uintptr_t)i))
			n++;
	}
	if (n) { /* those never complete: count them as done and wrong */
		__atomic_add_fetch(&calls_async.wrong, n, __ATOMIC_RELAXED);
		if (__atomic_add_fetch(&calls_async.completed, n,
				       __ATOMIC_ACQ_REL) == CALLS_ASYNC)
			csx_event_set(calls_async.done);
	}
}

static int calls_async_check(void)
{
	struct csx_dpc *dpc = NULL;
	uint32_t i, k;
	int ret;

	for (i = 0; i < CALLS_ASYNC; i++)
		for (k = 0; k < CALLS_ASYNC_VALUES; k++)
			calls_async.in[i][k] = i * 1000 + k;
	ret = csx_event_create(&calls_async.done, CSX_EVENT_MANUAL, false);
	if (ret)
		return ret;
	ret = calls_open(&calls_async.chan);
	if (ret)
		goto out_event;
	ret = csx_dpc_create(&dpc, calls_async_dpc, NULL);
	if (ret)
		goto out_close;
	csx_dpc_queue(dpc);
	ret = csx_event_wait(calls_async.done, CALLS_TIMEOUT_NS);
	csx_dpc_destroy(dpc);
out_close:
	/* Waits for every completion still to come. */
	csx_close(calls_async.chan);
	if (!ret && calls_async.wrong)
		ret = -CSX_EIO;
	if (ret)
		csx_err("calls_client: asynchronous calls: %d of %d wrong: %s",
			calls_async.wrong, CALLS_ASYNC, csx_strerror(ret));
	else
		csx_info("calls_client: %d asynchronous calls from a DPC OK",
			 CALLS_ASYNC);
out_event:
	csx_event_destroy(calls_async.done);
	return ret;
}

static int calls_client_init(void)
{
	int ret;

	__atomic_store_n(&calls_deaths, 0, __ATOMIC_RELAXED);
	ret = calls_check_version();
	if (!ret)
		ret = calls_batch();
	if (!ret)
		ret = calls_async_check();
	if (ret)
		return ret;
	calls_bg = csx_alloc(CALLS_THREADS * sizeof(*calls_bg), CSX_MEM_ZERO);
	if (!calls_bg)
		return -CSX_ENOMEM;
	calls_nbg = calls_start(calls_bg, CALLS_THREADS, true);
	csx_info("calls_client: background: %u thread(s) running", calls_nbg);
	return 0;
}

static void calls_client_fini(void)
{
	uint64_t calls, peer_gone, errors;

	__atomic_store_n(&calls_stop, 1, __ATOMIC_RELEASE);
	calls_join(calls_bg, calls_nbg, &calls, &peer_gone, &errors);
	csx_free(calls_bg);
	csx_info(
		"calls_client: background: %llu calls, %llu peer gone, %llu other errors",
		(unsigned long long)calls, (unsigned long long)peer_gone,
		(unsigned long long)errors);
	csx_info("calls_client: death notices: %d",
		 __atomic_load_n(&calls_deaths, __ATOMIC_RELAXED));
}

CSX_MODULE("calls_client", "1.0.0", calls_client_init, calls_client_fini);
