// SPDX-License-Identifier: MIT
/*
 * capture.c - the walk of a live process that the snapshot and the audit
 * share: its anon VMAs from /proc/PID/(s)maps, their populated and
 * PMD-mapped regions from PAGEMAP_SCAN, then, in batches of PMD ranges
 * read PTE by PTE, their pagemap entries (adjacent ranges with one pread)
 * and the kpageflags of their present pages (sorted by pfn, nearby pfns
 * with one pread); either of the whole process or of an address window of
 * it.  Without PAGEMAP_SCAN (old kernels, or turned off) every PMD range
 * of a VMA is read with plain pagemap reads, one range at a time.  The maps
 * are read again at the end; if they changed, the walk is retried, so no
 * caller reports a half-old, half-new process.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live/live_internal.h"

#define CAPTURE_TRIES 3

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

/*
 * The region list of a VMA inside the window [lo, hi) of the capture;
 * without PAGEMAP_SCAN, all of it.
 */
static int vma_regions(struct live_capture *cap, const struct live_vma *vma)
{
	uint64_t start = vma->start > cap->lo ? vma->start : cap->lo;
	uint64_t end = vma->end < cap->hi ? vma->end : cap->hi;
	int ret = live_pagemap_regions(&cap->pm, start, end, &cap->regions,
				       &cap->nr_regions, &cap->cap_regions);

	if (ret != -EOPNOTSUPP)
		return ret;
	if (!cap->cap_regions) {
		cap->regions = malloc(sizeof(*cap->regions));
		if (!cap->regions)
			return -ENOMEM;
		cap->cap_regions = 1;
	}
	cap->regions[0] = (struct live_region){ start, end, LIVE_PAGE_IS_PRESENT };
	cap->nr_regions = 1;
	return 0;
}

/*
 * Without PAGEMAP_SCAN: a fully mapped, aligned PMD-order folio is taken
 * to be PMD-mapped (a PTE-mapped one cannot be told apart).
 */
static bool guess_huge(struct live_capture *cap, const struct live_range *r)
{
	uint32_t n = cap->geo.ptes_per_pmd;
	uint64_t pfn0 = r->pm[0] & PM_PFN_MASK;

	if (r->lo || r->hi != n || (pfn0 & (n - 1)))
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!(r->pm[i] & PM_PRESENT) || (r->pm[i] & PM_PFN_MASK) != pfn0 + i)
			return false;
	return live_folio_order(&cap->kp, pfn0, r->kflags[0],
				cap->geo.pmd_order) == cap->geo.pmd_order;
}

/*
 * The pagemap entries of a range read PTE by PTE, before the kpageflags
 * of its present ones (PM_PRESENT) are read: clears the kpageflags of its
 * n PTEs and sets r->empty (no entry present or swapped).  -EPERM when
 * the kernel hides the pfn of a present entry.
 */
static int range_entries(struct live_range *r, uint32_t n)
{
	memset(r->kflags, 0, sizeof(uint64_t) * n);
	r->empty = true;
	for (uint32_t i = r->lo; i < r->hi; i++) {
		uint64_t e = r->pm[i];

		if (!(e & (PM_PRESENT | PM_SWAP)))
			continue;
		r->empty = false;
		if ((e & PM_PRESENT) && !(e & PM_PFN_MASK))
			return -EPERM;
	}
	return 0;
}

static int read_table(struct live_capture *cap, struct live_range *r)
{
	uint64_t vfn0 = r->pmd_addr / cap->geo.page_size;
	int ret;

	memset(r->pm, 0, sizeof(uint64_t) * cap->geo.ptes_per_pmd);
	ret = live_pagemap_read(&cap->pm, vfn0 + r->lo, r->hi - r->lo, r->pm + r->lo);
	if (ret < 0)
		return ret;
	ret = range_entries(r, cap->geo.ptes_per_pmd);
	for (uint32_t i = r->lo; !ret && i < r->hi; i++)
		if (r->pm[i] & PM_PRESENT)
			r->kflags[i] = live_kpageflags(&cap->kp, r->pm[i] & PM_PFN_MASK);
	return ret;
}

/* Is [addr, end) covered by regions with all of cat, from index *ri on? */
static bool regions_cover(const struct live_capture *cap, size_t ri,
			  uint64_t addr, uint64_t end, uint64_t cat)
{
	for (; ri < cap->nr_regions && addr < end; ri++) {
		const struct live_region *g = &cap->regions[ri];

		if (g->start > addr || (g->categories & cat) != cat)
			return false;
		addr = g->end;
	}
	return addr >= end;
}

/*
 * The batch of the last capture of this thread, buffers and all, for the
 * next one: a whole-host audit would otherwise fault in fresh buffers for
 * every process.
 */
static _Thread_local struct live_batch *spare;

static void batch_free(struct live_batch *b)
{
	if (!b)
		return;
	live_readers_stop(&b->readers);
	if (!spare) {
		memset(&b->readers, 0, sizeof(b->readers));
		b->nr = b->tables = 0;
		spare = b;
		return;
	}
	free(b->pm);
	free(b->kf);
	free(b->pfns);
	free(b->tmp);
	free(b->runs);
	free(b->reads);
	free(b->vals);
	free(b);
}

/*
 * The buffers, whole at the first range: grown step by step they were
 * copied each time; malloc'd at one size, a whole-host audit gets the same
 * memory back from process to process, and only what a batch uses is
 * ever touched.
 */
static int batch_buffers(struct live_batch *b, size_t n)
{
	size_t slots = LIVE_BATCH_TABLES * n;

	if (b->reads)
		return 0;
	b->pm = malloc(slots * sizeof(*b->pm));
	b->kf = malloc(slots * sizeof(*b->kf));
	b->pfns = malloc(slots * sizeof(*b->pfns));
	b->tmp = malloc(slots * sizeof(*b->tmp));
	b->runs = malloc(slots * sizeof(*b->runs));
	b->reads = malloc((slots + LIVE_BATCH_RANGES) * sizeof(*b->reads));
	if (!b->pm || !b->kf || !b->pfns || !b->tmp || !b->runs ||
	    !b->reads) {
		free(b->reads);
		b->reads = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int batch_alloc(struct live_batch **out)
{
	if (spare) {
		*out = spare;
		spare = NULL;
		return 0;
	}
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

/*
 * The kpageflags of the pfn runs pfns[0..nr) of the batch, stored at
 * out[slot]: sorted by pfn, runs at most LIVE_KPAGE_GAP pfns apart read
 * with one pread, a run read alone straight into its slots.
 */
static int batch_kpage(struct live_capture *cap, size_t nr, uint64_t *out)
{
	struct live_batch *b = cap->batch;
	struct live_pfn_slot *a = live_sort_pfns(b->pfns, b->tmp, nr);
	int fd = cap->kp.flags.fd;
	size_t nr_runs = 0, vals = 0;
	int ret;

	for (size_t k = 0; k < nr;) {
		struct live_pfn_run *run = &b->runs[nr_runs++];
		uint64_t end = a[k].pfn + a[k].nr;	/* past the last pfn */

		run->first = a[k].pfn;
		run->kbeg = k++;
		while (k < nr && a[k].pfn <= end + LIVE_KPAGE_GAP &&
		       a[k].pfn + a[k].nr - run->first <= LIVE_KPAGE_RUN) {
			if (a[k].pfn + a[k].nr > end)
				end = a[k].pfn + a[k].nr;
			k++;
		}
		run->kend = k;
		run->base = vals;
		run->nr = end - run->first;
		if (k - run->kbeg > 1)
			vals += (size_t)run->nr;
	}
	if (vals > b->cap_vals) {	/* nothing to keep: not realloc() */
		size_t want = b->cap_vals * 2 > vals ? b->cap_vals * 2 : vals;

		free(b->vals);
		b->cap_vals = 0;
		b->vals = malloc(want * sizeof(*b->vals));
		if (!b->vals)
			return -ENOMEM;
		b->cap_vals = want;
	}
	for (size_t i = 0; i < nr_runs; i++) {
		const struct live_pfn_run *run = &b->runs[i];
		bool alone = run->kend - run->kbeg == 1;

		b->reads[i] = (struct live_pread){
			.fd = fd,
			.off = run->first * sizeof(uint64_t),
			.len = (size_t)run->nr * sizeof(uint64_t),
			.dst = alone ? out + a[run->kbeg].slot : b->vals + run->base,
		};
	}
	ret = live_preads(&b->readers, b->reads, nr_runs);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < nr_runs; i++) {
		const struct live_pfn_run *run = &b->runs[i];

		if (run->kend - run->kbeg == 1)
			continue;
		for (size_t k = run->kbeg; k < run->kend; k++)
			memcpy(out + a[k].slot, b->vals + run->base + (a[k].pfn - run->first),
			       a[k].nr * sizeof(*out));
	}
	return 0;
}

/*
 * Add the present pages of r to the pfn runs of the batch, b->pfns[0..nr):
 * a page whose pfn and slot both follow the last run's lengthens it (up
 * to LIVE_KPAGE_RUN pages).  Returns the new number of runs.
 */
static size_t pfn_runs(struct live_batch *b, const struct live_range *r, size_t nr)
{
	uint32_t slot0 = (uint32_t)(r->kflags - b->kf);

	for (uint32_t i = r->lo; i < r->hi; i++) {
		uint64_t pfn = r->pm[i] & PM_PFN_MASK;
		struct live_pfn_slot *last = nr ? &b->pfns[nr - 1] : NULL;

		if (!(r->pm[i] & PM_PRESENT))
			continue;
		if (last && last->pfn + last->nr == pfn && last->slot + last->nr == slot0 + i &&
		    last->nr < LIVE_KPAGE_RUN)
			last->nr++;
		else
			b->pfns[nr++] = (struct live_pfn_slot){ pfn, slot0 + i, 1 };
	}
	return nr;
}

/*
 * The PAGEMAP_SCAN path reads the PMD ranges of a VMA in batches: the
 * entries of adjacent ranges with one pread (and the one entry of each
 * PMD-mapped range), then the kpageflags of all their present pages sorted
 * by pfn, a run of nearby pfns with one pread, and only then hands the
 * ranges to fn, in address order.  The preads of each step are shared
 * with a helper thread when there are many (live_preads()).
 */
static int batch_flush(struct live_capture *cap, const struct live_vma *vma,
		       live_range_fn fn, void *ctx)
{
	struct live_batch *b = cap->batch;
	uint32_t n = cap->geo.ptes_per_pmd;
	uint64_t pmd_size = mthp_pmd_size(&cap->geo);
	uint64_t page = cap->geo.page_size;
	size_t nr_pfns = 0, nr_reads = 0, j = 0;
	int ret;

	for (size_t k = 0; k < b->nr; k++) {
		if (b->r[k].huge)
			continue;
		b->r[k].pm = b->pm + j * n;
		b->r[k].kflags = b->kf + j * n;
		j++;
	}
	for (size_t k = 0, e; k < b->nr; k = e) {
		struct live_range *first = &b->r[k], *last;

		e = k + 1;
		if (first->huge) {
			b->reads[nr_reads++] = (struct live_pread){
				.fd = cap->pm.fd, .pagemap = true,
				.off = first->pmd_addr / page * sizeof(uint64_t),
				.len = sizeof(uint64_t), .dst = &b->huge_e[k] };
			continue;
		}
		while (e < b->nr && e - k < LIVE_BATCH_READ && !b->r[e].huge &&
		       b->r[e - 1].hi == n &&
		       b->r[e].lo == 0 &&
		       b->r[e].pmd_addr == b->r[e - 1].pmd_addr + pmd_size)
			e++;
		last = &b->r[e - 1];
		memset(first->pm, 0, sizeof(uint64_t) * first->lo);
		memset(last->pm + last->hi, 0, sizeof(uint64_t) * (n - last->hi));
		b->reads[nr_reads++] = (struct live_pread){
			.fd = cap->pm.fd, .pagemap = true,
			.off = (first->pmd_addr / page + first->lo) * sizeof(uint64_t),
			.len = (size_t)(last->pm + last->hi - (first->pm + first->lo)) *
			       sizeof(uint64_t),
			.dst = first->pm + first->lo };
	}
	ret = live_preads(&b->readers, b->reads, nr_reads);
	if (ret < 0)
		return ret;
	for (size_t k = 0; k < b->nr; k++) {
		struct live_range *r = &b->r[k];

		if (r->huge) {
			r->huge_shared = !(b->huge_e[k] & PM_MMAP_EXCLUSIVE);
			r->huge_dirty = b->huge_e[k] & PM_SOFT_DIRTY;
			continue;
		}
		ret = range_entries(r, n);
		if (ret < 0)
			return ret;
		r->reused = cap->frames && !r->empty && live_frames_reuse(cap->frames, r);
		if (r->reused)
			continue;
		nr_pfns = pfn_runs(b, r, nr_pfns);
	}
	ret = batch_kpage(cap, nr_pfns, b->kf);
	if (ret < 0)
		return ret;
	for (size_t k = 0; k < b->nr; k++) {
		struct live_range *r = &b->r[k];

		if (!r->huge && r->empty)
			continue;
		if (cap->frames && !r->huge) {
			ret = live_frames_keep(cap->frames, r, r->reused);
			if (ret < 0)
				return ret;
		}
		ret = fn(ctx, cap, vma, r);
		if (ret < 0)
			return ret;
	}
	b->nr = b->tables = 0;
	return 0;
}

/* Add a range to the batch (flushing it first when full). */
static int batch_add(struct live_capture *cap, const struct live_vma *vma,
		     live_range_fn fn, void *ctx, struct live_range *r)
{
	struct live_batch *b = cap->batch;
	size_t n = cap->geo.ptes_per_pmd;
	int ret;

	if (b->nr == LIVE_BATCH_RANGES ||
	    (!r->huge && b->tables == LIVE_BATCH_TABLES)) {
		ret = batch_flush(cap, vma, fn, ctx);
		if (ret < 0)
			return ret;
	}
	ret = batch_buffers(b, n);
	if (ret < 0)
		return ret;
	b->tables += !r->huge;
	b->r[b->nr++] = *r;
	return 0;
}

/*
 * Does the VMA of the regions just found map a page or a swap entry, as
 * smaps's sizes would show (the zero page counts as nothing)?
 */
static bool regions_used(const struct live_capture *cap)
{
	for (size_t ri = 0; ri < cap->nr_regions; ri++) {
		uint64_t c = cap->regions[ri].categories;

		if ((c & LIVE_PAGE_IS_SWAPPED) ||
		    ((c & LIVE_PAGE_IS_PRESENT) && !(c & LIVE_PAGE_IS_PFNZERO)))
			return true;
	}
	return false;
}

static int capture_vma(struct live_capture *cap, struct live_vma *vma,
		       live_range_fn fn, void *ctx)
{
	uint64_t pmd_size = mthp_pmd_size(&cap->geo);
	uint64_t page = cap->geo.page_size;
	uint64_t next = 0;	/* first PMD range not yet visited */
	int ret;

	ret = vma_regions(cap, vma);
	if (ret < 0)
		return ret;
	if (cap->vmas_kept) {
		if (!cap->pm.scan_ok)
			return -EAGAIN;	/* no PAGEMAP_SCAN after all: read smaps */
		/* finish_vma()'s rule, from the regions */
		if (vma->anon && !regions_used(cap))
			vma->flags |= MTHP_VMA_NOANONVMA;
	}
	ret = fn(ctx, cap, vma, NULL);
	if (ret < 0)
		return ret;
	for (size_t ri = 0; ri < cap->nr_regions; ri++) {
		const struct live_region *g = &cap->regions[ri];
		uint64_t addr = align_down(g->start, pmd_size);

		if (addr < next)
			addr = next;
		for (; addr < g->end; addr += pmd_size) {
			uint64_t lo = addr > vma->start ? addr : vma->start;
			uint64_t hi = addr + pmd_size < vma->end ? addr + pmd_size : vma->end;
			struct live_range r = {
				.pmd_addr = addr,
				.lo = (uint32_t)((lo - addr) / page),
				.hi = (uint32_t)((hi - addr) / page),
				.pm = cap->pm_buf,
				.kflags = cap->kf_buf,
			};

			if (!cap->pm.scan_ok) {
				/* Plain pagemap reads, one PMD range at a time. */
				ret = read_table(cap, &r);
				if (ret < 0)
					return ret;
				if (r.empty)
					continue;
				r.huge = guess_huge(cap, &r);
				if (r.huge) {
					r.huge_zero = r.kflags[0] & KPF_BIT(KPF_ZERO_PAGE);
					r.huge_shared = !(r.pm[0] & PM_MMAP_EXCLUSIVE);
					r.huge_dirty = r.pm[0] & PM_SOFT_DIRTY;
				}
				ret = fn(ctx, cap, vma, &r);
				if (ret < 0)
					return ret;
				continue;
			}
			if (lo == addr && hi == addr + pmd_size &&
			    regions_cover(cap, ri, addr, hi, LIVE_PAGE_IS_HUGE)) {
				r.huge = true;
				r.huge_zero = regions_cover(cap, ri, addr, hi,
							    LIVE_PAGE_IS_PFNZERO);
			}
			ret = batch_add(cap, vma, fn, ctx, &r);
			if (ret < 0)
				return ret;
		}
		next = addr;
	}
	if (cap->pm.scan_ok) {
		ret = batch_flush(cap, vma, fn, ctx);
		if (ret < 0)
			return ret;
	}
	return fn(ctx, cap, NULL, NULL);	/* end of the VMA */
}

/*
 * /proc/PID/maps is read in several chunks; a process that maps or unmaps
 * between two of them gives lines that overlap or go backwards.
 */
static bool maps_torn(const struct live_maps *maps)
{
	for (size_t i = 0; i < maps->nr; i++) {
		if (maps->vmas[i].start >= maps->vmas[i].end)
			return true;
		if (i && maps->vmas[i].start < maps->vmas[i - 1].end)
			return true;
	}
	return false;
}

/*
 * Anon VMAs; with cap->files also the file-backed ones that can hold pages
 * (some permission, as thpmaps reads them), but not [vsyscall], which is
 * outside the address space pagemap reads.
 */
static bool capture_wanted(const struct live_capture *cap, const struct live_vma *v)
{
	if (v->anon)
		return true;
	return cap->files && strcmp(v->perms, "---p") && strcmp(v->perms, "---s") &&
	       strcmp(v->name, "[vsyscall]");
}

/*
 * The maps of this capture.  A recorder's frame between two full ones
 * reads /proc/PID/maps, not smaps, whose walk of every page costs as much
 * as the pagemap reads of the frame: each anon VMA takes the flags of the
 * last smaps read if its maps line is the same, and smaps is read when one
 * is new.  So a flag changed over a whole VMA (madvise(MADV_HUGEPAGE) of
 * all of it, say) shows at the next full frame.
 */
static int capture_maps(struct live_capture *cap, struct mthp_diag *diag)
{
	int ret;

	cap->vmas_kept = false;
	if (cap->frames && cap->smaps && cap->pm.scan_ok && !live_frames_full(cap->frames)) {
		ret = live_maps_read(cap->pid, false, &cap->maps, diag);
		if (ret < 0)
			return ret;
		cap->vmas_kept = live_frames_vmas(cap->frames, &cap->maps);
		if (cap->vmas_kept)
			return 0;
		live_maps_free(&cap->maps);
	}
	ret = live_maps_read(cap->pid, cap->smaps, &cap->maps, diag);
	if (ret < 0 || !cap->frames || !cap->smaps)
		return ret;
	ret = live_frames_keep_vmas(cap->frames, &cap->maps);
	if (ret < 0)
		live_maps_free(&cap->maps);
	return ret;
}

unsigned live_capture_changes;

/* Take one of a test's changes (live_capture_changes), if one is left. */
static bool test_change(void)
{
	unsigned n = __atomic_load_n(&live_capture_changes, __ATOMIC_RELAXED);

	while (n && !__atomic_compare_exchange_n(&live_capture_changes, &n, n - 1, false,
						 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return n != 0;
}

static int capture_once(struct live_capture *cap, live_range_fn fn, void *ctx,
			struct mthp_diag *diag)
{
	struct live_maps after;
	int ret, err;

	if (cap->frames)
		live_frames_begin(cap->frames, cap->geo.ptes_per_pmd);
	ret = capture_maps(cap, diag);
	if (ret < 0)
		return ret;
	cap->started = true;
	if (maps_torn(&cap->maps)) {
		ret = -EAGAIN;	/* changed while read: try again */
		goto out;
	}
	for (size_t i = 0; i < cap->maps.nr; i++) {
		const struct live_vma *v = &cap->maps.vmas[i];

		if (!capture_wanted(cap, v) || v->end <= cap->lo || v->start >= cap->hi)
			continue;
		ret = capture_vma(cap, &cap->maps.vmas[i], fn, ctx);
		if (ret < 0)
			break;
	}
	/* -EINVAL: what was read did not fit together; a change explains it */
	if (ret < 0 && ret != -EINVAL)
		goto out;
	err = live_maps_read(cap->pid, false, &after, diag);
	if (err < 0) {
		ret = err;	/* gone while read, most likely */
		goto out;
	}
	if (after.hash != cap->maps.hash &&
	    (ret == -EINVAL || maps_torn(&after) || !live_maps_grew_only(&cap->maps, &after)))
		ret = -EAGAIN;
	if (ret >= 0 && test_change())
		ret = -EAGAIN;
	live_maps_free(&after);
out:
	live_maps_free(&cap->maps);
	return ret;
}

static int capture_window(pid_t pid, bool smaps, bool files, uint64_t lo, uint64_t hi,
			  struct mthp_live_frames *frames, live_range_fn fn,
			  int (*reset)(void *ctx), void *ctx, struct mthp_diag *diag)
{
	struct live_capture cap = { .pid = pid, .smaps = smaps, .files = files,
				    .frames = frames };
	uint64_t pmd_size;
	int ret, tries = 0;

	ret = mthp_live_geometry(&cap.geo, diag);
	if (ret < 0)
		return ret;
	/* Whole PMD ranges only: the window is widened to PMD bounds. */
	pmd_size = mthp_pmd_size(&cap.geo);
	cap.lo = align_down(lo, pmd_size);
	cap.hi = hi > UINT64_MAX - pmd_size ? UINT64_MAX :
		 align_down(hi + pmd_size - 1, pmd_size);
	cap.pm_buf = calloc(cap.geo.ptes_per_pmd, sizeof(uint64_t));
	cap.kf_buf = calloc(cap.geo.ptes_per_pmd, sizeof(uint64_t));
	ret = batch_alloc(&cap.batch);
	if (!cap.pm_buf || !cap.kf_buf || ret < 0) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = live_kpage_open(&cap.kp, diag);
	if (ret < 0)
		goto out_free;
	ret = live_pagemap_open(&cap.pm, pid, cap.geo.page_size, diag);
	if (ret < 0)
		goto out_kpage;
	do {
		if (tries && reset) {
			ret = reset(ctx);
			if (ret < 0)
				break;
		}
		ret = capture_once(&cap, fn, ctx, diag);
	} while (ret == -EAGAIN && ++tries < CAPTURE_TRIES);

	switch (ret) {
	case -EAGAIN:
		live_diag(diag, "pid %d: its mappings kept changing while being read (%d tries)",
			  (int)pid, CAPTURE_TRIES);
		break;
	case -ESRCH:
		if (!cap.started)
			break;	/* maps.c said "no such process" */
		live_diag(diag, "pid %d: the process exited while being read", (int)pid);
		break;
	case -EPERM:
		live_diag(diag, "pid %d: page frame numbers are hidden in pagemap: %s",
			  (int)pid, live_denied_hint(LIVE_DENIED_PFN, geteuid()));
		break;
	}
	if (frames)
		live_frames_end(frames, ret >= 0);
	live_pagemap_close(&cap.pm);
out_kpage:
	live_kpage_close(&cap.kp);
out_free:
	batch_free(cap.batch);
	free(cap.regions);
	free(cap.pm_buf);
	free(cap.kf_buf);
	return ret;
}

int live_capture(pid_t pid, bool smaps, live_range_fn fn,
		 int (*reset)(void *ctx), void *ctx, struct mthp_diag *diag)
{
	return capture_window(pid, smaps, false, 0, UINT64_MAX, NULL, fn, reset, ctx, diag);
}

int live_capture_files(pid_t pid, live_range_fn fn, int (*reset)(void *ctx),
		       void *ctx, struct mthp_diag *diag)
{
	return capture_window(pid, false, true, 0, UINT64_MAX, NULL, fn, reset, ctx, diag);
}

int live_capture_range(pid_t pid, bool smaps, uint64_t lo, uint64_t hi,
		       live_range_fn fn, int (*reset)(void *ctx), void *ctx,
		       struct mthp_diag *diag)
{
	return capture_window(pid, smaps, false, lo, hi, NULL, fn, reset, ctx, diag);
}

int live_capture_frame(pid_t pid, struct mthp_live_frames *frames, live_range_fn fn,
		       int (*reset)(void *ctx), void *ctx, struct mthp_diag *diag)
{
	return capture_window(pid, true, false, 0, UINT64_MAX, frames, fn, reset, ctx, diag);
}
