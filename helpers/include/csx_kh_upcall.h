/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Kernel -> user calls: what csx.ko's kernel back end (csx-kernel/
 * csx_os_remote.c) asks of the kernel helper (csx_helper.ko). Kernel-only,
 * between the two modules; user processes see the other half of it as
 * CSX_KH_IOC_SVC_EXPORT / SERVE in csx_kh_abi.h.
 *
 * Neither module links against the other: csx.ko takes these with
 * symbol_get() when a kernel module opens a name its registry does not
 * have, and holds them (pinning csx_helper.ko) while the channel is open.
 * Without csx_helper.ko loaded the open fails with -CSX_ENOENT.
 *
 * Contract (the core's, csx_os.h "Remote services"): thread context, may
 * sleep; statuses are negative CSX_E* values; @timeout_ns is a bound or
 * CSX_WAIT_FOREVER (-1). The caller's buffers are only touched while the
 * call is in progress: a call that returns (timeout, peer death) leaves
 * nothing behind that could write them later.
 */
#ifndef CSX_KH_UPCALL_H
#define CSX_KH_UPCALL_H

#include <linux/types.h>

struct csx_kh_upchan;

/*
 * Open @name exported by a user process. 0; -CSX_ENOENT (nobody exports
 * it, also after waiting @wait_ns for an export: 0 does not wait, at most
 * 60 s); -CSX_EPROTO (older than @min_version); -CSX_ENOMEM; -CSX_ENOSPC.
 * @idempotent: the ops the exporter declared re-issuable.
 *
 * @gone (may be NULL) is called with @ctx at most once, when the export
 * behind the channel dies: its process exits or releases its file, or
 * withdraws it (SVC_UNEXPORT). It runs in process context (the dying
 * process's release or ioctl), may sleep, and holds no helper lock, so it
 * may take locks of its own (csx.ko's registry mutex); it must not close
 * the channel. It may run before this function returns. It is never
 * called once csx_kh_upcall_close() has returned: the close waits for a
 * call of @gone in progress.
 */
int csx_kh_upcall_open(const char *name, u32 min_version, s64 wait_ns,
		       void (*gone)(void *ctx), void *ctx,
		       struct csx_kh_upchan **out, u32 *version,
		       u64 *idempotent);
/*
 * One call: queued to the exporting process, answered by one of its
 * SERVE threads. The handler's status, or -CSX_EPEERDIED (the process
 * died or withdrew the export), -CSX_ETIMEDOUT, -CSX_ENOMEM, -CSX_EIO (the
 * process answered more than @out_cap bytes, or nonsense), -CSX_EINTR
 * (the calling task was killed while it waited: as a timeout, the call is
 * abandoned; kernel threads are never killed).
 */
int csx_kh_upcall_call(struct csx_kh_upchan *ch, u32 op, const void *in,
		       size_t in_len, void *out, size_t out_cap,
		       size_t *out_len, s64 timeout_ns);
/*
 * Shared buffers for kernel -> user calls (struct csx_kh_shmem: the name
 * struct csx_kh_shbuf is the ioctl structure of csx_kh_abi.h, which the
 * helper sees too). csx_kh_shbuf_alloc(): @size
 * bytes (page multiple, at most CSX_KH_SHBUF_MAX) of zeroed memory that
 * the exporting processes can map; @addr is its kernel address. 0;
 * -CSX_ENOMEM. csx_kh_shbuf_free(): drop the caller's reference: no call
 * using it is in progress (the core guarantees it); processes it was
 * granted to are told (SVC_SERVE2 @gone), and the memory goes with their
 * last mapping. A process may still write the memory while it is mapped
 * there: callers must treat what they read back as untrusted.
 *
 * csx_kh_upcall_call_shbuf(): csx_kh_upcall_call() with the payloads in
 * @sb (windows checked by the core): the serving process maps the buffer
 * (granted to its file on first use) and its handler reads @in_len bytes
 * at @in_off and writes at most @out_cap at @out_off in place. Same
 * statuses, plus -CSX_EOPNOTSUPP (the process serves with the old
 * SVC_SERVE, which cannot take shared buffers).
 */
struct csx_kh_shmem;
int csx_kh_shbuf_alloc(size_t size, struct csx_kh_shmem **out, void **addr);
void csx_kh_shbuf_free(struct csx_kh_shmem *sb);
int csx_kh_upcall_call_shbuf(struct csx_kh_upchan *ch, u32 op,
			     struct csx_kh_shmem *sb, size_t in_off,
			     size_t in_len, size_t out_off, size_t out_cap,
			     size_t *out_len, s64 timeout_ns);
/*
 * Close; no call is in progress on @ch (the core guarantees it). Waits for
 * a call of the channel's @gone in progress; none starts after this began.
 */
void csx_kh_upcall_close(struct csx_kh_upchan *ch);

#endif /* CSX_KH_UPCALL_H */
