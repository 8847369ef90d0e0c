/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The conformance suite's portable test layer.
 *
 * The case sources include this header and <csx/csx.h> only: no C library,
 * no CMocka, no kernel headers, so the same objects run in a user process
 * (tests/conformance/user: CMocka) and in a kernel module
 * (tests/conformance/kernel: KTAP). Which adapter runs them is decided by
 * which file is linked, never by an #ifdef.
 *
 * A case is a void function without arguments run in thread context by the
 * runner. Checks are statements: a failed check reports file:line and the
 * values and returns from the function it is in, which ends the case. Helpers
 * that check therefore return void, and callers wrap them in CSX_STEP() so a
 * failure inside the helper ends the caller too.
 *
 * Checks belong in the case's own thread. Worker threads, DPCs, timer
 * callbacks and ISRs record what they saw (counters, status codes) and the
 * case checks the record once they are done: a check there could not end
 * the case and could leave threads running on the case's stack. For the same
 * reason a case never checks between starting a worker and joining it.
 */
#ifndef CSX_TEST_H
#define CSX_TEST_H

#include <csx/csx.h>

/* ---- Cases and suites --------------------------------------------------- */

/**
 * The case misuses the API on purpose (bad handles, sleeping calls from
 * atomic context): the runner turns strict mode off around it, so the
 * misuse is reported as a status rather than aborting (user) or WARNing
 * (kernel), and does not require the context violation count to stay put.
 */
#define CSX_TEST_MISUSE 0x1u

/** One test case. */
struct csx_test_case {
	const char *name;   /**< Name shown in the results. */
	void (*fn)(void);   /**< Body; runs in thread context. */
	unsigned int flags; /**< CSX_TEST_* flags. */
};

/** The cases of one API area. */
struct csx_test_suite {
	const char *name;		   /**< Area name, e.g. "sync". */
	const struct csx_test_case *cases; /**< The cases, run in order. */
	unsigned int count;		   /**< Number of cases. */
};

/** Define a case body. @param name Function name, also the case's name. */
#define CSX_TEST(name) static void name(void)

/** A case list entry. @param fn A function defined with CSX_TEST(). */
#define CSX_TEST_CASE(fn)  \
	{                  \
#fn, fn, 0 \
	}
/** A case list entry for a case that misuses the API on purpose. */
#define CSX_TEST_CASE_MISUSE(fn)         \
	{                                \
#fn, fn, CSX_TEST_MISUSE \
	}

/**
 * Define the suite object csx_suite_<area> from an array of cases; the
 * area must also appear in CSX_TEST_SUITE_LIST (csx_test_suites.h).
 */
#define CSX_TEST_SUITE(area, case_array)                     \
	const struct csx_test_suite csx_suite_##area = {     \
		#area, case_array,                           \
		sizeof(case_array) / sizeof((case_array)[0]) \
	}

/* ---- Reporting (runner side, see csx_test_core.c) ---------------------- */

/**
 * csx_test_fail() - Record that the running case failed.
 * @param file Source file of the check.
 * @param line Its line.
 * @param fmt printf-style description with the values.
 *
 * Only the first failure of a case is kept as its verdict; every failure
 * is also emitted as a diagnostic.
 */
void csx_test_fail(const char *file, int line, const char *fmt, ...)
	CSX_PRINTF(3, 4);

/**
 * csx_test_skip() - Record that the running case cannot run here.
 * @param reason Why: a capability this back end genuinely lacks.
 */
void csx_test_skip(const char *reason);

/**
 * csx_test_note() - Emit a diagnostic line (KTAP "# ", CMocka message).
 * @param fmt printf-style format.
 */
void csx_test_note(const char *fmt, ...) CSX_PRINTF(1, 2);

/** csx_test_failed() - Has the running case failed or skipped? */
bool csx_test_failed(void);

/* ---- Checks ------------------------------------------------------------- */

/** Fail and end the case unless @p cond holds. */
#define CSX_CHECK(cond)                                                       \
	do {                                                                  \
		if (!(cond)) {                                                \
			csx_test_fail(__FILE__, __LINE__, "check failed: %s", \
				      #cond);                                 \
			return;                                               \
		}                                                             \
	} while (0)

/** Fail and end the case unless @p a @p op @p b, as integers. */
#define CSX_CHECK_OP(a, op, b)                                                 \
	do {                                                                   \
		long long csx__a = (long long)(a);                             \
		long long csx__b = (long long)(b);                             \
		if (!(csx__a op csx__b)) {                                     \
			csx_test_fail(__FILE__, __LINE__,                      \
				      "check failed: %s %s %s (%lld vs %lld)", \
				      #a, #op, #b, csx__a, csx__b);            \
			return;                                                \
		}                                                              \
	} while (0)

/** Integer equality. */
#define CSX_CHECK_EQ(a, b) CSX_CHECK_OP(a, ==, b)
/** Integer inequality. */
#define CSX_CHECK_NE(a, b) CSX_CHECK_OP(a, !=, b)
/** a < b. */
#define CSX_CHECK_LT(a, b) CSX_CHECK_OP(a, <, b)
/** a <= b. */
#define CSX_CHECK_LE(a, b) CSX_CHECK_OP(a, <=, b)
/** a > b. */
#define CSX_CHECK_GT(a, b) CSX_CHECK_OP(a, >, b)
/** a >= b. */
#define CSX_CHECK_GE(a, b) CSX_CHECK_OP(a, >=, b)

/** @p expr, a CSX status, must equal @p expected; names both on failure. */
#define CSX_CHECK_RC(expr, expected)                                           \
	do {                                                                   \
		int csx__rc = (expr);                                          \
		int csx__exp = (expected);                                     \
		if (csx__rc != csx__exp) {                                     \
			csx_test_fail(__FILE__, __LINE__,                      \
				      "%s returned %d (%s), expected %d (%s)", \
				      #expr, csx__rc,                          \
				      csx_status_name(csx__rc), csx__exp,      \
				      csx_status_name(csx__exp));              \
			return;                                                \
		}                                                              \
	} while (0)

/** Shorthand: @p expr must return 0. */
#define CSX_CHECK_OK(expr) CSX_CHECK_RC(expr, 0)

/** Pointer must be NULL. */
#define CSX_CHECK_NULL(p)                                                     \
	do {                                                                  \
		const void *csx__p = (p);                                     \
		if (csx__p) {                                                 \
			csx_test_fail(__FILE__, __LINE__,                     \
				      "%s is %p, expected NULL", #p, csx__p); \
			return;                                               \
		}                                                             \
	} while (0)

/** Pointer must not be NULL. */
#define CSX_CHECK_NOT_NULL(p) CSX_CHECK((p) != NULL)

/** Two C strings must be equal (neither NULL). */
#define CSX_CHECK_STR_EQ(a, b)                                             \
	do {                                                               \
		const char *csx__sa = (a);                                 \
		const char *csx__sb = (b);                                 \
		if (!csx_test_str_eq(csx__sa, csx__sb)) {                  \
			csx_test_fail(__FILE__, __LINE__,                  \
				      "%s is \"%s\", expected \"%s\"", #a, \
				      csx__sa ? csx__sa : "(null)",        \
				      csx__sb ? csx__sb : "(null)");       \
			return;                                            \
		}                                                          \
	} while (0)

/** Run a void helper that checks; end the case too if it failed. */
#define CSX_STEP(call)                 \
	do {                           \
		call;                  \
		if (csx_test_failed()) \
			return;        \
	} while (0)

/** Skip the case (a capability the back end lacks) and end it. */
#define CSX_SKIP(reason)               \
	do {                           \
		csx_test_skip(reason); \
		return;                \
	} while (0)

/* ---- Waiting without hanging -------------------------------------------- */

/*
 * Bound on any wait for something that must happen. It only exists so a
 * broken back end fails instead of hanging the run (a kernel module cannot
 * be killed); it is far above anything a working one needs, even under
 * sanitizers or QEMU's software emulation, and nothing asserts speed.
 */
#define CSX_TEST_PATIENCE_NS (30 * CSX_NSEC_PER_SEC)

/*
 * How long a case watches for something that must NOT happen (an ISR while
 * disabled, a timer after stop). A correct back end passes whatever its
 * length; a longer window only catches more broken ones.
 */
#define CSX_TEST_SETTLE_NS (20 * CSX_NSEC_PER_MSEC)

/**
 * Evaluates to true once @p cond holds, polling every millisecond, or to
 * false after CSX_TEST_PATIENCE_NS. Thread context only (it sleeps).
 */
#define CSX_EVENTUALLY(cond)                                              \
	({                                                                \
		uint64_t csx__end = csx_time_ns() + CSX_TEST_PATIENCE_NS; \
		bool csx__ok;                                             \
		while (!(csx__ok = (cond)) && csx_time_ns() < csx__end)   \
			csx_thread_sleep(CSX_NSEC_PER_MSEC);              \
		csx__ok;                                                  \
	})

/** Fail and end the case unless @p cond becomes true in time. */
#define CSX_CHECK_EVENTUALLY(cond)                                     \
	do {                                                           \
		if (!CSX_EVENTUALLY(cond)) {                           \
			csx_test_fail(__FILE__, __LINE__,              \
				      "never became true: %s", #cond); \
			return;                                        \
		}                                                      \
	} while (0)

/** Sleep CSX_TEST_SETTLE_NS: give a wrong behaviour the chance to show. */
static inline void csx_test_settle(void)
{
	csx_thread_sleep(CSX_TEST_SETTLE_NS);
}

/**
 * Busy-wait @p ns without sleeping: usable in ISR/DPC context and with
 * interrupts disabled, where sleeping is refused.
 */
static inline void csx_test_spin_ns(uint64_t ns)
{
	uint64_t end = csx_time_ns() + ns;

	while (csx_time_ns() < end)
		__asm__ __volatile__("" ::: "memory");
}

/*
 * csx_test_linger() - Keep a callback (DPC, timer, ISR) running while the
 * case calls the function that must wait for it.
 * @param started Set to 1 at once, so the case knows the callback runs.
 * @param go_on The case sets it to 1 just before that call.
 * @param finished Set to 1 when the callback returns.
 *
 * The callback spins until @p go_on, plus 2 ms for the call to be well
 * under way. The spin is capped at 50 ms: in kernel mode the callback may
 * run on the case thread's own CPU, preempting it, so it must not wait
 * for the case. Then the case sees it finished, which is correct as well.
 */
static inline void csx_test_linger(long *started, const long *go_on,
				   long *finished)
{
	uint64_t end = csx_time_ns() + 50 * CSX_NSEC_PER_MSEC;

	__atomic_store_n(started, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(go_on, __ATOMIC_SEQ_CST) && csx_time_ns() < end)
		csx_test_spin_ns(10 * CSX_NSEC_PER_USEC);
	csx_test_spin_ns(2 * CSX_NSEC_PER_MSEC);
	__atomic_store_n(finished, 1, __ATOMIC_SEQ_CST);
}

/* ---- Shared counters -----------------------------------------------------
 * CSX has no atomics API, and the suite may not use <stdatomic.h> or the
 * kernel's: the compiler's builtins work in both modes and ThreadSanitizer
 * understands them.
 */

static inline long csx_test_load(const long *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static inline void csx_test_store(long *p, long v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

/** Atomically add @p v; returns the new value. */
static inline long csx_test_add(long *p, long v)
{
	return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
}

static inline long csx_test_inc(long *p)
{
	return csx_test_add(p, 1);
}

static inline long csx_test_dec(long *p)
{
	return csx_test_add(p, -1);
}

/** Raise *@p p to @p v if it is lower (a running maximum). */
static inline void csx_test_max(long *p, long v)
{
	long cur = csx_test_load(p);

	while (cur < v &&
	       !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST))
		;
}

/* ---- Small helpers ------------------------------------------------------ */

static inline bool csx_test_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static inline size_t csx_test_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static inline void csx_test_memset(void *p, int c, size_t n)
{
	unsigned char *b = p;

	while (n--)
		*b++ = (unsigned char)c;
}

/** Maximum number of workers in one csx_test_workers group. */
#define CSX_TEST_MAX_WORKERS 8

/**
 * A group of worker threads started together and joined together: the
 * join collects every exit code so the case checks them only after all
 * threads are gone.
 */
struct csx_test_workers {
	struct csx_thread *thread[CSX_TEST_MAX_WORKERS];
	int exit_code[CSX_TEST_MAX_WORKERS];
	int join_rc[CSX_TEST_MAX_WORKERS];
	unsigned int started;
};

/**
 * csx_test_workers_start() - Start @p n threads running @p fn.
 * @param w The group (any contents; it is reset).
 * @param n At most CSX_TEST_MAX_WORKERS.
 * @param fn The body.
 * @param args @p n arguments, one per thread, as an array of @p size bytes
 *             each starting at @p args; NULL gives every thread NULL.
 * @param size Size of one argument element.
 * @return 0, or the first failing csx_thread_create() status (the threads
 *         already started keep running; join them anyway).
 */
int csx_test_workers_start(struct csx_test_workers *w, unsigned int n,
			   csx_thread_fn fn, void *args, size_t size);

/**
 * csx_test_workers_join() - Join every started thread.
 * @param w The group.
 * @return 0 if every join succeeded and every body returned 0; otherwise
 *         the first non-zero join status or exit code.
 */
int csx_test_workers_join(struct csx_test_workers *w);

#endif /* CSX_TEST_H */
