/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * The mock back end for the core's unit tests (see mock_os.h).
 *
 * Locks, events and semaphores are real (pthreads) so tests may use a
 * second thread where a behaviour needs one (a blocked waiter, an
 * in-flight call); everything else is bookkeeping the tests inspect.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mock_os.h"
#include "../../csx-api/src/csx_core.h"

#define MOCK_MAX_CPUS 8
#define MOCK_LOG_LINES 128
#define MOCK_LOG_LEN 320
#define MOCK_MAX_ENV 8
#define MOCK_MAX_DEVS 8
#define MOCK_MAX_TIMERS 32
#define MOCK_MAX_INTRS 16
#define MOCK_MAX_RCHANS 8
#define MOCK_MAX_SHBUFS 8

/* ---- State ------------------------------------------------------------- */

struct mock_block {
	struct mock_block *next; /* all blocks, live or freed */
	size_t size;
	unsigned int state;
	unsigned int pad;
} __attribute__((aligned(16)));

#define MOCK_BLOCK_LIVE 0x11fe11feu
#define MOCK_BLOCK_FREED 0xf7eef7eeu

struct csx_os_dev {
	uint16_t vendor;
	uint16_t device;
	bool msi;
	char name[32];
	uint64_t bar_size[CSX__BARS];
	uint8_t *bar[CSX__BARS];
	uint8_t cfg[4096];
	unsigned long reg_ops;
	struct csx_driver *drv;
	struct csx_device *core;
	struct csx_intr *intr;
	int unit_hint;
};

#define MOCK_MAX_STATES 8

struct csx_os_state {
	bool used;   /* a region exists under @name */
	bool mapped; /* a handle has it now */
	char name[CSX_SERVICE_NAME_MAX];
	unsigned char *mem;
	size_t size;
};

struct csx_os_timer {
	struct csx_timer *core;
	bool armed;
	uint64_t delay;
	uint64_t period;
};

struct csx_os_intr {
	struct csx_intr *core;
	struct csx_os_dev *dev;
	bool msi;
	unsigned int raises;
	unsigned int depth;
};

struct csx_os_dma {
	void *mem;
};

/* Remote channels live in a fixed table so a double close is seen. */
struct csx_os_rchan {
	bool live;
	uint32_t version;
	unsigned int ncalls; /* mock_set_remote_die_after() */
};

struct csx_os_shbuf {
	bool live;
	bool remote; /* made for a remote channel */
	void *mem;
	size_t size;
};

static struct {
	pthread_mutex_t lock; /* guards blocks and logs */
	struct mock_block *blocks;
	long live;
	long fail_after;
	unsigned long alloc_calls;
	unsigned long errors;
	unsigned int ncpu;
	uint32_t contract;
	int init_result;
	int dpc_start_result;
	int drv_register_result;
	bool dpc_started;
	unsigned long inits, finis;
	unsigned long sleeps, sleeps_atomic, bugs;
	unsigned long kicks[MOCK_MAX_CPUS];
	unsigned int kicked[MOCK_MAX_CPUS];
	unsigned int waiting;
	uint64_t now;
	char logs[MOCK_LOG_LINES][MOCK_LOG_LEN];
	int log_level[MOCK_LOG_LINES];
	unsigned int nlogs;
	struct {
		const char *name;
		int value;
	} env[MOCK_MAX_ENV];
	struct csx_os_dev *devs[MOCK_MAX_DEVS];
	struct csx_os_timer *timers[MOCK_MAX_TIMERS];
	struct csx_os_intr *intrs[MOCK_MAX_INTRS];
	bool last_stop_waited;
	void (*on_sleep)(void *arg);
	void *on_sleep_arg;
	bool verbose;
	int remote_open_result;
	uint32_t remote_version;
	int remote_call_status;
	const void *remote_resp;
	size_t remote_resp_len;
	struct mock_remote_seen remote;
	struct csx_os_rchan rchans[MOCK_MAX_RCHANS];
	int publish_result;
	struct mock_publish_seen publish;
	int remote_call_once;	   /* next call's status, once (0: none) */
	bool remote_gone_in_open;  /* the next open reports its death, once */
	bool remote_gone_in_close; /* the next close reports a death, once */
	uint64_t remote_idempotent;
	unsigned int remote_die_after; /* 0: off */
	unsigned long remote_ok;
	int state_result;
	struct csx_os_state states[MOCK_MAX_STATES];
	int shbuf_result;
	struct csx_os_shbuf shbufs[MOCK_MAX_SHBUFS];
} mock = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __thread unsigned int tls_ctx;
static __thread unsigned int tls_cpu;
static __thread unsigned int tls_atomic_depth; /* spinlocks + disables */
static __thread unsigned int tls_holds;
static __thread uintptr_t tls_tid;

static void mock_error(const char *what)
{
	__atomic_add_fetch(&mock.errors, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "mock_os: %s\n", what);
}

/* ---- Fixture ----------------------------------------------------------- */

static void mock_free_devs(void)
{
	int i, b;

	for (i = 0; i < MOCK_MAX_DEVS; i++) {
		struct csx_os_dev *d = mock.devs[i];

		if (!d)
			continue;
		for (b = 0; b < CSX__BARS; b++)
			free(d->bar[b]);
		free(d);
		mock.devs[i] = NULL;
	}
}

void mock_reset(void)
{
	struct mock_block *b = mock.blocks;

	while (b) {
		struct mock_block *next = b->next;

		free(b);
		b = next;
	}
	mock_free_devs();
	mock.blocks = NULL;
	mock.live = 0;
	mock.fail_after = -1;
	mock.alloc_calls = 0;
	mock.errors = 0;
	mock.ncpu = 2;
	mock.contract = CSX_OS_CONTRACT_VERSION;
	mock.init_result = 0;
	mock.dpc_start_result = 0;
	mock.drv_register_result = 0;
	mock.dpc_started = false;
	mock.inits = mock.finis = 0;
	mock.sleeps = mock.sleeps_atomic = mock.bugs = 0;
	memset(mock.kicks, 0, sizeof(mock.kicks));
	memset(mock.kicked, 0, sizeof(mock.kicked));
	mock.waiting = 0;
	mock.now = 1000000;
	mock.nlogs = 0;
	memset(mock.env, 0, sizeof(mock.env));
	memset(mock.timers, 0, sizeof(mock.timers));
	memset(mock.intrs, 0, sizeof(mock.intrs));
	mock.last_stop_waited = false;
	mock.on_sleep = NULL;
	mock.remote_open_result = -CSX_ENOENT;
	for (unsigned int i = 0; i < MOCK_MAX_SHBUFS; i++)
		free(mock.shbufs[i].mem);
	memset(mock.shbufs, 0, sizeof(mock.shbufs));
	mock.shbuf_result = 0;
	mock.remote_version = 0;
	mock.remote_call_status = 0;
	mock.remote_resp = NULL;
	mock.remote_resp_len = 0;
	mock.publish_result = 0;
	memset(&mock.publish, 0, sizeof(mock.publish));
	mock.remote_call_once = 0;
	mock.remote_gone_in_open = false;
	mock.remote_gone_in_close = false;
	mock.remote_idempotent = 0;
	mock.remote_die_after = 0;
	mock.remote_ok = 0;
	mock.state_result = 0;
	for (int i = 0; i < MOCK_MAX_STATES; i++)
		free(mock.states[i].mem);
	memset(mock.states, 0, sizeof(mock.states));
	memset(&mock.remote, 0, sizeof(mock.remote));
	memset(mock.rchans, 0, sizeof(mock.rchans));
	mock.verbose = getenv("MOCK_OS_VERBOSE") != NULL;
	tls_ctx = 0;
	tls_cpu = 0;
	tls_atomic_depth = 0;
	tls_holds = 0;
	tls_tid = 0;
}

int unit_setup(void **state)
{
	(void)state;
	mock_reset();
	if (csx__core_init() != 0) {
		fprintf(stderr, "unit_setup: csx__core_init failed\n");
		return -1;
	}
	/* Tests that want strict mode turn it on themselves. */
	csx_ctx_set_strict(false);
	return 0;
}

int unit_teardown(void **state)
{
	int bad = 0;

	(void)state;
	tls_ctx = 0;
	tls_tid = 0;
	csx__core_fini();
	if (mock_log_contains("still alive at exit")) {
		fprintf(stderr, "teardown: the core reported leaked objects\n");
		bad = -1;
	}
	if (mock.live != 0) {
		fprintf(stderr, "teardown: %ld core allocation(s) leaked\n",
			mock.live);
		bad = -1;
	}
	if (mock_remote_live()) {
		fprintf(stderr, "teardown: %u remote channel(s) left open\n",
			mock_remote_live());
		bad = -1;
	}
	if (mock_shbuf_live()) {
		fprintf(stderr, "teardown: %u shared buffer(s) not freed\n",
			mock_shbuf_live());
		bad = -1;
	}
	if (mock.errors) {
		fprintf(stderr, "teardown: %lu mock error(s)\n", mock.errors);
		bad = -1;
	}
	mock_reset();
	return bad;
}

/* ---- Knobs and observations ------------------------------------------- */

void mock_set_context(unsigned int bits)
{
	tls_ctx = bits;
}

void mock_set_cpu(unsigned int cpu)
{
	tls_cpu = cpu;
}

void mock_set_tid(uintptr_t tid)
{
	tls_tid = tid;
}

void mock_set_cpu_count(unsigned int n)
{
	mock.ncpu = n;
}

void mock_set_contract_version(uint32_t v)
{
	mock.contract = v;
}

void mock_set_init_result(int ret)
{
	mock.init_result = ret;
}

void mock_set_dpc_start_result(int ret)
{
	mock.dpc_start_result = ret;
}

void mock_set_driver_register_result(int ret)
{
	mock.drv_register_result = ret;
}

void mock_set_env_bool(const char *name, int value)
{
	int i, free_slot = -1;

	for (i = 0; i < MOCK_MAX_ENV; i++) {
		if (mock.env[i].name && strcmp(mock.env[i].name, name) == 0) {
			mock.env[i].value = value;
			return;
		}
		if (!mock.env[i].name && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		mock.env[free_slot].name = name;
		mock.env[free_slot].value = value;
	}
}

void mock_fail_alloc_after(long n)
{
	mock.fail_after = n;
}

long mock_live_allocs(void)
{
	long n;

	pthread_mutex_lock(&mock.lock);
	n = mock.live;
	pthread_mutex_unlock(&mock.lock);
	return n;
}

unsigned long mock_alloc_calls(void)
{
	return mock.alloc_calls;
}

unsigned long mock_errors(void)
{
	return __atomic_load_n(&mock.errors, __ATOMIC_RELAXED);
}

unsigned long mock_sleeps(void)
{
	return __atomic_load_n(&mock.sleeps, __ATOMIC_RELAXED);
}

unsigned long mock_sleeps_in_atomic(void)
{
	return __atomic_load_n(&mock.sleeps_atomic, __ATOMIC_RELAXED);
}

unsigned long mock_bugs(void)
{
	return __atomic_load_n(&mock.bugs, __ATOMIC_RELAXED);
}

unsigned long mock_kicks(unsigned int cpu)
{
	return cpu < MOCK_MAX_CPUS ?
		       __atomic_load_n(&mock.kicks[cpu], __ATOMIC_RELAXED) :
		       0;
}

unsigned long mock_os_inits(void)
{
	return mock.inits;
}

unsigned long mock_os_finis(void)
{
	return mock.finis;
}

bool mock_dpc_started(void)
{
	return mock.dpc_started;
}

unsigned int mock_waiting(void)
{
	return __atomic_load_n(&mock.waiting, __ATOMIC_ACQUIRE);
}

void mock_set_on_sleep(void (*fn)(void *arg), void *arg)
{
	mock.on_sleep_arg = arg;
	mock.on_sleep = fn;
}

bool mock_log_contains(const char *needle)
{
	bool found = false;
	unsigned int i, n;

	pthread_mutex_lock(&mock.lock);
	n = mock.nlogs < MOCK_LOG_LINES ? mock.nlogs : MOCK_LOG_LINES;
	for (i = 0; i < n && !found; i++)
		found = strstr(mock.logs[i], needle) != NULL;
	pthread_mutex_unlock(&mock.lock);
	return found;
}

unsigned long mock_log_count(int level)
{
	unsigned long count = 0;
	unsigned int i, n;

	pthread_mutex_lock(&mock.lock);
	n = mock.nlogs < MOCK_LOG_LINES ? mock.nlogs : MOCK_LOG_LINES;
	for (i = 0; i < n; i++)
		count += mock.log_level[i] == level;
	pthread_mutex_unlock(&mock.lock);
	return count;
}

void mock_log_clear(void)
{
	pthread_mutex_lock(&mock.lock);
	mock.nlogs = 0;
	pthread_mutex_unlock(&mock.lock);
}

/* ---- Lifecycle hooks --------------------------------------------------- */

int csx_os_init(void)
{
	mock.inits++;
	return mock.init_result;
}

void csx_os_fini(void)
{
	mock.finis++;
}

const char *csx_os_name(void)
{
	return "mock";
}

uint32_t csx_os_contract_version(void)
{
	return mock.contract;
}

/* ---- Memory, logging, failure ----------------------------------------- */

void *csx_os_alloc(size_t size, bool atomic)
{
	struct mock_block *b;

	(void)atomic;
	pthread_mutex_lock(&mock.lock);
	mock.alloc_calls++;
	if (mock.fail_after == 0) {
		mock.fail_after = -1;
		pthread_mutex_unlock(&mock.lock);
		return NULL;
	}
	if (mock.fail_after > 0)
		mock.fail_after--;
	b = malloc(sizeof(*b) + size);
	if (!b) {
		pthread_mutex_unlock(&mock.lock);
		return NULL;
	}
	b->size = size;
	b->state = MOCK_BLOCK_LIVE;
	b->next = mock.blocks;
	mock.blocks = b;
	mock.live++;
	pthread_mutex_unlock(&mock.lock);
	/* Garbage, as a real allocator may return: the core must not rely on
	 * zeroed memory from csx_os_alloc(). */
	memset(b + 1, 0xa5, size);
	return b + 1;
}

void csx_os_free(void *ptr)
{
	struct mock_block *b = (struct mock_block *)ptr - 1;

	pthread_mutex_lock(&mock.lock);
	if (b->state != MOCK_BLOCK_LIVE) {
		pthread_mutex_unlock(&mock.lock);
		mock_error("csx_os_free() of memory not live (double free?)");
		return;
	}
	b->state = MOCK_BLOCK_FREED;
	mock.live--;
	pthread_mutex_unlock(&mock.lock);
}

void csx_os_vlog(int level, const char *fmt, va_list ap)
{
	unsigned int slot;

	pthread_mutex_lock(&mock.lock);
	slot = mock.nlogs % MOCK_LOG_LINES;
	vsnprintf(mock.logs[slot], MOCK_LOG_LEN, fmt, ap);
	mock.log_level[slot] = level;
	mock.nlogs++;
	if (mock.verbose)
		fprintf(stderr, "[%d] %s\n", level, mock.logs[slot]);
	pthread_mutex_unlock(&mock.lock);
}

void csx_os_bug(const char *msg)
{
	(void)msg;
	__atomic_add_fetch(&mock.bugs, 1, __ATOMIC_RELAXED);
}

bool csx_os_getenv_bool(const char *name, bool dflt)
{
	int i;

	for (i = 0; i < MOCK_MAX_ENV; i++) {
		if (mock.env[i].name && strcmp(mock.env[i].name, name) == 0 &&
		    mock.env[i].value >= 0)
			return mock.env[i].value != 0;
	}
	return dflt;
}

/* ---- Time, CPUs, context ----------------------------------------------- */

uint64_t csx_os_time_ns(void)
{
	return __atomic_load_n(&mock.now, __ATOMIC_RELAXED);
}

unsigned int csx_os_cpu_count(void)
{
	return mock.ncpu;
}

unsigned int csx_os_cpu_current(void)
{
	return tls_cpu;
}

unsigned int csx_os_cpu_hold(void)
{
	tls_holds++;
	return tls_cpu;
}

void csx_os_cpu_release(void)
{
	if (tls_holds == 0) {
		mock_error("csx_os_cpu_release() without a hold");
		return;
	}
	tls_holds--;
}

unsigned int csx_os_context(void)
{
	unsigned int ctx = tls_ctx;

	if (ctx & (CSX_OS_CTX_ISR | CSX_OS_CTX_DPC))
		ctx |= CSX_OS_CTX_ATOMIC;
	if (tls_atomic_depth)
		ctx |= CSX_OS_CTX_ATOMIC;
	return ctx;
}

uintptr_t csx_os_thread_id(void)
{
	static __thread char anchor;

	return tls_tid ? tls_tid : (uintptr_t)&anchor;
}

/* ---- Threads ----------------------------------------------------------- */

struct csx_os_thread {
	pthread_t thread;
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void *mock_thread_main(void *p)
{
	struct csx_os_thread *t = p;

	t->ret = t->fn(t->arg);
	return NULL;
}

int csx_os_thread_create(struct csx_os_thread **out, const char *name,
			 int (*fn)(void *), void *arg)
{
	struct csx_os_thread *t = csx_os_alloc(sizeof(*t), false);

	(void)name;
	if (!t)
		return -CSX_ENOMEM;
	t->fn = fn;
	t->arg = arg;
	if (pthread_create(&t->thread, NULL, mock_thread_main, t)) {
		csx_os_free(t);
		return -CSX_ENOMEM;
	}
	*out = t;
	return 0;
}

int csx_os_thread_join(struct csx_os_thread *t)
{
	int ret;

	pthread_join(t->thread, NULL);
	ret = t->ret;
	csx_os_free(t);
	return ret;
}

bool csx_os_thread_is_current(struct csx_os_thread *t)
{
	return pthread_equal(t->thread, pthread_self());
}

/* Pretend executors run while the caller sleeps, so waits make progress. */
void mock_run_kicked(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < mock.ncpu && cpu < MOCK_MAX_CPUS; cpu++) {
		if (__atomic_exchange_n(&mock.kicked[cpu], 0, __ATOMIC_ACQ_REL))
			mock_run_dpcs(cpu);
	}
}

static void mock_account_sleep(void)
{
	__atomic_add_fetch(&mock.sleeps, 1, __ATOMIC_RELAXED);
	if (csx_os_context() & CSX_OS_CTX_ATOMIC) {
		__atomic_add_fetch(&mock.sleeps_atomic, 1, __ATOMIC_RELAXED);
		mock_error("a sleeping hook was called in atomic context");
	}
}

void csx_os_thread_sleep(uint64_t ns)
{
	struct timespec ts = { 0, 1000 };

	mock_account_sleep();
	__atomic_add_fetch(&mock.now, ns, __ATOMIC_RELAXED);
	mock_run_kicked();
	if (mock.on_sleep)
		mock.on_sleep(mock.on_sleep_arg);
	nanosleep(&ts, NULL);
}

void csx_os_thread_yield(void)
{
	mock_account_sleep();
	sched_yield();
}

/* ---- Locks ------------------------------------------------------------- */

struct csx_os_mutex {
	pthread_mutex_t m;
};

int csx_os_mutex_create(struct csx_os_mutex **out)
{
	struct csx_os_mutex *m = csx_os_alloc(sizeof(*m), false);

	if (!m)
		return -CSX_ENOMEM;
	pthread_mutex_init(&m->m, NULL);
	*out = m;
	return 0;
}

void csx_os_mutex_destroy(struct csx_os_mutex *m)
{
	if (pthread_mutex_destroy(&m->m))
		mock_error("csx_os_mutex_destroy() of a held mutex");
	csx_os_free(m);
}

void csx_os_mutex_lock(struct csx_os_mutex *m)
{
	mock_account_sleep();
	pthread_mutex_lock(&m->m);
}

bool csx_os_mutex_trylock(struct csx_os_mutex *m)
{
	return pthread_mutex_trylock(&m->m) == 0;
}

void csx_os_mutex_unlock(struct csx_os_mutex *m)
{
	pthread_mutex_unlock(&m->m);
}

struct csx_os_spinlock {
	pthread_mutex_t m;
};

int csx_os_spin_create(struct csx_os_spinlock **out)
{
	struct csx_os_spinlock *s = csx_os_alloc(sizeof(*s), false);

	if (!s)
		return -CSX_ENOMEM;
	pthread_mutex_init(&s->m, NULL);
	*out = s;
	return 0;
}

void csx_os_spin_destroy(struct csx_os_spinlock *s)
{
	if (pthread_mutex_destroy(&s->m))
		mock_error("csx_os_spin_destroy() of a held spinlock");
	csx_os_free(s);
}

void csx_os_spin_lock(struct csx_os_spinlock *s)
{
	pthread_mutex_lock(&s->m);
	tls_atomic_depth++;
}

void csx_os_spin_unlock(struct csx_os_spinlock *s)
{
	tls_atomic_depth--;
	pthread_mutex_unlock(&s->m);
}

struct csx_os_rwlock {
	pthread_rwlock_t rw;
};

int csx_os_rwlock_create(struct csx_os_rwlock **out)
{
	struct csx_os_rwlock *rw = csx_os_alloc(sizeof(*rw), false);

	if (!rw)
		return -CSX_ENOMEM;
	pthread_rwlock_init(&rw->rw, NULL);
	*out = rw;
	return 0;
}

void csx_os_rwlock_destroy(struct csx_os_rwlock *rw)
{
	if (pthread_rwlock_destroy(&rw->rw))
		mock_error("csx_os_rwlock_destroy() of a held rwlock");
	csx_os_free(rw);
}

void csx_os_rwlock_read(struct csx_os_rwlock *rw)
{
	mock_account_sleep();
	pthread_rwlock_rdlock(&rw->rw);
}

void csx_os_rwlock_write(struct csx_os_rwlock *rw)
{
	mock_account_sleep();
	pthread_rwlock_wrlock(&rw->rw);
}

void csx_os_rwlock_read_unlock(struct csx_os_rwlock *rw)
{
	pthread_rwlock_unlock(&rw->rw);
}

void csx_os_rwlock_write_unlock(struct csx_os_rwlock *rw)
{
	pthread_rwlock_unlock(&rw->rw);
}

/* ---- Events and semaphores --------------------------------------------- */

/* One waitable: an event (count 0/1) or a semaphore (count n). */
struct mock_waitable {
	pthread_mutex_t m;
	pthread_cond_t cv;
	unsigned int count;
	bool manual;
};

static void mock_waitable_init(struct mock_waitable *w, unsigned int count,
			       bool manual)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->m, NULL);
	pthread_cond_init(&w->cv, &attr);
	pthread_condattr_destroy(&attr);
	w->count = count;
	w->manual = manual;
}

static void mock_waitable_fini(struct mock_waitable *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->m);
}

static void mock_deadline(struct timespec *ts, int64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ns / 1000000000;
	ts->tv_nsec += ns % 1000000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int mock_waitable_wait(struct mock_waitable *w, int64_t timeout_ns)
{
	struct timespec deadline;
	int ret = 0;

	if (timeout_ns != 0)
		mock_account_sleep();
	if (timeout_ns != 0 && timeout_ns != CSX_WAIT_FOREVER)
		mock_deadline(&deadline, timeout_ns);
	pthread_mutex_lock(&w->m);
	__atomic_add_fetch(&mock.waiting, 1, __ATOMIC_ACQ_REL);
	while (w->count == 0 && ret == 0) {
		if (timeout_ns == 0)
			ret = ETIMEDOUT;
		else if (timeout_ns == CSX_WAIT_FOREVER)
			pthread_cond_wait(&w->cv, &w->m);
		else
			ret = pthread_cond_timedwait(&w->cv, &w->m, &deadline);
	}
	__atomic_sub_fetch(&mock.waiting, 1, __ATOMIC_ACQ_REL);
	if (w->count > 0) {
		ret = 0;
		if (!w->manual)
			w->count--;
	}
	pthread_mutex_unlock(&w->m);
	return ret ? -CSX_ETIMEDOUT : 0;
}

struct csx_os_event {
	struct mock_waitable w;
};

int csx_os_event_create(struct csx_os_event **out, bool manual, bool set)
{
	struct csx_os_event *ev = csx_os_alloc(sizeof(*ev), false);

	if (!ev)
		return -CSX_ENOMEM;
	mock_waitable_init(&ev->w, set ? 1 : 0, manual);
	*out = ev;
	return 0;
}

void csx_os_event_destroy(struct csx_os_event *ev)
{
	mock_waitable_fini(&ev->w);
	csx_os_free(ev);
}

void csx_os_event_set(struct csx_os_event *ev)
{
	pthread_mutex_lock(&ev->w.m);
	ev->w.count = 1;
	pthread_cond_broadcast(&ev->w.cv);
	pthread_mutex_unlock(&ev->w.m);
}

void csx_os_event_reset(struct csx_os_event *ev)
{
	pthread_mutex_lock(&ev->w.m);
	ev->w.count = 0;
	pthread_mutex_unlock(&ev->w.m);
}

int csx_os_event_wait(struct csx_os_event *ev, int64_t timeout_ns)
{
	return mock_waitable_wait(&ev->w, timeout_ns);
}

struct csx_os_sem {
	struct mock_waitable w;
};

int csx_os_sem_create(struct csx_os_sem **out, unsigned int initial)
{
	struct csx_os_sem *s = csx_os_alloc(sizeof(*s), false);

	if (!s)
		return -CSX_ENOMEM;
	mock_waitable_init(&s->w, initial, false);
	*out = s;
	return 0;
}

void csx_os_sem_destroy(struct csx_os_sem *s)
{
	mock_waitable_fini(&s->w);
	csx_os_free(s);
}

void csx_os_sem_up(struct csx_os_sem *s)
{
	pthread_mutex_lock(&s->w.m);
	s->w.count++;
	pthread_cond_signal(&s->w.cv);
	pthread_mutex_unlock(&s->w.m);
}

int csx_os_sem_down(struct csx_os_sem *s, int64_t timeout_ns)
{
	return mock_waitable_wait(&s->w, timeout_ns);
}

/* ---- DPC executors ----------------------------------------------------- */

int csx_os_dpc_start(void)
{
	if (mock.dpc_start_result)
		return mock.dpc_start_result;
	mock.dpc_started = true;
	return 0;
}

void csx_os_dpc_stop(void)
{
	mock.dpc_started = false;
}

void csx_os_dpc_kick(unsigned int cpu)
{
	if (tls_holds == 0)
		mock_error("csx_os_dpc_kick() without csx_os_cpu_hold()");
	if (cpu >= MOCK_MAX_CPUS || cpu >= mock.ncpu) {
		mock_error("csx_os_dpc_kick() of a CPU that does not exist");
		return;
	}
	__atomic_add_fetch(&mock.kicks[cpu], 1, __ATOMIC_RELAXED);
	__atomic_store_n(&mock.kicked[cpu], 1, __ATOMIC_RELEASE);
}

void mock_run_dpcs(unsigned int cpu)
{
	unsigned int saved_ctx = tls_ctx, saved_cpu = tls_cpu;

	tls_ctx = CSX_OS_CTX_DPC | CSX_OS_CTX_ATOMIC;
	tls_cpu = cpu;
	if (cpu < MOCK_MAX_CPUS)
		__atomic_store_n(&mock.kicked[cpu], 0, __ATOMIC_RELEASE);
	csx__dpc_run(cpu);
	tls_ctx = saved_ctx;
	tls_cpu = saved_cpu;
}

/* ---- Timers ------------------------------------------------------------ */

static struct csx_os_timer *mock_timer_of(struct csx_timer *core)
{
	int i;

	for (i = 0; i < MOCK_MAX_TIMERS; i++) {
		if (mock.timers[i] && mock.timers[i]->core == core)
			return mock.timers[i];
	}
	return NULL;
}

int csx_os_timer_create(struct csx_os_timer **out, struct csx_timer *core)
{
	struct csx_os_timer *t;
	int i;

	for (i = 0; i < MOCK_MAX_TIMERS && mock.timers[i]; i++)
		;
	if (i == MOCK_MAX_TIMERS)
		return -CSX_ENOMEM;
	t = csx_os_alloc(sizeof(*t), false);
	if (!t)
		return -CSX_ENOMEM;
	memset(t, 0, sizeof(*t));
	t->core = core;
	mock.timers[i] = t;
	*out = t;
	return 0;
}

void csx_os_timer_destroy(struct csx_os_timer *t)
{
	int i;

	if (t->armed)
		mock_error("csx_os_timer_destroy() of an armed timer");
	for (i = 0; i < MOCK_MAX_TIMERS; i++) {
		if (mock.timers[i] == t)
			mock.timers[i] = NULL;
	}
	csx_os_free(t);
}

void csx_os_timer_start(struct csx_os_timer *t, uint64_t delay_ns,
			uint64_t period_ns)
{
	t->armed = true;
	t->delay = delay_ns;
	t->period = period_ns;
}

bool csx_os_timer_stop(struct csx_os_timer *t, bool wait)
{
	bool was = t->armed;

	mock.last_stop_waited = wait;
	if (wait)
		mock_account_sleep();
	t->armed = false;
	return was;
}

bool mock_timer_armed(struct csx_timer *core)
{
	struct csx_os_timer *t = mock_timer_of(core);

	return t && t->armed;
}

uint64_t mock_timer_delay(struct csx_timer *core)
{
	struct csx_os_timer *t = mock_timer_of(core);

	return t ? t->delay : 0;
}

uint64_t mock_timer_period(struct csx_timer *core)
{
	struct csx_os_timer *t = mock_timer_of(core);

	return t ? t->period : 0;
}

bool mock_timer_last_stop_waited(void)
{
	return mock.last_stop_waited;
}

void mock_timer_fire(struct csx_timer *core)
{
	struct csx_os_timer *t = mock_timer_of(core);
	unsigned int saved = tls_ctx;

	if (!t || !t->armed) {
		mock_error("mock_timer_fire() of a timer that is not armed");
		return;
	}
	if (t->period == 0)
		t->armed = false;
	tls_ctx = CSX_OS_CTX_DPC | CSX_OS_CTX_ATOMIC;
	csx__timer_fire(core);
	tls_ctx = saved;
}

/* ---- Devices ----------------------------------------------------------- */

struct csx_os_dev *mock_dev_add(uint16_t vendor, uint16_t device,
				const char *name, uint64_t bar0_size, bool msi)
{
	struct csx_os_dev *d;
	int i;

	for (i = 0; i < MOCK_MAX_DEVS && mock.devs[i]; i++)
		;
	if (i == MOCK_MAX_DEVS)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->vendor = vendor;
	d->device = device;
	d->msi = msi;
	d->unit_hint = -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->bar_size[0] = bar0_size;
	d->bar[0] = calloc(1, bar0_size ? bar0_size : 1);
	memcpy(d->cfg, &vendor, 2);
	memcpy(d->cfg + 2, &device, 2);
	mock.devs[i] = d;
	return d;
}

struct csx_device *mock_dev_core(struct csx_os_dev *d)
{
	return d->core;
}

uint8_t *mock_dev_bar(struct csx_os_dev *d, unsigned int bar)
{
	return d->bar[bar];
}

uint8_t *mock_dev_cfg(struct csx_os_dev *d)
{
	return d->cfg;
}

unsigned long mock_dev_reg_ops(struct csx_os_dev *d)
{
	return d->reg_ops;
}

int csx_os_driver_register(struct csx_driver *drv)
{
	int i;

	if (mock.drv_register_result)
		return mock.drv_register_result;
	for (i = 0; i < MOCK_MAX_DEVS; i++) {
		struct csx_os_dev *d = mock.devs[i];
		const struct csx_pci_id *id;

		if (!d || d->drv)
			continue;
		id = csx__pci_match(drv->ids, d->vendor, d->device);
		if (id && csx__dev_probe(drv, d, d->name, id, &d->core) == 0)
			d->drv = drv;
	}
	return 0;
}

void csx_os_driver_unregister(struct csx_driver *drv)
{
	int i;

	for (i = 0; i < MOCK_MAX_DEVS; i++) {
		struct csx_os_dev *d = mock.devs[i];

		if (!d || d->drv != drv)
			continue;
		csx__dev_remove(d->core);
		d->core = NULL;
		d->drv = NULL;
	}
}

int csx_os_dev_unit_hint(struct csx_os_dev *d)
{
	return d->unit_hint;
}

void mock_dev_set_unit_hint(struct csx_os_dev *d, int unit)
{
	d->unit_hint = unit;
}

uint64_t csx_os_bar_size(struct csx_os_dev *d, unsigned int bar)
{
	return d->bar_size[bar];
}

uint64_t csx_os_reg_read(struct csx_os_dev *d, unsigned int bar, uint64_t off,
			 unsigned int width)
{
	uint64_t v = 0;

	if (off + width > d->bar_size[bar]) {
		mock_error("csx_os_reg_read() outside the BAR");
		return 0;
	}
	d->reg_ops++;
	memcpy(&v, d->bar[bar] + off, width);
	return v;
}

void csx_os_reg_write(struct csx_os_dev *d, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t val)
{
	if (off + width > d->bar_size[bar]) {
		mock_error("csx_os_reg_write() outside the BAR");
		return;
	}
	d->reg_ops++;
	memcpy(d->bar[bar] + off, &val, width);
}

int csx_os_cfg_read(struct csx_os_dev *d, unsigned int off, unsigned int size,
		    uint32_t *val)
{
	*val = 0;
	memcpy(val, d->cfg + off, size);
	return 0;
}

int csx_os_cfg_write(struct csx_os_dev *d, unsigned int off, unsigned int size,
		     uint32_t val)
{
	memcpy(d->cfg + off, &val, size);
	return 0;
}

int csx_os_dma_alloc(struct csx_os_dev *d, size_t size, struct csx_os_dma **out,
		     void **cpu, uint64_t *bus)
{
	struct csx_os_dma *dma = csx_os_alloc(sizeof(*dma), false);

	(void)d;
	if (!dma)
		return -CSX_ENOMEM;
	dma->mem = csx_os_alloc(size, false);
	if (!dma->mem) {
		csx_os_free(dma);
		return -CSX_ENOMEM;
	}
	*out = dma;
	*cpu = dma->mem;
	/* A bus address that is visibly not the CPU pointer. */
	*bus = 0x80000000ull + ((uintptr_t)dma->mem & 0xffffff);
	return 0;
}

void csx_os_dma_free(struct csx_os_dev *d, struct csx_os_dma *dma)
{
	(void)d;
	csx_os_free(dma->mem);
	csx_os_free(dma);
}

/* ---- Interrupts -------------------------------------------------------- */

static bool mock_intr_track(struct csx_os_intr *oi, struct csx_os_intr *as)
{
	int i;

	for (i = 0; i < MOCK_MAX_INTRS; i++) {
		if (mock.intrs[i] == oi) {
			mock.intrs[i] = as;
			return true;
		}
	}
	return false;
}

static struct csx_os_intr *mock_intr_of(struct csx_intr *core)
{
	int i;

	for (i = 0; i < MOCK_MAX_INTRS; i++) {
		if (mock.intrs[i] && mock.intrs[i]->core == core)
			return mock.intrs[i];
	}
	return NULL;
}

int csx_os_intr_attach(struct csx_os_dev *d, unsigned int flags,
		       struct csx_intr *core, struct csx_os_intr **out)
{
	struct csx_os_intr *oi;

	if ((flags & CSX_INTR_MSI) && !d->msi)
		return -CSX_ENOSYS;
	if (d->intr) {
		mock_error("csx_os_intr_attach() twice on one device");
		return -CSX_EEXIST;
	}
	oi = csx_os_alloc(sizeof(*oi), false);
	if (!oi)
		return -CSX_ENOMEM;
	memset(oi, 0, sizeof(*oi));
	oi->core = core;
	oi->dev = d;
	oi->msi = d->msi && !(flags & CSX_INTR_INTX);
	if (!mock_intr_track(NULL, oi)) {
		csx_os_free(oi);
		return -CSX_ENOMEM;
	}
	d->intr = core;
	*out = oi;
	return 0;
}

int csx_os_intr_attach_soft(struct csx_intr *core, struct csx_os_intr **out)
{
	struct csx_os_intr *oi = csx_os_alloc(sizeof(*oi), false);

	if (!oi)
		return -CSX_ENOMEM;
	memset(oi, 0, sizeof(*oi));
	oi->core = core;
	if (!mock_intr_track(NULL, oi)) {
		csx_os_free(oi);
		return -CSX_ENOMEM;
	}
	*out = oi;
	return 0;
}

void csx_os_intr_raise(struct csx_os_intr *oi)
{
	oi->raises = 1; /* edge-triggered: raises merge until delivered */
}

void csx_os_intr_detach(struct csx_os_intr *oi)
{
	if (oi->depth)
		mock_error("csx_os_intr_detach() while held disabled");
	if (oi->dev)
		oi->dev->intr = NULL;
	mock_intr_track(oi, NULL);
	csx_os_free(oi);
}

unsigned long csx_os_intr_disable(struct csx_os_intr *oi)
{
	tls_atomic_depth++;
	return ++oi->depth;
}

void csx_os_intr_restore(struct csx_os_intr *oi, unsigned long key)
{
	if (key != oi->depth || oi->depth == 0) {
		mock_error("csx_os_intr_restore() out of order");
		return;
	}
	oi->depth--;
	tls_atomic_depth--;
}

/* csx_os_context() counts the holds (tls_atomic_depth). */
bool csx_os_intr_held(void)
{
	return false;
}

bool csx_os_may_sleep(void)
{
	return !(csx_os_context() & CSX_OS_CTX_ATOMIC) && !csx_os_intr_held();
}

/*
 * The unit tests see the user back end's headers, whose inline
 * csx_intr_disable()/restore() read this: with no READLOCK record (depth
 * NULL) every call goes to the core, and on to the hooks above.
 */
__thread struct csx_os_intr_tls csx__user_intr_tls;

void csx__user_intr_read_wait(struct csx_os_intr *oi, uint32_t depth)
{
	mock_error("csx__user_intr_read_wait() without a READLOCK record");
}

void csx__user_intr_wake_writer(struct csx_os_intr *oi)
{
	mock_error("csx__user_intr_wake_writer() without a READLOCK record");
}

int csx_os_intr_set_spin(struct csx_os_intr *oi, uint64_t spin_ns)
{
	(void)oi;
	(void)spin_ns;
	return 0;
}

bool csx_os_intr_is_msi(struct csx_os_intr *oi)
{
	return oi->msi;
}

unsigned int mock_intr_raises(struct csx_intr *core)
{
	struct csx_os_intr *oi = mock_intr_of(core);

	return oi ? oi->raises : 0;
}

enum csx_irqreturn mock_intr_deliver(struct csx_intr *core)
{
	struct csx_os_intr *oi = mock_intr_of(core);
	unsigned int saved = tls_ctx;
	enum csx_irqreturn ret;

	if (oi)
		oi->raises = 0;
	tls_ctx = CSX_OS_CTX_ISR | CSX_OS_CTX_ATOMIC;
	ret = csx__intr_dispatch(core);
	tls_ctx = saved;
	return ret;
}

/* ---- Remote services --------------------------------------------------- */

void mock_set_remote_open(int result, uint32_t version)
{
	mock.remote_open_result = result;
	mock.remote_version = version;
}

void mock_set_remote_call(int status, const void *resp, size_t resp_len)
{
	mock.remote_call_status = status;
	mock.remote_resp = resp;
	mock.remote_resp_len = resp_len;
}

const struct mock_remote_seen *mock_remote_seen(void)
{
	return &mock.remote;
}

unsigned int mock_remote_live(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MOCK_MAX_RCHANS; i++)
		n += mock.rchans[i].live;
	return n;
}

void mock_set_remote_die_after(unsigned int calls)
{
	mock.remote_die_after = calls;
}

unsigned long mock_remote_ok_calls(void)
{
	return __atomic_load_n(&mock.remote_ok, __ATOMIC_RELAXED);
}

/* csx_os_remote_open() with threads about: under the lock. */
static int mock_remote_open_locked(struct csx_os_rchan **out, uint32_t *version,
				   uint64_t *idempotent)
{
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&mock.lock);
	mock.remote.opens++;
	for (i = 0; i < MOCK_MAX_RCHANS && mock.rchans[i].live; i++)
		;
	if (i == MOCK_MAX_RCHANS) {
		ret = -CSX_ENOSPC;
	} else {
		mock.rchans[i].version = mock.remote_version;
		mock.rchans[i].ncalls = 0;
		__atomic_store_n(&mock.rchans[i].live, true, __ATOMIC_RELEASE);
		*out = &mock.rchans[i];
		*version = mock.remote_version;
		*idempotent = mock.remote_idempotent;
	}
	pthread_mutex_unlock(&mock.lock);
	return ret;
}

int csx_os_remote_open(const char *name, uint32_t min_version, int64_t wait_ns,
		       struct csx_os_rchan **out, uint32_t *version,
		       uint64_t *idempotent)
{
	unsigned int i;

	if (mock.remote_die_after) {
		*idempotent = 0;
		return mock_remote_open_locked(out, version, idempotent);
	}

	mock.remote.wait_ns = wait_ns;
	*idempotent = 0;
	if (csx_os_context() & CSX_OS_CTX_ATOMIC)
		mock_error("csx_os_remote_open() in atomic context");
	mock.remote.opens++;
	snprintf(mock.remote.name, sizeof(mock.remote.name), "%s", name);
	mock.remote.min_version = min_version;
	if (mock.remote_open_result)
		return mock.remote_open_result;
	for (i = 0; i < MOCK_MAX_RCHANS && mock.rchans[i].live; i++)
		;
	if (i == MOCK_MAX_RCHANS)
		return -CSX_ENOSPC;
	mock.rchans[i].live = true;
	mock.rchans[i].version = mock.remote_version;
	mock.remote.chan = &mock.rchans[i];
	*out = &mock.rchans[i];
	*version = mock.remote_version;
	*idempotent = mock.remote_idempotent;
	if (mock.remote_gone_in_open) {
		/* The peer dies before the open has returned. */
		mock.remote_gone_in_open = false;
		csx__remote_peer_gone(&mock.rchans[i]);
	}
	return 0;
}

int csx_os_remote_call(struct csx_os_rchan *rc, uint32_t op, const void *in,
		       size_t in_len, void *out, size_t out_cap,
		       size_t *out_len, int64_t timeout_ns)
{
	if (!__atomic_load_n(&rc->live, __ATOMIC_ACQUIRE))
		mock_error("csx_os_remote_call() on a closed channel");
	if (csx_os_context() & CSX_OS_CTX_ATOMIC)
		mock_error("csx_os_remote_call() in atomic context");
	if (mock.remote_die_after) {
		*out_len = 0;
		if (__atomic_add_fetch(&rc->ncalls, 1, __ATOMIC_RELAXED) >
		    mock.remote_die_after)
			return -CSX_EPEERDIED;
		/* A call takes a while: others re-open meanwhile. */
		sched_yield();
		if (!__atomic_load_n(&rc->live, __ATOMIC_ACQUIRE))
			mock_error("csx_os_remote_close() under a call");
		__atomic_add_fetch(&mock.remote_ok, 1, __ATOMIC_RELAXED);
		return 0;
	}
	mock.remote.calls++;
	mock.remote.chan = rc;
	mock.remote.op = op;
	mock.remote.in = in;
	mock.remote.in_len = in_len;
	mock.remote.out = out;
	mock.remote.out_cap = out_cap;
	mock.remote.timeout_ns = timeout_ns;
	if (mock.remote_call_once) {
		int once = mock.remote_call_once;

		mock.remote_call_once = 0;
		*out_len = 0;
		return once;
	}
	if (mock.remote_resp_len <= out_cap && mock.remote_resp_len)
		memcpy(out, mock.remote_resp, mock.remote_resp_len);
	*out_len = mock.remote_resp_len;
	return mock.remote_call_status;
}

unsigned int mock_shbuf_live(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MOCK_MAX_SHBUFS; i++)
		n += mock.shbufs[i].live;
	return n;
}

void mock_set_shbuf_alloc(int result)
{
	mock.shbuf_result = result;
}

int csx_os_shbuf_alloc(struct csx_os_rchan *rc, size_t size,
		       struct csx_os_shbuf **out, void **addr)
{
	unsigned int i;

	if (csx_os_context() & CSX_OS_CTX_ATOMIC)
		mock_error("csx_os_shbuf_alloc() in atomic context");
	if (size % 4096 || !size)
		mock_error("csx_os_shbuf_alloc() of a size not in pages");
	if (rc && !rc->live)
		mock_error("csx_os_shbuf_alloc() on a closed channel");
	if (mock.shbuf_result)
		return mock.shbuf_result;
	for (i = 0; i < MOCK_MAX_SHBUFS && mock.shbufs[i].live; i++)
		;
	if (i == MOCK_MAX_SHBUFS)
		return -CSX_ENOMEM;
	mock.shbufs[i].mem = calloc(1, size);
	if (!mock.shbufs[i].mem)
		return -CSX_ENOMEM;
	mock.shbufs[i].live = true;
	mock.shbufs[i].remote = rc != NULL;
	mock.shbufs[i].size = size;
	*out = &mock.shbufs[i];
	*addr = mock.shbufs[i].mem;
	return 0;
}

void csx_os_shbuf_free(struct csx_os_shbuf *sb)
{
	if (!sb->live) {
		mock_error("csx_os_shbuf_free() of a freed buffer");
		return;
	}
	free(sb->mem);
	sb->mem = NULL;
	sb->live = false;
}

int csx_os_remote_call_shbuf(struct csx_os_rchan *rc, uint32_t op,
			     struct csx_os_shbuf *sb, size_t in_off,
			     size_t in_len, size_t out_off, size_t out_cap,
			     size_t *out_len, int64_t timeout_ns)
{
	if (!sb->live)
		mock_error("csx_os_remote_call_shbuf() with a freed buffer");
	if (in_off + in_len > sb->size || out_off + out_cap > sb->size)
		mock_error("csx_os_remote_call_shbuf() window outside");
	mock.remote.shbuf = sb;
	mock.remote.in_off = in_off;
	mock.remote.out_off = out_off;
	if (!sb->remote) {
		*out_len = 0;
		mock.remote.calls++;
		return -CSX_EINVAL;
	}
	/* The peer's handler answers in place. */
	return csx_os_remote_call(rc, op, (char *)sb->mem + in_off, in_len,
				  (char *)sb->mem + out_off, out_cap, out_len,
				  timeout_ns);
}

void csx_os_remote_close(struct csx_os_rchan *rc)
{
	bool gone;

	pthread_mutex_lock(&mock.lock);
	mock.remote.closes++;
	mock.remote.chan = rc;
	if (!rc->live) {
		pthread_mutex_unlock(&mock.lock);
		mock_error("csx_os_remote_close() of a closed channel");
		return;
	}
	gone = mock.remote_gone_in_close;
	mock.remote_gone_in_close = false;
	pthread_mutex_unlock(&mock.lock);
	/* A death the back end was telling when the close began. */
	if (gone)
		csx__remote_peer_gone(rc);
	__atomic_store_n(&rc->live, false, __ATOMIC_RELEASE);
}

void mock_set_publish_result(int result)
{
	mock.publish_result = result;
}

const struct mock_publish_seen *mock_publish_seen(void)
{
	return &mock.publish;
}

int csx_os_service_publish(const char *name, uint32_t version,
			   enum csx_service_scope scope, uint64_t idempotent)
{
	mock.publish.idempotent = idempotent;
	if (csx_os_context() & CSX_OS_CTX_ATOMIC)
		mock_error("csx_os_service_publish() in atomic context");
	mock.publish.publishes++;
	snprintf(mock.publish.name, sizeof(mock.publish.name), "%s", name);
	mock.publish.version = version;
	mock.publish.scope = scope;
	return mock.publish_result;
}

void csx_os_service_withdraw(const char *name)
{
	if (csx_os_context() & CSX_OS_CTX_ATOMIC)
		mock_error("csx_os_service_withdraw() in atomic context");
	mock.publish.withdraws++;
	snprintf(mock.publish.name, sizeof(mock.publish.name), "%s", name);
}

void mock_set_remote_call_once(int status)
{
	mock.remote_call_once = status;
}

void mock_set_remote_idempotent(uint64_t mask)
{
	mock.remote_idempotent = mask;
}

/* ---- Saved state: regions that outlive handles, until mock_reset() ------- */

void mock_set_state_result(int result)
{
	mock.state_result = result;
}

unsigned char *mock_state_mem(const char *name, size_t *size)
{
	for (int i = 0; i < MOCK_MAX_STATES; i++) {
		if (mock.states[i].used && !strcmp(mock.states[i].name, name)) {
			*size = mock.states[i].size;
			return mock.states[i].mem;
		}
	}
	return NULL;
}

int csx_os_state_get(const char *name, size_t size, struct csx_os_state **out,
		     void **mem, size_t *mem_size, bool *existed)
{
	struct csx_os_state *st = NULL;
	int i;

	if (csx_os_context() & CSX_OS_CTX_ATOMIC)
		mock_error("csx_os_state_get() in atomic context");
	if (mock.state_result)
		return mock.state_result;
	for (i = 0; i < MOCK_MAX_STATES; i++) {
		if (mock.states[i].used && !strcmp(mock.states[i].name, name))
			st = &mock.states[i];
	}
	*existed = st != NULL;
	if (!st) {
		for (i = 0; i < MOCK_MAX_STATES && mock.states[i].used; i++)
			;
		if (i == MOCK_MAX_STATES)
			return -CSX_ENOSPC;
		st = &mock.states[i];
		st->mem = calloc(1, size);
		if (!st->mem)
			return -CSX_ENOMEM;
		st->used = true;
		st->size = size;
		snprintf(st->name, sizeof(st->name), "%s", name);
	}
	if (st->mapped)
		mock_error("csx_os_state_get() of a region mapped already");
	st->mapped = true;
	*out = st;
	*mem = st->mem;
	*mem_size = st->size;
	return 0;
}

void csx_os_state_put(struct csx_os_state *st, bool drop)
{
	if (!st->mapped)
		mock_error("csx_os_state_put() of a region not mapped");
	st->mapped = false;
	if (drop) {
		free(st->mem);
		memset(st, 0, sizeof(*st));
	}
}

void mock_set_remote_gone_in_open(void)
{
	mock.remote_gone_in_open = true;
}

void mock_set_remote_gone_in_close(void)
{
	mock.remote_gone_in_close = true;
}
