// SPDX-License-Identifier: MIT
/*
 * test_sim_layers - the simulator's include graph goes downward only.
 *
 * The layer list at the top of src/sim/sim_internal.h (between "layers:"
 * and "end of layers", one layer a line, lowest first, the subsystems of
 * a layer separated by spaces; "locks+lockdep" names one subsystem whose
 * header and .c differ in name) is the order; every src/sim file must be
 * in it, and each #include "sim/X.h" of a file must name a subsystem of a
 * lower layer, or the file's own.  Run from the project root.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers/test_main.h"

#define SIM_DIR "src/sim/"
#define UMBRELLA "sim_internal"
#define MAX_NAMES 64

/* One subsystem name (a file's base name) and its layer and group. */
struct name {
	char base[32];
	int layer;
	int group;		/* names joined by '+' share a group */
};

struct layers {
	struct name names[MAX_NAMES];
	int nr;
};

static const struct name *find(const struct layers *l, const char *base)
{
	for (int i = 0; i < l->nr; i++)
		if (!strcmp(l->names[i].base, base))
			return &l->names[i];
	return NULL;
}

/* The subsystems of one layer line: words up to the first tab. */
static void parse_layer(struct layers *l, char *line, int layer)
{
	char *tab = strchr(line, '\t');
	char *save = NULL;

	if (tab)
		*tab = 0;
	for (char *w = strtok_r(line, " *\n", &save); w; w = strtok_r(NULL, " *\n", &save)) {
		int group = l->nr;
		char *save2 = NULL;

		for (char *n = strtok_r(w, "+", &save2); n; n = strtok_r(NULL, "+", &save2)) {
			if (l->nr == MAX_NAMES)
				fail_msg("more than %d names in the layer list", MAX_NAMES);
			snprintf(l->names[l->nr].base, sizeof(l->names[0].base), "%s", n);
			l->names[l->nr].layer = layer;
			l->names[l->nr].group = group;
			l->nr++;
		}
	}
}

static void read_layers(struct layers *l)
{
	FILE *f = fopen(SIM_DIR UMBRELLA ".h", "r");
	char line[256];
	int layer = -1;

	if (!f)
		fail_msg("cannot open " SIM_DIR UMBRELLA ".h (run from the project root)");
	l->nr = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "end of layers"))
			break;
		if (layer >= 0)
			parse_layer(l, line, layer++);
		else if (strstr(line, " * layers:"))
			layer = 0;
	}
	fclose(f);
	if (l->nr < 2)
		fail_msg("no layer list found in " SIM_DIR UMBRELLA ".h");
}

/* Check every #include "sim/X.h" of one file; returns the violations. */
static int check_file(const struct layers *l, const char *file, const struct name *me)
{
	char path[256], line[512];
	int bad = 0, nr = 0;
	FILE *f;

	snprintf(path, sizeof(path), SIM_DIR "%s", file);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char inc[64];
		const struct name *to;

		nr++;
		if (sscanf(line, "#include \"sim/%63[^.\"].h\"", inc) != 1)
			continue;
		to = find(l, inc);
		if (!strcmp(inc, UMBRELLA)) {
			print_error("%s:%d: includes the umbrella %s.h\n", path, nr, inc);
			bad++;
		} else if (!to) {
			print_error("%s:%d: includes %s.h, which is in no layer\n", path, nr, inc);
			bad++;
		} else if (to->group != me->group && to->layer >= me->layer) {
			print_error("%s:%d: %s (layer %d) includes %s.h of layer %d: not below\n",
				    path, nr, me->base, me->layer, inc, to->layer);
			bad++;
		}
	}
	fclose(f);
	return bad;
}

static void test_includes_go_down(void **state)
{
	struct layers l;
	struct dirent *e;
	int bad = 0, files = 0;
	DIR *d;

	(void)state;
	read_layers(&l);
	d = opendir(SIM_DIR);
	assert_non_null(d);
	while ((e = readdir(d))) {
		char base[64];
		size_t n = strlen(e->d_name);
		const struct name *me;

		if (n < 3 || (strcmp(e->d_name + n - 2, ".c") && strcmp(e->d_name + n - 2, ".h")))
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(n - 2), e->d_name);
		if (!strcmp(base, UMBRELLA))
			continue;
		me = find(&l, base);
		if (!me) {
			print_error(SIM_DIR "%s: in no layer of " UMBRELLA ".h\n", e->d_name);
			bad++;
			continue;
		}
		bad += check_file(&l, e->d_name, me);
		files++;
	}
	closedir(d);
	assert_true(files > 20);
	if (bad)
		fail_msg("%d include(s) break the layers of " SIM_DIR UMBRELLA ".h", bad);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_includes_go_down),
)
