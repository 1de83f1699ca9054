// SPDX-License-Identifier: MIT
/*
 * test_fuzz_corpus.c - replay every input of the fuzz seed corpus and every
 * saved crash (fuzz/regressions/TARGET/) through the fuzz targets, in the
 * ordinary test builds, so a crash once found stays fixed.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/fuzz_targets.h"

/* Run fn on every file of dir; returns how many. */
static size_t replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t))
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t count = 0;

	if (!d)
		fail_msg("cannot open %s (run from the project root)", dir);
	while ((de = readdir(d))) {
		char path[1024];
		uint8_t *data;
		long len;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		data = malloc((size_t)len + 1);
		assert_non_null(data);
		assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		fn(data, (size_t)len);
		free(data);
		count++;
	}
	closedir(d);
	return count;
}

static void test_snapshot_corpus(void **state)
{
	(void)state;
	/* the worked examples and the demo snapshot are seeds */
	assert_true(replay_dir("fuzz/corpus/snapshot", fuzz_snapshot) >= 25);
	replay_dir("fuzz/regressions/snapshot", fuzz_snapshot);
}

static void test_scenario_corpus(void **state)
{
	(void)state;
	assert_true(replay_dir("fuzz/corpus/scenario", fuzz_scenario) >= 2);
	replay_dir("fuzz/regressions/scenario", fuzz_scenario);
}

static void test_plan_args_corpus(void **state)
{
	(void)state;
	assert_true(replay_dir("fuzz/corpus/plan_args", fuzz_plan_args) >= 4);
	replay_dir("fuzz/regressions/plan_args", fuzz_plan_args);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_corpus),
		cmocka_unit_test(test_scenario_corpus),
		cmocka_unit_test(test_plan_args_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
