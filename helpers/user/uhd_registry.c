/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-uhelperd's registry: the containers (connections that said HELLO)
 * and the services they export. A name belongs to one uid, whose
 * processes may all export it (instances of one service): names live in
 * one hash table, each with its exporters, and every export is also in
 * its owner's list, which lets a dead connection withdraw them at once.
 */
#include "uhd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The CSX service name rule (csx-api/src/csx_service.c): "module/service",
 * printable ASCII without blanks, a '/' with something on both sides,
 * shorter than CSX_UH_NAME_MAX. @name must be NUL-terminated within
 * CSX_UH_NAME_MAX bytes, which the caller has checked.
 */
bool uhd_service_name_ok(const char *name)
{
	size_t len = strnlen(name, CSX_UH_NAME_MAX);
	bool slash = false;
	size_t i;

	if (len == 0 || len >= CSX_UH_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch < 0x21 || ch > 0x7e)
			return false;
		if (ch == '/' && i > 0 && i < len - 1)
			slash = true;
	}
	return slash;
}

/*
 * FNV-1a. Clients choose the names, so they could pile them into one
 * bucket; each holds at most UHD_SERVICES_PER_CLIENT, which bounds the
 * damage to a slower lookup, not worth a keyed hash.
 */
struct uhd_list *uhd_bucket(struct uhd_list *table, const char *name)
{
	uint32_t h = 2166136261u;

	while (*name) {
		h ^= (unsigned char)*name++;
		h *= 16777619u;
	}
	return &table[h & (UHD_HASH_SIZE - 1)];
}

void uhd_registry_init(struct uhd *d)
{
	size_t i;

	for (i = 0; i < UHD_HASH_SIZE; i++) {
		uhd_list_init(&d->hash[i]);
		uhd_list_init(&d->waits[i]);
	}
}

struct uhd_svcname *uhd_svcname_find(struct uhd *d, const char *name)
{
	struct uhd_list *b = uhd_bucket(d->hash, name);
	struct uhd_list *p;

	for (p = b->next; p != b; p = p->next) {
		struct uhd_svcname *sn =
			uhd_entry(p, struct uhd_svcname, hnode);

		if (!strcmp(sn->name, name))
			return sn;
	}
	return NULL;
}

struct uhd_service *uhd_service_find(struct uhd_client *c, const char *name)
{
	struct uhd_list *p;

	for (p = c->services.next; p != &c->services; p = p->next) {
		struct uhd_service *s = uhd_entry(p, struct uhd_service, cnode);

		if (!strcmp(s->sn->name, name))
			return s;
	}
	return NULL;
}

/*
 * Instances of one service are processes of one uid: a name belongs to
 * the uid that exports it first, until its last exporter is gone, so no
 * other user can slip an instance of his own among them.
 */
int uhd_service_add(struct uhd_client *c, const struct csx_uh_export *m,
		    struct uhd_service **other)
{
	struct uhd_svcname *sn = uhd_svcname_find(c->d, m->name);
	struct uhd_service *s;

	*other = NULL;
	if (sn) {
		*other = uhd_entry(sn->exporters.next, struct uhd_service,
				   nnode);
		if (sn->uid != c->uid)
			return -EEXIST;
		s = uhd_service_find(c, m->name);
		if (s) {
			*other = s;
			return -EEXIST;
		}
	}
	if (c->nservices >= UHD_SERVICES_PER_CLIENT)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (!sn) {
		sn = calloc(1, sizeof(*sn));
		if (!sn) {
			free(s);
			return -ENOMEM;
		}
		/* Checked by the caller: NUL-terminated, shorter than the field. */
		strcpy(sn->name, m->name);
		sn->uid = c->uid;
		uhd_list_init(&sn->exporters);
		uhd_list_add_tail(&sn->hnode, uhd_bucket(c->d->hash, m->name));
	}
	s->sn = sn;
	s->version = m->version;
	s->scope = m->scope;
	s->idempotent = m->idempotent;
	s->owner = c;
	uhd_list_add_tail(&s->nnode, &sn->exporters);
	uhd_list_add_tail(&s->cnode, &c->services);
	c->nservices++;
	uhd_event_service(c->d, CSX_UH_EV_SERVICE_UP, s);
	return 0;
}

void uhd_service_del(struct uhd_service *s)
{
	struct uhd_svcname *sn = s->sn;

	uhd_event_service(s->owner->d, CSX_UH_EV_SERVICE_DOWN, s);
	uhd_list_del(&s->nnode);
	uhd_list_del(&s->cnode);
	s->owner->nservices--;
	free(s);
	if (uhd_list_empty(&sn->exporters)) {
		uhd_list_del(&sn->hnode);
		free(sn);
	}
}

unsigned int uhd_services_drop(struct uhd_client *c)
{
	unsigned int n = 0;

	while (!uhd_list_empty(&c->services)) {
		uhd_service_del(
			uhd_entry(c->services.next, struct uhd_service, cnode));
		n++;
	}
	return n;
}

static const char *uhd_scope_name(uint32_t scope)
{
	return scope == CSX_UH_SCOPE_PUBLIC ? "public" : "user";
}

bool uhd_text_line(char *buf, size_t cap, size_t *len, const char *line)
{
	static const char more[] = "...\n";
	size_t n = strlen(line);

	if (*len + n + sizeof(more) - 1 > cap) {
		memcpy(buf + *len, more, sizeof(more) - 1);
		*len += sizeof(more) - 1;
		return false;
	}
	memcpy(buf + *len, line, n);
	*len += n;
	return true;
}

size_t uhd_registry_text(struct uhd *d, char *buf, size_t cap)
{
	struct uhd_list *p, *q;
	char line[3 * CSX_UH_NAME_MAX + 64];
	size_t len = 0;

	for (p = d->clients.next; p != &d->clients; p = p->next) {
		struct uhd_client *c = uhd_entry(p, struct uhd_client, node);
		char ct[UHD_CT_NAME_MAX + 64] = "";

		if (!c->hello)
			continue;
		if (c->supervised)
			snprintf(ct, sizeof(ct), " container=%s/%u",
				 c->container, c->instance);
		if (c->nwaits)
			snprintf(ct + strlen(ct), sizeof(ct) - strlen(ct),
				 " waiting=%u", c->nwaits);
		snprintf(line, sizeof(line),
			 "pid=%ld uid=%lu name=%s services=%u%s\n",
			 (long)c->pid, (unsigned long)c->uid, c->name,
			 c->nservices, ct);
		if (!uhd_text_line(buf, cap, &len, line))
			return len;
		for (q = c->services.next; q != &c->services; q = q->next) {
			struct uhd_service *s =
				uhd_entry(q, struct uhd_service, cnode);

			snprintf(line, sizeof(line), "  %s v%u %s\n",
				 s->sn->name, s->version,
				 uhd_scope_name(s->scope));
			if (!uhd_text_line(buf, cap, &len, line))
				return len;
		}
	}
	if (uhd_super_text(d, buf, cap, &len))
		uhd_state_text(d, buf, cap, &len);
	return len;
}

/* The supervisor's and the saved state's lines of LIST, logged. */
static void uhd_registry_log_more(struct uhd *d)
{
	size_t len = 0, cap = sizeof(d->tbuf);
	const char *p = d->tbuf, *end, *nl;

	if (uhd_super_text(d, d->tbuf, cap, &len))
		uhd_state_text(d, d->tbuf, cap, &len);
	for (end = d->tbuf + len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			break;
		uhd_log(UHD_INFO, "registry: %.*s", (int)(nl - p), p);
	}
}

/* As LIST, plus when each container said HELLO; for operators only. */
void uhd_registry_log(struct uhd *d)
{
	unsigned int containers = 0;
	struct uhd_list *p, *q;
	char when[32];
	struct tm tm;

	for (p = d->clients.next; p != &d->clients; p = p->next) {
		struct uhd_client *c = uhd_entry(p, struct uhd_client, node);

		if (!c->hello)
			continue;
		containers++;
		if (!localtime_r(&c->since, &tm) ||
		    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
			strcpy(when, "?");
		uhd_log(UHD_INFO,
			"registry: pid=%ld uid=%lu name=%s services=%u since %s",
			(long)c->pid, (unsigned long)c->uid, c->name,
			c->nservices, when);
		for (q = c->services.next; q != &c->services; q = q->next) {
			struct uhd_service *s =
				uhd_entry(q, struct uhd_service, cnode);

			uhd_log(UHD_INFO, "registry:   %s v%u %s", s->sn->name,
				s->version, uhd_scope_name(s->scope));
		}
	}
	uhd_log(UHD_INFO, "registry: %u connection(s), %u container(s)",
		d->nclients, containers);
	uhd_registry_log_more(d);
}
