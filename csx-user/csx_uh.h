/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-user: services of other CSX processes, and saved-state
 * regions, through the user helper daemon (csx-uhelperd; protocol in
 * helpers/include/csx_uh_proto.h). Implemented in csx_os_uh.c;
 * csx_os_remote.c calls it when the kernel helper has no such service,
 * and for csx_os_service_publish/withdraw(); csx_os_state.c for the
 * regions.
 */
#ifndef CSX_UH_H
#define CSX_UH_H

#include <csx/csx_service.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../helpers/include/csx_uh_proto.h"

/* A channel to a service of another process (caller side). */
struct csx_uh_chan;

struct csx_os_rchan;

/*
 * Open @name through the daemon. @wait_ns 0, or how long the daemon may
 * hold the request for an exporter of @name to appear (CSX_UH_OPEN_WAIT;
 * more than CSX_UH_OPEN_WAIT_MAX_MS is cut to it). Without a daemon
 * connection this makes one connection attempt and fails at once: the
 * caller decides whether to try again. 0 with *@idempotent the service's
 * idempotent op mask, or: -CSX_ENOENT (no daemon, or no such service),
 * -CSX_EPROTO, -CSX_EPERM, -CSX_ENOSPC, -CSX_ENOMEM, -CSX_EIO. When the
 * exporter hangs up the channel, the uh thread tells the core:
 * csx__remote_peer_gone(@rc); not when it refused the channel for a
 * reason other than a withdrawn service (CSX_UH_REFUSE): that is no death,
 * and the channel's calls fail with the reason.
 */
int csx__user_uh_open(const char *name, uint32_t min_version, int64_t wait_ns,
		      struct csx_os_rchan *rc, struct csx_uh_chan **out,
		      uint32_t *version, uint64_t *idempotent);
/*
 * As csx_os_remote_call(), and: -CSX_ENOSPC, the exporter refused the
 * channel or its lane over its per-caller quotas (or -CSX_ENOMEM); on a
 * channel it refused, its reason (-CSX_EPERM, -CSX_EPROTO as well).
 */
int csx__user_uh_call(struct csx_uh_chan *c, uint32_t op, const void *in,
		      size_t in_len, void *out, size_t out_cap, size_t *out_len,
		      int64_t timeout_ns);
/* As csx_os_remote_close(). */
void csx__user_uh_close(struct csx_uh_chan *c);

/*
 * Shared buffers with other processes (csx_os_shbuf_alloc() for a channel
 * of this layer): a sealed memfd, mapped here, given to a channel's
 * exporter the first time a call on that channel uses it.
 */
struct csx_uh_shbuf;
/* @size: a page multiple. 0 with *@out and *@addr, or -CSX_ENOMEM. */
int csx__user_uh_shbuf_new(size_t size, struct csx_uh_shbuf **out, void **addr);
/* No call uses it (the core's rule); exporters that mapped it drop it. */
void csx__user_uh_shbuf_free(struct csx_uh_shbuf *ub);
/* As csx_os_remote_call_shbuf(), windows already checked. */
int csx__user_uh_call_shbuf(struct csx_uh_chan *c, uint32_t op,
			    struct csx_uh_shbuf *ub, size_t in_off,
			    size_t in_len, size_t out_off, size_t out_cap,
			    size_t *out_len, int64_t timeout_ns);
/* As csx_os_service_publish() / csx_os_service_withdraw(). */
int csx__user_uh_publish(const char *name, uint32_t version,
			 enum csx_service_scope scope, uint64_t idempotent);
void csx__user_uh_withdraw(const char *name);
/* csx_os_fini(): drop the daemon connection, end every channel, join. */
void csx__user_uh_fini(void);

/*
 * Saved-state regions (csx_os_state.c decides, maps and checks; this layer
 * only talks to the daemon). A region the process holds is a memfd the
 * daemon must have: it is PUT when held and again on every later
 * connection (a restarted daemon has lost its regions), until dropped.
 */
struct csx_uh_region;

/* csx__user_uh_state_get(): there is no daemon (internal to csx-user). */
#define CSX_UH_NOTCONN (-ENOTCONN)

/*
 * STATE_GET @name of this process's key. 0 with *@fd (the daemon's
 * descriptor, not checked yet: the caller's to check and close) and
 * *@from (the connection it came on, for csx__user_uh_state_hold());
 * -CSX_ENOENT, the daemon has none; CSX_UH_NOTCONN, there is no daemon
 * (one connection attempt made); -CSX_EIO, it did not answer in time;
 * -CSX_ENOMEM.
 */
int csx__user_uh_state_get(const char *name, uint64_t size, int *fd,
			   uint64_t *from);
/*
 * Hold region @name: @fd, a memfd of @size bytes sealed against shrinking
 * and growing, becomes this layer's (closed when dropped). @from: 0, a new
 * region, PUT to the daemon now; else csx__user_uh_state_get()'s, the
 * daemon has it (PUT again if the daemon changed since). A daemon that
 * cannot be reached now gets it when it comes. 0 with *@out; -CSX_ENOMEM
 * or -CSX_ENOSPC (the daemon's limits), and @fd stays the caller's.
 */
int csx__user_uh_state_hold(const char *name, int fd, uint64_t size,
			    uint64_t from, struct csx_uh_region **out);
/*
 * A region this process closed with keep: 0 with it in *@out (open again,
 * its descriptor in *@fd, the region's, and its size), or -CSX_ENOENT.
 */
int csx__user_uh_state_take(const char *name, struct csx_uh_region **out,
			    int *fd, uint64_t *size);
/*
 * Close region @rg. Without @drop it stays held, kept for the next open
 * here (csx__user_uh_state_take()) and given to every new daemon; with
 * @drop its descriptor is closed and the daemon forgets it too (told now,
 * or on the next connection if it is out of reach).
 */
void csx__user_uh_state_release(struct csx_uh_region *rg, bool drop);

#endif /* CSX_UH_H */
