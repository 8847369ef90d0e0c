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

int csx__bad_handle(const char *func, const void *obj)
{
	if (!obj)
		csx_err("%s(): NULL handle", func);
	else
		csx_err("%s(): invalid or destroyed handle %p", func, obj);
	return -CSX_EINVAL;
}
