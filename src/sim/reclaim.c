// SPDX-License-Identifier: MIT
/*
 * reclaim.c - direct reclaim, when an allocation or a memory cgroup's
 * charge finds no memory: the shrinkers (shrinker.c), then the swap-out
 * of anon folios that are not referenced.
 *
 * What the kernel does: the allocator's and the charge's direct reclaim
 * (try_to_free_pages(), try_to_free_mem_cgroup_pages()) asks for at least
 * SWAP_CLUSTER_MAX (32) pages.  It scans the LRU lists of the node or of
 * the cgroup from their cold end: folio_referenced() reads and clears
 * the young bits of a folio's mappings; a referenced anon folio is kept
 * (activated), an unreferenced one is unmapped to swap entries and
 * written to swap (a large folio whole when the swap device has room for
 * it in a row, else split first, thp_swpout_fallback).  The slab
 * shrinkers, the deferred split one among them, run in the same pass.
 *
 * Here: the shrinkers run first, and the swap-out only when they freed
 * less than asked, memory is still short and the machine has swap room
 * (a large allocation that fails for want of a free block of its size
 * pages nothing out: the kernel compacts).  The simulator has no LRU
 * list; the swap-out walks the page tables instead, as the multi-gen
 * LRU's aging walks them, from a clock hand (an mm and an address) that
 * moves on over every mm's VMAs in turn and wraps around: a folio whose
 * PTE is young has its young bits cleared and is passed over, an old one
 * is paged out as MADV_PAGEOUT pages it out (pageout.c).  Two turns at
 * most, so every folio is found old by the second if not touched again
 * meanwhile.  A PMD-mapped THP is old when its PMD is; its PMD is split
 * before it goes to swap whole, as try_to_unmap() splits it.  Folios that
 * may be mapped by another process, locked or pinned are passed over.
 * With the swap area full, or none, nothing is paged out.  No page cache,
 * no OOM killer: a reclaim that frees nothing leaves the allocation
 * failing.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/check.h"
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pageout.h"
#include "sim/pgtable.h"
#include "sim/swap.h"
#include "sim/vma.h"
#include "sim/world.h"

/* Reclaim's least request, in pages: the kernel's SWAP_CLUSTER_MAX. */
#define RECLAIM_BATCH 32

struct reclaim_walk {
	int memcg;
	uint64_t want;
	uint64_t freed;
};

/*
 * A PMD-mapped THP charged to the cgroup: young, its PMD made old and the
 * folio kept (false); old, the PMD split so that the table can page it
 * out (true, *tp the table).  Context: mmap_lock held for read; takes and
 * drops the PMD lock.
 */
static bool reclaim_huge(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
			 const struct reclaim_walk *w, struct sim_pte_table **tp, int *err)
{
	struct sim *sim = mm->sim;
	uint64_t pmd = ld_acquire(pmdp);
	uint32_t head = pmd_pfn(pmd);

	if ((pmd & PMD_ZERO) ||
	    (w->memcg >= 0 && sim_pg(sim, head)->memcg != (unsigned)w->memcg) ||
	    folio_maybe_shared(sim, head))
		return false;
	if (pmd & PMD_YOUNG) {
		pmd_lock(pmdt);
		pmd = ld_acquire(pmdp);
		if (pmd_is_huge(pmd))
			st_release(pmdp, pmd & ~PMD_YOUNG);
		pmd_unlock(pmdt);
		return false;
	}
	*err = pmd_split_table(mm, pmdp, pmdt, pmd, tp);
	return !*err && *tp;
}

/*
 * One PMD range of mm, at addr.  Context: mmap_lock held for read; takes
 * and drops the PMD lock and the PTE lock of the table.
 */
static int reclaim_range(struct sim_mm *mm, uint64_t addr, struct reclaim_walk *w)
{
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;
	uint64_t *pmdp;
	int err = 0;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_READ);
	switch (pmd_lookup_kind(mm, addr, &pmdp, &pmdt, &t)) {
	case MTHP_PMD_NONE:
	case MTHP_PMD_ZERO:
		return 0;
	case MTHP_PMD_HUGE:
		if (!reclaim_huge(mm, pmdp, pmdt, w, &t, &err))
			return err;
		break;
	case MTHP_PMD_TABLE:
		break;
	}
	pte_lock(t);
	reclaim_ptes(mm, t, w->memcg, w->want, &w->freed);
	pte_unlock(t);
	return 0;
}

/*
 * The PMD ranges of mm from the one at *from on, until the walk has freed
 * what it wants: then *done, and *from is the range it stopped in; else
 * *from is 0, for the next mm.  Context: no lock held; takes the world
 * lock, then mmap_lock for read.
 */
static int reclaim_mm(struct sim_mm *mm, uint64_t *from, struct reclaim_walk *w, bool *done)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo);
	int err = 0;

	*done = false;
	world_enter(sim);
	mmap_read_lock(mm);
	for (size_t i = 0; !err && !*done && !ld_relaxed(&mm->exiting) && i < mm->nr_vmas; i++) {
		const struct sim_vma *v = &mm->vmas[i];
		uint64_t a = v->start & ~(pmd_size - 1);

		if (a < *from)
			a = *from;
		for (; !err && a < v->end; a += pmd_size) {
			err = reclaim_range(mm, a, w);
			if (w->freed >= w->want) {
				*from = a;
				*done = true;
				break;
			}
		}
	}
	mmap_unlock(mm);
	world_exit(sim);
	if (!*done)
		*from = 0;
	return err;
}

static int by_id(const void *a, const void *b)
{
	const struct sim_mm *x = *(struct sim_mm *const *)a, *y = *(struct sim_mm *const *)b;

	return (x->id > y->id) - (x->id < y->id);
}

/*
 * Page out old folios of the cgroup from the clock hand on, two turns at
 * most.  Context: no lock held; takes the mm list lock, then each mm's.
 */
static int swap_out(struct sim *sim, struct reclaim_walk *w)
{
	uint32_t hand_mm = ld_relaxed(&sim->reclaim_hand.mm_id);
	uint64_t from = ld_relaxed(&sim->reclaim_hand.addr);
	struct sim_mm **mms;
	size_t nr, first = 0;
	bool done = false;
	int err;

	err = mm_list_get(sim, &mms, &nr);
	if (!err && nr) {
		qsort(mms, nr, sizeof(*mms), by_id);
		while (first < nr && mms[first]->id < hand_mm)
			first++;
		if (first == nr || mms[first]->id != hand_mm) {
			first %= nr;
			from = 0;
		}
		/* the hand's mm from the hand, then two whole turns */
		for (size_t k = 0; !err && !done && k <= 2 * nr; k++) {
			struct sim_mm *mm = mms[(first + k) % nr];

			err = reclaim_mm(mm, &from, w, &done);
			if (done) {
				st_relaxed(&sim->reclaim_hand.mm_id, mm->id);
				st_relaxed(&sim->reclaim_hand.addr, from);
			}
		}
	}
	mm_list_put(mms, nr);
	return err;
}

/*
 * Is memory short for want pages: the cgroup's usage too near its limit,
 * or the machine's free pages too few?  An allocation of a large folio
 * may fail with free pages enough, none of them in a free block of its
 * size: the kernel compacts then, which the simulator does not model,
 * and does not page out.  Context: no lock held; takes and drops the
 * zone lock.
 */
static bool short_of_memory(struct sim *sim, int memcg, uint64_t want)
{
	if (memcg >= 0)
		return sim_memcg_usage(sim, (unsigned)memcg) + want >
		       ld_relaxed(&sim->memcgs[memcg].limit);
	return sim_free_pages(sim) < want;
}

/* Context: no lock held. */
int sim_reclaim(struct sim *sim, int memcg, uint64_t want, struct sim_shrink_result *res)
{
	struct reclaim_walk w = { .memcg = memcg };
	int err;

	lockdep_assert_none_held();
	w.want = want > RECLAIM_BATCH ? want : RECLAIM_BATCH;
	err = sim_shrink(sim, memcg, res);
	if (err || res->pages_freed >= w.want || !swap_free_slots(&sim->swap) ||
	    !short_of_memory(sim, memcg, want))
		return err;
	w.freed = res->pages_freed;
	err = swap_out(sim, &w);
	res->paged_out = w.freed - res->pages_freed;
	res->pages_freed = w.freed;
	__atomic_fetch_add(&sim->reclaim_paged_out, res->paged_out, __ATOMIC_RELAXED);
	if (!err)
		sim_debug_check(sim);
	return err;
}

uint64_t sim_reclaim_paged_out(struct sim *sim)
{
	return ld_relaxed(&sim->reclaim_paged_out);
}
