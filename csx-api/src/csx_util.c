/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Freestanding helpers: the core is also built into the kernel, where no C
 * library exists, so it carries the few string routines it needs.
 */
#include "csx_core.h"

size_t csx__strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

size_t csx__strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

int csx__strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

size_t csx__strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = csx__strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		__builtin_memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

char *csx__strdup(const char *s)
{
	size_t len = csx__strlen(s) + 1;
	char *copy = csx_os_alloc(len, false);

	if (copy)
		__builtin_memcpy(copy, s, len);
	return copy;
}

void *csx__zalloc(size_t size)
{
	void *p = csx_os_alloc(size, false);

	if (p)
		__builtin_memset(p, 0, size);
	return p;
}

void csx__free(void *ptr)
{
	if (ptr)
		csx_os_free(ptr);
}

/*
 * Destroyed handles are not freed at once: the last CSX__RETIRED objects
 * stay allocated with their magic poisoned, so a call on a recently
 * destroyed handle (double destroy, queue after destroy) reads poisoned
 * memory and fails with -CSX_EINVAL instead of reading freed memory. Older
 * stale handles are the caller's bug and undefined, as documented.
 */
#define CSX__RETIRED 64
static void *csx__retired[CSX__RETIRED];
static unsigned int csx__retired_next;

void csx__retire(void *obj)
{
	unsigned int slot;
	void *old;

	if (!obj)
		return;
	/* After core fini nothing drains the ring any more. */
	if (!csx__core_ready()) {
		csx__free(obj);
		return;
	}
	slot = __atomic_fetch_add(&csx__retired_next, 1, __ATOMIC_RELAXED) %
	       CSX__RETIRED;
	old = __atomic_exchange_n(&csx__retired[slot], obj, __ATOMIC_ACQ_REL);
	csx__free(old);
}

void csx__retire_drain(void)
{
	unsigned int i;

	for (i = 0; i < CSX__RETIRED; i++)
		csx__free(__atomic_exchange_n(&csx__retired[i], NULL,
					      __ATOMIC_ACQ_REL));
}

int csx__bad_handle(const char *func, const void *obj)
{
	if (!obj)
		csx_err("%s(): NULL handle", func);
	else
		csx_err("%s(): invalid or destroyed handle %p", func, obj);
	return -CSX_EINVAL;
}

/*
 * "module/service": printable, no blanks, both parts non-empty, shorter
 * than CSX__NAME_MAX.
 */
bool csx__name_ok(const char *name)
{
	size_t len, i;
	bool slash = false;

	if (!name)
		return false;
	len = csx__strnlen(name, CSX__NAME_MAX);
	if (len == 0 || len >= CSX__NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c > '~')
			return false;
		if (c == '/' && i > 0 && i < len - 1)
			slash = true;
	}
	return slash;
}

/*
 * Bitwise, reflected, polynomial 0x82f63b78. Saved-state commits are small
 * and rare; a table would buy speed nobody needs here.
 */
uint32_t csx__crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	unsigned int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}
