// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Bounded fuzzer of the CSX kernel helper's ABI (/dev/csx), for the test
 * VM. Static program. The kernel is what must survive: the fuzzer expects
 * errors everywhere and only fails (a "not ok" line) if, after the run, a
 * plain claim/map/interrupt round trip on the edu device no longer works.
 *
 * usage: kh_fuzz [SECONDS [SEED]]   (default 20 s, seed from the clock)
 *   CSX_KH_FUZZ_DEV=DOMAIN:BUS:SLOT.FN picks the device (default: the
 *   first edu device, 1234:11e8, that no other driver holds). Should
 *   another driver (csx_edu) hold it, claims just fail with EBUSY and the
 *   final device check is skipped (said in a comment line).
 *
 * What it throws at the helper: random ioctl numbers of type 0xce (every
 * nr 0..0x1f, random size and direction) and of other types (minus the
 * VFS's generic ones, which would act on devtmpfs itself); the real
 * ioctls with random and boundary struct contents; NULL, unmapped,
 * kernel, read-only and page-straddling pointers; mmaps with random
 * offsets, lengths, protections and flags, then munmap/mremap/mprotect
 * games on what succeeded; threads racing close/DETACH/RELEASE/munmap
 * against a blocked WAIT and against interrupts raised through the BAR;
 * fork + SIGKILL of a claimant mid-traffic.
 *
 * Service calls (SVC_OPEN/CALL/CLOSE): garbage, unterminated and absent
 * names, random sizes and versions; calls on random, stale and closed
 * handles with random ops, lengths 0, 1 and around CSX_KH_CALL_MAX (real
 * 1 MiB buffers), NULL, unmapped, kernel, read-only and hole-bordering
 * buffers, bad timeouts; an open storm past the channel limit, CLOSE and
 * file close racing calls from several threads, fork + SIGKILL mid-call.
 * A real service is used when csx.ko and the edu sample are loaded
 * ("edu/0"); without it only the error paths run. Factorial requests
 * always carry a small n: a huge one keeps the device busy for seconds.
 *
 * Kernel -> user calls (SVC_EXPORT/UNEXPORT/SERVE/KICK): exports with
 * garbage names, scopes, sizes and handles, the 65th export; SERVE with
 * replies to unknown, stale, repeated and foreign ids, hostile statuses,
 * lengths and reply pointers, request buffers that are read-only, kernel
 * or too small, structures that cannot be written back (a taken call then
 * fails), short and endless waits; threads serving one file while it is
 * kicked, unexported, closed or shared with a child that is killed; a
 * child that takes calls and never answers, killed. Real kernel callers
 * of "fuzz/up" run when kh_upcall_client.ko is loaded with bg=1; at the
 * end an honest server of that name must get calls through.
 *
 * Shared buffers (SHBUF_ALLOC/FREE, their mmaps, SVC_CALL_SHBUF and
 * SERVE2): random lengths (valid ones kept small), ids, offsets and
 * windows, overflowing sums, frees while mapped, calls through edu/0's
 * channels on the buffer; servers take the kernel callers' shared-buffer
 * calls with SERVE2, scribble on their windows and keep some mappings.
 *
 * Never written through a BAR mapping: anything but the liveness, raise
 * and ack registers, since a bad edu DMA address aborts QEMU itself.
 * Every WAIT has a timeout, and a watchdog thread signals whoever is stuck
 * (WAIT returns -EINTR), so the fuzzer cannot hang on a correct helper.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csx_kh_abi.h"

#define PAGE 4096ul
#define NSLOTS 3
#define NMAPS 16
#define NTHREADS 4
#define EDU_ID 0x00
#define EDU_LIVE 0x04
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define KERNEL_PTR ((void *)0xffff800000000000ul)
#define NSVC 4	     /* channel handles a slot remembers */
#define SVC_RACERS 3 /* threads calling on one handle */
#define CALL_MAX CSX_KH_CALL_MAX
#define EDU_SVC "edu/0"	 /* the edu sample's service, version 1 */
#define EDU_OP_FACT 1	 /* in: u32 n, out: u32 n! */
#define EDU_OP_INFO 3	 /* in: nothing, out: struct edu_info */
#define EDU_OP_TIMEOUT 4 /* in: u32 ms (1..60000) */
#define NUP 4		 /* export handles a slot remembers */
#define UP_RACERS 3	 /* threads serving one file */
#define UP_SVC "fuzz/up" /* what kh_upcall_client.ko bg=1 calls */

/* One /dev/csx file the main loop plays with. */
struct slot {
	int fd;
	volatile uint32_t *bar; /* BAR0 mapping, if any */
	size_t bar_len;
	__u32 svc[NSVC]; /* channel handles, possibly stale */
	__u32 up[NUP];	 /* export handles, possibly stale */
};

/* A mapping that succeeded, tracked exactly so munmap never hits
 * anything else of ours. */
struct map {
	uint8_t *addr;
	size_t len;
	int dma; /* DMA memory: writable; else a BAR: read only */
};

static struct {
	char addr[32];
	char driver[64]; /* another driver owns the device: no claims */
	__u32 domain, bus, devfn;
	double end;
	uint64_t rng;
	atomic_ullong ioctls, mmaps, races, svc;
	atomic_ulong progress;
	uint8_t *rw, *ro, *edge, *unmapped;
	uint8_t *big;	 /* 2 * CALL_MAX read-write, then a hole */
	uint8_t *svc_ro; /* read-only: a valid SVC_OPEN, a SVC_CALL at 128 */
	int svc_real;	 /* EDU_SVC exists */
	int up_real;	 /* kernel callers of UP_SVC run (kh_upcall_client) */
	uint8_t *up_race_buf[UP_RACERS]; /* CALL_MAX each, for servers */
	unsigned long storms, storm_refused, storm_odd;
	pthread_t main_thread;
	pthread_mutex_t lock; /* threads[] */
	pthread_t threads[NTHREADS];
	int nthreads;
	volatile int stop_watchdog;
} F;

static struct slot S[NSLOTS];
static struct map M[NMAPS];

/* --- randomness and time --------------------------------------------------- */

static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd(void)
{
	return rnd_next(&F.rng);
}

static unsigned int pick(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	nanosleep(&ts, NULL); /* a watchdog signal may cut it short */
}

static uint32_t interesting32(void)
{
	static const uint32_t v[] = {
		0,	    1,		2,	    3,	       4,
		7,	    8,		16,	    0x3c,      0xff,
		0x100,	    0xfff,	0x1000,	    0xffff,    0x10000,
		0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff
	};

	return pick(3) ? v[pick(sizeof(v) / sizeof(v[0]))] : (uint32_t)rnd();
}

static uint64_t interesting64(void)
{
	static const uint64_t v[] = {
		0,
		1,
		PAGE,
		1ull << 32,
		(1ull << 32) + 1,
		CSX_KH_MMAP_BAR(0),
		CSX_KH_MMAP_BAR(5) + PAGE,
		CSX_KH_MMAP_DMA(0),
		CSX_KH_MMAP_DMA(255),
		1ull << 63,
		~0ull,
		~0ull - PAGE + 1,
		~0ull - 3,
	};

	return pick(3) ? v[pick(sizeof(v) / sizeof(v[0]))] : rnd();
}

/* --- faults we provoke on purpose ------------------------------------------ */

static __thread sigjmp_buf fault_jb;
static __thread volatile sig_atomic_t fault_armed;

/* SIGSEGV/SIGBUS: expected when touching a mapping the helper (rightly)
 * revoked. Handled, so the kernel logs no "segfault" line either. */
static void on_fault(int sig)
{
	if (fault_armed) {
		fault_armed = 0;
		siglongjmp(fault_jb, 1);
	}
	signal(sig, SIG_DFL);
}

static void on_usr1(int sig)
{
	(void)sig; /* only there to interrupt a blocking call */
}

static int touch(volatile uint32_t *p, int write, uint32_t v)
{
	uint32_t sink;

	if (sigsetjmp(fault_jb, 1))
		return -1;
	fault_armed = 1;
	if (write)
		*p = v;
	else
		sink = *p;
	fault_armed = 0;
	(void)sink;
	return 0;
}

static void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = on_usr1;
	sa.sa_flags = 0; /* no SA_RESTART: a stuck WAIT must return */
	sigaction(SIGUSR1, &sa, NULL);
}

/* --- the watchdog thread ----------------------------------------------------- */

static void register_thread(pthread_t t, int add)
{
	int i;

	pthread_mutex_lock(&F.lock);
	if (add && F.nthreads < NTHREADS) {
		F.threads[F.nthreads++] = t;
	} else if (!add) {
		for (i = 0; i < F.nthreads; i++)
			if (pthread_equal(F.threads[i], t))
				F.threads[i] = F.threads[--F.nthreads];
	}
	pthread_mutex_unlock(&F.lock);
}

/* No progress for 200 ms: signal everyone who might be blocked in the
 * helper. A correct helper returns -EINTR from WAIT. */
static void *watchdog_main(void *arg)
{
	unsigned long last = ~0ul;
	int i;

	(void)arg;
	while (!F.stop_watchdog) {
		sleep_us(200000);
		if (atomic_load(&F.progress) != last) {
			last = atomic_load(&F.progress);
			continue;
		}
		pthread_kill(F.main_thread, SIGUSR1);
		pthread_mutex_lock(&F.lock);
		for (i = 0; i < F.nthreads; i++)
			pthread_kill(F.threads[i], SIGUSR1);
		pthread_mutex_unlock(&F.lock);
	}
	return NULL;
}

/* --- setup ------------------------------------------------------------------- */

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

/* The driver bound to @dev into @buf ("" if none, or the helper). */
static void sysfs_driver(const char *dev, char *buf, size_t n)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t len;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", dev);
	len = readlink(path, link, sizeof(link) - 1);
	link[len > 0 ? len : 0] = 0;
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	snprintf(buf, n, "%.63s", strcmp(base, "csx_helper") ? base : "");
}

/* The first edu device no other driver holds; else the first one. */
static int find_edu(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	char drv[sizeof(F.driver)];
	struct dirent *e;
	int found = 0;

	while (d && found < 2 && (e = readdir(d))) {
		if (e->d_name[0] == '.' ||
		    sysfs_hex(e->d_name, "vendor") != 0x1234 ||
		    sysfs_hex(e->d_name, "device") != 0x11e8)
			continue;
		sysfs_driver(e->d_name, drv, sizeof(drv));
		if (found && drv[0])
			continue;
		snprintf(F.addr, sizeof(F.addr), "%.31s", e->d_name);
		snprintf(F.driver, sizeof(F.driver), "%.63s", drv);
		found = drv[0] ? 1 : 2;
	}
	if (d)
		closedir(d);
	return found;
}

static int parse_addr(const char *s)
{
	unsigned int dom, bus, slot, fn;

	if (sscanf(s, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4 ||
	    bus > 255 || slot > 31 || fn > 7)
		return 0;
	F.domain = dom;
	F.bus = bus;
	F.devfn = slot << 3 | fn;
	return 1;
}

/* Service calls' buffers: two real CALL_MAX buffers (request, response)
 * followed by a hole; a read-only page with a valid SVC_OPEN of EDU_SVC
 * (the open works, its result cannot be written back). */
static void setup_svc_pages(void)
{
	struct csx_kh_svc_open *o;
	int i;

	F.big = mmap(NULL, 2 * CALL_MAX + PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	F.svc_ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (F.big == MAP_FAILED || F.svc_ro == MAP_FAILED) {
		printf("Bail out! mmap: %m\n");
		exit(1);
	}
	munmap(F.big + 2 * CALL_MAX, PAGE);
	for (i = 0; i < UP_RACERS; i++) {
		F.up_race_buf[i] = mmap(NULL, CALL_MAX, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (F.up_race_buf[i] == MAP_FAILED) {
			printf("Bail out! mmap: %m\n");
			exit(1);
		}
	}
	o = (void *)F.svc_ro;
	o->size = sizeof(*o);
	memcpy(o->name, EDU_SVC, sizeof(EDU_SVC));
	mprotect(F.svc_ro, PAGE, PROT_READ);
}

/* The pointer zoo: a RW page, a RO page, a page followed by a hole, a
 * hole. */
static void setup_pages(void)
{
	struct csx_kh_intr_wait *w;
	uint8_t *p;

	F.rw = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	F.ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (F.rw == MAP_FAILED || F.ro == MAP_FAILED || p == MAP_FAILED) {
		printf("Bail out! mmap: %m\n");
		exit(1);
	}
	/* A short WAIT in the RO page, so a WAIT read from it times out. */
	w = (void *)F.ro;
	w->size = sizeof(*w);
	w->timeout_ms = 5;
	mprotect(F.ro, PAGE, PROT_READ);
	F.edge = p;
	F.unmapped = p + 2 * PAGE;
	munmap(p + PAGE, 2 * PAGE);
	setup_svc_pages();
}

/* --- the files ----------------------------------------------------------------- */

static long kio(int fd, unsigned long req, void *arg)
{
	atomic_fetch_add(&F.ioctls, 1);
	return ioctl(fd, req, arg) == 0 ? 0 : -errno;
}

static int claim_edu(int fd)
{
	struct csx_kh_claim c = { .size = sizeof(c) };

	c.domain = F.domain;
	c.bus = F.bus;
	c.devfn = F.devfn;
	return (int)kio(fd, CSX_KH_IOC_CLAIM, &c);
}

static volatile uint32_t *map_bar0(int fd, size_t *len)
{
	struct csx_kh_region r = { .size = sizeof(r), .index = 0 };
	void *p;

	if (kio(fd, CSX_KH_IOC_REGION, &r) || !(r.flags & CSX_KH_REGION_MMAP))
		return NULL;
	atomic_fetch_add(&F.mmaps, 1);
	p = mmap(NULL, r.bar_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 r.mmap_offset);
	if (p == MAP_FAILED)
		return NULL;
	*len = r.bar_size;
	return p;
}

static int attach_any(int fd, __u32 watchdog_ms)
{
	struct csx_kh_intr_attach a = { .size = sizeof(a) };
	struct csx_kh_enable e = { sizeof(e), 1 };

	a.mode = CSX_KH_MODE_ANY;
	a.snap_width = 4;
	a.snap_offset = EDU_IRQ_STATUS;
	a.watchdog_ms = watchdog_ms;
	kio(fd, CSX_KH_IOC_ENABLE, &e);
	return (int)kio(fd, CSX_KH_IOC_INTR_ATTACH, &a);
}

static int wait_irq(int fd, __u32 flags, __u32 timeout_ms,
		    struct csx_kh_intr_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->size = sizeof(*w);
	w->flags = flags;
	w->timeout_ms = timeout_ms;
	return (int)kio(fd, CSX_KH_IOC_INTR_WAIT, w);
}

static void slot_close(struct slot *s)
{
	if (s->bar)
		munmap((void *)s->bar, s->bar_len);
	if (s->fd >= 0)
		close(s->fd);
	s->bar = NULL;
	s->fd = -1;
}

/* A slot's file, opened on demand; sometimes claimed and mapped properly so
 * the fuzzed calls reach past "nothing claimed". */
static struct slot *slot_get(void)
{
	struct slot *s = &S[pick(NSLOTS)];

	if (s->fd < 0)
		s->fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	if (s->fd >= 0 && !s->bar && !pick(8) && claim_edu(s->fd) == 0) {
		s->bar = map_bar0(s->fd, &s->bar_len);
		if (!pick(2))
			attach_any(s->fd, pick(2) ? 0 : 1 + pick(300));
	}
	return s;
}

static void maps_drop(int i)
{
	munmap(M[i].addr, M[i].len);
	M[i].addr = NULL;
}

static void teardown_all(void)
{
	int i;

	for (i = 0; i < NMAPS; i++)
		if (M[i].addr)
			maps_drop(i);
	for (i = 0; i < NSLOTS; i++)
		slot_close(&S[i]);
}

/* --- service call primitives ------------------------------------------------ */

/* Results of the SVC ioctls made here (OPEN, CALL, CLOSE, EXPORT,
 * UNEXPORT, SERVE, KICK) by errno, and of the calls made by the handler's
 * status: what the run reached. */
#define SVC_ERRNO_MAX 136
#define SVC_NR 13
static atomic_ulong svc_rc[SVC_NR][SVC_ERRNO_MAX], svc_status_ok,
	svc_status_err;

static long svc_io(int fd, unsigned long req, void *arg)
{
	unsigned int nr = _IOC_NR(req) - 0x10;
	long rc;

	atomic_fetch_add(&F.svc, 1);
	rc = kio(fd, req, arg);
	if (nr < SVC_NR)
		atomic_fetch_add(&svc_rc[nr][-rc < SVC_ERRNO_MAX ? -rc : 0], 1);
	if (!rc && req == CSX_KH_IOC_SVC_CALL)
		atomic_fetch_add(((struct csx_kh_svc_call *)arg)->status ?
					 &svc_status_err :
					 &svc_status_ok,
				 1);
	return rc;
}

static void print_svc_results(void)
{
	static const char *const name[] = {
		"OPEN",	   "CALL",    "CLOSE",	     "EXPORT", "UNEXPORT",
		"SERVE",   "KICK",    "EXPORT_OPTS", "GONE",   "SB_ALLOC",
		"SB_FREE", "CALL_SB", "SERVE2",
	};
	unsigned int i, e, any;

	for (i = 0; i < SVC_NR; i++) {
		for (e = any = 0; e < SVC_ERRNO_MAX; e++)
			any |= svc_rc[i][e] != 0;
		if (!any && i >= 7)
			continue;
		printf("# kh_fuzz: svc %-8s", name[i]);
		for (e = 0; e < SVC_ERRNO_MAX; e++)
			if (svc_rc[i][e])
				printf(" %s %lu", e ? strerrorname_np(e) : "ok",
				       (unsigned long)svc_rc[i][e]);
		printf("\n");
	}
	printf("# kh_fuzz: svc calls made: %lu handler status 0, %lu errors\n",
	       (unsigned long)svc_status_ok, (unsigned long)svc_status_err);
}

static int svc_open(int fd, const char *name, __u32 min_version, __u32 *handle)
{
	struct csx_kh_svc_open o = { .size = sizeof(o) };
	int rc;

	o.min_version = min_version;
	memcpy(o.name, name, strnlen(name, sizeof(o.name) - 1));
	rc = (int)svc_io(fd, CSX_KH_IOC_SVC_OPEN, &o);
	if (!rc && handle)
		*handle = o.handle;
	return rc;
}

static int svc_close(int fd, __u32 handle)
{
	struct csx_kh_svc_close c = { sizeof(c), handle };

	return (int)svc_io(fd, CSX_KH_IOC_SVC_CLOSE, &c);
}

static void svc_call_init(struct csx_kh_svc_call *c, __u32 handle, __u32 op,
			  const void *in, __u64 in_len, void *out,
			  __u64 out_cap)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->handle = handle;
	c->op = op;
	c->in_ptr = (uintptr_t)in;
	c->in_len = in_len;
	c->out_ptr = (uintptr_t)out;
	c->out_cap = out_cap;
	c->timeout_ns = -1;
}

/* A well-formed call: the ioctl's result; the handler's in c->status. */
static int svc_call(int fd, struct csx_kh_svc_call *c, __u32 handle, __u32 op,
		    const void *in, __u64 in_len, void *out, __u64 out_cap)
{
	svc_call_init(c, handle, op, in, in_len, out, out_cap);
	return (int)svc_io(fd, CSX_KH_IOC_SVC_CALL, c);
}

/* n! of edu/0: small n only, any answer (even an error) goes. */
static int svc_fact(int fd, __u32 handle, uint64_t *rng)
{
	struct csx_kh_svc_call c;
	uint32_t n = (uint32_t)(rnd_next(rng) % 13), res = 0;

	return svc_call(fd, &c, handle, EDU_OP_FACT, &n, sizeof(n), &res,
			sizeof(res));
}

/* Lengths: 0, 1, small, around CALL_MAX, far above. */
static uint64_t svc_len(void)
{
	static const uint64_t v[] = {
		0,
		1,
		2,
		3,
		4,
		5,
		8,
		255,
		256,
		257,
		4095,
		4096,
		PAGE + 1,
		CALL_MAX - 1,
		CALL_MAX,
		CALL_MAX + 1,
		2 * CALL_MAX,
		1ull << 32,
		(1ull << 63),
		~0ull,
	};

	if (pick(5))
		return v[pick(sizeof(v) / sizeof(v[0]))];
	return pick(2) ? pick(CALL_MAX + 2) : interesting64();
}

/* A buffer for @len bytes: mostly a real one, else NULL, a hole, kernel
 * space, read-only memory or one running into a hole. Responses (@out)
 * land only on memory nothing else uses. */
static uint64_t svc_ptr(uint64_t len, int out)
{
	uint64_t room = len < 2 * CALL_MAX ? len : 2 * CALL_MAX;

	switch (pick(12)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)F.unmapped;
	case 2:
		return (uintptr_t)KERNEL_PTR + pick(2) * PAGE * pick(1024);
	case 3: /* reading works, writing must fault */
		return (uintptr_t)(pick(2) ? F.ro : F.svc_ro);
	case 4: /* ends at the hole after the big buffers, or runs into it */
		return (uintptr_t)(F.big + 2 * CALL_MAX - room +
				   (pick(2) ? 0 : 1 + pick(64)));
	case 5: /* the page before a hole */
		return (uintptr_t)(F.edge + PAGE - pick(64));
	case 6: /* non-canonical, or the top of user space */
		return pick(2) ? 1ull << 63 : (1ull << 47) - 1 - pick(PAGE);
	case 7:
		if (!out) /* any user address: only read */
			return rnd() & ((1ull << 47) - 1);
		/* fall through */
	default:
		return (uintptr_t)(out ? F.big + CALL_MAX : F.big);
	}
}

/* Requests edu/0 can take without stalling: n small at F.big, a timeout
 * at F.big + 8 (the edu's default back at the end). */
static void svc_requests(void)
{
	static const uint32_t ms[] = { 0, 1, 50, 1000, 60000, 60001, ~0u };
	uint32_t n = pick(13), t = ms[pick(sizeof(ms) / sizeof(ms[0]))];

	memcpy(F.big, &n, 4);
	memcpy(F.big + 8, &t, 4);
}

/* Aim a call struct's buffers so they are safe for us and for edu/0: no
 * response on memory we use, no factorial of a huge n. */
static void svc_aim(struct csx_kh_svc_call *c)
{
	svc_requests();
	c->out_ptr = svc_ptr(c->out_cap, 1);
	if (c->in_len == 4 && c->op == EDU_OP_FACT)
		c->in_ptr = pick(8) ? (uintptr_t)F.big : svc_ptr(0, 1);
	else if (c->in_len == 4 && c->op == EDU_OP_TIMEOUT)
		c->in_ptr = pick(8) ? (uintptr_t)(F.big + 8) : svc_ptr(0, 1);
	else if (pick(4))
		c->in_ptr = svc_ptr(c->in_len, 0);
}

static __u32 svc_handle(struct slot *s)
{
	switch (pick(8)) {
	case 0:
		return interesting32();
	case 1: /* a slot number out of range, or slot 0 of generation g */
		return pick(2) ? CSX_KH_SVC_MAX + 1 + pick(200) :
				 (uint32_t)pick(0x1000) << 8;
	default:
		return s->svc[pick(NSVC)];
	}
}

static uint32_t svc_op(void)
{
	return pick(4) ? 1 + pick(4) : interesting32();
}

static int64_t svc_timeout(void)
{
	static const int64_t v[] = {
		-1, -1, -1, 0, 1, 1000000000, INT64_MAX, -2, -1000, INT64_MIN
	};

	return v[pick(sizeof(v) / sizeof(v[0]))];
}

/* Service names: unterminated, empty, no slash, non-printable, too long,
 * valid but absent, and (when it exists) the real one. */
static void svc_rand_name(char *name)
{
	static const char *const fixed[] = {
		"",	 "noslash",	   "nope/x",   "/x",	  "x/",
		"/",	 "edu/",	   "edu/0 ",   " edu/0",  "edu//0",
		"edu/1", "edu/00",	   "EDU/0",    "edu/0\t", "edu/-1",
		"a/b",	 "edu/9999999999", "csx/core", "edu\\0",
	};
	size_t i, n;

	memset(name, 0, CSX_KH_SVC_NAME_MAX);
	switch (pick(8)) {
	case 0: /* 64 printable bytes, no NUL */
		for (i = 0; i < CSX_KH_SVC_NAME_MAX; i++)
			name[i] = (char)('!' + pick(94));
		name[pick(CSX_KH_SVC_NAME_MAX)] = '/';
		break;
	case 1: /* anything but NUL, some of it high or control bytes */
		n = 1 + pick(CSX_KH_SVC_NAME_MAX - 1);
		for (i = 0; i < n; i++)
			name[i] = (char)(1 + pick(255));
		break;
	case 2: /* the longest valid-looking name: 63 bytes */
		memset(name, 'a' + pick(26), CSX_KH_SVC_NAME_MAX - 1);
		name[1 + pick(CSX_KH_SVC_NAME_MAX - 3)] = '/';
		break;
	case 3:
	case 4:
		i = pick(sizeof(fixed) / sizeof(fixed[0]));
		memcpy(name, fixed[i], strlen(fixed[i]));
		break;
	case 5: /* printable, a slash somewhere */
		n = 1 + pick(12);
		for (i = 0; i < n; i++)
			name[i] = (char)('!' + pick(94));
		name[pick(n)] = '/';
		break;
	default:
		memcpy(name, EDU_SVC, sizeof(EDU_SVC));
	}
}

/* The shared-buffer helpers fixup() uses (further down). */
static uint64_t sb_len(uint64_t len);
static __u32 sb_id(void);
static void sb_call_aim(struct csx_kh_svc_call_shbuf *c, struct slot *s);

/* The upcall helpers fixup() uses (the block itself is further down). */
static __u32 up_handle(struct slot *s);
static void up_rand_name(char *name);
static void up_serve_aim(struct csx_kh_svc_serve *v);

/* --- ioctls ------------------------------------------------------------------- */

static const struct {
	unsigned long cmd;
	size_t size;
} cmds[] = {
	{ CSX_KH_IOC_VERSION, sizeof(struct csx_kh_version) },
	{ CSX_KH_IOC_CLAIM, sizeof(struct csx_kh_claim) },
	{ CSX_KH_IOC_RELEASE, 0 },
	{ CSX_KH_IOC_REGION, sizeof(struct csx_kh_region) },
	{ CSX_KH_IOC_CFG_READ, sizeof(struct csx_kh_cfg) },
	{ CSX_KH_IOC_CFG_WRITE, sizeof(struct csx_kh_cfg) },
	{ CSX_KH_IOC_ENABLE, sizeof(struct csx_kh_enable) },
	{ CSX_KH_IOC_DMA_ALLOC, sizeof(struct csx_kh_dma) },
	{ CSX_KH_IOC_DMA_FREE, sizeof(struct csx_kh_dma) },
	{ CSX_KH_IOC_INTR_ATTACH, sizeof(struct csx_kh_intr_attach) },
	{ CSX_KH_IOC_INTR_DETACH, 0 },
	{ CSX_KH_IOC_INTR_WAIT, sizeof(struct csx_kh_intr_wait) },
	{ CSX_KH_IOC_INTR_KICK, 0 },
	{ CSX_KH_IOC_INTR_STATUS, sizeof(struct csx_kh_intr_status) },
	{ CSX_KH_IOC_SVC_OPEN, sizeof(struct csx_kh_svc_open) },
	{ CSX_KH_IOC_SVC_CALL, sizeof(struct csx_kh_svc_call) },
	{ CSX_KH_IOC_SVC_CLOSE, sizeof(struct csx_kh_svc_close) },
	{ CSX_KH_IOC_SVC_EXPORT, sizeof(struct csx_kh_svc_export) },
	{ CSX_KH_IOC_SVC_UNEXPORT, sizeof(struct csx_kh_svc_unexport) },
	{ CSX_KH_IOC_SVC_SERVE, sizeof(struct csx_kh_svc_serve) },
	{ CSX_KH_IOC_SVC_KICK, 0 },
	{ CSX_KH_IOC_SVC_EXPORT_OPTS, sizeof(struct csx_kh_svc_export_opts) },
	{ CSX_KH_IOC_SVC_GONE, sizeof(struct csx_kh_svc_gone) },
	{ CSX_KH_IOC_SHBUF_ALLOC, sizeof(struct csx_kh_shbuf) },
	{ CSX_KH_IOC_SHBUF_FREE, sizeof(struct csx_kh_shbuf) },
	{ CSX_KH_IOC_SVC_CALL_SHBUF, sizeof(struct csx_kh_svc_call_shbuf) },
	{ CSX_KH_IOC_SVC_SERVE2, sizeof(struct csx_kh_svc_serve2) },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* Where the argument goes: mostly the RW page, else a bad pointer. Copies
 * @buf there when the place is ours to write. */
static void *place_arg(const uint8_t *buf, size_t len)
{
	uint8_t *p;
	size_t k;

	switch (pick(12)) {
	case 0:
		return NULL;
	case 1:
		return F.unmapped;
	case 2:
		return KERNEL_PTR;
	case 3:
		return (void *)(0xffffffff81000000ul + pick(4096));
	case 4:
		return F.ro;
	case 5: /* the struct runs into the hole after the page */
		k = 1 + pick(len ? (unsigned int)len : 1);
		p = F.edge + PAGE - k;
		memcpy(p, buf, k);
		return p;
	case 6: /* misaligned */
		p = F.rw + 1 + pick(7);
		break;
	default:
		p = F.rw;
	}
	memcpy(p, buf, len);
	return p;
}

/* Random contents with boundary values, size mostly right so the call
 * gets past the size check. */
static void mutate(uint8_t *buf, size_t len, size_t real_size)
{
	size_t off;

	for (off = 0; off < len; off++)
		buf[off] = (uint8_t)rnd();
	for (off = 0; off + 4 <= len; off += 4) {
		if (off % 8 == 0 && off + 8 <= len && !pick(4)) {
			uint64_t v = interesting64();

			memcpy(buf + off, &v, 8);
			off += 4;
		} else if (pick(2)) {
			uint32_t v = interesting32();

			memcpy(buf + off, &v, 4);
		}
	}
	if (len >= 4 && pick(10) < 7) {
		uint32_t sz = (uint32_t)real_size;

		memcpy(buf, &sz, 4);
	}
}

/* Per-command fixups: aim at the interesting code, avoid what the VM
 * cannot survive for reasons outside the helper. */
static void fixup(unsigned long cmd, uint8_t *buf, struct slot *s)
{
	if (cmd == CSX_KH_IOC_CLAIM) {
		/* Only the edu device, or a domain that does not exist: a
		 * random real device (the host bridge...) is not ours to
		 * fuzz. */
		struct csx_kh_claim *c = (void *)buf;

		if (pick(2)) {
			c->domain = F.domain;
			c->bus = pick(2) ? F.bus : c->bus;
			c->devfn = F.devfn;
		} else {
			c->domain = 0x10000 + (c->domain & 0xffff);
		}
		if (c->domain == F.domain && c->bus != F.bus)
			c->domain = 0x10000;
	} else if (cmd == CSX_KH_IOC_INTR_WAIT) {
		struct csx_kh_intr_wait *w = (void *)buf;

		w->timeout_ms = 1 + pick(20);
	} else if (cmd == CSX_KH_IOC_CFG_READ || cmd == CSX_KH_IOC_CFG_WRITE) {
		struct csx_kh_cfg *c = (void *)buf;

		if (pick(4))
			c->offset = pick(0x1010);
		if (pick(4))
			c->width = pick(9);
	} else if (cmd == CSX_KH_IOC_DMA_ALLOC) {
		struct csx_kh_dma *d = (void *)buf;

		if (pick(4))
			d->length = 1 + pick(1 << 17);
	} else if (cmd == CSX_KH_IOC_SVC_OPEN) {
		struct csx_kh_svc_open *o = (void *)buf;

		if (pick(2))
			svc_rand_name(o->name);
	} else if (cmd == CSX_KH_IOC_SVC_CALL) {
		struct csx_kh_svc_call *c = (void *)buf;

		if (pick(2))
			c->handle = svc_handle(s);
		if (pick(2))
			c->op = svc_op();
		if (pick(2))
			c->in_len = svc_len();
		if (pick(2))
			c->out_cap = svc_len();
		svc_aim(c);
	} else if (cmd == CSX_KH_IOC_SVC_CLOSE) {
		struct csx_kh_svc_close *c = (void *)buf;

		if (pick(2))
			c->handle = svc_handle(s);
	} else if (cmd == CSX_KH_IOC_SVC_EXPORT) {
		struct csx_kh_svc_export *e = (void *)buf;

		if (pick(2))
			up_rand_name(e->name);
		if (pick(2))
			e->scope = pick(4);
	} else if (cmd == CSX_KH_IOC_SVC_EXPORT_OPTS) {
		struct csx_kh_svc_export_opts *o = (void *)buf;

		if (pick(2))
			up_rand_name(o->name);
		if (pick(2))
			o->scope = pick(4);
	} else if (cmd == CSX_KH_IOC_SVC_GONE) {
		struct csx_kh_svc_gone *g = (void *)buf;

		/* Short or invalid, never long: nothing would wake it. */
		g->timeout_ns = pick(3) ? (int64_t)pick(3) * 1000000 :
					  -(int64_t)pick(3) - 2;
	} else if (cmd == CSX_KH_IOC_SVC_UNEXPORT) {
		struct csx_kh_svc_unexport *u = (void *)buf;

		if (pick(2))
			u->handle = up_handle(s);
	} else if (cmd == CSX_KH_IOC_SHBUF_ALLOC) {
		struct csx_kh_shbuf *b = (void *)buf;

		b->length = sb_len(b->length);
	} else if (cmd == CSX_KH_IOC_SHBUF_FREE) {
		struct csx_kh_shbuf *b = (void *)buf;

		if (pick(2))
			b->id = sb_id();
	} else if (cmd == CSX_KH_IOC_SVC_CALL_SHBUF) {
		sb_call_aim((void *)buf, s);
	} else if (cmd == CSX_KH_IOC_SVC_SERVE ||
		   cmd == CSX_KH_IOC_SVC_SERVE2) {
		/* SERVE's structure is SERVE2's prefix. */
		struct csx_kh_svc_serve *v = (void *)buf;
		int64_t t = v->timeout_ns;

		/* Random contents, except where they would be unsafe: the
		 * request lands somewhere harmless, the wait is short. */
		if (pick(4)) {
			up_serve_aim(v);
		} else {
			v->req_ptr = (uintptr_t)(F.big + CALL_MAX);
			v->timeout_ns = t < -1 ? t : pick(3) - 1;
		}
	}
}

static void fuzz_real_ioctl(void)
{
	uint8_t buf[160];
	unsigned int i = pick(NCMDS);
	unsigned long cmd = cmds[i].cmd;
	struct slot *s = slot_get();
	void *arg;

	mutate(buf, sizeof(buf), cmds[i].size);
	fixup(cmd, buf, s);
	arg = place_arg(buf, cmds[i].size ? cmds[i].size : 8);
	if (_IOC_NR(cmd) >= 0x10)
		atomic_fetch_add(&F.svc, 1);
	kio(pick(50) ? s->fd : -1, cmd, arg);
}

/* The generic VFS ioctls act before the driver sees anything (FIFREEZE
 * would freeze devtmpfs): leave their types alone. */
static int vfs_type(unsigned int type)
{
	return type == 0 || type == 'X' || type == 'f' || type == 0x94 ||
	       type == 'T' || type == 0x12;
}

static void fuzz_random_ioctl(void)
{
	uint8_t buf[256];
	unsigned int type = CSX_KH_IOC_MAGIC, size = pick(sizeof(buf));
	struct slot *s = slot_get();
	unsigned long cmd;

	if (!pick(4)) {
		do
			type = pick(256);
		while (vfs_type(type));
	}
	if (!pick(8))
		size = pick(1 << 14); /* the pointer may not cover it */
	cmd = _IOC(pick(4), type, pick(4) ? pick(0x20) : pick(256), size);
	mutate(buf, sizeof(buf), size);
	/*
	 * Should the helper decode by nr alone, a WAIT must still end; so
	 * must a SVC_GONE (its timeout_ns, 8 bytes at offset 8: 5 ns).
	 */
	buf[8] = 5;
	buf[9] = buf[10] = buf[11] = 0;
	buf[12] = buf[13] = buf[14] = buf[15] = 0;
	kio(s->fd, cmd,
	    place_arg(buf, size < sizeof(buf) ? size : sizeof(buf)));
}

/* --- mmap games ------------------------------------------------------------------ */

static uint64_t rand_offset(int *dma)
{
	static const int64_t delta[] = { 0, 0, 0, PAGE, -(int64_t)PAGE, 1 };
	uint64_t base;

	*dma = 0;
	switch (pick(6)) {
	case 0:
	case 1:
		base = CSX_KH_MMAP_BAR(pick(8));
		break;
	case 5: /* shared buffers: memory, writable like DMA buffers */
		*dma = 1;
		base = CSX_KH_MMAP_SHBUF(sb_id());
		break;
	case 2:
		*dma = 1;
		base = CSX_KH_MMAP_DMA(pick(2) ? pick(4) : pick(300));
		break;
	case 3:
		base = interesting64() & ~(PAGE - 1);
		break;
	default:
		base = rnd() & ~(PAGE - 1) & ((1ull << 47) - 1);
	}
	return base + (uint64_t)delta[pick(6)];
}

static size_t rand_len(void)
{
	static const size_t len[] = { 0,	 1,	    PAGE,
				      2 * PAGE,	 1ul << 20, (1ul << 20) + PAGE,
				      1ul << 30, PAGE - 1,  1ul << 40 };

	return len[pick(sizeof(len) / sizeof(len[0]))];
}

static int map_slot(void)
{
	int i;

	for (i = 0; i < NMAPS; i++)
		if (!M[i].addr)
			return i;
	maps_drop(pick(NMAPS));
	return map_slot();
}

/* Try a random mapping; keep what succeeds for later games. */
static void fuzz_mmap(void)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE,
				     PROT_WRITE, PROT_READ | PROT_EXEC,
				     PROT_NONE };
	int flags = pick(5) ? MAP_SHARED : MAP_PRIVATE;
	struct slot *s = slot_get();
	size_t len = rand_len();
	int dma, i;
	uint64_t off = rand_offset(&dma);
	uint8_t *p;

	if (!pick(5))
		flags |= MAP_POPULATE;
	atomic_fetch_add(&F.mmaps, 1);
	p = mmap(NULL, len, prots[pick(5)], flags, s->fd, (off_t)off);
	if (p == MAP_FAILED)
		return;
	i = map_slot();
	M[i].addr = p;
	M[i].len = (len + PAGE - 1) & ~(PAGE - 1);
	M[i].dma = dma;
	touch((volatile uint32_t *)p, 0, 0);
	if (dma)
		touch((volatile uint32_t *)p, 1, (uint32_t)rnd());
}

/* Split, shrink, grow, move, reprotect and touch a kept mapping. */
static void fuzz_map_game(void)
{
	struct map *m = &M[pick(NMAPS)];
	void *p, *to;

	if (!m->addr)
		return;
	switch (pick(7)) {
	case 0:
		maps_drop((int)(m - M));
		return;
	case 1: /* the head page */
		if (m->len > PAGE && !munmap(m->addr, PAGE)) {
			m->addr += PAGE;
			m->len -= PAGE;
		}
		break;
	case 2: /* shrink in place */
		if (m->len > PAGE &&
		    mremap(m->addr, m->len, PAGE, 0) != MAP_FAILED)
			m->len = PAGE;
		break;
	case 3: /* grow: PFN maps must refuse, DMA maps may */
		p = mremap(m->addr, m->len, m->len + PAGE, MREMAP_MAYMOVE);
		if (p != MAP_FAILED) {
			m->addr = p;
			m->len += PAGE;
		}
		break;
	case 4: /* move onto a fresh reservation */
		to = mmap(NULL, m->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
		if (to == MAP_FAILED)
			break;
		p = mremap(m->addr, m->len, m->len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (p == MAP_FAILED)
			munmap(to, m->len);
		else
			m->addr = p;
		break;
	case 5:
		mprotect(m->addr, m->len,
			 pick(2) ? PROT_READ | PROT_EXEC :
				   PROT_READ | PROT_WRITE);
		break;
	default:
		break;
	}
	touch((volatile uint32_t *)(m->addr + (m->len - 4)), 0, 0);
	if (m->dma)
		touch((volatile uint32_t *)m->addr, 1, (uint32_t)rnd());
}

/* --- races --------------------------------------------------------------------- */

struct racer {
	pthread_t thread;
	int fd;
	volatile uint32_t *bar;
	volatile int stop;
	uint64_t rng;
};

static void *race_waiter(void *arg)
{
	struct racer *r = arg;
	struct csx_kh_intr_wait w;

	while (!r->stop) {
		int rc = wait_irq(r->fd, CSX_KH_WAIT_UNMASK, 20, &w);

		if (rc == -EBADF)
			break;
		/* Detached or released: keep trying (a re-attach may come)
		 * without spinning. */
		if (rc && rc != -ETIMEDOUT && rc != -EINTR)
			sleep_us(500);
		atomic_fetch_add(&F.progress, 1);
	}
	return NULL;
}

/* Raise and ack through the BAR; the main thread may pull the mapping
 * away underneath (a fault is then expected and handled). */
static void *race_raiser(void *arg)
{
	struct racer *r = arg;

	while (!r->stop) {
		if (touch(r->bar + EDU_IRQ_RAISE / 4, 1, 1))
			break;
		if (rnd_next(&r->rng) % 3 == 0 &&
		    touch(r->bar + EDU_IRQ_ACK / 4, 1, 1))
			break;
		sleep_us((unsigned int)(rnd_next(&r->rng) % 200));
	}
	return NULL;
}

static void racer_start(struct racer *r, void *(*fn)(void *))
{
	r->rng = rnd() | 1;
	pthread_create(&r->thread, NULL, fn, r);
	register_thread(r->thread, 1);
}

static void racer_stop(struct racer *r)
{
	r->stop = 1;
	register_thread(r->thread, 0);
	pthread_join(r->thread, NULL);
}

/* The main thread's move while the waiter blocks and interrupts fly. */
static void race_strike(int *fd, volatile uint32_t **bar, size_t len)
{
	struct csx_kh_dma d = { .size = sizeof(d), .length = PAGE };

	switch (pick(7)) {
	case 0:
		close(*fd);
		*fd = -1;
		break;
	case 1:
		kio(*fd, CSX_KH_IOC_INTR_DETACH, NULL);
		break;
	case 2:
		kio(*fd, CSX_KH_IOC_RELEASE, NULL);
		break;
	case 3: /* the file stays open through the mapping alone */
		close(*fd);
		*fd = -1;
		sleep_us(pick(2000));
		munmap((void *)*bar, len);
		*bar = NULL;
		break;
	case 4:
		kio(*fd, CSX_KH_IOC_INTR_KICK, NULL);
		break;
	case 5:
		kio(*fd, CSX_KH_IOC_DMA_ALLOC, &d);
		attach_any(*fd, 1 + pick(50));
		break;
	default:
		munmap((void *)*bar, len);
		*bar = NULL;
	}
}

static void fuzz_race(void)
{
	struct racer waiter = { 0 }, raiser = { 0 };
	volatile uint32_t *bar;
	size_t len = 0;
	int fd;

	teardown_all();
	fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0 || claim_edu(fd) || !(bar = map_bar0(fd, &len))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	attach_any(fd, pick(2) ? 0 : 1 + pick(100));
	atomic_fetch_add(&F.races, 1);
	waiter.fd = raiser.fd = fd;
	raiser.bar = bar;
	racer_start(&waiter, race_waiter);
	racer_start(&raiser, race_raiser);
	sleep_us(pick(3000));
	race_strike(&fd, &bar, len);
	sleep_us(pick(3000));
	racer_stop(&raiser);
	racer_stop(&waiter);
	if (bar)
		munmap((void *)bar, len);
	if (fd >= 0)
		close(fd);
}

/* --- fork + SIGKILL ------------------------------------------------------------------ */

/* The child claims (or, sharing the parent's file, just uses it) and
 * keeps interrupts going until killed. Syscalls only: the parent has
 * threads. */
static void claimant_child(int fd, volatile uint32_t *bar)
{
	struct csx_kh_intr_wait w;
	size_t len;

	alarm(5); /* never outlive the run, whatever happens */
	if (fd < 0) {
		fd = open(CSX_KH_DEVICE, O_RDWR);
		if (fd < 0 || claim_edu(fd) || !(bar = map_bar0(fd, &len)))
			_exit(1);
		attach_any(fd, 0);
	}
	for (;;) {
		touch(bar + EDU_IRQ_RAISE / 4, 1, 1);
		wait_irq(fd, 0, 5, &w);
		touch(bar + EDU_IRQ_ACK / 4, 1, 1);
		wait_irq(fd, CSX_KH_WAIT_UNMASK | CSX_KH_WAIT_NONBLOCK, 0, &w);
	}
}

static void fuzz_fork_kill(void)
{
	struct slot *s = &S[0];
	int shared = pick(2);
	pid_t pid;

	teardown_all();
	if (shared) { /* parent and child share one claimed file */
		s->fd = open(CSX_KH_DEVICE, O_RDWR);
		if (s->fd < 0 || claim_edu(s->fd) ||
		    !(s->bar = map_bar0(s->fd, &s->bar_len))) {
			slot_close(s);
			return;
		}
		attach_any(s->fd, 0);
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		claimant_child(shared ? s->fd : -1, s->bar);
	if (pid < 0)
		return;
	sleep_us(pick(50000));
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	atomic_fetch_add(&F.races, 1);
}

static void fuzz_close(void)
{
	slot_close(&S[pick(NSLOTS)]);
}

/* --- service calls ------------------------------------------------------------------ */

/* An open with random name, size and version; a struct on a read-only
 * page (the channel opens, the handle cannot be written back) or at a bad
 * pointer now and then. Handles that come back are kept for the calls. */
static void fuzz_svc_open(void)
{
	struct csx_kh_svc_open o;
	struct slot *s = slot_get();
	uint8_t *arg;

	memset(&o, 0, sizeof(o));
	o.size = pick(10) ? sizeof(o) : interesting32();
	o.min_version = pick(3) ? pick(3) : interesting32();
	svc_rand_name(o.name);
	switch (pick(10)) {
	case 0:
		arg = F.svc_ro;
		break;
	case 1:
		arg = place_arg((uint8_t *)&o, sizeof(o));
		break;
	default:
		arg = memcpy(F.rw, &o, sizeof(o));
	}
	if (svc_io(s->fd, CSX_KH_IOC_SVC_OPEN, arg) || arg == F.svc_ro)
		return;
	memcpy(&o, arg, sizeof(o));
	s->svc[pick(NSVC)] = o.handle;
	if (!pick(4)) /* one more, then close it: a stale handle */
		svc_close(s->fd, o.handle);
}

/* A call with a random or remembered handle and hostile buffers; now and
 * then a large valid call on the real 1 MiB buffers, a call whose struct
 * is read-only (the call is made, the result cannot be written back), or
 * an open, close and reuse of the handle. */
/* --- shared buffers ------------------------------------------------------------ */

static atomic_ulong sb_gone_told;

/*
 * Lengths of a shared buffer: invalid ones as they come, valid ones kept
 * small (a file may hold 256 MiB, the VM has 512 MiB).
 */
static uint64_t sb_len(uint64_t len)
{
	if (len && len <= CSX_KH_SHBUF_MAX && len > (256u << 10))
		len = pick(64) ? 1 + pick(256u << 10) : CSX_KH_SHBUF_MAX;
	return len;
}

static __u32 sb_id(void)
{
	return pick(4) ? 1 + pick(80) : interesting32();
}

/*
 * SVC_CALL_SHBUF at random: windows near and past the ends, overflowing
 * sums; never edu/0's factorial or timeout, whose request would be
 * whatever lies in the buffer.
 */
static void sb_call_aim(struct csx_kh_svc_call_shbuf *c, struct slot *s)
{
	memset(c, 0, sizeof(*c));
	c->size = pick(20) ? sizeof(*c) : interesting32();
	c->handle = svc_handle(s);
	c->op = pick(2) ? EDU_OP_INFO : interesting32();
	if (c->op == EDU_OP_FACT || c->op == EDU_OP_TIMEOUT)
		c->op = 0;
	c->buf_id = sb_id();
	c->reserved = pick(10) ? 0 : interesting32();
	c->in_off = pick(2) ? svc_len() : interesting64();
	c->in_len = svc_len();
	c->out_off = pick(2) ? svc_len() : interesting64();
	c->out_cap = svc_len();
	c->timeout_ns = svc_timeout();
}

/* SERVE2 reported @id gone: its kept mappings just age out of M[]. */
static void sb_gone(int fd, __u32 id)
{
	(void)fd;
	(void)id;
	atomic_fetch_add(&sb_gone_told, 1);
}

/* Keep a mapping for the map games (and to outlive its buffer's id). */
static int sb_keep(int fd, uint8_t *p, size_t len, __u32 id)
{
	int i;

	(void)fd;
	(void)id;
	if (pick(2))
		return 0;
	i = map_slot();
	M[i].addr = p;
	M[i].len = (len + PAGE - 1) & ~(PAGE - 1);
	M[i].dma = 1;
	return 1;
}

/*
 * A slot's own buffers: alloc, map (or not), calls through them with
 * windows in and out of range, scribbles, a free while mapped or not.
 */
static void fuzz_shbuf(void)
{
	struct csx_kh_shbuf b = { .size = sizeof(b) },
			    f = { .size = sizeof(f) };
	struct csx_kh_svc_call_shbuf c;
	struct slot *s = slot_get();
	uint8_t *p = MAP_FAILED;
	int i, n = 1 + pick(6);

	b.length = sb_len(pick(4) ? 1 + pick(1u << 18) : interesting64());
	if (svc_io(s->fd, CSX_KH_IOC_SHBUF_ALLOC, &b)) {
		f.id = sb_id(); /* full, perhaps: make room */
		svc_io(s->fd, CSX_KH_IOC_SHBUF_FREE, &f);
		return;
	}
	if (pick(3))
		p = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED,
			 s->fd, (off_t)b.mmap_offset);
	if (F.svc_real && !pick(4)) {
		svc_close(s->fd, s->svc[0]);
		svc_open(s->fd, EDU_SVC, 0, &s->svc[0]);
	}
	for (i = 0; i < n; i++) {
		sb_call_aim(&c, s);
		if (pick(2))
			c.buf_id = b.id;
		if (pick(2))
			c.handle = s->svc[pick(NSVC)];
		if (pick(2)) { /* inside, so the handler runs */
			c.in_off = pick((unsigned int)b.length + 1);
			c.in_len =
				pick((unsigned int)(b.length - c.in_off) + 1);
			c.out_off = pick((unsigned int)b.length + 1);
			c.out_cap =
				pick((unsigned int)(b.length - c.out_off) + 1);
		}
		svc_io(pick(50) ? s->fd : -1, CSX_KH_IOC_SVC_CALL_SHBUF, &c);
		if (p != MAP_FAILED && pick(2))
			p[pick((unsigned int)b.length)] = (uint8_t)rnd();
	}
	f.id = b.id;
	if (pick(4))
		svc_io(s->fd, CSX_KH_IOC_SHBUF_FREE, &f);
	if (p != MAP_FAILED && !sb_keep(s->fd, p, b.length, b.id))
		munmap(p, b.length);
}

static void fuzz_svc_call(void)
{
	struct csx_kh_svc_call c, *arg = &c;
	struct slot *s = slot_get();
	unsigned int i = pick(NSVC);
	__u32 h;

	/* Often a live channel, so the hostile calls reach the handler. */
	if (F.svc_real && !pick(3)) {
		svc_close(s->fd, s->svc[i]);
		svc_open(s->fd, EDU_SVC, 0, &s->svc[i]);
	}
	svc_call_init(&c, pick(2) ? s->svc[i] : svc_handle(s), svc_op(), NULL,
		      svc_len(), NULL, svc_len());
	c.timeout_ns = pick(3) ? -1 : svc_timeout();
	svc_aim(&c);
	switch (pick(10)) {
	case 0: /* real buffers of CALL_MAX, or just about */
		c.in_ptr = (uintptr_t)F.big;
		c.out_ptr = (uintptr_t)(F.big + CALL_MAX);
		c.in_len = CALL_MAX - pick(2) * pick(8);
		c.out_cap = CALL_MAX - pick(2) * pick(8);
		if (pick(2)) {
			c.in_len = 0;
			c.in_ptr = 0;
		}
		c.op = pick(2) ? EDU_OP_INFO : c.op;
		c.op = c.op == EDU_OP_FACT ? 0 : c.op;
		break;
	case 1: /* a fresh handle, closed, then used */
		if (svc_open(s->fd, EDU_SVC, 0, &h))
			break;
		svc_close(s->fd, h);
		c.handle = h;
		break;
	case 2: /* the struct itself read-only */
		if (mprotect(F.svc_ro, PAGE, PROT_READ | PROT_WRITE))
			break;
		arg = memcpy(F.svc_ro + 128, &c, sizeof(c));
		mprotect(F.svc_ro, PAGE, PROT_READ);
		break;
	case 3:
		arg = (void *)place_arg((uint8_t *)&c, sizeof(c));
		break;
	default:
		break;
	}
	svc_io(pick(50) ? s->fd : -1, CSX_KH_IOC_SVC_CALL, arg);
	if (!pick(16)) /* and close it, maybe while a fork child uses it */
		svc_close(s->fd, c.handle);
}

/* All channels of a file and one more: the last must be refused (EMFILE
 * or ENOSPC, counted). Then close some, call on the rest, and leave the
 * remainder to the file's release or close them one by one. */
static void fuzz_svc_storm(void)
{
	__u32 h[CSX_KH_SVC_MAX + 1];
	struct csx_kh_svc_call c;
	uint64_t rng = rnd() | 1;
	unsigned int n = 0, i;
	int fd, rc = 0;

	fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	atomic_fetch_add(&F.races, 1);
	while (n <= CSX_KH_SVC_MAX) {
		rc = svc_open(fd, EDU_SVC, pick(2), &h[n]);
		if (rc)
			break;
		n++;
	}
	if (F.svc_real) {
		F.storms++;
		if (n == CSX_KH_SVC_MAX && (rc == -EMFILE || rc == -ENOSPC))
			F.storm_refused++;
		else if (!F.storm_odd++)
			printf("# kh_fuzz: svc storm: %u channels, then %s\n",
			       n, rc ? strerrorname_np(-rc) : "no refusal");
	}
	for (i = 0; i < n; i++) {
		if (pick(2))
			continue;
		svc_close(fd, h[i]);
		if (pick(4))
			svc_open(fd, EDU_SVC, 0, &h[i]);
	}
	for (i = 0; i < 8 && n; i++) {
		if (pick(2))
			svc_fact(fd, h[pick(n)], &rng);
		else
			svc_call(fd, &c, h[pick(n)], EDU_OP_INFO, NULL, 0,
				 F.big + CALL_MAX, PAGE);
	}
	for (i = 0; pick(2) && i < n; i++)
		svc_close(fd, h[i]);
	close(fd);
}

struct svc_racer {
	pthread_t thread;
	int fd;
	volatile __u32 handle;
	volatile int stop;
	uint64_t rng;
	uint8_t out[256];
};

/* Calls until stopped; the handle may be closed (ENOENT) or replaced
 * underneath, the file closed (EBADF). */
static void *svc_race_caller(void *arg)
{
	struct svc_racer *r = arg;
	struct csx_kh_svc_call c;

	while (!r->stop) {
		int rc;

		if (rnd_next(&r->rng) % 2)
			rc = svc_fact(r->fd, r->handle, &r->rng);
		else
			rc = svc_call(r->fd, &c, r->handle, EDU_OP_INFO, NULL,
				      0, r->out, sizeof(r->out));
		atomic_fetch_add(&F.progress, 1);
		if (rc == -EBADF)
			break;
		if (rc)
			sleep_us(200);
	}
	return NULL;
}

static void *svc_race_closer(void *arg)
{
	struct svc_racer *r = arg;

	svc_close(r->fd, r->handle);
	return NULL;
}

/* SVC_CLOSE (twice at once, sometimes), a reopen into the same slot or
 * close(2) of the file against SVC_RACERS threads calling on one handle. */
static void fuzz_svc_race(void)
{
	struct svc_racer r[SVC_RACERS], closer;
	__u32 h, h2;
	int fd, i, closed = 0;

	if (!F.svc_real)
		return;
	fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	if (svc_open(fd, EDU_SVC, 1, &h)) {
		close(fd);
		return;
	}
	atomic_fetch_add(&F.races, 1);
	memset(r, 0, sizeof(r));
	for (i = 0; i < SVC_RACERS; i++) {
		r[i].fd = fd;
		r[i].handle = h;
		r[i].rng = rnd() | 1;
		pthread_create(&r[i].thread, NULL, svc_race_caller, &r[i]);
	}
	sleep_us(pick(3000));
	switch (pick(4)) {
	case 0: /* close(2): the release waits for the calls in flight */
		close(fd);
		closed = 1;
		break;
	case 1: /* two closers: one wins, one gets ENOENT */
		closer.fd = fd;
		closer.handle = h;
		if (pthread_create(&closer.thread, NULL, svc_race_closer,
				   &closer))
			break;
		svc_close(fd, h);
		pthread_join(closer.thread, NULL);
		break;
	case 2: /* close, reopen: the old handle must not reach the new one */
		svc_close(fd, h);
		if (!svc_open(fd, EDU_SVC, 0, &h2)) {
			sleep_us(pick(2000));
			svc_close(fd, h2);
		}
		break;
	default:
		svc_close(fd, h);
	}
	sleep_us(pick(2000));
	for (i = 0; i < SVC_RACERS; i++)
		r[i].stop = 1;
	for (i = 0; i < SVC_RACERS; i++)
		pthread_join(r[i].thread, NULL);
	if (!closed)
		close(fd);
}

/* A child calling (on its own file, or on the parent's file and handle)
 * is killed mid-call. Syscalls only in the child: the parent has threads. */
static void svc_child(int fd, __u32 h)
{
	struct csx_kh_svc_call c;
	uint64_t rng = (uint64_t)getpid() | 1;
	__u32 h2;

	alarm(5); /* never outlive the run, whatever happens */
	if (fd < 0) {
		fd = open(CSX_KH_DEVICE, O_RDWR);
		if (fd < 0 || svc_open(fd, EDU_SVC, 0, &h))
			_exit(1);
	}
	for (;;) {
		svc_fact(fd, h, &rng);
		svc_call(fd, &c, h, EDU_OP_INFO, NULL, 0, F.big + CALL_MAX,
			 CALL_MAX);
		if (!svc_open(fd, EDU_SVC, 0, &h2) && rng % 2)
			svc_close(fd, h2);
	}
}

static void fuzz_svc_fork_kill(void)
{
	int shared = pick(2), fd = -1;
	__u32 h = 0;
	pid_t pid;

	if (!F.svc_real)
		return;
	if (shared) {
		fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
		if (fd < 0 || svc_open(fd, EDU_SVC, 0, &h)) {
			if (fd >= 0)
				close(fd);
			return;
		}
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		svc_child(fd, h);
	if (pid > 0) {
		sleep_us(pick(50000));
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		atomic_fetch_add(&F.races, 1);
	}
	if (fd >= 0) { /* the parent's channel still works */
		uint64_t rng = rnd() | 1;

		svc_fact(fd, h, &rng);
		close(fd);
	}
}

/* --- kernel -> user calls (SVC_EXPORT/UNEXPORT/SERVE/KICK) ------------------ */

/* Remembered request ids, for late, repeated and foreign replies. */
static __u64 up_ids[8];

static void up_remember(__u64 id)
{
	if (id)
		up_ids[pick(8)] = id;
}

static __u64 up_reply_id(void)
{
	switch (pick(6)) {
	case 0:
		return 0;
	case 1:
		return interesting64();
	case 2:
		return up_ids[pick(8)] + pick(3) - 1;
	default:
		return up_ids[pick(8)];
	}
}

static __u32 up_handle(struct slot *s)
{
	switch (pick(6)) {
	case 0:
		return interesting32();
	case 1:
		return pick(2) ? CSX_KH_EXPORT_MAX + 1 + pick(200) :
				 (uint32_t)pick(0x1000) << 8;
	default:
		return s->up[pick(NUP)];
	}
}

/* Most serving goes to the name the kernel callers use. */
static void up_rand_name(char *name)
{
	if (pick(2)) {
		memset(name, 0, CSX_KH_SVC_NAME_MAX);
		memcpy(name, UP_SVC, sizeof(UP_SVC));
	} else {
		svc_rand_name(name);
	}
}

/* A SERVE whose reply and request buffers are hostile now and then; the
 * request, when one comes, lands only on memory nothing else uses. */
static void up_serve_aim(struct csx_kh_svc_serve *v)
{
	v->reply_id = up_reply_id();
	v->reply_status = pick(3) ? 0 : (__s32)interesting32();
	v->reply_len = pick(3) ? pick(4097) : svc_len();
	v->reply_ptr = pick(4) ? (uintptr_t)F.big : svc_ptr(v->reply_len, 0);
	v->req_ptr =
		pick(6) ? (uintptr_t)(F.big + CALL_MAX) : svc_ptr(CALL_MAX, 1);
	v->req_cap = pick(8) ? CALL_MAX : svc_len();
	switch (pick(24)) {
	case 0: /* the watchdog's signal ends it (slow: rare), or a kick */
		v->timeout_ns = pick(4) ? 0 : -1;
		break;
	case 1:
		v->timeout_ns = svc_timeout();
		if (v->timeout_ns > 20000000 || v->timeout_ns == -1)
			v->timeout_ns = 20000000;
		break;
	case 2: /* reply only */
		v->req_ptr = 0;
		v->req_cap = 0;
		break;
	default:
		v->timeout_ns = pick(2) ? 0 : 1000000 * (int64_t)pick(5);
	}
}

static void fuzz_up_export(void)
{
	struct csx_kh_svc_export e;
	struct slot *s = slot_get();
	void *arg;

	memset(&e, 0, sizeof(e));
	e.size = pick(10) ? sizeof(e) : interesting32();
	e.version = pick(2) ? pick(4) : interesting32();
	e.scope = pick(5) ? 1 + pick(2) : interesting32();
	up_rand_name(e.name);
	arg = pick(10) ? memcpy(F.rw, &e, sizeof(e)) :
			 place_arg((uint8_t *)&e, sizeof(e));
	if (!svc_io(s->fd, CSX_KH_IOC_SVC_EXPORT, arg) && arg == F.rw) {
		memcpy(&e, F.rw, sizeof(e));
		s->up[pick(NUP)] = e.handle;
	}
	if (!pick(3)) {
		struct csx_kh_svc_unexport u = { sizeof(u), up_handle(s) };

		svc_io(s->fd, CSX_KH_IOC_SVC_UNEXPORT, &u);
	}
	if (!pick(8))
		svc_io(s->fd, CSX_KH_IOC_SVC_KICK, NULL);
}

/*
 * SERVE2 with @v's SERVE fields. A shared-buffer call taken is answered
 * like an inline one, hostile or not, after scribbling on its windows
 * through a mapping that is sometimes kept (until SERVE2 says gone, or
 * the file goes), sometimes dropped at once.
 */
static void up_serve2(int fd, const struct csx_kh_svc_serve *v)
{
	struct csx_kh_svc_serve2 w;
	uint8_t *p;
	__u32 k;

	memset(&w, 0, sizeof(w));
	memcpy(&w, v, sizeof(*v));
	w.size = pick(20) ? sizeof(w) : v->size;
	if (svc_io(fd, CSX_KH_IOC_SVC_SERVE2, &w))
		return;
	for (k = 0; k < w.gone_count && k < CSX_KH_SERVE_GONE_MAX; k++)
		sb_gone(fd, w.gone[k]);
	up_remember(w.req_id);
	if (!w.req_id || !w.buf_id)
		return;
	p = mmap(NULL, w.buf_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)CSX_KH_MMAP_SHBUF(w.buf_id));
	if (p == MAP_FAILED)
		return;
	if (w.out_off < w.buf_len && w.out_cap)
		memset(p + w.out_off, (int)rnd(),
		       w.out_cap < w.buf_len - w.out_off ?
			       w.out_cap :
			       w.buf_len - w.out_off);
	if (!sb_keep(fd, p, w.buf_len, w.buf_id))
		munmap(p, w.buf_len);
}

static void fuzz_up_serve(void)
{
	struct csx_kh_svc_serve v, *arg = &v;
	struct slot *s = slot_get();
	int i, n = 1 + pick(8);

	for (i = 0; i < n; i++) {
		memset(&v, 0, sizeof(v));
		v.size = pick(20) ? sizeof(v) : interesting32();
		up_serve_aim(&v);
		switch (pick(12)) {
		case 0: /* the struct itself read-only: a taken call fails */
			if (mprotect(F.svc_ro, PAGE, PROT_READ | PROT_WRITE))
				break;
			arg = memcpy(F.svc_ro + 256, &v, sizeof(v));
			mprotect(F.svc_ro, PAGE, PROT_READ);
			break;
		case 1:
			arg = (void *)place_arg((uint8_t *)&v, sizeof(v));
			break;
		default:
			arg = &v;
		}
		if (pick(2) && arg == &v) {
			up_serve2(s->fd, &v);
		} else if (!svc_io(s->fd, CSX_KH_IOC_SVC_SERVE, arg) &&
			   arg == &v) {
			up_remember(v.req_id);
		}
		atomic_fetch_add(&F.progress, 1);
	}
}

struct up_racer {
	pthread_t thread;
	int fd;
	volatile int stop;
	uint64_t rng;
	uint8_t *req; /* CALL_MAX of its own */
	__u64 last;
};

/* SERVE until stopped, answering sometimes right, sometimes not, with
 * short timeouts; the file may be kicked, unexported or closed. */
static void *up_race_server(void *arg)
{
	struct up_racer *r = arg;
	struct csx_kh_svc_serve v;

	while (!r->stop) {
		memset(&v, 0, sizeof(v));
		v.size = sizeof(v);
		v.reply_id = rnd_next(&r->rng) % 4 ? r->last : 0;
		v.reply_ptr = (uintptr_t)r->req;
		v.reply_len = rnd_next(&r->rng) % 2 ?
				      rnd_next(&r->rng) % 600 :
				      rnd_next(&r->rng) % CALL_MAX;
		v.reply_status = -(int)(rnd_next(&r->rng) % 140);
		v.req_ptr = (uintptr_t)r->req;
		v.req_cap = CALL_MAX;
		v.timeout_ns =
			1000000 * (1 + (int64_t)(rnd_next(&r->rng) % 20));
		r->last = 0;
		if (rnd_next(&r->rng) % 2) {
			struct csx_kh_svc_serve2 w;

			memset(&w, 0, sizeof(w));
			memcpy(&w, &v, sizeof(v));
			w.size = sizeof(w);
			if (svc_io(r->fd, CSX_KH_IOC_SVC_SERVE2, &w) == -EBADF)
				break;
			/* Shared-buffer calls: answered unseen (no map). */
			r->last = w.req_id;
			atomic_fetch_add(&F.progress, 1);
			continue;
		}
		if (svc_io(r->fd, CSX_KH_IOC_SVC_SERVE, &v) == -EBADF)
			break;
		r->last = v.req_id;
		atomic_fetch_add(&F.progress, 1);
	}
	return NULL;
}

/* UP_RACERS threads serving one file while it is kicked, unexported,
 * re-exported, closed, or shared with a child that is killed. */
static void fuzz_up_race(void)
{
	struct up_racer r[UP_RACERS];
	int fd, i, closed = 0;
	__u32 h = 0;
	pid_t pid;

	fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	atomic_fetch_add(&F.races, 1);
	{
		struct csx_kh_svc_export e = { .size = sizeof(e), .scope = 1 };

		memcpy(e.name, UP_SVC, sizeof(UP_SVC));
		if (!svc_io(fd, CSX_KH_IOC_SVC_EXPORT, &e))
			h = e.handle;
	}
	memset(r, 0, sizeof(r));
	for (i = 0; i < UP_RACERS; i++) {
		r[i].fd = fd;
		r[i].rng = rnd() | 1;
		r[i].req = F.up_race_buf[i];
		pthread_create(&r[i].thread, NULL, up_race_server, &r[i]);
	}
	sleep_us(pick(20000));
	switch (pick(5)) {
	case 0:
		close(fd);
		closed = 1;
		break;
	case 1: {
		struct csx_kh_svc_unexport u = { sizeof(u), h };

		svc_io(fd, CSX_KH_IOC_SVC_UNEXPORT, &u);
		break;
	}
	case 2: /* a child serving the same file, killed */
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			struct csx_kh_svc_serve v;

			alarm(5);
			for (;;) {
				memset(&v, 0, sizeof(v));
				v.size = sizeof(v);
				v.req_ptr = (uintptr_t)F.up_race_buf[0];
				v.req_cap = CALL_MAX;
				v.timeout_ns = -1;
				ioctl(fd, CSX_KH_IOC_SVC_SERVE, &v);
			}
		}
		if (pid > 0) {
			sleep_us(pick(20000));
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		break;
	default:
		svc_io(fd, CSX_KH_IOC_SVC_KICK, NULL);
	}
	sleep_us(pick(5000));
	for (i = 0; i < UP_RACERS; i++)
		r[i].stop = 1;
	for (i = 0; i < UP_RACERS; i++)
		pthread_join(r[i].thread, NULL);
	if (!closed)
		close(fd);
}

/* A child exports the kernel callers' name, takes their calls and never
 * answers, or answers garbage, until SIGKILL: its callers must return. */
static void fuzz_up_fork_kill(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct csx_kh_svc_export e = { .size = sizeof(e), .scope = 2 };
		struct csx_kh_svc_serve v;
		uint64_t rng = (uint64_t)getpid() | 1;
		__u64 last = 0;
		int fd = open(CSX_KH_DEVICE, O_RDWR);

		alarm(5);
		memcpy(e.name, UP_SVC, sizeof(UP_SVC));
		if (fd < 0 || ioctl(fd, CSX_KH_IOC_SVC_EXPORT, &e))
			_exit(1);
		for (;;) {
			memset(&v, 0, sizeof(v));
			v.size = sizeof(v);
			v.reply_id = rnd_next(&rng) % 2 ? last : 0;
			v.reply_ptr = (uintptr_t)F.up_race_buf[1];
			v.reply_len = rnd_next(&rng) % 300;
			v.req_ptr = (uintptr_t)F.up_race_buf[0];
			v.req_cap = CALL_MAX;
			v.timeout_ns = -1;
			last = ioctl(fd, CSX_KH_IOC_SVC_SERVE, &v) ? 0 :
								     v.req_id;
		}
	}
	if (pid < 0)
		return;
	sleep_us(pick(100000));
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	atomic_fetch_add(&F.races, 1);
}

/* After everything, with the module's background callers running: an
 * honest server of their name gets calls and answers them. */
static int up_still_works(char *why, size_t n)
{
	struct csx_kh_svc_export e = { .size = sizeof(e), .scope = 1 };
	struct csx_kh_svc_serve v;
	__u64 last = 0, last_len = 0;
	double end = now_s() + 3;
	int fd, rc, served = 0;

	memcpy(e.name, UP_SVC, sizeof(UP_SVC));
	fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return snprintf(why, n, "open: %s", strerrorname_np(errno));
	rc = (int)kio(fd, CSX_KH_IOC_SVC_EXPORT, &e);
	while (!rc && served < 20 && now_s() < end) {
		memset(&v, 0, sizeof(v));
		v.size = sizeof(v);
		v.reply_id = last;
		v.reply_ptr = (uintptr_t)F.big;
		v.reply_len = last_len;
		v.req_ptr = (uintptr_t)F.big;
		v.req_cap = CALL_MAX;
		v.timeout_ns = 100000000;
		rc = (int)kio(fd, CSX_KH_IOC_SVC_SERVE, &v);
		last = v.req_id;
		last_len = v.req_len <= v.out_cap ? v.req_len : v.out_cap;
		served += !!v.req_id;
	}
	close(fd);
	if (rc)
		return snprintf(why, n, "%s: %s", served ? "SERVE" : "EXPORT",
				strerrorname_np(-rc));
	if (served < 20)
		return snprintf(why, n, "only %d calls in 3 s", served);
	return 0;
}

/* --- main -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned int weight; /* out of 100 */
	void (*fn)(void);
} ops[] = {
	{ "random_ioctl", 18, fuzz_random_ioctl },
	{ "real_ioctl", 20, fuzz_real_ioctl },
	{ "mmap", 10, fuzz_mmap },
	{ "map_game", 6, fuzz_map_game },
	{ "race", 6, fuzz_race },
	{ "fork_kill", 2, fuzz_fork_kill },
	{ "close", 2, fuzz_close },
	{ "svc_open", 5, fuzz_svc_open },
	{ "svc_call", 9, fuzz_svc_call },
	{ "svc_race", 2, fuzz_svc_race },
	{ "svc_storm", 1, fuzz_svc_storm },
	{ "svc_fork_kill", 1, fuzz_svc_fork_kill },
	{ "up_export", 3, fuzz_up_export },
	{ "up_serve", 6, fuzz_up_serve },
	{ "up_race", 2, fuzz_up_race },
	{ "up_fork_kill", 1, fuzz_up_fork_kill },
	{ "shbuf", 6, fuzz_shbuf },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* Time spent per kind of operation: a slow kernel path shows up here. */
static double op_time[NOPS], op_max[NOPS];
static unsigned long op_count[NOPS];

static void fuzz_one(void)
{
	unsigned int r = pick(100), i = 0;
	double t;

	while (i < NOPS - 1 && r >= ops[i].weight)
		r -= ops[i++].weight;
	t = now_s();
	ops[i].fn();
	t = now_s() - t;
	op_time[i] += t;
	op_count[i]++;
	if (t > op_max[i])
		op_max[i] = t;
}

static void print_op_times(void)
{
	unsigned int i;

	for (i = 0; i < NOPS; i++)
		printf("# kh_fuzz: %-13s %7lu calls, %6.2f s, max %.0f ms\n",
		       ops[i].name, op_count[i], op_time[i], op_max[i] * 1e3);
}

/* After everything: a plain user of the device must still get through. */
static int still_works(char *why, size_t n)
{
	struct csx_kh_intr_wait w;
	volatile uint32_t *bar = NULL;
	double end = now_s() + 2;
	size_t len = 0;
	int fd, rc;

	if (F.driver[0]) {
		printf("# kh_fuzz: %s is bound to %s: no device check\n",
		       F.addr, F.driver);
		return 0;
	}
	fd = open(CSX_KH_DEVICE, O_RDWR);
	while ((rc = claim_edu(fd)) == -EBUSY && now_s() < end)
		sleep_us(10000);
	if (!rc && !(bar = map_bar0(fd, &len)))
		rc = -ENOMEM;
	if (rc)
		return snprintf(why, n, "claim/map: %s", strerrorname_np(-rc));
	if (bar[EDU_ID / 4] != 0x010000ed)
		return snprintf(why, n, "id register 0x%x", bar[EDU_ID / 4]);
	bar[EDU_IRQ_ACK / 4] = bar[EDU_IRQ_STATUS / 4];
	rc = attach_any(fd, 0);
	bar[EDU_IRQ_RAISE / 4] = 0x1;
	if (!rc)
		rc = wait_irq(fd, 0, 1000, &w);
	if (rc || !(w.events & CSX_KH_EV_INTR))
		return snprintf(why, n, "interrupt: rc %s events 0x%x",
				rc ? strerrorname_np(-rc) : "0", w.events);
	bar[EDU_IRQ_ACK / 4] = 0x1;
	munmap((void *)bar, len);
	close(fd);
	return 0;
}

/* Is there a real service to call? Without, only error paths run. */
static void svc_probe(void)
{
	struct csx_kh_svc_open o = { .size = sizeof(o) };
	int fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	int rc = -EBADF;

	memcpy(o.name, EDU_SVC, sizeof(EDU_SVC));
	if (fd >= 0)
		rc = (int)svc_io(fd, CSX_KH_IOC_SVC_OPEN, &o);
	F.svc_real = !rc;
	if (rc)
		printf("# kh_fuzz: no service %s (%s): SVC error paths only\n",
		       EDU_SVC, strerrorname_np(-rc));
	else
		printf("# kh_fuzz: service %s version %u: real SVC calls\n",
		       EDU_SVC, o.version);
	if (fd >= 0)
		close(fd);
}

/* Kernel callers of UP_SVC: kh_upcall_client.ko loaded with bg=1. */
static void up_probe(void)
{
	char buf[4] = "";
	FILE *f = fopen("/sys/module/kh_upcall_client/parameters/bg", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	F.up_real = buf[0] == 'Y';
	printf("# kh_fuzz: %s\n",
	       F.up_real ?
		       "kernel callers of " UP_SVC " running: real upcalls" :
		       "no kernel callers (kh_upcall_client.ko bg=1): upcall error paths only");
}

/* After everything, when the service exists: 5! = 120 through it (the
 * edu's default request timeout set back first). */
static int svc_still_works(char *why, size_t n)
{
	uint32_t ms = 1000, arg = 5, res = 0;
	struct csx_kh_svc_call c = { 0 };
	int fd, rc;
	__u32 h;

	fd = open(CSX_KH_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return snprintf(why, n, "open: %s", strerrorname_np(errno));
	rc = svc_open(fd, EDU_SVC, 1, &h);
	if (!rc)
		rc = svc_call(fd, &c, h, EDU_OP_TIMEOUT, &ms, sizeof(ms), NULL,
			      0);
	if (!rc && !c.status)
		rc = svc_call(fd, &c, h, EDU_OP_FACT, &arg, sizeof(arg), &res,
			      sizeof(res));
	close(fd);
	if (rc)
		return snprintf(why, n, "ioctl %s", strerrorname_np(-rc));
	if (c.status || c.out_len != sizeof(res) || res != 120)
		return snprintf(why, n,
				"op %u status %d, out_len %llu, 5! = %u", c.op,
				c.status, (unsigned long long)c.out_len, res);
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 20, t0;
	unsigned long long seed;
	pthread_t wd;
	char why[128];
	int i;

	seed = argc > 2 ? strtoull(argv[2], NULL, 0) :
			  (unsigned long long)time(NULL) ^ (unsigned)getpid();
	F.rng = seed | 1;
	printf("# kh_fuzz: seed %llu, %.0f s\n", seed, secs);
	fflush(stdout);
	if (getenv("CSX_KH_FUZZ_DEV")) {
		snprintf(F.addr, sizeof(F.addr), "%.31s",
			 getenv("CSX_KH_FUZZ_DEV"));
		sysfs_driver(F.addr, F.driver, sizeof(F.driver));
	} else if (!find_edu()) {
		return printf("not ok # no edu device\n"), 1;
	}
	if (!parse_addr(F.addr))
		return printf("not ok # bad address %s\n", F.addr), 1;
	if (F.driver[0])
		printf("# kh_fuzz: %s is bound to %s: claims get EBUSY\n",
		       F.addr, F.driver);
	for (i = 0; i < NSLOTS; i++)
		S[i].fd = -1;
	setup_signals();
	setup_pages();
	pthread_mutex_init(&F.lock, NULL);
	F.main_thread = pthread_self();
	svc_probe();
	up_probe();
	pthread_create(&wd, NULL, watchdog_main, NULL);

	t0 = now_s();
	F.end = t0 + secs;
	while (now_s() < F.end) {
		fuzz_one();
		atomic_fetch_add(&F.progress, 1);
	}
	teardown_all();
	F.stop_watchdog = 1;
	pthread_join(wd, NULL);

	print_op_times();
	print_svc_results();
	printf("# kh_fuzz: shared buffers: %lu gone ids told by SERVE2\n",
	       (unsigned long)sb_gone_told);
	if (F.svc_real)
		printf("# kh_fuzz: svc: %lu storms, %lu refused the 65th channel (EMFILE/ENOSPC), %lu did not\n",
		       F.storms, F.storm_refused, F.storm_odd);
	printf("# kh_fuzz: %llu ioctls, %llu mmaps, %llu races in %.1f s, %llu svc calls\n",
	       (unsigned long long)F.ioctls, (unsigned long long)F.mmaps,
	       (unsigned long long)F.races, now_s() - t0,
	       (unsigned long long)F.svc);
	if (still_works(why, sizeof(why))) {
		printf("not ok # device unusable after fuzzing: %s\n", why);
		return 1;
	}
	if (F.svc_real && svc_still_works(why, sizeof(why))) {
		printf("not ok # svc sanity: %s\n", why);
		return 1;
	}
	if (F.up_real && up_still_works(why, sizeof(why))) {
		printf("not ok # upcall sanity: %s\n", why);
		return 1;
	}
	printf("ok\n");
	return 0;
}
