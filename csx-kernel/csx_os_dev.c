// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: a CSX driver is a pci_driver. Probe enables the device,
 * maps its memory BARs, enables bus mastering and sets the DMA mask before
 * the core calls the driver's probe().
 */
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "csx_kernel.h"

struct csx_k_driver {
	struct pci_driver pdrv;
	struct csx_driver *drv;
	struct list_head node;
	char *name;
	struct pci_device_id ids[]; /* from drv->ids, same order, 0-ended */
};

static LIST_HEAD(csx_k_drivers);
static DEFINE_MUTEX(csx_k_drivers_lock);

/* ---- Probe and remove ----------------------------------------------------- */

/* The driver states its device's DMA address width (0: 64 bits). */
static int csx_k_dev_set_dma(struct pci_dev *pdev, unsigned int bits)
{
	int ret;

	bits = bits ? min(bits, 64u) : 64;
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(bits));
	if (ret)
		dev_err(&pdev->dev, "csx: no usable %u-bit DMA mask\n", bits);
	return ret;
}

static void csx_k_dev_unmap(struct csx_os_dev *od)
{
	unsigned int bar;

	for (bar = 0; bar < CSX_K_BARS; bar++) {
		if (od->bar[bar])
			pci_iounmap(od->pdev, od->bar[bar]);
		od->bar[bar] = NULL;
		od->bar_len[bar] = 0;
	}
}

static int csx_k_dev_map(struct csx_os_dev *od)
{
	struct pci_dev *pdev = od->pdev;
	unsigned int bar;

	for (bar = 0; bar < CSX_K_BARS; bar++) {
		resource_size_t len = pci_resource_len(pdev, bar);

		/* I/O-port BARs are not part of the API. */
		if (!len || !(pci_resource_flags(pdev, bar) & IORESOURCE_MEM))
			continue;
		od->bar[bar] = pci_iomap(pdev, bar, 0);
		if (!od->bar[bar]) {
			csx_k_dev_unmap(od);
			return -ENOMEM;
		}
		od->bar_len[bar] = len;
	}
	return 0;
}

/* Enable, claim and map: everything the API promises before probe(). */
static int csx_k_dev_enable(struct csx_os_dev *od, const char *name,
			    unsigned int dma_bits)
{
	struct pci_dev *pdev = od->pdev;
	int ret;

	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	ret = pci_request_mem_regions(pdev, name);
	if (ret)
		goto out_disable;
	ret = csx_k_dev_map(od);
	if (ret)
		goto out_release;
	pci_set_master(pdev);
	ret = csx_k_dev_set_dma(pdev, dma_bits);
	if (ret)
		goto out_master;
	return 0;

out_master:
	pci_clear_master(pdev);
	csx_k_dev_unmap(od);
out_release:
	pci_release_mem_regions(pdev);
out_disable:
	pci_disable_device(pdev);
	return ret;
}

static void csx_k_dev_disable(struct csx_os_dev *od)
{
	pci_clear_master(od->pdev);
	csx_k_dev_unmap(od);
	pci_release_mem_regions(od->pdev);
	pci_disable_device(od->pdev);
}

/* The last of the binding and the DMA buffers frees the device. */
static void csx_k_dev_put(struct csx_os_dev *od)
{
	if (!atomic_dec_and_test(&od->refs))
		return;
	pci_dev_put(od->pdev);
	kfree(od);
}

static int csx_k_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct csx_k_driver *kd = container_of(to_pci_driver(pdev->dev.driver),
					       struct csx_k_driver, pdrv);
	const struct csx_pci_id *cid = &kd->drv->ids[id->driver_data];
	struct csx_os_dev *od;
	int ret;

	od = kzalloc(sizeof(*od), GFP_KERNEL);
	if (!od)
		return -ENOMEM;
	od->pdev = pci_dev_get(pdev);
	od->kd = kd;
	atomic_set(&od->refs, 1);
	ret = csx_k_dev_enable(od, kd->name, kd->drv->dma_bits);
	if (ret)
		goto out_put;
	pci_set_drvdata(pdev, od);
	ret = csx__dev_probe(kd->drv, od, pci_name(pdev), cid, &od->core);
	if (ret)
		goto out_disable;
	return 0;

out_disable:
	pci_set_drvdata(pdev, NULL);
	csx_k_dev_disable(od);
out_put:
	csx_k_dev_put(od);
	return ret;
}

static void csx_k_remove(struct pci_dev *pdev)
{
	struct csx_os_dev *od = pci_get_drvdata(pdev);

	csx__dev_remove(od->core);
	od->core = NULL;
	pci_set_drvdata(pdev, NULL);
	csx_k_dev_disable(od);
	csx_k_dev_put(od);
}

/* ---- Registration ----------------------------------------------------------- */

static struct csx_k_driver *csx_k_driver_new(struct csx_driver *drv)
{
	struct csx_k_driver *kd;
	size_t n = 0, i;

	while (drv->ids[n].vendor || drv->ids[n].device)
		n++;
	kd = kzalloc(struct_size(kd, ids, n + 1), GFP_KERNEL);
	if (!kd)
		return NULL;
	kd->name = kstrdup(drv->name, GFP_KERNEL);
	if (!kd->name) {
		kfree(kd);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		u16 v = drv->ids[i].vendor, d = drv->ids[i].device;

		kd->ids[i].vendor = v == CSX_PCI_ANY_ID ? PCI_ANY_ID : v;
		kd->ids[i].device = d == CSX_PCI_ANY_ID ? PCI_ANY_ID : d;
		kd->ids[i].subvendor = PCI_ANY_ID;
		kd->ids[i].subdevice = PCI_ANY_ID;
		/* Probe hands the driver its own table entry back. */
		kd->ids[i].driver_data = i;
	}
	kd->drv = drv;
	kd->pdrv.name = kd->name;
	kd->pdrv.id_table = kd->ids;
	kd->pdrv.probe = csx_k_probe;
	kd->pdrv.remove = csx_k_remove;
	/* The API promises every match is probed before register returns. */
	kd->pdrv.driver.probe_type = PROBE_FORCE_SYNCHRONOUS;
	return kd;
}

static void csx_k_driver_free(struct csx_k_driver *kd)
{
	kfree(kd->name);
	kfree(kd);
}

int csx_os_driver_register(struct csx_driver *drv)
{
	struct csx_k_driver *kd = csx_k_driver_new(drv);
	int ret;

	if (!kd)
		return -CSX_ENOMEM;
	mutex_lock(&csx_k_drivers_lock);
	list_add_tail(&kd->node, &csx_k_drivers);
	mutex_unlock(&csx_k_drivers_lock);
	ret = pci_register_driver(&kd->pdrv);
	if (ret) {
		mutex_lock(&csx_k_drivers_lock);
		list_del(&kd->node);
		mutex_unlock(&csx_k_drivers_lock);
		csx_k_driver_free(kd);
	}
	return ret;
}

void csx_os_driver_unregister(struct csx_driver *drv)
{
	struct csx_k_driver *kd, *found = NULL;

	mutex_lock(&csx_k_drivers_lock);
	list_for_each_entry (kd, &csx_k_drivers, node) {
		if (kd->drv == drv) {
			found = kd;
			list_del(&kd->node);
			break;
		}
	}
	mutex_unlock(&csx_k_drivers_lock);
	if (!found)
		return;
	/* Calls csx_k_remove() for every bound device; not under our lock. */
	pci_unregister_driver(&found->pdrv);
	csx_k_driver_free(found);
}

/* ---- Registers and configuration space ------------------------------------ */

/* The kernel has no host to ask for a unit: the core gives the lowest free. */
int csx_os_dev_unit_hint(struct csx_os_dev *d)
{
	return -1;
}

uint64_t csx_os_bar_size(struct csx_os_dev *d, unsigned int bar)
{
	return bar < CSX_K_BARS ? d->bar_len[bar] : 0;
}

uint64_t csx_os_reg_read(struct csx_os_dev *d, unsigned int bar, uint64_t off,
			 unsigned int width)
{
	void __iomem *addr = d->bar[bar] + off;

	switch (width) {
	case 1:
		return readb(addr);
	case 2:
		return readw(addr);
	case 4:
		return readl(addr);
	default:
		return readq(addr);
	}
}

void csx_os_reg_write(struct csx_os_dev *d, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t val)
{
	void __iomem *addr = d->bar[bar] + off;

	switch (width) {
	case 1:
		writeb(val, addr);
		break;
	case 2:
		writew(val, addr);
		break;
	case 4:
		writel(val, addr);
		break;
	default:
		writeq(val, addr);
		break;
	}
}

int csx_os_cfg_read(struct csx_os_dev *d, unsigned int off, unsigned int size,
		    uint32_t *val)
{
	u8 v8;
	u16 v16;
	int ret;

	switch (size) {
	case 1:
		ret = pci_read_config_byte(d->pdev, off, &v8);
		*val = v8;
		break;
	case 2:
		ret = pci_read_config_word(d->pdev, off, &v16);
		*val = v16;
		break;
	default:
		ret = pci_read_config_dword(d->pdev, off, val);
		break;
	}
	return pcibios_err_to_errno(ret);
}

int csx_os_cfg_write(struct csx_os_dev *d, unsigned int off, unsigned int size,
		     uint32_t val)
{
	int ret;

	switch (size) {
	case 1:
		ret = pci_write_config_byte(d->pdev, off, val);
		break;
	case 2:
		ret = pci_write_config_word(d->pdev, off, val);
		break;
	default:
		ret = pci_write_config_dword(d->pdev, off, val);
		break;
	}
	return pcibios_err_to_errno(ret);
}

/* ---- DMA ------------------------------------------------------------------ */

struct csx_os_dma {
	void *cpu;
	dma_addr_t bus;
	size_t size;
};

int csx_os_dma_alloc(struct csx_os_dev *d, size_t size, struct csx_os_dma **out,
		     void **cpu, uint64_t *bus)
{
	struct csx_os_dma *dma = kzalloc(sizeof(*dma), GFP_KERNEL);

	if (!dma)
		return -CSX_ENOMEM;
	dma->cpu =
		dma_alloc_coherent(&d->pdev->dev, size, &dma->bus, GFP_KERNEL);
	if (!dma->cpu) {
		kfree(dma);
		return -CSX_ENOMEM;
	}
	dma->size = size;
	/* A buffer outliving remove() (a driver bug) keeps @d valid. */
	atomic_inc(&d->refs);
	*out = dma;
	*cpu = dma->cpu;
	*bus = dma->bus;
	return 0;
}

void csx_os_dma_free(struct csx_os_dev *d, struct csx_os_dma *dma)
{
	dma_free_coherent(&d->pdev->dev, dma->size, dma->cpu, dma->bus);
	kfree(dma);
	csx_k_dev_put(d);
}
