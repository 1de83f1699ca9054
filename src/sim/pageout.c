// SPDX-License-Identifier: MIT
/*
 * pageout.c - swap-out of whole folios into contiguous slots
 * (MADV_PAGEOUT; clean lazyfree folios are dropped instead).  Swap-in is
 * the fault path's (fault.c).
 */
#include <errno.h>

#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/pageout.h"
#include "sim/pgtable.h"
#include "sim/stats.h"
#include "sim/swap.h"
#include "sim/vma.h"
#include "sim/world.h"

/* Context: PTE lock of t held.  Is the folio mapped whole, in order, at
 * PTE idx.. of t and nowhere else? */
bool folio_whole_here(struct sim *sim, struct sim_pte_table *t,
			     uint32_t idx, uint32_t first, uint32_t last,
			     uint32_t head)
{
	uint32_t nr = 1u << sim_pg(sim, head)->order;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (idx < first || idx > last || idx + nr - 1 > last || folio_mapcount(sim, head) != nr)
		return false;
	for (uint32_t k = 0; k < nr; k++) {
		uint32_t pte = t->ptes[idx + k];

		if (!pte_present(pte) || pte_pfn(pte) != head + k)
			return false;
	}
	return true;
}

/* Context: PTE lock of t held.  Unmap nr PTEs from idx to swap slots
 * from slot on, or to none when slot is 0 (a dropped lazyfree folio). */
static void unmap_ptes(struct sim_mm *mm, struct sim_pte_table *t, uint32_t idx,
		       uint32_t head, uint32_t nr, uint32_t slot)
{
	struct sim *sim = mm->sim;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t k = 0; k < nr; k++) {
		uint32_t pte = t->ptes[idx + k];

		if (!slot) {
			st_relaxed(&t->ptes[idx + k], 0);
			continue;
		}
		swap_set_tag(&sim->swap, slot + k, page_tag(sim, head + k));
		st_relaxed(&t->ptes[idx + k], pte_mk_swap(slot + k, pte & PTE_UFFD_WP));
		count_vm(sim, VM_PSWPOUT);
	}
	folio_remove_ptes(sim, head, nr, mm->id);
}

/*
 * Drop the folio at head, mapped whole from PTE idx of t, if it is clean
 * and lazyfree, else swap it out to contiguous slots: false when swap
 * has no room for it.  Context: PTE lock of t held.
 */
static bool swap_out_whole(struct sim_mm *mm, struct sim_pte_table *t, uint32_t idx,
			   uint32_t head)
{
	struct sim *sim = mm->sim;
	unsigned order = sim_pg(sim, head)->order;
	uint32_t nr = 1u << order, slot;
	bool clean = true;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t k = 0; k < nr; k++)
		if (t->ptes[idx + k] & PTE_DIRTY)
			clean = false;
	if (folio_test_flag(sim, head, PG_LAZYFREE) && clean) {
		unmap_ptes(mm, t, idx, head, nr, 0);
		return true;
	}
	if (swap_alloc(&sim->swap, order, &slot))
		return false;
	unmap_ptes(mm, t, idx, head, nr, slot);
	if (order)
		count_mthp(sim, order, MS_SWPOUT);
	if (order && order == sim->geo.pmd_order)
		count_vm(sim, VM_THP_SWPOUT);
	return true;
}

int pageout_folio(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head,
		  uint32_t extra)
{
	struct sim *sim = mm->sim;
	uint32_t idx;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (idx = 0; idx < sim->geo.ptes_per_pmd; idx++)
		if (pte_present(t->ptes[idx]) && pte_pfn(t->ptes[idx]) == head)
			break;
	if (idx == sim->geo.ptes_per_pmd || folio_maybe_shared(sim, head) ||
	    folio_refcount(sim, head) != folio_mapcount(sim, head) + extra ||
	    !folio_whole_here(sim, t, idx, 0, sim->geo.ptes_per_pmd - 1, head))
		return -EBUSY;
	return swap_out_whole(mm, t, idx, head) ? 0 : -ENOSPC;
}

/*
 * Split for page-out (its zero-filled pages to the zero page); 0: retry
 * the PTE, 1: skip it.  Context: PTE lock of t, which maps the folio, held.
 */
static uint32_t pageout_split(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head)
{
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	return split_folio_here(mm, t, head) < 0;
}

/*
 * Context: PTE lock of t held.  Page out the folio mapped at PTE i.
 * Returns the number of PTEs consumed, or 0 when the folio was split and
 * PTE i should be tried again.
 */
static uint32_t pageout_one(struct sim_mm *mm, struct sim_pte_table *t,
			    uint32_t i, uint32_t first, uint32_t last)
{
	struct sim *sim = mm->sim;
	uint32_t pte = t->ptes[i], pfn = pte_pfn(pte), head, nr, idx;
	unsigned order;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (!pte_present(pte) || pfn == sim->pm.zero_pfn)
		return 1;
	head = folio_head(sim, pfn);
	order = sim_pg(sim, head)->order;
	nr = 1u << order;
	if (folio_maybe_shared(sim, head) || folio_test_flag(sim, head, PG_LOCKED) ||
	    folio_refcount(sim, head) != folio_mapcount(sim, head))
		return 1;
	idx = i - (pfn - head);
	if (order && (pfn - head > i || !folio_whole_here(sim, t, idx, first, last, head)))
		return pageout_split(mm, t, head);
	if (swap_out_whole(mm, t, idx, head))
		return nr;
	if (!order)
		return 1;	/* swap is full */
	count_mthp(sim, order, MS_SWPOUT_FALLBACK);
	if (order == sim->geo.pmd_order)
		count_vm(sim, VM_THP_SWPOUT_FALLBACK);
	return pageout_split(mm, t, head);
}

/* Context: PTE lock of t held. */
void pageout_ptes(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		  uint32_t last)
{
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = first; i <= last;) {
		uint32_t used = pageout_one(mm, t, i, first, last);

		if (used == 0)
			used = pageout_one(mm, t, i, first, last);
		i += used ? used : 1;
	}
}
