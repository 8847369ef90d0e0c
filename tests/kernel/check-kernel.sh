#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# The kernel stage of the CSX tests: build csx.ko, the edu sample, the
# conformance suite and the VM test modules, then boot them under QEMU on
# the stock Debian kernel and on the debug kernel (lockdep, KASAN,
# kmemleak), each with MSI and with INTx, and judge every console.
#
# usage: check-kernel.sh [options]
#   --out DIR        logs, modules and payloads (default:
#                    ${CSX_KTEST_OUT:-/tmp/csx-kernel-tests}/check-kernel)
#   --kernels LIST   comma-separated stock,debug (default: both)
#   --modes LIST     comma-separated msi,intx (default: both)
#   --edu N          edu devices per VM (default 2)
#   --cycles N       csx_edu load/unload cycles per boot (default 20)
#   --bench-iters N  samples per benchmark side and round (4 rounds) on
#                    the stock kernel; 0 = no benchmark (default 1000)
#   --debug-bench-iters N  the same on the debug kernel, where the figures
#                    mean nothing but the code runs under the checkers
#                    (default 200)
#   --user-build DIR a configured CSX build tree (make check-kernel passes
#                    its own): its csx-run, libcsx-user and modules go into
#                    the VM, where the edu sample runs as a user process on
#                    the real device through the kernel helper. Without it
#                    those tests fail (they are part of the kernel stage).
#   --kill-rounds N  SIGKILL rounds of the user-mode driver per boot
#                    (default 5)
#   --only calls     a developer's quick loop: boot, load csx.ko and run
#                    only the module-to-module call tests and benchmarks
#                    (payload-calls.sh); not a full kernel stage
#   --perf           a developer's profile: put the host's perf into the VM
#                    and print where a user→kernel call spends its time
#                    ("PERF-csx|raw|null" lines, payload-calls.sh)
#   --ab DIR         a developer's same-boot comparison: DIR holds variant
#                    A's csx_helper.ko and/or libcsx-user.so.0 (e.g. built
#                    from another commit); the user→kernel call benchmark
#                    then alternates A and this tree (B) in one boot, 6
#                    rounds of 4 processes, and prints "AB" lines and their
#                    means (payload-calls.sh)
#   --jobs N         make -j (default 2)
#   --verbose        stream the consoles
#
# Writes per run <out>/<kernel>-<mode>.log (console) and .verdict, the last
# console also to tests/kernel/last-console.log, benchmark lines to
# <out>/bench.txt ("BENCH <name> csx=<ns> base=<ns> ratio=<r>", stock
# kernel), and <out>/summary.txt with the wall time of every step.
#
# Exit 0 only if every run passed. Anything that stops the tests from
# running (no QEMU, no kernel headers, a build error) is a failure (exit 1),
# never a silent pass.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

out=${CSX_KTEST_OUT:-/tmp/csx-kernel-tests}/check-kernel
kernels=stock,debug
modes=msi,intx
edu=2
cycles=20
bench_iters=1000
debug_bench_iters=200
jobs=2
verbose=()
user_build=""
kill_rounds=5
only=
perf=0
ab=

usage() {
	sed -n 's/^# \{0,1\}//; /^usage:/,/^#   --verbose/p' "$0" >&2
	exit 2
}
while [[ $# -gt 0 ]]; do
	case $1 in
	--out) out=${2:?}; shift 2 ;;
	--kernels) kernels=${2:?}; shift 2 ;;
	--modes) modes=${2:?}; shift 2 ;;
	--edu) edu=${2:?}; shift 2 ;;
	--cycles) cycles=${2:?}; shift 2 ;;
	--bench-iters) bench_iters=${2:?}; shift 2 ;;
	--debug-bench-iters) debug_bench_iters=${2:?}; shift 2 ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	--user-build) user_build=${2:?}; shift 2 ;;
	--kill-rounds) kill_rounds=${2:?}; shift 2 ;;
	--only) only=${2:?}; shift 2 ;;
	--perf) perf=1; shift ;;
	--ab) ab=${2:?}; shift 2 ;;
	--verbose) verbose=(--verbose); shift ;;
	-h | --help) usage ;;
	*) echo "check-kernel: unknown argument: $1" >&2; usage ;;
	esac
done

say() { echo "check-kernel: $*" >&2; }
die() {
	say "FAIL: $*"
	exit 1
}

[[ -z $only || $only == calls ]] || die "--only: want calls, not '$only'"
perf_bin=()
if [[ $perf == 1 ]]; then
	p=$(command -v perf) || die "--perf: no perf on this machine (apt-get install linux-perf)"
	perf_bin=(--bin "$p")
fi
if [[ -n $ab ]]; then
	[[ -f $ab/csx_helper.ko || -f $ab/libcsx-user.so.0 ]] ||
		die "--ab: $ab holds neither csx_helper.ko nor libcsx-user.so.0"
	ab=$(cd "$ab" && pwd)
fi
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
t_all=$(date +%s%N)
# Wall time of a step, appended to the summary.
stamp() { # stamp T0 WHAT
	local s
	s=$(awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	printf '%-44s %7s s\n' "$2" "$s" | tee -a "$summary" >&2
}

# --- Prerequisites: installed or this fails ----------------------------------
t=$(date +%s%N)
want_debug=()
[[ ,$kernels, == *,debug,* ]] && want_debug=(--debug-kernel)
kver=$("$here/deps.sh" "${want_debug[@]}") ||
	die "tests/kernel/deps.sh could not provide QEMU/kernel/headers"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing"
[[ -f /lib/modules/$kver/build/Makefile ]] ||
	die "kernel headers not found for $kver (install linux-headers-amd64)"
stamp "$t" "prerequisites (kernel $kver)"

# --- Builds --------------------------------------------------------------------
build() { # build KERNEL DIR: modules for that kernel into DIR
	local kind=$1 dir=$2 args=(--jobs "$jobs" --quiet)
	if [[ $kind == debug ]]; then
		# Strict context checks and interrupt-hold tracking: the debug
		# kernel run is where mistakes must be loud.
		args+=(--debug-kernel --debug)
	else
		args+=(--kver "$kver")
	fi
	"$top/csx-kernel/build.sh" "${args[@]}" "$dir" >/dev/null ||
		die "building the $kind kernel modules failed"
	for ko in csx.ko csx_edu.ko edu_demo.ko csx_edu_ktest.ko bench_ktest.ko \
		csx_helper.ko calls_svc.ko calls_client.ko csx_null.ko bench_echo.ko; do
		[[ -f $dir/$ko ]] || die "$kind build did not produce $ko"
	done
	[[ -f $dir/csx_conformance.ko ]] ||
		say "note: no csx_conformance.ko yet (tests/conformance/kernel/Kbuild): conformance skipped"
}

IFS=, read -r -a kernel_list <<<"$kernels"
IFS=, read -r -a mode_list <<<"$modes"
for k in "${kernel_list[@]}"; do
	case $k in
	stock) ;;
	debug)
		t=$(date +%s%N)
		"$here/debug-kernel.sh" >/dev/null || die "debug-kernel.sh failed"
		stamp "$t" "debug kernel (built or cached)"
		;;
	*) die "unknown kernel '$k' (want stock or debug)" ;;
	esac
	t=$(date +%s%N)
	build "$k" "$out/build-$k"
	stamp "$t" "build modules ($k kernel)"
done

# --- User-mode side for the VM ----------------------------------------------
# csx-run, libcsx-user and the sample modules with their shared libraries
# (a root tree run-vm.sh merges onto /), the test client and benchmark
# modules, and the static test programs.
uroot=$out/user-root
uprogs=$out/user-progs
rm -rf "$uprogs"
mkdir -p "$uprogs"
if [[ -n $user_build ]]; then
	t=$(date +%s%N)
	[[ -f $user_build/Makefile ]] || die "--user-build $user_build: not a configured build"
	make -C "$user_build" -j"$jobs" all tests/edu/edu_load.la \
		bench/vm/bench_uintr.la bench/vm/bench_call_uk.la tests/ft/ft_client tests/ft/ft_ctl \
		bench/ft-ping >"$out/user-build.log" 2>&1 ||
		die "building the user side failed (log: $out/user-build.log)"
	# The fault-containment programs (payload-ft.sh) go to /usr/local/bin.
	"$here/user-rootfs.sh" --build "$user_build" --out "$uroot" \
		--bin "$user_build/tests/ft/ft_client" \
		--bin "$user_build/tests/ft/ft_ctl" \
		--bin "$user_build/bench/ft-ping" "${perf_bin[@]}" 2>>"$out/user-build.log" ||
		die "user-rootfs.sh failed (log: $out/user-build.log)"
	cp "$user_build/tests/edu/.libs/edu_load.so" \
		"$user_build/bench/vm/.libs/bench_uintr.so" \
		"$user_build/bench/vm/.libs/bench_call_uk.so" "$uprogs/"
	gcc -static -pthread -O2 -Wall -Wextra -Werror -o "$uprogs/uio_lat" \
		"$top/bench/vm/uio_lat.c" || die "building uio_lat failed"
	gcc -static -pthread -O2 -Wall -Wextra -Werror -I "$top/tests/kernel/csx" \
		-o "$uprogs/efd_rt" "$top/bench/vm/efd_rt.c" ||
		die "building efd_rt failed"
	if [[ -x $top/tests/kernel/helper/build.sh ]]; then
		"$top/tests/kernel/helper/build.sh" "$uprogs" >>"$out/user-build.log" 2>&1 ||
			die "building the kernel helper tests failed (log: $out/user-build.log)"
	fi
	stamp "$t" "user side for the VM"
else
	say "no --user-build: the user-mode tests in the VM will fail"
fi

# --- Boots ---------------------------------------------------------------------
payload() { # payload KERNEL DIR
	local dir=$2 iters=$bench_iters
	[[ $1 == debug ]] && iters=$debug_bench_iters
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$out/build-$1"/*.ko "$dir/"
	# run-vm.sh strips the copy it boots; strip here too so the payload
	# directory is what really ran.
	strip --strip-debug "$dir"/*.ko
	install -m 755 "$here/csx/payload.sh" "$dir/run.sh"
	install -m 644 "$here/csx/payload-user.sh" "$here/csx/payload-calls.sh" \
		"$here/csx/payload-ft.sh" "$top/tests/ft/ft-lib.sh" "$dir/"
	[[ -f $top/tests/kernel/helper/payload-helper.sh ]] &&
		install -m 644 "$top/tests/kernel/helper/payload-helper.sh" "$dir/"
	cp -a "$uprogs/." "$dir/"
	if [[ -n $ab ]]; then
		mkdir -p "$dir/ab"
		for f in csx_helper.ko libcsx-user.so.0; do
			[[ -f $ab/$f ]] && cp "$ab/$f" "$dir/ab/"
		done
	fi
	# uio_pci_generic, the user-mode interrupt baseline (stock kernel).
	if [[ $1 == stock ]]; then
		cp "/lib/modules/$kver/kernel/drivers/uio/uio.ko" \
			"/lib/modules/$kver/kernel/drivers/uio/uio_pci_generic.ko" "$dir/" ||
			die "no uio_pci_generic in /lib/modules/$kver"
	fi
	cat >"$dir/csx-test.env" <<-EOF2
		CSX_CYCLES=$cycles
		CSX_BENCH_ITERS=$iters
		CSX_KILL_ROUNDS=$kill_rounds
		CSX_ONLY=$only
		CSX_PERF=$perf
	EOF2
}

: >"$out/bench.txt"
failed=()
for k in "${kernel_list[@]}"; do
	for m in "${mode_list[@]}"; do
		[[ $m == msi || $m == intx ]] || die "unknown mode '$m'"
		run=$k-$m
		log=$out/$run.log
		payload "$k" "$out/payload-$run"
		vm=(--payload "$out/payload-$run" --log "$log" --edu "$edu"
			"--$m" --timeout 900 "${verbose[@]}")
		[[ -d $uroot && -n $user_build ]] && vm+=(--rootfs "$uroot")
		if [[ $k == debug ]]; then
			vm+=(--debug-kernel)
		else
			vm+=(--kver "$kver" --no-kmemleak)
		fi
		t=$(date +%s%N)
		rc=0
		"$here/run-vm.sh" "${vm[@]}" || rc=$?
		cp "$log" "$here/last-console.log" 2>/dev/null || true
		if "$here/parse-console.sh" "$log" >"$out/$run.verdict" 2>&1 &&
			[[ $rc -eq 0 ]]; then
			stamp "$t" "boot + tests: $run PASS"
		else
			stamp "$t" "boot + tests: $run FAIL (run-vm exit $rc)"
			sed 's/^/    /' "$out/$run.verdict" >&2
			failed+=("$run")
		fi
		# Stock kernel figures only (the debug kernel's checkers
		# dominate its timings); the first run wins per benchmark name.
		if [[ $k == stock ]]; then
			grep -a -o 'BENCH [a-z0-9_]* csx=[0-9]* base=[0-9]* ratio=[0-9.]*' \
				"$log" >>"$out/bench.txt" || true
			awk '!seen[$2]++' "$out/bench.txt" >"$out/bench.tmp"
			mv "$out/bench.tmp" "$out/bench.txt"
		fi
	done
done

stamp "$t_all" "kernel stage total"
if [[ -s $out/bench.txt ]]; then
	say "benchmarks (stock kernel, guest ns):"
	sed 's/^/    /' "$out/bench.txt" >&2
fi
if [[ ${#failed[@]} -gt 0 ]]; then
	# Again, last: a CI log that keeps only its tail must still say why.
	for run in "${failed[@]}"; do
		say "why $run failed:"
		sed 's/^/    /' "$out/$run.verdict" >&2
		# The failed tests' own diagnostics ("# ..." after "not ok").
		grep -a -A3 '^ *not ok ' "$out/$run.log" | head -24 |
			sed 's/^/    | /' >&2 || true
	done
	die "${failed[*]} (logs in $out)"
fi
say "PASS: ${kernel_list[*]} x ${mode_list[*]} (logs in $out)"
