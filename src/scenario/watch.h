/* SPDX-License-Identifier: MIT */
/*
 * scenario/watch.h - what one run of the simulator did, gathered into a
 * run report (mthp_run_report) as it goes and when it ends (watch.c): the
 * collapses it saw (by order, the attempts that failed, the pages filled
 * and copied, the re-collapses and rebuilds of earlier windows), then
 * khugepaged's counters, the shrinker's, the kernel's counters and the
 * memory left.  A scenario run and a replay of a recording are both
 * watched so.
 */
#ifndef MTHP_SCENARIO_WATCH_H
#define MTHP_SCENARIO_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mthp/scenario.h>
#include <mthp/sim.h>

/* A window collapsed, to see later collapses that take it in. */
struct watch_window {
	uint32_t mm_id;
	uint64_t addr;
	unsigned order;
};

struct run_watch {
	struct mthp_run_report *out;
	uint32_t page_size;
	struct watch_window *done;
	size_t nr_done, cap_done;
	/*
	 * May be NULL: did a collapse that took in an earlier one's window
	 * creep (the scenario's test), and a successful collapse's other
	 * business (the scenario marks the pages it filled).
	 */
	bool (*crept)(void *ctx, const struct sim_collapse_event *ev);
	void (*collapsed)(void *ctx, const struct sim_collapse_event *ev);
	void *ctx;
	int err;		/* -ENOMEM once the window list could not grow */
};

/* A collapse observer (sim_set_collapse_observer()) with a run_watch as ctx. */
void run_watch_event(void *ctx, const struct sim_collapse_event *ev);
/*
 * A run that collapses starts: sim's khugepaged gets the run's policy
 * (mthp_run_policy() of policy) and plug-in, and w watches its collapses.
 */
void run_watch_start(struct run_watch *w, struct sim *sim, int policy);
/*
 * The program freed, paged out or split [addr, addr + len) of mm mm_id:
 * a collapsed folio there is gone, so a later collapse of the window is
 * no re-collapse.
 */
void run_watch_forget(struct run_watch *w, uint32_t mm_id, uint64_t addr, uint64_t len);
/*
 * The run ended; out->final holds every process as it ended.  Fills in
 * khugepaged's counters (when collapse), the shrinker's, the resident
 * pages, the kernel's counters and the collapse allocations.  0, or
 * -errno with diag->msg saying what failed.
 */
int run_watch_finish(struct run_watch *w, struct sim *sim, bool collapse,
		     struct mthp_diag *diag);
void run_watch_free(struct run_watch *w);

#endif /* MTHP_SCENARIO_WATCH_H */
