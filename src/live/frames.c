// SPDX-License-Identifier: MIT
/*
 * frames.c - what a recorder keeps from one frame to the next, so that a
 * PMD range whose page-table entries did not change is not read again
 * from /proc/kpageflags and /proc/kpagecount, the bulk of a frame's cost
 * (mthp_live_snapshot_frame()).
 *
 * For each PMD range a frame read page by page it keeps the pagemap
 * entries, page flags and map counts.  The next frame reads the range's
 * entries again (PAGEMAP_SCAN's path) and, when they are the same to the
 * bit (the same page frames, present, swapped, exclusive, soft-dirty and
 * uffd-wp bits), takes the flags and counts kept instead of reading them,
 * unless the range held a page whose flags can change while its entry
 * does not: a page of a large folio (split in place), a locked page, or
 * one freed lazily (MADV_FREE, which a write undoes).  What the entries
 * cannot show, a page freed lazily by MADV_FREE since, is read at the
 * next full frame: every LIVE_FRAMES_FULL-th frame reads every range.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/live.h>

#include "common/array.h"
#include "live/live_internal.h"

/* One range as a frame read it. */
struct kept_range {
	uint64_t pmd_addr;
	uint32_t lo, hi;
	bool reusable;		/* no page whose flags change unseen (above) */
	size_t at;		/* its pm, kf and kc, n entries each, in data */
};

/* A frame's ranges; emptied between frames, their memory kept. */
struct kept {
	struct kept_range *v;
	size_t nr, cap;
	uint64_t *data;
	size_t nr_data, cap_data;
};

struct mthp_live_frames {
	uint32_t n;		/* PTEs a range; 0 until the first frame */
	struct kept before;	/* the last frame's ranges, by address */
	struct kept now;	/* this frame's, as it reads them */
	uint64_t frames;	/* frames begun and ended */
	uint64_t reused, read;	/* ranges, all frames */
};

int mthp_live_frames_new(struct mthp_live_frames **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void kept_free(struct kept *k)
{
	free(k->v);
	free(k->data);
	memset(k, 0, sizeof(*k));
}

static void kept_empty(struct kept *k)
{
	k->nr = 0;
	k->nr_data = 0;
}

void mthp_live_frames_free(struct mthp_live_frames *f)
{
	if (!f)
		return;
	kept_free(&f->before);
	kept_free(&f->now);
	free(f);
}

void mthp_live_frames_stats(const struct mthp_live_frames *f, uint64_t *reused,
			    uint64_t *read)
{
	*reused = f->reused;
	*read = f->read;
}

void live_frames_begin(struct mthp_live_frames *f, uint32_t n)
{
	if (f->n != n) {
		kept_empty(&f->before);
		f->n = n;
	}
	kept_empty(&f->now);
}

void live_frames_end(struct mthp_live_frames *f, bool done)
{
	if (done) {
		struct kept old = f->before;

		f->before = f->now;
		f->now = old;
		f->frames++;
	}
	kept_empty(&f->now);
}

/* Does a page with these flags keep them while its pagemap entry stays? */
static bool flags_stay(uint64_t flags)
{
	return !(flags & (KPF_BIT(KPF_THP) | KPF_BIT(KPF_COMPOUND_HEAD) |
			  KPF_BIT(KPF_COMPOUND_TAIL) | KPF_BIT(KPF_LOCKED))) &&
	       (flags & (KPF_BIT(KPF_SWAPBACKED) | KPF_BIT(KPF_DIRTY) | KPF_BIT(KPF_KSM)));
}

/* The last frame's range at (pmd_addr, lo), or NULL. */
static const struct kept_range *kept_find(const struct kept *k, uint64_t pmd_addr,
					  uint32_t lo)
{
	size_t a = 0, b = k->nr;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		const struct kept_range *m = &k->v[mid];

		if (m->pmd_addr < pmd_addr || (m->pmd_addr == pmd_addr && m->lo < lo))
			a = mid + 1;
		else
			b = mid;
	}
	return a < k->nr && k->v[a].pmd_addr == pmd_addr && k->v[a].lo == lo ? &k->v[a] :
	       NULL;
}

bool live_frames_reuse(struct mthp_live_frames *f, struct live_range *r)
{
	const struct kept_range *k;
	const uint64_t *pm;
	size_t len = (size_t)(r->hi - r->lo) * sizeof(uint64_t);

	if (f->frames % LIVE_FRAMES_FULL == 0)
		return false;
	k = kept_find(&f->before, r->pmd_addr, r->lo);
	if (!k || !k->reusable || k->hi != r->hi)
		return false;
	pm = f->before.data + k->at;
	if (memcmp(pm + r->lo, r->pm + r->lo, len))
		return false;
	memcpy(r->kflags + r->lo, pm + f->n + r->lo, len);
	memcpy(r->kcount + r->lo, pm + 2 * f->n + r->lo, len);
	f->reused++;
	return true;
}

int live_frames_keep(struct mthp_live_frames *f, const struct live_range *r, bool reused)
{
	struct kept *now = &f->now;
	struct kept_range *k;
	size_t n = f->n;
	uint64_t *pm;

	if (mthp_array_grow((void **)&now->v, &now->cap, now->nr, sizeof(*now->v)))
		return -ENOMEM;
	while (now->nr_data + 3 * n > now->cap_data)
		if (mthp_array_grow((void **)&now->data, &now->cap_data, now->cap_data,
				    sizeof(*now->data)))
			return -ENOMEM;
	k = &now->v[now->nr++];
	k->at = now->nr_data;
	now->nr_data += 3 * n;
	pm = now->data + k->at;
	k->pmd_addr = r->pmd_addr;
	k->lo = r->lo;
	k->hi = r->hi;
	memcpy(pm + r->lo, r->pm + r->lo, (r->hi - r->lo) * sizeof(uint64_t));
	memcpy(pm + n + r->lo, r->kflags + r->lo, (r->hi - r->lo) * sizeof(uint64_t));
	memcpy(pm + 2 * n + r->lo, r->kcount + r->lo, (r->hi - r->lo) * sizeof(uint64_t));
	k->reusable = true;
	for (uint32_t i = r->lo; i < r->hi && k->reusable; i++)
		if (r->pm[i] & PM_PRESENT)
			k->reusable = flags_stay(r->kflags[i]);
	f->read += !reused;
	return 0;
}
