// SPDX-License-Identifier: MIT
/*
 * test_map.c - the address-space map (include/mthp/map.h): page and cell
 * classes, the cell-size rule and the stacked layout, the rows of region
 * brackets, then pictures of a known layout read back: PNG pixels of
 * every cell against the palette (with cairo_image_surface_create_from_png)
 * and of the brackets, SVG rectangles counted by colour (cairo writes a
 * filled rectangle as a <path> with four corners), the comparison picture
 * with its plot points, and the errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <cmocka.h>

#include <mthp/map.h>
#include <mthp/snapshot.h>

#include "helpers/snap_build.h"

#define S mthp_map_style

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mthp-test-map.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	/* let leak checkers see cairo's (and fontconfig's) caches freed */
	cairo_debug_reset_static_data();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *file(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* ---- layouts ---- */


static struct snap_table T;

/*
 * The known layout: pmd 0 PMD-mapped, pmd 1 the table below, pmd 2 no
 * table.  Per panel its runs are NONE 4, ZERO, SWAP, NO_FOLIO, ORDER0,
 * ORDER2, ORDER3, ORDER4, PMD one each, and 2 runs of shared marks.
 */
static void known_before(struct mthp_snapshot *s)
{
	snap_build_new(s, 4096, 3, MTHP_VMA_ANON);
	snap_build_add(s, 0, MTHP_PMD_HUGE, NULL);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 16, 'A', 4);
	snap_table_put(&T, 16, 4, 'S', 2);
	snap_table_put(&T, 24, 8, 'a', 3);
	snap_table_put(&T, 32, 32, '0', 0);
	snap_table_put(&T, 64, 8, 'w', 0);
	snap_table_put(&T, 72, 1, 'n', 0);
	snap_table_put(&T, 80, 16, 'a', 0);
	snap_table_put(&T, 96, 4, 's', 0);
	snap_build_add(s, 1, MTHP_PMD_TABLE, &T);
	snap_build_add(s, 2, MTHP_PMD_NONE, NULL);
}

/* The class and shared mark of PTE i of known_before()'s table. */
static enum mthp_map_class known_class(uint32_t i, bool *shared)
{
	*shared = (i >= 16 && i < 20) || (i >= 96 && i < 100);
	if (i < 16)
		return MTHP_MAP_ORDER(4);
	if (i < 20)
		return MTHP_MAP_ORDER(2);
	if (i < 24)
		return MTHP_MAP_NONE;
	if (i < 32)
		return MTHP_MAP_ORDER(3);
	if (i < 64)
		return MTHP_MAP_ZERO;
	if (i < 72)
		return MTHP_MAP_SWAP;
	if (i == 72)
		return MTHP_MAP_NO_FOLIO;
	if (i < 80)
		return MTHP_MAP_NONE;
	if (i < 100)
		return MTHP_MAP_ORDER0;
	return MTHP_MAP_NONE;
}

/* "after": pmd 1 one PTE-mapped 2M folio. */
static void known_after(struct mthp_snapshot *s)
{
	snap_build_new(s, 4096, 3, MTHP_VMA_ANON);
	snap_build_add(s, 0, MTHP_PMD_HUGE, NULL);
	snap_table_put(&T, 0, 512, 'A', 9);
	snap_build_add(s, 1, MTHP_PMD_TABLE, &T);
	snap_build_add(s, 2, MTHP_PMD_NONE, NULL);
}

/* ---- reading pictures back ---- */

struct png {
	cairo_surface_t *surface;
	unsigned char *data;
	int stride, width, height;
};

static void png_open(struct png *p, const char *path)
{
	p->surface = cairo_image_surface_create_from_png(path);
	assert_int_equal(cairo_surface_status(p->surface), CAIRO_STATUS_SUCCESS);
	p->data = cairo_image_surface_get_data(p->surface);
	p->stride = cairo_image_surface_get_stride(p->surface);
	p->width = cairo_image_surface_get_width(p->surface);
	p->height = cairo_image_surface_get_height(p->surface);
}

static uint32_t pixel(const struct png *p, double fx, double fy)
{
	int x = (int)fx, y = (int)fy;

	assert_true(x >= 0 && x < p->width && y >= 0 && y < p->height);
	return *(const uint32_t *)(p->data + (size_t)y * p->stride + (size_t)x * 4) & 0xffffff;
}

static void png_close(struct png *p)
{
	cairo_surface_destroy(p->surface);
}

/* Check the top and the bottom (shared-mark) pixels of one cell. */
static void check_cell(const struct png *p, const struct mthp_map_layout *l,
		       size_t panel, size_t pmd, uint32_t pte,
		       enum mthp_map_class c, bool shared)
{
	double x, y;

	assert_int_equal(mthp_map_cell_xy(l, panel, pmd, pte, &x, &y), 0);
	for (unsigned dx = 0; dx < S.cell_w; dx++) {
		if (pixel(p, x + dx, y) != S.rgb[c] ||
		    pixel(p, x + dx, y + S.cell_h - S.mark_h - 1) != S.rgb[c])
			fail_msg("panel %zu pmd %zu pte %u: %06x, want class %d %06x",
				 panel, pmd, pte, pixel(p, x + dx, y), c, S.rgb[c]);
		assert_int_equal(pixel(p, x + dx, y + S.cell_h - 1),
				 S.rgb[shared ? MTHP_MAP_SHARED : c]);
	}
	/* the row gap below is background (or a range tick) */
	assert_true(pixel(p, x, y + S.cell_h) == S.background ||
		    pixel(p, x, y + S.cell_h) == S.text);
}

/*
 * Filled rectangles (<rect>, or <path> with four corners) by colour, and
 * filled paths of other shapes (the plot points) by point colour.
 */
struct svg_counts {
	unsigned rects[MTHP_MAP_NR_CLASSES];
	unsigned regions;		/* rectangles of region brackets */
	unsigned other_rects;		/* rectangles of colours not in the palette */
	unsigned points[MTHP_MAP_MAX_POINTS];	/* non-rectangles of point colours */
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static unsigned pct(double v)
{
	return (unsigned)(v * 255.0 / 100.0 + 0.5);
}

static void svg_count(const char *path, struct svg_counts *c)
{
	char *text = slurp(path);

	memset(c, 0, sizeof(*c));
	assert_non_null(strstr(text, "<svg"));
	for (char *p = strchr(text, '<'); p; p = strchr(p + 1, '<')) {
		bool is_path = !strncmp(p, "<path ", 6), is_rect = !strncmp(p, "<rect ", 6);
		char *end, *fill, *d;
		double r, g, b, x[4], y[4];
		uint32_t rgb;
		bool rect, found = false;

		if (!is_path && !is_rect)
			continue;
		end = strstr(p, "/>");
		assert_non_null(end);
		*end = '\0';
		fill = strstr(p, "fill:rgb(");
		d = strstr(p, " d=\"");
		if (!fill || (is_path && !d)) {
			*end = '/';
			continue;
		}
		assert_int_equal(sscanf(fill, "fill:rgb(%lf%%,%lf%%,%lf%%)", &r, &g, &b), 3);
		rgb = pct(r) << 16 | pct(g) << 8 | pct(b);
		rect = is_rect ||
		       (sscanf(d, " d=\"M %lf %lf L %lf %lf L %lf %lf L %lf %lf Z",
			       &x[0], &y[0], &x[1], &y[1], &x[2], &y[2], &x[3], &y[3]) == 8 &&
			y[0] == y[1] && x[1] == x[2] && y[2] == y[3] && x[3] == x[0]);
		for (unsigned k = 0; rect && k < MTHP_MAP_NR_CLASSES; k++) {
			if (S.rgb[k] == rgb) {
				c->rects[k]++;
				found = true;
			}
		}
		if (rect && !found && rgb == S.region_rgb)
			c->regions++;
		else if (rect && !found)
			c->other_rects++;
		for (unsigned k = 0; !rect && k < MTHP_MAP_MAX_POINTS; k++)
			if (S.point_rgb[k] == rgb)
				c->points[k]++;
		*end = '/';
	}
	free(text);
}

/* ---- classes ---- */

static void test_pte_class(void **state)
{
	bool sh;

	(void)state;
	assert_int_equal(mthp_map_pte_class('.', MTHP_NO_FOLIO, &sh), MTHP_MAP_NONE);
	assert_false(sh);
	assert_int_equal(mthp_map_pte_class('0', MTHP_NO_FOLIO, &sh), MTHP_MAP_ZERO);
	assert_int_equal(mthp_map_pte_class('w', MTHP_NO_FOLIO, &sh), MTHP_MAP_SWAP);
	assert_int_equal(mthp_map_pte_class('n', MTHP_NO_FOLIO, &sh), MTHP_MAP_NO_FOLIO);
	assert_int_equal(mthp_map_pte_class('u', MTHP_NO_FOLIO, &sh), MTHP_MAP_NO_FOLIO);
	for (const char *c = "AafNlKP"; *c; c++) {
		assert_int_equal(mthp_map_pte_class((uint8_t)*c, 4, &sh), MTHP_MAP_ORDER(4));
		assert_false(sh);
	}
	assert_int_equal(mthp_map_pte_class('S', 2, &sh), MTHP_MAP_ORDER(2));
	assert_true(sh);
	assert_int_equal(mthp_map_pte_class('s', 13, &sh), MTHP_MAP_ORDER(13));
	assert_true(sh);
	/* a present PTE without an order is order 0, as the reader takes it */
	assert_int_equal(mthp_map_pte_class('A', MTHP_NO_FOLIO, &sh), MTHP_MAP_ORDER0);
	/* an order under a PTE without a folio is ignored */
	assert_int_equal(mthp_map_pte_class('.', 4, &sh), MTHP_MAP_NONE);
}

static void test_palette_distinct(void **state)
{
	(void)state;
	for (unsigned a = 0; a < MTHP_MAP_NR_CLASSES; a++) {
		assert_int_not_equal(S.rgb[a], S.background);
		assert_int_not_equal(S.rgb[a], S.text);
		for (unsigned b = a + 1; b < MTHP_MAP_NR_CLASSES; b++)
			assert_int_not_equal(S.rgb[a], S.rgb[b]);
		for (unsigned k = 0; k < MTHP_MAP_MAX_POINTS; k++)
			assert_int_not_equal(S.rgb[a], S.point_rgb[k]);
	}
	assert_true(S.mark_h < S.cell_h);
}

static void test_cell_class_majority(void **state)
{
	struct mthp_snapshot s;
	bool sh;

	(void)state;
	snap_build_new(&s, 4096, 3, MTHP_VMA_ANON);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 3, 'A', 4);		/* cell 0..3: 3 of order 4, one none */
	snap_table_put(&T, 4, 2, 'A', 0);		/* cell 4..7: a tie, 2 none, 2 order 0 */
	snap_table_put(&T, 8, 1, 'S', 0);		/* cell 8..11: one shared page, 3 none */
	snap_table_put(&T, 12, 2, '0', 0);		/* cell 12..15: tie zero / order 2 */
	snap_table_put(&T, 14, 2, 'a', 2);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	snap_build_add(&s, 1, MTHP_PMD_HUGE, NULL);
	snap_build_add(&s, 2, MTHP_PMD_ZERO, NULL);
	assert_int_equal(mthp_map_cell_class(&s, 0, 0, 4, &sh), MTHP_MAP_ORDER(4));
	assert_false(sh);
	assert_int_equal(mthp_map_cell_class(&s, 0, 4, 4, &sh), MTHP_MAP_ORDER0);
	assert_int_equal(mthp_map_cell_class(&s, 0, 8, 4, &sh), MTHP_MAP_NONE);
	assert_true(sh);
	assert_int_equal(mthp_map_cell_class(&s, 0, 12, 4, &sh), MTHP_MAP_ORDER(2));
	assert_int_equal(mthp_map_cell_class(&s, 0, 0, 1, &sh), MTHP_MAP_ORDER(4));
	assert_int_equal(mthp_map_cell_class(&s, 0, 3, 1, &sh), MTHP_MAP_NONE);
	assert_int_equal(mthp_map_cell_class(&s, 1, 0, 512, &sh), MTHP_MAP_PMD);
	assert_int_equal(mthp_map_cell_class(&s, 2, 0, 512, &sh), MTHP_MAP_ZERO);
	mthp_snapshot_free(&s);
}

/* ---- layout ---- */

static void test_layout_one_page_cells(void **state)
{
	struct mthp_snapshot s;
	struct mthp_map_panel p = { "x", &s };
	struct mthp_map_layout l;
	double x, y;

	(void)state;
	known_before(&s);
	assert_int_equal(mthp_map_layout(&p, 1, NULL, &l, NULL, 0), 0);
	assert_int_equal(l.pages_per_cell, 1);
	assert_int_equal(l.rows[0], 3);		/* one row per 512-PTE range */
	/* from the table: margin, region names, address labels; legend, title */
	assert_true(l.width == 2 * S.margin + S.name_w + S.label_w + S.cols * S.cell_w);
	assert_true(l.width <= 1600);
	assert_true(l.legend_y == S.margin);
	/* 16 classes of a 4K geometry, 10 to a legend row: 2 rows */
	assert_int_equal(l.legend_per_row, 10);
	assert_true(l.cells_y[0] == S.margin + 2 * S.legend_row_h + S.margin + S.title_h);
	assert_int_equal(mthp_map_cell_xy(&l, 0, 0, 0, &x, &y), 0);
	assert_true(x == S.margin + S.name_w + S.label_w && y == l.cells_y[0]);
	assert_int_equal(mthp_map_cell_xy(&l, 0, 1, 5, &x, &y), 0);
	assert_true(x == S.margin + S.name_w + S.label_w + 5 * S.cell_w);
	assert_true(y == l.cells_y[0] + S.cell_h + S.row_gap);
	assert_true(l.height == l.cells_y[0] + 3 * (S.cell_h + S.row_gap) + S.panel_gap +
		    S.margin);
	assert_int_equal(mthp_map_cell_xy(&l, 0, 3, 0, &x, &y), -EINVAL);
	assert_int_equal(mthp_map_cell_xy(&l, 0, 0, 512, &x, &y), -EINVAL);
	assert_int_equal(mthp_map_cell_xy(&l, 1, 0, 0, &x, &y), -EINVAL);
	mthp_snapshot_free(&s);
}

static void test_layout_cells_grow(void **state)
{
	struct mthp_snapshot big, small, s64;
	struct mthp_map_panel p[2] = { { "small", &small }, { "big", &big } };
	struct mthp_map_layout l;
	double x, y;

	(void)state;
	/* 1 + 640 ranges of 512: 641 rows > max_rows, so 2 pages a cell */
	assert_int_equal(S.max_rows, 640);
	snap_build_new(&big, 4096, 640, MTHP_VMA_ANON);
	for (size_t i = 0; i < 640; i++)
		snap_build_add(&big, i, MTHP_PMD_NONE, NULL);
	snap_build_new(&small, 4096, 1, MTHP_VMA_ANON);
	snap_build_add(&small, 0, MTHP_PMD_HUGE, NULL);
	assert_int_equal(mthp_map_layout(p, 1, NULL, &l, NULL, 0), 0);
	assert_int_equal(l.pages_per_cell, 1);	/* 1 row: fits */
	p[0].snap = &big;
	assert_int_equal(mthp_map_layout(p, 1, NULL, &l, NULL, 0), 0);
	assert_int_equal(l.pages_per_cell, 1);	/* 640 rows: fits */
	p[0].snap = &small;
	assert_int_equal(mthp_map_layout(p, 2, NULL, &l, NULL, 0), 0);
	assert_int_equal(l.pages_per_cell, 2);	/* the same for both panels */
	assert_int_equal(l.rows[0], 1);
	assert_int_equal(l.rows[1], 320);
	/* stacked: the second panel's title and rows below the first's */
	assert_true(l.cells_y[1] == l.cells_y[0] + (S.cell_h + S.row_gap) + S.panel_gap +
		    S.title_h);
	/* two ranges share a row: range 1 starts at cell 256 of row 0 */
	assert_int_equal(mthp_map_cell_xy(&l, 1, 1, 0, &x, &y), 0);
	assert_true(x == l.cells_x + 256 * S.cell_w);
	assert_true(y == l.cells_y[1]);
	assert_int_equal(mthp_map_cell_xy(&l, 1, 3, 6, &x, &y), 0);
	assert_true(x == l.cells_x + (256 + 3) * S.cell_w);
	assert_true(y == l.cells_y[1] + S.cell_h + S.row_gap);
	assert_int_equal(mthp_map_cell_xy(&l, 0, 1, 0, &x, &y), -EINVAL);	/* one pmd */
	assert_int_equal(mthp_map_cell_xy(&l, 1, 640, 0, &x, &y), -EINVAL);
	assert_int_equal(mthp_map_cell_xy(&l, 2, 0, 0, &x, &y), -EINVAL);

	/* 64K pages: one 8192-PTE range is 16 rows of one-page cells */
	snap_build_new(&s64, 65536, 1, MTHP_VMA_ANON);
	snap_build_add(&s64, 0, MTHP_PMD_HUGE, NULL);
	p[0].snap = &s64;
	assert_int_equal(mthp_map_layout(p, 1, NULL, &l, NULL, 0), 0);
	assert_int_equal(l.pages_per_cell, 1);
	assert_int_equal(l.rows[0], 16);
	assert_int_equal(mthp_map_cell_xy(&l, 0, 0, 1024 + 7, &x, &y), 0);
	assert_true(x == l.cells_x + 7 * S.cell_w);
	assert_true(y == l.cells_y[0] + 2 * (S.cell_h + S.row_gap));
	mthp_snapshot_free(&big);
	mthp_snapshot_free(&small);
	mthp_snapshot_free(&s64);
}

/* ---- pictures ---- */

/* The known before and after snapshots, drawn one below the other into path. */
static void draw_known_pair(const char *path, struct mthp_snapshot *before,
			    struct mthp_snapshot *after)
{
	char err[256] = "";

	known_before(before);
	known_after(after);
	if (mthp_map_draw(path, before, after, err, sizeof(err)) < 0)
		fail_msg("%s: %s", path, err);
}

static void free_pair(struct mthp_snapshot *before, struct mthp_snapshot *after)
{
	mthp_snapshot_free(before);
	mthp_snapshot_free(after);
}

static void test_png_before_after_pixels(void **state)
{
	struct mthp_snapshot before, after;
	struct mthp_map_panel p[2] = { { "before", &before }, { "after", &after } };
	struct mthp_map_layout l;
	struct png png;
	bool sh;

	(void)state;
	draw_known_pair(file("ba.png"), &before, &after);
	assert_int_equal(mthp_map_layout(p, 2, NULL, &l, NULL, 0), 0);
	png_open(&png, file("ba.png"));
	assert_int_equal(png.width, (int)l.width);
	assert_int_equal(png.height, (int)l.height);
	for (uint32_t i = 0; i < 512; i++) {
		enum mthp_map_class kc = known_class(i, &sh);

		check_cell(&png, &l, 0, 0, i, MTHP_MAP_PMD, false);
		check_cell(&png, &l, 0, 1, i, kc, sh);
		check_cell(&png, &l, 0, 2, i, MTHP_MAP_NONE, false);
		check_cell(&png, &l, 1, 0, i, MTHP_MAP_PMD, false);
		check_cell(&png, &l, 1, 1, i, MTHP_MAP_ORDER(9), false);
		check_cell(&png, &l, 1, 2, i, MTHP_MAP_NONE, false);
	}
	png_close(&png);
	free_pair(&before, &after);
}

static void test_png_one_panel_and_scaled_cells(void **state)
{
	struct mthp_snapshot s;
	struct mthp_map_panel p = { "big", &s };
	struct mthp_map_layout l;
	struct png png;
	char err[256] = "";

	(void)state;
	/* 1300 ranges: 4 pages a cell; range 5 has order-4 folios, shared */
	snap_build_new(&s, 4096, 1300, MTHP_VMA_ANON);
	for (size_t i = 0; i < 1300; i++) {
		snap_table_init(&T, 512);
		if (i == 5) {
			snap_table_put(&T, 0, 256, 'S', 4);
			snap_table_put(&T, 256, 2, 'a', 0);	/* cell 64: tie, order 0 */
		}
		if (i == 7)
			snap_build_add(&s, i, MTHP_PMD_HUGE, NULL);
		else
			snap_build_add(&s, i, MTHP_PMD_TABLE, &T);
	}
	assert_int_equal(mthp_map_render(file("big.png"), &p, 1, NULL, err, sizeof(err)), 0);
	assert_int_equal(mthp_map_layout(&p, 1, NULL, &l, NULL, 0), 0);
	assert_int_equal(l.pages_per_cell, 4);
	assert_int_equal(l.rows[0], 325);
	png_open(&png, file("big.png"));
	for (uint32_t i = 0; i < 512; i += 4) {
		check_cell(&png, &l, 0, 5, i,
			   i < 256 ? MTHP_MAP_ORDER(4) : i == 256 ? MTHP_MAP_ORDER0 : MTHP_MAP_NONE,
			   i < 256);
		check_cell(&png, &l, 0, 7, i, MTHP_MAP_PMD, false);
		check_cell(&png, &l, 0, 1299, i, MTHP_MAP_NONE, false);
	}
	png_close(&png);
	mthp_snapshot_free(&s);
}

static void test_svg_rects_by_colour(void **state)
{
	struct mthp_snapshot before, after;
	struct svg_counts c;
	unsigned want[MTHP_MAP_NR_CLASSES] = { 0 };
	char err[256] = "";

	(void)state;
	draw_known_pair(file("ba.svg"), &before, &after);
	svg_count(file("ba.svg"), &c);
	/* before */
	want[MTHP_MAP_NONE] = 4;
	want[MTHP_MAP_ZERO] = want[MTHP_MAP_SWAP] = want[MTHP_MAP_NO_FOLIO] = 1;
	want[MTHP_MAP_ORDER0] = want[MTHP_MAP_ORDER(2)] = 1;
	want[MTHP_MAP_ORDER(3)] = want[MTHP_MAP_ORDER(4)] = 1;
	want[MTHP_MAP_PMD] = 1;
	want[MTHP_MAP_SHARED] = 2;
	/* after: PMD, the 2M PTE-mapped folio, no table */
	want[MTHP_MAP_PMD]++;
	want[MTHP_MAP_ORDER(9)]++;
	want[MTHP_MAP_NONE]++;
	/* the legend of a 4K geometry: one swatch per class up to order 9 */
	for (unsigned k = 0; k < MTHP_MAP_NR_CLASSES; k++)
		if (k < MTHP_MAP_ORDER(10) || k >= MTHP_MAP_PMD)
			want[k]++;
	for (unsigned k = 0; k < MTHP_MAP_NR_CLASSES; k++)
		if (c.rects[k] != want[k])
			fail_msg("class %u (%06x): %u rects, want %u", k, S.rgb[k],
				 c.rects[k], want[k]);
	assert_int_equal(c.other_rects, 1);	/* the background */
	assert_int_equal(c.regions, 2 * 3);	/* one VMA a panel: bar and 2 ticks */

	/* before alone */
	assert_int_equal(mthp_map_draw(file("b.svg"), &before, NULL, err, sizeof(err)), 0);
	svg_count(file("b.svg"), &c);
	assert_int_equal(c.rects[MTHP_MAP_PMD], 1 + 1);
	assert_int_equal(c.rects[MTHP_MAP_ORDER(9)], 0 + 1);
	assert_int_equal(c.rects[MTHP_MAP_SHARED], 2 + 1);
	assert_int_equal(c.rects[MTHP_MAP_NONE], 4 + 1);
	free_pair(&before, &after);
}

static void test_svg_runs_break_at_rows(void **state)
{
	struct mthp_snapshot s;
	struct mthp_map_panel p = { "64k", &s };
	struct svg_counts c;
	char err[256] = "";

	(void)state;
	/* 64K pages: 16 rows per range; one folio order 13 across all rows */
	snap_build_new(&s, 65536, 1, MTHP_VMA_ANON);
	snap_table_init(&T, 8192);
	snap_table_put(&T, 0, 8192, 's', 13);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	assert_int_equal(mthp_map_render(file("64k.svg"), &p, 1, NULL, err, sizeof(err)), 0);
	svg_count(file("64k.svg"), &c);
	assert_int_equal(c.rects[MTHP_MAP_ORDER(13)], 16 + 1);
	assert_int_equal(c.rects[MTHP_MAP_SHARED], 16 + 1);
	assert_int_equal(c.rects[MTHP_MAP_NONE], 0 + 1);
	mthp_snapshot_free(&s);
}

static void test_compare_with_plot(void **state)
{
	struct mthp_snapshot a, b, d;
	const struct mthp_map_panel p[3] = {
		{ "legacy", &a }, { "seed", &b }, { "upstream", &d },
	};
	const struct mthp_map_point pts[3] = {
		{ "legacy", 0, 1536 }, { "seed", 900, 40 }, { "upstream", 120, 200 },
	};
	const struct mthp_map_plot plot = { "bloat vs TLB (arm64-4k)", NULL, NULL, pts, 3 };
	struct mthp_map_layout l;
	struct svg_counts c;
	struct png png;
	char err[256] = "";
	bool sh;

	(void)state;
	known_before(&a);
	known_after(&b);
	known_before(&d);
	assert_int_equal(mthp_map_render(file("cmp.svg"), p, 3, &plot, err, sizeof(err)), 0);
	svg_count(file("cmp.svg"), &c);
	assert_int_equal(c.rects[MTHP_MAP_PMD], 3 + 1);
	assert_int_equal(c.rects[MTHP_MAP_ORDER(9)], 1 + 1);
	assert_int_equal(c.rects[MTHP_MAP_ORDER(4)], 2 + 1);
	assert_int_equal(c.rects[MTHP_MAP_SHARED], 4 + 1);
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(c.points[k], 1);	/* one point per policy */
	assert_int_equal(c.points[3], 0);

	assert_int_equal(mthp_map_render(file("cmp.png"), p, 3, &plot, err, sizeof(err)), 0);
	assert_int_equal(mthp_map_layout(p, 3, &plot, &l, NULL, 0), 0);
	assert_true(l.has_plot);
	assert_true(l.plot_y >= l.cells_y[2] + l.rows[2] * (S.cell_h + S.row_gap));
	assert_true(l.width <= 1600);
	png_open(&png, file("cmp.png"));
	assert_int_equal(png.height, (int)l.height);
	for (uint32_t i = 0; i < 512; i += 7) {
		enum mthp_map_class kc = known_class(i, &sh);

		check_cell(&png, &l, 2, 1, i, kc, sh);
		check_cell(&png, &l, 1, 1, i, MTHP_MAP_ORDER(9), false);
	}
	png_close(&png);
	mthp_snapshot_free(&a);
	mthp_snapshot_free(&b);
	mthp_snapshot_free(&d);
}

/* ---- regions ---- */

/* Whether any pixel of a box is not the background. */
static bool has_ink(const struct png *p, double x0, double y0, double w, double h)
{
	for (double y = y0; y < y0 + h; y++)
		for (double x = x0; x < x0 + w; x++)
			if (pixel(p, x, y) != S.background)
				return true;
	return false;
}

static void test_regions(void **state)
{
	struct mthp_snapshot s;
	struct mthp_map_region reg[4];
	struct mthp_map_panel p = { "regions", &s, reg, 4 }, bare = { "vmas", &s };
	struct mthp_map_layout l;
	uint32_t first = 99, last = 99;
	double row = S.cell_h + S.row_gap, bar = S.margin + S.name_w - 10;
	struct png png;
	char err[256] = "";
	uint64_t a1, a3, half;

	(void)state;
	snap_build_new(&s, 4096, 4, MTHP_VMA_ANON);
	for (size_t i = 0; i < 4; i++)
		snap_build_add(&s, i, MTHP_PMD_NONE, NULL);
	a1 = snap_build_pmd_addr(&s, 1);
	a3 = snap_build_pmd_addr(&s, 3);
	half = 256 * 4096;
	reg[0] = (struct mthp_map_region){ snap_build_pmd_addr(&s, 0), a1 + half, "heap" };
	reg[1] = (struct mthp_map_region){ a1 + half, a3, "cache" };
	reg[2] = (struct mthp_map_region){ a3 + 20 * 512 * 4096, a3 + 21 * 512 * 4096, "gone" };
	reg[3] = (struct mthp_map_region){ a3 + 5 * 4096, a3 + 6 * 4096, "tail" };
	assert_int_equal(mthp_map_layout(&p, 1, NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(mthp_map_region_rows(&l, &p, 0, 0, &first, &last), 0);
	assert_true(first == 0 && last == 1);
	assert_int_equal(mthp_map_region_rows(&l, &p, 0, 1, &first, &last), 0);
	assert_true(first == 1 && last == 2);	/* ends where range 3 starts */
	assert_int_equal(mthp_map_region_rows(&l, &p, 0, 2, &first, &last), -ENOENT);
	assert_int_equal(mthp_map_region_rows(&l, &p, 0, 3, &first, &last), 0);
	assert_true(first == 3 && last == 3);
	assert_int_equal(mthp_map_region_rows(&l, &p, 0, 4, &first, &last), -EINVAL);
	assert_int_equal(mthp_map_region_rows(&l, &p, 1, 0, &first, &last), -EINVAL);
	/* no regions given: the snapshot's one VMA, all four rows */
	assert_int_equal(mthp_map_region_rows(&l, &bare, 0, 0, &first, &last), 0);
	assert_true(first == 0 && last == 3);
	assert_int_equal(mthp_map_region_rows(&l, &bare, 0, 1, &first, &last), -EINVAL);

	/* the brackets: even regions in the right column, odd ones 4 px left */
	assert_int_equal(mthp_map_render(file("reg.png"), &p, 1, NULL, err, sizeof(err)), 0);
	png_open(&png, file("reg.png"));
	assert_int_equal(pixel(&png, bar, l.cells_y[0] + 5), S.region_rgb);
	assert_int_equal(pixel(&png, bar, l.cells_y[0] + row + 5), S.region_rgb);
	assert_int_equal(pixel(&png, bar, l.cells_y[0] + 2 * row + 5), S.background);
	assert_int_equal(pixel(&png, bar - 4, l.cells_y[0] + 5), S.background);
	assert_int_equal(pixel(&png, bar - 4, l.cells_y[0] + 2 * row + 5), S.region_rgb);
	assert_int_equal(pixel(&png, bar - 4, l.cells_y[0] + 3 * row + 5), S.region_rgb);
	/* names: heap on row 0, cache on row 1 (its first), tail on row 3 */
	for (unsigned r = 0; r < 4; r++)
		assert_int_equal(has_ink(&png, S.margin, l.cells_y[0] + r * row,
					 S.name_w - 16, S.cell_h), r != 2);
	png_close(&png);

	/* bad regions */
	reg[1].end = reg[1].start;
	assert_int_equal(mthp_map_layout(&p, 1, NULL, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'cache' is empty"));
	p.regions = NULL;
	assert_int_equal(mthp_map_layout(&p, 1, NULL, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no array"));
	mthp_snapshot_free(&s);
}

/* ---- errors ---- */

static void test_errors(void **state)
{
	struct mthp_snapshot s, s64;
	struct mthp_map_panel p[9];
	struct mthp_map_point pts[17] = { { "x", 0, 0 } };
	struct mthp_map_plot plot = { NULL, NULL, NULL, pts, 17 };
	char err[256];

	(void)state;
	known_before(&s);
	snap_build_new(&s64, 65536, 1, MTHP_VMA_ANON);
	for (size_t i = 0; i < 9; i++)
		p[i] = (struct mthp_map_panel){ "p", &s };

	/* the file type comes from the name, and the message names the file */
	err[0] = '\0';
	assert_int_equal(mthp_map_draw(file("x.jpg"), &s, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "x.jpg"));
	assert_non_null(strstr(err, ".svg or .png"));
	assert_int_equal(access(file("x.jpg"), F_OK), -1);
	assert_int_equal(mthp_map_draw(file("noext"), &s, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "noext"));
	assert_int_equal(mthp_map_draw(file("x.svg.txt"), &s, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(mthp_map_draw(NULL, &s, NULL, err, sizeof(err)), -EINVAL);
	/* either case of the extension */
	assert_int_equal(mthp_map_draw(file("upper.PNG"), &s, NULL, err, sizeof(err)), 0);

	/* panels */
	assert_int_equal(mthp_map_render(file("x.png"), p, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(mthp_map_render(file("x.png"), p, 9, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too many"));
	p[1].snap = NULL;
	assert_int_equal(mthp_map_render(file("x.png"), p, 2, NULL, err, sizeof(err)), -EINVAL);
	p[1].snap = &s64;
	assert_int_equal(mthp_map_draw(file("x.png"), &s, &s64, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "page size"));
	assert_int_equal(mthp_map_render(file("x.png"), p, 1, &plot, err, sizeof(err)), -EINVAL);

	/* a file that cannot be written */
	assert_int_equal(mthp_map_draw("/nonexistent-dir/x.png", &s, NULL, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "/nonexistent-dir/x.png"));
	assert_int_equal(mthp_map_draw("/nonexistent-dir/x.svg", &s, NULL, err, sizeof(err)), -EIO);
	/* no err buffer is fine */
	assert_int_equal(mthp_map_draw(file("x.gif"), &s, NULL, NULL, 0), -EINVAL);
	mthp_snapshot_free(&s);
	mthp_snapshot_free(&s64);
}

static void test_empty_snapshot(void **state)
{
	struct mthp_snapshot s;
	char err[256] = "";
	struct svg_counts c;

	(void)state;
	mthp_snapshot_init(&s, NULL);
	assert_int_equal(mthp_map_draw(file("empty.svg"), &s, NULL, err, sizeof(err)), 0);
	svg_count(file("empty.svg"), &c);
	assert_int_equal(c.rects[MTHP_MAP_NONE], 1);	/* the legend only */
	assert_int_equal(mthp_map_draw(file("empty.png"), &s, NULL, err, sizeof(err)), 0);
	mthp_snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pte_class),
		cmocka_unit_test(test_palette_distinct),
		cmocka_unit_test(test_cell_class_majority),
		cmocka_unit_test(test_layout_one_page_cells),
		cmocka_unit_test(test_layout_cells_grow),
		cmocka_unit_test(test_png_before_after_pixels),
		cmocka_unit_test(test_png_one_panel_and_scaled_cells),
		cmocka_unit_test(test_svg_rects_by_colour),
		cmocka_unit_test(test_svg_runs_break_at_rows),
		cmocka_unit_test(test_compare_with_plot),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_empty_snapshot),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
