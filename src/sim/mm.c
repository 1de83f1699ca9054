// SPDX-License-Identifier: MIT
/*
 * mm.c - address spaces: creation, references and teardown (process
 * exit), khugepaged's mm slots (a list in registration order under the
 * mm list lock, with the scan cursor moved past a slot that goes), and
 * the mapping operations mmap, munmap and mprotect (each under mmap_lock
 * held for write; mremap is mremap.c's).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/check.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pgtable.h"
#include "sim/vma.h"
#include "sim/world.h"

#define SIM_MMAP_BASE 0x7f0000000000ull

/*
 * mmap_lock is fair to writers, as the kernel's rwsem is: once a writer
 * waits, new readers (and read trylocks) wait behind it, so a khugepaged
 * that keeps coming back for the read lock cannot starve munmap or fork.
 */
static void mmap_lock_init(struct sim_mm *mm)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&mm->mmap_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

/* An empty mm on the sim's list. Context: takes the mm list lock. */
int mm_alloc(struct sim *sim, unsigned memcg, struct sim_mm **out)
{
	struct sim_mm *mm;

	if (memcg >= SIM_MAX_MEMCGS || !sim->memcgs[memcg].used)
		return -EINVAL;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->pgd = calloc(sim->top_entries, sizeof(*mm->pgd));
	if (!mm->pgd) {
		free(mm);
		return -ENOMEM;
	}
	lockdep_assert_not_held(LOCK_MM_LIST, sim);
	mm->sim = sim;
	mm->memcg = memcg;
	mm->mmap_base = SIM_MMAP_BASE;
	mm->refs = 1;
	mmap_lock_init(mm);
	pthread_mutex_init(&mm->pgd_lock, NULL);
	pthread_rwlock_init(&mm->vma_tree_lock, NULL);
	mm_list_lock(sim);
	mm->id = sim->next_mm_id++;
	mm->next = sim->mm_list;
	sim->mm_list = mm;
	mm_list_unlock(sim);
	*out = mm;
	return 0;
}

int sim_mm_create(struct sim *sim, unsigned memcg, struct sim_mm **out)
{
	return mm_alloc(sim, memcg, out);
}

uint32_t sim_mm_id(const struct sim_mm *mm)
{
	return mm->id;
}

/* Context: takes the mm list lock.  Off the mm list and khugepaged's. */
static void mm_unlist(struct sim_mm *mm)
{
	struct sim *sim = mm->sim;

	lockdep_assert_not_held(LOCK_MM_LIST, sim);
	mm_list_lock(sim);
	for (struct sim_mm **p = &sim->mm_list; *p; p = &(*p)->next) {
		if (*p == mm) {
			*p = mm->next;
			break;
		}
	}
	khugepaged_exit_locked(mm);
	mm_list_unlock(sim);
}

void mm_put(struct sim_mm *mm)
{
	if (__atomic_sub_fetch(&mm->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_rwlock_destroy(&mm->mmap_lock);
	pthread_mutex_destroy(&mm->pgd_lock);
	pthread_rwlock_destroy(&mm->vma_tree_lock);
	free(mm->vmas);
	free(mm->pgd);
	free(mm);
}

/* Context: takes and drops the mm list lock. */
int mm_list_get(struct sim *sim, struct sim_mm ***mmsp, size_t *nrp)
{
	struct sim_mm **mms = NULL;
	size_t nr = 0, cap = 0;
	int err = 0;

	mm_list_lock(sim);
	for (struct sim_mm *mm = sim->mm_list; mm; mm = mm->next) {
		if (nr == cap) {
			struct sim_mm **more = realloc(mms, (cap ? cap * 2 : 8) * sizeof(*mms));

			if (!more) {
				err = -ENOMEM;
				break;
			}
			mms = more;
			cap = cap ? cap * 2 : 8;
		}
		__atomic_add_fetch(&mm->refs, 1, __ATOMIC_RELAXED);
		mms[nr++] = mm;
	}
	mm_list_unlock(sim);
	*mmsp = mms;
	*nrp = nr;
	return err;
}

void mm_list_put(struct sim_mm **mms, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		mm_put(mms[i]);
	free(mms);
}

/* Context: mmap_lock held for write. */
void mm_teardown(struct sim_mm *mm)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	vma_start_write_range(mm, 0, UINT64_MAX);
	for (size_t i = 0; i < mm->nr_vmas; i++)
		zap_range(mm, mm->vmas[i].start, mm->vmas[i].end);
	for (size_t i = 0; i < mm->nr_vmas; i++) {
		anon_vma_unlink(mm->vmas[i].anon_vma);
		anon_vma_put(mm->vmas[i].anon_vma);
	}
	vma_remove_all(mm);
	free_all_tables(mm);
}

void sim_exit(struct sim_mm *mm)
{
	struct sim *sim = mm->sim;

	world_enter(sim);
	mmap_write_lock(mm);
	st_relaxed(&mm->exiting, true);
	mm_teardown(mm);
	mmap_write_unlock(mm);
	mm_unlist(mm);
	world_exit(sim);
	mm_put(mm);
	sim_debug_check(sim);
}

/* Context: any. */
bool mm_range_ok(struct sim *sim, uint64_t addr, uint64_t len)
{
	uint64_t mask = sim->geo.page_size - 1;

	return len && !(addr & mask) && !(len & mask) &&
	       addr + len > addr && addr + len <= (1ull << SIM_VA_BITS);
}

/* Context: mmap_lock held for write; write-locks the VMAs unmapped. */
int munmap_locked(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	vma_start_write_range(mm, start, end);
	err = zap_range(mm, start, end);
	if (!err)
		err = vma_remove_range(mm, start, end);
	if (!err)
		free_unused_tables(mm, start, end);
	return err;
}

int sim_mmap(struct sim_mm *mm, uint64_t *addr, uint64_t len, unsigned prot,
	     unsigned flags)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo);
	struct sim_vma v = { .prot = prot & SIM_PROT_RW };
	int err;

	if (!mm_range_ok(sim, (flags & SIM_MAP_FIXED) ? *addr : 0, len) ||
	    ((flags & SIM_MAP_FIXED) && !mm_range_ok(sim, *addr, len)))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	if (flags & SIM_MAP_FIXED) {
		v.start = *addr;
		err = munmap_locked(mm, v.start, v.start + len);
	} else {
		err = vma_get_unmapped_area(mm, len, len >= pmd_size ? pmd_size :
					    sim->geo.page_size, &v.start);
	}
	if (err)
		goto out_unlock;
	v.end = v.start + len;
	v.pgoff = v.start >> sim->page_shift;
	err = vma_insert(mm, &v);
	if (err)
		goto out_unlock;
	vma_merge_range(mm, v.start, v.end);
	*addr = v.start;
out_unlock:
	mmap_write_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}

int sim_munmap(struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	struct sim *sim = mm->sim;
	int err;

	if (!mm_range_ok(sim, addr, len))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	err = munmap_locked(mm, addr, addr + len);
	mmap_write_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}

/* Is [start, end) covered by VMAs without a hole? */
bool range_mapped(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	size_t i = vma_index_after(mm, start);
	uint64_t at = start;

	for (; i < mm->nr_vmas && at < end; i++) {
		if (mm->vmas[i].start > at)
			return false;
		at = mm->vmas[i].end;
	}
	return at >= end;
}

/*
 * Context: mmap_lock held for write; takes and drops the PMD lock, then
 * the PTE lock of the table.
 */
static int wrprotect_pmd(struct sim_mm *mm, uint64_t *pmdp,
			 struct sim_pmd_table *pmdt, uint64_t start,
			 uint64_t end, void *ctx)
{
	struct sim *sim = mm->sim;
	uint64_t pmd;
	struct sim_pte_table *t;

	(void)ctx;
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	pmd_lock(pmdt);
	pmd = ld_acquire(pmdp);
	if (pmd_is_huge(pmd))
		st_release(pmdp, pmd & ~PMD_WRITE);
	pmd_unlock(pmdt);
	if (!pmd_is_table(pmd))
		return 0;
	t = pmd_table(pmd);
	pte_lock(t);
	for (uint32_t i = pte_index(sim, start); i <= pte_index(sim, end - 1); i++)
		if (pte_present(t->ptes[i]))
			st_relaxed(&t->ptes[i], t->ptes[i] & ~PTE_WRITE);
	pte_unlock(t);
	return 0;
}

/* Context: mmap_lock held for write.  Bound [start, end) by VMA edges. */
int vma_isolate_range(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	err = vma_split_at(mm, start);
	return err ? err : vma_split_at(mm, end);
}

int sim_mprotect(struct sim_mm *mm, uint64_t addr, uint64_t len, unsigned prot)
{
	struct sim *sim = mm->sim;
	uint64_t end = addr + len;
	int err;

	if (!mm_range_ok(sim, addr, len))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	err = range_mapped(mm, addr, end) ? vma_isolate_range(mm, addr, end) : -ENOMEM;
	if (err)
		goto out_unlock;
	for (size_t i = vma_index_after(mm, addr);
	     i < mm->nr_vmas && mm->vmas[i].start < end; i++) {
		vma_start_write(mm, &mm->vmas[i]);
		mm->vmas[i].prot = prot & SIM_PROT_RW;
	}
	if (!(prot & SIM_PROT_WRITE))
		err = walk_pmds(mm, addr, end, wrprotect_pmd, NULL);
	vma_merge_range(mm, addr, end);
out_unlock:
	mmap_write_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}

/* Context: takes and drops the mm list lock (a leaf: any other may be held). */
void khugepaged_enter(struct sim_mm *mm)
{
	struct sim *sim = mm->sim;
	struct sim_khugepaged *ks = &sim->khugepaged;

	lockdep_assert_not_held(LOCK_MM_LIST, sim);
	if (ld_relaxed(&mm->khugepaged_slot))
		return;
	mm_list_lock(sim);
	if (!mm->khugepaged_slot && !ld_relaxed(&mm->exiting)) {
		st_relaxed(&mm->khugepaged_slot, true);
		mm->slot_next = NULL;
		if (ks->slot_tail)
			ks->slot_tail->slot_next = mm;
		else
			ks->slot_head = mm;
		ks->slot_tail = mm;
	}
	mm_list_unlock(sim);
}

void sim_khugepaged_enter(struct sim_mm *mm)
{
	khugepaged_enter(mm);
}

/* Context: the mm list lock held. */
void khugepaged_cursor_next_locked(struct sim_mm *mm)
{
	struct sim_khugepaged *ks = &mm->sim->khugepaged;

	lockdep_assert_held(LOCK_MM_LIST, mm->sim, LOCK_WRITE);
	ks->cursor_mm = mm->slot_next;
	ks->cursor_addr = 0;
	if (!ks->cursor_mm)
		__atomic_fetch_add(&ks->full_scans, 1, __ATOMIC_RELAXED);
}

/* Context: the mm list lock held. */
void khugepaged_exit_locked(struct sim_mm *mm)
{
	struct sim_khugepaged *ks = &mm->sim->khugepaged;
	struct sim_mm *prev = NULL;

	lockdep_assert_held(LOCK_MM_LIST, mm->sim, LOCK_WRITE);
	if (!mm->khugepaged_slot)
		return;
	for (struct sim_mm *p = ks->slot_head; p && p != mm; p = p->slot_next)
		prev = p;
	if (prev)
		prev->slot_next = mm->slot_next;
	else
		ks->slot_head = mm->slot_next;
	if (ks->slot_tail == mm)
		ks->slot_tail = prev;
	if (ks->cursor_mm == mm)
		khugepaged_cursor_next_locked(mm);
	st_relaxed(&mm->khugepaged_slot, false);
	mm->slot_next = NULL;
}
