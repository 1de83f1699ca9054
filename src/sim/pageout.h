/* SPDX-License-Identifier: MIT */
/*
 * sim/pageout.h - swap-out of whole mapped folios (MADV_PAGEOUT,
 * reclaim's unmap) (pageout.c).
 */
#ifndef MTHP_SIM_PAGEOUT_H
#define MTHP_SIM_PAGEOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/pgtable.h"
#include "sim/vma.h"
#include "sim/world.h"

/* Context: PTE lock of t held.  Swap out or drop the folios mapped at
 * PTE indices [first, last] of t. */
void pageout_ptes(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		  uint32_t last);
/* Context: PTE lock of t held.  Is the folio mapped whole, in order, from
 * PTE idx of t, inside [first, last], and nowhere else? */
bool folio_whole_here(struct sim *sim, struct sim_pte_table *t, uint32_t idx,
		      uint32_t first, uint32_t last, uint32_t head);
/*
 * Reclaim's pass over the PTEs of t: each folio charged to memcg (any
 * when memcg < 0) is tested as folio_referenced() tests it, by the young
 * bits of its PTEs here, which are cleared: a young folio is kept (it is
 * old at the next pass), an old one paged out as MADV_PAGEOUT pages it
 * out (pageout_ptes()).  Stops once *freed, which gains the pages paged
 * out or freed by splits, reaches want.  Context: PTE lock of t held.
 */
void reclaim_ptes(struct sim_mm *mm, struct sim_pte_table *t, int memcg, uint64_t want,
		  uint64_t *freed);
/*
 * Reclaim's unmap of one folio (try_to_unmap, then swap-out): the folio
 * at head, mapped whole in t and nowhere else, with extra references
 * beyond its mappings (the caller's), dropped if clean and lazyfree, else
 * swapped out.  0; -EBUSY when it is not so mapped or has other
 * references; -ENOSPC when swap is full.  Context: PTE lock of t held.
 */
int pageout_folio(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head,
		  uint32_t extra);

#endif /* MTHP_SIM_PAGEOUT_H */
