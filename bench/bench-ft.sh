#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# bench-ft.sh BUILDDIR - the fault-containment benchmark of make bench
# (bench/README.md, section 6): the recovery of an edu instance (the edu
# sample on a simulated device, under csx-uhelperd's supervisor, with
# ft_client's checked load on both ports) against the same supervisor
# restarting ft-ping, a trivial server without CSX (bench/ft_ping.c),
# under the same load loop (ft_client --ping). Rounds alternate between
# the two; each makes BENCH_FT_KILLS (default 8) times BENCH_SCALE kills
# 300-700 ms apart. Prints BENCH lines (long form) on stdout, progress on
# stderr. Environment: BENCH_FT_ROUNDS (default 3 per side).
set -u

build=$(cd "${1:?usage: bench-ft.sh BUILDDIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/tests/ft/ft-lib.sh"

FT_UHD=$build/helpers/user/csx-uhelperd
FT_CTL=$build/tests/ft/ft_ctl
FT_CLIENT=$build/tests/ft/ft_client
rounds=${BENCH_FT_ROUNDS:-3}
kills=${BENCH_FT_KILLS:-8}
kills=$(awk -v k="$kills" -v s="${BENCH_SCALE:-1}" \
	'BEGIN { k = int(k * s + 0.5); print k < 2 ? 2 : k }')

fail() {
	echo "bench-ft: $*" >&2
	exit 1
}
for f in "$FT_UHD" "$FT_CTL" "$FT_CLIENT" "$build/bench/ft-ping" "$build/csx-run"; do
	[ -x "$f" ] || fail "$f not built"
done

# tmpfs: the daemon's state file is rewritten at every restart (see
# tests/ft/ft-host.sh); a disk busy with other work would be measured too.
tmp=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d) || exit 1
FT_SOCK=$tmp/uhd.sock
CSX_UHELPERD_SOCKET=$FT_SOCK
export CSX_UHELPERD_SOCKET
trap 'ft_cleanup; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The same policy on both sides: a fixed 100 ms backoff, no give-up.
policy='instances = 2
restart = on-failure
backoff = 100ms
give-up = 1000 60s'
cat >"$tmp/csx.conf" <<EOF
[edu]
module = $build/samples/edu/csx_edu.la
device = edu,unit=%i
$policy
EOF
cat >"$tmp/base.conf" <<EOF
[ping]
module = ft-ping
args = --ping-dir $tmp
$policy
EOF

r=1
while [ $r -le "$rounds" ]; do
	echo "bench-ft: round $r/$rounds: edu under CSX, $kills kills" >&2
	ft_side "$tmp" "csx$r" "$tmp/csx.conf" "$build/csx-run" edu "$kills" \
		--threads-per-service 2 ||
		fail "edu round $r: $(grep FAIL "$tmp/csx$r.chaos")"
	echo "bench-ft: round $r/$rounds: the ft-ping baseline, $kills kills" >&2
	ft_side "$tmp" "base$r" "$tmp/base.conf" "$build/bench/ft-ping" ping \
		"$kills" --threads-per-service 2 --ping "$tmp" ||
		fail "ft-ping round $r: $(grep FAIL "$tmp/base$r.chaos")"
	r=$((r + 1))
done
grep -h 'ft_client: \(total\|kills\|caught\|other ports\)' "$tmp"/csx*.report \
	"$tmp"/base*.report | sed 's/^/bench-ft: /' >&2
ft_rows ft long "$tmp" || fail "no figures"
