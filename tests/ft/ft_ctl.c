/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * ft_ctl: the fault-containment tests' hands on csx-uhelperd's supervisor
 * (tests/ft/ft-host.sh, the VM's payload-ft.sh, bench/bench-ft.sh). It
 * speaks the daemon protocol itself (helpers/include/csx_uh_proto.h),
 * not through libcsx-user, and links nothing of CSX.
 *
 *   ft_ctl now
 *       CLOCK_MONOTONIC in ns (the clock of the daemon's events).
 *   ft_ctl events SOCKET
 *       subscribe and print every event, one line each:
 *       "EVENT READY container=edu instance=0 pid=123 status=0 restarts=1
 *        delay_ms=152 time_ns=... service=" until the daemon goes away.
 *   ft_ctl instances SOCKET CONTAINER N
 *       the running processes of instances 0..N-1 (found in /proc by their
 *       CSX_CONTAINER / CSX_INSTANCE environment): "instance I pid P";
 *       exit 1 if one has no process or more than one.
 *   ft_ctl chaos SOCKET CONTAINER N [OPTION]...
 *       SIGKILL a random instance at random moments, each time waiting
 *       for the READY of its successor (bounded: exit 1 with a message
 *       saying what was seen). Options: --kills K (20), --sleep-ms
 *       MIN:MAX between READY and the next kill (200:1000),
 *       --ready-timeout S (15), --service FMT (the port of instance %i,
 *       default CONTAINER/%i), --marks FILE ("KILL <ns> <service> <pid>"
 *       and "READY <ns> <service> <pid> <delay_ms>" lines for ft_client),
 *       --during-restart E (every E-th kill also kills the successor
 *       right after its STARTED, before READY), --instance I (always
 *       that one), --seed N.
 *   ft_ctl corrupt PID REGION header|slots
 *       scribble over saved-state region REGION ("csx_edu/0") of process
 *       PID, through its memfd (/proc/PID/fd): the daemon holds the same
 *       memory and gives it to the next instance. A process cannot get
 *       another's region from the daemon (its key is the caller's), hence
 *       /proc; run it as root or as the same user.
 *
 * Exit status: 0, 1 (the check failed), 2 (bad usage), 3 (no daemon).
 */
#include "../../helpers/include/csx_uh_msg.h"
#include "../../helpers/include/csx_uh_proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_INST_MAX 64
#define CTL_KILLS_MAX 4096

union ctl_msg {
	struct csx_uh_hdr hdr;
	struct csx_uh_reply reply;
	struct csx_uh_event ev;
	unsigned char raw[CSX_UH_MSG_MAX];
};

struct ctl_inst {
	pid_t pid; /* running, 0 if none */
	bool ready;
	uint64_t ready_ns; /* event time of the last READY */
	uint32_t delay_ms; /* its delay since EXITED */
	uint32_t restarts;
	int exit_status; /* of the last EXITED */
};

struct ctl {
	int fd;
	uint32_t seq;
	const char *sock;
	const char *ct; /* the container chaos works on */
	unsigned int n;
	bool print; /* events: print them all */
	bool gave_up;
	char last[384]; /* the last event of the container, for messages */
	struct ctl_inst inst[CTL_INST_MAX];
};

static const char *const ctl_ev_names[] = {
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

static uint64_t ctl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t ctl_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dull) >> 32; /* the good bits */
}

static const char *ctl_ev_name(uint32_t type)
{
	if (type < sizeof(ctl_ev_names) / sizeof(ctl_ev_names[0]) &&
	    ctl_ev_names[type])
		return ctl_ev_names[type];
	return "UNKNOWN";
}

/* ---- the daemon connection ---------------------------------------------- */

static int ctl_send(struct ctl *c, uint16_t type, void *msg, size_t len)
{
	struct csx_uh_hdr *h = msg;

	h->magic = CSX_UH_MAGIC;
	h->version = CSX_UH_PROTO_VERSION;
	h->type = type;
	h->len = (uint32_t)len;
	h->seq = ++c->seq;
	return csx_uh_msg_send(c->fd, msg, len, NULL, 0, 0);
}

static void ctl_event(struct ctl *c, const struct csx_uh_event *ev);

/*
 * One message within @timeout_ms (-1: forever): its length, 0 on time
 * out, -1 when the daemon hung up. Events are handled here.
 */
static ssize_t ctl_recv(struct ctl *c, union ctl_msg *m, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int fds[CSX_UH_MSG_FDS_MAX];
	unsigned int nfds = 0, i;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	n = csx_uh_msg_recv(c->fd, m, sizeof(*m), fds, CSX_UH_MSG_FDS_MAX,
			    &nfds, 0, NULL);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (n <= 0)
		return -1;
	if ((size_t)n >= sizeof(m->ev) && m->hdr.type == CSX_UH_EVENT)
		ctl_event(c, &m->ev);
	return n;
}

/* Sends a request and waits for its reply: the reply's status, or -1. */
static int ctl_call(struct ctl *c, uint16_t type, void *msg, size_t len)
{
	union ctl_msg m;
	ssize_t n;

	if (ctl_send(c, type, msg, len))
		return -1;
	for (;;) {
		n = ctl_recv(c, &m, 10000);
		if (n <= 0)
			return -1;
		if (m.hdr.type == CSX_UH_REPLY && m.hdr.seq == c->seq &&
		    (size_t)n >= sizeof(m.reply))
			return m.reply.status;
	}
}

/* Connect, HELLO, SUBSCRIBE; 0 or -1 (said on stderr). */
static int ctl_subscribe(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct csx_uh_hello hello = { .proto = CSX_UH_PROTO_VERSION };
	struct csx_uh_hdr sub;
	int ret;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->sock);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "ft_ctl: %s: %s\n", c->sock, strerror(errno));
		return -1;
	}
	snprintf(hello.name, sizeof(hello.name), "ft_ctl");
	ret = ctl_call(c, CSX_UH_HELLO, &hello, sizeof(hello));
	if (!ret)
		ret = ctl_call(c, CSX_UH_SUBSCRIBE, &sub, sizeof(sub));
	if (ret) {
		fprintf(stderr, "ft_ctl: %s: HELLO/SUBSCRIBE: status %d\n",
			c->sock, ret);
		return -1;
	}
	return 0;
}

static void ctl_event_text(const struct csx_uh_event *ev, char *buf, size_t cap)
{
	snprintf(
		buf, cap,
		"EVENT %s container=%.*s instance=%u pid=%d status=%d restarts=%u delay_ms=%u time_ns=%llu service=%.*s",
		ctl_ev_name(ev->event), CSX_UH_NAME_MAX, ev->container,
		ev->instance, ev->pid, ev->status, ev->restarts, ev->delay_ms,
		(unsigned long long)ev->time_ns, CSX_UH_NAME_MAX, ev->service);
}

/* Keeps the instance table of the chaos container up to date. */
static void ctl_event(struct ctl *c, const struct csx_uh_event *ev)
{
	struct ctl_inst *in;
	char line[384];

	ctl_event_text(ev, line, sizeof(line));
	if (c->print) {
		printf("%s\n", line);
		fflush(stdout);
	}
	if (!c->ct || strncmp(ev->container, c->ct, CSX_UH_NAME_MAX) ||
	    ev->instance >= c->n || ev->event > CSX_UH_EV_STOPPED)
		return;
	snprintf(c->last, sizeof(c->last), "%s", line);
	in = &c->inst[ev->instance];
	switch (ev->event) {
	case CSX_UH_EV_STARTED:
	case CSX_UH_EV_ADOPTED:
		in->pid = ev->pid;
		in->ready = ev->event == CSX_UH_EV_ADOPTED;
		break;
	case CSX_UH_EV_READY:
		in->pid = ev->pid;
		in->ready = true;
		in->ready_ns = ev->time_ns;
		in->delay_ms = ev->delay_ms;
		break;
	case CSX_UH_EV_EXITED:
		if (ev->pid == in->pid) {
			in->pid = 0;
			in->ready = false;
		}
		in->exit_status = ev->status;
		break;
	case CSX_UH_EV_GAVE_UP:
		c->gave_up = true;
		break;
	}
	in->restarts = ev->restarts;
}

/* Handles events until @until (CLOCK_MONOTONIC ns); -1 on hang-up. */
static int ctl_pump(struct ctl *c, uint64_t until)
{
	union ctl_msg m;
	uint64_t now;

	while ((now = ctl_now()) < until) {
		if (ctl_recv(c, &m, (int)((until - now) / 1000000 + 1)) < 0)
			return -1;
	}
	return 0;
}

static int ctl_events(const char *sock)
{
	struct ctl c = { .sock = sock, .print = true };
	union ctl_msg m;

	if (ctl_subscribe(&c))
		return 3;
	printf("ft_ctl: subscribed to %s\n", sock);
	fflush(stdout);
	while (ctl_recv(&c, &m, -1) >= 0)
		;
	printf("ft_ctl: %s hung up\n", sock);
	return 0;
}

/* ---- instances, from /proc ------------------------------------------------- */

/* Is PID alive (not a zombie)? */
static bool ctl_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* The instance index of PID if it runs in container @ct, else -1. */
static int ctl_env_instance(pid_t pid, const char *sock, const char *ct)
{
	static char env[65536];
	bool in_ct = false, sock_ok = true;
	int inst = -1, fd;
	char path[64], *p;
	size_t len = strlen(ct);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, env, sizeof(env) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	env[n] = '\0';
	for (p = env; p < env + n; p += strlen(p) + 1) {
		if (!strncmp(p, CSX_UH_CONTAINER_ENV "=", 14))
			in_ct = !strncmp(p + 14, ct, len) && !p[14 + len];
		else if (!strncmp(p, CSX_UH_INSTANCE_ENV "=", 13))
			inst = atoi(p + 13);
		else if (!strncmp(p, CSX_UH_SOCKET_ENV "=", 20))
			sock_ok = !strcmp(p + 20, sock);
	}
	return in_ct && sock_ok ? inst : -1;
}

/* Fills @pids (the last one found) and @counts for instances 0..n-1. */
static void ctl_scan(const char *sock, const char *ct, unsigned int n,
		     pid_t *pids, unsigned int *counts)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	pid_t self = getpid();
	int i;

	memset(counts, 0, n * sizeof(*counts));
	while (d && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0 || pid == self)
			continue;
		i = ctl_env_instance(pid, sock, ct);
		if (i < 0 || (unsigned int)i >= n || !ctl_alive(pid))
			continue;
		pids[i] = pid;
		counts[i]++;
	}
	if (d)
		closedir(d);
}

static int ctl_instances(const char *sock, const char *ct, unsigned int n)
{
	pid_t pids[CTL_INST_MAX] = { 0 };
	unsigned int counts[CTL_INST_MAX], i;
	int ret = 0;

	ctl_scan(sock, ct, n, pids, counts);
	for (i = 0; i < n; i++) {
		if (counts[i] == 1) {
			printf("instance %u pid %d\n", i, (int)pids[i]);
			continue;
		}
		printf("instance %u: %u processes\n", i, counts[i]);
		ret = 1;
	}
	return ret;
}

/* ---- chaos --------------------------------------------------------------------- */

struct chaos_opts {
	unsigned int kills;
	unsigned int sleep_min, sleep_max; /* ms */
	unsigned int ready_timeout;	   /* s */
	unsigned int during_restart;
	int instance; /* -1: a random one each time */
	const char *service;
	const char *marks;
	uint64_t seed;
};

/* The port of instance @i: @fmt with %i replaced. */
static void chaos_service(const char *fmt, unsigned int i, char *buf,
			  size_t cap)
{
	const char *p = strstr(fmt, "%i");

	if (!p)
		snprintf(buf, cap, "%s", fmt);
	else
		snprintf(buf, cap, "%.*s%u%s", (int)(p - fmt), fmt, i, p + 2);
}

/* Until @done(c, i, arg) or the deadline; 0, or -1 said on stderr. */
static int chaos_wait(struct ctl *c, unsigned int i, uint64_t deadline,
		      bool (*done)(struct ctl *, unsigned int, pid_t),
		      pid_t arg, const char *what)
{
	union ctl_msg m;
	uint64_t now;

	while (!done(c, i, arg)) {
		now = ctl_now();
		if (now >= deadline || c->gave_up) {
			fprintf(stderr,
				"ft_ctl: FAIL: instance %u of %s: no %s within the wait%s (last event: %s)\n",
				i, c->ct, what,
				c->gave_up ? " (the supervisor gave up)" : "",
				c->last[0] ? c->last : "none");
			return -1;
		}
		if (ctl_recv(c, &m, (int)((deadline - now) / 1000000 + 1)) <
		    0) {
			fprintf(stderr, "ft_ctl: FAIL: the daemon hung up\n");
			return -1;
		}
	}
	return 0;
}

/* Ready, and not the process @old. */
static bool chaos_is_ready(struct ctl *c, unsigned int i, pid_t old)
{
	return c->inst[i].ready && c->inst[i].pid && c->inst[i].pid != old;
}

/* A successor of @old started (it may be ready already). */
static bool chaos_is_started(struct ctl *c, unsigned int i, pid_t old)
{
	return c->inst[i].pid && c->inst[i].pid != old;
}

static void chaos_mark(FILE *marks, const char *what, uint64_t ns,
		       const char *svc, pid_t pid, long extra)
{
	if (!marks)
		return;
	fprintf(marks, "%s %llu %s %d", what, (unsigned long long)ns, svc,
		(int)pid);
	if (extra >= 0)
		fprintf(marks, " %ld", extra);
	fprintf(marks, "\n");
	fflush(marks);
}

/* Kills the successor of @old right after its STARTED: 0 or -1. */
static int chaos_restart_kill(struct ctl *c, unsigned int i, pid_t old,
			      uint64_t deadline, FILE *marks, const char *svc,
			      pid_t *second)
{
	uint64_t t;

	if (chaos_wait(c, i, deadline, chaos_is_started, old, "STARTED"))
		return -1;
	*second = c->inst[i].pid;
	t = ctl_now();
	if (kill(*second, SIGKILL)) {
		fprintf(stderr, "ft_ctl: FAIL: kill %d: %s\n", (int)*second,
			strerror(errno));
		return -1;
	}
	chaos_mark(marks, "KILL", t, svc, *second, -1);
	printf("ft_ctl:   also killed its successor pid %d right after STARTED%s\n",
	       (int)*second, c->inst[i].ready ? " (it was READY already)" : "");
	return 0;
}

static int chaos_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One kill of a random instance and its recovery; 0 or -1. */
static int chaos_one(struct ctl *c, const struct chaos_opts *o, unsigned int k,
		     FILE *marks, uint64_t *rng, uint64_t *rec)
{
	uint64_t tmo = o->ready_timeout * 1000000000ull, t;
	unsigned int i = o->instance >= 0 ?
				 (unsigned int)o->instance :
				 (unsigned int)(ctl_rand(rng) % c->n);
	pid_t pid, second = 0;
	char svc[CSX_UH_NAME_MAX];

	chaos_service(o->service, i, svc, sizeof(svc));
	if (chaos_wait(c, i, ctl_now() + tmo, chaos_is_ready, 0, "READY"))
		return -1;
	pid = c->inst[i].pid;
	t = ctl_now();
	if (kill(pid, SIGKILL)) {
		fprintf(stderr, "ft_ctl: FAIL: kill %d: %s\n", (int)pid,
			strerror(errno));
		return -1;
	}
	chaos_mark(marks, "KILL", t, svc, pid, -1);
	printf("ft_ctl: kill %u: %s (instance %u) pid %d\n", k, svc, i,
	       (int)pid);
	if (o->during_restart && k % o->during_restart == 0 &&
	    chaos_restart_kill(c, i, pid, t + tmo, marks, svc, &second))
		return -1;
	c->inst[i].ready = false; /* a READY of the killed one is stale */
	if (chaos_wait(c, i, ctl_now() + tmo, chaos_is_ready,
		       second ? second : pid, "READY after the kill"))
		return -1;
	*rec = c->inst[i].ready_ns - t;
	chaos_mark(marks, "READY", c->inst[i].ready_ns, svc, c->inst[i].pid,
		   (long)c->inst[i].delay_ms);
	printf("ft_ctl: kill %u: %s READY after %.1f ms (pid %d; %u restarts; the daemon counts %u ms since EXITED)\n",
	       k, svc, (double)*rec / 1e6, (int)c->inst[i].pid,
	       c->inst[i].restarts, c->inst[i].delay_ms);
	return 0;
}

static int chaos_run(struct ctl *c, const struct chaos_opts *o, FILE *marks)
{
	uint64_t rng = o->seed | 1, recs[CTL_KILLS_MAX], span;
	unsigned int k, n = 0, counts[CTL_INST_MAX];
	pid_t pids[CTL_INST_MAX] = { 0 };

	ctl_scan(c->sock, c->ct, c->n, pids, counts);
	for (k = 0; k < c->n; k++) {
		c->inst[k].pid = counts[k] == 1 ? pids[k] : 0;
		c->inst[k].ready = counts[k] == 1;
	}
	for (k = 1; k <= o->kills && k <= CTL_KILLS_MAX; k++) {
		span = o->sleep_max - o->sleep_min + 1;
		if (ctl_pump(c, ctl_now() +
					(o->sleep_min + ctl_rand(&rng) % span) *
						1000000ull))
			break;
		if (chaos_one(c, o, k, marks, &rng, &recs[n]))
			return 1;
		n++;
	}
	if (n < o->kills) {
		fprintf(stderr, "ft_ctl: FAIL: the daemon hung up\n");
		return 1;
	}
	qsort(recs, n, sizeof(recs[0]), chaos_cmp);
	printf("ft_ctl: chaos: %u kills, %u READY; kill -> READY median %.1f ms, max %.1f ms\n",
	       o->kills, n, n ? (double)recs[n / 2] / 1e6 : 0.0,
	       n ? (double)recs[n - 1] / 1e6 : 0.0);
	printf("ft_ctl: bench: kills=%u ready=%u ready_median_ns=%llu ready_max_ns=%llu\n",
	       o->kills, n, (unsigned long long)(n ? recs[n / 2] : 0),
	       (unsigned long long)(n ? recs[n - 1] : 0));
	return 0;
}

static int chaos_parse(int argc, char **argv, struct chaos_opts *o)
{
	int i;

	for (i = 0; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--kills"))
			o->kills = (unsigned int)atoi(v);
		else if (!strcmp(k, "--sleep-ms") &&
			 sscanf(v, "%u:%u", &o->sleep_min, &o->sleep_max) == 2)
			;
		else if (!strcmp(k, "--ready-timeout"))
			o->ready_timeout = (unsigned int)atoi(v);
		else if (!strcmp(k, "--service"))
			o->service = v;
		else if (!strcmp(k, "--marks"))
			o->marks = v;
		else if (!strcmp(k, "--during-restart"))
			o->during_restart = (unsigned int)atoi(v);
		else if (!strcmp(k, "--seed"))
			o->seed = strtoull(v, NULL, 0);
		else if (!strcmp(k, "--instance"))
			o->instance = atoi(v);
		else
			return -1;
	}
	if (i != argc || o->sleep_max < o->sleep_min || !o->ready_timeout ||
	    o->kills > CTL_KILLS_MAX)
		return -1;
	return 0;
}

static int ctl_chaos(int argc, char **argv)
{
	struct chaos_opts o = {
		.kills = 20,
		.sleep_min = 200,
		.sleep_max = 1000,
		.ready_timeout = 15,
		.instance = -1,
		.seed = ctl_now(),
	};
	static struct ctl c;
	char fmt[CSX_UH_NAME_MAX];
	FILE *marks = NULL;
	int ret;

	c.sock = argv[0];
	c.ct = argv[1];
	c.n = (unsigned int)atoi(argv[2]);
	snprintf(fmt, sizeof(fmt), "%s/%%i", c.ct);
	o.service = fmt;
	if (!c.n || c.n > CTL_INST_MAX || chaos_parse(argc - 3, argv + 3, &o) ||
	    o.instance >= (int)c.n) {
		fprintf(stderr, "ft_ctl: chaos: bad arguments\n");
		return 2;
	}
	if (o.marks && !(marks = fopen(o.marks, "a"))) {
		fprintf(stderr, "ft_ctl: %s: %s\n", o.marks, strerror(errno));
		return 2;
	}
	if (ctl_subscribe(&c))
		ret = 3;
	else
		ret = chaos_run(&c, &o, marks);
	if (marks)
		fclose(marks);
	return ret;
}

/* ---- corrupt ---------------------------------------------------------------- */

/*
 * The region's layout, as csx-api/src/csx_state.c writes it: a header
 * page (magic, layout, slot capacity, name), then two commit slots of
 * 24 header bytes (seq, version, len, crc, reserved) and the data.
 */
#define CTL_STATE_PAGE 4096u
#define CTL_SLOT_HDR 24u

/* Opens REGION's memfd held by PID; the descriptor or -1. */
static int ctl_region_open(pid_t pid, const char *region)
{
	char dir[64], path[320], link[256], want[256];
	struct dirent *de;
	DIR *d;
	ssize_t n;
	int fd = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "/memfd:csx-state:%s (deleted)", region);
	d = opendir(dir);
	while (d && fd < 0 && (de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!strcmp(link, want))
			fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (d)
		closedir(d);
	return fd;
}

static void ctl_scribble_slots(unsigned char *mem, size_t size)
{
	uint64_t cap;
	size_t sb, i, j, len;
	uint32_t l;

	memcpy(&cap, mem + 8, sizeof(cap));
	sb = (CTL_SLOT_HDR + cap + 7) & ~(size_t)7;
	for (i = 0; i < 2; i++) {
		unsigned char *sl = mem + CTL_STATE_PAGE + i * sb;

		if (sl + CTL_SLOT_HDR > mem + size)
			break;
		memcpy(&l, sl + 12, sizeof(l));
		len = l < cap ? l : cap;
		for (j = 0; j < len && sl + CTL_SLOT_HDR + j < mem + size; j++)
			sl[CTL_SLOT_HDR + j] ^= 0x5a;
		if (!len)
			sl[16] ^= 0x5a; /* the CRC */
	}
}

static int ctl_corrupt(pid_t pid, const char *region, const char *what)
{
	unsigned char *mem;
	struct stat st;
	int fd;

	if (strcmp(what, "header") && strcmp(what, "slots"))
		return 2;
	fd = ctl_region_open(pid, region);
	if (fd < 0 || fstat(fd, &st) ||
	    st.st_size < (off_t)(CTL_STATE_PAGE + 2 * CTL_SLOT_HDR)) {
		fprintf(stderr, "ft_ctl: FAIL: no region %s in pid %d\n",
			region, (int)pid);
		return 1;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	close(fd);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "ft_ctl: FAIL: mmap: %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(what, "header"))
		memset(mem, 0xa5, 64);
	else
		ctl_scribble_slots(mem, (size_t)st.st_size);
	munmap(mem, (size_t)st.st_size);
	printf("ft_ctl: corrupt: %s of pid %d (%lld bytes): %s scribbled\n",
	       region, (int)pid, (long long)st.st_size, what);
	return 0;
}

static void ctl_usage(void)
{
	fputs("usage: ft_ctl now\n"
	      "       ft_ctl events SOCKET\n"
	      "       ft_ctl instances SOCKET CONTAINER N\n"
	      "       ft_ctl chaos SOCKET CONTAINER N [--kills K] [--sleep-ms MIN:MAX]\n"
	      "             [--ready-timeout S] [--service FMT] [--marks FILE]\n"
	      "             [--during-restart E] [--instance I] [--seed N]\n"
	      "       ft_ctl corrupt PID REGION header|slots\n",
	      stderr);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "now") && argc == 2) {
		printf("%llu\n", (unsigned long long)ctl_now());
		return 0;
	}
	if (!strcmp(cmd, "events") && argc == 3)
		return ctl_events(argv[2]);
	if (!strcmp(cmd, "instances") && argc == 5)
		return ctl_instances(argv[2], argv[3],
				     (unsigned int)atoi(argv[4]));
	if (!strcmp(cmd, "chaos") && argc >= 5)
		return ctl_chaos(argc - 2, argv + 2);
	if (!strcmp(cmd, "corrupt") && argc == 5)
		return ctl_corrupt((pid_t)atoi(argv[2]), argv[3], argv[4]);
	ctl_usage();
	return 2;
}
