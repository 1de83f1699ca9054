// SPDX-License-Identifier: MIT
/*
 * khugepaged.c - the khugepaged daemon: the scan cursor (an mm and an
 * address) over the mm slots (kept by mm.c), one wake-up (khugepaged_do_scan: pages_to_scan of
 * progress, the alloc sleep after a first allocation failure and the end
 * of the wake-up after a second), the walk of one mm's VMAs from the
 * cursor (khugepaged_scan_mm_slot: +1 per mm, +1 per skipped VMA, +N per
 * PMD range; a failed mmap_lock trylock or the lock dropped by a
 * collapse ends the mm's turn), full_scans and pages_collapsed, the
 * simulated clock for both sleeps, and the concurrent mode's thread.
 * What a PMD range does is collapse.c's.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <mthp/sched.h>

#include "sim/collapse.h"
#include "sim/khugepaged.h"
#include "sim/locks.h"
#include "sim/mm.h"
#include "sim/trace.h"
#include "sim/vma.h"
#include "sim/world.h"

void khugepaged_init(struct sim *sim)
{
	struct sim_khugepaged *ks = &sim->khugepaged;

	memset(ks, 0, sizeof(*ks));
	ks->policy = MTHP_POLICY_UPSTREAM;
	pthread_mutex_init(&ks->lock, NULL);
	pthread_cond_init(&ks->wake, NULL);
}

void khugepaged_destroy(struct sim *sim)
{
	struct sim_khugepaged *ks = &sim->khugepaged;

	sim_khugepaged_stop(sim);
	collapse_control_free(ks->cc);
	ks->cc = NULL;
	pthread_cond_destroy(&ks->wake);
	pthread_mutex_destroy(&ks->lock);
}

/* Context: takes and drops the khugepaged lock. */
static bool khugepaged_running(struct sim *sim)
{
	bool running;

	khugepaged_lock(&sim->khugepaged);
	running = sim->khugepaged.running;
	khugepaged_unlock(&sim->khugepaged);
	return running;
}

int sim_khugepaged_set_policy(struct sim *sim, enum mthp_policy policy)
{
	struct sim_khugepaged *ks = &sim->khugepaged;

	if ((unsigned)policy >= MTHP_NR_POLICIES)
		return -EINVAL;
	if (khugepaged_running(sim))
		return -EBUSY;
	ks->policy = policy;
	if (ks->cc)
		collapse_control_set_policy(ks->cc, policy);
	return 0;
}

enum mthp_policy sim_khugepaged_policy(struct sim *sim)
{
	return sim->khugepaged.policy;
}

/* Is khugepaged enabled at all (hugepage_enabled)? */
static bool khugepaged_enabled(const struct mthp_settings *s, enum mthp_policy policy)
{
	unsigned first = policy == MTHP_POLICY_UPSTREAM || policy == MTHP_POLICY_GUARDED ?
			 MTHP_MIN_ORDER : s->geo.pmd_order;

	for (unsigned o = first; o <= s->geo.pmd_order; o++) {
		switch (s->size_enabled[o]) {
		case MTHP_MODE_ALWAYS:
		case MTHP_MODE_MADVISE:
			return true;
		case MTHP_MODE_INHERIT:
			if (s->enabled != MTHP_MODE_NEVER)
				return true;
			break;
		case MTHP_MODE_NEVER:
			break;
		}
	}
	return false;
}

/* One mm's turn of khugepaged_scan_mm_slot(). */
struct mm_turn {
	struct sim_mm *mm;
	uint64_t addr;			/* where the scan is */
	uint64_t pages;			/* the progress allowed */
	uint64_t progress;
	uint64_t collapsed;		/* windows collapsed */
	enum mthp_result result;	/* the last PMD range's */
	bool mmap_locked;
	bool vmas_done;			/* the mm is done for this pass */
};

/*
 * The mm at the cursor, with a reference, and the cursor's address in
 * *addr; NULL when no mm has a slot.  Context: takes and drops the mm
 * list lock.
 */
static struct sim_mm *cursor_get_mm(struct sim *sim, uint64_t *addr)
{
	struct sim_khugepaged *ks = &sim->khugepaged;
	struct sim_mm *mm;

	mm_list_lock(sim);
	if (!ks->cursor_mm) {
		ks->cursor_mm = ks->slot_head;
		ks->cursor_addr = 0;
	}
	mm = ks->cursor_mm;
	if (mm)
		__atomic_add_fetch(&mm->refs, 1, __ATOMIC_RELAXED);
	*addr = ks->cursor_addr;
	mm_list_unlock(sim);
	return mm;
}

/*
 * Leave the cursor where the turn ended: at its address, or at the next
 * mm slot when the mm is done (unless the mm's slot went meanwhile); true
 * when the cursor is then at no mm, the full scan finished.
 * Context: takes and drops the mm list lock.
 */
static bool cursor_put_mm(struct sim *sim, const struct mm_turn *t)
{
	struct sim_khugepaged *ks = &sim->khugepaged;
	bool pass_done;

	mm_list_lock(sim);
	if (ks->cursor_mm == t->mm) {
		ks->cursor_addr = t->addr;
		if (t->vmas_done)
			khugepaged_cursor_next_locked(t->mm);
	}
	pass_done = !ks->cursor_mm;
	mm_list_unlock(sim);
	return pass_done;
}

/*
 * The PMD ranges of v from t->addr (+1 of progress for a VMA with none to
 * scan, and per range the PTEs its scan looked at, as Linux 7.2 counts:
 * collapse_progress()).  false when the turn ends here: its progress is
 * used up, or a collapse dropped mmap_lock (t->mmap_locked false).
 * Context: world lock (debug builds) and mmap_lock held for read on
 * entry; both still held on return when t->mmap_locked, else neither.
 */
static bool scan_vma_ranges(struct sim *sim, const struct sim_vma *v,
			    struct mm_turn *t)
{
	struct collapse_control *cc = sim->khugepaged.cc;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo);
	uint64_t hstart = (v->start + pmd_size - 1) & ~(pmd_size - 1);
	uint64_t hend = v->end & ~(pmd_size - 1);
	struct mthp_rules rules;

	collapse_rules(cc, v, &rules);
	if (!rules.eligible || hstart >= hend || t->addr > hend) {
		t->progress++;
		return true;
	}
	if (t->addr < hstart)
		t->addr = hstart;
	while (t->addr < hend) {
		t->result = collapse_scan_pmd(t->mm, v, t->addr, &t->mmap_locked, cc);
		t->collapsed += collapse_nr_done(cc);
		if (t->result == SCAN_SUCCEED)
			__atomic_fetch_add(&sim->khugepaged.pages_collapsed, 1,
					   __ATOMIC_RELAXED);
		t->progress += collapse_progress(cc);
		t->addr += pmd_size;
		if (!t->mmap_locked || t->progress >= t->pages)
			return false;
	}
	return true;
}

/*
 * Scan the mm at the cursor from the cursor's address, up to pages of
 * progress; returns the progress made, the last range's result in
 * *result, and adds the windows collapsed to *collapsed.  A failed
 * mmap_lock trylock drops the mm for the pass.
 * Context: no lock held; takes the mm list lock (briefly), then the world
 * lock and mmap_lock of the mm.
 */
static uint64_t khugepaged_scan_mm_slot(struct sim *sim, uint64_t pages,
					enum mthp_result *result,
					uint64_t *collapsed)
{
	struct mm_turn t = { .pages = pages, .result = SCAN_FAIL };
	struct sim_mm *mm;
	bool pass_done;

	lockdep_assert_none_held();
	*result = SCAN_FAIL;
	mm = t.mm = cursor_get_mm(sim, &t.addr);
	if (!mm)
		return 0;
	t.progress++;

	world_enter(sim);
	if (!mmap_read_trylock(mm)) {
		world_exit(sim);
		t.vmas_done = true;	/* this mm is dropped for the pass */
		goto out_cursor;
	}
	t.mmap_locked = true;
	for (size_t i = vma_index_after(mm, t.addr);; i++) {
		if (ld_relaxed(&mm->exiting) || i >= mm->nr_vmas) {
			t.vmas_done = true;
			break;
		}
		if (!scan_vma_ranges(sim, &mm->vmas[i], &t))
			break;
	}
	if (t.mmap_locked) {
		mmap_unlock(mm);
		t.mmap_locked = false;
		world_exit(sim);
	}
out_cursor:
	pass_done = cursor_put_mm(sim, &t);
	if (trace_on(sim, SIM_TRACE_SCAN_MM))
		trace_event(sim, SIM_TRACE_SCAN_MM, MTHP_CONTEXT_KHUGEPAGED, mm,
			    "mm=%016llx, progress=%u, full_scan_finished=%d", trace_mm_ptr(mm),
			    (unsigned)t.progress, pass_done);
	mm_put(mm);
	lockdep_assert_none_held();
	*result = t.result;
	*collapsed += t.collapsed;
	return t.progress;
}

/*
 * One wake-up; with stop_at_wrap it ends when the cursor wraps past the
 * last mm slot (the kernel goes on with what is left of pages_to_scan).
 * Context: no lock held.
 */
static int khugepaged_do_scan(struct sim *sim, uint64_t *progress_out,
			      uint64_t *collapsed, bool stop_at_wrap)
{
	struct sim_khugepaged *ks = &sim->khugepaged;
	const struct mthp_settings *s = sim_settings(sim);
	uint64_t pages = s->pages_to_scan, progress = 0;
	unsigned pass_through_head = 0;
	enum mthp_result result = SCAN_FAIL;
	uint64_t full_scans = ld_relaxed(&ks->full_scans);
	bool wait = true;

	lockdep_assert_none_held();
	*progress_out = 0;
	if (!khugepaged_enabled(s, ks->policy))
		return 0;
	if (!ks->cc) {
		ks->cc = collapse_control_alloc(sim, ks->policy, MTHP_CONTEXT_KHUGEPAGED);
		if (!ks->cc)
			return -ENOMEM;
	}
	/*
	 * lru_add_drain_all() starts each wake-up.  The simulator also
	 * drains when khugepaged goes back to sleep, where Linux leaves the
	 * folios in its CPU's batch until something drains it: only
	 * khugepaged's own attempts see the batch.  Under the world lock: a
	 * drain frees the folios unmapped meanwhile.
	 */
	world_enter(sim);
	collapse_lru_drain(ks->cc);
	world_exit(sim);
	for (;;) {
		bool have_slots, at_head;

		mm_list_lock(sim);
		have_slots = ks->slot_head != NULL;
		at_head = ks->cursor_mm == NULL;
		mm_list_unlock(sim);
		if (at_head)
			pass_through_head++;
		if (have_slots && pass_through_head < 2)
			progress += khugepaged_scan_mm_slot(sim, pages - progress,
							    &result, collapsed);
		else
			progress = pages;
		if (progress >= pages)
			break;
		if (stop_at_wrap && ld_relaxed(&ks->full_scans) != full_scans)
			break;
		if (result == SCAN_ALLOC_HUGE_PAGE_FAIL) {
			if (!wait)
				break;
			wait = false;
			sim_advance(sim, (uint64_t)s->alloc_sleep_millisecs * 1000000ull);
		}
	}
	world_enter(sim);
	collapse_lru_drain(ks->cc);
	world_exit(sim);
	*progress_out = progress;
	return 0;
}

int sim_khugepaged_wake(struct sim *sim, uint64_t *progress)
{
	uint64_t collapsed = 0, dummy;
	int err;

	if (khugepaged_running(sim))
		return -EBUSY;
	err = khugepaged_do_scan(sim, progress ? progress : &dummy, &collapsed, false);
	sim_advance(sim, (uint64_t)sim_settings(sim)->scan_sleep_millisecs * 1000000ull);
	return err;
}

int sim_khugepaged_pass(struct sim *sim, uint32_t max_wakeups, uint64_t *collapsed)
{
	struct sim_khugepaged *ks = &sim->khugepaged;
	uint64_t start = ld_relaxed(&ks->full_scans), done = 0, progress;
	int err = 0;

	if (khugepaged_running(sim))
		return -EBUSY;
	for (uint32_t n = 0; !max_wakeups || n < max_wakeups; n++) {
		bool have_slots;

		mm_list_lock(sim);
		have_slots = ks->slot_head != NULL;
		mm_list_unlock(sim);
		if (!have_slots || !khugepaged_enabled(sim_settings(sim), ks->policy))
			break;
		err = khugepaged_do_scan(sim, &progress, &done, true);
		sim_advance(sim, (uint64_t)sim_settings(sim)->scan_sleep_millisecs *
				 1000000ull);
		if (err || ld_relaxed(&ks->full_scans) != start)
			break;
	}
	if (collapsed)
		*collapsed = done;
	return err;
}

/*
 * The khugepaged thread.  Context: takes the khugepaged lock between
 * passes (and sleeps on its condition variable), no lock during a pass.
 * Under a deterministic schedule the sleep is a yield: time is the
 * simulator's clock, which sim_advance() moved.
 */
static void *khugepaged_thread(void *arg)
{
	struct sim *sim = arg;
	struct sim_khugepaged *ks = &sim->khugepaged;

	for (;;) {
		uint64_t progress, collapsed = 0;
		uint32_t ms;
		bool stop;

		khugepaged_lock(ks);
		stop = ks->stop;
		khugepaged_unlock(ks);
		if (stop)
			break;
		khugepaged_do_scan(sim, &progress, &collapsed, false);
		ms = sim_settings(sim)->scan_sleep_millisecs;
		sim_advance(sim, (uint64_t)ms * 1000000ull);
		khugepaged_lock(ks);
		if (!ks->stop && ms && !sim_sched_on()) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ms / 1000;
			ts.tv_nsec += (long)(ms % 1000) * 1000000l;
			if (ts.tv_nsec >= 1000000000l) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000l;
			}
			pthread_cond_timedwait(&ks->wake, &ks->lock, &ts);
		}
		khugepaged_unlock(ks);
		if (sim_sched_on())
			sim_thread_yield();
	}
	return NULL;
}

/* Context: takes and drops the khugepaged lock. */
int sim_khugepaged_start(struct sim *sim)
{
	struct sim_khugepaged *ks = &sim->khugepaged;
	int err = 0;

	khugepaged_lock(ks);
	if (ks->running) {
		err = -EBUSY;
		goto out_unlock;
	}
	if (!ks->cc) {
		ks->cc = collapse_control_alloc(sim, ks->policy, MTHP_CONTEXT_KHUGEPAGED);
		if (!ks->cc) {
			err = -ENOMEM;
			goto out_unlock;
		}
	}
	ks->stop = false;
	err = sim_thread_start(&ks->thread, "khugepaged", khugepaged_thread, sim);
	if (!err)
		ks->running = true;
out_unlock:
	khugepaged_unlock(ks);
	return err;
}

/* Context: no lock held; takes and drops the khugepaged lock. */
void sim_khugepaged_stop(struct sim *sim)
{
	struct sim_khugepaged *ks = &sim->khugepaged;
	bool running;

	khugepaged_lock(ks);
	running = ks->running;
	ks->stop = true;
	pthread_cond_broadcast(&ks->wake);
	khugepaged_unlock(ks);
	if (!running)
		return;
	sim_thread_join(ks->thread);
	khugepaged_lock(ks);
	ks->running = false;
	khugepaged_unlock(ks);
}

int sim_khugepaged_stat(struct sim *sim, const char *name, uint64_t *value)
{
	struct sim_khugepaged *ks = &sim->khugepaged;
	const uint64_t *counter;

	if (!strcmp(name, "pages_collapsed"))
		counter = &ks->pages_collapsed;
	else if (!strcmp(name, "full_scans"))
		counter = &ks->full_scans;
	else if (!strcmp(name, "ptes_scanned"))
		counter = &ks->ptes_scanned;
	else
		return -EINVAL;
	*value = ld_relaxed(counter);
	return 0;
}

void sim_khugepaged_scan_results(struct sim *sim, uint64_t out[MTHP_NR_RESULTS])
{
	for (unsigned r = 0; r < MTHP_NR_RESULTS; r++)
		out[r] = ld_relaxed(&sim->khugepaged.scan_results[r]);
}

void sim_khugepaged_walk_outcomes(struct sim *sim, uint64_t out[SIM_NR_WALK_OUTCOMES])
{
	for (unsigned w = 0; w < SIM_NR_WALK_OUTCOMES; w++)
		out[w] = ld_relaxed(&sim->khugepaged.walk_outcomes[w]);
}
