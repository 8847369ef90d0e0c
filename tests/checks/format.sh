#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# make check: kernel style via the repo's .clang-format.
exec "${top_srcdir:-.}/scripts/check-format.sh"
