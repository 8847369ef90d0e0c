// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/* The suite table both adapters walk. */
#include "csx_test_suites.h"

#define CSX_TEST_SUITE_REF(area) &csx_suite_##area,
const struct csx_test_suite *const csx_test_suites[] = { CSX_TEST_SUITE_LIST(
	CSX_TEST_SUITE_REF) };
#undef CSX_TEST_SUITE_REF

const unsigned int csx_test_suite_count =
	sizeof(csx_test_suites) / sizeof(csx_test_suites[0]);
