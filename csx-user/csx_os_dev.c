/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode device hooks: the device list, driver matching and probing,
 * and the forwarding of register, config and DMA work to each device's
 * source (simulated devices today, devices claimed through the kernel
 * helper later; see sim/csx_user_devsrc.h).
 *
 * One bus lock serializes probe and remove against device arrival and
 * departure, as the kernel's driver core does; register access never
 * takes it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <csx/csx.h>
#include <csx/csx_os.h>

#include "sim/csx_user_devsrc.h"

struct drv_node {
	struct csx_driver *drv;
	struct drv_node *next;
};

static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
/* Both lists keep arrival order so probing order is reproducible. */
static struct csx_os_dev *dev_head;
static struct drv_node *drv_head;

static void dev_probe_one(struct csx_os_dev *d, struct csx_driver *drv)
{
	const struct csx_pci_id *id;
	struct csx_device *core = NULL;
	int ret;

	if (d->drv)
		return;
	id = csx__pci_match(drv->ids, d->vendor, d->device);
	if (!id)
		return;
	/* The driver allocates DMA buffers in probe(): know its width now. */
	d->dma_bits = drv->dma_bits;
	ret = d->src->enable(d);
	if (ret) {
		csx_warn("%s: cannot enable for %s: %s", d->name, drv->name,
			 csx_strerror(ret));
		return;
	}
	ret = csx__dev_probe(drv, d, d->name, id, &core);
	if (ret) {
		csx_dbg("%s: %s declined: %s", d->name, drv->name,
			csx_strerror(ret));
		d->src->disable(d);
		return;
	}
	d->drv = drv;
	d->core = core;
}

static void dev_remove_one(struct csx_os_dev *d)
{
	csx__dev_remove(d->core);
	d->src->disable(d);
	d->core = NULL;
	d->drv = NULL;
	d->dma_bits = 0;
}

static struct drv_node **drv_find(struct csx_driver *drv)
{
	struct drv_node **pp;

	for (pp = &drv_head; *pp; pp = &(*pp)->next)
		if ((*pp)->drv == drv)
			return pp;
	return NULL;
}

int csx_os_driver_register(struct csx_driver *drv)
{
	struct drv_node *n, **tail;
	struct csx_os_dev *d;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -CSX_ENOMEM;
	n->drv = drv;

	pthread_mutex_lock(&bus_lock);
	if (drv_find(drv)) {
		pthread_mutex_unlock(&bus_lock);
		free(n);
		return -CSX_EEXIST;
	}
	for (tail = &drv_head; *tail; tail = &(*tail)->next)
		;
	*tail = n;
	for (d = dev_head; d; d = d->next)
		dev_probe_one(d, drv);
	pthread_mutex_unlock(&bus_lock);
	return 0;
}

void csx_os_driver_unregister(struct csx_driver *drv)
{
	struct drv_node **pp, *n = NULL;
	struct csx_os_dev *d;

	pthread_mutex_lock(&bus_lock);
	for (d = dev_head; d; d = d->next)
		if (d->drv == drv)
			dev_remove_one(d);
	pp = drv_find(drv);
	if (pp) {
		n = *pp;
		*pp = n->next;
	}
	pthread_mutex_unlock(&bus_lock);
	free(n);
}

int csx_user_dev_add(struct csx_os_dev *d)
{
	struct csx_os_dev **pp;
	struct drv_node *n;

	d->next = NULL;
	d->drv = NULL;
	d->core = NULL;
	pthread_mutex_lock(&bus_lock);
	for (pp = &dev_head; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->name, d->name)) {
			pthread_mutex_unlock(&bus_lock);
			return -CSX_EEXIST;
		}
	}
	*pp = d;
	d->listed = true;
	for (n = drv_head; n && !d->drv; n = n->next)
		dev_probe_one(d, n->drv);
	pthread_mutex_unlock(&bus_lock);
	return 0;
}

void csx_user_dev_del(struct csx_os_dev *d)
{
	struct csx_os_dev **pp;

	pthread_mutex_lock(&bus_lock);
	if (d->drv)
		dev_remove_one(d);
	for (pp = &dev_head; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	d->listed = false;
	pthread_mutex_unlock(&bus_lock);
}

bool csx_user_dev_bound(struct csx_os_dev *d)
{
	bool bound;

	pthread_mutex_lock(&bus_lock);
	bound = d->drv != NULL;
	pthread_mutex_unlock(&bus_lock);
	return bound;
}

uint64_t csx_os_bar_size(struct csx_os_dev *d, unsigned int bar)
{
	return d->src->bar_size(d, bar);
}

uint64_t csx_os_reg_read(struct csx_os_dev *d, unsigned int bar, uint64_t off,
			 unsigned int width)
{
	return d->src->reg_read(d, bar, off, width);
}

void csx_os_reg_write(struct csx_os_dev *d, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t val)
{
	d->src->reg_write(d, bar, off, width, val);
}

int csx_os_cfg_read(struct csx_os_dev *d, unsigned int off, unsigned int size,
		    uint32_t *val)
{
	return d->src->cfg_read(d, off, size, val);
}

int csx_os_cfg_write(struct csx_os_dev *d, unsigned int off, unsigned int size,
		     uint32_t val)
{
	return d->src->cfg_write(d, off, size, val);
}

int csx_os_dma_alloc(struct csx_os_dev *d, size_t size, struct csx_os_dma **out,
		     void **cpu, uint64_t *bus)
{
	return d->src->dma_alloc(d, size, out, cpu, bus);
}

void csx_os_dma_free(struct csx_os_dev *d, struct csx_os_dma *dma)
{
	d->src->dma_free(d, dma);
}

int csx_os_dev_unit_hint(struct csx_os_dev *d)
{
	return d->unit_hint ? (int)(d->unit_hint - 1) : -1;
}
