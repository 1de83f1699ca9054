// SPDX-License-Identifier: MIT
/*
 * test_host_thpmaps.c - `mthp audit` side by side with the kernel's own
 * tools/mm/thpmaps (make check-host): the same live process read by both,
 * and every counter thpmaps prints (the anon and file thp-* and cont-*
 * ones) must have the same value in the audit.  The process holds a
 * PMD-mapped THP, 64K mTHPs from faults (enabled=madvise,
 * hugepages-2048kB/enabled=inherit and hugepages-64kB/enabled=always
 * through the settings stack, restored once it has faulted), one of them
 * mapped in part, one moved to an address that is not 64K-aligned, and
 * the file mappings of its program and libraries.
 *
 * thpmaps comes from the linux-source package of the kernel series that
 * make check-host fetches (scripts/kernel-vm/fetch-kernel --thpmaps) and
 * names in MTHP_THPMAPS; it runs with the Debian python3 and numpy
 * (scripts/install-deps --thpmaps).  Either missing: the case is skipped
 * with the reason.  Needs root and a 64kB THP size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/host_run.h"
#include "helpers/live_child.h"
#include "helpers/thp_settings.h"

#define PMD_SIZE LIVE_PMD_SIZE
#define PAGE LIVE_PAGE
#define PYTHON "/usr/bin/python3"
#define MAX_COUNTERS 256

/*
 * Range 0: a THP (the VMA is advised).  Range 1: 16 64K folios from
 * faults, the first with its page 0 unmapped.  Range 2: one 64K folio
 * moved 4K past a 64K boundary.  Ranges 1 and 2 are then advised
 * nohugepage, so that the host's khugepaged leaves them as they are
 * between the two reads.
 */
static void layout_thp_and_64k(char *a)
{
	madvise(a, PMD_SIZE, MADV_HUGEPAGE);
	memset(a, 1, PMD_SIZE);
	for (size_t off = 0; off < 16 * 65536; off += 65536)
		a[PMD_SIZE + off] = 1;
	madvise(a + PMD_SIZE, PAGE, MADV_DONTNEED);
	a[2 * PMD_SIZE + 65536] = 1;
	if (mremap(a + 2 * PMD_SIZE + 65536, 65536, 65536, MREMAP_MAYMOVE | MREMAP_FIXED,
		   a + 2 * PMD_SIZE + 4 * 65536 + PAGE) == MAP_FAILED)
		_exit(5);
	madvise(a + PMD_SIZE, 2 * PMD_SIZE, MADV_NOHUGEPAGE);
}

struct counter {
	char name[64];
	unsigned long kb;
};

struct counters {
	struct counter c[MAX_COUNTERS];
	unsigned n;
};

/* The "NAME: N kB" lines of text (a percentage after them is ignored). */
static void parse_counters(const char *text, struct counters *out)
{
	out->n = 0;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		char name[64];
		unsigned long kb;
		int used = 0;

		if (sscanf(line, "%63[a-zA-Z0-9-]: %lu kB%n", name, &kb, &used) == 2 && used &&
		    out->n < MAX_COUNTERS) {
			snprintf(out->c[out->n].name, sizeof(out->c[0].name), "%s", name);
			out->c[out->n++].kb = kb;
		}
		line = nl ? nl + 1 : NULL;
	}
}

static const struct counter *find(const struct counters *cs, const char *name)
{
	for (unsigned i = 0; i < cs->n; i++)
		if (!strcmp(cs->c[i].name, name))
			return &cs->c[i];
	return NULL;
}

/* The value of a counter that must be there. */
static unsigned long kb_of(const struct counters *cs, const char *name)
{
	const struct counter *c = find(cs, name);

	if (!c)
		fail_msg("no %s in the output", name);
	return c->kb;
}

/* Run argv into out (stdout, NUL-terminated); its exit status, -1 on error. */
static int run_into(char *const argv[], char *out, size_t len)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t got = read(pipefd[0], out + used, len - 1 - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		used += (size_t)got;
		if (used == len - 1)
			break;
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* thpmaps, and the Debian python3 with numpy to run it; NULL with *why. */
static const char *thpmaps_path(const char **why)
{
	static char out[256];
	char *const check[] = { PYTHON, "-c", "import numpy", NULL };
	const char *path = getenv("MTHP_THPMAPS");

	if (!path || !*path || access(path, R_OK)) {
		*why = "no thpmaps: MTHP_THPMAPS names none (make check-host fetches it with "
		       "scripts/kernel-vm/fetch-kernel --thpmaps)";
		return NULL;
	}
	if (access(PYTHON, X_OK) || run_into(check, out, sizeof(out))) {
		*why = PYTHON " with numpy is missing (scripts/install-deps --thpmaps)";
		return NULL;
	}
	return path;
}

static void test_audit_agrees_with_thpmaps(void **state)
{
	static char tout[1 << 16], aout[1 << 16], err[4096];
	static struct counters t, a;
	struct live_child c;
	const char *why = NULL, *path = thpmaps_path(&why);
	char pid[16];
	unsigned compared = 0, nonzero = 0, differ = 0;

	(void)state;
	if (!path) {
		print_message("skip: %s\n", why);
		skip();
	}
	/* whatever the host has: THPs where advised, 64K folios at faults */
	assert_int_equal(thp_settings_push("enabled", "madvise"), 0);
	assert_int_equal(thp_settings_push("hugepages-2048kB/enabled", "inherit"), 0);
	assert_int_equal(thp_settings_push("hugepages-64kB/enabled", "always"), 0);
	c = live_child_start(layout_thp_and_64k);
	thp_settings_restore();
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	{
		char *const argv[] = { PYTHON, (char *)path, "--pid", pid, "--rollup",
				       "--inc-empty", "--cont", "64K", "--cont", "2M", NULL };

		assert_int_equal(run_into(argv, tout, sizeof(tout)), 0);
	}
	assert_int_equal(live_run(aout, sizeof(aout), err, sizeof(err), "audit", "--pid", pid,
				  "--rollup", "--file", "--cont", "64K", "--cont", "2M", NULL), 0);
	live_child_stop(&c);
	parse_counters(tout, &t);
	parse_counters(aout, &a);
	for (unsigned i = 0; i < t.n; i++) {
		const struct counter *m = find(&a, t.c[i].name);
		unsigned long ours = m ? m->kb : 0;

		compared++;
		nonzero += t.c[i].kb != 0;
		if (ours != t.c[i].kb) {
			print_message("%s: thpmaps %lu kB, mthp audit %lu kB%s\n", t.c[i].name,
				      t.c[i].kb, ours, m ? "" : " (not printed)");
			differ++;
		}
	}
	if (differ)
		print_message("thpmaps said:\n%s\nmthp audit said:\n%s\n", tout, aout);
	assert_int_equal(differ, 0);
	print_message("thpmaps and mthp audit: %u counters compared, %u of them non-zero, "
		      "all equal\n", compared, nonzero);
	/* the layout shows up in both: THP, aligned, partial and unaligned 64K */
	assert_true(compared >= 40);
	assert_true(kb_of(&t, "anon-thp-pmd-aligned-2048kB") >= 2048);
	assert_true(kb_of(&t, "anon-thp-pte-aligned-64kB") >= 14 * 64);
	assert_true(kb_of(&t, "anon-thp-pte-partial") >= 60);
	assert_true(kb_of(&t, "anon-thp-pte-unaligned-64kB") >= 64);
	assert_true(nonzero >= 6);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_agrees_with_thpmaps),
	};

	return host_tests_run(tests, sizeof(tests) / sizeof(tests[0]), true);
}
