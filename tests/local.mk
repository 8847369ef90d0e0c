# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Tests: unit tests of the core (mocked csx_os), the conformance suite on the
# user back end, the edu sample against the simulated device, repo checks.
include tests/unit/local.mk
include tests/conformance/local.mk
include tests/edu/local.mk
include tests/user/local.mk
include tests/calls/local.mk
include tests/uh/local.mk
include tests/ft/local.mk
include tests/checks.mk
