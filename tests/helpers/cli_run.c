// SPDX-License-Identifier: MIT
/*
 * cli_run.c - the tests' way to run the `mthp` command and capture its
 * output in memory (see cli_run.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

/* The words up to a NULL (CLI_RUN_MAX_WORDS at most) into argv; their count. */
static int words(char **argv, const char *first, va_list ap)
{
	int argc = 0;

	for (const char *a = first; a && argc < CLI_RUN_MAX_WORDS; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	argv[argc] = NULL;
	return argc;
}

struct cli_run cli_run(const char *first, ...)
{
	char *argv[CLI_RUN_MAX_WORDS + 1];
	int argc;
	va_list ap;

	va_start(ap, first);
	argc = words(argv, first, ap);
	va_end(ap);
	return cli_run_argv(argc, argv);
}

void cli_run_fails(int status, const char *needle, const char *first, ...)
{
	char *argv[CLI_RUN_MAX_WORDS + 1];
	char line[1024] = "mthp";
	struct cli_run r;
	int argc;
	va_list ap;

	va_start(ap, first);
	argc = words(argv, first, ap);
	va_end(ap);
	for (int i = 0; i < argc; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", argv[i]);
	r = cli_run_argv(argc, argv);
	if (r.status != status || !strstr(r.err, needle))
		fail_msg("%s: exit %d (want %d), stderr lacks '%s':\n%s", line, r.status, status,
			 needle, r.err);
	cli_run_free(&r);
}

void cli_run_free(struct cli_run *r)
{
	free(r->out);
	free(r->err);
}
