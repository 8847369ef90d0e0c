// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
/*
 * Kernel back end: one DPC executor per CPU, a high-priority tasklet. The
 * core queues DPCs per CPU and kicks the executor of the CPU it holds, so
 * tasklet_hi_schedule() from that CPU runs the executor there.
 */
#include <linux/bug.h>
#include <linux/interrupt.h>
#include <linux/percpu.h>
#include <linux/smp.h>

#include "csx_kernel.h"

struct csx_k_dpc_exec {
	struct tasklet_struct tasklet;
	unsigned int cpu;
};

static DEFINE_PER_CPU(struct csx_k_dpc_exec, csx_k_dpc_execs);
static bool csx_k_dpc_started;

static void csx_k_dpc_run(struct tasklet_struct *tl)
{
	struct csx_k_dpc_exec *ex =
		container_of(tl, struct csx_k_dpc_exec, tasklet);

	csx__dpc_run(ex->cpu);
}

int csx_os_dpc_start(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
	{
		struct csx_k_dpc_exec *ex = per_cpu_ptr(&csx_k_dpc_execs, cpu);

		ex->cpu = cpu;
		tasklet_setup(&ex->tasklet, csx_k_dpc_run);
	}
	csx_k_dpc_started = true;
	return 0;
}

void csx_os_dpc_stop(void)
{
	unsigned int cpu;

	if (!csx_k_dpc_started)
		return;
	/* The core queues nothing any more: wait out what is scheduled. */
	for_each_possible_cpu(cpu)
		tasklet_kill(&per_cpu_ptr(&csx_k_dpc_execs, cpu)->tasklet);
	csx_k_dpc_started = false;
}

void csx_os_dpc_kick(unsigned int cpu)
{
	/*
	 * A tasklet runs where it was scheduled. The caller holds @cpu, so
	 * that is here; anything else is a core bug, and the executor then
	 * still drains the right queue, only on this CPU.
	 */
	WARN_ON_ONCE(cpu != smp_processor_id());
	tasklet_hi_schedule(&per_cpu_ptr(&csx_k_dpc_execs, cpu)->tasklet);
}
