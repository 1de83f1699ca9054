/* SPDX-License-Identifier: MIT */
/*
 * plugin.h - loading a policy plug-in (include/mthp/policy_plugin.h) and
 * running the work that calls it in a child process, so that a plug-in
 * that crashes or hangs is reported, not trusted.
 */
#ifndef MTHP_CLI_PLUGIN_H
#define MTHP_CLI_PLUGIN_H

#include <stdint.h>
#include <stdio.h>

#include <mthp/engine.h>

struct mthp_cmd_spec;

struct mthp_policy_plugin;

/*
 * dlopen path and check its mthp_policy_plugin object: the symbol, the
 * version, a name and a fallback policy.  0 with *plugin and *fallback
 * set, or 1 after "mthp CMD: policy plug-in PATH: what is wrong" on err.
 */
int mthp_plugin_load(const char *cmd, const char *path,
		     const struct mthp_policy_plugin **plugin,
		     enum mthp_policy *fallback, FILE *err);

typedef int (*mthp_plugin_fn)(void *ctx, const struct mthp_policy_plugin *plugin,
			     enum mthp_policy fallback, FILE *out, FILE *err);

/*
 * In a child process with at most limit_s seconds of time: load the
 * plug-in at path, make the engine consult it (mthp_policy_plugin_use)
 * and return fn(ctx, plugin, its fallback, out, err), the child's output
 * copied to out and err.  When the child dies, says on err which plug-in
 * (its name when it had loaded) was killed by which signal, or overran
 * the time limit, and returns 1.
 */
int mthp_plugin_run(const char *cmd, const char *path, unsigned limit_s,
		    mthp_plugin_fn fn, void *ctx, FILE *out, FILE *err);

/* The line a run under a plug-in starts with, on f. */
void mthp_plugin_announce(FILE *f, const struct mthp_policy_plugin *plugin,
			  const char *path, enum mthp_policy fallback);

/*
 * The rest of a command that may run under a plug-in, once its options
 * opts are parsed with status parsed (0, -1 when --help was shown, or an
 * exit status): fn under the plug-in at path (as mthp_plugin_run, with
 * limit_s seconds, or default_s when limit_s is 0), or builtin(opts, out,
 * err) when path is NULL; then the options freed.  The command's exit
 * status.
 */
int mthp_plugin_command(const struct mthp_cmd_spec *spec, int parsed, void *opts,
			const char *path, uint64_t limit_s, unsigned default_s,
			mthp_plugin_fn fn, int (*builtin)(void *ctx, FILE *out, FILE *err),
			FILE *out, FILE *err);

/*
 * The --policy-file and --time-limit entries of a command's option table
 * (fields policy_file and time_limit, its OPT()); WHAT is the lines of
 * help that say what the plug-in does in that command.
 */
#define CLI_PLUGIN_OPTS(WHAT, DEFAULT_S)						\
	{ "policy-file", 0, "FILE.so", MTHP_OPT_STRING, OPT(policy_file),		\
	  .help = "a policy plug-in (include/mthp/policy_plugin.h)\n"			\
		  WHAT									\
		  "  run in a child process, a crash or overrun is reported" },	\
	{ "time-limit", 0, "S", MTHP_OPT_U64, OPT(time_limit), 1, 3600,		\
	  .help = "with --policy-file: seconds the run may take, 1 to\n"		\
		  "  3600 (default " #DEFAULT_S ")" }

#endif
