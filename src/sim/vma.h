/* SPDX-License-Identifier: MIT */
/*
 * sim/vma.h - VMAs and anon_vmas (vma.c): the sorted VMA list of an mm,
 * splitting and merging, and freeing the page tables no VMA covers.
 */
#ifndef MTHP_SIM_VMA_H
#define MTHP_SIM_VMA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/world.h"

struct sim_anon_vma {
	pthread_rwlock_t lock;
	uint32_t refcount;	/* atomic */
	uint32_t unlinks;	/* atomic; written under lock for write */
};

#define SIM_VM_HUGEPAGE		0x1u
#define SIM_VM_NOHUGEPAGE	0x2u
#define SIM_VM_UFFD_MISSING	0x4u
#define SIM_VM_UFFD_WP		0x8u
#define SIM_VM_UFFD		(SIM_VM_UFFD_MISSING | SIM_VM_UFFD_WP)

/*
 * A VMA's per-VMA lock, allocated apart from the VMA (the VMA array
 * moves; the lock stays where a fault holding it can find it).  The
 * VMA is write-locked while vm_lock_seq equals its mm's mm_lock_seq.
 */
struct sim_vma_lock {
	pthread_rwlock_t lock;
	uint32_t vm_lock_seq;	/* atomic: written under lock for write */
};

struct sim_vma {
	uint64_t start;
	uint64_t end;		/* exclusive */
	uint64_t pgoff;		/* start >> page_shift when first mapped */
	unsigned prot;
	uint32_t vm_flags;
	struct sim_anon_vma *anon_vma;	/* atomic: installed under pgd_lock */
	struct sim_vma_lock *vm_lock;	/* a new one for each VMA inserted */
};

/*
 * Write-lock v until mmap_write_unlock(): wait for the faults that hold
 * its lock for read, and make later ones fall back to mmap_lock.
 * Context: mmap_lock held for write (a fork child's: nested); takes and
 * drops the VMA's lock for write.
 */
void vma_start_write(struct sim_mm *mm, const struct sim_vma *v);
/* vma_start_write() on every VMA overlapping [start, end).  Context: as it. */
void vma_start_write_range(struct sim_mm *mm, uint64_t start, uint64_t end);
/*
 * lock_vma_under_rcu(): without mmap_lock, find the VMA at addr and try
 * its lock for read; fails (NULL) if there is none or it is write-locked.
 * On success *copy is the VMA (its fields cannot change while the lock is
 * held; the array it lives in can) and the lock returned is held for
 * read until vma_end_read().  Context: no mmap_lock held; takes and drops
 * the VMA tree lock for read.
 */
struct sim_vma_lock *lock_vma_under_rcu(struct sim_mm *mm, uint64_t addr,
					struct sim_vma *copy);
/*
 * lock_vma_under_rcu() with every lock only tried, for another CPU's
 * fault run from where this thread holds locks (fault_race_vma_lock()).
 * Context: any; tries and drops the VMA tree lock for read.
 */
struct sim_vma_lock *lock_vma_under_rcu_try(struct sim_mm *mm, uint64_t addr,
					    struct sim_vma *copy);
/* Context: vl held for read (lock_vma_under_rcu()); drops it. */
void vma_end_read(struct sim_vma_lock *vl);
/* Free the VMA locks and empty the list.  Context: mmap_lock held for write. */
void vma_remove_all(struct sim_mm *mm);

struct sim_vma *vma_find(struct sim_mm *mm, uint64_t addr);
size_t vma_index_after(struct sim_mm *mm, uint64_t addr);
int vma_insert(struct sim_mm *mm, const struct sim_vma *v);
/* Make VMA boundaries at start and end (splitting). Context: mmap_lock write. */
int vma_split_at(struct sim_mm *mm, uint64_t addr);
/* Merge compatible neighbours around [start, end). Context: mmap_lock write. */
void vma_merge_range(struct sim_mm *mm, uint64_t start, uint64_t end);
/* Remove [start, end) from the VMA list (after its pages are zapped). */
int vma_remove_range(struct sim_mm *mm, uint64_t start, uint64_t end);
uint32_t vma_snapshot_flags(const struct sim_vma *v);
/* Context: mmap_lock held (read is enough): takes pgd_lock. */
struct sim_anon_vma *anon_vma_prepare(struct sim_mm *mm, struct sim_vma *v);
struct sim_anon_vma *anon_vma_get(struct sim_anon_vma *av);
/*
 * A VMA of av is about to lose the page tables at its addresses (unmap,
 * move, exit): count it under av's lock for write, so that an rmap walk
 * under the read lock either finishes first or sees the count change and
 * walks nothing (the kernel's unlink_anon_vmas() before free_pgtables()).
 * av may be NULL.  Context: mmap_lock held for write; takes and drops
 * av's lock.
 */
void anon_vma_unlink(struct sim_anon_vma *av);
void anon_vma_put(struct sim_anon_vma *av);
/* Find a gap of len below mmap_base (aligned to align). */
int vma_get_unmapped_area(struct sim_mm *mm, uint64_t len, uint64_t align,
			  uint64_t *addr);
/* Free PTE tables of PMD ranges in [start, end) that no VMA overlaps.
 * Context: mmap_lock held for write; takes and drops PMD locks. */
void free_unused_tables(struct sim_mm *mm, uint64_t start, uint64_t end);

#endif /* MTHP_SIM_VMA_H */
