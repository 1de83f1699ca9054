// SPDX-License-Identifier: MIT
/*
 * test_sim_snapshot.c - a simulated process written as a snapshot
 * (format 1): VMA flags, PMD kinds, the PTE alphabet (none, zero, swap,
 * uffd-wp, young/old, shared, lazyfree, pinned) and folio orders; the same
 * run twice gives the same bytes; the snapshot reads back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_fx.h"
#include "helpers/test_main.h"
#include <mthp/snapshot.h>

#define PAGE 4096ull
#define PMD (512 * PAGE)
#define BASE 0x200000000ull

/* Build one process with every state and return its snapshot text. */
static char *scenario(void)
{
	const char *knobs[] = { "enabled", "madvise", "hugepages-64kB/enabled", "always", NULL };
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 8192,
					.nr_swap_slots = 1024, .seed = 7 };
	struct sim_fx fx = sim_fx_make(&cfg, knobs);
	struct sim *sim = fx.sim;
	struct sim_mm *mm = fx.mm, *child;
	struct mthp_snapshot snap;
	uint64_t tag;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	sim_fx_map(mm, BASE, 3 * PMD);
	assert_int_equal(sim_madvise(mm, BASE, PMD, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_write(mm, BASE, 1), 0);			/* huge */
	assert_int_equal(sim_write(mm, BASE + PMD, 2), 0);		/* 64K: 16 x A */
	assert_int_equal(sim_read(mm, BASE + PMD + 16 * PAGE, &tag), 0);	/* 0 */
	assert_int_equal(sim_write(mm, BASE + PMD + 32 * PAGE, 3), 0);
	assert_int_equal(sim_madvise(mm, BASE + PMD + 32 * PAGE, 16 * PAGE,
				     SIM_MADV_PAGEOUT), 0);		/* w */
	assert_int_equal(sim_write(mm, BASE + PMD + 48 * PAGE, 4), 0);
	assert_int_equal(sim_madvise(mm, BASE + PMD + 48 * PAGE, 16 * PAGE,
				     SIM_MADV_FREE), 0);		/* l */
	assert_int_equal(sim_write(mm, BASE + PMD + 64 * PAGE, 5), 0);
	assert_int_equal(sim_pin(mm, BASE + PMD + 64 * PAGE), 0);	/* P */
	assert_int_equal(sim_write(mm, BASE + PMD + 80 * PAGE, 6), 0);
	assert_int_equal(sim_fork(mm, &child), 0);			/* S */
	assert_int_equal(sim_age(mm), 0);				/* s */
	assert_int_equal(sim_mm_snapshot(mm, &snap), 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(mthp_snapshot_write(&snap, f), 0);
	fclose(f);
	mthp_snapshot_free(&snap);
	assert_int_equal(sim_unpin(mm, BASE + PMD + 64 * PAGE), 0);
	sim_exit(child);
	sim_exit(mm);
	assert_int_equal(sim_check(sim), 0);
	sim_destroy(sim);
	return buf;
}

static void test_states_and_orders(void **state)
{
	char *text = scenario();
	struct mthp_snapshot snap;
	struct mthp_diag diag = { .warn = NULL };
	const struct mthp_snapshot_pmd *p;

	(void)state;
	assert_int_equal(mthp_snapshot_read_mem(&snap, text, strlen(text), "sim", &diag), 0);
	assert_int_equal(snap.nr_vmas, 2);
	assert_true(snap.vmas[0].flags & MTHP_VMA_HUGEPAGE);
	assert_int_equal(snap.nr_pmds, 3);
	assert_int_equal(snap.pmds[0].kind, MTHP_PMD_HUGE);
	p = &snap.pmds[1];
	assert_int_equal(p->kind, MTHP_PMD_TABLE);
	assert_int_equal(p->ptes[0], 's');	/* shared after fork, aged */
	assert_int_equal(p->folio_orders[0], 4);
	assert_int_equal(p->ptes[16], '0');
	assert_int_equal(p->ptes[32], 'w');
	assert_int_equal(p->folio_orders[32], MTHP_NO_FOLIO);
	assert_int_equal(p->ptes[48], 'l');
	assert_int_equal(p->ptes[64], 'P');
	assert_int_equal(p->ptes[80], 's');
	assert_int_equal(p->ptes[100], '.');
	assert_int_equal(snap.pmds[2].kind, MTHP_PMD_NONE);
	mthp_snapshot_free(&snap);
	free(text);
}

static void test_deterministic(void **state)
{
	char *a = scenario(), *b = scenario();

	(void)state;
	assert_string_equal(a, b);
	free(a);
	free(b);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_states_and_orders),
	cmocka_unit_test(test_deterministic),
)
