// SPDX-License-Identifier: MIT
/*
 * collapse.c - collapsing one PMD range (collapse_scan_pmd) and one window
 * of it at one order (collapse_huge_page), for khugepaged and
 * MADV_COLLAPSE alike, with the kernel's lock protocol.  Every decision
 * is the engine's: the range is scanned with mthp_scan(), the windows come
 * from mthp_walk_next(), and the swap-in and isolate re-checks are
 * mthp_attempt_swapin() and mthp_attempt_isolate() on a fresh scan of the
 * window's PTEs in the table this code holds locked (the others read as
 * none).  Nothing here decides what to collapse.
 *
 * Invariants
 *   - A window is collapsed only while mmap_lock is held for write, its
 *     PMD entry is clear and the PTE table is detached (no fault, zap,
 *     pin or page-out can reach it), and, below PMD order, the anon_vma
 *     is locked for write until the PTEs are back (rmap walkers must not
 *     see pmd_none while folios outside the window are still mapped
 *     through the detached table).
 *   - The new folio is allocated and charged with no lock held.
 *   - Each lock's state is a boolean set on the line that takes or drops
 *     it; the unwind labels of collapse_huge_page(), named for the state
 *     they undo, release by those booleans, never by the order or the
 *     result.
 *   - Locks nest in the order written at the top of lockdep.c (world,
 *     mmap_lock, anon_vma, PMD lock, PTE lock); debug builds check it and
 *     assert every Context: line.
 *
 * The protocol, and the function that does each step.  One PMD range:
 * collapse_scan_pmd(); each window of it, at order o: collapse_huge_page().
 *
 *   SCAN       [mmap_lock read]   collapse_scan_range(): mthp_precheck(),
 *      |                          mthp_scan(); a failure returns with the
 *      |                          lock still held
 *      v       mmap_lock dropped  collapse_windows(): each window the walk
 *      |                          chooses, after inject_race_point()
 *   ALLOC      [no lock]          alloc_charge_folio()
 *      |         -- fail: ALLOC_HUGE_PAGE_FAIL, CGROUP_CHARGE_FAIL
 *      |            (out_nolock)
 *      v
 *   REVALIDATE [mmap_lock read]   collapse_prepare(): revalidate_window()
 *   SWAPIN     [+ PTE lock]       (hugepage_vma_revalidate(), find_pmd()),
 *      |                          then collapse_swapin() if the scan saw
 *      |                          swap entries, one swap-in at a time
 *      |         -- fail: ANY_PROCESS, VMA_NULL, ADDRESS_RANGE, VMA_CHECK,
 *      |            PAGE_ANON, NO_PTE_TABLE, PMD_MAPPED, EXCEED_SWAP_PTE,
 *      |            FAIL (out_put_folio; pages swapped in stay in)
 *      |         -- a swap-in that waits for its folio drops mmap_lock
 *      |            (VM_FAULT_RETRY; injected races here too): PAGE_LOCK,
 *      |            nothing found under the read lock used again
 *      |            (out_put_folio)
 *      v       read lock dropped  (injected races here too)
 *   LOCK       [mmap_lock write]  hugepage_vma_revalidate() again, then
 *      |                          check_pmd_still_valid(): the PMD entry
 *      |                          still maps a table
 *      |         -- fail: as REVALIDATE (out_up_write)
 *      v       [+ anon_vma write]
 *   DETACH     [+ PMD lock]       collapse_detach(): the PMD cleared, the
 *      |                          table kept aside
 *   ISOLATE    [+ PTE lock]       collapse_isolate_window(): the engine's
 *      |                          re-check, folio trylock, refcount, LRU
 *      |         -- fail: EXCEED_*, PTE_NON_PRESENT, PTE_UFFD_WP, PAGE_*,
 *      |            DEL_PAGE_LRU, PTE_MAPPED_HUGEPAGE, LACK_REFERENCED_PAGE:
 *      |            folios released, collapse_reattach() puts the table
 *      |            back (out_unlock_anon_vma)
 *      v       o == PMD: anon_vma unlocked here
 *   COPY       [PTE lock]         collapse_copy_window(): tags copied, none
 *      |                          and zero PTEs zero-filled, old PTEs
 *      |                          cleared, old folios released
 *      |         -- fail (machine check): COPY_MC before anything is
 *      |            cleared; the table back under the PMD, then the
 *      |            folios released, collapse_putback(), and the
 *      |            MIGRATE point (out_unlock_anon_vma)
 *      v
 *   INSTALL    [PMD lock]         o == PMD: collapse_install_pmd(), a huge
 *      |                          PMD, the table deposited
 *      |       [PMD + PTE lock]   o < PMD: collapse_install_ptes(), the
 *      |                          table back first, then the window's PTEs
 *      v
 *   RELEASE    out_unlock_anon_vma, out_up_write, out_put_folio, out_nolock:
 *              each undoes its state, the locks by their booleans; then the
 *              mm_collapse_huge_page trace line.
 *
 * Fault injection (inject.c) fires at ALLOC (allocation, charge),
 * REVALIDATE and LOCK (the revalidation), SWAPIN (a swap-in that must
 * wait, and drops mmap_lock), ISOLATE (LRU isolation) and COPY, and runs
 * its racing munmap/mremap/fork before each window's ALLOC, where no
 * lock is held, and in a swap-in's wait.  Its RMAP point, between
 * ISOLATE and COPY, runs the aging rmap walk (rmap.c) of every folio
 * mapped beside the window, as another CPU could: below PMD order the
 * anon_vma is still held for write there, so each walk is given up as
 * contended; were it released, the walk would find the PMD clear under
 * mapped folios.  Its MIGRATE point, after a failed copy released its
 * folios, runs compaction's migration walk (rmap.c) of the first folios
 * of the window: released before the table is back, they would be found
 * mapped under a clear PMD.  The collapse's read unlock and write lock
 * have the racing mutations between them too.
 *
 * Each step notes itself with sim_doing(), so that a broken invariant
 * (sim_bug()) or a crash report says which step of which window it was.
 */
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <mthp/sched.h>

#include "sim/bug.h"
#include "sim/collapse.h"
#include "sim/fault.h"
#include "sim/folio.h"
#include "sim/inject.h"
#include "sim/inject_race.h"
#include "sim/locks.h"
#include "sim/pgtable.h"
#include "sim/shrinker.h"
#include "sim/rmap.h"
#include "sim/states.h"
#include "sim/stats.h"
#include "sim/tlbflush.h"
#include "sim/trace.h"
#include "sim/vma.h"
#include "sim/world.h"

struct collapse_control {
	struct sim *sim;
	enum mthp_policy policy;
	enum mthp_context context;
	struct mthp_rules rules;	/* the range's, for the scan and walk */
	struct mthp_scan scan;		/* the range's scan */
	struct mthp_walk walk;
	struct mthp_scan recheck;	/* a fresh scan of the locked table */
	uint32_t nr_done;		/* windows collapsed in the range */
	uint32_t nr_tried;		/* windows attempted in the range */
	uint32_t filled;		/* none/zero PTEs the last copy zero-filled */
	uint64_t filled_map[MTHP_BITMAP_WORDS];	/* which: bit k, page k of the window */
	uint32_t nr_isolated;
	uint32_t progress;		/* the range's, as 7.2 counts it */
	/* the scan's mm_khugepaged_scan_pmd fields, traced with the range's result */
	unsigned long long scan_pfn;
	uint8_t ptes[MTHP_MAX_PTES];
	uint8_t orders[MTHP_MAX_PTES];
	uint8_t fills[MTHP_MAX_PTES];	/* the folios' PG_FILLED, for guarded */
	uint8_t reptes[MTHP_MAX_PTES];
	uint8_t reorders[MTHP_MAX_PTES];
	uint32_t isolated[MTHP_MAX_PTES];	/* heads of the isolated folios */
	/* the LRU add batch of the thread's CPU: heads, each with a reference */
	uint32_t lru_batch[SIM_LRU_BATCH];
	uint32_t lru_nr;
};

struct collapse_control *collapse_control_alloc(struct sim *sim,
						enum mthp_policy policy,
						enum mthp_context context)
{
	struct collapse_control *cc = calloc(1, sizeof(*cc));

	if (!cc)
		return NULL;
	cc->sim = sim;
	cc->policy = policy;
	cc->context = context;
	return cc;
}

void collapse_control_free(struct collapse_control *cc)
{
	if (cc)
		collapse_lru_drain(cc);
	free(cc);
}

/*
 * The per-CPU LRU add batch, as far as collapse sees it.  A folio put
 * back after isolation (folio_putback_lru()) waits in the batch with a
 * reference and off the LRU until the batch drains: when it fills
 * (SIM_LRU_BATCH folios), when a large folio is added (the new folio of
 * a collapse, or a large one put back), after a swap-in, and where
 * Linux calls lru_add_drain_all() (each khugepaged wake-up, each
 * MADV_COLLAPSE of a VMA).  Meanwhile an attempt over such a folio fails its
 * reference check with SCAN_PAGE_COUNT.  Only the collapsing thread
 * adds to its batch; the simulator's other operations add nothing.
 */
void collapse_lru_drain(struct collapse_control *cc)
{
	struct sim *sim = cc->sim;

	for (uint32_t k = 0; k < cc->lru_nr; k++)
		folio_set_flag(sim, cc->lru_batch[k], PG_LRU);
	folios_put(sim, cc->lru_batch, cc->lru_nr);
	cc->lru_nr = 0;
}

/*
 * Add an isolated folio to the batch, which takes over our reference.
 * Context: as collapse_lru_drain(), which it may call.
 */
static void lru_batch_add(struct collapse_control *cc, uint32_t head)
{
	cc->lru_batch[cc->lru_nr++] = head;
	if (cc->lru_nr == SIM_LRU_BATCH || sim_pg(cc->sim, head)->order)
		collapse_lru_drain(cc);
}

void collapse_control_set_policy(struct collapse_control *cc,
				 enum mthp_policy policy)
{
	cc->policy = policy;
}

uint32_t collapse_nr_done(const struct collapse_control *cc)
{
	return cc->nr_done;
}

uint32_t collapse_progress(const struct collapse_control *cc)
{
	return cc->progress;
}

void collapse_rules(struct collapse_control *cc, const struct sim_vma *v,
		    struct mthp_rules *rules)
{
	mthp_rules_init(rules, sim_settings(cc->sim), cc->policy, cc->context,
			vma_snapshot_flags(v));
	/* the simulator's own plug-in, whatever the engine's default */
	rules->plugin = cc->sim->plugin;
}

/* The limit counters: per size at the order, vmstat at PMD order only. */
static void count_exceed(struct sim *sim, enum mthp_result result, unsigned order)
{
	bool pmd = order == sim->geo.pmd_order;

	if (result == SCAN_EXCEED_NONE_PTE) {
		count_mthp(sim, order, MS_COLLAPSE_EXCEED_NONE_PTE);
		if (pmd)
			count_vm(sim, VM_THP_SCAN_EXCEED_NONE_PTE);
	} else if (result == SCAN_EXCEED_SWAP_PTE) {
		count_mthp(sim, order, MS_COLLAPSE_EXCEED_SWAP_PTE);
		if (pmd)
			count_vm(sim, VM_THP_SCAN_EXCEED_SWAP_PTE);
	} else if (result == SCAN_EXCEED_SHARED_PTE) {
		count_mthp(sim, order, MS_COLLAPSE_EXCEED_SHARED_PTE);
		if (pmd)
			count_vm(sim, VM_THP_SCAN_EXCEED_SHARE_PTE);
	}
}

/*
 * May the new folio's allocation and charge reclaim?  khugepaged's
 * allocation reclaims when khugepaged/defrag is 1 (the kernel's
 * GFP_TRANSHUGE), not when it is 0 (GFP_TRANSHUGE_LIGHT); MADV_COLLAPSE's
 * always does.  The charge reclaims when the allocation may.
 */
static bool collapse_may_reclaim(const struct collapse_control *cc)
{
	switch (cc->context) {
	case MTHP_CONTEXT_KHUGEPAGED:
		return sim_settings(cc->sim)->khugepaged_defrag != 0;
	case MTHP_CONTEXT_MADVISE:
		return true;
	}
	return true;
}

/*
 * Reclaim for the new folio of the order, as direct reclaim would: the
 * thread's LRU add batch drained, then sim_reclaim() of the machine
 * (memcg -1) or of the mm's cgroup.  True when it freed a page.
 * Context: the world lock (debug builds) held and nothing else; dropped
 * for the reclaim and taken again.
 */
static bool collapse_reclaim(struct collapse_control *cc, int memcg, unsigned order)
{
	struct sim_shrink_result shrunk;
	int err;

	collapse_lru_drain(cc);
	world_exit(cc->sim);
	err = sim_reclaim(cc->sim, memcg, 1ull << order, &shrunk);
	world_enter(cc->sim);
	return !err && shrunk.pages_freed;
}

/*
 * Allocate and charge the new folio.  When either fails, and the
 * allocation may reclaim, direct reclaim runs and it is tried once more,
 * before the failure is counted (the kernel counts what the allocator
 * gives back, after its own reclaim).  An injected failure is final.
 * Context: no mmap_lock held (the kernel may reclaim and compact here);
 * the world lock (debug builds) held, dropped and taken again around
 * reclaim.
 */
static enum mthp_result alloc_charge_folio(struct sim_mm *mm, struct collapse_control *cc,
					   unsigned order, uint32_t *head)
{
	struct sim *sim = mm->sim;
	bool pmd = order == sim->geo.pmd_order, reclaim = collapse_may_reclaim(cc);
	int err;

	lockdep_assert_not_held(LOCK_MMAP, NULL);
	if (inject_fail(sim, SIM_INJECT_ALLOC))
		err = -ENOMEM;
	else if ((err = folio_alloc(sim, order, head)) && reclaim &&
		 collapse_reclaim(cc, -1, order))
		err = folio_alloc(sim, order, head);
	if (err) {
		*head = SIM_NO_PFN;
		count_mthp(sim, order, MS_COLLAPSE_ALLOC_FAILED);
		if (pmd)
			count_vm(sim, VM_THP_COLLAPSE_ALLOC_FAILED);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	count_mthp(sim, order, MS_COLLAPSE_ALLOC);
	if (pmd)
		count_vm(sim, VM_THP_COLLAPSE_ALLOC);
	if (inject_fail(sim, SIM_INJECT_CHARGE))
		err = -ENOMEM;
	else if ((err = folio_charge(sim, *head, mm->memcg)) && reclaim &&
		 collapse_reclaim(cc, (int)mm->memcg, order))
		err = folio_charge(sim, *head, mm->memcg);
	if (err) {
		folio_put(sim, *head, 1);
		*head = SIM_NO_PFN;
		return SCAN_CGROUP_CHARGE_FAIL;
	}
	folio_set_flag(sim, *head, PG_ANON | PG_LRU);
	mod_mthp(sim, order, MS_NR_ANON, 1);
	return SCAN_SUCCEED;
}

enum mthp_result collapse_revalidate(struct sim_mm *mm, struct collapse_control *cc,
				     uint64_t pmd_addr, struct mthp_rules *rules,
				     const struct sim_vma **vp)
{
	uint64_t pmd_size = mthp_pmd_size(&mm->sim->geo);
	const struct sim_vma *v;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	if (ld_relaxed(&mm->exiting))
		return SCAN_ANY_PROCESS;
	v = vma_find(mm, pmd_addr);
	if (!v)
		return SCAN_VMA_NULL;
	if (v->start > pmd_addr || v->end - pmd_addr < pmd_size)
		return SCAN_ADDRESS_RANGE;
	collapse_rules(cc, v, rules);
	if (!rules->eligible)
		return SCAN_VMA_CHECK;
	*vp = v;
	return SCAN_SUCCEED;
}

/*
 * collapse_revalidate() for one window: the order still allowed and the
 * VMA with an anon_vma.  Fills *rules for the VMA as it is now.
 * Context: mmap_lock held (read or write).
 */
static enum mthp_result hugepage_vma_revalidate(struct sim_mm *mm,
						uint64_t pmd_addr, unsigned order,
						struct collapse_control *cc,
						struct mthp_rules *rules,
						const struct sim_vma **vp)
{
	const struct sim_vma *v;
	enum mthp_result result;

	result = collapse_revalidate(mm, cc, pmd_addr, rules, &v);
	if (result != SCAN_SUCCEED)
		return result;
	if (!(rules->orders & (1u << order)))
		return SCAN_VMA_CHECK;
	if (!ld_acquire(&v->anon_vma))
		return SCAN_PAGE_ANON;
	if (inject_fail(mm->sim, SIM_INJECT_REVALIDATE))
		return SCAN_VMA_CHECK;	/* as if MADV_NOHUGEPAGE had raced */
	*vp = v;
	return SCAN_SUCCEED;
}

/* Context: mmap_lock held.  The PMD entry of a range that has a table. */
static enum mthp_result find_pmd(struct sim_mm *mm, uint64_t pmd_addr,
				 uint64_t **pmdpp, struct sim_pmd_table **pmdtp)
{
	struct sim_pte_table *t;
	uint64_t *pmdp;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	switch (pmd_lookup_kind(mm, pmd_addr, &pmdp, pmdtp, &t)) {
	case MTHP_PMD_HUGE:
	case MTHP_PMD_ZERO:	/* Linux 7.2's scan takes any huge PMD for mapped */
		return SCAN_PMD_MAPPED;
	case MTHP_PMD_TABLE:
		*pmdpp = pmdp;
		return SCAN_SUCCEED;
	case MTHP_PMD_NONE:
		break;
	}
	return SCAN_NO_PTE_TABLE;
}

/*
 * The head pfn of the folio of the last PTE in [first, last] of t that the
 * kernel's loops take a folio from (present, not the zero page, not
 * uffd-wp), or -1 when there is none: the scan_pfn of a trace line.
 * Context: the PTE lock of t held.
 */
static unsigned long long last_folio_pfn(struct sim *sim, const struct sim_pte_table *t,
					 uint32_t first, uint32_t last)
{
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = last + 1; i-- > first;) {
		uint32_t pte = t->ptes[i];

		if (pte_present(pte) && pte_pfn(pte) != sim->pm.zero_pfn &&
		    !(pte & PTE_UFFD_WP))
			return folio_head(sim, pte_pfn(pte));
	}
	return (unsigned long long)-1;
}

/* Has this folio been isolated already (a large folio's other page)? */
static bool already_isolated(struct sim *sim, const struct collapse_control *cc,
			     uint32_t head)
{
	if (sim_pg(sim, head)->order == 0 || cc->nr_isolated == 0)
		return false;
	if (cc->isolated[cc->nr_isolated - 1] == head)
		return true;
	for (uint32_t k = 0; k + 1 < cc->nr_isolated; k++)
		if (cc->isolated[k] == head)
			return true;
	return false;
}

/*
 * Lock the folio, check its references and take it off the LRU, holding
 * a reference.  Context: PTE lock of a table mapping it held.
 */
static enum mthp_result isolate_folio(struct sim *sim, uint32_t head)
{
	uint32_t expected;

	lockdep_assert_held(LOCK_PTE, NULL, LOCK_WRITE);
	if (!folio_trylock(sim, head))
		return SCAN_PAGE_LOCK;
	expected = folio_mapcount(sim, head);
	if (folio_test_flag(sim, head, PG_SWAPCACHE))
		expected += 1u << sim_pg(sim, head)->order;
	if (folio_refcount(sim, head) + gup_fast_pins(head, 1u << sim_pg(sim, head)->order) !=
	    expected) {
		folio_unlock(sim, head);
		return SCAN_PAGE_COUNT;
	}
	/* migration may take it off the LRU first: the flag is test-and-cleared */
	if (!folio_test_flag(sim, head, PG_LRU) || inject_fail(sim, SIM_INJECT_LRU) ||
	    !folio_test_clear_flag(sim, head, PG_LRU)) {
		folio_unlock(sim, head);
		return SCAN_DEL_PAGE_LRU;
	}
	folio_get(sim, head, 1);
	return SCAN_SUCCEED;
}

/*
 * Put the isolated folios back, unlocked, through the LRU add batch, in
 * the order of Linux's release_pte_pages(): the small folios from the
 * last PTE back to the first, then the large ones as they were isolated.
 * Context: as collapse_lru_drain() (the PTE lock of the window's table
 * may be held; a drain takes the zone lock to free).
 */
static void release_isolated(struct sim *sim, struct collapse_control *cc)
{
	uint32_t large[MTHP_MAX_PTES], nr_large = 0;

	/* sorted first: a folio the batch frees no longer has its order */
	for (uint32_t k = 0; k < cc->nr_isolated; k++)
		if (sim_pg(sim, cc->isolated[k])->order)
			large[nr_large++] = cc->isolated[k];
	for (uint32_t k = cc->nr_isolated; k-- > 0;) {
		if (sim_pg(sim, cc->isolated[k])->order)
			continue;
		folio_unlock(sim, cc->isolated[k]);
		lru_batch_add(cc, cc->isolated[k]);
	}
	for (uint32_t k = 0; k < nr_large; k++) {
		folio_unlock(sim, large[k]);
		lru_batch_add(cc, large[k]);
	}
	cc->nr_isolated = 0;
}

/*
 * The mm_collapse_huge_page_isolate line of the window [off, off + 2^order)
 * whose walk stopped at PTE stop (the end when nothing broke a rule): as
 * the kernel counts them, the none or zero PTEs up to and including stop,
 * the young pages before it, and the last folio it looked at.
 * Context: the PTE lock of t held.
 */
static void trace_isolate(struct sim_mm *mm, const struct sim_pte_table *t, uint32_t off,
			  unsigned order, uint32_t stop, enum mthp_result result,
			  const struct collapse_control *cc)
{
	uint32_t end = off + (1u << order), last = stop < end ? stop : end - 1;

	trace_event(mm->sim, SIM_TRACE_ISOLATE, cc->context, mm,
		    "scan_pfn=0x%llx, none_or_zero=%u, referenced=%u, status=%s, order=%u",
		    last_folio_pfn(mm->sim, t, off, last),
		    mthp_bitmap_count(cc->recheck.none, off, last - off + 1),
		    mthp_bitmap_count(cc->recheck.young, off, stop - off),
		    mthp_result_status(result), order);
}

/*
 * The states of the window's pages that isolate_folio() decides (a
 * locked folio, one with an extra reference, one off the LRU) as plain
 * present pages, so that the engine's re-check stops only at the PTE
 * rules, and the folio checks come in the kernel's order: lock,
 * references, LRU (a folio waiting in the LRU add batch fails on its
 * reference first).  Context: the PTE lock of t held.
 */
static void folio_states_as_present(const struct sim_pte_table *t, uint32_t off,
				    uint32_t nr, uint8_t *ptes)
{
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = off; i < off + nr; i++)
		if (ptes[i] == MTHP_PTE_LOCKED || ptes[i] == MTHP_PTE_PINNED ||
		    ptes[i] == MTHP_PTE_NOT_LRU)
			ptes[i] = (t->ptes[i] & PTE_YOUNG) ? MTHP_PTE_YOUNG : MTHP_PTE_OLD;
}

/*
 * The isolate step on the detached table: the engine's per-order
 * re-checks on a fresh scan, then each folio of the window locked,
 * checked and isolated.  On failure nothing stays isolated.
 * Context: mmap_lock held for write, the anon_vma locked for write, the
 * PTE lock of the detached table t held.
 */
static enum mthp_result collapse_isolate(struct sim_mm *mm, struct sim_pte_table *t,
					 uint32_t off, unsigned order,
					 const struct mthp_rules *rules,
					 struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	uint32_t nr = 1u << order, stop;
	enum mthp_result result = SCAN_SUCCEED, rule;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_held(LOCK_ANON_VMA, NULL, LOCK_WRITE);
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	table_window_states(sim, t, off, nr, cc->reptes, cc->reorders);
	folio_states_as_present(t, off, nr, cc->reptes);
	mthp_scan(&cc->recheck, rules, cc->reptes, cc->reorders);
	/* the PTE rules stop at *stop; before it, each folio in turn */
	rule = mthp_attempt_isolate_at(rules, &cc->recheck, off, order, false, &stop);
	cc->nr_isolated = 0;
	for (uint32_t i = off; result == SCAN_SUCCEED && i < stop; i++) {
		uint32_t pte = t->ptes[i], head;

		if (!pte_present(pte) || pte_pfn(pte) == sim->pm.zero_pfn)
			continue;
		head = folio_head(sim, pte_pfn(pte));
		if (already_isolated(sim, cc, head))
			continue;
		result = isolate_folio(sim, head);
		if (result == SCAN_SUCCEED)
			cc->isolated[cc->nr_isolated++] = head;
		else
			stop = i;
	}
	/* SCAN_LACK_REFERENCED_PAGE comes after every folio is isolated */
	if (result == SCAN_SUCCEED)
		result = rule;
	count_exceed(sim, result, order);
	if (result != SCAN_SUCCEED)
		release_isolated(sim, cc);
	if (trace_on(sim, SIM_TRACE_ISOLATE))
		trace_isolate(mm, t, off, order, stop, result, cc);
	return result;
}

/*
 * The folios a copy replaces: none may be held by a GUP-fast walk, whose
 * pin the isolation's refcount check must have seen (a pin taken after
 * the PMD was cleared fails its re-check and is dropped).
 * Context: the PTE lock of the detached table held.
 */
static void collapse_assert_unpinned(struct sim *sim, const struct collapse_control *cc)
{
	for (uint32_t k = 0; k < cc->nr_isolated; k++) {
		uint32_t head = cc->isolated[k], order = sim_pg(sim, head)->order;

		if (gup_fast_pins(head, 1u << order))
			sim_bug("collapse_huge_page: COPY replaces folio pfn %u (order %u), "
				"which a GUP-fast walk holds pinned: the isolation did not see "
				"the pin in its refcount check", head, order);
	}
}

/*
 * Copy the window into the new folio (none and zero PTEs read as zero),
 * clear the old PTEs and release the old folios.
 * Context: mmap_lock held for write; PTE lock of the detached table held.
 */
static void collapse_copy(struct sim_mm *mm, struct sim_pte_table *t, uint32_t off,
			  unsigned order, uint32_t head, struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	uint32_t nr = 1u << order;
	bool took_filled = false;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	cc->filled = 0;
	memset(cc->filled_map, 0, sizeof(cc->filled_map));
	for (uint32_t k = 0; k < nr; k++) {
		uint32_t pte = t->ptes[off + k];

		if (pte_present(pte) && pte_pfn(pte) != sim->pm.zero_pfn) {
			uint32_t old = folio_head(sim, pte_pfn(pte));

			took_filled |= folio_test_flag(sim, old, PG_FILLED);
			page_set_tag(sim, head + k, page_tag(sim, pte_pfn(pte)));
		} else {
			page_set_tag(sim, head + k, 0);
			cc->filled++;
			cc->filled_map[k / 64] |= 1ull << (k % 64);
		}
		st_relaxed(&t->ptes[off + k], 0);
		zap_pte(mm, pte);
	}
	collapse_assert_unpinned(sim, cc);
	release_isolated(sim, cc);
	if (cc->filled || took_filled)
		folio_set_flag(sim, head, PG_FILLED);
}

/*
 * One window's collapse: what the steps of collapse_huge_page() share.
 * Each lock boolean is set on the line that takes or drops the lock.
 */
struct collapse_window {
	struct sim_mm *mm;
	struct collapse_control *cc;
	uint64_t pmd_addr;
	uint32_t off;
	unsigned order;
	uint32_t head;			/* the new folio; SIM_NO_PFN: none */
	const struct sim_vma *v;	/* valid while mmap_lock is held */
	struct sim_vma vma;		/* *v as revalidated under the read lock */
	struct sim_anon_vma *av;
	uint64_t *pmdp;
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;	/* the table, once detached */
	struct mthp_rules rules;	/* the VMA's, as revalidated */
	struct sim_mm *child;		/* a fork raced in the swap-in's wait */
	bool mmap_locked;
	bool anon_vma_locked;
	bool pmd_locked;
	bool pte_locked;
};

/*
 * Debug builds: abort unless every lock of the window is released, by its
 * boolean and by the lock validator.
 */
static void window_assert_unlocked(const struct collapse_window *w)
{
	lockdep_assert_not_held(LOCK_MMAP, w->mm);
	lockdep_assert_not_held(LOCK_ANON_VMA, NULL);
	if (MTHP_DEBUG && (w->mmap_locked || w->anon_vma_locked || w->pmd_locked ||
			   w->pte_locked)) {
		fprintf(stderr, "collapse_huge_page: a lock is still held (mmap %d, "
			"anon_vma %d, PMD %d, PTE %d)\n", w->mmap_locked,
			w->anon_vma_locked, w->pmd_locked, w->pte_locked);
		abort();
	}
}

/* The mm_collapse_huge_page tracepoint.  Context: any. */
static void trace_collapse_huge_page(struct sim_mm *mm, const struct collapse_control *cc,
				     bool installed, enum mthp_result result, unsigned order)
{
	if (trace_on(mm->sim, SIM_TRACE_COLLAPSE))
		trace_event(mm->sim, SIM_TRACE_COLLAPSE, cc->context, mm,
			    "mm=%016llx, isolated=%d, status=%s, order=%u", trace_mm_ptr(mm),
			    installed, mthp_result_status(result), order);
}

/*
 * hugepage_vma_revalidate() then find_pmd(): the VMA and PMD entry of
 * the window as they are now.  Context: mmap_lock held (read or write).
 */
static enum mthp_result revalidate_window(struct collapse_window *w)
{
	enum mthp_result result;

	result = hugepage_vma_revalidate(w->mm, w->pmd_addr, w->order, w->cc,
					 &w->rules, &w->v);
	if (result != SCAN_SUCCEED)
		return result;
	w->vma = *w->v;
	return find_pmd(w->mm, w->pmd_addr, &w->pmdp, &w->pmdt);
}

/*
 * Before each swap-in: the VMA and the PMD entry the swap-in is given must
 * still be the ones revalidated under this read lock.  They can only
 * have changed if mmap_lock was dropped since, as a swap-in that must
 * wait for its folio drops it: a munmap, mremap, mprotect or madvise may
 * have replaced the VMA (its array moved, its flags, its bounds), and
 * with it the page tables, meanwhile.  Context: mmap_lock held for read.
 */
static void swapin_assert_current(const struct collapse_window *w, uint64_t addr)
{
	struct sim_mm *mm = w->mm;
	const struct sim_vma *v = vma_find(mm, addr);
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;
	uint64_t *pmdp;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_READ);
	if (!v)
		sim_bug("collapse_swapin: swap-in at 0x%llx with the VMA [0x%llx, 0x%llx) "
			"revalidated before mmap_lock was dropped, which is gone: the "
			"collapse went on without revalidating", (unsigned long long)addr,
			(unsigned long long)w->vma.start, (unsigned long long)w->vma.end);
	if (v != w->v || v->vm_lock != w->vma.vm_lock || v->start != w->vma.start ||
	    v->end != w->vma.end || v->prot != w->vma.prot ||
	    v->vm_flags != w->vma.vm_flags)
		sim_bug("collapse_swapin: swap-in at 0x%llx with the VMA [0x%llx, 0x%llx) "
			"flags 0x%x revalidated before mmap_lock was dropped, replaced "
			"meanwhile by [0x%llx, 0x%llx) flags 0x%x: the collapse went on "
			"with a stale VMA, without revalidating", (unsigned long long)addr,
			(unsigned long long)w->vma.start, (unsigned long long)w->vma.end,
			w->vma.vm_flags, (unsigned long long)v->start,
			(unsigned long long)v->end, v->vm_flags);
	if (pmd_lookup_kind(mm, w->pmd_addr, &pmdp, &pmdt, &t) != MTHP_PMD_TABLE ||
	    pmdp != w->pmdp)
		sim_bug("collapse_swapin: swap-in at 0x%llx with a PMD entry that no "
			"longer maps the range's page table since mmap_lock was dropped: "
			"the collapse went on with a stale PMD, without revalidating",
			(unsigned long long)addr);
}

/*
 * do_swap_page() called with FAULT_FLAG_ALLOW_RETRY found the swap-in's
 * folio locked (its read from the swap device in flight, or another
 * thread's lock): it dropped mmap_lock to wait for the folio and returned
 * VM_FAULT_RETRY.  The swap entry stays in the table.  While the lock is
 * dropped anything may change the range: the wait lets the other threads
 * run, and the injected races (munmap, mremap, fork) run here too.
 * Context: mmap_lock held for read and the world lock (debug builds);
 * drops mmap_lock, and the world lock for the wait.
 */
static void swapin_drop_and_wait(struct collapse_window *w)
{
	struct sim *sim = w->mm->sim;

	mmap_unlock(w->mm);
	w->mmap_locked = false;
	world_exit(sim);
	sim_thread_yield();	/* folio_wait_locked() */
	w->child = inject_race_point(w->mm, w->pmd_addr);
	world_enter(sim);
}

/*
 * Swap in the window's swap entries (the engine vetoes any below PMD
 * order), one do_swap_page() each, each from the PMD entry afresh, as
 * Linux maps the table again after every swap-in.  A swap-in that had to
 * wait for its folio drops mmap_lock (swapin_drop_and_wait()) and the
 * collapse gives up with PAGE_LOCK, as Linux 7.2 does: it goes on with
 * nothing it found under the lock it dropped.
 * Context: mmap_lock held for read; returns with it held but on
 * PAGE_LOCK (w->mmap_locked false); takes and drops the PTE lock.
 */
static enum mthp_result collapse_swapin(struct collapse_window *w)
{
	struct sim_mm *mm = w->mm;
	struct sim *sim = mm->sim;
	struct collapse_control *cc = w->cc;
	struct sim_pte_table *t = pmd_table(ld_acquire(w->pmdp));
	uint32_t nr = 1u << w->order, swapped_in = 0;
	enum mthp_result result;
	bool pte_locked;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_READ);
	pte_lock(t);
	pte_locked = true;
	table_window_states(sim, t, w->off, nr, cc->reptes, cc->reorders);
	mthp_scan(&cc->recheck, &w->rules, cc->reptes, cc->reorders);
	result = mthp_attempt_swapin(&w->rules, &cc->recheck, w->off, w->order);
	for (uint32_t i = w->off; result == SCAN_SUCCEED && i < w->off + nr; i++) {
		uint64_t addr = w->pmd_addr + (uint64_t)i * sim->geo.page_size;
		uint32_t pte;

		if (!pte_locked) {	/* the table again, from the PMD entry */
			swapin_assert_current(w, addr);
			t = pmd_table(ld_acquire(w->pmdp));
			pte_lock(t);
			pte_locked = true;
		}
		pte = t->ptes[i];
		if (!pte_is_swap(pte) || !pte_slot(pte) || (pte & PTE_SWP_UFFD_WP))
			continue;
		if (inject_fail(sim, SIM_INJECT_SWAPIN)) {
			/* VM_FAULT_RETRY: mmap_lock dropped, nothing swapped in here */
			pte_unlock(t);
			pte_locked = false;
			swapin_drop_and_wait(w);
			result = SCAN_PAGE_LOCK;
			break;
		}
		if (swapin_pte(mm, w->v, t, addr, false))
			result = SCAN_FAIL;
		else
			swapped_in++;
		pte_unlock(t);
		pte_locked = false;
	}
	if (pte_locked) {
		pte_unlock(t);
		pte_locked = false;
	}
	/*
	 * Linux drains the LRU add batch, where the swapped-in folios wait,
	 * when every swap-in succeeded (a failure skips the drain).
	 */
	if (swapped_in && result == SCAN_SUCCEED)
		collapse_lru_drain(cc);
	count_exceed(sim, result, w->order);
	/* referenced: the range's, from its scan; ret: the result's value */
	if (trace_on(sim, SIM_TRACE_SWAPIN))
		trace_event(sim, SIM_TRACE_SWAPIN, cc->context, mm,
			    "mm=%016llx, swapped_in=%u, referenced=%u, ret=%d, order=%u",
			    trace_mm_ptr(mm), swapped_in, cc->scan.referenced, (int)result,
			    w->order);
	return result;
}

/*
 * check_pmd_still_valid(): the range's PMD entry is the one found under
 * the read lock and still maps a page table.
 * Context: mmap_lock held for write.
 */
static enum mthp_result check_pmd_still_valid(struct collapse_window *w)
{
	struct sim_pmd_table *pmdt;
	uint64_t *pmdp;
	enum mthp_result result;

	result = find_pmd(w->mm, w->pmd_addr, &pmdp, &pmdt);
	if (result != SCAN_SUCCEED)
		return result;
	if (pmdp != w->pmdp)
		return SCAN_FAIL;
	return SCAN_SUCCEED;
}

/*
 * REVALIDATE and SWAPIN: with the read lock, check the window is still
 * collapsible and swap in its swap entries.
 * Context: no mmap_lock held; takes and drops mmap_lock for read.
 */
static enum mthp_result collapse_prepare(struct collapse_window *w)
{
	struct sim_mm *mm = w->mm;
	enum mthp_result result;

	lockdep_assert_not_held(LOCK_MMAP, mm);
	mmap_read_lock(mm);
	w->mmap_locked = true;
	result = revalidate_window(w);
	if (result == SCAN_SUCCEED && w->cc->scan.unmapped > 0)
		result = collapse_swapin(w);
	if (w->mmap_locked) {	/* a swap-in that waited dropped it */
		mmap_unlock(mm);
		w->mmap_locked = false;
	}
	return result;
}

/*
 * DETACH: clear the PMD (whatever the order), keeping its table in w->t;
 * pmdp_collapse_flush() flushes the TLB, then tlb_remove_table_sync_one():
 * on every machine one of the two waits out the GUP-fast walks that read
 * the PMD before it was cleared (tlbflush.h).
 * Context: mmap_lock held for write, the anon_vma locked for write; takes
 * and drops the PMD lock.
 */
static void collapse_detach(struct collapse_window *w)
{
	pmd_lock(w->pmdt);
	w->pmd_locked = true;
	w->t = pmdp_collapse_flush(w->pmdp);
	pmd_unlock(w->pmdt);
	w->pmd_locked = false;
	tlb_remove_table_sync_one();
}

/*
 * The undo of DETACH: put the table back under its PMD.
 * Context: mmap_lock held for write; takes and drops the PMD lock.
 */
static void collapse_reattach(struct collapse_window *w)
{
	pmd_lock(w->pmdt);
	w->pmd_locked = true;
	pmd_populate(w->pmdp, w->t);
	pmd_unlock(w->pmdt);
	w->pmd_locked = false;
}

/*
 * ISOLATE: the engine's re-check and the folios isolated, on the detached
 * table; on failure the table goes back under the PMD.
 * Context: mmap_lock held for write, the anon_vma locked for write; takes
 * and drops the PTE lock, then (on failure) the PMD lock.
 */
static enum mthp_result collapse_isolate_window(struct collapse_window *w)
{
	enum mthp_result result;

	pte_lock(w->t);
	w->pte_locked = true;
	result = collapse_isolate(w->mm, w->t, w->off, w->order, &w->rules, w->cc);
	pte_unlock(w->t);
	w->pte_locked = false;
	if (result != SCAN_SUCCEED)
		collapse_reattach(w);
	return result;
}

/*
 * The isolated folios of a failed copy released: unlocked, back to the
 * LRU through the add batch.  From here another CPU's compaction can take
 * them: its lru_add_drain_all() drains this CPU's batch (its work may run
 * here, where the collapse holds no spinlock), it isolates them, locks
 * them and walks their rmap.  The MIGRATE point runs that migration on
 * the first folios of the window (rmap.c).
 * Context: mmap_lock held for write, no PMD or PTE lock held; the
 * anon_vma maybe held for write (below PMD order).
 */
static void collapse_putback(struct collapse_window *w)
{
	struct sim *sim = w->mm->sim;

	release_isolated(sim, w->cc);
	if (inject_fail(sim, SIM_INJECT_MIGRATE)) {
		collapse_lru_drain(w->cc);
		rmap_migrate_window(w->mm, w->av, w->t, w->pmd_addr, w->off, 1u << w->order);
	}
}

/*
 * COPY: the window into the new folio.  A machine check (injected) puts
 * the table back under the PMD first, then releases the isolated folios
 * (COPY_MC): at PMD order the anon_vma is unlocked by now, so a folio
 * released while its PMD is clear could be found by an rmap walk that
 * sees it mapped nowhere (the MIGRATE point's migration walk does).
 * Context: mmap_lock held for write; takes and drops the PTE lock, then
 * (on failure) the PMD lock.
 */
static enum mthp_result collapse_copy_window(struct collapse_window *w)
{
	struct sim *sim = w->mm->sim;
	enum mthp_result result = SCAN_SUCCEED;

	pte_lock(w->t);
	w->pte_locked = true;
	if (inject_fail(sim, SIM_INJECT_COPY_MC))
		result = SCAN_COPY_MC;
	else
		collapse_copy(w->mm, w->t, w->off, w->order, w->head, w->cc);
	pte_unlock(w->t);
	w->pte_locked = false;
	if (result != SCAN_SUCCEED) {
		collapse_reattach(w);
		collapse_putback(w);
	}
	return result;
}

/*
 * INSTALL at PMD order: a huge PMD maps the new folio; the emptied table
 * is deposited with it, for a split that then cannot fail.
 * Context: mmap_lock held for write; takes and drops the PMD lock.
 */
static void collapse_install_pmd(struct collapse_window *w)
{
	struct sim *sim = w->mm->sim;
	uint64_t pmd = ((uint64_t)w->head << PMD_PFN_SHIFT) | PMD_HUGE |
		       PMD_YOUNG | PMD_DIRTY;

	if (w->v->prot & SIM_PROT_WRITE)
		pmd |= PMD_WRITE;
	pmd_lock(w->pmdt);
	w->pmd_locked = true;
	if (ld_acquire(w->pmdp))
		sim_bug("collapse_install_pmd: the PMD is not none");
	folio_add_pmd(sim, w->head, w->mm->id);
	pgtable_deposit(w->pmdt, w->pmdp, w->t);	/* emptied by the copy */
	st_release(w->pmdp, pmd);
	shrinker_queue(sim, w->head);
	pmd_unlock(w->pmdt);
	w->pmd_locked = false;
}

/*
 * INSTALL below PMD order: the table back under the PMD first, then the
 * window's PTEs map the new folio (the 7.2 order).
 * Context: mmap_lock held for write, the anon_vma locked for write; takes
 * and drops the PMD lock and, inside it, the PTE lock.
 */
static void collapse_install_ptes(struct collapse_window *w)
{
	struct sim *sim = w->mm->sim;
	uint32_t nr = 1u << w->order, bits = PTE_YOUNG | PTE_DIRTY;

	if (w->v->prot & SIM_PROT_WRITE)
		bits |= PTE_WRITE;
	pmd_lock(w->pmdt);
	w->pmd_locked = true;
	pte_lock(w->t);
	w->pte_locked = true;
	pmd_populate(w->pmdp, w->t);
	folio_add_ptes(sim, w->head, nr, w->mm->id);
	for (uint32_t k = 0; k < nr; k++)
		st_relaxed(&w->t->ptes[w->off + k], pte_mk(w->head + k, bits));
	pte_unlock(w->t);
	w->pte_locked = false;
	pmd_unlock(w->pmdt);
	w->pmd_locked = false;
}

/*
 * Collapse the window [off, off + 2^order) of the PMD range at pmd_addr
 * into a new folio of that order: the steps drawn at the top of the file.
 * Each unwind label undoes one state, named for it; the locks are released
 * by their booleans.
 * Context: no mmap_lock held on entry or on return; takes the world lock
 * (debug builds) for the attempt, but for the injected race between the
 * read unlock and the write lock.
 */
static enum mthp_result collapse_huge_page(struct sim_mm *mm, uint64_t pmd_addr,
					   uint32_t off, unsigned order,
					   struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	struct collapse_window w = { .mm = mm, .cc = cc, .pmd_addr = pmd_addr,
				     .off = off, .order = order, .head = SIM_NO_PFN };
	uint64_t addr = pmd_addr + ((uint64_t)off << sim->page_shift);
	struct sim_mm *child = NULL;
	bool installed = false;
	enum mthp_result result;

	lockdep_assert_not_held(LOCK_MMAP, mm);
	world_enter(sim);
	sim_doing("collapse_huge_page: ALLOC", mm, addr, order);
	result = alloc_charge_folio(mm, cc, order, &w.head);
	if (result != SCAN_SUCCEED)
		goto out_nolock;
	sim_doing("collapse_huge_page: REVALIDATE and SWAPIN (mmap_lock read)", mm, addr,
		  order);
	result = collapse_prepare(&w);
	if (result != SCAN_SUCCEED)
		goto out_put_folio;
	/* an injected munmap, mremap or fork between the read and write locks */
	world_exit(sim);
	child = inject_race_point(mm, pmd_addr);
	world_enter(sim);

	mmap_write_lock(mm);
	w.mmap_locked = true;
	sim_doing("collapse_huge_page: LOCK (revalidate under mmap_lock write)", mm, addr,
		  order);
	result = hugepage_vma_revalidate(mm, pmd_addr, order, cc, &w.rules, &w.v);
	if (result != SCAN_SUCCEED)
		goto out_up_write;
	/* faults under the per-VMA lock end first; later ones take mmap_lock */
	vma_start_write(mm, w.v);
	st_relaxed(&mm->collapsing, pmd_addr + 1);	/* no fault may come here */
	result = check_pmd_still_valid(&w);
	if (result != SCAN_SUCCEED)
		goto out_up_write;
	w.av = w.v->anon_vma;
	if (!w.av)
		sim_bug("collapse_huge_page: anon_vma_lock_write of a VMA with no anon_vma");
	anon_vma_lock_write(w.av);
	w.anon_vma_locked = true;

	sim_doing("collapse_huge_page: DETACH (pmdp_collapse_flush)", mm, addr, order);
	collapse_detach(&w);
	sim_doing("collapse_huge_page: ISOLATE", mm, addr, order);
	result = collapse_isolate_window(&w);
	if (result != SCAN_SUCCEED)
		goto out_unlock_anon_vma;
	if (order == sim->geo.pmd_order) {
		/* every page of the range is isolated: rmap has nothing to find */
		anon_vma_unlock_write(w.av);
		w.anon_vma_locked = false;
	}
	/* another CPU's folio_referenced() on the folios beside the window */
	if (inject_fail(sim, SIM_INJECT_RMAP)) {
		rmap_walk_beside_window(mm, w.av, w.t, pmd_addr, off, 1u << order);
		/* and a fault in the window, which the VMA's write lock stops */
		fault_race_vma_lock(mm, addr);
	}
	sim_doing("collapse_huge_page: COPY", mm, addr, order);
	result = collapse_copy_window(&w);
	if (result != SCAN_SUCCEED)
		goto out_unlock_anon_vma;
	sim_doing("collapse_huge_page: INSTALL", mm, addr, order);
	if (order == sim->geo.pmd_order)
		collapse_install_pmd(&w);
	else
		collapse_install_ptes(&w);
	installed = true;
	/* the new folio joins the LRU: a large folio drains the batch */
	collapse_lru_drain(cc);

out_unlock_anon_vma:
	if (w.anon_vma_locked) {	/* PMD order: unlocked after ISOLATE */
		anon_vma_unlock_write(w.av);
		w.anon_vma_locked = false;
	}
out_up_write:
	if (w.mmap_locked) {
		st_relaxed(&mm->collapsing, 0);
		mmap_write_unlock(mm);
		w.mmap_locked = false;
	}
out_put_folio:
	folio_put(sim, w.head, 1);	/* the mapping holds its own if installed */
out_nolock:
	world_exit(sim);
	window_assert_unlocked(&w);
	sim_doing_clear();
	if (child)
		sim_exit(child);	/* the racing fork's child */
	if (w.child)
		sim_exit(w.child);	/* the one forked in the swap-in's wait */
	trace_collapse_huge_page(mm, cc, installed, result, order);
	return result;
}

/*
 * The scan_pfn of mm_khugepaged_scan_pmd: the head pfn of the last folio
 * the scan looked at, up to and including PTE last, or -1.
 * Context: mmap_lock held; takes and drops the PTE lock.
 */
static unsigned long long scan_last_pfn(struct sim_mm *mm, uint64_t pmd_addr,
					uint32_t last)
{
	struct sim *sim = mm->sim;
	unsigned long long pfn;
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;
	uint64_t *pmdp;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	if (pmd_lookup_kind(mm, pmd_addr, &pmdp, &pmdt, &t) != MTHP_PMD_TABLE)
		return (unsigned long long)-1;
	if (last >= sim->geo.ptes_per_pmd)
		last = sim->geo.ptes_per_pmd - 1;
	pte_lock(t);
	pfn = last_folio_pfn(sim, t, 0, last);
	pte_unlock(t);
	return pfn;
}

/*
 * The mm_khugepaged_scan_pmd line of a range: the scan's counts and the
 * last folio it looked at, with the range's result, known only once the
 * collapses it led to are done.  Context: any.
 */
static void trace_scan_pmd(struct sim_mm *mm, const struct collapse_control *cc,
			   enum mthp_result result)
{
	trace_event(mm->sim, SIM_TRACE_SCAN_PMD, cc->context, mm,
		    "mm=%016llx, scan_pfn=0x%llx, referenced=%u, none_or_zero=%u, "
		    "status=%s, unmapped=%u", trace_mm_ptr(mm), cc->scan_pfn,
		    cc->scan.referenced, cc->scan.none_or_zero, mthp_result_status(result),
		    cc->scan.unmapped);
}

/*
 * SCAN: plan the PMD range with the engine (precheck, then scan), count
 * and trace the result.  Context: world lock (debug builds) and mmap_lock
 * held for read.
 */
static enum mthp_result collapse_scan_range(struct sim_mm *mm, const struct sim_vma *v,
					    uint64_t pmd_addr,
					    struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	struct mthp_range range = {
		.pmd_addr = pmd_addr,
		.vma_start = v->start,
		.vma_end = v->end,
		.ptes = cc->ptes,
		.folio_orders = cc->orders,
		.folio_fills = cc->fills,
	};
	enum mthp_result result;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_READ);
	lockdep_assert_held(LOCK_WORLD, sim, LOCK_READ);
	collapse_rules(cc, v, &cc->rules);
	range.kind = cc->rules.eligible ?
		     sim_pmd_states(mm, pmd_addr, cc->ptes, cc->orders, cc->fills) :
		     MTHP_PMD_NONE;
	result = mthp_precheck(&cc->rules, &range);
	/* the counts of a range not scanned, as Linux traces them */
	cc->scan.referenced = cc->scan.none_or_zero = cc->scan.unmapped = 0;
	cc->scan_pfn = (unsigned long long)-1;
	cc->progress = 1;	/* no table to scan: one */
	if (result == SCAN_SUCCEED) {
		mthp_scan(&cc->scan, &cc->rules, cc->ptes, cc->orders);
		cc->scan.folio_fills = cc->fills;
		result = cc->scan.result;
		cc->progress = mthp_scan_progress(&cc->scan);
		if (cc->context == MTHP_CONTEXT_KHUGEPAGED)
			__atomic_fetch_add(&sim->khugepaged.ptes_scanned,
					   sim->geo.ptes_per_pmd, __ATOMIC_RELAXED);
		count_exceed(sim, result, sim->geo.pmd_order);
		if (trace_on(sim, SIM_TRACE_SCAN_PMD))
			cc->scan_pfn = scan_last_pfn(mm, pmd_addr, cc->scan.fail_index);
	}
	/*
	 * Linux traces every range it looks up (a failed PMD lookup with no
	 * counts); the VMA checks come before, untraced.  A range whose scan
	 * succeeded is traced once its collapses are done.
	 */
	if (result != SCAN_SUCCEED && result != SCAN_VMA_CHECK && result != SCAN_ADDRESS_RANGE &&
	    trace_on(sim, SIM_TRACE_SCAN_PMD))
		trace_scan_pmd(mm, cc, result);
	if (cc->context == MTHP_CONTEXT_KHUGEPAGED)
		__atomic_fetch_add(&sim->khugepaged.scan_results[result], 1, __ATOMIC_RELAXED);
	return result;
}

/*
 * Collapse each window the walk of the scanned range chooses, reporting
 * each result back to the walk and to the observer.  The result of the
 * range: SUCCEED if any window collapsed, else ALLOC_HUGE_PAGE_FAIL if
 * an allocation failed, else the last failure other than
 * PTE_MAPPED_HUGEPAGE, else FAIL (also when no window was attempted).
 * Context: no simulator lock held (each collapse takes its own).
 */
static enum mthp_result collapse_windows(struct sim_mm *mm, uint64_t pmd_addr,
					 struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	enum mthp_result result, last = SCAN_FAIL;
	struct mthp_window win;
	bool alloc_failed = false;
	uint32_t mm_id = mm->id;

	mthp_walk_init(&cc->walk, &cc->rules, &cc->scan);
	while (mthp_walk_next(&cc->walk, &win)) {
		struct sim_collapse_event ev = {
			.mm_id = mm_id,
			.pmd_addr = pmd_addr,
			.addr = pmd_addr + win.offset * sim->geo.page_size,
			.order = win.order,
			.context = cc->context,
		};
		struct sim_mm *child;

		child = inject_race_point(mm, pmd_addr);
		cc->nr_tried++;
		result = collapse_huge_page(mm, pmd_addr, win.offset, win.order, cc);
		if (child)
			sim_exit(child);	/* the racing fork's child */
		if (result == SCAN_SUCCEED) {
			cc->nr_done++;
			ev.filled = cc->filled;
			ev.filled_map = cc->filled_map;
		}
		else if (result == SCAN_ALLOC_HUGE_PAGE_FAIL)
			alloc_failed = true;
		/* as Linux 7.2: a window already a large enough folio is not a failure */
		if (result != SCAN_SUCCEED && result != SCAN_PTE_MAPPED_HUGEPAGE)
			last = result;
		ev.result = result;
		ev.lru_batched = cc->lru_nr;
		trace_observe(sim, &ev);
		mthp_walk_report(&cc->walk, result);
	}
	if (cc->nr_done)
		return SCAN_SUCCEED;
	return alloc_failed ? SCAN_ALLOC_HUGE_PAGE_FAIL : last;
}

enum mthp_result collapse_scan_pmd(struct sim_mm *mm, const struct sim_vma *v,
				   uint64_t pmd_addr, bool *mmap_locked,
				   struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	enum mthp_result result;

	cc->nr_done = 0;
	cc->nr_tried = 0;
	result = collapse_scan_range(mm, v, pmd_addr, cc);
	if (result != SCAN_SUCCEED)
		return result;	/* *mmap_locked still true: both held */

	/* the collapse takes its own locks: drop ours */
	mmap_unlock(mm);
	*mmap_locked = false;
	world_exit(sim);
	result = collapse_windows(mm, pmd_addr, cc);
	if (trace_on(sim, SIM_TRACE_SCAN_PMD))
		trace_scan_pmd(mm, cc, result);
	if (cc->context == MTHP_CONTEXT_KHUGEPAGED) {
		enum sim_walk_outcome w = cc->nr_done ? SIM_WALK_COLLAPSED :
					  cc->nr_tried ? SIM_WALK_ALL_FAILED : SIM_WALK_NONE_PASSED;

		__atomic_fetch_add(&sim->khugepaged.walk_outcomes[w], 1, __ATOMIC_RELAXED);
	}
	/* *mmap_locked is false: neither lock is held on this return */
	lockdep_assert_not_held(LOCK_MMAP, mm);
	lockdep_assert_not_held(LOCK_WORLD, sim);
	return result;
}
