# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Tests of the user back end itself (libcsx-user), without a kernel: what
# it does when the kernel helper is missing or is not the helper.

check_PROGRAMS += tests/user/test_remote
TESTS += tests/user/test_remote
tests_user_test_remote_SOURCES = tests/user/test_remote.c
tests_user_test_remote_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
tests_user_test_remote_LDADD = libcsx-user.la $(CMOCKA_LIBS)

# User <-> user calls through a real csx-uhelperd (csx-user/csx_os_uh.c).
check_PROGRAMS += tests/user/test_uh
TESTS += tests/user/test_uh
tests_user_test_uh_SOURCES = tests/user/test_uh.c
tests_user_test_uh_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) \
	-DCSX_TEST_UHELPERD='"$(abs_top_builddir)/helpers/user/csx-uhelperd"'
tests_user_test_uh_LDADD = libcsx-user.la $(CMOCKA_LIBS)
EXTRA_tests_user_test_uh_DEPENDENCIES = helpers/user/csx-uhelperd

# Unit numbers the host asks for (--device ...,unit=N).
check_PROGRAMS += tests/user/test_units
TESTS += tests/user/test_units tests/user/csx-run-unit.sh
tests_user_test_units_SOURCES = tests/user/test_units.c
tests_user_test_units_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
tests_user_test_units_LDADD = libcsx-user.la $(CMOCKA_LIBS)
EXTRA_DIST += tests/user/csx-run-unit.sh
