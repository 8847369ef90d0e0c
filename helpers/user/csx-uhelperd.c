/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-uhelperd: the CSX user helper daemon. CSX processes register their
 * services here and ask for channels to each other's; the daemon checks
 * who may open what, hands both ends a socketpair and steps aside
 * (protocol: helpers/include/csx_uh_proto.h).
 *
 * With --config it also runs CSX processes ("containers") and restarts
 * them when they fail (uhd_super.c, doc/supervisor.md).
 *
 * This file owns the process: options, the listening socket, signals, and
 * the --status and --events clients. Runs in the foreground and logs to
 * stderr, for systemd (csx-uhelperd.service) and for the tests.
 */
#include "uhd.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
/* The user-mode host the supervisor runs (helpers/user/local.mk). */
#ifndef CSX_RUN_PATH
#define CSX_RUN_PATH "/usr/local/bin/csx-run"
#endif

/* Log lines per second: about one peer, and about all peers together. */
#define UHD_RL_PEER 10
#define UHD_RL_ALL 100
/* How long accepting pauses when we are out of descriptors. */
#define UHD_ACCEPT_RETRY_MS 100
/* --status gives up on a daemon that does not answer within this. */
#define UHD_STATUS_TIMEOUT_S 5

enum uhd_level uhd_log_level = UHD_INFO;

static const char *const uhd_level_names[] = { "err", "warn", "info", "debug" };

void uhd_vlog(enum uhd_level lvl, const char *prefix, const char *fmt,
	      va_list ap)
{
	char line[1024];
	size_t n;
	int ret;

	if (lvl > uhd_log_level)
		return;
	ret = snprintf(line, sizeof(line), "csx-uhelperd: %s: %s",
		       uhd_level_names[lvl], prefix ? prefix : "");
	n = ret < 0 ? 0 : (size_t)ret;
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = strnlen(line, sizeof(line) - 2);
	line[n++] = '\n';
	/* One write per line, so lines of concurrent writers do not mix. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void uhd_log(enum uhd_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	uhd_vlog(lvl, NULL, fmt, ap);
	va_end(ap);
}

static time_t uhd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int64_t uhd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether a line may go out in this second; if not, it is counted. */
static bool uhd_rl_take(struct uhd_ratelimit *rl, unsigned int max)
{
	time_t now = uhd_now();

	if (now != rl->window) {
		rl->window = now;
		rl->lines = 0;
	}
	if (rl->lines >= max) {
		rl->suppressed++;
		return false;
	}
	rl->lines++;
	return true;
}

void uhd_rl_flush(struct uhd_ratelimit *rl, const char *who)
{
	if (rl->suppressed)
		uhd_log(UHD_WARN, "%s%lu log line(s) suppressed", who,
			rl->suppressed);
	rl->suppressed = 0;
}

/*
 * A hostile process opens many connections, so the per-peer limit alone
 * does not bound the log: every line also needs the daemon-wide budget.
 * Counts of suppressed lines go out with the next line allowed.
 */
void uhd_log_peer(struct uhd_client *c, enum uhd_level lvl, const char *fmt,
		  ...)
{
	char who[32];
	va_list ap;

	if (lvl > uhd_log_level)
		return;
	if (!uhd_rl_take(&c->rl, UHD_RL_PEER))
		return;
	if (!uhd_rl_take(&c->d->rl, UHD_RL_ALL)) {
		c->rl.suppressed++;
		return;
	}
	snprintf(who, sizeof(who), "pid %ld: ", (long)c->pid);
	uhd_rl_flush(&c->d->rl, "all peers: ");
	uhd_rl_flush(&c->rl, who);
	va_start(ap, fmt);
	uhd_vlog(lvl, who, fmt, ap);
	va_end(ap);
}

struct uhd_opts {
	const char *path;
	mode_t mode;
	unsigned int max_clients;
	unsigned int max_per_uid;
	unsigned int hello_timeout; /* seconds */
	bool status;
	bool events;
	const char *config;
	const char *csx_run;
	const char *state_file;
};

static void uhd_usage(FILE *f)
{
	fprintf(f,
		"Usage: csx-uhelperd [OPTION]...\n"
		"The CSX user helper daemon: a registry of the services of CSX\n"
		"processes, which it introduces to each other, and of their\n"
		"saved state; with --config, the supervisor that runs them and\n"
		"restarts them when they fail.\n"
		"\n"
		"  --socket PATH       listen on PATH (default: $%s, else %s)\n"
		"  --mode OCTAL        socket file mode (default 0666)\n"
		"  --max-clients N     most connections at once (default 256)\n"
		"  --max-per-uid N     most connections of one uid other than\n"
		"                      root's and the daemon's (default 64)\n"
		"  --hello-timeout S   close a connection that has not said\n"
		"                      HELLO within S seconds (default 5)\n"
		"  --log-level LEVEL   err, warn, info (default) or debug\n"
		"  --config FILE       run and supervise the containers of FILE\n"
		"                      (format: doc/supervisor.md)\n"
		"  --csx-run PATH      the csx-run they run (default %s)\n"
		"  --state-file PATH   where running containers are noted, for a\n"
		"                      daemon started after this one to adopt\n"
		"                      (default: the socket path + .containers)\n"
		"  --status            ask the running daemon for its registry,\n"
		"                      containers and saved state\n"
		"  --events            print the running daemon's events, one\n"
		"                      line each, until killed\n"
		"  --help              show this and exit\n"
		"  --version           show the version and exit\n"
		"\n"
		"SIGTERM/SIGINT stop the containers (SIGKILL after 5 s), then\n"
		"the daemon; SIGHUP logs the registry.\n"
		"\n"
		"Exit status: 0 done, 64 bad usage or configuration, 69 a daemon\n"
		"already runs (--status, --events: none runs), 70 internal\n"
		"failure.\n",
		CSX_UH_SOCKET_ENV, CSX_UH_SOCKET_DEFAULT, CSX_RUN_PATH);
}

static int uhd_bad_usage(const char *fmt, const char *arg)
{
	fputs("csx-uhelperd: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'csx-uhelperd --help'.\n", stderr);
	return EX_USAGE;
}

static bool uhd_parse_uint(const char *s, int base, unsigned long max,
			   unsigned long *out)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	*out = strtoul(s, &end, base);
	return !errno && !*end && *out <= max;
}

/* 0 to run, -1 to exit 0 (--help, --version), else an exit status. */
static int uhd_parse(int argc, char **argv, struct uhd_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "max-clients", required_argument, NULL, 'c' },
		{ "max-per-uid", required_argument, NULL, 'u' },
		{ "hello-timeout", required_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "status", no_argument, NULL, 'S' },
		{ "events", no_argument, NULL, 'E' },
		{ "config", required_argument, NULL, 'C' },
		{ "csx-run", required_argument, NULL, 'R' },
		{ "state-file", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int opt, i;

	o->path = getenv(CSX_UH_SOCKET_ENV);
	if (!o->path || !*o->path)
		o->path = CSX_UH_SOCKET_DEFAULT;
	o->mode = 0666;
	o->csx_run = CSX_RUN_PATH;
	o->max_clients = 256;
	o->max_per_uid = 64;
	o->hello_timeout = 5;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->path = optarg;
			break;
		case 'm':
			if (!uhd_parse_uint(optarg, 8, 07777, &v))
				return uhd_bad_usage("bad --mode '%s'", optarg);
			o->mode = (mode_t)v;
			break;
		case 'c':
			if (!uhd_parse_uint(optarg, 10, 65536, &v) || !v)
				return uhd_bad_usage("bad --max-clients '%s'",
						     optarg);
			o->max_clients = (unsigned int)v;
			break;
		case 'u':
			if (!uhd_parse_uint(optarg, 10, 65536, &v) || !v)
				return uhd_bad_usage("bad --max-per-uid '%s'",
						     optarg);
			o->max_per_uid = (unsigned int)v;
			break;
		case 't':
			if (!uhd_parse_uint(optarg, 10, 3600, &v) || !v)
				return uhd_bad_usage("bad --hello-timeout '%s'",
						     optarg);
			o->hello_timeout = (unsigned int)v;
			break;
		case 'l':
			for (i = 0; i <= UHD_DEBUG; i++)
				if (!strcmp(optarg, uhd_level_names[i]))
					break;
			if (i > UHD_DEBUG)
				return uhd_bad_usage("bad --log-level '%s'",
						     optarg);
			uhd_log_level = (enum uhd_level)i;
			break;
		case 'S':
			o->status = true;
			break;
		case 'E':
			o->events = true;
			break;
		case 'C':
			o->config = optarg;
			break;
		case 'R':
			if (!*optarg)
				return uhd_bad_usage("empty --csx-run%s", "");
			o->csx_run = optarg;
			break;
		case 'F':
			if (!*optarg)
				return uhd_bad_usage("empty --state-file%s",
						     "");
			o->state_file = optarg;
			break;
		case 'h':
			uhd_usage(stdout);
			return -1;
		case 'V':
			printf("csx-uhelperd %s (protocol %u)\n",
			       PACKAGE_VERSION, CSX_UH_PROTO_VERSION);
			return -1;
		default:
			return uhd_bad_usage("bad option '%s'",
					     argv[optind - 1]);
		}
	}
	if (optind < argc)
		return uhd_bad_usage("unexpected argument '%s'", argv[optind]);
	if (o->status && o->events)
		return uhd_bad_usage("--status and --events%s: one at a time",
				     "");
	if (!*o->path ||
	    strlen(o->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return uhd_bad_usage("socket path '%s' empty or too long",
				     o->path);
	return 0;
}

static void uhd_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	strcpy(sa->sun_path, path); /* length checked by uhd_parse() */
}

/* A connected socket to the daemon at @path, or -errno. */
static int uhd_connect_to(const char *path, int flags)
{
	struct sockaddr_un sa;
	int fd, err;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return -errno;
	uhd_addr(&sa, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* mkdir -p of @path's parent; directories we create get 0755. */
static int uhd_mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	strcpy(dir, path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = '\0';
		if (!mkdir(dir, 0755)) {
			/* Not subject to the umask: clients must reach it. */
			chmod(dir, 0755);
			uhd_log(UHD_INFO, "created %s", dir);
		} else if (errno != EEXIST) {
			uhd_log(UHD_ERR, "cannot create %s: %s", dir,
				strerror(errno));
			return -1;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

/*
 * Is another daemon at @path? EX_UNAVAILABLE if one answers, 0 when the
 * path is free (a stale socket of a dead daemon is removed), EX_SOFTWARE
 * if it cannot tell or the path is something else.
 */
static int uhd_probe(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		uhd_log(UHD_ERR, "%s: %s", path, strerror(errno));
		return EX_SOFTWARE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		uhd_log(UHD_ERR,
			"%s exists and is not a socket; not touching it", path);
		return EX_SOFTWARE;
	}
	/* Non-blocking: a daemon with a full backlog says EAGAIN, not hang. */
	fd = uhd_connect_to(path, SOCK_NONBLOCK);
	if (fd >= 0 || fd == -EAGAIN) {
		if (fd >= 0)
			close(fd);
		uhd_log(UHD_ERR, "already running: a daemon answers on %s",
			path);
		return EX_UNAVAILABLE;
	}
	if (fd != -ECONNREFUSED) {
		uhd_log(UHD_ERR, "cannot probe %s: %s", path, strerror(-fd));
		return EX_SOFTWARE;
	}
	if (unlink(path) && errno != ENOENT) {
		uhd_log(UHD_ERR, "cannot remove stale %s: %s", path,
			strerror(errno));
		return EX_SOFTWARE;
	}
	uhd_log(UHD_WARN, "removed stale socket %s (no daemon answered)", path);
	return 0;
}

/* Binds and listens on @o->path; 0 or an exit status. */
static int uhd_listen(struct uhd *d, const struct uhd_opts *o)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int ret, fd;

	if (uhd_mkdir_parent(o->path))
		return EX_SOFTWARE;
	ret = uhd_probe(o->path);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		uhd_log(UHD_ERR, "socket: %s", strerror(errno));
		return EX_SOFTWARE;
	}
	d->listen_fd = fd;
	uhd_addr(&sa, o->path);
	/* Created private, opened up by chmod: never wider than --mode. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret) {
		/* Lost a race with another daemon starting: let it run. */
		if (errno == EADDRINUSE)
			return uhd_probe(o->path) ?: EX_UNAVAILABLE;
		uhd_log(UHD_ERR, "bind %s: %s", o->path, strerror(errno));
		return EX_SOFTWARE;
	}
	if (chmod(o->path, o->mode) || stat(o->path, &st) ||
	    listen(fd, SOMAXCONN)) {
		uhd_log(UHD_ERR, "%s: %s", o->path, strerror(errno));
		unlink(o->path);
		return EX_SOFTWARE;
	}
	d->path = o->path;
	d->sock_dev = st.st_dev;
	d->sock_ino = st.st_ino;
	uhd_log(UHD_INFO,
		"listening on %s (mode %04o, at most %u clients, %u per uid, "
		"protocol %u)",
		o->path, (unsigned int)o->mode, o->max_clients, o->max_per_uid,
		CSX_UH_PROTO_VERSION);
	return 0;
}

/* Connections of @uid open now. */
static unsigned int uhd_uid_clients(struct uhd *d, uid_t uid)
{
	struct uhd_list *pos;
	unsigned int n = 0;

	for (pos = d->clients.next; pos != &d->clients; pos = pos->next)
		n += uhd_entry(pos, struct uhd_client, node)->uid == uid;
	return n;
}

static void uhd_accept_one(struct uhd *d, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char who[32];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		uhd_log(UHD_ERR, "SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	if (d->nclients >= d->max_clients) {
		snprintf(who, sizeof(who), "pid %ld: ", (long)cred.pid);
		if (uhd_rl_take(&d->rl, UHD_RL_ALL))
			uhd_log(UHD_WARN,
				"%srefused: %u clients already (--max-clients)",
				who, d->nclients);
		close(fd);
		return;
	}
	/*
	 * One user must not take every slot from the others (root and the
	 * daemon's own user may: they could stop the daemon anyway).
	 */
	if (cred.uid && cred.uid != d->self_uid &&
	    uhd_uid_clients(d, cred.uid) >= d->max_per_uid) {
		snprintf(who, sizeof(who), "pid %ld: ", (long)cred.pid);
		if (uhd_rl_take(&d->rl, UHD_RL_ALL))
			uhd_log(UHD_WARN,
				"%srefused: uid %lu has %u connections already "
				"(--max-per-uid)",
				who, (unsigned long)cred.uid, d->max_per_uid);
		close(fd);
		return;
	}
	if (uhd_client_new(d, fd, cred.pid, cred.uid, cred.gid)) {
		uhd_log(UHD_ERR, "pid %ld: out of memory; closed",
			(long)cred.pid);
		close(fd);
	}
}

static void uhd_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct uhd *d = arg;
	struct timeval tv = { 0, UHD_ACCEPT_RETRY_MS * 1000 };
	int i, fd;

	for (i = 0; i < UHD_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			uhd_accept_one(d, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/*
		 * Out of descriptors: the pending connection would wake us
		 * at once again; pause accepting instead of spinning.
		 */
		if (uhd_rl_take(&d->rl, UHD_RL_ALL))
			uhd_log(UHD_ERR, "accept: %s; pausing %d ms",
				strerror(errno), UHD_ACCEPT_RETRY_MS);
		event_del(d->listen_ev);
		event_add(d->retry_ev, &tv);
		return;
	}
}

static void uhd_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct uhd *d = arg;

	event_add(d->listen_ev, NULL);
}

static void uhd_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct uhd *d = arg;

	if (sig == SIGHUP) {
		uhd_registry_log(d);
		return;
	}
	uhd_log(UHD_INFO, "%s: shutting down",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	/* The loop goes on while the containers end: they are watched in it. */
	if (!uhd_super_stop(d))
		event_base_loopbreak(d->base);
}

static int uhd_events(struct uhd *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	size_t i;

	d->base = event_base_new();
	if (!d->base)
		return -1;
	d->listen_ev = event_new(d->base, d->listen_fd, EV_READ | EV_PERSIST,
				 uhd_accept, d);
	d->retry_ev = evtimer_new(d->base, uhd_accept_retry, d);
	if (!d->listen_ev || !d->retry_ev || event_add(d->listen_ev, NULL))
		return -1;
	for (i = 0; i < 3; i++) {
		d->sig_ev[i] = evsignal_new(d->base, sigs[i], uhd_on_signal, d);
		if (!d->sig_ev[i] || event_add(d->sig_ev[i], NULL))
			return -1;
	}
	return 0;
}

/* Everything goes, so that a leak checker sees nothing at exit. */
static void uhd_free(struct uhd *d)
{
	struct stat st;
	size_t i;

	d->closing = true;
	while (!uhd_list_empty(&d->clients))
		uhd_client_free(
			uhd_entry(d->clients.next, struct uhd_client, node),
			"closed at shutdown");
	uhd_rl_flush(&d->rl, "all peers: ");
	uhd_super_free(d);
	uhd_state_free(d);
	for (i = 0; i < 3; i++)
		if (d->sig_ev[i])
			event_free(d->sig_ev[i]);
	if (d->retry_ev)
		event_free(d->retry_ev);
	if (d->listen_ev)
		event_free(d->listen_ev);
	if (d->base)
		event_base_free(d->base);
	/* Only our own socket: a later daemon may have replaced it. */
	if (d->path && !lstat(d->path, &st) && st.st_dev == d->sock_dev &&
	    st.st_ino == d->sock_ino)
		unlink(d->path);
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	free(d);
}

/*
 * Every saved-state region and every child is a descriptor: take all the
 * hard limit allows, quietly keeping the soft one if it cannot be raised.
 */
static void uhd_raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int uhd_run(const struct uhd_opts *o)
{
	struct uhd *d = calloc(1, sizeof(*d));
	char *state_file = NULL;
	int ret;

	if (!d) {
		uhd_log(UHD_ERR, "out of memory");
		return EX_SOFTWARE;
	}
	d->listen_fd = -1;
	d->max_clients = o->max_clients;
	d->max_per_uid = o->max_per_uid;
	d->hello_timeout = o->hello_timeout;
	d->self_uid = geteuid();
	d->csx_run = o->csx_run;
	uhd_list_init(&d->clients);
	uhd_list_init(&d->containers);
	uhd_registry_init(d);
	uhd_state_init(d);
	if (o->state_file)
		d->state_file = o->state_file;
	else if (asprintf(&state_file, "%s.containers", o->path) > 0)
		d->state_file = state_file;
	else
		state_file = NULL;
	/* A bad configuration is refused before anything else happens. */
	if (o->config && uhd_conf_load(d, o->config)) {
		free(d);
		free(state_file);
		return EX_USAGE;
	}
	uhd_raise_nofile();
	/* Replies go with MSG_NOSIGNAL; this covers stderr on a dead pipe. */
	signal(SIGPIPE, SIG_IGN);
	ret = uhd_listen(d, o);
	if (!ret && uhd_events(d)) {
		uhd_log(UHD_ERR, "libevent set-up failed");
		ret = EX_SOFTWARE;
	}
	if (!ret && !d->state_file) {
		uhd_log(UHD_ERR, "out of memory");
		ret = EX_SOFTWARE;
	}
	if (!ret && uhd_super_start(d))
		ret = EX_SOFTWARE;
	if (!ret && event_base_dispatch(d->base) < 0) {
		uhd_log(UHD_ERR, "event loop failed");
		ret = EX_SOFTWARE;
	}
	uhd_free(d);
	free(state_file);
	libevent_global_shutdown();
	if (!ret)
		uhd_log(UHD_INFO, "exited");
	return ret;
}

/*
 * --status: one request, one reply with our @seq. A CONNECT cannot come
 * (we export nothing), but any descriptor that does is closed.
 */
static ssize_t uhd_status_call(int fd, void *req, size_t len, void *buf,
			       size_t cap)
{
	struct csx_uh_hdr *h = req;
	const struct csx_uh_reply *r = buf;
	ssize_t n;

	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	for (;;) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} cbuf;
		struct iovec iov = { buf, cap };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct cmsghdr *cm;

		size_t i;

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		errno = 0;
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return -1;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (i = 0; cm->cmsg_type == SCM_RIGHTS && i < nfd;
			     i++) {
				int cfd;

				memcpy(&cfd, CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(int));
				close(cfd);
			}
		}
		if ((size_t)n >= sizeof(*r) && r->hdr.type == CSX_UH_REPLY &&
		    r->hdr.seq == h->seq)
			return n;
	}
}

static void uhd_hdr(struct csx_uh_hdr *h, uint16_t type, uint32_t len,
		    uint32_t seq)
{
	h->magic = CSX_UH_MAGIC;
	h->version = CSX_UH_PROTO_VERSION;
	h->type = type;
	h->len = len;
	h->seq = seq;
}

/* Prints the LIST text but for our own container line. */
static void uhd_status_print(const char *text, size_t len)
{
	char self[32];
	const char *end = text + len, *nl;
	int n = snprintf(self, sizeof(self), "pid=%ld ", (long)getpid());

	while (text < end) {
		nl = memchr(text, '\n', end - text);
		nl = nl ? nl + 1 : end;
		if ((size_t)(nl - text) < (size_t)n ||
		    memcmp(text, self, n) != 0)
			fwrite(text, 1, nl - text, stdout);
		text = nl;
	}
}

/*
 * A connection to the daemon at @path that said HELLO as @name, with
 * timeouts on both directions; the fd, or -(exit status) (reported).
 */
static int uhd_client_hello(const char *path, const char *name, char *buf)
{
	struct timeval tv = { UHD_STATUS_TIMEOUT_S, 0 };
	const struct csx_uh_reply *r = (const struct csx_uh_reply *)buf;
	struct csx_uh_hello hello;
	ssize_t n;
	int fd;

	fd = uhd_connect_to(path, 0);
	if (fd < 0) {
		fprintf(stderr, "csx-uhelperd: no daemon at %s: %s\n", path,
			strerror(-fd));
		return -EX_UNAVAILABLE;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&hello, 0, sizeof(hello));
	uhd_hdr(&hello.hdr, CSX_UH_HELLO, sizeof(hello), 1);
	hello.proto = CSX_UH_PROTO_VERSION;
	strcpy(hello.name, name);
	n = uhd_status_call(fd, &hello, sizeof(hello), buf, CSX_UH_MSG_MAX);
	if (n < 0) {
		fprintf(stderr,
			"csx-uhelperd: the daemon at %s does not answer: %s\n",
			path, errno ? strerror(errno) : "connection closed");
		close(fd);
		return -EX_UNAVAILABLE;
	}
	if (r->status) {
		fprintf(stderr, "csx-uhelperd: HELLO refused: status %d\n",
			r->status);
		close(fd);
		return -EX_SOFTWARE;
	}
	return fd;
}

static int uhd_status(const char *path)
{
	struct csx_uh_hdr list;
	const struct csx_uh_reply *r;
	char *buf = malloc(CSX_UH_MSG_MAX);
	int fd, ret = EX_SOFTWARE;
	ssize_t n;

	if (!buf)
		return EX_SOFTWARE;
	r = (const struct csx_uh_reply *)buf;
	fd = uhd_client_hello(path, "csx-uhelperd/status", buf);
	if (fd < 0) {
		free(buf);
		return -fd;
	}
	uhd_hdr(&list, CSX_UH_LIST, sizeof(list), 2);
	n = uhd_status_call(fd, &list, sizeof(list), buf, CSX_UH_MSG_MAX);
	if (n < 0 || r->status) {
		fprintf(stderr, "csx-uhelperd: LIST failed\n");
		goto out;
	}
	uhd_status_print(buf + sizeof(*r), n - sizeof(*r));
	ret = fflush(stdout) ? EX_SOFTWARE : 0;
out:
	close(fd);
	free(buf);
	return ret;
}

static const char *uhd_event_name(uint32_t type)
{
	static const char *const names[] = {
		[CSX_UH_EV_STARTED] = "STARTED",
		[CSX_UH_EV_EXITED] = "EXITED",
		[CSX_UH_EV_RESTARTING] = "RESTARTING",
		[CSX_UH_EV_READY] = "READY",
		[CSX_UH_EV_GAVE_UP] = "GAVE_UP",
		[CSX_UH_EV_ADOPTED] = "ADOPTED",
		[CSX_UH_EV_STOPPED] = "STOPPED",
		[CSX_UH_EV_SERVICE_UP] = "SERVICE_UP",
		[CSX_UH_EV_SERVICE_DOWN] = "SERVICE_DOWN",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "EVENT";
}

/* A name field of the daemon's, made safe to print on one line. */
static void uhd_field(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < CSX_UH_NAME_MAX - 1 && src[i]; i++)
		dst[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/*
 * One line per event, fields by name, so that scripts can grep them:
 *   EXITED edu/1 pid 1234 status -9 restarts 3 delay_ms 0
 *   SERVICE_UP edu/regs pid 1234 container edu instance 1
 */
static void uhd_event_print(const struct csx_uh_event *e)
{
	char ct[CSX_UH_NAME_MAX], svc[CSX_UH_NAME_MAX];

	uhd_field(ct, e->container);
	uhd_field(svc, e->service);
	if (e->event == CSX_UH_EV_SERVICE_UP ||
	    e->event == CSX_UH_EV_SERVICE_DOWN)
		printf("%s %s pid %ld container %s instance %u",
		       uhd_event_name(e->event), svc, (long)e->pid, ct,
		       e->instance);
	else
		printf("%s %s/%u pid %ld status %ld restarts %u delay_ms %u",
		       uhd_event_name(e->event), ct, e->instance, (long)e->pid,
		       (long)e->status, e->restarts, e->delay_ms);
	if (e->event > CSX_UH_EV_SERVICE_DOWN)
		printf(" type %u", e->event);
	putchar('\n');
	fflush(stdout);
}

/* --events: SUBSCRIBE, then print every event until the daemon goes. */
static int uhd_events_client(const char *path)
{
	struct timeval none = { 0, 0 };
	const struct csx_uh_event *e;
	struct csx_uh_hdr sub;
	char *buf = malloc(CSX_UH_MSG_MAX);
	int fds[CSX_UH_MSG_FDS_MAX], fd;
	unsigned int nfds, i;
	ssize_t n;

	if (!buf)
		return EX_SOFTWARE;
	e = (const struct csx_uh_event *)buf;
	fd = uhd_client_hello(path, "csx-uhelperd/events", buf);
	if (fd < 0) {
		free(buf);
		return -fd;
	}
	uhd_hdr(&sub, CSX_UH_SUBSCRIBE, sizeof(sub), 2);
	n = uhd_status_call(fd, &sub, sizeof(sub), buf, CSX_UH_MSG_MAX);
	if (n < 0 || ((const struct csx_uh_reply *)buf)->status) {
		fprintf(stderr, "csx-uhelperd: SUBSCRIBE failed\n");
		close(fd);
		free(buf);
		return EX_SOFTWARE;
	}
	/* Said once the daemon sends us events: scripts wait for it. */
	printf("# subscribed to %s\n", path);
	fflush(stdout);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	for (;;) {
		n = csx_uh_msg_recv(fd, buf, CSX_UH_MSG_MAX, fds,
				    CSX_UH_MSG_FDS_MAX, &nfds, 0, NULL);
		for (i = 0; n > 0 && i < nfds; i++)
			close(fds[i]);
		if (n <= 0)
			break;
		if ((size_t)n == sizeof(*e) && e->hdr.magic == CSX_UH_MAGIC &&
		    e->hdr.type == CSX_UH_EVENT)
			uhd_event_print(e);
	}
	fprintf(stderr, "csx-uhelperd: the daemon closed the connection%s%s\n",
		n < 0 ? ": " : "", n < 0 ? strerror((int)-n) : "");
	close(fd);
	free(buf);
	return EX_UNAVAILABLE;
}

int main(int argc, char **argv)
{
	struct uhd_opts o = { 0 };
	int ret = uhd_parse(argc, argv, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.status)
		return uhd_status(o.path);
	if (o.events)
		return uhd_events_client(o.path);
	return uhd_run(&o);
}
