/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Interrupts: attach/detach checks, software lines, statistics, and the
 * disable/restore pair that drivers call on hot paths. A back end may
 * inline that pair into drivers (user mode, see its csx_os_types.h): the
 * handle then starts with the back end's struct csx_os_intr_hot, whose
 * magic is ours, and the inline code comes back here for every case it
 * cannot decide alone. Without inlining (kernel mode, -O0) the pair costs
 * one compare here before the back end's hook.
 *
 * "Detach while the caller holds it disabled" would wait for itself. Holding
 * an interrupt disabled makes the caller atomic, so the sleeping-call check
 * refuses it with -CSX_EDEADLK. The core deliberately keeps no shared
 * per-interrupt count of disables: the user back end's READLOCK is built so
 * that readers never write a cache line another thread reads, and one
 * shared atomic add here would cost more than the whole READLOCK. A
 * non-atomic caller while another thread holds it disabled simply waits in
 * the back end.
 */
#include "csx_core.h"

struct csx_intr {
	/* First: inline fast paths read it (csx__intr_hot()). */
	struct csx_os_intr_hot hot;
	bool soft;
	csx_isr_fn isr;
	void *ctx;
	struct csx_device *dev; /* NULL for a software line */
	struct csx_os_intr *os;
	uintptr_t runner; /* thread running the ISR, or 0 */
	uint64_t raised;
	uint64_t handled;
	uint64_t unhandled;
};

#define CSX__INTR_FLAGS_KNOWN (CSX_INTR_MSI | CSX_INTR_INTX)

/* The magic lives in the back end's head of the handle. */
static inline bool csx__intr_ok(const struct csx_intr *intr)
{
	return csx__likely(
		intr && __atomic_load_n(&intr->hot.magic, __ATOMIC_RELAXED) ==
				CSX__MAGIC_INTR);
}

static inline void csx__intr_set_magic(struct csx_intr *intr, uint32_t magic)
{
	__atomic_store_n(&intr->hot.magic, magic, __ATOMIC_RELAXED);
}

struct csx_os_intr_hot *csx__intr_hot(struct csx_intr *core)
{
	return &core->hot;
}

static struct csx_intr *csx__intr_new(csx_isr_fn isr, void *ctx)
{
	struct csx_intr *intr = csx__zalloc(sizeof(*intr));

	if (!intr)
		return NULL;
	intr->isr = isr;
	intr->ctx = ctx;
	/* Valid before the hook: the ISR may run before attach returns. */
	intr->hot.magic = CSX__MAGIC_INTR;
	return intr;
}

static void csx__intr_free(struct csx_intr *intr)
{
	csx__intr_set_magic(intr, CSX__MAGIC_DEAD);
	csx__free(intr);
}

static bool csx__intr_flags_ok(unsigned int flags)
{
	return !(flags & ~CSX__INTR_FLAGS_KNOWN) &&
	       flags != (CSX_INTR_MSI | CSX_INTR_INTX);
}

/* Claim @dev's single interrupt slot for @intr. */
static int csx__intr_claim(struct csx_device *dev, struct csx_intr *intr)
{
	struct csx_intr *none = NULL;

	if (__atomic_compare_exchange_n(&dev->intr, &none, intr, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;
	csx_err("csx_intr_attach(): device %s already has an interrupt "
		"attached",
		dev->name);
	return -CSX_EEXIST;
}

int csx_intr_attach(struct csx_device *dev, unsigned int flags, csx_isr_fn isr,
		    void *ctx, struct csx_intr **out)
{
	struct csx_intr *intr;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (!csx__magic_ok(dev, CSX__MAGIC_DEVICE))
		return csx__bad_handle(__func__, dev);
	if (!isr || !csx__intr_flags_ok(flags))
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	intr = csx__intr_new(isr, ctx);
	if (!intr)
		return -CSX_ENOMEM;
	intr->dev = dev;
	ret = csx__intr_claim(dev, intr);
	if (ret)
		goto out_free;
	ret = csx_os_intr_attach(dev->od, flags, intr, &intr->os);
	if (ret)
		goto out_unclaim;
	csx__dev_get(dev);
	csx__live_inc(CSX__T_INTR);
	*out = intr;
	return 0;

out_unclaim:
	__atomic_store_n(&dev->intr, NULL, __ATOMIC_RELEASE);
out_free:
	csx__intr_free(intr);
	return ret;
}

int csx_intr_attach_soft(csx_isr_fn isr, void *ctx, struct csx_intr **out)
{
	struct csx_intr *intr;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	if (!isr)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	intr = csx__intr_new(isr, ctx);
	if (!intr)
		return -CSX_ENOMEM;
	intr->soft = true;
	ret = csx_os_intr_attach_soft(intr, &intr->os);
	if (ret) {
		csx__intr_free(intr);
		return ret;
	}
	csx__live_inc(CSX__T_INTR);
	*out = intr;
	return 0;
}

int csx_intr_raise(struct csx_intr *intr)
{
	if (!csx__intr_ok(intr))
		return csx__bad_handle(__func__, intr);
	if (!intr->soft) {
		csx_err("csx_intr_raise(): %p is a device interrupt, not a "
			"software line",
			(void *)intr);
		return -CSX_EINVAL;
	}
	csx_os_intr_raise(intr->os);
	return 0;
}

/* Unhook and free; the caller has checked everything. */
static void csx__intr_release(struct csx_intr *intr)
{
	struct csx_device *dev = intr->dev;

	/* Hook first: until it returns the ISR may still be dispatched. */
	csx_os_intr_detach(intr->os);
	csx__intr_set_magic(intr, CSX__MAGIC_DEAD);
	if (dev) {
		__atomic_store_n(&dev->intr, NULL, __ATOMIC_RELEASE);
		csx__dev_put(dev);
	}
	csx__retire(intr);
	csx__live_dec(CSX__T_INTR);
}

static int csx__intr_detach_ok(struct csx_intr *intr)
{
	if (__atomic_load_n(&intr->runner, __ATOMIC_RELAXED) ==
	    csx_os_thread_id()) {
		csx_err("csx_intr_detach(): called from the interrupt's own "
			"ISR");
		return -CSX_EDEADLK;
	}
	return csx__might_sleep("csx_intr_detach");
}

int csx_intr_detach(struct csx_intr *intr)
{
	int ret;

	if (!csx__intr_ok(intr))
		return csx__bad_handle(__func__, intr);
	ret = csx__intr_detach_ok(intr);
	if (ret)
		return ret;
	csx__intr_release(intr);
	return 0;
}

void csx__intr_force_detach(struct csx_intr *intr)
{
	csx__intr_release(intr);
}

static csx__cold unsigned long csx__intr_bad_disable(struct csx_intr *intr)
{
	csx__bad_handle("csx_intr_disable", intr);
	csx__misuse("csx_intr_disable() on a bad interrupt handle");
	return CSX__INTR_BAD_KEY;
}

unsigned long csx__intr_disable_slow(struct csx_intr *intr)
{
	if (csx__unlikely(!csx__intr_ok(intr)))
		return csx__intr_bad_disable(intr);
	return csx_os_intr_disable(intr->os);
}

void csx__intr_restore_slow(struct csx_intr *intr, unsigned long key)
{
	/* The failed disable was reported already. */
	if (csx__unlikely(key == CSX__INTR_BAD_KEY))
		return;
	if (csx__unlikely(!csx__intr_ok(intr))) {
		csx__bad_handle("csx_intr_restore", intr);
		csx__misuse("csx_intr_restore() on a bad interrupt handle");
		return;
	}
	csx_os_intr_restore(intr->os, key);
}

/*
 * The out-of-line pair: what kernel-mode drivers and unoptimized builds
 * call. Where csx_os_types.h has an inline body (gnu_inline), these
 * definitions replace it in this file only.
 */
unsigned long csx_intr_disable(struct csx_intr *intr)
{
	return csx__intr_disable_slow(intr);
}

void csx_intr_restore(struct csx_intr *intr, unsigned long key)
{
	csx__intr_restore_slow(intr, key);
}

int csx_intr_set_spin(struct csx_intr *intr, uint64_t spin_ns)
{
	if (!csx__intr_ok(intr))
		return csx__bad_handle(__func__, intr);
	return csx_os_intr_set_spin(intr->os, spin_ns);
}

int csx_intr_stats(struct csx_intr *intr, struct csx_intr_stats *out)
{
	if (!csx__intr_ok(intr))
		return csx__bad_handle(__func__, intr);
	if (!out)
		return -CSX_EINVAL;
	out->raised = __atomic_load_n(&intr->raised, __ATOMIC_RELAXED);
	out->handled = __atomic_load_n(&intr->handled, __ATOMIC_RELAXED);
	out->unhandled = __atomic_load_n(&intr->unhandled, __ATOMIC_RELAXED);
	return 0;
}

bool csx_intr_is_msi(struct csx_intr *intr)
{
	if (!csx__intr_ok(intr) || intr->soft)
		return false;
	return csx_os_intr_is_msi(intr->os);
}

/*
 * One interrupt's dispatches never overlap (the back end holds its
 * WRITELOCK or spinlock around this call), so the counters are bumped with
 * a plain load and store: readers still see whole values, and the ISR path
 * pays no locked instruction, which is costly under emulation and visible
 * in the raise -> ISR benchmark.
 */
static inline void csx__intr_count(uint64_t *ctr)
{
	__atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

enum csx_irqreturn csx__intr_dispatch(struct csx_intr *core)
{
	enum csx_irqreturn ret;

	if (csx__unlikely(!csx__intr_ok(core))) {
		csx__bad_handle(__func__, core);
		return CSX_IRQ_NONE;
	}
	csx__intr_count(&core->raised);
	__atomic_store_n(&core->runner, csx_os_thread_id(), __ATOMIC_RELAXED);
	ret = core->isr(core, core->ctx);
	__atomic_store_n(&core->runner, 0, __ATOMIC_RELAXED);
	if (ret == CSX_IRQ_HANDLED)
		csx__intr_count(&core->handled);
	else
		csx__intr_count(&core->unhandled);
	return ret;
}
