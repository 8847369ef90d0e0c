// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * kh_upcall_client.ko: a kernel caller of services that user processes
 * export through the kernel helper (kernel → user calls), for the VM tests
 * kh_abi_test and kh_fuzz. A plain Linux module on csx.ko's API
 * (csx_open/csx_call/csx_call_async/csx_close): the code path under test
 * is csx.ko's remote back end and the helper, not a CSX driver.
 *
 * Driven through /sys/module/kh_upcall_client/parameters/ (KUC_SYSFS):
 *   svc, op, calls, len, cap, timeout_ms, threads, minver, expect,
 *   expect_open, check, async   what the next command does
 *   run (write)    "batch": each of @threads kthreads opens @svc, makes
 *                  @calls calls, closes (@threads 0: the writing task
 *                  itself, which SIGKILL can then end); "open": open @svc
 *                  as the held channel; "call": @threads kthreads (0: the
 *                  writer) make @calls calls each on the held channel;
 *                  "watch": csx_chan_watch() it; "close": close it
 *   result (read)  the last command's outcome, one line
 *   watch_fired (read)  how many times the held channel's watch function
 *                  ran since the last "watch" (csx.ko runs it in a worker,
 *                  so the test programs poll)
 * A command's write returns when it is done: 0 if every open returned
 * @expect_open and every call @expect (and, when 0, passed @check), else
 * EIO, with details in result. @len -1 sweeps lengths 0 B..1 MiB over the
 * calls; @cap -1 is each call's length, -2 CSX_CALL_MAX_PAYLOAD.
 *
 * Shared buffers: "sbcall" calls the held channel with the payloads in a
 * shared buffer (@sb_size, @sb_in_off, @sb_out_off; kept across commands
 * until "sbfree" frees it; one per @sb_slot, 0..15), "sbkind" checks that a buffer made for an
 * in-process service is refused on it. The module also exports the
 * kernel service KUC_SB_SVC for processes' SVC_CALL_SHBUF.
 *
 * bg=1 at load: @bg_threads kthreads keep calling @bg_svc with random
 * operations, lengths and short timeouts (a quarter of the channels also
 * with shared buffers, freed before or after the channel's close) until
 * unload (for the fuzzer, whose replies are hostile: nothing is checked
 * but lengths), then log
 * "kh_upcall_client: background: ..." with the statuses seen.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include <csx/csx_service.h>
#include <csx/csx_status.h>

#include "kh_upcall_test.h"

#define KUC_MAX_THREADS 32
#define KUC_MAX_BG 8
#define KUC_BUF_MAX (CSX_CALL_MAX_PAYLOAD + 1)

static char kuc_svc[CSX_SERVICE_NAME_MAX] = "kt/echo";
module_param_string(svc, kuc_svc, sizeof(kuc_svc), 0644);
static uint kuc_op = KUC_OP_ECHO;
module_param_named(op, kuc_op, uint, 0644);
static uint kuc_calls = 1;
module_param_named(calls, kuc_calls, uint, 0644);
static int kuc_len = 16;
module_param_named(len, kuc_len, int, 0644);
static int kuc_cap = -1;
module_param_named(cap, kuc_cap, int, 0644);
static int kuc_timeout_ms = 10000;
module_param_named(timeout_ms, kuc_timeout_ms, int, 0644);
static uint kuc_threads = 1;
module_param_named(threads, kuc_threads, uint, 0644);
static uint kuc_minver;
module_param_named(minver, kuc_minver, uint, 0644);
static int kuc_expect;
module_param_named(expect, kuc_expect, int, 0644);
static int kuc_expect_open;
module_param_named(expect_open, kuc_expect_open, int, 0644);
static uint kuc_check = KUC_CHECK_ECHO;
module_param_named(check, kuc_check, uint, 0644);
static bool kuc_async;
module_param_named(async, kuc_async, bool, 0644);
static uint kuc_sb_size = 1 << 20;
module_param_named(sb_size, kuc_sb_size, uint, 0644);
static uint kuc_sb_in_off;
module_param_named(sb_in_off, kuc_sb_in_off, uint, 0644);
static uint kuc_sb_out_off;
module_param_named(sb_out_off, kuc_sb_out_off, uint, 0644);
static uint kuc_sb_slot;
module_param_named(sb_slot, kuc_sb_slot, uint, 0644);
static char kuc_result[256] = "none";
module_param_string(result, kuc_result, sizeof(kuc_result), 0444);
static int kuc_watch_fired;
module_param_named(watch_fired, kuc_watch_fired, int, 0444);

static bool kuc_bg;
module_param_named(bg, kuc_bg, bool, 0444);
static char kuc_bg_svc[CSX_SERVICE_NAME_MAX] = "fuzz/up";
module_param_string(bg_svc, kuc_bg_svc, sizeof(kuc_bg_svc), 0444);
static uint kuc_bg_threads = 2;
module_param_named(bg_threads, kuc_bg_threads, uint, 0444);

/* Commands run under the module's parameter lock: one at a time. */
static struct csx_chan *kuc_chan;
#define KUC_SB_SLOTS 16
/* "sbcall"'s, one per @sb_slot, until "sbfree" of the slot. */
static struct csx_shbuf *kuc_sbs[KUC_SB_SLOTS];
static struct csx_service *kuc_sb_svc;
static bool kuc_ready;

static const size_t kuc_sweep[] = {
	0,
	1,
	7,
	255,
	256,
	257,
	4095,
	4096,
	65536,
	65537,
	CSX_CALL_MAX_PAYLOAD - 1,
	CSX_CALL_MAX_PAYLOAD,
};

/* One command's settings (a snapshot of the parameters) and results. */
struct kuc_run {
	struct csx_chan *chan; /* "call": shared; "batch": NULL */
	char svc[CSX_SERVICE_NAME_MAX];
	u32 op, calls, minver, check;
	int len, cap, expect, expect_open;
	s64 timeout_ns;
	bool async;
	spinlock_t lock; /* the results below */
	unsigned int made, bad;
	int first_bad, first_bad_call, open_status;
	u64 max_ns;
};

struct kuc_thread {
	struct kuc_run *run;
	unsigned int idx;
	struct completion done;
	u8 *in, *out;
};

struct kuc_async {
	struct completion done;
	int status;
	size_t len;
};

static size_t kuc_len_of(const struct kuc_run *r, unsigned int i)
{
	return r->len < 0 ? kuc_sweep[i % ARRAY_SIZE(kuc_sweep)] : r->len;
}

static size_t kuc_cap_of(const struct kuc_run *r, size_t len)
{
	if (r->cap == -1)
		return len;
	return r->cap == -2 ? CSX_CALL_MAX_PAYLOAD : r->cap;
}

static bool kuc_answer_ok(const struct kuc_run *r, const u8 *in, size_t len,
			  const u8 *out, size_t cap, size_t out_len)
{
	const struct kuc_info *info = (const void *)out;

	switch (r->check) {
	case KUC_CHECK_ECHO:
		return out_len == len && (!len || !memcmp(out, in, len));
	case KUC_CHECK_INFO:
		return out_len == sizeof(*info) && info->op == r->op &&
		       info->req_len == len && info->out_cap == cap;
	case KUC_CHECK_EMPTY:
		return out_len == 0;
	default:
		return true;
	}
}

static void kuc_record(struct kuc_run *r, int status, int call, bool ok, u64 ns)
{
	spin_lock(&r->lock);
	if (call >= 0)
		r->made++;
	if (!ok && !r->bad++) {
		r->first_bad = status;
		r->first_bad_call = call;
	}
	if (ns > r->max_ns)
		r->max_ns = ns;
	spin_unlock(&r->lock);
}

static void kuc_async_done(void *ctx, int status, size_t out_len)
{
	struct kuc_async *a = ctx;

	a->status = status;
	a->len = out_len;
	complete(&a->done);
}

static void kuc_one(struct kuc_thread *t, struct csx_chan *chan, unsigned int i)
{
	struct kuc_run *r = t->run;
	size_t len = kuc_len_of(r, i), cap = kuc_cap_of(r, len), out_len = 0;
	u8 seed = (u8)(t->idx * 61 + i * 7 + 1);
	struct kuc_async a;
	ktime_t t0;
	size_t j;
	bool ok;
	int ret;

	for (j = 0; j < len; j++)
		t->in[j] = (u8)(j * 131 + seed + (j >> 12));
	if (cap)
		memset(t->out, 0x5a, cap);
	t0 = ktime_get();
	if (r->async) {
		init_completion(&a.done);
		ret = csx_call_async(chan, r->op, len ? t->in : NULL, len,
				     cap ? t->out : NULL, cap, r->timeout_ns,
				     kuc_async_done, &a);
		if (!ret) {
			wait_for_completion(&a.done);
			ret = a.status;
			out_len = a.len;
		}
	} else {
		ret = csx_call(chan, r->op, len ? t->in : NULL, len,
			       cap ? t->out : NULL, cap, &out_len,
			       r->timeout_ns);
	}
	ok = ret == r->expect;
	if (ok && !ret)
		ok = kuc_answer_ok(r, t->in, len, t->out, cap, out_len);
	if (!ok)
		pr_info("kh_upcall_client: %s call %u (thread %u, %zu B, cap %zu): status %d out_len %zu, expected %d\n",
			r->svc, i, t->idx, len, cap, ret, out_len, r->expect);
	kuc_record(r, ret, i, ok, ktime_to_ns(ktime_sub(ktime_get(), t0)));
}

static void kuc_thread_body(struct kuc_thread *t)
{
	struct kuc_run *r = t->run;
	struct csx_chan *chan = r->chan;
	unsigned int i;
	int ret;

	if (!chan) {
		ret = csx_open(r->svc, r->minver, &chan);
		spin_lock(&r->lock);
		r->open_status = ret;
		spin_unlock(&r->lock);
		if (ret != r->expect_open)
			kuc_record(r, ret, -1, false, 0);
		if (ret)
			goto out;
		if (r->expect_open)
			goto out_close;
	}
	for (i = 0; i < r->calls; i++)
		kuc_one(t, chan, i);
out_close:
	if (!r->chan)
		csx_close(chan);
out:
	return;
}

static int kuc_thread_fn(void *arg)
{
	struct kuc_thread *t = arg;

	kuc_thread_body(t);
	/* Never returns into this module's text once the waiter may go. */
	kthread_complete_and_exit(&t->done, 0);
}

static void kuc_thread_free(struct kuc_thread *t)
{
	if (!t)
		return;
	kvfree(t->in);
	kvfree(t->out);
	kfree(t);
}

/* "batch" (@chan NULL: each thread opens its own) or "call" (@chan). */
static int kuc_batch(struct csx_chan *chan)
{
	unsigned int n = clamp_t(unsigned int, kuc_threads, 1, KUC_MAX_THREADS);
	bool direct = !kuc_threads;
	struct kuc_thread *t[KUC_MAX_THREADS] = { NULL };
	size_t in_max, cap_max;
	struct task_struct *task;
	struct kuc_run *r;
	unsigned int i;
	int ret = 0;

	if (kuc_len > (int)KUC_BUF_MAX || kuc_len < -1 ||
	    kuc_cap > (int)KUC_BUF_MAX || kuc_cap < -2)
		return -EINVAL;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	spin_lock_init(&r->lock);
	r->chan = chan;
	strscpy(r->svc, kuc_svc, sizeof(r->svc));
	r->op = kuc_op;
	r->calls = kuc_calls;
	r->minver = kuc_minver;
	r->check = kuc_check;
	r->len = kuc_len;
	r->cap = kuc_cap;
	r->expect = kuc_expect;
	r->expect_open = kuc_expect_open;
	r->async = kuc_async;
	r->timeout_ns = kuc_timeout_ms < 0 ? CSX_WAIT_FOREVER :
					     kuc_timeout_ms * NSEC_PER_MSEC;
	in_max = kuc_len < 0 ? CSX_CALL_MAX_PAYLOAD : kuc_len;
	cap_max = kuc_cap < 0 ? CSX_CALL_MAX_PAYLOAD : kuc_cap;
	if (kuc_cap == -1)
		cap_max = max(cap_max, in_max);

	for (i = 0; i < n; i++) {
		t[i] = kzalloc(sizeof(*t[i]), GFP_KERNEL);
		if (!t[i])
			goto err_nomem;
		t[i]->in = kvmalloc(max_t(size_t, in_max, 1), GFP_KERNEL);
		t[i]->out = kvmalloc(max_t(size_t, cap_max, 1), GFP_KERNEL);
		if (!t[i]->in || !t[i]->out)
			goto err_nomem;
		t[i]->run = r;
		t[i]->idx = i;
		init_completion(&t[i]->done);
	}
	for (i = 0; direct && i < n; i++) {
		kuc_thread_body(t[i]);
		complete(&t[i]->done);
	}
	for (i = 0; !direct && i < n; i++) {
		task = kthread_run(kuc_thread_fn, t[i], "kuc/%u", i);
		if (IS_ERR(task)) {
			kuc_record(r, PTR_ERR(task), -1, false, 0);
			complete(&t[i]->done);
		}
	}
	for (i = 0; i < n; i++)
		wait_for_completion(&t[i]->done);

	snprintf(kuc_result, sizeof(kuc_result),
		 "calls %u bad %u first_bad %d at %d open %d max_us %llu\n",
		 r->made, r->bad, r->first_bad, r->first_bad_call,
		 r->open_status, r->max_ns / NSEC_PER_USEC);
	if (r->bad)
		ret = -EIO;
	goto out;

err_nomem:
	snprintf(kuc_result, sizeof(kuc_result), "out of memory\n");
	ret = -ENOMEM;
out:
	for (i = 0; i < n; i++)
		kuc_thread_free(t[i]);
	kfree(r);
	return ret;
}

/* Counts rather than flags: "fired once" is part of the contract. */
static void kuc_watch_fn(void *ctx)
{
	WRITE_ONCE(kuc_watch_fired, READ_ONCE(kuc_watch_fired) + 1);
}

/* ---- Shared buffers ----------------------------------------------------------- */

/* KUC_SB_SVC's handler: in place, on whatever windows it is given. */
static int kuc_sb_handler(void *ctx, uint32_t op, const void *in, size_t in_len,
			  void *out, size_t out_cap, size_t *out_len)
{
	size_t n = min(in_len, out_cap), i;
	struct kuc_sb_sum sum = { 0 };
	const u8 *src = in;
	u8 *dst = out;

	switch (op & 0xff) {
	case KUC_SB_SLOW:
		msleep(min(op >> 8, 5000u));
		fallthrough;
	case KUC_SB_ECHO:
		if (n)
			memmove(dst, src, n);
		*out_len = n;
		return 0;
	case KUC_SB_INVERT:
		for (i = 0; i < n; i++)
			dst[i] = ~src[i];
		*out_len = n;
		return 0;
	case KUC_SB_SUM:
		if (out_cap < sizeof(sum))
			return -CSX_EMSGSIZE;
		for (i = 0; i < in_len; i++)
			sum.sum += src[i];
		sum.len = in_len;
		memcpy(dst, &sum, sizeof(sum));
		*out_len = sizeof(sum);
		return 0;
	default:
		return -CSX_EOPNOTSUPP;
	}
}

static bool kuc_sb_answer_ok(u8 *p, size_t size, const u8 *pat, size_t len,
			     size_t cap, size_t out_len)
{
	const struct kuc_sb_info *info = (const void *)(p + kuc_sb_out_off);

	switch (kuc_check) {
	case KUC_CHECK_ECHO:
		return out_len == len &&
		       (!len || !memcmp(p + kuc_sb_out_off, pat, len));
	case KUC_CHECK_INFO:
		return out_len == sizeof(*info) && info->op == kuc_op &&
		       info->buf_len == size && info->in_off == kuc_sb_in_off &&
		       info->out_off == kuc_sb_out_off &&
		       info->req_len == len && info->out_cap == cap;
	case KUC_CHECK_EMPTY:
		return out_len == 0;
	default:
		return true;
	}
}

/*
 * "sbcall": @calls calls of @op on the held channel with the payloads in
 * the module's shared buffer (allocated on the channel by the first
 * "sbcall", kept until "sbfree"). Windows outside the buffer are passed
 * as they are (@expect says what the core must answer).
 */
static int kuc_sbcall(void)
{
	size_t len = kuc_len, cap = kuc_cap == -1 ? len : kuc_cap;
	size_t size, out_len = 0, j;
	unsigned int i, bad = 0;
	int ret = 0, first_bad = 0;
	struct csx_shbuf **sbp;
	bool inside;
	u8 *p, *pat;

	if (!kuc_chan)
		return -ENOTCONN;
	if (kuc_len < 0 || kuc_cap < -1 || kuc_sb_slot >= KUC_SB_SLOTS)
		return -EINVAL;
	sbp = &kuc_sbs[kuc_sb_slot];
	if (!*sbp) {
		ret = csx_shbuf_alloc(kuc_chan, kuc_sb_size, sbp);
		if (ret) {
			*sbp = NULL;
			snprintf(kuc_result, sizeof(kuc_result),
				 "shbuf_alloc %d\n", ret);
			return -EIO;
		}
	}
	p = csx_shbuf_addr(*sbp);
	size = csx_shbuf_size(*sbp);
	inside = kuc_sb_in_off <= size && len <= size - kuc_sb_in_off;
	pat = kvmalloc(max_t(size_t, len, 1), GFP_KERNEL);
	if (!pat)
		return -ENOMEM;
	for (i = 0; i < kuc_calls; i++) {
		for (j = 0; inside && j < len; j++)
			pat[j] = (u8)(j * 131 + i * 7 + 1 + (j >> 12));
		if (inside)
			memcpy(p + kuc_sb_in_off, pat, len);
		out_len = 0;
		ret = csx_call_shbuf(kuc_chan, kuc_op, *sbp, kuc_sb_in_off, len,
				     kuc_sb_out_off, cap, &out_len,
				     kuc_timeout_ms < 0 ?
					     CSX_WAIT_FOREVER :
					     kuc_timeout_ms * NSEC_PER_MSEC);
		if (ret != kuc_expect ||
		    (!ret &&
		     !kuc_sb_answer_ok(p, size, pat, len, cap, out_len))) {
			if (!bad++)
				first_bad = ret;
			pr_info("kh_upcall_client: sbcall %u (%zu B at %u, cap %zu at %u): status %d out_len %zu, expected %d\n",
				i, len, kuc_sb_in_off, cap, kuc_sb_out_off, ret,
				out_len, kuc_expect);
		}
	}
	kvfree(pat);
	snprintf(kuc_result, sizeof(kuc_result),
		 "sbcalls %u bad %u first_bad %d size %zu out_len %zu\n",
		 kuc_calls, bad, first_bad, size, out_len);
	return bad ? -EIO : 0;
}

/*
 * "sbkind": a buffer made for an in-process service (KUC_SB_SVC) works
 * there, in place, and is refused (-CSX_EINVAL) on the held channel to a
 * process, which could not map it.
 */
static int kuc_sbkind(void)
{
	struct csx_shbuf *sb;
	struct csx_chan *local;
	size_t out_len = 0;
	int ret, remote = 0;
	u8 *p;

	if (!kuc_chan)
		return -ENOTCONN;
	ret = csx_open(KUC_SB_SVC, 0, &local);
	if (ret)
		goto out;
	ret = csx_shbuf_alloc(local, 5000, &sb);
	if (ret)
		goto out_close;
	p = csx_shbuf_addr(sb);
	memset(p, 0x3c, 100);
	ret = csx_call_shbuf(local, KUC_SB_INVERT, sb, 0, 100, 4096, 100,
			     &out_len, CSX_WAIT_FOREVER);
	if (!ret && (csx_shbuf_size(sb) != 8192 || out_len != 100 ||
		     p[4096] != 0xc3 || p[4195] != 0xc3))
		ret = -EBADMSG;
	if (!ret)
		remote = csx_call_shbuf(kuc_chan, KUC_OP_ECHO, sb, 0, 16, 0, 16,
					&out_len, CSX_WAIT_FOREVER);
	csx_shbuf_free(sb);
out_close:
	csx_close(local);
out:
	snprintf(kuc_result, sizeof(kuc_result), "sbkind local %d remote %d\n",
		 ret, remote);
	return !ret && remote == -CSX_EINVAL ? 0 : -EIO;
}

static int kuc_run_set(const char *val, const struct kernel_param *kp)
{
	char cmd[16];
	int ret;

	if (!READ_ONCE(kuc_ready))
		return -EAGAIN; /* not at load time: init has not run */
	strscpy(cmd, val, sizeof(cmd));
	strim(cmd);
	if (!strcmp(cmd, "batch"))
		return kuc_batch(NULL);
	if (!strcmp(cmd, "call"))
		return kuc_chan ? kuc_batch(kuc_chan) : -ENOTCONN;
	if (!strcmp(cmd, "open")) {
		if (kuc_chan)
			return -EBUSY;
		ret = csx_open(kuc_svc, kuc_minver, &kuc_chan);
		snprintf(kuc_result, sizeof(kuc_result), "open %d\n", ret);
		if (ret)
			kuc_chan = NULL;
		return ret == kuc_expect_open ? 0 : -EIO;
	}
	if (!strcmp(cmd, "watch")) {
		if (!kuc_chan)
			return -ENOTCONN;
		WRITE_ONCE(kuc_watch_fired, 0);
		ret = csx_chan_watch(kuc_chan, kuc_watch_fn, NULL);
		snprintf(kuc_result, sizeof(kuc_result), "watch %d\n", ret);
		return ret ? -EIO : 0;
	}
	if (!strcmp(cmd, "sbcall"))
		return kuc_sbcall();
	if (!strcmp(cmd, "sbkind"))
		return kuc_sbkind();
	if (!strcmp(cmd, "sbfree")) {
		if (kuc_sb_slot >= KUC_SB_SLOTS || !kuc_sbs[kuc_sb_slot])
			return -ENOENT;
		ret = csx_shbuf_free(kuc_sbs[kuc_sb_slot]);
		snprintf(kuc_result, sizeof(kuc_result), "sbfree %d\n", ret);
		kuc_sbs[kuc_sb_slot] = NULL;
		return ret ? -EIO : 0;
	}
	if (!strcmp(cmd, "close")) {
		if (!kuc_chan)
			return -ENOTCONN;
		csx_close(kuc_chan);
		kuc_chan = NULL;
		snprintf(kuc_result, sizeof(kuc_result), "closed\n");
		return 0;
	}
	return -EINVAL;
}

static const struct kernel_param_ops kuc_run_ops = {
	.set = kuc_run_set,
};
module_param_cb(run, &kuc_run_ops, NULL, 0200);

/* ---- Background callers (kh_fuzz) ------------------------------------------ */

struct kuc_bg_thread {
	struct task_struct *task;
	u8 *in, *out;
	u64 calls, ok, timedout, peerdied, eio, other, refused, badlen;
};

static struct kuc_bg_thread kuc_bgs[KUC_MAX_BG];
static unsigned int kuc_nbg;

static size_t kuc_bg_len(void)
{
	u32 r = get_random_u32_below(100);

	if (r < 70)
		return get_random_u32_below(513);
	if (r < 90)
		return get_random_u32_below(65537);
	return kuc_sweep[get_random_u32_below(ARRAY_SIZE(kuc_sweep))];
}

static s64 kuc_bg_timeout(void)
{
	static const s64 ms[] = { 0, 1, 5, 20, 100, 1000 };

	if (!get_random_u32_below(32))
		return CSX_WAIT_FOREVER;
	return ms[get_random_u32_below(ARRAY_SIZE(ms))] * NSEC_PER_MSEC;
}

static void kuc_bg_count(struct kuc_bg_thread *b, int ret, size_t out_len,
			 size_t cap)
{
	b->calls++;
	if (out_len > cap)
		b->badlen++;
	switch (ret) {
	case 0:
		b->ok++;
		break;
	case -CSX_ETIMEDOUT:
		b->timedout++;
		break;
	case -CSX_EPEERDIED:
		b->peerdied++;
		break;
	case -CSX_EIO:
		b->eio++;
		break;
	default:
		b->other++;
	}
}

/* A shared-buffer call with random windows inside @sb; sets @cap. */
static int kuc_bg_sbcall(struct csx_chan *chan, struct csx_shbuf *sb,
			 size_t *cap, size_t *out_len)
{
	size_t size = csx_shbuf_size(sb);
	u32 in_off = get_random_u32_below(size + 1);
	u32 out_off = get_random_u32_below(size + 1);
	u32 in_len = get_random_u32_below(size - in_off + 1);

	*cap = get_random_u32_below(size - out_off + 1);
	memset(csx_shbuf_addr(sb), 0x5c, min_t(size_t, size, 64));
	return csx_call_shbuf(chan, get_random_u32(), sb, in_off, in_len,
			      out_off, *cap, out_len, kuc_bg_timeout());
}

static int kuc_bg_fn(void *arg)
{
	struct kuc_bg_thread *b = arg;
	struct csx_shbuf *sb;
	struct csx_chan *chan;
	size_t len, cap, out_len;
	unsigned int i, n;
	int ret;

	while (!kthread_should_stop()) {
		ret = csx_open(kuc_bg_svc, 0, &chan);
		if (ret) {
			b->refused++;
			msleep(5);
			continue;
		}
		n = 1 + get_random_u32_below(64);
		/* A quarter of the channels pass shared buffers too. */
		sb = NULL;
		if (!get_random_u32_below(4) &&
		    csx_shbuf_alloc(chan, 1 + get_random_u32_below(1u << 18),
				    &sb))
			sb = NULL;
		for (i = 0; i < n && !kthread_should_stop(); i++) {
			len = kuc_bg_len();
			cap = kuc_bg_len();
			out_len = 0;
			if (sb && get_random_u32_below(2)) {
				ret = kuc_bg_sbcall(chan, sb, &cap, &out_len);
			} else {
				memset(b->in, (int)i, min_t(size_t, len, 64));
				ret = csx_call(chan, get_random_u32(),
					       len ? b->in : NULL, len,
					       cap ? b->out : NULL, cap,
					       &out_len, kuc_bg_timeout());
			}
			kuc_bg_count(b, ret, out_len, cap);
			if (ret == -CSX_EPEERDIED)
				break; /* this channel stays dead: reopen */
		}
		/* Before or after the close: the buffer outlives its channel. */
		if (sb && get_random_u32_below(2)) {
			csx_shbuf_free(sb);
			sb = NULL;
		}
		csx_close(chan);
		csx_shbuf_free(sb);
	}
	return 0;
}

static void kuc_bg_stop(void)
{
	struct kuc_bg_thread *b;
	u64 s[8] = { 0 };
	unsigned int i;

	for (i = 0; i < kuc_nbg; i++) {
		b = &kuc_bgs[i];
		if (b->task)
			kthread_stop(b->task);
		s[0] += b->calls;
		s[1] += b->ok;
		s[2] += b->timedout;
		s[3] += b->peerdied;
		s[4] += b->eio;
		s[5] += b->other;
		s[6] += b->refused;
		s[7] += b->badlen;
		kvfree(b->in);
		kvfree(b->out);
	}
	if (kuc_nbg)
		pr_info("kh_upcall_client: background: %llu calls, %llu ok, %llu timed out, %llu peer died, %llu EIO, %llu other statuses, %llu opens refused, %llu bad lengths\n",
			s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
	kuc_nbg = 0;
}

static int kuc_bg_start(void)
{
	unsigned int n = clamp_t(unsigned int, kuc_bg_threads, 1, KUC_MAX_BG);
	struct kuc_bg_thread *b;
	unsigned int i;

	for (i = 0; i < n; i++) {
		b = &kuc_bgs[i];
		kuc_nbg++;
		b->in = kvmalloc(CSX_CALL_MAX_PAYLOAD, GFP_KERNEL);
		b->out = kvmalloc(CSX_CALL_MAX_PAYLOAD, GFP_KERNEL);
		if (!b->in || !b->out)
			goto err;
		b->task = kthread_run(kuc_bg_fn, b, "kuc-bg/%u", i);
		if (IS_ERR(b->task)) {
			b->task = NULL;
			goto err;
		}
	}
	return 0;
err:
	kuc_bg_stop();
	return -ENOMEM;
}

static int __init kuc_init(void)
{
	int ret;

	ret = csx_service_export_scope(KUC_SB_SVC, 1, CSX_SERVICE_PUBLIC,
				       kuc_sb_handler, NULL, &kuc_sb_svc);
	if (ret) {
		pr_err("kh_upcall_client: export %s: %d\n", KUC_SB_SVC, ret);
		return -EIO;
	}
	if (kuc_bg) {
		ret = kuc_bg_start();
		if (ret) {
			csx_service_unexport(kuc_sb_svc);
			return ret;
		}
		pr_info("kh_upcall_client: %u background caller(s) of %s\n",
			kuc_nbg, kuc_bg_svc);
	}
	WRITE_ONCE(kuc_ready, true);
	return 0;
}

static void __exit kuc_exit(void)
{
	unsigned int i;

	kuc_bg_stop();
	for (i = 0; i < KUC_SB_SLOTS; i++)
		csx_shbuf_free(kuc_sbs[i]);
	if (kuc_chan)
		csx_close(kuc_chan);
	kuc_chan = NULL;
	csx_service_unexport(kuc_sb_svc);
}

module_init(kuc_init);
module_exit(kuc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("CSX kernel helper test: kernel caller of user services");
MODULE_AUTHOR("CSX");
