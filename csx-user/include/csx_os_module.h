/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode CSX_MODULE(): a descriptor with a fixed, exported name that the
 * host (csx-run, or libcsx-user-main in a standalone executable) looks up.
 */
#ifndef CSX_OS_MODULE_H
#define CSX_OS_MODULE_H

/** Name of the descriptor symbol in a user-mode module. */
#define CSX_MODULE_SYMBOL "csx_module_descriptor"

/**
 * Declare the module: see csx_module.h.
 * @param mname Module name (string literal).
 * @param mversion Version string.
 * @param minit int (*)(void) init function.
 * @param mfini void (*)(void) fini function.
 */
#define CSX_MODULE(mname, mversion, minit, mfini)              \
	__attribute__((visibility("default"), used))           \
	const struct csx_module_desc csx_module_descriptor = { \
		CSX_MODULE_ABI, mname, mversion, minit, mfini  \
	}

#endif /* CSX_OS_MODULE_H */
