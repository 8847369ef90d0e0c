#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# csx-uhelperd --config: the supervisor, with a fake csx-run (a shell
# script, --csx-run) so that nothing else is needed. Checked: the command
# line and environment of each instance; the saved-state key of a
# supervised process ("CONTAINER/INSTANCE", whatever its pid); restart
# after kill -9 with a doubling backoff, READY once it serves again, its
# saved state back; give-up after a crash loop; exit 0 under on-failure
# and anything under never -> STOPPED; always restarts an exit 0; exit 69
# early in a run retried without counting; config errors (64, FILE:LINE);
# --events; the daemon SIGKILLed and started again -> ADOPTED, no second
# launch, and a restart once the adopted process dies; SIGTERM stops every
# child. No assertion on timing: waits are bounded, generously.
. "$(dirname "$0")/../edu/lib.sh"

daemon=$top_builddir/helpers/user/csx-uhelperd
client=$top_builddir/tests/uh/uh_client
tmp=$(mktemp -d) || exit 99
pids=
cleanup() {
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	# Whatever the daemons left: only processes this test launched.
	if [ -f "$tmp/launches" ]; then
		for p in $(sed -n 's/^launch pid=\([0-9]*\) .*/\1/p' "$tmp/launches"); do
			kill -9 "$p" 2>/dev/null
		done
	fi
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

sock=$tmp/uhd.sock
log=$tmp/daemon.log
cout=$tmp/children.out
evlog=$tmp/events.out
launches=$tmp/launches
go=$tmp/go
FAKE_LOG=$launches
FAKE_GO=$go
FAKE_CLIENT=$client
export FAKE_LOG FAKE_GO FAKE_CLIENT

# The fake csx-run: notes its launch, then does what its first option says.
fake=$tmp/fake-csx-run
cat >"$fake" <<'EOF'
#!/bin/sh
echo "launch pid=$$ container=$CSX_CONTAINER instance=$CSX_INSTANCE socket=$CSX_UHELPERD_SOCKET args=$*" >>"$FAKE_LOG"
runs=$(grep -c "container=$CSX_CONTAINER instance=$CSX_INSTANCE " "$FAKE_LOG")
go() {
	while [ ! -e "$FAKE_GO" ]; do sleep 0.05; done
}
case $1 in
--fake=instance)
	exec "$FAKE_CLIENT" "$CSX_UHELPERD_SOCKET" instance \
		"$CSX_CONTAINER/svc$CSX_INSTANCE" "$CSX_CONTAINER/state" ;;
--fake=sleep) exec sleep 600 ;;
--fake=wait-exit*) go; exit "${1#--fake=wait-exit}" ;;
--fake=exit0-once) [ "$runs" -gt 1 ] && exec sleep 600; go; exit 0 ;;
--fake=claimed) [ "$runs" -gt 3 ] && exec sleep 600; exit 69 ;;
esac
exit 99
EOF
chmod 755 "$fake"

conf=$tmp/containers.conf
cat >"$conf" <<'EOF'
# every policy, against the fake csx-run
[svc]
args = --fake=instance
device = sim,unit=%i   # one per instance
module = /fake/csx_a.so /fake/csx_b.so
instances = 2
backoff = 100ms 1s
stable = 60s

[sleeper]
args = --fake=sleep
module = m.so

[crash]
args = --fake=wait-exit1
module = m.so
backoff = 10ms 40ms
give-up = 3 60s

[clean]
args = --fake=wait-exit0
module = m.so

[never]
args = --fake=wait-exit3
module = m.so
restart = never

[always]
args = --fake=exit0-once
module = m.so
restart = always

[claimed]
args = --fake=claimed
module = m.so
backoff = 10ms
give-up = 1 60s
EOF

# Fails on anything a sanitizer printed in LOG.
check_log() {
	if grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$1"; then
		fail "sanitizer report in $1"
	fi
}

# wait_for FILE PATTERN [COUNT]: until FILE has COUNT (1) lines with the
# fixed string PATTERN; bounded (20 s).
wait_for() {
	i=0
	while [ "$(grep -cF -- "$2" "$1" 2>/dev/null)" -lt "${3:-1}" ]; do
		i=$((i + 1))
		[ $i -lt 400 ] || fail "no \"$2\" (x${3:-1}) in $1:
$(cat "$1")
--- daemon log:
$(tail -n 40 "$log")"
		sleep 0.05
	done
}

# wait_status PATTERN: until --status shows PATTERN (bounded); in $st.
wait_status() {
	i=0
	while :; do
		st=$("$daemon" --socket "$sock" --status 2>&1)
		case $st in *"$1"*) return ;; esac
		i=$((i + 1))
		[ $i -lt 400 ] || fail "--status never showed \"$1\":
$st"
		sleep 0.05
	done
}

start_daemon() {
	"$daemon" --socket "$sock" --config "$conf" --csx-run "$fake" \
		"$@" >>"$cout" 2>>"$log" &
	dpid=$!
	pids="$pids $dpid"
	wait_for "$log" "listening on $sock"
}

start_events() {
	: >"$evlog"
	"$daemon" --socket "$sock" --events >"$evlog" 2>&1 &
	evpid=$!
	pids="$pids $evpid"
	wait_for "$evlog" "# subscribed to $sock"
}

# expect_line FILE REGEX...: every (basic) REGEX matches a line of FILE.
expect_line() {
	f=$1
	shift
	for re in "$@"; do
		grep -q -- "$re" "$f" || fail "no line like \"$re\" in $f:
$(cat "$f")"
	done
}

# Alive, and not a zombie nobody reaps (PID 1 may not, in a container).
alive() {
	[ -r "/proc/$1/stat" ] &&
		! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

# The pid of instance $1 ("name/index") per --status.
inst_pid() {
	"$daemon" --socket "$sock" --status |
		sed -n "s|^container=$1 pid=\([0-9]*\) .*|\1|p"
}

# Config errors: exit 64 and FILE:LINE, before anything is started.
bad_conf() {
	line=$1
	shift
	printf '%s\n' "$@" >"$tmp/bad.conf"
	run_status "$daemon" --socket "$tmp/bad.sock" --config "$tmp/bad.conf" \
		--csx-run "$fake"
	[ $rc = 64 ] || fail "bad config: exit $rc, want 64"
	expect "$out" "$tmp/bad.conf:$line: "
	[ ! -e "$tmp/bad.sock" ] || fail "a socket despite a bad config"
}
bad_conf 2 "[a]" "modul = x"
bad_conf 1 "[a]" "instances = 2"
bad_conf 1 "module = x"
bad_conf 1 "[bad name]" "module = x"
bad_conf 3 "[a]" "module = x" "[a]" "module = y"
bad_conf 2 "[a]" "instances = 0" "module = x"
bad_conf 2 "[a]" "instances = 65" "module = x"
bad_conf 3 "[a]" "module = x" "backoff = 100 ms"
bad_conf 3 "[a]" "module = x" "restart = sometimes"
bad_conf 3 "[a]" "module = x" "give-up = 5"
bad_conf 3 "[a]" "module = x" "device = unit=%d"
bad_conf 4 "[a]" "module = x" "stable = 1s" "stable = 2s"
bad_conf 1 "[a" "module = x"
[ ! -e "$launches" ] || fail "a bad config launched something"

# Launch: command line, environment, and what --status says.
start_daemon
wait_status "container=svc/1 pid="
wait_for "$cout" "state svc/state put gen=1" 2
wait_for "$launches" "container=claimed instance=0 " 4
log_launch=$(cat "$launches")
expect "$log_launch" \
	"container=svc instance=0 socket=$sock args=--fake=instance --device sim,unit=0 /fake/csx_a.so /fake/csx_b.so" \
	"container=svc instance=1 socket=$sock args=--fake=instance --device sim,unit=1 /fake/csx_a.so /fake/csx_b.so" \
	"container=sleeper instance=0 socket=$sock args=--fake=sleep m.so"
wait_status "  svc/svc1 v1 user"
expect "$st" "state key=svc/0 name=svc/state size=4096" \
	"state key=svc/1 name=svc/state size=4096" \
	"container=svc/0" "container=sleeper/0 pid="
# Exit 69 at once, three times: retried soon, not counted (give-up = 1).
wait_status "container=claimed/0 pid="
expect "$st" "state=running restarts=3"
[ "$(grep -c 'container claimed/0: exit 69 after' "$log")" = 3 ] ||
	fail "claimed/0: three exits 69 not retried as transient"
expect "$(cat "$log")" "not counted as a failure"
! grep -q "container claimed/0: gave up" "$log" ||
	fail "exit 69 early in a run counted as a failure"

# Policies, seen through --events.
start_events
touch "$go"
wait_for "$evlog" "GAVE_UP crash/0"
wait_for "$evlog" "STOPPED clean/0"
wait_for "$evlog" "STOPPED never/0"
wait_for "$evlog" "STARTED always/0"
expect_line "$evlog" \
	'^EXITED crash/0 pid [0-9]* status 1 restarts 0 delay_ms 0$' \
	'^RESTARTING crash/0 pid [0-9]* status 1 restarts 1 delay_ms 10$' \
	'^RESTARTING crash/0 pid [0-9]* status 1 restarts 2 delay_ms 20$' \
	'^RESTARTING crash/0 pid [0-9]* status 1 restarts 3 delay_ms 40$' \
	'^GAVE_UP crash/0 pid [0-9]* status 1 restarts 3 ' \
	'^EXITED clean/0 pid [0-9]* status 0 ' \
	'^STOPPED clean/0 pid [0-9]* status 0 ' \
	'^EXITED never/0 pid [0-9]* status 3 ' \
	'^RESTARTING always/0 pid [0-9]* status 0 restarts 1 delay_ms 100$' \
	'^STARTED always/0 pid [0-9]* status 0 restarts 1 '
[ "$(grep -c '^EXITED crash/0 .* status 1 ' "$evlog")" = 4 ] ||
	fail "crash/0: not 4 failures before giving up"
expect "$(cat "$log")" "container crash/0: gave up after 4 failures in 60 s"
! grep -q '^RESTARTING \(clean\|never\)/0' "$evlog" ||
	fail "restarted clean/0 or never/0"
wait_status "container=crash/0"
expect "$st" "state=gave-up" "state=stopped"

# kill -9: restarted after the backoff, which doubles while it keeps
# failing; READY when it exports again, with its saved state.
p1=$(inst_pid svc/1)
[ -n "$p1" ] || fail "no pid for svc/1"
kill -9 "$p1"
wait_for "$evlog" "READY svc/1"
ev=$(cat "$evlog")
expect "$ev" "EXITED svc/1 pid $p1 status -9 restarts 0" \
	"RESTARTING svc/1 pid $p1 status -9 restarts 1 delay_ms 100" \
	"SERVICE_DOWN svc/svc1 pid $p1 container svc instance 1"
p2=$(inst_pid svc/1)
expect "$ev" "STARTED svc/1 pid $p2 status 0 restarts 1" \
	"SERVICE_UP svc/svc1 pid $p2 container svc instance 1"
wait_for "$cout" "state svc/state restored gen=1"
expect "$(cat "$log")" "container svc/1: serving again "
kill -9 "$p2"
wait_for "$evlog" "READY svc/1" 2
expect "$(cat "$evlog")" \
	"RESTARTING svc/1 pid $p2 status -9 restarts 2 delay_ms 200"
wait_for "$cout" "state svc/state restored gen=2"
wait_status "container=svc/1"
expect "$st" "state key=svc/1 name=svc/state size=4096"

# The daemon SIGKILLed: its children run on; the next daemon adopts them
# (no second launch), tells new subscribers, and restarts one that dies.
wait_status "container=always/0"
sl=$(inst_pid sleeper/0)
al=$(inst_pid always/0)
[ -n "$sl" ] && [ -n "$al" ] || fail "no pids for sleeper/0, always/0"
grep -q "^sleeper 0 $sl " "$sock.containers" ||
	fail "sleeper/0 not in the state file: $(cat "$sock.containers")"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
wait "$evpid" 2>/dev/null
alive "$sl" || fail "sleeper/0 died with the daemon"
check_log "$log"
nlaunch=$(grep -c 'container=sleeper ' "$launches")
start_daemon
wait_status "container=sleeper/0 pid=$sl state=running restarts=0 adopted"
expect "$st" "container=always/0 pid=$al state=running"
expect "$(cat "$log")" "container sleeper/0: adopted pid $sl"
[ "$(grep -c 'container=sleeper ' "$launches")" = "$nlaunch" ] ||
	fail "sleeper/0 launched again instead of adopted"
start_events
wait_for "$evlog" "ADOPTED sleeper/0 pid $sl"
kill -9 "$sl"
wait_for "$evlog" "STARTED sleeper/0"
expect "$(cat "$evlog")" "EXITED sleeper/0 pid $sl status -1000" \
	"RESTARTING sleeper/0 pid $sl status -1000 restarts 1"
[ "$(grep -c 'container=sleeper ' "$launches")" = $((nlaunch + 1)) ] ||
	fail "sleeper/0 not launched once more after the adopted one died"

# SIGTERM: every child ends, then the daemon, with 0; no state file left.
wait_status "container=sleeper/0"
running=$(printf '%s\n' "$st" | sed -n 's/^container=.* pid=\([0-9]*\) state=running .*/\1/p')
[ -n "$running" ] || fail "nothing running before SIGTERM"
kill -TERM "$dpid"
wait "$dpid"
rc=$?
[ $rc = 0 ] || fail "daemon exit $rc on SIGTERM: $(tail -n 20 "$log")"
for p in $running; do
	! alive "$p" || fail "pid $p survived the daemon's SIGTERM"
done
[ ! -e "$sock.containers" ] || fail "state file left behind"
[ ! -e "$sock" ] || fail "socket left behind"
expect "$(cat "$log")" "waiting for" "container process(es) to end"
wait "$evpid" 2>/dev/null
expect "$(cat "$evlog")" "STOPPED sleeper/0"
check_log "$log"
echo "daemon log: $(wc -l <"$log") lines, $(wc -l <"$launches") launches"
echo "$me: PASS"
