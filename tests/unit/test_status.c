/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/* Status codes: every code has its own name and text, either sign. */
#include <errno.h>
#include <string.h>

#include "unit.h"

struct expect {
	int code;
	const char *name;
};

#define E(c)                       \
	{                          \
		CSX_##c, "CSX_" #c \
	}

/* Every code csx_status.h defines. */
static const struct expect all_codes[] = {
	E(EPERM),    E(ENOENT),	    E(EINTR),	  E(EIO),	E(ENXIO),
	E(E2BIG),    E(EBADF),	    E(EAGAIN),	  E(ENOMEM),	E(EFAULT),
	E(EBUSY),    E(EEXIST),	    E(ENODEV),	  E(EINVAL),	E(ENOSPC),
	E(ERANGE),   E(EDEADLK),    E(ENOSYS),	  E(EPROTO),	E(EOVERFLOW),
	E(EMSGSIZE), E(EOPNOTSUPP), E(ETIMEDOUT), E(ECANCELED), E(EPEERDIED),
};

#define NCODES (sizeof(all_codes) / sizeof(all_codes[0]))

static void every_code_has_its_name(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NCODES; i++) {
		assert_string_equal(csx_status_name(-all_codes[i].code),
				    all_codes[i].name);
		assert_string_equal(csx_status_name(all_codes[i].code),
				    all_codes[i].name);
	}
}

static void every_code_has_distinct_text(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < NCODES; i++) {
		const char *t = csx_strerror(-all_codes[i].code);

		assert_non_null(t);
		assert_string_not_equal(t, "unknown error");
		assert_string_equal(t, csx_strerror(all_codes[i].code));
		for (j = 0; j < i; j++)
			assert_string_not_equal(
				t, csx_strerror(-all_codes[j].code));
	}
}

static void success_and_unknown(void **state)
{
	(void)state;
	assert_string_equal(csx_status_name(0), "0");
	assert_string_equal(csx_strerror(0), "success");
	assert_string_equal(csx_status_name(-3), "CSX_E?");
	assert_string_equal(csx_strerror(-3), "unknown error");
	assert_string_equal(csx_strerror(-100000), "unknown error");
	assert_string_equal(csx_status_name(-2147483647 - 1), "CSX_E?");
}

/* The values equal Linux errno numbers so the kernel passes them through. */
static void values_match_linux_errno(void **state)
{
	static const int pairs[][2] = {
		{ CSX_EPERM, EPERM },	       { CSX_ENOENT, ENOENT },
		{ CSX_EINTR, EINTR },	       { CSX_EIO, EIO },
		{ CSX_ENXIO, ENXIO },	       { CSX_E2BIG, E2BIG },
		{ CSX_EBADF, EBADF },	       { CSX_EAGAIN, EAGAIN },
		{ CSX_ENOMEM, ENOMEM },	       { CSX_EFAULT, EFAULT },
		{ CSX_EBUSY, EBUSY },	       { CSX_EEXIST, EEXIST },
		{ CSX_ENODEV, ENODEV },	       { CSX_EINVAL, EINVAL },
		{ CSX_ENOSPC, ENOSPC },	       { CSX_ERANGE, ERANGE },
		{ CSX_EDEADLK, EDEADLK },      { CSX_ENOSYS, ENOSYS },
		{ CSX_EPROTO, EPROTO },	       { CSX_EOVERFLOW, EOVERFLOW },
		{ CSX_EMSGSIZE, EMSGSIZE },    { CSX_EOPNOTSUPP, EOPNOTSUPP },
		{ CSX_ETIMEDOUT, ETIMEDOUT },  { CSX_ECANCELED, ECANCELED },
		{ CSX_EPEERDIED, EOWNERDEAD },
	};
	size_t i;

	(void)state;
	assert_int_equal(sizeof(pairs) / sizeof(pairs[0]), NCODES);
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		assert_int_equal(pairs[i][0], pairs[i][1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_code_has_its_name),
		cmocka_unit_test(every_code_has_distinct_text),
		cmocka_unit_test(success_and_unknown),
		cmocka_unit_test(values_match_linux_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
