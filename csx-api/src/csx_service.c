/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The service registry: exported services in a list under the core lock,
 * channels holding a reference to their service. A name not exported in
 * this address space is looked up by the back end (csx_os_remote_open()):
 * in user mode, services of kernel modules through the kernel helper
 * (/dev/csx); kernel -> user and user <-> user across processes come with
 * the user helper daemon. A channel is then either local (@svc, a direct
 * call in the caller's thread) or remote (@remote, every call handed to
 * csx_os_remote_call()); the API cannot tell them apart.
 *
 * Withdrawing a service must not free it under an open channel nor let its
 * handler run afterwards. So a service carries a reference count (one for
 * the registry, one per channel) and an in-flight call count: unexport
 * marks it dead, waits for in-flight calls to drain and drops the
 * registry's reference; the last channel to close frees it. A call bumps
 * the in-flight count before looking at the dead flag and unexport sets
 * the flag before reading the count (both sequentially consistent), so
 * either the call sees "dead" or unexport sees the call.
 */
#include "csx_core.h"

struct csx_service {
	uint32_t magic;
	uint32_t refs;
	uint32_t inflight;
	bool dead;
	enum csx_service_scope scope;
	uint64_t idempotent;
	struct csx_service *next;
	csx_service_fn fn;
	void *ctx;
	uint32_t version;
	char name[CSX_SERVICE_NAME_MAX];
};

/*
 * A remote channel's binding to one back-end channel. Recovery replaces
 * the binding while calls may still be using the old one: each call holds
 * a use count, and a replaced ("retired") binding's back-end channel is
 * closed by whoever drops its last use. A call takes its use without a
 * lock (csx__bind_get()), so the structure itself stays until csx_close():
 * a caller may still be about to count itself on a binding just replaced.
 * The fields are atomics; the core lock only orders re-opens with death
 * notices.
 */
struct csx__rbind {
	struct csx_os_rchan *rc;
	struct csx__rbind *older; /* the binding this one replaced */
	uint32_t users;
	bool dead;    /* the peer died: re-open before the next call */
	bool retired; /* replaced: close at the last use */
	bool closed;  /* @rc closed (once, by whoever sees it last) */
};

struct csx_chan {
	uint32_t magic;
	uint32_t version;	 /* the service's, set at (re)open */
	uint32_t async_pending;	 /* completions and watch not run yet */
	struct csx_service *svc; /* local: referenced service, or NULL */
	bool remote;		 /* fixed at open: @bind, not @svc */
	/* Remote only: */
	struct csx__rbind *bind;     /* current binding, under the core lock */
	struct csx_os_mutex *reopen; /* one re-open at a time */
	uint64_t idempotent;	     /* the service's re-issuable ops */
	uint32_t recovery_ms;	     /* csx_chan_set_recovery() */
	uint32_t min_version;
	char name[CSX__NAME_MAX];
	/* Under the core lock: */
	struct csx_chan *next; /* csx__chans */
	bool gone;	       /* the service went away: told or to tell */
	csx_chan_gone_fn watch;
	void *watch_ctx;
};

/*
 * A shared buffer: memory the back end made for one kind of domain. Calls
 * using it count in @inflight, so it is never freed under one.
 */
struct csx_shbuf {
	uint32_t magic;
	uint32_t inflight;
	struct csx_os_shbuf *os;
	void *addr;
	size_t size;
};

/* A shared-buffer call's payloads, or NULL for an inline call. */
struct csx__sbcall {
	struct csx_shbuf *sb;
	size_t in_off;
	size_t out_off;
};

/* Shared buffers are rounded up to this. */
#define CSX__SHBUF_PAGE 4096u

/* Re-issues of one idempotent call, at most (a handler that itself keeps
 * answering -CSX_EPEERDIED must not make the caller loop; with the pauses
 * below, 16 re-issues outlast the default recovery window). */
#define CSX__REISSUE_MAX 16
/* After a re-issue that met a dead peer again: first pause, and most. */
#define CSX__REISSUE_PAUSE_NS ((int64_t)(10 * CSX_NSEC_PER_MSEC))
#define CSX__REISSUE_PAUSE_MAX_NS ((int64_t)(500 * CSX_NSEC_PER_MSEC))
/* Between re-open attempts that failed before the window ended. */
#define CSX__REOPEN_PAUSE_NS ((int64_t)(50 * CSX_NSEC_PER_MSEC))

static struct csx_service *csx__services;
/* Every open channel, for the death notices (csx_chan_watch()). */
static struct csx_chan *csx__chans;

static void csx__async_start(void);
static void csx__chan_gone_locked(struct csx_chan *chan);

/*
 * Remote channels whose peer went away before the core linked them: a back
 * end may report the death (csx__remote_peer_gone()) while its open is
 * still returning. Kept until the channel is linked or closed, so the
 * death is not lost; a handful at most, for a moment.
 */
#define CSX__GONE_EARLY 16
static struct csx_os_rchan *csx__gone_early[CSX__GONE_EARLY];
static unsigned int csx__gone_early_next;

/* Core lock held: was @rc reported gone early? Forgets it either way. */
static bool csx__gone_early_take(struct csx_os_rchan *rc)
{
	unsigned int i;

	for (i = 0; i < CSX__GONE_EARLY; i++) {
		if (csx__gone_early[i] == rc) {
			csx__gone_early[i] = NULL;
			return true;
		}
	}
	return false;
}

/* Core lock held. */
static void csx__gone_early_add(struct csx_os_rchan *rc)
{
	unsigned int i;

	for (i = 0; i < CSX__GONE_EARLY; i++) {
		if (!csx__gone_early[i]) {
			csx__gone_early[i] = rc;
			return;
		}
	}
	/* Full: the oldest guess goes (its channel then learns of the
	 * death from its next call, as before this list existed). */
	csx__gone_early[csx__gone_early_next++ % CSX__GONE_EARLY] = rc;
}

/*
 * Back-end channels being closed. A back end may report a death until its
 * close returns (one it is telling finishes first); such a report is for
 * nobody and must not be kept as an early one, or the next channel the
 * back end allocates at the same address would be born dead.
 */
#define CSX__CLOSING 16
static struct csx_os_rchan *csx__closing[CSX__CLOSING];

/* Core lock held: is @rc being closed? */
static bool csx__closing_has(struct csx_os_rchan *rc)
{
	unsigned int i;

	for (i = 0; i < CSX__CLOSING; i++) {
		if (csx__closing[i] == rc)
			return true;
	}
	return false;
}

/* Close a back-end channel; a "gone" for it must not outlive it. */
static void csx__rc_close(struct csx_os_rchan *rc)
{
	unsigned int i;

	for (;;) {
		csx__core_lock();
		csx__gone_early_take(rc);
		for (i = 0; i < CSX__CLOSING && csx__closing[i]; i++)
			;
		if (i < CSX__CLOSING)
			csx__closing[i] = rc;
		csx__core_unlock();
		if (i < CSX__CLOSING)
			break;
		/* As many closes at once as slots: rare, and short. */
		csx_os_thread_sleep(CSX__POLL_NS);
	}
	csx_os_remote_close(rc);
	csx__core_lock();
	csx__closing[i] = NULL;
	csx__core_unlock();
}

static void csx__chan_link(struct csx_chan *chan)
{
	csx__core_lock();
	chan->next = csx__chans;
	csx__chans = chan;
	if (chan->remote && csx__gone_early_take(chan->bind->rc)) {
		__atomic_store_n(&chan->bind->dead, true, __ATOMIC_RELAXED);
		csx__chan_gone_locked(chan);
	}
	csx__core_unlock();
}

static void csx__chan_unlink(struct csx_chan *chan)
{
	csx__core_lock();
	csx__slist_unlink(&csx__chans, chan);
	csx__core_unlock();
}

static int csx__service_name_check(const char *func, const char *name)
{
	if (csx__name_ok(name))
		return 0;
	csx_err("%s(): bad service name; want \"module/service\", printable, "
		"under %d bytes",
		func, CSX_SERVICE_NAME_MAX);
	return -CSX_EINVAL;
}

static void csx__service_put(struct csx_service *svc)
{
	if (__atomic_sub_fetch(&svc->refs, 1, __ATOMIC_ACQ_REL))
		return;
	csx__magic_set(svc, CSX__MAGIC_DEAD);
	csx__free(svc);
	csx__live_dec(CSX__T_SERVICE);
}

/* Caller holds the core lock. */
static struct csx_service **csx__service_find(const char *name)
{
	struct csx_service **pos;

	for (pos = &csx__services; *pos; pos = &(*pos)->next) {
		if (csx__strcmp((*pos)->name, name) == 0)
			return pos;
	}
	return NULL;
}

static int csx__service_publish(struct csx_service *svc)
{
	int ret = 0;

	csx__core_lock();
	if (csx__service_find(svc->name)) {
		ret = -CSX_EEXIST;
	} else {
		svc->next = csx__services;
		csx__services = svc;
	}
	csx__core_unlock();
	return ret;
}

int csx_service_export_opts(const char *name, uint32_t version,
			    const struct csx_service_opts *opts,
			    csx_service_fn fn, void *ctx,
			    struct csx_service **out)
{
	enum csx_service_scope scope = opts ? opts->scope : CSX_SERVICE_USER;
	struct csx_service *svc;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	ret = csx__service_name_check("csx_service_export", name);
	if (ret)
		return ret;
	if (!fn)
		return -CSX_EINVAL;
	if (scope != CSX_SERVICE_PRIVATE && scope != CSX_SERVICE_USER &&
	    scope != CSX_SERVICE_PUBLIC) {
		csx_err("csx_service_export(%s): bad scope %d", name,
			(int)scope);
		return -CSX_EINVAL;
	}
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (!csx__core_ready())
		return csx__not_ready(__func__);
	svc = csx__zalloc(sizeof(*svc));
	if (!svc)
		return -CSX_ENOMEM;
	csx__strlcpy(svc->name, name, sizeof(svc->name));
	svc->version = version;
	svc->fn = fn;
	svc->ctx = ctx;
	svc->scope = scope;
	svc->idempotent = opts ? opts->idempotent : 0;
	svc->refs = 1;
	svc->magic = CSX__MAGIC_SERVICE;
	ret = csx__service_publish(svc);
	if (ret) {
		csx_err("csx_service_export(): service %s already exported",
			name);
		csx__free(svc);
		return ret;
	}
	csx__live_inc(CSX__T_SERVICE);
	/*
	 * Other domains hear of it only once it is callable here: a caller
	 * the back end lets in finds it in the registry.
	 */
	if (scope != CSX_SERVICE_PRIVATE) {
		ret = csx_os_service_publish(name, version, scope,
					     svc->idempotent);
		if (ret) {
			if (ret == -CSX_EEXIST)
				csx_err("csx_service_export(): service %s is "
					"exported by another user's process",
					name);
			svc->scope =
				CSX_SERVICE_PRIVATE; /* nothing to withdraw */
			csx_service_unexport(svc);
			return ret;
		}
	}
	*out = svc;
	return 0;
}

int csx_service_export_scope(const char *name, uint32_t version,
			     enum csx_service_scope scope, csx_service_fn fn,
			     void *ctx, struct csx_service **out)
{
	struct csx_service_opts opts = { .scope = scope };

	return csx_service_export_opts(name, version, &opts, fn, ctx, out);
}

int csx_service_export(const char *name, uint32_t version, csx_service_fn fn,
		       void *ctx, struct csx_service **out)
{
	return csx_service_export_opts(name, version, NULL, fn, ctx, out);
}

static void csx__service_unlink(struct csx_service *svc)
{
	csx__core_lock();
	csx__slist_unlink(&csx__services, svc);
	csx__core_unlock();
}

int csx_service_unexport(struct csx_service *svc)
{
	struct csx_chan *chan;
	int ret;

	if (!svc)
		return 0;
	if (!csx__magic_ok(svc, CSX__MAGIC_SERVICE))
		return csx__bad_handle(__func__, svc);
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	/* A second unexport now fails the handle check. */
	csx__magic_set(svc, CSX__MAGIC_SERVICE_GONE);
	if (svc->scope != CSX_SERVICE_PRIVATE)
		csx_os_service_withdraw(svc->name);
	csx__service_unlink(svc);
	__atomic_store_n(&svc->dead, true, __ATOMIC_SEQ_CST);
	csx__core_lock();
	for (chan = csx__chans; chan; chan = chan->next) {
		if (chan->svc == svc)
			csx__chan_gone_locked(chan);
	}
	csx__core_unlock();
	while (__atomic_load_n(&svc->inflight, __ATOMIC_SEQ_CST))
		csx_os_thread_sleep(CSX__POLL_NS);
	csx__service_put(svc);
	return 0;
}

/* Who is opening: this address space, or another domain. */
enum csx__opener {
	CSX__OPENER_LOCAL,
	CSX__OPENER_SAME_USER,
	CSX__OPENER_OTHER,
};

/* Take a reference on the live service @name at @min_version or newer. */
static int csx__service_lookup(const char *name, uint32_t min_version,
			       enum csx__opener who, struct csx_service **out)
{
	struct csx_service **pos;
	int ret = 0;

	csx__core_lock();
	pos = csx__service_find(name);
	if (!pos || (who != CSX__OPENER_LOCAL &&
		     (*pos)->scope == CSX_SERVICE_PRIVATE)) {
		ret = -CSX_ENOENT;
	} else if (who == CSX__OPENER_OTHER &&
		   (*pos)->scope == CSX_SERVICE_USER) {
		/* Debug only: the helpers log refusals, rate-limited. */
		csx_dbg("service %s refused to a caller of another user "
			"(exported with CSX_SERVICE_USER)",
			name);
		ret = -CSX_EPERM;
	} else if ((*pos)->version < min_version) {
		csx_err("csx_open(): service %s is version %u, caller needs %u "
			"or newer",
			name, (unsigned int)(*pos)->version,
			(unsigned int)min_version);
		ret = -CSX_EPROTO;
	} else {
		*out = *pos;
		__atomic_add_fetch(&(*pos)->refs, 1, __ATOMIC_RELAXED);
	}
	csx__core_unlock();
	return ret;
}

/* No such name in-process: ask the back end for one in another domain. */
static int csx__service_remote_open(const char *name, uint32_t min_version,
				    struct csx_chan *chan)
{
	struct csx_os_rchan *rc = NULL;
	uint64_t idempotent = 0;
	uint32_t version = 0;
	int ret;

	ret = csx_os_remote_open(name, min_version, 0, &rc, &version,
				 &idempotent);
	if (ret == -CSX_EPROTO)
		csx_err("csx_open(): service %s (in another domain) is older "
			"than version %u, which the caller needs",
			name, (unsigned int)min_version);
	if (ret)
		return ret;
	if (version < min_version) { /* a back end that did not check */
		csx__rc_close(rc);
		csx_err("csx_open(): service %s is version %u, caller needs %u "
			"or newer",
			name, (unsigned int)version, (unsigned int)min_version);
		return -CSX_EPROTO;
	}
	chan->bind = csx__zalloc(sizeof(*chan->bind));
	if (!chan->bind || csx_os_mutex_create(&chan->reopen)) {
		csx__free(chan->bind);
		chan->bind = NULL;
		csx__rc_close(rc);
		return -CSX_ENOMEM;
	}
	chan->bind->rc = rc;
	chan->remote = true;
	chan->version = version;
	chan->idempotent = idempotent;
	chan->recovery_ms = idempotent ? CSX_CHAN_RECOVERY_DEFAULT_MS : 0;
	chan->min_version = min_version;
	csx__strlcpy(chan->name, name, sizeof(chan->name));
	return 0;
}

int csx_open(const char *name, uint32_t min_version, struct csx_chan **out)
{
	struct csx_chan *chan;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	ret = csx__service_name_check(__func__, name);
	if (ret)
		return ret;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (!csx__core_ready())
		return csx__not_ready(__func__);
	chan = csx__zalloc(sizeof(*chan));
	if (!chan)
		return -CSX_ENOMEM;
	ret = csx__service_lookup(name, min_version, CSX__OPENER_LOCAL,
				  &chan->svc);
	if (!ret)
		chan->version = chan->svc->version;
	else if (ret == -CSX_ENOENT)
		ret = csx__service_remote_open(name, min_version, chan);
	if (ret) {
		csx__free(chan);
		return ret;
	}
	csx__async_start();
	chan->magic = CSX__MAGIC_CHAN;
	csx__chan_link(chan);
	csx__live_inc(CSX__T_CHAN);
	*out = chan;
	return 0;
}

int csx__service_open_for(const char *name, uint32_t min_version,
			  bool same_user, struct csx_chan **out)
{
	struct csx_chan *chan;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (!csx__name_ok(name))
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (!csx__core_ready())
		return csx__not_ready(__func__);
	chan = csx__zalloc(sizeof(*chan));
	if (!chan)
		return -CSX_ENOMEM;
	ret = csx__service_lookup(name, min_version,
				  same_user ? CSX__OPENER_SAME_USER :
					      CSX__OPENER_OTHER,
				  &chan->svc);
	if (ret) {
		csx__free(chan);
		return ret;
	}
	chan->version = chan->svc->version;
	chan->magic = CSX__MAGIC_CHAN;
	csx__chan_link(chan);
	csx__live_inc(CSX__T_CHAN);
	*out = chan;
	return 0;
}

uint32_t csx_chan_version(struct csx_chan *chan)
{
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN)) {
		csx__bad_handle(__func__, chan);
		return 0;
	}
	return __atomic_load_n(&chan->version, __ATOMIC_RELAXED);
}

static int csx__call_check(const void *in, size_t in_len, const void *out,
			   size_t out_cap, int64_t timeout_ns)
{
	if (timeout_ns < 0 && timeout_ns != CSX_WAIT_FOREVER)
		return -CSX_EINVAL;
	if ((!in && in_len) || (!out && out_cap))
		return -CSX_EINVAL;
	if (in_len > CSX_CALL_MAX_PAYLOAD || out_cap > CSX_CALL_MAX_PAYLOAD)
		return -CSX_EMSGSIZE;
	return 0;
}

/* The direct, in-process path: run the handler in the caller's thread. */
static csx__always_inline int csx__call_local(struct csx_service *svc,
					      uint32_t op, const void *in,
					      size_t in_len, void *out,
					      size_t out_cap, size_t *out_len)
{
	size_t len = 0;
	int ret;

	__atomic_add_fetch(&svc->inflight, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&svc->dead, __ATOMIC_SEQ_CST)) {
		ret = -CSX_EPEERDIED;
		goto out;
	}
	ret = svc->fn(svc->ctx, op, in, in_len, out, out_cap, &len);
	if (len > out_cap) {
		csx_err("service %s op %u claims a %zu-byte response in a "
			"%zu-byte buffer",
			svc->name, (unsigned int)op, len, out_cap);
		ret = -CSX_EOVERFLOW;
		len = 0;
	}
out:
	__atomic_sub_fetch(&svc->inflight, 1, __ATOMIC_SEQ_CST);
	*out_len = len;
	return ret;
}

/* Close a retired binding's back-end channel, exactly once. */
static void csx__bind_close(struct csx__rbind *b)
{
	if (!__atomic_exchange_n(&b->closed, true, __ATOMIC_ACQ_REL))
		csx__rc_close(b->rc);
}

/* Drop a use; @died: the call found the peer dead. Thread context. */
static inline void csx__bind_put(struct csx__rbind *b, bool died)
{
	if (died)
		__atomic_store_n(&b->dead, true, __ATOMIC_RELAXED);
	/*
	 * Pairs with csx__chan_reopen(), which marks the binding retired
	 * and then reads the count: one of the two sees the other's write.
	 */
	if (!__atomic_sub_fetch(&b->users, 1, __ATOMIC_SEQ_CST) &&
	    __atomic_load_n(&b->retired, __ATOMIC_SEQ_CST))
		csx__bind_close(b);
}

/*
 * Take a use of the channel's current binding, without a lock: count
 * ourselves, then check it is still the current one (a re-open may have
 * replaced it in between, and then may not have seen our count).
 */
static csx__always_inline struct csx__rbind *
csx__bind_get(struct csx_chan *chan)
{
	struct csx__rbind *b;

	for (;;) {
		b = __atomic_load_n(&chan->bind, __ATOMIC_ACQUIRE);
		__atomic_add_fetch(&b->users, 1, __ATOMIC_SEQ_CST);
		if (csx__likely(__atomic_load_n(&chan->bind,
						__ATOMIC_SEQ_CST) == b))
			return b;
		csx__bind_put(b, false);
	}
}

/* Nanoseconds left before @deadline (0: none left); -1: no deadline. */
static int64_t csx__left_ns(int64_t deadline)
{
	uint64_t now;

	if (deadline < 0)
		return -1;
	now = csx_os_time_ns();
	return (uint64_t)deadline > now ? deadline - (int64_t)now : 0;
}

/*
 * The peer behind binding @old died: open the service again (another
 * instance, or the restarted one), waiting up to the recovery window and
 * never past @deadline, and make that the channel's binding. 0 if the
 * channel has a live binding now (perhaps another caller's re-open).
 */
static int csx__chan_reopen(struct csx_chan *chan, struct csx__rbind *old,
			    int64_t deadline)
{
	struct csx__rbind *cur, *nb;
	struct csx_os_rchan *rc = NULL;
	uint64_t idempotent = 0;
	uint32_t version = 0;
	int64_t wait_ns, left, until;
	bool close_cur;
	int ret;

	csx_os_mutex_lock(chan->reopen);
	csx__core_lock();
	cur = chan->bind;
	ret = (cur != old && !__atomic_load_n(&cur->dead, __ATOMIC_RELAXED)) ?
		      0 :
		      1;
	csx__core_unlock();
	if (!ret)
		goto out;
	wait_ns =
		(int64_t)__atomic_load_n(&chan->recovery_ms, __ATOMIC_RELAXED) *
		CSX_NSEC_PER_MSEC;
	left = csx__left_ns(deadline);
	if (left >= 0 && left < wait_ns)
		wait_ns = left;
	ret = -CSX_EPEERDIED;
	if (wait_ns <= 0)
		goto out;
	until = (int64_t)csx_os_time_ns() + wait_ns;
	for (;;) {
		ret = csx_os_remote_open(chan->name, chan->min_version, wait_ns,
					 &rc, &version, &idempotent);
		/*
		 * Refusals are final. Anything else (not there yet, a
		 * helper that is slow or restarting: -CSX_ENOENT, -CSX_EIO)
		 * is tried again while the window lasts.
		 */
		if (!ret || ret == -CSX_EPERM || ret == -CSX_EPROTO ||
		    ret == -CSX_EINVAL)
			break;
		wait_ns = csx__left_ns(until);
		if (wait_ns <= 0)
			break;
		csx_os_thread_sleep(wait_ns < CSX__REOPEN_PAUSE_NS ?
					    (uint64_t)wait_ns :
					    CSX__REOPEN_PAUSE_NS);
		wait_ns = csx__left_ns(until);
		if (wait_ns <= 0)
			break;
	}
	if (ret || version < chan->min_version) {
		if (!ret)
			csx__rc_close(rc);
		csx_warn("channel to %s: the service did not come back (%s)",
			 chan->name,
			 ret ? csx_status_name(ret) : "older version");
		ret = -CSX_EPEERDIED;
		goto out;
	}
	nb = csx__zalloc(sizeof(*nb));
	if (!nb) {
		csx__rc_close(rc);
		ret = -CSX_EPEERDIED;
		goto out;
	}
	nb->rc = rc;
	csx__core_lock();
	cur = chan->bind;
	nb->older = cur; /* freed at csx_close() */
	if (csx__gone_early_take(nb->rc))
		nb->dead = true;
	__atomic_store_n(&chan->version, version, __ATOMIC_RELAXED);
	__atomic_store_n(&chan->idempotent, idempotent, __ATOMIC_RELAXED);
	__atomic_store_n(&chan->bind, nb, __ATOMIC_SEQ_CST);
	chan->gone = false; /* the watch runs again at the next death */
	if (nb->dead)
		csx__chan_gone_locked(chan);
	/* Pairs with csx__bind_get() and csx__bind_put(). */
	__atomic_store_n(&cur->retired, true, __ATOMIC_SEQ_CST);
	close_cur = !__atomic_load_n(&cur->users, __ATOMIC_SEQ_CST);
	csx__core_unlock();
	if (close_cur)
		csx__bind_close(cur);
	csx_info("channel to %s: service back, channel re-opened", chan->name);
	ret = 0;
out:
	csx_os_mutex_unlock(chan->reopen);
	return ret;
}

/*
 * A call through the back end. When the peer dies: a call to an op the
 * service declared idempotent is re-issued on a re-opened channel; others
 * fail with -CSX_EPEERDIED, and the next call re-opens first.
 */
static csx__always_inline int
csx__call_remote(struct csx_chan *chan, uint32_t op,
		 const struct csx__sbcall *sbc, const void *in, size_t in_len,
		 void *out, size_t out_cap, size_t *out_len, int64_t timeout_ns)
{
	int64_t deadline = -1, left, pause = CSX__REISSUE_PAUSE_NS;
	unsigned int reissued = 0;
	bool recover, again, first = true;
	struct csx__rbind *b;
	size_t len;
	int ret;

	/*
	 * Only a channel that may re-open and re-issue needs the time the
	 * call started; otherwise the one attempt gets @timeout_ns as it is.
	 * The clock is not free everywhere: where the vDSO cannot read it
	 * (a guest on HPET), each reading is a system call.
	 */
	recover = __atomic_load_n(&chan->recovery_ms, __ATOMIC_RELAXED) != 0;
	if (timeout_ns != CSX_WAIT_FOREVER && recover)
		deadline = (int64_t)csx_os_time_ns() + timeout_ns;
	for (;;) {
		if (!first) {
			recover = __atomic_load_n(&chan->recovery_ms,
						  __ATOMIC_RELAXED) != 0;
			/* Recovery switched on during the call: from now. */
			if (timeout_ns != CSX_WAIT_FOREVER && deadline < 0)
				deadline =
					(int64_t)csx_os_time_ns() + timeout_ns;
		}
		b = csx__bind_get(chan);
		if (__atomic_load_n(&b->dead, __ATOMIC_RELAXED) && recover) {
			csx__bind_put(b, false);
			if (csx__chan_reopen(chan, b, deadline))
				return -CSX_EPEERDIED;
			first = false;
			continue;
		}
		if (first)
			left = timeout_ns == CSX_WAIT_FOREVER ? -1 : timeout_ns;
		else
			left = csx__left_ns(deadline);
		first = false;
		len = 0;
		/* The back end bounds the wait by @timeout_ns. */
		if (sbc)
			ret = csx_os_remote_call_shbuf(
				b->rc, op, sbc->sb->os, sbc->in_off, in_len,
				sbc->out_off, out_cap, &len,
				left < 0 ? CSX_WAIT_FOREVER : left);
		else
			ret = csx_os_remote_call(
				b->rc, op, in, in_len, out, out_cap, &len,
				left < 0 ? CSX_WAIT_FOREVER : left);
		if (len > out_cap) {
			csx_err("csx_call(): remote op %u answered %zu bytes "
				"into a %zu-byte buffer",
				(unsigned int)op, len, out_cap);
			ret = -CSX_EIO;
			len = 0;
		}
		csx__bind_put(b, ret == -CSX_EPEERDIED);
		again = ret == -CSX_EPEERDIED && recover && op < 64 &&
			(__atomic_load_n(&chan->idempotent, __ATOMIC_RELAXED) &
			 CSX_OP_BIT(op)) &&
			reissued < CSX__REISSUE_MAX;
		if (!again) {
			*out_len = len;
			return ret;
		}
		/*
		 * Died again on a channel just re-opened: a peer still on
		 * its way out, which a registry can list for a moment. Pause,
		 * growing, so re-issues do not spin through it.
		 */
		if (reissued) {
			left = csx__left_ns(deadline);
			if (!left)
				return -CSX_EPEERDIED;
			csx_os_thread_sleep(left > 0 && left < pause ?
						    (uint64_t)left :
						    (uint64_t)pause);
			pause = pause * 2 < CSX__REISSUE_PAUSE_MAX_NS ?
					pause * 2 :
					CSX__REISSUE_PAUSE_MAX_NS;
		}
		if (csx__chan_reopen(chan, b, deadline))
			return -CSX_EPEERDIED;
		reissued++;
		csx_dbg("channel to %s: op %u re-issued after the service "
			"came back",
			chan->name, (unsigned int)op);
	}
}

/*
 * A checked call, in thread context: local or through the back end. With
 * @sbc, @in and @out point into the shared buffer (the in-process path
 * uses them; a remote one passes the buffer and the offsets).
 */
static csx__always_inline int csx__call_do(struct csx_chan *chan, uint32_t op,
					   const struct csx__sbcall *sbc,
					   const void *in, size_t in_len,
					   void *out, size_t out_cap,
					   size_t *out_len, int64_t timeout_ns)
{
	size_t len = 0;
	int ret;

	if (chan->remote) {
		ret = csx__call_remote(chan, op, sbc, in, in_len, out, out_cap,
				       &len, timeout_ns);
	} else {
		ret = csx__call_local(chan->svc, op, in, in_len, out, out_cap,
				      &len);
	}
	*out_len = len;
	return ret;
}

int csx_call(struct csx_chan *chan, uint32_t op, const void *in, size_t in_len,
	     void *out, size_t out_cap, size_t *out_len, int64_t timeout_ns)
{
	size_t len = 0;
	int ret;

	if (out_len)
		*out_len = 0;
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(__func__, chan);
	ret = csx__call_check(in, in_len, out, out_cap, timeout_ns);
	if (ret)
		return ret;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	ret = csx__call_do(chan, op, NULL, in, in_len, out, out_cap, &len,
			   timeout_ns);
	if (out_len)
		*out_len = len;
	return ret;
}

static __attribute__((__noinline__)) int
csx__call_remote_ool(struct csx_chan *chan, uint32_t op, const void *in,
		     size_t in_len, void *out, size_t out_cap, size_t *out_len,
		     int64_t timeout_ns)
{
	return csx__call_remote(chan, op, NULL, in, in_len, out, out_cap,
				out_len, timeout_ns);
}

int csx__call_for(struct csx_chan *chan, uint32_t op, const void *in,
		  size_t in_len, void *out, size_t out_cap, size_t *out_len,
		  int64_t timeout_ns)
{
	int ret;

	*out_len = 0;
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(__func__, chan);
	ret = csx__call_check(in, in_len, out, out_cap, timeout_ns);
	if (ret)
		return ret;
	/*
	 * No context check: back ends call this from their own threads.
	 * Their channels are nearly always in-process ones (a kernel
	 * helper's into a kernel service): that path alone inline.
	 */
	if (csx__likely(!chan->remote))
		return csx__call_local(chan->svc, op, in, in_len, out, out_cap,
				       out_len);
	return csx__call_remote_ool(chan, op, in, in_len, out, out_cap, out_len,
				    timeout_ns);
}

int csx__call_mapped(struct csx_chan *chan, uint32_t op, const void *in,
		     size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
	int ret;

	*out_len = 0;
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(__func__, chan);
	if ((!in && in_len) || (!out && out_cap))
		return -CSX_EINVAL;
	if (in_len > CSX_SHBUF_MAX || out_cap > CSX_SHBUF_MAX)
		return -CSX_EMSGSIZE;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	return csx__call_do(chan, op, NULL, in, in_len, out, out_cap, out_len,
			    CSX_WAIT_FOREVER);
}

/*
 * Asynchronous calls: a FIFO of requests under a spinlock (queued from any
 * context but ISR), a semaphore counting them, and CSX_CALL_ASYNC_WORKERS
 * threads that make each call synchronously and then run its completion.
 * The workers start with the first channel (csx_open() is thread context;
 * csx_call_async() may not be) and stop at core fini, when no channel is
 * left. A channel counts its calls not completed; csx_close() waits for 0.
 */
struct csx__async_req {
	struct csx__async_req *next;
	struct csx_chan *chan;
	bool watch; /* not a call: run the channel's watch function */
	uint32_t op;
	const void *in;
	size_t in_len;
	void *out;
	size_t out_cap;
	int64_t timeout_ns;
	csx_call_done_fn done;
	void *ctx;
	bool shared; /* a csx_call_shbuf_async(): @sbc */
	struct csx__sbcall sbc;
};

static struct {
	bool running;  /* workers started; read without the lock */
	bool stopping; /* fini: workers return once the queue is empty */
	struct csx_os_spinlock *lock;
	struct csx_os_sem *sem;
	struct csx__async_req *head, **tail;
	struct csx_os_thread *workers[CSX_CALL_ASYNC_WORKERS];
} csx__async;

static void csx__async_push(struct csx__async_req *req)
{
	req->next = NULL;
	__atomic_add_fetch(&req->chan->async_pending, 1, __ATOMIC_RELAXED);
	csx_os_spin_lock(csx__async.lock);
	*csx__async.tail = req;
	csx__async.tail = &req->next;
	csx_os_spin_unlock(csx__async.lock);
	csx_os_sem_up(csx__async.sem);
}

static int csx__async_worker(void *arg)
{
	struct csx__async_req *req;
	struct csx_chan *chan;
	size_t len;
	int ret;

	(void)arg;
	for (;;) {
		csx_os_sem_down(csx__async.sem, CSX_WAIT_FOREVER);
		csx_os_spin_lock(csx__async.lock);
		req = csx__async.head;
		if (req) {
			csx__async.head = req->next;
			if (!csx__async.head)
				csx__async.tail = &csx__async.head;
		}
		csx_os_spin_unlock(csx__async.lock);
		if (!req) {
			if (__atomic_load_n(&csx__async.stopping,
					    __ATOMIC_ACQUIRE))
				return 0;
			continue;
		}
		chan = req->chan;
		if (req->watch) {
			chan->watch(chan->watch_ctx);
		} else {
			len = 0;
			ret = csx__call_do(chan, req->op,
					   req->shared ? &req->sbc : NULL,
					   req->in, req->in_len, req->out,
					   req->out_cap, &len, req->timeout_ns);
			if (req->shared)
				__atomic_sub_fetch(&req->sbc.sb->inflight, 1,
						   __ATOMIC_RELEASE);
			req->done(req->ctx, ret, len);
		}
		csx_os_free(req);
		/* Last touch of @chan: csx_close() may free it now. */
		__atomic_sub_fetch(&chan->async_pending, 1, __ATOMIC_RELEASE);
	}
}

static void csx__async_teardown(unsigned int nworkers)
{
	unsigned int i;

	__atomic_store_n(&csx__async.stopping, true, __ATOMIC_RELEASE);
	for (i = 0; i < nworkers; i++)
		csx_os_sem_up(csx__async.sem);
	for (i = 0; i < nworkers; i++) {
		csx_os_thread_join(csx__async.workers[i]);
		csx__async.workers[i] = NULL;
	}
	if (csx__async.sem)
		csx_os_sem_destroy(csx__async.sem);
	if (csx__async.lock)
		csx_os_spin_destroy(csx__async.lock);
	csx__async.sem = NULL;
	csx__async.lock = NULL;
	csx__async.stopping = false;
}

/* Start the workers once; a failure is reported by csx_call_async(). */
static void csx__async_start(void)
{
	unsigned int i = 0;
	int ret;

	if (__atomic_load_n(&csx__async.running, __ATOMIC_ACQUIRE))
		return;
	csx__core_lock();
	if (csx__async.running)
		goto out;
	csx__async.head = NULL;
	csx__async.tail = &csx__async.head;
	ret = csx_os_spin_create(&csx__async.lock);
	if (!ret)
		ret = csx_os_sem_create(&csx__async.sem, 0);
	for (; !ret && i < CSX_CALL_ASYNC_WORKERS; i++) {
		ret = csx_os_thread_create(&csx__async.workers[i], "csx-call",
					   csx__async_worker, NULL);
		if (ret)
			break;
	}
	if (ret) {
		csx_warn("asynchronous calls unavailable: cannot start their "
			 "workers (%d)",
			 ret);
		csx__async_teardown(i);
		goto out;
	}
	__atomic_store_n(&csx__async.running, true, __ATOMIC_RELEASE);
out:
	csx__core_unlock();
}

void csx__service_fini(void)
{
	if (!csx__async.running)
		return;
	csx__async.running = false;
	csx__async_teardown(CSX_CALL_ASYNC_WORKERS);
}

/* Queue a checked call for the workers; @sbc: a shared-buffer call. */
static int csx__async_queue(struct csx_chan *chan, uint32_t op,
			    const struct csx__sbcall *sbc, const void *in,
			    size_t in_len, void *out, size_t out_cap,
			    int64_t timeout_ns, csx_call_done_fn done,
			    void *ctx)
{
	struct csx__async_req *req;

	if (csx_os_context() & CSX_OS_CTX_ISR) {
		csx_err("csx_call_async() from an ISR: queue a DPC and call "
			"from there");
		return -CSX_EDEADLK;
	}
	if (!__atomic_load_n(&csx__async.running, __ATOMIC_ACQUIRE))
		return -CSX_ENOMEM; /* the workers could not start: logged */
	req = csx_os_alloc(sizeof(*req), true);
	if (!req)
		return -CSX_ENOMEM;
	req->chan = chan;
	req->watch = false;
	req->op = op;
	req->in = in;
	req->in_len = in_len;
	req->out = out;
	req->out_cap = out_cap;
	req->timeout_ns = timeout_ns;
	req->done = done;
	req->ctx = ctx;
	req->shared = sbc != NULL;
	if (sbc) {
		req->sbc = *sbc;
		/* Held until the call is made: csx_shbuf_free() refuses. */
		__atomic_add_fetch(&sbc->sb->inflight, 1, __ATOMIC_SEQ_CST);
	}
	csx__async_push(req);
	return 0;
}

int csx_call_async(struct csx_chan *chan, uint32_t op, const void *in,
		   size_t in_len, void *out, size_t out_cap, int64_t timeout_ns,
		   csx_call_done_fn done, void *ctx)
{
	int ret;

	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(__func__, chan);
	if (!done)
		return -CSX_EINVAL;
	ret = csx__call_check(in, in_len, out, out_cap, timeout_ns);
	if (ret)
		return ret;
	return csx__async_queue(chan, op, NULL, in, in_len, out, out_cap,
				timeout_ns, done, ctx);
}

/*
 * Core lock held: the service behind @chan went away. Its watch function
 * (if any, and once) is queued to the call workers.
 */
static void csx__chan_gone_locked(struct csx_chan *chan)
{
	struct csx__async_req *req;

	if (chan->gone)
		return;
	chan->gone = true;
	if (!chan->watch)
		return;
	req = __atomic_load_n(&csx__async.running, __ATOMIC_ACQUIRE) ?
		      csx_os_alloc(sizeof(*req), true) :
		      NULL;
	if (!req) {
		csx_err("a channel's service went away, but its watch "
			"function cannot be queued (out of memory)");
		return;
	}
	__builtin_memset(req, 0, sizeof(*req));
	req->chan = chan;
	req->watch = true;
	csx__async_push(req);
}

void csx__remote_peer_gone(struct csx_os_rchan *rc)
{
	struct csx_chan *chan;

	csx__core_lock();
	for (chan = csx__chans; chan; chan = chan->next) {
		if (chan->bind && chan->bind->rc == rc) {
			__atomic_store_n(&chan->bind->dead, true,
					 __ATOMIC_RELAXED);
			csx__chan_gone_locked(chan);
			break;
		}
	}
	/* Not linked yet (an open returning), or being closed. */
	if (!chan && !csx__closing_has(rc))
		csx__gone_early_add(rc);
	csx__core_unlock();
}

int csx_chan_watch(struct csx_chan *chan, csx_chan_gone_fn fn, void *ctx)
{
	int ret;

	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(__func__, chan);
	if (!fn)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	csx__core_lock();
	if (chan->watch) {
		ret = -CSX_EBUSY;
	} else {
		chan->watch = fn;
		chan->watch_ctx = ctx;
		/* Gone already: tell now, as if it had just happened. */
		if (chan->gone ||
		    (chan->svc &&
		     __atomic_load_n(&chan->svc->dead, __ATOMIC_SEQ_CST))) {
			chan->gone = false;
			csx__chan_gone_locked(chan);
		}
	}
	csx__core_unlock();
	return ret;
}

int csx_chan_set_recovery(struct csx_chan *chan, uint32_t window_ms)
{
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(__func__, chan);
	if (window_ms > CSX_CHAN_RECOVERY_MAX_MS) {
		csx_err("csx_chan_set_recovery(): %u ms is over the %u ms limit",
			(unsigned int)window_ms, CSX_CHAN_RECOVERY_MAX_MS);
		return -CSX_EINVAL;
	}
	__atomic_store_n(&chan->recovery_ms, window_ms, __ATOMIC_RELAXED);
	return 0;
}

void csx_close(struct csx_chan *chan)
{
	struct csx__rbind *b, *older;

	if (!chan)
		return;
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN)) {
		csx__bad_handle(__func__, chan);
		return;
	}
	if (csx__might_sleep(__func__))
		return;
	/* No new death notice after this; wait for the queued ones. */
	csx__chan_unlink(chan);
	while (__atomic_load_n(&chan->async_pending, __ATOMIC_ACQUIRE))
		csx_os_thread_sleep(CSX__POLL_NS);
	csx__magic_set(chan, CSX__MAGIC_DEAD);
	if (chan->remote) {
		/*
		 * No call in progress: the retired bindings' channels are
		 * closed already (but not their structures).
		 */
		for (b = chan->bind; b; b = older) {
			older = b->older;
			csx__bind_close(b);
			csx__free(b);
		}
		csx_os_mutex_destroy(chan->reopen);
	} else
		csx__service_put(chan->svc);
	csx__retire(chan);
	csx__live_dec(CSX__T_CHAN);
}

/* ---- Shared buffers ---------------------------------------------------- */

int csx_shbuf_alloc(struct csx_chan *chan, size_t size, struct csx_shbuf **out)
{
	struct csx__rbind *b = NULL;
	struct csx_shbuf *sb;
	int ret;

	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(__func__, chan);
	if (!out || !size) {
		csx_err("csx_shbuf_alloc(): %s", out ? "size 0" : "NULL out");
		return -CSX_EINVAL;
	}
	*out = NULL;
	if (size > CSX_SHBUF_MAX) {
		csx_err("csx_shbuf_alloc(): %zu bytes is over the %u-byte "
			"limit",
			size, CSX_SHBUF_MAX);
		return -CSX_EMSGSIZE;
	}
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	sb = csx__zalloc(sizeof(*sb));
	if (!sb)
		return -CSX_ENOMEM;
	sb->size =
		(size + CSX__SHBUF_PAGE - 1) & ~(size_t)(CSX__SHBUF_PAGE - 1);
	/* The channel's current binding says which kind of memory. */
	if (chan->remote)
		b = csx__bind_get(chan);
	ret = csx_os_shbuf_alloc(b ? b->rc : NULL, sb->size, &sb->os,
				 &sb->addr);
	if (b)
		csx__bind_put(b, false);
	if (ret) {
		csx_err("csx_shbuf_alloc(): %zu bytes for a channel to %s: %s",
			sb->size, chan->remote ? chan->name : chan->svc->name,
			csx_status_name(ret));
		csx__free(sb);
		return ret;
	}
	csx__magic_set(sb, CSX__MAGIC_SHBUF);
	csx__live_inc(CSX__T_SHBUF);
	*out = sb;
	return 0;
}

void *csx_shbuf_addr(struct csx_shbuf *sb)
{
	if (!csx__magic_ok(sb, CSX__MAGIC_SHBUF)) {
		csx__bad_handle(__func__, sb);
		return NULL;
	}
	return sb->addr;
}

size_t csx_shbuf_size(struct csx_shbuf *sb)
{
	if (!csx__magic_ok(sb, CSX__MAGIC_SHBUF)) {
		csx__bad_handle(__func__, sb);
		return 0;
	}
	return sb->size;
}

int csx_shbuf_free(struct csx_shbuf *sb)
{
	uint32_t magic = CSX__MAGIC_SHBUF;
	int ret;

	if (!sb)
		return 0;
	if (!csx__magic_ok(sb, CSX__MAGIC_SHBUF))
		return csx__bad_handle(__func__, sb);
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	/*
	 * Kill the handle first, then look for calls: a call counts itself
	 * before it checks the handle (csx__shbuf_get()), so either it sees
	 * the handle dead or this sees the call.
	 */
	if (!__atomic_compare_exchange_n(&sb->magic, &magic, CSX__MAGIC_DEAD,
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return csx__bad_handle(__func__, sb);
	if (__atomic_load_n(&sb->inflight, __ATOMIC_SEQ_CST)) {
		csx__magic_set(sb, CSX__MAGIC_SHBUF);
		csx_err("csx_shbuf_free(): a call using the buffer is in "
			"progress");
		return -CSX_EBUSY;
	}
	csx_os_shbuf_free(sb->os);
	csx__retire(sb);
	csx__live_dec(CSX__T_SHBUF);
	return 0;
}

/*
 * Check a shared-buffer call's handles and windows and count it on the
 * buffer (dropped with csx__shbuf_put()). Fills @sbc, @in and @out.
 */
static int csx__shbuf_get(const char *func, struct csx_chan *chan,
			  struct csx_shbuf *sb, size_t in_off, size_t in_len,
			  size_t out_off, size_t out_cap, int64_t timeout_ns,
			  struct csx__sbcall *sbc, void **in, void **out)
{
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(func, chan);
	if (timeout_ns < 0 && timeout_ns != CSX_WAIT_FOREVER)
		return -CSX_EINVAL;
	if (!sb)
		return csx__bad_handle(func, sb);
	__atomic_add_fetch(&sb->inflight, 1, __ATOMIC_SEQ_CST);
	if (!csx__magic_ok(sb, CSX__MAGIC_SHBUF)) {
		__atomic_sub_fetch(&sb->inflight, 1, __ATOMIC_SEQ_CST);
		return csx__bad_handle(func, sb);
	}
	if (in_off > sb->size || in_len > sb->size - in_off ||
	    out_off > sb->size || out_cap > sb->size - out_off) {
		__atomic_sub_fetch(&sb->inflight, 1, __ATOMIC_SEQ_CST);
		csx_err("%s(): window [%zu +%zu] or [%zu +%zu] outside the "
			"%zu-byte buffer",
			func, in_off, in_len, out_off, out_cap, sb->size);
		return -CSX_EINVAL;
	}
	sbc->sb = sb;
	sbc->in_off = in_off;
	sbc->out_off = out_off;
	*in = (char *)sb->addr + in_off;
	*out = (char *)sb->addr + out_off;
	return 0;
}

int csx_call_shbuf(struct csx_chan *chan, uint32_t op, struct csx_shbuf *sb,
		   size_t in_off, size_t in_len, size_t out_off, size_t out_cap,
		   size_t *out_len, int64_t timeout_ns)
{
	struct csx__sbcall sbc;
	void *in, *out;
	size_t len = 0;
	int ret;

	if (out_len)
		*out_len = 0;
	ret = csx__shbuf_get(__func__, chan, sb, in_off, in_len, out_off,
			     out_cap, timeout_ns, &sbc, &in, &out);
	if (ret)
		return ret;
	ret = csx__might_sleep(__func__);
	if (!ret) {
		ret = csx__call_do(chan, op, &sbc, in, in_len, out, out_cap,
				   &len, timeout_ns);
	}
	__atomic_sub_fetch(&sb->inflight, 1, __ATOMIC_RELEASE);
	if (out_len)
		*out_len = len;
	return ret;
}

int csx_call_shbuf_async(struct csx_chan *chan, uint32_t op,
			 struct csx_shbuf *sb, size_t in_off, size_t in_len,
			 size_t out_off, size_t out_cap, int64_t timeout_ns,
			 csx_call_done_fn done, void *ctx)
{
	struct csx__sbcall sbc;
	void *in, *out;
	int ret;

	if (!done) {
		if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
			return csx__bad_handle(__func__, chan);
		return -CSX_EINVAL;
	}
	ret = csx__shbuf_get(__func__, chan, sb, in_off, in_len, out_off,
			     out_cap, timeout_ns, &sbc, &in, &out);
	if (ret)
		return ret;
	/* The queued request holds its own count on the buffer. */
	ret = csx__async_queue(chan, op, &sbc, in, in_len, out, out_cap,
			       timeout_ns, done, ctx);
	__atomic_sub_fetch(&sb->inflight, 1, __ATOMIC_RELEASE);
	return ret;
}
