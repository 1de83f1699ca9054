// SPDX-License-Identifier: MIT
/*
 * shrinker.c - the deferred split shrinker: its underused-THP half
 * (Linux 6.12 and later, kept by 7.2) and its partially mapped half.
 *
 * What the kernel does: a PMD-sized anon folio is put on the deferred
 * split queue when it is first mapped by a PMD, at fault and by a PMD
 * collapse (khugepaged or MADV_COLLAPSE), if shrink_underused is on then;
 * no smaller folio is queued that way.  When the shrinkers run (memory
 * pressure, a memory cgroup at its limit, or 2 written to
 * /proc/sys/vm/drop_caches), each queued folio that is "underused" is
 * split: more than max_ptes_none of its pages are zero-filled (never
 * when max_ptes_none is N-1).  The split maps each zero-filled page to
 * the shared zero page and frees it; thp_underused_split_page counts the
 * folios split.  A folio whose split fails (a reference held elsewhere)
 * is dropped from the queue.
 *
 * Here the queue is a page flag on the folio's head (PG_DEFERRED), and a
 * run finds the queued folios by walking the page tables of every mm
 * under its mmap_lock for read, where the kernel walks its queue and
 * reaches the mappings through the rmap.  A folio mapped in more than
 * one place (shared after fork, or PTE-mapped across two tables) is left
 * queued.
 *
 * The other half: a large anon folio of any order that an unmap leaves
 * mapped in part (MADV_DONTNEED or munmap of some of its pages) goes on
 * the same queue as partially mapped (PG_PARTIAL, folio.c), keeping all
 * its pages, and a run splits it: its unmapped pages are freed and its
 * zero-filled ones mapped to the zero page, as every split of an anon
 * folio does (split_maps_zero()).  A folio mapped from two tables or by
 * two mms is left queued.  The preview (sim_shrink_preview()) counts the
 * underused folios only.
 */
#include <errno.h>

#include "sim/check.h"
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pageout.h"
#include "sim/pgtable.h"
#include "sim/shrinker.h"
#include "sim/stats.h"
#include "sim/vma.h"
#include "sim/world.h"

void shrinker_queue(struct sim *sim, uint32_t head)
{
	if (sim_settings(sim)->shrink_underused &&
	    !folio_test_flag(sim, head, PG_SWAPCACHE) &&
	    !(__atomic_fetch_or(&sim_pg(sim, head)->flags, PG_DEFERRED, __ATOMIC_RELAXED) &
	      PG_DEFERRED))
		__atomic_fetch_add(&sim->nr_deferred, 1, __ATOMIC_RELAXED);
}

/*
 * Is the deferred split queue empty: no underused candidate and no
 * partially mapped folio?  Then a run of the shrinker has nothing to do,
 * as the kernel's finds an empty list, and need not walk the page tables.
 */
static bool queue_empty(struct sim *sim)
{
	if (ld_relaxed(&sim->nr_deferred))
		return false;
	for (unsigned o = 0; o <= sim->geo.pmd_order; o++)
		if (ld_relaxed(&sim->mthp_stat[o][MS_NR_ANON_PARTIALLY_MAPPED]))
			return false;
	return true;
}

/* More than max_ptes_none zero-filled pages, as thp_underused() decides. */
static bool underused(struct sim *sim, uint32_t head)
{
	uint32_t n = sim->geo.ptes_per_pmd, none = sim_settings(sim)->max_ptes_none;
	uint32_t zero = 0, filled = 0;

	if (none >= n - 1)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (page_tag(sim, head + i) == 0) {
			if (++zero > none)
				return true;
		} else if (++filled >= n - none) {
			return false;
		}
	}
	return false;
}

/* Its zero-filled pages. */
static uint32_t zero_pages(struct sim *sim, uint32_t head)
{
	uint32_t zero = 0;

	for (uint32_t i = 0; i < sim->geo.ptes_per_pmd; i++)
		zero += page_tag(sim, head + i) == 0;
	return zero;
}

/* What splitting an underused folio would do, counted without doing it. */
static void count_preview(struct sim *sim, uint32_t head, struct sim_shrink_result *res)
{
	res->split++;
	res->pages_freed += zero_pages(sim, head);
}

/* A queued PMD-order folio of the cgroup asked for (any when memcg < 0). */
static bool candidate(struct sim *sim, uint32_t head, int memcg)
{
	const struct sim_page *h = sim_pg(sim, head);

	return (ld_relaxed(&h->flags) & (PG_HEAD | PG_DEFERRED)) == (PG_HEAD | PG_DEFERRED) &&
	       ld_relaxed(&h->order) == sim->geo.pmd_order &&
	       (memcg < 0 || ld_relaxed(&h->memcg) == (unsigned)memcg);
}

/*
 * Split the folio t maps whole, and map its
 * zero-filled pages to the zero page, freeing them.  Context: PTE lock of
 * t held.
 */
static void split_here(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head,
		       struct sim_shrink_result *res)
{
	struct sim *sim = mm->sim;
	uint32_t n = sim->geo.ptes_per_pmd, freed;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	folio_dequeue_deferred(sim, head);	/* off the queue, split or not */
	if (folio_split(sim, head, 0))
		return;
	count_vm(sim, VM_THP_UNDERUSED_SPLIT_PAGE);
	res->split++;
	freed = split_maps_zero(mm, t, head, n);
	res->pages_freed += freed;
	__atomic_fetch_add(&sim->shrink_freed, freed, __ATOMIC_RELAXED);
}

/*
 * The partially mapped half: split each partially mapped folio of the
 * cgroup (any when memcg < 0) that t maps and nothing else does, freeing
 * its unmapped pages and mapping its zero-filled ones to the zero page.
 * Context: PTE lock of t held.
 */
static void split_partial_here(struct sim_mm *mm, struct sim_pte_table *t, int memcg,
			       struct sim_shrink_result *res)
{
	struct sim *sim = mm->sim;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = 0; i < sim->geo.ptes_per_pmd; i++) {
		uint32_t pte = t->ptes[i], head, nr, mapped;
		int zero;

		if (!pte_present(pte) || pte_pfn(pte) == sim->pm.zero_pfn)
			continue;
		head = folio_head(sim, pte_pfn(pte));
		if (!folio_test_flag(sim, head, PG_PARTIAL) ||
		    (memcg >= 0 && sim_pg(sim, head)->memcg != (unsigned)memcg))
			continue;
		nr = 1u << sim_pg(sim, head)->order;
		mapped = folio_mapcount(sim, head);
		if (folio_maybe_shared(sim, head) || ptes_mapping(sim, t, head) != mapped)
			continue;	/* left queued */
		zero = split_folio_here(mm, t, head);
		if (zero < 0)
			continue;
		res->split++;
		res->pages_freed += nr - mapped + (uint32_t)zero;
	}
}

/*
 * The queued folio mapped whole by t, from its first PTE, if there is one.
 * Context: PTE lock of t held.
 */
static bool table_candidate(struct sim_mm *mm, struct sim_pte_table *t, int memcg,
			    uint32_t *head)
{
	struct sim *sim = mm->sim;
	uint32_t pte = t->ptes[0], n = sim->geo.ptes_per_pmd;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (!pte_present(pte) || pte_pfn(pte) == sim->pm.zero_pfn)
		return false;
	*head = pte_pfn(pte);
	return candidate(sim, *head, memcg) && !folio_maybe_shared(sim, *head) &&
	       folio_whole_here(sim, t, 0, 0, n - 1, *head);
}

/*
 * The PMD range at addr: a PMD-mapped queued folio has its PMD split
 * first (as split_folio() unmaps it), then, mapped whole by one table,
 * the folio is split if it is underused; and the partially mapped folios
 * of its table are split.  whole: the range lies in one VMA (else only
 * the partially mapped half looks at it).  preview: count what splitting
 * the underused folios would split and free, changing nothing.
 * Context: mmap_lock held for read; takes the PMD and PTE locks.
 */
static int shrink_range(struct sim_mm *mm, uint64_t addr, bool whole, int memcg,
			bool preview, struct sim_shrink_result *res)
{
	struct sim *sim = mm->sim;
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;
	uint64_t *pmdp;
	uint32_t head;
	int err;

	switch (pmd_lookup_kind(mm, addr, &pmdp, &pmdt, &t)) {
	case MTHP_PMD_NONE:
	case MTHP_PMD_ZERO:
		return 0;
	case MTHP_PMD_HUGE: {
		uint64_t pmd = ld_acquire(pmdp);

		head = (uint32_t)pmd_pfn(pmd);
		if (!whole || !candidate(sim, head, memcg) || folio_maybe_shared(sim, head))
			return 0;
		if (preview) {
			if (underused(sim, head))
				count_preview(sim, head, res);
			return 0;
		}
		if (!underused(sim, head)) {
			folio_dequeue_deferred(sim, head);
			return 0;
		}
		err = pmd_split_table(mm, pmdp, pmdt, pmd, &t);
		if (err || !t)
			return err;
		break;
	}
	case MTHP_PMD_TABLE:
		break;
	}
	if (preview && !whole)
		return 0;
	pte_lock(t);
	if (!preview)
		split_partial_here(mm, t, memcg, res);
	if (whole && table_candidate(mm, t, memcg, &head)) {
		if (!underused(sim, head)) {
			if (!preview)
				folio_dequeue_deferred(sim, head);
		} else if (preview) {
			count_preview(sim, head, res);
		} else {
			split_here(mm, t, head, res);
		}
	}
	pte_unlock(t);
	return 0;
}

/* Context: no lock held; takes the world lock, then mmap_lock for read. */
static int shrink_mm(struct sim_mm *mm, int memcg, bool preview,
		     struct sim_shrink_result *res)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo);
	int err = 0;

	world_enter(sim);
	mmap_read_lock(mm);
	for (size_t i = 0; !err && !ld_relaxed(&mm->exiting) && i < mm->nr_vmas; i++) {
		const struct sim_vma *v = &mm->vmas[i];

		for (uint64_t a = v->start & ~(pmd_size - 1); !err && a < v->end; a += pmd_size)
			err = shrink_range(mm, a, a >= v->start && a + pmd_size <= v->end,
					   memcg, preview, res);
	}
	mmap_unlock(mm);
	world_exit(sim);
	return err;
}

/* Context: no lock held; takes the mm list lock, then each mm's (shrink_mm). */
static int shrink(struct sim *sim, int memcg, bool preview, struct sim_shrink_result *res)
{
	struct sim_mm **mms;
	size_t nr;
	int err;

	lockdep_assert_none_held();
	*res = (struct sim_shrink_result){ 0 };
	if (!preview && queue_empty(sim))
		return 0;
	err = mm_list_get(sim, &mms, &nr);
	for (size_t i = 0; i < nr && !err; i++)
		err = shrink_mm(mms[i], memcg, preview, res);
	mm_list_put(mms, nr);
	if (!err)
		sim_debug_check(sim);
	return err;
}

/* Context: no lock held. */
int sim_shrink(struct sim *sim, int memcg, struct sim_shrink_result *res)
{
	return shrink(sim, memcg, false, res);
}

/* Context: no lock held. */
int sim_shrink_preview(struct sim *sim, struct sim_shrink_result *res)
{
	return shrink(sim, -1, true, res);
}

uint64_t sim_shrink_freed(struct sim *sim)
{
	return ld_relaxed(&sim->shrink_freed);
}
