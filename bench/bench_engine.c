// SPDX-License-Identifier: MIT
/*
 * bench_engine.c - the engine's speed: scan+plan and plan alone, in ns per
 * PMD range, on a fixed random mix of 512-PTE tables (empty, sparse,
 * clustered, aligned blocks, full) for each policy, against the
 * straightforward baseline in bench/lib/baseline.c.  Prints one line per
 * case: the median of several runs and the ratio to the baseline.  Before
 * timing, it checks that engine and baseline decide every table alike.
 *
 *   build/bench/bench_engine [RUNS]     (default 9 runs per case)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mthp/engine.h>

#include "lib/baseline.h"

#define NR_TABLES 1024
#define N 512

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(rng() % n);
}

/* One table of the mix; kind cycles through the five shapes. */
static void make_table(uint8_t *ptes, uint8_t *orders, unsigned kind)
{
	memset(ptes, MTHP_PTE_NONE, N);
	memset(orders, MTHP_NO_FOLIO, N);
	switch (kind % 5) {
	case 0:		/* empty */
		break;
	case 1:		/* sparse: ~4% of pages */
		for (uint32_t i = 0; i < N; i++)
			if (below(100) < 4)
				ptes[i] = MTHP_PTE_YOUNG;
		break;
	case 2:		/* clustered runs */
		for (unsigned r = 0; r < 6; r++) {
			uint32_t start = below(N), len = 8 + below(56);

			for (uint32_t i = start; i < start + len && i < N; i++)
				ptes[i] = below(8) ? MTHP_PTE_YOUNG : MTHP_PTE_OLD;
		}
		break;
	case 3:		/* aligned 64K blocks, some already 64K folios */
		for (uint32_t b = 0; b < N; b += 16) {
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
		memset(ptes, MTHP_PTE_YOUNG, N);
		for (uint32_t i = 0; i < 8; i++)
			ptes[below(N)] = MTHP_PTE_OLD;
		break;
	}
	for (uint32_t i = 0; i < N; i++)
		if (ptes[i] != MTHP_PTE_NONE && orders[i] == MTHP_NO_FOLIO)
			orders[i] = 0;
	if (below(50) == 0)
		ptes[below(N)] = MTHP_PTE_SWAP;
	if (below(50) == 0) {
		uint32_t i = below(N);

		ptes[i] = MTHP_PTE_SHARED_YOUNG;
		orders[i] = 0;
	}
	/* a swap PTE maps no folio */
	for (uint32_t i = 0; i < N; i++)
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

static uint8_t ptes[NR_TABLES][N], orders[NR_TABLES][N];
static struct mthp_scan scans[NR_TABLES];
static struct baseline_scan bscans[NR_TABLES];
static struct mthp_pmd_plan plan, bplan;
static struct mthp_planner work;
static volatile uint64_t sink;

enum bench_case { SCAN_PLAN, PLAN_ONLY, BASE_SCAN_PLAN, BASE_PLAN_ONLY };

/* One pass over all tables; returns ns per table. */
static double one_pass(enum bench_case c, const struct mthp_rules *r, unsigned reps)
{
	struct mthp_range range = { .pmd_addr = 0, .vma_start = 0, .vma_end = 2u << 20,
				    .kind = MTHP_PMD_TABLE };
	double t0 = now_ns();

	for (unsigned rep = 0; rep < reps; rep++) {
		for (unsigned t = 0; t < NR_TABLES; t++) {
			switch (c) {
			case SCAN_PLAN:
				range.ptes = ptes[t];
				range.folio_orders = orders[t];
				mthp_plan_range(&plan, r, &range, &work);
				break;
			case PLAN_ONLY:
				plan.nr_collapses = plan.nr_attempts = plan.pages_filled = 0;
				if (scans[t].result == SCAN_SUCCEED)
					mthp_plan_walk(&plan, r, &scans[t], &work.walk);
				break;
			case BASE_SCAN_PLAN:
				baseline_plan(&plan, r, &bscans[t], ptes[t], orders[t]);
				break;
			case BASE_PLAN_ONLY:
				plan.nr_collapses = plan.nr_attempts = plan.pages_filled = 0;
				if (bscans[t].result == SCAN_SUCCEED)
					baseline_walk(&plan, r, &bscans[t], ptes[t], orders[t]);
				break;
			}
			sink += plan.nr_collapses;
		}
	}
	return (now_ns() - t0) / ((double)reps * NR_TABLES);
}

static double median_ns(enum bench_case c, const struct mthp_rules *r, unsigned runs)
{
	double samples[64];
	unsigned reps = 1;

	/* size a run to about 20 ms */
	while (one_pass(c, r, reps) * reps * NR_TABLES < 20e6 && reps < 4096)
		reps *= 2;
	for (unsigned i = 0; i < runs; i++)
		samples[i] = one_pass(c, r, reps);
	qsort(samples, runs, sizeof(samples[0]), cmp_double);
	return samples[runs / 2];
}

static bool same_plan(const struct mthp_pmd_plan *a, const struct mthp_pmd_plan *b)
{
	return a->scan == b->scan && a->nr_collapses == b->nr_collapses &&
	       a->nr_attempts == b->nr_attempts && a->pages_filled == b->pages_filled &&
	       !memcmp(a->collapses, b->collapses, a->nr_collapses * sizeof(a->collapses[0])) &&
	       !memcmp(a->attempts, b->attempts, a->nr_attempts * sizeof(a->attempts[0]));
}

/* Engine and baseline must agree on every table before they are timed. */
static int check_agreement(const struct mthp_rules *r)
{
	struct mthp_range range = { .vma_end = 2u << 20, .kind = MTHP_PMD_TABLE };

	for (unsigned t = 0; t < NR_TABLES; t++) {
		range.ptes = ptes[t];
		range.folio_orders = orders[t];
		mthp_plan_range(&plan, r, &range, &work);
		baseline_plan(&bplan, r, &bscans[t], ptes[t], orders[t]);
		bplan.pmd_addr = plan.pmd_addr;
		if (!same_plan(&plan, &bplan)) {
			fprintf(stderr, "bench_engine: %s: engine and baseline differ on table %u\n",
				mthp_policy_name(r->policy), t);
			return 1;
		}
		mthp_scan(&scans[t], r, ptes[t], orders[t]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned runs = argc > 1 ? (unsigned)atoi(argv[1]) : 9;
	struct mthp_geometry geo;
	struct mthp_settings s;
	char err[256];

	if (runs < 1 || runs > 64) {
		fprintf(stderr, "usage: bench_engine [RUNS 1..64]\n");
		return 2;
	}
	mthp_geometry_from_ptes(&geo, N);
	mthp_settings_init(&s, &geo);
	if (mthp_settings_set(&s, "hugepages-16kB/enabled", "always", err, sizeof(err)) ||
	    mthp_settings_set(&s, "hugepages-64kB/enabled", "always", err, sizeof(err))) {
		fprintf(stderr, "bench_engine: %s\n", err);
		return 1;
	}
	for (unsigned t = 0; t < NR_TABLES; t++)
		make_table(ptes[t], orders[t], t);

	printf("engine: %d tables of %d PTEs (empty, sparse, clustered, 64K blocks, full),\n"
	       "16K+64K always, 2M inherit, VMA hugepage, max_ptes_none 511; median of %u runs\n",
	       NR_TABLES, N, runs);
	printf("%-10s %-10s %12s %14s %8s\n", "policy", "case", "ns/range", "baseline ns", "ratio");
	for (unsigned p = 0; p < MTHP_NR_POLICIES; p++) {
		struct mthp_rules r;
		double eng, base;

		mthp_rules_init(&r, &s, (enum mthp_policy)p, MTHP_CONTEXT_KHUGEPAGED,
				MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
		if (check_agreement(&r))
			return 1;
		eng = median_ns(SCAN_PLAN, &r, runs);
		base = median_ns(BASE_SCAN_PLAN, &r, runs);
		printf("%-10s %-10s %12.1f %14.1f %7.1fx\n", mthp_policy_name(r.policy),
		       "scan+plan", eng, base, base / eng);
		eng = median_ns(PLAN_ONLY, &r, runs);
		base = median_ns(BASE_PLAN_ONLY, &r, runs);
		printf("%-10s %-10s %12.1f %14.1f %7.1fx\n", mthp_policy_name(r.policy),
		       "plan", eng, base, base / eng);
	}
	return 0;
}
