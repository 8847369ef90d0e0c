// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Status codes and their text, the API version and the back end's name:
 * what a driver prints in its logs must mean the same in both modes.
 */
#include "csx_test_suites.h"

struct status_entry {
	int code;
	const char *name;
};

/* Every code csx_status.h documents, with the name it documents. */
static const struct status_entry all_codes[] = {
	{ CSX_EPERM, "CSX_EPERM" },
	{ CSX_ENOENT, "CSX_ENOENT" },
	{ CSX_EINTR, "CSX_EINTR" },
	{ CSX_EIO, "CSX_EIO" },
	{ CSX_ENXIO, "CSX_ENXIO" },
	{ CSX_E2BIG, "CSX_E2BIG" },
	{ CSX_EBADF, "CSX_EBADF" },
	{ CSX_EAGAIN, "CSX_EAGAIN" },
	{ CSX_ENOMEM, "CSX_ENOMEM" },
	{ CSX_EFAULT, "CSX_EFAULT" },
	{ CSX_EBUSY, "CSX_EBUSY" },
	{ CSX_EEXIST, "CSX_EEXIST" },
	{ CSX_ENODEV, "CSX_ENODEV" },
	{ CSX_EINVAL, "CSX_EINVAL" },
	{ CSX_ENOSPC, "CSX_ENOSPC" },
	{ CSX_ERANGE, "CSX_ERANGE" },
	{ CSX_EDEADLK, "CSX_EDEADLK" },
	{ CSX_ENOSYS, "CSX_ENOSYS" },
	{ CSX_EPROTO, "CSX_EPROTO" },
	{ CSX_EOVERFLOW, "CSX_EOVERFLOW" },
	{ CSX_EMSGSIZE, "CSX_EMSGSIZE" },
	{ CSX_EOPNOTSUPP, "CSX_EOPNOTSUPP" },
	{ CSX_ETIMEDOUT, "CSX_ETIMEDOUT" },
	{ CSX_ECANCELED, "CSX_ECANCELED" },
	{ CSX_EPEERDIED, "CSX_EPEERDIED" },
};

#define N_CODES (sizeof(all_codes) / sizeof(all_codes[0]))

/* A code nobody defines; Linux errno values stop well below it. */
#define UNKNOWN_CODE 4000

CSX_TEST(status_names_match_codes)
{
	unsigned int i;

	for (i = 0; i < N_CODES; i++) {
		CSX_CHECK_STR_EQ(csx_status_name(-all_codes[i].code),
				 all_codes[i].name);
		/* A positive code is accepted too. */
		CSX_CHECK_STR_EQ(csx_status_name(all_codes[i].code),
				 all_codes[i].name);
	}
	CSX_CHECK_STR_EQ(csx_status_name(0), "0");
	CSX_CHECK_STR_EQ(csx_status_name(-UNKNOWN_CODE), "CSX_E?");
}

CSX_TEST(strerror_describes_every_code)
{
	const char *unknown = csx_strerror(-UNKNOWN_CODE);
	unsigned int i, j;

	CSX_CHECK_STR_EQ(unknown, "unknown error");
	CSX_CHECK_NOT_NULL(csx_strerror(0));
	for (i = 0; i < N_CODES; i++) {
		const char *text = csx_strerror(-all_codes[i].code);

		CSX_CHECK_NOT_NULL(text);
		CSX_CHECK_GT(csx_test_strlen(text), 0);
		CSX_CHECK(!csx_test_str_eq(text, unknown));
		CSX_CHECK_STR_EQ(csx_strerror(all_codes[i].code), text);
		/* Distinct codes read differently in a log. */
		for (j = 0; j < i; j++)
			CSX_CHECK(!csx_test_str_eq(
				text, csx_strerror(-all_codes[j].code)));
	}
}

CSX_TEST(api_version_matches_header)
{
	CSX_CHECK_EQ(csx_api_version(), CSX_API_VERSION);
}

CSX_TEST(backend_name_is_known)
{
	const char *name = csx_backend_name();

	CSX_CHECK_NOT_NULL(name);
	CSX_CHECK_GT(csx_test_strlen(name), 0);
	CSX_CHECK(csx_test_str_eq(name, "user") ||
		  csx_test_str_eq(name, "kernel"));
	csx_test_note("back end: %s", name);
}

static const struct csx_test_case status_cases[] = {
	CSX_TEST_CASE(status_names_match_codes),
	CSX_TEST_CASE(strerror_describes_every_code),
	CSX_TEST_CASE(api_version_matches_header),
	CSX_TEST_CASE(backend_name_is_known),
};
CSX_TEST_SUITE(status, status_cases);
