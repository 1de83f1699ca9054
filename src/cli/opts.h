/* SPDX-License-Identifier: MIT */
/*
 * opts.h - the one option parser of the `mthp` commands.  A command
 * describes its options in a table (long name, short name, the value's
 * name, where the value goes or which function takes it, help text); the
 * parser walks argv by the table and writes the option list of --help
 * from the same table, so the help cannot drift from what is parsed.
 *
 * Accepted: --name VALUE, --name=VALUE, an unambiguous prefix of a long
 * name, -x VALUE, -xVALUE, clustered flags (-rj), "--" ending the options,
 * and operands anywhere.  Every error is "mthp CMD: ..." on err and exit
 * status 2 (EXIT_USAGE).
 */
#ifndef MTHP_CLI_OPTS_H
#define MTHP_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum mthp_opt_kind {
	MTHP_OPT_FLAG,		/* bool at off: true */
	MTHP_OPT_STRING,	/* const char * at off: the value (the last one given) */
	MTHP_OPT_STRINGS,	/* struct mthp_opt_strings at off: every value, in order */
	MTHP_OPT_PID,		/* pid_t at off */
	MTHP_OPT_PIDS,		/* struct mthp_opt_pids at off: each value once, in order */
	MTHP_OPT_U64,		/* uint64_t at off, decimal (hex when hex), in [min, max] */
	MTHP_OPT_POLICY,	/* enum mthp_policy at off */
	MTHP_OPT_CONTEXT,	/* enum mthp_context at off */
	MTHP_OPT_FN,		/* fn(opts, value): anything else */
};

/* Repeatable options; free with mthp_opts_free(). */
struct mthp_opt_strings {
	const char **v;
	size_t nr;
};

struct mthp_opt_pids {
	pid_t *v;
	size_t nr;
};

/*
 * A value the table's kinds cannot check: 0, or -EINVAL with why set to
 * what the value must be, as a predicate ("must be ...", "is not ...").
 */
typedef int (*mthp_opt_fn)(void *opts, const char *value, char *why, size_t len);

struct mthp_opt {
	const char *name;	/* long name without "--"; NULL: heading (help only) */
	char short_name;	/* 0: none */
	const char *arg;	/* the value's name in the help; NULL: takes none */
	enum mthp_opt_kind kind;
	size_t off;		/* of the destination in the command's options */
	uint64_t min, max;	/* MTHP_OPT_U64 */
	bool hex;		/* MTHP_OPT_U64 */
	mthp_opt_fn fn;		/* MTHP_OPT_FN */
	const char *help;	/* lines separated by '\n'; a heading's text */
	bool required;		/* "--name is required" when not given */
};

struct mthp_cmd_spec {
	const char *name;		/* "plan" */
	const char *intro;		/* usage lines and description, before the options */
	const struct mthp_opt *opts;	/* ends with an entry of NULL name and
					 * help; at most 64 entries */
	const char *outro;		/* after the options (exit status ...) */
	const char *operand;		/* the operands' name; NULL: none */
	size_t operand_off;		/* const char * at this offset, or
					 * const char *[max_operands] */
	unsigned max_operands;		/* 0: one optional operand */
};

/*
 * Parse argv (argv[0] the command) into opts: 0, -1 when --help was shown
 * on out, EXIT_USAGE after the error on err.  Whatever happened, free
 * with mthp_opts_free().
 */
int mthp_opts_parse(const struct mthp_cmd_spec *spec, int argc, char **argv,
		    void *opts, FILE *out, FILE *err);
void mthp_opts_free(const struct mthp_cmd_spec *spec, void *opts);

/* A number for an MTHP_OPT_FN handler, checked as MTHP_OPT_U64 checks it. */
int mthp_opts_u64(const char *value, bool hex, uint64_t min, uint64_t max,
		  uint64_t *dest, char *why, size_t len);

/* The whole --help text: intro, the option list, outro. */
void mthp_opts_help(const struct mthp_cmd_spec *spec, FILE *out);

/* A usage error "mthp CMD: msg" and the hint to --help; EXIT_USAGE. */
int mthp_opts_usage_error(const struct mthp_cmd_spec *spec, FILE *err,
			  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* MTHP_CLI_OPTS_H */
