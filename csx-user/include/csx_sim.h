/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_sim.h
 * @brief Simulated PCI devices for the user-mode back end.
 *
 * A simulated device is a software model that a driver cannot tell apart
 * from a PCI function: it has ids and a configuration space, memory BARs
 * whose registers are read and written through callbacks, a level-triggered
 * INTx line, an optional MSI capability, and DMA access to driver buffers by
 * bus address through a simulated IOMMU.
 *
 * Hosts (csx-run, standalone executables, tests) create instances by model
 * name with csx_sim_create(); the instance is named after the model and the
 * lowest free index ("sim-edu0", "sim-edu1", ...) and is offered at once to
 * every registered driver, exactly like a hot-plugged device. Faults can be
 * injected into an instance to exercise a driver's error paths.
 *
 * Model writers fill in a struct csx_sim_model and call
 * csx_sim_model_register(); the models built into libcsx-user ("edu",
 * QEMU's educational device) are always registered.
 *
 * All functions need the back end to be up (csx_user_init()) and, unless
 * stated otherwise, are called from thread context and may sleep.
 *
 * Bus addresses handed out for DMA buffers are not CPU pointers: they come
 * from separate I/O virtual address windows (CSX_SIM_IOVA_BASE, or
 * CSX_SIM_IOVA_LOW_BASE up to 2^dma_bits for a driver that declared a
 * narrower struct csx_driver::dma_bits) and are translated per device.
 * A model that accesses an address the driver did not allocate for this
 * device gets -CSX_EFAULT and the fault is logged and counted, as with a
 * real IOMMU.
 */
#ifndef CSX_SIM_H
#define CSX_SIM_H

#include <csx/csx_types.h>

/** A simulated device instance (opaque). */
struct csx_sim_dev;

/** Number of BARs a PCI function has. */
#define CSX_SIM_BARS 6

/**
 * First bus address handed out for DMA buffers of drivers whose devices
 * generate wide addresses (struct csx_driver::dma_bits 0 or above 47).
 */
#define CSX_SIM_IOVA_BASE 0x800000000000ULL
/**
 * First bus address for narrower devices (for example edu's 28 bits):
 * buffers get addresses from here up to 2^dma_bits.
 */
#define CSX_SIM_IOVA_LOW_BASE 0x01000000ULL

/**
 * Register read callback of a BAR.
 * @param dev The instance.
 * @param off Offset in the BAR, below its size.
 * @param width Access width in bytes: 1, 2, 4 or 8.
 * @return The value (the model decides what an unsupported access reads).
 *
 * Called in the context of the accessing driver code: any context,
 * including ISRs; must not sleep.
 */
typedef uint64_t (*csx_sim_read_fn)(struct csx_sim_dev *dev, uint64_t off,
				    unsigned int width);

/**
 * Register write callback of a BAR.
 * @param dev The instance.
 * @param off Offset in the BAR, below its size.
 * @param width Access width in bytes: 1, 2, 4 or 8.
 * @param val The value written.
 *
 * Any context, including ISRs; must not sleep.
 */
typedef void (*csx_sim_write_fn)(struct csx_sim_dev *dev, uint64_t off,
				 unsigned int width, uint64_t val);

/** One memory BAR of a model. */
struct csx_sim_bar {
	/** Size in bytes, a power of two of at least 16; 0: no BAR. */
	uint64_t size;
	/** Read callback; required when @c size is not 0. */
	csx_sim_read_fn read;
	/** Write callback; required when @c size is not 0. */
	csx_sim_write_fn write;
};

/** A device model: what every instance of it looks like. */
struct csx_sim_model {
	/** Model name used by csx_sim_create() and in instance names. */
	const char *name;
	/** PCI vendor id. */
	uint16_t vendor;
	/** PCI device id. */
	uint16_t device;
	/** PCI revision id. */
	uint8_t revision;
	/** PCI class code (class, subclass, programming interface). */
	uint32_t class_code;
	/** Memory BARs (32-bit, non-prefetchable). */
	struct csx_sim_bar bars[CSX_SIM_BARS];
	/** The function has an INTx pin (INTA). */
	bool intx;
	/** The function has an MSI capability with one vector. */
	bool msi;
	/** Bytes of zeroed private state per instance, see csx_sim_priv(). */
	size_t priv_size;
	/**
	 * Bring up a new instance (start its threads). Optional.
	 * @param dev The instance; registers are not accessed before this
	 *            returns 0.
	 * @return 0 or a negative status, which fails csx_sim_create().
	 */
	int (*create)(struct csx_sim_dev *dev);
	/**
	 * Stop an instance: join its threads. Optional. Called after the
	 * driver was removed from it; no callback runs after it returns.
	 * @param dev The instance.
	 */
	void (*destroy)(struct csx_sim_dev *dev);
};

/**
 * csx_sim_model_register() - Make a model available to csx_sim_create().
 * @param model The model; it must stay valid until the process ends.
 * @return 0, -CSX_EINVAL (NULL, no name, bad BAR), -CSX_EEXIST (a model of
 *         that name exists) or -CSX_ENOMEM.
 */
int csx_sim_model_register(const struct csx_sim_model *model);

/** Longest instance name, including the terminating NUL. */
#define CSX_SIM_NAME_MAX 32

/**
 * csx_sim_create() - Create an instance of a model and offer it to drivers.
 * @param model Model name, e.g. "edu".
 * @param options NULL or "" for the defaults, or a comma-separated list of
 *                KEY=VALUE settings. Known keys: "msi" (on/off: whether the
 *                MSI capability is present, so an off instance makes
 *                CSX_INTR_ANY fall back to INTx); "unit" (0 to 1023: the
 *                unit the driver gets, csx_dev_unit(), if it is free).
 * @param out Receives the instance; may be NULL.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL NULL @p model, or a malformed or unknown option.
 * @retval -CSX_ENOENT No model of that name.
 * @retval -CSX_ENOSPC Too many instances of the model.
 * @retval -CSX_ENOMEM Out of memory.
 *
 * A registered driver matching the ids is probed before this returns; a
 * driver declining the device is not an error (see csx_sim_is_bound()).
 */
int csx_sim_create(const char *model, const char *options,
		   struct csx_sim_dev **out);

/**
 * csx_sim_destroy() - Unplug an instance: remove its driver, stop it, free
 * it.
 * @param dev The instance, or NULL.
 */
void csx_sim_destroy(struct csx_sim_dev *dev);

/**
 * csx_sim_destroy_all() - csx_sim_destroy() every instance, newest first.
 * Hosts call it before csx_user_fini().
 */
void csx_sim_destroy_all(void);

/**
 * csx_sim_find() - Look an instance up by name.
 * @param name E.g. "sim-edu0".
 * @return The instance or NULL.
 */
struct csx_sim_dev *csx_sim_find(const char *name);

/**
 * csx_sim_name() - An instance's name.
 * @param dev The instance.
 * @return "sim-<model><index>", valid while the instance lives.
 */
const char *csx_sim_name(const struct csx_sim_dev *dev);

/**
 * csx_sim_is_bound() - Does a driver currently own the instance?
 * @param dev The instance.
 * @return true if a driver's probe() accepted it and it was not removed.
 */
bool csx_sim_is_bound(struct csx_sim_dev *dev);

/**
 * csx_sim_priv() - The model's private state of an instance.
 * @param dev The instance.
 * @return struct csx_sim_model::priv_size zeroed bytes (NULL if 0).
 *         Any context.
 */
void *csx_sim_priv(struct csx_sim_dev *dev);

/** @name Access as the CPU would (tests and tools) */
/** @{ */
/**
 * csx_sim_mmio_read() - Read a register as a driver would.
 * @param dev The instance.
 * @param bar BAR number.
 * @param off Offset.
 * @param width 1, 2, 4 or 8.
 * @return The value; all ones for a missing BAR, an offset beyond it, a bad
 *         width, or a gone device. Any context.
 */
uint64_t csx_sim_mmio_read(struct csx_sim_dev *dev, unsigned int bar,
			   uint64_t off, unsigned int width);
/**
 * csx_sim_mmio_write() - Write a register as a driver would.
 * @param dev The instance.
 * @param bar BAR number.
 * @param off Offset.
 * @param width 1, 2, 4 or 8.
 * @param val Value; ignored where a read would give all ones.
 */
void csx_sim_mmio_write(struct csx_sim_dev *dev, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t val);
/**
 * csx_sim_cfg_read() - Read configuration space.
 * @param dev The instance.
 * @param off Offset, aligned to @p size, below 4096 (above 255: absent,
 *            reads all ones, writes ignored).
 * @param size 1, 2 or 4.
 * @param val Receives the value (all ones for a gone device).
 * @return 0 or -CSX_EINVAL. Any context.
 */
int csx_sim_cfg_read(struct csx_sim_dev *dev, unsigned int off,
		     unsigned int size, uint32_t *val);
/**
 * csx_sim_cfg_write() - Write configuration space; read-only bits keep
 * their value.
 * @param dev The instance.
 * @param off Offset, aligned to @p size, below 4096 (above 255: absent,
 *            reads all ones, writes ignored).
 * @param size 1, 2 or 4.
 * @param val Value.
 * @return 0 or -CSX_EINVAL. Any context.
 */
int csx_sim_cfg_write(struct csx_sim_dev *dev, unsigned int off,
		      unsigned int size, uint32_t val);
/** @} */

/** @name Model side: interrupts and DMA (any context, never sleep) */
/** @{ */
/**
 * csx_sim_intx_set() - Drive the INTx line.
 * @param dev The instance.
 * @param asserted true: the line is active (level-triggered; the ISR keeps
 *                 being run until the model deasserts it); false: inactive.
 *
 * The line's state shows in the configuration status register (bit 3);
 * the command register's INTx-disable bit (bit 10) masks delivery.
 */
void csx_sim_intx_set(struct csx_sim_dev *dev, bool asserted);
/**
 * csx_sim_intx_level() - The INTx line as the model drives it.
 * @param dev The instance.
 * @return true if asserted.
 */
bool csx_sim_intx_level(struct csx_sim_dev *dev);
/**
 * csx_sim_msi_enabled() - Is MSI enabled in the MSI capability?
 * @param dev The instance.
 * @return true if the model must signal with csx_sim_msi_send().
 */
bool csx_sim_msi_enabled(struct csx_sim_dev *dev);
/**
 * csx_sim_msi_send() - Send the MSI message (edge: each call is one
 * interrupt; deliveries not yet serviced merge).
 * @param dev The instance. Ignored while MSI is disabled.
 */
void csx_sim_msi_send(struct csx_sim_dev *dev);
/**
 * csx_sim_dma_read() - The device reads driver memory (RAM to device).
 * @param dev The instance.
 * @param bus Bus address.
 * @param buf Receives the bytes.
 * @param len Byte count.
 * @return 0, or -CSX_EFAULT when [@p bus, @p bus + @p len) is not inside one
 *         buffer mapped for this device, bus mastering is off, or the device
 *         is gone (nothing is copied; the fault is logged and counted).
 */
int csx_sim_dma_read(struct csx_sim_dev *dev, uint64_t bus, void *buf,
		     size_t len);
/**
 * csx_sim_dma_write() - The device writes driver memory (device to RAM).
 * @param dev The instance.
 * @param bus Bus address.
 * @param buf The bytes.
 * @param len Byte count.
 * @return 0 or -CSX_EFAULT, as csx_sim_dma_read().
 */
int csx_sim_dma_write(struct csx_sim_dev *dev, uint64_t bus, const void *buf,
		      size_t len);
/**
 * csx_sim_completion_delay() - Extra time the model waits before finishing
 * asynchronous work (see csx_sim_fault_delay()).
 * @param dev The instance.
 * @return Nanoseconds, 0 normally.
 */
uint64_t csx_sim_completion_delay(struct csx_sim_dev *dev);
/** @} */

/** @name Fault injection (any thread) */
/** @{ */
/**
 * csx_sim_fault_drop_irqs() - Lose the next interrupt deliveries.
 * @param dev The instance.
 * @param n How many deliveries to drop (adds to those still pending).
 *
 * A dropped INTx delivery leaves the line asserted but undelivered until
 * the model deasserts and reasserts it, like a lost edge; a dropped MSI is
 * simply gone.
 */
void csx_sim_fault_drop_irqs(struct csx_sim_dev *dev, unsigned int n);
/**
 * csx_sim_fault_spurious() - Deliver an interrupt the device did not raise:
 * an INTx pulse with nothing pending, or an MSI with nothing pending.
 * @param dev The instance.
 *
 * With no ISR attached yet, the interrupt is held until one attaches.
 */
void csx_sim_fault_spurious(struct csx_sim_dev *dev);
/**
 * csx_sim_fault_delay() - Make the model's asynchronous work finish late.
 * @param dev The instance.
 * @param ns Added to every completion; 0 restores normal speed. The
 *           built-in models re-read it while they wait, so lowering it
 *           also speeds up work already in flight.
 */
void csx_sim_fault_delay(struct csx_sim_dev *dev, uint64_t ns);
/**
 * csx_sim_fault_gone() - Surprise removal (or its undoing): register and
 * configuration reads return all ones, writes are ignored, no interrupt is
 * delivered and DMA fails.
 * @param dev The instance.
 * @param gone true to unplug, false to plug back.
 */
void csx_sim_fault_gone(struct csx_sim_dev *dev, bool gone);
/**
 * csx_sim_fault_apply() - Inject a fault described by text (csx-run's
 * --fault).
 * @param dev The instance.
 * @param spec "drop-irq:N", "spurious", "delay:T" (T a number with an
 *             optional unit ns, us, ms or s; no unit means ms) or "gone".
 * @return 0 or -CSX_EINVAL for a malformed @p spec.
 */
int csx_sim_fault_apply(struct csx_sim_dev *dev, const char *spec);
/** @} */

/** Counters of one instance, see csx_sim_stats(). */
struct csx_sim_stats {
	uint64_t irqs_delivered; /**< Interrupts handed to the ISR path. */
	uint64_t irqs_dropped;	 /**< Deliveries lost to a drop fault. */
	uint64_t irqs_spurious;	 /**< Spurious interrupts delivered. */
	uint64_t dma_bytes;	 /**< Bytes moved by successful DMA. */
	uint64_t dma_faults;	 /**< DMA accesses refused (-CSX_EFAULT). */
};

/**
 * csx_sim_stats() - Read an instance's counters.
 * @param dev The instance.
 * @param out Receives the counters.
 * @return 0 or -CSX_EINVAL. Any context.
 */
int csx_sim_stats(struct csx_sim_dev *dev, struct csx_sim_stats *out);

#endif /* CSX_SIM_H */
