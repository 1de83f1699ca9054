// SPDX-License-Identifier: MIT
/*
 * lockdep.c - the per-thread record of held locks (debug builds): what the
 * lock wrappers of sim_internal.h took, in which mode, checked against the
 * rank of each lock class on every blocking acquisition, and asserted by
 * the functions whose Context: line says a lock must (or must not) be
 * held.  A violation prints the thread's held locks and aborts.  Release
 * builds compile none of it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim/sim_internal.h"

#if MTHP_DEBUG

#define LOCKDEP_MAX_HELD 16

static const char *const class_names[LOCK_NR_CLASSES] = {
	[LOCK_WORLD] = "world",
	[LOCK_MMAP] = "mmap_lock",
	[LOCK_ANON_VMA] = "anon_vma",
	[LOCK_PMD] = "pmd_lock",
	[LOCK_PTE] = "pte_lock",
	[LOCK_PTE_NESTED] = "pte_lock_nested",
	[LOCK_MM_LIST] = "mm_list_lock",
};

struct held_lock {
	const void *obj;
	uint8_t cls;
	uint8_t mode;
};

static __thread struct held_lock held[LOCKDEP_MAX_HELD];
static __thread unsigned nr_held;

static void lockdep_fail(const char *what, enum sim_lock_class c, const void *obj)
{
	fprintf(stderr, "lockdep: %s: %s %p\n", what, class_names[c], obj);
	for (unsigned i = 0; i < nr_held; i++)
		fprintf(stderr, "  held %u: %s %p (%s)\n", i, class_names[held[i].cls],
			held[i].obj, held[i].mode == LOCK_READ ? "read" : "write");
	abort();
}

void lockdep_acquired(enum sim_lock_class c, const void *obj,
		      enum sim_lock_mode mode, bool trylock)
{
	if (nr_held == LOCKDEP_MAX_HELD)
		lockdep_fail("too many locks held taking", c, obj);
	for (unsigned i = 0; i < nr_held; i++) {
		if (held[i].obj == obj && held[i].cls == c)
			lockdep_fail("recursive acquisition of", c, obj);
		/* a trylock cannot deadlock, so it may go against the order */
		if (!trylock && held[i].cls > c)
			lockdep_fail("lock order inversion taking", c, obj);
	}
	held[nr_held].obj = obj;
	held[nr_held].cls = (uint8_t)c;
	held[nr_held].mode = (uint8_t)mode;
	nr_held++;
}

void lockdep_released(enum sim_lock_class c, const void *obj)
{
	for (unsigned i = nr_held; i-- > 0;) {
		if (held[i].obj != obj || held[i].cls != c)
			continue;
		for (unsigned j = i; j + 1 < nr_held; j++)
			held[j] = held[j + 1];
		nr_held--;
		return;
	}
	lockdep_fail("releasing a lock not held", c, obj);
}

void lockdep_assert_held(enum sim_lock_class c, const void *obj,
			 enum sim_lock_mode mode)
{
	for (unsigned i = 0; i < nr_held; i++)
		if (held[i].cls == c && (!obj || held[i].obj == obj) &&
		    (held[i].mode & mode))
			return;
	lockdep_fail(mode == LOCK_WRITE ? "not held for write" : "not held", c, obj);
}

void lockdep_assert_not_held(enum sim_lock_class c, const void *obj)
{
	for (unsigned i = 0; i < nr_held; i++)
		if (held[i].cls == c && (!obj || held[i].obj == obj))
			lockdep_fail("unexpectedly held", c, obj);
}

unsigned lockdep_depth(void)
{
	return nr_held;
}

#endif /* MTHP_DEBUG */
