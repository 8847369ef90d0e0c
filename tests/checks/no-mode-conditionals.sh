#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# make check: the samples contain no mode conditionals.
exec "${top_srcdir:-.}/scripts/check-no-mode-conditionals.sh" "${top_srcdir:-.}/samples"
