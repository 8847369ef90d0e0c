/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * What csx-run and standalone driver executables share: the options, and
 * the life cycle start CSX -> create simulated devices -> inject faults ->
 * module inits -> (run until a signal) -> finis in reverse -> devices gone
 * -> stop CSX, with every thread joined on the way out.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csx/csx.h>
#include <csx_sim.h>
#include <csx_user.h>

#include "csx_host.h"

static void usage(const struct csx_host_opts *o, FILE *f)
{
	fprintf(f, "Usage: %s [OPTION]...%s\n", o->prog,
		o->want_modules ? " MODULE.so [MODULE.so]..." : "");
	fprintf(f, "%s",
		o->want_modules ?
			"Run CSX driver modules in this process, in the order given.\n" :
			"Run this CSX driver module in this process.\n");
	fputs("\n"
	      "Options:\n"
	      "  -d, --device MODEL[,KEY=VALUE]...\n"
	      "        create a simulated device before the modules start; repeat\n"
	      "        for more (named sim-MODEL0, sim-MODEL1, ...). Models: edu\n"
	      "        (QEMU's educational device). Keys: msi=on|off (whether the\n"
	      "        device offers MSI; off makes drivers fall back to INTx).\n"
	      "  -f, --fault [DEVICE/]FAULT\n"
	      "        inject a fault into DEVICE (default: every device) before\n"
	      "        the modules start. FAULT is one of:\n"
	      "          drop-irq:N  lose the next N interrupts\n"
	      "          spurious    one interrupt with nothing pending\n"
	      "          delay:T     finish device work T late (T: number with\n"
	      "                      unit ns, us, ms or s; default ms)\n"
	      "          gone        surprise removal: reads give all ones\n"
	      "  -1, --once\n"
	      "        run every module's init, then the finis in reverse order,\n"
	      "        and exit (default: run until SIGINT or SIGTERM)\n"
	      "  -l, --log-level LEVEL\n"
	      "        err, warn, info (default) or debug\n"
	      "  -h, --help     show this help and exit\n"
	      "  -V, --version  show the CSX version and exit\n"
	      "\n"
	      "Exit status: 0 on success; the CSX status code (1-125, e.g. 5 for\n"
	      "CSX_EIO, 110 for CSX_ETIMEDOUT) of the first module init that\n"
	      "failed; 64 bad usage; 66 a module could not be loaded; 70 CSX\n"
	      "itself failed to start.\n"
	      "Environment: CSX_LOG_LEVEL, CSX_STRICT (see the CSX documentation).\n",
	      f);
}

static int parse_level(const char *s, int *level)
{
	static const struct {
		const char *name;
		int level;
	} names[] = { { "err", CSX_LOG_ERR },	{ "error", CSX_LOG_ERR },
		      { "warn", CSX_LOG_WARN }, { "warning", CSX_LOG_WARN },
		      { "info", CSX_LOG_INFO }, { "debug", CSX_LOG_DEBUG } };
	unsigned int i;
	char *end;
	long v;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*level = names[i].level;
			return 0;
		}
	}
	v = strtol(s, &end, 10);
	if (*s && !*end && v >= CSX_LOG_ERR && v <= CSX_LOG_DEBUG) {
		*level = (int)v;
		return 0;
	}
	return -1;
}

static int bad_usage(const struct csx_host_opts *o, const char *msg,
		     const char *arg)
{
	fprintf(stderr, "%s: %s%s%s\n", o->prog, msg, arg ? ": " : "",
		arg ? arg : "");
	fprintf(stderr, "Try '%s --help' for more information.\n", o->prog);
	return CSX_HOST_EXIT_USAGE;
}

static int add_arg(const struct csx_host_opts *o, const char **list,
		   unsigned int *n, const char *arg)
{
	if (*n == CSX_HOST_MAX)
		return bad_usage(o, "too many arguments of this kind", arg);
	list[(*n)++] = arg;
	return -1;
}

static int parse_one(struct csx_host_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'd':
		return add_arg(o, o->devices, &o->nr_devices, arg);
	case 'f':
		return add_arg(o, o->faults, &o->nr_faults, arg);
	case '1':
		o->once = true;
		return -1;
	case 'l':
		if (parse_level(arg, &o->log_level))
			return bad_usage(o, "unknown log level", arg);
		o->log_level_set = true;
		return -1;
	case 'h':
		usage(o, stdout);
		return 0;
	case 'V':
		printf("%s (CSX %d.%d.%d, module ABI %d)\n", o->prog,
		       CSX_API_VERSION_MAJOR, CSX_API_VERSION_MINOR,
		       CSX_API_VERSION_PATCH, CSX_MODULE_ABI);
		return 0;
	default:
		return bad_usage(o, "unknown option", NULL);
	}
}

int csx_host_parse(struct csx_host_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "fault", required_argument, NULL, 'f' },
		{ "once", no_argument, NULL, '1' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+d:f:1l:hV", longopts, NULL)) !=
	       -1) {
		if (c == '?')
			return bad_usage(o,
					 "unknown option or missing argument",
					 argv[optind - 1]);
		ret = parse_one(o, c, optarg);
		if (ret >= 0)
			return ret;
	}
	for (; optind < argc; optind++) {
		if (!o->want_modules)
			return bad_usage(o, "unexpected argument",
					 argv[optind]);
		ret = add_arg(o, o->modules, &o->nr_modules, argv[optind]);
		if (ret >= 0)
			return ret;
	}
	if (o->want_modules && !o->nr_modules)
		return bad_usage(o, "no module given", NULL);
	return -1;
}

bool csx_host_check_desc(const struct csx_host_opts *o, const char *where,
			 const struct csx_module_desc *d)
{
	if (d->abi != CSX_MODULE_ABI) {
		fprintf(stderr,
			"%s: %s: module ABI %u, but this host runs ABI %d "
			"modules: rebuild the module against this CSX\n",
			o->prog, where, (unsigned int)d->abi, CSX_MODULE_ABI);
		return false;
	}
	if (!d->name || !d->init || !d->fini) {
		fprintf(stderr,
			"%s: %s: malformed module descriptor (no name, init "
			"or fini)\n",
			o->prog, where);
		return false;
	}
	return true;
}

/* --device MODEL[,KEY=VALUE]... */
static int create_device(const struct csx_host_opts *o, const char *spec,
			 struct csx_sim_dev **out)
{
	const char *comma = strchr(spec, ',');
	size_t len = comma ? (size_t)(comma - spec) : strlen(spec);
	char model[64];
	int ret;

	if (len == 0 || len >= sizeof(model)) {
		fprintf(stderr, "%s: bad device '%s'\n", o->prog, spec);
		return -CSX_EINVAL;
	}
	memcpy(model, spec, len);
	model[len] = '\0';
	ret = csx_sim_create(model, comma ? comma + 1 : NULL, out);
	if (ret == -CSX_ENOENT)
		fprintf(stderr, "%s: no device model '%s' (known: edu)\n",
			o->prog, model);
	else if (ret)
		fprintf(stderr, "%s: cannot create device '%s': %s\n", o->prog,
			spec, csx_strerror(ret));
	return ret;
}

static int fault_one(const struct csx_host_opts *o, struct csx_sim_dev *dev,
		     const char *spec, const char *fault)
{
	int ret = csx_sim_fault_apply(dev, fault);

	if (ret)
		fprintf(stderr,
			"%s: --fault %s: unknown fault '%s' (see --help)\n",
			o->prog, spec, fault);
	return ret;
}

/* --fault [DEVICE/]FAULT */
static int inject_fault(const struct csx_host_opts *o,
			struct csx_sim_dev *const *devs, unsigned int n,
			const char *spec)
{
	const char *slash = strchr(spec, '/');
	char name[CSX_SIM_NAME_MAX];
	struct csx_sim_dev *dev;
	unsigned int i;
	int ret = 0;

	if (!slash) {
		if (!n)
			fprintf(stderr,
				"%s: --fault %s: no device (use --device)\n",
				o->prog, spec);
		for (i = 0; i < n && !ret; i++)
			ret = fault_one(o, devs[i], spec, spec);
		return n ? ret : -CSX_ENOENT;
	}
	dev = NULL;
	if ((size_t)(slash - spec) < sizeof(name)) {
		memcpy(name, spec, (size_t)(slash - spec));
		name[slash - spec] = '\0';
		dev = csx_sim_find(name);
	}
	if (!dev) {
		fprintf(stderr, "%s: --fault %s: no such device\n", o->prog,
			spec);
		return -CSX_ENOENT;
	}
	return fault_one(o, dev, spec, slash + 1);
}

static int setup_devices(const struct csx_host_opts *o)
{
	struct csx_sim_dev *devs[CSX_HOST_MAX];
	unsigned int i;
	int ret;

	for (i = 0; i < o->nr_devices; i++) {
		ret = create_device(o, o->devices[i], &devs[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < o->nr_faults; i++) {
		ret = inject_fault(o, devs, o->nr_devices, o->faults[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Module status -> exit status: the positive CSX code, within 1..125. */
static int exit_status(int status)
{
	if (status >= 0)
		return 0;
	return -status <= 125 ? -status : 1;
}

/* Start the modules in order; returns how many started, *status the first
 * failure (0 if none). */
static unsigned int start_modules(const struct csx_host_opts *o,
				  const struct csx_module_desc *const *mods,
				  unsigned int n, int *status)
{
	unsigned int i;
	int ret;

	*status = 0;
	for (i = 0; i < n; i++) {
		csx_dbg("%s: starting module %s %s", o->prog, mods[i]->name,
			mods[i]->version ? mods[i]->version : "");
		ret = mods[i]->init();
		if (ret) {
			fprintf(stderr, "%s: module %s: init failed: %s (%s)\n",
				o->prog, mods[i]->name, csx_status_name(ret),
				csx_strerror(ret));
			*status = ret;
			break;
		}
	}
	return i;
}

static void stop_modules(const struct csx_host_opts *o,
			 const struct csx_module_desc *const *mods,
			 unsigned int started)
{
	while (started--) {
		csx_dbg("%s: stopping module %s", o->prog, mods[started]->name);
		mods[started]->fini();
	}
}

static void wait_for_signal(const struct csx_host_opts *o, const sigset_t *set)
{
	int sig = 0;

	csx_info("%s: running; send SIGINT (Ctrl-C) or SIGTERM to stop",
		 o->prog);
	while (sigwait(set, &sig))
		;
	csx_info("%s: %s received, stopping", o->prog,
		 sig == SIGINT ? "SIGINT" : "SIGTERM");
}

int csx_host_run(const struct csx_host_opts *o,
		 const struct csx_module_desc *const *mods, unsigned int n)
{
	unsigned int started;
	sigset_t set;
	int ret, status;

	/*
	 * Block the stop signals before CSX starts threads so that they all
	 * inherit the mask and only sigwait() below sees them. With --once
	 * they stay deliverable: Ctrl-C must still end a stuck init.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (!o->once) {
		/* A shell starts background jobs with SIGINT ignored; an
		 * ignored signal never becomes pending for sigwait(). */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}

	ret = csx_user_init();
	if (ret) {
		fprintf(stderr, "%s: cannot start CSX: %s\n", o->prog,
			csx_strerror(ret));
		return CSX_HOST_EXIT_SOFTWARE;
	}
	if (o->log_level_set)
		csx_log_set_level(o->log_level);
	ret = setup_devices(o);
	if (ret) {
		status = CSX_HOST_EXIT_USAGE;
		goto out_devices;
	}
	started = start_modules(o, mods, n, &ret);
	status = exit_status(ret);
	if (!ret && !o->once)
		wait_for_signal(o, &set);
	stop_modules(o, mods, started);
out_devices:
	csx_sim_destroy_all();
	csx_user_fini();
	return status;
}
