/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The simulated edu device against QEMU's docs/specs/edu.rst, seen through
 * the CSX API as a driver sees it: config space, registers and their
 * access-width rules, factorial with the busy bit, interrupt raise and
 * acknowledge on INTx and MSI, DMA both ways, and the IOMMU refusing a CPU
 * pointer. Plus the fault injection every driver test relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <csx/csx.h>
#include <csx_sim.h>
#include <csx_user.h>

#define BAR 0
#define REG_ID 0x00
#define REG_LIVENESS 0x04
#define REG_FACT 0x08
#define REG_STATUS 0x20
#define REG_IRQ_STATUS 0x24
#define REG_IRQ_RAISE 0x60
#define REG_IRQ_ACK 0x64
#define REG_DMA_SRC 0x80
#define REG_DMA_DST 0x88
#define REG_DMA_COUNT 0x90
#define REG_DMA_CMD 0x98
#define DMA_BASE 0x40000u

#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CMD_MEMORY 0x0002u
#define CMD_MASTER 0x0004u
#define CMD_INTX_DISABLE 0x0400u
#define STATUS_INTERRUPT 0x0008u

/* Failure detection only: a correct device answers in microseconds. */
#define WAIT_NS (10 * CSX_NSEC_PER_SEC)
#define POLL_NS (50 * CSX_NSEC_PER_USEC)
#define HOUR_NS (3600 * CSX_NSEC_PER_SEC)

/* What the test driver bound, and what its ISR saw. */
static struct csx_device *bound;
static struct csx_event *isr_ran;
static uint32_t isr_status[16];
static unsigned int isr_calls;

static int probe(struct csx_device *dev, const struct csx_pci_id *id)
{
	bound = dev;
	return 0;
}

static void remove_dev(struct csx_device *dev)
{
	bound = NULL;
}

static const struct csx_pci_id ids[] = { { 0x1234, 0x11e8 }, { 0, 0 } };
static struct csx_driver drv = {
	.name = "edu-model-test",
	.ids = ids,
	.probe = probe,
	.remove = remove_dev,
	.dma_bits = 28,
};

/* Records the status and acknowledges it, as a driver must. */
static enum csx_irqreturn isr(struct csx_intr *intr, void *ctx)
{
	uint32_t st = csx_read32(bound, BAR, REG_IRQ_STATUS);

	if (isr_calls < 16)
		isr_status[isr_calls] = st;
	__atomic_add_fetch(&isr_calls, 1, __ATOMIC_RELEASE);
	if (st)
		csx_write32(bound, BAR, REG_IRQ_ACK, st);
	csx_event_set(isr_ran);
	return st ? CSX_IRQ_HANDLED : CSX_IRQ_NONE;
}

static int group_setup(void **state)
{
	if (csx_user_init())
		return -1;
	if (csx_event_create(&isr_ran, CSX_EVENT_AUTO, false))
		return -1;
	return csx_driver_register(&drv);
}

static int group_teardown(void **state)
{
	csx_driver_unregister(&drv);
	csx_event_destroy(isr_ran);
	csx_user_fini();
	return 0;
}

static struct csx_sim_dev *make(const char *options)
{
	struct csx_sim_dev *sd = NULL;

	isr_calls = 0;
	memset(isr_status, 0, sizeof(isr_status));
	csx_event_reset(isr_ran);
	assert_int_equal(csx_sim_create("edu", options, &sd), 0);
	assert_non_null(bound);
	return sd;
}

static void wait_isr(unsigned int calls)
{
	while (__atomic_load_n(&isr_calls, __ATOMIC_ACQUIRE) < calls)
		assert_int_equal(csx_event_wait(isr_ran, WAIT_NS), 0);
}

static void wait_clear(uint64_t reg, uint32_t bit)
{
	uint64_t end = csx_time_ns() + WAIT_NS;

	while (csx_read32(bound, BAR, reg) & bit) {
		assert_true(csx_time_ns() < end);
		csx_thread_sleep(POLL_NS);
	}
}

static uint32_t cfg16(unsigned int off)
{
	uint32_t v = 0;

	assert_int_equal(csx_pci_cfg_read(bound, off, 2, &v), 0);
	return v;
}

/* ---- Config space -------------------------------------------------------- */

static void test_config_space(void **state)
{
	struct csx_sim_dev *sd = make(NULL);
	uint32_t v, bar;

	assert_string_equal(csx_sim_name(sd), "sim-edu0");
	assert_string_equal(csx_dev_name(bound), "sim-edu0");
	assert_int_equal(cfg16(0x00), 0x1234);
	assert_int_equal(cfg16(0x02), 0x11e8);
	/* Enabled before probe, as the API promises. */
	assert_true(cfg16(CFG_COMMAND) & CMD_MEMORY);
	assert_true(cfg16(CFG_COMMAND) & CMD_MASTER);
	/* Capability list with MSI at its head. */
	assert_true(cfg16(CFG_STATUS) & 0x10);
	assert_int_equal(csx_pci_cfg_read(bound, 0x34, 1, &v), 0);
	assert_int_equal(csx_pci_cfg_read(bound, v, 1, &v), 0);
	assert_int_equal(v, 0x05);
	assert_int_equal(csx_pci_cfg_read(bound, 0x3d, 1, &v), 0);
	assert_int_equal(v, 1); /* INTA */
	/* BAR sizing: all ones in, the size mask out. */
	assert_int_equal(csx_pci_cfg_read(bound, 0x10, 4, &bar), 0);
	assert_int_equal(csx_pci_cfg_write(bound, 0x10, 4, 0xffffffffu), 0);
	assert_int_equal(csx_pci_cfg_read(bound, 0x10, 4, &v), 0);
	assert_int_equal(v, 0xfff00000u);
	assert_int_equal(csx_pci_cfg_write(bound, 0x10, 4, bar), 0);
	assert_int_equal(csx_bar_size(bound, BAR), 1u << 20);
	/* Read-only: the vendor id does not change. */
	assert_int_equal(csx_pci_cfg_write(bound, 0x00, 2, 0xbeef), 0);
	assert_int_equal(cfg16(0x00), 0x1234);
	csx_sim_destroy(sd);
}

static void test_msi_off_has_no_capability(void **state)
{
	struct csx_sim_dev *sd = make("msi=off");

	assert_false(cfg16(CFG_STATUS) & 0x10);
	csx_sim_destroy(sd);
	assert_int_equal(csx_sim_create("edu", "msi=maybe", &sd), -CSX_EINVAL);
	assert_int_equal(csx_sim_create("edu", "colour=red", &sd), -CSX_EINVAL);
	assert_int_equal(csx_sim_create("nosuch", NULL, &sd), -CSX_ENOENT);
}

static void test_instance_names(void **state)
{
	struct csx_sim_dev *a = make(NULL), *b, *c;

	assert_int_equal(csx_sim_create("edu", NULL, &b), 0);
	assert_string_equal(csx_sim_name(b), "sim-edu1");
	assert_ptr_equal(csx_sim_find("sim-edu1"), b);
	csx_sim_destroy(a);
	assert_null(csx_sim_find("sim-edu0"));
	/* The lowest free index is reused. */
	assert_int_equal(csx_sim_create("edu", NULL, &c), 0);
	assert_string_equal(csx_sim_name(c), "sim-edu0");
	csx_sim_destroy(c);
	csx_sim_destroy(b);
}

/* ---- Registers ----------------------------------------------------------- */

static void test_id_and_liveness(void **state)
{
	struct csx_sim_dev *sd = make(NULL);

	assert_int_equal(csx_read32(bound, BAR, REG_ID), 0x010000edu);
	csx_write32(bound, BAR, REG_LIVENESS, 0x12345678u);
	assert_int_equal(csx_read32(bound, BAR, REG_LIVENESS), 0xedcba987u);
	csx_write32(bound, BAR, REG_LIVENESS, 0);
	assert_int_equal(csx_read32(bound, BAR, REG_LIVENESS), 0xffffffffu);
	csx_sim_destroy(sd);
}

static void test_access_widths(void **state)
{
	struct csx_sim_dev *sd = make(NULL);
	const uint64_t addr = 0x123456789abcdef0ULL;

	/* Below 0x80 only 4-byte accesses: others read all ones... */
	assert_int_equal(csx_read8(bound, BAR, REG_ID), 0xff);
	assert_int_equal(csx_read16(bound, BAR, REG_ID), 0xffff);
	assert_true(csx_read64(bound, BAR, REG_ID) == ~0ULL);
	/* ...and writes are dropped. */
	csx_write32(bound, BAR, REG_LIVENESS, 1);
	csx_write64(bound, BAR, REG_LIVENESS, 5);
	csx_write16(bound, BAR, REG_LIVENESS, 7);
	assert_int_equal(csx_read32(bound, BAR, REG_LIVENESS), 0xfffffffeu);
	/* From 0x80 on: 8 bytes carry a whole bus address... */
	csx_write64(bound, BAR, REG_DMA_SRC, addr);
	assert_true(csx_read64(bound, BAR, REG_DMA_SRC) == addr);
	assert_int_equal(csx_read32(bound, BAR, REG_DMA_SRC), 0x9abcdef0u);
	/* ...4 bytes set the register zero-extended, the upper half is no
	 * register of its own, and 2 bytes are refused. */
	csx_write32(bound, BAR, REG_DMA_SRC, 0x11223344u);
	assert_true(csx_read64(bound, BAR, REG_DMA_SRC) == 0x11223344u);
	assert_int_equal(csx_read32(bound, BAR, REG_DMA_SRC + 4), 0xffffffffu);
	assert_int_equal(csx_read16(bound, BAR, REG_DMA_SRC), 0xffff);
	/* Unused offsets read all ones. */
	assert_int_equal(csx_read32(bound, BAR, 0x0c), 0xffffffffu);
	csx_sim_destroy(sd);
}

/* ---- Factorial, interrupt raise/ack, INTx -------------------------------- */

static void test_factorial_busy_and_intx(void **state)
{
	struct csx_sim_dev *sd = make("msi=off");

	/* Hold completion so "busy" is observable without racing it. */
	csx_sim_fault_delay(sd, HOUR_NS);
	csx_write32(bound, BAR, REG_STATUS, 0x80);
	csx_write32(bound, BAR, REG_FACT, 10);
	assert_int_equal(csx_read32(bound, BAR, REG_STATUS), 0x81);
	/* While busy the argument is frozen. */
	csx_write32(bound, BAR, REG_FACT, 3);
	assert_int_equal(csx_read32(bound, BAR, REG_FACT), 10);
	assert_false(csx_sim_intx_level(sd));
	csx_sim_fault_delay(sd, 0);
	wait_clear(REG_STATUS, 0x01);

	assert_int_equal(csx_read32(bound, BAR, REG_FACT), 3628800);
	assert_int_equal(csx_read32(bound, BAR, REG_IRQ_STATUS), 0x1);
	assert_true(csx_sim_intx_level(sd));
	assert_true(cfg16(CFG_STATUS) & STATUS_INTERRUPT);
	csx_write32(bound, BAR, REG_IRQ_ACK, 0x1);
	assert_int_equal(csx_read32(bound, BAR, REG_IRQ_STATUS), 0);
	assert_false(csx_sim_intx_level(sd));
	assert_false(cfg16(CFG_STATUS) & STATUS_INTERRUPT);
	csx_sim_destroy(sd);
}

static void test_factorial_without_irq(void **state)
{
	struct csx_sim_dev *sd = make("msi=off");

	csx_write32(bound, BAR, REG_STATUS, 0);
	csx_write32(bound, BAR, REG_FACT, 5);
	wait_clear(REG_STATUS, 0x01);
	assert_int_equal(csx_read32(bound, BAR, REG_FACT), 120);
	assert_int_equal(csx_read32(bound, BAR, REG_IRQ_STATUS), 0);
	assert_false(csx_sim_intx_level(sd));
	/* 13! does not fit: the device computes modulo 2^32. */
	csx_write32(bound, BAR, REG_FACT, 13);
	wait_clear(REG_STATUS, 0x01);
	assert_int_equal(csx_read32(bound, BAR, REG_FACT), 1932053504u);
	csx_sim_destroy(sd);
}

static void test_raise_and_ack(void **state)
{
	struct csx_sim_dev *sd = make("msi=off");

	csx_write32(bound, BAR, REG_IRQ_RAISE, 0x5);
	assert_int_equal(csx_read32(bound, BAR, REG_IRQ_STATUS), 0x5);
	assert_true(csx_sim_intx_level(sd));
	csx_write32(bound, BAR, REG_IRQ_ACK, 0x1);
	assert_int_equal(csx_read32(bound, BAR, REG_IRQ_STATUS), 0x4);
	assert_true(csx_sim_intx_level(sd));
	csx_write32(bound, BAR, REG_IRQ_ACK, 0x4);
	assert_int_equal(csx_read32(bound, BAR, REG_IRQ_STATUS), 0);
	assert_false(csx_sim_intx_level(sd));
	csx_sim_destroy(sd);
}

static void test_intx_isr_and_disable_bit(void **state)
{
	struct csx_sim_dev *sd = make("msi=off");
	struct csx_sim_stats st;
	struct csx_intr *intr;

	assert_int_equal(csx_intr_attach(bound, CSX_INTR_MSI, isr, NULL, &intr),
			 -CSX_ENOSYS);
	assert_int_equal(csx_intr_attach(bound, CSX_INTR_ANY, isr, NULL, &intr),
			 0);
	assert_false(csx_intr_is_msi(intr));

	/* Masked by the command register: asserted, but not delivered. */
	assert_int_equal(
		csx_pci_cfg_write(bound, CFG_COMMAND, 2,
				  cfg16(CFG_COMMAND) | CMD_INTX_DISABLE),
		0);
	csx_write32(bound, BAR, REG_IRQ_RAISE, 0x40);
	assert_true(cfg16(CFG_STATUS) & STATUS_INTERRUPT);
	assert_int_equal(csx_sim_stats(sd, &st), 0);
	assert_int_equal(st.irqs_delivered, 0);
	/* Unmasked while asserted: delivered at once. */
	assert_int_equal(
		csx_pci_cfg_write(bound, CFG_COMMAND, 2,
				  cfg16(CFG_COMMAND) & ~CMD_INTX_DISABLE),
		0);
	wait_isr(1);
	assert_int_equal(isr_status[0], 0x40);
	assert_int_equal(csx_intr_detach(intr), 0);
	assert_false(csx_sim_intx_level(sd));
	csx_sim_destroy(sd);
}

static void test_msi_isr(void **state)
{
	struct csx_sim_dev *sd = make(NULL);
	struct csx_intr *intr;

	assert_int_equal(csx_intr_attach(bound, CSX_INTR_ANY, isr, NULL, &intr),
			 0);
	assert_true(csx_intr_is_msi(intr));
	csx_write32(bound, BAR, REG_STATUS, 0x80);
	csx_write32(bound, BAR, REG_FACT, 6);
	wait_isr(1);
	assert_int_equal(isr_status[0], 0x1);
	assert_int_equal(csx_read32(bound, BAR, REG_FACT), 720);
	/* MSI has no line. */
	assert_false(csx_sim_intx_level(sd));
	assert_int_equal(csx_intr_detach(intr), 0);
	csx_sim_destroy(sd);
}

/* ---- DMA ----------------------------------------------------------------- */

static void dma_run(uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	csx_write64(bound, BAR, REG_DMA_SRC, src);
	csx_write64(bound, BAR, REG_DMA_DST, dst);
	csx_write32(bound, BAR, REG_DMA_COUNT, len);
	csx_write32(bound, BAR, REG_DMA_CMD, cmd);
}

static void test_dma_both_ways_with_irq(void **state)
{
	struct csx_sim_dev *sd = make(NULL);
	struct csx_dma_buf *buf;
	struct csx_intr *intr;
	uint8_t *cpu;
	uint64_t bus;
	unsigned int i;

	assert_int_equal(csx_dma_alloc(bound, 4096, &buf), 0);
	cpu = csx_dma_cpu(buf);
	bus = csx_dma_bus(buf);
	/* A bus address the device can drive, not a CPU pointer. */
	assert_true(bus >= CSX_SIM_IOVA_LOW_BASE && bus < (1u << 28));
	assert_true(bus != (uint64_t)(uintptr_t)cpu);
	assert_int_equal(csx_intr_attach(bound, CSX_INTR_ANY, isr, NULL, &intr),
			 0);
	for (i = 0; i < 4096; i++)
		cpu[i] = (uint8_t)(i ^ 0x5a);

	dma_run(bus, DMA_BASE, 4096, 0x1 | 0x4); /* RAM -> device */
	wait_isr(1);
	assert_int_equal(isr_status[0], 0x100);
	assert_int_equal(csx_read32(bound, BAR, REG_DMA_CMD) & 1, 0);
	memset(cpu, 0, 4096);
	/* Half of it back, into the middle of the buffer. */
	dma_run(DMA_BASE + 100, bus + 1000, 2000, 0x1 | 0x2 | 0x4);
	wait_isr(2);
	assert_int_equal(isr_status[1], 0x100);
	for (i = 0; i < 4096; i++) {
		uint8_t want =
			i >= 1000 && i < 3000 ? (uint8_t)((i - 900) ^ 0x5a) : 0;
		assert_int_equal(cpu[i], want);
	}
	assert_int_equal(csx_intr_detach(intr), 0);
	csx_dma_free(buf);
	csx_sim_destroy(sd);
}

static void test_dma_cpu_pointer_faults(void **state)
{
	struct csx_sim_dev *sd = make(NULL);
	struct csx_sim_stats st;
	struct csx_dma_buf *buf;
	uint8_t *cpu;
	uint64_t ptr;

	assert_int_equal(csx_dma_alloc(bound, 64, &buf), 0);
	cpu = csx_dma_cpu(buf);
	memset(cpu, 0x77, 64);
	/* The classic bug: programming the CPU address. (The device keeps 28
	 * bits of it; step off the one case where those hit the buffer.) */
	ptr = (uint64_t)(uintptr_t)cpu;
	if (((ptr & 0xfffffff) - csx_dma_bus(buf)) < 4096)
		ptr += 1u << 20;
	dma_run(ptr, DMA_BASE, 64, 0x1);
	wait_clear(REG_DMA_CMD, 0x1);
	/* One past the end of the mapping faults too. */
	dma_run(DMA_BASE, csx_dma_bus(buf) + 1, 64, 0x1 | 0x2);
	wait_clear(REG_DMA_CMD, 0x1);
	assert_int_equal(csx_sim_stats(sd, &st), 0);
	assert_int_equal(st.dma_faults, 2);
	assert_int_equal(st.dma_bytes, 0);
	/* Nothing reached the device: its buffer still reads zeros. */
	dma_run(DMA_BASE, csx_dma_bus(buf), 64, 0x1 | 0x2);
	wait_clear(REG_DMA_CMD, 0x1);
	assert_int_equal(cpu[0], 0);
	assert_int_equal(cpu[63], 0);
	csx_dma_free(buf);
	csx_sim_destroy(sd);
}

/* A driver that does not declare edu's 28 address bits gets a wide bus
 * address, which the device cuts to 28 bits: the DMA faults, as in QEMU. */
static void test_dma_without_dma_bits_faults(void **state)
{
	struct csx_sim_dev *sd;
	struct csx_sim_stats st;
	struct csx_dma_buf *buf;

	drv.dma_bits = 0;
	sd = make(NULL);
	drv.dma_bits = 28;
	assert_int_equal(csx_dma_alloc(bound, 64, &buf), 0);
	assert_true(csx_dma_bus(buf) >= CSX_SIM_IOVA_BASE);
	dma_run(csx_dma_bus(buf), DMA_BASE, 64, 0x1);
	wait_clear(REG_DMA_CMD, 0x1);
	assert_int_equal(csx_sim_stats(sd, &st), 0);
	assert_int_equal(st.dma_faults, 1);
	csx_dma_free(buf);
	csx_sim_destroy(sd);
}

static void test_dma_registers_frozen_while_running(void **state)
{
	struct csx_sim_dev *sd = make(NULL);
	struct csx_dma_buf *buf;

	assert_int_equal(csx_dma_alloc(bound, 16, &buf), 0);
	csx_sim_fault_delay(sd, HOUR_NS);
	dma_run(csx_dma_bus(buf), DMA_BASE, 16, 0x1);
	assert_int_equal(csx_read32(bound, BAR, REG_DMA_CMD), 0x1);
	csx_write64(bound, BAR, REG_DMA_SRC, 0x1000);
	csx_write32(bound, BAR, REG_DMA_COUNT, 8);
	assert_true(csx_read64(bound, BAR, REG_DMA_SRC) == csx_dma_bus(buf));
	assert_int_equal(csx_read32(bound, BAR, REG_DMA_COUNT), 16);
	csx_sim_fault_delay(sd, 0);
	wait_clear(REG_DMA_CMD, 0x1);
	csx_dma_free(buf);
	csx_sim_destroy(sd);
}

/* ---- Faults -------------------------------------------------------------- */

static void test_fault_gone(void **state)
{
	struct csx_sim_dev *sd = make(NULL);

	csx_sim_fault_gone(sd, true);
	assert_int_equal(csx_read32(bound, BAR, REG_ID), 0xffffffffu);
	assert_int_equal(cfg16(0x00), 0xffff);
	csx_write32(bound, BAR, REG_LIVENESS, 0);
	csx_sim_fault_gone(sd, false);
	assert_int_equal(csx_read32(bound, BAR, REG_ID), 0x010000edu);
	/* The write while gone was dropped (reset value 0 reads as 0). */
	assert_int_equal(csx_read32(bound, BAR, REG_LIVENESS), 0);
	csx_sim_destroy(sd);
}

static void test_fault_drop_and_spurious(void **state)
{
	struct csx_sim_dev *sd = make("msi=off");
	struct csx_sim_stats st;
	struct csx_intr *intr;

	assert_int_equal(
		csx_intr_attach(bound, CSX_INTR_INTX, isr, NULL, &intr), 0);
	/* A dropped INTx edge: the line stays up, nobody is told. */
	csx_sim_fault_drop_irqs(sd, 1);
	csx_write32(bound, BAR, REG_IRQ_RAISE, 0x2);
	assert_int_equal(csx_sim_stats(sd, &st), 0);
	assert_int_equal(st.irqs_dropped, 1);
	assert_int_equal(st.irqs_delivered, 0);
	assert_true(csx_sim_intx_level(sd));
	/* Recovery as a driver's timeout path does it: ack, then go on. */
	csx_write32(bound, BAR, REG_IRQ_ACK, 0x2);
	csx_write32(bound, BAR, REG_IRQ_RAISE, 0x8);
	wait_isr(1);
	assert_int_equal(isr_status[0], 0x8);

	/* Spurious: the ISR runs and finds nothing pending. */
	csx_sim_fault_spurious(sd);
	wait_isr(2);
	assert_int_equal(isr_status[1], 0);
	assert_int_equal(csx_sim_stats(sd, &st), 0);
	assert_int_equal(st.irqs_spurious, 1);
	assert_int_equal(st.irqs_delivered, 2);
	assert_int_equal(csx_intr_detach(intr), 0);

	assert_int_equal(csx_sim_fault_apply(sd, "drop-irq:3"), 0);
	assert_int_equal(csx_sim_fault_apply(sd, "delay:5ms"), 0);
	assert_int_equal(csx_sim_completion_delay(sd), 5 * CSX_NSEC_PER_MSEC);
	assert_int_equal(csx_sim_fault_apply(sd, "delay:0"), 0);
	assert_int_equal(csx_sim_fault_apply(sd, "drop-irq:x"), -CSX_EINVAL);
	assert_int_equal(csx_sim_fault_apply(sd, "delay:5parsecs"),
			 -CSX_EINVAL);
	assert_int_equal(csx_sim_fault_apply(sd, "melt"), -CSX_EINVAL);
	csx_sim_destroy(sd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_msi_off_has_no_capability),
		cmocka_unit_test(test_instance_names),
		cmocka_unit_test(test_id_and_liveness),
		cmocka_unit_test(test_access_widths),
		cmocka_unit_test(test_factorial_busy_and_intx),
		cmocka_unit_test(test_factorial_without_irq),
		cmocka_unit_test(test_raise_and_ack),
		cmocka_unit_test(test_intx_isr_and_disable_bit),
		cmocka_unit_test(test_msi_isr),
		cmocka_unit_test(test_dma_both_ways_with_irq),
		cmocka_unit_test(test_dma_cpu_pointer_faults),
		cmocka_unit_test(test_dma_without_dma_bits_faults),
		cmocka_unit_test(test_dma_registers_frozen_while_running),
		cmocka_unit_test(test_fault_gone),
		cmocka_unit_test(test_fault_drop_and_spurious),
	};

	return cmocka_run_group_tests_name("edu model", tests, group_setup,
					   group_teardown);
}
