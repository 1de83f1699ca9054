// SPDX-License-Identifier: MIT
/*
 * frames.c - what a recorder keeps from one frame to the next, so that a
 * PMD range whose page-table entries did not change is not read again
 * from /proc/kpageflags, the bulk of a frame's cost
 * (mthp_live_snapshot_frame()).
 *
 * For each PMD range a frame read page by page it keeps the pagemap
 * entries and page flags.  The next frame reads the range's
 * entries again (PAGEMAP_SCAN's path) and, when they are the same to the
 * bit (the same page frames, present, swapped, exclusive, soft-dirty and
 * uffd-wp bits), takes the flags kept instead of reading them,
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

/*
 * What is kept of one range: its pagemap entries and page flags (n each),
 * and the PTE states and orders the snapshot made of them.  It moves from frame to frame with its range; nothing is copied
 * for a range whose entries did not change.
 */
struct kept_block {
	struct live_states states;
	uint64_t data[];	/* pm, kflags; then the states' bytes */
};

/* One range as a frame read it. */
struct kept_range {
	uint64_t pmd_addr;
	uint32_t lo, hi;
	bool reusable;		/* no page whose flags change unseen (above) */
	struct kept_block *b;	/* NULL once taken by the next frame */
};

/* A VMA's flags as smaps showed them, by its maps line. */
struct kept_vma {
	uint64_t start, line;
	uint32_t flags;
};

/* A frame's ranges, in address order. */
struct kept {
	struct kept_range *v;
	size_t nr, cap;
};

struct mthp_live_frames {
	uint32_t n;		/* PTEs a range; 0 until the first frame */
	struct kept before;	/* the last frame's ranges, by address */
	struct kept now;	/* this frame's, as it reads them */
	uint64_t frames;	/* frames begun and ended */
	uint64_t reused, read;	/* ranges, all frames */
	struct kept_vma *vmas;	/* the anon VMAs of the last smaps read */
	size_t nr_vmas, cap_vmas;
};

int mthp_live_frames_new(struct mthp_live_frames **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

/* Free the blocks of k's ranges; keep its array. */
static void kept_empty(struct kept *k)
{
	for (size_t i = 0; i < k->nr; i++)
		free(k->v[i].b);
	k->nr = 0;
}

static void kept_free(struct kept *k)
{
	kept_empty(k);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

void mthp_live_frames_free(struct mthp_live_frames *f)
{
	if (!f)
		return;
	kept_free(&f->before);
	kept_free(&f->now);
	free(f->vmas);
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

bool live_frames_full(const struct mthp_live_frames *f)
{
	return f->frames % LIVE_FRAMES_FULL == 0;
}

int live_frames_keep_vmas(struct mthp_live_frames *f, const struct live_maps *m)
{
	f->nr_vmas = 0;
	for (size_t i = 0; i < m->nr; i++) {
		const struct live_vma *v = &m->vmas[i];

		if (!v->anon)
			continue;
		if (mthp_array_grow((void **)&f->vmas, &f->cap_vmas, f->nr_vmas,
				    sizeof(*f->vmas))) {
			f->nr_vmas = 0;
			return -ENOMEM;
		}
		f->vmas[f->nr_vmas++] = (struct kept_vma){
			v->start, v->line, v->flags & ~(uint32_t)MTHP_VMA_NOANONVMA };
	}
	return 0;
}

bool live_frames_vmas(const struct mthp_live_frames *f, struct live_maps *m)
{
	size_t k = 0;

	/* both lists are in address order */
	for (size_t i = 0; i < m->nr; i++) {
		struct live_vma *v = &m->vmas[i];

		if (!v->anon)
			continue;
		while (k < f->nr_vmas && f->vmas[k].start < v->start)
			k++;
		if (k == f->nr_vmas || f->vmas[k].start != v->start ||
		    f->vmas[k].line != v->line)
			return false;
		v->flags = f->vmas[k].flags;
	}
	return true;
}

/* The last frame's range at (pmd_addr, lo), or NULL. */
static struct kept_range *kept_find(struct kept *k, uint64_t pmd_addr, uint32_t lo)
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

	if (live_frames_full(f))
		return false;
	k = kept_find(&f->before, r->pmd_addr, r->lo);
	if (!k || !k->b || !k->reusable || k->hi != r->hi)
		return false;
	pm = k->b->data;
	if (memcmp(pm + r->lo, r->pm + r->lo, len))
		return false;
	r->kflags = k->b->data + f->n;
	f->reused++;
	return true;
}

/* A block for a range of n PTEs: the one kept before, or a new one. */
static struct kept_block *block_for(struct kept_range *before, uint32_t n)
{
	struct kept_block *b;

	if (before && before->b) {
		b = before->b;
		before->b = NULL;
		return b;
	}
	b = calloc(1, sizeof(*b) + 2 * (size_t)n * sizeof(uint64_t) + 2 * (size_t)n);
	if (b) {
		b->states.ptes = (uint8_t *)(b->data + 2 * (size_t)n);
		b->states.orders = b->states.ptes + n;
	}
	return b;
}

int live_frames_keep(struct mthp_live_frames *f, struct live_range *r, bool reused)
{
	struct kept *now = &f->now;
	struct kept_range *k, *before;
	size_t n = f->n;
	uint64_t *pm;

	if (mthp_array_grow((void **)&now->v, &now->cap, now->nr, sizeof(*now->v)))
		return -ENOMEM;
	before = kept_find(&f->before, r->pmd_addr, r->lo);
	k = &now->v[now->nr];
	*k = (struct kept_range){ .pmd_addr = r->pmd_addr, .lo = r->lo, .hi = r->hi,
				  .b = block_for(before, f->n) };
	if (!k->b)
		return -ENOMEM;
	now->nr++;
	r->states = &k->b->states;
	if (reused) {
		k->reusable = true;	/* as it was */
		return 0;
	}
	k->b->states.valid = false;
	pm = k->b->data;
	memcpy(pm + r->lo, r->pm + r->lo, (r->hi - r->lo) * sizeof(uint64_t));
	memcpy(pm + n + r->lo, r->kflags + r->lo, (r->hi - r->lo) * sizeof(uint64_t));
	k->reusable = true;
	for (uint32_t i = r->lo; i < r->hi && k->reusable; i++)
		if (r->pm[i] & PM_PRESENT)
			k->reusable = flags_stay(r->kflags[i]);
	f->read++;
	return 0;
}
