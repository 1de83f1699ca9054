// SPDX-License-Identifier: MIT
/*
 * collapse.c - `mthp collapse --pid PID [--range START-END] [--dry-run]`:
 * snapshot the process, plan it as MADV_COLLAPSE would (legacy policy,
 * madvise context: this kernel collapses at PMD order only), perform the
 * planned PMD collapses with process_madvise(MADV_COLLAPSE), read the
 * process again and report which ranges are PMD-mapped now.  The mTHP
 * windows the upstream policy would collapse are listed as not possible
 * on this kernel.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/engine.h>
#include <mthp/live.h>
#include <mthp/snapshot.h>

#include "cli/cli.h"
#include "cli/opts.h"

static const char collapse_intro[] =
"usage: mthp collapse --pid PID [--range START-END] [--dry-run]\n"
"\n"
"Plan the process's anonymous memory as MADV_COLLAPSE would, collapse\n"
"every PMD range the plan collapses with process_madvise(MADV_COLLAPSE),\n"
"then read the process again and report which ranges are PMD-mapped.\n"
"Windows below PMD size (mTHP) are listed as not possible: this kernel's\n"
"MADV_COLLAPSE collapses at PMD size only.\n"
"\n";

static const char collapse_outro[] =
"Needs root (CAP_SYS_ADMIN to read the page tables, CAP_SYS_NICE for\n"
"process_madvise).  Exit status: 0 every planned range collapsed (or\n"
"--dry-run); 1 a range did not, or the process could not be read; 2 bad\n"
"option.\n";

struct collapse_opts {
	pid_t pid;
	uint64_t range_start, range_end;
	bool dry_run;
};

struct collapse_ctx {
	FILE *out;
	uint64_t range_start, range_end;
	uint32_t pmd_order;
	uint32_t page_size;
	struct target {
		uint64_t addr;
		uint32_t filled;	/* none and zero-page PTEs the collapse fills */
	} *targets;
	size_t nr_targets;
	size_t nr_mthp;
	bool mthp_only;		/* the upstream pass: list sub-PMD windows */
	int error;
};

static bool in_range(const struct collapse_ctx *cc, uint64_t addr, uint64_t size)
{
	return addr >= cc->range_start && addr + size <= cc->range_end;
}

static void plan_pmd(void *ctx, const struct mthp_snapshot *snap,
		     const struct mthp_snapshot_pmd *pmd,
		     const struct mthp_pmd_plan *plan)
{
	struct collapse_ctx *cc = ctx;
	uint64_t size = mthp_pmd_size(&snap->geo);

	if (!in_range(cc, pmd->addr, size))
		return;
	for (uint32_t i = 0; i < plan->nr_collapses; i++) {
		const struct mthp_window *w = &plan->collapses[i];
		uint64_t addr = pmd->addr + (uint64_t)w->offset * snap->geo.page_size;

		if (w->order == cc->pmd_order && cc->mthp_only)
			continue;
		if (w->order == cc->pmd_order) {
			struct target *t = realloc(cc->targets,
						   (cc->nr_targets + 1) * sizeof(*t));

			if (!t) {
				cc->error = -ENOMEM;
				return;
			}
			cc->targets = t;
			/* a PMD collapse is the range's only one */
			t[cc->nr_targets++] = (struct target){ pmd->addr, plan->pages_filled };
		} else if (cc->mthp_only) {
			fprintf(cc->out, "%" PRIx64 " %" PRIu64 "kB: mTHP collapse not possible on this kernel (MADV_COLLAPSE is PMD-only)\n",
				addr, ((uint64_t)snap->geo.page_size << w->order) / 1024);
			cc->nr_mthp++;
		}
	}
}

/*
 * The PMD collapses of the legacy (mainline) plan, then the sub-PMD windows
 * of the upstream plan, which this kernel cannot do.
 */
static int plan_snapshot(const struct mthp_snapshot *snap, struct collapse_ctx *cc,
			 FILE *err)
{
	struct mthp_diag diag = { 0 };
	struct mthp_settings s;
	int ret;

	ret = mthp_snapshot_settings(snap, &s, "live", &diag);
	if (ret < 0) {
		fprintf(err, "mthp collapse: %s\n", diag.msg);
		return ret;
	}
	cc->pmd_order = s.geo.pmd_order;
	cc->page_size = s.geo.page_size;
	ret = mthp_snapshot_plan(snap, &s, MTHP_POLICY_LEGACY, MTHP_CONTEXT_MADVISE,
				 plan_pmd, cc);
	if (!ret) {
		cc->mthp_only = true;
		ret = mthp_snapshot_plan(snap, &s, MTHP_POLICY_UPSTREAM,
					 MTHP_CONTEXT_MADVISE, plan_pmd, cc);
		cc->mthp_only = false;
	}
	if (!ret)
		ret = cc->error;
	if (ret < 0)
		fprintf(err, "mthp collapse: planning failed: %s\n", strerror(-ret));
	return ret;
}

static int parse_range(void *opts, const char *text, char *why, size_t len)
{
	struct collapse_opts *o = opts;
	char *dash;

	errno = 0;
	o->range_start = strtoull(text, &dash, 16);
	if (errno || dash == text || *dash != '-')
		goto bad;
	o->range_end = strtoull(dash + 1, &dash, 16);
	if (errno || *dash || o->range_end <= o->range_start)
		goto bad;
	return 0;
bad:
	errno = 0;
	snprintf(why, len, "must be hex START-END, START < END");
	return -EINVAL;
}

static const struct mthp_opt collapse_opts_table[] = {
	{ "pid", 'p', "PID", MTHP_OPT_PID, offsetof(struct collapse_opts, pid),
	  .help = "the process", .required = true },
	{ "range", 'r', "START-END", MTHP_OPT_FN, .fn = parse_range,
	  .help = "only PMD ranges inside [START, END) (hex)" },
	{ "dry-run", 'n', NULL, MTHP_OPT_FLAG, offsetof(struct collapse_opts, dry_run),
	  .help = "plan and list, collapse nothing: each range with the\n"
		  "  pages its collapse would fill (MiB), and the total" },
	{ 0 },
};

static const struct mthp_cmd_spec collapse_spec = {
	"collapse", collapse_intro, collapse_opts_table, collapse_outro, NULL, 0,
};

static int do_collapses(pid_t pid, const struct mthp_geometry *geo,
			struct collapse_ctx *cc, bool dry_run, FILE *out)
{
	uint64_t size = mthp_pmd_size(geo), filled = 0;
	size_t done = 0;

	for (size_t i = 0; i < cc->nr_targets; i++) {
		struct mthp_diag diag = { 0 };
		uint64_t addr = cc->targets[i].addr;
		int ret, mapped;

		if (dry_run) {
			fprintf(out, "%" PRIx64 " %" PRIu64 "kB: would collapse, filling %u pages "
				"(%.2f MiB more memory)\n", addr, size / 1024, cc->targets[i].filled,
				(double)cc->targets[i].filled * cc->page_size / 1048576.0);
			filled += cc->targets[i].filled;
			continue;
		}
		ret = mthp_live_collapse(pid, addr, size, &diag);
		if (ret == -EAGAIN)	/* a page in flight: retry once, as the selftests do */
			ret = mthp_live_collapse(pid, addr, size, &diag);
		mapped = mthp_live_pmd_mapped(pid, addr, geo, &diag);
		if (mapped == 1) {
			fprintf(out, "%" PRIx64 " %" PRIu64 "kB: collapsed\n", addr,
				size / 1024);
			done++;
		} else {
			fprintf(out, "%" PRIx64 " %" PRIu64 "kB: not collapsed: %s\n",
				addr, size / 1024, ret < 0 ? diag.msg :
				"not PMD-mapped when read again");
		}
		if (ret == -EPERM || ret == -ESRCH)
			break;
	}
	if (dry_run)
		fprintf(out, "%zu PMD ranges planned for collapse (dry run): %" PRIu64 " pages "
			"filled, %.2f MiB more memory\n", cc->nr_targets, filled,
			(double)filled * cc->page_size / 1048576.0);
	else
		fprintf(out, "%zu of %zu planned PMD ranges collapsed\n", done,
			cc->nr_targets);
	return dry_run || done == cc->nr_targets ? 0 : 1;
}

int cmd_collapse(int argc, char **argv, FILE *out, FILE *err)
{
	struct collapse_opts o = { .range_end = UINT64_MAX };
	struct collapse_ctx cc = { .out = out };
	struct mthp_diag diag = { 0 };
	struct mthp_snapshot snap;
	int status;

	status = mthp_opts_parse(&collapse_spec, argc, argv, &o, out, err);
	if (status)
		return status < 0 ? 0 : status;
	cc.range_start = o.range_start;
	cc.range_end = o.range_end;
	if (mthp_live_snapshot(o.pid, &snap, &diag) < 0) {
		fprintf(err, "mthp collapse: %s\n", diag.msg);
		mthp_snapshot_free(&snap);
		return 1;
	}
	if (plan_snapshot(&snap, &cc, err) < 0) {
		mthp_snapshot_free(&snap);
		free(cc.targets);
		return 1;
	}
	status = do_collapses(o.pid, &snap.geo, &cc, o.dry_run, out);
	mthp_snapshot_free(&snap);
	free(cc.targets);
	return status;
}
