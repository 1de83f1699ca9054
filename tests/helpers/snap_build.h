/* SPDX-License-Identifier: MIT */
/*
 * snap_build.h - snapshots built in memory for the map and TLB tests: a
 * page table written run by run, and a snapshot of one anonymous VMA at
 * SNAP_VMA_START whose PMD ranges are added by index.  Each step fails the
 * case (cmocka) when the snapshot refuses it.
 */
#ifndef MTHP_TEST_SNAP_BUILD_H
#define MTHP_TEST_SNAP_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include <mthp/snapshot.h>

#define SNAP_VMA_START 0x7f0000000000ull

/* One page table being written. */
struct snap_table {
	uint32_t n;
	uint8_t ptes[MTHP_MAX_PTES];
	uint8_t orders[MTHP_MAX_PTES];
};

/* n none PTEs. */
void snap_table_init(struct snap_table *t, uint32_t n);

/* n PTEs from off in state c; order for states with a folio. */
void snap_table_put(struct snap_table *t, uint32_t off, uint32_t n, char c, uint8_t order);

/* A snapshot of page size ps with one VMA (vma_flags) of nr_pmds PMD ranges. */
void snap_build_new(struct mthp_snapshot *s, uint32_t ps, size_t nr_pmds, uint32_t vma_flags);

/* The address of PMD range i of the VMA. */
uint64_t snap_build_pmd_addr(const struct mthp_snapshot *s, size_t i);

/* Add PMD range i of kind (its table t for MTHP_PMD_TABLE, else NULL). */
void snap_build_add(struct mthp_snapshot *s, size_t i, enum mthp_pmd_kind kind,
		    const struct snap_table *t);

/* The text of a snapshot as the writer writes it; the caller frees it. */
char *snap_build_text(const struct mthp_snapshot *s);

#endif /* MTHP_TEST_SNAP_BUILD_H */
