// SPDX-License-Identifier: MIT
/*
 * check.c - sim_check(), the invariant walker: VMAs sorted and disjoint;
 * every PTE and PMD inside a VMA and pointing at a live folio or swap
 * slot; per-page map counts, folio map counts, PMD counts and reference
 * counts agree with the tables of every mm; cgroup charges, nr_anon and
 * nr_anon_partially_mapped agree with the folios; swap counts with the
 * swap PTEs; the buddy lists with the free frames.  The first
 * inconsistency is reported.  Debug builds run it after every nth
 * mapping change (sim_debug_check).
 * Context: holds the world lock for write, so no operation runs
 * (debug builds; release builds: call it only when the sim is quiet).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <mthp/sched.h>

#include "sim/check.h"
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/pgtable.h"
#include "sim/physmem.h"
#include "sim/vma.h"
#include "sim/world.h"

struct check {
	struct sim *sim;
	int32_t *pte_maps;	/* per pfn: PTEs mapping it */
	uint32_t *pmd_maps;	/* per head pfn: huge PMDs mapping it */
	uint32_t *swap_refs;	/* per slot */
	uint8_t *free;		/* per pfn: in a buddy block */
};

static int fail(struct sim *sim, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sim->check_msg, sizeof(sim->check_msg), fmt, ap);
	va_end(ap);
	sim_sched_failed();	/* a deterministic schedule's timeline ends here */
	return -EUCLEAN;
}

static int check_vmas(struct sim *sim, struct sim_mm *mm)
{
	uint64_t mask = sim->geo.page_size - 1;

	for (size_t i = 0; i < mm->nr_vmas; i++) {
		struct sim_vma *v = &mm->vmas[i];

		if (v->start >= v->end || (v->start & mask) || (v->end & mask))
			return fail(sim, "mm %u: bad vma %llx-%llx", mm->id,
				    (unsigned long long)v->start,
				    (unsigned long long)v->end);
		if (i && mm->vmas[i - 1].end > v->start)
			return fail(sim, "mm %u: vmas overlap at %llx", mm->id,
				    (unsigned long long)v->start);
	}
	return 0;
}

static bool live_folio_page(struct sim *sim, uint32_t pfn)
{
	uint32_t head;

	if (pfn >= sim->pm.nr_frames)
		return false;
	head = folio_head(sim, pfn);
	return (sim_pg(sim, head)->flags & PG_HEAD) && !(sim_pg(sim, head)->flags & PG_BUDDY);
}

static int check_pte(struct check *c, struct sim_mm *mm, uint64_t addr, uint32_t pte)
{
	struct sim *sim = c->sim;
	struct sim_vma *v = vma_find(mm, addr);

	if (!v)
		return fail(sim, "mm %u: pte %x at %llx outside any vma", mm->id,
			    pte, (unsigned long long)addr);
	if (pte_is_swap(pte)) {
		if (pte_slot(pte) >= sim->swap.nr_slots && pte_slot(pte))
			return fail(sim, "mm %u: bad swap slot at %llx", mm->id,
				    (unsigned long long)addr);
		if (pte_slot(pte))
			c->swap_refs[pte_slot(pte)]++;
		return 0;
	}
	if (!pte_present(pte))
		return fail(sim, "mm %u: bad pte %x at %llx", mm->id, pte,
			    (unsigned long long)addr);
	if (pte_pfn(pte) == sim->pm.zero_pfn)
		return 0;
	if (!live_folio_page(sim, pte_pfn(pte)))
		return fail(sim, "mm %u: pte at %llx maps pfn %u, not in a folio",
			    mm->id, (unsigned long long)addr, pte_pfn(pte));
	if ((pte & PTE_WRITE) && !(v->prot & SIM_PROT_WRITE))
		return fail(sim, "mm %u: writable pte at %llx in a read-only vma",
			    mm->id, (unsigned long long)addr);
	c->pte_maps[pte_pfn(pte)]++;
	return 0;
}

static int check_pmd(struct check *c, struct sim_mm *mm, uint64_t addr, uint64_t pmd)
{
	struct sim *sim = c->sim;
	uint64_t size = mthp_pmd_size(&sim->geo);
	struct sim_vma *v = vma_find(mm, addr);
	struct sim_pte_table *t;

	if (pmd_is_huge(pmd)) {
		uint32_t head = pmd_pfn(pmd);

		if (!v || v->start > addr || v->end < addr + size)
			return fail(sim, "mm %u: huge pmd %llx not inside one vma",
				    mm->id, (unsigned long long)addr);
		if (pmd & PMD_ZERO)
			return 0;
		if (!live_folio_page(sim, head) || folio_head(sim, head) != head ||
		    sim_pg(sim, head)->order != sim->geo.pmd_order)
			return fail(sim, "mm %u: huge pmd %llx maps no PMD folio",
				    mm->id, (unsigned long long)addr);
		c->pmd_maps[head]++;
		return 0;
	}
	t = pmd_table(pmd);
	for (uint32_t i = 0; i < sim->geo.ptes_per_pmd; i++) {
		int err;

		if (!t->ptes[i])
			continue;
		err = check_pte(c, mm, addr + ((uint64_t)i << sim->page_shift),
				t->ptes[i]);
		if (err)
			return err;
	}
	return 0;
}

static int check_tables(struct check *c, struct sim_mm *mm)
{
	struct sim *sim = c->sim;

	for (uint64_t top = 0; top < sim->top_entries; top++) {
		struct sim_pud *pud = mm->pgd[top];

		for (uint64_t pi = 0; pud && pi < SIM_DIR_ENTRIES; pi++) {
			struct sim_pmd_table *pt = pud->slot[pi];

			for (uint64_t mi = 0; pt && mi < SIM_DIR_ENTRIES; mi++) {
				uint64_t addr = (top << (sim->pmd_shift + 18)) |
						(pi << (sim->pmd_shift + 9)) |
						(mi << sim->pmd_shift);
				int err = 0;

				if (pmd_is_huge(pt->pmd[mi]) != !!pt->deposit[mi])
					return fail(sim, "mm %u: pmd %llx is %s but has %s "
						    "deposited table", mm->id,
						    (unsigned long long)addr,
						    pmd_is_huge(pt->pmd[mi]) ? "huge" :
						    "not huge", pt->deposit[mi] ? "a" : "no");
				if (pt->pmd[mi])
					err = check_pmd(c, mm, addr, pt->pmd[mi]);
				if (err)
					return err;
			}
		}
	}
	return 0;
}

/* One allocated folio at head against what the tables said. */
static int check_folio(struct check *c, uint32_t head, uint64_t *charged,
		       uint64_t *nr_anon, uint64_t *nr_partial)
{
	struct sim *sim = c->sim;
	struct sim_page *h = sim_pg(sim, head);
	unsigned order = h->order;
	uint32_t nr = 1u << order, total = c->pmd_maps[head];

	for (uint32_t i = 0; i < nr; i++) {
		struct sim_page *p = sim_pg(sim, head + i);

		if (head + i >= sim->pm.nr_frames || p->order != order ||
		    (i && (p->flags & (PG_HEAD | PG_BUDDY))))
			return fail(sim, "folio %u: bad tail page %u", head, head + i);
		if (p->mapcount != c->pte_maps[head + i])
			return fail(sim, "pfn %u: mapcount %d, %d PTEs map it",
				    head + i, p->mapcount, c->pte_maps[head + i]);
		total += (uint32_t)c->pte_maps[head + i];
	}
	if (folio_mapcount(sim, head) != total)
		return fail(sim, "folio %u: mapcount %u, tables say %u", head,
			    folio_mapcount(sim, head), total);
	if (folio_entire_mapcount(sim, head) != c->pmd_maps[head])
		return fail(sim, "folio %u: entire mapcount %u, %u PMDs", head,
			    folio_entire_mapcount(sim, head), c->pmd_maps[head]);
	if (h->a < total || h->a == 0)
		return fail(sim, "folio %u: refcount %u below mapcount %u", head,
			    h->a, total);
	if (order && sim_pg(sim, head + 2)->b + sim_pg(sim, head + 3)->b > total)
		return fail(sim, "folio %u: mm slots count more than mapcount", head);
	if (h->flags & PG_CHARGED)
		charged[h->memcg] += nr;
	if (h->flags & PG_ANON)
		nr_anon[order]++;
	if (h->flags & PG_PARTIAL) {
		/* queued once it was cut: large, anon, never PMD-mapped since */
		if (!order || !(h->flags & PG_ANON) || c->pmd_maps[head])
			return fail(sim, "folio %u: partially mapped but of order %u, %sanon, "
				    "%u PMDs", head, order, h->flags & PG_ANON ? "" : "not ",
				    c->pmd_maps[head]);
		nr_partial[order]++;
	}
	return 0;
}

static int check_frames(struct check *c)
{
	struct sim *sim = c->sim;
	uint64_t charged[SIM_MAX_MEMCGS] = { 0 };
	uint64_t nr_anon[MTHP_MAX_PMD_ORDER + 1] = { 0 };
	uint64_t nr_partial[MTHP_MAX_PMD_ORDER + 1] = { 0 };
	uint64_t pfn = 0, deferred = 0;

	while (pfn < sim->pm.nr_frames) {
		struct sim_page *p = sim_pg(sim, (uint32_t)pfn);
		int err;

		if (c->free[pfn] || (p->flags & PG_RESERVED)) {
			if (c->pte_maps[pfn] && pfn != sim->pm.zero_pfn)
				return fail(sim, "pfn %llu: free but mapped",
					    (unsigned long long)pfn);
			pfn++;
			continue;
		}
		if (!(p->flags & PG_HEAD))
			return fail(sim, "pfn %llu: neither free nor in a folio",
				    (unsigned long long)pfn);
		err = check_folio(c, (uint32_t)pfn, charged, nr_anon, nr_partial);
		if (err)
			return err;
		deferred += !!(p->flags & PG_DEFERRED);
		pfn += 1ull << p->order;
	}
	if (deferred != sim->nr_deferred)
		return fail(sim, "%llu folios on the underused queue, counted %llu",
			    (unsigned long long)deferred,
			    (unsigned long long)sim->nr_deferred);
	for (unsigned m = 0; m < SIM_MAX_MEMCGS; m++)
		if (charged[m] != sim->memcgs[m].usage)
			return fail(sim, "memcg %u: usage %llu, folios charged %llu", m,
				    (unsigned long long)sim->memcgs[m].usage,
				    (unsigned long long)charged[m]);
	for (unsigned o = 0; o <= sim->geo.pmd_order; o++)
		if (nr_anon[o] != sim->mthp_stat[o][MS_NR_ANON])
			return fail(sim, "nr_anon of order %u: %llu, folios %llu", o,
				    (unsigned long long)sim->mthp_stat[o][MS_NR_ANON],
				    (unsigned long long)nr_anon[o]);
	for (unsigned o = 0; o <= sim->geo.pmd_order; o++)
		if (nr_partial[o] != sim->mthp_stat[o][MS_NR_ANON_PARTIALLY_MAPPED])
			return fail(sim, "nr_anon_partially_mapped of order %u: %llu, folios %llu",
				    o, (unsigned long long)
				    sim->mthp_stat[o][MS_NR_ANON_PARTIALLY_MAPPED],
				    (unsigned long long)nr_partial[o]);
	return 0;
}

static int check_swap(struct check *c)
{
	struct sim *sim = c->sim;
	uint64_t used = 0;

	for (uint64_t s = 1; s < sim->swap.nr_slots; s++) {
		if (sim->swap.slots[s].count != c->swap_refs[s])
			return fail(sim, "swap slot %llu: count %u, %u PTEs",
				    (unsigned long long)s, sim->swap.slots[s].count,
				    c->swap_refs[s]);
		used += c->swap_refs[s] != 0;
	}
	if (used != sim->swap.nr_used)
		return fail(sim, "swap: %llu slots used, counted %llu",
			    (unsigned long long)sim->swap.nr_used,
			    (unsigned long long)used);
	return 0;
}

int sim_check_locked(struct sim *sim)
{
	uint64_t nr = sim->pm.nr_frames;
	struct check c = {
		.sim = sim,
		.pte_maps = calloc(nr, sizeof(int32_t)),
		.pmd_maps = calloc(nr, sizeof(uint32_t)),
		.swap_refs = calloc(sim->swap.nr_slots + 1, sizeof(uint32_t)),
		.free = calloc(nr, 1),
	};
	int err = -ENOMEM;

	lockdep_assert_held(LOCK_WORLD, sim, LOCK_WRITE);
	if (!c.pte_maps || !c.pmd_maps || !c.swap_refs || !c.free)
		goto out_free;
	sim->check_msg[0] = 0;
	err = physmem_check(sim, c.free);
	/* the rmap walkers' first failed check (rmap.c, a higher layer) */
	if (!err && ld_acquire(&sim->rmap.failed) == 2)
		err = fail(sim, "rmap walk: %s", sim->rmap.msg);
	mm_list_lock(sim);
	for (struct sim_mm *mm = sim->mm_list; mm && !err; mm = mm->next) {
		err = check_vmas(sim, mm);
		if (!err)
			err = check_tables(&c, mm);
	}
	mm_list_unlock(sim);
	if (!err)
		err = check_frames(&c);
	if (!err)
		err = check_swap(&c);
out_free:
	free(c.pte_maps);
	free(c.pmd_maps);
	free(c.swap_refs);
	free(c.free);
	return err;
}

/* Context: no lock held; takes the world lock for write. */
int sim_check(struct sim *sim)
{
	int err;

	lockdep_assert_none_held();
	rw_write_lock_at(&sim->world_lock, LOCK_WORLD, sim, __FILE__, __LINE__);
	err = sim_check_locked(sim);
	rw_unlock_at(&sim->world_lock, LOCK_WORLD, sim, __FILE__, __LINE__);
	return err;
}

const char *sim_check_message(struct sim *sim)
{
	return sim->check_msg;
}

void sim_set_check_interval(struct sim *sim, uint32_t n)
{
	st_relaxed(&sim->check_interval, n ? n : 1);
}

void sim_debug_check(struct sim *sim)
{
#if MTHP_DEBUG
	uint32_t n = __atomic_add_fetch(&sim->check_counter, 1, __ATOMIC_RELAXED);

	if (n % ld_relaxed(&sim->check_interval))
		return;
	if (sim_check(sim)) {
		fprintf(stderr, "sim_check: %s\n", sim->check_msg);
		abort();
	}
#else
	(void)sim;
#endif
}
