// SPDX-License-Identifier: MIT
/*
 * snapshot.c - `mthp snapshot --pid PID [-o FILE]`: a live process's
 * anonymous page tables as a snapshot file (format 2).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/live.h>
#include <mthp/snapshot.h>

#include "cli/cli.h"
#include "cli/opts.h"

static const char snapshot_intro[] =
"usage: mthp snapshot --pid PID [-o FILE]\n"
"\n"
"Write the anonymous VMAs and page tables of a running process as a\n"
"snapshot (format 2), with the host's THP settings as 'setting' lines, for\n"
"'mthp plan --snapshot FILE'.  Needs root (CAP_SYS_ADMIN): page frame\n"
"numbers and /proc/kpageflags are hidden from other users.\n"
"\n";

static const char snapshot_outro[] =
"PTE states come from pagemap and kpageflags.  pagemap has no\n"
"young bit: every present anon page is written young (A, S), as memory\n"
"the process touched recently is.  PMD ranges with nothing mapped get no\n"
"pmd line.\n"
"Exit status: 0 written, 1 the process could not be read, 2 bad option.\n";

struct snapshot_opts {
	pid_t pid;
	const char *output;
};

static const struct mthp_opt snapshot_opts_table[] = {
	{ "pid", 'p', "PID", MTHP_OPT_PID, offsetof(struct snapshot_opts, pid),
	  .help = "the process", .required = true },
	{ "output", 'o', "FILE", MTHP_OPT_STRING, offsetof(struct snapshot_opts, output),
	  .help = "write to FILE instead of standard output" },
	{ 0 },
};

static const struct mthp_cmd_spec snapshot_spec = {
	"snapshot", snapshot_intro, snapshot_opts_table, snapshot_outro, NULL, 0,
};

int cmd_snapshot(int argc, char **argv, FILE *out, FILE *err)
{
	struct snapshot_opts o = { 0 };
	struct mthp_diag diag = { 0 };
	struct mthp_snapshot snap;
	const char *output;
	pid_t pid;
	FILE *f = out;
	int ret;

	ret = mthp_opts_parse(&snapshot_spec, argc, argv, &o, out, err);
	if (ret)
		return ret < 0 ? 0 : ret;
	pid = o.pid;
	output = o.output;
	ret = mthp_cli_check_output(err, "snapshot", "-o", output);
	if (ret)
		return ret;
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
