// SPDX-License-Identifier: MIT
/*
 * pgtable.c - page tables: the upper directories (pgd, pud), PMD tables
 * with their PMD lock, PTE tables with their PTE lock; installing a table
 * under an empty PMD, splitting a huge PMD into PTEs, detaching a table
 * (pmdp_collapse_flush) and putting it back (pmd_populate), zapping a
 * range, and freeing all tables at exit (those no VMA covers any more
 * are freed by vma.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/bug.h"
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/pgtable.h"
#include "sim/stats.h"
#include "sim/swap.h"
#include "sim/tlbflush.h"
#include "sim/world.h"

struct sim_pte_table *pte_table_alloc(struct sim *sim)
{
	size_t n = sim->geo.ptes_per_pmd;
	struct sim_pte_table *t = malloc(sizeof(*t) + n * sizeof(uint32_t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	memset(t->ptes, 0, n * sizeof(uint32_t));
	return t;
}

void pte_table_free(struct sim_pte_table *t)
{
	if (!t)
		return;
	/* no GUP-fast walk may still read it (tlb_remove_table()) */
	tlb_table_free_sync();
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct sim_pmd_table *pmd_table_alloc(void)
{
	struct sim_pmd_table *p = calloc(1, sizeof(*p));

	if (p)
		pthread_mutex_init(&p->lock, NULL);
	return p;
}

/* Context: takes and drops mm->pgd_lock when it allocates. */
static void *dir_slot(struct sim_mm *mm, void **slot, bool alloc, bool pmd_level)
{
	void *p = ld_acquire(slot);

	if (p || !alloc)
		return p;
	lockdep_assert_not_held(LOCK_PGD, mm);
	pgd_lock(mm);
	p = ld_acquire(slot);
	if (!p) {
		p = pmd_level ? (void *)pmd_table_alloc()
			      : calloc(1, sizeof(struct sim_pud));
		if (p)
			st_release(slot, p);
	}
	pgd_unlock(mm);
	return p;
}

/*
 * Context: with alloc, takes and drops mm->pgd_lock (dir_slot()).  The
 * directories are freed only at exit, so a lookup needs no lock; what the
 * PMD entry holds is the caller's to lock.
 */
uint64_t *pmd_lookup(struct sim_mm *mm, uint64_t addr, bool alloc,
		     struct sim_pmd_table **pmdt)
{
	struct sim *sim = mm->sim;
	uint64_t top = addr >> (sim->pmd_shift + 18);
	unsigned pud_i = (addr >> (sim->pmd_shift + 9)) & (SIM_DIR_ENTRIES - 1);
	unsigned pmd_i = (addr >> sim->pmd_shift) & (SIM_DIR_ENTRIES - 1);
	struct sim_pud *pud;
	struct sim_pmd_table *pt;

	if (alloc)
		lockdep_assert_not_held(LOCK_PGD, mm);
	if (top >= sim->top_entries)
		return NULL;
	pud = dir_slot(mm, (void **)&mm->pgd[top], alloc, false);
	if (!pud)
		return NULL;
	pt = dir_slot(mm, (void **)&pud->slot[pud_i], alloc, true);
	if (!pt)
		return NULL;
	*pmdt = pt;
	return &pt->pmd[pmd_i];
}

/*
 * The first PMD range at or above addr, below end, under a PMD directory
 * that exists (a range outside every directory maps nothing); end if
 * none.  Skips a missing directory's ranges at once, as a sparse VMA of
 * terabytes has most of them missing.  Context: as pmd_lookup() without
 * alloc.
 */
uint64_t pmd_next_dir(struct sim_mm *mm, uint64_t addr, uint64_t end)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = 1ull << sim->pmd_shift;
	uint64_t pud_size = pmd_size << 9, top_size = pud_size << 9;

	addr &= ~(pmd_size - 1);
	while (addr < end) {
		uint64_t top = addr >> (sim->pmd_shift + 18);
		unsigned pud_i = (addr >> (sim->pmd_shift + 9)) & (SIM_DIR_ENTRIES - 1);
		struct sim_pud *pud;

		if (top >= sim->top_entries)
			return end;
		pud = ld_acquire(&mm->pgd[top]);
		if (!pud) {
			addr = (addr & ~(top_size - 1)) + top_size;
			continue;
		}
		if (!ld_acquire(&pud->slot[pud_i])) {
			addr = (addr & ~(pud_size - 1)) + pud_size;
			continue;
		}
		return addr;
	}
	return end;
}

/* Context: PMD lock held; the PMD is huge.  Fill t with its PTEs. */
static void huge_to_ptes(struct sim_mm *mm, uint64_t pmd, struct sim_pte_table *t)
{
	struct sim *sim = mm->sim;
	uint32_t n = sim->geo.ptes_per_pmd, bits = 0;

	lockdep_assert_held(LOCK_PMD, NULL, LOCK_WRITE);
	if (pmd & PMD_YOUNG)
		bits |= PTE_YOUNG;
	if (pmd & PMD_ZERO) {
		for (uint32_t i = 0; i < n; i++)
			st_relaxed(&t->ptes[i], pte_mk(sim->pm.zero_pfn, bits));
		return;
	}
	if (pmd & PMD_DIRTY)
		bits |= PTE_DIRTY;
	if (pmd & PMD_WRITE)
		bits |= PTE_WRITE;
	for (uint32_t i = 0; i < n; i++)
		st_relaxed(&t->ptes[i], pte_mk(pmd_pfn(pmd) + i, bits));
	folio_pmd_to_ptes(sim, pmd_pfn(pmd), mm->id);
}

/*
 * Put a new PTE table under the PMD entry: when it is none (split false),
 * or when it is huge (split true), the table then holding the huge PMD's
 * PTEs.  A table not used (the entry changed meanwhile) is freed.
 * Context: mmap_lock or the VMA's lock held; takes and drops the PMD lock.
 */
static int pmd_set_table(struct sim_mm *mm, uint64_t *pmdp,
			 struct sim_pmd_table *pmdt, bool split)
{
	struct sim_pte_table *t;
	uint64_t pmd;

	fault_assert_locked(mm);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	if (split) {
		/* a huge PMD splits into the table deposited with it */
		pmd_lock(pmdt);
		pmd = ld_acquire(pmdp);
		t = pmd_is_huge(pmd) ? pgtable_withdraw(pmdt, pmdp) : NULL;
		if (t) {
			huge_to_ptes(mm, pmd, t);
			st_release(pmdp, (uint64_t)(uintptr_t)t);
			count_vm(mm->sim, VM_THP_SPLIT_PMD);
		}
		pmd_unlock(pmdt);
		if (t || !pmd_is_huge(pmd))
			return 0;
	}
	t = pte_table_alloc(mm->sim);
	if (!t)
		return -ENOMEM;
	pmd_lock(pmdt);
	pmd = ld_acquire(pmdp);
	if (split ? pmd_is_huge(pmd) : pmd_is_none(pmd)) {
		if (split)
			huge_to_ptes(mm, pmd, t);
		st_release(pmdp, (uint64_t)(uintptr_t)t);
		t = NULL;
		if (split)
			count_vm(mm->sim, VM_THP_SPLIT_PMD);
	}
	pmd_unlock(pmdt);
	pte_table_free(t);
	return 0;
}

/* Context: mmap_lock held; takes and drops the PMD lock. */
int pmd_install_table(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt)
{
	return pmd_set_table(mm, pmdp, pmdt, false);
}

/* Context: mmap_lock held; takes and drops the PMD lock. */
int pmd_split_huge(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt)
{
	return pmd_set_table(mm, pmdp, pmdt, true);
}

/* Context: mmap_lock held; takes and drops the PMD lock when it splits. */
int pmd_split_table(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		    uint64_t pmd, struct sim_pte_table **tp)
{
	int err;

	*tp = NULL;
	if (pmd_is_huge(pmd)) {
		err = pmd_split_huge(mm, pmdp, pmdt);
		if (err)
			return err;
	}
	pmd = ld_acquire(pmdp);
	if (pmd_is_table(pmd))
		*tp = pmd_table(pmd);
	return 0;
}

/* Context: mmap_lock held. */
enum mthp_pmd_kind pmd_lookup_kind(struct sim_mm *mm, uint64_t addr, uint64_t **pmdpp,
				   struct sim_pmd_table **pmdtp, struct sim_pte_table **tp)
{
	uint64_t *pmdp = pmd_lookup(mm, addr, false, pmdtp), pmd;

	mmap_assert_locked(mm, LOCK_ANY);
	*pmdpp = pmdp;
	*tp = NULL;
	if (!pmdp)
		return MTHP_PMD_NONE;
	pmd = ld_acquire(pmdp);
	if (pmd_is_huge(pmd))
		return (pmd & PMD_ZERO) ? MTHP_PMD_ZERO : MTHP_PMD_HUGE;
	if (!pmd_is_table(pmd))
		return MTHP_PMD_NONE;
	*tp = pmd_table(pmd);
	return MTHP_PMD_TABLE;
}

/* The PMD lock of pmdt held, plain or nested (mremap's pair). */
static void pmd_assert_locked(const struct sim_pmd_table *pmdt)
{
	if (!lockdep_is_held(LOCK_PMD_NESTED, pmdt, LOCK_WRITE))
		lockdep_assert_held(LOCK_PMD, pmdt, LOCK_WRITE);
}

/* Context: PMD lock held. */
void pgtable_deposit(struct sim_pmd_table *pmdt, uint64_t *pmdp, struct sim_pte_table *t)
{
	pmd_assert_locked(pmdt);
	/*
	 * zap_deposited_table() frees a deposited table with pte_free(), at
	 * once: a GUP-fast walk still reading it would read freed memory.
	 * The walks that read it when it was under a PMD must be over.
	 */
	if (t && gup_fast_walking(t))
		sim_bug("pgtable_deposit: a GUP-fast walk still reads the page table "
			"deposited here (it read the PMD before the collapse cleared it): "
			"the PMD was cleared without waiting out GUP-fast (%s machine: "
			"%s skipped)", tlb_machine() == SIM_TLB_IPI ? "IPI" : "broadcast",
			tlb_machine() == SIM_TLB_IPI ? "the TLB flush's IPI" :
			"tlb_remove_table_sync_one()");
	pmdt->deposit[pmdp - pmdt->pmd] = t;
}

/* Context: PMD lock held. */
struct sim_pte_table *pgtable_withdraw(struct sim_pmd_table *pmdt, uint64_t *pmdp)
{
	struct sim_pte_table *t = pmdt->deposit[pmdp - pmdt->pmd];

	pmd_assert_locked(pmdt);
	pmdt->deposit[pmdp - pmdt->pmd] = NULL;
	return t;
}

/* Context: PMD lock held. */
struct sim_pte_table *pmdp_collapse_flush(uint64_t *pmdp)
{
	uint64_t pmd = ld_acquire(pmdp);

	lockdep_assert_held(LOCK_PMD, NULL, LOCK_WRITE);
	if (!pmd_is_table(pmd))
		sim_bug("pmdp_collapse_flush: the PMD maps no page table (%s), not the "
			"PMD the collapse found", pmd ? "a huge PMD" : "none");
	st_release(pmdp, 0);
	flush_tlb_ipi();	/* flush_tlb_range(): by IPI, waits out GUP-fast */
	return pmd_table(pmd);
}

/* Context: PMD lock held. */
void pmd_populate(uint64_t *pmdp, struct sim_pte_table *t)
{
	uint64_t pmd = ld_acquire(pmdp);

	lockdep_assert_held(LOCK_PMD, NULL, LOCK_WRITE);
	if (pmd)
		sim_bug("pmd_populate: the PMD is not none (it maps %s)",
			pmd_is_huge(pmd) ? "a huge page" :
			pmd_table(pmd) == t ? "this table already" : "another table");
	st_release(pmdp, (uint64_t)(uintptr_t)t);
}

int walk_pmds(struct sim_mm *mm, uint64_t start, uint64_t end, pmd_range_fn fn,
	      void *ctx)
{
	uint64_t pmd_size = mthp_pmd_size(&mm->sim->geo);

	for (uint64_t addr = start; addr < end;) {
		uint64_t next = pmd_base(mm->sim, addr) + pmd_size;
		struct sim_pmd_table *pmdt = NULL;
		uint64_t *pmdp;
		int err;

		if (next > end || next < addr)
			next = end;
		pmdp = pmd_lookup(mm, addr, false, &pmdt);
		if (pmdp) {
			err = fn(mm, pmdp, pmdt, addr, next, ctx);
			if (err)
				return err;
		}
		addr = next;
	}
	return 0;
}

void zap_pte(struct sim_mm *mm, uint32_t pte)
{
	struct sim *sim = mm->sim;

	if (pte_present(pte)) {
		if (pte_pfn(pte) != sim->pm.zero_pfn)
			folio_remove_ptes(sim, pte_pfn(pte), 1, mm->id);
	} else if (pte_is_swap(pte) && pte_slot(pte)) {
		swap_free(&sim->swap, pte_slot(pte));
	}
}

/* Context: PTE lock of t held (pgtable.h). */
uint32_t ptes_mapping(struct sim *sim, struct sim_pte_table *t, uint32_t head)
{
	uint32_t nr = 1u << sim_pg(sim, head)->order, n = 0;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = 0; i < sim->geo.ptes_per_pmd; i++) {
		uint32_t pte = t->ptes[i];

		if (pte_present(pte) && pte_pfn(pte) - head < nr)
			n++;
	}
	return n;
}

/* Context: PTE lock of t held (pgtable.h says what it does). */
uint32_t split_maps_zero(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head,
			 uint32_t nr)
{
	struct sim *sim = mm->sim;
	uint32_t freed = 0;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = 0; i < sim->geo.ptes_per_pmd; i++) {
		uint32_t pte = t->ptes[i], pfn = pte_pfn(pte);

		if (!pte_present(pte) || pfn - head >= nr || page_tag(sim, pfn) != 0 ||
		    !folio_test_flag(sim, pfn, PG_ANON))
			continue;
		st_relaxed(&t->ptes[i], pte_mk(sim->pm.zero_pfn, pte & PTE_UFFD_WP));
		folio_remove_ptes(sim, pfn, 1, mm->id);	/* drops the last reference */
		freed++;
	}
	return freed;
}

/* Context: PTE lock of t held (pgtable.h says what it does). */
int split_folio_here(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head)
{
	struct sim *sim = mm->sim;
	uint32_t nr = 1u << sim_pg(sim, head)->order;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	folio_get(sim, head, 1);
	if (folio_split(sim, head, 1)) {
		folio_put(sim, head, 1);
		return -EBUSY;
	}
	return (int)split_maps_zero(mm, t, head, nr);
}

/* Context: PTE lock of t held. */
uint32_t pte_folio_run(struct sim *sim, const struct sim_pte_table *t, uint32_t i,
		       uint32_t last, uint32_t pfn)
{
	uint32_t head = folio_head(sim, pfn), end = head + (1u << sim_pg(sim, head)->order);
	uint32_t n = 1;

	while (i + n <= last && pfn + n < end && pte_present(t->ptes[i + n]) &&
	       pte_pfn(t->ptes[i + n]) == pfn + n)
		n++;
	return n;
}

/*
 * Context: mmap_lock held; takes the PTE lock of the table.  The PTEs of
 * a large folio in a row leave its map counts in one change, as the
 * kernel's batched zap does: no other thread can look at the counts
 * between the PTEs (its PTE lock is held, and its map lock each time), so
 * the counts end as one PTE at a time would leave them.  A large folio
 * left mapped in part is not split here: as in the kernel it goes on the
 * deferred split queue (folio_remove_ptes()), and a shrinker splits it
 * (shrinker.c).
 */
static int zap_table(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		     uint32_t last)
{
	struct sim *sim = mm->sim;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	lockdep_assert_not_held(LOCK_PTE, t);
	pte_lock(t);
	for (uint32_t i = first; i <= last; i++) {
		uint32_t pte = t->ptes[i], pfn = pte_pfn(pte), n;

		if (!pte)
			continue;
		if (!pte_present(pte) || pfn == sim->pm.zero_pfn ||
		    sim_pg(sim, folio_head(sim, pfn))->order == 0) {
			st_relaxed(&t->ptes[i], 0);
			zap_pte(mm, pte);
			continue;
		}
		n = pte_folio_run(sim, t, i, last, pfn);
		for (uint32_t k = i; k < i + n; k++)
			st_relaxed(&t->ptes[k], 0);
		folio_remove_ptes(sim, pfn, n, mm->id);
		i += n - 1;
	}
	pte_unlock(t);
	return 0;
}

/* Context: mmap_lock held; PMD lock taken and dropped. */
static int zap_pmd(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		   uint64_t start, uint64_t end, void *ctx)
{
	struct sim *sim = mm->sim;
	uint64_t pmd = ld_acquire(pmdp);
	uint64_t base = pmd_base(sim, start);
	bool whole = start == base && end - start == mthp_pmd_size(&sim->geo);
	struct sim_pte_table *t;
	int err;

	(void)ctx;
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	if (pmd_is_huge(pmd) && whole) {
		pmd_lock(pmdt);
		pmd = ld_acquire(pmdp);
		st_release(pmdp, 0);
		t = pgtable_withdraw(pmdt, pmdp);
		pmd_unlock(pmdt);
		pte_table_free(t);
		if (pmd_is_huge(pmd) && !(pmd & PMD_ZERO))
			folio_remove_pmd(sim, pmd_pfn(pmd), mm->id);
		return 0;
	}
	err = pmd_split_table(mm, pmdp, pmdt, pmd, &t);
	if (err || !t)
		return err;
	return zap_table(mm, t, pte_index(sim, start), pte_index(sim, end - 1));
}

/* Context: mmap_lock held; takes and drops PMD and PTE locks. */
int zap_range(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	return walk_pmds(mm, start, end, zap_pmd, NULL);
}

void free_all_tables(struct sim_mm *mm)
{
	struct sim *sim = mm->sim;

	for (unsigned top = 0; top < sim->top_entries; top++) {
		struct sim_pud *pud = mm->pgd[top];

		if (!pud)
			continue;
		for (unsigned i = 0; i < SIM_DIR_ENTRIES; i++) {
			struct sim_pmd_table *pt = pud->slot[i];

			if (!pt)
				continue;
			for (unsigned j = 0; j < SIM_DIR_ENTRIES; j++) {
				if (pmd_is_table(pt->pmd[j]))
					pte_table_free(pmd_table(pt->pmd[j]));
				pte_table_free(pt->deposit[j]);
			}
			pthread_mutex_destroy(&pt->lock);
			free(pt);
		}
		free(pud);
		mm->pgd[top] = NULL;
	}
}
