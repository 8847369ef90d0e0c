#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# The calls sample in user mode, both modules in one process (the direct
# path): checked concurrent calls with payloads up to CSX_CALL_MAX_PAYLOAD,
# a version mismatch refused at open, background calls until fini. The VM
# runs the same client against the service as a kernel module.
. "$(dirname "$0")/../edu/lib.sh"

run_status ./csx-run --once samples/calls/calls_svc.la samples/calls/calls_client.la
[ $rc = 0 ] || fail "exit $rc"
expect "$out" "calls_svc: exported calls/echo version 2" \
	"calls_client: 1000 calls OK on calls/echo version 2" \
	"calls_client: shared buffer: 4194304-byte echo and sum OK" \
	"calls_client: 32 asynchronous calls from a DPC OK" \
	"BENCH-RAW call64 n=2001 median=" \
	"calls_client: background: 4 thread(s) running" \
	"calls_svc: withdrawn after"
printf '%s\n' "$out" | grep -q "calls_client: background: [0-9]* calls, 0 peer gone, 0 other errors" ||
	fail "background calls failed"

# Without the service: the client's init fails at open, clearly.
run_status ./csx-run --once samples/calls/calls_client.la
[ $rc = 2 ] || fail "client alone: exit $rc, want 2 (CSX_ENOENT)"
expect "$out" "calls_client: open at version 3: no such service, device or object, expected CSX_EPROTO"
echo "$me: PASS"
