// SPDX-License-Identifier: MIT
/*
 * advise.c - `mthp advise`: for a running process (or a snapshot of one),
 * which THP settings would serve it best as its memory is now.  The
 * process is snapshotted once; each setting of the sweep runs khugepaged's
 * passes over a copy of that state until nothing changes; the report is
 * the memory each setting would add and the TLB entries it would save,
 * the recommendation, and the lines that would apply it (printed, never
 * run).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/live.h>
#include <mthp/snapshot.h>
#include <mthp/sweep.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/sweep.h"
#include "report/sweep_report.h"

static const char advise_intro[] =
"usage: mthp advise --pid PID | --snapshot FILE [--policy P | --compare P1,P2]\n"
"                   [--context khugepaged|madvise] [--set KNOB=VALUE]...\n"
"                   [--sweep KNOB=V1,V2,...]... [--budget PCT] [--tlb PROFILE]\n"
"                   [--threads N] [--json] [--plot FILE]\n"
"\n"
"Which THP settings would serve this process best, as its memory is now:\n"
"for each setting of a sweep, khugepaged's passes over the process's page\n"
"tables until nothing changes, then the memory the setting would add and\n"
"the TLB entries it would save, the recommendation within the memory\n"
"budget, and the lines that would apply it (printed, never run).  --pid\n"
"needs root, as `mthp snapshot` does.\n"
"\n";

static const char advise_outro[] =
"Without --sweep: khugepaged/max_ptes_none 0, the current value and the\n"
"largest (511 with 4K pages), each against the enabled knobs of order 4\n"
"and of the PMD size (hugepages-64kB and hugepages-2048kB with 4K pages)\n"
"as they are and always.  The settings are\n"
"the snapshot's (a live one carries the host's), then --set.  The policy\n"
"is upstream (Linux 7.2) unless --policy or --compare says.  What the\n"
"passes assume is in docs/plan-contract.md (plans over passes): no page\n"
"is written, freed or aged between them.\n"
"Exit status: 0 done, 1 the process or file could not be read, 2 bad option.\n";

struct advise_opts {
	pid_t pid;
	const char *snapshot;
	int policies[MTHP_NR_POLICIES];
	size_t nr_policies;
	bool policy_given, compare;
	enum mthp_context context;
	struct mthp_opt_strings sets;
	bool json;
	struct cli_sweep_opts sweep;
};

CLI_SWEEP_HANDLERS(struct advise_opts)

CLI_POLICY_HANDLERS(struct advise_opts)

#define OPT(field) offsetof(struct advise_opts, field)

static const struct mthp_opt advise_opts_table[] = {
	{ "pid", 'p', "PID", MTHP_OPT_PID, OPT(pid), .help = "the running process" },
	{ "snapshot", 0, "FILE", MTHP_OPT_STRING, OPT(snapshot),
	  .help = "a snapshot (mthp snapshot) instead of a process;\n"
		  "'-' reads standard input" },
	{ "policy", 0, "P", MTHP_OPT_FN, .fn = parse_policy,
	  .help = "legacy | seed | upstream | guarded (default upstream)" },
	{ "compare", 0, "LIST", MTHP_OPT_FN, .fn = parse_compare,
	  .help = "each policy of the comma list" },
	{ "context", 0, "C", MTHP_OPT_CONTEXT, OPT(context),
	  .help = "khugepaged (default) or madvise (MADV_COLLAPSE)" },
	{ "set", 0, "KNOB=VALUE", MTHP_OPT_STRINGS, OPT(sets),
	  .help = "a THP sysfs knob, over the snapshot's settings;\n"
		  "  repeatable" },
	{ "json", 0, NULL, MTHP_OPT_FLAG, OPT(json),
	  .help = "one JSON document (\"mthp-sweep 1\") instead of the table" },
	CLI_SWEEP_OPTIONS(struct advise_opts, "", CLI_SWEEP_TLB_HELP),
	{ 0 },
};

static const struct mthp_cmd_spec advise_spec = {
	"advise", advise_intro, advise_opts_table, advise_outro, NULL, 0,
};

static int load(const struct advise_opts *o, struct mthp_snapshot *snap,
		struct mthp_settings *s, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };
	const char *name = o->snapshot;
	char msg[256];
	int ret;

	if (o->snapshot && !strcmp(o->snapshot, "-")) {
		name = "<stdin>";
		ret = mthp_snapshot_read(snap, stdin, name, &diag);
	} else if (o->snapshot) {
		FILE *f = mthp_cli_open_input(o->snapshot);

		if (!f) {
			fprintf(err, "mthp advise: %s: %s\n", o->snapshot, strerror(errno));
			return 1;
		}
		ret = mthp_snapshot_read(snap, f, o->snapshot, &diag);
		fclose(f);
	} else {
		name = "the process";
		ret = mthp_live_snapshot(o->pid, snap, &diag);
	}
	if (ret) {
		fprintf(err, "mthp advise: %s\n", diag.msg);
		mthp_snapshot_free(snap);
		return 1;
	}
	if (mthp_snapshot_settings(snap, s, name, &diag)) {
		fprintf(err, "mthp advise: %s\n", diag.msg);
		goto out_free;
	}
	for (size_t i = 0; i < o->sets.nr; i++) {
		if (mthp_settings_set_assignment(s, o->sets.v[i], msg, sizeof(msg))) {
			fprintf(err, "mthp advise: --set %s: %s\n", o->sets.v[i], msg);
			mthp_snapshot_free(snap);
			return EXIT_USAGE;
		}
	}
	return 0;

out_free:
	mthp_snapshot_free(snap);
	return 1;
}

/* "KNOB=a,b,c" of the values given, each once, in order. */
static void axis_text(char *buf, size_t len, const char *knob, const char *const *values,
		      size_t n)
{
	size_t used = (size_t)snprintf(buf, len, "%s=", knob);

	for (size_t i = 0; i < n && used < len; i++) {
		bool seen = false;

		for (size_t k = 0; k < i; k++)
			seen |= !strcmp(values[k], values[i]);
		if (!seen)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 buf[used - 1] == '=' ? "" : ",", values[i]);
	}
}

/* The default sweep: max_ptes_none 0/now/511 against 64K and the PMD size. */
static int default_axes(struct mthp_sweep *sw, char bufs[3][128], const char **axes,
			size_t *nr)
{
	const struct mthp_settings *s = &sw->settings;
	unsigned orders[2] = { 4, s->geo.pmd_order };
	char now[32], max[16];
	const char *values[3];

	mthp_settings_get(s, "khugepaged/max_ptes_none", now, sizeof(now));
	snprintf(max, sizeof(max), "%u", s->geo.ptes_per_pmd - 1);
	values[0] = "0";
	values[1] = now;
	values[2] = max;
	axis_text(bufs[0], sizeof(bufs[0]), "khugepaged/max_ptes_none", values, 3);
	axes[(*nr)++] = bufs[0];
	for (unsigned i = 0; i < 2; i++) {
		char knob[48];

		if (orders[i] > s->geo.pmd_order || (i == 0 && orders[i] == s->geo.pmd_order))
			continue;
		mthp_size_name(&s->geo, orders[i], knob, sizeof(knob) - 8);
		strcat(knob, "/enabled");
		if (mthp_settings_get(s, knob, now, sizeof(now)))
			continue;
		values[0] = now;
		values[1] = "always";
		axis_text(bufs[1 + i], sizeof(bufs[1 + i]), knob, values, 2);
		axes[(*nr)++] = bufs[1 + i];
	}
	return 0;
}

static int advise(const struct advise_opts *o, struct mthp_snapshot *snap,
		  const struct mthp_settings *s, FILE *out, FILE *err)
{
	struct mthp_sweep sw = { .snapshot = snap, .settings = *s, .context = o->context };
	struct cli_sweep_opts sweep = o->sweep;
	char why[160], source[96], bufs[3][128];
	const char *axes[3];
	int status;

	if (o->snapshot)
		snprintf(source, sizeof(source), "mthp advise: %s",
			 strcmp(o->snapshot, "-") ? o->snapshot : "<stdin>");
	else
		snprintf(source, sizeof(source), "mthp advise: pid %d", (int)o->pid);
	sw.source = source;
	for (size_t i = 0; i < o->nr_policies; i++)
		sw.policies[i] = o->policies[i];
	sw.nr_policies = (unsigned)o->nr_policies;
	if (!sweep.axes.nr) {
		size_t nr = 0;

		default_axes(&sw, bufs, axes, &nr);
		sweep.axes.v = axes;
		sweep.axes.nr = nr;
	}
	status = cli_sweep_setup("advise", &sweep, &sw, why, sizeof(why), err);
	if (!status)
		status = cli_sweep_run("advise", &sweep, &sw, why, o->json, out, err);
	if (!status && !o->json) {
		struct mthp_sweep_choice c;

		mthp_sweep_choose(&sw, cli_sweep_budget(&sweep), &c);
		if (c.within_budget >= 0) {
			fprintf(out, "\nTo apply the recommendation (as root; not run), the swept "
				"knobs that differ from the snapshot's settings with --set:\n");
			if (!mthp_sweep_echo(out, &sw, (size_t)c.within_budget))
				fprintf(out, "  nothing: the swept knobs are as they are now\n");
		}
	}
	mthp_sweep_free(&sw);
	return status;
}

int cmd_advise(int argc, char **argv, FILE *out, FILE *err)
{
	struct advise_opts o = { .policies = { MTHP_POLICY_UPSTREAM }, .nr_policies = 1,
				 .sweep.tlb = -1 };
	struct mthp_snapshot snap;
	struct mthp_settings s;
	int status = mthp_opts_parse(&advise_spec, argc, argv, &o, out, err);

	if (status)
		goto out_opts;
	if (!o.pid == !o.snapshot) {
		status = mthp_opts_usage_error(&advise_spec, err, "give --pid or --snapshot, "
					       "one of them");
		goto out_opts;
	}
	status = cli_sweep_check_sets("advise", &o.sweep, &o.sets, err);
	if (status)
		goto out_opts;
	if (o.policy_given && o.compare) {
		status = mthp_opts_usage_error(&advise_spec, err, "give --policy or --compare, "
					       "not both");
		goto out_opts;
	}
	status = cli_sweep_check_plot(&advise_spec, &o.sweep, err);
	if (status)
		goto out_opts;
	status = load(&o, &snap, &s, err);
	if (status)
		goto out_opts;
	status = advise(&o, &snap, &s, out, err);
	mthp_snapshot_free(&snap);
out_opts:
	mthp_opts_free(&advise_spec, &o);
	return status < 0 ? 0 : status;
}
