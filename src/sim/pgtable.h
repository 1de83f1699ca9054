/* SPDX-License-Identifier: MIT */
/*
 * sim/pgtable.h - page tables (pgtable.c): the PTE and PMD encodings, the
 * PTE and PMD tables with their locks, lookup, install, split, detach,
 * walk and zap.
 */
#ifndef MTHP_SIM_PGTABLE_H
#define MTHP_SIM_PGTABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <mthp/engine.h>

#include "sim/world.h"

#define SIM_DIR_ENTRIES	512

/*
 * PTE, 32 bits.  0: none.  Present (bit 0): young, dirty, writable,
 * uffd-wp bits and the pfn from bit 6.  Swap (bit 1, bit 0 clear): the
 * uffd-wp marker bit and the slot from bit 3; slot 0 = marker only.
 */
#define PTE_PRESENT	0x1u
#define PTE_YOUNG	0x2u
#define PTE_DIRTY	0x4u
#define PTE_WRITE	0x8u
#define PTE_UFFD_WP	0x10u
#define PTE_PFN_SHIFT	(32 - SIM_PFN_BITS)
#define PTE_SWAP	0x2u
#define PTE_SWP_UFFD_WP	0x4u
#define PTE_SLOT_SHIFT	(32 - SIM_SLOT_BITS)

static inline bool pte_present(uint32_t pte) { return pte & PTE_PRESENT; }
static inline bool pte_is_swap(uint32_t pte)
{
	return !(pte & PTE_PRESENT) && (pte & PTE_SWAP);
}
static inline uint32_t pte_pfn(uint32_t pte) { return pte >> PTE_PFN_SHIFT; }
static inline uint32_t pte_slot(uint32_t pte) { return pte >> PTE_SLOT_SHIFT; }
static inline uint32_t pte_mk(uint32_t pfn, uint32_t bits)
{
	return (pfn << PTE_PFN_SHIFT) | PTE_PRESENT | bits;
}
static inline uint32_t pte_mk_swap(uint32_t slot, bool uffd_wp)
{
	return (slot << PTE_SLOT_SHIFT) | PTE_SWAP | (uffd_wp ? PTE_SWP_UFFD_WP : 0);
}

/*
 * PMD, 64 bits.  0: none.  Bit 0 clear and non-zero: a struct
 * sim_pte_table pointer.  Bit 0 set: huge, with young/dirty/writable bits,
 * PMD_ZERO for the huge zero page, and the pfn from bit 8.
 */
#define PMD_HUGE	0x1ull
#define PMD_YOUNG	0x2ull
#define PMD_DIRTY	0x4ull
#define PMD_WRITE	0x8ull
#define PMD_ZERO	0x10ull
#define PMD_PFN_SHIFT	8

struct sim_pte_table {
	pthread_mutex_t lock;		/* the PTE lock */
	uint32_t ptes[];		/* ptes_per_pmd entries */
};

struct sim_pmd_table {
	pthread_mutex_t lock;		/* the PMD lock of its 512 entries */
	uint64_t pmd[SIM_DIR_ENTRIES];	/* atomic */
	/* under the PMD lock: the table deposited with each huge PMD */
	struct sim_pte_table *deposit[SIM_DIR_ENTRIES];
};

struct sim_pud {
	struct sim_pmd_table *slot[SIM_DIR_ENTRIES];	/* atomic */
};

static inline bool pmd_is_none(uint64_t pmd) { return pmd == 0; }
static inline bool pmd_is_huge(uint64_t pmd) { return pmd & PMD_HUGE; }
static inline bool pmd_is_table(uint64_t pmd) { return pmd && !(pmd & PMD_HUGE); }
static inline struct sim_pte_table *pmd_table(uint64_t pmd)
{
	return (struct sim_pte_table *)(uintptr_t)pmd;
}
static inline uint32_t pmd_pfn(uint64_t pmd) { return (uint32_t)(pmd >> PMD_PFN_SHIFT); }

static inline uint32_t pte_index(const struct sim *sim, uint64_t addr)
{
	return (uint32_t)(addr >> sim->page_shift) & (sim->geo.ptes_per_pmd - 1);
}
static inline uint64_t pmd_base(const struct sim *sim, uint64_t addr)
{
	return addr & ~((1ull << sim->pmd_shift) - 1);
}
/* The PMD entry of addr, allocating directories when alloc; NULL if absent. */
uint64_t pmd_next_dir(struct sim_mm *mm, uint64_t addr, uint64_t end);
uint64_t *pmd_lookup(struct sim_mm *mm, uint64_t addr, bool alloc,
		     struct sim_pmd_table **pmdt);
struct sim_pte_table *pte_table_alloc(struct sim *sim);
void pte_table_free(struct sim_pte_table *t);
/* Context: mmap_lock held; takes and drops the PMD lock. */
int pmd_install_table(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt);
/* Context: mmap_lock held; takes and drops the PMD lock. */
int pmd_split_huge(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt);
/*
 * After folio_split() of the anon folio [head, head + nr): each of its
 * pages t maps that is zero-filled is mapped to the zero page and freed,
 * as 7.2's split of an anon folio does (remap_page() with
 * TTU_USE_SHARED_ZEROPAGE), so a page a collapse filled and the program
 * never wrote stops counting as present.  The pages freed.
 * Context: PTE lock of t held.
 */
uint32_t split_maps_zero(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head,
			 uint32_t nr);
/*
 * Split the anon folio at head, which t maps and nothing else does, under
 * a reference of its own, then split_maps_zero() its pages: the
 * zero-filled pages freed so, or -EBUSY (split_failed counted) when the
 * folio cannot be split now.  Context: PTE lock of t held.
 */
int split_folio_here(struct sim_mm *mm, struct sim_pte_table *t, uint32_t head);
/* The PTEs of t that map pages of the folio.  Context: PTE lock of t held. */
uint32_t ptes_mapping(struct sim *sim, struct sim_pte_table *t, uint32_t head);
/*
 * The PTE table under a PMD entry whose value was pmd, a huge PMD split
 * first; *tp NULL when the entry maps no table.  0, or -ENOMEM.
 * Context: mmap_lock held; takes and drops the PMD lock when it splits.
 */
int pmd_split_table(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt,
		    uint64_t pmd, struct sim_pte_table **tp);
/*
 * What the PMD entry of addr maps now, without allocating: NONE (*pmdpp
 * NULL when no directory reaches it), HUGE, ZERO (the huge zero page),
 * or TABLE with the table in *tp (else NULL).  Context: mmap_lock held.
 */
enum mthp_pmd_kind pmd_lookup_kind(struct sim_mm *mm, uint64_t addr, uint64_t **pmdpp,
				   struct sim_pmd_table **pmdtp, struct sim_pte_table **tp);
/*
 * The PTE table a huge PMD keeps deposited, so that splitting it never
 * has to allocate (the kernel's pgtable_trans_huge_deposit() and
 * _withdraw()): every huge PMD has one from the moment it is set.
 * Withdraw returns NULL when none is deposited.  Context: PMD lock held.
 */
void pgtable_deposit(struct sim_pmd_table *pmdt, uint64_t *pmdp, struct sim_pte_table *t);
struct sim_pte_table *pgtable_withdraw(struct sim_pmd_table *pmdt, uint64_t *pmdp);
/*
 * Context: PMD lock held: clear the PMD, return the detached table.  A
 * PMD that maps no table is a broken invariant (sim_bug()).
 */
struct sim_pte_table *pmdp_collapse_flush(uint64_t *pmdp);
/*
 * Context: PMD lock held: put a table back under an empty PMD (one that
 * is not empty is a broken invariant: sim_bug()).
 */
void pmd_populate(uint64_t *pmdp, struct sim_pte_table *t);
/* Visit each PMD entry overlapping [start, end): fn gets the sub-range. */
typedef int (*pmd_range_fn)(struct sim_mm *mm, uint64_t *pmdp,
			    struct sim_pmd_table *pmdt, uint64_t start,
			    uint64_t end, void *ctx);
int walk_pmds(struct sim_mm *mm, uint64_t start, uint64_t end, pmd_range_fn fn,
	      void *ctx);
void free_all_tables(struct sim_mm *mm);
/* Zap one present/swap PTE value (mapping counts, swap slots). */
void zap_pte(struct sim_mm *mm, uint32_t pte);
/*
 * How many PTEs of t from i to last map the pages of one folio from pfn
 * on, one after another (1 at least; PTE i maps pfn).  Context: PTE
 * lock of t held.
 */
uint32_t pte_folio_run(struct sim *sim, const struct sim_pte_table *t, uint32_t i,
		       uint32_t last, uint32_t pfn);
/* Zap [start, end): PTEs to none, huge PMDs cleared or split, partially
 * zapped large folios split.  Context: mmap_lock held; takes PMD and PTE
 * locks. */
int zap_range(struct sim_mm *mm, uint64_t start, uint64_t end);

#endif /* MTHP_SIM_PGTABLE_H */
