/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * uh_fuzz SOCKET [SECONDS [PID]]: hostile traffic against a running
 * csx-uhelperd, then proof that it still works and leaked nothing.
 *
 * For SECONDS (default 5, or $CSX_UH_FUZZ_SECS) it sends, over several
 * connections: random bytes, valid headers with random bodies, every
 * request type with one field broken (lengths off by one, unterminated and
 * invalid names, bad scopes, flags, huge lengths, wrong magic/version/
 * protocol), requests carrying descriptors, requests before HELLO, second
 * HELLOs, EXPORT/OPEN/UNEXPORT storms over a small pool of names (so it
 * opens its own exports and closes the CONNECT descriptors it gets),
 * OPENs that wait for their service (and floods of them, past the limit),
 * STATE_PUTs of good and bad descriptors (memfds unsealed, half sealed, of
 * another size, empty; /dev/null, pipes, sockets; none, two), STATE_GET
 * and STATE_DROP, SUBSCRIBE (so events come along), connections closed
 * with requests in flight, a connection that never reads its replies (the
 * daemon must drop it, not block) and a subscriber that never reads its
 * events (the daemon must drop events, not it).
 *
 * Every reply is checked against the protocol: framing, order (seq; held
 * OPENs apart, but each answered once), descriptors only with OPEN and
 * STATE_GET successes and CONNECTs, events well formed, and the status
 * where the request alone decides it. A header that does not frame its
 * datagram must get the connection closed. At the end: a fresh HELLO +
 * EXPORT (twice: instances) + OPEN (+ a datagram through the channel) +
 * LIST works, the saved state the fuzz left is dropped, no fuzz service
 * or region is left, and the daemon's descriptor count (/proc/PID/fd; PID
 * from SO_PEERCRED unless given) is back to where it was before.
 *
 * The PRNG seed is printed; $CSX_UH_FUZZ_SEED replays a run. Exit 0 on
 * success, 1 on a failure, 2 on bad usage.
 */
#include "uh_util.h"

#include <csx/csx_status.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NCONN 8
/* OPENs a flood holds: more than the daemon's 64 per connection. */
#define UHD_FUZZ_WAIT_FLOOD 80
#define NNAMES 24
#define NSTATES 6
#define SEQ_RING 16384
/* How long the daemon may take to close a connection it must close. */
#define DOOM_NS (3 * 1000000000LL)
/* Settling of the daemon's descriptor count. */
#define SETTLE_NS (2 * 1000000000LL)

/* Expectations besides a status (statuses are <= 0). */
#define EXP_ANY 1  /* any allowed status */
#define EXP_NONE 2 /* no reply: the connection must be closed */

enum hello_state { HELLO_NO, HELLO_YES, HELLO_UNKNOWN };

struct sent {
	uint32_t seq;
	uint16_t type;
	bool wait;     /* an OPEN that may be held: answered out of order */
	bool answered; /* each request gets one reply */
	int32_t expect;
};

struct conn {
	int fd;
	enum hello_state hello;
	uint32_t seq;  /* last sent */
	uint32_t rseq; /* last answered */
	uint64_t last_chan;
	int64_t doomed; /* when a framing error was sent, or 0 */
	struct sent sent[SEQ_RING];
};

static struct {
	unsigned long rounds;
	unsigned long sent, bytes, fds_sent, send_refused;
	unsigned long replies, connects, events, fds_recv;
	unsigned long waits, state_puts, lazy_events;
	unsigned long opened, closed_by_daemon, closed_by_us, dropped_reader;
	unsigned long status[CSX_EPEERDIED + 2]; /* by -status; last: other */
	unsigned long bad;
} st;

static const char *sock_path;
static uint64_t rng;
static int devnull;
static struct conn conns[NCONN];
static union uh_msg rmsg;
static union {
	struct csx_uh_hdr hdr;
	struct csx_uh_hello hello;
	struct csx_uh_export exp;
	struct csx_uh_name name;
	struct csx_uh_open open;
	struct csx_uh_state state;
	unsigned char raw[CSX_UH_MSG_MAX + 4096];
} smsg;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* splitmix64: small, good enough, and the same on every machine. */
static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static void rnd_fill(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len--)
		*p++ = (unsigned char)rnd();
}

__attribute__((format(printf, 1, 2))) static void violation(const char *fmt,
							    ...)
{
	va_list ap;

	if (++st.bad > 20)
		return;
	fputs("uh_fuzz: VIOLATION: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt,
								...)
{
	va_list ap;

	fputs("uh_fuzz: FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
}

static void conn_open(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = uh_connect(sock_path, SOCK_NONBLOCK);
	if (c->fd < 0)
		die("cannot connect to the daemon: %s", strerror(-c->fd));
	st.opened++;
}

static bool status_allowed(int32_t s)
{
	switch (-s) {
	case 0:
	case CSX_EINVAL:
	case CSX_EEXIST:
	case CSX_ENOENT:
	case CSX_EPROTO:
	case CSX_EPERM:
	case CSX_EPEERDIED:
	case CSX_ENOSPC:
	case CSX_EBUSY:
		return true;
	default:
		return false;
	}
}

static void check_connect(struct conn *c, ssize_t n, int nfds)
{
	const struct csx_uh_connect *m = &rmsg.connect;

	st.connects++;
	if ((size_t)n != sizeof(*m) || nfds != 1 || m->reserved ||
	    m->peer_pid != (uint32_t)getpid() ||
	    m->peer_uid != (uint32_t)getuid() || m->hdr.seq != 0 ||
	    !uh_name_ok(m->name, sizeof(m->name)) || m->chan_id <= c->last_chan)
		violation(
			"bad CONNECT: %zd bytes, %d fds, pid %u, chan %" PRIu64
			" after %" PRIu64,
			n, nfds, m->peer_pid, m->chan_id, c->last_chan);
	c->last_chan = m->chan_id;
}

static bool list_text_ok(const char *t, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (t[i] != '\n' && (t[i] < 0x20 || t[i] > 0x7e))
			return false;
	return !len || t[len - 1] == '\n';
}

static void check_reply(struct conn *c, ssize_t n, int nfds)
{
	const struct csx_uh_reply *r = &rmsg.reply;
	struct sent *s = &c->sent[r->hdr.seq % SEQ_RING];

	st.replies++;
	if ((size_t)n < sizeof(*r)) {
		violation("reply of %zd bytes", n);
		return;
	}
	if (r->status <= 0 && -r->status <= CSX_EPEERDIED)
		st.status[-r->status]++;
	else
		st.status[CSX_EPEERDIED + 1]++;
	if (s->seq != r->hdr.seq || s->answered || r->hdr.seq > c->seq ||
	    (!s->wait && r->hdr.seq <= c->rseq)) {
		violation("reply seq %u out of order or not expected "
			  "(answered %u, sent %u)",
			  r->hdr.seq, c->rseq, c->seq);
		return;
	}
	s->answered = true;
	if (!s->wait)
		c->rseq = r->hdr.seq;
	if (!status_allowed(r->status))
		violation("reply status %d", r->status);
	if (s->expect == EXP_NONE)
		violation("reply %d to seq %u, which should have closed the "
			  "connection",
			  r->status, r->hdr.seq);
	else if (s->expect != EXP_ANY && s->expect != r->status)
		violation("type 0x%x seq %u: status %d, want %d", s->type,
			  r->hdr.seq, r->status, s->expect);
	if (nfds != ((s->type == CSX_UH_OPEN || s->type == CSX_UH_STATE_GET) &&
		     r->status == 0))
		violation("type 0x%x status %d came with %d fds", s->type,
			  r->status, nfds);
	if (s->type == CSX_UH_STATE_GET && r->status == 0 && r->value != 1)
		violation("STATE_GET value %u", r->value);
	if (s->type == CSX_UH_HELLO && r->status == 0) {
		if (r->value != CSX_UH_PROTO_VERSION)
			violation("HELLO value %u", r->value);
		c->hello = HELLO_YES;
	}
	if (s->type == CSX_UH_LIST && r->status == 0 &&
	    !list_text_ok((const char *)(r + 1), n - sizeof(*r)))
		violation("LIST text not printable lines");
	if (!(s->type == CSX_UH_LIST && r->status == 0) &&
	    (size_t)n != sizeof(*r))
		violation("reply of %zd bytes to type 0x%x", n, s->type);
}

static bool event_ok(ssize_t n, int nfds)
{
	const struct csx_uh_event *e = (const struct csx_uh_event *)rmsg.raw;

	return (size_t)n == sizeof(*e) && nfds == 0 && e->hdr.seq == 0 &&
	       e->event >= CSX_UH_EV_STARTED &&
	       e->event <= CSX_UH_EV_SERVICE_DOWN &&
	       memchr(e->container, '\0', sizeof(e->container)) &&
	       memchr(e->service, '\0', sizeof(e->service));
}

static void check_event(ssize_t n, int nfds)
{
	const struct csx_uh_event *e = (const struct csx_uh_event *)rmsg.raw;

	st.events++;
	if (!event_ok(n, nfds))
		violation("bad EVENT: %zd bytes, %d fds, type %u", n, nfds,
			  (size_t)n >= sizeof(*e) ? e->event : 0);
	else if (e->event >= CSX_UH_EV_SERVICE_UP &&
		 !uh_name_ok(e->service, sizeof(e->service)))
		violation("EVENT %u of service '%s'", e->event, e->service);
}

/* Reads what the daemon sent @c, checking each message; non-blocking. */
static void conn_drain(struct conn *c)
{
	int fds[UH_MAX_FDS], nfds, mflags;
	ssize_t n;

	while (c->fd >= 0) {
		n = uh_recv(c->fd, &rmsg, fds, &nfds, MSG_DONTWAIT, &mflags);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			st.closed_by_daemon++;
			conn_close(c);
			return;
		}
		st.fds_recv += nfds;
		if (mflags & (MSG_TRUNC | MSG_CTRUNC))
			violation("message truncated (flags 0x%x)", mflags);
		else if ((size_t)n < sizeof(rmsg.hdr) ||
			 rmsg.hdr.magic != CSX_UH_MAGIC ||
			 rmsg.hdr.version != CSX_UH_PROTO_VERSION ||
			 rmsg.hdr.len != (size_t)n)
			violation("badly framed message from the daemon");
		else if (rmsg.hdr.type == CSX_UH_CONNECT)
			check_connect(c, n, nfds);
		else if (rmsg.hdr.type == CSX_UH_REPLY)
			check_reply(c, n, nfds);
		else if (rmsg.hdr.type == CSX_UH_EVENT)
			check_event(n, nfds);
		else
			violation("message type 0x%x from the daemon",
				  rmsg.hdr.type);
		uh_close_fds(fds, nfds);
	}
}

static void drain_all(void)
{
	int64_t t = now_ns();
	int i;

	for (i = 0; i < NCONN; i++) {
		struct conn *c = &conns[i];

		conn_drain(c);
		if (c->fd >= 0 && c->doomed && t - c->doomed > DOOM_NS) {
			violation("connection not closed %lld ms after a bad "
				  "header",
				  (long long)((t - c->doomed) / 1000000));
			st.closed_by_us++;
			conn_close(c);
		}
	}
}

/*
 * Sends @len bytes of smsg on @c with the descriptors @fds, expecting
 * @expect for @type (@wait: an OPEN that may be held). A full socket means
 * the daemon is behind: wait for it, but not forever.
 */
static void conn_send_fds(struct conn *c, size_t len, uint16_t type,
			  int32_t expect, const int *fds, int nfds, bool wait)
{
	int64_t limit = now_ns() + 5000000000LL;
	struct pollfd p;
	int ret;

	for (;;) {
		ret = uh_send(c->fd, smsg.raw, len, fds, nfds, MSG_DONTWAIT);
		if (ret != -EAGAIN)
			break;
		if (now_ns() > limit)
			die("the daemon has not read for 5 s: hung?");
		conn_drain(c);
		if (c->fd < 0)
			return;
		p.fd = c->fd;
		p.events = POLLOUT | POLLIN;
		poll(&p, 1, 100);
	}
	if (ret == -EPIPE || ret == -ECONNRESET) {
		conn_drain(c);
		if (c->fd >= 0) {
			st.closed_by_daemon++;
			conn_close(c);
		}
		return;
	}
	if (ret) {
		st.send_refused++; /* by our kernel, e.g. EMSGSIZE */
		return;
	}
	st.sent++;
	st.bytes += len;
	st.fds_sent += nfds;
	if (len >= sizeof(struct csx_uh_hdr) && smsg.hdr.seq > c->seq &&
	    expect != EXP_NONE) {
		c->seq = smsg.hdr.seq;
		c->sent[c->seq % SEQ_RING] = (struct sent){
			.seq = c->seq,
			.type = type,
			.wait = wait,
			.expect = expect,
		};
	}
	if (expect == EXP_NONE && !c->doomed)
		c->doomed = now_ns();
}

/* As conn_send_fds(), with @nfds times /dev/null. */
static void conn_send(struct conn *c, size_t len, uint16_t type, int32_t expect,
		      int nfds)
{
	int fds[UH_MAX_FDS], i;

	for (i = 0; i < nfds; i++)
		fds[i] = devnull;
	conn_send_fds(c, len, type, expect, fds, nfds, false);
}

static struct conn *pick(bool want_hello)
{
	struct conn *c = &conns[rnd_below(NCONN)];

	if (c->fd >= 0 && c->doomed)
		return NULL;
	if (c->fd < 0)
		conn_open(c);
	if (want_hello && c->hello == HELLO_NO) {
		memset(&smsg.hello, 0, sizeof(smsg.hello));
		uh_hdr(&smsg.hdr, CSX_UH_HELLO, sizeof(smsg.hello), c->seq + 1);
		smsg.hello.proto = CSX_UH_PROTO_VERSION;
		snprintf(smsg.hello.name, sizeof(smsg.hello.name),
			 "uh_fuzz/%ld", (long)(c - conns));
		conn_send(c, sizeof(smsg.hello), CSX_UH_HELLO, 0, 0);
		c->hello = HELLO_YES;
	}
	return c->fd >= 0 ? c : NULL;
}

static void pool_name(char *name)
{
	snprintf(name, CSX_UH_NAME_MAX, "fuzz/s%u", rnd_below(NNAMES));
}

static void state_name(char *name)
{
	snprintf(name, CSX_UH_NAME_MAX, "fuzzst/r%u", rnd_below(NSTATES));
}

static size_t type_len(uint16_t type)
{
	switch (type) {
	case CSX_UH_HELLO:
		return sizeof(struct csx_uh_hello);
	case CSX_UH_EXPORT:
		return sizeof(struct csx_uh_export);
	case CSX_UH_UNEXPORT:
	case CSX_UH_STATE_DROP:
		return sizeof(struct csx_uh_name);
	case CSX_UH_OPEN:
		return sizeof(struct csx_uh_open);
	case CSX_UH_STATE_GET:
	case CSX_UH_STATE_PUT:
		return sizeof(struct csx_uh_state);
	default:
		return sizeof(struct csx_uh_hdr);
	}
}

/* A valid request of @type in smsg; returns its length. */
static size_t build(struct conn *c, uint16_t type)
{
	size_t len = type_len(type);

	memset(smsg.raw, 0, len);
	uh_hdr(&smsg.hdr, type, (uint32_t)len, c->seq + 1);
	switch (type) {
	case CSX_UH_HELLO:
		smsg.hello.proto = CSX_UH_PROTO_VERSION;
		snprintf(smsg.hello.name, sizeof(smsg.hello.name),
			 "uh_fuzz %u\t\x01", rnd_below(100));
		break;
	case CSX_UH_EXPORT:
		smsg.exp.version = 1 + rnd_below(4);
		smsg.exp.scope = 1 + rnd_below(2);
		pool_name(smsg.exp.name);
		break;
	case CSX_UH_UNEXPORT:
		pool_name(smsg.name.name);
		break;
	case CSX_UH_OPEN:
		smsg.open.min_version = rnd_below(6);
		pool_name(smsg.open.name);
		break;
	case CSX_UH_STATE_GET:
	case CSX_UH_STATE_PUT:
		smsg.state.size = 4096;
		state_name(smsg.state.name);
		break;
	case CSX_UH_STATE_DROP:
		state_name(smsg.name.name);
		break;
	}
	return len;
}

/* Where the name field of @type is, or NULL. */
static char *name_field(uint16_t type)
{
	switch (type) {
	case CSX_UH_HELLO:
		return smsg.hello.name;
	case CSX_UH_EXPORT:
		return smsg.exp.name;
	case CSX_UH_UNEXPORT:
	case CSX_UH_STATE_DROP:
		return smsg.name.name;
	case CSX_UH_OPEN:
		return smsg.open.name;
	case CSX_UH_STATE_GET:
	case CSX_UH_STATE_PUT:
		return smsg.state.name;
	default:
		return NULL;
	}
}

/* What the daemon must answer a valid @type on @c. */
static int32_t expect_valid(const struct conn *c, uint16_t type)
{
	if (c->hello == HELLO_UNKNOWN)
		return EXP_ANY;
	if (type == CSX_UH_HELLO)
		return c->hello == HELLO_YES ? -CSX_EINVAL : 0;
	if (c->hello == HELLO_NO)
		return -CSX_EINVAL;
	/* Without its memfd, a STATE_PUT is malformed. */
	if (type == CSX_UH_STATE_PUT)
		return -CSX_EINVAL;
	return type == CSX_UH_LIST || type == CSX_UH_SUBSCRIBE ? 0 : EXP_ANY;
}

static const char *const bad_names[] = {
	"",	   "noslash",	"/lead",   "trail/", "/",	  "sp ace/x",
	"tab\t/x", "del\x7f/x", "\x80/xx", "nl/x\n", "ctl\x01/x", "//",
};

/*
 * Breaks one thing in the valid request of @type (length @len) in smsg.
 * Returns the datagram length; *@expect gets what the daemon must do.
 */
static size_t mutate(struct conn *c, uint16_t type, size_t len, int32_t *expect)
{
	char *name = name_field(type);
	static const uint32_t huge[] = { 0xffffffffu, 1u << 20,
					 CSX_UH_MSG_MAX + 1, 0 };

	*expect = -CSX_EINVAL;
	switch (rnd_below(14)) {
	case 0:
		*expect = expect_valid(c, type);
		return len;
	case 1:
		smsg.hdr.len += rnd_below(2) ? 1 : -1;
		*expect = EXP_NONE;
		return len;
	case 2: /* a byte more, and a header that says so */
		smsg.raw[len] = (unsigned char)rnd();
		smsg.hdr.len = (uint32_t)len + 1;
		return len + 1;
	case 3: /* a byte less */
		smsg.hdr.len = (uint32_t)len - 1;
		if (len - 1 < sizeof(smsg.hdr))
			*expect = EXP_NONE;
		return len - 1;
	case 4:
		if (!name)
			break;
		memset(name, 'a' + rnd_below(26), CSX_UH_NAME_MAX);
		name[rnd_below(CSX_UH_NAME_MAX)] = '/';
		return len;
	case 5:
		if (!name || type == CSX_UH_HELLO)
			break;
		memset(name, 0, CSX_UH_NAME_MAX);
		strcpy(name, bad_names[rnd_below(sizeof(bad_names) /
						 sizeof(bad_names[0]))]);
		return len;
	case 6:
		if (type != CSX_UH_EXPORT)
			break;
		smsg.exp.scope =
			rnd_below(2) ? rnd_below(5) * 3 : (uint32_t)rnd();
		if (smsg.exp.scope == 1 || smsg.exp.scope == 2)
			smsg.exp.scope = 0;
		return len;
	case 7:
		if (type == CSX_UH_HELLO) {
			smsg.hello.flags = 1u << rnd_below(32);
		} else if (type == CSX_UH_OPEN && rnd_below(2)) {
			smsg.open.reserved = 1u << rnd_below(32);
		} else if (type == CSX_UH_OPEN) {
			/* CSX_UH_OPEN_WAIT without a time is a plain OPEN. */
			smsg.open.flags = 1u << rnd_below(32);
			if (smsg.open.flags == CSX_UH_OPEN_WAIT)
				*expect = expect_valid(c, type);
		} else {
			break;
		}
		return len;
	case 8:
		smsg.hdr.len = huge[rnd_below(4)];
		*expect = EXP_NONE;
		return len;
	case 9:
		smsg.hdr.magic ^= 1u << rnd_below(32);
		*expect = EXP_NONE;
		return len;
	case 10:
		smsg.hdr.version = rnd_below(2) ? 0 : CSX_UH_PROTO_VERSION + 1;
		*expect = EXP_NONE;
		return len;
	case 11:
		if (type != CSX_UH_HELLO)
			break;
		smsg.hello.proto = rnd_below(2) ? 0 : CSX_UH_PROTO_VERSION + 1;
		*expect = c->hello == HELLO_NO	? -CSX_EPROTO :
			  c->hello == HELLO_YES ? -CSX_EINVAL :
						  EXP_ANY;
		return len;
	case 12: {
		static const uint16_t types[] = { 0,	10,   0x40,  0x7f,
						  0x80, 0x82, 0xffff };

		smsg.hdr.type = types[rnd_below(7)];
		return len;
	}
	default: /* header only */
		smsg.hdr.len = sizeof(smsg.hdr);
		if (type == CSX_UH_LIST || type == CSX_UH_SUBSCRIBE)
			*expect = expect_valid(c, type);
		return sizeof(smsg.hdr);
	}
	/* The chosen breakage does not apply to @type: a byte more. */
	smsg.hdr.len = (uint32_t)len + 1;
	return len + 1;
}

static uint16_t rnd_type(void)
{
	return (uint16_t)(CSX_UH_HELLO + rnd_below(CSX_UH_SUBSCRIBE));
}

static void act_mutated(void)
{
	struct conn *c = pick(rnd_below(4) != 0);
	uint16_t type = rnd_type();
	int32_t expect;
	size_t len;

	if (!c)
		return;
	len = mutate(c, type, build(c, type), &expect);
	if (type == CSX_UH_HELLO && expect == EXP_ANY && c->hello == HELLO_NO)
		c->hello = HELLO_UNKNOWN;
	conn_send(c, len, type, expect, 0);
	if (type == CSX_UH_HELLO && expect == 0)
		c->hello = HELLO_YES;
}

static void act_random_bytes(void)
{
	struct conn *c = pick(false);
	size_t len;

	if (!c)
		return;
	switch (rnd_below(4)) {
	case 0:
		len = rnd_below(16); /* empty or shorter than a header */
		break;
	case 1:
		len = CSX_UH_MSG_MAX + 1 + rnd_below(4096); /* MSG_TRUNC */
		break;
	default:
		len = 16 + rnd_below(300);
	}
	rnd_fill(smsg.raw, len);
	if (len >= 4 && smsg.hdr.magic == CSX_UH_MAGIC)
		smsg.hdr.magic = 0;
	conn_send(c, len, 0, EXP_NONE, 0);
}

static void act_random_body(void)
{
	struct conn *c = pick(rnd_below(2));
	size_t len;
	uint16_t type;

	if (!c)
		return;
	type = rnd_below(4) ? rnd_type() : (uint16_t)rnd();
	len = sizeof(smsg.hdr) + rnd_below(120);
	if (rnd_below(50) == 0)
		len = CSX_UH_MSG_MAX; /* the largest datagram there may be */
	rnd_fill(smsg.raw, len);
	uh_hdr(&smsg.hdr, type, (uint32_t)len, c->seq + 1);
	if (type == CSX_UH_HELLO && c->hello == HELLO_NO)
		c->hello = HELLO_UNKNOWN;
	conn_send(c, len, type, EXP_ANY, 0);
}

/* Descriptors with a request: closed by the daemon, request refused. */
static void act_fds(void)
{
	struct conn *c = pick(rnd_below(2));
	uint16_t type = rnd_type();
	int32_t expect;
	size_t len;
	int nfds;

	if (!c)
		return;
	len = build(c, type);
	expect = -CSX_EINVAL;
	if (rnd_below(3) == 0)
		len = mutate(c, type, len, &expect);
	if (expect != EXP_NONE)
		expect = -CSX_EINVAL;
	/* More than the daemon's control buffer takes now and then. */
	nfds = rnd_below(5) ? 1 + (int)rnd_below(5) : 17 + (int)rnd_below(48);
	conn_send(c, len, type, expect, nfds);
}

static void act_storm(void)
{
	struct conn *c = pick(true);
	unsigned int i, n = 1 + rnd_below(8);
	uint16_t type;
	size_t len;

	for (i = 0; c && c->fd >= 0 && i < n; i++) {
		static const uint16_t ops[] = { CSX_UH_EXPORT, CSX_UH_EXPORT,
						CSX_UH_OPEN,   CSX_UH_OPEN,
						CSX_UH_OPEN,   CSX_UH_UNEXPORT,
						CSX_UH_LIST };

		type = ops[rnd_below(7)];
		len = build(c, type);
		conn_send(c, len, type, expect_valid(c, type), 0);
	}
}

static void act_hello_less(void)
{
	struct conn *c = &conns[rnd_below(NCONN)];
	uint16_t type = (uint16_t)(CSX_UH_EXPORT + rnd_below(8));

	if (c->fd >= 0) {
		st.closed_by_us++;
		conn_close(c);
	}
	conn_open(c);
	conn_send(c, build(c, type), type, -CSX_EINVAL, 0);
}

static void act_close_midstream(void)
{
	struct conn *c = pick(true);
	unsigned int i, n = rnd_below(20);

	for (i = 0; c && c->fd >= 0 && i < n; i++) {
		uint16_t type = rnd_type();

		conn_send(c, build(c, type), type, EXP_ANY, 0);
	}
	if (c && c->fd >= 0) {
		st.closed_by_us++;
		conn_close(c);
	}
}

/*
 * A client that never reads: its replies pile up in the daemon's send
 * buffer until the daemon gives up on it. It must, without blocking.
 */
static void act_no_reader(void)
{
	struct conn *c = pick(true);
	int64_t limit = now_ns() + 5000000000LL;
	struct csx_uh_hdr list;
	int ret;

	if (!c)
		return;
	for (;;) {
		uh_hdr(&list, CSX_UH_LIST, sizeof(list), ++c->seq);
		c->sent[c->seq % SEQ_RING] = (struct sent){
			.seq = c->seq,
			.type = CSX_UH_LIST,
		};
		ret = uh_send(c->fd, &list, sizeof(list), NULL, 0,
			      MSG_DONTWAIT);
		if (ret == -EAGAIN) {
			c->seq--;
			usleep(200);
		} else if (ret) {
			break;
		} else {
			st.sent++;
			st.bytes += sizeof(list);
		}
		if (now_ns() > limit) {
			violation("a client not reading its replies was not "
				  "dropped in 5 s");
			break;
		}
	}
	st.dropped_reader++;
	st.closed_by_daemon++;
	conn_close(c);
}

/* A memfd of @size bytes with @seals, or -1. */
static int make_memfd(uint64_t size, unsigned int seals)
{
	int fd = memfd_create("uh_fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * STATE_PUT with a descriptor: mostly bad ones, which must be refused
 * (-EINVAL); a good one is held (0) or over a limit (-ENOSPC). Then a GET
 * or a DROP now and then.
 */
static void act_state(void)
{
	struct conn *c = pick(true);
	unsigned int both = F_SEAL_SHRINK | F_SEAL_GROW;
	int fds[2] = { -1, -1 }, nfds = 1, sv[2], pfd[2];
	uint64_t size = 1 + rnd_below(3 * 4096);
	int32_t expect = -CSX_EINVAL;
	uint16_t type;

	if (!c)
		return;
	build(c, CSX_UH_STATE_PUT);
	switch (rnd_below(10)) {
	case 0:
	case 1:
		fds[0] = make_memfd(size, both);
		expect = EXP_ANY;
		break;
	case 2:
		fds[0] = make_memfd(size, 0);
		break;
	case 3:
		fds[0] = make_memfd(size, F_SEAL_SHRINK);
		break;
	case 4:
		fds[0] = make_memfd(size, both | F_SEAL_SEAL);
		size += 1 + rnd_below(4096);
		break;
	case 5:
		fds[0] = make_memfd(0, both);
		size = 0;
		break;
	case 6:
		fds[0] = make_memfd(size, both);
		size = rnd_below(2) ? CSX_UH_STATE_MAX + 1 : ~0ull;
		break;
	case 7:
		if (!pipe2(pfd, O_CLOEXEC)) {
			fds[0] = pfd[0];
			close(pfd[1]);
		}
		break;
	case 8:
		if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			fds[0] = sv[0];
			close(sv[1]);
		}
		break;
	default:
		fds[0] = make_memfd(size, both);
		fds[1] = make_memfd(size, both);
		nfds = 2;
	}
	if (fds[0] < 0 || (nfds == 2 && fds[1] < 0))
		die("memfd/pipe/socketpair: %s", strerror(errno));
	smsg.state.size = size;
	if (c->hello == HELLO_UNKNOWN)
		expect = EXP_ANY;
	conn_send_fds(c, sizeof(smsg.state), CSX_UH_STATE_PUT, expect, fds,
		      nfds, false);
	uh_close_fds(fds, nfds);
	st.state_puts++;
	if (c->fd < 0 || rnd_below(2))
		return;
	type = rnd_below(2) ? CSX_UH_STATE_GET : CSX_UH_STATE_DROP;
	conn_send(c, build(c, type), type, expect_valid(c, type), 0);
}

/*
 * OPENs that may be held: of a pool name (a storm may export it) or of one
 * nobody exports, for a short while; now and then more than a connection
 * may hold.
 */
static void act_wait(void)
{
	struct conn *c = pick(true);
	unsigned int i, n = rnd_below(8) ? 1 : UHD_FUZZ_WAIT_FLOOD;

	for (i = 0; c && c->fd >= 0 && i < n; i++) {
		build(c, CSX_UH_OPEN);
		smsg.open.flags = CSX_UH_OPEN_WAIT;
		smsg.open.wait_ms = 1 + rnd_below(300);
		if (rnd_below(2))
			snprintf(smsg.open.name, sizeof(smsg.open.name),
				 "fuzzwait/none%u", rnd_below(4));
		conn_send_fds(c, sizeof(smsg.open), CSX_UH_OPEN,
			      c->hello == HELLO_NO ? -CSX_EINVAL : EXP_ANY,
			      NULL, 0, true);
		st.waits++;
	}
}

static void fuzz(double secs)
{
	int64_t end = now_ns() + (int64_t)(secs * 1e9);

	while (now_ns() < end) {
		unsigned int a = rnd_below(100);

		if (a < 20)
			act_mutated();
		else if (a < 27)
			act_random_bytes();
		else if (a < 35)
			act_random_body();
		else if (a < 43)
			act_fds();
		else if (a < 73)
			act_storm();
		else if (a < 81)
			act_state();
		else if (a < 86)
			act_wait();
		else if (a < 92)
			act_hello_less();
		else if (a < 99)
			act_close_midstream();
		else if (rnd_below(40) == 0)
			act_no_reader(); /* slow: thousands of messages */
		drain_all();
		st.rounds++;
	}
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	dir = opendir(path);
	if (!dir)
		die("%s: %s", path, strerror(errno));
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* The count once it stops moving (or equals @want), within SETTLE_NS. */
static int settle_fds(pid_t pid, int want)
{
	int64_t limit = now_ns() + SETTLE_NS;
	int last = -1, n, same = 0;

	for (;;) {
		n = count_fds(pid);
		if (n == want)
			return n;
		same = n == last ? same + 1 : 0;
		if ((want < 0 && same >= 3) || now_ns() > limit)
			return n;
		last = n;
		usleep(50000);
	}
}

/* A blocking request on @fd expecting @status; returns the reply length. */
static ssize_t call_expect(int fd, void *req, size_t len, int32_t status,
			   int *cfd, const char *what)
{
	unsigned int connects = 0;
	ssize_t n = uh_call(fd, req, len, &rmsg, cfd, &connects);

	if (n < 0)
		die("%s: %s", what, strerror((int)-n));
	if (rmsg.reply.status != status)
		die("%s: status %d, want %d", what, rmsg.reply.status, status);
	return n;
}

static int blocking_connect(const char *who)
{
	struct timeval tv = { 2, 0 };
	int fd = uh_connect(sock_path, 0);

	if (fd < 0)
		die("%s: connect: %s", who, strerror(-fd));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (uh_hello(fd, who, 1))
		die("%s: HELLO refused", who);
	return fd;
}

static void final_open(int b, int *ch_b)
{
	struct csx_uh_open o;

	memset(&o, 0, sizeof(o));
	uh_hdr(&o.hdr, CSX_UH_OPEN, sizeof(o), 2);
	o.min_version = 2;
	strcpy(o.name, "fuzzfinal/svc");
	call_expect(b, &o, sizeof(o), 0, ch_b, "final OPEN");
	if (rmsg.reply.value != 3 || *ch_b < 0)
		die("final OPEN: value %u, fd %d", rmsg.reply.value, *ch_b);
	o.hdr.seq = 3;
	o.min_version = 4;
	call_expect(b, &o, sizeof(o), -CSX_EPROTO, NULL, "OPEN too new");
	o.hdr.seq = 4;
	strcpy(o.name, "fuzzfinal/none");
	call_expect(b, &o, sizeof(o), -CSX_ENOENT, NULL, "OPEN missing");
}

/* The exporter's side: the CONNECT for B's channel, then a datagram. */
static void final_connect(int a, int ch_b)
{
	int fds[UH_MAX_FDS], nfds;
	char buf[8];
	ssize_t n = uh_recv(a, &rmsg, fds, &nfds, 0, NULL);

	if (n != sizeof(rmsg.connect) || rmsg.hdr.type != CSX_UH_CONNECT ||
	    nfds != 1 || strcmp(rmsg.connect.name, "fuzzfinal/svc") ||
	    rmsg.connect.peer_pid != (uint32_t)getpid() ||
	    rmsg.connect.min_version != 2)
		die("final CONNECT: %zd bytes, %d fds", n, n > 0 ? nfds : 0);
	if (send(ch_b, "ping", 4, MSG_NOSIGNAL) != 4 ||
	    recv(fds[0], buf, sizeof(buf), 0) != 4 || memcmp(buf, "ping", 4))
		die("final channel does not carry a datagram");
	close(fds[0]);
}

static void export_expect(int fd, const char *name, uint32_t seq,
			  int32_t status, const char *what)
{
	struct csx_uh_export e;

	memset(&e, 0, sizeof(e));
	uh_hdr(&e.hdr, CSX_UH_EXPORT, sizeof(e), seq);
	e.version = 1;
	e.scope = CSX_UH_SCOPE_USER;
	snprintf(e.name, sizeof(e.name), "%s", name);
	call_expect(fd, &e, sizeof(e), status, NULL, what);
}

/* One connection's exports are capped: -ENOSPC, not a growing daemon. */
static void cap_check(void)
{
	int fd = blocking_connect("uh_fuzz/cap");
	char name[CSX_UH_NAME_MAX];
	uint32_t i;

	for (i = 0; i < 256; i++) {
		snprintf(name, sizeof(name), "fuzzcap/%u", i);
		export_expect(fd, name, i + 2, 0, "EXPORT under the cap");
	}
	export_expect(fd, "fuzzcap/over", i + 2, -CSX_ENOSPC,
		      "EXPORT over the cap");
	close(fd);
	printf("uh_fuzz: 256 exports per connection, the next -ENOSPC: OK\n");
}

/*
 * An exporter that does not read its CONNECTs: opens get -EBUSY once its
 * socket is full, and work again once it reads.
 */
static void busy_check(void)
{
	int x = blocking_connect("uh_fuzz/busy-x");
	int y = blocking_connect("uh_fuzz/busy-y");
	int fds[UH_MAX_FDS], nfds, cfd = -1, n = 0, drained = 0;
	struct csx_uh_open o;
	uint32_t seq = 2;

	export_expect(x, "fuzzbusy/svc", 2, 0, "EXPORT fuzzbusy/svc");
	memset(&o, 0, sizeof(o));
	strcpy(o.name, "fuzzbusy/svc");
	for (;; n++) {
		uh_hdr(&o.hdr, CSX_UH_OPEN, sizeof(o), seq++);
		if (uh_call(y, &o, sizeof(o), &rmsg, &cfd, NULL) < 0)
			die("OPEN of a busy exporter: no reply");
		if (cfd >= 0)
			close(cfd);
		if (rmsg.reply.status == -CSX_EBUSY)
			break;
		if (rmsg.reply.status || n > 100000)
			die("OPEN of a busy exporter: status %d after %d",
			    rmsg.reply.status, n);
	}
	while (uh_recv(x, &rmsg, fds, &nfds, MSG_DONTWAIT, NULL) > 0) {
		uh_close_fds(fds, nfds);
		drained++;
	}
	uh_hdr(&o.hdr, CSX_UH_OPEN, sizeof(o), seq++);
	call_expect(y, &o, sizeof(o), 0, &cfd, "OPEN once the exporter read");
	close(cfd);
	close(x);
	close(y);
	printf("uh_fuzz: -EBUSY after %d unread CONNECTs (%d drained), then "
	       "OK\n",
	       n, drained);
}

static void final_check(void)
{
	struct csx_uh_name u;
	struct csx_uh_export e;
	struct csx_uh_hdr list;
	int a = blocking_connect("uh_fuzz/final-a");
	int b = blocking_connect("uh_fuzz/final-b");
	int ch_b;
	ssize_t n;

	memset(&e, 0, sizeof(e));
	uh_hdr(&e.hdr, CSX_UH_EXPORT, sizeof(e), 2);
	e.version = 3;
	e.scope = CSX_UH_SCOPE_PUBLIC;
	strcpy(e.name, "fuzzfinal/svc");
	call_expect(a, &e, sizeof(e), 0, NULL, "final EXPORT");
	/* One uid: a second instance; the same process: refused. */
	e.hdr.seq = 5;
	call_expect(b, &e, sizeof(e), 0, NULL, "EXPORT by a second process");
	e.hdr.seq = 6;
	call_expect(b, &e, sizeof(e), -CSX_EEXIST, NULL, "EXPORT twice");
	uh_hdr(&u.hdr, CSX_UH_UNEXPORT, sizeof(u), 7);
	strcpy(u.name, "fuzzfinal/svc");
	call_expect(b, &u, sizeof(u), 0, NULL, "UNEXPORT of the instance");
	final_open(b, &ch_b);
	final_connect(a, ch_b);
	close(ch_b);
	uh_hdr(&list, CSX_UH_LIST, sizeof(list), 8);
	n = call_expect(b, &list, sizeof(list), 0, NULL, "final LIST");
	rmsg.raw[n] = '\0';
	if (!strstr((char *)rmsg.raw + sizeof(rmsg.reply),
		    " name=uh_fuzz/final-a services=1\n"
		    "  fuzzfinal/svc v3 public\n"))
		die("final LIST lacks the export:\n%s",
		    (char *)rmsg.raw + sizeof(rmsg.reply));
	close(a);
	close(b);
	printf("uh_fuzz: final HELLO+EXPORT+OPEN+LIST OK\n");
}

/*
 * A subscriber that reads nothing during the fuzz: the daemon must drop
 * events for it rather than block, and keep the connection.
 */
static int lazy_open(void)
{
	int fd = blocking_connect("uh_fuzz/lazy");
	struct csx_uh_hdr sub;

	uh_hdr(&sub, CSX_UH_SUBSCRIBE, sizeof(sub), 2);
	call_expect(fd, &sub, sizeof(sub), 0, NULL, "SUBSCRIBE");
	return fd;
}

static void lazy_check(int fd)
{
	int fds[UH_MAX_FDS], nfds;
	struct csx_uh_hdr list;
	ssize_t n;

	while ((n = uh_recv(fd, &rmsg, fds, &nfds, MSG_DONTWAIT, NULL)) > 0) {
		uh_close_fds(fds, nfds);
		if (rmsg.hdr.type != CSX_UH_EVENT || !event_ok(n, nfds))
			violation("lazy subscriber: message type 0x%x, %zd "
				  "bytes",
				  rmsg.hdr.type, n);
		st.lazy_events++;
	}
	if (n == 0)
		violation("a subscriber that did not read was dropped");
	uh_hdr(&list, CSX_UH_LIST, sizeof(list), 3);
	call_expect(fd, &list, sizeof(list), 0, NULL, "LIST when lazy");
	close(fd);
	printf("uh_fuzz: a subscriber that did not read: %lu events kept, "
	       "still served\n",
	       st.lazy_events);
}

/*
 * The saved state the fuzz left: its key is uid and HELLO name (as the
 * daemon printed it, which it also accepts), so a connection of that
 * name drops it.
 */
static void state_cleanup(void)
{
	char hname[CSX_UH_NAME_MAX], rname[CSX_UH_NAME_MAX], *text, *line;
	struct csx_uh_hdr list;
	struct csx_uh_name drop;
	unsigned int dropped = 0;
	unsigned long uid;
	int fd = blocking_connect("uh_fuzz/check"), d;
	ssize_t n;

	uh_hdr(&list, CSX_UH_LIST, sizeof(list), 2);
	n = call_expect(fd, &list, sizeof(list), 0, NULL, "LIST of state");
	close(fd);
	text = strndup((const char *)rmsg.raw + sizeof(rmsg.reply),
		       n - sizeof(rmsg.reply));
	if (!text)
		die("out of memory");
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "state key=uid:%lu/%63s name=%63s", &uid,
			   hname, rname) != 3 ||
		    uid != (unsigned long)getuid() || !strstr(hname, "fuzz"))
			continue;
		d = blocking_connect(hname);
		memset(&drop, 0, sizeof(drop));
		uh_hdr(&drop.hdr, CSX_UH_STATE_DROP, sizeof(drop), 2);
		strcpy(drop.name, rname);
		call_expect(d, &drop, sizeof(drop), 0, NULL, "STATE_DROP");
		close(d);
		dropped++;
	}
	free(text);
	printf("uh_fuzz: %u saved-state region(s) left by the fuzz dropped\n",
	       dropped);
}

/* A line of @text about the fuzz, other than the checker's own. */
static bool fuzz_left(const char *text)
{
	const char *nl;

	for (; *text; text = nl + 1) {
		nl = strchr(text, '\n');
		if (!nl)
			nl = text + strlen(text) - 1;
		if (memmem(text, nl - text, "fuzz", 4) &&
		    !memmem(text, nl - text, "name=uh_fuzz/check ", 19))
			return true;
	}
	return false;
}

/* After all our connections closed, only the checker itself is listed. */
static void registry_empty(void)
{
	int64_t limit = now_ns() + SETTLE_NS;
	struct csx_uh_hdr list;
	uint32_t seq = 2;
	int fd = blocking_connect("uh_fuzz/check");
	const char *text;
	ssize_t n;

	for (;;) {
		uh_hdr(&list, CSX_UH_LIST, sizeof(list), seq++);
		n = call_expect(fd, &list, sizeof(list), 0, NULL, "LIST");
		rmsg.raw[n] = '\0';
		text = (const char *)rmsg.raw + sizeof(rmsg.reply);
		/* Hang-ups of our last connections may still be in flight. */
		if (!fuzz_left(text) || now_ns() > limit)
			break;
		usleep(20000);
	}
	if (fuzz_left(text))
		die("registry not empty after the fuzz:\n%s", text);
	close(fd);
}

static void report(double secs, int base, int end)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{ 0, "OK" },
		{ CSX_EINVAL, "EINVAL" },
		{ CSX_EEXIST, "EEXIST" },
		{ CSX_ENOENT, "ENOENT" },
		{ CSX_EPROTO, "EPROTO" },
		{ CSX_EPERM, "EPERM" },
		{ CSX_ENOSPC, "ENOSPC" },
		{ CSX_EBUSY, "EBUSY" },
		{ CSX_EPEERDIED, "EPEERDIED" },
	};
	size_t i;

	printf("uh_fuzz: %.1f s, %lu rounds: %lu messages sent (%lu bytes, "
	       "%lu fds), %lu refused by our kernel\n",
	       secs, st.rounds, st.sent, st.bytes, st.fds_sent,
	       st.send_refused);
	printf("uh_fuzz: %lu replies, %lu CONNECTs, %lu events, %lu fds "
	       "received\n",
	       st.replies, st.connects, st.events, st.fds_recv);
	printf("uh_fuzz: %lu OPENs that may wait, %lu STATE_PUTs with "
	       "descriptors\n",
	       st.waits, st.state_puts);
	printf("uh_fuzz: connections: %lu opened, %lu closed by the daemon "
	       "(%lu non-readers dropped), %lu closed by us\n",
	       st.opened, st.closed_by_daemon, st.dropped_reader,
	       st.closed_by_us);
	printf("uh_fuzz: replies by status:");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		printf(" %s=%lu", names[i].name, st.status[names[i].code]);
	printf(" other=%lu\n", st.status[CSX_EPEERDIED + 1]);
	printf("uh_fuzz: daemon fds: %d before, %d after\n", base, end);
}

static uint64_t seed_from_env(void)
{
	const char *s = getenv("CSX_UH_FUZZ_SEED");

	if (s && *s)
		return strtoull(s, NULL, 0);
	return (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid() ^
	       (uint64_t)now_ns();
}

int main(int argc, char **argv)
{
	const char *env = getenv("CSX_UH_FUZZ_SECS");
	double secs = env && *env ? atof(env) : 5;
	uint64_t seed = seed_from_env();
	pid_t pid = 0;
	int base, end, i, fd, lazy;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: uh_fuzz SOCKET [SECONDS [PID]]\n");
		return 2;
	}
	sock_path = argv[1];
	if (argc > 2)
		secs = atof(argv[2]);
	if (argc > 3)
		pid = (pid_t)atol(argv[3]);
	rng = seed;
	printf("uh_fuzz: seed %" PRIu64 " (CSX_UH_FUZZ_SEED replays it), "
	       "%.1f s\n",
	       seed, secs);
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	fd = uh_connect(sock_path, 0);
	if (fd < 0 || devnull < 0)
		die("no daemon at %s: %s", sock_path, strerror(-fd));
	if (!pid)
		pid = uh_peer_pid(fd);
	close(fd);
	base = settle_fds(pid, -1);
	for (i = 0; i < NCONN; i++)
		conns[i].fd = -1;
	cap_check();
	busy_check();
	lazy = lazy_open();
	fuzz(secs);
	for (i = 0; i < NCONN; i++)
		if (conns[i].fd >= 0)
			conn_close(&conns[i]);
	lazy_check(lazy);
	final_check();
	state_cleanup();
	registry_empty();
	end = settle_fds(pid, base);
	report(secs, base, end);
	if (end != base)
		violation("daemon fd count %d, was %d before the fuzz", end,
			  base);
	if (kill(pid, 0))
		violation("daemon pid %ld gone", (long)pid);
	if (st.bad) {
		printf("uh_fuzz: FAIL: %lu violation(s)\n", st.bad);
		return 1;
	}
	printf("uh_fuzz: PASS\n");
	return 0;
}
