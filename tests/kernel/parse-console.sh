#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Judge a console log written by run-vm.sh.
#
# usage: parse-console.sh [--allow-taint MASK] [--ignore ERE]... [--verbose] LOG
#   --allow-taint MASK  taint bits allowed on top of O (4096) and E (8192),
#                       e.g. 262144 (N) for KUnit
#   --ignore ERE        drop kernel-problem lines matching ERE (repeatable);
#                       for known, unrelated noise only
#   --verbose           list every test result, not just the failures
#
# Results: KTAP/TAP lines (`ok N name`, `not ok N name`, `# SKIP`/`# TODO`
# directives, plans `1..N`, nested subtests indented as KTAP does) are taken
#   - from user space: un-timestamped lines after CSX-VM-START, and
#   - from the kernel: the dmesg dump between CSX-DMESG-BEGIN/-END, with the
#     "[ 1.234] " prefix removed.  Kernel lines shown live on the console
#     (outside the dump) are not counted, so nothing is counted twice.
# Each stream is checked on its own: every plan must match the number of
# results at its nesting level.
#
# Fails (exit 1, reasons printed) on: any `not ok` (unless SKIP/TODO), a
# plan/result count mismatch, `Bail out!`, no results at all, a kernel
# problem line anywhere in the log (WARNING:, BUG:, Oops, panic, KASAN,
# lockdep, kmemleak, ... see problem_re), a taint outside O|E|--allow-taint
# or no CSX-TAINT line, no `CSX-VM-DONE rc=0`, a missing or cut dmesg dump.
# Exit 2: usage error.
set -euo pipefail

allow_taint=0
ignore_re=""
verbose=0
usage() {
	# The header comment is the help text.
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0" >&2
	exit 2
}
while [[ $# -gt 0 ]]; do
	case $1 in
	--allow-taint) allow_taint=${2:?}; shift 2 ;;
	--ignore) ignore_re=${ignore_re:+$ignore_re|}${2:?}; shift 2 ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage ;;
	-*) echo "parse-console: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[[ $# -eq 1 ]] || usage
log=$1
[[ -r $log ]] || {
	echo "parse-console: cannot read $log" >&2
	exit 2
}
[[ $allow_taint =~ ^[0-9]+$ ]] || usage

# Kernel messages that mean a bug, whatever the tests said.  Most lockdep,
# debugobjects, DMA-API and refcount reports come as "WARNING:" (WARN()),
# most memory errors as "BUG:".
problem_re='WARNING:|BUG:|kernel BUG at|Oops|Kernel panic|Call Trace:'
problem_re+='|general protection fault|KASAN|UBSAN|double fault'
problem_re+='|possible circular locking|possible recursive locking'
problem_re+='|inconsistent lock state|suspicious RCU usage'
problem_re+='|unreferenced object|new suspected memory leak'
problem_re+='|sleeping function called from invalid context'
problem_re+='|scheduling while atomic|soft lockup|hard LOCKUP'
problem_re+='|hung_task|blocked for more than [0-9]+ seconds'
problem_re+='|rcu.*detected stall|list_(add|del) corruption'
problem_re+='|invoked oom-killer|segfault at'
# QEMU itself (e.g. the edu device's fatal DMA range check) on the same log.
problem_re+='|qemu: hardware error'

# mawk (Debian's default awk): no gawk extensions, no bit operations.
LC_ALL=C awk -v problem_re="$problem_re" -v ignore_re="$ignore_re" \
	-v allow_extra="$allow_taint" -v verbose="$verbose" -v logname="$log" '
function fail(msg) { reasons[++nreasons] = msg }

# Taint bit b (0-based) set in n?
function bit(n, b) { return int(n / (2 ^ b)) % 2 }

# --- KTAP block stack, one per stream -------------------------------------
# A block = the results at one indentation, with the plan seen there (-1:
# none yet).  Deeper blocks close when a shallower line arrives.
function close_top(   p, c) {
	p = st_plan[sp]; c = st_cnt[sp]
	if (p >= 0 && c != p)
		fail(sprintf("%s plan 1..%d (line %d) but %d result(s) at that level",
			stream, p, st_line[sp], c))
	sp--
}
function close_deeper(ind) { while (sp > 0 && st_ind[sp] > ind) close_top() }
function close_from(ind) { while (sp > 0 && st_ind[sp] >= ind) close_top() }
function close_all() { while (sp > 0) close_top() }
function open_block(ind, plan) {
	sp++; st_ind[sp] = ind; st_plan[sp] = plan; st_cnt[sp] = 0
	st_line[sp] = NR
}

function ktap(text,   ind, body, n, rest, p, d, notok, kind) {
	match(text, /^[ \t]*/)
	ind = RLENGTH
	body = substr(text, RLENGTH + 1)

	if (body ~ /^(KTAP|TAP) version /) {
		close_from(ind)
		return
	}
	if (body ~ /^Bail out!/) {
		fail(sprintf("%s: \"%s\" (line %d)", stream, body, NR))
		return
	}
	if (body ~ /^1\.\.[0-9]+/) {
		n = substr(body, 4) + 0
		close_deeper(ind)
		if (sp > 0 && st_ind[sp] == ind && st_plan[sp] < 0 && st_cnt[sp] > 0) {
			# Trailing plan (TAP allows the plan after the results).
			st_plan[sp] = n
			nplans++
			close_top()
			return
		}
		close_from(ind)
		open_block(ind, n)
		nplans++
		return
	}
	if (body !~ /^(not )?ok [0-9]+/)
		return

	close_deeper(ind)
	if (!(sp > 0 && st_ind[sp] == ind))
		open_block(ind, -1)
	st_cnt[sp]++
	nresults++

	notok = (body ~ /^not ok/)
	rest = body
	sub(/^(not )?ok [0-9]+/, "", rest)
	kind = notok ? "fail" : "pass"
	p = index(rest, "#")
	if (p > 0) {
		d = toupper(substr(rest, p + 1))
		sub(/^[ \t]+/, "", d)
		if (d ~ /^SKIP/) kind = "skip"
		else if (d ~ /^(TODO|XFAIL)/) kind = "todo"
	}
	count[kind]++
	if (kind == "fail") {
		if (count["fail"] <= 20)
			fail(sprintf("%s: %s (line %d)", stream, body, NR))
	}
	if (verbose)
		printf "parse-console:   [%s] %s%s\n", stream, substr(text, 1, ind), body
}

BEGIN {
	ts_re = "^\\[ *[0-9]+\\.[0-9]+\\] "
	stream = "user space"
	count["pass"] = count["fail"] = count["skip"] = count["todo"] = 0
}

{
	sub(/\r$/, "")
	line = $0

	# Kernel problems: anywhere in the log, boot included.
	if (line ~ problem_re && !(ignore_re != "" && line ~ ignore_re)) {
		key = line
		sub(ts_re, "", key)
		if (!(key in seen_problem)) {
			seen_problem[key] = 1
			nproblems++
			if (nproblems <= 25)
				problems[nproblems] = sprintf("line %d: %s", NR, line)
		}
	}

	if (line ~ /CSX-VM-START/) { started = 1; sub(/.*CSX-VM-START /, "", line); kernel = line; next }
	if (line ~ /CSX-KMEMLEAK-BEGIN/) { in_leak = 1; next }
	if (line ~ /CSX-KMEMLEAK-END/) { in_leak = 0; next }
	if (match(line, /CSX-TAINT [0-9]+/)) {
		taint = substr(line, RSTART + 10, RLENGTH - 10) + 0
		have_taint = 1
		next
	}
	if (match(line, /CSX-VM-DONE rc=[0-9]+/)) {
		done_rc = substr(line, RSTART + 15, RLENGTH - 15) + 0
		have_done = 1
		next
	}
	if (line ~ /^CSX-DMESG-BEGIN/) {
		close_all()
		stream = "kernel"
		in_dmesg = 1
		have_dmesg = 1
		next
	}
	if (line ~ /^CSX-DMESG-END/) {
		close_all()
		in_dmesg = 0
		dmesg_end = 1
		next
	}

	if (in_dmesg) {
		sub(ts_re, "", line)
		ktap(line)
	} else if (started && !in_leak && line !~ ts_re) {
		ktap(line)
	}
}

END {
	close_all()
	total = count["pass"] + count["fail"] + count["skip"] + count["todo"]
	printf "parse-console: log %s\n", logname
	if (kernel != "")
		printf "parse-console: VM: %s\n", kernel
	printf "parse-console: %d result(s): %d passed, %d failed, %d skipped, %d todo; %d plan(s)\n",
		total, count["pass"], count["fail"], count["skip"], count["todo"], nplans

	if (!started)
		fail("no CSX-VM-START: init never ran (kernel did not boot?)")
	if (total == 0)
		fail("no test results (no ok/not ok lines) at all")

	if (!have_taint) {
		fail("no CSX-TAINT line: taint unknown")
	} else {
		letters = "PFSRMBUDAWCIOELKXTN"
		bad = ""; all = ""
		for (b = 0; b < 32; b++) {
			if (!bit(taint, b)) continue
			l = (b < length(letters)) ? substr(letters, b + 1, 1) : "#" b
			all = all l
			# 4096 = O (out-of-tree module), 8192 = E (unsigned module)
			if (b != 12 && b != 13 && !bit(allow_extra, b))
				bad = bad l
		}
		printf "parse-console: taint %d%s\n", taint, all != "" ? " (" all ")" : ""
		if (bad != "")
			fail(sprintf("kernel tainted %d: flag(s) %s beyond the allowed O/E", taint, bad))
	}

	if (!have_done)
		fail("no CSX-VM-DONE sentinel: the VM did not finish (panic, hang?)")
	else if (done_rc != 0)
		fail(sprintf("payload run.sh exited %d (CSX-VM-DONE rc=%d)", done_rc, done_rc))
	if (have_done && !have_dmesg)
		fail("no CSX-DMESG-BEGIN: kernel log not dumped, kernel results unknown")
	else if (have_dmesg && !dmesg_end)
		fail("dmesg dump cut short (no CSX-DMESG-END)")

	if (nproblems > 0) {
		fail(sprintf("%d distinct kernel problem line(s):", nproblems))
		for (i = 1; i <= nproblems && i <= 25; i++)
			reasons[++nreasons] = "    " problems[i]
		if (nproblems > 25)
			reasons[++nreasons] = "    ..."
	}

	if (nreasons == 0) {
		print "parse-console: PASS"
		exit 0
	}
	for (i = 1; i <= nreasons; i++) {
		if (reasons[i] ~ /^    /)	# detail of the reason before
			printf "parse-console: %s\n", reasons[i]
		else
			printf "parse-console: FAIL: %s\n", reasons[i]
	}
	print "parse-console: FAILED"
	exit 1
}
' "$log"
