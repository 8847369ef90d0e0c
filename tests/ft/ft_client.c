/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * ft_client: checked load on edu services (samples/edu) while the
 * instances serving them are killed (tests/ft/ft-host.sh, the VM's
 * payload-ft.sh, bench/bench-ft.sh).
 *
 *   ft_client [OPTION]... SERVICE...      e.g. ft_client edu/0 edu/1
 *
 * N threads per service, each with its own channel, loop: a factorial of
 * a random n (checked against n! mod 2^32) or a DMA round trip of 1..4095
 * random bytes (checked byte for byte). Every request is counted exactly
 * once: ok, wrong result, or failed with its status. Successful
 * completions also go to a per-service timeline (10 ms resolution), the
 * quiet spells of each service are kept (no success for longer than
 * --gap-ms), and so are the requests slower than that.
 *
 * At the end, the kills the test made (--marks FILE, "KILL <ns> <service>
 * <pid>" lines from ft_ctl chaos) are matched against that record: how
 * long after each kill its port served again, which requests were pending
 * at the kill (they were re-issued, and must have come back right), and
 * what the other ports did meanwhile. See ft_report.c for the lines.
 *
 * Progress goes to stdout ("ft_client: load running: ..." once every
 * channel is open), the report to --report FILE or stdout. Exit status: 0
 * all well; 1 a wrong result, a failed request or a stall; 2 bad usage;
 * 3 CSX or a service could not be reached.
 */
#include <csx/csx.h>
#include <csx_user.h>

#include "edu.h"
#include "ft_client.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ft_do_ping(): stopped before a request was sent. */
#define FT_NOT_SENT 2

struct ft_opts {
	unsigned int duration_s; /* 0: until SIGINT/SIGTERM */
	unsigned int threads;	 /* per service; 0: no load */
	unsigned int dma_pct;
	unsigned int recovery_ms;
	unsigned int timeout_ms;
	unsigned int open_timeout_s;
	unsigned int set_timeout_ms; /* 0: leave it */
	unsigned int gap_ms, late_ms, stall_ms;
	unsigned long long seed;
	bool info;
	const char *report;
	const char *marks;
	const char *ping_dir; /* the baseline: no CSX (see ft_do_ping()) */
};

struct ft_worker {
	pthread_t th;
	struct ft_run *run;
	struct ft_svc *svc;
	struct csx_chan *chan;
	int fd; /* --ping: connection to the ping server, or -1 */
	const struct ft_opts *o;
	uint64_t rng;
	struct ft_counts c;
	uint8_t out[EDU_DMA_MAX];
	uint8_t back[EDU_DMA_MAX];
};

static int ft_stop;

static uint64_t ft_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t ft_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dull) >> 32; /* the good bits */
}

static uint32_t ft_fact(uint32_t n)
{
	uint32_t r = 1;

	while (n > 1)
		r *= n--;
	return r;
}

/* 0 ok, 1 wrong, or the call's negative status. */
static int ft_do_fact(struct ft_worker *w)
{
	struct edu_fact_req req = { .n = (uint32_t)(ft_rand(&w->rng) % 32) };
	struct edu_fact_resp resp = { .result = ~ft_fact(req.n) };
	size_t len = 0;
	int ret;

	ret = csx_call(w->chan, EDU_OP_FACTORIAL, &req, sizeof(req), &resp,
		       sizeof(resp), &len,
		       (int64_t)w->o->timeout_ms * CSX_NSEC_PER_MSEC);
	if (ret)
		return ret;
	if (len != sizeof(resp) || resp.result != ft_fact(req.n)) {
		fprintf(stderr,
			"ft_client: %s: factorial(%u) = %u (%zu bytes), expected %u\n",
			w->svc->name, req.n, resp.result, len, ft_fact(req.n));
		return 1;
	}
	return 0;
}

static int ft_do_dma(struct ft_worker *w)
{
	size_t i, len = 0, n = 1 + ft_rand(&w->rng) % EDU_DMA_MAX;
	int ret;

	for (i = 0; i < n; i++) {
		w->out[i] = (uint8_t)ft_rand(&w->rng);
		w->back[i] = (uint8_t)~w->out[i];
	}
	ret = csx_call(w->chan, EDU_OP_DMA_ROUNDTRIP, w->out, n, w->back,
		       sizeof(w->back), &len,
		       (int64_t)w->o->timeout_ms * CSX_NSEC_PER_MSEC);
	if (ret)
		return ret;
	if (len != n || memcmp(w->out, w->back, n)) {
		for (i = 0; i < n && i < len && w->out[i] == w->back[i]; i++)
			;
		fprintf(stderr,
			"ft_client: %s: DMA round trip of %zu bytes came back as %zu bytes, first difference at %zu\n",
			w->svc->name, n, len, i);
		return 1;
	}
	return 0;
}

/*
 * --ping DIR, the baseline of bench/bench-ft.sh: the same load loop and
 * report on a trivial server without CSX (bench/ft_ping.c, restarted by
 * the same supervisor). Service "ping/N" is the Unix stream socket
 * DIR/ping.N.sock; a request is 8 bytes echoed. A connection that breaks
 * fails the request in flight (nothing re-issues it); the next request
 * waits for a new connection, retried every millisecond.
 */
static int ft_ping_connect(struct ft_worker *w)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *n = w->svc->name;
	size_t i, len;
	int fd;

	len = (size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock",
			       w->o->ping_dir, n);
	if (len >= sizeof(sa.sun_path))
		return -1;
	for (i = len - strlen(n) - 5; sa.sun_path[i]; i++)
		if (sa.sun_path[i] == '/')
			sa.sun_path[i] = '.';
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Connected, or FT_NOT_SENT once the load is stopping. */
static int ft_ping_ready(struct ft_worker *w)
{
	while (w->fd < 0) {
		if (__atomic_load_n(&ft_stop, __ATOMIC_ACQUIRE))
			return FT_NOT_SENT;
		w->fd = ft_ping_connect(w);
		if (w->fd < 0)
			usleep(1000);
	}
	return 0;
}

static int ft_do_ping(struct ft_worker *w)
{
	uint64_t v = ft_rand(&w->rng), back = ~v;
	ssize_t n = send(w->fd, &v, sizeof(v), MSG_NOSIGNAL);
	size_t got = 0;

	while (n == (ssize_t)sizeof(v) && got < sizeof(back)) {
		n = recv(w->fd, (char *)&back + got, sizeof(back) - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno == EINTR)
			n = sizeof(v);
		else
			break;
	}
	if (got == sizeof(back))
		return back == v ? 0 : 1;
	close(w->fd);
	w->fd = -1;
	return -CSX_EPEERDIED;
}

/* @n failures with @status. */
static void ft_count_fail(struct ft_counts *c, int status, uint64_t n)
{
	unsigned int i;

	c->failed += n;
	for (i = 0; i < FT_FAIL_KINDS; i++) {
		if (c->fails[i].n && c->fails[i].status != status)
			continue;
		c->fails[i].status = status;
		c->fails[i].n += n;
		return;
	}
	c->fails_other += n;
}

static void *ft_grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? *cap * 2 : 256;
	void *q;

	if (n < *cap)
		return p;
	q = realloc(p, want * size);
	if (!q)
		return NULL;
	*cap = want;
	return q;
}

/* A success at @end: timeline, quiet spells. Service lock held. */
static void ft_note_ok(struct ft_run *run, struct ft_svc *s, uint64_t end)
{
	uint64_t b = (end - run->t0) / FT_BUCKET_NS;
	struct ft_gap *g;

	if (b < s->nbuckets)
		s->buckets[b]++;
	if (end <= s->last_ok) {
		/* Beaten to the lock by a later success: ours ends the
		 * spell if it came first. */
		g = s->ngaps ? &s->gaps[s->ngaps - 1] : NULL;
		if (g && end > g->from && end < g->to)
			g->to = end;
		return;
	}
	if (end - s->last_ok > run->gap_ns) {
		g = ft_grow(s->gaps, &s->capgaps, s->ngaps, sizeof(*g));
		if (g) {
			s->gaps = g;
			s->gaps[s->ngaps++] =
				(struct ft_gap){ .from = s->last_ok,
						 .to = end };
		}
	}
	s->last_ok = end;
}

static void ft_note_slow(struct ft_svc *s, enum ft_op_kind kind, bool ok,
			 uint64_t start, uint64_t end)
{
	struct ft_slow *sl;

	sl = ft_grow(s->slow, &s->capslow, s->nslow, sizeof(*sl));
	if (!sl)
		return;
	s->slow = sl;
	s->slow[s->nslow++] = (struct ft_slow){
		.start = start, .end = end, .kind = (uint8_t)kind, .ok = ok
	};
}

static void ft_account(struct ft_worker *w, enum ft_op_kind kind, int ret,
		       uint64_t start, uint64_t end)
{
	struct ft_svc *s = w->svc;

	w->c.requests++;
	if (kind == FT_DMA)
		w->c.dma++;
	else
		w->c.fact++;
	if (end - start > w->c.max_lat_ns)
		w->c.max_lat_ns = end - start;
	if (ret == 0)
		w->c.ok++;
	else if (ret > 0)
		w->c.wrong++;
	else
		ft_count_fail(&w->c, ret, 1);
	if (ret < 0)
		fprintf(stderr, "ft_client: %s: %s failed: %s\n", s->name,
			w->o->ping_dir ? "ping" :
			kind == FT_DMA ? "DMA round trip" :
					 "factorial",
			csx_status_name(ret));
	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ft_note_ok(w->run, s, end);
	if (end - start > w->run->gap_ns)
		ft_note_slow(s, kind, ret == 0, start, end);
	pthread_mutex_unlock(&s->lock);
}

static void *ft_worker_main(void *arg)
{
	struct ft_worker *w = arg;
	enum ft_op_kind kind;
	uint64_t start;
	int ret;

	while (!__atomic_load_n(&ft_stop, __ATOMIC_ACQUIRE)) {
		kind = ft_rand(&w->rng) % 100 < w->o->dma_pct ? FT_DMA :
								FT_FACT;
		if (w->o->ping_dir) {
			kind = FT_FACT;
			if (ft_ping_ready(w))
				break;
		}
		start = ft_now();
		if (w->o->ping_dir)
			ret = ft_do_ping(w);
		else
			ret = kind == FT_DMA ? ft_do_dma(w) : ft_do_fact(w);
		ft_account(w, kind, ret, start, ft_now());
	}
	return NULL;
}

/* csx_open(), retried while the service is not exported yet. */
static int ft_open(const struct ft_opts *o, const char *name,
		   struct csx_chan **chan)
{
	uint64_t until = ft_now() + o->open_timeout_s * 1000000000ull;
	int ret;

	for (;;) {
		ret = csx_open(name, EDU_SERVICE_VERSION, chan);
		if (ret != -CSX_ENOENT || ft_now() > until)
			break;
		usleep(50 * 1000);
	}
	if (ret) {
		fprintf(stderr, "ft_client: cannot open %s: %s\n", name,
			csx_status_name(ret));
		return ret;
	}
	ret = csx_chan_set_recovery(*chan, o->recovery_ms);
	if (ret) {
		fprintf(stderr, "ft_client: %s: recovery window %u ms: %s\n",
			name, o->recovery_ms, csx_status_name(ret));
		csx_close(*chan);
	}
	return ret;
}

/* --set-timeout and --info on one service. */
static int ft_control(const struct ft_opts *o, FILE *out, const char *name)
{
	struct edu_timeout_req treq = { .timeout_ms = o->set_timeout_ms };
	int64_t tmo = (int64_t)o->timeout_ms * CSX_NSEC_PER_MSEC;
	struct csx_chan *chan;
	struct edu_info info;
	size_t len = 0;
	int ret;

	ret = ft_open(o, name, &chan);
	if (ret)
		return ret;
	if (o->set_timeout_ms) {
		ret = csx_call(chan, EDU_OP_SET_TIMEOUT, &treq, sizeof(treq),
			       NULL, 0, NULL, tmo);
		if (ret)
			fprintf(stderr, "ft_client: %s: SET_TIMEOUT: %s\n",
				name, csx_status_name(ret));
	}
	if (!ret && o->info) {
		ret = csx_call(chan, EDU_OP_INFO, NULL, 0, &info, sizeof(info),
			       &len, tmo);
		if (!ret && len == sizeof(info))
			fprintf(out,
				"ft_client: info %s: incarnation=%llu timeout_ms=%u factorials=%llu dma_transfers=%llu timeouts=%llu dev=%.32s\n",
				name, (unsigned long long)info.incarnation,
				info.timeout_ms,
				(unsigned long long)info.factorials,
				(unsigned long long)info.dma_transfers,
				(unsigned long long)info.timeouts,
				info.dev_name);
		else
			fprintf(stderr, "ft_client: %s: INFO: %s (%zu bytes)\n",
				name, csx_status_name(ret), len);
		ret = ret ? ret : len == sizeof(info) ? 0 : -CSX_EIO;
	}
	csx_close(chan);
	return ret;
}

static void ft_counts_add(struct ft_counts *d, const struct ft_counts *s)
{
	unsigned int i;

	d->requests += s->requests;
	d->ok += s->ok;
	d->wrong += s->wrong;
	d->fact += s->fact;
	d->dma += s->dma;
	if (s->max_lat_ns > d->max_lat_ns)
		d->max_lat_ns = s->max_lat_ns;
	d->failed += s->fails_other;
	d->fails_other += s->fails_other;
	for (i = 0; i < FT_FAIL_KINDS && s->fails[i].n; i++)
		ft_count_fail(d, s->fails[i].status, s->fails[i].n);
}

/* Until --duration is over or SIGINT/SIGTERM (blocked in every thread). */
static void ft_wait(const struct ft_opts *o, const sigset_t *sigs)
{
	struct timespec ts = { .tv_sec = o->duration_s };

	if (o->duration_s)
		while (sigtimedwait(sigs, NULL, &ts) < 0 && errno == EINTR)
			;
	else
		while (sigwaitinfo(sigs, NULL) < 0)
			;
}

static int ft_svc_init(struct ft_run *run, const char *name)
{
	struct ft_svc *s = &run->svcs[run->nsvc];

	s->name = name;
	pthread_mutex_init(&s->lock, NULL);
	s->nbuckets = FT_MAX_RUN_NS / FT_BUCKET_NS;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		return -1;
	run->nsvc++;
	return 0;
}

static void ft_svc_free(struct ft_svc *s)
{
	free(s->buckets);
	free(s->gaps);
	free(s->slow);
	pthread_mutex_destroy(&s->lock);
}

/* Opens every worker's channel, then starts them all; 0 or -1. */
static int ft_load(struct ft_run *run, const struct ft_opts *o,
		   struct ft_worker *ws, unsigned int n, const sigset_t *sigs)
{
	unsigned int i, started = 0;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		ws[i].run = run;
		ws[i].o = o;
		ws[i].svc = &run->svcs[i / o->threads];
		ws[i].rng = (o->seed + i + 1) * 0x9e3779b97f4a7c15ull;
		ws[i].fd = -1;
		if (!o->ping_dir)
			ret = ft_open(o, ws[i].svc->name, &ws[i].chan);
	}
	n = ret ? i - 1 : n;
	run->t0 = ft_now();
	/* A kill before a port's first success still ends a quiet spell. */
	for (i = 0; i < run->nsvc; i++)
		run->svcs[i].last_ok = run->t0;
	for (i = 0; i < n && !ret; i++) {
		if (pthread_create(&ws[i].th, NULL, ft_worker_main, &ws[i]))
			ret = -1;
		else
			started++;
	}
	if (!ret) {
		printf("ft_client: load running: %u thread(s) on %u service(s), %u%% DMA\n",
		       n, run->nsvc, o->dma_pct);
		fflush(stdout);
		ft_wait(o, sigs);
	}
	__atomic_store_n(&ft_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < started; i++)
		pthread_join(ws[i].th, NULL);
	run->t_end = ft_now();
	for (i = 0; i < n; i++) {
		csx_close(ws[i].chan);
		if (ws[i].fd >= 0)
			close(ws[i].fd);
		ft_counts_add(&ws[i].svc->counts, &ws[i].c);
	}
	return ret;
}

static void ft_usage(FILE *f)
{
	fputs("usage: ft_client [OPTION]... SERVICE...\n"
	      "  --duration S            load for S seconds (default 10; 0: until\n"
	      "                          SIGINT or SIGTERM)\n"
	      "  --threads-per-service N (default 2; 0: no load)\n"
	      "  --dma-percent P         share of DMA round trips (default 50)\n"
	      "  --report FILE           the report (default: stdout)\n"
	      "  --marks FILE            kills to analyse (ft_ctl chaos --marks)\n"
	      "  --recovery-ms MS        channel recovery window (default 30000)\n"
	      "  --timeout-ms MS         call timeout (default 60000)\n"
	      "  --open-timeout S        wait for the services (default 30)\n"
	      "  --gap-ms MS             quiet spells kept (default 20)\n"
	      "  --late-ms MS            answers of a killed instance (default 5)\n"
	      "  --stall-ms MS           a port up but without success this long\n"
	      "                          is a stall (default 1000)\n"
	      "  --seed N                random seed (default: from the clock)\n"
	      "  --set-timeout MS        EDU_OP_SET_TIMEOUT first\n"
	      "  --info                  EDU_OP_INFO of each service first\n"
	      "  --ping DIR              the baseline: ping DIR/ping.N.sock for\n"
	      "                          service ping/N instead (no CSX)\n",
	      f);
}

static int ft_uint(const char *s, unsigned int max, unsigned int *v)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n > max)
		return -1;
	*v = (unsigned int)n;
	return 0;
}

static int ft_parse(int argc, char **argv, struct ft_opts *o)
{
	static const struct option lopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "threads-per-service", required_argument, NULL, 't' },
		{ "dma-percent", required_argument, NULL, 'p' },
		{ "report", required_argument, NULL, 'r' },
		{ "marks", required_argument, NULL, 'm' },
		{ "recovery-ms", required_argument, NULL, 'R' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "open-timeout", required_argument, NULL, 'O' },
		{ "gap-ms", required_argument, NULL, 'g' },
		{ "late-ms", required_argument, NULL, 'l' },
		{ "stall-ms", required_argument, NULL, 'L' },
		{ "seed", required_argument, NULL, 's' },
		{ "set-timeout", required_argument, NULL, 'S' },
		{ "info", no_argument, NULL, 'i' },
		{ "ping", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			bad |= ft_uint(optarg, 86400, &o->duration_s);
			break;
		case 't':
			bad |= ft_uint(optarg, 64, &o->threads);
			break;
		case 'p':
			bad |= ft_uint(optarg, 100, &o->dma_pct);
			break;
		case 'r':
			o->report = optarg;
			break;
		case 'm':
			o->marks = optarg;
			break;
		case 'R':
			bad |= ft_uint(optarg, CSX_CHAN_RECOVERY_MAX_MS,
				       &o->recovery_ms);
			break;
		case 'T':
			bad |= ft_uint(optarg, 3600000, &o->timeout_ms);
			break;
		case 'O':
			bad |= ft_uint(optarg, 3600, &o->open_timeout_s);
			break;
		case 'g':
			bad |= ft_uint(optarg, 10000, &o->gap_ms);
			break;
		case 'l':
			bad |= ft_uint(optarg, 10000, &o->late_ms);
			break;
		case 'L':
			bad |= ft_uint(optarg, 60000, &o->stall_ms);
			bad |= o->stall_ms < FT_BUCKET_NS / 1000000;
			break;
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'S':
			bad |= ft_uint(optarg, 60000, &o->set_timeout_ms);
			break;
		case 'i':
			o->info = true;
			break;
		case 'P':
			o->ping_dir = optarg;
			break;
		case 'h':
			ft_usage(stdout);
			exit(0);
		default:
			bad = 1;
		}
	}
	if (bad || optind == argc || argc - optind > FT_SVC_MAX || !o->gap_ms ||
	    o->gap_ms <= o->late_ms) {
		ft_usage(stderr);
		return -1;
	}
	return optind;
}

/* Control ops, then the load and its report; the exit status. */
static int ft_main(struct ft_run *run, const struct ft_opts *o,
		   const sigset_t *sigs)
{
	unsigned int i, n = run->nsvc * o->threads;
	struct ft_worker *ws;
	bool good;

	for (i = 0; i < run->nsvc && !o->ping_dir; i++)
		if ((o->info || o->set_timeout_ms) &&
		    ft_control(o, run->out, run->svcs[i].name))
			return 3;
	if (!n)
		return 0;
	ws = calloc(n, sizeof(*ws));
	if (!ws || ft_load(run, o, ws, n, sigs)) {
		free(ws);
		return 3;
	}
	free(ws);
	if (o->marks && ft_marks_read(run, o->marks))
		return 3;
	good = ft_report(run);
	return good ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct ft_opts o = {
		.duration_s = 10,
		.threads = 2,
		.dma_pct = 50,
		.recovery_ms = 30000,
		.timeout_ms = 60000,
		.open_timeout_s = 30,
		.gap_ms = 20,
		.late_ms = 5,
		.stall_ms = FT_STALL_NS / 1000000,
		.seed = ft_now(),
	};
	static struct ft_run run;
	sigset_t sigs;
	int first, i, ret;

	first = ft_parse(argc, argv, &o);
	if (first < 0)
		return 2;
	run.gap_ns = o.gap_ms * 1000000ull;
	run.eps_ns = o.late_ms * 1000000ull;
	run.stall_ns = o.stall_ms * 1000000ull;
	run.out = stdout;
	if (o.report && !(run.out = fopen(o.report, "w"))) {
		fprintf(stderr, "ft_client: %s: %s\n", o.report,
			strerror(errno));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = first; i < argc; i++)
		if (ft_svc_init(&run, argv[i]))
			return 3;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* The baseline runs without CSX altogether. */
	if (!o.ping_dir && csx_user_init()) {
		fprintf(stderr, "ft_client: csx_user_init() failed\n");
		return 3;
	}
	ret = ft_main(&run, &o, &sigs);
	if (!o.ping_dir)
		csx_user_fini();
	for (i = 0; i < (int)run.nsvc; i++)
		ft_svc_free(&run.svcs[i]);
	if (run.out != stdout)
		fclose(run.out);
	return ret;
}
