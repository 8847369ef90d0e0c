#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# doc/tutorial-user-mode.md works as written: its driver (the C block after
# the tutorial:hello_edu.c marker) is saved as hello_edu.c and every
# "build$ " command is run verbatim in the build directory, in order.
. "$(dirname "$0")/lib.sh"

doc=$top_srcdir/doc/tutorial-user-mode.md
SRC=$top_srcdir
export SRC

awk '/<!-- tutorial:hello_edu.c -->/ { f = 1; next }
	f && /^```c$/ { p = 1; next }
	p && /^```$/ { exit }
	p' "$doc" >hello_edu.c
[ -s hello_edu.c ] || fail "no hello_edu.c in $doc"

all=
n=0
cmds=$(sed -n 's/^build\$ //p' "$doc")
[ -n "$cmds" ] || fail "no build\$ commands in $doc"
while IFS= read -r cmd; do
	case $cmd in
	*gdb*) command -v gdb >/dev/null 2>&1 || { echo "$me: gdb missing, not running: $cmd"; continue; } ;;
	esac
	run_status sh -c "$cmd"
	[ $rc = 0 ] || fail "exit $rc: $cmd"
	all="$all
$out"
	n=$((n + 1))
done <<EOC
$cmds
EOC
expect "$all" "edu: demo done: 2 device(s) OK" \
	"hello_edu: sim-edu0: id 0x010000ed" \
	"hello_edu: sim-edu0: interrupt 0x1234 handled"
command -v gdb >/dev/null 2>&1 && expect "$all" "edu ISR: interrupt status = 0x1"
rm -f hello_edu.c hello_edu.so
echo "$me: PASS ($n commands)"
