/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Core life cycle: bring the back end up, check that it implements the port
 * contract this core was written against, set up the registries' lock and
 * the DPC queues; on the way down, report every object a driver leaked.
 */
#include "csx_core.h"

#ifndef CSX_DEBUG
#define CSX__STRICT_DEFAULT false
#else
#define CSX__STRICT_DEFAULT true
#endif

static bool csx__ready;
static struct csx_os_mutex *csx__registry_lock;
static unsigned long csx__live[CSX__T_COUNT];

static const char *const csx__type_names[CSX__T_COUNT] = {
	[CSX__T_ALLOC] = "csx_alloc() block",
	[CSX__T_DPC] = "DPC",
	[CSX__T_TIMER] = "timer",
	[CSX__T_MUTEX] = "mutex",
	[CSX__T_SPIN] = "spinlock",
	[CSX__T_RWLOCK] = "rwlock",
	[CSX__T_EVENT] = "event",
	[CSX__T_SEM] = "semaphore",
	[CSX__T_THREAD] = "thread (not joined)",
	[CSX__T_INTR] = "interrupt (not detached)",
	[CSX__T_DEVICE] = "device",
	[CSX__T_DMA] = "DMA buffer",
	[CSX__T_SERVICE] = "service",
	[CSX__T_CHAN] = "channel (not closed)",
	[CSX__T_DRIVER] = "driver (not unregistered)",
	[CSX__T_STATE] = "saved-state handle",
	[CSX__T_SHBUF] = "shared buffer",
};

void csx__live_inc(enum csx__type type)
{
	__atomic_add_fetch(&csx__live[type], 1, __ATOMIC_RELAXED);
}

void csx__live_dec(enum csx__type type)
{
	__atomic_sub_fetch(&csx__live[type], 1, __ATOMIC_RELAXED);
}

unsigned long csx__live_count(enum csx__type type)
{
	return __atomic_load_n(&csx__live[type], __ATOMIC_RELAXED);
}

unsigned long csx__live_report(void)
{
	unsigned long total = 0;
	int t;

	for (t = 0; t < CSX__T_COUNT; t++) {
		unsigned long n = csx__live_count(t);

		if (n == 0)
			continue;
		csx_warn("%lu %s object(s) still alive at exit (leaked)", n,
			 csx__type_names[t]);
		total += n;
	}
	return total;
}

bool csx__core_ready(void)
{
	return __atomic_load_n(&csx__ready, __ATOMIC_ACQUIRE);
}

int csx__not_ready(const char *func)
{
	csx_err("%s(): called before the core was initialized", func);
	return -CSX_EINVAL;
}

void csx__core_lock(void)
{
	csx_os_mutex_lock(csx__registry_lock);
}

void csx__core_unlock(void)
{
	csx_os_mutex_unlock(csx__registry_lock);
}

static int csx__check_contract(void)
{
	uint32_t have = csx_os_contract_version();

	if (have == CSX_OS_CONTRACT_VERSION)
		return 0;
	csx_err("back end '%s' implements port contract version %u but this "
		"core needs version %u; rebuild them together",
		csx_os_name(), (unsigned int)have,
		(unsigned int)CSX_OS_CONTRACT_VERSION);
	return -CSX_EPROTO;
}

int csx__core_init(void)
{
	int ret;

	if (csx__core_ready()) {
		csx_err("csx__core_init(): core already initialized");
		return -CSX_EBUSY;
	}
	ret = csx_os_init();
	if (ret)
		return ret;
	/* Counts are per life cycle: a previous one's leaks were reported. */
	__builtin_memset(csx__live, 0, sizeof(csx__live));
	ret = csx__check_contract();
	if (ret)
		goto out_os;
	csx__ctx_init(csx_os_getenv_bool("CSX_STRICT", CSX__STRICT_DEFAULT));
	ret = csx_os_mutex_create(&csx__registry_lock);
	if (ret)
		goto out_os;
	ret = csx__dpc_init();
	if (ret)
		goto out_lock;
	ret = csx_os_dpc_start();
	if (ret)
		goto out_dpc;
	__atomic_store_n(&csx__ready, true, __ATOMIC_RELEASE);
	return 0;

out_dpc:
	csx__dpc_fini();
out_lock:
	csx_os_mutex_destroy(csx__registry_lock);
	csx__registry_lock = NULL;
out_os:
	csx_os_fini();
	return ret;
}

void csx__core_fini(void)
{
	if (!csx__core_ready())
		return;
	__atomic_store_n(&csx__ready, false, __ATOMIC_RELEASE);
	csx__service_fini();
	csx_os_dpc_stop();
	csx__dpc_fini();
	csx_os_mutex_destroy(csx__registry_lock);
	csx__registry_lock = NULL;
	csx__retire_drain();
	csx__live_report();
	csx_os_fini();
}

uint32_t csx_api_version(void)
{
	return CSX_API_VERSION;
}

const char *csx_backend_name(void)
{
	return csx_os_name();
}
