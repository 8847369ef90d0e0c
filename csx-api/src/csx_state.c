/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Saved state (csx_state.h): a region the back end keeps beyond this
 * instance (csx_os_state_get()), laid out here the same way in every back
 * end:
 *
 *   offset 0     struct csx__state_hdr: magic, layout, slot capacity, name
 *   slot 0, 1    struct csx__state_slot + up to @cap bytes of data each
 *
 * A commit goes to the slot with the older sequence number: its @seq is
 * zeroed first (the slot is then invalid), the data and the rest of the
 * slot header are written, the CRC-32C covering header fields and data is
 * stored and @seq is written last, with release ordering. A crash at any
 * point leaves the other slot, the previous commit, intact. Restoring
 * takes the valid slot with the higher @seq. Nothing read from the region
 * is trusted: another process may have written it, or a crash torn it.
 */
#include "csx_core.h"

#define CSX__STATE_MAGIC 0x53585343u /* "CSXS" */
#define CSX__STATE_LAYOUT 1u
#define CSX__STATE_PAGE 4096u
#define CSX__MAGIC_STATE 0xc5a15a7eu

struct csx__state_hdr {
	uint32_t magic;
	uint32_t layout;
	uint64_t cap; /* data bytes each slot can hold */
	char name[CSX__NAME_MAX];
};

struct csx__state_slot {
	uint64_t seq; /* 0: never written, or being written */
	uint32_t version;
	uint32_t len;
	uint32_t crc; /* over seq, version, len and the data */
	uint32_t reserved;
};

struct csx_state {
	uint32_t magic;
	enum csx_state_origin origin;
	uint32_t version; /* of the data in @data */
	uint32_t open_version;
	uint64_t seq; /* newest commit */
	size_t size;
	void *data;
	struct csx_os_state *os;
	unsigned char *mem;
	size_t mem_size;
	struct csx_os_mutex *lock; /* commits */
	struct csx_state *next;	   /* csx__states */
	char name[CSX__NAME_MAX];
};

/* Open handles in this address space, under the core lock. */
static struct csx_state *csx__states;

static size_t csx__state_slot_bytes(size_t cap)
{
	return (sizeof(struct csx__state_slot) + cap + 7) & ~(size_t)7;
}

static size_t csx__state_region_size(size_t cap)
{
	size_t n = CSX__STATE_PAGE + 2 * csx__state_slot_bytes(cap);

	return (n + CSX__STATE_PAGE - 1) & ~(size_t)(CSX__STATE_PAGE - 1);
}

static struct csx__state_slot *csx__state_slot(unsigned char *mem, size_t cap,
					       unsigned int i)
{
	return (struct csx__state_slot *)(mem + CSX__STATE_PAGE +
					  i * csx__state_slot_bytes(cap));
}

static uint32_t csx__state_crc(uint64_t seq, uint32_t version, uint32_t len,
			       const void *data)
{
	uint32_t crc;

	crc = csx__crc32c(0, &seq, sizeof(seq));
	crc = csx__crc32c(crc, &version, sizeof(version));
	crc = csx__crc32c(crc, &len, sizeof(len));
	return csx__crc32c(crc, data, len);
}

/* Slot @i of a region with slot capacity @cap, if it holds a whole commit. */
static bool csx__state_slot_ok(unsigned char *mem, size_t cap, unsigned int i,
			       uint64_t *seq)
{
	struct csx__state_slot *sl = csx__state_slot(mem, cap, i);
	uint64_t s = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
	uint32_t len = sl->len;

	if (!s || len > cap)
		return false;
	if (csx__state_crc(s, sl->version, len, sl + 1) != sl->crc)
		return false;
	*seq = s;
	return true;
}

/*
 * Read the newest intact commit of region @mem (@mem_size bytes) into
 * @st's working copy. Returns the origin; logs what it had to throw away.
 */
static enum csx_state_origin
csx__state_restore(struct csx_state *st, unsigned char *mem, size_t mem_size)
{
	struct csx__state_hdr *h = (struct csx__state_hdr *)mem;
	struct csx__state_slot *sl;
	uint64_t seq[2] = { 0, 0 };
	bool ok[2];
	unsigned int best;
	size_t cap;

	if (mem_size < CSX__STATE_PAGE || h->magic != CSX__STATE_MAGIC ||
	    h->layout != CSX__STATE_LAYOUT ||
	    csx__strnlen(h->name, CSX__NAME_MAX) >= CSX__NAME_MAX ||
	    csx__strcmp(h->name, st->name) || h->cap > CSX_STATE_MAX_SIZE ||
	    csx__state_region_size(h->cap) != mem_size) {
		csx_err("saved state %s: region header is corrupt: discarded",
			st->name);
		return CSX_STATE_DISCARDED;
	}
	cap = h->cap;
	ok[0] = csx__state_slot_ok(mem, cap, 0, &seq[0]);
	ok[1] = csx__state_slot_ok(mem, cap, 1, &seq[1]);
	if (!ok[0] && !ok[1]) {
		if (csx__state_slot(mem, cap, 0)->seq ||
		    csx__state_slot(mem, cap, 1)->seq ||
		    csx__state_slot(mem, cap, 0)->len ||
		    csx__state_slot(mem, cap, 1)->len) {
			csx_err("saved state %s: no intact commit (torn or "
				"overwritten): discarded",
				st->name);
			return CSX_STATE_DISCARDED;
		}
		return CSX_STATE_NEW; /* made, never committed */
	}
	best = (ok[1] && (!ok[0] || seq[1] > seq[0])) ? 1 : 0;
	if (!ok[!best] && (csx__state_slot(mem, cap, !best)->seq ||
			   csx__state_slot(mem, cap, !best)->len))
		csx_warn("saved state %s: the older commit slot is torn; "
			 "the newest commit is intact",
			 st->name);
	sl = csx__state_slot(mem, cap, best);
	__builtin_memcpy(st->data, sl + 1,
			 sl->len < st->size ? sl->len : st->size);
	st->version = sl->version;
	st->seq = seq[best];
	if (sl->len != st->size)
		csx_info("saved state %s: restored %u bytes into %zu", st->name,
			 (unsigned int)sl->len, st->size);
	return CSX_STATE_RESTORED;
}

static void csx__state_format(struct csx_state *st)
{
	struct csx__state_hdr *h = (struct csx__state_hdr *)st->mem;

	__builtin_memset(st->mem, 0, st->mem_size);
	h->magic = CSX__STATE_MAGIC;
	h->layout = CSX__STATE_LAYOUT;
	h->cap = st->size;
	csx__strlcpy(h->name, st->name, sizeof(h->name));
}

/* Write the working copy as commit @st->seq + 1. Commit lock held. */
static void csx__state_write(struct csx_state *st, uint32_t version)
{
	struct csx__state_slot *sl[2];
	uint64_t s0 = 0, s1 = 0, seq = st->seq + 1;
	struct csx__state_slot *dst;
	bool ok0, ok1;

	sl[0] = csx__state_slot(st->mem, st->size, 0);
	sl[1] = csx__state_slot(st->mem, st->size, 1);
	ok0 = csx__state_slot_ok(st->mem, st->size, 0, &s0);
	ok1 = csx__state_slot_ok(st->mem, st->size, 1, &s1);
	/* Overwrite the invalid or older one; keep the newest intact. */
	if (!ok0)
		dst = sl[0];
	else if (!ok1)
		dst = sl[1];
	else
		dst = s0 < s1 ? sl[0] : sl[1];
	__atomic_store_n(&dst->seq, 0, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__builtin_memcpy(dst + 1, st->data, st->size);
	dst->version = version;
	dst->len = (uint32_t)st->size;
	dst->crc = csx__state_crc(seq, version, (uint32_t)st->size, dst + 1);
	__atomic_store_n(&dst->seq, seq, __ATOMIC_RELEASE);
	st->seq = seq;
}

static bool csx__state_link(struct csx_state *st)
{
	struct csx_state *s;

	csx__core_lock();
	for (s = csx__states; s; s = s->next) {
		if (!csx__strcmp(s->name, st->name)) {
			csx__core_unlock();
			return false;
		}
	}
	st->next = csx__states;
	csx__states = st;
	csx__core_unlock();
	return true;
}

static void csx__state_unlink(struct csx_state *st)
{
	csx__core_lock();
	csx__slist_unlink(&csx__states, st);
	csx__core_unlock();
}

/*
 * Map the region. An existing one of another capacity is read first, then
 * dropped and made again at our size with the restored data committed.
 */
static int csx__state_attach(struct csx_state *st)
{
	size_t want = csx__state_region_size(st->size);
	bool existed = false;
	int ret;

	ret = csx_os_state_get(st->name, want, &st->os, (void **)&st->mem,
			       &st->mem_size, &existed);
	if (ret)
		return ret;
	st->origin = CSX_STATE_NEW;
	if (existed) {
		st->origin = csx__state_restore(st, st->mem, st->mem_size);
		/* Same layout, intact: use it as it is. */
		if (st->origin != CSX_STATE_DISCARDED && st->mem_size == want &&
		    ((struct csx__state_hdr *)st->mem)->cap == st->size)
			return 0;
	}
	if (st->mem_size != want) {
		csx_os_state_put(st->os, true);
		ret = csx_os_state_get(st->name, want, &st->os,
				       (void **)&st->mem, &st->mem_size,
				       &existed);
		if (ret)
			return ret;
		if (st->mem_size != want) {
			csx_err("saved state %s: the back end gave a %zu-byte "
				"region for %zu",
				st->name, st->mem_size, want);
			csx_os_state_put(st->os, true);
			return -CSX_EIO;
		}
	}
	csx__state_format(st);
	if (st->origin == CSX_STATE_RESTORED) {
		st->seq--; /* keep the restored commit's number */
		csx__state_write(st, st->version);
	}
	return 0;
}

int csx_state_open(const char *name, uint32_t version, size_t size,
		   struct csx_state **out)
{
	struct csx_state *st;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (!csx__name_ok(name)) {
		csx_err("csx_state_open(): bad name; want \"module/state\", "
			"printable, under %d bytes",
			CSX__NAME_MAX);
		return -CSX_EINVAL;
	}
	if (!size || size > CSX_STATE_MAX_SIZE) {
		csx_err("csx_state_open(%s): size %zu not in 1..%u", name, size,
			CSX_STATE_MAX_SIZE);
		return -CSX_EINVAL;
	}
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (!csx__core_ready())
		return csx__not_ready(__func__);
	st = csx__zalloc(sizeof(*st));
	if (!st)
		return -CSX_ENOMEM;
	csx__strlcpy(st->name, name, sizeof(st->name));
	st->size = size;
	st->open_version = version;
	st->version = version;
	st->data = csx__zalloc((size + 7) & ~(size_t)7);
	ret = -CSX_ENOMEM;
	if (!st->data || csx_os_mutex_create(&st->lock))
		goto out_free;
	ret = -CSX_EBUSY;
	if (!csx__state_link(st)) {
		csx_err("csx_state_open(%s): already open in this address "
			"space",
			name);
		goto out_free;
	}
	ret = csx__state_attach(st);
	if (ret) {
		csx_err("csx_state_open(%s): %s", name, csx_strerror(ret));
		csx__state_unlink(st);
		goto out_free;
	}
	if (st->origin != CSX_STATE_RESTORED) {
		__builtin_memset(st->data, 0, size);
		st->version = version;
	} else {
		csx_info("saved state %s: restored commit %llu (version %u)",
			 name, (unsigned long long)st->seq,
			 (unsigned int)st->version);
	}
	st->magic = CSX__MAGIC_STATE;
	csx__live_inc(CSX__T_STATE);
	*out = st;
	return 0;

out_free:
	if (st->lock)
		csx_os_mutex_destroy(st->lock);
	csx__free(st->data);
	csx__free(st);
	return ret;
}

enum csx_state_origin csx_state_origin(struct csx_state *st)
{
	if (!csx__magic_ok(st, CSX__MAGIC_STATE)) {
		csx__bad_handle(__func__, st);
		return CSX_STATE_NEW;
	}
	return st->origin;
}

uint32_t csx_state_version(struct csx_state *st)
{
	uint32_t v;

	if (!csx__magic_ok(st, CSX__MAGIC_STATE)) {
		csx__bad_handle(__func__, st);
		return 0;
	}
	csx_os_mutex_lock(st->lock);
	v = st->version;
	csx_os_mutex_unlock(st->lock);
	return v;
}

uint64_t csx_state_generation(struct csx_state *st)
{
	uint64_t g;

	if (!csx__magic_ok(st, CSX__MAGIC_STATE)) {
		csx__bad_handle(__func__, st);
		return 0;
	}
	csx_os_mutex_lock(st->lock);
	g = st->seq;
	csx_os_mutex_unlock(st->lock);
	return g;
}

void *csx_state_data(struct csx_state *st)
{
	if (!csx__magic_ok(st, CSX__MAGIC_STATE)) {
		csx__bad_handle(__func__, st);
		return NULL;
	}
	return st->data;
}

int csx_state_commit(struct csx_state *st)
{
	int ret;

	if (!csx__magic_ok(st, CSX__MAGIC_STATE))
		return csx__bad_handle(__func__, st);
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	csx_os_mutex_lock(st->lock);
	csx__state_write(st, st->open_version);
	st->version = st->open_version;
	csx_os_mutex_unlock(st->lock);
	return 0;
}

void csx_state_close(struct csx_state *st, bool keep)
{
	if (!st)
		return;
	if (!csx__magic_ok(st, CSX__MAGIC_STATE)) {
		csx__bad_handle(__func__, st);
		return;
	}
	if (csx__might_sleep(__func__))
		return;
	csx__magic_set(st, CSX__MAGIC_DEAD);
	csx__state_unlink(st);
	csx_os_state_put(st->os, !keep);
	csx_os_mutex_destroy(st->lock);
	csx__free(st->data);
	csx__retire(st);
	csx__live_dec(CSX__T_STATE);
}
