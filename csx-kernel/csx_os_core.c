// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: life cycle, logging, failure, tunables, time, CPUs and
 * the context the caller runs in.
 */
#include <linux/bug.h>
#include <linux/hardirq.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>

#include "csx_kernel.h"

DEFINE_PER_CPU(unsigned int, csx_k_atomic_depth);

/*
 * Tunables. User mode reads environment variables; a module has none, so
 * the same names are answered from module parameters:
 *   strict=0|1       CSX_STRICT (context violations WARN), unset: default
 *   env="N=v,N2=v2"  any other boolean tunable by its user-mode name
 */
static int csx_k_strict = -1;
module_param_named(strict, csx_k_strict, int, 0444);
MODULE_PARM_DESC(
	strict,
	"CSX_STRICT: 1 = context violations WARN, 0 = only log (default: build default)");

static char *csx_k_env;
module_param_named(env, csx_k_env, charp, 0444);
MODULE_PARM_DESC(
	env,
	"Boolean tunables as NAME=VALUE[,NAME=VALUE...], e.g. CSX_STRICT=1");

int csx_os_init(void)
{
	int ret = csx_k_intr_init();

	if (ret)
		return ret;
	return csx_k_keyed_start();
}

void csx_os_fini(void)
{
	/* Everything released in the background must be gone first. */
	csx_k_keyed_stop();
	csx_k_state_fini();
	csx_k_mem_fini();
}

const char *csx_os_name(void)
{
	return "kernel";
}

uint32_t csx_os_contract_version(void)
{
	return CSX_OS_CONTRACT_VERSION;
}

/* ---- Logging and failure ------------------------------------------------ */

/* Level words as the user back end writes them: one vocabulary in logs. */
static const char *csx_k_level_tag(int level)
{
	if (level <= LOGLEVEL_ERR)
		return "error";
	if (level == LOGLEVEL_WARNING)
		return "warning";
	if (level <= LOGLEVEL_INFO)
		return "info";
	return "debug";
}

void csx_os_vlog(int level, const char *fmt, va_list ap)
{
	const char *tag = csx_k_level_tag(level);
	size_t len = strlen(fmt);
	/* Callers may or may not end the line; printk wants exactly one. */
	const char *nl = (len && fmt[len - 1] == '\n') ? "" : "\n";
	struct va_format vaf;
	va_list copy;

	va_copy(copy, ap);
	vaf.fmt = fmt;
	vaf.va = &copy;
	if (level <= LOGLEVEL_ERR)
		printk(KERN_ERR "csx: %s: %pV%s", tag, &vaf, nl);
	else if (level == LOGLEVEL_WARNING)
		printk(KERN_WARNING "csx: %s: %pV%s", tag, &vaf, nl);
	else if (level <= LOGLEVEL_INFO)
		printk(KERN_INFO "csx: %s: %pV%s", tag, &vaf, nl);
	else
		printk(KERN_DEBUG "csx: %s: %pV%s", tag, &vaf, nl);
	va_end(copy);
}

void csx_os_bug(const char *msg)
{
	/* Kernel mode never kills the machine for a driver's misuse. */
	WARN(1, "csx: %s\n", msg);
}

/* Value of @name in the env= list: 1, 0, or -1 if absent or unparsable. */
static int csx_k_env_lookup(const char *name)
{
	size_t nlen = strlen(name);
	const char *p = csx_k_env;
	bool val;

	while (p && *p) {
		const char *end = strchrnul(p, ',');
		char buf[8];
		size_t vlen;

		if ((size_t)(end - p) > nlen && !strncmp(p, name, nlen) &&
		    p[nlen] == '=') {
			vlen = min_t(size_t, end - p - nlen - 1,
				     sizeof(buf) - 1);
			memcpy(buf, p + nlen + 1, vlen);
			buf[vlen] = '\0';
			return kstrtobool(buf, &val) ? -1 : val;
		}
		p = *end ? end + 1 : end;
	}
	return -1;
}

bool csx_os_getenv_bool(const char *name, bool dflt)
{
	int v = -1;

	if (!strcmp(name, "CSX_STRICT") && csx_k_strict >= 0)
		v = csx_k_strict != 0;
	if (v < 0)
		v = csx_k_env_lookup(name);
	return v < 0 ? dflt : v;
}

/* ---- Time and CPUs -------------------------------------------------------- */

uint64_t csx_os_time_ns(void)
{
	return ktime_get_ns();
}

unsigned int csx_os_cpu_count(void)
{
	/* CPU numbers may be sparse: cover every id a CPU can have. */
	return nr_cpu_ids;
}

unsigned int csx_os_cpu_current(void)
{
	return raw_smp_processor_id();
}

unsigned int csx_os_cpu_hold(void)
{
	unsigned int cpu = get_cpu();

	csx_k_atomic_enter();
	return cpu;
}

void csx_os_cpu_release(void)
{
	csx_k_atomic_exit();
	put_cpu();
}

/* ---- Context -------------------------------------------------------------- */

unsigned int csx_os_context(void)
{
	unsigned int ctx = 0;

	if (in_hardirq() || in_nmi() || this_cpu_read(csx_k_cur_intr))
		ctx |= CSX_OS_CTX_ISR;
	else if (in_serving_softirq())
		ctx |= CSX_OS_CTX_DPC; /* tasklets and soft hrtimers run here */
	/*
	 * in_atomic() sees spinlocks only with CONFIG_PREEMPT_COUNT, hence
	 * the CSX depth; irqs_disabled() covers csx_intr_disable() and any
	 * caller that turned interrupts off itself.
	 */
	if (ctx || in_atomic() || irqs_disabled() ||
	    this_cpu_read(csx_k_atomic_depth))
		ctx |= CSX_OS_CTX_ATOMIC;
	return ctx;
}

/*
 * !(csx_os_context() & CSX_OS_CTX_ATOMIC) without the ISR/DPC detail:
 * in_atomic() covers hard and soft interrupt context. csx_os_intr_held()
 * is always false here.
 */
bool csx_os_may_sleep(void)
{
	return !(in_atomic() || irqs_disabled() ||
		 this_cpu_read(csx_k_cur_intr) ||
		 this_cpu_read(csx_k_atomic_depth));
}

bool csx_k_may_sleep(void)
{
	return csx_os_may_sleep();
}

uintptr_t csx_os_thread_id(void)
{
	return (uintptr_t)current;
}
