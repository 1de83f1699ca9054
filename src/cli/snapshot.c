// SPDX-License-Identifier: MIT
/*
 * snapshot.c - `mthp snapshot --pid PID [-o FILE]`: a live process's
 * anonymous page tables as a snapshot file (format 1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/live.h>
#include <mthp/snapshot.h>

#include "cli/cli.h"

static const char snapshot_usage[] =
"usage: mthp snapshot --pid PID [-o FILE]\n"
"\n"
"Write the anonymous VMAs and page tables of a running process as a\n"
"snapshot (format 1), with the host's THP settings as 'setting' lines, for\n"
"'mthp plan --snapshot FILE'.  Needs root (CAP_SYS_ADMIN): page frame\n"
"numbers and /proc/kpageflags are hidden from other users.\n"
"\n"
"  -p, --pid PID       the process\n"
"  -o, --output FILE   write to FILE instead of standard output\n"
"  -h, --help          this help\n"
"\n"
"PTE states come from pagemap, kpageflags and kpagecount.  pagemap has no\n"
"young bit: every present anon page is written young (A, S), as memory\n"
"the process touched recently is.  PMD ranges with nothing mapped get no\n"
"pmd line.\n"
"Exit status: 0 written, 1 the process could not be read, 2 bad option.\n";

int cmd_snapshot(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mthp_diag diag = { 0 };
	struct mthp_snapshot snap;
	const char *output = NULL;
	pid_t pid = 0;
	FILE *f = out;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (mthp_cli_parse_pid(optarg, &pid) < 0) {
				fprintf(err, "mthp snapshot: bad pid '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs(snapshot_usage, out);
			return 0;
		default:
			fprintf(err, "mthp snapshot: bad option '%s'\n%s",
				argv[optind - 1], snapshot_usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !pid) {
		fprintf(err, "mthp snapshot: %s\n%s", pid ? "unexpected argument" :
			"--pid is required", snapshot_usage);
		return EXIT_USAGE;
	}
	if (mthp_cli_check_output(err, "snapshot", "-o", output))
		return 1;
	ret = mthp_live_snapshot(pid, &snap, &diag);
	if (ret < 0) {
		fprintf(err, "mthp snapshot: %s\n", diag.msg);
		mthp_snapshot_free(&snap);
		return 1;
	}
	if (output && strcmp(output, "-")) {
		f = fopen(output, "w");
		if (!f) {
			fprintf(err, "mthp snapshot: cannot create %s: %s\n", output,
				strerror(errno));
			mthp_snapshot_free(&snap);
			return 1;
		}
	}
	ret = mthp_snapshot_write(&snap, f);
	if (f != out && fclose(f) != 0)
		ret = -EIO;
	mthp_snapshot_free(&snap);
	if (ret < 0) {
		fprintf(err, "mthp snapshot: writing %s failed\n",
			output ? output : "standard output");
		return 1;
	}
	return 0;
}
