#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# run.sh SRCDIR BUILDDIR - run every benchmark, collect their BENCH lines in
# BUILDDIR/rows.txt, print the table and write BUILDDIR/results.json
# (through report.sh, which also adds rows from $CSX_BENCH_EXTRA).
#
# Environment: BENCH_REPS (repetitions per figure, default 7), BENCH_SCALE
# (iteration multiplier, default 1), BENCH_ONLY (space-separated subset of
# intr-fence intr-membarrier dpc call edu ft).

set -u

src=$1
build=$2
rows=$build/rows.txt
json=$build/results.json
# Outer bound only: each program has its own watchdog (bench_watchdog()).
limit=900

: >"$rows"
if [ "$(getconf _NPROCESSORS_ONLN)" -lt 2 ]; then
	echo "bench: fewer than 2 CPUs online; the cross-CPU rows need 2" >&2
fi

wanted() {
	[ -z "${BENCH_ONLY:-}" ] && return 0
	case " $BENCH_ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

# run NAME [VAR=VALUE...] PROGRAM [ARGS...]: append its rows, show progress.
run() {
	name=$1
	shift
	wanted "$name" || return 0
	echo "bench: $name ..." >&2
	start=$(date +%s)
	if ! timeout "$limit" env "$@" >>"$rows"; then
		echo "bench: $name failed or timed out (${limit}s); its rows are missing" >&2
	fi
	echo "bench: $name done in $(($(date +%s) - start)) s" >&2
}

run intr-fence CSX_READLOCK=fence "$build/bench-intr"
run intr-membarrier CSX_READLOCK=membarrier "$build/bench-intr"
run dpc "$build/bench-dpc"
run call CSX_UHELPERD="$build/helpers/user/csx-uhelperd" "$build/bench-call"
if [ -x "$build/bench-edu" ]; then
	run edu "$build/bench-edu"
fi
run ft sh "$src/bench-ft.sh" "$build/.."

# The kernel rows come from the last make check-kernel in this build
# directory (measured in the VM, in the same boot as their baselines).
if [ -z "${CSX_BENCH_EXTRA:-}" ] && [ -r "$build/../kernel-tests/bench.txt" ]; then
	CSX_BENCH_EXTRA=$build/../kernel-tests/bench.txt
	export CSX_BENCH_EXTRA
	echo "bench: adding kernel rows from $CSX_BENCH_EXTRA" >&2
fi

echo
sh "$src/report.sh" -o "$json" -t "$src/targets.txt" "user=$rows"
echo
echo "bench: rows in $rows"
echo "bench: JSON in $(cd "$(dirname "$json")" && pwd)/$(basename "$json")"
