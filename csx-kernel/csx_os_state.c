// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: saved-state regions (csx_state.h). csx.ko itself holds
 * them, by name, in vmalloc'ed memory: a driver module that is unloaded and
 * loaded again (or crashes its probe and is reloaded) gets its regions
 * back; they go when csx.ko is unloaded. The core lays out and checks the
 * contents; here a region is only bytes.
 */
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "csx_kernel.h"

/* Regions csx.ko keeps at most, and bytes in all of them together. */
#define CSX_K_STATE_MAX 256
#define CSX_K_STATE_BYTES (256ul << 20)

struct csx_os_state {
	struct list_head node;
	bool in_use; /* mapped by a handle now */
	void *mem;
	size_t size;
	char name[64];
};

static LIST_HEAD(csx_k_states);
static DEFINE_MUTEX(csx_k_states_lock);
static unsigned int csx_k_nstates;
static size_t csx_k_state_bytes;

static struct csx_os_state *csx_k_state_find(const char *name)
{
	struct csx_os_state *st;

	list_for_each_entry (st, &csx_k_states, node) {
		if (!strcmp(st->name, name))
			return st;
	}
	return NULL;
}

static void csx_k_state_free(struct csx_os_state *st)
{
	list_del(&st->node);
	csx_k_nstates--;
	csx_k_state_bytes -= st->size;
	vfree(st->mem);
	kfree(st);
}

int csx_os_state_get(const char *name, size_t size, struct csx_os_state **out,
		     void **mem, size_t *mem_size, bool *existed)
{
	struct csx_os_state *st;
	int ret = 0;

	*out = NULL;
	mutex_lock(&csx_k_states_lock);
	st = csx_k_state_find(name);
	if (st) {
		if (st->in_use) {
			ret = -CSX_EBUSY;
			goto out;
		}
		*existed = true;
	} else {
		*existed = false;
		if (csx_k_nstates >= CSX_K_STATE_MAX ||
		    size > CSX_K_STATE_BYTES - csx_k_state_bytes) {
			ret = -CSX_ENOSPC;
			goto out;
		}
		st = kzalloc(sizeof(*st), GFP_KERNEL);
		if (!st) {
			ret = -CSX_ENOMEM;
			goto out;
		}
		st->mem = vzalloc(size);
		if (!st->mem) {
			kfree(st);
			ret = -CSX_ENOMEM;
			goto out;
		}
		st->size = size;
		strscpy(st->name, name, sizeof(st->name));
		list_add_tail(&st->node, &csx_k_states);
		csx_k_nstates++;
		csx_k_state_bytes += size;
	}
	st->in_use = true;
	*out = st;
	*mem = st->mem;
	*mem_size = st->size;
out:
	mutex_unlock(&csx_k_states_lock);
	return ret;
}

void csx_os_state_put(struct csx_os_state *st, bool drop)
{
	mutex_lock(&csx_k_states_lock);
	st->in_use = false;
	if (drop)
		csx_k_state_free(st);
	mutex_unlock(&csx_k_states_lock);
}

void csx_k_state_fini(void)
{
	struct csx_os_state *st, *tmp;

	mutex_lock(&csx_k_states_lock);
	list_for_each_entry_safe (st, tmp, &csx_k_states, node)
		csx_k_state_free(st);
	mutex_unlock(&csx_k_states_lock);
}
