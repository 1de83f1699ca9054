// SPDX-License-Identifier: MIT
/*
 * madvise_collapse.c - MADV_COLLAPSE: a synchronous PMD-order collapse of
 * every PMD range in [addr, addr + len) through the same collapse path
 * as khugepaged (collapse.c) in context madvise (no max_ptes_* limits, no
 * referenced rule, sysfs ignored).  As in the kernel, madvise walks the
 * VMAs of the range and hands each its part (madvise_collapse() per VMA,
 * clamped inward to whole PMD ranges); a hole is -ENOMEM.  Within a VMA,
 * already PMD-mapped ranges count as done; a range failing with a
 * transient or page-state result lets the call go on to the next range,
 * any other failure stops it; the last failure picks the errno as the
 * kernel's madvise_collapse_errno() does (both from the result table,
 * mthp_result_class()).
 * Context: called with no lock held; holds mmap_lock for read across the
 * walk, except while a collapse runs (collapse.c takes its own locks).
 */
#include <errno.h>

#include "sim/check.h"
#include "sim/collapse.h"
#include "sim/locks.h"
#include "sim/vma.h"
#include "sim/world.h"

/*
 * madvise_collapse() of one VMA: [start, end) is the part of the call's
 * range inside v, clamped inward to whole PMD ranges; 0 when every one of
 * them is PMD-mapped afterwards (those of it the VMA still covers, when
 * it shrank meanwhile), else the errno of the last failure.  An
 * ineligible VMA is -EINVAL, and so is a part whose clamped bounds cross
 * (a sub-PMD part within one PMD range has none: 0).
 * Context: world lock (debug builds) and mmap_lock held for read on entry
 * and on return; both are dropped and retaken when a collapse runs, so v
 * is not to be used by the caller afterwards.
 */
static int madvise_collapse_vma(struct sim_mm *mm, const struct sim_vma *v,
				uint64_t start, uint64_t end,
				struct collapse_control *cc, bool *mmap_locked)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo);
	uint64_t hstart = (start + pmd_size - 1) & ~(pmd_size - 1);
	uint64_t hend = end & ~(pmd_size - 1), thps = 0;
	enum mthp_result last_fail = SCAN_FAIL;
	struct mthp_rules rules;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_READ);
	collapse_rules(cc, v, &rules);
	if (!rules.eligible)
		return -EINVAL;
	if (hstart > hend)
		return mthp_result_class(SCAN_FAIL)->madvise_errno;
	/* Linux's madvise_collapse(), called once per VMA, drains first */
	collapse_lru_drain(cc);
	for (uint64_t pmd_addr = hstart; pmd_addr < hend; pmd_addr += pmd_size) {
		enum mthp_result result;
		enum mthp_madvise_range next;

		if (!*mmap_locked) {
			world_enter(sim);
			mmap_read_lock(mm);
			*mmap_locked = true;
			result = collapse_revalidate(mm, cc, pmd_addr, &rules, &v);
			if (result != SCAN_SUCCEED) {
				last_fail = result;
				break;
			}
			if (hend > (v->end & ~(pmd_size - 1)))
				hend = v->end & ~(pmd_size - 1);
		}
		result = collapse_scan_pmd(mm, v, pmd_addr, mmap_locked, cc);
		next = mthp_result_class(result)->madvise_range;
		if (next == MTHP_MADVISE_DONE) {
			thps++;
			continue;
		}
		last_fail = result;
		if (next == MTHP_MADVISE_STOP)
			break;
	}
	/* the caller expects mmap_lock held on return */
	if (!*mmap_locked) {
		world_enter(sim);
		mmap_read_lock(mm);
		*mmap_locked = true;
	}
	/*
	 * As the kernel: the ranges wanted are counted from hend as it is now,
	 * clamped to a VMA that shrank during the call (wrapping, as unsigned
	 * long does, if it shrank below hstart).
	 */
	return thps == (hend - hstart) / pmd_size ? 0 :
	       mthp_result_class(last_fail)->madvise_errno;
}

/*
 * madvise(MADV_COLLAPSE) as madvise_walk_vmas() runs it: each VMA the
 * range overlaps handled on its own; the first VMA that fails ends the
 * call with its errno; a hole before or between VMAs is remembered as
 * -ENOMEM, returned when nothing else failed; a hole at the end is
 * -ENOMEM at once (after the VMAs before it were done).
 */
int sim_madvise_collapse(struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	struct sim *sim = mm->sim;
	uint64_t end = addr + len, start = addr;
	struct collapse_control *cc;
	bool mmap_locked = false;
	int unmapped_error = 0;
	int err = 0;

	if ((addr & (sim->geo.page_size - 1)) || !len || end < addr)
		return -EINVAL;
	end = (end + sim->geo.page_size - 1) & ~(uint64_t)(sim->geo.page_size - 1);
	cc = collapse_control_alloc(sim, MTHP_POLICY_LEGACY, MTHP_CONTEXT_MADVISE);
	if (!cc)
		return -ENOMEM;

	world_enter(sim);
	mmap_read_lock(mm);
	mmap_locked = true;
	for (;;) {
		size_t i = vma_index_after(mm, start);
		const struct sim_vma *v;
		uint64_t part_end;

		if (i >= mm->nr_vmas) {
			err = -ENOMEM;	/* nothing mapped at or after start */
			break;
		}
		v = &mm->vmas[i];
		if (start < v->start) {
			unmapped_error = -ENOMEM;
			start = v->start;
			if (start >= end)
				break;
		}
		part_end = v->end < end ? v->end : end;
		err = madvise_collapse_vma(mm, v, start, part_end, cc, &mmap_locked);
		if (err)
			break;
		start = part_end;
		if (start >= end)
			break;
	}
	collapse_lru_drain(cc);
	mmap_unlock(mm);
	mmap_locked = false;
	world_exit(sim);
	collapse_control_free(cc);
	sim_debug_check(sim);
	return err ? err : unmapped_error;
}
