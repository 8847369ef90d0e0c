/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-uhelperd's saved state (csx_state.h): sealed memfds held for a
 * process so that the next instance of it gets them back.
 *
 * The daemon only holds the descriptors: it never maps a region, so a
 * region's contents cannot hurt it, and what it checks at PUT (the seals
 * against shrinking and growing, the size) is all it relies on: the size
 * it charged cannot change afterwards.
 *
 * The key is the daemon's, never the client's word: "CONTAINER/INSTANCE"
 * for a process the supervisor runs (matched by its pid at HELLO), so that
 * every incarnation of the instance finds it; "uid:UID/NAME" (its HELLO
 * name) for any other. Regions outlive the process that put them; they go
 * with STATE_DROP or when the daemon exits.
 */
#include "uhd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#endif

void uhd_state_init(struct uhd *d)
{
	uhd_list_init(&d->regions);
}

void uhd_state_key(struct uhd_client *c, char *key)
{
	if (c->supervised)
		snprintf(key, UHD_KEY_MAX, "%s/%u", c->container, c->instance);
	else
		snprintf(key, UHD_KEY_MAX, "uid:%lu/%s", (unsigned long)c->uid,
			 c->name);
}

static struct uhd_region *uhd_region_find(struct uhd *d, const char *key,
					  const char *name)
{
	struct uhd_list *p;

	for (p = d->regions.next; p != &d->regions; p = p->next) {
		struct uhd_region *r = uhd_entry(p, struct uhd_region, node);

		if (!strcmp(r->key, key) && !strcmp(r->name, name))
			return r;
	}
	return NULL;
}

static void uhd_region_free(struct uhd *d, struct uhd_region *r)
{
	uhd_list_del(&r->node);
	d->nregions--;
	close(r->fd);
	free(r);
}

int uhd_state_get(struct uhd_client *c, const char *name, int *fd)
{
	char key[UHD_KEY_MAX];
	struct uhd_region *r;

	uhd_state_key(c, key);
	r = uhd_region_find(c->d, key, name);
	if (!r)
		return -ENOENT;
	*fd = r->fd;
	return 0;
}

/*
 * Seals first: only shared memory (memfd, tmpfs) has them, so fstat()
 * never reaches a file system that could make the daemon wait.
 */
static const char *uhd_region_problem(int fd, uint64_t size)
{
	struct stat st;
	int seals;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return "not a memfd (no seals)";
	if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) !=
	    (F_SEAL_SHRINK | F_SEAL_GROW))
		return "memfd without F_SEAL_SHRINK and F_SEAL_GROW";
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return "not a regular file";
	if (size == 0 || size > CSX_UH_STATE_MAX)
		return "size 0 or over CSX_UH_STATE_MAX";
	if ((uint64_t)st.st_size != size)
		return "memfd size differs from the message's";
	return NULL;
}

/* What @uid holds, in regions and bytes, @except not counted. */
static void uhd_uid_usage(struct uhd *d, uid_t uid,
			  const struct uhd_region *except, unsigned int *n,
			  uint64_t *bytes)
{
	struct uhd_list *p;

	*n = 0;
	*bytes = 0;
	for (p = d->regions.next; p != &d->regions; p = p->next) {
		struct uhd_region *r = uhd_entry(p, struct uhd_region, node);

		if (r == except || r->uid != uid)
			continue;
		(*n)++;
		*bytes += r->size;
	}
}

static unsigned int uhd_key_regions(struct uhd *d, const char *key)
{
	unsigned int n = 0;
	struct uhd_list *p;

	for (p = d->regions.next; p != &d->regions; p = p->next)
		n += !strcmp(uhd_entry(p, struct uhd_region, node)->key, key);
	return n;
}

int uhd_state_put(struct uhd_client *c, const char *name, uint64_t size, int fd,
		  const char **why)
{
	struct uhd *d = c->d;
	char key[UHD_KEY_MAX];
	struct uhd_region *old, *r;
	unsigned int n;
	uint64_t bytes;

	*why = uhd_region_problem(fd, size);
	if (*why)
		return -EINVAL;
	uhd_state_key(c, key);
	old = uhd_region_find(d, key, name);
	uhd_uid_usage(d, c->uid, old, &n, &bytes);
	if (!old && uhd_key_regions(d, key) >= CSX_UH_STATE_PER_KEY)
		*why = "CSX_UH_STATE_PER_KEY regions for this key already";
	else if (bytes + size > CSX_UH_STATE_UID_MAX)
		*why = "CSX_UH_STATE_UID_MAX bytes for this uid";
	else if (n >= UHD_STATE_UID_REGIONS)
		*why = "too many regions for this uid";
	else if (!old && d->nregions >= UHD_STATE_REGIONS_MAX)
		*why = "too many regions in the daemon";
	if (*why)
		return -ENOSPC;
	r = calloc(1, sizeof(*r));
	if (!r) {
		*why = "out of memory";
		return -ENOSPC;
	}
	strcpy(r->key, key);
	strcpy(r->name, name);
	r->uid = c->uid;
	r->size = size;
	r->fd = fd;
	if (old)
		uhd_region_free(d, old);
	uhd_list_add_tail(&r->node, &d->regions);
	d->nregions++;
	return 0;
}

int uhd_state_drop(struct uhd_client *c, const char *name)
{
	char key[UHD_KEY_MAX];
	struct uhd_region *r;

	uhd_state_key(c, key);
	r = uhd_region_find(c->d, key, name);
	if (!r)
		return -ENOENT;
	uhd_region_free(c->d, r);
	return 0;
}

bool uhd_state_text(struct uhd *d, char *buf, size_t cap, size_t *len)
{
	char line[UHD_KEY_MAX + CSX_UH_NAME_MAX + 64];
	struct uhd_list *p;

	for (p = d->regions.next; p != &d->regions; p = p->next) {
		struct uhd_region *r = uhd_entry(p, struct uhd_region, node);

		snprintf(line, sizeof(line),
			 "state key=%s name=%s size=%llu uid=%lu\n", r->key,
			 r->name, (unsigned long long)r->size,
			 (unsigned long)r->uid);
		if (!uhd_text_line(buf, cap, len, line))
			return false;
	}
	return true;
}

void uhd_state_free(struct uhd *d)
{
	while (!uhd_list_empty(&d->regions))
		uhd_region_free(
			d, uhd_entry(d->regions.next, struct uhd_region, node));
}
