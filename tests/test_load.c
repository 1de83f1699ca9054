// SPDX-License-Identifier: MIT
/*
 * test_load.c - a snapshot made real in the simulator (mthp_snapshot_load(),
 * `mthp sim --load`): every state it can make is made, page by page; what
 * it cannot make is refused naming the line; khugepaged then works on
 * the result; and `mthp trace-diff` compares two traces range by range.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/replay.h>
#include <mthp/sim.h>
#include <mthp/snapshot.h>

#include "helpers/cli_run.h"
#include "helpers/scratch.h"
#include "helpers/sim_stat.h"
#include "helpers/test_main.h"
#include "helpers/text_has.h"

#define PMD 0x200000ull
#define BASE 0x7f0000000000ull

/* A PTE string of 512: the runs "C*N" of spec, '.' after them. */
static char *ptes_of(const char *spec, char *buf)
{
	size_t at = 0;

	memset(buf, '.', 512);
	buf[512] = '\0';
	while (*spec) {
		char c = *spec++;
		unsigned n = 1;

		if (*spec == '*')
			n = (unsigned)strtoul(spec + 1, (char **)&spec, 10);
		while (*spec == ' ')
			spec++;
		memset(buf + at, c, n);
		at += n;
	}
	assert_true(at <= 512);
	return buf;
}

static void read_text(struct mthp_snapshot *snap, const char *text)
{
	struct mthp_diag diag = { .warn = NULL };
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(f);
	if (mthp_snapshot_read(snap, f, "t.snap", &diag))
		fail_msg("snapshot rejected: %s", diag.msg);
	fclose(f);
}

static int load_text(const char *text, struct mthp_loaded *ld, struct mthp_diag *diag)
{
	struct mthp_snapshot snap;
	struct mthp_settings s;
	int ret;

	read_text(&snap, text);
	assert_int_equal(mthp_snapshot_settings(&snap, &s, "t.snap", diag), 0);
	ret = mthp_snapshot_load(&snap, "t.snap", &s, ld, diag);
	mthp_snapshot_free(&snap);
	return ret;
}

static struct sim_page_info info_at(struct mthp_loaded *ld, uint64_t addr)
{
	struct sim_page_info info;

	assert_int_equal(sim_page_info(ld->mm, addr, &info), 0);
	return info;
}

/* Every state the loader makes, checked page by page in the simulator. */
static void test_load_every_state(void **state)
{
	char text[4096], p0[513], o0[513];
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_loaded ld;
	struct sim_page_info i;

	(void)state;
	/* PTE 0-8 one of each; 16-31 a young 64K folio; 32-35 a shared 16K one */
	ptes_of("A a S s w 0 P l .*8 A*16 S*4", p0);
	memset(o0, '-', 512);
	o0[512] = '\0';
	memcpy(o0, "0000--00--------44444444444444442222", 36);
	snprintf(text, sizeof(text),
		 "mthp-snapshot 2\nsetting enabled always\nsetting use_zero_page 1\n"
		 "vma %llx %llx anon,hugepage\n"
		 "pmd %llx table %s %s\npmd %llx huge\npmd %llx zero\nend\n",
		 BASE, BASE + 3 * PMD, BASE, p0, o0, BASE + PMD, BASE + 2 * PMD);
	if (load_text(text, &ld, &diag))
		fail_msg("load failed: %s", diag.msg);
	assert_int_equal(ld.present, 6 + 16 + 4 + 512);
	assert_int_equal(ld.shared, 2 + 4);
	assert_int_equal(ld.swapped, 1);
	assert_int_equal(ld.zero, 1);
	assert_int_equal(ld.old, 2);
	assert_int_equal(ld.huge, 1);
	assert_non_null(ld.sharer);
	i = info_at(&ld, BASE);
	assert_true(i.young && i.state == 'A' && i.order == 0 && i.folio_mapcount == 1);
	i = info_at(&ld, BASE + 0x1000);
	assert_true(!i.young && i.state == 'a');
	i = info_at(&ld, BASE + 0x2000);
	assert_true(i.young && i.state == 'S' && i.folio_mapcount == 2);
	i = info_at(&ld, BASE + 0x3000);
	assert_true(!i.young && i.state == 's' && i.folio_mapcount == 2);
	assert_int_equal(info_at(&ld, BASE + 0x4000).state, 'w');
	assert_int_equal(info_at(&ld, BASE + 0x5000).state, '0');
	i = info_at(&ld, BASE + 0x6000);
	assert_true(i.state == 'P' && i.refcount == 2);
	assert_int_equal(info_at(&ld, BASE + 0x7000).state, 'l');
	assert_int_equal(info_at(&ld, BASE + 0x8000).state, '.');
	i = info_at(&ld, BASE + 16 * 0x1000);
	assert_true(i.order == 4 && i.state == 'A');
	i = info_at(&ld, BASE + 35 * 0x1000);
	assert_true(i.order == 2 && i.state == 'S');
	assert_true(info_at(&ld, BASE + PMD).huge);
	i = info_at(&ld, BASE + 2 * PMD);
	assert_true(i.huge && i.state == '0');
	assert_int_equal(sim_check(ld.sim), 0);
	mthp_loaded_free(&ld);
}

/*
 * Large folios in a VMA advised MADV_NOHUGEPAGE after they were made (a
 * real process can hold them): loaded as they are, and the VMA advised.
 */
static void test_load_nohugepage_vma_with_large_folios(void **state)
{
	char text[4096], p0[513], o0[513];
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_loaded ld;
	struct sim_vma_info v;

	(void)state;
	ptes_of("A*16 .*496", p0);
	memset(o0, '-', 512);
	o0[512] = '\0';
	memset(o0, '4', 16);
	snprintf(text, sizeof(text),
		 "mthp-snapshot 2\nsetting enabled always\n"
		 "vma %llx %llx anon,nohugepage\npmd %llx table %s %s\npmd %llx huge\nend\n",
		 BASE, BASE + 2 * PMD, BASE, p0, o0, BASE + PMD);
	if (load_text(text, &ld, &diag))
		fail_msg("load failed: %s", diag.msg);
	assert_int_equal(info_at(&ld, BASE).order, 4);
	assert_true(info_at(&ld, BASE + PMD).huge);
	assert_int_equal(sim_vma_info(ld.mm, 0, &v), 0);
	assert_true(v.flags & MTHP_VMA_NOHUGEPAGE);
	assert_int_equal(sim_check(ld.sim), 0);
	mthp_loaded_free(&ld);
}

/* A state the simulator's operations cannot make is refused, naming where. */
static void test_load_refuses(void **state)
{
	static const struct {
		const char *ptes, *orders, *why;
	} cases[] = {
		{ "A*5 K", NULL, "t.snap:3: PTE 5 is 'K', a locked folio" },
		{ "A u", NULL, "PTE 1 is 'u', a uffd-wp PTE" },
		{ "A*5", "04444", "PTE 1: a folio of order 4 must be 16 PTEs from PTE 0" },
		{ "A*512", "9", "PTE 0: a folio of order 9 mapped by PTEs" },
		{ "A*2 S*2", "2222", "PTE 0: a folio of order 2 must be 4 PTEs from PTE 0 of "
		  "that order, all shared or all not, or none (as a fault and an unmap make "
		  "it); PTE 2 is 'S' of order 2" },
		{ "S*5 . S*10", "44444-4444444444", "PTE 0: a folio of order 4 shared with a "
		  "forked child and partially mapped (PTEs 0 to 15): the simulator makes shared "
		  "folios whole" },
		{ "A*5 0 A*10", "44444-4444444444", "PTE 0: a folio of order 4 must be 16 PTEs "
		  "from PTE 0 of that order, all shared or all not, or none (as a fault and an "
		  "unmap make it); PTE 5 is '0' of order 0" },
	};
	char text[4096], p[513], o[513];
	struct mthp_loaded ld;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct mthp_diag diag = { .warn = NULL };

		ptes_of(cases[k].ptes, p);
		memset(o, '0', 512);
		o[512] = '\0';
		for (size_t i = 0; i < 512; i++)
			if (p[i] == '.' || p[i] == 'w')
				o[i] = '-';
		if (cases[k].orders)
			memcpy(o, cases[k].orders, strlen(cases[k].orders));
		snprintf(text, sizeof(text), "mthp-snapshot 2\nvma %llx %llx anon\n"
			 "pmd %llx table %s %s\nend\n", BASE, BASE + PMD, BASE, p, o);
		assert_int_equal(load_text(text, &ld, &diag), -EINVAL);
		if (!strstr(diag.msg, cases[k].why))
			fail_msg("case %zu: '%s' does not say '%s'", k, diag.msg, cases[k].why);
		assert_null(ld.sim);
	}
}

/*
 * A folio the process unmapped in part loads as the kernel holds it: the
 * fault makes it whole, MADV_DONTNEED cuts it, and it stays partially
 * mapped (queued once) until a shrinker splits it.  One that crosses two
 * VMAs is refused.
 */
static void test_load_partially_mapped_folio(void **state)
{
	char text[4096], p[513], o[513];
	struct mthp_diag diag = { .warn = NULL };
	struct sim_shrink_result res;
	struct mthp_loaded ld;

	(void)state;
	ptes_of("A*5 . a*10", p);
	memset(o, '-', 512);
	o[512] = '\0';
	memcpy(o, "44444-4444444444", 16);
	snprintf(text, sizeof(text), "mthp-snapshot 2\nvma %llx %llx anon\n"
		 "pmd %llx table %s %s\nend\n", BASE, BASE + PMD, BASE, p, o);
	if (load_text(text, &ld, &diag))
		fail_msg("load failed: %s", diag.msg);
	assert_int_equal(info_at(&ld, BASE).order, 4);
	assert_int_equal(info_at(&ld, BASE + 15 * 4096).order, 4);
	assert_int_equal(info_at(&ld, BASE + 5 * 4096).state, '.');
	assert_int_equal(mthp_stat(ld.sim, 4, "nr_anon_partially_mapped"), 1);
	assert_int_equal(sim_check(ld.sim), 0);
	assert_int_equal(sim_shrink(ld.sim, -1, &res), 0);
	assert_int_equal(res.split, 1);
	assert_int_equal(info_at(&ld, BASE).order, 0);
	mthp_loaded_free(&ld);
	/* the block across two VMAs */
	snprintf(text, sizeof(text), "mthp-snapshot 2\nvma %llx %llx anon\n"
		 "vma %llx %llx anon,hugepage\npmd %llx table %s %s\nend\n", BASE,
		 BASE + 8 * 4096, BASE + 8 * 4096, BASE + PMD, BASE, p, o);
	assert_int_equal(load_text(text, &ld, &diag), -EINVAL);
	assert_non_null(strstr(diag.msg, "PTE 0: a partially mapped folio of order 4 (PTEs 0 "
				     "to 15) across two VMAs"));
}

/* A page outside every VMA of a format-2 table cannot be made. */
static void test_load_refuses_page_outside_vma(void **state)
{
	struct mthp_diag diag = { .warn = NULL };
	char text[4096], p[513];
	struct mthp_loaded ld;

	(void)state;
	ptes_of("A*16", p);
	snprintf(text, sizeof(text), "mthp-snapshot 2\nvma %llx %llx anon\n"
		 "pmd %llx table %s\nend\n", BASE + 0x8000, BASE + PMD, BASE, p);
	assert_int_equal(load_text(text, &ld, &diag), -EINVAL);
	assert_non_null(strstr(diag.msg, "PTE 0 is 'A' outside every anonymous private VMA"));
}

/* Load a format-2 text, run one khugepaged pass; the orders at PTE indexes. */
static void load_and_pass(const char *text, const unsigned *index, unsigned nr,
			  unsigned *orders)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_loaded ld;

	if (load_text(text, &ld, &diag))
		fail_msg("load failed: %s", diag.msg);
	sim_khugepaged_enter(ld.mm);
	assert_int_equal(sim_khugepaged_pass(ld.sim, 0, NULL), 0);
	for (unsigned k = 0; k < nr; k++)
		orders[k] = info_at(&ld, BASE + index[k] * 0x1000ull).order;
	mthp_loaded_free(&ld);
}

/*
 * khugepaged on a loaded state, with the per-CPU LRU add batch: a failed
 * attempt puts its pages back through the batch, which holds a reference
 * to each, so the next windows over them fail on the reference count
 * until the batch drains (when 31 folios wait, or a large folio joins
 * it).  A*48 S*4 A*460 with every mTHP size on is what Linux 7.2 did in
 * make check-kernel: 20:2 24:3 52:2 56:3 64:6 128:7 256:8 (a model
 * without the batch says 0:5 32:4 52:2 ...).
 */
static void test_load_then_khugepaged(void **state)
{
	static const unsigned at[] = { 0, 16, 20, 24, 32, 48, 52, 56, 64, 128, 256, 512 };
	static const unsigned all_sizes[] = { 0, 0, 2, 3, 0, 0, 2, 3, 6, 7, 8, 0 };
	/*
	 * 16K and 128K only: 0:5 collapses; 32:5 isolates 32..47 and fails
	 * at the shared page 48, so the 16K windows over 32..47 fail on the
	 * batch's references; 52:2 and 56:2 do not, and the new folio of
	 * 52:2 drains the batch for the 128K windows from 64 on.
	 */
	static const unsigned two_sizes[] = { 5, 5, 5, 5, 0, 0, 2, 2, 5, 5, 5, 0 };
	unsigned n = sizeof(at) / sizeof(at[0]), got[sizeof(at) / sizeof(at[0])];
	char text[4096], p0[513], p1[513], sizes[512] = "";

	(void)state;
	for (unsigned kb = 16; kb <= 1024; kb *= 2)
		snprintf(sizes + strlen(sizes), sizeof(sizes) - strlen(sizes),
			 "setting hugepages-%ukB/enabled always\n", kb);
	for (int two = 0; two < 2; two++) {
		snprintf(text, sizeof(text),
			 "mthp-snapshot 2\nsetting enabled always\n"
			 "setting hugepages-2048kB/enabled never\n%s"
			 "vma %llx %llx anon\npmd %llx table %s\npmd %llx table %s\nend\n",
			 two ? "setting hugepages-16kB/enabled always\n"
			       "setting hugepages-128kB/enabled always\n" : sizes,
			 BASE, BASE + 2 * PMD, BASE, ptes_of("A*48 S*4 A*460", p0), BASE + PMD,
			 ptes_of("a*512", p1));
		load_and_pass(text, at, n, got);
		/* the last index: every page old, SCAN_LACK_REFERENCED_PAGE, nothing */
		for (unsigned k = 0; k < n; k++)
			if (got[k] != (two ? two_sizes : all_sizes)[k])
				fail_msg("%s: PTE %u in a folio of order %u, expected %u",
					 two ? "16K and 128K" : "every size", at[k], got[k],
					 (two ? two_sizes : all_sizes)[k]);
	}
}

/*
 * Swap orders: the loader pages out each block of a swap order as one
 * folio into one aligned run of slots, and every other 'w' page so that
 * it joins no run (its verify compares the simulator's swap orders with
 * the snapshot's).  From zram, a swap-in fault then brings in a block
 * whole where its size is enabled, and khugepaged's swap-in of a PMD
 * range takes one fault per block.
 */
static void test_load_swap_runs(void **state)
{
	char text[4096], p0[513], o0[513];
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_snapshot snap;
	struct mthp_loaded ld;
	uint64_t tag, in0, in1;
	FILE *trace;
	char *log = NULL;
	size_t len;

	(void)state;
	/* 0-15 a 64K run, 16-19 a 16K one, 20-35 16 pages in no run, then A */
	ptes_of("w*36 A*476", p0);
	memset(o0, '0', 512);
	o0[512] = '\0';
	memset(o0, '4', 16);
	memset(o0 + 16, '2', 4);
	memset(o0 + 20, '-', 16);
	snprintf(text, sizeof(text),
		 "mthp-snapshot 2\nsetting enabled always\nsetting hugepages-2048kB/enabled always\n"
		 "setting hugepages-64kB/enabled always\nsetting hugepages-16kB/enabled always\n"
		 "setting khugepaged/max_ptes_swap 64\n"
		 "vma %llx %llx anon\npmd %llx table %s %s\nend\n",
		 BASE, BASE + PMD, BASE, p0, o0);
	if (load_text(text, &ld, &diag))
		fail_msg("load failed: %s", diag.msg);
	assert_int_equal(ld.swapped, 36);
	/* the simulator's own snapshot says the same swap orders */
	assert_int_equal(sim_mm_snapshot(ld.mm, &snap), 0);
	assert_non_null(snap.pmds[0].swap_orders);
	assert_int_equal(snap.pmds[0].swap_orders[0], 4);
	assert_int_equal(snap.pmds[0].swap_orders[17], 2);
	assert_int_equal(snap.pmds[0].swap_orders[20], 0);
	assert_int_equal(snap.pmds[0].swap_orders[35], 0);
	mthp_snapshot_free(&snap);
	sim_set_swap_device(ld.sim, SIM_SWAP_ZRAM);
	/* khugepaged's PMD collapse swaps in: 1 fault for 0-15, 1 for 16-19, 16 more */
	trace = open_memstream(&log, &len);
	assert_non_null(trace);
	sim_set_trace(ld.sim, trace);
	assert_int_equal(sim_vmstat(ld.sim, "pswpin", &in0), 0);
	sim_khugepaged_enter(ld.mm);
	assert_int_equal(sim_khugepaged_pass(ld.sim, 0, NULL), 0);
	sim_set_trace(ld.sim, NULL);
	assert_int_equal(fclose(trace), 0);
	assert_int_equal(sim_vmstat(ld.sim, "pswpin", &in1), 0);
	assert_int_equal(in1 - in0, 36);
	if (!strstr(log, "swapped_in=18,"))
		fail_msg("no swap-in of 18 faults in the trace:\n%s", log);
	assert_true(info_at(&ld, BASE).huge);
	/* the content came back: the loader wrote its address to each block's first page */
	for (unsigned i = 0; i < 36; i += i < 16 ? 16 : i < 20 ? 4 : 1) {
		assert_int_equal(sim_read(ld.mm, BASE + i * 0x1000ull, &tag), 0);
		assert_int_equal(tag, BASE + i * 0x1000ull);
	}
	free(log);
	mthp_loaded_free(&ld);
}

/*
 * What the loader relies on: MADV_COLD makes pages old but leaves a folio
 * another process maps alone, and MADV_HUGEPAGE gives an mm slot only
 * where a collapse is possible, so a child forked then is not scanned.
 */
static void test_cold_and_mm_slots(void **state)
{
	struct sim_config cfg = { .page_size = 4096, .nr_frames = 16384, .seed = 1 };
	struct mthp_geometry geo;
	struct mthp_settings s;
	struct sim *sim;
	struct sim_mm *mm, *child;
	uint64_t addr = BASE, scanned;

	(void)state;
	assert_int_equal(mthp_geometry_from_page_size(&geo, 4096), 0);
	mthp_settings_init(&s, &geo);
	s.enabled = MTHP_MODE_NEVER;
	assert_int_equal(sim_create(&sim, &cfg, &s), 0);
	assert_int_equal(sim_mm_create(sim, 0, &mm), 0);
	assert_int_equal(sim_mmap(mm, &addr, PMD, SIM_PROT_RW, SIM_MAP_FIXED), 0);
	assert_int_equal(sim_madvise(mm, BASE, PMD, SIM_MADV_HUGEPAGE), 0);
	for (uint64_t a = BASE; a < BASE + 4 * 4096; a += 4096)
		assert_int_equal(sim_write(mm, a, a), 0);
	assert_int_equal(sim_fork(mm, &child), 0);
	assert_int_equal(sim_write(mm, BASE + 4 * 4096, 1), 0);
	assert_int_equal(sim_madvise(mm, BASE, PMD, SIM_MADV_COLD), 0);
	/* shared with the child: still young; mapped here alone: old */
	assert_true(info_at(&(struct mthp_loaded){ .mm = mm }, BASE).young);
	assert_false(info_at(&(struct mthp_loaded){ .mm = mm }, BASE + 4 * 4096).young);
	/* every size never: neither mm has a slot, so khugepaged scans nothing */
	s.enabled = MTHP_MODE_ALWAYS;
	assert_int_equal(sim_set_settings(sim, &s), 0);
	assert_int_equal(sim_khugepaged_wake(sim, NULL), 0);
	assert_int_equal(sim_khugepaged_stat(sim, "ptes_scanned", &scanned), 0);
	assert_int_equal(scanned, 0);
	/* advised again with THP on: a slot, and the table is scanned */
	assert_int_equal(sim_madvise(mm, BASE, PMD, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_khugepaged_wake(sim, NULL), 0);
	assert_int_equal(sim_khugepaged_stat(sim, "ptes_scanned", &scanned), 0);
	assert_int_equal(scanned, 512);
	sim_exit(child);
	sim_exit(mm);
	sim_destroy(sim);
}

/* Write text to a new file at path. */
static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* `mthp sim --load`: each pass's collapses, the counters, the snapshot after. */
static void test_cli_load(void **state)
{
	struct scratch dir;
	const char *in, *out, *trace;
	char text[4096], p[513];
	struct cli_run r;
	FILE *f;

	(void)state;
	scratch_make(&dir, "test-load");
	in = scratch_path(&dir, "in.snap");
	out = scratch_path(&dir, "out.snap");
	trace = scratch_path(&dir, "sim.trace");
	snprintf(text, sizeof(text), "mthp-snapshot 2\nsetting enabled always\n"
		 "vma %llx %llx anon\npmd %llx table %s\nend\n", BASE, BASE + PMD, BASE,
		 ptes_of("A*300", p));
	write_text(in, text);

	r = cli_run("sim", "--load", in, "--passes", "3", "--stats", "--snapshot", out,
		    "--trace", trace, NULL);
	assert_int_equal(r.status, 0);
	assert_text_has(r.out, "1 PMD range, 300 pages present (0 shared",
			"pass 1: 1 window collapsed (2M 1), 512 PTEs scanned",
			"stable: pass 2 collapsed nothing",
			"/sys/kernel/mm/transparent_hugepage/khugepaged pages_collapsed 1\n",
			"/proc/vmstat thp_collapse_alloc 1\n",
			"/proc/vmstat thp_fault_alloc 0\n", NULL);
	cli_run_free(&r);
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);

	/* the same trace twice: every range the same */
	r = cli_run("trace-diff", trace, trace, NULL);
	assert_int_equal(r.status, 0);
	assert_text_has(r.out, "2 of 2 ranges the same, 0 differ", NULL);
	cli_run_free(&r);

	cli_run_fails(2, "--load goes with --passes", "sim", "--load", in, "--compare",
		      "legacy,upstream", NULL);
	cli_run_fails(2, "--passes goes with --load", "sim", "--passes", "2", NULL);
	cli_run_fails(2, "--swap-device goes with --load", "sim", "--swap-device", "zram", NULL);
	cli_run_fails(2, "--swap-device 'tape' must be disk or zram", "sim", "--load", in,
		      "--swap-device", "tape", NULL);

	/* a 64K block swapped out whole: from zram one swap-in fault brings it in */
	for (int zram = 0; zram < 2; zram++) {
		char o[513];

		memset(o, '0', 512);
		o[512] = '\0';
		memset(o, '4', 16);
		snprintf(text, sizeof(text), "mthp-snapshot 2\nsetting enabled always\n"
			 "setting hugepages-64kB/enabled always\nvma %llx %llx anon\n"
			 "pmd %llx table %s %s\nend\n", BASE, BASE + PMD, BASE,
			 ptes_of("w*16 A*300", p), o);
		write_text(in, text);
		r = cli_run("sim", "--load", in, "--stats", "--swap-device",
			    zram ? "zram" : "disk", NULL);
		assert_int_equal(r.status, 0);
		assert_text_has(r.out, zram ? "of swap (zram)" : "of swap (disk)",
				"/proc/vmstat pswpin 16\n",
				zram ? "hugepages-64kB/stats swpin 1\n" :
				"hugepages-64kB/stats swpin 0\n", NULL);
		cli_run_free(&r);
	}
	cli_run_fails(1, "--load /nonexistent/x.snap: No such file", "sim", "--load",
		      "/nonexistent/x.snap", NULL);
	scratch_remove(&dir);
}

#define KLINE(mm, ev, fields) \
	"      khugepaged-145     [001] .....    13.110249: " ev ": mm=" mm ", " fields "\n"
#define KISO(fields) \
	"      khugepaged-145     [001] ...1.    13.110250: mm_collapse_huge_page_isolate: " \
	fields "\n"

/*
 * A kernel trace (tracefs's header, another process, another event)
 * against a simulator's: the process with as many ranges is chosen and
 * the range that differs is named with both lines.
 */
static void test_trace_diff(void **state)
{
	static const char kernel[] =
		"# tracer: nop\n#\n"
		KLINE("00000000aaaa", "mm_khugepaged_scan_pmd",
		      "scan_pfn=0x1, referenced=0, none_or_zero=511, status=no_pte_table, unmapped=0")
		KISO("scan_pfn=0x73b0, none_or_zero=0, referenced=256, status=succeeded, order=8")
		KLINE("00000000bbbb", "mm_collapse_huge_page", "isolated=1, status=succeeded, order=8")
		KLINE("00000000bbbb", "mm_khugepaged_scan_pmd",
		      "scan_pfn=0x73b0, referenced=512, none_or_zero=0, status=succeeded, unmapped=0")
		KLINE("00000000bbbb", "mm_khugepaged_scan", "progress=513, full_scan_finished=0")
		KISO("scan_pfn=0x7000, none_or_zero=0, referenced=0, status=not_suitable_page_count, order=3")
		KLINE("00000000bbbb", "mm_collapse_huge_page", "isolated=0, status=not_suitable_page_count, order=3")
		KLINE("00000000bbbb", "mm_khugepaged_scan_pmd",
		      "scan_pfn=0x7000, referenced=8, none_or_zero=504, status=not_suitable_page_count, unmapped=0")
		"      khugepaged-145     [001] .....    13.2: mm_khugepaged_scan_file: mm=00000000bbbb\n";
	static const char sim[] =
		KISO("scan_pfn=0xdc19, none_or_zero=0, referenced=256, status=succeeded, order=8")
		KLINE("ffff888000001000", "mm_collapse_huge_page", "isolated=1, status=succeeded, order=8")
		KLINE("ffff888000001000", "mm_khugepaged_scan_pmd",
		      "scan_pfn=0xdc19, referenced=512, none_or_zero=0, status=succeeded, unmapped=0")
		KISO("scan_pfn=0x1, none_or_zero=0, referenced=8, status=succeeded, order=3")
		KLINE("ffff888000001000", "mm_collapse_huge_page", "isolated=1, status=succeeded, order=3")
		KLINE("ffff888000001000", "mm_khugepaged_scan_pmd",
		      "scan_pfn=0x1, referenced=8, none_or_zero=504, status=succeeded, unmapped=0");
	struct scratch dir;
	const char *kpath, *spath;
	struct cli_run r;

	(void)state;
	scratch_make(&dir, "test-tdiff");
	kpath = scratch_file(&dir, "kernel", kernel, strlen(kernel));
	spath = scratch_file(&dir, "sim", sim, strlen(sim));

	r = cli_run("trace-diff", kpath, spath, NULL);
	assert_int_equal(r.status, 1);
	assert_text_has(r.out, "kernel: mm=00000000bbbb, 2 PMD ranges; simulator: "
			"mm=ffff888000001000, 2 PMD ranges",
			"range 1: event 1 differs\n",
			"kernel     line 8: mm_collapse_huge_page_isolate: scan_pfn=0x7000, "
			"none_or_zero=0, referenced=0, status=not_suitable_page_count",
			"simulator  line 4: mm_collapse_huge_page_isolate",
			"1 of 2 ranges the same, 1 differ", NULL);
	assert_null(strstr(r.out, "range 0:"));
	cli_run_free(&r);
	/* the other process, by name: one range, and the simulator has two */
	r = cli_run("trace-diff", kpath, spath, "--kernel-mm", "00000000aaaa", "--all", NULL);
	assert_int_equal(r.status, 1);
	assert_text_has(r.out, "range 0: event 1 differs", "1 more in simulator", NULL);
	cli_run_free(&r);
	r = cli_run("trace-diff", kpath, spath, "--kernel-mm", "12345", NULL);
	assert_int_equal(r.status, 2);
	assert_text_has(r.err, "no PMD range of the process asked for; its processes "
			"(mm=, ranges): 00000000aaaa 1 00000000bbbb 2", NULL);
	cli_run_free(&r);
	r = cli_run("trace-diff", kpath, NULL);
	assert_int_equal(r.status, 2);
	assert_text_has(r.err, "give two traces", NULL);
	cli_run_free(&r);
	r = cli_run("trace-diff", kpath, "/nonexistent", NULL);
	assert_int_equal(r.status, 2);
	assert_text_has(r.err, "/nonexistent: No such file", NULL);
	cli_run_free(&r);
	scratch_remove(&dir);
}

/*
 * Input that is no text ends at once, with the line that says so: an
 * endless run of NUL bytes (/dev/zero) as a snapshot or as a trace, and a
 * trace line over 64 KiB.
 */
static void test_input_that_never_ends(void **state)
{
	char path[] = "/tmp/mthp-test-long-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (unsigned i = 0; i < 70000; i++)
		fputc('x', f);
	fclose(f);
	alarm(60);	/* a reader that does not stop at the NUL reads for ever */
	cli_run_fails(1, "/dev/zero:1: NUL byte at column 1", "plan", "--snapshot", "/dev/zero",
		      NULL);
	cli_run_fails(1, "/dev/zero:1: NUL byte at column 1", "sim", "--load", "/dev/zero",
		      NULL);
	cli_run_fails(2, "/dev/zero:1: a NUL byte: not a trace", "trace-diff", "/dev/zero",
		      path, NULL);
	cli_run_fails(2, ":1: a line longer than 64 KiB: not a trace", "trace-diff", path,
		      "/dev/null", NULL);
	alarm(0);
	/* a scan event without the field that names its process: not "no memory" */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("  khugepaged-42 [000] ..... 0.000000: mm_khugepaged_scan_pmd: scan_pfn=0x130, "
	      "referenced=61, none_or_zero=451, status=succeeded, unmapped=0\n", f);
	fclose(f);
	cli_run_fails(2, ":1: an mm_khugepaged_scan_pmd event without its mm= field",
		      "trace-diff", path, path, NULL);
	unlink(path);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_load_every_state),
	cmocka_unit_test(test_load_nohugepage_vma_with_large_folios),
	cmocka_unit_test(test_load_refuses),
	cmocka_unit_test(test_load_partially_mapped_folio),
	cmocka_unit_test(test_load_refuses_page_outside_vma),
	cmocka_unit_test(test_load_then_khugepaged),
	cmocka_unit_test(test_load_swap_runs),
	cmocka_unit_test(test_cold_and_mm_slots),
	cmocka_unit_test(test_cli_load),
	cmocka_unit_test(test_trace_diff),
	cmocka_unit_test(test_input_that_never_ends),
)
