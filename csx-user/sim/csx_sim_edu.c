/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * A model of QEMU's educational PCI device "edu" (vendor 0x1234, device
 * 0x11e8), after QEMU's docs/specs/edu.rst and the behaviour of its
 * hw/misc/edu.c, so a driver that works here works on the real thing in
 * the VM:
 * - BAR0 is 1 MiB; below 0x80 only 4-byte accesses work, from 0x80 on 4 or
 *   8 bytes; anything else reads all ones and writes are dropped.
 * - Factorials and DMA transfers finish later on the model's own thread,
 *   so drivers must wait for the busy bits or the interrupt.
 * - The interrupt status register drives INTx (level) or, with MSI
 *   enabled, each raise sends one message.
 * - Like QEMU's default, the device drives only 28 address bits: a bus
 *   address above 256 MiB is cut to 28 bits (and logged), so a driver
 *   that does not declare dma_bits = 28 fails here as it would in QEMU.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <csx/csx.h>
#include <csx_sim.h>

#define EDU_BAR_SIZE (1u << 20)
#define EDU_ID_VALUE 0x010000edu

#define EDU_REG_ID 0x00
#define EDU_REG_LIVENESS 0x04
#define EDU_REG_FACT 0x08
#define EDU_REG_STATUS 0x20
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK 0x64
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98

#define EDU_STATUS_BUSY 0x01u
#define EDU_STATUS_IRQ_FACT 0x80u
#define EDU_IRQ_FACT 0x001u
#define EDU_IRQ_DMA 0x100u
#define EDU_DMA_RUN 0x1u
#define EDU_DMA_TO_RAM 0x2u
#define EDU_DMA_IRQ 0x4u
#define EDU_DMA_BASE 0x40000u
#define EDU_DMA_SIZE 4096u
#define EDU_DMA_MASK ((1ULL << 28) - 1)
#define EDU_DELAY_SLICE_NS (10 * CSX_NSEC_PER_MSEC)

struct edu {
	struct csx_sim_dev *dev;
	pthread_t worker;
	pthread_mutex_t lock; /* every field below */
	pthread_cond_t kick;  /* work arrived or stopping */
	bool stopping;
	uint32_t liveness; /* already inverted */
	uint32_t fact;	   /* argument, then result */
	uint32_t status;
	uint32_t irq_status;
	uint64_t dma_src;
	uint64_t dma_dst;
	uint64_t dma_count;
	uint64_t dma_cmd;
	uint8_t buf[EDU_DMA_SIZE];
};

static struct edu *to_edu(struct csx_sim_dev *dev)
{
	return csx_sim_priv(dev);
}

/* Lock held. OR into the status and signal it, as QEMU's edu_raise_irq. */
static void edu_raise(struct edu *e, uint32_t bits)
{
	e->irq_status |= bits;
	if (!e->irq_status)
		return;
	if (csx_sim_msi_enabled(e->dev))
		csx_sim_msi_send(e->dev);
	else
		csx_sim_intx_set(e->dev, true);
}

/* Lock held. The INTx line follows the status; MSI has no line. */
static void edu_lower(struct edu *e, uint32_t bits)
{
	e->irq_status &= ~bits;
	if (!e->irq_status && !csx_sim_msi_enabled(e->dev))
		csx_sim_intx_set(e->dev, false);
}

static bool edu_access_ok(uint64_t off, unsigned int width)
{
	if (off < 0x80)
		return width == 4;
	return width == 4 || width == 8;
}

static uint64_t edu_read(struct csx_sim_dev *dev, uint64_t off,
			 unsigned int width)
{
	struct edu *e = to_edu(dev);
	uint64_t val = ~0ULL;

	if (!edu_access_ok(off, width))
		return val;
	if (off == EDU_REG_ID)
		return EDU_ID_VALUE;
	pthread_mutex_lock(&e->lock);
	switch (off) {
	case EDU_REG_LIVENESS:
		val = e->liveness;
		break;
	case EDU_REG_FACT:
		val = e->fact;
		break;
	case EDU_REG_STATUS:
		val = e->status;
		break;
	case EDU_REG_IRQ_STATUS:
		val = e->irq_status;
		break;
	case EDU_REG_DMA_SRC:
		val = e->dma_src;
		break;
	case EDU_REG_DMA_DST:
		val = e->dma_dst;
		break;
	case EDU_REG_DMA_COUNT:
		val = e->dma_count;
		break;
	case EDU_REG_DMA_CMD:
		val = e->dma_cmd;
		break;
	}
	pthread_mutex_unlock(&e->lock);
	return val;
}

/* Lock held. DMA parameters are frozen while a transfer runs. */
static void edu_dma_param(struct edu *e, uint64_t *reg, uint64_t val)
{
	if (!(e->dma_cmd & EDU_DMA_RUN))
		*reg = val;
}

static void edu_write_locked(struct edu *e, uint64_t off, uint64_t val)
{
	switch (off) {
	case EDU_REG_LIVENESS:
		e->liveness = ~(uint32_t)val;
		break;
	case EDU_REG_FACT:
		if (e->status & EDU_STATUS_BUSY)
			break;
		e->fact = (uint32_t)val;
		e->status |= EDU_STATUS_BUSY;
		pthread_cond_signal(&e->kick);
		break;
	case EDU_REG_STATUS:
		/* Only the raise-on-completion bit is writable. */
		if (val & EDU_STATUS_IRQ_FACT)
			e->status |= EDU_STATUS_IRQ_FACT;
		else
			e->status &= ~EDU_STATUS_IRQ_FACT;
		break;
	case EDU_REG_IRQ_RAISE:
		edu_raise(e, (uint32_t)val);
		break;
	case EDU_REG_IRQ_ACK:
		edu_lower(e, (uint32_t)val);
		break;
	case EDU_REG_DMA_SRC:
		edu_dma_param(e, &e->dma_src, val);
		break;
	case EDU_REG_DMA_DST:
		edu_dma_param(e, &e->dma_dst, val);
		break;
	case EDU_REG_DMA_COUNT:
		edu_dma_param(e, &e->dma_count, val);
		break;
	case EDU_REG_DMA_CMD:
		if (!(val & EDU_DMA_RUN) || (e->dma_cmd & EDU_DMA_RUN))
			break;
		e->dma_cmd = val;
		pthread_cond_signal(&e->kick);
		break;
	}
}

static void edu_write(struct csx_sim_dev *dev, uint64_t off, unsigned int width,
		      uint64_t val)
{
	struct edu *e = to_edu(dev);

	if (!edu_access_ok(off, width))
		return;
	pthread_mutex_lock(&e->lock);
	edu_write_locked(e, off, val);
	pthread_mutex_unlock(&e->lock);
}

static uint64_t edu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * CSX_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * Lock held. Sleep the injected completion delay; false if stopping. The
 * delay is read again every slice, so lifting it finishes the work soon.
 */
static bool edu_delay(struct edu *e)
{
	uint64_t start = edu_now_ns(), delay, now, left;
	struct timespec ts;

	for (;;) {
		delay = csx_sim_completion_delay(e->dev);
		now = edu_now_ns();
		if (e->stopping || now - start >= delay)
			return !e->stopping;
		left = delay - (now - start);
		if (left > EDU_DELAY_SLICE_NS)
			left = EDU_DELAY_SLICE_NS;
		now += left;
		ts.tv_sec = (time_t)(now / CSX_NSEC_PER_SEC);
		ts.tv_nsec = (long)(now % CSX_NSEC_PER_SEC);
		pthread_cond_timedwait(&e->kick, &e->lock, &ts);
	}
}

static void edu_do_fact(struct edu *e)
{
	uint32_t n = e->fact, r = 1;

	/* The computation itself needs no lock: 0x08 is frozen while busy. */
	pthread_mutex_unlock(&e->lock);
	while (n > 0)
		r *= n--;
	pthread_mutex_lock(&e->lock);
	if (!edu_delay(e))
		return;
	e->fact = r;
	e->status &= ~EDU_STATUS_BUSY;
	if (e->status & EDU_STATUS_IRQ_FACT)
		edu_raise(e, EDU_IRQ_FACT);
}

/* Is [addr, addr + count) inside the device buffer? */
static bool edu_dma_range_ok(uint64_t addr, uint64_t count)
{
	return addr >= EDU_DMA_BASE && count <= EDU_DMA_SIZE &&
	       addr - EDU_DMA_BASE <= EDU_DMA_SIZE - count;
}

static void edu_dma_transfer(struct edu *e)
{
	bool to_ram = e->dma_cmd & EDU_DMA_TO_RAM;
	uint64_t dev_addr = to_ram ? e->dma_src : e->dma_dst;
	uint64_t bus = to_ram ? e->dma_dst : e->dma_src;
	uint8_t *p;

	if (!edu_dma_range_ok(dev_addr, e->dma_count)) {
		csx_warn("%s: DMA of %llu bytes at device address 0x%llx is "
			 "outside the buffer 0x%x-0x%x",
			 csx_sim_name(e->dev), (unsigned long long)e->dma_count,
			 (unsigned long long)dev_addr, EDU_DMA_BASE,
			 EDU_DMA_BASE + EDU_DMA_SIZE - 1);
		return;
	}
	if (bus & ~EDU_DMA_MASK) {
		csx_warn("%s: DMA address 0x%llx has more than 28 bits: "
			 "clamped to 0x%llx",
			 csx_sim_name(e->dev), (unsigned long long)bus,
			 (unsigned long long)(bus & EDU_DMA_MASK));
		bus &= EDU_DMA_MASK;
	}
	p = e->buf + (dev_addr - EDU_DMA_BASE);
	/* A refused access is logged and counted by the IOMMU layer. */
	if (to_ram)
		(void)csx_sim_dma_write(e->dev, bus, p, e->dma_count);
	else
		(void)csx_sim_dma_read(e->dev, bus, p, e->dma_count);
}

static void edu_do_dma(struct edu *e)
{
	if (!edu_delay(e))
		return;
	edu_dma_transfer(e);
	e->dma_cmd &= ~(uint64_t)EDU_DMA_RUN;
	if (e->dma_cmd & EDU_DMA_IRQ)
		edu_raise(e, EDU_IRQ_DMA);
}

static void *edu_worker(void *arg)
{
	struct edu *e = arg;

	pthread_mutex_lock(&e->lock);
	while (!e->stopping) {
		if (e->status & EDU_STATUS_BUSY)
			edu_do_fact(e);
		else if (e->dma_cmd & EDU_DMA_RUN)
			edu_do_dma(e);
		else
			pthread_cond_wait(&e->kick, &e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static int edu_create(struct csx_sim_dev *dev)
{
	struct edu *e = to_edu(dev);
	pthread_condattr_t attr;

	e->dev = dev;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&e->kick, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&e->worker, NULL, edu_worker, e)) {
		pthread_cond_destroy(&e->kick);
		pthread_mutex_destroy(&e->lock);
		return -CSX_ENOMEM;
	}
	pthread_setname_np(e->worker, "csx-sim-edu");
	return 0;
}

static void edu_destroy(struct csx_sim_dev *dev)
{
	struct edu *e = to_edu(dev);

	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_cond_broadcast(&e->kick);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->worker, NULL);
	pthread_cond_destroy(&e->kick);
	pthread_mutex_destroy(&e->lock);
}

const struct csx_sim_model csx_sim_edu_model = {
	.name = "edu",
	.vendor = 0x1234,
	.device = 0x11e8,
	.revision = 0x10,
	.class_code = 0xff0000, /* PCI_CLASS_OTHERS */
	.bars = { { EDU_BAR_SIZE, edu_read, edu_write } },
	.intx = true,
	.msi = true,
	.priv_size = sizeof(struct edu),
	.create = edu_create,
	.destroy = edu_destroy,
};
