// SPDX-License-Identifier: MIT
/*
 * compare.c - the host side of make check-kernel: for every batch that
 * tests/kernel/guest_khugepaged.c ran in the guest, plan the ranges of
 * before.snap (policy upstream, context khugepaged, the batch's settings,
 * the pages the guest made old marked old) and compare the plan's
 * collapses with the folios the real khugepaged left in after.snap; and
 * compare the per-size collapse_alloc counters with the plan's attempts.
 * Then the same with the simulator: before.snap (old pages marked old)
 * loaded into it (mthp_snapshot_load()), khugepaged run for one full pass
 * under policy upstream, and its folios and counters compared with the
 * kernel's; then both run on to a pass that collapses nothing (at most
 * MAX_PASSES), and the folios of steady.snap compared with the
 * simulator's.
 *
 *   compare RESULT_DIR...       each RESULT_DIR one batch (NN-NAME/)
 *
 * Prints one line per batch and every disagreement as: pattern, settings,
 * planned collapses, what the kernel did (index:order, index in PTEs).
 * Exit status 1 when the plan or the simulator disagrees with the kernel
 * anywhere, the traces differ in a way known_trace_case() does not
 * explain, or a batch's files are missing or bad; else 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mthp/engine.h>
#include <mthp/passes.h>
#include <mthp/replay.h>
#include <mthp/settings.h>
#include <mthp/sim.h>
#include <mthp/snapshot.h>

#include "report/trace_diff.h"

#define MAX_ORDER 14
#define LINE_MAX_LEN 4096
#define MAX_CASES 256
#define MAX_PASSES 8	/* the steady state: as the guest runs it */

/* What a batch counts, and the totals add up. */
struct counts {
	unsigned ranges, agree, new_disagree;
	unsigned sim_agree, sim_new, sim_stats_bad;
	unsigned trace_same, trace_locked, trace_new;
	unsigned transient;	/* first-pass disagreements a locked folio explains */
	unsigned steady_agree, steady_new;
	unsigned plan_steady_agree, plan_steady_new;
};

/* Add every count of b to t. */
static void counts_add(struct counts *t, const struct counts *b)
{
	t->ranges += b->ranges;
	t->agree += b->agree;
	t->new_disagree += b->new_disagree;
	t->sim_agree += b->sim_agree;
	t->sim_new += b->sim_new;
	t->sim_stats_bad += b->sim_stats_bad;
	t->trace_same += b->trace_same;
	t->trace_locked += b->trace_locked;
	t->trace_new += b->trace_new;
	t->transient += b->transient;
	t->steady_agree += b->steady_agree;
	t->steady_new += b->steady_new;
	t->plan_steady_agree += b->plan_steady_agree;
	t->plan_steady_new += b->plan_steady_new;
}

struct batch_result {
	const char *dir;
	char settings_text[1024];	/* KNOB=VALUE ... on one line */
	struct mthp_settings settings;
	struct mthp_snapshot before, after;
	unsigned planned_allocs[MAX_ORDER];	/* collapses + attempts by order */
	unsigned kernel_folios[MAX_ORDER];	/* collapses seen, by order */
	uint64_t cases[MAX_CASES];	/* the ranges of the patterns */
	unsigned nr_cases;
	struct counts c;
	/* first-pass disagreements where the kernel made less: its windows
	 * all inside the plan's (the simulator's) */
	unsigned less, sim_less;
	struct mthp_snapshot steady;	/* the kernel's steady state, when kept */
	bool have_steady;
	unsigned kernel_passes, sim_passes, plan_passes;
	bool traced;		/* the guest kept the kernel's trace */
};

struct totals {
	struct counts c;
	unsigned stats_bad, batches_bad, trace_batches, steady_batches;
};

static void warn_drop(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

/* DIR/NAME for reading, or NULL after saying why. */
static FILE *open_in(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		fprintf(stderr, "compare: cannot open %s: %s\n", path, strerror(errno));
	return f;
}

static int read_snapshot(struct mthp_snapshot *snap, const char *dir, const char *name)
{
	struct mthp_diag diag = { .warn = warn_drop };
	char path[1024];
	FILE *f = open_in(dir, name);
	int ret;

	if (!f)
		return -EIO;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = mthp_snapshot_read(snap, f, path, &diag);
	fclose(f);
	if (ret)
		fprintf(stderr, "compare: %s\n", diag.msg);
	return ret;
}

/* The snapshot's settings, then the batch's KNOB=VALUE lines. */
static int read_settings(struct batch_result *br)
{
	struct mthp_diag diag = { .warn = warn_drop };
	char line[256], err[256];
	size_t len = 0;
	FILE *f;
	int ret;

	ret = mthp_snapshot_settings(&br->before, &br->settings, "before.snap", &diag);
	if (ret) {
		fprintf(stderr, "compare: %s: %s\n", br->dir, diag.msg);
		return ret;
	}
	f = open_in(br->dir, "settings");
	if (!f)
		return -EIO;
	br->settings_text[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		ret = mthp_settings_set_assignment(&br->settings, line, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "compare: %s/settings: %s\n", br->dir, err);
			break;
		}
		len += snprintf(br->settings_text + len, sizeof(br->settings_text) - len,
				"%s%s", len ? " " : "", line);
		if (len >= sizeof(br->settings_text))
			len = sizeof(br->settings_text) - 1;
	}
	fclose(f);
	return ret;
}

static struct mthp_snapshot_pmd *find_pmd(struct mthp_snapshot *snap, uint64_t addr)
{
	for (size_t i = 0; i < snap->nr_pmds; i++)
		if (snap->pmds[i].addr == addr)
			return &snap->pmds[i];
	return NULL;
}

/*
 * The live capture shows every anon page young; mark old the PTEs the
 * guest made old with MADV_COLD (file "old": address, then indexes).
 */
static int apply_old(struct batch_result *br)
{
	char line[LINE_MAX_LEN];
	FILE *f = open_in(br->dir, "old");

	if (!f)
		return -EIO;
	while (fgets(line, sizeof(line), f)) {
		char *tok = strtok(line, " \n");
		struct mthp_snapshot_pmd *pmd;

		if (!tok)
			continue;
		pmd = find_pmd(&br->before, strtoull(tok, NULL, 16));
		while ((tok = strtok(NULL, " \n"))) {
			unsigned long k = strtoul(tok, NULL, 10);

			if (!pmd || pmd->kind != MTHP_PMD_TABLE ||
			    k >= br->before.geo.ptes_per_pmd)
				continue;
			if (pmd->ptes[k] == MTHP_PTE_YOUNG)
				pmd->ptes[k] = MTHP_PTE_OLD;
			else if (pmd->ptes[k] == MTHP_PTE_SHARED_YOUNG)
				pmd->ptes[k] = MTHP_PTE_SHARED_OLD;
		}
	}
	fclose(f);
	return 0;
}

/* The addresses of the patterns (file "intended"), not the guest's anchor. */
static int read_intended(struct batch_result *br)
{
	char line[LINE_MAX_LEN];
	FILE *f = open_in(br->dir, "intended");

	if (!f)
		return -EIO;
	while (fgets(line, sizeof(line), f) && br->nr_cases < MAX_CASES)
		br->cases[br->nr_cases++] = strtoull(line, NULL, 16);
	fclose(f);
	return 0;
}

/* The index of the pattern at addr in br->cases, or -1. */
static int case_index(const struct batch_result *br, uint64_t addr)
{
	for (unsigned i = 0; i < br->nr_cases; i++)
		if (br->cases[i] == addr)
			return (int)i;
	return -1;
}

static bool intended(const struct batch_result *br, uint64_t addr)
{
	return case_index(br, addr) >= 0;
}

/* The windows khugepaged left as large folios, as "index:order ...". */
static unsigned kernel_collapses(const struct mthp_snapshot_pmd *pmd, uint32_t n,
				 uint32_t pmd_order, struct mthp_window *out)
{
	unsigned nr = 0;

	if (!pmd)
		return 0;
	if (pmd->kind == MTHP_PMD_HUGE) {
		out[0] = (struct mthp_window){ .offset = 0, .order = (uint8_t)pmd_order };
		return 1;
	}
	if (pmd->kind != MTHP_PMD_TABLE || !pmd->folio_orders)
		return 0;
	for (uint32_t i = 0; i < n;) {
		uint8_t o = pmd->folio_orders[i];

		if (o == MTHP_NO_FOLIO || o == 0 || o >= MAX_ORDER || i % (1u << o)) {
			i++;
			continue;
		}
		if (nr < MTHP_MAX_COLLAPSES)
			out[nr++] = (struct mthp_window){ .offset = (uint16_t)i, .order = o };
		i += 1u << o;
	}
	return nr;
}

static void print_windows(const char *label, const struct mthp_window *w, unsigned nr)
{
	printf("    %-9s", label);
	if (!nr)
		printf(" nothing");
	for (unsigned i = 0; i < nr; i++)
		printf(" %u:%u", w[i].offset, w[i].order);
	printf("\n");
}

/* The PTE states in run-length form: "A*48 S*4 A*460". */
static void print_pattern(const struct mthp_snapshot_pmd *pmd, uint32_t n)
{
	printf("    pattern  ");
	for (uint32_t i = 0; i < n;) {
		uint32_t j = i;

		while (j < n && pmd->ptes[j] == pmd->ptes[i])
			j++;
		if (j - i > 1)
			printf(" %c*%u", pmd->ptes[i], j - i);
		else
			printf(" %c", pmd->ptes[i]);
		i = j;
	}
	printf("\n");
}

/* Does every window of k lie inside one of p? */
static bool windows_inside(const struct mthp_window *k, unsigned nk,
			   const struct mthp_window *p, unsigned np)
{
	for (unsigned i = 0; i < nk; i++) {
		bool in = false;

		for (unsigned j = 0; j < np && !in; j++)
			in = k[i].offset >= p[j].offset &&
			     k[i].offset + (1u << k[i].order) <= p[j].offset + (1u << p[j].order);
		if (!in)
			return false;
	}
	return true;
}

static bool same_windows(const struct mthp_window *a, unsigned na,
			 const struct mthp_window *b, unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++)
		if (a[i].offset != b[i].offset || a[i].order != b[i].order)
			return false;
	return true;
}

static void compare_pmd(void *ctx, const struct mthp_snapshot *snap,
			const struct mthp_snapshot_pmd *pmd,
			const struct mthp_pmd_plan *plan)
{
	struct batch_result *br = ctx;
	struct mthp_window got[MTHP_MAX_COLLAPSES];
	uint32_t n = snap->geo.ptes_per_pmd;
	unsigned nr_got;

	if (pmd->kind != MTHP_PMD_TABLE || !intended(br, pmd->addr))
		return;
	br->c.ranges++;
	for (unsigned i = 0; i < plan->nr_collapses; i++)
		if (plan->collapses[i].order < MAX_ORDER)
			br->planned_allocs[plan->collapses[i].order]++;
	for (unsigned i = 0; i < plan->nr_attempts; i++)
		if (plan->attempts[i].order < MAX_ORDER)
			br->planned_allocs[plan->attempts[i].order]++;
	nr_got = kernel_collapses(find_pmd(&br->after, pmd->addr), n,
				  snap->geo.pmd_order, got);
	for (unsigned i = 0; i < nr_got; i++)
		br->kernel_folios[got[i].order]++;
	if (same_windows(plan->collapses, plan->nr_collapses, got, nr_got)) {
		br->c.agree++;
		return;
	}
	br->c.new_disagree++;
	br->less += windows_inside(got, nr_got, plan->collapses, plan->nr_collapses);
	printf("  DISAGREE %s range %llx (scan %s)\n", br->dir,
	       (unsigned long long)pmd->addr, mthp_result_name(plan->scan));
	print_pattern(pmd, n);
	printf("    settings  %s\n", br->settings_text);
	print_windows("planned", plan->collapses, plan->nr_collapses);
	print_windows("kernel", got, nr_got);
}

/* 0 when DIR/NAME can be read, else -errno. */
static int access_stat(const char *dir, const char *name)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, R_OK) ? -errno : 0;
}

static int read_stat(const char *dir, const char *name, const char *key,
		     unsigned long *value)
{
	char path[1024], line[256];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			*value = strtoul(line + klen + 1, NULL, 10);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

/*
 * One pass allocates once per window that reaches the swap-in and
 * isolate steps: collapse_alloc of a size must equal the plan's collapses
 * plus failed attempts at that order.  Checked only for a batch whose
 * folios all agreed (a disagreement changes the attempts too).
 */
static unsigned check_stats(const struct batch_result *br)
{
	uint32_t pmd_order = br->before.geo.pmd_order;
	uint32_t page_kb = br->before.geo.page_size / 1024;
	unsigned bad = 0;

	for (uint32_t o = 2; o <= pmd_order && o < MAX_ORDER; o++) {
		unsigned long before, after;
		char key[128];

		snprintf(key, sizeof(key), "hugepages-%ukB/stats/collapse_alloc",
			 page_kb << o);
		if (read_stat(br->dir, "stats-before", key, &before) ||
		    read_stat(br->dir, "stats-after", key, &after))
			continue;
		if (after - before == br->planned_allocs[o])
			continue;
		if (br->c.new_disagree)
			continue;
		printf("  STATS %s order %u: collapse_alloc +%lu, the plan attempts %u windows"
		       " (%u collapsed)\n", br->dir, o, after - before,
		       br->planned_allocs[o], br->kernel_folios[o]);
		bad++;
	}
	return bad;
}

/* ---- the simulator on the same state ---- */

/*
 * What the guest did after before.snap to the VMAs that hold no pattern
 * (its anchor, tests/kernel/guest_khugepaged.c): the page written there
 * was made old before the capture (which shows every page young), and
 * the VMA was given MADV_HUGEPAGE to register the mm with khugepaged.
 */
static void apply_anchor(struct batch_result *br)
{
	struct mthp_snapshot *snap = &br->before;
	uint32_t n = snap->geo.ptes_per_pmd;

	for (size_t v = 0; v < snap->nr_vmas; v++) {
		struct mthp_snapshot_vma *vma = &snap->vmas[v];
		bool patterns = false;

		for (size_t p = 0; p < snap->nr_pmds; p++)
			patterns |= snap->pmds[p].vma == v && intended(br, snap->pmds[p].addr);
		if (patterns)
			continue;
		vma->flags = (vma->flags | MTHP_VMA_HUGEPAGE) & ~MTHP_VMA_NOHUGEPAGE;
		for (size_t p = 0; p < snap->nr_pmds; p++) {
			struct mthp_snapshot_pmd *pmd = &snap->pmds[p];

			for (uint32_t i = 0; pmd->vma == v && pmd->kind == MTHP_PMD_TABLE &&
			     i < n; i++) {
				if (pmd->ptes[i] == MTHP_PTE_YOUNG)
					pmd->ptes[i] = MTHP_PTE_OLD;
				else if (pmd->ptes[i] == MTHP_PTE_SHARED_YOUNG)
					pmd->ptes[i] = MTHP_PTE_SHARED_OLD;
			}
		}
	}
}

/*
 * One range: the folios of got (the simulator's or the plan's, named by
 * who) against the kernel's in want, after the first pass or at the
 * steady state (what).
 */
static bool compare_windows(const struct batch_result *br, struct mthp_snapshot *got,
			    struct mthp_snapshot *want, const struct mthp_snapshot_pmd *pmd,
			    const char *who, const char *what, bool *less)
{
	struct mthp_window ours[MTHP_MAX_COLLAPSES], kernel[MTHP_MAX_COLLAPSES];
	uint32_t n = br->before.geo.ptes_per_pmd, pmd_order = br->before.geo.pmd_order;
	unsigned nr_ours = kernel_collapses(find_pmd(got, pmd->addr), n, pmd_order, ours);
	unsigned nr_kernel = kernel_collapses(find_pmd(want, pmd->addr), n, pmd_order, kernel);

	if (same_windows(ours, nr_ours, kernel, nr_kernel))
		return true;
	*less = windows_inside(kernel, nr_kernel, ours, nr_ours);
	printf("  DISAGREE %s range %llx (the %s, %s)\n", br->dir, (unsigned long long)pmd->addr,
	       who, what);
	print_pattern(pmd, n);
	print_windows(who, ours, nr_ours);
	print_windows("kernel", kernel, nr_kernel);
	return false;
}

/*
 * Every intended range of got against want: *agree or *disagree each;
 * *less (when not NULL) counts the disagreements where the kernel made
 * less (windows_inside()).
 */
static void compare_ranges(const struct batch_result *br, struct mthp_snapshot *got,
			   struct mthp_snapshot *want, const char *who, const char *what,
			   unsigned *agree, unsigned *disagree, unsigned *less)
{
	for (size_t p = 0; p < br->before.nr_pmds; p++) {
		const struct mthp_snapshot_pmd *pmd = &br->before.pmds[p];

		if (pmd->kind != MTHP_PMD_TABLE || !intended(br, pmd->addr))
			continue;
		bool made_less = false;

		if (compare_windows(br, got, want, pmd, who, what, &made_less)) {
			++*agree;
			continue;
		}
		++*disagree;
		if (less)
			*less += made_less;
	}
}

/*
 * The kernel's passes that ended before the one over the child (the file
 * passes-before; 0 when absent): the batch's settings wake khugepaged, and
 * a pass over the guest's other processes may end first.
 */
static unsigned long passes_before(const struct batch_result *br)
{
	char path[1024];
	unsigned long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/passes-before", br->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/*
 * The counters of the kernel's stats files (khugepaged/ and the per-size
 * stats/) from stats-before to the file kernel_after against the
 * simulator's change from before to after; what: the passes they cover.
 */
static unsigned compare_sim_stats(const struct batch_result *br, const struct mthp_geometry *geo,
				  const struct sim_stat *before, const struct sim_stat *after,
				  size_t nr, const char *kernel_after, const char *what)
{
	static const char sysfs[] = "/sys/kernel/mm/transparent_hugepage/";
	unsigned bad = 0;

	for (size_t k = 0; k < nr; k++) {
		unsigned long kb, ka;
		char where[128], key[192];

		sim_stat_where(geo, &after[k], where, sizeof(where));
		if (strncmp(where, sysfs, sizeof(sysfs) - 1))
			continue;
		snprintf(key, sizeof(key), "%s/%s", where + sizeof(sysfs) - 1, after[k].name);
		if (read_stat(br->dir, "stats-before", key, &kb) ||
		    read_stat(br->dir, kernel_after, key, &ka))
			continue;	/* not a file the guest kept */
		if (!strcmp(key, "khugepaged/full_scans"))
			kb += passes_before(br);	/* passes the simulator does not make */
		if (ka - kb == after[k].value - before[k].value)
			continue;
		printf("  SIM STATS %s %s (%s): kernel +%lu, simulator +%llu\n", br->dir, key,
		       what, ka - kb, (unsigned long long)(after[k].value - before[k].value));
		bad++;
	}
	return bad;
}

/*
 * Why a range's events differ from the kernel's, when it is behaviour
 * no snapshot shows (0: it is not): 'l', the kernel's isolation found a
 * folio locked (status=page_locked): another task of the guest held its
 * lock for a moment.  compare_batch() lets such a range's first pass
 * differ when its steady state agrees.
 */
static char known_trace_case(const char *kernel, const char *sim)
{
	static const char locked[] = "status=page_locked";

	if (kernel && sim && strstr(kernel, locked) && !strstr(sim, locked))
		return 'l';
	return 0;
}

/* The kernel's trace of the pass (DIR/trace) against the simulator's. */
static int compare_traces(struct batch_result *br, const char *sim_path)
{
	struct mthp_diag diag = { .warn = warn_drop };
	struct mthp_trace *kernel = NULL, *sim = NULL;
	struct mthp_trace_diff_opts opts = { 0 };
	struct mthp_trace_diff_result res;
	char path[1024];
	FILE *f, *out;
	int ret;

	snprintf(path, sizeof(path), "%s/trace", br->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;	/* a guest without tracefs: nothing to compare */
	ret = mthp_trace_read(&kernel, f, path, &diag);
	fclose(f);
	f = ret ? NULL : fopen(sim_path, "r");
	if (f) {
		ret = mthp_trace_read(&sim, f, sim_path, &diag);
		fclose(f);
	} else if (!ret) {
		ret = -errno;
		snprintf(diag.msg, sizeof(diag.msg), "%.400s: %s", sim_path, strerror(errno));
	}
	/* the differences go to the batch's directory; the summary here */
	snprintf(path, sizeof(path), "%s/trace-diff", br->dir);
	out = ret ? NULL : fopen(path, "w");
	if (!ret && !out) {
		ret = -errno;
		snprintf(diag.msg, sizeof(diag.msg), "%.400s: %s", path, strerror(errno));
	}
	if (!ret)
		ret = mthp_trace_diff(kernel, "kernel", sim, "simulator", &opts, out, &res, &diag);
	if (out)
		fclose(out);
	if (ret) {
		fprintf(stderr, "compare: %s: traces: %s\n", br->dir, diag.msg);
	} else {
		br->traced = true;
		br->c.trace_same = (unsigned)res.same;
		for (size_t i = 0; i < res.ranges; i++) {
			char why = res.differs[i] ?
				   known_trace_case(res.first_a[i], res.first_b[i]) : 0;

			br->c.trace_locked += why == 'l';
			if (res.differs[i] && !why) {
				br->c.trace_new++;
				printf("  TRACE DISAGREE %s range %zu of the pass (%s/trace-diff)\n"
				       "    kernel     %s\n    simulator  %s\n", br->dir, i,
				       br->dir, res.first_a[i] ? res.first_a[i] : "(no event)",
				       res.first_b[i] ? res.first_b[i] : "(no event)");
			}
		}
		br->c.trace_new += (unsigned)(res.only_a + res.only_b);
		free(res.first_a);
	}
	mthp_trace_free(kernel);
	mthp_trace_free(sim);
	return ret;
}

#define MAX_STATS 512

/*
 * After the first pass: more full passes until one collapses nothing, at
 * most MAX_PASSES in all, as the guest ran the kernel's; then the state.
 */
static int sim_steady_state(struct batch_result *br, struct mthp_loaded *ld,
			    struct mthp_snapshot *out)
{
	uint64_t collapsed = 1;
	int ret = 0;

	for (br->sim_passes = 1; !ret && collapsed && br->sim_passes < MAX_PASSES;
	     br->sim_passes++)
		ret = sim_khugepaged_pass(ld->sim, 0, &collapsed);
	return ret ?: sim_mm_snapshot(ld->mm, out);
}

/*
 * The simulator's stats against the kernel's: after the first pass, in a
 * batch whose folios all agree then; and at the steady state, when both
 * took as many passes and their folios all agree there.
 */
static void compare_all_stats(struct batch_result *br, const struct sim_stat *before,
			      const struct sim_stat *after, const struct sim_stat *steady,
			      size_t nr)
{
	if (!nr)
		return;
	if (!br->c.sim_new)
		br->c.sim_stats_bad = compare_sim_stats(br, &br->before.geo, before, after, nr,
						      "stats-after", "first pass");
	if (br->have_steady && !br->c.steady_new && br->kernel_passes == br->sim_passes &&
	    !access_stat(br->dir, "stats-steady"))
		br->c.sim_stats_bad += compare_sim_stats(br, &br->before.geo, before, steady, nr,
						       "stats-steady", "steady state");
}

/*
 * before.snap loaded into the simulator, one full pass compared with the
 * kernel's (folios, counters, trace), then on to the steady state.
 */
static int compare_sim(struct batch_result *br)
{
	static struct sim_stat before[MAX_STATS], after[MAX_STATS], steady[MAX_STATS];
	struct mthp_diag diag = { .warn = warn_drop };
	struct mthp_snapshot sim_after = { 0 }, sim_steady = { 0 };
	struct mthp_loaded ld;
	char trace_path[1024];
	FILE *trace;
	size_t nr;
	int ret;

	apply_anchor(br);
	ret = mthp_snapshot_load(&br->before, br->dir, &br->settings, &ld, &diag);

	if (ret) {
		fprintf(stderr, "compare: %s\n", diag.msg);
		return ret;
	}
	/* the guest swaps to zram: its swap-ins bring in whole folios */
	sim_set_swap_device(ld.sim, SIM_SWAP_ZRAM);
	snprintf(trace_path, sizeof(trace_path), "%s/sim-trace", br->dir);
	trace = fopen(trace_path, "w");
	if (!trace) {
		fprintf(stderr, "compare: %s: %s\n", trace_path, strerror(errno));
		mthp_loaded_free(&ld);
		return -errno;
	}
	sim_set_trace(ld.sim, trace);
	nr = sim_stats(ld.sim, before, MAX_STATS);
	sim_khugepaged_set_policy(ld.sim, MTHP_POLICY_UPSTREAM);
	sim_khugepaged_enter(ld.mm);
	ret = sim_khugepaged_pass(ld.sim, 0, NULL) ?: sim_mm_snapshot(ld.mm, &sim_after);
	sim_set_trace(ld.sim, NULL);
	if (fclose(trace) && !ret)
		ret = -EIO;
	if (!ret)
		ret = compare_traces(br, trace_path);
	if (!ret && sim_stats(ld.sim, after, MAX_STATS) != nr)
		nr = 0;
	/* on to the steady state: passes until one collapses nothing */
	if (!ret && br->have_steady)
		ret = sim_steady_state(br, &ld, &sim_steady);
	if (!ret && br->have_steady && sim_stats(ld.sim, steady, MAX_STATS) != nr)
		nr = 0;
	if (ret) {
		fprintf(stderr, "compare: %s: the simulator's pass failed (%s)\n", br->dir,
			strerror(-ret));
	} else {
		compare_ranges(br, &sim_after, &br->after, "simulator", "first pass",
			       &br->c.sim_agree, &br->c.sim_new, &br->sim_less);
		if (br->have_steady)
			compare_ranges(br, &sim_steady, &br->steady, "simulator", "steady state",
				       &br->c.steady_agree, &br->c.steady_new, NULL);
		compare_all_stats(br, before, after, steady, nr);
	}
	mthp_snapshot_free(&sim_steady);
	mthp_snapshot_free(&sim_after);
	mthp_loaded_free(&ld);
	return ret;
}

/*
 * The plan over passes (mthp_snapshot_plan_passes(), what `mthp plan
 * --until-stable` prints) against the kernel's steady state: each pass's
 * collapses applied to before.snap and planned again until a pass changes
 * nothing, at most MAX_PASSES.
 */
static int compare_plan_passes(struct batch_result *br)
{
	struct mthp_passes_summary sum;
	struct mthp_snapshot plan = { 0 };
	int ret = mthp_snapshot_copy(&plan, &br->before);

	if (!ret)
		ret = mthp_snapshot_plan_passes(&plan, &br->settings, MTHP_POLICY_UPSTREAM,
						MTHP_CONTEXT_KHUGEPAGED, MAX_PASSES, NULL, NULL,
						NULL, &sum);
	if (ret) {
		fprintf(stderr, "compare: %s: the plan over passes failed (%s)\n", br->dir,
			strerror(-ret));
		mthp_snapshot_free(&plan);
		return ret;
	}
	br->plan_passes = sum.passes;
	compare_ranges(br, &plan, &br->steady, "plan", "steady state", &br->c.plan_steady_agree,
		       &br->c.plan_steady_new, NULL);
	mthp_snapshot_free(&plan);
	return 0;
}

/*
 * The kernel's steady state (steady.snap, steady-passes), when the guest
 * kept it; a result directory from before it did has neither.
 */
static int read_steady(struct batch_result *br)
{
	char path[1024];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/steady-passes", br->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%u", &br->kernel_passes) != 1 || !br->kernel_passes ||
	    br->kernel_passes > MAX_PASSES) {
		fprintf(stderr, "compare: %s: not a number of passes from 1 to %d\n", path,
			MAX_PASSES);
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	ret = read_snapshot(&br->steady, br->dir, "steady.snap");
	br->have_steady = !ret;
	return ret;
}

/*
 * A folio another task of the guest held locked made the kernel's first
 * pass fail ranges it collapses at the next one (the trace says
 * page_locked).  When the steady state agrees everywhere, as many
 * first-pass disagreements as such ranges, each one where the kernel made
 * less than the plan and the simulator (a failed window, smaller ones
 * inside it), are those, not new ones.
 */
static void explain_transient(struct batch_result *br)
{
	unsigned n = br->c.new_disagree > br->c.sim_new ? br->c.new_disagree : br->c.sim_new;

	if (!n || n > br->c.trace_locked || !br->have_steady || br->c.steady_new ||
	    br->c.plan_steady_new || br->less != br->c.new_disagree || br->sim_less != br->c.sim_new)
		return;
	br->c.transient = n;
	br->c.new_disagree = br->c.sim_new = 0;
}

static int compare_batch(const char *dir, struct totals *t)
{
	static struct batch_result br;
	unsigned bad = 0;
	int ret;

	memset(&br, 0, sizeof(br));
	br.dir = dir;
	ret = read_snapshot(&br.before, dir, "before.snap");
	if (ret)
		return ret;
	ret = read_snapshot(&br.after, dir, "after.snap");
	if (ret)
		goto out_before;
	ret = read_steady(&br);
	if (!ret)
		ret = read_settings(&br);
	if (!ret)
		ret = apply_old(&br);
	if (!ret)
		ret = read_intended(&br);
	if (!ret)
		ret = mthp_snapshot_plan(&br.before, &br.settings, MTHP_POLICY_UPSTREAM,
					 MTHP_CONTEXT_KHUGEPAGED, compare_pmd, &br);
	if (!ret) {
		bad = check_stats(&br);
		ret = compare_sim(&br);
	}
	if (!ret && br.have_steady)
		ret = compare_plan_passes(&br);
	if (!ret)
		explain_transient(&br);
	if (!ret) {
		printf("%s: %u ranges, %u agree, %u disagree%s\n",
		       dir, br.c.ranges, br.c.agree, br.c.new_disagree,
		       bad ? ", per-size stats differ" : "");
		t->stats_bad += bad;
		printf("%s: simulator: %u agree with the kernel, %u disagree%s\n", dir,
		       br.c.sim_agree, br.c.sim_new,
		       br.c.sim_stats_bad ? ", counters differ" : "");
		if (br.c.transient)
			printf("%s: %u first-pass disagreements of the plan and the simulator "
			       "are ranges where the kernel found a folio locked by another "
			       "task (its trace says page_locked), and the steady state agrees\n",
			       dir, br.c.transient);
		if (br.traced)
			printf("%s: traces: %u ranges the same, %u differ by a locked folio, "
			       "%u otherwise (%s/trace-diff)\n", dir, br.c.trace_same,
			       br.c.trace_locked, br.c.trace_new, dir);
		t->trace_batches += br.traced;
		if (br.have_steady)
			printf("%s: steady state (kernel %u passes, simulator %u, plan %u): "
			       "simulator %u ranges agree, %u disagree; plan %u agree, %u "
			       "disagree\n", dir, br.kernel_passes, br.sim_passes, br.plan_passes,
			       br.c.steady_agree, br.c.steady_new, br.c.plan_steady_agree,
			       br.c.plan_steady_new);
		t->steady_batches += br.have_steady;
		counts_add(&t->c, &br.c);
	}
	mthp_snapshot_free(&br.steady);
	mthp_snapshot_free(&br.after);
out_before:
	mthp_snapshot_free(&br.before);
	return ret;
}

int main(int argc, char **argv)
{
	struct totals t = { 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: compare RESULT_DIR...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (compare_batch(argv[i], &t)) {
			printf("%s: cannot be compared (see above)\n", argv[i]);
			t.batches_bad++;
		}
	}
	printf("khugepaged against the plan: %u ranges, %u agree, %u disagree,"
	       " %u per-size stat differences, %u batches unreadable\n",
	       t.c.ranges, t.c.agree, t.c.new_disagree, t.stats_bad, t.batches_bad);
	printf("khugepaged against the simulator: %u ranges agree, %u disagree,"
	       " %u counter differences\n", t.c.sim_agree, t.c.sim_new, t.c.sim_stats_bad);
	printf("khugepaged's steady state (%u batches kept it) against the simulator's: "
	       "%u ranges agree, %u disagree; against the plan over passes: %u agree, "
	       "%u disagree\n", t.steady_batches, t.c.steady_agree, t.c.steady_new,
	       t.c.plan_steady_agree, t.c.plan_steady_new);
	printf("khugepaged's trace against the simulator's (%u batches traced): %u ranges "
	       "the same, %u differ by a folio locked by another task, %u new\n",
	       t.trace_batches, t.c.trace_same, t.c.trace_locked, t.c.trace_new);
	if (t.c.transient)
		printf("first-pass disagreements a folio locked by another task explains "
		       "(the steady state agrees): %u\n", t.c.transient);
	return t.c.new_disagree || t.stats_bad || t.batches_bad || t.c.sim_new ||
	       t.c.steady_new || t.c.plan_steady_new || t.c.sim_stats_bad ||
	       t.c.trace_new ? 1 : 0;
}
