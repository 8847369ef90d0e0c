/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The user helper protocol: what CSX user processes say to the user helper
 * daemon (csx-uhelperd, helpers/user/) and, once it has introduced them,
 * to each other. Included by the daemon and by the user back end
 * (csx-user/csx_os_uh.c); nothing else should need it.
 *
 * Three layers:
 *
 * 1. The daemon socket: a Unix SOCK_SEQPACKET socket, $CSX_UHELPERD_SOCKET
 *    or CSX_UH_SOCKET_DEFAULT. Each CSX process keeps one connection: it
 *    registers itself (HELLO), its services (EXPORT / UNEXPORT) and asks
 *    for channels (OPEN). The daemon knows the peer's pid and uid from
 *    SO_PEERCRED, never from the message. One message per datagram; the
 *    daemon answers every request with one CSX_UH_REPLY carrying the
 *    request's @seq, in order. It may also send CSX_UH_CONNECT at any
 *    time (seq 0) to a process that exports services. A message whose
 *    header does not frame it (magic, version, @len != datagram length)
 *    gets no reply: the daemon closes the connection.
 *
 * 2. The channel socket: OPEN makes a socketpair (SOCK_SEQPACKET), hands one
 *    end to the caller (in the REPLY, SCM_RIGHTS) and the other to the
 *    exporter (in a CONNECT). From then on the two processes talk without
 *    the daemon, which may restart without disturbing them. The socket
 *    carries only CSX_UH_LANE_ADD messages (caller -> exporter) and tells
 *    each side, by its hang-up, that the other closed the channel or died.
 *
 * 3. Lanes: shared memory where the calls happen. The caller creates a lane
 *    (a sealed memfd of CSX_UH_LANE_SIZE bytes, struct csx_uh_lane at its
 *    start) and passes it with CSX_UH_LANE_ADD; the exporter serves it with
 *    one thread. A call is: the caller writes the request and moves @state
 *    IDLE -> REQ; the server takes it (REQ -> BUSY), runs the handler,
 *    writes the response and moves BUSY -> RESP; the caller reads it and
 *    moves RESP -> IDLE. @state is a futex word (shared, not private);
 *    @srv_sleep / @cli_sleep say a side sleeps on it, so the other side
 *    calls FUTEX_WAKE only then. CLOSED is final: a side whose peer hung up
 *    the channel socket forces it, to wake its own sleepers.
 *
 * Every field coming from the other side is untrusted: lengths are checked
 * against the lane's capacity; a state outside the enum (or one the peer
 * may not set) makes the exporter end the whole channel and the caller
 * retire that lane (its call fails with -CSX_EIO); a lane memfd without
 * the shrink seal or of the wrong size ends the channel (exporter).
 *
 * All integers are native-endian: both ends are on the same machine.
 */
#ifndef CSX_UH_PROTO_H
#define CSX_UH_PROTO_H

#include <stdint.h>

/* Where the daemon listens unless CSX_UHELPERD_SOCKET says otherwise. */
#define CSX_UH_SOCKET_DEFAULT "/run/csx/uhelperd.sock"
/* Environment variable naming the daemon's socket. */
#define CSX_UH_SOCKET_ENV "CSX_UHELPERD_SOCKET"

/* "CSXU", first word of every message. */
#define CSX_UH_MAGIC 0x55585343u
/* Protocol version; a daemon refuses other versions in HELLO. */
#define CSX_UH_PROTO_VERSION 1u
/* Service and process names, NUL included (== CSX_SERVICE_NAME_MAX). */
#define CSX_UH_NAME_MAX 64
/* Largest message on the daemon or channel socket, LIST replies included. */
#define CSX_UH_MSG_MAX 65536

/* Every message starts with this. */
struct csx_uh_hdr {
	uint32_t magic;	  /* CSX_UH_MAGIC */
	uint16_t version; /* CSX_UH_PROTO_VERSION */
	uint16_t type;	  /* enum csx_uh_type */
	uint32_t len;	  /* whole message, header included */
	uint32_t seq;	  /* request number; the reply repeats it */
};

enum csx_uh_type {
	/* process -> daemon; each answered by CSX_UH_REPLY */
	CSX_UH_HELLO = 1,    /* struct csx_uh_hello; first message */
	CSX_UH_EXPORT = 2,   /* struct csx_uh_export */
	CSX_UH_UNEXPORT = 3, /* struct csx_uh_name */
	CSX_UH_OPEN = 4,     /* struct csx_uh_open; reply carries an fd */
	CSX_UH_LIST = 5,     /* struct csx_uh_hdr; reply carries text */
	/* daemon -> process */
	CSX_UH_REPLY = 0x80,   /* struct csx_uh_reply (+ text for LIST) */
	CSX_UH_CONNECT = 0x81, /* struct csx_uh_connect + fd */
	/* caller -> exporter, on a channel socket */
	CSX_UH_LANE_ADD = 0x40, /* struct csx_uh_lane_add + memfd */
};

/* Service visibility, as csx_service_export_scope() (enum csx_service_scope). */
enum csx_uh_scope {
	CSX_UH_SCOPE_USER = 1,	 /* the exporter's uid, and uid 0 */
	CSX_UH_SCOPE_PUBLIC = 2, /* every uid that can reach the daemon */
};

/* CSX_UH_HELLO: a CSX process registers (its "container"). */
struct csx_uh_hello {
	struct csx_uh_hdr hdr;
	uint32_t proto;		    /* CSX_UH_PROTO_VERSION */
	uint32_t flags;		    /* 0 */
	char name[CSX_UH_NAME_MAX]; /* what the process calls itself */
};

/* CSX_UH_EXPORT: publish a service of this process. */
struct csx_uh_export {
	struct csx_uh_hdr hdr;
	uint32_t version; /* the service's */
	uint32_t scope;	  /* enum csx_uh_scope */
	char name[CSX_UH_NAME_MAX];
};

/* CSX_UH_UNEXPORT: withdraw one. */
struct csx_uh_name {
	struct csx_uh_hdr hdr;
	char name[CSX_UH_NAME_MAX];
};

/* CSX_UH_OPEN: a channel to a service of another process. */
struct csx_uh_open {
	struct csx_uh_hdr hdr;
	uint32_t min_version;
	uint32_t flags; /* 0 */
	char name[CSX_UH_NAME_MAX];
};

/*
 * CSX_UH_REPLY. @status is 0 or a negative CSX status: -CSX_EINVAL
 * (malformed), -CSX_EEXIST (EXPORT: the name is exported already, by any
 * process), -CSX_ENOENT, -CSX_EPROTO (OPEN: the service is older than
 * min_version), -CSX_EPERM (OPEN: not exported to the caller's uid),
 * -CSX_EPEERDIED (OPEN: the exporter could not be told), -CSX_EBUSY
 * (OPEN: the exporter's socket is full; try again), -CSX_ENOSPC
 * (limits). @value: OPEN, the service's version (the channel socket comes
 * as SCM_RIGHTS); HELLO, CSX_UH_PROTO_VERSION. LIST: text follows, up to
 * @hdr.len, not NUL-terminated.
 */
struct csx_uh_reply {
	struct csx_uh_hdr hdr;
	int32_t status;
	uint32_t value;
};

/* CSX_UH_CONNECT: a caller opened @name; the channel socket comes along. */
struct csx_uh_connect {
	struct csx_uh_hdr hdr;
	uint64_t chan_id;  /* the daemon's number for the channel */
	uint32_t peer_pid; /* the caller, per SO_PEERCRED */
	uint32_t peer_uid;
	uint32_t min_version; /* what the caller asked for */
	uint32_t reserved;    /* 0 */
	char name[CSX_UH_NAME_MAX];
};

/* CSX_UH_LANE_ADD: a new lane for this channel; a sealed memfd comes along. */
struct csx_uh_lane_add {
	struct csx_uh_hdr hdr;
	uint32_t lane;	   /* the caller's number for it, from 0 */
	uint32_t reserved; /* 0 */
	uint64_t size;	   /* CSX_UH_LANE_SIZE */
};

/* Lane states (struct csx_uh_lane.state). */
enum csx_uh_lane_state {
	CSX_UH_LANE_IDLE = 0,
	CSX_UH_LANE_REQ = 1,
	CSX_UH_LANE_BUSY = 2,
	CSX_UH_LANE_RESP = 3,
	CSX_UH_LANE_CLOSED = 4,
};

/* Payload areas: request and response, each this large. */
#define CSX_UH_LANE_PAYLOAD (1u << 20)
/* Offsets in the lane memfd. */
#define CSX_UH_LANE_IN_OFF 4096u
#define CSX_UH_LANE_OUT_OFF (CSX_UH_LANE_IN_OFF + CSX_UH_LANE_PAYLOAD)
#define CSX_UH_LANE_SIZE (CSX_UH_LANE_OUT_OFF + CSX_UH_LANE_PAYLOAD)
/* Most lanes one channel may have (concurrent calls on it). */
#define CSX_UH_LANES_MAX 32

/* Start of a lane memfd; payloads at the offsets above. */
struct csx_uh_lane {
	uint32_t state;	    /* enum csx_uh_lane_state; futex word */
	uint32_t srv_sleep; /* the server sleeps on @state */
	uint32_t cli_sleep; /* the caller sleeps on @state */
	uint32_t op;	    /* request: operation */
	uint32_t in_len;    /* request: bytes at CSX_UH_LANE_IN_OFF */
	uint32_t out_cap;   /* request: caller's response capacity */
	uint32_t out_len;   /* response: bytes at CSX_UH_LANE_OUT_OFF */
	int32_t status;	    /* response: the handler's status */
	uint64_t seq;	    /* request number, echoed in @done_seq */
	uint64_t done_seq;  /* response: the @seq it answers */
};

#endif /* CSX_UH_PROTO_H */
