/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_thread.h
 * @brief Threads, sleeping, CPUs and monotonic time.
 *
 * Kernel mode: kthreads. User mode: POSIX threads.
 */
#ifndef CSX_THREAD_H
#define CSX_THREAD_H

#include <csx/csx_types.h>

/** An opaque thread handle. */
struct csx_thread;

/**
 * Thread body.
 * @param arg The argument given to csx_thread_create().
 * @return An exit code handed to csx_thread_join().
 */
typedef int (*csx_thread_fn)(void *arg);

/**
 * csx_thread_create() - Start a thread.
 * @param out Receives the handle; set to NULL on failure.
 * @param name A short name (kernel: task comm, user: pthread name; cut to
 *             15 characters).
 * @param fn The body; it runs in thread context and may sleep.
 * @param arg Passed to @p fn.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL @p out, @p name or @p fn is NULL.
 * @retval -CSX_ENOMEM Out of memory or threads.
 * @retval -CSX_EDEADLK Called from a context that may not sleep.
 *
 * Thread context only; may sleep. Every thread must be joined.
 */
int csx_thread_create(struct csx_thread **out, const char *name,
		      csx_thread_fn fn, void *arg);

/**
 * csx_thread_join() - Wait for a thread to return and free its handle.
 * @param thread The handle from csx_thread_create().
 * @param exit_code Receives the body's return value; may be NULL.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL @p thread is NULL or not a live thread handle.
 * @retval -CSX_EDEADLK A thread joining itself, or called where sleeping is
 *                      forbidden.
 *
 * Thread context only; sleeps until the thread returns.
 */
int csx_thread_join(struct csx_thread *thread, int *exit_code);

/**
 * csx_thread_sleep() - Sleep for at least a duration.
 * @param ns Nanoseconds; 0 only yields.
 * @return 0, or -CSX_EDEADLK when called where sleeping is forbidden.
 *
 * Thread context only.
 */
int csx_thread_sleep(uint64_t ns);

/**
 * csx_thread_yield() - Offer the CPU to other runnable threads.
 *
 * Thread context only; a no-op (and a reported violation) elsewhere.
 */
void csx_thread_yield(void);

/**
 * csx_cpu_current() - The CPU the caller runs on right now.
 * @return A CPU number below csx_cpu_count(). A thread may migrate right
 *         after the call unless it is pinned or atomic.
 */
unsigned int csx_cpu_current(void);

/**
 * csx_cpu_count() - Number of CPUs that may run CSX code.
 * @return At least 1.
 */
unsigned int csx_cpu_count(void);

/**
 * csx_time_ns() - Monotonic time.
 * @return Nanoseconds since an arbitrary fixed point (boot or start);
 *         never goes backwards. Any context.
 */
uint64_t csx_time_ns(void);

#endif /* CSX_THREAD_H */
