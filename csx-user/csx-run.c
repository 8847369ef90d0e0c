/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-run: the user-mode host. Loads CSX driver modules (shared objects
 * built with CSX_MODULE()), creates simulated devices for them, and runs
 * them: csx-run --device edu --once csx_edu.so edu_demo.so
 * See csx-run --help.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <csx/csx.h>

#include "sim/csx_host.h"

struct loaded {
	void *handle;
	const struct csx_module_desc *desc;
};

/*
 * A libtool archive (.la) names its shared object: dlname='x.so'. Built
 * but not installed, the object lives in .libs/ beside the .la; installed,
 * in libdir. This lets "libtool --mode=execute csx-run x.la" work.
 */
static int la_field(const char *line, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key), n;
	const char *end;

	if (strncmp(line, key, klen) || line[klen] != '=' ||
	    line[klen + 1] != '\'')
		return -1;
	line += klen + 2;
	end = strchr(line, '\'');
	n = end ? (size_t)(end - line) : 0;
	if (!end || n >= cap)
		return -1;
	memcpy(out, line, n);
	out[n] = '\0';
	return 0;
}

static int la_resolve(const char *la, char *out, size_t cap)
{
	char line[1024], dlname[256] = "", libdir[1024] = "", inst[8] = "";
	const char *slash = strrchr(la, '/');
	int dirlen = slash ? (int)(slash - la) : 1;
	FILE *f = fopen(la, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		la_field(line, "dlname", dlname, sizeof(dlname));
		la_field(line, "libdir", libdir, sizeof(libdir));
		la_field(line, "installed", inst, sizeof(inst));
	}
	fclose(f);
	if (!*dlname)
		return -1;
	if (!strcmp(inst, "yes"))
		snprintf(out, cap, "%s/%s", libdir, dlname);
	else
		snprintf(out, cap, "%.*s/.libs/%s", dirlen, slash ? la : ".",
			 dlname);
	return 0;
}

static bool is_la(const char *path)
{
	size_t n = strlen(path);

	return n > 3 && !strcmp(path + n - 3, ".la");
}

/*
 * dlopen() searches the library path for a bare file name; a user who
 * types "csx-run csx_edu.so" means the file in the current directory.
 */
static int load_module(const struct csx_host_opts *o, const char *path,
		       struct loaded *m)
{
	char buf[4096];
	const char *file = path, *err;

	if (access(path, R_OK)) {
		fprintf(stderr, "%s: %s: cannot read module: %m\n", o->prog,
			path);
		return -1;
	}
	if (is_la(path)) {
		if (la_resolve(path, buf, sizeof(buf))) {
			fprintf(stderr,
				"%s: %s: not a libtool module archive (no dlname)\n",
				o->prog, path);
			return -1;
		}
		file = buf;
	} else if (!strchr(path, '/')) {
		snprintf(buf, sizeof(buf), "./%s", path);
		file = buf;
	}
	m->handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (!m->handle) {
		err = dlerror();
		fprintf(stderr, "%s: %s: not a loadable module: %s\n", o->prog,
			path, err ? err : "unknown error");
		return -1;
	}
	m->desc = dlsym(m->handle, CSX_MODULE_SYMBOL);
	if (!m->desc) {
		fprintf(stderr,
			"%s: %s: not a CSX module (no %s symbol; declare it "
			"with CSX_MODULE())\n",
			o->prog, path, CSX_MODULE_SYMBOL);
		return -1;
	}
	return csx_host_check_desc(o, path, m->desc) ? 0 : -1;
}

static void unload_modules(struct loaded *mods, unsigned int n)
{
	while (n--)
		dlclose(mods[n].handle);
}

int main(int argc, char **argv)
{
	struct csx_host_opts o = { .prog = "csx-run", .want_modules = true };
	const struct csx_module_desc *descs[CSX_HOST_MAX];
	struct loaded mods[CSX_HOST_MAX] = { { NULL, NULL } };
	unsigned int i;
	int ret;

	ret = csx_host_parse(&o, argc, argv);
	if (ret >= 0)
		return ret;
	for (i = 0; i < o.nr_modules; i++) {
		if (load_module(&o, o.modules[i], &mods[i])) {
			if (mods[i].handle)
				dlclose(mods[i].handle);
			unload_modules(mods, i);
			return CSX_HOST_EXIT_NOINPUT;
		}
		descs[i] = mods[i].desc;
	}
	ret = csx_host_run(&o, descs, o.nr_modules);
	unload_modules(mods, o.nr_modules);
	return ret;
}
