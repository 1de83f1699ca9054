/* SPDX-License-Identifier: MIT */
/*
 * sweep.h - what `mthp sim --sweep` and `mthp advise` share on the command
 * line: the options of a sweep (--sweep, --budget, --tlb, --threads,
 * --plot), the choice of the TLB profile, the axes, and running and
 * printing the sweep.  A command embeds struct cli_sweep_opts as member
 * `sweep` of its options and puts CLI_SWEEP_OPTIONS(its type) in its table.
 */
#ifndef MTHP_CLI_SWEEP_H
#define MTHP_CLI_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <mthp/sweep.h>

#include "cli/opts.h"

struct cli_sweep_opts {
	struct mthp_opt_strings axes;	/* --sweep KNOB=V1,V2,... */
	double budget;			/* a fraction */
	bool budget_given;
	int tlb;			/* enum mthp_tlb_profile; -1: the host's */
	bool tlb_given;
	uint64_t threads;		/* 0: one per CPU */
	const char *plot;
};

int cli_sweep_parse_budget(struct cli_sweep_opts *o, const char *value, char *why,
			   size_t len);
int cli_sweep_parse_tlb(struct cli_sweep_opts *o, const char *value, char *why, size_t len);

/* The handlers and table entries, for a command whose options are TYPE. */
#define CLI_SWEEP_HANDLERS(TYPE)							\
static int sweep_budget(void *opts, const char *value, char *why, size_t len)		\
{											\
	return cli_sweep_parse_budget(&((TYPE *)opts)->sweep, value, why, len);		\
}											\
static int sweep_tlb(void *opts, const char *value, char *why, size_t len)		\
{											\
	return cli_sweep_parse_tlb(&((TYPE *)opts)->sweep, value, why, len);		\
}

/* --tlb's help in a command that always sweeps. */
#define CLI_SWEEP_TLB_HELP								\
	"the TLB profile judged, also the MMU of the\n"				\
	"  machine the runs simulate, which policy guarded reads\n"		\
	"  (default: a scenario's [machine] mmu, else this\n"			\
	"  host's CPU and page size)"

#define CLI_SWEEP_OPTIONS(TYPE, WITH, TLB_HELP)						\
	{ "sweep", 0, "KNOB=V1,V2,...", MTHP_OPT_STRINGS, offsetof(TYPE, sweep.axes),	\
	  .help = "sweep a knob over these values; repeatable: every\n"		\
		  "  combination runs (e.g. khugepaged/max_ptes_none=0,511);\n"	\
		  "  at most 16 values, 4096 combinations; not a knob of --set" },	\
	{ "budget", 0, "PCT", MTHP_OPT_FN, .fn = sweep_budget,				\
	  .help = WITH "the memory increase the recommendation may\n"		\
		  "  spend, a decimal percentage 0 to 10000 (default 5%)" },		\
	{ "tlb", 0, "PROFILE", MTHP_OPT_FN, .fn = sweep_tlb,				\
	  .help = TLB_HELP },								\
	{ "threads", 0, "N", MTHP_OPT_U64, offsetof(TYPE, sweep.threads), .min = 1,	\
	  .max = 64, .help = WITH "runs at once, 1 to 64 (default: one per\n"	\
		  "  CPU); the output is the same whatever the number" },		\
	{ "plot", 0, "FILE", MTHP_OPT_STRING, offsetof(TYPE, sweep.plot),		\
	  .help = WITH "the Pareto chart of memory against TLB\n"		\
		  "  entries (.svg or .png)" }

/* A comma list of distinct policies into policies[]; 0 or -EINVAL with why. */
int cli_parse_policies(const char *list, int *policies, size_t *nr, char *why, size_t len);
/* One policy as the only one of policies[]. */
int cli_parse_policy(const char *value, int *policies, size_t *nr, char *why, size_t len);

/*
 * --policy P and --compare LIST, for a command whose options TYPE have
 * int policies[], size_t nr_policies, bool policy_given and bool compare.
 */
#define CLI_POLICY_HANDLERS(TYPE)							\
static int parse_policy(void *opts, const char *value, char *why, size_t len)		\
{											\
	((TYPE *)opts)->policy_given = true;						\
	return cli_parse_policy(value, ((TYPE *)opts)->policies,			\
				&((TYPE *)opts)->nr_policies, why, len);		\
}											\
static int parse_compare(void *opts, const char *value, char *why, size_t len)		\
{											\
	((TYPE *)opts)->compare = true;							\
	return cli_parse_policies(value, ((TYPE *)opts)->policies,			\
				  &((TYPE *)opts)->nr_policies, why, len);		\
}

/* A picture option's file name (NULL: not given) ends in .svg or .png; 0 or EXIT_USAGE. */
int cli_check_picture_name(const struct mthp_cmd_spec *spec, const char *opt, const char *path,
			   FILE *err);

/* --plot's name ends in .svg or .png and can be written; 0 or an exit status. */
int cli_sweep_check_plot(const struct mthp_cmd_spec *spec, const struct cli_sweep_opts *o,
			 FILE *err);

/* True when --plot, --budget or --threads, which only a sweep takes, was given. */
bool cli_sweep_extras_given(const struct cli_sweep_opts *o);
/*
 * A run without --sweep: --tlb, when given, names the simulated machine's
 * MMU (what policy guarded reads).  It must fit the page size of geo and
 * agree with a scenario's [machine] mmu (mmu >= 0, set at file:line); its
 * contiguous order goes into *cont_order.  0, or EXIT_USAGE after saying
 * why on err.
 */
int cli_tlb_machine(const char *cmd, const struct cli_sweep_opts *o, int mmu,
		    const char *file, unsigned line, const struct mthp_geometry *geo,
		    uint32_t *cont_order, FILE *err);

/*
 * A knob both --set and --sweep: the sweep would override the --set
 * without a word.  0 or EXIT_USAGE, with the message on err.
 */
int cli_sweep_check_sets(const char *cmd, const struct cli_sweep_opts *o,
			 const struct mthp_opt_strings *sets, FILE *err);

/*
 * Fill sw's axes from --sweep (checked against sw->settings) and its TLB
 * profile (--tlb, else the host's when it fits sw->settings' page size,
 * else the first that does; why says which).  0 or an exit status, with
 * the message on err.
 */
int cli_sweep_setup(const char *cmd, const struct cli_sweep_opts *o, struct mthp_sweep *sw,
		    char *why, size_t whylen, FILE *err);

/* Run sw and print it (text or JSON) and the chart; 0 or an exit status. */
int cli_sweep_run(const char *cmd, const struct cli_sweep_opts *o, struct mthp_sweep *sw,
		  const char *why, bool json, FILE *out, FILE *err);

/* The budget in force: --budget or 5%. */
static inline double cli_sweep_budget(const struct cli_sweep_opts *o)
{
	return o->budget_given ? o->budget : 0.05;
}

#endif
