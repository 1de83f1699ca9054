// SPDX-License-Identifier: MIT
/*
 * test_cli_opts.c - the option parser every `mthp` command uses: long and
 * short forms, --name=value, prefixes, clustered flags, "--", operands,
 * repeatable options, the errors (exit 2), and --help written from the
 * same table; then every command's --help against what it parses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include <mthp/engine.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "helpers/text_has.h"

struct t_opts {
	bool flag, other;
	const char *name;
	const char *operand;
	pid_t pid;
	uint64_t count;
	enum mthp_policy policy;
	struct mthp_opt_strings sets;
	struct mthp_opt_pids pids;
	int odd;
};

static int parse_odd(void *opts, const char *value, char *why, size_t len)
{
	struct t_opts *o = opts;

	o->odd = atoi(value);
	if (o->odd % 2)
		return 0;
	snprintf(why, len, "must be odd");
	return -EINVAL;
}

#define OPT(f) offsetof(struct t_opts, f)

static const struct mthp_opt t_table[] = {
	{ "flag", 'f', NULL, MTHP_OPT_FLAG, OPT(flag), .help = "a flag" },
	{ "other", 'o', NULL, MTHP_OPT_FLAG, OPT(other), .help = "another flag" },
	{ .help = "values:" },
	{ "name", 'n', "NAME", MTHP_OPT_STRING, OPT(name), .help = "a name\nover two lines" },
	{ "pid", 0, "PID", MTHP_OPT_PID, OPT(pid), .help = "a pid" },
	{ "count", 'c', "N", MTHP_OPT_U64, OPT(count), 1, 10, .help = "a count" },
	{ "policy", 0, "P", MTHP_OPT_POLICY, OPT(policy), .help = "a policy" },
	{ "set", 's', "KV", MTHP_OPT_STRINGS, OPT(sets), .help = "repeatable" },
	{ "target", 0, "PID", MTHP_OPT_PIDS, OPT(pids), .help = "repeatable pids" },
	{ "odd", 0, "N", MTHP_OPT_FN, .fn = parse_odd, .help = "an odd number" },
	{ 0 },
};

static const struct mthp_opt t_required_table[] = {
	{ "flag", 'f', NULL, MTHP_OPT_FLAG, OPT(flag), .help = "a flag" },
	{ "pid", 'p', "PID", MTHP_OPT_PID, OPT(pid), .help = "a pid", .required = true },
	{ 0 },
};

static const struct mthp_cmd_spec t_spec = {
	"test", "usage: mthp test [OPTIONS] [THING]\n\n", t_table, "The end.\n",
	"THING", OPT(operand),
};

struct parsed {
	int ret;
	struct t_opts o;
	char out[4096], err[1024];
};

/* Parse the NULL-terminated words after "test". */
static struct parsed *parse(const char *first, ...)
{
	static struct parsed p;
	char *argv[32] = { "test" };
	int argc = 1;
	FILE *out, *err;
	va_list ap;

	memset(&p, 0, sizeof(p));
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	out = fmemopen(p.out, sizeof(p.out) - 1, "w");
	err = fmemopen(p.err, sizeof(p.err) - 1, "w");
	p.ret = mthp_opts_parse(&t_spec, argc, argv, &p.o, out, err);
	fclose(out);
	fclose(err);
	return &p;
}

static void done(struct parsed *p)
{
	mthp_opts_free(&t_spec, &p->o);
}

static void expect_error(struct parsed *p, const char *msg)
{
	assert_int_equal(p->ret, EXIT_USAGE);
	if (strncmp(p->err, "mthp test: ", 11) || !strstr(p->err, msg) ||
	    !strstr(p->err, "Try 'mthp test --help'."))
		fail_msg("expected 'mthp test: ...%s', got '%s'", msg, p->err);
	done(p);
}

static void test_long_short_and_equals(void **state)
{
	struct parsed *p;

	(void)state;
	p = parse("--name", "a", "-c", "3", "--pid=42", "--policy=seed", "-fo", NULL);
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->o.name, "a");
	assert_int_equal(p->o.count, 3);
	assert_int_equal(p->o.pid, 42);
	assert_int_equal(p->o.policy, MTHP_POLICY_SEED);
	assert_true(p->o.flag && p->o.other);
	done(p);
	p = parse("-nb", "-c7", NULL);		/* value glued to the short name */
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->o.name, "b");
	assert_int_equal(p->o.count, 7);
	done(p);
}

static void test_prefixes(void **state)
{
	struct parsed *p;

	(void)state;
	p = parse("--na", "x", "--fl", NULL);
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->o.name, "x");
	assert_true(p->o.flag);
	done(p);
	expect_error(parse("--p", "1", NULL), "ambiguous option '--p'");
}

static void test_operands_and_double_dash(void **state)
{
	struct parsed *p;

	(void)state;
	p = parse("-f", "thing", NULL);
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->o.operand, "thing");
	done(p);
	p = parse("--", "--flag", NULL);
	assert_int_equal(p->ret, 0);
	assert_false(p->o.flag);
	assert_string_equal(p->o.operand, "--flag");
	done(p);
	p = parse("-", NULL);			/* "-" is an operand (standard input) */
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->o.operand, "-");
	done(p);
	expect_error(parse("a", "b", NULL), "unexpected argument 'b'");
}

static void test_repeatable(void **state)
{
	struct parsed *p;

	(void)state;
	/* a pid named twice is one process: taken once, where first named */
	p = parse("--set", "a=1", "-s", "b=2", "--target", "5", "--target=6", "--target", "5",
		  NULL);
	assert_int_equal(p->ret, 0);
	assert_int_equal(p->o.sets.nr, 2);
	assert_string_equal(p->o.sets.v[0], "a=1");
	assert_string_equal(p->o.sets.v[1], "b=2");
	assert_int_equal(p->o.pids.nr, 2);
	assert_int_equal(p->o.pids.v[0], 5);
	assert_int_equal(p->o.pids.v[1], 6);
	done(p);
	assert_null(p->o.sets.v);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error(parse("--bogus", NULL), "unknown option '--bogus'");
	expect_error(parse("-x", NULL), "unknown option '-x'");
	expect_error(parse("--name", NULL), "--name needs a value");
	expect_error(parse("--flag=1", NULL), "--flag takes no value");
	expect_error(parse("--pid", "0", NULL), "--pid '0' is not a process id");
	expect_error(parse("--count", "0", NULL), "--count '0' must be greater than 0");
	expect_error(parse("--count", "11", NULL), "--count '11' must be at most 10");
	expect_error(parse("--count", "-1", NULL), "--count '-1' is not a whole number");
	expect_error(parse("--count", "99999999999999999999", NULL),
		     "--count '99999999999999999999' must be at most 10");
	{
		char why[64];
		uint64_t v = 7;

		assert_int_equal(mthp_opts_u64("99999999999999999999", false, 0, UINT64_MAX, &v,
					       why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "is too large for 64 bits");
		assert_int_equal(mthp_opts_u64("0x10000000000000000", true, 0, UINT64_MAX, &v,
					       why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "is too large for 64 bits");
		assert_int_equal(v, 7);
		assert_int_equal(mthp_opts_u64("18446744073709551615", false, 0, UINT64_MAX, &v,
					       why, sizeof(why)), 0);
		assert_true(v == UINT64_MAX);
	}
	expect_error(parse("--policy", "fast", NULL), "--policy 'fast' must be legacy, seed, upstream or guarded");
	expect_error(parse("--odd", "2", NULL), "--odd '2' must be odd");
	expect_error(parse("--target", "1", "--target", "x", NULL), "--target 'x' is not a process id");
}

static void test_required(void **state)
{
	static const struct mthp_cmd_spec spec = { "req", "usage\n", t_required_table,
						   NULL, NULL, 0 };
	char *with[] = { "req", "-f", "-p", "3", NULL }, *without[] = { "req", "-f", NULL };
	char *help[] = { "req", "-h", NULL };
	char err[256] = "", out[1024];
	struct t_opts o = { 0 };
	FILE *fe = fmemopen(err, sizeof(err) - 1, "w");
	FILE *fo = fmemopen(out, sizeof(out) - 1, "w");

	(void)state;
	assert_int_equal(mthp_opts_parse(&spec, 4, with, &o, fo, fe), 0);
	assert_int_equal(o.pid, 3);
	assert_int_equal(mthp_opts_parse(&spec, 2, without, &o, fo, fe), EXIT_USAGE);
	assert_int_equal(mthp_opts_parse(&spec, 2, help, &o, fo, fe), -1);	/* help needs no --pid */
	fclose(fe);
	fclose(fo);
	assert_string_equal(err, "mthp req: --pid is required\nTry 'mthp req --help'.\n");
}

static void test_help_is_the_table(void **state)
{
	struct parsed *p = parse("--flag", "-h", "--bogus", NULL);

	(void)state;
	assert_int_equal(p->ret, -1);		/* help shown, parsing stopped */
	assert_string_equal(p->err, "");
	assert_non_null(strstr(p->out, "usage: mthp test [OPTIONS] [THING]\n\n"));
	for (const struct mthp_opt *o = t_table; o->name || o->help; o++) {
		char line[64];

		if (!o->name) {
			assert_non_null(strstr(p->out, o->help));
			continue;
		}
		snprintf(line, sizeof(line), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		if (!strstr(p->out, line))
			fail_msg("--help lacks '%s':\n%s", line, p->out);
	}
	assert_text_has(p->out,
			"  -n, --name NAME",
			"a name\n",
			"over two lines\n",
			"  -h, --help",
			"\nThe end.\n",
			NULL);
	done(p);
}

/*
 * Every option a command's --help lists is one its parser knows: given
 * with a bad value or none, and a bogus option after it, the error is
 * never "unknown option" about it (and nothing runs: parsing fails).
 */
static void test_every_command_parses_what_its_help_lists(void **state)
{
	(void)state;
	for (const struct mthp_command *c = mthp_commands; c->name; c++) {
		char out[16384] = "", err[2048];
		char *argv[] = { (char *)c->name, "--help", NULL };
		FILE *fo = fmemopen(out, sizeof(out) - 1, "w");
		FILE *fe = fmemopen(err, sizeof(err) - 1, "w");
		size_t nr = 0;

		assert_int_equal(c->run(2, argv, fo, fe), 0);
		fclose(fo);
		fclose(fe);
		for (char *line = out, *next; *line; line = next) {
			char name[64], word[96];
			char *dd = strstr(line, "--");
			char *args[] = { (char *)c->name, word, "--no-such-option-zz", NULL };
			int status;

			next = line + strcspn(line, "\n");
			next += *next == '\n';
			if (strncmp(line, "  -", 3) || !dd || dd > line + 8 ||
			    sscanf(dd, "--%63[a-z-]", name) != 1 || !strcmp(name, "help"))
				continue;
			snprintf(word, sizeof(word), "--%s=", name);
			fo = fmemopen(out + sizeof(out) / 2, sizeof(out) / 2 - 1, "w");
			fe = fmemopen(err, sizeof(err) - 1, "w");
			status = c->run(3, args, fo, fe);
			fclose(fo);
			fclose(fe);
			assert_int_equal(status, EXIT_USAGE);
			snprintf(word, sizeof(word), "unknown option '--%s", name);
			if (strstr(err, word))
				fail_msg("mthp %s: --help lists --%s, the parser does not know it", c->name, name);
			nr++;
		}
		if (!nr)
			fail_msg("mthp %s --help lists no option", c->name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_short_and_equals),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_operands_and_double_dash),
		cmocka_unit_test(test_repeatable),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_help_is_the_table),
		cmocka_unit_test(test_every_command_parses_what_its_help_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
