/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: lifecycle, per-thread context, CPUs, time, logging,
 * tunables, and the host entry points csx_user_init()/csx_user_fini().
 */
#include "csx_user_internal.h"

#include <csx_user.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* CSX_E* are Linux errno values: converting a pthread code is a negation. */
_Static_assert(CSX_ENOMEM == ENOMEM && CSX_ETIMEDOUT == ETIMEDOUT &&
		       CSX_EBUSY == EBUSY && CSX_EPERM == EPERM &&
		       CSX_EINVAL == EINVAL && CSX_EDEADLK == EDEADLK,
	       "CSX status codes must equal Linux errno values");

__thread struct csx_user_tls csx__user_tls
	__attribute__((tls_model("initial-exec")));

/* ---- Status conversion: the one place pthread codes become CSX codes ----- */

int csx__user_status(int err)
{
	switch (err) {
	case 0:
		return 0;
	case EAGAIN: /* pthread_create: no threads left */
	case ENOMEM:
		return -CSX_ENOMEM;
	default:
		return -err;
	}
}

/* For hooks that cannot fail: a pthread error here means corrupted state. */
void csx__user_check(int err, const char *what)
{
	char msg[128];

	if (csx_user_likely(!err))
		return;
	snprintf(msg, sizeof(msg), "%s failed: %s", what, strerror(err));
	csx_os_bug(msg);
}

/* ---- Lifecycle ----------------------------------------------------------- */

int csx_os_init(void)
{
	int ret;

	ret = csx__user_readlock_init();
	if (ret)
		return ret;
	return csx__user_timer_init();
}

void csx_os_fini(void)
{
	csx__user_timer_fini();
	csx__user_remote_fini();
}

const char *csx_os_name(void)
{
	return "user";
}

uint32_t csx_os_contract_version(void)
{
	return CSX_OS_CONTRACT_VERSION;
}

/* Hosts start CSX once per process however many users they have. */
static pthread_mutex_t csx_user_init_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int csx_user_users;

int csx_user_init(void)
{
	int ret = 0;

	pthread_mutex_lock(&csx_user_init_lock);
	if (!csx_user_users)
		ret = csx__core_init();
	if (!ret)
		csx_user_users++;
	pthread_mutex_unlock(&csx_user_init_lock);
	return ret;
}

void csx_user_fini(void)
{
	pthread_mutex_lock(&csx_user_init_lock);
	if (!csx_user_users)
		csx_warn("csx_user_fini() without csx_user_init()");
	else if (!--csx_user_users)
		csx__core_fini();
	pthread_mutex_unlock(&csx_user_init_lock);
}

/* ---- Context ------------------------------------------------------------- */

unsigned int csx_os_context(void)
{
	const struct csx_user_tls *tls = &csx__user_tls;
	unsigned int ctx = tls->ctx;

	if (ctx || tls->atomic_depth)
		ctx |= CSX_OS_CTX_ATOMIC;
	return ctx;
}

uintptr_t csx_os_thread_id(void)
{
	return (uintptr_t)&csx__user_tls;
}

/* ---- Time and CPUs ------------------------------------------------------- */

uint64_t csx_os_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * CSX_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* An absolute CLOCK_MONOTONIC deadline @timeout_ns (> 0) from now. */
void csx__user_deadline(struct timespec *ts, int64_t timeout_ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	if (timeout_ns > INT64_MAX / 2) /* too far to matter: ~146 years */
		timeout_ns = INT64_MAX / 2;
	ts->tv_sec += timeout_ns / (int64_t)CSX_NSEC_PER_SEC;
	ts->tv_nsec += timeout_ns % (int64_t)CSX_NSEC_PER_SEC;
	if (ts->tv_nsec >= (long)CSX_NSEC_PER_SEC) {
		ts->tv_sec++;
		ts->tv_nsec -= CSX_NSEC_PER_SEC;
	}
}

/*
 * CSX numbers the CPUs of the process affinity mask 0..count-1 (DPC queues
 * are per index); the OS numbers may have holes (taskset -c 2,5).
 */
static struct {
	pthread_once_t once;
	unsigned int count;
	uint16_t index_of[CPU_SETSIZE]; /* OS CPU -> CSX index */
	uint16_t os_id[CPU_SETSIZE];	/* CSX index -> OS CPU */
} csx_user_cpus = { .once = PTHREAD_ONCE_INIT };

static void csx_user_cpus_setup(void)
{
	cpu_set_t set;
	unsigned int cpu, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		CPU_ZERO(&set);
		CPU_SET(0, &set);
	}
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			csx_user_cpus.os_id[n++] = (uint16_t)cpu;
	if (!n)
		csx_user_cpus.os_id[n++] = 0;
	/* CPUs outside the mask (affinity changed later) still map somewhere. */
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		csx_user_cpus.index_of[cpu] = (uint16_t)(cpu % n);
	for (cpu = 0; cpu < n; cpu++)
		csx_user_cpus.index_of[csx_user_cpus.os_id[cpu]] =
			(uint16_t)cpu;
	/* Last: a non-zero count publishes the tables. */
	__atomic_store_n(&csx_user_cpus.count, n, __ATOMIC_RELEASE);
}

/* The CPU tables, set up on first use; DPC queueing asks on every call. */
static unsigned int csx_user_cpus_ready(void)
{
	unsigned int n =
		__atomic_load_n(&csx_user_cpus.count, __ATOMIC_ACQUIRE);

	if (csx_user_likely(n))
		return n;
	pthread_once(&csx_user_cpus.once, csx_user_cpus_setup);
	return csx_user_cpus.count;
}

unsigned int csx_os_cpu_count(void)
{
	return csx_user_cpus_ready();
}

unsigned int csx_os_cpu_current(void)
{
	int cpu;

	csx_user_cpus_ready();
	cpu = sched_getcpu();
	if (csx_user_unlikely(cpu < 0 || cpu >= CPU_SETSIZE))
		return 0;
	return csx_user_cpus.index_of[cpu];
}

/* The OS CPU a DPC executor of CSX CPU @cpu is pinned to. */
int csx__user_cpu_os_id(unsigned int cpu)
{
	return csx_user_cpus.os_id[cpu % csx_user_cpus_ready()];
}

/* Migration is harmless in user mode: the core's per-CPU queues are locked. */
unsigned int csx_os_cpu_hold(void)
{
	return csx_os_cpu_current();
}

void csx_os_cpu_release(void)
{
}

/* ---- Logging, failure, tunables ------------------------------------------ */

static const char *csx_user_level_tag(int level)
{
	switch (level) {
	case CSX_LOG_ERR:
		return "error";
	case CSX_LOG_WARN:
		return "warning";
	case CSX_LOG_INFO:
		return "info";
	case CSX_LOG_DEBUG:
		return "debug";
	default:
		return level < CSX_LOG_ERR ? "error" : "debug";
	}
}

/*
 * One write() per line so lines from concurrent threads never interleave
 * (writes to a pipe up to PIPE_BUF are atomic; the buffer is smaller).
 */
void csx_os_vlog(int level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t len, cap = sizeof(buf) - 1; /* room for the newline */
	int n;

	n = snprintf(buf, cap, "csx: %s: ", csx_user_level_tag(level));
	len = (size_t)n;
	n = vsnprintf(buf + len, cap - len, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= cap - len) { /* cut: say so */
		len = cap - 1;
		memcpy(buf + len - 3, "...", 3);
	} else {
		len += (size_t)n;
	}
	while (len && buf[len - 1] == '\n')
		len--;
	buf[len++] = '\n';
	while (len) {
		ssize_t w = write(STDERR_FILENO, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		len -= (size_t)w;
		memmove(buf, buf + w, len);
	}
}

static void csx_user_logf(int level, const char *fmt, ...) CSX_PRINTF(2, 3);

static void csx_user_logf(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	csx_os_vlog(level, fmt, ap);
	va_end(ap);
}

void csx_os_bug(const char *msg)
{
	csx_user_logf(CSX_LOG_ERR, "BUG: %s: aborting", msg);
	abort();
}

bool csx_os_getenv_bool(const char *name, bool dflt)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	const char *v = getenv(name);
	size_t i;

	if (!v)
		return dflt;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i]))
			return true;
		if (!strcasecmp(v, no[i]))
			return false;
	}
	return dflt;
}
