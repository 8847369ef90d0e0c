/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_dpc.h
 * @brief Deferred procedure calls.
 *
 * A DPC runs a function once, soon, on the CPU that queued it, at a priority
 * above threads and below ISRs. An ISR queues a DPC to finish work that does
 * not need interrupts held off. Queueing a DPC that is already pending merges
 * into the pending run (the function runs once for both) and is reported.
 *
 * Kernel mode: a high-priority bottom half on the queuing CPU. User mode:
 * one DPC thread per CPU, pinned, at real-time priority where allowed.
 *
 * The DPC function runs in DPC context: it may not sleep. A DPC never runs
 * on two CPUs at once, but different DPCs may run at the same time, even
 * DPCs queued on the same CPU (user mode: an interrupt's wait thread runs
 * the DPCs its ISR queued while the CPU's DPC thread runs others), so
 * state shared between DPCs needs a spinlock.
 */
#ifndef CSX_DPC_H
#define CSX_DPC_H

#include <csx/csx_types.h>

/** An opaque DPC handle. */
struct csx_dpc;

/**
 * DPC function.
 * @param dpc The DPC being run.
 * @param ctx The context given at creation.
 */
typedef void (*csx_dpc_fn)(struct csx_dpc *dpc, void *ctx);

/** csx_dpc_queue() result: the DPC was already pending; runs once for both. */
#define CSX_DPC_MERGED 1

/**
 * csx_dpc_create() - Create a DPC.
 * @param out Receives the handle.
 * @param fn The function to run.
 * @param ctx Passed to @p fn.
 * @return 0, -CSX_EINVAL (NULL @p out or @p fn), -CSX_ENOMEM or
 *         -CSX_EDEADLK (atomic context).
 *
 * Thread context; may sleep.
 */
int csx_dpc_create(struct csx_dpc **out, csx_dpc_fn fn, void *ctx);

/**
 * csx_dpc_destroy() - Cancel, wait for a running call, and free.
 * @param dpc The DPC, or NULL.
 * @return 0, -CSX_EINVAL (not a DPC) or -CSX_EDEADLK (called from the DPC
 *         itself or from atomic context).
 *
 * Thread context; may sleep.
 */
int csx_dpc_destroy(struct csx_dpc *dpc);

/**
 * csx_dpc_queue() - Queue a DPC on the caller's CPU.
 * @param dpc The DPC.
 * @return 0 (queued), CSX_DPC_MERGED (already pending: merged), or
 *         -CSX_EINVAL (NULL, destroyed or never-created handle).
 *
 * Any context, including ISR; never sleeps. A DPC may requeue itself:
 * it then runs again on the same CPU, after the DPCs already waiting there
 * (with none waiting, at once, without going through the queue).
 */
int csx_dpc_queue(struct csx_dpc *dpc);

/**
 * csx_dpc_cancel() - Remove a pending DPC before it runs.
 * @param dpc The DPC.
 * @return 1 (it was pending and will not run), 0 (it was not pending; a run
 *         already started is not waited for), -CSX_EINVAL.
 *
 * Any context; never sleeps.
 */
int csx_dpc_cancel(struct csx_dpc *dpc);

/**
 * csx_dpc_flush() - Wait until the DPC is neither pending nor running.
 * @param dpc The DPC.
 * @return 0, -CSX_EINVAL, -CSX_EDEADLK (from the DPC itself or atomic
 *         context).
 *
 * Thread context; may sleep. A DPC that keeps requeueing itself is never
 * idle: stop what requeues it first (csx_dpc_destroy() does the same wait).
 */
int csx_dpc_flush(struct csx_dpc *dpc);

/** Counters of one DPC, see csx_dpc_stats(). */
struct csx_dpc_stats {
	uint64_t queued; /**< csx_dpc_queue() calls that queued it. */
	uint64_t
		merged; /**< csx_dpc_queue() calls merged into a pending run. */
	uint64_t runs;	/**< Times the function ran. */
	uint64_t canceled; /**< Pending runs removed by csx_dpc_cancel(). */
};

/**
 * csx_dpc_stats() - Read a DPC's counters.
 * @param dpc The DPC.
 * @param out Receives the counters.
 * @return 0 or -CSX_EINVAL. Any context.
 */
int csx_dpc_stats(struct csx_dpc *dpc, struct csx_dpc_stats *out);

#endif /* CSX_DPC_H */
