// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: remote services (csx_os.h, "Remote services").
 *
 * The core asks the back end for a service its in-process registry does
 * not have. In the kernel, the in-process registry is csx.ko's: every
 * kernel module's services are in it already. Reaching another domain
 * would mean calling into a user process (kernel → user), which needs the
 * user helper daemon, a later step; there is no such path yet. So every
 * remote open fails with -CSX_ENOENT ("no such service"), exactly as if
 * the name were unknown, and no remote channel ever exists.
 *
 * User → kernel calls do not pass through here: csx_helper.ko calls
 * csx_open()/csx_call() on behalf of the process, and those find the
 * service in this registry.
 */
#include "csx_kernel.h"

int csx_os_remote_open(const char *name, uint32_t min_version,
		       struct csx_os_rchan **out, uint32_t *version)
{
	*out = NULL;
	*version = 0;
	return -CSX_ENOENT;
}

/*
 * Unreachable: the core calls these only on a channel remote_open made,
 * and it makes none. Should a future core get that wrong, the call fails
 * as a call to a vanished peer does, and close has nothing to free.
 */
int csx_os_remote_call(struct csx_os_rchan *rc, uint32_t op, const void *in,
		       size_t in_len, void *out, size_t out_cap,
		       size_t *out_len, int64_t timeout_ns)
{
	if (out_len)
		*out_len = 0;
	return -CSX_EPEERDIED;
}

void csx_os_remote_close(struct csx_os_rchan *rc)
{
}
