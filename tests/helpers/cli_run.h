/* SPDX-License-Identifier: MIT */
/*
 * cli_run.h - run the `mthp` command in the test's own process and keep
 * what it printed: its exit status, its standard output and its standard
 * error, each as a string the caller frees with cli_run_free().
 */
#ifndef MTHP_TEST_CLI_RUN_H
#define MTHP_TEST_CLI_RUN_H

struct cli_run {
	int status;
	char *out;
	char *err;
};

/* Run `mthp ARGV...` (ARGC words, ARGV[ARGC] == NULL). */
struct cli_run cli_run_argv(int argc, char **argv);

/* Run `mthp FIRST...` with the words given up to a NULL (63 at most). */
struct cli_run cli_run(const char *first, ...);

void cli_run_free(struct cli_run *r);

/*
 * Run `mthp FIRST...` as cli_run() does; fail the case (cmocka), naming the
 * words, the exit status and the standard error, unless it exits with
 * status and its standard error holds needle.
 */
void cli_run_fails(int status, const char *needle, const char *first, ...);

#endif
