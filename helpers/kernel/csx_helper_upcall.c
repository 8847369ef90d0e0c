// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Service calls, kernel → user ("upcalls"): a process exports services to
 * kernel modules (CSX_KH_IOC_SVC_EXPORT) and answers their calls from
 * threads blocked in CSX_KH_IOC_SVC_SERVE (or SERVE2, which also takes
 * calls whose payloads lie in a shared buffer: csx_kh_upcall_call_shbuf()
 * queues them with a reference to the buffer, and the SERVE2 that takes
 * one grants the buffer to its file, csx_helper_shbuf.c, so the process
 * can map it and answer in place). csx.ko reaches this file through
 * csx_kh_upcall_open/call/close (csx_kh_upcall.h), which it takes with
 * symbol_get() when a kernel module's csx_open() names no kernel service;
 * those references pin csx_helper.ko while a kernel channel is open.
 *
 * Objects and references:
 *   kh_up_file     per open file (f->up): its export table and the queue
 *                  its SERVE threads take calls from. Held by the file and
 *                  by each of its exports, so a kernel caller whose peer
 *                  file is gone still reaches live (dead-marked) memory.
 *   kh_up_export   a name in the registry (kh_up_exports) and in its
 *                  file's table; one reference for both (they go
 *                  together), one per channel.
 *   csx_kh_upchan  a kernel caller's channel: one export reference, and
 *                  a place in its export's list of channels (ex->chans),
 *                  through which the export's death is told (@gone).
 *   kh_up_req      one call, owned by its caller; a SERVE thread holds a
 *                  second reference while it copies the request out with
 *                  no lock held, so a caller timing out meanwhile frees
 *                  nothing under it.
 *
 * Locks, never nested, never held across a user copy:
 *   kh_up_mutex    the registry and every file's export table
 *   up->lock       one file's queues, its requests' states and its
 *                  exports' dead flags
 * Exports die in two steps: out of the registry (kh_up_mutex: no new
 * opens), then marked dead (up->lock: no new calls, queued calls fail).
 * Then, with no lock held, each open channel's @gone is called: it takes
 * csx.ko's registry mutex, which must never nest inside ours (nor inside
 * f->lock), and the calls it then fails see the export dead already. The
 * channels to tell are picked in the first step, under kh_up_mutex, which
 * is also what a close takes to leave the list: so a channel is told at
 * most once, and never after its close returned (the close waits for a
 * @gone in progress: kh_up_gone_wq).
 *
 * A request is QUEUED (up->queued) until a SERVE takes it: TAKEN
 * (up->taken, with a per-file id), then DONE (answered, failed, or its
 * peer died), or CANCELLED once its caller gave up on it while TAKEN.
 * Every transition happens under up->lock, and the caller's response
 * buffer is written there only, only while TAKEN: the process's reply is
 * first copied into a bounce buffer with no lock held. So nothing writes a
 * caller's buffer after it returned, and a process that stalls its own
 * copy (userfaultfd, a slow page) delays nobody but itself.
 */
#define pr_fmt(fmt) "csx_helper: " fmt

#include <linux/completion.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <csx/csx_service.h>
#include <csx/csx_status.h>

#include "csx_helper.h"
#include "csx_kh_upcall.h"

/* Requests up to this size live inside the request: one allocation. */
#define KH_UP_SMALL 256
/* Replies up to this size are bounced through the stack. */
#define KH_UP_REPLY_SMALL 256

struct kh_up_file {
	struct kref ref; /* the file's, plus one per export */
	struct mutex lock;
	struct list_head queued; /* QUEUED requests, oldest first */
	struct list_head taken;	 /* TAKEN requests */
	unsigned int nqueued;	 /* written under lock, read by waiters */
	wait_queue_head_t wq;	 /* SERVE waiters, woken one per request */
	atomic_t kick_gen;	 /* bumped by SVC_KICK */
	u64 last_id;		 /* ids of TAKEN requests: never 0 */
	/* Under kh_up_mutex: handle = generation << 8 | (slot + 1). */
	struct kh_up_export *ex[CSX_KH_EXPORT_MAX];
	u32 ex_gen;
};

struct kh_up_export {
	struct kref ref;	/* registry and table (one), each channel */
	struct list_head node;	/* kh_up_exports, under kh_up_mutex */
	struct kh_up_file *up;	/* referenced */
	struct list_head chans; /* open channels, under kh_up_mutex */
	bool dead;		/* under up->lock */
	u32 handle;
	u32 version;
	u64 idempotent;
	char name[CSX_KH_SVC_NAME_MAX];
};

struct csx_kh_upchan {
	struct kh_up_export *ex;
	void (*gone)(void *ctx);
	void *ctx;
	/* Under kh_up_mutex: */
	struct list_head node; /* ex->chans; empty once closing */
	bool told;	       /* @gone called or being called */
	/*
	 * @gone in progress: set under kh_up_mutex, cleared (release) by the
	 * teller once done with the channel, which a close waits for.
	 */
	bool telling;
	struct list_head tell_node; /* the teller's list, while telling */
};

enum kh_up_state {
	KH_UP_QUEUED,
	KH_UP_TAKEN,
	KH_UP_DONE,
	KH_UP_CANCELLED,
};

struct kh_up_req {
	struct kref ref; /* the caller's, plus a SERVE copying it out */
	struct list_head node;
	struct completion done;
	const struct kh_up_export *ex; /* identity only (UNEXPORT) */
	enum kh_up_state state;
	u64 id;
	u32 op;
	u32 handle;
	int status;
	void *in; /* owned: small[] or kvmalloc()ed */
	size_t in_len;
	void *out; /* the caller's: written under lock while TAKEN only */
	size_t out_cap;
	size_t out_len;
	/*
	 * A shared-buffer call: the payloads are in @sb (referenced), at
	 * @in_off and @out_off; @in and @out are unused, nothing is copied.
	 */
	struct csx_kh_shmem *sb;
	size_t in_off, out_off;
	u8 small[KH_UP_SMALL] __aligned(8);
};

static DEFINE_MUTEX(kh_up_mutex);
static LIST_HEAD(kh_up_exports);
/* Closes waiting for a @gone in progress (csx_kh_upchan.telling). */
static DECLARE_WAIT_QUEUE_HEAD(kh_up_gone_wq);
/* New exports, for opens that wait for one (kh_up_mutex for the count). */
static DECLARE_WAIT_QUEUE_HEAD(kh_up_export_wq);
static unsigned long kh_up_export_seq;

static_assert(CSX_KH_EXPORT_MAX <= 255);
/* SERVE's structure is SERVE2's prefix: one body serves both. */
static_assert(sizeof(struct csx_kh_svc_serve) ==
	      offsetof(struct csx_kh_svc_serve2, buf_id));
static_assert(offsetof(struct csx_kh_svc_serve, out_cap) ==
	      offsetof(struct csx_kh_svc_serve2, out_cap));

#define KH_UP_SLOT(h) (((h)&0xffu) - 1)

/* ---- Objects ------------------------------------------------------------ */

static void kh_up_file_free(struct kref *ref)
{
	struct kh_up_file *up = container_of(ref, struct kh_up_file, ref);

	WARN_ON(!list_empty(&up->queued) || !list_empty(&up->taken));
	mutex_destroy(&up->lock);
	kfree(up);
}

static void kh_up_export_free(struct kref *ref)
{
	struct kh_up_export *ex = container_of(ref, struct kh_up_export, ref);

	WARN_ON(!list_empty(&ex->chans));
	kref_put(&ex->up->ref, kh_up_file_free);
	kfree(ex);
}

static void kh_up_req_free(struct kref *ref)
{
	struct kh_up_req *req = container_of(ref, struct kh_up_req, ref);

	if (req->in != req->small)
		kvfree(req->in);
	if (req->sb)
		kh_sb_put(req->sb);
	kfree(req);
}

int kh_up_init(struct kh_file *f)
{
	struct kh_up_file *up = kzalloc(sizeof(*up), GFP_KERNEL);

	if (!up)
		return -ENOMEM;
	kref_init(&up->ref);
	mutex_init(&up->lock);
	INIT_LIST_HEAD(&up->queued);
	INIT_LIST_HEAD(&up->taken);
	init_waitqueue_head(&up->wq);
	atomic_set(&up->kick_gen, 0);
	f->up = up;
	return 0;
}

/*
 * up->lock held: @req's answer. Its caller may free it as soon as the lock
 * goes (it retakes the lock before looking).
 */
static void kh_up_finish(struct kh_up_req *req, int status, size_t len)
{
	req->status = status;
	req->out_len = len;
	req->state = KH_UP_DONE;
	list_del_init(&req->node);
	complete(&req->done);
}

/* up->lock held: the QUEUED calls of @ex (NULL: of every export) fail. */
static void kh_up_fail_queued(struct kh_up_file *up,
			      const struct kh_up_export *ex)
{
	struct kh_up_req *req, *tmp;

	list_for_each_entry_safe (req, tmp, &up->queued, node) {
		if (ex && req->ex != ex)
			continue;
		WRITE_ONCE(up->nqueued, up->nqueued - 1);
		kh_up_finish(req, -CSX_EPEERDIED, 0);
	}
}

/*
 * kh_up_mutex held, @ex just out of the registry: its channels that want
 * to be told and were not, onto @tell. Closed channels are not in the
 * list any more, so none is picked once its close has begun.
 */
static void kh_up_pick_told(struct kh_up_export *ex, struct list_head *tell)
{
	struct csx_kh_upchan *ch;

	lockdep_assert_held(&kh_up_mutex);
	list_for_each_entry (ch, &ex->chans, node) {
		if (!ch->gone || ch->told)
			continue;
		ch->told = true;
		ch->telling = true;
		list_add_tail(&ch->tell_node, tell);
	}
}

/*
 * No lock held, the exports dead: call each @gone picked. Once telling is
 * clear the channel may be freed by its close, so it is the last touch
 * (the next entry is still telling, hence still alive).
 */
static void kh_up_tell(struct list_head *tell)
{
	struct csx_kh_upchan *ch, *tmp;

	might_sleep();
	list_for_each_entry_safe (ch, tmp, tell, tell_node) {
		list_del(&ch->tell_node);
		ch->gone(ch->ctx);
		smp_store_release(&ch->telling, false);
		wake_up_all(&kh_up_gone_wq);
	}
}

/*
 * Nanoseconds to a jiffies bound for a wait: rounded up plus the tick in
 * progress, so never shorter than asked; 0 stays 0 (poll).
 */
static unsigned long kh_up_jiffies(s64 ns)
{
	u64 j;

	if (ns <= 0)
		return 0;
	if (ns > S64_MAX - TICK_NSEC)
		return MAX_SCHEDULE_TIMEOUT - 1;
	j = nsecs_to_jiffies64(ns + TICK_NSEC - 1) + 1;
	return j >= MAX_SCHEDULE_TIMEOUT ? MAX_SCHEDULE_TIMEOUT - 1 : j;
}

/* ---- The file's release ------------------------------------------------- */

void kh_up_release(struct kh_file *f)
{
	struct kh_up_file *up = f->up;
	struct kh_up_export *ex, *tmp;
	struct kh_up_req *req, *rtmp;
	LIST_HEAD(gone);
	LIST_HEAD(tell);
	unsigned int slot;

	mutex_lock(&kh_up_mutex);
	for (slot = 0; slot < CSX_KH_EXPORT_MAX; slot++) {
		ex = up->ex[slot];
		if (!ex)
			continue;
		up->ex[slot] = NULL;
		list_move(&ex->node, &gone);
		kh_up_pick_told(ex, &tell);
	}
	mutex_unlock(&kh_up_mutex);

	/*
	 * No SERVE can run (the file is going), so nobody will answer what
	 * is TAKEN either: every caller waiting on this file returns now.
	 */
	mutex_lock(&up->lock);
	list_for_each_entry (ex, &gone, node)
		ex->dead = true;
	kh_up_fail_queued(up, NULL);
	list_for_each_entry_safe (req, rtmp, &up->taken, node)
		kh_up_finish(req, -CSX_EPEERDIED, 0);
	mutex_unlock(&up->lock);

	kh_up_tell(&tell);
	list_for_each_entry_safe (ex, tmp, &gone, node) {
		list_del_init(&ex->node);
		kref_put(&ex->ref, kh_up_export_free);
	}
	/* Under sb_lock: a freed shared buffer kicks f->up's waiters. */
	mutex_lock(&f->sb_lock);
	f->up = NULL;
	mutex_unlock(&f->sb_lock);
	kref_put(&up->ref, kh_up_file_free);
}

/* ---- EXPORT, UNEXPORT, KICK --------------------------------------------- */

/* kh_up_mutex held. */
static struct kh_up_export *kh_up_lookup(const char *name)
{
	struct kh_up_export *ex;

	list_for_each_entry (ex, &kh_up_exports, node) {
		if (!strncmp(ex->name, name, sizeof(ex->name)))
			return ex;
	}
	return NULL;
}

long kh_up_export(struct kh_file *f, struct csx_kh_svc_export_opts *a,
		  const char **why)
{
	struct kh_up_file *up = f->up;
	struct kh_up_export *ex;
	unsigned int slot;
	long ret;

	/* Answering kernel modules' calls is as trusted as driving hardware. */
	if (!kh_privileged()) {
		*why = "not privileged (CAP_SYS_RAWIO or the helper's group)";
		return -EPERM;
	}
	if (strnlen(a->name, sizeof(a->name)) == sizeof(a->name)) {
		*why = "service name not NUL-terminated";
		return -EINVAL;
	}
	if (!kh_svc_name_ok(a->name)) {
		*why = "malformed service name (want \"module/service\")";
		return -EINVAL;
	}
	if (a->scope != CSX_SERVICE_USER && a->scope != CSX_SERVICE_PUBLIC) {
		*why = "scope not 1 (USER) or 2 (PUBLIC)";
		return -EINVAL;
	}
	ex = kzalloc(sizeof(*ex), GFP_KERNEL);
	if (!ex) {
		*why = "out of memory";
		return -ENOMEM;
	}
	kref_init(&ex->ref);
	INIT_LIST_HEAD(&ex->node);
	INIT_LIST_HEAD(&ex->chans);
	ex->version = a->version;
	ex->idempotent = a->idempotent;
	strscpy(ex->name, a->name, sizeof(ex->name));

	mutex_lock(&kh_up_mutex);
	if (kh_up_lookup(a->name)) {
		*why = "name exported already (by this or another file)";
		ret = -EEXIST;
		goto err_unlock;
	}
	for (slot = 0; slot < CSX_KH_EXPORT_MAX; slot++) {
		if (!up->ex[slot])
			break;
	}
	if (slot == CSX_KH_EXPORT_MAX) {
		*why = "export limit reached (CSX_KH_EXPORT_MAX)";
		ret = -ENOSPC;
		goto err_unlock;
	}
	up->ex_gen = (up->ex_gen + 1) & 0xffffffu;
	ex->handle = up->ex_gen << 8 | (slot + 1);
	kref_get(&up->ref);
	ex->up = up;
	up->ex[slot] = ex;
	list_add_tail(&ex->node, &kh_up_exports);
	a->handle = ex->handle;
	WRITE_ONCE(kh_up_export_seq, kh_up_export_seq + 1);
	mutex_unlock(&kh_up_mutex);
	wake_up_all(&kh_up_export_wq);
	return 0;

err_unlock:
	mutex_unlock(&kh_up_mutex);
	kfree(ex);
	return ret;
}

long kh_up_unexport(struct kh_file *f, struct csx_kh_svc_unexport *a,
		    const char **why)
{
	struct kh_up_file *up = f->up;
	u32 slot = KH_UP_SLOT(a->handle);
	struct kh_up_export *ex = NULL;
	LIST_HEAD(tell);

	mutex_lock(&kh_up_mutex);
	if (slot < CSX_KH_EXPORT_MAX)
		ex = up->ex[slot];
	if (!ex || ex->handle != a->handle) {
		mutex_unlock(&kh_up_mutex);
		*why = "no such export handle";
		return -ENOENT;
	}
	up->ex[slot] = NULL;
	list_del_init(&ex->node);
	kh_up_pick_told(ex, &tell);
	mutex_unlock(&kh_up_mutex);

	/* TAKEN calls stay: the process may still answer them. */
	mutex_lock(&up->lock);
	ex->dead = true;
	kh_up_fail_queued(up, ex);
	mutex_unlock(&up->lock);
	kh_up_tell(&tell);
	kref_put(&ex->ref, kh_up_export_free);
	return 0;
}

long kh_up_kick(struct kh_file *f, const char **why)
{
	atomic_inc(&f->up->kick_gen);
	wake_up_all(&f->up->wq);
	return 0;
}

/* ---- SERVE ---------------------------------------------------------------- */

/* up->lock held: the TAKEN request @id, or NULL. */
static struct kh_up_req *kh_up_find_taken(struct kh_up_file *up, u64 id)
{
	struct kh_up_req *req;

	list_for_each_entry (req, &up->taken, node) {
		if (req->id == id)
			return req;
	}
	return NULL;
}

/* up->lock held: is the TAKEN request @id a shared-buffer call? */
static bool kh_up_taken_shbuf(struct kh_up_file *up, u64 id, bool *found)
{
	struct kh_up_req *req;
	bool shbuf;

	mutex_lock(&up->lock);
	req = kh_up_find_taken(up, id);
	*found = req;
	shbuf = req && req->sb;
	mutex_unlock(&up->lock);
	return shbuf;
}

/*
 * The reply half: answer TAKEN request @a->reply_id, or drop the reply if
 * no such request waits any more. The process's bytes are copied in first,
 * with no lock held; the caller's buffer is written under up->lock only.
 * A reply that is wrong (status, length, unreadable) still ends the call,
 * with -CSX_EIO, so its caller does not wait for a timeout. A
 * shared-buffer call's reply carries no data (the handler wrote the
 * window in place): SERVE2 looks first, so it reads nothing for one.
 */
static long kh_up_reply(struct kh_up_file *up,
			const struct csx_kh_svc_serve2 *a, bool v2,
			const char **why)
{
	u8 small[KH_UP_REPLY_SMALL] __aligned(8);
	struct kh_up_req *req;
	const char *bad = NULL;
	int status = a->reply_status;
	size_t len = a->reply_len;
	bool found = true, inline_data = true;
	void *buf = NULL;
	long ret = 0;

	if (v2 && len) {
		inline_data = !kh_up_taken_shbuf(up, a->reply_id, &found);
		if (!found)
			return 0; /* dropped silently: nobody waits for it */
	}
	if (status > 0 || status < -MAX_ERRNO) {
		bad = "reply_status not 0 or a negative errno";
	} else if (!inline_data) {
		/* Checked against the caller's out_cap below. */
	} else if (a->reply_len > CSX_KH_CALL_MAX) {
		bad = "reply_len above CSX_KH_CALL_MAX";
	} else if (len) {
		buf = len <= sizeof(small) ? small : kvmalloc(len, GFP_KERNEL);
		if (!buf) {
			*why = "out of memory for the reply";
			bad = *why;
			ret = -ENOMEM;
		} else if (copy_from_user(buf, u64_to_user_ptr(a->reply_ptr),
					  len)) {
			*why = "bad reply_ptr (the call fails with EIO)";
			bad = "unreadable reply";
			ret = -EFAULT;
		}
	}

	mutex_lock(&up->lock);
	req = kh_up_find_taken(up, a->reply_id);
	found = req;
	if (req && !bad && len > req->out_cap)
		bad = "reply longer than the caller's out_cap";
	if (req && bad) {
		kh_up_finish(req, ret == -ENOMEM ? -CSX_ENOMEM : -CSX_EIO, 0);
	} else if (req) {
		/* A shared-buffer call's window is written already. */
		if (len && !req->sb)
			memcpy(req->out, buf, len);
		kh_up_finish(req, status, len);
	}
	mutex_unlock(&up->lock);

	if (found && bad && !ret)
		pr_notice_ratelimited(
			"pid %d: %s: reply to %llu: %s: the call fails with EIO\n",
			task_tgid_nr(current), v2 ? "SVC_SERVE2" : "SVC_SERVE",
			a->reply_id, bad);
	if (buf && buf != small)
		kvfree(buf);
	return ret;
}

/*
 * The oldest QUEUED request, now TAKEN, described in @a; referenced. An
 * old SERVE (!@v2) cannot take a shared-buffer call: that call fails.
 */
static struct kh_up_req *kh_up_take(struct kh_up_file *up,
				    struct csx_kh_svc_serve2 *a, bool v2)
{
	struct kh_up_req *req;

	if (!READ_ONCE(up->nqueued))
		return NULL;
	mutex_lock(&up->lock);
	while ((req = list_first_entry_or_null(&up->queued, struct kh_up_req,
					       node))) {
		WRITE_ONCE(up->nqueued, up->nqueued - 1);
		if (req->sb && !v2) {
			kh_up_finish(req, -CSX_EOPNOTSUPP, 0);
			continue;
		}
		list_move_tail(&req->node, &up->taken);
		req->state = KH_UP_TAKEN;
		req->id = ++up->last_id;
		kref_get(&req->ref);
		a->req_id = req->id;
		a->handle = req->handle;
		a->op = req->op;
		a->req_len = req->in_len;
		a->out_cap = req->out_cap;
		if (req->sb) {
			a->buf_len = req->sb->size;
			a->in_off = req->in_off;
			a->out_off = req->out_off;
		}
		break;
	}
	mutex_unlock(&up->lock);
	return req;
}

/*
 * A request handed out could not reach the process: its call fails, as a
 * call to a dead peer if the process is being killed (the copy then fails
 * for that reason), else with @status (-CSX_EIO: a transport error).
 */
static void kh_up_fail_taken(struct kh_up_file *up, struct kh_up_req *req,
			     int status)
{
	if (fatal_signal_pending(current))
		status = -CSX_EPEERDIED;
	mutex_lock(&up->lock);
	if (req->state == KH_UP_TAKEN)
		kh_up_finish(req, status, 0);
	mutex_unlock(&up->lock);
}

/*
 * Wait for a request, a kick, the end of @left jiffies or a signal. One
 * waiter is woken per request (exclusive waits): one that leaves without
 * taking it (signal, kick, timeout) passes the wake-up on.
 */
static struct kh_up_req *kh_up_wait(struct kh_up_file *up,
				    struct csx_kh_svc_serve2 *a, bool v2,
				    unsigned long *left, long *ret)
{
	int gen = atomic_read(&up->kick_gen);
	struct kh_up_req *req;
	DEFINE_WAIT(wait);

	*ret = 0;
	for (;;) {
		/*
		 * A process being killed takes nothing more: what it took
		 * would fail at once (kh_up_fail_taken()), and a caller that
		 * re-issues its call would find this dying export again and
		 * again until the file's release. Left queued, the calls fail
		 * once, at the release, when the name is gone from the
		 * registry and a re-open waits for the successor.
		 */
		if (fatal_signal_pending(current)) {
			*ret = -EINTR;
			break;
		}
		req = kh_up_take(up, a, v2);
		if (req)
			return req;
		if (!*left || atomic_read(&up->kick_gen) != gen)
			break;
		if (signal_pending(current)) {
			*ret = -EINTR;
			break;
		}
		prepare_to_wait_exclusive(&up->wq, &wait, TASK_INTERRUPTIBLE);
		if (!READ_ONCE(up->nqueued) &&
		    atomic_read(&up->kick_gen) == gen &&
		    !signal_pending(current))
			*left = schedule_timeout(*left);
		finish_wait(&up->wq, &wait);
	}
	if (READ_ONCE(up->nqueued))
		wake_up(&up->wq);
	return NULL;
}

/* The outputs of a wait with nothing taken (yet). */
static void kh_up_serve_clear(struct csx_kh_svc_serve2 *a)
{
	a->req_id = 0;
	a->handle = 0;
	a->op = 0;
	a->req_len = 0;
	a->out_cap = 0;
	a->buf_id = 0;
	a->buf_len = 0;
	a->in_off = 0;
	a->out_off = 0;
}

/*
 * SERVE2: a shared-buffer call taken goes into the file's table (once per
 * buffer), so the process can map it. One that cannot (table full, no
 * memory, or freed since its caller gave up) fails for its caller, and
 * the wait goes on.
 */
static struct kh_up_req *kh_up_wait_granted(struct kh_file *f,
					    struct csx_kh_svc_serve2 *a,
					    bool v2, unsigned long left,
					    long *ret)
{
	struct kh_up_file *up = f->up;
	struct kh_up_req *req;
	int err;

	for (;;) {
		req = kh_up_wait(up, a, v2, &left, ret);
		if (!req || !req->sb)
			return req;
		err = kh_sb_grant(f, req->sb, &a->buf_id);
		if (!err)
			return req;
		kh_up_fail_taken(up, req, -CSX_ENOMEM);
		kref_put(&req->ref, kh_up_req_free);
		kh_up_serve_clear(a);
		if (err != -ENOENT)
			pr_notice_ratelimited(
				"pid %d: SVC_SERVE2: a call's shared buffer cannot enter the table (%s): the call fails with ENOMEM\n",
				task_tgid_nr(current),
				err == -ENOSPC ? "CSX_KH_SHBUF_PER_FILE" :
						 "out of memory");
	}
}

/*
 * Copy @a out; SERVE2 also reports the gone buffers, which stay queued
 * if the copy fails.
 */
static int kh_up_serve_out(struct kh_file *f, struct csx_kh_svc_serve2 *a,
			   bool v2, void __user *uarg)
{
	LIST_HEAD(taken);
	int ret = 0;

	if (v2) {
		memset(a->gone, 0, sizeof(a->gone));
		a->gone_count = kh_sb_gone_take(f, &taken, a->gone);
	}
	if (copy_to_user(uarg, a,
			 v2 ? sizeof(*a) : sizeof(struct csx_kh_svc_serve)))
		ret = -EFAULT;
	if (v2)
		kh_sb_gone_done(f, &taken, !ret);
	return ret;
}

long kh_up_serve(struct kh_file *f, struct csx_kh_svc_serve2 *a, bool v2,
		 void __user *uarg, const char **why)
{
	struct kh_up_file *up = f->up;
	bool reply_only = !a->req_ptr && !a->req_cap;
	struct kh_up_req *req = NULL;
	unsigned long left;
	long ret;

	if (!reply_only && a->req_cap < CSX_KH_CALL_MAX) {
		*why = "req_cap below CSX_KH_CALL_MAX";
		return -EINVAL;
	}
	if (a->timeout_ns < -1) {
		*why = "negative timeout_ns other than -1";
		return -EINVAL;
	}
	if (a->reply_id) {
		ret = kh_up_reply(up, a, v2, why);
		if (ret)
			return ret;
	}
	kh_up_serve_clear(a);
	if (!reply_only) {
		left = a->timeout_ns == -1 ? MAX_SCHEDULE_TIMEOUT :
					     kh_up_jiffies(a->timeout_ns);
		req = kh_up_wait_granted(f, a, v2, left, &ret);
		if (ret)
			return ret; /* -EINTR: a result, not logged */
	}
	if (!req) {
		if (kh_up_serve_out(f, a, v2, uarg)) {
			*why = "bad argument pointer";
			return -EFAULT;
		}
		return 0;
	}
	/* Without the lock: the caller may give up meanwhile (see above). */
	ret = 0;
	if ((!req->sb && req->in_len &&
	     copy_to_user(u64_to_user_ptr(a->req_ptr), req->in, req->in_len)) ||
	    kh_up_serve_out(f, a, v2, uarg)) {
		kh_up_fail_taken(up, req, -CSX_EIO);
		*why = "bad req_ptr or argument pointer (the call fails with EIO)";
		ret = -EFAULT;
	}
	kref_put(&req->ref, kh_up_req_free);
	return ret;
}

/* ---- csx.ko's side (csx_kh_upcall.h) -------------------------------------- */

int csx_kh_upcall_open(const char *name, u32 min_version, s64 wait_ns,
		       void (*gone)(void *ctx), void *ctx,
		       struct csx_kh_upchan **out, u32 *version,
		       u64 *idempotent)
{
	unsigned long left = 0, seq;
	struct csx_kh_upchan *ch;
	struct kh_up_export *ex;
	int ret = 0;

	*out = NULL;
	*version = 0;
	*idempotent = 0;
	if (wait_ns > 0)
		left = kh_up_jiffies(min_t(s64, wait_ns, 60 * NSEC_PER_SEC));
	ch = kzalloc(sizeof(*ch), GFP_KERNEL);
	if (!ch)
		return -CSX_ENOMEM;
	ch->gone = gone;
	ch->ctx = ctx;
	INIT_LIST_HEAD(&ch->node);
	INIT_LIST_HEAD(&ch->tell_node);
	mutex_lock(&kh_up_mutex);
	/*
	 * Nobody exports it (a restarted process has not exported it again
	 * yet): wait for new exports, up to @wait_ns in all.
	 */
	while (!(ex = kh_up_lookup(name)) && left) {
		seq = kh_up_export_seq;
		mutex_unlock(&kh_up_mutex);
		left = wait_event_timeout(kh_up_export_wq,
					  READ_ONCE(kh_up_export_seq) != seq,
					  left);
		mutex_lock(&kh_up_mutex);
	}
	if (!ex) {
		ret = -CSX_ENOENT;
	} else if (ex->version < min_version) {
		ret = -CSX_EPROTO;
	} else {
		kref_get(&ex->ref);
		ch->ex = ex;
		/* In the registry: not dead yet, so its death will see us. */
		list_add_tail(&ch->node, &ex->chans);
		*version = ex->version;
		*idempotent = ex->idempotent;
	}
	mutex_unlock(&kh_up_mutex);
	if (ret) {
		kfree(ch);
		return ret;
	}
	*out = ch;
	return 0;
}
EXPORT_SYMBOL_GPL(csx_kh_upcall_open);

static struct kh_up_req *kh_up_req_new(const void *in, size_t in_len)
{
	struct kh_up_req *req = kmalloc(sizeof(*req), GFP_KERNEL);

	if (!req)
		return NULL;
	req->in = req->small;
	if (in_len > sizeof(req->small)) {
		req->in = kvmalloc(in_len, GFP_KERNEL);
		if (!req->in) {
			kfree(req);
			return NULL;
		}
	}
	if (in_len)
		memcpy(req->in, in, in_len);
	req->in_len = in_len;
	kref_init(&req->ref);
	INIT_LIST_HEAD(&req->node);
	init_completion(&req->done);
	req->id = 0;
	req->status = 0;
	req->out_len = 0;
	req->sb = NULL;
	req->in_off = 0;
	req->out_off = 0;
	return req;
}

/*
 * Queue @req (its payload set up) on @ch's export and wait for its
 * answer; the caller's reference to @req is dropped.
 */
static int kh_up_call(struct csx_kh_upchan *ch, struct kh_up_req *req, u32 op,
		      size_t *out_len, s64 timeout_ns)
{
	struct kh_up_export *ex = ch->ex;
	struct kh_up_file *up = ex->up;
	bool killed;
	long left;
	int ret;

	req->ex = ex;
	req->handle = ex->handle;
	req->op = op;

	mutex_lock(&up->lock);
	if (ex->dead) {
		mutex_unlock(&up->lock);
		kref_put(&req->ref, kh_up_req_free);
		return -CSX_EPEERDIED;
	}
	req->state = KH_UP_QUEUED;
	list_add_tail(&req->node, &up->queued);
	WRITE_ONCE(up->nqueued, up->nqueued + 1);
	mutex_unlock(&up->lock);
	wake_up(&up->wq);

	/*
	 * Killable, not interruptible: a kernel thread waits as long as it
	 * asked, but a process that called into a driver, which called a
	 * hung user service, can still be killed. (TASK_KILLABLE waits are
	 * not "hung tasks" either: waiting long on user space is no kernel
	 * bug.)
	 */
	if (timeout_ns == CSX_WAIT_FOREVER)
		left = wait_for_completion_killable(&req->done);
	else
		left = wait_for_completion_killable_timeout(
			&req->done, kh_up_jiffies(timeout_ns));
	killed = left < 0;

	/* The state under the lock decides, whatever woke us. */
	mutex_lock(&up->lock);
	switch (req->state) {
	case KH_UP_DONE:
		ret = req->status;
		*out_len = req->out_len;
		break;
	case KH_UP_QUEUED: /* never reached the process */
		list_del_init(&req->node);
		WRITE_ONCE(up->nqueued, up->nqueued - 1);
		ret = killed ? -CSX_EINTR : -CSX_ETIMEDOUT;
		break;
	default: /* TAKEN: its reply, should one come, is dropped */
		list_del_init(&req->node);
		req->state = KH_UP_CANCELLED;
		ret = killed ? -CSX_EINTR : -CSX_ETIMEDOUT;
		break;
	}
	mutex_unlock(&up->lock);
	kref_put(&req->ref, kh_up_req_free);
	return ret;
}

int csx_kh_upcall_call(struct csx_kh_upchan *ch, u32 op, const void *in,
		       size_t in_len, void *out, size_t out_cap,
		       size_t *out_len, s64 timeout_ns)
{
	struct kh_up_req *req;

	*out_len = 0;
	if (in_len > CSX_KH_CALL_MAX || out_cap > CSX_KH_CALL_MAX)
		return -CSX_EMSGSIZE;
	if ((!in && in_len) || (!out && out_cap) ||
	    (timeout_ns < 0 && timeout_ns != CSX_WAIT_FOREVER))
		return -CSX_EINVAL;
	req = kh_up_req_new(in, in_len);
	if (!req)
		return -CSX_ENOMEM;
	req->out = out;
	req->out_cap = out_cap;
	return kh_up_call(ch, req, op, out_len, timeout_ns);
}
EXPORT_SYMBOL_GPL(csx_kh_upcall_call);

/*
 * The request holds a reference to @sb: a SERVE2 that takes it after its
 * caller gave up (and csx.ko freed the buffer) still finds the memory.
 */
int csx_kh_upcall_call_shbuf(struct csx_kh_upchan *ch, u32 op,
			     struct csx_kh_shmem *sb, size_t in_off,
			     size_t in_len, size_t out_off, size_t out_cap,
			     size_t *out_len, s64 timeout_ns)
{
	struct kh_up_req *req;

	*out_len = 0;
	if (!sb || in_off > sb->size || in_len > sb->size - in_off ||
	    out_off > sb->size || out_cap > sb->size - out_off ||
	    (timeout_ns < 0 && timeout_ns != CSX_WAIT_FOREVER))
		return -CSX_EINVAL;
	req = kh_up_req_new(NULL, 0);
	if (!req)
		return -CSX_ENOMEM;
	kref_get(&sb->ref);
	req->sb = sb;
	req->in_off = in_off;
	req->in_len = in_len;
	req->out_off = out_off;
	req->out_cap = out_cap;
	req->out = NULL;
	return kh_up_call(ch, req, op, out_len, timeout_ns);
}
EXPORT_SYMBOL_GPL(csx_kh_upcall_call_shbuf);

void csx_kh_upcall_close(struct csx_kh_upchan *ch)
{
	if (!ch)
		return;
	mutex_lock(&kh_up_mutex);
	list_del_init(&ch->node);
	mutex_unlock(&kh_up_mutex);
	/*
	 * Out of the list, nobody picks the channel any more; one picked
	 * before is being told now, and its @gone (csx.ko's) must be done
	 * with @ch->ctx before our caller frees it.
	 */
	wait_event(kh_up_gone_wq, !smp_load_acquire(&ch->telling));
	kref_put(&ch->ex->ref, kh_up_export_free);
	kfree(ch);
}
EXPORT_SYMBOL_GPL(csx_kh_upcall_close);
