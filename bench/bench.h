/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Shared helpers of the benchmarks: time, CPU pinning, scheduling policy,
 * sample statistics and the one line format every benchmark prints.
 *
 * Every benchmark prints its results as lines
 *   BENCH <name> csx=<v> base=<v> ratio=<csx/base> unit=<u> kind=<k>
 *         target=<cond> note=<free text to end of line>
 * which bench/report.sh turns into the table and results.json. The kernel
 * stage prints the short form (name, csx, base, ratio only); report.sh
 * fills in the rest, so both sources share one writer.
 */
#ifndef BENCH_H
#define BENCH_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Placements of a two-thread benchmark, on a machine with >= 2 CPUs. */
#define BENCH_CPU_A 0
#define BENCH_CPU_B 1

/* Monotonic nanoseconds (clock_gettime, no rdtsc). */
uint64_t bench_now_ns(void);
/* CPU time of the whole process, nanoseconds. */
uint64_t bench_process_cpu_ns(void);
/* CPU time of the calling thread, nanoseconds. */
uint64_t bench_thread_cpu_ns(void);
void bench_sleep_ns(uint64_t ns);

static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* Keep the compiler from dropping or merging a benchmark's work. */
#define bench_barrier() __asm__ __volatile__("" ::: "memory")

/* Pin the calling thread to @cpu; 0 or -errno. */
int bench_pin_self(int cpu);
/*
 * Pin every thread of this process whose name starts with @prefix (threads
 * CSX or a device model created, found in /proc/self/task); returns how
 * many were pinned.
 */
int bench_pin_threads_named(const char *prefix, int cpu);
/* Let the calling thread run on every online CPU again. */
void bench_unpin_self(void);
/* The CPU the calling thread is pinned to alone, or -1. */
int bench_pinned_cpu(void);

/* A thread's scheduling policy, copied from CSX's threads to baselines. */
struct bench_sched {
	int policy;
	int prio;
};

void bench_sched_get(struct bench_sched *s);
/* Apply @s to the calling thread; failures are logged, not fatal. */
void bench_sched_set(const struct bench_sched *s);
const char *bench_sched_name(const struct bench_sched *s);

/* Start a pinned thread; the body sees @arg. Aborts on failure. */
pthread_t bench_thread_start(int cpu, void *(*fn)(void *), void *arg);

/*
 * Kill the process after @seconds whatever happens: some benchmarks spin at
 * real-time priority, and a hung one would starve the machine.
 */
void bench_watchdog(unsigned int seconds);

/* Iteration scaling: BENCH_SCALE (default 1.0) multiplies every count. */
uint64_t bench_iters(uint64_t n);
/* Repetitions per figure: BENCH_REPS (default 7). */
unsigned int bench_reps(void);

/* Median of @n values (sorts @v in place). */
double bench_median(double *v, size_t n);
uint64_t bench_median_u64(uint64_t *v, size_t n);
/* The @pct percentile (0..100) of sorted values. */
uint64_t bench_pct_sorted(const uint64_t *v, size_t n, unsigned int pct);

/* A growable set of latency samples, in ns. */
struct bench_lat {
	uint64_t *v;
	size_t n;
	size_t cap;
};

void bench_lat_init(struct bench_lat *l, size_t cap);
void bench_lat_add(struct bench_lat *l, uint64_t ns);
void bench_lat_reset(struct bench_lat *l);
void bench_lat_free(struct bench_lat *l);
/* Sorts; returns the median (0 with no samples); *p99 if non-NULL. */
uint64_t bench_lat_median(struct bench_lat *l, uint64_t *p99);

/* Row kinds: what "ratio" (always csx/base) means for the row. */
#define BENCH_TIME "time" /* csx/base of a time: lower is better */
#define BENCH_RATE "rate" /* csx/base of a throughput: higher is better */
#define BENCH_ABS "abs"	  /* an absolute figure; target is on csx */

/*
 * Print one result row. @target is "ratio<=X", "ratio>=X", "csx<=X",
 * "csx>=X" or "-" (report only); report.sh evaluates it. @note_fmt is
 * printf-style and must not contain newlines.
 */
void bench_row(const char *name, double csx, double base, const char *unit,
	       const char *kind, const char *target, const char *note_fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Log to stderr with the program's name (progress, not results). */
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* BENCH_H */
