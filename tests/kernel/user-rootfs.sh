#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Build a root tree that lets the test VM run CSX's user-mode side: the
# installed CSX (csx-run, libcsx-user, the sample modules, the test programs
# named below) plus every shared library they load, at the paths the
# dynamic loader looks for them. run-vm.sh --rootfs merges it onto /.
#
# usage: user-rootfs.sh --build DIR --out DIR [--bin FILE]...
#   --build DIR   a configured and built CSX tree (make install runs there)
#   --out DIR     the root tree to (re)create
#   --bin FILE    an extra executable for /usr/local/bin (repeatable)
#
# The VM's glibc is the host's: same Debian release, same loader.
set -euo pipefail

build=""
out=""
bins=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--build) build=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--bin) bins+=("${2:?}"); shift 2 ;;
	*) echo "user-rootfs: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[[ -n $build && -n $out ]] || { echo "usage: user-rootfs.sh --build DIR --out DIR [--bin FILE]..." >&2; exit 2; }
[[ -f $build/Makefile ]] || { echo "user-rootfs: $build is not a configured build" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
make -C "$build" install DESTDIR="$out" >/dev/null
for b in "${bins[@]}"; do
	# libtool wrappers: take the real binary.
	real=$b
	d=$(dirname "$b")
	[[ -x $d/.libs/$(basename "$b") ]] && real=$d/.libs/$(basename "$b")
	install -D -m 755 "$real" "$out/usr/local/bin/$(basename "$b")"
done

# Every library any installed ELF file needs, recursively (ldd resolves
# the whole tree), copied to the path the loader found it at.
declare -A seen=()
add_lib() {
	local path=$1
	[[ -n ${seen[$path]:-} ]] && return
	seen[$path]=1
	mkdir -p "$out$(dirname "$path")"
	cp -L "$path" "$out$path"
}
export LD_LIBRARY_PATH=$out/usr/local/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
while IFS= read -r -d '' f; do
	readelf -h "$f" >/dev/null 2>&1 || continue
	while read -r lib; do
		# Our own libraries are installed already.
		[[ $lib == "$out"/* ]] && continue
		add_lib "$lib"
	done < <(ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }')
done < <(find "$out" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
# The loader finds /usr/local/lib through the tree's own cache, as on an
# installed system.
mkdir -p "$out/etc"
echo /usr/local/lib >"$out/etc/ld.so.conf"
ldconfig -r "$out"
echo "user-rootfs: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1) in $out" >&2
