/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-kernel: what the back end's files share with each other
 * (never seen by the core or by drivers).
 */
#ifndef CSX_KERNEL_H
#define CSX_KERNEL_H

#include <linux/atomic.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/workqueue.h>
#include <linux/irqflags.h>

/* The status codes the hooks return come with csx.h. */
#include <csx/csx.h>
#include <csx/csx_os.h>

/*
 * Depth of CSX atomic sections (spinlocks, interrupt holds, CPU holds) on
 * this CPU. Such a section never sleeps and never migrates, so a per-CPU
 * count is the holder's count. It makes csx_os_context() right even on
 * kernels without CONFIG_PREEMPT_COUNT, where preempt_count() does not
 * see spin_lock().
 */
DECLARE_PER_CPU(unsigned int, csx_k_atomic_depth);

static inline void csx_k_atomic_enter(void)
{
	this_cpu_inc(csx_k_atomic_depth);
}

static inline void csx_k_atomic_exit(void)
{
	this_cpu_dec(csx_k_atomic_depth);
}

/*
 * The interrupt whose ISR runs on this CPU (csx_os_intr.c), so that
 * csx_os_intr_disable() from that ISR is a no-op and csx_os_context()
 * reports ISR even for a force-threaded handler.
 */
struct csx_os_intr;
DECLARE_PER_CPU(struct csx_os_intr *, csx_k_cur_intr);

/* May the caller sleep? (csx_os_context() without ATOMIC.) */
bool csx_k_may_sleep(void);

/* Free every saved-state region (csx_os_state.c); csx.ko goes. */
void csx_k_state_fini(void);

/* Wait for vmalloc'ed blocks freed from atomic context (csx_os_mem.c). */
void csx_k_mem_fini(void);

/*
 * Lockdep classes per object. The core creates every lock through one call
 * site, so the kernel's per-call-site classes would put all CSX locks of a
 * kind in one class and call any nesting of two of them recursive locking.
 * A key per object gives lockdep the truth instead.
 *
 * Removing a key waits for an RCU grace period, which would make every
 * destroy slow (seconds per driver reload on a debug kernel) and is not
 * allowed in atomic context; so the object is released from a work item,
 * many in parallel, and csx_os_fini() waits for them. Without
 * CONFIG_LOCKDEP the key is empty and release is kfree().
 */
struct csx_k_keyed {
	struct lock_class_key key;
	struct work_struct release;
	void *obj; /* what to kfree() once the key is gone */
};

void csx_k_keyed_init(struct csx_k_keyed *k, void *obj);
/* Free @k's object (any context); its lock must be idle and unused. */
void csx_k_keyed_free(struct csx_k_keyed *k);
int csx_k_keyed_start(void);
void csx_k_keyed_stop(void);

/*
 * A bound PCI device (csx_os_dev.c); csx_os_intr.c allocates its vectors.
 */
#define CSX_K_BARS 6
struct pci_dev;
struct csx_k_driver;
struct csx_os_dev {
	struct pci_dev *pdev;
	struct csx_k_driver *kd;
	struct csx_device *core;
	void __iomem *bar[CSX_K_BARS];
	u64 bar_len[CSX_K_BARS];
	/* The binding's reference plus one per DMA buffer. */
	atomic_t refs;
};

/* Check the intr_mode module parameter (csx_os_intr.c). */
int csx_k_intr_init(void);

#endif /* CSX_KERNEL_H */
