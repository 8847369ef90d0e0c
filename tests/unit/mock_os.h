/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * A mock back end: every csx_os_* hook, driven by the unit tests. Tests set
 * the caller's context, CPU and thread identity, make allocations fail,
 * read back log lines, and run DPC executors, timers and ISRs by hand.
 *
 * Freed memory is kept (not reused) until mock_reset(), so a test can hand
 * a destroyed handle back to the core and expect a clean -CSX_EINVAL even
 * under AddressSanitizer.
 */
#ifndef MOCK_OS_H
#define MOCK_OS_H

#include <csx/csx.h>
#include <csx/csx_os.h>

/* ---- Fixture ---------------------------------------------------------- */

/* Reset the mock (before csx__core_init). Frees kept memory. */
void mock_reset(void);
/* CMocka setup: mock_reset() + csx__core_init(); fails if init fails. */
int unit_setup(void **state);
/*
 * CMocka teardown: csx__core_fini(), then fails the test if core memory
 * leaked, the core reported leaked objects, or the mock saw hook misuse.
 */
int unit_teardown(void **state);

/* ---- Caller identity (per calling thread) ----------------------------- */

/* CSX_OS_CTX_ISR / DPC / ATOMIC bits the caller pretends to run in. */
void mock_set_context(unsigned int bits);
void mock_set_cpu(unsigned int cpu);
/* Pretend to be another thread (0: the real one). */
void mock_set_tid(uintptr_t tid);

/* ---- Knobs read at csx__core_init ------------------------------------- */

void mock_set_cpu_count(unsigned int n);
void mock_set_contract_version(uint32_t v);
void mock_set_init_result(int ret);
void mock_set_dpc_start_result(int ret);
/* -1 unsets. */
void mock_set_env_bool(const char *name, int value);

/* ---- Memory ----------------------------------------------------------- */

/* The allocation after @n more successful ones fails; -1 never fails. */
void mock_fail_alloc_after(long n);
long mock_live_allocs(void);
unsigned long mock_alloc_calls(void);
/* Double frees, releases without holds, and other hook misuse seen. */
unsigned long mock_errors(void);

/* ---- Observations ----------------------------------------------------- */

unsigned long mock_sleeps(void); /* thread_sleep + thread_yield calls */
unsigned long mock_sleeps_in_atomic(void);
unsigned long mock_bugs(void);
unsigned long mock_kicks(unsigned int cpu);
unsigned long mock_os_inits(void);
unsigned long mock_os_finis(void);
bool mock_dpc_started(void);
bool mock_log_contains(const char *needle);
unsigned long mock_log_count(int level);
void mock_log_clear(void);
/* Called (once per sleep) from csx_os_thread_sleep, after pending kicks. */
void mock_set_on_sleep(void (*fn)(void *arg), void *arg);
/* Threads currently blocked in csx_os_event_wait / csx_os_sem_down. */
unsigned int mock_waiting(void);

/* ---- Executors -------------------------------------------------------- */

/* Run csx__dpc_run(@cpu) as that CPU's executor, in DPC context. */
void mock_run_dpcs(unsigned int cpu);
/* Run every CPU's executor that was kicked since it last ran. */
void mock_run_kicked(void);

bool mock_timer_armed(struct csx_timer *core);
uint64_t mock_timer_delay(struct csx_timer *core);
uint64_t mock_timer_period(struct csx_timer *core);
/* Expire the timer: csx__timer_fire() in DPC context. */
void mock_timer_fire(struct csx_timer *core);
/* The last csx_os_timer_stop() call's wait argument. */
bool mock_timer_last_stop_waited(void);

/* Deliver a pending software raise / a device interrupt, in ISR context. */
unsigned int mock_intr_raises(struct csx_intr *core);
enum csx_irqreturn mock_intr_deliver(struct csx_intr *core);

/* ---- Devices ---------------------------------------------------------- */

struct csx_os_dev *mock_dev_add(uint16_t vendor, uint16_t device,
				const char *name, uint64_t bar0_size, bool msi);
/* The core device bound to @d, or NULL. */
struct csx_device *mock_dev_core(struct csx_os_dev *d);
uint8_t *mock_dev_bar(struct csx_os_dev *d, unsigned int bar);
uint8_t *mock_dev_cfg(struct csx_os_dev *d);
unsigned long mock_dev_reg_ops(struct csx_os_dev *d);
void mock_set_driver_register_result(int ret);

/* ---- Remote services -------------------------------------------------- */

/*
 * What csx_os_remote_open() answers: @result (default -CSX_ENOENT, as a
 * back end with no other domain); on 0 a channel at @version.
 */
void mock_set_remote_open(int result, uint32_t version);
/*
 * What csx_os_remote_call() answers: @status, with @resp_len bytes of
 * @resp (kept by pointer) copied out when they fit and *out_len set to
 * @resp_len whether they fit or not (to test the core's check).
 */
void mock_set_remote_call(int status, const void *resp, size_t resp_len);

/* What the remote hooks saw. Channels are checked at teardown. */
struct mock_remote_seen {
	unsigned long opens, calls, closes;
	char name[CSX_SERVICE_NAME_MAX];
	uint32_t min_version;
	struct csx_os_rchan *chan; /* opened last / called last / closed last */
	uint32_t op;
	const void *in;
	size_t in_len;
	void *out;
	size_t out_cap;
	int64_t timeout_ns;
	int64_t wait_ns; /* of the last open */
	/* The last csx_os_remote_call_shbuf(): */
	struct csx_os_shbuf *shbuf;
	size_t in_off, out_off;
};
const struct mock_remote_seen *mock_remote_seen(void);
/* The next csx_os_remote_call() answers @status (no response), once. */
void mock_set_remote_call_once(int status);
/* The next successful csx_os_remote_open() reports the peer gone
 * (csx__remote_peer_gone()) before it returns, once. */
void mock_set_remote_gone_in_open(void);
/* The next csx_os_remote_close() reports the peer gone before it returns
 * (a death the back end was telling), once. */
void mock_set_remote_gone_in_close(void);
/* The idempotent mask csx_os_remote_open() reports (default 0). */
void mock_set_remote_idempotent(uint64_t mask);
/* Remote channels opened and not closed yet. */
unsigned int mock_remote_live(void);
/*
 * Many calling threads: every remote channel dies after @calls calls
 * (later calls on it answer -CSX_EPEERDIED, as a dead peer's do), and the
 * remote hooks lock and count atomically, so threads may call them at
 * once. 0 (the default): off. mock_remote_seen() keeps opens and closes;
 * calls answered 0 are counted by mock_remote_ok_calls().
 */
void mock_set_remote_die_after(unsigned int calls);
unsigned long mock_remote_ok_calls(void);
/* Shared buffers allocated and not freed yet (checked at teardown). */
unsigned int mock_shbuf_live(void);
/* What csx_os_shbuf_alloc() answers (0, the default: memory). A remote
 * call with a buffer made for no channel answers -CSX_EINVAL; otherwise
 * as csx_os_remote_call(), the response copied into the buffer. */
void mock_set_shbuf_alloc(int result);

/* What csx_os_service_publish() answers (default 0). */
void mock_set_publish_result(int result);
/* What the publish/withdraw hooks saw. */
struct mock_publish_seen {
	unsigned long publishes, withdraws;
	char name[CSX_SERVICE_NAME_MAX]; /* last published or withdrawn */
	uint32_t version;
	enum csx_service_scope scope;
	uint64_t idempotent;
};
const struct mock_publish_seen *mock_publish_seen(void);

/* ---- Saved state -------------------------------------------------------- */

/* What csx_os_state_get() answers when not 0 (default 0: it works). */
void mock_set_state_result(int result);
/* The raw region @name (to corrupt it), or NULL; @size its size. */
unsigned char *mock_state_mem(const char *name, size_t *size);
/* The unit csx_os_dev_unit_hint() gives for @d (mock_dev_add(): -1). */
void mock_dev_set_unit_hint(struct csx_os_dev *d, int unit);

#endif /* MOCK_OS_H */
