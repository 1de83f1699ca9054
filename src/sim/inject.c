// SPDX-License-Identifier: MIT
/*
 * inject.c - fault injection into the collapse: the per-point rates, the
 * seeded draws that decide when a point fires, the count of faults
 * injected, and the race function the racing mutations call (those are
 * inject_race.c's).  Where each point sits in the collapse, and what it
 * fails with, is collapse.c's (see its drawing).
 */
#include <errno.h>

#include "common/rng.h"
#include "sim/inject.h"
#include "sim/locks.h"
#include "sim/world.h"

/*
 * Each point's name, and the point as a step of a deterministic
 * schedule's timeline.
 */
static const struct {
	const char *name, *step;
} inject_points[SIM_NR_INJECT] = {
	[SIM_INJECT_ALLOC] = { "alloc", "injection point: alloc" },
	[SIM_INJECT_CHARGE] = { "charge", "injection point: charge" },
	[SIM_INJECT_REVALIDATE] = { "revalidate", "injection point: revalidate" },
	[SIM_INJECT_LRU] = { "lru", "injection point: lru" },
	[SIM_INJECT_MUNMAP] = { "munmap", "injection point: munmap race" },
	[SIM_INJECT_MREMAP] = { "mremap", "injection point: mremap race" },
	[SIM_INJECT_FORK] = { "fork", "injection point: fork race" },
	[SIM_INJECT_COPY_MC] = { "copy_mc", "injection point: copy_mc" },
	[SIM_INJECT_RMAP] = { "rmap", "injection point: rmap walk" },
	[SIM_INJECT_SWAPIN] = { "swapin", "injection point: swapin retry" },
	[SIM_INJECT_MIGRATE] = { "migrate", "injection point: migrate walk" },
};

void inject_init(struct sim *sim)
{
	sim->inject.seed = sim->seed;
}

const char *sim_inject_name(enum sim_inject_point p)
{
	return (unsigned)p < SIM_NR_INJECT ? inject_points[p].name : NULL;
}

int sim_inject_set(struct sim *sim, enum sim_inject_point p, uint32_t one_in)
{
	if ((unsigned)p >= SIM_NR_INJECT)
		return -EINVAL;
	st_relaxed(&sim->inject.one_in[p], one_in);
	return 0;
}

void sim_inject_seed(struct sim *sim, uint64_t seed)
{
	st_relaxed(&sim->inject.seed, seed);
	st_relaxed(&sim->inject.counter, 0);
}

uint64_t sim_inject_fired(struct sim *sim, enum sim_inject_point p)
{
	if ((unsigned)p >= SIM_NR_INJECT)
		return 0;
	return ld_relaxed(&sim->inject.fired[p]);
}

void sim_inject_set_race(struct sim *sim, sim_race_fn fn, void *ctx)
{
	st_relaxed(&sim->inject.race_ctx, ctx);
	st_config(&sim->inject.race_fn, fn);
}

/* The next value of the injection seed's stream: one draw, any thread. */
static uint64_t inject_draw(struct sim *sim)
{
	uint64_t n = __atomic_fetch_add(&sim->inject.counter, 1, __ATOMIC_RELAXED);

	return mthp_rng_at(ld_relaxed(&sim->inject.seed), n);
}

bool inject_fail(struct sim *sim, enum sim_inject_point p)
{
	uint32_t one_in = ld_relaxed(&sim->inject.one_in[p]);

	if (sched_is_det())
		sched_step(inject_points[p].step);
	if (!one_in)
		return false;
	if (one_in > 1 && inject_draw(sim) % one_in)
		return false;
	__atomic_fetch_add(&sim->inject.fired[p], 1, __ATOMIC_RELAXED);
	return true;
}

