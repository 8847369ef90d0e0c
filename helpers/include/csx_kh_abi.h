/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only WITH Linux-syscall-note */
/*
 * The /dev/csx ABI: what a user-mode CSX process asks of the kernel helper
 * (csx_helper.ko, helpers/kernel/). Included by the helper and by the user
 * back end's device source (csx-user/kh/); nothing else should need it.
 *
 * Model: one open file of /dev/csx claims at most one PCI device. Closing
 * the file (also by exit or SIGKILL) releases everything the file holds:
 * the interrupt, the DMA buffers, the device. Mappings hold the file open,
 * so nothing is freed while the process can still reach it.
 *
 * Versioning: every structure starts with a __u32 @size the caller sets to
 * sizeof(struct) as it knows it; the helper refuses a size it does not know
 * (-EINVAL). CSX_KH_IOC_VERSION reports CSX_KH_ABI_VERSION; a later ABI may
 * grow structures at their end and adds new ioctl numbers, never changes
 * old ones. Reserved fields must be zero on input (-EINVAL otherwise).
 *
 * Errors are negative Linux errno values (ioctl returns -1, errno set).
 * Every call that fails also leaves one line in the kernel log, prefixed
 * "csx_helper:", naming the caller's pid and the reason.
 */
#ifndef CSX_KH_ABI_H
#define CSX_KH_ABI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Device node the helper creates (misc device, dynamic minor). */
#define CSX_KH_DEVICE "/dev/csx"
/* ABI version; bumped on any incompatible change. */
#define CSX_KH_ABI_VERSION 1u
/* ioctl type byte. */
#define CSX_KH_IOC_MAGIC 0xce

/* CSX_KH_IOC_VERSION: any open file, no privilege needed. */
struct csx_kh_version {
	__u32 size;	/* in: sizeof(struct csx_kh_version) */
	__u32 abi;	/* out: CSX_KH_ABI_VERSION */
	__u32 features; /* out: CSX_KH_FEAT_* */
	__u32 reserved; /* in: 0 */
};
#define CSX_KH_FEAT_MSI 0x1u	      /* MSI interrupts supported */
#define CSX_KH_FEAT_SNAPSHOT 0x2u     /* register snapshot in the ISR */
#define CSX_KH_FEAT_WATCHDOG 0x4u     /* interrupt watchdog */
#define CSX_KH_FEAT_CALLS 0x8u	      /* service calls (CSX_KH_IOC_SVC_*) */
#define CSX_KH_FEAT_UPCALLS 0x10u     /* kernel -> user calls (SVC_EXPORT...) */
#define CSX_KH_FEAT_EXPORT_OPTS 0x20u /* CSX_KH_IOC_SVC_EXPORT_OPTS */
#define CSX_KH_FEAT_SVC_GONE 0x40u    /* CSX_KH_IOC_SVC_GONE */
#define CSX_KH_FEAT_SHBUF 0x80u	      /* shared buffers (CSX_KH_IOC_SHBUF_*) */

/*
 * CSX_KH_IOC_CLAIM: take PCI device domain:bus:devfn for this file.
 * Needs CAP_SYS_RAWIO, or membership of the helper's configured group
 * (module parameter "group"). The helper binds the device (driver
 * "csx_helper"), enables it (memory decoding, bus mastering off until
 * CSX_KH_IOC_ENABLE) and masks INTx until an interrupt is attached.
 * Errors: -EPERM (no privilege, or the device is a bridge), -ENODEV (no such device), -EBUSY (the
 * device has a driver or another owner, or this file already holds one),
 * -EIO (enabling failed).
 */
struct csx_kh_claim {
	__u32 size;	 /* in */
	__u32 domain;	 /* in: PCI domain (segment) */
	__u32 bus;	 /* in: 0..255 */
	__u32 devfn;	 /* in: (slot << 3) | function */
	__u16 vendor;	 /* out */
	__u16 device;	 /* out */
	__u16 subvendor; /* out */
	__u16 subdevice; /* out */
	__u32 class_code; /* out: class << 8 | prog-if... as in config 0x08 >> 8 */
	__u32 irq_kinds; /* out: CSX_KH_IRQ_INTX | CSX_KH_IRQ_MSI offered */
	__u32 cfg_size;	 /* out: config space size (256 or 4096) */
	__u32 reserved;	 /* in: 0 */
};
#define CSX_KH_IRQ_INTX 0x1u
#define CSX_KH_IRQ_MSI 0x2u

/*
 * CSX_KH_IOC_REGION: describe BAR @index (0..5) of the claimed device.
 * A memory BAR whose start is page aligned and that spans at least a page
 * can be mapped (a smaller one may share its page with another device): mmap(2) the file
 * at @mmap_offset, MAP_SHARED, length up to @bar_size rounded up to pages.
 * Errors: -ENXIO (nothing claimed), -EINVAL (index).
 */
struct csx_kh_region {
	__u32 size;	   /* in */
	__u32 index;	   /* in: BAR number */
	__u32 flags;	   /* out: CSX_KH_REGION_* */
	__u32 reserved;	   /* in: 0 */
	__u64 bar_size;	   /* out: bytes, 0 if the BAR is absent */
	__u64 mmap_offset; /* out: valid if CSX_KH_REGION_MMAP */
};
#define CSX_KH_REGION_MEM 0x1u	/* memory BAR */
#define CSX_KH_REGION_IO 0x2u	/* I/O port BAR (not mappable) */
#define CSX_KH_REGION_MMAP 0x4u /* mmap at mmap_offset works */

/*
 * CSX_KH_IOC_CFG_READ / CSX_KH_IOC_CFG_WRITE: config space of the claimed
 * device, @width 1, 2 or 4 bytes at a naturally aligned @offset below
 * cfg_size. Reads are allowed everywhere. Writes are allowed only where
 * they cannot take the device from the helper: the command register's
 * memory, I/O, bus-master, parity and SERR bits (INTx-disable belongs to
 * the helper; other bits are ignored), the status register's
 * write-one-to-clear error bits, cache line size, latency timer, and the
 * device-specific area 0x40..0xff outside every capability structure.
 * Errors: -ENXIO, -EINVAL (width, alignment, range), -EPERM (write to a
 * protected register).
 */
struct csx_kh_cfg {
	__u32 size;   /* in */
	__u32 offset; /* in */
	__u32 width;  /* in: 1, 2 or 4 */
	__u32 value;  /* out (read) or in (write) */
};

/*
 * CSX_KH_IOC_ENABLE: bus mastering on (@master 1) or off (0). Off stops
 * the device's DMA; the helper turns it off itself before it frees DMA
 * memory on release.
 */
struct csx_kh_enable {
	__u32 size;   /* in */
	__u32 master; /* in: 0 or 1 */
};

/*
 * CSX_KH_IOC_DMA_ALLOC: DMA-coherent memory for the claimed device, mapped
 * into the process with mmap(2) at @mmap_offset (MAP_SHARED, @length
 * rounded up to pages). @addr_bits (12..64, 0 = 64) caps the bus address,
 * for devices that drive fewer address lines. At most CSX_KH_DMA_MAX
 * buffers and the helper's byte limit (module parameter "dma_limit_kb")
 * per file.
 * CSX_KH_IOC_DMA_FREE: forget buffer @id; its memory is returned once the
 * process has unmapped it too.
 * Errors: -ENXIO, -EINVAL (length 0 or above 4 GiB, bits), -ENOSPC
 * (buffer count or byte limit), -ENOMEM, -ENOENT (free: no such id).
 */
struct csx_kh_dma {
	__u32 size;	   /* in */
	__u32 addr_bits;   /* in (alloc) */
	__u64 length;	   /* in (alloc) */
	__u32 id;	   /* out (alloc) / in (free) */
	__u32 reserved;	   /* in: 0 */
	__u64 bus_addr;	   /* out (alloc) */
	__u64 mmap_offset; /* out (alloc) */
};
#define CSX_KH_DMA_MAX 256u

/*
 * CSX_KH_IOC_INTR_ATTACH: register the helper's generic ISR for the
 * claimed device. Attaching does not turn bus mastering on, and an MSI is
 * a memory write of the device: MSI interrupts arrive only after
 * CSX_KH_IOC_ENABLE(1). On each interrupt the generic ISR, knowing nothing of the
 * device: for INTx, checks the interrupt-status bit (not ours on a shared
 * line: IRQ_NONE) and masks the line with the INTx-disable bit; for MSI
 * masks nothing. It reads the snapshot register if one was asked for,
 * counts the interrupt and wakes the process's waiter. The device stays
 * masked (INTx) until the process ends the interrupt (CSX_KH_WAIT_UNMASK).
 * Watchdog: if an interrupt stays un-ended for @watchdog_ms (0: module
 * parameter "watchdog_ms"), the helper disables the interrupt line and
 * logs it; the process's next CSX_KH_WAIT_UNMASK re-enables it and sees
 * CSX_KH_EV_WATCHDOG.
 * Errors: -ENXIO, -EBUSY (attached already), -ENODEV (@mode not offered by
 * the device), -EINVAL (snapshot outside a memory BAR, misaligned, width).
 */
struct csx_kh_intr_attach {
	__u32 size;	   /* in */
	__u32 mode;	   /* in: CSX_KH_MODE_* */
	__u32 snap_bar;	   /* in: BAR of the snapshot register */
	__u32 snap_width;  /* in: 0 (no snapshot), 1, 2, 4 or 8 bytes */
	__u64 snap_offset; /* in: offset in snap_bar, aligned to width */
	__u32 watchdog_ms; /* in */
	__u32 is_msi;	   /* out: 1 MSI, 0 INTx */
	__u32 irq;	   /* out: Linux interrupt number (for logs) */
	__u32 reserved;	   /* in: 0 */
};
#define CSX_KH_MODE_ANY 0u  /* MSI if offered, else INTx */
#define CSX_KH_MODE_MSI 1u  /* MSI or -ENODEV */
#define CSX_KH_MODE_INTX 2u /* INTx or -ENODEV */

/*
 * CSX_KH_IOC_INTR_WAIT: the user wait thread's one system call per
 * interrupt. With CSX_KH_WAIT_UNMASK it first ends the previous interrupt
 * (INTx: clears INTx-disable; should the device still assert its line the
 * helper keeps it masked and reports a new interrupt at once, as a level
 * line would). Then it returns at once if interrupts arrived since the
 * last wait, else sleeps until one does, CSX_KH_IOC_INTR_KICK is called,
 * @timeout_ms passes (0: no limit) or a signal arrives.
 * Returns 0 with @events saying why; -ETIMEDOUT; -EINTR (signal); -ENXIO,
 * -ENOTCONN (no interrupt attached). One waiter at a time (-EBUSY).
 */
struct csx_kh_intr_wait {
	__u32 size;	  /* in */
	__u32 flags;	  /* in: CSX_KH_WAIT_* */
	__u32 timeout_ms; /* in */
	__u32 events;	  /* out: CSX_KH_EV_* */
	__u64 count;	  /* out: interrupts delivered so far, ever */
	__u64 snapshot;	  /* out: snapshot register at the last one */
};
#define CSX_KH_WAIT_UNMASK 0x1u	  /* end the previous interrupt first */
#define CSX_KH_WAIT_NONBLOCK 0x2u /* never sleep: -ETIMEDOUT if none */
#define CSX_KH_EV_INTR 0x1u	  /* interrupts arrived: run the ISR */
#define CSX_KH_EV_KICK 0x2u	  /* CSX_KH_IOC_INTR_KICK woke us */
#define CSX_KH_EV_WATCHDOG 0x4u	  /* the watchdog fired since the last wait */

/* CSX_KH_IOC_INTR_STATUS: counters, for tests and diagnostics. */
struct csx_kh_intr_status {
	__u32 size;	 /* in */
	__u32 masked;	 /* out: 1 while the helper holds the line masked */
	__u64 isr_calls; /* out: generic ISR entries */
	__u64 delivered; /* out: interrupts claimed as ours */
	__u64 not_ours;	 /* out: shared-line calls that were not ours */
	__u64 watchdog_trips; /* out */
};

/*
 * CSX_KH_IOC_RELEASE: give the claimed device back, as closing the file
 * does. Errors: -ENXIO (nothing claimed), -EBUSY (a mapping of this file
 * is still live: munmap(2) it first). Should the PCI core take the device
 * away (e.g. sysfs unbind), the helper revokes the file's mappings (later
 * accesses get SIGBUS) and frees its interrupt and DMA memory; ioctls on
 * the claim then return -ENODEV, CSX_KH_IOC_RELEASE still works.
 */
/*
 * Service calls, user → kernel: a process calls a service a kernel module
 * exported with csx_service_export() (csx.ko's registry), as csx_call()
 * does in-process. Any open file, no device claim and no privilege needed
 * (the services decide what they offer); at most CSX_KH_SVC_MAX channels
 * per file, closed with the file.
 *
 * CSX_KH_IOC_SVC_OPEN: open @name (NUL-terminated, "module/service") at
 * @min_version or newer. Errors: -ENOENT (no such kernel service, or csx.ko
 * not loaded), -EPROTO (older than @min_version), -EMFILE (channel limit),
 * -EINVAL (name not terminated or malformed).
 */
#define CSX_KH_SVC_NAME_MAX 64
#define CSX_KH_SVC_MAX 64u
struct csx_kh_svc_open {
	__u32 size;			/* in */
	__u32 min_version;		/* in */
	__u32 version;			/* out: the service's version */
	__u32 handle;			/* out: for CALL and CLOSE */
	char name[CSX_KH_SVC_NAME_MAX]; /* in */
};

/*
 * CSX_KH_IOC_SVC_CALL: one synchronous call. The helper copies @in_len
 * bytes from @in_ptr, runs the service's handler in this thread (kernel
 * thread context, may sleep), and copies the response (@out_len bytes, at
 * most @out_cap) to @out_ptr. Lengths up to CSX_KH_CALL_MAX. The ioctl
 * returns 0 when the call was made, with csx_call()'s status in @status (0
 * or a negative CSX_E* = errno value, e.g. -CSX_EPEERDIED once the module
 * withdrew the service); the ioctl itself fails only for transport errors:
 * -ENOENT (no such handle), -EINVAL, -EMSGSIZE (a length above
 * CSX_KH_CALL_MAX), -EFAULT, -ENOMEM.
 * Concurrent calls on one handle and from many threads are allowed.
 */
#define CSX_KH_CALL_MAX (1u << 20)
struct csx_kh_svc_call {
	__u32 size;	  /* in */
	__u32 handle;	  /* in */
	__u32 op;	  /* in */
	__s32 status;	  /* out: the handler's status */
	__u64 in_ptr;	  /* in: user address of the request */
	__u64 in_len;	  /* in */
	__u64 out_ptr;	  /* in: user address of the response buffer */
	__u64 out_cap;	  /* in */
	__u64 out_len;	  /* out */
	__s64 timeout_ns; /* in: as csx_call() (-1: forever) */
};

/* CSX_KH_IOC_SVC_CLOSE: close @handle; waits for its calls in progress. */
struct csx_kh_svc_close {
	__u32 size;   /* in */
	__u32 handle; /* in */
};

/*
 * CSX_KH_IOC_SVC_GONE: death notices for this file's service channels.
 * Waits until a channel opened with SVC_OPEN has lost its service (the
 * kernel module withdrew it, or was unloaded), then reports up to
 * CSX_KH_GONE_MAX such channels in @handles, each channel once. Returns
 * with @count 0 when @timeout_ns passes (-1: no bound, 0: just look) or
 * SVC_KICK wakes it. -EINTR on a signal. No privilege needed; the
 * channels stay open (their calls fail with -CSX_EPEERDIED) until
 * SVC_CLOSE.
 */
#define CSX_KH_GONE_MAX 16u
struct csx_kh_svc_gone {
	__u32 size;			/* in */
	__u32 count;			/* out: entries of @handles */
	__s64 timeout_ns;		/* in: -1 or >= 0 */
	__u32 handles[CSX_KH_GONE_MAX]; /* out */
};

/*
 * Shared buffers: kernel memory a process maps and passes by handle in a
 * call, so a large payload is not copied (csx_shbuf_alloc(), csx.ko side:
 * csx_kh_upcall.h).
 *
 * Each file has a table of shared buffers, named by @id (1.., never
 * reused while the file is open): its own (SHBUF_ALLOC) and those a
 * kernel module passed in an upcall to this file (SVC_SERVE2 grants
 * them). Any open file may use them, no device claim and no privilege
 * (as SVC_OPEN). At most CSX_KH_SHBUF_PER_FILE entries and
 * CSX_KH_SHBUF_FILE_BYTES of own buffers per file.
 *
 * CSX_KH_IOC_SHBUF_ALLOC: @length bytes (1..CSX_KH_SHBUF_MAX, rounded up
 * to pages) of zeroed kernel memory; out: @id, @length (rounded) and
 * @mmap_offset. mmap(2) it at @mmap_offset, MAP_SHARED, read-write, up to
 * @length bytes, to use it. The memory lives while the table entry or any
 * mapping of it does. Errors: -EINVAL (size, @length 0 or above the
 * maximum), -ENOSPC (table full or the file's byte limit), -ENOMEM.
 *
 * CSX_KH_IOC_SHBUF_FREE: drop entry @id (own or granted). Mappings keep
 * the memory until they are unmapped; a call using it holds it until the
 * handler returns. Errors: -ENOENT (no such id), -EINVAL (size).
 */
#define CSX_KH_SHBUF_MAX (64u << 20)
#define CSX_KH_SHBUF_PER_FILE 64u
#define CSX_KH_SHBUF_FILE_BYTES (256ull << 20)
struct csx_kh_shbuf {
	__u32 size;	   /* in */
	__u32 id;	   /* out (ALLOC), in (FREE) */
	__u64 length;	   /* in/out (ALLOC) */
	__u64 mmap_offset; /* out (ALLOC) */
};

/*
 * CSX_KH_IOC_SVC_CALL_SHBUF: SVC_CALL with the request and the response
 * in shared buffer @buf_id of this file, in place: the handler reads
 * @in_len bytes at @in_off and writes at most @out_cap bytes at @out_off
 * (windows inside the buffer; they may overlap); nothing is copied. The
 * entry is held until the handler returns, even if SHBUF_FREE or an
 * munmap() comes in between. Returns as SVC_CALL (csx_call()'s status in
 * @status, @out_len). Errors as SVC_CALL, plus -ENOENT (no such handle or
 * buffer) and -EINVAL (a window outside the buffer).
 */
struct csx_kh_svc_call_shbuf {
	__u32 size;	  /* in */
	__u32 handle;	  /* in: from SVC_OPEN */
	__u32 op;	  /* in */
	__s32 status;	  /* out: the handler's status */
	__u32 buf_id;	  /* in: shared buffer of this file */
	__u32 reserved;	  /* in: 0 */
	__u64 in_off;	  /* in */
	__u64 in_len;	  /* in */
	__u64 out_off;	  /* in */
	__u64 out_cap;	  /* in */
	__u64 out_len;	  /* out */
	__s64 timeout_ns; /* in: as csx_call() (-1: forever) */
};

/*
 * Kernel -> user calls ("upcalls"): a process exports services to kernel
 * modules through its helper file, and serves the calls they make.
 *
 * CSX_KH_IOC_SVC_EXPORT: make @name (a service this process exported with
 * csx_service_export_scope(), scope @scope: 1 USER or 2 PUBLIC) visible to
 * kernel modules; their csx_open() of the name then reaches this file. A
 * kernel module is privileged: both scopes let it in. Needs the privilege
 * of CSX_KH_IOC_CLAIM (answering kernel modules' calls is trusted work).
 * A kernel module exporting the same name is not a conflict: kernel
 * callers find csx.ko's own services first, so it shadows this export for
 * them. The export lives until SVC_UNEXPORT or the file's release (exit,
 * SIGKILL): then every kernel caller waiting on this file returns
 * -CSX_EPEERDIED at once. At most CSX_KH_EXPORT_MAX per file.
 * Errors: -EPERM (not privileged), -EEXIST (this or another file exports
 * the name), -ENOSPC, -EINVAL (bad name or scope).
 */
#define CSX_KH_EXPORT_MAX 64u
struct csx_kh_svc_export {
	__u32 size;			/* in */
	__u32 version;			/* in: the service's version */
	__u32 scope;			/* in: 1 USER, 2 PUBLIC */
	__u32 handle;			/* out: names the export in SERVE */
	char name[CSX_KH_SVC_NAME_MAX]; /* in */
};

/*
 * CSX_KH_IOC_SVC_EXPORT_OPTS: SVC_EXPORT with the operations a kernel
 * caller may re-issue if this process dies while they are pending (bit n:
 * op n; csx_service_opts.idempotent). A kernel channel whose exporter died
 * then re-opens the name, waiting for the restarted process to export it
 * again. Same rules and errors as SVC_EXPORT.
 */
struct csx_kh_svc_export_opts {
	__u32 size;			/* in */
	__u32 version;			/* in: the service's version */
	__u32 scope;			/* in: 1 USER, 2 PUBLIC */
	__u32 handle;			/* out: names the export in SERVE */
	char name[CSX_KH_SVC_NAME_MAX]; /* in */
	__u64 idempotent;		/* in: re-issuable ops */
};

/*
 * CSX_KH_IOC_SVC_UNEXPORT: withdraw an export. Calls queued for it and not
 * taken yet fail with -CSX_EPEERDIED; calls taken by SERVE may still be
 * answered. Later calls on kernel channels still open to it fail with
 * -CSX_EPEERDIED (also if the name is exported again: a channel belongs
 * to one export); later opens find the name gone (-CSX_ENOENT) or the new
 * export. Errors: -ENOENT (no such handle).
 */
struct csx_kh_svc_unexport {
	__u32 size;   /* in */
	__u32 handle; /* in: from SVC_EXPORT */
};

/*
 * CSX_KH_IOC_SVC_SERVE: answer the previous upcall (if @reply_id != 0) and
 * wait for the next one, in one system call. Any number of threads may
 * serve one file; each upcall goes to exactly one of them, oldest first.
 * No privilege needed: only a file that exported something gets calls.
 *
 * Reply (in): @reply_id from an earlier SERVE of this file, the handler's
 * @reply_status (0 or a negative CSX_E*), and @reply_len bytes at
 * @reply_ptr (at most the call's @out_cap). A reply to a call whose caller
 * gave up (timeout) or that is unknown is dropped silently: the ioctl goes
 * on to wait. A reply that cannot be right fails the call with -CSX_EIO
 * (and one log line) and the ioctl goes on: longer than @out_cap, or a
 * @reply_status above 0 or below -4095. One that cannot be read
 * (@reply_ptr) fails the call with -CSX_EIO and the ioctl with -EFAULT.
 *
 * Wait (in): the request lands in @req_ptr, which must hold @req_cap >=
 * CSX_KH_CALL_MAX bytes; @timeout_ns bounds the wait (-1: forever, 0: poll).
 * Out: @req_id (for the next reply; never 0), @handle (which export),
 * @op, @req_len, @out_cap (the caller's response capacity). @req_id 0
 * means no request: the wait timed out or SVC_KICK woke it (the ioctl
 * returns 0 then). A request that cannot be written to @req_ptr or whose
 * structure cannot be written back fails with -CSX_EIO for its caller,
 * and the ioctl with -EFAULT.
 * Reply only: @req_ptr 0 and @req_cap 0 deliver the reply and return at
 * once with @req_id 0, so a thread can answer its last call and leave.
 *
 * Errors: -EINTR (a signal; a reply in the same call was delivered first),
 * -EFAULT, -ENOMEM (no memory for the reply: the call fails with
 * -CSX_ENOMEM), -EINVAL (size, @req_cap too small, @timeout_ns below -1).
 */
struct csx_kh_svc_serve {
	__u32 size;	    /* in */
	__s32 reply_status; /* in */
	__u64 reply_id;	    /* in: 0, or the request answered */
	__u64 reply_ptr;    /* in */
	__u64 reply_len;    /* in */
	__u64 req_ptr;	    /* in: request buffer */
	__u64 req_cap;	    /* in: >= CSX_KH_CALL_MAX */
	__s64 timeout_ns;   /* in */
	__u64 req_id;	    /* out: 0: nothing (timeout, kick) */
	__u32 handle;	    /* out: the export called */
	__u32 op;	    /* out */
	__u64 req_len;	    /* out */
	__u64 out_cap;	    /* out */
};

/*
 * CSX_KH_IOC_SVC_SERVE2: SVC_SERVE that can also take calls whose payloads
 * lie in a shared buffer (a kernel module's csx_call_shbuf()). The fields
 * up to @out_cap are SVC_SERVE's, with the same rules; then:
 *
 * Out, with a request: @buf_id 0: the payload is inline, as SVC_SERVE.
 * Otherwise the call's payloads are in shared buffer @buf_id of this
 * file's table (granted to this file the first time a call carries it):
 * @buf_len bytes, mmap(2) at CSX_KH_MMAP_SHBUF(@buf_id) (MAP_SHARED,
 * read-write, @buf_len bytes); the request is @req_len bytes at @in_off,
 * the response window @out_cap bytes at @out_off (both inside the
 * buffer); @req_ptr receives nothing. Its reply gives @reply_len (at most
 * @out_cap) and no data (@reply_ptr is ignored): the handler wrote the
 * window in place.
 *
 * Out, always: @gone_count entries of @gone: ids of granted buffers the
 * kernel module freed since the last SERVE2 of this file; they are no
 * longer in the table (their ids are not reused), so the process should
 * munmap() them (the memory goes with the last mapping). A file that
 * serves with the old SVC_SERVE never gets shared-buffer calls: they fail
 * with -CSX_EOPNOTSUPP for their caller.
 */
#define CSX_KH_SERVE_GONE_MAX 8u
struct csx_kh_svc_serve2 {
	__u32 size;			   /* in */
	__s32 reply_status;		   /* in */
	__u64 reply_id;			   /* in: 0, or the request answered */
	__u64 reply_ptr;		   /* in (inline replies) */
	__u64 reply_len;		   /* in */
	__u64 req_ptr;			   /* in: request buffer */
	__u64 req_cap;			   /* in: >= CSX_KH_CALL_MAX */
	__s64 timeout_ns;		   /* in */
	__u64 req_id;			   /* out: 0: nothing (timeout, kick) */
	__u32 handle;			   /* out: the export called */
	__u32 op;			   /* out */
	__u64 req_len;			   /* out */
	__u64 out_cap;			   /* out */
	__u32 buf_id;			   /* out: 0, or the shared buffer */
	__u32 gone_count;		   /* out: entries of @gone */
	__u64 buf_len;			   /* out */
	__u64 in_off;			   /* out */
	__u64 out_off;			   /* out */
	__u32 gone[CSX_KH_SERVE_GONE_MAX]; /* out */
};

#define CSX_KH_IOC_VERSION _IOWR(CSX_KH_IOC_MAGIC, 0x00, struct csx_kh_version)
#define CSX_KH_IOC_CLAIM _IOWR(CSX_KH_IOC_MAGIC, 0x01, struct csx_kh_claim)
#define CSX_KH_IOC_RELEASE _IO(CSX_KH_IOC_MAGIC, 0x02)
#define CSX_KH_IOC_REGION _IOWR(CSX_KH_IOC_MAGIC, 0x03, struct csx_kh_region)
#define CSX_KH_IOC_CFG_READ _IOWR(CSX_KH_IOC_MAGIC, 0x04, struct csx_kh_cfg)
#define CSX_KH_IOC_CFG_WRITE _IOW(CSX_KH_IOC_MAGIC, 0x05, struct csx_kh_cfg)
#define CSX_KH_IOC_ENABLE _IOW(CSX_KH_IOC_MAGIC, 0x06, struct csx_kh_enable)
#define CSX_KH_IOC_DMA_ALLOC _IOWR(CSX_KH_IOC_MAGIC, 0x07, struct csx_kh_dma)
#define CSX_KH_IOC_DMA_FREE _IOW(CSX_KH_IOC_MAGIC, 0x08, struct csx_kh_dma)
#define CSX_KH_IOC_INTR_ATTACH \
	_IOWR(CSX_KH_IOC_MAGIC, 0x09, struct csx_kh_intr_attach)
#define CSX_KH_IOC_INTR_DETACH _IO(CSX_KH_IOC_MAGIC, 0x0a)
#define CSX_KH_IOC_INTR_WAIT \
	_IOWR(CSX_KH_IOC_MAGIC, 0x0b, struct csx_kh_intr_wait)
#define CSX_KH_IOC_INTR_KICK _IO(CSX_KH_IOC_MAGIC, 0x0c)
#define CSX_KH_IOC_INTR_STATUS \
	_IOWR(CSX_KH_IOC_MAGIC, 0x0d, struct csx_kh_intr_status)
#define CSX_KH_IOC_SVC_OPEN \
	_IOWR(CSX_KH_IOC_MAGIC, 0x10, struct csx_kh_svc_open)
#define CSX_KH_IOC_SVC_CALL \
	_IOWR(CSX_KH_IOC_MAGIC, 0x11, struct csx_kh_svc_call)
#define CSX_KH_IOC_SVC_CLOSE \
	_IOW(CSX_KH_IOC_MAGIC, 0x12, struct csx_kh_svc_close)
#define CSX_KH_IOC_SVC_EXPORT \
	_IOWR(CSX_KH_IOC_MAGIC, 0x13, struct csx_kh_svc_export)
#define CSX_KH_IOC_SVC_UNEXPORT \
	_IOW(CSX_KH_IOC_MAGIC, 0x14, struct csx_kh_svc_unexport)
#define CSX_KH_IOC_SVC_SERVE \
	_IOWR(CSX_KH_IOC_MAGIC, 0x15, struct csx_kh_svc_serve)
/*
 * CSX_KH_IOC_SVC_KICK: wake every SERVE of this file that waits now (it
 * returns 0 with req_id 0 unless it finds a request queued). A SERVE
 * entered after the kick is not woken: to stop a pool of threads, set
 * their stop flag first, then kick until they are gone (or give SERVE a
 * bounded @timeout_ns). No privilege needed.
 */
#define CSX_KH_IOC_SVC_KICK _IO(CSX_KH_IOC_MAGIC, 0x16)
#define CSX_KH_IOC_SVC_EXPORT_OPTS \
	_IOWR(CSX_KH_IOC_MAGIC, 0x17, struct csx_kh_svc_export_opts)
#define CSX_KH_IOC_SVC_GONE \
	_IOWR(CSX_KH_IOC_MAGIC, 0x18, struct csx_kh_svc_gone)

#define CSX_KH_IOC_SHBUF_ALLOC \
	_IOWR(CSX_KH_IOC_MAGIC, 0x19, struct csx_kh_shbuf)
#define CSX_KH_IOC_SHBUF_FREE _IOW(CSX_KH_IOC_MAGIC, 0x1a, struct csx_kh_shbuf)
#define CSX_KH_IOC_SVC_CALL_SHBUF \
	_IOWR(CSX_KH_IOC_MAGIC, 0x1b, struct csx_kh_svc_call_shbuf)
#define CSX_KH_IOC_SVC_SERVE2 \
	_IOWR(CSX_KH_IOC_MAGIC, 0x1c, struct csx_kh_svc_serve2)
/*
 * mmap(2) offsets: what CSX_KH_IOC_REGION and CSX_KH_IOC_DMA_ALLOC return.
 * Callers use the returned values; the layout is here so both sides agree.
 */
#define CSX_KH_MMAP_BAR_BASE (1ull << 40)
#define CSX_KH_MMAP_DMA_BASE (2ull << 40)
#define CSX_KH_MMAP_BAR(i) (CSX_KH_MMAP_BAR_BASE + ((__u64)(i) << 32))
#define CSX_KH_MMAP_DMA(id) (CSX_KH_MMAP_DMA_BASE + ((__u64)(id) << 32))
#define CSX_KH_MMAP_SHBUF_BASE (3ull << 40)
#define CSX_KH_MMAP_SHBUF(id) (CSX_KH_MMAP_SHBUF_BASE + ((__u64)(id) << 27))

#endif /* CSX_KH_ABI_H */
