/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_service.h
 * @brief Module-to-module calls: exported services and channels.
 *
 * A module exports a named, versioned service; another module opens it by
 * name with the lowest version it accepts and calls operations on it with a
 * request buffer and a response buffer. The registry is in-process: a
 * service exported in the same address space is called directly, in the
 * caller's thread. A name not found there is looked up by the back end in
 * other domains: in a user process, the services of kernel modules through
 * the kernel helper (/dev/csx); kernel to user and user to user across
 * processes come with the user helper daemon. A channel to such a service
 * is used exactly like a local one.
 *
 * Names are "module/service", at most CSX_SERVICE_NAME_MAX - 1 bytes.
 */
#ifndef CSX_SERVICE_H
#define CSX_SERVICE_H

#include <csx/csx_types.h>

/** Longest service name, including the terminating NUL. */
#define CSX_SERVICE_NAME_MAX 64
/** Largest request or response payload of one call, in bytes. */
#define CSX_CALL_MAX_PAYLOAD (1u << 20)

/** An exported service. */
struct csx_service;
/** An open channel to a service. */
struct csx_chan;

/**
 * Service operation handler.
 * @param ctx The context given to csx_service_export().
 * @param op The operation number chosen by the caller.
 * @param in Request payload (may be NULL when @p in_len is 0).
 * @param in_len Request length.
 * @param out Response buffer (may be NULL when @p out_cap is 0).
 * @param out_cap Response buffer capacity.
 * @param out_len Set to the response length (at most @p out_cap).
 * @return 0 or a negative status, handed to the caller unchanged;
 *         -CSX_EOPNOTSUPP for an unknown @p op.
 *
 * Runs in the caller's context for in-process calls (thread context for
 * csx_call()); it may sleep.
 */
typedef int (*csx_service_fn)(void *ctx, uint32_t op, const void *in,
			      size_t in_len, void *out, size_t out_cap,
			      size_t *out_len);

/**
 * csx_service_export() - Publish a service.
 * @param name "module/service".
 * @param version The service's version (callers ask for a minimum).
 * @param fn The handler.
 * @param ctx Passed to @p fn.
 * @param out Receives the handle.
 * @return 0, -CSX_EINVAL (NULL or bad name), -CSX_EEXIST (name taken),
 *         -CSX_ENOMEM, -CSX_EDEADLK. Thread context.
 */
int csx_service_export(const char *name, uint32_t version, csx_service_fn fn,
		       void *ctx, struct csx_service **out);

/**
 * csx_service_unexport() - Withdraw a service.
 * @param svc The service, or NULL.
 * @return 0, -CSX_EINVAL, -CSX_EDEADLK.
 *
 * Thread context. New opens fail at once; calls on open channels fail with
 * -CSX_EPEERDIED; calls in progress are waited for, so @p fn is never
 * called after this returns. Never call it from the service's own handler:
 * it would wait for the call it is part of.
 */
int csx_service_unexport(struct csx_service *svc);

/**
 * csx_open() - Open a channel to a service.
 * @param name "module/service".
 * @param min_version Lowest acceptable version.
 * @param out Receives the channel.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL NULL or bad name.
 * @retval -CSX_ENOENT No such service, in-process or (through the back
 *                     end) in another domain; also when the back end has
 *                     no path to other domains (e.g. no kernel helper).
 * @retval -CSX_EPROTO The service's version is below @p min_version.
 * @retval -CSX_ENOMEM Out of memory.
 * @retval -CSX_EPERM A service in another domain refused the caller.
 * @retval -CSX_ENOSPC Too many channels open to another domain.
 * @retval -CSX_EDEADLK Called where sleeping is forbidden.
 *
 * Thread context; may sleep (a lookup in another domain is a system call).
 */
int csx_open(const char *name, uint32_t min_version, struct csx_chan **out);

/**
 * csx_chan_version() - The version of the service a channel is open to.
 * @param chan The channel.
 * @return The version, or 0 for a bad handle.
 */
uint32_t csx_chan_version(struct csx_chan *chan);

/**
 * csx_call() - Call an operation and wait for its response.
 * @param chan The channel.
 * @param op Operation number (the service defines them).
 * @param in Request payload or NULL.
 * @param in_len Request length, at most CSX_CALL_MAX_PAYLOAD.
 * @param out Response buffer or NULL.
 * @param out_cap Its capacity.
 * @param out_len Receives the response length; may be NULL.
 * @param timeout_ns Bound on the wait, or CSX_WAIT_FOREVER.
 * @return The handler's status, or:
 * @retval -CSX_EINVAL Bad handle, NULL buffer with a non-zero length, or a
 *                     negative timeout.
 * @retval -CSX_EMSGSIZE A payload exceeds CSX_CALL_MAX_PAYLOAD.
 * @retval -CSX_EPEERDIED The service was withdrawn, or its domain went
 *                        away (e.g. the kernel module exporting it
 *                        unexported it or was unloaded).
 * @retval -CSX_EDEADLK Called where sleeping is forbidden.
 * @retval -CSX_EOVERFLOW The handler claimed a response longer than
 *                        @p out_cap (in-process calls).
 * @retval -CSX_ETIMEDOUT The call did not complete in time (services in
 *                        another domain only: an in-process handler runs
 *                        in the caller's thread, unbounded).
 * @retval -CSX_EIO The transport to another domain failed.
 * @retval -CSX_ENOMEM Out of memory on the way to another domain.
 *
 * Thread context; may sleep.
 */
int csx_call(struct csx_chan *chan, uint32_t op, const void *in, size_t in_len,
	     void *out, size_t out_cap, size_t *out_len, int64_t timeout_ns);

/**
 * csx_close() - Close a channel.
 * @param chan The channel, or NULL.
 *
 * Thread context. Must not race with calls on the same channel. Closing a
 * channel to another domain releases it there too.
 */
void csx_close(struct csx_chan *chan);

#endif /* CSX_SERVICE_H */
