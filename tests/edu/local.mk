# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# The edu model against QEMU's spec, the edu sample driver against the model
# (concurrency, injected faults), the hosts (csx-run, csx-edu) from the
# command line, and a gdb session stopping in the driver's ISR.
# Scripts find the build through top_builddir/top_srcdir, which
# AM_TESTS_ENVIRONMENT (tests/checks.mk) exports.

edu_test_cppflags = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/samples/edu
edu_test_ldadd = libcsx-user.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/edu/test_edu_model tests/edu/test_edu_driver
tests_edu_test_edu_model_SOURCES = tests/edu/test_edu_model.c
tests_edu_test_edu_model_CPPFLAGS = $(edu_test_cppflags)
tests_edu_test_edu_model_LDADD = $(edu_test_ldadd)

# The driver is compiled in: the test calls its module init and fini.
tests_edu_test_edu_driver_SOURCES = tests/edu/test_edu_driver.c \
	samples/edu/csx_edu.c samples/edu/edu.h
tests_edu_test_edu_driver_CPPFLAGS = $(edu_test_cppflags)
tests_edu_test_edu_driver_LDADD = $(edu_test_ldadd)

# A module built for another module ABI, for csx-run's refusal.
check_LTLIBRARIES += tests/edu/bad_abi.la
tests_edu_bad_abi_la_SOURCES = tests/edu/bad_abi.c
tests_edu_bad_abi_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere $(AM_LDFLAGS)

# A client module putting concurrent checked load on the edu driver; also
# copied into the kernel test VM (tests/kernel/check-kernel.sh).
check_LTLIBRARIES += tests/edu/edu_load.la
tests_edu_edu_load_la_SOURCES = tests/edu/edu_load.c
tests_edu_edu_load_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/samples/edu
tests_edu_edu_load_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere $(AM_LDFLAGS)
tests_edu_edu_load_la_LIBADD = libcsx-user.la

edu_test_scripts = \
	tests/edu/edu-load.sh \
	tests/edu/csx-run-demo.sh \
	tests/edu/csx-run-cli.sh \
	tests/edu/edu-symbols.sh \
	tests/edu/gdb-isr.sh \
	tests/edu/tutorial.sh

TESTS += tests/edu/test_edu_model tests/edu/test_edu_driver \
	$(edu_test_scripts)
EXTRA_DIST += $(edu_test_scripts) tests/edu/lib.sh tests/edu/gdb-isr.gdb
