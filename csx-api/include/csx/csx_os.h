/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_os.h
 * @brief THE port contract: every hook a CSX back end implements.
 *
 * The portable core (csx-api/src) implements the public API once, above
 * these hooks, and calls nothing else of the OS. A port of CSX to a new OS
 * implements exactly the functions declared here (a build check compares
 * each back end's definitions with this list) and passes the conformance
 * suite (tests/conformance).
 *
 * Conventions (after NetBSD rump's hypercall contract):
 * - int hooks return 0 or a negated CSX_E* status; void hooks cannot fail.
 * - Objects are created through out-pointers and are opaque to the core.
 * - The core has validated every argument before it calls a hook: hooks do
 *   not re-check handles, NULLs or ranges unless stated.
 * - "Any context" means thread, DPC and ISR context, with or without
 *   interrupts disabled; such a hook never sleeps.
 *
 * Hooks the back end calls in the core ("upcalls") are at the end.
 */
#ifndef CSX_OS_H
#define CSX_OS_H

#include <csx/csx_types.h>
#include <csx/csx_device.h>
#include <csx/csx_intr.h>
#include <csx/csx_timer.h>
#include <csx/csx_service.h>

/** Version of this contract; a back end reports the one it implements. */
#define CSX_OS_CONTRACT_VERSION 4

/* ---- Lifecycle --------------------------------------------------------- */

/**
 * csx_os_init() - Bring the back end up (threads, loops, tables).
 * @return 0 or a negative status. Thread context; may sleep. Called once by
 *         the core before any other hook.
 */
int csx_os_init(void);
/**
 * csx_os_fini() - Tear the back end down: every thread it started is
 * joined and every resource it holds is freed. Thread context.
 */
void csx_os_fini(void);
/**
 * csx_os_name() - The back end's name ("user", "kernel").
 * @return A constant string.
 */
const char *csx_os_name(void);
/**
 * csx_os_contract_version() - The contract version the back end implements.
 * @return CSX_OS_CONTRACT_VERSION as the back end was built with.
 */
uint32_t csx_os_contract_version(void);

/* ---- Memory, logging, failure ------------------------------------------ */

/**
 * csx_os_alloc() - Allocate uninitialized memory.
 * @param size Bytes (> 0).
 * @param atomic true: must not sleep (any context).
 * @return Memory aligned for any type, or NULL.
 */
void *csx_os_alloc(size_t size, bool atomic);
/**
 * csx_os_free() - Free memory from csx_os_alloc(). Any context.
 * @param ptr Non-NULL memory.
 */
void csx_os_free(void *ptr);
/**
 * csx_os_vlog() - Emit one log line. Any context; never sleeps.
 * @param level enum csx_log_level value.
 * @param fmt printf format (no trailing newline required).
 * @param ap Arguments.
 */
void csx_os_vlog(int level, const char *fmt, va_list ap);
/**
 * csx_os_bug() - A fatal misuse in strict mode: user mode aborts, kernel
 * mode WARNs (with a stack trace) and continues. Any context.
 * @param msg What went wrong (already logged by the core).
 */
void csx_os_bug(const char *msg);
/**
 * csx_os_getenv_bool() - Read a boolean tunable (user: environment variable;
 * kernel: module parameter or default).
 * @param name Tunable name, e.g. "CSX_STRICT".
 * @param dflt Value when unset or unparsable.
 * @return The value.
 */
bool csx_os_getenv_bool(const char *name, bool dflt);

/* ---- Time, CPUs, context ----------------------------------------------- */

/** csx_os_time_ns() - Monotonic nanoseconds. Any context. @return Time. */
uint64_t csx_os_time_ns(void);
/** csx_os_cpu_count() - CPUs DPCs may run on. @return At least 1. */
unsigned int csx_os_cpu_count(void);
/** csx_os_cpu_current() - The current CPU (may change at once). @return CPU. */
unsigned int csx_os_cpu_current(void);
/**
 * csx_os_cpu_hold() - Stay on the current CPU until csx_os_cpu_release()
 * (kernel: get_cpu(); user: returns the current CPU, migration is harmless
 * there because queues are locked). Any context; never sleeps.
 * @return The CPU.
 */
unsigned int csx_os_cpu_hold(void);
/** csx_os_cpu_release() - End csx_os_cpu_hold(). Any context. */
void csx_os_cpu_release(void);

/** @name csx_os_context() bits */
/** @{ */
#define CSX_OS_CTX_ISR 0x1u    /**< In an ISR. */
#define CSX_OS_CTX_DPC 0x2u    /**< In a DPC or timer callback. */
#define CSX_OS_CTX_ATOMIC 0x4u /**< May not sleep (any reason). */
/** @} */
/**
 * csx_os_context() - Describe the caller's context. Any context.
 * @return CSX_OS_CTX_* bits; ATOMIC is set whenever ISR or DPC is, and
 *         also with a spinlock held or an interrupt disabled (except holds
 *         that csx_os_intr_held() reports instead).
 */
unsigned int csx_os_context(void);
/**
 * csx_os_thread_id() - A token unique to the calling thread while it lives.
 * @return Non-zero token. Any context (in ISR/DPC: the executing thread's).
 */
uintptr_t csx_os_thread_id(void);

/* ---- Threads ----------------------------------------------------------- */

struct csx_os_thread;
/**
 * csx_os_thread_create() - Start a thread running @p fn(@p arg).
 * @param out Receives the handle.
 * @param name Short name.
 * @param fn Body.
 * @param arg Argument.
 * @return 0 or -CSX_ENOMEM. Thread context.
 */
int csx_os_thread_create(struct csx_os_thread **out, const char *name,
			 int (*fn)(void *), void *arg);
/**
 * csx_os_thread_join() - Wait for the body to return; free the handle.
 * @param t Handle.
 * @return The body's return value. Thread context; sleeps.
 */
int csx_os_thread_join(struct csx_os_thread *t);
/**
 * csx_os_thread_is_current() - Is @p t the calling thread?
 * @param t Handle. @return true if so.
 */
bool csx_os_thread_is_current(struct csx_os_thread *t);
/** csx_os_thread_sleep() - Sleep at least @p ns. Thread context. @param ns Nanoseconds. */
void csx_os_thread_sleep(uint64_t ns);
/** csx_os_thread_yield() - Yield the CPU. Thread context. */
void csx_os_thread_yield(void);

/* ---- Locks ------------------------------------------------------------- */

struct csx_os_mutex;
/** Create. @param out Handle. @return 0 or -CSX_ENOMEM. */
int csx_os_mutex_create(struct csx_os_mutex **out);
/** Destroy (not held). @param m Handle. */
void csx_os_mutex_destroy(struct csx_os_mutex *m);
/** Lock, sleeping. @param m Handle. */
void csx_os_mutex_lock(struct csx_os_mutex *m);
/** Try to lock. @param m Handle. @return true if taken. */
bool csx_os_mutex_trylock(struct csx_os_mutex *m);
/** Unlock. @param m Handle. */
void csx_os_mutex_unlock(struct csx_os_mutex *m);

struct csx_os_spinlock;
/** Create. @param out Handle. @return 0 or -CSX_ENOMEM. */
int csx_os_spin_create(struct csx_os_spinlock **out);
/** Destroy (not held). @param s Handle. */
void csx_os_spin_destroy(struct csx_os_spinlock *s);
/**
 * Lock: excludes threads and DPCs; the caller becomes atomic
 * (csx_os_context() reports CSX_OS_CTX_ATOMIC) until unlock.
 * @param s Handle.
 */
void csx_os_spin_lock(struct csx_os_spinlock *s);
/** Unlock. @param s Handle. */
void csx_os_spin_unlock(struct csx_os_spinlock *s);

struct csx_os_rwlock;
/** Create. @param out Handle. @return 0 or -CSX_ENOMEM. */
int csx_os_rwlock_create(struct csx_os_rwlock **out);
/** Destroy (not held). @param rw Handle. */
void csx_os_rwlock_destroy(struct csx_os_rwlock *rw);
/** Take shared, sleeping. @param rw Handle. */
void csx_os_rwlock_read(struct csx_os_rwlock *rw);
/** Take exclusive, sleeping. @param rw Handle. */
void csx_os_rwlock_write(struct csx_os_rwlock *rw);
/** Release a shared hold. @param rw Handle. */
void csx_os_rwlock_read_unlock(struct csx_os_rwlock *rw);
/** Release the exclusive hold. @param rw Handle. */
void csx_os_rwlock_write_unlock(struct csx_os_rwlock *rw);

/* ---- Events and semaphores --------------------------------------------- */

struct csx_os_event;
/**
 * Create. @param out Handle. @param manual Manual reset (else auto).
 * @param set Initially set. @return 0 or -CSX_ENOMEM.
 */
int csx_os_event_create(struct csx_os_event **out, bool manual, bool set);
/** Destroy (no waiters). @param ev Handle. */
void csx_os_event_destroy(struct csx_os_event *ev);
/** Set; any context. @param ev Handle. */
void csx_os_event_set(struct csx_os_event *ev);
/** Reset; any context. @param ev Handle. */
void csx_os_event_reset(struct csx_os_event *ev);
/**
 * Wait. @param ev Handle. @param timeout_ns 0 (poll; any context),
 * positive, or CSX_WAIT_FOREVER. @return 0 or -CSX_ETIMEDOUT.
 */
int csx_os_event_wait(struct csx_os_event *ev, int64_t timeout_ns);

struct csx_os_sem;
/** Create. @param out Handle. @param initial Count. @return 0 or -CSX_ENOMEM. */
int csx_os_sem_create(struct csx_os_sem **out, unsigned int initial);
/** Destroy (no waiters). @param s Handle. */
void csx_os_sem_destroy(struct csx_os_sem *s);
/** Up; any context. @param s Handle. */
void csx_os_sem_up(struct csx_os_sem *s);
/**
 * Down. @param s Handle. @param timeout_ns As for events.
 * @return 0 or -CSX_ETIMEDOUT.
 */
int csx_os_sem_down(struct csx_os_sem *s, int64_t timeout_ns);

/* ---- DPC executors ------------------------------------------------------ */

/**
 * csx_os_dpc_start() - Start one DPC executor per CPU. Each runs
 * csx__dpc_run(cpu) in DPC context on that CPU when kicked.
 * @return 0 or a negative status. Thread context.
 */
int csx_os_dpc_start(void);
/** csx_os_dpc_stop() - Stop and join the executors. Thread context. */
void csx_os_dpc_stop(void);
/**
 * csx_os_dpc_kick() - Make the executor of @p cpu call csx__dpc_run(@p cpu)
 * soon (again, if it is running). Any context; never sleeps. The caller
 * holds @p cpu with csx_os_cpu_hold().
 * @param cpu CPU number.
 */
void csx_os_dpc_kick(unsigned int cpu);

/* ---- Timers ------------------------------------------------------------ */

struct csx_os_timer;
/**
 * csx_os_timer_create() - Create a stopped timer whose expiry calls
 * csx__timer_fire(@p core) in DPC context.
 * @param out Handle. @param core Core timer passed back.
 * @return 0 or -CSX_ENOMEM. Thread context.
 */
int csx_os_timer_create(struct csx_os_timer **out, struct csx_timer *core);
/** Destroy a stopped timer. @param t Handle. Thread context. */
void csx_os_timer_destroy(struct csx_os_timer *t);
/**
 * Arm. @param t Handle. @param delay_ns First expiry. @param period_ns 0 or
 * the period. Any context but ISR.
 */
void csx_os_timer_start(struct csx_os_timer *t, uint64_t delay_ns,
			uint64_t period_ns);
/**
 * Disarm. @param t Handle. @param wait Wait for a running expiry (thread
 * context only). @return true if it was armed.
 */
bool csx_os_timer_stop(struct csx_os_timer *t, bool wait);

/* ---- Devices ----------------------------------------------------------- */

/** A back end's device (kernel: wraps a pci_dev; user: simulated or claimed). */
struct csx_os_dev;

/**
 * csx_os_driver_register() - Make the back end probe @p drv's matches by
 * calling csx__dev_probe() for each, before returning.
 * @param drv Driver (validated). @return 0 or a negative status.
 */
int csx_os_driver_register(struct csx_driver *drv);
/**
 * csx_os_driver_unregister() - Call csx__dev_remove() for each device
 * @p drv bound, then forget it. @param drv Driver.
 */
void csx_os_driver_unregister(struct csx_driver *drv);
/** Memory BAR size. @param d Device. @param bar 0..5. @return Bytes or 0. */
uint64_t csx_os_bar_size(struct csx_os_dev *d, unsigned int bar);
/**
 * csx_os_reg_read() - Read a register; the core checked the range.
 * @param d Device. @param bar BAR. @param off Offset. @param width 1,2,4,8.
 * @return The value. Any context.
 */
uint64_t csx_os_reg_read(struct csx_os_dev *d, unsigned int bar, uint64_t off,
			 unsigned int width);
/**
 * csx_os_reg_write() - Write a register; the core checked the range.
 * @param d Device. @param bar BAR. @param off Offset. @param width 1,2,4,8.
 * @param val Value. Any context.
 */
void csx_os_reg_write(struct csx_os_dev *d, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t val);
/**
 * Config read. @param d Device. @param off Offset. @param size 1,2,4.
 * @param val Out. @return 0 or negative status.
 */
int csx_os_cfg_read(struct csx_os_dev *d, unsigned int off, unsigned int size,
		    uint32_t *val);
/**
 * Config write. @param d Device. @param off Offset. @param size 1,2,4.
 * @param val Value. @return 0 or negative status.
 */
int csx_os_cfg_write(struct csx_os_dev *d, unsigned int off, unsigned int size,
		     uint32_t val);

struct csx_os_dma;
/**
 * csx_os_dma_alloc() - Coherent DMA memory for @p d.
 * @param d Device. @param size Bytes. @param out Handle. @param cpu CPU
 * address out. @param bus Bus address out. @return 0 or -CSX_ENOMEM.
 */
int csx_os_dma_alloc(struct csx_os_dev *d, size_t size, struct csx_os_dma **out,
		     void **cpu, uint64_t *bus);
/** Free. @param d Device. @param dma Handle. */
void csx_os_dma_free(struct csx_os_dev *d, struct csx_os_dma *dma);

/* ---- Interrupts -------------------------------------------------------- */

struct csx_os_intr;
/**
 * csx_os_intr_attach() - Route @p d's interrupt to csx__intr_dispatch(
 * @p core), run in ISR context with the interrupt's WRITELOCK (user) or
 * spinlock (kernel) held.
 * @param d Device. @param flags CSX_INTR_*. @param core Core handle.
 * @param out Handle. @return 0, -CSX_ENOSYS, -CSX_ENOMEM, -CSX_ENOSPC,
 * -CSX_EIO.
 */
int csx_os_intr_attach(struct csx_os_dev *d, unsigned int flags,
		       struct csx_intr *core, struct csx_os_intr **out);
/**
 * csx_os_intr_attach_soft() - A software line; see csx_intr_attach_soft().
 * @param core Core handle. @param out Handle. @return 0, -CSX_ENOMEM or
 * -CSX_ENOSPC.
 */
int csx_os_intr_attach_soft(struct csx_intr *core, struct csx_os_intr **out);
/** Raise a software line; any context. @param oi Handle. */
void csx_os_intr_raise(struct csx_os_intr *oi);
/**
 * Detach: after return the ISR never runs again. Thread context.
 * @param oi Handle (freed).
 */
void csx_os_intr_detach(struct csx_os_intr *oi);
/**
 * Hold off the ISR (READLOCK / spin_lock_irqsave); nests; any context.
 * Must be a no-op returning a key restore ignores when called from this
 * interrupt's own ISR. @param oi Handle. @return Key.
 */
unsigned long csx_os_intr_disable(struct csx_os_intr *oi);
/** Undo csx_os_intr_disable(). @param oi Handle. @param key Its key. */
void csx_os_intr_restore(struct csx_os_intr *oi, unsigned long key);
/**
 * csx_os_intr_held() - Does the calling thread hold an interrupt disabled
 * that csx_os_context() does not count? Any context; never sleeps.
 *
 * A back end may inline its disable fast path into drivers (user mode:
 * csx_os_types.h), where csx_os_context()'s own bookkeeping is out of
 * reach; it counts those holds where the inline code can, and the core's
 * sleeping-call check asks here too. A back end whose csx_os_context()
 * already reports every hold as CSX_OS_CTX_ATOMIC (kernel) returns false.
 * @return true while such a hold is taken.
 */
bool csx_os_intr_held(void);
/**
 * csx_os_may_sleep() - May the caller sleep? Any context; never sleeps.
 *
 * Exactly !(csx_os_context() & CSX_OS_CTX_ATOMIC) && !csx_os_intr_held(),
 * in one call: every sleeping entry point of the API asks it first, and
 * the answer is nearly always yes.
 * @return true if the caller may sleep.
 */
bool csx_os_may_sleep(void);
/**
 * Wait-thread spin budget. @param oi Handle. @param spin_ns Budget.
 * @return 0 (kernel: accepted and ignored).
 */
int csx_os_intr_set_spin(struct csx_os_intr *oi, uint64_t spin_ns);
/** MSI? @param oi Handle. @return true for MSI. */
bool csx_os_intr_is_msi(struct csx_os_intr *oi);

/* ---- Remote services ---------------------------------------------------- */

/**
 * A channel to a service in another domain (user process → kernel or
 * another process; kernel → user process),
 * opened by the back end when the in-process registry has no such name.
 */
struct csx_os_rchan;
/**
 * csx_os_remote_open() - Find service @p name outside this address space
 * and open a channel to it. Thread context; may sleep.
 * @param name "module/service" (checked by the core).
 * @param min_version Lowest acceptable version.
 * @param wait_ns 0, or how long to wait for a service of that name to
 * appear (a restarted process exporting it again) before -CSX_ENOENT.
 * @param out Channel. @param version The service's version.
 * @param idempotent The service's idempotent operations (bit n: op n),
 * 0 when the back end cannot tell.
 * @return 0; -CSX_ENOENT (no such service, or no path to other domains
 * from this back end yet); -CSX_EPROTO (the service is older than
 * @p min_version); -CSX_ENOMEM; -CSX_EPERM; -CSX_ENOSPC (too many channels open).
 */
int csx_os_remote_open(const char *name, uint32_t min_version, int64_t wait_ns,
		       struct csx_os_rchan **out, uint32_t *version,
		       uint64_t *idempotent);
/**
 * csx_os_remote_call() - A synchronous call on a remote channel; arguments
 * checked by the core (lengths within CSX_CALL_MAX_PAYLOAD). Thread
 * context; sleeps.
 * @param rc Channel. @param op Operation. @param in Request.
 * @param in_len Its length. @param out Response buffer.
 * @param out_cap Its capacity. @param out_len Response length.
 * @param timeout_ns Bound, or CSX_WAIT_FOREVER.
 * @return The handler's status, or -CSX_EPEERDIED (the service or its
 * domain went away), -CSX_ETIMEDOUT, -CSX_ENOMEM, -CSX_EIO (transport).
 */
int csx_os_remote_call(struct csx_os_rchan *rc, uint32_t op, const void *in,
		       size_t in_len, void *out, size_t out_cap,
		       size_t *out_len, int64_t timeout_ns);
/**
 * csx_os_remote_close() - Close a remote channel; no call is in progress
 * on it (the core guarantees it). Thread context.
 * @param rc Channel.
 */
void csx_os_remote_close(struct csx_os_rchan *rc);

/**
 * A shared buffer's memory as the back end made it (csx_shbuf_alloc()).
 */
struct csx_os_shbuf;
/**
 * csx_os_shbuf_alloc() - Memory the service behind @p rc can map: its
 * domain is told of it the first time a call uses it. Thread context;
 * may sleep.
 * @param rc The channel that chooses the kind of memory, or NULL: plain
 * memory of this address space (an in-process service).
 * @param size Bytes, a multiple of the page size, at most CSX_SHBUF_MAX
 * (checked by the core).
 * @param out Handle. @param addr The memory, zero-filled, mapped
 * read-write in this address space.
 * @return 0; -CSX_ENOMEM (also over a helper's limits); -CSX_EPEERDIED
 * (@p rc's peer is gone and the kind cannot be learnt).
 */
int csx_os_shbuf_alloc(struct csx_os_rchan *rc, size_t size,
		       struct csx_os_shbuf **out, void **addr);
/**
 * csx_os_shbuf_free() - Free the memory; no call using it is in progress
 * (the core guarantees it). Domains that mapped it are told to unmap it;
 * a handler still using it there (a call the caller gave up on) keeps it
 * until it returns. Thread context; may sleep.
 * @param sb Handle.
 */
void csx_os_shbuf_free(struct csx_os_shbuf *sb);
/**
 * csx_os_remote_call_shbuf() - csx_os_remote_call() with both payloads in
 * @p sb: the peer's handler reads @p in_len bytes at @p in_off and writes
 * at most @p out_cap at @p out_off of its own mapping, nothing copied.
 * Windows checked by the core (inside the buffer; they may overlap).
 * Thread context; sleeps.
 * @param rc Channel. @param op Operation. @param sb Buffer.
 * @param in_off Request offset. @param in_len Request length.
 * @param out_off Response offset. @param out_cap Response capacity.
 * @param out_len Response length. @param timeout_ns Bound, or
 * CSX_WAIT_FOREVER.
 * @return As csx_os_remote_call(), and -CSX_EINVAL (logged by the back
 * end): @p sb is memory of another kind than @p rc's peer can map (e.g.
 * made for an in-process service).
 */
int csx_os_remote_call_shbuf(struct csx_os_rchan *rc, uint32_t op,
			     struct csx_os_shbuf *sb, size_t in_off,
			     size_t in_len, size_t out_off, size_t out_cap,
			     size_t *out_len, int64_t timeout_ns);

/**
 * csx_os_service_publish() - A service was exported in this address space:
 * make it reachable from other domains as @p scope allows (user mode: the
 * user helper daemon). Not called for CSX_SERVICE_PRIVATE. Thread context;
 * may sleep.
 * @param name "module/service". @param version Its version.
 * @param scope CSX_SERVICE_USER or CSX_SERVICE_PUBLIC.
 * @param idempotent Operations callers may re-issue (bit n: op n).
 * @return 0 (also when there is no other domain to tell, or it is not
 * reachable now); -CSX_EEXIST (another domain holds the name: the export
 * fails); -CSX_ENOMEM.
 */
int csx_os_service_publish(const char *name, uint32_t version,
			   enum csx_service_scope scope, uint64_t idempotent);

/* ---- Saved state -------------------------------------------------------- */

/** A region that outlives this instance (csx_state.h). */
struct csx_os_state;
/**
 * csx_os_state_get() - The region @p name of this instance's identity,
 * created (zero-filled) with @p size bytes if there is none. Thread
 * context; may sleep.
 * @param name "module/state" (checked by the core).
 * @param size Bytes wanted, page-rounded by the core.
 * @param out Handle. @param mem The region, mapped writable.
 * @param mem_size Its size: @p size for a new region; an existing one
 * keeps its own (the core copies and re-creates when they differ).
 * @param existed true: the region was there before this call.
 * @return 0; -CSX_ENOMEM; -CSX_ENOSPC (the holder's limits).
 */
int csx_os_state_get(const char *name, size_t size, struct csx_os_state **out,
		     void **mem, size_t *mem_size, bool *existed);
/**
 * csx_os_state_put() - Unmap the region; @p drop: delete it too, so the
 * next csx_os_state_get() of the name creates a new one. Thread context.
 * @param st Handle.
 * @param drop Delete the region.
 */
void csx_os_state_put(struct csx_os_state *st, bool drop);

/* ---- Devices: unit numbers ---------------------------------------------- */

/**
 * csx_os_dev_unit_hint() - The unit the host asked for this device, or -1.
 * Any context.
 * @param d Device.
 * @return 0.. or -1 (the core gives the lowest free unit).
 */
int csx_os_dev_unit_hint(struct csx_os_dev *d);
/**
 * csx_os_service_withdraw() - Undo csx_os_service_publish(): no new opens
 * from other domains. Channels already open fail their next call, as the
 * core's own. Thread context; may sleep.
 * @param name "module/service".
 */
void csx_os_service_withdraw(const char *name);

/* ---- Upcalls: implemented by the core, called by back ends ------------- */

/**
 * csx__service_open_for() - Open, on behalf of a caller in another domain,
 * a service exported in this address space (never looks further: no
 * csx_os_remote_open()). Thread context; may sleep.
 * @param name "module/service". @param min_version Lowest acceptable.
 * @param same_user The caller runs as the exporter's user, or is
 * privileged: CSX_SERVICE_USER services are open to it.
 * @param out The channel, closed with csx_close().
 * @return 0; -CSX_ENOENT (no such name, or CSX_SERVICE_PRIVATE);
 * -CSX_EPERM (CSX_SERVICE_USER and not @p same_user); -CSX_EPROTO;
 * -CSX_EINVAL; -CSX_ENOMEM.
 */
int csx__service_open_for(const char *name, uint32_t min_version,
			  bool same_user, struct csx_chan **out);
/**
 * csx__call_for() - Run a call for a caller in another domain whose
 * request the back end copied into its own memory: as csx_call() on
 * @p chan (from csx__service_open_for()), without the context check, as
 * back ends call it only from their own threads. Thread context; may
 * sleep.
 * @param chan Channel. @param op Operation. @param in Request.
 * @param in_len Its length. @param out Response buffer.
 * @param out_cap Its capacity. @param out_len Response length.
 * @param timeout_ns As csx_call().
 * @return As csx_call().
 */
int csx__call_for(struct csx_chan *chan, uint32_t op, const void *in,
		  size_t in_len, void *out, size_t out_cap, size_t *out_len,
		  int64_t timeout_ns);
/**
 * csx__call_mapped() - Run a call for a caller in another domain whose
 * payloads lie in a shared buffer the back end mapped: as csx_call() on
 * @p chan (from csx__service_open_for()), but lengths may be up to
 * CSX_SHBUF_MAX. Thread context; may sleep.
 * @param chan Channel. @param op Operation. @param in Request.
 * @param in_len Its length. @param out Response window.
 * @param out_cap Its capacity. @param out_len Response length.
 * @return As csx_call().
 */
int csx__call_mapped(struct csx_chan *chan, uint32_t op, const void *in,
		     size_t in_len, void *out, size_t out_cap, size_t *out_len);
/**
 * csx__remote_peer_gone() - The service behind a remote channel went away
 * (its process died or withdrew it): the core tells the channel's watcher
 * (csx_chan_watch()). Thread context; may sleep. Back ends call it at
 * most once per channel, and never once csx_os_remote_close() of @p rc
 * has begun to return (they synchronize with their own close). A report
 * made while that close runs is dropped; one made while the open of
 * @p rc is still returning is kept until the core links the channel.
 * @param rc The channel, as csx_os_remote_open() made it.
 */
void csx__remote_peer_gone(struct csx_os_rchan *rc);

/**
 * csx__core_init() - Initialize the core (calls csx_os_init() first).
 * @return 0 or a negative status. Called by the host / module init.
 */
int csx__core_init(void);
/** csx__core_fini() - Undo csx__core_init() (calls csx_os_fini() last). */
void csx__core_fini(void);
/**
 * csx__dpc_run() - Run the DPCs queued on @p cpu. Called by the executor of
 * @p cpu, in DPC context, on that CPU.
 * @param cpu CPU number.
 */
void csx__dpc_run(unsigned int cpu);
/**
 * csx__timer_fire() - A timer expired; runs its callback. DPC context.
 * @param core Core timer.
 */
void csx__timer_fire(struct csx_timer *core);
/**
 * csx__intr_dispatch() - Run the driver's ISR and count. ISR context, with
 * the interrupt's WRITELOCK/spinlock held by the back end.
 * @param core Core interrupt. @return The ISR's verdict.
 */
enum csx_irqreturn csx__intr_dispatch(struct csx_intr *core);
/**
 * csx__intr_hot() - The head of @p core that the back end's csx_os_types.h
 * defines (struct csx_os_intr_hot): its magic belongs to the core, the back
 * end owns the rest and fills it in csx_os_intr_attach*(), before the
 * handle is published. Any context.
 * @param core Core interrupt. @return Its head.
 */
struct csx_os_intr_hot *csx__intr_hot(struct csx_intr *core);
/**
 * csx__intr_disable_slow() - csx_intr_disable() with every check: what an
 * inline fast path of the back end calls when it cannot decide. Any context.
 * @param intr Interrupt (may be bad). @return As csx_intr_disable().
 */
unsigned long csx__intr_disable_slow(struct csx_intr *intr);
/**
 * csx__intr_restore_slow() - csx_intr_restore() with every check, for the
 * same fast paths. @param intr Interrupt. @param key Its key.
 */
void csx__intr_restore_slow(struct csx_intr *intr, unsigned long key);
/**
 * csx__dev_probe() - A back-end device matches @p drv: create the core
 * device and call the driver's probe(). Thread context.
 * @param drv Driver. @param od Back-end device. @param name Device name
 * (copied). @param id Matching table entry. @param out Core device, on
 * success. @return probe()'s status.
 */
int csx__dev_probe(struct csx_driver *drv, struct csx_os_dev *od,
		   const char *name, const struct csx_pci_id *id,
		   struct csx_device **out);
/**
 * csx__dev_remove() - Call the driver's remove() and free the core device.
 * @param dev Core device from csx__dev_probe(). Thread context.
 */
void csx__dev_remove(struct csx_device *dev);
/**
 * csx__pci_match() - The first entry of @p ids matching vendor/device.
 * @param ids Table. @param vendor Vendor. @param device Device.
 * @return The entry or NULL.
 */
const struct csx_pci_id *csx__pci_match(const struct csx_pci_id *ids,
					uint16_t vendor, uint16_t device);

#endif /* CSX_OS_H */
