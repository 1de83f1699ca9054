// SPDX-License-Identifier: MIT
/*
 * memcg.c - memory cgroups: a page limit and an atomic usage per cgroup.
 * A charge that would pass the limit fails with -ENOMEM and changes
 * nothing.  Cgroup 0 is the root and has no limit.
 */
#include <errno.h>

#include "sim/locks.h"
#include "sim/memcg.h"
#include "sim/world.h"

int memcg_charge(struct sim *sim, unsigned memcg, uint64_t nr)
{
	struct sim_memcg *cg = &sim->memcgs[memcg];
	uint64_t limit = ld_relaxed(&cg->limit);
	uint64_t old = ld_relaxed(&cg->usage);

	do {
		if (old + nr > limit)
			return -ENOMEM;
	} while (!__atomic_compare_exchange_n(&cg->usage, &old, old + nr, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 0;
}

void memcg_uncharge(struct sim *sim, unsigned memcg, uint64_t nr)
{
	__atomic_fetch_sub(&sim->memcgs[memcg].usage, nr, __ATOMIC_RELAXED);
}

int sim_memcg_create(struct sim *sim, uint64_t limit_pages, unsigned *id)
{
	int err = -ENOSPC;

	memcg_lock(sim);
	for (unsigned i = 1; i < SIM_MAX_MEMCGS; i++) {
		if (sim->memcgs[i].used)
			continue;
		sim->memcgs[i].used = true;
		st_relaxed(&sim->memcgs[i].limit, limit_pages);
		st_relaxed(&sim->memcgs[i].usage, 0);
		*id = i;
		err = 0;
		break;
	}
	memcg_unlock(sim);
	return err;
}

int sim_memcg_set_limit(struct sim *sim, unsigned id, uint64_t limit_pages)
{
	if (id == 0 || id >= SIM_MAX_MEMCGS || !sim->memcgs[id].used)
		return -EINVAL;
	st_relaxed(&sim->memcgs[id].limit, limit_pages);
	return 0;
}

uint64_t sim_memcg_usage(struct sim *sim, unsigned id)
{
	if (id >= SIM_MAX_MEMCGS)
		return 0;
	return ld_relaxed(&sim->memcgs[id].usage);
}
