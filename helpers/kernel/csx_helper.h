/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx_helper.ko private header: the state of one open /dev/csx file.
 *
 * Locks, outermost first:
 *   kh_claim_mutex (global)  claims and device unbinding
 *   device_lock(pdev)        the driver core's (probe, remove)
 *   f->lock                  the file: every ioctl, mmap, page fault of
 *                            a mapping, remove()
 *   f->ilock (irqsave)       state shared with the ISR and the watchdog
 * Upcalls (csx_helper_upcall.c) have their own locks, never nested with
 * these: kh_up_mutex (exports) and each file's upcall queue lock.
 * Shared buffers (csx_helper_shbuf.c) too: kh_sb_mutex (grants), then
 * f->sb_lock (the file's table), which mmap(2) takes under mmap_lock.
 * Nothing copies from or to user memory under f->lock: mmap(2) and the
 * mappings' faults take f->lock under mmap_lock, and a user copy may fault
 * (mmap_lock).
 */
#ifndef CSX_HELPER_H
#define CSX_HELPER_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "csx_kh_abi.h"

#define KH_NAME "csx_helper"

extern unsigned int kh_watchdog_ms;

/* A claimed device. Freed by the file's release of it. */
struct kh_claim {
	struct pci_dev *pdev;
	struct kh_file *f;
	/* Probe ran for this claim; its result. */
	bool probed;
	int probe_err;
	/* remove() ran: the device is no longer ours (ioctls: -ENODEV). */
	bool dead;
	/* The file let go of it (remove() then does nothing). */
	bool released;
	/* Config bytes 0x40..0xff a caller must not write (bit per byte). */
	DECLARE_BITMAP(cfg_protect, 256);
};

/* A DMA buffer: referenced by the file's idr and by each mapping. */
struct kh_dma {
	struct kref ref;
	struct list_head node; /* f->dma_list, under f->dma_mutex */
	struct kh_file *f;
	struct device *dev; /* get_device() reference */
	void *cpu;	    /* NULL once freed early (remove()) */
	dma_addr_t bus;
	size_t size; /* page multiple */
};

/*
 * A shared buffer (csx_helper_shbuf.c; csx.ko names it in
 * csx_kh_upcall.h). Referenced by each table entry naming it, each
 * mapping, each call in progress and, for a kernel module's buffer, by
 * the module until csx_kh_shbuf_free() and by each upcall carrying it.
 */
struct csx_kh_shmem {
	struct kref ref;
	void *mem;   /* vmalloc_user(), zeroed */
	size_t size; /* page multiple */
	/*
	 * The allocating file's byte count (own buffers), NULL for a kernel
	 * module's. Every reference to an own buffer holds the file open
	 * (table, mappings, the file's own ioctls), so it outlives none.
	 */
	atomic64_t *acct;
	/* Under kh_sb_mutex: entries granting it to files; freed by csx.ko. */
	struct list_head grants;
	bool revoked;
};

struct csx_chan;
struct kh_svc_chan;
struct kh_up_file;

struct kh_file {
	struct mutex lock;
	struct kh_claim *claim;
	bool claiming;
	pid_t owner_pid;
	/* Private address space, so remove() can zap every mapping. */
	struct inode *inode;
	/* Live mappings (BAR and DMA) of this file. */
	atomic_t maps;
	/*
	 * Bumped by each claim (under lock): a BAR mapping remembers its
	 * claim's, so one revoked with a dead claim stays dead once the file
	 * claims again.
	 */
	unsigned long claim_gen;
	struct idr dma_idr; /* under lock */
	atomic64_t dma_bytes;
	/* Every live buffer, also those freed by id but still mapped. */
	struct mutex dma_mutex;
	struct list_head dma_list;

	/* Interrupt: attach state under lock and ilock, counters ilock. */
	spinlock_t ilock;
	wait_queue_head_t wq;
	struct timer_list wd;
	bool attached;
	bool msi;
	struct pci_dev *ipdev;
	unsigned int irq;
	char *irq_name;
	unsigned int attach_gen;
	void __iomem *snap_map; /* page mapping of the snapshot register */
	void __iomem *snap;
	unsigned int snap_width;
	unsigned int wd_ms;
	bool masked;	   /* INTx held masked by the helper */
	bool irq_disabled; /* MSI disabled by the watchdog */
	bool waiting;
	bool kick;
	bool wd_event;
	u64 isr_calls, delivered, consumed, not_ours, trips, snapshot;

	/*
	 * Service channels (csx_helper_svc.c), under lock; CALL looks @svc
	 * up under RCU instead. svc_nchan counts channels and opens in
	 * progress; while it is not zero the file holds csx.ko's entry points
	 * (symbol_get), so csx.ko stays loaded.
	 */
	struct kh_svc_chan __rcu *svc[CSX_KH_SVC_MAX];
	u32 svc_gen;
	unsigned int svc_nchan;
	int (*svc_open)(const char *name, uint32_t min_version, bool same_user,
			struct csx_chan **out);
	int (*svc_call)(struct csx_chan *chan, uint32_t op, const void *in,
			size_t in_len, void *out, size_t out_cap,
			size_t *out_len, int64_t timeout_ns);
	int (*svc_call_mapped)(struct csx_chan *chan, uint32_t op,
			       const void *in, size_t in_len, void *out,
			       size_t out_cap, size_t *out_len);
	void (*svc_close)(struct csx_chan *chan);
	uint32_t (*svc_version)(struct csx_chan *chan);
	int (*svc_watch)(struct csx_chan *chan, void (*fn)(void *ctx),
			 void *ctx);
	/* Death notices (SVC_GONE): counts under lock, read by waiters. */
	wait_queue_head_t svc_gone_wq;
	unsigned long svc_gone_seq, svc_gone_kick;

	/*
	 * Kernel -> user calls (csx_helper_upcall.c): the file's exports and
	 * the queue its SERVE threads take calls from. Its own object, as
	 * kernel callers may still hold it after the file is gone.
	 */
	struct kh_up_file *up;

	/*
	 * Shared buffers (csx_helper_shbuf.c): id -> struct kh_sb_entry,
	 * ids never reused while the file is open; granted buffers that
	 * csx.ko freed wait in sb_gone until SVC_SERVE2 reports them.
	 */
	struct mutex sb_lock;
	struct xarray sb_table; /* under sb_lock */
	unsigned int sb_count;
	u32 sb_last_id;
	struct list_head sb_gone;
	atomic64_t sb_own_bytes;
};

/* csx_helper_main.c: CLAIM's privilege (CAP_SYS_RAWIO or the group). */
bool kh_privileged(void);

/* csx_helper_intr.c */
void kh_intr_init(struct kh_file *f);
long kh_intr_attach(struct kh_file *f, struct csx_kh_intr_attach *a,
		    const char **why);
void kh_intr_detach(struct kh_file *f);
long kh_intr_wait(struct kh_file *f, struct csx_kh_intr_wait *w,
		  const char **why);
long kh_intr_kick(struct kh_file *f, const char **why);
long kh_intr_status(struct kh_file *f, struct csx_kh_intr_status *s,
		    const char **why);
__poll_t kh_intr_poll(struct kh_file *f, struct file *file,
		      struct poll_table_struct *pt);
u32 kh_intr_kinds(struct pci_dev *pdev);
/* Command register updates, serialized with the ISR's INTx masking. */
void kh_intr_cmd_update(struct kh_file *f, u16 mask, u16 val);
void kh_intr_set_master(struct kh_file *f, bool on);

/* csx_helper_dma.c */
long kh_dma_alloc(struct kh_file *f, struct csx_kh_dma *d, const char **why);
long kh_dma_free(struct kh_file *f, u32 id, const char **why);
void kh_dma_free_all(struct kh_file *f, bool memory_now);
int kh_dma_mmap(struct kh_file *f, struct vm_area_struct *vma, u32 id);
int kh_bar_mmap(struct kh_file *f, struct vm_area_struct *vma, u32 bar);

/*
 * csx_helper_svc.c: service calls. Each takes f->lock itself and copies
 * nothing under it; CALL copies the payloads from and to user memory.
 */
long kh_svc_open(struct kh_file *f, struct csx_kh_svc_open *a,
		 const char **why);
long kh_svc_call(struct kh_file *f, struct csx_kh_svc_call *a,
		 const char **why);
long kh_svc_gone(struct kh_file *f, struct csx_kh_svc_gone *a,
		 const char **why);
void kh_svc_gone_kick(struct kh_file *f);
long kh_svc_close(struct kh_file *f, struct csx_kh_svc_close *a,
		  const char **why);
/* The file's release: waits for calls in progress, closes every channel. */
void kh_svc_close_all(struct kh_file *f);
/* "module/service", printable, no blanks (csx_service.h's rule). */
bool kh_svc_name_ok(const char *name);

/*
 * csx_helper_upcall.c: kernel -> user calls. kh_up_init() at open (may
 * fail: -ENOMEM), kh_up_release() at release: every export of the file
 * dies and every kernel caller waiting on it returns -CSX_EPEERDIED.
 * SERVE copies its structure back to @uarg itself (a request it hands out
 * must not get lost in a failing copy): SVC_SERVE's (@v2 false: the
 * prefix of @a) or SVC_SERVE2's.
 */
int kh_up_init(struct kh_file *f);
void kh_up_release(struct kh_file *f);
long kh_up_export(struct kh_file *f, struct csx_kh_svc_export_opts *a,
		  const char **why);
long kh_up_unexport(struct kh_file *f, struct csx_kh_svc_unexport *a,
		    const char **why);
long kh_up_serve(struct kh_file *f, struct csx_kh_svc_serve2 *a, bool v2,
		 void __user *uarg, const char **why);
long kh_up_kick(struct kh_file *f, const char **why);

/*
 * csx_helper_shbuf.c: shared buffers. kh_sb_init() at open,
 * kh_sb_release() at release, after kh_up_release() (no SERVE2 runs).
 * kh_sb_get() takes a reference for a call (NULL: no such id),
 * kh_sb_put() drops it. kh_sb_grant(): enter a kernel module's buffer in
 * the file's table once (0, -ENOSPC, -ENOMEM, -ENOENT: freed meanwhile).
 * kh_sb_gone_take() moves up to CSX_KH_SERVE_GONE_MAX gone ids to @ids
 * and their records to @taken; kh_sb_gone_done() frees them once @told,
 * else puts them back (SVC_SERVE2's copy-out failed).
 */
void kh_sb_init(struct kh_file *f);
void kh_sb_release(struct kh_file *f);
long kh_sb_alloc(struct kh_file *f, struct csx_kh_shbuf *a, const char **why);
long kh_sb_free(struct kh_file *f, struct csx_kh_shbuf *a, const char **why);
int kh_sb_mmap(struct kh_file *f, struct vm_area_struct *vma, const char **why);
struct csx_kh_shmem *kh_sb_get(struct kh_file *f, u32 id);
void kh_sb_put(struct csx_kh_shmem *sb);
int kh_sb_grant(struct kh_file *f, struct csx_kh_shmem *sb, u32 *id);
u32 kh_sb_gone_take(struct kh_file *f, struct list_head *taken, u32 *ids);
void kh_sb_gone_done(struct kh_file *f, struct list_head *taken, bool told);

/* csx_helper_svc.c: SVC_CALL_SHBUF. */
long kh_svc_call_shbuf(struct kh_file *f, struct csx_kh_svc_call_shbuf *a,
		       const char **why);

/* Common checks for ioctls on a claimed device (f->lock held). */
static inline long kh_need_claim(struct kh_file *f, const char **why)
{
	if (!f->claim) {
		*why = "no device claimed";
		return -ENXIO;
	}
	if (f->claim->dead) {
		*why = "device was removed";
		return -ENODEV;
	}
	return 0;
}

#endif /* CSX_HELPER_H */
