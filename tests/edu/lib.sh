# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Sourced by the tests/edu scripts. make check exports top_builddir and
# top_srcdir (tests/checks.mk); by hand, run them from the build directory.
top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
me=$(basename "$0" .sh)
cd "$top_builddir" || exit 99

fail() {
	echo "$me: FAIL: $*"
	exit 1
}

# expect TEXT PATTERN...: every fixed-string PATTERN occurs in TEXT.
expect() {
	text=$1
	shift
	for pat in "$@"; do
		printf '%s\n' "$text" | grep -qF -- "$pat" ||
			fail "missing \"$pat\" in output:
$text"
	done
}

# run_status CMD...: run, keep combined output in $out and status in $rc.
run_status() {
	echo "\$ $*"
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/  | /'
}
