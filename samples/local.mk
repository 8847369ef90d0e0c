# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Sample drivers. Each source also builds as a kernel module (its Kbuild);
# here: user-mode modules for csx-run (-module .so) and, for the edu driver,
# a standalone executable that runs it on its own.

csxmoddir = $(pkglibdir)/modules
csxmod_LTLIBRARIES = samples/edu/csx_edu.la samples/edu/edu_demo.la \
	samples/calls/calls_svc.la samples/calls/calls_client.la

samples_module_ldflags = -module -avoid-version -shared -no-undefined \
	$(AM_LDFLAGS)

# The calls sample: a service and its client, each one source for both
# modes (samples/calls/Kbuild builds the kernel modules).
samples_calls_calls_svc_la_SOURCES = samples/calls/calls_svc.c \
	samples/calls/calls.h
samples_calls_calls_svc_la_LDFLAGS = $(samples_module_ldflags)
samples_calls_calls_svc_la_LIBADD = libcsx-user.la

samples_calls_calls_client_la_SOURCES = samples/calls/calls_client.c \
	samples/calls/calls.h
samples_calls_calls_client_la_LDFLAGS = $(samples_module_ldflags)
samples_calls_calls_client_la_LIBADD = libcsx-user.la

EXTRA_DIST += samples/calls/Kbuild

# A supervisor configuration for the edu sample, one instance per port,
# with the installed module's path filled in.
pkgdata_DATA = samples/edu/edu-ports.conf
samples/edu/edu-ports.conf: $(srcdir)/samples/edu/edu-ports.conf.in Makefile
	$(AM_V_GEN)mkdir -p samples/edu && \
		sed 's|@csxmoddir@|$(csxmoddir)|g' \
		$(srcdir)/samples/edu/edu-ports.conf.in >$@
EXTRA_DIST += samples/edu/edu-ports.conf.in
CLEANFILES += samples/edu/edu-ports.conf

samples_edu_csx_edu_la_SOURCES = samples/edu/csx_edu.c samples/edu/edu.h
samples_edu_csx_edu_la_LDFLAGS = $(samples_module_ldflags)
samples_edu_csx_edu_la_LIBADD = libcsx-user.la

samples_edu_edu_demo_la_SOURCES = samples/edu/edu_demo.c samples/edu/edu.h
samples_edu_edu_demo_la_LDFLAGS = $(samples_module_ldflags)
samples_edu_edu_demo_la_LIBADD = libcsx-user.la

# csx-edu [--device edu]... : the driver as its own process.
bin_PROGRAMS += samples/edu/csx-edu
samples_edu_csx_edu_SOURCES = samples/edu/csx_edu.c samples/edu/edu.h
# Own flags so its objects differ from the libtool module's.
samples_edu_csx_edu_CFLAGS = $(AM_CFLAGS)
samples_edu_csx_edu_LDADD = csx-user/libcsx-user-main.a libcsx-user.la

EXTRA_DIST += scripts/demo-user.sh doc/tutorial-user-mode.md
