/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: services of other CSX processes, through the user
 * helper daemon csx-uhelperd (messages, lane layout and lane states in
 * helpers/include/csx_uh_proto.h; the interface in csx_uh.h).
 *
 * One back-end thread, "csx-uh", runs its own libevent loop and owns every
 * socket: the process's one connection to the daemon, made on the first
 * publish or open and made again with backoff while services are
 * published (so an exporter started before the daemon becomes reachable,
 * and a restarted daemon learns our services again), and every channel
 * socket. API threads send their daemon requests themselves, under
 * uh.lock, and sleep on uh.cond for the reply the thread hands them,
 * bounded by UH_REPLY_NS. The thread itself only ever waits for locks:
 * service handlers run in lane threads, never on it.
 *
 * Caller side: a channel is its socket plus up to CSX_UH_LANES_MAX lanes,
 * sealed memfds we create and pass with LANE_ADD. A call owns one lane for
 * its duration, so calls on one channel run concurrently. The thread
 * watches the socket: its hang-up means the exporter closed the channel or
 * died, and every lane not holding a finished response is forced CLOSED,
 * which wakes its caller and fails it at once (-CSX_EPEERDIED).
 *
 * Exporter side: a CONNECT from the daemon brings a socket; the service is
 * opened for the peer with csx__service_open_for(), which applies its
 * scope, and each lane the caller adds is served by a thread of its own,
 * in plain thread context where the handler may sleep. The channel ends
 * when the caller hangs up, the service is withdrawn, the caller breaks the
 * protocol, or at fini; whoever drops the last reference (the thread or
 * the last lane thread) closes it.
 *
 * Per-caller quotas (csx_uh_proto.h, CSX_UH_QUOTA_*): what all channels
 * of one caller process, and of all callers of one uid (but root's and
 * ours), make us hold in channels, lanes and mapped shared buffers. Going
 * over refuses just that (a channel with CSX_UH_REFUSE, a lane with
 * CSX_UH_LANE_REFUSE, a buffer with its ACK), logged at most once per
 * UH_QUOTA_LOG_NS per caller; nobody else's channel is touched. A refused
 * channel is told why before the socket closes.
 *
 * Caller side, refusals: a refused lane is closed with the reason; the
 * call on it never ran, so it is made again on another lane of the
 * channel if there is one, and the channel adds no lane for UH_REGROW_NS.
 * A refused channel fails its calls with the reason, except a withdrawn
 * service: that is a death (-CSX_EPEERDIED, the death notice, recovery).
 *
 * Without a daemon, callers see what a process without other domains
 * sees: open fails with -CSX_ENOENT (quietly) and publish succeeds, the
 * service being sent whenever a daemon comes. So a daemon hanging up
 * while a request waits fails an open with -CSX_ENOENT (the caller may
 * retry), leaves a publish successful (re-sent on the next connection)
 * and a withdraw done. A daemon that does not answer in UH_REPLY_NS is
 * dropped and reconnected: open gets -CSX_EIO, publish still succeeds.
 * Channels do not involve the daemon and outlive it.
 *
 * An open may ask the daemon to wait for an exporter to appear
 * (CSX_UH_OPEN_WAIT, the core's recovery of a channel whose exporter
 * died): the daemon then holds that request, answers others meanwhile
 * (replies are matched by seq), and the reply bound grows by the wait.
 *
 * Shared buffers (csx_uh.h): a buffer is a sealed memfd with a number of
 * this process. The first call that uses it on a channel gives it to the
 * exporter (SHBUF_ADD on the socket) and waits for the exporter's ACK,
 * which the uh thread hands over, so the exporter has mapped it before
 * the lane request naming it is posted; later calls on that channel only
 * name it. Freeing it sends SHBUF_DROP on every channel that has it. A
 * re-opened channel is a new one: it gets the buffer again. The exporter
 * checks the memfd (seals, size) before mapping it, bounds what one
 * channel may make it map, runs the handler in place through
 * csx__call_mapped(), and unmaps a dropped buffer when its last handler
 * returns, or everything when the channel ends.
 *
 * Saved-state regions (csx_os_state.c) are sealed memfds the daemon holds
 * for the process's key. The regions open here, and those closed with
 * keep (the process holds them too, so they outlive their handle even
 * without a daemon), are listed like published services and PUT again on
 * every new connection, since a restarted daemon has lost them; a drop the
 * daemon could not be told is told on the next connection.
 * Re-registration sends services, then drops, then regions.
 *
 * The peer is not trusted. What it writes into a lane is read once and
 * checked against the lane's capacity; a state outside the protocol
 * retires the lane (caller) or ends the channel (exporter). Every wait is
 * bounded by the caller's timeout or by the hang-up a dead peer causes.
 * Lane states change only by compare-and-swap, never by plain stores, so a
 * forced CLOSED is never overwritten by the other side's next step.
 *
 * Locks: uh.lock, then a caller channel's lock; libevent's lock innermost.
 * Neither of ours is held when calling into the core or a handler, nor
 * across event_del() of a caller channel (it waits for the callback).
 */
#include "csx_user_internal.h"
#include "csx_uh.h"

#include <csx/csx.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../helpers/include/csx_uh_msg.h"
#include "../helpers/include/csx_uh_proto.h"

_Static_assert(CSX_CALL_MAX_PAYLOAD <= CSX_UH_LANE_PAYLOAD,
	       "a payload must fit a lane");
_Static_assert(CSX_SERVICE_NAME_MAX <= CSX_UH_NAME_MAX,
	       "a service name must fit the protocol's");
_Static_assert(sizeof(struct csx_uh_lane) <= CSX_UH_LANE_IN_OFF,
	       "the lane header must end before the request area");

/* How long a daemon request may wait for its reply. */
#define UH_REPLY_NS (5 * CSX_NSEC_PER_SEC)
/* Reconnection delays while services wait to be registered. */
#define UH_BACKOFF_MIN_MS 200
#define UH_BACKOFF_MAX_MS 1000
/* Descriptors taken from one message; the protocol passes at most one. */
#define UH_FDS_MAX 4
/* Messages read per wake-up, so one busy socket cannot starve the rest. */
#define UH_BATCH 64
/* While orphaned lanes may come back, a caller waiting for a lane polls. */
#define UH_ORPHAN_POLL_NS (2 * CSX_NSEC_PER_MSEC)
/* Rounds of compare-and-swap to force a lane CLOSED against a hostile peer. */
#define UH_FORCE_TRIES 64
/* A deadline that never comes. */
#define UH_FOREVER UINT64_MAX

enum uh_conn {
	UH_DOWN,  /* no connection */
	UH_HELLO, /* connected, HELLO not answered yet */
	UH_UP,	  /* registered: requests may go */
};

/* A daemon request waiting for its CSX_UH_REPLY. */
struct uh_req {
	struct uh_req *next;
	uint32_t seq;
	uint16_t type;
	bool done; /* answered, or the connection went (@lost) */
	bool lost;
	int32_t status;
	uint32_t value;
	uint64_t aux; /* OPEN: the service's idempotent op mask */
	int fd;	      /* OPEN, STATE_GET: the descriptor, or -1 */
};

/* A service of ours the daemon must know, re-sent on every connection. */
struct uh_pub {
	struct uh_pub *next;
	uint64_t gen; /* connection it was sent on (uh.gen); 0: none yet */
	uint32_t version;
	uint32_t scope; /* enum csx_uh_scope */
	uint64_t idempotent;
	char name[CSX_UH_NAME_MAX];
};

/* A saved-state region we hold (csx_uh.h), PUT on every connection. */
struct csx_uh_region {
	struct csx_uh_region *next;
	uint64_t gen; /* connection the daemon has it from; 0: none yet */
	uint64_t size;
	int fd;
	bool kept; /* closed with keep: waits here for the next open */
	char name[CSX_UH_NAME_MAX];
};

/* A region dropped while the daemon that has it could not be told. */
struct uh_drop {
	struct uh_drop *next;
	uint64_t gen; /* connection it was sent on; 0: none yet */
	char name[CSX_UH_NAME_MAX];
};

/* What the re-registration in flight (uh.rx_req) sends. */
enum uh_rx_kind {
	UH_RX_PUB,
	UH_RX_DROP,
	UH_RX_REGION,
};

/* What a caller lane is doing; under its channel's lock. */
enum uh_use {
	UH_LANE_FREE,	 /* on the free list, state IDLE */
	UH_LANE_CALL,	 /* a call owns it */
	UH_LANE_ORPHAN,	 /* a call timed out while the server ran it */
	UH_LANE_RETIRED, /* broken by the server, or closed: never reused */
	UH_LANE_EMPTY,	 /* a slot whose lane was refused: @sh NULL */
};

/*
 * Adaptive spinning before a futex sleep. Spinning pays when the other
 * side runs on another CPU and answers within the budget: the wake-up is
 * skipped altogether. When both sides share one CPU, a spin only delays
 * the peer, so after UH_SPIN_MISSES waits in a row that had to sleep
 * anyway a side stops spinning, and tries again once every UH_SPIN_PROBE
 * waits in case the placement changed.
 */
#define UH_SPIN_MISSES 4
#define UH_SPIN_PROBE 64

struct uh_spin {
	unsigned int misses; /* waits in a row the spin did not satisfy */
	unsigned int skipped;
};

static bool uh_spin_begin(struct uh_spin *sp)
{
	if (sp->misses < UH_SPIN_MISSES)
		return true;
	if (++sp->skipped < UH_SPIN_PROBE)
		return false;
	sp->skipped = 0;
	return true;
}

static void uh_spin_end(struct uh_spin *sp, bool spun, bool slept)
{
	if (!spun)
		return;
	if (slept)
		sp->misses += sp->misses < UH_SPIN_MISSES;
	else
		sp->misses = 0;
}

struct uh_clane {
	struct csx_uh_lane *sh; /* the shared mapping; NULL: an empty slot */
	struct uh_clane *next;	/* free list */
	uint64_t seq;		/* last request number */
	enum uh_use use;
	int32_t refused; /* the exporter refused it: why (atomic) */
	struct uh_spin spin;
};

/* A shared buffer of ours (csx_uh.h). */
struct csx_uh_shbuf {
	uint32_t id; /* never 0 */
	int fd;
	void *addr;
	size_t size;
};

/* Where a shared buffer stands with a channel's exporter. */
enum uh_sent_state {
	UH_SENT_NONE = 0, /* free slot */
	UH_SENT_WAIT,	  /* ADD sent, no ACK yet */
	UH_SENT_OK,	  /* mapped there */
	UH_SENT_REFUSED,  /* refused (@status); the next use tries again */
};

struct uh_sent {
	uint32_t id;
	enum uh_sent_state state;
	int status;
};

/* Caller side of a channel. */
struct csx_uh_chan {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a lane came free, or the channel died */
	int fd;
	bool dead; /* the exporter hung up (atomic) */
	/* It refused the channel first, not a death: calls fail with this
	 * (set before @dead; 0: none, calls fail -CSX_EPEERDIED). */
	int32_t refused;
	struct event *ev;	  /* hang-up watch on the uh thread; fixed */
	struct csx_uh_chan *next; /* uh.cchans */
	struct csx_os_rchan *rc;  /* the core's name for it: death notices */
	unsigned int nlanes;	  /* lanes[0..nlanes) exist */
	unsigned int creating;	  /* lanes being made, not in nlanes yet */
	unsigned int norphans;
	unsigned int nretired;
	unsigned int nempty; /* slots below nlanes whose lane was refused */
	/* A lane was refused: no new one before @grow_at; calls that find
	 * no lane meanwhile fail with @grow_status. */
	uint64_t grow_at;
	int grow_status;
	struct uh_clane *free;
	struct uh_clane lanes[CSX_UH_LANES_MAX];
	pthread_cond_t sb_cond; /* an ACK came, or the channel died */
	struct uh_sent sent[CSX_UH_SHBUF_PER_CHAN];
	char name[CSX_UH_NAME_MAX];
};

/*
 * What the channels of one caller hold in this exporter (the quotas in
 * csx_uh_proto.h): a caller process (by the daemon's pid) or all callers
 * of one uid. Found and freed under uh.lock, which also covers @chans;
 * the other counts are charged by the uh thread only (so its check and
 * charge cannot race another charge) and released by any thread: atomics.
 */
struct uh_peer {
	struct uh_peer *next; /* uh.peers */
	uint32_t id;	      /* pid or uid */
	bool is_uid;
	unsigned int chans; /* channels charged to it: its references */
	uint32_t lanes;
	uint32_t sbs;
	uint64_t sb_bytes;
	/* Refusal log lines, at most one per UH_QUOTA_LOG_NS (uh.lock). */
	uint64_t logged_ns;
	unsigned int unlogged;
};

/* A caller's shared buffer, mapped here. */
struct uh_sbmap {
	uint32_t id;	/* the caller's; 0: free slot */
	uint32_t users; /* handlers running on it */
	bool dropped;	/* unmapped when the last user is done */
	void *addr;
	size_t size;
};

/* Exporter side of a channel. */
struct uh_srv {
	struct uh_srv *next;	 /* uh.srvs until freed */
	struct uh_srv *end_next; /* being ended by the uh thread */
	uint32_t refs;		 /* the uh thread's, one per lane thread */
	int fd;
	bool watched; /* the uh thread still holds its reference (uh.lock) */
	bool kill;    /* end it: withdrawn, broken, fini (uh.lock) */
	struct event *ev;
	struct csx_chan *chan;
	unsigned int nlanes; /* written by the uh thread only */
	struct csx_uh_lane *lanes[CSX_UH_LANES_MAX];
	uint32_t peer_pid;
	uint32_t peer_uid;
	/* Charged for this channel: its caller's process, and its uid or
	 * NULL (root, ours); fixed, released when the channel is freed. */
	struct uh_peer *peer[2];
	/* Shared buffers the caller gave: added and dropped by the uh
	 * thread, used by lane threads, under @sb_lock. */
	pthread_mutex_t sb_lock;
	uint64_t sb_bytes; /* mapped, dropped ones in use included */
	struct uh_sbmap sbs[CSX_UH_SHBUF_PER_CHAN];
	char name[CSX_UH_NAME_MAX];
};

/* A lane thread of an exporter channel. */
struct uh_slane {
	struct uh_slane *next; /* uh.zombies, once it ended */
	struct uh_srv *srv;
	struct csx_uh_lane *sh;
	pthread_t tid;
	unsigned int idx;
	struct uh_spin spin;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* replies, connection attempts, channel ends */
	/* The thread and its loop. */
	bool running;
	bool stopping;
	pthread_t thread;
	struct event_base *base;
	struct event *kick_ev;	/* other threads -> the uh thread */
	struct event *retry_ev; /* reconnect after backoff_ms */
	/* The daemon connection; only the uh thread changes it. */
	enum uh_conn conn;
	int dfd;
	struct event *dev;
	uint64_t gen;	   /* connections made: each must hear every export */
	uint64_t attempts; /* connection attempts that ended, up or failed */
	uint32_t seq;
	bool want_connect; /* an API thread waits for an attempt */
	bool drop;	   /* an API thread saw the daemon not answering */
	bool ever_up;
	bool warned_path;
	bool warned_proto;
	unsigned int backoff_ms;
	struct uh_req *reqs; /* waiting for replies */
	struct uh_req hello_req;
	struct uh_req rx_req; /* the re-registration in flight */
	char rx_name[CSX_UH_NAME_MAX];
	enum uh_rx_kind rx_kind;
	bool rx_active;
	unsigned int rx_ok, rx_refused, rx_regions;
	struct uh_pub *pubs;
	struct csx_uh_region *regions;
	struct uh_drop *drops;
	/* Channels. */
	struct uh_srv *srvs;
	struct uh_peer *peers;
	struct csx_uh_chan *cchans;
	unsigned int lane_threads; /* running, not yet in zombies */
	struct uh_slane *zombies;  /* ended, to be joined */
	/* Caller side: refusals we were told of, logged at most once per
	 * UH_QUOTA_LOG_NS. */
	uint64_t refusal_logged_ns;
	unsigned int refusals_unlogged;
} uh = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.dfd = -1,
	.backoff_ms = UH_BACKOFF_MIN_MS,
};

/* ---- Small helpers ------------------------------------------------------- */

static pthread_once_t uh_once = PTHREAD_ONCE_INIT;
static pthread_condattr_t uh_condattr;

/* Condition variables time out on CLOCK_MONOTONIC, as csx_os_time_ns(). */
static void uh_once_init(void)
{
	pthread_condattr_init(&uh_condattr);
	pthread_condattr_setclock(&uh_condattr, CLOCK_MONOTONIC);
	pthread_cond_init(&uh.cond, &uh_condattr);
}

static void uh_init(void)
{
	pthread_once(&uh_once, uh_once_init);
}

static void uh_lock(void)
{
	csx__user_check(pthread_mutex_lock(&uh.lock), "pthread_mutex_lock");
}

static void uh_unlock(void)
{
	csx__user_check(pthread_mutex_unlock(&uh.lock), "pthread_mutex_unlock");
}

static uint64_t uh_deadline(int64_t timeout_ns)
{
	uint64_t now = csx_os_time_ns();

	if (timeout_ns == CSX_WAIT_FOREVER || (uint64_t)timeout_ns >= ~now)
		return UH_FOREVER;
	return now + (uint64_t)timeout_ns;
}

static void uh_timespec(struct timespec *ts, uint64_t deadline)
{
	ts->tv_sec = (time_t)(deadline / CSX_NSEC_PER_SEC);
	ts->tv_nsec = (long)(deadline % CSX_NSEC_PER_SEC);
}

/*
 * Wait on @cond until @until at the latest. false, without waiting, once
 * @until has passed; the caller rechecks its condition either way.
 */
static bool uh_cond_wait(pthread_cond_t *cond, pthread_mutex_t *lock,
			 uint64_t until)
{
	struct timespec ts;

	if (until == UH_FOREVER) {
		csx__user_check(pthread_cond_wait(cond, lock),
				"pthread_cond_wait");
		return true;
	}
	if (csx_os_time_ns() >= until)
		return false;
	uh_timespec(&ts, until);
	pthread_cond_timedwait(cond, lock, &ts);
	return true;
}

/*
 * Lane futexes live in memory shared with another process: the shared
 * (not _PRIVATE) operations. The wait takes an absolute CLOCK_MONOTONIC
 * deadline, so being woken early or interrupted never stretches a bound.
 * 0, or the errno (ETIMEDOUT, EAGAIN, EINTR).
 */
static int uh_futex_wait(uint32_t *word, uint32_t val, uint64_t deadline)
{
	struct timespec ts, *tsp = NULL;

	if (deadline != UH_FOREVER) {
		uh_timespec(&ts, deadline);
		tsp = &ts;
	}
	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, tsp, NULL,
		    FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	return errno;
}

static void uh_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static uint32_t uh_state(struct csx_uh_lane *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_SEQ_CST);
}

static bool uh_cas(struct csx_uh_lane *l, uint32_t from, uint32_t to)
{
	return __atomic_compare_exchange_n(&l->state, &from, to, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void uh_close_fds(const int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * One message and the descriptors that came with it (at most UH_FDS_MAX;
 * any more are closed). Bytes read, 0 at hang-up, or -errno.
 */
static ssize_t uh_recv(int fd, void *buf, size_t cap, int *fds,
		       unsigned int *nfds, int *mflags)
{
	return csx_uh_msg_recv(fd, buf, cap, fds, UH_FDS_MAX, nfds,
			       MSG_DONTWAIT, mflags);
}

/*
 * Send one message, with @pass_fd (or -1) as SCM_RIGHTS. Never blocks
 * (a peer that stopped reading must not stall us) and never raises
 * SIGPIPE. 0 or -errno.
 */
static int uh_send(int fd, const void *buf, size_t len, int pass_fd)
{
	return csx_uh_msg_send(fd, buf, len, &pass_fd, pass_fd >= 0,
			       MSG_DONTWAIT);
}

static void uh_hdr(struct csx_uh_hdr *h, uint16_t type, size_t len,
		   uint32_t seq)
{
	h->magic = CSX_UH_MAGIC;
	h->version = CSX_UH_PROTO_VERSION;
	h->type = type;
	h->len = (uint32_t)len;
	h->seq = seq;
}

/* Wake the uh thread: it looks at every flag and list it serves. */
static void uh_kick_locked(void)
{
	if (uh.kick_ev)
		event_active(uh.kick_ev, EV_READ, 0);
}

/* ---- The daemon connection (uh thread, unless said otherwise) ------------ */

/* Something the daemon must hear: keep reconnecting while it is away. */
static bool uh_owed_locked(void)
{
	return uh.pubs || uh.regions || uh.drops;
}

static void uh_retry_arm_locked(void)
{
	struct timeval tv;

	if (uh.conn != UH_DOWN || !uh_owed_locked() || uh.stopping ||
	    evtimer_pending(uh.retry_ev, NULL))
		return;
	tv.tv_sec = uh.backoff_ms / 1000;
	tv.tv_usec = (uh.backoff_ms % 1000) * 1000;
	evtimer_add(uh.retry_ev, &tv);
}

/*
 * The connection is gone (@why: we dropped it for that reason; NULL: the
 * daemon hung up). Pending requests fail as "lost"; services are sent
 * again on the next connection.
 */
static void uh_conn_lost_locked(const char *why)
{
	bool was_up = uh.conn == UH_UP;
	struct uh_req *r;

	if (uh.conn == UH_DOWN)
		return;
	if (why)
		csx_warn("csx-uhelperd: dropping the connection: %s", why);
	else if (was_up && uh_owed_locked() && !uh.stopping)
		csx_info("csx-uhelperd went away; reconnecting");
	else
		csx_dbg("csx-uhelperd: connection closed");
	if (uh.dev) {
		event_del(uh.dev);
		event_free(uh.dev);
		uh.dev = NULL;
	}
	close(uh.dfd);
	uh.dfd = -1;
	uh.conn = UH_DOWN;
	while ((r = uh.reqs)) {
		uh.reqs = r->next;
		r->done = true;
		r->lost = true;
	}
	uh.rx_active = false;
	if (!was_up)
		uh.attempts++;
	uh.backoff_ms = UH_BACKOFF_MIN_MS;
	pthread_cond_broadcast(&uh.cond);
	uh_retry_arm_locked();
}

/*
 * Number @r, send it (with @pass_fd, or -1) and queue it for its reply.
 * 0, or -errno: the connection cannot carry it.
 */
static int uh_send_req_locked(struct uh_req *r, struct csx_uh_hdr *h,
			      size_t len, uint16_t type, int pass_fd)
{
	int ret;

	if (!++uh.seq) /* 0 is the daemon's, in CONNECT */
		uh.seq = 1;
	uh_hdr(h, type, len, uh.seq);
	memset(r, 0, sizeof(*r));
	r->seq = uh.seq;
	r->type = type;
	r->fd = -1;
	ret = uh_send(uh.dfd, h, len, pass_fd);
	if (ret)
		return ret;
	r->next = uh.reqs;
	uh.reqs = r;
	return 0;
}

static void uh_req_unlink_locked(struct uh_req *r)
{
	struct uh_req **pos;

	for (pos = &uh.reqs; *pos; pos = &(*pos)->next) {
		if (*pos == r) {
			*pos = r->next;
			return;
		}
	}
}

enum uh_req_result {
	UH_REQ_OK,	 /* r->status and r->value hold the reply */
	UH_REQ_LOST,	 /* no connection, or it went while we waited */
	UH_REQ_TIMEDOUT, /* the daemon did not answer: we reconnect */
};

/*
 * API threads: a request (with @pass_fd, or -1) and its reply, bounded by
 * UH_REPLY_NS plus @hold_ns, the time the daemon may hold it on purpose.
 */
static enum uh_req_result uh_request_fd_locked(struct uh_req *r,
					       struct csx_uh_hdr *h, size_t len,
					       uint16_t type, int pass_fd,
					       uint64_t hold_ns)
{
	uint64_t deadline = csx_os_time_ns() + UH_REPLY_NS + hold_ns;
	int ret;

	if (uh.conn != UH_UP)
		return UH_REQ_LOST;
	ret = uh_send_req_locked(r, h, len, type, pass_fd);
	if (ret) {
		/* Full or broken: either way the daemon is not keeping up. */
		csx_dbg("csx-uhelperd: send failed: %s", strerror(-ret));
		uh.drop = true;
		uh_kick_locked();
		return UH_REQ_LOST;
	}
	while (!r->done && uh_cond_wait(&uh.cond, &uh.lock, deadline))
		;
	if (!r->done) {
		uh_req_unlink_locked(r);
		csx_warn("csx-uhelperd did not answer within %llu s; "
			 "reconnecting",
			 (unsigned long long)((UH_REPLY_NS + hold_ns) /
					      CSX_NSEC_PER_SEC));
		uh.drop = true;
		uh_kick_locked();
		return UH_REQ_TIMEDOUT;
	}
	return r->lost ? UH_REQ_LOST : UH_REQ_OK;
}

static enum uh_req_result uh_request_locked(struct uh_req *r,
					    struct csx_uh_hdr *h, size_t len,
					    uint16_t type)
{
	return uh_request_fd_locked(r, h, len, type, -1, 0);
}

/* Re-registration: the next service not sent on this connection yet. */
static bool uh_rx_pub_locked(void)
{
	struct csx_uh_export m;
	struct uh_pub *p;

	for (p = uh.pubs; p && p->gen == uh.gen; p = p->next)
		;
	if (!p)
		return false;
	p->gen = uh.gen;
	memset(&m, 0, sizeof(m));
	m.version = p->version;
	m.scope = p->scope;
	m.idempotent = p->idempotent;
	memcpy(m.name, p->name, sizeof(m.name));
	memcpy(uh.rx_name, p->name, sizeof(uh.rx_name));
	uh.rx_kind = UH_RX_PUB;
	if (uh_send_req_locked(&uh.rx_req, &m.hdr, sizeof(m), CSX_UH_EXPORT,
			       -1))
		uh_conn_lost_locked("cannot send a registration");
	return true;
}

static bool uh_rx_drop_locked(void)
{
	struct csx_uh_name m;
	struct uh_drop *d;

	for (d = uh.drops; d && d->gen == uh.gen; d = d->next)
		;
	if (!d)
		return false;
	d->gen = uh.gen;
	memset(&m, 0, sizeof(m));
	memcpy(m.name, d->name, sizeof(m.name));
	memcpy(uh.rx_name, d->name, sizeof(uh.rx_name));
	uh.rx_kind = UH_RX_DROP;
	if (uh_send_req_locked(&uh.rx_req, &m.hdr, sizeof(m), CSX_UH_STATE_DROP,
			       -1))
		uh_conn_lost_locked("cannot send a saved-state drop");
	return true;
}

static bool uh_rx_region_locked(void)
{
	struct csx_uh_state m;
	struct csx_uh_region *rg;

	for (rg = uh.regions; rg && rg->gen == uh.gen; rg = rg->next)
		;
	if (!rg)
		return false;
	rg->gen = uh.gen;
	memset(&m, 0, sizeof(m));
	m.size = rg->size;
	memcpy(m.name, rg->name, sizeof(m.name));
	memcpy(uh.rx_name, rg->name, sizeof(uh.rx_name));
	uh.rx_kind = UH_RX_REGION;
	if (uh_send_req_locked(&uh.rx_req, &m.hdr, sizeof(m), CSX_UH_STATE_PUT,
			       rg->fd))
		uh_conn_lost_locked("cannot send a saved-state region");
	return true;
}

/*
 * Re-registration: after HELLO, everything the daemon must know and was
 * not sent on this connection yet is sent, one request at a time so a
 * long list never fills the socket.
 */
static void uh_rx_next_locked(void)
{
	if (uh.conn != UH_UP || !uh.rx_active)
		return;
	if (uh_rx_pub_locked() || uh_rx_drop_locked() || uh_rx_region_locked())
		return;
	if (uh.ever_up && (uh.pubs || uh.regions))
		csx_info("reconnected to csx-uhelperd, %u services and %u "
			 "saved-state regions re-registered",
			 uh.rx_ok, uh.rx_regions);
	else if (uh.ever_up)
		csx_dbg("reconnected to csx-uhelperd");
	else if (uh.rx_ok || uh.rx_refused || uh.rx_regions)
		csx_info("connected to csx-uhelperd, %u services and %u "
			 "saved-state regions registered",
			 uh.rx_ok, uh.rx_regions);
	uh.rx_active = false;
	uh.ever_up = true;
}

static void uh_rx_pub_done_locked(const struct uh_req *r)
{
	if (!r->status) {
		uh.rx_ok++;
	} else {
		uh.rx_refused++;
		if (r->status == -CSX_EEXIST)
			csx_warn("service %s: another process exported it "
				 "while csx-uhelperd was away; it stays "
				 "reachable in this process only",
				 uh.rx_name);
		else
			csx_warn("service %s: csx-uhelperd refused it: %s",
				 uh.rx_name, csx_strerror(r->status));
	}
}

/* Told (or the daemon had none): forget the drop. */
static void uh_rx_drop_done_locked(void)
{
	struct uh_drop **pos, *d;

	for (pos = &uh.drops; *pos; pos = &(*pos)->next) {
		d = *pos;
		if (d->gen == uh.gen && !strcmp(d->name, uh.rx_name)) {
			*pos = d->next;
			free(d);
			return;
		}
	}
}

static void uh_rx_done_locked(const struct uh_req *r)
{
	switch (uh.rx_kind) {
	case UH_RX_PUB:
		uh_rx_pub_done_locked(r);
		break;
	case UH_RX_DROP:
		uh_rx_drop_done_locked();
		break;
	case UH_RX_REGION:
		if (!r->status)
			uh.rx_regions++;
		else
			csx_warn("saved state %s: csx-uhelperd refused it: "
				 "%s; it will not outlive this process unless "
				 "a later csx-uhelperd takes it",
				 uh.rx_name, csx_strerror(r->status));
		break;
	}
	uh_rx_next_locked();
}

static void uh_hello_done_locked(const struct uh_req *r)
{
	if (r->status || r->value != CSX_UH_PROTO_VERSION) {
		if (!uh.warned_proto)
			csx_warn("csx-uhelperd refused us (status %d, "
				 "protocol %u; we speak %u): services of "
				 "other processes are out of reach",
				 (int)r->status, (unsigned int)r->value,
				 CSX_UH_PROTO_VERSION);
		uh.warned_proto = true;
		uh_conn_lost_locked(NULL);
		return;
	}
	csx_dbg("csx-uhelperd: registered");
	uh.conn = UH_UP;
	uh.attempts++;
	uh.backoff_ms = UH_BACKOFF_MIN_MS;
	pthread_cond_broadcast(&uh.cond);
	uh.rx_active = true;
	uh.rx_ok = 0;
	uh.rx_refused = 0;
	uh.rx_regions = 0;
	uh_rx_next_locked();
}

static void uh_reply_locked(const struct csx_uh_reply *m, int *fds,
			    unsigned int nfds)
{
	struct uh_req **pos, *r;

	for (pos = &uh.reqs; *pos; pos = &(*pos)->next) {
		if ((*pos)->seq == m->hdr.seq)
			break;
	}
	if (!*pos) { /* its requester gave up waiting */
		csx_dbg("csx-uhelperd: late reply %u dropped",
			(unsigned int)m->hdr.seq);
		uh_close_fds(fds, nfds);
		return;
	}
	r = *pos;
	*pos = r->next;
	r->status = m->status;
	r->value = m->value;
	r->aux = m->aux;
	if ((r->type == CSX_UH_OPEN || r->type == CSX_UH_STATE_GET) &&
	    !r->status) {
		if (nfds == 1) {
			r->fd = fds[0];
			nfds = 0;
		} else {
			csx_warn("csx-uhelperd: a reply to request type %u "
				 "with %u descriptors instead of one",
				 (unsigned int)r->type, nfds);
			r->status = -CSX_EIO;
		}
	}
	uh_close_fds(fds, nfds);
	if (r == &uh.hello_req) {
		uh_hello_done_locked(r);
	} else if (r == &uh.rx_req) {
		uh_rx_done_locked(r);
	} else {
		r->done = true;
		pthread_cond_broadcast(&uh.cond);
	}
}

static void uh_daemon_cb(evutil_socket_t fd, short what, void *arg);

static void uh_connect_locked(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct csx_uh_hello hello;
	const char *path;
	int fd, err;

	path = getenv(CSX_UH_SOCKET_ENV);
	if (!path || !*path)
		path = CSX_UH_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		if (!uh.warned_path)
			csx_warn("%s: socket path too long: %s",
				 CSX_UH_SOCKET_ENV, path);
		uh.warned_path = true;
		goto out_fail;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		csx_dbg("csx-uhelperd: socket: %s", strerror(errno));
		goto out_fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		/* Absent, not running, or too busy to accept: try later. */
		if (err == ENOENT || err == ECONNREFUSED || err == EAGAIN)
			csx_dbg("no csx-uhelperd at %s: %s", path,
				strerror(err));
		else if (!uh.warned_path)
			csx_warn("csx-uhelperd at %s out of reach: %s", path,
				 strerror(err));
		if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN)
			uh.warned_path = true;
		close(fd);
		goto out_fail;
	}
	uh.dev = event_new(uh.base, fd, EV_READ | EV_PERSIST, uh_daemon_cb,
			   NULL);
	if (!uh.dev || event_add(uh.dev, NULL)) {
		if (uh.dev)
			event_free(uh.dev);
		uh.dev = NULL;
		close(fd);
		goto out_fail;
	}
	uh.dfd = fd;
	uh.conn = UH_HELLO;
	uh.gen++;
	memset(&hello, 0, sizeof(hello));
	hello.proto = CSX_UH_PROTO_VERSION;
	strncpy(hello.name, program_invocation_short_name,
		sizeof(hello.name) - 1);
	if (uh_send_req_locked(&uh.hello_req, &hello.hdr, sizeof(hello),
			       CSX_UH_HELLO, -1))
		uh_conn_lost_locked("cannot send HELLO");
	return;

out_fail:
	uh.attempts++;
	pthread_cond_broadcast(&uh.cond);
}

static void uh_on_connect(const struct csx_uh_connect *m, int fd);

/* One daemon message; NULL, or why the connection must be dropped. */
static const char *uh_daemon_msg(const void *buf, ssize_t n, int mflags,
				 int *fds, unsigned int nfds)
{
	const struct csx_uh_hdr *h = buf;

	if ((mflags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(*h) ||
	    h->magic != CSX_UH_MAGIC || h->version != CSX_UH_PROTO_VERSION ||
	    h->len != (uint32_t)n) {
		uh_close_fds(fds, nfds);
		return "a malformed message";
	}
	switch (h->type) {
	case CSX_UH_REPLY:
		if ((size_t)n != sizeof(struct csx_uh_reply))
			break;
		uh_lock();
		uh_reply_locked(buf, fds, nfds);
		uh_unlock();
		return NULL;
	case CSX_UH_CONNECT:
		if ((size_t)n != sizeof(struct csx_uh_connect) || nfds != 1)
			break;
		uh_on_connect(buf, fds[0]);
		return NULL;
	}
	uh_close_fds(fds, nfds);
	return "an unexpected message";
}

static void uh_daemon_cb(evutil_socket_t fd, short what, void *arg)
{
	union {
		struct csx_uh_reply reply;
		struct csx_uh_connect connect;
		unsigned char raw[256]; /* more is malformed: MSG_TRUNC */
	} m;
	uint64_t gen = uh.gen;
	int fds[UH_FDS_MAX], mflags;
	const char *why = NULL;
	unsigned int nfds, i;
	ssize_t n;

	for (i = 0; i < UH_BATCH; i++) {
		n = uh_recv(fd, &m, sizeof(m), fds, &nfds, &mflags);
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n < 0)
			why = "receive failed";
		if (n <= 0)
			break;
		why = uh_daemon_msg(&m, n, mflags, fds, nfds);
		if (why)
			break;
		/* A reply may have ended this connection (HELLO refused). */
		if (uh.gen != gen || uh.conn == UH_DOWN)
			return;
	}
	if (i == UH_BATCH)
		return; /* more next time round: level-triggered */
	uh_lock();
	uh_conn_lost_locked(why);
	uh_unlock();
}

static void uh_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	uh_lock();
	if (uh.conn == UH_DOWN && uh_owed_locked() && !uh.stopping) {
		uh_connect_locked();
		if (uh.conn == UH_DOWN) {
			uh.backoff_ms *= 2;
			if (uh.backoff_ms > UH_BACKOFF_MAX_MS)
				uh.backoff_ms = UH_BACKOFF_MAX_MS;
			uh_retry_arm_locked();
		}
	}
	uh_unlock();
}

/*
 * API threads: get the connection up. One attempt if there is none, or
 * the end of the one under way; bounded. 0 when up, else -CSX_ENOENT.
 */
static int uh_connect_wait_locked(void)
{
	uint64_t deadline = csx_os_time_ns() + UH_REPLY_NS;
	uint64_t attempts = uh.attempts;

	if (uh.conn == UH_UP)
		return 0;
	uh.want_connect = true;
	uh_kick_locked();
	while (uh.conn != UH_UP && uh.attempts == attempts &&
	       uh_cond_wait(&uh.cond, &uh.lock, deadline))
		;
	if (uh.conn == UH_UP)
		return 0;
	if (uh.conn == UH_HELLO && uh.attempts == attempts) {
		csx_warn("csx-uhelperd did not answer HELLO; reconnecting");
		uh.drop = true;
		uh_kick_locked();
	}
	return -CSX_ENOENT;
}

/* ---- Exporter side: per-caller quotas ----------------------------------- */

/*
 * Lane threads of all channels of this process together: each caller may
 * grow a channel to CSX_UH_LANES_MAX lanes, so without a process-wide
 * bound a few callers could make the exporter start threads and map
 * memory without end. Beyond it a new lane is refused (its channel
 * stays); the per-caller quotas keep one caller from taking them all.
 */
#define UH_LANE_THREADS_MAX 1024

/* Between two log lines about one caller going over its quotas. */
#define UH_QUOTA_LOG_NS (10 * CSX_NSEC_PER_SEC)

struct uh_quota {
	unsigned int chans;
	uint32_t lanes;
	uint32_t sbs;
	uint64_t sb_bytes;
};

/* Indexed as uh_srv.peer[]: a caller process, all callers of one uid. */
static const struct uh_quota uh_quotas[2] = {
	{ CSX_UH_QUOTA_CHANS, CSX_UH_QUOTA_LANES, CSX_UH_QUOTA_SHBUFS,
	  CSX_UH_QUOTA_SHBUF_BYTES },
	{ CSX_UH_QUOTA_UID_CHANS, CSX_UH_QUOTA_UID_LANES,
	  CSX_UH_QUOTA_UID_SHBUFS, CSX_UH_QUOTA_UID_SHBUF_BYTES },
};

static const char *const uh_quota_who[2] = { "process", "uid" };

/*
 * Root and our own uid could harm us by other means anyway (as the
 * daemon's --max-per-uid): only their processes are bounded one by one.
 */
static bool uh_uid_exempt(uint32_t uid)
{
	return uid == 0 || uid == (uint32_t)geteuid();
}

/* The entry of @id, made if need be; NULL: out of memory. uh.lock held. */
static struct uh_peer *uh_peer_get_locked(uint32_t id, bool is_uid)
{
	struct uh_peer *p;

	for (p = uh.peers; p; p = p->next) {
		if (p->id == id && p->is_uid == is_uid)
			return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = id;
	p->is_uid = is_uid;
	p->next = uh.peers;
	uh.peers = p;
	return p;
}

/* A channel's reference dropped: the last one frees it. uh.lock held. */
static void uh_peer_put_locked(struct uh_peer *p)
{
	struct uh_peer **pos;

	if (!p || --p->chans)
		return;
	for (pos = &uh.peers; *pos != p; pos = &(*pos)->next)
		;
	*pos = p->next;
	free(p);
}

/*
 * Caller @pid (uid @uid) went over a bound of @quota @what (@p's quota,
 * or with @all this process's bound for all callers): say so, at most
 * once per UH_QUOTA_LOG_NS for @p. uh.lock held.
 */
static void uh_quota_log_locked(struct uh_peer *p, const char *svc,
				uint32_t pid, uint32_t uid, const char *what,
				unsigned long long quota, bool all)
{
	uint64_t now = csx_os_time_ns();
	unsigned int more = p->unlogged;

	if (p->logged_ns && now - p->logged_ns < UH_QUOTA_LOG_NS) {
		p->unlogged++;
		return;
	}
	p->logged_ns = now;
	p->unlogged = 0;
	csx_warn("service %s: caller pid %u (uid %u) would go over %llu %s "
		 "%s%s: refused with -CSX_ENOSPC, its other channels stay "
		 "(%u more refusals since the last such line)",
		 svc, (unsigned int)pid, (unsigned int)uid, quota, what,
		 all ? "in all callers" : "per caller ",
		 all ? "" : uh_quota_who[p->is_uid], more);
}

/* Every lane thread in all: say so like a quota, naming the caller. */
static void uh_threads_log(struct uh_srv *srv)
{
	uh_lock();
	uh_quota_log_locked(srv->peer[0], srv->name, srv->peer_pid,
			    srv->peer_uid, "lane threads", UH_LANE_THREADS_MAX,
			    true);
	uh_unlock();
}

/*
 * CONNECT: charge a channel to caller @pid and its uid @uid (@peer[1]
 * NULL if exempt). 0, -CSX_ENOSPC (over a quota: logged) or -CSX_ENOMEM.
 */
static int uh_peers_charge_chan(const char *svc, uint32_t pid, uint32_t uid,
				struct uh_peer *peer[2])
{
	unsigned int i;
	int ret = 0;

	uh_lock();
	peer[0] = NULL;
	peer[1] = NULL;
	for (i = 0; i < 2 && !ret; i++) {
		if (i == 1 && uh_uid_exempt(uid))
			break;
		peer[i] = uh_peer_get_locked(i ? uid : pid, i == 1);
		if (!peer[i]) {
			ret = -CSX_ENOMEM;
			break;
		}
		if (++peer[i]->chans > uh_quotas[i].chans) {
			uh_quota_log_locked(peer[i], svc, pid, uid, "channels",
					    uh_quotas[i].chans, false);
			ret = -CSX_ENOSPC;
		}
	}
	if (ret) {
		uh_peer_put_locked(peer[0]);
		uh_peer_put_locked(peer[1]);
		peer[0] = NULL;
		peer[1] = NULL;
	}
	uh_unlock();
	return ret;
}

static void uh_peers_put_chan(struct uh_peer *peer[2])
{
	uh_lock();
	uh_peer_put_locked(peer[0]);
	uh_peer_put_locked(peer[1]);
	uh_unlock();
}

/*
 * uh thread: would @lanes more lanes, or @sbs more shared buffers of
 * @bytes, put @srv's caller over a quota? -1 if not, else the index of
 * the quota (uh_quotas[]). The uh thread alone charges, so a "no" stays
 * true until its uh_peers_charge().
 */
static int uh_peers_over(struct uh_srv *srv, uint32_t lanes, uint32_t sbs,
			 uint64_t bytes)
{
	const struct uh_quota *q;
	struct uh_peer *p;
	int i;

	for (i = 0; i < 2; i++) {
		p = srv->peer[i];
		q = &uh_quotas[i];
		if (!p)
			continue;
		if (lanes &&
		    __atomic_load_n(&p->lanes, __ATOMIC_RELAXED) + lanes >
			    q->lanes)
			return i;
		if (sbs &&
		    (__atomic_load_n(&p->sbs, __ATOMIC_RELAXED) + sbs >
			     q->sbs ||
		     bytes > q->sb_bytes - __atomic_load_n(&p->sb_bytes,
							   __ATOMIC_RELAXED)))
			return i;
	}
	return -1;
}

/* Charge (@sign 1, the uh thread) or release (-1, any thread). */
static void uh_peers_add(struct uh_srv *srv, int sign, uint32_t lanes,
			 uint32_t sbs, uint64_t bytes)
{
	struct uh_peer *p;
	int i;

	for (i = 0; i < 2; i++) {
		p = srv->peer[i];
		if (!p)
			continue;
		if (sign > 0) {
			__atomic_add_fetch(&p->lanes, lanes, __ATOMIC_RELAXED);
			__atomic_add_fetch(&p->sbs, sbs, __ATOMIC_RELAXED);
			__atomic_add_fetch(&p->sb_bytes, bytes,
					   __ATOMIC_RELAXED);
		} else {
			__atomic_sub_fetch(&p->lanes, lanes, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&p->sbs, sbs, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&p->sb_bytes, bytes,
					   __ATOMIC_RELAXED);
		}
	}
}

/* Log that @srv's caller went over quota @over (uh_peers_over()). */
static void uh_peers_log(struct uh_srv *srv, int over, const char *what,
			 unsigned long long quota)
{
	uh_lock();
	uh_quota_log_locked(srv->peer[over], srv->name, srv->peer_pid,
			    srv->peer_uid, what, quota, false);
	uh_unlock();
}

/* ---- Exporter side ------------------------------------------------------- */

/* The last reference: close the core channel, unmap, free. No lock held. */
static void uh_srv_put(struct uh_srv *srv)
{
	struct uh_srv **pos;
	unsigned int i;

	if (__atomic_sub_fetch(&srv->refs, 1, __ATOMIC_ACQ_REL))
		return;
	csx_close(srv->chan);
	for (i = 0; i < srv->nlanes; i++)
		munmap(srv->lanes[i], CSX_UH_LANE_SIZE);
	uh_peers_add(srv, -1, srv->nlanes, 0, 0);
	for (i = 0; i < CSX_UH_SHBUF_PER_CHAN; i++) {
		if (srv->sbs[i].id) {
			munmap(srv->sbs[i].addr, srv->sbs[i].size);
			uh_peers_add(srv, -1, 0, 1, srv->sbs[i].size);
		}
	}
	pthread_mutex_destroy(&srv->sb_lock);
	close(srv->fd);
	/* Unlinked last: a withdraw waits until the core channel is closed. */
	uh_lock();
	for (pos = &uh.srvs; *pos; pos = &(*pos)->next) {
		if (*pos == srv) {
			*pos = srv->next;
			break;
		}
	}
	uh_peer_put_locked(srv->peer[0]);
	uh_peer_put_locked(srv->peer[1]);
	pthread_cond_broadcast(&uh.cond);
	uh_unlock();
	free(srv);
}

/* A lane thread found the channel broken: have the uh thread end it. */
static void uh_srv_fail(struct uh_srv *srv)
{
	uh_lock();
	srv->kill = true;
	uh_kick_locked();
	uh_unlock();
}

/*
 * uh thread, having taken srv->watched: stop watching, tell the caller
 * (shutdown: it sees the hang-up even while our handlers still run), close
 * every lane from any state so its thread ends after its current call, and
 * drop our reference.
 */
static void uh_srv_end(struct uh_srv *srv)
{
	unsigned int i;

	event_del(srv->ev);
	event_free(srv->ev);
	srv->ev = NULL;
	shutdown(srv->fd, SHUT_RDWR);
	for (i = 0; i < srv->nlanes; i++) {
		__atomic_exchange_n(&srv->lanes[i]->state, CSX_UH_LANE_CLOSED,
				    __ATOMIC_SEQ_CST);
		uh_futex_wake(&srv->lanes[i]->state);
	}
	uh_srv_put(srv);
}

static void uh_srv_claim_end(struct uh_srv *srv)
{
	bool mine;

	uh_lock();
	mine = srv->watched;
	srv->watched = false;
	uh_unlock();
	if (mine)
		uh_srv_end(srv);
}

/* ---- Exporter side: shared buffers ------------------------------------- */

/* @len bytes at @off fit in @size, without overflow. */
static bool uh_window_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The buffer the caller numbered @id, or NULL. srv->sb_lock held. */
static struct uh_sbmap *uh_sbmap_find_locked(struct uh_srv *srv, uint32_t id)
{
	unsigned int i;

	for (i = 0; id && i < CSX_UH_SHBUF_PER_CHAN; i++) {
		if (srv->sbs[i].id == id)
			return &srv->sbs[i];
	}
	return NULL;
}

static void uh_sbmap_unmap_locked(struct uh_srv *srv, struct uh_sbmap *m)
{
	munmap(m->addr, m->size);
	srv->sb_bytes -= m->size;
	uh_peers_add(srv, -1, 0, 1, m->size);
	memset(m, 0, sizeof(*m));
}

/* Lane thread: a use of buffer @id, or NULL (unknown or dropped). */
static struct uh_sbmap *uh_sbmap_get(struct uh_srv *srv, uint32_t id)
{
	struct uh_sbmap *m;

	pthread_mutex_lock(&srv->sb_lock);
	m = uh_sbmap_find_locked(srv, id);
	if (m && m->dropped)
		m = NULL;
	if (m)
		m->users++;
	pthread_mutex_unlock(&srv->sb_lock);
	return m;
}

static void uh_sbmap_put(struct uh_srv *srv, struct uh_sbmap *m)
{
	pthread_mutex_lock(&srv->sb_lock);
	if (!--m->users && m->dropped)
		uh_sbmap_unmap_locked(srv, m);
	pthread_mutex_unlock(&srv->sb_lock);
}

/*
 * Lane thread: a request on a shared buffer. Its description is read once
 * and checked (the caller may rewrite it meanwhile); the handler then
 * works in our mapping. The handler's status, the response length in
 * *@len.
 */
static int uh_srv_call_shbuf(struct uh_srv *srv, struct csx_uh_lane *l,
			     uint32_t op, size_t *len)
{
	struct csx_uh_shbuf_call d;
	struct uh_sbmap *m;
	unsigned char *base;
	int status;

	memcpy(&d, (unsigned char *)l + CSX_UH_LANE_IN_OFF, sizeof(d));
	m = uh_sbmap_get(srv, d.id);
	if (!m || d.reserved || !uh_window_ok(d.in_off, d.in_len, m->size) ||
	    !uh_window_ok(d.out_off, d.out_cap, m->size)) {
		csx_dbg("service %s: caller pid %u called on shared buffer %u "
			"it did not give, or outside it",
			srv->name, (unsigned int)srv->peer_pid,
			(unsigned int)d.id);
		status = -CSX_EINVAL;
		goto out;
	}
	base = m->addr;
	status = csx__call_mapped(srv->chan, op, base + d.in_off,
				  (size_t)d.in_len, base + d.out_off,
				  (size_t)d.out_cap, len);
	if (*len > d.out_cap)
		*len = 0;
out:
	if (m)
		uh_sbmap_put(srv, m);
	return status;
}

/* uh thread: tell the caller what became of its SHBUF_ADD. */
static int uh_sb_ack(struct uh_srv *srv, uint32_t id, int status)
{
	struct csx_uh_shbuf_ack a;
	int ret;

	memset(&a, 0, sizeof(a));
	uh_hdr(&a.hdr, CSX_UH_SHBUF_ACK, sizeof(a), 0);
	a.id = id;
	a.status = status;
	ret = uh_send(srv->fd, &a, sizeof(a), -1);
	if (ret)
		csx_dbg("service %s: cannot answer caller pid %u about a "
			"shared buffer: %s",
			srv->name, (unsigned int)srv->peer_pid, strerror(-ret));
	return ret ? -CSX_EIO : 0;
}

/* Why the memfd of a SHBUF_ADD may not be mapped, or NULL. */
static const char *uh_sb_check_fd(int fd, uint64_t size)
{
	const int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct stat st;
	int seals;

	/* Only a memfd (shmem) has seals: one that could shrink is SIGBUS. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & need) != need)
		return "a shared buffer that is not a sealed memfd";
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size < size)
		return "a shared buffer shorter than it said";
	return NULL;
}

/*
 * Map a checked buffer into a free slot: 0, or -CSX_ENOSPC (over the
 * channel's limits; *@over: -1, or over the caller's quota uh_quotas[]),
 * or @why.
 */
static int uh_sb_insert(struct uh_srv *srv, uint32_t id, void *addr,
			uint64_t size, const char **why, int *over)
{
	unsigned int i;
	int ret = 0;

	*over = -1;
	pthread_mutex_lock(&srv->sb_lock);
	for (i = 0; i < CSX_UH_SHBUF_PER_CHAN && srv->sbs[i].id; i++)
		;
	if (uh_sbmap_find_locked(srv, id)) {
		*why = "a shared buffer number in use";
		ret = -CSX_EPROTO;
	} else if (i == CSX_UH_SHBUF_PER_CHAN ||
		   size > CSX_UH_SHBUF_CHAN_BYTES - srv->sb_bytes) {
		ret = -CSX_ENOSPC;
	} else if ((*over = uh_peers_over(srv, 0, 1, size)) >= 0) {
		ret = -CSX_ENOSPC;
	} else {
		srv->sbs[i].id = id;
		srv->sbs[i].addr = addr;
		srv->sbs[i].size = (size_t)size;
		srv->sb_bytes += size;
		uh_peers_add(srv, 1, 0, 1, size);
	}
	pthread_mutex_unlock(&srv->sb_lock);
	return ret;
}

/*
 * uh thread: SHBUF_ADD. Everything is checked before the memfd is mapped.
 * 0 (mapped, or refused over the limits: the caller is told), or a
 * negative status: the channel must end.
 */
static int uh_sb_add(struct uh_srv *srv, const void *buf, ssize_t n, int mflags,
		     int *fds, unsigned int nfds)
{
	const struct csx_uh_shbuf_add *m = buf;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const char *why = NULL;
	void *addr;
	int ret, over;

	if ((mflags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n != sizeof(*m) ||
	    m->hdr.len != (uint32_t)n || m->reserved)
		why = "a malformed message";
	else if (nfds != 1)
		why = "a shared buffer without exactly one descriptor";
	else if (!m->id)
		why = "shared buffer 0";
	else if (!m->size || m->size > CSX_SHBUF_MAX || m->size % page)
		why = "a shared buffer of a bad size";
	else
		why = uh_sb_check_fd(fds[0], m->size);
	if (why)
		goto out_bad;
	addr = mmap(NULL, (size_t)m->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fds[0], 0);
	uh_close_fds(fds, nfds);
	nfds = 0;
	if (addr == MAP_FAILED) {
		csx_warn("service %s: cannot map a shared buffer of %llu "
			 "bytes from pid %u: %s",
			 srv->name, (unsigned long long)m->size,
			 (unsigned int)srv->peer_pid, strerror(errno));
		return uh_sb_ack(srv, m->id, -CSX_ENOMEM);
	}
	ret = uh_sb_insert(srv, m->id, addr, m->size, &why, &over);
	if (ret)
		munmap(addr, (size_t)m->size);
	if (why)
		goto out_bad;
	if (over >= 0 &&
	    __atomic_load_n(&srv->peer[over]->sbs, __ATOMIC_RELAXED) >=
		    uh_quotas[over].sbs)
		uh_peers_log(srv, over, "shared buffers", uh_quotas[over].sbs);
	else if (over >= 0)
		uh_peers_log(srv, over, "bytes of shared buffers",
			     uh_quotas[over].sb_bytes);
	else if (ret)
		csx_dbg("service %s: caller pid %u gives more shared buffers "
			"than a channel may have",
			srv->name, (unsigned int)srv->peer_pid);
	return uh_sb_ack(srv, m->id, ret);

out_bad:
	csx_warn("service %s: caller pid %u sent %s: closing the channel",
		 srv->name, (unsigned int)srv->peer_pid, why);
	uh_close_fds(fds, nfds);
	return -CSX_EPROTO;
}

/* uh thread: SHBUF_DROP. 0, or a negative status: the channel must end. */
static int uh_sb_drop(struct uh_srv *srv, const void *buf, ssize_t n,
		      int mflags, int *fds, unsigned int nfds)
{
	const struct csx_uh_shbuf_drop *m = buf;
	struct uh_sbmap *sm;

	if ((mflags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n != sizeof(*m) ||
	    m->hdr.len != (uint32_t)n || m->reserved || nfds) {
		csx_warn("service %s: caller pid %u sent a malformed message: "
			 "closing the channel",
			 srv->name, (unsigned int)srv->peer_pid);
		uh_close_fds(fds, nfds);
		return -CSX_EPROTO;
	}
	pthread_mutex_lock(&srv->sb_lock);
	sm = uh_sbmap_find_locked(srv, m->id);
	if (sm && sm->users)
		sm->dropped = true; /* the last handler unmaps it */
	else if (sm)
		uh_sbmap_unmap_locked(srv, sm);
	pthread_mutex_unlock(&srv->sb_lock);
	return 0;
}

/* States in which the server has nothing to do but wait. */
static bool uh_srv_idle(uint32_t st)
{
	return st == CSX_UH_LANE_IDLE || st == CSX_UH_LANE_RESP ||
	       st == CSX_UH_LANE_BUSY;
}

/* Until the caller posts a request, or the lane is closed. */
static uint32_t uh_srv_wait(struct csx_uh_lane *l, struct uh_spin *sp)
{
	bool spin = uh_spin_begin(sp);
	unsigned int i;
	uint32_t st;

	for (i = 0; spin && i < CSX_USER_SPIN_LOOPS; i++) {
		st = uh_state(l);
		if (!uh_srv_idle(st)) {
			uh_spin_end(sp, true, false);
			return st;
		}
		csx_user_cpu_relax();
	}
	uh_spin_end(sp, spin, true);
	for (;;) {
		/* Flag, then recheck: the caller wakes us only if it sees it. */
		__atomic_store_n(&l->srv_sleep, 1, __ATOMIC_SEQ_CST);
		st = uh_state(l);
		if (!uh_srv_idle(st))
			break;
		uh_futex_wait(&l->state, st, UH_FOREVER);
	}
	__atomic_store_n(&l->srv_sleep, 0, __ATOMIC_RELAXED);
	return st;
}

/* Serve one request on a lane; false when the lane thread must end. */
static bool uh_srv_serve(struct uh_slane *sl, void **buf, size_t *cap)
{
	struct csx_uh_lane *l = sl->sh;
	unsigned char *area = (unsigned char *)l;
	uint32_t st, op, in_len, out_cap;
	size_t len = 0;
	uint64_t seq;
	int status;

	st = uh_srv_wait(l, &sl->spin);
	if (st == CSX_UH_LANE_CLOSED)
		return false;
	if (st != CSX_UH_LANE_REQ)
		goto out_broken;
	if (!uh_cas(l, CSX_UH_LANE_REQ, CSX_UH_LANE_BUSY))
		return true; /* changed under us: look again */
	/* Once: the caller may rewrite them while the handler runs. */
	op = __atomic_load_n(&l->op, __ATOMIC_RELAXED);
	in_len = __atomic_load_n(&l->in_len, __ATOMIC_RELAXED);
	out_cap = __atomic_load_n(&l->out_cap, __ATOMIC_RELAXED);
	seq = __atomic_load_n(&l->seq, __ATOMIC_RELAXED);
	if (in_len == CSX_UH_LANE_IN_SHBUF) {
		status = uh_srv_call_shbuf(sl->srv, l, op, &len);
		goto out_answer;
	}
	if (in_len > CSX_UH_LANE_PAYLOAD || out_cap > CSX_UH_LANE_PAYLOAD)
		goto out_broken;
	if (in_len > *cap) {
		size_t ncap = *cap ? *cap : 4096;
		void *p;

		while (ncap < in_len)
			ncap *= 2;
		p = realloc(*buf, ncap);
		if (p) {
			*buf = p;
			*cap = ncap;
		}
	}
	if (in_len > *cap) {
		status = -CSX_ENOMEM;
	} else {
		/* A private copy: the handler must see a stable request. */
		if (in_len)
			memcpy(*buf, area + CSX_UH_LANE_IN_OFF, in_len);
		status = csx__call_for(
			sl->srv->chan, op, in_len ? *buf : NULL, in_len,
			out_cap ? area + CSX_UH_LANE_OUT_OFF : NULL, out_cap,
			&len, CSX_WAIT_FOREVER);
		if (len > out_cap)
			len = 0;
	}
out_answer:
	__atomic_store_n(&l->out_len, (uint32_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&l->status, (int32_t)status, __ATOMIC_RELAXED);
	__atomic_store_n(&l->done_seq, seq, __ATOMIC_RELAXED);
	if (!uh_cas(l, CSX_UH_LANE_BUSY, CSX_UH_LANE_RESP)) {
		st = uh_state(l);
		if (st == CSX_UH_LANE_CLOSED)
			return false;
		goto out_broken;
	}
	if (__atomic_load_n(&l->cli_sleep, __ATOMIC_SEQ_CST))
		uh_futex_wake(&l->state);
	return true;

out_broken:
	csx_warn("service %s: caller pid %u broke lane %u (state %u): "
		 "closing the channel",
		 sl->srv->name, (unsigned int)sl->srv->peer_pid, sl->idx,
		 (unsigned int)st);
	__atomic_exchange_n(&l->state, CSX_UH_LANE_CLOSED, __ATOMIC_SEQ_CST);
	uh_futex_wake(&l->state);
	uh_srv_fail(sl->srv);
	return false;
}

static void *uh_lane_main(void *arg)
{
	struct uh_slane *sl = arg;
	size_t cap = 0;
	void *buf = NULL;

	while (uh_srv_serve(sl, &buf, &cap))
		;
	free(buf);
	uh_srv_put(sl->srv);
	/* Joined by the uh thread (or fini): a handler may outlive a loop. */
	uh_lock();
	sl->next = uh.zombies;
	uh.zombies = sl;
	uh.lane_threads--;
	pthread_cond_broadcast(&uh.cond);
	uh_kick_locked();
	uh_unlock();
	return NULL;
}

/* uh thread: serve a new lane with a thread; 0 or a negative status. */
static int uh_lane_thread_start(struct uh_srv *srv, struct csx_uh_lane *sh,
				unsigned int idx)
{
	struct uh_slane *sl;
	int ret;

	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return -CSX_ENOMEM;
	sl->srv = srv;
	sl->sh = sh;
	sl->idx = idx;
	__atomic_add_fetch(&srv->refs, 1, __ATOMIC_RELAXED);
	uh_lock();
	uh.lane_threads++;
	uh_unlock();
	ret = csx__user_thread_spawn(&sl->tid, "csx-uh-lane", 0, -1,
				     uh_lane_main, sl);
	if (ret) {
		uh_lock();
		uh.lane_threads--;
		uh_unlock();
		/* The uh thread's own reference keeps @srv alive. */
		__atomic_sub_fetch(&srv->refs, 1, __ATOMIC_RELAXED);
		free(sl);
	}
	return ret;
}

static unsigned int uh_lane_threads(void)
{
	unsigned int n;

	uh_lock();
	n = uh.lane_threads;
	uh_unlock();
	return n;
}

/* uh thread: tell the caller lane @lane was not taken (@status). */
static int uh_lane_refuse(struct uh_srv *srv, uint32_t lane, int status)
{
	struct csx_uh_lane_refuse r;
	int ret;

	memset(&r, 0, sizeof(r));
	uh_hdr(&r.hdr, CSX_UH_LANE_REFUSE, sizeof(r), 0);
	r.lane = lane;
	r.status = status;
	ret = uh_send(srv->fd, &r, sizeof(r), -1);
	if (ret)
		csx_dbg("service %s: cannot refuse a lane to caller pid %u: "
			"%s; closing the channel",
			srv->name, (unsigned int)srv->peer_pid, strerror(-ret));
	return ret ? -CSX_EIO : 0;
}

/*
 * uh thread: may @srv's caller have one more lane? Over its quotas, or
 * over this process's lane threads in all, the lane is refused (logged)
 * and the channel stays.
 */
static bool uh_lane_allowed(struct uh_srv *srv)
{
	int over = uh_peers_over(srv, 1, 0, 0);

	if (over >= 0) {
		uh_peers_log(srv, over, "lanes", uh_quotas[over].lanes);
		return false;
	}
	if (uh_lane_threads() >= UH_LANE_THREADS_MAX) {
		uh_threads_log(srv);
		return false;
	}
	return true;
}

/*
 * A LANE_ADD from the caller. Everything about it is checked before the
 * memfd is mapped: a file that could shrink under us would turn our reads
 * into SIGBUS. A well-formed lane over the caller's quotas is refused
 * (CSX_UH_LANE_REFUSE) without mapping it. 0, or a negative status: the
 * channel must end.
 */
static int uh_lane_add(struct uh_srv *srv, const void *buf, ssize_t n,
		       int mflags, int *fds, unsigned int nfds)
{
	const struct csx_uh_lane_add *m = buf;
	const char *why = NULL;
	struct csx_uh_lane *sh;
	struct stat st;
	int seals, ret;

	if ((mflags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n != sizeof(*m) ||
	    m->hdr.magic != CSX_UH_MAGIC ||
	    m->hdr.version != CSX_UH_PROTO_VERSION ||
	    m->hdr.type != CSX_UH_LANE_ADD || m->hdr.len != (uint32_t)n ||
	    m->reserved)
		why = "a malformed message";
	else if (nfds != 1)
		why = "a lane without exactly one descriptor";
	else if (srv->nlanes >= CSX_UH_LANES_MAX)
		why = "too many lanes";
	else if (m->size != CSX_UH_LANE_SIZE)
		why = "a lane of the wrong size";
	if (why)
		goto out_bad;
	seals = fcntl(fds[0], F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		why = "a lane that may shrink (no F_SEAL_SHRINK)";
		goto out_bad;
	}
	if (fstat(fds[0], &st) || !S_ISREG(st.st_mode) ||
	    st.st_size != (off_t)CSX_UH_LANE_SIZE) {
		why = "a lane file of the wrong size";
		goto out_bad;
	}
	if (!uh_lane_allowed(srv)) {
		close(fds[0]);
		return uh_lane_refuse(srv, m->lane, -CSX_ENOSPC);
	}
	sh = mmap(NULL, CSX_UH_LANE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		  fds[0], 0);
	close(fds[0]);
	if (sh == MAP_FAILED) {
		csx_warn("service %s: cannot map a lane: %s", srv->name,
			 strerror(errno));
		return uh_lane_refuse(srv, m->lane, -CSX_ENOMEM);
	}
	srv->lanes[srv->nlanes] = sh;  /* unmapped with the channel */
	uh_peers_add(srv, 1, 1, 0, 0); /* released with the channel */
	ret = uh_lane_thread_start(srv, sh, srv->nlanes);
	srv->nlanes++;
	if (ret)
		csx_warn("service %s: cannot start a lane thread: %s",
			 srv->name, csx_strerror(ret));
	return ret;

out_bad:
	csx_warn("service %s: caller pid %u sent %s: closing the channel",
		 srv->name, (unsigned int)srv->peer_pid, why);
	uh_close_fds(fds, nfds);
	return -CSX_EPROTO;
}

/* A message from the caller: 0, or a negative status: end the channel. */
static int uh_srv_msg(struct uh_srv *srv, const void *buf, ssize_t n,
		      int mflags, int *fds, unsigned int nfds)
{
	const struct csx_uh_hdr *h = buf;

	if ((size_t)n >= sizeof(*h) && h->magic == CSX_UH_MAGIC &&
	    h->version == CSX_UH_PROTO_VERSION) {
		if (h->type == CSX_UH_SHBUF_ADD)
			return uh_sb_add(srv, buf, n, mflags, fds, nfds);
		if (h->type == CSX_UH_SHBUF_DROP)
			return uh_sb_drop(srv, buf, n, mflags, fds, nfds);
	}
	return uh_lane_add(srv, buf, n, mflags, fds, nfds); /* or refused */
}

static void uh_srv_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uh_srv *srv = arg;
	union {
		struct csx_uh_lane_add add;
		struct csx_uh_shbuf_add sb_add;
		unsigned char raw[128]; /* more is malformed: MSG_TRUNC */
	} m;
	int fds[UH_FDS_MAX], mflags;
	unsigned int nfds, i;
	ssize_t n;

	for (i = 0; i < UH_BATCH; i++) {
		n = uh_recv(fd, &m, sizeof(m), fds, &nfds, &mflags);
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n <= 0) {
			uh_close_fds(fds, nfds);
			csx_dbg("service %s: caller pid %u closed its channel",
				srv->name, (unsigned int)srv->peer_pid);
			break;
		}
		if (uh_srv_msg(srv, &m, n, mflags, fds, nfds))
			break;
	}
	if (i == UH_BATCH)
		return;
	uh_srv_claim_end(srv);
}

/*
 * Tell the caller why its channel is refused (CSX_UH_REFUSE), before the
 * socket closes. Statuses the protocol does not list are not sent: the
 * caller sees a plain hang-up.
 */
static void uh_refuse(int fd, int status)
{
	struct csx_uh_refuse r;

	if (status != -CSX_ENOENT && status != -CSX_EPERM &&
	    status != -CSX_EPROTO && status != -CSX_ENOSPC &&
	    status != -CSX_ENOMEM)
		return;
	memset(&r, 0, sizeof(r));
	uh_hdr(&r.hdr, CSX_UH_REFUSE, sizeof(r), 0);
	r.status = status;
	uh_send(fd, &r, sizeof(r), -1); /* a new socket: room for it */
}

/* The channel of a CONNECT: watched from now on. 0 or -CSX_ENOMEM. */
static int uh_srv_new(const struct csx_uh_connect *m, int fd,
		      struct csx_chan *chan, struct uh_peer *peer[2])
{
	struct uh_srv *srv;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -CSX_ENOMEM;
	pthread_mutex_init(&srv->sb_lock, NULL);
	srv->fd = fd;
	srv->chan = chan;
	srv->refs = 1;
	srv->watched = true;
	srv->peer_pid = m->peer_pid;
	srv->peer_uid = m->peer_uid;
	srv->peer[0] = peer[0];
	srv->peer[1] = peer[1];
	memcpy(srv->name, m->name, sizeof(srv->name));
	srv->ev = event_new(uh.base, fd, EV_READ | EV_PERSIST, uh_srv_cb, srv);
	if (!srv->ev || event_add(srv->ev, NULL)) {
		if (srv->ev)
			event_free(srv->ev);
		pthread_mutex_destroy(&srv->sb_lock);
		free(srv);
		return -CSX_ENOMEM;
	}
	uh_lock();
	srv->next = uh.srvs;
	uh.srvs = srv;
	uh_unlock();
	csx_dbg("service %s: channel from pid %u", srv->name,
		(unsigned int)srv->peer_pid);
	return 0;
}

/*
 * CONNECT: a caller opened one of our services; the daemon checked
 * nothing but the name exists, so the core decides (scope, version), and
 * so do the caller's quotas. Refused: the caller is told why
 * (CSX_UH_REFUSE) and the socket closes.
 */
static void uh_on_connect(const struct csx_uh_connect *m, int fd)
{
	struct uh_peer *peer[2];
	struct csx_chan *chan;
	socklen_t tlen = sizeof(int);
	bool same_user;
	int type, ret;

	if (!memchr(m->name, '\0', sizeof(m->name)) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) ||
	    type != SOCK_SEQPACKET) {
		csx_warn("csx-uhelperd: a malformed CONNECT ignored");
		close(fd);
		return;
	}
	same_user = m->peer_uid == geteuid() || m->peer_uid == 0;
	ret = csx__service_open_for(m->name, m->min_version, same_user, &chan);
	if (ret) {
		csx_dbg("service %s refused to pid %u (uid %u): %s", m->name,
			(unsigned int)m->peer_pid, (unsigned int)m->peer_uid,
			csx_strerror(ret));
		goto out_refuse;
	}
	ret = uh_peers_charge_chan(m->name, m->peer_pid, m->peer_uid, peer);
	if (ret)
		goto out_close_chan;
	ret = uh_srv_new(m, fd, chan, peer);
	if (!ret)
		return;
	csx_warn("service %s: out of memory for a channel from pid %u", m->name,
		 (unsigned int)m->peer_pid);
	uh_peers_put_chan(peer);
out_close_chan:
	csx_close(chan);
out_refuse:
	uh_refuse(fd, ret);
	close(fd);
}

/* ---- Caller side --------------------------------------------------------- */

/*
 * After the exporter refused a lane: how long a channel adds no lane (its
 * calls use the lanes it has, or fail at once if it has none).
 */
#define UH_REGROW_NS (1 * CSX_NSEC_PER_SEC)
/* After a send found the exporter gone: how long we wait for the uh
 * thread to read the hang-up, and the refusal that may precede it. */
#define UH_HANGUP_NS (1 * CSX_NSEC_PER_SEC)

/* What calls on a dead channel fail with. */
static int uh_dead_status(struct csx_uh_chan *c)
{
	int32_t r = __atomic_load_n(&c->refused, __ATOMIC_SEQ_CST);

	return r ? r : -CSX_EPEERDIED;
}

/*
 * A CLOSED lane: refused by the exporter (the request never ran there,
 * its slot is emptied: *@use UH_LANE_EMPTY) or the channel ended.
 */
static int uh_closed_status(struct csx_uh_chan *c, struct uh_clane *ln,
			    enum uh_use *use)
{
	int32_t r = __atomic_load_n(&ln->refused, __ATOMIC_SEQ_CST);

	if (r && !__atomic_load_n(&c->dead, __ATOMIC_SEQ_CST)) {
		*use = UH_LANE_EMPTY;
		return r;
	}
	*use = UH_LANE_RETIRED;
	return uh_dead_status(c);
}

/*
 * A send on the channel found the exporter gone: the hang-up may come
 * with a refusal the uh thread has not read yet. Wait for it, briefly, so
 * the call reports the reason. c->lock held.
 */
static int uh_wait_dead_locked(struct csx_uh_chan *c, uint64_t deadline)
{
	uint64_t until = csx_os_time_ns() + UH_HANGUP_NS;

	if (until > deadline)
		until = deadline;
	while (!__atomic_load_n(&c->dead, __ATOMIC_SEQ_CST) &&
	       uh_cond_wait(&c->cond, &c->lock, until))
		;
	return uh_dead_status(c);
}

/* A refusal, told at most once per UH_QUOTA_LOG_NS in this process. */
static void uh_refusal_log(const char *name, const char *what, int status)
{
	uint64_t now = csx_os_time_ns();
	unsigned int more;

	uh_lock();
	if (uh.refusal_logged_ns &&
	    now - uh.refusal_logged_ns < UH_QUOTA_LOG_NS) {
		uh.refusals_unlogged++;
		uh_unlock();
		return;
	}
	more = uh.refusals_unlogged;
	uh.refusal_logged_ns = now;
	uh.refusals_unlogged = 0;
	uh_unlock();
	if (more)
		csx_warn("channel to %s: its exporter refused %s: %s%s (and "
			 "%u more refusals since the last such line)",
			 name, what, csx_status_name(status),
			 status == -CSX_ENOSPC ?
				 ", over its quota for this process or uid" :
				 "",
			 more);
	else
		csx_warn("channel to %s: its exporter refused %s: %s%s", name,
			 what, csx_status_name(status),
			 status == -CSX_ENOSPC ?
				 ", over its quota for this process or uid" :
				 "");
}

/*
 * The exporter closed the channel or died. Fail every lane but one holding
 * a finished response (still delivered), and wake its caller.
 */
static void uh_cli_force_closed(struct csx_uh_lane *l)
{
	unsigned int i;
	uint32_t st;

	for (i = 0; i < UH_FORCE_TRIES; i++) {
		st = uh_state(l);
		if (st == CSX_UH_LANE_RESP || st == CSX_UH_LANE_CLOSED)
			break;
		if (uh_cas(l, st, CSX_UH_LANE_CLOSED))
			break;
	}
	uh_futex_wake(&l->state);
}

static void uh_cchan_kill(struct csx_uh_chan *c)
{
	unsigned int i;

	pthread_mutex_lock(&c->lock);
	/* Before the lanes: a call checks it after posting (see uh_post()). */
	__atomic_store_n(&c->dead, true, __ATOMIC_SEQ_CST);
	for (i = 0; i < c->nlanes; i++) {
		if (c->lanes[i].sh)
			uh_cli_force_closed(c->lanes[i].sh);
	}
	pthread_cond_broadcast(&c->cond);
	pthread_cond_broadcast(&c->sb_cond);
	pthread_mutex_unlock(&c->lock);
}

/* The slot of buffer @id on @c (id 0: a free slot), or NULL. Lock held. */
static struct uh_sent *uh_sent_find_locked(struct csx_uh_chan *c, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < CSX_UH_SHBUF_PER_CHAN; i++) {
		if (id ? c->sent[i].state != UH_SENT_NONE &&
				    c->sent[i].id == id :
			 c->sent[i].state == UH_SENT_NONE)
			return &c->sent[i];
	}
	return NULL;
}

/*
 * uh thread: a message from the exporter. true if it is the ACK of a
 * SHBUF_ADD (one for a buffer freed meanwhile is ignored).
 */
static bool uh_cchan_ack(struct csx_uh_chan *c, const void *buf, ssize_t n)
{
	const struct csx_uh_shbuf_ack *m = buf;
	struct uh_sent *s;

	if ((size_t)n != sizeof(*m) || m->hdr.magic != CSX_UH_MAGIC ||
	    m->hdr.version != CSX_UH_PROTO_VERSION ||
	    m->hdr.type != CSX_UH_SHBUF_ACK || m->hdr.len != (uint32_t)n)
		return false;
	pthread_mutex_lock(&c->lock);
	s = uh_sent_find_locked(c, m->id);
	if (s && s->state == UH_SENT_WAIT) {
		if (!m->status) {
			s->state = UH_SENT_OK;
		} else {
			s->state = UH_SENT_REFUSED;
			s->status = m->status == -CSX_ENOSPC ||
						    m->status == -CSX_ENOMEM ?
					    -CSX_ENOMEM :
					    -CSX_EIO;
			csx_dbg("channel to %s: the exporter refused shared "
				"buffer %u: %d",
				c->name, (unsigned int)m->id, (int)m->status);
		}
		pthread_cond_broadcast(&c->sb_cond);
	}
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* @buf (@n bytes) is a well-framed message @type of @size bytes. */
static bool uh_msg_is(const void *buf, ssize_t n, uint16_t type, size_t size)
{
	const struct csx_uh_hdr *h = buf;

	return (size_t)n == size && h->magic == CSX_UH_MAGIC &&
	       h->version == CSX_UH_PROTO_VERSION && h->type == type &&
	       h->len == (uint32_t)n;
}

/*
 * uh thread: true if @buf is a LANE_REFUSE. The lane, if it is one we
 * added and still use, is closed with the reason, which wakes the call
 * posted on it; the channel adds no lane for a while.
 */
static bool uh_cchan_lane_refused(struct csx_uh_chan *c, const void *buf,
				  ssize_t n)
{
	const struct csx_uh_lane_refuse *m = buf;
	int32_t status;
	struct uh_clane *ln;

	if (!uh_msg_is(buf, n, CSX_UH_LANE_REFUSE, sizeof(*m)))
		return false;
	status = m->status == -CSX_ENOMEM ? -CSX_ENOMEM : -CSX_ENOSPC;
	pthread_mutex_lock(&c->lock);
	c->grow_at = csx_os_time_ns() + UH_REGROW_NS;
	c->grow_status = status;
	if (m->lane < c->nlanes) {
		ln = &c->lanes[m->lane];
		if (ln->sh && ln->use != UH_LANE_RETIRED &&
		    !__atomic_load_n(&ln->refused, __ATOMIC_RELAXED)) {
			/* Before the state: the woken call reads it then. */
			__atomic_store_n(&ln->refused, status,
					 __ATOMIC_SEQ_CST);
			uh_cli_force_closed(ln->sh);
		}
	}
	pthread_mutex_unlock(&c->lock);
	uh_refusal_log(c->name, "a lane", status);
	return true;
}

/*
 * uh thread: true if @buf is a REFUSE (the hang-up follows). A refusal
 * that is no death (permission, version, quota, memory) becomes what the
 * channel's calls fail with; a withdrawn service (-CSX_ENOENT) is one, as
 * if it had been withdrawn a moment after taking the channel, and so is a
 * status the protocol does not list: -CSX_EPEERDIED, and the core may
 * re-open the channel (to another instance, say).
 */
static bool uh_cchan_refused(struct csx_uh_chan *c, const void *buf, ssize_t n)
{
	const struct csx_uh_refuse *m = buf;

	if (!uh_msg_is(buf, n, CSX_UH_REFUSE, sizeof(*m)))
		return false;
	switch (m->status) {
	case -CSX_EPERM:
	case -CSX_EPROTO:
	case -CSX_ENOSPC:
	case -CSX_ENOMEM:
		__atomic_store_n(&c->refused, m->status, __ATOMIC_SEQ_CST);
		uh_refusal_log(c->name, "the channel", m->status);
		break;
	default:
		csx_dbg("channel to %s: the exporter refused it (%d): the "
			"service is gone there",
			c->name, (int)m->status);
		break;
	}
	return true;
}

/* uh thread: an exporter sends ACKs, refusals, and its hang-up. */
static void uh_cchan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct csx_uh_chan *c = arg;
	int fds[UH_FDS_MAX], mflags;
	unsigned int nfds;
	bool stopping, refused = false;
	union {
		struct csx_uh_shbuf_ack ack;
		struct csx_uh_refuse refuse;
		struct csx_uh_lane_refuse lane_refuse;
		char raw[64];
	} buf;
	ssize_t n;

	n = uh_recv(fd, &buf, sizeof(buf), fds, &nfds, &mflags);
	uh_close_fds(fds, nfds);
	/*
	 * An exporter that closed with our messages unread (a LANE_ADD
	 * sent before it refused the channel): the reset comes first, what
	 * it sent before closing (the refusal) after.
	 */
	if (n == -ECONNRESET) {
		n = uh_recv(fd, &buf, sizeof(buf), fds, &nfds, &mflags);
		uh_close_fds(fds, nfds);
	}
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n > 0 && !nfds && !(mflags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (uh_cchan_ack(c, &buf, n) ||
		    uh_cchan_lane_refused(c, &buf, n))
			return;
		refused = uh_cchan_refused(c, &buf, n);
	}
	if (n > 0 && !refused)
		csx_warn("channel to %s: the exporter sent a message, which "
			 "the protocol does not allow: closing the channel",
			 c->name);
	else if (!refused)
		csx_dbg("channel to %s: the exporter closed it", c->name);
	/* A refusal ends the channel here: its hang-up is not waited for. */
	event_del(c->ev);
	uh_cchan_kill(c);
	/*
	 * The core tells the channel's watcher, of a death only: a channel
	 * refused for a reason other than a withdrawn service is not one,
	 * and re-opening it would meet the same refusal. The caller's close
	 * waits for this callback (event_del()), so @c->rc is still the
	 * core's; at fini the core is gone already: no notices then.
	 */
	uh_lock();
	stopping = uh.stopping;
	uh_unlock();
	if (c->rc && !stopping &&
	    !__atomic_load_n(&c->refused, __ATOMIC_SEQ_CST))
		csx__remote_peer_gone(c->rc);
}

static void uh_lane_put(struct csx_uh_chan *c, struct uh_clane *ln,
			enum uh_use use)
{
	pthread_mutex_lock(&c->lock);
	ln->use = use;
	if (use == UH_LANE_FREE) {
		ln->next = c->free;
		c->free = ln;
	} else if (use == UH_LANE_ORPHAN) {
		c->norphans++;
	} else if (use == UH_LANE_RETIRED) {
		c->nretired++;
	} else if (use == UH_LANE_EMPTY) {
		/* The exporter never mapped it: nothing of it is left there. */
		munmap(ln->sh, CSX_UH_LANE_SIZE);
		ln->sh = NULL;
		__atomic_store_n(&ln->refused, 0, __ATOMIC_RELAXED);
		c->nempty++;
	}
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/*
 * Orphans (their call timed out while the server ran it) whose late
 * response came are free again: the response is dropped, and @done_seq
 * keeps it from ever answering a later call. Channel lock held.
 */
static bool uh_reclaim_locked(struct csx_uh_chan *c)
{
	struct uh_clane *ln;
	bool got = false;
	unsigned int i;
	uint32_t st;

	for (i = 0; i < c->nlanes && c->norphans; i++) {
		ln = &c->lanes[i];
		if (ln->use != UH_LANE_ORPHAN)
			continue;
		st = uh_state(ln->sh);
		if (st == CSX_UH_LANE_BUSY)
			continue;
		c->norphans--;
		if (st == CSX_UH_LANE_RESP &&
		    uh_cas(ln->sh, CSX_UH_LANE_RESP, CSX_UH_LANE_IDLE)) {
			ln->use = UH_LANE_FREE;
			ln->next = c->free;
			c->free = ln;
			got = true;
		} else {
			ln->use = UH_LANE_RETIRED;
			c->nretired++;
		}
	}
	return got;
}

/* The slot for a new lane: an emptied one, or the next. Lock held. */
static unsigned int uh_slot_locked(struct csx_uh_chan *c)
{
	unsigned int i;

	for (i = 0; c->nempty && i < c->nlanes; i++) {
		if (c->lanes[i].use == UH_LANE_EMPTY)
			return i;
	}
	return c->nlanes;
}

/*
 * A new lane: a sealed memfd (the server refuses any it could see shrink),
 * mapped here and passed to the server. Called with a slot reserved in
 * c->creating, without the lock; 0 with the lane in *out (owned by the
 * call), or a negative status.
 */
static int uh_lane_new(struct csx_uh_chan *c, uint64_t deadline,
		       struct uh_clane **out)
{
	struct csx_uh_lane_add m;
	struct csx_uh_lane *sh;
	struct uh_clane *ln;
	unsigned int slot = 0;
	int fd, ret, err;

	fd = memfd_create("csx-lane", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto out_errno;
	if (ftruncate(fd, CSX_UH_LANE_SIZE) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto out_close_errno;
	sh = mmap(NULL, CSX_UH_LANE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		  fd, 0);
	if (sh == MAP_FAILED)
		goto out_close_errno;
	memset(&m, 0, sizeof(m));
	m.size = CSX_UH_LANE_SIZE;
	pthread_mutex_lock(&c->lock);
	if (__atomic_load_n(&c->dead, __ATOMIC_RELAXED)) {
		ret = uh_dead_status(c);
	} else {
		slot = uh_slot_locked(c);
		m.lane = slot;
		uh_hdr(&m.hdr, CSX_UH_LANE_ADD, sizeof(m), 0);
		ret = uh_send(c->fd, &m, sizeof(m), fd);
		if (ret == -EPIPE || ret == -ECONNRESET) {
			ret = uh_wait_dead_locked(c, deadline);
		} else if (ret) {
			csx_warn("channel to %s: cannot add a lane: %s",
				 c->name, strerror(-ret));
			ret = -CSX_EIO;
		}
	}
	if (!ret) {
		/* Published under the lock: a hang-up or refusal sees it. */
		if (slot == c->nlanes)
			c->nlanes++;
		else
			c->nempty--;
		ln = &c->lanes[slot];
		ln->sh = sh;
		ln->use = UH_LANE_CALL;
		*out = ln;
	}
	pthread_mutex_unlock(&c->lock);
	close(fd);
	if (ret)
		munmap(sh, CSX_UH_LANE_SIZE);
	return ret;

out_close_errno:
	err = errno;
	close(fd);
	errno = err;
out_errno:
	err = errno;
	if (err == ENOMEM || err == EMFILE || err == ENFILE)
		return -CSX_ENOMEM;
	csx_warn("channel to %s: cannot make a lane: %s", c->name,
		 strerror(err));
	return -CSX_EIO;
}

/*
 * A lane for one call: free, reclaimed, new, or waited for. After the
 * exporter refused a lane the channel does not grow for UH_REGROW_NS:
 * calls wait for the lanes it has, or fail with the refusal if it has
 * none that works.
 */
static int uh_lane_get(struct csx_uh_chan *c, uint64_t deadline,
		       struct uh_clane **out)
{
	uint64_t now, until;
	unsigned int lanes;
	int ret;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (__atomic_load_n(&c->dead, __ATOMIC_RELAXED)) {
			ret = uh_dead_status(c);
			break;
		}
		if (c->free || (c->norphans && uh_reclaim_locked(c))) {
			*out = c->free;
			c->free = (*out)->next;
			(*out)->use = UH_LANE_CALL;
			ret = 0;
			break;
		}
		now = csx_os_time_ns();
		lanes = c->nlanes - c->nempty;
		if (lanes + c->creating < CSX_UH_LANES_MAX &&
		    now >= c->grow_at) {
			c->creating++;
			pthread_mutex_unlock(&c->lock);
			ret = uh_lane_new(c, deadline, out);
			pthread_mutex_lock(&c->lock);
			c->creating--;
			if (ret) /* the slot is free again */
				pthread_cond_signal(&c->cond);
			break;
		}
		if (c->nretired == lanes && !c->creating) {
			/* None will ever come back: do not wait for one. */
			ret = now < c->grow_at ? c->grow_status : -CSX_EIO;
			break;
		}
		/* All lanes busy: wait, within the call's own bound. */
		if (now >= deadline) {
			ret = -CSX_ETIMEDOUT;
			break;
		}
		until = deadline;
		if (c->norphans && until - now > UH_ORPHAN_POLL_NS)
			until = now + UH_ORPHAN_POLL_NS;
		if (now < c->grow_at && until > c->grow_at)
			until = c->grow_at; /* then a new lane may help */
		uh_cond_wait(&c->cond, &c->lock, until);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/*
 * Post the request on a lane the call owns. IDLE -> REQ by compare-and-
 * swap: a CLOSED forced by a hang-up is never overwritten. 0, or the
 * status to fail the call with (the lane's fate in *use).
 */
static int uh_post(struct csx_uh_chan *c, struct uh_clane *ln, uint32_t op,
		   const void *in, size_t in_len, size_t out_cap,
		   const struct csx_uh_shbuf_call *sbc, enum uh_use *use)
{
	struct csx_uh_lane *l = ln->sh;
	uint32_t st = uh_state(l);

	if (sbc) { /* the payloads are in the buffer; the lane names it */
		in = sbc;
		in_len = sizeof(*sbc);
	}
	if (st == CSX_UH_LANE_IDLE) {
		if (in_len)
			memcpy((unsigned char *)l + CSX_UH_LANE_IN_OFF, in,
			       in_len);
		if (sbc) {
			in_len = CSX_UH_LANE_IN_SHBUF;
			out_cap = 0;
		}
		__atomic_store_n(&l->op, op, __ATOMIC_RELAXED);
		__atomic_store_n(&l->in_len, (uint32_t)in_len,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&l->out_cap, (uint32_t)out_cap,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&l->seq, ++ln->seq, __ATOMIC_RELAXED);
		if (uh_cas(l, CSX_UH_LANE_IDLE, CSX_UH_LANE_REQ))
			goto posted;
		st = uh_state(l);
	}
	if (st == CSX_UH_LANE_CLOSED)
		return uh_closed_status(c, ln, use);
	*use = UH_LANE_RETIRED; /* never usable again, however it broke */
	csx_warn("channel to %s: lane in state %u before a call: the exporter "
		 "broke the protocol",
		 c->name, (unsigned int)st);
	return -CSX_EIO;

posted:
	/*
	 * A hang-up marks the channel dead before forcing the lanes. Seen
	 * here: its forcing may have missed this lane (still IDLE then), so
	 * close it ourselves. Not seen: the forcing comes after our REQ.
	 */
	if (__atomic_load_n(&c->dead, __ATOMIC_SEQ_CST)) {
		uh_cas(l, CSX_UH_LANE_REQ, CSX_UH_LANE_CLOSED);
		*use = UH_LANE_RETIRED;
		return uh_dead_status(c);
	}
	if (__atomic_load_n(&l->srv_sleep, __ATOMIC_SEQ_CST))
		uh_futex_wake(&l->state);
	return 0;
}

static bool uh_cli_waiting(uint32_t st)
{
	return st == CSX_UH_LANE_REQ || st == CSX_UH_LANE_BUSY;
}

/* Until the server answers, the deadline passes or the channel dies. */
static uint32_t uh_cli_wait(struct csx_uh_chan *c, struct csx_uh_lane *l,
			    struct uh_spin *sp, uint64_t deadline,
			    bool *timed_out)
{
	bool spin = uh_spin_begin(sp);
	unsigned int i;
	uint32_t st;

	*timed_out = false;
	for (i = 0; spin && i < CSX_USER_SPIN_LOOPS; i++) {
		st = uh_state(l);
		if (!uh_cli_waiting(st)) {
			uh_spin_end(sp, true, false);
			return st;
		}
		csx_user_cpu_relax();
	}
	uh_spin_end(sp, spin, true);
	for (;;) {
		__atomic_store_n(&l->cli_sleep, 1, __ATOMIC_SEQ_CST);
		st = uh_state(l);
		if (!uh_cli_waiting(st))
			break;
		/* A hostile peer could keep the state moving past the force. */
		if (__atomic_load_n(&c->dead, __ATOMIC_SEQ_CST)) {
			st = CSX_UH_LANE_CLOSED;
			break;
		}
		if (uh_futex_wait(&l->state, st, deadline) == ETIMEDOUT) {
			*timed_out = true;
			st = uh_state(l);
			break;
		}
	}
	__atomic_store_n(&l->cli_sleep, 0, __ATOMIC_RELAXED);
	return st;
}

/* The lane left REQ/BUSY in state @st: the call's result. */
static int uh_take(struct csx_uh_chan *c, struct uh_clane *ln, uint32_t st,
		   void *out, size_t out_cap, size_t *out_len, enum uh_use *use)
{
	struct csx_uh_lane *l = ln->sh;
	uint32_t len;
	uint64_t done;
	int32_t status;

	if (st == CSX_UH_LANE_CLOSED)
		return uh_closed_status(c, ln, use);
	if (st != CSX_UH_LANE_RESP) {
		csx_warn("channel to %s: lane in state %u during a call: the "
			 "exporter broke the protocol",
			 c->name, (unsigned int)st);
		goto out_retire;
	}
	/* Once: the exporter could change them while we look. */
	len = __atomic_load_n(&l->out_len, __ATOMIC_RELAXED);
	status = __atomic_load_n(&l->status, __ATOMIC_RELAXED);
	done = __atomic_load_n(&l->done_seq, __ATOMIC_RELAXED);
	if (done != ln->seq || len > out_cap) {
		csx_warn("channel to %s: a bad response (%u bytes for a "
			 "%zu-byte buffer, answers %llu of %llu)",
			 c->name, (unsigned int)len, out_cap,
			 (unsigned long long)done, (unsigned long long)ln->seq);
		goto out_retire;
	}
	if (len && out) /* NULL: a shared-buffer call, answered in place */
		memcpy(out, (unsigned char *)l + CSX_UH_LANE_OUT_OFF, len);
	/* Fails if CLOSED meanwhile: the answer stands, the lane is dead. */
	if (!uh_cas(l, CSX_UH_LANE_RESP, CSX_UH_LANE_IDLE))
		*use = UH_LANE_RETIRED;
	*out_len = len;
	return status;

out_retire:
	*use = UH_LANE_RETIRED;
	return -CSX_EIO;
}

/* ---- The uh thread ------------------------------------------------------- */

/* fini: the thread drops everything, then leaves once lane threads ended. */
static void uh_stop_locked(void)
{
	struct csx_uh_chan *c;
	struct uh_srv *srv;

	uh_conn_lost_locked(NULL);
	event_del(uh.retry_ev);
	for (srv = uh.srvs; srv; srv = srv->next)
		srv->kill = true;
	while ((c = uh.cchans)) {
		uh.cchans = c->next;
		csx_warn("channel to %s still open at exit", c->name);
		event_del(c->ev);
	}
}

static void uh_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uh_srv *end = NULL, *srv;
	struct uh_slane *zombies, *sl;

	uh_lock();
	if (uh.stopping)
		uh_stop_locked();
	if (uh.drop) {
		uh.drop = false;
		uh_conn_lost_locked("csx-uhelperd stopped answering");
	}
	if (uh.want_connect && !uh.stopping) {
		uh.want_connect = false;
		if (uh.conn == UH_DOWN)
			uh_connect_locked();
	}
	uh_retry_arm_locked();
	for (srv = uh.srvs; srv; srv = srv->next) {
		if (srv->kill && srv->watched) {
			srv->watched = false;
			srv->end_next = end;
			end = srv;
		}
	}
	zombies = uh.zombies;
	uh.zombies = NULL;
	uh_unlock();

	while ((srv = end)) {
		end = srv->end_next;
		uh_srv_end(srv);
	}
	while ((sl = zombies)) {
		zombies = sl->next;
		csx__user_thread_join(sl->tid);
		free(sl);
	}

	uh_lock();
	if (uh.stopping && !uh.lane_threads && !uh.zombies && !uh.srvs)
		event_base_loopbreak(uh.base);
	uh_unlock();
}

static void *uh_main(void *arg)
{
	if (event_base_loop(uh.base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
		csx_err("csx-uh: event loop failed");
	return NULL;
}

static void uh_free_base_locked(void)
{
	if (uh.kick_ev)
		event_free(uh.kick_ev);
	if (uh.retry_ev)
		event_free(uh.retry_ev);
	if (uh.base)
		event_base_free(uh.base);
	uh.kick_ev = NULL;
	uh.retry_ev = NULL;
	uh.base = NULL;
}

/*
 * Start the uh thread on first need. Its event base locks (evthread
 * pthreads, set up before by csx_os_timer.c): other threads add events
 * and activate the kick, and event_del() waits for a running callback.
 */
static int uh_start_locked(void)
{
	int ret;

	if (uh.running)
		return 0;
	if (uh.stopping)
		return -CSX_ENOENT;
	uh.base = event_base_new();
	if (!uh.base)
		return -CSX_ENOMEM;
	uh.kick_ev = event_new(uh.base, -1, 0, uh_kick_cb, NULL);
	uh.retry_ev = evtimer_new(uh.base, uh_retry_cb, NULL);
	if (!uh.kick_ev || !uh.retry_ev) {
		ret = -CSX_ENOMEM;
		goto out_free;
	}
	ret = csx__user_thread_spawn(&uh.thread, "csx-uh", 0, -1, uh_main,
				     NULL);
	if (ret)
		goto out_free;
	uh.running = true;
	return 0;

out_free:
	uh_free_base_locked();
	return ret;
}

/* ---- Interface (csx_uh.h) ------------------------------------------------ */

CSX_USER_HIDDEN int csx__user_uh_publish(const char *name, uint32_t version,
					 enum csx_service_scope scope,
					 uint64_t idempotent)
{
	struct csx_uh_export m;
	struct uh_pub *p, **pos;
	struct uh_req r;
	size_t len = strlen(name);
	int ret;

	if (len >= CSX_UH_NAME_MAX)
		return -CSX_EINVAL;
	memset(&m, 0, sizeof(m));
	if (scope == CSX_SERVICE_USER)
		m.scope = CSX_UH_SCOPE_USER;
	else if (scope == CSX_SERVICE_PUBLIC)
		m.scope = CSX_UH_SCOPE_PUBLIC;
	else
		return 0; /* private: nobody outside may know */
	m.version = version;
	m.idempotent = idempotent;
	memcpy(m.name, name, len + 1);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -CSX_ENOMEM;
	p->version = version;
	p->scope = m.scope;
	p->idempotent = idempotent;
	memcpy(p->name, name, len + 1);

	uh_init();
	uh_lock();
	ret = uh_start_locked();
	if (ret) {
		uh_unlock();
		free(p);
		csx_warn("service %s: no csx-uhelperd thread (%s): reachable "
			 "in this process only",
			 name, csx_strerror(ret));
		return ret == -CSX_ENOMEM ? ret : 0;
	}
	ret = uh_connect_wait_locked();
	/* Registered in publish order, so re-registration keeps it. */
	for (pos = &uh.pubs; *pos; pos = &(*pos)->next)
		;
	*pos = p;
	if (ret) {
		/* No daemon (yet): the thread keeps trying and sends it. */
		uh_kick_locked();
		uh_unlock();
		csx_dbg("service %s: no csx-uhelperd; reachable in this "
			"process only until one starts",
			name);
		return 0;
	}
	/* Sent now, on this connection: the re-registration skips it. */
	p->gen = uh.gen;
	ret = uh_request_locked(&r, &m.hdr, sizeof(m), CSX_UH_EXPORT);
	if (ret == UH_REQ_OK && r.status == -CSX_EEXIST) {
		for (pos = &uh.pubs; *pos != p; pos = &(*pos)->next)
			;
		*pos = p->next;
		uh_unlock();
		free(p);
		return -CSX_EEXIST;
	}
	if (ret == UH_REQ_OK && r.status)
		csx_warn("service %s: csx-uhelperd refused it: %s", name,
			 csx_strerror(r.status));
	/* Lost or not answered: sent again when the daemon is back. */
	uh_unlock();
	return 0;
}

CSX_USER_HIDDEN void csx__user_uh_withdraw(const char *name)
{
	struct uh_pub *p = NULL, **pos;
	struct csx_uh_name m;
	struct uh_srv *srv;
	struct uh_req r;
	bool any, kick;
	int ret;

	uh_init();
	uh_lock();
	for (pos = &uh.pubs; *pos; pos = &(*pos)->next) {
		if (!strcmp((*pos)->name, name)) {
			p = *pos;
			*pos = p->next;
			break;
		}
	}
	if (p && uh.conn == UH_UP && p->gen == uh.gen) {
		memset(&m, 0, sizeof(m));
		memcpy(m.name, p->name, sizeof(m.name));
		ret = uh_request_locked(&r, &m.hdr, sizeof(m), CSX_UH_UNEXPORT);
		if (ret != UH_REQ_OK || r.status)
			csx_dbg("service %s: csx-uhelperd did not withdraw "
				"it (%d, %d)",
				name, ret,
				ret == UH_REQ_OK ? (int)r.status : 0);
	}
	/*
	 * The daemon sends in order: any CONNECT for @name came before the
	 * reply above and has its channel by now. End them all and wait,
	 * so the core channels are closed when the core unexports.
	 */
	for (;;) {
		any = false;
		kick = false;
		for (srv = uh.srvs; srv; srv = srv->next) {
			if (strcmp(srv->name, name))
				continue;
			any = true;
			if (!srv->kill)
				kick = true;
			srv->kill = true;
		}
		if (!any)
			break;
		if (kick)
			uh_kick_locked();
		uh_cond_wait(&uh.cond, &uh.lock, UH_FOREVER);
	}
	uh_unlock();
	free(p);
}

static int uh_open_status(const char *name, int32_t status)
{
	switch (status) {
	case -CSX_ENOENT:
	case -CSX_EPROTO:
	case -CSX_EPERM:
	case -CSX_ENOSPC:
	case -CSX_ENOMEM:
	case -CSX_EIO:
		return status;
	case -CSX_EBUSY: /* the exporter's socket is full: not now */
		csx_dbg("csx_open(%s): its exporter is too busy", name);
		return -CSX_EIO;
	case -CSX_EPEERDIED: /* the exporter is going away */
		csx_dbg("csx_open(%s): its exporter could not be reached",
			name);
		return -CSX_ENOENT;
	default:
		csx_warn("csx_open(%s): csx-uhelperd answered %d", name,
			 (int)status);
		return -CSX_EIO;
	}
}

static int uh_cchan_new(const char *name, int fd, struct csx_os_rchan *rc,
			struct csx_uh_chan **out)
{
	struct csx_uh_chan *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -CSX_ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, &uh_condattr);
	pthread_cond_init(&c->sb_cond, &uh_condattr);
	c->fd = fd;
	c->rc = rc;
	snprintf(c->name, sizeof(c->name), "%s", name);
	uh_lock();
	c->ev = event_new(uh.base, fd, EV_READ | EV_PERSIST, uh_cchan_cb, c);
	if (!c->ev || event_add(c->ev, NULL)) {
		uh_unlock();
		if (c->ev)
			event_free(c->ev);
		pthread_cond_destroy(&c->sb_cond);
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return -CSX_ENOMEM;
	}
	c->next = uh.cchans;
	uh.cchans = c;
	uh_unlock();
	*out = c;
	return 0;
}

/* How long the daemon may hold an OPEN for @wait_ns: whole ms, capped. */
static uint32_t uh_wait_ms(int64_t wait_ns)
{
	uint64_t ms;

	if (wait_ns <= 0)
		return 0;
	ms = ((uint64_t)wait_ns + CSX_NSEC_PER_MSEC - 1) / CSX_NSEC_PER_MSEC;
	return ms > CSX_UH_OPEN_WAIT_MAX_MS ? CSX_UH_OPEN_WAIT_MAX_MS :
					      (uint32_t)ms;
}

/* OPEN and its reply: 0 with @r answered, or the open's status. */
static int uh_open_req(const char *name, struct csx_uh_open *m,
		       struct uh_req *r)
{
	uint64_t hold_ns = (uint64_t)m->wait_ms * CSX_NSEC_PER_MSEC;
	int ret;

	uh_init();
	uh_lock();
	ret = uh_start_locked();
	if (!ret && uh_connect_wait_locked()) {
		csx_dbg("csx_open(%s): no csx-uhelperd", name);
		ret = -CSX_ENOENT;
	}
	if (!ret) {
		switch (uh_request_fd_locked(r, &m->hdr, sizeof(*m),
					     CSX_UH_OPEN, -1, hold_ns)) {
		case UH_REQ_OK:
			break;
		case UH_REQ_LOST: /* as if there had been no daemon */
			csx_dbg("csx_open(%s): csx-uhelperd went away", name);
			ret = -CSX_ENOENT;
			break;
		case UH_REQ_TIMEDOUT:
			ret = -CSX_EIO;
			break;
		}
	}
	uh_unlock();
	return ret;
}

CSX_USER_HIDDEN int csx__user_uh_open(const char *name, uint32_t min_version,
				      int64_t wait_ns, struct csx_os_rchan *rc,
				      struct csx_uh_chan **out,
				      uint32_t *version, uint64_t *idempotent)
{
	struct csx_uh_open m;
	struct uh_req r;
	size_t len = strlen(name);
	int ret, type;
	socklen_t tlen = sizeof(type);

	if (len >= sizeof(m.name))
		return -CSX_ENOENT;
	memset(&m, 0, sizeof(m));
	m.min_version = min_version;
	m.wait_ms = uh_wait_ms(wait_ns);
	if (m.wait_ms)
		m.flags = CSX_UH_OPEN_WAIT;
	memcpy(m.name, name, len + 1);

	ret = uh_open_req(name, &m, &r);
	if (ret)
		return ret;
	if (r.status)
		return uh_open_status(name, r.status);
	if (getsockopt(r.fd, SOL_SOCKET, SO_TYPE, &type, &tlen) ||
	    type != SOCK_SEQPACKET) {
		csx_warn("csx_open(%s): csx-uhelperd passed something that is "
			 "not a channel socket",
			 name);
		close(r.fd);
		return -CSX_EIO;
	}
	ret = uh_cchan_new(name, r.fd, rc, out);
	if (ret) {
		close(r.fd);
		return ret;
	}
	*version = r.value;
	*idempotent = r.aux;
	return 0;
}

/*
 * One call on a lane: inline payloads, or (@sbc) payloads in a shared
 * buffer the exporter has mapped, @out NULL then.
 */
static int uh_call_once(struct csx_uh_chan *c, uint32_t op, const void *in,
			size_t in_len, void *out, size_t out_cap,
			const struct csx_uh_shbuf_call *sbc, size_t *out_len,
			uint64_t deadline, enum uh_use *usep)
{
	enum uh_use use = UH_LANE_FREE;
	struct uh_clane *ln = NULL;
	bool timed_out;
	uint32_t st;
	int ret;

	*usep = UH_LANE_FREE;
	ret = uh_lane_get(c, deadline, &ln);
	if (ret)
		return ret;
	ret = uh_post(c, ln, op, in, in_len, out_cap, sbc, &use);
	if (ret)
		goto out_put;
	st = uh_cli_wait(c, ln->sh, &ln->spin, deadline, &timed_out);
	if (timed_out) {
		/* Not taken yet: withdrawn, it never ran; the lane is fine. */
		if (uh_cas(ln->sh, CSX_UH_LANE_REQ, CSX_UH_LANE_IDLE)) {
			ret = -CSX_ETIMEDOUT;
			goto out_put;
		}
		st = uh_state(ln->sh);
		if (st == CSX_UH_LANE_BUSY) {
			/* Running: its lane comes back once it answers. */
			use = UH_LANE_ORPHAN;
			ret = -CSX_ETIMEDOUT;
			goto out_put;
		}
		/* Answered (or closed) at the last moment: take that. */
	}
	ret = uh_take(c, ln, st, out, out_cap, out_len, &use);
out_put:
	uh_lane_put(c, ln, use);
	*usep = use;
	return ret;
}

/*
 * A call. On a lane the exporter refused, the request never ran there:
 * it is made again on another lane if the channel has one (the refusal
 * stops the channel's growth, so this ends), else it fails with the
 * refusal.
 */
static int uh_call(struct csx_uh_chan *c, uint32_t op, const void *in,
		   size_t in_len, void *out, size_t out_cap,
		   const struct csx_uh_shbuf_call *sbc, size_t *out_len,
		   uint64_t deadline)
{
	enum uh_use use;
	int ret;

	for (;;) {
		ret = uh_call_once(c, op, in, in_len, out, out_cap, sbc,
				   out_len, deadline, &use);
		if (use != UH_LANE_EMPTY || csx_os_time_ns() >= deadline)
			return ret;
	}
}

CSX_USER_HIDDEN int csx__user_uh_call(struct csx_uh_chan *c, uint32_t op,
				      const void *in, size_t in_len, void *out,
				      size_t out_cap, size_t *out_len,
				      int64_t timeout_ns)
{
	*out_len = 0;
	if (in_len > CSX_UH_LANE_PAYLOAD || out_cap > CSX_UH_LANE_PAYLOAD)
		return -CSX_EMSGSIZE; /* the core's bound is lower */
	if (__atomic_load_n(&c->dead, __ATOMIC_RELAXED))
		return uh_dead_status(c);
	return uh_call(c, op, in, in_len, out, out_cap, NULL, out_len,
		       uh_deadline(timeout_ns));
}

/* ---- Shared buffers, caller side (csx_uh.h) ------------------------------ */

/* Numbers of our buffers: never 0, not reused while the process runs. */
static uint32_t uh_sb_ids;

CSX_USER_HIDDEN int
csx__user_uh_shbuf_new(size_t size, struct csx_uh_shbuf **out, void **addr)
{
	struct csx_uh_shbuf *ub;
	int err;

	ub = calloc(1, sizeof(*ub));
	if (!ub)
		return -CSX_ENOMEM;
	ub->size = size;
	/* Sealed as the exporter wants it: it could never shrink there. */
	ub->fd = memfd_create("csx-shbuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ub->fd < 0)
		goto out_errno;
	if (ftruncate(ub->fd, (off_t)size) ||
	    fcntl(ub->fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto out_close;
	ub->addr =
		mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ub->fd, 0);
	if (ub->addr == MAP_FAILED)
		goto out_close;
	do
		ub->id = __atomic_add_fetch(&uh_sb_ids, 1, __ATOMIC_RELAXED);
	while (!ub->id);
	*out = ub;
	*addr = ub->addr;
	return 0;

out_close:
	err = errno;
	close(ub->fd);
	errno = err;
out_errno:
	err = errno;
	free(ub);
	if (err != ENOMEM && err != EMFILE && err != ENFILE && err != ENOSPC)
		csx_warn("shared buffer of %zu bytes: %s", size, strerror(err));
	return -CSX_ENOMEM;
}

CSX_USER_HIDDEN void csx__user_uh_shbuf_free(struct csx_uh_shbuf *ub)
{
	struct csx_uh_shbuf_drop m;
	struct csx_uh_chan *c;
	struct uh_sent *s;

	memset(&m, 0, sizeof(m));
	uh_hdr(&m.hdr, CSX_UH_SHBUF_DROP, sizeof(m), 0);
	m.id = ub->id;
	/* Every channel that has it, or may have it (no ACK yet). */
	uh_lock();
	for (c = uh.cchans; c; c = c->next) {
		pthread_mutex_lock(&c->lock);
		s = uh_sent_find_locked(c, ub->id);
		if (s) {
			/* Lost if the socket is full: mapped there until the
			 * channel ends, within the exporter's limits. */
			if (!__atomic_load_n(&c->dead, __ATOMIC_RELAXED) &&
			    uh_send(c->fd, &m, sizeof(m), -1))
				csx_dbg("channel to %s: cannot drop shared "
					"buffer %u",
					c->name, (unsigned int)ub->id);
			memset(s, 0, sizeof(*s));
		}
		pthread_mutex_unlock(&c->lock);
	}
	uh_unlock();
	munmap(ub->addr, ub->size);
	close(ub->fd);
	free(ub);
}

/* Give @ub to @c's exporter: ADD, with its memfd. c->lock held. */
static int uh_sb_send_locked(struct csx_uh_chan *c, struct csx_uh_shbuf *ub)
{
	struct csx_uh_shbuf_add m;
	struct uh_sent *s;
	int ret;

	s = uh_sent_find_locked(c, 0);
	if (!s) {
		csx_dbg("channel to %s: more than %u shared buffers on it",
			c->name, CSX_UH_SHBUF_PER_CHAN);
		return -CSX_ENOMEM;
	}
	memset(&m, 0, sizeof(m));
	uh_hdr(&m.hdr, CSX_UH_SHBUF_ADD, sizeof(m), 0);
	m.id = ub->id;
	m.size = ub->size;
	ret = uh_send(c->fd, &m, sizeof(m), ub->fd);
	if (ret == -EPIPE || ret == -ECONNRESET)
		return -CSX_EPEERDIED;
	if (ret) {
		csx_warn("channel to %s: cannot give a shared buffer: %s",
			 c->name, strerror(-ret));
		return -CSX_EIO;
	}
	s->id = ub->id;
	s->state = UH_SENT_WAIT;
	s->status = 0;
	return 0;
}

/*
 * The exporter must have mapped @ub before a request names it: on its
 * first use on @c, give it and wait for the ACK (the uh thread hands it
 * over). 0, or the status to fail the call with.
 */
static int uh_sb_give(struct csx_uh_chan *c, struct csx_uh_shbuf *ub,
		      uint64_t deadline)
{
	struct uh_sent *s;
	int ret;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (__atomic_load_n(&c->dead, __ATOMIC_RELAXED)) {
			ret = uh_dead_status(c);
			break;
		}
		s = uh_sent_find_locked(c, ub->id);
		if (!s) {
			ret = uh_sb_send_locked(c, ub);
			if (ret == -CSX_EPEERDIED)
				ret = uh_wait_dead_locked(c, deadline);
			if (ret)
				break;
			continue;
		}
		if (s->state == UH_SENT_OK) {
			ret = 0;
			break;
		}
		if (s->state == UH_SENT_REFUSED) {
			/* This call fails; the next one asks again. */
			ret = s->status;
			memset(s, 0, sizeof(*s));
			break;
		}
		if (!uh_cond_wait(&c->sb_cond, &c->lock, deadline)) {
			ret = -CSX_ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

CSX_USER_HIDDEN int csx__user_uh_call_shbuf(struct csx_uh_chan *c, uint32_t op,
					    struct csx_uh_shbuf *ub,
					    size_t in_off, size_t in_len,
					    size_t out_off, size_t out_cap,
					    size_t *out_len, int64_t timeout_ns)
{
	uint64_t deadline = uh_deadline(timeout_ns);
	struct csx_uh_shbuf_call d = {
		.id = ub->id,
		.in_off = in_off,
		.in_len = in_len,
		.out_off = out_off,
		.out_cap = out_cap,
	};
	int ret;

	*out_len = 0;
	if (!uh_window_ok(in_off, in_len, ub->size) ||
	    !uh_window_ok(out_off, out_cap, ub->size))
		return -CSX_EINVAL; /* the core checked them */
	if (__atomic_load_n(&c->dead, __ATOMIC_RELAXED))
		return uh_dead_status(c);
	ret = uh_sb_give(c, ub, deadline);
	if (ret)
		return ret;
	return uh_call(c, op, NULL, 0, NULL, out_cap, &d, out_len, deadline);
}

CSX_USER_HIDDEN void csx__user_uh_close(struct csx_uh_chan *c)
{
	struct csx_uh_chan **pos;
	unsigned int i;

	uh_lock();
	for (pos = &uh.cchans; *pos; pos = &(*pos)->next) {
		if (*pos == c) {
			*pos = c->next;
			break;
		}
	}
	uh_unlock();
	/* Not under uh.lock: this waits for a callback running on @c. */
	event_del(c->ev);
	event_free(c->ev);
	close(c->fd); /* the exporter sees the hang-up and ends its side */
	for (i = 0; i < c->nlanes; i++) {
		if (c->lanes[i].sh)
			munmap(c->lanes[i].sh, CSX_UH_LANE_SIZE);
	}
	pthread_cond_destroy(&c->sb_cond);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

CSX_USER_HIDDEN void csx__user_uh_fini(void)
{
	struct csx_uh_region *rg;
	struct uh_slane *sl;
	struct uh_drop *d;
	struct uh_pub *p;
	bool running;

	uh_init();
	uh_lock();
	running = uh.running;
	if (running) {
		uh.stopping = true;
		uh_kick_locked();
	}
	uh_unlock();
	if (running)
		csx__user_thread_join(uh.thread);
	uh_lock();
	while ((sl = uh.zombies)) {
		uh.zombies = sl->next;
		csx__user_thread_join(sl->tid);
		free(sl);
	}
	uh_free_base_locked();
	while ((p = uh.pubs)) {
		uh.pubs = p->next;
		free(p);
	}
	/* Kept, or left open by the core: the daemon keeps them. */
	while ((rg = uh.regions)) {
		uh.regions = rg->next;
		if (!rg->kept)
			csx_dbg("saved state %s still open at exit", rg->name);
		close(rg->fd);
		free(rg);
	}
	while ((d = uh.drops)) {
		uh.drops = d->next;
		csx_warn("saved state %s: csx-uhelperd could not be told to "
			 "drop it",
			 d->name);
		free(d);
	}
	uh.running = false;
	uh.stopping = false;
	uh.conn = UH_DOWN;
	uh.dfd = -1;
	uh.want_connect = false;
	uh.drop = false;
	uh.ever_up = false;
	uh.warned_path = false;
	uh.warned_proto = false;
	uh.backoff_ms = UH_BACKOFF_MIN_MS;
	uh.rx_active = false;
	uh_unlock();
}

/* ---- Saved-state regions (csx_uh.h) -------------------------------------- */

CSX_USER_HIDDEN int csx__user_uh_state_get(const char *name, uint64_t size,
					   int *fd, uint64_t *from)
{
	struct csx_uh_state m;
	struct uh_req r;
	size_t len = strlen(name);
	int ret;

	if (len >= sizeof(m.name))
		return -CSX_ENOENT; /* the core's names are shorter */
	memset(&m, 0, sizeof(m));
	m.size = size;
	memcpy(m.name, name, len + 1);

	uh_init();
	uh_lock();
	ret = uh_start_locked();
	if (ret) {
		uh_unlock();
		return ret == -CSX_ENOMEM ? ret : CSX_UH_NOTCONN;
	}
	if (uh_connect_wait_locked()) {
		uh_unlock();
		return CSX_UH_NOTCONN;
	}
	switch (uh_request_locked(&r, &m.hdr, sizeof(m), CSX_UH_STATE_GET)) {
	case UH_REQ_OK:
		break;
	case UH_REQ_LOST:
		uh_unlock();
		return CSX_UH_NOTCONN;
	case UH_REQ_TIMEDOUT:
		uh_unlock();
		return -CSX_EIO;
	}
	*from = uh.gen;
	uh_unlock();
	if (!r.status) {
		*fd = r.fd;
		return 0;
	}
	if (r.status == -CSX_ENOENT)
		return -CSX_ENOENT;
	if (r.status != -CSX_EIO) /* ours: a malformed reply, said */
		csx_warn("saved state %s: csx-uhelperd answered %s", name,
			 csx_strerror(r.status));
	return r.status == -CSX_ENOMEM ? -CSX_ENOMEM : -CSX_EIO;
}

/* A region of that name is held again: any drop still owed is moot. */
static void uh_drop_cancel_locked(const char *name)
{
	struct uh_drop **pos = &uh.drops, *d;

	while ((d = *pos)) {
		if (!strcmp(d->name, name)) {
			*pos = d->next;
			free(d);
		} else {
			pos = &d->next;
		}
	}
}

static void uh_region_unlink_locked(struct csx_uh_region *rg)
{
	struct csx_uh_region **pos;

	for (pos = &uh.regions; *pos; pos = &(*pos)->next) {
		if (*pos == rg) {
			*pos = rg->next;
			return;
		}
	}
}

/* The daemon could not be reached: try on the next connection. */
static void uh_later_locked(void)
{
	if (uh.running && !uh.stopping)
		uh_retry_arm_locked();
}

CSX_USER_HIDDEN int csx__user_uh_state_hold(const char *name, int fd,
					    uint64_t size, uint64_t from,
					    struct csx_uh_region **out)
{
	struct csx_uh_region *rg;
	struct csx_uh_state m;
	struct uh_req r;
	size_t len = strlen(name);

	if (len >= sizeof(rg->name))
		return -CSX_ENOMEM; /* the core's names are shorter */
	rg = calloc(1, sizeof(*rg));
	if (!rg)
		return -CSX_ENOMEM;
	rg->fd = fd;
	rg->size = size;
	memcpy(rg->name, name, len + 1);
	*out = rg;

	uh_init();
	uh_lock();
	uh_drop_cancel_locked(name);
	rg->next = uh.regions;
	uh.regions = rg;
	if (from && from == uh.gen && uh.conn == UH_UP) {
		rg->gen = from; /* the daemon that gave it is still there */
		uh_unlock();
		return 0;
	}
	if (uh.conn != UH_UP) {
		uh_later_locked();
		uh_unlock();
		return 0;
	}
	/* Marked first: the re-registration skips it on this connection. */
	rg->gen = uh.gen;
	memset(&m, 0, sizeof(m));
	m.size = size;
	memcpy(m.name, name, len + 1);
	switch (uh_request_fd_locked(&r, &m.hdr, sizeof(m), CSX_UH_STATE_PUT,
				     fd, 0)) {
	case UH_REQ_OK:
		if (r.status == -CSX_ENOSPC) {
			uh_region_unlink_locked(rg);
			uh_unlock();
			free(rg);
			csx_warn("saved state %s: csx-uhelperd holds too many "
				 "regions for this user",
				 name);
			return -CSX_ENOSPC;
		}
		if (r.status)
			csx_warn("saved state %s: csx-uhelperd refused it: "
				 "%s; it will not outlive this process",
				 name, csx_strerror(r.status));
		break;
	case UH_REQ_LOST: /* sent again on the next connection */
	case UH_REQ_TIMEDOUT:
		csx_dbg("saved state %s: csx-uhelperd did not take it yet",
			name);
		break;
	}
	uh_unlock();
	return 0;
}

/* Tell the next connection to drop @name; uh.lock held. */
static void uh_drop_owe_locked(const char *name)
{
	struct uh_drop *d;

	d = calloc(1, sizeof(*d));
	if (!d) {
		csx_warn("saved state %s: out of memory: csx-uhelperd may "
			 "keep it",
			 name);
		return;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->next = uh.drops;
	uh.drops = d;
	uh_later_locked();
}

CSX_USER_HIDDEN int csx__user_uh_state_take(const char *name,
					    struct csx_uh_region **out, int *fd,
					    uint64_t *size)
{
	struct csx_uh_region *rg;

	uh_init();
	uh_lock();
	for (rg = uh.regions; rg; rg = rg->next) {
		if (rg->kept && !strcmp(rg->name, name))
			break;
	}
	if (rg) {
		rg->kept = false;
		*out = rg;
		*fd = rg->fd;
		*size = rg->size;
	}
	uh_unlock();
	return rg ? 0 : -CSX_ENOENT;
}

CSX_USER_HIDDEN void csx__user_uh_state_release(struct csx_uh_region *rg,
						bool drop)
{
	struct csx_uh_name m;
	struct uh_req r;
	bool owe = false;

	uh_init();
	uh_lock();
	if (!drop) {
		rg->kept = true; /* and PUT again to a restarted daemon */
		uh_unlock();
		return;
	}
	uh_region_unlink_locked(rg);
	/* A region no daemon ever had needs no drop. */
	if (rg->gen) {
		owe = true;
		if (uh.conn == UH_UP) {
			memset(&m, 0, sizeof(m));
			memcpy(m.name, rg->name, sizeof(m.name));
			owe = uh_request_locked(&r, &m.hdr, sizeof(m),
						CSX_UH_STATE_DROP) != UH_REQ_OK;
			if (!owe && r.status && r.status != -CSX_ENOENT)
				csx_warn("saved state %s: csx-uhelperd did not "
					 "drop it: %s",
					 rg->name, csx_strerror(r.status));
		}
		if (owe)
			uh_drop_owe_locked(rg->name);
	}
	uh_unlock();
	close(rg->fd);
	free(rg);
}
