/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to the portable core: handle checking, object accounting, the
 * context checker, tiny freestanding string helpers and the structures one
 * area of the core shares with another.
 *
 * The core is compiled into the kernel module as well as into user-space
 * libraries, so it includes nothing but <csx/...> headers and calls nothing
 * of the OS but csx_os_* hooks and compiler builtins.
 */
#ifndef CSX_CORE_H
#define CSX_CORE_H

#include <csx/csx.h>
#include <csx/csx_os.h>

#define csx__likely(x) __builtin_expect(!!(x), 1)
#define csx__unlikely(x) __builtin_expect(!!(x), 0)
#define csx__cold __attribute__((__cold__, __noinline__))
/* A hot path's helper, inlined into each caller whatever the heuristics. */
#define csx__always_inline inline __attribute__((__always_inline__))

/* ---- Handles ---------------------------------------------------------- */

/*
 * Every core object starts with a magic word, distinct per type, checked on
 * every call. Destroying an object overwrites it with CSX__MAGIC_DEAD so a
 * stale handle is refused until its memory is reused.
 */
#define CSX__MAGIC_DPC 0xc5a1d0c1u
#define CSX__MAGIC_TIMER 0xc5a17173u
#define CSX__MAGIC_MUTEX 0xc5a1307eu
#define CSX__MAGIC_SPIN 0xc5a15b19u
#define CSX__MAGIC_RWLOCK 0xc5a12e10u
#define CSX__MAGIC_EVENT 0xc5a1e7e1u
#define CSX__MAGIC_SEM 0xc5a15e31u
#define CSX__MAGIC_THREAD 0xc5a17d12u
#define CSX__MAGIC_INTR 0xc5a11219u
#define CSX__MAGIC_DEVICE 0xc5a1de71u
#define CSX__MAGIC_DMA 0xc5a1d3a1u
#define CSX__MAGIC_SERVICE 0xc5a15e77u
#define CSX__MAGIC_CHAN 0xc5a1c4a1u
#define CSX__MAGIC_SHBUF 0xc5a15b0fu
/* A service withdrawn but still referenced by open channels. */
#define CSX__MAGIC_SERVICE_GONE 0xc5a15e00u
#define CSX__MAGIC_DEAD 0xdeadc5a1u

/* Relaxed atomics: a handle destroyed by another thread is a caller bug,
 * but reading the word must not itself be a data race. */
#define csx__magic_ok(obj, want)                                        \
	csx__likely((obj) != NULL &&                                    \
		    __atomic_load_n(&(obj)->magic, __ATOMIC_RELAXED) == \
			    (want))
#define csx__magic_set(obj, val) \
	__atomic_store_n(&(obj)->magic, (val), __ATOMIC_RELAXED)

/*
 * csx__bad_handle() - Log that @func got a NULL or stale handle.
 * Returns -CSX_EINVAL so callers can "return csx__bad_handle(...)".
 */
int csx__bad_handle(const char *func, const void *obj) csx__cold;

/* ---- Object accounting (leaks are reported at csx__core_fini) -------- */

enum csx__type {
	CSX__T_ALLOC, /* csx_alloc() blocks */
	CSX__T_DPC,
	CSX__T_TIMER,
	CSX__T_MUTEX,
	CSX__T_SPIN,
	CSX__T_RWLOCK,
	CSX__T_EVENT,
	CSX__T_SEM,
	CSX__T_THREAD,
	CSX__T_INTR,
	CSX__T_DEVICE,
	CSX__T_DMA,
	CSX__T_SERVICE,
	CSX__T_CHAN,
	CSX__T_DRIVER,
	CSX__T_STATE,
	CSX__T_SHBUF,
	CSX__T_COUNT
};

void csx__live_inc(enum csx__type type);
void csx__live_dec(enum csx__type type);
/* Objects of @type created and not yet destroyed. */
unsigned long csx__live_count(enum csx__type type);
/* Log every non-zero live count; returns the total. */
unsigned long csx__live_report(void);

/* Zeroed memory for core objects (thread context). */
void *csx__zalloc(size_t size);
void csx__free(void *ptr);
/* Free a destroyed handle later, keeping its poisoned magic readable. */
void csx__retire(void *obj);
/* Free every retired handle (core fini). */
void csx__retire_drain(void);

/* ---- Core state ------------------------------------------------------- */

/* True between a successful csx__core_init() and csx__core_fini(). */
bool csx__core_ready(void);
/* Complain that @func ran before csx__core_init(); returns -CSX_EINVAL. */
int csx__not_ready(const char *func) csx__cold;
/* The lock guarding the core's registries (drivers, services). */
void csx__core_lock(void);
void csx__core_unlock(void);

/* DPC queues, set up and torn down by csx_core.c. */
int csx__dpc_init(void);
void csx__dpc_fini(void);
/* Stop the asynchronous call workers (no channel is left open). */
void csx__service_fini(void);
/*
 * csx__dpc_run_batch() - Run, in DPC context, the DPCs queued on @cpu now:
 * one batch, oldest first; what is queued meanwhile kicks the executor as
 * usual. For back-end threads other than @cpu's executor (the user-mode
 * wait thread after its ISR); safe alongside the executor and other
 * runners. A back end that skips kicks while such a runner is about to
 * take the list must order its check after the push (both are
 * sequentially consistent) and call this after it stops advertising.
 */
void csx__dpc_run_batch(unsigned int cpu);

/* ---- Context checking (csx_context.c) --------------------------------- */

/* The slow half of csx__might_sleep(): 0 or -CSX_EDEADLK, reported. */
int csx__might_sleep_check(const char *func, unsigned int ctx);

/*
 * csx__might_sleep() - Refuse a sleeping call from atomic context: logs,
 * counts, calls csx_os_bug() in strict mode and returns -CSX_EDEADLK;
 * returns 0 where sleeping is allowed. Inline: every sleeping entry point
 * runs it, and the answer is nearly always a plain "yes".
 */
static inline int csx__might_sleep(const char *func)
{
	if (csx__likely(csx_os_may_sleep()))
		return 0;
	return csx__might_sleep_check(func, csx_os_context());
}
/* Report a misuse other than sleeping (logged by the caller): bug if strict. */
void csx__misuse(const char *what);
bool csx__strict(void);
/* Called by csx__core_init() with the tunable's value. */
void csx__ctx_init(bool strict);

/* Polling step of the core's "wait until idle" loops. */
#define CSX__POLL_NS (20 * CSX_NSEC_PER_USEC)

/* ---- Freestanding helpers (no libc in the core) ---------------------- */

size_t csx__strlen(const char *s);
size_t csx__strnlen(const char *s, size_t max);
int csx__strcmp(const char *a, const char *b);
/* Copy at most size - 1 bytes and terminate; returns strlen(src). */
size_t csx__strlcpy(char *dst, const char *src, size_t size);
/* A copy in core memory, or NULL. */
char *csx__strdup(const char *s);
/*
 * Unlink @obj from the singly linked list whose first element @head points
 * to (elements linked through ->next); nothing if it is not there. The
 * caller holds whatever guards the list.
 */
#define csx__slist_unlink(head, obj)                                    \
	do {                                                            \
		__typeof__(obj) *pos__;                                 \
		for (pos__ = (head); *pos__; pos__ = &(*pos__)->next) { \
			if (*pos__ == (obj)) {                          \
				*pos__ = (obj)->next;                   \
				break;                                  \
			}                                               \
		}                                                       \
	} while (0)

/* Service and saved-state names, NUL included. */
#define CSX__NAME_MAX 64
/*
 * "module/name": printable, no blanks, both parts non-empty, shorter than
 * CSX__NAME_MAX.
 */
bool csx__name_ok(const char *name);
/* CRC-32C (Castagnoli) of @len bytes, continuing from @crc (0 to start). */
uint32_t csx__crc32c(uint32_t crc, const void *buf, size_t len);

/* ---- Shared structures ------------------------------------------------ */

#define CSX__BARS 6

struct csx_device {
	uint32_t magic;
	uint32_t refs; /* probe's + one per interrupt and DMA buffer */
	struct csx_driver *drv;
	struct csx_os_dev *od;
	char *name;
	void *drvdata;
	struct csx_intr *intr; /* the one attached interrupt, or NULL */
	uint32_t bad_access;   /* rate-limits the range-check log */
	uint32_t dma_live;
	uint64_t bar_size[CSX__BARS];
	unsigned int unit;	 /* csx_dev_unit() */
	struct csx_device *next; /* csx__devs, under the core lock */
};

void csx__dev_get(struct csx_device *dev);
void csx__dev_put(struct csx_device *dev);

/* Detach @intr during device removal when the driver forgot to. */
void csx__intr_force_detach(struct csx_intr *intr);

/* Largest semaphore count; csx_sem_up() beyond it fails -CSX_EOVERFLOW. */
#define CSX__SEM_MAX 0x7fffffffu

/* Key csx_intr_disable() returns for a bad handle; restore ignores it. */
#define CSX__INTR_BAD_KEY 0xc5a1bad0UL

#endif /* CSX_CORE_H */
