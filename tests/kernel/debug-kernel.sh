#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Build (once) a small debug kernel for the VM tests: lockdep, KASAN,
# kmemleak, debug objects, DMA-API debugging, atomic-sleep checks.  Recipe:
# Debian's linux-source tarball, `make tinyconfig`, the fragment
# debug-kernel.config via scripts/config, `make olddefconfig`; every option
# of the fragment is then verified in .config.
#
# The result is cached under <cache>/<key>/, key = hash of the fragment, the
# source package version, the compiler and this recipe's version:
#   <key>/bzImage   the kernel to boot (run-vm.sh --debug-kernel)
#   <key>/linux     the built tree, usable for out-of-tree modules:
#                   make -C <key>/linux M=$PWD  (Module.symvers present)
#   <key>/config    the final .config;  <key>/build.log  the build output
#
# usage: debug-kernel.sh [--cache-dir DIR] [--jobs N] [--rebuild] [--check]
#   --cache-dir DIR  default $CSX_DEBUG_KERNEL_CACHE or /var/cache/csx-debug-kernel
#   --jobs N         make -j (default: nproc)
#   --rebuild        discard a cached build with the same key
#   --check          build nothing: exit 0 if cached, 1 if not
#
# stdout carries only the result, as shell assignments (for eval):
#   CSX_DEBUG_KERNEL_DIR=...  CSX_DEBUG_BZIMAGE=...  CSX_DEBUG_KBUILD=...
# Progress and errors go to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Bump when the build steps change in a way that changes the result.
recipe_version=1

cache_root=${CSX_DEBUG_KERNEL_CACHE:-/var/cache/csx-debug-kernel}
jobs=$(nproc)
rebuild=0
check_only=0

usage() {
	# The header comment is the help text.
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0" >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--cache-dir) cache_root=${2:?}; shift 2 ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	--rebuild) rebuild=1; shift ;;
	--check) check_only=1; shift ;;
	-h | --help) usage ;;
	*) echo "debug-kernel: unknown argument: $1" >&2; usage ;;
	esac
done

log() { echo "debug-kernel: $*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

fragment=$here/debug-kernel.config
[[ -f $fragment ]] || die "missing $fragment"

. "$here/kver.sh"
if [[ $check_only -eq 0 ]]; then
	"$here/deps.sh" --debug-kernel >/dev/null
	. "$here/kver.sh"
fi
[[ -n $CSX_KVER ]] || die "no stock kernel found (run deps.sh)"
mm=$(echo "$CSX_KVER" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
src_pkg=${CSX_LINUX_SOURCE_PKG:-linux-source-$mm}
src_ver=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null) || src_ver=""
if [[ -z $src_ver ]]; then
	[[ $check_only -eq 1 ]] && exit 1
	die "$src_pkg is not installed"
fi
tarball=/usr/src/$src_pkg.tar.xz
[[ -f $tarball ]] || die "missing $tarball (from package $src_pkg)"

key=$({
	echo "recipe $recipe_version"
	echo "$src_pkg $src_ver"
	gcc --version | head -n1
	cat "$fragment"
} | sha256sum | cut -c1-16)
dir=$cache_root/$key
tree=$dir/linux

print_result() {
	echo "CSX_DEBUG_KERNEL_DIR=$dir"
	echo "CSX_DEBUG_BZIMAGE=$dir/bzImage"
	echo "CSX_DEBUG_KBUILD=$tree"
}

# .complete is written last: a directory without it is a crashed build.
if [[ $rebuild -eq 0 && -f $dir/.complete ]]; then
	log "cached: $dir ($src_pkg $src_ver)"
	print_result
	exit 0
fi
[[ $check_only -eq 1 ]] && exit 1

mkdir -p "$cache_root"
# Several engineers/CI jobs may ask for the same kernel at once: one builds,
# the others wait and then use its result.
exec 9>"$cache_root/.lock-$key"
if ! flock -n 9; then
	log "another build of $key is running; waiting for it"
	flock 9
fi
if [[ $rebuild -eq 0 && -f $dir/.complete ]]; then
	log "cached (built meanwhile): $dir"
	print_result
	exit 0
fi

rm -rf "$dir"
mkdir -p "$dir"
buildlog=$dir/build.log
: >"$buildlog"
start=$(date +%s)

# Run a build step with its output in build.log; on failure show the tail.
step() {
	local what=$1
	shift
	log "$what"
	echo "=== $what: $*" >>"$buildlog"
	if ! "$@" >>"$buildlog" 2>&1; then
		tail -n 40 "$buildlog" >&2
		die "$what failed (full log: $buildlog)"
	fi
}

# Translate the fragment into scripts/config arguments.
fragment_args() {
	local line name val
	while IFS= read -r line || [[ -n $line ]]; do
		case $line in
		"# CONFIG_"*" is not set")
			name=${line#"# CONFIG_"}
			echo "--disable"
			echo "${name%" is not set"}"
			;;
		"" | "#"*) ;;
		CONFIG_*=y)
			name=${line#CONFIG_}
			echo "--enable"
			echo "${name%=y}"
			;;
		CONFIG_*=\"*\")
			name=${line#CONFIG_}
			val=${name#*=}
			val=${val#\"}
			echo "--set-str"
			echo "${name%%=*}"
			echo "${val%\"}"
			;;
		CONFIG_*=*)
			name=${line#CONFIG_}
			echo "--set-val"
			echo "${name%%=*}"
			echo "${name#*=}"
			;;
		*) die "bad fragment line: $line" ;;
		esac
	done <"$fragment"
}

# Every fragment line must hold in the final .config.
verify_config() {
	local cfg=$1 line name bad=0 have
	while IFS= read -r line || [[ -n $line ]]; do
		case $line in
		"# CONFIG_"*" is not set")
			name=${line#"# "}
			name=${name%" is not set"}
			if grep -q "^$name=" "$cfg"; then
				log "  WANTED OFF: $name, have: $(grep "^$name=" "$cfg")"
				bad=1
			fi
			;;
		"" | "#"*) ;;
		*)
			name=${line%%=*}
			if ! grep -qxF "$line" "$cfg"; then
				have=$(grep -E "^(# )?${name}[= ]" "$cfg" || true)
				log "  WANTED: $line, have: ${have:-absent (unmet dependency?)}"
				bad=1
			fi
			;;
		esac
	done <"$fragment"
	return $bad
}

step "unpacking $tarball" tar -C "$dir" -xf "$tarball"
mv "$dir/$src_pkg" "$tree"

mapfile -t cfg_args < <(fragment_args)
step "make tinyconfig" make -C "$tree" tinyconfig
# Two rounds: an option whose dependency is itself only switched on by the
# first olddefconfig would otherwise be dropped.
for round in 1 2; do
	step "apply fragment (round $round)" \
		"$tree/scripts/config" --file "$tree/.config" "${cfg_args[@]}"
	step "make olddefconfig (round $round)" make -C "$tree" olddefconfig
done
log "verifying every fragment option in .config"
if ! verify_config "$tree/.config"; then
	cp "$tree/.config" "$dir/config.rejected"
	die "config fragment not satisfied (see above; .config kept as $dir/config.rejected)"
fi
cp "$tree/.config" "$dir/config"

# `modules` (there are none in this config) makes modpost write
# Module.symvers, which out-of-tree module builds need for symbol checks.
step "make -j$jobs bzImage modules (log: $buildlog)" \
	make -C "$tree" -j"$jobs" bzImage modules
step "make modules_prepare" make -C "$tree" modules_prepare
[[ -s $tree/Module.symvers ]] || die "no Module.symvers in $tree"
grep -q '[[:space:]]_printk[[:space:]]' "$tree/Module.symvers" ||
	die "Module.symvers lacks _printk: out-of-tree modules would not link"
cp "$tree/arch/x86/boot/bzImage" "$dir/bzImage"
krel=$(make -s -C "$tree" kernelrelease)

# Prove the tree really builds out-of-tree modules, with the checkers'
# instrumentation (KASAN) applied to them.
selftest=$(mktemp -d)
trap 'rm -rf "$selftest"' EXIT
cat >"$selftest/csx_kbuild_selftest.c" <<'EOF'
// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#include <linux/module.h>
#include <linux/slab.h>

static int __init csx_kbuild_selftest_init(void)
{
	kfree(kmalloc(16, GFP_KERNEL));
	return 0;
}
module_init(csx_kbuild_selftest_init);
MODULE_LICENSE("Dual BSD/GPL");
EOF
echo "obj-m := csx_kbuild_selftest.o" >"$selftest/Kbuild"
step "out-of-tree module self-test" make -C "$tree" M="$selftest" modules
vermagic=$(modinfo -F vermagic "$selftest/csx_kbuild_selftest.ko")
[[ $vermagic == "$krel "* ]] ||
	die "self-test module vermagic '$vermagic' does not match $krel"
grep -q __asan_ "$selftest/csx_kbuild_selftest.ko" ||
	die "self-test module is not KASAN-instrumented"

secs=$(($(date +%s) - start))
cat >"$dir/info" <<EOF
source=$src_pkg $src_ver
kernelrelease=$krel
compiler=$(gcc --version | head -n1)
jobs=$jobs
build_seconds=$secs
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
touch "$dir/.complete"
log "built $krel in ${secs}s: bzImage $(du -h "$dir/bzImage" | cut -f1)," \
	"tree $(du -sh "$tree" | cut -f1)"
print_result
