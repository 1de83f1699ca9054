/* SPDX-License-Identifier: MIT */
/*
 * sim/swap.h - the swap area (swap.c): slots holding a content tag and
 * the count of swap PTEs that refer to them, under the swap lock.
 */
#ifndef MTHP_SIM_SWAP_H
#define MTHP_SIM_SWAP_H

#include <stdint.h>

#include "sim/world.h"

int swap_init(struct sim_swap *sw, uint64_t nr_slots);
void swap_destroy(struct sim_swap *sw);
/* The slots no swap entry holds.  Context: takes and drops the swap lock. */
uint64_t swap_free_slots(struct sim_swap *sw);
/* Context: takes and drops the swap lock. */
int swap_alloc(struct sim_swap *sw, unsigned order, uint32_t *slot);
void swap_dup(struct sim_swap *sw, uint32_t slot);
void swap_free(struct sim_swap *sw, uint32_t slot);
uint64_t swap_tag(struct sim_swap *sw, uint32_t slot);
void swap_set_tag(struct sim_swap *sw, uint32_t slot, uint64_t tag);
uint32_t swap_count(struct sim_swap *sw, uint32_t slot);

#endif /* MTHP_SIM_SWAP_H */
