// SPDX-License-Identifier: MIT
/*
 * run.c - running a scenario in the simulator (docs/scenarios.md).
 *
 * One thread, simulated time that jumps from event to event.  Every
 * process starts its first phase at time 0; a phase's action is done when
 * it starts (fill, random, cluster, read, fork, pageout, free, dontneed,
 * advise) or at every tick while it lasts (hot, heap).  Ticks come every
 * scan_sleep_millisecs (at least 1 ms), from time 0: after the phases'
 * work of a tick, khugepaged wakes once (unless the run is the no-collapse
 * baseline, which still does the ticks' work).  A phase ends when its
 * duration has passed, before a tick at the same time; the run ends when
 * every process has ended its last phase.  The workload's
 * random choices come from its own generator seeded by the run's seed, so
 * every policy sees the same writes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/scenario.h>
#include <mthp/sim.h>
#include <mthp/tlb.h>

#include "common/array.h"
#include "common/msg.h"
#include "common/names.h"
#include "common/rng.h"
#include "scenario/watch.h"

/* Told apart from the run's seed, which the simulator draws from. */
#define WORKLOAD_STREAM 0x776f726b6c6f6164ull	/* "workload" */

/*
 * Process i's VMAs start at PROCESS_TOP - (nr_processes - 1 - i) spans: a
 * single process at PROCESS_TOP, as a real one near the top of a 47-bit
 * address space, and every process below that top, in increasing order
 * (the final snapshot lists them in order).
 */
#define PROCESS_TOP 0x7f0000000000ull
#define PROCESS_SPAN (1ull << 40)	/* address space per process */
#define MIN_TICK_NS 1000000ull		/* with scan_sleep_millisecs 0 */

/*
 * The one layout of the VMAs: each process's from its span's base, each
 * VMA aligned and followed by a guard gap of its alignment (so that
 * neighbouring VMAs do not merge).  Fills addr[v] when addr is not NULL;
 * returns the first VMA that does not fit in its span (sc->nr_vmas when
 * all fit), stopping there.
 */
static size_t vma_layout(const struct mthp_scenario *sc, uint64_t *addr)
{
	for (size_t i = 0; i < sc->nr_processes; i++) {
		uint64_t base = PROCESS_TOP - (sc->nr_processes - 1 - i) * PROCESS_SPAN;
		uint64_t cursor = base;

		for (size_t v = 0; v < sc->nr_vmas; v++) {
			const struct mthp_scenario_vma *sv = &sc->vmas[v];
			uint64_t at;

			if (sv->process != i)
				continue;
			/* each at most a span: the sums below cannot wrap */
			if (sv->align > PROCESS_SPAN || sv->size > PROCESS_SPAN ||
			    sv->pmd_offset > PROCESS_SPAN || cursor > base + PROCESS_SPAN)
				return v;
			at = ((cursor + sv->align - 1) & ~(sv->align - 1)) + sv->pmd_offset;
			if (at + sv->size > base + PROCESS_SPAN)
				return v;
			if (addr)
				addr[v] = at;
			cursor = at + sv->size + sv->align;
		}
	}
	return sc->nr_vmas;
}

void mthp_scenario_vma_addresses(const struct mthp_scenario *sc, uint64_t *addr)
{
	(void)vma_layout(sc, addr);	/* a scenario read has no misfit */
}

size_t mthp_scenario_vma_misfit(const struct mthp_scenario *sc)
{
	return vma_layout(sc, NULL);
}

struct heap_object {
	uint64_t page;			/* first page, in the phase's range */
	uint64_t nr;			/* pages */
};

/* A running process. */
struct proc {
	struct sim_mm *mm;
	unsigned memcg;			/* 0: the root cgroup, no limit */
	uint64_t memcg_limit_pages;
	size_t phase;			/* index into sc->phases, or nr_phases */
	bool started;
	uint64_t phase_start_ns;
	struct sim_mm *child;		/* fork phase */
	/* heap phase */
	struct heap_object *objects;
	size_t nr_objects, cap_objects;
	uint8_t *heap_used;		/* one byte per page of the phase's range */
};

#define SCENARIO_CHECK_EVERY 4096

struct run {
	size_t cap_samples;		/* of out->timeline */
	const struct mthp_scenario *sc;
	const struct mthp_settings *settings;
	struct sim *sim;
	struct proc *procs;
	struct mthp_rng rng;		/* the workload's choices */
	uint64_t next_tag;
	uint8_t **written;		/* per vma: one bit per page written */
	/* per vma: one bit per page a collapse zero-filled and nothing
	 * wrote or freed since */
	uint8_t **stale;
	uint64_t *vma_addr;		/* per vma: where it is mapped */
	struct mthp_run_report *out;
	struct run_watch watch;		/* the collapses, and the report at the end */
	int error;
	struct mthp_diag *diag;
};

static void run_fail(struct run *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void run_fail(struct run *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->error)
		return;
	r->error = err ? err : -EINVAL;
	va_start(ap, fmt);
	mthp_vmsg(r->diag->msg, sizeof(r->diag->msg), fmt, ap);
	va_end(ap);
}

/* Uniform in [0, n) for n >= 1, n up to 2^64 - 1. */
static uint64_t rnd_below(struct run *r, uint64_t n)
{
	return mthp_rng_next(&r->rng) % n;
}

static uint64_t page_size(const struct run *r)
{
	return r->sc->page_size;
}

/* ---- the workload's operations ---- */

static uint64_t phase_base(const struct run *r, const struct mthp_scenario_phase *ph)
{
	return r->vma_addr[ph->vma] + ph->offset;
}

static uint64_t phase_pages(const struct run *r, const struct mthp_scenario_phase *ph)
{
	return ph->length / page_size(r);
}

/*
 * A write found no memory: the page stays unwritten, and the report says
 * why (the process's cgroup at its limit, or the machine full).
 */
static void write_failed(struct run *r, const struct proc *p)
{
	if (p->memcg && sim_memcg_usage(r->sim, p->memcg) + 1 > p->memcg_limit_pages)
		r->out->writes_failed[MTHP_WRITE_FAIL_MEMCG]++;
	else
		r->out->writes_failed[MTHP_WRITE_FAIL_MEMORY]++;
}

static void write_page(struct run *r, struct proc *p, const struct mthp_scenario_phase *ph,
		       uint64_t addr, uint64_t page)
{
	uint64_t vma_page = ph->offset / page_size(r) + page;
	int err = sim_write(p->mm, addr, ++r->next_tag);

	if (err == -ENOMEM)
		return write_failed(r, p);
	if (err)
		return run_fail(r, err, "phase '%s': write at %llx failed (%s)", ph->label,
				(unsigned long long)addr, strerror(-err));
	r->written[ph->vma][vma_page / 8] |= (uint8_t)(1u << (vma_page % 8));
	r->stale[ph->vma][vma_page / 8] &= (uint8_t)~(1u << (vma_page % 8));
}

static void write_pages(struct run *r, struct proc *p, const struct mthp_scenario_phase *ph,
			uint64_t base, uint64_t first, uint64_t nr)
{
	for (uint64_t i = first; i < first + nr && !r->error; i++)
		write_page(r, p, ph, base + i * page_size(r), i);
}

/*
 * The scenario VMA holding addr and the page's index in it; false when no
 * VMA does.
 */
static bool vma_page_of(const struct run *r, uint64_t addr, size_t *v, uint64_t *pg)
{
	for (size_t i = 0; i < r->sc->nr_vmas; i++) {
		uint64_t start = r->vma_addr[i];

		if (addr >= start && addr < start + r->sc->vmas[i].size) {
			*v = i;
			*pg = (addr - start) / page_size(r);
			return true;
		}
	}
	return false;
}

/* What stale_pages() does to the stale bits of a run of pages. */
enum stale_op {
	STALE_COUNT,		/* count them where mark is clear (mark NULL: all) */
	STALE_SET,		/* set them where mark is set */
	STALE_CLEAR,		/* clear them all */
};

/* Apply op to the stale bits of n pages from addr (bit i of mark: page i). */
static uint64_t stale_pages(struct run *r, uint64_t addr, uint64_t n,
			    const uint64_t *mark, enum stale_op op)
{
	uint64_t count = 0, pg;
	size_t v;

	if (!vma_page_of(r, addr, &v, &pg))
		return 0;
	n = n < r->sc->vmas[v].size / page_size(r) - pg ? n : r->sc->vmas[v].size / page_size(r) - pg;
	for (uint64_t i = 0; i < n; i++, pg++) {
		uint8_t bit = (uint8_t)(1u << (pg % 8));
		bool marked = mark && (mark[i / 64] & (1ull << (i % 64)));

		switch (op) {
		case STALE_COUNT:
			count += !marked && (r->stale[v][pg / 8] & bit);
			break;
		case STALE_SET:
			if (marked)
				r->stale[v][pg / 8] |= bit;
			break;
		case STALE_CLEAR:
			r->stale[v][pg / 8] &= (uint8_t)~bit;
			break;
		}
	}
	return count;
}

/*
 * The workload freed, paged out or split [addr, addr + len): a collapsed
 * folio there is gone, so a later collapse of the window is no re-collapse.
 */
static void forget_collapses(struct run *r, struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	stale_pages(r, addr, len / page_size(r), NULL, STALE_CLEAR);
	run_watch_forget(&r->watch, sim_mm_id(mm), addr, len);
}

/*
 * The first page of a run of len pages in [0, pages): anywhere, or at a
 * multiple of len when aligned (as an allocator's size classes place them).
 */
static uint64_t pick_run(struct run *r, uint64_t pages, uint64_t len, bool aligned)
{
	if (aligned)
		return rnd_below(r, pages / len) * len;
	return rnd_below(r, pages - len + 1);
}

static void advise_run(struct run *r, struct sim_mm *mm, uint64_t base, uint64_t first,
		       uint64_t len, enum sim_madv advice)
{
	int err = sim_madvise(mm, base + first * page_size(r), len * page_size(r), advice);

	forget_collapses(r, mm, base + first * page_size(r), len * page_size(r));
	/* PAGEOUT without swap space is not an error of the scenario */
	if (err && err != -ENOMEM && err != -ENOSPC)
		run_fail(r, err, "madvise at %llx failed (%s)",
			 (unsigned long long)(base + first * page_size(r)), strerror(-err));
}

/* madvise runs of run_pages pages at random places (a hash table's buckets). */
static void advise_runs(struct run *r, struct sim_mm *mm, uint64_t base, uint64_t pages,
			const struct mthp_scenario_phase *ph, enum sim_madv advice)
{
	uint64_t len = ph->run_pages < pages ? ph->run_pages : pages;

	for (uint32_t k = 0; k < ph->runs && !r->error; k++)
		advise_run(r, mm, base, pick_run(r, pages, len, ph->aligned), len, advice);
}

/* madvise the pages chosen with probability density, run by run. */
/* Whether the phase works on page i: its pages list, or a draw at chance. */
static bool page_chosen(struct run *r, const struct mthp_scenario_phase *ph, uint64_t i,
			double chance)
{
	if (!ph->nr_pages)
		return mthp_rng_chance(&r->rng, chance);
	for (unsigned k = 0; k < ph->nr_pages && ph->pages[k].first <= i; k++)
		if (i <= ph->pages[k].last)
			return true;
	return false;
}

static void advise_random(struct run *r, struct sim_mm *mm, uint64_t base, uint64_t pages,
			  double density, enum sim_madv advice)
{
	uint64_t run_start = 0, run_len = 0;

	for (uint64_t i = 0; i <= pages && !r->error; i++) {
		bool pick = i < pages && mthp_rng_chance(&r->rng, density);

		if (pick) {
			if (!run_len)
				run_start = i;
			run_len++;
			continue;
		}
		if (run_len) {
			advise_run(r, mm, base, run_start, run_len, advice);
			run_len = 0;
		}
	}
}

/* heap: place objects until the live share is reached. */
static void heap_place(struct run *r, struct proc *p, const struct mthp_scenario_phase *ph)
{
	uint64_t pages = phase_pages(r, ph), base = phase_base(r, ph);
	uint64_t used = 0, target = (uint64_t)(ph->live * (double)pages);
	uint32_t total_weight = 0;

	for (uint64_t i = 0; i < pages; i++)
		used += p->heap_used[i];
	for (unsigned i = 0; i < ph->nr_sizes; i++)
		total_weight += ph->sizes[i].weight;
	for (unsigned tries = 0; used < target && tries < 64 && !r->error;) {
		uint32_t pick = mthp_rng_below(&r->rng, total_weight);
		uint64_t size = ph->sizes[0].size, nr, start, run = 0;
		unsigned k;

		for (k = 0; k < ph->nr_sizes && pick >= ph->sizes[k].weight; k++)
			pick -= ph->sizes[k].weight;
		size = ph->sizes[k < ph->nr_sizes ? k : 0].size;
		nr = (size + page_size(r) - 1) / page_size(r);
		/* first fit from a random place */
		start = rnd_below(r, pages);
		for (uint64_t i = 0; i < pages && run < nr; i++) {
			uint64_t at = (start + i) % pages;

			if (at == 0)
				run = 0;
			run = p->heap_used[at] ? 0 : run + 1;
			if (run == nr) {
				start = at + 1 - nr;
				break;
			}
		}
		if (run < nr) {
			tries++;
			continue;
		}
		if (mthp_array_grow((void **)&p->objects, &p->cap_objects, p->nr_objects,
				    sizeof(*p->objects)))
			return run_fail(r, -ENOMEM, "out of memory");
		p->objects[p->nr_objects++] = (struct heap_object){ start, nr };
		memset(p->heap_used + start, 1, nr);
		used += nr;
		write_pages(r, p, ph, base, start, nr);
	}
}

/* heap: free a share of the objects (MADV_DONTNEED), then place new ones. */
static void heap_churn(struct run *r, struct proc *p, const struct mthp_scenario_phase *ph)
{
	uint64_t base = phase_base(r, ph);

	for (size_t i = 0; i < p->nr_objects && !r->error;) {
		struct heap_object *o = &p->objects[i];
		int err;

		if (!mthp_rng_chance(&r->rng, ph->churn)) {
			i++;
			continue;
		}
		err = sim_madvise(p->mm, base + o->page * page_size(r), o->nr * page_size(r),
				  SIM_MADV_DONTNEED);
		forget_collapses(r, p->mm, base + o->page * page_size(r), o->nr * page_size(r));
		if (err)
			return run_fail(r, err, "phase '%s': dontneed failed (%s)", ph->label,
					strerror(-err));
		memset(p->heap_used + o->page, 0, o->nr);
		*o = p->objects[--p->nr_objects];
	}
	heap_place(r, p, ph);
}

static void heap_end(struct proc *p)
{
	free(p->objects);
	free(p->heap_used);
	p->objects = NULL;
	p->heap_used = NULL;
	p->nr_objects = p->cap_objects = 0;
}

/* The work a phase does when it starts. */
static void phase_begin(struct run *r, struct proc *p, const struct mthp_scenario_phase *ph)
{
	bool has_vma = mthp_scenario_action_has_vma(ph->action);
	uint64_t base = has_vma ? phase_base(r, ph) : 0;
	uint64_t pages = has_vma ? phase_pages(r, ph) : 0;

	switch (ph->action) {
	case MTHP_ACT_FILL:
		write_pages(r, p, ph, base, 0, pages);
		break;
	case MTHP_ACT_RANDOM:
		for (uint64_t i = 0; i < pages && !r->error; i++)
			if (page_chosen(r, ph, i, ph->density))
				write_page(r, p, ph, base + i * page_size(r), i);
		break;
	case MTHP_ACT_CLUSTER:
		for (uint32_t k = 0; k < ph->runs && !r->error; k++) {
			uint64_t len = ph->run_pages < pages ? ph->run_pages : pages;

			write_pages(r, p, ph, base, pick_run(r, pages, len, ph->aligned), len);
		}
		break;
	case MTHP_ACT_READ:
		for (uint64_t i = 0; i < pages && !r->error; i++) {
			uint64_t tag;

			if (page_chosen(r, ph, i, ph->density) &&
			    sim_read(p->mm, base + i * page_size(r), &tag) == -EFAULT)
				run_fail(r, -EFAULT, "phase '%s': read fault failed", ph->label);
		}
		break;
	case MTHP_ACT_HOT:
		break;
	case MTHP_ACT_HEAP:
		p->heap_used = calloc(pages, 1);
		if (!p->heap_used)
			return run_fail(r, -ENOMEM, "out of memory");
		heap_place(r, p, ph);
		break;
	case MTHP_ACT_FORK: {
		int err;

		/* one child at a time: one that lives on ends at the next fork */
		if (p->child) {
			sim_exit(p->child);
			p->child = NULL;
		}
		err = sim_fork(p->mm, &p->child);

		if (err)
			return run_fail(r, err, "phase '%s': fork failed (%s)", ph->label,
					strerror(-err));
		for (uint64_t i = 0; i < pages && !r->error; i++) {
			if (!page_chosen(r, ph, i, ph->child_writes))
				continue;
			err = sim_write(p->child, base + i * page_size(r), ++r->next_tag);
			if (err == -ENOMEM)
				write_failed(r, p);	/* the child is in p's cgroup */
			else if (err)
				run_fail(r, err, "phase '%s': child write failed (%s)",
					 ph->label, strerror(-err));
		}
		break;
	}
	case MTHP_ACT_PAGEOUT:
	case MTHP_ACT_FREE:
	case MTHP_ACT_DONTNEED: {
		enum sim_madv advice = ph->action == MTHP_ACT_PAGEOUT ? SIM_MADV_PAGEOUT :
				       ph->action == MTHP_ACT_FREE ? SIM_MADV_FREE :
				       SIM_MADV_DONTNEED;

		if (ph->nr_pages)
			for (unsigned k = 0; k < ph->nr_pages && !r->error; k++)
				advise_run(r, p->mm, base, ph->pages[k].first,
					   ph->pages[k].last - ph->pages[k].first + 1, advice);
		else if (ph->by_runs)
			advise_runs(r, p->mm, base, pages, ph, advice);
		else
			advise_random(r, p->mm, base, pages, ph->density, advice);
		break;
	}
	case MTHP_ACT_ADVISE: {
		int err = sim_madvise(p->mm, base, ph->length, ph->advice == MTHP_VMA_HUGEPAGE ?
				      SIM_MADV_HUGEPAGE : SIM_MADV_NOHUGEPAGE);

		if (err)
			run_fail(r, err, "phase '%s': madvise failed (%s)", ph->label, strerror(-err));
		break;
	}
	case MTHP_ACT_SLEEP:
		break;
	case MTHP_ACT_CHILD_EXIT:
		if (p->child) {
			sim_exit(p->child);
			p->child = NULL;
		}
		break;
	case MTHP_ACT_SHRINK: {
		struct sim_shrink_result res;
		int err = sim_shrink(r->sim, -1, &res);

		if (err)
			run_fail(r, err, "phase '%s': the shrinker failed (%s)", ph->label,
				 strerror(-err));
		break;
	}
	}
}

/* The work a phase does at every tick. */
static void phase_tick(struct run *r, struct proc *p, const struct mthp_scenario_phase *ph)
{
	uint64_t base, pages;

	switch (ph->action) {
	case MTHP_ACT_HOT:
		base = phase_base(r, ph);
		pages = phase_pages(r, ph);
		if (sim_age(p->mm))
			return run_fail(r, -EINVAL, "phase '%s': aging failed", ph->label);
		/* the hot set is the same pages every tick */
		for (uint64_t i = 0; i < pages && !r->error; i++) {
			uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull;

			if ((double)(h >> 11) * (1.0 / 9007199254740992.0) < ph->hot)
				write_page(r, p, ph, base + i * page_size(r), i);
		}
		break;
	case MTHP_ACT_HEAP:
		heap_churn(r, p, ph);
		break;
	case MTHP_ACT_FILL:
	case MTHP_ACT_RANDOM:
	case MTHP_ACT_CLUSTER:
	case MTHP_ACT_READ:
	case MTHP_ACT_FORK:
	case MTHP_ACT_PAGEOUT:
	case MTHP_ACT_FREE:
	case MTHP_ACT_DONTNEED:
	case MTHP_ACT_ADVISE:
	case MTHP_ACT_SLEEP:
	case MTHP_ACT_CHILD_EXIT:
	case MTHP_ACT_SHRINK:
		break;
	}
}

static void phase_end(struct run *r, struct proc *p, const struct mthp_scenario_phase *ph)
{
	(void)r;
	if (ph->action == MTHP_ACT_FORK && !ph->child_lives && p->child) {
		sim_exit(p->child);
		p->child = NULL;
	}
	if (ph->action == MTHP_ACT_HEAP)
		heap_end(p);
}

/* ---- setting up ---- */

static int setup_machine(struct run *r, uint64_t seed)
{
	const struct mthp_scenario *sc = r->sc;
	struct sim_config cfg = {
		.page_size = sc->page_size,
		.nr_frames = sc->memory / sc->page_size,
		.nr_swap_slots = sc->swap / sc->page_size,
		.swap_device = sc->swap_device,
		.seed = seed,
		.read_fault_alloc = sc->read_fault_alloc,
	};
	int err = sim_create(&r->sim, &cfg, r->settings);

	if (err) {
		run_fail(r, err, "%s: cannot create the simulated machine (%s)", sc->file,
			 strerror(-err));
		return err;
	}
	/*
	 * Checked builds walk the whole simulator after every Nth mapping
	 * change.  The simulator's own tests and the stress program check
	 * after every change; a scenario is a workload of thousands of
	 * faults on a machine of a gigabyte, so it checks every 4096th.
	 */
	sim_set_check_interval(r->sim, SCENARIO_CHECK_EVERY);
	if (sc->fragmentation > 0)
		sim_fragment_some(r->sim, r->settings->geo.pmd_order, sc->fragmentation);
	return 0;
}

static int setup_process(struct run *r, size_t i)
{
	const struct mthp_scenario *sc = r->sc;
	const struct mthp_scenario_process *sp = &sc->processes[i];
	struct proc *p = &r->procs[i];
	unsigned memcg = 0;
	int err;

	if (sp->memcg_limit) {
		err = sim_memcg_create(r->sim, sp->memcg_limit / sc->page_size, &memcg);
		if (err)
			goto out_fail;
		p->memcg = memcg;
		p->memcg_limit_pages = sp->memcg_limit / sc->page_size;
	}
	err = sim_mm_create(r->sim, memcg, &p->mm);
	if (err)
		goto out_fail;
	for (size_t v = 0; v < sc->nr_vmas; v++) {
		const struct mthp_scenario_vma *sv = &sc->vmas[v];
		uint64_t addr = r->vma_addr[v];

		if (sv->process != i)
			continue;
		err = sim_mmap(p->mm, &addr, sv->size, SIM_PROT_RW, SIM_MAP_FIXED);
		if (!err && (sv->flags & MTHP_VMA_HUGEPAGE))
			err = sim_madvise(p->mm, addr, sv->size, SIM_MADV_HUGEPAGE);
		if (!err && (sv->flags & MTHP_VMA_NOHUGEPAGE))
			err = sim_madvise(p->mm, addr, sv->size, SIM_MADV_NOHUGEPAGE);
		if (!err && (sv->flags & MTHP_VMA_UFFD))
			err = sim_uffd_register(p->mm, addr, sv->size, SIM_UFFD_MISSING);
		if (err) {
			run_fail(r, err, "%s:%u: vma '%s' could not be mapped (%s)", sc->file,
				 sv->line, sv->name, strerror(-err));
			return err;
		}
	}
	p->phase = 0;
	return 0;

out_fail:
	run_fail(r, err, "%s:%u: process '%s' could not be created (%s)", sc->file,
		 sp->line, sp->name, strerror(-err));
	return err;
}

/* ---- observing khugepaged ---- */

/*
 * A collapse into a larger folio crept when its count test passed only by
 * counting, as present, pages earlier collapses zero-filled and the
 * workload never wrote since: with them none, the window would hold more
 * none PTEs than the policy's limit at its order.
 */
static bool crept(void *ctx, const struct sim_collapse_event *ev)
{
	struct run *r = ctx;
	struct mthp_rules rules;
	uint64_t stale;

	enum mthp_policy builtin = MTHP_POLICY_UPSTREAM;
	const struct mthp_policy_plugin *plugin;

	if (!mthp_run_policy(r->out->policy, &builtin, &plugin))
		return false;
	/*
	 * Stale pages it copied: one a split mapped to the zero page again
	 * (pgtable.c) is among its fills, counted once.
	 */
	stale = stale_pages(r, ev->addr, 1ull << ev->order, ev->filled_map, STALE_COUNT);
	if (!stale)
		return false;
	/* the limits of the policy's rule (a plug-in's: its fallback's) */
	mthp_rules_init(&rules, r->settings, builtin, ev->context,
			MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	return ev->filled + stale > rules.limits[ev->order].max_none;
}

/* A collapse's fills are stale until the workload writes or frees them. */
static void collapsed(void *ctx, const struct sim_collapse_event *ev)
{
	struct run *r = ctx;

	if (ev->filled_map)
		stale_pages(r, ev->addr, 1ull << ev->order, ev->filled_map, STALE_SET);
}

/* ---- the run ---- */

/* Start phases whose time has come; false when every process is done. */
static bool advance_phases(struct run *r, uint64_t now)
{
	const struct mthp_scenario *sc = r->sc;
	bool active = false;

	for (size_t i = 0; i < sc->nr_processes && !r->error; i++) {
		struct proc *p = &r->procs[i];

		for (;;) {
			const struct mthp_scenario_phase *ph;

			while (p->phase < sc->nr_phases && sc->phases[p->phase].process != i)
				p->phase++;
			if (p->phase >= sc->nr_phases)
				break;
			ph = &sc->phases[p->phase];
			if (!p->started) {
				p->started = true;
				p->phase_start_ns = now;
				phase_begin(r, p, ph);
			}
			if (now - p->phase_start_ns < ph->duration_ns || r->error)
				break;
			phase_end(r, p, ph);
			p->phase++;
			p->started = false;
		}
		active |= p->phase < sc->nr_phases;
	}
	return active && !r->error;
}

/* When the earliest of the running phases ends. */
static uint64_t next_phase_end(const struct run *r)
{
	uint64_t end = UINT64_MAX;

	for (size_t i = 0; i < r->sc->nr_processes; i++) {
		const struct proc *p = &r->procs[i];

		if (p->phase < r->sc->nr_phases) {
			uint64_t e = p->phase_start_ns + r->sc->phases[p->phase].duration_ns;

			if (e < end)
				end = e;
		}
	}
	return end;
}

static uint64_t total_duration(const struct mthp_scenario *sc)
{
	uint64_t longest = 0;

	for (size_t i = 0; i < sc->nr_processes; i++) {
		uint64_t sum = 0;

		for (size_t k = 0; k < sc->nr_phases; k++)
			if (sc->phases[k].process == i)
				sum += sc->phases[k].duration_ns;
		if (sum > longest)
			longest = sum;
	}
	return longest;
}

/* The processes now, one snapshot (their address ranges are apart). */
static void snapshot_all(struct run *r, struct mthp_snapshot *all)
{
	mthp_snapshot_init(all, &r->settings->geo);
	for (size_t i = 0; i < r->sc->nr_processes && !r->error; i++) {
		struct mthp_snapshot one;
		int err = sim_mm_snapshot(r->procs[i].mm, &one);

		if (err)
			return run_fail(r, err, "snapshot of process '%s' failed",
					r->sc->processes[i].name);
		if (i == 0)
			for (size_t k = 0; k < one.nr_settings && !err; k++)
				err = mthp_snapshot_add_setting(all, one.settings[k].key,
								one.settings[k].value);
		/* a VMA's ranges follow it: one pass, each range's arrays taken */
		for (size_t v = 0, k = 0; v < one.nr_vmas && !err; v++) {
			err = mthp_snapshot_add_vma(all, one.vmas[v].start, one.vmas[v].end,
						    one.vmas[v].flags);
			for (; k < one.nr_pmds && one.pmds[k].vma == v && !err; k++)
				err = mthp_snapshot_take_pmd(all, &one.pmds[k]);
		}
		mthp_snapshot_free(&one);
		if (err)
			run_fail(r, err, "out of memory");
	}
}

/* One point of the timeline: the processes now, their memory and TLB entries. */
static void sample(struct run *r, uint64_t now, int profile)
{
	struct mthp_run_report *out = r->out;
	struct mthp_tlb_count count;
	struct mthp_snapshot snap;

	int err;

	snapshot_all(r, &snap);
	if (r->error)
		goto out;
	err = mthp_tlb_count(&snap, (enum mthp_tlb_profile)(profile - 1), &count);
	if (err) {
		run_fail(r, err, "timeline: the TLB entries could not be counted (%s)",
			 strerror(-err));
		goto out;
	}
	if (mthp_array_grow((void **)&out->timeline, &r->cap_samples, out->nr_samples,
			    sizeof(*out->timeline))) {
		run_fail(r, -ENOMEM, "timeline: out of memory");
		goto out;
	}
	out->timeline[out->nr_samples++] = (struct mthp_run_sample){
		now, mthp_snapshot_present_pages(&snap), count.total,
	};
out:
	mthp_snapshot_free(&snap);
}


static void count_written(struct run *r)
{
	for (size_t v = 0; v < r->sc->nr_vmas; v++) {
		uint64_t pages = r->sc->vmas[v].size / page_size(r);

		for (uint64_t i = 0; i < (pages + 7) / 8; i++)
			r->out->pages_written += (uint64_t)__builtin_popcount(r->written[v][i]);
	}
}

static void teardown(struct run *r)
{
	if (r->procs) {
		for (size_t i = 0; i < r->sc->nr_processes; i++) {
			struct proc *p = &r->procs[i];

			if (p->child)
				sim_exit(p->child);
			if (p->mm)
				sim_exit(p->mm);
			heap_end(p);
		}
	}
	if (r->written)
		for (size_t v = 0; v < r->sc->nr_vmas; v++)
			free(r->written[v]);
	free(r->written);
	if (r->stale)
		for (size_t v = 0; v < r->sc->nr_vmas; v++)
			free(r->stale[v]);
	free(r->stale);
	free(r->vma_addr);
	free(r->procs);
	run_watch_free(&r->watch);
	if (r->sim)
		sim_destroy(r->sim);
}

static int allocate(struct run *r)
{
	r->procs = calloc(r->sc->nr_processes, sizeof(*r->procs));
	r->written = calloc(r->sc->nr_vmas ? r->sc->nr_vmas : 1, sizeof(*r->written));
	r->vma_addr = calloc(r->sc->nr_vmas ? r->sc->nr_vmas : 1, sizeof(*r->vma_addr));
	r->stale = calloc(r->sc->nr_vmas ? r->sc->nr_vmas : 1, sizeof(*r->stale));
	if (!r->procs || !r->written || !r->stale || !r->vma_addr)
		return -ENOMEM;
	mthp_scenario_vma_addresses(r->sc, r->vma_addr);
	for (size_t v = 0; v < r->sc->nr_vmas; v++) {
		r->written[v] = calloc((r->sc->vmas[v].size / r->sc->page_size + 7) / 8, 1);
		r->stale[v] = calloc((r->sc->vmas[v].size / r->sc->page_size + 7) / 8, 1);
		if (!r->written[v] || !r->stale[v])
			return -ENOMEM;
	}
	return 0;
}

int mthp_scenario_run(const struct mthp_scenario *sc, const struct mthp_settings *s,
		      uint64_t seed, const struct mthp_run_opts *opts,
		      struct mthp_run_report *out, struct mthp_diag *diag)
{
	struct run r = { .sc = sc, .settings = s, .out = out, .diag = diag };
	struct mthp_diag wd = { .warn = NULL };
	uint64_t tick = (uint64_t)s->scan_sleep_millisecs * 1000000ull;
	uint64_t total = total_duration(sc), now = 0, ticks = 0, sample_every;
	bool collapse = opts->policy != MTHP_RUN_NO_COLLAPSE;

	/* a stream of its own, apart from the simulator's (seeded by seed) */
	mthp_rng_seed(&r.rng, seed ^ WORKLOAD_STREAM);
	memset(out, 0, sizeof(*out));
	out->policy = opts->policy;
	mthp_snapshot_init(&out->final, &s->geo);
	r.watch = (struct run_watch){ .out = out, .page_size = sc->page_size, .crept = crept,
				      .collapsed = collapsed, .ctx = &r };
	if (tick < MIN_TICK_NS)
		tick = MIN_TICK_NS;
	/* at most MTHP_RUN_MAX_SAMPLES points over the whole run */
	sample_every = (total / tick + MTHP_RUN_MAX_SAMPLES) / MTHP_RUN_MAX_SAMPLES;
	if (allocate(&r)) {
		run_fail(&r, -ENOMEM, "out of memory");
		goto out;
	}
	if (setup_machine(&r, seed))
		goto out;
	if (collapse) {
		run_watch_start(&r.watch, r.sim, opts->policy);
		sim_set_trace_events(r.sim, opts->trace_events ? opts->trace_events : SIM_TRACE_ALL);
		sim_set_trace(r.sim, opts->trace);
	}
	for (size_t i = 0; i < sc->nr_processes && !r.error; i++)
		setup_process(&r, i);

	for (uint64_t next_wake = 0; !r.error && advance_phases(&r, now);) {
		uint64_t next_end = next_phase_end(&r);

		/* a phase that ends when khugepaged wakes ends first */
		if (next_wake >= next_end) {
			now = next_end;
			continue;
		}
		now = next_wake;
		next_wake += tick;
		for (size_t i = 0; i < sc->nr_processes && !r.error; i++) {
			struct proc *p = &r.procs[i];

			if (p->phase < sc->nr_phases)
				phase_tick(&r, p, &sc->phases[p->phase]);
		}
		if (collapse && !r.error) {
			int err = sim_khugepaged_wake(r.sim, NULL);

			if (err)
				run_fail(&r, err, "khugepaged failed (%s)", strerror(-err));
			out->wakeups++;
		}
		if (opts->timeline_profile > 0 && !r.error && ticks++ % sample_every == 0)
			sample(&r, now, opts->timeline_profile);
		if (opts->progress && total)
			opts->progress(opts->progress_ctx, now >= total ? 1.0 : (double)now / (double)total);
	}
	out->sim_ns = now;
	if (r.error)
		goto out;
	if (collapse) {
		sim_set_collapse_observer(r.sim, NULL, NULL);
		sim_set_trace(r.sim, NULL);
	}
	mthp_snapshot_free(&out->final);
	snapshot_all(&r, &out->final);
	count_written(&r);
	if (!r.error) {
		int err = run_watch_finish(&r.watch, r.sim, collapse, &wd);

		if (err)
			run_fail(&r, err, "%s", wd.msg);
	}
out:
	teardown(&r);
	if (r.error)
		mthp_run_report_free(out);
	return r.error;
}

void mthp_run_report_free(struct mthp_run_report *rep)
{
	mthp_snapshot_free(&rep->final);
	free(rep->timeline);
	rep->timeline = NULL;
	rep->nr_samples = 0;
	free(rep->stats);
	rep->stats = NULL;
	rep->nr_stats = 0;
}

int mthp_run_stat(const struct mthp_run_report *r, const char *group, const char *name,
		  uint64_t *value)
{
	for (size_t i = 0; i < r->nr_stats; i++) {
		char g[32];

		sim_stat_group(&r->final.geo, &r->stats[i], g, sizeof(g));
		if (!strcmp(g, group) && !strcmp(r->stats[i].name, name)) {
			*value = r->stats[i].value;
			return 0;
		}
	}
	return -ENOENT;
}

const char *mthp_write_fail_name(enum mthp_write_fail f)
{
	static const char *const names[MTHP_NR_WRITE_FAILS] = {
		[MTHP_WRITE_FAIL_MEMORY] = "out_of_memory",
		[MTHP_WRITE_FAIL_MEMCG] = "memcg_limit",
	};

	return mthp_name_of(names, MTHP_NR_WRITE_FAILS, f, "?");
}
