// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * The public CSX API, exported from csx.ko to driver modules.
 *
 * The portable core is compiled into csx.ko unchanged and knows nothing of
 * modules, so the exports live here. scripts/check-port-contract.sh
 * --exports checks this list against the public headers (build.sh runs it).
 */
#include <linux/export.h>

#include <csx/csx.h>
#include <csx/csx_os.h>

/* csx.h */
EXPORT_SYMBOL_GPL(csx_api_version);
EXPORT_SYMBOL_GPL(csx_backend_name);

/* csx_context.h */
EXPORT_SYMBOL_GPL(csx_in_isr);
EXPORT_SYMBOL_GPL(csx_in_dpc);
EXPORT_SYMBOL_GPL(csx_in_atomic);
EXPORT_SYMBOL_GPL(csx_ctx_violations);
EXPORT_SYMBOL_GPL(csx_ctx_set_strict);

/* csx_device.h */
EXPORT_SYMBOL_GPL(csx_driver_register);
EXPORT_SYMBOL_GPL(csx_driver_unregister);
EXPORT_SYMBOL_GPL(csx_dev_name);
EXPORT_SYMBOL_GPL(csx_dev_unit);
EXPORT_SYMBOL_GPL(csx_dev_set_drvdata);
EXPORT_SYMBOL_GPL(csx_dev_get_drvdata);
EXPORT_SYMBOL_GPL(csx_bar_size);
EXPORT_SYMBOL_GPL(csx_read8);
EXPORT_SYMBOL_GPL(csx_read16);
EXPORT_SYMBOL_GPL(csx_read32);
EXPORT_SYMBOL_GPL(csx_read64);
EXPORT_SYMBOL_GPL(csx_write8);
EXPORT_SYMBOL_GPL(csx_write16);
EXPORT_SYMBOL_GPL(csx_write32);
EXPORT_SYMBOL_GPL(csx_write64);
EXPORT_SYMBOL_GPL(csx_pci_cfg_read);
EXPORT_SYMBOL_GPL(csx_pci_cfg_write);
EXPORT_SYMBOL_GPL(csx_dma_alloc);
EXPORT_SYMBOL_GPL(csx_dma_free);
EXPORT_SYMBOL_GPL(csx_dma_cpu);
EXPORT_SYMBOL_GPL(csx_dma_bus);
EXPORT_SYMBOL_GPL(csx_dma_size);

/* csx_dpc.h */
EXPORT_SYMBOL_GPL(csx_dpc_create);
EXPORT_SYMBOL_GPL(csx_dpc_destroy);
EXPORT_SYMBOL_GPL(csx_dpc_queue);
EXPORT_SYMBOL_GPL(csx_dpc_cancel);
EXPORT_SYMBOL_GPL(csx_dpc_flush);
EXPORT_SYMBOL_GPL(csx_dpc_stats);

/* csx_intr.h */
EXPORT_SYMBOL_GPL(csx_intr_attach);
EXPORT_SYMBOL_GPL(csx_intr_attach_soft);
EXPORT_SYMBOL_GPL(csx_intr_raise);
EXPORT_SYMBOL_GPL(csx_intr_detach);
EXPORT_SYMBOL_GPL(csx_intr_disable);
EXPORT_SYMBOL_GPL(csx_intr_restore);
EXPORT_SYMBOL_GPL(csx_intr_set_spin);
EXPORT_SYMBOL_GPL(csx_intr_stats);
EXPORT_SYMBOL_GPL(csx_intr_is_msi);

/* csx_log.h */
EXPORT_SYMBOL_GPL(csx_log);
EXPORT_SYMBOL_GPL(csx_vlog);
EXPORT_SYMBOL_GPL(csx_log_set_level);

/* csx_mem.h */
EXPORT_SYMBOL_GPL(csx_alloc);
EXPORT_SYMBOL_GPL(csx_free);

/* csx_service.h */
EXPORT_SYMBOL_GPL(csx_service_export);
EXPORT_SYMBOL_GPL(csx_service_export_scope);
EXPORT_SYMBOL_GPL(csx_service_export_opts);
EXPORT_SYMBOL_GPL(csx_service_unexport);
EXPORT_SYMBOL_GPL(csx_open);
EXPORT_SYMBOL_GPL(csx_chan_version);
EXPORT_SYMBOL_GPL(csx_call);
EXPORT_SYMBOL_GPL(csx_call_async);
EXPORT_SYMBOL_GPL(csx_chan_watch);
EXPORT_SYMBOL_GPL(csx_chan_set_recovery);
EXPORT_SYMBOL_GPL(csx_shbuf_alloc);
EXPORT_SYMBOL_GPL(csx_shbuf_addr);
EXPORT_SYMBOL_GPL(csx_shbuf_size);
EXPORT_SYMBOL_GPL(csx_shbuf_free);
EXPORT_SYMBOL_GPL(csx_call_shbuf);
EXPORT_SYMBOL_GPL(csx_call_shbuf_async);
EXPORT_SYMBOL_GPL(csx_close);
/*
 * For csx_helper.ko, opening a service on behalf of a user process and
 * running its calls whose payloads lie in a shared buffer.
 */
EXPORT_SYMBOL_GPL(csx__service_open_for);
EXPORT_SYMBOL_GPL(csx__call_for);
EXPORT_SYMBOL_GPL(csx__call_mapped);

/* csx_state.h */
EXPORT_SYMBOL_GPL(csx_state_open);
EXPORT_SYMBOL_GPL(csx_state_origin);
EXPORT_SYMBOL_GPL(csx_state_version);
EXPORT_SYMBOL_GPL(csx_state_generation);
EXPORT_SYMBOL_GPL(csx_state_data);
EXPORT_SYMBOL_GPL(csx_state_commit);
EXPORT_SYMBOL_GPL(csx_state_close);

/* csx_status.h */
EXPORT_SYMBOL_GPL(csx_strerror);
EXPORT_SYMBOL_GPL(csx_status_name);

/* csx_sync.h */
EXPORT_SYMBOL_GPL(csx_mutex_create);
EXPORT_SYMBOL_GPL(csx_mutex_destroy);
EXPORT_SYMBOL_GPL(csx_mutex_lock);
EXPORT_SYMBOL_GPL(csx_mutex_trylock);
EXPORT_SYMBOL_GPL(csx_mutex_unlock);
EXPORT_SYMBOL_GPL(csx_spin_create);
EXPORT_SYMBOL_GPL(csx_spin_destroy);
EXPORT_SYMBOL_GPL(csx_spin_lock);
EXPORT_SYMBOL_GPL(csx_spin_unlock);
EXPORT_SYMBOL_GPL(csx_rwlock_create);
EXPORT_SYMBOL_GPL(csx_rwlock_destroy);
EXPORT_SYMBOL_GPL(csx_rwlock_read);
EXPORT_SYMBOL_GPL(csx_rwlock_write);
EXPORT_SYMBOL_GPL(csx_rwlock_unlock);
EXPORT_SYMBOL_GPL(csx_event_create);
EXPORT_SYMBOL_GPL(csx_event_destroy);
EXPORT_SYMBOL_GPL(csx_event_set);
EXPORT_SYMBOL_GPL(csx_event_reset);
EXPORT_SYMBOL_GPL(csx_event_wait);
EXPORT_SYMBOL_GPL(csx_sem_create);
EXPORT_SYMBOL_GPL(csx_sem_destroy);
EXPORT_SYMBOL_GPL(csx_sem_up);
EXPORT_SYMBOL_GPL(csx_sem_down);

/* csx_thread.h */
EXPORT_SYMBOL_GPL(csx_thread_create);
EXPORT_SYMBOL_GPL(csx_thread_join);
EXPORT_SYMBOL_GPL(csx_thread_sleep);
EXPORT_SYMBOL_GPL(csx_thread_yield);
EXPORT_SYMBOL_GPL(csx_cpu_current);
EXPORT_SYMBOL_GPL(csx_cpu_count);
EXPORT_SYMBOL_GPL(csx_time_ns);

/* csx_timer.h */
EXPORT_SYMBOL_GPL(csx_timer_create);
EXPORT_SYMBOL_GPL(csx_timer_start);
EXPORT_SYMBOL_GPL(csx_timer_stop);
EXPORT_SYMBOL_GPL(csx_timer_destroy);
