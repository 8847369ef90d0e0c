/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-uhelperd: the daemon's state, shared by its files.
 * csx-uhelperd.c owns the process (options, listening socket, signals,
 * --status, --events), uhd_client.c one connection (receive, validate,
 * reply), uhd_registry.c the services, uhd_event.c the subscribers,
 * uhd_state.c the saved-state regions, uhd_conf.c the container file and
 * uhd_super.c the supervisor that runs those containers.
 *
 * One thread runs everything from one libevent loop, so nothing here is
 * locked. Every byte a client sends is hostile: any local user may connect.
 */
#ifndef UHD_H
#define UHD_H

#include "../include/csx_uh_msg.h"
#include "../include/csx_uh_proto.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct event;
struct event_base;

/* Services one connection may export: a client cannot grow the daemon. */
#define UHD_SERVICES_PER_CLIENT 256
/* OPENs one connection may have parked (CSX_UH_OPEN_WAIT). */
#define UHD_WAITS_PER_CLIENT 64
/* Buckets of the service name hash (a power of two). */
#define UHD_HASH_SIZE 1024
/* Messages handled per wake-up of one client, so one cannot starve others. */
#define UHD_BATCH 64
/* Saved-state regions: per uid and daemon-wide (each holds a descriptor). */
#define UHD_STATE_UID_REGIONS 256
#define UHD_STATE_REGIONS_MAX 4096
/* "uid:4294967295/" + a HELLO name, or "CONTAINER/INSTANCE". */
#define UHD_KEY_MAX (16 + CSX_UH_NAME_MAX)
/* Container names: [A-Za-z0-9_.-], at most this long. */
#define UHD_CT_NAME_MAX 31
/* Instances per container, and over all containers. */
#define UHD_INSTANCES_MAX 64
#define UHD_INSTANCES_TOTAL 1024

/* A minimal circular doubly linked list, as the kernel's list_head. */
struct uhd_list {
	struct uhd_list *next, *prev;
};

#define uhd_entry(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

static inline void uhd_list_init(struct uhd_list *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool uhd_list_empty(const struct uhd_list *h)
{
	return h->next == h;
}

static inline void uhd_list_add_tail(struct uhd_list *n, struct uhd_list *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void uhd_list_del(struct uhd_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n;
	n->prev = n;
}

enum uhd_level {
	UHD_ERR,
	UHD_WARN,
	UHD_INFO,
	UHD_DEBUG,
};

/*
 * Log lines a peer may cause per second. A hostile client can send
 * thousands of bad requests a second; past this they are only counted and
 * the count is logged once the second is over.
 */
struct uhd_ratelimit {
	time_t window; /* CLOCK_MONOTONIC second being counted */
	unsigned int lines;
	unsigned long suppressed;
};

struct uhd_client;

/* One name and everything exporting it: instances of one uid. */
struct uhd_svcname {
	struct uhd_list hnode;	   /* hash bucket */
	struct uhd_list exporters; /* uhd_service.nnode; OPEN rotates it */
	uid_t uid;
	char name[CSX_UH_NAME_MAX];
};

/* One exporter of a name. */
struct uhd_service {
	struct uhd_list nnode; /* sn->exporters */
	struct uhd_list cnode; /* owner's services */
	struct uhd_svcname *sn;
	struct uhd_client *owner;
	uint32_t version;
	uint32_t scope; /* enum csx_uh_scope, validated */
	uint64_t idempotent;
};

/* An OPEN with CSX_UH_OPEN_WAIT parked until its name is exported. */
struct uhd_wait {
	struct uhd_list hnode; /* d->waits, by name */
	struct uhd_list cnode; /* c->waits */
	struct uhd_client *c;
	struct event *timer;
	uint32_t seq;
	uint32_t min_version;
	char name[CSX_UH_NAME_MAX];
};

/* One connection; a "container" in the registry once it said HELLO. */
struct uhd_client {
	struct uhd *d;
	struct uhd_list node; /* d->clients, in accept order */
	struct event *ev;
	struct event *hello_ev; /* no HELLO in time: closed */
	struct event *close_ev; /* uhd_client_doom(): freed from the loop */
	int fd;
	pid_t pid; /* SO_PEERCRED at accept: the only identity we trust */
	uid_t uid;
	gid_t gid;
	bool hello;
	bool subscribed;
	bool supervised; /* at HELLO, its pid was a running instance's */
	unsigned int instance;
	char container[UHD_CT_NAME_MAX + 1];
	const char *doomed;	    /* why it is being closed, or NULL */
	char name[CSX_UH_NAME_MAX]; /* from HELLO, sanitized for logs */
	time_t since;		    /* wall clock of HELLO */
	struct uhd_list services;
	unsigned int nservices;
	struct uhd_list waits;
	unsigned int nwaits;
	unsigned long ev_dropped; /* events lost to a full socket, unlogged */
	uint32_t seq;		  /* of the request being answered */
	struct uhd_ratelimit rl;
};

/* Receive buffer: any datagram up to the protocol's limit, typed views. */
union uhd_msg {
	struct csx_uh_hdr hdr;
	struct csx_uh_hello hello;
	struct csx_uh_export exp;
	struct csx_uh_name name;
	struct csx_uh_open open;
	struct csx_uh_state state;
	unsigned char raw[CSX_UH_MSG_MAX];
};

/* A saved-state region: a sealed memfd held for a key (uhd_state.c). */
struct uhd_region {
	struct uhd_list node; /* d->regions */
	char key[UHD_KEY_MAX];
	char name[CSX_UH_NAME_MAX];
	uid_t uid; /* who put it; charged to that uid */
	uint64_t size;
	int fd;
};

enum uhd_restart {
	UHD_RESTART_ON_FAILURE,
	UHD_RESTART_ALWAYS,
	UHD_RESTART_NEVER,
};

enum uhd_inst_state {
	UHD_INST_IDLE,	  /* not started yet */
	UHD_INST_RUNNING, /* @pid runs (started or adopted) */
	UHD_INST_BACKOFF, /* exited; restart timer armed */
	UHD_INST_STOPPED, /* exited; not restarted (policy, shutdown) */
	UHD_INST_GAVE_UP, /* exited too often; not restarted */
};

/* A container of the --config file: one program, run N times. */
struct uhd_container {
	struct uhd_list node; /* d->containers, in file order */
	char name[UHD_CT_NAME_MAX + 1];
	unsigned int line; /* of its [name], for messages */
	char **modules;	   /* NULL-terminated, as the argv tail */
	char **devices;	   /* may contain %i */
	char **args;
	unsigned int ninstances;
	enum uhd_restart restart;
	uint32_t backoff_ms, backoff_max_ms;
	uint32_t stable_ms;
	unsigned int giveup_n; /* more than this many failures ... */
	uint32_t giveup_ms;    /* ... within this: give up */
	struct uhd_inst *inst; /* [ninstances] */
};

/* One instance of a container: one process at a time. */
struct uhd_inst {
	struct uhd_container *ct;
	struct uhd *d;
	unsigned int index;
	enum uhd_inst_state state;
	pid_t pid;		      /* running, or the last one */
	int pidfd;		      /* running, else -1 */
	unsigned long long starttime; /* /proc/PID/stat field 22 */
	struct event *pid_ev;	      /* @pidfd readable: it ended */
	struct event *timer;	      /* restart */
	bool adopted;		      /* not our child: no exit status */
	bool ready;		      /* exported since it started */
	bool exited_once;
	bool failed; /* the last exit was a failure */
	unsigned int restarts;
	unsigned int failures; /* consecutive, for the backoff */
	unsigned int transient;
	int64_t start_ns, exit_ns; /* CLOCK_MONOTONIC */
	int64_t *fail_ns;	   /* ring of the last giveup_n + 1 failures */
	unsigned int nfail, fail_next;
	int status; /* of the last exit */
};

struct uhd {
	struct event_base *base;
	struct event *listen_ev;
	struct event *retry_ev; /* re-arms listen_ev after EMFILE */
	struct event *sig_ev[3];
	int listen_fd;
	const char *path;
	dev_t sock_dev; /* to unlink only our own socket at exit */
	ino_t sock_ino;
	uid_t self_uid;
	unsigned int max_clients;
	unsigned int max_per_uid;   /* connections of one uid but root */
	unsigned int hello_timeout; /* seconds a connection has for HELLO */
	unsigned int nclients;
	struct uhd_list clients;
	uint64_t next_chan;
	bool closing; /* freeing everything at exit: no more events */
	struct uhd_ratelimit rl; /* all peers together */
	struct uhd_list hash[UHD_HASH_SIZE];
	struct uhd_list waits[UHD_HASH_SIZE];
	/* saved state */
	struct uhd_list regions;
	unsigned int nregions;
	/* supervisor */
	const char *csx_run;
	const char *state_file;
	struct uhd_list containers;
	unsigned int ninstances;
	bool supervising;    /* uhd_super_start() ran: the state file is ours */
	bool state_file_bad; /* the last write failed (logged once) */
	bool stopping;	     /* SIGTERM: children asked to end */
	struct event *stop_ev;	 /* escalation to SIGKILL, then give up */
	unsigned int stop_phase; /* 0 SIGTERM sent, 1 SIGKILL sent */
	union uhd_msg rbuf;
	char tbuf[CSX_UH_MSG_MAX]; /* LIST replies */
};

/* Log level chosen by --log-level. */
extern enum uhd_level uhd_log_level;

/* One line on stderr, "csx-uhelperd: LEVEL: ...". */
void uhd_log(enum uhd_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void uhd_vlog(enum uhd_level lvl, const char *prefix, const char *fmt,
	      va_list ap) __attribute__((format(printf, 3, 0)));
/* A line about peer @c, "pid P: ...", rate limited per peer and overall. */
void uhd_log_peer(struct uhd_client *c, enum uhd_level lvl, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));
/* Logs what @rl suppressed, if anything, prefixed by @who. */
void uhd_rl_flush(struct uhd_ratelimit *rl, const char *who);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t uhd_now_ns(void);

/* uhd_client.c */
int uhd_client_new(struct uhd *d, int fd, pid_t pid, uid_t uid, gid_t gid);
void uhd_client_free(struct uhd_client *c, const char *why);
/* Closes @c from the event loop, soon; safe while lists are walked. */
void uhd_client_doom(struct uhd_client *c, const char *why);
/* Sends one message, with @pass_fd (or -1) as SCM_RIGHTS; 0 or -errno. */
int uhd_sendmsg(int fd, const void *buf, size_t len, int pass_fd);
/* Completes the OPENs parked for @name, now that it is exported. */
void uhd_waits_wake(struct uhd *d, const char *name);

/* uhd_registry.c */
bool uhd_service_name_ok(const char *name);
void uhd_registry_init(struct uhd *d);
/* The hash bucket of @name in @table (d->hash or d->waits). */
struct uhd_list *uhd_bucket(struct uhd_list *table, const char *name);
struct uhd_svcname *uhd_svcname_find(struct uhd *d, const char *name);
/* @c's export of @name, or NULL. */
struct uhd_service *uhd_service_find(struct uhd_client *c, const char *name);
/*
 * 0, -EEXIST (exported by another uid, or by @c already; *@other gets
 * an exporter), -ENOSPC (@c's limit) or -ENOMEM.
 */
int uhd_service_add(struct uhd_client *c, const struct csx_uh_export *m,
		    struct uhd_service **other);
/* Withdraws @s; SERVICE_DOWN to the subscribers. */
void uhd_service_del(struct uhd_service *s);
/* Withdraws all of @c's services; returns how many. */
unsigned int uhd_services_drop(struct uhd_client *c);
/* The LIST text in @buf (no NUL), at most @cap bytes; returns its length. */
size_t uhd_registry_text(struct uhd *d, char *buf, size_t cap);
/* Appends @line if it fits with room for "...\n"; false once full. */
bool uhd_text_line(char *buf, size_t cap, size_t *len, const char *line);
/* SIGHUP: the registry, one log line per line of text. */
void uhd_registry_log(struct uhd *d);

/* uhd_event.c */
/* SERVICE_UP / SERVICE_DOWN of @s, to the subscribers its scope admits. */
void uhd_event_service(struct uhd *d, uint32_t type,
		       const struct uhd_service *s);
/* A container event about @in, to subscribers of our uid or root. */
void uhd_event_inst(struct uhd *d, uint32_t type, const struct uhd_inst *in,
		    int32_t status, uint32_t delay_ms);
/* One container event to @c alone, dated @time_ns (CLOCK_MONOTONIC). */
void uhd_event_inst_to(struct uhd_client *c, uint32_t type,
		       const struct uhd_inst *in, int64_t time_ns);
/* Logs the events @c lost to its full socket, if any. */
void uhd_event_flush(struct uhd_client *c);

/* uhd_state.c */
void uhd_state_init(struct uhd *d);
/* The saved-state key of @c in @key (UHD_KEY_MAX bytes). */
void uhd_state_key(struct uhd_client *c, char *key);
/* STATE_GET: 0 and *@fd (not to be closed), or -ENOENT. */
int uhd_state_get(struct uhd_client *c, const char *name, int *fd);
/*
 * STATE_PUT of @fd (taken on success) as @name: 0, -EINVAL (*@why says
 * what is wrong) or -ENOSPC (*@why: which limit).
 */
int uhd_state_put(struct uhd_client *c, const char *name, uint64_t size, int fd,
		  const char **why);
/* STATE_DROP: 0 or -ENOENT. */
int uhd_state_drop(struct uhd_client *c, const char *name);
/* LIST lines of the regions, appended; false once @buf is full. */
bool uhd_state_text(struct uhd *d, char *buf, size_t cap, size_t *len);
void uhd_state_free(struct uhd *d);

/* uhd_conf.c */
/* Reads the container file @path into d->containers; 0 or -1 (logged). */
int uhd_conf_load(struct uhd *d, const char *path);
void uhd_container_free(struct uhd_container *ct);

/* uhd_super.c */
/* Adopts what a previous daemon left running, starts the rest; 0 or -1. */
int uhd_super_start(struct uhd *d);
/* SIGTERM/SIGINT: true if children must end first (the loop goes on). */
bool uhd_super_stop(struct uhd *d);
void uhd_super_free(struct uhd *d);
/* The running instance whose process is @pid, or NULL. */
struct uhd_inst *uhd_super_find(struct uhd *d, pid_t pid);
/* @c subscribed: it hears of the adoptions it could not see happen. */
void uhd_super_subscribed(struct uhd_client *c);
/* @c exported a service: an instance that was not ready is now. */
void uhd_super_exported(struct uhd_client *c);
/* LIST lines of the containers, appended; false once @buf is full. */
bool uhd_super_text(struct uhd *d, char *buf, size_t cap, size_t *len);
const char *uhd_inst_state_name(enum uhd_inst_state st);

#endif /* UHD_H */
