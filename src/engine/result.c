// SPDX-License-Identifier: MIT
/*
 * result.c - the one name table of enum mthp_result: the enum name used by
 * the CLI and JSON, and the tracepoint status string.
 */
#include <errno.h>
#include <string.h>

#include <mthp/result.h>

static const struct {
	const char *name;
	const char *status;
} result_names[MTHP_NR_RESULTS] = {
	[SCAN_FAIL]			= { "SCAN_FAIL", "failed" },
	[SCAN_SUCCEED]			= { "SCAN_SUCCEED", "succeeded" },
	[SCAN_NO_PTE_TABLE]		= { "SCAN_NO_PTE_TABLE", "no_pte_table" },
	[SCAN_PMD_MAPPED]		= { "SCAN_PMD_MAPPED", "page_pmd_mapped" },
	[SCAN_EXCEED_NONE_PTE]		= { "SCAN_EXCEED_NONE_PTE", "exceed_none_pte" },
	[SCAN_EXCEED_SWAP_PTE]		= { "SCAN_EXCEED_SWAP_PTE", "exceed_swap_pte" },
	[SCAN_EXCEED_SHARED_PTE]	= { "SCAN_EXCEED_SHARED_PTE", "exceed_shared_pte" },
	[SCAN_PTE_NON_PRESENT]		= { "SCAN_PTE_NON_PRESENT", "pte_non_present" },
	[SCAN_PTE_UFFD_WP]		= { "SCAN_PTE_UFFD_WP", "pte_uffd_wp" },
	[SCAN_PTE_MAPPED_HUGEPAGE]	= { "SCAN_PTE_MAPPED_HUGEPAGE", "pte_mapped_hugepage" },
	[SCAN_LACK_REFERENCED_PAGE]	= { "SCAN_LACK_REFERENCED_PAGE", "lack_referenced_page" },
	[SCAN_PAGE_NULL]		= { "SCAN_PAGE_NULL", "page_null" },
	[SCAN_SCAN_ABORT]		= { "SCAN_SCAN_ABORT", "scan_aborted" },
	[SCAN_PAGE_COUNT]		= { "SCAN_PAGE_COUNT", "not_suitable_page_count" },
	[SCAN_PAGE_LRU]			= { "SCAN_PAGE_LRU", "page_not_in_lru" },
	[SCAN_PAGE_LOCK]		= { "SCAN_PAGE_LOCK", "page_locked" },
	[SCAN_PAGE_ANON]		= { "SCAN_PAGE_ANON", "page_not_anon" },
	[SCAN_PAGE_LAZYFREE]		= { "SCAN_PAGE_LAZYFREE", "page_lazyfree" },
	[SCAN_PAGE_COMPOUND]		= { "SCAN_PAGE_COMPOUND", "page_compound" },
	[SCAN_ANY_PROCESS]		= { "SCAN_ANY_PROCESS", "no_process_for_page" },
	[SCAN_VMA_NULL]			= { "SCAN_VMA_NULL", "vma_null" },
	[SCAN_VMA_CHECK]		= { "SCAN_VMA_CHECK", "vma_check_failed" },
	[SCAN_ADDRESS_RANGE]		= { "SCAN_ADDRESS_RANGE", "not_suitable_address_range" },
	[SCAN_DEL_PAGE_LRU]		= { "SCAN_DEL_PAGE_LRU", "could_not_delete_page_from_lru" },
	[SCAN_ALLOC_HUGE_PAGE_FAIL]	= { "SCAN_ALLOC_HUGE_PAGE_FAIL", "alloc_huge_page_failed" },
	[SCAN_CGROUP_CHARGE_FAIL]	= { "SCAN_CGROUP_CHARGE_FAIL", "ccgroup_charge_failed" },
	[SCAN_TRUNCATED]		= { "SCAN_TRUNCATED", "truncated" },
	[SCAN_PAGE_HAS_PRIVATE]		= { "SCAN_PAGE_HAS_PRIVATE", "page_has_private" },
	[SCAN_STORE_FAILED]		= { "SCAN_STORE_FAILED", "store_failed" },
	[SCAN_COPY_MC]			= { "SCAN_COPY_MC", "copy_poisoned_page" },
	[SCAN_PAGE_FILLED]		= { "SCAN_PAGE_FILLED", "page_filled" },
	[SCAN_PAGE_DIRTY_OR_WRITEBACK]	= { "SCAN_PAGE_DIRTY_OR_WRITEBACK", "page_dirty_or_writeback" },
};

const char *mthp_result_name(enum mthp_result r)
{
	if ((unsigned)r >= MTHP_NR_RESULTS)
		return "SCAN_?";
	return result_names[r].name;
}

const char *mthp_result_status(enum mthp_result r)
{
	if ((unsigned)r >= MTHP_NR_RESULTS)
		return "?";
	return result_names[r].status;
}

int mthp_result_parse(const char *name, enum mthp_result *r)
{
	for (unsigned i = 0; i < MTHP_NR_RESULTS; i++) {
		const char *full = result_names[i].name;

		if (!strcmp(name, full) || !strcmp(name, full + strlen("SCAN_"))) {
			*r = (enum mthp_result)i;
			return 0;
		}
	}
	return -EINVAL;
}
