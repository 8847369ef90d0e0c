// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * csx_helper.ko: the generic ISR, the interrupt wait and the watchdog.
 *
 * The ISR knows nothing of the device. INTx: it checks the interrupt
 * status bit (pci_check_and_mask_intx(), which also masks the line with
 * INTx-disable), MSI: nothing to check or mask. Then it reads the snapshot
 * register, counts, arms the watchdog and wakes the waiter straight from
 * hard interrupt context. An interrupt is "ended" when the process
 * unmasks it (INTx, CSX_KH_WAIT_UNMASK) or consumes it with a wait (MSI);
 * one left un-ended for the watchdog time masks the line (INTx: stays
 * masked; MSI: disable_irq_nosync()) until the next CSX_KH_WAIT_UNMASK.
 *
 * Counters, flags and the command register's INTx-disable bit are
 * changed under f->ilock (irqsave); attach and detach also hold f->lock.
 */
#define pr_fmt(fmt) "csx_helper: " fmt

#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/jiffies.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "csx_helper.h"

static u64 kh_snap_read(struct kh_file *f)
{
	switch (f->snap_width) {
	case 1:
		return readb(f->snap);
	case 2:
		return readw(f->snap);
	case 4:
		return readl(f->snap);
	case 8:
		return readq(f->snap);
	}
	return 0;
}

/* Start the watchdog for a delivered, not yet ended interrupt. */
static void kh_wd_arm(struct kh_file *f)
{
	if (f->attached && f->wd_ms && !timer_pending(&f->wd))
		mod_timer(&f->wd, jiffies + msecs_to_jiffies(f->wd_ms));
}

static irqreturn_t kh_isr(int irq, void *data)
{
	struct kh_file *f = data;

	spin_lock(&f->ilock);
	f->isr_calls++;
	if (!f->msi) {
		if (!pci_check_and_mask_intx(f->ipdev)) {
			f->not_ours++;
			spin_unlock(&f->ilock);
			return IRQ_NONE;
		}
		f->masked = true;
	}
	if (f->snap)
		f->snapshot = kh_snap_read(f);
	f->delivered++;
	kh_wd_arm(f);
	spin_unlock(&f->ilock);
	wake_up(&f->wq);
	return IRQ_HANDLED;
}

static void kh_wd_fn(struct timer_list *t)
{
	struct kh_file *f = from_timer(f, t, wd);
	unsigned long flags;
	bool trip = false;
	char name[32];
	unsigned int ms = 0;

	spin_lock_irqsave(&f->ilock, flags);
	if (f->attached) {
		if (f->msi) {
			if (f->delivered != f->consumed && !f->irq_disabled) {
				disable_irq_nosync(f->irq);
				f->irq_disabled = true;
				trip = true;
			}
		} else if (f->masked) {
			/* Already masked by the ISR: it stays so. */
			trip = true;
		}
	}
	if (trip) {
		f->trips++;
		f->wd_event = true;
		strscpy(name, pci_name(f->ipdev), sizeof(name));
		ms = f->wd_ms;
	}
	spin_unlock_irqrestore(&f->ilock, flags);
	if (trip) {
		pr_err("%s: owner pid %d did not end interrupt in %u ms: interrupt masked\n",
		       name, f->owner_pid, ms);
		wake_up(&f->wq);
	}
}

void kh_intr_init(struct kh_file *f)
{
	spin_lock_init(&f->ilock);
	init_waitqueue_head(&f->wq);
	timer_setup(&f->wd, kh_wd_fn, 0);
}

void kh_intr_cmd_update(struct kh_file *f, u16 mask, u16 val)
{
	struct pci_dev *pdev = f->claim->pdev;
	unsigned long flags;
	u16 cmd, new;

	spin_lock_irqsave(&f->ilock, flags);
	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	new = (cmd & ~mask) | (val & mask);
	if (new != cmd)
		pci_write_config_word(pdev, PCI_COMMAND, new);
	spin_unlock_irqrestore(&f->ilock, flags);
}

void kh_intr_set_master(struct kh_file *f, bool on)
{
	unsigned long flags;

	spin_lock_irqsave(&f->ilock, flags);
	if (on)
		pci_set_master(f->claim->pdev);
	else
		pci_clear_master(f->claim->pdev);
	spin_unlock_irqrestore(&f->ilock, flags);
}

static u32 kh_irq_kinds(struct pci_dev *pdev)
{
	u32 k = 0;

	if (pdev->pin && pdev->irq)
		k |= CSX_KH_IRQ_INTX;
	if (IS_ENABLED(CONFIG_PCI_MSI) && pdev->msi_cap && !pdev->no_msi &&
	    pci_msi_enabled())
		k |= CSX_KH_IRQ_MSI;
	return k;
}

long kh_intr_attach(struct kh_file *f, struct csx_kh_intr_attach *a,
		    const char **why)
{
	struct pci_dev *pdev = f->claim->pdev;
	u32 kinds = kh_irq_kinds(pdev);
	unsigned int irq_flags = 0;
	void __iomem *map = NULL;
	unsigned long flags;
	u64 page = 0;
	char *name;
	int ret;

	if (a->reserved) {
		*why = "reserved field not zero";
		return -EINVAL;
	}
	if (f->attached) {
		*why = "interrupt attached already";
		return -EBUSY;
	}
	switch (a->mode) {
	case CSX_KH_MODE_ANY:
		if (kinds & CSX_KH_IRQ_MSI)
			irq_flags |= PCI_IRQ_MSI;
		if (kinds & CSX_KH_IRQ_INTX)
			irq_flags |= PCI_IRQ_LEGACY;
		break;
	case CSX_KH_MODE_MSI:
		if (kinds & CSX_KH_IRQ_MSI)
			irq_flags = PCI_IRQ_MSI;
		break;
	case CSX_KH_MODE_INTX:
		if (kinds & CSX_KH_IRQ_INTX)
			irq_flags = PCI_IRQ_LEGACY;
		break;
	default:
		*why = "unknown mode";
		return -EINVAL;
	}
	if (!irq_flags) {
		*why = "interrupt mode not offered by the device";
		return -ENODEV;
	}

	if (a->snap_width) {
		u32 bar = a->snap_bar;
		u64 len, off = a->snap_offset, w = a->snap_width;

		if (w != 1 && w != 2 && w != 4 && w != 8) {
			*why = "snapshot width not 0, 1, 2, 4 or 8";
			return -EINVAL;
		}
		if (bar >= PCI_STD_NUM_BARS ||
		    !(pci_resource_flags(pdev, bar) & IORESOURCE_MEM)) {
			*why = "snapshot BAR is not a memory BAR";
			return -EINVAL;
		}
		len = pci_resource_len(pdev, bar);
		if (off & (w - 1)) {
			*why = "snapshot offset misaligned";
			return -EINVAL;
		}
		if (len < w || off > len - w) {
			*why = "snapshot offset outside the BAR";
			return -EINVAL;
		}
		page = off & PAGE_MASK;
		map = pci_iomap_range(pdev, bar, page,
				      min_t(u64, len - page, PAGE_SIZE));
		if (!map) {
			*why = "cannot map the snapshot register";
			return -ENOMEM;
		}
	}

	name = kasprintf(GFP_KERNEL, KH_NAME ":%s", pci_name(pdev));
	if (!name) {
		*why = "out of memory";
		ret = -ENOMEM;
		goto err_unmap;
	}
	ret = pci_alloc_irq_vectors(pdev, 1, 1, irq_flags);
	if (ret < 0) {
		*why = "pci_alloc_irq_vectors failed";
		ret = -ENODEV;
		goto err_name;
	}

	ret = pci_irq_vector(pdev, 0); /* takes a mutex */
	if (ret < 0) {
		*why = "no interrupt vector";
		ret = -ENODEV;
		goto err_vec;
	}
	spin_lock_irqsave(&f->ilock, flags);
	f->ipdev = pdev;
	f->msi = pdev->msi_enabled;
	f->irq = ret;
	f->snap_map = map;
	f->snap = map ? map + (a->snap_offset - page) : NULL;
	f->snap_width = a->snap_width;
	f->wd_ms = a->watchdog_ms ? a->watchdog_ms : kh_watchdog_ms;
	/* Allocating INTx "vectors" unmasks INTx: mask until requested. */
	if (!f->msi)
		pci_intx(pdev, 0);
	f->masked = !f->msi;
	f->irq_disabled = false;
	f->kick = false;
	f->wd_event = false;
	f->consumed = f->delivered;
	f->attached = true;
	f->attach_gen++;
	f->irq_name = name;
	spin_unlock_irqrestore(&f->ilock, flags);

	ret = request_irq(f->irq, kh_isr, f->msi ? 0 : IRQF_SHARED, name, f);
	if (ret) {
		spin_lock_irqsave(&f->ilock, flags);
		f->attached = false;
		f->masked = false;
		f->snap = NULL;
		f->snap_map = NULL;
		f->irq_name = NULL;
		spin_unlock_irqrestore(&f->ilock, flags);
		*why = "request_irq failed";
		goto err_vec;
	}
	if (!f->msi) {
		spin_lock_irqsave(&f->ilock, flags);
		pci_intx(pdev, 1);
		f->masked = false;
		spin_unlock_irqrestore(&f->ilock, flags);
	}
	a->is_msi = f->msi;
	a->irq = f->irq;
	return 0;

err_vec:
	pci_free_irq_vectors(pdev);
	pci_intx(pdev, 0);
err_name:
	kfree(name);
err_unmap:
	if (map)
		pci_iounmap(pdev, map);
	return ret;
}

/* f->lock held. Wakes and fails a waiter; safe when nothing is attached. */
void kh_intr_detach(struct kh_file *f)
{
	struct pci_dev *pdev = f->ipdev;
	void __iomem *map;
	unsigned long flags;
	char *name;

	if (!f->attached)
		return;
	spin_lock_irqsave(&f->ilock, flags);
	if (f->irq_disabled) {
		enable_irq(f->irq);
		f->irq_disabled = false;
	}
	f->attached = false;
	spin_unlock_irqrestore(&f->ilock, flags);
	wake_up_all(&f->wq);

	free_irq(f->irq, f); /* waits for a running ISR */
	del_timer_sync(&f->wd);
	pci_free_irq_vectors(pdev);
	/* Freeing MSI turns INTx back on: the helper keeps it masked. */
	pci_intx(pdev, 0);

	spin_lock_irqsave(&f->ilock, flags);
	f->masked = false;
	map = f->snap_map;
	f->snap_map = NULL;
	f->snap = NULL;
	name = f->irq_name;
	f->irq_name = NULL;
	spin_unlock_irqrestore(&f->ilock, flags);
	if (map)
		pci_iounmap(pdev, map);
	kfree(name);
}

/* ilock held: end the previous interrupt (CSX_KH_WAIT_UNMASK). */
static void kh_end_locked(struct kh_file *f)
{
	if (!f->msi) {
		if (!f->masked)
			return;
		if (pci_check_and_unmask_intx(f->ipdev)) {
			f->masked = false;
			del_timer(&f->wd);
		} else {
			/* Still asserted: a level line fires again. */
			if (f->snap)
				f->snapshot = kh_snap_read(f);
			f->delivered++;
			kh_wd_arm(f);
		}
	} else if (f->irq_disabled) {
		enable_irq(f->irq);
		f->irq_disabled = false;
	}
}

/* ilock held: what a wait reports now, consuming it. */
static u32 kh_collect_locked(struct kh_file *f)
{
	u32 ev = 0;

	if (f->delivered != f->consumed) {
		f->consumed = f->delivered;
		ev |= CSX_KH_EV_INTR;
		if (f->msi)
			del_timer(&f->wd);
	}
	if (f->kick) {
		f->kick = false;
		ev |= CSX_KH_EV_KICK;
	}
	if (f->wd_event) {
		f->wd_event = false;
		ev |= CSX_KH_EV_WATCHDOG;
	}
	return ev;
}

static bool kh_wait_cond(struct kh_file *f, unsigned int gen)
{
	unsigned long flags;
	bool r;

	spin_lock_irqsave(&f->ilock, flags);
	r = !f->attached || f->attach_gen != gen ||
	    f->delivered != f->consumed || f->kick || f->wd_event;
	spin_unlock_irqrestore(&f->ilock, flags);
	return r;
}

long kh_intr_wait(struct kh_file *f, struct csx_kh_intr_wait *w,
		  const char **why)
{
	unsigned long flags;
	unsigned int gen;
	long ret, r;
	u32 ev;

	if (w->flags & ~(CSX_KH_WAIT_UNMASK | CSX_KH_WAIT_NONBLOCK)) {
		*why = "unknown flags";
		return -EINVAL;
	}
	mutex_lock(&f->lock);
	ret = kh_need_claim(f, why);
	if (!ret && !f->attached) {
		*why = "no interrupt attached";
		ret = -ENOTCONN;
	}
	if (ret) {
		mutex_unlock(&f->lock);
		return ret;
	}
	spin_lock_irqsave(&f->ilock, flags);
	if (f->waiting) {
		spin_unlock_irqrestore(&f->ilock, flags);
		mutex_unlock(&f->lock);
		*why = "another thread is waiting";
		return -EBUSY;
	}
	if (w->flags & CSX_KH_WAIT_UNMASK)
		kh_end_locked(f);
	ev = kh_collect_locked(f);
	gen = f->attach_gen;
	if (!ev && !(w->flags & CSX_KH_WAIT_NONBLOCK))
		f->waiting = true;
	w->count = f->delivered;
	w->snapshot = f->snapshot;
	spin_unlock_irqrestore(&f->ilock, flags);
	mutex_unlock(&f->lock);

	if (!ev) {
		if (w->flags & CSX_KH_WAIT_NONBLOCK)
			return -ETIMEDOUT; /* not logged: a result */
		if (!w->timeout_ms)
			r = wait_event_interruptible(f->wq,
						     kh_wait_cond(f, gen));
		else
			r = wait_event_interruptible_timeout(
				f->wq, kh_wait_cond(f, gen),
				msecs_to_jiffies(w->timeout_ms));
		spin_lock_irqsave(&f->ilock, flags);
		f->waiting = false;
		if (!f->attached || f->attach_gen != gen) {
			ret = -ENOTCONN;
			*why = "interrupt detached while waiting";
		} else {
			ev = kh_collect_locked(f);
			if (!ev)
				ret = r < 0 ? -EINTR : -ETIMEDOUT;
		}
		w->count = f->delivered;
		w->snapshot = f->snapshot;
		spin_unlock_irqrestore(&f->ilock, flags);
	}
	w->events = ev;
	return ret;
}

long kh_intr_kick(struct kh_file *f, const char **why)
{
	unsigned long flags;
	long ret;

	mutex_lock(&f->lock);
	ret = kh_need_claim(f, why);
	if (!ret && !f->attached) {
		*why = "no interrupt attached";
		ret = -ENOTCONN;
	}
	if (!ret) {
		spin_lock_irqsave(&f->ilock, flags);
		f->kick = true;
		spin_unlock_irqrestore(&f->ilock, flags);
		wake_up(&f->wq);
	}
	mutex_unlock(&f->lock);
	return ret;
}

long kh_intr_status(struct kh_file *f, struct csx_kh_intr_status *s,
		    const char **why)
{
	unsigned long flags;
	long ret;

	mutex_lock(&f->lock);
	ret = kh_need_claim(f, why);
	if (!ret) {
		spin_lock_irqsave(&f->ilock, flags);
		s->masked =
			f->attached && (f->msi ? f->irq_disabled : f->masked);
		s->isr_calls = f->isr_calls;
		s->delivered = f->delivered;
		s->not_ours = f->not_ours;
		s->watchdog_trips = f->trips;
		spin_unlock_irqrestore(&f->ilock, flags);
	}
	mutex_unlock(&f->lock);
	return ret;
}

__poll_t kh_intr_poll(struct kh_file *f, struct file *file,
		      struct poll_table_struct *pt)
{
	unsigned long flags;
	__poll_t mask = 0;

	poll_wait(file, &f->wq, pt);
	spin_lock_irqsave(&f->ilock, flags);
	if (f->attached && f->delivered != f->consumed)
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock_irqrestore(&f->ilock, flags);
	return mask;
}

u32 kh_intr_kinds(struct pci_dev *pdev)
{
	return kh_irq_kinds(pdev);
}
