/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-user: what the back-end files (csx_os_*.c) share.
 * Not installed, not part of the API. Benchmarks and tests of the back end
 * may include it for csx__user_readlock_set_mode().
 */
#ifndef CSX_USER_INTERNAL_H
#define CSX_USER_INTERNAL_H

/* csx_os.h names struct csx_timer without declaring it: declare it first. */
#include <csx/csx_timer.h>
#include <csx/csx_os.h>
#include <csx/csx_status.h>
#include <csx/csx_log.h>

#include <pthread.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Back-end symbols the core and hosts never call. */
#define CSX_USER_HIDDEN __attribute__((visibility("hidden")))

/* Slow paths out of line, so fast paths need no register spills. */
#define CSX_USER_COLD __attribute__((cold, noinline))

#define csx_user_likely(x) __builtin_expect(!!(x), 1)
#define csx_user_unlikely(x) __builtin_expect(!!(x), 0)

/* Cache line: hot words that different threads write live apart. */
#define CSX_USER_CACHELINE 64

/* Real-time priorities (SCHED_FIFO) where allowed: ISR above DPC. */
#define CSX_USER_DPC_PRIO 10
#define CSX_USER_ISR_PRIO 11

/* Bounded busy-wait before a futex sleep, in cpu_relax() rounds. */
#define CSX_USER_SPIN_LOOPS 512

/* csx__user_tls.role bits: which back-end thread this is. */
#define CSX_USER_ROLE_DPC 0x1u	 /* a DPC executor */
#define CSX_USER_ROLE_TIMER 0x2u /* the timer loop thread */
#define CSX_USER_ROLE_WAIT 0x4u	 /* an interrupt's wait thread */

struct csx_user_reader;
struct csx_user_exec;

/*
 * Per-thread state. Initial-exec TLS so csx_os_context() is one load from
 * %fs: it is called on every might-sleep check. Keep it small: a library
 * with initial-exec TLS uses the static TLS surplus when dlopen()ed.
 */
struct csx_user_tls {
	unsigned int ctx;	   /* CSX_OS_CTX_ISR / CSX_OS_CTX_DPC */
	unsigned int atomic_depth; /* spinlocks + interrupt disables held */
	unsigned int role;	   /* CSX_USER_ROLE_* */
	struct csx_user_reader *reader; /* READLOCK record, or NULL */
	struct csx_os_intr *isr_of;	/* in a wait thread: its interrupt */
	struct csx_os_thread *self;	/* from csx_os_thread_create() */
	struct csx_user_exec *exec;	/* in a DPC executor: its own */
};

extern __thread struct csx_user_tls csx__user_tls
	__attribute__((tls_model("initial-exec"))) CSX_USER_HIDDEN;

static inline void csx_user_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

/*
 * Futexes on 32-bit words that are otherwise only touched with __atomic
 * builtins, so ThreadSanitizer sees every happens-before edge through the
 * atomics and the syscalls only sleep and wake.
 */
static inline void csx_user_futex_wait(uint32_t *word, uint32_t val,
				       const struct timespec *rel)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, rel, NULL, 0);
}

static inline void csx_user_futex_wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* csx_os_core.c */
int csx__user_status(int err) CSX_USER_HIDDEN;
void csx__user_check(int err, const char *what) CSX_USER_HIDDEN;
int csx__user_cpu_os_id(unsigned int cpu) CSX_USER_HIDDEN;
void csx__user_deadline(struct timespec *ts,
			int64_t timeout_ns) CSX_USER_HIDDEN;

/* csx_os_thread.c */
int csx__user_thread_spawn(pthread_t *out, const char *name, int rt_prio,
			   int os_cpu, void *(*fn)(void *),
			   void *arg) CSX_USER_HIDDEN;
void csx__user_thread_join(pthread_t tid) CSX_USER_HIDDEN;

/* csx_os_timer.c */
int csx__user_timer_init(void) CSX_USER_HIDDEN;
void csx__user_timer_fini(void) CSX_USER_HIDDEN;

/* csx_os_remote.c: close the kernel helper's file for service calls. */
void csx__user_remote_fini(void) CSX_USER_HIDDEN;

/*
 * csx_os_dpc.c: a wait thread runs the DPCs its ISR queued on its CPU.
 * drain_begin() (before the ISR) picks the current CPU and makes its kicks
 * skip the executor's wake-up; drain_stop(cpu) (right after the ISR) ends
 * that; drain_run(cpu) (after the EOI) then runs that CPU's queue in DPC
 * context. Every begin must be followed by stop, then run: DPCs whose kick
 * was skipped wait for that run. UINT_MAX: executors not running, no-ops.
 */
unsigned int csx__user_dpc_drain_begin(void) CSX_USER_HIDDEN;
void csx__user_dpc_drain_stop(unsigned int cpu) CSX_USER_HIDDEN;
void csx__user_dpc_drain_run(unsigned int cpu) CSX_USER_HIDDEN;

/* csx_os_intr.c */
int csx__user_readlock_init(void) CSX_USER_HIDDEN;

/*
 * How csx_os_intr_disable() orders its depth store before its load of the
 * writer flag (see csx_os_intr.c for the trade-off).
 */
enum csx_user_readlock_mode {
	/* The reader pays a locked instruction; the writer pays nothing. */
	CSX_USER_READLOCK_FENCE = 0,
	/* The reader pays a compiler barrier; each ISR pays membarrier(2). */
	CSX_USER_READLOCK_MEMBARRIER = 1,
};

/**
 * csx__user_readlock_set_mode() - Choose the READLOCK barrier for
 * interrupts attached from now on (attached ones keep theirs). For
 * benchmarks and tests; processes set CSX_READLOCK=fence|membarrier.
 * @param mode enum csx_user_readlock_mode.
 * @return 0, -CSX_EINVAL (unknown mode) or -CSX_ENOSYS (membarrier(2)
 *         private expedited is not available here).
 */
int csx__user_readlock_set_mode(int mode);

/**
 * csx__user_readlock_mode() - The mode new attaches get.
 * @return enum csx_user_readlock_mode.
 */
int csx__user_readlock_mode(void);

#endif /* CSX_USER_INTERNAL_H */
