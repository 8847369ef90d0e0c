/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-uhelperd's events (CSX_UH_EVENT, seq 0) to the connections that
 * asked for them with SUBSCRIBE: services coming and going, and what the
 * supervisor does with its containers.
 *
 * An event is sent once, without waiting: a subscriber that does not read
 * loses events (counted, and the count logged once it reads again or
 * goes), never its connection, which may be a CSX process's only one and
 * carry its services.
 */
#include "uhd.h"

#include <errno.h>
#include <string.h>

static void uhd_event_init(struct csx_uh_event *ev, uint32_t type)
{
	memset(ev, 0, sizeof(*ev));
	ev->hdr.magic = CSX_UH_MAGIC;
	ev->hdr.version = CSX_UH_PROTO_VERSION;
	ev->hdr.type = CSX_UH_EVENT;
	ev->hdr.len = sizeof(*ev);
	ev->event = type;
	ev->time_ns = (uint64_t)uhd_now_ns();
}

void uhd_event_flush(struct uhd_client *c)
{
	if (!c->ev_dropped)
		return;
	uhd_log_peer(c, UHD_WARN, "%lu event(s) dropped: its socket was full",
		     c->ev_dropped);
	c->ev_dropped = 0;
}

static void uhd_event_send(struct uhd_client *c, const struct csx_uh_event *ev)
{
	int ret = uhd_sendmsg(c->fd, ev, sizeof(*ev), -1);

	if (!ret) {
		uhd_event_flush(c);
		return;
	}
	/* Any other error is a subscriber going away: its hang-up closes it. */
	if (ret == -EAGAIN && !c->ev_dropped++)
		uhd_log_peer(c, UHD_WARN,
			     "subscriber does not read (socket full): dropping "
			     "events");
}

static bool uhd_subscriber(const struct uhd_client *c)
{
	return c->subscribed && !c->doomed;
}

void uhd_event_service(struct uhd *d, uint32_t type,
		       const struct uhd_service *s)
{
	const struct uhd_client *o = s->owner;
	struct csx_uh_event ev;
	struct uhd_list *p;

	if (d->closing)
		return;
	uhd_event_init(&ev, type);
	ev.pid = o->pid;
	strcpy(ev.service, s->sn->name);
	/* A process the supervisor runs is named as its container. */
	if (o->supervised) {
		strcpy(ev.container, o->container);
		ev.instance = o->instance;
	} else {
		strcpy(ev.container, o->name);
	}
	for (p = d->clients.next; p != &d->clients; p = p->next) {
		struct uhd_client *c = uhd_entry(p, struct uhd_client, node);

		if (!uhd_subscriber(c))
			continue;
		/* Who may not open it is not told it exists. */
		if (s->scope == CSX_UH_SCOPE_USER && c->uid != 0 &&
		    c->uid != s->sn->uid)
			continue;
		uhd_event_send(c, &ev);
	}
}

static void uhd_event_inst_init(struct csx_uh_event *ev, uint32_t type,
				const struct uhd_inst *in, int32_t status,
				uint32_t delay_ms)
{
	uhd_event_init(ev, type);
	ev->instance = in->index;
	ev->pid = in->pid;
	ev->status = status;
	ev->restarts = in->restarts;
	ev->delay_ms = delay_ms;
	strcpy(ev->container, in->ct->name);
}

/* The containers are the daemon's: its uid's business. */
static bool uhd_event_inst_ok(const struct uhd_client *c)
{
	return uhd_subscriber(c) && (c->uid == 0 || c->uid == c->d->self_uid);
}

void uhd_event_inst(struct uhd *d, uint32_t type, const struct uhd_inst *in,
		    int32_t status, uint32_t delay_ms)
{
	struct csx_uh_event ev;
	struct uhd_list *p;

	if (d->closing)
		return;
	uhd_event_inst_init(&ev, type, in, status, delay_ms);
	for (p = d->clients.next; p != &d->clients; p = p->next) {
		struct uhd_client *c = uhd_entry(p, struct uhd_client, node);

		if (uhd_event_inst_ok(c))
			uhd_event_send(c, &ev);
	}
}

void uhd_event_inst_to(struct uhd_client *c, uint32_t type,
		       const struct uhd_inst *in, int64_t time_ns)
{
	struct csx_uh_event ev;

	if (!uhd_event_inst_ok(c))
		return;
	uhd_event_inst_init(&ev, type, in, 0, 0);
	ev.time_ns = (uint64_t)time_ns;
	uhd_event_send(c, &ev);
}
