/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx.h
 * @brief The CSX API: include this one header.
 *
 * CSX is a common software environment for device drivers: one driver
 * source builds unmodified as a Linux kernel module and as a user process.
 */
#ifndef CSX_H
#define CSX_H

#include <csx/csx_types.h>
#include <csx/csx_status.h>
#include <csx/csx_log.h>
#include <csx/csx_mem.h>
#include <csx/csx_context.h>
#include <csx/csx_thread.h>
#include <csx/csx_sync.h>
#include <csx/csx_dpc.h>
#include <csx/csx_timer.h>
#include <csx/csx_intr.h>
#include <csx/csx_device.h>
#include <csx/csx_service.h>
#include <csx/csx_state.h>
#include <csx/csx_module.h>

/** API major version: incompatible changes. */
#define CSX_API_VERSION_MAJOR 0
/** API minor version: compatible additions. */
#define CSX_API_VERSION_MINOR 1
/** API patch version: fixes. */
#define CSX_API_VERSION_PATCH 0
/** The API version as one number, (major << 16) | (minor << 8) | patch. */
#define CSX_API_VERSION                                                 \
	((CSX_API_VERSION_MAJOR << 16) | (CSX_API_VERSION_MINOR << 8) | \
	 CSX_API_VERSION_PATCH)

/**
 * csx_api_version() - The API version of the running CSX library/module.
 * @return CSX_API_VERSION as it was when CSX itself was built; compare with
 *         the CSX_API_VERSION the caller was compiled with.
 */
uint32_t csx_api_version(void);

/**
 * csx_backend_name() - Which back end runs this code.
 * @return "user" or "kernel" (for logs and diagnostics, never for
 *         behaviour: drivers contain no mode conditionals).
 */
const char *csx_backend_name(void);

#endif /* CSX_H */
