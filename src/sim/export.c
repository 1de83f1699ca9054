// SPDX-License-Identifier: MIT
/*
 * export.c - what the simulator looks like from outside: a whole mm as a
 * snapshot with the settings in force (the PTE states from
 * states.c), and sim_page_info() for one address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/pgtable.h"
#include "sim/states.h"
#include "sim/swap.h"
#include "sim/vma.h"
#include "sim/world.h"

struct setting_ctx {
	struct mthp_snapshot *snap;
	int err;
};

static void add_setting(void *ctx, const char *knob, const char *value)
{
	struct setting_ctx *c = ctx;

	if (!c->err)
		c->err = mthp_snapshot_add_setting(c->snap, knob, value);
}

/*
 * The swap orders of the table at pmd_addr (mthp_swap_orders()) into
 * orders[] under its 'w' PTEs (ptes[], its states), each VMA's part of
 * the table apart: a swap-in brings in a block only from inside the
 * faulting VMA.  slots, swap: scratch of ptes_per_pmd entries.
 * Context: mmap_lock held; takes and drops the PTE lock.
 */
static void table_swap_orders(struct sim_mm *mm, uint64_t pmd_addr, const uint8_t *ptes,
			      uint8_t *orders, uint64_t *slots, uint8_t *swap)
{
	struct sim *sim = mm->sim;
	uint32_t n = sim->geo.ptes_per_pmd;
	uint64_t end = pmd_addr + mthp_pmd_size(&sim->geo);
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;
	uint64_t *pmdp;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	if (!memchr(ptes, MTHP_PTE_SWAP, n) ||
	    pmd_lookup_kind(mm, pmd_addr, &pmdp, &pmdt, &t) != MTHP_PMD_TABLE)
		return;
	for (size_t k = 0; k < mm->nr_vmas; k++) {
		const struct sim_vma *v = &mm->vmas[k];
		uint32_t lo, hi;

		if (v->end <= pmd_addr || v->start >= end)
			continue;
		lo = v->start > pmd_addr ? pte_index(sim, v->start) : 0;
		hi = v->end < end ? pte_index(sim, v->end) : n;
		pte_lock(t);
		for (uint32_t i = 0; i < n; i++)
			slots[i] = i >= lo && i < hi && ptes[i] == MTHP_PTE_SWAP ?
				   pte_slot(t->ptes[i]) : MTHP_NO_SWAP;
		pte_unlock(t);
		mthp_swap_orders(slots, n, sim->geo.pmd_order - 1, swap);
		for (uint32_t i = lo; i < hi; i++)
			if (ptes[i] == MTHP_PTE_SWAP)
				orders[i] = swap[i];
	}
}

/*
 * Context: mmap_lock held.  all: every PMD range over v, a range with no
 * page table as `none`; else only the ranges with a table or a huge PMD.
 */
static int snapshot_vma(struct sim_mm *mm, struct mthp_snapshot *snap,
			const struct sim_vma *v, bool all, uint8_t *ptes, uint8_t *orders,
			uint64_t *slots)
{
	uint64_t pmd_size = mthp_pmd_size(&mm->sim->geo);
	uint64_t addr = v->start & ~(pmd_size - 1);
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	/* a table shared with the vma before was written after it */
	if (snap->nr_pmds && snap->pmds[snap->nr_pmds - 1].addr >= addr)
		addr += pmd_size;
	err = mthp_snapshot_add_vma(snap, v->start, v->end, vma_snapshot_flags(v));
	/* every range over the vma, also the ones it covers only in part */
	for (; !err && addr < v->end; addr += pmd_size) {
		enum mthp_pmd_kind kind;

		if (!all && (addr = pmd_next_dir(mm, addr, v->end)) >= v->end)
			break;
		kind = sim_pmd_states(mm, addr, ptes, orders, NULL);
		if (!all && kind == MTHP_PMD_NONE)
			continue;
		if (kind == MTHP_PMD_TABLE) {
			table_swap_orders(mm, addr, ptes, orders, slots, ptes + MTHP_MAX_PTES * 2);
			err = mthp_snapshot_add_pmd(snap, addr, kind, ptes, orders);
		}
		else
			err = mthp_snapshot_add_pmd(snap, addr, kind, NULL, NULL);
	}
	return err;
}

static int mm_snapshot(struct sim_mm *mm, bool all, struct mthp_snapshot *snap)
{
	struct sim *sim = mm->sim;
	struct setting_ctx sc = { .snap = snap, .err = 0 };
	/* states, orders, swap orders, then the swap orders' keys */
	uint8_t *ptes = malloc(3 * MTHP_MAX_PTES + MTHP_MAX_PTES * sizeof(uint64_t));
	uint64_t *slots = (uint64_t *)(void *)(ptes + 3 * MTHP_MAX_PTES);
	int err = 0;

	if (!ptes)
		return -ENOMEM;
	mthp_snapshot_init(snap, &sim->geo);
	world_enter(sim);
	mmap_read_lock(mm);
	mthp_settings_foreach(sim_settings(sim), add_setting, &sc);
	err = sc.err;
	for (size_t i = 0; i < mm->nr_vmas && !err; i++)
		err = snapshot_vma(mm, snap, &mm->vmas[i], all, ptes, ptes + MTHP_MAX_PTES,
				   slots);
	mmap_unlock(mm);
	world_exit(sim);
	free(ptes);
	if (err)
		mthp_snapshot_free(snap);
	return err;
}

int sim_mm_snapshot(struct sim_mm *mm, struct mthp_snapshot *snap)
{
	return mm_snapshot(mm, true, snap);
}

int sim_mm_snapshot_populated(struct sim_mm *mm, struct mthp_snapshot *snap)
{
	return mm_snapshot(mm, false, snap);
}

/*
 * Context: the PMD lock of the range mapping pfn held (and the PTE lock
 * of its table when it is PTE-mapped), so the mapping cannot go away.
 */
static void info_folio(struct sim *sim, uint32_t pfn, struct sim_page_info *info)
{
	uint32_t head = folio_head(sim, pfn);

	lockdep_assert_held(LOCK_PMD, NULL, LOCK_WRITE);
	info->pfn = pfn;
	info->order = sim_pg(sim, head)->order;
	info->refcount = folio_refcount(sim, head);
	info->folio_mapcount = folio_mapcount(sim, head);
	info->mapcount = (uint32_t)ld_relaxed(&sim_pg(sim, pfn)->mapcount) +
			 folio_entire_mapcount(sim, head);
	info->tag = page_tag(sim, pfn);
}

/*
 * Context: mmap_lock held; takes the PMD lock, then the PTE lock nested
 * inside it, and drops both.
 */
static void page_info_locked(struct sim_mm *mm, uint64_t addr,
			     struct sim_page_info *info)
{
	struct sim *sim = mm->sim;
	struct sim_pmd_table *pmdt;
	uint64_t *pmdp = pmd_lookup(mm, addr, false, &pmdt), pmd;
	struct sim_pte_table *t;
	uint32_t pte;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	lockdep_assert_not_held(LOCK_PMD, NULL);
	if (!pmdp)
		return;
	pmd_lock(pmdt);
	pmd = ld_acquire(pmdp);
	if (pmd_is_huge(pmd)) {
		info->huge = true;
		info->young = pmd & PMD_YOUNG;
		info->dirty = pmd & PMD_DIRTY;
		info->writable = pmd & PMD_WRITE;
		info->state = MTHP_PTE_ZERO;
		if (!(pmd & PMD_ZERO)) {
			info_folio(sim, pmd_pfn(pmd) + pte_index(sim, addr), info);
			info->state = folio_maybe_shared(sim, pmd_pfn(pmd)) ?
				      MTHP_PTE_SHARED_YOUNG : MTHP_PTE_YOUNG;
		}
	} else if (pmd_is_table(pmd)) {
		t = pmd_table(pmd);
		pte_lock(t);
		pte = t->ptes[pte_index(sim, addr)];
		info->state = pte_state(sim, pte);
		info->young = pte_present(pte) && (pte & PTE_YOUNG);
		info->dirty = pte_present(pte) && (pte & PTE_DIRTY);
		info->writable = pte_present(pte) && (pte & PTE_WRITE);
		if (pte_present(pte) && pte_pfn(pte) != sim->pm.zero_pfn)
			info_folio(sim, pte_pfn(pte), info);
		else if (pte_is_swap(pte) && pte_slot(pte))
			info->tag = swap_tag(&sim->swap, pte_slot(pte));
		pte_unlock(t);
	}
	pmd_unlock(pmdt);
}

int sim_page_info(struct sim_mm *mm, uint64_t addr, struct sim_page_info *info)
{
	*info = (struct sim_page_info){ .state = MTHP_PTE_NONE };
	world_enter(mm->sim);
	mmap_read_lock(mm);
	page_info_locked(mm, addr, info);
	mmap_unlock(mm);
	world_exit(mm->sim);
	return 0;
}
