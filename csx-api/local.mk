# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# The public API headers and the portable core. The core is compiled into
# every back end (libcsx-user here, csx.ko by Kbuild) and into the unit tests.

csxincdir = $(includedir)/csx-$(PACKAGE_VERSION)/csx
csxinc_HEADERS = \
	csx-api/include/csx/csx.h \
	csx-api/include/csx/csx_types.h \
	csx-api/include/csx/csx_status.h \
	csx-api/include/csx/csx_log.h \
	csx-api/include/csx/csx_mem.h \
	csx-api/include/csx/csx_context.h \
	csx-api/include/csx/csx_thread.h \
	csx-api/include/csx/csx_sync.h \
	csx-api/include/csx/csx_dpc.h \
	csx-api/include/csx/csx_timer.h \
	csx-api/include/csx/csx_intr.h \
	csx-api/include/csx/csx_device.h \
	csx-api/include/csx/csx_service.h \
	csx-api/include/csx/csx_state.h \
	csx-api/include/csx/csx_module.h \
	csx-api/include/csx/csx_os.h

# Core sources, shared by libcsx-user and the unit tests.
csx_core_sources = \
	csx-api/src/csx_core.h \
	csx-api/src/csx_core.c \
	csx-api/src/csx_util.c \
	csx-api/src/csx_status.c \
	csx-api/src/csx_log.c \
	csx-api/src/csx_mem.c \
	csx-api/src/csx_context.c \
	csx-api/src/csx_thread.c \
	csx-api/src/csx_sync.c \
	csx-api/src/csx_dpc.c \
	csx-api/src/csx_timer.c \
	csx-api/src/csx_intr.c \
	csx-api/src/csx_device.c \
	csx-api/src/csx_service.c \
	csx-api/src/csx_state.c
