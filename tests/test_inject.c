// SPDX-License-Identifier: MIT
/*
 * test_inject.c - every failure path of the collapse, driven by fault
 * injection: allocation, memcg charge, revalidation after the lock was
 * dropped, LRU isolation and a copy error (SCAN_COPY_MC), each at PMD
 * order (khugepaged and MADV_COLLAPSE) and at an mTHP order (khugepaged,
 * upstream policy); and the racing munmap, mremap and fork between the
 * scan and the collapse.  After each: the attempts ended with the
 * expected SCAN_* result, the counters moved as the kernel's would,
 * sim_check() is clean, the mapping is the one snapshotted before (same
 * PTE states, folio orders and frames) and every content tag is the same.
 * Then, with injection off, the same collapse succeeds with the tags
 * intact.
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

#include "helpers/sim_stat.h"
#include "helpers/sim_fx.h"
#include "helpers/test_main.h"

#define PAGE 4096ull
#define NR 512u
#define PMD (NR * PAGE)
#define BASE (1ull << 30)
#define MAX_EVENTS 1024u

/* How the collapse is driven. */
enum drive { DRIVE_KHUGEPAGED_PMD, DRIVE_KHUGEPAGED_MTHP, DRIVE_MADVISE };

struct fx {
	struct sim *sim;
	struct sim_mm *mm;
	enum drive drive;
	unsigned nr_pages;		/* populated at the start of the range */
	struct sim_page_info before[NR];
	unsigned nr_events;
	struct sim_collapse_event events[MAX_EVENTS];
};

static void observe(void *ctx, const struct sim_collapse_event *ev)
{
	struct fx *f = ctx;

	if (f->nr_events < MAX_EVENTS)
		f->events[f->nr_events++] = *ev;
}

static uint64_t tag_of(unsigned i)
{
	return 0x7a6000000ull + i;
}

/*
 * A PMD range with nr_pages order-0 pages at its start, each with its own
 * tag; khugepaged's mm slot; the observer on.
 */
static struct fx *fx_new(enum drive drive)
{
	/* faults take order 0: every size is off until the pages are in */
	static const char *const knobs[] = { "enabled", "never", NULL };
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 1u << 14,
					.nr_swap_slots = 1u << 10, .seed = 7 };
	struct fx *f = calloc(1, sizeof(*f));
	struct sim_fx fx = sim_fx_make(&cfg, knobs);

	assert_non_null(f);
	f->drive = drive;
	f->sim = fx.sim;
	f->mm = fx.mm;
	sim_fx_map(f->mm, BASE, 2 * PMD);
	f->nr_pages = drive == DRIVE_KHUGEPAGED_MTHP ? 16 : NR;
	for (unsigned i = 0; i < f->nr_pages; i++)
		assert_int_equal(sim_write(f->mm, BASE + i * PAGE, tag_of(i)), 0);
	switch (drive) {
	case DRIVE_KHUGEPAGED_PMD:
	case DRIVE_MADVISE:
		assert_int_equal(sim_set_knob(f->sim, "hugepages-2048kB/enabled", "always"), 0);
		assert_int_equal(sim_khugepaged_set_policy(f->sim, MTHP_POLICY_LEGACY), 0);
		break;
	case DRIVE_KHUGEPAGED_MTHP:
		/* only 64K: the 16 pages make one full order-4 window */
		assert_int_equal(sim_set_knob(f->sim, "hugepages-64kB/enabled", "always"), 0);
		assert_int_equal(sim_set_knob(f->sim, "khugepaged/max_ptes_none", "0"), 0);
		assert_int_equal(sim_khugepaged_set_policy(f->sim, MTHP_POLICY_UPSTREAM), 0);
		break;
	}
	if (drive != DRIVE_MADVISE)
		sim_khugepaged_enter(f->mm);
	sim_set_collapse_observer(f->sim, observe, f);
	for (unsigned i = 0; i < NR; i++)
		assert_int_equal(sim_page_info(f->mm, BASE + i * PAGE, &f->before[i]), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	sim_set_collapse_observer(f->sim, NULL, NULL);
	sim_exit(f->mm);
	assert_int_equal(sim_check(f->sim), 0);
	sim_destroy(f->sim);
	free(f);
}

/* One collapse attempt of the range; returns MADV_COLLAPSE's errno or 0. */
static int collapse(struct fx *f)
{
	uint64_t collapsed = 0;

	f->nr_events = 0;
	if (f->drive == DRIVE_MADVISE)
		return sim_madvise_collapse(f->mm, BASE, PMD);
	assert_int_equal(sim_khugepaged_pass(f->sim, 0, &collapsed), 0);
	return 0;
}

/*
 * One collapse with the race at point injected at every draw: one event,
 * and the race run fired times: once before the allocation, and once
 * more between the read unlock and the write lock when the revalidation
 * under the read lock passed after the first.
 */
static void collapse_racing(struct fx *f, enum sim_inject_point point, uint64_t fired)
{
	assert_int_equal(sim_inject_set(f->sim, point, 1), 0);
	collapse(f);
	assert_int_equal(sim_inject_set(f->sim, point, 0), 0);
	assert_int_equal(sim_inject_fired(f->sim, point), fired);
	assert_int_equal(f->nr_events, 1);
}

static void assert_clean(struct fx *f)
{
	if (sim_check(f->sim))
		fail_msg("sim_check: %s", sim_check_message(f->sim));
}

/* The mapping and the content are what they were before. */
static void assert_intact(struct fx *f)
{
	for (unsigned i = 0; i < NR; i++) {
		struct sim_page_info now;
		const struct sim_page_info *was = &f->before[i];

		assert_int_equal(sim_page_info(f->mm, BASE + i * PAGE, &now), 0);
		if (now.state != was->state || now.order != was->order ||
		    now.huge != was->huge || now.tag != was->tag ||
		    (was->state != '.' && now.pfn != was->pfn))
			fail_msg("page %u changed: state %c/%c order %u/%u tag %llx/%llx "
				 "pfn %llx/%llx", i, was->state, now.state, was->order,
				 now.order, (unsigned long long)was->tag,
				 (unsigned long long)now.tag, (unsigned long long)was->pfn,
				 (unsigned long long)now.pfn);
	}
}

/* The content tags only (after a mutation that moved the pages). */
static void assert_tags(struct fx *f)
{
	for (unsigned i = 0; i < NR; i++) {
		uint64_t tag = 1;

		assert_int_equal(sim_read(f->mm, BASE + i * PAGE, &tag), 0);
		assert_int_equal(tag, i < f->nr_pages ? tag_of(i) : 0);
	}
}

/* Every attempt ended with result, and there was at least one. */
static void assert_results(struct fx *f, enum mthp_result result)
{
	assert_true(f->nr_events > 0);
	for (unsigned k = 0; k < f->nr_events; k++)
		if (f->events[k].result != result)
			fail_msg("attempt %u (order %u): %s, expected %s", k,
				 f->events[k].order,
				 mthp_result_name(f->events[k].result),
				 mthp_result_name(result));
}

static unsigned target_order(const struct fx *f)
{
	return f->drive == DRIVE_KHUGEPAGED_MTHP ? 4 : 9;
}

/* With injection off, the collapse succeeds and keeps every tag. */
static void assert_recovers(struct fx *f)
{
	int err;

	for (unsigned p = 0; p < SIM_NR_INJECT; p++)
		assert_int_equal(sim_inject_set(f->sim, (enum sim_inject_point)p, 0), 0);
	err = collapse(f);
	assert_int_equal(err, 0);
	assert_results(f, SCAN_SUCCEED);
	assert_clean(f);
	assert_tags(f);
	{
		struct sim_page_info info;

		assert_int_equal(sim_page_info(f->mm, BASE, &info), 0);
		assert_int_equal(info.order, target_order(f));
	}
}

/* Inject p at every draw, collapse, and check the failure path ran clean. */
static void run_point(enum drive drive, enum sim_inject_point p,
		      enum mthp_result expect, int expect_errno)
{
	struct fx *f = fx_new(drive);
	unsigned order = target_order(f);
	uint64_t alloc0 = mthp_stat(f->sim, order, "collapse_alloc");
	uint64_t failed0 = mthp_stat(f->sim, order, "collapse_alloc_failed");
	uint64_t anon0 = mthp_stat(f->sim, order, "nr_anon");
	uint64_t vm_failed0 = vmstat(f->sim, "thp_collapse_alloc_failed");
	uint64_t collapsed0 = khugepaged_stat(f->sim, "pages_collapsed");
	uint64_t free0 = sim_free_pages(f->sim);
	int err;

	assert_int_equal(sim_inject_set(f->sim, p, 1), 0);
	err = collapse(f);
	assert_int_equal(err, expect_errno);
	assert_results(f, expect);
	assert_true(sim_inject_fired(f->sim, p) >= f->nr_events);
	assert_clean(f);
	assert_intact(f);
	/* counters: the allocation is counted when it was made */
	if (p == SIM_INJECT_ALLOC) {
		assert_int_equal(mthp_stat(f->sim, order, "collapse_alloc"), alloc0);
		assert_int_equal(mthp_stat(f->sim, order, "collapse_alloc_failed"),
				 failed0 + f->nr_events);
		assert_int_equal(vmstat(f->sim, "thp_collapse_alloc_failed"),
				 vm_failed0 + (order == 9 ? f->nr_events : 0));
	} else {
		assert_int_equal(mthp_stat(f->sim, order, "collapse_alloc"),
				 alloc0 + f->nr_events);
		assert_int_equal(mthp_stat(f->sim, order, "collapse_alloc_failed"),
				 failed0);
	}
	/* the new folio went back: no folio of the order, no frame lost */
	assert_int_equal(mthp_stat(f->sim, order, "nr_anon"), anon0);
	assert_int_equal(sim_free_pages(f->sim), free0);
	assert_int_equal(khugepaged_stat(f->sim, "pages_collapsed"), collapsed0);
	assert_recovers(f);
	fx_free(f);
}

#define POINT_TESTS(name, point, result, madv_errno)				\
static void test_##name##_pmd(void **state)					\
{										\
	(void)state;								\
	run_point(DRIVE_KHUGEPAGED_PMD, point, result, 0);			\
}										\
static void test_##name##_mthp(void **state)					\
{										\
	(void)state;								\
	run_point(DRIVE_KHUGEPAGED_MTHP, point, result, 0);			\
}										\
static void test_##name##_madvise(void **state)				\
{										\
	(void)state;								\
	run_point(DRIVE_MADVISE, point, result, madv_errno);			\
}

POINT_TESTS(alloc_fails, SIM_INJECT_ALLOC, SCAN_ALLOC_HUGE_PAGE_FAIL, -ENOMEM)
POINT_TESTS(charge_fails, SIM_INJECT_CHARGE, SCAN_CGROUP_CHARGE_FAIL, -EBUSY)
POINT_TESTS(revalidate_fails, SIM_INJECT_REVALIDATE, SCAN_VMA_CHECK, -EINVAL)
POINT_TESTS(lru_isolation_fails, SIM_INJECT_LRU, SCAN_DEL_PAGE_LRU, -EAGAIN)
POINT_TESTS(copy_machine_check, SIM_INJECT_COPY_MC, SCAN_COPY_MC, -EINVAL)

/* A rate of one in n fires about once in n draws, the same for one seed. */
static void test_rate_is_seeded(void **state)
{
	uint64_t fired[2];

	(void)state;
	for (unsigned run = 0; run < 2; run++) {
		struct fx *f = fx_new(DRIVE_MADVISE);

		sim_inject_seed(f->sim, 42);
		assert_int_equal(sim_inject_set(f->sim, SIM_INJECT_LRU, 4), 0);
		/* one draw per folio isolated: 512 order-0 folios per attempt */
		for (unsigned k = 0; k < 8; k++) {
			collapse(f);
			if (f->nr_events && f->events[0].result == SCAN_SUCCEED)
				break;
		}
		fired[run] = sim_inject_fired(f->sim, SIM_INJECT_LRU);
		assert_true(fired[run] > 0);
		assert_clean(f);
		assert_tags(f);
		fx_free(f);
	}
	assert_int_equal(fired[0], fired[1]);
	assert_int_equal(sim_inject_set(NULL, SIM_NR_INJECT, 1), -EINVAL);
	assert_null(sim_inject_name(SIM_NR_INJECT));
	assert_string_equal(sim_inject_name(SIM_INJECT_COPY_MC), "copy_mc");
	assert_string_equal(sim_inject_name(SIM_INJECT_SWAPIN), "swapin");
}

/* munmap between scan and collapse: the collapse finds the VMA gone. */
static void test_race_munmap(void **state)
{
	struct fx *f = fx_new(DRIVE_KHUGEPAGED_PMD);
	uint64_t tag;

	(void)state;
	collapse_racing(f, SIM_INJECT_MUNMAP, 1);	/* VMA_NULL under the read lock */
	assert_results(f, SCAN_VMA_NULL);
	assert_clean(f);
	assert_int_equal(sim_read(f->mm, BASE, &tag), -EFAULT);
	assert_int_equal(mthp_stat(f->sim, 9, "nr_anon"), 0);
	fx_free(f);
}

/* mremap away and back: the collapse meets the moved table, data intact. */
static void test_race_mremap(void **state)
{
	struct fx *f = fx_new(DRIVE_KHUGEPAGED_PMD);
	struct sim_page_info info;

	(void)state;
	collapse_racing(f, SIM_INJECT_MREMAP, 2);
	assert_clean(f);
	assert_tags(f);
	/* the range is whole again, so the collapse may go ahead */
	assert_int_equal(sim_page_info(f->mm, BASE, &info), 0);
	if (f->events[0].result == SCAN_SUCCEED) {
		assert_true(info.huge);
	} else {
		assert_false(info.huge);
		assert_recovers(f);
	}
	fx_free(f);
}

/* fork between scan and collapse: every page is shared meanwhile. */
static void test_race_fork(void **state)
{
	struct fx *f = fx_new(DRIVE_KHUGEPAGED_PMD);
	uint64_t shared0 = vmstat(f->sim, "thp_scan_exceed_share_pte");

	(void)state;
	collapse_racing(f, SIM_INJECT_FORK, 2);
	assert_results(f, SCAN_EXCEED_SHARED_PTE);
	assert_int_equal(vmstat(f->sim, "thp_scan_exceed_share_pte"), shared0 + 1);
	assert_clean(f);
	/* the child exited after the attempt: the pages are ours alone again */
	assert_intact(f);
	assert_recovers(f);
	fx_free(f);
}

/* A race function replaces the default and sees the PMD range. */
struct race_log {
	unsigned calls;
	uint64_t pmd_addr;
	enum sim_inject_point what;
};

static int log_race(void *ctx, struct sim_mm *mm, uint64_t pmd_addr,
		    enum sim_inject_point what, struct sim_mm **child)
{
	struct race_log *log = ctx;

	log->calls++;
	log->pmd_addr = pmd_addr;
	log->what = what;
	return sim_inject_race(mm, pmd_addr, what, child);
}

static void test_race_function(void **state)
{
	struct fx *f = fx_new(DRIVE_MADVISE);
	struct race_log log = { 0 };

	(void)state;
	sim_inject_set_race(f->sim, log_race, &log);
	assert_int_equal(sim_inject_set(f->sim, SIM_INJECT_FORK, 1), 0);
	collapse(f);
	/* before the allocation, and between the read unlock and the write lock */
	assert_int_equal(log.calls, 2);
	assert_int_equal(log.pmd_addr, BASE);
	assert_int_equal(log.what, SIM_INJECT_FORK);
	/* MADV_COLLAPSE has no shared limit: it copies the shared pages */
	assert_results(f, SCAN_SUCCEED);
	assert_clean(f);
	assert_tags(f);
	sim_inject_set_race(f->sim, NULL, NULL);
	fx_free(f);
}

/* Swap out pages [0, n) of the range: khugepaged swaps them in first. */
static void swap_out(struct fx *f, unsigned n)
{
	struct sim_page_info info;

	assert_int_equal(sim_madvise(f->mm, BASE, n * PAGE, SIM_MADV_PAGEOUT), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(sim_page_info(f->mm, BASE + i * PAGE, &info), 0);
		assert_int_equal(info.state, 'w');
	}
}

/*
 * A swap-in that must wait for its folio drops mmap_lock (do_swap_page's
 * VM_FAULT_RETRY): the collapse gives up with PAGE_LOCK and leaves the
 * swap entries; the next attempt, with no wait, swaps in and collapses.
 */
static void test_swapin_retry(void **state)
{
	struct fx *f = fx_new(DRIVE_KHUGEPAGED_PMD);
	struct sim_page_info info;

	(void)state;
	swap_out(f, 8);
	assert_int_equal(sim_inject_set(f->sim, SIM_INJECT_SWAPIN, 1), 0);
	collapse(f);
	assert_int_equal(sim_inject_fired(f->sim, SIM_INJECT_SWAPIN), 1);
	assert_results(f, SCAN_PAGE_LOCK);
	assert_clean(f);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(sim_page_info(f->mm, BASE + i * PAGE, &info), 0);
		assert_int_equal(info.state, 'w');
	}
	assert_recovers(f);
	fx_free(f);
}

/*
 * The range unmapped and mapped again (empty) while the swap-in waits
 * with mmap_lock dropped: the collapse must not go on with the VMA and
 * the PMD entry it found before (the simulator's check says so if it
 * does); it gives up with PAGE_LOCK, as Linux does.
 */
static int munmap_in_swapin_wait(void *ctx, struct sim_mm *mm, uint64_t pmd_addr,
				 enum sim_inject_point what, struct sim_mm **child)
{
	struct race_log *log = ctx;
	uint64_t a = pmd_addr;

	(void)what;
	*child = NULL;
	/* the first race point is before the allocation; the second, the wait */
	if (++log->calls != 2)
		return 0;
	log->pmd_addr = pmd_addr;
	assert_int_equal(sim_munmap(mm, pmd_addr, PMD), 0);
	return sim_mmap(mm, &a, PMD, SIM_PROT_RW, SIM_MAP_FIXED);
}

static void test_race_in_swapin_wait(void **state)
{
	struct fx *f = fx_new(DRIVE_KHUGEPAGED_PMD);
	struct race_log log = { 0 };
	uint64_t tag = 1;

	(void)state;
	swap_out(f, 8);
	sim_inject_set_race(f->sim, munmap_in_swapin_wait, &log);
	assert_int_equal(sim_inject_set(f->sim, SIM_INJECT_SWAPIN, 1), 0);
	assert_int_equal(sim_inject_set(f->sim, SIM_INJECT_MUNMAP, 1), 0);
	collapse(f);
	assert_int_equal(log.calls, 2);
	assert_int_equal(log.pmd_addr, BASE);
	assert_int_equal(f->nr_events, 1);
	assert_results(f, SCAN_PAGE_LOCK);
	assert_clean(f);
	assert_int_equal(sim_read(f->mm, BASE + PAGE, &tag), 0);
	assert_int_equal(tag, 0);	/* mapped again, empty */
	sim_inject_set_race(f->sim, NULL, NULL);
	fx_free(f);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_alloc_fails_pmd),
	cmocka_unit_test(test_alloc_fails_mthp),
	cmocka_unit_test(test_alloc_fails_madvise),
	cmocka_unit_test(test_charge_fails_pmd),
	cmocka_unit_test(test_charge_fails_mthp),
	cmocka_unit_test(test_charge_fails_madvise),
	cmocka_unit_test(test_revalidate_fails_pmd),
	cmocka_unit_test(test_revalidate_fails_mthp),
	cmocka_unit_test(test_revalidate_fails_madvise),
	cmocka_unit_test(test_lru_isolation_fails_pmd),
	cmocka_unit_test(test_lru_isolation_fails_mthp),
	cmocka_unit_test(test_lru_isolation_fails_madvise),
	cmocka_unit_test(test_copy_machine_check_pmd),
	cmocka_unit_test(test_copy_machine_check_mthp),
	cmocka_unit_test(test_copy_machine_check_madvise),
	cmocka_unit_test(test_rate_is_seeded),
	cmocka_unit_test(test_race_munmap),
	cmocka_unit_test(test_race_mremap),
	cmocka_unit_test(test_race_fork),
	cmocka_unit_test(test_swapin_retry),
	cmocka_unit_test(test_race_in_swapin_wait),
	cmocka_unit_test(test_race_function),
)
