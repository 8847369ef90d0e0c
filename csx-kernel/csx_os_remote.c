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
 * does not link against it: each remote open takes the helper's four
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
 * Shared buffers (csx_shbuf_alloc()) for such channels are the helper's
 * memory (csx_kh_shbuf_alloc()), which the serving process maps; those for
 * in-process services are plain vmalloc memory, which no process can map,
 * so a call passing one to a process is refused.
 *
 * User → kernel calls do not pass through here: csx_helper.ko calls
 * csx__service_open_for()/csx_call() on behalf of the process, and those
 * find the service in this registry. That is also why publishing a service
 * has nothing to do here: the helper looks in the registry itself.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

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
	int (*call_shbuf)(struct csx_kh_upchan *ch, u32 op,
			  struct csx_kh_shmem *sb, size_t in_off, size_t in_len,
			  size_t out_off, size_t out_cap, size_t *out_len,
			  s64 timeout_ns);
	void (*close)(struct csx_kh_upchan *ch);
};

static void csx_k_remote_put(struct csx_os_rchan *rc)
{
	if (rc->open)
		symbol_put(csx_kh_upcall_open);
	if (rc->call)
		symbol_put(csx_kh_upcall_call);
	if (rc->call_shbuf)
		symbol_put(csx_kh_upcall_call_shbuf);
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
	rc->call_shbuf = symbol_get(csx_kh_upcall_call_shbuf);
	rc->close = symbol_get(csx_kh_upcall_close);
	if (!rc->open || !rc->call || !rc->call_shbuf || !rc->close) {
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

/*
 * A shared buffer: vmalloc memory for an in-process service (@rc NULL),
 * or the helper's, which the exporting process maps (granted to its file
 * by the SERVE2 that takes the first call carrying it). The helper's
 * buffer may outlive the channel it was made for, so it holds its own
 * symbol_get() reference to the helper's free.
 */
struct csx_os_shbuf {
	void *addr;
	struct csx_kh_shmem *kh; /* NULL: vzalloc()ed */
	void (*free)(struct csx_kh_shmem *sb);
};

int csx_os_shbuf_alloc(struct csx_os_rchan *rc, size_t size,
		       struct csx_os_shbuf **out, void **addr)
{
	int (*alloc)(size_t size, struct csx_kh_shmem * *out, void **addr);
	struct csx_os_shbuf *sb;
	int ret;

	*out = NULL;
	*addr = NULL;
	sb = kzalloc(sizeof(*sb), GFP_KERNEL);
	if (!sb)
		return -CSX_ENOMEM;
	if (!rc) {
		sb->addr = vzalloc(size);
		if (!sb->addr) {
			kfree(sb);
			return -CSX_ENOMEM;
		}
		goto done;
	}
	/* The channel's own references keep the helper here meanwhile. */
	alloc = symbol_get(csx_kh_shbuf_alloc);
	sb->free = symbol_get(csx_kh_shbuf_free);
	ret = alloc && sb->free ? alloc(size, &sb->kh, &sb->addr) : -CSX_ENOMEM;
	if (alloc)
		symbol_put(csx_kh_shbuf_alloc);
	if (ret) {
		if (sb->free)
			symbol_put(csx_kh_shbuf_free);
		kfree(sb);
		return ret;
	}
done:
	*out = sb;
	*addr = sb->addr;
	return 0;
}

void csx_os_shbuf_free(struct csx_os_shbuf *sb)
{
	if (!sb->kh) {
		vfree(sb->addr);
	} else {
		/* Processes that mapped it keep the memory until munmap(). */
		sb->free(sb->kh);
		symbol_put(csx_kh_shbuf_free);
	}
	kfree(sb);
}

int csx_os_remote_call_shbuf(struct csx_os_rchan *rc, uint32_t op,
			     struct csx_os_shbuf *sb, size_t in_off,
			     size_t in_len, size_t out_off, size_t out_cap,
			     size_t *out_len, int64_t timeout_ns)
{
	if (!sb->kh) {
		*out_len = 0;
		csx_err("csx_call_shbuf: buffer made for an in-process service, which a process cannot map");
		return -CSX_EINVAL;
	}
	return rc->call_shbuf(rc->ch, op, sb->kh, in_off, in_len, out_off,
			      out_cap, out_len, timeout_ns);
}

int csx_os_service_publish(const char *name, uint32_t version,
			   enum csx_service_scope scope, uint64_t idempotent)
{
	return 0;
}

void csx_os_service_withdraw(const char *name)
{
}
