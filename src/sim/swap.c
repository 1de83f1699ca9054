// SPDX-License-Identifier: MIT
/*
 * swap.c - the swap area: slots holding a content tag and a count of the
 * swap PTEs that refer to them, under the swap lock.  Swapping mapped
 * pages out and in is pageout.c's.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/locks.h"
#include "sim/swap.h"
#include "sim/world.h"

int swap_init(struct sim_swap *sw, uint64_t nr_slots)
{
	sw->nr_slots = nr_slots ? nr_slots + 1 : 0;
	sw->nr_used = 0;
	sw->cursor = 1;
	sw->slots = NULL;
	if (nr_slots >= (1ull << SIM_SLOT_BITS) - 1)
		return -EINVAL;
	if (nr_slots) {
		sw->slots = calloc(sw->nr_slots, sizeof(*sw->slots));
		if (!sw->slots)
			return -ENOMEM;
	}
	pthread_mutex_init(&sw->lock, NULL);
	return 0;
}

void swap_destroy(struct sim_swap *sw)
{
	pthread_mutex_destroy(&sw->lock);
	free(sw->slots);
}

/* Context: takes and drops the swap lock. */
uint64_t swap_free_slots(struct sim_swap *sw)
{
	uint64_t n;

	if (!sw->nr_slots)
		return 0;
	swap_lock(sw);
	n = sw->nr_slots - 1 - sw->nr_used;
	swap_unlock(sw);
	return n;
}

/* Context: swap lock held.  Is the aligned run at s free? */
static bool run_free(struct sim_swap *sw, uint64_t s, uint32_t nr)
{
	lockdep_assert_held(LOCK_SWAP, sw, LOCK_WRITE);
	if (s == 0 || s + nr > sw->nr_slots)
		return false;
	for (uint32_t i = 0; i < nr; i++)
		if (sw->slots[s + i].count)
			return false;
	return true;
}

/* Context: takes and drops the swap lock. */
int swap_alloc(struct sim_swap *sw, unsigned order, uint32_t *slot)
{
	uint32_t nr = 1u << order;
	int err = -ENOSPC;

	lockdep_assert_not_held(LOCK_SWAP, sw);
	if (!sw->nr_slots)
		return -ENOSPC;
	swap_lock(sw);
	for (uint64_t n = 0; n < sw->nr_slots; n += nr) {
		uint64_t s = ((sw->cursor + n) % sw->nr_slots) & ~(uint64_t)(nr - 1);

		if (!run_free(sw, s, nr))
			continue;
		for (uint32_t i = 0; i < nr; i++)
			sw->slots[s + i].count = 1;
		sw->nr_used += nr;
		sw->cursor = s + nr;
		*slot = (uint32_t)s;
		err = 0;
		break;
	}
	swap_unlock(sw);
	return err;
}

/* Context: takes and drops the swap lock. */
void swap_dup(struct sim_swap *sw, uint32_t slot)
{
	lockdep_assert_not_held(LOCK_SWAP, sw);
	swap_lock(sw);
	sw->slots[slot].count++;
	swap_unlock(sw);
}

/* Context: takes and drops the swap lock. */
void swap_free(struct sim_swap *sw, uint32_t slot)
{
	lockdep_assert_not_held(LOCK_SWAP, sw);
	swap_lock(sw);
	if (--sw->slots[slot].count == 0) {
		sw->slots[slot].tag = 0;
		sw->nr_used--;
	}
	swap_unlock(sw);
}

/* A copy of the slot, read under the swap lock.  Context: takes and drops it. */
static struct sim_swap_slot slot_read(struct sim_swap *sw, uint32_t slot)
{
	struct sim_swap_slot s;

	lockdep_assert_not_held(LOCK_SWAP, sw);
	swap_lock(sw);
	s = sw->slots[slot];
	swap_unlock(sw);
	return s;
}

/* Context: takes and drops the swap lock. */
uint64_t swap_tag(struct sim_swap *sw, uint32_t slot)
{
	return slot_read(sw, slot).tag;
}

/* Context: takes and drops the swap lock. */
void swap_set_tag(struct sim_swap *sw, uint32_t slot, uint64_t tag)
{
	lockdep_assert_not_held(LOCK_SWAP, sw);
	swap_lock(sw);
	sw->slots[slot].tag = tag;
	swap_unlock(sw);
}

/* Context: takes and drops the swap lock. */
uint32_t swap_count(struct sim_swap *sw, uint32_t slot)
{
	return slot_read(sw, slot).count;
}

