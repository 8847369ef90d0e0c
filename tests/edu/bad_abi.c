/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * A module whose descriptor claims a module ABI this CSX does not speak,
 * as a module built against some other CSX release would: csx-run must
 * refuse it with a clear message instead of calling into it.
 */
#include <csx/csx.h>

static int bad_init(void)
{
	return 0;
}

static void bad_fini(void)
{
}

__attribute__((visibility("default")))
const struct csx_module_desc csx_module_descriptor = { CSX_MODULE_ABI + 998,
						       "bad_abi", "0.0.0",
						       bad_init, bad_fini };
