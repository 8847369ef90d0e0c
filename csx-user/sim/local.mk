# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# Simulated devices, the host csx-run and the standalone-executable main.
csx_sim_sources =
