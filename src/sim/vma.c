// SPDX-License-Identifier: MIT
/*
 * vma.c - VMAs of an mm: a sorted array searched by address, splitting at
 * a boundary, merging compatible neighbours, removing a range, finding a
 * free area, the anon_vma (its rwlock is the one khugepaged takes;
 * shared by parent and child after fork, reference counted), and freeing
 * the page tables no VMA covers any more.
 * Context: the VMA array changes only under mmap_lock held for write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/locks.h"
#include "sim/pgtable.h"
#include "sim/vma.h"
#include "sim/world.h"

#define SIM_MMAP_MIN	0x10000000ull

size_t vma_index_after(struct sim_mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

struct sim_vma *vma_find(struct sim_mm *mm, uint64_t addr)
{
	size_t i = vma_index_after(mm, addr);

	if (i < mm->nr_vmas && mm->vmas[i].start <= addr)
		return &mm->vmas[i];
	return NULL;
}

static int vma_reserve(struct sim_mm *mm, size_t extra)
{
	size_t cap;
	struct sim_vma *n;

	if (mm->nr_vmas + extra <= mm->cap_vmas)
		return 0;
	cap = mm->cap_vmas ? mm->cap_vmas * 2 : 16;
	while (cap < mm->nr_vmas + extra)
		cap *= 2;
	n = realloc(mm->vmas, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	mm->vmas = n;
	mm->cap_vmas = cap;
	return 0;
}

/* Context: mmap_lock held for write (a fork child's: nested). */
int vma_insert(struct sim_mm *mm, const struct sim_vma *v)
{
	size_t i;
	int err;

	mmap_assert_locked(mm, LOCK_WRITE);
	err = vma_reserve(mm, 1);
	if (err)
		return err;
	i = vma_index_after(mm, v->start);
	memmove(&mm->vmas[i + 1], &mm->vmas[i],
		(mm->nr_vmas - i) * sizeof(*v));
	mm->vmas[i] = *v;
	mm->nr_vmas++;
	return 0;
}

struct sim_anon_vma *anon_vma_get(struct sim_anon_vma *av)
{
	if (av)
		__atomic_fetch_add(&av->refcount, 1, __ATOMIC_RELAXED);
	return av;
}

void anon_vma_unlink(struct sim_anon_vma *av)
{
	if (!av)
		return;
	anon_vma_lock_write(av);
	st_relaxed(&av->unlinks, ld_relaxed(&av->unlinks) + 1);
	anon_vma_unlock_write(av);
}

void anon_vma_put(struct sim_anon_vma *av)
{
	if (!av || __atomic_fetch_sub(&av->refcount, 1, __ATOMIC_ACQ_REL) != 1)
		return;
	pthread_rwlock_destroy(&av->lock);
	free(av);
}

/* Context: mmap_lock held (read is enough); takes and drops pgd_lock. */
struct sim_anon_vma *anon_vma_prepare(struct sim_mm *mm, struct sim_vma *v)
{
	struct sim_anon_vma *av = ld_acquire(&v->anon_vma);

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	if (av)
		return av;
	lockdep_assert_not_held(LOCK_PGD, mm);
	pgd_lock(mm);
	av = ld_acquire(&v->anon_vma);
	if (!av) {
		av = calloc(1, sizeof(*av));
		if (av) {
			pthread_rwlock_init(&av->lock, NULL);
			av->refcount = 1;
			st_release(&v->anon_vma, av);
		}
	}
	pgd_unlock(mm);
	return av;
}

/*
 * A huge PMD straddling a new VMA boundary is split (as
 * vma_adjust_trans_huge does).
 * Context: mmap_lock held for write; takes and drops the PMD lock.
 */
static int split_huge_at(struct sim_mm *mm, uint64_t addr)
{
	struct sim_pmd_table *pmdt;
	uint64_t *pmdp;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	if (addr == pmd_base(mm->sim, addr))
		return 0;
	pmdp = pmd_lookup(mm, addr, false, &pmdt);
	if (!pmdp || !pmd_is_huge(ld_acquire(pmdp)))
		return 0;
	return pmd_split_huge(mm, pmdp, pmdt);
}

/* Context: mmap_lock held for write. */
int vma_split_at(struct sim_mm *mm, uint64_t addr)
{
	size_t i = vma_index_after(mm, addr);
	struct sim_vma *v, tail;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	if (i >= mm->nr_vmas || mm->vmas[i].start >= addr)
		return 0;
	err = split_huge_at(mm, addr);
	if (!err)
		err = vma_reserve(mm, 1);
	if (err)
		return err;
	v = &mm->vmas[i];
	tail = *v;
	tail.start = addr;
	tail.pgoff = v->pgoff + ((addr - v->start) >> mm->sim->page_shift);
	anon_vma_get(tail.anon_vma);
	v->end = addr;
	memmove(&mm->vmas[i + 2], &mm->vmas[i + 1],
		(mm->nr_vmas - i - 1) * sizeof(*v));
	mm->vmas[i + 1] = tail;
	mm->nr_vmas++;
	return 0;
}

static bool vma_mergeable(struct sim_mm *mm, const struct sim_vma *a,
			  const struct sim_vma *b)
{
	if (a->end != b->start || a->prot != b->prot || a->vm_flags != b->vm_flags)
		return false;
	if (a->anon_vma && b->anon_vma && a->anon_vma != b->anon_vma)
		return false;
	return a->pgoff + ((a->end - a->start) >> mm->sim->page_shift) == b->pgoff;
}

/* Context: mmap_lock held for write. */
void vma_merge_range(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	size_t i = vma_index_after(mm, start);

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	if (i > 0)
		i--;
	while (i + 1 < mm->nr_vmas && mm->vmas[i].start <= end) {
		struct sim_vma *a = &mm->vmas[i], *b = &mm->vmas[i + 1];

		if (!vma_mergeable(mm, a, b)) {
			i++;
			continue;
		}
		a->end = b->end;
		if (!a->anon_vma)
			a->anon_vma = b->anon_vma;
		else
			anon_vma_put(b->anon_vma);
		memmove(b, b + 1, (mm->nr_vmas - i - 2) * sizeof(*b));
		mm->nr_vmas--;
	}
}

/* Context: mmap_lock held for write. */
int vma_remove_range(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	size_t i, j;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	err = vma_split_at(mm, start);
	if (!err)
		err = vma_split_at(mm, end);
	if (err)
		return err;
	i = vma_index_after(mm, start);
	for (j = i; j < mm->nr_vmas && mm->vmas[j].end <= end; j++) {
		anon_vma_unlink(mm->vmas[j].anon_vma);
		anon_vma_put(mm->vmas[j].anon_vma);
	}
	if (j > i)
		memmove(&mm->vmas[i], &mm->vmas[j],
			(mm->nr_vmas - j) * sizeof(struct sim_vma));
	mm->nr_vmas -= j - i;
	return 0;
}

uint32_t vma_snapshot_flags(const struct sim_vma *v)
{
	uint32_t f = MTHP_VMA_ANON;

	if (v->vm_flags & SIM_VM_HUGEPAGE)
		f |= MTHP_VMA_HUGEPAGE;
	if (v->vm_flags & SIM_VM_NOHUGEPAGE)
		f |= MTHP_VMA_NOHUGEPAGE;
	if (v->vm_flags & SIM_VM_UFFD)
		f |= MTHP_VMA_UFFD;
	if (!ld_acquire(&v->anon_vma))
		f |= MTHP_VMA_NOANONVMA;
	return f;
}

/* Context: mmap_lock held for write (the gap must stay free). */
int vma_get_unmapped_area(struct sim_mm *mm, uint64_t len, uint64_t align,
			  uint64_t *addr)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	for (size_t i = mm->nr_vmas + 1; i-- > 0;) {
		uint64_t gap_end = mm->mmap_base, gap_start = SIM_MMAP_MIN, cand;

		if (i < mm->nr_vmas && mm->vmas[i].start < gap_end)
			gap_end = mm->vmas[i].start;
		if (i > 0 && mm->vmas[i - 1].end > gap_start)
			gap_start = mm->vmas[i - 1].end;
		if (gap_end < gap_start + len)
			continue;
		cand = (gap_end - len) & ~(align - 1);
		if (cand >= gap_start) {
			*addr = cand;
			return 0;
		}
	}
	return -ENOMEM;
}

/* Context: no lock held; takes and drops mmap_lock for read. */
int sim_vma_info(struct sim_mm *mm, size_t n, struct sim_vma_info *info)
{
	int err = -ENOENT;

	lockdep_assert_not_held(LOCK_MMAP, mm);
	mmap_read_lock(mm);
	if (n < mm->nr_vmas) {
		struct sim_vma *v = &mm->vmas[n];

		info->start = v->start;
		info->end = v->end;
		info->prot = v->prot;
		info->flags = vma_snapshot_flags(v);
		err = 0;
	}
	mmap_unlock(mm);
	return err;
}

/* Context: no lock held; takes and drops mmap_lock for read. */
size_t sim_nr_vmas(struct sim_mm *mm)
{
	size_t n;

	lockdep_assert_not_held(LOCK_MMAP, mm);
	mmap_read_lock(mm);
	n = mm->nr_vmas;
	mmap_unlock(mm);
	return n;
}

/* Does any VMA overlap [start, end)? */
static bool vma_overlaps(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	size_t i = vma_index_after(mm, start);

	return i < mm->nr_vmas && mm->vmas[i].start < end;
}

/* Context: mmap_lock held for write. */
static int free_table_cb(struct sim_mm *mm, uint64_t *pmdp,
			 struct sim_pmd_table *pmdt, uint64_t start,
			 uint64_t end, void *ctx)
{
	uint64_t base = pmd_base(mm->sim, start);
	struct sim_pte_table *t = NULL;
	uint64_t pmd;

	(void)end;
	(void)ctx;
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	if (vma_overlaps(mm, base, base + mthp_pmd_size(&mm->sim->geo)))
		return 0;
	pmd_lock(pmdt);
	pmd = ld_acquire(pmdp);
	if (pmd_is_table(pmd)) {
		t = pmd_table(pmd);
		st_release(pmdp, 0);
	}
	pmd_unlock(pmdt);
	pte_table_free(t);
	return 0;
}

/* Context: mmap_lock held for write; takes and drops PMD locks. */
void free_unused_tables(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	uint64_t pmd_size = mthp_pmd_size(&mm->sim->geo);
	uint64_t s = pmd_base(mm->sim, start);
	uint64_t e = pmd_base(mm->sim, end + pmd_size - 1);

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	walk_pmds(mm, s, e, free_table_cb, NULL);
}
