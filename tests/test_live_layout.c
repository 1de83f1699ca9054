// SPDX-License-Identifier: MIT
/*
 * test_live_layout.c - audit and snapshot of live processes with known
 * layouts, forked by the test: a PMD THP from MADV_COLLAPSE, 64K mTHPs
 * from faults (hugepages-64kB/enabled=always through the settings stack),
 * a partially mapped 64K folio, pages shared after fork, pages swapped
 * out to a temporary swap file (MADV_PAGEOUT), read faults
 * (zero page or real pages, whatever kpageflags says), holes; `collapse`
 * turning a planned range into a THP (smaps AnonHugePages, kpageflags);
 * and the errors and output formats of the commands.  Needs root and THP.
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

#include "cli/cli.h"
#include "helpers/live_skip.h"
#include "helpers/smaps.h"
#include "helpers/swapfile.h"
#include "helpers/thp_settings.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define PMD_SIZE (2ul << 20)
#define PAGE 4096ul
#define N 512

/* ---- the layout child ---- */

typedef void (*layout_fn)(char *a);

struct child {
	pid_t pid;
	uint64_t addr;		/* PMD-aligned start of the 3 PMD ranges */
};

/* Fork a child that maps 3 PMD ranges, lays them out, reports, sleeps. */
static struct child child_start(layout_fn layout)
{
	struct child c = { 0 };
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		char *p = mmap(NULL, 4 * PMD_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *a = (char *)(((uintptr_t)p + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
		uint64_t addr = (uintptr_t)a;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);		/* child_stop kills its children too */
		close(fds[0]);
		/* Its own VMA: unmap the slack so nothing merges into it. */
		if (a > p)
			munmap(p, (size_t)(a - p));
		munmap(a + 3 * PMD_SIZE, (size_t)(p + 4 * PMD_SIZE - (a + 3 * PMD_SIZE)));
		layout(a);
		if (write(fds[1], &addr, sizeof(addr)) != sizeof(addr))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c.addr, sizeof(c.addr)), sizeof(c.addr));
	close(fds[0]);
	return c;
}

static void child_stop(struct child *c)
{
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
}

static const struct mthp_audit_vma *audit_vma(const struct mthp_audit_proc *p,
					      uint64_t addr)
{
	for (size_t i = 0; i < p->nr_vmas; i++)
		if (p->vmas[i].start <= addr && addr < p->vmas[i].end)
			return &p->vmas[i];
	fail_msg("no audited VMA holds %#llx", (unsigned long long)addr);
	return NULL;
}

static const struct mthp_snapshot_pmd *snap_pmd(const struct mthp_snapshot *s,
						uint64_t addr)
{
	for (size_t i = 0; i < s->nr_pmds; i++)
		if (s->pmds[i].addr == addr)
			return &s->pmds[i];
	return NULL;
}

/* The PTE string of a table pmd line, as a C string (first len chars). */
static void pte_text(const struct mthp_snapshot_pmd *pmd, char *buf, size_t len)
{
	assert_non_null(pmd);
	assert_int_equal(pmd->kind, MTHP_PMD_TABLE);
	memcpy(buf, pmd->ptes, len);
	buf[len] = '\0';
}

static void snapshot_of(const struct child *c, struct mthp_snapshot *snap)
{
	struct mthp_diag diag = { 0 };
	int ret = mthp_live_snapshot(c->pid, snap, &diag);

	if (ret < 0)
		fail_msg("snapshot: %s", diag.msg);
}

static void audit_of(const struct child *c, bool ranges, struct mthp_audit_proc *p)
{
	struct mthp_diag diag = { 0 };
	int ret = mthp_live_audit(c->pid, ranges, p, &diag);

	if (ret < 0)
		fail_msg("audit: %s", diag.msg);
}

/* kpageflags of the page at addr in pid (0 when not present). */
static uint64_t page_flags(pid_t pid, uint64_t addr)
{
	char path[64];
	uint64_t e = 0, f = 0;
	int fd, kf;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	assert_true(fd >= 0 && kf >= 0);
	assert_int_equal(pread(fd, &e, 8, (off_t)(addr / PAGE * 8)), 8);
	if (e >> 63)
		assert_int_equal(pread(kf, &f, 8, (off_t)((e & ((1ull << 55) - 1)) * 8)), 8);
	close(fd);
	close(kf);
	return f;
}

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

/* 16 64K folios at the start of range 1 (the knob is set by the test). */
static void layout_64k(char *a)
{
	for (size_t off = 0; off < 16 * 65536; off += 65536)
		a[PMD_SIZE + off] = 1;
}

/* The same, then page 0 of the first folio and page 15 of the second unmapped. */
static void layout_64k_partial(char *a)
{
	layout_64k(a);
	madvise(a + PMD_SIZE, PAGE, MADV_DONTNEED);
	madvise(a + PMD_SIZE + 65536 + 15 * PAGE, PAGE, MADV_DONTNEED);
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

/* 512 pages written, the first 64 paged out to swap. */
static void layout_swapped(char *a)
{
	madvise(a, 3 * PMD_SIZE, MADV_NOHUGEPAGE);
	memset(a, 1, PMD_SIZE);
	if (madvise(a, 64 * PAGE, MADV_PAGEOUT))
		_exit(4);
}

/* Range 1 filled with order-0 pages (no THP at fault: enabled=madvise). */
static void layout_small_pages(char *a)
{
	memset(a + PMD_SIZE, 1, PMD_SIZE);
}

/* ---- cases ---- */

static void test_pmd_thp_from_madv_collapse(void **state)
{
	struct child c = child_start(layout_pmd_thp);
	struct mthp_audit_proc p;
	struct mthp_snapshot snap;
	const struct mthp_audit_vma *v;
	char ptes[N + 1];

	(void)state;
	audit_of(&c, true, &p);
	v = audit_vma(&p, c.addr);
	assert_int_equal(v->c.pmd_mapped, N);
	assert_int_equal(v->c.anon, N + 10);
	assert_int_equal(v->c.pte_aligned[9], 0);
	assert_int_equal(v->c.occupancy[8], 1);		/* the THP */
	assert_int_equal(v->c.occupancy[0], 2);		/* 10 pages, empty */
	assert_int_equal(v->c.pmd_ranges, 3);
	assert_int_equal(v->nr_ranges, 2);
	assert_true(v->ranges[0].huge);
	assert_int_equal(v->ranges[1].present, 10);
	mthp_audit_proc_free(&p);

	snapshot_of(&c, &snap);
	assert_non_null(snap_pmd(&snap, c.addr));
	assert_int_equal(snap_pmd(&snap, c.addr)->kind, MTHP_PMD_HUGE);
	pte_text(snap_pmd(&snap, c.addr + PMD_SIZE), ptes, N);
	assert_memory_equal(ptes, "AAAAAAAAAA.", 11);
	assert_int_equal(strspn(ptes + 10, "."), N - 10);
	assert_null(snap_pmd(&snap, c.addr + 2 * PMD_SIZE));
	mthp_snapshot_free(&snap);
	child_stop(&c);
}

static void test_64k_mthp_from_faults(void **state)
{
	struct child c;
	struct mthp_audit_proc p;
	struct mthp_snapshot snap;
	const struct mthp_snapshot_pmd *pmd;
	const struct mthp_audit_vma *v;

	(void)state;
	assert_int_equal(thp_settings_push("hugepages-64kB/enabled", "always"), 0);
	c = child_start(layout_64k);
	thp_settings_restore();
	audit_of(&c, false, &p);
	v = audit_vma(&p, c.addr);
	assert_int_equal(v->c.pte_aligned[4], 256);
	assert_int_equal(v->c.pte_unaligned[4], 0);
	assert_int_equal(v->c.pte_partial, 0);
	assert_int_equal(v->c.anon, 256);
	mthp_audit_proc_free(&p);

	snapshot_of(&c, &snap);
	pmd = snap_pmd(&snap, c.addr + PMD_SIZE);
	assert_non_null(pmd);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(pmd->ptes[i], i < 256 ? 'A' : '.');
		assert_int_equal(pmd->folio_orders[i], i < 256 ? 4 : MTHP_NO_FOLIO);
	}
	mthp_snapshot_free(&snap);
	child_stop(&c);
}

static void test_64k_partially_mapped(void **state)
{
	struct child c;
	struct mthp_audit_proc p;
	const struct mthp_audit_vma *v;
	struct mthp_snapshot snap;
	const struct mthp_snapshot_pmd *pmd;

	(void)state;
	assert_int_equal(thp_settings_push("hugepages-64kB/enabled", "always"), 0);
	c = child_start(layout_64k_partial);
	thp_settings_restore();
	audit_of(&c, false, &p);
	v = audit_vma(&p, c.addr);
	/* thpmaps: a run starting at a tail, and one ending before a tail */
	assert_int_equal(v->c.pte_partial, 30);
	assert_int_equal(v->c.pte_aligned[4], 14 * 16);
	assert_int_equal(v->c.anon, 254);
	mthp_audit_proc_free(&p);

	snapshot_of(&c, &snap);
	pmd = snap_pmd(&snap, c.addr + PMD_SIZE);
	assert_non_null(pmd);
	assert_int_equal(pmd->ptes[0], '.');
	assert_int_equal(pmd->ptes[1], 'A');
	assert_int_equal(pmd->folio_orders[1], 4);	/* still a 64K folio */
	assert_int_equal(pmd->ptes[31], '.');
	assert_int_equal(pmd->folio_orders[30], 4);
	mthp_snapshot_free(&snap);
	child_stop(&c);
}

static void test_shared_after_fork(void **state)
{
	struct child c = child_start(layout_shared);
	struct mthp_audit_proc p;
	struct mthp_snapshot snap;
	char ptes[N + 1];

	(void)state;
	audit_of(&c, false, &p);
	assert_int_equal(audit_vma(&p, c.addr)->c.shared, 32);
	assert_int_equal(audit_vma(&p, c.addr)->c.anon, 32);
	mthp_audit_proc_free(&p);
	snapshot_of(&c, &snap);
	pte_text(snap_pmd(&snap, c.addr), ptes, N);
	assert_int_equal(strspn(ptes, "S"), 32);
	assert_int_equal(strspn(ptes + 32, "."), N - 32);
	mthp_snapshot_free(&snap);
	child_stop(&c);
}

static void test_zero_pages_from_reads(void **state)
{
	struct child c = child_start(layout_reads);
	struct mthp_audit_proc p;
	struct mthp_snapshot snap;
	const struct mthp_snapshot_pmd *pmd;
	const struct mthp_audit_vma *v;
	uint64_t zero = 0;

	(void)state;
	snapshot_of(&c, &snap);
	pmd = snap_pmd(&snap, c.addr);
	assert_non_null(pmd);
	for (int i = 0; i < 16; i++) {
		/* The zero page, or a real zero-filled page on some kernels. */
		bool is_zero = page_flags(c.pid, c.addr + (uint64_t)i * PAGE) &
			       (1ull << 24);

		zero += is_zero;
		assert_int_equal(pmd->ptes[i], is_zero ? '0' : 'A');
	}
	mthp_snapshot_free(&snap);
	audit_of(&c, false, &p);
	v = audit_vma(&p, c.addr);
	assert_int_equal(v->c.zero, zero);
	assert_int_equal(v->c.anon, 16 - zero);
	mthp_audit_proc_free(&p);
	child_stop(&c);
}

static void test_holes(void **state)
{
	struct child c = child_start(layout_holes);
	struct mthp_snapshot snap;
	char ptes[N + 1];
	size_t len = sizeof(holes) - 1;

	(void)state;
	snapshot_of(&c, &snap);
	pte_text(snap_pmd(&snap, c.addr), ptes, N);
	assert_memory_equal(ptes, holes, len);
	assert_int_equal(strspn(ptes + len, "."), N - len);
	assert_int_equal(snap.nr_pmds > 0, 1);
	mthp_snapshot_free(&snap);
	child_stop(&c);
}

static bool swap_listed(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/swaps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, "mthp-test-swap.") != NULL;
	fclose(f);
	return found;
}

static void test_swapped_out_pages(void **state)
{
	struct child c;
	struct mthp_audit_proc p;
	struct mthp_snapshot snap;
	const struct mthp_audit_vma *v;
	char ptes[N + 1];
	int ret;

	(void)state;
	ret = swapfile_create("/var/tmp", 32);
	if (ret < 0)
		skip();		/* e.g. a file system without swap files */
	assert_true(swap_listed());
	c = child_start(layout_swapped);
	audit_of(&c, false, &p);
	v = audit_vma(&p, c.addr);
	assert_int_equal(v->c.swap, 64);
	assert_int_equal(v->c.anon, N - 64);
	mthp_audit_proc_free(&p);
	snapshot_of(&c, &snap);
	pte_text(snap_pmd(&snap, c.addr), ptes, N);
	assert_int_equal(strspn(ptes, "w"), 64);
	assert_int_equal(strspn(ptes + 64, "A"), N - 64);
	assert_int_equal(snap_pmd(&snap, c.addr)->folio_orders[0], MTHP_NO_FOLIO);
	mthp_snapshot_free(&snap);
	child_stop(&c);
	swapfile_remove();
	assert_false(swap_listed());
}

static int run(char *out, size_t outlen, char *err, size_t errlen, ...);

static void test_collapse_makes_a_thp(void **state)
{
	struct child c = child_start(layout_small_pages);
	static char out[1 << 16], err[4096];
	char pid[16], line[128];
	uint64_t f;

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	assert_int_equal(anon_huge_kb(c.pid, c.addr + PMD_SIZE), 0);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "collapse", "--pid", pid,
			     "--dry-run", NULL), 0);
	snprintf(line, sizeof(line), "%llx 2048kB: would collapse\n",
		 (unsigned long long)(c.addr + PMD_SIZE));
	assert_non_null(strstr(out, line));
	assert_int_equal(anon_huge_kb(c.pid, c.addr + PMD_SIZE), 0);

	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "collapse", "--pid", pid,
			     NULL), 0);
	snprintf(line, sizeof(line), "%llx 2048kB: collapsed\n",
		 (unsigned long long)(c.addr + PMD_SIZE));
	assert_non_null(strstr(out, line));
	/* Other anon VMAs of the child (a big .bss) may hold planned ranges too. */
	assert_non_null(strstr(out, " planned PMD ranges collapsed\n"));
	assert_int_equal(anon_huge_kb(c.pid, c.addr + PMD_SIZE), 2048);
	f = page_flags(c.pid, c.addr + PMD_SIZE);
	assert_true(f & (1ull << 22));		/* KPF_THP */
	assert_true(f & (1ull << 15));		/* KPF_COMPOUND_HEAD */
	child_stop(&c);
}

static void test_collapse_range_and_errors(void **state)
{
	struct child c = child_start(layout_small_pages);
	static char out[1 << 16], err[4096];
	char pid[16], range[64];

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	/* A range that holds no planned PMD: nothing to do. */
	snprintf(range, sizeof(range), "%llx-%llx", (unsigned long long)c.addr,
		 (unsigned long long)(c.addr + PMD_SIZE));
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "collapse", "--pid", pid,
			     "--range", range, NULL), 0);
	assert_non_null(strstr(out, "0 of 0 planned PMD ranges collapsed"));
	assert_int_equal(anon_huge_kb(c.pid, c.addr + PMD_SIZE), 0);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "collapse", "--pid", pid,
			     "--range", "zz", NULL), 2);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "collapse", NULL), 2);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "collapse", "--pid",
			     "1073741808", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	child_stop(&c);
}

/* ---- errors and commands ---- */

static int run(char *out, size_t outlen, char *err, size_t errlen, ...)
{
	char *argv[16];
	int argc = 0, status;
	va_list ap;
	FILE *fo = fmemopen(out, outlen, "w"), *fe = fmemopen(err, errlen, "w");

	va_start(ap, errlen);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	status = mthp_cli_run(argc, argv, fo, fe);
	fclose(fo);
	fclose(fe);
	return status;
}

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
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid",
			     "1073741808", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid",
			     "1073741808", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
}

static void test_usage_errors(void **state)
{
	char out[8192], err[8192];

	(void)state;
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--bogus", NULL), 2);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid", "x", NULL), 2);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--json",
			     "--prometheus", NULL), 2);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "snapshot", NULL), 2);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--help", NULL), 0);
	assert_non_null(strstr(out, "anon-thp-pte-aligned"));
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "snapshot", "-h", NULL), 0);
	assert_non_null(strstr(out, "--pid"));
}

static void test_audit_json_and_prometheus(void **state)
{
	struct child c = child_start(layout_pmd_thp);
	static char out[1 << 20], err[4096];
	char pid[16], name[64];
	json_error_t jerr;
	json_t *doc, *proc;

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--json", NULL), 0);
	doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	proc = json_array_get(json_object_get(doc, "processes"), 0);
	assert_int_equal(json_integer_value(json_object_get(proc, "pid")), c.pid);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(proc, "counters"), "anon-thp-pmd-aligned-2048kB")), 2048);
	json_decref(doc);

	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--rollup", "--json", NULL), 0);
	doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(doc, "rollup"), "counters"), "anon-thp-pmd-aligned-2048kB")),
		2048);
	json_decref(doc);

	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     "--prometheus", NULL), 0);
	assert_non_null(strstr(out, "# TYPE mthp_anon_thp_kilobytes gauge\n"));
	snprintf(name, sizeof(name), "{pid=\"%s\",", pid);
	assert_non_null(strstr(out, name));
	assert_non_null(strstr(out, "name=\"anon-thp-pmd-aligned-2048kB\"} 2048\n"));

	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid", pid,
			     NULL), 0);
	assert_non_null(strstr(out, "anon-thp-pmd-aligned-2048kB:        2048 kB"));
	child_stop(&c);
}

static void test_snapshot_command_round_trip(void **state)
{
	struct child c = child_start(layout_holes);
	static char out[1 << 20], err[4096];
	struct mthp_diag diag = { 0 };
	struct mthp_snapshot snap;
	char pid[16];

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid", pid,
			     NULL), 0);
	assert_memory_equal(out, "mthp-snapshot 1\n", 16);
	assert_non_null(strstr(out, "setting enabled "));
	assert_int_equal(mthp_snapshot_read_mem(&snap, out, strlen(out), "live.snap",
						&diag), 0);
	assert_non_null(snap_pmd(&snap, c.addr));
	mthp_snapshot_free(&snap);
	child_stop(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pmd_thp_from_madv_collapse),
		cmocka_unit_test(test_64k_mthp_from_faults),
		cmocka_unit_test(test_64k_partially_mapped),
		cmocka_unit_test(test_shared_after_fork),
		cmocka_unit_test(test_zero_pages_from_reads),
		cmocka_unit_test(test_holes),
		cmocka_unit_test(test_swapped_out_pages),
		cmocka_unit_test(test_collapse_makes_a_thp),
		cmocka_unit_test(test_collapse_range_and_errors),
		cmocka_unit_test(test_pid_that_does_not_exist),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_audit_json_and_prometheus),
		cmocka_unit_test(test_snapshot_command_round_trip),
	};
	int failed;
	int unmet = live_test_requirements(true);

	if (unmet)
		return unmet;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	swapfile_remove();
	thp_settings_restore();
	if (!thp_settings_verify()) {
		fprintf(stderr, "a THP knob was left changed\n");
		return 1;
	}
	return failed ? 1 : 0;
}
