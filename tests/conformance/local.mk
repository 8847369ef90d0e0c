# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# The conformance suite: the portable cases (test_*.c) with the portable
# runner, run here on the user back end through the CMocka adapter (user/).
# kernel/ holds the KTAP adapter and the Kbuild file for csx_conformance.ko;
# it is built by Kbuild against csx.ko, not by automake.

csx_conformance_cases = \
	tests/conformance/test_status.c \
	tests/conformance/test_log.c \
	tests/conformance/test_mem.c \
	tests/conformance/test_thread.c \
	tests/conformance/test_sync.c \
	tests/conformance/test_dpc.c \
	tests/conformance/test_timer.c \
	tests/conformance/test_intr.c \
	tests/conformance/test_context.c \
	tests/conformance/test_service.c \
	tests/conformance/test_state.c \
	tests/conformance/test_stale.c

csx_conformance_core = \
	tests/conformance/csx_test.h \
	tests/conformance/csx_test_suites.h \
	tests/conformance/csx_test_runner.h \
	tests/conformance/csx_test_core.c \
	tests/conformance/csx_test_suites.c

check_PROGRAMS += tests/conformance/csx-conformance
TESTS += tests/conformance/csx-conformance
tests_conformance_csx_conformance_SOURCES = $(csx_conformance_core) \
	$(csx_conformance_cases) \
	tests/conformance/user/csx_test_cmocka.c
tests_conformance_csx_conformance_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/tests/conformance
tests_conformance_csx_conformance_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_conformance_csx_conformance_LDADD = libcsx-user.la $(CMOCKA_LIBS)

EXTRA_DIST += \
	tests/conformance/README.md \
	tests/conformance/kernel/Kbuild \
	tests/conformance/kernel/csx_test_ktap.c
