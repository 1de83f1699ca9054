// SPDX-License-Identifier: MIT
/*
 * tracediff.c - `mthp trace-diff KERNEL SIM`: a kernel's trace of
 * khugepaged and the simulator's, compared PMD range by PMD range
 * (report/trace_diff.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "report/trace_diff.h"

static const char trace_diff_intro[] =
"usage: mthp trace-diff KERNEL SIM [--kernel-mm MM] [--sim-mm MM] [--all]\n"
"\n"
"Compare two text traces of khugepaged's huge_memory events, PMD range by\n"
"PMD range: KERNEL as tracefs's trace file has them (with the events\n"
"huge_memory/ enabled), SIM as `mthp sim --trace` writes them ('-': standard\n"
"input, for one of them).  A range's events are its collapse attempts\n"
"(mm_collapse_huge_page_swapin, mm_collapse_huge_page_isolate,\n"
"mm_collapse_huge_page) and last mm_khugepaged_scan_pmd, whose mm= names\n"
"the process; two ranges are the same when their events come in the same\n"
"order with the same fields, mm= and scan_pfn= aside.  Other lines are\n"
"passed over.  Each trace's process is the one given, else its only one,\n"
"else the one with as many ranges as the other trace's.  Prints the first\n"
"difference of each range that differs, both lines with their line\n"
"numbers, then how many ranges are the same.\n"
"\n";

static const char trace_diff_outro[] =
"Exit status: 0 every range the same (and as many in both), 1 a\n"
"difference, 2 bad option or unreadable trace.\n";

struct trace_diff_opts {
	const char *files[2];
	const char *kernel_mm, *sim_mm;
	bool all;
};

#define OPT(f) offsetof(struct trace_diff_opts, f)

static const struct mthp_opt trace_diff_table[] = {
	{ "kernel-mm", 0, "MM", MTHP_OPT_STRING, OPT(kernel_mm),
	  .help = "the process of KERNEL to compare, by its mm= value" },
	{ "sim-mm", 0, "MM", MTHP_OPT_STRING, OPT(sim_mm),
	  .help = "the process of SIM to compare, by its mm= value" },
	{ "all", 0, NULL, MTHP_OPT_FLAG, OPT(all),
	  .help = "print every range, the same ones too" },
	{ 0 },
};

static const struct mthp_cmd_spec trace_diff_spec = {
	"trace-diff", trace_diff_intro, trace_diff_table, trace_diff_outro,
	"KERNEL SIM", OPT(files), 2,
};

/* The trace in path; 0 or an exit status. */
static int read_trace(const char *path, struct mthp_trace **t, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };
	bool in = !strcmp(path, "-");
	FILE *f = in ? stdin : mthp_cli_open_input(path);
	int ret;

	if (!f) {
		fprintf(err, "mthp trace-diff: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	ret = mthp_trace_read(t, f, in ? "<stdin>" : path, &diag);
	if (!in)
		fclose(f);
	if (ret) {
		fprintf(err, "mthp trace-diff: %s\n", diag.msg);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_trace_diff(int argc, char **argv, FILE *out, FILE *err)
{
	struct trace_diff_opts o = { .files = { NULL } };
	struct mthp_trace *kernel = NULL, *sim = NULL;
	struct mthp_trace_diff_result res;
	struct mthp_diag diag = { .warn = NULL };
	int status = mthp_opts_parse(&trace_diff_spec, argc, argv, &o, out, err);

	if (status)
		goto out;
	if (!o.files[1]) {
		status = mthp_opts_usage_error(&trace_diff_spec, err, "give two traces, KERNEL "
					       "and SIM");
		goto out;
	}
	if (!strcmp(o.files[0], "-") && !strcmp(o.files[1], "-")) {
		status = mthp_opts_usage_error(&trace_diff_spec, err, "only one trace can be "
					       "standard input");
		goto out;
	}
	status = read_trace(o.files[0], &kernel, err) ?: read_trace(o.files[1], &sim, err);
	if (status)
		goto out;
	{
		struct mthp_trace_diff_opts dopts = {
			.mm_a = o.kernel_mm, .mm_b = o.sim_mm, .all = o.all,
		};

		if (mthp_trace_diff(kernel, "kernel", sim, "simulator", &dopts, out, &res,
				    &diag)) {
			fprintf(err, "mthp trace-diff: %s\n", diag.msg);
			status = EXIT_USAGE;
			goto out;
		}
	}
	status = res.same == res.ranges && !res.only_a && !res.only_b ? 0 : 1;
	free(res.first_a);
out:
	mthp_trace_free(kernel);
	mthp_trace_free(sim);
	mthp_opts_free(&trace_diff_spec, &o);
	return status < 0 ? 0 : status;
}
