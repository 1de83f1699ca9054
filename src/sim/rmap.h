/* SPDX-License-Identifier: MIT */
/*
 * sim/rmap.h - rmap walks (rmap.c): reclaim's aging walk of a folio's
 * mappings under its anon_vma lock for read, each checked against the
 * folio's counts; the walker thread; the walk a collapse's injection
 * point runs on the folios beside its window.
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
/* Stop the walker thread if it runs (sim_destroy). */
void rmap_destroy(struct sim *sim);

#endif /* MTHP_SIM_RMAP_H */
