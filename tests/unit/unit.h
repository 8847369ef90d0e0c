/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Common includes of the core's unit tests: CMocka, the API, the core's
 * internal header and the mock back end.
 */
#ifndef CSX_UNIT_H
#define CSX_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <csx/csx.h>
#include "csx_core.h"
#include "mock_os.h"

/* A test with the core brought up on the mock and checked for leaks. */
#define UNIT_TEST(f) \
	cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)

#endif /* CSX_UNIT_H */
