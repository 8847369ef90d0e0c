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
 *
 * ->mmap only checks the request and sets the VMA up; page faults fill it.
 * mmap_region() calls ->mmap before it links the VMA into the file's
 * address space, where unmap_mapping_range() looks, so PTEs made in ->mmap
 * could escape a remove() running at that moment and outlive the memory or
 * the BAR they point to. A fault comes on a linked VMA and inserts its PTE
 * under f->lock, which remove() holds while it marks the claim dead and
 * zaps: the fault sees the claim dead (SIGBUS), or the zap removes its PTE.
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

/*
 * A BAR mapping's vm_private_data: the BAR number in the low bits and the
 * claim generation it was made under above them.
 */
#define KH_BAR_SHIFT 3

static void *kh_bar_cookie(struct kh_file *f, u32 bar)
{
	BUILD_BUG_ON(PCI_STD_NUM_BARS > 1 << KH_BAR_SHIFT);
	return (void *)((f->claim_gen << KH_BAR_SHIFT) | bar);
}

static vm_fault_t kh_bar_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct kh_file *f = kh_vma_file(vma);
	unsigned long cookie = (unsigned long)vma->vm_private_data;
	u32 bar = cookie & ((1 << KH_BAR_SHIFT) - 1);
	u64 off = ((u64)vmf->pgoff << PAGE_SHIFT) - CSX_KH_MMAP_BAR(bar);
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct pci_dev *pdev;
	unsigned long pfn;

	mutex_lock(&f->lock);
	/* Not for a dead claim, nor for the file's next one. */
	if (f->claim && !f->claim->dead &&
	    f->claim_gen == cookie >> KH_BAR_SHIFT) {
		pdev = f->claim->pdev;
		pfn = (pci_resource_start(pdev, bar) + off) >> PAGE_SHIFT;
		if (off < PAGE_ALIGN(pci_resource_len(pdev, bar)))
			ret = vmf_insert_pfn(vma, vmf->address, pfn);
	}
	mutex_unlock(&f->lock);
	return ret;
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
	.fault = kh_bar_fault,
};

/*
 * The pfn of byte @off of @b. Assumes dma_alloc_coherent() memory lies in
 * the direct map or in vmalloc space (a remapped allocation), as x86's
 * dma-direct (also through swiotlb) gives it; kh_dma_mmap() refuses a
 * buffer that is neither.
 */
static unsigned long kh_dma_pfn(struct kh_dma *b, u64 off)
{
	void *cpu = b->cpu + off;

	if (is_vmalloc_addr(cpu))
		return vmalloc_to_pfn(cpu);
	return page_to_pfn(virt_to_page(cpu));
}

static vm_fault_t kh_dma_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct kh_file *f = kh_vma_file(vma);
	struct kh_dma *b = vma->vm_private_data;
	/* Buffers are at most 4 GiB: see CSX_KH_MMAP_DMA(). */
	u64 off = ((u64)vmf->pgoff << PAGE_SHIFT) & 0xffffffffull;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	mutex_lock(&f->lock);
	/* b->cpu is NULL once remove() freed the memory. */
	if (f->claim && !f->claim->dead && b->cpu && off < b->size)
		ret = vmf_insert_pfn(vma, vmf->address, kh_dma_pfn(b, off));
	mutex_unlock(&f->lock);
	return ret;
}

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
	.fault = kh_dma_fault,
};

/* f->lock held, claim live. kh_dma_fault() fills the mapping. */
int kh_dma_mmap(struct kh_file *f, struct vm_area_struct *vma, u32 id)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	struct kh_dma *b;

	b = idr_find(&f->dma_idr, id);
	if (!b)
		return -ENOENT;
	if (len > b->size)
		return -EINVAL;
	if (!is_vmalloc_addr(b->cpu) && !virt_addr_valid(b->cpu))
		return -ENXIO; /* kh_dma_pfn() could not translate it */
	/*
	 * As dma_mmap_coherent() mapped it: pfns (get_user_pages() refuses
	 * them, so nothing pins the memory past its release), the VMA's
	 * cacheable protection (coherent memory on x86). Not handled: memory
	 * encryption, where dma_mmap_coherent() would also map it decrypted
	 * (dma_pgprot(), which is not exported).
	 */
	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_private_data = b;
	vma->vm_ops = &kh_dma_vm_ops;
	kref_get(&b->ref);
	atomic_inc(&f->maps);
	return 0;
}

/* f->lock held, claim live. kh_bar_fault() fills the mapping. */
int kh_bar_mmap(struct kh_file *f, struct vm_area_struct *vma, u32 bar)
{
	struct pci_dev *pdev = f->claim->pdev;
	unsigned long len = vma->vm_end - vma->vm_start;

	if (len > PAGE_ALIGN(pci_resource_len(pdev, bar)))
		return -EINVAL;
	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	/* Uncached, and decrypted as io_remap_pfn_range() maps MMIO. */
	vma->vm_page_prot =
		pgprot_decrypted(pgprot_noncached(vma->vm_page_prot));
	vma->vm_private_data = kh_bar_cookie(f, bar);
	vma->vm_ops = &kh_bar_vm_ops;
	atomic_inc(&f->maps);
	return 0;
}
