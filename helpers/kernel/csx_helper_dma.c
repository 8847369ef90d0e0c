// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * csx_helper.ko: DMA buffers and mmap(2) of BARs and buffers.
 *
 * A buffer is referenced by the file's idr (until CSX_KH_IOC_DMA_FREE or
 * the release of the device) and by each mapping of it (vm_ops open and
 * close), so its memory lives while the process can reach it. Should the
 * PCI core remove the device (sysfs unbind), the helper first zaps every
 * mapping of the file (each file has its own address space, so
 * unmap_mapping_range() finds them; later accesses get SIGBUS), then frees
 * the memory at once: no DMA memory outlives the device's binding.
 */
#define pr_fmt(fmt) "csx_helper: " fmt

#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "csx_helper.h"

extern unsigned int kh_dma_limit_kb;

static void kh_dma_release(struct kref *ref)
{
	struct kh_dma *b = container_of(ref, struct kh_dma, ref);
	struct kh_file *f = b->f;
	void *cpu;

	mutex_lock(&f->dma_mutex);
	list_del(&b->node);
	cpu = b->cpu;
	b->cpu = NULL;
	mutex_unlock(&f->dma_mutex);
	if (cpu)
		dma_free_coherent(b->dev, b->size, cpu, b->bus);
	atomic64_sub(b->size, &f->dma_bytes);
	put_device(b->dev);
	kfree(b);
}

static void kh_dma_put(struct kh_dma *b)
{
	kref_put(&b->ref, kh_dma_release);
}

long kh_dma_alloc(struct kh_file *f, struct csx_kh_dma *d, const char **why)
{
	struct device *dev = &f->claim->pdev->dev;
	u32 bits = d->addr_bits ? d->addr_bits : 64;
	u64 limit = (u64)kh_dma_limit_kb * 1024;
	struct kh_dma *b;
	size_t size;
	int id;

	if (d->reserved) {
		*why = "reserved field not zero";
		return -EINVAL;
	}
	if (!d->length || d->length > (4ull << 30)) {
		*why = "length 0 or above 4 GiB";
		return -EINVAL;
	}
	if (bits < 12 || bits > 64) {
		*why = "addr_bits not 0 or 12..64";
		return -EINVAL;
	}
	size = PAGE_ALIGN(d->length);
	if (atomic64_read(&f->dma_bytes) + size > limit) {
		*why = "per-file DMA byte limit (dma_limit_kb) reached";
		return -ENOSPC;
	}
	if (dma_set_mask_and_coherent(dev, DMA_BIT_MASK(bits))) {
		*why = "address width not supported by the platform";
		return -EINVAL;
	}
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		*why = "out of memory";
		return -ENOMEM;
	}
	kref_init(&b->ref);
	b->f = f;
	b->size = size;
	b->dev = get_device(dev);
	b->cpu = dma_alloc_coherent(dev, size, &b->bus,
				    GFP_KERNEL | __GFP_NOWARN);
	if (!b->cpu) {
		put_device(b->dev);
		kfree(b);
		*why = "dma_alloc_coherent failed";
		return -ENOMEM;
	}
	memset(b->cpu, 0, size);
	id = idr_alloc(&f->dma_idr, b, 0, CSX_KH_DMA_MAX, GFP_KERNEL);
	if (id < 0) {
		dma_free_coherent(dev, size, b->cpu, b->bus);
		put_device(b->dev);
		kfree(b);
		*why = id == -ENOSPC ? "too many DMA buffers" : "out of memory";
		return id;
	}
	atomic64_add(size, &f->dma_bytes);
	mutex_lock(&f->dma_mutex);
	list_add_tail(&b->node, &f->dma_list);
	mutex_unlock(&f->dma_mutex);
	d->id = id;
	d->bus_addr = b->bus;
	d->mmap_offset = CSX_KH_MMAP_DMA(id);
	return 0;
}

long kh_dma_free(struct kh_file *f, u32 id, const char **why)
{
	struct kh_dma *b = NULL;

	if (id < CSX_KH_DMA_MAX)
		b = idr_remove(&f->dma_idr, id);
	if (!b) {
		*why = "no such buffer id";
		return -ENOENT;
	}
	kh_dma_put(b);
	return 0;
}

/*
 * f->lock held, bus mastering off. Forget every id; with @memory_now also
 * free the memory of buffers still mapped (their mappings were zapped).
 */
void kh_dma_free_all(struct kh_file *f, bool memory_now)
{
	struct kh_dma *b;
	int id;

	if (memory_now) {
		mutex_lock(&f->dma_mutex);
		list_for_each_entry (b, &f->dma_list, node) {
			if (b->cpu)
				dma_free_coherent(b->dev, b->size, b->cpu,
						  b->bus);
			b->cpu = NULL;
		}
		mutex_unlock(&f->dma_mutex);
	}
	idr_for_each_entry(&f->dma_idr, b, id)
	{
		idr_remove(&f->dma_idr, id);
		kh_dma_put(b);
	}
}

static struct kh_file *kh_vma_file(struct vm_area_struct *vma)
{
	return vma->vm_file->private_data;
}

static void kh_bar_vm_open(struct vm_area_struct *vma)
{
	atomic_inc(&kh_vma_file(vma)->maps);
}

static void kh_bar_vm_close(struct vm_area_struct *vma)
{
	atomic_dec(&kh_vma_file(vma)->maps);
}

static const struct vm_operations_struct kh_bar_vm_ops = {
	.open = kh_bar_vm_open,
	.close = kh_bar_vm_close,
};

static void kh_dma_vm_open(struct vm_area_struct *vma)
{
	struct kh_dma *b = vma->vm_private_data;

	kref_get(&b->ref);
	atomic_inc(&kh_vma_file(vma)->maps);
}

static void kh_dma_vm_close(struct vm_area_struct *vma)
{
	struct kh_file *f = kh_vma_file(vma);

	kh_dma_put(vma->vm_private_data);
	atomic_dec(&f->maps);
}

static const struct vm_operations_struct kh_dma_vm_ops = {
	.open = kh_dma_vm_open,
	.close = kh_dma_vm_close,
};

/* f->lock held, claim live. */
int kh_dma_mmap(struct kh_file *f, struct vm_area_struct *vma, u32 id)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long pgoff = vma->vm_pgoff;
	struct kh_dma *b;
	int ret;

	b = idr_find(&f->dma_idr, id);
	if (!b)
		return -ENOENT;
	if (len > b->size)
		return -EINVAL;
	/* dma_mmap_coherent() takes vm_pgoff as the offset in the buffer. */
	vma->vm_pgoff = 0;
	ret = dma_mmap_coherent(b->dev, vma, b->cpu, b->bus, b->size);
	vma->vm_pgoff = pgoff;
	if (ret)
		return ret;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_private_data = b;
	vma->vm_ops = &kh_dma_vm_ops;
	kref_get(&b->ref);
	atomic_inc(&f->maps);
	return 0;
}

/* f->lock held, claim live. */
int kh_bar_mmap(struct kh_file *f, struct vm_area_struct *vma, u32 bar)
{
	struct pci_dev *pdev = f->claim->pdev;
	unsigned long len = vma->vm_end - vma->vm_start;
	resource_size_t start = pci_resource_start(pdev, bar);
	int ret;

	if (len > PAGE_ALIGN(pci_resource_len(pdev, bar)))
		return -EINVAL;
	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	ret = io_remap_pfn_range(vma, vma->vm_start, start >> PAGE_SHIFT, len,
				 vma->vm_page_prot);
	if (ret)
		return ret;
	vma->vm_ops = &kh_bar_vm_ops;
	atomic_inc(&f->maps);
	return 0;
}
