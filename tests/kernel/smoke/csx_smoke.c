// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * csx_smoke: end-to-end check of the kernel test VM harness, and of the
 * kernels it boots: a pci_driver for QEMU's edu device that, for every edu
 * device, during probe,
 *   1. reads the identification register (BAR0 + 0x00, 0x010000ed),
 *   2. raises an interrupt and waits for the handler (MSI or INTx, see the
 *      irq_mode parameter),
 *   3. DMAs a page-sized pattern to the device's buffer and back.
 * After registering the driver, module init reports one KTAP result per
 * check through printk; the harness reads them from the dmesg dump.
 *
 * Built with CSX_SMOKE_BUG=1 it also commits three deliberate bugs the debug
 * kernel must report, so the harness can prove it notices them:
 *   - kmalloc(GFP_KERNEL) under a spinlock (might sleep in atomic context)
 *   - a one-byte heap overrun (KASAN)
 *   - a leaked allocation (kmemleak)
 */
#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#ifndef CSX_SMOKE_BUG
#define CSX_SMOKE_BUG 0
#endif

/* QEMU docs/specs/edu.rst */
#define EDU_VENDOR_ID 0x1234
#define EDU_DEVICE_ID 0x11e8
#define EDU_REG_ID 0x00
#define EDU_ID_VALUE 0x010000ed
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK 0x64
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98
#define EDU_DMA_RUN 0x1
#define EDU_DMA_TO_RAM 0x2  /* direction: device buffer -> RAM */
#define EDU_DMA_BUF 0x40000 /* device-side buffer, 4 KiB */
/*
 * Less than the 4 KiB buffer: QEMU 7.2's range check is off by one, and a
 * transfer ending exactly at the buffer's end is a fatal "hardware error"
 * that stops the VM.
 */
#define EDU_DMA_LEN 2048
#define EDU_DMA_BITS 28 /* the device clamps addresses to 28 bits */
#define EDU_IRQ_TEST_BIT 0x1

static char *irq_mode = "";
module_param(irq_mode, charp, 0444);
MODULE_PARM_DESC(irq_mode,
		 "msi, intx, or empty for whatever the PCI core gives");

/* Totals over all probed devices, read by module init for the report. */
static unsigned int n_found, n_id_ok, n_irq_ok, n_dma_ok, n_msi;

struct csx_smoke_dev {
	void __iomem *bar0;
	struct completion irq_done;
};

static irqreturn_t csx_smoke_irq(int irq, void *data)
{
	struct csx_smoke_dev *d = data;
	u32 status = ioread32(d->bar0 + EDU_REG_IRQ_STATUS);

	if (!status)
		return IRQ_NONE; /* INTx lines may be shared */
	/* Needed with MSI too: the device keeps the bits until acked. */
	iowrite32(status, d->bar0 + EDU_REG_IRQ_ACK);
	complete(&d->irq_done);
	return IRQ_HANDLED;
}

static bool csx_smoke_test_irq(struct pci_dev *pdev, struct csx_smoke_dev *d)
{
	unsigned int flags = PCI_IRQ_ALL_TYPES;
	bool ok = false;
	int irq, ret;

	if (!strcmp(irq_mode, "msi"))
		flags = PCI_IRQ_MSI;
	else if (!strcmp(irq_mode, "intx"))
		flags = PCI_IRQ_LEGACY;

	ret = pci_alloc_irq_vectors(pdev, 1, 1, flags);
	if (ret < 0) {
		dev_err(&pdev->dev, "no interrupt (%s): %d\n", irq_mode, ret);
		return false;
	}
	irq = pci_irq_vector(pdev, 0);
	init_completion(&d->irq_done);
	ret = request_irq(irq, csx_smoke_irq, IRQF_SHARED, "csx_smoke", d);
	if (ret) {
		dev_err(&pdev->dev, "request_irq(%d): %d\n", irq, ret);
		goto out_vectors;
	}

	iowrite32(EDU_IRQ_TEST_BIT, d->bar0 + EDU_REG_IRQ_RAISE);
	ok = wait_for_completion_timeout(&d->irq_done, HZ) != 0;
	if (ok && pdev->msi_enabled)
		n_msi++;
	dev_info(&pdev->dev, "interrupt %d (%s): %s\n", irq,
		 pdev->msi_enabled ? "MSI" : "INTx", ok ? "delivered" : "LOST");

	free_irq(irq, d);
out_vectors:
	pci_free_irq_vectors(pdev);
	return ok;
}

/* One edu DMA transfer, polled: the device runs it from a 100 ms timer. */
static int csx_smoke_dma_xfer(struct csx_smoke_dev *d, u64 src, u64 dst,
			      u32 cmd)
{
	u32 busy;

	iowrite32(lower_32_bits(src), d->bar0 + EDU_REG_DMA_SRC);
	iowrite32(lower_32_bits(dst), d->bar0 + EDU_REG_DMA_DST);
	iowrite32(EDU_DMA_LEN, d->bar0 + EDU_REG_DMA_COUNT);
	iowrite32(cmd | EDU_DMA_RUN, d->bar0 + EDU_REG_DMA_CMD);
	return readl_poll_timeout(d->bar0 + EDU_REG_DMA_CMD, busy,
				  !(busy & EDU_DMA_RUN), 10000, 2000000);
}

static bool csx_smoke_test_dma(struct pci_dev *pdev, struct csx_smoke_dev *d)
{
	dma_addr_t handle;
	bool ok = false;
	u8 *buf;
	int i;

	if (dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(EDU_DMA_BITS))) {
		dev_err(&pdev->dev, "no %d-bit DMA\n", EDU_DMA_BITS);
		return false;
	}
	buf = dma_alloc_coherent(&pdev->dev, EDU_DMA_LEN, &handle, GFP_KERNEL);
	if (!buf)
		return false;

	for (i = 0; i < EDU_DMA_LEN; i++)
		buf[i] = (u8)(i * 7 + 3);
	if (csx_smoke_dma_xfer(d, handle, EDU_DMA_BUF, 0))
		goto out;
	memset(buf, 0, EDU_DMA_LEN);
	if (csx_smoke_dma_xfer(d, EDU_DMA_BUF, handle, EDU_DMA_TO_RAM))
		goto out;
	for (i = 0; i < EDU_DMA_LEN; i++)
		if (buf[i] != (u8)(i * 7 + 3))
			break;
	ok = i == EDU_DMA_LEN;
	if (!ok)
		dev_err(&pdev->dev, "DMA round trip differs at byte %d\n", i);
out:
	dma_free_coherent(&pdev->dev, EDU_DMA_LEN, buf, handle);
	return ok;
}

static int csx_smoke_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct csx_smoke_dev *d;
	u32 val;
	int ret;

	d = devm_kzalloc(&pdev->dev, sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	d->bar0 = pcim_iomap(pdev, 0, 0);
	if (!d->bar0)
		return -ENOMEM;
	/* Bus mastering: for DMA, and for the MSI write. */
	pci_set_master(pdev);

	n_found++;
	val = ioread32(d->bar0 + EDU_REG_ID);
	if (val == EDU_ID_VALUE)
		n_id_ok++;
	else
		dev_err(&pdev->dev, "edu ID reads 0x%08x, expected 0x%08x\n",
			val, EDU_ID_VALUE);
	if (csx_smoke_test_irq(pdev, d))
		n_irq_ok++;
	if (csx_smoke_test_dma(pdev, d))
		n_dma_ok++;
	/* The pcim_ and devm_ resources go when the driver unbinds. */
	return 0;
}

static const struct pci_device_id csx_smoke_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{}
};
MODULE_DEVICE_TABLE(pci, csx_smoke_ids);

static struct pci_driver csx_smoke_driver = {
	.name = "csx_smoke",
	.id_table = csx_smoke_ids,
	.probe = csx_smoke_probe,
};

#if CSX_SMOKE_BUG
static DEFINE_SPINLOCK(csx_smoke_lock);

static noinline void csx_smoke_bugs(void)
{
	/* volatile: keep the compiler from seeing (and warning about) it. */
	volatile size_t n = 13;
	char *p;

	/* 1. A GFP_KERNEL allocation may sleep: not under a spinlock. */
	spin_lock(&csx_smoke_lock);
	p = kmalloc(32, GFP_KERNEL);
	spin_unlock(&csx_smoke_lock);
	kfree(p);

	/* 2. Write one byte past a 13-byte allocation. */
	p = kmalloc(n, GFP_KERNEL);
	if (p) {
		p[n] = 0;
		kfree(p);
	}

	/* 3. Allocate, fill, and drop the only pointer. */
	p = kmalloc(128, GFP_KERNEL);
	if (p) {
		memset(p, 0xa5, 128);
		barrier_data(p); /* keep the memset */
	}
}
#endif

static void csx_smoke_report(unsigned int nr, const char *name,
			     unsigned int good)
{
	pr_info("%s %u %s\n", n_found && good == n_found ? "ok" : "not ok", nr,
		name);
}

static int __init csx_smoke_init(void)
{
	int ret;

	/* The PCI core probes already present devices before this returns. */
	ret = pci_register_driver(&csx_smoke_driver);
	if (ret)
		return ret;

	pr_info("KTAP version 1\n");
	pr_info("1..3\n");
	pr_info("# csx_smoke: %u edu device(s); ID ok %u, IRQ ok %u (%u MSI), DMA ok %u; irq_mode=%s\n",
		n_found, n_id_ok, n_irq_ok, n_msi, n_dma_ok, irq_mode);
	csx_smoke_report(1, "edu_id", n_id_ok);
	/* irq_mode=msi|intx also demands that mode on every device. */
	if (!strcmp(irq_mode, "msi") && n_msi != n_irq_ok)
		n_irq_ok = 0;
	if (!strcmp(irq_mode, "intx") && n_msi)
		n_irq_ok = 0;
	csx_smoke_report(2, "edu_irq", n_irq_ok);
	csx_smoke_report(3, "edu_dma", n_dma_ok);

#if CSX_SMOKE_BUG
	pr_info("# csx_smoke: committing deliberate bugs (CSX_SMOKE_BUG)\n");
	csx_smoke_bugs();
#endif
	return 0;
}

static void __exit csx_smoke_exit(void)
{
	pci_unregister_driver(&csx_smoke_driver);
}

module_init(csx_smoke_init);
module_exit(csx_smoke_exit);
MODULE_DESCRIPTION("CSX kernel test harness smoke test (QEMU edu device)");
MODULE_LICENSE("Dual BSD/GPL");
