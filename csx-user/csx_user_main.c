/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * libcsx-user-main: main() for a driver linked into its own executable.
 * It runs the one module descriptor CSX_MODULE() put into the executable,
 * with csx-run's options minus the module list:
 *   csx-edu --device edu --device edu
 */
#include <string.h>

#include <csx/csx.h>

#include "sim/csx_host.h"

/* Defined by the CSX_MODULE() line of the driver linked with us. */
extern const struct csx_module_desc csx_module_descriptor;

int main(int argc, char **argv)
{
	const struct csx_module_desc *desc = &csx_module_descriptor;
	struct csx_host_opts o = { .prog = argv[0] };
	const char *slash = strrchr(argv[0], '/');
	int ret;

	if (slash)
		o.prog = slash + 1;
	/* libtool's uninstalled wrapper runs us as lt-NAME. */
	if (!strncmp(o.prog, "lt-", 3))
		o.prog += 3;
	ret = csx_host_parse(&o, argc, argv);
	if (ret >= 0)
		return ret;
	if (!csx_host_check_desc(&o, o.prog, desc))
		return CSX_HOST_EXIT_NOINPUT;
	return csx_host_run(&o, &desc, 1);
}
