// SPDX-License-Identifier: MIT
/*
 * test_scenario.c - the scenario reader: every key of every section with
 * its default and its parsed value, and every error with its FILE:LINE.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/engine.h>
#include <mthp/scenario.h>

#include "common/msg.h"
#include <mthp/tlb.h>

#include "helpers/test_main.h"

static const char minimal[] =
	"[process p]\n"
	"[vma p v]\n"
	"size = 4M\n"
	"[phase p one]\n"
	"vma = v\n"
	"action = fill\n";

static void read_ok(struct mthp_scenario *sc, const char *text)
{
	struct mthp_diag diag = { .warn = NULL };

	if (mthp_scenario_read_mem(sc, text, strlen(text), "t.ini", &diag))
		fail_msg("rejected: %s", diag.msg);
}

/* The text must be rejected with a message starting "t.ini:LINE:" and holding needle. */
static void expect_error(const char *text, unsigned line, const char *needle)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;
	char prefix[32];

	if (!mthp_scenario_read_mem(&sc, text, strlen(text), "t.ini", &diag)) {
		mthp_scenario_free(&sc);
		fail_msg("accepted, expected line %u: %s\n%s", line, needle, text);
	}
	snprintf(prefix, sizeof(prefix), "t.ini:%u: ", line);
	if (strncmp(diag.msg, prefix, strlen(prefix)) || !strstr(diag.msg, needle))
		fail_msg("expected '%s...%s', got '%s', for:\n%s", prefix, needle, diag.msg, text);
	/* a rejected scenario is left empty */
	assert_int_equal(sc.nr_processes, 0);
	assert_null(sc.phases);
}

static void test_defaults(void **state)
{
	struct mthp_scenario sc;
	const struct mthp_scenario_phase *ph;

	(void)state;
	read_ok(&sc, minimal);
	assert_int_equal(sc.memory, 1ull << 30);
	assert_int_equal(sc.page_size, 4096);
	assert_int_equal(sc.swap, 256ull << 20);
	assert_true(sc.fragmentation == 0);
	assert_int_equal(sc.tlb_profiles, 0);	/* all that fit */
	assert_int_equal(sc.mmu, -1);
	assert_false(sc.read_fault_alloc);
	assert_int_equal(sc.swap_device, SIM_SWAP_DISK);
	assert_int_equal(sc.seed, 1);
	assert_int_equal(sc.nr_processes, 1);
	assert_int_equal(sc.processes[0].memcg_limit, 0);
	assert_int_equal(sc.nr_vmas, 1);
	assert_int_equal(sc.vmas[0].align, 2u << 20);
	assert_int_equal(sc.vmas[0].flags, 0);
	assert_int_equal(sc.nr_phases, 1);
	ph = &sc.phases[0];
	assert_int_equal(ph->action, MTHP_ACT_FILL);
	assert_int_equal(ph->duration_ns, 0);
	assert_int_equal(ph->offset, 0);
	assert_int_equal(ph->length, 4u << 20);
	assert_int_equal(ph->line, 4);
	mthp_scenario_free(&sc);
}

static void test_every_machine_key(void **state)
{
	struct mthp_scenario sc;

	(void)state;
	read_ok(&sc, "[machine]\nmemory = 2G\npage_size = 16K\nswap = 0\n"
		     "fragmentation = 25%\ntlb = arm64-16k\nread_fault_alloc = yes\n"
		     "swap_device = zram\nseed = 42\nmmu = arm64-16k\n[process p]\n");
	assert_int_equal(sc.memory, 2ull << 30);
	assert_int_equal(sc.page_size, 16384);
	assert_int_equal(sc.swap, 0);
	assert_true(sc.fragmentation > 0.2499 && sc.fragmentation < 0.2501);
	assert_int_equal(sc.tlb_profiles, 1u << MTHP_TLB_ARM64_16K);
	assert_true(sc.read_fault_alloc);
	assert_int_equal(sc.swap_device, SIM_SWAP_ZRAM);
	assert_int_equal(sc.seed, 42);
	assert_int_equal(sc.mmu, MTHP_TLB_ARM64_16K);
	mthp_scenario_free(&sc);
}

static void test_settings_apply_with_the_geometry(void **state)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;
	struct mthp_settings s;

	(void)state;
	read_ok(&sc, "[settings]\nhugepages-256kB/enabled = always\n"
		     "khugepaged/max_ptes_none = 2047\n[machine]\npage_size = 16K\n"
		     "memory = 1G\n[process p]\n");
	assert_int_equal(mthp_scenario_settings(&sc, &s, &diag), 0);
	assert_int_equal(s.geo.ptes_per_pmd, 2048);
	assert_int_equal(s.size_enabled[4], MTHP_MODE_ALWAYS);
	assert_int_equal(s.max_ptes_none, 2047);
	/* arm64 is the only machine with 16K pages: its contpte order */
	assert_int_equal(s.geo.cont_order, 7);
	mthp_scenario_free(&sc);
	/* the machine's MMU gives the order its TLB maps with fewer entries */
	read_ok(&sc, "[machine]\nmmu = arm64-4k\n[process p]\n");
	assert_int_equal(mthp_scenario_settings(&sc, &s, &diag), 0);
	assert_int_equal(s.geo.cont_order, 4);
	mthp_scenario_free(&sc);
	read_ok(&sc, minimal);
	assert_int_equal(mthp_scenario_settings(&sc, &s, &diag), 0);
	assert_int_equal(s.geo.cont_order, 0);
	mthp_scenario_free(&sc);
}

static void test_every_vma_and_process_key(void **state)
{
	struct mthp_scenario sc;

	(void)state;
	read_ok(&sc, "[process db]\nmemcg_limit = 512M\n[vma db pool]\nsize = 64M\n"
		     "align = 64K\nflags = hugepage,uffd\n[vma db log]\nsize=8M\nflags=nohugepage\n");
	assert_int_equal(sc.processes[0].memcg_limit, 512u << 20);
	assert_int_equal(sc.vmas[0].size, 64u << 20);
	assert_int_equal(sc.vmas[0].align, 65536);
	assert_int_equal(sc.vmas[0].flags, MTHP_VMA_HUGEPAGE | MTHP_VMA_UFFD);
	assert_int_equal(sc.vmas[1].flags, MTHP_VMA_NOHUGEPAGE);
	mthp_scenario_free(&sc);
}

static void test_every_action_and_its_keys(void **state)
{
	struct mthp_scenario sc;
	const struct mthp_scenario_phase *ph;

	(void)state;
	read_ok(&sc, "[process p]\n[vma p v]\nsize = 8M\n"
		     "[phase p a]\nvma = v\naction = random\ndensity = 5%\nduration = 250ms\n"
		     "offset = 1M\nlength = 2M\n"
		     "[phase p b]\nvma = v\naction = cluster\nruns = 3\nrun_pages = 32\n"
		     "[phase p c]\nvma = v\naction = read\ndensity = 0.5\n"
		     "[phase p d]\nvma = v\naction = hot\nhot = 0.2\nduration = 2\n"
		     "[phase p e]\nvma = v\naction = heap\nobject_sizes = 4K:1,2M:3\nlive = 0.7\nchurn = 1%\n"
		     "[phase p f]\nvma = v\naction = fork\nchild_writes = 0.3\n"
		     "[phase p g]\nvma = v\naction = pageout\ndensity = 1\n"
		     "[phase p h]\nvma = v\naction = free\n"
		     "[phase p i]\nvma = v\naction = dontneed\ndensity = 0%\n"
		     "[phase p j]\naction = sleep\nduration = 1.5s\n"
		     "[phase p k]\nvma = v\naction = fill\n"
		     "[phase p l]\nvma = v\naction = advise\nadvice = nohugepage\n"
		     "[phase p m]\nvma = v\naction = advise\n");
	assert_int_equal(sc.nr_phases, 13);
	ph = sc.phases;
	assert_int_equal(ph[0].action, MTHP_ACT_RANDOM);
	assert_true(ph[0].density > 0.0499 && ph[0].density < 0.0501);
	assert_int_equal(ph[0].duration_ns, 250000000);
	assert_int_equal(ph[0].offset, 1u << 20);
	assert_int_equal(ph[0].length, 2u << 20);
	assert_int_equal(ph[1].runs, 3);
	assert_int_equal(ph[1].run_pages, 32);
	assert_int_equal(ph[2].action, MTHP_ACT_READ);
	assert_int_equal(ph[3].duration_ns, 2000000000ull);
	assert_true(ph[3].hot > 0.199 && ph[3].hot < 0.201);
	assert_int_equal(ph[4].nr_sizes, 2);
	assert_int_equal(ph[4].sizes[1].size, 2u << 20);
	assert_int_equal(ph[4].sizes[1].weight, 3);
	assert_true(ph[4].churn > 0.0099 && ph[4].churn < 0.0101);
	assert_true(ph[5].child_writes > 0.299 && ph[5].child_writes < 0.301);
	assert_true(ph[6].density == 1.0);
	assert_true(ph[7].density > 0.0999 && ph[7].density < 0.1001);	/* the default */
	assert_int_equal(ph[9].action, MTHP_ACT_SLEEP);
	assert_int_equal(ph[9].duration_ns, 1500000000ull);
	assert_int_equal(ph[10].length, 8u << 20);
	assert_int_equal(ph[11].action, MTHP_ACT_ADVISE);
	assert_int_equal(ph[11].advice, MTHP_VMA_NOHUGEPAGE);
	assert_int_equal(ph[12].advice, MTHP_VMA_HUGEPAGE);	/* the default */
	for (unsigned a = 0; a < MTHP_NR_ACTIONS; a++)
		assert_string_not_equal(mthp_scenario_action_name((enum mthp_scenario_action)a), "?");
	mthp_scenario_free(&sc);
}

static void test_comments_crlf_and_indentation(void **state)
{
	struct mthp_scenario sc;

	(void)state;
	read_ok(&sc, "; a comment\r\n# another\r\n[process p]\r\n  [vma p v]\r\n"
		     "  size = 4M ; inline comment\r\n\r\n  flags = hugepage\r\n");
	assert_int_equal(sc.vmas[0].size, 4u << 20);
	assert_int_equal(sc.vmas[0].flags, MTHP_VMA_HUGEPAGE);
	mthp_scenario_free(&sc);
}

/*
 * Scenario texts that must be rejected, each at its line with its words in
 * the message (expect_error()).
 */
static const struct bad_scenario {
	const char *text;
	unsigned line;
	const char *needle;
} rejected[] = {
	/* sections */
	{ "[process p]\n[bogus]\n", 2, "unknown section [bogus]" },
	{ "[process p]\n[]\n", 2, "empty section header" },
	{ "[process p\n", 1, "alone on its line" },
	{ "[machine]\n[machine]\n", 2, "a second [machine]" },
	{ "[settings x]\n", 1, "[settings] takes no name" },
	{ "[process]\n", 1, "[process NAME]" },
	{ "[process a b]\n", 1, "[process NAME]" },
	{ "[process p]\n[process p]\n", 2, "process 'p' is defined twice" },
	{ "[vma q v]\n", 1, "no process 'q' above this line" },
	{ "[process p]\n[vma p v]\nsize=4M\n[vma p v]\n", 4, "two vmas named 'v'" },
	{ "[phase q x]\n", 1, "no process 'q'" },
	{ "[process p]\n[phase p x]\naction=sleep\n[phase p x]\n", 4,
	  "two phases labelled 'x'" },
	{ "[process p/x]\n", 1, "[process NAME]" },
	{ "x = 1\n[process p]\n", 1, "outside any section" },
	{ "[process p]\njust words\n", 2, "not a 'key = value' line" },
	{ "[machine]\nmemory = 1G\n", 2, "no [process NAME] section" },
	/* [machine] */
	{ "[machine]\nmemory = lots\n[process p]\n", 2, "memory 'lots'" },
	{ "[machine]\nmemory = 0\n[process p]\n", 2, "memory '0'" },
	{ "[machine]\nmemory = 4M\n[process p]\n", 2, "at least 4 PMD sizes" },
	{ "[machine]\nmemory = 1000001\n[process p]\n", 2, "multiple of the page size" },
	{ "[machine]\npage_size = 8K\n[process p]\n", 2, "must be 4K, 16K or 64K" },
	{ "[machine]\nswap = -1\n[process p]\n", 2, "swap '-1'" },
	{ "[machine]\nswap = 100\n[process p]\n", 2, "swap '100': must be a multiple" },
	{ "[machine]\nfragmentation = 150%\n[process p]\n", 2, "fragmentation '150%'" },
	{ "[machine]\nfragmentation = 1.5\n[process p]\n", 2, "fraction 0..1" },
	{ "[machine]\ntlb = sparc\n[process p]\n", 2, "tlb profile 'sparc'" },
	{ "[machine]\ntlb = ,\n[process p]\n", 2, "no profile" },
	{ "[machine]\nmmu = sparc\n[process p]\n", 2,
	  "mmu 'sparc': must be x86-64, zen, arm64-4k, arm64-16k or arm64-64k" },
	{ "[machine]\nmmu = arm64-64k\n[process p]\n", 2,
	  "mmu 'arm64-64k': made for another page size than 4K" },
	{ "[machine]\nread_fault_alloc = maybe\n[process p]\n", 2, "must be yes or no" },
	{ "[machine]\nswap_device = tape\n[process p]\n", 2, "swap_device 'tape': must be disk or zram" },
	{ "[machine]\nseed = x1\n[process p]\n", 2, "seed 'x1'" },
	{ "[process p]\nmemcg_limit = 4095\n", 1,
	  "process 'p': memcg_limit is not a multiple of the page size (4096)" },
	{ "[machine]\nseed = 9223372036854775808\n[process p]\n", 2,
	  "must be a whole number 0-9223372036854775807" },
	{ "[machine]\nmemry = 1G\n[process p]\n", 2, "unknown key 'memry' in [machine]" },
	{ "[machine]\nmemory = 99999999999999999999G\n[process p]\n", 2, "memory" },
	{ "; 64K pages\n[machine]\npage_size = 64K\n[process p]\n", 3,
	  "the default memory 1G is too small with 64K pages: set memory in [machine] (at least 2G)" },
	{ "[process p]\n[vma p v]\nsize = 1M\n[phase p f]\nvma = v\naction = bogus\n", 6,
	  "action 'bogus': must be fill, random, cluster, read, hot, heap, fork, pageout, free,"
	  " dontneed, advise, sleep, child_exit or shrink" },
	/* [settings] */
	{ "[settings]\nkhugepaged/max_ptes_none = 512\n[process p]\n", 2,
	  "khugepaged/max_ptes_none: '512' is not in the range 0..511" },
	{ "[settings]\nkhugepaged/max_ptes_none = abc\n", 2,
	  "khugepaged/max_ptes_none: 'abc' is not a whole number in the range 0..511" },
	{ "[settings]\nkhugepaged/max_ptes_none = 1e3\n", 2,
	  "khugepaged/max_ptes_none: '1e3' is not a whole number in the range 0..511" },
	{ "[settings]\nkhugepaged/max_ptes_none = 99999999999999999999999\n", 2,
	  "khugepaged/max_ptes_none: '99999999999999999999999' is not in the range 0..511" },
	{ "[settings]\nhugepages-16kB/enabled = always\n[machine]\npage_size = 64K\n"
	  "memory = 4G\n[process p]\n", 2, "no such size with 65536-byte pages" },
	{ "[settings]\nshmem_enabled = always\n[process p]\n", 2,
	  "unknown knob 'shmem_enabled'" },
	{ "[settings]\nenabled = always\nenabled = never\n[process p]\n", 3,
	  "given twice (first at line 2)" },
	/* what a phase places fits in its pages */
	{ "[process p]\n[vma p a]\nsize = 16M\n[phase p c]\nvma = a\naction = cluster\n"
	  "run_pages = 8192\n", 7, "phase 'c': run_pages 8192 is more than its 4096 pages" },
	{ "[process p]\n[vma p a]\nsize = 16K\n[phase p c]\nvma = a\naction = cluster\n", 4,
	  "phase 'c': run_pages 16 is more than its 4 pages" },
	{ "[process p]\n[vma p a]\nsize = 16M\n[phase p c]\nvma = a\naction = dontneed\n"
	  "runs = 1000000\n", 7, "1000000 runs of 16 pages would cover its 4096 pages more "
	  "than 64 times over" },
	{ "[process p]\n[vma p a]\nsize = 64M\n[phase p h]\nvma = a\naction = heap\n"
	  "object_sizes = 4K:1,65M:1\n", 7,
	  "phase 'h': an object of 68157440 bytes is larger than its 67108864 bytes" },
	/* vmas and processes */
	{ "[process p]\n[vma p v]\nsize = 4M\nsize = 8M\n", 4,
	  "key 'size' given twice in this section (first at line 3)" },
	{ "[process p]\nmemcg_limit = 1M\nmemcg_limit = 2M\n", 3,
	  "key 'memcg_limit' given twice in this section (first at line 2)" },
	{ "[machine]\nmmu = arm64-4k\nmmu = zen\n[process p]\n", 3,
	  "key 'mmu' given twice in this section (first at line 2)" },
	{ "[machine]\ntlb = x86-64,arm64-64k\n[process p]\n", 2,
	  "tlb profile 'arm64-64k' is made for another page size than 4K" },
	{ "[process p]\n[vma p v]\nsize = 0\n", 3, "size '0'" },
	{ "[process p]\n[vma p v]\nsize = 2T\n", 2, "vma 'v' does not fit: a process's VMAs" },
	{ "[process p]\n[vma p v]\nsize = 4M\nalign = 16T\n", 2, "vma 'v' does not fit" },
	{ "[process p]\n[vma p v]\nsize = 600G\n[vma p w]\nsize = 600G\n", 4,
	  "vma 'w' does not fit: a process's VMAs, each aligned and followed by a gap of its "
	  "alignment, take at most 1T of address space" },
	{ "[process p]\n[vma p v]\nsize = 5000\n", 2, "not a multiple of the page size" },
	{ "[process p]\n[vma p v]\nflags = hugepage\n", 2, "has no size" },
	{ "[process p]\n[vma p v]\nsize=4M\nalign = 3K\n", 4, "power of two" },
	{ "[process p]\n[vma p v]\nsize=4M\nalign = 1K\n", 2, "smaller than the page size" },
	{ "[process p]\n[vma p v]\nsize=4M\nflags = huge\n", 4, "vma flag 'huge'" },
	{ "[process p]\n[vma p v]\nsize=4M\nflags = hugepage,nohugepage\n", 4,
	  "exclude each other" },
	{ "[process p]\n[vma p v]\nsize=4M\ncolor = red\n", 4, "unknown key 'color'" },
	/* pages: increasing, in the range, and not with a density */
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = read\n"
	  "pages = 5,3\n", 7, "increasing order" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = read\n"
	  "pages = 2-9,9\n", 7, "increasing order" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = read\n"
	  "pages = 4-1\n", 7, "such as 3,5,9-12" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = read\n"
	  "pages = 1,,2\n", 7, "pages '1,,2'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = read\n"
	  "pages = 1,2,\n", 7, "pages '1,2,'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = read\n"
	  "pages = 1024\n", 7, "page 1024 is past the 1024 pages of phase 'x'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = read\n"
	  "pages = 1\ndensity = 5%\n", 7, "pages excludes density" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "pages = 1\n", 7, "key 'pages' does not apply to action fill" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fork\n"
	  "child_lives = forever\n", 7, "child_lives 'forever'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\naction = child_exit\n"
	  "vma = v\n", 6, "key 'vma' does not apply to action child_exit" },
	{ "[process p]\n[vma p v]\nsize=4M\npmd_offset = lots\n", 4,
	  "pmd_offset 'lots'" },
	{ "[process p]\n[vma p v]\nsize=4M\npmd_offset = 2M\n", 2,
	  "multiple of the page size (4096) below the PMD size" },
	{ "[process p]\n[vma p v]\nsize=4M\npmd_offset = 6K\n", 2,
	  "multiple of the page size (4096) below the PMD size" },
	{ "[process p]\n[vma p v]\nsize=4M\npmd_offset = 4K\nalign = 4K\n", 2,
	  "align and pmd_offset exclude each other" },
	{ "[process p]\nmemcg_limit = lots\n", 2, "memcg_limit 'lots'" },
	{ "[process p]\nlimit = 1G\n", 2, "unknown key 'limit' in a process" },
	/* every value with a range names the file:line, the key, the value and the range */
	{ "[machine]\nmemory = 256G\n[process p]\n", 2,
	  "memory '256G': must be a multiple of the page size, at least 4 PMD sizes (8M) and below 256G with 4K pages" },
	{ "[machine]\npage_size = 64K\nmemory = 4T\n[process p]\n", 3,
	  "memory '4T': must be a multiple of the page size, at least 4 PMD sizes (2G) and below 4T with 64K pages" },
	{ "[machine]\nmemory = 2M\n[process p]\n", 2, "at least 4 PMD sizes (8M)" },
	{ "[machine]\nswap = 2T\n[process p]\n", 2,
	  "swap '2T': must be a multiple of the page size and at most 2T less 2 pages with 4K pages" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = random\n"
	  "density = 150%\n", 7, "density '150%': must be 0-100%" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = cluster\n"
	  "runs = 0\n", 7, "runs '0': must be a whole number 1-1000000" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "duration = 2h\n", 7, "duration '2h': must be a duration such as 500ms or 2s" },
	/* plain decimal numbers: no hex, exponent or sign that strtod() takes */
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "duration = 0x10\n", 7, "duration '0x10': must be a duration" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "duration = 1e3\n", 7, "duration '1e3': must be a duration" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = random\n"
	  "density = 0x0.8\n", 7, "density '0x0.8'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = heap\n"
	  "object_sizes = 4K\n", 7, "object_sizes '4K': must be SIZE:WEIGHT" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = advise\n"
	  "advice = always\n", 7, "advice 'always': must be hugepage or nohugepage" },
	/* phases */
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\n", 4, "has no action" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\naction = fill\n", 4, "has no vma" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\naction = jump\n", 5,
	  "action 'jump'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = w\naction = fill\n", 5,
	  "process 'p' has no vma 'w'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "density = 0.5\n", 7, "key 'density' does not apply to action fill" },
	{ "[process p]\n[phase p x]\naction = sleep\nvma = v\n", 4,
	  "key 'vma' does not apply to action sleep" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "action = fill\n", 7, "given twice" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "duration = soon\n", 7, "duration 'soon'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = random\n"
	  "density = 2\n", 7, "density '2'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = cluster\n"
	  "runs = 0\n", 7, "runs '0'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = heap\n"
	  "object_sizes = 4K\n", 7, "object_sizes '4K'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "offset = 4M\n", 7, "reach past the end of vma 'v'" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "offset = 1M\nlength = 4M\n", 8, "reach past the end" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "offset = 100\n", 7, "multiples of the page size" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = fill\n"
	  "speed = 3\n", 7, "unknown key 'speed' in a phase" },
	{ "[process p]\n[vma p v]\nsize=4M\n[phase p x]\nvma = v\naction = advise\n"
	  "advice = huge\n", 7, "advice 'huge'" },
};

static void test_rejected_scenarios(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
		expect_error(rejected[i].text, rejected[i].line, rejected[i].needle);
}

static void test_bytes_that_are_not_text(void **state)
{
	char nul[] = "[process p]\nx\0y = 1\n";
	char line[400];
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;

	(void)state;
	assert_int_equal(mthp_scenario_read_mem(&sc, nul, sizeof(nul) - 1, "t.ini", &diag), -EINVAL);
	assert_string_equal(diag.msg, "t.ini:2: NUL byte in the line");
	memset(line, 'a', sizeof(line));
	memcpy(line, "[process p]\nk = ", 16);
	line[sizeof(line) - 1] = '\0';
	expect_error(line, 2, "line longer than 180 characters");
	/* no trailing newline is fine */
	read_ok(&sc, "[process p]");
	mthp_scenario_free(&sc);
	/* a byte order mark at the start is not the first section's */
	read_ok(&sc, "\xEF\xBB\xBF[machine]\nmemory = 64M\n[process p]\n");
	assert_int_equal(sc.memory, 64ull << 20);
	mthp_scenario_free(&sc);
	expect_error("[machine]\n\xEF\xBB\xBF[process p]\n", 2, "");
}

/* Control bytes of the input are quoted as \xNN in messages, cut to fit. */
static void test_messages_escape_control_bytes(void **state)
{
	char buf[12];

	(void)state;
	expect_error("[process p]\n[vma p v]\nsi\x01\x7fze = 1M\n", 3,
		     "unknown key 'si\\x01\\x7fze' in a vma");
	mthp_msg(buf, sizeof(buf), "a\tb\x1b[2Jc");
	assert_string_equal(buf, "a\tb\\x1b[2Jc");
	mthp_msg(buf, 8, "ab\x01\x02");
	assert_string_equal(buf, "ab\\x01\\");
	mthp_msg(buf, sizeof(buf), "line\nnext");
	assert_string_equal(buf, "line\nnext");
}

static void test_missing_file(void **state)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;

	(void)state;
	assert_int_equal(mthp_scenario_read(&sc, "tests/no-such.ini", &diag), -ENOENT);
	assert_string_equal(diag.msg, "tests/no-such.ini: No such file or directory");
	assert_int_equal(mthp_scenario_read(&sc, "tests", &diag), -EISDIR);
	assert_string_equal(diag.msg, "tests: Is a directory");
}

static void test_shipped_scenarios_are_valid(void **state)
{
	static const char *const files[] = {
		"scenarios/default.ini", "scenarios/database.ini", "scenarios/hashtable.ini",
		"scenarios/jvm.ini", "scenarios/malloc-server.ini", "scenarios/fork-workers.ini",
	};
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;
	struct mthp_settings s;

	(void)state;
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (mthp_scenario_read(&sc, files[i], &diag))
			fail_msg("%s", diag.msg);
		assert_int_equal(mthp_scenario_settings(&sc, &s, &diag), 0);
		assert_true(sc.nr_processes >= 1);
		assert_true(sc.nr_phases >= 2);
		mthp_scenario_free(&sc);
	}
}

/* The worked example of docs/scenarios.md is a valid scenario. */
static void test_docs_worked_example_is_valid(void **state)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;
	char *doc = NULL, *start, *end;
	size_t cap = 0;
	FILE *f = fopen("docs/scenarios.md", "r");
	ssize_t len;

	(void)state;
	assert_non_null(f);
	len = getdelim(&doc, &cap, '\0', f);
	fclose(f);
	assert_true(len > 0);
	start = strstr(doc, "```ini\n");
	assert_non_null(start);
	start += strlen("```ini\n");
	end = strstr(start, "```");
	assert_non_null(end);
	if (mthp_scenario_read_mem(&sc, start, (size_t)(end - start), "example", &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(sc.nr_phases, 5);
	mthp_scenario_free(&sc);
	free(doc);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_defaults),
	cmocka_unit_test(test_every_machine_key),
	cmocka_unit_test(test_settings_apply_with_the_geometry),
	cmocka_unit_test(test_every_vma_and_process_key),
	cmocka_unit_test(test_every_action_and_its_keys),
	cmocka_unit_test(test_comments_crlf_and_indentation),
	cmocka_unit_test(test_rejected_scenarios),
	cmocka_unit_test(test_bytes_that_are_not_text),
	cmocka_unit_test(test_messages_escape_control_bytes),
	cmocka_unit_test(test_missing_file),
	cmocka_unit_test(test_shipped_scenarios_are_valid),
	cmocka_unit_test(test_docs_worked_example_is_valid),
)
