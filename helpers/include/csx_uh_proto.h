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
 *    request's @seq, in order but for OPENs held by CSX_UH_OPEN_WAIT,
 *    answered when they are done. It may also send CSX_UH_CONNECT at any
 *    time (seq 0) to a process that exports services, and CSX_UH_EVENT
 *    (seq 0) to one that subscribed. Only CSX_UH_STATE_PUT carries a
 *    descriptor; any other request with one is refused. A message whose
 *    header does not frame it (magic, version, @len != datagram length)
 *    gets no reply: the daemon closes the connection.
 *
 * 2. The channel socket: OPEN makes a socketpair (SOCK_SEQPACKET), hands one
 *    end to the caller (in the REPLY, SCM_RIGHTS) and the other to the
 *    exporter (in a CONNECT). From then on the two processes talk without
 *    the daemon, which may restart without disturbing them. The socket
 *    carries CSX_UH_LANE_ADD, the shared-buffer messages and the
 *    exporter's refusals (below) and tells each side, by its hang-up, that
 *    the other closed the channel or died.
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
#define CSX_UH_PROTO_VERSION 2u
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
	CSX_UH_HELLO = 1,      /* struct csx_uh_hello; first message */
	CSX_UH_EXPORT = 2,     /* struct csx_uh_export */
	CSX_UH_UNEXPORT = 3,   /* struct csx_uh_name */
	CSX_UH_OPEN = 4,       /* struct csx_uh_open; reply carries an fd */
	CSX_UH_LIST = 5,       /* struct csx_uh_hdr; reply carries text */
	CSX_UH_STATE_GET = 6,  /* struct csx_uh_state; reply may carry an fd */
	CSX_UH_STATE_PUT = 7,  /* struct csx_uh_state + memfd */
	CSX_UH_STATE_DROP = 8, /* struct csx_uh_name */
	CSX_UH_SUBSCRIBE = 9,  /* struct csx_uh_hdr; then CSX_UH_EVENTs */
	/* daemon -> process */
	CSX_UH_REPLY = 0x80,   /* struct csx_uh_reply (+ text for LIST) */
	CSX_UH_CONNECT = 0x81, /* struct csx_uh_connect + fd */
	CSX_UH_EVENT = 0x82,   /* struct csx_uh_event, to subscribers */
	/* caller -> exporter, on a channel socket */
	CSX_UH_LANE_ADD = 0x40,	  /* struct csx_uh_lane_add + memfd */
	CSX_UH_SHBUF_ADD = 0x41,  /* struct csx_uh_shbuf_add + memfd */
	CSX_UH_SHBUF_DROP = 0x42, /* struct csx_uh_shbuf_drop */
	/* exporter -> caller, on a channel socket */
	CSX_UH_SHBUF_ACK = 0xc0,   /* struct csx_uh_shbuf_ack */
	CSX_UH_REFUSE = 0xc1,	   /* struct csx_uh_refuse; then the hang-up */
	CSX_UH_LANE_REFUSE = 0xc2, /* struct csx_uh_lane_refuse */
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

/*
 * CSX_UH_EXPORT: publish a service of this process. Several processes of
 * one uid may export the same name (instances of one service); OPEN picks
 * one of them, round robin among those that satisfy it. A name exported
 * by another uid is refused with -CSX_EEXIST.
 */
struct csx_uh_export {
	struct csx_uh_hdr hdr;
	uint32_t version;    /* the service's */
	uint32_t scope;	     /* enum csx_uh_scope */
	uint64_t idempotent; /* bit n: op n may be re-issued (n < 64) */
	char name[CSX_UH_NAME_MAX];
};

/* CSX_UH_UNEXPORT: withdraw one. */
struct csx_uh_name {
	struct csx_uh_hdr hdr;
	char name[CSX_UH_NAME_MAX];
};

/*
 * CSX_UH_OPEN: a channel to a service of another process. With
 * CSX_UH_OPEN_WAIT and no exporter of @name, the daemon holds the request
 * up to @wait_ms (at most CSX_UH_OPEN_WAIT_MAX_MS; 0: no wait) for one to
 * appear, then answers -CSX_ENOENT; once one appears, the request is
 * answered as if it came then. Held requests are answered out of order: a
 * client matches replies by @seq. A connection may have 64 held at once
 * (-CSX_ENOSPC beyond); they go with it. @reserved must be 0.
 */
struct csx_uh_open {
	struct csx_uh_hdr hdr;
	uint32_t min_version;
	uint32_t flags;	   /* CSX_UH_OPEN_* */
	uint32_t wait_ms;  /* with CSX_UH_OPEN_WAIT */
	uint32_t reserved; /* 0 */
	char name[CSX_UH_NAME_MAX];
};

#define CSX_UH_OPEN_WAIT 1u
#define CSX_UH_OPEN_WAIT_MAX_MS 60000u

/*
 * Saved state (csx_state.h): a sealed memfd the daemon holds for a process
 * so that the next instance of it gets it back. The key is the daemon's:
 * a process the supervisor started is "CONTAINER/INSTANCE", whatever its
 * pid; any other process is its uid and HELLO name. A client cannot name
 * another's key.
 *
 * CSX_UH_STATE_GET: the region @name of the caller's key (@size is not
 * looked at). Reply 0 with the memfd (SCM_RIGHTS) and @value 1, or
 * -CSX_ENOENT.
 * CSX_UH_STATE_PUT: hold this memfd as @name (replacing any), @size bytes;
 * it must carry F_SEAL_SHRINK | F_SEAL_GROW and be exactly @size long,
 * 1 to CSX_UH_STATE_MAX. Reply 0, -CSX_EINVAL, -CSX_ENOSPC (limits: 16
 * regions per key, CSX_UH_STATE_UID_MAX bytes per uid, and a count of
 * regions per uid and in all that the daemon sets).
 * CSX_UH_STATE_DROP: forget @name. Reply 0 or -CSX_ENOENT.
 * @name follows the service name rule ("module/state"). Regions outlive
 * the process that PUT them: until DROP, or the daemon's exit. A daemon
 * that restarts has lost them: clients PUT their open regions again when
 * they re-register.
 */
struct csx_uh_state {
	struct csx_uh_hdr hdr;
	uint64_t size;
	char name[CSX_UH_NAME_MAX];
};

#define CSX_UH_STATE_MAX (64ull << 20)
#define CSX_UH_STATE_UID_MAX (256ull << 20)
#define CSX_UH_STATE_PER_KEY 16

/* Environment of a process the supervisor starts. */
#define CSX_UH_CONTAINER_ENV "CSX_CONTAINER" /* container name */
#define CSX_UH_INSTANCE_ENV "CSX_INSTANCE"   /* instance, from 0 */

/*
 * CSX_UH_EVENT (seq 0), after CSX_UH_SUBSCRIBE. Container events go to
 * subscribers of the daemon's uid or root; service events to subscribers
 * the service's scope admits.
 */
enum csx_uh_event_type {
	CSX_UH_EV_STARTED = 1,	  /* @pid started (first time or restart) */
	CSX_UH_EV_EXITED = 2,	  /* @pid ended; @status below */
	CSX_UH_EV_RESTARTING = 3, /* restart @restarts in @delay_ms */
	CSX_UH_EV_READY = 4,	  /* first EXPORT; @delay_ms since EXITED */
	CSX_UH_EV_GAVE_UP = 5,	  /* too many failures: not restarted */
	CSX_UH_EV_ADOPTED = 6, /* running @pid found after a daemon restart */
	CSX_UH_EV_STOPPED = 7, /* ended and not restarted (policy) */
	CSX_UH_EV_SERVICE_UP = 8,   /* @service exported by @pid */
	CSX_UH_EV_SERVICE_DOWN = 9, /* @service of @pid withdrawn or died */
};

struct csx_uh_event {
	struct csx_uh_hdr hdr;
	uint32_t event;	   /* enum csx_uh_event_type */
	uint32_t instance; /* container events */
	int32_t pid;
	/* EXITED: exit code >= 0, -signal, or CSX_UH_STATUS_UNKNOWN (an
	 * adopted process: not our child, its status is not ours to read) */
	int32_t status;
	uint32_t restarts; /* restarts of this instance so far */
	uint32_t delay_ms;
	uint64_t time_ns; /* CLOCK_MONOTONIC at the event */
	char container[CSX_UH_NAME_MAX];
	char service[CSX_UH_NAME_MAX];
};

#define CSX_UH_STATUS_UNKNOWN (-1000)

/*
 * CSX_UH_REPLY. @status is 0 or a negative CSX status: -CSX_EINVAL
 * (malformed), -CSX_EEXIST (EXPORT: the name is exported by another uid,
 * or by this process already), -CSX_ENOENT, -CSX_EPROTO (OPEN: every
 * instance is older than min_version), -CSX_EPERM (OPEN: not exported to
 * the caller's uid), -CSX_EPEERDIED (OPEN: the exporter could not be
 * told), -CSX_EBUSY (OPEN: the exporters' sockets are full; try again),
 * -CSX_ENOSPC (limits). @value: OPEN, the chosen instance's version (the
 * channel socket comes as SCM_RIGHTS); HELLO, CSX_UH_PROTO_VERSION;
 * STATE_GET, 1 (the memfd comes as SCM_RIGHTS). LIST: text follows, up to
 * @hdr.len, not NUL-terminated.
 */
struct csx_uh_reply {
	struct csx_uh_hdr hdr;
	int32_t status;
	uint32_t value;
	uint64_t aux; /* OPEN: the chosen instance's idempotent op mask */
};

/*
 * CSX_UH_CONNECT: a caller opened @name; the channel socket comes along.
 * The exporter decides (scope, version, its quotas on @peer_pid and
 * @peer_uid) and may refuse with CSX_UH_REFUSE on the socket.
 */
struct csx_uh_connect {
	struct csx_uh_hdr hdr;
	uint64_t chan_id;  /* the daemon's number for the channel */
	uint32_t peer_pid; /* the caller, per SO_PEERCRED */
	uint32_t peer_uid;
	uint32_t min_version; /* what the caller asked for */
	uint32_t reserved;    /* 0 */
	char name[CSX_UH_NAME_MAX];
};

/*
 * CSX_UH_LANE_ADD: a new lane for this channel; a sealed memfd comes
 * along. The exporter may refuse a well-formed one (CSX_UH_LANE_REFUSE,
 * below) without ending the channel; a malformed one ends it.
 */
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

/*
 * Shared buffers on a channel (layers 2 and 3; csx_call_shbuf()).
 *
 * The caller gives a buffer (a memfd sealed with F_SEAL_SHRINK,
 * F_SEAL_GROW and F_SEAL_SEAL, at least @size bytes) to the exporter with
 * CSX_UH_SHBUF_ADD on the channel socket, the first time a call on this
 * channel uses it, and waits for the exporter's CSX_UH_SHBUF_ACK (@status
 * 0: mapped; -CSX_ENOSPC: over the exporter's limits for the channel,
 * CSX_UH_SHBUF_PER_CHAN buffers and CSX_UH_SHBUF_CHAN_BYTES, or over the
 * caller's quotas, CSX_UH_QUOTA_*SHBUF*; -CSX_ENOMEM)
 * before it posts a request that uses it. The exporter sends nothing else
 * on the socket but refusals. A malformed ADD (framing, @id 0 or in use,
 * @size 0, not a page multiple or above CSX_SHBUF_MAX, not one descriptor,
 * a file without the seals or shorter than @size) ends the channel.
 * CSX_UH_SHBUF_DROP: the caller freed buffer @id; the exporter unmaps it
 * once no handler uses it (unknown ids are ignored). Ids are the caller's, never 0, never
 * reused on a channel.
 *
 * A lane request with @in_len CSX_UH_LANE_IN_SHBUF is a call on a shared
 * buffer: struct csx_uh_shbuf_call at CSX_UH_LANE_IN_OFF names the buffer
 * and the windows (the lane's @out_cap is ignored); the handler works in
 * the exporter's mapping, and the response is @out_len bytes at
 * @out_off. An unknown @id or a window outside the buffer is answered
 * -CSX_EINVAL.
 */
#define CSX_UH_SHBUF_PER_CHAN 64u
#define CSX_UH_SHBUF_CHAN_BYTES (1ull << 30)
#define CSX_UH_LANE_IN_SHBUF 0xffffffffu

struct csx_uh_shbuf_add {
	struct csx_uh_hdr hdr;
	uint32_t id;
	uint32_t reserved; /* 0 */
	uint64_t size;
};

struct csx_uh_shbuf_drop {
	struct csx_uh_hdr hdr;
	uint32_t id;
	uint32_t reserved; /* 0 */
};

struct csx_uh_shbuf_ack {
	struct csx_uh_hdr hdr;
	uint32_t id;
	int32_t status;
};

struct csx_uh_shbuf_call {
	uint32_t id;
	uint32_t reserved; /* 0 */
	uint64_t in_off;
	uint64_t in_len;
	uint64_t out_off;
	uint64_t out_cap;
};

/*
 * Refusals, exporter -> caller on the channel socket. Exporters before
 * these messages only close the socket; callers before them end the
 * channel on any message but CSX_UH_SHBUF_ACK, as on a hang-up. Either
 * way a refusal is no worse than what came before.
 *
 * CSX_UH_REFUSE: the exporter will not serve this channel and closes the
 * socket after this message; it may come before the caller sent
 * anything. @status: -CSX_ENOENT (the service is not exported there any
 * more: withdrawn after the daemon's check), -CSX_EPERM (its scope does
 * not admit the caller's uid), -CSX_EPROTO (the exporter's version is
 * below the caller's min_version), -CSX_ENOSPC (the caller is over a
 * quota below), -CSX_ENOMEM. A caller treats any other value as a plain
 * hang-up.
 *
 * CSX_UH_LANE_REFUSE: the LANE_ADD of lane @lane (the caller's number,
 * echoed) was not taken: its memfd was closed unmapped and no thread
 * serves it, so any request posted on it never runs. The channel and its
 * other lanes stay. @status: -CSX_ENOSPC (a quota below, or the
 * exporter's limit of lane threads in all) or -CSX_ENOMEM; a caller
 * treats any other value as -CSX_ENOSPC. A caller should not add lanes
 * to that channel again for a while (its lanes in use serve its calls).
 */
struct csx_uh_refuse {
	struct csx_uh_hdr hdr;
	int32_t status;
	uint32_t reserved; /* 0 */
};

struct csx_uh_lane_refuse {
	struct csx_uh_hdr hdr;
	uint32_t lane;
	int32_t status;
};

/*
 * Per-caller quotas of an exporter, on what all the channels one caller
 * has with it (to all its services) may make it hold. "Process": the
 * caller's pid in CONNECT (@peer_pid); "uid": all callers of that
 * @peer_uid together, except root and the exporter's own uid, which are
 * only bounded per process. Going over refuses only what goes over: a
 * CONNECT with CSX_UH_REFUSE, a LANE_ADD with CSX_UH_LANE_REFUSE, a
 * SHBUF_ADD with a CSX_UH_SHBUF_ACK of -CSX_ENOSPC; every one
 * -CSX_ENOSPC. The exporter's own bounds per channel (CSX_UH_LANES_MAX,
 * CSX_UH_SHBUF_PER_CHAN, CSX_UH_SHBUF_CHAN_BYTES) and in all (1024 lane
 * threads) hold as well.
 */
#define CSX_UH_QUOTA_CHANS 256u		      /* channels, per process */
#define CSX_UH_QUOTA_UID_CHANS 512u	      /* channels, per uid */
#define CSX_UH_QUOTA_LANES 128u		      /* lanes (threads), per process */
#define CSX_UH_QUOTA_UID_LANES 256u	      /* lanes (threads), per uid */
#define CSX_UH_QUOTA_SHBUFS 256u	      /* shared buffers, per process */
#define CSX_UH_QUOTA_UID_SHBUFS 512u	      /* shared buffers, per uid */
#define CSX_UH_QUOTA_SHBUF_BYTES (4ull << 30) /* mapped, per process */
#define CSX_UH_QUOTA_UID_SHBUF_BYTES (8ull << 30) /* mapped, per uid */

#endif /* CSX_UH_PROTO_H */
