/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-user: the device-source layer under csx_os_dev.c.
 *
 * csx_os_dev.c implements the device hooks of csx_os.h once (the device
 * list, driver matching, probe/remove) and forwards register, config and
 * DMA work to the device's source through struct csx_user_devsrc_ops.
 * Sources today: simulated devices (sim/csx_sim.c). Devices claimed from
 * the kernel helper become a second source with the same ops, so nothing
 * above this header changes when they arrive.
 */
#ifndef CSX_USER_DEVSRC_H
#define CSX_USER_DEVSRC_H

#include "../csx_user_dev.h"

/* What a device source implements; every op is required. */
struct csx_user_devsrc_ops {
	/* Source name for logs ("sim"). */
	const char *kind;
	/* Size of memory BAR @bar (0..5), 0 if absent. */
	uint64_t (*bar_size)(struct csx_os_dev *d, unsigned int bar);
	/* Register access; range already checked by the core. Any context. */
	uint64_t (*reg_read)(struct csx_os_dev *d, unsigned int bar,
			     uint64_t off, unsigned int width);
	void (*reg_write)(struct csx_os_dev *d, unsigned int bar, uint64_t off,
			  unsigned int width, uint64_t val);
	/* Config space; returns 0 or a negative status. */
	int (*cfg_read)(struct csx_os_dev *d, unsigned int off,
			unsigned int size, uint32_t *val);
	int (*cfg_write)(struct csx_os_dev *d, unsigned int off,
			 unsigned int size, uint32_t val);
	/* DMA-coherent memory with a bus address the device can use. */
	int (*dma_alloc)(struct csx_os_dev *d, size_t size,
			 struct csx_os_dma **out, void **cpu, uint64_t *bus);
	void (*dma_free)(struct csx_os_dev *d, struct csx_os_dma *dma);
	/* Before probe: memory decoding and bus mastering on. */
	int (*enable)(struct csx_os_dev *d);
	/* After remove: memory decoding and bus mastering off. */
	void (*disable)(struct csx_os_dev *d);
};

#define CSX_USER_DEV_NAME_MAX 32

/* Largest unit a host may ask for (--device ...,unit=N). */
#define CSX_USER_UNIT_MAX 1023

/*
 * A user-mode device. The source embeds it in its own device structure and
 * fills in hdr.ops, src, name, vendor, device and unit_hint before
 * csx_user_dev_add(); the fields below the line belong to csx_os_dev.c.
 */
struct csx_os_dev {
	struct csx_user_dev_hdr hdr; /* first: the interrupt code's view */
	const struct csx_user_devsrc_ops *src;
	char name[CSX_USER_DEV_NAME_MAX];
	uint16_t vendor;
	uint16_t device;
	/* The unit the host asked for, plus one; 0 (as calloc leaves it):
	 * none. Read by csx_os_dev_unit_hint(). */
	unsigned int unit_hint;
	/* --- owned by csx_os_dev.c, under its bus lock --- */
	struct csx_os_dev *next;
	struct csx_driver *drv;	 /* bound driver or NULL */
	struct csx_device *core; /* core device while bound */
	bool listed;
	/* DMA address width of the driver probing or bound (0: 64 bits);
	 * dma_alloc hands out bus addresses below 2^dma_bits. */
	unsigned int dma_bits;
};

/*
 * csx_user_dev_add() - Publish a device and probe it against the
 * registered drivers. Returns 0 (also when no driver takes it) or
 * -CSX_EEXIST (a device of that name is listed). Thread context.
 */
int csx_user_dev_add(struct csx_os_dev *d);

/*
 * csx_user_dev_del() - Remove the bound driver (if any) and unpublish the
 * device. After return no driver uses it. Thread context.
 */
void csx_user_dev_del(struct csx_os_dev *d);

/* csx_user_dev_bound() - Is a driver bound to @d right now? */
bool csx_user_dev_bound(struct csx_os_dev *d);

#endif /* CSX_USER_DEVSRC_H */
