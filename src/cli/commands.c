// SPDX-License-Identifier: MIT
/*
 * commands.c - the command table, the top-level usage of `mthp`, and
 * what the commands share in parsing their arguments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const struct mthp_command mthp_commands[] = {
	{ "sim", cmd_sim, "run a workload scenario in the simulator under each collapse policy" },
	{ "plan", cmd_plan, "what khugepaged or MADV_COLLAPSE would collapse, per PMD range" },
	{ "audit", cmd_audit, "(m)THP use of running processes, per VMA (thpmaps counters)" },
	{ "snapshot", cmd_snapshot, "a running process's page tables as a snapshot file" },
	{ "collapse", cmd_collapse, "collapse a running process's planned PMD ranges (MADV_COLLAPSE)" },
	{ "daemon", cmd_daemon, "a userspace khugepaged: scan, plan and collapse every interval" },
	{ "advise", cmd_advise, "which THP settings would serve a process best, as it is now" },
	{ "record", cmd_record, "a running process's page tables over time, as a recording file" },
	{ "trace-diff", cmd_trace_diff, "a kernel's khugepaged trace and the simulator's, range by range" },
	{ NULL, NULL, NULL },
};

int mthp_cli_parse_pid(const char *text, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v <= 0 || v > 0x3fffffff) {
		errno = 0;
		return -EINVAL;
	}
	*pid = (pid_t)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mthp COMMAND [OPTIONS]\n\n"
		"The khugepaged multi-size THP (mTHP) collapse engine.\n\ncommands:\n");
	for (const struct mthp_command *c = mthp_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'mthp COMMAND --help' describes each command.\n");
}

int mthp_cli_run(int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 1 || !argv[0]) {
		usage(err);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
		usage(out);
		return 0;
	}
	if (!strcmp(argv[0], "--version")) {
		fprintf(out, "mthp 0.1.0\n");
		return 0;
	}
	for (const struct mthp_command *c = mthp_commands; c->name; c++)
		if (!strcmp(argv[0], c->name))
			return c->run(argc, argv, out, err);
	fprintf(err, "mthp: unknown command '%s'\n", argv[0]);
	usage(err);
	return EXIT_USAGE;
}
