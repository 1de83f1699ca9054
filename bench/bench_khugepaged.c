// SPDX-License-Identifier: MIT
/*
 * bench_khugepaged.c - khugepaged on 16 GiB of simulated anonymous memory
 * (4 KiB pages): dense PMD ranges, ranges of full 64K blocks and sparse
 * ranges, faulted at order 0, then khugepaged (policy upstream, 64K and
 * PMD sizes always, max_ptes_none 0) pass after pass until a whole pass
 * collapses nothing.  Prints the setup (creating the simulator, then
 * faulting the pages), each pass with the PTEs khugepaged really scanned in
 * it (the simulator's ptes_scanned counter) per second, collapses per
 * second by order, khugepaged's time to its fixpoint, the setup left out
 * (target under 0.5 s on one core), the whole run's and the simulator's
 * memory per resident page, measured as the growth of this process's
 * resident set (target at most 48 bytes).  One run.  Printed, never
 * asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/sim.h>

#include "lib/measure.h"

#define PAGE 4096ull
#define NR 512u
#define PMD (NR * PAGE)
#define BASE (1ull << 32)
#define GIB (1ull << 30)

struct counts {
	uint64_t by_order[MTHP_MAX_PMD_ORDER + 1];
	uint64_t attempts;
};

static void observe(void *ctx, const struct sim_collapse_event *ev)
{
	struct counts *c = ctx;

	c->attempts++;
	if (ev->result == SCAN_SUCCEED)
		c->by_order[ev->order]++;
}

static void knob(struct sim *sim, const char *k, const char *v)
{
	if (sim_set_knob(sim, k, v)) {
		fprintf(stderr, "knob %s=%s refused\n", k, v);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint64_t gib = argc > 1 ? strtoull(argv[1], NULL, 0) : 16;
	uint64_t nr_pmds = gib * GIB / PMD, addr = BASE, total = 0;
	struct sim_config cfg = { .page_size = 4096, .seed = 1 };
	struct counts c = { 0 };
	struct mthp_geometry geo;
	struct mthp_settings s;
	double t0, t_create, t_fault, t_scan = 0;
	double c0, c_create, c_fault, c_scan = 0;
	uint64_t pages_written = 0, rss0, rss1;
	struct sim *sim;
	struct sim_mm *mm;

	cfg.nr_frames = gib * GIB / PAGE + (gib * GIB / PAGE) / 4;
	mthp_geometry_from_page_size(&geo, 4096);
	mthp_settings_init(&s, &geo);
	rss0 = bench_rss_bytes();
	t0 = bench_now();
	c0 = bench_cpu_now();
	if (sim_create(&sim, &cfg, &s) || sim_mm_create(sim, 0, &mm)) {
		fprintf(stderr, "cannot create the simulator\n");
		return 1;
	}
	t_create = bench_now() - t0;
	c_create = bench_cpu_now() - c0;
	knob(sim, "enabled", "never");
	knob(sim, "hugepages-2048kB/enabled", "never");
	if (sim_mmap(mm, &addr, nr_pmds * PMD, SIM_PROT_RW, 1)) {
		fprintf(stderr, "mmap failed\n");
		return 1;
	}
	/* dense half, 64K-block quarter, sparse quarter */
	for (uint64_t p = 0; p < nr_pmds; p++) {
		uint64_t pmd_addr = addr + p * PMD;

		for (unsigned i = 0; i < NR; i++) {
			bool write;

			switch (p % 4) {
			case 0:
			case 1:
				write = true;
				break;
			case 2:
				write = ((i / 16) % 3) != 1;	/* 2 of 3 64K blocks */
				break;
			default:
				write = (i % 8) == 0;
				break;
			}
			if (write) {
				sim_write(mm, pmd_addr + i * PAGE, (pmd_addr + i * PAGE) | 1);
				pages_written++;
			}
		}
	}
	t_fault = bench_now() - t0 - t_create;
	c_fault = bench_cpu_now() - c0 - c_create;
	printf("bench_khugepaged: %llu GiB, %llu PMD ranges\n", (unsigned long long)gib,
	       (unsigned long long)nr_pmds);
	printf("  setup: simulator created in %.3f s (CPU %.3f s), %llu pages faulted in "
	       "%.3f s (CPU %.3f s)\n", t_create, c_create, (unsigned long long)pages_written,
	       t_fault, c_fault);

	knob(sim, "khugepaged/max_ptes_none", "0");
	knob(sim, "khugepaged/pages_to_scan", "65536");
	knob(sim, "hugepages-64kB/enabled", "always");
	knob(sim, "hugepages-2048kB/enabled", "always");
	sim_khugepaged_set_policy(sim, MTHP_POLICY_UPSTREAM);
	sim_set_collapse_observer(sim, observe, &c);
	sim_khugepaged_enter(mm);
	for (unsigned pass = 1; pass <= 16; pass++) {
		uint64_t collapsed = 0, before = 0, after = 0, scanned;
		double t = bench_now(), ct = bench_cpu_now(), dt;

		if (sim_khugepaged_stat(sim, "ptes_scanned", &before))
			return 1;
		sim_khugepaged_pass(sim, 0, &collapsed);
		dt = bench_now() - t;
		c_scan += bench_cpu_now() - ct;
		if (sim_khugepaged_stat(sim, "ptes_scanned", &after))
			return 1;
		scanned = after - before;
		t_scan += dt;
		total += collapsed;
		printf("  pass %u: %llu collapses in %.3f s; %llu PTEs scanned, %.1f M/s\n",
		       pass, (unsigned long long)collapsed, dt, (unsigned long long)scanned,
		       (double)scanned / dt / 1e6);
		if (!collapsed)
			break;
	}
	printf("  collapses by order:");
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
		if (c.by_order[o])
			printf(" %u: %llu (%.0f/s)", o, (unsigned long long)c.by_order[o],
			       c.by_order[o] / t_scan);
	printf("\n  attempts %llu, collapses %llu, %.0f collapses/s\n",
	       (unsigned long long)c.attempts, (unsigned long long)total, total / t_scan);
	printf("  khugepaged to its fixpoint (setup left out): %.3f s (target < 0.5 s), "
	       "CPU %.3f s\n", t_scan, c_scan);
	rss1 = bench_rss_bytes();
	printf("  whole run (setup included): %.2f s\n", bench_now() - t0);
	if (rss0 && rss1 > rss0)
		printf("  %.1f bytes of resident memory per resident 4K page, measured "
		       "(target <= 48)\n", (double)(rss1 - rss0) / (double)pages_written);
	else
		printf("  bytes per resident page: /proc/self/statm unreadable, not measured\n");
	sim_exit(mm);
	sim_destroy(sim);
	return 0;
}
