// SPDX-License-Identifier: MIT
/*
 * opts.c - the table-driven option parser of the `mthp` commands and the
 * option list of their --help (see opts.h): finding an option by long
 * name, prefix or short name, storing its value by kind, and the errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/engine.h>

#include "cli/cli.h"
#include "cli/opts.h"

#define HELP_COLUMN 22

static const struct mthp_opt help_opt = {
	"help", 'h', NULL, MTHP_OPT_FLAG, 0, 0, 0, false, NULL, "this help",
};

static void *field(void *opts, size_t off)
{
	return (char *)opts + off;
}

int mthp_opts_usage_error(const struct mthp_cmd_spec *spec, FILE *err,
			  const char *fmt, ...)
{
	va_list ap;

	fprintf(err, "mthp %s: ", spec->name);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fprintf(err, "\nTry 'mthp %s --help'.\n", spec->name);
	return EXIT_USAGE;
}

/* ---- finding an option ---- */

/* By long name (text up to '=' or its end): exact, else a unique prefix. */
static const struct mthp_opt *find_long(const struct mthp_cmd_spec *spec,
					const char *text, size_t len, bool *ambiguous)
{
	const struct mthp_opt *found = NULL;

	*ambiguous = false;
	if (!strncmp(help_opt.name, text, len) && !help_opt.name[len])
		return &help_opt;
	for (const struct mthp_opt *o = spec->opts; o->name || o->help; o++)
		if (o->name && !strncmp(o->name, text, len) && !o->name[len])
			return o;
	for (const struct mthp_opt *o = spec->opts; o->name || o->help; o++) {
		if (!o->name || strncmp(o->name, text, len))
			continue;
		*ambiguous = found != NULL;
		found = o;
	}
	if (!found && !strncmp(help_opt.name, text, len))
		found = &help_opt;
	return *ambiguous ? NULL : found;
}

static const struct mthp_opt *find_short(const struct mthp_cmd_spec *spec, char c)
{
	if (c == help_opt.short_name)
		return &help_opt;
	for (const struct mthp_opt *o = spec->opts; o->name || o->help; o++)
		if (o->name && o->short_name == c)
			return o;
	return NULL;
}

/* ---- storing a value ---- */

static int append(void **array, size_t *nr, size_t size)
{
	void *bigger = realloc(*array, (*nr + 1) * size);

	if (!bigger)
		return -ENOMEM;
	*array = bigger;
	(*nr)++;
	return 0;
}

int mthp_opts_u64(const char *value, bool hex, uint64_t min, uint64_t max,
		  uint64_t *dest, char *why, size_t len)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(value, &end, hex ? 16 : 10);
	if (!*value || *value == '-' || *value == '+' || (errno && errno != ERANGE) || *end) {
		snprintf(why, len, "is not a %s number", hex ? "hex" : "whole");
		return -EINVAL;
	}
	if (errno == ERANGE) {
		if (max == UINT64_MAX)
			snprintf(why, len, "is too large for 64 bits");
		else
			snprintf(why, len, "must be at most %" PRIu64, max);
		return -EINVAL;
	}
	if (v < min && min == 1) {
		snprintf(why, len, "must be greater than 0");
		return -EINVAL;
	}
	if (v < min || v > max) {
		snprintf(why, len, "must be %s %" PRIu64, v < min ? "at least" : "at most",
			 v < min ? min : max);
		return -EINVAL;
	}
	*dest = v;
	return 0;
}

/* 0, or -EINVAL with why; -ENOMEM. */
static int store(const struct mthp_opt *o, void *opts, const char *value,
		 char *why, size_t len)
{
	void *dest = field(opts, o->off);
	struct mthp_opt_strings *strs = dest;
	struct mthp_opt_pids *pids = dest;
	pid_t pid;

	switch (o->kind) {
	case MTHP_OPT_FLAG:
		*(bool *)dest = true;
		return 0;
	case MTHP_OPT_STRING:
		*(const char **)dest = value;
		return 0;
	case MTHP_OPT_STRINGS:
		if (append((void **)&strs->v, &strs->nr, sizeof(*strs->v)))
			return -ENOMEM;
		strs->v[strs->nr - 1] = value;
		return 0;
	case MTHP_OPT_PID:
	case MTHP_OPT_PIDS:
		if (mthp_cli_parse_pid(value, &pid)) {
			snprintf(why, len, "is not a process id");
			return -EINVAL;
		}
		if (o->kind == MTHP_OPT_PID) {
			*(pid_t *)dest = pid;
			return 0;
		}
		for (size_t i = 0; i < pids->nr; i++)
			if (pids->v[i] == pid)
				return 0;	/* named again: one process, taken once */
		if (append((void **)&pids->v, &pids->nr, sizeof(*pids->v)))
			return -ENOMEM;
		pids->v[pids->nr - 1] = pid;
		return 0;
	case MTHP_OPT_U64:
		return mthp_opts_u64(value, o->hex, o->min, o->max, dest, why, len);
	case MTHP_OPT_POLICY:
		if (!mthp_policy_parse(value, dest))
			return 0;
		snprintf(why, len, "must be legacy, seed, upstream or guarded");
		return -EINVAL;
	case MTHP_OPT_CONTEXT:
		if (!mthp_context_parse(value, dest))
			return 0;
		snprintf(why, len, "must be khugepaged or madvise");
		return -EINVAL;
	case MTHP_OPT_FN:
		return o->fn(opts, value, why, len);
	}
	return -EINVAL;
}

/* ---- the walk over argv ---- */

struct walk {
	const struct mthp_cmd_spec *spec;
	int argc, i;		/* argv[i]: the next word */
	char **argv;
	void *opts;
	FILE *out, *err;
	unsigned operands;	/* seen */
	uint64_t given;		/* bit i: spec->opts[i] was given */
};

/* Give option o its value (NULL: none came with it); 0, -1 help, or a status. */
static int apply(struct walk *w, const struct mthp_opt *o, const char *shown,
		 const char *value)
{
	char why[256];
	int ret;

	if (o == &help_opt) {
		mthp_opts_help(w->spec, w->out);
		return -1;
	}
	if (!o->arg && value)
		return mthp_opts_usage_error(w->spec, w->err, "%s takes no value", shown);
	if (o->arg && !value) {
		if (w->i >= w->argc)
			return mthp_opts_usage_error(w->spec, w->err, "%s needs a value", shown);
		value = w->argv[w->i++];
	}
	why[0] = '\0';
	w->given |= 1ull << (o - w->spec->opts);
	ret = store(o, w->opts, value, why, sizeof(why));
	if (ret == -ENOMEM) {
		fprintf(w->err, "mthp %s: out of memory\n", w->spec->name);
		return 1;
	}
	if (ret)
		return mthp_opts_usage_error(w->spec, w->err, "%s '%s' %s", shown, value, why);
	return 0;
}

static int long_option(struct walk *w, const char *word)
{
	const char *name = word + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct mthp_opt *o;
	bool ambiguous;
	char shown[64];

	o = find_long(w->spec, name, len, &ambiguous);
	if (!o)
		return mthp_opts_usage_error(w->spec, w->err, "%s option '%.*s'",
					     ambiguous ? "ambiguous" : "unknown",
					     (int)(len + 2), word);
	snprintf(shown, sizeof(shown), "--%s", o->name);
	return apply(w, o, shown, eq ? eq + 1 : NULL);
}

/* "-x", "-xVALUE", "-abc" (flags). */
static int short_options(struct walk *w, const char *word)
{
	for (const char *p = word + 1; *p; p++) {
		const struct mthp_opt *o = find_short(w->spec, *p);
		char shown[3] = { '-', *p, '\0' };
		int ret;

		if (!o)
			return mthp_opts_usage_error(w->spec, w->err, "unknown option '%s'",
						     shown);
		ret = apply(w, o, shown, o->arg && p[1] ? p + 1 : NULL);
		if (ret || o->arg)
			return ret;
	}
	return 0;
}

static int operand(struct walk *w, const char *word)
{
	unsigned max = w->spec->max_operands ? w->spec->max_operands : 1;

	if (!w->spec->operand || w->operands >= max)
		return mthp_opts_usage_error(w->spec, w->err, "unexpected argument '%s'", word);
	((const char **)field(w->opts, w->spec->operand_off))[w->operands++] = word;
	return 0;
}

/* Every required option given; else a usage error naming the first missing. */
static int check_required(const struct walk *w)
{
	const struct mthp_opt *o = w->spec->opts;

	for (unsigned i = 0; o[i].name || o[i].help; i++)
		if (o[i].name && o[i].required && !(w->given & (1ull << i)))
			return mthp_opts_usage_error(w->spec, w->err, "--%s is required",
						     o[i].name);
	return 0;
}

int mthp_opts_parse(const struct mthp_cmd_spec *spec, int argc, char **argv,
		    void *opts, FILE *out, FILE *err)
{
	struct walk w = { spec, argc, 1, argv, opts, out, err, false, 0 };
	bool options = true;
	int ret = 0;

	while (!ret && w.i < argc) {
		const char *word = argv[w.i++];

		if (options && !strcmp(word, "--"))
			options = false;
		else if (options && !strncmp(word, "--", 2))
			ret = long_option(&w, word);
		else if (options && word[0] == '-' && word[1])
			ret = short_options(&w, word);
		else
			ret = operand(&w, word);
	}
	return ret ? ret : check_required(&w);
}

void mthp_opts_free(const struct mthp_cmd_spec *spec, void *opts)
{
	for (const struct mthp_opt *o = spec->opts; o->name || o->help; o++) {
		if (o->name && o->kind == MTHP_OPT_STRINGS) {
			struct mthp_opt_strings *s = field(opts, o->off);

			free(s->v);
			*s = (struct mthp_opt_strings){ 0 };
		} else if (o->name && o->kind == MTHP_OPT_PIDS) {
			struct mthp_opt_pids *p = field(opts, o->off);

			free(p->v);
			*p = (struct mthp_opt_pids){ 0 };
		}
	}
}

/* ---- --help ---- */

/* "  -x, --name ARG": its length without printing it when out is NULL. */
static int help_left(FILE *out, const struct mthp_opt *o)
{
	char shortname[8] = "", left[96];

	if (o->short_name)
		snprintf(shortname, sizeof(shortname), "-%c, ", o->short_name);
	snprintf(left, sizeof(left), "  %s--%s%s%s", shortname, o->name,
		 o->arg ? " " : "", o->arg ? o->arg : "");
	if (out)
		fputs(left, out);
	return (int)strlen(left);
}

/* The option and its help, the help from column col on. */
static void help_line(FILE *out, const struct mthp_opt *o, int col)
{
	const char *h = o->help;
	int n = help_left(out, o);

	fprintf(out, "%*s", col - n, "");
	for (;;) {
		size_t len = strcspn(h, "\n");

		fprintf(out, "%.*s\n", (int)len, h);
		if (!h[len])
			break;
		h += len + 1;
		fprintf(out, "%*s", col, "");
	}
}

void mthp_opts_help(const struct mthp_cmd_spec *spec, FILE *out)
{
	int col = HELP_COLUMN;

	for (const struct mthp_opt *o = spec->opts; o->name || o->help; o++)
		if (o->name && help_left(NULL, o) + 2 > col)
			col = help_left(NULL, o) + 2;
	fputs(spec->intro, out);
	for (const struct mthp_opt *o = spec->opts; o->name || o->help; o++) {
		if (o->name)
			help_line(out, o, col);
		else
			fprintf(out, "%s\n", o->help);
	}
	help_line(out, &help_opt, col);
	if (spec->outro)
		fprintf(out, "\n%s", spec->outro);
}
