/* SPDX-License-Identifier: MIT */
/*
 * sim/rmap.h - rmap walks (rmap.c): reclaim's aging walk of a folio's
 * mappings under its anon_vma lock for read, and compaction's migration
 * walk, each checked against the folio's counts; the walker thread; the
 * walks a collapse's injection points run on the folios beside its
 * window and on those a failed copy released.
 */
#ifndef MTHP_SIM_RMAP_H
#define MTHP_SIM_RMAP_H

#include <stdint.h>

#include "sim/world.h"

struct sim_anon_vma;
struct sim_pte_table;

/*
 * The SIM_INJECT_RMAP point of a collapse: an aging walk, from this
 * thread with the anon_vma tried for read as folio_referenced() tries it,
 * of every folio mapped in table t (detached from the PMD of pmd_addr)
 * outside the window [off, off + nr).  While the collapse holds av for
 * write every walk is given up as contended; a walk that gets in finds
 * the PMD clear under folios still mapped, and fails naming them.
 * Context: mmap_lock held for write, the PTE table detached and not
 * locked; takes and drops the PTE lock, the anon_vma for read (tried),
 * the PMD lock.
 */
void rmap_walk_beside_window(struct sim_mm *mm, struct sim_anon_vma *av,
			     struct sim_pte_table *t, uint64_t pmd_addr,
			     uint32_t off, uint32_t nr);
/*
 * The SIM_INJECT_MIGRATE point of a collapse whose copy failed, once it
 * has released the isolated folios and the LRU add batch has drained (the
 * work of another CPU's lru_add_drain_all()): compaction's migration,
 * from this thread, of the first folios mapped in the window [off, off +
 * nr) of table t (at pmd_addr, in a VMA of av): each taken with a
 * reference under the PTE lock, isolated from the LRU, locked (tried)
 * and walked by try_to_migrate() with the anon_vma tried for read, then
 * put back.  A folio released while t was still off its PMD is found
 * mapped in t while the PMD is clear, and the walk fails naming it.
 * Context: mmap_lock held for write, t not locked (detached or back
 * under its PMD), the anon_vma maybe held for write by this thread;
 * takes and drops the PTE lock, the anon_vma for read (tried), the PMD
 * lock.
 */
void rmap_migrate_window(struct sim_mm *mm, struct sim_anon_vma *av,
			 struct sim_pte_table *t, uint64_t pmd_addr, uint32_t off,
			 uint32_t nr);
/* Stop the walker thread if it runs (sim_destroy). */
void rmap_destroy(struct sim *sim);

#endif /* MTHP_SIM_RMAP_H */
