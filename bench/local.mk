# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Benchmarks against same-run baselines (bench/README.md). Built and run only
# by `make bench`, never by `make` or `make check`: timings are reported,
# never asserted.

bench_programs = bench/bench-intr bench/bench-dpc bench/bench-edu bench/bench-call \
	bench/ft-ping
# EXTRA_PROGRAMS: known to automake, built only when a rule asks for them.
EXTRA_PROGRAMS = $(bench_programs)

bench_common = bench/bench.h bench/bench_util.c bench/bench_lat.h \
	bench/bench_lat.c
bench_ldflags = $(AM_LDFLAGS) -no-install

bench_bench_intr_SOURCES = bench/bench_intr.c $(bench_common)
bench_bench_intr_LDADD = libcsx-user.la
bench_bench_intr_LDFLAGS = $(bench_ldflags)

bench_bench_dpc_SOURCES = bench/bench_dpc.c bench/bench_wq.h bench/bench_wq.c \
	$(bench_common)
bench_bench_dpc_LDADD = libcsx-user.la
bench_bench_dpc_LDFLAGS = $(bench_ldflags)

bench_bench_call_SOURCES = bench/bench_call.c $(bench_common)
bench_bench_call_LDADD = libcsx-user.la
bench_bench_call_LDFLAGS = $(bench_ldflags)

# The edu sample driver is compiled in unchanged (with its own object
# names), and started through its CSX_MODULE descriptor as csx-run would.
bench_bench_edu_SOURCES = bench/bench_edu.c samples/edu/csx_edu.c \
	samples/edu/edu.h $(bench_common)
bench_bench_edu_CFLAGS = $(AM_CFLAGS)
bench_bench_edu_LDADD = libcsx-user.la
bench_bench_edu_LDFLAGS = $(bench_ldflags)

# The baseline of bench-ft.sh (fault containment): a trivial server without
# CSX that the supervisor restarts instead of an edu instance. Also run in
# the test VM (tests/kernel/csx/payload-ft.sh).
bench_ft_ping_SOURCES = bench/ft_ping.c
bench_ft_ping_LDFLAGS = $(bench_ldflags)

# In the test VM (tests/kernel/check-kernel.sh): the CSX side of the
# user-mode interrupt benchmark, a driver module for csx-run, and its
# baseline on uio_pci_generic (a static program the kernel stage builds).
# check_: built by make check, so a broken one fails early on the host.
check_LTLIBRARIES += bench/vm/bench_uintr.la
bench_vm_bench_uintr_la_SOURCES = bench/vm/bench_uintr.c bench/vm/bench_vm.h
bench_vm_bench_uintr_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere $(AM_LDFLAGS)
bench_vm_bench_uintr_la_LIBADD = libcsx-user.la
# The user→kernel call benchmark: a csx_call() into bench_echo.ko, the raw
# /dev/csx ioctl and csx_null.ko's bare ioctl, interleaved. bench_echo is
# built here too, so its one source is checked in both modes.
check_LTLIBRARIES += bench/vm/bench_call_uk.la bench/vm/bench_echo.la
bench_vm_bench_echo_la_SOURCES = bench/vm/bench_echo.c bench/vm/bench_echo.h
bench_vm_bench_echo_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere $(AM_LDFLAGS)
bench_vm_bench_echo_la_LIBADD = libcsx-user.la
bench_vm_bench_call_uk_la_SOURCES = bench/vm/bench_call_uk.c \
	bench/vm/bench_echo.h bench/vm/bench_vm.h
bench_vm_bench_call_uk_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/helpers/include
bench_vm_bench_call_uk_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere $(AM_LDFLAGS)
bench_vm_bench_call_uk_la_LIBADD = libcsx-user.la

EXTRA_DIST += bench/vm/uio_lat.c bench/vm/efd_rt.c
EXTRA_DIST += bench/README.md bench/run.sh bench/report.sh bench/targets.txt \
	bench/bench-ft.sh
CLEANFILES += $(bench_programs) bench/rows.txt bench/results.json

.PHONY: bench
# bench-ft.sh drives the fault-containment test programs (tests/ft/).
bench: $(bench_programs) tests/ft/ft_client tests/ft/ft_ctl
	@$(SHELL) $(srcdir)/bench/run.sh $(srcdir)/bench bench
