# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# The user-mode back end: libcsx-user (core + csx_os_* on pthreads/libevent).

lib_LTLIBRARIES += libcsx-user.la
libcsx_user_la_SOURCES = $(csx_core_sources) \
	csx-user/csx_user_dev.h \
	csx-user/csx_user_internal.h \
	csx-user/csx_os_core.c \
	csx-user/csx_os_mem.c \
	csx-user/csx_os_thread.c \
	csx-user/csx_os_sync.c \
	csx-user/csx_os_dpc.c \
	csx-user/csx_os_timer.c \
	csx-user/csx_os_intr.c \
	csx-user/csx_os_dev.c \
	csx-user/csx_os_remote.c \
	csx-user/csx_os_uh.c \
	csx-user/csx_os_state.c
libcsx_user_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) -fvisibility=default
libcsx_user_la_LIBADD = $(LIBEVENT_LIBS)
# Calls inside the library (core -> hooks) bind directly, not through the
# PLT: csx_intr_disable() is on every driver's hot path.
libcsx_user_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -Wl,-Bsymbolic-functions

csxosincdir = $(includedir)/csx-$(PACKAGE_VERSION)
csxosinc_HEADERS = \
	csx-user/include/csx_os_types.h \
	csx-user/include/csx_os_module.h \
	csx-user/include/csx_user.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = csx-user/csx-user.pc
EXTRA_DIST += csx-user/csx-user.pc.in

# Simulated devices and the hosts (csx-run, libcsx-user-main).
include csx-user/sim/local.mk
libcsx_user_la_SOURCES += $(csx_sim_sources)

# Devices claimed through the kernel helper (--device pci:...).
include csx-user/kh/local.mk
libcsx_user_la_SOURCES += $(csx_kh_sources)
