// SPDX-License-Identifier: MIT
/*
 * test_notes.c - the notes under a report say what the settings imply for
 * the policies that ran, and only for those, and what the numbers show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/notes.h>

struct text {
	char buf[4096];
	size_t len;
};

static void collect(void *ctx, const char *note)
{
	struct text *t = ctx;

	t->len += (size_t)snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "%s\n", note);
}

static void settings(struct mthp_settings *s, const char *none, const char *size64)
{
	struct mthp_geometry geo;
	char err[256];

	mthp_geometry_from_page_size(&geo, 4096);
	mthp_settings_init(s, &geo);
	assert_int_equal(mthp_settings_set(s, "khugepaged/max_ptes_none", none, err,
					   sizeof(err)), 0);
	assert_int_equal(mthp_settings_set(s, "hugepages-64kB/enabled", size64, err,
					   sizeof(err)), 0);
}

static size_t notes_of(const struct mthp_settings *s, const struct mthp_note_run *runs,
		       size_t n, struct text *t)
{
	memset(t, 0, sizeof(*t));
	return mthp_notes(s, runs, n, collect, t);
}

/*
 * One case: the runs of a report, the two knobs that matter to the notes,
 * how many notes they give and pieces of text those notes must hold.
 */
struct note_case {
	const char *name;
	struct mthp_note_run runs[3];
	size_t nr_runs;
	const char *max_ptes_none;
	const char *enabled_64k;
	size_t nr_notes;
	const char *says[2];
};

#define UPSTREAM_PMD_RUNS \
	{ { .policy = -1 }, \
	  { .policy = MTHP_POLICY_UPSTREAM, .collapses_by_order = { [9] = 2 } } }, 2
#define SEED_64K_RUNS \
	{ { .policy = MTHP_POLICY_SEED, .collapses_by_order = { [6] = 1 } } }, 1

static const struct note_case cases[] = {
	{ "upstream: 384 acts as 0 between 0 and 511", UPSTREAM_PMD_RUNS, "384", "madvise", 1,
	  { "max_ptes_none 384 acts as 0 for mTHP orders under upstream",
	    "a 64K window: all 16" } },
	/* 0 and 511 are honoured: nothing to say */
	{ "upstream: 0 is honoured", UPSTREAM_PMD_RUNS, "0", "madvise", 0, { NULL } },
	{ "upstream: 511 is honoured", UPSTREAM_PMD_RUNS, "511", "madvise", 0, { NULL } },
	{ "seed creeps from half a table", SEED_64K_RUNS, "256", "madvise", 1,
	  { "seed creeps" } },
	{ "seed does not creep below half a table", SEED_64K_RUNS, "255", "madvise", 0,
	  { NULL } },
	{ "no mTHP size makes the policies legacy",
	  { { .policy = MTHP_POLICY_LEGACY, .collapses_by_order = { [9] = 3 },
	      .resident_pages = 1536 },
	    { .policy = MTHP_POLICY_UPSTREAM, .collapses_by_order = { [9] = 3 },
	      .resident_pages = 1536 } }, 2, "384", "never", 2,
	  { "No size below the PMD size is enabled",
	    "legacy and upstream made the same collapses here." } },
	/* different numbers: no claim that they are the same */
	{ "no mTHP size, different collapses: no claim they are the same",
	  { { .policy = MTHP_POLICY_LEGACY, .collapses_by_order = { [9] = 3 },
	      .resident_pages = 1536 },
	    { .policy = MTHP_POLICY_UPSTREAM, .collapses_by_order = { [4] = 1, [9] = 3 },
	      .resident_pages = 1536 } }, 2, "384", "never", 1, { NULL } },
	{ "a policy that collapsed nothing says where to look",
	  { { .policy = -1 }, { .policy = MTHP_POLICY_UPSTREAM } }, 2, "0", "madvise", 1,
	  { "upstream collapsed nothing" } },
	/* memory in partially mapped folios beyond the run without khugepaged */
	{ "partially mapped folios hold 1% of resident memory more: said",
	  { { .policy = -1, .resident_pages = 10000, .partial_unmapped = 100 },
	    { .policy = MTHP_POLICY_UPSTREAM, .collapses_by_order = { [9] = 1 },
	      .resident_pages = 10000, .partial_unmapped = 612 } }, 2, "0", "madvise", 1,
	  { "upstream ends with 2.4 MiB in partially mapped folios that no process maps "
	    "(0.4 MiB without khugepaged)", "resident MiB does not count that memory" } },
	{ "partially mapped folios hold less than 1% more: not said",
	  { { .policy = -1, .resident_pages = 10000, .partial_unmapped = 100 },
	    { .policy = MTHP_POLICY_UPSTREAM, .collapses_by_order = { [9] = 1 },
	      .resident_pages = 10000, .partial_unmapped = 199 } }, 2, "0", "madvise", 0,
	  { NULL } },
	{ "two policies that hold the same: one note",
	  { { .policy = -1, .resident_pages = 10000 },
	    { .policy = MTHP_POLICY_UPSTREAM, .collapses_by_order = { [9] = 1 },
	      .resident_pages = 10000, .partial_unmapped = 256 },
	    { .policy = MTHP_POLICY_GUARDED, .collapses_by_order = { [4] = 1 },
	      .resident_pages = 10000, .partial_unmapped = 256 } }, 3, "0", "madvise", 1,
	  { "upstream and guarded end with 1.0 MiB" } },
};

#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

static void test_case(void **state)
{
	const struct note_case *c = *state;
	struct mthp_settings s;
	struct text t;
	size_t nr;

	settings(&s, c->max_ptes_none, c->enabled_64k);
	nr = notes_of(&s, c->runs, c->nr_runs, &t);
	if (nr != c->nr_notes)
		fail_msg("%s: %zu notes, expected %zu:\n%s", c->name, nr, c->nr_notes, t.buf);
	for (size_t i = 0; i < 2 && c->says[i]; i++)
		if (!strstr(t.buf, c->says[i]))
			fail_msg("%s: no '%s' in:\n%s", c->name, c->says[i], t.buf);
}

int main(void)
{
	struct CMUnitTest tests[NR_CASES];

	for (size_t i = 0; i < NR_CASES; i++)
		tests[i] = (struct CMUnitTest){ .name = cases[i].name, .test_func = test_case,
						.initial_state = (void *)&cases[i] };
	return _cmocka_run_group_tests("notes", tests, NR_CASES, NULL, NULL);
}
