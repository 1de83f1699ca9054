// SPDX-License-Identifier: MIT
/*
 * plan.c - `mthp plan`: what khugepaged (or MADV_COLLAPSE) would collapse
 * in every PMD range of a snapshot, or of one page table given as a
 * pattern, under the given settings and policy (plan-contract.md).
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/engine.h>
#include <mthp/explain.h>
#include <mthp/live.h>
#include <mthp/policy_plugin.h>
#include <mthp/snapshot.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/pattern.h"
#include "cli/plugin.h"
#include "report/report.h"

static const char plan_intro[] =
"usage: mthp plan --snapshot FILE [OPTIONS]\n"
"       mthp plan --ptes PATTERN [--page-size N] [--vma FLAGS] [OPTIONS]\n"
"       mthp plan --pid PID [OPTIONS]\n"
"\n"
"For every PMD range, what khugepaged (or MADV_COLLAPSE) would collapse:\n"
"the scan result, the collapses (address and order) and the attempts that\n"
"failed, assuming nothing changes between the scan and the collapse and\n"
"every allocation succeeds.  With --passes or --until-stable: each pass's\n"
"collapses are applied to the page tables and the next pass plans again,\n"
"as khugepaged's next full scan would see memory left alone, and the end\n"
"says whether the policy creeps.\n"
"\n";

static const char plan_outro[] =
"Defaults of the knobs: enabled=madvise, the PMD size inherit, other sizes\n"
"never, max_ptes_none N-1, max_ptes_swap N/8, max_ptes_shared N/2.\n"
"Exit status: 0 planned, 1 bad input file, 2 bad option.\n";

struct plan_opts {
	const char *snapshot;
	const char *ptes;
	pid_t pid;			/* 0: none */
	const char *vma_flags;
	uint64_t page_size;
	uint64_t addr;
	bool page_size_given, addr_given;	/* 0 is a value given too */
	bool policy_given;
	enum mthp_policy policy;
	enum mthp_context context;
	struct mthp_opt_strings sets;
	bool json;
	uint64_t passes;		/* 0: one plain plan */
	bool until_stable;
	bool explain;
	const char *policy_file;
	uint64_t time_limit;
	const char *plugin_name;	/* the loaded plug-in's, or NULL */
};

#define OPT(field) offsetof(struct plan_opts, field)

static int parse_page_size(void *opts, const char *value, char *why, size_t len)
{
	struct plan_opts *o = opts;

	o->page_size_given = true;
	return mthp_opts_u64(value, false, 0, UINT64_MAX, &o->page_size, why, len);
}

static int parse_policy(void *opts, const char *value, char *why, size_t len)
{
	struct plan_opts *o = opts;

	o->policy_given = true;
	if (!mthp_policy_parse(value, &o->policy))
		return 0;
	snprintf(why, len, "must be legacy, seed, upstream or guarded");
	return -EINVAL;
}

static int parse_addr(void *opts, const char *value, char *why, size_t len)
{
	struct plan_opts *o = opts;

	o->addr_given = true;
	return mthp_opts_u64(value, true, 0, UINT64_MAX, &o->addr, why, len);
}

static const struct mthp_opt plan_opts[] = {
	{ .help = "input (one of):" },
	{ "snapshot", 0, "FILE", MTHP_OPT_STRING, OPT(snapshot),
	  .help = "a snapshot (format 1 or 2); '-' reads standard input" },
	{ "pid", 0, "PID", MTHP_OPT_PID, OPT(pid),
	  .help = "a running process, captured as `mthp snapshot --pid`\n"
		  "  does (root needed), with the host's THP settings" },
	{ "ptes", 0, "PATTERN", MTHP_OPT_STRING, OPT(ptes),
	  .help = "one page table in run-length form, e.g. 'A*16 .*496':\n"
		  "  a token is a string of PTE states ('AAaa..') or one\n"
		  "  state and a count ('A*16'), optionally followed by\n"
		  "  '@ORDER', the order of the folio its pages are in\n"
		  "  ('A*16@4' is one 64K folio); tokens are separated by\n"
		  "  spaces; fewer PTEs than a page table are padded with\n"
		  "  none PTEs (said on stderr).\n"
		  "PTE states:  . none   0 zero page   w swap   u uffd-wp\n"
		  "  A young anon   a old anon   S shared young   s shared old\n"
		  "  f not anon   n special   l lazyfree   K locked\n"
		  "  P pinned   N not on LRU" },
	{ "page-size", 0, "N", MTHP_OPT_FN, .fn = parse_page_size,
	  .help = "with --ptes: 4096 (512 PTEs, default), 16384 or 65536" },
	{ "vma", 0, "FLAGS", MTHP_OPT_STRING, OPT(vma_flags),
	  .help = "with --ptes: the VMA's flags (default anon,hugepage),\n"
		  "  from anon hugepage nohugepage uffd noanonvma file shared" },
	{ "addr", 0, "HEX", MTHP_OPT_FN, .fn = parse_addr,
	  .help = "with --ptes: the PMD-aligned address (default 0)" },
	{ .help = "\noptions:" },
	{ "policy", 0, "P", MTHP_OPT_FN, .fn = parse_policy,
	  .help = "legacy | seed | upstream | guarded (default upstream)" },
	CLI_PLUGIN_OPTS("  decides the walk's windows, its built-in fallback\n"
			"  policy the rest (replaces --policy);\n", 10),
	{ "context", 0, "C", MTHP_OPT_CONTEXT, OPT(context),
	  .help = "khugepaged | madvise (default khugepaged)" },
	{ "set", 0, "KNOB=VALUE", MTHP_OPT_STRINGS, OPT(sets),
	  .help = "a THP sysfs knob, e.g. khugepaged/max_ptes_none=0 or\n"
		  "  hugepages-64kB/enabled=always; repeatable; applied\n"
		  "  after the snapshot's setting lines" },
	{ "json", 0, NULL, MTHP_OPT_FLAG, OPT(json),
	  .help = "one JSON document (\"mthp-plan 1\"); the text form is\n"
		  "  for people and may change" },
	{ "explain", 0, NULL, MTHP_OPT_FLAG, OPT(explain),
	  .help = "under each range, every window the walk decided on: the\n"
		  "  rule with its numbers, and the smallest change of one\n"
		  "  knob that would flip it (or why none can)" },
	{ "passes", 0, "N", MTHP_OPT_U64, OPT(passes), 1, 1000,
	  .help = "plan N passes, each over the memory the last one left\n"
		  "  (JSON: \"mthp-plan-passes 1\")" },
	{ "until-stable", 0, NULL, MTHP_OPT_FLAG, OPT(until_stable),
	  .help = "plan passes until one changes nothing (at most 64;\n"
		  "  --passes N sets the bound)" },
	{ 0 },
};

static const struct mthp_cmd_spec plan_spec = {
	"plan", plan_intro, plan_opts, plan_outro, NULL, 0,
};

struct plan_output {
	FILE *out;
	const struct plan_opts *opts;
	const struct mthp_settings *settings;
	const struct mthp_geometry *geo;
	json_t *doc;
	struct mthp_plan_totals totals;
	int error;
};

static void warn_to_stream(void *ctx, const char *msg)
{
	fprintf(ctx, "mthp plan: warning: %s\n", msg);
}

/* 0, -1 (help shown) or an exit status. */
static int parse_opts(int argc, char **argv, struct plan_opts *o, FILE *out, FILE *err)
{
	int ret = mthp_opts_parse(&plan_spec, argc, argv, o, out, err);

	if (ret)
		return ret;
	if (!!o->snapshot + !!o->ptes + !!o->pid != 1)
		return mthp_opts_usage_error(&plan_spec, err,
					     "give one of --snapshot FILE, --ptes PATTERN and --pid PID");
	if (o->explain && (o->passes || o->until_stable))
		return mthp_opts_usage_error(&plan_spec, err,
					     "--explain explains one pass; leave out --passes and "
					     "--until-stable");
	if (o->time_limit && !o->policy_file)
		return mthp_opts_usage_error(&plan_spec, err, "--time-limit goes with --policy-file");
	if (o->policy_file && o->policy_given)
		return mthp_opts_usage_error(&plan_spec, err, "--policy-file replaces --policy; "
					     "give one of them");
	if (!o->ptes && (o->page_size_given || o->vma_flags || o->addr_given))
		return mthp_opts_usage_error(&plan_spec, err,
					     "--page-size, --vma and --addr go with --ptes");
	return 0;
}

/* A one-range snapshot from --ptes; 0 or an exit status. */
static int snapshot_from_pattern(const struct plan_opts *o, struct mthp_snapshot *snap,
				 FILE *err)
{
	struct mthp_geometry geo;
	uint8_t *ptes = NULL, *orders = NULL;
	char unknown[128], msg[256];
	uint32_t flags, padded;
	bool has_folios;
	int status = EXIT_USAGE;

	if (mthp_geometry_from_page_size(&geo, o->page_size_given ? o->page_size : 4096)) {
		fprintf(err, "mthp plan: --page-size %" PRIu64 ": must be 4096, 16384 or 65536\n",
			o->page_size);
		return EXIT_USAGE;
	}
	if (o->addr % mthp_pmd_size(&geo)) {
		fprintf(err, "mthp plan: --addr %" PRIx64 " is not aligned to the PMD size %#" PRIx64 "\n",
			o->addr, mthp_pmd_size(&geo));
		return EXIT_USAGE;
	}
	if (o->addr > UINT64_MAX - mthp_pmd_size(&geo)) {
		fprintf(err, "mthp plan: --addr %" PRIx64 ": the PMD range there would end past "
			"the last address\n", o->addr);
		return EXIT_USAGE;
	}
	if (mthp_vma_flags_parse(o->vma_flags ? o->vma_flags : "anon,hugepage",
				 &flags, unknown, sizeof(unknown)) || unknown[0]) {
		fprintf(err, "mthp plan: --vma '%s': flags are a comma list of anon, hugepage, "
			"nohugepage, uffd, noanonvma, file, shared\n", o->vma_flags);
		return EXIT_USAGE;
	}
	ptes = malloc(geo.ptes_per_pmd);
	orders = malloc(geo.ptes_per_pmd);
	if (!ptes || !orders) {
		fprintf(err, "mthp plan: out of memory\n");
		status = 1;
		goto out_free;
	}
	if (mthp_pattern_parse(o->ptes, geo.ptes_per_pmd, ptes, orders, &has_folios,
			       &padded, msg, sizeof(msg))) {
		fprintf(err, "mthp plan: --ptes: %s\n", msg);
		goto out_free;
	}
	if (padded)
		fprintf(err, "mthp plan: --ptes: %u PTEs given; padded with %u none PTEs to "
			"one page table of %u\n", geo.ptes_per_pmd - padded, padded,
			geo.ptes_per_pmd);
	mthp_snapshot_init(snap, &geo);
	if (mthp_snapshot_add_vma(snap, o->addr, o->addr + mthp_pmd_size(&geo), flags) ||
	    mthp_snapshot_add_pmd(snap, o->addr, MTHP_PMD_TABLE, ptes,
				  has_folios ? orders : NULL)) {
		fprintf(err, "mthp plan: out of memory\n");
		mthp_snapshot_free(snap);
		status = 1;
		goto out_free;
	}
	status = 0;
out_free:
	free(ptes);
	free(orders);
	return status;
}

/* 0 or an exit status. */
static int load_snapshot(const struct plan_opts *o, struct mthp_snapshot *snap,
			 FILE *err)
{
	struct mthp_diag diag = { .warn = warn_to_stream, .warn_ctx = err };
	FILE *f;
	int ret;

	if (o->ptes)
		return snapshot_from_pattern(o, snap, err);
	if (o->pid) {
		ret = mthp_live_snapshot(o->pid, snap, &diag);
		if (ret) {
			fprintf(err, "mthp plan: %s\n", diag.msg);
			mthp_snapshot_free(snap);
			return 1;
		}
		return 0;
	}
	if (!strcmp(o->snapshot, "-")) {
		ret = mthp_snapshot_read(snap, stdin, "<stdin>", &diag);
	} else {
		f = mthp_cli_open_input(o->snapshot);
		if (!f) {
			fprintf(err, "mthp plan: %s: %s\n", o->snapshot, strerror(errno));
			return 1;
		}
		ret = mthp_snapshot_read(snap, f, o->snapshot, &diag);
		fclose(f);
	}
	if (ret) {
		fprintf(err, "mthp plan: %s\n", diag.msg);
		return 1;
	}
	return 0;
}

/* 0 or an exit status. */
static int make_settings(const struct plan_opts *o, const struct mthp_snapshot *snap,
			 struct mthp_settings *s, FILE *err)
{
	/* the reader has already warned about unknown knobs */
	struct mthp_diag diag = { .warn = NULL };
	char pid_name[32];
	const char *name = o->snapshot ? o->snapshot : "--ptes";
	char msg[256];

	if (o->pid) {
		snprintf(pid_name, sizeof(pid_name), "pid %d", (int)o->pid);
		name = pid_name;
	}
	if (mthp_snapshot_settings(snap, s, strcmp(name, "-") ? name : "<stdin>", &diag)) {
		fprintf(err, "mthp plan: %s\n", diag.msg);
		return 1;
	}
	for (size_t i = 0; i < o->sets.nr; i++) {
		if (mthp_settings_set_assignment(s, o->sets.v[i], msg, sizeof(msg))) {
			fprintf(err, "mthp plan: --set %s: %s\n", o->sets.v[i], msg);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* The kernel's warn-once for a max_ptes_none that mTHP collapse treats as 0. */
static void warn_max_ptes_none(const struct plan_opts *o, const struct mthp_snapshot *snap,
			       const struct mthp_settings *s, FILE *err)
{
	uint32_t n = s->geo.ptes_per_pmd;
	uint32_t below_pmd = 0;

	if (o->policy != MTHP_POLICY_UPSTREAM || o->context != MTHP_CONTEXT_KHUGEPAGED ||
	    s->max_ptes_none == 0 || s->max_ptes_none == n - 1)
		return;
	for (size_t i = 0; i < snap->nr_vmas; i++)
		below_pmd |= mthp_vma_allowed_orders(s, snap->vmas[i].flags) &
			     ((1u << s->geo.pmd_order) - 1);
	if (below_pmd)
		fprintf(err, "mthp plan: warning: mTHP collapse does not support max_ptes_none "
			"values other than 0 or %u, defaulting to 0 below the PMD order\n", n - 1);
}

/* The explanation of one range, under its line or into its JSON object. */
static void explain_range(struct plan_output *po, const struct mthp_snapshot *snap,
			  const struct mthp_snapshot_pmd *pmd, const struct mthp_pmd_plan *plan)
{
	const struct mthp_snapshot_vma *vma = &snap->vmas[pmd->vma];
	struct mthp_range range = {
		.pmd_addr = pmd->addr, .vma_start = vma->start, .vma_end = vma->end,
		.kind = pmd->kind, .ptes = pmd->ptes, .folio_orders = pmd->folio_orders,
		.lru_batch = plan->lru_batch_start,
	};
	struct mthp_whatif_range wr = { po->settings, po->opts->policy, po->opts->context,
					vma->flags, &range };
	struct mthp_explain e;

	po->error = mthp_explain_range(&wr, &e);
	if (po->error)
		return;
	if (po->doc) {
		json_t *pmds = json_object_get(po->doc, "pmds");
		json_t *last = json_array_get(pmds, json_array_size(pmds) - 1);

		if (!last || json_object_set_new(last, "explain",
						 mthp_explain_json(po->geo, pmd->addr, &e)))
			po->error = -ENOMEM;
	} else {
		mthp_explain_text(po->out, po->geo, &e);
	}
	mthp_explain_free(&e);
}

static void emit_range(void *ctx, const struct mthp_snapshot *snap,
		       const struct mthp_snapshot_pmd *pmd,
		       const struct mthp_pmd_plan *plan)
{
	struct plan_output *po = ctx;

	mthp_plan_totals_add(&po->totals, plan);
	if (po->doc) {
		if (!po->error)
			po->error = mthp_plan_json_add(po->doc, po->geo, plan);
	} else {
		mthp_plan_text_range(po->out, po->geo, plan);
	}
	if (po->opts->explain && !po->error)
		explain_range(po, snap, pmd, plan);
}

/* ---- passes ---- */

struct passes_output {
	FILE *out;
	const struct mthp_geometry *geo;
	enum mthp_policy policy;
	enum mthp_context context;
	json_t *passes;			/* JSON: one plan document per pass */
	json_t *doc;			/* JSON: the pass being planned */
	struct mthp_plan_totals totals;
	unsigned pass;
	int error;
};

/* The heading (text) or the document (JSON) of a pass, once. */
static void pass_begin(struct passes_output *po, unsigned pass)
{
	if (pass == po->pass)
		return;
	po->pass = pass;
	memset(&po->totals, 0, sizeof(po->totals));
	if (po->passes) {
		po->doc = mthp_plan_json_new(po->policy, po->context);
		if (!po->doc || json_object_set_new(po->doc, "pass", json_integer(pass)) ||
		    json_array_append_new(po->passes, po->doc))
			po->error = -ENOMEM;
	} else {
		fprintf(po->out, "# pass %u\n", pass);
	}
}

static void pass_range(void *ctx, unsigned pass, const struct mthp_snapshot *snap,
		       const struct mthp_snapshot_pmd *pmd, const struct mthp_pmd_plan *plan)
{
	struct passes_output *po = ctx;

	(void)snap;
	(void)pmd;
	pass_begin(po, pass);
	mthp_plan_totals_add(&po->totals, plan);
	if (!po->passes)
		mthp_plan_text_range(po->out, po->geo, plan);
	else if (!po->error)
		po->error = mthp_plan_json_add(po->doc, po->geo, plan);
}

static void pass_done(void *ctx, const struct mthp_snapshot *snap,
		      const struct mthp_pass_report *rep)
{
	struct passes_output *po = ctx;

	(void)snap;
	pass_begin(po, rep->pass);	/* a snapshot without ranges */
	if (po->passes) {
		if (!po->error)
			po->error = mthp_plan_json_finish(po->doc, &po->totals);
	} else {
		mthp_passes_text_pass(po->out, po->geo, rep);
	}
}

/* A planning error other than -ENOMEM: the engine refused its input. */
static int plan_failed(FILE *err, int ret)
{
	fprintf(err, "mthp plan: the engine refused the snapshot (%s): its geometry and the "
		"settings' disagree, or a plan does not fit its page table\n", strerror(-ret));
	return 1;
}

/* 0 or an exit status; snap is changed: each pass's collapses applied. */
static int run_passes(const struct plan_opts *o, struct mthp_snapshot *snap,
		      const struct mthp_settings *s, FILE *out, FILE *err)
{
	struct passes_output po = { .out = out, .geo = &s->geo, .policy = o->policy,
				    .context = o->context };
	unsigned bound = o->passes ? (unsigned)o->passes : 64;
	struct mthp_passes_summary sum;
	char words[512];
	json_t *doc = NULL;
	int ret;

	if (o->json) {
		po.passes = json_array();
		if (!po.passes)
			goto out_nomem;
	} else {
		mthp_plan_text_header(out, o->policy, o->context);
	}
	ret = mthp_snapshot_plan_passes(snap, s, o->policy, o->context, bound, pass_range,
					pass_done, &po, &sum);
	if (ret && ret != -ENOMEM) {
		json_decref(po.passes);
		return plan_failed(err, ret);
	}
	if (ret || po.error)
		goto out_nomem;
	if (o->json) {
		doc = json_pack("{s:s, s:s, s:s, s:o, s:o}", "format", "mthp-plan-passes 1",
				"policy", mthp_policy_name(o->policy),
				"context", mthp_context_name(o->context), "passes", po.passes,
				"summary", mthp_passes_json_summary(&s->geo, &sum));
		po.passes = NULL;
		if (!doc || json_dumpf(doc, out, JSON_INDENT(2)))
			goto out_nomem;
		fputc('\n', out);
		json_decref(doc);
	} else {
		mthp_passes_words(&s->geo, &sum, words, sizeof(words));
		fprintf(out, "# %s\n", words);
	}
	return 0;

out_nomem:
	json_decref(po.passes);
	json_decref(doc);
	fprintf(err, "mthp plan: out of memory\n");
	return 1;
}

/* 0 or an exit status. */
static int run_plan(const struct plan_opts *o, const struct mthp_snapshot *snap,
		    const struct mthp_settings *s, FILE *out, FILE *err)
{
	struct plan_output po = { .out = out, .opts = o, .settings = s, .geo = &s->geo };
	int ret;

	if (o->json) {
		po.doc = mthp_plan_json_new(o->policy, o->context);
		if (!po.doc)
			goto out_nomem;
		if (o->plugin_name &&
		    json_object_set_new(po.doc, "policy_plugin", json_string(o->plugin_name)))
			goto out_nomem;
	} else {
		mthp_plan_text_header(out, o->policy, o->context);
	}
	ret = mthp_snapshot_plan(snap, s, o->policy, o->context, emit_range, &po);
	if (ret && ret != -ENOMEM) {
		json_decref(po.doc);
		return plan_failed(err, ret);
	}
	if (ret || po.error)
		goto out_nomem;
	if (po.doc) {
		if (mthp_plan_json_finish(po.doc, &po.totals) ||
		    json_dumpf(po.doc, out, JSON_INDENT(2)))
			goto out_nomem;
		fputc('\n', out);
		json_decref(po.doc);
	} else {
		mthp_plan_text_totals(out, &s->geo, &po.totals);
	}
	return 0;

out_nomem:
	json_decref(po.doc);
	fprintf(err, "mthp plan: out of memory\n");
	return 1;
}

/* Everything after the options: load, set up, plan. */
static int plan_input(void *ctx, FILE *out, FILE *err)
{
	struct plan_opts *o = ctx;
	struct mthp_snapshot snap;
	struct mthp_settings settings;
	int status;

	status = load_snapshot(o, &snap, err);
	if (status)
		return status;
	status = make_settings(o, &snap, &settings, err);
	if (!status) {
		warn_max_ptes_none(o, &snap, &settings, err);
		if (o->passes || o->until_stable)
			status = run_passes(o, &snap, &settings, out, err);
		else
			status = run_plan(o, &snap, &settings, out, err);
	}
	mthp_snapshot_free(&snap);
	return status;
}

/* In the plug-in's child process: plan under its fallback and hooks. */
static int plan_with_plugin(void *ctx, const struct mthp_policy_plugin *plugin,
			    enum mthp_policy fallback, FILE *out, FILE *err)
{
	struct plan_opts *o = ctx;

	o->policy = fallback;
	o->plugin_name = plugin->name;
	if (!o->json)
		mthp_plugin_announce(out, plugin, o->policy_file, fallback);
	return plan_input(o, out, err);
}

int cmd_plan(int argc, char **argv, FILE *out, FILE *err)
{
	struct plan_opts o = { .policy = MTHP_POLICY_UPSTREAM,
			       .context = MTHP_CONTEXT_KHUGEPAGED };
	int status = parse_opts(argc, argv, &o, out, err);

	return mthp_plugin_command(&plan_spec, status, &o, o.policy_file, o.time_limit, 10,
				   plan_with_plugin, plan_input, out, err);
}
