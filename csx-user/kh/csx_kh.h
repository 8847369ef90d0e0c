/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-user: PCI devices claimed through the kernel helper
 * (/dev/csx, csx_helper.ko; ABI in helpers/include/csx_kh_abi.h), the
 * second device source beside the simulated devices. The hosts (csx-run,
 * libcsx-user-main) claim them for --device pci:...; not installed.
 *
 * Each claimed device holds one open file of the helper. Closing it (at
 * release, at exit, or by the kernel when the process dies, SIGKILL
 * included) gives the device, its interrupt and its DMA memory back.
 *
 * Environment: CSX_KH_DEVICE overrides the helper's device node (tests).
 */
#ifndef CSX_KH_H
#define CSX_KH_H

#include <stddef.h>

/* A device claimed through the kernel helper (opaque). */
struct csx_kh_dev;

/* Room for a failure's explanation (csx_kh_claim()'s @why). */
#define CSX_KH_WHY_MAX 256

/*
 * csx_kh_claim() - Claim PCI function @domain:@bus:@devfn from the helper,
 * map its memory BARs and publish it to the drivers (probing at once, like
 * a hot-plugged device), asking for unit @unit (0..1023, or -1: any; see
 * csx_dev_unit()). CSX must be up (csx_user_init()).
 * Returns 0, or a negative status with one csx_err line logged and @why
 * (CSX_KH_WHY_MAX bytes, may be NULL) explaining it:
 *   -CSX_ENOENT  no helper: the device node does not exist
 *   -CSX_EPERM   no permission (open or claim)
 *   -CSX_EPROTO  the node is not the helper, or speaks another ABI
 *   -CSX_ENODEV  the helper knows no such PCI device
 *   -CSX_EBUSY   bound to another driver or owned by another process
 *   -CSX_EEXIST  a device of that name is listed already
 *   -CSX_EINVAL  @unit out of range
 *   other        mapping, memory, enabling failures
 */
int csx_kh_claim(unsigned int domain, unsigned int bus, unsigned int devfn,
		 int unit, struct csx_kh_dev **out, char *why);

/*
 * csx_kh_release() - Remove the bound driver, unpublish the device, unmap
 * it and close the helper's file (which gives the device back).
 */
void csx_kh_release(struct csx_kh_dev *kd);

/* csx_kh_release_all() - Release every claimed device, newest first. */
void csx_kh_release_all(void);

/* csx_kh_device_path() - The helper's node: $CSX_KH_DEVICE or /dev/csx. */
const char *csx_kh_device_path(void);

#endif /* CSX_KH_H */
