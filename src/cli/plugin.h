/* SPDX-License-Identifier: MIT */
/*
 * plugin.h - loading a policy plug-in (include/mthp/policy_plugin.h) and
 * running the work that calls it in a child process, so that a plug-in
 * that crashes or hangs is reported, not trusted.
 */
#ifndef MTHP_CLI_PLUGIN_H
#define MTHP_CLI_PLUGIN_H

#include <stdio.h>

#include <mthp/engine.h>

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

#endif
