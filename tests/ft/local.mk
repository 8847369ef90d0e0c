# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Fault containment (doc/fault-containment.md): edu instances under the
# supervisor of csx-uhelperd killed over and over under a checked load.
# ft_client and ft_ctl also go into the kernel test VM (payload-ft.sh) and
# into make bench (bench/bench-ft.sh).

check_PROGRAMS += tests/ft/ft_client tests/ft/ft_ctl
tests_ft_ft_client_SOURCES = tests/ft/ft_client.c tests/ft/ft_report.c \
	tests/ft/ft_client.h
tests_ft_ft_client_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/samples/edu
tests_ft_ft_client_LDADD = libcsx-user.la
# ft_ctl speaks the daemon protocol itself and links nothing of CSX.
tests_ft_ft_ctl_SOURCES = tests/ft/ft_ctl.c

TESTS += tests/ft/ft-host.sh
EXTRA_DIST += tests/ft/ft-host.sh tests/ft/ft-lib.sh tests/kernel/csx/payload-ft.sh
