/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_user.h
 * @brief Starting and stopping CSX in a user process.
 *
 * For hosts (csx-run), tests and standalone executables linked with
 * libcsx-user; drivers never include it (the host starts CSX before their
 * module init runs and stops it after their fini returned).
 *
 * @code
 * if (csx_user_init())
 *         exit(1);
 * ... register drivers, run ...
 * csx_user_fini();
 * @endcode
 *
 * Environment variables read at start: CSX_STRICT, CSX_LOG_LEVEL (see
 * csx_context.h, csx_log.h) and CSX_READLOCK=fence|membarrier (how
 * csx_intr_disable() synchronizes with the wait threads; a tuning knob with
 * no effect on behaviour).
 */
#ifndef CSX_USER_H
#define CSX_USER_H

/**
 * csx_user_init() - Start CSX in this process (the core and the user-mode
 * back end: timer loop, DPC executors).
 * @return 0 or a negative CSX_E* status from starting the core (for
 *         example -CSX_ENOMEM).
 *
 * Reference counted: only the first call starts CSX, and every successful
 * call needs a matching csx_user_fini(). Thread context; thread-safe.
 */
int csx_user_init(void);

/**
 * csx_user_fini() - Drop one reference taken by csx_user_init(); the last
 * one stops CSX: every thread CSX started is joined and its resources are
 * freed.
 *
 * Drivers must have been unregistered and every object they created
 * destroyed before the last call. Thread context; never from a CSX thread
 * (DPC, timer callback, ISR). An unmatched call is logged and ignored.
 */
void csx_user_fini(void);

#endif /* CSX_USER_H */
