# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# The user helper daemon (csx-uhelperd), for real: started on a socket in a
# temp dir, driven by a small client as root and as nobody, then fuzzed;
# and its supervisor, running a fake csx-run (supervisor.sh).
# The daemon is built with the same sanitizers as everything, so the ASan
# and TSan builds check it for leaks and races too.

check_PROGRAMS += tests/uh/uh_fuzz tests/uh/uh_client
tests_uh_uh_fuzz_SOURCES = tests/uh/uh_fuzz.c tests/uh/uh_util.c \
	tests/uh/uh_util.h
tests_uh_uh_client_SOURCES = tests/uh/uh_client.c tests/uh/uh_util.c \
	tests/uh/uh_util.h

TESTS += tests/uh/uhelperd.sh tests/uh/supervisor.sh
EXTRA_DIST += tests/uh/uhelperd.sh tests/uh/supervisor.sh
