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
#include <setjmp.h>
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
#include "kh_upcall_test.h"

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

static sigjmp_buf touch_jb;

static void touch_sig(int sig)
{
	siglongjmp(touch_jb, sig);
}

/* Read or write *@p; the signal that raised (SIGBUS, SIGSEGV) or 0. */
static int touch(volatile uint32_t *p, int write)
{
	struct sigaction sa = { .sa_handler = touch_sig }, obus, osegv;
	int sig;

	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	sig = sigsetjmp(touch_jb, 1);
	if (!sig) {
		if (write)
			*p = 0;
		else
			(void)*p;
	}
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return sig;
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

/* Longer than the object: refused, so no page past it is ever mapped. */
static void mmap_einval(int fd, const char *name, size_t len, uint64_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	int err = p == MAP_FAILED ? errno : 0;

	check(err == EINVAL, name, "mmap(len 0x%zx, off 0x%llx): %s", len,
	      (unsigned long long)off, err ? strerrorname_np(err) : "mapped");
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
	mmap_einval(fd, "mmap_over_bar_einval", r.bar_size + 4096,
		    r.mmap_offset);
	mmap_einval(fd, "mmap_huge_over_bar_einval", 1ul << 34, r.mmap_offset);
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

/*
 * Two mappings of a buffer see the same memory, neither reaches past it,
 * and the mappings keep the memory: freeing the id must not pull it away.
 */
static void test_dma_free_mapped(int fd)
{
	struct csx_kh_dma d;
	uint8_t *p, *q = NULL;
	int rc, i, bad = 0, other = 0;

	if (dma_alloc(fd, 4096, 0, &d) || !(p = dma_map(fd, &d)) ||
	    !(q = dma_map(fd, &d))) {
		check(0, "dma_free_while_mapped", "alloc/mmap: %m");
		return;
	}
	memset(p, 0x5a, 4096);
	for (i = 0; i < 4096; i++)
		other += q[i] != 0x5a;
	check(other == 0, "dma_second_mapping_sees_writes", "%d bytes differ",
	      other);
	mmap_einval(fd, "mmap_over_dma_einval", 2 * 4096, d.mmap_offset);
	check(mremap(p, 4096, 2 * 4096, 0) == MAP_FAILED,
	      "dma_mremap_grow_fails", "grown past the buffer");
	rc = dma_free(fd, d.id);
	for (i = 0; i < 4096; i++)
		bad += p[i] != 0x5a || q[i] != 0x5a;
	check(rc == 0 && bad == 0, "dma_free_while_mapped",
	      "rc %s, %d bytes changed", en(rc), bad);
	check(munmap(p, 4096) == 0 && munmap(q, 4096) == 0,
	      "dma_munmap_after_free", "%m");
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

/* --- revocation ------------------------------------------------------------ */

static int sysfs_unbind(void)
{
	char path[PATH_MAX];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
		 g.addr);
	f = fopen(path, "w");
	if (!f)
		return 0;
	ok = fputs(g.addr, f) >= 0;
	return fclose(f) == 0 && ok;
}

/*
 * Root unbinds the device while it is claimed and mapped: every mapping,
 * touched before or not, gets SIGBUS, and no new one is made. After
 * RELEASE the file may claim again; its old mappings stay dead.
 */
static void test_revoke(void)
{
	struct csx_kh_claim c;
	struct csx_kh_region r;
	struct csx_kh_dma d;
	volatile uint32_t *bar;
	uint8_t *p = NULL, *q = NULL;
	int fd, rc, s[4];
	void *m;

	fd = open_claimed(1000, &c);
	if (!check(fd >= 0, "revoke_claim", "rc %s", en(fd)))
		return;
	bar = map_bar0(fd);
	rc = dma_alloc(fd, 2 * 4096, 0, &d);
	if (!rc && (p = dma_map(fd, &d)))
		q = dma_map(fd, &d);
	if (!check(bar && p && q, "revoke_setup", "dma %s: %m", en(rc)))
		goto out;
	/* Faulted in: BAR page 0 and p's page 0; q never was. */
	p[0] = 0xa5;
	rd(bar, EDU_ID);
	if (!check(sysfs_unbind(), "revoke_sysfs_unbind", "%m"))
		goto out;
	s[0] = touch(bar, 0);
	s[1] = touch(bar + 4096 / 4, 0);
	s[2] = touch((volatile uint32_t *)p, 1);
	s[3] = touch((volatile uint32_t *)(q + 4096), 0);
	check(s[0] == SIGBUS && s[1] == SIGBUS && s[2] == SIGBUS &&
		      s[3] == SIGBUS,
	      "revoke_mappings_sigbus", "signals %d %d %d %d (SIGBUS %d)", s[0],
	      s[1], s[2], s[3], SIGBUS);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 CSX_KH_MMAP_BAR(0));
	check(m == MAP_FAILED && errno == ENODEV, "revoke_new_mmap_enodev",
	      "%s", m == MAP_FAILED ? strerrorname_np(errno) : "mapped");
	if (m != MAP_FAILED)
		munmap(m, 4096);
	rc = region(fd, 0, &r);
	check(rc == -ENODEV, "revoke_ioctl_enodev", "rc %s", en(rc));
	rc = kio(fd, CSX_KH_IOC_RELEASE, NULL);
	check(rc == 0, "revoke_release_ok", "rc %s", en(rc));
	rc = claim(fd, &c);
	s[0] = rc ? 0 : touch(bar, 0);
	check(rc == 0 && s[0] == SIGBUS, "revoke_stays_after_reclaim",
	      "claim %s, old mapping: signal %d", en(rc), s[0]);
out:
	if (bar)
		munmap((void *)bar, EDU_BAR_SIZE);
	if (p)
		munmap(p, 2 * 4096);
	if (q)
		munmap(q, 2 * 4096);
	close(fd);
	check(eventually(no_driver, 1000), "revoke_nothing_left",
	      "%s still has a driver link", g.addr);
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

/* --- kernel -> user calls (SVC_EXPORT/UNEXPORT/SERVE/KICK) ------------------ */

/*
 * The kernel caller is kh_upcall_client.ko (KUC_SYSFS), driven through its
 * parameters; the servers are threads of this program, serving by
 * KUC_OP_* (kh_upcall_test.h). Without the module, only the ABI's own
 * checks run (the rest is skipped, said so).
 */
#define CALL_MAX CSX_KH_CALL_MAX
#define UP_SERVE_NS (50ll * 1000 * 1000) /* server threads look at stop */
#define UP_MAX_THREADS 8
/* CSX_E* values, as the module's expect= takes them (negative errno). */
#define UP_ETIMEDOUT (-ETIMEDOUT)
#define UP_EPEERDIED (-EOWNERDEAD)

static int up_export(int fd, const char *name, __u32 version, __u32 scope,
		     __u32 *handle)
{
	struct csx_kh_svc_export e = { .size = sizeof(e) };
	int rc;

	e.version = version;
	e.scope = scope;
	snprintf(e.name, sizeof(e.name), "%s", name);
	rc = kio(fd, CSX_KH_IOC_SVC_EXPORT, &e);
	if (!rc && handle)
		*handle = e.handle;
	return rc;
}

static int up_unexport(int fd, __u32 handle)
{
	struct csx_kh_svc_unexport u = { sizeof(u), handle };

	return kio(fd, CSX_KH_IOC_SVC_UNEXPORT, &u);
}

static void up_serve_init(struct csx_kh_svc_serve *v, void *req,
			  int64_t timeout_ns)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	v->req_ptr = (uintptr_t)req;
	v->req_cap = req ? CALL_MAX : 0;
	v->timeout_ns = timeout_ns;
}

/* --- the kernel caller ---------------------------------------------------- */

struct kuc_args {
	const char *svc;
	unsigned int op, calls, threads, check, minver;
	int len, cap, timeout_ms, expect, expect_open, async;
};

static void kuc_defaults(struct kuc_args *a, const char *svc)
{
	memset(a, 0, sizeof(*a));
	a->svc = svc;
	a->op = KUC_OP_ECHO;
	a->calls = 1;
	a->threads = 1;
	a->check = KUC_CHECK_ECHO;
	a->len = 16;
	a->cap = -1;
	a->timeout_ms = 10000;
}

static int kuc_present(void)
{
	return access(KUC_SYSFS "run", W_OK) == 0;
}

static int kuc_write(const char *param, const char *val)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, rc = 0;

	snprintf(path, sizeof(path), KUC_SYSFS "%s", param);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int kuc_setf(const char *param, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return kuc_write(param, buf);
}

/* The last command's outcome line, for diagnostics. */
static const char *kuc_result(void)
{
	static char buf[256];
	ssize_t n = -1;
	int fd = open(KUC_SYSFS "result", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return buf;
}

/* Parameters, then the command ("batch", "open", "call", "watch",
 * "close"). */
static int kuc_run(const struct kuc_args *a, const char *cmd)
{
	int rc = kuc_write("svc", a->svc);

	rc = rc ?: kuc_setf("op", a->op);
	rc = rc ?: kuc_setf("calls", a->calls);
	rc = rc ?: kuc_setf("threads", a->threads);
	rc = rc ?: kuc_setf("check", a->check);
	rc = rc ?: kuc_setf("minver", a->minver);
	rc = rc ?: kuc_setf("len", a->len);
	rc = rc ?: kuc_setf("cap", a->cap);
	rc = rc ?: kuc_setf("timeout_ms", a->timeout_ms);
	rc = rc ?: kuc_setf("expect", a->expect);
	rc = rc ?: kuc_setf("expect_open", a->expect_open);
	rc = rc ?: kuc_write("async", a->async ? "1" : "0");
	return rc ?: kuc_write("run", cmd);
}

/* Microseconds of the slowest call of the last command. */
static unsigned long kuc_max_us(void)
{
	const char *p = strstr(kuc_result(), "max_us ");

	return p ? strtoul(p + 7, NULL, 10) : 0;
}

/* --- a test server ---------------------------------------------------------- */

struct srv {
	int fd;
	__u32 handle;
	char name[CSX_KH_SVC_NAME_MAX];
	int nthreads;
	pthread_t th[UP_MAX_THREADS];
	volatile int stop;
	int served, efaults, errors, hangs, late_ok;
	char why[160]; /* the first error */
	int hang_pipe; /* a byte per HANG request taken, or -1 */
};

static void srv_error(struct srv *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void srv_error(struct srv *s, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* SERVE with a reply to @id only (req_cap 0): returns at once. */
static int srv_reply_only(struct srv *s, __u64 id, __s32 status,
			  const void *buf, __u64 len)
{
	struct csx_kh_svc_serve v;

	up_serve_init(&v, NULL, 0);
	v.reply_id = id;
	v.reply_status = status;
	v.reply_ptr = (uintptr_t)buf;
	v.reply_len = len;
	return kio(s->fd, CSX_KH_IOC_SVC_SERVE, &v);
}

/* What to answer to @v (request in @req): sets the reply in @n. */
static void srv_handle(struct srv *s, struct csx_kh_svc_serve *v, uint8_t *req,
		       uint8_t *rep, struct csx_kh_svc_serve *n)
{
	struct kuc_info info;
	int rc;

	n->reply_id = v->req_id;
	n->reply_ptr = (uintptr_t)rep;
	switch (v->op & 0xff) {
	case KUC_OP_INFO:
		info.op = v->op;
		info.handle = v->handle;
		info.req_len = v->req_len;
		info.out_cap = v->out_cap;
		memcpy(rep, &info, sizeof(info));
		n->reply_len = sizeof(info);
		break;
	case KUC_OP_STATUS:
		n->reply_status = (__s32)v->op >> 8;
		memcpy(rep, "STATUS!!", 8);
		n->reply_len = 8;
		break;
	case KUC_OP_TOOBIG:
		memset(rep, 0xee, v->out_cap + 1);
		n->reply_len = v->out_cap + 1;
		break;
	case KUC_OP_HANG:
		n->reply_id = 0;
		__atomic_fetch_add(&s->hangs, 1, __ATOMIC_RELAXED);
		if (s->hang_pipe >= 0 && write(s->hang_pipe, "t", 1) != 1)
			srv_error(s, "hang pipe: %s", strerror(errno));
		break;
	case KUC_OP_UNKNOWN:
		/* Unknown and foreign ids: dropped, the ioctl succeeds. */
		rc = srv_reply_only(s, v->req_id + 1000000, 0, rep, 8);
		rc = rc ?: srv_reply_only(s, ~0ull, -EIO, rep, 8);
		if (rc)
			srv_error(s, "reply to an unknown id: %s", en(rc));
		/* fall through */
	case KUC_OP_SLOW:
		if ((v->op & 0xff) == KUC_OP_SLOW) {
			sleep_ms(v->op >> 8);
			__atomic_fetch_add(&s->late_ok, 1, __ATOMIC_RELAXED);
		}
		/* fall through */
	case KUC_OP_ECHO:
	default:
		memcpy(rep, req, v->req_len);
		n->reply_len = v->req_len;
		break;
	case KUC_OP_TWICE:
		memcpy(rep, req, v->req_len);
		rc = srv_reply_only(s, v->req_id, 0, rep, v->req_len);
		if (rc)
			srv_error(s, "reply-only SERVE: %s", en(rc));
		n->reply_len = v->req_len; /* again, next time: dropped */
		break;
	case KUC_OP_BADPTR:
		n->reply_ptr = 8; /* unmapped */
		n->reply_len = 16;
		break;
	}
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	uint8_t *req = malloc(CALL_MAX), *rep = malloc(CALL_MAX + 1);
	struct csx_kh_svc_serve v, next;
	int rc, badptr;

	if (!req || !rep) {
		srv_error(s, "out of memory");
		return NULL;
	}
	up_serve_init(&next, req, UP_SERVE_NS);
	while (!s->stop) {
		v = next;
		badptr = next.reply_id && next.reply_ptr == 8;
		rc = kio(s->fd, CSX_KH_IOC_SVC_SERVE, &v);
		up_serve_init(&next, req, UP_SERVE_NS);
		if (rc == -EINTR)
			continue;
		if (badptr && rc == -EFAULT) {
			__atomic_fetch_add(&s->efaults, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (rc) {
			srv_error(s, "SERVE: %s", en(rc));
			sleep_ms(10);
			continue;
		}
		if (!v.req_id)
			continue;
		__atomic_fetch_add(&s->served, 1, __ATOMIC_RELAXED);
		if (v.handle != s->handle || v.req_len > CALL_MAX ||
		    v.out_cap > CALL_MAX)
			srv_error(
				s,
				"SERVE: handle %u (want %u) req_len %llu out_cap %llu",
				v.handle, s->handle,
				(unsigned long long)v.req_len,
				(unsigned long long)v.out_cap);
		srv_handle(s, &v, req, rep, &next);
	}
	/* The last answer still goes out. */
	if (next.reply_id && next.reply_ptr != 8) {
		rc = srv_reply_only(s, next.reply_id, next.reply_status, rep,
				    next.reply_len);
		if (rc)
			srv_error(s, "last reply: %s", en(rc));
	}
	free(req);
	free(rep);
	return NULL;
}

/* Open a file, export @name (version 3), start @nthreads @fn servers. */
static int srv_start_fn(struct srv *s, const char *name, int nthreads,
			void *(*fn)(void *))
{
	int rc, i;

	memset(s, 0, sizeof(*s));
	s->hang_pipe = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->fd = kh_open();
	rc = up_export(s->fd, name, 3, 1, &s->handle);
	if (rc) {
		close(s->fd);
		s->fd = -1;
		return rc;
	}
	for (i = 0; i < nthreads && i < UP_MAX_THREADS; i++)
		if (!pthread_create(&s->th[i], NULL, fn, s))
			s->nthreads++;
	return 0;
}

static int srv_start(struct srv *s, const char *name, int nthreads)
{
	return srv_start_fn(s, name, nthreads, srv_main);
}

static void srv_stop(struct srv *s)
{
	int i;

	s->stop = 1;
	for (i = 0; i < s->nthreads; i++)
		pthread_join(s->th[i], NULL);
	s->nthreads = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Check the server saw no error; stop it. */
static void srv_done(struct srv *s, const char *name)
{
	srv_stop(s);
	check(s->errors == 0, name, "%d server error(s), first: %s", s->errors,
	      s->why);
}

/* --- EXPORT / UNEXPORT / SERVE / KICK: the ABI alone ------------------------- */

static void test_export_unprivileged(void)
{
	int fd = kh_open();
	int status = 0;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		int own, rc;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(100);
		own = open(CSX_KH_DEVICE, O_RDWR);
		rc = up_export(own >= 0 ? own : fd, "kt/unpriv", 1, 2, NULL);
		_exit(rc == -EPERM ? 0 : rc == 0 ? 101 : -rc);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "export_unprivileged_eperm", "child status 0x%x (101: exported)",
	      status);
	close(fd);
}

struct gone_waiter {
	int fd, rc;
	struct csx_kh_svc_gone g;
};

static void *gone_wait_main(void *arg)
{
	struct gone_waiter *w = arg;

	memset(&w->g, 0, sizeof(w->g));
	w->g.size = sizeof(w->g);
	w->g.timeout_ns = 30ll * 1000 * 1000 * 1000;
	w->rc = kio(w->fd, CSX_KH_IOC_SVC_GONE, &w->g);
	return NULL;
}

/*
 * SVC_GONE without channels: the argument checks, an empty look, and a
 * waiter that SVC_KICK wakes long before its timeout. (Notices for real
 * channels: payload-calls.sh, calls_user_to_kernel_death_notices.)
 */
static void test_svc_gone(void)
{
	struct csx_kh_version v = { .size = sizeof(v) };
	struct csx_kh_svc_gone g;
	struct gone_waiter w;
	pthread_t t;
	double t0, dt;
	int fd = kh_open(), rc;

	rc = kio(fd, CSX_KH_IOC_VERSION, &v);
	check(rc == 0 && (v.features & CSX_KH_FEAT_SVC_GONE),
	      "svc_gone_feature", "rc %s features 0x%x", en(rc), v.features);
	memset(&g, 0, sizeof(g));
	g.size = sizeof(g) + 4;
	rc = kio(fd, CSX_KH_IOC_SVC_GONE, &g);
	check(rc == -EINVAL, "svc_gone_bad_size_einval", "rc %s", en(rc));
	g.size = sizeof(g);
	g.timeout_ns = -2;
	rc = kio(fd, CSX_KH_IOC_SVC_GONE, &g);
	check(rc == -EINVAL, "svc_gone_bad_timeout_einval", "rc %s", en(rc));
	g.timeout_ns = 0;
	g.count = 99;
	rc = kio(fd, CSX_KH_IOC_SVC_GONE, &g);
	check(rc == 0 && g.count == 0, "svc_gone_nothing", "rc %s count %u",
	      en(rc), g.count);
	w.fd = fd;
	t0 = now_ms();
	if (pthread_create(&t, NULL, gone_wait_main, &w)) {
		check(0, "svc_gone_kick_wakes", "pthread_create failed");
		close(fd);
		return;
	}
	/* Kick until it is out (a kick reaches waiters already waiting). */
	do {
		usleep(100 * 1000);
		kio(fd, CSX_KH_IOC_SVC_KICK, NULL);
	} while (pthread_tryjoin_np(t, NULL) == EBUSY && now_ms() - t0 < 40000);
	dt = now_ms() - t0;
	check(w.rc == 0 && w.g.count == 0 && dt < 30000, "svc_gone_kick_wakes",
	      "rc %s count %u after %.0f ms (timeout 30 s)", en(w.rc),
	      w.g.count, dt);
	close(fd);
}

/* SVC_EXPORT_OPTS: the export with idempotent ops; same rules. */
static void test_export_opts(void)
{
	struct csx_kh_version v = { .size = sizeof(v) };
	struct csx_kh_svc_export_opts o;
	int fd = kh_open();
	__u32 h;
	int rc, i;

	rc = kio(fd, CSX_KH_IOC_VERSION, &v);
	check(rc == 0 && (v.features & CSX_KH_FEAT_EXPORT_OPTS),
	      "export_opts_feature", "rc %s features 0x%x", en(rc), v.features);
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o) - 8; /* the plain export's size */
	o.scope = 1;
	strcpy(o.name, "kt/opts");
	rc = kio(fd, CSX_KH_IOC_SVC_EXPORT_OPTS, &o);
	check(rc == -EINVAL, "export_opts_bad_size_einval", "rc %s", en(rc));
	o.size = sizeof(o);
	o.scope = 7;
	rc = kio(fd, CSX_KH_IOC_SVC_EXPORT_OPTS, &o);
	check(rc == -EINVAL, "export_opts_bad_scope_einval", "rc %s", en(rc));
	o.scope = 1;
	o.version = 3;
	o.idempotent = ~0ull;
	rc = kio(fd, CSX_KH_IOC_SVC_EXPORT_OPTS, &o);
	h = o.handle;
	/* One name space with the plain form. */
	i = up_export(fd, "kt/opts", 1, 1, NULL);
	check(rc == 0 && h != 0 && i == -EEXIST, "export_opts_ok",
	      "rc %s handle %u, plain export of the name: %s", en(rc), h,
	      en(i));
	rc = up_unexport(fd, h);
	check(rc == 0, "export_opts_unexport", "rc %s", en(rc));
	close(fd);
}

static void test_export_errors(void)
{
	struct csx_kh_svc_export e;
	int fd = kh_open(), fd2 = kh_open();
	__u32 h, h2, hs[CSX_KH_EXPORT_MAX];
	char name[32];
	int rc, i, n, bad = 0;

	memset(&e, 0, sizeof(e));
	e.size = sizeof(e) + 4;
	e.scope = 1;
	strcpy(e.name, "kt/x");
	rc = kio(fd, CSX_KH_IOC_SVC_EXPORT, &e);
	check(rc == -EINVAL, "export_bad_size_einval", "rc %s", en(rc));
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.scope = 1;
	memset(e.name, 'a', sizeof(e.name));
	e.name[3] = '/';
	rc = kio(fd, CSX_KH_IOC_SVC_EXPORT, &e);
	check(rc == -EINVAL, "export_unterminated_einval", "rc %s", en(rc));
	rc = up_export(fd, "noslash", 1, 1, NULL);
	check(rc == -EINVAL, "export_bad_name_einval", "rc %s", en(rc));
	rc = up_export(fd, "kt/sc", 1, 0, NULL);
	i = up_export(fd, "kt/sc", 1, 3, NULL);
	check(rc == -EINVAL && i == -EINVAL, "export_bad_scope_einval",
	      "scope 0: %s, scope 3: %s", en(rc), en(i));

	rc = up_export(fd, "kt/dup", 1, 1, &h);
	check(rc == 0 && h != 0, "export_ok", "rc %s handle %u", en(rc), h);
	rc = up_export(fd2, "kt/dup", 1, 2, NULL);
	i = up_export(fd, "kt/dup", 1, 1, NULL);
	check(rc == -EEXIST && i == -EEXIST, "export_twice_eexist",
	      "other file: %s, same file: %s", en(rc), en(i));
	/* The name goes with the file. */
	close(fd);
	rc = up_export(fd2, "kt/dup", 1, 2, &h2);
	check(rc == 0, "export_after_owner_closed", "rc %s", en(rc));
	rc = up_unexport(fd2, h2);
	i = up_unexport(fd2, h2);
	check(rc == 0 && i == -ENOENT, "unexport_then_enoent",
	      "first %s, second %s", en(rc), en(i));
	rc = up_unexport(fd2, 0);
	i = up_unexport(fd2, 0x12345);
	check(rc == -ENOENT && i == -ENOENT, "unexport_bad_handle_enoent",
	      "0: %s, 0x12345: %s", en(rc), en(i));

	for (n = 0; n < (int)CSX_KH_EXPORT_MAX; n++) {
		snprintf(name, sizeof(name), "kt/n%d", n);
		rc = up_export(fd2, name, 1, 1, &hs[n]);
		if (rc)
			break;
	}
	i = up_export(fd2, "kt/one-too-many", 1, 1, NULL);
	check(n == (int)CSX_KH_EXPORT_MAX && i == -ENOSPC,
	      "export_limit_enospc", "%d exports (stopped by %s), then %s", n,
	      en(rc), en(i));
	/* A freed slot is reused; its old handle stays dead. */
	rc = up_unexport(fd2, hs[5]);
	i = up_export(fd2, "kt/again", 1, 1, &h);
	bad = up_unexport(fd2, hs[5]) != -ENOENT;
	check(rc == 0 && i == 0 && h != hs[5] && !bad, "export_slot_reuse",
	      "unexport %s, export %s, handle %u vs %u, stale handle %s",
	      en(rc), en(i), h, hs[5], bad ? "worked" : "refused");
	close(fd2);
	test_export_opts();
	test_svc_gone();
}

struct blocked_serve {
	pthread_t thread;
	int fd, rc;
	struct csx_kh_svc_serve v;
	double ms;
	uint8_t *req;
};

static void *blocked_serve_main(void *arg)
{
	struct blocked_serve *b = arg;
	double t0 = now_ms();

	up_serve_init(&b->v, b->req, -1);
	b->rc = kio(b->fd, CSX_KH_IOC_SVC_SERVE, &b->v);
	b->ms = now_ms() - t0;
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void test_serve_errors(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	uint8_t *req = malloc(CALL_MAX);
	struct csx_kh_svc_serve v;
	struct blocked_serve b[2];
	struct csx_kh_version ver = { .size = sizeof(ver) };
	int fd = kh_open(), rc, i;
	double t0, ms;

	rc = kio(fd, CSX_KH_IOC_VERSION, &ver);
	check(rc == 0 && (ver.features & CSX_KH_FEAT_UPCALLS),
	      "version_feat_upcalls", "rc %s features 0x%x", en(rc),
	      ver.features);

	up_serve_init(&v, req, 0);
	v.size = sizeof(v) - 8;
	rc = kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
	check(rc == -EINVAL, "serve_bad_size_einval", "rc %s", en(rc));
	up_serve_init(&v, req, 0);
	v.req_cap = CALL_MAX - 1;
	rc = kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
	check(rc == -EINVAL, "serve_small_req_cap_einval", "rc %s", en(rc));
	up_serve_init(&v, req, -2);
	rc = kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
	check(rc == -EINVAL, "serve_bad_timeout_einval", "rc %s", en(rc));

	up_serve_init(&v, req, 0);
	v.req_id = 77;
	t0 = now_ms();
	rc = kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
	ms = now_ms() - t0;
	check(rc == 0 && v.req_id == 0 && ms < 500, "serve_poll_nothing",
	      "rc %s req_id %llu in %.0f ms", en(rc),
	      (unsigned long long)v.req_id, ms);
	up_serve_init(&v, req, 50ll * 1000 * 1000);
	t0 = now_ms();
	rc = kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
	ms = now_ms() - t0;
	/*
	 * Lower bounds at half the wait: under a loaded VM the guest's
	 * jiffies and clock can drift apart. What matters is that it waited.
	 */
	check(rc == 0 && v.req_id == 0 && ms >= 25 && ms < 2000,
	      "serve_timeout", "rc %s req_id %llu after %.0f ms", en(rc),
	      (unsigned long long)v.req_id, ms);

	/* Replies to ids nobody handed out: dropped, the ioctl goes on. */
	up_serve_init(&v, NULL, 0);
	v.reply_id = 12345;
	v.reply_ptr = (uintptr_t)req;
	v.reply_len = 100;
	rc = kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
	up_serve_init(&v, req, 0);
	v.reply_id = ~0ull;
	v.reply_status = 7; /* not even a valid status: still just dropped */
	i = kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
	check(rc == 0 && i == 0, "serve_unknown_reply_dropped",
	      "reply-only %s, with wait %s", en(rc), en(i));

	/* KICK wakes every SERVE that waits, forever or not. */
	memset(b, 0, sizeof(b));
	for (i = 0; i < 2; i++) {
		b[i].fd = fd;
		b[i].req = req;
		pthread_create(&b[i].thread, NULL, blocked_serve_main, &b[i]);
	}
	sleep_ms(150);
	rc = kio(fd, CSX_KH_IOC_SVC_KICK, NULL);
	for (i = 0; i < 2; i++)
		pthread_join(b[i].thread, NULL);
	check(rc == 0 && b[0].rc == 0 && b[1].rc == 0 && !b[0].v.req_id &&
		      !b[1].v.req_id && b[0].ms >= 75 && b[1].ms >= 75,
	      "serve_kick_wakes_all",
	      "kick %s; serve %s/%s req_id %llu/%llu after %.0f/%.0f ms",
	      en(rc), en(b[0].rc), en(b[1].rc),
	      (unsigned long long)b[0].v.req_id,
	      (unsigned long long)b[1].v.req_id, b[0].ms, b[1].ms);

	/* A signal: -EINTR, never restarted. */
	sigaction(SIGUSR1, &sa, &old);
	b[0].fd = fd;
	pthread_create(&b[0].thread, NULL, blocked_serve_main, &b[0]);
	sleep_ms(150);
	pthread_kill(b[0].thread, SIGUSR1);
	pthread_join(b[0].thread, NULL);
	sigaction(SIGUSR1, &old, NULL);
	check(b[0].rc == -EINTR, "serve_signal_eintr", "rc %s after %.0f ms",
	      en(b[0].rc), b[0].ms);
	close(fd);
	free(req);
}

/* --- calls from the kernel ------------------------------------------------------ */

/* Run @a as @cmd, expecting the module to be satisfied (or @want_rc). */
static int kuc_check_run(const char *name, const struct kuc_args *a,
			 const char *cmd)
{
	int rc = kuc_run(a, cmd);

	return check(rc == 0, name, "%s: %s (%s)", cmd, en(rc), kuc_result());
}

/* KUC_OP_STATUS answering @status: (__s32)op >> 8. */
static unsigned int status_op(int status)
{
	return (unsigned int)status * 256u | KUC_OP_STATUS;
}

static void test_upcall_basic(void)
{
	struct kuc_args a;
	struct srv s;
	int rc;

	rc = srv_start(&s, "kt/echo", 2);
	if (!check(rc == 0, "upcall_server_start", "export: %s", en(rc)))
		return;
	kuc_defaults(&a, "kt/echo");
	a.len = -1; /* 0 B .. 1 MiB */
	a.calls = 12;
	kuc_check_run("upcall_echo_0_to_1MiB", &a, "batch");
	a.calls = 12;
	a.async = 1;
	kuc_check_run("upcall_echo_async", &a, "batch");
	a.async = 0;
	a.cap = -2; /* out_cap 1 MiB, whatever the request */
	a.len = 1000;
	a.calls = 3;
	kuc_check_run("upcall_echo_big_cap", &a, "batch");

	kuc_defaults(&a, "kt/echo");
	a.op = 0xabcdef00u | KUC_OP_INFO;
	a.len = 100;
	a.cap = 4096;
	a.check = KUC_CHECK_INFO;
	kuc_check_run("upcall_op_out_cap_passed", &a, "batch");
	a.cap = 8; /* the 24-byte answer does not fit */
	a.check = KUC_CHECK_NONE;
	a.expect = -EIO;
	kuc_check_run("upcall_reply_too_long_eio", &a, "batch");

	kuc_defaults(&a, "kt/echo");
	a.check = KUC_CHECK_NONE;
	a.op = status_op(-EPROTO);
	a.expect = -EPROTO;
	kuc_check_run("upcall_status_passed", &a, "batch");
	a.op = status_op(-ENOSPC);
	a.expect = -ENOSPC;
	kuc_check_run("upcall_status_passed_2", &a, "batch");
	a.op = status_op(5);
	a.expect = -EIO;
	kuc_check_run("upcall_status_positive_eio", &a, "batch");
	a.op = status_op(-5000);
	kuc_check_run("upcall_status_out_of_range_eio", &a, "batch");
	a.op = KUC_OP_TOOBIG;
	a.cap = 100;
	kuc_check_run("upcall_reply_over_cap_eio", &a, "batch");
	a.op = KUC_OP_BADPTR;
	kuc_check_run("upcall_reply_unreadable_eio", &a, "batch");
	check(s.efaults == 1, "upcall_reply_unreadable_efault",
	      "server saw %d EFAULT, want 1", s.efaults);

	kuc_defaults(&a, "kt/echo");
	a.op = KUC_OP_UNKNOWN;
	a.calls = 3;
	kuc_check_run("upcall_unknown_reply_ids_ignored", &a, "batch");
	a.op = KUC_OP_TWICE;
	kuc_check_run("upcall_second_reply_dropped", &a, "batch");

	kuc_defaults(&a, "kt/echo");
	a.minver = 4; /* the servers export version 3 */
	a.expect_open = -EPROTO;
	kuc_check_run("upcall_open_min_version_eproto", &a, "batch");
	a.minver = 3;
	a.expect_open = 0;
	kuc_check_run("upcall_open_min_version_ok", &a, "batch");
	kuc_defaults(&a, "kt/nobody");
	a.expect_open = -ENOENT;
	kuc_check_run("upcall_open_unknown_enoent", &a, "batch");
	srv_done(&s, "upcall_server_no_errors");
}

static void test_upcall_concurrent(void)
{
	struct kuc_args a;
	double t0;
	struct srv s;
	int rc;

	rc = srv_start(&s, "kt/many", 4);
	if (!check(rc == 0, "upcall_concurrent_server", "export: %s", en(rc)))
		return;
	kuc_defaults(&a, "kt/many");
	a.threads = 8;
	a.calls = 200;
	a.len = 64;
	t0 = now_ms();
	rc = kuc_run(&a, "batch");
	check(rc == 0 && s.served == 1600, "upcall_8_callers_4_servers",
	      "%s (%s), %d served, want 1600", en(rc), kuc_result(), s.served);
	printf("# 1600 calls of 64 B, 8 kthreads, 4 SERVE threads: %.0f ms\n",
	       now_ms() - t0);
	a.len = -1;
	a.calls = 24; /* twice the sweep: up to 1 MiB each */
	kuc_check_run("upcall_8_callers_big", &a, "batch");
	/* One channel, eight threads on it. */
	kuc_defaults(&a, "kt/many");
	kuc_check_run("upcall_held_open", &a, "open");
	a.threads = 8;
	a.calls = 50;
	a.len = 300;
	kuc_check_run("upcall_held_shared_by_8", &a, "call");
	kuc_check_run("upcall_held_close", &a, "close");
	srv_done(&s, "upcall_concurrent_no_errors");
}

static void test_upcall_timeouts(void)
{
	struct csx_kh_svc_serve v;
	uint8_t *req = malloc(CALL_MAX);
	struct kuc_args a;
	unsigned long us;
	struct srv s;
	__u32 h;
	int fd = kh_open(), rc;

	/* Nobody serves: the call times out QUEUED and is gone after. */
	rc = up_export(fd, "kt/idle", 1, 1, &h);
	kuc_defaults(&a, "kt/idle");
	a.timeout_ms = 100;
	a.expect = UP_ETIMEDOUT;
	rc = rc ?: kuc_run(&a, "batch");
	us = kuc_max_us();
	/* Half the timeout at least (see serve_timeout): it did wait. */
	check(rc == 0 && us >= 50000 && us < 3000000, "upcall_timeout_queued",
	      "%s (%s)", en(rc), kuc_result());
	up_serve_init(&v, req, 0);
	rc = kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
	check(rc == 0 && v.req_id == 0, "upcall_timed_out_request_gone",
	      "rc %s req_id %llu", en(rc), (unsigned long long)v.req_id);
	a.timeout_ms = 0;
	kuc_check_run("upcall_timeout_zero", &a, "batch");
	close(fd);

	/* Taken, answered too late: the late reply is dropped. */
	rc = srv_start(&s, "kt/slow", 1);
	if (!check(rc == 0, "upcall_slow_server", "export: %s", en(rc)))
		goto out;
	kuc_defaults(&a, "kt/slow");
	a.op = (400u << 8) | KUC_OP_SLOW;
	a.timeout_ms = 100;
	a.expect = UP_ETIMEDOUT;
	a.len = 4096;
	kuc_check_run("upcall_timeout_taken", &a, "batch");
	sleep_ms(600);
	check(s.late_ok == 1, "upcall_late_reply_sent", "%d late replies sent",
	      s.late_ok);
	kuc_defaults(&a, "kt/slow");
	a.op = (50u << 8) | KUC_OP_SLOW;
	kuc_check_run("upcall_works_after_late_reply", &a, "batch");
	srv_done(&s, "upcall_late_reply_no_errors");
out:
	free(req);
}

struct kuc_bg_run {
	pthread_t thread;
	struct kuc_args a;
	int rc;
	double end_ms;
};

static void *kuc_bg_main(void *arg)
{
	struct kuc_bg_run *r = arg;

	r->rc = kuc_run(&r->a, "batch");
	r->end_ms = now_ms();
	return NULL;
}

static uint8_t kill_child_buf[CALL_MAX];

/* A server of @name that takes calls and never answers (or never serves
 * at all), telling the parent on @pipe_w; syscalls only (forked). */
static void kill_child(int pipe_w, const char *name, int serve)
{
	struct csx_kh_svc_serve v;
	int fd = open(CSX_KH_DEVICE, O_RDWR);

	if (fd < 0 || up_export(fd, name, 1, 1, NULL))
		_exit(1);
	if (write(pipe_w, "r", 1) != 1)
		_exit(1);
	for (;;) {
		if (!serve) {
			pause();
			continue;
		}
		up_serve_init(&v, kill_child_buf, -1);
		if (kio(fd, CSX_KH_IOC_SVC_SERVE, &v) == 0 && v.req_id &&
		    write(pipe_w, "t", 1) != 1)
			_exit(1);
	}
}

/* SIGKILL of the exporting process while a kernel caller waits forever:
 * the caller returns CSX_EPEERDIED at once. */
static void test_upcall_sigkill(int serve)
{
	const char *name = serve ? "upcall_sigkill_while_taken" :
				   "upcall_sigkill_while_queued";
	struct kuc_bg_run r;
	int p[2], status;
	double t_kill;
	char c = 0;
	pid_t pid;

	if (pipe(p)) {
		check(0, name, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		kill_child(p[1], "kt/kill", serve);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1 || c != 'r') {
		check(0, name, "child did not export");
		close(p[0]);
		waitpid(pid, &status, 0);
		return;
	}
	memset(&r, 0, sizeof(r));
	kuc_defaults(&r.a, "kt/kill");
	r.a.op = KUC_OP_HANG;
	r.a.timeout_ms = -1;
	r.a.expect = UP_EPEERDIED;
	r.a.check = KUC_CHECK_NONE;
	pthread_create(&r.thread, NULL, kuc_bg_main, &r);
	if (serve) /* the child has taken the call */
		c = read(p[0], &c, 1) == 1 ? c : 0;
	else
		sleep_ms(300);
	t_kill = now_ms();
	kill(pid, SIGKILL);
	pthread_join(r.thread, NULL);
	waitpid(pid, &status, 0);
	close(p[0]);
	check(r.rc == 0 && (!serve || c == 't') && r.end_ms - t_kill < 2000,
	      name, "%s (%s), returned %.0f ms after the kill", en(r.rc),
	      kuc_result(), r.end_ms - t_kill);
}

/*
 * A process that called into the kernel, which called a user service that
 * never answers, can still be killed: the caller here is the module's
 * writer itself (threads 0), forked before any thread exists.
 */
static void test_upcall_killable(void)
{
	int go[2], hang[2], status = 0;
	double t_kill, ms;
	const char *res;
	struct srv s;
	char c = 0;
	pid_t pid;

	if (pipe(go) || pipe(hang)) {
		check(0, "upcall_caller_killable", "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct kuc_args a;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		kuc_defaults(&a, "kt/killable");
		a.threads = 0;
		a.op = KUC_OP_HANG;
		a.timeout_ms = -1;
		a.expect = -EINTR;
		a.check = KUC_CHECK_NONE;
		_exit(kuc_run(&a, "batch") ? 2 : 0);
	}
	close(go[0]);
	if (srv_start(&s, "kt/killable", 1)) {
		check(0, "upcall_caller_killable", "export failed");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return;
	}
	s.hang_pipe = hang[1];
	if (write(go[1], "g", 1) != 1 || read(hang[0], &c, 1) != 1)
		c = 0;
	t_kill = now_ms();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ms = now_ms() - t_kill;
	res = kuc_result();
	check(c == 't' && WIFSIGNALED(status) && ms < 2000 &&
		      strstr(res, " bad 0 ") && strstr(res, "calls 1 "),
	      "upcall_caller_killable",
	      "taken %d, status 0x%x, %.0f ms after the kill (%s)", c == 't',
	      status, ms, res);
	srv_done(&s, "upcall_killable_no_errors");
	close(go[1]);
	close(hang[0]);
	close(hang[1]);
}

/* UNEXPORT with a kernel channel open, and with a call queued. */
static void test_upcall_unexport(void)
{
	struct kuc_bg_run r;
	struct kuc_args a;
	struct srv s;
	__u32 h;
	int rc, fd;

	rc = srv_start(&s, "kt/unexp", 1);
	if (!check(rc == 0, "upcall_unexport_server", "export: %s", en(rc)))
		return;
	kuc_defaults(&a, "kt/unexp");
	kuc_check_run("upcall_unexport_open", &a, "open");
	kuc_check_run("upcall_unexport_call_before", &a, "call");
	rc = up_unexport(s.fd, s.handle);
	check(rc == 0, "upcall_unexport", "rc %s", en(rc));
	a.expect = UP_EPEERDIED;
	kuc_check_run("upcall_call_after_unexport_peerdied", &a, "call");
	a.expect = 0;
	a.expect_open = -ENOENT;
	kuc_check_run("upcall_open_after_unexport_enoent", &a, "batch");
	/* Exported again: new opens reach it, the old channel stays dead. */
	rc = up_export(s.fd, "kt/unexp", 3, 1, &s.handle);
	check(rc == 0, "upcall_reexport", "rc %s", en(rc));
	a.expect_open = 0;
	kuc_check_run("upcall_reexport_new_channel", &a, "batch");
	a.expect = UP_EPEERDIED;
	kuc_check_run("upcall_reexport_old_channel_dead", &a, "call");
	kuc_check_run("upcall_unexport_close", &a, "close");
	srv_done(&s, "upcall_unexport_no_errors");

	/* A call QUEUED (nobody serves) when its export goes. */
	fd = kh_open();
	rc = up_export(fd, "kt/unq", 1, 1, &h);
	memset(&r, 0, sizeof(r));
	kuc_defaults(&r.a, "kt/unq");
	r.a.timeout_ms = -1;
	r.a.expect = UP_EPEERDIED;
	if (!rc)
		pthread_create(&r.thread, NULL, kuc_bg_main, &r);
	sleep_ms(300);
	rc = rc ?: up_unexport(fd, h);
	if (!rc)
		pthread_join(r.thread, NULL);
	check(rc == 0 && r.rc == 0, "upcall_unexport_fails_queued",
	      "%s, call %s (%s)", en(rc), en(r.rc), kuc_result());
	close(fd);
}

/* The module's watch_fired, or -1. */
static int kuc_watch_fired(void)
{
	char buf[32];
	ssize_t n = -1;
	int fd = open(KUC_SYSFS "watch_fired", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return (int)strtol(buf, NULL, 10);
}

static int kuc_watch_fired_once(void)
{
	return kuc_watch_fired() == 1;
}

/* Fork a process exporting @name (never serving); its pid, or -1. */
static pid_t watch_child(const char *name)
{
	int p[2], status;
	char c = 0;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		kill_child(p[1], name, 0);
	}
	close(p[1]);
	if (pid > 0 && (read(p[0], &c, 1) != 1 || c != 'r')) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

/*
 * csx_chan_watch() on a kernel module's channel to a process: the watch
 * runs (once) when the process dies or withdraws the export, and never
 * once the channel is closed. The core runs it in a worker, so the test
 * polls; 5 s is a hang guard, not a latency bound.
 */
static void test_upcall_watch(void)
{
	struct kuc_args a;
	int rc, status, fd;
	pid_t pid;
	__u32 h;

	kuc_defaults(&a, "kt/watch");
	pid = watch_child("kt/watch");
	rc = pid < 0 ? -ECHILD : kuc_run(&a, "open");
	rc = rc ?: kuc_write("run", "watch");
	check(rc == 0 && kuc_watch_fired() == 0, "upcall_watch_set",
	      "%s (%s), fired %d", en(rc), kuc_result(), kuc_watch_fired());
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	check(rc == 0 && eventually(kuc_watch_fired_once, 5000),
	      "upcall_watch_fires_on_sigkill", "fired %d", kuc_watch_fired());
	kuc_check_run("upcall_watch_close", &a, "close");

	/* Closed first: the death that follows tells nobody. */
	pid = watch_child("kt/watch");
	rc = pid < 0 ? -ECHILD : kuc_run(&a, "open");
	rc = rc ?: kuc_write("run", "watch");
	rc = rc ?: kuc_write("run", "close");
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	sleep_ms(300);
	check(rc == 0 && kuc_watch_fired() == 0, "upcall_watch_not_after_close",
	      "%s (%s), fired %d", en(rc), kuc_result(), kuc_watch_fired());
	if (rc)
		kuc_write("run", "close"); /* whatever is left open */

	/* UNEXPORT: told once; the file's release later tells no more. */
	fd = kh_open();
	rc = up_export(fd, "kt/wunexp", 1, 1, &h);
	kuc_defaults(&a, "kt/wunexp");
	rc = rc ?: kuc_run(&a, "open");
	rc = rc ?: kuc_write("run", "watch");
	rc = rc ?: up_unexport(fd, h);
	check(rc == 0 && eventually(kuc_watch_fired_once, 5000),
	      "upcall_watch_fires_on_unexport", "%s (%s), fired %d", en(rc),
	      kuc_result(), kuc_watch_fired());
	close(fd);
	sleep_ms(300);
	check(kuc_watch_fired() == 1, "upcall_watch_fires_once", "fired %d",
	      kuc_watch_fired());
	kuc_write("run", "close");
}

static long module_refcnt(const char *mod)
{
	char path[PATH_MAX], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mod);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtol(buf, NULL, 10);
}

static int loaded(const char *mod)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mod);
	return access(path, F_OK) == 0;
}

/*
 * A kernel channel pins csx_helper.ko (csx.ko holds its entry points), even
 * with the exporting process gone; once closed, the helper unloads. It is
 * loaded again (CSX_KH_KO, default ./csx_helper.ko) for what follows.
 */
static void test_upcall_pins_helper(void)
{
	const char *ko =
		getenv("CSX_KH_KO") ? getenv("CSX_KH_KO") : "./csx_helper.ko";
	long before, held;
	struct kuc_args a;
	char cmd[PATH_MAX + 16];
	int fd, rc, busy, gone;
	__u32 h;

	fd = kh_open();
	rc = up_export(fd, "kt/pin", 1, 1, &h);
	before = module_refcnt("csx_helper");
	kuc_defaults(&a, "kt/pin");
	rc = rc ?: kuc_run(&a, "open");
	held = module_refcnt("csx_helper");
	check(rc == 0 && held > before, "upcall_channel_pins_helper",
	      "open %s, refcnt %ld -> %ld", en(rc), before, held);
	close(fd);
	sleep_ms(100);
	a.expect = UP_EPEERDIED;
	kuc_check_run("upcall_call_after_exporter_closed", &a, "call");
	busy = system("rmmod csx_helper 2>/dev/null");
	check(busy != 0 && loaded("csx_helper"), "upcall_rmmod_helper_refused",
	      "rmmod exit 0x%x", busy);
	kuc_check_run("upcall_pin_close", &a, "close");
	rc = system("rmmod csx_helper");
	gone = !loaded("csx_helper");
	check(rc == 0 && gone, "upcall_rmmod_helper_after_close",
	      "rmmod exit 0x%x", rc);
	snprintf(cmd, sizeof(cmd), "insmod %s", ko);
	rc = gone ? system(cmd) : 0;
	check(rc == 0 && loaded("csx_helper"), "upcall_helper_reloaded",
	      "%s: exit 0x%x", cmd, rc);
}

/* --- shared buffers (SHBUF_ALLOC/FREE, mmap, SVC_CALL_SHBUF, SERVE2) ----------- */

#define SB_LIMIT_PARAM "/sys/module/csx_helper/parameters/shbuf_limit_kb"
#define SB_PAGE 4096u

static int sb_alloc(int fd, __u64 len, struct csx_kh_shbuf *b)
{
	memset(b, 0, sizeof(*b));
	b->size = sizeof(*b);
	b->length = len;
	return kio(fd, CSX_KH_IOC_SHBUF_ALLOC, b);
}

static int sb_free(int fd, __u32 id)
{
	struct csx_kh_shbuf b = { .size = sizeof(b), .id = id };

	return kio(fd, CSX_KH_IOC_SHBUF_FREE, &b);
}

static uint8_t *sb_map_len(int fd, __u64 off, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static uint8_t *sb_map(int fd, const struct csx_kh_shbuf *b)
{
	return sb_map_len(fd, b->mmap_offset, b->length);
}

static size_t count_not(const uint8_t *p, size_t len, uint8_t v)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += p[i] != v;
	return n;
}

static void test_shbuf_basic(void)
{
	struct csx_kh_version v = { .size = sizeof(v) };
	struct csx_kh_shbuf a, b, c;
	int fd = kh_open(), other = kh_open(), rc, status = 0;
	uint8_t *p = NULL, *q = NULL;
	pid_t pid;

	rc = kio(fd, CSX_KH_IOC_VERSION, &v);
	check(rc == 0 && (v.features & CSX_KH_FEAT_SHBUF), "shbuf_feature",
	      "rc %s features 0x%x", en(rc), v.features);
	rc = sb_alloc(fd, 1, &a);
	check(rc == 0 && a.id >= 1 && a.length == SB_PAGE &&
		      a.mmap_offset == CSX_KH_MMAP_SHBUF(a.id),
	      "shbuf_alloc_rounds_to_page",
	      "rc %s id %u length %llu off 0x%llx", en(rc), a.id,
	      (unsigned long long)a.length, (unsigned long long)a.mmap_offset);
	if (rc)
		goto out;
	/* No device claimed on this file: shared buffers need none. */
	p = sb_map(fd, &a);
	q = sb_map(fd, &a);
	if (!check(p && q, "shbuf_mmap_without_claim", "%m"))
		goto out;
	check(count_not(p, SB_PAGE, 0) == 0, "shbuf_zeroed", "%zu bytes not 0",
	      count_not(p, SB_PAGE, 0));
	memset(p, 0x6b, SB_PAGE);
	check(count_not(q, SB_PAGE, 0x6b) == 0,
	      "shbuf_second_mapping_sees_writes", "%zu bytes differ",
	      count_not(q, SB_PAGE, 0x6b));
	rc = sb_alloc(fd, 10000, &b);
	check(rc == 0 && b.length == 3 * SB_PAGE && b.id != a.id,
	      "shbuf_alloc_second", "rc %s id %u (first %u) length %llu",
	      en(rc), b.id, a.id, (unsigned long long)b.length);

	/* Another file sees none of this file's buffers. */
	mmap_einval(other, "shbuf_other_file_mmap_einval", SB_PAGE,
		    a.mmap_offset);
	rc = sb_free(other, a.id);
	check(rc == -ENOENT, "shbuf_other_file_free_enoent", "rc %s", en(rc));

	/* Freed while mapped: the memory stays, shared, until munmap(). */
	rc = sb_free(fd, a.id);
	memset(q, 0x2d, 100);
	check(rc == 0 && count_not(p, 100, 0x2d) == 0 &&
		      count_not(p + 100, SB_PAGE - 100, 0x6b) == 0,
	      "shbuf_free_while_mapped", "rc %s", en(rc));
	rc = sb_free(fd, a.id);
	check(rc == -ENOENT, "shbuf_double_free_enoent", "rc %s", en(rc));
	mmap_einval(fd, "shbuf_mmap_freed_einval", SB_PAGE, a.mmap_offset);
	check(munmap(p, SB_PAGE) == 0 && munmap(q, SB_PAGE) == 0,
	      "shbuf_munmap_after_free", "%m");
	p = q = NULL;
	rc = sb_alloc(fd, SB_PAGE, &c);
	check(rc == 0 && c.id > b.id, "shbuf_ids_not_reused",
	      "rc %s: id %u after %u and %u", en(rc), c.id, a.id, b.id);

	/* A child shares the mapping. */
	p = sb_map(fd, &b);
	if (!check(p != NULL, "shbuf_mmap", "%m"))
		goto out;
	pid = fork();
	if (pid == 0) {
		memset(p, 0x77, b.length);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	check(pid > 0 && count_not(p, b.length, 0x77) == 0,
	      "shbuf_shared_with_child", "%zu bytes differ",
	      count_not(p, b.length, 0x77));
	/* The mapping holds the file: still there after close(). */
	close(fd);
	fd = -1;
	memset(p, 0x11, b.length);
	check(count_not(p, b.length, 0x11) == 0, "shbuf_mapping_outlives_close",
	      "%zu bytes differ", count_not(p, b.length, 0x11));
	check(munmap(p, b.length) == 0, "shbuf_munmap_after_close", "%m");
	p = NULL;
out:
	if (fd >= 0)
		close(fd);
	close(other);
}

static void test_shbuf_errors(void)
{
	struct csx_kh_shbuf b;
	int fd = kh_open(), rc;
	uint8_t *p;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b) + 4;
	b.length = SB_PAGE;
	rc = kio(fd, CSX_KH_IOC_SHBUF_ALLOC, &b);
	check(rc == -EINVAL, "shbuf_alloc_bad_size_einval", "rc %s", en(rc));
	rc = sb_alloc(fd, 0, &b);
	check(rc == -EINVAL, "shbuf_alloc_zero_einval", "rc %s", en(rc));
	rc = sb_alloc(fd, CSX_KH_SHBUF_MAX + 1ull, &b);
	check(rc == -EINVAL, "shbuf_alloc_over_max_einval", "rc %s", en(rc));
	rc = sb_alloc(fd, ~0ull, &b);
	check(rc == -EINVAL, "shbuf_alloc_huge_einval", "rc %s", en(rc));
	rc = sb_free(fd, 0);
	check(rc == -ENOENT, "shbuf_free_id0_enoent", "rc %s", en(rc));
	rc = sb_free(fd, 0xffffffffu);
	check(rc == -ENOENT, "shbuf_free_unknown_enoent", "rc %s", en(rc));
	memset(&b, 0, sizeof(b));
	b.size = 4;
	rc = kio(fd, CSX_KH_IOC_SHBUF_FREE, &b);
	check(rc == -EINVAL, "shbuf_free_bad_size_einval", "rc %s", en(rc));

	rc = sb_alloc(fd, 2 * SB_PAGE, &b);
	if (!check(rc == 0, "shbuf_alloc_8k", "rc %s", en(rc)))
		goto out;
	bad_mmap(fd, "shbuf_mmap_private_refused", 2 * SB_PAGE,
		 PROT_READ | PROT_WRITE, MAP_PRIVATE, b.mmap_offset);
	bad_mmap(fd, "shbuf_mmap_exec_refused", SB_PAGE, PROT_READ | PROT_EXEC,
		 MAP_SHARED, b.mmap_offset);
	mmap_einval(fd, "shbuf_mmap_too_long_einval", 3 * SB_PAGE,
		    b.mmap_offset);
	mmap_einval(fd, "shbuf_mmap_inner_offset_einval", SB_PAGE,
		    b.mmap_offset + SB_PAGE);
	mmap_einval(fd, "shbuf_mmap_unknown_id_einval", SB_PAGE,
		    CSX_KH_MMAP_SHBUF(b.id + 1000));
	mmap_einval(fd, "shbuf_mmap_id0_einval", SB_PAGE, CSX_KH_MMAP_SHBUF(0));
	mmap_einval(fd, "shbuf_mmap_id_over_u32_einval", SB_PAGE,
		    CSX_KH_MMAP_SHBUF(1ull << 32));
	/* BAR and DMA offsets still need a claim. */
	bad_mmap(fd, "shbuf_file_bar_mmap_still_needs_claim", SB_PAGE,
		 PROT_READ | PROT_WRITE, MAP_SHARED, CSX_KH_MMAP_BAR(0));

	p = mmap(NULL, SB_PAGE, PROT_READ, MAP_SHARED, fd, b.mmap_offset);
	check(p != MAP_FAILED, "shbuf_mmap_read_only_shorter_ok", "%m");
	if (p != MAP_FAILED)
		munmap(p, SB_PAGE);
	p = sb_map(fd, &b);
	if (!check(p != NULL, "shbuf_mmap_8k", "%m"))
		goto out;
	check(mprotect(p, SB_PAGE, PROT_READ | PROT_EXEC) != 0,
	      "shbuf_mprotect_exec_refused", "made executable");
	check(mremap(p, 2 * SB_PAGE, 4 * SB_PAGE, 0) == MAP_FAILED,
	      "shbuf_mremap_grow_fails", "grown past the buffer");
	/* A split mapping keeps its half; both halves hold the memory. */
	check(munmap(p + SB_PAGE, SB_PAGE) == 0, "shbuf_munmap_half", "%m");
	rc = sb_free(fd, b.id);
	p[0] = 0x42;
	check(rc == 0 && p[0] == 0x42 && !touch((volatile uint32_t *)p, 1),
	      "shbuf_split_mapping_survives_free", "rc %s", en(rc));
	munmap(p, SB_PAGE);
out:
	close(fd);
}

static int sb_write_param(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void test_shbuf_limits(void)
{
	static __u32 ids[CSX_KH_SHBUF_PER_FILE + 1];
	struct csx_kh_shbuf b, big, x, y;
	unsigned int n = 0, freed = 0, i;
	int fd = kh_open(), fd2 = kh_open(), rc;
	char old[32] = "";
	uint8_t *p;
	FILE *fp;

	while (n <= CSX_KH_SHBUF_PER_FILE &&
	       (rc = sb_alloc(fd, SB_PAGE, &b)) == 0)
		ids[n++] = b.id;
	check(rc == -ENOSPC && n == CSX_KH_SHBUF_PER_FILE,
	      "shbuf_max_entries_enospc", "%u buffers, then rc %s", n, en(rc));
	rc = sb_alloc(fd2, SB_PAGE, &b);
	check(rc == 0, "shbuf_entry_limit_per_file", "other file: rc %s",
	      en(rc));
	if (n && !sb_free(fd, ids[n - 1])) {
		rc = sb_alloc(fd, SB_PAGE, &b);
		check(rc == 0 && b.id > ids[n - 1], "shbuf_entry_freed_room",
		      "rc %s id %u", en(rc), b.id);
		ids[n - 1] = b.id;
	}
	for (i = 0; i < n; i++)
		freed += sb_free(fd, ids[i]) == 0;
	check(freed == n, "shbuf_free_all", "%u of %u freed", freed, n);

	/* The largest buffer maps whole. */
	rc = sb_alloc(fd, CSX_KH_SHBUF_MAX, &big);
	p = rc ? NULL : sb_map(fd, &big);
	if (check(p != NULL, "shbuf_max_size_maps", "rc %s: %m", en(rc))) {
		p[0] = 1;
		p[big.length - 1] = 2;
		check(big.length == CSX_KH_SHBUF_MAX &&
			      p[CSX_KH_SHBUF_MAX / 2] == 0 && p[0] == 1 &&
			      p[big.length - 1] == 2,
		      "shbuf_max_size_first_last_page", "length %llu",
		      (unsigned long long)big.length);
		munmap(p, big.length);
	}
	sb_free(fd, big.id);

	/* The byte limit, lowered to 1 MiB for the test. */
	fp = fopen(SB_LIMIT_PARAM, "r");
	if (!fp || !fgets(old, sizeof(old), fp) ||
	    sb_write_param(SB_LIMIT_PARAM, "1024")) {
		printf("ok %d shbuf_byte_limit # SKIP %s not writable\n",
		       ++g.tests, SB_LIMIT_PARAM);
		if (fp)
			fclose(fp);
		goto out;
	}
	fclose(fp);
	rc = sb_alloc(fd, 512 << 10, &x);
	rc = rc ?: sb_alloc(fd, 512 << 10, &y);
	check(rc == 0, "shbuf_byte_limit_fills", "rc %s", en(rc));
	rc = sb_alloc(fd, SB_PAGE, &b);
	check(rc == -ENOSPC, "shbuf_byte_limit_enospc", "rc %s", en(rc));
	p = sb_map(fd, &x);
	sb_free(fd, x.id);
	rc = sb_alloc(fd, SB_PAGE, &b);
	check(p && rc == -ENOSPC, "shbuf_freed_but_mapped_still_counts",
	      "rc %s", en(rc));
	if (p)
		munmap(p, x.length);
	rc = sb_alloc(fd, SB_PAGE, &b);
	check(rc == 0, "shbuf_unmapped_memory_returns", "rc %s", en(rc));
	rc = sb_alloc(fd2, 512 << 10, &b);
	check(rc == 0, "shbuf_byte_limit_per_file", "rc %s", en(rc));
	strtok(old, "\n");
	sb_write_param(SB_LIMIT_PARAM, old);
out:
	close(fd);
	close(fd2);
}

/* --- SVC_CALL_SHBUF: a process calls a kernel service in place -------------- */

static int svc_open(int fd, const char *name, __u32 *handle)
{
	struct csx_kh_svc_open o = { .size = sizeof(o) };
	int rc;

	snprintf(o.name, sizeof(o.name), "%s", name);
	rc = kio(fd, CSX_KH_IOC_SVC_OPEN, &o);
	*handle = o.handle;
	return rc;
}

static int sb_call(int fd, __u32 handle, __u32 op, __u32 id, __u64 in_off,
		   __u64 in_len, __u64 out_off, __u64 out_cap,
		   struct csx_kh_svc_call_shbuf *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->handle = handle;
	c->op = op;
	c->buf_id = id;
	c->in_off = in_off;
	c->in_len = in_len;
	c->out_off = out_off;
	c->out_cap = out_cap;
	c->timeout_ns = -1;
	return kio(fd, CSX_KH_IOC_SVC_CALL_SHBUF, c);
}

struct sb_slow {
	int fd;
	__u32 handle, id;
	int rc;
	struct csx_kh_svc_call_shbuf c;
};

static void *sb_slow_main(void *arg)
{
	struct sb_slow *s = arg;

	s->rc = sb_call(s->fd, s->handle, KUC_SB_SLOW | 300u << 8, s->id, 0,
			SB_PAGE, 2 * SB_PAGE, SB_PAGE, &s->c);
	return NULL;
}

static void sb_call_window_einval(int fd, __u32 h, __u32 id, const char *name,
				  __u64 in_off, __u64 in_len, __u64 out_off,
				  __u64 out_cap)
{
	struct csx_kh_svc_call_shbuf c;
	int rc = sb_call(fd, h, KUC_SB_ECHO, id, in_off, in_len, out_off,
			 out_cap, &c);

	check(rc == -EINVAL, name, "in %llx+%llx out %llx+%llx: rc %s",
	      (unsigned long long)in_off, (unsigned long long)in_len,
	      (unsigned long long)out_off, (unsigned long long)out_cap, en(rc));
}

static void test_shbuf_svc_call(void)
{
	const size_t size = 8u << 20;
	struct csx_kh_svc_call_shbuf c;
	struct csx_kh_shbuf b, ob;
	struct kuc_sb_sum sum;
	struct sb_slow slow;
	uint8_t *p = NULL, orig[1000];
	unsigned long long want = 0;
	int fd = kh_open(), other = kh_open(), rc, i;
	pthread_t th;
	__u32 h;
	size_t n;

	rc = svc_open(fd, KUC_SB_SVC, &h);
	rc = rc ?: sb_alloc(fd, size, &b);
	p = rc ? NULL : sb_map(fd, &b);
	if (!check(p != NULL, "shbuf_call_setup", "open/alloc: %s, mmap %m",
		   en(rc)))
		goto out;
	for (n = 0; n < 100000; n++)
		p[n] = (uint8_t)(n * 7 + (n >> 9));
	rc = sb_call(fd, h, KUC_SB_ECHO, b.id, 0, 100000, 4u << 20, 200000, &c);
	check(rc == 0 && c.status == 0 && c.out_len == 100000 &&
		      !memcmp(p + (4u << 20), p, 100000),
	      "shbuf_call_echo_in_place", "rc %s status %d out_len %llu",
	      en(rc), c.status, (unsigned long long)c.out_len);

	/* Beyond CSX_KH_CALL_MAX, in place: the same window both ways. */
	memset(p + (1u << 20), 0x5a, 2u << 20);
	rc = sb_call(fd, h, KUC_SB_INVERT, b.id, 1u << 20, 2u << 20, 1u << 20,
		     2u << 20, &c);
	check(rc == 0 && c.status == 0 && c.out_len == 2u << 20 &&
		      count_not(p + (1u << 20), 2u << 20, 0xa5) == 0,
	      "shbuf_call_in_place_transform_2MiB",
	      "rc %s status %d out_len %llu", en(rc), c.status,
	      (unsigned long long)c.out_len);

	/* The handler reads the whole request window (all but 16 bytes). */
	for (n = 0; n < size - 16; n++)
		want += p[n];
	rc = sb_call(fd, h, KUC_SB_SUM, b.id, 0, size - 16, size - 16, 16, &c);
	memcpy(&sum, p + size - 16, sizeof(sum));
	check(rc == 0 && c.status == 0 && c.out_len == 16 && sum.sum == want &&
		      sum.len == size - 16,
	      "shbuf_call_reads_whole_window",
	      "rc %s status %d sum %llu want %llu len %llu", en(rc), c.status,
	      (unsigned long long)sum.sum, want, (unsigned long long)sum.len);

	/* Overlapping windows: the handler sees them overlap (memmove). */
	memcpy(orig, p, sizeof(orig));
	rc = sb_call(fd, h, KUC_SB_ECHO, b.id, 0, sizeof(orig), 10,
		     sizeof(orig), &c);
	check(rc == 0 && c.status == 0 && !memcmp(p + 10, orig, sizeof(orig)),
	      "shbuf_call_overlapping_windows", "rc %s status %d", en(rc),
	      c.status);
	rc = sb_call(fd, h, 0x7f, b.id, 0, 10, 0, 10, &c);
	check(rc == 0 && c.status == -EOPNOTSUPP && c.out_len == 0,
	      "shbuf_call_status_passed", "rc %s status %d", en(rc), c.status);
	rc = sb_call(fd, h, KUC_SB_ECHO, b.id, size, 0, size, 0, &c);
	check(rc == 0 && c.status == 0 && c.out_len == 0,
	      "shbuf_call_empty_windows_at_end", "rc %s status %d", en(rc),
	      c.status);

	sb_call_window_einval(fd, h, b.id, "shbuf_call_in_past_end_einval",
			      size, 1, 0, 0);
	sb_call_window_einval(fd, h, b.id, "shbuf_call_in_overflow_einval",
			      ~0ull - 1, 2, 0, 0);
	sb_call_window_einval(fd, h, b.id, "shbuf_call_in_len_huge_einval", 16,
			      ~0ull - 8, 0, 0);
	sb_call_window_einval(fd, h, b.id, "shbuf_call_out_past_end_einval", 0,
			      0, 0, size + 1);
	sb_call_window_einval(fd, h, b.id, "shbuf_call_out_overflow_einval", 0,
			      0, 1ull << 63, 1ull << 63);
	rc = sb_call(fd, h, KUC_SB_ECHO, 0, 0, 0, 0, 0, &c);
	check(rc == -ENOENT, "shbuf_call_buf_id0_enoent", "rc %s", en(rc));
	rc = sb_call(fd, h, KUC_SB_ECHO, b.id + 100, 0, 0, 0, 0, &c);
	check(rc == -ENOENT, "shbuf_call_unknown_buf_enoent", "rc %s", en(rc));
	rc = sb_call(fd, h + 1, KUC_SB_ECHO, b.id, 0, 0, 0, 0, &c);
	check(rc == -ENOENT, "shbuf_call_unknown_handle_enoent", "rc %s",
	      en(rc));
	/* Another file's buffer (an id this file never had) is not found. */
	for (i = 0; i < 4; i++)
		rc = sb_alloc(other, SB_PAGE, &ob);
	rc = rc ?: sb_call(fd, h, KUC_SB_ECHO, ob.id, 0, 0, 0, 0, &c);
	check(ob.id > b.id && rc == -ENOENT, "shbuf_call_other_files_buffer",
	      "id %u: rc %s", ob.id, en(rc));
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.handle = h;
	c.buf_id = b.id;
	c.reserved = 1;
	rc = kio(fd, CSX_KH_IOC_SVC_CALL_SHBUF, &c);
	check(rc == -EINVAL, "shbuf_call_reserved_einval", "rc %s", en(rc));
	c.reserved = 0;
	c.timeout_ns = -2;
	rc = kio(fd, CSX_KH_IOC_SVC_CALL_SHBUF, &c);
	check(rc == -EINVAL, "shbuf_call_bad_timeout_einval", "rc %s", en(rc));
	c.timeout_ns = 0;
	c.size = sizeof(c) - 8;
	rc = kio(fd, CSX_KH_IOC_SVC_CALL_SHBUF, &c);
	check(rc == -EINVAL, "shbuf_call_bad_size_einval", "rc %s", en(rc));

	/* A call holds the buffer through SHBUF_FREE and munmap(). */
	slow.fd = fd;
	slow.handle = h;
	slow.id = b.id;
	memset(p, 0x33, SB_PAGE);
	if (pthread_create(&th, NULL, sb_slow_main, &slow) == 0) {
		sleep_ms(100);
		rc = sb_free(fd, b.id);
		munmap(p, size);
		p = NULL;
		pthread_join(th, NULL);
		check(rc == 0 && slow.rc == 0 && slow.c.status == 0 &&
			      slow.c.out_len == SB_PAGE,
		      "shbuf_free_and_unmap_during_call",
		      "free %s, call %s status %d out_len %llu", en(rc),
		      en(slow.rc), slow.c.status,
		      (unsigned long long)slow.c.out_len);
		rc = sb_call(fd, h, KUC_SB_ECHO, b.id, 0, 0, 0, 0, &c);
		check(rc == -ENOENT, "shbuf_call_freed_buf_enoent", "rc %s",
		      en(rc));
	}
out:
	if (p)
		munmap(p, size);
	close(fd);
	close(other);
}

/* --- SERVE2: a kernel module calls a process in place --------------------------- */

/* One mapping per granted buffer id; dropped when SERVE2 says gone. */
struct sb_maps {
	pthread_mutex_t lock;
	struct {
		__u32 id;
		uint8_t *p;
		size_t len;
	} m[32];
	__u32 gone[64];
	int ngone, nids, unknown_gone;
	__u32 ids[64]; /* distinct ids seen */
};

static struct sb_maps sbm = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint8_t *sbm_get(int fd, __u32 id, size_t len)
{
	uint8_t *p = NULL;
	int i, free_slot = -1, seen = 0;

	pthread_mutex_lock(&sbm.lock);
	for (i = 0; i < 32; i++) {
		if (sbm.m[i].p && sbm.m[i].id == id)
			p = sbm.m[i].p;
		if (!sbm.m[i].p && free_slot < 0)
			free_slot = i;
	}
	for (i = 0; i < sbm.nids; i++)
		seen |= sbm.ids[i] == id;
	if (!seen && sbm.nids < 64)
		sbm.ids[sbm.nids++] = id;
	if (!p && free_slot >= 0) {
		p = sb_map_len(fd, CSX_KH_MMAP_SHBUF(id), len);
		if (p) {
			sbm.m[free_slot].id = id;
			sbm.m[free_slot].p = p;
			sbm.m[free_slot].len = len;
		}
	}
	pthread_mutex_unlock(&sbm.lock);
	return p;
}

static void sbm_gone(const struct csx_kh_svc_serve2 *v)
{
	__u32 k;
	int i, found;

	pthread_mutex_lock(&sbm.lock);
	for (k = 0; k < v->gone_count && k < CSX_KH_SERVE_GONE_MAX; k++) {
		found = 0;
		for (i = 0; i < 32; i++) {
			if (sbm.m[i].p && sbm.m[i].id == v->gone[k]) {
				munmap(sbm.m[i].p, sbm.m[i].len);
				sbm.m[i].p = NULL;
				found = 1;
			}
		}
		sbm.unknown_gone += !found;
		if (sbm.ngone < 64)
			sbm.gone[sbm.ngone++] = v->gone[k];
	}
	pthread_mutex_unlock(&sbm.lock);
}

static void sbm_reset(void)
{
	int i;

	pthread_mutex_lock(&sbm.lock);
	for (i = 0; i < 32; i++) {
		if (sbm.m[i].p)
			munmap(sbm.m[i].p, sbm.m[i].len);
		sbm.m[i].p = NULL;
	}
	sbm.ngone = sbm.nids = sbm.unknown_gone = 0;
	pthread_mutex_unlock(&sbm.lock);
}

static void up_serve2_init(struct csx_kh_svc_serve2 *v, void *req,
			   int64_t timeout_ns)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	v->req_ptr = (uintptr_t)req;
	v->req_cap = req ? CALL_MAX : 0;
	v->timeout_ns = timeout_ns;
}

/* A shared-buffer request: answer it in place. */
static void srv2_handle_sb(struct srv *s, const struct csx_kh_svc_serve2 *v,
			   struct csx_kh_svc_serve2 *n)
{
	uint8_t *p = sbm_get(s->fd, v->buf_id, v->buf_len);
	struct kuc_sb_info info;
	__u64 len = v->req_len < v->out_cap ? v->req_len : v->out_cap;

	n->reply_id = v->req_id;
	n->reply_ptr = 8; /* ignored for a shared-buffer call */
	if (!p || v->in_off > v->buf_len ||
	    v->req_len > v->buf_len - v->in_off || v->out_off > v->buf_len ||
	    v->out_cap > v->buf_len - v->out_off) {
		srv_error(s, "SERVE2: buffer %u (%llu B): mmap %s or windows",
			  v->buf_id, (unsigned long long)v->buf_len,
			  p ? "ok" : "failed");
		n->reply_status = -EIO;
		return;
	}
	switch (v->op & 0xff) {
	case KUC_OP_INFO:
		info.op = v->op;
		info.buf_id = v->buf_id;
		info.buf_len = v->buf_len;
		info.in_off = v->in_off;
		info.out_off = v->out_off;
		info.req_len = v->req_len;
		info.out_cap = v->out_cap;
		if (v->out_cap >= sizeof(info))
			memcpy(p + v->out_off, &info, sizeof(info));
		n->reply_len = sizeof(info);
		break;
	case KUC_OP_STATUS:
		n->reply_status = (__s32)v->op >> 8;
		break;
	case KUC_OP_TOOBIG:
		n->reply_len = v->out_cap + 1;
		break;
	default:
		memmove(p + v->out_off, p + v->in_off, len);
		n->reply_len = len;
		break;
	}
}

static void *srv2_main(void *arg)
{
	struct srv *s = arg;
	uint8_t *req = malloc(CALL_MAX), *rep = malloc(CALL_MAX + 1);
	struct csx_kh_svc_serve2 v, next;
	struct csx_kh_svc_serve v1, n1;
	int rc;

	if (!req || !rep) {
		srv_error(s, "out of memory");
		return NULL;
	}
	up_serve2_init(&next, req, UP_SERVE_NS);
	while (!s->stop) {
		v = next;
		rc = kio(s->fd, CSX_KH_IOC_SVC_SERVE2, &v);
		up_serve2_init(&next, req, UP_SERVE_NS);
		if (rc == -EINTR)
			continue;
		if (rc) {
			srv_error(s, "SERVE2: %s", en(rc));
			sleep_ms(10);
			continue;
		}
		sbm_gone(&v);
		if (!v.req_id)
			continue;
		__atomic_fetch_add(&s->served, 1, __ATOMIC_RELAXED);
		if (v.buf_id) {
			srv2_handle_sb(s, &v, &next);
			continue;
		}
		/* Inline, as SVC_SERVE: its prefix is SERVE2's. */
		memcpy(&v1, &v, sizeof(v1));
		memset(&n1, 0, sizeof(n1));
		srv_handle(s, &v1, req, rep, &n1);
		next.reply_id = n1.reply_id;
		next.reply_status = n1.reply_status;
		next.reply_ptr = n1.reply_ptr;
		next.reply_len = n1.reply_len;
	}
	if (next.reply_id) {
		up_serve2_init(&v, NULL, 0);
		v.reply_id = next.reply_id;
		v.reply_status = next.reply_status;
		v.reply_ptr = next.reply_ptr;
		v.reply_len = next.reply_len;
		rc = kio(s->fd, CSX_KH_IOC_SVC_SERVE2, &v);
		if (rc)
			srv_error(s, "last reply: %s", en(rc));
		else
			sbm_gone(&v);
	}
	free(req);
	free(rep);
	return NULL;
}

static int sbm_count_gone(__u32 id)
{
	int i, n = 0;

	pthread_mutex_lock(&sbm.lock);
	for (i = 0; i < sbm.ngone; i++)
		n += sbm.gone[i] == id;
	pthread_mutex_unlock(&sbm.lock);
	return n;
}

static int kuc_sb_setup(unsigned int size, unsigned int in_off,
			unsigned int out_off, unsigned int slot)
{
	int rc = kuc_setf("sb_size", size);

	rc = rc ?: kuc_setf("sb_in_off", in_off);
	rc = rc ?: kuc_setf("sb_out_off", out_off);
	return rc ?: kuc_setf("sb_slot", slot);
}

static void test_shbuf_upcalls(void)
{
	struct kuc_args a;
	struct srv s;
	__u32 first = 0, second = 0;
	int rc, i;

	sbm_reset();
	rc = srv_start_fn(&s, "kt/sb", 2, srv2_main);
	if (!check(rc == 0, "shbuf_upcall_server_start", "export: %s", en(rc)))
		return;
	kuc_defaults(&a, "kt/sb");
	kuc_sb_setup(4u << 20, 0, 2u << 20, 0);
	rc = kuc_run(&a, "open");
	if (!check(rc == 0, "shbuf_upcall_open", "%s (%s)", en(rc),
		   kuc_result()))
		goto out;
	a.len = 4096;
	a.calls = 3;
	kuc_check_run("shbuf_upcall_echo_in_place", &a, "sbcall");
	pthread_mutex_lock(&sbm.lock);
	first = sbm.nids == 1 ? sbm.ids[0] : 0;
	pthread_mutex_unlock(&sbm.lock);
	check(first != 0, "shbuf_upcall_buffer_granted_once",
	      "%d distinct ids for one buffer", sbm.nids);
	a.len = 1536 << 10; /* above CSX_KH_CALL_MAX */
	a.calls = 2;
	kuc_check_run("shbuf_upcall_beyond_call_max", &a, "sbcall");
	a.len = 100;
	a.cap = 4096;
	a.calls = 1;
	a.op = 0x123400u | KUC_OP_INFO;
	a.check = KUC_CHECK_INFO;
	kuc_check_run("shbuf_upcall_serve2_reports_windows", &a, "sbcall");
	a.op = KUC_OP_TOOBIG;
	a.check = KUC_CHECK_NONE;
	a.expect = -EIO;
	kuc_check_run("shbuf_upcall_reply_over_cap_eio", &a, "sbcall");
	a.op = status_op(-EPROTO);
	a.expect = -EPROTO;
	kuc_check_run("shbuf_upcall_status_passed", &a, "sbcall");
	kuc_setf("sb_in_off", (4u << 20) - 10);
	a.op = KUC_OP_ECHO;
	a.expect = -EINVAL;
	kuc_check_run("shbuf_upcall_window_outside_einval", &a, "sbcall");
	kuc_setf("sb_in_off", 0);

	/* Inline calls still come through SERVE2 as through SERVE. */
	kuc_defaults(&a, "kt/sb");
	a.len = -1;
	a.calls = 12;
	kuc_check_run("shbuf_serve2_inline_calls", &a, "batch");

	/* Freed by the module: SERVE2 reports the id, the server unmaps. */
	kuc_check_run("shbuf_upcall_sbfree", &a, "sbfree");
	for (i = 0; i < 100 && !sbm_count_gone(first); i++)
		sleep_ms(20);
	check(first && sbm_count_gone(first) == 1 && !sbm.unknown_gone,
	      "shbuf_upcall_free_reported_gone",
	      "id %u told %d times, %d unknown ids", first,
	      sbm_count_gone(first), sbm.unknown_gone);
	a.len = 4096;
	a.calls = 1;
	kuc_check_run("shbuf_upcall_new_buffer", &a, "sbcall");
	pthread_mutex_lock(&sbm.lock);
	second = sbm.nids == 2 ? sbm.ids[1] : 0;
	pthread_mutex_unlock(&sbm.lock);
	check(second > first, "shbuf_upcall_new_buffer_new_id",
	      "ids %u then %u", first, second);
	kuc_check_run("shbuf_upcall_sbfree_2", &a, "sbfree");
	kuc_check_run("shbuf_upcall_close", &a, "close");
out:
	srv_done(&s, "shbuf_upcall_server_no_errors");
	sbm_reset();

	/* An old SERVE cannot take a shared-buffer call. */
	rc = srv_start(&s, "kt/sbold", 1);
	if (!check(rc == 0, "shbuf_old_server_start", "export: %s", en(rc)))
		return;
	kuc_defaults(&a, "kt/sbold");
	kuc_sb_setup(1u << 20, 0, 4096, 0);
	rc = kuc_run(&a, "open");
	a.check = KUC_CHECK_NONE;
	a.expect = -EOPNOTSUPP;
	if (check(rc == 0, "shbuf_old_server_open", "%s", en(rc))) {
		kuc_check_run("shbuf_upcall_old_serve_eopnotsupp", &a,
			      "sbcall");
		kuc_check_run("shbuf_in_process_buffer_refused_remote", &a,
			      "sbkind");
		kuc_check_run("shbuf_old_sbfree", &a, "sbfree");
		kuc_check_run("shbuf_old_close", &a, "close");
	}
	srv_done(&s, "shbuf_old_server_no_errors");
}

struct sb_bg {
	struct kuc_args a;
	unsigned int slot;
	int rc;
	char result[256];
};

static void *sb_bg_main(void *arg)
{
	struct sb_bg *b = arg;

	b->rc = kuc_setf("sb_slot", b->slot);
	b->rc = b->rc ?: kuc_run(&b->a, "sbcall");
	snprintf(b->result, sizeof(b->result), "%s", kuc_result());
	return NULL;
}

/*
 * SERVE2 by hand, in this thread: the fields of a shared-buffer request,
 * a reply whose pointer is ignored, the gone list over several SERVE2s,
 * and a full table failing the call with ENOMEM.
 */
static void test_shbuf_serve2_direct(void)
{
	static __u32 own[CSX_KH_SHBUF_PER_FILE];
	uint8_t *req = malloc(CALL_MAX), *p;
	struct csx_kh_svc_serve2 v;
	struct csx_kh_shbuf sb;
	__u32 ids[10], seen = 0, h;
	unsigned int i, nown = 0, bad = 0, told = 0, rounds = 0;
	struct sb_bg bg;
	pthread_t th;
	int fd = kh_open(), rc;
	__u64 rid;

	rc = up_export(fd, "kt/sbd", 3, 1, &h);
	if (!check(rc == 0 && req, "shbuf_direct_export", "%s", en(rc)))
		goto out;
	kuc_defaults(&bg.a, "kt/sbd");
	kuc_sb_setup(64u << 10, 4096, 8192, 0);
	rc = kuc_run(&bg.a, "open");
	if (!check(rc == 0, "shbuf_direct_open", "%s", en(rc)))
		goto out;
	bg.a.len = 1000;
	bg.a.cap = 3000;
	for (i = 0; i < 10; i++) {
		bg.slot = i;
		if (pthread_create(&th, NULL, sb_bg_main, &bg)) {
			bad++;
			break;
		}
		up_serve2_init(&v, req, 5000ll * 1000 * 1000);
		rc = kio(fd, CSX_KH_IOC_SVC_SERVE2, &v);
		p = rc || !v.req_id ?
			    NULL :
			    sb_map_len(fd, CSX_KH_MMAP_SHBUF(v.buf_id),
				       v.buf_len);
		ids[i] = v.buf_id;
		if (!p || v.handle != h || v.buf_len != 64u << 10 ||
		    v.in_off != 4096 || v.out_off != 8192 ||
		    v.req_len != 1000 || v.out_cap != 3000 || v.gone_count) {
			if (!bad++)
				check(0, "shbuf_direct_serve2_fields",
				      "rc %s req %llu buf %u len %llu in %llu out %llu req_len %llu cap %llu gone %u",
				      en(rc), (unsigned long long)v.req_id,
				      v.buf_id, (unsigned long long)v.buf_len,
				      (unsigned long long)v.in_off,
				      (unsigned long long)v.out_off,
				      (unsigned long long)v.req_len,
				      (unsigned long long)v.out_cap,
				      v.gone_count);
		}
		rid = rc ? 0 : v.req_id;
		if (p) {
			memcpy(p + 8192, p + 4096, 1000);
			munmap(p, v.buf_len);
		}
		if (rid) {
			/* No data in the reply: its pointer is not read. */
			up_serve2_init(&v, NULL, 0);
			v.reply_id = rid;
			v.reply_ptr = 8;
			v.reply_len = 1000;
			rc = kio(fd, CSX_KH_IOC_SVC_SERVE2, &v);
			bad += rc != 0 || v.gone_count != 0;
		}
		pthread_join(th, NULL);
		if (bg.rc)
			bad++;
	}
	check(bad == 0, "shbuf_direct_ten_buffers", "%u bad, last: %s", bad,
	      bg.result);
	for (i = 0; i < 10; i++) {
		kuc_setf("sb_slot", i);
		bad += kuc_run(&bg.a, "sbfree") != 0;
	}
	/* Ten gone, at most CSX_KH_SERVE_GONE_MAX per SERVE2. */
	do {
		up_serve2_init(&v, req, 0);
		rc = kio(fd, CSX_KH_IOC_SVC_SERVE2, &v);
		if (rounds++ == 0 && v.gone_count != CSX_KH_SERVE_GONE_MAX)
			bad++;
		for (i = 0; !rc && i < v.gone_count; i++) {
			told++;
			if (v.gone[i] - ids[0] < 32)
				seen |= 1u << (v.gone[i] - ids[0]);
		}
	} while (!rc && v.gone_count && rounds < 5);
	check(rc == 0 && bad == 0 && told == 10 && rounds == 3 && seen == 0x3ff,
	      "shbuf_gone_reported_in_rounds",
	      "rc %s bad %u told %u in %u rounds, seen 0x%x", en(rc), bad, told,
	      rounds, seen);
	rc = sb_free(fd, ids[0]);
	check(rc == -ENOENT, "shbuf_gone_id_left_table", "free: %s", en(rc));
	mmap_einval(fd, "shbuf_gone_id_mmap_einval", SB_PAGE,
		    CSX_KH_MMAP_SHBUF(ids[0]));

	/* A full table: the call fails with ENOMEM, SERVE2 waits on. */
	while (nown < CSX_KH_SHBUF_PER_FILE && !sb_alloc(fd, SB_PAGE, &sb))
		own[nown++] = sb.id;
	bg.slot = 0;
	bg.a.expect = -ENOMEM;
	bg.a.check = KUC_CHECK_NONE;
	if (pthread_create(&th, NULL, sb_bg_main, &bg) == 0) {
		up_serve2_init(&v, req, 1000ll * 1000 * 1000);
		rc = kio(fd, CSX_KH_IOC_SVC_SERVE2, &v);
		pthread_join(th, NULL);
		check(nown == CSX_KH_SHBUF_PER_FILE && rc == 0 && !v.req_id &&
			      bg.rc == 0,
		      "shbuf_grant_table_full_enomem",
		      "%u own, SERVE2 %s req %llu, module: %s", nown, en(rc),
		      (unsigned long long)v.req_id, bg.result);
	}
	for (i = 0; i < nown; i++)
		sb_free(fd, own[i]);
	kuc_run(&bg.a, "sbfree");
	kuc_run(&bg.a, "close");
out:
	free(req);
	close(fd);
}

static void test_shbufs(void)
{
	test_shbuf_basic();
	test_shbuf_errors();
	test_shbuf_limits();
	if (!kuc_present()) {
		printf("ok %d shbuf_kernel_calls # SKIP kh_upcall_client.ko not loaded\n",
		       ++g.tests);
		return;
	}
	test_shbuf_svc_call();
	test_shbuf_upcalls();
	test_shbuf_serve2_direct();
}

static void test_upcalls(void)
{
	test_export_unprivileged();
	test_export_errors();
	test_serve_errors();
	if (!kuc_present()) {
		printf("ok %d upcall_kernel_calls # SKIP kh_upcall_client.ko not loaded\n",
		       ++g.tests);
		test_shbufs();
		return;
	}
	test_upcall_basic();
	test_upcall_concurrent();
	test_upcall_timeouts();
	test_upcall_sigkill(1);
	test_upcall_sigkill(0);
	test_upcall_killable();
	test_upcall_unexport();
	test_upcall_watch();
	test_shbufs();
	test_upcall_pins_helper();
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
	test_revoke();
	test_release_on_death();
	test_upcalls();
	printf("1..%d\n", g.tests);
	return g.failed ? 1 : 0;
}
