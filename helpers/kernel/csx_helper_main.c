// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * csx_helper.ko: the kernel helper of CSX's user-mode back end. It owns
 * /dev/csx (ABI: helpers/include/csx_kh_abi.h); one open file claims at
 * most one PCI device, maps its BARs and DMA buffers and waits for its
 * interrupts. Any open file may also call services that kernel modules
 * exported in csx.ko (CSX_KH_IOC_SVC_OPEN/CALL/CLOSE, csx_helper_svc.c);
 * csx.ko is optional, taken with symbol_get() only while a file has
 * channels open. A privileged file may export services to kernel modules
 * and answer their calls (CSX_KH_IOC_SVC_EXPORT/SERVE...,
 * csx_helper_upcall.c), which csx.ko takes with symbol_get() in turn.
 *
 * Claiming binds the device to the PCI driver "csx_helper" (empty id
 * table) through driver_override + device_attach(); probe finds the claim
 * in kh_pending, set under kh_claim_mutex. Releasing (ioctl or close)
 * detaches the interrupt, turns bus mastering off, frees the DMA memory,
 * disables the device and unbinds it.
 *
 * Mappings: CSX_KH_IOC_RELEASE is refused (-EBUSY) while any mapping of
 * the file is live (counted by vm_ops open/close): the process must unmap
 * first. A close cannot meet a mapping (mappings hold the file). Buffers
 * freed by id stay allocated while mapped (kref). Mappings are filled by
 * page faults under f->lock (csx_helper_dma.c). When the PCI core removes
 * the device under us (sysfs unbind), the helper marks the claim dead,
 * zaps every mapping of the file and frees the interrupt and the DMA
 * memory: its ioctls return -ENODEV until the process releases it.
 *
 * Shared buffers (CSX_KH_IOC_SHBUF_*, csx_helper_shbuf.c) belong to the
 * file, not to a claim: their mmap(2) needs no device, and their
 * mappings do not count as the claim's (RELEASE does not wait for them).
 *
 * CSX_KH_IOC_INTR_WAIT returns -ETIMEDOUT and -EINTR (a signal; never
 * restarted) without a log line: they are results, not failures; so does
 * CSX_KH_IOC_SVC_SERVE with -EINTR.
 */
#define pr_fmt(fmt) "csx_helper: " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "csx_helper.h"

static int kh_group = -1;
module_param_named(group, kh_group, int, 0644);
MODULE_PARM_DESC(group, "Group whose members may claim devices (-1: none, "
			"CAP_SYS_RAWIO only)");

unsigned int kh_dma_limit_kb = 65536;
module_param_named(dma_limit_kb, kh_dma_limit_kb, uint, 0644);
MODULE_PARM_DESC(dma_limit_kb, "DMA memory per open file, KiB");

unsigned int kh_watchdog_ms = 2000;
module_param_named(watchdog_ms, kh_watchdog_ms, uint, 0644);
MODULE_PARM_DESC(watchdog_ms,
		 "Mask an interrupt left un-ended this long (0: never)");

static DEFINE_MUTEX(kh_claim_mutex);
static struct kh_claim *kh_pending;

/* A private address space per file (see csx_helper_dma.c). */
#define KH_FS_MAGIC 0x6373786bu
static struct vfsmount *kh_mnt;
static int kh_mnt_count;

static int kh_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, KH_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type kh_fs_type = {
	.name = KH_NAME,
	.init_fs_context = kh_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/* ---- PCI driver -------------------------------------------------------- */

static const struct pci_device_id kh_pci_ids[] = {
	{ 0 },
};

static int kh_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct kh_claim *c = READ_ONCE(kh_pending);
	int ret;

	if (!c || c->pdev != pdev)
		return -ENODEV; /* bound by hand, not by a claim */
	ret = pci_enable_device(pdev);
	if (ret) {
		c->probe_err = -EIO;
		return ret;
	}
	ret = pci_request_regions(pdev, KH_NAME);
	if (ret) {
		pci_disable_device(pdev);
		c->probe_err = -EBUSY;
		return ret;
	}
	pci_intx(pdev, 0);
	pci_clear_master(pdev);
	pci_set_drvdata(pdev, c);
	c->probed = true;
	return 0;
}

/* f->lock held: take the device away from the process. */
static void kh_hw_teardown(struct kh_file *f, struct kh_claim *c, bool zap)
{
	struct pci_dev *pdev = c->pdev;

	kh_intr_detach(f);
	/* Stops the device's DMA before its memory goes. */
	pci_clear_master(pdev);
	/* BARs and DMA buffers only: shared buffers are not the device's. */
	if (zap)
		unmap_mapping_range(f->inode->i_mapping, 0,
				    CSX_KH_MMAP_SHBUF_BASE, 1);
	kh_dma_free_all(f, zap);
	pci_intx(pdev, 0);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
}

static void kh_pci_remove(struct pci_dev *pdev)
{
	struct kh_claim *c = pci_get_drvdata(pdev);
	struct kh_file *f;

	if (!c)
		return;
	f = c->f;
	mutex_lock(&f->lock);
	if (!c->released && !c->dead) {
		/*
		 * Dead before the zap: a mapping's fault takes f->lock and then
		 * sees it (SIGBUS), so nothing maps the BARs or the DMA memory
		 * again between the zap and their release. Zapping under
		 * f->lock cannot deadlock with a fault waiting for it under
		 * mmap_lock: unmap_mapping_range() takes i_mmap_rwsem and page
		 * table locks, never mmap_lock.
		 */
		c->dead = true;
		kh_hw_teardown(f, c, true);
		pr_notice(
			"%s: removed while claimed by pid %d: interrupt, DMA memory and mappings revoked\n",
			pci_name(pdev), f->owner_pid);
	}
	mutex_unlock(&f->lock);
}

static struct pci_driver kh_pci_driver = {
	.name = KH_NAME,
	.id_table = kh_pci_ids,
	.probe = kh_pci_probe,
	.remove = kh_pci_remove,
};

/* ---- Claim and release --------------------------------------------------- */

bool kh_privileged(void)
{
	kgid_t g;

	if (capable(CAP_SYS_RAWIO))
		return true;
	if (kh_group < 0)
		return false;
	g = make_kgid(&init_user_ns, kh_group);
	return gid_valid(g) && in_group_p(g);
}

/* Config bytes 0x40..0xff covered by a capability structure. */
static void kh_cfg_scan(struct kh_claim *c)
{
	struct pci_dev *pdev = c->pdev;
	int ttl = 48;
	u16 status;
	u8 pos, id, len;

	bitmap_zero(c->cfg_protect, 256);
	bitmap_set(c->cfg_protect, 0, 0x40);
	pci_read_config_word(pdev, PCI_STATUS, &status);
	if (!(status & PCI_STATUS_CAP_LIST))
		return;
	if (pdev->hdr_type == PCI_HEADER_TYPE_CARDBUS)
		goto deny_all;
	pci_read_config_byte(pdev, PCI_CAPABILITY_LIST, &pos);
	while (pos) {
		if (pos < 0x40 || (pos & 3) || ttl-- <= 0)
			goto deny_all;
		pci_read_config_byte(pdev, pos + PCI_CAP_LIST_ID, &id);
		switch (id) {
		case PCI_CAP_ID_PM:
		case PCI_CAP_ID_SSVID:
			len = 8;
			break;
		case PCI_CAP_ID_MSI:
			len = 24;
			break;
		case PCI_CAP_ID_MSIX:
			len = 12;
			break;
		case PCI_CAP_ID_EXP:
			len = 60;
			break;
		case PCI_CAP_ID_AF:
			len = 6;
			break;
		case PCI_CAP_ID_VNDR:
			pci_read_config_byte(pdev, pos + 2, &len);
			if (len < 3)
				goto deny_all;
			break;
		default:
			/* Unknown extent: protect everything. */
			goto deny_all;
		}
		bitmap_set(c->cfg_protect, pos, min_t(int, len, 256 - pos));
		pci_read_config_byte(pdev, pos + PCI_CAP_LIST_NEXT, &pos);
	}
	return;
deny_all:
	bitmap_fill(c->cfg_protect, 256);
}

static long kh_claim(struct kh_file *f, struct csx_kh_claim *a,
		     const char **why)
{
	struct pci_dev *pdev;
	struct kh_claim *c;
	unsigned long flags;
	bool busy;
	long ret;

	if (a->reserved) {
		*why = "reserved field not zero";
		return -EINVAL;
	}
	if (!kh_privileged()) {
		*why = "not privileged (CAP_SYS_RAWIO or the helper's group)";
		return -EPERM;
	}
	if (a->domain > 0x7fffffff || a->bus > 255 || a->devfn > 255) {
		*why = "no such device address";
		return -ENODEV;
	}
	mutex_lock(&f->lock);
	busy = f->claim || f->claiming;
	f->claiming = !busy;
	mutex_unlock(&f->lock);
	if (busy) {
		*why = "this file holds a device already";
		return -EBUSY;
	}

	pdev = pci_get_domain_bus_and_slot(a->domain, a->bus, a->devfn);
	if (!pdev) {
		*why = "no such device";
		ret = -ENODEV;
		goto out;
	}
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c) {
		pci_dev_put(pdev);
		*why = "out of memory";
		ret = -ENOMEM;
		goto out;
	}
	c->pdev = pdev;
	c->f = f;

	mutex_lock(&kh_claim_mutex);
	device_lock(&pdev->dev);
	busy = pdev->dev.driver || (pdev->driver_override &&
				    strcmp(pdev->driver_override, KH_NAME));
	device_unlock(&pdev->dev);
	/*
	 * A bridge's command register gates every device behind it: never
	 * hand one to a process.
	 */
	if (!busy &&
	    (pdev->subordinate || pdev->hdr_type != PCI_HEADER_TYPE_NORMAL)) {
		mutex_unlock(&kh_claim_mutex);
		*why = "device is a bridge (not claimable)";
		ret = -EPERM;
		goto err_put;
	}
	if (busy) {
		mutex_unlock(&kh_claim_mutex);
		*why = "device has a driver or another owner";
		ret = -EBUSY;
		goto err_put;
	}
	ret = driver_set_override(&pdev->dev, &pdev->driver_override, KH_NAME,
				  strlen(KH_NAME));
	if (ret) {
		mutex_unlock(&kh_claim_mutex);
		*why = "cannot set driver_override";
		goto err_put;
	}
	WRITE_ONCE(kh_pending, c);
	ret = device_attach(&pdev->dev);
	WRITE_ONCE(kh_pending, NULL);
	if (!c->probed) {
		driver_set_override(&pdev->dev, &pdev->driver_override, "", 0);
		mutex_unlock(&kh_claim_mutex);
		*why = c->probe_err == -EIO ? "cannot enable the device" :
					      "binding the device failed";
		ret = c->probe_err ? c->probe_err : -EBUSY;
		goto err_put;
	}
	mutex_unlock(&kh_claim_mutex);

	kh_cfg_scan(c);
	a->vendor = pdev->vendor;
	a->device = pdev->device;
	a->subvendor = pdev->subsystem_vendor;
	a->subdevice = pdev->subsystem_device;
	a->class_code = pdev->class;
	a->irq_kinds = kh_intr_kinds(pdev);
	a->cfg_size = pdev->cfg_size;

	mutex_lock(&f->lock);
	f->claim = c;
	f->claim_gen++;
	f->claiming = false;
	f->owner_pid = task_tgid_nr(current);
	spin_lock_irqsave(&f->ilock, flags);
	f->isr_calls = 0;
	f->delivered = 0;
	f->consumed = 0;
	f->not_ours = 0;
	f->trips = 0;
	f->snapshot = 0;
	spin_unlock_irqrestore(&f->ilock, flags);
	mutex_unlock(&f->lock);
	return 0;

err_put:
	pci_dev_put(pdev);
	kfree(c);
out:
	mutex_lock(&f->lock);
	f->claiming = false;
	mutex_unlock(&f->lock);
	return ret;
}

static long kh_release_claim(struct kh_file *f, bool ioctl, const char **why)
{
	struct pci_dev *pdev;
	struct kh_claim *c;
	bool dead;

	mutex_lock(&kh_claim_mutex);
	mutex_lock(&f->lock);
	c = f->claim;
	if (!c) {
		mutex_unlock(&f->lock);
		mutex_unlock(&kh_claim_mutex);
		*why = "no device claimed";
		return -ENXIO;
	}
	if (ioctl && !c->dead && atomic_read(&f->maps)) {
		mutex_unlock(&f->lock);
		mutex_unlock(&kh_claim_mutex);
		*why = "mappings still exist (munmap first)";
		return -EBUSY;
	}
	dead = c->dead;
	if (!dead)
		kh_hw_teardown(f, c, false);
	else
		kh_dma_free_all(f, false);
	c->released = true;
	f->claim = NULL;
	mutex_unlock(&f->lock);

	pdev = c->pdev;
	if (!dead) {
		/* Waits for a concurrent remove() (it sees c->released). */
		device_release_driver(&pdev->dev);
		driver_set_override(&pdev->dev, &pdev->driver_override, "", 0);
	} else {
		/* remove() ran: let it return before c and f go. */
		device_lock(&pdev->dev);
		device_unlock(&pdev->dev);
		/* So that the device's own driver can bind it again. */
		driver_set_override(&pdev->dev, &pdev->driver_override, "", 0);
	}
	mutex_unlock(&kh_claim_mutex);
	pci_dev_put(pdev);
	kfree(c);
	return 0;
}

/* ---- Config space ---------------------------------------------------------- */

#define KH_CMD_USER                                                 \
	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
	 PCI_COMMAND_PARITY | PCI_COMMAND_SERR)
#define KH_STATUS_W1C                                                \
	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |           \
	 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
	 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

static long kh_cfg_check(struct kh_file *f, struct csx_kh_cfg *a,
			 const char **why)
{
	u32 w = a->width;

	if (w != 1 && w != 2 && w != 4) {
		*why = "width not 1, 2 or 4";
		return -EINVAL;
	}
	if (a->offset & (w - 1)) {
		*why = "offset not aligned to width";
		return -EINVAL;
	}
	if (a->offset >= f->claim->pdev->cfg_size ||
	    f->claim->pdev->cfg_size - a->offset < w) {
		*why = "offset beyond config space";
		return -EINVAL;
	}
	return 0;
}

static long kh_cfg_read(struct kh_file *f, struct csx_kh_cfg *a,
			const char **why)
{
	struct pci_dev *pdev = f->claim->pdev;
	long ret = kh_cfg_check(f, a, why);
	int err;
	u16 v16;
	u8 v8;

	if (ret)
		return ret;
	switch (a->width) {
	case 1:
		err = pci_read_config_byte(pdev, a->offset, &v8);
		a->value = v8;
		break;
	case 2:
		err = pci_read_config_word(pdev, a->offset, &v16);
		a->value = v16;
		break;
	default:
		err = pci_read_config_dword(pdev, a->offset, &a->value);
		break;
	}
	if (err) {
		*why = "config read failed";
		return -EIO;
	}
	return 0;
}

static long kh_cfg_write(struct kh_file *f, struct csx_kh_cfg *a,
			 const char **why)
{
	struct pci_dev *pdev = f->claim->pdev;
	u32 off = a->offset, w = a->width, v = a->value, i;
	long ret = kh_cfg_check(f, a, why);

	if (ret)
		return ret;
	if (w < 4)
		v &= (1u << (8 * w)) - 1;
	if (off >= 0x40 && off < 0x100) {
		for (i = off; i < off + w; i++) {
			if (test_bit(i, f->claim->cfg_protect)) {
				*why = "write to a capability structure";
				return -EPERM;
			}
		}
		if (w == 1)
			pci_write_config_byte(pdev, off, v);
		else if (w == 2)
			pci_write_config_word(pdev, off, v);
		else
			pci_write_config_dword(pdev, off, v);
		return 0;
	}
	if (off >= PCI_COMMAND && off < PCI_COMMAND + 4) {
		/* Bytes 4..7: command and status, as one 32-bit value. */
		u32 sh = 8 * (off - PCI_COMMAND);
		u32 bytes = (w == 4 ? ~0u : ((1u << (8 * w)) - 1)) << sh;
		u32 val = v << sh;
		u16 cmask = bytes & KH_CMD_USER;
		u16 st = (val & bytes) >> 16 & KH_STATUS_W1C;

		if (bytes & 0xffff)
			kh_intr_cmd_update(f, cmask, val & cmask);
		if (st)
			pci_write_config_word(pdev, PCI_STATUS, st);
		return 0;
	}
	if ((off == PCI_CACHE_LINE_SIZE && w <= 2) ||
	    (off == PCI_LATENCY_TIMER && w == 1)) {
		if (w == 1)
			pci_write_config_byte(pdev, off, v);
		else
			pci_write_config_word(pdev, off, v);
		return 0;
	}
	*why = off >= 0x100 ? "extended config space is read-only" :
			      "write to a protected register";
	return -EPERM;
}

/* ---- ioctl ----------------------------------------------------------------- */

static long kh_region(struct kh_file *f, struct csx_kh_region *a,
		      const char **why)
{
	struct pci_dev *pdev = f->claim->pdev;
	unsigned long fl;

	if (a->reserved) {
		*why = "reserved field not zero";
		return -EINVAL;
	}
	if (a->index >= PCI_STD_NUM_BARS) {
		*why = "BAR index above 5";
		return -EINVAL;
	}
	fl = pci_resource_flags(pdev, a->index);
	a->flags = 0;
	a->bar_size = pci_resource_len(pdev, a->index);
	a->mmap_offset = 0;
	if (!a->bar_size)
		return 0;
	if (fl & IORESOURCE_IO)
		a->flags |= CSX_KH_REGION_IO;
	if (fl & IORESOURCE_MEM) {
		a->flags |= CSX_KH_REGION_MEM;
		/*
		 * Whole pages only: the rest of a page under a smaller BAR
		 * may hold another device's registers.
		 */
		if (!(fl & IORESOURCE_UNSET) &&
		    !(pci_resource_start(pdev, a->index) & ~PAGE_MASK) &&
		    a->bar_size >= PAGE_SIZE) {
			a->flags |= CSX_KH_REGION_MMAP;
			a->mmap_offset = CSX_KH_MMAP_BAR(a->index);
		}
	}
	return 0;
}

/* Copy in a structure whose first __u32 is its size. */
static long kh_in(void *k, void __user *u, size_t size, const char **why)
{
	if (copy_from_user(k, u, size)) {
		*why = "bad argument pointer";
		return -EFAULT;
	}
	if (*(u32 *)k != size) {
		*why = "structure size not known";
		return -EINVAL;
	}
	return 0;
}

/* Every failed ioctl says why, rate-limited. */
static void kh_ioctl_failed(const char *op, const char *why, long ret)
{
	pr_notice_ratelimited("pid %d: %s: %s (%ld)\n", task_tgid_nr(current),
			      op, why ? why : "failed", ret);
}

/* CSX_KH_IOC_SVC_CALL: a call into a kernel service, the hot path. */
static inline long kh_ioctl_call(struct kh_file *f, void __user *up)
{
	struct csx_kh_svc_call c;
	const char *why = NULL;
	long ret;

	ret = kh_in(&c, up, sizeof(c), &why);
	if (!ret)
		ret = kh_svc_call(f, &c, &why);
	if (!ret && copy_to_user(up, &c, sizeof(c))) {
		why = "bad argument pointer";
		ret = -EFAULT;
	}
	if (ret)
		kh_ioctl_failed("SVC_CALL", why, ret);
	return ret;
}

/* Every other command: the arguments in a union, cleared. */
static noinline long kh_ioctl_other(struct kh_file *f, unsigned int cmd,
				    void __user *up)
{
	union {
		struct csx_kh_version ver;
		struct csx_kh_claim claim;
		struct csx_kh_region region;
		struct csx_kh_cfg cfg;
		struct csx_kh_enable en;
		struct csx_kh_dma dma;
		struct csx_kh_intr_attach att;
		struct csx_kh_intr_wait wait;
		struct csx_kh_intr_status st;
		struct csx_kh_svc_open sopen;
		struct csx_kh_svc_call call;
		struct csx_kh_svc_close sclose;
		struct csx_kh_svc_export sexport;
		struct csx_kh_svc_export_opts sexopts;
		struct csx_kh_svc_gone gone;
		struct csx_kh_svc_unexport sunexport;
		struct csx_kh_svc_serve serve;
		struct csx_kh_svc_serve2 serve2;
		struct csx_kh_shbuf shbuf;
		struct csx_kh_svc_call_shbuf callsb;
	} u;
	const char *why = NULL, *op;
	size_t out = 0;
	long ret;

	memset(&u, 0, sizeof(u));
	switch (cmd) {
	case CSX_KH_IOC_VERSION:
		op = "VERSION";
		ret = kh_in(&u, up, sizeof(u.ver), &why);
		if (!ret && u.ver.reserved) {
			why = "reserved field not zero";
			ret = -EINVAL;
		}
		if (!ret) {
			u.ver.abi = CSX_KH_ABI_VERSION;
			u.ver.features =
				CSX_KH_FEAT_SNAPSHOT | CSX_KH_FEAT_WATCHDOG |
				CSX_KH_FEAT_CALLS | CSX_KH_FEAT_UPCALLS |
				CSX_KH_FEAT_EXPORT_OPTS | CSX_KH_FEAT_SVC_GONE |
				CSX_KH_FEAT_SHBUF;
			if (IS_ENABLED(CONFIG_PCI_MSI))
				u.ver.features |= CSX_KH_FEAT_MSI;
			out = sizeof(u.ver);
		}
		break;
	case CSX_KH_IOC_CLAIM:
		op = "CLAIM";
		ret = kh_in(&u, up, sizeof(u.claim), &why);
		if (!ret)
			ret = kh_claim(f, &u.claim, &why);
		out = sizeof(u.claim);
		break;
	case CSX_KH_IOC_RELEASE:
		op = "RELEASE";
		ret = kh_release_claim(f, true, &why);
		break;
	case CSX_KH_IOC_REGION:
	case CSX_KH_IOC_CFG_READ:
	case CSX_KH_IOC_CFG_WRITE:
	case CSX_KH_IOC_ENABLE:
	case CSX_KH_IOC_DMA_ALLOC:
	case CSX_KH_IOC_DMA_FREE:
	case CSX_KH_IOC_INTR_ATTACH:
	case CSX_KH_IOC_INTR_DETACH: {
		size_t sz = _IOC_SIZE(cmd);

		switch (cmd) {
		case CSX_KH_IOC_REGION:
			op = "REGION";
			break;
		case CSX_KH_IOC_CFG_READ:
			op = "CFG_READ";
			break;
		case CSX_KH_IOC_CFG_WRITE:
			op = "CFG_WRITE";
			break;
		case CSX_KH_IOC_ENABLE:
			op = "ENABLE";
			break;
		case CSX_KH_IOC_DMA_ALLOC:
			op = "DMA_ALLOC";
			break;
		case CSX_KH_IOC_DMA_FREE:
			op = "DMA_FREE";
			break;
		case CSX_KH_IOC_INTR_ATTACH:
			op = "INTR_ATTACH";
			break;
		default:
			op = "INTR_DETACH";
			sz = 0;
			break;
		}
		ret = sz ? kh_in(&u, up, sz, &why) : 0;
		if (ret)
			break;
		mutex_lock(&f->lock);
		ret = kh_need_claim(f, &why);
		if (ret)
			goto unlock;
		switch (cmd) {
		case CSX_KH_IOC_REGION:
			ret = kh_region(f, &u.region, &why);
			out = sz;
			break;
		case CSX_KH_IOC_CFG_READ:
			ret = kh_cfg_read(f, &u.cfg, &why);
			out = sz;
			break;
		case CSX_KH_IOC_CFG_WRITE:
			ret = kh_cfg_write(f, &u.cfg, &why);
			break;
		case CSX_KH_IOC_ENABLE:
			if (u.en.master > 1) {
				why = "master not 0 or 1";
				ret = -EINVAL;
				break;
			}
			kh_intr_set_master(f, u.en.master);
			break;
		case CSX_KH_IOC_DMA_ALLOC:
			ret = kh_dma_alloc(f, &u.dma, &why);
			out = sz;
			break;
		case CSX_KH_IOC_DMA_FREE:
			if (u.dma.reserved) {
				why = "reserved field not zero";
				ret = -EINVAL;
				break;
			}
			ret = kh_dma_free(f, u.dma.id, &why);
			break;
		case CSX_KH_IOC_INTR_ATTACH:
			ret = kh_intr_attach(f, &u.att, &why);
			out = sz;
			break;
		default:
			if (!f->attached) {
				why = "no interrupt attached";
				ret = -ENOTCONN;
				break;
			}
			kh_intr_detach(f);
			break;
		}
unlock:
		mutex_unlock(&f->lock);
		break;
	}
	case CSX_KH_IOC_INTR_WAIT:
		op = "INTR_WAIT";
		ret = kh_in(&u, up, sizeof(u.wait), &why);
		if (!ret) {
			ret = kh_intr_wait(f, &u.wait, &why);
			out = sizeof(u.wait);
			if (ret == -ETIMEDOUT || ret == -EINTR)
				return ret; /* results, not failures */
		}
		break;
	case CSX_KH_IOC_INTR_KICK:
		op = "INTR_KICK";
		ret = kh_intr_kick(f, &why);
		break;
	case CSX_KH_IOC_INTR_STATUS:
		op = "INTR_STATUS";
		ret = kh_in(&u, up, sizeof(u.st), &why);
		if (!ret)
			ret = kh_intr_status(f, &u.st, &why);
		out = sizeof(u.st);
		break;
	case CSX_KH_IOC_SVC_OPEN:
		op = "SVC_OPEN";
		ret = kh_in(&u, up, sizeof(u.sopen), &why);
		if (!ret)
			ret = kh_svc_open(f, &u.sopen, &why);
		out = sizeof(u.sopen);
		break;
	case CSX_KH_IOC_SVC_CLOSE:
		op = "SVC_CLOSE";
		ret = kh_in(&u, up, sizeof(u.sclose), &why);
		if (!ret)
			ret = kh_svc_close(f, &u.sclose, &why);
		break;
	case CSX_KH_IOC_SVC_EXPORT:
		op = "SVC_EXPORT";
		ret = kh_in(&u, up, sizeof(u.sexport), &why);
		if (!ret) {
			/* The first form: nothing is re-issuable. */
			struct csx_kh_svc_export_opts o = {
				.version = u.sexport.version,
				.scope = u.sexport.scope,
			};

			memcpy(o.name, u.sexport.name, sizeof(o.name));
			ret = kh_up_export(f, &o, &why);
			u.sexport.handle = o.handle;
		}
		out = sizeof(u.sexport);
		break;
	case CSX_KH_IOC_SVC_GONE:
		op = "SVC_GONE";
		ret = kh_in(&u, up, sizeof(u.gone), &why);
		if (!ret) {
			ret = kh_svc_gone(f, &u.gone, &why);
			if (ret == -EINTR)
				return ret; /* a result, not a failure */
		}
		out = sizeof(u.gone);
		break;
	case CSX_KH_IOC_SVC_EXPORT_OPTS:
		op = "SVC_EXPORT_OPTS";
		ret = kh_in(&u, up, sizeof(u.sexopts), &why);
		if (!ret)
			ret = kh_up_export(f, &u.sexopts, &why);
		out = sizeof(u.sexopts);
		break;
	case CSX_KH_IOC_SVC_UNEXPORT:
		op = "SVC_UNEXPORT";
		ret = kh_in(&u, up, sizeof(u.sunexport), &why);
		if (!ret)
			ret = kh_up_unexport(f, &u.sunexport, &why);
		break;
	case CSX_KH_IOC_SVC_SERVE:
	case CSX_KH_IOC_SVC_SERVE2: {
		bool v2 = cmd == CSX_KH_IOC_SVC_SERVE2;

		op = v2 ? "SVC_SERVE2" : "SVC_SERVE";
		/* SERVE's structure is SERVE2's prefix: the rest stays 0. */
		ret = kh_in(&u, up, v2 ? sizeof(u.serve2) : sizeof(u.serve),
			    &why);
		if (!ret) {
			/* Copies its structure back itself. */
			ret = kh_up_serve(f, &u.serve2, v2, up, &why);
			if (ret == -EINTR)
				return ret; /* a result, not a failure */
		}
		break;
	}
	case CSX_KH_IOC_SHBUF_ALLOC:
		op = "SHBUF_ALLOC";
		ret = kh_in(&u, up, sizeof(u.shbuf), &why);
		if (!ret)
			ret = kh_sb_alloc(f, &u.shbuf, &why);
		out = sizeof(u.shbuf);
		break;
	case CSX_KH_IOC_SHBUF_FREE:
		op = "SHBUF_FREE";
		ret = kh_in(&u, up, sizeof(u.shbuf), &why);
		if (!ret)
			ret = kh_sb_free(f, &u.shbuf, &why);
		break;
	case CSX_KH_IOC_SVC_CALL_SHBUF:
		op = "SVC_CALL_SHBUF";
		ret = kh_in(&u, up, sizeof(u.callsb), &why);
		if (!ret)
			ret = kh_svc_call_shbuf(f, &u.callsb, &why);
		out = sizeof(u.callsb);
		break;
	case CSX_KH_IOC_SVC_KICK:
		op = "SVC_KICK";
		ret = kh_up_kick(f, &why);
		kh_svc_gone_kick(f);
		break;
	default:
		pr_notice_ratelimited("pid %d: ioctl 0x%x: unknown command\n",
				      task_tgid_nr(current), cmd);
		return -ENOTTY;
	}
	if (!ret && out && copy_to_user(up, &u, out)) {
		why = "bad argument pointer";
		ret = -EFAULT;
	}
	if (ret)
		kh_ioctl_failed(op, why, ret);
	return ret;
}

static long kh_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kh_file *f = file->private_data;
	void __user *up = (void __user *)arg;

	/* The one hot command, without the others' union to clear. */
	if (cmd == CSX_KH_IOC_SVC_CALL)
		return kh_ioctl_call(f, up);
	return kh_ioctl_other(f, cmd, up);
}

/* ---- File ------------------------------------------------------------------ */

static int kh_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kh_file *f = file->private_data;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT, rel;
	struct csx_kh_region r = { 0 };
	const char *why = NULL;
	int ret;

	if (!(vma->vm_flags & VM_SHARED)) {
		why = "mapping not MAP_SHARED";
		ret = -EINVAL;
		goto fail;
	}
	if (vma->vm_flags & VM_EXEC) {
		why = "executable mapping";
		ret = -EPERM;
		goto fail;
	}
	vma->vm_flags &= ~VM_MAYEXEC;
	if (off >= CSX_KH_MMAP_SHBUF_BASE) {
		/* Shared buffers belong to the file, not to a device claim. */
		ret = kh_sb_mmap(f, vma, &why);
		goto fail;
	}
	mutex_lock(&f->lock);
	ret = kh_need_claim(f, &why);
	if (ret)
		goto unlock;
	ret = -EINVAL;
	why = "offset is no BAR or buffer base";
	if (off >= CSX_KH_MMAP_BAR_BASE && off < CSX_KH_MMAP_DMA_BASE) {
		rel = off - CSX_KH_MMAP_BAR_BASE;
		if ((rel & 0xffffffffull) || (rel >> 32) >= PCI_STD_NUM_BARS)
			goto unlock;
		r.index = rel >> 32;
		kh_region(f, &r, &why);
		if (!(r.flags & CSX_KH_REGION_MMAP)) {
			why = "BAR cannot be mapped";
			goto unlock;
		}
		ret = kh_bar_mmap(f, vma, r.index);
		why = "BAR mapping failed (length?)";
	} else if (off >= CSX_KH_MMAP_DMA_BASE) {
		rel = off - CSX_KH_MMAP_DMA_BASE;
		if ((rel & 0xffffffffull) || (rel >> 32) >= CSX_KH_DMA_MAX)
			goto unlock;
		ret = kh_dma_mmap(f, vma, rel >> 32);
		why = "buffer mapping failed (id, length?)";
	}
unlock:
	mutex_unlock(&f->lock);
fail:
	if (ret)
		pr_notice_ratelimited("pid %d: mmap: %s (%d)\n",
				      task_tgid_nr(current), why, ret);
	return ret;
}

static __poll_t kh_poll(struct file *file, struct poll_table_struct *pt)
{
	return kh_intr_poll(file->private_data, file, pt);
}

static int kh_open(struct inode *inode, struct file *file)
{
	struct kh_file *f;
	int ret;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->inode = alloc_anon_inode(kh_mnt->mnt_sb);
	if (IS_ERR(f->inode)) {
		ret = PTR_ERR(f->inode);
		kfree(f);
		return ret;
	}
	ret = kh_up_init(f);
	if (ret) {
		iput(f->inode);
		kfree(f);
		return ret;
	}
	mutex_init(&f->lock);
	init_waitqueue_head(&f->svc_gone_wq);
	kh_sb_init(f);
	mutex_init(&f->dma_mutex);
	INIT_LIST_HEAD(&f->dma_list);
	idr_init(&f->dma_idr);
	atomic_set(&f->maps, 0);
	atomic64_set(&f->dma_bytes, 0);
	kh_intr_init(f);
	file->f_mapping = f->inode->i_mapping;
	file->private_data = f;
	return nonseekable_open(inode, file);
}

static int kh_release(struct inode *inode, struct file *file)
{
	struct kh_file *f = file->private_data;
	const char *why;

	/* First: kernel callers waiting on this process return at once. */
	kh_up_release(f);
	kh_svc_close_all(f);
	kh_sb_release(f);
	kh_release_claim(f, false, &why);
	del_timer_sync(&f->wd);
	idr_destroy(&f->dma_idr);
	iput(f->inode);
	mutex_destroy(&f->dma_mutex);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static const struct file_operations kh_fops = {
	.owner = THIS_MODULE,
	.open = kh_open,
	.release = kh_release,
	.unlocked_ioctl = kh_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = kh_mmap,
	.poll = kh_poll,
	.llseek = no_llseek,
};

static struct miscdevice kh_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "csx",
	.fops = &kh_fops,
	.mode = 0666,
};

static int __init kh_init(void)
{
	int ret;

	ret = simple_pin_fs(&kh_fs_type, &kh_mnt, &kh_mnt_count);
	if (ret)
		return ret;
	ret = pci_register_driver(&kh_pci_driver);
	if (ret)
		goto err_fs;
	ret = misc_register(&kh_misc);
	if (ret)
		goto err_pci;
	pr_info("ABI version %u, " CSX_KH_DEVICE
		" (group %d, dma_limit_kb %u, watchdog_ms %u)\n",
		CSX_KH_ABI_VERSION, kh_group, kh_dma_limit_kb, kh_watchdog_ms);
	return 0;

err_pci:
	pci_unregister_driver(&kh_pci_driver);
err_fs:
	simple_release_fs(&kh_mnt, &kh_mnt_count);
	return ret;
}

static void __exit kh_exit(void)
{
	misc_deregister(&kh_misc);
	pci_unregister_driver(&kh_pci_driver);
	simple_release_fs(&kh_mnt, &kh_mnt_count);
}

module_init(kh_init);
module_exit(kh_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("CSX kernel helper: PCI devices for user-mode drivers");
MODULE_AUTHOR("CSX");
