/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_module.h
 * @brief Declaring a driver module.
 *
 * A module source declares itself once:
 * @code
 * static int my_init(void) { return csx_driver_register(&my_driver); }
 * static void my_fini(void) { csx_driver_unregister(&my_driver); }
 * CSX_MODULE("my_driver", "1.0.0", my_init, my_fini);
 * @endcode
 * Kernel mode: CSX_MODULE becomes module_init()/module_exit() with the
 * license and version tags. User mode: it defines the descriptor
 * @c csx_module_descriptor that the host @c csx-run finds in the module's
 * shared object, or that a standalone executable linked with
 * @c libcsx-user-main starts.
 */
#ifndef CSX_MODULE_H
#define CSX_MODULE_H

#include <csx/csx_types.h>

/** Version of struct csx_module_desc; bumped when its layout changes. */
#define CSX_MODULE_ABI 1

/** A module's descriptor, produced by CSX_MODULE(). */
struct csx_module_desc {
	uint32_t abi;	     /**< CSX_MODULE_ABI when built. */
	const char *name;    /**< Module name. */
	const char *version; /**< Module version string. */
	int (*init)(
		void); /**< Start: 0 or a negative status. Thread context. */
	void (*fini)(void); /**< Stop: undo init. Thread context. */
};

/* Provides CSX_MODULE() for the mode being built. */
#include <csx_os_module.h>

#ifndef CSX_MODULE
#error "the back end's csx_os_module.h must define CSX_MODULE()"
#endif

#endif /* CSX_MODULE_H */
