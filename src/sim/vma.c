// SPDX-License-Identifier: MIT
/*
 * vma.c - VMAs of an mm: a sorted array searched by address, splitting at
 * a boundary, merging compatible neighbours, removing a range, finding a
 * free area, the anon_vma (its rwlock is the one khugepaged takes;
 * shared by parent and child after fork, reference counted), and freeing
 * the page tables no VMA covers any more; the per-VMA locks
 * (vma_start_write(), lock_vma_under_rcu()).
 * Context: the VMA array changes only under mmap_lock held for write, and
 * under the VMA tree lock for write, which a fault without mmap_lock
 * holds for read while it looks a VMA up (the kernel's RCU read side of
 * the VMA tree); each VMA that changes, or whose page tables do, is
 * write-locked (vma_start_write()) first, as the kernel does.
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

/* A new VMA's lock, write-locked until mmap_write_unlock(), or NULL. */
static struct sim_vma_lock *vma_lock_new(struct sim_mm *mm)
{
	struct sim_vma_lock *vl = calloc(1, sizeof(*vl));

	if (!vl)
		return NULL;
	pthread_rwlock_init(&vl->lock, NULL);
	vl->vm_lock_seq = ld_relaxed(&mm->mm_lock_seq);
	return vl;
}

/*
 * Free a VMA's lock: the VMA is write-locked and off the list, so no
 * fault holds the lock or can find it.  Context: VMA tree lock held for
 * write.
 */
static void vma_lock_free(struct sim_vma_lock *vl)
{
	if (!vl)
		return;
	pthread_rwlock_destroy(&vl->lock);
	free(vl);
}

/* Context: mmap_lock held for write (a fork child's: nested). */
void vma_start_write(struct sim_mm *mm, const struct sim_vma *v)
{
	uint32_t seq = ld_relaxed(&mm->mm_lock_seq);

	mmap_assert_locked(mm, LOCK_WRITE);
	if (ld_relaxed(&v->vm_lock->vm_lock_seq) == seq)
		return;		/* already, under this mmap_write_lock */
	vma_lock_write(v->vm_lock);
	st_relaxed(&v->vm_lock->vm_lock_seq, seq);
	vma_lock_unlock(v->vm_lock);
}

/* Context: mmap_lock held for write (a fork child's: nested). */
void vma_start_write_range(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	for (size_t i = vma_index_after(mm, start);
	     i < mm->nr_vmas && mm->vmas[i].start < end; i++)
		vma_start_write(mm, &mm->vmas[i]);
}

/*
 * The end of every write lock of mm's VMAs, by one increment of the mm's
 * sequence.  Context: mmap_lock held for write (a fork child's: nested),
 * released next (mmap_write_unlock()).
 */
void vma_end_write_all(struct sim_mm *mm)
{
	mmap_assert_locked(mm, LOCK_WRITE);
	st_release(&mm->mm_lock_seq, ld_relaxed(&mm->mm_lock_seq) + 1);
}

/*
 * vma_start_read(): try vl for read unless the VMA is write-locked; the
 * sequence is checked again once the lock is held, as vma_start_write()
 * may have finished in between.  Context: VMA tree lock held for read.
 */
static bool vma_start_read(struct sim_mm *mm, struct sim_vma_lock *vl)
{
	if (ld_relaxed(&vl->vm_lock_seq) == ld_acquire(&mm->mm_lock_seq))
		return false;
	if (!vma_lock_read_trylock(vl))
		return false;
	if (ld_relaxed(&vl->vm_lock_seq) == ld_acquire(&mm->mm_lock_seq)) {
		vma_lock_unlock(vl);
		return false;
	}
	return true;
}

/*
 * The VMA at addr found and its lock tried for read, *copy filled on
 * success.  Context: VMA tree lock held for read.
 */
static struct sim_vma_lock *vma_find_start_read(struct sim_mm *mm, uint64_t addr,
						struct sim_vma *copy)
{
	struct sim_vma_lock *vl = NULL;
	struct sim_vma *v = vma_find(mm, addr);

	if (v && vma_start_read(mm, v->vm_lock)) {
		vl = v->vm_lock;
		copy->start = v->start;
		copy->end = v->end;
		copy->pgoff = v->pgoff;
		copy->prot = v->prot;
		copy->vm_flags = v->vm_flags;
		copy->anon_vma = ld_acquire(&v->anon_vma);
		copy->vm_lock = vl;
	}
	return vl;
}

/* Context: no mmap_lock held; takes and drops the VMA tree lock for read. */
struct sim_vma_lock *lock_vma_under_rcu(struct sim_mm *mm, uint64_t addr,
					struct sim_vma *copy)
{
	struct sim_vma_lock *vl;

	lockdep_assert_not_held(LOCK_MMAP, mm);
	vma_tree_read_lock(mm);
	vl = vma_find_start_read(mm, addr, copy);
	vma_tree_unlock(mm);
	return vl;
}

/* Context: any (only trylocks); tries and drops the VMA tree lock for read. */
struct sim_vma_lock *lock_vma_under_rcu_try(struct sim_mm *mm, uint64_t addr,
					    struct sim_vma *copy)
{
	struct sim_vma_lock *vl;

	if (!vma_tree_read_trylock(mm))
		return NULL;
	vl = vma_find_start_read(mm, addr, copy);
	vma_tree_unlock(mm);
	return vl;
}

/* Context: vl held for read; drops it. */
void vma_end_read(struct sim_vma_lock *vl)
{
	vma_lock_unlock(vl);
}

/* Context: mmap_lock held for write; takes the VMA tree lock for write. */
void vma_remove_all(struct sim_mm *mm)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	vma_start_write_range(mm, 0, UINT64_MAX);
	vma_tree_write_lock(mm);
	for (size_t i = 0; i < mm->nr_vmas; i++)
		vma_lock_free(mm->vmas[i].vm_lock);
	mm->nr_vmas = 0;
	vma_tree_unlock(mm);
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

/*
 * Room for one more VMA: its lock (new, write-locked) in *vl and a slot
 * in the array, the VMA tree then locked for write; nothing held or
 * allocated on error.
 * Context: mmap_lock held for write; takes the VMA tree lock for write.
 */
static int vma_room(struct sim_mm *mm, struct sim_vma_lock **vl)
{
	int err;

	*vl = vma_lock_new(mm);
	if (!*vl)
		return -ENOMEM;
	vma_tree_write_lock(mm);
	err = vma_reserve(mm, 1);
	if (err) {
		vma_tree_unlock(mm);
		vma_lock_free(*vl);
	}
	return err;
}

/* Context: mmap_lock held for write (a fork child's: nested). */
int vma_insert(struct sim_mm *mm, const struct sim_vma *v)
{
	struct sim_vma_lock *vl;
	size_t i;
	int err;

	mmap_assert_locked(mm, LOCK_WRITE);
	err = vma_room(mm, &vl);
	if (err)
		return err;
	i = vma_index_after(mm, v->start);
	memmove(&mm->vmas[i + 1], &mm->vmas[i],
		(mm->nr_vmas - i) * sizeof(*v));
	mm->vmas[i] = *v;
	mm->vmas[i].vm_lock = vl;
	mm->nr_vmas++;
	vma_tree_unlock(mm);
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

/*
 * Context: mmap_lock held (read is enough), or the VMA's lock for read
 * when it has an anon_vma already (a fault under the per-VMA lock falls
 * back to mmap_lock without one); takes and drops pgd_lock.
 */
struct sim_anon_vma *anon_vma_prepare(struct sim_mm *mm, struct sim_vma *v)
{
	struct sim_anon_vma *av = ld_acquire(&v->anon_vma);

	fault_assert_locked(mm);
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

/*
 * Context: mmap_lock held for write; write-locks the VMA split, takes the
 * VMA tree lock for write.
 */
int vma_split_at(struct sim_mm *mm, uint64_t addr)
{
	size_t i = vma_index_after(mm, addr);
	struct sim_vma *v, tail;
	struct sim_vma_lock *vl;
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	if (i >= mm->nr_vmas || mm->vmas[i].start >= addr)
		return 0;
	vma_start_write(mm, &mm->vmas[i]);
	err = split_huge_at(mm, addr);
	if (err)
		return err;
	err = vma_room(mm, &vl);
	if (err)
		return err;
	v = &mm->vmas[i];
	tail = *v;
	tail.start = addr;
	tail.pgoff = v->pgoff + ((addr - v->start) >> mm->sim->page_shift);
	tail.vm_lock = vl;
	anon_vma_get(tail.anon_vma);
	v->end = addr;
	memmove(&mm->vmas[i + 2], &mm->vmas[i + 1],
		(mm->nr_vmas - i - 1) * sizeof(*v));
	mm->vmas[i + 1] = tail;
	mm->nr_vmas++;
	vma_tree_unlock(mm);
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

/*
 * Context: mmap_lock held for write; write-locks both VMAs of a merge,
 * takes the VMA tree lock for write.
 */
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
		vma_start_write(mm, a);
		vma_start_write(mm, b);
		vma_tree_write_lock(mm);
		a->end = b->end;
		if (!a->anon_vma)
			st_release(&a->anon_vma, b->anon_vma);
		else
			anon_vma_put(b->anon_vma);
		vma_lock_free(b->vm_lock);
		memmove(b, b + 1, (mm->nr_vmas - i - 2) * sizeof(*b));
		mm->nr_vmas--;
		vma_tree_unlock(mm);
	}
}

/*
 * Context: mmap_lock held for write; write-locks the VMAs removed, takes
 * their anon_vmas' locks, then the VMA tree lock for write.
 */
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
		vma_start_write(mm, &mm->vmas[j]);
		anon_vma_unlink(mm->vmas[j].anon_vma);
		anon_vma_put(mm->vmas[j].anon_vma);
	}
	vma_tree_write_lock(mm);
	for (size_t k = i; k < j; k++)
		vma_lock_free(mm->vmas[k].vm_lock);
	if (j > i)
		memmove(&mm->vmas[i], &mm->vmas[j],
			(mm->nr_vmas - j) * sizeof(struct sim_vma));
	mm->nr_vmas -= j - i;
	vma_tree_unlock(mm);
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
