/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-uhelperd: one client connection. Every datagram is checked before a
 * field of it is believed: a header that does not frame the datagram ends
 * the connection (we could not tell where the client thinks it is), a bad
 * body is refused with -EINVAL and the connection goes on. Every refusal
 * is logged with the peer's pid, and every request gets exactly one reply:
 * in order, but for OPENs parked with CSX_UH_OPEN_WAIT, answered when
 * their service appears or their time is up.
 */
#include "uhd.h"

#include <csx/csx_status.h>

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The protocol says "negative CSX status"; they are Linux errno values. */
_Static_assert(CSX_EINVAL == EINVAL && CSX_EPROTO == EPROTO &&
		       CSX_EPEERDIED == EOWNERDEAD && CSX_ENOSPC == ENOSPC,
	       "CSX status codes are Linux errno values");

/*
 * File descriptors we take from one datagram: STATE_PUT's one, or ones we
 * close; more are discarded by the kernel (MSG_CTRUNC), which is what we
 * want anyway.
 */
#define UHD_CMSG_FDS 16

static const char *uhd_type_name(uint16_t type)
{
	switch (type) {
	case CSX_UH_HELLO:
		return "HELLO";
	case CSX_UH_EXPORT:
		return "EXPORT";
	case CSX_UH_UNEXPORT:
		return "UNEXPORT";
	case CSX_UH_OPEN:
		return "OPEN";
	case CSX_UH_LIST:
		return "LIST";
	case CSX_UH_STATE_GET:
		return "STATE_GET";
	case CSX_UH_STATE_PUT:
		return "STATE_PUT";
	case CSX_UH_STATE_DROP:
		return "STATE_DROP";
	case CSX_UH_SUBSCRIBE:
		return "SUBSCRIBE";
	default:
		return "request";
	}
}

int uhd_sendmsg(int fd, const void *buf, size_t len, int pass_fd)
{
	/* Never block the daemon on one client, never die of SIGPIPE. */
	return csx_uh_msg_send(fd, buf, len, &pass_fd, pass_fd >= 0,
			       MSG_DONTWAIT);
}

/*
 * Answers the current request. A client that leaves its replies unread
 * fills its socket; rather than queue without bound or block, drop it.
 * Returns 0, or -1 when @c must be closed.
 */
static int uhd_reply_all(struct uhd_client *c, int status, uint32_t value,
			 uint64_t aux, const char *text, size_t text_len,
			 int pass_fd)
{
	struct csx_uh_reply *r = (struct csx_uh_reply *)c->d->tbuf;
	size_t len = sizeof(*r) + text_len;
	int ret;

	if (text && text != c->d->tbuf + sizeof(*r))
		memmove(c->d->tbuf + sizeof(*r), text, text_len);
	memset(r, 0, sizeof(*r));
	r->hdr.magic = CSX_UH_MAGIC;
	r->hdr.version = CSX_UH_PROTO_VERSION;
	r->hdr.type = CSX_UH_REPLY;
	r->hdr.len = (uint32_t)len;
	r->hdr.seq = c->seq;
	r->status = status;
	r->value = value;
	r->aux = aux;
	ret = uhd_sendmsg(c->fd, r, len, pass_fd);
	if (!ret)
		return 0;
	if (ret == -EAGAIN)
		uhd_log_peer(
			c, UHD_WARN,
			"does not read its replies (socket full); dropped");
	else
		uhd_log_peer(c, UHD_DEBUG, "reply failed: %s", strerror(-ret));
	return -1;
}

static int uhd_reply(struct uhd_client *c, int status, uint32_t value)
{
	return uhd_reply_all(c, status, value, 0, NULL, 0, -1);
}

/* The daemon does not link libcsx-user, so no csx_status_name(). */
static const char *uhd_status_name(int status)
{
	switch (-status) {
	case CSX_EINVAL:
		return "EINVAL";
	case CSX_EPROTO:
		return "EPROTO";
	case CSX_EEXIST:
		return "EEXIST";
	case CSX_ENOENT:
		return "ENOENT";
	case CSX_EPERM:
		return "EPERM";
	case CSX_ENOSPC:
		return "ENOSPC";
	case CSX_EBUSY:
		return "EBUSY";
	case CSX_EPEERDIED:
		return "EPEERDIED";
	default:
		return "error";
	}
}

__attribute__((format(printf, 4, 0))) static int
uhd_vrefuse(struct uhd_client *c, enum uhd_level lvl, int status,
	    const char *fmt, va_list ap)
{
	char why[256];

	vsnprintf(why, sizeof(why), fmt, ap);
	uhd_log_peer(c, lvl, "refused (%s): %s", uhd_status_name(status), why);
	return uhd_reply(c, status, 0);
}

/* Logs why a request is refused, then refuses it with @status. */
__attribute__((format(printf, 4, 5))) static int
uhd_refuse(struct uhd_client *c, enum uhd_level lvl, int status,
	   const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = uhd_vrefuse(c, lvl, status, fmt, ap);
	va_end(ap);
	return ret;
}

/* Malformed requests are what an attacker sends: logged louder. */
__attribute__((format(printf, 2, 3))) static int
uhd_malformed(struct uhd_client *c, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = uhd_vrefuse(c, UHD_WARN, -CSX_EINVAL, fmt, ap);
	va_end(ap);
	return ret;
}

/* A name field: NUL-terminated inside the field. */
static bool uhd_name_terminated(const char *name)
{
	return memchr(name, '\0', CSX_UH_NAME_MAX) != NULL;
}

/* The process name is free text; keep logs and LIST one line per entry. */
static void uhd_sanitize(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i < CSX_UH_NAME_MAX - 1; i++)
		dst[i] = (src[i] >= 0x21 && src[i] <= 0x7e) ? src[i] : '?';
	if (i == 0)
		dst[i++] = '-';
	dst[i] = '\0';
}

static int uhd_do_hello(struct uhd_client *c, const struct csx_uh_hello *m)
{
	struct uhd_inst *in;

	if (c->hello)
		return uhd_malformed(c, "second HELLO");
	if (m->flags)
		return uhd_malformed(c, "HELLO flags 0x%x", m->flags);
	if (!uhd_name_terminated(m->name))
		return uhd_malformed(c, "HELLO name not terminated");
	if (m->proto != CSX_UH_PROTO_VERSION)
		return uhd_refuse(c, UHD_WARN, -CSX_EPROTO,
				  "HELLO protocol %u, daemon speaks %u",
				  m->proto, CSX_UH_PROTO_VERSION);
	uhd_sanitize(c->name, m->name);
	c->hello = true;
	evtimer_del(c->hello_ev);
	c->since = time(NULL);
	/*
	 * Which container it is comes from the pid the kernel vouches for,
	 * never from the message: it decides the saved-state key.
	 */
	in = uhd_super_find(c->d, c->pid);
	if (in) {
		c->supervised = true;
		c->instance = in->index;
		strcpy(c->container, in->ct->name);
		uhd_log_peer(c, UHD_INFO,
			     "hello from %s (uid %lu), container %s/%u",
			     c->name, (unsigned long)c->uid, c->container,
			     c->instance);
	} else {
		uhd_log_peer(c, UHD_INFO, "hello from %s (uid %lu)", c->name,
			     (unsigned long)c->uid);
	}
	return uhd_reply(c, 0, CSX_UH_PROTO_VERSION);
}

/* NULL if @name is a valid service name, else what is wrong with it. */
static const char *uhd_name_problem(const char *name)
{
	if (!uhd_name_terminated(name))
		return "name not terminated";
	if (!uhd_service_name_ok(name))
		return "bad service name";
	return NULL;
}

static int uhd_do_export(struct uhd_client *c, const struct csx_uh_export *m)
{
	struct uhd_service *other;
	const char *why;
	int ret;

	why = uhd_name_problem(m->name);
	if (why)
		return uhd_malformed(c, "EXPORT: %s", why);
	if (m->scope != CSX_UH_SCOPE_USER && m->scope != CSX_UH_SCOPE_PUBLIC)
		return uhd_malformed(c, "EXPORT %s: scope %u", m->name,
				     m->scope);
	ret = uhd_service_add(c, m, &other);
	if (ret == -EEXIST && other->owner == c)
		return uhd_refuse(c, UHD_INFO, -CSX_EEXIST,
				  "EXPORT %s: exported by this process already",
				  m->name);
	if (ret == -EEXIST)
		return uhd_refuse(c, UHD_INFO, -CSX_EEXIST,
				  "EXPORT %s: exported by pid %ld of uid %lu",
				  m->name, (long)other->owner->pid,
				  (unsigned long)other->sn->uid);
	if (ret == -ENOSPC)
		return uhd_refuse(c, UHD_WARN, -CSX_ENOSPC,
				  "EXPORT %s: %d services already", m->name,
				  UHD_SERVICES_PER_CLIENT);
	if (ret)
		return uhd_refuse(c, UHD_ERR, -CSX_ENOSPC,
				  "EXPORT %s: out of memory", m->name);
	uhd_log_peer(c, UHD_INFO, "exported %s v%u %s", m->name, m->version,
		     m->scope == CSX_UH_SCOPE_PUBLIC ? "public" : "user");
	/* The exporter hears its reply before the CONNECTs of the waiters. */
	if (uhd_reply(c, 0, 0))
		return -1;
	uhd_super_exported(c);
	uhd_waits_wake(c->d, m->name);
	return 0;
}

static int uhd_do_unexport(struct uhd_client *c, const struct csx_uh_name *m)
{
	struct uhd_service *s;
	const char *why;

	why = uhd_name_problem(m->name);
	if (why)
		return uhd_malformed(c, "UNEXPORT: %s", why);
	s = uhd_service_find(c, m->name);
	if (!s)
		return uhd_refuse(c, UHD_INFO, -CSX_ENOENT,
				  "UNEXPORT %s: not exported by this process",
				  m->name);
	uhd_service_del(s);
	uhd_log_peer(c, UHD_INFO, "withdrew %s", m->name);
	return uhd_reply(c, 0, 0);
}

/* USER scope: the exporter's uid, and root, as csx_service_export_scope(). */
static bool uhd_may_open(const struct uhd_service *s,
			 const struct uhd_client *c)
{
	return s->scope == CSX_UH_SCOPE_PUBLIC || c->uid == 0 ||
	       c->uid == s->sn->uid;
}

/* Tells the exporter about the channel; 0 or a negative CSX status. */
static int uhd_connect(struct uhd_client *c, const struct uhd_service *s,
		       uint32_t min_version, int fd, uint64_t chan)
{
	struct csx_uh_connect m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.hdr.magic = CSX_UH_MAGIC;
	m.hdr.version = CSX_UH_PROTO_VERSION;
	m.hdr.type = CSX_UH_CONNECT;
	m.hdr.len = sizeof(m);
	m.chan_id = chan;
	m.peer_pid = (uint32_t)c->pid;
	m.peer_uid = (uint32_t)c->uid;
	m.min_version = min_version;
	strcpy(m.name, s->sn->name);
	ret = uhd_sendmsg(s->owner->fd, &m, sizeof(m), fd);
	if (!ret)
		return 0;
	/*
	 * A full socket is an exporter too busy to take the channel now; any
	 * other error one that is going away (we will see its hang-up).
	 */
	return ret == -EAGAIN ? -CSX_EBUSY : -CSX_EPEERDIED;
}

/*
 * Whether @name is open to @c at @min_version at all: 0, or the refusal
 * (-1: close @c). Scope before version, as the core does: strangers learn
 * nothing more.
 */
static int uhd_open_check(struct uhd_client *c, struct uhd_svcname *sn,
			  uint32_t min_version, bool *refused)
{
	uint32_t newest = 0;
	bool admitted = false;
	struct uhd_list *p;

	*refused = true;
	for (p = sn->exporters.next; p != &sn->exporters; p = p->next) {
		struct uhd_service *s = uhd_entry(p, struct uhd_service, nnode);

		if (!uhd_may_open(s, c))
			continue;
		admitted = true;
		if (s->version > newest)
			newest = s->version;
	}
	if (!admitted)
		return uhd_refuse(c, UHD_WARN, -CSX_EPERM,
				  "OPEN %s: uid %lu may not open a service of "
				  "uid %lu (scope user)",
				  sn->name, (unsigned long)c->uid,
				  (unsigned long)sn->uid);
	if (newest < min_version)
		return uhd_refuse(c, UHD_INFO, -CSX_EPROTO,
				  "OPEN %s: version %u, caller wants %u",
				  sn->name, newest, min_version);
	*refused = false;
	return 0;
}

/*
 * OPEN of @name, answered now. Among the exporters that admit @c and are
 * new enough, the first in line whose socket takes the CONNECT serves it
 * and goes to the back of the line: round robin over the instances, and a
 * busy one is skipped. 0, or -1 when @c must be closed.
 */
static int uhd_open_now(struct uhd_client *c, const char *name,
			uint32_t min_version)
{
	struct uhd_svcname *sn = uhd_svcname_find(c->d, name);
	struct uhd_service *s = NULL;
	struct uhd_list *p, *next;
	unsigned int n = 0;
	int sv[2], ret = -CSX_EPEERDIED;
	uint64_t chan = 0;
	bool refused;

	if (!sn)
		return uhd_refuse(c, UHD_INFO, -CSX_ENOENT,
				  "OPEN %s: no such service", name);
	ret = uhd_open_check(c, sn, min_version, &refused);
	if (refused)
		return ret;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return uhd_refuse(c, UHD_ERR, -CSX_ENOSPC,
				  "OPEN %s: socketpair: %s", name,
				  strerror(errno));
	for (p = sn->exporters.next; p != &sn->exporters; p = p->next)
		n++;
	for (p = sn->exporters.next; n--; p = next) {
		next = p->next;
		s = uhd_entry(p, struct uhd_service, nnode);
		if (!uhd_may_open(s, c) || s->version < min_version)
			continue;
		chan = ++c->d->next_chan;
		ret = uhd_connect(c, s, min_version, sv[1], chan);
		uhd_list_del(&s->nnode);
		uhd_list_add_tail(&s->nnode, &sn->exporters);
		if (!ret)
			break;
	}
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		return uhd_refuse(c, UHD_WARN, ret,
				  "OPEN %s: exporter pid %ld not told: %s",
				  name, (long)s->owner->pid,
				  ret == -CSX_EBUSY ? "its socket is full" :
						      "it is gone");
	}
	uhd_log_peer(c, UHD_DEBUG, "opened %s v%u of pid %ld (channel %llu)",
		     name, s->version, (long)s->owner->pid,
		     (unsigned long long)chan);
	ret = uhd_reply_all(c, 0, s->version, s->idempotent, NULL, 0, sv[0]);
	close(sv[0]);
	return ret;
}

static void uhd_wait_free(struct uhd_wait *w)
{
	uhd_list_del(&w->hnode);
	uhd_list_del(&w->cnode);
	w->c->nwaits--;
	event_free(w->timer);
	free(w);
}

static void uhd_wait_expired(evutil_socket_t fd, short what, void *arg)
{
	struct uhd_wait *w = arg;
	struct uhd_client *c = w->c;
	int ret;

	(void)fd;
	(void)what;
	c->seq = w->seq;
	ret = uhd_refuse(c, UHD_INFO, -CSX_ENOENT,
			 "OPEN %s: no exporter appeared in time", w->name);
	uhd_wait_free(w);
	if (ret)
		uhd_client_doom(c, "disconnected");
}

void uhd_waits_wake(struct uhd *d, const char *name)
{
	struct uhd_list *b = uhd_bucket(d->waits, name);
	struct uhd_list *p, *next;

	for (p = b->next; p != b; p = next) {
		struct uhd_wait *w = uhd_entry(p, struct uhd_wait, hnode);
		struct uhd_client *c = w->c;
		uint32_t min_version = w->min_version;

		next = p->next;
		if (strcmp(w->name, name) || c->doomed)
			continue;
		c->seq = w->seq;
		uhd_wait_free(w);
		/* Closing is left to the loop: @next may be @c's too. */
		if (uhd_open_now(c, name, min_version))
			uhd_client_doom(c, "disconnected");
	}
}

/* Holds an OPEN until @m->name is exported or @m->wait_ms is over. */
static int uhd_park(struct uhd_client *c, const struct csx_uh_open *m)
{
	uint32_t ms = m->wait_ms < CSX_UH_OPEN_WAIT_MAX_MS ?
			      m->wait_ms :
			      CSX_UH_OPEN_WAIT_MAX_MS;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct uhd_wait *w;

	if (c->nwaits >= UHD_WAITS_PER_CLIENT)
		return uhd_refuse(c, UHD_WARN, -CSX_ENOSPC,
				  "OPEN %s: %d OPENs waiting already", m->name,
				  UHD_WAITS_PER_CLIENT);
	w = calloc(1, sizeof(*w));
	if (w)
		w->timer = evtimer_new(c->d->base, uhd_wait_expired, w);
	if (!w || !w->timer || evtimer_add(w->timer, &tv)) {
		if (w && w->timer)
			event_free(w->timer);
		free(w);
		return uhd_refuse(c, UHD_ERR, -CSX_ENOSPC,
				  "OPEN %s: out of memory", m->name);
	}
	w->c = c;
	w->seq = c->seq;
	w->min_version = m->min_version;
	strcpy(w->name, m->name);
	uhd_list_add_tail(&w->hnode, uhd_bucket(c->d->waits, w->name));
	uhd_list_add_tail(&w->cnode, &c->waits);
	c->nwaits++;
	uhd_log_peer(c, UHD_DEBUG, "OPEN %s: waiting up to %u ms for it",
		     m->name, ms);
	return 0;
}

static int uhd_do_open(struct uhd_client *c, const struct csx_uh_open *m)
{
	const char *why;

	if (m->flags & ~CSX_UH_OPEN_WAIT)
		return uhd_malformed(c, "OPEN flags 0x%x", m->flags);
	if (m->reserved)
		return uhd_malformed(c, "OPEN reserved 0x%x", m->reserved);
	why = uhd_name_problem(m->name);
	if (why)
		return uhd_malformed(c, "OPEN: %s", why);
	if ((m->flags & CSX_UH_OPEN_WAIT) && m->wait_ms &&
	    !uhd_svcname_find(c->d, m->name))
		return uhd_park(c, m);
	return uhd_open_now(c, m->name, m->min_version);
}

static int uhd_do_list(struct uhd_client *c)
{
	struct uhd *d = c->d;
	size_t cap = sizeof(d->tbuf) - sizeof(struct csx_uh_reply);
	size_t len;

	/* In place behind the header, which uhd_reply_all() fills in. */
	len = uhd_registry_text(d, d->tbuf + sizeof(struct csx_uh_reply), cap);
	return uhd_reply_all(c, 0, 0, 0, d->tbuf + sizeof(struct csx_uh_reply),
			     len, -1);
}

static int uhd_do_state_get(struct uhd_client *c, const struct csx_uh_state *m)
{
	const char *why = uhd_name_problem(m->name);
	int fd;

	if (why)
		return uhd_malformed(c, "STATE_GET: %s", why);
	if (uhd_state_get(c, m->name, &fd))
		return uhd_refuse(c, UHD_DEBUG, -CSX_ENOENT,
				  "STATE_GET %s: none held", m->name);
	uhd_log_peer(c, UHD_DEBUG, "gets state %s", m->name);
	return uhd_reply_all(c, 0, 1, 0, NULL, 0, fd);
}

/* On success the region holds *@fd, which becomes -1. */
static int uhd_do_state_put(struct uhd_client *c, const struct csx_uh_state *m,
			    int *fd)
{
	const char *why = uhd_name_problem(m->name);
	int ret;

	if (why)
		return uhd_malformed(c, "STATE_PUT: %s", why);
	ret = uhd_state_put(c, m->name, m->size, *fd, &why);
	if (ret == -EINVAL)
		return uhd_malformed(c, "STATE_PUT %s: %s", m->name, why);
	if (ret)
		return uhd_refuse(c, UHD_WARN, -CSX_ENOSPC, "STATE_PUT %s: %s",
				  m->name, why);
	*fd = -1;
	uhd_log_peer(c, UHD_DEBUG, "holds state %s (%llu bytes)", m->name,
		     (unsigned long long)m->size);
	return uhd_reply(c, 0, 0);
}

static int uhd_do_state_drop(struct uhd_client *c, const struct csx_uh_name *m)
{
	const char *why = uhd_name_problem(m->name);

	if (why)
		return uhd_malformed(c, "STATE_DROP: %s", why);
	if (uhd_state_drop(c, m->name))
		return uhd_refuse(c, UHD_DEBUG, -CSX_ENOENT,
				  "STATE_DROP %s: none held", m->name);
	uhd_log_peer(c, UHD_DEBUG, "dropped state %s", m->name);
	return uhd_reply(c, 0, 0);
}

static int uhd_do_subscribe(struct uhd_client *c)
{
	bool again = c->subscribed;

	c->subscribed = true;
	if (uhd_reply(c, 0, 0))
		return -1;
	if (!again) {
		uhd_log_peer(c, UHD_INFO, "subscribed to events");
		uhd_super_subscribed(c);
	}
	return 0;
}

/* Exact size per type: a short one would read fields that did not come. */
static size_t uhd_type_size(uint16_t type)
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
	case CSX_UH_LIST:
	case CSX_UH_SUBSCRIBE:
		return sizeof(struct csx_uh_hdr);
	default:
		return 0;
	}
}

/*
 * One framed datagram of @len bytes in c->d->rbuf, with the descriptors
 * @fds (@nfds; @odd: other control data, or some were cut off). Only
 * STATE_PUT takes one, which it sets to -1; the caller closes the rest.
 */
static int uhd_dispatch(struct uhd_client *c, size_t len, int *fds,
			unsigned int nfds, bool odd)
{
	const union uhd_msg *m = &c->d->rbuf;
	uint16_t type = m->hdr.type;
	size_t want = uhd_type_size(type);

	uhd_log_peer(c, UHD_DEBUG, "%s seq %u, %zu bytes", uhd_type_name(type),
		     m->hdr.seq, len);
	if (!want)
		return uhd_malformed(c, "unknown message type 0x%x", type);
	if (len != want)
		return uhd_malformed(c, "%s of %zu bytes, want %zu",
				     uhd_type_name(type), len, want);
	if (type == CSX_UH_STATE_PUT && (nfds != 1 || odd))
		return uhd_malformed(c,
				     "STATE_PUT with %u descriptor(s)%s, "
				     "want one",
				     nfds, odd ? " and more" : "");
	if (type != CSX_UH_STATE_PUT && (nfds || odd))
		return uhd_malformed(c, "%s with file descriptors",
				     uhd_type_name(type));
	if (type == CSX_UH_HELLO)
		return uhd_do_hello(c, &m->hello);
	if (!c->hello)
		return uhd_malformed(c, "%s before HELLO", uhd_type_name(type));
	switch (type) {
	case CSX_UH_EXPORT:
		return uhd_do_export(c, &m->exp);
	case CSX_UH_UNEXPORT:
		return uhd_do_unexport(c, &m->name);
	case CSX_UH_OPEN:
		return uhd_do_open(c, &m->open);
	case CSX_UH_STATE_GET:
		return uhd_do_state_get(c, &m->state);
	case CSX_UH_STATE_PUT:
		return uhd_do_state_put(c, &m->state, &fds[0]);
	case CSX_UH_STATE_DROP:
		return uhd_do_state_drop(c, &m->name);
	case CSX_UH_SUBSCRIBE:
		return uhd_do_subscribe(c);
	default:
		return uhd_do_list(c);
	}
}

/*
 * The descriptors that came along, at most @max into @fds (the control
 * buffer holds no more); returns their number. *@odd: control data other
 * than SCM_RIGHTS came too.
 */
static unsigned int uhd_take_fds(struct msghdr *mh, int *fds, unsigned int max,
				 bool *odd)
{
	struct cmsghdr *cm;
	unsigned int nfds = 0;

	*odd = false;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n, i;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS) {
			*odd = true;
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(fd));
			if (nfds < max)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	return nfds;
}

/*
 * Receives and handles one datagram. 0: go on; -EAGAIN: nothing more to
 * read now; -1: close the connection (hang-up, error, or a bad header).
 */
static int uhd_client_recv(struct uhd_client *c)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * UHD_CMSG_FDS)];
	} cbuf;
	struct iovec iov = { c->d->rbuf.raw, sizeof(c->d->rbuf.raw) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	const struct csx_uh_hdr *h = &c->d->rbuf.hdr;
	int fds[UHD_CMSG_FDS];
	unsigned int nfds, i;
	bool odd;
	ssize_t n;
	int ret;

	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		if (errno == EINTR)
			return 0;
		uhd_log_peer(c, UHD_DEBUG, "receive: %s", strerror(errno));
		return -1;
	}
	nfds = uhd_take_fds(&mh, fds, UHD_CMSG_FDS, &odd);
	odd = odd || (mh.msg_flags & MSG_CTRUNC);
	if (n == 0) {
		ret = -1; /* hang-up (or an empty datagram: no header either) */
	} else if (mh.msg_flags & MSG_TRUNC) {
		uhd_log_peer(c, UHD_WARN, "message over %d bytes; closing",
			     CSX_UH_MSG_MAX);
		ret = -1;
	} else if ((size_t)n < sizeof(*h) || h->magic != CSX_UH_MAGIC ||
		   h->version != CSX_UH_PROTO_VERSION || h->len != (size_t)n) {
		uhd_log_peer(c, UHD_WARN,
			     "bad header (%zd bytes, magic 0x%08x, version %u, "
			     "len %u); closing",
			     n, (size_t)n >= 4 ? h->magic : 0,
			     (size_t)n >= 6 ? h->version : 0,
			     (size_t)n >= 12 ? h->len : 0);
		ret = -1;
	} else {
		c->seq = h->seq;
		ret = uhd_dispatch(c, (size_t)n, fds, nfds, odd) ? -1 : 0;
	}
	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

static void uhd_client_readable(evutil_socket_t fd, short what, void *arg)
{
	struct uhd_client *c = arg;
	int i, ret;

	for (i = 0; i < UHD_BATCH && !c->doomed; i++) {
		ret = uhd_client_recv(c);
		if (ret == -EAGAIN)
			return;
		if (ret) {
			uhd_client_free(c, "disconnected");
			return;
		}
	}
	/*
	 * More may be queued: the persistent event fires again, after the
	 * other clients had their turn.
	 */
}

/*
 * A connection that never says HELLO would hold one of --max-clients
 * slots for nothing: any local user could fill them all.
 */
static void uhd_client_hello_late(evutil_socket_t fd, short what, void *arg)
{
	struct uhd_client *c = arg;

	(void)fd;
	(void)what;
	if (c->hello)
		return;
	uhd_log_peer(c, UHD_INFO, "no HELLO within %u s (--hello-timeout)",
		     c->d->hello_timeout);
	uhd_client_free(c, "closed");
}

static void uhd_client_closing(evutil_socket_t fd, short what, void *arg)
{
	struct uhd_client *c = arg;

	(void)fd;
	(void)what;
	uhd_client_free(c, c->doomed);
}

void uhd_client_doom(struct uhd_client *c, const char *why)
{
	if (c->doomed)
		return;
	c->doomed = why;
	event_del(c->ev);
	event_active(c->close_ev, EV_TIMEOUT, 0);
}

int uhd_client_new(struct uhd *d, int fd, pid_t pid, uid_t uid, gid_t gid)
{
	struct timeval tv = { .tv_sec = d->hello_timeout };
	struct uhd_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->d = d;
	c->fd = fd;
	c->pid = pid;
	c->uid = uid;
	c->gid = gid;
	strcpy(c->name, "-");
	uhd_list_init(&c->services);
	uhd_list_init(&c->waits);
	c->ev = event_new(d->base, fd, EV_READ | EV_PERSIST,
			  uhd_client_readable, c);
	c->hello_ev = evtimer_new(d->base, uhd_client_hello_late, c);
	c->close_ev = evtimer_new(d->base, uhd_client_closing, c);
	if (!c->ev || !c->hello_ev || !c->close_ev || event_add(c->ev, NULL) ||
	    evtimer_add(c->hello_ev, &tv)) {
		if (c->ev)
			event_free(c->ev);
		if (c->hello_ev)
			event_free(c->hello_ev);
		if (c->close_ev)
			event_free(c->close_ev);
		free(c);
		return -ENOMEM;
	}
	uhd_list_add_tail(&c->node, &d->clients);
	d->nclients++;
	uhd_log_peer(c, UHD_DEBUG, "connected (uid %lu gid %lu)",
		     (unsigned long)uid, (unsigned long)gid);
	return 0;
}

/*
 * Closes @c; its services go with it, as its process died or hung up, and
 * so do its parked OPENs. Its saved state stays: that is what it is for.
 */
void uhd_client_free(struct uhd_client *c, const char *why)
{
	unsigned int n;

	/* No events to itself about its own services going. */
	c->doomed = why;
	while (!uhd_list_empty(&c->waits))
		uhd_wait_free(uhd_entry(c->waits.next, struct uhd_wait, cnode));
	n = uhd_services_drop(c);
	if (n)
		uhd_log_peer(c, UHD_INFO, "%s (%s): %u service(s) withdrawn",
			     why, c->name, n);
	else
		uhd_log_peer(c, UHD_DEBUG, "%s", why);
	uhd_event_flush(c);
	/* Reported with the next line about any peer, not one per client. */
	c->d->rl.suppressed += c->rl.suppressed;
	uhd_list_del(&c->node);
	c->d->nclients--;
	event_free(c->ev);
	event_free(c->hello_ev);
	event_free(c->close_ev);
	close(c->fd);
	free(c);
}
