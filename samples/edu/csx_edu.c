/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx_edu: a driver for QEMU's educational PCI device (1234:11e8), written
 * once against the CSX API. The same file builds as a Linux kernel module
 * (Kbuild) and as a user-mode module or executable (autotools), so it
 * includes nothing but CSX and uses no C library.
 *
 * Per device: check identification and liveness, allocate a DMA buffer,
 * attach the ISR, export the service "edu/N" (N: the device's unit, see
 * edu.h), every operation declared idempotent, so a client's pending
 * request survives the crash of a user-mode instance: it is re-issued to
 * the restarted one.
 *
 * Saved state: the request timeout a client set and the counters are kept
 * in the saved-state region "csx_edu/N" (csx_state.h), committed after
 * every request, so an instance that replaces a crashed one (user mode,
 * under the supervisor) or a reloaded module (kernel) resumes with them.
 *
 * Interrupt path: the ISR reads and acknowledges the interrupt status,
 * records the bits and queues a DPC; the DPC hands the bits the current
 * request waits for to it and wakes it. A request whose interrupt never
 * comes times out; the device is then quiesced before the next request.
 *
 * Locking:
 * - ed->lock (mutex) serializes requests to one device.
 * - ed->isr_bits and the ISR's counters are written by the ISR: others
 *   touch them with the interrupt disabled (csx_intr_disable()), and with
 *   ed->slock held as well, since csx_intr_disable() alone does not
 *   exclude threads from each other in user mode (see csx_intr.h).
 * - ed->wait_bits/done_bits/stale are shared by the requesting thread and
 *   the DPC: ed->slock.
 */
#include <csx/csx.h>

#include "edu.h"

#define EDU_BAR 0
#define EDU_REG_ID 0x00
#define EDU_REG_LIVENESS 0x04
#define EDU_REG_FACT 0x08
#define EDU_REG_STATUS 0x20
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK 0x64
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98

#define EDU_ID 0x010000edu
#define EDU_ID_MASK 0x0000ffffu /* major/minor version may change */
#define EDU_ALL_ONES 0xffffffffu
#define EDU_STATUS_BUSY 0x01u
#define EDU_STATUS_IRQ_FACT 0x80u
#define EDU_IRQ_FACT 0x001u
#define EDU_IRQ_DMA 0x100u
#define EDU_DMA_RUN 0x1u
#define EDU_DMA_TO_RAM 0x2u
#define EDU_DMA_IRQ 0x4u
#define EDU_DMA_BASE 0x40000u

#define EDU_STATE_VERSION 1
#define EDU_TIMEOUT_MS_DEFAULT 1000u
#define EDU_TIMEOUT_MS_MAX 60000u
#define EDU_IDLE_POLL_NS (100 * CSX_NSEC_PER_USEC)

/* What survives an instance: saved state "csx_edu/N", layout 1. */
struct edu_saved {
	uint32_t timeout_ms;
	uint32_t reserved;
	uint64_t factorials;
	uint64_t dma_transfers;
	uint64_t timeouts;
	uint64_t incarnation; /* probes of this unit, the first is 1 */
};

struct edu_dev {
	struct csx_device *dev;
	struct csx_state *state; /* NULL: running without saved state */
	uint64_t incarnation;
	char svc_name[EDU_SERVICE_NAME_MAX];
	struct csx_service *svc;
	struct csx_intr *intr;
	struct csx_dpc *dpc;
	struct csx_mutex *lock;
	struct csx_spinlock *slock;
	struct csx_event *done;
	struct csx_dma_buf *dma;
	uint32_t id;
	bool msi;

	/* Under lock. */
	uint32_t timeout_ms;
	bool needs_reset;
	uint64_t timeouts;
	uint64_t factorials;
	uint64_t dma_transfers;

	/* Written by the ISR; others hold the interrupt disabled. */
	uint32_t isr_bits;
	uint64_t irqs;
	uint64_t spurious;

	/* Under slock: the current request and the DPC. */
	uint32_t wait_bits;
	uint32_t done_bits;
	uint64_t stale;
};

static uint32_t edu_rd(struct edu_dev *ed, uint64_t reg)
{
	return csx_read32(ed->dev, EDU_BAR, reg);
}

static void edu_wr(struct edu_dev *ed, uint64_t reg, uint32_t val)
{
	csx_write32(ed->dev, EDU_BAR, reg, val);
}

/* ---- Interrupt path ------------------------------------------------------ */

static enum csx_irqreturn edu_isr(struct csx_intr *intr, void *ctx)
{
	struct edu_dev *ed = ctx;
	uint32_t status;

	status = edu_rd(ed, EDU_REG_IRQ_STATUS);
	if (status == 0 || status == EDU_ALL_ONES) {
		/* Nothing pending (spurious or shared line) or device gone. */
		ed->spurious++;
		return CSX_IRQ_NONE;
	}
	edu_wr(ed, EDU_REG_IRQ_ACK, status);
	ed->isr_bits |= status;
	ed->irqs++;
	csx_dpc_queue(ed->dpc);
	return CSX_IRQ_HANDLED;
}

static void edu_dpc(struct csx_dpc *dpc, void *ctx)
{
	struct edu_dev *ed = ctx;
	unsigned long key;
	uint32_t bits;

	csx_spin_lock(ed->slock);
	key = csx_intr_disable(ed->intr);
	bits = ed->isr_bits;
	ed->isr_bits = 0;
	csx_intr_restore(ed->intr, key);
	if (bits & ed->wait_bits) {
		ed->done_bits |= bits & ed->wait_bits;
		csx_event_set(ed->done);
	}
	if (bits & ~ed->wait_bits)
		ed->stale++;
	csx_spin_unlock(ed->slock);
}

/* ---- Requests (ed->lock held) -------------------------------------------- */

static void edu_arm(struct edu_dev *ed, uint32_t bits)
{
	csx_spin_lock(ed->slock);
	ed->wait_bits = bits;
	ed->done_bits = 0;
	csx_spin_unlock(ed->slock);
	csx_event_reset(ed->done);
}

static bool edu_disarm(struct edu_dev *ed, uint32_t bits)
{
	bool done;

	csx_spin_lock(ed->slock);
	done = (ed->done_bits & bits) == bits;
	ed->wait_bits = 0;
	csx_spin_unlock(ed->slock);
	return done;
}

static bool edu_is_done(struct edu_dev *ed, uint32_t bits)
{
	bool done;

	csx_spin_lock(ed->slock);
	done = (ed->done_bits & bits) == bits;
	csx_spin_unlock(ed->slock);
	return done;
}

static bool edu_present(struct edu_dev *ed)
{
	return (edu_rd(ed, EDU_REG_ID) & EDU_ID_MASK) == (EDU_ID & EDU_ID_MASK);
}

static int edu_gone(struct edu_dev *ed)
{
	csx_err("csx_edu: %s: device gone (identification reads 0x%08x)",
		csx_dev_name(ed->dev), edu_rd(ed, EDU_REG_ID));
	return -CSX_EIO;
}

/* Wait for the interrupt that completes @bits, within the timeout. */
static int edu_wait(struct edu_dev *ed, uint32_t bits)
{
	uint64_t timeout = ed->timeout_ms * CSX_NSEC_PER_MSEC;
	uint64_t deadline = csx_time_ns() + timeout;
	uint64_t now;

	/* Woken for a stale completion too: check what came, then go on. */
	while (!edu_is_done(ed, bits)) {
		now = csx_time_ns();
		if (now >= deadline)
			break;
		csx_event_wait(ed->done, (int64_t)(deadline - now));
	}
	if (edu_disarm(ed, bits))
		return 0;
	/* The work may still finish: quiesce before the next request. */
	ed->needs_reset = true;
	if (!edu_present(ed))
		return edu_gone(ed);
	ed->timeouts++;
	csx_warn("csx_edu: %s: no completion interrupt within %u ms",
		 csx_dev_name(ed->dev), ed->timeout_ms);
	return -CSX_ETIMEDOUT;
}

static bool edu_idle(struct edu_dev *ed)
{
	return !(edu_rd(ed, EDU_REG_STATUS) & EDU_STATUS_BUSY) &&
	       !(edu_rd(ed, EDU_REG_DMA_CMD) & EDU_DMA_RUN);
}

/*
 * After a timeout: let the late work finish, then clear whatever it left
 * in the interrupt status so it cannot complete the next request.
 */
static int edu_reset(struct edu_dev *ed)
{
	uint64_t deadline = csx_time_ns() + ed->timeout_ms * CSX_NSEC_PER_MSEC;
	unsigned long key;

	while (!edu_idle(ed)) {
		if (csx_time_ns() >= deadline)
			return -CSX_ETIMEDOUT;
		csx_thread_sleep(EDU_IDLE_POLL_NS);
	}
	edu_wr(ed, EDU_REG_IRQ_ACK, EDU_ALL_ONES);
	/* slock too: the DPC also clears isr_bits (see the top). */
	csx_spin_lock(ed->slock);
	key = csx_intr_disable(ed->intr);
	ed->isr_bits = 0;
	csx_intr_restore(ed->intr, key);
	csx_spin_unlock(ed->slock);
	ed->needs_reset = false;
	csx_info("csx_edu: %s: device quiesced after a failed request",
		 csx_dev_name(ed->dev));
	return 0;
}

static int edu_begin(struct edu_dev *ed)
{
	if (!edu_present(ed))
		return edu_gone(ed);
	if (ed->needs_reset)
		return edu_reset(ed);
	return 0;
}

static int edu_factorial(struct edu_dev *ed, uint32_t n, uint32_t *result)
{
	int ret = edu_begin(ed);

	if (ret)
		return ret;
	edu_arm(ed, EDU_IRQ_FACT);
	edu_wr(ed, EDU_REG_STATUS, EDU_STATUS_IRQ_FACT);
	edu_wr(ed, EDU_REG_FACT, n);
	ret = edu_wait(ed, EDU_IRQ_FACT);
	if (ret)
		return ret;
	*result = edu_rd(ed, EDU_REG_FACT);
	ed->factorials++;
	return 0;
}

/* One DMA transfer of @len bytes; the interrupt says it is done. */
static int edu_dma(struct edu_dev *ed, uint64_t src, uint64_t dst, uint32_t len,
		   uint32_t dir)
{
	int ret;

	edu_arm(ed, EDU_IRQ_DMA);
	/* Bus addresses need all 64 bits: 8-byte access is allowed here. */
	csx_write64(ed->dev, EDU_BAR, EDU_REG_DMA_SRC, src);
	csx_write64(ed->dev, EDU_BAR, EDU_REG_DMA_DST, dst);
	edu_wr(ed, EDU_REG_DMA_COUNT, len);
	edu_wr(ed, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_IRQ | dir);
	ret = edu_wait(ed, EDU_IRQ_DMA);
	if (!ret)
		ed->dma_transfers++;
	return ret;
}

static int edu_roundtrip(struct edu_dev *ed, const void *in, uint32_t len,
			 void *out)
{
	uint64_t bus = csx_dma_bus(ed->dma);
	void *cpu = csx_dma_cpu(ed->dma);
	int ret = edu_begin(ed);

	if (ret)
		return ret;
	__builtin_memcpy(cpu, in, len);
	ret = edu_dma(ed, bus, EDU_DMA_BASE, len, 0);
	if (ret)
		return ret;
	/* Cleared, so what comes back can only have come from the device. */
	__builtin_memset(cpu, 0, len);
	ret = edu_dma(ed, EDU_DMA_BASE, bus, len, EDU_DMA_TO_RAM);
	if (ret)
		return ret;
	__builtin_memcpy(out, cpu, len);
	return 0;
}

/* ---- The service --------------------------------------------------------- */

static int edu_op_factorial(struct edu_dev *ed, const void *in, size_t in_len,
			    void *out, size_t out_cap, size_t *out_len)
{
	struct edu_fact_req req;
	struct edu_fact_resp resp;
	int ret;

	if (in_len != sizeof(req) || out_cap < sizeof(resp))
		return -CSX_EINVAL;
	__builtin_memcpy(&req, in, sizeof(req));
	ret = edu_factorial(ed, req.n, &resp.result);
	if (ret)
		return ret;
	__builtin_memcpy(out, &resp, sizeof(resp));
	*out_len = sizeof(resp);
	return 0;
}

static int edu_op_roundtrip(struct edu_dev *ed, const void *in, size_t in_len,
			    void *out, size_t out_cap, size_t *out_len)
{
	int ret;

	if (in_len == 0)
		return -CSX_EINVAL;
	if (in_len > EDU_DMA_MAX)
		return -CSX_EMSGSIZE;
	if (out_cap < in_len)
		return -CSX_EOVERFLOW;
	ret = edu_roundtrip(ed, in, (uint32_t)in_len, out);
	if (!ret)
		*out_len = in_len;
	return ret;
}

static void edu_copy_name(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < cap && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static int edu_op_info(struct edu_dev *ed, void *out, size_t out_cap,
		       size_t *out_len)
{
	struct edu_info info;
	unsigned long key;

	if (out_cap < sizeof(info))
		return -CSX_EINVAL;
	__builtin_memset(&info, 0, sizeof(info));
	info.id = ed->id;
	info.liveness_ok = 1; /* probe fails otherwise */
	info.msi = ed->msi;
	info.timeout_ms = ed->timeout_ms;
	info.timeouts = ed->timeouts;
	info.factorials = ed->factorials;
	info.dma_transfers = ed->dma_transfers;
	csx_spin_lock(ed->slock);
	info.stale = ed->stale;
	key = csx_intr_disable(ed->intr);
	info.irqs = ed->irqs;
	info.spurious = ed->spurious;
	csx_intr_restore(ed->intr, key);
	csx_spin_unlock(ed->slock);
	edu_copy_name(info.dev_name, sizeof(info.dev_name),
		      csx_dev_name(ed->dev));
	info.incarnation = ed->incarnation;
	__builtin_memcpy(out, &info, sizeof(info));
	*out_len = sizeof(info);
	return 0;
}

static int edu_op_set_timeout(struct edu_dev *ed, const void *in, size_t in_len)
{
	struct edu_timeout_req req;

	if (in_len != sizeof(req))
		return -CSX_EINVAL;
	__builtin_memcpy(&req, in, sizeof(req));
	if (req.timeout_ms == 0 || req.timeout_ms > EDU_TIMEOUT_MS_MAX)
		return -CSX_ERANGE;
	ed->timeout_ms = req.timeout_ms;
	return 0;
}

/* Commit what a successor needs (ed->lock held). */
static void edu_save(struct edu_dev *ed)
{
	struct edu_saved *sv;

	if (!ed->state)
		return;
	sv = csx_state_data(ed->state);
	sv->timeout_ms = ed->timeout_ms;
	sv->factorials = ed->factorials;
	sv->dma_transfers = ed->dma_transfers;
	sv->timeouts = ed->timeouts;
	sv->incarnation = ed->incarnation;
	csx_state_commit(ed->state);
}

/*
 * Open the unit's saved state and resume from it. Without it (no room in
 * the holder, say) the driver works as before, from defaults.
 */
static void edu_restore(struct edu_dev *ed)
{
	char name[4 + EDU_SERVICE_NAME_MAX] = "csx_";
	struct edu_saved *sv;
	int ret;

	/* "csx_" + "edu/N": the unit's region, "csx_edu/N". */
	edu_service_name(name + 4, csx_dev_unit(ed->dev));
	ret = csx_state_open(name, EDU_STATE_VERSION, sizeof(*sv), &ed->state);
	if (ret) {
		csx_warn("csx_edu: %s: no saved state (%s): starting from "
			 "defaults",
			 csx_dev_name(ed->dev), csx_strerror(ret));
		ed->state = NULL;
		ed->incarnation = 1;
		return;
	}
	sv = csx_state_data(ed->state);
	if (csx_state_origin(ed->state) == CSX_STATE_RESTORED &&
	    csx_state_version(ed->state) == EDU_STATE_VERSION &&
	    sv->timeout_ms && sv->timeout_ms <= EDU_TIMEOUT_MS_MAX) {
		ed->timeout_ms = sv->timeout_ms;
		ed->factorials = sv->factorials;
		ed->dma_transfers = sv->dma_transfers;
		ed->timeouts = sv->timeouts;
		ed->incarnation = sv->incarnation + 1;
		csx_info("csx_edu: %s: resumed from saved state: incarnation "
			 "%llu, timeout %u ms, %llu factorials done before",
			 csx_dev_name(ed->dev),
			 (unsigned long long)ed->incarnation,
			 (unsigned int)ed->timeout_ms,
			 (unsigned long long)ed->factorials);
	} else {
		ed->incarnation = 1;
	}
	edu_save(ed);
}

static int edu_serve(void *ctx, uint32_t op, const void *in, size_t in_len,
		     void *out, size_t out_cap, size_t *out_len)
{
	struct edu_dev *ed = ctx;
	int ret;

	ret = csx_mutex_lock(ed->lock);
	if (ret)
		return ret;
	switch (op) {
	case EDU_OP_FACTORIAL:
		ret = edu_op_factorial(ed, in, in_len, out, out_cap, out_len);
		break;
	case EDU_OP_DMA_ROUNDTRIP:
		ret = edu_op_roundtrip(ed, in, in_len, out, out_cap, out_len);
		break;
	case EDU_OP_INFO:
		ret = edu_op_info(ed, out, out_cap, out_len);
		break;
	case EDU_OP_SET_TIMEOUT:
		ret = edu_op_set_timeout(ed, in, in_len);
		break;
	default:
		ret = -CSX_EOPNOTSUPP;
		break;
	}
	edu_save(ed);
	csx_mutex_unlock(ed->lock);
	return ret;
}

/* ---- Probe and remove ---------------------------------------------------- */

static int edu_check_device(struct edu_dev *ed)
{
	static const uint32_t patterns[] = { 0x12345678u, 0xa5a5a5a5u, 0 };
	const char *name = csx_dev_name(ed->dev);
	unsigned int i;

	if (csx_bar_size(ed->dev, EDU_BAR) < 0x100) {
		csx_err("csx_edu: %s: BAR0 missing or too small", name);
		return -CSX_ENODEV;
	}
	ed->id = edu_rd(ed, EDU_REG_ID);
	if ((ed->id & EDU_ID_MASK) != (EDU_ID & EDU_ID_MASK)) {
		csx_err("csx_edu: %s: identification 0x%08x is not an edu device",
			name, ed->id);
		return ed->id == EDU_ALL_ONES ? -CSX_EIO : -CSX_ENODEV;
	}
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		uint32_t got;

		edu_wr(ed, EDU_REG_LIVENESS, patterns[i]);
		got = edu_rd(ed, EDU_REG_LIVENESS);
		if (got != ~patterns[i]) {
			csx_err("csx_edu: %s: liveness check failed: wrote 0x%08x, read 0x%08x",
				name, patterns[i], got);
			return -CSX_EIO;
		}
	}
	return 0;
}

static int edu_sync_create(struct edu_dev *ed)
{
	int ret;

	ret = csx_mutex_create(&ed->lock);
	if (ret)
		return ret;
	ret = csx_spin_create(&ed->slock);
	if (ret)
		goto out_mutex;
	ret = csx_event_create(&ed->done, CSX_EVENT_AUTO, false);
	if (ret)
		goto out_spin;
	ret = csx_dpc_create(&ed->dpc, edu_dpc, ed);
	if (ret)
		goto out_event;
	return 0;

out_event:
	csx_event_destroy(ed->done);
out_spin:
	csx_spin_destroy(ed->slock);
out_mutex:
	csx_mutex_destroy(ed->lock);
	return ret;
}

static void edu_sync_destroy(struct edu_dev *ed)
{
	csx_dpc_destroy(ed->dpc);
	csx_event_destroy(ed->done);
	csx_spin_destroy(ed->slock);
	csx_mutex_destroy(ed->lock);
}

/* Every operation may run twice with the same result. */
static const struct csx_service_opts edu_svc_opts = {
	.scope = CSX_SERVICE_USER,
	.idempotent = CSX_OP_BIT(EDU_OP_FACTORIAL) |
		      CSX_OP_BIT(EDU_OP_DMA_ROUNDTRIP) |
		      CSX_OP_BIT(EDU_OP_INFO) | CSX_OP_BIT(EDU_OP_SET_TIMEOUT),
};

/* Interrupt and service: what makes the device usable. */
static int edu_start(struct edu_dev *ed)
{
	int ret;

	/* Nothing may be pending when the ISR arrives. */
	edu_wr(ed, EDU_REG_IRQ_ACK, EDU_ALL_ONES);
	ret = csx_intr_attach(ed->dev, CSX_INTR_ANY, edu_isr, ed, &ed->intr);
	if (ret)
		return ret;
	ed->msi = csx_intr_is_msi(ed->intr);
	edu_service_name(ed->svc_name, csx_dev_unit(ed->dev));
	ret = csx_service_export_opts(ed->svc_name, EDU_SERVICE_VERSION,
				      &edu_svc_opts, edu_serve, ed, &ed->svc);
	if (ret)
		csx_intr_detach(ed->intr);
	return ret;
}

static int edu_probe(struct csx_device *dev, const struct csx_pci_id *id)
{
	struct edu_dev *ed;
	int ret;

	ed = csx_alloc(sizeof(*ed), CSX_MEM_ZERO);
	if (!ed)
		return -CSX_ENOMEM;
	ed->dev = dev;
	ed->timeout_ms = EDU_TIMEOUT_MS_DEFAULT;
	ret = edu_check_device(ed);
	if (ret)
		goto out_free;
	ret = edu_sync_create(ed);
	if (ret)
		goto out_free;
	ret = csx_dma_alloc(dev, EDU_DMA_MAX, &ed->dma);
	if (ret)
		goto out_sync;
	edu_restore(ed);
	ret = edu_start(ed);
	if (ret)
		goto out_state;
	csx_dev_set_drvdata(dev, ed);
	csx_info("csx_edu: %s: bound: id 0x%08x, %s interrupt, service %s",
		 csx_dev_name(dev), ed->id, ed->msi ? "MSI" : "INTx",
		 ed->svc_name);
	return 0;

out_state:
	csx_state_close(ed->state, true);
	csx_dma_free(ed->dma);
out_sync:
	edu_sync_destroy(ed);
out_free:
	csx_free(ed);
	csx_err("csx_edu: %s: probe failed: %s", csx_dev_name(dev),
		csx_strerror(ret));
	return ret;
}

static void edu_remove(struct csx_device *dev)
{
	struct edu_dev *ed = csx_dev_get_drvdata(dev);

	/* Waits for calls in progress; new ones fail. */
	csx_service_unexport(ed->svc);
	csx_intr_detach(ed->intr);
	csx_state_close(ed->state, true);
	csx_dma_free(ed->dma);
	edu_sync_destroy(ed);
	csx_info("csx_edu: %s: removed", csx_dev_name(dev));
	csx_free(ed);
}

static const struct csx_pci_id edu_ids[] = {
	{ 0x1234, 0x11e8 },
	{ 0, 0 },
};

static struct csx_driver edu_driver = {
	.name = "csx_edu",
	.ids = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
	.dma_bits = 28, /* edu drives 28 address bits (QEMU's default) */
};

static int edu_init(void)
{
	return csx_driver_register(&edu_driver);
}

static void edu_fini(void)
{
	csx_driver_unregister(&edu_driver);
}

CSX_MODULE("csx_edu", "1.0.0", edu_init, edu_fini);
