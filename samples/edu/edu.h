/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The edu sample driver's service: what a client module needs to call it.
 *
 * The driver exports one service per device it binds, "edu/0", "edu/1",
 * ... named after the device's unit (csx_dev_unit(): probe order, or
 * what the host asked, csx-run --device ...,unit=N), version
 * EDU_SERVICE_VERSION. Every operation is idempotent: a request pending
 * when a user-mode instance dies is re-issued to its successor. Requests to one device
 * are served one at a time; each waits for the device's completion
 * interrupt, bounded by the device's request timeout.
 *
 * Mode-free: the same header serves the kernel module and the user build.
 */
#ifndef EDU_H
#define EDU_H

#include <csx/csx.h>

/** Service names are EDU_SERVICE_PREFIX followed by the device's unit. */
#define EDU_SERVICE_PREFIX "edu/"
/** Version of the service described here. */
#define EDU_SERVICE_VERSION 2
/** Room for a service name such as "edu/12". */
#define EDU_SERVICE_NAME_MAX 16
/**
 * Largest DMA round trip. The device's buffer holds 4096 bytes, but QEMU
 * before 8.2.1 treats a transfer ending exactly at the end of that buffer
 * as out of range and stops the VM with a "hardware error" (fixed upstream
 * by "edu: fix DMA range upper bound check"), so requests stay one byte
 * short and the driver works on both.
 */
#define EDU_DMA_MAX 4095

/** Operations of the service. */
enum edu_op {
	/**
	 * n! computed by the device. In: struct edu_fact_req. Out: struct
	 * edu_fact_resp. The result is modulo 2^32, as the device computes.
	 */
	EDU_OP_FACTORIAL = 1,
	/**
	 * Copy 1..EDU_DMA_MAX bytes to the device's buffer by DMA and back
	 * into a cleared driver buffer by a second DMA. In: the bytes. Out:
	 * the bytes read back (capacity at least the input length).
	 */
	EDU_OP_DMA_ROUNDTRIP = 2,
	/** Identification and counters. In: nothing. Out: struct edu_info. */
	EDU_OP_INFO = 3,
	/** Set the request timeout. In: struct edu_timeout_req. Out: nothing. */
	EDU_OP_SET_TIMEOUT = 4,
};

/** EDU_OP_FACTORIAL request. */
struct edu_fact_req {
	uint32_t n; /**< Argument. */
};

/** EDU_OP_FACTORIAL response. */
struct edu_fact_resp {
	uint32_t result; /**< n! modulo 2^32. */
};

/** EDU_OP_SET_TIMEOUT request. */
struct edu_timeout_req {
	uint32_t timeout_ms; /**< 1..60000; the default is 1000. */
};

/** EDU_OP_INFO response. */
struct edu_info {
	uint32_t id;	      /**< Identification register read at probe. */
	uint32_t liveness_ok; /**< 1: the liveness check at probe passed. */
	uint32_t msi;	      /**< 1: MSI, 0: INTx. */
	uint32_t timeout_ms;  /**< Current request timeout. */
	uint64_t irqs;	      /**< Interrupts handled. */
	uint64_t spurious;    /**< Interrupts with nothing pending (ignored). */
	uint64_t stale;	      /**< Completions that no request waited for. */
	uint64_t timeouts;    /**< Requests that timed out. */
	uint64_t factorials;  /**< Factorials completed. */
	uint64_t dma_transfers; /**< DMA transfers completed. */
	char dev_name[32];	/**< The device's name, e.g. "sim-edu0". */
	/** Instances that served this unit: 1, plus one per restart that
	 *  resumed from saved state (version 2). */
	uint64_t incarnation;
};

/**
 * edu_service_name() - The service name of unit @p index.
 * @param buf At least EDU_SERVICE_NAME_MAX bytes.
 * @param index The device's unit (csx_dev_unit()).
 */
static inline void edu_service_name(char *buf, unsigned int index)
{
	char digits[10];
	unsigned int n = 0, i;

	for (i = 0; EDU_SERVICE_PREFIX[i]; i++)
		buf[i] = EDU_SERVICE_PREFIX[i];
	do {
		digits[n++] = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	while (n)
		buf[i++] = digits[--n];
	buf[i] = '\0';
}

#endif /* EDU_H */
