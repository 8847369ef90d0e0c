/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to the hosts (csx-run and libcsx-user-main): option parsing and
 * the start/run/stop sequence around a list of module descriptors.
 */
#ifndef CSX_HOST_H
#define CSX_HOST_H

#include <csx/csx.h>

/* Exit statuses besides 0 and the CSX_E* code of a failed module init. */
#define CSX_HOST_EXIT_USAGE 64
#define CSX_HOST_EXIT_NOINPUT 66
#define CSX_HOST_EXIT_UNAVAILABLE 69 /* a --device pci: was not claimed */
#define CSX_HOST_EXIT_SOFTWARE 70

#define CSX_HOST_MAX 64

struct csx_host_opts {
	const char *prog;  /* for messages */
	bool want_modules; /* csx-run: positional MODULE.so arguments */
	bool once;
	bool log_level_set;
	int log_level;
	unsigned int nr_devices;
	const char *devices[CSX_HOST_MAX];
	unsigned int nr_faults;
	const char *faults[CSX_HOST_MAX];
	unsigned int nr_modules;
	const char *modules[CSX_HOST_MAX];
};

/*
 * csx_host_parse() - Parse the command line into @o (prog and want_modules
 * set by the caller). Returns -1 to go on, or an exit status (0 after
 * --help/--version, CSX_HOST_EXIT_USAGE after a message).
 */
int csx_host_parse(struct csx_host_opts *o, int argc, char **argv);

/*
 * csx_host_run() - Start CSX, create (simulated) or claim (pci:) the
 * devices, inject the faults, run the modules' inits in order, wait
 * (unless --once) for SIGINT/SIGTERM, run the finis in reverse, tear
 * everything down (claimed devices go back to the kernel helper).
 * Returns the process exit status.
 */
int csx_host_run(const struct csx_host_opts *o,
		 const struct csx_module_desc *const *mods, unsigned int n);

/*
 * csx_host_check_desc() - Is @d a module descriptor this host can run?
 * Prints why not (naming @where) and returns false.
 */
bool csx_host_check_desc(const struct csx_host_opts *o, const char *where,
			 const struct csx_module_desc *d);

#endif /* CSX_HOST_H */
