/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_context.h
 * @brief Execution context queries and the sleeping-call checker.
 *
 * Code runs in one of three contexts: thread (may sleep), DPC (deferred
 * procedure call or timer callback; may not sleep) and ISR (interrupt
 * service routine; may not sleep). A thread that has disabled an interrupt
 * with csx_intr_disable() or holds a spinlock may not sleep either.
 *
 * Every CSX function that may sleep checks the context first, like the
 * kernel's might_sleep(). A violation is logged with the function's name,
 * counted (csx_ctx_violations()) and the call fails with -CSX_EDEADLK (or
 * returns NULL) instead of sleeping. In strict mode (the default in debug
 * builds, see csx_ctx_set_strict()) the violation is also fatal: abort()
 * in user mode, a kernel WARN in kernel mode, so it cannot go unnoticed.
 */
#ifndef CSX_CONTEXT_H
#define CSX_CONTEXT_H

#include <csx/csx_types.h>

/**
 * csx_in_isr() - Is the caller an interrupt service routine?
 * @return true inside an ISR run by CSX (user mode: the wait thread while it
 *         runs the driver's ISR; kernel mode: hard interrupt context).
 */
bool csx_in_isr(void);

/**
 * csx_in_dpc() - Is the caller a DPC or a timer callback?
 * @return true inside a DPC or timer callback.
 */
bool csx_in_dpc(void);

/**
 * csx_in_atomic() - May the caller not sleep?
 * @return true in ISR or DPC context, with an interrupt disabled through
 *         csx_intr_disable(), or with a spinlock held.
 */
bool csx_in_atomic(void);

/**
 * csx_ctx_violations() - Count of sleeping calls refused so far.
 * @return Number of violations reported since the module started.
 *
 * Any context.
 */
unsigned long csx_ctx_violations(void);

/**
 * csx_ctx_set_strict() - Make violations fatal or not.
 * @param strict true: a violation aborts (user) or WARNs (kernel) after
 *               being logged; false: it is logged, counted and the call
 *               fails with -CSX_EDEADLK.
 * @return The previous setting.
 *
 * Defaults to true in debug builds (CSX_DEBUG defined) and false otherwise.
 * User mode: the environment variable CSX_STRICT=0/1 overrides the default.
 */
bool csx_ctx_set_strict(bool strict);

#endif /* CSX_CONTEXT_H */
