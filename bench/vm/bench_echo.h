/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/* bench_echo.c's service, as bench_call_uk.c calls it. */
#ifndef BENCH_ECHO_H
#define BENCH_ECHO_H

#define BENCH_ECHO_SERVICE "bench/echo"
#define BENCH_ECHO_VERSION 1
#define BENCH_ECHO_OP 1

#endif /* BENCH_ECHO_H */
