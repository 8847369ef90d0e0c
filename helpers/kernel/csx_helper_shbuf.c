// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Shared buffers: kernel memory a process maps and passes by handle in a
 * call, so a large payload is not copied (CSX_KH_IOC_SHBUF_ALLOC/FREE,
 * CSX_KH_MMAP_SHBUF(), csx_kh_shbuf_alloc/free() for csx.ko).
 *
 * A buffer (struct csx_kh_shmem) is vmalloc memory with a reference
 * count: each table entry naming it, each mapping (vm_ops open/close),
 * each call in progress (SVC_CALL_SHBUF, an upcall carrying it) and the
 * kernel module that made one hold a reference, so the memory goes only
 * with the last of them. Mappings are filled by page faults (the pages
 * of the vmalloc area), so nothing is mapped before the VMA is linked and
 * a zap of the file's address space costs a re-fault, never the memory.
 *
 * Each file has a table of entries, named by ids 1.. that are never
 * reused while the file is open (a stale id is -ENOENT, never another
 * buffer): its own buffers and those a kernel module passed to it in an
 * upcall (granted by SVC_SERVE2, once per buffer and file). A granted
 * entry is also in its buffer's list of grants, so that
 * csx_kh_shbuf_free() can revoke it: the entry leaves the table and waits
 * in the file's gone list until SVC_SERVE2 reports its id.
 *
 * Locks: kh_sb_mutex (every buffer's grants and revoked flag), then
 * f->sb_lock (one file's table, count and gone list). mmap(2) takes
 * f->sb_lock under mmap_lock: nothing copies user memory under either.
 * An entry on a buffer's grant list belongs to a file that is open: the
 * file's release takes its entries off under kh_sb_mutex.
 *
 * Limits: CSX_KH_SHBUF_PER_FILE entries per file (own and granted), and
 * shbuf_limit_kb (default CSX_KH_SHBUF_FILE_BYTES) of own buffers per
 * file, counted until the memory goes (a buffer freed but still mapped
 * counts), so unmapped-later memory cannot pile up beyond the limit.
 */
#define pr_fmt(fmt) "csx_helper: " fmt

#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include <csx/csx_service.h>
#include <csx/csx_status.h>

#include "csx_helper.h"
#include "csx_kh_upcall.h"

static unsigned int kh_sb_limit_kb = CSX_KH_SHBUF_FILE_BYTES >> 10;
module_param_named(shbuf_limit_kb, kh_sb_limit_kb, uint, 0644);
MODULE_PARM_DESC(shbuf_limit_kb, "Own shared-buffer memory per open file, KiB");

/* Offsets of one buffer's mmap(2) slot: CSX_KH_MMAP_SHBUF(id) + off. */
#define KH_SB_SLOT_SHIFT 27
#define KH_SB_SLOT_MASK ((1ull << KH_SB_SLOT_SHIFT) - 1)

static_assert(CSX_KH_MMAP_SHBUF(1) - CSX_KH_MMAP_SHBUF(0) ==
	      1ull << KH_SB_SLOT_SHIFT);
static_assert(CSX_KH_SHBUF_MAX <= 1ull << KH_SB_SLOT_SHIFT);
static_assert(CSX_KH_SHBUF_MAX == CSX_SHBUF_MAX);

struct kh_sb_entry {
	struct csx_kh_shmem *sb; /* referenced; NULL once revoked */
	struct kh_file *f;
	u32 id;
	bool granted;
	/* sb->grants while granted, then f->sb_gone once revoked. */
	struct list_head node;
};

static DEFINE_MUTEX(kh_sb_mutex);

/* ---- Buffers ------------------------------------------------------------- */

static struct csx_kh_shmem *kh_sb_new(size_t size, gfp_t gfp, atomic64_t *acct)
{
	struct csx_kh_shmem *sb = kzalloc(sizeof(*sb), GFP_KERNEL);

	if (!sb)
		return NULL;
	/*
	 * Zeroed: it reaches user space. Mapped by faults, page by page
	 * (vmalloc_to_page()), so plain vmalloc memory does; no warning and
	 * no OOM kill for a request a process may make too large.
	 */
	sb->mem = __vmalloc(size, gfp | __GFP_ZERO | __GFP_NOWARN |
					  __GFP_RETRY_MAYFAIL);
	if (!sb->mem) {
		kfree(sb);
		return NULL;
	}
	kref_init(&sb->ref);
	sb->size = size;
	sb->acct = acct;
	INIT_LIST_HEAD(&sb->grants);
	return sb;
}

static void kh_sb_release_mem(struct kref *ref)
{
	struct csx_kh_shmem *sb = container_of(ref, struct csx_kh_shmem, ref);

	WARN_ON(!list_empty(&sb->grants));
	vfree(sb->mem);
	if (sb->acct)
		atomic64_sub(sb->size, sb->acct);
	kfree(sb);
}

void kh_sb_put(struct csx_kh_shmem *sb)
{
	kref_put(&sb->ref, kh_sb_release_mem);
}

/* ---- The file's table ------------------------------------------------------ */

void kh_sb_init(struct kh_file *f)
{
	mutex_init(&f->sb_lock);
	xa_init(&f->sb_table);
	INIT_LIST_HEAD(&f->sb_gone);
	atomic64_set(&f->sb_own_bytes, 0);
}

/* f->sb_lock held: give @e, holding its reference to @sb, an id. */
static int kh_sb_enter(struct kh_file *f, struct kh_sb_entry *e,
		       struct csx_kh_shmem *sb)
{
	int ret;

	lockdep_assert_held(&f->sb_lock);
	if (f->sb_count >= CSX_KH_SHBUF_PER_FILE)
		return -ENOSPC;
	if (f->sb_last_id == U32_MAX)
		return -ENOSPC; /* ids are never reused while the file lives */
	ret = xa_insert(&f->sb_table, f->sb_last_id + 1, e, GFP_KERNEL);
	if (ret)
		return ret == -EBUSY ? -EIO : ret;
	e->id = ++f->sb_last_id;
	e->sb = sb;
	e->f = f;
	f->sb_count++;
	return 0;
}

/* f->sb_lock held: the entry @id, out of the table; NULL if none. */
static struct kh_sb_entry *kh_sb_remove(struct kh_file *f, u32 id)
{
	struct kh_sb_entry *e;

	lockdep_assert_held(&f->sb_lock);
	if (!id)
		return NULL;
	e = xa_erase(&f->sb_table, id);
	if (e)
		f->sb_count--;
	return e;
}

long kh_sb_alloc(struct kh_file *f, struct csx_kh_shbuf *a, const char **why)
{
	u64 limit = (u64)READ_ONCE(kh_sb_limit_kb) << 10;
	struct csx_kh_shmem *sb;
	struct kh_sb_entry *e;
	size_t size;
	long ret;

	if (!a->length || a->length > CSX_KH_SHBUF_MAX) {
		*why = "length 0 or above CSX_KH_SHBUF_MAX";
		return -EINVAL;
	}
	size = PAGE_ALIGN(a->length);
	/* Counted before the allocation: concurrent ALLOCs cannot overshoot. */
	if (atomic64_add_return(size, &f->sb_own_bytes) > limit) {
		atomic64_sub(size, &f->sb_own_bytes);
		*why = "per-file shared-buffer byte limit (shbuf_limit_kb) reached";
		return -ENOSPC;
	}
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	sb = kh_sb_new(size, GFP_KERNEL_ACCOUNT, &f->sb_own_bytes);
	if (!e || !sb) {
		kfree(e);
		if (sb)
			kh_sb_put(sb);
		else
			atomic64_sub(size, &f->sb_own_bytes);
		*why = "out of memory";
		return -ENOMEM;
	}
	mutex_lock(&f->sb_lock);
	ret = kh_sb_enter(f, e, sb);
	mutex_unlock(&f->sb_lock);
	if (ret) {
		kfree(e);
		kh_sb_put(sb);
		*why = ret == -ENOSPC ?
			       "shared-buffer table full "
			       "(CSX_KH_SHBUF_PER_FILE, or ids used up)" :
			       "out of memory";
		return ret;
	}
	a->id = e->id;
	a->length = size;
	a->mmap_offset = CSX_KH_MMAP_SHBUF(e->id);
	return 0;
}

long kh_sb_free(struct kh_file *f, struct csx_kh_shbuf *a, const char **why)
{
	struct kh_sb_entry *e;

	/* A granted entry leaves its buffer's list too: kh_sb_mutex. */
	mutex_lock(&kh_sb_mutex);
	mutex_lock(&f->sb_lock);
	e = kh_sb_remove(f, a->id);
	mutex_unlock(&f->sb_lock);
	if (e && e->granted)
		list_del(&e->node);
	mutex_unlock(&kh_sb_mutex);
	if (!e) {
		*why = "no such shared buffer id";
		return -ENOENT;
	}
	kh_sb_put(e->sb);
	kfree(e);
	return 0;
}

struct csx_kh_shmem *kh_sb_get(struct kh_file *f, u32 id)
{
	struct csx_kh_shmem *sb = NULL;
	struct kh_sb_entry *e;

	if (!id)
		return NULL;
	mutex_lock(&f->sb_lock);
	e = xa_load(&f->sb_table, id);
	if (e) {
		sb = e->sb;
		kref_get(&sb->ref);
	}
	mutex_unlock(&f->sb_lock);
	return sb;
}

/*
 * The file's release: no ioctl of the file runs any more, and no mapping
 * is left (each holds the file), so only the table holds own buffers.
 */
void kh_sb_release(struct kh_file *f)
{
	struct kh_sb_entry *e, *tmp;
	unsigned long id;
	LIST_HEAD(dead);

	mutex_lock(&kh_sb_mutex);
	mutex_lock(&f->sb_lock);
	xa_for_each(&f->sb_table, id, e)
	{
		xa_erase(&f->sb_table, id);
		if (e->granted)
			list_del(&e->node);
		list_add(&e->node, &dead);
	}
	f->sb_count = 0;
	list_splice_init(&f->sb_gone, &dead);
	mutex_unlock(&f->sb_lock);
	mutex_unlock(&kh_sb_mutex);

	list_for_each_entry_safe (e, tmp, &dead, node) {
		if (e->sb)
			kh_sb_put(e->sb);
		kfree(e);
	}
	WARN_ON(atomic64_read(&f->sb_own_bytes));
	xa_destroy(&f->sb_table);
	mutex_destroy(&f->sb_lock);
}

/* ---- Grants (SVC_SERVE2) ----------------------------------------------------- */

int kh_sb_grant(struct kh_file *f, struct csx_kh_shmem *sb, u32 *id)
{
	struct kh_sb_entry *e;
	int ret = 0;

	*id = 0;
	mutex_lock(&kh_sb_mutex);
	if (sb->revoked) {
		/* Its module freed it after the call gave up: nothing to map. */
		ret = -ENOENT;
		goto out;
	}
	list_for_each_entry (e, &sb->grants, node) {
		if (e->f == f) {
			*id = e->id;
			goto out;
		}
	}
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e) {
		ret = -ENOMEM;
		goto out;
	}
	mutex_lock(&f->sb_lock);
	ret = kh_sb_enter(f, e, sb);
	mutex_unlock(&f->sb_lock);
	if (ret) {
		kfree(e);
		goto out;
	}
	kref_get(&sb->ref);
	e->granted = true;
	list_add_tail(&e->node, &sb->grants);
	*id = e->id;
out:
	mutex_unlock(&kh_sb_mutex);
	return ret;
}

u32 kh_sb_gone_take(struct kh_file *f, struct list_head *taken, u32 *ids)
{
	struct kh_sb_entry *e, *tmp;
	u32 n = 0;

	if (list_empty(&f->sb_gone)) /* a peek: told at the next SERVE2 */
		return 0;
	mutex_lock(&f->sb_lock);
	list_for_each_entry_safe (e, tmp, &f->sb_gone, node) {
		if (n == CSX_KH_SERVE_GONE_MAX)
			break;
		ids[n++] = e->id;
		list_move_tail(&e->node, taken);
	}
	mutex_unlock(&f->sb_lock);
	return n;
}

void kh_sb_gone_done(struct kh_file *f, struct list_head *taken, bool told)
{
	struct kh_sb_entry *e, *tmp;

	if (!told) {
		mutex_lock(&f->sb_lock);
		list_splice(taken, &f->sb_gone);
		mutex_unlock(&f->sb_lock);
		INIT_LIST_HEAD(taken);
		return;
	}
	list_for_each_entry_safe (e, tmp, taken, node)
		kfree(e);
	INIT_LIST_HEAD(taken);
}

/* ---- mmap(2) ----------------------------------------------------------------- */

static vm_fault_t kh_sb_fault(struct vm_fault *vmf)
{
	struct csx_kh_shmem *sb = vmf->vma->vm_private_data;
	u64 off = ((u64)vmf->pgoff << PAGE_SHIFT) & KH_SB_SLOT_MASK;
	struct page *page;

	/* The VMA never grows (VM_DONTEXPAND): only a broken kernel gets here. */
	if (off >= sb->size)
		return VM_FAULT_SIGBUS;
	page = vmalloc_to_page(sb->mem + off);
	get_page(page);
	vmf->page = page;
	return 0;
}

static void kh_sb_vm_open(struct vm_area_struct *vma)
{
	struct csx_kh_shmem *sb = vma->vm_private_data;

	kref_get(&sb->ref);
}

static void kh_sb_vm_close(struct vm_area_struct *vma)
{
	kh_sb_put(vma->vm_private_data);
}

static const struct vm_operations_struct kh_sb_vm_ops = {
	.open = kh_sb_vm_open,
	.close = kh_sb_vm_close,
	.fault = kh_sb_fault,
};

/* MAP_SHARED and not executable (checked by kh_mmap()); no device claim. */
int kh_sb_mmap(struct kh_file *f, struct vm_area_struct *vma, const char **why)
{
	u64 rel = ((u64)vma->vm_pgoff << PAGE_SHIFT) - CSX_KH_MMAP_SHBUF_BASE;
	unsigned long len = vma->vm_end - vma->vm_start;
	struct csx_kh_shmem *sb = NULL;
	struct kh_sb_entry *e = NULL;
	u64 id = rel >> KH_SB_SLOT_SHIFT;

	if ((rel & KH_SB_SLOT_MASK) || !id || id > U32_MAX) {
		*why = "offset is no shared buffer's CSX_KH_MMAP_SHBUF(id)";
		return -EINVAL;
	}
	mutex_lock(&f->sb_lock);
	e = xa_load(&f->sb_table, id);
	if (e && len <= e->sb->size) {
		sb = e->sb;
		kref_get(&sb->ref);
	}
	mutex_unlock(&f->sb_lock);
	if (!sb) {
		*why = e ? "mapping longer than the shared buffer" :
			   "no such shared buffer id";
		return -EINVAL;
	}
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_private_data = sb;
	vma->vm_ops = &kh_sb_vm_ops;
	return 0;
}

/* ---- csx.ko's side (csx_kh_upcall.h) ------------------------------------------ */

int csx_kh_shbuf_alloc(size_t size, struct csx_kh_shmem **out, void **addr)
{
	struct csx_kh_shmem *sb;

	*out = NULL;
	*addr = NULL;
	if (!size || size > CSX_KH_SHBUF_MAX || !PAGE_ALIGNED(size))
		return -CSX_EINVAL;
	sb = kh_sb_new(size, GFP_KERNEL, NULL);
	if (!sb)
		return -CSX_ENOMEM;
	*out = sb;
	*addr = sb->mem;
	return 0;
}
EXPORT_SYMBOL_GPL(csx_kh_shbuf_alloc);

/*
 * Revoke every grant: each entry leaves its file's table for the file's
 * gone list (SVC_SERVE2 reports it); mappings keep the memory.
 */
void csx_kh_shbuf_free(struct csx_kh_shmem *sb)
{
	struct kh_sb_entry *e, *tmp;
	struct kh_file *f;

	if (!sb)
		return;
	mutex_lock(&kh_sb_mutex);
	sb->revoked = true;
	list_for_each_entry_safe (e, tmp, &sb->grants, node) {
		f = e->f;
		mutex_lock(&f->sb_lock);
		WARN_ON(kh_sb_remove(f, e->id) != e);
		list_move_tail(&e->node, &f->sb_gone);
		/* Ours is still held: this is never the last reference. */
		kref_put(&sb->ref, kh_sb_release_mem);
		e->sb = NULL;
		/*
		 * Wake the file's waiting SERVE2s, so an idle process learns
		 * now that it may unmap (and let the memory go), not at its
		 * next call. f->up is cleared under f->sb_lock at release.
		 */
		if (f->up)
			kh_up_kick(f, NULL);
		mutex_unlock(&f->sb_lock);
	}
	mutex_unlock(&kh_sb_mutex);
	kh_sb_put(sb);
}
EXPORT_SYMBOL_GPL(csx_kh_shbuf_free);
