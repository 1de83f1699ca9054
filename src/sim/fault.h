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
