// SPDX-License-Identifier: MIT
/*
 * physmem.c - physical memory: the frame array (struct sim_page and the
 * content tags, indexed by pfn), the buddy allocator with one free list
 * per order under the zone lock, the reserved zero page, and
 * fragmentation by pinning scattered frames.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/array.h"
#include "sim/locks.h"
#include "sim/physmem.h"
#include "sim/world.h"

static void list_push(struct sim_physmem *pm, uint32_t pfn, unsigned order)
{
	struct sim_page *p = &pm->pages[pfn];
	uint32_t head = pm->free_head[order];

	p->flags = PG_BUDDY;
	p->order = (uint8_t)order;
	p->a = head;
	p->mapcount = (int32_t)SIM_NO_PFN;
	if (head != SIM_NO_PFN)
		pm->pages[head].mapcount = (int32_t)pfn;
	pm->free_head[order] = pfn;
	pm->nr_free_blocks[order]++;
	pm->nr_free_pages += 1ull << order;
}

static void list_del(struct sim_physmem *pm, uint32_t pfn, unsigned order)
{
	struct sim_page *p = &pm->pages[pfn];
	uint32_t next = p->a, prev = (uint32_t)p->mapcount;

	if (prev == SIM_NO_PFN)
		pm->free_head[order] = next;
	else
		pm->pages[prev].a = next;
	if (next != SIM_NO_PFN)
		pm->pages[next].mapcount = (int32_t)prev;
	p->flags = 0;
	p->a = 0;
	p->mapcount = 0;
	pm->nr_free_blocks[order]--;
	pm->nr_free_pages -= 1ull << order;
}

/* Context: zone lock held. */
static void free_locked(struct sim_physmem *pm, uint32_t pfn, unsigned order)
{
	lockdep_assert_held(LOCK_ZONE, pm, LOCK_WRITE);
	while (order < pm->max_order) {
		uint32_t buddy = pfn ^ (1u << order);
		struct sim_page *b;

		if (buddy >= pm->nr_frames)
			break;
		b = &pm->pages[buddy];
		if (!(ld_relaxed(&b->flags) & PG_BUDDY) || ld_relaxed(&b->order) != order)
			break;
		list_del(pm, buddy, order);
		b->order = 0;
		pfn &= ~(1u << order);
		order++;
	}
	list_push(pm, pfn, order);
}

/*
 * The frame array: every frame's descriptor is read and written from the
 * first allocations on, so it is mapped at once (in huge pages where the
 * host gives them on advice; fewer faults and TLB misses).  An array
 * smaller than one huge page gains nothing from its own mapping and
 * would pay a mapping, a population and an unmap (a TLB shootdown) each
 * time a simulator is made and destroyed, as a deterministic schedule
 * does for every seed: it comes from the heap.  NULL on failure.
 */
#define FRAMES_MAPPED_MIN (2u << 20)

static struct sim_page *frames_map(uint64_t nr_frames)
{
	size_t size = nr_frames * sizeof(struct sim_page);
	void *p;

	if (size < FRAMES_MAPPED_MIN)
		return calloc(nr_frames, sizeof(struct sim_page));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* advice only: a kernel without either still zero-fills on first touch */
	madvise(p, size, MADV_HUGEPAGE);
	madvise(p, size, MADV_POPULATE_WRITE);
	return p;
}

static void frames_unmap(struct sim_page *pages, uint64_t nr_frames)
{
	size_t size = nr_frames * sizeof(struct sim_page);

	if (pages && size < FRAMES_MAPPED_MIN)
		free(pages);
	else if (pages)
		munmap(pages, size);
}

int physmem_init(struct sim_physmem *pm, uint64_t nr_frames, unsigned max_order)
{
	uint64_t pfn;
	unsigned order;

	if (nr_frames < 2 || nr_frames >= (1ull << SIM_PFN_BITS) ||
	    max_order > SIM_MAX_ORDER)
		return -EINVAL;
	memset(pm, 0, sizeof(*pm));
	pm->pages = frames_map(nr_frames);
	pm->tags = calloc(nr_frames, sizeof(*pm->tags));
	if (!pm->pages || !pm->tags) {
		frames_unmap(pm->pages, nr_frames);
		free(pm->tags);
		return -ENOMEM;
	}
	pthread_mutex_init(&pm->zone_lock, NULL);
	pm->nr_frames = nr_frames;
	pm->max_order = max_order;
	for (unsigned o = 0; o <= SIM_MAX_ORDER; o++)
		pm->free_head[o] = SIM_NO_PFN;
	/* frame 0: the shared zero page, never free */
	pm->zero_pfn = 0;
	pm->pages[0].flags = PG_RESERVED;
	pm->pages[0].a = 1;
	/*
	 * Every other frame free, in the blocks that freeing frames 1 to
	 * nr_frames - 1 one by one would merge them into: from frame 1 up,
	 * each time the largest block aligned where it starts that fits,
	 * pushed in address order (as each would be once its last frame is
	 * freed).  Only the blocks' first frames are written.
	 */
	for (pfn = 1; pfn < nr_frames; pfn += 1ull << order) {
		order = (unsigned)__builtin_ctzll(pfn);
		if (order > max_order)
			order = max_order;
		while (pfn + (1ull << order) > nr_frames)
			order--;
		list_push(pm, (uint32_t)pfn, order);
	}
	return 0;
}

void physmem_destroy(struct sim_physmem *pm)
{
	pthread_mutex_destroy(&pm->zone_lock);
	frames_unmap(pm->pages, pm->nr_frames);
	free(pm->tags);
	free(pm->pinned);
}

/* Context: zone lock held.  Split block [pfn, 2^have) down to order. */
static void split_block(struct sim_physmem *pm, uint32_t pfn, unsigned have,
			unsigned order)
{
	lockdep_assert_held(LOCK_ZONE, pm, LOCK_WRITE);
	while (have > order) {
		have--;
		list_push(pm, pfn + (1u << have), have);
	}
}

/* Context: takes and drops the zone lock (a leaf). */
int physmem_alloc(struct sim_physmem *pm, unsigned order, uint32_t *pfn)
{
	unsigned o;
	uint32_t got;

	lockdep_assert_not_held(LOCK_ZONE, pm);
	if (order > pm->max_order)
		return -ENOMEM;
	zone_lock(pm);
	for (o = order; o <= pm->max_order; o++)
		if (pm->free_head[o] != SIM_NO_PFN)
			break;
	if (o > pm->max_order) {
		zone_unlock(pm);
		return -ENOMEM;
	}
	got = pm->free_head[o];
	list_del(pm, got, o);
	split_block(pm, got, o, order);
	zone_unlock(pm);
	*pfn = got;
	return 0;
}

/* Context: takes and drops the zone lock (a leaf). */
void physmem_free(struct sim_physmem *pm, uint32_t pfn, unsigned order)
{
	lockdep_assert_not_held(LOCK_ZONE, pm);
	zone_lock(pm);
	free_locked(pm, pfn, order);
	zone_unlock(pm);
}

void physmem_free_many(struct sim_physmem *pm, const uint32_t *pfns, const uint8_t *orders,
		       uint32_t n)
{
	if (!n)
		return;
	lockdep_assert_not_held(LOCK_ZONE, pm);
	zone_lock(pm);
	for (uint32_t i = 0; i < n; i++)
		free_locked(pm, pfns[i], orders[i]);
	zone_unlock(pm);
}

/* Context: zone lock held.  Take one free frame out of its buddy block. */
static bool take_free_frame(struct sim_physmem *pm, uint32_t pfn)
{
	lockdep_assert_held(LOCK_ZONE, pm, LOCK_WRITE);
	for (unsigned o = 0; o <= pm->max_order; o++) {
		uint32_t head = pfn & ~((1u << o) - 1);
		struct sim_page *h = &pm->pages[head];
		unsigned have = o;

		if (!(h->flags & PG_BUDDY) || h->order != o)
			continue;
		list_del(pm, head, o);
		/* give back every part of the block but pfn */
		while (have > 0) {
			uint32_t half = 1u << (have - 1);

			have--;
			if (pfn >= head + half) {
				list_push(pm, head, have);
				head += half;
			} else {
				list_push(pm, head + half, have);
			}
		}
		return true;
	}
	return false;
}

static int pinned_push(struct sim_physmem *pm, uint32_t pfn)
{
	if (mthp_array_grow((void **)&pm->pinned, &pm->cap_pinned, pm->nr_pinned,
			    sizeof(*pm->pinned)))
		return -ENOMEM;
	pm->pinned[pm->nr_pinned++] = pfn;
	return 0;
}

int64_t sim_fragment(struct sim *sim, unsigned order)
{
	return sim_fragment_some(sim, order, 1.0);
}

int64_t sim_fragment_some(struct sim *sim, unsigned order, double fraction)
{
	struct sim_physmem *pm = &sim->pm;
	uint64_t block = 1ull << order, nr = 0;
	double share = 0;

	zone_lock(pm);
	for (uint64_t base = 0; base < pm->nr_frames; base += block) {
		/* pin the middle frame of the block if it is free */
		uint32_t pfn = (uint32_t)(base + block / 2);

		/* every block adds the fraction; a whole one means pin this one */
		share += fraction;
		if (share < 1.0)
			continue;
		share -= 1.0;

		if (pfn >= pm->nr_frames)
			pfn = (uint32_t)base;
		if (!take_free_frame(pm, pfn))
			continue;
		if (pinned_push(pm, pfn)) {
			free_locked(pm, pfn, 0);
			break;
		}
		pm->pages[pfn].flags = PG_RESERVED;
		pm->pages[pfn].a = 1;
		nr++;
	}
	zone_unlock(pm);
	return (int64_t)nr;
}

void sim_unfragment(struct sim *sim)
{
	struct sim_physmem *pm = &sim->pm;

	zone_lock(pm);
	for (uint64_t i = 0; i < pm->nr_pinned; i++) {
		uint32_t pfn = pm->pinned[i];

		pm->pages[pfn].flags = 0;
		pm->pages[pfn].a = 0;
		free_locked(pm, pfn, 0);
	}
	pm->nr_pinned = 0;
	zone_unlock(pm);
}

uint64_t sim_free_pages(struct sim *sim)
{
	uint64_t n;

	zone_lock(&sim->pm);
	n = sim->pm.nr_free_pages;
	zone_unlock(&sim->pm);
	return n;
}

uint64_t sim_free_blocks(struct sim *sim, unsigned order)
{
	uint64_t n = 0;

	if (order > sim->pm.max_order)
		return 0;
	zone_lock(&sim->pm);
	n = sim->pm.nr_free_blocks[order];
	zone_unlock(&sim->pm);
	return n;
}

/*
 * The free lists: every block is a correctly aligned head of its order,
 * no frame is free twice, counts match.  seen[pfn] is set for free frames.
 */
int physmem_check(struct sim *sim, uint8_t *seen)
{
	struct sim_physmem *pm = &sim->pm;
	uint64_t pages = 0;

	for (unsigned o = 0; o <= pm->max_order; o++) {
		uint64_t blocks = 0;
		uint32_t prev = SIM_NO_PFN;

		for (uint32_t pfn = pm->free_head[o]; pfn != SIM_NO_PFN;
		     pfn = pm->pages[pfn].a) {
			struct sim_page *p = &pm->pages[pfn];

			if (!(p->flags & PG_BUDDY) || p->order != o ||
			    (pfn & ((1u << o) - 1)) ||
			    pfn + (1ull << o) > pm->nr_frames ||
			    (uint32_t)p->mapcount != prev)
				goto bad;
			for (uint32_t i = 0; i < (1u << o); i++) {
				if (seen[pfn + i])
					goto bad;
				seen[pfn + i] = 1;
			}
			prev = pfn;
			blocks++;
			pages += 1ull << o;
			if (blocks > pm->nr_frames)
				goto bad;
			continue;
bad:
			snprintf(sim->check_msg, sizeof(sim->check_msg),
				 "buddy: bad free block pfn %u order %u", pfn, o);
			return -EUCLEAN;
		}
		if (blocks != pm->nr_free_blocks[o]) {
			snprintf(sim->check_msg, sizeof(sim->check_msg),
				 "buddy: order %u counts %llu blocks, list has %llu",
				 o, (unsigned long long)pm->nr_free_blocks[o],
				 (unsigned long long)blocks);
			return -EUCLEAN;
		}
	}
	if (pages != pm->nr_free_pages) {
		snprintf(sim->check_msg, sizeof(sim->check_msg),
			 "buddy: %llu free pages counted, lists hold %llu",
			 (unsigned long long)pm->nr_free_pages,
			 (unsigned long long)pages);
		return -EUCLEAN;
	}
	return 0;
}
