#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# make check: each back end implements exactly the hooks of csx_os.h.
set -eu
s=${top_srcdir:-.}/scripts/check-port-contract.sh
"$s" "${top_srcdir:-.}/csx-user"
"$s" "${top_srcdir:-.}/csx-kernel"
