/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Real PCI devices through the kernel helper (/dev/csx): a device source
 * for csx_os_dev.c (csx_user_devsrc.h) and a device for the interrupt code
 * (csx_user_dev.h), like the simulated devices, so a driver cannot tell
 * the two apart.
 *
 * What stays in the kernel: the claim, config space (filtered), DMA memory
 * and its bus addresses, and a generic ISR that masks (INTx) and wakes us.
 * What runs here: register access on the BARs mmap()ed into the process,
 * and the driver's ISR on the interrupt's wait thread, which blocks in
 * CSX_KH_IOC_INTR_WAIT. Ending an interrupt costs nothing by itself:
 * intr_eoi() only notes that the next wait unmasks first, so each
 * interrupt takes exactly one system call (wait + unmask).
 *
 * I/O port BARs are not supported (they read as absent); the spin budget
 * of csx_intr_set_spin() does not apply (the wait thread always sleeps in
 * the helper).
 */
/* mmap offsets of the helper's ABI are above 2^40: a 64-bit off_t always. */
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <csx/csx.h>

#include "../../helpers/include/csx_kh_abi.h"
#include "../sim/csx_user_devsrc.h"
#include "csx_kh.h"

#define KH_BARS 6

/* One DMA buffer; handed to the core as the opaque struct csx_os_dma. */
struct kh_dma {
	struct kh_dma *next;
	uint32_t id;
	void *cpu;
	size_t map_len; /* whole pages */
	size_t size;	/* what the driver asked for */
	uint64_t bus;
};

struct kh_bar {
	uint64_t size;	/* 0: absent, I/O or not mappable */
	uint32_t flags; /* CSX_KH_REGION_* */
	void *map;
	size_t map_len;
	bool warned; /* __atomic: "not supported" logged */
};

struct csx_kh_dev {
	struct csx_os_dev os; /* first: csx_os_dev.c and csx_os_intr.c */
	struct csx_kh_dev *next;
	int fd;
	struct csx_kh_claim claim;
	uint32_t features; /* CSX_KH_FEAT_* */
	struct kh_bar bars[KH_BARS];

	pthread_mutex_t dma_lock;
	struct kh_dma *dmas;

	/* Interrupt: set at connect, then the wait thread's alone. */
	bool irq_msi;
	bool unmask; /* the next wait ends the previous interrupt */
};

static pthread_mutex_t khs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct csx_kh_dev *khs_head;

_Static_assert(sizeof(off_t) == 8,
	       "the helper's mmap offsets need a 64-bit off_t");

static const struct csx_user_devsrc_ops kh_src_ops;
static const struct csx_user_dev_ops kh_irq_ops;

static struct csx_kh_dev *to_kh(struct csx_os_dev *d)
{
	return (struct csx_kh_dev *)d;
}

const char *csx_kh_device_path(void)
{
	const char *p = getenv("CSX_KH_DEVICE");

	return p && *p ? p : CSX_KH_DEVICE;
}

/* errno of a failed open/ioctl/mmap -> negative CSX status. */
static int kh_status(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return -CSX_EPERM;
	case ENOENT:
		return -CSX_ENOENT;
	case ENODEV:
		return -CSX_ENODEV;
	case EBUSY:
		return -CSX_EBUSY;
	case ENOMEM:
		return -CSX_ENOMEM;
	case ENOSPC:
		return -CSX_ENOSPC;
	case EINVAL:
		return -CSX_EINVAL;
	case ENXIO:
		return -CSX_ENXIO;
	case EINTR:
		return -CSX_EINTR;
	case ETIMEDOUT:
		return -CSX_ETIMEDOUT;
	case ENOTTY:
		return -CSX_EPROTO;
	default:
		return -CSX_EIO;
	}
}

/* ioctl(2), retried when a signal interrupts it. -1 with errno set. */
static int kh_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, req, arg);
	while (ret < 0 && errno == EINTR);
	return ret;
}

static size_t page_round(uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (size_t)((len + page - 1) & ~(page - 1));
}

/* ---- Registers ----------------------------------------------------------- */

static uint64_t kh_bar_size(struct csx_os_dev *d, unsigned int bar)
{
	struct csx_kh_dev *kd = to_kh(d);
	struct kh_bar *b;

	if (bar >= KH_BARS)
		return 0;
	b = &kd->bars[bar];
	if (b->map)
		return b->size;
	if ((b->flags & (CSX_KH_REGION_IO | CSX_KH_REGION_MEM)) &&
	    !__atomic_exchange_n(&b->warned, true, __ATOMIC_RELAXED))
		csx_warn("%s: BAR%u: %s: not supported in user mode (the "
			 "BAR reads as absent)",
			 d->name, bar,
			 b->flags & CSX_KH_REGION_IO ?
				 "I/O port BAR" :
				 "memory BAR the helper cannot map");
	return 0;
}

static uint64_t kh_reg_read(struct csx_os_dev *d, unsigned int bar,
			    uint64_t off, unsigned int width)
{
	uint8_t *p = (uint8_t *)to_kh(d)->bars[bar].map + off;

	switch (width) {
	case 1:
		return *(volatile uint8_t *)p;
	case 2:
		return *(volatile uint16_t *)p;
	case 4:
		return *(volatile uint32_t *)p;
	default:
		return *(volatile uint64_t *)p;
	}
}

static void kh_reg_write(struct csx_os_dev *d, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t val)
{
	uint8_t *p = (uint8_t *)to_kh(d)->bars[bar].map + off;

	switch (width) {
	case 1:
		*(volatile uint8_t *)p = (uint8_t)val;
		break;
	case 2:
		*(volatile uint16_t *)p = (uint16_t)val;
		break;
	case 4:
		*(volatile uint32_t *)p = (uint32_t)val;
		break;
	default:
		*(volatile uint64_t *)p = val;
		break;
	}
}

/* ---- Config space -------------------------------------------------------- */

static int kh_cfg_read(struct csx_os_dev *d, unsigned int off,
		       unsigned int size, uint32_t *val)
{
	struct csx_kh_cfg c = { .size = sizeof(c),
				.offset = off,
				.width = size };
	int err;

	if (kh_ioctl(to_kh(d)->fd, CSX_KH_IOC_CFG_READ, &c)) {
		err = errno;
		csx_err("%s: config read of %u bytes at 0x%x failed: %s",
			d->name, size, off, strerror(err));
		return kh_status(err);
	}
	*val = c.value;
	return 0;
}

static int kh_cfg_write(struct csx_os_dev *d, unsigned int off,
			unsigned int size, uint32_t val)
{
	struct csx_kh_cfg c = {
		.size = sizeof(c), .offset = off, .width = size, .value = val
	};
	int err;

	if (kh_ioctl(to_kh(d)->fd, CSX_KH_IOC_CFG_WRITE, &c)) {
		err = errno;
		csx_err("%s: config write of %u bytes (0x%x) at 0x%x failed: "
			"%s%s",
			d->name, size, val, off, strerror(err),
			err == EPERM ? " (the helper protects this register)" :
				       "");
		return kh_status(err);
	}
	return 0;
}

/* ---- DMA ----------------------------------------------------------------- */

static void kh_dma_forget(struct csx_kh_dev *kd, uint32_t id)
{
	struct csx_kh_dma m = { .size = sizeof(m), .id = id };

	if (kh_ioctl(kd->fd, CSX_KH_IOC_DMA_FREE, &m))
		csx_err("%s: freeing DMA buffer %u in the helper failed: %s",
			kd->os.name, id, strerror(errno));
}

static int kh_dma_alloc(struct csx_os_dev *d, size_t size,
			struct csx_os_dma **out, void **cpu, uint64_t *bus)
{
	struct csx_kh_dev *kd = to_kh(d);
	struct csx_kh_dma m = { .size = sizeof(m) };
	struct kh_dma *b;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b) {
		csx_err("%s: DMA buffer of %zu bytes: out of memory", d->name,
			size);
		return -CSX_ENOMEM;
	}
	m.addr_bits = d->dma_bits;
	m.length = size;
	if (kh_ioctl(kd->fd, CSX_KH_IOC_DMA_ALLOC, &m)) {
		err = errno;
		csx_err("%s: DMA buffer of %zu bytes (%u address bits) failed "
			"in the helper: %s",
			d->name, size, d->dma_bits ? d->dma_bits : 64,
			strerror(err));
		free(b);
		return kh_status(err);
	}
	b->id = m.id;
	b->size = size;
	b->bus = m.bus_addr;
	b->map_len = page_round(size);
	b->cpu = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      kd->fd, (off_t)m.mmap_offset);
	if (b->cpu == MAP_FAILED) {
		err = errno;
		csx_err("%s: mapping DMA buffer %u (%zu bytes) failed: %s",
			d->name, b->id, b->map_len, strerror(err));
		kh_dma_forget(kd, b->id);
		free(b);
		return kh_status(err);
	}
	pthread_mutex_lock(&kd->dma_lock);
	b->next = kd->dmas;
	kd->dmas = b;
	pthread_mutex_unlock(&kd->dma_lock);
	*out = (struct csx_os_dma *)b;
	*cpu = b->cpu;
	*bus = b->bus;
	return 0;
}

static void kh_dma_buf_free(struct csx_kh_dev *kd, struct kh_dma *b)
{
	if (munmap(b->cpu, b->map_len))
		csx_err("%s: unmapping DMA buffer %u failed: %s", kd->os.name,
			b->id, strerror(errno));
	kh_dma_forget(kd, b->id);
	free(b);
}

static void kh_dma_free(struct csx_os_dev *d, struct csx_os_dma *dma)
{
	struct csx_kh_dev *kd = to_kh(d);
	struct kh_dma *b = (struct kh_dma *)dma, **pp;

	pthread_mutex_lock(&kd->dma_lock);
	for (pp = &kd->dmas; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&kd->dma_lock);
	kh_dma_buf_free(kd, b);
}

/* ---- Enable / disable ---------------------------------------------------- */

static int kh_master(struct csx_kh_dev *kd, bool on)
{
	struct csx_kh_enable e = { .size = sizeof(e), .master = on };
	int err;

	if (!kh_ioctl(kd->fd, CSX_KH_IOC_ENABLE, &e))
		return 0;
	err = errno;
	csx_err("%s: turning bus mastering %s failed: %s", kd->os.name,
		on ? "on" : "off", strerror(err));
	return kh_status(err);
}

/* Memory decoding is on since the claim; bus mastering follows the driver. */
static int kh_enable(struct csx_os_dev *d)
{
	return kh_master(to_kh(d), true);
}

static void kh_disable(struct csx_os_dev *d)
{
	kh_master(to_kh(d), false);
}

static const struct csx_user_devsrc_ops kh_src_ops = {
	.kind = "kh",
	.bar_size = kh_bar_size,
	.reg_read = kh_reg_read,
	.reg_write = kh_reg_write,
	.cfg_read = kh_cfg_read,
	.cfg_write = kh_cfg_write,
	.dma_alloc = kh_dma_alloc,
	.dma_free = kh_dma_free,
	.enable = kh_enable,
	.disable = kh_disable,
};

/* ---- Interrupts ---------------------------------------------------------- */

static int kh_intr_connect(struct csx_os_dev *d, unsigned int flags,
			   struct csx_user_irq *irq, bool *is_msi)
{
	struct csx_kh_dev *kd = to_kh(d);
	struct csx_kh_intr_attach a = { .size = sizeof(a) };
	int err;

	(void)irq; /* the wait thread asks the helper (intr_wait) */
	a.mode = flags == CSX_INTR_MSI	? CSX_KH_MODE_MSI :
		 flags == CSX_INTR_INTX ? CSX_KH_MODE_INTX :
					  CSX_KH_MODE_ANY;
	if (kh_ioctl(kd->fd, CSX_KH_IOC_INTR_ATTACH, &a)) {
		err = errno;
		if (err == ENODEV) {
			csx_err("%s: interrupt attach: the device offers no %s "
				"interrupt",
				d->name,
				a.mode == CSX_KH_MODE_MSI  ? "MSI" :
				a.mode == CSX_KH_MODE_INTX ? "INTx" :
							     "usable");
			return -CSX_ENOSYS;
		}
		csx_err("%s: interrupt attach failed in the helper: %s",
			d->name, strerror(err));
		return err == EBUSY ? -CSX_EEXIST : kh_status(err);
	}
	kd->irq_msi = a.is_msi;
	kd->unmask = false;
	*is_msi = a.is_msi;
	csx_dbg("%s: %s interrupt attached (Linux irq %u)", d->name,
		a.is_msi ? "MSI" : "INTx", a.irq);
	return 0;
}

static void kh_intr_disconnect(struct csx_os_dev *d)
{
	if (kh_ioctl(to_kh(d)->fd, CSX_KH_IOC_INTR_DETACH, NULL))
		csx_err("%s: interrupt detach failed in the helper: %s",
			d->name, strerror(errno));
}

/* End of interrupt: folded into the next wait (one system call). */
static void kh_intr_eoi(struct csx_os_dev *d)
{
	to_kh(d)->unmask = true;
}

static int kh_intr_wait(struct csx_os_dev *d)
{
	struct csx_kh_dev *kd = to_kh(d);
	struct csx_kh_intr_wait w = { .size = sizeof(w) };
	int ret, err;

	w.flags = kd->unmask ? CSX_KH_WAIT_UNMASK : 0;
	for (;;) {
		ret = ioctl(kd->fd, CSX_KH_IOC_INTR_WAIT, &w);
		if (!ret || errno != EINTR)
			break;
		/* The unmask, if asked, happened before the sleep. */
		w.flags = 0;
		kd->unmask = false;
	}
	if (ret) {
		err = errno;
		csx_err("%s: waiting for the interrupt in the helper failed: "
			"%s",
			d->name, strerror(err));
		return kh_status(err);
	}
	kd->unmask = false;
	if (w.events & CSX_KH_EV_WATCHDOG)
		csx_err("%s: the helper's interrupt watchdog masked the device "
			"(an interrupt was not ended in time); unmasked again",
			d->name);
	return (w.events & CSX_KH_EV_INTR) ? 1 : 0;
}

static void kh_intr_kick(struct csx_os_dev *d)
{
	if (kh_ioctl(to_kh(d)->fd, CSX_KH_IOC_INTR_KICK, NULL))
		csx_err("%s: kicking the interrupt waiter failed: %s", d->name,
			strerror(errno));
}

static const struct csx_user_dev_ops kh_irq_ops = {
	.intr_connect = kh_intr_connect,
	.intr_disconnect = kh_intr_disconnect,
	.intr_eoi = kh_intr_eoi,
	.intr_wait = kh_intr_wait,
	.intr_kick = kh_intr_kick,
};

/* ---- Claim / release ----------------------------------------------------- */

static void kh_unmap_bars(struct csx_kh_dev *kd)
{
	unsigned int i;

	for (i = 0; i < KH_BARS; i++) {
		struct kh_bar *b = &kd->bars[i];

		if (b->map && munmap(b->map, b->map_len))
			csx_err("%s: unmapping BAR%u failed: %s", kd->os.name,
				i, strerror(errno));
		b->map = NULL;
	}
}

static int kh_map_bars(struct csx_kh_dev *kd, char *why)
{
	unsigned int i;
	int err;

	for (i = 0; i < KH_BARS; i++) {
		struct csx_kh_region r = { .size = sizeof(r), .index = i };
		struct kh_bar *b = &kd->bars[i];
		void *p;

		if (kh_ioctl(kd->fd, CSX_KH_IOC_REGION, &r)) {
			err = errno;
			snprintf(why, CSX_KH_WHY_MAX,
				 "describing BAR%u failed: %s", i,
				 strerror(err));
			return kh_status(err);
		}
		b->flags = r.bar_size ? r.flags : 0;
		if (!r.bar_size || !(r.flags & CSX_KH_REGION_MEM) ||
		    !(r.flags & CSX_KH_REGION_MMAP))
			continue;
		b->map_len = page_round(r.bar_size);
		p = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 kd->fd, (off_t)r.mmap_offset);
		if (p == MAP_FAILED) {
			err = errno;
			snprintf(why, CSX_KH_WHY_MAX,
				 "mapping BAR%u (%llu bytes) failed: %s", i,
				 (unsigned long long)r.bar_size, strerror(err));
			return kh_status(err);
		}
		b->map = p;
		b->size = r.bar_size;
	}
	return 0;
}

/* Open the helper and check its ABI; the fd, or a negative status. */
static int kh_open(char *why)
{
	struct csx_kh_version v = { .size = sizeof(v) };
	const char *path = csx_kh_device_path();
	int fd, err;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		snprintf(why, CSX_KH_WHY_MAX, "cannot open %s: %s", path,
			 strerror(err));
		return kh_status(err);
	}
	if (kh_ioctl(fd, CSX_KH_IOC_VERSION, &v)) {
		err = errno;
		snprintf(why, CSX_KH_WHY_MAX,
			 "%s is not the CSX kernel helper (version ioctl "
			 "failed: %s)",
			 path, strerror(err));
		close(fd);
		return err == ENOTTY || err == EINVAL ? -CSX_EPROTO :
							kh_status(err);
	}
	if (v.abi != CSX_KH_ABI_VERSION) {
		snprintf(why, CSX_KH_WHY_MAX,
			 "%s speaks helper ABI %u, this CSX needs ABI %u: "
			 "load the csx_helper.ko built with this CSX",
			 path, v.abi, CSX_KH_ABI_VERSION);
		close(fd);
		return -CSX_EPROTO;
	}
	return fd;
}

static void kh_free(struct csx_kh_dev *kd)
{
	struct kh_dma *b, *next;

	for (b = kd->dmas; b; b = next) {
		next = b->next;
		csx_warn("%s: DMA buffer at bus 0x%llx (%zu bytes) never freed",
			 kd->os.name, (unsigned long long)b->bus, b->size);
		kh_dma_buf_free(kd, b);
	}
	kh_unmap_bars(kd);
	if (kd->fd >= 0)
		close(kd->fd);
	pthread_mutex_destroy(&kd->dma_lock);
	free(kd);
}

static int kh_claim_fd(struct csx_kh_dev *kd, char *why)
{
	int err;

	if (!kh_ioctl(kd->fd, CSX_KH_IOC_CLAIM, &kd->claim))
		return 0;
	err = errno;
	snprintf(why, CSX_KH_WHY_MAX, "claim failed: %s%s", strerror(err),
		 err == EBUSY  ? " (device is bound to another driver or owned "
				 "by another process)" :
		 err == ENODEV ? " (no such PCI device)" :
				 "");
	return kh_status(err);
}

int csx_kh_claim(unsigned int domain, unsigned int bus, unsigned int devfn,
		 int unit, struct csx_kh_dev **out, char *why)
{
	char name[CSX_USER_DEV_NAME_MAX], whybuf[CSX_KH_WHY_MAX];
	struct csx_kh_dev *kd;
	int ret;

	if (!why)
		why = whybuf;
	why[0] = '\0';
	snprintf(name, sizeof(name), "%04x:%02x:%02x.%x", domain, bus & 0xff,
		 (devfn >> 3) & 0x1f, devfn & 7);
	if (unit < -1 || unit > CSX_USER_UNIT_MAX) {
		snprintf(why, CSX_KH_WHY_MAX, "unit %d out of range (0..%d)",
			 unit, CSX_USER_UNIT_MAX);
		csx_err("%s: %s", name, why);
		return -CSX_EINVAL;
	}
	kd = calloc(1, sizeof(*kd));
	if (!kd) {
		snprintf(why, CSX_KH_WHY_MAX, "out of memory");
		csx_err("%s: claim: out of memory", name);
		return -CSX_ENOMEM;
	}
	pthread_mutex_init(&kd->dma_lock, NULL);
	memcpy(kd->os.name, name, sizeof(name));
	kd->os.hdr.ops = &kh_irq_ops;
	kd->os.src = &kh_src_ops;
	kd->os.unit_hint = (unsigned int)(unit + 1);
	kd->fd = ret = kh_open(why);
	if (ret < 0)
		goto out_free;
	kd->claim.size = sizeof(kd->claim);
	kd->claim.domain = domain;
	kd->claim.bus = bus;
	kd->claim.devfn = devfn;
	ret = kh_claim_fd(kd, why);
	if (ret)
		goto out_free;
	kd->os.vendor = kd->claim.vendor;
	kd->os.device = kd->claim.device;
	ret = kh_map_bars(kd, why);
	if (ret)
		goto out_free;
	csx_info("%s: claimed through %s: %04x:%04x, interrupts%s%s", name,
		 csx_kh_device_path(), kd->claim.vendor, kd->claim.device,
		 kd->claim.irq_kinds & CSX_KH_IRQ_INTX ? " INTx" : "",
		 kd->claim.irq_kinds & CSX_KH_IRQ_MSI ? " MSI" : "");

	pthread_mutex_lock(&khs_lock);
	kd->next = khs_head;
	khs_head = kd;
	pthread_mutex_unlock(&khs_lock);
	ret = csx_user_dev_add(&kd->os);
	if (ret) {
		snprintf(why, CSX_KH_WHY_MAX,
			 "a device named %s exists already", name);
		csx_kh_release(kd); /* unlinks; logs nothing more */
		csx_err("%s: %s", name, why);
		return ret;
	}
	if (out)
		*out = kd;
	return 0;

out_free:
	csx_err("%s: %s", name, why);
	kh_free(kd);
	return ret;
}

void csx_kh_release(struct csx_kh_dev *kd)
{
	struct csx_kh_dev **pp;

	if (!kd)
		return;
	if (kd->os.listed)
		csx_user_dev_del(&kd->os);
	pthread_mutex_lock(&khs_lock);
	for (pp = &khs_head; *pp; pp = &(*pp)->next) {
		if (*pp == kd) {
			*pp = kd->next;
			break;
		}
	}
	pthread_mutex_unlock(&khs_lock);
	csx_dbg("%s: released", kd->os.name);
	kh_free(kd);
}

void csx_kh_release_all(void)
{
	struct csx_kh_dev *kd;

	for (;;) {
		pthread_mutex_lock(&khs_lock);
		kd = khs_head;
		pthread_mutex_unlock(&khs_lock);
		if (!kd)
			return;
		csx_kh_release(kd);
	}
}
