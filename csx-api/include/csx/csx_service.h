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
 * other domains: in a user process, first the services of kernel modules
 * through the kernel helper (/dev/csx), then the services of other CSX
 * processes through the user helper daemon (csx-uhelperd), which
 * introduces the two processes; their calls then go through shared memory
 * without the daemon. A channel to such a service is used exactly like a
 * local one; csx_service_export_scope() says who may open it.
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
 * Who may open a service from outside the exporter's address space.
 * In-process callers can always open it.
 */
enum csx_service_scope {
	/** Only callers in the same address space (process or kernel). */
	CSX_SERVICE_PRIVATE = 0,
	/**
	 * The default: also processes of the same user as the exporter, and
	 * privileged callers (root; for a kernel service, processes allowed
	 * to use the kernel helper, /dev/csx).
	 */
	CSX_SERVICE_USER = 1,
	/** Any process that can reach the helpers. */
	CSX_SERVICE_PUBLIC = 2,
};

/**
 * csx_service_export_scope() - Publish a service with a chosen visibility.
 * @param name "module/service".
 * @param version The service's version (callers ask for a minimum).
 * @param scope Who may open it from another address space.
 * @param fn The handler.
 * @param ctx Passed to @p fn.
 * @param out Receives the handle.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL NULL, bad name or bad @p scope.
 * @retval -CSX_EEXIST The name is taken: in this address space, or (user
 *                     mode, with the user helper daemon running) by
 *                     another process.
 * @retval -CSX_ENOMEM Out of memory.
 * @retval -CSX_EDEADLK Called where sleeping is forbidden.
 *
 * Thread context; may sleep (in user mode the service is also registered
 * with the user helper daemon, csx-uhelperd, when one is running; without
 * it the service is reachable in-process only, and from other processes
 * once a daemon starts: the back end keeps registering).
 */
int csx_service_export_scope(const char *name, uint32_t version,
			     enum csx_service_scope scope, csx_service_fn fn,
			     void *ctx, struct csx_service **out);

/**
 * csx_service_export() - Publish a service (scope CSX_SERVICE_USER).
 * @param name "module/service".
 * @param version The service's version (callers ask for a minimum).
 * @param fn The handler.
 * @param ctx Passed to @p fn.
 * @param out Receives the handle.
 * @return As csx_service_export_scope(). Thread context; may sleep.
 */
int csx_service_export(const char *name, uint32_t version, csx_service_fn fn,
		       void *ctx, struct csx_service **out);

/** Bit for operation @p op in csx_service_opts.idempotent (op < 64). */
#define CSX_OP_BIT(op) ((uint64_t)1 << (op))

/** Everything csx_service_export_opts() can say about a service. */
struct csx_service_opts {
	/** Who may open it from another address space. */
	enum csx_service_scope scope;
	/**
	 * Operations that may safely run twice (CSX_OP_BIT(op) each; only
	 * ops 0..63 can be declared). A call to such an op that was pending
	 * when the exporting process died is re-issued by the caller's CSX
	 * to another instance of the service, or to the restarted one once
	 * it is back (see csx_chan_set_recovery()). Calls to other ops fail
	 * with -CSX_EPEERDIED: they may or may not have run.
	 */
	uint64_t idempotent;
};

/**
 * csx_service_export_opts() - Publish a service with options.
 * @param name "module/service".
 * @param version The service's version (callers ask for a minimum).
 * @param opts Scope and idempotent operations; NULL: the defaults of
 *             csx_service_export().
 * @param fn The handler.
 * @param ctx Passed to @p fn.
 * @param out Receives the handle.
 * @return As csx_service_export_scope(). Thread context; may sleep.
 *
 * Several processes of one user may export the same name: they are
 * instances of one service, and each new channel goes to one of them.
 */
int csx_service_export_opts(const char *name, uint32_t version,
			    const struct csx_service_opts *opts,
			    csx_service_fn fn, void *ctx,
			    struct csx_service **out);

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
 * @retval -CSX_EINTR Kernel mode, a service of a user process: the calling
 *                    task was killed while it waited (the call is
 *                    abandoned as on a timeout).
 * @retval -CSX_ENOMEM Out of memory on the way to another domain.
 * @retval -CSX_ENOSPC A service of another process refused this caller's
 *                     channel or a new lane of it: over that process's
 *                     per-caller quotas (close channels, or try later).
 * @retval -CSX_EPERM A service of another process refused the channel
 *                    after csx_open() succeeded (its scope); close it.
 * @retval -CSX_EPROTO As -CSX_EPERM, for the version; close it.
 *
 * Thread context; may sleep.
 */
int csx_call(struct csx_chan *chan, uint32_t op, const void *in, size_t in_len,
	     void *out, size_t out_cap, size_t *out_len, int64_t timeout_ns);

/**
 * Completion of an asynchronous call (csx_call_async()).
 * @param ctx The context given to csx_call_async().
 * @param status What csx_call() would have returned.
 * @param out_len The response length (0 on failure).
 *
 * Runs in thread context, in one of the core's call workers; it may sleep
 * and may start other calls, but must not close the channel it completes
 * on (csx_close() waits for it).
 */
typedef void (*csx_call_done_fn)(void *ctx, int status, size_t out_len);

/** Most asynchronous calls in progress at once in one address space. */
#define CSX_CALL_ASYNC_WORKERS 4

/**
 * csx_call_async() - Start a call; @p done reports its completion.
 * @param chan The channel.
 * @param op Operation number.
 * @param in Request payload or NULL; must stay valid until @p done runs.
 * @param in_len Request length, at most CSX_CALL_MAX_PAYLOAD.
 * @param out Response buffer or NULL; must stay valid until @p done runs.
 * @param out_cap Its capacity.
 * @param timeout_ns Bound on the call once it starts, or CSX_WAIT_FOREVER
 *                   (as csx_call()).
 * @param done Completion callback.
 * @param ctx Passed to @p done.
 * @return 0: @p done will be called exactly once. Or, and then @p done is
 *         never called:
 * @retval -CSX_EINVAL Bad handle, NULL @p done, NULL buffer with a
 *                     non-zero length, or a negative timeout.
 * @retval -CSX_EMSGSIZE A payload exceeds CSX_CALL_MAX_PAYLOAD.
 * @retval -CSX_ENOMEM Out of memory (the request is allocated without
 *                     sleeping).
 *
 * Any context but ISR: thread, DPC, timer callback; never sleeps. Calls
 * are run by CSX_CALL_ASYNC_WORKERS worker threads in the order they were
 * started; more wait their turn. csx_close() of the channel waits until
 * every completion started on it has returned.
 */
int csx_call_async(struct csx_chan *chan, uint32_t op, const void *in,
		   size_t in_len, void *out, size_t out_cap, int64_t timeout_ns,
		   csx_call_done_fn done, void *ctx);

/**
 * Death notice of a channel's service (csx_chan_watch()).
 * @param ctx The context given to csx_chan_watch().
 *
 * Runs in thread context, in one of the core's call workers; it may sleep
 * and may start calls, but must not close the channel it watches.
 */
typedef void (*csx_chan_gone_fn)(void *ctx);

/**
 * csx_chan_watch() - Be told when the service behind a channel goes away.
 * @param chan The channel.
 * @param fn Called when the service is withdrawn or the domain it
 *           lives in goes away (its process died), or at once (queued)
 *           if that happened already. Once per death: a channel that
 *           recovered (csx_chan_set_recovery()) is watched again.
 * @param ctx Passed to @p fn.
 * @return 0, -CSX_EINVAL (bad handle, NULL @p fn), -CSX_EBUSY (the channel
 *         has a watch function already), -CSX_EDEADLK.
 *
 * Thread context. Covers every kind of channel: services in the same
 * address space, services of other processes (user mode, through the user
 * helper daemon), a process's channels to kernel services and a kernel
 * module's to processes (through the kernel helper). A death while
 * csx_open() is still opening the channel is not lost: the watch runs at
 * once. @p fn never runs after csx_close() of the channel returns.
 */
int csx_chan_watch(struct csx_chan *chan, csx_chan_gone_fn fn, void *ctx);

/** Default recovery window of a channel to a service that declared
 *  idempotent operations, in milliseconds. */
#define CSX_CHAN_RECOVERY_DEFAULT_MS 5000
/** Longest recovery window csx_chan_set_recovery() accepts. */
#define CSX_CHAN_RECOVERY_MAX_MS 60000

/**
 * csx_chan_set_recovery() - How long a channel waits for its service to
 * come back after the exporting process died.
 * @param chan The channel.
 * @param window_ms 0: no recovery, every call after the death fails with
 *                  -CSX_EPEERDIED; otherwise up to CSX_CHAN_RECOVERY_MAX_MS.
 * @return 0, -CSX_EINVAL.
 *
 * A channel to a service in another process recovers from the death of
 * that process: the next call, or the re-issue of a pending idempotent
 * call (struct csx_service_opts), first opens the service again (another
 * instance, or the restarted one), waiting up to the window and never past
 * the call's own timeout; the channel then serves as before, and the
 * watch function (csx_chan_watch()) runs again at the next death. If the
 * service is not back in time the call fails with -CSX_EPEERDIED. The
 * default is CSX_CHAN_RECOVERY_DEFAULT_MS for a service that declared
 * idempotent operations, 0 for others. Channels to in-process or kernel
 * services do not recover (the default there is 0 and has no effect).
 * Thread context.
 */
int csx_chan_set_recovery(struct csx_chan *chan, uint32_t window_ms);

/* ---- Shared buffers ---------------------------------------------------- */

/** Largest shared buffer (csx_shbuf_alloc()), in bytes. */
#define CSX_SHBUF_MAX (64u << 20)

/**
 * A shared buffer: memory the caller and a channel's service both see, so
 * a large payload passes by handle instead of being copied.
 */
struct csx_shbuf;

/**
 * csx_shbuf_alloc() - Allocate a buffer that can be shared with the
 * service behind a channel.
 * @param chan The channel it will be used on: the back end picks memory
 *             that the service's domain can map (plain memory for a
 *             service in this address space, a sealed memfd for another
 *             process, memory of the kernel helper for a kernel service,
 *             and for a kernel module calling a process).
 * @param size Bytes, 1 to CSX_SHBUF_MAX (rounded up to pages).
 * @param out Receives the buffer, zero-filled.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL Bad handle, NULL @p out, or @p size 0.
 * @retval -CSX_EMSGSIZE @p size above CSX_SHBUF_MAX.
 * @retval -CSX_ENOMEM Out of memory, or over the helper's limits for this
 *                     process (a kernel service: 64 buffers, 256 MiB).
 * @retval -CSX_EPEERDIED The channel's service is gone.
 * @retval -CSX_EOPNOTSUPP A kernel service, and the kernel helper is too
 *                         old for shared buffers (logged).
 * @retval -CSX_EDEADLK Called where sleeping is forbidden.
 *
 * Thread context; may sleep. The buffer is not tied to the channel's
 * life: it stays valid after csx_close() until csx_shbuf_free(), and can
 * be used on any channel to a service of the same kind of domain (any
 * in-process channel takes any buffer).
 */
int csx_shbuf_alloc(struct csx_chan *chan, size_t size, struct csx_shbuf **out);

/**
 * csx_shbuf_addr() - Where the buffer is mapped in the caller.
 * @param sb The buffer.
 * @return Its address (page aligned), or NULL for a bad handle.
 * Any context.
 */
void *csx_shbuf_addr(struct csx_shbuf *sb);

/**
 * csx_shbuf_size() - The buffer's usable size.
 * @param sb The buffer.
 * @return Bytes (the size asked for, rounded up to pages), 0 for a bad
 *         handle. Any context.
 */
size_t csx_shbuf_size(struct csx_shbuf *sb);

/**
 * csx_shbuf_free() - Free a shared buffer.
 * @param sb The buffer, or NULL.
 * @return 0; -CSX_EINVAL (bad handle); -CSX_EBUSY (a call using it is in
 *         progress: the buffer is not freed); -CSX_EDEADLK.
 *
 * Thread context; may sleep. A service's domain that mapped the buffer
 * is told to unmap it; memory a handler still uses (a call that timed
 * out) stays until the handler returns.
 */
int csx_shbuf_free(struct csx_shbuf *sb);

/**
 * csx_call_shbuf() - Call an operation with its payloads in a shared
 * buffer.
 * @param chan The channel.
 * @param op Operation number.
 * @param sb The buffer (csx_shbuf_alloc()).
 * @param in_off Offset of the request in @p sb.
 * @param in_len Request length.
 * @param out_off Offset of the response window in @p sb.
 * @param out_cap Its capacity.
 * @param out_len Receives the response length; may be NULL.
 * @param timeout_ns Bound on the wait, or CSX_WAIT_FOREVER.
 * @return As csx_call(), and:
 * @retval -CSX_EINVAL Bad handle, a window outside @p sb, a negative
 *                     timeout, or a buffer of another kind of domain
 *                     than the channel's service (logged).
 * @retval -CSX_ENOMEM The service's process would map more than it
 *                     allows one channel (64 buffers, 1 GiB) or one caller
 *                     (doc/services.md, "Limits"): checked the first time
 *                     a buffer is used on a channel.
 *
 * The service's handler is called as for csx_call(), with @c in pointing
 * at @p in_off and @c out at @p out_off inside its own mapping of the
 * buffer: nothing is copied either way, and windows may be up to the
 * buffer's size (not limited by CSX_CALL_MAX_PAYLOAD). A service does not
 * know whether its caller used a shared buffer. The windows may overlap
 * (an in-place transform); the handler then sees overlapping @c in and
 * @c out. Across domains the caller can still write the buffer while the
 * handler runs: a handler must copy what it validates before using it.
 * An idempotent call is re-issued after a recovery
 * (csx_chan_set_recovery()) like any other. Thread context; may sleep.
 */
int csx_call_shbuf(struct csx_chan *chan, uint32_t op, struct csx_shbuf *sb,
		   size_t in_off, size_t in_len, size_t out_off, size_t out_cap,
		   size_t *out_len, int64_t timeout_ns);

/**
 * csx_call_shbuf_async() - csx_call_shbuf(), completed by a callback.
 * @param chan The channel.
 * @param op Operation number.
 * @param sb The buffer; must not be freed until @p done runs.
 * @param in_off Offset of the request in @p sb.
 * @param in_len Request length.
 * @param out_off Offset of the response window in @p sb.
 * @param out_cap Its capacity.
 * @param timeout_ns As csx_call_async().
 * @param done Completion callback.
 * @param ctx Passed to @p done.
 * @return As csx_call_async() (windows checked as csx_call_shbuf()).
 *
 * Any context but ISR; never sleeps.
 */
int csx_call_shbuf_async(struct csx_chan *chan, uint32_t op,
			 struct csx_shbuf *sb, size_t in_off, size_t in_len,
			 size_t out_off, size_t out_cap, int64_t timeout_ns,
			 csx_call_done_fn done, void *ctx);

/**
 * csx_close() - Close a channel.
 * @param chan The channel, or NULL.
 *
 * Thread context. Must not race with csx_call() on the same channel; waits
 * for the completions of the channel's asynchronous calls and for its
 * watch function (csx_chan_watch()) if it was queued. Closing a
 * channel to another domain releases it there too.
 */
void csx_close(struct csx_chan *chan);

#endif /* CSX_SERVICE_H */
