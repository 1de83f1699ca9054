// SPDX-License-Identifier: MIT
/*
 * advice.c - madvise (HUGEPAGE, NOHUGEPAGE, DONTNEED, FREE, PAGEOUT,
 * POPULATE_WRITE), userfaultfd registration and write-protection, and
 * aging (clearing young bits).  VMA flag changes split and merge VMAs
 * under mmap_lock held for write; the page-table ones run under the read
 * lock, PMD by PMD, with the PTE lock of each table.
 */
#include <errno.h>

#include "sim/check.h"
#include "sim/fault.h"
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pageout.h"
#include "sim/pgtable.h"
#include "sim/vma.h"
#include "sim/world.h"

/* One page-table operation over a range. */
struct pte_op {
	/* Context: PTE lock of t held.  PTEs [first, last] of t. */
	void (*fn)(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		   uint32_t last, void *ctx);
	/* Context: PMD lock held.  A huge PMD the range covers whole; NULL:
	 * split it and use fn. */
	void (*huge_fn)(struct sim_mm *mm, uint64_t *pmdp, void *ctx);
	void *ctx;
};

/*
 * Context: mmap_lock held; takes and drops the PMD lock (a huge PMD),
 * then takes and drops the PTE lock of the table.
 */
static int pte_op_pmd(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		      uint64_t start, uint64_t end, void *ctx)
{
	struct pte_op *op = ctx;
	struct sim *sim = mm->sim;
	bool whole = end - start == mthp_pmd_size(&sim->geo);
	uint64_t pmd = ld_acquire(pmdp);
	struct sim_pte_table *t;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	lockdep_assert_not_held(LOCK_PTE, NULL);
	if (pmd_is_huge(pmd) && whole && op->huge_fn) {
		pmd_lock(pmdt);
		if (pmd_is_huge(ld_acquire(pmdp))) {
			op->huge_fn(mm, pmdp, op->ctx);
			pmd_unlock(pmdt);
			return 0;
		}
		pmd_unlock(pmdt);
	}
	err = pmd_split_table(mm, pmdp, pmdt, pmd, &t);
	if (err || !t)
		return err;
	pte_lock(t);
	op->fn(mm, t, pte_index(sim, start), pte_index(sim, end - 1), op->ctx);
	pte_unlock(t);
	return 0;
}

/* Context: mmap_lock held. */
static int pte_op_range(struct sim_mm *mm, uint64_t start, uint64_t end,
			struct pte_op *op)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	return walk_pmds(mm, start, end, pte_op_pmd, op);
}

/* ---- MADV_FREE ---- */

/* Context: PTE lock of t held. */
static void free_ptes(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		      uint32_t last, void *ctx)
{
	struct sim *sim = mm->sim;

	(void)ctx;
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = first; i <= last; i++) {
		uint32_t pte = t->ptes[i], pfn, head;
		unsigned order;

		if (pte_is_swap(pte) && pte_slot(pte)) {
			st_relaxed(&t->ptes[i], 0);
			zap_pte(mm, pte);
			continue;
		}
		if (!pte_present(pte) || pte_pfn(pte) == sim->pm.zero_pfn)
			continue;
		pfn = pte_pfn(pte);
		head = folio_head(sim, pfn);
		order = sim_pg(sim, head)->order;
		if (folio_maybe_shared(sim, head))
			continue;
		if (order && (pfn - head > i ||
		    !folio_whole_here(sim, t, i - (pfn - head), first, last, head))) {
			if (split_folio_here(mm, t, head) < 0)
				continue;
			if (pte_pfn(t->ptes[i]) == sim->pm.zero_pfn)
				continue;	/* zero-filled: the zero page now */
			head = pfn;
		}
		folio_set_flag(sim, head, PG_LAZYFREE);
		st_relaxed(&t->ptes[i], pte & ~(PTE_DIRTY | PTE_YOUNG));
	}
}

/* Context: PMD lock held. */
static void free_huge(struct sim_mm *mm, uint64_t *pmdp, void *ctx)
{
	uint64_t pmd = ld_acquire(pmdp);

	(void)ctx;
	lockdep_assert_held(LOCK_PMD, NULL, LOCK_WRITE);
	if ((pmd & PMD_ZERO) || folio_maybe_shared(mm->sim, pmd_pfn(pmd)))
		return;
	folio_set_flag(mm->sim, pmd_pfn(pmd), PG_LAZYFREE);
	st_release(pmdp, pmd & ~(PMD_DIRTY | PMD_YOUNG));
}

/* ---- MADV_PAGEOUT ---- */

/* Context: PTE lock of t held. */
static void pageout_fn(struct sim_mm *mm, struct sim_pte_table *t,
		       uint32_t first, uint32_t last, void *ctx)
{
	(void)ctx;
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	pageout_ptes(mm, t, first, last);
}

/* ---- aging ---- */

/* Context: PTE lock of t held. */
static void age_ptes(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		     uint32_t last, void *ctx)
{
	(void)mm;
	(void)ctx;
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = first; i <= last; i++)
		if (pte_present(t->ptes[i]))
			st_relaxed(&t->ptes[i], t->ptes[i] & ~PTE_YOUNG);
}

/* Context: PMD lock held. */
static void age_huge(struct sim_mm *mm, uint64_t *pmdp, void *ctx)
{
	(void)mm;
	(void)ctx;
	lockdep_assert_held(LOCK_PMD, NULL, LOCK_WRITE);
	st_release(pmdp, ld_acquire(pmdp) & ~PMD_YOUNG);
}

/* ---- MADV_COLD ---- */

/*
 * Context: PTE lock of t held.  MADV_COLD's effect on what khugepaged
 * sees: the young bits of folios this mm alone maps are cleared; a folio
 * that may be mapped elsewhere is left alone, as the kernel leaves it.
 * (The simulator has no LRU lists to move the folios to.)
 */
static void cold_ptes(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		      uint32_t last, void *ctx)
{
	struct sim *sim = mm->sim;

	(void)ctx;
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = first; i <= last; i++) {
		uint32_t pte = t->ptes[i];

		if (!pte_present(pte) || pte_pfn(pte) == sim->pm.zero_pfn ||
		    folio_maybe_shared(sim, folio_head(sim, pte_pfn(pte))))
			continue;
		st_relaxed(&t->ptes[i], pte & ~PTE_YOUNG);
	}
}

/* Context: PMD lock held. */
static void cold_huge(struct sim_mm *mm, uint64_t *pmdp, void *ctx)
{
	uint64_t pmd = ld_acquire(pmdp);

	if (!(pmd & PMD_ZERO) && folio_maybe_shared(mm->sim, pmd_pfn(pmd)))
		return;
	age_huge(mm, pmdp, ctx);
}

/* ---- userfaultfd write-protect ---- */

/* Context: PTE lock of t held. */
static void uffd_wp_ptes(struct sim_mm *mm, struct sim_pte_table *t,
			 uint32_t first, uint32_t last, void *ctx)
{
	bool protect = *(bool *)ctx;

	(void)mm;
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = first; i <= last; i++) {
		uint32_t pte = t->ptes[i];

		if (pte_present(pte))
			pte = protect ? (pte | PTE_UFFD_WP) & ~PTE_WRITE
				      : pte & ~PTE_UFFD_WP;
		else if (pte_is_swap(pte) && pte_slot(pte))
			pte = protect ? pte | PTE_SWP_UFFD_WP : pte & ~PTE_SWP_UFFD_WP;
		else if (pte_is_swap(pte) && !protect)
			pte = 0;	/* marker only */
		st_relaxed(&t->ptes[i], pte);
	}
}

/* ---- the operations ---- */

/* Context: mmap_lock held for write. */
static int set_vm_flags(struct sim_mm *mm, uint64_t start, uint64_t end,
			uint32_t set, uint32_t clear)
{
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	err = range_mapped(mm, start, end) ? vma_isolate_range(mm, start, end)
					   : -ENOMEM;
	if (err)
		return err;
	for (size_t i = vma_index_after(mm, start);
	     i < mm->nr_vmas && mm->vmas[i].start < end; i++) {
		vma_start_write(mm, &mm->vmas[i]);
		mm->vmas[i].vm_flags = (mm->vmas[i].vm_flags & ~clear) | set;
	}
	vma_merge_range(mm, start, end);
	return 0;
}

/*
 * A write fault at every page from *from to end, *from moving past each
 * page done; a fault short of memory stops it, asking for reclaim
 * through rc (a new page starts with rc cleared, as each of the kernel's
 * faults may reclaim).  Context: mmap_lock held for read.
 */
static int populate_write(struct sim_mm *mm, uint64_t *from, uint64_t end,
			  struct fault_reclaim *rc)
{
	uint64_t tag = 0;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_READ);
	for (; *from < end; *from += mm->sim->geo.page_size) {
		int err = handle_access_rc(mm, *from, SIM_ACCESS_POPULATE, &tag, rc);

		if (err)
			return err;
		*rc = (struct fault_reclaim){ .done = false };
	}
	return 0;
}

static bool madv_needs_write_lock(enum sim_madv advice)
{
	switch (advice) {
	case SIM_MADV_HUGEPAGE:
	case SIM_MADV_NOHUGEPAGE:
		return true;
	case SIM_MADV_DONTNEED:
	case SIM_MADV_FREE:
	case SIM_MADV_COLD:
	case SIM_MADV_PAGEOUT:
	case SIM_MADV_POPULATE_WRITE:
		return false;
	}
	return true;
}

/*
 * The advice over [start, end); MADV_POPULATE_WRITE goes from *from on
 * (populate_write()).  Context: mmap_lock held (write for the VMA flag
 * advice).
 */
static int madvise_locked(struct sim_mm *mm, uint64_t start, uint64_t end,
			  enum sim_madv advice, uint64_t *from, struct fault_reclaim *rc)
{
	struct pte_op op = { 0 };

	lockdep_assert_held(LOCK_MMAP, mm,
			    madv_needs_write_lock(advice) ? LOCK_WRITE : LOCK_ANY);
	if (!range_mapped(mm, start, end))
		return -ENOMEM;
	switch (advice) {
	case SIM_MADV_HUGEPAGE:
		return set_vm_flags(mm, start, end, SIM_VM_HUGEPAGE, SIM_VM_NOHUGEPAGE);
	case SIM_MADV_NOHUGEPAGE:
		return set_vm_flags(mm, start, end, SIM_VM_NOHUGEPAGE, SIM_VM_HUGEPAGE);
	case SIM_MADV_DONTNEED:
		return zap_range(mm, start, end);
	case SIM_MADV_FREE:
		op.fn = free_ptes;
		op.huge_fn = free_huge;
		return pte_op_range(mm, start, end, &op);
	case SIM_MADV_COLD:
		op.fn = cold_ptes;
		op.huge_fn = cold_huge;
		return pte_op_range(mm, start, end, &op);
	case SIM_MADV_PAGEOUT:
		op.fn = pageout_fn;
		return pte_op_range(mm, start, end, &op);
	case SIM_MADV_POPULATE_WRITE:
		return populate_write(mm, from, end, rc);
	}
	return -EINVAL;
}

/*
 * Context: mmap_lock held.  May khugepaged collapse in a VMA of [start,
 * end) under the settings in force?  MADV_HUGEPAGE gives the mm an mm
 * slot only then, as Linux's khugepaged_enter_vma() does.
 */
static bool collapse_possible(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	for (size_t i = vma_index_after(mm, start);
	     i < mm->nr_vmas && mm->vmas[i].start < end; i++)
		if (fault_allowed_orders(mm->sim, &mm->vmas[i]))
			return true;
	return false;
}

static bool range_ok(struct sim *sim, uint64_t addr, uint64_t len)
{
	uint64_t mask = sim->geo.page_size - 1;

	return len && !(addr & mask) && !(len & mask) && addr + len > addr;
}

int sim_madvise(struct sim_mm *mm, uint64_t addr, uint64_t len,
		enum sim_madv advice)
{
	struct sim *sim = mm->sim;
	bool write = madv_needs_write_lock(advice), enter;
	struct fault_reclaim rc = { .done = false };
	uint64_t from = addr;
	int err;

	if (!range_ok(sim, addr, len))
		return -EINVAL;
	/*
	 * MADV_POPULATE_WRITE's faults reclaim as any fault does, with
	 * every lock dropped, then go on from the page that found no memory
	 * with the range looked up again: Linux's GUP drops mmap_lock the
	 * same way (FOLL_UNLOCKABLE).
	 */
	do {
		world_enter(sim);
		if (write)
			mmap_write_lock(mm);
		else
			mmap_read_lock(mm);
		err = madvise_locked(mm, from, addr + len, advice, &from, &rc);
		enter = !err && advice == SIM_MADV_HUGEPAGE &&
			collapse_possible(mm, addr, addr + len);
		if (write)
			mmap_write_unlock(mm);
		else
			mmap_unlock(mm);
		world_exit(sim);
	} while (advice == SIM_MADV_POPULATE_WRITE && fault_reclaim(mm, err, &rc));
	if (enter)
		khugepaged_enter(mm);	/* hugepage_madvise: an mm slot */
	sim_debug_check(sim);
	return err;
}

/* Context: no lock held; takes the world lock, then mmap_lock for write. */
static int uffd_flags_op(struct sim_mm *mm, uint64_t addr, uint64_t len,
			 uint32_t set, uint32_t clear)
{
	struct sim *sim = mm->sim;
	bool unprotect = false;
	struct pte_op op = { .fn = uffd_wp_ptes, .ctx = &unprotect };
	int err;

	lockdep_assert_none_held();
	if (!range_ok(sim, addr, len))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	err = set_vm_flags(mm, addr, addr + len, set, clear);
	if (!err && (clear & SIM_VM_UFFD_WP))
		err = pte_op_range(mm, addr, addr + len, &op);
	mmap_write_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}

int sim_uffd_register(struct sim_mm *mm, uint64_t addr, uint64_t len,
		      unsigned modes)
{
	uint32_t set = 0;

	if (modes & SIM_UFFD_MISSING)
		set |= SIM_VM_UFFD_MISSING;
	if (modes & SIM_UFFD_WP)
		set |= SIM_VM_UFFD_WP;
	if (!set || (modes & ~(SIM_UFFD_MISSING | SIM_UFFD_WP)))
		return -EINVAL;
	return uffd_flags_op(mm, addr, len, set, 0);
}

int sim_uffd_unregister(struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	return uffd_flags_op(mm, addr, len, 0, SIM_VM_UFFD);
}

/* Context: mmap_lock held.  Is all of [start, end) uffd-wp registered? */
static bool range_uffd_wp(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	if (!range_mapped(mm, start, end))
		return false;
	for (size_t i = vma_index_after(mm, start);
	     i < mm->nr_vmas && mm->vmas[i].start < end; i++)
		if (!(mm->vmas[i].vm_flags & SIM_VM_UFFD_WP))
			return false;
	return true;
}

int sim_uffd_writeprotect(struct sim_mm *mm, uint64_t addr, uint64_t len,
			  bool protect)
{
	struct sim *sim = mm->sim;
	struct pte_op op = { .fn = uffd_wp_ptes, .ctx = &protect };
	int err;

	if (!range_ok(sim, addr, len))
		return -EINVAL;
	world_enter(sim);
	mmap_read_lock(mm);
	err = range_uffd_wp(mm, addr, addr + len) ?
	      pte_op_range(mm, addr, addr + len, &op) : -ENOENT;
	mmap_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}

int sim_age(struct sim_mm *mm)
{
	struct pte_op op = { .fn = age_ptes, .huge_fn = age_huge };
	int err = 0;

	world_enter(mm->sim);
	mmap_read_lock(mm);
	for (size_t i = 0; i < mm->nr_vmas && !err; i++)
		err = pte_op_range(mm, mm->vmas[i].start, mm->vmas[i].end, &op);
	mmap_unlock(mm);
	world_exit(mm->sim);
	return err;
}
