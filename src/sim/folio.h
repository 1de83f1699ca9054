/* SPDX-License-Identifier: MIT */
/*
 * sim/folio.h - folios on the frame array (folio.c): allocation, counts,
 * flags, splitting and content tags.
 */
#ifndef MTHP_SIM_FOLIO_H
#define MTHP_SIM_FOLIO_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/locks.h"
#include "sim/world.h"

static inline uint32_t folio_head(const struct sim *sim, uint32_t pfn)
{
	return pfn & ~((1u << sim->pm.pages[pfn].order) - 1);
}
static inline struct sim_page *sim_pg(struct sim *sim, uint32_t pfn)
{
	return &sim->pm.pages[pfn];
}
int folio_alloc(struct sim *sim, unsigned order, uint32_t *head);
int folio_charge(struct sim *sim, uint32_t head, unsigned memcg);
/*
 * A new anonymous folio: allocated, charged to memcg, on the LRU and
 * counted in nr_anon; on a failed charge nothing is left allocated.
 */
int anon_folio_new(struct sim *sim, unsigned order, unsigned memcg, uint32_t *head);
/* The same; *charge_failed (when not NULL) says the charge was refused. */
int anon_folio_alloc(struct sim *sim, unsigned order, unsigned memcg, uint32_t *head,
		     bool *charge_failed);
/* Drop n references; frees (and uncharges) the folio at zero. */
void folio_put(struct sim *sim, uint32_t head, uint32_t n);
/*
 * folio_put() of one reference of each of the n folios, in order; the
 * frames of the folios freed go back to the buddy allocator a batch at a
 * time, under one zone lock.  Context: takes and drops the zone lock.
 */
void folios_put(struct sim *sim, const uint32_t *heads, uint32_t n);
void folio_get(struct sim *sim, uint32_t head, uint32_t n);
static inline uint32_t folio_refcount(struct sim *sim, uint32_t head)
{
	return ld_acquire(&sim_pg(sim, head)->a);
}
static inline uint32_t folio_mapcount(struct sim *sim, uint32_t head)
{
	if (sim_pg(sim, head)->order == 0)
		return (uint32_t)ld_relaxed(&sim_pg(sim, head)->mapcount);
	return ld_relaxed(&sim_pg(sim, head)->b);
}
uint32_t folio_entire_mapcount(struct sim *sim, uint32_t head);
/* Map/unmap nr PTEs of pages [pfn, pfn + nr) of one folio for mm id. */
void folio_add_ptes(struct sim *sim, uint32_t pfn, uint32_t nr, uint32_t mm_id);
void folio_remove_ptes(struct sim *sim, uint32_t pfn, uint32_t nr, uint32_t mm_id);
void folio_add_pmd(struct sim *sim, uint32_t head, uint32_t mm_id);
void folio_remove_pmd(struct sim *sim, uint32_t head, uint32_t mm_id);
/* A PMD mapping becomes nr PTE mappings (split of the PMD). */
void folio_pmd_to_ptes(struct sim *sim, uint32_t head, uint32_t mm_id);
/* Context: takes and drops the folio's map lock. */
bool large_folio_maybe_shared(struct sim *sim, uint32_t head);
/*
 * Mapped by more than one mm, maybe (a third mm is not tracked).
 * Context: takes and drops the folio's map lock (a large folio).
 */
static inline bool folio_maybe_shared(struct sim *sim, uint32_t head)
{
	lockdep_assert_not_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags);
	if (sim_pg(sim, head)->order == 0)
		return ld_relaxed(&sim_pg(sim, head)->mapcount) > 1;
	return large_folio_maybe_shared(sim, head);
}
/*
 * Split a large folio into order-0 folios and free its unmapped pages.
 * extra: references the caller holds beyond the mappings, consumed on
 * success.  -EBUSY (split_failed counted) when pinned, locked, in the
 * swapcache or PMD-mapped.  Context: the PTE lock of the table holding
 * every mapping of it held; takes and drops the folio's map lock.
 */
int folio_split(struct sim *sim, uint32_t head, uint32_t extra);
void folio_set_flag(struct sim *sim, uint32_t head, uint16_t flag);
void folio_clear_flag(struct sim *sim, uint32_t head, uint16_t flag);
/*
 * Clear flag and say whether it was set, in one atomic step: of two
 * threads isolating a folio from the LRU (PG_LRU), only one wins, as
 * with the kernel's folio_test_clear_lru().
 */
bool folio_test_clear_flag(struct sim *sim, uint32_t head, uint16_t flag);
/*
 * Take the folio off the deferred split queue's underused half if it is
 * on it (PG_DEFERRED, counted in sim->nr_deferred): split, freed, or found
 * not underused.
 */
void folio_dequeue_deferred(struct sim *sim, uint32_t head);
static inline uint16_t folio_flags(struct sim *sim, uint32_t head)
{
	return ld_relaxed(&sim_pg(sim, head)->flags);
}
static inline bool folio_test_flag(struct sim *sim, uint32_t head, uint16_t flag)
{
	return folio_flags(sim, head) & flag;
}
bool folio_trylock(struct sim *sim, uint32_t head);
void folio_unlock(struct sim *sim, uint32_t head);
/* Copy nr content tags: what a collapse copies into its new folio. */
void folio_copy_tags(struct sim *sim, uint32_t dst_pfn, uint32_t src_pfn, uint32_t nr);
static inline uint64_t page_tag(struct sim *sim, uint32_t pfn)
{
	return ld_relaxed(&sim->pm.tags[pfn]);
}
static inline void page_set_tag(struct sim *sim, uint32_t pfn, uint64_t tag)
{
	st_relaxed(&sim->pm.tags[pfn], tag);
}

#endif /* MTHP_SIM_FOLIO_H */
