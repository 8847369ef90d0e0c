/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The service registry: exported services in a list under the core lock,
 * channels holding a reference to their service. A name not exported in
 * this address space is looked up by the back end (csx_os_remote_open()):
 * in user mode, services of kernel modules through the kernel helper
 * (/dev/csx); kernel -> user and user <-> user across processes come with
 * the user helper daemon. A channel is then either local (@svc, a direct
 * call in the caller's thread) or remote (@remote, every call handed to
 * csx_os_remote_call()); the API cannot tell them apart.
 *
 * Withdrawing a service must not free it under an open channel nor let its
 * handler run afterwards. So a service carries a reference count (one for
 * the registry, one per channel) and an in-flight call count: unexport
 * marks it dead, waits for in-flight calls to drain and drops the
 * registry's reference; the last channel to close frees it. A call bumps
 * the in-flight count before looking at the dead flag and unexport sets
 * the flag before reading the count (both sequentially consistent), so
 * either the call sees "dead" or unexport sees the call.
 */
#include "csx_core.h"

struct csx_service {
	uint32_t magic;
	uint32_t refs;
	uint32_t inflight;
	bool dead;
	struct csx_service *next;
	csx_service_fn fn;
	void *ctx;
	uint32_t version;
	char name[CSX_SERVICE_NAME_MAX];
};

struct csx_chan {
	uint32_t magic;
	uint32_t version;	     /* the service's, fixed at open */
	struct csx_service *svc;     /* local: referenced service, or NULL */
	struct csx_os_rchan *remote; /* remote: the back end's channel */
};

static struct csx_service *csx__services;

/*
 * "module/service": printable, no blanks, both parts non-empty, shorter
 * than CSX_SERVICE_NAME_MAX.
 */
static bool csx__service_name_ok(const char *name)
{
	size_t len, i;
	bool slash = false;

	if (!name)
		return false;
	len = csx__strnlen(name, CSX_SERVICE_NAME_MAX);
	if (len == 0 || len >= CSX_SERVICE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c > '~')
			return false;
		if (c == '/' && i > 0 && i < len - 1)
			slash = true;
	}
	return slash;
}

static int csx__service_name_check(const char *func, const char *name)
{
	if (csx__service_name_ok(name))
		return 0;
	csx_err("%s(): bad service name; want \"module/service\", printable, "
		"under %d bytes",
		func, CSX_SERVICE_NAME_MAX);
	return -CSX_EINVAL;
}

static void csx__service_put(struct csx_service *svc)
{
	if (__atomic_sub_fetch(&svc->refs, 1, __ATOMIC_ACQ_REL))
		return;
	csx__magic_set(svc, CSX__MAGIC_DEAD);
	csx__free(svc);
	csx__live_dec(CSX__T_SERVICE);
}

/* Caller holds the core lock. */
static struct csx_service **csx__service_find(const char *name)
{
	struct csx_service **pos;

	for (pos = &csx__services; *pos; pos = &(*pos)->next) {
		if (csx__strcmp((*pos)->name, name) == 0)
			return pos;
	}
	return NULL;
}

static int csx__service_publish(struct csx_service *svc)
{
	int ret = 0;

	csx__core_lock();
	if (csx__service_find(svc->name)) {
		ret = -CSX_EEXIST;
	} else {
		svc->next = csx__services;
		csx__services = svc;
	}
	csx__core_unlock();
	return ret;
}

int csx_service_export(const char *name, uint32_t version, csx_service_fn fn,
		       void *ctx, struct csx_service **out)
{
	struct csx_service *svc;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	ret = csx__service_name_check(__func__, name);
	if (ret)
		return ret;
	if (!fn)
		return -CSX_EINVAL;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (!csx__core_ready())
		return csx__not_ready(__func__);
	svc = csx__zalloc(sizeof(*svc));
	if (!svc)
		return -CSX_ENOMEM;
	csx__strlcpy(svc->name, name, sizeof(svc->name));
	svc->version = version;
	svc->fn = fn;
	svc->ctx = ctx;
	svc->refs = 1;
	svc->magic = CSX__MAGIC_SERVICE;
	ret = csx__service_publish(svc);
	if (ret) {
		csx_err("csx_service_export(): service %s already exported",
			name);
		csx__free(svc);
		return ret;
	}
	csx__live_inc(CSX__T_SERVICE);
	*out = svc;
	return 0;
}

static void csx__service_unlink(struct csx_service *svc)
{
	struct csx_service **pos;

	csx__core_lock();
	for (pos = &csx__services; *pos; pos = &(*pos)->next) {
		if (*pos == svc) {
			*pos = svc->next;
			break;
		}
	}
	csx__core_unlock();
}

int csx_service_unexport(struct csx_service *svc)
{
	int ret;

	if (!svc)
		return 0;
	if (!csx__magic_ok(svc, CSX__MAGIC_SERVICE))
		return csx__bad_handle(__func__, svc);
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	/* A second unexport now fails the handle check. */
	csx__magic_set(svc, CSX__MAGIC_SERVICE_GONE);
	csx__service_unlink(svc);
	__atomic_store_n(&svc->dead, true, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&svc->inflight, __ATOMIC_SEQ_CST))
		csx_os_thread_sleep(CSX__POLL_NS);
	csx__service_put(svc);
	return 0;
}

/* Take a reference on the live service @name at @min_version or newer. */
static int csx__service_lookup(const char *name, uint32_t min_version,
			       struct csx_service **out)
{
	struct csx_service **pos;
	int ret = 0;

	csx__core_lock();
	pos = csx__service_find(name);
	if (!pos) {
		ret = -CSX_ENOENT;
	} else if ((*pos)->version < min_version) {
		csx_err("csx_open(): service %s is version %u, caller needs %u "
			"or newer",
			name, (unsigned int)(*pos)->version,
			(unsigned int)min_version);
		ret = -CSX_EPROTO;
	} else {
		*out = *pos;
		__atomic_add_fetch(&(*pos)->refs, 1, __ATOMIC_RELAXED);
	}
	csx__core_unlock();
	return ret;
}

/* No such name in-process: ask the back end for one in another domain. */
static int csx__service_remote_open(const char *name, uint32_t min_version,
				    struct csx_chan *chan)
{
	struct csx_os_rchan *rc = NULL;
	uint32_t version = 0;
	int ret;

	ret = csx_os_remote_open(name, min_version, &rc, &version);
	if (ret == -CSX_EPROTO)
		csx_err("csx_open(): service %s (in another domain) is older "
			"than version %u, which the caller needs",
			name, (unsigned int)min_version);
	if (ret)
		return ret;
	if (version < min_version) { /* a back end that did not check */
		csx_os_remote_close(rc);
		csx_err("csx_open(): service %s is version %u, caller needs %u "
			"or newer",
			name, (unsigned int)version, (unsigned int)min_version);
		return -CSX_EPROTO;
	}
	chan->remote = rc;
	chan->version = version;
	return 0;
}

int csx_open(const char *name, uint32_t min_version, struct csx_chan **out)
{
	struct csx_chan *chan;
	int ret;

	if (!out)
		return -CSX_EINVAL;
	*out = NULL;
	ret = csx__service_name_check(__func__, name);
	if (ret)
		return ret;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (!csx__core_ready())
		return csx__not_ready(__func__);
	chan = csx__zalloc(sizeof(*chan));
	if (!chan)
		return -CSX_ENOMEM;
	ret = csx__service_lookup(name, min_version, &chan->svc);
	if (!ret)
		chan->version = chan->svc->version;
	else if (ret == -CSX_ENOENT)
		ret = csx__service_remote_open(name, min_version, chan);
	if (ret) {
		csx__free(chan);
		return ret;
	}
	chan->magic = CSX__MAGIC_CHAN;
	csx__live_inc(CSX__T_CHAN);
	*out = chan;
	return 0;
}

uint32_t csx_chan_version(struct csx_chan *chan)
{
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN)) {
		csx__bad_handle(__func__, chan);
		return 0;
	}
	return chan->version;
}

static int csx__call_check(const void *in, size_t in_len, const void *out,
			   size_t out_cap, int64_t timeout_ns)
{
	if (timeout_ns < 0 && timeout_ns != CSX_WAIT_FOREVER)
		return -CSX_EINVAL;
	if ((!in && in_len) || (!out && out_cap))
		return -CSX_EINVAL;
	if (in_len > CSX_CALL_MAX_PAYLOAD || out_cap > CSX_CALL_MAX_PAYLOAD)
		return -CSX_EMSGSIZE;
	return 0;
}

/* The direct, in-process path: run the handler in the caller's thread. */
static int csx__call_local(struct csx_service *svc, uint32_t op, const void *in,
			   size_t in_len, void *out, size_t out_cap,
			   size_t *out_len)
{
	size_t len = 0;
	int ret;

	__atomic_add_fetch(&svc->inflight, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&svc->dead, __ATOMIC_SEQ_CST)) {
		ret = -CSX_EPEERDIED;
		goto out;
	}
	ret = svc->fn(svc->ctx, op, in, in_len, out, out_cap, &len);
	if (len > out_cap) {
		csx_err("service %s op %u claims a %zu-byte response in a "
			"%zu-byte buffer",
			svc->name, (unsigned int)op, len, out_cap);
		ret = -CSX_EOVERFLOW;
		len = 0;
	}
out:
	__atomic_sub_fetch(&svc->inflight, 1, __ATOMIC_SEQ_CST);
	*out_len = len;
	return ret;
}

int csx_call(struct csx_chan *chan, uint32_t op, const void *in, size_t in_len,
	     void *out, size_t out_cap, size_t *out_len, int64_t timeout_ns)
{
	size_t len = 0;
	int ret;

	if (out_len)
		*out_len = 0;
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN))
		return csx__bad_handle(__func__, chan);
	ret = csx__call_check(in, in_len, out, out_cap, timeout_ns);
	if (ret)
		return ret;
	ret = csx__might_sleep(__func__);
	if (ret)
		return ret;
	if (chan->remote) {
		/* The back end bounds the wait by @timeout_ns. */
		ret = csx_os_remote_call(chan->remote, op, in, in_len, out,
					 out_cap, &len, timeout_ns);
		if (len > out_cap) {
			csx_err("csx_call(): remote op %u answered %zu bytes "
				"into a %zu-byte buffer",
				(unsigned int)op, len, out_cap);
			ret = -CSX_EIO;
			len = 0;
		}
	} else {
		ret = csx__call_local(chan->svc, op, in, in_len, out, out_cap,
				      &len);
	}
	if (out_len)
		*out_len = len;
	return ret;
}

void csx_close(struct csx_chan *chan)
{
	if (!chan)
		return;
	if (!csx__magic_ok(chan, CSX__MAGIC_CHAN)) {
		csx__bad_handle(__func__, chan);
		return;
	}
	if (csx__might_sleep(__func__))
		return;
	csx__magic_set(chan, CSX__MAGIC_DEAD);
	if (chan->remote)
		csx_os_remote_close(chan->remote);
	else
		csx__service_put(chan->svc);
	csx__retire(chan);
	csx__live_dec(CSX__T_CHAN);
}
