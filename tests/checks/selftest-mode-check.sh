#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# The mode-conditional check must catch what it claims to catch: feed it a
# sample with '#ifdef __KERNEL__' and one including <stdio.h>.
set -eu
check=${top_srcdir:-.}/scripts/check-no-mode-conditionals.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <csx/csx.h>\n#ifdef __KERNEL__\nint x;\n#endif\n' >"$tmp/a.c"
if "$check" "$tmp" >/dev/null 2>&1; then echo "FAIL: #ifdef __KERNEL__ not caught"; exit 1; fi
printf '#include <csx/csx.h>\n#include <stdio.h>\n' >"$tmp/a.c"
if "$check" "$tmp" >/dev/null 2>&1; then echo "FAIL: <stdio.h> not caught"; exit 1; fi
printf '#include <csx/csx.h>\nint x;\n' >"$tmp/a.c"
"$check" "$tmp" >/dev/null || { echo "FAIL: clean file rejected"; exit 1; }
echo "mode check catches conditionals and foreign headers"
