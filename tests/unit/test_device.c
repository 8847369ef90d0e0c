/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Drivers and devices: matching, probe/remove, double registration,
 * register range checks, config space arguments and DMA buffers.
 */
#include <string.h>

#include "unit.h"

struct dstate {
	int probes, removes;
	int probe_ret;
	struct csx_device *dev;
	const struct csx_pci_id *id;
};

static struct dstate ds;

static int probe(struct csx_device *dev, const struct csx_pci_id *id)
{
	ds.probes++;
	ds.id = id;
	if (ds.probe_ret)
		return ds.probe_ret;
	ds.dev = dev;
	csx_dev_set_drvdata(dev, &ds);
	return 0;
}

static void remove_dev(struct csx_device *dev)
{
	assert_ptr_equal(csx_dev_get_drvdata(dev), &ds);
	ds.removes++;
	ds.dev = NULL;
}

static const struct csx_pci_id edu_ids[] = { { 0x1234, 0x11e8 }, { 0, 0 } };
static struct csx_driver edu_drv = { "edu", edu_ids, probe, remove_dev };

static struct csx_os_dev *setup_edu(void)
{
	struct csx_os_dev *od;

	memset(&ds, 0, sizeof(ds));
	od = mock_dev_add(0x1234, 0x11e8, "0000:00:04.0", 4096, true);
	assert_int_equal(csx_driver_register(&edu_drv), 0);
	assert_non_null(ds.dev);
	assert_ptr_equal(mock_dev_core(od), ds.dev);
	return od;
}

static void pci_match_rules(void **state)
{
	static const struct csx_pci_id tbl[] = {
		{ 0x8086, 0x1000 },
		{ 0x1234, CSX_PCI_ANY_ID },
		{ CSX_PCI_ANY_ID, 0x2222 },
		{ 0, 0 },
	};

	(void)state;
	assert_ptr_equal(csx__pci_match(tbl, 0x8086, 0x1000), &tbl[0]);
	assert_ptr_equal(csx__pci_match(tbl, 0x1234, 0x5555), &tbl[1]);
	assert_ptr_equal(csx__pci_match(tbl, 0x9999, 0x2222), &tbl[2]);
	assert_null(csx__pci_match(tbl, 0x8086, 0x1001));
	assert_null(csx__pci_match(NULL, 1, 1));
}

static void register_probes_matches_only(void **state)
{
	(void)state;
	memset(&ds, 0, sizeof(ds));
	mock_dev_add(0x1234, 0x11e8, "edu0", 4096, false);
	mock_dev_add(0x8086, 0x100e, "e1000", 4096, false);
	assert_int_equal(csx_driver_register(&edu_drv), 0);
	assert_int_equal(ds.probes, 1);
	assert_ptr_equal(ds.id, &edu_ids[0]);
	assert_string_equal(csx_dev_name(ds.dev), "edu0");
	assert_int_equal(csx_bar_size(ds.dev, 0), 4096);
	assert_int_equal(csx_bar_size(ds.dev, 1), 0);
	assert_int_equal(csx_bar_size(ds.dev, 6), 0);
	assert_int_equal(csx_driver_register(&edu_drv), -CSX_EEXIST);
	assert_int_equal(ds.probes, 1);
	csx_driver_unregister(&edu_drv);
	assert_int_equal(ds.removes, 1);
	/* Not registered any more: logged and ignored. */
	mock_log_clear();
	csx_driver_unregister(&edu_drv);
	assert_true(mock_log_contains("is not registered"));
	assert_int_equal(ds.removes, 1);
}

static void register_arguments(void **state)
{
	struct csx_driver bad = edu_drv;

	(void)state;
	assert_int_equal(csx_driver_register(NULL), -CSX_EINVAL);
	bad.name = NULL;
	assert_int_equal(csx_driver_register(&bad), -CSX_EINVAL);
	bad = edu_drv;
	bad.ids = NULL;
	assert_int_equal(csx_driver_register(&bad), -CSX_EINVAL);
	bad = edu_drv;
	bad.remove = NULL;
	assert_int_equal(csx_driver_register(&bad), -CSX_EINVAL);
	mock_set_context(CSX_OS_CTX_ATOMIC);
	assert_int_equal(csx_driver_register(&edu_drv), -CSX_EDEADLK);
	mock_set_context(0);
	/* Out of memory or a back-end failure leave it unregistered. */
	mock_fail_alloc_after(0);
	assert_int_equal(csx_driver_register(&edu_drv), -CSX_ENOMEM);
	mock_set_driver_register_result(-CSX_EIO);
	assert_int_equal(csx_driver_register(&edu_drv), -CSX_EIO);
	mock_set_driver_register_result(0);
	assert_int_equal(csx_driver_register(&edu_drv), 0);
	csx_driver_unregister(&edu_drv);
}

static void declined_probe_frees_the_device(void **state)
{
	(void)state;
	memset(&ds, 0, sizeof(ds));
	ds.probe_ret = -CSX_ENODEV;
	mock_dev_add(0x1234, 0x11e8, "edu0", 4096, false);
	assert_int_equal(csx_driver_register(&edu_drv), 0);
	assert_int_equal(ds.probes, 1);
	assert_int_equal(csx__live_count(CSX__T_DEVICE), 0);
	csx_driver_unregister(&edu_drv);
	assert_int_equal(ds.removes, 0);
}

static void probe_without_memory(void **state)
{
	struct csx_os_dev *od = mock_dev_add(1, 2, "d", 16, false);
	static const struct csx_pci_id id = { 1, 2 };
	struct csx_device *dev;
	long n;
	int ret;

	(void)state;
	memset(&ds, 0, sizeof(ds));
	for (n = 0;; n++) {
		long live = mock_live_allocs();

		mock_fail_alloc_after(n);
		ret = csx__dev_probe(&edu_drv, od, "d", &id, &dev);
		mock_fail_alloc_after(-1);
		if (ret == 0)
			break;
		assert_int_equal(ret, -CSX_ENOMEM);
		assert_null(dev);
		assert_int_equal(ds.probes, 0);
		assert_int_equal(mock_live_allocs(), live);
	}
	assert_int_equal(n, 2);
	csx__dev_remove(dev);
	assert_int_equal(ds.removes, 1);
	assert_int_equal(csx_dev_name(dev), csx_dev_name(NULL));
}

static void registers_in_range(void **state)
{
	struct csx_os_dev *od;
	struct csx_device *dev;
	uint16_t raw;

	(void)state;
	od = setup_edu();
	dev = ds.dev;
	csx_write32(dev, 0, 4, 0x12345678);
	assert_int_equal(csx_read32(dev, 0, 4), 0x12345678);
	assert_int_equal(csx_read16(dev, 0, 6), 0x1234);
	assert_int_equal(csx_read8(dev, 0, 4), 0x78);
	csx_write64(dev, 0, 4088, 0x0102030405060708ull);
	assert_int_equal(csx_read64(dev, 0, 4088), 0x0102030405060708ull);
	csx_write8(dev, 0, 4095, 0xab);
	assert_int_equal(csx_read8(dev, 0, 4095), 0xab);
	csx_write16(dev, 0, 0, 0xbeef);
	memcpy(&raw, mock_dev_bar(od, 0), 2);
	assert_int_equal(raw, 0xbeef);
	csx_driver_unregister(&edu_drv);
}

static void registers_out_of_range_read_all_ones(void **state)
{
	struct csx_os_dev *od;
	struct csx_device *dev;
	unsigned long ops;

	(void)state;
	memset(&ds, 0, sizeof(ds));
	od = mock_dev_add(0x1234, 0x11e8, "edu0", 4096, false);
	memset(mock_dev_bar(od, 0), 0, 4096);
	assert_int_equal(csx_driver_register(&edu_drv), 0);
	dev = ds.dev;
	ops = mock_dev_reg_ops(od);
	mock_log_clear();
	assert_int_equal(csx_read32(dev, 0, 4096), 0xffffffffu);
	assert_true(
		mock_log_contains("csx_read32(): edu0 BAR 0 offset 0x1000"));
	assert_int_equal(csx_read32(dev, 0, 4094), 0xffffffffu);
	assert_int_equal(csx_read64(dev, 0, 4092), ~0ull);
	assert_int_equal(csx_read16(dev, 0, 3), 0xffff); /* misaligned */
	assert_int_equal(csx_read8(dev, 1, 0), 0xff);	 /* no BAR 1 */
	assert_int_equal(csx_read8(dev, 6, 0), 0xff);	 /* no BAR 6 */
	assert_int_equal(csx_read32(dev, 0, ~0ull - 1), 0xffffffffu);
	csx_write32(dev, 0, 4096, 1);
	csx_write8(dev, 0, 1ull << 40, 1);
	csx_write64(dev, 0, 4, 1); /* misaligned */
	assert_int_equal(csx_read32(NULL, 0, 0), 0xffffffffu);
	/* None reached the device. */
	assert_int_equal(mock_dev_reg_ops(od), ops);
	/* The log is rate-limited per device. */
	assert_true(mock_log_contains("further bad register accesses to edu0"));
	assert_true(mock_log_count(CSX_LOG_ERR) <= 8);
	csx_driver_unregister(&edu_drv);
}

static void config_space_arguments(void **state)
{
	struct csx_device *dev;
	uint32_t v = 0;

	(void)state;
	setup_edu();
	dev = ds.dev;
	assert_int_equal(csx_pci_cfg_read(dev, 0, 2, &v), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(csx_pci_cfg_read(dev, 2, 2, &v), 0);
	assert_int_equal(v, 0x11e8);
	assert_int_equal(csx_pci_cfg_write(dev, 0x40, 4, 0xcafe), 0);
	assert_int_equal(csx_pci_cfg_read(dev, 0x40, 4, &v), 0);
	assert_int_equal(v, 0xcafe);
	assert_int_equal(csx_pci_cfg_read(dev, 0, 3, &v), -CSX_EINVAL);
	assert_int_equal(csx_pci_cfg_read(dev, 0, 8, &v), -CSX_EINVAL);
	assert_int_equal(csx_pci_cfg_read(dev, 2, 4, &v), -CSX_EINVAL);
	assert_int_equal(csx_pci_cfg_read(dev, 0, 4, NULL), -CSX_EINVAL);
	assert_int_equal(csx_pci_cfg_read(dev, 4096, 4, &v), -CSX_ERANGE);
	assert_int_equal(csx_pci_cfg_write(dev, 4096, 1, 0), -CSX_ERANGE);
	assert_int_equal(csx_pci_cfg_write(dev, 1, 2, 0), -CSX_EINVAL);
	assert_int_equal(csx_pci_cfg_read(NULL, 0, 4, &v), -CSX_EINVAL);
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_pci_cfg_read(dev, 0, 4, &v), -CSX_EDEADLK);
	mock_set_context(0);
	csx_driver_unregister(&edu_drv);
}

static void dma_buffers(void **state)
{
	struct csx_dma_buf *buf;
	unsigned char *cpu;
	long n;
	int ret;

	(void)state;
	setup_edu();
	assert_int_equal(csx_dma_alloc(ds.dev, 4096, &buf), 0);
	cpu = csx_dma_cpu(buf);
	assert_non_null(cpu);
	memset(cpu, 0x5a, 4096);
	assert_int_equal(csx_dma_size(buf), 4096);
	assert_true(csx_dma_bus(buf) != 0);
	assert_true(csx_dma_bus(buf) != (uint64_t)(uintptr_t)cpu);
	csx_dma_free(buf);
	assert_null(csx_dma_cpu(buf));
	assert_int_equal(csx_dma_bus(buf), 0);
	assert_int_equal(csx_dma_size(buf), 0);
	csx_dma_free(buf); /* logged, ignored */
	csx_dma_free(NULL);

	assert_int_equal(csx_dma_alloc(ds.dev, 0, &buf), -CSX_EINVAL);
	assert_int_equal(csx_dma_alloc(NULL, 16, &buf), -CSX_EINVAL);
	assert_int_equal(csx_dma_alloc(ds.dev, 16, NULL), -CSX_EINVAL);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_dma_alloc(ds.dev, 16, &buf), -CSX_EDEADLK);
	mock_set_context(0);
	for (n = 0;; n++) {
		long live = mock_live_allocs();

		mock_fail_alloc_after(n);
		ret = csx_dma_alloc(ds.dev, 64, &buf);
		mock_fail_alloc_after(-1);
		if (ret == 0)
			break;
		assert_int_equal(ret, -CSX_ENOMEM);
		assert_null(buf);
		assert_int_equal(mock_live_allocs(), live);
	}
	assert_int_equal(n, 3);
	csx_dma_free(buf);
	csx_driver_unregister(&edu_drv);
}

/* A buffer the driver forgot keeps working until freed after remove. */
static void dma_buffer_outlives_remove(void **state)
{
	struct csx_dma_buf *buf;

	(void)state;
	setup_edu();
	assert_int_equal(csx_dma_alloc(ds.dev, 128, &buf), 0);
	csx_driver_unregister(&edu_drv);
	assert_true(mock_log_contains("left 1 DMA buffer(s) of 0000:00:04.0"));
	assert_int_equal(csx_dma_size(buf), 128);
	csx_dma_free(buf);
	assert_int_equal(csx__live_count(CSX__T_DEVICE), 0);
}

static void drvdata_and_bad_devices(void **state)
{
	(void)state;
	assert_null(csx_dev_get_drvdata(NULL));
	csx_dev_set_drvdata(NULL, &ds);
	assert_int_equal(csx_bar_size(NULL, 0), 0);
	assert_non_null(csx_dev_name(NULL));
	setup_edu();
	csx_dev_set_drvdata(ds.dev, NULL);
	assert_null(csx_dev_get_drvdata(ds.dev));
	csx_dev_set_drvdata(ds.dev, &ds);
	csx_driver_unregister(&edu_drv);
}

/* Units: the host's hint when free, else the lowest free, per driver. */
static unsigned int unit_of[4];
static int nunits;

static int probe_unit(struct csx_device *dev, const struct csx_pci_id *id)
{
	(void)id;
	unit_of[nunits++] = csx_dev_unit(dev);
	return 0;
}

static void remove_unit(struct csx_device *dev)
{
	(void)dev;
}

static void units(void **state)
{
	static struct csx_driver d1 = { .name = "u1",
					.ids = edu_ids,
					.probe = probe_unit,
					.remove = remove_unit };
	struct csx_os_dev *a, *b, *c;

	(void)state;
	nunits = 0;
	a = mock_dev_add(0x1234, 0x11e8, "a", 16, false);
	b = mock_dev_add(0x1234, 0x11e8, "b", 16, false);
	c = mock_dev_add(0x1234, 0x11e8, "c", 16, false);
	mock_dev_set_unit_hint(a, 1);
	mock_dev_set_unit_hint(c, 1); /* taken by a: the lowest free */
	assert_int_equal(csx_driver_register(&d1), 0);
	assert_int_equal(nunits, 3);
	/* Probe order may be any; a got its hint, the others 0 and 2. */
	assert_int_equal(csx_dev_unit(mock_dev_core(a)), 1);
	assert_int_equal(csx_dev_unit(mock_dev_core(b)) +
				 csx_dev_unit(mock_dev_core(c)),
			 2);
	assert_true(mock_log_contains("unit 1 is taken by another u1 device"));
	assert_int_equal(csx_dev_unit(NULL), 0);
	csx_driver_unregister(&d1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(pci_match_rules),
		UNIT_TEST(units),
		UNIT_TEST(register_probes_matches_only),
		UNIT_TEST(register_arguments),
		UNIT_TEST(declined_probe_frees_the_device),
		UNIT_TEST(probe_without_memory),
		UNIT_TEST(registers_in_range),
		UNIT_TEST(registers_out_of_range_read_all_ones),
		UNIT_TEST(config_space_arguments),
		UNIT_TEST(dma_buffers),
		UNIT_TEST(dma_buffer_outlives_remove),
		UNIT_TEST(drvdata_and_bad_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
