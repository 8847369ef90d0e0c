/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Kernel-mode CSX_MODULE(): module_init()/module_exit() plus the tags.
 * Driver modules depend on csx.ko, which brings the core up before them.
 */
#ifndef CSX_OS_MODULE_H
#define CSX_OS_MODULE_H

#include <linux/init.h>
#include <linux/module.h>

/**
 * Declare the module: see csx_module.h.
 * @param mname Module name (string literal).
 * @param mversion Version string.
 * @param minit int (*)(void) init function.
 * @param mfini void (*)(void) fini function.
 */
#define CSX_MODULE(mname, mversion, minit, mfini)         \
	static int __init csx__module_init(void)          \
	{                                                 \
		return minit();                           \
	}                                                 \
	static void __exit csx__module_exit(void)         \
	{                                                 \
		mfini();                                  \
	}                                                 \
	module_init(csx__module_init);                    \
	module_exit(csx__module_exit);                    \
	MODULE_LICENSE("Dual BSD/GPL");                   \
	MODULE_DESCRIPTION(mname " (CSX driver module)"); \
	MODULE_VERSION(mversion)

#endif /* CSX_OS_MODULE_H */
