# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Unit tests of the portable core against the mock back end (mock_os.c).
# The core and the mock are compiled once into a convenience library that
# every test program links.

check_LTLIBRARIES += tests/unit/libcsx-unit.la
tests_unit_libcsx_unit_la_SOURCES = $(csx_core_sources) \
	tests/unit/mock_os.h \
	tests/unit/mock_os.c
tests_unit_libcsx_unit_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/csx-api/src

unit_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/csx-api/src $(CMOCKA_CFLAGS)
unit_ldadd = tests/unit/libcsx-unit.la $(CMOCKA_LIBS)

unit_tests = \
	tests/unit/test_status \
	tests/unit/test_core \
	tests/unit/test_context \
	tests/unit/test_sync \
	tests/unit/test_dpc \
	tests/unit/test_timer \
	tests/unit/test_intr \
	tests/unit/test_device \
	tests/unit/test_service \
	tests/unit/test_state

check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

tests_unit_test_status_SOURCES = tests/unit/test_status.c
tests_unit_test_status_CPPFLAGS = $(unit_cppflags)
tests_unit_test_status_LDADD = $(unit_ldadd)

tests_unit_test_core_SOURCES = tests/unit/test_core.c
tests_unit_test_core_CPPFLAGS = $(unit_cppflags)
tests_unit_test_core_LDADD = $(unit_ldadd)

tests_unit_test_context_SOURCES = tests/unit/test_context.c
tests_unit_test_context_CPPFLAGS = $(unit_cppflags)
tests_unit_test_context_LDADD = $(unit_ldadd)

tests_unit_test_sync_SOURCES = tests/unit/test_sync.c
tests_unit_test_sync_CPPFLAGS = $(unit_cppflags)
tests_unit_test_sync_LDADD = $(unit_ldadd)

tests_unit_test_dpc_SOURCES = tests/unit/test_dpc.c
tests_unit_test_dpc_CPPFLAGS = $(unit_cppflags)
tests_unit_test_dpc_LDADD = $(unit_ldadd)

tests_unit_test_timer_SOURCES = tests/unit/test_timer.c
tests_unit_test_timer_CPPFLAGS = $(unit_cppflags)
tests_unit_test_timer_LDADD = $(unit_ldadd)

tests_unit_test_intr_SOURCES = tests/unit/test_intr.c
tests_unit_test_intr_CPPFLAGS = $(unit_cppflags)
tests_unit_test_intr_LDADD = $(unit_ldadd)

tests_unit_test_device_SOURCES = tests/unit/test_device.c
tests_unit_test_device_CPPFLAGS = $(unit_cppflags)
tests_unit_test_device_LDADD = $(unit_ldadd)

tests_unit_test_service_SOURCES = tests/unit/test_service.c
tests_unit_test_service_CPPFLAGS = $(unit_cppflags)
tests_unit_test_service_LDADD = $(unit_ldadd)

EXTRA_DIST += tests/unit/unit.h

tests_unit_test_state_SOURCES = tests/unit/test_state.c
tests_unit_test_state_CPPFLAGS = $(unit_cppflags)
tests_unit_test_state_LDADD = $(unit_ldadd)
