// SPDX-License-Identifier: MIT
/*
 * watch.c - what one run of the simulator did, as a run report
 * (scenario/watch.h); which policy a run has, and its name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/msg.h"
#include "scenario/watch.h"

#include <mthp/policy_plugin.h>

static const struct mthp_policy_plugin *run_plugin;
static enum mthp_policy run_plugin_fallback;

void mthp_run_use_plugin(const struct mthp_policy_plugin *p, enum mthp_policy fallback)
{
	run_plugin = p;
	run_plugin_fallback = fallback;
}

const char *mthp_run_name(int policy)
{
	if (policy == MTHP_RUN_NO_COLLAPSE)
		return "no collapse";
	if (policy == MTHP_RUN_PLUGIN)
		return run_plugin ? run_plugin->name : "plug-in";
	return mthp_policy_name((enum mthp_policy)policy);
}

bool mthp_run_policy(int policy, enum mthp_policy *builtin,
		     const struct mthp_policy_plugin **plugin)
{
	*plugin = NULL;
	if (policy == MTHP_RUN_NO_COLLAPSE)
		return false;
	if (policy == MTHP_RUN_PLUGIN) {
		*builtin = run_plugin_fallback;
		*plugin = run_plugin;
		return true;
	}
	*builtin = (enum mthp_policy)policy;
	return true;
}

void run_watch_event(void *ctx, const struct sim_collapse_event *ev)
{
	struct run_watch *w = ctx;
	struct mthp_run_report *out = w->out;
	uint64_t len = (uint64_t)w->page_size << ev->order;
	bool grew = false, rebuilt = false;

	if (ev->result != SCAN_SUCCEED) {
		if ((unsigned)ev->result < MTHP_NR_RESULTS)
			out->failed_by_result[ev->result]++;
		return;
	}
	out->collapses_by_order[ev->order]++;
	out->pages_filled += ev->filled;
	out->pages_copied += (1ull << ev->order) - ev->filled;
	/*
	 * A collapse over an earlier one's window: into a larger folio is
	 * the creep signal; at the same order it rebuilds what was there.
	 */
	for (size_t i = 0; i < w->nr_done;) {
		struct watch_window *d = &w->done[i];

		if (d->mm_id == ev->mm_id && d->addr >= ev->addr && d->addr < ev->addr + len) {
			if (d->order < ev->order)
				grew = true;
			else
				rebuilt = true;
			*d = w->done[--w->nr_done];
			continue;
		}
		i++;
	}
	out->recollapses += grew;
	out->crept += grew && w->crept && w->crept(w->ctx, ev);
	if (w->collapsed)
		w->collapsed(w->ctx, ev);
	out->rebuilds += rebuilt && !grew;
	if (mthp_array_grow((void **)&w->done, &w->cap_done, w->nr_done, sizeof(*w->done))) {
		w->err = -ENOMEM;
		return;
	}
	w->done[w->nr_done++] = (struct watch_window){ ev->mm_id, ev->addr, ev->order };
}

void run_watch_start(struct run_watch *w, struct sim *sim, int policy)
{
	enum mthp_policy builtin = MTHP_POLICY_UPSTREAM;
	const struct mthp_policy_plugin *plugin;

	mthp_run_policy(policy, &builtin, &plugin);
	sim_khugepaged_set_policy(sim, builtin);
	sim_set_policy_plugin(sim, plugin);
	sim_set_collapse_observer(sim, run_watch_event, w);
}

void run_watch_forget(struct run_watch *w, uint32_t mm_id, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < w->nr_done;) {
		struct watch_window *d = &w->done[i];
		uint64_t d_len = (uint64_t)w->page_size << d->order;

		if (d->mm_id == mm_id && d->addr < addr + len && addr < d->addr + d_len) {
			*d = w->done[--w->nr_done];
			continue;
		}
		i++;
	}
}

/* The kernel's counters now, into the report: the simulator goes after the run. */
static int capture_stats(struct run_watch *w, struct sim *sim)
{
	struct mthp_run_report *out = w->out;
	size_t n = sim_stats(sim, NULL, 0);
	uint64_t collapses = 0;

	out->stats = calloc(n ? n : 1, sizeof(*out->stats));
	if (!out->stats)
		return -ENOMEM;
	out->nr_stats = sim_stats(sim, out->stats, n);
	for (size_t i = 0; i < out->nr_stats; i++) {
		const struct sim_stat *st = &out->stats[i];

		if (st->file == SIM_STAT_SIZE && !strcmp(st->name, "collapse_alloc"))
			out->collapse_allocs += st->value;
	}
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
		collapses += out->collapses_by_order[o];
	/* every collapse installs a folio it allocated */
	if (out->collapse_allocs > collapses)
		out->collapse_allocs_dropped = out->collapse_allocs - collapses;
	return 0;
}

int run_watch_finish(struct run_watch *w, struct sim *sim, bool collapse,
		     struct mthp_diag *diag)
{
	struct mthp_run_report *out = w->out;
	struct sim_shrink_result pre;
	int err = w->err;

	if (err) {
		mthp_msg(diag->msg, sizeof(diag->msg), "out of memory");
		return err;
	}
	if (collapse) {
		sim_khugepaged_scan_results(sim, out->scan_results);
		_Static_assert(SIM_NR_WALK_OUTCOMES == 3, "the report's walk_outcomes[]");
		sim_khugepaged_walk_outcomes(sim, out->walk_outcomes);
		err = sim_khugepaged_stat(sim, "ptes_scanned", &out->ptes_scanned);
		if (err) {
			mthp_msg(diag->msg, sizeof(diag->msg), "no khugepaged counter ptes_scanned");
			return err;
		}
	}
	if (sim_vmstat(sim, "thp_underused_split_page", &out->shrink_splits)) {
		mthp_msg(diag->msg, sizeof(diag->msg),
			 "no vmstat counter thp_underused_split_page");
		return -EINVAL;
	}
	out->shrink_freed = sim_shrink_freed(sim);
	out->reclaim_paged_out = sim_reclaim_paged_out(sim);
	err = sim_shrink_preview(sim, &pre);
	if (err) {
		mthp_msg(diag->msg, sizeof(diag->msg), "the shrinker's preview failed (%s)",
			 strerror(-err));
		return err;
	}
	out->underused_thps = pre.split;
	out->underused_pages = pre.pages_freed;
	out->partial_folios = sim_partially_mapped(sim, &out->partial_unmapped);
	out->resident_pages = mthp_snapshot_present_pages(&out->final);
	err = capture_stats(w, sim);
	if (err)
		mthp_msg(diag->msg, sizeof(diag->msg), "out of memory");
	return err;
}

void run_watch_free(struct run_watch *w)
{
	free(w->done);
	w->done = NULL;
	w->nr_done = w->cap_done = 0;
}
