#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Build the CSX kernel modules out of tree.
#
# usage: build.sh [options] OUTDIR
#   OUTDIR            where the staged sources (OUTDIR/src) and the modules
#                     (OUTDIR/*.ko) go; nothing is written to the sources
#   --kdir DIR        kernel build tree (default: $KDIR, else
#                     /lib/modules/$KVER/build, else
#                     /lib/modules/$(uname -r)/build, else the newest
#                     /lib/modules/*/build)
#   --kver VER        use /lib/modules/VER/build
#   --debug-kernel    build against tests/kernel/debug-kernel.sh's tree
#   --debug           define CSX_DEBUG (strict context checks by default)
#   --werror          warnings are errors
#   --only LIST       comma-separated subset of: csx, edu, calls, conformance, ktest,
#                     helper, khtest
#                     (default: all whose Kbuild exists; csx always)
#   --stage-only      stage the sources (e.g. for DKMS), do not build
#   --jobs N          make -j (default 2)
#   --quiet           no progress lines
#
# The staged tree mirrors the repository (csx-api/, csx-kernel/,
# samples/edu/, tests/...), so each Kbuild refers to its sources exactly as
# in the repository; one Kbuild at its top builds all modules in one pass,
# which lets modpost resolve csx.ko's exports for the other modules.
# Files are copied only when their content changed: rebuilds are
# incremental. Prints the built modules, one path per line, on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)

kdir=${KDIR:-}
kver=${KVER:-}
debug_kernel=0
cflags=""
only=""
stage_only=0
jobs=2
quiet=0
out=""

usage() {
	sed -n 's/^# \{0,1\}//; /^usage:/,/^# The staged/p' "$0" | sed '$d' >&2
	exit 2
}
log() { [[ $quiet -eq 1 ]] || echo "csx-kernel/build: $*" >&2; }
die() {
	echo "csx-kernel/build: ERROR: $*" >&2
	exit 1
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--kdir) kdir=${2:?}; shift 2 ;;
	--kver) kver=${2:?}; kdir=""; shift 2 ;;
	--debug-kernel) debug_kernel=1; shift ;;
	--debug) cflags+=" -DCSX_DEBUG=1"; shift ;;
	--werror) cflags+=" -Werror"; shift ;;
	--only) only=${2:?}; shift 2 ;;
	--stage-only) stage_only=1; shift ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	--quiet) quiet=1; shift ;;
	-h | --help) usage ;;
	-*) echo "csx-kernel/build: unknown option $1" >&2; usage ;;
	*) [[ -z $out ]] || usage; out=$1; shift ;;
	esac
done
[[ -n $out ]] || usage

# ---- Kernel tree -----------------------------------------------------------
find_kdir() {
	local v
	if [[ $debug_kernel -eq 1 ]]; then
		eval "$("$top/tests/kernel/debug-kernel.sh")" ||
			die "tests/kernel/debug-kernel.sh failed"
		echo "$CSX_DEBUG_KBUILD"
		return
	fi
	[[ -n $kdir ]] && { echo "$kdir"; return; }
	[[ -n $kver ]] && { echo "/lib/modules/$kver/build"; return; }
	if [[ -f /lib/modules/$(uname -r)/build/Makefile ]]; then
		echo "/lib/modules/$(uname -r)/build"
		return
	fi
	# In a container the running kernel is the host's: take the newest
	# installed headers instead.
	for v in $(ls -1 /lib/modules 2>/dev/null | sort -V); do
		[[ -f /lib/modules/$v/build/Makefile ]] && kdir=/lib/modules/$v/build
	done
	echo "$kdir"
}

# ---- Staging -----------------------------------------------------------------
declare -A wanted=()

# Copy $1 (relative to the repository) into the stage if it changed.
stage_file() {
	local rel=$1 dst=$stage/$1
	wanted[$rel]=1
	if ! cmp -s "$top/$rel" "$dst"; then
		mkdir -p "$(dirname "$dst")"
		cp "$top/$rel" "$dst"
	fi
}

# Stage the sources (*.c, *.h, Kbuild) of directory $1, not recursing.
stage_dir() {
	local dir=$1 f
	shopt -s nullglob
	for f in "$top/$dir"/*.c "$top/$dir"/*.h "$top/$dir"/Kbuild; do
		[[ -f $f ]] && stage_file "${f#"$top/"}"
	done
	shopt -u nullglob
}

# Drop staged sources whose original is gone (with their objects); the
# *.mod.c files are modpost's, not sources.
prune_stage() {
	local f rel
	while IFS= read -r -d '' f; do
		rel=${f#"$stage/"}
		[[ -n ${wanted[$rel]:-} ]] && continue
		rm -f "$f" "${f%.c}.o"
	done < <(find "$stage" \( -name '*.c' -o -name '*.h' -o -name Kbuild \) \
		-not -path "$stage/Kbuild" -not -name '*.mod.c' -print0)
}

want_module() {
	[[ -z $only || ,$only, == *,$1,* ]]
}

# Module directories: name, directory, the .ko files it yields.
modules=(
	"csx csx-kernel csx.ko"
	"edu samples/edu csx_edu.ko,edu_demo.ko"
	"calls samples/calls calls_svc.ko,calls_client.ko"
	"conformance tests/conformance/kernel csx_conformance.ko"
	"ktest tests/kernel/csx *"
	"helper helpers/kernel csx_helper.ko"
	"khtest tests/kernel/helper kh_upcall_client.ko"
)

stage=$out/src
mkdir -p "$stage"
stage_dir csx-api/include/csx
stage_dir csx-api/src
stage_dir csx-kernel
stage_dir csx-kernel/include
# csx.ko's remote back end includes csx_kh_upcall.h (the kernel helper's
# entry points it takes with symbol_get()).
stage_dir helpers/include
subdirs=(csx-kernel/)
for m in "${modules[@]:1}"; do
	read -r name dir _ <<<"$m"
	want_module "$name" || continue
	if [[ ! -f $top/$dir/Kbuild ]]; then
		log "skipping $name: no $dir/Kbuild yet"
		continue
	fi
	if ! compgen -G "$top/$dir/*.c" >/dev/null; then
		log "skipping $name: no sources in $dir yet"
		continue
	fi
	stage_dir "$dir"
	# The conformance suite's kernel adapter builds the shared test sources;
	# the VM tests use the edu sample's service header, and build the
	# load client and the call benchmark's service from the user tree.
	[[ $name == conformance ]] && stage_dir tests/conformance
	if [[ $name == ktest ]]; then
		stage_dir samples/edu
		stage_file tests/edu/edu_load.c
		stage_file bench/vm/bench_echo.c
		stage_file bench/vm/bench_echo.h
	fi
	subdirs+=("$dir/")
done
prune_stage
{
	echo "# Generated by csx-kernel/build.sh: every CSX module, one modpost pass."
	echo "obj-m += ${subdirs[*]}"
} >"$stage/Kbuild.new"
cmp -s "$stage/Kbuild.new" "$stage/Kbuild" || mv "$stage/Kbuild.new" "$stage/Kbuild"
rm -f "$stage/Kbuild.new"

# Same bytes as the user-mode build compiles: copies, checked.
for f in samples/edu/*.c samples/calls/*.c; do
	[[ -e $top/$f && -n ${wanted[$f]:-} ]] || continue
	cmp -s "$top/$f" "$stage/$f" || die "$stage/$f differs from $f"
done

"$top/scripts/check-port-contract.sh" --top "$top" csx-kernel >/dev/null ||
	die "csx-kernel does not match csx_os.h (scripts/check-port-contract.sh csx-kernel)"
"$top/scripts/check-port-contract.sh" --top "$top" \
	--exports "$top/csx-kernel/csx_exports.c" >/dev/null ||
	die "csx_exports.c is stale (scripts/check-port-contract.sh --exports csx-kernel/csx_exports.c)"

if [[ $stage_only -eq 1 ]]; then
	ver=$(awk '/#define CSX_API_VERSION_(MAJOR|MINOR|PATCH)/ { v = v (v == "" ? "" : ".") $3 }
		END { print v }' "$top/csx-api/include/csx/csx.h")
	sed "s/@CSX_VERSION@/$ver/" "$here/dkms.conf" >"$stage/dkms.conf"
	log "staged in $stage"
	exit 0
fi

# ---- Build -----------------------------------------------------------------
kdir=$(find_kdir)
[[ -n $kdir && -f $kdir/Makefile ]] ||
	die "kernel headers not found${kdir:+ at $kdir} (install linux-headers-amd64)"
log "building ${subdirs[*]} against $kdir"
t0=$(date +%s%N)
make -C "$kdir" M="$stage" -j"$jobs" CSX_CFLAGS="${cflags# }" modules \
	>"$out/build.log" 2>&1 || {
	grep -E 'error|warning' "$out/build.log" >&2 || tail -n 30 "$out/build.log" >&2
	die "make failed (log: $out/build.log)"
}
t1=$(date +%s%N)
if grep -q 'warning:' "$out/build.log"; then
	grep -B2 -A3 'warning:' "$out/build.log" >&2
	log "WARNING: compiler warnings (log: $out/build.log)"
fi

# Flat list of modules in OUTDIR, newest build only.
# modules.order names them absolute (6.1) or relative to the stage (older).
rm -f "$out"/*.ko
while IFS= read -r ko; do
	ko=${ko%.o}
	ko=${ko%.ko}.ko
	[[ $ko == /* ]] || ko=$stage/$ko
	cp "$ko" "$out/"
	echo "$out/$(basename "$ko")"
done <"$stage/modules.order"
log "built $(wc -l <"$stage/modules.order") module(s) in" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
