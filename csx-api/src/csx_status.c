/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Status code names and descriptions. The table mirrors csx_status.h; a
 * unit test walks every code so a new one cannot be forgotten here.
 */
#include "csx_core.h"

struct csx__status_text {
	int code;
	const char *name;
	const char *text;
};

#define CSX__ST(code, text)                    \
	{                                      \
		CSX_##code, "CSX_" #code, text \
	}

static const struct csx__status_text csx__status_table[] = {
	CSX__ST(EPERM, "operation not permitted"),
	CSX__ST(ENOENT, "no such service, device or object"),
	CSX__ST(EINTR, "interrupted wait"),
	CSX__ST(EIO, "device input/output error"),
	CSX__ST(ENXIO, "no such device or address"),
	CSX__ST(E2BIG, "argument list or payload too long"),
	CSX__ST(EBADF, "bad handle"),
	CSX__ST(EAGAIN, "resource temporarily unavailable"),
	CSX__ST(ENOMEM, "out of memory"),
	CSX__ST(EFAULT, "bad address"),
	CSX__ST(EBUSY, "object busy"),
	CSX__ST(EEXIST, "object already exists"),
	CSX__ST(ENODEV, "no such device"),
	CSX__ST(EINVAL, "invalid argument or handle"),
	CSX__ST(ENOSPC, "no space left in table"),
	CSX__ST(ERANGE, "value out of range"),
	CSX__ST(EDEADLK, "sleeping call where sleeping is forbidden"),
	CSX__ST(ENOSYS, "operation not supported by this back end"),
	CSX__ST(EPROTO, "version or protocol mismatch"),
	CSX__ST(EOVERFLOW, "result does not fit the buffer"),
	CSX__ST(EMSGSIZE, "message too long"),
	CSX__ST(EOPNOTSUPP, "operation not supported by the target"),
	CSX__ST(ETIMEDOUT, "timed out"),
	CSX__ST(ECANCELED, "operation canceled"),
	CSX__ST(EPEERDIED, "the peer died"),
};

static const struct csx__status_text *csx__status_find(int status)
{
	/* Unsigned negation: INT_MIN must not overflow. */
	unsigned int code =
		status < 0 ? 0u - (unsigned int)status : (unsigned int)status;
	unsigned int i;

	for (i = 0;
	     i < sizeof(csx__status_table) / sizeof(csx__status_table[0]);
	     i++) {
		if ((unsigned int)csx__status_table[i].code == code)
			return &csx__status_table[i];
	}
	return NULL;
}

const char *csx_strerror(int status)
{
	const struct csx__status_text *st;

	if (status == 0)
		return "success";
	st = csx__status_find(status);
	return st ? st->text : "unknown error";
}

const char *csx_status_name(int status)
{
	const struct csx__status_text *st;

	if (status == 0)
		return "0";
	st = csx__status_find(status);
	return st ? st->name : "CSX_E?";
}
