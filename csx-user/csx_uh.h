/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-user: services of other CSX processes, through the user
 * helper daemon (csx-uhelperd; protocol in helpers/include/csx_uh_proto.h).
 * Implemented in csx_os_uh.c; csx_os_remote.c calls it when the kernel
 * helper has no such service, and for csx_os_service_publish/withdraw().
 */
#ifndef CSX_UH_H
#define CSX_UH_H

#include <csx/csx_service.h>

#include <stddef.h>
#include <stdint.h>

/* A channel to a service of another process (caller side). */
struct csx_uh_chan;

struct csx_os_rchan;

/*
 * Open @name through the daemon. 0, or: -CSX_ENOENT (no daemon, or no such
 * service), -CSX_EPROTO, -CSX_EPERM, -CSX_ENOSPC, -CSX_ENOMEM, -CSX_EIO.
 * When the exporter hangs up the channel, the uh thread tells the core:
 * csx__remote_peer_gone(@rc).
 */
int csx__user_uh_open(const char *name, uint32_t min_version,
		      struct csx_os_rchan *rc, struct csx_uh_chan **out,
		      uint32_t *version);
/* As csx_os_remote_call(). */
int csx__user_uh_call(struct csx_uh_chan *c, uint32_t op, const void *in,
		      size_t in_len, void *out, size_t out_cap, size_t *out_len,
		      int64_t timeout_ns);
/* As csx_os_remote_close(). */
void csx__user_uh_close(struct csx_uh_chan *c);
/* As csx_os_service_publish() / csx_os_service_withdraw(). */
int csx__user_uh_publish(const char *name, uint32_t version,
			 enum csx_service_scope scope);
void csx__user_uh_withdraw(const char *name);
/* csx_os_fini(): drop the daemon connection, end every channel, join. */
void csx__user_uh_fini(void);

#endif /* CSX_UH_H */
