/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: interrupt emulation.
 *
 * Every attached interrupt (device or software line) has a WAIT THREAD that
 * sleeps until the interrupt fires, takes the interrupt's WRITELOCK, runs
 * the driver's ISR in ISR context, releases the lock, signals end of
 * interrupt to the device, then runs the DPCs queued on its CPU in DPC
 * context (those the ISR queued need no hand-off to the executor).
 * Simulated devices wake the wait thread through a futex; a device whose
 * interrupts arrive in the kernel (the kernel helper, kh/) has the wait
 * thread block in the kernel instead (intr_wait, see csx_user_dev.h).
 * csx_intr_disable() takes the READLOCK, so the ISR never runs while any
 * thread holds the interrupt disabled.
 *
 * READLOCK/WRITELOCK is built for a reader that never writes a shared cache
 * line: each thread has a record with one nesting depth per interrupt slot,
 * and the writer scans all records. The reader's fast path is inlined into
 * the driver (csx_intr_disable()/csx_intr_restore() in our
 * csx_os_types.h): the writer word, the slot, the mode and the restore key
 * sit in the head of the core's handle (struct csx_os_intr_hot), the
 * pointer to the thread's record in a public initial-exec TLS block
 * (csx__user_intr_tls). What the inline code cannot decide comes back
 * through the core's checked path to csx_os_intr_disable() and
 * csx_os_intr_restore() below. Reader and writer synchronize like
 * Dekker's algorithm (reader: store depth, then load the writer flag;
 * writer: store the flag, then load every depth), which needs a store->load
 * barrier on both sides. Who pays for the reader's barrier is the mode:
 *
 * - FENCE: the reader's depth store is a locked exchange (a full barrier);
 *   the writer's barrier is its locked flag store. ~0.6 ns per reader pair
 *   more than MEMBARRIER, nothing extra per interrupt.
 * - MEMBARRIER: the reader has only a compiler barrier; the writer runs
 *   membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which makes every running
 *   thread of the process execute a full barrier. Near-free readers, a
 *   syscall plus IPIs per interrupt.
 *
 * The restore side never fences in either mode. A reader dropping its last
 * hold wakes the writer if it sees the writer flag; the writer, before it
 * sleeps on a reader, makes sure that check cannot miss it: in MEMBARRIER
 * mode the membarrier already issued covers it, in FENCE mode it issues one
 * then (only when it must sleep, which is rare). Without membarrier(2) at
 * all, FENCE mode's writer sleeps in short timed slices instead.
 *
 * Default: FENCE. Figures in doc/architecture.md ("Interrupts: READLOCK /
 * WRITELOCK"): inlined, a disable+restore pair costs 2.5-3 ns in either
 * mode (FENCE pays its locked exchange), while the writer's membarrier()
 * costs 0.4-0.6 us with no other thread of ours running and 13-20 us when
 * one runs on the other CPU (an IPI in a guest), against <0.1 us for
 * FENCE's whole WRITELOCK. CSX_READLOCK=membarrier selects it where
 * readers vastly outnumber interrupts.
 */
#include "csx_user_internal.h"
#include "csx_user_dev.h"

#include <limits.h>
#include <stddef.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../csx-api/src/csx_core.h" /* CSX__MAGIC_INTR */

#define CSX_USER_INTR_SLOTS CSX__USER_INTR_SLOTS

/* Keys: see CSX__USER_INTR_KEY(). A slot no interrupt has: own ISR. */
#define CSX_USER_KEY_ISR (CSX__USER_KEY_MAGIC | 0xff0000UL)

_Static_assert(CSX__USER_INTR_MAGIC == CSX__MAGIC_INTR,
	       "csx_os_types.h's handle magic is the core's");
_Static_assert(CSX_USER_INTR_SLOTS < 0xff &&
		       !(CSX_USER_INTR_SLOTS & (CSX_USER_INTR_SLOTS - 1)),
	       "slots: a power of 2 (the inline restore masks), below the "
	       "ISR key's 0xff");

/* A thread's READLOCK record: written by its owner only. */
struct csx_user_reader {
	uint32_t depth[CSX_USER_INTR_SLOTS];
	/* Registry: append-only, so writers scan it without a lock. */
	struct csx_user_reader *next;
	uint32_t in_use; /* claimed by a live thread */
} __attribute__((aligned(CSX_USER_CACHELINE)));

/* struct csx_user_irq state word (a futex). */
enum {
	CSX_USER_IRQ_IDLE = 0,
	CSX_USER_IRQ_PENDING = 1,  /* fired, the wait thread has not taken it */
	CSX_USER_IRQ_SLEEPING = 2, /* the wait thread sleeps: fire wakes it */
	CSX_USER_IRQ_DEVWAIT = 3,  /* it blocks in intr_wait: fire kicks */
};

struct csx_user_irq {
	uint32_t state;
};

/* Writer word (a futex). */
enum {
	CSX_USER_WRITER_FREE = 0,
	CSX_USER_WRITER_HELD = 1,
	CSX_USER_WRITER_HELD_WAITERS = 2, /* readers sleep on the word */
};

struct csx_os_intr {
	/* In the core's handle, read by every disable: writer, slot, mode. */
	struct csx_os_intr_hot *hot;
	uint32_t slot;
	int mode; /* enum csx_user_readlock_mode, fixed at attach */
	bool is_msi;
	struct csx_intr *core;
	struct csx_os_dev *dev; /* NULL: software line */
	pthread_t tid;

	/* Slow paths. */
	uint32_t wake_seq __attribute__((aligned(CSX_USER_CACHELINE)));
	uint32_t blocked; /* readers waiting for the writer to finish */

	/* Written by every fire and by the wait thread. */
	struct csx_user_irq irq __attribute__((aligned(CSX_USER_CACHELINE)));
	bool stop;
	bool dev_wait; /* the device has intr_wait/intr_kick; fixed at attach */
	uint64_t spin_ns;
};

static struct {
	pthread_mutex_t lock; /* slots */
	uint64_t used;	      /* slot bitmap */
	struct csx_os_intr *slot_intr[CSX_USER_INTR_SLOTS];
	struct csx_user_reader *readers; /* registry head */
	pthread_key_t key;		 /* runs csx_user_reader_exit() */
	bool key_ok;
	bool membarrier; /* private expedited registered */
	int mode;	 /* for the next attach */
} csx_user_intrs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.mode = CSX_USER_READLOCK_FENCE,
};

static pthread_once_t csx_user_intr_once = PTHREAD_ONCE_INIT;

__thread struct csx_os_intr_tls csx__user_intr_tls
	__attribute__((tls_model("initial-exec")));

/* ---- Barriers ------------------------------------------------------------ */

static void csx_user_membarrier(void)
{
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
		csx_os_bug("membarrier(PRIVATE_EXPEDITED) failed");
}

static void csx_user_reader_exit(void *p);

/* Once per process: the registration and the key outlive init/fini. */
static void csx_user_intr_setup(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    !syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		     0, 0))
		csx_user_intrs.membarrier = true;
	csx_user_intrs.key_ok =
		!pthread_key_create(&csx_user_intrs.key, csx_user_reader_exit);
}

int csx__user_readlock_set_mode(int mode)
{
	if (mode != CSX_USER_READLOCK_FENCE &&
	    mode != CSX_USER_READLOCK_MEMBARRIER)
		return -CSX_EINVAL;
	pthread_once(&csx_user_intr_once, csx_user_intr_setup);
	if (mode == CSX_USER_READLOCK_MEMBARRIER && !csx_user_intrs.membarrier)
		return -CSX_ENOSYS;
	__atomic_store_n(&csx_user_intrs.mode, mode, __ATOMIC_RELAXED);
	return 0;
}

int csx__user_readlock_mode(void)
{
	return __atomic_load_n(&csx_user_intrs.mode, __ATOMIC_RELAXED);
}

int csx__user_readlock_init(void)
{
	const char *v = getenv("CSX_READLOCK");
	int mode = CSX_USER_READLOCK_FENCE; /* see the top of this file */

	pthread_once(&csx_user_intr_once, csx_user_intr_setup);
	if (!csx_user_intrs.key_ok)
		return -CSX_ENOMEM;
	if (v && !strcmp(v, "membarrier"))
		mode = CSX_USER_READLOCK_MEMBARRIER;
	else if (v && strcmp(v, "fence"))
		csx_warn("CSX_READLOCK=%s: expected fence or membarrier", v);
	if (csx__user_readlock_set_mode(mode)) {
		csx_warn(
			"CSX_READLOCK=membarrier: membarrier(2) not available, "
			"using fence");
		csx__user_readlock_set_mode(CSX_USER_READLOCK_FENCE);
	}
	return 0;
}

/* ---- Reader records ------------------------------------------------------ */

static struct csx_user_reader *csx_user_reader_new(void)
{
	struct csx_user_reader *r;

	r = aligned_alloc(CSX_USER_CACHELINE, sizeof(*r));
	if (!r) /* disable cannot fail */
		csx_os_bug("no memory for a thread's interrupt-disable record");
	memset(r, 0, sizeof(*r));
	r->in_use = 1;
	r->next = __atomic_load_n(&csx_user_intrs.readers, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&csx_user_intrs.readers, &r->next,
					    r, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED))
		;
	return r;
}

/* A thread's first disable: reuse the record of a thread that exited. */
static struct csx_user_reader *csx_user_reader_attach(void)
{
	struct csx_user_reader *r;
	uint32_t unused;

	pthread_once(&csx_user_intr_once, csx_user_intr_setup);
	r = __atomic_load_n(&csx_user_intrs.readers, __ATOMIC_ACQUIRE);
	for (; r; r = r->next) {
		unused = 0;
		if (!__atomic_load_n(&r->in_use, __ATOMIC_RELAXED) &&
		    __atomic_compare_exchange_n(&r->in_use, &unused, 1, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
	}
	if (!r)
		r = csx_user_reader_new();
	if (csx_user_intrs.key_ok)
		pthread_setspecific(csx_user_intrs.key, r);
	csx__user_tls.reader = r;
	csx__user_intr_tls.depth = r->depth;
	return r;
}

/* ---- READLOCK ------------------------------------------------------------ */

static unsigned long csx_user_key(uint32_t slot, uint32_t depth)
{
	return CSX__USER_INTR_KEY(slot, depth);
}

static uint32_t *csx_user_writer(struct csx_os_intr *oi)
{
	return &oi->hot->writer;
}

static CSX_USER_COLD void csx_user_wake_writer(struct csx_os_intr *oi)
{
	__atomic_fetch_add(&oi->wake_seq, 1, __ATOMIC_SEQ_CST);
	csx_user_futex_wake(&oi->wake_seq, 1);
}

/* The inline restore dropped the last hold and saw the writer. */
void csx__user_intr_wake_writer(struct csx_os_intr *oi)
{
	csx_user_wake_writer(oi);
}

/* Drop this thread's last hold; wake a writer that waits for it. */
static inline void csx_user_read_leave(struct csx_os_intr *oi, uint32_t *depth)
{
	__atomic_store_n(depth, 0, __ATOMIC_RELEASE);
	/* Keep the compiler from hoisting the flag load above the store. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (csx_user_unlikely(
		    __atomic_load_n(csx_user_writer(oi), __ATOMIC_RELAXED)))
		csx_user_wake_writer(oi);
}

/* Take the first hold. false: a writer is active (undo with leave). */
static inline bool csx_user_read_try(struct csx_os_intr *oi, uint32_t *depth)
{
	if (oi->mode == CSX_USER_READLOCK_FENCE) {
		__atomic_exchange_n(depth, 1, __ATOMIC_SEQ_CST);
		return !__atomic_load_n(csx_user_writer(oi), __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(depth, 1, __ATOMIC_RELAXED);
	/* The CPU may still reorder: the writer's membarrier() covers it. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return !__atomic_load_n(csx_user_writer(oi), __ATOMIC_SEQ_CST);
}

static void csx_user_read_wait_writer(struct csx_os_intr *oi)
{
	uint32_t w;
	int i;

	for (i = 0; i < CSX_USER_SPIN_LOOPS; i++) {
		if (!__atomic_load_n(csx_user_writer(oi), __ATOMIC_ACQUIRE))
			return;
		csx_user_cpu_relax();
	}
	while ((w = __atomic_load_n(csx_user_writer(oi), __ATOMIC_ACQUIRE))) {
		if (w == CSX_USER_WRITER_HELD &&
		    !__atomic_compare_exchange_n(csx_user_writer(oi), &w,
						 CSX_USER_WRITER_HELD_WAITERS,
						 false, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
			continue;
		csx_user_futex_wait(csx_user_writer(oi),
				    CSX_USER_WRITER_HELD_WAITERS, NULL);
	}
}

/*
 * The ISR is running or about to: step back and wait. Counted in
 * oi->blocked so the wait thread lets us in before it takes the WRITELOCK
 * again: an interrupt storm cannot starve a thread that disables.
 */
static CSX_USER_COLD void csx_user_read_enter_slow(struct csx_os_intr *oi,
						   uint32_t *depth)
{
	__atomic_fetch_add(&oi->blocked, 1, __ATOMIC_RELAXED);
	do {
		csx_user_read_leave(oi, depth);
		csx_user_read_wait_writer(oi);
	} while (!csx_user_read_try(oi, depth));
	if (!__atomic_sub_fetch(&oi->blocked, 1, __ATOMIC_RELEASE))
		csx_user_futex_wake(&oi->blocked, 1);
}

/*
 * The inline disable saw the writer word set. A nested hold (@depth
 * before it > 0) stands: the writer waits for us. A first one steps back
 * and waits for the ISR.
 */
void csx__user_intr_read_wait(struct csx_os_intr *oi, uint32_t depth)
{
	if (!depth)
		csx_user_read_enter_slow(oi,
					 &csx__user_intr_tls.depth[oi->slot]);
}

/*
 * The inline pair keeps no count of holds (a count would be one more
 * read-modify-write per call): look at the record instead, at the slots in
 * use. A thread holds only attached interrupts: detach waits for every
 * other thread's hold and clears the caller's.
 */
static inline bool csx_user_intr_held(const struct csx_user_reader *r)
{
	uint64_t used;
	unsigned int slot;

	if (!r)
		return false;
	used = __atomic_load_n(&csx_user_intrs.used, __ATOMIC_RELAXED);
	for (; used; used &= used - 1) {
		slot = (unsigned int)__builtin_ctzll(used);
		if (__atomic_load_n(&r->depth[slot], __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

bool csx_os_intr_held(void)
{
	return csx_user_intr_held(csx__user_tls.reader);
}

/* Here, not in csx_os_core.c: one call, no second one for the holds. */
bool csx_os_may_sleep(void)
{
	const struct csx_user_tls *tls = &csx__user_tls;

	if (tls->ctx || tls->atomic_depth)
		return false;
	return !csx_user_intr_held(tls->reader);
}

/*
 * The checked path behind the inline one (csx_os_types.h), which comes
 * here for a thread's first disable and for calls from an ISR;
 * unoptimized builds come here for every disable.
 */
unsigned long csx_os_intr_disable(struct csx_os_intr *oi)
{
	struct csx_user_tls *tls = &csx__user_tls;
	struct csx_user_reader *r = tls->reader;
	uint32_t *depth, d;

	if (tls->isr_of == oi)
		return CSX_USER_KEY_ISR;
	if (!r)
		r = csx_user_reader_attach();
	depth = &r->depth[oi->slot];
	d = __atomic_load_n(depth, __ATOMIC_RELAXED);
	if (d) /* nested: the writer cannot be running */
		__atomic_store_n(depth, d + 1, __ATOMIC_RELAXED);
	else if (csx_user_unlikely(!csx_user_read_try(oi, depth)))
		csx_user_read_enter_slow(oi, depth);
	return csx_user_key(oi->slot, d + 1);
}

/* Drop one hold of this thread. */
static void csx_user_read_drop(struct csx_os_intr *oi, uint32_t *depth,
			       uint32_t d)
{
	if (d > 1)
		__atomic_store_n(depth, d - 1, __ATOMIC_RELAXED);
	else
		csx_user_read_leave(oi, depth);
}

/* A key that does not match this thread's holds: report, then cope. */
static CSX_USER_COLD void csx_user_restore_bad(struct csx_os_intr *oi,
					       unsigned long key, uint32_t d)
{
	const struct csx_user_tls *tls = &csx__user_tls;

	if (key == CSX_USER_KEY_ISR) {
		if (tls->isr_of != oi)
			csx_err("csx_intr_restore: ISR key outside the ISR");
		return;
	}
	if (!d) {
		csx_err("csx_intr_restore: interrupt %u is not disabled by "
			"this thread (key %#lx)",
			oi->slot, key);
		return;
	}
	csx_err("csx_intr_restore: mis-nested on interrupt %u: key %#lx, "
		"expected %#lx",
		oi->slot, key, csx_user_key(oi->slot, d));
	/* Drop one hold anyway: a leaked one would block the ISR forever. */
	csx_user_read_drop(oi, &tls->reader->depth[oi->slot], d);
}

/* As csx_os_intr_disable(): behind the inline restore. */
void csx_os_intr_restore(struct csx_os_intr *oi, unsigned long key)
{
	struct csx_user_reader *r = csx__user_tls.reader;
	uint32_t *depth, d;

	depth = r ? &r->depth[oi->slot] : NULL;
	d = depth ? __atomic_load_n(depth, __ATOMIC_RELAXED) : 0;
	if (csx_user_unlikely(!d || key != csx_user_key(oi->slot, d)))
		return csx_user_restore_bad(oi, key, d);
	csx_user_read_drop(oi, depth, d);
}

/* Thread exit (pthread key destructor): release the record for reuse. */
static void csx_user_reader_exit(void *p)
{
	struct csx_user_reader *r = p;
	struct csx_os_intr *oi;
	uint32_t slot;

	for (slot = 0; slot < CSX_USER_INTR_SLOTS; slot++) {
		if (!__atomic_load_n(&r->depth[slot], __ATOMIC_RELAXED))
			continue;
		csx_err("a thread exited with interrupt %u disabled", slot);
		pthread_mutex_lock(&csx_user_intrs.lock);
		oi = csx_user_intrs.slot_intr[slot];
		if (oi)
			csx_user_read_leave(oi, &r->depth[slot]);
		else
			__atomic_store_n(&r->depth[slot], 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&csx_user_intrs.lock);
	}
	csx__user_intr_tls.depth = NULL;
	csx__user_tls.reader = NULL;
	__atomic_store_n(&r->in_use, 0, __ATOMIC_RELEASE);
}

/* ---- WRITELOCK (the wait thread) ----------------------------------------- */

/* Let readers that blocked behind the last ISR in first. */
static void csx_user_write_let_readers_in(struct csx_os_intr *oi)
{
	uint32_t b;
	int i;

	for (i = 0; i < CSX_USER_SPIN_LOOPS; i++) {
		if (!__atomic_load_n(&oi->blocked, __ATOMIC_ACQUIRE))
			return;
		csx_user_cpu_relax();
	}
	while ((b = __atomic_load_n(&oi->blocked, __ATOMIC_ACQUIRE)))
		csx_user_futex_wait(&oi->blocked, b, NULL);
}

/* Wait until one reader record drops its hold on the interrupt. */
static void csx_user_write_wait_reader(struct csx_os_intr *oi, uint32_t *depth)
{
	/* Without membarrier(2) a FENCE-mode wake can be missed: poll. */
	static const struct timespec slice = { 0, 100 * 1000 };
	const struct timespec *timeout = NULL;
	uint32_t seq;
	int i;

	for (i = 0; i < CSX_USER_SPIN_LOOPS; i++) {
		if (!__atomic_load_n(depth, __ATOMIC_SEQ_CST))
			return;
		csx_user_cpu_relax();
	}
	for (;;) {
		seq = __atomic_load_n(&oi->wake_seq, __ATOMIC_ACQUIRE);
		if (oi->mode == CSX_USER_READLOCK_FENCE) {
			/* The reader's leave has no fence: flush it now. */
			if (csx_user_intrs.membarrier)
				csx_user_membarrier();
			else
				timeout = &slice;
		}
		if (!__atomic_load_n(depth, __ATOMIC_SEQ_CST))
			return;
		csx_user_futex_wait(&oi->wake_seq, seq, timeout);
	}
}

static void csx_user_write_lock(struct csx_os_intr *oi)
{
	struct csx_user_reader *r;
	uint32_t slot = oi->slot;

	csx_user_write_let_readers_in(oi);
	__atomic_store_n(csx_user_writer(oi), CSX_USER_WRITER_HELD,
			 __ATOMIC_SEQ_CST);
	if (oi->mode == CSX_USER_READLOCK_MEMBARRIER)
		csx_user_membarrier();
	r = __atomic_load_n(&csx_user_intrs.readers, __ATOMIC_SEQ_CST);
	for (; r; r = r->next)
		if (__atomic_load_n(&r->depth[slot], __ATOMIC_SEQ_CST))
			csx_user_write_wait_reader(oi, &r->depth[slot]);
}

static void csx_user_write_unlock(struct csx_os_intr *oi)
{
	if (__atomic_exchange_n(csx_user_writer(oi), CSX_USER_WRITER_FREE,
				__ATOMIC_RELEASE) ==
	    CSX_USER_WRITER_HELD_WAITERS)
		csx_user_futex_wake(csx_user_writer(oi), INT_MAX);
}

/* ---- Wait thread --------------------------------------------------------- */

static const struct csx_user_dev_ops *csx_user_dev_ops(struct csx_os_dev *d)
{
	return ((const struct csx_user_dev_hdr *)d)->ops;
}

/* The wait thread blocks in the device source: make it come back. */
static CSX_USER_COLD void csx_user_irq_kick(struct csx_user_irq *irq)
{
	struct csx_os_intr *oi =
		(struct csx_os_intr *)((char *)irq -
				       offsetof(struct csx_os_intr, irq));

	csx_user_dev_ops(oi->dev)->intr_kick(oi->dev);
}

void csx_user_irq_fire(struct csx_user_irq *irq)
{
	uint32_t old;

	/* Always exchange: the wait thread's acquire must see our writes. */
	old = __atomic_exchange_n(&irq->state, CSX_USER_IRQ_PENDING,
				  __ATOMIC_ACQ_REL);
	if (old == CSX_USER_IRQ_SLEEPING)
		csx_user_futex_wake(&irq->state, 1);
	else if (old == CSX_USER_IRQ_DEVWAIT)
		csx_user_irq_kick(irq);
}

/* Spin budget left? Reads the clock only every 64 rounds. */
static bool csx_user_spin_on(uint64_t *end, uint64_t spin_ns, unsigned int *n)
{
	if (!*end)
		*end = csx_os_time_ns() + spin_ns;
	return (++*n & 63) || csx_os_time_ns() < *end;
}

/*
 * Wait until the interrupt is pending; leave it pending (it is consumed
 * under the WRITELOCK). false: detach asked the thread to stop.
 */
static bool csx_user_irq_wait(struct csx_os_intr *oi)
{
	struct csx_user_irq *irq = &oi->irq;
	uint64_t spin = __atomic_load_n(&oi->spin_ns, __ATOMIC_RELAXED);
	uint64_t end = 0;
	unsigned int n = 0;
	uint32_t idle;

	for (;;) {
		if (__atomic_load_n(&irq->state, __ATOMIC_ACQUIRE) ==
		    CSX_USER_IRQ_PENDING)
			return !__atomic_load_n(&oi->stop, __ATOMIC_ACQUIRE);
		if (spin && csx_user_spin_on(&end, spin, &n)) {
			csx_user_cpu_relax();
			continue;
		}
		spin = 0; /* budget spent: sleep, burn nothing */
		idle = CSX_USER_IRQ_IDLE;
		if (__atomic_compare_exchange_n(
			    &irq->state, &idle, CSX_USER_IRQ_SLEEPING, false,
			    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			csx_user_futex_wait(&irq->state, CSX_USER_IRQ_SLEEPING,
					    NULL);
	}
}

/*
 * csx_user_irq_wait() for a device with intr_wait: block in the device
 * source, one system call per interrupt (the source folds the previous
 * end of interrupt into it). The state word says DEVWAIT while we may be
 * blocked there, so csx_user_irq_fire() (a raise, detach) kicks us out
 * instead of waking the futex; it is checked before every block and after
 * every return, so no fire is lost. The spin budget does not apply.
 */
static bool csx_user_irq_wait_dev(struct csx_os_intr *oi)
{
	const struct csx_user_dev_ops *ops = csx_user_dev_ops(oi->dev);
	struct csx_user_irq *irq = &oi->irq;
	uint32_t idle, waiting;
	int ret;

	for (;;) {
		if (__atomic_load_n(&irq->state, __ATOMIC_ACQUIRE) ==
		    CSX_USER_IRQ_PENDING)
			return !__atomic_load_n(&oi->stop, __ATOMIC_ACQUIRE);
		idle = CSX_USER_IRQ_IDLE;
		if (!__atomic_compare_exchange_n(
			    &irq->state, &idle, CSX_USER_IRQ_DEVWAIT, false,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		ret = ops->intr_wait(oi->dev);
		if (ret > 0) {
			/* The device interrupted: pending, as a fire would. */
			__atomic_exchange_n(&irq->state, CSX_USER_IRQ_PENDING,
					    __ATOMIC_ACQ_REL);
			continue;
		}
		waiting = CSX_USER_IRQ_DEVWAIT;
		__atomic_compare_exchange_n(&irq->state, &waiting,
					    CSX_USER_IRQ_IDLE, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		if (ret < 0) {
			/* Keep raises and detach working on the futex. */
			csx_err("interrupt %u: waiting in the device source "
				"failed (%s); the device's interrupts are no "
				"longer delivered",
				oi->slot, csx_strerror(ret));
			__atomic_store_n(&oi->dev_wait, false,
					 __ATOMIC_RELEASE);
			return csx_user_irq_wait(oi);
		}
	}
}

static void *csx_user_wait_main(void *arg)
{
	struct csx_os_intr *oi = arg;
	struct csx_user_tls *tls = &csx__user_tls;

	unsigned int cpu;

	tls->role |= CSX_USER_ROLE_WAIT;
	tls->isr_of = oi;
	/* Now, not in the ISR: the ISR's disables must find a record. */
	csx_user_reader_attach();
	while (__atomic_load_n(&oi->dev_wait, __ATOMIC_ACQUIRE) ?
		       csx_user_irq_wait_dev(oi) :
		       csx_user_irq_wait(oi)) {
		csx_user_write_lock(oi);
		/*
		 * Like an interrupt controller, clear the pending state only
		 * as the ISR starts: raises while a reader held the ISR off
		 * merge into this run. Acquire: see what the raisers wrote.
		 */
		__atomic_exchange_n(&oi->irq.state, CSX_USER_IRQ_IDLE,
				    __ATOMIC_ACQUIRE);
		/*
		 * DPCs the ISR queues on this CPU are ours to run: their
		 * kicks need not wake the executor. Only while the ISR runs,
		 * so other threads' DPCs are never held up behind a reader
		 * that keeps the WRITELOCK waiting.
		 */
		cpu = csx__user_dpc_drain_begin();
		tls->ctx |= CSX_OS_CTX_ISR;
		/* The ISR's disables take the checked path: own ones no-op. */
		csx__user_intr_tls.depth = NULL;
		csx__intr_dispatch(oi->core);
		csx__user_intr_tls.depth = tls->reader->depth;
		tls->ctx &= ~CSX_OS_CTX_ISR;
		csx__user_dpc_drain_stop(cpu);
		csx_user_write_unlock(oi);
		if (oi->dev)
			csx_user_dev_ops(oi->dev)->intr_eoi(oi->dev);
		/*
		 * Then run them here, in DPC context, before waiting again
		 * (the ISR still cannot run: only this thread runs it).
		 */
		csx__user_dpc_drain_run(cpu);
	}
	return NULL;
}

/* ---- Attach / detach ----------------------------------------------------- */

static int csx_user_intr_new(struct csx_intr *core, struct csx_os_dev *d,
			     struct csx_os_intr **out)
{
	struct csx_os_intr *oi;
	uint64_t free_slots;

	oi = aligned_alloc(CSX_USER_CACHELINE, sizeof(*oi));
	if (!oi)
		return -CSX_ENOMEM;
	memset(oi, 0, sizeof(*oi));
	oi->core = core;
	oi->dev = d;
	oi->mode = csx__user_readlock_mode();
	pthread_mutex_lock(&csx_user_intrs.lock);
	free_slots = ~csx_user_intrs.used;
	if (free_slots) {
		oi->slot = (uint32_t)__builtin_ctzll(free_slots);
		/* Atomic: csx_os_intr_held() reads it without the lock. */
		__atomic_store_n(&csx_user_intrs.used,
				 csx_user_intrs.used | 1ULL << oi->slot,
				 __ATOMIC_RELAXED);
		csx_user_intrs.slot_intr[oi->slot] = oi;
	}
	pthread_mutex_unlock(&csx_user_intrs.lock);
	if (!free_slots) {
		free(oi);
		return -CSX_ENOSPC;
	}
	/* Before anyone can see the handle: the inline disable reads it. */
	oi->hot = csx__intr_hot(core);
	oi->hot->writer = CSX_USER_WRITER_FREE;
	oi->hot->slot = oi->slot;
	oi->hot->fence = oi->mode == CSX_USER_READLOCK_FENCE;
	oi->hot->key = (uint32_t)csx_user_key(oi->slot, 0);
	oi->hot->os = oi;
	*out = oi;
	return 0;
}

static void csx_user_intr_free(struct csx_os_intr *oi)
{
	pthread_mutex_lock(&csx_user_intrs.lock);
	__atomic_store_n(&csx_user_intrs.used,
			 csx_user_intrs.used & ~(1ULL << oi->slot),
			 __ATOMIC_RELAXED);
	csx_user_intrs.slot_intr[oi->slot] = NULL;
	pthread_mutex_unlock(&csx_user_intrs.lock);
	free(oi);
}

static int csx_user_intr_start(struct csx_os_intr *oi)
{
	char name[32]; /* cut to 15 by csx__user_thread_spawn() */

	snprintf(name, sizeof(name), "csx-isr/%u", oi->slot);
	return csx__user_thread_spawn(&oi->tid, name, CSX_USER_ISR_PRIO, -1,
				      csx_user_wait_main, oi);
}

int csx_os_intr_attach(struct csx_os_dev *d, unsigned int flags,
		       struct csx_intr *core, struct csx_os_intr **out)
{
	const struct csx_user_dev_ops *ops = csx_user_dev_ops(d);
	struct csx_os_intr *oi;
	int ret;

	ret = csx_user_intr_new(core, d, &oi);
	if (ret)
		return ret;
	ret = ops->intr_connect(d, flags, &oi->irq, &oi->is_msi);
	if (ret)
		goto out_free;
	oi->dev_wait = ops->intr_wait && ops->intr_kick;
	/* The ISR may run before we return: publish the handle first. */
	*out = oi;
	ret = csx_user_intr_start(oi);
	if (ret)
		goto out_disconnect;
	return 0;

out_disconnect:
	*out = NULL;
	ops->intr_disconnect(d);
out_free:
	csx_user_intr_free(oi);
	return ret;
}

int csx_os_intr_attach_soft(struct csx_intr *core, struct csx_os_intr **out)
{
	struct csx_os_intr *oi;
	int ret;

	ret = csx_user_intr_new(core, NULL, &oi);
	if (ret)
		return ret;
	*out = oi;
	ret = csx_user_intr_start(oi);
	if (ret) {
		*out = NULL;
		csx_user_intr_free(oi);
	}
	return ret;
}

void csx_os_intr_raise(struct csx_os_intr *oi)
{
	csx_user_irq_fire(&oi->irq);
}

void csx_os_intr_detach(struct csx_os_intr *oi)
{
	uint32_t *me =
		csx__user_tls.reader ? csx__user_tls.reader->depth : NULL;

	__atomic_store_n(&oi->stop, true, __ATOMIC_RELEASE);
	csx_user_irq_fire(&oi->irq);
	/* Blocking in the device: the fire kicked it if it saw it there. */
	if (oi->dev && __atomic_load_n(&oi->dev_wait, __ATOMIC_ACQUIRE))
		csx_user_dev_ops(oi->dev)->intr_kick(oi->dev);
	csx__user_thread_join(oi->tid);
	if (oi->dev)
		csx_user_dev_ops(oi->dev)->intr_disconnect(oi->dev);
	/*
	 * Wait out threads that still hold it disabled: the slot's depth in
	 * every record must be 0 before another interrupt reuses it.
	 */
	if (me && me[oi->slot]) {
		csx_err("csx_intr_detach: caller holds interrupt %u disabled",
			oi->slot);
		__atomic_store_n(&me[oi->slot], 0, __ATOMIC_RELEASE);
	}
	csx_user_write_lock(oi);
	csx_user_write_unlock(oi);
	/* Restores with the stale handle take the checked path. */
	__atomic_store_n(&oi->hot->key, 0, __ATOMIC_RELAXED);
	csx_user_intr_free(oi);
}

/* Ignored by devices that wait in their source (intr_wait): no spinning. */
int csx_os_intr_set_spin(struct csx_os_intr *oi, uint64_t spin_ns)
{
	__atomic_store_n(&oi->spin_ns, spin_ns, __ATOMIC_RELAXED);
	return 0;
}

bool csx_os_intr_is_msi(struct csx_os_intr *oi)
{
	return oi->is_msi;
}
