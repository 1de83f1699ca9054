// SPDX-License-Identifier: MIT
/*
 * world.c - the simulator's global state: the settings (published as
 * immutable versions under the settings lock), the page geometry, the
 * simulated clock, the deterministic random numbers, and the world lock
 * of debug builds that every operation enters.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/rng.h"
#include "sim/locks.h"
#include "sim/world.h"

const struct mthp_settings *sim_settings(struct sim *sim)
{
	return &((struct sim_settings_node *)ld_config(&sim->settings))->s;
}

/* Context: takes and drops the settings lock. */
int sim_set_settings(struct sim *sim, const struct mthp_settings *s)
{
	struct sim_settings_node *n = malloc(sizeof(*n));

	if (!n)
		return -ENOMEM;
	if (s->geo.ptes_per_pmd != sim->geo.ptes_per_pmd) {
		free(n);
		return -EINVAL;
	}
	n->s = *s;
	settings_lock(sim);
	n->prev = sim->settings;
	st_config(&sim->settings, n);
	settings_unlock(sim);
	return 0;
}

void sim_get_settings(struct sim *sim, struct mthp_settings *s)
{
	*s = *sim_settings(sim);
}

/* Context: takes and drops the settings lock (twice). */
int sim_set_knob(struct sim *sim, const char *knob, const char *value)
{
	struct mthp_settings s;
	int err;

	settings_lock(sim);
	s = sim->settings->s;
	settings_unlock(sim);
	err = mthp_settings_set(&s, knob, value, NULL, 0);
	return err ? err : sim_set_settings(sim, &s);
}

void sim_set_read_fault_alloc(struct sim *sim, bool alloc)
{
	st_relaxed(&sim->read_fault_alloc, alloc);
}

void sim_set_swap_device(struct sim *sim, enum sim_swap_device dev)
{
	st_relaxed(&sim->swap_device, dev);
}

void sim_set_policy_plugin(struct sim *sim, const struct mthp_policy_plugin *p)
{
	sim->plugin = p;
}

const struct mthp_geometry *sim_geometry(const struct sim *sim)
{
	return &sim->geo;
}

uint64_t sim_now(struct sim *sim)
{
	return ld_relaxed(&sim->clock_ns);
}

void sim_advance(struct sim *sim, uint64_t ns)
{
	__atomic_fetch_add(&sim->clock_ns, ns, __ATOMIC_RELAXED);
}

/* The next value of the seed's stream, shared by all threads. */
uint64_t sim_random(struct sim *sim)
{
	uint64_t n = __atomic_fetch_add(&sim->rng_counter, 1, __ATOMIC_RELAXED);

	return mthp_rng_at(sim->seed, n);
}

/*
 * Context: no lock held (every operation starts here, so this asserts
 * that no simulator function is entered from under a simulator lock);
 * takes the world lock for read in debug builds.
 */
void world_enter(struct sim *sim)
{
#if MTHP_DEBUG
	lockdep_assert_none_held();
	rw_read_lock_at(&sim->world_lock, LOCK_WORLD, sim, __FILE__, __LINE__);
#else
	(void)sim;
#endif
}

/* Context: the world lock held for read, and nothing else; drops it. */
void world_exit(struct sim *sim)
{
#if MTHP_DEBUG
	lockdep_assert_held(LOCK_WORLD, sim, LOCK_READ);
	if (lockdep_depth() != 1)
		lockdep_assert_none_held();	/* reports the lock left held */
	rw_unlock_at(&sim->world_lock, LOCK_WORLD, sim, __FILE__, __LINE__);
#else
	(void)sim;
#endif
}
