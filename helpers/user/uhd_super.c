/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-uhelperd's supervisor (the "port manager"): runs the instances of
 * the containers of --config as csx-run processes, restarts them per
 * their policy, and tells subscribers what it does (doc/supervisor.md).
 *
 * Each child is watched through a pidfd in the event loop; when it becomes
 * readable the loop reads the exit status with waitid(WNOWAIT) and hands
 * the reaping proper to a reaper thread (see uhd_reap()): no SIGCHLD
 * handler, no polling, and no stall of the loop. The
 * children outlive a daemon that is killed: every start and exit rewrites
 * the state file (container, instance, pid, start time), and the next
 * daemon adopts the processes that are still the ones it names.
 */
#include "uhd.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/*
 * csx-run exits 69 (EX_UNAVAILABLE) when the device it claims through the
 * kernel helper is still claimed: by the instance that just died, whose
 * claim the kernel releases as its descriptors close. Early in a run that
 * is a race with the dying instance, not a failure: retried soon, not
 * counted, up to a limit past which it is a failure like any other.
 */
#define UHD_EX_CLAIMED 69
#define UHD_TRANSIENT_WINDOW_MS 2000
#define UHD_TRANSIENT_DELAY_MS 50
#define UHD_TRANSIENT_MAX 40
/* Shutdown: SIGTERM, then SIGKILL after this, then stop waiting. */
#define UHD_STOP_TERM_MS 5000
#define UHD_STOP_KILL_MS 2000

extern char **environ;

/*
 * Reaping: a waitid() that reaps releases the task, and release_task()
 * prunes the dentries of /proc/<pid>, which took from 0.07 to 4.9 s here
 * under dcache pressure (measured with strace -T while csx-run instances
 * were killed under load). In the event loop that stalled everything:
 * restarts, READY, every client's OPEN. So the loop only reads the status
 * (WNOWAIT) and one thread reaps, in exit order. Zombies wait there a
 * moment; nothing else is shared with the thread.
 */
#define UHD_REAP_QUEUE 1024

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started;
	unsigned int head, n;
	int fd[UHD_REAP_QUEUE];
	pid_t pid[UHD_REAP_QUEUE];
} uhd_reaper = { .lock = PTHREAD_MUTEX_INITIALIZER,
		 .cond = PTHREAD_COND_INITIALIZER };

static void uhd_reap_now(int pidfd, pid_t pid)
{
	siginfo_t si;

	if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) && errno == EINVAL)
		waitid(P_PID, (id_t)pid, &si, WEXITED); /* before Linux 5.4 */
	close(pidfd);
}

static void *uhd_reaper_main(void *arg)
{
	int fd;
	pid_t pid;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&uhd_reaper.lock);
		while (!uhd_reaper.n)
			pthread_cond_wait(&uhd_reaper.cond, &uhd_reaper.lock);
		fd = uhd_reaper.fd[uhd_reaper.head];
		pid = uhd_reaper.pid[uhd_reaper.head];
		uhd_reaper.head = (uhd_reaper.head + 1) % UHD_REAP_QUEUE;
		uhd_reaper.n--;
		pthread_mutex_unlock(&uhd_reaper.lock);
		uhd_reap_now(fd, pid);
	}
	return NULL;
}

/* Reap the exited child of @pidfd (then closed) off the event loop. */
static void uhd_reap(int pidfd, pid_t pid)
{
	pthread_t t;
	bool queued = false;

	pthread_mutex_lock(&uhd_reaper.lock);
	if (!uhd_reaper.started) {
		pthread_attr_t a;

		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		uhd_reaper.started =
			!pthread_create(&t, &a, uhd_reaper_main, NULL);
		pthread_attr_destroy(&a);
		if (!uhd_reaper.started)
			uhd_log(UHD_WARN, "no reaper thread: reaping in the "
					  "event loop");
	}
	if (uhd_reaper.started && uhd_reaper.n < UHD_REAP_QUEUE) {
		unsigned int tail =
			(uhd_reaper.head + uhd_reaper.n) % UHD_REAP_QUEUE;

		uhd_reaper.fd[tail] = pidfd;
		uhd_reaper.pid[tail] = pid;
		uhd_reaper.n++;
		pthread_cond_signal(&uhd_reaper.cond);
		queued = true;
	}
	pthread_mutex_unlock(&uhd_reaper.lock);
	if (!queued)
		uhd_reap_now(pidfd, pid);
}

static int uhd_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int uhd_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Whether the process of @pidfd has ended (its pidfd is readable). */
static bool uhd_pidfd_ended(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

static uint32_t uhd_ms_since(int64_t then)
{
	int64_t ms = (uhd_now_ns() - then) / 1000000;

	return ms < 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

__attribute__((format(printf, 3, 4))) static void
uhd_inst_log(const struct uhd_inst *in, enum uhd_level lvl, const char *fmt,
	     ...)
{
	char who[UHD_CT_NAME_MAX + 32];
	va_list ap;

	snprintf(who, sizeof(who), "container %s/%u: ", in->ct->name,
		 in->index);
	va_start(ap, fmt);
	uhd_vlog(lvl, who, fmt, ap);
	va_end(ap);
}

/* The instance after @in (NULL: the first), in file order, or NULL. */
static struct uhd_inst *uhd_inst_next(struct uhd *d, struct uhd_inst *in)
{
	struct uhd_list *p;

	if (in && in + 1 < in->ct->inst + in->ct->ninstances)
		return in + 1;
	p = in ? in->ct->node.next : d->containers.next;
	for (; p != &d->containers; p = p->next) {
		struct uhd_container *ct =
			uhd_entry(p, struct uhd_container, node);

		if (ct->inst)
			return ct->inst;
	}
	return NULL;
}

const char *uhd_inst_state_name(enum uhd_inst_state st)
{
	static const char *const names[] = {
		[UHD_INST_IDLE] = "idle",
		[UHD_INST_RUNNING] = "running",
		[UHD_INST_BACKOFF] = "restarting",
		[UHD_INST_STOPPED] = "stopped",
		[UHD_INST_GAVE_UP] = "gave-up",
	};

	return names[st];
}

/*
 * Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * since boot. With the pid it names one process, not whoever has the pid
 * later. 0 if it cannot be read.
 */
static unsigned long long uhd_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The name (field 2) may hold blanks and parentheses: skip past it. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

/* The state file: one line per running instance, replaced atomically. */
static void uhd_state_file_write(struct uhd *d)
{
	struct uhd_inst *in;
	char tmp[PATH_MAX];
	int fd, err = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", d->state_file) >=
	    (int)sizeof(tmp)) {
		err = ENAMETOOLONG;
		goto out;
	}
	/* Ours alone: whatever was there (a link, a file of another) goes. */
	if (unlink(tmp) && errno != ENOENT) {
		err = errno;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		err = errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	fprintf(f, "# csx-uhelperd %ld: container instance pid starttime\n",
		(long)getpid());
	for (in = uhd_inst_next(d, NULL); in; in = uhd_inst_next(d, in))
		if (in->state == UHD_INST_RUNNING)
			fprintf(f, "%s %u %ld %llu\n", in->ct->name, in->index,
				(long)in->pid, in->starttime);
	if (fflush(f) || ferror(f))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, d->state_file))
		err = errno;
out:
	/* Once per stretch of failures: it is rewritten on every exit. */
	if (err && !d->state_file_bad)
		uhd_log(UHD_ERR,
			"cannot write %s: %s (a daemon started after this one "
			"will not adopt the containers)",
			d->state_file, strerror(err));
	else if (!err && d->state_file_bad)
		uhd_log(UHD_INFO, "%s written again", d->state_file);
	d->state_file_bad = err != 0;
}

static void uhd_inst_exited(evutil_socket_t fd, short what, void *arg);

/* Watches @pidfd of @pid for @in; 0 or -1 (@pidfd left to the caller). */
static int uhd_inst_watch(struct uhd_inst *in, pid_t pid, int pidfd)
{
	in->pid_ev =
		event_new(in->d->base, pidfd, EV_READ, uhd_inst_exited, in);
	if (!in->pid_ev || event_add(in->pid_ev, NULL)) {
		if (in->pid_ev)
			event_free(in->pid_ev);
		in->pid_ev = NULL;
		return -1;
	}
	in->pid = pid;
	in->pidfd = pidfd;
	in->state = UHD_INST_RUNNING;
	in->start_ns = uhd_now_ns();
	in->ready = false;
	return 0;
}

/* @dev with %i replaced by @index and %% by %. */
static char *uhd_expand(const char *dev, unsigned int index)
{
	char *out = malloc(strlen(dev) * 6 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *dev; dev++) {
		if (*dev == '%' && dev[1] == 'i') {
			o += sprintf(o, "%u", index);
			dev++;
		} else {
			*o++ = *dev;
			if (*dev == '%' && dev[1] == '%')
				dev++;
		}
	}
	*o = '\0';
	return out;
}

static size_t uhd_count(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static void uhd_argv_free(const struct uhd_inst *in, char **argv,
			  size_t ndev_at)
{
	size_t i, nd = uhd_count(in->ct->devices);

	if (!argv)
		return;
	for (i = 0; i < nd; i++)
		free(argv[ndev_at + 2 * i + 1]);
	free(argv);
}

/*
 * CSX_RUN [args...] [--device D]... module...; of the strings, only the
 * expanded devices are allocated: uhd_argv_free() frees them.
 */
static char **uhd_inst_argv(const struct uhd_inst *in, size_t *ndev_at)
{
	const struct uhd_container *ct = in->ct;
	size_t na = uhd_count(ct->args), nd = uhd_count(ct->devices);
	size_t nm = uhd_count(ct->modules), k = 0, i;
	char **argv = calloc(2 + na + 2 * nd + nm, sizeof(*argv));

	if (!argv)
		return NULL;
	argv[k++] = (char *)in->d->csx_run;
	for (i = 0; i < na; i++)
		argv[k++] = ct->args[i];
	*ndev_at = k;
	for (i = 0; i < nd; i++) {
		argv[k++] = "--device";
		argv[k] = uhd_expand(ct->devices[i], in->index);
		if (!argv[k++]) {
			uhd_argv_free(in, argv, *ndev_at);
			return NULL;
		}
	}
	for (i = 0; i < nm; i++)
		argv[k++] = ct->modules[i];
	return argv;
}

static bool uhd_env_ours(const char *e)
{
	static const char *const names[] = { CSX_UH_CONTAINER_ENV "=",
					     CSX_UH_INSTANCE_ENV "=",
					     CSX_UH_SOCKET_ENV "=" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (!strncmp(e, names[i], strlen(names[i])))
			return true;
	return false;
}

static void uhd_env_free(char **env)
{
	size_t i;

	if (!env)
		return;
	for (i = 0; env[i]; i++)
		if (uhd_env_ours(env[i]))
			free(env[i]);
	free(env);
}

/* Our environment, but for the three variables set for @in. */
static char **uhd_inst_env(const struct uhd_inst *in)
{
	size_t n = uhd_count(environ), k = 0, i;
	char **env = calloc(n + 4, sizeof(*env));
	char *v[3] = { NULL, NULL, NULL };

	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (!uhd_env_ours(environ[i]))
			env[k++] = environ[i];
	if (asprintf(&v[0], "%s=%s", CSX_UH_CONTAINER_ENV, in->ct->name) < 0)
		v[0] = NULL;
	if (asprintf(&v[1], "%s=%u", CSX_UH_INSTANCE_ENV, in->index) < 0)
		v[1] = NULL;
	if (asprintf(&v[2], "%s=%s", CSX_UH_SOCKET_ENV, in->d->path) < 0)
		v[2] = NULL;
	for (i = 0; i < 3; i++)
		if (v[i])
			env[k++] = v[i];
	if (v[0] && v[1] && v[2])
		return env;
	uhd_env_free(env);
	return NULL;
}

/*
 * In the child, between fork() and exec: default signal handling and an
 * empty mask, whatever the daemon set; a process group of its own, so a
 * terminal's ^C does not reach it through the daemon's; no descriptor but
 * 0-2.
 */
__attribute__((noreturn)) static void uhd_child(char **argv, char **env)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	if (close_range(3, ~0u, 0)) {
		long fd, max = sysconf(_SC_OPEN_MAX);

		for (fd = 3; fd < max; fd++)
			close((int)fd);
	}
	execve(argv[0], argv, env);
	/* The daemon has one thread: stdio is safe in its child. */
	dprintf(STDERR_FILENO, "csx-uhelperd: cannot run %s: %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

static void uhd_inst_ended(struct uhd_inst *in, int status);

static void uhd_inst_launch(struct uhd_inst *in)
{
	struct uhd *d = in->d;
	size_t ndev_at = 0;
	char **argv = uhd_inst_argv(in, &ndev_at);
	char **env = uhd_inst_env(in);
	int pidfd = -1, err = ENOMEM;
	pid_t pid = -1;

	if (!argv || !env)
		goto fail;
	pid = fork();
	if (pid == 0)
		uhd_child(argv, env);
	err = errno;
	if (pid < 0)
		goto fail;
	pidfd = uhd_pidfd_open(pid);
	err = errno;
	if (pidfd < 0 || uhd_inst_watch(in, pid, pidfd)) {
		/* Unwatched, it would run unsupervised: not at all, then. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (pidfd >= 0) {
			close(pidfd);
			err = ENOMEM;
		}
		goto fail;
	}
	uhd_argv_free(in, argv, ndev_at);
	uhd_env_free(env);
	in->adopted = false;
	in->starttime = uhd_starttime(pid);
	uhd_inst_log(in, UHD_INFO, "started pid %ld (restarts %u)", (long)pid,
		     in->restarts);
	uhd_event_inst(d, CSX_UH_EV_STARTED, in, 0, 0);
	uhd_state_file_write(d);
	return;
fail:
	uhd_argv_free(in, argv, ndev_at);
	uhd_env_free(env);
	uhd_inst_log(in, UHD_ERR, "cannot start %s: %s", d->csx_run,
		     strerror(err));
	/* As a run that failed at once: the policy says when to try again. */
	in->pid = 0;
	in->adopted = false;
	in->start_ns = uhd_now_ns();
	uhd_inst_ended(in, CSX_UH_STATUS_UNKNOWN);
}

static void uhd_inst_restart(evutil_socket_t fd, short what, void *arg)
{
	struct uhd_inst *in = arg;

	(void)fd;
	(void)what;
	if (!in->d->stopping)
		uhd_inst_launch(in);
}

static void uhd_inst_stopped(struct uhd_inst *in, const char *why)
{
	in->state = UHD_INST_STOPPED;
	uhd_inst_log(in, UHD_INFO, "stopped (%s)", why);
	uhd_event_inst(in->d, CSX_UH_EV_STOPPED, in, in->status, 0);
}

static void uhd_inst_schedule(struct uhd_inst *in, uint32_t delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	in->state = UHD_INST_BACKOFF;
	in->restarts++;
	uhd_inst_log(in, UHD_INFO, "restart %u in %u ms", in->restarts,
		     delay_ms);
	uhd_event_inst(in->d, CSX_UH_EV_RESTARTING, in, in->status, delay_ms);
	if (evtimer_add(in->timer, &tv)) {
		uhd_inst_log(in, UHD_ERR, "cannot arm the restart timer");
		uhd_inst_stopped(in, "internal error");
	}
}

/* Exit 69 early in a run: a claim not yet released (see above). */
static bool uhd_inst_transient(struct uhd_inst *in, int status, uint32_t ran_ms)
{
	if (status != UHD_EX_CLAIMED || in->adopted ||
	    ran_ms >= UHD_TRANSIENT_WINDOW_MS ||
	    in->transient >= UHD_TRANSIENT_MAX)
		return false;
	in->transient++;
	uhd_inst_log(in, UHD_INFO,
		     "exit 69 after %u ms: device still claimed by the "
		     "previous instance? retry %u/%d, not counted as a failure",
		     ran_ms, in->transient, UHD_TRANSIENT_MAX);
	uhd_inst_schedule(in, UHD_TRANSIENT_DELAY_MS);
	return true;
}

/* Records a failure at @now; true (and GAVE_UP) if it is one too many. */
static bool uhd_inst_give_up(struct uhd_inst *in, int64_t now)
{
	const struct uhd_container *ct = in->ct;
	unsigned int size = ct->giveup_n + 1;
	int64_t oldest;

	in->fail_ns[in->fail_next] = now;
	in->fail_next = (in->fail_next + 1) % size;
	if (in->nfail < size)
		in->nfail++;
	if (in->nfail < size)
		return false;
	oldest = in->fail_ns[in->fail_next];
	if (now - oldest > (int64_t)ct->giveup_ms * 1000000)
		return false;
	in->state = UHD_INST_GAVE_UP;
	uhd_inst_log(in, UHD_ERR, "gave up after %u failures in %g s", size,
		     ct->giveup_ms / 1000.0);
	uhd_event_inst(in->d, CSX_UH_EV_GAVE_UP, in, in->status, 0);
	return true;
}

/* first * 2^(failures - 1), at most the cap. */
static uint32_t uhd_inst_backoff(const struct uhd_inst *in)
{
	const struct uhd_container *ct = in->ct;
	unsigned int shift = in->failures ? in->failures - 1 : 0;
	uint64_t ms = (uint64_t)ct->backoff_ms << (shift > 32 ? 32 : shift);

	return ms > ct->backoff_max_ms ? ct->backoff_max_ms : (uint32_t)ms;
}

static void uhd_inst_log_exit(struct uhd_inst *in, int status, uint32_t ms)
{
	if (status == CSX_UH_STATUS_UNKNOWN)
		uhd_inst_log(in, UHD_WARN,
			     "pid %ld ended after %u ms (status unknown)",
			     (long)in->pid, ms);
	else if (status < 0)
		uhd_inst_log(in, UHD_WARN,
			     "pid %ld killed by signal %d after %u ms",
			     (long)in->pid, -status, ms);
	else
		uhd_inst_log(in, status ? UHD_WARN : UHD_INFO,
			     "pid %ld exited with status %d after %u ms",
			     (long)in->pid, status, ms);
}

/* What the policy does after a run of @in ended with @status. */
static void uhd_inst_ended(struct uhd_inst *in, int status)
{
	struct uhd *d = in->d;
	const struct uhd_container *ct = in->ct;
	uint32_t ran_ms = uhd_ms_since(in->start_ns);
	bool failure = status != 0;

	in->state = UHD_INST_STOPPED;
	in->status = status;
	in->exit_ns = uhd_now_ns();
	in->exited_once = true;
	in->failed = failure;
	uhd_inst_log_exit(in, status, ran_ms);
	uhd_event_inst(d, CSX_UH_EV_EXITED, in, status, 0);
	uhd_state_file_write(d);
	if (d->stopping) {
		uhd_inst_stopped(in, "the daemon stops");
		return;
	}
	if (ct->restart == UHD_RESTART_NEVER ||
	    (ct->restart == UHD_RESTART_ON_FAILURE && !failure)) {
		uhd_inst_stopped(in, failure ?
					     "restart=never" :
					     "exit 0 under restart=on-failure");
		return;
	}
	if (uhd_inst_transient(in, status, ran_ms))
		return;
	in->transient = 0;
	if (!failure) {
		in->failures = 0;
		uhd_inst_schedule(in, ct->backoff_ms);
		return;
	}
	if (ran_ms >= ct->stable_ms)
		in->failures = 0;
	in->failures++;
	if (!uhd_inst_give_up(in, in->exit_ns))
		uhd_inst_schedule(in, uhd_inst_backoff(in));
}

static bool uhd_super_running(struct uhd *d)
{
	struct uhd_inst *in;

	for (in = uhd_inst_next(d, NULL); in; in = uhd_inst_next(d, in))
		if (in->state == UHD_INST_RUNNING)
			return true;
	return false;
}

static void uhd_inst_exited(evutil_socket_t fd, short what, void *arg)
{
	struct uhd_inst *in = arg;
	int status = CSX_UH_STATUS_UNKNOWN;
	siginfo_t si;
	int ret;

	(void)fd;
	(void)what;
	memset(&si, 0, sizeof(si));
	/* The status only: uhd_reap() reaps. */
	ret = waitid(P_PIDFD, (id_t)in->pidfd, &si,
		     WEXITED | WNOHANG | WNOWAIT);
	if (ret && errno == EINVAL) /* before Linux 5.4 */
		ret = waitid(P_PID, (id_t)in->pid, &si,
			     WEXITED | WNOHANG | WNOWAIT);
	if (!ret && si.si_pid == 0) {
		/* Not over after all: wait on. */
		if (!event_add(in->pid_ev, NULL))
			return;
		/* Unwatched, it would run unsupervised: not at all, then. */
		uhd_pidfd_signal(in->pidfd, SIGKILL);
		if (!in->adopted)
			waitid(P_PID, (id_t)in->pid, &si, WEXITED);
		ret = -1;
	}
	/* An adopted process is not our child (ECHILD): status unknown. */
	if (!ret && si.si_pid)
		status =
			si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
	event_free(in->pid_ev);
	in->pid_ev = NULL;
	if (!ret && si.si_pid)
		uhd_reap(in->pidfd, in->pid); /* our child, a zombie now */
	else
		close(in->pidfd);
	in->pidfd = -1;
	uhd_inst_ended(in, status);
	if (in->d->stopping && !uhd_super_running(in->d))
		event_base_loopbreak(in->d->base);
}

/* The container and instance of a state file line, if configured. */
static struct uhd_inst *uhd_super_lookup(struct uhd *d, const char *name,
					 unsigned int index)
{
	struct uhd_container *ct;
	struct uhd_list *p;

	for (p = d->containers.next; p != &d->containers; p = p->next) {
		ct = uhd_entry(p, struct uhd_container, node);
		if (!strcmp(ct->name, name))
			return index < ct->ninstances ? &ct->inst[index] : NULL;
	}
	return NULL;
}

/* One line of the previous daemon's state file. */
static void uhd_super_adopt_one(struct uhd *d, const char *line,
				unsigned int lineno)
{
	char name[UHD_CT_NAME_MAX + 2];
	unsigned long long start;
	unsigned int index;
	struct uhd_inst *in;
	long pid;
	int pidfd;

	if (sscanf(line, "%32s %u %ld %llu", name, &index, &pid, &start) != 4 ||
	    pid <= 1 || pid > INT_MAX) {
		uhd_log(UHD_WARN, "%s:%u: bad line, ignored", d->state_file,
			lineno);
		return;
	}
	in = uhd_super_lookup(d, name, index);
	if (uhd_starttime((pid_t)pid) != start) {
		uhd_log(UHD_INFO,
			"%s/%u: pid %ld of the previous daemon is "
			"gone",
			name, index, pid);
		return;
	}
	if (!in || in->state != UHD_INST_IDLE) {
		uhd_log(UHD_WARN,
			"%s/%u: pid %ld of the previous daemon is not in the "
			"configuration (any more): left running, unsupervised",
			name, index, pid);
		return;
	}
	/* Opened, then checked again: the pid cannot change hands now. */
	pidfd = uhd_pidfd_open((pid_t)pid);
	if (pidfd < 0 || uhd_starttime((pid_t)pid) != start ||
	    uhd_inst_watch(in, (pid_t)pid, pidfd)) {
		if (pidfd >= 0)
			close(pidfd);
		uhd_log(UHD_WARN, "%s/%u: cannot adopt pid %ld", name, index,
			pid);
		return;
	}
	in->adopted = true;
	in->starttime = start;
	uhd_inst_log(in, UHD_INFO,
		     "adopted pid %ld, left running by a previous daemon", pid);
	uhd_event_inst(d, CSX_UH_EV_ADOPTED, in, 0, 0);
}

/*
 * The state file of a daemon that did not stop its children (killed,
 * crashed). Only a file of our own that no one else may write is read:
 * it names processes we will signal.
 */
static void uhd_super_adopt(struct uhd *d)
{
	unsigned int lineno = 0;
	char line[256];
	struct stat st;
	FILE *f;

	f = fopen(d->state_file, "re");
	if (!f) {
		if (errno != ENOENT)
			uhd_log(UHD_WARN, "%s: %s", d->state_file,
				strerror(errno));
		return;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022)) {
		uhd_log(UHD_WARN,
			"%s: not a regular file of ours, or writable by "
			"others: ignored",
			d->state_file);
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] != '#' && line[0] != '\n')
			uhd_super_adopt_one(d, line, lineno);
	}
	fclose(f);
}

static int uhd_super_alloc(struct uhd *d, struct uhd_container *ct)
{
	unsigned int i;

	ct->inst = calloc(ct->ninstances, sizeof(*ct->inst));
	if (!ct->inst)
		return -1;
	for (i = 0; i < ct->ninstances; i++) {
		struct uhd_inst *in = &ct->inst[i];

		in->ct = ct;
		in->d = d;
		in->index = i;
		in->pidfd = -1;
		in->fail_ns = calloc(ct->giveup_n + 1, sizeof(*in->fail_ns));
		in->timer = evtimer_new(d->base, uhd_inst_restart, in);
		if (!in->fail_ns || !in->timer)
			return -1;
	}
	return 0;
}

int uhd_super_start(struct uhd *d)
{
	struct uhd_inst *in;
	struct uhd_list *p;

	if (uhd_list_empty(&d->containers))
		return 0;
	for (p = d->containers.next; p != &d->containers; p = p->next)
		if (uhd_super_alloc(d,
				    uhd_entry(p, struct uhd_container, node))) {
			uhd_log(UHD_ERR, "out of memory");
			return -1;
		}
	d->supervising = true;
	/* Not fatal: it may be installed later; each start will say. */
	if (access(d->csx_run, X_OK))
		uhd_log(UHD_WARN, "%s: %s: the containers cannot start",
			d->csx_run, strerror(errno));
	uhd_super_adopt(d);
	for (in = uhd_inst_next(d, NULL); in; in = uhd_inst_next(d, in))
		if (in->state == UHD_INST_IDLE)
			uhd_inst_launch(in);
	uhd_state_file_write(d);
	return 0;
}

static unsigned int uhd_super_signal(struct uhd *d, int sig)
{
	struct uhd_inst *in;
	unsigned int n = 0;

	for (in = uhd_inst_next(d, NULL); in; in = uhd_inst_next(d, in)) {
		if (in->state != UHD_INST_RUNNING)
			continue;
		n++;
		if (uhd_pidfd_signal(in->pidfd, sig) && errno != ESRCH)
			uhd_inst_log(in, UHD_ERR, "cannot signal pid %ld: %s",
				     (long)in->pid, strerror(errno));
	}
	return n;
}

static void uhd_super_stop_late(evutil_socket_t fd, short what, void *arg)
{
	struct uhd *d = arg;
	struct timeval tv = { UHD_STOP_KILL_MS / 1000,
			      (UHD_STOP_KILL_MS % 1000) * 1000 };
	unsigned int n;

	(void)fd;
	(void)what;
	if (d->stop_phase == 0) {
		n = uhd_super_signal(d, SIGKILL);
		uhd_log(UHD_WARN,
			"%u container process(es) still running "
			"after %d ms: SIGKILL",
			n, UHD_STOP_TERM_MS);
		d->stop_phase = 1;
		evtimer_add(d->stop_ev, &tv);
		return;
	}
	uhd_log(UHD_ERR, "container processes survive SIGKILL: leaving them");
	event_base_loopbreak(d->base);
}

bool uhd_super_stop(struct uhd *d)
{
	struct timeval tv = { UHD_STOP_TERM_MS / 1000,
			      (UHD_STOP_TERM_MS % 1000) * 1000 };
	struct uhd_inst *in;
	unsigned int n;

	if (!d->supervising)
		return false;
	if (d->stopping) {
		/* Asked twice: no more patience. */
		if (d->stop_phase == 0)
			event_active(d->stop_ev, EV_TIMEOUT, 0);
		return true;
	}
	d->stopping = true;
	for (in = uhd_inst_next(d, NULL); in; in = uhd_inst_next(d, in))
		if (in->state == UHD_INST_BACKOFF) {
			evtimer_del(in->timer);
			uhd_inst_stopped(in, "the daemon stops");
		}
	n = uhd_super_signal(d, SIGTERM);
	if (!n)
		return false;
	d->stop_ev = evtimer_new(d->base, uhd_super_stop_late, d);
	if (!d->stop_ev || evtimer_add(d->stop_ev, &tv)) {
		uhd_super_signal(d, SIGKILL);
		return false;
	}
	uhd_log(UHD_INFO, "waiting for %u container process(es) to end", n);
	return true;
}

void uhd_super_free(struct uhd *d)
{
	bool left = false;
	struct uhd_container *ct;
	struct uhd_inst *in;

	for (in = uhd_inst_next(d, NULL); in; in = uhd_inst_next(d, in)) {
		if (in->pid_ev)
			event_free(in->pid_ev);
		if (in->pidfd >= 0) {
			close(in->pidfd);
			left = true;
		}
		if (in->timer)
			event_free(in->timer);
	}
	if (d->stop_ev)
		event_free(d->stop_ev);
	/* What still runs is in the file, for the next daemon to adopt. */
	if (d->supervising && !left && unlink(d->state_file) && errno != ENOENT)
		uhd_log(UHD_WARN, "cannot remove %s: %s", d->state_file,
			strerror(errno));
	if (left)
		uhd_log(UHD_WARN,
			"container processes left running; %s "
			"names them for the next daemon",
			d->state_file);
	while (!uhd_list_empty(&d->containers)) {
		ct = uhd_entry(d->containers.next, struct uhd_container, node);
		uhd_list_del(&ct->node);
		uhd_container_free(ct);
	}
}

struct uhd_inst *uhd_super_find(struct uhd *d, pid_t pid)
{
	struct uhd_inst *in;

	for (in = uhd_inst_next(d, NULL); in; in = uhd_inst_next(d, in)) {
		if (in->state != UHD_INST_RUNNING || in->pid != pid)
			continue;
		/*
		 * A child of ours keeps its pid until we reap it; an adopted
		 * process does not, so it must still be the one we watch.
		 */
		if (in->adopted && uhd_pidfd_ended(in->pidfd))
			return NULL;
		return in;
	}
	return NULL;
}

/*
 * Adoption happens at start-up, before anyone can have subscribed: a new
 * subscriber is told of every instance still running adopted, dated when
 * it was adopted.
 */
void uhd_super_subscribed(struct uhd_client *c)
{
	struct uhd_inst *in;

	for (in = uhd_inst_next(c->d, NULL); in; in = uhd_inst_next(c->d, in))
		if (in->state == UHD_INST_RUNNING && in->adopted)
			uhd_event_inst_to(c, CSX_UH_EV_ADOPTED, in,
					  in->start_ns);
}

void uhd_super_exported(struct uhd_client *c)
{
	struct uhd_inst *in;
	uint32_t ms;

	if (!c->supervised)
		return;
	in = uhd_super_find(c->d, c->pid);
	if (!in || in->ready)
		return;
	in->ready = true;
	if (in->exited_once) {
		ms = uhd_ms_since(in->exit_ns);
		uhd_inst_log(in, UHD_INFO, "serving again %u ms after the %s",
			     ms, in->failed ? "failure" : "exit");
	} else {
		ms = uhd_ms_since(in->start_ns);
		uhd_inst_log(in, UHD_INFO, "serving, %u ms after %s", ms,
			     in->adopted ? "its adoption" : "its start");
	}
	uhd_event_inst(c->d, CSX_UH_EV_READY, in, 0, ms);
}

bool uhd_super_text(struct uhd *d, char *buf, size_t cap, size_t *len)
{
	char line[UHD_CT_NAME_MAX + 128];
	struct uhd_inst *in;

	for (in = uhd_inst_next(d, NULL); in; in = uhd_inst_next(d, in)) {
		snprintf(line, sizeof(line),
			 "container=%s/%u pid=%ld state=%s restarts=%u%s\n",
			 in->ct->name, in->index, (long)in->pid,
			 uhd_inst_state_name(in->state), in->restarts,
			 in->adopted && in->state == UHD_INST_RUNNING ?
				 " adopted" :
				 "");
		if (!uhd_text_line(buf, cap, len, line))
			return false;
	}
	return true;
}
