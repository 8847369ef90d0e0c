// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Service calls, user → kernel (CSX_KH_IOC_SVC_OPEN/CALL/CLOSE): a process
 * calls a service a kernel module exported with csx_service_export() in
 * csx.ko's registry. The helper is only the transport: it copies the
 * request in, runs the call (csx__call_for()) in the ioctl's thread and copies the
 * response out. CSX_KH_IOC_SVC_CALL_SHBUF copies nothing: the payloads
 * are in one of the file's shared buffers (csx_helper_shbuf.c), which the
 * handler reads and writes in place through csx__call_mapped().
 *
 * csx.ko is optional: csx_helper.ko must load and serve devices without
 * it, so it does not link against csx.ko's exports. The first SVC_OPEN of
 * a file takes csx__service_open_for/csx__call_for/csx_close/csx_chan_version/
 * csx_chan_watch/csx__call_mapped with symbol_get() (-ENOENT and a log
 * line when csx.ko is not loaded); the
 * last channel of the file to close gives them back with symbol_put().
 * Each symbol_get() holds a reference on csx.ko, so csx.ko cannot be
 * unloaded (rmmod: "in use") while any file has a channel open: that is
 * intended, the channels point into it. The module that exported the
 * service may go at any time: csx_service_unexport() makes the channels'
 * later calls fail with -CSX_EPEERDIED, which CALL reports in @status.
 *
 * Opens go through csx__service_open_for(), not csx_open(): it looks in
 * csx.ko's registry only and applies the service's scope to a caller from
 * another domain (CSX_SERVICE_PRIVATE: -ENOENT; CSX_SERVICE_USER: root,
 * CAP_SYS_RAWIO or the helper's group, else -EPERM). csx_open() would look
 * further, through csx.ko's remote back end, which leads back here to the
 * user processes' exports (csx_helper_upcall.c): a process must not reach
 * another one, or itself, through the kernel.
 *
 * Channels: a table of CSX_KH_SVC_MAX slots per file, changed under
 * f->lock. A handle is the slot number plus one in its low byte and a
 * per-file generation above it, so a stale handle of a reused slot is
 * -ENOENT, not somebody else's channel. Each channel is reference counted:
 * the table holds one reference, each CALL in progress one more. CALL, the
 * hot path, finds its channel under RCU and takes its reference with
 * kref_get_unless_zero(), so calls neither take f->lock nor bounce it
 * between CPUs; the call itself runs outside any lock, so calls on one
 * file run concurrently. CLOSE (and the file's release) takes the channel
 * out of the table, drops the table's reference, waits for the calls in
 * progress to finish before csx_close(), which must not race them, and
 * frees the channel after an RCU grace period (a CALL may still be
 * looking at it, and failing to take a reference).
 *
 * Death notices (SVC_GONE): each channel is watched (csx_chan_watch());
 * the watch, run by csx.ko's worker thread when the kernel module behind
 * the channel withdraws the service, marks the channel gone under f->lock
 * and wakes the file's SVC_GONE waiters, which report each gone channel
 * once. csx_close() waits for a queued watch, so it never runs on a
 * channel that was closed.
 */
#define pr_fmt(fmt) "csx_helper: " fmt

#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <csx/csx_os.h>
#include <csx/csx_service.h>
#include <csx/csx_status.h>

#include "csx_helper.h"

/* Calls whose request and response fit here allocate nothing. */
#define KH_SVC_SMALL 256

struct kh_svc_chan {
	struct kref ref;	/* the table's, plus one per CALL */
	struct completion idle; /* the last reference went */
	struct csx_chan *chan;
	/* csx__call_for(), valid while the channel is (the file holds it). */
	int (*call)(struct csx_chan *chan, uint32_t op, const void *in,
		    size_t in_len, void *out, size_t out_cap, size_t *out_len,
		    int64_t timeout_ns);
	/* csx__call_mapped(), likewise: SVC_CALL_SHBUF. */
	int (*call_mapped)(struct csx_chan *chan, uint32_t op, const void *in,
			   size_t in_len, void *out, size_t out_cap,
			   size_t *out_len);
	u32 handle;
	struct kh_file *f;
	bool gone, gone_told; /* under f->lock */
	struct rcu_head rcu;
};

/* The ABI's constants must agree with csx_service.h's. */
static_assert(CSX_KH_SVC_NAME_MAX == CSX_SERVICE_NAME_MAX);
static_assert(CSX_KH_CALL_MAX == CSX_CALL_MAX_PAYLOAD);
static_assert(CSX_KH_SVC_MAX <= 255);

#define KH_SVC_SLOT(h) (((h)&0xffu) - 1)

static void kh_svc_chan_idle(struct kref *ref)
{
	complete(&container_of(ref, struct kh_svc_chan, ref)->idle);
}

/*
 * f->lock held: the file's channel count (channels and opens in progress)
 * goes down by one; the last gives csx.ko's entry points back.
 */
static void kh_svc_put_ops(struct kh_file *f)
{
	if (--f->svc_nchan)
		return;
	if (f->svc_open)
		symbol_put(csx__service_open_for);
	if (f->svc_call)
		symbol_put(csx__call_for);
	if (f->svc_close)
		symbol_put(csx_close);
	if (f->svc_version)
		symbol_put(csx_chan_version);
	if (f->svc_watch)
		symbol_put(csx_chan_watch);
	if (f->svc_call_mapped)
		symbol_put(csx__call_mapped);
	f->svc_open = NULL;
	f->svc_call = NULL;
	f->svc_close = NULL;
	f->svc_version = NULL;
	f->svc_watch = NULL;
	f->svc_call_mapped = NULL;
}

/* f->lock held: take csx.ko's entry points for the file's first channel. */
static int kh_svc_get_ops(struct kh_file *f)
{
	if (f->svc_nchan++)
		return 0;
	f->svc_open = symbol_get(csx__service_open_for);
	f->svc_call = symbol_get(csx__call_for);
	f->svc_close = symbol_get(csx_close);
	f->svc_version = symbol_get(csx_chan_version);
	f->svc_watch = symbol_get(csx_chan_watch);
	f->svc_call_mapped = symbol_get(csx__call_mapped);
	if (f->svc_open && f->svc_call && f->svc_close && f->svc_version &&
	    f->svc_watch && f->svc_call_mapped)
		return 0;
	kh_svc_put_ops(f);
	return -ENOENT;
}

/*
 * csx_service.h's rule ("module/service", printable, no blanks), checked
 * here so that a caller's bad name costs one rate-limited line, not one
 * csx_err() line per call.
 */
bool kh_svc_name_ok(const char *name)
{
	size_t len = strlen(name), i;
	bool slash = false;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (c <= ' ' || c > '~')
			return false;
		if (c == '/' && i > 0 && i < len - 1)
			slash = true;
	}
	return slash;
}

/*
 * Does a CSX_SERVICE_USER service let this caller in? The kernel's
 * services have no user of their own: "same user" means privileged here,
 * root or whoever may claim devices.
 */
static bool kh_svc_same_user(void)
{
	return uid_eq(current_euid(), GLOBAL_ROOT_UID) || kh_privileged();
}

static void kh_svc_gone_fn(void *ctx);

long kh_svc_open(struct kh_file *f, struct csx_kh_svc_open *a, const char **why)
{
	struct kh_svc_chan *ch;
	struct csx_chan *chan;
	unsigned int slot;
	int ret;

	if (strnlen(a->name, sizeof(a->name)) == sizeof(a->name)) {
		*why = "service name not NUL-terminated";
		return -EINVAL;
	}
	if (!kh_svc_name_ok(a->name)) {
		*why = "malformed service name (want \"module/service\")";
		return -EINVAL;
	}
	ch = kzalloc(sizeof(*ch), GFP_KERNEL);
	if (!ch) {
		*why = "out of memory";
		return -ENOMEM;
	}
	kref_init(&ch->ref);
	init_completion(&ch->idle);

	mutex_lock(&f->lock);
	for (slot = 0; slot < CSX_KH_SVC_MAX; slot++) {
		if (!rcu_access_pointer(f->svc[slot]))
			break;
	}
	if (slot == CSX_KH_SVC_MAX) {
		*why = "channel limit reached (CSX_KH_SVC_MAX)";
		ret = -EMFILE;
		goto err_unlock;
	}
	if (kh_svc_get_ops(f)) {
		*why = "csx.ko not loaded";
		ret = -ENOENT;
		goto err_unlock;
	}
	/*
	 * The open may sleep; nothing it takes nests f->lock. The version
	 * is checked here, not by the open, which would log every refusal
	 * unlimited; the channel's service is the one checked, so no race.
	 */
	ret = f->svc_open(a->name, 0, kh_svc_same_user(), &chan);
	if (!ret && f->svc_version(chan) < a->min_version) {
		f->svc_close(chan);
		ret = -CSX_EPROTO;
	}
	if (ret) {
		kh_svc_put_ops(f);
		switch (ret) {
		case -CSX_ENOENT:
			*why = "no such service";
			ret = -ENOENT;
			break;
		case -CSX_EPERM:
			*why = "service is CSX_SERVICE_USER and the caller is not privileged";
			ret = -EPERM;
			break;
		case -CSX_EPROTO:
			*why = "service older than min_version";
			ret = -EPROTO;
			break;
		case -CSX_EINVAL:
			*why = "malformed service name";
			ret = -EINVAL;
			break;
		default:
			*why = "csx__service_open_for() failed";
			break;
		}
		goto err_unlock;
	}
	ch->chan = chan;
	ch->call = f->svc_call;
	ch->call_mapped = f->svc_call_mapped;
	ch->f = f;
	f->svc_gen = (f->svc_gen + 1) & 0xffffffu;
	ch->handle = f->svc_gen << 8 | (slot + 1);
	rcu_assign_pointer(f->svc[slot], ch);
	/* Queued, never run inline: kh_svc_gone_fn() may take f->lock. */
	if (f->svc_watch(chan, kh_svc_gone_fn, ch))
		pr_notice_ratelimited("pid %d: SVC_OPEN %s: no death notices "
				      "for this channel\n",
				      task_tgid_nr(current), a->name);
	a->version = f->svc_version(chan);
	a->handle = ch->handle;
	mutex_unlock(&f->lock);
	return 0;

err_unlock:
	mutex_unlock(&f->lock);
	kfree(ch);
	return ret;
}

/* csx.ko's worker: the service of @ctx's channel went away. */
static void kh_svc_gone_fn(void *ctx)
{
	struct kh_svc_chan *ch = ctx;
	struct kh_file *f = ch->f;

	mutex_lock(&f->lock);
	ch->gone = true;
	f->svc_gone_seq++;
	mutex_unlock(&f->lock);
	wake_up_interruptible_all(&f->svc_gone_wq);
}

/* f->lock held: up to CSX_KH_GONE_MAX gone channels not told yet. */
static u32 kh_svc_gone_collect(struct kh_file *f, u32 *handles)
{
	struct kh_svc_chan *ch;
	unsigned int slot;
	u32 n = 0;

	for (slot = 0; slot < CSX_KH_SVC_MAX && n < CSX_KH_GONE_MAX; slot++) {
		ch = rcu_dereference_protected(f->svc[slot],
					       lockdep_is_held(&f->lock));
		if (ch && ch->gone && !ch->gone_told) {
			ch->gone_told = true;
			handles[n++] = ch->handle;
		}
	}
	return n;
}

long kh_svc_gone(struct kh_file *f, struct csx_kh_svc_gone *a, const char **why)
{
	unsigned long seq, kick;
	long left;

	a->count = 0;
	memset(a->handles, 0, sizeof(a->handles));
	if (a->timeout_ns < -1) {
		*why = "negative timeout_ns other than -1";
		return -EINVAL;
	}
	left = a->timeout_ns < 0 ?
		       MAX_SCHEDULE_TIMEOUT :
		       (long)min_t(u64, nsecs_to_jiffies64(a->timeout_ns),
				   MAX_SCHEDULE_TIMEOUT - 1);
	for (;;) {
		mutex_lock(&f->lock);
		seq = f->svc_gone_seq;
		kick = f->svc_gone_kick;
		a->count = kh_svc_gone_collect(f, a->handles);
		mutex_unlock(&f->lock);
		if (a->count || !left)
			return 0;
		left = wait_event_interruptible_timeout(
			f->svc_gone_wq,
			READ_ONCE(f->svc_gone_seq) != seq ||
				READ_ONCE(f->svc_gone_kick) != kick,
			left);
		if (left < 0)
			return -EINTR; /* a result, not a failure */
		if (READ_ONCE(f->svc_gone_kick) != kick)
			return 0;
	}
}

/* SVC_KICK: wake this file's SVC_GONE waiters too. */
void kh_svc_gone_kick(struct kh_file *f)
{
	mutex_lock(&f->lock);
	f->svc_gone_kick++;
	mutex_unlock(&f->lock);
	wake_up_interruptible_all(&f->svc_gone_wq);
}

/* f->lock held: the channel of @handle, or NULL. */
static struct kh_svc_chan *kh_svc_find(struct kh_file *f, u32 handle)
{
	u32 slot = KH_SVC_SLOT(handle);
	struct kh_svc_chan *ch;

	if (slot >= CSX_KH_SVC_MAX)
		return NULL;
	ch = rcu_dereference_protected(f->svc[slot], lockdep_is_held(&f->lock));
	return ch && ch->handle == handle ? ch : NULL;
}

/* Out of the table already: wait for its calls, then close it. */
static void kh_svc_chan_close(struct kh_file *f, struct kh_svc_chan *ch)
{
	kref_put(&ch->ref, kh_svc_chan_idle);
	wait_for_completion(&ch->idle);
	/* The file's channel count keeps csx.ko's entry points. */
	f->svc_close(ch->chan);
	kfree_rcu(ch, rcu);
	mutex_lock(&f->lock);
	kh_svc_put_ops(f);
	mutex_unlock(&f->lock);
}

long kh_svc_close(struct kh_file *f, struct csx_kh_svc_close *a,
		  const char **why)
{
	struct kh_svc_chan *ch;

	mutex_lock(&f->lock);
	ch = kh_svc_find(f, a->handle);
	if (ch)
		RCU_INIT_POINTER(f->svc[KH_SVC_SLOT(a->handle)], NULL);
	mutex_unlock(&f->lock);
	if (!ch) {
		*why = "no such channel handle";
		return -ENOENT;
	}
	kh_svc_chan_close(f, ch);
	return 0;
}

void kh_svc_close_all(struct kh_file *f)
{
	struct kh_svc_chan *ch;
	unsigned int slot;

	for (slot = 0; slot < CSX_KH_SVC_MAX; slot++) {
		mutex_lock(&f->lock);
		ch = rcu_dereference_protected(f->svc[slot],
					       lockdep_is_held(&f->lock));
		RCU_INIT_POINTER(f->svc[slot], NULL);
		mutex_unlock(&f->lock);
		if (ch)
			kh_svc_chan_close(f, ch);
	}
}

/*
 * The channel of @handle, referenced for a call; NULL if none (or
 * closing). Under RCU, without f->lock: calls do not serialize. The
 * read side is a preemption-disabled section, which the grace period
 * kfree_rcu() waits for covers too: with preemptible RCU (Debian's
 * kernels), rcu_read_lock() is two calls out of line per system call.
 */
static __always_inline struct kh_svc_chan *kh_svc_get(struct kh_file *f,
						      u32 handle)
{
	u32 slot = KH_SVC_SLOT(handle);
	struct kh_svc_chan *ch;

	if (slot >= CSX_KH_SVC_MAX)
		return NULL;
	preempt_disable();
	ch = rcu_dereference_sched(f->svc[slot]);
	/* Closing (no reference left) is as good as gone. */
	if (ch && (ch->handle != handle || !kref_get_unless_zero(&ch->ref)))
		ch = NULL;
	preempt_enable();
	return ch;
}

static __always_inline void kh_svc_put(struct kh_svc_chan *ch)
{
	kref_put(&ch->ref, kh_svc_chan_idle);
}

long kh_svc_call(struct kh_file *f, struct csx_kh_svc_call *a, const char **why)
{
	void __user *uin = u64_to_user_ptr(a->in_ptr);
	void __user *uout = u64_to_user_ptr(a->out_ptr);
	int64_t timeout = a->timeout_ns;
	/* Zeroed: a handler that claims more than it wrote leaks nothing. */
	u8 small[KH_SVC_SMALL] __aligned(8) = { 0 };
	struct kh_svc_chan *ch;
	void *buf = NULL, *in = NULL, *out = NULL;
	size_t len = 0;
	long ret = 0;

	a->status = 0;
	a->out_len = 0;
	if (a->in_len > CSX_KH_CALL_MAX || a->out_cap > CSX_KH_CALL_MAX) {
		*why = a->in_len > CSX_KH_CALL_MAX ?
			       "in_len above CSX_KH_CALL_MAX" :
			       "out_cap above CSX_KH_CALL_MAX";
		return -EMSGSIZE;
	}
	if ((!a->in_ptr && a->in_len) || (!a->out_ptr && a->out_cap)) {
		*why = "NULL buffer with a non-zero length";
		return -EINVAL;
	}
	if (timeout == -1) {
		timeout = CSX_WAIT_FOREVER;
	} else if (timeout < 0) {
		*why = "negative timeout_ns other than -1";
		return -EINVAL;
	}

	ch = kh_svc_get(f, a->handle);
	if (!ch) {
		*why = "no such channel handle";
		return -ENOENT;
	}

	/*
	 * One buffer: request, then response. Both are at most 1 MiB; small
	 * calls, the common case, use the stack and allocate nothing.
	 */
	if (a->in_len + a->out_cap) {
		buf = small;
		if (a->in_len + a->out_cap > sizeof(small))
			buf = kvmalloc(a->in_len + a->out_cap, GFP_KERNEL);
		if (!buf) {
			*why = "out of memory";
			ret = -ENOMEM;
			goto out_put;
		}
		if (a->in_len)
			in = buf;
		if (a->out_cap)
			out = buf + a->in_len;
	}
	if (a->in_len && copy_from_user(in, uin, a->in_len)) {
		*why = "bad in_ptr";
		ret = -EFAULT;
		goto out_free;
	}
	/* As small[]: a handler that claims more must not leak memory. */
	if (out && buf != small)
		memset(out, 0, a->out_cap);
	a->status = ch->call(ch->chan, a->op, in, a->in_len, out, a->out_cap,
			     &len, timeout);
	if (len > a->out_cap)
		len = 0; /* csx_call() never does this; never trust it */
	if (len && copy_to_user(uout, out, len)) {
		*why = "bad out_ptr";
		ret = -EFAULT;
		goto out_free;
	}
	a->out_len = len;
out_free:
	if (buf != small)
		kvfree(buf);
out_put:
	kh_svc_put(ch);
	return ret;
}

/* Is [@off, @off + @len) inside @size bytes? Overflow-safe. */
static bool kh_svc_window_ok(u64 off, u64 len, size_t size)
{
	return off <= size && len <= size - off;
}

/*
 * SVC_CALL_SHBUF: the handler runs in this thread on the buffer's kernel
 * mapping; the process may write it meanwhile (its own problem, and the
 * handler's: csx_call_shbuf() tells services to copy what they check).
 * The buffer's reference keeps the memory through a SHBUF_FREE or an
 * munmap() by another thread.
 */
long kh_svc_call_shbuf(struct kh_file *f, struct csx_kh_svc_call_shbuf *a,
		       const char **why)
{
	struct csx_kh_shmem *sb;
	struct kh_svc_chan *ch;
	size_t len = 0;
	long ret = 0;

	a->status = 0;
	a->out_len = 0;
	if (a->reserved) {
		*why = "reserved field not zero";
		return -EINVAL;
	}
	if (a->timeout_ns < -1) {
		*why = "negative timeout_ns other than -1";
		return -EINVAL;
	}
	ch = kh_svc_get(f, a->handle);
	if (!ch) {
		*why = "no such channel handle";
		return -ENOENT;
	}
	sb = kh_sb_get(f, a->buf_id);
	if (!sb) {
		*why = "no such shared buffer id";
		ret = -ENOENT;
		goto out_put;
	}
	if (!kh_svc_window_ok(a->in_off, a->in_len, sb->size) ||
	    !kh_svc_window_ok(a->out_off, a->out_cap, sb->size)) {
		*why = "request or response window outside the buffer";
		ret = -EINVAL;
		goto out_sb;
	}
	/* In-process: the handler runs here, unbounded (as csx_call()). */
	a->status = ch->call_mapped(
		ch->chan, a->op, a->in_len ? sb->mem + a->in_off : NULL,
		a->in_len, a->out_cap ? sb->mem + a->out_off : NULL, a->out_cap,
		&len);
	if (len > a->out_cap)
		len = 0; /* never trust it */
	a->out_len = len;
out_sb:
	kh_sb_put(sb);
out_put:
	kh_svc_put(ch);
	return ret;
}
