// SPDX-License-Identifier: MIT
/*
 * mremap.c - mremap(2) of anonymous memory, with the kernel's semantics
 * (mm/mremap.c do_mremap, mremap_to, vma_to_resize, move_vma):
 *   - MREMAP_FIXED (with MREMAP_MAYMOVE): the destination is unmapped
 *     first, the old range shrunk to new_len by unmapping its tail, and
 *     what is left moved to the destination, into a VMA of new_len;
 *   - otherwise a shrink unmaps the tail in place; a grow extends the VMA
 *     in place when the range ends at the VMA's end and the range after
 *     it is free, else moves it to a free area when MREMAP_MAYMOVE is
 *     given, else fails with -ENOMEM;
 *   - the part that moves or grows must lie inside one VMA (-EFAULT).
 * A move takes the VMA's anon_vma and pgoff along; the page tables move
 * entry by entry (whole huge PMDs when source and destination are PMD
 * aligned, else PTEs), mappings and counts unchanged.
 * Context: mmap_lock held for write; two tables' PTE (or PMD) locks at a
 * time, the lower address first and the other nested.
 */
#include <errno.h>

#include "sim/check.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pgtable.h"
#include "sim/vma.h"
#include "sim/world.h"

/* Tables under every PMD of [start, end).  Context: mmap_lock write. */
static int prepare_tables(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	uint64_t pmd_size = mthp_pmd_size(&mm->sim->geo);

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
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

/*
 * Two tables' locks of one mm are always taken lower address first, the
 * second nested, so a move and a move back take them in the same order
 * (the kernel orders them by its own rules; any one order will do).
 */
_Static_assert(LOCK_PMD_NESTED == LOCK_PMD + 1 && LOCK_PTE_NESTED == LOCK_PTE + 1,
	       "each table lock class is followed by its nested class");

/* Order a pair of table locks (and their tables) lower address first. */
struct lock_pair {
	pthread_mutex_t *first, *second;
	const void *o1, *o2;
};

static struct lock_pair lock_order(pthread_mutex_t *a, const void *oa,
				   pthread_mutex_t *b, const void *ob)
{
	if (oa > ob)
		return (struct lock_pair){ b, a, ob, oa };
	return (struct lock_pair){ a, b, oa, ob };
}

/* Take a and b (the locks of tables oa and ob) of class c, the second nested. */
static void lock_pair(pthread_mutex_t *a, const void *oa, pthread_mutex_t *b,
		      const void *ob, enum sim_lock_class c)
{
	struct lock_pair p = lock_order(a, oa, b, ob);

	mutex_lock_at(p.first, c, p.o1, __FILE__, __LINE__);
	if (p.o1 != p.o2)
		mutex_lock_at(p.second, (enum sim_lock_class)(c + 1), p.o2,
			      __FILE__, __LINE__);
}

/* Drop what lock_pair() took, the nested one first. */
static void unlock_pair(pthread_mutex_t *a, const void *oa, pthread_mutex_t *b,
			const void *ob, enum sim_lock_class c)
{
	struct lock_pair p = lock_order(a, oa, b, ob);

	if (p.o1 != p.o2)
		mutex_unlock_at(p.second, (enum sim_lock_class)(c + 1), p.o2,
				__FILE__, __LINE__);
	mutex_unlock_at(p.first, c, p.o1, __FILE__, __LINE__);
}

static void pmd_lock_pair(struct sim_pmd_table *a, struct sim_pmd_table *b)
{
	lock_pair(&a->lock, a, &b->lock, b, LOCK_PMD);
}

static void pmd_unlock_pair(struct sim_pmd_table *a, struct sim_pmd_table *b)
{
	unlock_pair(&a->lock, a, &b->lock, b, LOCK_PMD);
}

static void pte_lock_pair(struct sim_pte_table *a, struct sim_pte_table *b)
{
	lock_pair(&a->lock, a, &b->lock, b, LOCK_PTE);
}

static void pte_unlock_pair(struct sim_pte_table *a, struct sim_pte_table *b)
{
	unlock_pair(&a->lock, a, &b->lock, b, LOCK_PTE);
}

/*
 * Context: mmap_lock held for write; the destination PMD is none or an
 * empty table.  Takes the two PMD locks (pmd_lock_pair) and drops them.
 */
static int move_huge(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		     uint64_t dst)
{
	struct sim_pmd_table *dpmdt;
	uint64_t *dpmdp = pmd_lookup(mm, dst, true, &dpmdt), pmd, old;
	struct sim_pte_table *dep, *old_dep;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_not_held(LOCK_PMD, NULL);
	if (!dpmdp)
		return -ENOMEM;
	pmd_lock_pair(pmdt, dpmdt);
	pmd = ld_acquire(pmdp);
	old = ld_acquire(dpmdp);
	st_release(pmdp, 0);
	st_release(dpmdp, pmd);
	/* a huge PMD's deposited table moves with it */
	dep = pgtable_withdraw(pmdt, pmdp);
	old_dep = pgtable_withdraw(dpmdt, dpmdp);
	pgtable_deposit(dpmdt, dpmdp, dep);
	pmd_unlock_pair(pmdt, dpmdt);
	if (pmd_is_table(old))
		pte_table_free(pmd_table(old));
	pte_table_free(old_dep);
	return 0;
}

/*
 * Move the PTEs of [start, end) from table src by delta, holding src's
 * lock and the destination table's (pte_lock_pair) while they move.
 * Context: mmap_lock held for write; no PTE lock held; takes and drops
 * the PTE locks.
 */
static void move_ptes(struct sim_mm *mm, struct sim_pte_table *src,
		      uint64_t start, uint64_t end, uint64_t delta)
{
	struct sim *sim = mm->sim;
	struct sim_pte_table *held = NULL;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_not_held(LOCK_PTE, NULL);
	for (uint64_t addr = start; addr < end; addr += sim->geo.page_size) {
		uint32_t i = pte_index(sim, addr);
		struct sim_pmd_table *dpmdt;
		uint64_t *dpmdp = pmd_lookup(mm, addr + delta, false, &dpmdt);
		struct sim_pte_table *dst = pmd_table(ld_acquire(dpmdp));
		uint32_t pte;

		if (dst != held) {
			if (held)
				pte_unlock_pair(src, held);
			pte_lock_pair(src, dst);
			held = dst;
		}
		pte = src->ptes[i];
		if (!pte)
			continue;
		st_relaxed(&dst->ptes[pte_index(sim, addr + delta)], pte);
		st_relaxed(&src->ptes[i], 0);
	}
	if (held)
		pte_unlock_pair(src, held);
	lockdep_assert_not_held(LOCK_PTE, NULL);
}

struct move_ctx {
	uint64_t delta;
};

/* Context: mmap_lock held for write; takes and drops PMD and PTE locks. */
static int move_pmd(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		    uint64_t start, uint64_t end, void *ctx)
{
	struct sim *sim = mm->sim;
	uint64_t delta = ((struct move_ctx *)ctx)->delta;
	uint64_t pmd = ld_acquire(pmdp);
	struct sim_pte_table *t;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_not_held(LOCK_PTE, NULL);
	if (pmd_is_huge(pmd) && pmd_base(sim, start + delta) == start + delta)
		return move_huge(mm, pmdp, pmdt, start + delta);
	err = pmd_split_table(mm, pmdp, pmdt, pmd, &t);
	if (err || !t)
		return err;
	err = prepare_tables(mm, start + delta, end + delta);
	if (err)
		return err;
	move_ptes(mm, t, start, end, delta);
	return 0;
}

/*
 * vma_to_resize: the VMA holding [old, old + old_len), which must not
 * cross its end; -EFAULT otherwise.  Context: mmap_lock held.
 */
static int vma_to_resize(struct sim_mm *mm, uint64_t old, uint64_t old_len,
			 struct sim_vma **vp)
{
	struct sim_vma *v;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	v = vma_find(mm, old);
	if (!v || old_len > v->end - old)
		return -EFAULT;
	*vp = v;
	return 0;
}

/*
 * move_vma: move [old, old + old_len), inside one VMA, to dst, into a VMA
 * of new_len (>= old_len; the rest of it maps nothing yet) that keeps the
 * anon_vma, pgoff and flags; [dst, dst + new_len) must be free.
 * Context: mmap_lock held for write.
 */
static int move_vma(struct sim_mm *mm, uint64_t old, uint64_t old_len,
		    uint64_t new_len, uint64_t dst)
{
	struct move_ctx ctx = { .delta = dst - old };
	struct sim_vma nv;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	err = vma_isolate_range(mm, old, old + old_len);
	if (err)
		return err;
	vma_start_write(mm, vma_find(mm, old));
	nv = *vma_find(mm, old);
	/* the pages change address: rmap walks in flight end first */
	anon_vma_unlink(nv.anon_vma);
	nv.start = dst;
	nv.end = dst + new_len;
	nv.anon_vma = anon_vma_get(nv.anon_vma);
	err = vma_insert(mm, &nv);
	if (err) {
		anon_vma_put(nv.anon_vma);
		return err;
	}
	err = walk_pmds(mm, old, old + old_len, move_pmd, &ctx);
	if (err)
		return err;
	err = vma_remove_range(mm, old, old + old_len);
	free_unused_tables(mm, old, old + old_len);
	vma_merge_range(mm, dst, dst + new_len);
	return err;
}

/*
 * vma_expandable: may v grow by delta in place (nothing mapped in
 * [v->end, v->end + delta), inside the address space)?
 * Context: mmap_lock held.
 */
static bool vma_expandable(struct sim_mm *mm, const struct sim_vma *v,
			   uint64_t delta)
{
	uint64_t end = v->end + delta;
	size_t i;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	if (end < v->end || end > (1ull << SIM_VA_BITS))
		return false;
	i = vma_index_after(mm, v->end);
	return i >= mm->nr_vmas || mm->vmas[i].start >= end;
}

/*
 * A move without MREMAP_FIXED: move_vma to a free area of new_len bytes,
 * whose start goes to *new_addr.  Context: mmap_lock held for write.
 */
static int move_to_free_area(struct sim_mm *mm, uint64_t old, uint64_t old_len,
			     uint64_t new_len, uint64_t *new_addr)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo);
	uint64_t dst;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	err = vma_get_unmapped_area(mm, new_len, new_len >= pmd_size ? pmd_size :
				    sim->geo.page_size, &dst);
	if (!err)
		err = move_vma(mm, old, old_len, new_len, dst);
	if (!err)
		*new_addr = dst;
	return err;
}

/* do_mremap.  Context: mmap_lock held for write. */
static int mremap_locked(struct sim_mm *mm, uint64_t old, uint64_t old_len,
			 uint64_t new_len, unsigned flags, uint64_t *new_addr)
{
	uint64_t dst = *new_addr;
	struct sim_vma *v;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	if (!vma_find(mm, old))
		return -EFAULT;
	if (flags & SIM_MREMAP_FIXED) {
		/* mremap_to */
		if (old + old_len > dst && dst + new_len > old)
			return -EINVAL;
		err = munmap_locked(mm, dst, dst + new_len);
		if (!err && old_len > new_len) {
			err = munmap_locked(mm, old + new_len, old + old_len);
			old_len = new_len;
		}
		if (!err)
			err = vma_to_resize(mm, old, old_len, &v);
		if (!err)
			err = move_vma(mm, old, old_len, new_len, dst);
		return err;
	}
	if (old_len >= new_len) {
		/* always allowed: a shrink just unmaps the tail */
		err = 0;
		if (old_len > new_len)
			err = munmap_locked(mm, old + new_len, old + old_len);
		if (!err)
			*new_addr = old;
		return err;
	}
	err = vma_to_resize(mm, old, old_len, &v);
	if (err)
		return err;
	if (old + old_len == v->end && vma_expandable(mm, v, new_len - old_len)) {
		vma_start_write(mm, v);
		vma_tree_write_lock(mm);
		v->end += new_len - old_len;
		vma_tree_unlock(mm);
		vma_merge_range(mm, v->start, v->end);
		*new_addr = old;
		return 0;
	}
	if (!(flags & SIM_MREMAP_MAYMOVE))
		return -ENOMEM;
	return move_to_free_area(mm, old, old_len, new_len, new_addr);
}

/* Context: no lock held; takes the world lock, then mmap_lock for write. */
int sim_mremap_resize(struct sim_mm *mm, uint64_t old_addr, uint64_t old_len,
		      uint64_t new_len, unsigned flags, uint64_t *new_addr)
{
	struct sim *sim = mm->sim;
	int err;

	lockdep_assert_none_held();
	if (flags & ~(SIM_MREMAP_MAYMOVE | SIM_MREMAP_FIXED))
		return -EINVAL;
	if ((flags & SIM_MREMAP_FIXED) && !(flags & SIM_MREMAP_MAYMOVE))
		return -EINVAL;
	if (!mm_range_ok(sim, old_addr, old_len) || !mm_range_ok(sim, old_addr, new_len))
		return -EINVAL;
	if ((flags & SIM_MREMAP_FIXED) && !mm_range_ok(sim, *new_addr, new_len))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	err = mremap_locked(mm, old_addr, old_len, new_len, flags, new_addr);
	mmap_write_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}

/*
 * The move of a whole range to anywhere (no MREMAP_FIXED), even at the
 * same length: the simulator's own, for races and stress.
 * Context: mmap_lock held for write.
 */
static int mremap_anywhere_locked(struct sim_mm *mm, uint64_t old, uint64_t len,
				  uint64_t *new_addr)
{
	struct sim_vma *v;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	err = vma_to_resize(mm, old, len, &v);
	return err ? err : move_to_free_area(mm, old, len, len, new_addr);
}

/* Context: no lock held; takes the world lock, then mmap_lock for write. */
int sim_mremap(struct sim_mm *mm, uint64_t old_addr, uint64_t len,
	       uint64_t *new_addr)
{
	struct sim *sim = mm->sim;
	int err;

	lockdep_assert_none_held();
	if (*new_addr)
		return sim_mremap_resize(mm, old_addr, len, len,
					 SIM_MREMAP_MAYMOVE | SIM_MREMAP_FIXED,
					 new_addr);
	if (!mm_range_ok(sim, old_addr, len))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	err = mremap_anywhere_locked(mm, old_addr, len, new_addr);
	mmap_write_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}
