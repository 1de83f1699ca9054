/* SPDX-License-Identifier: MIT */
/*
 * sim/collapse.h - collapsing a PMD range and its windows (collapse.c),
 * for khugepaged and MADV_COLLAPSE alike.
 */
#ifndef MTHP_SIM_COLLAPSE_H
#define MTHP_SIM_COLLAPSE_H

#include <stdbool.h>
#include <stdint.h>

#include <mthp/engine.h>
#include <mthp/result.h>

#include "sim/vma.h"
#include "sim/world.h"

/* Folios a per-CPU LRU add batch holds before it drains (a folio_batch). */
#define SIM_LRU_BATCH 31

struct collapse_control *collapse_control_alloc(struct sim *sim,
						enum mthp_policy policy,
						enum mthp_context context);
/*
 * Drains its LRU add batch first.  Context: as collapse_lru_drain(); the
 * world lock (debug builds) held when the drain may free folios.
 */
void collapse_control_free(struct collapse_control *cc);
/*
 * Drain cc's LRU add batch (collapse.c says what it models): every folio
 * back on the LRU, the batch's reference dropped (a folio unmapped
 * meanwhile is freed).  Context: any simulator lock may be held but the
 * zone lock (the buddy allocator's, taken to free).
 */
void collapse_lru_drain(struct collapse_control *cc);
void collapse_control_set_policy(struct collapse_control *cc,
				 enum mthp_policy policy);
/*
 * Scan one PMD range with the engine and collapse what the walk chooses.
 * Context: world lock (debug builds) and mmap_lock held for read on
 * entry; on return both are still held when *mmap_locked is true, and
 * both dropped when it is false.
 */
enum mthp_result collapse_scan_pmd(struct sim_mm *mm, const struct sim_vma *v,
				   uint64_t pmd_addr, bool *mmap_locked,
				   struct collapse_control *cc);
/* The rules of a VMA for cc's policy and context. */
void collapse_rules(struct collapse_control *cc, const struct sim_vma *v,
		    struct mthp_rules *rules);
/*
 * Revalidate after mmap_lock was dropped and retaken, as the kernel's
 * hugepage_vma_revalidate() (khugepaged and MADV_COLLAPSE alike): the mm
 * not exiting (ANY_PROCESS), a VMA at pmd_addr (VMA_NULL) spanning its
 * whole PMD range (ADDRESS_RANGE), eligible for some order under cc
 * (VMA_CHECK).  Fills *rules and *vp for the VMA as it is now.
 * Context: mmap_lock held (read or write).
 */
enum mthp_result collapse_revalidate(struct sim_mm *mm, struct collapse_control *cc,
				     uint64_t pmd_addr, struct mthp_rules *rules,
				     const struct sim_vma **vp);
/* Collapses the last collapse_scan_pmd() made. */
uint32_t collapse_nr_done(const struct collapse_control *cc);
/*
 * The progress of khugepaged's last collapse_scan_pmd(), as Linux 7.2
 * counts it: the PTEs the scan looked at (up to and including the one
 * that ended it), or 1 for a range with no table to scan.
 */
uint32_t collapse_progress(const struct collapse_control *cc);

#endif /* MTHP_SIM_COLLAPSE_H */
