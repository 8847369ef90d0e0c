/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-uhelperd: the daemon's state, shared by its three files.
 * csx-uhelperd.c owns the process (options, listening socket, signals,
 * --status), uhd_client.c one connection (receive, validate, reply) and
 * uhd_registry.c the containers and their services.
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
/* Buckets of the service name hash (a power of two). */
#define UHD_HASH_SIZE 1024
/* Messages handled per wake-up of one client, so one cannot starve others. */
#define UHD_BATCH 64

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

struct uhd_service {
	struct uhd_list hnode; /* hash bucket */
	struct uhd_list cnode; /* owner's services */
	struct uhd_client *owner;
	uint32_t version;
	uint32_t scope; /* enum csx_uh_scope, validated */
	char name[CSX_UH_NAME_MAX];
};

/* One connection; a "container" in the registry once it said HELLO. */
struct uhd_client {
	struct uhd *d;
	struct uhd_list node; /* d->clients, in accept order */
	struct event *ev;
	struct event *hello_ev; /* no HELLO in time: closed */
	int fd;
	pid_t pid; /* SO_PEERCRED at accept: the only identity we trust */
	uid_t uid;
	gid_t gid;
	bool hello;
	char name[CSX_UH_NAME_MAX]; /* from HELLO, sanitized for logs */
	time_t since;		    /* wall clock of HELLO */
	struct uhd_list services;
	unsigned int nservices;
	uint32_t seq; /* of the request being answered */
	struct uhd_ratelimit rl;
};

/* Receive buffer: any datagram up to the protocol's limit, typed views. */
union uhd_msg {
	struct csx_uh_hdr hdr;
	struct csx_uh_hello hello;
	struct csx_uh_export exp;
	struct csx_uh_name name;
	struct csx_uh_open open;
	unsigned char raw[CSX_UH_MSG_MAX];
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
	unsigned int max_clients;
	unsigned int hello_timeout; /* seconds a connection has for HELLO */
	unsigned int nclients;
	struct uhd_list clients;
	uint64_t next_chan;
	struct uhd_ratelimit rl; /* all peers together */
	struct uhd_list hash[UHD_HASH_SIZE];
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

/* uhd_client.c */
int uhd_client_new(struct uhd *d, int fd, pid_t pid, uid_t uid, gid_t gid);
void uhd_client_free(struct uhd_client *c, const char *why);
/* Sends one message, with @pass_fd (or -1) as SCM_RIGHTS; 0 or -errno. */
int uhd_sendmsg(int fd, const void *buf, size_t len, int pass_fd);

/* uhd_registry.c */
bool uhd_service_name_ok(const char *name);
void uhd_registry_init(struct uhd *d);
struct uhd_service *uhd_service_find(struct uhd *d, const char *name);
/* 0, -EEXIST (taken by anyone), -ENOSPC (@c's limit) or -ENOMEM. */
int uhd_service_add(struct uhd_client *c, const char *name, uint32_t version,
		    uint32_t scope);
void uhd_service_del(struct uhd_service *s);
/* Withdraws all of @c's services; returns how many. */
unsigned int uhd_services_drop(struct uhd_client *c);
/* The LIST text in @buf (no NUL), at most @cap bytes; returns its length. */
size_t uhd_registry_text(struct uhd *d, char *buf, size_t cap);
/* SIGHUP: the registry, one log line per line of text. */
void uhd_registry_log(struct uhd *d);

#endif /* UHD_H */
