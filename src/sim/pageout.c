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
 * Split for page-out (its zero-filled pages to the zero page, counted in
 * *freed); 0: retry the PTE, 1: skip it.  Context: PTE lock of t, which
 * maps the folio, held.
 */
static uint32_t pageout_split(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head,
			      uint64_t *freed)
{
	int zero;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	zero = split_folio_here(mm, t, head);
	if (zero < 0)
		return 1;
	*freed += (uint32_t)zero;
	return 0;
}

/*
 * Context: PTE lock of t held.  Page out the folio mapped at PTE i; *freed
 * gains the pages that freed.  Returns the number of PTEs consumed, or 0
 * when the folio was split and PTE i should be tried again.
 */
static uint32_t pageout_one(struct sim_mm *mm, struct sim_pte_table *t,
			    uint32_t i, uint32_t first, uint32_t last, uint64_t *freed)
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
		return pageout_split(mm, t, head, freed);
	if (swap_out_whole(mm, t, idx, head)) {
		*freed += nr;
		return nr;
	}
	if (!order)
		return 1;	/* swap is full */
	count_mthp(sim, order, MS_SWPOUT_FALLBACK);
	if (order == sim->geo.pmd_order)
		count_vm(sim, VM_THP_SWPOUT_FALLBACK);
	return pageout_split(mm, t, head, freed);
}

/* Context: PTE lock of t held. */
void pageout_ptes(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		  uint32_t last)
{
	uint64_t freed = 0;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = first; i <= last;) {
		uint32_t used = pageout_one(mm, t, i, first, last, &freed);

		if (used == 0)
			used = pageout_one(mm, t, i, first, last, &freed);
		i += used ? used : 1;
	}
}

/*
 * The PTEs of t that map the folio at head from PTE idx on (where a folio
 * mapped in order has them), counted when young, their young bits
 * cleared.  Context: PTE lock of t held.
 */
static uint32_t test_clear_young(struct sim *sim, struct sim_pte_table *t, uint32_t idx,
				 uint32_t head)
{
	uint32_t nr = 1u << sim_pg(sim, head)->order, young = 0;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t k = 0; k < nr && idx + k < sim->geo.ptes_per_pmd; k++) {
		uint32_t pte = t->ptes[idx + k];

		if (!pte_present(pte) || pte_pfn(pte) != head + k || !(pte & PTE_YOUNG))
			continue;
		young++;
		st_relaxed(&t->ptes[idx + k], pte & ~PTE_YOUNG);
	}
	return young;
}

void reclaim_ptes(struct sim_mm *mm, struct sim_pte_table *t, int memcg, uint64_t want,
		  uint64_t *freed)
{
	struct sim *sim = mm->sim;
	uint32_t n = sim->geo.ptes_per_pmd;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = 0; i < n && *freed < want;) {
		uint32_t pte = t->ptes[i], pfn = pte_pfn(pte), head, idx, used;

		if (!pte_present(pte) || pfn == sim->pm.zero_pfn) {
			i++;
			continue;
		}
		head = folio_head(sim, pfn);
		idx = pfn - head > i ? i : i - (pfn - head);
		if (memcg >= 0 && sim_pg(sim, head)->memcg != (unsigned)memcg) {
			i++;
			continue;
		}
		if (test_clear_young(sim, t, idx, head)) {
			/* referenced: kept, and old at the next pass (past
			 * its PTEs, which are old now) */
			i = idx + (1u << sim_pg(sim, head)->order);
			continue;
		}
		used = pageout_one(mm, t, i, 0, n - 1, freed);
		if (used == 0)
			used = pageout_one(mm, t, i, 0, n - 1, freed);
		i += used ? used : 1;
	}
}
