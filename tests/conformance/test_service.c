// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Module-to-module calls within one address space: export, open by name
 * and version, call, withdraw; the refusals a caller sees; and many
 * callers at once.
 *
 * Every case exports under its own name, so one that fails half way
 * cannot make the next one fail with -CSX_EEXIST.
 */
#include "csx_test_suites.h"

enum calc_op {
	OP_ECHO = 1,  /* response = request */
	OP_ADD = 2,   /* two uint32_t in, their sum out */
	OP_FAIL = 3,  /* returns -CSX_EIO */
	OP_BLOCK = 4, /* waits until the case releases it */
	OP_LEN = 5,   /* response: the request length as uint64_t */
	OP_SLEEP = 6, /* sleeps a millisecond: handlers may sleep */
	OP_UNKNOWN = 99,
};

#define N_CALLERS 4
#define CALLS_PER_CALLER 200

static long handler_calls;
static long handler_entered;
static long handler_done;
static struct csx_event *release_handler;

static void copy_bytes(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
}

static int op_add(const void *in, size_t in_len, void *out, size_t out_cap,
		  size_t *out_len)
{
	uint32_t v[2], sum;

	if (in_len != sizeof(v) || out_cap < sizeof(sum))
		return -CSX_EINVAL;
	copy_bytes(v, in, sizeof(v));
	sum = v[0] + v[1];
	copy_bytes(out, &sum, sizeof(sum));
	*out_len = sizeof(sum);
	return 0;
}

static int op_block(void)
{
	int rc;

	csx_test_inc(&handler_entered);
	rc = csx_event_wait(release_handler, CSX_TEST_PATIENCE_NS);
	csx_test_inc(&handler_done);
	return rc;
}

static int calc(void *ctx, uint32_t op, const void *in, size_t in_len,
		void *out, size_t out_cap, size_t *out_len)
{
	uint64_t len = in_len;

	csx_test_inc(&handler_calls);
	*out_len = 0;
	switch (op) {
	case OP_ECHO:
		if (in_len > out_cap)
			return -CSX_EOVERFLOW;
		copy_bytes(out, in, in_len);
		*out_len = in_len;
		return 0;
	case OP_ADD:
		return op_add(in, in_len, out, out_cap, out_len);
	case OP_FAIL:
		return -CSX_EIO;
	case OP_BLOCK:
		return op_block();
	case OP_LEN:
		if (out_cap < sizeof(len))
			return -CSX_EOVERFLOW;
		copy_bytes(out, &len, sizeof(len));
		*out_len = sizeof(len);
		return 0;
	case OP_SLEEP:
		return csx_thread_sleep(CSX_NSEC_PER_MSEC);
	default:
		return -CSX_EOPNOTSUPP;
	}
}

static uint32_t call_add(struct csx_chan *chan, uint32_t a, uint32_t b, int *rc)
{
	uint32_t in[2] = { a, b }, sum = 0;
	size_t len = 0;

	*rc = csx_call(chan, OP_ADD, in, sizeof(in), &sum, sizeof(sum), &len,
		       CSX_TEST_PATIENCE_NS);
	if (!*rc && len != sizeof(sum))
		*rc = -CSX_EPROTO;
	return sum;
}

CSX_TEST(svc_export_open_call_close)
{
	static const char hello[] = "hello, driver";
	struct csx_service *svc;
	struct csx_chan *chan;
	char reply[32];
	size_t len = 1234;
	int rc;

	csx_test_store(&handler_calls, 0);
	CSX_CHECK_OK(
		csx_service_export("conformance/basic", 3, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/basic", 1, &chan));
	CSX_CHECK_EQ(csx_chan_version(chan), 3);
	CSX_CHECK_OK(csx_call(chan, OP_ECHO, hello, sizeof(hello), reply,
			      sizeof(reply), &len, CSX_WAIT_FOREVER));
	CSX_CHECK_EQ(len, sizeof(hello));
	CSX_CHECK_STR_EQ(reply, hello);
	CSX_CHECK_EQ(call_add(chan, 40, 2, &rc), 42);
	CSX_CHECK_OK(rc);
	/* The handler's status reaches the caller unchanged. */
	CSX_CHECK_RC(csx_call(chan, OP_FAIL, NULL, 0, NULL, 0, NULL,
			      CSX_WAIT_FOREVER),
		     -CSX_EIO);
	CSX_CHECK_RC(csx_call(chan, OP_UNKNOWN, NULL, 0, NULL, 0, NULL,
			      CSX_WAIT_FOREVER),
		     -CSX_EOPNOTSUPP);
	len = 1234;
	CSX_CHECK_OK(csx_call(chan, OP_ECHO, NULL, 0, reply, sizeof(reply),
			      &len, CSX_WAIT_FOREVER));
	CSX_CHECK_EQ(len, 0);
	CSX_CHECK_EQ(csx_test_load(&handler_calls), 5);
	csx_close(chan);
	CSX_CHECK_OK(csx_service_unexport(svc));
}

CSX_TEST(svc_handler_may_sleep)
{
	struct csx_service *svc;
	struct csx_chan *chan;

	CSX_CHECK_OK(
		csx_service_export("conformance/sleepy", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/sleepy", 1, &chan));
	CSX_CHECK_OK(csx_call(chan, OP_SLEEP, NULL, 0, NULL, 0, NULL,
			      CSX_TEST_PATIENCE_NS));
	csx_close(chan);
	CSX_CHECK_OK(csx_service_unexport(svc));
}

CSX_TEST(svc_version_check)
{
	struct csx_service *svc;
	struct csx_chan *chan = NULL;

	CSX_CHECK_OK(csx_service_export("conformance/versioned", 2, calc, NULL,
					&svc));
	CSX_CHECK_RC(csx_open("conformance/versioned", 3, &chan), -CSX_EPROTO);
	CSX_CHECK_OK(csx_open("conformance/versioned", 2, &chan));
	CSX_CHECK_EQ(csx_chan_version(chan), 2);
	csx_close(chan);
	CSX_CHECK_OK(csx_open("conformance/versioned", 0, &chan));
	csx_close(chan);
	CSX_CHECK_OK(csx_service_unexport(svc));
}

CSX_TEST(svc_unknown_name)
{
	struct csx_chan *chan;

	CSX_CHECK_RC(csx_open("conformance/nobody-exports-this", 0, &chan),
		     -CSX_ENOENT);
}

CSX_TEST(svc_duplicate_name)
{
	struct csx_service *svc, *dup;

	CSX_CHECK_OK(
		csx_service_export("conformance/dup", 1, calc, NULL, &svc));
	CSX_CHECK_RC(csx_service_export("conformance/dup", 2, calc, NULL, &dup),
		     -CSX_EEXIST);
	CSX_CHECK_OK(csx_service_unexport(svc));
	/* Withdrawn names are free again. */
	CSX_CHECK_OK(
		csx_service_export("conformance/dup", 2, calc, NULL, &dup));
	CSX_CHECK_OK(csx_service_unexport(dup));
}

/* A name of exactly @len bytes: "c/" and then 'x's. */
static void make_name(char *buf, size_t len)
{
	size_t i;

	buf[0] = 'c';
	buf[1] = '/';
	for (i = 2; i < len; i++)
		buf[i] = 'x';
	buf[len] = '\0';
}

CSX_TEST(svc_name_limits)
{
	char name[CSX_SERVICE_NAME_MAX + 1];
	struct csx_service *svc;
	struct csx_chan *chan;

	make_name(name, CSX_SERVICE_NAME_MAX);
	CSX_CHECK_RC(csx_service_export(name, 1, calc, NULL, &svc),
		     -CSX_EINVAL);
	make_name(name, CSX_SERVICE_NAME_MAX - 1);
	CSX_CHECK_OK(csx_service_export(name, 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open(name, 1, &chan));
	csx_close(chan);
	CSX_CHECK_OK(csx_service_unexport(svc));
}

CSX_TEST(svc_bad_arguments)
{
	struct csx_service *svc;
	struct csx_chan *chan;
	char buf[8];

	CSX_CHECK_RC(csx_service_export(NULL, 1, calc, NULL, &svc),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_service_export("", 1, calc, NULL, &svc), -CSX_EINVAL);
	CSX_CHECK_RC(csx_service_export("conformance/bad", 1, NULL, NULL, &svc),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_service_export("conformance/bad", 1, calc, NULL, NULL),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_open(NULL, 0, &chan), -CSX_EINVAL);
	CSX_CHECK_RC(csx_open("conformance/bad", 0, NULL), -CSX_EINVAL);
	CSX_CHECK_RC(csx_call(NULL, OP_ECHO, NULL, 0, NULL, 0, NULL, 0),
		     -CSX_EINVAL);
	CSX_CHECK_EQ(csx_chan_version(NULL), 0);
	CSX_CHECK_OK(csx_service_unexport(NULL));
	csx_close(NULL);

	CSX_CHECK_OK(
		csx_service_export("conformance/bad", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/bad", 0, &chan));
	CSX_CHECK_RC(csx_call(chan, OP_ECHO, NULL, 4, buf, sizeof(buf), NULL,
			      CSX_WAIT_FOREVER),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_call(chan, OP_ECHO, buf, 4, NULL, 4, NULL,
			      CSX_WAIT_FOREVER),
		     -CSX_EINVAL);
	CSX_CHECK_RC(
		csx_call(chan, OP_ECHO, buf, 4, buf, sizeof(buf), NULL, -1),
		-CSX_EINVAL);
	csx_close(chan);
	CSX_CHECK_OK(csx_service_unexport(svc));
}

static void check_payload_limit(struct csx_chan *chan, unsigned char *big)
{
	uint64_t len = 0;
	size_t out_len = 0;

	CSX_CHECK_RC(csx_call(chan, OP_LEN, big, CSX_CALL_MAX_PAYLOAD + 1, &len,
			      sizeof(len), &out_len, CSX_WAIT_FOREVER),
		     -CSX_EMSGSIZE);
	/* The limit itself is allowed. */
	CSX_CHECK_OK(csx_call(chan, OP_LEN, big, CSX_CALL_MAX_PAYLOAD, &len,
			      sizeof(len), &out_len, CSX_WAIT_FOREVER));
	CSX_CHECK_EQ(out_len, sizeof(len));
	CSX_CHECK_EQ(len, CSX_CALL_MAX_PAYLOAD);
}

CSX_TEST(svc_payload_too_large)
{
	struct csx_service *svc;
	struct csx_chan *chan;
	unsigned char *big;

	big = csx_alloc(CSX_CALL_MAX_PAYLOAD + 1, CSX_MEM_ZERO);
	CSX_CHECK_NOT_NULL(big);
	CSX_CHECK_OK(
		csx_service_export("conformance/big", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/big", 1, &chan));
	check_payload_limit(chan, big);
	csx_close(chan);
	csx_free(big);
	CSX_CHECK_OK(csx_service_unexport(svc));
}

CSX_TEST(svc_calls_after_unexport_fail)
{
	struct csx_service *svc;
	struct csx_chan *chan, *again;
	long calls;
	int rc;

	csx_test_store(&handler_calls, 0);
	CSX_CHECK_OK(
		csx_service_export("conformance/gone", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/gone", 1, &chan));
	call_add(chan, 1, 2, &rc);
	CSX_CHECK_OK(rc);
	CSX_CHECK_OK(csx_service_unexport(svc));
	calls = csx_test_load(&handler_calls);
	call_add(chan, 1, 2, &rc);
	CSX_CHECK_RC(rc, -CSX_EPEERDIED);
	CSX_CHECK_RC(csx_call(chan, OP_ECHO, NULL, 0, NULL, 0, NULL, 0),
		     -CSX_EPEERDIED);
	/* The handler is never called once unexport returned. */
	CSX_CHECK_EQ(csx_test_load(&handler_calls), calls);
	CSX_CHECK_RC(csx_open("conformance/gone", 1, &again), -CSX_ENOENT);
	csx_close(chan);
}

static struct csx_service *blocking_svc;
static struct csx_chan *blocking_chan;
static long unexport_returned;
static long done_when_unexported;

static int blocked_caller(void *unused)
{
	return csx_call(blocking_chan, OP_BLOCK, NULL, 0, NULL, 0, NULL,
			CSX_TEST_PATIENCE_NS);
}

static int unexporter(void *unused)
{
	int rc = csx_service_unexport(blocking_svc);

	csx_test_store(&done_when_unexported, csx_test_load(&handler_done));
	csx_test_store(&unexport_returned, 1);
	return rc;
}

static int call_or_unexport(void *arg)
{
	return *(const int *)arg ? unexporter(NULL) : blocked_caller(NULL);
}

/* Unexport waits for a call in progress; the call completes normally. */
CSX_TEST(svc_unexport_waits_for_calls)
{
	static const int is_unexporter[2] = { 0, 1 };
	struct csx_test_workers caller, withdrawer;
	long early;
	int rc_c, rc_w;

	csx_test_store(&handler_entered, 0);
	csx_test_store(&handler_done, 0);
	csx_test_store(&unexport_returned, 0);
	csx_test_store(&done_when_unexported, 0);
	CSX_CHECK_OK(
		csx_event_create(&release_handler, CSX_EVENT_MANUAL, false));
	CSX_CHECK_OK(csx_service_export("conformance/block", 1, calc, NULL,
					&blocking_svc));
	CSX_CHECK_OK(csx_open("conformance/block", 1, &blocking_chan));
	rc_c = csx_test_workers_start(&caller, 1, call_or_unexport,
				      (void *)&is_unexporter[0], 0);
	CSX_EVENTUALLY(csx_test_load(&handler_entered) == 1);
	rc_w = csx_test_workers_start(&withdrawer, 1, call_or_unexport,
				      (void *)&is_unexporter[1], 0);
	csx_test_settle();
	early = csx_test_load(&unexport_returned);
	csx_event_set(release_handler);
	rc_c = rc_c ? rc_c : csx_test_workers_join(&caller);
	rc_w = rc_w ? rc_w : csx_test_workers_join(&withdrawer);
	csx_close(blocking_chan);
	CSX_CHECK_OK(csx_event_destroy(release_handler));
	CSX_CHECK_OK(rc_c);
	CSX_CHECK_OK(rc_w);
	CSX_CHECK_EQ(early, 0);
	CSX_CHECK_EQ(csx_test_load(&done_when_unexported), 1);
}

static struct csx_chan *shared_chan;

struct caller_arg {
	uint32_t base;
	long wrong;
	long failed;
};

static int add_caller(void *p)
{
	struct caller_arg *a = p;
	uint32_t i;
	int rc;

	for (i = 0; i < CALLS_PER_CALLER; i++) {
		uint32_t sum = call_add(shared_chan, a->base, i, &rc);

		if (rc)
			a->failed++;
		else if (sum != a->base + i)
			a->wrong++;
	}
	return 0;
}

CSX_TEST(svc_concurrent_callers)
{
	static struct caller_arg args[N_CALLERS];
	struct csx_test_workers w;
	struct csx_service *svc;
	unsigned int i;
	int rc;

	csx_test_store(&handler_calls, 0);
	for (i = 0; i < N_CALLERS; i++) {
		args[i].base = (i + 1) * 100000;
		args[i].wrong = 0;
		args[i].failed = 0;
	}
	CSX_CHECK_OK(
		csx_service_export("conformance/shared", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/shared", 1, &shared_chan));
	rc = csx_test_workers_start(&w, N_CALLERS, add_caller, args,
				    sizeof(args[0]));
	csx_test_workers_join(&w);
	csx_close(shared_chan);
	CSX_CHECK_OK(csx_service_unexport(svc));
	CSX_CHECK_OK(rc);
	for (i = 0; i < N_CALLERS; i++) {
		CSX_CHECK_EQ(args[i].failed, 0);
		CSX_CHECK_EQ(args[i].wrong, 0);
	}
	CSX_CHECK_EQ(csx_test_load(&handler_calls),
		     N_CALLERS * CALLS_PER_CALLER);
}

/* Asynchronous calls: started from a DPC, completed in thread context. */
#define ASYNC_CALLS 64

static struct {
	struct csx_chan *chan;
	struct csx_event *all_done;
	uint32_t in[ASYNC_CALLS][2];
	uint32_t sum[ASYNC_CALLS];
	long started, start_failed, completed, wrong, in_atomic;
} async;

static void async_done(void *ctx, int status, size_t out_len)
{
	uint32_t i = (uint32_t)(uintptr_t)ctx;

	if (csx_in_isr() || csx_in_dpc())
		csx_test_inc(&async.in_atomic);
	if (status || out_len != sizeof(uint32_t) ||
	    async.sum[i] != async.in[i][0] + async.in[i][1])
		csx_test_inc(&async.wrong);
	if (csx_test_inc(&async.completed) == ASYNC_CALLS)
		csx_event_set(async.all_done);
}

static void async_from_dpc(struct csx_dpc *dpc, void *ctx)
{
	uint32_t i;

	(void)dpc;
	(void)ctx;
	for (i = 0; i < ASYNC_CALLS; i++) {
		if (csx_call_async(async.chan, OP_ADD, async.in[i],
				   sizeof(async.in[i]), &async.sum[i],
				   sizeof(async.sum[i]), CSX_TEST_PATIENCE_NS,
				   async_done, (void *)(uintptr_t)i))
			csx_test_inc(&async.start_failed);
		else
			csx_test_inc(&async.started);
	}
}

CSX_TEST(svc_async_from_dpc)
{
	struct csx_service *svc;
	struct csx_dpc *dpc;
	uint32_t i;

	async.started = async.start_failed = async.completed = 0;
	async.wrong = async.in_atomic = 0;
	for (i = 0; i < ASYNC_CALLS; i++) {
		async.in[i][0] = i * 1000;
		async.in[i][1] = i + 7;
		async.sum[i] = 0;
	}
	CSX_CHECK_OK(
		csx_event_create(&async.all_done, CSX_EVENT_MANUAL, false));
	CSX_CHECK_OK(
		csx_service_export("conformance/async", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/async", 1, &async.chan));
	CSX_CHECK_OK(csx_dpc_create(&dpc, async_from_dpc, NULL));
	CSX_CHECK_EQ(csx_dpc_queue(dpc), 0);
	CSX_CHECK_OK(csx_event_wait(async.all_done, CSX_TEST_PATIENCE_NS));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
	csx_close(async.chan);
	CSX_CHECK_OK(csx_service_unexport(svc));
	CSX_CHECK_OK(csx_event_destroy(async.all_done));
	CSX_CHECK_EQ(csx_test_load(&async.start_failed), 0);
	CSX_CHECK_EQ(csx_test_load(&async.started), ASYNC_CALLS);
	CSX_CHECK_EQ(csx_test_load(&async.completed), ASYNC_CALLS);
	CSX_CHECK_EQ(csx_test_load(&async.wrong), 0);
	CSX_CHECK_EQ(csx_test_load(&async.in_atomic), 0);
}

/* csx_close() waits for the completions still to come on its channel. */
static long slow_done_count;

static void slow_done(void *ctx, int status, size_t out_len)
{
	(void)ctx;
	(void)out_len;
	if (!status)
		csx_thread_sleep(2 * CSX_NSEC_PER_MSEC);
	csx_test_inc(&slow_done_count);
}

CSX_TEST(svc_close_waits_for_async)
{
	struct csx_service *svc;
	struct csx_chan *chan;
	unsigned int i;

	csx_test_store(&slow_done_count, 0);
	CSX_CHECK_OK(
		csx_service_export("conformance/async2", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/async2", 1, &chan));
	for (i = 0; i < 8; i++)
		CSX_CHECK_OK(csx_call_async(chan, OP_SLEEP, NULL, 0, NULL, 0,
					    CSX_TEST_PATIENCE_NS, slow_done,
					    NULL));
	/* Errors come back at once, and then no completion ever runs. */
	CSX_CHECK_RC(csx_call_async(chan, OP_ECHO, NULL, 4, NULL, 0,
				    CSX_WAIT_FOREVER, slow_done, NULL),
		     -CSX_EINVAL);
	CSX_CHECK_RC(csx_call_async(chan, OP_ECHO, NULL, 0, NULL, 0,
				    CSX_WAIT_FOREVER, NULL, NULL),
		     -CSX_EINVAL);
	csx_close(chan);
	CSX_CHECK_EQ(csx_test_load(&slow_done_count), 8);
	CSX_CHECK_OK(csx_service_unexport(svc));
}

/* Death notices: once per watched channel, never after its close. */
static long gone_calls;
static struct csx_event *gone_event;

static void on_gone(void *ctx)
{
	if (csx_in_isr() || csx_in_dpc())
		csx_test_add(&gone_calls, 1000); /* wrong context: fail */
	csx_test_inc(&gone_calls);
	csx_event_set(gone_event);
}

CSX_TEST(svc_watch_death_notice)
{
	struct csx_chan *watched, *closed_first, *late;
	struct csx_service *svc;

	csx_test_store(&gone_calls, 0);
	CSX_CHECK_OK(csx_event_create(&gone_event, CSX_EVENT_AUTO, false));
	CSX_CHECK_OK(
		csx_service_export("conformance/watched", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/watched", 1, &watched));
	CSX_CHECK_OK(csx_open("conformance/watched", 1, &closed_first));
	CSX_CHECK_OK(csx_chan_watch(watched, on_gone, NULL));
	CSX_CHECK_RC(csx_chan_watch(watched, on_gone, NULL), -CSX_EBUSY);
	CSX_CHECK_RC(csx_chan_watch(watched, NULL, NULL), -CSX_EINVAL);
	CSX_CHECK_OK(csx_chan_watch(closed_first, on_gone, NULL));
	/* A channel closed while its service lives is never told. */
	csx_close(closed_first);
	CSX_CHECK_OK(csx_service_unexport(svc));
	CSX_CHECK_OK(csx_event_wait(gone_event, CSX_TEST_PATIENCE_NS));
	CSX_CHECK_EQ(csx_test_load(&gone_calls), 1);
	/* Watching a channel whose service is gone already: told at once. */
	CSX_CHECK_OK(
		csx_service_export("conformance/watched", 2, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/watched", 2, &late));
	CSX_CHECK_OK(csx_service_unexport(svc));
	CSX_CHECK_OK(csx_chan_watch(late, on_gone, NULL));
	CSX_CHECK_OK(csx_event_wait(gone_event, CSX_TEST_PATIENCE_NS));
	csx_close(late);
	csx_close(watched);
	CSX_CHECK_EQ(csx_test_load(&gone_calls), 2);
	CSX_CHECK_OK(csx_event_destroy(gone_event));
}

/*
 * Shared buffers in one address space: the handler reads and writes the
 * buffer in place, beyond the copied-call limit, and the completion of an
 * asynchronous call started from a DPC sees the response.
 */
#define SHBUF_BYTES (2 * CSX_CALL_MAX_PAYLOAD + 4096)
static struct csx_event *shbuf_done_event;
static long shbuf_done_status = 1, shbuf_done_len;

static void shbuf_done(void *ctx, int status, size_t out_len)
{
	(void)ctx;
	csx_test_store(&shbuf_done_len, (long)out_len);
	csx_test_store(&shbuf_done_status, status);
	csx_event_set(shbuf_done_event);
}

static struct csx_chan *shbuf_chan;
static struct csx_shbuf *shbuf_buf;
static long shbuf_dpc_rc = 1;

static void shbuf_from_dpc(struct csx_dpc *dpc, void *ctx)
{
	(void)dpc;
	(void)ctx;
	csx_test_store(&shbuf_dpc_rc,
		       csx_call_shbuf_async(shbuf_chan, OP_LEN, shbuf_buf, 0,
					    12345, 8, 8, CSX_TEST_PATIENCE_NS,
					    shbuf_done, NULL));
}

CSX_TEST(svc_shared_buffer)
{
	struct csx_service *svc;
	struct csx_dpc *dpc;
	unsigned char *p;
	size_t half, i, bad = 0, len = 0;
	uint64_t got = 0;

	CSX_CHECK_OK(
		csx_service_export("conformance/shbuf", 1, calc, NULL, &svc));
	CSX_CHECK_OK(csx_open("conformance/shbuf", 1, &shbuf_chan));
	CSX_CHECK_OK(csx_shbuf_alloc(shbuf_chan, SHBUF_BYTES, &shbuf_buf));
	CSX_CHECK_EQ(csx_shbuf_size(shbuf_buf), SHBUF_BYTES);
	p = csx_shbuf_addr(shbuf_buf);
	CSX_CHECK(p != NULL);
	half = SHBUF_BYTES / 2;
	for (i = 0; i < half; i++)
		p[i] = (unsigned char)(i * 13 + 1);
	/* A request larger than a copied call may carry, echoed in place. */
	CSX_CHECK_OK(csx_call_shbuf(shbuf_chan, OP_ECHO, shbuf_buf, 0, half,
				    half, half, &len, CSX_WAIT_FOREVER));
	CSX_CHECK_EQ(len, half);
	for (i = 0; i < half; i++)
		bad += p[half + i] != (unsigned char)(i * 13 + 1);
	CSX_CHECK_EQ(bad, 0);
	/* A window past the end is refused before the handler runs. */
	CSX_CHECK_RC(csx_call_shbuf(shbuf_chan, OP_ECHO, shbuf_buf, half,
				    half + 1, 0, 0, &len, CSX_WAIT_FOREVER),
		     -CSX_EINVAL);

	/* From a DPC, asynchronously; the buffer is busy until done. */
	CSX_CHECK_OK(
		csx_event_create(&shbuf_done_event, CSX_EVENT_MANUAL, false));
	CSX_CHECK_OK(csx_dpc_create(&dpc, shbuf_from_dpc, NULL));
	CSX_CHECK_EQ(csx_dpc_queue(dpc), 0);
	CSX_CHECK_OK(csx_event_wait(shbuf_done_event, CSX_TEST_PATIENCE_NS));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
	CSX_CHECK_EQ(csx_test_load(&shbuf_dpc_rc), 0);
	CSX_CHECK_EQ(csx_test_load(&shbuf_done_status), 0);
	CSX_CHECK_EQ(csx_test_load(&shbuf_done_len), 8);
	copy_bytes(&got, p + 8, sizeof(got));
	CSX_CHECK_EQ(got, 12345);
	CSX_CHECK_OK(csx_event_destroy(shbuf_done_event));

	/* The buffer outlives the channel. */
	csx_close(shbuf_chan);
	p[SHBUF_BYTES - 1] = 0x5a;
	CSX_CHECK_OK(csx_shbuf_free(shbuf_buf));
	CSX_CHECK_OK(csx_service_unexport(svc));
}

static const struct csx_test_case service_cases[] = {
	CSX_TEST_CASE(svc_export_open_call_close),
	CSX_TEST_CASE(svc_handler_may_sleep),
	CSX_TEST_CASE(svc_version_check),
	CSX_TEST_CASE(svc_unknown_name),
	CSX_TEST_CASE(svc_duplicate_name),
	CSX_TEST_CASE(svc_name_limits),
	CSX_TEST_CASE_MISUSE(svc_bad_arguments),
	CSX_TEST_CASE(svc_payload_too_large),
	CSX_TEST_CASE(svc_calls_after_unexport_fail),
	CSX_TEST_CASE(svc_unexport_waits_for_calls),
	CSX_TEST_CASE(svc_concurrent_callers),
	CSX_TEST_CASE(svc_async_from_dpc),
	CSX_TEST_CASE(svc_close_waits_for_async),
	CSX_TEST_CASE(svc_watch_death_notice),
	CSX_TEST_CASE(svc_shared_buffer),
};
CSX_TEST_SUITE(service, service_cases);
