// SPDX-License-Identifier: MIT
/*
 * guest_faults.c - runs inside the make check-kernel guest: MADV_COLLAPSE,
 * the anonymous fault path and the per-size stats of the real kernel,
 * each case checked against what the project says.
 *
 *   MADV_COLLAPSE   the plan of the range in context madvise
 *                   (docs/plan-contract.md: PMD order only, no limits, the
 *                   sizes' settings ignored, nohugepage ineligible) must be
 *                   what the kernel did: a PMD-mapped range, or nothing.
 *   faults          the order the simulator's fault path takes (PMD first
 *                   where allowed and the aligned 2M fits the VMA, else the
 *                   highest allowed order whose aligned block fits and is
 *                   all none; a read maps the huge zero page where the PMD
 *                   order could be faulted, else the zero page).
 *   stats           hugepages-SIZE/stats/anon_fault_alloc and collapse_alloc
 *                   count one per folio allocated at that size.
 *   shrinker        THPs with one page written, from faults or MADV_COLLAPSE,
 *                   are split by `echo 2 > /proc/sys/vm/drop_caches` at
 *                   max_ptes_none 0 (their zero-filled pages freed), kept at
 *                   511; 64K folios are never split (src/sim/shrinker.c).
 *   partially mapped
 *                   64K folios cut by MADV_DONTNEED are kept whole,
 *                   partially mapped, until drop_caches splits them.
 *   charge          a collapse at its memory cgroup's limit: the charge
 *                   of MADV_COLLAPSE, and of khugepaged with
 *                   khugepaged/defrag 1, reclaims, which splits an
 *                   underused THP, and the collapse succeeds; with
 *                   khugepaged/defrag 0 it fails.
 *   reclaim         writes past a memory cgroup's limit, with swap: they
 *                   land, the charge's reclaim pages out old pages before
 *                   pages read meanwhile; a THP fault's charge there
 *                   reclaims with defrag madvise (MADV_HUGEPAGE), falls
 *                   back with defrag never.
 *
 * Each case: one line "ok - NAME" or "not ok - NAME: what differs".
 * Exit status 0 when every case passed, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mthp/engine.h>
#include <mthp/settings.h>
#include <mthp/snapshot.h>

#include "guest.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define PAGE 4096ul
#define NR_PTES 512
#define PMD_SIZE (NR_PTES * PAGE)
#define AREA 0x200000000000ul	/* case k maps at AREA + k * 8M */
#define SNAP_PATH "/tmp/guest_faults.snap"

static int case_index;

/* A fresh 2M-aligned area for one case (8M of address space each). */
static char *area(void)
{
	return (char *)(AREA + (unsigned long)case_index++ * 4 * PMD_SIZE);
}

static char *map_at(char *addr, size_t len)
{
	char *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED) {
		guest_say("mmap %p: %s", (void *)addr, strerror(errno));
		return NULL;
	}
	return p;
}

/* "KNOB=VALUE ..." after every size and the global mode are never. */
static int thp_set(const char *assignments)
{
	char buf[512], *save = NULL;

	if (guest_thp_all_never())
		return -EIO;
	snprintf(buf, sizeof(buf), "%s", assignments);
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			return -EINVAL;
		*eq = '\0';
		if (guest_knob_write(tok, eq + 1))
			return -EIO;
	}
	return 0;
}

static unsigned long stat_of(const char *size, const char *name)
{
	char knob[128];
	unsigned long v = 0;

	snprintf(knob, sizeof(knob), "hugepages-%s/stats/%s", size, name);
	guest_knob_read(knob, &v);
	return v;
}

/* This process as a snapshot; the pmd line of addr, or NULL. */
static int snap_self(struct mthp_snapshot *snap)
{
	struct mthp_diag diag = { 0 };
	FILE *f;
	int ret;

	ret = guest_snapshot(getpid(), SNAP_PATH);
	if (ret)
		return ret;
	f = fopen(SNAP_PATH, "r");
	if (!f)
		return -errno;
	ret = mthp_snapshot_read(snap, f, SNAP_PATH, &diag);
	fclose(f);
	if (ret)
		guest_say("%s", diag.msg);
	return ret;
}

static const struct mthp_snapshot_pmd *pmd_of(const struct mthp_snapshot *snap, void *addr)
{
	uint64_t a = (uintptr_t)addr & ~(PMD_SIZE - 1);

	for (size_t i = 0; i < snap->nr_pmds; i++)
		if (snap->pmds[i].addr == a)
			return &snap->pmds[i];
	return NULL;
}

/*
 * What the range of addr is now: "huge", "none", or "table" with the
 * state and folio order of the PTE at index k.
 */
struct range_state {
	bool found, huge, zero;	/* huge: a PMD-mapped folio; zero: the huge zero page */
	char pte[NR_PTES + 1];
	uint8_t order[NR_PTES];
};

static int range_state(void *addr, struct range_state *rs)
{
	struct mthp_snapshot snap;
	const struct mthp_snapshot_pmd *pmd;
	int ret;

	memset(rs, 0, sizeof(*rs));
	memset(rs->pte, '.', NR_PTES);
	ret = snap_self(&snap);
	if (ret)
		return ret;
	pmd = pmd_of(&snap, addr);
	if (pmd) {
		rs->found = true;
		rs->huge = pmd->kind == MTHP_PMD_HUGE;
		rs->zero = pmd->kind == MTHP_PMD_ZERO;
		for (uint32_t i = 0; pmd->kind == MTHP_PMD_TABLE && i < NR_PTES; i++) {
			rs->pte[i] = (char)pmd->ptes[i];
			rs->order[i] = pmd->folio_orders ? pmd->folio_orders[i] : 0;
		}
	}
	mthp_snapshot_free(&snap);
	return 0;
}

/* ---- MADV_COLLAPSE against the plan, context madvise ---- */

static void plan_found(void *ctx, const struct mthp_snapshot *snap,
		       const struct mthp_snapshot_pmd *pmd, const struct mthp_pmd_plan *plan)
{
	struct mthp_pmd_plan *out = ctx;

	(void)snap;
	if (pmd->addr == out->pmd_addr)
		*out = *plan;
}

/*
 * A live capture cannot see a page table whose PTEs are all none (no pmd
 * line: docs/snapshot-format.md), nor the anon_vma of a VMA with nothing
 * mapped (it guesses `noanonvma`).  The case that made the table knows
 * both are there: plan that table, all '.', under the rules of its VMA
 * with an anon_vma.
 */
static int plan_empty_table(const struct mthp_snapshot *snap, const struct mthp_settings *s,
			    uint64_t pmd_addr, struct mthp_pmd_plan *plan)
{
	static uint8_t none[NR_PTES];
	static struct mthp_planner work;
	struct mthp_rules rules;

	memset(none, MTHP_PTE_NONE, sizeof(none));
	for (size_t v = 0; v < snap->nr_vmas; v++) {
		const struct mthp_snapshot_vma *vma = &snap->vmas[v];
		struct mthp_range range = {
			.pmd_addr = pmd_addr, .vma_start = vma->start, .vma_end = vma->end,
			.kind = MTHP_PMD_TABLE, .ptes = none,
		};

		if (pmd_addr < vma->start || pmd_addr >= vma->end)
			continue;
		mthp_rules_init(&rules, s, MTHP_POLICY_UPSTREAM, MTHP_CONTEXT_MADVISE,
				vma->flags & ~(uint32_t)MTHP_VMA_NOANONVMA);
		mthp_plan_range(plan, &rules, &range, &work);
		return 0;
	}
	return -ENOENT;
}

/*
 * The plan of the range of addr in context madvise, on a snapshot taken
 * now; empty_table: the range has a page table with nothing in it.
 */
static int plan_madvise(void *addr, bool empty_table, struct mthp_pmd_plan *plan)
{
	struct mthp_diag diag = { 0 };
	struct mthp_snapshot snap;
	struct mthp_settings s;
	int ret;

	ret = snap_self(&snap);
	if (ret)
		return ret;
	memset(plan, 0, sizeof(*plan));
	plan->pmd_addr = (uintptr_t)addr & ~(PMD_SIZE - 1);
	plan->scan = SCAN_NO_PTE_TABLE;
	ret = mthp_snapshot_settings(&snap, &s, SNAP_PATH, &diag);
	if (!ret && empty_table && pmd_of(&snap, addr))
		ret = -EEXIST;	/* something is in it after all */
	else if (!ret && empty_table)
		ret = plan_empty_table(&snap, &s, plan->pmd_addr, plan);
	else if (!ret)
		ret = mthp_snapshot_plan(&snap, &s, MTHP_POLICY_UPSTREAM,
					 MTHP_CONTEXT_MADVISE, plan_found, plan);
	mthp_snapshot_free(&snap);
	return ret;
}

/*
 * Plan the range, MADV_COLLAPSE it, and check: collapsed at PMD order
 * exactly when the plan says so, and MADV_COLLAPSE's return agrees.
 * empty_table: as plan_madvise().  True when they agree.
 */
static bool collapse_matches_plan(const char *name, char *p, bool empty_table)
{
	struct mthp_pmd_plan plan;
	struct range_state rs;
	unsigned long allocs;
	bool planned, done;
	int ret, err;

	ret = plan_madvise(p, empty_table, &plan);
	if (ret) {
		printf("not ok - %s: no plan (%s)\n", name, strerror(-ret));
		return false;
	}
	planned = plan.nr_collapses == 1 && plan.collapses[0].order == 9;
	allocs = stat_of("2048kB", "collapse_alloc");
	ret = madvise(p, PMD_SIZE, MADV_COLLAPSE);
	err = ret ? errno : 0;
	allocs = stat_of("2048kB", "collapse_alloc") - allocs;
	if (range_state(p, &rs)) {
		printf("not ok - %s: no snapshot after MADV_COLLAPSE\n", name);
		return false;
	}
	done = rs.huge;
	if (planned == done && (ret == 0) == done && allocs == (done ? 1 : 0)) {
		printf("ok - %s (plan %s, kernel %s)\n", name, planned ? "0:9" : "nothing",
		       done ? "PMD-mapped, collapse_alloc +1" : strerror(err));
		return true;
	}
	printf("not ok - %s: plan %s (scan %s), kernel: MADV_COLLAPSE %s, range %s,"
	       " 2048kB collapse_alloc +%lu\n", name, planned ? "0:9" : "nothing",
	       mthp_result_name(plan.scan), ret ? strerror(err) : "returned 0",
	       done ? "PMD-mapped" : "not PMD-mapped", allocs);
	return false;
}

static void write_pages(char *p, unsigned from, unsigned n)
{
	for (unsigned i = from; i < from + n; i++)
		*(volatile uint64_t *)(p + i * PAGE) = i + 1;
}

/* 16 pages in a table of 512, every size never: PMD anyway. */
static bool collapse_all_never(void)
{
	char *p = map_at(area(), PMD_SIZE);

	if (!p || thp_set(""))
		return false;
	write_pages(p, 0, 16);
	return collapse_matches_plan("MADV_COLLAPSE with every size never", p, false);
}

/* mTHP sizes always, 2M never, max_ptes_none 0: still PMD, not mTHP. */
static bool collapse_mthp_sizes_on(void)
{
	char *p = map_at(area(), PMD_SIZE);

	if (!p || thp_set("enabled=always hugepages-16kB/enabled=always "
			  "hugepages-64kB/enabled=always hugepages-1024kB/enabled=always "
			  "khugepaged/max_ptes_none=0"))
		return false;
	write_pages(p, 100, 20);
	return collapse_matches_plan("MADV_COLLAPSE with 2M never, mTHP sizes always, "
				     "max_ptes_none 0", p, false);
}

/* Swapped and shared PTEs above max_ptes_swap/shared 0: no limits. */
static bool collapse_ignores_limits(void)
{
	char *p = map_at(area(), PMD_SIZE);
	pid_t pid;
	bool ret;

	if (!p || thp_set("khugepaged/max_ptes_swap=0 khugepaged/max_ptes_shared=0"))
		return false;
	write_pages(p, 0, 64);
	pid = fork();	/* keeps the first 64 pages mapped twice */
	if (pid < 0)
		return false;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	write_pages(p, 64, 64);
	madvise(p + 64 * PAGE, 32 * PAGE, MADV_PAGEOUT);
	ret = collapse_matches_plan("MADV_COLLAPSE over max_ptes_swap and max_ptes_shared 0", p, false);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return ret;
}

/* A table whose PTEs are all none (pages written, then MADV_DONTNEED). */
static bool collapse_empty_table(void)
{
	char *p = map_at(area(), PMD_SIZE);

	if (!p || thp_set(""))
		return false;
	write_pages(p, 0, 4);
	madvise(p, 4 * PAGE, MADV_DONTNEED);
	return collapse_matches_plan("MADV_COLLAPSE of a table of none PTEs (planned as the"
				     " table the case made: a capture cannot see it)", p, true);
}

/* VM_NOHUGEPAGE: ineligible, EINVAL. */
static bool collapse_nohugepage(void)
{
	char *p = map_at(area(), PMD_SIZE);

	if (!p || thp_set("enabled=always") || madvise(p, PMD_SIZE, MADV_NOHUGEPAGE))
		return false;
	write_pages(p, 0, 512);
	return collapse_matches_plan("MADV_COLLAPSE in a nohugepage VMA", p, false);
}

/* ---- the fault path ---- */

/*
 * Map a VMA [vma_off, vma_off + vma_len) of a fresh area with every size
 * never, write the page at prefault_off first when it is not NO_PAGE,
 * set the case's settings, then fault at fault_off (write or read).
 * Expected at the faulting PTE: 'A' in a folio of the given order (then
 * anon_fault_alloc of that size +1), '0' the zero page alone, or 'Z' the
 * huge zero page (PMD-mapped, or every PTE the zero page).  Order 9 with
 * 'A' is a PMD mapping.
 */
#define NO_PAGE (~0ul)

struct fault_case {
	const char *name;
	const char *settings;
	unsigned long vma_off, vma_len, prefault_off, fault_off;
	bool write;
	char state;
	unsigned order;
};

static const struct fault_case fault_cases[] = {
	{ "write fault, 2M always: PMD", "enabled=always hugepages-2048kB/enabled=inherit",
	  0, 2 * PMD_SIZE, NO_PAGE, 0x3000, true, 'A', 9 },
	{ "write fault, 2M never, 64K and 16K always: 64K", "enabled=always "
	  "hugepages-64kB/enabled=always hugepages-16kB/enabled=always",
	  0, PMD_SIZE, NO_PAGE, 0x23000, true, 'A', 4 },
	{ "write fault, VMA ending 4K before 2M, its last page: no PMD, no 64K past its end",
	  "enabled=always hugepages-2048kB/enabled=always hugepages-64kB/enabled=always",
	  0, PMD_SIZE - PAGE, NO_PAGE, PMD_SIZE - 2 * PAGE, true, 'A', 0 },
	{ "write fault, VMA ending 4K before 2M, a 64K block inside it: 64K",
	  "enabled=always hugepages-2048kB/enabled=always hugepages-64kB/enabled=always",
	  0, PMD_SIZE - PAGE, NO_PAGE, 0x10000, true, 'A', 4 },
	{ "write fault, 1M VMA: no PMD, 256K", "enabled=always hugepages-2048kB/enabled=always "
	  "hugepages-256kB/enabled=always", 0, PMD_SIZE / 2, NO_PAGE, 0x41000, true, 'A', 6 },
	{ "write fault, the 64K block holding a page: 16K", "enabled=always "
	  "hugepages-64kB/enabled=always hugepages-16kB/enabled=always",
	  0, PMD_SIZE, 0x1000, 0x7000, true, 'A', 2 },
	{ "read fault, 2M always: huge zero page", "enabled=always "
	  "hugepages-2048kB/enabled=inherit use_zero_page=1",
	  0, PMD_SIZE, NO_PAGE, 0x5000, false, 'Z', 0 },
	{ "read fault, 2M never, 64K always: zero page", "enabled=always "
	  "hugepages-2048kB/enabled=never hugepages-64kB/enabled=always",
	  0, PMD_SIZE, NO_PAGE, 0x5000, false, '0', 0 },
};

static bool all_zero_pages(const struct range_state *rs)
{
	for (unsigned i = 0; i < NR_PTES; i++)
		if (rs->pte[i] != '0')
			return false;
	return true;
}

/* Did the kernel do what the case expects? */
static bool fault_as_expected(const struct fault_case *fc, const struct range_state *rs,
			      unsigned k, unsigned long allocs)
{
	switch (fc->state) {
	case 'A':
		if (fc->order == 9)
			return rs->huge && allocs == 1;
		return !rs->huge && rs->pte[k] == 'A' && rs->order[k] == fc->order &&
		       (fc->order < 2 || allocs == 1);
	case 'Z':
		return rs->zero || all_zero_pages(rs);
	case '0':
		return !rs->huge && rs->pte[k] == '0' && rs->pte[k ^ 1] == '.';
	}
	return false;
}

static bool fault_check(const struct fault_case *fc)
{
	char *base = area(), size[32];
	struct range_state rs;
	unsigned k = (unsigned)((fc->fault_off % PMD_SIZE) / PAGE);
	unsigned long before, after;

	snprintf(size, sizeof(size), "%lukB", (PAGE << fc->order) / 1024);
	if (guest_thp_all_never() || !map_at(base + fc->vma_off, fc->vma_len))
		return false;
	if (fc->prefault_off != NO_PAGE)
		*(volatile char *)(base + fc->prefault_off) = 1;
	if (thp_set(fc->settings))
		return false;
	before = fc->order >= 2 ? stat_of(size, "anon_fault_alloc") : 0;
	if (fc->write)
		*(volatile char *)(base + fc->fault_off) = 1;
	else
		(void)*(volatile char *)(base + fc->fault_off);
	after = fc->order >= 2 ? stat_of(size, "anon_fault_alloc") : 0;
	if (range_state(base, &rs)) {
		printf("not ok - %s: no snapshot\n", fc->name);
		return false;
	}
	if (fault_as_expected(fc, &rs, k, after - before)) {
		printf("ok - %s\n", fc->name);
		return true;
	}
	printf("not ok - %s: expected '%c' order %u, kernel: %s, PTE %u '%c' order %u,"
	       " anon_fault_alloc +%lu\n", fc->name, fc->state, fc->order,
	       rs.huge ? "PMD-mapped" : rs.found ? "a table" : "no table", k, rs.pte[k],
	       rs.order[k], after - before);
	return false;
}

/* ---- the underused-THP shrinker ---- */

#define SHRINK_RANGES 16

static unsigned long vmstat_of(const char *name)
{
	char key[64];
	unsigned long v, found = 0;
	FILE *f = fopen("/proc/vmstat", "re");

	if (!f)
		return 0;
	while (fscanf(f, "%63s %lu", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

/* What the shrinker cases look at in their 16 ranges. */
struct shrink_state {
	unsigned huge;		/* PMD-mapped ranges */
	unsigned present;	/* present pages that are not the zero page */
	unsigned large;		/* PTE-mapped pages of folios of order >= 2 */
};

static int shrink_state(char *base, struct shrink_state *st)
{
	struct mthp_snapshot snap;
	int ret = snap_self(&snap);

	memset(st, 0, sizeof(*st));
	if (ret)
		return ret;
	for (unsigned r = 0; r < SHRINK_RANGES; r++) {
		const struct mthp_snapshot_pmd *pmd = pmd_of(&snap, base + r * PMD_SIZE);

		if (!pmd)
			continue;
		if (pmd->kind == MTHP_PMD_HUGE) {
			st->huge++;
			st->present += NR_PTES;
			continue;
		}
		for (uint32_t i = 0; pmd->kind == MTHP_PMD_TABLE && i < NR_PTES; i++) {
			char c = (char)pmd->ptes[i];

			if (c == '.' || c == '0' || c == 'w')
				continue;
			st->present++;
			st->large += pmd->folio_orders && pmd->folio_orders[i] >= 2 &&
				     pmd->folio_orders[i] != MTHP_NO_FOLIO;
		}
	}
	mthp_snapshot_free(&snap);
	return 0;
}

/* `echo 2 > /proc/sys/vm/drop_caches`: the shrinkers run. */
static int drop_caches(const char *name)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "2", 1) != 1) {
		printf("not ok - %s: cannot write /proc/sys/vm/drop_caches\n", name);
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

struct shrink_case {
	const char *name;
	const char *settings;
	bool collapse;		/* MADV_COLLAPSE each range after the write */
	unsigned long splits;	/* thp_underused_split_page after drop_caches */
	unsigned present;	/* pages mapped after it */
};

/*
 * 16 ranges with one page written each, made THPs (or 64K folios), then
 * `echo 2 > /proc/sys/vm/drop_caches`: what the simulator's shrinker
 * does to the same pattern (tests/test_sim_shrinker.c, test_sim_run.c).
 */
static const struct shrink_case shrink_cases[] = {
	{ "shrinker: fault THPs, one page written each, max_ptes_none 0: split",
	  "enabled=always hugepages-2048kB/enabled=inherit khugepaged/max_ptes_none=0",
	  false, SHRINK_RANGES, SHRINK_RANGES },
	{ "shrinker: fault THPs, one page written each, max_ptes_none 511: kept",
	  "enabled=always hugepages-2048kB/enabled=inherit khugepaged/max_ptes_none=511",
	  false, 0, SHRINK_RANGES * NR_PTES },
	{ "shrinker: MADV_COLLAPSE THPs, one page written each, max_ptes_none 0: split",
	  "khugepaged/max_ptes_none=0", true, SHRINK_RANGES, SHRINK_RANGES },
	{ "shrinker: 64K folios, one page written each, max_ptes_none 0: kept",
	  "enabled=always hugepages-64kB/enabled=always khugepaged/max_ptes_none=0",
	  false, 0, SHRINK_RANGES * 16 },
};

static bool shrink_check(const struct shrink_case *sc)
{
	char *base = area();
	struct shrink_state before, after;
	unsigned long splits;

	for (unsigned i = 1; i < SHRINK_RANGES / 4; i++)
		area();		/* 32M of address space */
	if (guest_thp_all_never() || !map_at(base, SHRINK_RANGES * PMD_SIZE) ||
	    thp_set(sc->settings))
		return false;
	for (unsigned r = 0; r < SHRINK_RANGES; r++) {
		base[r * PMD_SIZE + 5 * PAGE] = 1;
		if (sc->collapse && madvise(base + r * PMD_SIZE, PMD_SIZE, MADV_COLLAPSE))
			guest_say("MADV_COLLAPSE: %s", strerror(errno));
	}
	if (shrink_state(base, &before))
		return false;
	splits = vmstat_of("thp_underused_split_page");
	if (drop_caches(sc->name))
		return false;
	splits = vmstat_of("thp_underused_split_page") - splits;
	if (shrink_state(base, &after))
		return false;
	munmap(base, SHRINK_RANGES * PMD_SIZE);
	if (splits == sc->splits && after.present == sc->present &&
	    (sc->splits || after.huge == before.huge) &&
	    (before.huge == SHRINK_RANGES || before.large == SHRINK_RANGES * 16)) {
		printf("ok - %s (%u pages before, %u after, %lu split)\n", sc->name,
		       before.present, after.present, splits);
		return true;
	}
	printf("not ok - %s: before %u PMD-mapped, %u pages (%u in large folios); after"
	       " %u PMD-mapped, %u pages; thp_underused_split_page +%lu (expected +%lu, %u"
	       " pages)\n", sc->name, before.huge, before.present, before.large, after.huge,
	       after.present, splits, sc->splits, sc->present);
	return false;
}

/* ---- partially mapped folios ---- */

#define PARTIAL_FOLIOS 16

/*
 * 16 64K folios, one page written in each (the other 15 zero-filled),
 * then MADV_DONTNEED of page 1 of each: the kernel keeps every folio,
 * partially mapped (split_deferred +16, nr_anon_partially_mapped +16),
 * and `echo 2 > /proc/sys/vm/drop_caches` splits them (split +16),
 * freeing the unmapped pages and mapping the zero-filled ones to the zero
 * page; the simulator does the same (tests/test_sim_ops.c).
 */
static bool partial_check(void)
{
	static const char name[] =
		"partially mapped: 64K folios cut by MADV_DONTNEED kept, split by the shrinker";
	const unsigned per = 16;
	char *base = area();
	unsigned long deferred, partial, split, d_deferred, d_partial, d_split;
	struct shrink_state cut, after;

	for (unsigned i = 1; i < SHRINK_RANGES / 4; i++)
		area();		/* what shrink_state() looks at: 32M */
	if (guest_thp_all_never() || !map_at(base, PMD_SIZE) ||
	    thp_set("enabled=always hugepages-64kB/enabled=always"))
		return false;
	for (unsigned i = 0; i < PARTIAL_FOLIOS; i++)
		base[i * per * PAGE] = 1;
	guest_thp_all_never();
	deferred = stat_of("64kB", "split_deferred");
	partial = stat_of("64kB", "nr_anon_partially_mapped");
	split = stat_of("64kB", "split");
	for (unsigned i = 0; i < PARTIAL_FOLIOS; i++)
		if (madvise(base + (i * per + 1) * PAGE, PAGE, MADV_DONTNEED))
			guest_say("MADV_DONTNEED: %s", strerror(errno));
	if (shrink_state(base, &cut))
		return false;
	d_deferred = stat_of("64kB", "split_deferred") - deferred;
	d_partial = stat_of("64kB", "nr_anon_partially_mapped") - partial;
	if (drop_caches(name) || shrink_state(base, &after))
		return false;
	d_split = stat_of("64kB", "split") - split;
	munmap(base, PMD_SIZE);
	if (cut.present == PARTIAL_FOLIOS * (per - 1) && cut.large == cut.present &&
	    d_deferred == PARTIAL_FOLIOS && d_partial == PARTIAL_FOLIOS &&
	    after.present == PARTIAL_FOLIOS && after.large == 0 && d_split == PARTIAL_FOLIOS &&
	    stat_of("64kB", "nr_anon_partially_mapped") == partial) {
		printf("ok - %s\n", name);
		return true;
	}
	printf("not ok - %s: after the cut %u pages (%u in large folios), split_deferred +%lu,"
	       " nr_anon_partially_mapped +%lu; after drop_caches %u pages (%u in large"
	       " folios), split +%lu\n", name, cut.present, cut.large, d_deferred, d_partial,
	       after.present, after.large, d_split);
	return false;
}

/* ---- a collapse at its memory cgroup's limit ---- */

#define CGROUP "/sys/fs/cgroup"
#define CHARGE_CGROUP CGROUP "/mthp-charge"

static int write_path(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, value, strlen(value));
	int err = n == (ssize_t)strlen(value) ? 0 : -errno;

	if (fd >= 0)
		close(fd);
	if (err)
		guest_say("writing '%s' to %s: %s", value, path, strerror(-err));
	return err;
}

static unsigned long read_path(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "re");

	if (!f || fscanf(f, "%lu", &v) != 1)
		guest_say("reading %s: %s", path, f ? "not a number" : strerror(errno));
	if (f)
		fclose(f);
	return v;
}

/* This process in a new memory cgroup, with swap or not: 0, or -errno. */
static int charge_cgroup_enter(bool swap)
{
	int err;

	if (access(CGROUP "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CGROUP, "cgroup2", 0, NULL)) {
		err = errno;
		guest_say("mount cgroup2 on %s: %s", CGROUP, strerror(err));
		return -err;
	}
	if (write_path(CGROUP "/cgroup.subtree_control", "+memory"))
		return -EIO;
	if (mkdir(CHARGE_CGROUP, 0755) && errno != EEXIST) {
		err = errno;
		guest_say("mkdir %s: %s", CHARGE_CGROUP, strerror(err));
		return -err;
	}
	if (write_path(CHARGE_CGROUP "/memory.swap.max", swap ? "max" : "0") ||
	    write_path(CHARGE_CGROUP "/cgroup.procs", "0"))
		return -EIO;
	return 0;
}

/* Back in the root cgroup, the case's cgroup removed. */
static void charge_cgroup_leave(void)
{
	write_path(CHARGE_CGROUP "/memory.max", "max");
	write_path(CGROUP "/cgroup.procs", "0");
	if (rmdir(CHARGE_CGROUP))
		guest_say("rmdir %s: %s", CHARGE_CGROUP, strerror(errno));
}

/*
 * Wait for khugepaged to end two more full passes (three counted: the
 * one under way may have begun before the settings): 0, or -ETIMEDOUT.
 */
static int wait_passes(void)
{
	unsigned long start = 0, scans = 0;
	struct timespec t0, t;

	if (guest_knob_read("khugepaged/full_scans", &start))
		return -EIO;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(5000);
		if (guest_knob_read("khugepaged/full_scans", &scans))
			return -EIO;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 60) {
			guest_say("khugepaged made %lu full passes in 60 s", scans - start);
			return -ETIMEDOUT;
		}
	} while (scans < start + 3);
	return 0;
}

struct charge_case {
	const char *name;
	bool khugepaged;	/* khugepaged's collapse, else MADV_COLLAPSE */
	const char *defrag;	/* khugepaged/defrag */
	bool reclaims;		/* the underused THP split, the range collapsed */
};

/*
 * In a memory cgroup without swap (memory.swap.max 0): an underused THP
 * (one page written, max_ptes_none 500) in one range, 16 small pages in
 * the next, and memory.max 1M above the cgroup's usage, less than the 2M
 * a PMD collapse charges.  Then a collapse of the small pages' range, by
 * MADV_COLLAPSE or by khugepaged (two full passes): when its allocation
 * may reclaim (always for MADV_COLLAPSE, with khugepaged/defrag 1 for
 * khugepaged) the charge reclaims in the cgroup, where the only memory
 * to get back is the underused THP, which the deferred split shrinker
 * splits (thp_underused_split_page +1), and the collapse succeeds; with
 * khugepaged/defrag 0 it fails and nothing is split.  The simulator does
 * the same (tests/test_sim_shrinker.c).
 */
static const struct charge_case charge_cases[] = {
	{ "collapse at its cgroup's limit: MADV_COLLAPSE's charge runs the shrinker, then"
	  " succeeds", false, "1", true },
	{ "collapse at its cgroup's limit: khugepaged's charge, defrag 1, runs the shrinker,"
	  " then succeeds", true, "1", true },
	{ "collapse at its cgroup's limit: khugepaged's charge, defrag 0, fails", true, "0",
	  false },
};

/* The collapse of the case: 0, or errno (MADV_COLLAPSE's, or -1 when khugepaged timed out). */
static int charge_collapse(const struct charge_case *cc, char *base)
{
	if (!cc->khugepaged)
		return madvise(base, PMD_SIZE, MADV_COLLAPSE) ? errno : 0;
	if (madvise(base, 2 * PMD_SIZE, MADV_HUGEPAGE) ||
	    guest_knob_write("khugepaged/defrag", cc->defrag) ||
	    guest_knob_write("khugepaged/alloc_sleep_millisecs", "10") ||
	    guest_knob_write("khugepaged/scan_sleep_millisecs", "10") ||
	    guest_knob_write("enabled", "always"))
		return -1;
	return wait_passes() ? -1 : 0;
}

static bool charge_check(const struct charge_case *cc)
{
	char *base = area(), limit[32];
	unsigned long splits, current;
	struct mthp_snapshot snap;
	const struct mthp_snapshot_pmd *pmd;
	bool huge = false;
	int err;

	if (guest_thp_all_never() || charge_cgroup_enter(false))
		return false;
	if (!map_at(base, 2 * PMD_SIZE)) {
		charge_cgroup_leave();
		return false;
	}
	if (thp_set("enabled=always hugepages-2048kB/enabled=inherit khugepaged/max_ptes_none=500"
		    " shrink_underused=1")) {
		charge_cgroup_leave();
		munmap(base, 2 * PMD_SIZE);
		return false;
	}
	base[PMD_SIZE + 5 * PAGE] = 1;		/* an underused THP */
	guest_knob_write("enabled", "never");
	for (unsigned i = 0; i < 16; i++)
		base[i * PAGE] = 1;
	current = read_path(CHARGE_CGROUP "/memory.current");
	if (current < PMD_SIZE) {
		printf("not ok - %s: the cgroup holds %lu bytes, no THP\n", cc->name, current);
		charge_cgroup_leave();
		munmap(base, 2 * PMD_SIZE);
		return false;
	}
	snprintf(limit, sizeof(limit), "%lu", current + (1ul << 20));
	splits = vmstat_of("thp_underused_split_page");
	if (write_path(CHARGE_CGROUP "/memory.max", limit)) {
		charge_cgroup_leave();
		munmap(base, 2 * PMD_SIZE);
		return false;
	}
	err = charge_collapse(cc, base);
	guest_knob_write("enabled", "never");
	splits = vmstat_of("thp_underused_split_page") - splits;
	charge_cgroup_leave();
	if (!snap_self(&snap)) {
		pmd = pmd_of(&snap, base);
		huge = pmd && pmd->kind == MTHP_PMD_HUGE;
		mthp_snapshot_free(&snap);
	}
	munmap(base, 2 * PMD_SIZE);
	guest_thp_all_never();
	guest_knob_write("khugepaged/max_ptes_none", "511");
	guest_knob_write("khugepaged/defrag", "1");
	guest_knob_write("khugepaged/alloc_sleep_millisecs", "60000");
	guest_knob_write("khugepaged/scan_sleep_millisecs", "10000");
	if (err != -1 && huge == cc->reclaims && splits == (cc->reclaims ? 1 : 0) &&
	    (cc->khugepaged || !err)) {
		printf("ok - %s\n", cc->name);
		return true;
	}
	printf("not ok - %s: %s %s, the range %s, thp_underused_split_page +%lu (expected %s,"
	       " +%d)\n", cc->name, cc->khugepaged ? "khugepaged" : "MADV_COLLAPSE",
	       err == -1 ? "did not run" : err ? strerror(err) : "returned",
	       huge ? "PMD-mapped" : "not PMD-mapped", splits,
	       cc->reclaims ? "PMD-mapped" : "not PMD-mapped", cc->reclaims ? 1 : 0);
	return false;
}

/* ---- reclaim at a memory cgroup's limit, with swap ---- */

#define RECLAIM_PAGES 1024ul	/* a region: 4M */

/* The pages of [p, p + n pages) whose PTE is a swap entry, or -1. */
static long swapped_pages(const char *p, unsigned long n)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long count = 0;

	if (fd < 0) {
		guest_say("open /proc/self/pagemap: %s", strerror(errno));
		return -1;
	}
	for (unsigned long i = 0; i < n; i++) {
		uint64_t e;

		if (pread(fd, &e, sizeof(e), (off_t)(((uintptr_t)p / PAGE + i) * sizeof(e))) !=
		    (ssize_t)sizeof(e)) {
			guest_say("reading /proc/self/pagemap: %s", strerror(errno));
			close(fd);
			return -1;
		}
		count += (e >> 62) & 1;
	}
	close(fd);
	return count;
}

/* Each page of a region holds its number, so that no two are the same. */
static void write_region(char *r, unsigned long first)
{
	for (unsigned long i = 0; i < RECLAIM_PAGES; i++)
		*(unsigned long *)(r + i * PAGE) = first + i + 1;
}

static unsigned long region_errors(const char *r, unsigned long first)
{
	unsigned long bad = 0;

	for (unsigned long i = 0; i < RECLAIM_PAGES; i++)
		bad += *(const unsigned long *)(r + i * PAGE) != first + i + 1;
	return bad;
}

/*
 * In a memory cgroup with swap (zram), small pages only: regions A and B
 * of 4M written, memory.max set 1M above the cgroup's usage, then region
 * C written while B is read after every 32 pages of it.  Linux 7.2's
 * charge reclaims in the cgroup: every write lands, 2M or more goes to
 * swap (a little under 3M: memory.current, which memory.max is set from,
 * counts more than the pages written), and more
 * of A (never touched again) than of B (read all along).
 * The simulator does the same (tests/test_sim_reclaim.c), where before it
 * failed the writes past the limit.
 */
static bool reclaim_check(void)
{
	static const char name[] = "writes past a cgroup's limit with swap: old pages paged out";
	size_t len = 3 * RECLAIM_PAGES * PAGE;
	char *base = area(), *a = base, *b = a + RECLAIM_PAGES * PAGE, *c = b + RECLAIM_PAGES * PAGE;
	unsigned long bad = 0;
	long in_a, in_b, in_c;
	char limit[32];

	area();		/* the 12M take two cases' room */
	if (guest_thp_all_never() || charge_cgroup_enter(true))
		return false;
	if (!map_at(base, len)) {
		charge_cgroup_leave();
		return false;
	}
	write_region(a, 0);
	write_region(b, RECLAIM_PAGES);
	snprintf(limit, sizeof(limit), "%lu",
		 read_path(CHARGE_CGROUP "/memory.current") + (1ul << 20));
	if (write_path(CHARGE_CGROUP "/memory.max", limit)) {
		munmap(base, len);
		charge_cgroup_leave();
		return false;
	}
	for (unsigned long i = 0; i < RECLAIM_PAGES; i++) {
		*(unsigned long *)(c + i * PAGE) = 2 * RECLAIM_PAGES + i + 1;
		if (i % 32 == 31)
			bad += region_errors(b, RECLAIM_PAGES);
	}
	in_a = swapped_pages(a, RECLAIM_PAGES);
	in_b = swapped_pages(b, RECLAIM_PAGES);
	in_c = swapped_pages(c, RECLAIM_PAGES);
	bad += region_errors(a, 0) + region_errors(b, RECLAIM_PAGES) +
	       region_errors(c, 2 * RECLAIM_PAGES);
	munmap(base, len);
	charge_cgroup_leave();
	if (in_a >= 0 && in_b >= 0 && in_c >= 0 && !bad &&
	    in_a + in_b + in_c >= (long)(RECLAIM_PAGES / 2) && in_a > in_b) {
		printf("ok - %s (swapped: A %ld, B %ld, C %ld pages)\n", name, in_a, in_b, in_c);
		return true;
	}
	printf("not ok - %s: swapped A %ld, B %ld, C %ld pages (expected 512 or more in all,"
	       " more of A than of B), %lu pages read back wrong\n", name, in_a, in_b, in_c, bad);
	return false;
}

/*
 * A THP fault at a memory cgroup's limit, with swap (zram): 400 small
 * pages written in a VMA with MADV_NOHUGEPAGE, memory.max 1.5M above the
 * cgroup's usage (less than the 2M a THP charges), then one write in a
 * 2M-aligned VMA with MADV_HUGEPAGE, enabled madvise.  With defrag
 * madvise (the default) the fault's allocation and charge may reclaim
 * (vma_thp_gfp_mask()): the small pages go to swap and the THP is
 * mapped (thp_fault_alloc +1).  With defrag never they may not: the
 * charge fails and the fault falls back (thp_fault_fallback_charge +1),
 * nothing swapped.  The simulator does the same (tests/test_sim_reclaim.c).
 */
struct thp_charge_case {
	const char *name, *defrag;
	bool reclaims;
};

static const struct thp_charge_case thp_charge_cases[] = {
	{ "THP fault at its cgroup's limit, defrag madvise: the charge reclaims, the THP is"
	  " mapped", "madvise", true },
	{ "THP fault at its cgroup's limit, defrag never: the charge fails, it falls back",
	  "never", false },
};

static bool thp_charge_check(const struct thp_charge_case *tc)
{
	char *small = area(), *thp = area(), limit[32];
	unsigned long alloc, fallback;
	long swapped = -1;
	struct mthp_snapshot snap;
	const struct mthp_snapshot_pmd *pmd;
	bool huge = false;

	if (guest_thp_all_never() || charge_cgroup_enter(true))
		return false;
	if (!map_at(small, PMD_SIZE) || !map_at(thp, PMD_SIZE) ||
	    madvise(small, PMD_SIZE, MADV_NOHUGEPAGE) || madvise(thp, PMD_SIZE, MADV_HUGEPAGE) ||
	    thp_set("enabled=madvise hugepages-2048kB/enabled=inherit") ||
	    guest_knob_write("defrag", tc->defrag)) {
		munmap(small, PMD_SIZE);
		munmap(thp, PMD_SIZE);
		charge_cgroup_leave();
		return false;
	}
	for (unsigned long i = 0; i < 400; i++)
		*(unsigned long *)(small + i * PAGE) = i + 1;
	snprintf(limit, sizeof(limit), "%lu",
		 read_path(CHARGE_CGROUP "/memory.current") + (3ul << 19));
	alloc = vmstat_of("thp_fault_alloc");
	fallback = vmstat_of("thp_fault_fallback_charge");
	if (!write_path(CHARGE_CGROUP "/memory.max", limit)) {
		thp[0] = 1;
		swapped = swapped_pages(small, 400);
	}
	alloc = vmstat_of("thp_fault_alloc") - alloc;
	fallback = vmstat_of("thp_fault_fallback_charge") - fallback;
	if (!snap_self(&snap)) {
		pmd = pmd_of(&snap, thp);
		huge = pmd && pmd->kind == MTHP_PMD_HUGE;
		mthp_snapshot_free(&snap);
	}
	munmap(small, PMD_SIZE);
	munmap(thp, PMD_SIZE);
	charge_cgroup_leave();
	guest_knob_write("defrag", "madvise");
	guest_thp_all_never();
	if (swapped >= 0 && huge == tc->reclaims && alloc == (tc->reclaims ? 1 : 0) &&
	    fallback == (tc->reclaims ? 0 : 1) && (tc->reclaims ? swapped > 0 : swapped == 0)) {
		printf("ok - %s (small pages swapped: %ld)\n", tc->name, swapped);
		return true;
	}
	printf("not ok - %s: the range %s, thp_fault_alloc +%lu, thp_fault_fallback_charge +%lu,"
	       " small pages swapped %ld (expected %s, +%d, +%d, %s)\n", tc->name,
	       huge ? "PMD-mapped" : "not PMD-mapped", alloc, fallback, swapped,
	       tc->reclaims ? "PMD-mapped" : "not PMD-mapped", tc->reclaims ? 1 : 0,
	       tc->reclaims ? 0 : 1, tc->reclaims ? "some" : "none");
	return false;
}

int main(void)
{
	bool failed = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* first: the THPs the later cases leave mapped would be split too */
	for (size_t i = 0; i < sizeof(shrink_cases) / sizeof(shrink_cases[0]); i++)
		failed |= !shrink_check(&shrink_cases[i]);
	failed |= !partial_check();
	for (size_t i = 0; i < sizeof(charge_cases) / sizeof(charge_cases[0]); i++)
		failed |= !charge_check(&charge_cases[i]);
	failed |= !reclaim_check();
	for (size_t i = 0; i < sizeof(thp_charge_cases) / sizeof(thp_charge_cases[0]); i++)
		failed |= !thp_charge_check(&thp_charge_cases[i]);
	failed |= !collapse_all_never();
	failed |= !collapse_mthp_sizes_on();
	failed |= !collapse_ignores_limits();
	failed |= !collapse_empty_table();
	failed |= !collapse_nohugepage();
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++)
		failed |= !fault_check(&fault_cases[i]);
	guest_thp_all_never();
	return failed ? 1 : 0;
}
