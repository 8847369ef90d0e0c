/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/* Shared by the csx-run benchmark modules of the test VM (bench/vm/). */
#ifndef BENCH_VM_H
#define BENCH_VM_H

#include <csx/csx.h>

/* Shell sort: no allocation, fast enough for a few thousand samples. */
static inline void bench_vm_sort(uint64_t *v, unsigned int n)
{
	unsigned int gap, i, j;
	uint64_t x;

	for (gap = n / 2; gap; gap /= 2)
		for (i = gap; i < n; i++) {
			x = v[i];
			for (j = i; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
}

#endif /* BENCH_VM_H */
