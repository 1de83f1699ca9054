// SPDX-License-Identifier: MIT
/*
 * gup.c - the GUP-fast walker: get_user_pages_fast() of one page at a
 * time, in a thread of its own, beside khugepaged, the rmap walker and
 * the mutators.  It stands for a thread of the process pinning a page of
 * its own memory (for direct I/O, say) by the kernel's lockless walk:
 *
 *   ADDR    [mmap_lock read]  a random page of a random VMA: the address
 *           the caller has (the lock only to read the VMA list; dropped)
 *   IRQOFF  local_irq_disable() (tlbflush.c): from here every IPI waits
 *   PMD     the PMD entry, read with no lock; none or the huge zero page:
 *           nothing to pin
 *   PTE     under a table, its PTE, read with no lock; not present or the
 *           zero page: nothing to pin
 *   GRAB    the speculative reference on the page (try_grab_folio());
 *           a walk in four stalls after PMD and after GRAB (a yield: a
 *           vCPU with interrupts off is not a fast one)
 *   RECHECK the PMD and the PTE read again: either changed, the reference
 *           is dropped and the walk backs off (gup_fast_pte_range())
 *   IRQON   local_irq_enable()
 *   HOLD    a pin that passed its re-check is held a step (the I/O),
 *           then dropped
 *
 * A scheduling point separates each step, so that a deterministic
 * schedule can stop the walk between any two.  What guards the walk is
 * the collapse's side: the PMD cleared, then the TLB flush's IPI or
 * tlb_remove_table_sync_one() waits out every walk in progress, then the
 * isolation's refcount check sees every pin.  Two checks hold it to
 * that: pgtable_deposit() fails when a walk still reads the table a
 * collapse deposits (from then on the table may be freed at once), and a
 * collapse's COPY fails when a folio it replaces is pinned.  Each is a
 * sim_bug() naming what broke.
 *
 * The walker's reference is kept in its CPU's slot (tlbflush.c), not in
 * the folio's count: gup_fast_pins() adds it to the count the isolation
 * checks.  So the walk never writes a folio's descriptor, which the
 * simulator's buddy allocator reuses for its free lists (the kernel's
 * try_grab_folio() fails on a count of zero instead).
 */
#include <errno.h>
#include <stdlib.h>

#include <mthp/sched.h>
#include <mthp/sim.h>

#include "common/rng.h"
#include "sim/gup.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/pgtable.h"
#include "sim/tlbflush.h"
#include "sim/vma.h"
#include "sim/world.h"

struct gup_walker {
	struct sim *sim;
	struct sim_mm *mm;		/* referenced */
	struct sim_thread *thread;
	struct gup_cpu *cpu;
	bool stop;			/* atomic */
	uint64_t stream;		/* its random numbers' */
	uint64_t rng_counter;		/* the walker thread's only */
	struct sim_gup_fast_stats stats;	/* atomic fields */
};

/* The one walker, the starting thread's (start, stop, stats). */
static struct gup_walker *walker;

enum gup_outcome {
	GUP_PINNED,
	GUP_BACKED_OFF,
	GUP_NOTHING,
};

static void stat_inc(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* Context: the walker thread. */
static uint64_t gup_random(struct gup_walker *g)
{
	return mthp_rng_at(mthp_rng_at(g->sim->seed ^ 0x67757066ull, g->stream),
			   g->rng_counter++);
}

/*
 * ADDR: a random page of a random VMA of the walker's mm; false when it
 * has none.  Context: takes and drops mmap_lock for read.
 */
static bool gup_pick_addr(struct gup_walker *g, uint64_t *addr)
{
	struct sim_mm *mm = g->mm;
	struct sim *sim = g->sim;
	bool found = false;

	mmap_read_lock(mm);
	if (!ld_relaxed(&mm->exiting) && mm->nr_vmas) {
		const struct sim_vma *v = &mm->vmas[gup_random(g) % mm->nr_vmas];
		uint64_t pages = (v->end - v->start) >> sim->page_shift;

		*addr = v->start + ((gup_random(g) % pages) << sim->page_shift);
		found = true;
	}
	mmap_unlock(mm);
	return found;
}

/*
 * PMD to RECHECK of one page, interrupts off.  Context: no lock held; the
 * walk's interrupts-off section.
 */
static enum gup_outcome gup_fast_walk(struct gup_walker *g, uint64_t addr)
{
	struct sim *sim = g->sim;
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;
	uint64_t *pmdp, pmd;
	uint32_t pte, pfn, i = pte_index(sim, addr);

	pmdp = pmd_lookup(g->mm, addr, false, &pmdt);
	if (!pmdp)
		return GUP_NOTHING;
	pmd = ld_acquire(pmdp);
	sim_sched_note("gup_fast: PMD read");
	if (pmd_is_none(pmd) || (pmd_is_huge(pmd) && (pmd & PMD_ZERO)))
		return GUP_NOTHING;
	if (pmd_is_huge(pmd)) {
		/* gup_fast_pmd_leaf(): the page of the huge folio */
		pfn = pmd_pfn(pmd) + i;
		gup_cpu_set_pin(g->cpu, pfn);
		sim_sched_note("gup_fast: grabbed");
		if (ld_acquire(pmdp) != pmd) {
			gup_cpu_set_pin(g->cpu, SIM_NO_PFN);
			return GUP_BACKED_OFF;
		}
		return GUP_PINNED;
	}
	t = pmd_table(pmd);
	gup_cpu_set_table(g->cpu, t);
	/* interrupts off do not make a CPU fast: a vCPU may stall here */
	if (gup_random(g) % 4 == 0)
		sim_thread_yield();
	pte = ld_acquire(&t->ptes[i]);
	sim_sched_note("gup_fast: PTE read");
	if (!pte_present(pte) || pte_pfn(pte) == sim->pm.zero_pfn)
		return GUP_NOTHING;
	gup_cpu_set_pin(g->cpu, pte_pfn(pte));
	sim_sched_note("gup_fast: grabbed");
	if (gup_random(g) % 4 == 0)
		sim_thread_yield();	/* a stall before the re-check too */
	if (ld_acquire(pmdp) != pmd || ld_acquire(&t->ptes[i]) != pte) {
		gup_cpu_set_pin(g->cpu, SIM_NO_PFN);
		return GUP_BACKED_OFF;
	}
	return GUP_PINNED;
}

/* One get_user_pages_fast() of a random page.  Context: no lock held. */
static void gup_fast_one(struct gup_walker *g)
{
	enum gup_outcome outcome;
	uint64_t addr;

	if (!gup_pick_addr(g, &addr))
		return;
	stat_inc(&g->stats.walks);
	gup_irq_disable(g->cpu);
	outcome = gup_fast_walk(g, addr);
	gup_irq_enable(g->cpu);
	switch (outcome) {
	case GUP_PINNED:
		stat_inc(&g->stats.pinned);
		sim_sched_note("gup_fast: I/O on the pinned page");
		gup_cpu_set_pin(g->cpu, SIM_NO_PFN);	/* unpin_user_page() */
		break;
	case GUP_BACKED_OFF:
		stat_inc(&g->stats.backed_off);
		break;
	case GUP_NOTHING:
		stat_inc(&g->stats.nothing);
		break;
	}
}

static void *gup_walker_thread(void *arg)
{
	struct gup_walker *g = arg;

	while (!ld_relaxed(&g->stop)) {
		gup_fast_one(g);
		sim_thread_yield();
	}
	return NULL;
}

int sim_gup_fast_walker_start(struct sim *sim, struct sim_mm *mm, uint64_t stream)
{
	struct gup_walker *g;
	int err;

	if (walker)
		return -EBUSY;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->cpu = gup_cpu_get();
	if (!g->cpu) {
		free(g);
		return -EBUSY;
	}
	g->sim = sim;
	g->mm = mm;
	g->stream = stream;
	__atomic_add_fetch(&mm->refs, 1, __ATOMIC_RELAXED);
	err = sim_thread_start(&g->thread, "GUP-fast walker", gup_walker_thread, g);
	if (err) {
		mm_put(mm);
		gup_cpu_put(g->cpu);
		free(g);
		return err;
	}
	walker = g;
	return 0;
}

void sim_gup_fast_walker_stop(struct sim *sim, struct sim_gup_fast_stats *add)
{
	struct gup_walker *g = walker;

	if (!g || g->sim != sim)
		return;
	st_relaxed(&g->stop, true);
	sim_thread_join(g->thread);
	if (add) {
		add->walks += ld_relaxed(&g->stats.walks);
		add->pinned += ld_relaxed(&g->stats.pinned);
		add->backed_off += ld_relaxed(&g->stats.backed_off);
		add->nothing += ld_relaxed(&g->stats.nothing);
	}
	gup_cpu_put(g->cpu);
	mm_put(g->mm);
	free(g);
	walker = NULL;
}

void gup_destroy(struct sim *sim)
{
	sim_gup_fast_walker_stop(sim, NULL);
}
