/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: remote services (csx_os_remote_*), i.e. csx_open() of
 * a name no module of this process exported. Today that means services of
 * kernel modules, reached through the kernel helper (/dev/csx, ABI in
 * helpers/include/csx_kh_abi.h: CSX_KH_IOC_SVC_*); services of other
 * processes come with the user helper daemon.
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
 */
#include "csx_user_internal.h"

#include <csx/csx.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../helpers/include/csx_kh_abi.h"
#include "kh/csx_kh.h"

_Static_assert(CSX_SERVICE_NAME_MAX <= CSX_KH_SVC_NAME_MAX,
	       "a service name must fit the helper's");
_Static_assert(CSX_CALL_MAX_PAYLOAD <= CSX_KH_CALL_MAX,
	       "a payload must fit the helper's");

struct csx_os_rchan {
	int fd; /* the process's helper file, open while channels are */
	uint32_t handle;
};

/* The helper's file for service calls, and what we learnt opening it. */
static struct {
	pthread_mutex_t lock;
	int fd;	       /* -1 until opened */
	bool unusable; /* not the helper, or no calls: warned once */
	bool warned;   /* the node could not be opened: warned once */
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

int csx_os_remote_open(const char *name, uint32_t min_version,
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
	rc = malloc(sizeof(*rc));
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
	*out = rc;
	*version = o.version;
	return 0;
}

int csx_os_remote_call(struct csx_os_rchan *rc, uint32_t op, const void *in,
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
		/* The ABI's "forever" is -1. */
		.timeout_ns = timeout_ns == CSX_WAIT_FOREVER ? -1 : timeout_ns,
	};
	uint64_t deadline = 0, now;

	*out_len = 0;
	while (ioctl(rc->fd, CSX_KH_IOC_SVC_CALL, &c) < 0) {
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
			c.timeout_ns = (int64_t)(deadline - now);
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
	}
	if (c.out_len > out_cap) {
		csx_warn("csx_call(): the kernel helper returned %llu bytes "
			 "into a %zu-byte buffer",
			 (unsigned long long)c.out_len, out_cap);
		return -CSX_EIO;
	}
	*out_len = (size_t)c.out_len;
	return c.status;
}

void csx_os_remote_close(struct csx_os_rchan *rc)
{
	struct csx_kh_svc_close c = { .size = sizeof(c), .handle = rc->handle };
	int err;

	err = remote_ioctl(rc->fd, CSX_KH_IOC_SVC_CLOSE, &c);
	if (err && err != EBADF)
		csx_warn("csx_close(): the kernel helper failed to close "
			 "channel %u: %s",
			 (unsigned int)rc->handle, strerror(err));
	free(rc);
}

/* csx_os_fini(): close the helper's file (and with it every channel). */
void csx__user_remote_fini(void)
{
	pthread_mutex_lock(&remote.lock);
	if (remote.fd >= 0)
		close(remote.fd);
	remote.fd = -1;
	remote.unusable = false;
	remote.warned = false;
	pthread_mutex_unlock(&remote.lock);
}
