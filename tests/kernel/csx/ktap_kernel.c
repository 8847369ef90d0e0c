// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/* ktap.h for kernel modules: one printk per line, at KERN_INFO. */
#include <linux/kernel.h>
#include <linux/printk.h>

#include "ktap.h"

void ktap_line(const char *fmt, ...)
{
	struct va_format vaf;
	va_list ap;

	va_start(ap, fmt);
	vaf.fmt = fmt;
	vaf.va = &ap;
	printk(KERN_INFO "%pV\n", &vaf);
	va_end(ap);
}
