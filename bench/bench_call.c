/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Module-to-module call benchmarks (issue 6):
 *
 *   call_in_process_vs_indirect   csx_call() of a service exported in the
 *       same process vs calling the same handler through a function
 *       pointer; 8-byte request and response. Target: at most 2x + 20 ns,
 *       written into the row as csx <= 2 * base + 20.
 *   call_user_to_user_{same,cross}_cpu_vs_socketpair   a csx_call() round
 *       trip to a service of another process (opened through the user
 *       helper daemon; the call itself goes through a shared-memory lane)
 *       vs a 64-byte ping-pong over a Unix socketpair between two
 *       processes. Both server processes are pinned, with all their
 *       threads, to one CPU and the client to the same one or the other.
 *       Target: at most 1.0x.
 *   call_user_to_user_1mib_shbuf_vs_socketpair   the same, but a 1 MiB
 *       request and a 1 MiB response: csx_call_shbuf() with both windows
 *       in a shared buffer (the exporter's handler copies the request to
 *       the response window, in place) vs a socketpair echo of 1 MiB each
 *       way. Same CPU. No target: it shows what passing by handle saves.
 *
 * The daemon is $CSX_UHELPERD (make bench sets it to the built one); it
 * runs on a private socket for the length of the benchmark.
 */
#include <csx/csx.h>
#include <csx_user.h>

#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define XSVC "bench/xcall"
#define PAYLOAD 64
#define BIG (1u << 20)

static int echo8(void *ctx, uint32_t op, const void *in, size_t in_len,
		 void *out, size_t out_cap, size_t *out_len)
{
	if (in_len > out_cap)
		return -CSX_EOVERFLOW;
	memcpy(out, in, in_len);
	*out_len = in_len;
	return 0;
}

/* ---- in-process ------------------------------------------------------- */

static double per_call_csx(struct csx_chan *chan, uint64_t n)
{
	uint64_t in = 42, out = 0, t0, i;
	size_t len;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		in = i;
		if (csx_call(chan, 1, &in, sizeof(in), &out, sizeof(out), &len,
			     CSX_WAIT_FOREVER) ||
		    out != i) {
			bench_log("in-process call %llu failed",
				  (unsigned long long)i);
			exit(1);
		}
	}
	return (double)(bench_now_ns() - t0) / (double)n;
}

static double per_call_indirect(csx_service_fn volatile *fnp, uint64_t n)
{
	uint64_t in = 42, out = 0, t0, i;
	size_t len;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		in = i;
		if ((*fnp)(NULL, 1, &in, sizeof(in), &out, sizeof(out), &len) ||
		    out != i)
			exit(1);
		bench_barrier();
	}
	return (double)(bench_now_ns() - t0) / (double)n;
}

static void bench_in_process(void)
{
	static csx_service_fn volatile fnp = echo8;
	unsigned int reps = bench_reps(), r;
	uint64_t n = bench_iters(2000000);
	double c[32], b[32], cm, bm;
	struct csx_service *svc;
	struct csx_chan *chan;
	char target[64];

	if (reps > 32)
		reps = 32;
	if (csx_user_init()) {
		bench_log("csx_user_init() failed");
		exit(1);
	}
	if (csx_service_export_scope("bench/local", 1, CSX_SERVICE_PRIVATE,
				     echo8, NULL, &svc) ||
	    csx_open("bench/local", 1, &chan)) {
		bench_log("cannot export/open the in-process service");
		exit(1);
	}
	bench_pin_self(BENCH_CPU_A);
	per_call_csx(chan, n / 10);
	per_call_indirect(&fnp, n / 10);
	for (r = 0; r < reps; r++) {
		c[r] = per_call_csx(chan, n);
		b[r] = per_call_indirect(&fnp, n);
	}
	bench_unpin_self();
	csx_close(chan);
	csx_service_unexport(svc);
	csx_user_fini();
	cm = bench_median(c, reps);
	bm = bench_median(b, reps);
	snprintf(target, sizeof(target), "csx<=%.2f", 2 * bm + 20);
	bench_row("call_in_process_vs_indirect", cm, bm, "ns", BENCH_TIME,
		  target,
		  "csx_call() to a service of the same process vs the handler "
		  "through a function pointer, 8 B each way; target 2x+20 ns");
}

/* ---- across processes ------------------------------------------------- */

static char sock_dir[64], sock_path[128];
static pid_t daemon_pid = -1;

static void pin_process(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		bench_log("cannot pin to CPU %d: %s", cpu, strerror(errno));
}

static void daemon_start(void)
{
	const char *exe = getenv("CSX_UHELPERD");
	struct stat st;
	int i;

	if (!exe || access(exe, X_OK)) {
		bench_log(
			"CSX_UHELPERD does not name the csx-uhelperd program");
		exit(1);
	}
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/csx-bench-XXXXXX");
	if (!mkdtemp(sock_dir)) {
		bench_log("mkdtemp: %s", strerror(errno));
		exit(1);
	}
	snprintf(sock_path, sizeof(sock_path), "%s/uhelperd.sock", sock_dir);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		execl(exe, exe, "--socket", sock_path, "--log-level", "warn",
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && stat(sock_path, &st); i++)
		bench_sleep_ns(10000000);
	if (stat(sock_path, &st)) {
		bench_log("csx-uhelperd did not start");
		exit(1);
	}
	setenv("CSX_UHELPERD_SOCKET", sock_path, 1);
}

static void daemon_stop(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	rmdir(sock_dir);
}

/* The exporting process: serves until its pipe to the parent closes. */
static void xserver(int cpu, int ready_fd, int hold_fd)
{
	struct csx_service *svc;
	char c = 'r';

	pin_process(cpu);
	if (csx_user_init() || csx_service_export(XSVC, 1, echo8, NULL, &svc)) {
		bench_log("server: cannot export %s", XSVC);
		_exit(1);
	}
	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	while (read(hold_fd, &c, 1) > 0)
		;
	csx_service_unexport(svc);
	csx_user_fini();
	_exit(0);
}

static double xcall_round_trips(struct csx_chan *chan, uint64_t n)
{
	unsigned char in[PAYLOAD], out[PAYLOAD];
	uint64_t t0, i;
	size_t len;

	memset(in, 0x5a, sizeof(in));
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		in[0] = (unsigned char)i;
		if (csx_call(chan, 1, in, sizeof(in), out, sizeof(out), &len,
			     CSX_WAIT_FOREVER) ||
		    len != sizeof(in) || out[0] != in[0]) {
			bench_log("cross-process call %llu failed",
				  (unsigned long long)i);
			exit(1);
		}
	}
	return (double)(bench_now_ns() - t0) / (double)n;
}

/* 1 MiB each way through a shared buffer: request at 0, response at BIG. */
static double xcall_big_round_trips(struct csx_chan *chan, struct csx_shbuf *sb,
				    uint64_t n)
{
	unsigned char *p = csx_shbuf_addr(sb);
	uint64_t t0, i;
	size_t len;

	memset(p, 0x5a, BIG);
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		p[0] = (unsigned char)i;
		if (csx_call_shbuf(chan, 1, sb, 0, BIG, BIG, BIG, &len,
				   CSX_WAIT_FOREVER) ||
		    len != BIG || p[BIG] != p[0]) {
			bench_log(
				"cross-process shared-buffer call %llu failed",
				(unsigned long long)i);
			exit(1);
		}
	}
	return (double)(bench_now_ns() - t0) / (double)n;
}

/* Full reads and writes of @len bytes on a stream socket. */
static int sp_io(int fd, void *buf, size_t len, bool rd)
{
	unsigned char *p = buf;
	ssize_t r;

	while (len) {
		r = rd ? read(fd, p, len) : write(fd, p, len);
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static void sp_server(int cpu, int fd, size_t size)
{
	unsigned char *buf = malloc(size);

	pin_process(cpu);
	while (buf && !sp_io(fd, buf, size, true) &&
	       !sp_io(fd, buf, size, false))
		;
	_exit(0);
}

static double sp_round_trips(int fd, uint64_t n, size_t size)
{
	unsigned char *in = malloc(size), *out = malloc(size);
	uint64_t t0, i;

	if (!in || !out)
		exit(1);
	memset(in, 0x5a, size);
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		in[0] = (unsigned char)i;
		if (sp_io(fd, in, size, false) || sp_io(fd, out, size, true) ||
		    out[0] != in[0]) {
			bench_log("socketpair round trip failed");
			exit(1);
		}
	}
	free(in);
	free(out);
	return (double)(bench_now_ns() - t0) / (double)n;
}

/* @big: 1 MiB each way, by shared buffer; otherwise PAYLOAD, copied. */
static void bench_cross(int srv_cpu, int cli_cpu, const char *name, bool big)
{
	unsigned int reps = bench_reps(), r;
	uint64_t n = bench_iters(big ? 400 : 20000);
	size_t size = big ? BIG : PAYLOAD;
	struct csx_shbuf *sb = NULL;
	int ready[2], hold[2], sp[2];
	double c[32], b[32];
	struct csx_chan *chan = NULL;
	pid_t csx_srv, sp_srv;
	char ch;
	int i, ret = -CSX_ENOENT;

	if (reps > 32)
		reps = 32;
	if (pipe(ready) || pipe(hold) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sp)) {
		bench_log("pipe/socketpair: %s", strerror(errno));
		exit(1);
	}
	csx_srv = fork();
	if (csx_srv == 0) {
		close(ready[0]);
		close(hold[1]);
		close(sp[0]);
		close(sp[1]);
		xserver(srv_cpu, ready[1], hold[0]);
	}
	sp_srv = fork();
	if (sp_srv == 0) {
		close(ready[0]);
		close(ready[1]);
		close(hold[1]);
		close(sp[0]);
		sp_server(srv_cpu, sp[1], size);
	}
	close(ready[1]);
	close(hold[0]);
	close(sp[1]);
	if (read(ready[0], &ch, 1) != 1) {
		bench_log("the server process failed");
		exit(1);
	}
	pin_process(cli_cpu);
	/* After the forks: a child must not inherit a running CSX. */
	if (csx_user_init()) {
		bench_log("csx_user_init() failed");
		exit(1);
	}
	for (i = 0; i < 200 && ret; i++) {
		ret = csx_open(XSVC, 1, &chan);
		if (ret)
			bench_sleep_ns(10000000);
	}
	if (ret) {
		bench_log("cannot open %s through csx-uhelperd: %s", XSVC,
			  csx_strerror(ret));
		exit(1);
	}
	if (big && csx_shbuf_alloc(chan, 2 * BIG, &sb)) {
		bench_log("cannot allocate a shared buffer for %s", XSVC);
		exit(1);
	}
	for (r = 0; r <= reps; r++) {
		/* Round 0 warms up and is not kept. */
		uint64_t k = r ? n : n / 10;
		double cr = big ? xcall_big_round_trips(chan, sb, k) :
				  xcall_round_trips(chan, k);
		double br = sp_round_trips(sp[0], k, size);

		if (r) {
			c[r - 1] = cr;
			b[r - 1] = br;
		}
	}
	csx_shbuf_free(sb);
	csx_close(chan);
	csx_user_fini();
	close(sp[0]);
	close(hold[1]);
	close(ready[0]);
	waitpid(csx_srv, NULL, 0);
	waitpid(sp_srv, NULL, 0);
	bench_unpin_self();
	{
		cpu_set_t all;
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		CPU_ZERO(&all);
		for (i = 0; i < cpus && i < CPU_SETSIZE; i++)
			CPU_SET(i, &all);
		sched_setaffinity(0, sizeof(all), &all);
	}
	if (big)
		bench_row(name, bench_median(c, reps), bench_median(b, reps),
			  "ns", BENCH_TIME, "-",
			  "csx_call_shbuf() round trip to another process, "
			  "1 MiB each way in a shared buffer, vs a socketpair "
			  "echo of 1 MiB; server CPU %d, client CPU %d",
			  srv_cpu, cli_cpu);
	else
		bench_row(
			name, bench_median(c, reps), bench_median(b, reps),
			"ns", BENCH_TIME, "ratio<=1.0",
			"csx_call() round trip to another process "
			"(shared-memory lane) vs a socketpair ping-pong, %d B "
			"each way; server CPU %d, client CPU %d",
			PAYLOAD, srv_cpu, cli_cpu);
}

int main(void)
{
	bench_watchdog(600);
	bench_in_process();
	daemon_start();
	bench_cross(BENCH_CPU_A, BENCH_CPU_A,
		    "call_user_to_user_same_cpu_vs_socketpair", false);
	bench_cross(BENCH_CPU_B, BENCH_CPU_A,
		    "call_user_to_user_cross_cpu_vs_socketpair", false);
	bench_cross(BENCH_CPU_A, BENCH_CPU_A,
		    "call_user_to_user_1mib_shbuf_vs_socketpair", true);
	daemon_stop();
	return 0;
}
