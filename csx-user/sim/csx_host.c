/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * What csx-run and standalone driver executables share: the options, and
 * the life cycle start CSX -> create simulated devices and claim real ones
 * (--device pci:..., through the kernel helper) -> inject faults -> module
 * inits -> (run until a signal) -> finis in reverse -> devices gone (real
 * ones given back to the helper) -> stop CSX, with every thread joined on
 * the way out.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csx/csx.h>
#include <csx_sim.h>
#include <csx_user.h>

#include "../kh/csx_kh.h"
#include "csx_host.h"

/* Where --device pci:VVVV:DDDD looks for devices; CSX_SYSFS_PCI for tests. */
#define SYSFS_PCI "/sys/bus/pci/devices"

/* Largest unit=N (as csx-user/sim/csx_user_devsrc.h's CSX_USER_UNIT_MAX). */
#define UNIT_MAX 1023

/* A parsed --device pci:... */
struct pci_spec {
	bool by_id;
	unsigned int domain, bus, devfn; /* by address, or once resolved */
	unsigned int vendor, device, index;
	int unit; /* unit=N, or -1 */
};

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
	      "        device offers MSI; off makes drivers fall back to INTx),\n"
	      "        unit=N (see below).\n"
	      "  -d, --device pci:[DDDD:]BB:SS.F | pci:VVVV:DDDD[#N]\n"
	      "        claim a real PCI device through the kernel helper (/dev/csx,\n"
	      "        module csx_helper.ko): by address (domain 0 if left out), or\n"
	      "        the first (#N: the Nth, from 0) device with vendor id VVVV\n"
	      "        and device id DDDD (hex) in /sys/bus/pci/devices. Needs\n"
	      "        CAP_SYS_RAWIO or the helper's group; the device must have no\n"
	      "        other driver. Given back when the process ends. Either form\n"
	      "        may end in ,unit=N.\n"
	      "        unit=N (0 to 1023), on either kind of device: the unit the\n"
	      "        driver sees (csx_dev_unit()) unless another device of that\n"
	      "        driver has it, so a restarted instance for one port keeps\n"
	      "        its number; by default the lowest free unit.\n"
	      "  -f, --fault [DEVICE/]FAULT\n"
	      "        inject a fault into simulated DEVICE (default: every\n"
	      "        simulated device) before the modules start. FAULT is one of:\n"
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
	      "failed; 64 bad usage; 66 a module could not be loaded; 69 a PCI\n"
	      "device could not be claimed; 70 CSX itself failed to start.\n"
	      "Environment: CSX_LOG_LEVEL, CSX_STRICT (see the CSX documentation);\n"
	      "CSX_KH_DEVICE (the helper's node instead of /dev/csx), CSX_SYSFS_PCI\n"
	      "(instead of /sys/bus/pci/devices).\n",
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

/* 1 to @max hex digits at *@s; advances *@s. */
static int parse_hex(const char **s, unsigned int max, unsigned int *v)
{
	unsigned int n = 0, d;
	const char *p = *s;

	*v = 0;
	for (; n < max; n++, p++) {
		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else
			break;
		*v = *v << 4 | d;
	}
	*s = p;
	return n ? 0 : -1;
}

/* [DDDD:]BB:SS.F, all of @s. */
static int parse_pci_addr(const char *s, struct pci_spec *ps)
{
	unsigned int a, b, slot, fn;

	if (parse_hex(&s, 4, &a) || *s++ != ':' || parse_hex(&s, 2, &b))
		return -1;
	if (*s == ':') {
		s++;
		ps->domain = a;
		ps->bus = b;
		if (parse_hex(&s, 2, &slot))
			return -1;
	} else {
		if (a > 0xff)
			return -1;
		ps->domain = 0;
		ps->bus = a;
		slot = b;
	}
	if (*s++ != '.' || parse_hex(&s, 1, &fn) || *s || slot > 0x1f || fn > 7)
		return -1;
	ps->devfn = slot << 3 | fn;
	return 0;
}

/* N of unit=N: decimal, 0..UNIT_MAX, all of @s. 0, or -1. */
static int parse_unit(const char *s, int *unit)
{
	unsigned long n;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (*end || errno || n > UNIT_MAX)
		return -1;
	*unit = (int)n;
	return 0;
}

/*
 * The unit=N among the ",KEY=VALUE" settings of a --device (from its
 * first comma), into *@unit (-1 when absent). 0, -1: a bad unit=,
 * -2: another key, which @only_unit forbids.
 */
static int parse_spec_unit(const char *spec, bool only_unit, int *unit)
{
	const char *s = strchr(spec, ','), *next;
	char val[16];
	size_t len;

	*unit = -1;
	for (; s; s = next) {
		s++;
		next = strchr(s, ',');
		len = next ? (size_t)(next - s) : strlen(s);
		if (len < 5 || strncmp(s, "unit=", 5)) {
			if (only_unit)
				return -2;
			continue;
		}
		len -= 5;
		if (len >= sizeof(val))
			return -1;
		memcpy(val, s + 5, len);
		val[len] = '\0';
		if (parse_unit(val, unit))
			return -1;
	}
	return 0;
}

/*
 * --device pci:[DDDD:]BB:SS.F or pci:VVVV:DDDD[#N], then ",unit=N" if
 * given. 1: not a pci: spec, 0: parsed, -1: malformed address, -2: bad
 * unit=, -3: another setting.
 */
static int parse_pci_spec(const char *spec, struct pci_spec *ps)
{
	const char *comma = strchr(spec, ',');
	char addr[64], *end;
	const char *s = addr;
	unsigned long n;
	size_t len;
	int ret;

	memset(ps, 0, sizeof(*ps));
	if (strncmp(spec, "pci:", 4))
		return 1;
	ret = parse_spec_unit(spec, true, &ps->unit);
	if (ret)
		return ret == -1 ? -2 : -3;
	len = comma ? (size_t)(comma - spec) - 4 : strlen(spec) - 4;
	if (len >= sizeof(addr))
		return -1;
	memcpy(addr, spec + 4, len);
	addr[len] = '\0';
	if (strchr(s, '.'))
		return parse_pci_addr(s, ps);
	ps->by_id = true;
	if (parse_hex(&s, 4, &ps->vendor) || *s++ != ':' ||
	    parse_hex(&s, 4, &ps->device))
		return -1;
	if (!*s)
		return 0;
	if (*s++ != '#' || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (*end || errno || n > 255)
		return -1;
	ps->index = (unsigned int)n;
	return 0;
}

/* -1 to go on, or the exit status after a message. */
static int check_device(const struct csx_host_opts *o, const char *arg)
{
	struct pci_spec ps;
	int unit;

	switch (parse_pci_spec(arg, &ps)) {
	case 0:
		return -1;
	case 1:
		break;
	case -2:
		goto out_unit;
	case -3:
		return bad_usage(o, "a PCI device takes no setting but unit=N",
				 arg);
	default:
		return bad_usage(o,
				 "bad PCI device (want pci:DDDD:BB:SS.F, "
				 "pci:BB:SS.F or pci:VVVV:DDDD[#N])",
				 arg);
	}
	if (!parse_spec_unit(arg, false, &unit))
		return -1; /* other settings: the model's to judge */
out_unit:
	return bad_usage(o, "bad unit (want unit=N, N from 0 to 1023)", arg);
}

static int parse_one(struct csx_host_opts *o, int c, const char *arg)
{
	int ret;

	switch (c) {
	case 'd':
		ret = check_device(o, arg);
		if (ret >= 0)
			return ret;
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
				"%s: --fault %s: no simulated device (use "
				"--device MODEL)\n",
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

static const char *sysfs_pci_root(void)
{
	const char *p = getenv("CSX_SYSFS_PCI");

	return p && *p ? p : SYSFS_PCI;
}

/* A sysfs attribute holding one hex number ("0x1234\n"). */
static int read_hex_attr(const char *root, const char *dev, const char *attr,
			 unsigned int *v)
{
	char path[4096], buf[32], *end;
	unsigned long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, dev, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strtoul(buf, &end, 16);
	if (end == buf || n > 0xffff)
		return -1;
	*v = (unsigned int)n;
	return 0;
}

static int no_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* pci:VVVV:DDDD#N -> the Nth such device in address order. */
static int resolve_pci_ids(const struct csx_host_opts *o, const char *spec,
			   struct pci_spec *ps)
{
	const char *root = sysfs_pci_root();
	struct dirent **list;
	unsigned int seen = 0, v, d;
	int i, n, found = -1;

	n = scandir(root, &list, no_dot, alphasort);
	if (n < 0) {
		fprintf(stderr,
			"%s: --device %s: cannot list PCI devices in "
			"%s: %s\n",
			o->prog, spec, root, strerror(errno));
		return -CSX_ENODEV;
	}
	for (i = 0; i < n; i++) {
		struct pci_spec at;

		if (found < 0 &&
		    !read_hex_attr(root, list[i]->d_name, "vendor", &v) &&
		    !read_hex_attr(root, list[i]->d_name, "device", &d) &&
		    v == ps->vendor && d == ps->device &&
		    !parse_pci_addr(list[i]->d_name, &at) &&
		    seen++ == ps->index) {
			ps->domain = at.domain;
			ps->bus = at.bus;
			ps->devfn = at.devfn;
			found = i;
		}
		free(list[i]);
	}
	free(list);
	if (found >= 0)
		return 0;
	if (!seen)
		fprintf(stderr,
			"%s: --device %s: no PCI device %04x:%04x in %s\n",
			o->prog, spec, ps->vendor, ps->device, root);
	else
		fprintf(stderr,
			"%s: --device %s: only %u PCI device(s) %04x:%04x in "
			"%s (#N counts from 0)\n",
			o->prog, spec, seen, ps->vendor, ps->device, root);
	return -CSX_ENODEV;
}

/* --device pci:...: claim it through the kernel helper. */
static int claim_device(const struct csx_host_opts *o, const char *spec)
{
	char why[CSX_KH_WHY_MAX], where[128];
	struct pci_spec ps;
	int ret;

	parse_pci_spec(spec, &ps); /* checked by csx_host_parse() */
	if (ps.by_id) {
		ret = resolve_pci_ids(o, spec, &ps);
		if (ret)
			return ret;
	}
	/* Name the address the ids resolved to: which device was it? */
	if (ps.by_id)
		snprintf(where, sizeof(where), "%s (%04x:%02x:%02x.%x)", spec,
			 ps.domain, ps.bus, ps.devfn >> 3, ps.devfn & 7);
	else
		snprintf(where, sizeof(where), "%s", spec);
	ret = csx_kh_claim(ps.domain, ps.bus, ps.devfn, ps.unit, NULL, why);
	if (!ret)
		return 0;
	switch (ret) {
	case -CSX_ENOENT:
		fprintf(stderr,
			"%s: --device %s: no kernel helper (%s missing: load "
			"csx_helper.ko, or use --device edu for the simulated "
			"device)\n",
			o->prog, where, csx_kh_device_path());
		break;
	case -CSX_EPERM:
		fprintf(stderr,
			"%s: --device %s: permission denied: needs "
			"CAP_SYS_RAWIO or the helper's group (%s)\n",
			o->prog, where, why);
		break;
	case -CSX_EBUSY:
		fprintf(stderr,
			"%s: --device %s: device is bound to another driver or "
			"owned by another process\n",
			o->prog, where);
		break;
	case -CSX_ENODEV:
		fprintf(stderr, "%s: --device %s: no such PCI device\n",
			o->prog, where);
		break;
	default:
		fprintf(stderr, "%s: --device %s: %s\n", o->prog, where, why);
		break;
	}
	return ret;
}

/* Returns 0 or the exit status. */
static int setup_devices(const struct csx_host_opts *o)
{
	struct csx_sim_dev *sims[CSX_HOST_MAX];
	unsigned int i, n = 0;
	struct pci_spec ps;
	int ret;

	for (i = 0; i < o->nr_devices; i++) {
		if (parse_pci_spec(o->devices[i], &ps) == 0) {
			if (claim_device(o, o->devices[i]))
				return CSX_HOST_EXIT_UNAVAILABLE;
			continue;
		}
		if (create_device(o, o->devices[i], &sims[n]))
			return CSX_HOST_EXIT_USAGE;
		n++;
	}
	for (i = 0; i < o->nr_faults; i++) {
		ret = inject_fault(o, sims, n, o->faults[i]);
		if (ret)
			return CSX_HOST_EXIT_USAGE;
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
	status = setup_devices(o);
	if (status)
		goto out_devices;
	started = start_modules(o, mods, n, &ret);
	status = exit_status(ret);
	if (!ret && !o->once)
		wait_for_signal(o, &set);
	stop_modules(o, mods, started);
out_devices:
	csx_kh_release_all();
	csx_sim_destroy_all();
	csx_user_fini();
	return status;
}
