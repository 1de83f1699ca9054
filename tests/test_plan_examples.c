// SPDX-License-Identifier: MIT
/*
 * test_plan_examples.c - the worked examples of the plan contract: every
 * tests/examples/NAME.POLICY.CONTEXT.json is the exact expected output of
 * `mthp plan --snapshot NAME.snap --policy POLICY --context CONTEXT --json`.
 * Each runs the real command (through mthp_cli_run) as its own test case
 * and compares the parsed JSON documents.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/cli.h"
#include "helpers/examples.h"

/* the contract ships 53 expected outputs; all must be here */
#define EXPECTED_EXAMPLES 53

struct example {
	char json_path[512];
	char snap_path[512];
	char policy[16];
	char context[16];
};

/* Run `mthp plan ...` and return its parsed JSON output. */
static json_t *run_plan(const struct example *ex)
{
	char *argv[] = { "plan", "--snapshot", (char *)ex->snap_path,
			 "--policy", (char *)ex->policy, "--context",
			 (char *)ex->context, "--json", NULL };
	char *out_buf = NULL, *err_buf = NULL;
	size_t out_len = 0, err_len = 0;
	FILE *out = open_memstream(&out_buf, &out_len);
	FILE *err = open_memstream(&err_buf, &err_len);
	json_error_t jerr;
	json_t *doc;
	int status;

	assert_non_null(out);
	assert_non_null(err);
	status = mthp_cli_run(8, argv, out, err);
	fclose(out);
	fclose(err);
	if (status != 0)
		fail_msg("mthp plan exited %d: %s", status, err_buf);
	doc = json_loads(out_buf, 0, &jerr);
	if (!doc)
		fail_msg("output is not JSON (%s): %s", jerr.text, out_buf);
	free(out_buf);
	free(err_buf);
	return doc;
}

static void test_example(void **state)
{
	const struct example *ex = *state;
	json_error_t jerr;
	json_t *expected = json_load_file(ex->json_path, 0, &jerr);
	json_t *got;

	if (!expected)
		fail_msg("%s: %s", ex->json_path, jerr.text);
	got = run_plan(ex);
	if (!json_equal(expected, got)) {
		char *e = json_dumps(expected, JSON_INDENT(1) | JSON_SORT_KEYS);
		char *g = json_dumps(got, JSON_INDENT(1) | JSON_SORT_KEYS);

		fail_msg("%s differs\n--- expected\n%s\n--- got\n%s", ex->json_path, e, g);
	}
	json_decref(expected);
	json_decref(got);
}

/* NAME.POLICY.CONTEXT.json -> the example; false if the name has another shape. */
static bool parse_name(const char *file, struct example *ex)
{
	char name[256], *policy, *context, *ext;

	if (strlen(file) >= sizeof(name))
		return false;
	strcpy(name, file);
	ext = strrchr(name, '.');
	if (!ext || strcmp(ext, ".json"))
		return false;
	*ext = '\0';
	context = strrchr(name, '.');
	if (!context)
		return false;
	*context++ = '\0';
	policy = strrchr(name, '.');
	if (!policy)
		return false;
	*policy++ = '\0';
	if (strlen(policy) >= sizeof(ex->policy) || strlen(context) >= sizeof(ex->context))
		return false;
	snprintf(ex->json_path, sizeof(ex->json_path), EXAMPLES_DIR "/%s", file);
	snprintf(ex->snap_path, sizeof(ex->snap_path), EXAMPLES_DIR "/%s.snap", name);
	strcpy(ex->policy, policy);
	strcpy(ex->context, context);
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct CMUnitTest *)a)->name,
		      ((const struct CMUnitTest *)b)->name);
}

int main(void)
{
	DIR *dir = opendir(EXAMPLES_DIR);
	struct CMUnitTest *tests = calloc(256, sizeof(*tests));
	struct example *examples = calloc(256, sizeof(*examples));
	struct dirent *de;
	size_t n = 0;
	int failed;

	if (!dir || !tests || !examples) {
		fprintf(stderr, "cannot open %s (run from the project root)\n", EXAMPLES_DIR);
		return 1;
	}
	while ((de = readdir(dir)) && n < 256) {
		if (!parse_name(de->d_name, &examples[n]))
			continue;
		tests[n].name = strdup(de->d_name);
		tests[n].test_func = test_example;
		tests[n].initial_state = &examples[n];
		n++;
	}
	closedir(dir);
	if (n != EXPECTED_EXAMPLES) {
		fprintf(stderr, "found %zu examples in %s, expected %d\n", n,
			EXAMPLES_DIR, EXPECTED_EXAMPLES);
		return 1;
	}
	qsort(tests, n, sizeof(*tests), by_name);
	failed = _cmocka_run_group_tests("plan_examples", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free((char *)tests[i].name);
	free(tests);
	free(examples);
	return failed ? 1 : 0;
}
