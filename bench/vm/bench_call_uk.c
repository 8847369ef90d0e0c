/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * bench_call_uk: the user→kernel call benchmark, run in the test VM by
 * csx-run (payload-calls.sh) with bench_echo.ko and csx_null.ko loaded.
 * Three ways of making the same 64-byte echo round trip into the kernel,
 * from one thread pinned to one CPU:
 *
 *   csx   csx_call() on a channel to the kernel service "bench/echo"
 *         (libcsx-user → /dev/csx → bench_echo.ko's handler, a memcpy)
 *   raw   the same CSX_KH_IOC_SVC_CALL ioctl on /dev/csx, made directly:
 *         the kernel side of CSX without the user library
 *   null  the baseline without CSX: the same ioctl structure on
 *         csx_null.ko's /dev/csx_null, which copies the request in and the
 *         response out and calls nothing (tests/kernel/csx/csx_null.c)
 *
 * Under QEMU's TCG one process's round trip moves by 2x from one second to
 * the next (vCPU threads on a 2-core host). So the three are interleaved
 * in short batches, rotating which goes first, and each figure is the
 * median of all its samples: whatever the host does hits all three alike.
 * One log line:
 *   "BENCH-RAW u2k n=N csx=NS raw=NS null=NS cpu=C"
 *
 * For a profiler: CSX_BCU_ONLY=csx|raw|null makes only that kind of call,
 * CSX_BCU_REPEAT=N runs the whole loop N times (figures of the last).
 *
 * A benchmark, not a sample: it uses POSIX and the kernel helper's ABI
 * directly, and builds for user mode only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <csx/csx.h>

#include "bench_vm.h"

#include "csx_kh_abi.h"
#include "bench_echo.h"

#define BCU_ROUNDS 60
#define BCU_BATCH 40
#define BCU_N (BCU_ROUNDS * BCU_BATCH)
#define BCU_PAYLOAD 64
#define BCU_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)

enum { BCU_CSX, BCU_RAW, BCU_NULL, BCU_KINDS };

static const char *const bcu_name[BCU_KINDS] = { "csx", "raw", "null" };
static uint64_t bcu_lat[BCU_KINDS][BCU_N];

struct bcu {
	struct csx_chan *chan;
	int csx_fd, null_fd;
	uint32_t handle; /* the raw channel on csx_fd */
	uint8_t in[BCU_PAYLOAD], out[BCU_PAYLOAD];
};

static uint64_t bcu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One round trip of @kind; 0 or a negative CSX_E* code. */
static int bcu_one(struct bcu *b, int kind)
{
	struct csx_kh_svc_call c;
	size_t len = 0;
	int fd, ret;

	if (kind == BCU_CSX) {
		ret = csx_call(b->chan, BENCH_ECHO_OP, b->in, BCU_PAYLOAD,
			       b->out, BCU_PAYLOAD, &len, BCU_TIMEOUT_NS);
		return ret ? ret : len == BCU_PAYLOAD ? 0 : -CSX_EIO;
	}
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.in_ptr = (uintptr_t)b->in;
	c.in_len = BCU_PAYLOAD;
	c.out_ptr = (uintptr_t)b->out;
	c.out_cap = BCU_PAYLOAD;
	c.timeout_ns = -1;
	fd = b->null_fd;
	if (kind == BCU_RAW) {
		fd = b->csx_fd;
		c.handle = b->handle;
		c.op = BENCH_ECHO_OP;
	}
	if (ioctl(fd, CSX_KH_IOC_SVC_CALL, &c))
		return -errno;
	if (c.status)
		return c.status;
	return c.out_len == BCU_PAYLOAD ? 0 : -CSX_EIO;
}

static int bcu_run(struct bcu *b, int only)
{
	unsigned int r, k, i, n = 0;
	uint64_t t0;
	int kind, ret;

	/* Warm up every path once. */
	for (kind = 0; kind < BCU_KINDS; kind++) {
		ret = bcu_one(b, kind);
		if (ret) {
			csx_err("bench_call_uk: %s call failed: %s",
				bcu_name[kind], csx_strerror(ret));
			return ret;
		}
	}
	for (r = 0; r < BCU_ROUNDS; r++) {
		for (k = 0; k < BCU_KINDS; k++) {
			kind = only >= 0 ? only : (int)((r + k) % BCU_KINDS);
			for (i = 0; i < BCU_BATCH; i++) {
				t0 = bcu_now();
				ret = bcu_one(b, kind);
				bcu_lat[kind][n + i] = bcu_now() - t0;
				if (ret) {
					csx_err("bench_call_uk: %s call failed: %s",
						bcu_name[kind],
						csx_strerror(ret));
					return ret;
				}
			}
		}
		n += BCU_BATCH;
	}
	for (kind = 0; kind < BCU_KINDS; kind++)
		bench_vm_sort(bcu_lat[kind], BCU_N);
	csx_info("BENCH-RAW u2k n=%u csx=%llu raw=%llu null=%llu cpu=%d", BCU_N,
		 (unsigned long long)bcu_lat[BCU_CSX][BCU_N / 2],
		 (unsigned long long)bcu_lat[BCU_RAW][BCU_N / 2],
		 (unsigned long long)bcu_lat[BCU_NULL][BCU_N / 2],
		 sched_getcpu());
	return 0;
}

static int bcu_init(void)
{
	struct csx_kh_svc_open o = { .size = sizeof(o) };
	struct bcu b = { .csx_fd = -1, .null_fd = -1 };
	int ret, cpu, only = -1, repeat;
	const char *env;
	cpu_set_t one;

	memset(b.in, 0x5a, sizeof(b.in));
	/* Every figure from the same CPU. */
	cpu = sched_getcpu();
	CPU_ZERO(&one);
	CPU_SET(cpu < 0 ? 0 : cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		csx_warn("bench_call_uk: not pinned: %s", strerror(errno));
	ret = csx_open(BENCH_ECHO_SERVICE, BENCH_ECHO_VERSION, &b.chan);
	if (ret) {
		csx_err("bench_call_uk: cannot open %s: %s", BENCH_ECHO_SERVICE,
			csx_strerror(ret));
		return ret;
	}
	b.csx_fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	b.null_fd = open("/dev/csx_null", O_RDWR | O_CLOEXEC);
	if (b.csx_fd < 0 || b.null_fd < 0) {
		ret = -errno;
		csx_err("bench_call_uk: cannot open %s: %s",
			b.csx_fd < 0 ? CSX_KH_DEVICE : "/dev/csx_null",
			strerror(errno));
		goto out;
	}
	snprintf(o.name, sizeof(o.name), "%s", BENCH_ECHO_SERVICE);
	o.min_version = BENCH_ECHO_VERSION;
	if (ioctl(b.csx_fd, CSX_KH_IOC_SVC_OPEN, &o)) {
		ret = -errno;
		csx_err("bench_call_uk: SVC_OPEN %s: %s", BENCH_ECHO_SERVICE,
			strerror(errno));
		goto out;
	}
	b.handle = o.handle;
	env = getenv("CSX_BCU_ONLY");
	for (cpu = 0; env && cpu < BCU_KINDS; cpu++)
		if (!strcmp(env, bcu_name[cpu]))
			only = cpu;
	env = getenv("CSX_BCU_REPEAT");
	repeat = env ? atoi(env) : 1;
	do
		ret = bcu_run(&b, only);
	while (!ret && --repeat > 0);
out:
	if (b.null_fd >= 0)
		close(b.null_fd);
	if (b.csx_fd >= 0)
		close(b.csx_fd); /* closes the raw channel too */
	csx_close(b.chan);
	return ret;
}

static void bcu_fini(void)
{
}

CSX_MODULE("bench_call_uk", "1.0.0", bcu_init, bcu_fini);
