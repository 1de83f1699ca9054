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

/* A fuzz target, its corpus directories and how many seeds it has at least. */
struct target {
	const char *name;
	int (*fn)(const uint8_t *data, size_t len);
	size_t min_seeds;
};

static const struct target targets[] = {
	/* the worked examples and the demo snapshot are seeds */
	{ "snapshot", fuzz_snapshot, 25 },
	{ "scenario", fuzz_scenario, 2 },
	{ "plan_args", fuzz_plan_args, 4 },
	{ "recording", fuzz_recording, 4 },
};
#define NR_TARGETS (sizeof(targets) / sizeof(targets[0]))

/* The seed corpus, then the saved crashes, of one target. */
static void test_replay(void **state)
{
	const struct target *t = *state;
	char dir[64];

	snprintf(dir, sizeof(dir), "fuzz/corpus/%s", t->name);
	assert_true(replay_dir(dir, t->fn) >= t->min_seeds);
	snprintf(dir, sizeof(dir), "fuzz/regressions/%s", t->name);
	replay_dir(dir, t->fn);
}

int main(void)
{
	struct CMUnitTest tests[NR_TARGETS];
	char names[NR_TARGETS][48];

	for (size_t i = 0; i < NR_TARGETS; i++) {
		snprintf(names[i], sizeof(names[i]), "%s corpus", targets[i].name);
		tests[i] = (struct CMUnitTest){ .name = names[i], .test_func = test_replay,
						.initial_state = (void *)&targets[i] };
	}
	return _cmocka_run_group_tests("fuzz_corpus", tests, NR_TARGETS, NULL, NULL);
}
