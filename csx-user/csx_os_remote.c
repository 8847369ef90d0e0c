/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: remote services (csx_os_remote_*), i.e. csx_open() of
 * a name no module of this process exported. They are looked for first
 * among the services of kernel modules, reached through the kernel helper
 * (/dev/csx, ABI in helpers/include/csx_kh_abi.h: CSX_KH_IOC_SVC_*), then
 * among those of other CSX processes, through the user helper daemon
 * (csx_os_uh.c). Kernel first: a kernel service cannot be impersonated by
 * a process that exports the same name. Publishing this process's own
 * services goes to the daemon only: kernel modules reach user services
 * through it.
 *
 * The process keeps one file of the helper for all its service channels,
 * opened (O_CLOEXEC) on the first remote open and closed at csx_user_fini()
 * (csx_os_fini()); closing it closes every channel in the kernel too. The
 * node is $CSX_KH_DEVICE, or /dev/csx. No node means no kernel services:
 * -CSX_ENOENT, quietly (a debug line). A node that is not the helper, or a
 * helper without service calls, gives -CSX_ENOENT and one warning; the
 * verdict is kept until csx_user_fini(). A node we may not open gives
 * -CSX_ENOENT too (there is no service we could reach), warned once.
 *
 * Calls are one ioctl each, made in the caller's thread; any number of
 * threads call at once (the helper allows concurrent calls, even on one
 * handle). EINTR (a signal while the helper waited to start the call) is
 * retried with what is left of the timeout: the helper fails with EINTR
 * only before the handler runs, so retrying never calls twice.
 *
 * An open with a wait (the core re-opening a channel whose exporter died,
 * for its restarted copy) looks in both places until the name appears or
 * the wait is over, in slices of REMOTE_WAIT_SLICE_NS: the kernel helper
 * once per slice (it cannot wait), then the daemon, which holds the
 * request for the rest of the slice (CSX_UH_OPEN_WAIT) and answers as soon
 * as an exporter of the name registers. Without a daemon connection (none
 * yet, or it restarts too), or when the daemon answers early (it picked an
 * exporter that was dying), we pause (20 ms, doubling up to a slice) and
 * try again, so a daemon restarted with the exporter is found too. Kernel
 * channels report no idempotent operations (0): the helper's ABI carries
 * no such mask, so the core re-issues nothing on them.
 */
/* mmap offsets of the helper's ABI are above 2^40: a 64-bit off_t always. */
#define _FILE_OFFSET_BITS 64

#include "csx_user_internal.h"

#include <csx/csx.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "../helpers/include/csx_kh_abi.h"
#include "kh/csx_kh.h"
#include "csx_uh.h"

_Static_assert(CSX_SERVICE_NAME_MAX <= CSX_KH_SVC_NAME_MAX,
	       "a service name must fit the helper's");
_Static_assert(CSX_CALL_MAX_PAYLOAD <= CSX_KH_CALL_MAX,
	       "a payload must fit the helper's");

struct csx_os_rchan {
	struct csx_uh_chan *uh; /* a service of another process, or NULL */
	int fd; /* kernel: the process's helper file, open while channels are */
	uint32_t handle;
	struct csx_os_rchan *next; /* kernel: kgone.chans */
};

/*
 * Death notices for channels to kernel services: a thread blocks in
 * CSX_KH_IOC_SVC_GONE while any such channel is open, and tells the core
 * (csx__remote_peer_gone()) of each channel whose kernel module withdrew
 * its service. @lock also orders that with csx_os_remote_close(): a
 * channel being closed is unlinked first, so no notice follows its close.
 */

static struct {
	pthread_mutex_t lock;
	struct csx_os_rchan *chans;
	pthread_t thread;
	bool running, stop;
} kgone = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The helper's file for service calls, and what we learnt opening it. */
static struct {
	pthread_mutex_t lock;
	int fd;		   /* -1 until opened */
	bool unusable;	   /* not the helper, or no calls: warned once */
	uint32_t features; /* CSX_KH_FEAT_* of the open helper */
	bool warned;	   /* the node could not be opened: warned once */
} remote = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

/* ioctl(2), retried on EINTR; 0 or an errno value. */
static int remote_ioctl(int fd, unsigned long req, void *arg)
{
	while (ioctl(fd, req, arg) < 0) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

/* Open and check the helper. Caller holds remote.lock. */
static int remote_device_open(void)
{
	struct csx_kh_version v = { .size = sizeof(v) };
	const char *path = csx_kh_device_path();
	int fd, err;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENODEV || err == ENXIO) {
			csx_dbg("no kernel services: %s: %s", path,
				strerror(err));
			return -CSX_ENOENT;
		}
		/* Retried (permissions may change), but said once. */
		if (!remote.warned)
			csx_warn("kernel services out of reach: cannot open "
				 "%s: %s",
				 path, strerror(err));
		remote.warned = true;
		return -CSX_ENOENT;
	}
	err = remote_ioctl(fd, CSX_KH_IOC_VERSION, &v);
	if (err || v.abi != CSX_KH_ABI_VERSION ||
	    !(v.features & CSX_KH_FEAT_CALLS)) {
		if (err)
			csx_warn("kernel services out of reach: %s is not the "
				 "CSX kernel helper (version ioctl: %s)",
				 path, strerror(err));
		else if (v.abi != CSX_KH_ABI_VERSION)
			csx_warn("kernel services out of reach: %s speaks "
				 "helper ABI %u, this CSX needs %u",
				 path, v.abi, CSX_KH_ABI_VERSION);
		else
			csx_warn("kernel services out of reach: the helper "
				 "at %s has no service calls (load the "
				 "csx_helper.ko built with this CSX)",
				 path);
		close(fd);
		remote.unusable = true;
		return -CSX_ENOENT;
	}
	remote.fd = fd;
	remote.features = v.features;
	return fd;
}

/* The helper's file: a descriptor, or a negative status. */
static int remote_device(void)
{
	int fd;

	pthread_mutex_lock(&remote.lock);
	if (remote.fd >= 0)
		fd = remote.fd;
	else if (remote.unusable)
		fd = -CSX_ENOENT;
	else
		fd = remote_device_open();
	pthread_mutex_unlock(&remote.lock);
	return fd;
}

static void *kgone_main(void *arg)
{
	struct csx_kh_svc_gone g;
	struct csx_os_rchan *rc;
	int fd = (int)(intptr_t)arg;
	unsigned int i;
	int err;

	pthread_setname_np(pthread_self(), "csx-kgone"); /* cosmetic */
	while (!__atomic_load_n(&kgone.stop, __ATOMIC_ACQUIRE)) {
		memset(&g, 0, sizeof(g));
		g.size = sizeof(g);
		g.timeout_ns = -1; /* kgone_fini() kicks */
		err = remote_ioctl(fd, CSX_KH_IOC_SVC_GONE, &g);
		if (err) {
			csx_warn("kernel services: death notices stop: %s",
				 strerror(err));
			break;
		}
		pthread_mutex_lock(&kgone.lock);
		for (i = 0; i < g.count && i < CSX_KH_GONE_MAX; i++) {
			for (rc = kgone.chans; rc; rc = rc->next) {
				if (rc->handle == g.handles[i]) {
					csx__remote_peer_gone(rc);
					break;
				}
			}
		}
		pthread_mutex_unlock(&kgone.lock);
	}
	return NULL;
}

/* A channel to a kernel service: watched from now on. */
static void kgone_add(struct csx_os_rchan *rc)
{
	pthread_mutex_lock(&kgone.lock);
	rc->next = kgone.chans;
	kgone.chans = rc;
	if (!kgone.running && (remote.features & CSX_KH_FEAT_SVC_GONE)) {
		kgone.stop = false;
		kgone.running = !pthread_create(&kgone.thread, NULL, kgone_main,
						(void *)(intptr_t)rc->fd);
		if (!kgone.running)
			csx_warn("kernel services: no death notices (no "
				 "thread); calls still fail with "
				 "CSX_EPEERDIED");
	}
	pthread_mutex_unlock(&kgone.lock);
}

static void kgone_del(struct csx_os_rchan *rc)
{
	struct csx_os_rchan **pos;

	pthread_mutex_lock(&kgone.lock);
	for (pos = &kgone.chans; *pos; pos = &(*pos)->next) {
		if (*pos == rc) {
			*pos = rc->next;
			break;
		}
	}
	pthread_mutex_unlock(&kgone.lock);
}

/* Before the helper's file closes: the thread goes. */
static void kgone_fini(int fd)
{
	bool running;

	pthread_mutex_lock(&kgone.lock);
	running = kgone.running;
	kgone.running = false;
	__atomic_store_n(&kgone.stop, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&kgone.lock);
	if (!running)
		return;
	/* A kick reaches only a waiter already waiting: kick until gone. */
	for (;;) {
		struct timespec until;

		ioctl(fd, CSX_KH_IOC_SVC_KICK);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 50 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(kgone.thread, NULL, &until) !=
		    ETIMEDOUT)
			break;
	}
}

static int remote_kh_open(const char *name, uint32_t min_version,
			  struct csx_os_rchan **out, uint32_t *version)
{
	struct csx_kh_svc_open o = { .size = sizeof(o) };
	struct csx_os_rchan *rc;
	size_t len = strlen(name);
	int fd, err;

	if (len >= sizeof(o.name))
		return -CSX_ENOENT;
	fd = remote_device();
	if (fd < 0)
		return fd;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -CSX_ENOMEM;
	memcpy(o.name, name, len + 1);
	o.min_version = min_version;
	err = remote_ioctl(fd, CSX_KH_IOC_SVC_OPEN, &o);
	if (err) {
		free(rc);
		switch (err) {
		case ENOENT:
		case EPROTO:
		case ENOMEM:
		case EPERM:
			return -err;
		case EACCES:
			return -CSX_EPERM;
		case EMFILE:
			return -CSX_ENOSPC;
		default:
			csx_warn("csx_open(%s): the kernel helper failed: %s",
				 name, strerror(err));
			return err == EINVAL ? -CSX_ENOENT : -CSX_EIO;
		}
	}
	rc->fd = fd;
	rc->handle = o.handle;
	kgone_add(rc);
	*out = rc;
	*version = o.version;
	return 0;
}

/* One look in the daemon, held up to @wait_ns there. */
static int remote_uh_open(const char *name, uint32_t min_version,
			  int64_t wait_ns, struct csx_os_rchan **out,
			  uint32_t *version, uint64_t *idempotent)
{
	struct csx_os_rchan *rc;
	int ret;

	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -CSX_ENOMEM;
	rc->fd = -1;
	ret = csx__user_uh_open(name, min_version, wait_ns, rc, &rc->uh,
				version, idempotent);
	if (ret) {
		free(rc);
		return ret;
	}
	*out = rc;
	return 0;
}

/* Re-look at the kernel helper, and retry a missing daemon, this often. */
#define REMOTE_WAIT_SLICE_NS (500 * CSX_NSEC_PER_MSEC)
/* First pause after an early "no such service"; doubles up to a slice. */
#define REMOTE_NAP_MIN_NS (20 * CSX_NSEC_PER_MSEC)

int csx_os_remote_open(const char *name, uint32_t min_version, int64_t wait_ns,
		       struct csx_os_rchan **out, uint32_t *version,
		       uint64_t *idempotent)
{
	uint64_t now = csx_os_time_ns(), nap = REMOTE_NAP_MIN_NS;
	uint64_t deadline, left, slice, end;
	int ret;

	deadline = now + (wait_ns > 0 ? (uint64_t)wait_ns : 0);
	for (;;) {
		ret = remote_kh_open(name, min_version, out, version);
		if (ret != -CSX_ENOENT) {
			if (!ret)
				*idempotent = 0;
			return ret;
		}
		now = csx_os_time_ns();
		left = deadline > now ? deadline - now : 0;
		slice = left < REMOTE_WAIT_SLICE_NS ? left :
						      REMOTE_WAIT_SLICE_NS;
		ret = remote_uh_open(name, min_version, (int64_t)slice, out,
				     version, idempotent);
		if (ret != -CSX_ENOENT || !left)
			return ret;
		/*
		 * Answered before the slice was over: no daemon, or an
		 * exporter that was dying as we asked. Pause, growing.
		 */
		end = now + slice;
		now = csx_os_time_ns();
		if (now < end)
			csx_os_thread_sleep(end - now < nap ? end - now : nap);
		nap = nap * 2 < REMOTE_WAIT_SLICE_NS ? nap * 2 :
						       REMOTE_WAIT_SLICE_NS;
	}
}

/*
 * A call ioctl that failed once: retried after EINTR (which comes before
 * the handler runs) with what is left of @timeout_ns; other errors
 * become a status. Out of line: the hot path is one ioctl.
 */
static __attribute__((noinline)) int
remote_kh_call_retry(int fd, unsigned long req, void *arg, __s64 *tmo,
		     uint32_t op, int64_t timeout_ns)
{
	uint64_t deadline = 0, now;

	do {
		int err = errno;

		if (err == EINTR) { /* the call was not made: again */
			if (timeout_ns <= 0 || timeout_ns == CSX_WAIT_FOREVER)
				continue;
			/*
			 * The clock is read only once a signal got in the
			 * way (not on every call): the bound then runs from
			 * the first interruption, which came before the call
			 * started.
			 */
			now = csx_os_time_ns();
			if (!deadline)
				deadline = now + (uint64_t)timeout_ns;
			if (now >= deadline)
				return -CSX_ETIMEDOUT;
			*tmo = (int64_t)(deadline - now);
			continue;
		}
		switch (err) {
		case ENOMEM:
		case ETIMEDOUT:
			return -err;
		case EBADF:
		case ENOENT: /* no such handle: the file went (fini) */
			return -CSX_EPEERDIED;
		default:
			csx_warn("csx_call(): the kernel helper failed op %u: "
				 "%s",
				 (unsigned int)op, strerror(err));
			return -CSX_EIO;
		}
	} while (ioctl(fd, req, arg) < 0);
	return 0;
}

/*
 * A call ioctl (@req on @arg, whose timeout field is *@tmo) until it is
 * made. 0, or a negative status.
 */
static inline int remote_kh_call_ioctl(int fd, unsigned long req, void *arg,
				       __s64 *tmo, uint32_t op,
				       int64_t timeout_ns)
{
	/* The ABI's "forever" is -1. */
	*tmo = timeout_ns == CSX_WAIT_FOREVER ? -1 : timeout_ns;
	if (__builtin_expect(ioctl(fd, req, arg) == 0, 1))
		return 0;
	return remote_kh_call_retry(fd, req, arg, tmo, op, timeout_ns);
}

static __attribute__((noinline, cold)) int remote_kh_too_long(uint64_t len,
							      size_t out_cap)
{
	csx_warn("csx_call(): the kernel helper returned %llu bytes into a "
		 "%zu-byte buffer",
		 (unsigned long long)len, out_cap);
	return -CSX_EIO;
}

static int remote_kh_call(struct csx_os_rchan *rc, uint32_t op, const void *in,
			  size_t in_len, void *out, size_t out_cap,
			  size_t *out_len, int64_t timeout_ns)
{
	struct csx_kh_svc_call c = {
		.size = sizeof(c),
		.handle = rc->handle,
		.op = op,
		.in_ptr = (uintptr_t)in,
		.in_len = in_len,
		.out_ptr = (uintptr_t)out,
		.out_cap = out_cap,
	};
	int ret;

	*out_len = 0;
	ret = remote_kh_call_ioctl(rc->fd, CSX_KH_IOC_SVC_CALL, &c,
				   &c.timeout_ns, op, timeout_ns);
	if (ret)
		return ret;
	if (__builtin_expect(c.out_len > out_cap, 0))
		return remote_kh_too_long(c.out_len, out_cap);
	*out_len = (size_t)c.out_len;
	return c.status;
}

int csx_os_remote_call(struct csx_os_rchan *rc, uint32_t op, const void *in,
		       size_t in_len, void *out, size_t out_cap,
		       size_t *out_len, int64_t timeout_ns)
{
	if (rc->uh)
		return csx__user_uh_call(rc->uh, op, in, in_len, out, out_cap,
					 out_len, timeout_ns);
	return remote_kh_call(rc, op, in, in_len, out, out_cap, out_len,
			      timeout_ns);
}

void csx_os_remote_close(struct csx_os_rchan *rc)
{
	struct csx_kh_svc_close c = { .size = sizeof(c), .handle = rc->handle };
	int err;

	if (rc->uh) {
		csx__user_uh_close(rc->uh);
		free(rc);
		return;
	}

	kgone_del(rc);
	err = remote_ioctl(rc->fd, CSX_KH_IOC_SVC_CLOSE, &c);
	if (err && err != EBADF)
		csx_warn("csx_close(): the kernel helper failed to close "
			 "channel %u: %s",
			 (unsigned int)rc->handle, strerror(err));
	free(rc);
}

/*
 * Shared buffers (csx_shbuf_alloc()). The memory depends on who maps it
 * besides us: plain anonymous memory for an in-process service; memory of
 * the kernel helper (SHBUF_ALLOC, mapped from the process's helper file)
 * for a kernel service; a sealed memfd for a service of another process
 * (csx_os_uh.c gives it to each channel that uses it). A buffer remembers
 * only its kind, never a channel: it outlives them, and any channel to the
 * same kind of domain takes it.
 */
enum remote_sb_kind {
	REMOTE_SB_LOCAL,
	REMOTE_SB_KERNEL,
	REMOTE_SB_UH,
};

struct csx_os_shbuf {
	enum remote_sb_kind kind;
	void *addr;
	size_t size;
	int fd;			 /* kernel: the helper's file */
	uint32_t kh_id;		 /* kernel: the buffer in that file */
	struct csx_uh_shbuf *uh; /* another process's */
};

static const char *remote_sb_kind_name(enum remote_sb_kind kind)
{
	switch (kind) {
	case REMOTE_SB_LOCAL:
		return "this process";
	case REMOTE_SB_KERNEL:
		return "a kernel service";
	default:
		return "another process";
	}
}

static int remote_kh_shbuf_alloc(int fd, struct csx_os_shbuf *sb)
{
	struct csx_kh_shbuf m = { .size = sizeof(m), .length = sb->size };
	struct csx_kh_shbuf f = { .size = sizeof(f) };
	int err;

	if (!(remote.features & CSX_KH_FEAT_SHBUF)) {
		csx_warn(
			"csx_shbuf_alloc(): the kernel helper has no shared "
			"buffers (load the csx_helper.ko built with this CSX)");
		return -CSX_EOPNOTSUPP;
	}
	err = remote_ioctl(fd, CSX_KH_IOC_SHBUF_ALLOC, &m);
	if (err) {
		if (err == EBADF)
			return -CSX_EPEERDIED;
		if (err != ENOSPC && err != ENOMEM)
			csx_warn("csx_shbuf_alloc(): the kernel helper failed "
				 "%zu bytes: %s",
				 sb->size, strerror(err));
		return -CSX_ENOMEM;
	}
	sb->fd = fd;
	sb->kh_id = m.id;
	sb->addr = MAP_FAILED;
	if (m.length >= sb->size)
		sb->addr = mmap(NULL, sb->size, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, (off_t)m.mmap_offset);
	if (sb->addr != MAP_FAILED)
		return 0;
	csx_warn("csx_shbuf_alloc(): cannot map the kernel helper's buffer "
		 "%u (%zu bytes): %s",
		 (unsigned int)m.id, sb->size,
		 m.length < sb->size ? "shorter" : strerror(errno));
	f.id = m.id;
	remote_ioctl(fd, CSX_KH_IOC_SHBUF_FREE, &f);
	return -CSX_ENOMEM;
}

int csx_os_shbuf_alloc(struct csx_os_rchan *rc, size_t size,
		       struct csx_os_shbuf **out, void **addr)
{
	struct csx_os_shbuf *sb;
	int ret = 0;

	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return -CSX_ENOMEM;
	sb->size = size;
	sb->fd = -1;
	if (!rc) {
		sb->kind = REMOTE_SB_LOCAL;
		sb->addr = mmap(NULL, size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (sb->addr == MAP_FAILED)
			ret = -CSX_ENOMEM;
	} else if (rc->uh) {
		sb->kind = REMOTE_SB_UH;
		ret = csx__user_uh_shbuf_new(size, &sb->uh, &sb->addr);
	} else {
		sb->kind = REMOTE_SB_KERNEL;
		ret = remote_kh_shbuf_alloc(rc->fd, sb);
	}
	if (ret) {
		free(sb);
		return ret;
	}
	*out = sb;
	*addr = sb->addr;
	return 0;
}

void csx_os_shbuf_free(struct csx_os_shbuf *sb)
{
	struct csx_kh_shbuf f = { .size = sizeof(f) };
	int err;

	switch (sb->kind) {
	case REMOTE_SB_LOCAL:
		munmap(sb->addr, sb->size);
		break;
	case REMOTE_SB_UH:
		csx__user_uh_shbuf_free(sb->uh);
		break;
	case REMOTE_SB_KERNEL:
		/* The helper keeps it while a handler still uses it. */
		munmap(sb->addr, sb->size);
		f.id = sb->kh_id;
		err = remote_ioctl(sb->fd, CSX_KH_IOC_SHBUF_FREE, &f);
		if (err && err != EBADF)
			csx_warn("csx_shbuf_free(): the kernel helper failed "
				 "to free buffer %u: %s",
				 (unsigned int)sb->kh_id, strerror(err));
		break;
	}
	free(sb);
}

static int remote_kh_call_shbuf(struct csx_os_rchan *rc, uint32_t op,
				struct csx_os_shbuf *sb, size_t in_off,
				size_t in_len, size_t out_off, size_t out_cap,
				size_t *out_len, int64_t timeout_ns)
{
	struct csx_kh_svc_call_shbuf c = {
		.size = sizeof(c),
		.handle = rc->handle,
		.op = op,
		.buf_id = sb->kh_id,
		.in_off = in_off,
		.in_len = in_len,
		.out_off = out_off,
		.out_cap = out_cap,
	};
	int ret;

	ret = remote_kh_call_ioctl(rc->fd, CSX_KH_IOC_SVC_CALL_SHBUF, &c,
				   &c.timeout_ns, op, timeout_ns);
	if (ret)
		return ret;
	if (c.out_len > out_cap) {
		csx_warn("csx_call_shbuf(): the kernel helper returned %llu "
			 "bytes into a %zu-byte window",
			 (unsigned long long)c.out_len, out_cap);
		return -CSX_EIO;
	}
	*out_len = (size_t)c.out_len;
	return c.status;
}

int csx_os_remote_call_shbuf(struct csx_os_rchan *rc, uint32_t op,
			     struct csx_os_shbuf *sb, size_t in_off,
			     size_t in_len, size_t out_off, size_t out_cap,
			     size_t *out_len, int64_t timeout_ns)
{
	enum remote_sb_kind want = rc->uh ? REMOTE_SB_UH : REMOTE_SB_KERNEL;

	*out_len = 0;
	if (sb->kind != want) {
		csx_err("csx_call_shbuf(): a buffer made for %s, used on a "
			"channel to %s",
			remote_sb_kind_name(sb->kind),
			remote_sb_kind_name(want));
		return -CSX_EINVAL;
	}
	if (rc->uh)
		return csx__user_uh_call_shbuf(rc->uh, op, sb->uh, in_off,
					       in_len, out_off, out_cap,
					       out_len, timeout_ns);
	return remote_kh_call_shbuf(rc, op, sb, in_off, in_len, out_off,
				    out_cap, out_len, timeout_ns);
}

/*
 * Services of this process for kernel modules (kernel -> user calls): each
 * published service is also exported through the helper's file
 * (CSX_KH_IOC_SVC_EXPORT), where kernel modules' csx_open() finds it, and
 * KSERVE_THREADS threads answer their calls: each blocks in
 * CSX_KH_IOC_SVC_SERVE, which hands it one call and, on its next entry,
 * takes the reply back (one system call per upcall). A served call runs
 * through a core channel opened for the kernel (csx__service_open_for():
 * the kernel is privileged), in the serving thread, where the handler may
 * sleep.
 *
 * Only privileged processes (CAP_SYS_RAWIO or the helper's group) may
 * answer kernel modules: for the others EXPORT fails with EPERM and their
 * services stay out of the kernel's reach, said once at debug level.
 *
 * kexp.lock guards the export table. A served call counts itself in its
 * export's @inflight; withdrawing takes the export out of the table, then
 * waits for that count to drop to 0 before closing the channel the calls
 * use. A handler may export or withdraw other services meanwhile.
 *
 * With a helper that has shared buffers (CSX_KH_FEAT_SHBUF) the threads
 * serve with CSX_KH_IOC_SVC_SERVE2, which also brings calls whose payloads
 * lie in a kernel module's shared buffer: the buffer is mapped from the
 * helper's file the first time (kmaps: one mapping per buffer for the
 * process, whichever thread serves), the handler runs in place through
 * csx__call_mapped(), and only the length is answered. SERVE2 also
 * reports the buffers the modules freed: unmapped once no handler uses
 * them.
 */
#define KSERVE_THREADS 4
#define KEXPORT_MAX CSX_KH_EXPORT_MAX

struct kexport {
	uint32_t handle;       /* the helper's; 0: free slot */
	unsigned int inflight; /* calls running on @chan */
	char name[CSX_SERVICE_NAME_MAX];
	struct csx_chan *chan;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* an export's last call in progress ended */
	struct kexport tab[KEXPORT_MAX];
	pthread_mutex_t start_lock; /* serving threads: start and stop */
	pthread_t tid[KSERVE_THREADS];
	unsigned int nthreads;
	int fd; /* the helper's file the threads serve, or -1 */
	bool stop;
	bool refused; /* EXPORT said EPERM: said once */
} kexp = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.start_lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
};

/* A kernel module's shared buffer, mapped here. Under kmaps.lock. */
struct kmap {
	struct kmap *next;
	uint32_t id;
	unsigned int users; /* handlers running on it */
	bool gone;	    /* freed by the module: unmap after the last user */
	void *addr;
	size_t len;
};

/* Ids reported gone before any thread mapped them, remembered this long. */
#define KMAP_GONE_MEMO 64

static struct {
	pthread_mutex_t lock;
	struct kmap *maps;
	uint32_t gone[KMAP_GONE_MEMO]; /* ring */
	unsigned int gone_next;
} kmaps = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void kmap_unlink_locked(struct kmap *m)
{
	struct kmap **pos;

	for (pos = &kmaps.maps; *pos != m; pos = &(*pos)->next)
		;
	*pos = m->next;
	munmap(m->addr, m->len);
	free(m);
}

static bool kmap_gone_before_locked(uint32_t id)
{
	unsigned int i;

	for (i = 0; i < KMAP_GONE_MEMO; i++) {
		if (kmaps.gone[i] == id)
			return true;
	}
	return false;
}

/* A use of buffer @id (@len bytes), mapped on first use; NULL: failed. */
static struct kmap *kmap_get(int fd, uint32_t id, uint64_t len)
{
	struct kmap *m;
	void *addr;

	pthread_mutex_lock(&kmaps.lock);
	for (m = kmaps.maps; m && m->id != id; m = m->next)
		;
	if (m) {
		m->users++;
		goto out;
	}
	m = calloc(1, sizeof(*m));
	addr = MAP_FAILED;
	if (m && len && len <= CSX_KH_SHBUF_MAX)
		addr = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd, (off_t)CSX_KH_MMAP_SHBUF(id));
	if (addr == MAP_FAILED) {
		csx_warn("kernel calls: cannot map shared buffer %u (%llu "
			 "bytes): %s",
			 (unsigned int)id, (unsigned long long)len,
			 m ? strerror(errno) : "out of memory");
		free(m);
		m = NULL;
		goto out;
	}
	m->id = id;
	m->users = 1;
	m->addr = addr;
	m->len = (size_t)len;
	/* Freed already (the call gave up): mapped for this call only. */
	m->gone = kmap_gone_before_locked(id);
	m->next = kmaps.maps;
	kmaps.maps = m;
out:
	pthread_mutex_unlock(&kmaps.lock);
	return m;
}

static void kmap_put(struct kmap *m)
{
	pthread_mutex_lock(&kmaps.lock);
	if (!--m->users && m->gone)
		kmap_unlink_locked(m);
	pthread_mutex_unlock(&kmaps.lock);
}

/* SERVE2's @gone list: the modules freed these buffers. */
static void kmap_gone(const struct csx_kh_svc_serve2 *s)
{
	unsigned int i, n = s->gone_count;
	struct kmap *m;

	if (n > CSX_KH_SERVE_GONE_MAX)
		n = CSX_KH_SERVE_GONE_MAX;
	pthread_mutex_lock(&kmaps.lock);
	for (i = 0; i < n; i++) {
		for (m = kmaps.maps; m && m->id != s->gone[i]; m = m->next)
			;
		if (!m) {
			kmaps.gone[kmaps.gone_next++ % KMAP_GONE_MEMO] =
				s->gone[i];
		} else if (m->users) {
			m->gone = true;
		} else {
			kmap_unlink_locked(m);
		}
	}
	pthread_mutex_unlock(&kmaps.lock);
}

/* The serving threads are gone: unmap everything. */
static void kmap_fini(void)
{
	pthread_mutex_lock(&kmaps.lock);
	while (kmaps.maps)
		kmap_unlink_locked(kmaps.maps);
	memset(kmaps.gone, 0, sizeof(kmaps.gone));
	kmaps.gone_next = 0;
	pthread_mutex_unlock(&kmaps.lock);
}

static bool kwindow_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* An upcall on a module's shared buffer: run in place. */
static int kserve_shbuf(int fd, struct csx_chan *chan,
			const struct csx_kh_svc_serve2 *s, size_t *len)
{
	unsigned char *base;
	struct kmap *m;
	int ret;

	m = kmap_get(fd, s->buf_id, s->buf_len);
	if (!m)
		return -CSX_ENOMEM;
	if (!kwindow_ok(s->in_off, s->req_len, m->len) ||
	    !kwindow_ok(s->out_off, s->out_cap, m->len)) {
		csx_warn(
			"kernel calls: windows outside shared buffer %u",
			(unsigned int)s->buf_id); /* never from a sane helper */
		ret = -CSX_EINVAL;
	} else {
		base = m->addr;
		ret = csx__call_mapped(chan, s->op, base + s->in_off,
				       (size_t)s->req_len, base + s->out_off,
				       (size_t)s->out_cap, len);
	}
	kmap_put(m);
	return ret;
}

/* Answer one upcall: find the export, run the call, fill the reply. */
static void kserve_one(int fd, struct csx_kh_svc_serve2 *s, void *req,
		       void *resp)
{
	struct kexport *x = NULL;
	struct csx_chan *chan = NULL;
	size_t len = 0;
	unsigned int i;
	int ret;

	pthread_mutex_lock(&kexp.lock);
	for (i = 0; i < KEXPORT_MAX; i++) {
		if (kexp.tab[i].handle && kexp.tab[i].handle == s->handle) {
			x = &kexp.tab[i];
			x->inflight++;
			chan = x->chan;
			break;
		}
	}
	pthread_mutex_unlock(&kexp.lock);
	if (!chan)
		ret = -CSX_EPEERDIED; /* withdrawn while the call was queued */
	else if (s->buf_id)
		ret = kserve_shbuf(fd, chan, s, &len);
	else if (s->req_len > CSX_CALL_MAX_PAYLOAD ||
		 s->out_cap > CSX_CALL_MAX_PAYLOAD)
		ret = -CSX_EMSGSIZE; /* never from a sane helper */
	else
		ret = csx__call_for(chan, s->op, req, (size_t)s->req_len, resp,
				    (size_t)s->out_cap, &len, CSX_WAIT_FOREVER);
	if (x) {
		pthread_mutex_lock(&kexp.lock);
		if (!--x->inflight)
			pthread_cond_broadcast(&kexp.idle);
		pthread_mutex_unlock(&kexp.lock);
	}
	s->reply_status = ret;
	s->reply_ptr = s->buf_id ? 0 : (uintptr_t)resp; /* in place */
	s->reply_len = ret ? 0 : len;
}

/*
 * SERVE2, or SERVE for a helper without shared buffers (the fields up to
 * @out_cap are the same; no shared buffer, nothing gone). -1 with errno.
 */
static int kserve_ioctl(int fd, struct csx_kh_svc_serve2 *s, bool v2)
{
	struct csx_kh_svc_serve o = { .size = sizeof(o) };
	int ret;

	if (v2)
		return ioctl(fd, CSX_KH_IOC_SVC_SERVE2, s);
	o.reply_status = s->reply_status;
	o.reply_id = s->reply_id;
	o.reply_ptr = s->reply_ptr;
	o.reply_len = s->reply_len;
	o.req_ptr = s->req_ptr;
	o.req_cap = s->req_cap;
	o.timeout_ns = s->timeout_ns;
	ret = ioctl(fd, CSX_KH_IOC_SVC_SERVE, &o);
	s->req_id = o.req_id;
	s->handle = o.handle;
	s->op = o.op;
	s->req_len = o.req_len;
	s->out_cap = o.out_cap;
	s->buf_id = 0;
	s->gone_count = 0;
	return ret;
}

static void *kserve_main(void *arg)
{
	struct csx_kh_svc_serve2 s = { .size = sizeof(s) };
	int fd = (int)(intptr_t)arg;
	void *req, *resp;
	bool v2;

	pthread_mutex_lock(&remote.lock);
	v2 = remote.features & CSX_KH_FEAT_SHBUF;
	pthread_mutex_unlock(&remote.lock);

	/* Untouched pages cost nothing: most calls use a few bytes. */
	req = malloc(CSX_KH_CALL_MAX);
	resp = malloc(CSX_KH_CALL_MAX);
	if (!req || !resp) {
		csx_err("kernel calls: out of memory for a serving thread");
		goto out;
	}
	s.req_ptr = (uintptr_t)req;
	s.req_cap = CSX_KH_CALL_MAX;
	s.timeout_ns = -1;
	while (!__atomic_load_n(&kexp.stop, __ATOMIC_ACQUIRE)) {
		if (kserve_ioctl(fd, &s, v2) < 0) {
			if (errno == EINTR) {
				s.reply_id =
					0; /* delivered before the signal */
				continue;
			}
			csx_err("kernel calls: SVC_SERVE failed: %s; this "
				"process no longer answers kernel modules",
				strerror(errno));
			break;
		}
		if (s.gone_count)
			kmap_gone(&s);
		if (!s.req_id) { /* a kick: fini */
			s.reply_id = 0;
			continue;
		}
		kserve_one(fd, &s, req, resp);
		s.reply_id = s.req_id;
	}
	if (s.reply_id) {
		/* The last answer, without taking a new call. */
		s.req_ptr = 0;
		s.req_cap = 0;
		s.timeout_ns = 0;
		while (kserve_ioctl(fd, &s, v2) < 0 && errno == EINTR)
			;
	}
out:
	free(req);
	free(resp);
	return NULL;
}

/* Start the serving threads on @fd once. kexp.start_lock held. */
static int kserve_start(int fd)
{
	char name[16];
	int ret;

	while (kexp.nthreads < KSERVE_THREADS) {
		snprintf(name, sizeof(name), "csx-kserve%u", kexp.nthreads);
		ret = csx__user_thread_spawn(&kexp.tid[kexp.nthreads], name, 0,
					     -1, kserve_main,
					     (void *)(intptr_t)fd);
		if (ret)
			return kexp.nthreads ? 0 : ret;
		kexp.nthreads++;
	}
	kexp.fd = fd;
	return 0;
}

/*
 * Export to kernel modules, with the idempotent ops (SVC_EXPORT_OPTS) so a
 * kernel caller re-issues its pending calls to our successor; a helper
 * that does not know SVC_EXPORT_OPTS (ENOTTY) gets the plain SVC_EXPORT.
 */
static int kexport_ioctl(int fd, const char *name, uint32_t version,
			 enum csx_service_scope scope, uint64_t idempotent,
			 uint32_t *handle)
{
	struct csx_kh_svc_export_opts o = { .size = sizeof(o) };
	struct csx_kh_svc_export e = { .size = sizeof(e) };
	int err;

	o.version = version;
	o.scope = scope == CSX_SERVICE_PUBLIC ? 2 : 1;
	o.idempotent = idempotent;
	snprintf(o.name, sizeof(o.name), "%s", name);
	err = remote_ioctl(fd, CSX_KH_IOC_SVC_EXPORT_OPTS, &o);
	if (!err) {
		*handle = o.handle;
		return 0;
	}
	if (err != ENOTTY)
		return err;
	e.version = o.version;
	e.scope = o.scope;
	memcpy(e.name, o.name, sizeof(e.name));
	err = remote_ioctl(fd, CSX_KH_IOC_SVC_EXPORT, &e);
	if (!err)
		*handle = e.handle;
	return err;
}

static void kexport_add(const char *name, uint32_t version,
			enum csx_service_scope scope, uint64_t idempotent)
{
	uint32_t handle = 0;
	struct csx_chan *chan;
	unsigned int i;
	int fd, ret, err;

	fd = remote_device();
	if (fd < 0)
		return; /* no helper: said by remote_device() */
	pthread_mutex_lock(&kexp.start_lock);
	if (kexp.stop)
		goto out;
	err = kexport_ioctl(fd, name, version, scope, idempotent, &handle);
	if (err) {
		if (err == EPERM || err == EACCES) {
			if (!kexp.refused)
				csx_dbg("kernel modules cannot call %s: "
					"exporting to them needs CAP_SYS_RAWIO "
					"or the helper's group",
					name);
			kexp.refused = true;
		} else if (err != ENOTTY) { /* ENOTTY: a helper without */
			csx_warn("kernel modules cannot call %s: %s", name,
				 strerror(err));
		}
		goto out;
	}
	ret = csx__service_open_for(name, 0, true, &chan);
	if (!ret && kserve_start(fd))
		ret = -CSX_ENOMEM;
	if (ret) {
		struct csx_kh_svc_unexport u = { .size = sizeof(u),
						 .handle = handle };

		if (!ret)
			csx_close(chan);
		remote_ioctl(fd, CSX_KH_IOC_SVC_UNEXPORT, &u);
		csx_warn("kernel modules cannot call %s: %s", name,
			 csx_strerror(ret));
		goto out;
	}
	pthread_mutex_lock(&kexp.lock);
	for (i = 0; i < KEXPORT_MAX && (kexp.tab[i].handle || kexp.tab[i].chan);
	     i++)
		;
	if (i < KEXPORT_MAX) { /* the helper allows as many */
		kexp.tab[i].handle = handle;
		snprintf(kexp.tab[i].name, sizeof(kexp.tab[i].name), "%s",
			 name);
		kexp.tab[i].chan = chan;
		chan = NULL;
	}
	pthread_mutex_unlock(&kexp.lock);
	if (chan) {
		struct csx_kh_svc_unexport u = { .size = sizeof(u),
						 .handle = handle };

		remote_ioctl(fd, CSX_KH_IOC_SVC_UNEXPORT, &u);
		csx_close(chan);
		csx_warn("kernel modules cannot call %s: too many exports",
			 name);
	} else {
		csx_dbg("%s: callable by kernel modules", name);
	}
out:
	pthread_mutex_unlock(&kexp.start_lock);
}

static void kexport_remove(const char *name)
{
	struct csx_kh_svc_unexport u = { .size = sizeof(u) };
	struct csx_chan *chan;
	unsigned int i;
	int err;

	pthread_mutex_lock(&kexp.lock);
	for (i = 0; i < KEXPORT_MAX; i++) {
		if (kexp.tab[i].handle && !strcmp(kexp.tab[i].name, name))
			break;
	}
	if (i == KEXPORT_MAX) {
		pthread_mutex_unlock(&kexp.lock);
		return;
	}
	/* New calls no longer find it; wait for those in progress. */
	u.handle = kexp.tab[i].handle;
	kexp.tab[i].handle = 0;
	while (kexp.tab[i].inflight)
		pthread_cond_wait(&kexp.idle, &kexp.lock);
	chan = kexp.tab[i].chan;
	kexp.tab[i].chan = NULL; /* the slot is free again */
	pthread_mutex_unlock(&kexp.lock);
	err = remote_ioctl(kexp.fd, CSX_KH_IOC_SVC_UNEXPORT, &u);
	if (err)
		csx_dbg("%s: the helper's unexport failed: %s", name,
			strerror(err));
	csx_close(chan);
}

/* csx_os_fini(): every module is gone; stop the serving threads. */
static void kexport_fini(void)
{
	struct timespec ts;
	unsigned int i;

	pthread_mutex_lock(&kexp.start_lock);
	__atomic_store_n(&kexp.stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < kexp.nthreads; i++) {
		/* A kick only reaches threads inside SERVE: repeat it. */
		for (;;) {
			ioctl(kexp.fd, CSX_KH_IOC_SVC_KICK);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (!pthread_timedjoin_np(kexp.tid[i], NULL, &ts))
				break;
		}
	}
	kexp.nthreads = 0;
	kexp.fd = -1;
	pthread_mutex_unlock(&kexp.start_lock);
	kmap_fini();
	/*
	 * Exports left by modules that never withdrew their service: the
	 * core has already reported the service as leaked and is down, so
	 * its channel is dropped, not closed. Closing the helper's file
	 * withdraws the export from the kernel.
	 */
	for (i = 0; i < KEXPORT_MAX; i++) {
		if (kexp.tab[i].chan)
			csx_warn("%s: still exported to kernel modules at "
				 "exit",
				 kexp.tab[i].name);
		kexp.tab[i].chan = NULL;
		kexp.tab[i].handle = 0;
	}
	kexp.stop = false;
	kexp.refused = false;
}

int csx_os_service_publish(const char *name, uint32_t version,
			   enum csx_service_scope scope, uint64_t idempotent)
{
	int ret;

	ret = csx__user_uh_publish(name, version, scope, idempotent);
	if (ret)
		return ret;
	kexport_add(name, version, scope, idempotent);
	return 0;
}

void csx_os_service_withdraw(const char *name)
{
	kexport_remove(name);
	csx__user_uh_withdraw(name);
}

/*
 * csx_os_fini(): close the helper's file (and with it every channel), and
 * leave the user helper daemon.
 */
void csx__user_remote_fini(void)
{
	kexport_fini();
	csx__user_uh_fini();

	pthread_mutex_lock(&remote.lock);
	kgone_fini(remote.fd);
	if (remote.fd >= 0)
		close(remote.fd);
	remote.fd = -1;
	remote.features = 0;
	remote.unusable = false;
	remote.warned = false;
	pthread_mutex_unlock(&remote.lock);
}
