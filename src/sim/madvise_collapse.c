// SPDX-License-Identifier: MIT
/*
 * madvise_collapse.c - MADV_COLLAPSE: a synchronous PMD-order collapse of
 * every PMD range in [addr, addr + len) through the same collapse path
 * as khugepaged (collapse.c) in context madvise (no max_ptes_* limits, no
 * referenced rule, sysfs ignored).  Already PMD-mapped ranges count as
 * done; a range failing with a transient or page-state result lets the
 * call go on to the next range, any other failure stops it; the last
 * failure picks the errno as the kernel's madvise_collapse_errno() does.
 */
#include <errno.h>

#include "sim/sim_internal.h"

/* The errno of MADV_COLLAPSE's last failure. */
static int madvise_collapse_errno(enum mthp_result r)
{
	switch (r) {
	case SCAN_ALLOC_HUGE_PAGE_FAIL:
		return -ENOMEM;
	case SCAN_CGROUP_CHARGE_FAIL:
	case SCAN_EXCEED_NONE_PTE:
		return -EBUSY;
	case SCAN_PAGE_COUNT:
	case SCAN_PAGE_LOCK:
	case SCAN_PAGE_LRU:
	case SCAN_DEL_PAGE_LRU:
	case SCAN_PAGE_FILLED:
		return -EAGAIN;
	case SCAN_FAIL:
	case SCAN_SUCCEED:
	case SCAN_NO_PTE_TABLE:
	case SCAN_PMD_MAPPED:
	case SCAN_EXCEED_SWAP_PTE:
	case SCAN_EXCEED_SHARED_PTE:
	case SCAN_PTE_NON_PRESENT:
	case SCAN_PTE_UFFD_WP:
	case SCAN_PTE_MAPPED_HUGEPAGE:
	case SCAN_LACK_REFERENCED_PAGE:
	case SCAN_PAGE_NULL:
	case SCAN_SCAN_ABORT:
	case SCAN_PAGE_ANON:
	case SCAN_PAGE_LAZYFREE:
	case SCAN_PAGE_COMPOUND:
	case SCAN_ANY_PROCESS:
	case SCAN_VMA_NULL:
	case SCAN_VMA_CHECK:
	case SCAN_ADDRESS_RANGE:
	case SCAN_TRUNCATED:
	case SCAN_PAGE_HAS_PRIVATE:
	case SCAN_STORE_FAILED:
	case SCAN_COPY_MC:
	case SCAN_PAGE_DIRTY_OR_WRITEBACK:
		return -EINVAL;
	}
	return -EINVAL;
}

/* What madvise_collapse does after a range: count it, go on, or stop. */
enum range_outcome { RANGE_DONE, RANGE_CONTINUE, RANGE_STOP };

static enum range_outcome range_outcome(enum mthp_result r)
{
	switch (r) {
	case SCAN_SUCCEED:
	case SCAN_PMD_MAPPED:
		return RANGE_DONE;
	case SCAN_NO_PTE_TABLE:
	case SCAN_PTE_NON_PRESENT:
	case SCAN_PTE_UFFD_WP:
	case SCAN_LACK_REFERENCED_PAGE:
	case SCAN_PAGE_NULL:
	case SCAN_PAGE_COUNT:
	case SCAN_PAGE_LOCK:
	case SCAN_PAGE_COMPOUND:
	case SCAN_PAGE_LRU:
	case SCAN_DEL_PAGE_LRU:
		return RANGE_CONTINUE;
	case SCAN_FAIL:
	case SCAN_EXCEED_NONE_PTE:
	case SCAN_EXCEED_SWAP_PTE:
	case SCAN_EXCEED_SHARED_PTE:
	case SCAN_PTE_MAPPED_HUGEPAGE:
	case SCAN_SCAN_ABORT:
	case SCAN_PAGE_ANON:
	case SCAN_PAGE_LAZYFREE:
	case SCAN_ANY_PROCESS:
	case SCAN_VMA_NULL:
	case SCAN_VMA_CHECK:
	case SCAN_ADDRESS_RANGE:
	case SCAN_ALLOC_HUGE_PAGE_FAIL:
	case SCAN_CGROUP_CHARGE_FAIL:
	case SCAN_TRUNCATED:
	case SCAN_PAGE_HAS_PRIVATE:
	case SCAN_STORE_FAILED:
	case SCAN_COPY_MC:
	case SCAN_PAGE_FILLED:
	case SCAN_PAGE_DIRTY_OR_WRITEBACK:
		return RANGE_STOP;
	}
	return RANGE_STOP;
}

/* Context: mmap_lock held.  Does every VMA in [start, end) allow it? */
static bool range_collapsible(struct sim_mm *mm, struct collapse_control *cc,
			      uint64_t start, uint64_t end)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	for (size_t i = vma_index_after(mm, start);
	     i < mm->nr_vmas && mm->vmas[i].start < end; i++) {
		struct mthp_rules rules;

		collapse_rules(cc, &mm->vmas[i], &rules);
		if (!rules.eligible)
			return false;
	}
	return true;
}

int sim_madvise_collapse(struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo);
	uint64_t end = addr + len, hstart, hend, nr_ranges = 0, thps = 0;
	enum mthp_result last_fail = SCAN_SUCCEED;
	struct collapse_control *cc;
	bool mmap_locked = false;
	bool hole;
	int err = 0;

	if ((addr & (sim->geo.page_size - 1)) || !len || end < addr)
		return -EINVAL;
	end = (end + sim->geo.page_size - 1) & ~(uint64_t)(sim->geo.page_size - 1);
	hstart = (addr + pmd_size - 1) & ~(pmd_size - 1);
	hend = end & ~(pmd_size - 1);
	cc = collapse_control_alloc(sim, MTHP_POLICY_LEGACY, MTHP_CONTEXT_MADVISE);
	if (!cc)
		return -ENOMEM;

	world_enter(sim);
	mmap_read_lock(mm);
	mmap_locked = true;
	hole = !range_mapped(mm, addr, end);
	if (!range_collapsible(mm, cc, addr, end) || hstart > hend) {
		err = -EINVAL;
		goto out;
	}
	for (uint64_t pmd_addr = hstart; pmd_addr < hend; pmd_addr += pmd_size) {
		const struct sim_vma *v;
		enum mthp_result result;
		enum range_outcome outcome;

		if (!mmap_locked) {
			world_enter(sim);
			mmap_read_lock(mm);
			mmap_locked = true;
		}
		v = vma_find(mm, pmd_addr);
		if (!v)
			continue;	/* a hole: madvise's -ENOMEM at the end */
		nr_ranges++;
		result = collapse_scan_pmd(mm, v, pmd_addr, &mmap_locked, cc);
		outcome = range_outcome(result);
		if (outcome == RANGE_DONE) {
			thps++;
			continue;
		}
		last_fail = result;
		if (outcome == RANGE_STOP)
			break;
	}
out:
	if (mmap_locked) {
		mmap_unlock(mm);
		mmap_locked = false;
		world_exit(sim);
	}
	collapse_control_free(cc);
	sim_debug_check(sim);
	if (err)
		return err;
	if (thps == nr_ranges)
		return hole ? -ENOMEM : 0;
	return madvise_collapse_errno(last_fail);
}
