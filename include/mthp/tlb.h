/* SPDX-License-Identifier: MIT */
/*
 * mthp/tlb.h - TLB entries needed to map the resident memory of a snapshot
 * (or of one PMD range) under a TLB profile: x86-64, AMD Zen's PTE
 * coalescing, arm64 contpte with 4K, 16K or 64K pages.
 *
 * Every profile has three kinds of entry: a base-page entry, a "cont"
 * entry covering 2^cont_order aligned PTEs of one folio (Zen's 16K
 * coalesced entry, arm64's contpte; x86-64 has none), and a PMD entry for
 * a PMD-mapped folio.  Where each rule comes from, and what is inferred,
 * is in docs/tlb-profiles.md.
 *
 * Counted, one base entry each unless part of a cont block: every present
 * PTE of the alphabet ('A' 'a' 'S' 's' 'f' 'l' 'K' 'P' 'N'), zero-page
 * PTEs ('0', also counted in zero_pages; never coalesced, they all map the
 * same physical page), and special PTEs ('n'; no folio, never coalesced).
 * Not counted: '.', 'w' and 'u' (a uffd-wp marker is taken as not present,
 * as the engine does).  A huge PMD is one PMD entry, and so is a PMD
 * mapping the huge zero page (its pages counted in zero_pages too).
 *
 * A block of 2^k aligned PTEs is one cont entry when all of them map a
 * normal page and all carry the same folio order o >= k: the snapshot has
 * no physical addresses, so a folio of order o is taken to occupy the
 * naturally aligned 2^o block of PTEs around each of its PTEs, which makes
 * the block one folio, physically contiguous and aligned.
 *
 * A profile applies only to the page size it is defined for; counting a
 * snapshot of another page size returns -EDOM (mthp_tlb_profile_fits()
 * tells beforehand).  Functions return 0 or -errno and never set errno.
 */
#ifndef MTHP_TLB_H
#define MTHP_TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mthp/engine.h>
#include <mthp/settings.h>

struct mthp_snapshot;
struct mthp_snapshot_pmd;

enum mthp_tlb_profile {
	MTHP_TLB_X86_64,	/* "x86-64": 4K and 2M entries */
	MTHP_TLB_ZEN,		/* "zen": 4 x 4K coalesced into one 16K entry */
	MTHP_TLB_ARM64_4K,	/* "arm64-4k": contpte 16 x 4K = 64K, PMD 2M */
	MTHP_TLB_ARM64_16K,	/* "arm64-16k": contpte 128 x 16K = 2M, PMD 32M */
	MTHP_TLB_ARM64_64K,	/* "arm64-64k": contpte 32 x 64K = 2M, PMD 512M */
};
#define MTHP_TLB_NR_PROFILES 5

/* The kinds of TLB entry a profile has. */
enum mthp_tlb_kind {
	MTHP_TLB_BASE,		/* one base page */
	MTHP_TLB_CONT,		/* 2^cont_order aligned PTEs of one folio */
	MTHP_TLB_PMD,		/* a PMD-mapped folio */
};
#define MTHP_TLB_NR_KINDS 3

/* What a profile is: its page size and entry sizes. */
struct mthp_tlb_profile_info {
	const char *name;
	uint32_t page_size;	/* the only page size it applies to */
	uint32_t cont_order;	/* 0: no cont entries */
	uint64_t entry_bytes[MTHP_TLB_NR_KINDS];	/* 0 where the kind is absent */
};

/* The counts of one profile; add more ranges with mthp_tlb_count_range(). */
struct mthp_tlb_count {
	enum mthp_tlb_profile profile;
	uint64_t entry_bytes[MTHP_TLB_NR_KINDS];	/* copied from the profile */
	uint64_t entries[MTHP_TLB_NR_KINDS];
	uint64_t total;			/* sum of entries[] */
	uint64_t pages;			/* base pages mapped (counted PTEs, huge PMDs) */
	uint64_t zero_pages;		/* zero-page PTEs and huge zero PMDs' pages among pages */
};

/* "x86-64", "zen", "arm64-4k", "arm64-16k", "arm64-64k"; 0 or -EINVAL. */
int mthp_tlb_profile_parse(const char *name, enum mthp_tlb_profile *p);
/* The name, or "?" for a value out of range. */
const char *mthp_tlb_profile_name(enum mthp_tlb_profile p);
/* The profile's table entry, or NULL for a value out of range. */
const struct mthp_tlb_profile_info *mthp_tlb_profile_info(enum mthp_tlb_profile p);
/* True when the profile applies to this geometry (its page size). */
bool mthp_tlb_profile_fits(enum mthp_tlb_profile p, const struct mthp_geometry *geo);

/* "4K", "16K", "64K", "2M", "512M": a size label for reports. */
void mthp_tlb_size_label(uint64_t bytes, char *buf, size_t buflen);

/*
 * Zero the counts for a profile and geometry: -EINVAL for a bad profile,
 * -EDOM when the profile does not fit the geometry.
 */
int mthp_tlb_count_init(struct mthp_tlb_count *out, enum mthp_tlb_profile p,
			const struct mthp_geometry *geo);

/*
 * Add one PMD range to counts made by mthp_tlb_count_init() for the same
 * geometry: kind NONE adds nothing, HUGE one PMD entry, TABLE its
 * geo->ptes_per_pmd PTEs (folio_orders NULL: every page order 0).  For the
 * simulator, which counts without building a snapshot.  -EINVAL for a
 * table without ptes or a bad kind.
 */
int mthp_tlb_count_range(struct mthp_tlb_count *out, const struct mthp_geometry *geo,
			 enum mthp_pmd_kind kind, const uint8_t *ptes,
			 const uint8_t *folio_orders);

/* The counts of one pmd of a snapshot (out is initialised here). */
int mthp_tlb_count_pmd(const struct mthp_snapshot *snap,
		       const struct mthp_snapshot_pmd *pmd,
		       enum mthp_tlb_profile p, struct mthp_tlb_count *out);

/* The counts of a whole snapshot (out is initialised here). */
int mthp_tlb_count(const struct mthp_snapshot *snap, enum mthp_tlb_profile p,
		   struct mthp_tlb_count *out);

#endif /* MTHP_TLB_H */
