// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * User-mode adapter: runs the conformance cases as CMocka tests, one CMocka
 * group per suite, inside a process that brought libcsx-user up.
 *
 * usage: csx-conformance [FILTER]
 *   FILTER (or $CSX_TEST_FILTER): comma-separated "suite" or "suite.case"
 *   names; all cases run without one. CMocka's own variables apply too
 *   (CMOCKA_MESSAGE_OUTPUT=TAP for TAP output).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <csx_user.h>

#include "csx_test_runner.h"

void csx_test_port_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	vsnprintf(buf, size, fmt, ap);
}

void csx_test_port_diag(const char *line)
{
	print_message("# %s\n", line);
}

static void run_cmocka_case(void **state)
{
	const struct csx_test_case *c = *state;

	switch (csx_test_run_case(c)) {
	case CSX_TEST_PASSED:
		break;
	case CSX_TEST_SKIPPED:
		print_message("# SKIP %s: %s\n", c->name, csx_test_reason());
		skip();
		break;
	case CSX_TEST_FAILED:
		fail_msg("%s", csx_test_reason());
		break;
	}
}

/* Runs the selected cases of @s as one CMocka group; returns failures. */
static int run_suite(const struct csx_test_suite *s, const char *filter)
{
	struct CMUnitTest *tests;
	unsigned int i;
	size_t n = 0;
	int failed;

	tests = calloc(s->count ? s->count : 1, sizeof(*tests));
	if (!tests) {
		fprintf(stderr, "csx-conformance: out of memory\n");
		return 1;
	}
	for (i = 0; i < s->count; i++) {
		if (!csx_test_selected(filter, s, &s->cases[i]))
			continue;
		tests[n].name = s->cases[i].name;
		tests[n].test_func = run_cmocka_case;
		tests[n].initial_state = (void *)&s->cases[i];
		n++;
	}
	failed = n ? _cmocka_run_group_tests(s->name, tests, n, NULL, NULL) : 0;
	free(tests);
	return failed;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : getenv("CSX_TEST_FILTER");
	unsigned int i;
	int failed = 0;
	int rc;

	rc = csx_user_init();
	if (rc) {
		fprintf(stderr, "csx-conformance: csx_user_init: %s\n",
			csx_strerror(rc));
		return 1;
	}
	for (i = 0; i < csx_test_suite_count; i++)
		failed += run_suite(csx_test_suites[i], filter);
	csx_user_fini();
	return failed ? 1 : 0;
}
