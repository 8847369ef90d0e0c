#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# The calls sample user <-> user: calls_svc and calls_client in two csx-run
# processes, introduced by a real csx-uhelperd on a private socket. The
# same client checks as in one process (concurrent calls, payloads up to
# 64 KiB and the 1 MiB limit, version refused at open), then:
# - the exporter is SIGKILLed while the client's background threads call
#   it: they see CSX_EPEERDIED, no other error, and the client ends cleanly;
# - the daemon is restarted under a running exporter: the exporter
#   registers again by itself and a new client reaches it.
. "$(dirname "$0")/../edu/lib.sh"

tmp=$(mktemp -d)
daemon=
svc=
cli=
cleanup() {
	for p in $cli $svc $daemon; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export CSX_UHELPERD_SOCKET="$tmp/uhelperd.sock"
uhd=./helpers/user/csx-uhelperd

start_daemon() {
	"$uhd" --socket "$CSX_UHELPERD_SOCKET" >>"$tmp/daemon.log" 2>&1 &
	daemon=$!
	i=0
	until "$uhd" --status --socket "$CSX_UHELPERD_SOCKET" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 200 ] || fail "csx-uhelperd did not start: $(cat "$tmp/daemon.log")"
		sleep 0.05
	done
}

# wait_listed NAME: the daemon lists service NAME (bounded wait).
wait_listed() {
	i=0
	until "$uhd" --status --socket "$CSX_UHELPERD_SOCKET" 2>/dev/null |
		grep -qF "  $1 "; do
		i=$((i + 1))
		[ $i -lt 200 ] || fail "$1 never registered with the daemon"
		sleep 0.05
	done
}

start_svc() {
	./csx-run samples/calls/calls_svc.la >"$tmp/svc$1.log" 2>&1 &
	svc=$!
	wait_listed calls/echo
}

start_daemon
start_svc 1

# 1. A complete client run in another process.
run_status ./csx-run --once samples/calls/calls_client.la
[ $rc = 0 ] || fail "client: exit $rc"
expect "$out" "calls_client: 1000 calls OK on calls/echo version 2" \
	"calls_client: shared buffer: 4194304-byte echo and sum OK" \
	"calls_client: 32 asynchronous calls from a DPC OK" \
	"BENCH-RAW call64 n=2001 median=" \
	"calls_client: background: 4 thread(s) running"
printf '%s\n' "$out" | grep -q "calls_client: background: [0-9]* calls, 0 peer gone, 0 other errors" ||
	fail "background calls failed"

# 2. The exporter dies under load.
./csx-run samples/calls/calls_client.la >"$tmp/cli.log" 2>&1 &
cli=$!
i=0
until grep -q "background: 4 thread(s) running" "$tmp/cli.log"; do
	i=$((i + 1))
	[ $i -lt 400 ] || fail "client did not start: $(cat "$tmp/cli.log")"
	sleep 0.05
done
sleep 0.3
kill -9 "$svc"
wait "$svc" 2>/dev/null
svc=
sleep 0.3
kill -TERM "$cli"
wait "$cli"
rc=$?
cli=
sed 's/^/  cli | /' "$tmp/cli.log"
[ $rc = 0 ] || fail "client after the exporter died: exit $rc"
line=$(grep "calls_client: background: [0-9]* calls" "$tmp/cli.log")
printf '%s\n' "$line" | grep -q ", 0 other errors" ||
	fail "calls failed otherwise than CSX_EPEERDIED: $line"
printf '%s\n' "$line" | grep -q ", 0 peer gone" &&
	fail "no call saw the exporter die: $line"
# The daemon forgot the dead exporter's service.
"$uhd" --status --socket "$CSX_UHELPERD_SOCKET" | grep -qF "  calls/echo " &&
	fail "the daemon still lists calls/echo of a dead process"

# 3. The daemon restarts under a running exporter.
start_svc 2
kill -TERM "$daemon"
wait "$daemon"
start_daemon
wait_listed calls/echo
run_status ./csx-run --once samples/calls/calls_client.la
[ $rc = 0 ] || fail "client after a daemon restart: exit $rc"
expect "$out" "calls_client: 1000 calls OK on calls/echo version 2"
kill -TERM "$svc"
wait "$svc" || fail "exporter: exit $?"
svc=
expect "$(cat "$tmp/svc2.log")" "calls_svc: withdrawn after"
echo "$me: PASS"
