/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * ft_client, internal: what the load side (ft_client.c) records and the
 * analysis (ft_report.c) reads once the load has stopped. Times are
 * CLOCK_MONOTONIC nanoseconds, the clock csx-uhelperd stamps its events
 * with and ft_ctl stamps its kills with (tests/ft/ft_ctl.c).
 */
#ifndef FT_CLIENT_H
#define FT_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Services one run loads. */
#define FT_SVC_MAX 8
/* Timeline resolution; reports aggregate it to FT_WINDOW_NS buckets. */
#define FT_BUCKET_NS (10ull * 1000 * 1000)
/* The "100 ms bucket" of the reports. */
#define FT_WINDOW_NS (100ull * 1000 * 1000)
/* No completion for this long on a port that is up is a stall. */
#define FT_STALL_NS (1000ull * 1000 * 1000)
/* Longest run the timeline holds. */
#define FT_MAX_RUN_NS (3600ull * 1000 * 1000 * 1000)
/* Kills read from the marks file. */
#define FT_KILLS_MAX 4096
/* Distinct failure statuses counted per service. */
#define FT_FAIL_KINDS 8

enum ft_op_kind {
	FT_FACT,
	FT_DMA,
};

/* A quiet spell of one service: no successful completion in (from, to). */
struct ft_gap {
	uint64_t from, to;
};

/* A request that took longer than the gap threshold. */
struct ft_slow {
	uint64_t start, end;
	uint8_t kind; /* enum ft_op_kind */
	bool ok;
};

struct ft_fail_kind {
	int status;
	uint64_t n;
};

/* Per-service counters; summed over the service's threads. */
struct ft_counts {
	uint64_t requests, ok, wrong, failed;
	uint64_t fact, dma;
	uint64_t max_lat_ns;
	struct ft_fail_kind fails[FT_FAIL_KINDS];
	uint64_t fails_other; /* statuses beyond FT_FAIL_KINDS */
};

struct ft_svc {
	const char *name;
	pthread_mutex_t lock; /* everything below */
	uint64_t last_ok;     /* newest successful completion */
	struct ft_gap *gaps;
	size_t ngaps, capgaps;
	struct ft_slow *slow;
	size_t nslow, capslow;
	uint32_t *buckets; /* successful completions per FT_BUCKET_NS */
	size_t nbuckets;
	struct ft_counts counts;
};

/* A kill read from the marks file (ft_ctl chaos --marks). */
struct ft_kill {
	uint64_t at;
	int svc; /* index in ft_run.svcs, or -1: not one of ours */
	/* analysis */
	bool matched; /* its port's first success after it was found */
	uint64_t rec; /* kill -> first success on its port */
	/* slow requests in flight during the outage, and at the kill */
	unsigned int caught, caught_dma, caught_ok, pending, pending_dma;
};

struct ft_run {
	struct ft_svc svcs[FT_SVC_MAX];
	unsigned int nsvc;
	uint64_t t0, t_end; /* load start and stop */
	uint64_t gap_ns;    /* quiet spells longer than this are recorded */
	uint64_t eps_ns;    /* late answers of a killed instance: within it */
	uint64_t stall_ns;  /* a port up without success this long: a stall */
	struct ft_kill kills[FT_KILLS_MAX];
	unsigned int nkills;
	FILE *out;
};

/* ft_report.c */
/* Reads KILL lines of @path; 0, or -1 (reported on stderr). */
int ft_marks_read(struct ft_run *run, const char *path);
/* Summary, per-kill and timeline lines; returns true if all is well. */
bool ft_report(struct ft_run *run);

#endif /* FT_CLIENT_H */
