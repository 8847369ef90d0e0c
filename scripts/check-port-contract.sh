#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Check that back ends implement exactly the port contract.
#
# usage: check-port-contract.sh [--top DIR] [BACKEND_DIR...]
#        check-port-contract.sh [--top DIR] --exports FILE
#
#   BACKEND_DIR  a back end (default: csx-user csx-kernel). Every csx_os_*
#                function declared in csx-api/include/csx/csx_os.h must be
#                defined, not static, in the directory's *.c files, and no
#                other csx_os_* function may be defined there (a hook the
#                contract does not know is a hook nobody calls).
#   --exports F  instead: F must EXPORT_SYMBOL_GPL() every public function
#                declared in csx-api/include/csx/*.h except csx_os.h, and
#                nothing else named csx_*.
#   --top DIR    source tree (default: the parent of this script's dir)
#
# Exit 0 if all match, 1 listing every difference, 2 on usage errors.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exports=""
dirs=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--top) top=${2:?}; shift 2 ;;
	--exports) exports=${2:?}; shift 2 ;;
	-h | --help)
		sed -n 's/^# \{0,1\}//; /^usage:/,/^Exit/p' "$0" >&2
		exit 2
		;;
	-*) echo "check-port-contract: unknown option $1" >&2; exit 2 ;;
	*) dirs+=("$1"); shift ;;
	esac
done
[[ -n $exports || ${#dirs[@]} -gt 0 ]] || dirs=(csx-user csx-kernel)

incdir=$top/csx-api/include/csx
contract=$incdir/csx_os.h
[[ -r $contract ]] || { echo "check-port-contract: no $contract" >&2; exit 2; }

# The C is read after removing comments, preprocessor lines and string
# literals, so names in Doxygen text or log messages do not count.
strip_c='s{/\*.*?\*/}{ }gs; s{//[^\n]*}{}g; s{"(?:[^"\\\n]|\\.)*"}{""}g;
	s{^[ \t]*#[^\n]*(?:\\\n[^\n]*)*}{}mg;'

# Function declarations (prototypes ending in ';') at file scope whose name
# matches $1, one per line.
declared() {
	local re=$1
	shift
	perl -0777 -ne "$strip_c"'
		while (/^(?![ \t]*(?:static|typedef|extern\s+"C")\b)[^;{}()\n]*?\b('"$re"')\s*(\((?:[^()]++|(?-1))*\))\s*(?:\w+\s*(?:\((?:[^()]++|(?-1))*\))?\s*)*;/mg) {
			print "$1\n";
		}' "$@" | sort -u
}

# Non-static function definitions ("name(...) {") whose name matches $1.
defined() {
	local re=$1
	shift
	perl -0777 -ne "$strip_c"'
		while (/^(?![ \t])(?!static\b)[^;{}()\n]*?\b('"$re"')\s*(\((?:[^()]++|(?-1))*\))\s*\{/mg) {
			print "$1\n";
		}' "$@" | sort -u
}

# Report the difference of two sorted lists; returns 1 if they differ.
compare() {
	local what=$1 want=$2 have=$3 rc=0 missing extra
	missing=$(comm -23 <(echo "$want") <(echo "$have") | sed '/^$/d')
	extra=$(comm -13 <(echo "$want") <(echo "$have") | sed '/^$/d')
	if [[ -n $missing ]]; then
		echo "check-port-contract: $what: missing:"
		echo "$missing" | sed 's/^/    /'
		rc=1
	fi
	if [[ -n $extra ]]; then
		echo "check-port-contract: $what: not in the contract:"
		echo "$extra" | sed 's/^/    /'
		rc=1
	fi
	return $rc
}

rc=0
if [[ -n $exports ]]; then
	[[ -r $exports ]] || { echo "check-port-contract: no $exports" >&2; exit 2; }
	headers=()
	for h in "$incdir"/*.h; do
		[[ $h == "$contract" ]] || headers+=("$h")
	done
	# csx_os_* hooks and csx__* internals stay private to the module.
	want=$(declared 'csx_[a-z0-9_]+' "${headers[@]}" | grep -v -E '^csx_os_|^csx__' || true)
	have=$(perl -0777 -ne "$strip_c"'
		while (/\bEXPORT_SYMBOL(?:_GPL)?\s*\(\s*(\w+)\s*\)/g) { print "$1\n" }' \
		"$exports" | sort -u)
	# Core upcalls (csx__*, declared in the contract) may be exported too,
	# for the kernel helper; they are not part of the public API.
	for s in $(echo "$have" | grep -E '^csx__' || true); do
		if ! declared 'csx__[a-z0-9_]+' "$contract" | grep -qx "$s"; then
			echo "check-port-contract: $exports exports $s, which the contract does not declare"
			rc=1
		fi
	done
	have=$(echo "$have" | grep -v -E '^csx__' || true)
	n=$(echo "$want" | sed '/^$/d' | wc -l)
	if compare "$exports (public API, $n functions)" "$want" "$have"; then
		echo "check-port-contract: $exports exports all $n public functions"
	else
		rc=1
	fi
	exit $rc
fi

want=$(declared 'csx_os_[a-z0-9_]+' "$contract")
n=$(echo "$want" | sed '/^$/d' | wc -l)
[[ $n -gt 0 ]] || { echo "check-port-contract: no csx_os_* hooks found in $contract" >&2; exit 2; }
for d in "${dirs[@]}"; do
	[[ $d == /* ]] || d=$top/$d
	shopt -s nullglob
	srcs=("$d"/*.c)
	shopt -u nullglob
	if [[ ${#srcs[@]} -eq 0 ]]; then
		echo "check-port-contract: $d: no .c files"
		rc=1
		continue
	fi
	have=$(defined 'csx_os_[a-z0-9_]+' "${srcs[@]}")
	if compare "${d#"$top"/}" "$want" "$have"; then
		echo "check-port-contract: ${d#"$top"/}: all $n hooks of csx_os.h, nothing else"
	else
		rc=1
	fi
done
exit $rc
