/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * null_ioctl: the baseline of the user→kernel call benchmark. The same job
 * as a 64-byte csx_call() echo into a kernel service (calls_client.c's
 * "call64" figure) without CSX: one ioctl on csx_null.ko's /dev/csx_null,
 * which copies the request in and the response out as the kernel helper
 * does, and nothing else. Static, for the test VM.
 *
 * usage: null_ioctl [samples]   prints "BENCH-RAW null64 n=N median=NS"
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "csx_kh_abi.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)atoi(argv[1]) : 2001, i;
	struct csx_kh_svc_call c;
	uint8_t in[64], out[64];
	uint64_t *lat, t0;
	int fd;

	lat = calloc(n ? n : 1, sizeof(*lat));
	fd = open("/dev/csx_null", O_RDWR);
	if (fd < 0 || !lat || !n) {
		perror("null_ioctl: /dev/csx_null");
		return 1;
	}
	memset(in, 0x5a, sizeof(in));
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
		c.in_ptr = (uintptr_t)in;
		c.in_len = sizeof(in);
		c.out_ptr = (uintptr_t)out;
		c.out_cap = sizeof(out);
		c.timeout_ns = -1;
		t0 = now_ns();
		if (ioctl(fd, CSX_KH_IOC_SVC_CALL, &c) || c.out_len != 64) {
			perror("null_ioctl: ioctl");
			return 1;
		}
		lat[i] = now_ns() - t0;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("BENCH-RAW null64 n=%u median=%llu\n", n,
	       (unsigned long long)lat[n / 2]);
	return 0;
}
