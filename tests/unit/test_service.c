/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The service registry: export/open/call/close, versions, name rules,
 * payload limits, withdrawal under open channels and in-flight calls, and
 * the fallback to the back end's remote services (csx_os_remote_*).
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "unit.h"

#define OP_ECHO 1
#define OP_LIE 2   /* claims a longer response than the buffer holds */
#define OP_BLOCK 3 /* waits until released */

struct svc_state {
	int calls;
	int entered;
	int release;
	int done;
};

static int handler(void *ctx, uint32_t op, const void *in, size_t in_len,
		   void *out, size_t out_cap, size_t *out_len)
{
	struct svc_state *s = ctx;

	s->calls++;
	switch (op) {
	case OP_ECHO:
		if (in_len > out_cap)
			return -CSX_EOVERFLOW;
		if (in_len)
			memcpy(out, in, in_len);
		*out_len = in_len;
		return 0;
	case OP_LIE:
		*out_len = out_cap + 1;
		return 0;
	case OP_BLOCK:
		__atomic_store_n(&s->entered, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&s->release, __ATOMIC_ACQUIRE))
			sched_yield();
		__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
		return 0;
	default:
		return -CSX_EOPNOTSUPP;
	}
}

static void export_open_call_close(void **state)
{
	struct svc_state s = { 0 };
	struct csx_service *svc;
	struct csx_chan *ch;
	char out[16] = { 0 };
	size_t len = 99;

	(void)state;
	assert_int_equal(csx_service_export("edu/ctl", 3, handler, &s, &svc),
			 0);
	assert_int_equal(csx_open("edu/ctl", 2, &ch), 0);
	assert_int_equal(csx_chan_version(ch), 3);
	assert_int_equal(csx_call(ch, OP_ECHO, "hello", 5, out, sizeof(out),
				  &len, CSX_WAIT_FOREVER),
			 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(csx_call(ch, 77, NULL, 0, NULL, 0, &len, 0),
			 -CSX_EOPNOTSUPP);
	assert_int_equal(len, 0);
	assert_int_equal(csx_call(ch, OP_ECHO, "x", 1, out, 1, NULL, 1000), 0);
	csx_close(ch);
	assert_int_equal(csx_chan_version(ch), 0);
	assert_int_equal(csx_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL, 0),
			 -CSX_EINVAL);
	csx_close(NULL);
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(csx_service_unexport(svc), -CSX_EINVAL);
	assert_int_equal(csx_service_unexport(NULL), 0);
	assert_int_equal(s.calls, 3);
}

static void open_checks_name_and_version(void **state)
{
	struct svc_state s = { 0 };
	struct csx_service *svc, *dup;
	struct csx_chan *ch;

	(void)state;
	assert_int_equal(csx_service_export("m/s", 2, handler, &s, &svc), 0);
	assert_int_equal(csx_service_export("m/s", 9, handler, &s, &dup),
			 -CSX_EEXIST);
	assert_null(dup);
	assert_int_equal(csx_open("m/s", 3, &ch), -CSX_EPROTO);
	assert_null(ch);
	assert_true(mock_log_contains("service m/s is version 2"));
	assert_int_equal(csx_open("m/t", 0, &ch), -CSX_ENOENT);
	assert_int_equal(csx_open("m/s", 2, NULL), -CSX_EINVAL);
	assert_int_equal(csx_open(NULL, 0, &ch), -CSX_EINVAL);
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(csx_open("m/s", 0, &ch), -CSX_ENOENT);
	/* The name is free again. */
	assert_int_equal(csx_service_export("m/s", 4, handler, &s, &svc), 0);
	assert_int_equal(csx_service_unexport(svc), 0);
}

static void name_rules(void **state)
{
	static const char *const bad[] = {
		"",	 "noslash", "/svc",   "mod/",	    "a b/c",
		"a/b\n", "a/\tb",   "a/\x7f", "a/\xc3\xa9",
	};
	char longest[CSX_SERVICE_NAME_MAX + 1];
	struct svc_state s = { 0 };
	struct csx_service *svc;
	struct csx_chan *ch;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
			csx_service_export(bad[i], 1, handler, &s, &svc),
			-CSX_EINVAL);
		assert_int_equal(csx_open(bad[i], 0, &ch), -CSX_EINVAL);
	}
	assert_int_equal(csx_service_export(NULL, 1, handler, &s, &svc),
			 -CSX_EINVAL);
	assert_int_equal(csx_service_export("a/b", 1, NULL, &s, &svc),
			 -CSX_EINVAL);
	assert_int_equal(csx_service_export("a/b", 1, handler, &s, NULL),
			 -CSX_EINVAL);
	/* CSX_SERVICE_NAME_MAX - 1 bytes fit, one more does not. */
	memset(longest, 'x', sizeof(longest));
	longest[1] = '/';
	longest[CSX_SERVICE_NAME_MAX] = '\0';
	assert_int_equal(csx_service_export(longest, 1, handler, &s, &svc),
			 -CSX_EINVAL);
	longest[CSX_SERVICE_NAME_MAX - 1] = '\0';
	assert_int_equal(csx_service_export(longest, 1, handler, &s, &svc), 0);
	assert_int_equal(csx_open(longest, 1, &ch), 0);
	csx_close(ch);
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(
		csx_service_export("a.b-c_d/e:f@1", 1, handler, &s, &svc), 0);
	assert_int_equal(csx_service_unexport(svc), 0);
}

static void call_arguments_and_limits(void **state)
{
	struct svc_state s = { 0 };
	struct csx_service *svc;
	struct csx_chan *ch;
	static char big[CSX_CALL_MAX_PAYLOAD + 1];
	char out[8];
	size_t len = 5;

	(void)state;
	assert_int_equal(csx_service_export("p/q", 1, handler, &s, &svc), 0);
	assert_int_equal(csx_open("p/q", 1, &ch), 0);
	assert_int_equal(csx_call(NULL, OP_ECHO, NULL, 0, NULL, 0, &len, 0),
			 -CSX_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(csx_call(ch, OP_ECHO, NULL, 4, out, 8, &len, 0),
			 -CSX_EINVAL);
	assert_int_equal(csx_call(ch, OP_ECHO, "abcd", 4, NULL, 8, &len, 0),
			 -CSX_EINVAL);
	assert_int_equal(csx_call(ch, OP_ECHO, "abcd", 4, out, 8, &len, -1),
			 -CSX_EINVAL);
	assert_int_equal(
		csx_call(ch, OP_ECHO, big, sizeof(big), out, 8, &len, 0),
		-CSX_EMSGSIZE);
	assert_int_equal(
		csx_call(ch, OP_ECHO, "a", 1, big, sizeof(big), &len, 0),
		-CSX_EMSGSIZE);
	/* Exactly the limit is accepted. */
	assert_int_equal(csx_call(ch, OP_ECHO, big, CSX_CALL_MAX_PAYLOAD, big,
				  CSX_CALL_MAX_PAYLOAD, &len, 0),
			 0);
	assert_int_equal(len, CSX_CALL_MAX_PAYLOAD);
	/* A handler overstating its response is caught. */
	assert_int_equal(csx_call(ch, OP_LIE, NULL, 0, out, 8, &len, 0),
			 -CSX_EOVERFLOW);
	assert_int_equal(len, 0);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_call(ch, OP_ECHO, "a", 1, out, 8, &len, 0),
			 -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(s.calls, 2);
	csx_close(ch);
	assert_int_equal(csx_service_unexport(svc), 0);
}

static void unexport_with_open_channel(void **state)
{
	struct svc_state s = { 0 };
	struct csx_service *svc;
	struct csx_chan *ch;
	char out[4];

	(void)state;
	assert_int_equal(csx_service_export("x/y", 1, handler, &s, &svc), 0);
	assert_int_equal(csx_open("x/y", 1, &ch), 0);
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(csx_call(ch, OP_ECHO, "a", 1, out, 4, NULL, 0),
			 -CSX_EPEERDIED);
	assert_int_equal(s.calls, 0);
	/* The channel still answers until closed; the service lives on. */
	assert_int_equal(csx_chan_version(ch), 1);
	assert_int_equal(csx__live_count(CSX__T_SERVICE), 1);
	csx_close(ch);
	assert_int_equal(csx__live_count(CSX__T_SERVICE), 0);
}

struct caller {
	struct csx_chan *ch;
	int ret;
};

static void *call_block(void *arg)
{
	struct caller *c = arg;

	c->ret = csx_call(c->ch, OP_BLOCK, NULL, 0, NULL, 0, NULL,
			  CSX_WAIT_FOREVER);
	return NULL;
}

static struct svc_state blocked;

static void release_on_sleep(void *arg)
{
	(void)arg;
	__atomic_store_n(&blocked.release, 1, __ATOMIC_RELEASE);
}

static void unexport_waits_for_inflight_calls(void **state)
{
	struct csx_service *svc;
	struct caller c = { NULL, 1 };
	pthread_t th;
	int done;

	(void)state;
	memset(&blocked, 0, sizeof(blocked));
	assert_int_equal(csx_service_export("w/z", 1, handler, &blocked, &svc),
			 0);
	assert_int_equal(csx_open("w/z", 1, &c.ch), 0);
	assert_int_equal(pthread_create(&th, NULL, call_block, &c), 0);
	while (!__atomic_load_n(&blocked.entered, __ATOMIC_ACQUIRE))
		sched_yield();
	/* Unexport must sleep while the call runs; its first sleep lets the
	 * handler finish. */
	mock_set_on_sleep(release_on_sleep, NULL);
	assert_int_equal(csx_service_unexport(svc), 0);
	mock_set_on_sleep(NULL, NULL);
	done = __atomic_load_n(&blocked.done, __ATOMIC_ACQUIRE);
	/* Let a handler that was not waited for end before failing. */
	__atomic_store_n(&blocked.release, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_true(done);
	assert_true(mock_sleeps() > 0);
	assert_int_equal(c.ret, 0);
	assert_int_equal(csx_call(c.ch, OP_BLOCK, NULL, 0, NULL, 0, NULL, 0),
			 -CSX_EPEERDIED);
	csx_close(c.ch);
}

static void registry_without_memory(void **state)
{
	struct svc_state s = { 0 };
	struct csx_service *svc;
	struct csx_chan *ch;

	(void)state;
	mock_fail_alloc_after(0);
	assert_int_equal(csx_service_export("m/n", 1, handler, &s, &svc),
			 -CSX_ENOMEM);
	assert_null(svc);
	assert_int_equal(csx_service_export("m/n", 1, handler, &s, &svc), 0);
	mock_fail_alloc_after(0);
	assert_int_equal(csx_open("m/n", 1, &ch), -CSX_ENOMEM);
	assert_null(ch);
	/* The failed open left no reference behind: unexport frees it. */
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(csx__live_count(CSX__T_SERVICE), 0);
}

static void remote_only_when_local_misses(void **state)
{
	struct svc_state s = { 0 };
	struct csx_service *svc;
	struct csx_chan *ch;

	(void)state;
	/* By default the back end knows no other domain. */
	assert_int_equal(csx_open("far/away", 0, &ch), -CSX_ENOENT);
	assert_null(ch);
	assert_int_equal(mock_remote_seen()->opens, 1);
	assert_string_equal(mock_remote_seen()->name, "far/away");

	/* A local service wins even when a remote one would open. */
	mock_set_remote_open(0, 9);
	assert_int_equal(csx_service_export("near/by", 2, handler, &s, &svc),
			 0);
	assert_int_equal(csx_open("near/by", 1, &ch), 0);
	assert_int_equal(mock_remote_seen()->opens, 1);
	assert_int_equal(csx_chan_version(ch), 2);
	csx_close(ch);
	/* A local version mismatch is final: no remote lookup either. */
	assert_int_equal(csx_open("near/by", 3, &ch), -CSX_EPROTO);
	assert_int_equal(mock_remote_seen()->opens, 1);
	/* Bad names and forbidden contexts never reach the back end. */
	assert_int_equal(csx_open("noslash", 0, &ch), -CSX_EINVAL);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_open("far/away", 0, &ch), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(mock_remote_seen()->opens, 1);
	assert_int_equal(mock_remote_live(), 0);
	assert_int_equal(csx_service_unexport(svc), 0);

	/* Withdrawn locally: the next open falls through to the back end. */
	assert_int_equal(csx_open("near/by", 4, &ch), 0);
	assert_int_equal(mock_remote_seen()->opens, 2);
	assert_int_equal(mock_remote_seen()->min_version, 4);
	assert_int_equal(csx_chan_version(ch), 9);
	assert_int_equal(mock_remote_live(), 1);
	assert_int_equal(csx__live_count(CSX__T_CHAN), 1);
	csx_close(ch);
	assert_int_equal(mock_remote_live(), 0);
	assert_int_equal(csx__live_count(CSX__T_CHAN), 0);
}

static void remote_open_errors(void **state)
{
	struct csx_chan *ch;

	(void)state;
	mock_set_remote_open(-CSX_EPROTO, 0);
	assert_int_equal(csx_open("k/svc", 7, &ch), -CSX_EPROTO);
	assert_null(ch);
	assert_true(mock_log_contains("service k/svc (in another domain) is "
				      "older than version 7"));
	mock_set_remote_open(-CSX_EPERM, 0);
	assert_int_equal(csx_open("k/svc", 0, &ch), -CSX_EPERM);
	mock_set_remote_open(-CSX_ENOSPC, 0);
	assert_int_equal(csx_open("k/svc", 0, &ch), -CSX_ENOSPC);
	assert_null(ch);
	/* A back end that opened an older service anyway is caught. */
	mock_set_remote_open(0, 2);
	assert_int_equal(csx_open("k/svc", 3, &ch), -CSX_EPROTO);
	assert_null(ch);
	assert_int_equal(mock_remote_seen()->closes, 1);
	assert_int_equal(mock_remote_live(), 0);
	/* No memory for the channel: the back end is not asked. */
	mock_fail_alloc_after(0);
	assert_int_equal(csx_open("k/svc", 0, &ch), -CSX_ENOMEM);
	assert_int_equal(mock_remote_seen()->opens, 4);
	assert_int_equal(csx__live_count(CSX__T_CHAN), 0);
}

static void remote_call_version_close(void **state)
{
	static const char resp[] = "pong";
	const struct mock_remote_seen *seen = mock_remote_seen();
	struct csx_os_rchan *rc;
	struct csx_chan *ch;
	char out[16];
	size_t len = 99;

	(void)state;
	mock_set_remote_open(0, 5);
	assert_int_equal(csx_open("kern/echo", 5, &ch), 0);
	rc = seen->chan;
	assert_non_null(rc);
	assert_int_equal(csx_chan_version(ch), 5);

	mock_set_remote_call(0, resp, 4);
	assert_int_equal(
		csx_call(ch, 42, "ping", 4, out, sizeof(out), &len, 1000000),
		0);
	assert_int_equal(seen->calls, 1);
	assert_ptr_equal(seen->chan, rc);
	assert_int_equal(seen->op, 42);
	assert_int_equal(seen->in_len, 4);
	assert_memory_equal(seen->in, "ping", 4);
	assert_ptr_equal(seen->out, out);
	assert_int_equal(seen->out_cap, sizeof(out));
	assert_int_equal(seen->timeout_ns, 1000000);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "pong", 4);

	/* The handler's status and the transport's come back unchanged. */
	mock_set_remote_call(-CSX_EOPNOTSUPP, NULL, 0);
	assert_int_equal(
		csx_call(ch, 43, NULL, 0, NULL, 0, &len, CSX_WAIT_FOREVER),
		-CSX_EOPNOTSUPP);
	assert_int_equal(seen->timeout_ns, CSX_WAIT_FOREVER);
	assert_int_equal(len, 0);
	mock_set_remote_call(-CSX_EPEERDIED, NULL, 0);
	assert_int_equal(csx_call(ch, 1, NULL, 0, NULL, 0, NULL, 0),
			 -CSX_EPEERDIED);
	mock_set_remote_call(-CSX_ETIMEDOUT, NULL, 0);
	assert_int_equal(csx_call(ch, 1, NULL, 0, NULL, 0, &len, 5),
			 -CSX_ETIMEDOUT);
	/* A back end overstating the response length is caught. */
	mock_set_remote_call(0, resp, 4);
	assert_int_equal(csx_call(ch, 1, NULL, 0, out, 2, &len, 0), -CSX_EIO);
	assert_int_equal(len, 0);
	assert_int_equal(seen->calls, 5);

	assert_int_equal(seen->closes, 0);
	csx_close(ch);
	assert_int_equal(seen->closes, 1);
	assert_ptr_equal(seen->chan, rc);
	assert_int_equal(mock_remote_live(), 0);
	/* The handle is dead: no second close, no call, version 0. */
	csx_close(ch);
	assert_int_equal(csx_call(ch, 1, NULL, 0, NULL, 0, NULL, 0),
			 -CSX_EINVAL);
	assert_int_equal(csx_chan_version(ch), 0);
	assert_int_equal(seen->closes, 1);
	assert_int_equal(seen->calls, 5);
	assert_int_equal(mock_errors(), 0);
}

static void remote_call_checks_arguments_first(void **state)
{
	static char big[CSX_CALL_MAX_PAYLOAD + 1];
	struct csx_chan *ch;
	char out[8];
	size_t len = 5;

	(void)state;
	mock_set_remote_open(0, 1);
	assert_int_equal(csx_open("kern/q", 1, &ch), 0);
	assert_int_equal(csx_call(ch, 1, NULL, 4, out, 8, &len, 0),
			 -CSX_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(csx_call(ch, 1, "abcd", 4, NULL, 8, &len, 0),
			 -CSX_EINVAL);
	assert_int_equal(csx_call(ch, 1, "abcd", 4, out, 8, &len, -2),
			 -CSX_EINVAL);
	assert_int_equal(csx_call(ch, 1, big, sizeof(big), out, 8, &len, 0),
			 -CSX_EMSGSIZE);
	assert_int_equal(csx_call(ch, 1, "a", 1, big, sizeof(big), &len, 0),
			 -CSX_EMSGSIZE);
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_call(ch, 1, "a", 1, out, 8, &len, 0),
			 -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(mock_remote_seen()->calls, 0);
	/* Exactly the limit goes through. */
	mock_set_remote_call(0, NULL, 0);
	assert_int_equal(csx_call(ch, 1, big, CSX_CALL_MAX_PAYLOAD, big,
				  CSX_CALL_MAX_PAYLOAD, &len, 0),
			 0);
	assert_int_equal(mock_remote_seen()->calls, 1);
	assert_int_equal(mock_remote_seen()->in_len, CSX_CALL_MAX_PAYLOAD);
	/* Closing where sleeping is forbidden does not close. */
	mock_set_context(CSX_OS_CTX_DPC);
	csx_close(ch);
	mock_set_context(0);
	assert_int_equal(mock_remote_seen()->closes, 0);
	csx_close(ch);
	assert_int_equal(mock_remote_seen()->closes, 1);
}

static void scopes_publish_and_open_for(void **state)
{
	struct svc_state s = { 0 };
	struct csx_service *priv, *user, *pub, *svc;
	struct csx_chan *ch;

	(void)state;
	/* Private services stay in this address space: never published. */
	assert_int_equal(csx_service_export_scope("p/priv", 1,
						  CSX_SERVICE_PRIVATE, handler,
						  &s, &priv),
			 0);
	assert_int_equal(mock_publish_seen()->publishes, 0);
	/* The default scope is USER, published with name and version. */
	assert_int_equal(csx_service_export("p/user", 3, handler, &s, &user),
			 0);
	assert_int_equal(mock_publish_seen()->publishes, 1);
	assert_string_equal(mock_publish_seen()->name, "p/user");
	assert_int_equal(mock_publish_seen()->version, 3);
	assert_int_equal(mock_publish_seen()->scope, CSX_SERVICE_USER);
	assert_int_equal(csx_service_export_scope("p/pub", 1,
						  CSX_SERVICE_PUBLIC, handler,
						  &s, &pub),
			 0);
	assert_int_equal(mock_publish_seen()->scope, CSX_SERVICE_PUBLIC);
	assert_int_equal(csx_service_export_scope("p/bad", 1,
						  (enum csx_service_scope)7,
						  handler, &s, &svc),
			 -CSX_EINVAL);
	assert_null(svc);

	/* In-process callers open every scope. */
	assert_int_equal(csx_open("p/priv", 0, &ch), 0);
	csx_close(ch);

	/* Callers from other domains: the scope decides. */
	assert_int_equal(csx__service_open_for("p/priv", 0, true, &ch),
			 -CSX_ENOENT);
	assert_null(ch);
	assert_int_equal(csx__service_open_for("p/user", 0, true, &ch), 0);
	assert_int_equal(csx_chan_version(ch), 3);
	csx_close(ch);
	assert_int_equal(csx__service_open_for("p/user", 0, false, &ch),
			 -CSX_EPERM);
	assert_int_equal(csx__service_open_for("p/user", 4, true, &ch),
			 -CSX_EPROTO);
	assert_int_equal(csx__service_open_for("p/pub", 0, false, &ch), 0);
	csx_close(ch);
	/* Never a lookup in yet another domain. */
	assert_int_equal(csx__service_open_for("p/none", 0, true, &ch),
			 -CSX_ENOENT);
	assert_int_equal(mock_remote_seen()->opens, 0);
	assert_int_equal(csx__service_open_for("bad", 0, true, &ch),
			 -CSX_EINVAL);

	/* Unexport withdraws what was published, and only that. */
	assert_int_equal(csx_service_unexport(priv), 0);
	assert_int_equal(mock_publish_seen()->withdraws, 0);
	assert_int_equal(csx_service_unexport(user), 0);
	assert_int_equal(mock_publish_seen()->withdraws, 1);
	assert_string_equal(mock_publish_seen()->name, "p/user");
	assert_int_equal(csx_service_unexport(pub), 0);
	assert_int_equal(mock_publish_seen()->withdraws, 2);
	assert_int_equal(csx__live_count(CSX__T_CHAN), 0);
}

static void publish_refused_fails_export(void **state)
{
	struct svc_state s = { 0 };
	struct csx_service *svc;
	struct csx_chan *ch;

	(void)state;
	/* Another process holds the name: the export fails, nothing left. */
	mock_set_publish_result(-CSX_EEXIST);
	assert_int_equal(csx_service_export("x/taken", 1, handler, &s, &svc),
			 -CSX_EEXIST);
	assert_null(svc);
	assert_int_equal(mock_publish_seen()->withdraws, 0);
	assert_int_equal(csx__live_count(CSX__T_SERVICE), 0);
	assert_int_equal(csx_open("x/taken", 0, &ch), -CSX_ENOENT);
	mock_set_publish_result(0);
	/* The name is free here again. */
	assert_int_equal(csx_service_export("x/taken", 1, handler, &s, &svc),
			 0);
	assert_int_equal(csx_service_unexport(svc), 0);
}

static void recovery_reissues_idempotent_calls(void **state)
{
	const struct mock_remote_seen *seen = mock_remote_seen();
	struct csx_os_rchan *first;
	unsigned long opens;
	struct csx_chan *ch;
	char out[8];
	size_t len = 0;

	(void)state;
	mock_set_remote_open(0, 3);
	mock_set_remote_idempotent(CSX_OP_BIT(2));
	assert_int_equal(csx_open("far/svc", 1, &ch), 0);
	first = seen->chan;
	assert_int_equal(seen->wait_ns, 0); /* csx_open() does not wait */

	/* The peer dies under an idempotent call: re-opened, re-issued. */
	mock_set_remote_call(0, "ok", 2);
	mock_set_remote_call_once(-CSX_EPEERDIED);
	assert_int_equal(csx_call(ch, 2, NULL, 0, out, sizeof(out), &len,
				  CSX_WAIT_FOREVER),
			 0);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "ok", 2);
	assert_int_equal(seen->opens, 2);
	assert_int_equal(seen->wait_ns,
			 CSX_CHAN_RECOVERY_DEFAULT_MS * CSX_NSEC_PER_MSEC);
	assert_int_equal(seen->calls, 2);
	assert_int_equal(seen->closes, 1); /* the dead binding */
	assert_true(seen->chan != first);
	assert_int_equal(mock_remote_live(), 1);

	/* Not idempotent: fails, and only the next call re-opens. */
	mock_set_remote_call_once(-CSX_EPEERDIED);
	assert_int_equal(csx_call(ch, 3, NULL, 0, NULL, 0, NULL, 1000000),
			 -CSX_EPEERDIED);
	assert_int_equal(seen->opens, 2);
	assert_int_equal(
		csx_call(ch, 3, NULL, 0, out, sizeof(out), &len, 1000000), 0);
	assert_int_equal(seen->opens, 3);
	/* The call's own timeout bounds the wait for the service. */
	assert_true(seen->wait_ns > 0 && seen->wait_ns <= 1000000);
	assert_int_equal(mock_remote_live(), 1);

	/*
	 * The service does not come back: the re-open is tried again
	 * through the window (mock time advances with the pauses), then
	 * -CSX_EPEERDIED, logged.
	 */
	mock_set_remote_call_once(-CSX_EPEERDIED);
	mock_set_remote_open(-CSX_ENOENT, 0);
	opens = seen->opens;
	assert_int_equal(
		csx_call(ch, 2, NULL, 0, NULL, 0, NULL, CSX_WAIT_FOREVER),
		-CSX_EPEERDIED);
	assert_true(seen->opens > opens + 2);
	assert_true(mock_log_contains("channel to far/svc: the service did "
				      "not come back"));
	csx_close(ch);
	assert_int_equal(mock_remote_live(), 0);
	assert_int_equal(csx__live_count(CSX__T_CHAN), 0);
}

struct busy_caller {
	struct csx_chan *ch;
	unsigned int calls, ok, died, other;
};

static void *busy_call_thread(void *arg)
{
	struct busy_caller *c = arg;
	unsigned int i;
	int ret;

	for (i = 0; i < c->calls; i++) {
		ret = csx_call(c->ch, 1, NULL, 0, NULL, 0, NULL,
			       CSX_WAIT_FOREVER);
		if (!ret)
			c->ok++;
		else if (ret == -CSX_EPEERDIED)
			c->died++;
		else
			c->other++;
	}
	return NULL;
}

/*
 * Calls take their use of the channel's binding without a lock: many
 * threads calling while the peer dies over and over. Every call succeeds
 * (re-issued on the re-opened channel), no call reaches a closed back-end
 * channel, each one is closed exactly once (the mock counts both), and
 * nothing leaks.
 */
static void recovery_under_concurrent_calls(void **state)
{
	const struct mock_remote_seen *seen = mock_remote_seen();
	struct busy_caller c[4];
	pthread_t th[4];
	unsigned int i, ok = 0;
	struct csx_chan *ch;

	(void)state;
	mock_set_remote_open(0, 1);
	mock_set_remote_idempotent(CSX_OP_BIT(1));
	mock_set_remote_die_after(50);
	assert_int_equal(csx_open("far/busy", 1, &ch), 0);
	for (i = 0; i < 4; i++) {
		c[i] = (struct busy_caller){ .ch = ch, .calls = 2000 };
		assert_int_equal(
			pthread_create(&th[i], NULL, busy_call_thread, &c[i]),
			0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].died, 0);
		assert_int_equal(c[i].other, 0);
		ok += c[i].ok;
	}
	assert_int_equal(ok, 8000);
	assert_int_equal(mock_remote_ok_calls(), 8000);
	/* At most 50 calls per binding: at least 160 re-opens. */
	assert_true(seen->opens >= 8000 / 50);
	assert_int_equal(mock_remote_live(), 1);
	assert_int_equal(seen->closes, seen->opens - 1);
	csx_close(ch);
	assert_int_equal(mock_remote_live(), 0);
	assert_int_equal(seen->closes, seen->opens);
	assert_int_equal(csx__live_count(CSX__T_CHAN), 0);
}

static void recovery_off_and_limits(void **state)
{
	const struct mock_remote_seen *seen = mock_remote_seen();
	struct csx_chan *ch;

	(void)state;
	/* No idempotent ops declared: no recovery by default. */
	mock_set_remote_open(0, 1);
	assert_int_equal(csx_open("far/plain", 0, &ch), 0);
	mock_set_remote_call_once(-CSX_EPEERDIED);
	assert_int_equal(csx_call(ch, 0, NULL, 0, NULL, 0, NULL, 0),
			 -CSX_EPEERDIED);
	assert_int_equal(csx_call(ch, 0, NULL, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(seen->opens, 1);
	/* Turned on by the caller: the next death re-opens. */
	assert_int_equal(csx_chan_set_recovery(ch, 100), 0);
	/* The binding is dead, and a zero timeout leaves no time to wait. */
	assert_int_equal(csx_call(ch, 0, NULL, 0, NULL, 0, NULL, 0),
			 -CSX_EPEERDIED);
	assert_int_equal(seen->opens, 1);
	mock_set_remote_call_once(-CSX_EPEERDIED);
	assert_int_equal(
		csx_call(ch, 0, NULL, 0, NULL, 0, NULL, CSX_WAIT_FOREVER),
		-CSX_EPEERDIED);
	assert_int_equal(seen->opens, 2);
	assert_int_equal(
		csx_call(ch, 0, NULL, 0, NULL, 0, NULL, CSX_WAIT_FOREVER), 0);
	assert_int_equal(seen->opens, 3);
	assert_int_equal(seen->wait_ns, 100 * CSX_NSEC_PER_MSEC);
	assert_int_equal(
		csx_chan_set_recovery(ch, CSX_CHAN_RECOVERY_MAX_MS + 1),
		-CSX_EINVAL);
	assert_int_equal(csx_chan_set_recovery(NULL, 1), -CSX_EINVAL);
	csx_close(ch);
	assert_int_equal(mock_remote_live(), 0);

	/* Export options reach the back end. */
	{
		struct csx_service_opts o = { CSX_SERVICE_PUBLIC,
					      CSX_OP_BIT(1) | CSX_OP_BIT(63) };
		struct csx_service *svc;

		assert_int_equal(csx_service_export_opts("o/p", 1, &o, handler,
							 NULL, &svc),
				 0);
		assert_int_equal(mock_publish_seen()->idempotent,
				 CSX_OP_BIT(1) | CSX_OP_BIT(63));
		assert_int_equal(mock_publish_seen()->scope,
				 CSX_SERVICE_PUBLIC);
		assert_int_equal(csx_service_unexport(svc), 0);
	}
}

static void count_watch(void *ctx)
{
	__atomic_add_fetch((int *)ctx, 1, __ATOMIC_RELAXED);
}

/*
 * A death told while its channel closes is for nobody, least of all the
 * next channel the back end allocates at the same address.
 */
static void death_during_close_is_dropped(void **state)
{
	const struct mock_remote_seen *seen = mock_remote_seen();
	struct csx_os_rchan *first;
	struct csx_chan *ch;
	int fired = 0;

	(void)state;
	mock_set_remote_open(0, 1);
	assert_int_equal(csx_open("far/a", 0, &ch), 0);
	first = seen->chan;
	mock_set_remote_gone_in_close();
	csx_close(ch);
	assert_int_equal(csx_open("far/a", 0, &ch), 0);
	assert_ptr_equal(seen->chan, first); /* the mock reuses its slot */
	/* Born alive: no re-open before the call, no watch. */
	assert_int_equal(csx_chan_set_recovery(ch, 100), 0);
	mock_set_remote_call(0, NULL, 0);
	assert_int_equal(
		csx_call(ch, 1, NULL, 0, NULL, 0, NULL, CSX_WAIT_FOREVER), 0);
	assert_int_equal(seen->opens, 2);
	assert_int_equal(csx_chan_watch(ch, count_watch, &fired), 0);
	csx_close(ch); /* runs a queued watch before it returns */
	assert_int_equal(fired, 0);
	/* The control: a death told to an open channel is its watch's. */
	assert_int_equal(csx_open("far/a", 0, &ch), 0);
	assert_int_equal(csx_chan_watch(ch, count_watch, &fired), 0);
	csx__remote_peer_gone(seen->chan);
	csx_close(ch);
	assert_int_equal(fired, 1);
	assert_int_equal(mock_remote_live(), 0);
}

static void death_during_open_is_not_lost(void **state)
{
	const struct mock_remote_seen *seen = mock_remote_seen();
	struct csx_chan *ch;

	(void)state;
	mock_set_remote_open(0, 1);
	mock_set_remote_idempotent(CSX_OP_BIT(1));
	mock_set_remote_gone_in_open();
	assert_int_equal(csx_open("far/quick", 0, &ch), 0);
	/* The channel knows: its first call re-opens before calling. */
	assert_int_equal(
		csx_call(ch, 1, NULL, 0, NULL, 0, NULL, CSX_WAIT_FOREVER), 0);
	assert_int_equal(seen->opens, 2);
	assert_int_equal(seen->calls, 1);
	/* Also when it happens to the re-opened channel. */
	mock_set_remote_call_once(-CSX_EPEERDIED);
	mock_set_remote_gone_in_open();
	assert_int_equal(
		csx_call(ch, 1, NULL, 0, NULL, 0, NULL, CSX_WAIT_FOREVER), 0);
	assert_int_equal(seen->opens, 4);
	assert_int_equal(seen->calls, 3);
	csx_close(ch);
	assert_int_equal(mock_remote_live(), 0);
}

/* In-process: the handler works on the buffer in place, any size. */
static void shbuf_local_in_place(void **state)
{
	struct svc_state st = { 0 };
	struct csx_service *svc;
	struct csx_shbuf *sb, *other;
	struct csx_chan *ch;
	size_t half, len = 0;
	unsigned char *p;

	(void)state;
	assert_int_equal(csx_service_export("test/buf", 1, handler, &st, &svc),
			 0);
	assert_int_equal(csx_open("test/buf", 1, &ch), 0);
	assert_int_equal(csx_shbuf_alloc(ch, 3 * CSX_CALL_MAX_PAYLOAD + 1, &sb),
			 0);
	/* Rounded up to pages, zero-filled, in this address space. */
	assert_int_equal(csx_shbuf_size(sb), 3 * CSX_CALL_MAX_PAYLOAD + 4096);
	p = csx_shbuf_addr(sb);
	assert_non_null(p);
	assert_int_equal(p[0] | p[csx_shbuf_size(sb) - 1], 0);
	assert_int_equal(csx__live_count(CSX__T_SHBUF), 1);

	/* Larger than a copied call may carry: the windows are the limit. */
	half = csx_shbuf_size(sb) / 2;
	for (size_t i = 0; i < half; i++)
		p[i] = (unsigned char)(i * 7);
	assert_int_equal(csx_call_shbuf(ch, OP_ECHO, sb, 0, half, half, half,
					&len, CSX_WAIT_FOREVER),
			 0);
	assert_int_equal(len, half);
	assert_memory_equal(p + half, p, half);
	assert_int_equal(st.calls, 1);
	/* Overlapping windows are the handler's business. */
	assert_int_equal(csx_call_shbuf(ch, OP_ECHO, sb, 0, 16, 0, 16, &len, 0),
			 0);
	/* The handler's response-length check still applies. */
	assert_int_equal(csx_call_shbuf(ch, OP_LIE, sb, 0, 0, 0, 8, &len, 0),
			 -CSX_EOVERFLOW);
	assert_int_equal(len, 0);

	/* Windows outside the buffer, also by overflow, are refused. */
	assert_int_equal(
		csx_call_shbuf(ch, OP_ECHO, sb, half, half + 1, 0, 0, &len, 0),
		-CSX_EINVAL);
	assert_int_equal(
		csx_call_shbuf(ch, OP_ECHO, sb, 0, 0, SIZE_MAX, 2, &len, 0),
		-CSX_EINVAL);
	assert_int_equal(
		csx_call_shbuf(ch, OP_ECHO, sb, 1, SIZE_MAX, 0, 0, &len, 0),
		-CSX_EINVAL);
	assert_true(mock_log_contains("outside the"));
	assert_int_equal(csx_call_shbuf(ch, OP_ECHO, NULL, 0, 0, 0, 0, &len, 0),
			 -CSX_EINVAL);
	assert_int_equal(csx_call_shbuf(ch, OP_ECHO, sb, 0, 0, 0, 0, &len, -5),
			 -CSX_EINVAL);
	assert_int_equal(st.calls, 3);

	/* Bad sizes. */
	assert_int_equal(csx_shbuf_alloc(ch, 0, &other), -CSX_EINVAL);
	assert_int_equal(csx_shbuf_alloc(ch, CSX_SHBUF_MAX + 1, &other),
			 -CSX_EMSGSIZE);
	assert_int_equal(csx_shbuf_alloc(NULL, 4096, &other), -CSX_EINVAL);
	assert_int_equal(csx_shbuf_alloc(ch, 4096, NULL), -CSX_EINVAL);
	mock_set_shbuf_alloc(-CSX_ENOMEM);
	assert_int_equal(csx_shbuf_alloc(ch, 4096, &other), -CSX_ENOMEM);
	assert_null(other);
	mock_set_shbuf_alloc(0);

	/* The buffer outlives its channel. */
	csx_close(ch);
	p[0] = 1;
	assert_int_equal(csx_shbuf_free(sb), 0);
	assert_int_equal(csx__live_count(CSX__T_SHBUF), 0);
	/* A freed handle is refused, and freeing NULL is nothing. */
	assert_int_equal(csx_shbuf_free(sb), -CSX_EINVAL);
	assert_null(csx_shbuf_addr(sb));
	assert_int_equal(csx_shbuf_size(sb), 0);
	assert_int_equal(csx_shbuf_free(NULL), 0);
	assert_int_equal(csx_service_unexport(svc), 0);
}

struct shbuf_call {
	struct csx_chan *ch;
	struct csx_shbuf *sb;
	int ret;
};

static void *shbuf_call_thread(void *arg)
{
	struct shbuf_call *c = arg;

	c->ret = csx_call_shbuf(c->ch, OP_BLOCK, c->sb, 0, 0, 0, 0, NULL,
				CSX_WAIT_FOREVER);
	return NULL;
}

/* A buffer in use by a call cannot be freed. */
static void shbuf_free_refused_while_in_use(void **state)
{
	struct svc_state st = { 0 };
	struct shbuf_call c = { 0 };
	struct csx_service *svc;
	pthread_t t;

	(void)state;
	assert_int_equal(csx_service_export("test/busy", 1, handler, &st, &svc),
			 0);
	assert_int_equal(csx_open("test/busy", 1, &c.ch), 0);
	assert_int_equal(csx_shbuf_alloc(c.ch, 4096, &c.sb), 0);
	assert_int_equal(pthread_create(&t, NULL, shbuf_call_thread, &c), 0);
	while (!__atomic_load_n(&st.entered, __ATOMIC_ACQUIRE))
		sched_yield();
	assert_int_equal(csx_shbuf_free(c.sb), -CSX_EBUSY);
	assert_true(mock_log_contains("in progress"));
	/* Still a good buffer. */
	assert_non_null(csx_shbuf_addr(c.sb));
	__atomic_store_n(&st.release, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.ret, 0);
	assert_int_equal(csx_shbuf_free(c.sb), 0);
	csx_close(c.ch);
	assert_int_equal(csx_service_unexport(svc), 0);
}

/* Remote: the back end gets the buffer and the offsets, not pointers. */
static void shbuf_remote_passes_handle(void **state)
{
	const struct mock_remote_seen *seen = mock_remote_seen();
	struct svc_state st = { 0 };
	struct csx_shbuf *sb, *local;
	struct csx_service *svc;
	struct csx_chan *ch, *lch;
	char *p;
	size_t len = 0;

	(void)state;
	mock_set_remote_open(0, 1);
	mock_set_remote_idempotent(CSX_OP_BIT(5));
	assert_int_equal(csx_open("far/buf", 1, &ch), 0);
	assert_int_equal(csx_shbuf_alloc(ch, 8192, &sb), 0);
	p = csx_shbuf_addr(sb);
	memcpy(p, "request", 7);
	mock_set_remote_call(0, "answer", 6);
	assert_int_equal(
		csx_call_shbuf(ch, 5, sb, 0, 7, 4096, 4096, &len, 1000000), 0);
	assert_non_null(seen->shbuf);
	assert_int_equal(seen->in_off, 0);
	assert_int_equal(seen->out_off, 4096);
	assert_int_equal(seen->in_len, 7);
	assert_int_equal(seen->out_cap, 4096);
	assert_int_equal(len, 6);
	assert_memory_equal(p + 4096, "answer", 6);

	/* A pending idempotent call is re-issued with the same buffer. */
	mock_set_remote_call_once(-CSX_EPEERDIED);
	assert_int_equal(csx_call_shbuf(ch, 5, sb, 0, 7, 4096, 4096, &len,
					CSX_WAIT_FOREVER),
			 0);
	assert_int_equal(seen->opens, 2);
	assert_int_equal(len, 6);

	/* A buffer made for an in-process service is refused remotely. */
	assert_int_equal(csx_service_export("test/loc", 1, handler, &st, &svc),
			 0);
	assert_int_equal(csx_open("test/loc", 1, &lch), 0);
	assert_int_equal(csx_shbuf_alloc(lch, 4096, &local), 0);
	assert_int_equal(csx_call_shbuf(ch, 5, local, 0, 0, 0, 0, &len, 0),
			 -CSX_EINVAL);
	/* But any buffer works in-process. */
	memcpy(p, "xy", 2);
	assert_int_equal(
		csx_call_shbuf(lch, OP_ECHO, sb, 0, 2, 100, 2, &len, 0), 0);
	assert_memory_equal(p + 100, "xy", 2);
	assert_int_equal(csx_shbuf_free(local), 0);
	assert_int_equal(csx_shbuf_free(sb), 0);
	csx_close(lch);
	csx_close(ch);
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(mock_shbuf_live(), 0);
}

static void shbuf_async_done(void *ctx, int status, size_t out_len)
{
	int *res = ctx;

	res[0] = status;
	res[1] = (int)out_len;
	__atomic_store_n(&res[2], 1, __ATOMIC_RELEASE);
}

/* Asynchronous: the buffer counts as in use until the completion. */
static void shbuf_async(void **state)
{
	struct svc_state st = { 0 };
	struct csx_service *svc;
	struct csx_shbuf *sb;
	struct csx_chan *ch;
	int res[3] = { 0 };
	char *p;

	(void)state;
	assert_int_equal(csx_service_export("test/abuf", 1, handler, &st, &svc),
			 0);
	assert_int_equal(csx_open("test/abuf", 1, &ch), 0);
	assert_int_equal(csx_shbuf_alloc(ch, 4096, &sb), 0);
	p = csx_shbuf_addr(sb);
	memcpy(p, "async", 5);
	assert_int_equal(csx_call_shbuf_async(ch, OP_ECHO, sb, 0, 5, 2048, 16,
					      CSX_WAIT_FOREVER, NULL, NULL),
			 -CSX_EINVAL);
	assert_int_equal(csx_call_shbuf_async(ch, OP_ECHO, sb, 4000, 200, 0, 0,
					      CSX_WAIT_FOREVER,
					      shbuf_async_done, res),
			 -CSX_EINVAL);
	assert_int_equal(csx_call_shbuf_async(ch, OP_ECHO, sb, 0, 5, 2048, 16,
					      CSX_WAIT_FOREVER,
					      shbuf_async_done, res),
			 0);
	while (!__atomic_load_n(&res[2], __ATOMIC_ACQUIRE))
		sched_yield();
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 5);
	assert_memory_equal(p + 2048, "async", 5);
	csx_close(ch);
	assert_int_equal(csx_shbuf_free(sb), 0);
	assert_int_equal(csx_service_unexport(svc), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(export_open_call_close),
		UNIT_TEST(open_checks_name_and_version),
		UNIT_TEST(name_rules),
		UNIT_TEST(call_arguments_and_limits),
		UNIT_TEST(unexport_with_open_channel),
		UNIT_TEST(unexport_waits_for_inflight_calls),
		UNIT_TEST(registry_without_memory),
		UNIT_TEST(remote_only_when_local_misses),
		UNIT_TEST(remote_open_errors),
		UNIT_TEST(remote_call_version_close),
		UNIT_TEST(remote_call_checks_arguments_first),
		UNIT_TEST(scopes_publish_and_open_for),
		UNIT_TEST(publish_refused_fails_export),
		UNIT_TEST(recovery_reissues_idempotent_calls),
		UNIT_TEST(recovery_under_concurrent_calls),
		UNIT_TEST(recovery_off_and_limits),
		UNIT_TEST(death_during_open_is_not_lost),
		UNIT_TEST(death_during_close_is_dropped),
		UNIT_TEST(shbuf_local_in_place),
		UNIT_TEST(shbuf_free_refused_while_in_use),
		UNIT_TEST(shbuf_remote_passes_handle),
		UNIT_TEST(shbuf_async),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
