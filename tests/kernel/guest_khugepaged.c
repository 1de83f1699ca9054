// SPDX-License-Identifier: MIT
/*
 * guest_khugepaged.c - runs inside the test guest (make check-kernel): lays
 * out PTE patterns in PMD-aligned ranges of a child process, snapshots
 * them with `mthp snapshot --pid`, lets the real khugepaged make exactly
 * one full pass over them under a batch of THP settings, and snapshots the
 * result.  It decides nothing: the host plans the first snapshot and
 * compares the plan with the folios of the second (tests/kernel/compare.c).
 *
 *   guest_khugepaged OUT_DIR
 *
 * For each batch it writes OUT_DIR/NN-NAME/ with:
 *   settings      the THP knobs of the batch, KNOB=VALUE, one a line
 *   intended      one line per range: address, VMA flags, the pattern asked for
 *   before.snap   the ranges before the pass (every anon page shown young)
 *   old           one line per range: address and the PTE indexes made old
 *   after.snap    the ranges after exactly one full khugepaged pass
 *   steady.snap   the ranges once khugepaged has made a full pass that
 *                 collapsed nothing (at most MAX_PASSES passes in all)
 *   steady-passes the number of passes that took, the quiet one included
 *   stats-steady  the stats files then
 *   stats-before, stats-after   every hugepages-SIZE/stats/ counter and
 *                 khugepaged/pages_collapsed, NAME VALUE a line
 *   trace         tracefs's text trace of the huge_memory events from the
 *                 registration to the end of the pass (no file without
 *                 tracefs)
 *
 * How the patterns are made (PTE alphabet of docs/snapshot-format.md):
 *   S, s   written before the child forks a helper that stays alive, so
 *          the folio is mapped twice; s is made old (MADV_COLD) before the
 *          fork (MADV_COLD leaves a folio mapped twice alone)
 *   A, a   written after the fork; a is made old with MADV_COLD
 *   w      written after the fork, then MADV_PAGEOUT to the zram swap
 *   0      read: the shared zero page
 * While they are made every THP size is "never": khugepaged is stopped and
 * faults give order-0 folios.  Then the batch's settings are written and
 * the child registers with khugepaged by MADV_HUGEPAGE on an extra VMA
 * below the cases (this program runs with PR_SET_THP_DISABLE, inherited
 * by the mthp processes it starts, so they never register; the child
 * clears it).  The last range is a canary, every page young in a hugepage
 * VMA: the pass that scanned the child is the one that ends
 * (khugepaged/full_scans) with the canary collapsed.  The scan sleep (10
 * minutes) keeps a second pass away.
 *
 * Exit status: 0 when every batch ran (disagreements are the host's to
 * find), 1 when the machinery failed (a knob, a pipe, a snapshot).
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/rng.h"
#include "guest.h"

#define NR_PTES 512
#define PAGE 4096ul
#define PMD_SIZE (NR_PTES * PAGE)
#define BASE_ADDR 0x100000000000ul	/* case i at BASE + i * 2 PMDs */
#define MAX_CASES 64
#define PASS_TIMEOUT_MS 120000
#define MAX_PASSES 8		/* the steady state: a quiet pass by then */
#define SCAN_SLEEP_MS "600000"
#define ANCHOR_ADDR (BASE_ADDR - 2 * PMD_SIZE)	/* the VMA that registers */
#define PM_PRESENT (1ull << 63)
#define PM_PFN_MASK ((1ull << 55) - 1)
#define KPF_THP 22

struct kcase {
	char ptes[NR_PTES + 1];
	bool hugepage;		/* VM_HUGEPAGE on its VMA */
};

struct batch {
	const char *name;
	const char *global;		/* enabled */
	const char *size_mode[GUEST_NR_SIZES];	/* hugepages-SIZE/enabled */
	unsigned max_none, max_swap, max_shared;
	int nr_cases;
	struct kcase cases[MAX_CASES];
};

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		guest_say("cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	fputs(text, f);
	if (fclose(f)) {
		guest_say("cannot write %s", path);
		return -EIO;
	}
	return 0;
}

/* The batch's knobs: written to sysfs and, for planning, to DIR/settings. */
static int thp_apply(const struct batch *b, const char *dir)
{
	char knob[64], num[16], path[300], text[1024];
	size_t len = 0;

	if (guest_knob_write("khugepaged/scan_sleep_millisecs", SCAN_SLEEP_MS) ||
	    guest_knob_write("khugepaged/alloc_sleep_millisecs", "60000") ||
	    guest_knob_write("khugepaged/pages_to_scan", "16777216"))
		return -EIO;
	snprintf(num, sizeof(num), "%u", b->max_none);
	if (guest_knob_write("khugepaged/max_ptes_none", num))
		return -EIO;
	len += snprintf(text + len, sizeof(text) - len, "khugepaged/max_ptes_none=%s\n", num);
	snprintf(num, sizeof(num), "%u", b->max_swap);
	if (guest_knob_write("khugepaged/max_ptes_swap", num))
		return -EIO;
	len += snprintf(text + len, sizeof(text) - len, "khugepaged/max_ptes_swap=%s\n", num);
	snprintf(num, sizeof(num), "%u", b->max_shared);
	if (guest_knob_write("khugepaged/max_ptes_shared", num))
		return -EIO;
	len += snprintf(text + len, sizeof(text) - len, "khugepaged/max_ptes_shared=%s\n", num);
	if (guest_knob_write("enabled", b->global))
		return -EIO;
	len += snprintf(text + len, sizeof(text) - len, "enabled=%s\n", b->global);
	for (size_t i = 0; i < GUEST_NR_SIZES; i++) {
		snprintf(knob, sizeof(knob), "hugepages-%s/enabled", guest_sizes[i]);
		if (guest_knob_write(knob, b->size_mode[i]))
			return -EIO;
		len += snprintf(text + len, sizeof(text) - len, "%s=%s\n", knob,
				b->size_mode[i]);
	}
	snprintf(path, sizeof(path), "%s/settings", dir);
	return write_file(path, text);
}

/*
 * The per-size stats of collapses and of swap-ins (khugepaged's swap-ins
 * from zram bring in whole folios), pages_collapsed and full_scans, NAME
 * VALUE a line.
 */
static int stats_save(const char *dir, const char *name)
{
	static const char *const stats[] = {
		"collapse_alloc", "collapse_alloc_failed", "collapse_exceed_none_pte",
		"collapse_exceed_swap_pte", "collapse_exceed_shared_pte", "swpin",
		"swpin_fallback", "swpin_fallback_charge",
	};
	char path[512], knob[128];
	unsigned long v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		guest_say("cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < GUEST_NR_SIZES; i++) {
		for (size_t s = 0; s < sizeof(stats) / sizeof(stats[0]); s++) {
			snprintf(knob, sizeof(knob), "hugepages-%s/stats/%s",
				 guest_sizes[i], stats[s]);
			if (guest_knob_read(knob, &v) == 0)
				fprintf(f, "%s %lu\n", knob, v);
		}
	}
	if (guest_knob_read("khugepaged/pages_collapsed", &v) == 0)
		fprintf(f, "khugepaged/pages_collapsed %lu\n", v);
	if (guest_knob_read("khugepaged/full_scans", &v) == 0)
		fprintf(f, "khugepaged/full_scans %lu\n", v);
	return fclose(f) ? -EIO : 0;
}

/* ---- the child that holds the patterns ---- */

static void *case_addr(int i)
{
	return (void *)(BASE_ADDR + (unsigned long)i * 2 * PMD_SIZE);
}

/* madvise every run of PTEs whose state is in 'states'. */
static int advise_runs(char *base, const char *ptes, const char *states, int advice)
{
	for (int i = 0; i < NR_PTES;) {
		int j = i;

		if (!strchr(states, ptes[i])) {
			i++;
			continue;
		}
		while (j < NR_PTES && strchr(states, ptes[j]))
			j++;
		if (madvise(base + i * PAGE, (j - i) * PAGE, advice))
			return -errno;
		i = j;
	}
	return 0;
}

static void touch(char *base, const char *ptes, const char *states)
{
	for (int i = 0; i < NR_PTES; i++) {
		volatile char *p = base + i * PAGE;

		if (!strchr(states, ptes[i]))
			continue;
		if (ptes[i] == '0')
			(void)*p;
		else
			*(volatile uint64_t *)p = (uint64_t)(uintptr_t)p | 1;
	}
}

static int child_map(const struct batch *b)
{
	for (int i = 0; i < b->nr_cases; i++) {
		char *p = mmap(case_addr(i), PMD_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (p == MAP_FAILED)
			return -errno;
		if (b->cases[i].hugepage && madvise(p, PMD_SIZE, MADV_HUGEPAGE))
			return -errno;
	}
	return 0;
}

/*
 * The extra VMA before the cases, with one page written while every size
 * is never: khugepaged takes no VMA without an anon_vma.  Not compared.
 */
static int child_map_anchor(void)
{
	char *p = mmap((void *)ANCHOR_ADDR, PMD_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	*(volatile char *)p = 1;
	/* old, so khugepaged allocates nothing for it (SCAN_LACK_REFERENCED_PAGE) */
	return madvise(p, PAGE, MADV_COLD) ? -errno : 0;
}

/* The helper that keeps the S/s folios mapped twice; dies with the child. */
static int fork_sharer(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return 0;
}

/*
 * In every case of the batch: write the PTEs whose state is in TOUCHED,
 * then make the runs in COLD old and page out those in OUT (if not NULL).
 */
static int write_cases(const struct batch *b, const char *touched, const char *cold,
		       const char *out)
{
	int ret;

	for (int i = 0; i < b->nr_cases; i++) {
		touch(case_addr(i), b->cases[i].ptes, touched);
		ret = advise_runs(case_addr(i), b->cases[i].ptes, cold, MADV_COLD);
		if (!ret && out)
			ret = advise_runs(case_addr(i), b->cases[i].ptes, out, MADV_PAGEOUT);
		if (ret)
			return ret;
	}
	return 0;
}

static int child_setup(const struct batch *b)
{
	int ret;

	if (prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0))
		return -errno;
	ret = child_map(b);
	if (!ret)
		ret = child_map_anchor();
	if (ret)
		return ret;
	/* the shared states first, so that the sharer maps them twice */
	ret = write_cases(b, "Ss", "s", NULL);
	if (!ret)
		ret = fork_sharer();
	if (!ret)
		ret = write_cases(b, "Aaw0", "a", "w");
	return ret;
}

/* Make the child's mm known to khugepaged: the anchor becomes VM_HUGEPAGE. */
static int child_register(void)
{
	return madvise((void *)ANCHOR_ADDR, PMD_SIZE, MADV_HUGEPAGE) ? -errno : 0;
}

/* Commands on cmd_fd: 'R' register; EOF: exit.  Replies on ack_fd. */
static void child_main(const struct batch *b, int cmd_fd, int ack_fd)
{
	char c = 'r';
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ret = child_setup(b);
	if (ret) {
		guest_say("child: setting up the patterns failed: %s", strerror(-ret));
		_exit(1);
	}
	if (write(ack_fd, &c, 1) != 1)
		_exit(1);
	while (read(cmd_fd, &c, 1) == 1) {
		if (c == 'R') {
			ret = child_register();
			c = ret ? 'e' : 'r';
			if (ret)
				guest_say("child: MADV_HUGEPAGE failed: %s", strerror(-ret));
			if (write(ack_fd, &c, 1) != 1)
				_exit(1);
		}
	}
	_exit(0);
}

/* ---- the runner ---- */

struct child {
	pid_t pid;
	int cmd_fd, ack_fd;
};

static int child_start(struct child *ch, const struct batch *b)
{
	int cmd[2], ack[2];

	if (pipe(cmd))
		return -errno;
	if (pipe(ack)) {
		close(cmd[0]);
		close(cmd[1]);
		return -errno;
	}
	ch->pid = fork();
	if (ch->pid < 0) {
		int ret = -errno;

		close(cmd[0]);
		close(cmd[1]);
		close(ack[0]);
		close(ack[1]);
		return ret;
	}
	if (ch->pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		child_main(b, cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	ch->cmd_fd = cmd[1];
	ch->ack_fd = ack[0];
	return 0;
}

static int child_ack(struct child *ch)
{
	char c;

	if (read(ch->ack_fd, &c, 1) != 1 || c != 'r') {
		guest_say("the pattern child failed (see above)");
		return -EIO;
	}
	return 0;
}

static void child_stop(struct child *ch)
{
	close(ch->cmd_fd);
	close(ch->ack_fd);
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, NULL, 0);
}

/* Does a table line of the snapshot at path show a locked folio ('K')? */
static bool shows_locked_folio(const char *path)
{
	char line[20000], kind[16];
	bool locked = false;
	FILE *f = fopen(path, "r");

	while (f && !locked && fgets(line, sizeof(line), f)) {
		int at = 0;

		if (sscanf(line, "pmd %*s %15s %n", kind, &at) == 1 && at &&
		    !strcmp(kind, "table"))
			locked = strcspn(line + at, " \n") > strcspn(line + at, "K");
	}
	if (f)
		fclose(f);
	return locked;
}

/*
 * No pattern locks a folio, so a 'K' is another task of the guest holding
 * a folio lock for a moment as the snapshot was taken: take it again,
 * after a short wait (a snapshot that would not plan what khugepaged then
 * meets).
 */
static int snapshot_to(pid_t pid, const char *dir, const char *name)
{
	struct timespec wait = { 0, 20 * 1000 * 1000 };
	char path[300];
	int ret, tries = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	do {
		if (tries)
			nanosleep(&wait, NULL);
		ret = guest_snapshot(pid, path);
	} while (!ret && shows_locked_folio(path) && ++tries < 50);
	if (tries)
		guest_say("%s: a folio was locked in %d snapshot%s, taken again", path, tries,
			  tries == 1 ? "" : "s");
	return ret;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the page at addr of process pid in a large folio? (pagemap, kpageflags) */
static int in_large_folio(pid_t pid, unsigned long addr, bool *large)
{
	char path[64];
	uint64_t e, flags;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	if (pread(fd, &e, sizeof(e), (off_t)(addr / PAGE * sizeof(e))) != sizeof(e))
		ret = -EIO;
	close(fd);
	*large = false;
	if (ret || !(e & PM_PRESENT))
		return ret;
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0)
		return -errno;
	if (pread(fd, &flags, sizeof(flags), (off_t)((e & PM_PFN_MASK) * sizeof(flags))) !=
	    sizeof(flags))
		ret = -EIO;
	close(fd);
	*large = !ret && (flags & (1ull << KPF_THP));
	return ret;
}

/*
 * Wait for the pass that scanned the child: full_scans above start and
 * the canary (the last range, every page young, in a hugepage VMA)
 * collapsed.  A pass that ends without the canary collapsed was one over
 * the other processes that began before the registration: wait for the
 * next.  khugepaged is woken by writing the scan sleep when nothing has
 * happened for 3 s.  Then check that no other pass followed.  *before:
 * the passes that ended after start and before the awaited one (the
 * batch's settings wake khugepaged, and a pass over the other processes
 * can end first), which the simulator, making one pass, does not make.
 */
static int wait_one_pass(pid_t pid, unsigned long canary, unsigned long start,
			 long *pass_ms, unsigned long *before)
{
	long t0 = now_ms(), kicked = t0;
	unsigned long scans = start, first = start;
	bool done = false;
	int ret;

	while (!done) {
		if (now_ms() - t0 > PASS_TIMEOUT_MS) {
			guest_say("khugepaged made no full pass over the child in %d s",
				  PASS_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		if (now_ms() - kicked > 3000) {
			kicked = now_ms();
			if (guest_knob_write("khugepaged/scan_sleep_millisecs", SCAN_SLEEP_MS))
				return -EIO;
		}
		usleep(5000);
		if (guest_knob_read("khugepaged/full_scans", &scans))
			return -EIO;
		if (scans == start)
			continue;
		ret = in_large_folio(pid, canary, &done);
		if (ret) {
			guest_say("cannot read the canary's folio: %s", strerror(-ret));
			return ret;
		}
		if (!done)
			start = scans;
	}
	*pass_ms = now_ms() - t0;
	/* passes that ended before the awaited one, within one poll or not */
	*before = scans - first - 1;
	usleep(200000);
	if (guest_knob_read("khugepaged/full_scans", &start))
		return -EIO;
	if (start != scans) {
		guest_say("khugepaged made %lu more passes", start - scans);
		return -EAGAIN;
	}
	return 0;
}

/*
 * After the first pass: wake khugepaged for one full pass after another
 * until one collapses nothing (khugepaged/pages_collapsed unchanged over
 * it), at most MAX_PASSES in all.  *passes: the passes made, the first
 * one included.
 */
static int run_to_steady_state(unsigned *passes)
{
	unsigned long scans, collapsed, before, now;
	long t0;

	if (guest_knob_read("khugepaged/full_scans", &scans) ||
	    guest_knob_read("khugepaged/pages_collapsed", &collapsed))
		return -EIO;
	for (*passes = 1; *passes < MAX_PASSES;) {
		before = collapsed;
		if (guest_knob_write("khugepaged/scan_sleep_millisecs", SCAN_SLEEP_MS))
			return -EIO;
		for (t0 = now_ms();; usleep(5000)) {
			if (guest_knob_read("khugepaged/full_scans", &now))
				return -EIO;
			if (now != scans)
				break;
			if (now_ms() - t0 > PASS_TIMEOUT_MS) {
				guest_say("khugepaged made no further pass in %d s",
					  PASS_TIMEOUT_MS / 1000);
				return -ETIMEDOUT;
			}
		}
		scans = now;
		++*passes;
		if (guest_knob_read("khugepaged/pages_collapsed", &collapsed))
			return -EIO;
		if (collapsed == before)
			return 0;
	}
	guest_say("no pass without a collapse in %u passes", MAX_PASSES);
	return 0;
}

/* ---- the kernel's trace of the pass ---- */

#define TRACEFS "/sys/kernel/tracing"

/* Write value to a tracefs file (O_TRUNC: "" empties the trace); 0 or -errno. */
static int tracefs_write(const char *file, const char *value)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (*value && write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Trace the huge_memory events from now on, into an empty buffer; false
 * (and no trace kept) on a kernel without tracefs.
 */
static bool trace_start(void)
{
	return !tracefs_write("tracing_on", "0") && !tracefs_write("trace", "") &&
	       !tracefs_write("events/huge_memory/enable", "1") &&
	       !tracefs_write("tracing_on", "1");
}

/* Stop the trace and keep it as DIR/trace. */
static int trace_save(const char *dir)
{
	char path[300], buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	tracefs_write("tracing_on", "0");
	tracefs_write("events/huge_memory/enable", "0");
	snprintf(path, sizeof(path), "%s/trace", dir);
	in = open(TRACEFS "/trace", O_RDONLY);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0) {
		ret = -errno;
	} else {
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n) {
				ret = -EIO;
				break;
			}
		if (n < 0)
			ret = -errno;
	}
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) && !ret)
		ret = -EIO;
	if (ret)
		guest_say("cannot keep the trace in %s: %s", path, strerror(-ret));
	return ret;
}

static int write_intended(const struct batch *b, const char *dir)
{
	char path[300];
	FILE *f, *old;

	snprintf(path, sizeof(path), "%s/intended", dir);
	f = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/old", dir);
	old = fopen(path, "w");
	if (!f || !old) {
		guest_say("cannot create the files of %s", dir);
		if (f)
			fclose(f);
		if (old)
			fclose(old);
		return -EIO;
	}
	for (int i = 0; i < b->nr_cases; i++) {
		unsigned long addr = (unsigned long)case_addr(i);

		fprintf(f, "%lx %s %s\n", addr, b->cases[i].hugepage ? "hugepage" : "-",
			b->cases[i].ptes);
		fprintf(old, "%lx", addr);
		for (int k = 0; k < NR_PTES; k++)
			if (b->cases[i].ptes[k] == 'a' || b->cases[i].ptes[k] == 's')
				fprintf(old, " %d", k);
		fprintf(old, "\n");
	}
	fclose(old);
	return fclose(f) ? -EIO : 0;
}

static int run_batch(const struct batch *b, const char *out, int index)
{
	char dir[256];
	struct child ch = { .pid = -1, .cmd_fd = -1, .ack_fd = -1 };
	unsigned long start;
	long pass_ms = 0;
	unsigned long passes_before = 0;
	bool traced = false;
	unsigned passes = 0;
	char c = 'R', path[300], line[16];
	int ret;

	snprintf(dir, sizeof(dir), "%s/%02d-%s", out, index, b->name);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		guest_say("cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	ret = guest_thp_all_never();
	if (ret)
		return ret;
	ret = write_intended(b, dir);
	if (ret)
		return ret;
	ret = child_start(&ch, b);
	if (ret)
		return ret;
	ret = child_ack(&ch);
	if (!ret)
		ret = snapshot_to(ch.pid, dir, "before.snap");
	if (!ret)
		ret = thp_apply(b, dir);
	if (!ret)
		ret = stats_save(dir, "stats-before");
	if (!ret)
		ret = guest_knob_read("khugepaged/full_scans", &start);
	if (ret)
		goto out_stop;
	traced = trace_start();
	if (write(ch.cmd_fd, &c, 1) != 1 || child_ack(&ch)) {
		ret = -EIO;
		goto out_stop;
	}
	ret = wait_one_pass(ch.pid, (unsigned long)case_addr(b->nr_cases - 1), start,
			    &pass_ms, &passes_before);
	if (!ret) {
		snprintf(path, sizeof(path), "%s/passes-before", dir);
		snprintf(line, sizeof(line), "%lu\n", passes_before);
		ret = write_file(path, line);
	}
	if (!ret)
		ret = stats_save(dir, "stats-after");
	if (!ret && traced)
		ret = trace_save(dir);
	if (!ret)
		ret = snapshot_to(ch.pid, dir, "after.snap");
	if (!ret)
		ret = run_to_steady_state(&passes);
	if (!ret)
		ret = snapshot_to(ch.pid, dir, "steady.snap");
	if (!ret)
		ret = stats_save(dir, "stats-steady");
	if (!ret) {
		snprintf(path, sizeof(path), "%s/steady-passes", dir);
		snprintf(line, sizeof(line), "%u\n", passes);
		ret = write_file(path, line);
	}
out_stop:
	guest_thp_all_never();
	child_stop(&ch);
	printf("batch %02d-%s: %d ranges, pass %ld ms, steady after %u passes, %s\n",
	       index, b->name, b->nr_cases, pass_ms, passes, ret ? "FAILED" : "done");
	fflush(stdout);
	return ret;
}

/* ---- the patterns ---- */

static void fill(char *ptes, int off, int n, char state)
{
	memset(ptes + off, state, n);
}

static struct kcase *add_case(struct batch *b, bool hugepage)
{
	struct kcase *c;

	if (b->nr_cases >= MAX_CASES)
		return NULL;
	c = &b->cases[b->nr_cases++];
	memset(c->ptes, '.', NR_PTES);
	c->ptes[NR_PTES] = '\0';
	c->hugepage = hugepage;
	return c;
}

/* A table of young pages with a run of n (at most 400) 'state' at off. */
static void add_run_in_young(struct batch *b, bool hugepage, int off, unsigned n, char state)
{
	struct kcase *c = add_case(b, hugepage);

	if (!c)
		return;
	fill(c->ptes, 0, NR_PTES, 'A');
	fill(c->ptes, off, n < 400 ? (int)n : 400, state);
}

/*
 * Hand-made patterns around the limits: runs at aligned and misaligned
 * offsets, counts of none, swap and shared PTEs just under and over the
 * limits, old pages with and without a young one.
 */
static void add_fixed(struct batch *b, bool hugepage)
{
	static const int runs[][2] = {	/* offset, length of an A run */
		{ 0, 512 }, { 0, 4 }, { 0, 16 }, { 16, 16 }, { 8, 16 }, { 0, 48 },
		{ 64, 64 }, { 100, 200 }, { 256, 256 }, { 0, 511 }, { 1, 511 },
		{ 0, 257 }, { 3, 1 },
	};
	struct kcase *c;

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		c = add_case(b, hugepage);
		if (c)
			fill(c->ptes, runs[i][0], runs[i][1], 'A');
	}
	for (unsigned above = 0; above < 2; above++) {	/* at the limits, then one over */
		add_run_in_young(b, hugepage, 32, b->max_swap + above, 'w');
		add_run_in_young(b, hugepage, 64, b->max_shared + above, 'S');
	}
	add_run_in_young(b, hugepage, 48, 4, 'S');	/* the per-CPU LRU batch case */
	c = add_case(b, hugepage);	/* all old */
	if (c)
		fill(c->ptes, 0, NR_PTES, 'a');
	c = add_case(b, hugepage);	/* old but one young page */
	if (c) {
		fill(c->ptes, 0, NR_PTES, 'a');
		c->ptes[300] = 'A';
	}
	c = add_case(b, hugepage);	/* old 64K windows, young ones between */
	if (c)
		for (int k = 0; k < NR_PTES; k += 16)
			fill(c->ptes, k, 16, (k / 16) % 2 ? 'A' : 'a');
	c = add_case(b, hugepage);	/* zero pages and present ones */
	if (c) {
		fill(c->ptes, 0, 256, 'A');
		fill(c->ptes, 256, 128, '0');
	}
	c = add_case(b, hugepage);	/* shared old */
	if (c) {
		fill(c->ptes, 0, 128, 'A');
		fill(c->ptes, 128, 8, 's');
	}
}

/* Random tables made of 16-PTE blocks, each of one kind of content. */
static void add_random(struct batch *b, struct mthp_rng *rng, int n, bool mix_flags)
{
	static const char *const kinds[] = {
		"A", "A", "A", ".", ".", "a", "0", "w", "S", "s", "A.", "Aw", "AS", "Aa",
	};

	for (int i = 0; i < n; i++) {
		struct kcase *c = add_case(b, mix_flags ? mthp_rng_chance(rng, 0.5) :
					   b->cases[0].hugepage);
		uint32_t density = 1 + mthp_rng_below(rng, 6);

		if (!c)
			return;
		for (int k = 0; k < NR_PTES; k += 16) {
			const char *kind = mthp_rng_below(rng, 6) < density ?
				kinds[mthp_rng_below(rng, sizeof(kinds) / sizeof(kinds[0]))] : ".";
			size_t len = strlen(kind);

			for (int j = 0; j < 16; j++)
				c->ptes[k + j] = kind[mthp_rng_below(rng, (uint32_t)len)];
		}
	}
}

/*
 * The batches: every size of order 2..8 in mode 'small' and 2M in 'pmd',
 * except the sizes of 'modes' (index into guest_sizes, then the mode);
 * the fixed patterns in VMAs with or without hugepage, then the random
 * ones (their hugepage flag drawn when mix_flags).
 */
struct batch_spec {
	const char *name, *global, *small, *pmd;
	unsigned max_none, max_swap, max_shared;
	struct { int size; const char *mode; } modes[3];
	bool hugepage, mix_flags;
	int nr_random;
};

static const struct batch_spec specs[] = {
	/* PMD only (inherit under a global always): the pre-7.2 collapse */
	{ "pmd-only-511", "always", "never", "inherit", 511, 64, 256, .nr_random = 16 },
	/* PMD only, max_ptes_none 0, small swap and shared limits */
	{ "pmd-only-0", "always", "never", "always", 0, 8, 16, .nr_random = 16 },
	{ "all-always-511", "always", "always", "always", 511, 64, 256, .nr_random = 24 },
	{ "all-always-0", "always", "always", "always", 0, 64, 256, .nr_random = 24 },
	/* another value: the mTHP sizes then act as 0 */
	{ "all-always-255", "always", "always", "always", 255, 64, 256, .nr_random = 24 },
	{ "mthp-only-511", "always", "always", "never", 511, 64, 256, .nr_random = 24 },
	/* per-size modes: always, madvise, inherit under a global madvise */
	{ "mixed-modes-511", "madvise", "never", "madvise", 511, 64, 256,
	  .modes = { { 2, "always" }, { 4, "madvise" }, { 6, "inherit" } },
	  .hugepage = true, .mix_flags = true, .nr_random = 24 },
	{ "limits-0-511", "always", "always", "always", 511, 0, 0, .nr_random = 16 },
};

static void batch_init(struct batch *b, const struct batch_spec *spec)
{
	memset(b, 0, sizeof(*b));
	b->name = spec->name;
	b->global = spec->global;
	for (size_t i = 0; i < GUEST_NR_SIZES - 1; i++)
		b->size_mode[i] = spec->small;
	b->size_mode[GUEST_NR_SIZES - 1] = spec->pmd;
	for (size_t i = 0; i < sizeof(spec->modes) / sizeof(spec->modes[0]); i++)
		if (spec->modes[i].mode)
			b->size_mode[spec->modes[i].size] = spec->modes[i].mode;
	b->max_none = spec->max_none;
	b->max_swap = spec->max_swap;
	b->max_shared = spec->max_shared;
}

static int run_all(const char *out)
{
	static struct batch b;
	struct mthp_rng rng;
	int failed = 0;

	mthp_rng_seed(&rng, 20260705);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		batch_init(&b, &specs[i]);
		add_fixed(&b, specs[i].hugepage);
		add_random(&b, &rng, specs[i].nr_random, specs[i].mix_flags);
		/* the canary, last: collapsed when the pass reached it */
		add_run_in_young(&b, true, 0, 0, 'A');
		failed |= run_batch(&b, out, (int)i + 1) != 0;
	}
	return failed;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: guest_khugepaged OUT_DIR\n");
		return 2;
	}
	if (mkdir(argv[1], 0755) && errno != EEXIST) {
		guest_say("cannot create %s: %s", argv[1], strerror(errno));
		return 1;
	}
	/* This process and the mthp processes it starts stay unregistered. */
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) {
		guest_say("PR_SET_THP_DISABLE: %s", strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_all(argv[1]) ? 1 : 0;
}
