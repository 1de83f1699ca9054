// SPDX-License-Identifier: MIT
/*
 * sweep.c - a scenario over a grid of knob values under each policy, the
 * Pareto front of memory against TLB entries, and the recommendation
 * (mthp/sweep.h).  The runs themselves are mthp_scenario_run(); this file
 * only decides what to run, in which order, and what the results say.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mthp/passes.h>
#include <mthp/replay.h>
#include <mthp/sweep.h>

static int fail(struct mthp_diag *diag, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct mthp_diag *diag, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
	return err;
}

static int parse_values(struct mthp_sweep_axis *axis, const char *list,
			const struct mthp_settings *s, struct mthp_diag *diag)
{
	/* each value as the knob reads it back: "00" and "0" are one value */
	char canon[MTHP_SWEEP_MAX_VALUES][MTHP_SWEEP_VALUE_MAX];
	const char *p = list;

	for (;;) {
		size_t len = strcspn(p, ",");
		struct mthp_settings scratch = *s;
		char *v = axis->values[axis->nr_values];
		char msg[256];

		if (!len)
			return fail(diag, -EINVAL, "--sweep %s=%s: an empty value", axis->knob,
				    list);
		if (len >= MTHP_SWEEP_VALUE_MAX)
			return fail(diag, -EINVAL, "--sweep %s: the value '%.*s' is too long",
				    axis->knob, (int)len, p);
		if (axis->nr_values == MTHP_SWEEP_MAX_VALUES)
			return fail(diag, -E2BIG, "--sweep %s: more than %d values",
				    axis->knob, MTHP_SWEEP_MAX_VALUES);
		memcpy(v, p, len);
		v[len] = '\0';
		for (unsigned i = 0; i < axis->nr_values; i++)
			if (!strcmp(axis->values[i], v))
				return fail(diag, -EINVAL, "--sweep %s: the value '%s' is given twice",
					    axis->knob, v);
		if (mthp_settings_set(&scratch, axis->knob, v, msg, sizeof(msg)))
			return fail(diag, -EINVAL, "--sweep %s=%s: %s", axis->knob, list, msg);
		if (mthp_settings_get(&scratch, axis->knob, canon[axis->nr_values],
				      sizeof(canon[0])))
			snprintf(canon[axis->nr_values], sizeof(canon[0]), "%s", v);
		for (unsigned i = 0; i < axis->nr_values; i++)
			if (!strcmp(canon[i], canon[axis->nr_values]))
				return fail(diag, -EINVAL, "--sweep %s: the values '%s' and '%s' "
					    "are one setting", axis->knob, axis->values[i], v);
		axis->nr_values++;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

int mthp_sweep_axis_parse(struct mthp_sweep_axis *axis, const char *arg,
			  const struct mthp_settings *s, struct mthp_diag *diag)
{
	const char *eq = strchr(arg, '=');

	memset(axis, 0, sizeof(*axis));
	if (!eq || eq == arg)
		return fail(diag, -EINVAL, "--sweep '%s': expected KNOB=V1,V2,...", arg);
	if ((size_t)(eq - arg) >= sizeof(axis->knob))
		return fail(diag, -EINVAL, "--sweep '%s': the knob name is too long", arg);
	memcpy(axis->knob, arg, (size_t)(eq - arg));
	return parse_values(axis, eq + 1, s, diag);
}

const char *mthp_sweep_value(const struct mthp_sweep *sw, unsigned combo, unsigned a)
{
	unsigned stride = 1;

	for (unsigned b = sw->nr_axes; b-- > a + 1;)
		stride *= sw->axes[b].nr_values;
	return sw->axes[a].values[(combo / stride) % sw->axes[a].nr_values];
}

void mthp_sweep_combo_label(const struct mthp_sweep *sw, unsigned combo,
			    char *buf, size_t buflen)
{
	size_t used = 0;

	if (!buflen)
		return;
	buf[0] = '\0';
	if (!sw->nr_axes) {
		snprintf(buf, buflen, "as written");
		return;
	}
	for (unsigned a = 0; a < sw->nr_axes && used < buflen; a++) {
		int n = snprintf(buf + used, buflen - used, "%s%s=%s", a ? ", " : "",
				 sw->axes[a].knob, mthp_sweep_value(sw, combo, a));

		if (n < 0)
			return;
		used += (size_t)n;
	}
}

/* ---- running the grid ---- */

struct job {
	unsigned combo;			/* UINT32_MAX: the baseline */
	int policy;
	struct mthp_run_report *out;
	uint64_t *tlb;
	int err;
	char msg[sizeof(((struct mthp_diag *)0)->msg)];
};

struct pool {
	const struct mthp_sweep *sw;
	struct job *jobs;
	size_t nr_jobs;
	size_t next;			/* atomic: the next job to take */
};

static int apply_combo(const struct mthp_sweep *sw, unsigned combo, struct mthp_settings *s,
		       struct mthp_diag *diag)
{
	char msg[256];

	*s = sw->settings;
	if (combo == UINT32_MAX)
		return 0;
	for (unsigned a = 0; a < sw->nr_axes; a++)
		if (mthp_settings_set(s, sw->axes[a].knob, mthp_sweep_value(sw, combo, a), msg,
				      sizeof(msg)))
			return fail(diag, -EINVAL, "%s", msg);
	return 0;
}

/* khugepaged's passes over a copy of the snapshot, as a run report */
static int run_passes(const struct mthp_sweep *sw, const struct mthp_settings *s, int policy,
		      struct mthp_run_report *out, struct mthp_diag *diag)
{
	struct mthp_passes_summary sum = { 0 };
	struct mthp_tlb_count count;
	int err;

	memset(out, 0, sizeof(*out));
	out->policy = policy;
	err = mthp_snapshot_copy(&out->final, sw->snapshot);
	if (err)
		return fail(diag, err, "out of memory copying the snapshot");
	if (policy != MTHP_RUN_NO_COLLAPSE) {
		err = mthp_snapshot_plan_passes(&out->final, s, (enum mthp_policy)policy,
						sw->context, sw->max_passes ? sw->max_passes : 64,
						NULL, NULL, NULL, &sum);
		if (err)
			return fail(diag, err, "planning the snapshot failed (%d)", err);
	}
	/* resident: every page mapped, the shared zero page aside */
	err = mthp_tlb_count(&out->final, sw->profile, &count);
	if (err)
		return fail(diag, err, "TLB profile %s does not fit the snapshot's page size",
			    mthp_tlb_profile_name(sw->profile));
	out->resident_pages = count.pages - count.zero_pages;
	memcpy(out->collapses_by_order, sum.collapses_by_order, sizeof(out->collapses_by_order));
	out->pages_filled = sum.pages_filled;
	out->pages_copied = sum.pages_copied;
	out->recollapses = sum.recollapses;
	out->rebuilds = sum.rebuilds;
	out->wakeups = sum.passes;
	/* the THPs the passes made; the snapshot's own show no zero-filled pages */
	out->underused_thps = sum.underused;
	out->underused_pages = sum.underused_pages;
	return 0;
}

/* A replay of the recording under s, as a run report */
static int run_replay(const struct mthp_sweep *sw, const struct mthp_settings *s, int policy,
		      struct mthp_run_report *out, struct mthp_diag *diag)
{
	struct mthp_replay_opts o = { .policy = policy, .settings = s, .size = sw->replay_size };
	struct mthp_replay_report rep;
	FILE *f = fopen(sw->recording, "r");
	int err = f ? 0 : -errno;

	if (!f)
		return fail(diag, err, "%s: %s", sw->recording, strerror(-err));
	err = mthp_replay(f, sw->recording, &o, &rep, diag);
	fclose(f);
	if (!err)
		*out = rep.run;	/* the run report's memory moves to out */
	return err;
}

static void run_job(const struct mthp_sweep *sw, struct job *j)
{
	struct mthp_run_opts opts = { .policy = j->policy };
	struct mthp_diag diag = { .msg = "" };
	struct mthp_tlb_count count;
	struct mthp_settings s;

	j->err = apply_combo(sw, j->combo, &s, &diag);
	if (!j->err && sw->snapshot)
		j->err = run_passes(sw, &s, j->policy, j->out, &diag);
	else if (!j->err && sw->recording)
		j->err = run_replay(sw, &s, j->policy, j->out, &diag);
	else if (!j->err)
		j->err = mthp_scenario_run(sw->scenario, &s, sw->seed, &opts, j->out, &diag);
	if (!j->err) {
		j->err = mthp_tlb_count(&j->out->final, sw->profile, &count);
		if (j->err)
			snprintf(diag.msg, sizeof(diag.msg), "TLB profile %s does not fit the "
				 "scenario's page size", mthp_tlb_profile_name(sw->profile));
		else
			*j->tlb = count.total;
		/* the grid keeps numbers, not whole address spaces */
		mthp_snapshot_free(&j->out->final);
		memset(&j->out->final, 0, sizeof(j->out->final));
	}
	if (j->err)
		memcpy(j->msg, diag.msg, sizeof(j->msg));
}

static void *worker(void *arg)
{
	struct pool *pool = arg;

	for (;;) {
		size_t i = __atomic_fetch_add(&pool->next, 1, __ATOMIC_RELAXED);

		if (i >= pool->nr_jobs)
			return NULL;
		run_job(pool->sw, &pool->jobs[i]);
	}
}

static unsigned nr_threads(const struct mthp_sweep *sw, size_t nr_jobs)
{
	long cpus = sw->threads ? (long)sw->threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 1)
		cpus = 1;
	if ((size_t)cpus > nr_jobs)
		cpus = (long)nr_jobs;
	return cpus > 64 ? 64 : (unsigned)cpus;
}

static int run_pool(struct pool *pool)
{
	pthread_t threads[64];
	unsigned n = nr_threads(pool->sw, pool->nr_jobs), started = 0;

	/* this thread works too; helpers are a bonus, not a requirement */
	while (started + 1 < n && !pthread_create(&threads[started], NULL, worker, pool))
		started++;
	worker(pool);
	for (unsigned t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	return 0;
}

int mthp_sweep_axes_distinct(const struct mthp_sweep_axis *axes, unsigned nr,
			     struct mthp_diag *diag)
{
	for (unsigned a = 0; a < nr; a++)
		for (unsigned b = 0; b < a; b++)
			if (!strcmp(axes[a].knob, axes[b].knob))
				return fail(diag, -EINVAL, "--sweep %s is given twice",
					    axes[a].knob);
	return 0;
}

int mthp_sweep_grid_size(const struct mthp_sweep_axis *axes, unsigned nr, unsigned *out,
			 struct mthp_diag *diag)
{
	uint64_t n = 1;
	int err;

	if (nr > MTHP_SWEEP_MAX_AXES)
		return fail(diag, -E2BIG, "more than %d swept knobs", MTHP_SWEEP_MAX_AXES);
	err = mthp_sweep_axes_distinct(axes, nr, diag);
	if (err)
		return err;
	for (unsigned a = 0; a < nr; a++) {
		n *= axes[a].nr_values;
		if (n > MTHP_SWEEP_MAX_COMBOS)
			return fail(diag, -E2BIG, "the sweep has more than %d combinations of "
				    "settings", MTHP_SWEEP_MAX_COMBOS);
	}
	*out = (unsigned)n;
	return 0;
}

static void fill_jobs(struct mthp_sweep *sw, struct job *jobs)
{
	unsigned per = mthp_sweep_runs_per_combo(sw);

	jobs[0] = (struct job){ .combo = UINT32_MAX, .policy = MTHP_RUN_NO_COLLAPSE,
				.out = &sw->baseline, .tlb = &sw->baseline_tlb };
	for (size_t i = 0; i < sw->nr_runs; i++) {
		struct mthp_sweep_run *run = &sw->runs[i];

		unsigned k = (unsigned)(i % per);

		run->combo = (unsigned)(i / per);
		if (!sw->snapshot)
			run->policy = k ? sw->policies[k - 1] : MTHP_RUN_NO_COLLAPSE;
		else
			run->policy = sw->policies[k];
		jobs[i + 1] = (struct job){ .combo = run->combo, .policy = run->policy,
					    .out = &run->report, .tlb = &run->tlb_entries };
	}
}

static double change(uint64_t value, uint64_t base)
{
	if (!base)
		return value ? 1.0 : 0.0;
	return (double)value / (double)base - 1.0;
}

static bool dominates(const struct mthp_sweep_run *a, const struct mthp_sweep_run *b)
{
	uint64_t am = a->report.resident_pages, bm = b->report.resident_pages;

	return am <= bm && a->tlb_entries <= b->tlb_entries &&
	       (am < bm || a->tlb_entries < b->tlb_entries);
}

static void mark_front(struct mthp_sweep *sw)
{
	for (size_t i = 0; i < sw->nr_runs; i++) {
		struct mthp_sweep_run *run = &sw->runs[i];

		run->memory_change = change(run->report.resident_pages,
					    sw->baseline.resident_pages);
		run->tlb_change = change(run->tlb_entries, sw->baseline_tlb);
		run->on_front = true;
		for (size_t k = 0; k < sw->nr_runs && run->on_front; k++)
			if (k != i && dominates(&sw->runs[k], run))
				run->on_front = false;
	}
}

int mthp_sweep_run(struct mthp_sweep *sw, struct mthp_diag *diag)
{
	struct pool pool = { .sw = sw };
	int err;

	sw->runs = NULL;
	sw->nr_runs = 0;
	memset(&sw->baseline, 0, sizeof(sw->baseline));
	/* the runs are of a machine with the MMU the profile judges */
	sw->settings.geo.cont_order = mthp_tlb_profile_info(sw->profile)->cont_order;
	err = mthp_sweep_grid_size(sw->axes, sw->nr_axes, &sw->nr_combos, diag);
	if (err)
		return err;
	sw->nr_runs = (size_t)sw->nr_combos * mthp_sweep_runs_per_combo(sw);
	sw->runs = calloc(sw->nr_runs, sizeof(*sw->runs));
	pool.nr_jobs = sw->nr_runs + 1;
	pool.jobs = calloc(pool.nr_jobs, sizeof(*pool.jobs));
	if (!sw->runs || !pool.jobs) {
		free(pool.jobs);
		free(sw->runs);
		sw->runs = NULL;
		sw->nr_runs = 0;
		return fail(diag, -ENOMEM, "out of memory for %zu runs", sw->nr_runs);
	}
	fill_jobs(sw, pool.jobs);
	run_pool(&pool);
	for (size_t i = 0; i < pool.nr_jobs; i++) {
		struct job *j = &pool.jobs[i];
		char label[256];

		if (!j->err)
			continue;
		if (j->combo == UINT32_MAX)
			snprintf(label, sizeof(label), "the scenario as written");
		else
			mthp_sweep_combo_label(sw, j->combo, label, sizeof(label));
		err = fail(diag, j->err, "%s under %s: %s", label,
			   mthp_run_name(j->policy), j->msg);
		break;
	}
	free(pool.jobs);
	if (err) {
		mthp_sweep_free(sw);
		return err;
	}
	mark_front(sw);
	return 0;
}

void mthp_sweep_free(struct mthp_sweep *sw)
{
	for (size_t i = 0; i < sw->nr_runs; i++)
		mthp_run_report_free(&sw->runs[i].report);
	mthp_run_report_free(&sw->baseline);
	free(sw->runs);
	sw->runs = NULL;
	sw->nr_runs = 0;
}

/* ---- the answer ---- */

/* a better than b as a recommendation: fewer TLB entries, then less memory */
static bool better(const struct mthp_sweep_run *a, const struct mthp_sweep_run *b)
{
	if (a->tlb_entries != b->tlb_entries)
		return a->tlb_entries < b->tlb_entries;
	return a->report.resident_pages < b->report.resident_pages;
}

void mthp_sweep_choose(const struct mthp_sweep *sw, double budget,
		       struct mthp_sweep_choice *choice)
{
	choice->within_budget = -1;
	choice->fewest_tlb = -1;
	for (size_t i = 0; i < sw->nr_runs; i++) {
		const struct mthp_sweep_run *run = &sw->runs[i];

		if (!run->on_front || run->tlb_entries >= sw->baseline_tlb)
			continue;
		if (choice->fewest_tlb < 0 || better(run, &sw->runs[choice->fewest_tlb]))
			choice->fewest_tlb = (long)i;
		if (run->memory_change <= budget + 1e-12 &&
		    (choice->within_budget < 0 || better(run, &sw->runs[choice->within_budget])))
			choice->within_budget = (long)i;
	}
}

static void describe(const struct mthp_sweep *sw, const struct mthp_sweep_run *run,
		     char *buf, size_t buflen)
{
	char label[256];

	mthp_sweep_combo_label(sw, run->combo, label, sizeof(label));
	if (run->policy == MTHP_RUN_NO_COLLAPSE)
		snprintf(buf, buflen, "khugepaged off with %s", label);
	else
		snprintf(buf, buflen, "%s with %s", mthp_run_name(run->policy), label);
}

/*
 * What the underused-THP shrinker would take back from a recommended run
 * under memory pressure, as a sentence appended to buf; nothing when it
 * would split nothing.
 */
static void add_underused(const struct mthp_sweep *sw, const struct mthp_sweep_run *run,
			  char *buf, size_t buflen)
{
	size_t len = strlen(buf);
	double mib = (double)run->report.underused_pages *
		     (double)sw->settings.geo.page_size / (1 << 20);
	char what[320];

	if (!run->report.underused_thps || len >= buflen)
		return;
	describe(sw, run, what, sizeof(what));
	snprintf(buf + len, buflen - len, " Under memory pressure the underused-THP shrinker "
		 "would split %" PRIu64 " THP%s of %s again (more than max_ptes_none of "
		 "%s pages zero-filled), giving back %.1f MiB.", run->report.underused_thps,
		 run->report.underused_thps == 1 ? "" : "s", what,
		 run->report.underused_thps == 1 ? "its" : "their", mib);
}

/* A budget as a percentage, to its hundredth and no further: 5, 0.2, 12.25. */
static void budget_text(double budget, char *buf, size_t len)
{
	char *end;

	snprintf(buf, len, "%.2f", budget * 100 == 0 ? 0.0 : budget * 100);
	end = buf + strlen(buf);
	while (end[-1] == '0')
		*--end = '\0';
	if (end[-1] == '.')
		end[-1] = '\0';
}

/*
 * The words under the table.  The memory changes are given to a tenth of
 * a percent, as the table gives them (a budget under 1% reads as what it
 * is), the TLB changes to a whole percent.
 */
void mthp_sweep_recommendation(const struct mthp_sweep *sw, double budget,
			       char *buf, size_t buflen)
{
	struct mthp_sweep_choice c;
	char what[320], other[320], pct[32];
	const struct mthp_sweep_run *best, *most;

	mthp_sweep_choose(sw, budget, &c);
	if (c.fewest_tlb < 0) {
		snprintf(buf, buflen, "No setting needs fewer TLB entries (%s) than %s: keep "
			 "what you have.", mthp_tlb_profile_name(sw->profile),
			 mthp_sweep_baseline_name(sw));
		return;
	}
	most = &sw->runs[c.fewest_tlb];
	describe(sw, most, other, sizeof(other));
	budget_text(budget, pct, sizeof(pct));
	if (c.within_budget < 0) {
		snprintf(buf, buflen, "No setting saves TLB entries (%s) within %s%% more "
			 "memory. The fewest TLB entries: %s: %+.0f%% TLB entries for %+.1f%% "
			 "memory.", mthp_tlb_profile_name(sw->profile), pct, other,
			 most->tlb_change * 100, most->memory_change * 100);
		add_underused(sw, most, buf, buflen);
		return;
	}
	best = &sw->runs[c.within_budget];
	describe(sw, best, what, sizeof(what));
	if (best == most)
		snprintf(buf, buflen, "Lowest TLB entries (%s) within %s%% more memory, and "
			 "lowest of all: %s: TLB entries %+.0f%%, memory %+.1f%%.",
			 mthp_tlb_profile_name(sw->profile), pct, what,
			 best->tlb_change * 100, best->memory_change * 100);
	else
		snprintf(buf, buflen, "Lowest TLB entries (%s) within %s%% more memory: %s: "
			 "TLB entries %+.0f%%, memory %+.1f%%. The fewest of all: %s: TLB entries "
			 "%+.0f%% for memory %+.1f%%.",
			 mthp_tlb_profile_name(sw->profile), pct, what,
			 best->tlb_change * 100, best->memory_change * 100, other,
			 most->tlb_change * 100, most->memory_change * 100);
	add_underused(sw, best, buf, buflen);
}
