/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * uio_lat: the baseline of the user-mode interrupt benchmark. The same job
 * as bench_uintr.c without CSX: QEMU's edu device bound to Linux's
 * uio_pci_generic; an interrupt thread blocks in read() on /dev/uioN, and
 * on each return stamps the time, acknowledges the device (0x64), unmasks
 * INTx through the sysfs config file as uio_pci_generic requires, and
 * tells the main thread, which stamps, raises the next interrupt (0x60)
 * and waits. As in bench_uintr.c, the thread that raises is not the one
 * the interrupt wakes: a device interrupts on its own schedule, and a
 * raising thread that blocks in read() itself would often find the
 * interrupt already there (QEMU raises it inside the register write).
 * Static, for the test VM.
 *
 * usage: uio_lat /dev/uioN /sys/bus/pci/devices/ADDR [samples]
 * Prints "BENCH-RAW uio n=N median=NS p99=NS cycle=NS msi=0".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define REG_STATUS 0x24
#define REG_RAISE 0x60
#define REG_ACK 0x64
#define PCI_COMMAND 0x04
#define PCI_COMMAND_INTX_DISABLE 0x400

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

static void reg_write(volatile uint32_t *bar, unsigned int off, uint32_t v)
{
	bar[off / 4] = v;
}

static uint32_t reg_read(volatile uint32_t *bar, unsigned int off)
{
	return bar[off / 4];
}

/* Clear INTx-disable: what uio_pci_generic leaves to user space. */
static int unmask(int cfg)
{
	uint16_t cmd;

	if (pread(cfg, &cmd, 2, PCI_COMMAND) != 2)
		return -1;
	cmd &= (uint16_t)~PCI_COMMAND_INTX_DISABLE;
	return pwrite(cfg, &cmd, 2, PCI_COMMAND) == 2 ? 0 : -1;
}

struct irq_thread {
	int uio, cfg;
	volatile uint32_t *bar;
	unsigned int n;
	uint64_t t_isr;
	int err;
	sem_t done;
};

/* The handler side: what a uio driver's interrupt thread does. */
static void *irq_main(void *arg)
{
	struct irq_thread *it = arg;
	uint32_t count, st;
	unsigned int i;

	for (i = 0; i < it->n; i++) {
		if (read(it->uio, &count, sizeof(count)) != sizeof(count)) {
			it->err = errno;
			sem_post(&it->done);
			return NULL;
		}
		__atomic_store_n(&it->t_isr, now_ns(), __ATOMIC_RELEASE);
		st = reg_read(it->bar, REG_STATUS);
		reg_write(it->bar, REG_ACK, st);
		if (unmask(it->cfg))
			it->err = errno;
		sem_post(&it->done);
	}
	return NULL;
}

static int die(const char *what)
{
	fprintf(stderr, "uio_lat: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 3 ? (unsigned int)atoi(argv[3]) : 2000, i;
	char path[512];
	uint64_t *lat, *cycle, t0, prev = 0;
	struct irq_thread it = { 0 };
	volatile uint32_t *bar;
	pthread_t tid;
	int uio, cfg, res;

	if (argc < 3 || n < 2) {
		fprintf(stderr,
			"usage: uio_lat /dev/uioN SYSFS_DEVICE [samples]\n");
		return 2;
	}
	lat = calloc(n, sizeof(*lat));
	cycle = calloc(n, sizeof(*cycle));
	if (!lat || !cycle)
		return die("calloc");
	uio = open(argv[1], O_RDWR);
	if (uio < 0)
		return die(argv[1]);
	snprintf(path, sizeof(path), "%s/config", argv[2]);
	cfg = open(path, O_RDWR);
	if (cfg < 0)
		return die(path);
	snprintf(path, sizeof(path), "%s/resource0", argv[2]);
	res = open(path, O_RDWR | O_SYNC);
	if (res < 0)
		return die(path);
	bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, res, 0);
	if (bar == MAP_FAILED)
		return die("mmap resource0");
	reg_write(bar, REG_ACK, 0xffffffffu);
	if (unmask(cfg))
		return die("unmask");

	it.uio = uio;
	it.cfg = cfg;
	it.bar = bar;
	it.n = n;
	if (sem_init(&it.done, 0, 0) ||
	    pthread_create(&tid, NULL, irq_main, &it))
		return die("thread");
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (prev)
			cycle[i - 1] = t0 - prev;
		prev = t0;
		reg_write(bar, REG_RAISE, 1);
		while (sem_wait(&it.done) && errno == EINTR)
			;
		if (it.err) {
			errno = it.err;
			return die("interrupt thread");
		}
		lat[i] = __atomic_load_n(&it.t_isr, __ATOMIC_ACQUIRE) - t0;
	}
	pthread_join(tid, NULL);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	qsort(cycle, n - 1, sizeof(*cycle), cmp_u64);
	printf("BENCH-RAW uio n=%u median=%llu p99=%llu cycle=%llu msi=0\n", n,
	       (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[(uint64_t)n * 99 / 100],
	       (unsigned long long)cycle[(n - 1) / 2]);
	return 0;
}
