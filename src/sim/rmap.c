// SPDX-License-Identifier: MIT
/*
 * rmap.c - the reverse-map walkers: reclaim's aging walk of a folio
 * (folio_referenced) and its unmap (try_to_unmap, then swap-out), and
 * compaction's migration (try_to_migrate), from a thread of its own or
 * from a collapse's injection points (aging: the folios beside a window;
 * migration: the folios a failed copy released), racing with every other
 * operation, and checking what they find.
 *
 * A walk, as the kernel's:
 *   TAKE   [mmap_lock read, PTE lock]  a folio mapped at an address,
 *          taken with a reference (reclaim takes it off the LRU; the
 *          simulator has no LRU list, so it looks one up in a page table),
 *          with its anon_vma (referenced) and the anon_vma's unlink count;
 *          then mmap_lock is dropped: an rmap walk holds none.
 *   LOCK   the anon_vma for read: tried, as folio_referenced() tries it
 *          (given up as contended when it is held for write), or waited
 *          for.  An unlink since TAKE (vma.c: munmap, mremap, exit) means
 *          the mapping may be gone with its page tables: nothing is walked.
 *   WALK   [PMD lock, PTE lock]  the PMD of the address and the table
 *          under it; the young bits of the folio's PTEs there cleared
 *          (by aging: not by a migration walk).
 *   CHECK  under those locks: the folio is still a folio, its reference
 *          count covers its mappings and ours, and when every mapping of
 *          the folio was in that one table at TAKE and the folio is not
 *          shared, the walk found each of them.  Nothing but a page
 *          table detached while the anon_vma was not held for write can
 *          hide them: the kernel's protocol is that a table leaves its PMD
 *          only under the anon_vma lock for write (a collapse) or after
 *          an unlink (the count).
 *
 * A migration walk (one in eight of the thread's, and the MIGRATE point
 * of a collapse) is compaction's: after TAKE, the folio is isolated from
 * the LRU (PG_LRU test-and-cleared; a folio off the LRU, isolated by a
 * collapse or waiting in an LRU add batch, is left alone) and locked
 * (tried, as asynchronous compaction tries), then try_to_migrate()'s walk
 * is LOCK (waited for, tried from an injection point), WALK and CHECK as
 * above; the folio is then unlocked and put back on the LRU, not moved.
 * Its CHECK is the one that sees a folio released by a collapse while
 * its page table was still off the PMD: such a folio is on the LRU,
 * unlocked, and still mapped through the detached table.
 *
 * The first failed check is kept in sim->rmap (sim_rmap_failure(),
 * sim_check()).  Lock order: world (debug builds), mmap_lock at TAKE
 * only, anon_vma, PMD lock, PTE lock, the folio's map lock, as lockdep.c
 * ranks them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mthp/sched.h>

#include "common/rng.h"
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pageout.h"
#include "sim/pgtable.h"
#include "sim/rmap.h"
#include "sim/vma.h"
#include "sim/world.h"

/* The folios of a window a MIGRATE point walks at most (the first ones). */
#define RMAP_MIGRATE_MAX 4

/* What a walk does: its name is the kernel function its messages name. */
enum rmap_kind {
	RMAP_AGE,		/* folio_referenced() */
	RMAP_UNMAP,		/* the same walk, then try_to_unmap() */
	RMAP_MIGRATE,		/* try_to_migrate(), the folio isolated and locked */
};

/* A folio taken for a walk, and where its mappings were when taken. */
struct rmap_target {
	enum rmap_kind kind;
	struct sim_mm *mm;
	struct sim_anon_vma *av;	/* referenced */
	uint64_t addr;			/* a page of the folio mapped there */
	uint32_t head;			/* referenced */
	uint32_t mapcount;		/* at TAKE */
	uint32_t unlinks;		/* av's unlink count at TAKE */
	bool whole;			/* all its mappings in that table, one mm */
};

enum rmap_outcome {
	RMAP_CHECKED,
	RMAP_CONTENDED,
	RMAP_STALE,
};

static void stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* The kernel function a walk of this kind stands for. */
static const char *rmap_kind_name(enum rmap_kind kind)
{
	switch (kind) {
	case RMAP_AGE:
	case RMAP_UNMAP:
		return "folio_referenced";
	case RMAP_MIGRATE:
		return "try_to_migrate";
	}
	return "?";
}

/* Keep the first failure.  Context: any. */
static void rmap_fail(struct sim *sim, const char *fmt, ...)
{
	uint32_t none = 0;
	va_list ap;

	if (!__atomic_compare_exchange_n(&sim->rmap.failed, &none, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(sim->rmap.msg, sizeof(sim->rmap.msg), fmt, ap);
	va_end(ap);
	st_release(&sim->rmap.failed, 2);
	sim_sched_failed();	/* a deterministic schedule's timeline ends here */
}

/* Four PTEs at a time (GCC's and clang's vector extension; SSE2 on x86-64). */
typedef uint32_t pte_vec __attribute__((vector_size(16)));
_Static_assert(sizeof(pte_vec) == 4 * sizeof(uint32_t), "pte_vec holds four PTEs");

/*
 * The PTEs of t mapping a page of the folio at head, their young bits
 * counted in *young and cleared when clear.  Context: the PTE lock of t.
 * Every walk reads the whole table (a folio's pages may be mapped
 * anywhere in it), so the count goes four PTEs at a time.
 */
static uint32_t table_maps(struct sim *sim, struct sim_pte_table *t, uint32_t head,
			   uint32_t *young, bool clear)
{
	uint32_t nr = 1u << sim_pg(sim, head)->order, n = sim->geo.ptes_per_pmd;
	pte_vec vfound = { 0 }, vyoung = { 0 };
	const pte_vec vhead = { head, head, head, head }, vnr = { nr, nr, nr, nr };
	uint32_t found, young_found, i;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (i = 0; i + 4 <= n; i += 4) {
		pte_vec p, maps;

		memcpy(&p, &t->ptes[i], sizeof(p));
		/* a comparison's lanes are -1 or 0 */
		maps = (p & PTE_PRESENT) & (pte_vec)((p >> PTE_PFN_SHIFT) - vhead < vnr);
		vfound += maps;
		vyoung += maps & (p / PTE_YOUNG);
	}
	found = vfound[0] + vfound[1] + vfound[2] + vfound[3];
	young_found = vyoung[0] + vyoung[1] + vyoung[2] + vyoung[3];
	for (; i < n; i++) {
		uint32_t pte = t->ptes[i], maps = pte_present(pte) && pte_pfn(pte) - head < nr;

		found += maps;
		young_found += maps && (pte & PTE_YOUNG);
	}
	*young += young_found;
	if (!clear || !young_found)
		return found;
	for (i = 0; i < n; i++) {
		uint32_t pte = t->ptes[i];

		if (pte_present(pte) && pte_pfn(pte) - head < nr)
			st_relaxed(&t->ptes[i], pte & ~PTE_YOUNG);
	}
	return found;
}

/*
 * TAKE the folio mapped by PTE i of t (at addr, in a VMA of av): false
 * when none is.  Context: mmap_lock held, or the table detached by this
 * thread; the PTE lock of t held.
 */
static bool rmap_take(struct sim_mm *mm, struct sim_anon_vma *av, struct sim_pte_table *t,
		      uint32_t i, uint64_t addr, struct rmap_target *tg)
{
	struct sim *sim = mm->sim;
	uint32_t pte = t->ptes[i], young = 0, found;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (!pte_present(pte) || pte_pfn(pte) == sim->pm.zero_pfn)
		return false;
	tg->kind = RMAP_AGE;
	tg->mm = mm;
	tg->addr = addr;
	tg->head = folio_head(sim, pte_pfn(pte));
	folio_get(sim, tg->head, 1);
	found = table_maps(sim, t, tg->head, &young, false);
	tg->mapcount = folio_mapcount(sim, tg->head);
	tg->whole = found == tg->mapcount && !folio_maybe_shared(sim, tg->head);
	tg->av = anon_vma_get(av);
	tg->unlinks = ld_relaxed(&av->unlinks);
	return true;
}

static void rmap_release(struct sim *sim, struct rmap_target *tg)
{
	anon_vma_put(tg->av);
	folio_put(sim, tg->head, 1);
}

/*
 * CHECK what the walk found (found mappings; the PMD clear when clear):
 * the folio still a folio and, when every mapping of it was in the table
 * walked at TAKE and it is not shared, each of them found and its
 * reference count above them.  True when the counts were compared.
 * Context: the PMD lock of the address and the PTE lock of its table (if
 * any) held, the anon_vma for read.
 */
static bool rmap_check(struct sim *sim, const struct rmap_target *tg, uint32_t found,
		       bool clear)
{
	uint32_t head = tg->head, flags = ld_relaxed(&sim_pg(sim, head)->flags);
	const char *who = rmap_kind_name(tg->kind);
	uint32_t mapcount, ref;

	lockdep_assert_held(LOCK_ANON_VMA, tg->av, LOCK_READ);
	if (!(flags & PG_HEAD) || (flags & PG_BUDDY)) {
		rmap_fail(sim, "%s: pfn %u, held by the walker's reference, "
			  "is no longer a folio head (flags %#x)", who, head, flags);
		return false;
	}
	/* the counts are stable only if the locks held cover every mapping */
	if (!tg->whole || folio_maybe_shared(sim, head))
		return false;
	mapcount = folio_mapcount(sim, head);
	ref = folio_refcount(sim, head);
	if (found == mapcount) {
		if (ref < mapcount + 1)
			rmap_fail(sim, "%s: folio pfn %u has refcount %u, below "
				  "its %u mappings and the walker's reference", who, head, ref,
				  mapcount);
		return true;
	}
	if (clear && tg->kind == RMAP_MIGRATE)
		rmap_fail(sim, "try_to_migrate: mm %u's PMD at %#llx is clear while folio "
			  "pfn %u (order %u), which migration took off the LRU, has %u "
			  "mappings in its table: it was released to the LRU before its page "
			  "table was back under the PMD", tg->mm->id,
			  (unsigned long long)pmd_base(sim, tg->addr), head,
			  sim_pg(sim, head)->order, mapcount);
	else if (clear)
		rmap_fail(sim, "folio_referenced: mm %u's PMD at %#llx is clear while folio "
			  "pfn %u (order %u) still has %u mappings in its table: a page table "
			  "left its PMD without the anon_vma lock held for write", tg->mm->id,
			  (unsigned long long)pmd_base(sim, tg->addr), head,
			  sim_pg(sim, head)->order, mapcount);
	else
		rmap_fail(sim, "%s: folio pfn %u (order %u) has %u mappings, all "
			  "in mm %u's table at %#llx when taken, but the walk found %u there",
			  who, head, sim_pg(sim, head)->order, mapcount, tg->mm->id,
			  (unsigned long long)pmd_base(sim, tg->addr), found);
	return true;
}

/*
 * try_to_unmap() of a folio whose every mapping the walk found in t:
 * locked (tried), then swapped out by the page-out code, which refuses a
 * folio with references other than its mappings and ours.  True when it
 * was unmapped.  Context: the anon_vma for read, the PTE lock of t held.
 */
static bool rmap_unmap(const struct rmap_target *tg, struct sim_pte_table *t)
{
	struct sim *sim = tg->mm->sim;
	bool done;

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	if (!folio_trylock(sim, tg->head))
		return false;
	done = pageout_folio(tg->mm, t, tg->head, 1) == 0;
	folio_unlock(sim, tg->head);
	return done;
}

/*
 * LOCK, WALK and CHECK a taken folio; an unmap walk then unmaps it as
 * try_to_unmap() does when the check could see all its mappings.
 * Context: no PMD or PTE lock held, and no anon_vma unless try_lock (a
 * collapse's injection point may hold this one for write); takes and
 * drops the anon_vma for read (tried when try_lock), the PMD and PTE
 * locks.
 */
static enum rmap_outcome rmap_walk(struct sim *sim, struct rmap_target *tg, bool try_lock)
{
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t = NULL;
	uint32_t found = 0, young = 0;
	uint64_t *pmdp, pmd = 0;

	lockdep_assert_not_held(LOCK_PMD, NULL);
	lockdep_assert_not_held(LOCK_PTE, NULL);
	if (!try_lock)
		anon_vma_lock_read(tg->av);
	else if (!anon_vma_trylock_read(tg->av))
		return RMAP_CONTENDED;
	if (ld_relaxed(&tg->av->unlinks) != tg->unlinks) {
		anon_vma_unlock_read(tg->av);
		return RMAP_STALE;
	}
	pmdp = pmd_lookup(tg->mm, tg->addr, false, &pmdt);
	if (pmdp) {
		pmd_lock(pmdt);
		pmd = ld_acquire(pmdp);
		if (pmd_is_table(pmd)) {
			t = pmd_table(pmd);
			pte_lock(t);
			/* try_to_migrate() reads no young bit: aging clears them */
			found = table_maps(sim, t, tg->head, &young,
					   tg->kind != RMAP_MIGRATE);
		} else if (pmd_is_huge(pmd) && pmd_pfn(pmd) == tg->head) {
			found = 1;
		}
	}
	if (rmap_check(sim, tg, found, pmd_is_none(pmd))) {
		stat_add(&sim->rmap.stats.compared, 1);
		if (tg->kind == RMAP_UNMAP && t && found && rmap_unmap(tg, t))
			stat_add(&sim->rmap.stats.unmapped, 1);
	}
	if (t)
		pte_unlock(t);
	if (pmdp)
		pmd_unlock(pmdt);
	anon_vma_unlock_read(tg->av);
	stat_add(&sim->rmap.stats.young, tg->kind == RMAP_MIGRATE ? 0 : young);
	return RMAP_CHECKED;
}

/* Count a walk's outcome.  Context: any. */
static void rmap_count(struct sim *sim, enum rmap_outcome r)
{
	stat_add(&sim->rmap.stats.walks, 1);
	switch (r) {
	case RMAP_CHECKED:
		stat_add(&sim->rmap.stats.checked, 1);
		break;
	case RMAP_CONTENDED:
		stat_add(&sim->rmap.stats.contended, 1);
		break;
	case RMAP_STALE:
		stat_add(&sim->rmap.stats.stale, 1);
		break;
	}
}

void rmap_walk_beside_window(struct sim_mm *mm, struct sim_anon_vma *av,
			     struct sim_pte_table *t, uint64_t pmd_addr,
			     uint32_t off, uint32_t nr)
{
	struct sim *sim = mm->sim;
	uint32_t last = SIM_NO_PFN;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	for (uint32_t i = 0; i < sim->geo.ptes_per_pmd; i++) {
		struct rmap_target tg;
		bool taken;

		if (i >= off && i < off + nr)
			continue;
		pte_lock(t);
		taken = pte_present(t->ptes[i]) &&
			folio_head(sim, pte_pfn(t->ptes[i])) != last &&
			rmap_take(mm, av, t, i, pmd_addr + (uint64_t)i * sim->geo.page_size,
				  &tg);
		pte_unlock(t);
		if (!taken)
			continue;
		last = tg.head;
		rmap_count(sim, rmap_walk(sim, &tg, true));
		rmap_release(sim, &tg);
	}
}

/*
 * Compaction's migration of a taken folio: isolated from the LRU, locked
 * (tried), walked by try_to_migrate() (the anon_vma waited for, or tried
 * when try_lock), unlocked and put back.  A folio off the LRU or locked
 * is left alone, unwalked.  Context: as rmap_walk().
 */
static void rmap_migrate(struct sim *sim, struct rmap_target *tg, bool try_lock)
{
	tg->kind = RMAP_MIGRATE;
	stat_add(&sim->rmap.stats.migrate_taken, 1);
	if (!folio_test_clear_flag(sim, tg->head, PG_LRU))
		return;
	if (folio_trylock(sim, tg->head)) {
		stat_add(&sim->rmap.stats.migrate_walked, 1);
		rmap_count(sim, rmap_walk(sim, tg, try_lock));
		folio_unlock(sim, tg->head);
	}
	/* put back, at once: the walker has no LRU add batch */
	folio_set_flag(sim, tg->head, PG_LRU);
}

void rmap_migrate_window(struct sim_mm *mm, struct sim_anon_vma *av,
			 struct sim_pte_table *t, uint64_t pmd_addr, uint32_t off,
			 uint32_t nr)
{
	struct sim *sim = mm->sim;
	struct rmap_target tg[RMAP_MIGRATE_MAX];
	uint32_t n = 0, last = SIM_NO_PFN;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	pte_lock(t);
	for (uint32_t i = off; i < off + nr && n < RMAP_MIGRATE_MAX; i++) {
		uint32_t pte = t->ptes[i];

		if (!pte_present(pte) || folio_head(sim, pte_pfn(pte)) == last)
			continue;
		if (rmap_take(mm, av, t, i, pmd_addr + (uint64_t)i * sim->geo.page_size,
			      &tg[n]))
			last = tg[n++].head;
	}
	pte_unlock(t);
	for (uint32_t k = 0; k < n; k++) {
		rmap_migrate(sim, &tg[k], true);
		rmap_release(sim, &tg[k]);
	}
}

/* The walker thread's next random number.  Context: the walker thread. */
static uint64_t rmap_random(struct sim *sim)
{
	return mthp_rng_at(sim->seed ^ 0x726d6170ull, sim->rmap.rng_counter++);
}

/* A live mm of the list, referenced, or NULL.  Context: takes the mm list lock. */
static struct sim_mm *rmap_pick_mm(struct sim *sim, uint64_t r)
{
	struct sim_mm *mm, *pick = NULL;
	uint64_t n = 0;

	mm_list_lock(sim);
	for (mm = sim->mm_list; mm; mm = mm->next)
		n++;
	if (n) {
		n = r % n;
		for (mm = sim->mm_list; n; mm = mm->next)
			n--;
		if (!ld_relaxed(&mm->exiting)) {
			__atomic_add_fetch(&mm->refs, 1, __ATOMIC_RELAXED);
			pick = mm;
		}
	}
	mm_list_unlock(sim);
	return pick;
}

/*
 * TAKE a folio at a random page of a random VMA of mm: false when none is
 * mapped there.  Context: takes and drops mmap_lock for read and a PTE lock.
 */
static bool rmap_take_random(struct sim_mm *mm, struct rmap_target *tg)
{
	struct sim *sim = mm->sim;
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;
	struct sim_anon_vma *av;
	bool taken = false;
	uint64_t *pmdp;

	mmap_read_lock(mm);
	if (!ld_relaxed(&mm->exiting) && mm->nr_vmas) {
		const struct sim_vma *v = &mm->vmas[rmap_random(sim) % mm->nr_vmas];
		uint64_t pages = (v->end - v->start) >> sim->page_shift;
		uint64_t addr = v->start + ((rmap_random(sim) % pages) << sim->page_shift);

		av = ld_acquire(&v->anon_vma);
		if (av && pmd_lookup_kind(mm, addr, &pmdp, &pmdt, &t) == MTHP_PMD_TABLE) {
			pte_lock(t);
			taken = rmap_take(mm, av, t, pte_index(sim, addr), addr, tg);
			pte_unlock(t);
		}
	}
	mmap_unlock(mm);
	return taken;
}

/* One walk of a random folio.  Context: no lock held. */
static void rmap_walk_random(struct sim *sim)
{
	uint64_t r = rmap_random(sim);
	struct rmap_target tg;
	struct sim_mm *mm;

	world_enter(sim);
	mm = rmap_pick_mm(sim, r >> 1);
	/* one walk in 8 is reclaim's unmap and one compaction's migration,
	 * which wait for the lock */
	if (mm && rmap_take_random(mm, &tg)) {
		if ((r & 7) == 4) {
			rmap_migrate(sim, &tg, false);
		} else {
			tg.kind = (r & 7) == 0 ? RMAP_UNMAP : RMAP_AGE;
			rmap_count(sim, rmap_walk(sim, &tg, tg.kind == RMAP_AGE));
		}
		rmap_release(sim, &tg);
	}
	world_exit(sim);
	if (mm)
		mm_put(mm);
}

static void *rmap_walker_thread(void *arg)
{
	struct sim *sim = arg;

	while (!ld_relaxed(&sim->rmap.stop)) {
		rmap_walk_random(sim);
		sim_thread_yield();
	}
	return NULL;
}

int sim_rmap_walker_start(struct sim *sim)
{
	int err;

	if (sim->rmap.running)
		return -EBUSY;
	st_relaxed(&sim->rmap.stop, false);
	err = sim_thread_start(&sim->rmap.thread, "rmap walker", rmap_walker_thread, sim);
	if (!err)
		sim->rmap.running = true;
	return err;
}

void sim_rmap_walker_stop(struct sim *sim)
{
	if (!sim->rmap.running)
		return;
	st_relaxed(&sim->rmap.stop, true);
	sim_thread_join(sim->rmap.thread);
	sim->rmap.running = false;
}

void rmap_destroy(struct sim *sim)
{
	sim_rmap_walker_stop(sim);
}

const char *sim_rmap_failure(struct sim *sim)
{
	return ld_acquire(&sim->rmap.failed) == 2 ? sim->rmap.msg : NULL;
}

void sim_rmap_stats(struct sim *sim, struct sim_rmap_stats *out)
{
	const struct sim_rmap_stats *s = &sim->rmap.stats;

	out->walks = ld_relaxed(&s->walks);
	out->contended = ld_relaxed(&s->contended);
	out->stale = ld_relaxed(&s->stale);
	out->checked = ld_relaxed(&s->checked);
	out->compared = ld_relaxed(&s->compared);
	out->young = ld_relaxed(&s->young);
	out->unmapped = ld_relaxed(&s->unmapped);
	out->migrate_taken = ld_relaxed(&s->migrate_taken);
	out->migrate_walked = ld_relaxed(&s->migrate_walked);
}
