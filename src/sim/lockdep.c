// SPDX-License-Identifier: MIT
/*
 * lockdep.c - the simulator's lock validator (debug builds): the per-thread
 * record of held locks, what the lock wrappers of locks.h took, in
 * which mode and where (file:line), checked against the rank of each lock
 * class on every blocking acquisition and release, and asserted by the
 * functions whose Context: line says a lock must (or must not) be held.
 * A violation prints both locks, both call sites and the thread's held
 * locks, and aborts.  Release builds compile none of it but the names.
 *
 * The lock order, outermost first (the kernel's; a lock may be taken only
 * while every lock held is of a lower rank, except by a trylock):
 *
 *   world          sim->world_lock, rwlock, debug builds only: every
 *                  operation holds it for read, sim_check() for write
 *   mmap_lock      mm->mmap_lock, rwlock fair to writers: the VMA list
 *                  (write to change it), page tables against teardown
 *   mmap_lock_nested  a fork child's, inside the parent's (both write)
 *   vma_tree       mm->vma_tree_lock, rwlock: the kernel's RCU read side
 *                  of the VMA tree; read by lock_vma_under_rcu() (no
 *                  mmap_lock held), write by every change of the VMA
 *                  list (under mmap_lock for write)
 *   vma_lock       a VMA's per-VMA lock, rwlock: tried for read by a
 *                  fault that then holds it instead of mmap_lock; taken
 *                  for write for a moment by vma_start_write() (under
 *                  mmap_lock for write), which marks the VMA write-locked
 *                  until mmap_write_unlock()
 *   anon_vma       anon_vma->lock, rwlock: held for write by a collapse
 *                  while the PMD is clear and by an unlink (vma.c)
 *                  before page tables are moved or freed; for read by
 *                  the rmap walkers (rmap.c), which must wait for both
 *   pmd_lock       sim_pmd_table->lock: the 512 PMD entries of a table
 *   pmd_lock_nested  a second PMD table (mremap's destination)
 *   pte_lock       sim_pte_table->lock: the PTEs of one table
 *   pte_lock_nested  a second PTE table (fork's child, mremap's
 *                  destination)
 *   folio map lock the bit spinlock of a large folio: its map counts
 *   pgd_lock       mm->pgd_lock (page_table_lock): directory allocation
 *                  and anon_vma installation
 *   swap lock      sim->swap.lock: the swap slots
 *   zone lock      sim->pm.zone_lock: the buddy allocator (a leaf: frees
 *                  from under any lock above end here)
 *   memcg lock     sim->memcg_lock: cgroup creation (charges are atomics)
 *   mm list lock   sim->mm_list_lock: the mm list and khugepaged's slots
 *   khugepaged lock  sim->khugepaged.lock: its thread's running and stop
 *                  flags (and its condition variable's mutex: held, as
 *                  far as the validator knows, while the thread sleeps)
 *   settings lock  sim->settings_lock: publishing a settings version
 *   trace lock     sim->trace.lock: one trace line at a time, the
 *                  collapse observer (written under PTE locks: last)
 *
 * collapse.c draws where a collapse holds which of these.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/names.h"
#include "sim/locks.h"

static const char *const class_names[LOCK_NR_CLASSES] = {
	SIM_LOCK_CLASSES(MTHP_NAME_ENTRY)
};

const char *lockdep_class_name(enum sim_lock_class c)
{
	return mthp_name_of(class_names, LOCK_NR_CLASSES, c, "?");
}

#if MTHP_DEBUG

#define LOCKDEP_MAX_HELD 16

struct held_lock {
	const void *obj;
	const char *file;
	int line;
	uint8_t cls;
	uint8_t mode;
};

/*
 * The calling thread's held locks; under a deterministic schedule, the
 * running simulated thread's (the scheduler saves and restores it at
 * every switch: lockdep_thread_state()).
 */
struct lockdep_thread {
	struct held_lock held[LOCKDEP_MAX_HELD];
	unsigned nr;
};
static __thread struct lockdep_thread lt;

/*
 * Print "lockdep: WHAT: CLASS OBJ at FILE:LINE", then the other lock
 * (when there is one) with where it was taken, then every held lock,
 * and abort.
 */
static void lockdep_fail(const char *what, enum sim_lock_class c, const void *obj,
			 const char *file, int line, const struct held_lock *other)
{
	fprintf(stderr, "lockdep: %s: %s %p at %s:%d\n", what, class_names[c], obj,
		file, line);
	if (other)
		fprintf(stderr, "lockdep: the other lock: %s %p taken at %s:%d\n",
			class_names[other->cls], other->obj, other->file, other->line);
	for (unsigned i = 0; i < lt.nr; i++)
		fprintf(stderr, "  held %u: %s %p (%s) taken at %s:%d\n", i,
			class_names[lt.held[i].cls], lt.held[i].obj,
			lt.held[i].mode == LOCK_READ ? "read" : "write",
			lt.held[i].file, lt.held[i].line);
	fflush(stderr);
	abort();
}

void lockdep_acquired_at(enum sim_lock_class c, const void *obj,
			 enum sim_lock_mode mode, bool trylock,
			 const char *file, int line)
{
	if (lt.nr == LOCKDEP_MAX_HELD)
		lockdep_fail("too many locks held taking", c, obj, file, line, NULL);
	for (unsigned i = 0; i < lt.nr; i++) {
		if (lt.held[i].obj == obj && lt.held[i].cls == c)
			lockdep_fail("recursive acquisition of", c, obj, file, line,
				     &lt.held[i]);
		/* a trylock cannot deadlock, so it may go against the order */
		if (!trylock && lt.held[i].cls >= c)
			lockdep_fail("lock order inversion taking", c, obj, file,
				     line, &lt.held[i]);
	}
	lt.held[lt.nr].obj = obj;
	lt.held[lt.nr].file = file;
	lt.held[lt.nr].line = line;
	lt.held[lt.nr].cls = (uint8_t)c;
	lt.held[lt.nr].mode = (uint8_t)mode;
	lt.nr++;
}

void lockdep_released_at(enum sim_lock_class c, const void *obj,
			 const char *file, int line)
{
	for (unsigned i = lt.nr; i-- > 0;) {
		if (lt.held[i].obj != obj || lt.held[i].cls != c)
			continue;
		for (unsigned j = i; j + 1 < lt.nr; j++)
			lt.held[j] = lt.held[j + 1];
		lt.nr--;
		return;
	}
	/* the same object held under another class is the likely mistake */
	for (unsigned i = 0; i < lt.nr; i++)
		if (lt.held[i].obj == obj)
			lockdep_fail("releasing a lock not held", c, obj, file, line,
				     &lt.held[i]);
	lockdep_fail("releasing a lock not held", c, obj, file, line,
		     lt.nr ? &lt.held[lt.nr - 1] : NULL);
}

void lockdep_assert_held_at(enum sim_lock_class c, const void *obj,
			    enum sim_lock_mode mode, const char *file, int line)
{
	for (unsigned i = 0; i < lt.nr; i++)
		if (lt.held[i].cls == c && (!obj || lt.held[i].obj == obj) &&
		    (lt.held[i].mode & mode))
			return;
	lockdep_fail(mode == LOCK_WRITE ? "Context: not held for write" :
		     "Context: not held", c, obj, file, line,
		     lt.nr ? &lt.held[lt.nr - 1] : NULL);
}

void lockdep_assert_not_held_at(enum sim_lock_class c, const void *obj,
				const char *file, int line)
{
	for (unsigned i = 0; i < lt.nr; i++)
		if (lt.held[i].cls == c && (!obj || lt.held[i].obj == obj))
			lockdep_fail("Context: still held", c, lt.held[i].obj, file,
				     line, &lt.held[i]);
}

void lockdep_assert_none_held_at(const char *file, int line)
{
	if (lt.nr)
		lockdep_fail("Context: no lock may be held, still held",
			     lt.held[lt.nr - 1].cls, lt.held[lt.nr - 1].obj, file,
			     line, &lt.held[lt.nr - 1]);
}

bool lockdep_is_held(enum sim_lock_class c, const void *obj,
		     enum sim_lock_mode mode)
{
	for (unsigned i = 0; i < lt.nr; i++)
		if (lt.held[i].cls == c && (!obj || lt.held[i].obj == obj) &&
		    (lt.held[i].mode & mode))
			return true;
	return false;
}

unsigned lockdep_depth(void)
{
	return lt.nr;
}

void *lockdep_thread_state(size_t *size)
{
	*size = sizeof(lt);
	return &lt;
}

#endif /* MTHP_DEBUG */
