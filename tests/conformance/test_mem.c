// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Memory: sizes, flags, alignment and atomic allocation from ISR and DPC
 * context. Refusals from the wrong context are in test_context.c.
 */
#include "csx_test_suites.h"

#define N_BLOCKS 64

static bool all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

static bool aligned_for_any_type(const void *p)
{
	return ((uintptr_t)p % __alignof__(uint64_t)) == 0 &&
	       ((uintptr_t)p % __alignof__(void *)) == 0;
}

CSX_TEST(mem_alloc_usable)
{
	static const size_t sizes[] = { 1, 7, 64, 4096, 65536 + 3 };
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = csx_alloc(sizes[i], 0);

		CSX_CHECK_NOT_NULL(p);
		CSX_CHECK(aligned_for_any_type(p));
		/* The whole size is ours (ASan/KASAN catch a short block). */
		csx_test_memset(p, 0x5a, sizes[i]);
		CSX_CHECK(all_bytes(p, sizes[i], 0x5a));
		csx_free(p);
	}
}

/* Blocks alive at the same time never overlap. */
CSX_TEST(mem_blocks_distinct)
{
	static unsigned char *blocks[N_BLOCKS];
	unsigned int i, bad = 0;

	for (i = 0; i < N_BLOCKS; i++) {
		blocks[i] = csx_alloc(32 + i, 0);
		if (blocks[i])
			csx_test_memset(blocks[i], (int)i, 32 + i);
	}
	for (i = 0; i < N_BLOCKS; i++) {
		if (!blocks[i] ||
		    !all_bytes(blocks[i], 32 + i, (unsigned char)i))
			bad++;
		csx_free(blocks[i]);
	}
	CSX_CHECK_EQ(bad, 0);
}

CSX_TEST(mem_zero_flag)
{
	unsigned int round;

	/* Dirty blocks first so a recycled one shows if ZERO is ignored. */
	for (round = 0; round < 8; round++) {
		unsigned char *dirty = csx_alloc(4096, 0);
		unsigned char *p;

		CSX_CHECK_NOT_NULL(dirty);
		csx_test_memset(dirty, 0xa5, 4096);
		csx_free(dirty);
		p = csx_alloc(4096, CSX_MEM_ZERO);
		CSX_CHECK_NOT_NULL(p);
		if (!all_bytes(p, 4096, 0)) {
			csx_free(p);
			CSX_CHECK(!"CSX_MEM_ZERO memory is zeroed");
		}
		csx_free(p);
	}
}

CSX_TEST(mem_atomic_flag_in_thread)
{
	void *p = csx_alloc(128, CSX_MEM_ATOMIC | CSX_MEM_ZERO);

	CSX_CHECK_NOT_NULL(p);
	CSX_CHECK(all_bytes(p, 128, 0));
	csx_free(p);
}

CSX_TEST(mem_bad_requests)
{
	CSX_CHECK_NULL(csx_alloc(0, 0));
	CSX_CHECK_NULL(csx_alloc(0, CSX_MEM_ZERO));
	CSX_CHECK_NULL(csx_alloc(16, 0x4u));
	CSX_CHECK_NULL(csx_alloc(16, 0x80000000u));
	CSX_CHECK_NULL(csx_alloc(16, CSX_MEM_ZERO | 0x100u));
	csx_free(NULL);
}

/* What the ISR and the DPC got from csx_alloc(ATOMIC). */
static long isr_alloc_ok;
static long dpc_alloc_ok;
static long atomic_done;

static long try_atomic_alloc(void)
{
	unsigned char *p = csx_alloc(256, CSX_MEM_ATOMIC | CSX_MEM_ZERO);
	long ok = p && all_bytes(p, 256, 0);

	csx_free(p);
	return ok ? 1 : -1;
}

static enum csx_irqreturn alloc_isr(struct csx_intr *intr, void *ctx)
{
	csx_test_store(&isr_alloc_ok, try_atomic_alloc());
	csx_test_inc(&atomic_done);
	return CSX_IRQ_HANDLED;
}

static void alloc_dpc(struct csx_dpc *dpc, void *ctx)
{
	csx_test_store(&dpc_alloc_ok, try_atomic_alloc());
	csx_test_inc(&atomic_done);
}

CSX_TEST(mem_atomic_in_isr_and_dpc)
{
	struct csx_intr *intr;
	struct csx_dpc *dpc;

	csx_test_store(&isr_alloc_ok, 0);
	csx_test_store(&dpc_alloc_ok, 0);
	csx_test_store(&atomic_done, 0);
	CSX_CHECK_OK(csx_intr_attach_soft(alloc_isr, NULL, &intr));
	CSX_CHECK_OK(csx_dpc_create(&dpc, alloc_dpc, NULL));
	CSX_CHECK_OK(csx_intr_raise(intr));
	CSX_CHECK_GE(csx_dpc_queue(dpc), 0);
	CSX_CHECK_EVENTUALLY(csx_test_load(&atomic_done) >= 2);
	CSX_CHECK_OK(csx_intr_detach(intr));
	CSX_CHECK_OK(csx_dpc_destroy(dpc));
	CSX_CHECK_EQ(csx_test_load(&isr_alloc_ok), 1);
	CSX_CHECK_EQ(csx_test_load(&dpc_alloc_ok), 1);
}

static const struct csx_test_case mem_cases[] = {
	CSX_TEST_CASE(mem_alloc_usable),
	CSX_TEST_CASE(mem_blocks_distinct),
	CSX_TEST_CASE(mem_zero_flag),
	CSX_TEST_CASE(mem_atomic_flag_in_thread),
	CSX_TEST_CASE_MISUSE(mem_bad_requests),
	CSX_TEST_CASE(mem_atomic_in_isr_and_dpc),
};
CSX_TEST_SUITE(mem, mem_cases);
