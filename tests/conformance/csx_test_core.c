// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * The portable half of the runner: verdict bookkeeping, the checks the
 * runner adds around every case, case selection and the worker helpers.
 * Like the cases it uses the CSX API only; the adapters supply formatting
 * and output.
 */
#include "csx_test_runner.h"

#define CSX_TEST_MSG_MAX 512

/*
 * The running case's verdict. Cases run one at a time, from one thread; a
 * check misplaced in another context still lands here safely because the
 * verdict is claimed with an atomic compare-and-exchange.
 */
static long verdict;
static char reason[CSX_TEST_MSG_MAX];

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static void formatf(char *buf, size_t size, const char *fmt, ...)
	CSX_PRINTF(3, 4);
static void formatf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	csx_test_port_vformat(buf, size, fmt, ap);
	va_end(ap);
}

/* First verdict wins: it names the check that ended the case. */
static bool claim(long v)
{
	long expected = CSX_TEST_PASSED;

	return __atomic_compare_exchange_n(&verdict, &expected, v, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static const char *base_name(const char *path)
{
	const char *base = path;

	for (; *path; path++)
		if (*path == '/')
			base = path + 1;
	return base;
}

void csx_test_fail(const char *file, int line, const char *fmt, ...)
{
	/* One buffer: this runs deep in kernel stacks (KASAN frame limit). */
	char full[CSX_TEST_MSG_MAX];
	size_t used;
	va_list ap;

	formatf(full, sizeof(full), "%s:%d: ", base_name(file), line);
	used = __builtin_strlen(full);
	va_start(ap, fmt);
	csx_test_port_vformat(full + used, sizeof(full) - used, fmt, ap);
	va_end(ap);
	csx_test_port_diag(full);
	if (claim(CSX_TEST_FAILED))
		copy_str(reason, sizeof(reason), full);
}

void csx_test_skip(const char *why)
{
	if (claim(CSX_TEST_SKIPPED))
		copy_str(reason, sizeof(reason), why);
}

void csx_test_note(const char *fmt, ...)
{
	char line[CSX_TEST_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	csx_test_port_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	csx_test_port_diag(line);
}

bool csx_test_failed(void)
{
	return csx_test_load(&verdict) != CSX_TEST_PASSED;
}

const char *csx_test_reason(void)
{
	return reason;
}

/*
 * Misuse cases run non-strict so the misuse comes back as a status; every
 * other case must leave the violation count alone, because a driver written
 * the way the case is written would be reported in the field.
 */
enum csx_test_verdict csx_test_run_case(const struct csx_test_case *c)
{
	bool misuse = c->flags & CSX_TEST_MISUSE;
	unsigned long before;
	bool strict = false;

	csx_test_store(&verdict, CSX_TEST_PASSED);
	reason[0] = '\0';
	if (misuse)
		strict = csx_ctx_set_strict(false);
	before = csx_ctx_violations();
	c->fn();
	if (misuse)
		csx_ctx_set_strict(strict);
	else if (csx_ctx_violations() != before)
		csx_test_fail(__FILE__, __LINE__,
			      "%lu context violation(s) reported by a case "
			      "that makes no sleeping call in atomic context",
			      csx_ctx_violations() - before);
	if (csx_in_atomic())
		csx_test_fail(__FILE__, __LINE__,
			      "the case's thread is still atomic after it "
			      "(interrupt disabled or spinlock held)");
	return (enum csx_test_verdict)csx_test_load(&verdict);
}

/* Does @item (a filter entry of @len bytes) equal @name? */
static bool item_is(const char *item, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (name[i] != item[i])
			return false;
	return name[len] == '\0';
}

/* Does one filter entry, "suite" or "suite.case", select the case? */
static bool item_selects(const char *item, size_t len,
			 const struct csx_test_suite *s,
			 const struct csx_test_case *c)
{
	size_t dot;

	for (dot = 0; dot < len && item[dot] != '.'; dot++)
		;
	if (!item_is(item, dot, s->name))
		return false;
	return dot == len || item_is(item + dot + 1, len - dot - 1, c->name);
}

bool csx_test_selected(const char *filter, const struct csx_test_suite *s,
		       const struct csx_test_case *c)
{
	size_t len;

	if (!filter || !*filter)
		return true;
	while (*filter) {
		for (len = 0; filter[len] && filter[len] != ','; len++)
			;
		if (len && item_selects(filter, len, s, c))
			return true;
		filter += len;
		if (*filter == ',')
			filter++;
	}
	return false;
}

int csx_test_workers_start(struct csx_test_workers *w, unsigned int n,
			   csx_thread_fn fn, void *args, size_t size)
{
	unsigned int i;
	int rc;

	csx_test_memset(w, 0, sizeof(*w));
	if (n > CSX_TEST_MAX_WORKERS)
		return -CSX_EINVAL;
	for (i = 0; i < n; i++) {
		void *arg = args ? (char *)args + i * size : NULL;

		rc = csx_thread_create(&w->thread[i], "csx-test", fn, arg);
		if (rc)
			return rc;
		w->started++;
	}
	return 0;
}

int csx_test_workers_join(struct csx_test_workers *w)
{
	unsigned int i;
	int first = 0;

	for (i = 0; i < w->started; i++) {
		w->join_rc[i] = csx_thread_join(w->thread[i], &w->exit_code[i]);
		if (!first)
			first = w->join_rc[i] ? w->join_rc[i] : w->exit_code[i];
	}
	w->started = 0;
	return first;
}
