// SPDX-License-Identifier: MIT
/*
 * sweep.c - the command-line side of a sweep, shared by `mthp sim
 * --sweep` and `mthp advise` (see sweep.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/sweep.h"
#include "report/picture.h"
#include "report/sim_report.h"
#include "report/sweep_report.h"

int cli_sweep_parse_budget(struct cli_sweep_opts *o, const char *value, char *why, size_t len)
{
	size_t digits = strspn(value, "0123456789"), frac = 0;
	char *end;
	double v;

	/* decimal only: no sign, space, exponent or hex that strtod() would take */
	if (digits && value[digits] == '.')
		frac = strspn(value + digits + 1, "0123456789") + 1;
	v = strtod(value, &end);
	if (!digits || frac == 1 || end != value + digits + frac ||
	    (*end && strcmp(end, "%")) || v > 10000) {
		snprintf(why, len, "must be a percentage from 0 to 10000 (e.g. 5%%)");
		return -EINVAL;
	}
	o->budget = v / 100;
	o->budget_given = true;
	return 0;
}

int cli_sweep_parse_tlb(struct cli_sweep_opts *o, const char *value, char *why, size_t len)
{
	enum mthp_tlb_profile p;

	if (mthp_tlb_profile_parse(value, &p)) {
		snprintf(why, len, "must be x86-64, zen, arm64-4k, arm64-16k or arm64-64k");
		return -EINVAL;
	}
	o->tlb = (int)p;
	o->tlb_given = true;
	return 0;
}

int cli_parse_policies(const char *list, int *policies, size_t *nr, char *why, size_t len)
{
	const char *p = list;

	*nr = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		char name[16];
		enum mthp_policy pol;

		snprintf(name, sizeof(name), "%.*s", (int)(n < 15 ? n : 15), p);
		if (n > 15 || mthp_policy_parse(name, &pol) || *nr == MTHP_NR_POLICIES)
			goto bad;
		for (size_t i = 0; i < *nr; i++)
			if (policies[i] == (int)pol)
				goto bad;
		policies[(*nr)++] = (int)pol;
		if (p[n] == ',' && !p[n + 1])
			goto bad;	/* "legacy,": a name left out */
		p += n + (p[n] == ',');
	}
	if (*nr)
		return 0;
bad:
	snprintf(why, len, "must be a comma list of distinct policies (legacy, seed, upstream, guarded)");
	return -EINVAL;
}

int cli_parse_policy(const char *value, int *policies, size_t *nr, char *why, size_t len)
{
	enum mthp_policy p;

	if (mthp_policy_parse(value, &p)) {
		snprintf(why, len, "must be legacy, seed, upstream or guarded");
		return -EINVAL;
	}
	policies[0] = (int)p;
	*nr = 1;
	return 0;
}

int cli_check_picture_name(const struct mthp_cmd_spec *spec, const char *opt, const char *path,
			   FILE *err)
{
	if (path && !picture_name_ok(path))
		return mthp_opts_usage_error(spec, err, "%s %s: the file name must end in .svg "
					     "or .png", opt, path);
	return 0;
}

int cli_sweep_check_plot(const struct mthp_cmd_spec *spec, const struct cli_sweep_opts *o,
			 FILE *err)
{
	return cli_check_picture_name(spec, "--plot", o->plot, err) ?:
	       mthp_cli_check_output(err, spec->name, "--plot", o->plot);
}

bool cli_sweep_extras_given(const struct cli_sweep_opts *o)
{
	return o->plot || o->budget_given || o->threads;
}

int cli_tlb_machine(const char *cmd, const struct cli_sweep_opts *o, int mmu,
		    const char *file, unsigned line, const struct mthp_geometry *geo,
		    uint32_t *cont_order, FILE *err)
{
	enum mthp_tlb_profile p = (enum mthp_tlb_profile)o->tlb;

	if (!o->tlb_given)
		return 0;
	if (mmu >= 0 && o->tlb != mmu) {
		fprintf(err, "mthp %s: --tlb %s: the scenario's machine has mmu %s (%s:%u), "
			"and the runs simulate that machine\n", cmd, mthp_tlb_profile_name(p),
			mthp_tlb_profile_name((enum mthp_tlb_profile)mmu), file, line);
		return EXIT_USAGE;
	}
	if (!mthp_tlb_profile_fits(p, geo)) {
		fprintf(err, "mthp %s: --tlb %s: made for another page size than %u bytes\n",
			cmd, mthp_tlb_profile_name(p), geo->page_size);
		return EXIT_USAGE;
	}
	*cont_order = mthp_tlb_profile_info(p)->cont_order;
	return 0;
}

static int choose_profile(const char *cmd, const struct cli_sweep_opts *o,
			  struct mthp_sweep *sw, char *why, size_t len, FILE *err)
{
	const struct mthp_geometry *geo = &sw->settings.geo;
	int mmu = sw->scenario ? sw->scenario->mmu : -1;
	enum mthp_tlb_profile p;
	char host[96];
	uint32_t cont;

	/* the profile judged is the simulated machine's MMU: one of them */
	if (o->tlb_given) {
		int status = cli_tlb_machine(cmd, o, mmu, mmu >= 0 ? sw->scenario->file : NULL,
					     mmu >= 0 ? sw->scenario->mmu_line : 0, geo, &cont,
					     err);

		if (status)
			return status;
		p = (enum mthp_tlb_profile)o->tlb;
		snprintf(why, len, "--tlb");
	} else if (mmu >= 0) {
		p = (enum mthp_tlb_profile)mmu;
		snprintf(why, len, "the scenario's [machine] mmu");
	} else if (!mthp_tlb_host_profile(&p, host, sizeof(host)) &&
		   mthp_tlb_profile_fits(p, geo)) {
		snprintf(why, len, "%s", host);
	} else {
		/* the host has none, or one made for another page size */
		for (p = 0; p < MTHP_TLB_NR_PROFILES; p++)
			if (mthp_tlb_profile_fits(p, geo))
				break;
		if (p == MTHP_TLB_NR_PROFILES) {
			fprintf(err, "mthp %s: no TLB profile is made for %u-byte pages\n",
				cmd, geo->page_size);
			return 1;
		}
		snprintf(why, len, "the first profile for %uK pages; this host's does not "
			 "apply", geo->page_size / 1024);
	}
	/* a scenario's mmu was checked against its page size when it was read */
	sw->profile = p;
	return 0;
}

/* The length of the knob name of "KNOB=..." (all of it without '='). */
static size_t knob_len(const char *assignment)
{
	const char *eq = strchr(assignment, '=');

	return eq ? (size_t)(eq - assignment) : strlen(assignment);
}

int cli_sweep_check_sets(const char *cmd, const struct cli_sweep_opts *o,
			 const struct mthp_opt_strings *sets, FILE *err)
{
	for (size_t a = 0; a < o->axes.nr; a++) {
		size_t n = knob_len(o->axes.v[a]);

		for (size_t i = 0; i < sets->nr; i++) {
			if (knob_len(sets->v[i]) != n || strncmp(sets->v[i], o->axes.v[a], n))
				continue;
			fprintf(err, "mthp %s: --set %s and --sweep %.*s: a swept knob takes each "
				"of its values in turn; give it to one of them\n", cmd, sets->v[i],
				(int)n, o->axes.v[a]);
			return EXIT_USAGE;
		}
	}
	return 0;
}

int cli_sweep_setup(const char *cmd, const struct cli_sweep_opts *o, struct mthp_sweep *sw,
		    char *why, size_t whylen, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };

	sw->threads = (unsigned)o->threads;
	if (o->axes.nr > MTHP_SWEEP_MAX_AXES) {
		fprintf(err, "mthp %s: at most %d --sweep knobs\n", cmd, MTHP_SWEEP_MAX_AXES);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < o->axes.nr; i++) {
		if (mthp_sweep_axis_parse(&sw->axes[i], o->axes.v[i], &sw->settings, &diag) ||
		    mthp_sweep_axes_distinct(sw->axes, (unsigned)i + 1, &diag)) {
			fprintf(err, "mthp %s: %s\n", cmd, diag.msg);
			return EXIT_USAGE;
		}
	}
	sw->nr_axes = (unsigned)o->axes.nr;
	if (mthp_sweep_grid_size(sw->axes, sw->nr_axes, &sw->nr_combos, &diag)) {
		fprintf(err, "mthp %s: %s\n", cmd, diag.msg);
		return EXIT_USAGE;
	}
	return choose_profile(cmd, o, sw, why, whylen, err);
}

static json_t *run_json(const struct mthp_run_report *r, void *ctx)
{
	const struct mthp_sweep *sw = ctx;

	return mthp_sim_run_json(r, 1u << sw->profile, &sw->settings.geo);
}

int cli_sweep_run(const char *cmd, const struct cli_sweep_opts *o, struct mthp_sweep *sw,
		  const char *why, bool json, FILE *out, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };
	double budget = cli_sweep_budget(o);
	char msg[256];
	int status = 0;

	if (mthp_sweep_run(sw, &diag)) {
		fprintf(err, "mthp %s: %s\n", cmd, diag.msg);
		return 1;
	}
	if (json) {
		json_t *doc = mthp_sweep_json(sw, budget, why, run_json, sw);

		if (!doc || json_dumpf(doc, out, JSON_INDENT(2)))
			status = mthp_cli_json_failed(err, cmd, doc ? -EIO : -ENOMEM);
		fputc('\n', out);
		json_decref(doc);
	} else {
		mthp_sweep_text(out, sw, budget, why);
	}
	if (!status && o->plot && mthp_sweep_plot(o->plot, sw, budget, msg, sizeof(msg))) {
		fprintf(err, "mthp %s: %s\n", cmd, msg);
		status = 1;
	}
	return status;
}
