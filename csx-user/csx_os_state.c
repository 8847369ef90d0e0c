/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * User-mode back end: saved-state regions (csx_os_state_*), the raw memory
 * under csx_state.h (the core keeps its commit slots and CRCs in it).
 *
 * A region is a memfd sealed against shrinking and growing, mapped shared.
 * The user helper daemon holds it for this process's key (csx_os_uh.c
 * talks to it; the key is the daemon's: container and instance, or uid and
 * process name), so the next instance of the process gets the same memory
 * back, whatever the last one was doing when it died: there is nothing to
 * flush. Every region open, or closed with keep, stays held by
 * csx_os_uh.c, which gives it again to a restarted daemon; a kept one is
 * also what the next open of its name in this process gets, daemon or not.
 *
 * Without a daemon the region is a memfd of this process only, said once
 * per open (it is handed to a daemon that comes later all the same).
 *
 * What the daemon passes back is not trusted: a descriptor that is not a
 * regular file of a sane size, sealed so it cannot shrink under our
 * mapping (which would turn accesses into SIGBUS), or that cannot be
 * mapped writable, is logged and replaced by a new region.
 */
#include "csx_user_internal.h"
#include "csx_uh.h"

#include <csx/csx.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../helpers/include/csx_uh_proto.h"

_Static_assert(CSX_STATE_MAX_SIZE <= CSX_UH_STATE_MAX,
	       "a saved state must fit the daemon's regions");

struct csx_os_state {
	struct csx_uh_region *rg; /* holds the descriptor */
	void *mem;
	size_t size;
};

static int state_errno(const char *name, const char *what, int err)
{
	if (err == ENOMEM || err == EMFILE || err == ENFILE)
		return -CSX_ENOMEM;
	csx_warn("saved state %s: %s: %s", name, what, strerror(err));
	return -CSX_ENOMEM; /* the contract's only "no resources" */
}

/* A new zero-filled region: 0 with *@fd, or a negative status. */
static int state_create(const char *name, size_t size, int *fd)
{
	char label[sizeof("csx-state:") + CSX_UH_NAME_MAX];
	int err;

	snprintf(label, sizeof(label), "csx-state:%s", name);
	*fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return state_errno(name, "memfd_create", errno);
	if (ftruncate(*fd, (off_t)size) ||
	    fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)) {
		err = errno;
		close(*fd);
		return state_errno(name, "cannot size and seal a region", err);
	}
	return 0;
}

/*
 * The daemon's descriptor: its size, or 0 (logged) when it is no region
 * we can safely map.
 */
static size_t state_check(const char *name, int fd)
{
	const char *why = NULL;
	struct stat st;
	int seals;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size <= 0 || (uint64_t)st.st_size > CSX_UH_STATE_MAX)
		why = "a region of an impossible size";
	else if ((seals = fcntl(fd, F_GET_SEALS)) < 0 ||
		 (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) !=
			 (F_SEAL_SHRINK | F_SEAL_GROW))
		why = "a region that is not sealed against resizing";
	if (!why)
		return (size_t)st.st_size;
	csx_warn("saved state %s: csx-uhelperd passed %s; starting afresh",
		 name, why);
	return 0;
}

static void *state_map(int fd, size_t size)
{
	void *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return mem == MAP_FAILED ? NULL : mem;
}

/*
 * The daemon's region of @name, checked and mapped: 0 with @st filled and
 * *@fd, or -CSX_ENOENT (none, or none usable: make a new one), or
 * CSX_UH_NOTCONN, or another negative status.
 */
static int state_restore(const char *name, size_t size, struct csx_os_state *st,
			 int *fd, uint64_t *from)
{
	int ret;

	ret = csx__user_uh_state_get(name, size, fd, from);
	if (ret)
		return ret;
	st->size = state_check(name, *fd);
	if (st->size) {
		st->mem = state_map(*fd, st->size);
		if (st->mem)
			return 0;
		csx_warn("saved state %s: cannot map the region csx-uhelperd "
			 "passed: %s; starting afresh",
			 name, strerror(errno));
	}
	close(*fd);
	return -CSX_ENOENT;
}

/* A region this process kept (closed with keep), mapped again: 0 or < 0. */
static int state_retake(const char *name, struct csx_os_state *st)
{
	uint64_t size;
	int fd;

	if (csx__user_uh_state_take(name, &st->rg, &fd, &size))
		return -CSX_ENOENT;
	st->size = (size_t)size;
	st->mem = state_map(fd, st->size);
	if (st->mem)
		return 0;
	csx__user_uh_state_release(st->rg, false);
	return state_errno(name, "mmap", errno);
}

/* The "no daemon" line was logged. */
static bool state_said_local;

int csx_os_state_get(const char *name, size_t size, struct csx_os_state **out,
		     void **mem, size_t *mem_size, bool *existed)
{
	struct csx_os_state *st;
	uint64_t from = 0;
	int fd, ret;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -CSX_ENOMEM;
	ret = state_retake(name, st);
	if (ret != -CSX_ENOENT)
		goto out_kept;
	ret = state_restore(name, size, st, &fd, &from);
	*existed = !ret;
	if (ret == CSX_UH_NOTCONN) {
		/* Once per process: a driver opens one region per device. */
		if (!__atomic_exchange_n(&state_said_local, true,
					 __ATOMIC_RELAXED))
			csx_info("saved state %s: no user helper daemon: "
				 "regions will not outlive this process",
				 name);
	} else if (ret == -CSX_EIO) {
		csx_warn("saved state %s: no usable answer from "
			 "csx-uhelperd; starting afresh",
			 name);
	} else if (ret && ret != -CSX_ENOENT) {
		goto out_free;
	}
	if (ret) {
		from = 0;
		st->size = size;
		ret = state_create(name, size, &fd);
		if (ret)
			goto out_free;
		st->mem = state_map(fd, size);
		if (!st->mem) {
			ret = state_errno(name, "mmap", errno);
			goto out_close;
		}
	}
	ret = csx__user_uh_state_hold(name, fd, st->size, from, &st->rg);
	if (ret)
		goto out_unmap;
	*out = st;
	*mem = st->mem;
	*mem_size = st->size;
	return 0;

out_unmap:
	munmap(st->mem, st->size);
out_close:
	close(fd);
out_free:
	free(st);
	return ret;

out_kept:
	if (ret) {
		free(st);
		return ret;
	}
	*existed = true;
	*out = st;
	*mem = st->mem;
	*mem_size = st->size;
	return 0;
}

void csx_os_state_put(struct csx_os_state *st, bool drop)
{
	munmap(st->mem, st->size);
	csx__user_uh_state_release(st->rg, drop);
	free(st);
}
