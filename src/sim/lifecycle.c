// SPDX-License-Identifier: MIT
/*
 * lifecycle.c - creating and destroying a simulator: the geometry from the
 * page size, physical memory, swap, the settings, the root cgroup, the
 * locks, and each subsystem's state (trace, injection, khugepaged).
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/inject.h"
#include "sim/khugepaged.h"
#include "sim/locks.h"
#include "sim/physmem.h"
#include "sim/gup.h"
#include "sim/rmap.h"
#include "sim/swap.h"
#include "sim/trace.h"
#include "sim/world.h"

int sim_create(struct sim **out, const struct sim_config *cfg,
	       const struct mthp_settings *settings)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	unsigned max_order;
	int err;

	if (!sim)
		return -ENOMEM;
	err = mthp_geometry_from_page_size(&sim->geo, cfg->page_size);
	if (err || settings->geo.ptes_per_pmd != sim->geo.ptes_per_pmd) {
		err = -EINVAL;
		goto out_free;
	}
	sim->page_shift = (unsigned)__builtin_ctz(cfg->page_size);
	sim->pmd_shift = sim->page_shift + sim->geo.pmd_order;
	sim->top_entries = 1u << (SIM_VA_BITS - sim->pmd_shift - 18);
	max_order = sim->geo.pmd_order > 10 ? sim->geo.pmd_order : 10;
	err = physmem_init(&sim->pm, cfg->nr_frames, max_order);
	if (err)
		goto out_free;
	err = swap_init(&sim->swap, cfg->nr_swap_slots);
	if (err)
		goto out_physmem;
	sim->settings = calloc(1, sizeof(*sim->settings));
	if (!sim->settings) {
		err = -ENOMEM;
		goto out_swap;
	}
	sim->settings->s = *settings;
	sim->read_fault_alloc = cfg->read_fault_alloc;
	sim->foreign_folios = cfg->foreign_folios;
	sim->swap_device = cfg->swap_device;
	sim->seed = cfg->seed;
	sim->memcgs[0] = (struct sim_memcg){ .limit = UINT64_MAX, .used = true };
	pthread_mutex_init(&sim->settings_lock, NULL);
	pthread_mutex_init(&sim->memcg_lock, NULL);
	pthread_mutex_init(&sim->mm_list_lock, NULL);
	pthread_rwlock_init(&sim->world_lock, NULL);
	sim->next_mm_id = 1;
	sim->check_interval = 1;
	trace_init(sim);
	inject_init(sim);
	khugepaged_init(sim);
	*out = sim;
	return 0;
out_swap:
	swap_destroy(&sim->swap);
out_physmem:
	physmem_destroy(&sim->pm);
out_free:
	free(sim);
	return err;
}

void sim_destroy(struct sim *sim)
{
	struct sim_settings_node *n = sim->settings;

	if (!sim)
		return;
	gup_destroy(sim);
	rmap_destroy(sim);
	khugepaged_destroy(sim);
	trace_destroy(sim);
	while (n) {
		struct sim_settings_node *prev = n->prev;

		free(n);
		n = prev;
	}
	pthread_mutex_destroy(&sim->settings_lock);
	pthread_mutex_destroy(&sim->memcg_lock);
	pthread_mutex_destroy(&sim->mm_list_lock);
	pthread_rwlock_destroy(&sim->world_lock);
	swap_destroy(&sim->swap);
	physmem_destroy(&sim->pm);
	free(sim);
}
