// SPDX-License-Identifier: MIT
/*
 * stats.c - the statistics by their kernel names: /proc/vmstat thp_*
 * events and the per-size hugepages-<size>kB/stats/ files, as lookups by
 * name and as a sysfs-like dump.  The counters are relaxed atomics in
 * struct sim, bumped by count_vm() and count_mthp().
 */
#include <errno.h>
#include <string.h>

#include "sim/locks.h"
#include "sim/stats.h"
#include "sim/world.h"

static const char *const vm_names[VM_NR_ITEMS] = {
	[VM_THP_FAULT_ALLOC] = "thp_fault_alloc",
	[VM_THP_FAULT_FALLBACK] = "thp_fault_fallback",
	[VM_THP_FAULT_FALLBACK_CHARGE] = "thp_fault_fallback_charge",
	[VM_THP_COLLAPSE_ALLOC] = "thp_collapse_alloc",
	[VM_THP_COLLAPSE_ALLOC_FAILED] = "thp_collapse_alloc_failed",
	[VM_THP_SPLIT_PAGE] = "thp_split_page",
	[VM_THP_SPLIT_PAGE_FAILED] = "thp_split_page_failed",
	[VM_THP_DEFERRED_SPLIT_PAGE] = "thp_deferred_split_page",
	[VM_THP_SPLIT_PMD] = "thp_split_pmd",
	[VM_THP_SCAN_EXCEED_NONE_PTE] = "thp_scan_exceed_none_pte",
	[VM_THP_SCAN_EXCEED_SWAP_PTE] = "thp_scan_exceed_swap_pte",
	[VM_THP_SCAN_EXCEED_SHARE_PTE] = "thp_scan_exceed_share_pte",
	[VM_THP_ZERO_PAGE_ALLOC] = "thp_zero_page_alloc",
	[VM_THP_SWPOUT] = "thp_swpout",
	[VM_THP_SWPOUT_FALLBACK] = "thp_swpout_fallback",
	[VM_PSWPIN] = "pswpin",
	[VM_PSWPOUT] = "pswpout",
	[VM_PGFAULT] = "pgfault",
};

static const char *const mthp_names[MS_NR_ITEMS] = {
	[MS_ANON_FAULT_ALLOC] = "anon_fault_alloc",
	[MS_ANON_FAULT_FALLBACK] = "anon_fault_fallback",
	[MS_ANON_FAULT_FALLBACK_CHARGE] = "anon_fault_fallback_charge",
	[MS_COLLAPSE_ALLOC] = "collapse_alloc",
	[MS_COLLAPSE_ALLOC_FAILED] = "collapse_alloc_failed",
	[MS_COLLAPSE_EXCEED_NONE_PTE] = "collapse_exceed_none_pte",
	[MS_COLLAPSE_EXCEED_SWAP_PTE] = "collapse_exceed_swap_pte",
	[MS_COLLAPSE_EXCEED_SHARED_PTE] = "collapse_exceed_shared_pte",
	[MS_SWPOUT] = "swpout",
	[MS_SWPOUT_FALLBACK] = "swpout_fallback",
	[MS_SWPIN] = "swpin",
	[MS_SPLIT] = "split",
	[MS_SPLIT_FAILED] = "split_failed",
	[MS_SPLIT_DEFERRED] = "split_deferred",
	[MS_NR_ANON] = "nr_anon",
};

/* The index of name in names[n], or -EINVAL if it is not there. */
static int stat_index(const char *const *names, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return (int)i;
	return -EINVAL;
}

int sim_vmstat(struct sim *sim, const char *name, uint64_t *value)
{
	int i = stat_index(vm_names, VM_NR_ITEMS, name);

	if (i < 0)
		return i;
	*value = ld_relaxed(&sim->vmstat[i]);
	return 0;
}

int sim_mthp_stat(struct sim *sim, unsigned order, const char *name,
		  uint64_t *value)
{
	int i = stat_index(mthp_names, MS_NR_ITEMS, name);

	if (i < 0 || order > sim->geo.pmd_order)
		return -EINVAL;
	*value = ld_relaxed(&sim->mthp_stat[order][i]);
	return 0;
}

int sim_stats_dump(struct sim *sim, FILE *f)
{
	for (unsigned i = 0; i < VM_NR_ITEMS; i++)
		fprintf(f, "/proc/vmstat/%s %llu\n", vm_names[i],
			(unsigned long long)ld_relaxed(&sim->vmstat[i]));
	for (unsigned o = MTHP_MIN_ORDER; o <= sim->geo.pmd_order; o++) {
		char size[32];

		mthp_size_name(&sim->geo, o, size, sizeof(size));
		for (unsigned i = 0; i < MS_NR_ITEMS; i++)
			fprintf(f, "/sys/kernel/mm/transparent_hugepage/%s/stats/%s %llu\n",
				size, mthp_names[i],
				(unsigned long long)ld_relaxed(&sim->mthp_stat[o][i]));
	}
	fprintf(f, "/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed %llu\n",
		(unsigned long long)ld_relaxed(&sim->khugepaged.pages_collapsed));
	fprintf(f, "/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans %llu\n",
		(unsigned long long)ld_relaxed(&sim->khugepaged.full_scans));
	return ferror(f) ? -EIO : 0;
}
