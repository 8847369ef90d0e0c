/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Services of other CSX processes through the user helper daemon
 * (csx-user/csx_os_uh.c, a real csx-uhelperd on a private socket).
 *
 * This process is the caller ("B"). Exporters ("A") are this same program
 * started again with --exporter (exec'd: a fresh process, not a fork of
 * one running CSX threads), driven by one command per line on stdin
 * and answering one line on stdout. An exporter that quits must exit 0:
 * under the sanitizers that also means no leak and no race on its side.
 *
 * The hostile_* tests play a misbehaving peer with raw protocol messages:
 * nothing it does may crash, hang or corrupt the real side.
 *
 * Only a generous hang guard is a timing criterion; the times the peer
 * death and restart take are printed, not asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <csx/csx.h>
#include <csx_user.h>

#include "../../helpers/include/csx_uh_msg.h"
#include "../../helpers/include/csx_uh_proto.h"

extern char **environ;

/* Operations of the exporter's service. */
enum {
	OP_ECHO = 1,  /* the request back */
	OP_SLEEP = 2, /* sleep (uint32_t ms in the request), answer nothing */
	OP_BLOCK = 3, /* hold the call until the process ends */
	OP_COUNT = 4, /* how many OP_BLOCK calls run now (uint32_t) */
};

#define MIB (1u << 20)
/* Hang guard: nothing here may take anywhere near this long. */
#define GUARD_NS (10 * CSX_NSEC_PER_SEC)

/* ---- The exporter process ------------------------------------------------ */

static uint32_t blocked;

static int service(void *ctx, uint32_t op, const void *in, size_t in_len,
		   void *out, size_t out_cap, size_t *out_len)
{
	uint32_t ms;
	int i;

	(void)ctx;
	switch (op) {
	case OP_ECHO:
		if (in_len > out_cap)
			return -CSX_EOVERFLOW;
		if (in_len)
			memcpy(out, in, in_len);
		*out_len = in_len;
		return 0;
	case OP_SLEEP:
		if (in_len != sizeof(ms))
			return -CSX_EINVAL;
		memcpy(&ms, in, sizeof(ms));
		csx_thread_sleep((uint64_t)ms * CSX_NSEC_PER_MSEC);
		return 0;
	case OP_BLOCK:
		__atomic_add_fetch(&blocked, 1, __ATOMIC_SEQ_CST);
		for (i = 0; i < 3000; i++) /* 30 s: the test kills us first */
			csx_thread_sleep(10 * CSX_NSEC_PER_MSEC);
		__atomic_sub_fetch(&blocked, 1, __ATOMIC_SEQ_CST);
		return 0;
	case OP_COUNT:
		if (out_cap < sizeof(uint32_t))
			return -CSX_EOVERFLOW;
		ms = __atomic_load_n(&blocked, __ATOMIC_SEQ_CST);
		memcpy(out, &ms, sizeof(ms));
		*out_len = sizeof(ms);
		return 0;
	}
	return -CSX_EOPNOTSUPP;
}

#define EXPORTS_MAX 8

/*
 * Commands: "export NAME VERSION SCOPE", "unexport NAME", "quit".
 * Answers: "ok STATUS".
 */
static int exporter_main(void)
{
	struct csx_service *svc[EXPORTS_MAX] = { 0 };
	char line[256], name[128], names[EXPORTS_MAX][128];
	unsigned int version, i;
	int scope, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (csx_user_init())
		return 2;
	while (fgets(line, sizeof(line), stdin)) {
		ret = -CSX_EINVAL;
		if (sscanf(line, "export %127s %u %d", name, &version,
			   &scope) == 3) {
			for (i = 0; i < EXPORTS_MAX && svc[i]; i++)
				;
			if (i < EXPORTS_MAX) {
				ret = csx_service_export_scope(
					name, version,
					(enum csx_service_scope)scope, service,
					NULL, &svc[i]);
				strcpy(names[i], name);
			}
		} else if (sscanf(line, "unexport %127s", name) == 1) {
			for (i = 0; i < EXPORTS_MAX; i++) {
				if (svc[i] && !strcmp(names[i], name)) {
					ret = csx_service_unexport(svc[i]);
					svc[i] = NULL;
					break;
				}
			}
		} else if (!strncmp(line, "quit", 4)) {
			break;
		}
		printf("ok %d\n", ret);
	}
	for (i = 0; i < EXPORTS_MAX; i++)
		csx_service_unexport(svc[i]);
	csx_user_fini();
	return 0;
}

/* ---- Helpers of the caller (this process) -------------------------------- */

struct proc {
	pid_t pid;
	FILE *in;  /* its stdin */
	FILE *out; /* its stdout */
};

static char sock_path[108];
static char tmp_dir[64];
static pid_t daemon_pid = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * CSX_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static const char *daemon_path(void)
{
	static char buf[4096];
	const char *p = getenv("CSX_UHELPERD");
	const char *top = getenv("top_builddir");

	if (p && *p)
		return p;
#ifdef CSX_TEST_UHELPERD
	if (access(CSX_TEST_UHELPERD, X_OK) == 0)
		return CSX_TEST_UHELPERD;
#endif
	if (top) {
		snprintf(buf, sizeof(buf), "%s/helpers/user/csx-uhelperd", top);
		if (access(buf, X_OK) == 0)
			return buf;
		snprintf(buf, sizeof(buf), "%s/csx-uhelperd", top);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

static bool daemon_listening(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	strcpy(sa.sun_path, sock_path);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ret == 0;
}

/*
 * fork + exec, the child killed if we die (a crashed test must not leave
 * a daemon or an exporter behind). Only async-signal-safe calls in the
 * child: we have threads. @in / @out: its stdin / stdout, or -1.
 */
static pid_t spawn(const char *path, char *const argv[], int in, int out)
{
	pid_t parent = getpid(), pid;

	pid = fork();
	if (pid)
		return pid;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);
	if ((in >= 0 && dup2(in, STDIN_FILENO) < 0) ||
	    (out >= 0 && dup2(out, STDOUT_FILENO) < 0))
		_exit(127);
	execve(path, argv, environ);
	_exit(127);
}

static void daemon_start(void)
{
	const char *path = daemon_path();
	char *argv[] = { (char *)path,	"--socket", sock_path,
			 "--log-level", "warn",	    NULL };
	uint64_t t0 = now_ns();

	assert_non_null(path);
	/* Its stdout is ours for nothing: keep it off a pipe we are read by. */
	daemon_pid = spawn(path, argv, -1, STDERR_FILENO);
	assert_true(daemon_pid > 0);
	while (!daemon_listening()) {
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(5000);
	}
}

static void daemon_kill(void)
{
	int status;

	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, &status, 0);
	daemon_pid = -1;
	unlink(sock_path); /* a killed daemon leaves its socket behind */
}

static void proc_spawn(struct proc *p)
{
	char *argv[] = { "/proc/self/exe", "--exporter", NULL };
	int to[2], from[2];

	assert_int_equal(pipe2(to, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from, O_CLOEXEC), 0);
	p->pid = spawn("/proc/self/exe", argv, to[0], from[1]);
	assert_true(p->pid > 0);
	close(to[0]);
	close(from[1]);
	p->in = fdopen(to[1], "w");
	p->out = fdopen(from[0], "r");
	assert_non_null(p->in);
	assert_non_null(p->out);
	setvbuf(p->in, NULL, _IOLBF, 0);
}

/* One command; the exporter's status. */
static int proc_cmd(struct proc *p, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vfprintf(p->in, fmt, ap);
	va_end(ap);
	fputc('\n', p->in);
	fflush(p->in);
	assert_non_null(fgets(line, sizeof(line), p->out));
	assert_int_equal(sscanf(line, "ok %d", &ret), 1);
	return ret;
}

static void proc_export(struct proc *p, const char *name, unsigned int ver,
			enum csx_service_scope scope)
{
	assert_int_equal(proc_cmd(p, "export %s %u %d", name, ver, (int)scope),
			 0);
}

/* Quit and check it exited 0 (sanitizers: no leak, no race there). */
static void proc_quit(struct proc *p)
{
	int status;

	fputs("quit\n", p->in);
	fclose(p->in);
	fclose(p->out);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("exporter: status 0x%x", status);
}

static void proc_kill(struct proc *p)
{
	int status;

	kill(p->pid, SIGKILL);
	fclose(p->in);
	fclose(p->out);
	waitpid(p->pid, &status, 0);
}

static int echo(struct csx_chan *ch, const void *in, size_t len, void *out,
		size_t cap, size_t *out_len)
{
	return csx_call(ch, OP_ECHO, in, len, out, cap, out_len,
			(int64_t)GUARD_NS);
}

static void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9));
}

/* ---- Fixtures ------------------------------------------------------------ */

static int setup_daemon(void **state)
{
	int ret;

	(void)state;
	daemon_start();
	ret = csx_user_init();
	if (getenv("UHT_DEBUG"))
		csx_log_set_level(CSX_LOG_DEBUG);
	return ret;
}

static void evil_stop(void);

static int teardown_daemon(void **state)
{
	(void)state;
	evil_stop();
	csx_user_fini();
	daemon_kill();
	return 0;
}

static int setup_no_daemon(void **state)
{
	(void)state;
	return csx_user_init();
}

static int teardown_no_daemon(void **state)
{
	(void)state;
	csx_user_fini();
	daemon_kill(); /* one a test started itself */
	return 0;
}

/* ---- Tests --------------------------------------------------------------- */

static void echo_across_processes(void **state)
{
	static const size_t sizes[] = { 0, 1, 63, 4096, 65537, MIB };
	unsigned char *in = malloc(MIB), *out = malloc(MIB);
	struct csx_chan *ch;
	struct proc a;
	size_t len, i;

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	proc_spawn(&a);
	proc_export(&a, "uht/echo", 3, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/echo", 2, &ch), 0);
	assert_int_equal(csx_chan_version(ch), 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(in, sizes[i], (unsigned int)i);
		memset(out, 0xee, MIB);
		len = 12345;
		assert_int_equal(echo(ch, in, sizes[i], out, MIB, &len), 0);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(in, out, sizes[i]);
		assert_int_equal(out[sizes[i] < MIB ? sizes[i] : 0],
				 sizes[i] < MIB ? 0xee : in[0]);
	}
	/* The handler's own status comes through unchanged. */
	assert_int_equal(echo(ch, in, 100, out, 99, &len), -CSX_EOVERFLOW);
	assert_int_equal(len, 0);
	assert_int_equal(
		csx_call(ch, 99, NULL, 0, NULL, 0, &len, (int64_t)GUARD_NS),
		-CSX_EOPNOTSUPP);
	csx_close(ch);
	proc_quit(&a);
	free(in);
	free(out);
}

#define THREADS 8
#define CALLS 500

struct worker {
	pthread_t tid;
	struct csx_chan *ch;
	unsigned int id;
	int bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned char in[5000], out[5000];
	size_t len, n;
	unsigned int i;
	int ret;

	for (i = 0; i < CALLS; i++) {
		n = (i * 37 + w->id * 101) % sizeof(in);
		fill(in, n, w->id * CALLS + i);
		ret = echo(w->ch, in, n, out, sizeof(out), &len);
		if (ret || len != n || memcmp(in, out, n)) {
			w->bad++;
			fprintf(stderr, "worker %u call %u: %d, %zu/%zu\n",
				w->id, i, ret, len, n);
		}
	}
	return NULL;
}

static void concurrent_calls(void **state)
{
	struct worker w[THREADS];
	struct csx_chan *ch;
	struct proc a;
	unsigned int i;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/echo", 1, CSX_SERVICE_PUBLIC);
	assert_int_equal(csx_open("uht/echo", 1, &ch), 0);
	for (i = 0; i < THREADS; i++) {
		w[i].ch = ch;
		w[i].id = i;
		w[i].bad = 0;
		assert_int_equal(
			pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(w[i].tid, NULL);
		assert_int_equal(w[i].bad, 0);
	}
	csx_close(ch);
	proc_quit(&a);
}

static void open_refusals(void **state)
{
	struct csx_chan *ch = (struct csx_chan *)1;
	struct csx_service *svc;
	struct proc a;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/old", 2, CSX_SERVICE_USER);
	proc_export(&a, "uht/private", 1, CSX_SERVICE_PRIVATE);
	assert_int_equal(csx_open("uht/old", 3, &ch), -CSX_EPROTO);
	assert_null(ch);
	assert_int_equal(csx_open("uht/nosuch", 0, &ch), -CSX_ENOENT);
	assert_int_equal(csx_open("uht/private", 0, &ch), -CSX_ENOENT);
	/* Taken by another process: the export fails here. */
	assert_int_equal(csx_service_export("uht/old", 1, service, NULL, &svc),
			 -CSX_EEXIST);
	assert_null(svc);
	/* Their private name is free for us; then ours is taken for them. */
	assert_int_equal(
		csx_service_export("uht/private", 1, service, NULL, &svc), 0);
	assert_int_equal(proc_cmd(&a, "export uht/ours 1 1"), 0);
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(csx_service_export("uht/ours", 1, service, NULL, &svc),
			 -CSX_EEXIST);
	/* Withdrawn there: the name is free for us at once. */
	assert_int_equal(proc_cmd(&a, "unexport uht/ours"), 0);
	assert_int_equal(csx_service_export("uht/ours", 1, service, NULL, &svc),
			 0);
	assert_int_equal(proc_cmd(&a, "export uht/ours 1 1"), -CSX_EEXIST);
	assert_int_equal(csx_service_unexport(svc), 0);
	proc_quit(&a);
}

static void no_daemon_is_enoent(void **state)
{
	struct csx_chan *ch;
	struct csx_service *svc;

	(void)state;
	assert_int_equal(csx_open("uht/echo", 0, &ch), -CSX_ENOENT);
	/* Exported anyway: in-process only, until a daemon comes. */
	assert_int_equal(
		csx_service_export("uht/lonely", 1, service, NULL, &svc), 0);
	assert_int_equal(csx_open("uht/lonely", 0, &ch), 0);
	csx_close(ch);
	assert_int_equal(csx_service_unexport(svc), 0);
}

static void timeout_keeps_channel(void **state)
{
	uint32_t ms = 500;
	unsigned char in[100], out[100];
	struct csx_chan *ch;
	struct proc a;
	size_t len;
	int i;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/slow", 1, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/slow", 0, &ch), 0);
	assert_int_equal(csx_call(ch, OP_SLEEP, &ms, sizeof(ms), NULL, 0, &len,
				  50 * (int64_t)CSX_NSEC_PER_MSEC),
			 -CSX_ETIMEDOUT);
	/* Right away, while the handler still runs, and once it is done. */
	fill(in, sizeof(in), 7);
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_memory_equal(in, out, sizeof(in));
	usleep(600 * 1000);
	for (i = 0; i < 50; i++) {
		fill(in, sizeof(in), (unsigned int)i);
		assert_int_equal(
			echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
		assert_int_equal(len, sizeof(in));
		assert_memory_equal(in, out, sizeof(in));
	}
	ms = 1;
	assert_int_equal(csx_call(ch, OP_SLEEP, &ms, sizeof(ms), NULL, 0, &len,
				  (int64_t)GUARD_NS),
			 0);
	csx_close(ch);
	proc_quit(&a);
}

#define BLOCKERS 4

struct blocker {
	pthread_t tid;
	struct csx_chan *ch;
	int ret;
	uint64_t done_ns;
};

static void *blocker_main(void *arg)
{
	struct blocker *b = arg;
	size_t len;

	b->ret = csx_call(b->ch, OP_BLOCK, NULL, 0, NULL, 0, &len,
			  CSX_WAIT_FOREVER);
	__atomic_store_n(&b->done_ns, now_ns(), __ATOMIC_RELEASE);
	return NULL;
}

/* csx_chan_watch() of the peer death test. */
static sem_t gone_sem;
static unsigned int gone_count;

static void on_gone(void *ctx)
{
	__atomic_add_fetch(&gone_count, 1, __ATOMIC_SEQ_CST);
	sem_post(ctx);
}

static void peer_death_fails_calls(void **state)
{
	struct blocker b[BLOCKERS];
	struct csx_chan *ch;
	struct timespec ts;
	uint64_t t0, worst = 0;
	uint32_t n = 0;
	struct proc a;
	unsigned int i;
	size_t len;

	(void)state;
	sem_init(&gone_sem, 0, 0);
	proc_spawn(&a);
	proc_export(&a, "uht/victim", 1, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/victim", 0, &ch), 0);
	/* A death notice, besides the failed calls. */
	assert_int_equal(csx_chan_watch(ch, on_gone, &gone_sem), 0);
	for (i = 0; i < BLOCKERS; i++) {
		b[i].ch = ch;
		b[i].done_ns = 0;
		assert_int_equal(
			pthread_create(&b[i].tid, NULL, blocker_main, &b[i]),
			0);
	}
	/* Until every call is inside the exporter's handler. */
	t0 = now_ns();
	while (n != BLOCKERS) {
		assert_true(now_ns() - t0 < GUARD_NS);
		assert_int_equal(csx_call(ch, OP_COUNT, NULL, 0, &n, sizeof(n),
					  &len, (int64_t)GUARD_NS),
				 0);
		if (n != BLOCKERS)
			usleep(2000);
	}
	t0 = now_ns();
	proc_kill(&a);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += GUARD_NS / CSX_NSEC_PER_SEC;
	for (i = 0; i < BLOCKERS; i++) {
		assert_int_equal(pthread_timedjoin_np(b[i].tid, NULL, &ts), 0);
		assert_int_equal(b[i].ret, -CSX_EPEERDIED);
		if (b[i].done_ns - t0 > worst)
			worst = b[i].done_ns - t0;
	}
	printf("peer death: %u calls failed within %.1f ms\n", BLOCKERS,
	       (double)worst / 1e6);
	assert_int_equal(sem_timedwait(&gone_sem, &ts), 0);
	assert_int_equal(__atomic_load_n(&gone_count, __ATOMIC_SEQ_CST), 1);
	/* The channel stays dead; closing it is still right. */
	assert_int_equal(csx_call(ch, OP_COUNT, NULL, 0, &n, sizeof(n), &len,
				  (int64_t)GUARD_NS),
			 -CSX_EPEERDIED);
	csx_close(ch);
}

static void daemon_restart(void **state)
{
	unsigned char in[64], out[64];
	struct csx_chan *ch, *ch2;
	uint64_t t0;
	struct proc a;
	size_t len;
	int ret;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/durable", 5, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/durable", 5, &ch), 0);
	fill(in, sizeof(in), 1);
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);

	daemon_kill();
	/* Channels are direct between the processes: unaffected. */
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(csx_open("uht/durable", 0, &ch2), -CSX_ENOENT);

	daemon_start();
	t0 = now_ns();
	while ((ret = csx_open("uht/durable", 5, &ch2)) == -CSX_ENOENT) {
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(20 * 1000);
	}
	assert_int_equal(ret, 0);
	printf("daemon restart: the exporter was back after %.0f ms\n",
	       (double)(now_ns() - t0) / 1e6);
	fill(in, sizeof(in), 2);
	assert_int_equal(echo(ch2, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
	csx_close(ch2);
	csx_close(ch);
	proc_quit(&a);
}

static void exporter_started_first(void **state)
{
	unsigned char in[8] = "early", out[8];
	struct csx_chan *ch;
	uint64_t t0;
	struct proc a;
	size_t len;
	int ret;

	(void)state;
	/* Teardown of the fixture starts no daemon: we do, later. */
	proc_spawn(&a);
	proc_export(&a, "uht/early", 1, CSX_SERVICE_USER);
	daemon_start();
	t0 = now_ns();
	while ((ret = csx_open("uht/early", 0, &ch)) == -CSX_ENOENT) {
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(20 * 1000);
	}
	assert_int_equal(ret, 0);
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_memory_equal(in, out, sizeof(in));
	csx_close(ch);
	proc_quit(&a);
}

static void unexport_fails_next_call(void **state)
{
	unsigned char in[16] = "still there?", out[16];
	struct csx_chan *ch;
	struct proc a;
	size_t len;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/going", 1, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/going", 0, &ch), 0);
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_int_equal(proc_cmd(&a, "unexport uht/going"), 0);
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len),
			 -CSX_EPEERDIED);
	csx_close(ch);
	assert_int_equal(csx_open("uht/going", 0, &ch), -CSX_ENOENT);
	/* The name is free again, for anyone. */
	proc_export(&a, "uht/going", 2, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/going", 2, &ch), 0);
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
	csx_close(ch);
	proc_quit(&a);
}

/* ---- Hostile peers: raw protocol ---------------------------------------- */

static void raw_hdr(struct csx_uh_hdr *h, uint16_t type, size_t len,
		    uint32_t seq)
{
	h->magic = CSX_UH_MAGIC;
	h->version = CSX_UH_PROTO_VERSION;
	h->type = type;
	h->len = (uint32_t)len;
	h->seq = seq;
}

/* Send @buf with @nfds descriptors from @fds. */
static void raw_send(int fd, const void *buf, size_t len, const int *fds,
		     unsigned int nfds)
{
	assert_int_equal(csx_uh_msg_send(fd, buf, len, fds, nfds, 0), 0);
}

/* One message, now; its descriptor (or -1) in *fdp. No cmocka asserts:
 * the hostile exporter's thread uses it too. */
static ssize_t raw_recv_now(int fd, void *buf, size_t cap, int *fdp)
{
	unsigned int nfds;
	int fd1 = -1;
	ssize_t n;

	n = csx_uh_msg_recv(fd, buf, cap, &fd1, 1, &nfds, MSG_DONTWAIT, NULL);
	if (fdp)
		*fdp = nfds ? fd1 : -1;
	else if (nfds)
		close(fd1);
	return n;
}

/* One message, waited for up to the guard. */
static ssize_t raw_recv(int fd, void *buf, size_t cap, int *fdp)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, (int)(GUARD_NS / CSX_NSEC_PER_MSEC)), 1);
	return raw_recv_now(fd, buf, cap, fdp);
}

/* A raw connection to the daemon, registered. */
static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct csx_uh_hello h;
	struct csx_uh_reply r;
	int fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	memset(&h, 0, sizeof(h));
	raw_hdr(&h.hdr, CSX_UH_HELLO, sizeof(h), 1);
	h.proto = CSX_UH_PROTO_VERSION;
	strcpy(h.name, "hostile");
	raw_send(fd, &h, sizeof(h), NULL, 0);
	assert_int_equal(raw_recv(fd, &r, sizeof(r), NULL), sizeof(r));
	assert_int_equal(r.status, 0);
	return fd;
}

/* OPEN through the raw connection: the channel socket. */
static int raw_open(int dfd, const char *name)
{
	struct csx_uh_open o;
	struct csx_uh_reply r;
	int fd;

	memset(&o, 0, sizeof(o));
	raw_hdr(&o.hdr, CSX_UH_OPEN, sizeof(o), 2);
	strcpy(o.name, name);
	raw_send(dfd, &o, sizeof(o), NULL, 0);
	assert_int_equal(raw_recv(dfd, &r, sizeof(r), &fd), sizeof(r));
	assert_int_equal(r.status, 0);
	assert_true(fd >= 0);
	return fd;
}

/* A lane memfd, sealed against shrinking or not. */
static int raw_lane_fd(bool sealed)
{
	int fd = memfd_create("hostile-lane", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, CSX_UH_LANE_SIZE), 0);
	if (sealed)
		assert_int_equal(
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

static void raw_lane_add(int ch, int lane_fd, unsigned int nfds, uint64_t size)
{
	struct csx_uh_lane_add m;
	int fds[2] = { lane_fd, lane_fd };

	memset(&m, 0, sizeof(m));
	raw_hdr(&m.hdr, CSX_UH_LANE_ADD, sizeof(m), 0);
	m.size = size;
	raw_send(ch, &m, sizeof(m), fds, nfds);
}

static struct csx_uh_lane *raw_map(int fd)
{
	void *p = mmap(NULL, CSX_UH_LANE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static void raw_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
}

/* The exporter ended the channel: we see its hang-up. */
static void raw_expect_hangup(int ch)
{
	char buf[64];

	assert_int_equal(raw_recv(ch, buf, sizeof(buf), NULL), 0);
	close(ch);
}

/* A misbehaving caller cannot hurt the exporter or its other channels. */
static void hostile_caller(void **state)
{
	unsigned char in[32] = "real caller", out[32];
	struct csx_uh_lane *l;
	struct csx_chan *real;
	uint32_t st;
	uint64_t t0;
	struct proc a;
	int dfd, ch, lfd;
	size_t len;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/echo", 1, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/echo", 0, &real), 0);
	assert_int_equal(echo(real, in, sizeof(in), out, sizeof(out), &len), 0);
	dfd = raw_connect();

	/* A lane that could shrink under the exporter. */
	ch = raw_open(dfd, "uht/echo");
	lfd = raw_lane_fd(false);
	raw_lane_add(ch, lfd, 1, CSX_UH_LANE_SIZE);
	close(lfd);
	raw_expect_hangup(ch);

	/* Two descriptors; the wrong size; no descriptor. */
	ch = raw_open(dfd, "uht/echo");
	lfd = raw_lane_fd(true);
	raw_lane_add(ch, lfd, 2, CSX_UH_LANE_SIZE);
	raw_expect_hangup(ch);
	ch = raw_open(dfd, "uht/echo");
	raw_lane_add(ch, lfd, 1, CSX_UH_LANE_SIZE / 2);
	raw_expect_hangup(ch);
	ch = raw_open(dfd, "uht/echo");
	raw_lane_add(ch, -1, 0, CSX_UH_LANE_SIZE);
	raw_expect_hangup(ch);
	close(lfd);

	/* A state outside the protocol. */
	ch = raw_open(dfd, "uht/echo");
	lfd = raw_lane_fd(true);
	l = raw_map(lfd);
	raw_lane_add(ch, lfd, 1, CSX_UH_LANE_SIZE);
	close(lfd);
	__atomic_store_n(&l->state, 77, __ATOMIC_SEQ_CST);
	raw_wake(&l->state);
	raw_expect_hangup(ch);
	munmap(l, CSX_UH_LANE_SIZE);

	/* A request larger than the lane. */
	ch = raw_open(dfd, "uht/echo");
	lfd = raw_lane_fd(true);
	l = raw_map(lfd);
	raw_lane_add(ch, lfd, 1, CSX_UH_LANE_SIZE);
	close(lfd);
	l->op = OP_ECHO;
	l->in_len = UINT32_MAX;
	l->out_cap = 16;
	l->seq = 1;
	__atomic_store_n(&l->state, CSX_UH_LANE_REQ, __ATOMIC_SEQ_CST);
	raw_wake(&l->state);
	raw_expect_hangup(ch);
	munmap(l, CSX_UH_LANE_SIZE);

	/* By the book: served, then our hang-up ends the channel there. */
	ch = raw_open(dfd, "uht/echo");
	lfd = raw_lane_fd(true);
	l = raw_map(lfd);
	raw_lane_add(ch, lfd, 1, CSX_UH_LANE_SIZE);
	close(lfd);
	memcpy((char *)l + CSX_UH_LANE_IN_OFF, "raw", 3);
	l->op = OP_ECHO;
	l->in_len = 3;
	l->out_cap = 16;
	l->seq = 41;
	__atomic_store_n(&l->state, CSX_UH_LANE_REQ, __ATOMIC_SEQ_CST);
	raw_wake(&l->state);
	t0 = now_ns();
	while ((st = __atomic_load_n(&l->state, __ATOMIC_SEQ_CST)) !=
	       CSX_UH_LANE_RESP) {
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(200);
	}
	assert_int_equal(l->status, 0);
	assert_int_equal(l->out_len, 3);
	assert_int_equal(l->done_seq, 41);
	assert_memory_equal((char *)l + CSX_UH_LANE_OUT_OFF, "raw", 3);
	close(ch);
	munmap(l, CSX_UH_LANE_SIZE);
	close(dfd);

	/* The real caller never noticed. */
	assert_int_equal(echo(real, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_memory_equal(in, out, sizeof(in));
	csx_close(real);
	proc_quit(&a); /* exit 0: nothing leaked or crashed there */
}

/* What the hostile exporter does with a request, by operation. */
enum {
	EVIL_OK = 10,	    /* echo, correctly */
	EVIL_TOO_LONG = 11, /* a response longer than the caller's buffer */
	EVIL_OLD_SEQ = 12,  /* the answer to another request */
	EVIL_GARBAGE = 13,  /* a state outside the protocol */
	EVIL_IDLE = 14,	    /* back to IDLE without answering */
	EVIL_STALL = 15,    /* take it, never answer */
	EVIL_HANGUP = 16,   /* take it, then close the channel */
};

#define EVIL_CHANS 4
#define EVIL_LANES (EVIL_CHANS * CSX_UH_LANES_MAX + 8)

struct evil {
	pthread_t tid;
	int dfd;
	bool stop;
	int chans[EVIL_CHANS];
	unsigned int nchans;
	unsigned int adds[EVIL_CHANS]; /* LANE_ADDs per channel */
	struct {
		struct csx_uh_lane *l;
		unsigned int chan;
	} lanes[EVIL_LANES];
	unsigned int nlanes;
	uint64_t hangup_at; /* close channel hangup_chan then */
	unsigned int hangup_chan;
};

static void evil_poll_sockets(struct evil *e)
{
	struct pollfd pfd[EVIL_CHANS + 1];
	union {
		struct csx_uh_connect c;
		struct csx_uh_lane_add a;
		char raw[256];
	} m;
	unsigned int i, polled = e->nchans;
	ssize_t n;
	int fd;

	pfd[0].fd = e->dfd;
	pfd[0].events = POLLIN;
	for (i = 0; i < polled; i++) {
		pfd[i + 1].fd = e->chans[i];
		pfd[i + 1].events = POLLIN;
	}
	if (poll(pfd, polled + 1, 1) <= 0)
		return;
	if (pfd[0].revents & POLLIN) {
		n = raw_recv_now(e->dfd, &m, sizeof(m), &fd);
		if (n == sizeof(m.c) && m.c.hdr.type == CSX_UH_CONNECT &&
		    e->nchans < EVIL_CHANS)
			e->chans[e->nchans++] = fd;
		else if (fd >= 0)
			close(fd);
	}
	for (i = 0; i < polled; i++) {
		if (e->chans[i] < 0 || !(pfd[i + 1].revents & POLLIN))
			continue;
		n = raw_recv_now(e->chans[i], &m, sizeof(m), &fd);
		if (n <= 0) {
			close(e->chans[i]);
			e->chans[i] = -1;
			continue;
		}
		__atomic_add_fetch(&e->adds[i], 1, __ATOMIC_RELAXED);
		if (fd >= 0 && e->nlanes < EVIL_LANES) {
			void *p =
				mmap(NULL, CSX_UH_LANE_SIZE,
				     PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

			if (p != MAP_FAILED) {
				e->lanes[e->nlanes].l = p;
				e->lanes[e->nlanes++].chan = i;
			}
		}
		if (fd >= 0)
			close(fd);
	}
}

static void evil_serve(struct evil *e, struct csx_uh_lane *l, unsigned int c)
{
	uint32_t in_len = l->in_len, busy = CSX_UH_LANE_REQ;

	if (!__atomic_compare_exchange_n(&l->state, &busy, CSX_UH_LANE_BUSY,
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	l->status = 0;
	l->done_seq = l->seq;
	l->out_len = in_len <= l->out_cap ? in_len : 0;
	memcpy((char *)l + CSX_UH_LANE_OUT_OFF, (char *)l + CSX_UH_LANE_IN_OFF,
	       l->out_len);
	switch (l->op) {
	case EVIL_TOO_LONG:
		l->out_len = l->out_cap + 1;
		break;
	case EVIL_OLD_SEQ:
		l->done_seq = l->seq - 1;
		break;
	case EVIL_GARBAGE:
		__atomic_store_n(&l->state, 99, __ATOMIC_SEQ_CST);
		raw_wake(&l->state);
		return;
	case EVIL_IDLE:
		__atomic_store_n(&l->state, CSX_UH_LANE_IDLE, __ATOMIC_SEQ_CST);
		raw_wake(&l->state);
		return;
	case EVIL_STALL:
		return;
	case EVIL_HANGUP:
		e->hangup_chan = c;
		e->hangup_at = now_ns() + 50 * CSX_NSEC_PER_MSEC;
		return;
	}
	__atomic_store_n(&l->state, CSX_UH_LANE_RESP, __ATOMIC_SEQ_CST);
	raw_wake(&l->state);
}

static void *evil_main(void *arg)
{
	struct evil *e = arg;
	unsigned int i;

	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		evil_poll_sockets(e);
		for (i = 0; i < e->nlanes; i++) {
			if (__atomic_load_n(&e->lanes[i].l->state,
					    __ATOMIC_SEQ_CST) ==
			    CSX_UH_LANE_REQ)
				evil_serve(e, e->lanes[i].l, e->lanes[i].chan);
		}
		if (e->hangup_at && now_ns() >= e->hangup_at) {
			close(e->chans[e->hangup_chan]);
			e->chans[e->hangup_chan] = -1;
			e->hangup_at = 0;
		}
	}
	return NULL;
}

static int evil_call(struct csx_chan *ch, uint32_t op, int64_t timeout)
{
	unsigned char in[16] = "evil?", out[16];
	size_t len = 99;
	int ret;

	ret = csx_call(ch, op, in, sizeof(in), out, sizeof(out), &len, timeout);
	if (ret == 0 && (len != sizeof(in) || memcmp(in, out, len)))
		ret = -1000; /* a wrong answer, passed as right */
	if (ret && len)
		ret = -1001; /* a failed call must not claim bytes */
	return ret;
}

/* Global, so the fixture stops it even when an assertion ends the test. */
static struct evil evil;
static bool evil_running;

static void evil_stop(void)
{
	unsigned int i;

	if (!evil_running)
		return;
	__atomic_store_n(&evil.stop, true, __ATOMIC_RELEASE);
	pthread_join(evil.tid, NULL);
	evil_running = false;
	for (i = 0; i < evil.nchans; i++) {
		if (evil.chans[i] >= 0)
			close(evil.chans[i]);
	}
	for (i = 0; i < evil.nlanes; i++)
		munmap(evil.lanes[i].l, CSX_UH_LANE_SIZE);
	close(evil.dfd);
}

struct evil_hangup {
	struct csx_chan *ch;
	int ret;
};

static void *evil_hangup_main(void *arg)
{
	struct evil_hangup *h = arg;

	h->ret = evil_call(h->ch, EVIL_HANGUP, CSX_WAIT_FOREVER);
	return NULL;
}

/* A misbehaving exporter gets errors, never wrong data or a hang. */
static void hostile_exporter(void **state)
{
	const int64_t guard = (int64_t)GUARD_NS;
	struct csx_chan *c1, *c2;
	struct evil_hangup h;
	struct csx_uh_export x;
	pthread_t htid;
	struct csx_uh_reply r;
	struct evil *e = &evil;
	struct timespec ts;
	unsigned int i;

	(void)state;
	memset(e, 0, sizeof(*e));
	e->dfd = raw_connect();
	memset(&x, 0, sizeof(x));
	raw_hdr(&x.hdr, CSX_UH_EXPORT, sizeof(x), 2);
	x.version = 1;
	x.scope = CSX_UH_SCOPE_USER;
	strcpy(x.name, "uht/evil");
	raw_send(e->dfd, &x, sizeof(x), NULL, 0);
	assert_int_equal(raw_recv(e->dfd, &r, sizeof(r), NULL), sizeof(r));
	assert_int_equal(r.status, 0);
	assert_int_equal(pthread_create(&e->tid, NULL, evil_main, e), 0);
	evil_running = true;

	assert_int_equal(csx_open("uht/evil", 0, &c1), 0);
	assert_int_equal(evil_call(c1, EVIL_OK, guard), 0);
	assert_int_equal(evil_call(c1, EVIL_TOO_LONG, guard), -CSX_EIO);
	assert_int_equal(evil_call(c1, EVIL_OK, guard), 0);
	assert_int_equal(evil_call(c1, EVIL_OLD_SEQ, guard), -CSX_EIO);
	assert_int_equal(evil_call(c1, EVIL_GARBAGE, guard), -CSX_EIO);
	assert_int_equal(evil_call(c1, EVIL_IDLE, guard), -CSX_EIO);
	assert_int_equal(evil_call(c1, EVIL_OK, guard), 0);
	assert_int_equal(
		evil_call(c1, EVIL_STALL, 100 * (int64_t)CSX_NSEC_PER_MSEC),
		-CSX_ETIMEDOUT);
	assert_int_equal(evil_call(c1, EVIL_OK, guard), 0);

	/* Every lane broken: calls fail at once, none waits for a lane. */
	assert_int_equal(csx_open("uht/evil", 0, &c2), 0);
	for (i = 0; i < CSX_UH_LANES_MAX + 4; i++)
		assert_int_equal(evil_call(c2, EVIL_TOO_LONG, guard), -CSX_EIO);
	assert_int_equal(evil_call(c2, EVIL_OK, guard), -CSX_EIO);
	assert_int_equal(__atomic_load_n(&e->adds[1], __ATOMIC_RELAXED),
			 CSX_UH_LANES_MAX);

	/* A hang-up fails a call that would wait forever. */
	h.ch = c1;
	assert_int_equal(pthread_create(&htid, NULL, evil_hangup_main, &h), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += GUARD_NS / CSX_NSEC_PER_SEC;
	assert_int_equal(pthread_timedjoin_np(htid, NULL, &ts), 0);
	assert_int_equal(h.ret, -CSX_EPEERDIED);
	assert_int_equal(evil_call(c1, EVIL_OK, guard), -CSX_EPEERDIED);
	csx_close(c1);
	csx_close(c2);
	evil_stop();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(echo_across_processes,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(concurrent_calls, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(open_refusals, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(no_daemon_is_enoent,
						setup_no_daemon,
						teardown_no_daemon),
		cmocka_unit_test_setup_teardown(timeout_keeps_channel,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(peer_death_fails_calls,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(daemon_restart, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(exporter_started_first,
						setup_no_daemon,
						teardown_no_daemon),
		cmocka_unit_test_setup_teardown(unexport_fails_next_call,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(hostile_caller, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(hostile_exporter, setup_daemon,
						teardown_daemon),
	};
	int ret;

	if (argc > 1 && !strcmp(argv[1], "--exporter"))
		return exporter_main();
	if (!daemon_path()) {
		fprintf(stderr,
			"test_uh: no csx-uhelperd (set CSX_UHELPERD)\n");
		return 77; /* skipped */
	}
	/* Our own daemon on our own socket; children inherit the variable. */
	strcpy(tmp_dir, "/tmp/csx-test-uh-XXXXXX");
	if (!mkdtemp(tmp_dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/uhelperd.sock", tmp_dir);
	setenv("CSX_UHELPERD_SOCKET", sock_path, 1);
	signal(SIGPIPE, SIG_DFL); /* a stray SIGPIPE must show, not hide */
	alarm(600);		  /* hang guard for the whole run */
	if (getenv("UHT_FILTER")) /* e.g. UHT_FILTER=hostile_* */
		cmocka_set_test_filter(getenv("UHT_FILTER"));
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	daemon_kill();
	rmdir(tmp_dir);
	return ret;
}
