/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_state.h
 * @brief Saved state: recoverable state that outlives a driver instance.
 *
 * A module keeps what it needs to resume (settings a client made, counters,
 * the position in a protocol) in a named saved-state region. The region
 * lives outside the instance: in user mode the user helper daemon
 * (csx-uhelperd) holds it, so when the supervisor restarts a crashed
 * process the new instance opens the same name and gets the last commit
 * back; in kernel mode csx.ko holds it, so a module that is unloaded and
 * loaded again gets it back (until csx.ko itself is unloaded).
 *
 * The module works on a private copy (csx_state_data()) and publishes it
 * with csx_state_commit(). The region holds two commit slots, each with a
 * sequence number, the module's version and a CRC-32C; a commit writes the
 * older slot, so a crash in the middle of one leaves the previous commit
 * intact. At open the newest valid slot is restored; a region whose slots
 * are both invalid (torn, overwritten) is discarded with a log line and the
 * module starts fresh (CSX_STATE_DISCARDED).
 *
 * Without a user helper daemon, a user-mode region lives only as long as
 * the process (logged once at open).
 */
#ifndef CSX_STATE_H
#define CSX_STATE_H

#include <csx/csx_types.h>

/** Largest saved-state payload, in bytes. */
#define CSX_STATE_MAX_SIZE (16u << 20)

/** An open saved-state region. */
struct csx_state;

/** What csx_state_open() found. */
enum csx_state_origin {
	/** No saved state under the name: the data is all zero. */
	CSX_STATE_NEW = 0,
	/** The last commit of a previous instance was restored. */
	CSX_STATE_RESTORED = 1,
	/** A region was found but no commit in it was intact: logged,
	 *  discarded, and the data is all zero. */
	CSX_STATE_DISCARDED = 2,
};

/**
 * csx_state_open() - Open (or create) the saved-state region @p name.
 * @param name "module/state": printable, no blanks, under 64 bytes.
 * @param version The layout version of the module's data; stored with
 *                each commit and reported back by csx_state_version().
 * @param size Bytes of data, 1..CSX_STATE_MAX_SIZE.
 * @param out Receives the handle.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL NULL, bad name or size.
 * @retval -CSX_EBUSY The name is open already in this address space.
 * @retval -CSX_ENOMEM Out of memory.
 * @retval -CSX_ENOSPC The helper holds too many regions for this user.
 * @retval -CSX_EDEADLK Called where sleeping is forbidden.
 *
 * Thread context; may sleep. A restored commit of another @p size is
 * copied as far as it fits (the rest is zero); one of another @p version
 * is restored as it is: csx_state_version() tells, the module decides.
 */
int csx_state_open(const char *name, uint32_t version, size_t size,
		   struct csx_state **out);

/**
 * csx_state_origin() - What the open found.
 * @param st Handle. @return enum csx_state_origin.
 */
enum csx_state_origin csx_state_origin(struct csx_state *st);

/**
 * csx_state_version() - The version of the data: of the restored commit,
 * or, for CSX_STATE_NEW / CSX_STATE_DISCARDED and after a commit, the
 * version given to csx_state_open().
 * @param st Handle. @return The version.
 */
uint32_t csx_state_version(struct csx_state *st);

/**
 * csx_state_generation() - Commits made to this region, by every instance
 * together (0 for a new region).
 * @param st Handle. @return The count.
 */
uint64_t csx_state_generation(struct csx_state *st);

/**
 * csx_state_data() - The module's working copy: the size given to
 * csx_state_open(), 8-byte aligned. Changes are saved by
 * csx_state_commit(), not before.
 * @param st Handle. @return The data, or NULL for a bad handle.
 */
void *csx_state_data(struct csx_state *st);

/**
 * csx_state_commit() - Save the working copy: after this returns, a new
 * instance restores exactly these bytes, even if this one dies during a
 * later commit.
 * @param st Handle.
 * @return 0, -CSX_EINVAL (bad handle), -CSX_EDEADLK.
 *
 * Thread context. The caller keeps the working copy stable during the
 * call (commits are serialized with each other, not with the module's
 * own writes).
 */
int csx_state_commit(struct csx_state *st);

/**
 * csx_state_close() - Close the handle.
 * @param st Handle, or NULL.
 * @param keep true: the region stays for the next instance (what a
 *             driver's remove does); false: it is deleted (the device is
 *             gone for good, or the state must not be resumed).
 *
 * Thread context. A process that dies without closing keeps its regions.
 */
void csx_state_close(struct csx_state *st, bool keep);

#endif /* CSX_STATE_H */
