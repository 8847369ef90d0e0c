// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: memory, and the deferred release of things that must
 * sleep to be released but are released from atomic context.
 */
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

static void csx_k_vfree_deferred(struct csx_k_deferred *d)
{
	vfree(d);
}

void csx_os_free(void *ptr)
{
	if (!is_vmalloc_addr(ptr)) {
		kfree(ptr);
		return;
	}
	/*
	 * vfree() may sleep outside interrupts. A vmalloc'ed block is at
	 * least a page, so it has room for its own deferral record.
	 */
	if (csx_k_may_sleep())
		vfree(ptr);
	else
		csx_k_defer(ptr, csx_k_vfree_deferred);
}

/* ---- Deferred release ---------------------------------------------------- */

static LLIST_HEAD(csx_k_deferred_list);

static void csx_k_deferred_work(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&csx_k_deferred_list);
	struct csx_k_deferred *d, *next;

	llist_for_each_entry_safe(d, next, list, node)
		d->fn(d);
}

static DECLARE_WORK(csx_k_deferred_wk, csx_k_deferred_work);

void csx_k_defer(struct csx_k_deferred *d,
		 void (*fn)(struct csx_k_deferred *d))
{
	d->fn = fn;
	/* Only the first entry of an empty list needs to schedule the work. */
	if (llist_add(&d->node, &csx_k_deferred_list))
		schedule_work(&csx_k_deferred_wk);
}

void csx_k_defer_flush(void)
{
	flush_work(&csx_k_deferred_wk);
	/* An entry added while the work ran may have rescheduled it. */
	flush_work(&csx_k_deferred_wk);
	csx_k_deferred_work(NULL);
}
