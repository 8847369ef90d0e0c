// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: interrupts. The ISR runs under the interrupt's spinlock;
 * csx_os_intr_disable() is spin_lock_irqsave() on it, made nestable per CPU.
 * Device lines come from pci_alloc_irq_vectors() + request_irq(); software
 * lines are hard irq_work items, so their ISR also runs in hard interrupt
 * context.
 */
#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "csx_kernel.h"

DEFINE_PER_CPU(struct csx_os_intr *, csx_k_cur_intr);

/* Never a flags word: x86 EFLAGS has reserved bits that read as 0. */
#define CSX_K_KEY_NOOP (~0UL)

/*
 * intr_mode=any|msi|intx: what CSX_INTR_ANY means. Drivers stay mode-free;
 * a test forces INTx (or MSI) through csx.ko instead.
 */
static char *csx_k_intr_mode = "any";
module_param_named(intr_mode, csx_k_intr_mode, charp, 0444);
MODULE_PARM_DESC(
	intr_mode,
	"What CSX_INTR_ANY attaches: any (MSI, else INTx), msi or intx");

static unsigned int csx_k_any_flags;

struct csx_os_intr {
	/* Held by the ISR and by whoever holds the interrupt disabled. */
	spinlock_t lock;
	/* CPU holding @lock through csx_os_intr_disable(), or -1. */
	int owner_cpu;
	/* Nesting of csx_os_intr_disable() on owner_cpu. */
	unsigned int depth;
	struct csx_intr *core;
	struct csx_os_dev *od; /* NULL for a software line */
	int irq;
	bool msi;
	bool dead; /* software line being detached: raise is ignored */
	struct irq_work work;
	struct csx_k_keyed keyed;
	char name[32];
};

int csx_k_intr_init(void)
{
	if (!strcmp(csx_k_intr_mode, "any")) {
		csx_k_any_flags = PCI_IRQ_MSI | PCI_IRQ_LEGACY;
	} else if (!strcmp(csx_k_intr_mode, "msi")) {
		csx_k_any_flags = PCI_IRQ_MSI;
	} else if (!strcmp(csx_k_intr_mode, "intx")) {
		csx_k_any_flags = PCI_IRQ_LEGACY;
	} else {
		pr_err("csx: intr_mode=%s: want any, msi or intx\n",
		       csx_k_intr_mode);
		return -CSX_EINVAL;
	}
	return 0;
}

static struct csx_os_intr *csx_k_intr_new(struct csx_intr *core)
{
	struct csx_os_intr *oi = kzalloc(sizeof(*oi), GFP_KERNEL);

	if (!oi)
		return NULL;
	csx_k_keyed_init(&oi->keyed, oi);
	spin_lock_init(&oi->lock);
	lockdep_set_class_and_name(&oi->lock, &oi->keyed.key, "csx_intr");
	oi->owner_cpu = -1;
	oi->core = core;
	return oi;
}

static void csx_k_intr_free(struct csx_os_intr *oi)
{
	csx_k_keyed_free(&oi->keyed);
}

/* Both kinds of line end here, in hard interrupt context. */
static enum csx_irqreturn csx_k_intr_run(struct csx_os_intr *oi)
{
	struct csx_os_intr *prev = this_cpu_read(csx_k_cur_intr);
	enum csx_irqreturn ret;

	this_cpu_write(csx_k_cur_intr, oi);
	spin_lock(&oi->lock);
	ret = csx__intr_dispatch(oi->core);
	spin_unlock(&oi->lock);
	this_cpu_write(csx_k_cur_intr, prev);
	return ret;
}

static irqreturn_t csx_k_isr(int irq, void *data)
{
	return csx_k_intr_run(data) == CSX_IRQ_HANDLED ? IRQ_HANDLED : IRQ_NONE;
}

static void csx_k_soft_isr(struct irq_work *work)
{
	struct csx_os_intr *oi = container_of(work, struct csx_os_intr, work);

	if (!READ_ONCE(oi->dead))
		csx_k_intr_run(oi);
}

/* PCI_IRQ_* types for CSX_INTR_* @flags. */
static unsigned int csx_k_irq_types(unsigned int flags)
{
	if (flags & CSX_INTR_MSI)
		return PCI_IRQ_MSI;
	if (flags & CSX_INTR_INTX)
		return PCI_IRQ_LEGACY;
	return csx_k_any_flags;
}

int csx_os_intr_attach(struct csx_os_dev *d, unsigned int flags,
		       struct csx_intr *core, struct csx_os_intr **out)
{
	struct pci_dev *pdev = d->pdev;
	struct csx_os_intr *oi;
	int ret;

	oi = csx_k_intr_new(core);
	if (!oi)
		return -CSX_ENOMEM;
	oi->od = d;
	snprintf(oi->name, sizeof(oi->name), "csx-%s", pci_name(pdev));

	ret = pci_alloc_irq_vectors(pdev, 1, 1, csx_k_irq_types(flags));
	if (ret < 0) {
		/* The kind asked for is not there (no MSI, no INTx pin). */
		ret = ret == -ENOMEM ? -CSX_ENOMEM : -CSX_ENOSYS;
		goto out_free;
	}
	oi->irq = pci_irq_vector(pdev, 0);
	oi->msi = pdev->msi_enabled;
	/* *out before request_irq(): the ISR may run before we return. */
	*out = oi;
	ret = request_irq(oi->irq, csx_k_isr, oi->msi ? 0 : IRQF_SHARED,
			  oi->name, oi);
	if (ret) {
		ret = ret == -ENOMEM ? -CSX_ENOMEM : -CSX_EIO;
		goto out_vectors;
	}
	return 0;

out_vectors:
	pci_free_irq_vectors(pdev);
out_free:
	csx_k_intr_free(oi);
	*out = NULL;
	return ret;
}

int csx_os_intr_attach_soft(struct csx_intr *core, struct csx_os_intr **out)
{
	struct csx_os_intr *oi = csx_k_intr_new(core);

	if (!oi)
		return -CSX_ENOMEM;
	oi->irq = -1;
	oi->work = IRQ_WORK_INIT_HARD(csx_k_soft_isr);
	*out = oi;
	return 0;
}

void csx_os_intr_raise(struct csx_os_intr *oi)
{
	/* A pending raise absorbs this one, as an edge-triggered line does. */
	if (!READ_ONCE(oi->dead))
		irq_work_queue(&oi->work);
}

void csx_os_intr_detach(struct csx_os_intr *oi)
{
	if (oi->od) {
		/* free_irq() waits for a running handler. */
		free_irq(oi->irq, oi);
		pci_free_irq_vectors(oi->od->pdev);
	} else {
		WRITE_ONCE(oi->dead, true);
		irq_work_sync(&oi->work);
	}
	csx_k_intr_free(oi);
}

/* csx_os_intr_disable() counts in csx_k_atomic_depth: csx_os_context(). */
bool csx_os_intr_held(void)
{
	return false;
}

unsigned long csx_os_intr_disable(struct csx_os_intr *oi)
{
	unsigned long flags;
	int cpu;

	/* The ISR holds the lock already: it excludes itself. */
	if (this_cpu_read(csx_k_cur_intr) == oi)
		return CSX_K_KEY_NOOP;
	local_irq_save(flags);
	cpu = smp_processor_id();
	/* Only this CPU ever stores its own number here. */
	if (READ_ONCE(oi->owner_cpu) != cpu) {
		spin_lock(&oi->lock);
		WRITE_ONCE(oi->owner_cpu, cpu);
	}
	oi->depth++;
	csx_k_atomic_enter();
	return flags;
}

void csx_os_intr_restore(struct csx_os_intr *oi, unsigned long key)
{
	if (key == CSX_K_KEY_NOOP)
		return;
	csx_k_atomic_exit();
	if (--oi->depth == 0) {
		WRITE_ONCE(oi->owner_cpu, -1);
		spin_unlock(&oi->lock);
	}
	local_irq_restore(key);
}

int csx_os_intr_set_spin(struct csx_os_intr *oi, uint64_t spin_ns)
{
	/* No wait thread in the kernel: the ISR runs in hard IRQ context. */
	return 0;
}

bool csx_os_intr_is_msi(struct csx_os_intr *oi)
{
	return oi->msi;
}
