/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_intr.h
 * @brief Interrupts: attach an ISR, hold it off, software interrupt lines.
 *
 * The driver's ISR runs in ISR context: it may not sleep, it acknowledges
 * the device, saves what it needs and queues a DPC for the rest.
 *
 * csx_intr_disable() holds off the ISR of one interrupt while the caller
 * touches state the ISR shares; it nests and is cheap.
 * - Kernel mode: the ISR runs under the interrupt's spinlock and disable is
 *   spin_lock_irqsave() on it.
 * - User mode: a wait thread per interrupt runs the ISR holding the
 *   interrupt's internal WRITELOCK; disable takes its READLOCK, so the ISR
 *   never runs while any thread holds interrupts disabled.
 *
 * In user mode two threads may hold the same interrupt disabled at once (the
 * READLOCK is shared); in kernel mode they exclude each other. Portable code
 * therefore uses csx_intr_disable() only to exclude the ISR and a lock to
 * exclude other threads.
 *
 * Calling csx_intr_disable() on an interrupt from its own ISR is allowed and
 * does nothing (the ISR already excludes itself).
 *
 * In user mode csx_intr_disable() and csx_intr_restore() are inlined into
 * the caller (an optimized build; the body comes from the back end's
 * csx_os_types.h), so their cost is a few instructions and one barrier;
 * the exported functions remain for every other caller. The inline code
 * reads the head of the handle, which makes that part of the handle's
 * layout part of libcsx-user's ABI.
 */
#ifndef CSX_INTR_H
#define CSX_INTR_H

#include <csx/csx_types.h>

struct csx_device;
/** An opaque attached-interrupt handle. */
struct csx_intr;

/** What an ISR reports. */
enum csx_irqreturn {
	CSX_IRQ_NONE = 0,    /**< Not this device's interrupt (shared line). */
	CSX_IRQ_HANDLED = 1, /**< The device's interrupt was handled. */
};

/**
 * Interrupt service routine.
 * @param intr The interrupt.
 * @param ctx The context given to the attach call.
 * @return CSX_IRQ_HANDLED or CSX_IRQ_NONE.
 */
typedef enum csx_irqreturn (*csx_isr_fn)(struct csx_intr *intr, void *ctx);

/** @name csx_intr_attach() flags */
/** @{ */
#define CSX_INTR_ANY 0x0u  /**< MSI if the device has it, else INTx. */
#define CSX_INTR_MSI 0x1u  /**< MSI only; fails with -CSX_ENOSYS without it. */
#define CSX_INTR_INTX 0x2u /**< Legacy INTx only. */
/** @} */

/**
 * csx_intr_attach() - Attach an ISR to a device's interrupt.
 * @param dev The device (from probe).
 * @param flags CSX_INTR_ANY, CSX_INTR_MSI or CSX_INTR_INTX.
 * @param isr The ISR.
 * @param ctx Passed to @p isr.
 * @param out Receives the handle.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL NULL argument or unknown flags.
 * @retval -CSX_EEXIST The device already has an attached interrupt.
 * @retval -CSX_ENOSYS The requested kind (MSI/INTx) is not available.
 * @retval -CSX_ENOMEM Out of memory.
 * @retval -CSX_ENOSPC The back end's table of interrupts is full (user
 *                     mode: 64 per process).
 * @retval -CSX_EDEADLK Called from atomic context.
 *
 * Thread context; may sleep. The ISR may run before this returns.
 */
int csx_intr_attach(struct csx_device *dev, unsigned int flags, csx_isr_fn isr,
		    void *ctx, struct csx_intr **out);

/**
 * csx_intr_attach_soft() - Create a software interrupt line with an ISR.
 * @param isr The ISR.
 * @param ctx Passed to @p isr.
 * @param out Receives the handle.
 * @return 0, -CSX_EINVAL, -CSX_ENOMEM, -CSX_ENOSPC (see csx_intr_attach())
 *         or -CSX_EDEADLK.
 *
 * A software line behaves like an edge-triggered interrupt raised with
 * csx_intr_raise(): raises while the ISR is pending merge; the ISR runs in
 * ISR context exactly as for a device (kernel: hard interrupt context via
 * irq_work; user: the wait thread). Useful for tests and for layering.
 */
int csx_intr_attach_soft(csx_isr_fn isr, void *ctx, struct csx_intr **out);

/**
 * csx_intr_raise() - Raise a software interrupt line.
 * @param intr A line from csx_intr_attach_soft().
 * @return 0, -CSX_EINVAL (NULL, detached, or a device interrupt).
 *
 * Any context; never sleeps.
 */
int csx_intr_raise(struct csx_intr *intr);

/**
 * csx_intr_detach() - Detach an ISR.
 * @param intr The handle; freed on success.
 * @return 0, -CSX_EINVAL (NULL or already detached), -CSX_EDEADLK (atomic
 *         context, which includes holding this or any interrupt disabled,
 *         or called from its own ISR).
 *
 * Thread context; waits for a running ISR to finish. After it returns the
 * ISR never runs again. DPCs the ISR queued are not canceled.
 */
int csx_intr_detach(struct csx_intr *intr);

/**
 * csx_intr_disable() - Hold off an interrupt's ISR (nests).
 * @param intr The interrupt.
 * @return A key for csx_intr_restore(). An invalid handle is reported in the
 *         log (and is fatal in strict mode) and yields a key that restore
 *         ignores.
 *
 * Any context; never sleeps; the caller becomes atomic until the matching
 * restore. Keep the section short: the ISR waits for it.
 */
unsigned long csx_intr_disable(struct csx_intr *intr);

/**
 * csx_intr_restore() - Undo the matching csx_intr_disable().
 * @param intr The interrupt.
 * @param key The key that call returned. Restores must come in reverse
 *            order of the disables; a mismatch is reported.
 */
void csx_intr_restore(struct csx_intr *intr, unsigned long key);

/**
 * csx_intr_set_spin() - Let the wait thread spin before blocking.
 * @param intr The interrupt.
 * @param spin_ns How long the wait thread busy-polls for the next interrupt
 *                after one was handled before it blocks (0 = block at once,
 *                the default). Trades CPU time for latency.
 * @return 0, -CSX_EINVAL, or -CSX_ENOSYS where there is no wait thread
 *         (kernel mode: the ISR runs in hard interrupt context; the call is
 *         accepted and ignored there, returning 0).
 */
int csx_intr_set_spin(struct csx_intr *intr, uint64_t spin_ns);

/** Counters of one interrupt, see csx_intr_stats(). */
struct csx_intr_stats {
	uint64_t raised;    /**< Interrupts delivered to the ISR. */
	uint64_t handled;   /**< ISR returned CSX_IRQ_HANDLED. */
	uint64_t unhandled; /**< ISR returned CSX_IRQ_NONE. */
};

/**
 * csx_intr_stats() - Read an interrupt's counters.
 * @param intr The interrupt.
 * @param out Receives the counters.
 * @return 0 or -CSX_EINVAL. Any context.
 */
int csx_intr_stats(struct csx_intr *intr, struct csx_intr_stats *out);

/**
 * csx_intr_is_msi() - Did the attach get a message-signalled interrupt?
 * @param intr The interrupt.
 * @return true for MSI, false for INTx, software lines and bad handles.
 */
bool csx_intr_is_msi(struct csx_intr *intr);

#endif /* CSX_INTR_H */
