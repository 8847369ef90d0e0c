# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Simulated devices, the host csx-run and the standalone-executable main.

# Built into libcsx-user (csx-user/local.mk adds them).
csx_sim_sources = \
	csx-user/sim/csx_user_devsrc.h \
	csx-user/sim/csx_sim.c \
	csx-user/sim/csx_sim_edu.c

csxosinc_HEADERS += csx-user/include/csx_sim.h

# What csx-run and libcsx-user-main share.
csx_host_sources = csx-user/sim/csx_host.h csx-user/sim/csx_host.c \
	csx-user/kh/csx_kh.h

bin_PROGRAMS += csx-run
csx_run_SOURCES = csx-user/csx-run.c $(csx_host_sources)
csx_run_LDADD = libcsx-user.la $(LIBS)

# main() for drivers linked into their own executable (samples/edu/csx-edu).
lib_LIBRARIES = csx-user/libcsx-user-main.a
csx_user_libcsx_user_main_a_SOURCES = csx-user/csx_user_main.c \
	$(csx_host_sources)
