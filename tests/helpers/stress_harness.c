// SPDX-License-Identifier: MIT
/*
 * stress_harness.c - the stress harness (stress_harness.h).  Each mutator
 * does faults, writes, reads (its own slice and anywhere), munmap + mmap,
 * madvise (DONTNEED, FREE, PAGEOUT, POPULATE_WRITE, HUGEPAGE,
 * NOHUGEPAGE), mprotect, mremap, fork + exit, aging, pins, snapshots and
 * MADV_COLLAPSE, and verifies what it reads against its model.  The
 * injected races (munmap, mremap, fork between a scan and a collapse, and
 * while a collapse's swap-in waits with mmap_lock dropped) run through
 * race() below, under the owning mutator's model lock, so the
 * model follows them.  In a deterministic schedule a race may also make
 * the range MADV_NOHUGEPAGE or pin one of its pages, holding the model
 * lock until the collapse's attempt ends, where observe() checks that
 * the collapse saw it (race_hold below).  Randomness: one common/rng.h
 * stream per mutator, from the configured seed, and one per mutator for
 * its races.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mthp/sched.h>
#include <mthp/sim.h>

#include "common/rng.h"
#include "helpers/sim_stat.h"
#include "helpers/stress_harness.h"

#define PAGE		4096ull
#define NPTES		512u
#define PMD		(NPTES * PAGE)
/* the run's slice: STRESS_SLICE_PMDS, or STRESS_DET_SLICE_PMDS (one run at a time) */
static unsigned slice_pmds = STRESS_SLICE_PMDS;
#define SLICE_PMDS	slice_pmds
#define SLICE_PAGES	(slice_pmds * NPTES)
#define BASE		(1ull << 32)
/* a lazily freed page reads as its tag or 0 until written again */
#define MAYBE_ZERO	(1ull << 63)

/*
 * A race of a deterministic schedule that holds the owner's model lock
 * from the race to the end of the collapse's attempt (observe()), so
 * that nothing else changes the range meanwhile: the range made
 * MADV_NOHUGEPAGE, or a page of it pinned.  The collapse must then fail:
 * its revalidation under mmap_write_lock sees the VMA no longer allows
 * it, or its isolation sees the pin's reference.
 */
struct race_hold {
	const char *by;			/* the collapsing thread's name; NULL: none */
	uint64_t pmd_addr;
	bool nohugepage;
	uint64_t pin_addr;		/* 0: no pin */
	uint64_t pin_pfn;
};

struct worker {
	struct stress *st;
	unsigned id;
	struct mthp_rng rng;
	struct mthp_rng race_rng;	/* under model_lock: race()'s choices */
	struct race_hold hold;		/* under model_lock, which it keeps held */
	struct sim_thread *thread;
	uint64_t quota;			/* deterministic: operations to do */
	pthread_mutex_t model_lock;	/* expect[], against race() */
	uint64_t expect[STRESS_SLICE_PMDS * NPTES];
	uint64_t ops;
	uint64_t lost;			/* pages read back with a wrong tag */
	uint64_t errors;		/* operations that failed unexpectedly */
	uint64_t no_memory;		/* accesses that found no memory (pressure) */
	char why[200];
	unsigned op;			/* relaxed: the operation under way (op_names) */
	uint64_t op_addr;		/* relaxed: where, when it has one place */
};

struct stress {
	struct sim *sim;
	struct sim_mm *mm;
	uint64_t nr_frames;
	bool khugepaged;		/* its thread runs between the checks */
	bool det;			/* a deterministic schedule: race holds, batch checks */
	bool pressure;			/* stress_config's */
	const char *first_why;		/* det: the first failure's text, when it came */
	uint64_t plant_failure;		/* stress_config's */
	bool rmap_walker;		/* so does the rmap walker's */
	bool gup_walker;		/* and the GUP-fast walker's */
	uint64_t gup_starts;		/* its starts: each a new stream */
	struct sim_gup_fast_stats gup;	/* its counts, added at each stop */
	unsigned nr_threads;
	struct worker *w;
	/* the pause: mutators park between operations */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pause;
	bool stop;
	unsigned parked;
	/* what khugepaged and MADV_COLLAPSE did (the collapse observer) */
	uint64_t collapsed[16];				/* atomic, by order */
	uint64_t failed[MTHP_NR_RESULTS];		/* atomic, by result */
	uint64_t races;					/* atomic */
	uint64_t checks;
	uint64_t check_failures;
	char check_why[300];
	double started;			/* now() at the start */
	double failed_at;		/* seconds after the start of the first failure; 0: none */
};

/*
 * For the crash report: the run under way, and the calling thread's
 * mutator (NULL in khugepaged's thread and the checker's).
 */
static struct stress *running;
static __thread const struct worker *self;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Uniform in [0, bound): the worker's own stream. */
static unsigned below(struct worker *w, uint32_t bound)
{
	return mthp_rng_below(&w->rng, bound);
}

static uint64_t slice(unsigned id)
{
	return BASE + (uint64_t)id * SLICE_PMDS * PMD;
}

static uint64_t page_addr(const struct worker *w, unsigned i)
{
	return slice(w->id) + i * PAGE;
}

/* Note the operation under way, for the crash report. */
static void st_op(struct worker *w, unsigned op)
{
	__atomic_store_n(&w->op, op, __ATOMIC_RELAXED);
}

/*
 * A deterministic schedule reports its first failure, which its timeline
 * ends at (sim_sched_failed()), not one that followed from it (the
 * frames a stolen pin leaves behind, say).  One OS thread runs it.
 */
static void note_failure(struct stress *st, const char *why)
{
	if (st->det && !st->first_why)
		st->first_why = why;
}

static void bad(struct worker *w, const char *what, uint64_t a, uint64_t b)
{
	sim_sched_failed();
	if (!w->errors && !w->lost) {
		snprintf(w->why, sizeof(w->why), "thread %u: %s (0x%llx, 0x%llx)", w->id,
			 what, (unsigned long long)a, (unsigned long long)b);
		note_failure(w->st, w->why);
	}
	w->errors++;
}

/*
 * Under memory pressure, an access that found no memory (reclaim freed
 * none, or others took what it freed) changed nothing: counted.
 */
static bool no_memory(struct worker *w, int err)
{
	if (!w->st->pressure || err != -ENOMEM)
		return false;
	w->no_memory++;
	return true;
}

/* Context: model lock held. */
static void verify(struct worker *w, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n && i < SLICE_PAGES; i++) {
		uint64_t tag = 0, want = w->expect[i];
		int err = sim_read(w->st->mm, page_addr(w, i), &tag);

		if (err && !no_memory(w, err))
			bad(w, "read failed", i, (uint64_t)-err);
		if (err)
			continue;
		if (tag == (want & ~MAYBE_ZERO) || ((want & MAYBE_ZERO) && tag == 0))
			continue;
		sim_sched_failed();
		if (!w->lost && !w->errors) {
			snprintf(w->why, sizeof(w->why),
				 "thread %u: page %u at 0x%llx reads 0x%llx, wrote 0x%llx",
				 w->id, i, (unsigned long long)page_addr(w, i),
				 (unsigned long long)tag, (unsigned long long)want);
			note_failure(w->st, w->why);
		}
		w->lost++;
		w->expect[i] = tag;	/* count each loss once */
	}
}

static void set_range(struct worker *w, unsigned first, unsigned n, uint64_t v)
{
	for (unsigned i = first; i < first + n && i < SLICE_PAGES; i++)
		w->expect[i] = v == MAYBE_ZERO ? w->expect[i] | MAYBE_ZERO : v;
}

/* A random sub-range [*first, *first + *n) of the slice, n <= max. */
static void pick(struct worker *w, unsigned max, unsigned *first, unsigned *n)
{
	*first = below(w, SLICE_PAGES);
	*n = 1 + below(w, max);
	if (*first + *n > SLICE_PAGES)
		*n = SLICE_PAGES - *first;
}

static void op_write(struct worker *w)
{
	unsigned first, n;

	pick(w, 128, &first, &n);
	for (unsigned i = first; i < first + n; i++) {
		uint64_t tag = (mthp_rng_next(&w->rng) | 1) & ~MAYBE_ZERO;
		int err = sim_write(w->st->mm, page_addr(w, i), tag);

		if (!err)
			w->expect[i] = tag;
		else if (!no_memory(w, err))
			bad(w, "write failed", i, (uint64_t)-err);
	}
}

static void op_read(struct worker *w)
{
	unsigned first, n;

	pick(w, 64, &first, &n);
	verify(w, first, n);
}

static void op_madvise(struct worker *w, enum sim_madv advice)
{
	unsigned first, n;
	int err;

	pick(w, 96, &first, &n);
	err = sim_madvise(w->st->mm, page_addr(w, first), n * PAGE, advice);
	if (err && !(advice == SIM_MADV_POPULATE_WRITE && no_memory(w, err)))
		bad(w, "madvise", advice, (uint64_t)-err);
	if (advice == SIM_MADV_DONTNEED)
		set_range(w, first, n, 0);
	else if (advice == SIM_MADV_FREE)
		set_range(w, first, n, MAYBE_ZERO);
	verify(w, first, n);
}

/* (NO)HUGEPAGE on whole PMD ranges, as programs advise. */
static void op_advise_pmd(struct worker *w, enum sim_madv advice)
{
	unsigned which = below(w, SLICE_PMDS);
	int err = sim_madvise(w->st->mm, slice(w->id) + which * PMD, PMD, advice);

	if (err)
		bad(w, "madvise (no)hugepage", advice, (uint64_t)-err);
	verify(w, which * NPTES + below(w, (NPTES - 8)), 8);
}

static void op_unmap(struct worker *w)
{
	unsigned first, n;
	uint64_t a;

	pick(w, 16, &first, &n);
	a = page_addr(w, first);
	if (sim_munmap(w->st->mm, a, n * PAGE) ||
	    sim_mmap(w->st->mm, &a, n * PAGE, SIM_PROT_RW, SIM_MAP_FIXED))
		bad(w, "munmap/mmap", a, n);
	set_range(w, first, n, 0);
}

static void op_mprotect(struct worker *w)
{
	unsigned first, n;
	uint64_t a;
	int err;

	pick(w, 64, &first, &n);
	a = page_addr(w, first);
	err = sim_mprotect(w->st->mm, a, n * PAGE, SIM_PROT_READ);
	if (err)
		bad(w, "mprotect ro", a, (uint64_t)-err);
	verify(w, first, n);
	if (sim_write(w->st->mm, a, 0x5eed) == 0)
		bad(w, "write to a read-only page succeeded", a, 0);
	err = sim_mprotect(w->st->mm, a, n * PAGE, SIM_PROT_RW);
	if (err)
		bad(w, "mprotect rw", a, (uint64_t)-err);
}

/* Move a sub-range anywhere and back (the race does the same). */
static void op_mremap(struct worker *w)
{
	unsigned first, n;
	uint64_t a, away = 0;
	int err;

	pick(w, NPTES, &first, &n);
	a = page_addr(w, first);
	err = sim_mremap(w->st->mm, a, n * PAGE, &away);
	if (err == -EFAULT)
		return;		/* the range spans two VMAs, as Linux refuses */
	if (err || sim_mremap(w->st->mm, away, n * PAGE, &a))
		bad(w, "mremap", a, (uint64_t)-err);
	verify(w, first, n);
}

static void op_fork(struct worker *w)
{
	unsigned i = below(w, SLICE_PAGES);
	struct sim_mm *child;
	int err = sim_fork(w->st->mm, &child);

	if (err) {
		/* under pressure, the copy of a pinned page may find no memory */
		if (!no_memory(w, err))
			bad(w, "fork", 0, (uint64_t)-err);
		return;
	}
	err = sim_write(child, page_addr(w, i), 0xc41d);
	if (err && !no_memory(w, err))
		bad(w, "write in the child", i, (uint64_t)-err);
	if (below(w, 2))
		sim_thread_yield();	/* let khugepaged meet the shared pages */
	sim_exit(child);
	verify(w, i, 1);
}

/*
 * Pin a page, read around it, unpin it.  Nothing in this program may move
 * a pinned page (its owner holds the model lock, so no race touches the
 * slice): a collapse must see the pin's reference and leave its folio
 * alone, or a device writing through the pin would write to a page the
 * process no longer maps.
 */
static void op_pin(struct worker *w)
{
	unsigned i = below(w, SLICE_PAGES);
	struct sim_page_info pinned, now;

	__atomic_store_n(&w->op_addr, page_addr(w, i), __ATOMIC_RELAXED);
	if (sim_pin(w->st->mm, page_addr(w, i)))
		return;		/* not present: nothing to pin */
	if (sim_page_info(w->st->mm, page_addr(w, i), &pinned))
		bad(w, "page info of a pinned page", i, 0);
	verify(w, i & ~63u, 64);
	sim_thread_yield();
	if (!sim_page_info(w->st->mm, page_addr(w, i), &now) && now.pfn != pinned.pfn)
		bad(w, "a pinned page was replaced while pinned (a collapse took a folio "
		    "with an extra reference): pfn then, pfn now", pinned.pfn, now.pfn);
	if (sim_unpin(w->st->mm, page_addr(w, i)))
		bad(w, "unpin", i, 0);
}

/* A snapshot of the whole mm, as `mthp snapshot` takes of a process. */
static void op_snapshot(struct worker *w)
{
	struct mthp_snapshot snap;
	int err = sim_mm_snapshot(w->st->mm, &snap);

	if (err)
		bad(w, "snapshot", 0, (uint64_t)-err);
	else
		mthp_snapshot_free(&snap);
}

/* A read in another thread's slice: any tag, or a hole, but no failure. */
static void op_read_elsewhere(struct worker *w)
{
	uint64_t tag, addr = slice(0) + (uint64_t)below(w, w->st->nr_threads * SLICE_PAGES) * PAGE;
	int err = sim_read(w->st->mm, addr, &tag);

	if (err && err != -EFAULT && !no_memory(w, err))
		bad(w, "read elsewhere", addr, (uint64_t)-err);
}

/* Context: model lock not held (an injected race may take it). */
static void op_collapse(struct worker *w)
{
	unsigned which = below(w, SLICE_PMDS);
	int err = sim_madvise_collapse(w->st->mm, slice(w->id) + which * PMD, PMD);

	/* racing threads, holes, pins and injected faults make it fail */
	if (err && err != -EAGAIN && err != -EINVAL && err != -ENOMEM && err != -EBUSY)
		bad(w, "MADV_COLLAPSE", which, (uint64_t)-err);
}

/* The operations of one_op(), by the range of draws each takes. */
static const struct {
	unsigned below;		/* draws up to this one (exclusive) */
	const char *name;
	const char *step;	/* in a deterministic schedule's timeline */
} op_names[] = {
	{ 20, "write", "operation: write" }, { 34, "read", "operation: read" },
	{ 37, "madvise DONTNEED", "operation: madvise DONTNEED" },
	{ 39, "madvise FREE", "operation: madvise FREE" },
	{ 42, "madvise PAGEOUT", "operation: madvise PAGEOUT" },
	{ 44, "madvise HUGEPAGE", "operation: madvise HUGEPAGE" },
	{ 45, "madvise (NO)HUGEPAGE", "operation: madvise (NO)HUGEPAGE" },
	{ 46, "madvise POPULATE_WRITE", "operation: madvise POPULATE_WRITE" },
	{ 48, "munmap + mmap", "operation: munmap + mmap" },
	{ 49, "mprotect", "operation: mprotect" }, { 50, "mremap", "operation: mremap" },
	{ 51, "fork", "operation: fork" }, { 53, "age", "operation: age" },
	{ 57, "pin", "operation: pin" }, { 58, "snapshot", "operation: snapshot" },
	{ 59, "read elsewhere", "operation: read elsewhere" },
	{ 62, "read", "operation: read" }, { 64, "MADV_COLLAPSE", "operation: MADV_COLLAPSE" },
};

static unsigned op_index(unsigned op)
{
	unsigned i = 0;

	while (i + 1 < sizeof(op_names) / sizeof(op_names[0]) && op >= op_names[i].below)
		i++;
	return i;
}

static const char *op_name(unsigned op)
{
	return op < 64 ? op_names[op_index(op)].name : "?";
}

static void one_op(struct worker *w)
{
	unsigned op = below(w, 64);

	st_op(w, op);
	sim_sched_note(op_names[op_index(op)].step);

	if (op >= 62) {
		op_collapse(w);
		sim_sched_mutex_lock(&w->model_lock);
		op_read(w);
		sim_sched_mutex_unlock(&w->model_lock);
		return;
	}
	sim_sched_mutex_lock(&w->model_lock);
	if (op < 20)
		op_write(w);
	else if (op < 34)
		op_read(w);
	else if (op < 37)
		op_madvise(w, SIM_MADV_DONTNEED);
	else if (op < 39)
		op_madvise(w, SIM_MADV_FREE);
	else if (op < 42)
		op_madvise(w, SIM_MADV_PAGEOUT);
	else if (op < 44)
		op_advise_pmd(w, SIM_MADV_HUGEPAGE);
	else if (op < 45)
		op_advise_pmd(w, below(w, 4) ? SIM_MADV_HUGEPAGE : SIM_MADV_NOHUGEPAGE);
	else if (op < 46)
		op_madvise(w, SIM_MADV_POPULATE_WRITE);
	else if (op < 48)
		op_unmap(w);
	else if (op < 49)
		op_mprotect(w);
	else if (op < 50)
		op_mremap(w);
	else if (op < 51)
		op_fork(w);
	else if (op < 53 && sim_age(w->st->mm))
		bad(w, "age", 0, 0);
	else if (op >= 53 && op < 57)
		op_pin(w);
	else if (op == 57)
		op_snapshot(w);
	else if (op == 58)
		op_read_elsewhere(w);
	else if (op > 58)
		op_read(w);
	sim_sched_mutex_unlock(&w->model_lock);
}

/* Park while the main thread checks; false when it is time to stop. */
static bool park_if_asked(struct stress *st)
{
	bool go;

	pthread_mutex_lock(&st->lock);
	if (st->pause) {
		st->parked++;
		pthread_cond_broadcast(&st->cond);
		while (st->pause)
			pthread_cond_wait(&st->cond, &st->lock);
		st->parked--;
	}
	go = !st->stop;
	pthread_mutex_unlock(&st->lock);
	return go;
}

/* The threads' names, in a deterministic schedule's timeline. */
static const char *const mutator_names[STRESS_MAX_THREADS] = {
	"mutator 0", "mutator 1", "mutator 2", "mutator 3", "mutator 4", "mutator 5",
	"mutator 6", "mutator 7", "mutator 8", "mutator 9", "mutator 10", "mutator 11",
	"mutator 12", "mutator 13", "mutator 14", "mutator 15", "mutator 16", "mutator 17",
	"mutator 18", "mutator 19", "mutator 20", "mutator 21", "mutator 22", "mutator 23",
	"mutator 24", "mutator 25", "mutator 26", "mutator 27", "mutator 28", "mutator 29",
	"mutator 30", "mutator 31",
};

static void *mutator(void *arg)
{
	struct worker *w = arg;

	self = w;
	while (park_if_asked(w->st)) {
		one_op(w);
		w->ops++;
	}
	return NULL;
}

/* Drop a race's pin.  Context: model lock held, by the race's thread. */
static void race_unpin(struct worker *w, struct sim_mm *mm)
{
	if (w->hold.pin_addr && sim_unpin(mm, w->hold.pin_addr))
		bad(w, "race: unpin", w->hold.pin_addr, 0);
	w->hold.pin_addr = 0;
}

/*
 * A deterministic schedule's race beside the injected one, one in four
 * each: the range made MADV_NOHUGEPAGE, or a page of it (one of four
 * drawn, the first present) pinned.  True when it holds the model lock
 * until the attempt ends.  Context: model lock held.
 */
static bool race_hold(struct worker *w, struct sim_mm *mm, uint64_t pmd_addr)
{
	unsigned pick = mthp_rng_below(&w->race_rng, 4);
	struct sim_page_info pi;

	if (pick == 0) {
		if (sim_madvise(mm, pmd_addr, PMD, SIM_MADV_NOHUGEPAGE)) {
			bad(w, "race: madvise NOHUGEPAGE", pmd_addr, 0);
			return false;
		}
		w->hold.nohugepage = true;
	} else if (pick == 1) {
		for (unsigned k = 0; k < 4 && !w->hold.pin_addr; k++) {
			uint64_t a = pmd_addr + mthp_rng_below(&w->race_rng, NPTES) * PAGE;

			if (sim_pin(mm, a))
				continue;	/* not present */
			if (sim_page_info(mm, a, &pi)) {
				bad(w, "race: page info of a pinned page", a, 0);
				sim_unpin(mm, a);
				return false;
			}
			w->hold.pin_addr = a;
			w->hold.pin_pfn = pi.pfn;
		}
		if (!w->hold.pin_addr)
			return false;
	} else {
		return false;
	}
	w->hold.by = sim_sched_thread_name();
	w->hold.pmd_addr = pmd_addr;
	return true;
}

/*
 * The injected races, from the collapsing thread with no simulator lock
 * held: under the owner's model lock, the default mutation, and for a
 * munmap the range mapped again (empty), so the owner's model stays true.
 * The attempt's second race may find the lock held by its first one's
 * hold (race_hold()): a munmap then drops the pin and the advice with the
 * VMA.
 */
static int race(void *ctx, struct sim_mm *mm, uint64_t pmd_addr,
		enum sim_inject_point what, struct sim_mm **child)
{
	struct stress *st = ctx;
	struct worker *w = NULL;
	uint64_t a = pmd_addr;
	bool held;
	int err;

	if (mm == st->mm && pmd_addr >= BASE && pmd_addr < slice(st->nr_threads))
		w = &st->w[(pmd_addr - BASE) / (SLICE_PMDS * PMD)];
	__atomic_fetch_add(&st->races, 1, __ATOMIC_RELAXED);
	if (!w)
		return sim_inject_race(mm, pmd_addr, what, child);
	held = st->det && w->hold.by && w->hold.by == sim_sched_thread_name();
	if (!held)
		sim_sched_mutex_lock(&w->model_lock);
	if (held && what == SIM_INJECT_MUNMAP) {
		race_unpin(w, mm);
		w->hold.nohugepage = false;	/* the VMA mapped again has no advice */
	}
	err = sim_inject_race(mm, pmd_addr, what, child);
	if (what == SIM_INJECT_MUNMAP) {
		if (sim_mmap(mm, &a, PMD, SIM_PROT_RW, SIM_MAP_FIXED))
			bad(w, "race: mmap after munmap", a, 0);
		set_range(w, (unsigned)((pmd_addr - slice(w->id)) / PAGE), NPTES, 0);
	}
	if (held || (st->det && what != SIM_INJECT_MUNMAP && race_hold(w, mm, pmd_addr)))
		return err;	/* observe() unlocks at the attempt's end */
	sim_sched_mutex_unlock(&w->model_lock);
	return err;
}

/*
 * The end of an attempt that held a race (race_hold()): a collapse of
 * the window must not have happened over the advice or the pin; then the
 * pin dropped and the model lock released.  Context: the collapsing
 * thread, no simulator lock held; model lock held by race().
 */
static void race_release(struct worker *w, struct sim_mm *mm,
			 const struct sim_collapse_event *ev)
{
	uint64_t end = ev->addr + (PAGE << ev->order);
	struct sim_page_info pi = { .pfn = 0 };
	bool moved = false;

	if (ev->result == SCAN_SUCCEED && w->hold.nohugepage)
		bad(w, "a range made MADV_NOHUGEPAGE between a collapse's scan and its "
		    "mmap_write_lock was collapsed: the revalidation after "
		    "mmap_write_lock did not run (window, order)", ev->addr, ev->order);
	if (w->hold.pin_addr) {
		moved = sim_page_info(mm, w->hold.pin_addr, &pi) || pi.pfn != w->hold.pin_pfn;
		/* nothing else may move it: the owner waits for its model lock */
		if (moved)
			bad(w, ev->result == SCAN_SUCCEED && w->hold.pin_addr >= ev->addr &&
			    w->hold.pin_addr < end ?
			    "a pinned page was replaced while pinned (this collapse took a "
			    "folio with an extra reference): pfn then, pfn now" :
			    "a pinned page was replaced while pinned (another collapse took "
			    "a folio with an extra reference): pfn then, pfn now",
			    w->hold.pin_pfn, pi.pfn);
	}
	if (!moved)
		race_unpin(w, mm);
	w->hold = (struct race_hold){ .by = NULL };
	sim_sched_mutex_unlock(&w->model_lock);
}

static void observe(void *ctx, const struct sim_collapse_event *ev)
{
	struct stress *st = ctx;

	if (st->det) {
		const char *me = sim_sched_thread_name();

		for (unsigned t = 0; t < st->nr_threads; t++)
			if (st->w[t].hold.by == me && st->w[t].hold.pmd_addr == ev->pmd_addr)
				race_release(&st->w[t], st->mm, ev);
		/* Linux never keeps a large folio in the LRU add batch: it drains */
		if (ev->result == SCAN_SUCCEED && ev->lru_batched) {
			sim_sched_failed();
			if (!st->check_failures) {
				snprintf(st->check_why, sizeof(st->check_why),
					 "the LRU add batch still holds %u folios after the "
					 "collapse at 0x%llx (order %u) added its new folio, "
					 "which a large folio drains", ev->lru_batched,
					 (unsigned long long)ev->addr, ev->order);
				note_failure(st, st->check_why);
			}
			st->check_failures++;
		}
	}
	if (ev->result == SCAN_SUCCEED)
		__atomic_fetch_add(&st->collapsed[ev->order], 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&st->failed[ev->result], 1, __ATOMIC_RELAXED);
}

static void run_check(struct stress *st)
{
	st->checks++;
	if (sim_check(st->sim) == 0)
		return;
	if (!st->check_failures) {
		snprintf(st->check_why, sizeof(st->check_why), "sim_check: %s",
			 sim_check_message(st->sim));
		note_failure(st, st->check_why);
	}
	st->check_failures++;
}

/* Has anything failed yet?  Notes when it was first seen. */
static bool any_failure(struct stress *st)
{
	bool failed = st->check_failures != 0;

	for (unsigned t = 0; t < st->nr_threads && !failed; t++)
		failed = st->w[t].errors || st->w[t].lost;
	if (failed && !st->failed_at)
		st->failed_at = now() - st->started;
	return failed;
}

/* Start the GUP-fast walker on the mm, when asked; 0 or -errno. */
static int gup_walker_start(struct stress *st)
{
	if (!st->gup_walker)
		return 0;
	return sim_gup_fast_walker_start(st->sim, st->mm, st->gup_starts++);
}

/* Stop it, its counts added to the run's. */
static void gup_walker_stop(struct stress *st)
{
	if (st->gup_walker)
		sim_gup_fast_walker_stop(st->sim, &st->gup);
}

/* Park the mutators, stop khugepaged, check everything, resume. */
static void quiesce_and_check(struct stress *st, bool resume)
{
	pthread_mutex_lock(&st->lock);
	st->pause = true;
	while (st->parked < st->nr_threads)
		pthread_cond_wait(&st->cond, &st->lock);
	pthread_mutex_unlock(&st->lock);
	if (st->khugepaged)
		sim_khugepaged_stop(st->sim);
	if (st->rmap_walker)
		sim_rmap_walker_stop(st->sim);
	gup_walker_stop(st);
	run_check(st);
	for (unsigned t = 0; t < st->nr_threads; t++)
		verify(&st->w[t], 0, SLICE_PAGES);
	/* the first failure ends the run: what follows would only blur it */
	if (any_failure(st))
		resume = false;
	if (resume && st->khugepaged && sim_khugepaged_start(st->sim))
		st->check_failures++;
	if (resume && st->rmap_walker && sim_rmap_walker_start(st->sim))
		st->check_failures++;
	if (resume && gup_walker_start(st))
		st->check_failures++;
	pthread_mutex_lock(&st->lock);
	st->pause = false;
	st->stop = !resume;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static int set_knobs(struct sim *sim, bool det)
{
	int err = sim_set_knob(sim, "enabled", "never");

	/* 32K, 128K and 512K fault in as mTHPs; 16K, 64K, 256K and 2M are
	 * for khugepaged, and for faults only where advised */
	for (unsigned o = 2; o <= 9 && !err; o++) {
		char name[64];

		snprintf(name, sizeof(name), "hugepages-%ukB/enabled", 4u << o);
		err = sim_set_knob(sim, name, o % 2 && o < 9 ? "always" : "madvise");
	}
	if (!err)
		err = sim_set_knob(sim, "khugepaged/scan_sleep_millisecs", "0");
	if (!err)
		err = sim_set_knob(sim, "khugepaged/max_ptes_none", "511");
	if (!err)
		err = sim_set_knob(sim, "khugepaged/pages_to_scan", det ? "512" : "4096");
	return err;
}

/* Rates: one draw in N fails (per window; LRU per folio; SWAPIN per swap-in). */
static const uint32_t inject_rates[SIM_NR_INJECT] = {
	[SIM_INJECT_ALLOC] = 40,
	[SIM_INJECT_CHARGE] = 40,
	[SIM_INJECT_REVALIDATE] = 40,
	[SIM_INJECT_LRU] = 400,
	[SIM_INJECT_MUNMAP] = 80,
	[SIM_INJECT_MREMAP] = 60,
	[SIM_INJECT_FORK] = 60,
	[SIM_INJECT_COPY_MC] = 15,
	[SIM_INJECT_RMAP] = 5,
	[SIM_INJECT_SWAPIN] = 4,
	[SIM_INJECT_MIGRATE] = 1,	/* every failed copy: no draw */
};

/* What runs did, summed over the schedules of a deterministic run. */
struct stress_counts {
	uint64_t ops, lost, errors, checks, no_memory, paged_out, pswpout;
	uint64_t full_scans, ptes_scanned, pages_collapsed;
	uint64_t collapsed[16];
	uint64_t failed[MTHP_NR_RESULTS];
	uint64_t results[MTHP_NR_RESULTS];
	uint64_t injected[SIM_NR_INJECT];
	struct sim_rmap_stats rmap;
	struct sim_gup_fast_stats gup;
};

/* Add what the run st did to *c. */
static void counts_add(struct stress_counts *c, struct stress *st)
{
	uint64_t results[MTHP_NR_RESULTS];
	struct sim_rmap_stats rmap;

	for (unsigned t = 0; t < st->nr_threads; t++) {
		c->ops += st->w[t].ops;
		c->lost += st->w[t].lost;
		c->errors += st->w[t].errors;
		c->no_memory += st->w[t].no_memory;
	}
	c->checks += st->checks;
	c->paged_out += sim_reclaim_paged_out(st->sim);
	c->pswpout += vmstat(st->sim, "pswpout");
	c->full_scans += khugepaged_stat(st->sim, "full_scans");
	c->ptes_scanned += khugepaged_stat(st->sim, "ptes_scanned");
	c->pages_collapsed += khugepaged_stat(st->sim, "pages_collapsed");
	for (unsigned o = 0; o < 16; o++)
		c->collapsed[o] += st->collapsed[o];
	sim_khugepaged_scan_results(st->sim, results);
	for (unsigned r = 0; r < MTHP_NR_RESULTS; r++) {
		c->failed[r] += st->failed[r];
		c->results[r] += results[r];
	}
	for (unsigned p = 0; p < SIM_NR_INJECT; p++)
		c->injected[p] += sim_inject_fired(st->sim, (enum sim_inject_point)p);
	sim_rmap_stats(st->sim, &rmap);
	c->rmap.walks += rmap.walks;
	c->rmap.contended += rmap.contended;
	c->rmap.stale += rmap.stale;
	c->rmap.checked += rmap.checked;
	c->rmap.compared += rmap.compared;
	c->rmap.young += rmap.young;
	c->rmap.unmapped += rmap.unmapped;
	c->rmap.migrate_taken += rmap.migrate_taken;
	c->rmap.migrate_walked += rmap.migrate_walked;
	c->gup.walks += st->gup.walks;
	c->gup.pinned += st->gup.pinned;
	c->gup.backed_off += st->gup.backed_off;
	c->gup.nothing += st->gup.nothing;
}

/* One line of counts by result: the title, then each result counted. */
static void print_by_result(FILE *out, const char *title, const uint64_t *counts)
{
	fprintf(out, "%s", title);
	for (unsigned r = 0; r < MTHP_NR_RESULTS; r++)
		if (counts[r])
			fprintf(out, " %s:%llu", mthp_result_name((enum mthp_result)r),
				(unsigned long long)counts[r]);
	fprintf(out, "\n");
}

/* The report's lines after its first. */
static void print_counts(const struct stress_counts *c, FILE *out)
{
	uint64_t injected = 0, total = 0;

	fprintf(out, "operations: %llu\n", (unsigned long long)c->ops);
	fprintf(out, "khugepaged: full_scans %llu, ptes_scanned %llu, pages_collapsed %llu\n",
		(unsigned long long)c->full_scans, (unsigned long long)c->ptes_scanned,
		(unsigned long long)c->pages_collapsed);
	fprintf(out, "collapses by order:");
	for (unsigned o = 0; o < 16; o++) {
		if (!c->collapsed[o])
			continue;
		fprintf(out, " %u:%llu", o, (unsigned long long)c->collapsed[o]);
		total += c->collapsed[o];
	}
	fprintf(out, " (total %llu)\n", (unsigned long long)total);
	print_by_result(out, "failed attempts by result:", c->failed);
	print_by_result(out, "khugepaged scans by result:", c->results);
	fprintf(out, "injected faults survived:");
	for (unsigned p = 0; p < SIM_NR_INJECT; p++) {
		fprintf(out, " %s:%llu", sim_inject_name((enum sim_inject_point)p),
		       (unsigned long long)c->injected[p]);
		injected += c->injected[p];
	}
	fprintf(out, " (total %llu)\n", (unsigned long long)injected);
	fprintf(out, "rmap walks: %llu (walked %llu, counts compared %llu, anon_vma "
		"contended %llu, unlinked meanwhile %llu; young bits cleared %llu, "
		"folios unmapped %llu)\n",
		(unsigned long long)c->rmap.walks, (unsigned long long)c->rmap.checked,
		(unsigned long long)c->rmap.compared,
		(unsigned long long)c->rmap.contended, (unsigned long long)c->rmap.stale,
		(unsigned long long)c->rmap.young, (unsigned long long)c->rmap.unmapped);
	fprintf(out, "migration: %llu folios taken (%llu isolated from the LRU, locked and "
		"walked)\n", (unsigned long long)c->rmap.migrate_taken,
		(unsigned long long)c->rmap.migrate_walked);
	fprintf(out, "GUP-fast walks: %llu (pinned %llu, backed off at the re-check %llu, "
		"nothing mapped %llu)\n", (unsigned long long)c->gup.walks,
		(unsigned long long)c->gup.pinned, (unsigned long long)c->gup.backed_off,
		(unsigned long long)c->gup.nothing);
	fprintf(out, "invariant checks: %llu (sim_check of the whole simulator, every "
		"page verified)%s\n", (unsigned long long)c->checks,
		MTHP_DEBUG ? "; debug build: sim_check after every 512th mapping change too" : "");
	fprintf(out, "swap-out: %llu pages (by reclaim at the memory cgroup's limit: %llu "
		"freed; accesses that found no memory %llu)\n", (unsigned long long)c->pswpout,
		(unsigned long long)c->paged_out, (unsigned long long)c->no_memory);
	fprintf(out, "unexpected operation failures: %llu\n", (unsigned long long)c->errors);
	fprintf(out, "lost pages: %llu\n", (unsigned long long)c->lost);
}

/* The first failure of the run st, or NULL. */
static const char *first_failure(const struct stress *st)
{
	if (st->first_why)
		return st->first_why;
	if (st->check_failures)
		return st->check_why;
	for (unsigned t = 0; t < st->nr_threads; t++)
		if (st->w[t].errors || st->w[t].lost)
			return st->w[t].why;
	return NULL;
}

static void report(struct stress *st, const struct stress_config *cfg, FILE *out)
{
	struct stress_counts c;

	memset(&c, 0, sizeof(c));
	counts_add(&c, st);
	fprintf(out, "stress: %.1f s, %u mutator threads, seed %llu, policy %s\n", cfg->seconds,
		st->nr_threads, (unsigned long long)cfg->seed, mthp_policy_name(cfg->policy));
	print_counts(&c, out);
	if (st->failed_at)
		fprintf(out, "first failure seen at %.1f s; the run stopped there\n",
			st->failed_at);
	for (unsigned t = 0; t < st->nr_threads; t++)
		if (st->w[t].errors || st->w[t].lost)
			fprintf(out, "  %s\n", st->w[t].why);
	if (st->check_failures)
		fprintf(out, "  %s\n", st->check_why);
}

/* The simulator, its knobs, the mm and its VMA; injection when asked. */
static int setup(struct stress *st, const struct stress_config *cfg)
{
	/* a deterministic run's schedules are short and its slices small: a
	 * sixteenth of the memory (still twice what four slices map) */
	uint64_t frames = cfg->det ? 1ull << 12 : 1ull << 16;
	struct sim_config scfg = { .page_size = 4096, .nr_frames = frames,
				   .nr_swap_slots = frames, .seed = cfg->seed };
	struct mthp_geometry geo;
	struct mthp_settings s;
	uint64_t addr = BASE;
	unsigned memcg = 0;
	int err;

	st->pressure = cfg->pressure;
	err = mthp_geometry_from_page_size(&geo, 4096);
	if (err)
		return err;
	mthp_settings_init(&s, &geo);
	err = sim_create(&st->sim, &scfg, &s);
	if (err)
		return err;
	st->nr_frames = scfg.nr_frames;
	/* odd seeds flush the TLB by IPI, even ones broadcast it */
	sim_tlb_set_broadcast(!(cfg->seed & 1));
	err = set_knobs(st->sim, cfg->det);
	if (!err)
		err = sim_khugepaged_set_policy(st->sim, cfg->policy);
	if (!err && cfg->pressure)
		err = sim_memcg_create(st->sim, st->nr_threads * SLICE_PAGES / 2, &memcg);
	if (!err)
		err = sim_mm_create(st->sim, memcg, &st->mm);
	if (!err)
		err = sim_mmap(st->mm, &addr, st->nr_threads * SLICE_PMDS * PMD, SIM_PROT_RW,
			       SIM_MAP_FIXED);
	if (err) {
		sim_destroy(st->sim);
		return err;
	}
	sim_set_check_interval(st->sim, 512);
	sim_set_collapse_observer(st->sim, observe, st);
	if (cfg->inject) {
		sim_inject_seed(st->sim, cfg->seed ^ 0x1badc0de);
		sim_inject_set_race(st->sim, race, st);
		for (unsigned p = 0; p < SIM_NR_INJECT; p++)
			sim_inject_set(st->sim, (enum sim_inject_point)p, inject_rates[p]);
	}
	sim_khugepaged_enter(st->mm);
	return 0;
}

/* Start khugepaged (when asked) and the mutators; on failure none runs. */
static int start_threads(struct stress *st, const struct stress_config *cfg)
{
	unsigned nr = st->nr_threads;

	if (st->khugepaged && sim_khugepaged_start(st->sim))
		return -EAGAIN;
	if (st->rmap_walker && sim_rmap_walker_start(st->sim)) {
		sim_khugepaged_stop(st->sim);
		return -EAGAIN;
	}
	if (gup_walker_start(st)) {
		sim_rmap_walker_stop(st->sim);
		sim_khugepaged_stop(st->sim);
		return -EAGAIN;
	}
	for (unsigned t = 0; t < nr; t++) {
		struct worker *w = &st->w[t];

		w->st = st;
		w->id = t;
		mthp_rng_seed(&w->rng, mthp_rng_at(cfg->seed, t));
		pthread_mutex_init(&w->model_lock, NULL);
		if (sim_thread_start(&w->thread, mutator_names[t], mutator, w)) {
			st->nr_threads = t;	/* stop the ones that run */
			quiesce_and_check(st, false);
			for (unsigned i = 0; i < t; i++)
				sim_thread_join(st->w[i].thread);
			return -EAGAIN;
		}
	}
	return 0;
}

/* A full check every pause_ms until the time is up; then all stop. */
static void run_and_check(struct stress *st, const struct stress_config *cfg)
{
	unsigned pause_ms = cfg->pause_ms ? cfg->pause_ms : STRESS_PAUSE_MS;
	double deadline = now() + cfg->seconds;

	for (;;) {
		struct timespec pause = { pause_ms / 1000, (long)(pause_ms % 1000) * 1000000l };
		bool last = now() + pause_ms / 1000.0 >= deadline;

		if (!last)
			nanosleep(&pause, NULL);
		quiesce_and_check(st, !last);
		if (last || st->failed_at)
			break;
	}
	for (unsigned t = 0; t < st->nr_threads; t++)
		sim_thread_join(st->w[t].thread);
}

/* The mm gone, every frame must be free again (one stays the zero page). */
static void check_teardown(struct stress *st)
{
	sim_set_collapse_observer(st->sim, NULL, NULL);
	sim_inject_set_race(st->sim, NULL, NULL);
	sim_exit(st->mm);
	run_check(st);
	if (sim_free_pages(st->sim) != st->nr_frames - 1) {
		if (!st->check_failures) {
			snprintf(st->check_why, sizeof(st->check_why),
				 "%llu of %llu frames free after the mm exited",
				 (unsigned long long)sim_free_pages(st->sim),
				 (unsigned long long)st->nr_frames - 1);
			note_failure(st, st->check_why);
		}
		st->check_failures++;
	}
}

/* Add the run st to the totals; its failure becomes theirs when they have none. */
static void sum_up(struct stress *st, struct stress_totals *totals)
{
	const char *why = first_failure(st);

	for (unsigned t = 0; t < st->nr_threads; t++) {
		totals->ops += st->w[t].ops;
		totals->lost += st->w[t].lost;
		totals->errors += st->w[t].errors;
		totals->no_memory += st->w[t].no_memory;
	}
	for (unsigned o = 0; o < 16; o++)
		totals->collapses += st->collapsed[o];
	totals->checks += st->checks;
	totals->check_failures += st->check_failures;
	totals->full_scans += khugepaged_stat(st->sim, "full_scans");
	totals->paged_out += sim_reclaim_paged_out(st->sim);
	totals->failed_at = st->failed_at;
	if (why && !totals->why[0])
		snprintf(totals->why, sizeof(totals->why), "%s", why);
}

/* ---- deterministic schedules ---- */

int stress_decisions_fd = -1;

/* All of buf to fd (write(2) only: the crash report's too). */
static void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

void stress_send_decisions(int fd, uint64_t steps)
{
	size_t nr;
	const struct sim_sched_preempt *d = sim_sched_decisions(&nr);
	uint64_t n = nr;

	send_all(fd, &steps, sizeof(steps));
	send_all(fd, &n, sizeof(n));
	if (nr)
		send_all(fd, d, nr * sizeof(*d));
}

/* The schedule under way, for the crash report (det runs are one OS thread). */
static uint64_t det_seed;
static unsigned det_timeline;

char *stress_replay_command(const struct stress_config *cfg, uint64_t seed)
{
	size_t len = 400 + cfg->nr_replay * 32, at;
	char *cmd = malloc(len);

	if (!cmd)
		return NULL;
	at = (size_t)snprintf(cmd, len, "%s --schedule det --seed %llu --schedules 1 "
			      "--threads %u --ops %u --policy %s",
			      cfg->program ? cfg->program : "stress", (unsigned long long)seed,
			      cfg->nr_threads, cfg->ops, mthp_policy_name(cfg->policy));
	if (cfg->atomic_points)
		at += (size_t)snprintf(cmd + at, len - at, " --atomic-points");
	if (cfg->pressure)
		at += (size_t)snprintf(cmd + at, len - at, " --pressure");
	switch (cfg->strategy) {
	case SIM_SCHED_PCT:
		snprintf(cmd + at, len - at, " --pct %u", cfg->pct_depth);
		break;
	case SIM_SCHED_RANDOM:
		snprintf(cmd + at, len - at, " --random");
		break;
	case SIM_SCHED_REPLAY:
		at += (size_t)snprintf(cmd + at, len - at, " --preempt ");
		if (!cfg->nr_replay)
			snprintf(cmd + at, len - at, "none");
		for (size_t i = 0; i < cfg->nr_replay && at < len; i++)
			at += (size_t)snprintf(cmd + at, len - at, "%s%llu:%u", i ? "," : "",
					       (unsigned long long)cfg->replay[i].step,
					       cfg->replay[i].to);
		break;
	}
	return cmd;
}

static void *det_mutator(void *arg)
{
	struct worker *w = arg;

	for (uint64_t i = 0; i < w->quota; i++) {
		one_op(w);
		w->ops++;
		if (!w->id && w->ops == w->st->plant_failure)
			bad(w, "the planted failure (a test of the failure report)", w->ops, 0);
		sim_thread_yield();
	}
	return NULL;
}

/*
 * The steps PCT draws its change points among: about what a schedule of
 * cfg takes (measured: some 300 scheduling points an operation, with
 * khugepaged and the rmap walker polling beside the mutators).
 */
static uint64_t pct_steps(const struct stress_config *cfg)
{
	return 300ull * (cfg->ops ? cfg->ops : 1);
}

/*
 * Inside the schedule: start khugepaged, the rmap walker and the
 * mutators, wait for the mutators, stop the others, check everything and
 * let the mm exit.  0, or -errno when a thread cannot start.
 */
static int det_threads(struct stress *st, const struct stress_config *cfg)
{
	unsigned nr = st->nr_threads;
	int err = 0;

	if (st->khugepaged)
		err = sim_khugepaged_start(st->sim);
	if (!err && st->rmap_walker)
		err = sim_rmap_walker_start(st->sim);
	if (!err)
		err = gup_walker_start(st);
	for (unsigned t = 0; t < nr && !err; t++) {
		struct worker *w = &st->w[t];

		w->quota = cfg->ops / nr + (t < cfg->ops % nr);
		err = sim_thread_start(&w->thread, mutator_names[t], det_mutator, w);
		if (err)
			st->nr_threads = t;
	}
	for (unsigned t = 0; t < st->nr_threads; t++)
		sim_thread_join(st->w[t].thread);
	st->nr_threads = nr;
	if (st->khugepaged)
		sim_khugepaged_stop(st->sim);
	if (st->rmap_walker)
		sim_rmap_walker_stop(st->sim);
	gup_walker_stop(st);
	if (err)
		return err;
	run_check(st);
	for (unsigned t = 0; t < nr; t++)
		verify(&st->w[t], 0, SLICE_PAGES);
	check_teardown(st);
	return 0;
}

/*
 * One schedule, from seed: its counts added to *c and totals; on a
 * failure, the failure, its replay command and timeline printed to out
 * (when not NULL) and *failed set.
 */
static int det_one(const struct stress_config *cfg, uint64_t seed, struct stress_counts *c,
		   struct stress_totals *totals, FILE *out, bool *failed)
{
	struct stress_config one = *cfg;
	struct sim_sched_config sc = {
		.seed = seed, .strategy = cfg->strategy, .pct_depth = cfg->pct_depth,
		.pct_steps = pct_steps(cfg), .replay = cfg->replay, .nr_replay = cfg->nr_replay,
		.atomic_points = cfg->atomic_points,
	};
	struct sim_sched_result res;
	struct stress *st;
	char *cmd;
	int err;

	*failed = false;
	one.seed = seed;
	st = calloc(1, sizeof(*st));
	cmd = stress_replay_command(cfg, seed);
	if (!st || !cmd || !(st->w = calloc(cfg->nr_threads, sizeof(*st->w)))) {
		err = -ENOMEM;
		goto out_free;
	}
	st->nr_threads = cfg->nr_threads;
	st->khugepaged = cfg->khugepaged;
	st->rmap_walker = cfg->rmap_walker;
	st->gup_walker = cfg->gup_walker;
	st->plant_failure = cfg->plant_failure;
	st->det = true;
	err = setup(st, &one);
	if (err)
		goto out_free;
	for (unsigned t = 0; t < st->nr_threads; t++) {
		st->w[t].st = st;
		st->w[t].id = t;
		mthp_rng_seed(&st->w[t].rng, mthp_rng_at(seed, t));
		mthp_rng_seed(&st->w[t].race_rng, mthp_rng_at(seed ^ 0x7261636575ull, t));
		pthread_mutex_init(&st->w[t].model_lock, NULL);
	}
	sc.replay_command = cmd;
	err = sim_sched_begin(&sc);
	if (err)
		goto out_destroy;
	det_seed = seed;
	__atomic_store_n(&running, st, __ATOMIC_RELEASE);
	err = det_threads(st, cfg);
	*failed = !err && first_failure(st);
	if (*failed && out) {
		fprintf(out, "stress: FAILED in the schedule of seed %llu: %s\n",
			(unsigned long long)seed, first_failure(st));
		sim_sched_dump_file(out, cfg->timeline ? cfg->timeline : STRESS_DET_TIMELINE);
	}
	__atomic_store_n(&running, NULL, __ATOMIC_RELEASE);
	sim_sched_end(&res);
	totals->steps += res.steps;
	totals->switches += res.switches;
	totals->preemptions += res.preemptions;
	if (!err) {
		counts_add(c, st);
		sum_up(st, totals);
	}
out_destroy:
	for (unsigned t = 0; t < st->nr_threads; t++)
		pthread_mutex_destroy(&st->w[t].model_lock);
	sim_destroy(st->sim);
out_free:
	if (st)
		free(st->w);
	free(st);
	free(cmd);
	return err;
}

static int det_run(const struct stress_config *cfg, struct stress_totals *totals, FILE *out)
{
	struct stress_counts c;
	double t0 = now();
	bool failed = false;
	unsigned nr_classes;
	int err = 0;

	if (!cfg->schedules || (cfg->strategy == SIM_SCHED_PCT && !cfg->pct_depth))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	det_timeline = cfg->timeline ? cfg->timeline : STRESS_DET_TIMELINE;
	/* every schedule allocates and frees a simulator and the collapses'
	 * workspaces: keep them on the heap, not mapped and unmapped each time */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	sim_sched_coverage_reset();
	for (uint64_t i = 0; i < cfg->schedules && !failed && !err; i++) {
		err = det_one(cfg, cfg->seed + i, &c, totals, out, &failed);
		totals->schedules++;
		if (failed)
			totals->failed_seed = cfg->seed + i;
	}
	totals->seconds = now() - t0;
	sim_sched_coverage(&totals->class_pairs, &totals->site_pairs, &nr_classes);
	if (err || !out)
		return err;
	fprintf(out, "stress: deterministic schedules of seeds %llu to %llu, %u mutator threads, "
		"%u operations a schedule, %s, policy %s\n", (unsigned long long)cfg->seed,
		(unsigned long long)(cfg->seed + totals->schedules - 1), cfg->nr_threads,
		cfg->ops, cfg->strategy == SIM_SCHED_PCT ? "pct" :
		cfg->strategy == SIM_SCHED_RANDOM ? "random walk" : "replayed preemptions",
		mthp_policy_name(cfg->policy));
	if (cfg->strategy == SIM_SCHED_PCT)
		fprintf(out, "pct: depth %u (%u change points among the first %llu steps)\n",
			cfg->pct_depth, cfg->pct_depth - 1, (unsigned long long)pct_steps(cfg));
	fprintf(out, "schedules: %llu run, %llu scheduling points, %llu switches, "
		"%llu preemptions\n", (unsigned long long)totals->schedules,
		(unsigned long long)totals->steps, (unsigned long long)totals->switches,
		(unsigned long long)totals->preemptions);
	fprintf(out, "lock pairs seen interleaved (a lock taken while another thread held "
		"one): %u of %u class pairs, %u call-site pairs\n", totals->class_pairs,
		nr_classes * nr_classes, totals->site_pairs);
	print_counts(&c, out);
	return 0;
}

/* The crash report's signals, with the handlers they had before. */
static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
static struct sigaction crash_old[sizeof(crash_signals) / sizeof(crash_signals[0])];

static void say(const char *text)
{
	send_all(STDERR_FILENO, text, strlen(text));
}

/*
 * Say what the crashing thread and every mutator were doing, then put the
 * previous handler back and return: the fault happens again (abort raises
 * again) and the previous handler (the default, or a sanitizer's) runs.
 * snprintf is not async-signal-safe in theory; it takes no lock.
 */
static void crash_handler(int sig)
{
	struct stress *st = __atomic_load_n(&running, __ATOMIC_ACQUIRE);
	char line[400], doing[240];
	const char *name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" :
			   sig == SIGILL ? "SIGILL" : sig == SIGFPE ? "SIGFPE" : "SIGABRT";

	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		if (crash_signals[i] == sig)
			sigaction(sig, &crash_old[i], NULL);
	if (sim_sched_on())
		snprintf(line, sizeof(line), "stress: %s in simulated thread %s of the "
			 "deterministic schedule of seed %llu\n", name, sim_sched_thread_name(),
			 (unsigned long long)det_seed);
	else if (self)
		snprintf(line, sizeof(line), "stress: %s in mutator thread %u, during %s\n", name,
			 self->id, op_name(__atomic_load_n(&self->op, __ATOMIC_RELAXED)));
	else
		snprintf(line, sizeof(line), "stress: %s in a thread that is no mutator "
			 "(khugepaged or the checker)\n", name);
	say(line);
	if (sim_thread_doing(doing, sizeof(doing))) {
		snprintf(line, sizeof(line), "stress: the crashing thread was in %s\n", doing);
		say(line);
	}
	for (unsigned t = 0; st && t < st->nr_threads; t++) {
		snprintf(line, sizeof(line), "stress:   mutator %u: %s\n", t,
			 op_name(__atomic_load_n(&st->w[t].op, __ATOMIC_RELAXED)));
		say(line);
	}
	sim_sched_dump(STDERR_FILENO, det_timeline);
	if (stress_decisions_fd >= 0 && sim_sched_on()) {
		stress_send_decisions(stress_decisions_fd, sim_sched_steps());
		stress_decisions_fd = -1;
	}
}

/*
 * The sanitizers' hook, called after their report and before the process
 * exits (present only in a sanitizer build: a weak reference otherwise).
 */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* A sanitizer's report in a deterministic schedule: its seed and timeline. */
static void sanitizer_death(void)
{
	char line[200];

	if (!sim_sched_on())
		return;
	snprintf(line, sizeof(line), "stress: a sanitizer reported an error in simulated "
		 "thread %s of the deterministic schedule of seed %llu\n",
		 sim_sched_thread_name(), (unsigned long long)det_seed);
	say(line);
	sim_sched_dump(STDERR_FILENO, det_timeline);
}

void stress_install_crash_handler(void)
{
	struct sigaction sa;

	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(sanitizer_death);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crash_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		sigaction(crash_signals[i], &sa, &crash_old[i]);
}

int stress_run(const struct stress_config *cfg, struct stress_totals *totals, FILE *out)
{
	struct stress *st;
	int err;

	memset(totals, 0, sizeof(*totals));
	if (!cfg->nr_threads || cfg->nr_threads > STRESS_MAX_THREADS)
		return -EINVAL;
	slice_pmds = cfg->det ? STRESS_DET_SLICE_PMDS : STRESS_SLICE_PMDS;
	if (cfg->det)
		return det_run(cfg, totals, out);
	if (!(cfg->seconds > 0))
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->nr_threads = cfg->nr_threads;
	st->khugepaged = cfg->khugepaged;
	st->rmap_walker = cfg->rmap_walker;
	st->gup_walker = cfg->gup_walker;
	st->started = now();
	st->w = calloc(cfg->nr_threads, sizeof(*st->w));
	err = st->w ? setup(st, cfg) : -ENOMEM;
	if (err)
		goto out_free;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	__atomic_store_n(&running, st, __ATOMIC_RELEASE);
	err = start_threads(st, cfg);
	if (!err)
		run_and_check(st, cfg);
	check_teardown(st);
	__atomic_store_n(&running, NULL, __ATOMIC_RELEASE);
	sum_up(st, totals);
	if (out && !err)
		report(st, cfg, out);
	for (unsigned t = 0; t < st->nr_threads; t++)
		pthread_mutex_destroy(&st->w[t].model_lock);
	sim_destroy(st->sim);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
out_free:
	free(st->w);
	free(st);
	return err;
}

bool stress_ok(const struct stress_totals *totals)
{
	return !totals->lost && !totals->errors && !totals->check_failures;
}

double stress_seconds_from_env(double dflt)
{
	const char *env = getenv("MTHP_STRESS_SECONDS");
	double secs = env ? atof(env) : dflt;

	return secs > 0 ? secs : dflt;
}
