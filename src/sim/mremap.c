// SPDX-License-Identifier: MIT
/*
 * mremap.c - mremap (move): the VMA moves with its anon_vma and pgoff,
 * the page tables move entry by entry (whole huge PMDs when source and
 * destination are PMD aligned, else PTEs), mappings and counts unchanged.
 * Context: mmap_lock held for write; source PTE lock, then destination
 * PTE lock nested (source PMD lock, then destination PMD lock nested).
 */
#include <errno.h>

#include "sim/sim_internal.h"

/* Tables under every PMD of [start, end).  Context: mmap_lock write. */
static int prepare_tables(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	uint64_t pmd_size = mthp_pmd_size(&mm->sim->geo);

	for (uint64_t addr = pmd_base(mm->sim, start); addr < end; addr += pmd_size) {
		struct sim_pmd_table *pmdt;
		uint64_t *pmdp = pmd_lookup(mm, addr, true, &pmdt);
		int err;

		if (!pmdp)
			return -ENOMEM;
		if (pmd_is_huge(ld_acquire(pmdp)))
			err = pmd_split_huge(mm, pmdp, pmdt);
		else
			err = pmd_install_table(mm, pmdp, pmdt);
		if (err)
			return err;
	}
	return 0;
}

/* Context: mmap_lock write; the destination PMD is none or an empty table. */
static int move_huge(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		     uint64_t dst)
{
	struct sim_pmd_table *dpmdt;
	uint64_t *dpmdp = pmd_lookup(mm, dst, true, &dpmdt), pmd, old;

	if (!dpmdp)
		return -ENOMEM;
	pmd_lock(pmdt);
	if (dpmdt != pmdt)
		pmd_lock_nested(dpmdt);
	pmd = ld_acquire(pmdp);
	old = ld_acquire(dpmdp);
	st_release(pmdp, 0);
	st_release(dpmdp, pmd);
	if (dpmdt != pmdt)
		pmd_unlock_nested(dpmdt);
	pmd_unlock(pmdt);
	if (pmd_is_table(old))
		pte_table_free(pmd_table(old));
	return 0;
}

/* Context: PTE lock of src held; takes destination PTE locks nested. */
static void move_ptes(struct sim_mm *mm, struct sim_pte_table *src,
		      uint64_t start, uint64_t end, uint64_t delta)
{
	struct sim *sim = mm->sim;
	struct sim_pte_table *held = NULL;

	for (uint64_t addr = start; addr < end; addr += sim->geo.page_size) {
		uint32_t i = pte_index(sim, addr), pte = src->ptes[i];
		struct sim_pmd_table *dpmdt;
		uint64_t *dpmdp;
		struct sim_pte_table *dst;

		if (!pte)
			continue;
		dpmdp = pmd_lookup(mm, addr + delta, false, &dpmdt);
		dst = pmd_table(ld_acquire(dpmdp));
		if (dst != held) {
			if (held && held != src)
				pte_unlock_nested(held);
			held = dst;
			if (held != src)
				pte_lock_nested(held);
		}
		dst->ptes[pte_index(sim, addr + delta)] = pte;
		src->ptes[i] = 0;
	}
	if (held && held != src)
		pte_unlock_nested(held);
}

struct move_ctx {
	uint64_t delta;
};

/* Context: mmap_lock held for write. */
static int move_pmd(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		    uint64_t start, uint64_t end, void *ctx)
{
	struct sim *sim = mm->sim;
	uint64_t delta = ((struct move_ctx *)ctx)->delta;
	uint64_t pmd = ld_acquire(pmdp);
	struct sim_pte_table *t;
	int err;

	if (pmd_is_huge(pmd) && pmd_base(sim, start + delta) == start + delta)
		return move_huge(mm, pmdp, pmdt, start + delta);
	if (pmd_is_huge(pmd)) {
		err = pmd_split_huge(mm, pmdp, pmdt);
		if (err)
			return err;
		pmd = ld_acquire(pmdp);
	}
	if (!pmd_is_table(pmd))
		return 0;
	err = prepare_tables(mm, start + delta, end + delta);
	if (err)
		return err;
	t = pmd_table(pmd);
	pte_lock(t);
	move_ptes(mm, t, start, end, delta);
	pte_unlock(t);
	return 0;
}

static bool range_ok(struct sim *sim, uint64_t addr, uint64_t len)
{
	uint64_t mask = sim->geo.page_size - 1;

	return len && !(addr & mask) && !(len & mask) && addr + len > addr &&
	       addr + len <= (1ull << SIM_VA_BITS);
}

/* Context: mmap_lock held for write. */
static int mremap_locked(struct sim_mm *mm, uint64_t old, uint64_t len,
			 uint64_t *new_addr)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo), dst = *new_addr;
	struct sim_vma *v = vma_find(mm, old), nv;
	struct move_ctx ctx;
	int err;

	if (!v || old + len > v->end)
		return -EFAULT;
	if (dst && dst < old + len && old < dst + len)
		return -EINVAL;
	err = vma_isolate_range(mm, old, old + len);
	if (err)
		return err;
	if (dst) {
		err = zap_range(mm, dst, dst + len);
		if (!err)
			err = vma_remove_range(mm, dst, dst + len);
	} else {
		uint64_t align = len >= pmd_size ? pmd_size : sim->geo.page_size;

		err = vma_get_unmapped_area(mm, len, align, &dst);
	}
	if (err)
		return err;
	nv = *vma_find(mm, old);
	nv.start = dst;
	nv.end = dst + len;
	nv.anon_vma = anon_vma_get(nv.anon_vma);
	err = vma_insert(mm, &nv);
	if (err) {
		anon_vma_put(nv.anon_vma);
		return err;
	}
	ctx.delta = dst - old;
	err = walk_pmds(mm, old, old + len, move_pmd, &ctx);
	if (err)
		return err;
	err = vma_remove_range(mm, old, old + len);
	free_unused_tables(mm, old, old + len);
	vma_merge_range(mm, dst, dst + len);
	*new_addr = dst;
	return err;
}

int sim_mremap(struct sim_mm *mm, uint64_t old_addr, uint64_t len,
	       uint64_t *new_addr)
{
	struct sim *sim = mm->sim;
	int err;

	if (!range_ok(sim, old_addr, len) ||
	    (*new_addr && !range_ok(sim, *new_addr, len)))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	err = mremap_locked(mm, old_addr, len, new_addr);
	mmap_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}
