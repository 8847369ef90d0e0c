// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: memory. Small blocks come from kmalloc; large ones may
 * come from vmalloc, whose free may sleep and is therefore deferred when
 * the caller is atomic.
 */
#include <linux/llist.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "csx_kernel.h"

void *csx_os_alloc(size_t size, bool atomic)
{
	if (atomic)
		return kmalloc(size, GFP_ATOMIC);
	/*
	 * Large blocks (service payloads reach 1 MiB) fall back to vmalloc
	 * rather than fail on a fragmented machine.
	 */
	return kvmalloc(size, GFP_KERNEL);
}

/* vmalloc'ed blocks freed from atomic context; each holds its own node. */
static LLIST_HEAD(csx_k_vfree_list);

static void csx_k_vfree_work(struct work_struct *work)
{
	struct llist_node *node = llist_del_all(&csx_k_vfree_list);

	while (node) {
		struct llist_node *next = node->next;

		vfree(node);
		node = next;
	}
}

static DECLARE_WORK(csx_k_vfree_wk, csx_k_vfree_work);

void csx_os_free(void *ptr)
{
	if (!is_vmalloc_addr(ptr)) {
		kfree(ptr);
		return;
	}
	if (csx_k_may_sleep()) {
		vfree(ptr);
		return;
	}
	/* A vmalloc'ed block is at least a page: room for the list node. */
	if (llist_add(ptr, &csx_k_vfree_list))
		schedule_work(&csx_k_vfree_wk);
}

void csx_k_mem_fini(void)
{
	flush_work(&csx_k_vfree_wk);
	/* Whatever was added while the work ran. */
	csx_k_vfree_work(NULL);
}
