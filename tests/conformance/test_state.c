// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Saved state on the real back end: a commit survives closing the handle
 * (the region lives in the user helper daemon or the process in user mode,
 * in csx.ko in kernel mode), a deleted region comes back empty, and the
 * API refuses what it must refuse.
 */
#include "csx_test_suites.h"

#define ST_NAME "conformance/state"

struct st_data {
	uint64_t value;
	uint32_t words[30];
};

CSX_TEST(state_commit_survives_close)
{
	struct csx_state *st = NULL;
	struct st_data *d;
	unsigned int i;

	/* Whatever an earlier run left: start from nothing. */
	CSX_CHECK_OK(csx_state_open(ST_NAME, 3, sizeof(*d), &st));
	csx_state_close(st, false);

	CSX_CHECK_OK(csx_state_open(ST_NAME, 3, sizeof(*d), &st));
	CSX_CHECK_EQ(csx_state_origin(st), CSX_STATE_NEW);
	CSX_CHECK_EQ(csx_state_generation(st), 0);
	d = csx_state_data(st);
	CSX_CHECK_NOT_NULL(d);
	CSX_CHECK_EQ(d->value, 0);
	d->value = 0x1234abcd5678ull;
	for (i = 0; i < 30; i++)
		d->words[i] = i * 7;
	CSX_CHECK_OK(csx_state_commit(st));
	d->value = 1; /* never committed */
	csx_state_close(st, true);

	CSX_CHECK_OK(csx_state_open(ST_NAME, 3, sizeof(*d), &st));
	CSX_CHECK_EQ(csx_state_origin(st), CSX_STATE_RESTORED);
	CSX_CHECK_EQ(csx_state_version(st), 3);
	CSX_CHECK_EQ(csx_state_generation(st), 1);
	d = csx_state_data(st);
	CSX_CHECK_EQ(d->value, 0x1234abcd5678ull);
	CSX_CHECK_EQ(d->words[29], 29 * 7);
	csx_state_close(st, false);

	CSX_CHECK_OK(csx_state_open(ST_NAME, 3, sizeof(*d), &st));
	CSX_CHECK_EQ(csx_state_origin(st), CSX_STATE_NEW);
	csx_state_close(st, false);
}

CSX_TEST(state_refuses_bad_use)
{
	struct csx_state *st = NULL, *st2 = NULL;

	CSX_CHECK_RC(csx_state_open("noslash", 1, 8, &st), -CSX_EINVAL);
	CSX_CHECK_RC(csx_state_open(ST_NAME, 1, 0, &st), -CSX_EINVAL);
	CSX_CHECK_RC(csx_state_open(ST_NAME, 1, CSX_STATE_MAX_SIZE + 1, &st),
		     -CSX_EINVAL);
	CSX_CHECK_OK(csx_state_open(ST_NAME, 1, 8, &st));
	CSX_CHECK_RC(csx_state_open(ST_NAME, 1, 8, &st2), -CSX_EBUSY);
	csx_state_close(st, false);
}

static const struct csx_test_case state_cases[] = {
	CSX_TEST_CASE(state_commit_survives_close),
	CSX_TEST_CASE(state_refuses_bad_use),
};
CSX_TEST_SUITE(state, state_cases);
