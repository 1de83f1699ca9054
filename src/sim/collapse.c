// SPDX-License-Identifier: MIT
/*
 * collapse.c - collapsing one PMD range (collapse_scan_pmd) and one window
 * of it at one order (collapse_huge_page), for khugepaged and
 * MADV_COLLAPSE alike, with the kernel's lock protocol.  Every decision
 * is the engine's: the range is scanned with mthp_scan(), the windows come
 * from mthp_walk_next(), and the swap-in and isolate re-checks are
 * mthp_attempt_swapin() and mthp_attempt_isolate() on a fresh scan of the
 * table this code holds locked.  Nothing here decides what to collapse.
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
 *     it; the exit path releases by those booleans, never by the order or
 *     the result.
 *   - Locks nest in the order written at the top of lockdep.c (world,
 *     mmap_lock, anon_vma, PMD lock, PTE lock); debug builds check it and
 *     assert every Context: line.
 *
 * The state machine of collapse_huge_page (one window, order o):
 *
 *            [no lock]
 *   ALLOC    alloc_charge_folio()  -- fail: ALLOC_HUGE_PAGE_FAIL or
 *               |                     CGROUP_CHARGE_FAIL; undo: put folio
 *               v
 *   REVALIDATE [mmap_lock read]  hugepage_vma_revalidate(), find_pmd()
 *               |                -- fail: ANY_PROCESS, VMA_NULL,
 *               |                   ADDRESS_RANGE, VMA_CHECK, PAGE_ANON,
 *               |                   NO_PTE_TABLE, PMD_MAPPED;
 *               |                   undo: drop read lock, put folio
 *               v
 *   SWAPIN   [mmap_lock read, PTE lock]  collapse_swapin() (if unmapped)
 *               |                -- fail: EXCEED_SWAP_PTE (below PMD),
 *               |                   FAIL; undo: as above (pages swapped
 *               |                   in stay in)
 *               v                drop read lock
 *   LOCK     [mmap_lock write]  hugepage_vma_revalidate(), find_pmd()
 *               |                -- fail: as REVALIDATE; undo: drop
 *               |                   write lock, put folio
 *               v
 *            [+ anon_vma write]  anon_vma_lock_write()
 *   DETACH   [+ PMD lock]        pmdp_collapse_flush(): PMD cleared
 *               v
 *   ISOLATE  [+ PTE lock]        collapse_isolate(): engine re-check, then
 *               |                folio trylock, refcount, LRU isolation
 *               |                -- fail: EXCEED_*, PTE_NON_PRESENT,
 *               |                   PTE_UFFD_WP, PAGE_*, DEL_PAGE_LRU,
 *               |                   PTE_MAPPED_HUGEPAGE,
 *               |                   LACK_REFERENCED_PAGE;
 *               |                   undo: release the isolated folios,
 *               |                   pmd_populate() the table back under
 *               |                   the PMD lock, unlock anon_vma, drop
 *               |                   write lock, put folio
 *               v                o == PMD: anon_vma unlocked here
 *   COPY     [PTE lock]          collapse_copy(): tags copied, none and
 *               |                zero PTEs zero-filled, old PTEs cleared,
 *               |                old folios released
 *               |                -- fail (machine check): COPY_MC before
 *               |                   anything is cleared; undo: release the
 *               |                   isolated folios, pmd_populate() the
 *               |                   table back, as ISOLATE's undo
 *               v
 *   INSTALL  [PMD lock]          o == PMD: a huge PMD, the table freed;
 *            [PMD + PTE lock]    o < PMD: pmd_populate() first, then the
 *               |                window's PTEs (the 7.2 order)
 *               v
 *   RELEASE  anon_vma unlocked if still locked, write lock dropped,
 *            trace mm_collapse_huge_page.
 *
 * Fault injection (inject.c) fires at ALLOC (allocation, charge),
 * REVALIDATE (both revalidations), ISOLATE (LRU isolation) and COPY, and
 * runs its racing munmap/mremap/fork before each window's ALLOC, in
 * collapse_scan_pmd, where no lock is held.
 *
 * collapse_scan_pmd (one PMD range) runs under mmap_lock held for read:
 * precheck and scan with the engine; a failure returns with the lock held.
 * On SCAN_SUCCEED it drops the lock (and says so in *mmap_locked), then
 * hands each window of the walk to collapse_huge_page and reports the
 * result back to the walk.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/sim_internal.h"

struct collapse_control {
	struct sim *sim;
	enum mthp_policy policy;
	enum mthp_context context;
	struct mthp_rules rules;	/* the range's, for the scan and walk */
	struct mthp_scan scan;		/* the range's scan */
	struct mthp_walk walk;
	struct mthp_scan recheck;	/* a fresh scan of the locked table */
	uint32_t nr_done;		/* windows collapsed in the range */
	uint32_t filled;		/* none/zero PTEs the last copy zero-filled */
	uint32_t nr_isolated;
	uint8_t ptes[MTHP_MAX_PTES];
	uint8_t orders[MTHP_MAX_PTES];
	uint8_t reptes[MTHP_MAX_PTES];
	uint8_t reorders[MTHP_MAX_PTES];
	uint32_t isolated[MTHP_MAX_PTES];	/* heads of the isolated folios */
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
	free(cc);
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

void collapse_rules(struct collapse_control *cc, const struct sim_vma *v,
		    struct mthp_rules *rules)
{
	mthp_rules_init(rules, sim_settings(cc->sim), cc->policy, cc->context,
			vma_snapshot_flags(v));
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
 * Allocate and charge the new folio.
 * Context: no mmap_lock held (the kernel may reclaim and compact here).
 */
static enum mthp_result alloc_charge_folio(struct sim_mm *mm, unsigned order,
					   uint32_t *head)
{
	struct sim *sim = mm->sim;
	bool pmd = order == sim->geo.pmd_order;

	lockdep_assert_not_held(LOCK_MMAP, NULL);
	if (inject_fail(sim, SIM_INJECT_ALLOC) || folio_alloc(sim, order, head)) {
		*head = SIM_NO_PFN;
		count_mthp(sim, order, MS_COLLAPSE_ALLOC_FAILED);
		if (pmd)
			count_vm(sim, VM_THP_COLLAPSE_ALLOC_FAILED);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	count_mthp(sim, order, MS_COLLAPSE_ALLOC);
	if (pmd)
		count_vm(sim, VM_THP_COLLAPSE_ALLOC);
	if (inject_fail(sim, SIM_INJECT_CHARGE) || folio_charge(sim, *head, mm->memcg)) {
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
	uint64_t *pmdp, pmd;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	pmdp = pmd_lookup(mm, pmd_addr, false, pmdtp);
	if (!pmdp)
		return SCAN_NO_PTE_TABLE;
	pmd = ld_acquire(pmdp);
	if (pmd_is_huge(pmd))
		return SCAN_PMD_MAPPED;
	if (!pmd_is_table(pmd))
		return SCAN_NO_PTE_TABLE;
	*pmdpp = pmdp;
	return SCAN_SUCCEED;
}

/* Number of set bits of a scan bitmap in the window. */
static uint32_t window_count(const uint64_t *map, uint32_t off, unsigned order)
{
	return mthp_bitmap_count(map, off, 1u << order);
}

/*
 * Swap in the window's swap entries (the engine vetoes any below PMD
 * order).  Context: mmap_lock held for read; takes and drops the PTE lock.
 */
static enum mthp_result collapse_swapin(struct sim_mm *mm, const struct sim_vma *v,
					uint64_t *pmdp, uint32_t off, unsigned order,
					const struct mthp_rules *rules,
					struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	struct sim_pte_table *t = pmd_table(ld_acquire(pmdp));
	uint32_t nr = 1u << order, swapped_in = 0, referenced;
	enum mthp_result result;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_READ);
	pte_lock(t);
	table_states(sim, t, cc->reptes, cc->reorders);
	mthp_scan(&cc->recheck, rules, cc->reptes, cc->reorders);
	referenced = window_count(cc->recheck.young, off, order);
	result = mthp_attempt_swapin(rules, &cc->recheck, off, order);
	for (uint32_t i = off; result == SCAN_SUCCEED && i < off + nr; i++) {
		uint32_t pte = t->ptes[i];

		if (!pte_is_swap(pte) || !pte_slot(pte) || (pte & PTE_SWP_UFFD_WP))
			continue;
		if (swapin_pte(mm, v, t, i, false))
			result = SCAN_FAIL;
		else
			swapped_in++;
	}
	pte_unlock(t);
	count_exceed(sim, result, order);
	if (trace_on(sim))
		trace_printf(sim, "mm_collapse_huge_page_swapin: mm=%016llx, swapped_in=%u, "
			     "referenced=%u, ret=%d, order=%u", trace_mm_ptr(mm),
			     swapped_in, referenced, result == SCAN_SUCCEED, order);
	return result;
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
	if (folio_refcount(sim, head) != expected) {
		folio_unlock(sim, head);
		return SCAN_PAGE_COUNT;
	}
	if (!folio_test_flag(sim, head, PG_LRU) || inject_fail(sim, SIM_INJECT_LRU)) {
		folio_unlock(sim, head);
		return SCAN_DEL_PAGE_LRU;
	}
	folio_clear_flag(sim, head, PG_LRU);
	folio_get(sim, head, 1);
	return SCAN_SUCCEED;
}

/* Put the isolated folios back on the LRU, unlocked, without our reference. */
static void release_isolated(struct sim *sim, struct collapse_control *cc)
{
	for (uint32_t k = 0; k < cc->nr_isolated; k++) {
		uint32_t head = cc->isolated[k];

		folio_set_flag(sim, head, PG_LRU);
		folio_unlock(sim, head);
		folio_put(sim, head, 1);
	}
	cc->nr_isolated = 0;
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
	uint32_t nr = 1u << order;
	unsigned long long first_pfn = ~0ull;
	enum mthp_result result;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_held(LOCK_ANON_VMA, NULL, LOCK_WRITE);
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	table_states(sim, t, cc->reptes, cc->reorders);
	mthp_scan(&cc->recheck, rules, cc->reptes, cc->reorders);
	result = mthp_attempt_isolate(rules, &cc->recheck, off, order, false);
	count_exceed(sim, result, order);
	cc->nr_isolated = 0;
	for (uint32_t i = off; result == SCAN_SUCCEED && i < off + nr; i++) {
		uint32_t pte = t->ptes[i], head;

		if (!pte_present(pte) || pte_pfn(pte) == sim->pm.zero_pfn)
			continue;
		if (first_pfn == ~0ull)
			first_pfn = pte_pfn(pte);
		head = folio_head(sim, pte_pfn(pte));
		if (already_isolated(sim, cc, head))
			continue;
		result = isolate_folio(sim, head);
		if (result == SCAN_SUCCEED)
			cc->isolated[cc->nr_isolated++] = head;
	}
	if (result != SCAN_SUCCEED)
		release_isolated(sim, cc);
	if (trace_on(sim))
		trace_printf(sim, "mm_collapse_huge_page_isolate: scan_pfn=0x%llx, "
			     "none_or_zero=%u, referenced=%u, status=%s, order=%u",
			     first_pfn == ~0ull ? (unsigned long long)-1 : first_pfn,
			     window_count(cc->recheck.none, off, order),
			     window_count(cc->recheck.young, off, order),
			     mthp_result_status(result), order);
	return result;
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

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	cc->filled = 0;
	for (uint32_t k = 0; k < nr; k++) {
		uint32_t pte = t->ptes[off + k];

		if (pte_present(pte) && pte_pfn(pte) != sim->pm.zero_pfn) {
			page_set_tag(sim, head + k, page_tag(sim, pte_pfn(pte)));
		} else {
			page_set_tag(sim, head + k, 0);
			cc->filled++;
		}
		t->ptes[off + k] = 0;
		zap_pte(mm, pte);
	}
	release_isolated(sim, cc);
}

/*
 * Collapse the window [off, off + 2^order) of the PMD range at pmd_addr
 * into a new folio of that order; see the state machine at the top.
 * Context: no mmap_lock held on entry or on return; takes the world lock
 * (debug builds) for the whole attempt.
 */
static enum mthp_result collapse_huge_page(struct sim_mm *mm, uint64_t pmd_addr,
					   uint32_t off, unsigned order,
					   struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	bool pmd_order = order == sim->geo.pmd_order;
	uint32_t nr = 1u << order, head = SIM_NO_PFN;
	const struct sim_vma *v = NULL;
	struct sim_anon_vma *av = NULL;
	struct sim_pmd_table *pmdt = NULL;
	struct sim_pte_table *t = NULL;
	uint64_t *pmdp = NULL;
	struct mthp_rules rules;
	bool mmap_locked = false;
	bool anon_vma_locked = false;
	bool pmd_locked = false;
	bool pte_locked = false;
	bool folio_used = false;
	enum mthp_result result;

	lockdep_assert_not_held(LOCK_MMAP, mm);
	world_enter(sim);

	/* ALLOC: no lock */
	result = alloc_charge_folio(mm, order, &head);
	if (result != SCAN_SUCCEED)
		goto out;

	/* REVALIDATE and SWAPIN: read lock */
	mmap_read_lock(mm);
	mmap_locked = true;
	result = hugepage_vma_revalidate(mm, pmd_addr, order, cc, &rules, &v);
	if (result == SCAN_SUCCEED)
		result = find_pmd(mm, pmd_addr, &pmdp, &pmdt);
	if (result == SCAN_SUCCEED && cc->scan.unmapped > 0)
		result = collapse_swapin(mm, v, pmdp, off, order, &rules, cc);
	mmap_unlock(mm);
	mmap_locked = false;
	if (result != SCAN_SUCCEED)
		goto out;

	/* LOCK: write lock, revalidate again, anon_vma */
	mmap_write_lock(mm);
	mmap_locked = true;
	result = hugepage_vma_revalidate(mm, pmd_addr, order, cc, &rules, &v);
	if (result == SCAN_SUCCEED)
		result = find_pmd(mm, pmd_addr, &pmdp, &pmdt);
	if (result != SCAN_SUCCEED)
		goto out;
	av = v->anon_vma;
	anon_vma_lock_write(av);
	anon_vma_locked = true;

	/* DETACH: the whole PMD is cleared, whatever the order */
	pmd_lock(pmdt);
	pmd_locked = true;
	t = pmdp_collapse_flush(pmdp);
	pmd_unlock(pmdt);
	pmd_locked = false;

	/* ISOLATE */
	pte_lock(t);
	pte_locked = true;
	result = collapse_isolate(mm, t, off, order, &rules, cc);
	pte_unlock(t);
	pte_locked = false;
	if (result != SCAN_SUCCEED) {
		pmd_lock(pmdt);
		pmd_locked = true;
		pmd_populate(pmdp, t);
		pmd_unlock(pmdt);
		pmd_locked = false;
		goto out;
	}
	if (pmd_order) {
		/* every page of the range is isolated: rmap has nothing to find */
		anon_vma_unlock_write(av);
		anon_vma_locked = false;
	}

	/* COPY: a machine check puts everything back (SCAN_COPY_MC) */
	pte_lock(t);
	pte_locked = true;
	if (inject_fail(sim, SIM_INJECT_COPY_MC)) {
		release_isolated(sim, cc);
		result = SCAN_COPY_MC;
	} else {
		collapse_copy(mm, t, off, order, head, cc);
	}
	pte_unlock(t);
	pte_locked = false;
	if (result != SCAN_SUCCEED) {
		pmd_lock(pmdt);
		pmd_locked = true;
		pmd_populate(pmdp, t);
		pmd_unlock(pmdt);
		pmd_locked = false;
		goto out;
	}

	/* INSTALL */
	if (pmd_order) {
		uint64_t pmd = ((uint64_t)head << PMD_PFN_SHIFT) | PMD_HUGE |
			       PMD_YOUNG | PMD_DIRTY;

		if (v->prot & SIM_PROT_WRITE)
			pmd |= PMD_WRITE;
		pmd_lock(pmdt);
		pmd_locked = true;
		folio_add_pmd(sim, head, mm->id);
		st_release(pmdp, pmd);
		pmd_unlock(pmdt);
		pmd_locked = false;
		pte_table_free(t);
	} else {
		uint32_t bits = PTE_YOUNG | PTE_DIRTY;

		if (v->prot & SIM_PROT_WRITE)
			bits |= PTE_WRITE;
		pmd_lock(pmdt);
		pmd_locked = true;
		pte_lock(t);
		pte_locked = true;
		pmd_populate(pmdp, t);
		folio_add_ptes(sim, head, nr, mm->id);
		for (uint32_t k = 0; k < nr; k++)
			t->ptes[off + k] = pte_mk(head + k, bits);
		pte_unlock(t);
		pte_locked = false;
		pmd_unlock(pmdt);
		pmd_locked = false;
	}
	folio_used = true;
	result = SCAN_SUCCEED;

out:
	/* RELEASE, by what is held */
	if (pte_locked)
		pte_unlock(t);
	if (pmd_locked)
		pmd_unlock(pmdt);
	if (anon_vma_locked)
		anon_vma_unlock_write(av);
	if (mmap_locked)
		mmap_unlock(mm);
	if (head != SIM_NO_PFN)
		folio_put(sim, head, 1);	/* the mapping holds its own if used */
	world_exit(sim);
	lockdep_assert_not_held(LOCK_MMAP, mm);
	lockdep_assert_not_held(LOCK_ANON_VMA, NULL);
	if (trace_on(sim))
		trace_printf(sim, "mm_collapse_huge_page: mm=%016llx, isolated=%d, "
			     "status=%s, order=%u", trace_mm_ptr(mm), folio_used,
			     mthp_result_status(result), order);
	return result;
}

/*
 * The pfn of the last page the scan looked at.
 * Context: mmap_lock held; takes and drops the PTE lock.
 */
static unsigned long long scan_last_pfn(struct sim_mm *mm, uint64_t pmd_addr,
					uint32_t last)
{
	struct sim *sim = mm->sim;
	struct sim_pmd_table *pmdt;
	uint64_t *pmdp = pmd_lookup(mm, pmd_addr, false, &pmdt), pmd;
	unsigned long long pfn = (unsigned long long)-1;
	struct sim_pte_table *t;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	if (!pmdp || !pmd_is_table(pmd = ld_acquire(pmdp)))
		return pfn;
	t = pmd_table(pmd);
	pte_lock(t);
	for (uint32_t i = 0; i <= last && i < sim->geo.ptes_per_pmd; i++) {
		uint32_t pte = t->ptes[i];

		if (pte_present(pte) && pte_pfn(pte) != sim->pm.zero_pfn)
			pfn = pte_pfn(pte);
	}
	pte_unlock(t);
	return pfn;
}

enum mthp_result collapse_scan_pmd(struct sim_mm *mm, const struct sim_vma *v,
				   uint64_t pmd_addr, bool *mmap_locked,
				   struct collapse_control *cc)
{
	struct sim *sim = mm->sim;
	uint64_t page_size = sim->geo.page_size;
	struct mthp_range range = {
		.pmd_addr = pmd_addr,
		.vma_start = v->start,
		.vma_end = v->end,
		.ptes = cc->ptes,
		.folio_orders = cc->orders,
	};
	enum mthp_result result, last = SCAN_FAIL;
	struct mthp_window win;
	bool alloc_failed = false;
	uint32_t mm_id = mm->id;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_READ);
	lockdep_assert_held(LOCK_WORLD, sim, LOCK_READ);
	cc->nr_done = 0;
	collapse_rules(cc, v, &cc->rules);
	range.kind = cc->rules.eligible ?
		     sim_pmd_states(mm, pmd_addr, cc->ptes, cc->orders) : MTHP_PMD_NONE;
	result = mthp_precheck(&cc->rules, &range);
	if (result == SCAN_SUCCEED) {
		mthp_scan(&cc->scan, &cc->rules, cc->ptes, cc->orders);
		result = cc->scan.result;
		if (cc->context == MTHP_CONTEXT_KHUGEPAGED)
			__atomic_fetch_add(&sim->khugepaged.ptes_scanned,
					   sim->geo.ptes_per_pmd, __ATOMIC_RELAXED);
		count_exceed(sim, result, sim->geo.pmd_order);
		if (trace_on(sim))
			trace_printf(sim, "mm_khugepaged_scan_pmd: mm=%016llx, scan_pfn=0x%llx, "
				     "referenced=%u, none_or_zero=%u, status=%s, unmapped=%u",
				     trace_mm_ptr(mm),
				     scan_last_pfn(mm, pmd_addr, cc->scan.fail_index),
				     cc->scan.referenced, cc->scan.none_or_zero,
				     mthp_result_status(result), cc->scan.unmapped);
	}
	if (cc->context == MTHP_CONTEXT_KHUGEPAGED)
		__atomic_fetch_add(&sim->khugepaged.scan_results[result], 1, __ATOMIC_RELAXED);
	if (result != SCAN_SUCCEED)
		return result;	/* *mmap_locked still true: both held */

	/* the collapse takes its own locks: drop ours */
	mmap_unlock(mm);
	*mmap_locked = false;
	world_exit(sim);

	mthp_walk_init(&cc->walk, &cc->rules, &cc->scan);
	while (mthp_walk_next(&cc->walk, &win)) {
		struct sim_collapse_event ev = {
			.mm_id = mm_id,
			.pmd_addr = pmd_addr,
			.addr = pmd_addr + win.offset * page_size,
			.order = win.order,
			.context = cc->context,
		};
		struct sim_mm *child;

		child = inject_race_point(mm, pmd_addr);
		result = collapse_huge_page(mm, pmd_addr, win.offset, win.order, cc);
		if (child)
			sim_exit(child);	/* the racing fork's child */
		if (result == SCAN_SUCCEED) {
			cc->nr_done++;
			ev.filled = cc->filled;
		}
		else if (result == SCAN_ALLOC_HUGE_PAGE_FAIL)
			alloc_failed = true;
		if (result != SCAN_SUCCEED)
			last = result;
		ev.result = result;
		trace_observe(sim, &ev);
		mthp_walk_report(&cc->walk, result);
	}
	/* *mmap_locked is false: neither lock is held on this return */
	lockdep_assert_not_held(LOCK_MMAP, mm);
	lockdep_assert_not_held(LOCK_WORLD, sim);
	if (cc->nr_done)
		return SCAN_SUCCEED;
	return alloc_failed ? SCAN_ALLOC_HUGE_PAGE_FAIL : last;
}
