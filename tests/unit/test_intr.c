/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Interrupts: device and software lines, one interrupt per device,
 * dispatch statistics, disable/restore, detach rules and bad handles.
 */
#include "unit.h"

static const struct csx_pci_id ids[] = { { 0x1234, 0x11e8 }, { 0, 0 } };
static struct csx_device *bound;

static int probe(struct csx_device *dev, const struct csx_pci_id *id)
{
	(void)id;
	bound = dev;
	return 0;
}

static void remove_dev(struct csx_device *dev)
{
	(void)dev;
	bound = NULL;
}

static struct csx_driver drv = {
	.name = "intrtest",
	.ids = ids,
	.probe = probe,
	.remove = remove_dev,
};

struct istate {
	enum csx_irqreturn verdict;
	int calls;
	bool in_isr;
	int detach_ret;
	struct csx_intr *detach_self;
};

static enum csx_irqreturn isr(struct csx_intr *intr, void *ctx)
{
	struct istate *s = ctx;

	s->calls++;
	s->in_isr = csx_in_isr();
	/* Disabling one's own interrupt inside the ISR is allowed. */
	csx_intr_restore(intr, csx_intr_disable(intr));
	if (s->detach_self)
		s->detach_ret = csx_intr_detach(s->detach_self);
	return s->verdict;
}

static struct csx_device *probe_one(bool msi)
{
	mock_dev_add(0x1234, 0x11e8, "edu0", 4096, msi);
	assert_int_equal(csx_driver_register(&drv), 0);
	assert_non_null(bound);
	return bound;
}

static void soft_line_dispatch_and_stats(void **state)
{
	struct istate s = { .verdict = CSX_IRQ_HANDLED };
	struct csx_intr_stats st;
	struct csx_intr *in;

	(void)state;
	assert_int_equal(csx_intr_attach_soft(isr, &s, &in), 0);
	assert_int_equal(csx_intr_raise(in), 0);
	assert_int_equal(mock_intr_raises(in), 1);
	assert_int_equal(mock_intr_deliver(in), CSX_IRQ_HANDLED);
	assert_true(s.in_isr);
	s.verdict = CSX_IRQ_NONE;
	assert_int_equal(mock_intr_deliver(in), CSX_IRQ_NONE);
	assert_int_equal(csx_intr_stats(in, &st), 0);
	assert_int_equal(st.raised, 2);
	assert_int_equal(st.handled, 1);
	assert_int_equal(st.unhandled, 1);
	assert_false(csx_intr_is_msi(in));
	assert_int_equal(csx_intr_set_spin(in, 1000), 0);
	/* Raising is fine from any context. */
	mock_set_context(CSX_OS_CTX_ISR);
	assert_int_equal(csx_intr_raise(in), 0);
	mock_set_context(0);
	assert_int_equal(csx_intr_detach(in), 0);
	assert_int_equal(csx_intr_detach(in), -CSX_EINVAL);
	assert_int_equal(csx_intr_raise(in), -CSX_EINVAL);
	assert_int_equal(csx_intr_stats(in, &st), -CSX_EINVAL);
	assert_false(csx_intr_is_msi(in));
}

static void one_interrupt_per_device(void **state)
{
	struct istate s = { .verdict = CSX_IRQ_HANDLED };
	struct csx_device *dev = probe_one(true);
	struct csx_intr *a, *b;

	(void)state;
	assert_int_equal(csx_intr_attach(dev, CSX_INTR_ANY, isr, &s, &a), 0);
	assert_true(csx_intr_is_msi(a));
	assert_int_equal(csx_intr_attach(dev, CSX_INTR_INTX, isr, &s, &b),
			 -CSX_EEXIST);
	assert_null(b);
	/* Only software lines can be raised by software. */
	assert_int_equal(csx_intr_raise(a), -CSX_EINVAL);
	assert_int_equal(mock_intr_deliver(a), CSX_IRQ_HANDLED);
	assert_int_equal(csx_intr_detach(a), 0);
	/* Detached: the slot is free again. */
	assert_int_equal(csx_intr_attach(dev, CSX_INTR_INTX, isr, &s, &b), 0);
	assert_false(csx_intr_is_msi(b));
	assert_int_equal(csx_intr_detach(b), 0);
	csx_driver_unregister(&drv);
}

static void attach_arguments(void **state)
{
	struct istate s = { .verdict = CSX_IRQ_HANDLED };
	struct csx_device *dev = probe_one(false);
	struct csx_intr *in;
	long n;
	int ret;

	(void)state;
	assert_int_equal(csx_intr_attach(dev, 0, isr, &s, NULL), -CSX_EINVAL);
	assert_int_equal(csx_intr_attach(NULL, 0, isr, &s, &in), -CSX_EINVAL);
	assert_int_equal(csx_intr_attach(dev, 0, NULL, &s, &in), -CSX_EINVAL);
	assert_int_equal(csx_intr_attach(dev, 0x10, isr, &s, &in), -CSX_EINVAL);
	assert_int_equal(csx_intr_attach(dev, CSX_INTR_MSI | CSX_INTR_INTX, isr,
					 &s, &in),
			 -CSX_EINVAL);
	/* The mock device has no MSI. */
	assert_int_equal(csx_intr_attach(dev, CSX_INTR_MSI, isr, &s, &in),
			 -CSX_ENOSYS);
	assert_null(in);
	mock_set_context(CSX_OS_CTX_DPC);
	assert_int_equal(csx_intr_attach(dev, 0, isr, &s, &in), -CSX_EDEADLK);
	assert_int_equal(csx_intr_attach_soft(isr, &s, &in), -CSX_EDEADLK);
	mock_set_context(0);
	assert_int_equal(csx_intr_attach_soft(NULL, &s, &in), -CSX_EINVAL);
	assert_int_equal(csx_intr_attach_soft(isr, &s, NULL), -CSX_EINVAL);
	for (n = 0;; n++) {
		long live = mock_live_allocs();

		mock_fail_alloc_after(n);
		ret = csx_intr_attach(dev, 0, isr, &s, &in);
		mock_fail_alloc_after(-1);
		if (ret == 0)
			break;
		assert_int_equal(ret, -CSX_ENOMEM);
		assert_null(in);
		assert_int_equal(mock_live_allocs(), live);
	}
	assert_int_equal(n, 2);
	assert_int_equal(csx_intr_detach(in), 0);
	for (n = 0;; n++) {
		long live = mock_live_allocs();

		mock_fail_alloc_after(n);
		ret = csx_intr_attach_soft(isr, &s, &in);
		mock_fail_alloc_after(-1);
		if (ret == 0)
			break;
		assert_int_equal(ret, -CSX_ENOMEM);
		assert_null(in);
		assert_int_equal(mock_live_allocs(), live);
	}
	assert_int_equal(n, 2);
	assert_int_equal(csx_intr_detach(in), 0);
	csx_driver_unregister(&drv);
}

static void disable_nests_and_makes_atomic(void **state)
{
	struct istate s = { .verdict = CSX_IRQ_HANDLED };
	struct csx_intr *in;
	unsigned long k1, k2;
	int ret;

	(void)state;
	assert_int_equal(csx_intr_attach_soft(isr, &s, &in), 0);
	k1 = csx_intr_disable(in);
	k2 = csx_intr_disable(in);
	assert_true(csx_in_atomic());
	/* The holder may not detach: it would wait for itself. */
	ret = csx_intr_detach(in);
	assert_int_equal(ret, -CSX_EDEADLK);
	assert_true(mock_log_contains("csx_intr_detach"));
	csx_intr_restore(in, k2);
	csx_intr_restore(in, k1);
	assert_false(csx_in_atomic());
	assert_int_equal(csx_intr_detach(in), 0);
}

static void bad_handle_disable_is_reported_and_ignored(void **state)
{
	struct istate s = { .verdict = CSX_IRQ_HANDLED };
	struct csx_intr *in;
	unsigned long key;

	(void)state;
	csx_ctx_set_strict(true);
	mock_log_clear();
	key = csx_intr_disable(NULL);
	assert_true(mock_log_contains("csx_intr_disable(): NULL handle"));
	assert_int_equal(mock_bugs(), 1);
	assert_false(csx_in_atomic());
	csx_intr_restore(NULL, key);
	assert_int_equal(mock_bugs(), 1);

	assert_int_equal(csx_intr_attach_soft(isr, &s, &in), 0);
	assert_int_equal(csx_intr_detach(in), 0);
	key = csx_intr_disable(in);
	assert_int_equal(mock_bugs(), 2);
	csx_intr_restore(in, key);
	assert_int_equal(mock_bugs(), 2);
	/* A restore with a good-looking key on a bad handle is reported. */
	csx_intr_restore(in, 1);
	assert_int_equal(mock_bugs(), 3);
	csx_ctx_set_strict(false);
}

static void detach_from_own_isr_is_refused(void **state)
{
	struct istate s = { .verdict = CSX_IRQ_HANDLED };
	struct csx_intr *in;

	(void)state;
	assert_int_equal(csx_intr_attach_soft(isr, &s, &in), 0);
	s.detach_self = in;
	mock_intr_deliver(in);
	assert_int_equal(s.detach_ret, -CSX_EDEADLK);
	s.detach_self = NULL;
	assert_int_equal(csx_intr_detach(in), 0);
}

static void remove_detaches_a_forgotten_interrupt(void **state)
{
	struct istate s = { .verdict = CSX_IRQ_HANDLED };
	struct csx_device *dev = probe_one(false);
	struct csx_intr *in;

	(void)state;
	assert_int_equal(csx_intr_attach(dev, 0, isr, &s, &in), 0);
	csx_driver_unregister(&drv);
	assert_true(mock_log_contains("left the interrupt of edu0 attached"));
	assert_int_equal(csx_intr_detach(in), -CSX_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(soft_line_dispatch_and_stats),
		UNIT_TEST(one_interrupt_per_device),
		UNIT_TEST(attach_arguments),
		UNIT_TEST(disable_nests_and_makes_atomic),
		UNIT_TEST(bad_handle_disable_is_reported_and_ignored),
		UNIT_TEST(detach_from_own_isr_is_refused),
		UNIT_TEST(remove_detaches_a_forgotten_interrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
