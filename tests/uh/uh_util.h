/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * What the csx-uhelperd tests (uh_client, uh_fuzz) share: raw protocol
 * messages on a real socket, written independently of the daemon so that
 * the tests check the protocol header, not the daemon against itself.
 */
#ifndef UH_UTIL_H
#define UH_UTIL_H

#include "../../helpers/include/csx_uh_msg.h"
#include "../../helpers/include/csx_uh_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Most descriptors uh_recv() returns from one message. */
#define UH_MAX_FDS CSX_UH_MSG_FDS_MAX

/* Replies as the daemon sends them, with room for LIST text. */
union uh_msg {
	struct csx_uh_hdr hdr;
	struct csx_uh_reply reply;
	struct csx_uh_connect connect;
	unsigned char raw[CSX_UH_MSG_MAX + 1];
};

/* A SOCK_SEQPACKET socket connected to @path (@flags: SOCK_NONBLOCK). */
int uh_connect(const char *path, int flags);
void uh_hdr(struct csx_uh_hdr *h, uint16_t type, uint32_t len, uint32_t seq);
/* One datagram with @nfds descriptors as SCM_RIGHTS; 0 or -errno. */
int uh_send(int fd, const void *buf, size_t len, const int *fds, int nfds,
	    int flags);
/*
 * One datagram into @m; its descriptors in @fds (at most UH_MAX_FDS,
 * *@nfds of them). Returns the length (0: hang-up) or -errno; @msg_flags
 * gets msghdr.msg_flags.
 */
ssize_t uh_recv(int fd, union uh_msg *m, int *fds, int *nfds, int flags,
		int *msg_flags);
void uh_close_fds(const int *fds, int nfds);
/*
 * Sends @req (seq @seq already in it; @len 0: sent already, only
 * waited for) and waits for its REPLY, closing the
 * descriptors of CONNECTs that come first (counted in *@connects if not
 * NULL). On success, *@fd_out (if not NULL) is the descriptor of the reply
 * or -1. Returns the reply length, or -errno (-ECONNRESET on hang-up).
 */
ssize_t uh_call(int fd, void *req, size_t len, union uh_msg *m, int *fd_out,
		unsigned int *connects);
/* HELLO as @name; the reply status, or -errno of the transport. */
int uh_hello(int fd, const char *name, uint32_t seq);
/* The daemon's pid, from SO_PEERCRED on a connection to it. */
pid_t uh_peer_pid(int fd);
/* The CSX service name rule, checked independently of the daemon. */
bool uh_name_ok(const char *name, size_t field);

#endif /* UH_UTIL_H */
