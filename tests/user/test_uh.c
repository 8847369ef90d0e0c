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
 * The state_* tests keep saved state (csx_state.h) across processes: the
 * daemon's key for a process it did not start is its uid and HELLO name,
 * so exporters that share a saved state are started under one name
 * (argv[0]). The recovery tests kill an exporter and start another copy:
 * the caller's channel re-opens (csx_chan_set_recovery()) and re-issues
 * the idempotent calls that were pending.
 *
 * The shbuf_* tests pass payloads in shared buffers (csx_call_shbuf()):
 * what the exporter maps is read from its /proc/PID/maps (the memfds are
 * named "csx-shbuf").
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <csx/csx.h>
#include <csx/csx_os.h>
#include <csx_user.h>

#include "../../helpers/include/csx_uh_msg.h"
#include "../../helpers/include/csx_uh_proto.h"
/* The shared-buffer messages (to move to csx_uh_proto.h). */
#include "../../csx-user/csx_uh.h"

extern char **environ;

/* Operations of the exporter's service. */
enum {
	OP_ECHO = 1,  /* the request back */
	OP_SLEEP = 2, /* sleep (uint32_t ms in the request), answer nothing */
	OP_BLOCK = 3, /* hold the call until the process ends */
	OP_COUNT =
		4, /* how many OP_BLOCK and OP_HOLD calls run now (uint32_t) */
	OP_HOLD = 5, /* wait while "hold 1" is in force; answer the pid */
	OP_PID = 6,  /* answer the exporter's pid (uint32_t) */
	OP_XOR = 7,  /* the request, each byte ^ 0x5a (in place if it is) */
};

#define MIB (1u << 20)
/* Hang guard: nothing here may take anywhere near this long. */
#define GUARD_NS (10 * CSX_NSEC_PER_SEC)

/* ---- The exporter process ------------------------------------------------ */

static uint32_t blocked;
static uint32_t hold_on; /* "hold N" */

/* The pid into a response. */
static int answer_pid(void *out, size_t out_cap, size_t *out_len)
{
	uint32_t pid = (uint32_t)getpid();

	if (out_cap < sizeof(pid))
		return -CSX_EOVERFLOW;
	memcpy(out, &pid, sizeof(pid));
	*out_len = sizeof(pid);
	return 0;
}

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
	case OP_HOLD:
		__atomic_add_fetch(&blocked, 1, __ATOMIC_SEQ_CST);
		for (i = 0;
		     i < 3000 && __atomic_load_n(&hold_on, __ATOMIC_SEQ_CST);
		     i++)
			csx_thread_sleep(10 * CSX_NSEC_PER_MSEC);
		__atomic_sub_fetch(&blocked, 1, __ATOMIC_SEQ_CST);
		return answer_pid(out, out_cap, out_len);
	case OP_PID:
		return answer_pid(out, out_cap, out_len);
	case OP_XOR: {
		const unsigned char *src = in;
		unsigned char *dst = out;
		size_t k;

		if (in_len > out_cap)
			return -CSX_EOVERFLOW;
		/* Byte by byte: the windows may be one (in place). */
		for (k = 0; k < in_len; k++)
			dst[k] = src[k] ^ 0x5a;
		*out_len = in_len;
		return 0;
	}
	}
	return -CSX_EOPNOTSUPP;
}

#define EXPORTS_MAX 8

static struct {
	struct csx_service *svc[EXPORTS_MAX];
	char names[EXPORTS_MAX][128];
	struct csx_state *st;
} ex;

/* "export NAME VERSION SCOPE [IDEMPOTENT-MASK-HEX]" */
static int ex_export(const char *line)
{
	struct csx_service_opts opts = { 0 };
	unsigned long long mask;
	unsigned int version, i;
	char name[128];
	int scope, n;

	n = sscanf(line, "export %127s %u %d %llx", name, &version, &scope,
		   &mask);
	if (n < 3)
		return -CSX_EINVAL;
	for (i = 0; i < EXPORTS_MAX && ex.svc[i]; i++)
		;
	if (i == EXPORTS_MAX)
		return -CSX_ENOSPC;
	opts.scope = (enum csx_service_scope)scope;
	opts.idempotent = n == 4 ? (uint64_t)mask : 0;
	strcpy(ex.names[i], name);
	return csx_service_export_opts(name, version, &opts, service, NULL,
				       &ex.svc[i]);
}

static int ex_unexport(const char *name)
{
	unsigned int i;
	int ret;

	for (i = 0; i < EXPORTS_MAX; i++) {
		if (ex.svc[i] && !strcmp(ex.names[i], name)) {
			ret = csx_service_unexport(ex.svc[i]);
			ex.svc[i] = NULL;
			return ret;
		}
	}
	return -CSX_ENOENT;
}

/* "state-open NAME SIZE": answers "ok STATUS ORIGIN VALUE GENERATION". */
static void ex_state_open(const char *line)
{
	unsigned long long value = 0, gen = 0;
	char name[128];
	size_t size;
	int ret = -CSX_EINVAL, origin = -1;

	if (!ex.st && sscanf(line, "state-open %127s %zu", name, &size) == 2)
		ret = csx_state_open(name, 1, size, &ex.st);
	if (!ret) {
		origin = (int)csx_state_origin(ex.st);
		memcpy(&value, csx_state_data(ex.st), sizeof(value));
		gen = csx_state_generation(ex.st);
	}
	printf("ok %d %d %llu %llu\n", ret, origin, value, gen);
}

/* "state-set VALUE": the first 8 bytes of the data, committed. */
static int ex_state_set(const char *line)
{
	unsigned long long value;

	if (!ex.st || sscanf(line, "state-set %llu", &value) != 1)
		return -CSX_EINVAL;
	memcpy(csx_state_data(ex.st), &value, sizeof(value));
	return csx_state_commit(ex.st);
}

/*
 * A copy may also be a caller, with channels of its own (the quota tests:
 * a caller process other than the test's).
 */
#define CALLER_CHANS 400

static struct csx_chan *cc[CALLER_CHANS];
static unsigned int ncc;

/* "open NAME N": N more channels; the first failure stops. */
static int cl_open(const char *line)
{
	unsigned int n, i;
	char name[128];
	int ret = 0;

	if (sscanf(line, "open %127s %u", name, &n) != 2 ||
	    n > CALLER_CHANS - ncc)
		return -CSX_EINVAL;
	for (i = 0; i < n && !ret; i++) {
		ret = csx_open(name, 0, &cc[ncc]);
		if (!ret)
			ncc++;
	}
	return ret;
}

/*
 * "call FROM TO": one echo on each open channel of [FROM, TO), one at a
 * time. Answers "ok STATUS DONE": the first failure (0: none), and how
 * many calls succeeded.
 */
static void cl_call(const char *line)
{
	unsigned char in[8] = "quota", out[8];
	unsigned int from, to, i, done = 0;
	int ret = -CSX_EINVAL, r;
	size_t len;

	if (sscanf(line, "call %u %u", &from, &to) == 2 && from <= to &&
	    to <= ncc) {
		ret = 0;
		for (i = from; i < to; i++) {
			if (!cc[i])
				continue;
			r = csx_call(cc[i], OP_ECHO, in, sizeof(in), out,
				     sizeof(out), &len, (int64_t)GUARD_NS);
			if (!r)
				done++;
			else if (!ret)
				ret = r;
		}
	}
	printf("ok %d %u\n", ret, done);
}

/* "close FROM TO" */
static int cl_close(const char *line)
{
	unsigned int from, to, i;

	if (sscanf(line, "close %u %u", &from, &to) != 2 || from > to ||
	    to > ncc)
		return -CSX_EINVAL;
	for (i = from; i < to; i++) {
		csx_close(cc[i]);
		cc[i] = NULL;
	}
	return 0;
}

/*
 * Commands: "export ...", "unexport NAME", "hold 0|1", "delay MS",
 * "state-open ...", "state-set ...", "state-close KEEP", "open ...",
 * "call ...", "close ...", "crash" (dies at once, nothing closed, no
 * answer), "quit". Answers: "ok STATUS".
 */
static int exporter_main(void)
{
	char line[256], name[128];
	unsigned int i, n;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (csx_user_init())
		return 2;
	while (fgets(line, sizeof(line), stdin)) {
		ret = -CSX_EINVAL;
		if (!strncmp(line, "export ", 7)) {
			ret = ex_export(line);
		} else if (sscanf(line, "unexport %127s", name) == 1) {
			ret = ex_unexport(name);
		} else if (sscanf(line, "hold %u", &n) == 1) {
			__atomic_store_n(&hold_on, n, __ATOMIC_SEQ_CST);
			ret = 0;
		} else if (sscanf(line, "delay %u", &n) == 1) {
			usleep(n * 1000);
			ret = 0;
		} else if (!strncmp(line, "state-open ", 11)) {
			ex_state_open(line);
			continue;
		} else if (!strncmp(line, "state-set ", 10)) {
			ret = ex_state_set(line);
		} else if (sscanf(line, "state-close %u", &n) == 1) {
			csx_state_close(ex.st, n != 0);
			ex.st = NULL;
			ret = 0;
		} else if (!strncmp(line, "open ", 5)) {
			ret = cl_open(line);
		} else if (!strncmp(line, "call ", 5)) {
			cl_call(line);
			continue;
		} else if (!strncmp(line, "close ", 6)) {
			ret = cl_close(line);
		} else if (!strncmp(line, "crash", 5)) {
			_exit(3);
		} else if (!strncmp(line, "quit", 4)) {
			break;
		}
		printf("ok %d\n", ret);
	}
	csx_state_close(ex.st, true);
	for (i = 0; i < ncc; i++)
		csx_close(cc[i]);
	for (i = 0; i < EXPORTS_MAX; i++)
		csx_service_unexport(ex.svc[i]);
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
 * child: we have threads. @in / @out: its stdin / stdout, or -1. @uid:
 * the child's uid and gid (we are root), or -1 for ours.
 */
static pid_t spawn_uid(const char *path, char *const argv[], int in, int out,
		       uid_t uid)
{
	pid_t parent = getpid(), pid;

	pid = fork();
	if (pid)
		return pid;
	/* First: a change of credentials clears the death signal. */
	if (uid != (uid_t)-1 &&
	    (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	     setresuid(uid, uid, uid)))
		_exit(126);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);
	if ((in >= 0 && dup2(in, STDIN_FILENO) < 0) ||
	    (out >= 0 && dup2(out, STDOUT_FILENO) < 0))
		_exit(127);
	execve(path, argv, environ);
	_exit(127);
}

static pid_t spawn(const char *path, char *const argv[], int in, int out)
{
	return spawn_uid(path, argv, in, out, (uid_t)-1);
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

/*
 * An exporter calling itself @argv0 (its HELLO name, its state's key),
 * running as @uid (-1: ours).
 */
static void proc_spawn_uid(struct proc *p, const char *argv0, uid_t uid)
{
	char *argv[] = { (char *)argv0, "--exporter", NULL };
	int to[2], from[2];

	assert_int_equal(pipe2(to, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from, O_CLOEXEC), 0);
	p->pid = spawn_uid("/proc/self/exe", argv, to[0], from[1], uid);
	assert_true(p->pid > 0);
	close(to[0]);
	close(from[1]);
	p->in = fdopen(to[1], "w");
	p->out = fdopen(from[0], "r");
	assert_non_null(p->in);
	assert_non_null(p->out);
	setvbuf(p->in, NULL, _IOLBF, 0);
}

static void proc_spawn_as(struct proc *p, const char *argv0)
{
	proc_spawn_uid(p, argv0, (uid_t)-1);
}

static void proc_spawn(struct proc *p)
{
	proc_spawn_as(p, "/proc/self/exe");
}

/* Send one command, without waiting for its answer. */
static void proc_send(struct proc *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->in, fmt, ap);
	va_end(ap);
	fputc('\n', p->in);
	fflush(p->in);
}

/* The next answer: its status (the whole line in @line). */
static int proc_answer(struct proc *p, char *line, size_t cap)
{
	int ret;

	assert_non_null(fgets(line, (int)cap, p->out));
	assert_int_equal(sscanf(line, "ok %d", &ret), 1);
	return ret;
}

/* One command; the exporter's status. */
static int proc_cmd(struct proc *p, const char *fmt, ...)
{
	char line[128];
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->in, fmt, ap);
	va_end(ap);
	fputc('\n', p->in);
	fflush(p->in);
	return proc_answer(p, line, sizeof(line));
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

/* "crash": it dies at once, leaving everything open; status 3. */
static void proc_crash(struct proc *p)
{
	int status;

	proc_send(p, "crash");
	fclose(p->in);
	fclose(p->out);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
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
	/*
	 * Exported by another process of our user: ours is one more
	 * instance (another user's would fail with -CSX_EEXIST: the
	 * daemon's own tests, tests/uh, cover that).
	 */
	svc = NULL;
	assert_int_equal(csx_service_export("uht/old", 2, service, NULL, &svc),
			 0);
	assert_int_equal(csx_service_unexport(svc), 0);
	/* Their private name is free for us. */
	assert_int_equal(
		csx_service_export("uht/private", 1, service, NULL, &svc), 0);
	assert_int_equal(csx_open("uht/private", 0, &ch), 0);
	csx_close(ch);
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

/* ---- Shared buffers ------------------------------------------------------ */

/* How many shared buffers process @pid maps (its /proc/PID/maps). */
static unsigned int shbuf_maps(pid_t pid)
{
	char path[64], line[512];
	unsigned int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:csx-shbuf") != NULL;
	fclose(f);
	return n;
}

/* Until @pid maps @n shared buffers. */
static void shbuf_maps_wait(pid_t pid, unsigned int n)
{
	uint64_t t0 = now_ns();

	while (shbuf_maps(pid) != n) {
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(2000);
	}
}

static void xor_check(const unsigned char *got, const unsigned char *src,
		      size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (got[i] != (src[i] ^ 0x5a))
			fail_msg("byte %zu: 0x%02x, not 0x%02x", i, got[i],
				 src[i] ^ 0x5a);
	}
}

#define SB_HALF (8 * MIB)

/*
 * 8 MiB each way, more than a lane holds: the handler reads the request
 * in its mapping and writes the response in place, seen here with no
 * copy; then in place on one window, and the buffer reused many times.
 */
static void shbuf_across_processes(void **state)
{
	unsigned char *ref = malloc(SB_HALF), *p;
	struct csx_shbuf *sb;
	struct csx_chan *ch;
	struct proc a;
	unsigned int i;
	size_t len;

	(void)state;
	assert_non_null(ref);
	proc_spawn(&a);
	proc_export(&a, "uht/sb", 1, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/sb", 0, &ch), 0);
	assert_int_equal(csx_shbuf_alloc(ch, 2 * SB_HALF, &sb), 0);
	assert_int_equal(csx_shbuf_size(sb), 2 * SB_HALF);
	p = csx_shbuf_addr(sb);
	assert_non_null(p);
	assert_int_equal(shbuf_maps(a.pid), 0); /* given on first use */

	fill(p, SB_HALF, 1);
	memcpy(ref, p, SB_HALF);
	memset(p + SB_HALF, 0xee, SB_HALF);
	len = 0;
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, 0, SB_HALF, SB_HALF,
					SB_HALF, &len, (int64_t)GUARD_NS),
			 0);
	assert_int_equal(len, SB_HALF);
	xor_check(p + SB_HALF, ref, SB_HALF);
	assert_memory_equal(p, ref, SB_HALF); /* the request untouched */
	assert_int_equal(shbuf_maps(a.pid), 1);

	/* One window for both: transformed in place. */
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, SB_HALF, SB_HALF,
					SB_HALF, SB_HALF, &len,
					(int64_t)GUARD_NS),
			 0);
	assert_memory_equal(p + SB_HALF, ref, SB_HALF);

	/* Reused: given once, named by every later call. */
	for (i = 0; i < 200; i++) {
		size_t off = (i * 4096u) % SB_HALF, n = 1 + i * 97;

		fill(p + off, n, i);
		memcpy(ref, p + off, n);
		assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, off, n,
						SB_HALF + off, n, &len,
						(int64_t)GUARD_NS),
				 0);
		assert_int_equal(len, n);
		xor_check(p + SB_HALF + off, ref, n);
	}
	assert_int_equal(shbuf_maps(a.pid), 1);
	/* The handler's own status, and its response bounded by the window. */
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, 0, 100, SB_HALF, 99,
					&len, (int64_t)GUARD_NS),
			 -CSX_EOVERFLOW);
	assert_int_equal(len, 0);

	assert_int_equal(csx_shbuf_free(sb), 0);
	shbuf_maps_wait(a.pid, 0); /* dropped there too */
	csx_close(ch);
	free(ref);
	proc_quit(&a);
}

/* Windows outside the buffer; a buffer of another kind of domain. */
static void shbuf_refusals(void **state)
{
	struct csx_shbuf *sb, *local_sb;
	struct csx_chan *ch, *local;
	struct csx_service *svc;
	unsigned char *p;
	struct proc a;
	size_t len, size;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/sbr", 1, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/sbr", 0, &ch), 0);
	assert_int_equal(csx_shbuf_alloc(ch, 5000, &sb), 0);
	size = csx_shbuf_size(sb);
	assert_int_equal(size, 8192); /* rounded up to pages */
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, size, 1, 0, 16, &len,
					(int64_t)GUARD_NS),
			 -CSX_EINVAL);
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, 0, 16, size - 8, 16,
					&len, (int64_t)GUARD_NS),
			 -CSX_EINVAL);
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, SIZE_MAX - 1, 4, 0, 16,
					&len, (int64_t)GUARD_NS),
			 -CSX_EINVAL);
	assert_int_equal(shbuf_maps(a.pid), 0); /* never given */

	/* Made for an in-process service: not for another process. */
	assert_int_equal(
		csx_service_export("uht/local", 1, service, NULL, &svc), 0);
	assert_int_equal(csx_open("uht/local", 0, &local), 0);
	assert_int_equal(csx_shbuf_alloc(local, 4096, &local_sb), 0);
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, local_sb, 0, 16, 16, 16,
					&len, (int64_t)GUARD_NS),
			 -CSX_EINVAL);
	/* An in-process channel takes any buffer. */
	p = csx_shbuf_addr(sb);
	memset(p, 0x11, 16);
	assert_int_equal(csx_call_shbuf(local, OP_XOR, sb, 0, 16, 16, 16, &len,
					(int64_t)GUARD_NS),
			 0);
	assert_int_equal(len, 16);
	assert_int_equal(p[16], 0x11 ^ 0x5a);
	/* And the good one still works across. */
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, 16, 16, 32, 16, &len,
					(int64_t)GUARD_NS),
			 0);
	assert_int_equal(p[32], 0x11);
	assert_int_equal(csx_shbuf_free(local_sb), 0);
	csx_close(local);
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(csx_shbuf_free(sb), 0);
	csx_close(ch);
	proc_quit(&a);
}

static sem_t sb_done_sem;
static int sb_done_status;

static void sb_done(void *ctx, int status, size_t out_len)
{
	(void)ctx;
	(void)out_len;
	sb_done_status = status;
	sem_post(&sb_done_sem);
}

/*
 * Freeing a buffer a call uses is refused; one whose call timed out is
 * freed here, and unmapped there when the handler returns.
 */
static void shbuf_free_busy(void **state)
{
	uint32_t ms = 300;
	struct csx_shbuf *sb;
	struct csx_chan *ch;
	struct timespec ts;
	struct proc a;
	size_t len;

	(void)state;
	sem_init(&sb_done_sem, 0, 0);
	proc_spawn(&a);
	proc_export(&a, "uht/sbf", 1, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/sbf", 0, &ch), 0);
	assert_int_equal(csx_shbuf_alloc(ch, 4096, &sb), 0);
	memcpy(csx_shbuf_addr(sb), &ms, sizeof(ms));
	assert_int_equal(csx_call_shbuf_async(ch, OP_SLEEP, sb, 0, sizeof(ms),
					      64, 0, (int64_t)GUARD_NS, sb_done,
					      NULL),
			 0);
	assert_int_equal(csx_shbuf_free(sb), -CSX_EBUSY);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += GUARD_NS / CSX_NSEC_PER_SEC;
	assert_int_equal(sem_timedwait(&sb_done_sem, &ts), 0);
	assert_int_equal(sb_done_status, 0);
	assert_int_equal(shbuf_maps(a.pid), 1);

	/* Gave up on: freed here at once, kept there by the handler. */
	assert_int_equal(csx_call_shbuf(ch, OP_SLEEP, sb, 0, sizeof(ms), 64, 0,
					&len, 20 * CSX_NSEC_PER_MSEC),
			 -CSX_ETIMEDOUT);
	assert_int_equal(csx_shbuf_free(sb), 0);
	assert_int_equal(shbuf_maps(a.pid), 1);
	shbuf_maps_wait(a.pid, 0);
	csx_close(ch);
	proc_quit(&a);
}

struct sb_pending {
	pthread_t tid;
	struct csx_chan *ch;
	struct csx_shbuf *sb;
	uint32_t op;
	int ret;
	size_t len;
};

static void *sb_pending_main(void *arg)
{
	struct sb_pending *c = arg;

	c->ret = csx_call_shbuf(c->ch, c->op, c->sb, 0, 0, 0, sizeof(uint32_t),
				&c->len, (int64_t)GUARD_NS);
	return NULL;
}

static void wait_in_handler(struct csx_chan *ch, uint32_t n);
static void join_sb_guarded(struct sb_pending *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += GUARD_NS / CSX_NSEC_PER_SEC;
	assert_int_equal(pthread_timedjoin_np(c->tid, NULL, &ts), 0);
}

/*
 * The exporter dies with shared-buffer calls pending: the idempotent one
 * is re-issued to its restarted copy (a new link: the buffer is given
 * again) and answers in the buffer; the other fails.
 */
static void shbuf_peer_death(void **state)
{
	const uint64_t idem = CSX_OP_BIT(OP_HOLD) | CSX_OP_BIT(OP_COUNT);
	struct sb_pending hold = { .op = OP_HOLD }, block = { .op = OP_BLOCK };
	struct csx_shbuf *sb, *sb2;
	struct csx_chan *ch;
	uint32_t pid;
	struct proc a;

	(void)state;
	proc_spawn(&a);
	assert_int_equal(proc_cmd(&a, "export uht/sbd 1 1 %llx",
				  (unsigned long long)idem),
			 0);
	assert_int_equal(proc_cmd(&a, "hold 1"), 0);
	assert_int_equal(csx_open("uht/sbd", 1, &ch), 0);
	assert_int_equal(csx_shbuf_alloc(ch, 4096, &sb), 0);
	assert_int_equal(csx_shbuf_alloc(ch, 4096, &sb2), 0);
	hold.ch = block.ch = ch;
	hold.sb = sb;
	block.sb = sb2;
	assert_int_equal(
		pthread_create(&hold.tid, NULL, sb_pending_main, &hold), 0);
	assert_int_equal(
		pthread_create(&block.tid, NULL, sb_pending_main, &block), 0);
	wait_in_handler(ch, 2);
	assert_int_equal(shbuf_maps(a.pid), 2);

	proc_kill(&a);
	proc_spawn(&a);
	assert_int_equal(proc_cmd(&a, "export uht/sbd 1 1 %llx",
				  (unsigned long long)idem),
			 0);
	join_sb_guarded(&hold);
	join_sb_guarded(&block);
	assert_int_equal(block.ret, -CSX_EPEERDIED);
	assert_int_equal(hold.ret, 0);
	assert_int_equal(hold.len, sizeof(pid));
	memcpy(&pid, csx_shbuf_addr(sb), sizeof(pid));
	assert_int_equal(pid, (uint32_t)a.pid);
	assert_int_equal(shbuf_maps(a.pid), 1);
	/* The other buffer works on the new link too. */
	memset(csx_shbuf_addr(sb2), 0, 4);
	assert_int_equal(csx_call_shbuf(ch, OP_PID, sb2, 0, 0, 0, 4, NULL,
					(int64_t)GUARD_NS),
			 0);
	memcpy(&pid, csx_shbuf_addr(sb2), sizeof(pid));
	assert_int_equal(pid, (uint32_t)a.pid);
	assert_int_equal(shbuf_maps(a.pid), 2);
	/* Freed after the channel closed: nothing left to tell. */
	csx_close(ch);
	shbuf_maps_wait(a.pid, 0);
	assert_int_equal(csx_shbuf_free(sb), 0);
	assert_int_equal(csx_shbuf_free(sb2), 0);
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

/* A raw connection to the daemon, registered as @name. */
static int raw_connect_as(const char *name)
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
	strncpy(h.name, name, sizeof(h.name) - 1);
	raw_send(fd, &h, sizeof(h), NULL, 0);
	assert_int_equal(raw_recv(fd, &r, sizeof(r), NULL), sizeof(r));
	assert_int_equal(r.status, 0);
	return fd;
}

static int raw_connect(void)
{
	return raw_connect_as("hostile");
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
	l->in_len = CSX_UH_LANE_PAYLOAD + 1;
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

/* A memfd of @size bytes with @seals (0: none). */
static int raw_sb_fd(uint64_t size, int seals)
{
	int fd = memfd_create("csx-shbuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

#define SB_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* SHBUF_ADD of buffer @id, announced @size bytes, with @fd (or none). */
static void raw_sb_add(int ch, uint32_t id, uint64_t size, int fd)
{
	struct csx_uh_shbuf_add m;

	memset(&m, 0, sizeof(m));
	raw_hdr(&m.hdr, CSX_UH_SHBUF_ADD, sizeof(m), 0);
	m.id = id;
	m.size = size;
	raw_send(ch, &m, sizeof(m), &fd, fd >= 0);
}

static void raw_sb_drop(int ch, uint32_t id)
{
	struct csx_uh_shbuf_drop m;

	memset(&m, 0, sizeof(m));
	raw_hdr(&m.hdr, CSX_UH_SHBUF_DROP, sizeof(m), 0);
	m.id = id;
	raw_send(ch, &m, sizeof(m), NULL, 0);
}

/* The exporter's answer to the ADD of buffer @id: its status. */
static int raw_sb_ack(int ch, uint32_t id)
{
	struct csx_uh_shbuf_ack a;

	assert_int_equal(raw_recv(ch, &a, sizeof(a), NULL), sizeof(a));
	assert_int_equal(a.hdr.type, CSX_UH_SHBUF_ACK);
	assert_int_equal(a.id, id);
	return a.status;
}

/* A fresh sealed memfd of @size bytes given as @id: the exporter's status. */
static int raw_sb_give(int ch, uint32_t id, uint64_t size)
{
	int fd = raw_sb_fd(size, SB_SEALS);

	raw_sb_add(ch, id, size, fd);
	close(fd);
	return raw_sb_ack(ch, id);
}

/* A shared-buffer request on lane @l, answered: the handler's status. */
static int raw_sb_call(struct csx_uh_lane *l, uint64_t seq, uint32_t id,
		       uint64_t in_off, uint64_t in_len, uint64_t out_off,
		       uint64_t out_cap, uint32_t *out_len)
{
	struct csx_uh_shbuf_call d = { .id = id,
				       .in_off = in_off,
				       .in_len = in_len,
				       .out_off = out_off,
				       .out_cap = out_cap };
	uint64_t t0 = now_ns();
	int status;

	memcpy((char *)l + CSX_UH_LANE_IN_OFF, &d, sizeof(d));
	l->op = OP_XOR;
	l->in_len = CSX_UH_LANE_IN_SHBUF;
	l->out_cap = 0;
	l->seq = seq;
	__atomic_store_n(&l->state, CSX_UH_LANE_REQ, __ATOMIC_SEQ_CST);
	raw_wake(&l->state);
	while (__atomic_load_n(&l->state, __ATOMIC_SEQ_CST) !=
	       CSX_UH_LANE_RESP) {
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(200);
	}
	assert_int_equal(l->done_seq, seq);
	*out_len = l->out_len;
	status = l->status;
	__atomic_store_n(&l->state, CSX_UH_LANE_IDLE, __ATOMIC_SEQ_CST);
	return status;
}

/*
 * A caller giving bad shared buffers, naming ones it did not give, or
 * windows outside them: refused, logged, and the exporter lives on.
 */
static void hostile_shbuf_caller(void **state)
{
	unsigned char in[32] = "real caller", out[32], *mem;
	struct csx_uh_lane *l;
	struct csx_chan *real;
	struct proc a;
	int dfd, ch, fd, pfd[2];
	uint32_t id, olen;
	size_t len;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/echo", 1, CSX_SERVICE_USER);
	assert_int_equal(csx_open("uht/echo", 0, &real), 0);
	dfd = raw_connect();

	/* Not sealed; sealed against shrinking only; not a memfd at all. */
	ch = raw_open(dfd, "uht/echo");
	fd = raw_sb_fd(4096, 0);
	raw_sb_add(ch, 1, 4096, fd);
	close(fd);
	raw_expect_hangup(ch);
	ch = raw_open(dfd, "uht/echo");
	fd = raw_sb_fd(4096, F_SEAL_SHRINK);
	raw_sb_add(ch, 1, 4096, fd);
	close(fd);
	raw_expect_hangup(ch);
	ch = raw_open(dfd, "uht/echo");
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	raw_sb_add(ch, 1, 4096, pfd[0]);
	close(pfd[0]);
	close(pfd[1]);
	raw_expect_hangup(ch);
	/* Shorter than it says; a size not in pages; id 0; no descriptor. */
	ch = raw_open(dfd, "uht/echo");
	fd = raw_sb_fd(4096, SB_SEALS);
	raw_sb_add(ch, 1, 8192, fd);
	raw_expect_hangup(ch);
	ch = raw_open(dfd, "uht/echo");
	raw_sb_add(ch, 1, 100, fd);
	raw_expect_hangup(ch);
	ch = raw_open(dfd, "uht/echo");
	raw_sb_add(ch, 0, 4096, fd);
	raw_expect_hangup(ch);
	close(fd);
	ch = raw_open(dfd, "uht/echo");
	raw_sb_add(ch, 1, 4096, -1);
	raw_expect_hangup(ch);
	assert_int_equal(shbuf_maps(a.pid), 0);

	/* By the book, then requests on bad ids and windows. */
	ch = raw_open(dfd, "uht/echo");
	fd = raw_lane_fd(true);
	l = raw_map(fd);
	raw_lane_add(ch, fd, 1, CSX_UH_LANE_SIZE);
	close(fd);
	fd = raw_sb_fd(16384, SB_SEALS);
	mem = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	raw_sb_add(ch, 7, 16384, fd);
	close(fd);
	assert_int_equal(raw_sb_ack(ch, 7), 0);
	fill(mem, 100, 3);
	assert_int_equal(raw_sb_call(l, 1, 7, 0, 100, 4096, 100, &olen), 0);
	assert_int_equal(olen, 100);
	xor_check(mem + 4096, mem, 100);
	assert_int_equal(raw_sb_call(l, 2, 8, 0, 10, 0, 10, &olen),
			 -CSX_EINVAL);
	assert_int_equal(raw_sb_call(l, 3, 7, 16384, 1, 0, 10, &olen),
			 -CSX_EINVAL);
	assert_int_equal(raw_sb_call(l, 4, 7, UINT64_MAX, 2, 0, 10, &olen),
			 -CSX_EINVAL);
	assert_int_equal(raw_sb_call(l, 5, 7, 0, 10, 8, UINT64_MAX, &olen),
			 -CSX_EINVAL);
	assert_int_equal(shbuf_maps(a.pid), 1);

	/* Limits: 1 GiB per channel, then 64 buffers. */
	for (id = 100; id < 115; id++)
		assert_int_equal(raw_sb_give(ch, id, 64 * MIB), 0);
	assert_int_equal(raw_sb_give(ch, 115, 64 * MIB), -CSX_ENOSPC);
	assert_int_equal(shbuf_maps(a.pid), 16);
	for (id = 100; id < 115; id++)
		raw_sb_drop(ch, id);
	raw_sb_drop(ch, 7);
	raw_sb_drop(ch, 12345); /* never given: ignored */
	shbuf_maps_wait(a.pid, 0);
	assert_int_equal(raw_sb_call(l, 6, 7, 0, 10, 0, 10, &olen),
			 -CSX_EINVAL); /* dropped */
	for (id = 200; id < 264; id++)
		assert_int_equal(raw_sb_give(ch, id, 4096), 0);
	assert_int_equal(raw_sb_give(ch, 264, 4096), -CSX_ENOSPC);
	assert_int_equal(shbuf_maps(a.pid), 64);
	/* A number in use (room made first). */
	fd = raw_sb_fd(4096, SB_SEALS);
	raw_sb_drop(ch, 200);
	raw_sb_add(ch, 201, 4096, fd);
	close(fd);
	raw_expect_hangup(ch);
	shbuf_maps_wait(a.pid, 0); /* all unmapped with the channel */
	munmap(l, CSX_UH_LANE_SIZE);
	munmap(mem, 16384);
	close(dfd);

	/* The real caller never noticed. */
	assert_int_equal(echo(real, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_memory_equal(in, out, sizeof(in));
	csx_close(real);
	proc_quit(&a);
}

/* A call on a shared buffer, in a thread of its own. */
static void *sb_call_main(void *arg)
{
	struct sb_pending *c = arg;

	c->ret = csx_call_shbuf(c->ch, OP_XOR, c->sb, 0, 16, 16, 16, &c->len,
				(int64_t)GUARD_NS);
	return NULL;
}

/* The exporter's side of a raw channel: the next SHBUF_ADD, checked. */
static uint32_t raw_sb_expect_add(int ch, size_t size)
{
	struct csx_uh_shbuf_add m;
	struct stat st;
	int fd;

	assert_int_equal(raw_recv(ch, &m, sizeof(m), &fd), sizeof(m));
	assert_int_equal(m.hdr.type, CSX_UH_SHBUF_ADD);
	assert_int_equal(m.size, size);
	assert_true(m.id != 0);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GET_SEALS) & SB_SEALS, SB_SEALS);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)size);
	close(fd);
	return m.id;
}

static void raw_sb_answer(int ch, uint32_t id, int32_t status)
{
	struct csx_uh_shbuf_ack a;

	memset(&a, 0, sizeof(a));
	raw_hdr(&a.hdr, CSX_UH_SHBUF_ACK, sizeof(a), 0);
	a.id = id;
	a.status = status;
	raw_send(ch, &a, sizeof(a), NULL, 0);
}

/*
 * An exporter that never takes a buffer, refuses it oddly, or answers
 * garbage: the caller's calls time out or fail, nothing hangs.
 */
static void hostile_shbuf_exporter(void **state)
{
	struct sb_pending c = { .op = OP_XOR };
	struct csx_uh_connect conn;
	struct csx_uh_export x;
	struct csx_uh_reply r;
	struct csx_shbuf *sb;
	struct csx_chan *ch;
	int dfd, sfd;
	uint32_t id;
	size_t len;

	(void)state;
	dfd = raw_connect();
	memset(&x, 0, sizeof(x));
	raw_hdr(&x.hdr, CSX_UH_EXPORT, sizeof(x), 2);
	x.version = 1;
	x.scope = CSX_UH_SCOPE_USER;
	strcpy(x.name, "uht/sbevil");
	raw_send(dfd, &x, sizeof(x), NULL, 0);
	assert_int_equal(raw_recv(dfd, &r, sizeof(r), NULL), sizeof(r));
	assert_int_equal(r.status, 0);
	assert_int_equal(csx_open("uht/sbevil", 0, &ch), 0);
	assert_int_equal(raw_recv(dfd, &conn, sizeof(conn), &sfd),
			 sizeof(conn));
	assert_int_equal(conn.hdr.type, CSX_UH_CONNECT);
	assert_true(sfd >= 0);
	assert_int_equal(csx_shbuf_alloc(ch, 4096, &sb), 0);

	/* Never answered: the call's own bound. */
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, 0, 16, 16, 16, &len,
					100 * (int64_t)CSX_NSEC_PER_MSEC),
			 -CSX_ETIMEDOUT);
	id = raw_sb_expect_add(sfd, 4096);
	/* An answer for no buffer is ignored; a status out of the protocol
	 * fails the call that waits (-CSX_EIO), not the channel. */
	raw_sb_answer(sfd, id + 1000, 0);
	raw_sb_answer(sfd, id, -CSX_EPERM);
	assert_int_equal(csx_call_shbuf(ch, OP_XOR, sb, 0, 16, 16, 16, &len,
					(int64_t)GUARD_NS),
			 -CSX_EIO);

	/* Given again; garbage instead of an answer ends the channel. */
	c.ch = ch;
	c.sb = sb;
	assert_int_equal(pthread_create(&c.tid, NULL, sb_call_main, &c), 0);
	assert_int_equal(raw_sb_expect_add(sfd, 4096), id);
	raw_send(sfd, "garbage", 7, NULL, 0);
	join_sb_guarded(&c);
	assert_int_equal(c.ret, -CSX_EPEERDIED);
	assert_int_equal(csx_shbuf_free(sb), 0);
	csx_close(ch);
	close(sfd);
	close(dfd);
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

/* ---- A hostile daemon: what it passes as saved state ---------------------- */

/* Kinds of bad answers to STATE_GET, one per request, in this order. */
enum fake_kind {
	FAKE_PIPE,     /* not a file */
	FAKE_UNSEALED, /* could shrink under the mapping */
	FAKE_EMPTY,    /* sealed, 0 bytes */
	FAKE_HUGE,     /* sealed, beyond CSX_UH_STATE_MAX (sparse) */
	FAKE_WSEALED,  /* sealed against writes: cannot be mapped writable */
	FAKE_TWO_FDS,  /* two descriptors */
	FAKE_NO_FD,    /* success without a descriptor */
	FAKE_SOCKET,   /* a socket */
	FAKE_KINDS,
};

static struct {
	int lfd;
	pthread_t tid;
	bool stop;		 /* atomic */
	unsigned int gets, puts; /* atomic */
	char path[108];
} fake;

static int fake_memfd(off_t size, int seals)
{
	int fd = memfd_create("fake-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, size) ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals)))
		abort(); /* not a cmocka assert: the fake's own thread */
	return fd;
}

/* The descriptors for kind @k; their number. */
static unsigned int fake_fds(unsigned int k, int *fds)
{
	const int rs = F_SEAL_SHRINK | F_SEAL_GROW;
	int sv[2];

	switch (k) {
	case FAKE_PIPE:
		if (pipe2(sv, O_CLOEXEC))
			abort();
		close(sv[1]);
		fds[0] = sv[0];
		return 1;
	case FAKE_UNSEALED:
		fds[0] = fake_memfd(8192, 0);
		return 1;
	case FAKE_EMPTY:
		fds[0] = fake_memfd(0, rs);
		return 1;
	case FAKE_HUGE:
		fds[0] = fake_memfd((off_t)CSX_UH_STATE_MAX + 4096, rs);
		return 1;
	case FAKE_WSEALED:
		fds[0] = fake_memfd(8192, rs | F_SEAL_WRITE);
		return 1;
	case FAKE_TWO_FDS:
		fds[0] = fake_memfd(8192, rs);
		fds[1] = fake_memfd(8192, rs);
		return 2;
	case FAKE_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			abort();
		close(sv[1]);
		fds[0] = sv[0];
		return 1;
	}
	return 0;
}

static void fake_reply(int cfd, const struct csx_uh_hdr *h, int32_t status,
		       uint32_t value, const int *fds, unsigned int nfds)
{
	struct csx_uh_reply r;

	memset(&r, 0, sizeof(r));
	raw_hdr(&r.hdr, CSX_UH_REPLY, sizeof(r), h->seq);
	r.status = status;
	r.value = value;
	csx_uh_msg_send(cfd, &r, sizeof(r), fds, nfds, 0);
}

/* One request from the back end; false when the connection ended. */
static bool fake_serve(int cfd)
{
	union {
		struct csx_uh_hdr h;
		unsigned char raw[512];
	} m;
	int in[4], fds[2];
	unsigned int nin, nfds, k;
	ssize_t n;

	n = csx_uh_msg_recv(cfd, &m, sizeof(m), in, 4, &nin, 0, NULL);
	while (n > 0 && nin)
		close(in[--nin]);
	if (n < (ssize_t)sizeof(m.h))
		return false;
	switch (m.h.type) {
	case CSX_UH_HELLO:
		fake_reply(cfd, &m.h, 0, CSX_UH_PROTO_VERSION, NULL, 0);
		break;
	case CSX_UH_STATE_GET:
		k = __atomic_fetch_add(&fake.gets, 1, __ATOMIC_SEQ_CST);
		if (k >= FAKE_KINDS) {
			fake_reply(cfd, &m.h, -CSX_ENOENT, 0, NULL, 0);
			break;
		}
		nfds = fake_fds(k, fds);
		fake_reply(cfd, &m.h, 0, 1, fds, nfds);
		while (nfds)
			close(fds[--nfds]);
		break;
	case CSX_UH_STATE_PUT:
		__atomic_add_fetch(&fake.puts, 1, __ATOMIC_SEQ_CST);
		fake_reply(cfd, &m.h, 0, 0, NULL, 0);
		break;
	case CSX_UH_STATE_DROP:
		fake_reply(cfd, &m.h, 0, 0, NULL, 0);
		break;
	default:
		fake_reply(cfd, &m.h, -CSX_ENOENT, 0, NULL, 0);
		break;
	}
	return true;
}

static void *fake_main(void *arg)
{
	struct pollfd pfd[2];
	int cfd = -1;

	(void)arg;
	while (!__atomic_load_n(&fake.stop, __ATOMIC_SEQ_CST)) {
		pfd[0].fd = fake.lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = cfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 50) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			if (cfd >= 0)
				close(cfd);
			cfd = accept4(fake.lfd, NULL, NULL, SOCK_CLOEXEC);
		}
		if (cfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)) &&
		    !fake_serve(cfd)) {
			close(cfd);
			cfd = -1;
		}
	}
	if (cfd >= 0)
		close(cfd);
	return NULL;
}

static int setup_fake_daemon(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	memset(&fake, 0, sizeof(fake));
	snprintf(fake.path, sizeof(fake.path), "%s/fake.sock", tmp_dir);
	fake.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, fake.path);
	if (fake.lfd < 0 ||
	    bind(fake.lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fake.lfd, 4) ||
	    pthread_create(&fake.tid, NULL, fake_main, NULL))
		return -1;
	setenv("CSX_UHELPERD_SOCKET", fake.path, 1);
	return csx_user_init();
}

static int teardown_fake_daemon(void **state)
{
	(void)state;
	csx_user_fini();
	__atomic_store_n(&fake.stop, true, __ATOMIC_SEQ_CST);
	pthread_join(fake.tid, NULL);
	close(fake.lfd);
	unlink(fake.path);
	setenv("CSX_UHELPERD_SOCKET", sock_path, 1);
	return 0;
}

/* Whatever the daemon passes as a region, the state starts afresh. */
static void hostile_state_daemon(void **state)
{
	struct csx_state *st;
	unsigned int i;

	(void)state;
	for (i = 0; i < FAKE_KINDS; i++) {
		assert_int_equal(csx_state_open("uht/bad", 1, 64, &st), 0);
		assert_int_equal(csx_state_origin(st), CSX_STATE_NEW);
		memset(csx_state_data(st), 0x5a, 64);
		assert_int_equal(csx_state_commit(st), 0);
		csx_state_close(st, false);
	}
	assert_int_equal(__atomic_load_n(&fake.gets, __ATOMIC_SEQ_CST),
			 FAKE_KINDS);
	/* Each replacement was handed to the daemon. */
	assert_int_equal(__atomic_load_n(&fake.puts, __ATOMIC_SEQ_CST),
			 FAKE_KINDS);
}

/* ---- Saved state across processes ---------------------------------------- */

struct st_seen {
	int origin;
	unsigned long long value, gen;
};

/* "state-open" in exporter @p: 0 and what it found, or the status. */
static int proc_state_open(struct proc *p, const char *name, size_t size,
			   struct st_seen *o)
{
	char line[256];
	int ret;

	proc_send(p, "state-open %s %zu", name, size);
	ret = proc_answer(p, line, sizeof(line));
	assert_int_equal(sscanf(line, "ok %d %d %llu %llu", &ret, &o->origin,
				&o->value, &o->gen),
			 4);
	return ret;
}

static void expect_state(struct proc *p, const char *name, int origin,
			 unsigned long long value)
{
	struct st_seen o;

	assert_int_equal(proc_state_open(p, name, 64, &o), 0);
	assert_int_equal(o.origin, origin);
	assert_int_equal(o.value, value);
}

/* STATE_GET on a raw connection: the daemon's memfd, or -1. */
static int raw_state_get(int dfd, const char *name)
{
	struct csx_uh_state m;
	struct csx_uh_reply r;
	int fd = -1;

	memset(&m, 0, sizeof(m));
	raw_hdr(&m.hdr, CSX_UH_STATE_GET, sizeof(m), 7);
	strcpy(m.name, name);
	raw_send(dfd, &m, sizeof(m), NULL, 0);
	assert_int_equal(raw_recv(dfd, &r, sizeof(r), &fd), sizeof(r));
	if (r.status) {
		assert_int_equal(r.status, -CSX_ENOENT);
		assert_int_equal(fd, -1);
	}
	return fd;
}

/* Until the daemon holds @name for process @who (within the guard). */
static int raw_state_wait(const char *who, const char *name)
{
	uint64_t t0 = now_ns();
	int dfd, fd;

	for (;;) {
		dfd = raw_connect_as(who);
		fd = raw_state_get(dfd, name);
		close(dfd);
		if (fd >= 0)
			return fd;
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(20 * 1000);
	}
}

/*
 * A process that dies without closing its state leaves it to the next
 * one of its name; closed without keeping, it is gone; another name does
 * not see it.
 */
static void state_survives_crash(void **state)
{
	struct st_seen o;
	struct proc a;

	(void)state;
	proc_spawn_as(&a, "uht-state");
	expect_state(&a, "uht/st", CSX_STATE_NEW, 0);
	assert_int_equal(proc_cmd(&a, "state-set 4242"), 0);
	proc_crash(&a);

	proc_spawn_as(&a, "uht-state");
	assert_int_equal(proc_state_open(&a, "uht/st", 64, &o), 0);
	assert_int_equal(o.origin, CSX_STATE_RESTORED);
	assert_int_equal(o.value, 4242);
	assert_int_equal(o.gen, 1);
	assert_int_equal(proc_cmd(&a, "state-close 0"), 0);
	expect_state(&a, "uht/st", CSX_STATE_NEW, 0);
	assert_int_equal(proc_cmd(&a, "state-set 7"), 0);
	assert_int_equal(proc_cmd(&a, "state-close 1"), 0);
	proc_quit(&a);

	proc_spawn_as(&a, "uht-other");
	expect_state(&a, "uht/st", CSX_STATE_NEW, 0);
	assert_int_equal(proc_cmd(&a, "state-close 0"), 0);
	proc_quit(&a);

	proc_spawn_as(&a, "uht-state");
	expect_state(&a, "uht/st", CSX_STATE_RESTORED, 7);
	assert_int_equal(proc_cmd(&a, "state-close 0"), 0);
	proc_quit(&a);
}

/* Where the 8 bytes of @value are in @mem (the one copy), or NULL. */
static unsigned char *find_value(unsigned char *mem, size_t size,
				 unsigned long long value)
{
	unsigned char *hit = NULL;
	size_t i;

	for (i = 0; i + sizeof(value) <= size; i++) {
		if (!memcmp(mem + i, &value, sizeof(value))) {
			assert_null(hit);
			hit = mem + i;
		}
	}
	return hit;
}

/*
 * Corrupted saved state: a commit whose bytes changed is never restored;
 * the one before it is (a torn commit), and when none is intact the
 * state is discarded.
 */
static void state_torn_or_corrupt(void **state)
{
	const unsigned long long v1 = 0x1122334455667788ull;
	const unsigned long long v2 = 0x0123456789abcdefull;
	unsigned char *mem, *hit;
	struct stat sb;
	struct proc a;
	int dfd, fd;

	(void)state;
	proc_spawn_as(&a, "uht-torn");
	expect_state(&a, "uht/torn", CSX_STATE_NEW, 0);
	assert_int_equal(proc_cmd(&a, "state-set %llu", v1), 0);
	assert_int_equal(proc_cmd(&a, "state-set %llu", v2), 0);
	proc_crash(&a);

	/* The newest commit torn: the one before comes back. */
	dfd = raw_connect_as("uht-torn");
	fd = raw_state_get(dfd, "uht/torn");
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	mem = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	assert_true(mem != MAP_FAILED);
	hit = find_value(mem, (size_t)sb.st_size, v2);
	assert_non_null(hit);
	hit[3] ^= 0x40;
	proc_spawn_as(&a, "uht-torn");
	expect_state(&a, "uht/torn", CSX_STATE_RESTORED, v1);
	proc_crash(&a);

	/* Every byte after the first page overwritten: nothing is intact. */
	memset(mem + 4096, 0xa5, (size_t)sb.st_size - 4096);
	proc_spawn_as(&a, "uht-torn");
	expect_state(&a, "uht/torn", CSX_STATE_DISCARDED, 0);
	assert_int_equal(proc_cmd(&a, "state-set 5"), 0);
	assert_int_equal(proc_cmd(&a, "state-close 0"), 0);
	proc_quit(&a);
	munmap(mem, (size_t)sb.st_size);
	close(fd);
	close(dfd);
}

/* A restarted daemon gets the regions open in this process again. */
static void state_back_after_daemon_restart(void **state)
{
	const unsigned long long v = 0xfeedfacecafebeefull;
	struct csx_state *st;
	struct proc a;
	int fd;

	(void)state;
	assert_int_equal(csx_state_open("uht/re", 3, 64, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_NEW);
	memcpy(csx_state_data(st), &v, sizeof(v));
	assert_int_equal(csx_state_commit(st), 0);
	daemon_kill();
	daemon_start();
	fd = raw_state_wait(program_invocation_short_name, "uht/re");
	close(fd);
	csx_state_close(st, true);
	proc_spawn_as(&a, program_invocation_short_name);
	expect_state(&a, "uht/re", CSX_STATE_RESTORED, v);
	assert_int_equal(proc_cmd(&a, "state-close 0"), 0);
	proc_quit(&a);
}

/*
 * Without a daemon the state lives as long as the process (a kept one
 * comes back to the next open here); a daemon that comes later gets it.
 */
static void state_without_daemon(void **state)
{
	unsigned long long v = 99, got;
	struct csx_state *st;
	int fd;

	(void)state;
	assert_int_equal(csx_state_open("uht/local", 1, 64, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_NEW);
	memcpy(csx_state_data(st), &v, sizeof(v));
	assert_int_equal(csx_state_commit(st), 0);
	csx_state_close(st, true);
	assert_int_equal(csx_state_open("uht/local", 1, 64, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_RESTORED);
	memcpy(&got, csx_state_data(st), sizeof(got));
	assert_int_equal(got, v);
	csx_state_close(st, true);

	daemon_start();
	fd = raw_state_wait(program_invocation_short_name, "uht/local");
	close(fd);
	assert_int_equal(csx_state_open("uht/local", 1, 64, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_RESTORED);
	csx_state_close(st, false);
	/* Dropped there too. */
	fd = raw_connect_as(program_invocation_short_name);
	assert_int_equal(raw_state_get(fd, "uht/local"), -1);
	close(fd);
	assert_int_equal(csx_state_open("uht/local", 1, 64, &st), 0);
	assert_int_equal(csx_state_origin(st), CSX_STATE_NEW);
	csx_state_close(st, false);
}

/* ---- Opening with a wait, and recovery -------------------------------------- */

/* The back end's open waits for a service exported later. */
static void open_waits_for_exporter(void **state)
{
	unsigned char in[16] = "late but there", out[16];
	struct csx_os_rchan *rc;
	uint64_t idem = 1, t0;
	uint32_t version = 0;
	char line[128];
	struct proc a;
	size_t len;

	(void)state;
	proc_spawn(&a);
	proc_send(&a, "delay 200");
	proc_send(
		&a, "export uht/late 4 1 %llx",
		(unsigned long long)(CSX_OP_BIT(OP_ECHO) | CSX_OP_BIT(OP_PID)));
	t0 = now_ns();
	assert_int_equal(csx_os_remote_open("uht/late", 2, GUARD_NS, &rc,
					    &version, &idem),
			 0);
	printf("open with a wait: the service came after %.0f ms\n",
	       (double)(now_ns() - t0) / 1e6);
	assert_true(now_ns() - t0 >= 150 * CSX_NSEC_PER_MSEC);
	assert_int_equal(version, 4);
	assert_int_equal(idem, CSX_OP_BIT(OP_ECHO) | CSX_OP_BIT(OP_PID));
	assert_int_equal(proc_answer(&a, line, sizeof(line)), 0);
	assert_int_equal(proc_answer(&a, line, sizeof(line)), 0);
	assert_int_equal(csx_os_remote_call(rc, OP_ECHO, in, sizeof(in), out,
					    sizeof(out), &len,
					    (int64_t)GUARD_NS),
			 0);
	assert_memory_equal(in, out, sizeof(in));
	csx_os_remote_close(rc);

	/* Never exported: the whole wait, then "no such service". */
	t0 = now_ns();
	assert_int_equal(csx_os_remote_open("uht/never", 0,
					    300 * CSX_NSEC_PER_MSEC, &rc,
					    &version, &idem),
			 -CSX_ENOENT);
	assert_true(now_ns() - t0 >= 290 * CSX_NSEC_PER_MSEC);
	assert_true(now_ns() - t0 < GUARD_NS);
	/* No wait asked: no wait. */
	t0 = now_ns();
	assert_int_equal(
		csx_os_remote_open("uht/never", 0, 0, &rc, &version, &idem),
		-CSX_ENOENT);
	assert_true(now_ns() - t0 < 200 * CSX_NSEC_PER_MSEC);
	proc_quit(&a);
}

struct pending {
	pthread_t tid;
	struct csx_chan *ch;
	uint32_t op;
	int ret;
	uint32_t pid;
};

static void *pending_main(void *arg)
{
	struct pending *c = arg;
	size_t len;

	c->ret = csx_call(c->ch, c->op, NULL, 0, &c->pid, sizeof(c->pid), &len,
			  (int64_t)GUARD_NS);
	return NULL;
}

/* Until @n calls run in the exporter's handler. */
static void wait_in_handler(struct csx_chan *ch, uint32_t n)
{
	uint64_t t0 = now_ns();
	uint32_t got = 0;
	size_t len;

	for (;;) {
		assert_int_equal(csx_call(ch, OP_COUNT, NULL, 0, &got,
					  sizeof(got), &len, (int64_t)GUARD_NS),
				 0);
		if (got == n)
			return;
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(2000);
	}
}

static void join_guarded(struct pending *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += GUARD_NS / CSX_NSEC_PER_SEC;
	assert_int_equal(pthread_timedjoin_np(c->tid, NULL, &ts), 0);
}

/*
 * The exporter dies with calls pending: the idempotent one is re-issued
 * to its restarted copy and succeeds there; the other fails.
 */
static void recovery_reissues_idempotent(void **state)
{
	const uint64_t idem =
		CSX_OP_BIT(OP_HOLD) | CSX_OP_BIT(OP_PID) | CSX_OP_BIT(OP_COUNT);
	struct pending hold = { .op = OP_HOLD }, block = { .op = OP_BLOCK };
	struct csx_chan *ch;
	struct proc a;
	uint64_t t0;
	uint32_t pid;
	size_t len;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/rec", 1, CSX_SERVICE_USER);
	assert_int_equal(proc_cmd(&a, "unexport uht/rec"), 0);
	assert_int_equal(proc_cmd(&a, "export uht/rec 1 1 %llx",
				  (unsigned long long)idem),
			 0);
	assert_int_equal(proc_cmd(&a, "hold 1"), 0);
	assert_int_equal(csx_open("uht/rec", 1, &ch), 0);
	hold.ch = ch;
	block.ch = ch;
	assert_int_equal(pthread_create(&hold.tid, NULL, pending_main, &hold),
			 0);
	assert_int_equal(pthread_create(&block.tid, NULL, pending_main, &block),
			 0);
	wait_in_handler(ch, 2);

	t0 = now_ns();
	proc_kill(&a);
	proc_spawn(&a);
	assert_int_equal(proc_cmd(&a, "export uht/rec 1 1 %llx",
				  (unsigned long long)idem),
			 0);
	join_guarded(&hold);
	join_guarded(&block);
	printf("recovery: the re-issued call was answered %.0f ms after the "
	       "death\n",
	       (double)(now_ns() - t0) / 1e6);
	assert_int_equal(hold.ret, 0);
	assert_int_equal(hold.pid, (uint32_t)a.pid);
	assert_int_equal(block.ret, -CSX_EPEERDIED);
	/* The channel goes on, to the new copy. */
	assert_int_equal(csx_call(ch, OP_PID, NULL, 0, &pid, sizeof(pid), &len,
				  (int64_t)GUARD_NS),
			 0);
	assert_int_equal(pid, (uint32_t)a.pid);
	csx_close(ch);
	proc_quit(&a);
}

/* Two instances of one service: when one dies, calls go to the other. */
static void recovery_to_other_instance(void **state)
{
	unsigned char in[8] = "onward", out[8];
	struct proc a, b, *dead, *alive;
	struct csx_chan *ch;
	struct timespec ts;
	uint32_t pid;
	size_t len;

	(void)state;
	sem_init(&gone_sem, 0, 0);
	gone_count = 0;
	proc_spawn(&a);
	proc_spawn(&b);
	assert_int_equal(proc_cmd(&a, "export uht/pair 1 1 %llx",
				  (unsigned long long)CSX_OP_BIT(OP_PID)),
			 0);
	assert_int_equal(proc_cmd(&b, "export uht/pair 1 1 %llx",
				  (unsigned long long)CSX_OP_BIT(OP_PID)),
			 0);
	assert_int_equal(csx_open("uht/pair", 1, &ch), 0);
	assert_int_equal(csx_chan_watch(ch, on_gone, &gone_sem), 0);
	assert_int_equal(csx_call(ch, OP_PID, NULL, 0, &pid, sizeof(pid), &len,
				  (int64_t)GUARD_NS),
			 0);
	assert_true(pid == (uint32_t)a.pid || pid == (uint32_t)b.pid);
	dead = pid == (uint32_t)a.pid ? &a : &b;
	alive = dead == &a ? &b : &a;
	proc_kill(dead);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += GUARD_NS / CSX_NSEC_PER_SEC;
	assert_int_equal(sem_timedwait(&gone_sem, &ts), 0);
	/* Not idempotent, but not pending at the death either: it goes on. */
	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(csx_call(ch, OP_PID, NULL, 0, &pid, sizeof(pid), &len,
				  (int64_t)GUARD_NS),
			 0);
	assert_int_equal(pid, (uint32_t)alive->pid);
	csx_close(ch);
	proc_quit(alive);
}

/* ---- Per-caller quotas and refusals --------------------------------------- */

/* "call FROM TO" in @p: its first failure; how many succeeded in *@done. */
static int proc_calls(struct proc *p, unsigned int from, unsigned int to,
		      unsigned int *done)
{
	char line[128];
	int ret;

	proc_send(p, "call %u %u", from, to);
	assert_non_null(fgets(line, sizeof(line), p->out));
	assert_int_equal(sscanf(line, "ok %d %u", &ret, done), 2);
	return ret;
}

/* Until the call on channel @i of @p succeeds (a quota freed up). */
static void proc_call_until_ok(struct proc *p, unsigned int i)
{
	uint64_t t0 = now_ns();
	unsigned int done;
	int ret;

	while ((ret = proc_calls(p, i, i + 1, &done))) {
		assert_int_equal(ret, -CSX_ENOSPC);
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(50000);
	}
}

static void echo_ok(struct csx_chan *ch)
{
	unsigned char in[16] = "still served", out[16];
	size_t len;

	assert_int_equal(echo(ch, in, sizeof(in), out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
}

/*
 * One caller process takes its quota of lanes (one per channel), then of
 * channels: what goes over is refused with -CSX_ENOSPC, its other
 * channels and every other caller are served, and what it closes it may
 * use again.
 */
static void quota_per_process(void **state)
{
	const unsigned int q = CSX_UH_QUOTA_LANES;
	struct csx_chan *ch;
	unsigned int done;
	struct proc a, c;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/quota", 1, CSX_SERVICE_USER);
	proc_spawn(&c);
	assert_int_equal(proc_cmd(&c, "open uht/quota %u", q + 1), 0);
	assert_int_equal(proc_calls(&c, 0, q + 1, &done), -CSX_ENOSPC);
	assert_int_equal(done, q);
	/* Refused again, at once: the channel has no lane to wait for. */
	assert_int_equal(proc_calls(&c, q, q + 1, &done), -CSX_ENOSPC);
	assert_int_equal(proc_calls(&c, 0, q, &done), 0);
	assert_int_equal(done, q);
	assert_int_equal(csx_open("uht/quota", 0, &ch), 0);
	echo_ok(ch);

	/* Closed channels give their lanes back. */
	assert_int_equal(proc_cmd(&c, "close 0 8"), 0);
	proc_call_until_ok(&c, q);

	/* Channels: refused when the exporter hears of them, told why. */
	assert_int_equal(proc_cmd(&c, "open uht/quota %u", CSX_UH_QUOTA_CHANS),
			 0);
	assert_int_equal(proc_calls(&c, q + CSX_UH_QUOTA_CHANS,
				    q + 1 + CSX_UH_QUOTA_CHANS, &done),
			 -CSX_ENOSPC);
	assert_int_equal(proc_calls(&c, q + CSX_UH_QUOTA_CHANS,
				    q + 1 + CSX_UH_QUOTA_CHANS, &done),
			 -CSX_ENOSPC);
	echo_ok(ch);
	assert_int_equal(proc_calls(&c, 8, 16, &done), 0);
	assert_int_equal(done, 8);
	proc_quit(&c);
	echo_ok(ch);
	csx_close(ch);
	proc_quit(&a);
}

/*
 * Callers of one uid together: two processes take the uid's quota of
 * lanes, a third gets -CSX_ENOSPC; root (this process) is not bounded by
 * it. Needs root, for a second uid.
 */
static void quota_per_uid(void **state)
{
	const unsigned int q = CSX_UH_QUOTA_LANES;
	const uid_t nobody = 65534;
	struct proc a, c[3];
	struct csx_chan *ch;
	unsigned int done, i;

	(void)state;
	if (geteuid() != 0) {
		print_message("quota_per_uid: skipped: needs root, to run "
			      "callers as uid %u\n",
			      (unsigned int)nobody);
		skip();
	}
	assert_true(CSX_UH_QUOTA_UID_LANES == 2 * q);
	/* uid 65534 must reach the daemon's socket. */
	assert_int_equal(chmod(tmp_dir, 0755), 0);
	proc_spawn(&a);
	proc_export(&a, "uht/uidq", 1, CSX_SERVICE_PUBLIC);
	for (i = 0; i < 3; i++)
		proc_spawn_uid(&c[i], "/proc/self/exe", nobody);
	for (i = 0; i < 2; i++) {
		assert_int_equal(proc_cmd(&c[i], "open uht/uidq %u", q), 0);
		assert_int_equal(proc_calls(&c[i], 0, q, &done), 0);
		assert_int_equal(done, q);
	}
	assert_int_equal(proc_cmd(&c[2], "open uht/uidq 1"), 0);
	assert_int_equal(proc_calls(&c[2], 0, 1, &done), -CSX_ENOSPC);
	assert_int_equal(csx_open("uht/uidq", 0, &ch), 0);
	echo_ok(ch);
	/* One of them goes: its lanes are the uid's again. */
	proc_quit(&c[0]);
	proc_call_until_ok(&c[2], 0);
	assert_int_equal(proc_calls(&c[1], 0, q, &done), 0);
	proc_quit(&c[1]);
	proc_quit(&c[2]);
	echo_ok(ch);
	csx_close(ch);
	proc_quit(&a);
	chmod(tmp_dir, 0700);
}

/*
 * Shared buffers per caller process: more than a channel may have, over
 * several channels; the one over is refused (-CSX_ENOMEM, as a channel's
 * own limits), and one freed makes room.
 */
static void quota_shbufs(void **state)
{
	const unsigned int per = CSX_UH_SHBUF_PER_CHAN;
	const unsigned int nch = CSX_UH_QUOTA_SHBUFS / per + 1;
	struct csx_shbuf *sb[CSX_UH_QUOTA_SHBUFS + 1];
	struct csx_chan *ch[CSX_UH_QUOTA_SHBUFS / CSX_UH_SHBUF_PER_CHAN + 1];
	unsigned int i;
	struct proc a, c;
	uint64_t t0;
	size_t len;
	int ret;

	(void)state;
	proc_spawn(&a);
	proc_export(&a, "uht/sbq", 1, CSX_SERVICE_USER);
	for (i = 0; i < nch; i++)
		assert_int_equal(csx_open("uht/sbq", 0, &ch[i]), 0);
	for (i = 0; i <= CSX_UH_QUOTA_SHBUFS; i++) {
		assert_int_equal(csx_shbuf_alloc(ch[0], 4096, &sb[i]), 0);
		ret = csx_call_shbuf(ch[i / per], OP_XOR, sb[i], 0, 16, 16, 16,
				     &len, (int64_t)GUARD_NS);
		assert_int_equal(ret,
				 i < CSX_UH_QUOTA_SHBUFS ? 0 : -CSX_ENOMEM);
	}
	/* Another caller process is served, buffers and all. */
	proc_spawn(&c);
	assert_int_equal(proc_cmd(&c, "open uht/sbq 1"), 0);
	assert_int_equal(proc_calls(&c, 0, 1, &i), 0);
	proc_quit(&c);
	/* Freed: the exporter unmaps it, and the last one is taken. */
	assert_int_equal(csx_shbuf_free(sb[0]), 0);
	t0 = now_ns();
	while ((ret = csx_call_shbuf(ch[nch - 1], OP_XOR,
				     sb[CSX_UH_QUOTA_SHBUFS], 0, 16, 16, 16,
				     &len, (int64_t)GUARD_NS)) == -CSX_ENOMEM) {
		assert_true(now_ns() - t0 < GUARD_NS);
		usleep(20000);
	}
	assert_int_equal(ret, 0);
	for (i = 1; i <= CSX_UH_QUOTA_SHBUFS; i++)
		assert_int_equal(csx_shbuf_free(sb[i]), 0);
	for (i = 0; i < nch; i++)
		csx_close(ch[i]);
	proc_quit(&a);
}

/* A raw exporter of @name: its daemon connection. */
static int raw_exporter(const char *name)
{
	struct csx_uh_export x;
	struct csx_uh_reply r;
	int dfd = raw_connect();

	memset(&x, 0, sizeof(x));
	raw_hdr(&x.hdr, CSX_UH_EXPORT, sizeof(x), 2);
	x.version = 1;
	x.scope = CSX_UH_SCOPE_USER;
	strcpy(x.name, name);
	raw_send(dfd, &x, sizeof(x), NULL, 0);
	assert_int_equal(raw_recv(dfd, &r, sizeof(r), NULL), sizeof(r));
	assert_int_equal(r.status, 0);
	return dfd;
}

/* The CONNECT of a channel just opened: its socket. */
static int raw_accept(int dfd)
{
	struct csx_uh_connect conn;
	int sfd;

	assert_int_equal(raw_recv(dfd, &conn, sizeof(conn), &sfd),
			 sizeof(conn));
	assert_int_equal(conn.hdr.type, CSX_UH_CONNECT);
	assert_int_equal(conn.peer_pid, (uint32_t)getpid());
	assert_true(sfd >= 0);
	return sfd;
}

static void raw_refuse(int sfd, int32_t status)
{
	struct csx_uh_refuse m;

	memset(&m, 0, sizeof(m));
	raw_hdr(&m.hdr, CSX_UH_REFUSE, sizeof(m), 0);
	m.status = status;
	raw_send(sfd, &m, sizeof(m), NULL, 0);
	close(sfd);
}

/* The next LANE_ADD: its lane number; its memfd in *@fd. */
static uint32_t raw_expect_lane(int sfd, int *fd)
{
	struct csx_uh_lane_add m;

	assert_int_equal(raw_recv(sfd, &m, sizeof(m), fd), sizeof(m));
	assert_int_equal(m.hdr.type, CSX_UH_LANE_ADD);
	assert_true(*fd >= 0);
	return m.lane;
}

/* Until a message waits on @sfd, left unread. */
static void raw_wait_readable(int sfd)
{
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, (int)(GUARD_NS / CSX_NSEC_PER_MSEC)), 1);
}

/* Nothing comes on @sfd for a while. */
static void raw_expect_quiet(int sfd, int ms)
{
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, ms), 0);
}

/*
 * An exporter that refuses a channel says why, and the caller's calls
 * fail with that: at once, or pending. A withdrawn service, or a reason
 * the protocol does not list, is a death (-CSX_EPEERDIED, the watch
 * runs); the others are not.
 */
static void refusal_reaches_caller(void **state)
{
	static const struct {
		int32_t status;
		int want;
	} cases[] = {
		{ -CSX_EPERM, -CSX_EPERM },	 { -CSX_EPROTO, -CSX_EPROTO },
		{ -CSX_ENOSPC, -CSX_ENOSPC },	 { -CSX_ENOMEM, -CSX_ENOMEM },
		{ -CSX_ENOENT, -CSX_EPEERDIED }, { 12345, -CSX_EPEERDIED },
	};
	struct pending p = { .op = OP_ECHO };
	struct timespec ts;
	struct csx_chan *ch;
	unsigned int i, gone;
	int dfd, sfd, lfd;

	(void)state;
	assert_int_equal(sem_init(&gone_sem, 0, 0), 0);
	dfd = raw_exporter("uht/refuse");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gone = __atomic_load_n(&gone_count, __ATOMIC_SEQ_CST);
		assert_int_equal(csx_open("uht/refuse", 0, &ch), 0);
		assert_int_equal(csx_chan_watch(ch, on_gone, &gone_sem), 0);
		sfd = raw_accept(dfd);
		raw_refuse(sfd, cases[i].status);
		assert_int_equal(csx_call(ch, OP_PID, NULL, 0, NULL, 0, NULL,
					  (int64_t)GUARD_NS),
				 cases[i].want);
		assert_int_equal(csx_call(ch, OP_PID, NULL, 0, NULL, 0, NULL,
					  (int64_t)GUARD_NS),
				 cases[i].want);
		if (cases[i].want == -CSX_EPEERDIED) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += GUARD_NS / CSX_NSEC_PER_SEC;
			assert_int_equal(sem_timedwait(&gone_sem, &ts), 0);
		} else {
			usleep(50000);
			assert_int_equal(
				__atomic_load_n(&gone_count, __ATOMIC_SEQ_CST),
				gone);
		}
		csx_close(ch);
	}

	/* Pending: refused after the caller added its lane. */
	assert_int_equal(csx_open("uht/refuse", 0, &ch), 0);
	sfd = raw_accept(dfd);
	p.ch = ch;
	assert_int_equal(pthread_create(&p.tid, NULL, pending_main, &p), 0);
	raw_expect_lane(sfd, &lfd);
	close(lfd);
	raw_refuse(sfd, -CSX_ENOSPC);
	join_guarded(&p);
	assert_int_equal(p.ret, -CSX_ENOSPC);
	csx_close(ch);

	/* Refused with the lane unread: the caller sees a reset first. */
	assert_int_equal(csx_open("uht/refuse", 0, &ch), 0);
	sfd = raw_accept(dfd);
	p.ch = ch;
	assert_int_equal(pthread_create(&p.tid, NULL, pending_main, &p), 0);
	raw_wait_readable(sfd);
	raw_refuse(sfd, -CSX_EPERM);
	join_guarded(&p);
	assert_int_equal(p.ret, -CSX_EPERM);
	csx_close(ch);
	close(dfd);
	sem_destroy(&gone_sem);
}

/* Serve one request on lane @l, as an echo. */
static void raw_serve_one(struct csx_uh_lane *l)
{
	uint64_t t0 = now_ns();
	uint32_t req = CSX_UH_LANE_REQ;

	while (!__atomic_compare_exchange_n(&l->state, &req, CSX_UH_LANE_BUSY,
					    false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST)) {
		assert_true(now_ns() - t0 < GUARD_NS);
		req = CSX_UH_LANE_REQ;
		usleep(200);
	}
	l->status = 0;
	l->out_len = 0;
	l->done_seq = l->seq;
	__atomic_store_n(&l->state, CSX_UH_LANE_RESP, __ATOMIC_SEQ_CST);
	raw_wake(&l->state);
}

/*
 * An exporter that refuses a lane keeps the channel: the call on it fails
 * with the reason, so does the next one at once (the channel has no lane
 * and asks for none for a while), then a lane asked for later is served.
 */
static void lane_refusal_keeps_channel(void **state)
{
	struct pending p = { .op = OP_ECHO };
	struct csx_uh_lane_refuse m;
	struct csx_uh_lane *l;
	struct csx_chan *ch;
	int dfd, sfd, lfd;
	uint32_t lane;

	(void)state;
	dfd = raw_exporter("uht/lanes");
	assert_int_equal(csx_open("uht/lanes", 0, &ch), 0);
	sfd = raw_accept(dfd);
	p.ch = ch;
	assert_int_equal(pthread_create(&p.tid, NULL, pending_main, &p), 0);
	lane = raw_expect_lane(sfd, &lfd);
	close(lfd);
	memset(&m, 0, sizeof(m));
	raw_hdr(&m.hdr, CSX_UH_LANE_REFUSE, sizeof(m), 0);
	m.lane = lane;
	m.status = -CSX_ENOSPC;
	raw_send(sfd, &m, sizeof(m), NULL, 0);
	join_guarded(&p);
	assert_int_equal(p.ret, -CSX_ENOSPC);
	assert_int_equal(
		csx_call(ch, OP_PID, NULL, 0, NULL, 0, NULL, (int64_t)GUARD_NS),
		-CSX_ENOSPC);
	raw_expect_quiet(sfd, 100);
	/* A refusal of a lane we never added is ignored. */
	m.lane = 31;
	raw_send(sfd, &m, sizeof(m), NULL, 0);

	/* Later, a lane again: taken and served this time. */
	usleep(1200 * 1000);
	assert_int_equal(pthread_create(&p.tid, NULL, pending_main, &p), 0);
	assert_int_equal(raw_expect_lane(sfd, &lfd), lane);
	l = raw_map(lfd);
	close(lfd);
	raw_serve_one(l);
	join_guarded(&p);
	assert_int_equal(p.ret, 0);
	munmap(l, CSX_UH_LANE_SIZE);
	csx_close(ch);
	close(sfd);
	close(dfd);
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
		cmocka_unit_test_setup_teardown(shbuf_across_processes,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(shbuf_refusals, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(shbuf_free_busy, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(shbuf_peer_death, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(hostile_shbuf_caller,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(hostile_shbuf_exporter,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(hostile_exporter, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(hostile_state_daemon,
						setup_fake_daemon,
						teardown_fake_daemon),
		cmocka_unit_test_setup_teardown(state_survives_crash,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(state_torn_or_corrupt,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(state_back_after_daemon_restart,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(state_without_daemon,
						setup_no_daemon,
						teardown_no_daemon),
		cmocka_unit_test_setup_teardown(open_waits_for_exporter,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(recovery_reissues_idempotent,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(recovery_to_other_instance,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(quota_per_process, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(quota_per_uid, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(quota_shbufs, setup_daemon,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(refusal_reaches_caller,
						setup_daemon, teardown_daemon),
		cmocka_unit_test_setup_teardown(lane_refusal_keeps_channel,
						setup_daemon, teardown_daemon),
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
