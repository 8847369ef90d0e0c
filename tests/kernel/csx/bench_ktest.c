// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * bench_ktest: CSX against plain Linux doing the same job, same boot, same
 * device, alternating rounds.
 *
 *   intr_raise_to_isr_<msi|intx>  edu interrupt raise (write 0x60) to ISR
 *       entry: a CSX driver's ISR vs a minimal request_irq() handler,
 *       both bound in turn to the first edu device, with the interrupt
 *       kind CSX chose (csx.ko intr_mode= decides).
 *   dpc_bh_queue_to_run   csx_dpc_queue() to the DPC running vs
 *       tasklet_hi_schedule() to the tasklet running, queued with bottom
 *       halves off so local_bh_enable() runs it: the mechanism alone.
 *   dpc_isr_queue_to_run  the same, queued from a hard interrupt (irq_work)
 *       as an ISR does, run on interrupt exit.
 *
 * Prints "BENCH <name> csx=<ns> base=<ns> ratio=<csx/base>" with medians
 * (emulation stalls a vCPU now and then; a median shrugs that off) and
 * "BENCH <name>_avg ..." with means, plus one KTAP result per benchmark
 * (ok: it ran; nothing here asserts speed). Load with csx_edu unloaded.
 */
#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include <csx/csx.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_REG_STATUS 0x24
#define EDU_REG_RAISE 0x60
#define EDU_REG_ACK 0x64
#define BENCH_ROUNDS 4
/*
 * No sample waits longer than this for its interrupt or DPC. Generous: on
 * a loaded host a vCPU can stall for a good fraction of a second.
 */
#define BENCH_PATIENCE_NS (5 * NSEC_PER_SEC)

static unsigned int iters = 1000;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters, "Samples per benchmark and side per round");

/* ---- Sampling -------------------------------------------------------------- */

/* Published by the ISR / DPC / tasklet under test, read by the thread. */
static u64 bench_hit_ns;
static int bench_hit_cpu;
static int bench_hit;

/*
 * Publish @t, taken on entry. An ISR publishes only after it acknowledged
 * the device: the thread raises again as soon as it sees the mark, and a
 * raise before the acknowledgement would be wiped by it (the edu device's
 * INTx line would then never rise again).
 */
static inline void bench_mark(u64 t)
{
	WRITE_ONCE(bench_hit_ns, t);
	WRITE_ONCE(bench_hit_cpu, raw_smp_processor_id());
	smp_store_release(&bench_hit, 1);
}

/*
 * Run @kick @n times; each sample is the time from just before @kick to
 * the mark. @t0 may be overwritten by @kick (queued from an irq_work).
 */
static u64 bench_t0;

/* One kick, waited for; the result is not kept. */
static int bench_kick_wait(void (*kick)(void))
{
	u64 end = ktime_get_ns() + BENCH_PATIENCE_NS;

	WRITE_ONCE(bench_hit, 0);
	kick();
	while (!smp_load_acquire(&bench_hit)) {
		if (ktime_get_ns() > end)
			return -ETIMEDOUT;
		cpu_relax();
	}
	return 0;
}

/*
 * Move the thread to the CPU the handler runs on. Under emulation a
 * handler on another, idle vCPU waits for that vCPU to wake, which would
 * swamp what is measured; on the same CPU it interrupts the waiting loop.
 */
static int bench_follow_handler(void (*kick)(void))
{
	int ret = bench_kick_wait(kick);

	if (ret)
		return ret;
	return set_cpus_allowed_ptr(current,
				    cpumask_of(READ_ONCE(bench_hit_cpu)));
}

static int bench_sample(void (*kick)(void), u32 *samples, unsigned int n)
{
	unsigned int i;
	int ret = bench_follow_handler(kick);

	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		u64 end;

		WRITE_ONCE(bench_hit, 0);
		WRITE_ONCE(bench_t0, ktime_get_ns());
		end = bench_t0 + BENCH_PATIENCE_NS;
		kick();
		while (!smp_load_acquire(&bench_hit)) {
			if (ktime_get_ns() > end) {
				pr_info("# %ps: sample %u never arrived\n",
					kick, i);
				return -ETIMEDOUT;
			}
			cpu_relax();
		}
		samples[i] = (u32)min_t(
			u64, READ_ONCE(bench_hit_ns) - READ_ONCE(bench_t0),
			U32_MAX);
		if (i % 64 == 63)
			cond_resched();
	}
	return 0;
}

static int bench_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

struct bench_stat {
	u64 sum;
	unsigned int n;
	u32 *all; /* every sample, for the median */
};

static void bench_add(struct bench_stat *st, const u32 *s, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		st->sum += s[i];
		st->all[st->n++] = s[i];
	}
}

static u64 bench_avg(const struct bench_stat *st)
{
	return st->n ? div_u64(st->sum, st->n) : 0;
}

static u64 bench_p50(struct bench_stat *st)
{
	if (!st->n)
		return 0;
	sort(st->all, st->n, sizeof(u32), bench_cmp_u32, NULL);
	return st->all[st->n / 2];
}

static void bench_print(const char *name, u64 csx, u64 base)
{
	u64 r100 = base ? div64_u64(csx * 100 + base / 2, base) : 0;

	pr_info("BENCH %s csx=%llu base=%llu ratio=%llu.%02llu\n", name, csx,
		base, r100 / 100, r100 % 100);
}

static void bench_print_all(const char *name, struct bench_stat *sc,
			    struct bench_stat *sb)
{
	char avg[64];

	bench_print(name, bench_p50(sc), bench_p50(sb));
	snprintf(avg, sizeof(avg), "%s_avg", name);
	bench_print(avg, bench_avg(sc), bench_avg(sb));
}

/* One side of a comparison; @bind/@unbind (may be NULL) wrap each round. */
struct bench_side {
	void (*kick)(void);
	int (*bind)(void);
	void (*unbind)(void);
};

static int bench_round(const struct bench_side *side, u32 *s)
{
	int ret = side->bind ? side->bind() : 0;

	if (ret)
		return ret;
	ret = bench_sample(side->kick, s, iters);
	if (side->unbind)
		side->unbind();
	return ret;
}

/*
 * Alternate @csx and @base rounds (so drift hits both alike), print the
 * result lines and return whether all samples arrived.
 */
static bool bench_compare(const char *name, const struct bench_side *csx,
			  const struct bench_side *base)
{
	struct bench_stat sc = { 0 }, sb = { 0 };
	u32 *s = kvmalloc_array(iters, sizeof(u32), GFP_KERNEL);
	int round, ret = -ENOMEM;

	sc.all = kvmalloc_array(iters * BENCH_ROUNDS, sizeof(u32), GFP_KERNEL);
	sb.all = kvmalloc_array(iters * BENCH_ROUNDS, sizeof(u32), GFP_KERNEL);
	if (!s || !sc.all || !sb.all)
		goto out;
	for (round = 0; round < BENCH_ROUNDS; round++) {
		ret = bench_round(csx, s);
		if (ret)
			goto out;
		bench_add(&sc, s, iters);
		ret = bench_round(base, s);
		if (ret)
			goto out;
		bench_add(&sb, s, iters);
	}
	bench_print_all(name, &sc, &sb);
out:
	if (ret)
		pr_info("# %s: %d\n", name, ret);
	kvfree(sb.all);
	kvfree(sc.all);
	kvfree(s);
	return ret == 0;
}

/* ---- The CSX driver under test -------------------------------------------- */

static struct csx_device *bench_cdev;
static struct csx_intr *bench_cintr;

static enum csx_irqreturn bench_csx_isr(struct csx_intr *intr, void *ctx)
{
	u64 t = ktime_get_ns();
	u32 status;

	status = csx_read32(bench_cdev, 0, EDU_REG_STATUS);
	if (!status)
		return CSX_IRQ_NONE;
	csx_write32(bench_cdev, 0, EDU_REG_ACK, status);
	bench_mark(t);
	return CSX_IRQ_HANDLED;
}

static int bench_csx_probe(struct csx_device *dev, const struct csx_pci_id *id)
{
	int ret;

	if (bench_cdev)
		return -CSX_ENODEV; /* one device is enough */
	ret = csx_intr_attach(dev, CSX_INTR_ANY, bench_csx_isr, NULL,
			      &bench_cintr);
	if (ret)
		return ret;
	bench_cdev = dev;
	return 0;
}

static void bench_csx_remove(struct csx_device *dev)
{
	if (dev != bench_cdev)
		return;
	csx_intr_detach(bench_cintr);
	bench_cintr = NULL;
	bench_cdev = NULL;
}

static const struct csx_pci_id bench_csx_ids[] = {
	{ EDU_VENDOR, EDU_DEVICE },
	{ 0, 0 },
};

static struct csx_driver bench_csx_driver = {
	.name = "csx_bench",
	.ids = bench_csx_ids,
	.probe = bench_csx_probe,
	.remove = bench_csx_remove,
	.dma_bits = 28, /* the edu device's; no DMA here, but it is the truth */
};

static void bench_csx_raise(void)
{
	csx_write32(bench_cdev, 0, EDU_REG_RAISE, 1);
}

/* ---- The plain Linux driver (baseline) ------------------------------------- */

static void __iomem *bench_pbar;
static struct pci_dev *bench_pdev;
static unsigned int bench_irq_type; /* PCI_IRQ_MSI or PCI_IRQ_LEGACY */

static irqreturn_t bench_plain_isr(int irq, void *data)
{
	u64 t = ktime_get_ns();
	u32 status;

	status = ioread32(bench_pbar + EDU_REG_STATUS);
	if (!status)
		return IRQ_NONE;
	iowrite32(status, bench_pbar + EDU_REG_ACK);
	bench_mark(t);
	return IRQ_HANDLED;
}

static int bench_plain_probe(struct pci_dev *pdev,
			     const struct pci_device_id *id)
{
	int ret;

	if (bench_pdev)
		return -ENODEV;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), "bench_plain");
	if (ret)
		return ret;
	bench_pbar = pcim_iomap_table(pdev)[0];
	pci_set_master(pdev);
	ret = pci_alloc_irq_vectors(pdev, 1, 1, bench_irq_type);
	if (ret < 0)
		return ret;
	ret = request_irq(pci_irq_vector(pdev, 0), bench_plain_isr,
			  pdev->msi_enabled ? 0 : IRQF_SHARED, "bench_plain",
			  pdev);
	if (ret) {
		pci_free_irq_vectors(pdev);
		return ret;
	}
	bench_pdev = pdev;
	return 0;
}

static void bench_plain_remove(struct pci_dev *pdev)
{
	if (pdev != bench_pdev)
		return;
	free_irq(pci_irq_vector(pdev, 0), pdev);
	pci_free_irq_vectors(pdev);
	bench_pdev = NULL;
}

static const struct pci_device_id bench_plain_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR, EDU_DEVICE) },
	{}
};

static struct pci_driver bench_plain_driver = {
	.name = "bench_plain",
	.id_table = bench_plain_ids,
	.probe = bench_plain_probe,
	.remove = bench_plain_remove,
};

static void bench_plain_raise(void)
{
	iowrite32(1, bench_pbar + EDU_REG_RAISE);
}

/* ---- Interrupt benchmark: one driver bound at a time ---------------------- */

static int bench_bind_csx(void)
{
	int ret = csx_driver_register(&bench_csx_driver);

	if (!ret && !bench_cdev) {
		csx_driver_unregister(&bench_csx_driver);
		ret = -ENODEV;
	}
	return ret;
}

static int bench_bind_plain(void)
{
	int ret = pci_register_driver(&bench_plain_driver);

	if (!ret && !bench_pdev) {
		pci_unregister_driver(&bench_plain_driver);
		ret = -ENODEV;
	}
	return ret;
}

static void bench_unbind_csx(void)
{
	csx_driver_unregister(&bench_csx_driver);
}

static void bench_unbind_plain(void)
{
	pci_unregister_driver(&bench_plain_driver);
}

static bool bench_intr(void)
{
	static const struct bench_side csx = { bench_csx_raise, bench_bind_csx,
					       bench_unbind_csx };
	static const struct bench_side base = { bench_plain_raise,
						bench_bind_plain,
						bench_unbind_plain };
	char name[48];

	/* The baseline uses the kind of interrupt CSX chose. */
	if (bench_bind_csx()) {
		pr_info("# intr_raise_to_isr: no edu device for the CSX driver\n");
		return false;
	}
	bench_irq_type =
		csx_intr_is_msi(bench_cintr) ? PCI_IRQ_MSI : PCI_IRQ_LEGACY;
	bench_unbind_csx();
	snprintf(name, sizeof(name), "intr_raise_to_isr_%s",
		 bench_irq_type == PCI_IRQ_MSI ? "msi" : "intx");
	return bench_compare(name, &csx, &base);
}

/* ---- DPC benchmark ----------------------------------------------------------- */

static struct csx_dpc *bench_dpc;
static struct tasklet_struct bench_tasklet;

static void bench_dpc_fn(struct csx_dpc *dpc, void *ctx)
{
	bench_mark(ktime_get_ns());
}

static void bench_tasklet_fn(struct tasklet_struct *t)
{
	bench_mark(ktime_get_ns());
}

static void bench_csx_queue(void)
{
	WRITE_ONCE(bench_t0, ktime_get_ns());
	csx_dpc_queue(bench_dpc);
}

static void bench_base_queue(void)
{
	WRITE_ONCE(bench_t0, ktime_get_ns());
	tasklet_hi_schedule(&bench_tasklet);
}

/* Queued with bottom halves off: local_bh_enable() runs it at once. */
static void bench_csx_bh(void)
{
	local_bh_disable();
	bench_csx_queue();
	local_bh_enable();
}

static void bench_base_bh(void)
{
	local_bh_disable();
	bench_base_queue();
	local_bh_enable();
}

/* Queued from a hard interrupt: runs on interrupt exit. */
static void bench_csx_irq_work_fn(struct irq_work *w)
{
	bench_csx_queue();
}

static void bench_base_irq_work_fn(struct irq_work *w)
{
	bench_base_queue();
}

static struct irq_work bench_csx_work =
	IRQ_WORK_INIT_HARD(bench_csx_irq_work_fn);
static struct irq_work bench_base_work =
	IRQ_WORK_INIT_HARD(bench_base_irq_work_fn);

static void bench_csx_isr_queue(void)
{
	irq_work_queue(&bench_csx_work);
}

static void bench_base_isr_queue(void)
{
	irq_work_queue(&bench_base_work);
}

static void bench_dpcs(bool *bh_ok, bool *isr_ok)
{
	static const struct bench_side csx_bh = { bench_csx_bh };
	static const struct bench_side base_bh = { bench_base_bh };
	static const struct bench_side csx_isr = { bench_csx_isr_queue };
	static const struct bench_side base_isr = { bench_base_isr_queue };

	*bh_ok = *isr_ok = false;
	if (csx_dpc_create(&bench_dpc, bench_dpc_fn, NULL))
		return;
	tasklet_setup(&bench_tasklet, bench_tasklet_fn);
	*bh_ok = bench_compare("dpc_bh_queue_to_run", &csx_bh, &base_bh);
	*isr_ok = bench_compare("dpc_isr_queue_to_run", &csx_isr, &base_isr);
	irq_work_sync(&bench_csx_work);
	irq_work_sync(&bench_base_work);
	tasklet_kill(&bench_tasklet);
	csx_dpc_destroy(bench_dpc);
}

static int __init bench_init(void)
{
	bool bh_ok, isr_ok, intr_ok;

	pr_info("KTAP version 1\n");
	pr_info("1..3\n");
	intr_ok = bench_intr();
	pr_info("%sok 1 bench_intr_raise_to_isr\n", intr_ok ? "" : "not ");
	bench_dpcs(&bh_ok, &isr_ok);
	/* insmod's thread was moved around: give it every CPU back. */
	set_cpus_allowed_ptr(current, cpu_possible_mask);
	pr_info("%sok 2 bench_dpc_bh_queue_to_run\n", bh_ok ? "" : "not ");
	pr_info("%sok 3 bench_dpc_isr_queue_to_run\n", isr_ok ? "" : "not ");
	return 0;
}

static void __exit bench_exit(void)
{
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_DESCRIPTION("CSX vs plain Linux: interrupt and DPC latency");
MODULE_LICENSE("Dual BSD/GPL");
