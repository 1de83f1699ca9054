// SPDX-License-Identifier: MIT
/*
 * bench_engine.c - the engine's speed: scan+plan and plan alone, in ns per
 * PMD range, on a fixed random mix of tables (empty, sparse, clustered,
 * aligned 16-PTE blocks, full) for each policy, with max_ptes_none N-1 and
 * 0 (0 makes the count of every order matter), on the three geometries
 * (512, 2048 and 8192 PTEs: 4K, 16K and 64K pages), against the
 * straightforward baseline in bench/lib/baseline.c.  The mix has the same
 * bytes of PTEs for every geometry (fewer tables of more PTEs).
 *
 * The process is pinned to one CPU (the one it starts on, or the one
 * taskset gave it).  Each line gives the minimum, median and maximum of
 * the runs of a case and the baseline's median; the scan+plan lines of 512
 * PTEs give the target beside the median.  Before timing a setting, it
 * checks that engine and baseline decide every table alike.
 *
 * --kind NAME fills every table with one of the five shapes, to see where
 * the time of the mix goes; its lines have no target (the target is the
 * mix's).
 *
 *   build/bench/bench_engine [RUNS] [--no-baseline] [--ptes N]   (9 runs)
 *       [--policy NAME] [--none 0|max] [--kind empty|sparse|clustered|blocks|full]
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mthp/engine.h>

#include "common/rng.h"
#include "lib/baseline.h"

/* The target for scan+plan of one 512-PTE range. */
#define TARGET_NS 50.0
#define TABLE_BYTES (512u * 1024)	/* PTE bytes of the mix, any geometry */
#define MAX_TABLES (TABLE_BYTES / 512)

static struct mthp_rng rng = { 0x9e3779b97f4a7c15ull };

static uint32_t below(uint32_t n)
{
	return mthp_rng_below(&rng, n);
}

static const char *const kind_names[] = { "empty", "sparse", "clustered", "blocks", "full" };

/* One table of n PTEs of the mix; kind cycles through the five shapes. */
static void make_table(uint8_t *ptes, uint8_t *orders, uint32_t n, unsigned kind)
{
	uint32_t scale = n / 512;

	memset(ptes, MTHP_PTE_NONE, n);
	memset(orders, MTHP_NO_FOLIO, n);
	switch (kind % 5) {
	case 0:		/* empty */
		break;
	case 1:		/* sparse: ~4% of pages */
		for (uint32_t i = 0; i < n; i++)
			if (below(100) < 4)
				ptes[i] = MTHP_PTE_YOUNG;
		break;
	case 2:		/* clustered runs */
		for (unsigned r = 0; r < 6 * scale; r++) {
			uint32_t start = below(n), len = 8 + below(56);

			for (uint32_t i = start; i < start + len && i < n; i++)
				ptes[i] = below(8) ? MTHP_PTE_YOUNG : MTHP_PTE_OLD;
		}
		break;
	case 3:		/* aligned 16-PTE blocks, some already order-4 folios */
		for (uint32_t b = 0; b < n; b += 16) {
			bool folio = below(4) == 0;

			if (below(2))
				continue;
			for (uint32_t i = b; i < b + 16; i++) {
				ptes[i] = MTHP_PTE_YOUNG;
				orders[i] = folio ? 4 : 0;
			}
		}
		break;
	case 4:		/* full */
		memset(ptes, MTHP_PTE_YOUNG, n);
		for (uint32_t i = 0; i < 8 * scale; i++)
			ptes[below(n)] = MTHP_PTE_OLD;
		break;
	}
	for (uint32_t i = 0; i < n; i++)
		if (ptes[i] != MTHP_PTE_NONE && orders[i] == MTHP_NO_FOLIO)
			orders[i] = 0;
	if (below(50) == 0)
		ptes[below(n)] = MTHP_PTE_SWAP;
	if (below(50) == 0) {
		uint32_t i = below(n);

		ptes[i] = MTHP_PTE_SHARED_YOUNG;
		orders[i] = 0;
	}
	/* a swap PTE maps no folio */
	for (uint32_t i = 0; i < n; i++)
		if (ptes[i] == MTHP_PTE_SWAP || ptes[i] == MTHP_PTE_NONE)
			orders[i] = MTHP_NO_FOLIO;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static uint8_t ptes[TABLE_BYTES], orders[TABLE_BYTES];
static struct mthp_scan scans[MAX_TABLES];
static struct baseline_scan bscans[MAX_TABLES];
static struct mthp_pmd_plan plan, bplan;
static struct mthp_planner work;
static volatile uint64_t sink;
static uint32_t N, nr_tables;

enum bench_case { SCAN_PLAN, PLAN_ONLY, BASE_SCAN_PLAN, BASE_PLAN_ONLY };

/* One pass over all tables; returns ns per table. */
static double one_pass(enum bench_case c, const struct mthp_rules *r, unsigned reps)
{
	struct mthp_range range = { .pmd_addr = 0, .vma_start = 0,
				    .vma_end = mthp_pmd_size(&r->settings->geo),
				    .kind = MTHP_PMD_TABLE };
	double t0 = now_ns();

	for (unsigned rep = 0; rep < reps; rep++) {
		for (unsigned t = 0; t < nr_tables; t++) {
			const uint8_t *p = ptes + t * N, *o = orders + t * N;

			switch (c) {
			case SCAN_PLAN:
				range.ptes = p;
				range.folio_orders = o;
				mthp_plan_range(&plan, r, &range, &work);
				break;
			case PLAN_ONLY:
				plan.nr_collapses = plan.nr_attempts = plan.pages_filled = 0;
				if (scans[t].result == SCAN_SUCCEED)
					mthp_plan_walk(&plan, r, &scans[t], &work.walk);
				break;
			case BASE_SCAN_PLAN:
				baseline_plan(&plan, r, &bscans[t], p, o);
				break;
			case BASE_PLAN_ONLY:
				plan.nr_collapses = plan.nr_attempts = plan.pages_filled = 0;
				if (bscans[t].result == SCAN_SUCCEED)
					baseline_walk(&plan, r, &bscans[t], p, o);
				break;
			}
			sink += plan.nr_collapses;
		}
	}
	return (now_ns() - t0) / ((double)reps * nr_tables);
}

struct timing {
	double min, median, max;
};

static void time_case(struct timing *out, enum bench_case c,
		      const struct mthp_rules *r, unsigned runs)
{
	double samples[64];
	unsigned reps = 1;

	/* size a run to about 20 ms */
	while (one_pass(c, r, reps) * reps * nr_tables < 20e6 && reps < 4096)
		reps *= 2;
	for (unsigned i = 0; i < runs; i++)
		samples[i] = one_pass(c, r, reps);
	qsort(samples, runs, sizeof(samples[0]), cmp_double);
	out->min = samples[0];
	out->median = samples[runs / 2];
	out->max = samples[runs - 1];
}

static bool same_plan(const struct mthp_pmd_plan *a, const struct mthp_pmd_plan *b)
{
	return a->scan == b->scan && a->nr_collapses == b->nr_collapses &&
	       a->nr_attempts == b->nr_attempts && a->pages_filled == b->pages_filled &&
	       !memcmp(a->collapses, b->collapses, a->nr_collapses * sizeof(a->collapses[0])) &&
	       !memcmp(a->attempts, b->attempts, a->nr_attempts * sizeof(a->attempts[0]));
}

/* Engine and baseline must agree on every table before they are timed. */
static int check_agreement(const struct mthp_rules *r, double *windows)
{
	struct mthp_range range = { .vma_end = mthp_pmd_size(&r->settings->geo),
				    .kind = MTHP_PMD_TABLE };
	uint64_t total = 0;

	for (unsigned t = 0; t < nr_tables; t++) {
		range.ptes = ptes + t * N;
		range.folio_orders = orders + t * N;
		mthp_plan_range(&plan, r, &range, &work);
		baseline_plan(&bplan, r, &bscans[t], range.ptes, range.folio_orders);
		bplan.pmd_addr = plan.pmd_addr;
		if (!same_plan(&plan, &bplan)) {
			fprintf(stderr, "bench_engine: %u PTEs, %s, max_ptes_none %u: "
				"engine and baseline differ on table %u\n", N,
				mthp_policy_name(r->policy), r->settings->max_ptes_none, t);
			return 1;
		}
		total += plan.nr_collapses + plan.nr_attempts;
		mthp_scan(&scans[t], r, range.ptes, range.folio_orders);
	}
	*windows = (double)total / nr_tables;
	return 0;
}

/* Pin the process to one CPU: the only one it may use, or the one it is on. */
static int pin_to_one_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	if (CPU_COUNT(&set) == 1) {
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &set))
				return cpu;
	}
	cpu = sched_getcpu();
	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -1 : cpu;
}

static void print_line(const struct mthp_rules *r, const char *what,
		       const struct timing *eng, const struct timing *base,
		       double windows, bool targeted)
{
	printf("%5u %5u %-9s %-9s %5.1f %8.1f %8.1f %8.1f", N, r->settings->max_ptes_none,
	       mthp_policy_name(r->policy), what, windows, eng->min, eng->median, eng->max);
	if (base)
		printf(" %10.1f %6.1fx", base->median, base->median / eng->median);
	else
		printf(" %10s %7s", "-", "-");
	if (targeted)
		printf("  target <= %.0f ns: %s", TARGET_NS,
		       eng->median <= TARGET_NS ? "met" : "MISSED");
	printf("\n");
}

/* All policies under one geometry and max_ptes_none. */
static const char *only_policy;	/* --policy: this one alone */
static int only_kind = -1;		/* --kind: every table of this shape */

static int bench_setting(const struct mthp_settings *s, unsigned runs, bool baseline)
{
	for (unsigned p = 0; p < MTHP_NR_POLICIES; p++) {
		struct timing eng, base;
		struct mthp_rules r;
		double windows;

		if (only_policy && strcmp(only_policy, mthp_policy_name((enum mthp_policy)p)))
			continue;

		mthp_rules_init(&r, s, (enum mthp_policy)p, MTHP_CONTEXT_KHUGEPAGED,
				MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
		if (check_agreement(&r, &windows))
			return 1;
		time_case(&eng, SCAN_PLAN, &r, runs);
		if (baseline)
			time_case(&base, BASE_SCAN_PLAN, &r, runs);
		print_line(&r, "scan+plan", &eng, baseline ? &base : NULL, windows,
			   N == 512 && only_kind < 0);
		time_case(&eng, PLAN_ONLY, &r, runs);
		if (baseline)
			time_case(&base, BASE_PLAN_ONLY, &r, runs);
		print_line(&r, "plan", &eng, baseline ? &base : NULL, windows, false);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const uint32_t geometries[] = { 512, 2048, 8192 };
	unsigned runs = 9;
	uint32_t only = 0;
	bool baseline = true;
	int only_none = -1;	/* --none: 0, or 1 for N-1 */
	int cpu;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-baseline"))
			baseline = false;
		else if (!strcmp(argv[i], "--ptes") && i + 1 < argc)
			only = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--policy") && i + 1 < argc)
			only_policy = argv[++i];
		else if (!strcmp(argv[i], "--none") && i + 1 < argc)
			only_none = !strcmp(argv[++i], "max") ? 1 : !strcmp(argv[i], "0") ? 0 : -2;
		else if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
			only_kind = -2;
			for (int k = 0; k < 5; k++)
				if (!strcmp(argv[i + 1], kind_names[k]))
					only_kind = k;
			i++;
		} else
			runs = (unsigned)atoi(argv[i]);
	}
	if (runs < 1 || runs > 64 || only_none == -2 || only_kind == -2) {
		fprintf(stderr, "usage: bench_engine [RUNS 1..64] [--no-baseline] "
			"[--ptes 512|2048|8192] [--policy NAME] [--none 0|max]\n"
			"                    [--kind empty|sparse|clustered|blocks|full]\n");
		return 2;
	}
	cpu = pin_to_one_cpu();
	printf("engine: %s; pinned to CPU %d; %u KiB of PTEs per geometry (%s%s); orders 2 "
	       "and 4 always,\nPMD inherit, VMA hugepage; ns per range: min, median, max of %u "
	       "runs; windows: attempts\nper range\n", mthp_engine_impl_name(), cpu,
	       TABLE_BYTES / 1024,
	       only_kind < 0 ? "empty, sparse, clustered, 16-PTE blocks, full" :
	       kind_names[only_kind], only_kind < 0 ? "" : " tables only", runs);
	printf("%5s %5s %-9s %-9s %5s %8s %8s %8s %10s %7s\n", "N", "none", "policy", "case",
	       "wins", "min", "median", "max", "baseline", "ratio");
	for (unsigned g = 0; g < sizeof(geometries) / sizeof(geometries[0]); g++) {
		struct mthp_geometry geo;
		struct mthp_settings s;

		N = geometries[g];
		if (only && only != N)
			continue;
		nr_tables = TABLE_BYTES / N;
		if (mthp_geometry_from_ptes(&geo, N))
			return 1;
		mthp_settings_init(&s, &geo);
		s.size_enabled[2] = MTHP_MODE_ALWAYS;
		s.size_enabled[4] = MTHP_MODE_ALWAYS;
		for (unsigned t = 0; t < nr_tables; t++)
			make_table(ptes + t * N, orders + t * N, N,
				   only_kind < 0 ? t : (unsigned)only_kind);
		s.max_ptes_none = N - 1;
		if (only_none != 0 && bench_setting(&s, runs, baseline))
			return 1;
		s.max_ptes_none = 0;
		if (only_none != 1 && bench_setting(&s, runs, baseline))
			return 1;
	}
	return 0;
}
