// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * In-VM ABI test of the CSX kernel helper (/dev/csx, csx_helper.ko),
 * against QEMU's edu device. Static program; TAP on stdout.
 *
 * usage: kh_abi_test [DOMAIN:BUS:SLOT.FN]
 *   Without an address, the first edu device (1234:11e8) in
 *   /sys/bus/pci/devices is used. CSX_IRQ=msi|intx (run-vm.sh) says which
 *   interrupt kind the VM offers; the INTx level test only runs for intx.
 *
 * Every check asserts what csx_kh_abi.h documents, as a user of the
 * helper would notice it. Exit 1 if any check failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csx_kh_abi.h"

/* edu registers (QEMU docs/specs/edu.rst) */
#define EDU_ID 0x00
#define EDU_LIVE 0x04
#define EDU_FACT 0x08
#define EDU_STATUS 0x20
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_BUF 0x40000u
/* QEMU 7.2's edu refuses (hw_error: QEMU aborts) a transfer that ends
 * exactly at the end of its 4 KiB buffer: stay below it. */
#define EDU_DMA_LEN 2048
#define EDU_FACT_IRQ 0x80u	/* status: raise an interrupt when done */
#define EDU_IRQ_FACT_BIT 0x1u	/* irq status bit of a factorial */
#define EDU_BAR_SIZE (1u << 20) /* BAR0 is 1 MiB */
#define PCI_COMMAND_INTX_DISABLE 0x400u

static struct {
	char addr[32];
	__u32 domain, bus, devfn;
	const char *irq; /* "msi", "intx" or "" */
	int tests, failed;
} g;

/* --- TAP and small helpers ------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int
check(int pass, const char *name, const char *fmt, ...)
{
	va_list ap;

	g.tests++;
	if (pass) {
		printf("ok %d %s\n", g.tests, name);
	} else {
		g.failed++;
		printf("not ok %d %s # ", g.tests, name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
	fflush(stdout);
	return pass;
}

/* ioctl as 0 or -errno: the ABI's error convention, easy to compare. */
static int kio(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) == 0 ? 0 : -errno;
}

static const char *en(int rc)
{
	static char buf[64];

	if (rc >= 0) {
		snprintf(buf, sizeof(buf), "%d (success)", rc);
		return buf;
	}
	snprintf(buf, sizeof(buf), "%s", strerrorname_np(-rc));
	return buf;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint32_t rd(volatile uint32_t *bar, unsigned int off)
{
	return bar[off / 4];
}

static void wr(volatile uint32_t *bar, unsigned int off, uint32_t v)
{
	bar[off / 4] = v;
}

/* --- the device ------------------------------------------------------------ */

static unsigned long sysfs_hex(const char *dev, const char *attr)
{
	char path[PATH_MAX], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtoul(buf, NULL, 16);
}

static int find_edu(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (sysfs_hex(e->d_name, "vendor") == 0x1234 &&
		    sysfs_hex(e->d_name, "device") == 0x11e8) {
			snprintf(g.addr, sizeof(g.addr), "%.31s", e->d_name);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

static int parse_addr(const char *s)
{
	unsigned int dom, bus, slot, fn;

	if (sscanf(s, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4 ||
	    bus > 255 || slot > 31 || fn > 7)
		return 0;
	g.domain = dom;
	g.bus = bus;
	g.devfn = slot << 3 | fn;
	return 1;
}

static int kh_open(void)
{
	int fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("Bail out! cannot open %s: %m\n", CSX_KH_DEVICE);
		exit(1);
	}
	return fd;
}

static int claim_at(int fd, __u32 domain, __u32 bus, __u32 devfn,
		    struct csx_kh_claim *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->domain = domain;
	c->bus = bus;
	c->devfn = devfn;
	return kio(fd, CSX_KH_IOC_CLAIM, c);
}

static int claim(int fd, struct csx_kh_claim *c)
{
	return claim_at(fd, g.domain, g.bus, g.devfn, c);
}

/* Open and claim the edu device, retrying while a dying owner lets go. */
static int open_claimed(unsigned int patience_ms, struct csx_kh_claim *c)
{
	double end = now_ms() + patience_ms;
	int fd = kh_open();
	int rc;

	while ((rc = claim(fd, c)) == -EBUSY && now_ms() < end)
		sleep_ms(10);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

static int region(int fd, __u32 index, struct csx_kh_region *r)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->index = index;
	return kio(fd, CSX_KH_IOC_REGION, r);
}

static volatile uint32_t *map_bar0(int fd)
{
	struct csx_kh_region r;
	void *p;

	if (region(fd, 0, &r) || !(r.flags & CSX_KH_REGION_MMAP))
		return NULL;
	p = mmap(NULL, r.bar_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 r.mmap_offset);
	return p == MAP_FAILED ? NULL : p;
}

static int cfg_rw(int fd, int write, __u32 off, __u32 width, __u32 *val)
{
	struct csx_kh_cfg c = { sizeof(c), off, width, write ? *val : 0 };
	int rc;

	rc = kio(fd, write ? CSX_KH_IOC_CFG_WRITE : CSX_KH_IOC_CFG_READ, &c);
	if (!write && !rc)
		*val = c.value;
	return rc;
}

static int enable_master(int fd, __u32 on)
{
	struct csx_kh_enable e = { sizeof(e), on };

	return kio(fd, CSX_KH_IOC_ENABLE, &e);
}

static int attach(int fd, __u32 mode, __u32 watchdog_ms,
		  struct csx_kh_intr_attach *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->mode = mode;
	a->snap_bar = 0;
	a->snap_width = 4;
	a->snap_offset = EDU_IRQ_STATUS;
	a->watchdog_ms = watchdog_ms;
	return kio(fd, CSX_KH_IOC_INTR_ATTACH, a);
}

static int intr_wait(int fd, __u32 flags, __u32 timeout_ms,
		     struct csx_kh_intr_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->size = sizeof(*w);
	w->flags = flags;
	w->timeout_ms = timeout_ms;
	return kio(fd, CSX_KH_IOC_INTR_WAIT, w);
}

static int intr_status(int fd, struct csx_kh_intr_status *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	return kio(fd, CSX_KH_IOC_INTR_STATUS, s);
}

/* Acknowledge whatever the edu device has pending, so no stale interrupt
 * from an earlier owner or check reaches the next one. */
static void edu_ack_all(volatile uint32_t *bar)
{
	uint32_t st = rd(bar, EDU_IRQ_STATUS);

	if (st)
		wr(bar, EDU_IRQ_ACK, st);
}

/* One edu DMA transfer; 0 once the engine is idle again, -1 on timeout. */
static int edu_dma(volatile uint32_t *bar, uint64_t src, uint64_t dst,
		   uint32_t cnt, int to_ram)
{
	double end = now_ms() + 2000;

	wr(bar, EDU_DMA_SRC, (uint32_t)src);
	wr(bar, EDU_DMA_DST, (uint32_t)dst);
	wr(bar, EDU_DMA_CNT, cnt);
	wr(bar, EDU_DMA_CMD, 1u | (to_ram ? 2u : 0u));
	while (rd(bar, EDU_DMA_CMD) & 1u) {
		if (now_ms() > end)
			return -1;
		sleep_ms(5);
	}
	return 0;
}

static int edu_dma_idle(volatile uint32_t *bar, unsigned int patience_ms)
{
	double end = now_ms() + patience_ms;

	while (rd(bar, EDU_DMA_CMD) & 1u) {
		if (now_ms() > end)
			return 0;
		sleep_ms(5);
	}
	return 1;
}

static int driver_is(const char *want)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", g.addr);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return want == NULL;
	link[n] = 0;
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	return want && strcmp(base, want) == 0;
}

static int proc_interrupts_has(const char *what)
{
	char line[512];
	FILE *f = fopen("/proc/interrupts", "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			found = 1;
	fclose(f);
	return found;
}

/* Poll for up to @ms: release may finish a moment after close(2). */
static int eventually(int (*pred)(void), unsigned int ms)
{
	double end = now_ms() + ms;

	while (!pred()) {
		if (now_ms() > end)
			return 0;
		sleep_ms(10);
	}
	return 1;
}

static int no_driver(void)
{
	return driver_is(NULL);
}

static int no_irq_line(void)
{
	return !proc_interrupts_has("csx_helper");
}

/* --- VERSION ------------------------------------------------------------- */

static void test_version(void)
{
	struct csx_kh_version v = { .size = sizeof(v) };
	int fd = kh_open();
	int rc;

	rc = kio(fd, CSX_KH_IOC_VERSION, &v);
	check(rc == 0 && v.abi == CSX_KH_ABI_VERSION, "version_abi",
	      "rc %s abi %u, want %u", en(rc), v.abi, CSX_KH_ABI_VERSION);
	printf("# features 0x%x\n", v.features);

	memset(&v, 0, sizeof(v));
	v.size = sizeof(v) + 4;
	rc = kio(fd, CSX_KH_IOC_VERSION, &v);
	check(rc == -EINVAL, "version_bad_size_einval", "rc %s", en(rc));

	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.reserved = 1;
	rc = kio(fd, CSX_KH_IOC_VERSION, &v);
	check(rc == -EINVAL, "version_reserved_einval", "rc %s", en(rc));

	rc = kio(fd, _IO(CSX_KH_IOC_MAGIC, 0x1f), NULL);
	check(rc == -ENOTTY, "unknown_ioctl_enotty", "nr 0x1f: rc %s", en(rc));
	close(fd);
}

/* --- CLAIM --------------------------------------------------------------- */

/*
 * A process without CAP_SYS_RAWIO (and outside the helper's group) must not
 * claim. The child opens /dev/csx itself if the node lets it, else uses the
 * file root opened: the privilege is the caller's, not the opener's.
 */
static void test_claim_unprivileged(void)
{
	int fd = kh_open();
	int status = 0;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct csx_kh_claim c;
		int own, rc;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(100);
		own = open(CSX_KH_DEVICE, O_RDWR);
		rc = claim(own >= 0 ? own : fd, &c);
		_exit(rc == -EPERM ? 0 : rc == 0 ? 101 : -rc);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "claim_unprivileged_eperm", "child status 0x%x (101: claimed)",
	      status);
	close(fd);
}

/* A devfn on the edu device's bus with nothing behind it. */
static __u32 free_devfn(void)
{
	char path[PATH_MAX];
	struct stat st;
	int devfn;

	for (devfn = 0xff; devfn > 0; devfn--) {
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%04x:%02x:%02x.%d", g.domain,
			 g.bus, devfn >> 3, devfn & 7);
		if (stat(path, &st))
			break;
	}
	return devfn;
}

static void test_claim(void)
{
	struct csx_kh_claim c;
	int fd, fd2, rc;

	test_claim_unprivileged();

	fd = kh_open();
	rc = claim_at(fd, g.domain, g.bus, free_devfn(), &c);
	check(rc == -ENODEV, "claim_nonexistent_enodev", "rc %s", en(rc));

	rc = claim(fd, &c);
	check(rc == 0 && c.vendor == 0x1234 && c.device == 0x11e8, "claim_ok",
	      "rc %s ids %04x:%04x", en(rc), c.vendor, c.device);
	printf("# claimed %s: class 0x%06x irq_kinds 0x%x cfg_size %u\n",
	       g.addr, c.class_code, c.irq_kinds, c.cfg_size);
	check(driver_is("csx_helper"), "claim_binds_driver",
	      "%s/driver is not csx_helper", g.addr);

	fd2 = kh_open();
	rc = claim(fd2, &c);
	check(rc == -EBUSY, "claim_other_file_ebusy", "rc %s", en(rc));
	rc = claim(fd, &c);
	check(rc == -EBUSY, "claim_same_file_ebusy", "rc %s", en(rc));

	rc = kio(fd, CSX_KH_IOC_RELEASE, NULL);
	check(rc == 0, "release_ok", "rc %s", en(rc));
	rc = claim(fd2, &c);
	check(rc == 0, "claim_after_release_ok", "rc %s", en(rc));
	close(fd);
	close(fd2);
	check(eventually(no_driver, 1000), "close_unbinds_driver",
	      "%s still has a driver link", g.addr);
}

/* --- REGION and mmap ------------------------------------------------------- */

static void bad_mmap(int fd, const char *name, size_t len, int prot, int flags,
		     uint64_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	check(p == MAP_FAILED, name, "mmap(len 0x%zx, off 0x%llx) succeeded",
	      len, (unsigned long long)off);
	if (p != MAP_FAILED)
		munmap(p, len);
}

static void test_region(int fd)
{
	const int rw = PROT_READ | PROT_WRITE;
	struct csx_kh_region r, r6;
	volatile uint32_t *bar;
	uint32_t id, live;
	int rc;

	rc = region(fd, 0, &r);
	check(rc == 0 && r.flags == (CSX_KH_REGION_MEM | CSX_KH_REGION_MMAP) &&
		      r.bar_size == EDU_BAR_SIZE,
	      "region_bar0_mem_mmap_1mib", "rc %s flags 0x%x size 0x%llx",
	      en(rc), r.flags, (unsigned long long)r.bar_size);
	rc = region(fd, 6, &r6);
	check(rc == -EINVAL, "region_index6_einval", "rc %s", en(rc));

	bar = map_bar0(fd);
	if (!check(bar != NULL, "mmap_bar0", "%m"))
		return;
	id = rd(bar, EDU_ID);
	check(id == 0x010000ed, "bar0_id_register", "read 0x%08x", id);
	wr(bar, EDU_LIVE, 0x12345678);
	live = rd(bar, EDU_LIVE);
	check(live == ~0x12345678u, "bar0_liveness", "read 0x%08x", live);
	rc = kio(fd, CSX_KH_IOC_RELEASE, NULL);
	check(rc == -EBUSY, "release_while_mapped_ebusy", "rc %s", en(rc));
	munmap((void *)bar, r.bar_size);

	bad_mmap(fd, "mmap_bad_offset_fails", 4096, rw, MAP_SHARED,
		 r.mmap_offset + 4096);
	bad_mmap(fd, "mmap_over_bar_fails", r.bar_size + 4096, rw, MAP_SHARED,
		 r.mmap_offset);
	bad_mmap(fd, "mmap_private_fails", 4096, rw, MAP_PRIVATE,
		 r.mmap_offset);
	bad_mmap(fd, "mmap_exec_fails", 4096, rw | PROT_EXEC, MAP_SHARED,
		 r.mmap_offset);
	bad_mmap(fd, "mmap_absent_bar_fails", 4096, rw, MAP_SHARED,
		 CSX_KH_MMAP_BAR(1));
}

/* --- config space ---------------------------------------------------------- */

static void test_cfg_errors(int fd, __u32 cfg_size)
{
	__u32 v = 0;
	int rc;

	rc = cfg_rw(fd, 0, 0, 3, &v);
	check(rc == -EINVAL, "cfg_width3_einval", "rc %s", en(rc));
	rc = cfg_rw(fd, 0, 1, 2, &v);
	check(rc == -EINVAL, "cfg_misaligned_einval", "rc %s", en(rc));
	rc = cfg_rw(fd, 0, cfg_size, 4, &v);
	check(rc == -EINVAL, "cfg_beyond_size_einval", "offset %u: rc %s",
	      cfg_size, en(rc));
	v = 0xfffff000;
	rc = cfg_rw(fd, 1, 0x10, 4, &v);
	check(rc == -EPERM, "cfg_write_bar_eperm", "rc %s", en(rc));
	v = 5;
	rc = cfg_rw(fd, 1, 0x3c, 1, &v);
	check(rc == -EPERM, "cfg_write_intline_eperm", "rc %s", en(rc));
}

/*
 * The command register: memory and bus-master bits follow the caller, the
 * INTx-disable bit stays the helper's whatever the caller writes.
 */
static void test_cfg_command(int fd)
{
	__u32 before = 0, after = 0, v;
	int rc;

	cfg_rw(fd, 0, 0x04, 2, &before);
	check(before & PCI_COMMAND_INTX_DISABLE, "cfg_intx_masked_after_claim",
	      "command 0x%04x", before);
	v = 0x0006;
	rc = cfg_rw(fd, 1, 0x04, 2, &v);
	cfg_rw(fd, 0, 0x04, 2, &after);
	check(rc == 0 && (after & 0x6) == 0x6 &&
		      (after & PCI_COMMAND_INTX_DISABLE) ==
			      (before & PCI_COMMAND_INTX_DISABLE),
	      "cfg_command_keeps_intx_disable",
	      "rc %s command 0x%04x before 0x%04x", en(rc), after, before);
	v = 0x0002;
	rc = cfg_rw(fd, 1, 0x04, 2, &v);
	cfg_rw(fd, 0, 0x04, 2, &after);
	check(rc == 0 && (after & 0x6) == 0x2 &&
		      (after & PCI_COMMAND_INTX_DISABLE) ==
			      (before & PCI_COMMAND_INTX_DISABLE),
	      "cfg_command_master_off", "rc %s command 0x%04x", en(rc), after);
	v = before & 0x7;
	cfg_rw(fd, 1, 0x04, 2, &v);
}

static void test_cfg(int fd, __u32 cfg_size)
{
	__u32 ven = 0, dev = 0;
	int rc1, rc2;

	rc1 = cfg_rw(fd, 0, 0, 2, &ven);
	rc2 = cfg_rw(fd, 0, 2, 2, &dev);
	check(!rc1 && !rc2 && ven == 0x1234 && dev == 0x11e8, "cfg_read_ids",
	      "rc %s/%s ids %04x:%04x", en(rc1), en(rc2), ven, dev);
	test_cfg_errors(fd, cfg_size);
	test_cfg_command(fd);
}

/* --- DMA ------------------------------------------------------------------- */

static int dma_alloc(int fd, __u64 len, __u32 bits, struct csx_kh_dma *d)
{
	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	d->length = len;
	d->addr_bits = bits;
	return kio(fd, CSX_KH_IOC_DMA_ALLOC, d);
}

static int dma_free(int fd, __u32 id)
{
	struct csx_kh_dma d = { .size = sizeof(d), .id = id };

	return kio(fd, CSX_KH_IOC_DMA_FREE, &d);
}

static uint8_t *dma_map(int fd, const struct csx_kh_dma *d)
{
	void *p = mmap(NULL, d->length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       d->mmap_offset);

	return p == MAP_FAILED ? NULL : p;
}

/* Pattern RAM -> edu buffer -> another RAM buffer, compared. */
static void test_dma_copy(int fd, volatile uint32_t *bar)
{
	struct csx_kh_dma a, b;
	uint8_t *pa = NULL, *pb = NULL;
	int rc, i, bad = -1;

	rc = dma_alloc(fd, 4096, 28, &a);
	if (!rc)
		rc = dma_alloc(fd, 4096, 28, &b);
	check(rc == 0 && a.bus_addr + 4096 <= (1ull << 28) &&
		      b.bus_addr + 4096 <= (1ull << 28),
	      "dma_alloc_28bit", "rc %s bus 0x%llx/0x%llx", en(rc),
	      (unsigned long long)a.bus_addr, (unsigned long long)b.bus_addr);
	if (rc)
		return;
	pa = dma_map(fd, &a);
	pb = dma_map(fd, &b);
	if (!check(pa && pb, "dma_mmap", "%m"))
		goto out;
	for (i = 0; i < 4096; i++) {
		pa[i] = (uint8_t)(i * 7 + 3);
		pb[i] = 0;
	}
	rc = enable_master(fd, 1);
	if (!rc && edu_dma(bar, a.bus_addr, EDU_DMA_BUF, EDU_DMA_LEN, 0) == 0 &&
	    edu_dma(bar, EDU_DMA_BUF, b.bus_addr, EDU_DMA_LEN, 1) == 0)
		for (bad = 0; bad < EDU_DMA_LEN && pb[bad] == pa[bad]; bad++)
			;
	check(bad == EDU_DMA_LEN && pb[EDU_DMA_LEN] == 0, "dma_edu_roundtrip",
	      "enable %s, first difference at %d (-1: DMA timed out)", en(rc),
	      bad);
out:
	if (pa)
		munmap(pa, 4096);
	if (pb)
		munmap(pb, 4096);
	dma_free(fd, a.id);
	dma_free(fd, b.id);
}

static void test_dma_limits(int fd)
{
	static __u32 ids[CSX_KH_DMA_MAX + 1];
	struct csx_kh_dma d;
	unsigned int n = 0, freed = 0, i;
	int rc;

	rc = dma_free(fd, 0xdeadbeef);
	check(rc == -ENOENT, "dma_free_unknown_enoent", "rc %s", en(rc));
	rc = dma_alloc(fd, 0, 0, &d);
	check(rc == -EINVAL, "dma_alloc_zero_einval", "rc %s", en(rc));

	while (n <= CSX_KH_DMA_MAX && (rc = dma_alloc(fd, 4096, 0, &d)) == 0)
		ids[n++] = d.id;
	check(rc == -ENOSPC && n == CSX_KH_DMA_MAX, "dma_max_buffers_enospc",
	      "%u buffers, then rc %s", n, en(rc));
	for (i = 0; i < n; i++)
		freed += dma_free(fd, ids[i]) == 0;
	check(freed == n, "dma_free_all", "%u of %u freed", freed, n);
}

/* The mapping keeps the memory: freeing the id must not pull it away. */
static void test_dma_free_mapped(int fd)
{
	struct csx_kh_dma d;
	uint8_t *p;
	int rc, i, bad = 0;

	if (dma_alloc(fd, 4096, 0, &d) || !(p = dma_map(fd, &d))) {
		check(0, "dma_free_while_mapped", "alloc/mmap: %m");
		return;
	}
	memset(p, 0x5a, 4096);
	rc = dma_free(fd, d.id);
	for (i = 0; i < 4096; i++)
		bad += p[i] != 0x5a;
	check(rc == 0 && bad == 0, "dma_free_while_mapped",
	      "rc %s, %d bytes changed", en(rc), bad);
	check(munmap(p, 4096) == 0, "dma_munmap_after_free", "%m");
}

/* --- interrupts ------------------------------------------------------------ */

struct waiter {
	pthread_t thread;
	int fd;
	__u32 flags, timeout_ms;
	int rc;
	struct csx_kh_intr_wait w;
};

static void *waiter_main(void *arg)
{
	struct waiter *wt = arg;

	wt->rc = intr_wait(wt->fd, wt->flags, wt->timeout_ms, &wt->w);
	return NULL;
}

/* Start a blocked WAIT in another thread, and give it time to block. */
static void waiter_start(struct waiter *wt, int fd, __u32 timeout_ms)
{
	memset(wt, 0, sizeof(*wt));
	wt->fd = fd;
	wt->timeout_ms = timeout_ms;
	pthread_create(&wt->thread, NULL, waiter_main, wt);
	sleep_ms(100);
}

static int wait_intr(int fd, __u32 flags, struct csx_kh_intr_wait *w)
{
	int rc = intr_wait(fd, flags, 1000, w);

	return rc ? rc : (w->events & CSX_KH_EV_INTR) ? 0 : -EAGAIN;
}

/* raise/wait/ack/unmask, 1000 times; each must be delivered. Returns the
 * last count WAIT reported. */
static __u64 test_intr_cycles(int fd, volatile uint32_t *bar)
{
	struct csx_kh_intr_wait w = { 0 }, u;
	int i, rc = 0, bad_unmask = 0;

	for (i = 0; i < 1000 && !rc; i++) {
		wr(bar, EDU_IRQ_RAISE, 0x1);
		rc = wait_intr(fd, 0, &w);
		wr(bar, EDU_IRQ_ACK, 0x1);
		bad_unmask +=
			intr_wait(fd, CSX_KH_WAIT_UNMASK | CSX_KH_WAIT_NONBLOCK,
				  0, &u) != -ETIMEDOUT;
	}
	check(rc == 0 && i == 1000 && w.count == 1001 && !bad_unmask,
	      "intr_1000_cycles",
	      "stopped at %d rc %s count %llu, %d unexpected unmask results", i,
	      en(rc), (unsigned long long)w.count, bad_unmask);
	return w.count;
}

static __u64 test_intr_basic(int fd, volatile uint32_t *bar)
{
	struct csx_kh_intr_wait w;
	int rc;

	wr(bar, EDU_IRQ_RAISE, 0x1234);
	rc = intr_wait(fd, 0, 1000, &w);
	check(rc == 0 && (w.events & CSX_KH_EV_INTR) && w.count == 1 &&
		      w.snapshot == 0x1234,
	      "intr_wait_delivers", "rc %s events 0x%x count %llu snap 0x%llx",
	      en(rc), w.events, (unsigned long long)w.count,
	      (unsigned long long)w.snapshot);
	wr(bar, EDU_IRQ_ACK, 0x1234);
	rc = intr_wait(fd, CSX_KH_WAIT_UNMASK, 50, &w);
	check(rc == -ETIMEDOUT, "intr_wait_timeout", "rc %s events 0x%x",
	      en(rc), w.events);
	return test_intr_cycles(fd, bar);
}

static void test_intr_threads(int fd)
{
	struct csx_kh_intr_wait w;
	struct waiter wt;
	int rc;

	waiter_start(&wt, fd, 5000);
	rc = kio(fd, CSX_KH_IOC_INTR_KICK, NULL);
	pthread_join(wt.thread, NULL);
	check(rc == 0 && wt.rc == 0 && (wt.w.events & CSX_KH_EV_KICK),
	      "intr_kick_wakes_waiter", "kick %s, wait %s events 0x%x", en(rc),
	      en(wt.rc), wt.w.events);

	waiter_start(&wt, fd, 5000);
	rc = intr_wait(fd, 0, 100, &w);
	kio(fd, CSX_KH_IOC_INTR_KICK, NULL);
	pthread_join(wt.thread, NULL);
	check(rc == -EBUSY, "intr_second_waiter_ebusy", "rc %s", en(rc));
}

/* @count: what the last WAIT reported; nothing was raised since. */
static void test_intr_status(int fd, __u64 count)
{
	struct csx_kh_intr_status s;
	int rc;

	rc = intr_status(fd, &s);
	check(rc == 0 && s.delivered == count && s.isr_calls >= s.delivered &&
		      s.isr_calls == s.delivered + s.not_ours &&
		      s.watchdog_trips == 0 && s.masked == 0,
	      "intr_status_consistent",
	      "rc %s masked %u isr %llu delivered %llu (count %llu) "
	      "not_ours %llu trips %llu",
	      en(rc), s.masked, (unsigned long long)s.isr_calls,
	      (unsigned long long)s.delivered, (unsigned long long)count,
	      (unsigned long long)s.not_ours,
	      (unsigned long long)s.watchdog_trips);
}

static void test_intr_detach(int fd)
{
	struct csx_kh_intr_attach a;
	struct waiter wt;
	int rc;

	waiter_start(&wt, fd, 5000);
	rc = kio(fd, CSX_KH_IOC_INTR_DETACH, NULL);
	pthread_join(wt.thread, NULL);
	check(rc == 0 && wt.rc == -ENOTCONN, "intr_detach_wakes_enotconn",
	      "detach %s, waiter %s", en(rc), en(wt.rc));

	rc = attach(fd, CSX_KH_MODE_ANY, 0, &a);
	if (!rc)
		rc = attach(fd, CSX_KH_MODE_ANY, 0, &a);
	check(rc == -EBUSY, "intr_attach_twice_ebusy", "rc %s", en(rc));
	kio(fd, CSX_KH_IOC_INTR_DETACH, NULL);
}

/* A level line: unmasking while the device still asserts is a new
 * interrupt at once; after the ack, nothing. */
static void test_intx_level(int fd, volatile uint32_t *bar)
{
	struct csx_kh_intr_attach a;
	struct csx_kh_intr_wait w;
	__u64 count;
	double t;
	int rc;

	rc = attach(fd, CSX_KH_MODE_INTX, 0, &a);
	if (!check(rc == 0 && !a.is_msi, "intx_attach", "rc %s is_msi %u",
		   en(rc), a.is_msi))
		return;
	wr(bar, EDU_IRQ_RAISE, 0x1);
	rc = wait_intr(fd, 0, &w);
	count = w.count;
	t = now_ms();
	if (!rc)
		rc = intr_wait(fd, CSX_KH_WAIT_UNMASK, 1000, &w);
	t = now_ms() - t;
	check(rc == 0 && (w.events & CSX_KH_EV_INTR) && w.count == count + 1 &&
		      t < 500,
	      "intx_unmask_while_asserted_redelivers",
	      "rc %s events 0x%x count %llu->%llu after %.0f ms", en(rc),
	      w.events, (unsigned long long)count, (unsigned long long)w.count,
	      t);
	wr(bar, EDU_IRQ_ACK, 0x1);
	rc = intr_wait(fd, CSX_KH_WAIT_UNMASK, 50, &w);
	check(rc == -ETIMEDOUT, "intx_after_ack_quiet", "rc %s events 0x%x",
	      en(rc), w.events);
	kio(fd, CSX_KH_IOC_INTR_DETACH, NULL);
}

struct raiser {
	pthread_t thread;
	volatile uint32_t *bar;
	unsigned int ms;
};

static void *raiser_main(void *arg)
{
	struct raiser *r = arg;
	double end = now_ms() + r->ms;

	while (now_ms() < end) {
		wr(r->bar, EDU_IRQ_RAISE, 0x1);
		sleep_ms(1);
	}
	return NULL;
}

/* Poll INTR_STATUS until the watchdog tripped (or 2 s passed). */
static int await_trip(int fd, struct csx_kh_intr_status *s)
{
	double end = now_ms() + 2000;

	while (!intr_status(fd, s) && s->watchdog_trips == 0 && now_ms() < end)
		sleep_ms(10);
	return s->watchdog_trips;
}

/*
 * An interrupt consumed but never ended: after watchdog_ms the helper
 * disables the line (an MSI storm stops reaching the ISR); the next
 * WAIT|UNMASK says so and interrupts flow again.
 */
static void test_watchdog(int fd, volatile uint32_t *bar, int is_msi)
{
	struct csx_kh_intr_attach a;
	struct csx_kh_intr_status s;
	struct csx_kh_intr_wait w;
	struct raiser r = { .bar = bar, .ms = 500 };
	__u64 isr_at_trip = 0;
	int rc, i;

	rc = attach(fd, CSX_KH_MODE_ANY, 200, &a);
	wr(bar, EDU_IRQ_RAISE, 0x1);
	if (!rc)
		rc = wait_intr(fd, 0, &w);
	if (!check(rc == 0, "watchdog_setup", "rc %s", en(rc)))
		return;
	if (is_msi)
		pthread_create(&r.thread, NULL, raiser_main, &r);
	await_trip(fd, &s);
	sleep_ms(20);
	intr_status(fd, &s);
	isr_at_trip = s.isr_calls;
	if (is_msi)
		pthread_join(r.thread, NULL);
	sleep_ms(20);
	intr_status(fd, &s);
	check(s.watchdog_trips == 1, "watchdog_trips", "trips %llu",
	      (unsigned long long)s.watchdog_trips);
	if (is_msi)
		check(s.isr_calls == isr_at_trip, "watchdog_stops_msi_storm",
		      "isr_calls %llu after the trip, %llu at the end",
		      (unsigned long long)isr_at_trip,
		      (unsigned long long)s.isr_calls);

	edu_ack_all(bar);
	rc = intr_wait(fd, CSX_KH_WAIT_UNMASK, 1000, &w);
	check(rc == 0 && (w.events & CSX_KH_EV_WATCHDOG), "watchdog_event",
	      "rc %s events 0x%x", en(rc), w.events);
	/* Drain what the re-enabled line may replay, then one more. */
	for (i = 0;
	     i < 10 && intr_wait(fd, CSX_KH_WAIT_UNMASK | CSX_KH_WAIT_NONBLOCK,
				 0, &w) == 0;
	     i++)
		edu_ack_all(bar);
	wr(bar, EDU_IRQ_RAISE, 0x1);
	rc = wait_intr(fd, 0, &w);
	wr(bar, EDU_IRQ_ACK, 0x1);
	check(rc == 0, "watchdog_then_interrupts_flow", "rc %s", en(rc));
	intr_wait(fd, CSX_KH_WAIT_UNMASK | CSX_KH_WAIT_NONBLOCK, 0, &w);
	kio(fd, CSX_KH_IOC_INTR_DETACH, NULL);
}

static void test_intr(int fd, volatile uint32_t *bar)
{
	struct csx_kh_intr_attach a;
	int rc, want_msi = strcmp(g.irq, "msi") == 0;
	__u64 count;

	enable_master(fd, 1); /* an MSI is a memory write by the device */
	edu_ack_all(bar);
	rc = attach(fd, CSX_KH_MODE_ANY, 0, &a);
	check(rc == 0, "intr_attach", "rc %s", en(rc));
	if (rc)
		return;
	printf("# attached irq %u is_msi %u (CSX_IRQ=%s)\n", a.irq, a.is_msi,
	       g.irq);
	if (*g.irq)
		check(a.is_msi == (__u32)want_msi, "intr_kind_matches_vm",
		      "is_msi %u, CSX_IRQ=%s", a.is_msi, g.irq);
	count = test_intr_basic(fd, bar);
	test_intr_threads(fd);
	test_intr_status(fd, count);
	test_intr_detach(fd);
	if (strcmp(g.irq, "intx") == 0)
		test_intx_level(fd, bar);
	test_watchdog(fd, bar, a.is_msi);
}

/* --- release on death ------------------------------------------------------ */

/* The claimant that dies: DMA in flight and interrupts raised in a loop. */
static void death_child(void)
{
	struct csx_kh_claim c;
	struct csx_kh_intr_attach a;
	struct csx_kh_intr_wait w;
	volatile uint32_t *bar;
	struct csx_kh_dma d;
	int fd, dir = 0;

	fd = open_claimed(1000, &c);
	if (fd < 0 || !(bar = map_bar0(fd)))
		_exit(1);
	edu_ack_all(bar);
	if (attach(fd, CSX_KH_MODE_ANY, 0, &a) || enable_master(fd, 1) ||
	    dma_alloc(fd, 4096, 28, &d) || !dma_map(fd, &d))
		_exit(1);
	for (;;) {
		if (!(rd(bar, EDU_DMA_CMD) & 1u)) {
			wr(bar, EDU_DMA_SRC, dir ? EDU_DMA_BUF : d.bus_addr);
			wr(bar, EDU_DMA_DST, dir ? d.bus_addr : EDU_DMA_BUF);
			wr(bar, EDU_DMA_CNT, EDU_DMA_LEN);
			wr(bar, EDU_DMA_CMD, 1u | (dir ? 2u : 0u));
			dir = !dir;
		}
		wr(bar, EDU_IRQ_RAISE, 0x40);
		intr_wait(fd, 0, 5, &w);
		wr(bar, EDU_IRQ_ACK, 0x40);
		intr_wait(fd, CSX_KH_WAIT_UNMASK | CSX_KH_WAIT_NONBLOCK, 0, &w);
	}
}

/* 10! through the edu factorial unit, completion by interrupt. */
static int factorial_irq(int fd, volatile uint32_t *bar, char *why, size_t n)
{
	struct csx_kh_intr_attach a;
	struct csx_kh_intr_wait w;
	uint32_t st = 0;
	int rc, i;

	/* A DMA the dead owner started must not run once we enable
	 * bus mastering again. */
	if (!edu_dma_idle(bar, 1000))
		return snprintf(why, n, "edu DMA still busy"), -1;
	edu_ack_all(bar);
	rc = attach(fd, CSX_KH_MODE_ANY, 0, &a);
	if (!rc)
		rc = enable_master(fd, 1);
	if (rc)
		return snprintf(why, n, "attach/enable %s", en(rc)), -1;
	wr(bar, EDU_STATUS, EDU_FACT_IRQ);
	wr(bar, EDU_FACT, 10);
	for (i = 0; i < 5 && !(st & EDU_IRQ_FACT_BIT); i++) {
		rc = intr_wait(fd, i ? CSX_KH_WAIT_UNMASK : 0, 1000, &w);
		st = rd(bar, EDU_IRQ_STATUS);
		edu_ack_all(bar);
	}
	if (!(st & EDU_IRQ_FACT_BIT) || rd(bar, EDU_FACT) != 3628800)
		return snprintf(why, n, "wait %s status 0x%x result %u", en(rc),
				st, rd(bar, EDU_FACT)),
		       -1;
	return 0;
}

static int death_round(unsigned int delay_ms, char *why, size_t n,
		       int *irq_line_left)
{
	struct csx_kh_claim c;
	volatile uint32_t *bar;
	pid_t pid;
	int fd, rc;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		death_child();
	sleep_ms(delay_ms);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	*irq_line_left += !eventually(no_irq_line, 1000);

	fd = open_claimed(1000, &c);
	if (fd < 0)
		return snprintf(why, n, "claim: %s", en(fd)), -1;
	bar = map_bar0(fd);
	rc = bar ? factorial_irq(fd, bar, why, n) : -1;
	if (!bar)
		snprintf(why, n, "mmap BAR0: %m");
	else
		munmap((void *)bar, EDU_BAR_SIZE);
	close(fd);
	return rc;
}

static void test_release_on_death(void)
{
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	int round, bad = 0, irq_left = 0;
	char why[160] = "";

	srand(seed);
	for (round = 0; round < 20; round++) {
		char w[160];

		if (death_round((unsigned int)rand() % 301, w, sizeof(w),
				&irq_left)) {
			if (!bad++)
				snprintf(why, sizeof(why), "round %d: %.120s",
					 round, w);
		}
	}
	check(bad == 0, "death_reclaim_and_factorial_irq",
	      "seed %u: %d of 20 rounds failed, first: %s", seed, bad, why);
	check(irq_left == 0, "death_no_irq_left",
	      "seed %u: %d rounds left a csx_helper line in /proc/interrupts",
	      seed, irq_left);
	check(eventually(no_irq_line, 1000) && eventually(no_driver, 1000),
	      "death_nothing_left", "/proc/interrupts or driver link remains");
}

/* --- main ---------------------------------------------------------------- */

static void test_claimed(void)
{
	struct csx_kh_claim c;
	volatile uint32_t *bar;
	int fd;

	fd = open_claimed(1000, &c);
	if (!check(fd >= 0, "claim_for_tests", "rc %s", en(fd)))
		return;
	test_region(fd);
	test_cfg(fd, c.cfg_size);
	bar = map_bar0(fd);
	if (bar) {
		test_dma_copy(fd, bar);
		test_dma_limits(fd);
		test_dma_free_mapped(fd);
		test_intr(fd, bar);
		munmap((void *)bar, EDU_BAR_SIZE);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	g.irq = getenv("CSX_IRQ") ? getenv("CSX_IRQ") : "";
	if (argc > 1)
		snprintf(g.addr, sizeof(g.addr), "%.31s", argv[1]);
	else if (!find_edu()) {
		printf("Bail out! no edu device (1234:11e8) found\n");
		return 1;
	}
	if (!parse_addr(g.addr)) {
		printf("Bail out! bad PCI address %s\n", g.addr);
		return 1;
	}
	printf("# kh_abi_test: device %s, CSX_IRQ=%s\n", g.addr, g.irq);
	test_version();
	test_claim();
	test_claimed();
	test_release_on_death();
	printf("1..%d\n", g.tests);
	return g.failed ? 1 : 0;
}
