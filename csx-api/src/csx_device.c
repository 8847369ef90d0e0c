/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Drivers and devices: the registered-driver list, the core device made at
 * probe, range-checked register access, config space and DMA buffers.
 *
 * A register access outside its BAR would fault (kernel) or scribble over
 * unrelated memory (user), so every access is checked against the BAR size
 * cached at probe. Bad accesses behave like a PCI master abort: reads give
 * all ones and writes vanish, and the first few per device are logged.
 */
#include "csx_core.h"

/* Bad register accesses logged per device before going quiet. */
#define CSX__BAD_ACCESS_LOG 5
#define CSX__CFG_SPACE 4096u

struct csx__drv_node {
	struct csx__drv_node *next;
	struct csx_driver *drv;
};

struct csx_dma_buf {
	uint32_t magic;
	struct csx_device *dev;
	struct csx_os_dma *os;
	void *cpu;
	uint64_t bus;
	size_t size;
};

static struct csx__drv_node *csx__drivers;
/* Every probed device, for unit numbers (under the core lock). */
static struct csx_device *csx__devs;
static uint32_t csx__bad_dev_access;

/* ---- Drivers ------------------------------------------------------------ */

/* Caller holds the core lock. */
static struct csx__drv_node **csx__drv_find(struct csx_driver *drv)
{
	struct csx__drv_node **pos;

	for (pos = &csx__drivers; *pos; pos = &(*pos)->next) {
		if ((*pos)->drv == drv)
			return pos;
	}
	return NULL;
}

static bool csx__drv_valid(const struct csx_driver *drv)
{
	return drv && drv->name && drv->ids && drv->probe && drv->remove;
}

/* Add @node for @drv unless present; false if it was. */
static bool csx__drv_add(struct csx__drv_node *node)
{
	bool added = false;

	csx__core_lock();
	if (!csx__drv_find(node->drv)) {
		node->next = csx__drivers;
		csx__drivers = node;
		added = true;
	}
	csx__core_unlock();
	return added;
}

/* Unlink @drv; the node, or NULL if it was not registered. */
static struct csx__drv_node *csx__drv_remove(struct csx_driver *drv)
{
	struct csx__drv_node **pos, *node = NULL;

	csx__core_lock();
	pos = csx__drv_find(drv);
	if (pos) {
		node = *pos;
		*pos = node->next;
	}
	csx__core_unlock();
	return node;
}

int csx_driver_register(struct csx_driver *drv)
{
	struct csx__drv_node *node;
	int ret;

	if (!csx__drv_valid(drv))
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (!csx__core_ready())
		return csx__not_ready(__func__);
	node = csx__zalloc(sizeof(*node));
	if (!node)
		return -CSX_ENOMEM;
	node->drv = drv;
	if (!csx__drv_add(node)) {
		csx_err("csx_driver_register(): driver %s already registered",
			drv->name);
		csx__free(node);
		return -CSX_EEXIST;
	}
	ret = csx_os_driver_register(drv);
	if (ret) {
		csx__free(csx__drv_remove(drv));
		return ret;
	}
	csx__live_inc(CSX__T_DRIVER);
	return 0;
}

void csx_driver_unregister(struct csx_driver *drv)
{
	struct csx__drv_node *node;

	if (csx__might_sleep(__func__) || !csx__core_ready())
		return;
	node = csx__drv_remove(drv);
	if (!node) {
		csx_err("csx_driver_unregister(): driver %p is not registered",
			(void *)drv);
		return;
	}
	csx_os_driver_unregister(drv);
	csx__free(node);
	csx__live_dec(CSX__T_DRIVER);
}

const struct csx_pci_id *csx__pci_match(const struct csx_pci_id *ids,
					uint16_t vendor, uint16_t device)
{
	if (!ids)
		return NULL;
	for (; ids->vendor != 0 || ids->device != 0; ids++) {
		if ((ids->vendor == CSX_PCI_ANY_ID || ids->vendor == vendor) &&
		    (ids->device == CSX_PCI_ANY_ID || ids->device == device))
			return ids;
	}
	return NULL;
}

/* ---- Devices ------------------------------------------------------------ */

void csx__dev_get(struct csx_device *dev)
{
	__atomic_add_fetch(&dev->refs, 1, __ATOMIC_RELAXED);
}

void csx__dev_put(struct csx_device *dev)
{
	if (__atomic_sub_fetch(&dev->refs, 1, __ATOMIC_ACQ_REL))
		return;
	csx__free(dev->name);
	csx__free(dev);
	csx__live_dec(CSX__T_DEVICE);
}

static struct csx_device *csx__dev_new(struct csx_driver *drv,
				       struct csx_os_dev *od, const char *name)
{
	struct csx_device *dev = csx__zalloc(sizeof(*dev));
	unsigned int bar;

	if (!dev)
		return NULL;
	dev->name = csx__strdup(name);
	if (!dev->name) {
		csx__free(dev);
		return NULL;
	}
	dev->drv = drv;
	dev->od = od;
	dev->refs = 1;
	for (bar = 0; bar < CSX__BARS; bar++)
		dev->bar_size[bar] = csx_os_bar_size(od, bar);
	dev->magic = CSX__MAGIC_DEVICE;
	csx__live_inc(CSX__T_DEVICE);
	return dev;
}

/* Units in use by @drv's devices: is @unit one? Core lock held. */
static bool csx__unit_taken(struct csx_driver *drv, unsigned int unit)
{
	struct csx_device *d;

	for (d = csx__devs; d; d = d->next) {
		if (d->drv == drv && d->unit == unit)
			return true;
	}
	return false;
}

/*
 * Give @dev a unit: the host's hint when free, else the lowest free one,
 * and link it. A taken hint is logged: two instances were told the same
 * port, which a supervisor configuration should not do.
 */
static void csx__unit_assign(struct csx_device *dev)
{
	int hint = csx_os_dev_unit_hint(dev->od);
	unsigned int unit = 0;
	bool hint_taken = false;

	csx__core_lock();
	if (hint >= 0 && !csx__unit_taken(dev->drv, (unsigned int)hint)) {
		unit = (unsigned int)hint;
	} else {
		hint_taken = hint >= 0;
		while (csx__unit_taken(dev->drv, unit))
			unit++;
	}
	dev->unit = unit;
	dev->next = csx__devs;
	csx__devs = dev;
	csx__core_unlock();
	if (hint_taken)
		csx_warn("%s: unit %d is taken by another %s device; using %u",
			 dev->name, hint, dev->drv->name, unit);
}

static void csx__unit_release(struct csx_device *dev)
{
	csx__core_lock();
	csx__slist_unlink(&csx__devs, dev);
	csx__core_unlock();
}

unsigned int csx_dev_unit(struct csx_device *dev)
{
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE)) {
		csx__bad_handle(__func__, dev);
		return 0;
	}
	return dev->unit;
}

/* Undo what a driver forgot, so nothing runs against a gone driver. */
static void csx__dev_reclaim(struct csx_device *dev)
{
	struct csx_intr *intr = __atomic_load_n(&dev->intr, __ATOMIC_ACQUIRE);
	uint32_t dma = __atomic_load_n(&dev->dma_live, __ATOMIC_RELAXED);

	if (intr) {
		csx_warn("driver %s left the interrupt of %s attached; "
			 "detaching it",
			 dev->drv->name, dev->name);
		csx__intr_force_detach(intr);
	}
	/* Buffers keep the device alive (refcount) until freed. */
	if (dma)
		csx_warn("driver %s left %u DMA buffer(s) of %s allocated",
			 dev->drv->name, (unsigned int)dma, dev->name);
	csx__unit_release(dev);
	csx__magic_set(dev, CSX__MAGIC_DEAD);
	csx__dev_put(dev);
}

int csx__dev_probe(struct csx_driver *drv, struct csx_os_dev *od,
		   const char *name, const struct csx_pci_id *id,
		   struct csx_device **out)
{
	struct csx_device *dev;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (!csx__drv_valid(drv) || !od || !name || !id)
		return -CSX_EINVAL;
	dev = csx__dev_new(drv, od, name);
	if (!dev)
		return -CSX_ENOMEM;
	csx__unit_assign(dev);
	ret = drv->probe(dev, id);
	if (ret) {
		csx__dev_reclaim(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

void csx__dev_remove(struct csx_device *dev)
{
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE)) {
		csx__bad_handle(__func__, dev);
		return;
	}
	dev->drv->remove(dev);
	csx__dev_reclaim(dev);
}

const char *csx_dev_name(struct csx_device *dev)
{
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE)) {
		csx__bad_handle(__func__, dev);
		return "(invalid device)";
	}
	return dev->name;
}

void csx_dev_set_drvdata(struct csx_device *dev, void *data)
{
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE)) {
		csx__bad_handle(__func__, dev);
		return;
	}
	dev->drvdata = data;
}

void *csx_dev_get_drvdata(struct csx_device *dev)
{
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE)) {
		csx__bad_handle(__func__, dev);
		return NULL;
	}
	return dev->drvdata;
}

uint64_t csx_bar_size(struct csx_device *dev, unsigned int bar)
{
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE)) {
		csx__bad_handle(__func__, dev);
		return 0;
	}
	return bar < CSX__BARS ? dev->bar_size[bar] : 0;
}

/* ---- Registers ---------------------------------------------------------- */

/* Log the first few bad accesses of @dev (or of bad handles) only. */
static csx__cold void csx__reg_bad(struct csx_device *dev, unsigned int bar,
				   uint64_t off, unsigned int width,
				   const char *func)
{
	bool valid = csx__magic_ok(dev, CSX__MAGIC_DEVICE);
	uint32_t *count = valid ? &dev->bad_access : &csx__bad_dev_access;
	uint32_t n = __atomic_fetch_add(count, 1, __ATOMIC_RELAXED);

	if (n > CSX__BAD_ACCESS_LOG)
		return;
	if (n == CSX__BAD_ACCESS_LOG) {
		csx_err("%s(): further bad register accesses%s%s not logged",
			func, valid ? " to " : "", valid ? dev->name : "");
		return;
	}
	if (!valid) {
		csx__bad_handle(func, dev);
		return;
	}
	csx_err("%s(): %s BAR %u offset %#llx (%u bytes) is outside the BAR "
		"(size %#llx) or misaligned",
		func, dev->name, bar, (unsigned long long)off, width,
		(unsigned long long)(bar < CSX__BARS ? dev->bar_size[bar] : 0));
}

static inline bool csx__reg_ok(struct csx_device *dev, unsigned int bar,
			       uint64_t off, unsigned int width,
			       const char *func)
{
	uint64_t size;

	if (csx__likely(csx__magic_ok(dev, CSX__MAGIC_DEVICE) &&
			bar < CSX__BARS)) {
		size = dev->bar_size[bar];
		if (csx__likely(size >= width && off <= size - width &&
				(off & (width - 1)) == 0))
			return true;
	}
	csx__reg_bad(dev, bar, off, width, func);
	return false;
}

uint8_t csx_read8(struct csx_device *dev, unsigned int bar, uint64_t off)
{
	if (!csx__reg_ok(dev, bar, off, 1, __func__))
		return 0xff;
	return (uint8_t)csx_os_reg_read(dev->od, bar, off, 1);
}

uint16_t csx_read16(struct csx_device *dev, unsigned int bar, uint64_t off)
{
	if (!csx__reg_ok(dev, bar, off, 2, __func__))
		return 0xffff;
	return (uint16_t)csx_os_reg_read(dev->od, bar, off, 2);
}

uint32_t csx_read32(struct csx_device *dev, unsigned int bar, uint64_t off)
{
	if (!csx__reg_ok(dev, bar, off, 4, __func__))
		return 0xffffffffu;
	return (uint32_t)csx_os_reg_read(dev->od, bar, off, 4);
}

uint64_t csx_read64(struct csx_device *dev, unsigned int bar, uint64_t off)
{
	if (!csx__reg_ok(dev, bar, off, 8, __func__))
		return ~(uint64_t)0;
	return csx_os_reg_read(dev->od, bar, off, 8);
}

void csx_write8(struct csx_device *dev, unsigned int bar, uint64_t off,
		uint8_t val)
{
	if (csx__reg_ok(dev, bar, off, 1, __func__))
		csx_os_reg_write(dev->od, bar, off, 1, val);
}

void csx_write16(struct csx_device *dev, unsigned int bar, uint64_t off,
		 uint16_t val)
{
	if (csx__reg_ok(dev, bar, off, 2, __func__))
		csx_os_reg_write(dev->od, bar, off, 2, val);
}

void csx_write32(struct csx_device *dev, unsigned int bar, uint64_t off,
		 uint32_t val)
{
	if (csx__reg_ok(dev, bar, off, 4, __func__))
		csx_os_reg_write(dev->od, bar, off, 4, val);
}

void csx_write64(struct csx_device *dev, unsigned int bar, uint64_t off,
		 uint64_t val)
{
	if (csx__reg_ok(dev, bar, off, 8, __func__))
		csx_os_reg_write(dev->od, bar, off, 8, val);
}

/* ---- Configuration space ------------------------------------------------ */

static int csx__cfg_check(const char *func, struct csx_device *dev,
			  unsigned int off, unsigned int size)
{
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE))
		return csx__bad_handle(func, dev);
	if (size != 1 && size != 2 && size != 4) {
		csx_err("%s(): size %u is not 1, 2 or 4", func, size);
		return -CSX_EINVAL;
	}
	if (off & (size - 1)) {
		csx_err("%s(): offset %#x not aligned to %u", func, off, size);
		return -CSX_EINVAL;
	}
	if (off >= CSX__CFG_SPACE) {
		csx_err("%s(): offset %#x beyond config space", func, off);
		return -CSX_ERANGE;
	}
	return csx__might_sleep(func);
}

int csx_pci_cfg_read(struct csx_device *dev, unsigned int off,
		     unsigned int size, uint32_t *val)
{
	int ret;

	if (!val)
		return -CSX_EINVAL;
	ret = csx__cfg_check(__func__, dev, off, size);
	if (ret)
		return ret;
	return csx_os_cfg_read(dev->od, off, size, val);
}

int csx_pci_cfg_write(struct csx_device *dev, unsigned int off,
		      unsigned int size, uint32_t val)
{
	int ret = csx__cfg_check(__func__, dev, off, size);

	if (ret)
		return ret;
	return csx_os_cfg_write(dev->od, off, size, val);
}

/* ---- DMA ---------------------------------------------------------------- */

int csx_dma_alloc(struct csx_device *dev, size_t size, struct csx_dma_buf **out)
{
	struct csx_dma_buf *buf;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE))
		return csx__bad_handle(__func__, dev);
	if (size == 0)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	buf = csx__zalloc(sizeof(*buf));
	if (!buf)
		return -CSX_ENOMEM;
	ret = csx_os_dma_alloc(dev->od, size, &buf->os, &buf->cpu, &buf->bus);
	if (ret) {
		csx__free(buf);
		return ret;
	}
	buf->dev = dev;
	buf->size = size;
	buf->magic = CSX__MAGIC_DMA;
	csx__dev_get(dev);
	__atomic_add_fetch(&dev->dma_live, 1, __ATOMIC_RELAXED);
	csx__live_inc(CSX__T_DMA);
	*out = buf;
	return 0;
}

void csx_dma_free(struct csx_dma_buf *buf)
{
	struct csx_device *dev;

	if (!buf)
		return;
	if (!csx__magic_ok(buf, CSX__MAGIC_DMA)) {
		csx__bad_handle(__func__, buf);
		return;
	}
	/* Leaking the buffer is better than sleeping in atomic context. */
	if (csx__might_sleep(__func__))
		return;
	dev = buf->dev;
	csx__magic_set(buf, CSX__MAGIC_DEAD);
	csx_os_dma_free(dev->od, buf->os);
	csx__retire(buf);
	__atomic_sub_fetch(&dev->dma_live, 1, __ATOMIC_RELAXED);
	csx__dev_put(dev);
	csx__live_dec(CSX__T_DMA);
}

void *csx_dma_cpu(struct csx_dma_buf *buf)
{
	if (!csx__magic_ok(buf, CSX__MAGIC_DMA)) {
		csx__bad_handle(__func__, buf);
		return NULL;
	}
	return buf->cpu;
}

uint64_t csx_dma_bus(struct csx_dma_buf *buf)
{
	if (!csx__magic_ok(buf, CSX__MAGIC_DMA)) {
		csx__bad_handle(__func__, buf);
		return 0;
	}
	return buf->bus;
}

size_t csx_dma_size(struct csx_dma_buf *buf)
{
	if (!csx__magic_ok(buf, CSX__MAGIC_DMA)) {
		csx__bad_handle(__func__, buf);
		return 0;
	}
	return buf->size;
}
