#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# csx-uhelperd for real, on a socket in a temp dir: --status, a second
# daemon refused (69), a stale socket of a SIGKILLed daemon replaced,
# service scopes across uids (root exports, nobody opens), a name exported
# by two uids (refused) and by two processes of one uid (instances, opened
# in turn, with their idempotent mask), services gone with their exporter,
# OPEN that waits for its service (served once it appears, -ENOENT when
# time is up), saved state (put, get from another process, refused
# memfds, limits, drop; another uid sees none of it), --events for
# services (filtered by scope), --max-clients, --max-per-uid, SIGHUP, then uh_fuzz for
# ${CSX_UH_FUZZ_SECS:-5} s, and a clean SIGTERM exit (0, socket removed).
# The supervisor has its own test (supervisor.sh). In sanitizer builds the
# daemon is sanitized too: a leak or race report in its stderr, or a
# non-zero exit, fails the test.
. "$(dirname "$0")/../edu/lib.sh"

daemon=$top_builddir/helpers/user/csx-uhelperd
fuzz=$top_builddir/tests/uh/uh_fuzz
tmp=$(mktemp -d) || exit 99
pids=
nexp=0
cleanup() {
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# nobody must reach the socket and run the client: a 0755 dir of our own.
chmod 755 "$tmp"
cp "$top_builddir/tests/uh/uh_client" "$tmp/uh_client" || exit 99
cp "$daemon" "$tmp/csx-uhelperd" || exit 99
chmod 755 "$tmp/uh_client" "$tmp/csx-uhelperd"
client=$tmp/uh_client
sock=$tmp/run/uhelperd.sock
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
uid=$(id -u)

# Fails on anything a sanitizer printed in LOG.
check_log() {
	if grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$1"; then
		fail "sanitizer report in $1"
	fi
}

# start_daemon SOCKET LOG [ARG...]: in the background ($dpid), until it
# listens. (Not polled with --status: --max-clients counts connections.)
start_daemon() {
	s=$1
	log=$2
	shift 2
	"$daemon" --socket "$s" "$@" 2>"$log" &
	dpid=$!
	pids="$pids $dpid"
	i=0
	until grep -q "listening on $s" "$log"; do
		kill -0 "$dpid" 2>/dev/null || fail "daemon exited: $(cat "$log")"
		i=$((i + 1))
		[ $i -lt 200 ] || fail "daemon not listening: $(cat "$log")"
		sleep 0.05
	done
}

# stop_daemon SOCKET LOG: SIGTERM must give exit 0, no socket, clean log.
stop_daemon() {
	kill -TERM "$dpid"
	wait "$dpid"
	rc=$?
	echo "daemon exit status $rc"
	[ $rc = 0 ] || fail "daemon exit $rc on SIGTERM: $(tail -n 30 "$2")"
	[ ! -e "$1" ] || fail "socket $1 left behind"
	check_log "$2"
}

# export_bg [AS...] -- NAME VERSION SCOPE: an exporter holding its export
# ($epid); its "status=S" line in $estatus.
export_bg() {
	as=
	while [ "$1" != -- ]; do
		as="$as $1"
		shift
	done
	shift
	nexp=$((nexp + 1))
	eout=$tmp/export.$nexp
	$as "$client" "$sock" export "$@" >"$eout" 2>&1 &
	epid=$!
	pids="$pids $epid"
	i=0
	until grep -q '^status=' "$eout"; do
		i=$((i + 1))
		[ $i -lt 200 ] || fail "exporter of $1 silent: $(cat "$eout")"
		sleep 0.05
	done
	estatus=$(grep '^status=' "$eout")
	echo "export $*: $estatus"
}

# open_as [AS...] -- NAME MINVER: "status=S value=V fd=yes|no" in $out.
open_as() {
	as=
	while [ "$1" != -- ]; do
		as="$as $1"
		shift
	done
	shift
	run_status $as "$client" "$sock" open "$@"
	[ $rc = 0 ] || fail "uh_client open $*: exit $rc"
}

log1=$tmp/daemon1.log
log2=$tmp/daemon2.log

# An empty registry; the parent directory is created, mode 0755.
start_daemon "$sock" "$log1"
run_status "$daemon" --socket "$sock" --status
[ $rc = 0 ] || fail "--status exit $rc"
[ -z "$out" ] || fail "--status lists something on a new daemon"
[ "$(stat -c %a "$tmp/run")" = 755 ] || fail "socket dir not 0755"
[ "$(stat -c %a "$sock")" = 666 ] || fail "socket not 0666"

# A second daemon on the same socket: 69, and the first one is unharmed.
run_status "$daemon" --socket "$sock"
[ $rc = 69 ] || fail "second daemon: exit $rc, want 69"
expect "$out" "already running"
"$daemon" --socket "$sock" --status >/dev/null || fail "first daemon hurt"

# Bad usage is 64; --status without a daemon is 69.
run_status "$daemon" --max-clients 0
[ $rc = 64 ] || fail "bad usage: exit $rc, want 64"
run_status "$daemon" --socket "$tmp/none.sock" --status
[ $rc = 69 ] || fail "--status without daemon: exit $rc, want 69"

# SIGKILL leaves the socket file; the next daemon replaces it.
kill -9 "$dpid"
wait "$dpid"
[ -S "$sock" ] || fail "no stale socket after SIGKILL"
check_log "$log1"
start_daemon "$sock" "$log2"
expect "$(cat "$log2")" "removed stale socket $sock"

# Scopes: root's USER service is root's (and its uid's) only, PUBLIC is
# everyone's. uid 65534 must not open the first, may open the second.
export_bg -- perm/user 1 user
[ "$estatus" = status=0 ] || fail "export perm/user: $estatus"
user_pid=$epid
export_bg -- perm/public 2 public
[ "$estatus" = status=0 ] || fail "export perm/public: $estatus"
public_pid=$epid
if [ "$uid" = 0 ]; then
	open_as $nobody -- perm/user 1
	expect "$out" "status=-1 value=0 fd=no"
	expect "$(cat "$log2")" "refused (EPERM): OPEN perm/user: uid 65534 may not open a service of uid 0"
	# Refused before its version is looked at: strangers learn no more.
	open_as $nobody -- perm/user 9
	expect "$out" "status=-1 value=0 fd=no"
	open_as $nobody -- perm/public 2
	expect "$out" "status=0 value=2 fd=yes"
else
	echo "$me: not root: no second uid, scopes checked for one uid only"
fi
open_as -- perm/user 1
expect "$out" "status=0 value=1 fd=yes"
open_as -- perm/public 3
expect "$out" "status=-71 value=0 fd=no"
open_as -- perm/missing 0
expect "$out" "status=-2 value=0 fd=no"

# A name belongs to one uid: another is refused.
if [ "$uid" = 0 ]; then
	export_bg $nobody -- perm/public 5 public
	[ "$estatus" = status=-17 ] ||
		fail "export of root's perm/public by uid 65534: $estatus"
	expect "$(cat "$log2")" "EXPORT perm/public: exported by pid $public_pid of uid 0"
else
	echo "$me: not root: no second uid, the other-uid EXPORT collision is not checked"
fi

# The registry, by --status and by SIGHUP.
run_status "$daemon" --socket "$sock" --status
expect "$out" "  perm/user v1 user" "  perm/public v2 public" \
	"uid=$uid name=uh_client services=1"
kill -HUP "$dpid"
sleep 0.2
expect "$(cat "$log2")" "registry:   perm/public v2 public"

# An exporter that dies takes its services along.
kill -9 "$public_pid" "$user_pid"
wait "$public_pid" "$user_pid"
i=0
while :; do
	open_as -- perm/public 0
	case $out in *status=-2*) break ;; esac
	i=$((i + 1))
	[ $i -lt 40 ] || fail "perm/public still open after its exporter died"
	sleep 0.05
done
expect "$(cat "$log2")" "service(s) withdrawn"

# wait_for FILE PATTERN: until FILE has a line with the fixed string
# PATTERN; bounded (10 s).
wait_for() {
	i=0
	until grep -qF -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 200 ] || fail "no \"$2\" in $1: $(cat "$1")"
		sleep 0.05
	done
}

# Instances: two processes of one uid export one name; OPEN takes them in
# turn, and says what the chosen one marked idempotent.
export_bg -- rr/svc 2 public 0x5
[ "$estatus" = status=0 ] || fail "first instance of rr/svc: $estatus"
rr1=$epid
rr1out=$eout
export_bg -- rr/svc 2 public 0x5
[ "$estatus" = status=0 ] || fail "second instance of rr/svc: $estatus"
rr2=$epid
rr2out=$eout
run_status "$client" "$sock" open-many rr/svc 1 4
[ "$(printf '%s\n' "$out" | grep -c 'status=0 value=2 fd=yes aux=0x5')" = 4 ] ||
	fail "4 opens of rr/svc"
i=0
until [ "$(grep -c '^connect rr/svc' "$rr1out")" = 2 ] &&
	[ "$(grep -c '^connect rr/svc' "$rr2out")" = 2 ]; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "not 2 + 2 channels: $(cat "$rr1out" "$rr2out")"
	sleep 0.05
done
kill "$rr1" "$rr2"
wait "$rr1" "$rr2" 2>/dev/null

# OPEN with CSX_UH_OPEN_WAIT: held until the service appears, then served
# as any open; or -ENOENT once its time is up.
wout=$tmp/wait.out
"$client" "$sock" open-wait wait/svc 2 30000 >"$wout" 2>&1 &
wpid=$!
pids="$pids $wpid"
wait_for "$wout" waiting
i=0
until "$daemon" --socket "$sock" --status | grep -q ' waiting=1'; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "the OPEN is not held"
	sleep 0.05
done
[ "$(cat "$wout")" = waiting ] || fail "answered before the export: $(cat "$wout")"
export_bg -- wait/svc 3 user 0x2
[ "$estatus" = status=0 ] || fail "export wait/svc: $estatus"
wait "$wpid"
expect "$(cat "$wout")" "status=0 value=3 fd=yes aux=0x2"
wait_for "$eout" "connect wait/svc pid=$wpid"
kill "$epid"
wait "$epid" 2>/dev/null
run_status "$client" "$sock" open-wait wait/none 0 200
expect "$out" "status=-2 value=0 fd=no"
expect "$(cat "$log2")" "OPEN wait/none: no exporter appeared in time"

# Saved state: a sealed memfd outlives the process that put it; what is
# not one, or not sealed, or not of its size, is refused; limits hold.
run_status "$client" "$sock" state-put st/a 8192 7
[ "$out" = status=0 ] || fail "state-put st/a: $out"
run_status "$client" "$sock" state-get st/a
expect "$out" "status=0 value=1 fd=yes size=8192 byte=7"
run_status "$daemon" --socket "$sock" --status
expect "$out" "state key=uid:$uid/uh_client name=st/a size=8192 uid=$uid"
if [ "$uid" = 0 ]; then
	run_status $nobody "$client" "$sock" state-get st/a
	expect "$out" "status=-2 value=0 fd=no"
fi
for kind in unsealed notmemfd size nofd twofds; do
	run_status "$client" "$sock" state-bad st/bad $kind
	[ "$out" = status=-22 ] || fail "state-bad $kind: $out"
done
expect "$(cat "$log2")" "refused (EINVAL): STATE_PUT st/bad: not a memfd" \
	"refused (EINVAL): STATE_PUT st/bad: memfd without F_SEAL_SHRINK" \
	"refused (EINVAL): STATE_PUT st/bad: memfd size differs"
n=1
while [ $n -lt 16 ]; do
	run_status "$client" "$sock" state-put st/r$n 4096 1
	[ "$out" = status=0 ] || fail "state-put st/r$n: $out"
	n=$((n + 1))
done
run_status "$client" "$sock" state-put st/r16 4096 1
[ "$out" = status=-28 ] || fail "17th region of a key: $out"
run_status "$client" "$sock" state-put st/r1 8192 2
[ "$out" = status=0 ] || fail "replacing st/r1: $out"
n=1
while [ $n -lt 16 ]; do
	run_status "$client" "$sock" state-drop st/r$n
	[ "$out" = status=0 ] || fail "state-drop st/r$n: $out"
	n=$((n + 1))
done
# 256 MiB per uid: st/a and three 64 MiB regions leave no room for a fourth.
for n in 1 2 3; do
	run_status "$client" "$sock" state-put st/big$n 67108864 0
	[ "$out" = status=0 ] || fail "state-put st/big$n: $out"
done
run_status "$client" "$sock" state-put st/big4 67108864 0
[ "$out" = status=-28 ] || fail "over the per-uid bytes: $out"
for n in 1 2 3; do
	run_status "$client" "$sock" state-drop st/big$n
done
run_status "$client" "$sock" state-drop st/a
[ "$out" = status=0 ] || fail "state-drop st/a: $out"
run_status "$client" "$sock" state-drop st/a
[ "$out" = status=-2 ] || fail "state-drop st/a twice: $out"
run_status "$client" "$sock" state-get st/a
expect "$out" "status=-2 value=0 fd=no"

# --events: services come and go; a USER service only to its uid (and
# root).
evout=$tmp/events.out
"$daemon" --socket "$sock" --events >"$evout" 2>&1 &
evpid=$!
pids="$pids $evpid"
wait_for "$evout" "# subscribed to $sock"
if [ "$uid" = 0 ]; then
	nevout=$tmp/events-nobody.out
	$nobody "$tmp/csx-uhelperd" --socket "$sock" --events >"$nevout" 2>&1 &
	nevpid=$!
	pids="$pids $nevpid"
	wait_for "$nevout" "# subscribed to $sock"
fi
export_bg -- ev/user 1 user
evu=$epid
export_bg -- ev/public 1 public
evp=$epid
kill "$evu" "$evp"
wait "$evu" "$evp" 2>/dev/null
wait_for "$evout" "SERVICE_DOWN ev/public pid $evp"
expect "$(cat "$evout")" "SERVICE_UP ev/user pid $evu container uh_client" \
	"SERVICE_DOWN ev/user pid $evu" "SERVICE_UP ev/public pid $evp"
if [ "$uid" = 0 ]; then
	wait_for "$nevout" "SERVICE_DOWN ev/public pid $evp"
	! grep -q ev/user "$nevout" ||
		fail "uid 65534 told of root's USER service: $(cat "$nevout")"
	kill "$nevpid"
	wait "$nevpid" 2>/dev/null
fi
kill "$evpid"
wait "$evpid" 2>/dev/null

# --max-clients: one more connection is accepted and closed at once.
mlog=$tmp/max.log
main_dpid=$dpid
start_daemon "$tmp/max.sock" "$mlog" --max-clients 1
max_dpid=$dpid
sock_main=$sock
sock=$tmp/max.sock
export_bg -- max/held 1 public
[ "$estatus" = status=0 ] || fail "export on the 1-client daemon: $estatus"
run_status "$client" "$sock" open max/held 0
[ $rc = 3 ] || fail "client beyond --max-clients: exit $rc, want 3"
expect "$(cat "$mlog")" "refused: 1 clients already (--max-clients)"
# Stopped with a container and its service still registered: all freed
# (the ASan build checks), and the exporter sees the hang-up and exits.
dpid=$max_dpid
stop_daemon "$sock" "$mlog"
wait "$epid"
rc=$?
[ $rc = 0 ] || fail "exporter exit $rc after the daemon stopped"
sock=$sock_main
dpid=$main_dpid

# --max-per-uid: a user other than root gets that many connections; root
# is not counted against it.
if [ "$uid" = 0 ]; then
	ulog=$tmp/peruid.log
	main_dpid=$dpid
	start_daemon "$tmp/peruid.sock" "$ulog" --max-per-uid 1
	peruid_dpid=$dpid
	sock_main=$sock
	sock=$tmp/peruid.sock
	export_bg $nobody -- peruid/held 1 public
	[ "$estatus" = status=0 ] || fail "export by uid 65534: $estatus"
	run_status $nobody "$client" "$sock" open peruid/held 0
	[ $rc = 3 ] || fail "second connection of uid 65534: exit $rc, want 3"
	expect "$(cat "$ulog")" "refused: uid 65534 has 1 connections already (--max-per-uid)"
	open_as -- peruid/held 1
	expect "$out" "status=0 value=1 fd=yes"
	dpid=$peruid_dpid
	stop_daemon "$sock" "$ulog"
	wait "$epid"
	sock=$sock_main
	dpid=$main_dpid
fi

# --hello-timeout: a connection that says nothing loses its slot.
hlog=$tmp/hello.log
start_daemon "$tmp/hello.sock" "$hlog" --hello-timeout 1
run_status "$client" "$tmp/hello.sock" idle 5
[ "$out" = closed ] || fail "a silent connection was not closed: $out"
expect "$(cat "$hlog")" "no HELLO within 1 s"
run_status "$client" "$tmp/hello.sock" open nobody/there 0
expect "$out" "status=-2"
sock_main=$sock
sock=$tmp/hello.sock
stop_daemon "$sock" "$hlog"
sock=$sock_main
dpid=$main_dpid

# Hostile traffic; the daemon must come out working and with no fd leak.
secs=${CSX_UH_FUZZ_SECS:-5}
"$fuzz" "$sock" "$secs" "$dpid"
rc=$?
[ $rc = 0 ] || fail "uh_fuzz exit $rc (daemon log: $log2)"
kill -0 "$dpid" || fail "daemon died in the fuzz: $(tail -n 30 "$log2")"
run_status "$daemon" --socket "$sock" --status
[ $rc = 0 ] || fail "--status after the fuzz: exit $rc"
[ -z "$out" ] || fail "fuzz left containers behind"
echo "daemon log: $(wc -l <"$log2") lines"

stop_daemon "$sock" "$log2"
echo "$me: PASS"
