/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * bench_uintr: interrupt delivery to a driver's ISR, measured by a CSX
 * driver module. Used in the test VM: run by csx-run against QEMU's real
 * edu device claimed through the kernel helper, it is the CSX side of the
 * "user-mode interrupt vs uio_pci_generic" benchmark (bench/vm/uio_lat.c
 * is the baseline). Mode-free: it would build as a kernel module too.
 *
 * For each sample: stamp, ask the device to raise its interrupt (edu
 * register 0x60), and let the ISR stamp its entry and acknowledge (0x64).
 * The raising thread then waits on an event for the ISR, so the next
 * sample starts with the device idle. Reported on one log line:
 *   "BENCH-RAW uintr n=N median=NS p99=NS cycle=NS msi=0|1"
 * where cycle is the median time from one raise to the next (ISR, the
 * wake-up of the raising thread, and the unmask of the line included).
 */
#include <csx/csx.h>

#include "bench_vm.h"

#define BU_SAMPLES 2000
#define BU_BAR 0
#define BU_REG_STATUS 0x24
#define BU_REG_RAISE 0x60
#define BU_REG_ACK 0x64
#define BU_TIMEOUT_NS (2ull * 1000 * 1000 * 1000)

struct bu_dev {
	struct csx_device *dev;
	struct csx_intr *intr;
	struct csx_event *done;
	uint64_t t_isr;
};

static struct bu_dev *bu_first;
static uint64_t bu_lat[BU_SAMPLES];
static uint64_t bu_cycle[BU_SAMPLES];

static enum csx_irqreturn bu_isr(struct csx_intr *intr, void *ctx)
{
	struct bu_dev *b = ctx;
	uint64_t t = csx_time_ns();
	uint32_t st = csx_read32(b->dev, BU_BAR, BU_REG_STATUS);

	(void)intr;
	if (!st)
		return CSX_IRQ_NONE;
	csx_write32(b->dev, BU_BAR, BU_REG_ACK, st);
	__atomic_store_n(&b->t_isr, t, __ATOMIC_RELEASE);
	csx_event_set(b->done);
	return CSX_IRQ_HANDLED;
}

static int bu_probe(struct csx_device *dev, const struct csx_pci_id *id)
{
	struct bu_dev *b;
	int ret;

	(void)id;
	if (bu_first)
		return -CSX_EBUSY; /* one device is enough */
	b = csx_alloc(sizeof(*b), CSX_MEM_ZERO);
	if (!b)
		return -CSX_ENOMEM;
	b->dev = dev;
	ret = csx_event_create(&b->done, CSX_EVENT_AUTO, false);
	if (ret)
		goto out_free;
	csx_write32(dev, BU_BAR, BU_REG_ACK, 0xffffffffu);
	ret = csx_intr_attach(dev, CSX_INTR_ANY, bu_isr, b, &b->intr);
	if (ret)
		goto out_event;
	csx_dev_set_drvdata(dev, b);
	bu_first = b;
	return 0;

out_event:
	csx_event_destroy(b->done);
out_free:
	csx_free(b);
	return ret;
}

static void bu_remove(struct csx_device *dev)
{
	struct bu_dev *b = csx_dev_get_drvdata(dev);

	csx_intr_detach(b->intr);
	csx_event_destroy(b->done);
	if (bu_first == b)
		bu_first = NULL;
	csx_free(b);
}

static const struct csx_pci_id bu_ids[] = {
	{ 0x1234, 0x11e8 },
	{ 0, 0 },
};

static struct csx_driver bu_driver = {
	.name = "bench_uintr",
	.ids = bu_ids,
	.probe = bu_probe,
	.remove = bu_remove,
};

static int bu_run(struct bu_dev *b)
{
	uint64_t t0, prev = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < BU_SAMPLES; i++) {
		__atomic_store_n(&b->t_isr, 0, __ATOMIC_RELAXED);
		t0 = csx_time_ns();
		if (prev)
			bu_cycle[i - 1] = t0 - prev;
		prev = t0;
		csx_write32(b->dev, BU_BAR, BU_REG_RAISE, 1);
		ret = csx_event_wait(b->done, BU_TIMEOUT_NS);
		if (ret) {
			csx_err("bench_uintr: sample %u: no interrupt: %s", i,
				csx_strerror(ret));
			return ret;
		}
		bu_lat[i] = __atomic_load_n(&b->t_isr, __ATOMIC_ACQUIRE) - t0;
	}
	bench_vm_sort(bu_lat, BU_SAMPLES);
	bench_vm_sort(bu_cycle, BU_SAMPLES - 1);
	csx_info("BENCH-RAW uintr n=%u median=%llu p99=%llu cycle=%llu msi=%d",
		 BU_SAMPLES, (unsigned long long)bu_lat[BU_SAMPLES / 2],
		 (unsigned long long)bu_lat[BU_SAMPLES * 99 / 100],
		 (unsigned long long)bu_cycle[(BU_SAMPLES - 1) / 2],
		 csx_intr_is_msi(b->intr) ? 1 : 0);
	return 0;
}

static int bu_init(void)
{
	int ret;

	ret = csx_driver_register(&bu_driver);
	if (ret)
		return ret;
	if (!bu_first) {
		csx_err("bench_uintr: no edu device bound");
		ret = -CSX_ENODEV;
	} else {
		ret = bu_run(bu_first);
	}
	if (ret)
		csx_driver_unregister(&bu_driver);
	return ret;
}

static void bu_fini(void)
{
	csx_driver_unregister(&bu_driver);
}

CSX_MODULE("bench_uintr", "1.0.0", bu_init, bu_fini);
