// SPDX-License-Identifier: MIT
/*
 * result.c - the one table of enum mthp_result: for each result its name
 * (CLI, JSON), its tracepoint status, the upstream walk's next step and
 * what MADV_COLLAPSE makes of it.  Every switch over a result elsewhere
 * is a lookup here.
 */
#include <errno.h>
#include <string.h>

#include <mthp/result.h>

/*
 * One row per result.  Every cell is non-zero when filled (the enums start
 * at 1, the errnos are negative); tests/test_engine checks that none is
 * left out.  madvise_errno follows the kernel's madvise_collapse_errno():
 * -ENOMEM for an allocation, -EBUSY for a charge or too many none PTEs,
 * -EAGAIN for a transient page state, -EINVAL for anything else.
 * madvise_range: an already PMD-mapped range counts as done; transient and
 * page-state results go on to the next range; anything else stops.
 */
static const struct mthp_result_class result_classes[] = {
	[SCAN_FAIL] = {
		.name = "SCAN_FAIL", .status = "failed",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_SUCCEED] = {
		.name = "SCAN_SUCCEED", .status = "succeeded",
		.walk = MTHP_WALK_ADVANCE, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_DONE,
	},
	[SCAN_NO_PTE_TABLE] = {
		.name = "SCAN_NO_PTE_TABLE", .status = "no_pte_table",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_PMD_MAPPED] = {
		.name = "SCAN_PMD_MAPPED", .status = "page_pmd_mapped",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_DONE,
	},
	[SCAN_EXCEED_NONE_PTE] = {
		.name = "SCAN_EXCEED_NONE_PTE", .status = "exceed_none_pte",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EBUSY, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_EXCEED_SWAP_PTE] = {
		.name = "SCAN_EXCEED_SWAP_PTE", .status = "exceed_swap_pte",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_EXCEED_SHARED_PTE] = {
		.name = "SCAN_EXCEED_SHARED_PTE", .status = "exceed_shared_pte",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_PTE_NON_PRESENT] = {
		.name = "SCAN_PTE_NON_PRESENT", .status = "pte_non_present",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_PTE_UFFD_WP] = {
		.name = "SCAN_PTE_UFFD_WP", .status = "pte_uffd_wp",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_PTE_MAPPED_HUGEPAGE] = {
		.name = "SCAN_PTE_MAPPED_HUGEPAGE", .status = "pte_mapped_hugepage",
		.walk = MTHP_WALK_ADVANCE, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_LACK_REFERENCED_PAGE] = {
		.name = "SCAN_LACK_REFERENCED_PAGE", .status = "lack_referenced_page",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_PAGE_NULL] = {
		.name = "SCAN_PAGE_NULL", .status = "page_null",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_SCAN_ABORT] = {
		.name = "SCAN_SCAN_ABORT", .status = "scan_aborted",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_PAGE_COUNT] = {
		.name = "SCAN_PAGE_COUNT", .status = "not_suitable_page_count",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EAGAIN, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_PAGE_LRU] = {
		.name = "SCAN_PAGE_LRU", .status = "page_not_in_lru",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EAGAIN, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_PAGE_LOCK] = {
		.name = "SCAN_PAGE_LOCK", .status = "page_locked",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EAGAIN, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_PAGE_ANON] = {
		.name = "SCAN_PAGE_ANON", .status = "page_not_anon",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_PAGE_LAZYFREE] = {
		.name = "SCAN_PAGE_LAZYFREE", .status = "page_lazyfree",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_PAGE_COMPOUND] = {
		.name = "SCAN_PAGE_COMPOUND", .status = "page_compound",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_ANY_PROCESS] = {
		.name = "SCAN_ANY_PROCESS", .status = "no_process_for_page",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_VMA_NULL] = {
		.name = "SCAN_VMA_NULL", .status = "vma_null",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_VMA_CHECK] = {
		.name = "SCAN_VMA_CHECK", .status = "vma_check_failed",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_ADDRESS_RANGE] = {
		.name = "SCAN_ADDRESS_RANGE", .status = "not_suitable_address_range",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_DEL_PAGE_LRU] = {
		.name = "SCAN_DEL_PAGE_LRU", .status = "could_not_delete_page_from_lru",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -EAGAIN, .madvise_range = MTHP_MADVISE_CONTINUE,
	},
	[SCAN_ALLOC_HUGE_PAGE_FAIL] = {
		.name = "SCAN_ALLOC_HUGE_PAGE_FAIL", .status = "alloc_huge_page_failed",
		.walk = MTHP_WALK_LOWER, .madvise_errno = -ENOMEM, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_CGROUP_CHARGE_FAIL] = {
		.name = "SCAN_CGROUP_CHARGE_FAIL", .status = "ccgroup_charge_failed",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EBUSY, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_TRUNCATED] = {
		.name = "SCAN_TRUNCATED", .status = "truncated",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_PAGE_HAS_PRIVATE] = {
		.name = "SCAN_PAGE_HAS_PRIVATE", .status = "page_has_private",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_STORE_FAILED] = {
		.name = "SCAN_STORE_FAILED", .status = "store_failed",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_COPY_MC] = {
		.name = "SCAN_COPY_MC", .status = "copy_poisoned_page",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_PAGE_FILLED] = {
		.name = "SCAN_PAGE_FILLED", .status = "page_filled",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EAGAIN, .madvise_range = MTHP_MADVISE_STOP,
	},
	[SCAN_PAGE_DIRTY_OR_WRITEBACK] = {
		.name = "SCAN_PAGE_DIRTY_OR_WRITEBACK", .status = "page_dirty_or_writeback",
		.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL, .madvise_range = MTHP_MADVISE_STOP,
	},
};
_Static_assert(sizeof(result_classes) / sizeof(result_classes[0]) == MTHP_NR_RESULTS,
	       "one row of result_classes per enum mthp_result value");

static const struct mthp_result_class unknown_result = {
	.name = "SCAN_?", .status = "?",
	.walk = MTHP_WALK_STOP, .madvise_errno = -EINVAL,
	.madvise_range = MTHP_MADVISE_STOP,
};

const struct mthp_result_class *mthp_result_class(enum mthp_result r)
{
	if ((unsigned)r >= MTHP_NR_RESULTS)
		return &unknown_result;
	return &result_classes[r];
}

const char *mthp_result_name(enum mthp_result r)
{
	return mthp_result_class(r)->name;
}

const char *mthp_result_status(enum mthp_result r)
{
	return mthp_result_class(r)->status;
}

int mthp_result_parse(const char *name, enum mthp_result *r)
{
	for (unsigned i = 0; i < MTHP_NR_RESULTS; i++) {
		const char *full = result_classes[i].name;

		if (!strcmp(name, full) || !strcmp(name, full + strlen("SCAN_"))) {
			*r = (enum mthp_result)i;
			return 0;
		}
	}
	return -EINVAL;
}
