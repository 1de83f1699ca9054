/* SPDX-License-Identifier: MIT */
/*
 * sim/fault.h - an access with the faults it takes (fault.c).
 */
#ifndef MTHP_SIM_FAULT_H
#define MTHP_SIM_FAULT_H

#include <stdint.h>

#include "sim/pgtable.h"
#include "sim/vma.h"
#include "sim/world.h"

enum sim_access { SIM_ACCESS_READ, SIM_ACCESS_WRITE, SIM_ACCESS_POPULATE };
/* One access with faults.  Context: mmap_lock held for read. */
int handle_access(struct sim_mm *mm, uint64_t addr, enum sim_access kind,
		  uint64_t *tag);
/*
 * An access's direct reclaim.  A large folio's allocation or charge that
 * may reclaim asks for it (order, and the cgroup whose charge failed, or
 * -1 for the allocation): the access drops its locks, reclaims and runs
 * again, with done set so that it falls back as before.  An access that
 * finds no memory at all reclaims once (reclaimed) and runs again.
 */
struct fault_reclaim {
	bool done;
	bool reclaimed;
	unsigned order;
	int memcg;
};
/*
 * handle_access(), its large folios asking for reclaim through rc (not
 * NULL, zeroed before the first try).  Context: mmap_lock held.
 */
int handle_access_rc(struct sim_mm *mm, uint64_t addr, enum sim_access kind,
		     uint64_t *tag, struct fault_reclaim *rc);
/*
 * After handle_access_rc() returned err, with every lock dropped: run
 * the reclaim it asks for, if any; true when the access should run
 * again.  Context: no lock held; takes what sim_reclaim() takes.
 */
bool fault_reclaim(struct sim_mm *mm, int err, struct fault_reclaim *rc);
uint32_t fault_allowed_orders(struct sim *sim, const struct sim_vma *v);
/*
 * Another CPU's fault at addr, in a PMD range a collapse holds, tries the
 * per-VMA lock (lock_vma_under_rcu()) and must fail: the collapse
 * write-locked the VMA.  Were the lock taken, the fault would go on into
 * page tables being collapsed: sim_bug() says so.  Context: the
 * collapse's mmap_lock held for write; only tries the VMA tree lock and
 * the VMA's lock.
 */
void fault_race_vma_lock(struct sim_mm *mm, uint64_t addr);
/* Of those, the mTHP orders (2 to PMD order - 1) whose block at addr lies
 * inside v, as a mask. */
uint32_t fault_mthp_orders(struct sim *sim, const struct sim_vma *v, uint64_t addr);
/*
 * Swap in at addr: one page, or from a synchronous device (zram) the
 * largest allowed mTHP-sized block around it that was swapped out whole,
 * all of its PTEs mapped (dirty when write).  Context: PTE lock of t held.
 */
int swapin_pte(struct sim_mm *mm, const struct sim_vma *v, struct sim_pte_table *t,
	       uint64_t addr, bool write);

#endif /* MTHP_SIM_FAULT_H */
