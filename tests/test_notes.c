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

static void test_upstream_acts_as_zero_between_0_and_511(void **state)
{
	struct mthp_note_run runs[2] = {
		{ .policy = -1 },
		{ .policy = MTHP_POLICY_UPSTREAM, .collapses_by_order = { [9] = 2 } },
	};
	struct mthp_settings s;
	struct text t;

	(void)state;
	settings(&s, "384", "madvise");
	assert_int_equal(notes_of(&s, runs, 2, &t), 1);
	assert_non_null(strstr(t.buf, "max_ptes_none 384 acts as 0 for mTHP orders under "
				      "upstream"));
	assert_non_null(strstr(t.buf, "a 64K window: all 16"));
	/* 0 and 511 are honoured: nothing to say */
	settings(&s, "0", "madvise");
	assert_int_equal(notes_of(&s, runs, 2, &t), 0);
	settings(&s, "511", "madvise");
	assert_int_equal(notes_of(&s, runs, 2, &t), 0);
}

static void test_seed_creeps_from_half_a_table(void **state)
{
	struct mthp_note_run runs[1] = {
		{ .policy = MTHP_POLICY_SEED, .collapses_by_order = { [6] = 1 } },
	};
	struct mthp_settings s;
	struct text t;

	(void)state;
	settings(&s, "256", "madvise");
	assert_int_equal(notes_of(&s, runs, 1, &t), 1);
	assert_non_null(strstr(t.buf, "seed creeps"));
	settings(&s, "255", "madvise");
	assert_int_equal(notes_of(&s, runs, 1, &t), 0);
}

static void test_no_mthp_size_makes_the_policies_legacy(void **state)
{
	struct mthp_note_run runs[2] = {
		{ .policy = MTHP_POLICY_LEGACY, .collapses_by_order = { [9] = 3 },
		  .resident_pages = 1536 },
		{ .policy = MTHP_POLICY_UPSTREAM, .collapses_by_order = { [9] = 3 },
		  .resident_pages = 1536 },
	};
	struct mthp_settings s;
	struct text t;

	(void)state;
	settings(&s, "384", "never");
	assert_int_equal(notes_of(&s, runs, 2, &t), 2);
	assert_non_null(strstr(t.buf, "No size below the PMD size is enabled"));
	assert_non_null(strstr(t.buf, "legacy and upstream made the same collapses here."));
	/* different numbers: no claim that they are the same */
	runs[1].collapses_by_order[4] = 1;
	assert_int_equal(notes_of(&s, runs, 2, &t), 1);
}

static void test_a_policy_that_collapsed_nothing_says_where_to_look(void **state)
{
	struct mthp_note_run runs[2] = {
		{ .policy = -1 },
		{ .policy = MTHP_POLICY_UPSTREAM },
	};
	struct mthp_settings s;
	struct text t;

	(void)state;
	settings(&s, "0", "madvise");
	assert_int_equal(notes_of(&s, runs, 2, &t), 1);
	assert_non_null(strstr(t.buf, "upstream collapsed nothing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream_acts_as_zero_between_0_and_511),
		cmocka_unit_test(test_seed_creeps_from_half_a_table),
		cmocka_unit_test(test_no_mthp_size_makes_the_policies_legacy),
		cmocka_unit_test(test_a_policy_that_collapsed_nothing_says_where_to_look),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
