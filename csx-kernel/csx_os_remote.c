// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: remote services (csx_os.h, "Remote services").
 *
 * The core asks the back end for a service its in-process registry does
 * not have. In the kernel, the in-process registry is csx.ko's: every
 * kernel module's services are in it already. What is left are services
 * user processes export to kernel modules through the kernel helper
 * (CSX_KH_IOC_SVC_EXPORT, csx_helper.ko): the calls go to the exporting
 * process, whose threads answer them (kernel → user).
 *
 * csx_helper.ko is optional and csx.ko must load without it, so csx.ko
 * does not link against it: each remote open takes the helper's three
 * entry points (csx_kh_upcall.h) with symbol_get(), and the channel keeps
 * them until it closes. That pins csx_helper.ko while a kernel module
 * holds a channel to a process (rmmod csx_helper: "in use"), which is what
 * the channel needs: its calls run in the helper's code. Without the
 * helper loaded, a remote open is -CSX_ENOENT ("no such service"), as if
 * the name were unknown.
 *
 * The helper tells each channel when the process behind it dies or
 * withdraws the export (csx_k_remote_gone()), so the core can run the
 * channel's watch function (csx_chan_watch()) without waiting for a call
 * to fail. The helper calls it with none of its locks held, at most once,
 * and never after its close returned: the contract csx__remote_peer_gone()
 * asks of us.
 *
 * User → kernel calls do not pass through here: csx_helper.ko calls
 * csx__service_open_for()/csx_call() on behalf of the process, and those
 * find the service in this registry. That is also why publishing a service
 * has nothing to do here: the helper looks in the registry itself.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "csx_kernel.h"
#include "csx_kh_upcall.h"

struct csx_os_rchan {
	struct csx_kh_upchan *ch;
	/* symbol_get() references, given back at close. */
	int (*open)(const char *name, u32 min_version, s64 wait_ns,
		    void (*gone)(void *ctx), void *ctx,
		    struct csx_kh_upchan **out, u32 *version, u64 *idempotent);
	int (*call)(struct csx_kh_upchan *ch, u32 op, const void *in,
		    size_t in_len, void *out, size_t out_cap, size_t *out_len,
		    s64 timeout_ns);
	void (*close)(struct csx_kh_upchan *ch);
};

static void csx_k_remote_put(struct csx_os_rchan *rc)
{
	if (rc->open)
		symbol_put(csx_kh_upcall_open);
	if (rc->call)
		symbol_put(csx_kh_upcall_call);
	if (rc->close)
		symbol_put(csx_kh_upcall_close);
	kfree(rc);
}

/* The helper's death notice (process context, no helper lock held). */
static void csx_k_remote_gone(void *ctx)
{
	csx__remote_peer_gone(ctx);
}

/*
 * The kernel helper waits up to @wait_ns for a process to export @name
 * (a restarted instance), and reports the ops it declared idempotent
 * (CSX_KH_IOC_SVC_EXPORT_OPTS), so the core recovers kernel channels to
 * processes as it does channels between processes.
 */
int csx_os_remote_open(const char *name, uint32_t min_version, int64_t wait_ns,
		       struct csx_os_rchan **out, uint32_t *version,
		       uint64_t *idempotent)
{
	struct csx_os_rchan *rc;
	int ret;

	*out = NULL;
	*version = 0;
	*idempotent = 0;
	rc = kzalloc(sizeof(*rc), GFP_KERNEL);
	if (!rc)
		return -CSX_ENOMEM;
	rc->open = symbol_get(csx_kh_upcall_open);
	rc->call = symbol_get(csx_kh_upcall_call);
	rc->close = symbol_get(csx_kh_upcall_close);
	if (!rc->open || !rc->call || !rc->close) {
		/* csx_helper.ko not loaded (or going): nobody to ask. */
		csx_k_remote_put(rc);
		return -CSX_ENOENT;
	}
	ret = rc->open(name, min_version, wait_ns, csx_k_remote_gone, rc,
		       &rc->ch, version, idempotent);
	if (ret) {
		csx_k_remote_put(rc);
		return ret;
	}
	*out = rc;
	return 0;
}

int csx_os_remote_call(struct csx_os_rchan *rc, uint32_t op, const void *in,
		       size_t in_len, void *out, size_t out_cap,
		       size_t *out_len, int64_t timeout_ns)
{
	return rc->call(rc->ch, op, in, in_len, out, out_cap, out_len,
			timeout_ns);
}

void csx_os_remote_close(struct csx_os_rchan *rc)
{
	rc->close(rc->ch);
	csx_k_remote_put(rc);
}

int csx_os_service_publish(const char *name, uint32_t version,
			   enum csx_service_scope scope, uint64_t idempotent)
{
	return 0;
}

void csx_os_service_withdraw(const char *name)
{
}
