// SPDX-License-Identifier: MIT
/*
 * inject_race.c - fault injection's racing mutations: munmap, mremap away
 * and back, or fork of the PMD range, run from the collapsing thread
 * between a range's scan and a window's collapse, through the public
 * operations (so above fork, mremap and mm in the layers).
 */
#include <errno.h>

#include "sim/inject.h"
#include "sim/inject_race.h"
#include "sim/locks.h"
#include "sim/world.h"

int sim_inject_race(struct sim_mm *mm, uint64_t pmd_addr,
		    enum sim_inject_point what, struct sim_mm **child)
{
	uint64_t pmd_size = mthp_pmd_size(&mm->sim->geo), away = 0, back = pmd_addr;
	int err;

	*child = NULL;
	switch (what) {
	case SIM_INJECT_MUNMAP:
		return sim_munmap(mm, pmd_addr, pmd_size);
	case SIM_INJECT_MREMAP:
		err = sim_mremap(mm, pmd_addr, pmd_size, &away);
		if (err)
			return err;
		return sim_mremap(mm, away, pmd_size, &back);
	case SIM_INJECT_FORK:
		return sim_fork(mm, child);
	case SIM_INJECT_ALLOC:
	case SIM_INJECT_CHARGE:
	case SIM_INJECT_REVALIDATE:
	case SIM_INJECT_LRU:
	case SIM_INJECT_COPY_MC:
	case SIM_INJECT_RMAP:
	case SIM_INJECT_SWAPIN:
	case SIM_INJECT_MIGRATE:
	case SIM_NR_INJECT:
		break;
	}
	return -EINVAL;
}

struct sim_mm *inject_race_point(struct sim_mm *mm, uint64_t pmd_addr)
{
	static const enum sim_inject_point races[] = {
		SIM_INJECT_MUNMAP, SIM_INJECT_MREMAP, SIM_INJECT_FORK,
	};
	struct sim *sim = mm->sim;
	struct sim_mm *child = NULL;

	lockdep_assert_not_held(LOCK_MMAP, NULL);
	lockdep_assert_not_held(LOCK_WORLD, NULL);
	for (unsigned i = 0; i < sizeof(races) / sizeof(races[0]); i++) {
		sim_race_fn fn;

		if (!inject_fail(sim, races[i]))
			continue;
		fn = ld_config(&sim->inject.race_fn);
		if (fn)
			fn(ld_relaxed(&sim->inject.race_ctx), mm, pmd_addr, races[i], &child);
		else
			sim_inject_race(mm, pmd_addr, races[i], &child);
		break;
	}
	return child;
}
