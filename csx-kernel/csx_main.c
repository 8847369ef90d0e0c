// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * csx.ko: the portable core plus the kernel back end. Loading it brings the
 * core up; driver modules built with CSX_MODULE() depend on it.
 */
#include <linux/init.h>
#include <linux/module.h>

#include <csx/csx.h>
#include <csx/csx_os.h>

#define CSX_K_VERSION_STR                                   \
	__stringify(CSX_API_VERSION_MAJOR) "." __stringify( \
		CSX_API_VERSION_MINOR) "." __stringify(CSX_API_VERSION_PATCH)

static int __init csx_k_init(void)
{
	int ret = csx__core_init();

	if (ret) {
		pr_err("csx: core initialization failed: %d\n", ret);
		return ret;
	}
	pr_info("csx: API %s, back end %s, %u CPU(s)\n", CSX_K_VERSION_STR,
		csx_os_name(), csx_os_cpu_count());
	return 0;
}

static void __exit csx_k_exit(void)
{
	csx__core_fini();
}

module_init(csx_k_init);
module_exit(csx_k_exit);

MODULE_DESCRIPTION(
	"CSX common software environment for drivers: core and kernel back end");
MODULE_LICENSE("Dual BSD/GPL");
MODULE_VERSION(CSX_K_VERSION_STR);
