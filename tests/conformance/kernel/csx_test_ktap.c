// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel-mode adapter: csx_conformance.ko runs the conformance cases when
 * it is loaded and prints KTAP on the kernel log, one flat list:
 *
 *   KTAP version 1
 *   1..N
 *   # suite.case: diagnostics of a failing check
 *   not ok 7 suite.case
 *   ok 8 suite.other # SKIP reason
 *
 * insmod csx_conformance.ko [filter=suite[.case],...]
 *
 * The cases run in the insmod thread (thread context) before init returns;
 * init returns 0 whatever the results, so the verdict is the KTAP log, and
 * rmmod afterwards proves the module leaves nothing behind.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "csx_test_runner.h"

static char *filter;
module_param(filter, charp, 0444);
MODULE_PARM_DESC(filter, "comma-separated suite or suite.case names to run");

void csx_test_port_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	vsnprintf(buf, size, fmt, ap);
}

void csx_test_port_diag(const char *line)
{
	pr_info("# %s\n", line);
}

static unsigned int count_selected(void)
{
	unsigned int i, j, n = 0;

	for (i = 0; i < csx_test_suite_count; i++) {
		const struct csx_test_suite *s = csx_test_suites[i];

		for (j = 0; j < s->count; j++)
			n += csx_test_selected(filter, s, &s->cases[j]);
	}
	return n;
}

/* Runs one case and prints its result line; returns its verdict. */
static enum csx_test_verdict ktap_case(unsigned int n,
				       const struct csx_test_suite *s,
				       const struct csx_test_case *c)
{
	enum csx_test_verdict v = csx_test_run_case(c);

	switch (v) {
	case CSX_TEST_PASSED:
		pr_info("ok %u %s.%s\n", n, s->name, c->name);
		break;
	case CSX_TEST_SKIPPED:
		pr_info("ok %u %s.%s # SKIP %s\n", n, s->name, c->name,
			csx_test_reason());
		break;
	case CSX_TEST_FAILED:
		pr_info("not ok %u %s.%s\n", n, s->name, c->name);
		break;
	}
	return v;
}

static int __init csx_conformance_init(void)
{
	unsigned int counts[3] = { 0, 0, 0 };
	unsigned int i, j, n = 0;

	pr_info("KTAP version 1\n");
	pr_info("1..%u\n", count_selected());
	for (i = 0; i < csx_test_suite_count; i++) {
		const struct csx_test_suite *s = csx_test_suites[i];

		for (j = 0; j < s->count; j++) {
			if (!csx_test_selected(filter, s, &s->cases[j]))
				continue;
			counts[ktap_case(++n, s, &s->cases[j])]++;
		}
	}
	pr_info("# csx_conformance on %s: pass:%u fail:%u skip:%u\n",
		csx_backend_name(), counts[CSX_TEST_PASSED],
		counts[CSX_TEST_FAILED], counts[CSX_TEST_SKIPPED]);
	return 0;
}

static void __exit csx_conformance_exit(void)
{
}

module_init(csx_conformance_init);
module_exit(csx_conformance_exit);
MODULE_LICENSE("Dual BSD/GPL");
MODULE_DESCRIPTION("CSX conformance suite (KTAP)");
