/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * Internal to csx-user: the seam between the interrupt emulation
 * (csx_os_intr.c: wait threads, READLOCK/WRITELOCK) and the device sources
 * (csx_os_dev.c, sim/: simulated devices, kh/: devices claimed through the
 * kernel helper).
 *
 * struct csx_os_dev is defined by the device code; the interrupt code only
 * goes through its ops table.
 */
#ifndef CSX_USER_DEV_H
#define CSX_USER_DEV_H

#include <csx/csx_os.h>

/* One interrupt delivery channel, owned by csx_os_intr.c. */
struct csx_user_irq;

/*
 * csx_user_irq_fire() - The device asserted its interrupt (INTx line went
 * active while unmasked, or an MSI message). Wakes the wait thread, which
 * runs the ISR once. Any thread, never blocks; fires while the ISR is
 * pending merge (the device keeps its status, as hardware does).
 */
void csx_user_irq_fire(struct csx_user_irq *irq);

/* What a device source offers the interrupt code. */
struct csx_user_dev_ops {
	/*
	 * Connect the device's interrupt to @irq. @flags are CSX_INTR_*; set
	 * *@is_msi to what was chosen. Returns 0, -CSX_ENOSYS (kind missing),
	 * -CSX_EEXIST (already connected).
	 */
	int (*intr_connect)(struct csx_os_dev *d, unsigned int flags,
			    struct csx_user_irq *irq, bool *is_msi);
	/* Disconnect: after return, csx_user_irq_fire() is not called again. */
	void (*intr_disconnect)(struct csx_os_dev *d);
	/*
	 * Called by the wait thread after the ISR returned (end of interrupt).
	 * For INTx: if the line is still asserted, fire again (level
	 * semantics). For MSI: nothing.
	 */
	void (*intr_eoi)(struct csx_os_dev *d);
	/*
	 * Optional, both or neither (simulated devices: NULL, and the wait
	 * thread sleeps on its futex until csx_user_irq_fire()). A source
	 * whose interrupts arrive in the kernel lets the wait thread block
	 * in it instead: one system call per interrupt, with intr_eoi()
	 * folded into the next intr_wait().
	 *
	 * intr_wait: block until the device interrupted (1) or intr_kick()
	 * was called (0); negative status on failure. Called by the wait
	 * thread only. A kick that comes before the wait blocks must still
	 * make it return (the source latches it).
	 * intr_kick: make a blocked (or the next) intr_wait() return. Any
	 * thread, never blocks for long.
	 * The spin budget (csx_intr_set_spin()) does not apply to them.
	 */
	int (*intr_wait)(struct csx_os_dev *d);
	void (*intr_kick)(struct csx_os_dev *d);
};

/* Every struct csx_os_dev starts with this header. */
struct csx_user_dev_hdr {
	const struct csx_user_dev_ops *ops;
};

#endif /* CSX_USER_DEV_H */
