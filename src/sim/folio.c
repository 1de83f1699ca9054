// SPDX-License-Identifier: MIT
/*
 * folio.c - folios on top of the frame array: allocation and freeing,
 * reference and map counts (per page, per folio, PMD "entire" count), the
 * kernel's two mm-id slots that answer "mapped by more than one mm", flags
 * (anon, LRU, locked, swapcache, lazyfree), splitting to order 0, and the
 * content tags.  Counts of large folios change under the folio's map lock,
 * a bit spinlock in the head page's flags; order-0 counts are atomics.
 */
#include <errno.h>
#include <string.h>

#include <mthp/sched.h>

#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/memcg.h"
#include "sim/physmem.h"
#include "sim/stats.h"
#include "sim/world.h"

#define SLOT0 2
#define SLOT1 3

void folio_set_flag(struct sim *sim, uint32_t head, uint16_t flag)
{
	__atomic_fetch_or(&sim_pg(sim, head)->flags, flag, __ATOMIC_RELAXED);
}

void folio_clear_flag(struct sim *sim, uint32_t head, uint16_t flag)
{
	__atomic_fetch_and(&sim_pg(sim, head)->flags, (uint16_t)~flag,
			   __ATOMIC_RELAXED);
}

bool folio_test_clear_flag(struct sim *sim, uint32_t head, uint16_t flag)
{
	return __atomic_fetch_and(&sim_pg(sim, head)->flags, (uint16_t)~flag,
				  __ATOMIC_ACQ_REL) & flag;
}

void folio_dequeue_deferred(struct sim *sim, uint32_t head)
{
	if (folio_test_clear_flag(sim, head, PG_DEFERRED))
		__atomic_fetch_sub(&sim->nr_deferred, 1, __ATOMIC_RELAXED);
}

bool folio_trylock(struct sim *sim, uint32_t head)
{
	uint16_t old = __atomic_fetch_or(&sim_pg(sim, head)->flags, PG_LOCKED,
					 __ATOMIC_ACQUIRE);
	return !(old & PG_LOCKED);
}

void folio_unlock(struct sim *sim, uint32_t head)
{
	__atomic_fetch_and(&sim_pg(sim, head)->flags, (uint16_t)~PG_LOCKED,
			   __ATOMIC_RELEASE);
}

/* Context: takes the folio's map lock (a bit spinlock). */
static void maplock(struct sim *sim, uint32_t head)
{
	uint16_t *f = &sim_pg(sim, head)->flags;

	/* a bit spinlock taken twice spins for ever: catch it first */
	lockdep_assert_not_held(LOCK_FOLIO_MAP, f);
	while (__atomic_fetch_or(f, PG_MAPLOCK, __ATOMIC_ACQUIRE) & PG_MAPLOCK)
		while (ld_relaxed(f) & PG_MAPLOCK)
			if (sched_is_det())
				sim_thread_yield();	/* the holder must run */
	lockdep_acquired(LOCK_FOLIO_MAP, f, LOCK_WRITE, false);
}

/* Context: drops the folio's map lock. */
static void mapunlock(struct sim *sim, uint32_t head)
{
	lockdep_assert_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags, LOCK_WRITE);
	lockdep_released(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags);
	__atomic_fetch_and(&sim_pg(sim, head)->flags, (uint16_t)~PG_MAPLOCK,
			   __ATOMIC_RELEASE);
}

int folio_alloc(struct sim *sim, unsigned order, uint32_t *head)
{
	uint32_t pfn, nr = 1u << order;
	int err = physmem_alloc(&sim->pm, order, &pfn);

	if (err)
		return err;
	for (uint32_t i = 0; i < nr; i++) {
		struct sim_page *p = sim_pg(sim, pfn + i);

		page_store(p, 0, 0, 0, 0, (uint8_t)order, 0);
	}
	memset(&sim->pm.tags[pfn], 0, nr * sizeof(uint64_t));
	page_store(sim_pg(sim, pfn), 1, 0, 0, PG_HEAD, (uint8_t)order, 0);
	*head = pfn;
	return 0;
}

int folio_charge(struct sim *sim, uint32_t head, unsigned memcg)
{
	int err = memcg_charge(sim, memcg, 1ull << sim_pg(sim, head)->order);

	if (err)
		return err;
	sim_pg(sim, head)->memcg = (uint8_t)memcg;
	folio_set_flag(sim, head, PG_CHARGED);
	return 0;
}

int anon_folio_alloc(struct sim *sim, unsigned order, unsigned memcg, uint32_t *head,
		     bool *charge_failed)
{
	int err = folio_alloc(sim, order, head);

	if (charge_failed)
		*charge_failed = false;
	if (err)
		return err;
	err = folio_charge(sim, *head, memcg);
	if (err) {
		folio_put(sim, *head, 1);
		if (charge_failed)
			*charge_failed = true;
		return err;
	}
	folio_set_flag(sim, *head, PG_ANON | PG_LRU);
	mod_mthp(sim, order, MS_NR_ANON, 1);
	return 0;
}

int anon_folio_new(struct sim *sim, unsigned order, unsigned memcg, uint32_t *head)
{
	return anon_folio_alloc(sim, order, memcg, head, NULL);
}

/* A folio with no reference left, uncharged and cleared: its order, for the buddy. */
static unsigned folio_release(struct sim *sim, uint32_t head)
{
	struct sim_page *h = sim_pg(sim, head);
	unsigned order = h->order;
	uint16_t flags = folio_flags(sim, head);

	if (flags & PG_CHARGED)
		memcg_uncharge(sim, h->memcg, 1ull << order);
	if (flags & PG_ANON)
		mod_mthp(sim, order, MS_NR_ANON, -1);
	if (flags & PG_PARTIAL)
		mod_mthp(sim, order, MS_NR_ANON_PARTIALLY_MAPPED, -1);
	if (flags & PG_DEFERRED)
		folio_dequeue_deferred(sim, head);
	for (uint32_t i = 0; i < (1u << order); i++)
		page_store(sim_pg(sim, head + i), 0, 0, 0, 0, 0, 0);
	return order;
}

static void folio_free(struct sim *sim, uint32_t head)
{
	physmem_free(&sim->pm, head, folio_release(sim, head));
}

void folio_get(struct sim *sim, uint32_t head, uint32_t n)
{
	__atomic_fetch_add(&sim_pg(sim, head)->a, n, __ATOMIC_RELAXED);
}

void folio_put(struct sim *sim, uint32_t head, uint32_t n)
{
	uint32_t old = __atomic_fetch_sub(&sim_pg(sim, head)->a, n,
					  __ATOMIC_ACQ_REL);
	if (old == n)
		folio_free(sim, head);
}

#define PUT_BATCH 64

void folios_put(struct sim *sim, const uint32_t *heads, uint32_t n)
{
	uint32_t freed[PUT_BATCH];
	uint8_t orders[PUT_BATCH];
	uint32_t nr_freed = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (__atomic_fetch_sub(&sim_pg(sim, heads[i])->a, 1, __ATOMIC_ACQ_REL) != 1)
			continue;
		orders[nr_freed] = (uint8_t)folio_release(sim, heads[i]);
		freed[nr_freed++] = heads[i];
		if (nr_freed == PUT_BATCH) {
			physmem_free_many(&sim->pm, freed, orders, nr_freed);
			nr_freed = 0;
		}
	}
	physmem_free_many(&sim->pm, freed, orders, nr_freed);
}

uint32_t folio_entire_mapcount(struct sim *sim, uint32_t head)
{
	if (sim_pg(sim, head)->order == 0)
		return 0;
	return ld_relaxed(&sim_pg(sim, head + 1)->b);
}

/* Context: map lock held.  Add (or remove, n < 0) n mappings of mm_id. */
static void slots_mod(struct sim *sim, uint32_t head, uint32_t mm_id, int64_t n)
{
	struct sim_page *s0 = sim_pg(sim, head + SLOT0);
	struct sim_page *s1 = sim_pg(sim, head + SLOT1);
	struct sim_page *s = NULL;

	lockdep_assert_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags, LOCK_WRITE);
	if (ld_relaxed(&s0->a) == mm_id)
		s = s0;
	else if (ld_relaxed(&s1->a) == mm_id)
		s = s1;
	else if (n > 0 && ld_relaxed(&s0->a) == 0)
		s = s0;
	else if (n > 0 && ld_relaxed(&s1->a) == 0)
		s = s1;
	if (!s)
		return;		/* a third mm: untracked, so maybe shared */
	/*
	 * An mm that took a slot while it had untracked mappings (made when
	 * both slots were another mm's) unmaps more than its slot counts:
	 * the slot is freed, as the kernel frees it, and never goes below 0.
	 */
	if (n < 0 && ld_relaxed(&s->b) <= (uint64_t)-n) {
		st_relaxed(&s->b, 0);
		st_relaxed(&s->a, 0);
		return;
	}
	st_relaxed(&s->a, mm_id);
	st_relaxed(&s->b, (uint32_t)(ld_relaxed(&s->b) + n));
}

/* Context: map lock held.  The folio's total map count. */
static void total_mod(struct sim *sim, uint32_t head, int64_t n)
{
	uint32_t *b = &sim_pg(sim, head)->b;

	lockdep_assert_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags, LOCK_WRITE);
	st_relaxed(b, (uint32_t)(ld_relaxed(b) + n));
}

/*
 * Add d (+1 or -1) to the map counts of nr PTE mappings of pages [pfn,
 * pfn + nr) of one folio for mm id: each page's, and for a large folio
 * its total and mm-id slot.  Returns the mappings changed (an order-0
 * folio has one), for the caller's reference count.  The pages of a
 * large folio change their counts only under its map lock (here, in
 * folio_pmd_to_ptes() and folio_split()): a load and a store do, where
 * an order-0 page, which has no map lock, needs the atomic addition.
 * Context: takes and drops the folio's map lock (a large folio).
 */
static uint32_t ptes_mod(struct sim *sim, uint32_t pfn, uint32_t nr,
			 uint32_t mm_id, int32_t d, bool *partial)
{
	uint32_t head = folio_head(sim, pfn), gone = 0;

	lockdep_assert_not_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags);
	*partial = false;
	if (sim_pg(sim, head)->order == 0) {
		__atomic_fetch_add(&sim_pg(sim, pfn)->mapcount, d, __ATOMIC_RELAXED);
		return 1;
	}
	maplock(sim, head);
	for (uint32_t i = 0; i < nr; i++) {
		int32_t *map = &sim_pg(sim, pfn + i)->mapcount;

		st_relaxed(map, ld_relaxed(map) + d);
		gone += ld_relaxed(map) == 0;
	}
	total_mod(sim, head, (int64_t)d * nr);
	slots_mod(sim, head, mm_id, (int64_t)d * nr);
	/* a page mapped nowhere now, others by PTEs (not by a PMD anywhere) */
	*partial = d < 0 && gone && ld_relaxed(&sim_pg(sim, head)->b) &&
		   !ld_relaxed(&sim_pg(sim, head + 1)->b);
	mapunlock(sim, head);
	return nr;
}

/*
 * The first time an anon folio is found partially mapped it goes on the
 * deferred split queue as such (not from the swap cache): counted in
 * split_deferred (and thp_deferred_split_page at the PMD order) and in
 * nr_anon_partially_mapped until it is split or freed.  The caller holds
 * a reference.
 */
static void deferred_split_partial(struct sim *sim, uint32_t head)
{
	unsigned order = sim_pg(sim, head)->order;
	uint16_t old;

	if (!folio_test_flag(sim, head, PG_ANON) || folio_test_flag(sim, head, PG_SWAPCACHE))
		return;
	old = __atomic_fetch_or(&sim_pg(sim, head)->flags, PG_PARTIAL,
				__ATOMIC_RELAXED);
	if (old & PG_PARTIAL)
		return;
	count_mthp(sim, order, MS_SPLIT_DEFERRED);
	if (order == sim->geo.pmd_order)
		count_vm(sim, VM_THP_DEFERRED_SPLIT_PAGE);
	mod_mthp(sim, order, MS_NR_ANON_PARTIALLY_MAPPED, 1);
}

uint64_t sim_partially_mapped(struct sim *sim, uint64_t *unmapped)
{
	uint64_t folios = 0, pages = 0;

	for (uint64_t pfn = 0; pfn < sim->pm.nr_frames; pfn++) {
		const struct sim_page *h = sim_pg(sim, (uint32_t)pfn);
		uint32_t nr;

		if ((ld_relaxed(&h->flags) & (PG_HEAD | PG_PARTIAL)) != (PG_HEAD | PG_PARTIAL))
			continue;
		folios++;
		nr = 1u << ld_relaxed(&h->order);
		for (uint32_t i = 0; i < nr; i++)
			pages += ld_relaxed(&sim_pg(sim, (uint32_t)pfn + i)->mapcount) == 0;
		pfn += nr - 1;
	}
	*unmapped = pages;
	return folios;
}

/* Context: takes and drops the folio's map lock (a large folio). */
void folio_add_ptes(struct sim *sim, uint32_t pfn, uint32_t nr, uint32_t mm_id)
{
	bool partial;
	uint32_t n = ptes_mod(sim, pfn, nr, mm_id, 1, &partial);

	folio_get(sim, folio_head(sim, pfn), n);
}

/* Context: takes and drops the folio's map lock (a large folio). */
void folio_remove_ptes(struct sim *sim, uint32_t pfn, uint32_t nr, uint32_t mm_id)
{
	uint32_t head = folio_head(sim, pfn);
	bool partial;
	uint32_t n = ptes_mod(sim, pfn, nr, mm_id, -1, &partial);

	if (partial)
		deferred_split_partial(sim, head);	/* still mapped: referenced */
	folio_put(sim, head, n);
}

/* Context: takes and drops the folio's map lock. */
void folio_add_pmd(struct sim *sim, uint32_t head, uint32_t mm_id)
{
	uint32_t *entire = &sim_pg(sim, head + 1)->b;

	lockdep_assert_not_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags);
	maplock(sim, head);
	st_relaxed(entire, ld_relaxed(entire) + 1);
	total_mod(sim, head, 1);
	slots_mod(sim, head, mm_id, 1);
	mapunlock(sim, head);
	folio_get(sim, head, 1);
}

/* Context: takes and drops the folio's map lock. */
void folio_remove_pmd(struct sim *sim, uint32_t head, uint32_t mm_id)
{
	uint32_t *entire = &sim_pg(sim, head + 1)->b;

	lockdep_assert_not_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags);
	maplock(sim, head);
	st_relaxed(entire, ld_relaxed(entire) - 1);
	total_mod(sim, head, -1);
	slots_mod(sim, head, mm_id, -1);
	mapunlock(sim, head);
	folio_put(sim, head, 1);
}

/* Context: takes and drops the folio's map lock. */
void folio_pmd_to_ptes(struct sim *sim, uint32_t head, uint32_t mm_id)
{
	uint32_t nr = 1u << sim_pg(sim, head)->order;
	uint32_t *entire = &sim_pg(sim, head + 1)->b;

	lockdep_assert_not_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags);
	maplock(sim, head);
	st_relaxed(entire, ld_relaxed(entire) - 1);
	for (uint32_t i = 0; i < nr; i++) {	/* under the map lock: see ptes_mod() */
		int32_t *map = &sim_pg(sim, head + i)->mapcount;

		st_relaxed(map, ld_relaxed(map) + 1);
	}
	total_mod(sim, head, nr - 1);
	slots_mod(sim, head, mm_id, nr - 1);
	mapunlock(sim, head);
	folio_get(sim, head, nr - 1);
}

/* Context: takes and drops the folio's map lock. */
bool large_folio_maybe_shared(struct sim *sim, uint32_t head)
{
	uint32_t total, c0, c1;

	lockdep_assert_not_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags);
	maplock(sim, head);
	total = ld_relaxed(&sim_pg(sim, head)->b);
	c0 = ld_relaxed(&sim_pg(sim, head + SLOT0)->b);
	c1 = ld_relaxed(&sim_pg(sim, head + SLOT1)->b);
	mapunlock(sim, head);
	return total && c0 != total && c1 != total;
}

/* Context: map lock held.  Can the folio be split now? */
static bool split_allowed(struct sim *sim, uint32_t head, uint32_t extra)
{
	uint16_t flags = folio_flags(sim, head);

	lockdep_assert_held(LOCK_FOLIO_MAP, &sim_pg(sim, head)->flags, LOCK_WRITE);
	if (flags & (PG_LOCKED | PG_SWAPCACHE))
		return false;
	if (ld_relaxed(&sim_pg(sim, head + 1)->b))
		return false;	/* still PMD-mapped */
	return folio_refcount(sim, head) == ld_relaxed(&sim_pg(sim, head)->b) + extra;
}

/* Context: the PTE lock of the table mapping it held; takes the map lock. */
int folio_split(struct sim *sim, uint32_t head, uint32_t extra)
{
	struct sim_page *h = sim_pg(sim, head);
	unsigned order = h->order;
	uint16_t keep;
	uint8_t memcg = h->memcg;
	uint32_t nr = 1u << order, freed = 0;

	lockdep_assert_held(LOCK_PTE, NULL, LOCK_WRITE);
	if (order == 0)
		return 0;
	maplock(sim, head);
	if (!split_allowed(sim, head, extra)) {
		mapunlock(sim, head);
		count_mthp(sim, order, MS_SPLIT_FAILED);
		if (order == sim->geo.pmd_order)
			count_vm(sim, VM_THP_SPLIT_PAGE_FAILED);
		return -EBUSY;
	}
	if (folio_flags(sim, head) & PG_PARTIAL)
		mod_mthp(sim, order, MS_NR_ANON_PARTIALLY_MAPPED, -1);
	folio_dequeue_deferred(sim, head);
	keep = folio_flags(sim, head) & (PG_ANON | PG_LRU | PG_LAZYFREE | PG_CHARGED);
	/* the first store below drops the map lock bit with the old flags */
	lockdep_released(LOCK_FOLIO_MAP, &h->flags);
	for (uint32_t i = 0; i < nr; i++) {
		struct sim_page *p = sim_pg(sim, head + i);
		int32_t map = ld_relaxed(&p->mapcount);

		page_store(p, (uint32_t)map, map, 0, (uint16_t)(keep | PG_HEAD), 0,
			   memcg);
	}
	/* the map lock bit went with the old flags */
	for (uint32_t i = 0; i < nr; i++) {
		if (sim_pg(sim, head + i)->a)
			continue;
		if (keep & PG_CHARGED)
			memcg_uncharge(sim, memcg, 1);
		page_store(sim_pg(sim, head + i), 0, 0, 0, 0, 0, 0);
		physmem_free(&sim->pm, head + i, 0);
		freed++;
	}
	if (keep & PG_ANON) {
		mod_mthp(sim, order, MS_NR_ANON, -1);
		mod_mthp(sim, 0, MS_NR_ANON, nr - freed);
	}
	count_mthp(sim, order, MS_SPLIT);
	if (order == sim->geo.pmd_order)
		count_vm(sim, VM_THP_SPLIT_PAGE);
	return 0;
}

void folio_copy_tags(struct sim *sim, uint32_t dst_pfn, uint32_t src_pfn,
		     uint32_t nr)
{
	for (uint32_t i = 0; i < nr; i++)
		page_set_tag(sim, dst_pfn + i, page_tag(sim, src_pfn + i));
}
