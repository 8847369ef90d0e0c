# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Sourced by the fault-containment scripts: tests/ft/ft-host.sh (make
# check), tests/kernel/csx/payload-ft.sh (the test VM, busybox sh) and
# bench/bench-ft.sh (make bench). POSIX sh; no bash, no $RANDOM.
#
# The caller sets:
#   FT_UHD     csx-uhelperd          FT_CTL     tests/ft/ft_ctl
#   FT_CLIENT  tests/ft/ft_client    FT_SOCK    the private daemon's socket
# and provides fail MESSAGE (exits). The functions keep the pids of what
# they start in ft_dpid (daemon), ft_epid (event logger), ft_cpid (load
# client); ft_cleanup kills whatever is left of them.

ft_dpid=
ft_epid=
ft_cpid=

# ft_sleep_ms MS
ft_sleep_ms() {
	if command -v usleep >/dev/null 2>&1; then
		usleep $(($1 * 1000))
	else
		sleep "$(awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }')"
	fi
}

# ft_wait_grep FILE PATTERN SECONDS: until PATTERN (grep -E) is in FILE;
# 1 if it never came.
ft_wait_grep() {
	_i=0
	until grep -qE -- "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt $(($3 * 20)) ] && return 1
		ft_sleep_ms 50
	done
	return 0
}

# ft_wait_pid PID SECONDS: wait for a child of this shell, SIGKILLing it
# if it takes longer; its exit status in ft_rc (137 if it was killed).
ft_wait_pid() {
	(
		sleep "$2"
		kill -9 "$1" 2>/dev/null
	) >/dev/null 2>&1 &
	_dog=$!
	wait "$1"
	ft_rc=$?
	kill -9 "$_dog" 2>/dev/null
	wait "$_dog" 2>/dev/null
}

# ft_daemon_start CONFIG CSX_RUN LOG: the daemon and its supervisor on
# $FT_SOCK, until it listens.
ft_daemon_start() {
	CSX_UHELPERD_SOCKET=$FT_SOCK "$FT_UHD" --socket "$FT_SOCK" \
		--config "$1" --csx-run "$2" >>"$3" 2>&1 &
	ft_dpid=$!
	_i=0
	until "$FT_UHD" --socket "$FT_SOCK" --status >/dev/null 2>&1; do
		kill -0 "$ft_dpid" 2>/dev/null ||
			fail "csx-uhelperd exited: $(tail -n 20 "$3")"
		_i=$((_i + 1))
		[ $_i -lt 200 ] || fail "csx-uhelperd does not answer: $(tail -n 20 "$3")"
		ft_sleep_ms 50
	done
}

# ft_daemon_stop: SIGTERM (it stops its containers first); exit status in
# ft_rc.
ft_daemon_stop() {
	kill -TERM "$ft_dpid" 2>/dev/null
	ft_wait_pid "$ft_dpid" 30
	ft_dpid=
}

# ft_events_start LOG: every event of the daemon into LOG, one line each.
ft_events_start() {
	"$FT_CTL" events "$FT_SOCK" >>"$1" 2>&1 &
	ft_epid=$!
	ft_wait_grep "$1" "subscribed to $FT_SOCK" 10 ||
		fail "ft_ctl events did not subscribe: $(tail -n 5 "$1")"
}

ft_events_stop() {
	[ -n "$ft_epid" ] || return 0
	kill -TERM "$ft_epid" 2>/dev/null
	wait "$ft_epid" 2>/dev/null
	ft_epid=
}

# ft_client_start LOG ARG...: the load client in the background, until it
# runs its load on every service.
ft_client_start() {
	_log=$1
	shift
	"$FT_CLIENT" --duration 0 "$@" >"$_log" 2>&1 &
	ft_cpid=$!
	_i=0
	until grep -q "ft_client: load running" "$_log" 2>/dev/null; do
		kill -0 "$ft_cpid" 2>/dev/null && [ $_i -lt 1200 ] ||
			fail "ft_client did not start its load: $(tail -n 20 "$_log")"
		_i=$((_i + 1))
		ft_sleep_ms 50
	done
}

# ft_client_stop: SIGTERM; its exit status in ft_rc. A call pending in a
# recovery is bounded by the client's call timeout (60 s).
ft_client_stop() {
	kill -TERM "$ft_cpid" 2>/dev/null
	ft_wait_pid "$ft_cpid" 90
	ft_cpid=
}

# ft_pid INSTANCE CONTAINER N: the pid of one running instance.
ft_pid() {
	"$FT_CTL" instances "$FT_SOCK" "$2" "$3" |
		awk -v i="$1" '$1 == "instance" && $2 == i && $3 == "pid" { print $4 }'
}

# ft_val FILE KEY: the value of KEY=... on the last "bench:" line of FILE.
ft_val() {
	grep 'bench: ' "$1" | tail -n 1 | tr ' ' '\n' |
		sed -n "s/^$2=//p" | tail -n 1
}

# ft_count FILE PATTERN: lines of FILE matching PATTERN (grep -E).
ft_count() {
	grep -cE -- "$2" "$1" 2>/dev/null
}

ft_cleanup() {
	for _p in $ft_cpid $ft_epid; do
		kill -9 "$_p" 2>/dev/null
	done
	# SIGTERM first: the daemon stops the instances it runs.
	if [ -n "$ft_dpid" ] && kill -TERM "$ft_dpid" 2>/dev/null; then
		ft_wait_pid "$ft_dpid" 15
	fi
	ft_cpid=
	ft_epid=
	ft_dpid=
}

# ft_kill_instances CONTAINER N: SIGKILL what still runs of a container
# (a daemon that was SIGKILLed leaves its instances running).
ft_kill_instances() {
	for _p in $("$FT_CTL" instances "$FT_SOCK" "$1" "$2" |
		awk '$3 == "pid" { print $4 }'); do
		kill -9 "$_p" 2>/dev/null
	done
}

# ft_side DIR NAME CONFIG CSX_RUN CONTAINER KILLS CLIENT_ARG...: one
# measured round: a daemon running CONFIG, the load client on CONTAINER/0
# and CONTAINER/1, KILLS kills (ft_ctl chaos with $FT_CHAOS_OPTS, default
# clean kills 300-700 ms apart, each waited for), then everything stopped.
# Leaves DIR/NAME.report (ft_client; its exit status in ft_rc),
# DIR/NAME.chaos (ft_ctl) and the logs; 1 if the chaos failed.
ft_side() {
	_d=$1
	_n=$2
	_conf=$3
	_run=$4
	_ct=$5
	_k=$6
	shift 6
	ft_daemon_start "$_conf" "$_run" "$_d/$_n.daemon.log"
	ft_client_start "$_d/$_n.client.log" --marks "$_d/$_n.marks" \
		--report "$_d/$_n.report" "$@" "$_ct/0" "$_ct/1"
	ft_sleep_ms 500
	# shellcheck disable=SC2086 # options, one per word
	"$FT_CTL" chaos "$FT_SOCK" "$_ct" 2 --kills "$_k" \
		${FT_CHAOS_OPTS:---sleep-ms 300:700} --service "$_ct/%i" \
		--ready-timeout 30 --marks "$_d/$_n.marks" >"$_d/$_n.chaos" 2>&1
	_crc=$?
	ft_sleep_ms 500
	ft_client_stop
	_clrc=$ft_rc
	ft_daemon_stop
	ft_rc=$_clrc
	return $_crc
}

# ft_rows PREFIX FORM DIR: BENCH rows from every DIR/csx*.{report,chaos}
# against DIR/base*.{report,chaos}. FORM long: unit, kind, target and a
# note on each row (bench/report.sh); short: "csx= base= ratio=" with
# integer ns and req/s (the kernel stage's grep, tests/kernel).
#   PREFIX_recovery_first_ok   kill -> first successful request on that
#                              port, median over the kills
#   PREFIX_recovery_ready      kill -> the supervisor's READY, median
#   (short form: also PREFIX_recovery_first_ok_max, _ready_max)
#   PREFIX_requests_lost       failed requests (CSX target: 0)
#   PREFIX_surviving_port_rate the other port during an outage (median
#                              over the outages) vs its steady state (CSX
#                              side only)
ft_rows() {
	for _f in "$3"/csx*.report "$3"/base*.report; do
		case $_f in */csx*) _s=csx ;; *) _s=base ;; esac
		sed -n "s/^ft_client: kill [0-9]*: .* first success after \([0-9.]*\) ms.*/$_s first \1/p" "$_f"
		grep 'ft_client: bench:' "$_f" | sed "s/^/$_s /"
	done >"$3/rows.in"
	for _f in "$3"/csx*.chaos "$3"/base*.chaos; do
		case $_f in */csx*) _s=csx ;; *) _s=base ;; esac
		sed -n "s/^ft_ctl: kill [0-9]*: .* READY after \([0-9.]*\) ms.*/$_s ready \1/p" "$_f"
	done >>"$3/rows.in"
	awk -v p="$1" -v form="$2" '
	function sort(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
	}
	function med(a, n) { sort(a, n); return n ? a[int((n + 1) / 2)] : 0 }
	function mx(a, n,   i, m) { for (i = 1; i <= n; i++) if (a[i] > m) m = a[i]; return m }
	function kv(line, key,   i, f, n) {
		n = split(line, f, " ")
		for (i = 1; i <= n; i++)
			if (index(f[i], key "=") == 1) return substr(f[i], length(key) + 2)
		return ""
	}
	$2 == "first" { if ($1 == "csx") cf[++ncf] = $3; else bf[++nbf] = $3 }
	$2 == "ready" { if ($1 == "csx") cr[++ncr] = $3; else br[++nbr] = $3 }
	$2 == "ft_client:" {
		s = $1; lost[s] += kv($0, "lost"); wrong[s] += kv($0, "wrong")
		kills[s] += kv($0, "kills"); caught[s] += kv($0, "caught")
		if (s == "csx") {
			o = kv($0, "outage_rate_median")
			out[++no] = o != "" ? o : kv($0, "outage_rate")
			st[++ns] = kv($0, "steady_rate")
		}
	}
	function row(name, c, b, unit, kind, target, note, scale) {
		if (form == "short")
			printf "BENCH %s_%s csx=%.0f base=%.0f ratio=%.3f\n", p, name, c * scale, b * scale, (b > 0 ? c / b : 0)
		else
			printf "BENCH %s_%s csx=%.4g base=%.4g unit=%s kind=%s target=%s note=%s\n", p, name, c, b, unit, kind, target, note
	}
	END {
		if (!ncf || !nbf) exit 1
		row("recovery_first_ok", med(cf, ncf), med(bf, nbf), "ms", "time", "-",
		    sprintf("kill -> first successful request on the port, median of %d kills (base %d); max %.1f ms (base %.1f); includes the 100 ms backoff", ncf, nbf, mx(cf, ncf), mx(bf, nbf)), 1e6)
		row("recovery_ready", med(cr, ncr), med(br, nbr), "ms", "time", "-",
		    sprintf("kill -> READY (the restarted instance exported its service), median of %d (base %d); max %.1f ms (base %.1f)", ncr, nbr, mx(cr, ncr), mx(br, nbr)), 1e6)
		if (form == "short") { # no note: the maxima get rows
			row("recovery_first_ok_max", mx(cf, ncf), mx(bf, nbf), "", "", "", "", 1e6)
			row("recovery_ready_max", mx(cr, ncr), mx(br, nbr), "", "", "", "", 1e6)
		}
		row("requests_lost", lost["csx"], lost["base"], "req", "abs", "csx<=0",
		    sprintf("requests that failed across %d kills (base: %d kills): CSX re-issues the %d caught by an outage; %d wrong results", kills["csx"], kills["base"], caught["csx"], wrong["csx"] + wrong["base"]), 1)
		o = med(out, no); t = med(st, ns)
		row("surviving_port_rate", o, t, "req/s", "rate", "ratio>=0.5",
		    "the other port during an outage (median over the outages of each round) vs the same port in steady state (base is not a non-CSX run here); medians of the rounds", 1)
	}' "$3/rows.in"
}
