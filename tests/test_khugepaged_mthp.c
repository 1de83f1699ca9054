// SPDX-License-Identifier: MIT
/*
 * test_khugepaged_mthp.c - khugepaged with mTHP sizes: the 7.2 cases
 * (full 64K blocks with max_ptes_none 0, a single page with 511, swap and
 * shared PTEs vetoing windows below PMD order, existing mTHPs not rebuilt
 * smaller, mTHP-only configurations, allocation failure falling back);
 * creep under seed and not under upstream; agreement of every khugepaged
 * pass with the plan of a snapshot taken just before it, over many random
 * layouts and settings, with the data checked after every collapse; and
 * the same bytes of trace from the same run twice.
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

#include <mthp/engine.h>
#include <mthp/sim.h>

#include "helpers/sim_fx.h"
#include <mthp/snapshot.h>

#include "helpers/sim_stat.h"
#include "common/rng.h"
#include "helpers/ftrace_line.h"
#include "helpers/test_main.h"
#include "helpers/text_has.h"

#define PAGE 4096ull
#define NR 512u
#define PMD (NR * PAGE)
#define BASE (1ull << 30)
#define MAX_PMDS 16u
#define MAX_EVENTS 4096u

struct fx {
	struct sim *sim;
	struct sim_mm *mm;
	struct mthp_rng rng;
	uint64_t gen;
	uint64_t expect[MAX_PMDS * NR];	/* tag model of [BASE, +MAX_PMDS) */
	/* the observer's record */
	unsigned nr_events;
	struct sim_collapse_event events[MAX_EVENTS];
	unsigned data_errors;
};

static uint64_t rnd(struct fx *f)
{
	return mthp_rng_next(&f->rng);
}

static void knob(struct fx *f, const char *k, const char *v)
{
	assert_int_equal(sim_set_knob(f->sim, k, v), 0);
}

static void size_mode(struct fx *f, unsigned order, const char *mode)
{
	char name[64];

	snprintf(name, sizeof(name), "hugepages-%ukB/enabled", 4u << order);
	knob(f, name, mode);
}

/* Every size never, and the PMD size never too. */
static void sizes_off(struct fx *f)
{
	for (unsigned o = 2; o <= 9; o++)
		size_mode(f, o, "never");
}

/* The data check after every collapse: the window reads as the model. */
static void observe(void *ctx, const struct sim_collapse_event *ev)
{
	struct fx *f = ctx;

	if (f->nr_events < MAX_EVENTS)
		f->events[f->nr_events++] = *ev;
	if (ev->result != SCAN_SUCCEED || ev->addr < BASE ||
	    ev->addr >= BASE + MAX_PMDS * PMD)
		return;
	for (uint64_t k = 0; k < (1ull << ev->order); k++) {
		uint64_t a = ev->addr + k * PAGE;
		struct sim_page_info pi;

		if (sim_page_info(f->mm, a, &pi) ||
		    pi.tag != f->expect[(a - BASE) / PAGE])
			f->data_errors++;
	}
}

static void fx_init(struct fx *f, enum mthp_policy policy, uint64_t seed)
{
	static const char *const knobs[] = { "use_zero_page", "0",
					     "khugepaged/scan_sleep_millisecs", "10", NULL };
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 1u << 15,
					.nr_swap_slots = 8192, .seed = seed };
	struct sim_fx fx = sim_fx_make(&cfg, knobs);

	memset(f, 0, sizeof(*f));
	mthp_rng_seed(&f->rng, seed);
	f->sim = fx.sim;
	f->mm = fx.mm;
	assert_int_equal(sim_khugepaged_set_policy(f->sim, policy), 0);
	sim_set_collapse_observer(f->sim, observe, f);
}

static void fx_done(struct fx *f)
{
	struct sim_fx fx = { .sim = f->sim, .mm = f->mm };

	assert_int_equal(f->data_errors, 0);
	sim_fx_done(&fx, false);
}

static void write_pages(struct fx *f, uint64_t start, uint64_t nr)
{
	for (uint64_t a = start; a < start + nr * PAGE; a += PAGE) {
		uint64_t tag = (a << 8) | (++f->gen & 0xff) | 1;

		assert_int_equal(sim_write(f->mm, a, tag), 0);
		f->expect[(a - BASE) / PAGE] = tag;
	}
}

static unsigned order_at(struct fx *f, uint64_t addr)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(f->mm, addr, &pi), 0);
	return pi.huge ? 9 : pi.order;
}

static char state_at(struct fx *f, uint64_t addr)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(f->mm, addr, &pi), 0);
	return pi.state;
}

static void validate(struct fx *f, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end; a += PAGE) {
		struct sim_page_info pi;

		assert_int_equal(sim_page_info(f->mm, a, &pi), 0);
		if (pi.tag != f->expect[(a - BASE) / PAGE])
			fail_msg("page %llx: tag %llx, expected %llx",
				 (unsigned long long)a, (unsigned long long)pi.tag,
				 (unsigned long long)f->expect[(a - BASE) / PAGE]);
	}
}

static uint64_t pass(struct fx *f)
{
	uint64_t collapsed = 0;

	sim_khugepaged_enter(f->mm);
	assert_int_equal(sim_khugepaged_pass(f->sim, 1000, &collapsed), 0);
	return collapsed;
}

static uint64_t ms(struct fx *f, unsigned order, const char *name)
{
	return mthp_stat(f->sim, order, name);
}

/* ---- 7.2 mTHP cases ---- */

static void test_full_64k_blocks_max_ptes_none_0(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, MTHP_POLICY_UPSTREAM, 1);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE + 0 * 16 * PAGE, 16);	/* block 0 */
	write_pages(&f, BASE + 2 * 16 * PAGE, 16);	/* block 2 */
	write_pages(&f, BASE + 5 * 16 * PAGE, 16);	/* block 5 */
	write_pages(&f, BASE + 7 * 16 * PAGE, 15);	/* block 7, one short */
	assert_int_equal(order_at(&f, BASE), 0);
	/* mTHP only: the PMD size stays off */
	knob(&f, "khugepaged/max_ptes_none", "0");
	size_mode(&f, 4, "always");
	assert_int_equal(pass(&f), 3);
	assert_int_equal(order_at(&f, BASE), 4);
	assert_int_equal(order_at(&f, BASE + 2 * 16 * PAGE + 5 * PAGE), 4);
	assert_int_equal(order_at(&f, BASE + 5 * 16 * PAGE), 4);
	assert_int_equal(order_at(&f, BASE + 7 * 16 * PAGE), 0);
	assert_int_equal(ms(&f, 4, "collapse_alloc"), 3);
	assert_int_equal(vmstat(f.sim, "thp_collapse_alloc"), 0);
	assert_int_equal(khugepaged_stat(f.sim, "pages_collapsed"), 1);
	validate(&f, BASE, BASE + PMD);
	fx_done(&f);
}

static void test_511_single_page_largest_order(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, MTHP_POLICY_UPSTREAM, 2);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	sim_fx_map(f.mm, BASE, 2 * PMD);
	write_pages(&f, BASE + 3 * PAGE, 1);
	write_pages(&f, BASE + PMD + 300 * PAGE, 1);
	for (unsigned o = 2; o <= 8; o++)
		size_mode(&f, o, "always");
	knob(&f, "khugepaged/max_ptes_none", "511");
	assert_int_equal(pass(&f), 2);
	/* the largest allowed order holding the page: 1 MiB */
	assert_int_equal(order_at(&f, BASE + 3 * PAGE), 8);
	assert_int_equal(order_at(&f, BASE + PMD + 300 * PAGE), 8);
	assert_int_equal(order_at(&f, BASE + 300 * PAGE), 0);	/* empty: nothing */
	assert_int_equal(ms(&f, 8, "collapse_alloc"), 2);
	validate(&f, BASE, BASE + 2 * PMD);
	/* with the PMD size on as well, the next single page goes to PMD */
	sim_fx_map(f.mm, BASE + 4 * PMD, PMD);
	write_pages(&f, BASE + 4 * PMD + 9 * PAGE, 1);
	size_mode(&f, 9, "always");
	assert_true(pass(&f) >= 1);
	assert_int_equal(order_at(&f, BASE + 4 * PMD), 9);
	validate(&f, BASE + 4 * PMD, BASE + 5 * PMD);
	fx_done(&f);
}

/* Were windows of these orders at addr refused with this result? */
static bool refused(struct fx *f, uint64_t addr, unsigned order, enum mthp_result r)
{
	for (unsigned i = 0; i < f->nr_events; i++)
		if (f->events[i].addr == addr && f->events[i].order == order &&
		    f->events[i].result == r)
			return true;
	return false;
}

static void test_swap_pte_vetoes_below_pmd(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, MTHP_POLICY_UPSTREAM, 3);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE, 300);
	assert_int_equal(sim_madvise(f.mm, BASE + 5 * PAGE, PAGE, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(state_at(&f, BASE + 5 * PAGE), 'w');
	for (unsigned o = 2; o <= 8; o++)
		size_mode(&f, o, "always");
	knob(&f, "khugepaged/max_ptes_none", "511");
	pass(&f);
	/* every window holding page 5 was refused, from 1 MiB down to 16K */
	for (unsigned o = 8; o >= 2; o--)
		assert_true(refused(&f, BASE, o, SCAN_EXCEED_SWAP_PTE) || o == 2);
	assert_true(refused(&f, BASE + 4 * PAGE, 2, SCAN_EXCEED_SWAP_PTE));
	assert_int_equal(state_at(&f, BASE + 5 * PAGE), 'w');	/* never swapped in */
	assert_true(ms(&f, 8, "collapse_exceed_swap_pte") >= 1);
	assert_int_equal(vmstat(f.sim, "thp_scan_exceed_swap_pte"), 0);
	/* the smaller windows around it collapsed */
	assert_int_equal(order_at(&f, BASE), 2);
	assert_int_equal(order_at(&f, BASE + 8 * PAGE), 3);
	assert_int_equal(order_at(&f, BASE + 128 * PAGE), 7);
	validate(&f, BASE, BASE + PMD);
	fx_done(&f);
}

static void test_shared_pte_vetoes_below_pmd(void **state)
{
	struct fx f;
	struct sim_mm *parent;

	(void)state;
	fx_init(&f, MTHP_POLICY_UPSTREAM, 4);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE, 64);
	/* the child keeps page 37 shared with the parent */
	parent = f.mm;
	assert_int_equal(sim_fork(parent, &f.mm), 0);
	write_pages(&f, BASE, 37);
	write_pages(&f, BASE + 38 * PAGE, 64 - 38);
	assert_int_equal(state_at(&f, BASE + 37 * PAGE), 'S');
	for (unsigned o = 2; o <= 6; o++)
		size_mode(&f, o, "always");
	knob(&f, "khugepaged/max_ptes_none", "0");
	pass(&f);
	/*
	 * 0:6 isolates pages 0..36 and fails at the shared page; it puts them
	 * back through the LRU add batch, which drains after 31 (36..6) and
	 * keeps 5..0, so every window over pages 0..5 fails on their
	 * reference count, until 8:3's new folio drains the batch.  32:5
	 * fails the same way and leaves 32..36 in the batch.
	 */
	assert_true(refused(&f, BASE, 6, SCAN_EXCEED_SHARED_PTE));
	assert_true(refused(&f, BASE, 5, SCAN_PAGE_COUNT));
	assert_true(refused(&f, BASE + 4 * PAGE, 2, SCAN_PAGE_COUNT));
	assert_true(refused(&f, BASE + 32 * PAGE, 5, SCAN_EXCEED_SHARED_PTE));
	assert_true(refused(&f, BASE + 36 * PAGE, 2, SCAN_PAGE_COUNT));
	assert_int_equal(ms(&f, 6, "collapse_exceed_shared_pte"), 1);
	assert_int_equal(ms(&f, 5, "collapse_exceed_shared_pte"), 1);
	assert_int_equal(order_at(&f, BASE), 0);
	assert_int_equal(order_at(&f, BASE + 8 * PAGE), 3);
	assert_int_equal(order_at(&f, BASE + 16 * PAGE), 4);
	assert_int_equal(order_at(&f, BASE + 32 * PAGE), 0);
	assert_int_equal(order_at(&f, BASE + 37 * PAGE), 0);
	assert_int_equal(order_at(&f, BASE + 40 * PAGE), 3);
	assert_int_equal(order_at(&f, BASE + 48 * PAGE), 4);
	validate(&f, BASE, BASE + 64 * PAGE);
	sim_exit(parent);
	fx_done(&f);
}

static void test_existing_mthps_not_rebuilt_smaller(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, MTHP_POLICY_UPSTREAM, 5);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	size_mode(&f, 4, "always");
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE, 128);	/* faults give 64K folios */
	assert_int_equal(order_at(&f, BASE), 4);
	size_mode(&f, 4, "never");
	size_mode(&f, 2, "always");
	size_mode(&f, 3, "always");
	knob(&f, "khugepaged/max_ptes_none", "511");
	assert_int_equal(pass(&f), 0);
	assert_true(refused(&f, BASE, 3, SCAN_PTE_MAPPED_HUGEPAGE));
	/* the folio is allocated before the veto is known, and freed */
	assert_true(ms(&f, 3, "collapse_alloc") > 0);
	assert_int_equal(ms(&f, 2, "nr_anon") + ms(&f, 3, "nr_anon"), 0);
	assert_int_equal(order_at(&f, BASE + 64 * PAGE), 4);
	validate(&f, BASE, BASE + PMD);
	fx_done(&f);
}

static void test_alloc_failure_falls_back(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, MTHP_POLICY_UPSTREAM, 6);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE, 256);
	for (unsigned o = 2; o <= 9; o++)
		size_mode(&f, o, "always");
	knob(&f, "khugepaged/max_ptes_none", "0");
	assert_true(sim_fragment(f.sim, 5) > 0);	/* no free block above 64K */
	pass(&f);
	assert_int_equal(ms(&f, 8, "collapse_alloc_failed"), 1);
	assert_int_equal(ms(&f, 7, "collapse_alloc_failed"), 2);
	assert_int_equal(ms(&f, 5, "collapse_alloc_failed"), 8);
	assert_int_equal(ms(&f, 4, "collapse_alloc"), 16);
	assert_int_equal(vmstat(f.sim, "thp_collapse_alloc_failed"), 0);
	assert_int_equal(order_at(&f, BASE + 200 * PAGE), 4);
	validate(&f, BASE, BASE + PMD);
	sim_unfragment(f.sim);
	fx_done(&f);
}

/* ---- creep ---- */

static unsigned creep_run(enum mthp_policy policy, unsigned passes)
{
	struct fx f;
	unsigned order;

	fx_init(&f, policy, 7);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	for (unsigned o = 6; o <= 9; o++)
		size_mode(&f, o, "madvise");
	knob(&f, "khugepaged/max_ptes_none", "384");
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE, 16);	/* not advised yet: order 0 */
	assert_int_equal(sim_madvise(f.mm, BASE, PMD, SIM_MADV_HUGEPAGE), 0);
	for (unsigned p = 0; p < passes; p++) {
		pass(&f);
		if (policy == MTHP_POLICY_SEED && p < 3)
			assert_int_equal(order_at(&f, BASE), p == 0 ? 6 : p == 1 ? 8 : 9);
	}
	order = order_at(&f, BASE);
	validate(&f, BASE, BASE + PMD);
	fx_done(&f);
	return order;
}

static void test_creep_seed_grows_to_pmd(void **state)
{
	(void)state;
	assert_int_equal(creep_run(MTHP_POLICY_SEED, 3), 9);
}

static void test_creep_upstream_never(void **state)
{
	(void)state;
	assert_int_equal(creep_run(MTHP_POLICY_UPSTREAM, 6), 0);
}

/* ---- agreement with the plan, and data ---- */

struct plan_ctx {
	unsigned nr;
	struct { uint64_t addr; unsigned order; } c[MAX_EVENTS];
};

static void collect_plan(void *ctx, const struct mthp_snapshot *snap,
			 const struct mthp_snapshot_pmd *pmd,
			 const struct mthp_pmd_plan *plan)
{
	struct plan_ctx *pc = ctx;

	(void)snap;
	for (uint32_t i = 0; i < plan->nr_collapses && pc->nr < MAX_EVENTS; i++) {
		pc->c[pc->nr].addr = pmd->addr + plan->collapses[i].offset * PAGE;
		pc->c[pc->nr].order = plan->collapses[i].order;
		pc->nr++;
	}
}

static const char *const modes[] = { "never", "always", "madvise", "inherit" };

/* Random sizes and limits. */
static void random_settings(struct fx *f)
{
	static const char *const nones[] = { "0", "511", "511", "255", "384", "64" };
	char buf[16];

	knob(f, "enabled", modes[rnd(f) % 3]);
	for (unsigned o = 2; o <= 9; o++)
		size_mode(f, o, modes[rnd(f) % 4]);
	knob(f, "khugepaged/max_ptes_none", nones[rnd(f) % 6]);
	snprintf(buf, sizeof(buf), "%u", (unsigned)(rnd(f) % 128));
	knob(f, "khugepaged/max_ptes_swap", buf);
	snprintf(buf, sizeof(buf), "%u", (unsigned)(rnd(f) % 512));
	knob(f, "khugepaged/max_ptes_shared", buf);
	/*
	 * The whole process in one wake-up, as the plan takes a snapshot:
	 * each wake-up drains the LRU add batch, whose count otherwise goes
	 * on from range to range.
	 */
	knob(f, "khugepaged/pages_to_scan", "65536");
}

/* One PMD range filled with one of a few patterns. */
static void random_range(struct fx *f, uint64_t pmd_addr)
{
	unsigned kind = rnd(f) % 7;

	switch (kind) {
	case 0:		/* empty */
		break;
	case 1:		/* dense */
		write_pages(f, pmd_addr, NR);
		break;
	case 2:		/* sparse */
		for (unsigned n = rnd(f) % 40; n; n--)
			write_pages(f, pmd_addr + (rnd(f) % NR) * PAGE, 1);
		break;
	default:	/* blocks of random sizes */
		for (unsigned n = 1 + rnd(f) % 12; n; n--) {
			unsigned order = rnd(f) % 7, len = 1u << order;
			unsigned off = (unsigned)(rnd(f) % NR) & ~(len - 1);

			write_pages(f, pmd_addr + off * PAGE, len - (rnd(f) % 4 == 0));
		}
		break;
	}
	if (rnd(f) % 4 == 0) {
		uint64_t off = rnd(f) % NR;

		sim_madvise(f->mm, pmd_addr + off * PAGE, (1 + rnd(f) % 8) * PAGE,
			    SIM_MADV_PAGEOUT);
	}
	if (rnd(f) % 5 == 0) {
		uint64_t off = rnd(f) % (NR - 16), len = 1 + rnd(f) % 16;

		assert_int_equal(sim_madvise(f->mm, pmd_addr + off * PAGE, len * PAGE,
					     SIM_MADV_DONTNEED), 0);
		for (uint64_t k = 0; k < len; k++)
			f->expect[(pmd_addr - BASE) / PAGE + off + k] = 0;
	}
	if (rnd(f) % 8 == 0)
		sim_pin(f->mm, pmd_addr + (rnd(f) % NR) * PAGE);
}

static void agreement_run(uint64_t seed)
{
	enum mthp_policy policy = (enum mthp_policy)(seed % MTHP_NR_POLICIES);
	struct plan_ctx *pc = calloc(1, sizeof(*pc));
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct fx *f = calloc(1, sizeof(*f));
	unsigned nr_done = 0;

	assert_non_null(pc);
	assert_non_null(f);
	fx_init(f, policy, seed);
	/* fault-time sizes: sometimes mTHPs come from faults */
	knob(f, "enabled", "never");
	sizes_off(f);
	if (seed % 3 == 0)
		size_mode(f, 2 + (unsigned)(rnd(f) % 4), "always");
	sim_fx_map(f->mm, BASE, 6 * PMD);
	sim_fx_map(f->mm, BASE + 7 * PMD, 3 * PMD + 5 * PAGE);
	for (unsigned i = 0; i < 10; i++)
		if (i != 6)
			random_range(f, BASE + i * PMD);
	if (rnd(f) % 2)
		sim_age(f->mm);
	for (unsigned n = rnd(f) % 64; n; n--)
		write_pages(f, BASE + (rnd(f) % (6 * NR)) * PAGE, 1);
	if (rnd(f) % 3 == 0)
		assert_int_equal(sim_madvise(f->mm, BASE, 3 * PMD, SIM_MADV_HUGEPAGE), 0);
	if (rnd(f) % 4 == 0)
		assert_int_equal(sim_uffd_register(f->mm, BASE + 7 * PMD, PMD,
						   SIM_UFFD_MISSING), 0);
	random_settings(f);

	/* the plan of a snapshot taken just before the pass */
	assert_int_equal(sim_mm_snapshot(f->mm, &snap), 0);
	assert_int_equal(mthp_snapshot_settings(&snap, &s, "sim", NULL), 0);
	assert_int_equal(mthp_snapshot_plan(&snap, &s, policy,
					    MTHP_CONTEXT_KHUGEPAGED, collect_plan, pc), 0);
	mthp_snapshot_free(&snap);

	f->nr_events = 0;
	pass(f);
	for (unsigned i = 0; i < f->nr_events; i++) {
		const struct sim_collapse_event *ev = &f->events[i];

		if (ev->result != SCAN_SUCCEED)
			continue;
		if (nr_done >= pc->nr || pc->c[nr_done].addr != ev->addr ||
		    pc->c[nr_done].order != ev->order)
			fail_msg("seed %llu (%s): collapse %u at %llx order %u, plan says "
				 "%llx order %u", (unsigned long long)seed,
				 mthp_policy_name(policy), nr_done,
				 (unsigned long long)ev->addr, ev->order,
				 nr_done < pc->nr ? (unsigned long long)pc->c[nr_done].addr : 0ull,
				 nr_done < pc->nr ? pc->c[nr_done].order : 0);
		nr_done++;
	}
	if (nr_done != pc->nr)
		fail_msg("seed %llu (%s): %u collapses, plan says %u",
			 (unsigned long long)seed, mthp_policy_name(policy), nr_done, pc->nr);
	validate(f, BASE, BASE + 6 * PMD);
	validate(f, BASE + 7 * PMD, BASE + 10 * PMD);
	fx_done(f);
	free(f);
	free(pc);
}

static void test_agreement_with_plan(void **state)
{
	const char *env = getenv("MTHP_AGREEMENT_RUNS");
	unsigned runs = env ? (unsigned)atoi(env) : 150;

	(void)state;
	for (uint64_t seed = 1; seed <= runs; seed++)
		agreement_run(seed);
}

/* ---- determinism and the trace ---- */

static char *traced_run(size_t *len)
{
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(mem);
	assert_non_null(f);
	fx_init(f, MTHP_POLICY_UPSTREAM, 11);
	knob(f, "enabled", "never");
	sizes_off(f);
	sim_fx_map(f->mm, BASE, 4 * PMD);
	write_pages(f, BASE, 300);
	write_pages(f, BASE + PMD + 64 * PAGE, 16);
	write_pages(f, BASE + 2 * PMD, NR);
	assert_int_equal(sim_madvise(f->mm, BASE + 7 * PAGE, PAGE, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(sim_madvise(f->mm, BASE + 2 * PMD, PAGE, SIM_MADV_PAGEOUT), 0);
	for (unsigned o = 2; o <= 9; o++)
		size_mode(f, o, "always");
	sim_set_trace(f->sim, mem);
	pass(f);
	pass(f);
	sim_set_trace(f->sim, NULL);
	fclose(mem);
	fx_done(f);
	free(f);
	return buf;
}

static void test_deterministic_trace(void **state)
{
	size_t len1, len2;
	char *a = traced_run(&len1), *b = traced_run(&len2);

	(void)state;
	assert_true(len1 > 0);
	assert_int_equal(len1, len2);
	assert_memory_equal(a, b, len1);
	assert_text_has(a,
			"mm_khugepaged_scan_pmd: mm=",
			"mm_collapse_huge_page: mm=",
			"mm_collapse_huge_page_isolate: scan_pfn=",
			"mm_collapse_huge_page_swapin: mm=",
			"status=succeeded, order=9",
			"ret=1, order=9",
			NULL);
	if (getenv("MTHP_SHOW_TRACE"))
		fputs(a, stdout);
	/* every line is an ftrace line with 7.2's fields */
	for (char *save = NULL, *line = strtok_r(a, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct ftrace_line l;

		if (!ftrace_line_parse(line, &l))
			fail_msg("not an ftrace line: '%s'", line);
		assert_huge_memory_fields(&l);
	}
	free(a);
	free(b);
}

#define MAX_LINES 256u

/* One khugepaged pass with the trace on, its lines read as ftrace's. */
static unsigned traced_pass(struct fx *f, struct ftrace_line *lines)
{
	char *buf = NULL, *save = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	unsigned n = 0;

	assert_non_null(mem);
	sim_set_trace(f->sim, mem);
	pass(f);
	sim_set_trace(f->sim, NULL);
	fclose(mem);
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_true(n < MAX_LINES);
		if (!ftrace_line_parse(line, &lines[n]))
			fail_msg("not an ftrace line: '%s'", line);
		assert_string_equal(lines[n].task, "khugepaged");
		assert_int_equal(lines[n].pid, SIM_TRACE_KHUGEPAGED_PID);
		assert_huge_memory_fields(&lines[n]);
		n++;
	}
	free(buf);
	return n;
}

static bool is_event(const struct ftrace_line *l, const char *event)
{
	return !strcmp(l->event, event);
}

static void assert_status(const struct ftrace_line *l, const char *want)
{
	char status[64];

	ftrace_field_text(l, "status", status, sizeof(status));
	if (strcmp(status, want))
		fail_msg("%s: status=%s, expected %s", l->event, status, want);
}

/*
 * The mm_khugepaged_scan lines that end a traced pass of one PMD range:
 * the turn that scanned it ends after it (its collapse attempts dropped
 * mmap_lock), with the progress 7.2 counts, 1 for the mm and the 512 PTEs
 * its scan looked at; the pass ends with a turn that finds nothing more
 * (full_scan_finished=1).  Returns the number of lines before them.
 */
static unsigned before_turn_ends(const struct ftrace_line *lines, unsigned n)
{
	assert_true(n >= 3);
	assert_true(is_event(&lines[n - 1], "mm_khugepaged_scan"));
	assert_int_equal(ftrace_field(&lines[n - 1], "full_scan_finished"), 1);
	assert_true(is_event(&lines[n - 2], "mm_khugepaged_scan"));
	assert_int_equal(ftrace_field(&lines[n - 2], "progress"), 1 + NR);
	assert_int_equal(ftrace_field(&lines[n - 2], "full_scan_finished"), 0);
	return n - 2;
}

/*
 * The folio-order veto (7.2): each window of 64K folios is refused at its
 * first page, and the line names that folio, not -1.  mm_khugepaged_scan_pmd
 * comes last, with the range's result: no window collapsed, and a veto is
 * no failure of the range, so "failed".
 */
static void test_trace_veto_and_scan_result(void **state)
{
	static struct ftrace_line lines[MAX_LINES];
	unsigned n, vetoes = 0;
	uint64_t heads[8];
	struct fx f;

	(void)state;
	fx_init(&f, MTHP_POLICY_UPSTREAM, 5);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	size_mode(&f, 4, "always");
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE, 128);	/* eight 64K folios */
	for (unsigned k = 0; k < 8; k++) {
		struct sim_page_info pi;

		assert_int_equal(sim_page_info(f.mm, BASE + 16 * k * PAGE, &pi), 0);
		assert_int_equal(pi.order, 4);
		heads[k] = pi.pfn;
	}
	size_mode(&f, 4, "never");
	size_mode(&f, 3, "always");
	knob(&f, "khugepaged/max_ptes_none", "511");
	n = traced_pass(&f, lines);
	assert_true(n >= 4);
	n = before_turn_ends(lines, n);
	for (unsigned i = 0; i + 1 < n; i++) {
		bool head = false;

		assert_false(is_event(&lines[i], "mm_khugepaged_scan_pmd"));
		if (!is_event(&lines[i], "mm_collapse_huge_page_isolate"))
			continue;
		assert_status(&lines[i], "pte_mapped_hugepage");
		assert_int_equal(ftrace_field(&lines[i], "order"), 3);
		/* stopped at the window's first page: nothing counted yet */
		assert_int_equal(ftrace_field(&lines[i], "none_or_zero"), 0);
		assert_int_equal(ftrace_field(&lines[i], "referenced"), 0);
		for (unsigned k = 0; k < 8; k++)
			head |= ftrace_field(&lines[i], "scan_pfn") == heads[k];
		if (!head)
			fail_msg("veto names pfn %#llx, not a 64K folio's head",
				 ftrace_field(&lines[i], "scan_pfn"));
		vetoes++;
	}
	assert_int_equal(vetoes, 16);	/* two 32K windows per 64K folio */
	assert_true(is_event(&lines[n - 1], "mm_khugepaged_scan_pmd"));
	assert_status(&lines[n - 1], "failed");
	assert_int_equal(ftrace_field(&lines[n - 1], "scan_pfn"), heads[7]);
	assert_int_equal(ftrace_field(&lines[n - 1], "none_or_zero"), NR - 128);
	fx_done(&f);
}

/*
 * A swap PTE below the PMD order: the swap-in step fails with
 * SCAN_EXCEED_SWAP_PTE, traced as its value (ret=5) with the order and
 * the range's referenced count; the range's line comes after its
 * collapses with status=succeeded.
 */
static void test_trace_swapin_and_success(void **state)
{
	static struct ftrace_line lines[MAX_LINES];
	unsigned n, swapins = 0, collapses = 0;
	struct fx f;

	(void)state;
	fx_init(&f, MTHP_POLICY_UPSTREAM, 3);
	knob(&f, "enabled", "never");
	sizes_off(&f);
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE, 300);
	assert_int_equal(sim_madvise(f.mm, BASE + 5 * PAGE, PAGE, SIM_MADV_PAGEOUT), 0);
	for (unsigned o = 2; o <= 8; o++)
		size_mode(&f, o, "always");
	knob(&f, "khugepaged/max_ptes_none", "511");
	n = traced_pass(&f, lines);
	assert_true(n >= 4);
	n = before_turn_ends(lines, n);
	assert_true(is_event(&lines[n - 1], "mm_khugepaged_scan_pmd"));
	assert_status(&lines[n - 1], "succeeded");
	assert_int_equal(ftrace_field(&lines[n - 1], "unmapped"), 1);
	for (unsigned i = 0; i + 1 < n; i++) {
		assert_false(is_event(&lines[i], "mm_khugepaged_scan_pmd"));
		if (is_event(&lines[i], "mm_collapse_huge_page") &&
		    ftrace_field(&lines[i], "isolated") == 1)
			collapses++;
		if (!is_event(&lines[i], "mm_collapse_huge_page_swapin"))
			continue;
		assert_int_equal(ftrace_field(&lines[i], "referenced"),
				 ftrace_field(&lines[n - 1], "referenced"));
		if (ftrace_field(&lines[i], "ret") == SCAN_EXCEED_SWAP_PTE) {
			assert_int_equal(ftrace_field(&lines[i], "swapped_in"), 0);
			swapins++;
		} else {
			assert_int_equal(ftrace_field(&lines[i], "ret"), SCAN_SUCCEED);
		}
	}
	/* the windows holding page 5, from 1M down to 32K, and one of 16K */
	assert_int_equal(swapins, 7);
	assert_true(collapses > 0);
	fx_done(&f);
}

/* Under MADV_COLLAPSE the lines are the process's, not khugepaged's. */
static void test_trace_madvise_collapse_task(void **state)
{
	char *buf = NULL, *save = NULL, task[32];
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	unsigned n = 0;
	struct fx f;

	(void)state;
	assert_non_null(mem);
	fx_init(&f, MTHP_POLICY_UPSTREAM, 7);
	knob(&f, "enabled", "never");
	sim_fx_map(f.mm, BASE, PMD);
	write_pages(&f, BASE, NR);
	sim_set_trace(f.sim, mem);
	assert_int_equal(sim_madvise_collapse(f.mm, BASE, PMD), 0);
	sim_set_trace(f.sim, NULL);
	fclose(mem);
	snprintf(task, sizeof(task), "mthp-mm%u", sim_mm_id(f.mm));
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct ftrace_line l;

		if (!ftrace_line_parse(line, &l))
			fail_msg("not an ftrace line: '%s'", line);
		assert_string_equal(l.task, task);
		assert_int_equal(l.pid, SIM_TRACE_PID_BASE + sim_mm_id(f.mm));
		assert_huge_memory_fields(&l);
		n++;
	}
	/* isolate, collapse, scan_pmd */
	assert_int_equal(n, 3);
	assert_int_equal(order_at(&f, BASE), 9);
	free(buf);
	fx_done(&f);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_full_64k_blocks_max_ptes_none_0),
	cmocka_unit_test(test_511_single_page_largest_order),
	cmocka_unit_test(test_swap_pte_vetoes_below_pmd),
	cmocka_unit_test(test_shared_pte_vetoes_below_pmd),
	cmocka_unit_test(test_existing_mthps_not_rebuilt_smaller),
	cmocka_unit_test(test_alloc_failure_falls_back),
	cmocka_unit_test(test_creep_seed_grows_to_pmd),
	cmocka_unit_test(test_creep_upstream_never),
	cmocka_unit_test(test_agreement_with_plan),
	cmocka_unit_test(test_deterministic_trace),
	cmocka_unit_test(test_trace_veto_and_scan_result),
	cmocka_unit_test(test_trace_swapin_and_success),
	cmocka_unit_test(test_trace_madvise_collapse_task),
)
