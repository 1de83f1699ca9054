// SPDX-License-Identifier: MIT
/*
 * cli_run.c - the tests' way to run the `mthp` command and capture its
 * output in memory (see cli_run.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "helpers/cli_run.h"

#define CLI_RUN_MAX_WORDS 63

struct cli_run cli_run_argv(int argc, char **argv)
{
	struct cli_run r = { 0 };
	size_t out_len, err_len;
	FILE *out = open_memstream(&r.out, &out_len);
	FILE *err = open_memstream(&r.err, &err_len);

	if (!out || !err) {
		fprintf(stderr, "cli_run: open_memstream failed\n");
		abort();
	}
	r.status = mthp_cli_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return r;
}

struct cli_run cli_run(const char *first, ...)
{
	char *argv[CLI_RUN_MAX_WORDS + 1];
	int argc = 0;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && argc < CLI_RUN_MAX_WORDS; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return cli_run_argv(argc, argv);
}

void cli_run_free(struct cli_run *r)
{
	free(r->out);
	free(r->err);
}
