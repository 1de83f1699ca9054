/* SPDX-License-Identifier: MIT */
/*
 * mthp/result.h - the SCAN_* results, one value per reason.
 *
 * The names are the kernel's (enum scan_result in mm/khugepaged.c), so a
 * line of mthp output can be compared with a tracepoint line.  One table
 * (src/engine/result.c), one row per result, says everything that depends
 * on a result: its name for the CLI and JSON, its tracepoint status, what
 * the upstream walk does next, and what MADV_COLLAPSE makes of it.
 */
#ifndef MTHP_RESULT_H
#define MTHP_RESULT_H

enum mthp_result {
	SCAN_FAIL,			/* generic failure */
	SCAN_SUCCEED,			/* success */
	SCAN_NO_PTE_TABLE,		/* no page table under the PMD */
	SCAN_PMD_MAPPED,		/* the range is already PMD-mapped */
	SCAN_EXCEED_NONE_PTE,		/* more none/zero PTEs than allowed */
	SCAN_EXCEED_SWAP_PTE,		/* more swap PTEs than allowed */
	SCAN_EXCEED_SHARED_PTE,		/* more shared pages than allowed */
	SCAN_PTE_NON_PRESENT,		/* a non-present PTE met while isolating */
	SCAN_PTE_UFFD_WP,		/* a uffd-wp PTE or swap marker */
	SCAN_PTE_MAPPED_HUGEPAGE,	/* a folio of the target order or larger */
	SCAN_LACK_REFERENCED_PAGE,	/* not enough recently used pages */
	SCAN_PAGE_NULL,			/* a PTE without a normal page */
	SCAN_SCAN_ABORT,		/* NUMA node too distant */
	SCAN_PAGE_COUNT,		/* a page with an unexpected reference */
	SCAN_PAGE_LRU,			/* a folio not on an LRU list */
	SCAN_PAGE_LOCK,			/* a folio that is locked */
	SCAN_PAGE_ANON,			/* a page that is not anonymous */
	SCAN_PAGE_LAZYFREE,		/* a clean lazily freed (MADV_FREE) folio */
	SCAN_PAGE_COMPOUND,		/* file path: a smaller large folio */
	SCAN_ANY_PROCESS,		/* the mm is exiting */
	SCAN_VMA_NULL,			/* the VMA is gone */
	SCAN_VMA_CHECK,			/* no collapse order is allowed for the VMA */
	SCAN_ADDRESS_RANGE,		/* the VMA does not span the PMD range */
	SCAN_DEL_PAGE_LRU,		/* LRU isolation failed */
	SCAN_ALLOC_HUGE_PAGE_FAIL,	/* the folio allocation failed */
	SCAN_CGROUP_CHARGE_FAIL,	/* the memcg charge failed */
	SCAN_TRUNCATED,			/* file path only */
	SCAN_PAGE_HAS_PRIVATE,		/* file path only */
	SCAN_STORE_FAILED,		/* file path only */
	SCAN_COPY_MC,			/* machine check while copying */
	SCAN_PAGE_FILLED,		/* file path only */
	SCAN_PAGE_DIRTY_OR_WRITEBACK,	/* file path only */
};

#define MTHP_NR_RESULTS (SCAN_PAGE_DIRTY_OR_WRITEBACK + 1)

/*
 * What the upstream walk does after an attempt with a result.  Non-zero,
 * so that a cell left out of the table reads as unfilled.
 */
enum mthp_walk_action {
	MTHP_WALK_ADVANCE = 1,	/* go on after the window */
	MTHP_WALK_LOWER,	/* try the next smaller order at the same offset */
	MTHP_WALK_STOP,		/* abandon the range */
};

/* What MADV_COLLAPSE does after a PMD range ends with a result (non-zero). */
enum mthp_madvise_range {
	MTHP_MADVISE_DONE = 1,	/* the range counts as collapsed */
	MTHP_MADVISE_CONTINUE,	/* a failure; go on to the next range */
	MTHP_MADVISE_STOP,	/* a failure that ends the VMA's part */
};

/* One row of the result table. */
struct mthp_result_class {
	const char *name;			/* "SCAN_SUCCEED" */
	const char *status;			/* tracepoint status: "succeeded" */
	enum mthp_walk_action walk;		/* the upstream walk's next step */
	int madvise_errno;			/* MADV_COLLAPSE's errno (< 0) when
						 * this is its last failure */
	enum mthp_madvise_range madvise_range;	/* MADV_COLLAPSE's next step */
};

/*
 * The row of r; a value outside the enum gets a row named "SCAN_?" that
 * stops the walk and fails MADV_COLLAPSE with -EINVAL.
 */
const struct mthp_result_class *mthp_result_class(enum mthp_result r);

/* "SCAN_SUCCEED" ...; "SCAN_?" for a value outside the enum. */
const char *mthp_result_name(enum mthp_result r);

/* The tracepoint status string ("succeeded", "exceed_none_pte", ...). */
const char *mthp_result_status(enum mthp_result r);

/* Parse "SCAN_SUCCEED" (or "SUCCEED"); 0, or -EINVAL if unknown. */
int mthp_result_parse(const char *name, enum mthp_result *r);

#endif /* MTHP_RESULT_H */
