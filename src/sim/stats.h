/* SPDX-License-Identifier: MIT */
/*
 * sim/stats.h - bumping the counters of /proc/vmstat and of the per-size
 * stats/ directories (stats.c names them).
 */
#ifndef MTHP_SIM_STATS_H
#define MTHP_SIM_STATS_H

#include <stdint.h>

#include "sim/world.h"

static inline void count_vm(struct sim *sim, enum sim_vmstat_item item)
{
	__atomic_fetch_add(&sim->vmstat[item], 1, __ATOMIC_RELAXED);
}
static inline void count_mthp(struct sim *sim, unsigned order,
			      enum sim_mthp_item item)
{
	__atomic_fetch_add(&sim->mthp_stat[order][item], 1, __ATOMIC_RELAXED);
}
static inline void mod_mthp(struct sim *sim, unsigned order,
			    enum sim_mthp_item item, int64_t delta)
{
	__atomic_fetch_add(&sim->mthp_stat[order][item], (uint64_t)delta,
			   __ATOMIC_RELAXED);
}

#endif /* MTHP_SIM_STATS_H */
