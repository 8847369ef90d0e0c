/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The calls sample's service: what a client module needs to call it.
 *
 * calls_svc exports "calls/echo", version CALLS_VERSION. The same client
 * source calls it from wherever it runs: the same process or kernel (a
 * direct call), or a user process calling the kernel module (through the
 * kernel helper). Neither side knows which path the call takes.
 *
 * Mode-free: the same header serves the kernel modules and the user build.
 */
#ifndef CALLS_H
#define CALLS_H

#include <csx/csx.h>

/** The service's name. */
#define CALLS_SERVICE "calls/echo"
/** Version of the service described here. */
#define CALLS_VERSION 2

/** Operations. */
enum calls_op {
	/** The response is the request, byte for byte (any length). */
	CALLS_OP_ECHO = 1,
	/** In: uint32_t values. Out: struct calls_sum. */
	CALLS_OP_SUM = 2,
	/** In: nothing. Out: struct calls_stats. */
	CALLS_OP_STATS = 3,
};

/** CALLS_OP_SUM response. */
struct calls_sum {
	uint64_t sum;	/**< Sum of the values. */
	uint32_t count; /**< How many there were. */
	uint32_t pad;	/**< Zero. */
};

/** CALLS_OP_STATS response. */
struct calls_stats {
	uint64_t calls; /**< Calls served since the service was exported. */
	uint64_t bytes; /**< Request bytes received. */
};

#endif /* CALLS_H */
