# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# The calls sample (module-to-module calls) in user mode; the VM runs it
# across the user/kernel boundary (tests/kernel/csx/payload-calls.sh).
TESTS += tests/calls/calls-user.sh
EXTRA_DIST += tests/calls/calls-user.sh
# User <-> user through csx-uhelperd: two csx-run processes.
TESTS += tests/calls/calls-uu.sh
EXTRA_DIST += tests/calls/calls-uu.sh
