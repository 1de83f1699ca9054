// SPDX-License-Identifier: MIT
/*
 * test_khugepaged_stress.c - khugepaged in its own thread (policy
 * upstream, every size from 16K to PMD enabled, max_ptes_none 511, no
 * scan sleep) beside four mutator threads on one mm: writes, reads,
 * DONTNEED, PAGEOUT, munmap + mmap, fork + a write in the child + exit,
 * aging and MADV_COLLAPSE.  Each thread owns two PMD ranges and checks
 * every tag it reads there against its own model.  Runs
 * MTHP_STRESS_SECONDS (default 2) seconds; at the end no data is lost,
 * sim_check() is clean, and khugepaged collapsed something.  Debug
 * builds run sim_check() every 64th mapping change meanwhile.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_stat.h"

#define PAGE 4096ull
#define NPTES 512u
#define PMD (NPTES * PAGE)
#define SLICE_PAGES (2 * NPTES)
#define BASE (1ull << 30)
#define NTHREADS 4

struct worker {
	struct sim *sim;
	struct sim_mm *mm;
	unsigned id;
	uint64_t rng;
	double deadline;
	uint64_t expect[SLICE_PAGES];
	uint64_t ops, errors;
	char why[160];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static uint64_t slice(const struct worker *w)
{
	return BASE + w->id * 2 * PMD;
}

static void bad(struct worker *w, const char *what, uint64_t a, uint64_t b)
{
	if (!w->errors)
		snprintf(w->why, sizeof(w->why), "thread %u: %s (%llx, %llx)", w->id,
			 what, (unsigned long long)a, (unsigned long long)b);
	w->errors++;
}

static void verify(struct worker *w, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n && i < SLICE_PAGES; i++) {
		uint64_t tag = 0;
		int err = sim_read(w->mm, slice(w) + i * PAGE, &tag);

		if (err)
			bad(w, "read failed", i, (uint64_t)-err);
		else if (tag != w->expect[i])
			bad(w, "tag mismatch", tag, w->expect[i]);
	}
}

static void op_write(struct worker *w)
{
	unsigned i = rnd(w) % SLICE_PAGES, n = 1 + rnd(w) % 128;

	for (; n-- && i < SLICE_PAGES; i++) {
		uint64_t tag = rnd(w) | 1;

		if (sim_write(w->mm, slice(w) + i * PAGE, tag) == 0)
			w->expect[i] = tag;
		else
			bad(w, "write failed", i, 0);
	}
}

static void op_madvise(struct worker *w, enum sim_madv advice)
{
	unsigned first = rnd(w) % SLICE_PAGES, n = 1 + rnd(w) % 64;

	if (first + n > SLICE_PAGES)
		n = SLICE_PAGES - first;
	if (sim_madvise(w->mm, slice(w) + first * PAGE, n * PAGE, advice))
		bad(w, "madvise", advice, first);
	if (advice == SIM_MADV_DONTNEED)
		for (unsigned i = first; i < first + n; i++)
			w->expect[i] = 0;
	verify(w, first, n);
}

static void op_unmap(struct worker *w)
{
	unsigned first = rnd(w) % SLICE_PAGES, n = 1 + rnd(w) % 8;
	uint64_t a;

	if (first + n > SLICE_PAGES)
		n = SLICE_PAGES - first;
	a = slice(w) + first * PAGE;
	if (sim_munmap(w->mm, a, n * PAGE) ||
	    sim_mmap(w->mm, &a, n * PAGE, SIM_PROT_RW, SIM_MAP_FIXED))
		bad(w, "munmap/mmap", a, n);
	for (unsigned i = first; i < first + n; i++)
		w->expect[i] = 0;
}

static void op_fork(struct worker *w)
{
	unsigned i = rnd(w) % SLICE_PAGES;
	struct sim_mm *child;

	if (sim_fork(w->mm, &child)) {
		bad(w, "fork", 0, 0);
		return;
	}
	sim_write(child, slice(w) + i * PAGE, 0xdead);
	sim_exit(child);
	verify(w, i, 1);
}

static void op_collapse(struct worker *w)
{
	unsigned which = rnd(w) % 2;
	int err = sim_madvise_collapse(w->mm, slice(w) + which * PMD, PMD);

	/* a racing thread may hold a page or the range may have a hole */
	if (err && err != -EAGAIN && err != -EINVAL && err != -ENOMEM)
		bad(w, "MADV_COLLAPSE", which, (uint64_t)-err);
	verify(w, which * NPTES + rnd(w) % NPTES, 4);
}

static void *run(void *arg)
{
	struct worker *w = arg;

	while (now() < w->deadline && !w->errors) {
		switch (rnd(w) % 16) {
		case 0: case 1: case 2: case 3: case 4: op_write(w); break;
		case 5: case 6: verify(w, rnd(w) % SLICE_PAGES, 32); break;
		case 7: op_madvise(w, SIM_MADV_DONTNEED); break;
		case 8: op_madvise(w, SIM_MADV_PAGEOUT); break;
		case 9: op_unmap(w); break;
		case 10: op_fork(w); break;
		case 11: sim_age(w->mm); break;
		case 12: op_collapse(w); break;
		default: verify(w, rnd(w) % SLICE_PAGES, 8); break;
		}
		w->ops++;
	}
	return NULL;
}

static void test_khugepaged_thread_and_four_mutators(void **state)
{
	struct sim_config cfg = { .page_size = 4096, .nr_frames = 1u << 15,
				  .nr_swap_slots = 1u << 14, .seed = 3 };
	const char *env = getenv("MTHP_STRESS_SECONDS");
	double seconds = env ? atof(env) : 2.0;
	struct worker *w = calloc(NTHREADS, sizeof(*w));
	pthread_t th[NTHREADS];
	struct mthp_geometry geo;
	struct mthp_settings s;
	struct sim *sim;
	struct sim_mm *mm;
	uint64_t addr = BASE, ops = 0;

	(void)state;
	assert_non_null(w);
	assert_int_equal(mthp_geometry_from_page_size(&geo, 4096), 0);
	mthp_settings_init(&s, &geo);
	assert_int_equal(sim_create(&sim, &cfg, &s), 0);
	sim_set_check_interval(sim, 64);
	assert_int_equal(sim_set_knob(sim, "enabled", "never"), 0);
	assert_int_equal(sim_set_knob(sim, "khugepaged/scan_sleep_millisecs", "1"), 0);
	assert_int_equal(sim_set_knob(sim, "khugepaged/max_ptes_none", "511"), 0);
	assert_int_equal(sim_mm_create(sim, 0, &mm), 0);
	assert_int_equal(sim_mmap(mm, &addr, NTHREADS * 2 * PMD, SIM_PROT_RW,
				  SIM_MAP_FIXED), 0);
	/* faults take order 0 (every size off), then the sizes come on */
	for (unsigned t = 0; t < NTHREADS; t++)
		for (unsigned i = 0; i < SLICE_PAGES; i += 3) {
			uint64_t tag = (t << 20 | i) | 1;

			assert_int_equal(sim_write(mm, BASE + t * 2 * PMD + i * PAGE, tag), 0);
			w[t].expect[i] = tag;
		}
	for (unsigned o = 2; o <= 9; o++) {
		char name[64];

		snprintf(name, sizeof(name), "hugepages-%ukB/enabled", 4u << o);
		assert_int_equal(sim_set_knob(sim, name, o % 2 ? "always" : "never"), 0);
	}
	assert_int_equal(sim_set_knob(sim, "hugepages-2048kB/enabled", "always"), 0);
	assert_int_equal(sim_khugepaged_set_policy(sim, MTHP_POLICY_UPSTREAM), 0);
	sim_khugepaged_enter(mm);
	assert_int_equal(sim_khugepaged_start(sim), 0);
	for (unsigned t = 0; t < NTHREADS; t++) {
		w[t].sim = sim;
		w[t].mm = mm;
		w[t].id = t;
		w[t].rng = 0x9e3779b97f4a7c15ull * (t + 1);
		w[t].deadline = now() + seconds;
		assert_int_equal(pthread_create(&th[t], NULL, run, &w[t]), 0);
	}
	for (unsigned t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	sim_khugepaged_stop(sim);
	for (unsigned t = 0; t < NTHREADS; t++) {
		if (w[t].errors)
			fail_msg("%s", w[t].why);
		verify(&w[t], 0, SLICE_PAGES);
		if (w[t].errors)
			fail_msg("final check: %s", w[t].why);
		ops += w[t].ops;
	}
	if (sim_check(sim))
		fail_msg("sim_check: %s", sim_check_message(sim));
	printf("stress: %.1f s, %llu mutator ops, full_scans %llu, pages_collapsed %llu, "
	       "thp_collapse_alloc %llu\n", seconds, (unsigned long long)ops,
	       (unsigned long long)khugepaged_stat(sim, "full_scans"),
	       (unsigned long long)khugepaged_stat(sim, "pages_collapsed"),
	       (unsigned long long)vmstat(sim, "thp_collapse_alloc"));
	assert_true(khugepaged_stat(sim, "full_scans") > 0);
	sim_exit(mm);
	assert_int_equal(sim_check(sim), 0);
	sim_destroy(sim);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_khugepaged_thread_and_four_mutators),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
