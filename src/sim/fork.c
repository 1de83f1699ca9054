// SPDX-License-Identifier: MIT
/*
 * fork.c - fork: the child gets a copy of every VMA (sharing the
 * anon_vma, losing userfaultfd registration) and of every page table:
 * anon pages and THPs shared and write-protected in both, swap entries
 * duplicated, pinned pages copied at once as the kernel does.
 * Context: parent mmap_lock then child mmap_lock, both for write; per
 * table the parent's PTE lock, then the child's nested.
 */
#include <errno.h>

#include "sim/check.h"
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pgtable.h"
#include "sim/swap.h"
#include "sim/vma.h"
#include "sim/world.h"

/*
 * Is the folio at head shared with a fork's child rather than copied: no
 * reference beyond the mappings' and, for a folio off the LRU (in
 * collapse's LRU add batch, or isolated), the one the batch or the
 * isolation holds, which is not a pin?  A mapping added keeps the answer
 * (one more reference and one more mapping).
 */
static bool fork_shares(struct sim *sim, uint32_t head)
{
	return folio_refcount(sim, head) ==
	       folio_mapcount(sim, head) + !folio_test_flag(sim, head, PG_LRU);
}

/* Context: both PTE locks held.  Copy one PTE; -ENOMEM if a copy fails. */
static int copy_pte(struct sim_mm *parent, struct sim_mm *child,
		    uint32_t *src, uint32_t *dst)
{
	struct sim *sim = parent->sim;
	uint32_t pte = *src, pfn = pte_pfn(pte), head, copy;
	int err;

	lockdep_assert_held(LOCK_PTE, NULL, LOCK_WRITE);
	lockdep_assert_held(LOCK_PTE_NESTED, NULL, LOCK_WRITE);
	if (pte_is_swap(pte)) {
		if (pte_slot(pte))
			swap_dup(&sim->swap, pte_slot(pte));
		*dst = pte_slot(pte) ? pte & ~PTE_SWP_UFFD_WP : 0;
		return 0;
	}
	if (!pte_present(pte))
		return 0;
	if (pfn == sim->pm.zero_pfn) {
		*dst = pte & ~PTE_UFFD_WP;
		return 0;
	}
	head = folio_head(sim, pfn);
	if (fork_shares(sim, head)) {
		st_relaxed(src, pte & ~PTE_WRITE);
		*dst = pte & ~(PTE_WRITE | PTE_UFFD_WP);
		folio_add_ptes(sim, pfn, 1, child->id);
		return 0;
	}
	/* pinned: the child gets its own copy now */
	err = anon_folio_new(sim, 0, child->memcg, &copy);
	if (err)
		return err;
	page_set_tag(sim, copy, page_tag(sim, pfn));
	folio_add_ptes(sim, copy, 1, child->id);
	folio_put(sim, copy, 1);
	*dst = pte_mk(copy, (pte & (PTE_YOUNG | PTE_DIRTY | PTE_WRITE)));
	return 0;
}

/*
 * Context: parent mmap_lock held for write, the child's nested; the
 * parent's PMD lock taken and dropped, then the child's.
 */
static int copy_huge(struct sim_mm *parent, struct sim_mm *child, uint64_t *pmdp,
		     struct sim_pmd_table *pmdt, uint64_t addr)
{
	struct sim_pmd_table *cpmdt;
	uint64_t *cpmdp = pmd_lookup(child, addr, true, &cpmdt), pmd;
	struct sim_pte_table *ct;

	lockdep_assert_held(LOCK_MMAP, parent, LOCK_WRITE);
	lockdep_assert_held(LOCK_MMAP_NESTED, child, LOCK_WRITE);
	lockdep_assert_not_held(LOCK_PMD, NULL);
	if (!cpmdp)
		return -ENOMEM;
	ct = pte_table_alloc(parent->sim);	/* the child's deposit */
	if (!ct)
		return -ENOMEM;
	pmd_lock(pmdt);
	pmd = ld_acquire(pmdp) & ~PMD_WRITE;
	st_release(pmdp, pmd);
	if (!(pmd & PMD_ZERO))
		folio_add_pmd(parent->sim, pmd_pfn(pmd), child->id);
	pmd_unlock(pmdt);
	pmd_lock(cpmdt);
	st_release(cpmdp, pmd);
	pgtable_deposit(cpmdt, cpmdp, ct);
	pmd_unlock(cpmdt);
	return 0;
}

/*
 * Context: parent mmap_lock held for write, the child's nested; takes the
 * parent's PTE lock, then the child's nested, and drops both.
 */
static int copy_pmd(struct sim_mm *parent, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		    uint64_t start, uint64_t end, void *ctx)
{
	struct sim_mm *child = ctx;
	struct sim *sim = parent->sim;
	uint64_t pmd = ld_acquire(pmdp), *cpmdp;
	struct sim_pmd_table *cpmdt;
	struct sim_pte_table *t, *ct;
	int err = 0;

	lockdep_assert_held(LOCK_MMAP, parent, LOCK_WRITE);
	lockdep_assert_held(LOCK_MMAP_NESTED, child, LOCK_WRITE);
	if (pmd_is_huge(pmd))
		return copy_huge(parent, child, pmdp, pmdt, start);
	if (!pmd_is_table(pmd))
		return 0;
	cpmdp = pmd_lookup(child, start, true, &cpmdt);
	if (!cpmdp)
		return -ENOMEM;
	err = pmd_install_table(child, cpmdp, cpmdt);
	if (err)
		return err;
	t = pmd_table(pmd);
	ct = pmd_table(ld_acquire(cpmdp));
	pte_lock(t);
	pte_lock_nested(ct);
	for (uint32_t i = pte_index(sim, start), last = pte_index(sim, end - 1);
	     i <= last && !err; i++) {
		uint32_t pte = t->ptes[i], pfn = pte_pfn(pte), n;

		if (!pte_present(pte) || pfn == sim->pm.zero_pfn ||
		    sim_pg(sim, folio_head(sim, pfn))->order == 0 ||
		    !fork_shares(sim, folio_head(sim, pfn))) {
			err = copy_pte(parent, child, &t->ptes[i], &ct->ptes[i]);
			continue;
		}
		/*
		 * A large folio's PTEs in a row, shared as copy_pte() shares
		 * each, their mappings added in one change: the map lock
		 * and both PTE locks are held, so no other thread sees the
		 * counts between them.
		 */
		n = pte_folio_run(sim, t, i, last, pfn);
		for (uint32_t k = i; k < i + n; k++) {
			st_relaxed(&ct->ptes[k], t->ptes[k] & ~(PTE_WRITE | PTE_UFFD_WP));
			st_relaxed(&t->ptes[k], t->ptes[k] & ~PTE_WRITE);
		}
		folio_add_ptes(sim, pfn, n, child->id);
		i += n - 1;
	}
	pte_unlock_nested(ct);
	pte_unlock(t);
	return err;
}

/* Context: parent mmap_lock held for write, the child's nested (write). */
static int dup_mmap(struct sim_mm *parent, struct sim_mm *child)
{
	lockdep_assert_held(LOCK_MMAP, parent, LOCK_WRITE);
	lockdep_assert_held(LOCK_MMAP_NESTED, child, LOCK_WRITE);
	for (size_t i = 0; i < parent->nr_vmas; i++) {
		struct sim_vma v = parent->vmas[i];
		int err;

		v.vm_flags &= ~SIM_VM_UFFD;
		v.anon_vma = anon_vma_get(ld_acquire(&parent->vmas[i].anon_vma));
		err = vma_insert(child, &v);
		if (err) {
			anon_vma_put(v.anon_vma);
			return err;
		}
		err = walk_pmds(parent, v.start, v.end, copy_pmd, child);
		if (err)
			return err;
	}
	return 0;
}

int sim_fork(struct sim_mm *mm, struct sim_mm **out)
{
	struct sim *sim = mm->sim;
	struct sim_mm *child = NULL;
	int err;

	world_enter(sim);
	mmap_write_lock(mm);
	/* as dup_mmap(): no fault under a per-VMA lock while PTEs are copied */
	vma_start_write_range(mm, 0, UINT64_MAX);
	err = mm_alloc(sim, mm->memcg, &child);
	if (err)
		goto out_unlock;
	mmap_write_lock_nested(child);
	child->mmap_base = mm->mmap_base;
	err = dup_mmap(mm, child);
	mmap_write_unlock_nested(child);
out_unlock:
	mmap_write_unlock(mm);
	world_exit(sim);
	if (err == 0) {
		if (ld_relaxed(&mm->khugepaged_slot))
			khugepaged_enter(child);	/* fork copies the mm slot */
		*out = child;
		sim_debug_check(sim);
	} else if (child) {
		sim_exit(child);
	}
	return err;
}
