# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Repository checks run by make check.
TESTS += tests/checks/no-mode-conditionals.sh \
	tests/checks/selftest-mode-check.sh \
	tests/checks/port-contract.sh \
	tests/kernel/parse-console-selftest.sh \
	tests/checks/format.sh
EXTRA_DIST += tests/checks/no-mode-conditionals.sh \
	tests/checks/selftest-mode-check.sh tests/checks/port-contract.sh \
	tests/kernel/parse-console-selftest.sh tests/checks/format.sh
AM_TESTS_ENVIRONMENT = top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir;
