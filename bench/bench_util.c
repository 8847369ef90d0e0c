/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Benchmark helpers (see bench.h). Nothing here knows about CSX, so the CSX
 * side and the baseline of a row are timed by exactly the same code.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_process_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull,
			       .tv_nsec = ns % 1000000000ull };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int bench_pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return -errno;
	return 0;
}

static bool bench_task_named(const char *tid, const char *prefix)
{
	char path[300], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, prefix, strlen(prefix)) == 0;
}

int bench_pin_threads_named(const char *prefix, int cpu)
{
	struct dirent *de;
	cpu_set_t set;
	int n = 0;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !bench_task_named(de->d_name, prefix))
			continue;
		if (sched_setaffinity(atoi(de->d_name), sizeof(set), &set) == 0)
			n++;
	}
	closedir(d);
	return n;
}

void bench_unpin_self(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	long cpu;

	CPU_ZERO(&set);
	for (cpu = 0; cpu < n && cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int bench_pinned_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set) != 0 ||
	    CPU_COUNT(&set) != 1)
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

void bench_sched_get(struct bench_sched *s)
{
	struct sched_param p;

	s->policy = sched_getscheduler(0);
	s->prio = sched_getparam(0, &p) == 0 ? p.sched_priority : 0;
}

void bench_sched_set(const struct bench_sched *s)
{
	struct sched_param p = { .sched_priority = s->prio };

	if (sched_setscheduler(0, s->policy, &p) != 0)
		bench_log("cannot set policy %s: %s", bench_sched_name(s),
			  strerror(errno));
}

const char *bench_sched_name(const struct bench_sched *s)
{
	switch (s->policy) {
	case SCHED_FIFO:
		return "FIFO";
	case SCHED_RR:
		return "RR";
	case SCHED_OTHER:
		return "OTHER";
	case SCHED_IDLE:
		return "IDLE";
	case SCHED_BATCH:
		return "BATCH";
	default:
		return "?";
	}
}

struct bench_start {
	int cpu;
	void *(*fn)(void *);
	void *arg;
};

/* Pin before the body runs so no sample is taken on the wrong CPU. */
static void *bench_thread_tramp(void *p)
{
	struct bench_start st = *(struct bench_start *)p;

	free(p);
	if (st.cpu >= 0 && bench_pin_self(st.cpu) != 0) {
		bench_log("cannot pin to CPU %d", st.cpu);
		abort();
	}
	return st.fn(st.arg);
}

pthread_t bench_thread_start(int cpu, void *(*fn)(void *), void *arg)
{
	struct bench_start *st = malloc(sizeof(*st));
	pthread_t t;

	if (!st)
		abort();
	st->cpu = cpu;
	st->fn = fn;
	st->arg = arg;
	if (pthread_create(&t, NULL, bench_thread_tramp, st) != 0) {
		bench_log("pthread_create failed");
		abort();
	}
	return t;
}

void bench_watchdog(unsigned int seconds)
{
	/* Longer runs asked for by BENCH_SCALE / BENCH_REPS get longer. */
	double f = (double)bench_iters(1000000) / 1e6 * bench_reps() / 7;

	if (f > 1)
		seconds = (unsigned int)(seconds * f);
	/* SIGALRM's default action ends the process. */
	signal(SIGALRM, SIG_DFL);
	alarm(seconds);
}

uint64_t bench_iters(uint64_t n)
{
	const char *s = getenv("BENCH_SCALE");
	double scale = s ? atof(s) : 1.0;
	uint64_t r;

	if (scale <= 0)
		scale = 1.0;
	r = (uint64_t)((double)n * scale);
	return r ? r : 1;
}

unsigned int bench_reps(void)
{
	const char *s = getenv("BENCH_REPS");
	int n = s ? atoi(s) : 7;

	return n > 0 ? (unsigned int)n : 7;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

uint64_t bench_median_u64(uint64_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_u64);
	return v[n / 2];
}

uint64_t bench_pct_sorted(const uint64_t *v, size_t n, unsigned int pct)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (n * pct) / 100;
	return v[i < n ? i : n - 1];
}

void bench_lat_init(struct bench_lat *l, size_t cap)
{
	l->v = calloc(cap ? cap : 1, sizeof(*l->v));
	if (!l->v)
		abort();
	l->n = 0;
	l->cap = cap ? cap : 1;
}

void bench_lat_add(struct bench_lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		l->cap *= 2;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = ns;
}

void bench_lat_reset(struct bench_lat *l)
{
	l->n = 0;
}

void bench_lat_free(struct bench_lat *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

uint64_t bench_lat_median(struct bench_lat *l, uint64_t *p99)
{
	uint64_t med = bench_median_u64(l->v, l->n);

	if (p99)
		*p99 = bench_pct_sorted(l->v, l->n, 99);
	return med;
}

/* A missing figure is printed as "-" so report.sh leaves it empty. */
static void bench_fmt(char *buf, size_t len, double v)
{
	if (isnan(v) || v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.6g", v);
}

void bench_row(const char *name, double csx, double base, const char *unit,
	       const char *kind, const char *target, const char *note_fmt, ...)
{
	char note[512], c[32], b[32], r[32];
	va_list ap;

	va_start(ap, note_fmt);
	vsnprintf(note, sizeof(note), note_fmt, ap);
	va_end(ap);
	bench_fmt(c, sizeof(c), csx);
	bench_fmt(b, sizeof(b), base);
	bench_fmt(r, sizeof(r), base > 0 && csx >= 0 ? csx / base : NAN);
	printf("BENCH %s csx=%s base=%s ratio=%s unit=%s kind=%s target=%s "
	       "note=%s\n",
	       name, c, b, r, unit, kind, target, note);
	fflush(stdout);
}

void bench_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
