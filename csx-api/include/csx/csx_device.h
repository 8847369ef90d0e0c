/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/**
 * @file csx_device.h
 * @brief PCI drivers: match table, probe/remove, registers, config, DMA.
 *
 * A driver registers a struct csx_driver; probe() is called once per
 * matching device. Kernel mode: a pci_driver. User mode: simulated devices
 * created by the host (csx-run --device edu) or real devices claimed through
 * the kernel helper. Before probe() the back end has enabled the device,
 * mapped its memory BARs and enabled bus mastering.
 *
 * Register accessors never fail: an offset outside the BAR is logged and
 * reads return all ones, as a PCI read from a missing device does.
 */
#ifndef CSX_DEVICE_H
#define CSX_DEVICE_H

#include <csx/csx_types.h>

/** An opaque device handle, valid from probe() until remove() returns. */
struct csx_device;
/** An opaque DMA buffer handle. */
struct csx_dma_buf;

/** Matches any vendor or device id in struct csx_pci_id. */
#define CSX_PCI_ANY_ID 0xffffu

/** One PCI id a driver matches; a table ends with an all-zero entry. */
struct csx_pci_id {
	uint16_t vendor; /**< Vendor id or CSX_PCI_ANY_ID. */
	uint16_t device; /**< Device id or CSX_PCI_ANY_ID. */
};

/** A PCI driver. Lives at least until csx_driver_unregister() returns. */
struct csx_driver {
	/** Name, used in logs and as the kernel pci_driver name. */
	const char *name;
	/** Ids to match; ends with {0, 0}. */
	const struct csx_pci_id *ids;
	/**
	 * Bind to a device. Thread context, may sleep.
	 * @param dev The device.
	 * @param id The table entry that matched.
	 * @return 0 to bind, or a negative status to decline.
	 */
	int (*probe)(struct csx_device *dev, const struct csx_pci_id *id);
	/**
	 * Unbind: detach interrupts, free DMA buffers, stop work. Thread
	 * context, may sleep. Called for every device probe() accepted.
	 * @param dev The device.
	 */
	void (*remove)(struct csx_device *dev);
	/**
	 * Width of the DMA addresses the device can generate, in bits
	 * (e.g. 28 for QEMU's edu device); 0 means 64. DMA buffers of this
	 * driver's devices get bus addresses below 2^dma_bits.
	 */
	unsigned int dma_bits;
};

/**
 * csx_driver_register() - Register a driver and probe matching devices.
 * @param drv The driver.
 * @return 0 or a negative status.
 * @retval -CSX_EINVAL NULL driver, name, ids, probe or remove.
 * @retval -CSX_EEXIST Already registered.
 *
 * Thread context; may sleep. Matching devices are probed before it returns.
 * Having no matching device is not an error.
 */
int csx_driver_register(struct csx_driver *drv);

/**
 * csx_driver_unregister() - Remove a driver from every device it bound.
 * @param drv A registered driver (others are ignored and logged).
 *
 * Thread context; may sleep.
 */
void csx_driver_unregister(struct csx_driver *drv);

/**
 * csx_dev_name() - The device's name (e.g. "0000:00:04.0", "sim-edu0").
 * @param dev The device.
 * @return A string valid while the device is bound.
 */
const char *csx_dev_name(struct csx_device *dev);

/**
 * csx_dev_unit() - The device's unit number: which port it is, among the
 * devices its driver binds. Stable for the device's life, small, unique
 * per driver; name per-port resources after it (e.g. a service "edu/0").
 * @param dev The device.
 * @return The unit, from 0.
 *
 * Units are given at probe: the unit the host asked for (user mode:
 * csx-run --device ...,unit=N, so that the instance a supervisor restarts
 * for one port keeps its number) if it is free, else the lowest free one.
 * Any context.
 */
unsigned int csx_dev_unit(struct csx_device *dev);

/**
 * csx_dev_set_drvdata() - Attach the driver's private data.
 * @param dev The device.
 * @param data Any pointer.
 */
void csx_dev_set_drvdata(struct csx_device *dev, void *data);

/**
 * csx_dev_get_drvdata() - The driver's private data.
 * @param dev The device.
 * @return What csx_dev_set_drvdata() stored, or NULL.
 */
void *csx_dev_get_drvdata(struct csx_device *dev);

/**
 * csx_bar_size() - Size of a memory BAR.
 * @param dev The device.
 * @param bar BAR number, 0 to 5.
 * @return Bytes, or 0 when the BAR does not exist or is not mapped.
 */
uint64_t csx_bar_size(struct csx_device *dev, unsigned int bar);

/** @name Register access (any context; never sleeps) */
/** @{ */
/** Read 8 bits. @param dev Device. @param bar BAR. @param off Offset. @return Value. */
uint8_t csx_read8(struct csx_device *dev, unsigned int bar, uint64_t off);
/** Read 16 bits. @param dev Device. @param bar BAR. @param off Offset. @return Value. */
uint16_t csx_read16(struct csx_device *dev, unsigned int bar, uint64_t off);
/** Read 32 bits. @param dev Device. @param bar BAR. @param off Offset. @return Value. */
uint32_t csx_read32(struct csx_device *dev, unsigned int bar, uint64_t off);
/** Read 64 bits. @param dev Device. @param bar BAR. @param off Offset. @return Value. */
uint64_t csx_read64(struct csx_device *dev, unsigned int bar, uint64_t off);
/** Write 8 bits. @param dev Device. @param bar BAR. @param off Offset. @param val Value. */
void csx_write8(struct csx_device *dev, unsigned int bar, uint64_t off,
		uint8_t val);
/** Write 16 bits. @param dev Device. @param bar BAR. @param off Offset. @param val Value. */
void csx_write16(struct csx_device *dev, unsigned int bar, uint64_t off,
		 uint16_t val);
/** Write 32 bits. @param dev Device. @param bar BAR. @param off Offset. @param val Value. */
void csx_write32(struct csx_device *dev, unsigned int bar, uint64_t off,
		 uint32_t val);
/** Write 64 bits. @param dev Device. @param bar BAR. @param off Offset. @param val Value. */
void csx_write64(struct csx_device *dev, unsigned int bar, uint64_t off,
		 uint64_t val);
/** @} */

/**
 * csx_pci_cfg_read() - Read PCI configuration space.
 * @param dev The device.
 * @param off Offset, aligned to @p size.
 * @param size 1, 2 or 4 bytes.
 * @param val Receives the value.
 * @return 0, -CSX_EINVAL (bad size, alignment or NULL), -CSX_ERANGE (offset
 *         beyond config space), -CSX_EIO.
 *
 * Thread context (kernel config access may take a sleeping lock in some
 * ports; treat it as sleeping).
 */
int csx_pci_cfg_read(struct csx_device *dev, unsigned int off,
		     unsigned int size, uint32_t *val);

/**
 * csx_pci_cfg_write() - Write PCI configuration space.
 * @param dev The device.
 * @param off Offset, aligned to @p size.
 * @param size 1, 2 or 4 bytes.
 * @param val The value.
 * @return As csx_pci_cfg_read(); -CSX_EPERM for ranges a port protects.
 */
int csx_pci_cfg_write(struct csx_device *dev, unsigned int off,
		      unsigned int size, uint32_t val);

/**
 * csx_dma_alloc() - Allocate a DMA-coherent buffer for a device.
 * @param dev The device.
 * @param size Bytes, 1 or more.
 * @param out Receives the handle.
 * @return 0, -CSX_EINVAL, -CSX_ENOMEM, -CSX_EDEADLK (atomic context).
 *
 * Thread context; may sleep. Free with csx_dma_free() before remove()
 * returns.
 */
int csx_dma_alloc(struct csx_device *dev, size_t size,
		  struct csx_dma_buf **out);

/**
 * csx_dma_free() - Free a DMA buffer.
 * @param buf The buffer, or NULL.
 *
 * Thread context.
 */
void csx_dma_free(struct csx_dma_buf *buf);

/**
 * csx_dma_cpu() - The CPU address of a DMA buffer.
 * @param buf The buffer.
 * @return The address the driver reads and writes, or NULL for a bad handle.
 */
void *csx_dma_cpu(struct csx_dma_buf *buf);

/**
 * csx_dma_bus() - The bus address the device uses for a DMA buffer.
 * @param buf The buffer.
 * @return The address to program into the device, or 0 for a bad handle.
 *         It is not a CPU pointer.
 */
uint64_t csx_dma_bus(struct csx_dma_buf *buf);

/**
 * csx_dma_size() - The size of a DMA buffer.
 * @param buf The buffer.
 * @return Bytes, or 0 for a bad handle.
 */
size_t csx_dma_size(struct csx_dma_buf *buf);

#endif /* CSX_DEVICE_H */
