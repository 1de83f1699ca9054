/* SPDX-License-Identifier: MIT */
/*
 * sim/physmem.h - physical memory (physmem.c): the buddy allocator over
 * the frame array of struct sim_physmem (world.h).
 */
#ifndef MTHP_SIM_PHYSMEM_H
#define MTHP_SIM_PHYSMEM_H

#include <stdint.h>

#include "sim/world.h"

int physmem_init(struct sim_physmem *pm, uint64_t nr_frames, unsigned max_order);
void physmem_destroy(struct sim_physmem *pm);
/* Context: takes and drops the zone lock. */
int physmem_alloc(struct sim_physmem *pm, unsigned order, uint32_t *pfn);
/* Context: takes and drops the zone lock. */
void physmem_free(struct sim_physmem *pm, uint32_t pfn, unsigned order);
/* Context: takes and drops the zone lock.  Free n blocks, in order, under it once. */
void physmem_free_many(struct sim_physmem *pm, const uint32_t *pfns, const uint8_t *orders,
		       uint32_t n);
int physmem_check(struct sim *sim, uint8_t *seen);

#endif /* MTHP_SIM_PHYSMEM_H */
