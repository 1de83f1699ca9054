// SPDX-License-Identifier: MIT
/*
 * test_sim_stress.c - four threads doing random operations on one mm:
 * writes, reads, DONTNEED, FREE, PAGEOUT, POPULATE_WRITE, mprotect,
 * munmap + mmap, mremap away and back, fork + exit, aging, snapshots.
 * Each thread owns one PMD-sized slice for the operations that destroy
 * data and checks every tag it reads there; all threads read anywhere.
 * Runs MTHP_STRESS_SECONDS (default 2) seconds; sim_check() clean at the
 * end (debug builds also check after every operation).
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

#define PAGE 4096ull
#define NPTES 512u
#define PMD (NPTES * PAGE)
#define BASE 0x200000000ull
#define SCRATCH 0x400000000ull
#ifndef NTHREADS
#define NTHREADS 4
#endif
#define UNKNOWN UINT64_MAX

struct worker {
	struct sim *sim;
	struct sim_mm *mm;
	unsigned id;
	uint64_t rng;
	double deadline;
	uint64_t expect[NPTES];
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

static uint64_t slice(struct worker *w)
{
	return BASE + w->id * PMD;
}

static void bad(struct worker *w, const char *what, uint64_t a, uint64_t b)
{
	if (!w->errors)
		snprintf(w->why, sizeof(w->why), "thread %u: %s (%llx, %llx)", w->id,
			 what, (unsigned long long)a, (unsigned long long)b);
	w->errors++;
}

static void set_range(struct worker *w, unsigned first, unsigned n, uint64_t v)
{
	for (unsigned i = first; i < first + n && i < NPTES; i++)
		w->expect[i] = v;
}

static void verify_range(struct worker *w, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n && i < NPTES; i++) {
		uint64_t tag = 0;
		int err = sim_read(w->mm, slice(w) + i * PAGE, &tag);

		if (err)
			bad(w, "read failed", i, (uint64_t)-err);
		else if (w->expect[i] != UNKNOWN && tag != w->expect[i])
			bad(w, "tag mismatch", tag, w->expect[i]);
		/* a lazyfree page stays unknown until written: page-out may drop it */
	}
}

static void op_write(struct worker *w)
{
	unsigned i = rnd(w) % NPTES, n = 1 + rnd(w) % 32;

	for (; n-- && i < NPTES; i++) {
		uint64_t tag = (rnd(w) | 1) & ~(1ull << 63);

		if (sim_write(w->mm, slice(w) + i * PAGE, tag) == 0)
			w->expect[i] = tag;
		else
			bad(w, "write failed", i, 0);
	}
}

static void op_other_read(struct worker *w)
{
	uint64_t tag;
	uint64_t addr = BASE + (rnd(w) % (NTHREADS * NPTES)) * PAGE;
	int err = sim_read(w->mm, addr, &tag);

	if (err && err != -EFAULT)
		bad(w, "read elsewhere", addr, (uint64_t)-err);
}

static void op_madvise(struct worker *w, enum sim_madv advice)
{
	unsigned first = rnd(w) % NPTES, n = 1 + rnd(w) % 64;

	if (first + n > NPTES)
		n = NPTES - first;
	if (sim_madvise(w->mm, slice(w) + first * PAGE, n * PAGE, advice))
		bad(w, "madvise", advice, first);
	if (advice == SIM_MADV_DONTNEED)
		set_range(w, first, n, 0);
	if (advice == SIM_MADV_FREE)
		set_range(w, first, n, UNKNOWN);
	if (advice == SIM_MADV_PAGEOUT || advice == SIM_MADV_POPULATE_WRITE)
		verify_range(w, first, n);
}

static void op_remap(struct worker *w)
{
	uint64_t a = slice(w), tmp = SCRATCH + w->id * 4 * PMD + (rnd(w) % 4) * PAGE;

	if (sim_mremap(w->mm, a, PMD, &tmp) || sim_mremap(w->mm, tmp, PMD, &a))
		bad(w, "mremap", tmp, a);
	verify_range(w, rnd(w) % NPTES, 8);
}

static void op_unmap(struct worker *w)
{
	uint64_t a = slice(w) + (rnd(w) % NPTES) * PAGE;
	unsigned n = 1 + rnd(w) % 16;

	if (a + n * PAGE > slice(w) + PMD)
		n = (unsigned)((slice(w) + PMD - a) / PAGE);
	if (sim_munmap(w->mm, a, n * PAGE) ||
	    sim_mmap(w->mm, &a, n * PAGE, SIM_PROT_RW, SIM_MAP_FIXED))
		bad(w, "munmap/mmap", a, n);
	set_range(w, (unsigned)((a - slice(w)) / PAGE), n, 0);
}

static void op_protect(struct worker *w)
{
	uint64_t a = slice(w) + (rnd(w) % NPTES) * PAGE;

	if (sim_mprotect(w->mm, a, PAGE, SIM_PROT_READ) ||
	    sim_mprotect(w->mm, a, PAGE, SIM_PROT_RW))
		bad(w, "mprotect", a, 0);
}

static void op_fork(struct worker *w)
{
	struct sim_mm *child;
	unsigned i = rnd(w) % NPTES;

	if (sim_fork(w->mm, &child)) {
		bad(w, "fork", 0, 0);
		return;
	}
	/* a write in the child must not show in the parent */
	sim_write(child, slice(w) + i * PAGE, 0xdead);
	sim_exit(child);
	verify_range(w, i, 1);
}

static void op_snapshot(struct worker *w)
{
	struct mthp_snapshot snap;

	if (sim_mm_snapshot(w->mm, &snap) == 0)
		mthp_snapshot_free(&snap);
	else
		bad(w, "snapshot", 0, 0);
}

static void *run(void *arg)
{
	struct worker *w = arg;

	while (now() < w->deadline && !w->errors) {
		switch (rnd(w) % 16) {
		case 0: case 1: case 2: case 3: op_write(w); break;
		case 4: case 5: verify_range(w, rnd(w) % NPTES, 16); break;
		case 6: op_other_read(w); break;
		case 7: op_madvise(w, SIM_MADV_DONTNEED); break;
		case 8: op_madvise(w, SIM_MADV_FREE); break;
		case 9: op_madvise(w, SIM_MADV_PAGEOUT); break;
		case 10: op_madvise(w, SIM_MADV_POPULATE_WRITE); break;
		case 11: op_remap(w); break;
		case 12: op_unmap(w); break;
		case 13: op_protect(w); break;
		case 14: op_fork(w); break;
		case 15:
			if (rnd(w) & 1)
				sim_age(w->mm);
			else
				op_snapshot(w);
			break;
		}
		w->ops++;
	}
	return NULL;
}

static void test_four_threads_one_mm(void **state)
{
	const char *knobs[] = { "enabled", "always", "hugepages-64kB/enabled", "always",
				"hugepages-16kB/enabled", "always", NULL };
	struct mthp_geometry geo;
	struct mthp_settings s;
	struct sim_config cfg = { .page_size = 4096, .nr_frames = 4096,
				  .nr_swap_slots = 4096, .seed = 42 };
	const char *env = getenv("MTHP_STRESS_SECONDS");
	double secs = env ? atof(env) : 2.0;
	static struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct sim *sim;
	struct sim_mm *mm;
	uint64_t addr = BASE, total = 0;

	(void)state;
	assert_int_equal(mthp_geometry_from_page_size(&geo, 4096), 0);
	mthp_settings_init(&s, &geo);
	for (const char *const *k = knobs; *k; k += 2)
		assert_int_equal(mthp_settings_set(&s, k[0], k[1], NULL, 0), 0);
	assert_int_equal(sim_create(&sim, &cfg, &s), 0);
	assert_int_equal(sim_mm_create(sim, 0, &mm), 0);
	assert_int_equal(sim_mmap(mm, &addr, NTHREADS * PMD, SIM_PROT_RW, SIM_MAP_FIXED), 0);
	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .sim = sim, .mm = mm, .id = i,
					.rng = 0x9e3779b97f4a7c15ull * (i + 1),
					.deadline = now() + secs };
		assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (w[i].errors)
			fail_msg("%s", w[i].why);
		total += w[i].ops;
	}
	printf("stress: %llu operations in %.1f s\n", (unsigned long long)total, secs);
	if (sim_check(sim))
		fail_msg("sim_check: %s", sim_check_message(sim));
	for (unsigned i = 0; i < NTHREADS; i++)
		verify_range(&w[i], 0, NPTES);
	for (unsigned i = 0; i < NTHREADS; i++)
		if (w[i].errors)
			fail_msg("%s", w[i].why);
	sim_exit(mm);
	if (sim_check(sim))
		fail_msg("sim_check: %s", sim_check_message(sim));
	assert_int_equal(sim_free_pages(sim), cfg.nr_frames - 1);
	sim_destroy(sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_threads_one_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
