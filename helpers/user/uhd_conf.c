/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx-uhelperd's container file (--config; format in doc/supervisor.md):
 *
 *   # comment
 *   [edu]
 *   module = /usr/lib/csx/csx_edu.so
 *   device = edu,unit=%i
 *   instances = 2
 *   restart = on-failure
 *   backoff = 100ms 5s
 *   stable = 10s
 *   give-up = 5 60s
 *   args = --log-level info
 *
 * Read once at start-up. Every mistake is reported as "FILE:LINE: message"
 * and the daemon refuses to start: a supervisor that guesses what was
 * meant would run something nobody asked for.
 */
#include "uhd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest line, and most errors reported before giving up on the file. */
#define UHD_CONF_LINE_MAX 4096
#define UHD_CONF_ERRORS_MAX 20
/* Longest duration: a day. */
#define UHD_CONF_DURATION_MAX (24u * 3600 * 1000)

enum uhd_conf_key {
	UHD_KEY_MODULE,
	UHD_KEY_DEVICE,
	UHD_KEY_INSTANCES,
	UHD_KEY_RESTART,
	UHD_KEY_BACKOFF,
	UHD_KEY_STABLE,
	UHD_KEY_GIVE_UP,
	UHD_KEY_ARGS,
	UHD_NKEYS,
};

static const struct {
	const char *name;
	bool repeat; /* may be given more than once */
} uhd_keys[UHD_NKEYS] = {
	[UHD_KEY_MODULE] = { "module", true },
	[UHD_KEY_DEVICE] = { "device", true },
	[UHD_KEY_INSTANCES] = { "instances", false },
	[UHD_KEY_RESTART] = { "restart", false },
	[UHD_KEY_BACKOFF] = { "backoff", false },
	[UHD_KEY_STABLE] = { "stable", false },
	[UHD_KEY_GIVE_UP] = { "give-up", false },
	[UHD_KEY_ARGS] = { "args", true },
};

struct uhd_conf {
	struct uhd *d;
	const char *path;
	unsigned int line;
	unsigned int errors;
	struct uhd_container *ct; /* the section being read */
	unsigned int seen[UHD_NKEYS];
};

__attribute__((format(printf, 2, 3))) static int
uhd_conf_err(struct uhd_conf *cf, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	cf->errors++;
	if (cf->errors > UHD_CONF_ERRORS_MAX)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	uhd_log(UHD_ERR, "%s:%u: %s", cf->path, cf->line, msg);
	return -1;
}

static void uhd_strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static size_t uhd_strv_len(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Appends a copy of @s to the NULL-terminated *@v; 0 or -1. */
static int uhd_strv_add(char ***v, const char *s)
{
	size_t n = uhd_strv_len(*v);
	char **nv = realloc(*v, (n + 2) * sizeof(*nv));

	if (!nv)
		return -1;
	*v = nv;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	return nv[n] ? 0 : -1;
}

void uhd_container_free(struct uhd_container *ct)
{
	unsigned int i;

	uhd_strv_free(ct->modules);
	uhd_strv_free(ct->devices);
	uhd_strv_free(ct->args);
	for (i = 0; ct->inst && i < ct->ninstances; i++)
		free(ct->inst[i].fail_ns);
	free(ct->inst);
	free(ct);
}

static bool uhd_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* @s without leading and trailing blanks, in place. */
static char *uhd_trim(char *s)
{
	size_t n;

	while (uhd_blank(*s))
		s++;
	n = strlen(s);
	while (n && uhd_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A comment starts with '#' at the start of the line or after a blank. */
static void uhd_strip_comment(char *s)
{
	char *p;

	for (p = s; *p; p++)
		if (*p == '#' && (p == s || uhd_blank(p[-1]))) {
			*p = '\0';
			return;
		}
}

/* Splits @s at blanks, in place; up to @max words into @w; their count. */
static unsigned int uhd_words(char *s, char **w, unsigned int max)
{
	unsigned int n = 0;

	for (;;) {
		while (uhd_blank(*s))
			s++;
		if (!*s)
			return n;
		if (n < max)
			w[n] = s;
		n++;
		while (*s && !uhd_blank(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

static bool uhd_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

/* "250ms", "5s", or "5" (seconds): milliseconds, at most a day. */
static bool uhd_duration(const char *s, uint32_t *ms)
{
	unsigned long v, scale = 1000;
	char num[16];
	size_t n = strspn(s, "0123456789");

	if (!n || n >= sizeof(num))
		return false;
	if (!strcmp(s + n, "ms"))
		scale = 1;
	else if (strcmp(s + n, "s") && s[n])
		return false;
	memcpy(num, s, n);
	num[n] = '\0';
	if (!uhd_uint(num, UHD_CONF_DURATION_MAX, &v) ||
	    v > UHD_CONF_DURATION_MAX / scale)
		return false;
	*ms = (uint32_t)(v * scale);
	return true;
}

static bool uhd_ct_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= UHD_CT_NAME_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") == n;
}

/* A device string may hold %i (the instance) and %% only. */
static bool uhd_device_ok(const char *s)
{
	for (; *s; s++) {
		if (*s != '%')
			continue;
		if (s[1] != 'i' && s[1] != '%')
			return false;
		s++;
	}
	return true;
}

static struct uhd_container *uhd_conf_find(struct uhd *d, const char *name)
{
	struct uhd_list *p;

	for (p = d->containers.next; p != &d->containers; p = p->next) {
		struct uhd_container *ct =
			uhd_entry(p, struct uhd_container, node);

		if (!strcmp(ct->name, name))
			return ct;
	}
	return NULL;
}

/* The end of a section: is it complete? */
static void uhd_conf_close(struct uhd_conf *cf)
{
	struct uhd_container *ct = cf->ct;
	unsigned int line = cf->line;

	if (!ct)
		return;
	cf->line = ct->line;
	if (!ct->modules)
		uhd_conf_err(cf, "[%s]: no module", ct->name);
	cf->line = line;
	cf->ct = NULL;
}

static int uhd_conf_section(struct uhd_conf *cf, char *s)
{
	size_t n = strlen(s);
	struct uhd_container *ct, *old;

	uhd_conf_close(cf);
	if (n < 2 || s[n - 1] != ']')
		return uhd_conf_err(cf, "expected '[name]'");
	s[n - 1] = '\0';
	s = uhd_trim(s + 1);
	if (!uhd_ct_name_ok(s))
		return uhd_conf_err(cf,
				    "bad container name '%s': 1 to %d of "
				    "A-Z a-z 0-9 _ . -",
				    s, UHD_CT_NAME_MAX);
	old = uhd_conf_find(cf->d, s);
	if (old)
		return uhd_conf_err(cf,
				    "container '%s' is defined at line %u "
				    "already",
				    s, old->line);
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return uhd_conf_err(cf, "out of memory");
	strcpy(ct->name, s);
	ct->line = cf->line;
	ct->ninstances = 1;
	ct->restart = UHD_RESTART_ON_FAILURE;
	ct->backoff_ms = 100;
	ct->backoff_max_ms = 5000;
	ct->stable_ms = 10000;
	ct->giveup_n = 5;
	ct->giveup_ms = 60000;
	uhd_list_add_tail(&ct->node, &cf->d->containers);
	cf->ct = ct;
	memset(cf->seen, 0, sizeof(cf->seen));
	return 0;
}

/* Appends every word of @val to *@v. */
static int uhd_conf_list(struct uhd_conf *cf, const char *key, char *val,
			 char ***v)
{
	char *w[64];
	unsigned int n = uhd_words(val, w, 64), i;

	if (!n)
		return uhd_conf_err(cf, "%s: empty", key);
	if (n > 64)
		return uhd_conf_err(cf, "%s: more than 64 words", key);
	for (i = 0; i < n; i++)
		if (uhd_strv_add(v, w[i]))
			return uhd_conf_err(cf, "out of memory");
	return 0;
}

static int uhd_conf_instances(struct uhd_conf *cf, const char *val)
{
	unsigned long v;

	if (!uhd_uint(val, UHD_INSTANCES_MAX, &v) || !v)
		return uhd_conf_err(cf, "instances: '%s' is not 1 to %d", val,
				    UHD_INSTANCES_MAX);
	cf->ct->ninstances = (unsigned int)v;
	return 0;
}

static int uhd_conf_restart(struct uhd_conf *cf, const char *val)
{
	if (!strcmp(val, "on-failure"))
		cf->ct->restart = UHD_RESTART_ON_FAILURE;
	else if (!strcmp(val, "always"))
		cf->ct->restart = UHD_RESTART_ALWAYS;
	else if (!strcmp(val, "never"))
		cf->ct->restart = UHD_RESTART_NEVER;
	else
		return uhd_conf_err(cf,
				    "restart: '%s' is not always, on-failure "
				    "or never",
				    val);
	return 0;
}

static int uhd_conf_backoff(struct uhd_conf *cf, char *val)
{
	struct uhd_container *ct = cf->ct;
	char *w[2];
	unsigned int n = uhd_words(val, w, 2);

	if (n < 1 || n > 2 || !uhd_duration(w[0], &ct->backoff_ms) ||
	    (n == 2 && !uhd_duration(w[1], &ct->backoff_max_ms)))
		return uhd_conf_err(cf, "backoff: want 'FIRST [CAP]', "
					"durations like 100ms or 5s");
	if (n == 1)
		ct->backoff_max_ms = ct->backoff_ms;
	if (ct->backoff_max_ms < ct->backoff_ms)
		return uhd_conf_err(cf, "backoff: the cap is below the first "
					"delay");
	return 0;
}

static int uhd_conf_give_up(struct uhd_conf *cf, char *val)
{
	struct uhd_container *ct = cf->ct;
	unsigned long v;
	char *w[2];

	if (uhd_words(val, w, 2) != 2 || !uhd_uint(w[0], 1000, &v) || !v ||
	    !uhd_duration(w[1], &ct->giveup_ms) || !ct->giveup_ms)
		return uhd_conf_err(cf, "give-up: want 'N WINDOW', N 1 to "
					"1000, WINDOW a duration like 60s");
	ct->giveup_n = (unsigned int)v;
	return 0;
}

static int uhd_conf_device(struct uhd_conf *cf, const char *val)
{
	if (!*val || strpbrk(val, " \t"))
		return uhd_conf_err(cf, "device: one per line, without blanks");
	if (!uhd_device_ok(val))
		return uhd_conf_err(cf, "device: only %%i and %%%% may follow "
					"a %%");
	if (uhd_strv_add(&cf->ct->devices, val))
		return uhd_conf_err(cf, "out of memory");
	return 0;
}

static int uhd_conf_value(struct uhd_conf *cf, enum uhd_conf_key k, char *val)
{
	struct uhd_container *ct = cf->ct;

	switch (k) {
	case UHD_KEY_MODULE:
		return uhd_conf_list(cf, "module", val, &ct->modules);
	case UHD_KEY_DEVICE:
		return uhd_conf_device(cf, val);
	case UHD_KEY_INSTANCES:
		return uhd_conf_instances(cf, val);
	case UHD_KEY_RESTART:
		return uhd_conf_restart(cf, val);
	case UHD_KEY_BACKOFF:
		return uhd_conf_backoff(cf, val);
	case UHD_KEY_STABLE:
		if (!uhd_duration(val, &ct->stable_ms))
			return uhd_conf_err(cf,
					    "stable: '%s' is not a "
					    "duration like 10s",
					    val);
		return 0;
	case UHD_KEY_GIVE_UP:
		return uhd_conf_give_up(cf, val);
	default:
		return uhd_conf_list(cf, "args", val, &ct->args);
	}
}

static int uhd_conf_assign(struct uhd_conf *cf, char *s)
{
	char *eq = strchr(s, '='), *key, *val;
	unsigned int k;

	if (!eq)
		return uhd_conf_err(cf, "expected 'key = value' or '[name]'");
	*eq = '\0';
	key = uhd_trim(s);
	val = uhd_trim(eq + 1);
	for (k = 0; k < UHD_NKEYS; k++)
		if (!strcmp(key, uhd_keys[k].name))
			break;
	if (k == UHD_NKEYS)
		return uhd_conf_err(cf, "unknown key '%s'", key);
	if (!cf->ct)
		return uhd_conf_err(cf, "'%s' before any [name]", key);
	if (cf->seen[k] && !uhd_keys[k].repeat)
		return uhd_conf_err(cf, "%s: given twice in [%s]", key,
				    cf->ct->name);
	cf->seen[k]++;
	return uhd_conf_value(cf, (enum uhd_conf_key)k, val);
}

static void uhd_conf_line(struct uhd_conf *cf, char *buf, size_t n)
{
	char *s;

	if (n > UHD_CONF_LINE_MAX) {
		uhd_conf_err(cf, "line longer than %d bytes",
			     UHD_CONF_LINE_MAX);
		return;
	}
	if (strlen(buf) != n) {
		uhd_conf_err(cf, "NUL byte in the line");
		return;
	}
	uhd_strip_comment(buf);
	s = uhd_trim(buf);
	if (!*s)
		return;
	if (*s == '[')
		uhd_conf_section(cf, s);
	else
		uhd_conf_assign(cf, s);
}

/* Instances over all containers are bounded: each is a process. */
static void uhd_conf_count(struct uhd_conf *cf)
{
	struct uhd_list *p;

	cf->d->ninstances = 0;
	for (p = cf->d->containers.next; p != &cf->d->containers; p = p->next)
		cf->d->ninstances +=
			uhd_entry(p, struct uhd_container, node)->ninstances;
	if (cf->d->ninstances > UHD_INSTANCES_TOTAL)
		uhd_conf_err(cf, "%u instances in all; at most %d",
			     cf->d->ninstances, UHD_INSTANCES_TOTAL);
}

int uhd_conf_load(struct uhd *d, const char *path)
{
	struct uhd_conf cf = { .d = d, .path = path };
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		uhd_log(UHD_ERR, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&buf, &cap, f)) > 0) {
		cf.line++;
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		uhd_conf_line(&cf, buf, (size_t)n);
	}
	if (ferror(f))
		uhd_conf_err(&cf, "read error: %s", strerror(errno));
	free(buf);
	fclose(f);
	uhd_conf_close(&cf);
	uhd_conf_count(&cf);
	if (cf.errors > UHD_CONF_ERRORS_MAX)
		uhd_log(UHD_ERR, "%s: %u errors in all", path, cf.errors);
	if (cf.errors) {
		while (!uhd_list_empty(&d->containers)) {
			struct uhd_container *ct = uhd_entry(
				d->containers.next, struct uhd_container, node);

			uhd_list_del(&ct->node);
			uhd_container_free(ct);
		}
		return -1;
	}
	if (uhd_list_empty(&d->containers))
		uhd_log(UHD_WARN, "%s: no container defined", path);
	return 0;
}
