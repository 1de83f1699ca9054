// SPDX-License-Identifier: MIT
/*
 * test_live_layout.c - audit and snapshot of live processes with known
 * layouts, forked by the test: a PMD THP from MADV_COLLAPSE, pages shared
 * after fork, read faults (zero page or real pages, whatever kpageflags
 * says), holes; `collapse` turning a planned range of its own child into a
 * THP (smaps AnonHugePages, kpageflags); and the errors and output formats
 * of the commands.  Needs root and THP; changes nothing on the host (the
 * layouts that need a knob or swap are in test_host_layout.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <mthp/live.h>
#include <mthp/snapshot.h>

#include "helpers/live_child.h"
#include "helpers/live_skip.h"
#include "helpers/smaps.h"

#define PMD_SIZE LIVE_PMD_SIZE
#define PAGE LIVE_PAGE
#define N 512

/* ---- layouts ---- */

/* One VMA: a THP (MADV_COLLAPSE ignores the sysfs modes), 10 pages, empty. */
static void layout_pmd_thp(char *a)
{
	memset(a, 1, PMD_SIZE);
	if (madvise(a, PMD_SIZE, MADV_COLLAPSE))
		_exit(3);
	for (int i = 0; i < 10; i++)
		a[PMD_SIZE + (size_t)i * PAGE] = 1;
}

static void layout_shared(char *a)
{
	madvise(a, 3 * PMD_SIZE, MADV_NOHUGEPAGE);
	for (int i = 0; i < 32; i++)
		a[(size_t)i * PAGE] = 1;
	if (fork() == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
}

static void layout_reads(char *a)
{
	volatile char sink = 0;

	madvise(a, 3 * PMD_SIZE, MADV_NOHUGEPAGE);
	for (int i = 0; i < 16; i++)
		sink += a[(size_t)i * PAGE];
	(void)sink;
}

static const char holes[] = "AAAA....AA.A..A.AAAAAAAA........A";

static void layout_holes(char *a)
{
	madvise(a, 3 * PMD_SIZE, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < sizeof(holes) - 1; i++)
		if (holes[i] == 'A')
			a[i * PAGE] = 1;
}

/* Range 1 filled with order-0 pages (no THP at fault: enabled=madvise). */
static void layout_small_pages(char *a)
{
	memset(a + PMD_SIZE, 1, PMD_SIZE);
}

/* Range 1 written whole, then split 16 pages in: two VMAs share its table. */
static void layout_split(char *a)
{
	memset(a + PMD_SIZE, 1, PMD_SIZE);
	mprotect(a + PMD_SIZE + 16 * PAGE, 2 * PMD_SIZE - 16 * PAGE, PROT_READ);
}

/*
 * Range 0 a THP whose page 100 is then zapped: the PMD is split and 511
 * pages of the order-9 folio stay mapped by PTEs (until a deferred split).
 */
static void layout_thp_with_hole(char *a)
{
	layout_pmd_thp(a);
	if (madvise(a + 100 * PAGE, PAGE, MADV_DONTNEED))
		_exit(3);
}

/*
 * A 64-page file mapped shared and read, and the same file private with 8
 * pages written, both over the start of range 2 (MAP_FIXED inside the
 * child's own VMA, which nothing else uses).
 */
static void layout_file(char *a)
{
	char path[] = "/tmp/mthp-test-file-XXXXXX";
	volatile char sink = 0;
	int fd = mkstemp(path);
	char *sh, *pr;

	if (fd < 0 || ftruncate(fd, 64 * PAGE))
		_exit(3);
	unlink(path);
	sh = mmap(a + 2 * PMD_SIZE, 64 * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	pr = mmap(a + 2 * PMD_SIZE + 64 * PAGE, 64 * PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (sh == MAP_FAILED || pr == MAP_FAILED)
		_exit(3);
	for (int i = 0; i < 64; i++)
		sink += sh[(size_t)i * PAGE];
	for (int i = 0; i < 8; i++)
		pr[(size_t)i * PAGE] = 1;
	(void)sink;
	close(fd);
}

/* The PTEs of the child's range i: want, then none ('.') to the range's end. */
static void assert_ptes(const struct live_view *v, unsigned i, const char *want)
{
	char ptes[N + 1];
	size_t len = strlen(want);

	live_view_ptes(v, i, ptes, N);
	assert_memory_equal(ptes, want, len);
	assert_int_equal(strspn(ptes + len, "."), N - len);
}

/* ---- cases ---- */

static void test_pmd_thp_from_madv_collapse(void **state)
{
	struct live_child c = live_child_start(layout_pmd_thp);
	struct live_view v;

	(void)state;
	live_view_of(&c, true, &v);
	assert_int_equal(v.vma->c.pmd_mapped, N);
	assert_int_equal(v.vma->c.anon, N + 10);
	assert_int_equal(v.vma->c.pte_aligned[9], 0);
	assert_int_equal(v.vma->c.occupancy[8], 1);	/* the THP */
	assert_int_equal(v.vma->c.occupancy[0], 2);	/* 10 pages, empty */
	assert_int_equal(v.vma->c.pmd_ranges, 3);
	assert_int_equal(v.vma->nr_ranges, 2);
	assert_true(v.vma->ranges[0].huge);
	assert_int_equal(v.vma->ranges[1].present, 10);

	assert_non_null(live_view_pmd(&v, 0));
	assert_int_equal(live_view_pmd(&v, 0)->kind, MTHP_PMD_HUGE);
	assert_ptes(&v, 1, "AAAAAAAAAA");
	assert_null(live_view_pmd(&v, 2));
	live_view_free(&v);
	live_child_stop(&c);
}

static void test_shared_after_fork(void **state)
{
	struct live_child c = live_child_start(layout_shared);
	struct live_view v;
	char shared[33] = "";

	(void)state;
	live_view_of(&c, false, &v);
	assert_int_equal(v.vma->c.shared, 32);
	assert_int_equal(v.vma->c.anon, 32);
	memset(shared, 'S', 32);
	assert_ptes(&v, 0, shared);
	live_view_free(&v);
	live_child_stop(&c);
}

static void test_zero_pages_from_reads(void **state)
{
	struct live_child c = live_child_start(layout_reads);
	struct live_view v;
	uint64_t zero = 0;

	(void)state;
	live_view_of(&c, false, &v);
	assert_non_null(live_view_pmd(&v, 0));
	for (int i = 0; i < 16; i++) {
		/* The zero page, or a real zero-filled page on some kernels. */
		bool is_zero = live_page_flags(c.pid, c.addr + (uint64_t)i * PAGE) &
			       (1ull << 24);

		zero += is_zero;
		assert_int_equal(live_view_pmd(&v, 0)->ptes[i], is_zero ? '0' : 'A');
	}
	assert_int_equal(v.vma->c.zero, zero);
	assert_int_equal(v.vma->c.anon, 16 - zero);
	live_view_free(&v);
	live_child_stop(&c);
}

static void test_holes(void **state)
{
	struct live_child c = live_child_start(layout_holes);
	struct live_view v;

	(void)state;
	live_view_of(&c, false, &v);
	assert_ptes(&v, 0, holes);
	live_view_free(&v);
	live_child_stop(&c);
}

/* A table two VMAs share is one pmd line with the pages of both (format 2). */
static void test_table_shared_by_two_vmas(void **state)
{
	struct live_child c = live_child_start(layout_split);
	const struct mthp_snapshot_pmd *pmd;
	struct live_view v;
	size_t first = SIZE_MAX;

	(void)state;
	live_view_of(&c, false, &v);
	for (size_t k = 0; k < v.snap.nr_vmas && first == SIZE_MAX; k++)
		if (v.snap.vmas[k].start == c.addr)
			first = k;
	assert_true(first + 1 < v.snap.nr_vmas);
	assert_int_equal(v.snap.vmas[first].end, c.addr + PMD_SIZE + 16 * PAGE);
	assert_int_equal(v.snap.vmas[first + 1].start, c.addr + PMD_SIZE + 16 * PAGE);
	pmd = live_view_pmd(&v, 1);
	assert_non_null(pmd);
	assert_int_equal(pmd->vma, first);
	for (uint32_t i = 0; i < N; i++)
		if (pmd->ptes[i] != 'A')
			fail_msg("pte %u of the shared table is '%c'", i, pmd->ptes[i]);
	live_view_free(&v);
	live_child_stop(&c);
}

static void test_collapse_makes_a_thp(void **state)
{
	struct live_child c = live_child_start(layout_small_pages);
	static char out[1 << 16], err[4096];
	char pid[16], line[128], range[64];
	uint64_t f;
	int rc = -1;

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	assert_int_equal(anon_huge_kb(c.pid, c.addr + PMD_SIZE), 0);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "collapse", "--pid", pid,
			     "--dry-run", NULL), 0);
	/* the range is written whole: the collapse fills nothing */
	snprintf(line, sizeof(line), "%llx 2048kB: would collapse, filling 0 pages "
		 "(0.00 MiB more memory)\n", (unsigned long long)(c.addr + PMD_SIZE));
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, " PMD ranges planned for collapse (dry run): "));
	assert_non_null(strstr(out, " MiB more memory\n"));
	assert_int_equal(anon_huge_kb(c.pid, c.addr + PMD_SIZE), 0);

	/*
	 * Only this range: other anon VMAs of the child (a big .bss) may hold
	 * planned ranges the host is free to refuse.  A busy host may have no
	 * free 2M page for a moment (ENOMEM): the tool reports it, the test
	 * shows what it said and tries again once.
	 */
	snprintf(range, sizeof(range), "%llx-%llx", (unsigned long long)(c.addr + PMD_SIZE),
		 (unsigned long long)(c.addr + 2 * PMD_SIZE));
	for (int tries = 0; tries < 2; tries++) {
		rc = live_run(out, sizeof(out), err, sizeof(err), "collapse", "--pid", pid,
			      "--range", range, NULL);
		if (rc == 0)
			break;
		print_message("collapse exit %d:\n%s%s", rc, out, err);
		sleep(1);
	}
	assert_int_equal(rc, 0);
	snprintf(line, sizeof(line), "%llx 2048kB: collapsed\n",
		 (unsigned long long)(c.addr + PMD_SIZE));
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, "1 of 1 planned PMD ranges collapsed\n"));
	assert_int_equal(anon_huge_kb(c.pid, c.addr + PMD_SIZE), 2048);
	f = live_page_flags(c.pid, c.addr + PMD_SIZE);
	assert_true(f & (1ull << 22));		/* KPF_THP */
	assert_true(f & (1ull << 15));		/* KPF_COMPOUND_HEAD */
	live_child_stop(&c);
}

static void test_collapse_range_and_errors(void **state)
{
	struct live_child c = live_child_start(layout_small_pages);
	static char out[1 << 16], err[4096];
	char pid[16], range[64];

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	/* A range that holds no planned PMD: nothing to do. */
	snprintf(range, sizeof(range), "%llx-%llx", (unsigned long long)c.addr,
		 (unsigned long long)(c.addr + PMD_SIZE));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "collapse", "--pid", pid,
			     "--range", range, NULL), 0);
	assert_non_null(strstr(out, "0 of 0 planned PMD ranges collapsed"));
	assert_int_equal(anon_huge_kb(c.pid, c.addr + PMD_SIZE), 0);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "collapse", "--pid", pid,
			     "--range", "zz", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "collapse", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "collapse", "--pid",
			     "1073741808", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	live_child_stop(&c);
}

/* ---- errors and commands ---- */

static void test_pid_that_does_not_exist(void **state)
{
	struct mthp_diag diag = { 0 };
	struct mthp_audit_proc p;
	struct mthp_snapshot snap;
	char out[4096], err[4096];

	(void)state;
	assert_int_equal(mthp_live_audit(0x3ffffff0, false, &p, &diag), -ESRCH);
	assert_non_null(strstr(diag.msg, "no such process"));
	assert_int_equal(mthp_live_snapshot(0x3ffffff0, &snap, &diag), -ESRCH);
	mthp_snapshot_free(&snap);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid",
			     "1073741808", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid",
			     "1073741808", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
}

static void test_usage_errors(void **state)
{
	char out[8192], err[8192];

	(void)state;
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--bogus", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", "x", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--json",
			     "--prometheus", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "snapshot", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--help", NULL), 0);
	assert_non_null(strstr(out, "anon-thp-pte-aligned"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "snapshot", "-h", NULL), 0);
	assert_non_null(strstr(out, "--pid"));
}

static void test_audit_json_and_prometheus(void **state)
{
	struct live_child c = live_child_start(layout_pmd_thp);
	static char out[1 << 20], err[4096];
	char pid[16], name[64];
	json_error_t jerr;
	json_t *doc, *proc;

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--json", NULL), 0);
	doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	proc = json_array_get(json_object_get(doc, "processes"), 0);
	assert_int_equal(json_integer_value(json_object_get(proc, "pid")), c.pid);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(proc, "counters"), "anon-thp-pmd-aligned-2048kB")), 2048);
	json_decref(doc);

	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--rollup", "--json", NULL), 0);
	doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(doc, "rollup"), "counters"), "anon-thp-pmd-aligned-2048kB")),
		2048);
	json_decref(doc);

	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--prometheus", NULL), 0);
	assert_non_null(strstr(out, "# TYPE mthp_anon_thp_kilobytes gauge\n"));
	snprintf(name, sizeof(name), "{pid=\"%s\",", pid);
	assert_non_null(strstr(out, name));
	assert_non_null(strstr(out, "name=\"anon-thp-pmd-aligned-2048kB\"} 2048\n"));

	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     NULL), 0);
	assert_non_null(strstr(out, "anon-thp-pmd-aligned-2048kB:        2048 kB"));
	live_child_stop(&c);
}

/* The audit of pid with opts; the VMA that holds addr (fails when none). */
static const struct mthp_audit_vma *audit_opts_vma(pid_t pid, const struct mthp_audit_opts *o,
						   uint64_t addr, struct mthp_audit_proc *p)
{
	struct mthp_diag diag = { 0 };

	if (mthp_live_audit_opts(pid, o, p, &diag) < 0)
		fail_msg("audit: %s", diag.msg);
	return live_audit_vma(p, addr);
}

/*
 * thpmaps's contiguous blocks: of the 511 pages left of the THP, the
 * 16-page blocks aligned in both addresses inside the runs 0-99 and
 * 101-511 (6 + 25 blocks); no 2M block, no PMD mapping.  A deferred split
 * of the folio (memory pressure) leaves order-0 pages: no block at all.
 */
static void test_cont_blocks(void **state)
{
	struct live_child c = live_child_start(layout_thp_with_hole);
	struct mthp_audit_opts o = { .cont_orders = 1u << 4 | 1u << 9 };
	static char out[1 << 16], err[4096];
	const struct mthp_audit_vma *v;
	struct mthp_audit_proc p;
	char pid[16];

	(void)state;
	v = audit_opts_vma(c.pid, &o, c.addr, &p);
	assert_int_equal(v->c.pmd_mapped, 0);
	assert_int_equal(v->c.cont_pte[9], 0);
	if (v->c.pte_partial == N - 1) {
		assert_int_equal(v->c.cont_pte[4], (6 + 25) * 16);
	} else {
		print_message("the THP was split before the audit: no blocks to count\n");
		assert_int_equal(v->c.pte_partial, 0);
		assert_int_equal(v->c.cont_pte[4], 0);
	}
	assert_int_equal(p.opts.cont_orders, o.cont_orders);
	mthp_audit_proc_free(&p);

	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--cont", "64K", "--rollup", "--prometheus", NULL), 0);
	assert_non_null(strstr(out, "# TYPE mthp_anon_cont_kilobytes gauge\n"));
	assert_non_null(strstr(out, "name=\"anon-cont-pte-aligned-64kB\"}"));
	assert_null(strstr(out, "mthp_file_"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     NULL), 0);
	assert_null(strstr(out, "-cont-"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--cont", "12K", NULL), 2);
	assert_non_null(strstr(err, "--cont 12K: must be a power of 2 pages"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--cont", "4M", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--cont", "1K", NULL), 2);
	assert_non_null(strstr(err, "not a size in whole 4096-byte pages"));
	live_child_stop(&c);
}

/*
 * --file: the shared mapping's 64 read pages are page cache; the private
 * one's 8 written pages are anon and its other pages are not mapped.
 * Without --file neither VMA is audited.
 */
static void test_file_vmas(void **state)
{
	struct live_child c = live_child_start(layout_file);
	struct mthp_audit_opts o = { .files = true };
	uint64_t shared = c.addr + 2 * PMD_SIZE, priv = shared + 64 * PAGE, thp = 0;
	const struct mthp_audit_vma *v;
	static char out[1 << 16], err[4096];
	struct mthp_audit_proc p;
	char pid[16];

	(void)state;
	v = audit_opts_vma(c.pid, &o, shared, &p);
	assert_int_equal(v->c.file, 64);
	assert_int_equal(v->c.anon, 0);
	assert_true(v->flags & MTHP_VMA_SHARED);
	for (unsigned k = 0; k <= MTHP_MAX_PMD_ORDER; k++)
		thp += v->c.file_pte_aligned[k] + v->c.file_pte_unaligned[k];
	/* large page-cache folios, if this file system makes them, are within */
	assert_true(thp + v->c.file_pte_partial <= 64);
	assert_int_equal(v->c.pte_partial + v->c.file_pmd_mapped, 0);
	mthp_audit_proc_free(&p);
	v = audit_opts_vma(c.pid, &o, priv, &p);
	assert_int_equal(v->c.anon, 8);
	assert_int_equal(v->c.file, 0);
	assert_int_equal(v->c.pmd_ranges, 0);
	mthp_audit_proc_free(&p);

	o.files = false;
	v = audit_opts_vma(c.pid, &o, c.addr, &p);
	for (size_t i = 0; i < p.nr_vmas; i++)
		assert_false(p.vmas[i].start <= shared && shared < p.vmas[i].end);
	mthp_audit_proc_free(&p);

	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--file", NULL), 0);
	assert_non_null(strstr(out, "file-total:                          256 kB\n"));
	live_child_stop(&c);
}

static void test_snapshot_command_round_trip(void **state)
{
	struct live_child c = live_child_start(layout_holes);
	static char out[1 << 20], err[4096];
	struct mthp_diag diag = { 0 };
	struct live_view v = { .addr = c.addr };
	char pid[16];

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid", pid,
			     NULL), 0);
	assert_memory_equal(out, "mthp-snapshot 2\n", 16);
	assert_non_null(strstr(out, "setting enabled "));
	assert_int_equal(mthp_snapshot_read_mem(&v.snap, out, strlen(out), "live.snap",
						&diag), 0);
	assert_non_null(live_view_pmd(&v, 0));
	mthp_snapshot_free(&v.snap);
	live_child_stop(&c);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pmd_thp_from_madv_collapse),
		cmocka_unit_test(test_shared_after_fork),
		cmocka_unit_test(test_zero_pages_from_reads),
		cmocka_unit_test(test_table_shared_by_two_vmas),
		cmocka_unit_test(test_holes),
		cmocka_unit_test(test_collapse_makes_a_thp),
		cmocka_unit_test(test_collapse_range_and_errors),
		cmocka_unit_test(test_pid_that_does_not_exist),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_audit_json_and_prometheus),
		cmocka_unit_test(test_snapshot_command_round_trip),
		cmocka_unit_test(test_cont_blocks),
		cmocka_unit_test(test_file_vmas),
	};

	return live_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
			      live_test_requirements(false));
}
