/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Simulated PCI devices: the model registry, instances, configuration
 * space, the INTx line and MSI, DMA through a per-device IOMMU domain, and
 * fault injection. A simulated device is a device source for csx_os_dev.c
 * (see csx_user_devsrc.h) and a device for the interrupt code (see
 * csx_user_dev.h).
 *
 * Locks, outermost first: sims_lock (instance list), then per instance
 * sd->lock (config space and interrupt state) or sd->dma_lock (IOMMU
 * domain). csx_user_irq_fire() is called with no lock held so the
 * interrupt code may call back (intr_eoi) from wherever it likes.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csx/csx.h>
#include <csx_sim.h>

#include "csx_user_devsrc.h"

#define PAGE_SIZE 4096u

/* PCI configuration space layout (type 0 header) and the bits we model. */
#define CFG_VENDOR 0x00
#define CFG_DEVICE 0x02
#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_REVISION 0x08
#define CFG_CLASS 0x09
#define CFG_HEADER_TYPE 0x0e
#define CFG_BAR0 0x10
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS_ID 0x2e
#define CFG_CAP_PTR 0x34
#define CFG_INT_LINE 0x3c
#define CFG_INT_PIN 0x3d
#define CFG_MSI 0x40
#define CFG_SIZE 256

#define CMD_MEMORY 0x0002u
#define CMD_MASTER 0x0004u
#define CMD_INTX_DISABLE 0x0400u
#define STATUS_INTERRUPT 0x0008u
#define STATUS_CAP_LIST 0x0010u
#define MSI_CAP_ID 0x05
#define MSI_CTL_ENABLE 0x0001u
#define MSI_CTL_64BIT 0x0080u

/* Where simulated BARs appear in the (fictitious) physical address map. */
#define BAR_WINDOW_BASE 0xc0000000u
#define BAR_WINDOW_SIZE 0x01000000u

#define MAX_MODELS 16
#define MAX_INSTANCES_PER_MODEL 64

/* One DMA buffer: CPU memory plus its bus address in the device's domain. */
struct csx_os_dma {
	struct csx_os_dma *next;  /* the device's domain, under dma_lock */
	struct csx_os_dma *gnext; /* all buffers by bus address, iova_lock */
	uint64_t bus;
	size_t size; /* what the driver asked for: the mapped length */
	size_t span; /* whole pages */
	void *cpu;
};

struct csx_sim_dev {
	struct csx_os_dev os; /* first: csx_os_dev.c and csx_os_intr.c */
	const struct csx_sim_model *model;
	struct csx_sim_dev *next;
	unsigned int index;
	bool has_msi;
	bool gone;		    /* __atomic */
	uint64_t delay_ns;	    /* __atomic */
	unsigned int fire_inflight; /* __atomic */
	void *priv;

	pthread_mutex_t lock; /* everything below, up to dma_lock */
	uint8_t cfg[CFG_SIZE];
	uint8_t wmask[CFG_SIZE];
	struct csx_user_irq *irq; /* connected delivery channel */
	bool irq_msi;
	bool line;	   /* INTx as the model drives it */
	bool edge_used;	   /* this assertion was delivered or dropped */
	bool in_service;   /* delivered INTx awaiting intr_eoi */
	unsigned int drop; /* deliveries still to lose */
	unsigned int spurious_pending; /* injected before any connect */
	struct csx_sim_stats stats;    /* the irqs_* counters */

	pthread_mutex_t dma_lock; /* maps and the dma_* counters */
	struct csx_os_dma *maps;
	uint64_t dma_bytes;
	uint64_t dma_faults;
};

static pthread_mutex_t sims_lock = PTHREAD_MUTEX_INITIALIZER;
static struct csx_sim_dev *sims_head;
static const struct csx_sim_model *models[MAX_MODELS];
static unsigned int nr_models;
static pthread_mutex_t iova_lock = PTHREAD_MUTEX_INITIALIZER;
static struct csx_os_dma *iova_head;
static unsigned int bar_slot_next;

extern const struct csx_sim_model csx_sim_edu_model;

static const struct csx_user_devsrc_ops sim_src_ops;
static const struct csx_user_dev_ops sim_irq_ops;

static struct csx_sim_dev *to_sim(struct csx_os_dev *d)
{
	return (struct csx_sim_dev *)d;
}

static uint64_t ones(unsigned int width)
{
	return width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
}

static bool sim_gone(struct csx_sim_dev *sd)
{
	return __atomic_load_n(&sd->gone, __ATOMIC_ACQUIRE);
}

/* ---- Configuration space ------------------------------------------------- */

static uint32_t cfg_get(const uint8_t *cfg, unsigned int off, unsigned int n)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (uint32_t)cfg[off + i] << (8 * i);
	return v;
}

static void cfg_put(uint8_t *cfg, unsigned int off, unsigned int n, uint32_t v)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void cfg_init_bars(struct csx_sim_dev *sd, uint32_t window)
{
	uint32_t addr = window;
	unsigned int i;

	for (i = 0; i < CSX_SIM_BARS; i++) {
		uint64_t size = sd->model->bars[i].size;
		uint32_t mask;

		if (!size)
			continue;
		addr = (addr + (uint32_t)size - 1) & ~((uint32_t)size - 1);
		mask = ~((uint32_t)size - 1) & ~0xfu;
		/* Memory, 32-bit, non-prefetchable: type bits are 0. */
		cfg_put(sd->cfg, CFG_BAR0 + 4 * i, 4, addr & mask);
		cfg_put(sd->wmask, CFG_BAR0 + 4 * i, 4, mask);
		addr += (uint32_t)size;
	}
}

static void cfg_init(struct csx_sim_dev *sd, unsigned int slot)
{
	const struct csx_sim_model *m = sd->model;

	cfg_put(sd->cfg, CFG_VENDOR, 2, m->vendor);
	cfg_put(sd->cfg, CFG_DEVICE, 2, m->device);
	cfg_put(sd->cfg, CFG_REVISION, 1, m->revision);
	cfg_put(sd->cfg, CFG_CLASS, 3, m->class_code);
	cfg_put(sd->cfg, CFG_HEADER_TYPE, 1, 0);
	cfg_put(sd->cfg, CFG_SUBSYS_VENDOR, 2, m->vendor);
	cfg_put(sd->cfg, CFG_SUBSYS_ID, 2, m->device);
	cfg_put(sd->wmask, CFG_COMMAND, 2,
		0x0001 | CMD_MEMORY | CMD_MASTER | 0x0040 | 0x0100 |
			CMD_INTX_DISABLE);
	cfg_init_bars(sd, BAR_WINDOW_BASE + slot * BAR_WINDOW_SIZE);
	cfg_put(sd->cfg, CFG_INT_LINE, 1, 10 + slot % 6);
	cfg_put(sd->wmask, CFG_INT_LINE, 1, 0xff);
	cfg_put(sd->cfg, CFG_INT_PIN, 1, m->intx ? 1 : 0);
	if (!sd->has_msi)
		return;
	cfg_put(sd->cfg, CFG_STATUS, 2, STATUS_CAP_LIST);
	cfg_put(sd->cfg, CFG_CAP_PTR, 1, CFG_MSI);
	cfg_put(sd->cfg, CFG_MSI, 1, MSI_CAP_ID);
	cfg_put(sd->cfg, CFG_MSI + 1, 1, 0); /* last capability */
	cfg_put(sd->cfg, CFG_MSI + 2, 2, MSI_CTL_64BIT);
	cfg_put(sd->wmask, CFG_MSI + 2, 2, MSI_CTL_ENABLE | 0x0070);
	cfg_put(sd->wmask, CFG_MSI + 4, 4, 0xfffffffc); /* address low */
	cfg_put(sd->wmask, CFG_MSI + 8, 4, 0xffffffff); /* address high */
	cfg_put(sd->wmask, CFG_MSI + 12, 2, 0xffff);	/* data */
}

static uint16_t cfg_command(struct csx_sim_dev *sd)
{
	return (uint16_t)cfg_get(sd->cfg, CFG_COMMAND, 2);
}

static bool cfg_msi_on(struct csx_sim_dev *sd)
{
	return sd->has_msi &&
	       (cfg_get(sd->cfg, CFG_MSI + 2, 2) & MSI_CTL_ENABLE);
}

static void cfg_set_bits(struct csx_sim_dev *sd, unsigned int off,
			 uint16_t bits, bool on)
{
	uint16_t v = (uint16_t)cfg_get(sd->cfg, off, 2);

	v = on ? v | bits : v & ~bits;
	cfg_put(sd->cfg, off, 2, v);
}

/* ---- Interrupt delivery -------------------------------------------------- */

/*
 * Decide under sd->lock whether one interrupt goes out; the caller fires
 * the returned channel after unlocking (sim_unlock_fire()).
 */
static struct csx_user_irq *irq_deliver(struct csx_sim_dev *sd, bool spurious)
{
	if (!sd->irq || sim_gone(sd))
		return NULL;
	if (!spurious && sd->drop) {
		sd->drop--;
		sd->stats.irqs_dropped++;
		return NULL;
	}
	if (spurious)
		sd->stats.irqs_spurious++;
	sd->stats.irqs_delivered++;
	__atomic_add_fetch(&sd->fire_inflight, 1, __ATOMIC_ACQ_REL);
	return sd->irq;
}

static void sim_unlock_fire(struct csx_sim_dev *sd, struct csx_user_irq *a,
			    struct csx_user_irq *b)
{
	pthread_mutex_unlock(&sd->lock);
	if (a) {
		csx_user_irq_fire(a);
		__atomic_sub_fetch(&sd->fire_inflight, 1, __ATOMIC_ACQ_REL);
	}
	if (b) {
		csx_user_irq_fire(b);
		__atomic_sub_fetch(&sd->fire_inflight, 1, __ATOMIC_ACQ_REL);
	}
}

static bool intx_active(struct csx_sim_dev *sd)
{
	return sd->irq && !sd->irq_msi && sd->line &&
	       !(cfg_command(sd) & CMD_INTX_DISABLE);
}

/*
 * A new reason to interrupt (line rose, unmasked, ISR attached). Level
 * semantics: while a delivery is in service the end of interrupt looks at
 * the line again, so nothing goes out here. @force ignores that this
 * assertion was already used (unmasking a line that is still active).
 */
static struct csx_user_irq *intx_trigger(struct csx_sim_dev *sd, bool force)
{
	struct csx_user_irq *irq;

	if (sd->in_service || !intx_active(sd))
		return NULL;
	if (sd->edge_used && !force)
		return NULL;
	sd->edge_used = true;
	irq = irq_deliver(sd, false);
	if (irq)
		sd->in_service = true;
	return irq;
}

static struct csx_user_irq *spurious_deliver(struct csx_sim_dev *sd)
{
	struct csx_user_irq *irq;

	if (!sd->irq) {
		sd->spurious_pending++;
		return NULL;
	}
	irq = irq_deliver(sd, true);
	if (irq && !sd->irq_msi)
		sd->in_service = true;
	return irq;
}

void csx_sim_intx_set(struct csx_sim_dev *sd, bool asserted)
{
	struct csx_user_irq *irq = NULL;

	pthread_mutex_lock(&sd->lock);
	if (sd->line == asserted) {
		pthread_mutex_unlock(&sd->lock);
		return;
	}
	sd->line = asserted;
	cfg_set_bits(sd, CFG_STATUS, STATUS_INTERRUPT, asserted);
	if (asserted)
		irq = intx_trigger(sd, false);
	else
		sd->edge_used = false;
	sim_unlock_fire(sd, irq, NULL);
}

bool csx_sim_intx_level(struct csx_sim_dev *sd)
{
	bool level;

	pthread_mutex_lock(&sd->lock);
	level = sd->line;
	pthread_mutex_unlock(&sd->lock);
	return level;
}

bool csx_sim_msi_enabled(struct csx_sim_dev *sd)
{
	bool on;

	pthread_mutex_lock(&sd->lock);
	on = cfg_msi_on(sd);
	pthread_mutex_unlock(&sd->lock);
	return on;
}

void csx_sim_msi_send(struct csx_sim_dev *sd)
{
	struct csx_user_irq *irq = NULL;

	pthread_mutex_lock(&sd->lock);
	if (cfg_msi_on(sd) && sd->irq_msi)
		irq = irq_deliver(sd, false);
	sim_unlock_fire(sd, irq, NULL);
}

static int sim_intr_connect(struct csx_os_dev *d, unsigned int flags,
			    struct csx_user_irq *irq, bool *is_msi)
{
	struct csx_sim_dev *sd = to_sim(d);
	struct csx_user_irq *a = NULL, *b = NULL;
	bool msi;

	if (flags == CSX_INTR_MSI && !sd->has_msi)
		return -CSX_ENOSYS;
	if (flags == CSX_INTR_INTX && !sd->model->intx)
		return -CSX_ENOSYS;
	msi = flags == CSX_INTR_MSI || (flags == CSX_INTR_ANY && sd->has_msi);
	if (!msi && !sd->model->intx)
		return -CSX_ENOSYS;

	pthread_mutex_lock(&sd->lock);
	if (sd->irq) {
		pthread_mutex_unlock(&sd->lock);
		return -CSX_EEXIST;
	}
	/* What Linux does around MSI: INTx is masked while MSI is on. */
	if (sd->has_msi)
		cfg_set_bits(sd, CFG_MSI + 2, MSI_CTL_ENABLE, msi);
	cfg_set_bits(sd, CFG_COMMAND, CMD_INTX_DISABLE, msi);
	sd->irq = irq;
	sd->irq_msi = msi;
	sd->in_service = false;
	sd->edge_used = false;
	*is_msi = msi;
	if (!msi)
		a = intx_trigger(sd, false);
	if (sd->spurious_pending && !sd->in_service) {
		sd->spurious_pending--;
		b = spurious_deliver(sd);
	}
	sim_unlock_fire(sd, a, b);
	return 0;
}

static void sim_intr_disconnect(struct csx_os_dev *d)
{
	struct csx_sim_dev *sd = to_sim(d);

	pthread_mutex_lock(&sd->lock);
	sd->irq = NULL;
	sd->in_service = false;
	if (sd->has_msi)
		cfg_set_bits(sd, CFG_MSI + 2, MSI_CTL_ENABLE, false);
	pthread_mutex_unlock(&sd->lock);
	/* A fire decided before we cleared sd->irq may still be running. */
	while (__atomic_load_n(&sd->fire_inflight, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void sim_intr_eoi(struct csx_os_dev *d)
{
	struct csx_sim_dev *sd = to_sim(d);
	struct csx_user_irq *irq = NULL;

	pthread_mutex_lock(&sd->lock);
	if (!sd->irq_msi) {
		sd->in_service = false;
		if (intx_active(sd)) {
			/* Still asserted: level-triggered, run the ISR again. */
			sd->edge_used = true;
			irq = irq_deliver(sd, false);
			if (irq)
				sd->in_service = true;
		}
	}
	sim_unlock_fire(sd, irq, NULL);
}

static const struct csx_user_dev_ops sim_irq_ops = {
	.intr_connect = sim_intr_connect,
	.intr_disconnect = sim_intr_disconnect,
	.intr_eoi = sim_intr_eoi,
};

/* ---- Device source: BARs, config, DMA ------------------------------------ */

static bool bar_access_ok(struct csx_sim_dev *sd, unsigned int bar,
			  uint64_t off, unsigned int width)
{
	uint64_t size;

	if (bar >= CSX_SIM_BARS)
		return false;
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return false;
	size = sd->model->bars[bar].size;
	return size && off < size && width <= size - off;
}

static uint64_t sim_bar_size(struct csx_os_dev *d, unsigned int bar)
{
	struct csx_sim_dev *sd = to_sim(d);

	return bar < CSX_SIM_BARS ? sd->model->bars[bar].size : 0;
}

static uint64_t sim_reg_read(struct csx_os_dev *d, unsigned int bar,
			     uint64_t off, unsigned int width)
{
	struct csx_sim_dev *sd = to_sim(d);

	if (sim_gone(sd))
		return ones(width);
	return sd->model->bars[bar].read(sd, off, width) & ones(width);
}

static void sim_reg_write(struct csx_os_dev *d, unsigned int bar, uint64_t off,
			  unsigned int width, uint64_t val)
{
	struct csx_sim_dev *sd = to_sim(d);

	if (sim_gone(sd))
		return;
	sd->model->bars[bar].write(sd, off, width, val & ones(width));
}

/* PCIe-sized space; beyond the 256 bytes of conventional PCI is absent. */
#define CFG_SPACE_MAX 4096u

static bool cfg_access_ok(unsigned int off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && off < CFG_SPACE_MAX &&
	       !(off & (size - 1));
}

static int sim_cfg_read(struct csx_os_dev *d, unsigned int off,
			unsigned int size, uint32_t *val)
{
	struct csx_sim_dev *sd = to_sim(d);

	if (!cfg_access_ok(off, size))
		return -CSX_EINVAL;
	if (sim_gone(sd) || off >= CFG_SIZE) {
		*val = (uint32_t)ones(size);
		return 0;
	}
	pthread_mutex_lock(&sd->lock);
	*val = cfg_get(sd->cfg, off, size);
	pthread_mutex_unlock(&sd->lock);
	return 0;
}

static bool covers(unsigned int off, unsigned int size, unsigned int reg)
{
	return reg >= off && reg < off + size;
}

static int sim_cfg_write(struct csx_os_dev *d, unsigned int off,
			 unsigned int size, uint32_t val)
{
	struct csx_sim_dev *sd = to_sim(d);
	struct csx_user_irq *irq = NULL;
	uint16_t old_cmd;
	unsigned int i;

	if (!cfg_access_ok(off, size))
		return -CSX_EINVAL;
	if (sim_gone(sd) || off >= CFG_SIZE)
		return 0;
	pthread_mutex_lock(&sd->lock);
	old_cmd = cfg_command(sd);
	for (i = 0; i < size; i++) {
		uint8_t m = sd->wmask[off + i];
		uint8_t b = (uint8_t)(val >> (8 * i));

		sd->cfg[off + i] = (sd->cfg[off + i] & ~m) | (b & m);
	}
	/* Unmasking INTx while the line is active interrupts at once. */
	if (covers(off, size, CFG_COMMAND + 1) &&
	    (old_cmd & CMD_INTX_DISABLE) &&
	    !(cfg_command(sd) & CMD_INTX_DISABLE))
		irq = intx_trigger(sd, true);
	sim_unlock_fire(sd, irq, NULL);
	return 0;
}

/*
 * The bus address window for a driver whose device generates @bits-bit
 * DMA addresses: the high window for wide devices, a low one (still far
 * from any CPU pointer of this process) for narrow ones like edu (28).
 */
static void iova_window(unsigned int bits, uint64_t *lo, uint64_t *hi)
{
	uint64_t top = bits && bits < 64 ? 1ULL << bits : ~0ULL;

	*lo = top > CSX_SIM_IOVA_BASE	      ? CSX_SIM_IOVA_BASE :
	      top > 2 * CSX_SIM_IOVA_LOW_BASE ? CSX_SIM_IOVA_LOW_BASE :
						PAGE_SIZE;
	*hi = top;
}

/* First fit in the window, keeping an unmapped guard page after each
 * buffer so that overruns fault; the list is sorted by bus address. */
static int iova_alloc(struct csx_os_dma *m, unsigned int bits)
{
	struct csx_os_dma **pp;
	uint64_t lo, hi, at;

	iova_window(bits, &lo, &hi);
	at = lo;
	pthread_mutex_lock(&iova_lock);
	for (pp = &iova_head; *pp; pp = &(*pp)->gnext) {
		struct csx_os_dma *e = *pp;

		if (e->bus + e->span + PAGE_SIZE <= at)
			continue;
		if (at + m->span + PAGE_SIZE <= e->bus)
			break;
		at = e->bus + e->span + PAGE_SIZE;
	}
	if (at < lo || at > hi || m->span > hi - at) {
		pthread_mutex_unlock(&iova_lock);
		return -CSX_ENOMEM;
	}
	m->bus = at;
	m->gnext = *pp;
	*pp = m;
	pthread_mutex_unlock(&iova_lock);
	return 0;
}

static void iova_free(struct csx_os_dma *m)
{
	struct csx_os_dma **pp;

	pthread_mutex_lock(&iova_lock);
	for (pp = &iova_head; *pp; pp = &(*pp)->gnext) {
		if (*pp == m) {
			*pp = m->gnext;
			break;
		}
	}
	pthread_mutex_unlock(&iova_lock);
}

static void dma_buf_free(struct csx_os_dma *m)
{
	iova_free(m);
	free(m->cpu);
	free(m);
}

static int sim_dma_alloc(struct csx_os_dev *d, size_t size,
			 struct csx_os_dma **out, void **cpu, uint64_t *bus)
{
	struct csx_sim_dev *sd = to_sim(d);
	struct csx_os_dma *m;
	size_t span = (size + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);

	if (!size || span < size)
		return -CSX_ENOMEM;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -CSX_ENOMEM;
	if (posix_memalign(&m->cpu, PAGE_SIZE, span)) {
		free(m);
		return -CSX_ENOMEM;
	}
	memset(m->cpu, 0, span);
	m->size = size;
	m->span = span;
	if (iova_alloc(m, d->dma_bits)) {
		free(m->cpu);
		free(m);
		return -CSX_ENOMEM;
	}
	pthread_mutex_lock(&sd->dma_lock);
	m->next = sd->maps;
	sd->maps = m;
	pthread_mutex_unlock(&sd->dma_lock);
	*out = m;
	*cpu = m->cpu;
	*bus = m->bus;
	return 0;
}

static void sim_dma_free(struct csx_os_dev *d, struct csx_os_dma *dma)
{
	struct csx_sim_dev *sd = to_sim(d);
	struct csx_os_dma **pp;

	/* Unmapped first: a model's transfer in flight finishes before. */
	pthread_mutex_lock(&sd->dma_lock);
	for (pp = &sd->maps; *pp; pp = &(*pp)->next) {
		if (*pp == dma) {
			*pp = dma->next;
			break;
		}
	}
	pthread_mutex_unlock(&sd->dma_lock);
	dma_buf_free(dma);
}

static int sim_enable(struct csx_os_dev *d)
{
	struct csx_sim_dev *sd = to_sim(d);

	pthread_mutex_lock(&sd->lock);
	cfg_set_bits(sd, CFG_COMMAND, CMD_MEMORY | CMD_MASTER, true);
	pthread_mutex_unlock(&sd->lock);
	return 0;
}

static void sim_disable(struct csx_os_dev *d)
{
	struct csx_sim_dev *sd = to_sim(d);

	pthread_mutex_lock(&sd->lock);
	cfg_set_bits(sd, CFG_COMMAND, CMD_MEMORY | CMD_MASTER, false);
	pthread_mutex_unlock(&sd->lock);
}

static const struct csx_user_devsrc_ops sim_src_ops = {
	.kind = "sim",
	.bar_size = sim_bar_size,
	.reg_read = sim_reg_read,
	.reg_write = sim_reg_write,
	.cfg_read = sim_cfg_read,
	.cfg_write = sim_cfg_write,
	.dma_alloc = sim_dma_alloc,
	.dma_free = sim_dma_free,
	.enable = sim_enable,
	.disable = sim_disable,
};

/* ---- DMA as the device sees it ------------------------------------------- */

static struct csx_os_dma *dma_lookup(struct csx_sim_dev *sd, uint64_t bus,
				     size_t len)
{
	struct csx_os_dma *m;

	for (m = sd->maps; m; m = m->next)
		if (bus >= m->bus && bus - m->bus <= m->size &&
		    len <= m->size - (bus - m->bus))
			return m;
	return NULL;
}

static bool dma_master_on(struct csx_sim_dev *sd)
{
	bool on;

	pthread_mutex_lock(&sd->lock);
	on = cfg_command(sd) & CMD_MASTER;
	pthread_mutex_unlock(&sd->lock);
	return on;
}

static int dma_access(struct csx_sim_dev *sd, uint64_t bus, void *dev_buf,
		      size_t len, bool to_ram)
{
	const char *why = NULL;
	struct csx_os_dma *m;

	if (sim_gone(sd))
		why = "device gone";
	else if (!dma_master_on(sd))
		why = "bus mastering off";
	pthread_mutex_lock(&sd->dma_lock);
	m = why ? NULL : dma_lookup(sd, bus, len);
	if (m) {
		uint8_t *ram = (uint8_t *)m->cpu + (bus - m->bus);

		if (to_ram)
			memcpy(ram, dev_buf, len);
		else
			memcpy(dev_buf, ram, len);
		sd->dma_bytes += len;
	} else {
		sd->dma_faults++;
	}
	pthread_mutex_unlock(&sd->dma_lock);
	if (m)
		return 0;
	csx_warn("%s: DMA fault: %s of %zu bytes at bus address 0x%llx: %s",
		 sd->os.name, to_ram ? "write" : "read", len,
		 (unsigned long long)bus, why ? why : "not mapped");
	return -CSX_EFAULT;
}

int csx_sim_dma_read(struct csx_sim_dev *sd, uint64_t bus, void *buf,
		     size_t len)
{
	return dma_access(sd, bus, buf, len, false);
}

int csx_sim_dma_write(struct csx_sim_dev *sd, uint64_t bus, const void *buf,
		      size_t len)
{
	return dma_access(sd, bus, (void *)buf, len, true);
}

/* ---- Faults -------------------------------------------------------------- */

uint64_t csx_sim_completion_delay(struct csx_sim_dev *sd)
{
	return __atomic_load_n(&sd->delay_ns, __ATOMIC_RELAXED);
}

void csx_sim_fault_drop_irqs(struct csx_sim_dev *sd, unsigned int n)
{
	pthread_mutex_lock(&sd->lock);
	sd->drop += n;
	pthread_mutex_unlock(&sd->lock);
}

void csx_sim_fault_spurious(struct csx_sim_dev *sd)
{
	struct csx_user_irq *irq;

	pthread_mutex_lock(&sd->lock);
	irq = spurious_deliver(sd);
	sim_unlock_fire(sd, irq, NULL);
}

void csx_sim_fault_delay(struct csx_sim_dev *sd, uint64_t ns)
{
	__atomic_store_n(&sd->delay_ns, ns, __ATOMIC_RELAXED);
}

void csx_sim_fault_gone(struct csx_sim_dev *sd, bool gone)
{
	__atomic_store_n(&sd->gone, gone, __ATOMIC_RELEASE);
	csx_info("%s: %s", sd->os.name,
		 gone ? "surprise removal (device gone)" : "device back");
}

static int parse_uint(const char *s, unsigned long long *v, const char **end)
{
	char *e;

	if (*s < '0' || *s > '9')
		return -CSX_EINVAL;
	*v = strtoull(s, &e, 10);
	*end = e;
	return 0;
}

static int parse_duration(const char *s, uint64_t *ns)
{
	unsigned long long v;
	const char *unit;
	uint64_t mult;

	if (parse_uint(s, &v, &unit))
		return -CSX_EINVAL;
	if (!*unit || !strcmp(unit, "ms"))
		mult = CSX_NSEC_PER_MSEC;
	else if (!strcmp(unit, "ns"))
		mult = 1;
	else if (!strcmp(unit, "us"))
		mult = CSX_NSEC_PER_USEC;
	else if (!strcmp(unit, "s"))
		mult = CSX_NSEC_PER_SEC;
	else
		return -CSX_EINVAL;
	*ns = v * mult;
	return 0;
}

int csx_sim_fault_apply(struct csx_sim_dev *sd, const char *spec)
{
	unsigned long long n;
	const char *end;
	uint64_t ns;

	if (!sd || !spec)
		return -CSX_EINVAL;
	if (!strcmp(spec, "gone")) {
		csx_sim_fault_gone(sd, true);
	} else if (!strcmp(spec, "spurious")) {
		csx_sim_fault_spurious(sd);
	} else if (!strcmp(spec, "drop-irq")) {
		csx_sim_fault_drop_irqs(sd, 1);
	} else if (!strncmp(spec, "drop-irq:", 9)) {
		if (parse_uint(spec + 9, &n, &end) || *end || n > 1000000)
			return -CSX_EINVAL;
		csx_sim_fault_drop_irqs(sd, (unsigned int)n);
	} else if (!strncmp(spec, "delay:", 6)) {
		if (parse_duration(spec + 6, &ns))
			return -CSX_EINVAL;
		csx_sim_fault_delay(sd, ns);
	} else {
		return -CSX_EINVAL;
	}
	return 0;
}

int csx_sim_stats(struct csx_sim_dev *sd, struct csx_sim_stats *out)
{
	if (!sd || !out)
		return -CSX_EINVAL;
	pthread_mutex_lock(&sd->lock);
	out->irqs_delivered = sd->stats.irqs_delivered;
	out->irqs_dropped = sd->stats.irqs_dropped;
	out->irqs_spurious = sd->stats.irqs_spurious;
	pthread_mutex_unlock(&sd->lock);
	pthread_mutex_lock(&sd->dma_lock);
	out->dma_bytes = sd->dma_bytes;
	out->dma_faults = sd->dma_faults;
	pthread_mutex_unlock(&sd->dma_lock);
	return 0;
}

/* ---- Access as the CPU would --------------------------------------------- */

uint64_t csx_sim_mmio_read(struct csx_sim_dev *sd, unsigned int bar,
			   uint64_t off, unsigned int width)
{
	if (!bar_access_ok(sd, bar, off, width))
		return width <= 8 ? ones(width) : ~0ULL;
	return sim_reg_read(&sd->os, bar, off, width);
}

void csx_sim_mmio_write(struct csx_sim_dev *sd, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t val)
{
	if (bar_access_ok(sd, bar, off, width))
		sim_reg_write(&sd->os, bar, off, width, val);
}

int csx_sim_cfg_read(struct csx_sim_dev *sd, unsigned int off,
		     unsigned int size, uint32_t *val)
{
	if (!sd || !val)
		return -CSX_EINVAL;
	return sim_cfg_read(&sd->os, off, size, val);
}

int csx_sim_cfg_write(struct csx_sim_dev *sd, unsigned int off,
		      unsigned int size, uint32_t val)
{
	if (!sd)
		return -CSX_EINVAL;
	return sim_cfg_write(&sd->os, off, size, val);
}

/* ---- Models and instances ------------------------------------------------ */

static bool model_valid(const struct csx_sim_model *m)
{
	unsigned int i;

	if (!m || !m->name || !*m->name || strlen(m->name) > 16)
		return false;
	for (i = 0; i < CSX_SIM_BARS; i++) {
		const struct csx_sim_bar *b = &m->bars[i];

		if (!b->size)
			continue;
		if (b->size < 16 || (b->size & (b->size - 1)) ||
		    b->size > BAR_WINDOW_SIZE / 2 || !b->read || !b->write)
			return false;
	}
	return true;
}

static const struct csx_sim_model *model_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < nr_models; i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

/* Called with sims_lock held. */
static int model_add(const struct csx_sim_model *m)
{
	if (model_find(m->name))
		return -CSX_EEXIST;
	if (nr_models == MAX_MODELS)
		return -CSX_ENOMEM;
	models[nr_models++] = m;
	return 0;
}

/* The built-in models; called with sims_lock held. */
static void models_builtin(void)
{
	if (!nr_models)
		model_add(&csx_sim_edu_model);
}

int csx_sim_model_register(const struct csx_sim_model *model)
{
	int ret;

	if (!model_valid(model))
		return -CSX_EINVAL;
	pthread_mutex_lock(&sims_lock);
	models_builtin();
	ret = model_add(model);
	pthread_mutex_unlock(&sims_lock);
	return ret;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no")) {
		*out = false;
		return 0;
	}
	return -CSX_EINVAL;
}

/* unit=N: decimal, 0..CSX_USER_UNIT_MAX; *@hint gets N + 1. */
static int parse_unit(const char *v, unsigned int *hint)
{
	unsigned long n;
	char *end;

	if (*v < '0' || *v > '9')
		return -CSX_EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end || errno || n > CSX_USER_UNIT_MAX)
		return -CSX_EINVAL;
	*hint = (unsigned int)n + 1;
	return 0;
}

static int parse_options(struct csx_sim_dev *sd, const char *options)
{
	char buf[128], *save = NULL, *tok;

	if (!options || !*options)
		return 0;
	if (strlen(options) >= sizeof(buf))
		return -CSX_EINVAL;
	strcpy(buf, options);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val)
			return -CSX_EINVAL;
		*val++ = '\0';
		if (!strcmp(tok, "unit")) {
			if (parse_unit(val, &sd->os.unit_hint))
				return -CSX_EINVAL;
			continue;
		}
		if (strcmp(tok, "msi") || parse_bool(val, &sd->has_msi))
			return -CSX_EINVAL;
		if (sd->has_msi && !sd->model->msi)
			return -CSX_EINVAL;
	}
	return 0;
}

/* Lowest free index of @m and a BAR window slot; sims_lock held. */
static int instance_slot(const struct csx_sim_model *m, unsigned int *index)
{
	bool used[MAX_INSTANCES_PER_MODEL] = { false };
	struct csx_sim_dev *it;
	unsigned int i;

	for (it = sims_head; it; it = it->next)
		if (it->model == m)
			used[it->index] = true;
	for (i = 0; i < MAX_INSTANCES_PER_MODEL; i++) {
		if (!used[i]) {
			*index = i;
			return 0;
		}
	}
	return -CSX_ENOSPC;
}

/* Reserve a name and link the instance; sims_lock held. */
static int instance_link(struct csx_sim_dev *sd)
{
	struct csx_sim_dev **pp;
	int ret;

	ret = instance_slot(sd->model, &sd->index);
	if (ret)
		return ret;
	snprintf(sd->os.name, sizeof(sd->os.name), "sim-%s%u", sd->model->name,
		 sd->index);
	for (pp = &sims_head; *pp; pp = &(*pp)->next)
		;
	*pp = sd;
	return 0;
}

static void instance_unlink(struct csx_sim_dev *sd)
{
	struct csx_sim_dev **pp;

	pthread_mutex_lock(&sims_lock);
	for (pp = &sims_head; *pp; pp = &(*pp)->next) {
		if (*pp == sd) {
			*pp = sd->next;
			break;
		}
	}
	pthread_mutex_unlock(&sims_lock);
}

static struct csx_sim_dev *instance_alloc(const struct csx_sim_model *m)
{
	struct csx_sim_dev *sd;

	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return NULL;
	if (m->priv_size) {
		sd->priv = calloc(1, m->priv_size);
		if (!sd->priv) {
			free(sd);
			return NULL;
		}
	}
	sd->model = m;
	sd->has_msi = m->msi;
	pthread_mutex_init(&sd->lock, NULL);
	pthread_mutex_init(&sd->dma_lock, NULL);
	sd->os.hdr.ops = &sim_irq_ops;
	sd->os.src = &sim_src_ops;
	sd->os.vendor = m->vendor;
	sd->os.device = m->device;
	return sd;
}

static void instance_free(struct csx_sim_dev *sd)
{
	struct csx_os_dma *m, *next;

	/* A driver that leaked DMA buffers: the mappings die with the device. */
	for (m = sd->maps; m; m = next) {
		next = m->next;
		csx_warn("%s: DMA buffer at bus 0x%llx (%zu bytes) never freed",
			 sd->os.name, (unsigned long long)m->bus, m->size);
		dma_buf_free(m);
	}
	pthread_mutex_destroy(&sd->lock);
	pthread_mutex_destroy(&sd->dma_lock);
	free(sd->priv);
	free(sd);
}

int csx_sim_create(const char *model, const char *options,
		   struct csx_sim_dev **out)
{
	const struct csx_sim_model *m;
	struct csx_sim_dev *sd;
	int ret;

	if (!model)
		return -CSX_EINVAL;
	pthread_mutex_lock(&sims_lock);
	models_builtin();
	m = model_find(model);
	pthread_mutex_unlock(&sims_lock);
	if (!m)
		return -CSX_ENOENT;
	sd = instance_alloc(m);
	if (!sd)
		return -CSX_ENOMEM;
	ret = parse_options(sd, options);
	if (ret)
		goto out_free;

	pthread_mutex_lock(&sims_lock);
	ret = instance_link(sd);
	if (!ret)
		cfg_init(sd, bar_slot_next++ % 32);
	pthread_mutex_unlock(&sims_lock);
	if (ret)
		goto out_free;

	ret = m->create ? m->create(sd) : 0;
	if (ret)
		goto out_unlink;
	ret = csx_user_dev_add(&sd->os);
	if (ret)
		goto out_destroy;
	csx_dbg("%s: created (%s)", sd->os.name,
		sd->has_msi ? "INTx and MSI" : "INTx only");
	if (out)
		*out = sd;
	return 0;

out_destroy:
	if (m->destroy)
		m->destroy(sd);
out_unlink:
	instance_unlink(sd);
out_free:
	instance_free(sd);
	return ret;
}

void csx_sim_destroy(struct csx_sim_dev *sd)
{
	if (!sd)
		return;
	csx_user_dev_del(&sd->os);
	if (sd->model->destroy)
		sd->model->destroy(sd);
	instance_unlink(sd);
	instance_free(sd);
}

void csx_sim_destroy_all(void)
{
	struct csx_sim_dev *sd, *last;

	for (;;) {
		pthread_mutex_lock(&sims_lock);
		last = NULL;
		for (sd = sims_head; sd; sd = sd->next)
			last = sd;
		pthread_mutex_unlock(&sims_lock);
		if (!last)
			return;
		csx_sim_destroy(last);
	}
}

struct csx_sim_dev *csx_sim_find(const char *name)
{
	struct csx_sim_dev *sd;

	if (!name)
		return NULL;
	pthread_mutex_lock(&sims_lock);
	for (sd = sims_head; sd; sd = sd->next)
		if (!strcmp(sd->os.name, name))
			break;
	pthread_mutex_unlock(&sims_lock);
	return sd;
}

const char *csx_sim_name(const struct csx_sim_dev *sd)
{
	return sd->os.name;
}

bool csx_sim_is_bound(struct csx_sim_dev *sd)
{
	return csx_user_dev_bound(&sd->os);
}

void *csx_sim_priv(struct csx_sim_dev *sd)
{
	return sd->priv;
}
