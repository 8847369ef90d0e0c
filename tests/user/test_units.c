/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Unit numbers asked for by the host (csx_sim_create(..., "unit=N"), what
 * csx-run --device edu,unit=N passes): the driver sees them through
 * csx_dev_unit() when free, and bad values are refused before any device
 * exists.
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

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define SEEN_MAX 8

static struct {
	unsigned int n;
	char name[SEEN_MAX][32];
	unsigned int unit[SEEN_MAX];
} seen;

static int probe(struct csx_device *dev, const struct csx_pci_id *id)
{
	(void)id;
	if (seen.n < SEEN_MAX) {
		strncpy(seen.name[seen.n], csx_dev_name(dev),
			sizeof(seen.name[0]) - 1);
		seen.unit[seen.n] = csx_dev_unit(dev);
		seen.n++;
	}
	return 0;
}

static void remove_dev(struct csx_device *dev)
{
	(void)dev;
}

static const struct csx_pci_id ids[] = { { EDU_VENDOR, EDU_DEVICE }, { 0, 0 } };

static struct csx_driver drv = {
	.name = "unit-test",
	.ids = ids,
	.probe = probe,
	.remove = remove_dev,
	.dma_bits = 28,
};

/* The unit the driver saw for device @name. */
static unsigned int unit_of(const char *name)
{
	unsigned int i;

	for (i = 0; i < seen.n; i++)
		if (!strcmp(seen.name[i], name))
			return seen.unit[i];
	fail_msg("%s was not probed", name);
	return ~0u;
}

static int setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	if (csx_user_init())
		return -1;
	return csx_driver_register(&drv);
}

static int teardown(void **state)
{
	(void)state;
	csx_sim_destroy_all();
	csx_driver_unregister(&drv);
	csx_user_fini();
	return 0;
}

static void hint_is_taken(void **state)
{
	struct csx_sim_dev *a, *b, *c, *d;

	(void)state;
	assert_int_equal(csx_sim_create("edu", "unit=7", &a), 0);
	assert_int_equal(csx_sim_create("edu", NULL, &b), 0);
	assert_int_equal(csx_sim_create("edu", "msi=off,unit=1023", &c), 0);
	/* Taken by sim-edu0: the lowest free one instead (1: 0 is b's). */
	assert_int_equal(csx_sim_create("edu", "unit=7", &d), 0);
	assert_int_equal(unit_of(csx_sim_name(a)), 7);
	assert_int_equal(unit_of(csx_sim_name(b)), 0);
	assert_int_equal(unit_of(csx_sim_name(c)), 1023);
	assert_int_equal(unit_of(csx_sim_name(d)), 1);
}

static void unit_freed_with_device(void **state)
{
	struct csx_sim_dev *a, *b;

	(void)state;
	assert_int_equal(csx_sim_create("edu", "unit=3", &a), 0);
	assert_int_equal(unit_of(csx_sim_name(a)), 3);
	csx_sim_destroy(a);
	seen.n = 0;
	/* A restarted port asks again and gets it back. */
	assert_int_equal(csx_sim_create("edu", "unit=3", &b), 0);
	assert_int_equal(unit_of(csx_sim_name(b)), 3);
}

static void bad_units_refused(void **state)
{
	static const char *const bad[] = {
		"unit=1024", "unit=-1", "unit=",   "unit=x",
		"unit=3x",   "unit= 3", "unit=+3", "unit=99999999999999999999",
	};
	struct csx_sim_dev *sd;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sd = NULL;
		assert_int_equal(csx_sim_create("edu", bad[i], &sd),
				 -CSX_EINVAL);
		assert_null(sd);
	}
	assert_int_equal(seen.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hint_is_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(unit_freed_with_device, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_units_refused, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
