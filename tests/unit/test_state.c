// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Saved state (csx_state.c) on the mock back end, whose regions outlive
 * handles the way the user helper's and csx.ko's do: commits survive a
 * close, a torn newest commit falls back to the previous one, a region with
 * no intact commit is discarded, and bad arguments are refused.
 */
#include "unit.h"

#include <string.h>

struct counters {
	uint64_t a, b;
};

/* Slot @i's data in region @name, laid out as csx_state.c does. */
static unsigned char *slot_data(const char *name, size_t size, unsigned int i)
{
	size_t rsize, slot = (24 + size + 7) & ~(size_t)7;
	unsigned char *mem = mock_state_mem(name, &rsize);

	assert_non_null(mem);
	return mem + 4096 + i * slot + 24;
}

static void commit_close_restore(void **state)
{
	struct csx_state *st;
	struct counters *c;

	(void)state;
	assert_int_equal(csx_state_open("drv/st", 1, sizeof(*c), &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_NEW);
	assert_int_equal(csx_state_generation(st), 0);
	c = csx_state_data(st);
	assert_int_equal(c->a, 0);
	c->a = 41;
	c->b = 7;
	assert_int_equal(csx_state_commit(st), 0);
	c->a = 42; /* not committed: lost with the instance */
	csx_state_close(st, true);
	assert_int_equal(csx__live_count(CSX__T_STATE), 0);

	assert_int_equal(csx_state_open("drv/st", 1, sizeof(*c), &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_RESTORED);
	assert_int_equal(csx_state_generation(st), 1);
	assert_int_equal(csx_state_version(st), 1);
	c = csx_state_data(st);
	assert_int_equal(c->a, 41);
	assert_int_equal(c->b, 7);
	assert_true(mock_log_contains("saved state drv/st: restored commit 1"));
	/* Deleted: the next instance starts fresh. */
	csx_state_close(st, false);
	assert_int_equal(csx_state_open("drv/st", 1, sizeof(*c), &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_NEW);
	assert_int_equal(((struct counters *)csx_state_data(st))->a, 0);
	csx_state_close(st, false);
}

static void version_is_the_restored_one(void **state)
{
	struct csx_state *st;

	(void)state;
	assert_int_equal(csx_state_open("drv/v", 1, 8, &st), 0);
	assert_int_equal(csx_state_commit(st), 0);
	csx_state_close(st, true);
	assert_int_equal(csx_state_open("drv/v", 2, 8, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_RESTORED);
	assert_int_equal(csx_state_version(st), 1); /* the module decides */
	assert_int_equal(csx_state_commit(st), 0);
	assert_int_equal(csx_state_version(st), 2);
	assert_int_equal(csx_state_generation(st), 2);
	csx_state_close(st, false);
}

static void torn_newest_commit_falls_back(void **state)
{
	struct csx_state *st;
	uint64_t *v;

	(void)state;
	assert_int_equal(csx_state_open("drv/t", 1, 8, &st), 0);
	v = csx_state_data(st);
	*v = 111;
	assert_int_equal(csx_state_commit(st), 0); /* commit 1: slot 0 */
	*v = 222;
	assert_int_equal(csx_state_commit(st), 0); /* commit 2: slot 1 */
	csx_state_close(st, true);
	/* A crash in the middle of commit 2 would look like this. */
	slot_data("drv/t", 8, 1)[3] ^= 0x40;
	assert_int_equal(csx_state_open("drv/t", 1, 8, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_RESTORED);
	assert_int_equal(*(uint64_t *)csx_state_data(st), 111);
	assert_int_equal(csx_state_generation(st), 1);
	assert_true(mock_log_contains("older commit slot is torn"));
	/* The next commit overwrites the torn slot, not the good one. */
	*(uint64_t *)csx_state_data(st) = 333;
	assert_int_equal(csx_state_commit(st), 0);
	csx_state_close(st, true);
	assert_int_equal(csx_state_open("drv/t", 1, 8, &st), 0);
	assert_int_equal(*(uint64_t *)csx_state_data(st), 333);
	assert_int_equal(csx_state_generation(st), 2);
	csx_state_close(st, false);
}

static void corrupt_region_is_discarded(void **state)
{
	struct csx_state *st;
	unsigned char *mem;
	size_t rsize;

	(void)state;
	assert_int_equal(csx_state_open("drv/c", 1, 8, &st), 0);
	*(uint64_t *)csx_state_data(st) = 5;
	assert_int_equal(csx_state_commit(st), 0);
	assert_int_equal(csx_state_commit(st), 0);
	csx_state_close(st, true);
	slot_data("drv/c", 8, 0)[0] ^= 1;
	slot_data("drv/c", 8, 1)[7] ^= 1;
	assert_int_equal(csx_state_open("drv/c", 1, 8, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_DISCARDED);
	assert_int_equal(*(uint64_t *)csx_state_data(st), 0);
	assert_true(mock_log_contains("saved state drv/c: no intact commit"));
	csx_state_close(st, true);

	/* A scribbled header: discarded as well. */
	mem = mock_state_mem("drv/c", &rsize);
	memset(mem, 0xa5, 16);
	assert_int_equal(csx_state_open("drv/c", 1, 8, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_DISCARDED);
	assert_true(mock_log_contains("region header is corrupt"));
	/* Usable again after that. */
	assert_int_equal(csx_state_commit(st), 0);
	csx_state_close(st, true);
	assert_int_equal(csx_state_open("drv/c", 1, 8, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_RESTORED);
	csx_state_close(st, false);
}

static void size_change_keeps_what_fits(void **state)
{
	struct csx_state *st;
	unsigned char *d;

	(void)state;
	assert_int_equal(csx_state_open("drv/s", 1, 16, &st), 0);
	memset(csx_state_data(st), 0x11, 16);
	assert_int_equal(csx_state_commit(st), 0);
	csx_state_close(st, true);
	assert_int_equal(csx_state_open("drv/s", 1, 20000, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_RESTORED);
	d = csx_state_data(st);
	assert_int_equal(d[15], 0x11);
	assert_int_equal(d[16], 0);
	assert_int_equal(d[19999], 0);
	csx_state_close(st, true);
	/* Re-made at the new size with the restored commit in it. */
	assert_int_equal(csx_state_open("drv/s", 1, 20000, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_RESTORED);
	assert_int_equal(((unsigned char *)csx_state_data(st))[0], 0x11);
	csx_state_close(st, false);
}

static void bad_arguments(void **state)
{
	struct csx_state *st, *st2;

	(void)state;
	assert_int_equal(csx_state_open("noslash", 1, 8, &st), -CSX_EINVAL);
	assert_null(st);
	assert_int_equal(csx_state_open("a/b", 1, 0, &st), -CSX_EINVAL);
	assert_int_equal(csx_state_open("a/b", 1, CSX_STATE_MAX_SIZE + 1, &st),
			 -CSX_EINVAL);
	assert_int_equal(csx_state_open("a/b", 1, 8, NULL), -CSX_EINVAL);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_state_open("a/b", 1, 8, &st), -CSX_EDEADLK);
	mock_set_context(0);
	mock_set_state_result(-CSX_ENOSPC);
	assert_int_equal(csx_state_open("a/b", 1, 8, &st), -CSX_ENOSPC);
	mock_set_state_result(0);
	assert_int_equal(csx_state_open("a/b", 1, 8, &st), 0);
	assert_int_equal(csx_state_open("a/b", 1, 8, &st2), -CSX_EBUSY);
	assert_true(mock_log_contains("already open in this address space"));
	csx_state_close(st, false);
	/* Dead and NULL handles. */
	assert_int_equal(csx_state_commit(st), -CSX_EINVAL);
	assert_null(csx_state_data(st));
	csx_state_close(NULL, true);
	mock_fail_alloc_after(0);
	assert_int_equal(csx_state_open("a/b", 1, 8, &st), -CSX_ENOMEM);
	assert_int_equal(csx__live_count(CSX__T_STATE), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(commit_close_restore),
		UNIT_TEST(version_is_the_restored_one),
		UNIT_TEST(torn_newest_commit_falls_back),
		UNIT_TEST(corrupt_region_is_discarded),
		UNIT_TEST(size_change_keeps_what_fits),
		UNIT_TEST(bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
