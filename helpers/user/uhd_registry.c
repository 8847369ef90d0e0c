/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-uhelperd's registry: the containers (connections that said HELLO)
 * and the services they export. A name is unique across the daemon, so
 * services live in one hash table keyed by name as well as in their
 * owner's list, which lets a dead connection withdraw them all at once.
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
static struct uhd_list *uhd_bucket(struct uhd *d, const char *name)
{
	uint32_t h = 2166136261u;

	while (*name) {
		h ^= (unsigned char)*name++;
		h *= 16777619u;
	}
	return &d->hash[h & (UHD_HASH_SIZE - 1)];
}

void uhd_registry_init(struct uhd *d)
{
	size_t i;

	for (i = 0; i < UHD_HASH_SIZE; i++)
		uhd_list_init(&d->hash[i]);
}

struct uhd_service *uhd_service_find(struct uhd *d, const char *name)
{
	struct uhd_list *b = uhd_bucket(d, name);
	struct uhd_list *p;

	for (p = b->next; p != b; p = p->next) {
		struct uhd_service *s = uhd_entry(p, struct uhd_service, hnode);

		if (!strcmp(s->name, name))
			return s;
	}
	return NULL;
}

int uhd_service_add(struct uhd_client *c, const char *name, uint32_t version,
		    uint32_t scope)
{
	struct uhd_service *s;

	if (uhd_service_find(c->d, name))
		return -EEXIST;
	if (c->nservices >= UHD_SERVICES_PER_CLIENT)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* Checked by the caller: NUL-terminated and shorter than the field. */
	strcpy(s->name, name);
	s->version = version;
	s->scope = scope;
	s->owner = c;
	uhd_list_add_tail(&s->hnode, uhd_bucket(c->d, name));
	uhd_list_add_tail(&s->cnode, &c->services);
	c->nservices++;
	return 0;
}

void uhd_service_del(struct uhd_service *s)
{
	uhd_list_del(&s->hnode);
	uhd_list_del(&s->cnode);
	s->owner->nservices--;
	free(s);
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

/* Appends a line if it fits with room left for the "..." marker. */
static bool uhd_text_line(char *buf, size_t cap, size_t *len, const char *line)
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
	char line[2 * CSX_UH_NAME_MAX + 64];
	size_t len = 0;

	for (p = d->clients.next; p != &d->clients; p = p->next) {
		struct uhd_client *c = uhd_entry(p, struct uhd_client, node);

		if (!c->hello)
			continue;
		snprintf(line, sizeof(line),
			 "pid=%ld uid=%lu name=%s services=%u\n", (long)c->pid,
			 (unsigned long)c->uid, c->name, c->nservices);
		if (!uhd_text_line(buf, cap, &len, line))
			return len;
		for (q = c->services.next; q != &c->services; q = q->next) {
			struct uhd_service *s =
				uhd_entry(q, struct uhd_service, cnode);

			snprintf(line, sizeof(line), "  %s v%u %s\n", s->name,
				 s->version, uhd_scope_name(s->scope));
			if (!uhd_text_line(buf, cap, &len, line))
				return len;
		}
	}
	return len;
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

			uhd_log(UHD_INFO, "registry:   %s v%u %s", s->name,
				s->version, uhd_scope_name(s->scope));
		}
	}
	uhd_log(UHD_INFO, "registry: %u connection(s), %u container(s)",
		d->nclients, containers);
}
