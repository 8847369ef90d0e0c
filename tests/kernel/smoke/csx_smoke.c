// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * csx_smoke: end-to-end check of the kernel test VM harness.
 *
 * On load it binds a pci_driver to QEMU's edu device(s), reads the
 * identification register of each (BAR0 + 0x00, expected 0x010000ed) and
 * reports one KTAP result through printk, which the harness collects from
 * the dmesg dump.
 *
 * Built with CSX_SMOKE_BUG=1 it also commits three deliberate bugs the debug
 * kernel must report, so the harness can prove it notices them:
 *   - kmalloc(GFP_KERNEL) under a spinlock (might sleep in atomic context)
 *   - a one-byte heap overrun (KASAN)
 *   - a leaked allocation (kmemleak)
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#ifndef CSX_SMOKE_BUG
#define CSX_SMOKE_BUG 0
#endif

#define EDU_VENDOR_ID 0x1234
#define EDU_DEVICE_ID 0x11e8
#define EDU_REG_ID 0x00
#define EDU_ID_VALUE 0x010000ed

static unsigned int csx_smoke_found;	/* edu devices probed */
static unsigned int csx_smoke_good;	/* ... that read the right ID */

static int csx_smoke_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	void __iomem *bar0;
	u32 val;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	bar0 = pcim_iomap(pdev, 0, 0);
	if (!bar0)
		return -ENOMEM;

	val = ioread32(bar0 + EDU_REG_ID);
	csx_smoke_found++;
	if (val == EDU_ID_VALUE)
		csx_smoke_good++;
	else
		dev_err(&pdev->dev, "edu ID reads 0x%08x, expected 0x%08x\n",
			val, EDU_ID_VALUE);
	/* pcim_* undo the mapping and the enable when the driver unbinds. */
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
	if (p)
		memset(p, 0xa5, 128);
}
#endif

static int __init csx_smoke_init(void)
{
	int ret;

	/* The PCI core probes already present devices before this returns. */
	ret = pci_register_driver(&csx_smoke_driver);
	if (ret)
		return ret;

	pr_info("KTAP version 1\n");
	pr_info("1..1\n");
	pr_info("# csx_smoke: %u edu device(s), %u with ID 0x%08x\n",
		csx_smoke_found, csx_smoke_good, EDU_ID_VALUE);
	if (csx_smoke_found && csx_smoke_good == csx_smoke_found)
		pr_info("ok 1 edu_id\n");
	else
		pr_info("not ok 1 edu_id\n");

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
