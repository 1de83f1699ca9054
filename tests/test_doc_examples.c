// SPDX-License-Identifier: MIT
/*
 * test_doc_examples.c - the examples of README.md and docs/ are true:
 * every indented block whose first line is "$ build/mthp sim ..." or
 * "$ build/mthp plan ..." is run, and each command's standard output must
 * be the lines the document shows under it, a line "..." (indented or
 * not) standing for any number of lines (none too).
 *
 * scripts/guarded-evidence is run too (it runs build/mthp), but in a
 * debug build.
 *
 * A block is one or more commands, "$ " at the block's indentation, a
 * trailing backslash going on to the next line; the lines under a command
 * down to the next one, or to the first line indented less than the
 * block, are its output (the block's indentation taken off, blank lines at
 * the end left out).  The commands of a block run in order, with sh, in a
 * directory of their own whose entries are links to the project's (so
 * that a file a command writes, end.snap say, is not left behind), with
 * build linked to the directory of $MTHP.  Each must exit 0; what it
 * writes to stderr is shown only when it fails.  Commands that do not
 * start with build/mthp (a live process's, say) are not run, nor is any
 * other command of their block.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/test_main.h"

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n] = strndup(s, len);
	assert_non_null(l->v[l->n]);
	l->n++;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct lines){ 0 };
}

/* The lines of a file or of a stream, trailing blanks of each taken off. */
static void lines_read(struct lines *l, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' ' ||
				   line[len - 1] == '\t'))
			len--;
		lines_add(l, line, (size_t)len);
	}
	free(line);
}

static size_t indent_of(const char *s)
{
	size_t i = 0;

	while (s[i] == ' ')
		i++;
	return i;
}

/* "...", indented or not: any number of lines. */
static bool is_dots(const char *s)
{
	return !strcmp(s + indent_of(s), "...");
}

/* Does got match want, where a line "..." in want stands for any lines? */
static bool lines_match(const struct lines *want, const struct lines *got)
{
	size_t w = 0, g = 0, star_w = SIZE_MAX, star_g = 0;

	while (g < got->n) {
		if (w < want->n && is_dots(want->v[w])) {
			star_w = w++;
			star_g = g;
		} else if (w < want->n && !strcmp(want->v[w], got->v[g])) {
			w++;
			g++;
		} else if (star_w != SIZE_MAX) {
			w = star_w + 1;	/* the "..." takes one more line */
			g = ++star_g;
		} else {
			return false;
		}
	}
	while (w < want->n && is_dots(want->v[w]))
		w++;
	return w == want->n;
}

/*
 * The project root, open and inherited by the commands: the scratch
 * directory's links go through /proc/self/fd/ROOT_FD, not the root's
 * path, whose parents an unprivileged run may not be allowed to search
 * (a clone in root's private temporary directory, which make check as
 * nobody runs in).
 */
static int root_fd = -1;

/* A directory whose entries link to the project root's, build to build's. */
static char *scratch_dir(const char *build)
{
	char tmpl[] = "/tmp/mthp-doc-XXXXXX", path[PATH_MAX * 2], link[PATH_MAX * 2];
	char *dir = mkdtemp(tmpl);
	struct dirent *e;
	DIR *d;

	assert_non_null(dir);
	dir = strdup(dir);
	d = opendir(".");
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "build"))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", root_fd, e->d_name);
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		assert_int_equal(symlink(path, link), 0);
	}
	closedir(d);
	if (build[0] == '/')
		snprintf(path, sizeof(path), "%s", build);
	else
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", root_fd, build);
	snprintf(link, sizeof(link), "%s/build", dir);
	assert_int_equal(symlink(path, link), 0);
	return dir;
}

static void scratch_remove(char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

struct example {
	const char *doc;
	size_t line;		/* of the command, from 1 */
	char *cmd;
	struct lines want;
};

/* Run one command in dir: 0 if its output matches, else 1 (said why). */
/*
 * The outputs of the commands that make up a block alone, by command: the
 * same command in two documents (the evidence in README and in the
 * proposal) runs once.
 */
#define MAX_CACHED 64
static struct cached {
	char *cmd;
	struct lines out;
} cache[MAX_CACHED];
static unsigned nr_cached;

/*
 * Run one command in dir (alone: the only command of its block, whose
 * output may be cached): 0 if its output matches, else 1 (said why).
 */
static int run_example(const struct example *ex, const char *dir, bool alone)
{
	char err_path[PATH_MAX + 16];
	struct lines got = { 0 };
	const struct lines *out = &got;
	char *sh;
	FILE *p;
	int status = 0, bad = 0;

	for (unsigned i = 0; alone && i < nr_cached; i++)
		if (!strcmp(cache[i].cmd, ex->cmd))
			out = &cache[i].out;
	if (out == &got) {
		snprintf(err_path, sizeof(err_path), "%s/.stderr", dir);
		assert_true(asprintf(&sh, "cd '%s' && { %s\n} 2>'%s'", dir, ex->cmd,
				     err_path) > 0);
		p = popen(sh, "r");
		assert_non_null(p);
		lines_read(&got, p);
		status = pclose(p);
		free(sh);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		FILE *e = fopen(err_path, "r");
		struct lines err = { 0 };

		print_error("%s:%zu: exit status %d: %s\n", ex->doc, ex->line,
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1, ex->cmd);
		if (e) {
			lines_read(&err, e);
			fclose(e);
		}
		for (size_t i = 0; i < err.n && i < 20; i++)
			print_error("  stderr: %s\n", err.v[i]);
		lines_free(&err);
		bad = 1;
	} else if (!lines_match(&ex->want, out)) {
		print_error("%s:%zu: the output differs from the document's: %s\n", ex->doc,
			    ex->line, ex->cmd);
		for (size_t i = 0; i < ex->want.n; i++)
			print_error("  doc: %s\n", ex->want.v[i]);
		for (size_t i = 0; i < out->n; i++)
			print_error("  got: %s\n", out->v[i]);
		bad = 1;
	}
	if (out == &got && alone && !bad && nr_cached < MAX_CACHED) {
		cache[nr_cached].cmd = strdup(ex->cmd);
		cache[nr_cached++].out = got;
	} else if (out == &got) {
		lines_free(&got);
	}
	return bad;
}

static bool is_command(const char *s, size_t indent)
{
	return indent_of(s) == indent && !strncmp(s + indent, "$ ", 2);
}

/*
 * The commands run: mthp's that touch nothing of the host (sim and plan:
 * make check leaves the host alone, and an example of collapse or daemon
 * would act on live processes), and the script that gives guarded's
 * evidence but in a debug build (every SANITIZE build), where its 200
 * simulations with the simulator's whole checks take most of an hour; the
 * other builds run it.
 */
static bool runnable(const char *cmd)
{
	return !strncmp(cmd, "build/mthp sim ", 15) || !strncmp(cmd, "build/mthp plan ", 16) ||
	       (!MTHP_DEBUG && !strcmp(cmd, "scripts/guarded-evidence"));
}

/*
 * The examples of one document, each block's commands run in a scratch
 * directory of its own; *ran counts the commands run.  Returns how many
 * failed.
 */
static int check_doc(const char *doc, const char *build, unsigned *ran)
{
	struct lines l = { 0 };
	FILE *f = fopen(doc, "r");
	int failed = 0;

	assert_non_null(f);
	lines_read(&l, f);
	fclose(f);
	for (size_t i = 0; i < l.n;) {
		size_t indent = indent_of(l.v[i]);
		unsigned nr_cmds;
		bool run;
		char *dir;

		if (strncmp(l.v[i] + indent, "$ ", 2) || !runnable(l.v[i] + indent + 2)) {
			i++;
			continue;
		}
		/* the block: every command must be one that is run */
		run = true;
		for (size_t k = i; k < l.n && (!*l.v[k] || indent_of(l.v[k]) >= indent); k++)
			if (is_command(l.v[k], indent) && !runnable(l.v[k] + indent + 2))
				run = false;
		dir = run ? scratch_dir(build) : NULL;
		nr_cmds = 0;
		for (size_t k = i; k < l.n && (!*l.v[k] || indent_of(l.v[k]) >= indent); k++)
			nr_cmds += is_command(l.v[k], indent);
		while (i < l.n && is_command(l.v[i], indent)) {
			struct example ex = { .doc = doc, .line = i + 1 };
			size_t len = 0, cap = 256;

			ex.cmd = malloc(cap);
			assert_non_null(ex.cmd);
			ex.cmd[0] = '\0';
			for (const char *s = l.v[i] + indent + 2;; s = l.v[i] + indent_of(l.v[i])) {
				size_t n = strlen(s);
				bool more = n && s[n - 1] == '\\' && i + 1 < l.n;

				while (len + n + 2 > cap) {
					cap *= 2;
					ex.cmd = realloc(ex.cmd, cap);
					assert_non_null(ex.cmd);
				}
				memcpy(ex.cmd + len, s, n - more);
				len += n - more;
				ex.cmd[len] = '\0';
				i++;
				if (!more)
					break;
			}
			while (i < l.n && !is_command(l.v[i], indent) &&
			       (!*l.v[i] || indent_of(l.v[i]) >= indent)) {
				const char *s = l.v[i];

				lines_add(&ex.want, strlen(s) > indent ? s + indent : "",
					  strlen(s) > indent ? strlen(s) - indent : 0);
				i++;
			}
			while (ex.want.n && !*ex.want.v[ex.want.n - 1])
				free(ex.want.v[--ex.want.n]);
			if (run) {
				failed += run_example(&ex, dir, nr_cmds == 1);
				(*ran)++;
			}
			free(ex.cmd);
			lines_free(&ex.want);
		}
		if (dir)
			scratch_remove(dir);
	}
	lines_free(&l);
	return failed;
}

static void the_documents_examples_are_true(void **state)
{
	const char *mthp = getenv("MTHP") ? getenv("MTHP") : "build/mthp";
	char build[PATH_MAX], *slash;
	unsigned ran = 0, docs = 0;
	int failed = 0;
	struct dirent *e;
	DIR *d;

	(void)state;
	if (access(mthp, X_OK))
		fail_msg("%s: %s (run from the project root after make)", mthp, strerror(errno));
	snprintf(build, sizeof(build), "%s", mthp);
	slash = strrchr(build, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(build, sizeof(build), ".");
	root_fd = open(".", O_RDONLY | O_DIRECTORY);	/* no O_CLOEXEC: inherited */
	assert_true(root_fd >= 0);
	failed += check_doc("README.md", build, &ran);
	docs++;
	d = opendir("docs");
	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char path[300];

		if (n < 3 || strcmp(e->d_name + n - 3, ".md"))
			continue;
		snprintf(path, sizeof(path), "docs/%s", e->d_name);
		failed += check_doc(path, build, &ran);
		docs++;
	}
	closedir(d);
	close(root_fd);
	for (unsigned i = 0; i < nr_cached; i++) {
		free(cache[i].cmd);
		lines_free(&cache[i].out);
	}
	nr_cached = 0;
	print_message("%u commands run from %u documents, %d failed\n", ran, docs, failed);
	assert_true(ran >= 10);
	assert_int_equal(failed, 0);
}

/* The matcher itself: "..." takes any lines, and nothing else differs. */
static void dots_take_any_lines(void **state)
{
	struct lines want = { 0 }, got = { 0 };
	static const char *const w[] = { "a", "...", "c", "..." };
	static const char *const g[] = { "a", "b", "b", "c", "d" };

	(void)state;
	for (size_t i = 0; i < 4; i++)
		lines_add(&want, w[i], strlen(w[i]));
	for (size_t i = 0; i < 5; i++)
		lines_add(&got, g[i], strlen(g[i]));
	assert_true(lines_match(&want, &got));
	got.n = 4;		/* a b b c: the last "..." takes none */
	assert_true(lines_match(&want, &got));
	got.n = 3;		/* a b b: no c */
	assert_false(lines_match(&want, &got));
	got.n = 5;
	free(want.v[2]);
	want.v[2] = strdup("x");	/* a ... x ...: no x */
	assert_false(lines_match(&want, &got));
	free(want.v[1]);
	want.v[1] = strdup("b");	/* a b x ...: exact lines must be equal */
	assert_false(lines_match(&want, &got));
	got.n = 5;
	lines_free(&want);
	lines_free(&got);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(dots_take_any_lines),
	cmocka_unit_test(the_documents_examples_are_true),
)
