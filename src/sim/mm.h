/* SPDX-License-Identifier: MIT */
/*
 * sim/mm.h - address spaces (mm.c): creation, references, teardown,
 * khugepaged's mm slots, and the mapping operations under mmap_lock.
 */
#ifndef MTHP_SIM_MM_H
#define MTHP_SIM_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/world.h"

int mm_alloc(struct sim *sim, unsigned memcg, struct sim_mm **out);
/* Zap and free everything.  Context: mmap_lock held for write. */
void mm_teardown(struct sim_mm *mm);
/* Are addr and len page aligned, len not 0, the range inside the VA space? */
bool mm_range_ok(struct sim *sim, uint64_t addr, uint64_t len);
/* Is [start, end) covered by VMAs without a hole? */
bool range_mapped(struct sim_mm *mm, uint64_t start, uint64_t end);
/* munmap: zap, remove the VMAs, free the tables no VMA needs any more.
 * Context: mmap_lock held for write. */
int munmap_locked(struct sim_mm *mm, uint64_t start, uint64_t end);
/* Split VMAs at start and end.  Context: mmap_lock held for write. */
int vma_isolate_range(struct sim_mm *mm, uint64_t start, uint64_t end);
/* Drop a reference; the last one frees the mm (after sim_exit). */
void mm_put(struct sim_mm *mm);
/*
 * Every mm of the simulator now, each with a reference, in an array the
 * caller gives back with mm_list_put(); on -ENOMEM those gathered so far.
 * Context: takes and drops the mm list lock.
 */
int mm_list_get(struct sim *sim, struct sim_mm ***mms, size_t *nr);
void mm_list_put(struct sim_mm **mms, size_t nr);
/* Give the mm an mm slot (khugepaged_enter).  Context: takes the mm list lock. */
void khugepaged_enter(struct sim_mm *mm);
/* Remove the mm's slot, moving the cursor past it.  Context: mm list lock held. */
void khugepaged_exit_locked(struct sim_mm *mm);
/*
 * Move khugepaged's cursor from mm to the next mm slot; past the last,
 * a full scan is done.  Context: the mm list lock held.
 */
void khugepaged_cursor_next_locked(struct sim_mm *mm);

#endif /* MTHP_SIM_MM_H */
