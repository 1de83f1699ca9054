// SPDX-License-Identifier: MIT
/*
 * fault.c - loads and stores of a page and the faults they take: the
 * anonymous fault path choosing the folio order as the kernel does (PMD
 * first where allowed, else the highest allowed order whose aligned block
 * is all none, falling back on allocation or charge failure, with the
 * anon_fault_* counters), the zero page and huge zero page on read, the
 * machine switch that makes read faults allocate, write-protect faults
 * (reuse or copy-on-write), swap-in faults (one page, or from zram a
 * folio as large as the slots and the settings allow), and GUP-like pins.
 */
#include <errno.h>

#include "sim/bug.h"
#include "sim/check.h"
#include "sim/fault.h"
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pgtable.h"
#include "sim/shrinker.h"
#include "sim/stats.h"
#include "sim/swap.h"
#include "sim/vma.h"
#include "sim/world.h"

/* Internal: the fault changed the tables, walk again. */
#define FAULT_RETRY 1
/* Internal: the fault under the per-VMA lock needs mmap_lock: take it. */
#define FAULT_FALLBACK 2
/* Internal: a large folio's allocation or charge may reclaim: do, then retry. */
#define FAULT_RECLAIM 3

/*
 * No fault may reach the page tables of a PMD range while a collapse
 * holds it (mmap_lock for write, from vma_start_write() on): a fault
 * under mmap_lock waits for the collapse's mmap_lock, a fault under the
 * per-VMA lock for its vma_start_write().  Checked where a fault has
 * just taken its PMD or PTE lock, or walks the PMD again.
 * Context: mmap_lock or the VMA's lock (vma_locked) held.
 */
static void fault_check_collapsing(struct sim_mm *mm, uint64_t addr, bool vma_locked)
{
	if (ld_relaxed(&mm->collapsing) != pmd_base(mm->sim, addr) + 1)
		return;
	if (vma_locked)
		sim_bug("fault at 0x%llx under the per-VMA lock in a PMD range a collapse "
			"holds (mmap_lock for write): the collapse did not write-lock the "
			"VMA (vma_start_write), so the fault may change page tables being "
			"collapsed", (unsigned long long)addr);
	sim_bug("fault at 0x%llx under mmap_lock: a collapse holds its PMD range, "
		"mmap_lock for write did not exclude the fault", (unsigned long long)addr);
}

uint32_t fault_allowed_orders(struct sim *sim, const struct sim_vma *v)
{
	uint32_t flags = MTHP_VMA_ANON;

	if (v->vm_flags & SIM_VM_UFFD)
		return 0;	/* userfaultfd-armed: order 0 only */
	if (v->vm_flags & SIM_VM_HUGEPAGE)
		flags |= MTHP_VMA_HUGEPAGE;
	if (v->vm_flags & SIM_VM_NOHUGEPAGE)
		flags |= MTHP_VMA_NOHUGEPAGE;
	/* a policy plug-in may narrow the fault's choice (mthp_fault_orders()) */
	return mthp_fault_orders(sim->plugin, sim_settings(sim), flags,
				 mthp_vma_allowed_orders(sim_settings(sim), flags));
}

static bool order_fits(struct sim *sim, const struct sim_vma *v, uint64_t addr,
		       unsigned order)
{
	uint64_t size = (uint64_t)sim->geo.page_size << order;
	uint64_t base = addr & ~(size - 1);

	return base >= v->start && base + size <= v->end;
}

static bool read_allocates(struct sim *sim)
{
	return ld_relaxed(&sim->read_fault_alloc);
}

/*
 * May a large folio's allocation and charge at a fault in v reclaim?  As
 * the kernel's vma_thp_gfp_mask() says: with defrag always, and with
 * madvise or defer+madvise in a VMA with MADV_HUGEPAGE.
 */
static bool fault_may_reclaim(struct sim *sim, const struct sim_vma *v)
{
	bool advised = v->vm_flags & SIM_VM_HUGEPAGE;

	switch (sim_settings(sim)->defrag) {
	case MTHP_DEFRAG_ALWAYS:
		return true;
	case MTHP_DEFRAG_DEFER_MADVISE:
	case MTHP_DEFRAG_MADVISE:
		return advised;
	case MTHP_DEFRAG_DEFER:
	case MTHP_DEFRAG_NEVER:
		return false;
	}
	return false;
}

/*
 * A large folio of this order for a fault in v failed its allocation or
 * (charge) its charge: may it ask the access for reclaim (rc not NULL,
 * not done yet, and the settings let it)?  If so rc says for what.
 */
static bool ask_reclaim(struct sim_mm *mm, const struct sim_vma *v, unsigned order,
			bool charge, struct fault_reclaim *rc)
{
	if (!order || !rc || rc->done || !fault_may_reclaim(mm->sim, v))
		return false;
	rc->order = order;
	rc->memcg = charge ? (int)mm->memcg : -1;
	return true;
}

/*
 * A new anon folio of this order for a fault in v; counts its fallbacks.
 * A large one whose allocation or charge fails where the fault may
 * reclaim (rc not NULL, not done yet) asks for it: FAULT_RECLAIM, nothing
 * counted.
 */
static int alloc_anon(struct sim_mm *mm, const struct sim_vma *v, unsigned order,
		      bool pmd_fault, uint32_t *head, struct fault_reclaim *rc)
{
	struct sim *sim = mm->sim;
	bool charge;
	int err = anon_folio_alloc(sim, order, mm->memcg, head, &charge);

	if (!err) {
		if (order >= MTHP_MIN_ORDER && sim->foreign_folios)
			folio_set_flag(sim, *head, PG_FILLED);
		return 0;
	}
	if (ask_reclaim(mm, v, order, charge, rc))
		return FAULT_RECLAIM;
	if (charge) {
		count_mthp(sim, order, MS_ANON_FAULT_FALLBACK_CHARGE);
		if (pmd_fault)
			count_vm(sim, VM_THP_FAULT_FALLBACK_CHARGE);
	}
	count_mthp(sim, order, MS_ANON_FAULT_FALLBACK);
	if (pmd_fault)
		count_vm(sim, VM_THP_FAULT_FALLBACK);
	return err;
}

/* Context: mmap_lock or the VMA's lock held; takes and drops the PMD lock. */
static int huge_zero_fault(struct sim_mm *mm, uint64_t *pmdp,
			   struct sim_pmd_table *pmdt)
{
	struct sim_pte_table *t = pte_table_alloc(mm->sim);

	fault_assert_locked(mm);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	if (!t)
		return -ENOMEM;
	pmd_lock(pmdt);
	if (pmd_is_none(ld_acquire(pmdp))) {
		st_release(pmdp, PMD_HUGE | PMD_ZERO);
		pgtable_deposit(pmdt, pmdp, t);
		t = NULL;
	}
	pmd_unlock(pmdt);
	pte_table_free(t);
	if (!__atomic_exchange_n(&mm->sim->huge_zero_counted, true, __ATOMIC_RELAXED))
		count_vm(mm->sim, VM_THP_ZERO_PAGE_ALLOC);
	return 0;
}

/*
 * Context: mmap_lock or the VMA's lock held; takes and drops the PMD
 * lock.  -ENOMEM: fall back; FAULT_RECLAIM: reclaim first (alloc_anon()).
 */
static int huge_anon_fault(struct sim_mm *mm, const struct sim_vma *v,
			   uint64_t *pmdp, struct sim_pmd_table *pmdt, struct fault_reclaim *rc)
{
	struct sim *sim = mm->sim;
	unsigned order = sim->geo.pmd_order;
	struct sim_pte_table *t;
	uint64_t pmd;
	uint32_t head;
	int err;

	fault_assert_locked(mm);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	t = pte_table_alloc(sim);
	if (!t)
		return -ENOMEM;
	err = alloc_anon(mm, v, order, true, &head, rc);
	if (err) {
		pte_table_free(t);
		return err;
	}
	pmd = ((uint64_t)head << PMD_PFN_SHIFT) | PMD_HUGE | PMD_YOUNG | PMD_DIRTY;
	if (v->prot & SIM_PROT_WRITE)
		pmd |= PMD_WRITE;
	pmd_lock(pmdt);
	if (pmd_is_none(ld_acquire(pmdp))) {
		folio_add_pmd(sim, head, mm->id);
		st_release(pmdp, pmd);
		shrinker_queue(sim, head);
		pgtable_deposit(pmdt, pmdp, t);
		t = NULL;
		count_vm(sim, VM_THP_FAULT_ALLOC);
		count_mthp(sim, order, MS_ANON_FAULT_ALLOC);
	}
	pmd_unlock(pmdt);
	pte_table_free(t);
	folio_put(sim, head, 1);
	return 0;
}

/*
 * Context: mmap_lock or the VMA's lock held.  The PMD is none: PMD path,
 * else a table.
 */
static int fault_pmd_none(struct sim_mm *mm, struct sim_vma *v, uint64_t addr,
			  uint64_t *pmdp, struct sim_pmd_table *pmdt,
			  enum sim_access kind, struct fault_reclaim *rc)
{
	struct sim *sim = mm->sim;
	unsigned pmd_order = sim->geo.pmd_order;
	uint32_t orders = fault_allowed_orders(sim, v);
	int err;

	fault_assert_locked(mm);
	if ((orders & (1u << pmd_order)) && order_fits(sim, v, addr, pmd_order)) {
		if (kind == SIM_ACCESS_READ && !read_allocates(sim) &&
		    sim_settings(sim)->use_zero_page)
			return huge_zero_fault(mm, pmdp, pmdt);
		if (!anon_vma_prepare(mm, v))
			return -ENOMEM;
		khugepaged_enter(mm);
		err = huge_anon_fault(mm, v, pmdp, pmdt, rc);
		if (err == 0 || err == FAULT_RECLAIM)
			return err;
	}
	return pmd_install_table(mm, pmdp, pmdt);
}

/* Context: PTE lock of t held.  Are PTEs [first, first + nr) all none? */
static bool pte_range_none(const struct sim_pte_table *t, uint32_t first,
			   uint32_t nr)
{
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = 0; i < nr; i++)
		if (t->ptes[first + i])
			return false;
	return true;
}

/* Context: PTE lock of t held.  Map a new folio over its aligned block. */
static void map_new_folio(struct sim_mm *mm, const struct sim_vma *v,
			  struct sim_pte_table *t, uint64_t addr, uint32_t head)
{
	struct sim *sim = mm->sim;
	unsigned order = sim_pg(sim, head)->order;
	uint32_t nr = 1u << order;
	uint32_t first = pte_index(sim, addr) & ~(nr - 1);
	uint32_t bits = PTE_YOUNG;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (v->prot & SIM_PROT_WRITE)
		bits |= PTE_WRITE | PTE_DIRTY;
	folio_add_ptes(sim, head, nr, mm->id);
	for (uint32_t i = 0; i < nr; i++)
		st_relaxed(&t->ptes[first + i], pte_mk(head + i, bits));
	count_mthp(sim, order, MS_ANON_FAULT_ALLOC);
	folio_put(sim, head, 1);
}

uint32_t fault_mthp_orders(struct sim *sim, const struct sim_vma *v, uint64_t addr)
{
	uint32_t orders = fault_allowed_orders(sim, v) & ((1u << sim->geo.pmd_order) - 1) & ~3u;

	for (unsigned o = MTHP_MIN_ORDER; o < sim->geo.pmd_order; o++)
		if ((orders & (1u << o)) && !order_fits(sim, v, addr, o))
			orders &= ~(1u << o);
	return orders;
}

/* The orders do_anonymous_page may try, highest first, as a mask. */
static uint32_t anon_candidate_orders(struct sim_mm *mm, const struct sim_vma *v,
				      const struct sim_pte_table *t, uint64_t addr)
{
	struct sim *sim = mm->sim;
	uint32_t orders = fault_mthp_orders(sim, v, addr);

	while (orders) {
		unsigned o = 31 - (unsigned)__builtin_clz(orders);
		uint32_t nr = 1u << o;

		if (pte_range_none(t, pte_index(sim, addr) & ~(nr - 1), nr))
			break;
		orders &= ~(1u << o);
	}
	return orders;
}

/* Context: PTE lock of t held.  do_anonymous_page. */
static int anon_fault(struct sim_mm *mm, struct sim_vma *v, uint64_t addr,
		      struct sim_pte_table *t, enum sim_access kind, struct fault_reclaim *rc)
{
	struct sim *sim = mm->sim;
	uint32_t orders, head;
	int err;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (kind == SIM_ACCESS_READ && !read_allocates(sim)) {
		st_relaxed(&t->ptes[pte_index(sim, addr)], pte_mk(sim->pm.zero_pfn, 0));
		return 0;
	}
	if (!anon_vma_prepare(mm, v))
		return -ENOMEM;
	if (fault_allowed_orders(sim, v))
		khugepaged_enter(mm);
	orders = anon_candidate_orders(mm, v, t, addr);
	while (orders) {
		unsigned o = 31 - (unsigned)__builtin_clz(orders);

		orders &= ~(1u << o);
		err = alloc_anon(mm, v, o, false, &head, rc);
		if (err == FAULT_RECLAIM)
			return err;
		if (!err) {
			map_new_folio(mm, v, t, addr, head);
			return 0;
		}
	}
	err = anon_folio_new(sim, 0, mm->memcg, &head);
	if (err)
		return err;
	map_new_folio(mm, v, t, addr, head);
	return 0;
}

/*
 * Is [first, first + nr) of t a run of swap entries with consecutive
 * slots, from first_slot on, each with the uffd-wp bit of want (what a
 * swap-in of one folio over it needs)?  Context: PTE lock of t held.
 */
static bool swap_run(const struct sim_pte_table *t, uint32_t first, uint32_t nr,
		     uint32_t first_slot, uint32_t want)
{
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t k = 0; k < nr; k++) {
		uint32_t pte = t->ptes[first + k];

		if (!pte_is_swap(pte) || pte_slot(pte) != first_slot + k ||
		    (pte & PTE_SWP_UFFD_WP) != (want & PTE_SWP_UFFD_WP))
			return false;
	}
	return true;
}

/*
 * The orders a swap-in fault at addr may bring in, as a mask, order 0
 * always among them.  From a synchronous device (zram) Linux 7.2 tries
 * the mTHP sizes a fault may allocate there, largest first, whose aligned
 * block holds swap entries with consecutive slots, the first slot aligned
 * as the block is (a folio swapped out whole); it starts from the largest
 * that qualifies and falls back through every smaller allowed one.
 * Context: PTE lock of t held.
 */
static uint32_t swapin_orders(struct sim_mm *mm, const struct sim_vma *v,
			      const struct sim_pte_table *t, uint64_t addr)
{
	struct sim *sim = mm->sim;
	uint32_t i = pte_index(sim, addr), pte = t->ptes[i], slot = pte_slot(pte);
	uint32_t orders;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (ld_relaxed(&sim->swap_device) != SIM_SWAP_ZRAM)
		return 1;
	orders = fault_mthp_orders(sim, v, addr);
	while (orders) {
		unsigned o = 31 - (unsigned)__builtin_clz(orders);
		uint32_t nr = 1u << o, first = i & ~(nr - 1);

		if (slot % nr == i % nr && swap_run(t, first, nr, slot - (i - first), pte))
			break;
		orders &= ~(1u << o);
	}
	return orders | 1;
}

/*
 * A folio for a swap-in in v: the largest of orders that can be allocated
 * and charged, counting each fallback as Linux does.  A large one that
 * fails where the fault may reclaim (rc not NULL, not done yet) asks for
 * it first, as alloc_anon() does (Linux's alloc_swap_folio() allocates
 * and charges with vma_thp_gfp_mask() too): FAULT_RECLAIM, nothing
 * counted.  Context: PTE lock held.
 */
static int swapin_alloc(struct sim_mm *mm, const struct sim_vma *v, uint32_t orders,
			uint32_t *head, struct fault_reclaim *rc)
{
	struct sim *sim = mm->sim;

	lockdep_assert_held(LOCK_PTE, NULL, LOCK_WRITE);
	for (;;) {
		unsigned o = 31 - (unsigned)__builtin_clz(orders);
		bool charge;
		int err = anon_folio_alloc(sim, o, mm->memcg, head, &charge);

		if (!err || !o)
			return err;
		if (ask_reclaim(mm, v, o, charge, rc))
			return FAULT_RECLAIM;
		if (charge)
			count_mthp(sim, o, MS_SWPIN_FALLBACK_CHARGE);
		count_mthp(sim, o, MS_SWPIN_FALLBACK);
		orders &= ~(1u << o);
	}
}

/*
 * Context: PTE lock of t held.  do_swap_page; rc as swapin_alloc() takes
 * it.
 */
static int swapin_pte_rc(struct sim_mm *mm, const struct sim_vma *v, struct sim_pte_table *t,
			 uint64_t addr, bool write, struct fault_reclaim *rc)
{
	struct sim *sim = mm->sim;
	uint32_t i = pte_index(sim, addr), pte = t->ptes[i], head, nr, first, slot;
	uint32_t bits = PTE_YOUNG;
	unsigned order;
	int err;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	err = swapin_alloc(mm, v, swapin_orders(mm, v, t, addr), &head, rc);
	if (err)
		return err;
	order = sim_pg(sim, head)->order;
	/* the swap entries do not say whether a collapse filled the folio they were */
	if (order >= MTHP_MIN_ORDER)
		folio_set_flag(sim, head, PG_FILLED);
	nr = 1u << order;
	first = i & ~(nr - 1);
	slot = pte_slot(pte) - (i - first);
	if (pte & PTE_SWP_UFFD_WP)
		bits |= PTE_UFFD_WP;
	else if (v->prot & SIM_PROT_WRITE)
		bits |= PTE_WRITE | (write ? PTE_DIRTY : 0);
	folio_add_ptes(sim, head, nr, mm->id);
	for (uint32_t k = 0; k < nr; k++) {
		page_set_tag(sim, head + k, swap_tag(&sim->swap, slot + k));
		st_relaxed(&t->ptes[first + k], pte_mk(head + k, bits));
		swap_free(&sim->swap, slot + k);
		count_vm(sim, VM_PSWPIN);
	}
	folio_put(sim, head, 1);
	count_mthp(sim, order, MS_SWPIN);
	return 0;
}

int swapin_pte(struct sim_mm *mm, const struct sim_vma *v, struct sim_pte_table *t,
	       uint64_t addr, bool write)
{
	return swapin_pte_rc(mm, v, t, addr, write, NULL);
}

/* Can a write fault reuse this folio instead of copying it? */
static bool can_reuse(struct sim *sim, uint32_t head)
{
	if (folio_test_flag(sim, head, PG_SWAPCACHE))
		return false;
	if (sim_pg(sim, head)->order == 0)
		return folio_refcount(sim, head) == 1;
	return !folio_maybe_shared(sim, head) &&
	       folio_refcount(sim, head) == folio_mapcount(sim, head);
}

/*
 * Context: PTE lock of t held.  A new private order-0 copy at PTE i,
 * mapped with flags.
 */
static int page_copy(struct sim_mm *mm, struct sim_pte_table *t, uint32_t i, uint32_t flags)
{
	struct sim *sim = mm->sim;
	uint32_t old = t->ptes[i], head;
	int err;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	err = anon_folio_new(sim, 0, mm->memcg, &head);
	if (err)
		return err;
	if (pte_pfn(old) != sim->pm.zero_pfn)
		page_set_tag(sim, head, page_tag(sim, pte_pfn(old)));
	folio_add_ptes(sim, head, 1, mm->id);
	st_relaxed(&t->ptes[i], pte_mk(head, flags));
	folio_put(sim, head, 1);
	zap_pte(mm, old);
	return 0;
}

/* Context: PTE lock of t held.  The copy of a write fault. */
static int wp_copy(struct sim_mm *mm, struct sim_pte_table *t, uint32_t i)
{
	return page_copy(mm, t, i, PTE_YOUNG | PTE_DIRTY | PTE_WRITE);
}

/* Context: PTE lock of t held.  do_wp_page: reuse or copy. */
static int wp_fault(struct sim_mm *mm, struct sim_pte_table *t, uint32_t i)
{
	struct sim *sim = mm->sim;
	uint32_t pte = t->ptes[i];

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (pte & PTE_UFFD_WP)
		return -EAGAIN;	/* delivered to the userfaultfd handler */
	if (pte_pfn(pte) != sim->pm.zero_pfn &&
	    can_reuse(sim, folio_head(sim, pte_pfn(pte)))) {
		st_relaxed(&t->ptes[i], pte | PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
		return 0;
	}
	return wp_copy(mm, t, i);
}

/* Context: PTE lock of t held.  The load or store itself. */
static void do_access(struct sim *sim, struct sim_pte_table *t, uint32_t i,
		      enum sim_access kind, uint64_t *tag)
{
	uint32_t pte = t->ptes[i], pfn = pte_pfn(pte);

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (kind == SIM_ACCESS_READ) {
		*tag = pfn == sim->pm.zero_pfn ? 0 : page_tag(sim, pfn);
		st_relaxed(&t->ptes[i], pte | PTE_YOUNG);
		return;
	}
	if (kind == SIM_ACCESS_WRITE)
		page_set_tag(sim, pfn, *tag);
	st_relaxed(&t->ptes[i], pte | PTE_YOUNG | PTE_DIRTY);
}

/*
 * Context: mmap_lock or (vma_locked) the VMA's lock held; takes and drops
 * the PTE lock of t.
 */
static int access_pte(struct sim_mm *mm, struct sim_vma *v, uint64_t addr,
		      struct sim_pte_table *t, enum sim_access kind, uint64_t *tag,
		      bool vma_locked, struct fault_reclaim *rc)
{
	struct sim *sim = mm->sim;
	uint32_t i = pte_index(sim, addr), pte;
	bool write = kind != SIM_ACCESS_READ;
	int err = 0;

	fault_assert_locked(mm);
	lockdep_assert_not_held(LOCK_PTE, t);
	pte_lock(t);
	fault_check_collapsing(mm, addr, vma_locked);
	pte = t->ptes[i];
	if (!pte) {
		err = anon_fault(mm, v, addr, t, kind, rc);
		if (err != FAULT_RECLAIM)	/* else counted when it runs again */
			count_vm(sim, VM_PGFAULT);
	} else if (pte_is_swap(pte) && pte_slot(pte) == 0) {
		/* a uffd-wp marker on an empty PTE */
		err = write ? -EAGAIN : 0;
		if (!err)
			st_relaxed(&t->ptes[i], pte_mk(sim->pm.zero_pfn, PTE_UFFD_WP));
	} else if (pte_is_swap(pte)) {
		err = swapin_pte_rc(mm, v, t, addr, write, rc);
		if (err != FAULT_RECLAIM)	/* else counted when it runs again */
			count_vm(sim, VM_PGFAULT);
	}
	if (!err && write && !(t->ptes[i] & PTE_WRITE)) {
		count_vm(sim, VM_PGFAULT);
		err = wp_fault(mm, t, i);
	}
	if (!err)
		do_access(sim, t, i, kind, tag);
	pte_unlock(t);
	return err;
}

/*
 * Context: mmap_lock or (vma_locked) the VMA's lock held; takes and drops
 * the PMD lock.
 */
static int access_huge(struct sim_mm *mm, uint64_t addr, uint64_t *pmdp,
		       struct sim_pmd_table *pmdt, enum sim_access kind,
		       uint64_t *tag, bool vma_locked)
{
	struct sim *sim = mm->sim;
	uint64_t pmd;
	uint32_t pfn, head;

	fault_assert_locked(mm);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	pmd_lock(pmdt);
	fault_check_collapsing(mm, addr, vma_locked);
	pmd = ld_acquire(pmdp);
	if (!pmd_is_huge(pmd)) {
		pmd_unlock(pmdt);
		return FAULT_RETRY;
	}
	head = pmd_pfn(pmd);
	pfn = head + pte_index(sim, addr);
	if (kind == SIM_ACCESS_READ) {
		*tag = (pmd & PMD_ZERO) ? 0 : page_tag(sim, pfn);
		st_release(pmdp, pmd | PMD_YOUNG);
		pmd_unlock(pmdt);
		return 0;
	}
	if ((pmd & PMD_ZERO) || (!(pmd & PMD_WRITE) &&
	    (folio_maybe_shared(sim, head) || folio_refcount(sim, head) != 1))) {
		/* write to the huge zero page or a shared THP: split, retry */
		pmd_unlock(pmdt);
		return pmd_split_huge(mm, pmdp, pmdt) ?: FAULT_RETRY;
	}
	if (kind == SIM_ACCESS_WRITE)
		page_set_tag(sim, pfn, *tag);
	st_release(pmdp, pmd | PMD_YOUNG | PMD_DIRTY | PMD_WRITE);
	pmd_unlock(pmdt);
	return 0;
}

/* May kind of access be made in v? */
static bool access_allowed(const struct sim_vma *v, enum sim_access kind)
{
	return v->prot & (kind != SIM_ACCESS_READ ? SIM_PROT_WRITE : SIM_PROT_RW);
}

/*
 * The access at addr in v, with its faults.  Context: mmap_lock held, or
 * (vma_locked) v's lock for read, v then a copy of the VMA.
 */
static int handle_vma_access(struct sim_mm *mm, struct sim_vma *v, uint64_t addr,
			     enum sim_access kind, uint64_t *tag, bool vma_locked,
			     struct fault_reclaim *rc)
{
	fault_assert_locked(mm);
	for (int tries = 0; tries < 64; tries++) {
		struct sim_pmd_table *pmdt;
		uint64_t *pmdp = pmd_lookup(mm, addr, true, &pmdt);
		uint64_t pmd;
		int err;

		if (!pmdp)
			return -ENOMEM;
		fault_check_collapsing(mm, addr, vma_locked);
		pmd = ld_acquire(pmdp);
		if (pmd_is_none(pmd)) {
			err = fault_pmd_none(mm, v, addr, pmdp, pmdt, kind, rc);
			if (err)
				return err;
			continue;
		}
		if (pmd_is_huge(pmd))
			err = access_huge(mm, addr, pmdp, pmdt, kind, tag, vma_locked);
		else
			err = access_pte(mm, v, addr, pmd_table(pmd), kind, tag, vma_locked, rc);
		if (err != FAULT_RETRY)
			return err;
	}
	return -EAGAIN;
}

int handle_access_rc(struct sim_mm *mm, uint64_t addr, enum sim_access kind,
		     uint64_t *tag, struct fault_reclaim *rc)
{
	struct sim_vma *v = vma_find(mm, addr);

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	if (!v || !access_allowed(v, kind))
		return -EFAULT;
	return handle_vma_access(mm, v, addr, kind, tag, false, rc);
}

int handle_access(struct sim_mm *mm, uint64_t addr, enum sim_access kind,
		  uint64_t *tag)
{
	return handle_access_rc(mm, addr, kind, tag, NULL);
}

/* Context: the collapse's mmap_lock held for write; tries VMA locks. */
void fault_race_vma_lock(struct sim_mm *mm, uint64_t addr)
{
	struct sim_vma v;
	struct sim_vma_lock *vl;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	vl = lock_vma_under_rcu_try(mm, addr, &v);
	if (!vl)
		return;
	fault_check_collapsing(mm, addr, true);
	vma_end_read(vl);
}

/*
 * The access under the per-VMA lock, as the kernel's fault handler tries
 * first: lock_vma_under_rcu(), then the fault with the VMA's lock for
 * read and no mmap_lock.  FAULT_FALLBACK when the VMA cannot be locked
 * (none there, or write-locked by an operation under mmap_lock for
 * write), when the access is not allowed (the error is left to the
 * mmap_lock path), or when the VMA has no anon_vma yet (preparing one
 * needs mmap_lock, as vmf_anon_prepare() says); nothing has been done or
 * counted then.  Context: no mmap_lock held; takes and drops the VMA's
 * lock for read.
 */
static int access_under_vma_lock(struct sim_mm *mm, uint64_t addr,
				 enum sim_access kind, uint64_t *tag, struct fault_reclaim *rc)
{
	struct sim_vma v;
	struct sim_vma_lock *vl = lock_vma_under_rcu(mm, addr, &v);
	int err = FAULT_FALLBACK;

	lockdep_assert_not_held(LOCK_MMAP, mm);
	if (!vl)
		return FAULT_FALLBACK;
	if (v.anon_vma && access_allowed(&v, kind))
		err = handle_vma_access(mm, &v, addr, kind, tag, true, rc);
	vma_end_read(vl);
	return err;
}

bool fault_reclaim(struct sim_mm *mm, int err, struct fault_reclaim *rc)
{
	struct sim *sim = mm->sim;
	struct sim_shrink_result shrunk;
	bool limited;

	lockdep_assert_none_held();
	/*
	 * A large folio's allocation or charge reclaims first, where the
	 * settings let it, and the fault runs again (falling back to smaller
	 * folios if it fails again).
	 */
	if (err == FAULT_RECLAIM) {
		rc->done = true;
		(void)sim_reclaim(sim, rc->memcg, 1ull << rc->order, &shrunk);
		return true;
	}
	/*
	 * Short of memory, direct reclaim runs once: a cgroup at its limit
	 * reclaims its own pages, the machine every cgroup's.
	 */
	if (err != -ENOMEM || rc->reclaimed)
		return false;
	rc->reclaimed = true;
	limited = mm->memcg && ld_relaxed(&sim->memcgs[mm->memcg].limit) != UINT64_MAX;
	return !sim_reclaim(sim, limited ? (int)mm->memcg : -1, 1, &shrunk) &&
	       shrunk.pages_freed;
}

/*
 * Context: no lock held; takes the world lock, then a VMA's lock for read
 * or, when that fails, mmap_lock for read.
 */
static int access_op(struct sim_mm *mm, uint64_t addr, enum sim_access kind,
		     uint64_t *tag)
{
	struct sim *sim = mm->sim;
	uint64_t faults = ld_relaxed(&sim->vmstat[VM_PGFAULT]);
	struct fault_reclaim rc = { .done = false };
	int err;

	lockdep_assert_none_held();
	if (addr & (sim->geo.page_size - 1))
		return -EINVAL;
	do {
		world_enter(sim);
		err = access_under_vma_lock(mm, addr, kind, tag, &rc);
		if (err == FAULT_FALLBACK) {
			mmap_read_lock(mm);
			err = handle_access_rc(mm, addr, kind, tag, &rc);
			mmap_unlock(mm);
		}
		world_exit(sim);
	} while (fault_reclaim(mm, err, &rc));
	/* debug builds: check after a fault (a mapping change) */
	if (faults != ld_relaxed(&sim->vmstat[VM_PGFAULT]))
		sim_debug_check(sim);
	return err;
}

int sim_read(struct sim_mm *mm, uint64_t addr, uint64_t *tag)
{
	return access_op(mm, addr, SIM_ACCESS_READ, tag);
}

int sim_write(struct sim_mm *mm, uint64_t addr, uint64_t tag)
{
	return access_op(mm, addr, SIM_ACCESS_WRITE, &tag);
}

/*
 * A pin (FOLL_PIN) of an anonymous page that may be mapped by another
 * process unshares it first, as GUP's unshare fault does: the process
 * gets its own copy (young, not writable, not dirty, keeping a uffd-wp
 * bit) and the pin is taken on that, so a pinned page is never a shared
 * one.  A PMD-mapped THP is
 * split first (-EAGAIN: the caller splits and retries).
 * Context: mmap_lock held; takes the PMD lock, then the PTE lock nested
 * inside it, and drops both.
 */
static int pin_locked(struct sim_mm *mm, uint64_t addr, bool pin)
{
	struct sim *sim = mm->sim;
	struct sim_pmd_table *pmdt;
	uint64_t *pmdp = pmd_lookup(mm, addr, false, &pmdt), pmd;
	uint32_t pfn = SIM_NO_PFN;
	struct sim_pte_table *t = NULL;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	lockdep_assert_not_held(LOCK_PMD, NULL);
	if (!pmdp)
		return -EFAULT;
	pmd_lock(pmdt);
	pmd = ld_acquire(pmdp);
	if (pmd_is_huge(pmd) && !(pmd & PMD_ZERO)) {
		if (pin && folio_maybe_shared(sim, pmd_pfn(pmd))) {
			pmd_unlock(pmdt);
			return -EAGAIN;
		}
		pfn = pmd_pfn(pmd);
	} else if (pmd_is_table(pmd)) {
		t = pmd_table(pmd);
	}
	if (t) {
		uint32_t i = pte_index(sim, addr), pte;

		pte_lock(t);
		pte = t->ptes[i];
		if (pin && pte_present(pte) && pte_pfn(pte) != sim->pm.zero_pfn &&
		    folio_maybe_shared(sim, folio_head(sim, pte_pfn(pte))) &&
		    page_copy(mm, t, i, PTE_YOUNG | (pte & PTE_UFFD_WP))) {
			pte_unlock(t);
			pmd_unlock(pmdt);
			return -ENOMEM;
		}
		pte = t->ptes[i];
		if (pte_present(pte) && pte_pfn(pte) != sim->pm.zero_pfn)
			pfn = pte_pfn(pte);
	}
	if (pfn != SIM_NO_PFN) {
		uint32_t head = folio_head(sim, pfn);

		if (pin)
			folio_get(sim, head, 1);
		else if (folio_refcount(sim, head) > folio_mapcount(sim, head))
			folio_put(sim, head, 1);
		else
			pfn = SIM_NO_PFN;
	}
	if (t)
		pte_unlock(t);
	pmd_unlock(pmdt);
	return pfn == SIM_NO_PFN ? -EFAULT : 0;
}

/* Context: no lock held; takes the world lock, then mmap_lock for read. */
static int pin_op(struct sim_mm *mm, uint64_t addr, bool pin)
{
	int err;

	lockdep_assert_none_held();
	world_enter(mm->sim);
	mmap_read_lock(mm);
	err = pin_locked(mm, addr, pin);
	if (err == -EAGAIN) {	/* a shared THP: split it, then unshare the page */
		struct sim_pmd_table *pmdt;
		uint64_t *pmdp = pmd_lookup(mm, addr, false, &pmdt);

		err = pmdp ? pmd_split_huge(mm, pmdp, pmdt) : -EFAULT;
		if (!err)
			err = pin_locked(mm, addr, pin);
	}
	mmap_unlock(mm);
	world_exit(mm->sim);
	return err;
}

int sim_pin(struct sim_mm *mm, uint64_t addr)
{
	return pin_op(mm, addr, true);
}

int sim_unpin(struct sim_mm *mm, uint64_t addr)
{
	return pin_op(mm, addr, false);
}
