/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode body of the basic types (see csx/csx_types.h): the C library's.
 *
 * It also carries the inline fast path of csx_intr_disable() and
 * csx_intr_restore() (csx/csx_intr.h): drivers disable interrupts far more
 * often than interrupts arrive, and two library calls cost more than the
 * READLOCK itself. Everything below is the user back end's, shared with the
 * code it is inlined into; drivers never touch it by name. It fixes part of
 * the handle layout, so it is part of libcsx-user's ABI.
 */
#ifndef CSX_OS_TYPES_H
#define CSX_OS_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal to the back end and the code it inlines into: no API docs. */
/** @cond */
struct csx_intr;
struct csx_os_intr;

/*
 * The head of every interrupt handle: the core puts it first in struct
 * csx_intr (with its magic), the back end fills the rest at attach.
 */
struct csx_os_intr_hot {
	uint32_t magic;	 /* the core's handle magic, checked first */
	uint32_t writer; /* WRITELOCK word (a futex): 0 while no ISR runs */
	uint32_t slot;	 /* the interrupt's depth in every reader record */
	uint32_t fence;	 /* READLOCK mode: locked exchange, else membarrier */
	uint32_t key;	 /* CSX__USER_INTR_KEY(slot, 0); 0 once detached */
	struct csx_os_intr *os;
};

/*
 * Per thread; initial-exec, so the inline code reaches it from %fs. depth:
 * this thread's READLOCK record (one nesting depth per slot), or NULL to
 * send every call to the checked path: before the thread's first disable,
 * and in a wait thread while it runs its ISR (whose own disables are
 * no-ops). Nothing else: the fast path keeps no count of holds, the
 * sleeping-call check reads the record (csx_os_intr_held()).
 */
struct csx_os_intr_tls {
	uint32_t *depth;
};

extern __thread struct csx_os_intr_tls csx__user_intr_tls
	__attribute__((tls_model("initial-exec")));

/* Equal to the core's CSX__MAGIC_INTR (checked there). */
#define CSX__USER_INTR_MAGIC 0xc5a11219u

/* Interrupts per process: the depths in a READLOCK record. */
#define CSX__USER_INTR_SLOTS 64u

/*
 * Keys: magic | slot << 16 | nesting depth after the disable. Restore
 * checks the depth to catch mis-nesting. Never 0 or ~0. A macro: the
 * inline bodies below (gnu_inline, external) may not call static functions.
 */
#define CSX__USER_KEY_MAGIC 0xc5000000UL
#define CSX__USER_INTR_KEY(slot, depth) \
	(CSX__USER_KEY_MAGIC | (unsigned long)(slot) << 16 | ((depth)&0xffffu))

/* Out of line: the core's checked paths and the back end's waits. */
unsigned long csx__intr_disable_slow(struct csx_intr *intr);
void csx__intr_restore_slow(struct csx_intr *intr, unsigned long key);
void csx__user_intr_read_wait(struct csx_os_intr *oi, uint32_t depth);
void csx__user_intr_wake_writer(struct csx_os_intr *oi);

/*
 * csx_intr_disable() inline. It stores the new depth and then loads the
 * writer word (Dekker's pattern; csx-user/csx_os_intr.c explains the two
 * ways to order them). A nested hold takes the same path: the writer
 * cannot be running then, and one branch less is worth more than the
 * rare nested hold's barrier. Few branches and no count of holds: this
 * runs more often than anything else in a driver. A thread's first
 * disable, a bad handle and calls from an ISR go to the checked path.
 */
extern __inline__ __attribute__((__gnu_inline__)) unsigned long
csx_intr_disable(struct csx_intr *intr)
{
	const struct csx_os_intr_hot *h = (const struct csx_os_intr_hot *)intr;
	uint32_t *rec = csx__user_intr_tls.depth, *depth, slot, d;

	/* Branches, not a conditional move: they end dependency chains. */
	if (__builtin_expect(!intr || !rec, 0))
		return csx__intr_disable_slow(intr);
	if (__builtin_expect(__atomic_load_n(&h->magic, __ATOMIC_RELAXED) !=
				     CSX__USER_INTR_MAGIC,
			     0))
		return csx__intr_disable_slow(intr);
	slot = h->slot;
	depth = &rec[slot];
	d = __atomic_load_n(depth, __ATOMIC_RELAXED);
	if (h->fence) {
		__atomic_exchange_n(depth, d + 1, __ATOMIC_SEQ_CST);
	} else {
		__atomic_store_n(depth, d + 1, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	}
	if (__builtin_expect(__atomic_load_n(&h->writer, __ATOMIC_SEQ_CST) != 0,
			     0))
		csx__user_intr_read_wait(h->os, d);
	return CSX__USER_INTR_KEY(slot, d + 1);
}

/* csx_intr_restore() inline; a key that does not match goes to the core. */
extern __inline__ __attribute__((__gnu_inline__)) void
csx_intr_restore(struct csx_intr *intr, unsigned long key)
{
	const struct csx_os_intr_hot *h = (const struct csx_os_intr_hot *)intr;
	uint32_t *rec = csx__user_intr_tls.depth, *depth, slot, d;

	/* Branches, not a conditional move: they end dependency chains. */
	if (__builtin_expect(!intr || !rec, 0))
		return csx__intr_restore_slow(intr, key);
	/*
	 * The key check stands in for the magic check: a detached handle's
	 * key is 0, so its restores go to the checked path too. Until then
	 * the slot may be anything: stay inside the record.
	 */
	slot = h->slot & (CSX__USER_INTR_SLOTS - 1);
	depth = &rec[slot];
	d = __atomic_load_n(depth, __ATOMIC_RELAXED);
	if (__builtin_expect(
		    key != (__atomic_load_n(&h->key, __ATOMIC_RELAXED) |
			    (d & 0xffffu)),
		    0))
		return csx__intr_restore_slow(intr, key);
	/* A constant for the last hold: no chain through memory. */
	if (d > 1) {
		__atomic_store_n(depth, d - 1, __ATOMIC_RELAXED);
		return;
	}
	/* No fence: a writer that must sleep on us flushes this itself. */
	__atomic_store_n(depth, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&h->writer, __ATOMIC_RELAXED) != 0,
			     0))
		csx__user_intr_wake_writer(h->os);
}

/** @endcond */

#endif /* CSX_OS_TYPES_H */
