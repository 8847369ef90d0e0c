#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Generate ./configure from configure.ac and the Makefile.am fragments.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --install --force
