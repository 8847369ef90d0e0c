/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-kernel: what the back end's files share with each other
 * (never seen by the core or by drivers).
 */
#ifndef CSX_KERNEL_H
#define CSX_KERNEL_H

#include <linux/atomic.h>
#include <linux/llist.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/irqflags.h>

/* csx.h first: csx_os.h does not declare struct csx_timer itself. */
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

/*
 * Deferred release (csx_os_mem.c): work that must sleep (vfree, lockdep key
 * removal) but is asked for from atomic context runs later from a work
 * item; csx_os_fini() waits for all of it.
 */
struct csx_k_deferred {
	struct llist_node node;
	void (*fn)(struct csx_k_deferred *d);
};

void csx_k_defer(struct csx_k_deferred *d,
		 void (*fn)(struct csx_k_deferred *d));
void csx_k_defer_flush(void);

/*
 * Lockdep classes per object. The core creates every lock through one call
 * site, so the kernel's per-call-site classes would put all CSX locks in
 * one class and call any nesting of two of them recursive locking. A key
 * per object gives lockdep the truth instead. Without CONFIG_LOCKDEP these
 * compile to nothing.
 */
static inline void csx_k_key_init(struct lock_class_key *key)
{
	lockdep_register_key(key);
}

/* Sleeps (RCU grace period) when lockdep is on. */
static inline void csx_k_key_fini(struct lock_class_key *key)
{
	lockdep_unregister_key(key);
}

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

/* Interrupt mode forced by the intr_mode module parameter (csx_os_intr.c). */
int csx_k_intr_init(void);

#endif /* CSX_KERNEL_H */
