/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * ft_client's report: the counts, then the kills of the marks file matched
 * against what the load saw. Lines (every one starts "ft_client: "):
 *
 *   SVC: R requests (F factorial, D DMA), O ok, W wrong, X failed; slowest T ms
 *   SVC: failed with STATUS: N                         (one per status)
 *   total: R requests, O ok, W wrong, X failed in S s
 *   kill K: SVC at +S s: first success after T ms; C caught (D DMA; P
 *           pending at the kill, D DMA), Q ok; others meanwhile R req/s,
 *           min 100 ms N                                    (one per kill)
 *   kills: K on these services, M matched; first success after median T ms,
 *          max T ms
 *   caught by an outage: C (D DMA; P pending at the kill, D DMA), Q ok;
 *           K kill(s) with a DMA round trip pending
 *   other ports during outages: R req/s in S s, min 100 ms N; steady R req/s,
 *          median 100 ms N; ratio X
 *   stalls: none | stall: SVC: no success from +S s to +S s while it was up
 *   bench: key=value ...              (one line for scripts, see below)
 *   PASS | FAIL: what
 *
 * A kill's outage is [kill, first success on its port after it]: the
 * first success after the quiet spell the kill fell in (answers the dead
 * instance wrote just before it died may still arrive within --late-ms).
 * "Others meanwhile" counts whole 10 ms timeline buckets inside the
 * outage (the bench line has the rate over all outages, and the median of
 * the outages' rates, less swayed by a few long ones); "steady" is every
 * bucket at least 1 s into the run and not within 200 ms after any
 * outage. A stall is a spell of --stall-ms (1 s) without any success on
 * a service that overlaps none of its own outages. A request "caught" by an outage was
 * in flight in it (past the late answers): pending at the kill
 * (re-issued) or sent to the dead instance after it.
 */
#include "ft_client.h"

#include <csx/csx.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FT_WARMUP_NS (1000ull * 1000 * 1000)
#define FT_AFTER_NS (200ull * 1000 * 1000)
#define FT_WIN_BUCKETS (FT_WINDOW_NS / FT_BUCKET_NS)

struct ft_iv {
	uint64_t from, to;
};

/* Requests outages caught, over all kills. */
struct ft_caught_sum {
	unsigned int caught, caught_dma, caught_ok, pending, pending_dma;
	unsigned int mid_dma; /* kills with a DMA round trip pending */
};

/* Per other-ports totals while a port was down, and in steady state. */
struct ft_surv {
	uint64_t out_n, out_ns;
	uint64_t out_min; /* UINT64_MAX: no whole 100 ms in an outage */
	double *rates;	  /* per outage with whole buckets, req/s */
	unsigned int nrates;
	uint64_t steady_n, steady_ns;
	uint64_t steady_med;
};

static double ft_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double ft_rel(const struct ft_run *run, uint64_t t)
{
	return t >= run->t0 ? (double)(t - run->t0) / 1e9 :
			      -(double)(run->t0 - t) / 1e9;
}

static int ft_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int ft_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int ft_cmp_kill(const void *a, const void *b)
{
	return ft_cmp_u64(&((const struct ft_kill *)a)->at,
			  &((const struct ft_kill *)b)->at);
}

int ft_marks_read(struct ft_run *run, const char *path)
{
	char line[256], name[CSX_SERVICE_NAME_MAX];
	unsigned long long at;
	FILE *f = fopen(path, "r");
	unsigned int i;

	if (!f && errno == ENOENT)
		return 0; /* no kill was made */
	if (!f) {
		fprintf(stderr, "ft_client: marks %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) && run->nkills < FT_KILLS_MAX) {
		if (sscanf(line, "KILL %llu %63s", &at, name) != 2)
			continue;
		run->kills[run->nkills].at = at;
		run->kills[run->nkills].svc = -1;
		for (i = 0; i < run->nsvc; i++)
			if (!strcmp(run->svcs[i].name, name))
				run->kills[run->nkills].svc = (int)i;
		run->nkills++;
	}
	fclose(f);
	qsort(run->kills, run->nkills, sizeof(run->kills[0]), ft_cmp_kill);
	return 0;
}

/* The end of the quiet spell kill @k fell in: its port's first success. */
static bool ft_first_ok(const struct ft_run *run, const struct ft_svc *s,
			uint64_t k, uint64_t *at)
{
	uint64_t late = k + run->eps_ns;
	size_t i;

	for (i = 0; i < s->ngaps; i++) {
		if (s->gaps[i].to <= late)
			continue;
		if (s->gaps[i].from > late)
			return false; /* a success since, without a spell */
		*at = s->gaps[i].to;
		return true;
	}
	return false;
}

/* The outage of kill @k: [kill, first success]; unmatched, a guess. */
static struct ft_iv ft_outage(const struct ft_run *run, const struct ft_kill *k)
{
	const struct ft_svc *s = &run->svcs[k->svc];

	if (k->matched)
		return (struct ft_iv){ k->at, k->at + k->rec };
	if (s->last_ok <= k->at + run->eps_ns)
		return (struct ft_iv){ k->at, run->t_end }; /* never back */
	return (struct ft_iv){ k->at, k->at + run->gap_ns };
}

/* The requests of @s that kill @k's outage caught. */
static void ft_caught(const struct ft_run *run, const struct ft_svc *s,
		      struct ft_kill *k)
{
	struct ft_iv iv = ft_outage(run, k);
	const struct ft_slow *sl;
	size_t i;

	for (i = 0; i < s->nslow; i++) {
		sl = &s->slow[i];
		if (sl->start >= iv.to || sl->end <= k->at + run->eps_ns)
			continue;
		k->caught++;
		k->caught_dma += sl->kind == FT_DMA;
		k->caught_ok += sl->ok;
		k->pending += sl->start <= k->at;
		k->pending_dma += sl->start <= k->at && sl->kind == FT_DMA;
	}
}

/* Timeline buckets [*b0, *b1) wholly inside @iv. */
static void ft_inside(const struct ft_run *run, struct ft_iv iv, size_t *b0,
		      size_t *b1)
{
	uint64_t from = iv.from > run->t0 ? iv.from - run->t0 : 0;
	uint64_t to = iv.to > run->t0 ? iv.to - run->t0 : 0;

	*b0 = (size_t)((from + FT_BUCKET_NS - 1) / FT_BUCKET_NS);
	*b1 = (size_t)(to / FT_BUCKET_NS);
	if (*b1 < *b0)
		*b1 = *b0;
}

static uint64_t ft_sum(const struct ft_svc *s, size_t b0, size_t b1)
{
	uint64_t n = 0;

	for (; b0 < b1 && b0 < s->nbuckets; b0++)
		n += s->buckets[b0];
	return n;
}

/* Smallest whole-100 ms count in [b0, b1), or UINT64_MAX. */
static uint64_t ft_min_window(const struct ft_svc *s, size_t b0, size_t b1)
{
	uint64_t min = UINT64_MAX, n;

	for (; b0 + FT_WIN_BUCKETS <= b1; b0++) {
		n = ft_sum(s, b0, b0 + FT_WIN_BUCKETS);
		if (n < min)
			min = n;
	}
	return min;
}

/* Other ports while kill @k's port was down; one report line. */
static void ft_kill_line(struct ft_run *run, unsigned int idx,
			 struct ft_kill *k, struct ft_surv *sv)
{
	const struct ft_svc *s = &run->svcs[k->svc];
	uint64_t n = 0, ns = 0, min = UINT64_MAX, m;
	struct ft_iv iv = ft_outage(run, k);
	size_t b0, b1;
	unsigned int o;

	ft_inside(run, iv, &b0, &b1);
	for (o = 0; o < run->nsvc; o++) {
		if (&run->svcs[o] == s)
			continue;
		n += ft_sum(&run->svcs[o], b0, b1);
		ns += (b1 - b0) * FT_BUCKET_NS;
		m = ft_min_window(&run->svcs[o], b0, b1);
		min = m < min ? m : min;
	}
	sv->out_n += n;
	sv->out_ns += ns;
	if (ns && sv->rates)
		sv->rates[sv->nrates++] = (double)n * 1e9 / (double)ns;
	sv->out_min = min < sv->out_min ? min : sv->out_min;
	fprintf(run->out, "ft_client: kill %u: %s at +%.3f s: ", idx, s->name,
		ft_rel(run, k->at));
	if (k->matched)
		fprintf(run->out, "first success after %.1f ms", ft_ms(k->rec));
	else
		fprintf(run->out, "first success not found (within %.0f ms?)",
			ft_ms(run->gap_ns + run->eps_ns));
	fprintf(run->out,
		"; %u caught (%u DMA; %u pending at the kill, %u DMA), %u ok; others meanwhile ",
		k->caught, k->caught_dma, k->pending, k->pending_dma,
		k->caught_ok);
	if (ns)
		fprintf(run->out, "%.0f req/s", (double)n * 1e9 / (double)ns);
	else
		fprintf(run->out, "-");
	if (min != UINT64_MAX)
		fprintf(run->out, ", min 100 ms %llu", (unsigned long long)min);
	fprintf(run->out, "\n");
}

static void ft_counts_lines(struct ft_run *run, struct ft_counts *tot)
{
	const struct ft_counts *c;
	unsigned int i, j;

	memset(tot, 0, sizeof(*tot));
	for (i = 0; i < run->nsvc; i++) {
		c = &run->svcs[i].counts;
		fprintf(run->out,
			"ft_client: %s: %llu requests (%llu factorial, %llu DMA), %llu ok, %llu wrong, %llu failed; slowest %.1f ms\n",
			run->svcs[i].name, (unsigned long long)c->requests,
			(unsigned long long)c->fact, (unsigned long long)c->dma,
			(unsigned long long)c->ok, (unsigned long long)c->wrong,
			(unsigned long long)c->failed, ft_ms(c->max_lat_ns));
		for (j = 0; j < FT_FAIL_KINDS && c->fails[j].n; j++)
			fprintf(run->out,
				"ft_client: %s: failed with %s: %llu\n",
				run->svcs[i].name,
				csx_status_name(c->fails[j].status),
				(unsigned long long)c->fails[j].n);
		tot->requests += c->requests;
		tot->ok += c->ok;
		tot->wrong += c->wrong;
		tot->failed += c->failed;
	}
	fprintf(run->out,
		"ft_client: total: %llu requests, %llu ok, %llu wrong, %llu failed in %.1f s\n",
		(unsigned long long)tot->requests, (unsigned long long)tot->ok,
		(unsigned long long)tot->wrong, (unsigned long long)tot->failed,
		ft_rel(run, run->t_end));
}

/* Whole buckets from the start of the load to its end. */
static size_t ft_nbuckets(const struct ft_run *run)
{
	size_t nb = (size_t)((run->t_end - run->t0) / FT_BUCKET_NS);

	return nb < run->svcs[0].nbuckets ? nb : run->svcs[0].nbuckets;
}

/* Marks @ex[b] for every bucket within FT_AFTER_NS of an outage. */
static void ft_exclude_outages(const struct ft_run *run, bool *ex, size_t nb)
{
	struct ft_iv iv;
	size_t b0, b1;
	unsigned int i;

	for (i = 0; i < run->nkills; i++) {
		if (run->kills[i].svc < 0)
			continue;
		iv = ft_outage(run, &run->kills[i]);
		iv.from = iv.from > run->t0 ? iv.from - run->t0 : 0;
		iv.to = iv.to + FT_AFTER_NS - run->t0;
		b0 = (size_t)(iv.from / FT_BUCKET_NS);
		b1 = (size_t)(iv.to / FT_BUCKET_NS) + 1;
		for (; b0 < b1 && b0 < nb; b0++)
			ex[b0] = true;
	}
}

/* Steady state: buckets clear of outages, and its median 100 ms. */
static void ft_steady(const struct ft_run *run, struct ft_surv *sv)
{
	size_t nb = ft_nbuckets(run);
	size_t b, w0 = FT_WARMUP_NS / FT_BUCKET_NS, j, nw = 0;
	uint64_t *wins, n;
	unsigned int o;
	bool *ex, clear;

	ex = calloc(nb + 1, sizeof(*ex));
	wins = calloc(run->nsvc * (nb / FT_WIN_BUCKETS + 1), sizeof(*wins));
	if (!ex || !wins)
		goto out;
	ft_exclude_outages(run, ex, nb);
	for (o = 0; o < run->nsvc; o++) {
		for (b = w0; b < nb; b++) {
			if (ex[b])
				continue;
			sv->steady_n += run->svcs[o].buckets[b];
			sv->steady_ns += FT_BUCKET_NS;
		}
		for (b = w0; b + FT_WIN_BUCKETS <= nb; b += FT_WIN_BUCKETS) {
			for (clear = true, j = b; j < b + FT_WIN_BUCKETS; j++)
				clear &= !ex[j];
			n = ft_sum(&run->svcs[o], b, b + FT_WIN_BUCKETS);
			if (clear)
				wins[nw++] = n;
		}
	}
	qsort(wins, nw, sizeof(*wins), ft_cmp_u64);
	sv->steady_med = nw ? wins[nw / 2] : 0;
out:
	free(ex);
	free(wins);
}

/* Does [b0, b1) overlap an outage of service @si? */
static bool ft_own_outage(const struct ft_run *run, unsigned int si, size_t b0,
			  size_t b1)
{
	uint64_t from = run->t0 + b0 * FT_BUCKET_NS;
	uint64_t to = run->t0 + b1 * FT_BUCKET_NS;
	struct ft_iv iv;
	unsigned int i;

	for (i = 0; i < run->nkills; i++) {
		if (run->kills[i].svc != (int)si)
			continue;
		iv = ft_outage(run, &run->kills[i]);
		if (iv.from < to && iv.to + run->eps_ns > from)
			return true;
	}
	return false;
}

/* Spells of --stall-ms without a success on a service that was up. */
static unsigned int ft_stalls(struct ft_run *run)
{
	size_t nb = ft_nbuckets(run), b, b0, w = run->stall_ns / FT_BUCKET_NS;
	const struct ft_svc *s;
	unsigned int i, n = 0;

	for (i = 0; i < run->nsvc; i++) {
		s = &run->svcs[i];
		for (b0 = 0; b0 < nb && !s->buckets[b0]; b0++)
			;
		for (b = b0; b + w <= nb; b++) {
			if (ft_sum(s, b, b + w) ||
			    ft_own_outage(run, i, b, b + w))
				continue;
			if (++n <= 5)
				fprintf(run->out,
					"ft_client: stall: %s: no success from +%.2f s to +%.2f s while it was up\n",
					s->name,
					(double)(b * FT_BUCKET_NS) / 1e9,
					(double)((b + w) * FT_BUCKET_NS) / 1e9);
			b += w - 1; /* count separate spells */
		}
	}
	if (!n)
		fprintf(run->out, "ft_client: stalls: none\n");
	return n;
}

/* Per-kill lines; the matched recoveries sorted into @recs. */
static unsigned int ft_kills(struct ft_run *run, struct ft_surv *sv,
			     uint64_t *recs, unsigned int *ours,
			     struct ft_caught_sum *pend)
{
	unsigned int i, m = 0;
	struct ft_kill *k;

	*ours = 0;
	for (i = 0; i < run->nkills; i++) {
		k = &run->kills[i];
		if (k->svc < 0)
			continue;
		++*ours;
		k->matched =
			ft_first_ok(run, &run->svcs[k->svc], k->at, &k->rec);
		if (k->matched)
			k->rec -= k->at;
		if (k->matched)
			recs[m++] = k->rec;
		ft_caught(run, &run->svcs[k->svc], k);
		pend->caught += k->caught;
		pend->caught_dma += k->caught_dma;
		pend->caught_ok += k->caught_ok;
		pend->pending += k->pending;
		pend->pending_dma += k->pending_dma;
		pend->mid_dma += k->pending_dma > 0;
		ft_kill_line(run, *ours, k, sv);
	}
	qsort(recs, m, sizeof(*recs), ft_cmp_u64);
	return m;
}

static void ft_surv_line(struct ft_run *run, const struct ft_surv *sv,
			 double *out_rate, double *steady_rate)
{
	*out_rate =
		sv->out_ns ? (double)sv->out_n * 1e9 / (double)sv->out_ns : 0;
	*steady_rate = sv->steady_ns ? (double)sv->steady_n * 1e9 /
					       (double)sv->steady_ns :
				       0;
	if (run->nsvc < 2 || !sv->out_ns) {
		fprintf(run->out,
			"ft_client: other ports during outages: - (no whole 10 ms bucket inside an outage); steady %.0f req/s\n",
			*steady_rate);
		return;
	}
	fprintf(run->out,
		"ft_client: other ports during outages: %.0f req/s in %.2f s, min 100 ms %lld; steady %.0f req/s, median 100 ms %llu; ratio %.3f\n",
		*out_rate, (double)sv->out_ns / 1e9,
		sv->out_min == UINT64_MAX ? -1ll : (long long)sv->out_min,
		*steady_rate, (unsigned long long)sv->steady_med,
		*steady_rate > 0 ? *out_rate / *steady_rate : 0.0);
}

bool ft_report(struct ft_run *run)
{
	struct ft_surv sv = { .out_min = UINT64_MAX };
	double out_med = 0;
	struct ft_caught_sum pend = { 0 };
	double out_rate, steady_rate;
	unsigned int m, ours, stalls;
	struct ft_counts tot;
	uint64_t *recs;

	recs = calloc(run->nkills + 1, sizeof(*recs));
	sv.rates = calloc(run->nkills + 1, sizeof(*sv.rates));
	if (!recs || !sv.rates) {
		free(recs);
		free(sv.rates);
		return false;
	}
	ft_counts_lines(run, &tot);
	m = ft_kills(run, &sv, recs, &ours, &pend);
	fprintf(run->out,
		"ft_client: kills: %u on these services, %u matched; first success after median %.1f ms, max %.1f ms\n",
		ours, m, m ? ft_ms(recs[m / 2]) : 0.0,
		m ? ft_ms(recs[m - 1]) : 0.0);
	fprintf(run->out,
		"ft_client: caught by an outage: %u (%u DMA; %u pending at the kill, %u DMA), %u ok; %u kill(s) with a DMA round trip pending\n",
		pend.caught, pend.caught_dma, pend.pending, pend.pending_dma,
		pend.caught_ok, pend.mid_dma);
	ft_steady(run, &sv);
	ft_surv_line(run, &sv, &out_rate, &steady_rate);
	qsort(sv.rates, sv.nrates, sizeof(*sv.rates), ft_cmp_double);
	if (sv.nrates)
		out_med = sv.rates[sv.nrates / 2];
	stalls = ft_stalls(run);
	fprintf(run->out,
		"ft_client: bench: kills=%u matched=%u rec_median_ns=%llu rec_max_ns=%llu requests=%llu lost=%llu wrong=%llu caught=%u caught_dma=%u pending=%u kills_mid_dma=%u outage_rate=%.1f outage_rate_median=%.1f steady_rate=%.1f out_min100=%lld steady_med100=%llu stalls=%u\n",
		ours, m, (unsigned long long)(m ? recs[m / 2] : 0),
		(unsigned long long)(m ? recs[m - 1] : 0),
		(unsigned long long)tot.requests,
		(unsigned long long)tot.failed, (unsigned long long)tot.wrong,
		pend.caught, pend.caught_dma, pend.pending, pend.mid_dma,
		out_rate, out_med, steady_rate,
		sv.out_min == UINT64_MAX ? -1ll : (long long)sv.out_min,
		(unsigned long long)sv.steady_med, stalls);
	free(recs);
	free(sv.rates);
	if (tot.wrong || tot.failed || stalls || !tot.ok) {
		fprintf(run->out,
			"ft_client: FAIL: %llu wrong, %llu failed, %u stall(s), %llu ok\n",
			(unsigned long long)tot.wrong,
			(unsigned long long)tot.failed, stalls,
			(unsigned long long)tot.ok);
		return false;
	}
	fprintf(run->out, "ft_client: PASS\n");
	return true;
}
