// SPDX-License-Identifier: MIT
/*
 * map.c - the address-space map (include/mthp/map.h): the palette and
 * geometry table, the class of a page and of a cell, the layout, and the
 * drawing with cairo to SVG or PNG: the legend, titled panels of cells
 * with row address labels and named region brackets, and the bloat /
 * TLB-entries plot of a comparison.
 *
 * The picture is drawn top to bottom: legend, panels (each a title over
 * rows of `cols` cells), plot.  All positions come from mthp_map_layout(),
 * which the tests use to find cells and brackets.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cairo.h>

#include <mthp/engine.h>
#include <mthp/map.h>
#include <mthp/snapshot.h>
#include <mthp/tlb.h>

#include "common/msg.h"
#include "report/picture.h"

const struct mthp_map_style mthp_map_style = {
	.rgb = {
		[MTHP_MAP_NONE]		= 0xeeeeee,
		[MTHP_MAP_ZERO]		= 0xfff2a8,
		[MTHP_MAP_SWAP]		= 0xb39ddb,
		[MTHP_MAP_NO_FOLIO]	= 0x8d6e63,
		[MTHP_MAP_ORDER0 + 0]	= 0x90a4ae,
		[MTHP_MAP_ORDER0 + 1]	= 0x80deea,
		[MTHP_MAP_ORDER0 + 2]	= 0x4dd0e1,
		[MTHP_MAP_ORDER0 + 3]	= 0x26a69a,
		[MTHP_MAP_ORDER0 + 4]	= 0x43a047,
		[MTHP_MAP_ORDER0 + 5]	= 0x9ccc65,
		[MTHP_MAP_ORDER0 + 6]	= 0xd4e157,
		[MTHP_MAP_ORDER0 + 7]	= 0xfdd835,
		[MTHP_MAP_ORDER0 + 8]	= 0xffa726,
		[MTHP_MAP_ORDER0 + 9]	= 0xf4511e,
		[MTHP_MAP_ORDER0 + 10]	= 0xe53935,
		[MTHP_MAP_ORDER0 + 11]	= 0xc2185b,
		[MTHP_MAP_ORDER0 + 12]	= 0x8e24aa,
		[MTHP_MAP_ORDER0 + 13]	= 0x5e35b1,
		[MTHP_MAP_PMD]		= 0x1e40c8,
		[MTHP_MAP_SHARED]	= 0x212121,
	},
	.name = {
		[MTHP_MAP_NONE]		= "not present",
		[MTHP_MAP_ZERO]		= "zero page",
		[MTHP_MAP_SWAP]		= "swap",
		[MTHP_MAP_NO_FOLIO]	= "special/uffd",
		[MTHP_MAP_PMD]		= NULL,		/* "PMD 2M" */
		[MTHP_MAP_SHARED]	= "shared (mark)",
	},
	.background = 0xffffff,
	.text = 0x000000,
	.point_rgb = {
		0xd62728, 0x1f77b4, 0x2ca02c, 0x9467bd, 0xff7f0e, 0x17becf,
		0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x393b79, 0x637939,
		0x8c6d31, 0x843c39, 0x7b4173, 0x3182bd,
	},
	.cell_w = 2, .cell_h = 10, .mark_h = 3, .row_gap = 2,
	.cols = 512, .max_rows = 640,
	.margin = 12, .name_w = 148, .label_w = 96, .region_rgb = 0x546e7a,
	.title_h = 24, .panel_gap = 16,
	.legend_item_w = 124, .legend_row_h = 20, .swatch = 12,
	.plot_w = 640, .plot_h = 360,
	.max_pixels = 32000,
};

#define S mthp_map_style

_Static_assert(MTHP_MAP_NR_CLASSES == MTHP_MAP_ORDER0 + MTHP_MAX_PMD_ORDER + 3,
	       "one class per folio order, then PMD and the shared mark");

/* ---- classes ---- */

enum mthp_map_class mthp_map_pte_class(uint8_t state, uint8_t order, bool *shared)
{
	*shared = state == MTHP_PTE_SHARED_YOUNG || state == MTHP_PTE_SHARED_OLD;
	switch (state) {
	case MTHP_PTE_ZERO:
		return MTHP_MAP_ZERO;
	case MTHP_PTE_SWAP:
		return MTHP_MAP_SWAP;
	case MTHP_PTE_SPECIAL:
	case MTHP_PTE_UFFD_WP:
		return MTHP_MAP_NO_FOLIO;
	}
	if (!mthp_pte_state_has_folio(state))
		return MTHP_MAP_NONE;
	if (order > MTHP_MAX_PMD_ORDER)	/* MTHP_NO_FOLIO: lenient, order 0 */
		order = 0;
	return MTHP_MAP_ORDER(order);
}

enum mthp_map_class mthp_map_cell_class(const struct mthp_snapshot *snap,
					 size_t pmd, uint32_t off, uint32_t n,
					 bool *shared)
{
	const struct mthp_snapshot_pmd *p = &snap->pmds[pmd];
	uint32_t count[MTHP_MAP_NR_CLASSES] = { 0 };
	unsigned best = MTHP_MAP_NONE;

	*shared = false;
	if (p->kind == MTHP_PMD_HUGE)
		return MTHP_MAP_PMD;
	if (p->kind == MTHP_PMD_ZERO)
		return MTHP_MAP_ZERO;
	if (p->kind != MTHP_PMD_TABLE || !p->ptes)
		return MTHP_MAP_NONE;
	for (uint32_t i = off; i < off + n; i++) {
		uint8_t order = p->folio_orders ? p->folio_orders[i] : 0;
		bool sh;

		count[mthp_map_pte_class(p->ptes[i], order, &sh)]++;
		*shared |= sh;
	}
	for (unsigned c = 0; c < MTHP_MAP_NR_CLASSES; c++)
		if (count[c] && count[c] >= count[best])
			best = c;
	return (enum mthp_map_class)best;
}

/* Classes in the legend of a geometry, in order; returns how many. */
static unsigned legend_classes(const struct mthp_geometry *geo,
			       enum mthp_map_class *out)
{
	unsigned n = 0;

	for (unsigned c = MTHP_MAP_NONE; c < MTHP_MAP_ORDER0; c++)
		out[n++] = (enum mthp_map_class)c;
	for (unsigned o = 0; o <= geo->pmd_order; o++)
		out[n++] = MTHP_MAP_ORDER(o);
	out[n++] = MTHP_MAP_PMD;
	out[n++] = MTHP_MAP_SHARED;
	return n;
}

static void class_label(const struct mthp_geometry *geo, enum mthp_map_class c,
			char *buf, size_t len)
{
	char size[16];

	if (c == MTHP_MAP_PMD) {
		mthp_tlb_size_label(mthp_pmd_size(geo), size, sizeof(size));
		snprintf(buf, len, "PMD %s", size);
	} else if (c >= MTHP_MAP_ORDER0 && c < MTHP_MAP_PMD) {
		mthp_tlb_size_label((uint64_t)geo->page_size << (c - MTHP_MAP_ORDER0),
				    size, sizeof(size));
		snprintf(buf, len, "%s (o%u)", size, (unsigned)(c - MTHP_MAP_ORDER0));
	} else {
		snprintf(buf, len, "%s", S.name[c]);
	}
}

/* ---- layout ---- */

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static double row_h(void)
{
	return S.cell_h + S.row_gap;
}

static uint32_t panel_rows(const struct mthp_snapshot *s, uint32_t pages_per_cell)
{
	return (uint32_t)div_up((uint64_t)s->nr_pmds * (s->geo.ptes_per_pmd / pages_per_cell),
				S.cols);
}

/* The rows of all panels at a scale. */
static uint64_t total_rows(const struct mthp_map_panel *panels, size_t n,
			   uint32_t pages_per_cell)
{
	uint64_t rows = 0;

	for (size_t i = 0; i < n; i++)
		rows += div_up((uint64_t)panels[i].snap->nr_pmds *
			       (panels[i].snap->geo.ptes_per_pmd / pages_per_cell), S.cols);
	return rows;
}

static int check_panels(const struct mthp_map_panel *panels, size_t nr_panels,
			char *err, size_t errlen)
{
	if (!panels || !nr_panels || nr_panels > MTHP_MAP_MAX_PANELS) {
		mthp_msg(err, errlen, "map: %s panels (1 to %d)",
			nr_panels ? "too many" : "no", MTHP_MAP_MAX_PANELS);
		return -EINVAL;
	}
	for (size_t i = 0; i < nr_panels; i++) {
		const struct mthp_map_panel *p = &panels[i];

		if (!p->snap) {
			mthp_msg(err, errlen, "map: panel '%s' has no snapshot",
				p->title ? p->title : "");
			return -EINVAL;
		}
		if (i && p->snap->geo.page_size != panels[0].snap->geo.page_size) {
			mthp_msg(err, errlen, "map: panel '%s' has another page size than '%s'",
				p->title ? p->title : "",
				panels[0].title ? panels[0].title : "");
			return -EINVAL;
		}
		if (p->nr_regions && !p->regions) {
			mthp_msg(err, errlen, "map: panel '%s' has %zu regions and no array",
				p->title ? p->title : "", p->nr_regions);
			return -EINVAL;
		}
		for (size_t r = 0; r < p->nr_regions; r++) {
			if (p->regions[r].start >= p->regions[r].end) {
				mthp_msg(err, errlen, "map: panel '%s': region '%s' is empty",
					p->title ? p->title : "",
					p->regions[r].name ? p->regions[r].name : "");
				return -EINVAL;
			}
		}
	}
	return 0;
}

int mthp_map_layout(const struct mthp_map_panel *panels, size_t nr_panels,
		    const struct mthp_map_plot *plot, struct mthp_map_layout *l,
		    char *err, size_t errlen)
{
	enum mthp_map_class legend[MTHP_MAP_NR_CLASSES];
	unsigned nr_legend, legend_rows;
	double y;
	int ret;

	ret = check_panels(panels, nr_panels, err, errlen);
	if (ret)
		return ret;
	if (plot && (plot->nr_points > MTHP_MAP_MAX_POINTS ||
		     (plot->nr_points && !plot->points))) {
		mthp_msg(err, errlen, "map: the plot needs 0 to %d points",
			MTHP_MAP_MAX_POINTS);
		return -EINVAL;
	}
	memset(l, 0, sizeof(*l));
	l->geo = panels[0].snap->geo;
	l->pages_per_cell = 1;
	while (total_rows(panels, nr_panels, l->pages_per_cell) > S.max_rows &&
	       l->pages_per_cell < l->geo.ptes_per_pmd)
		l->pages_per_cell <<= 1;
	if (total_rows(panels, nr_panels, l->pages_per_cell) > S.max_pixels) {
		mthp_msg(err, errlen, "map: %" PRIu64 " rows even at one cell per PMD range, "
			"too many to draw", total_rows(panels, nr_panels, l->pages_per_cell));
		return -EFBIG;
	}
	l->nr_panels = nr_panels;
	l->has_plot = plot != NULL;
	l->width = 2.0 * S.margin + S.name_w + S.label_w + (double)S.cols * S.cell_w;
	if (l->has_plot && 2.0 * S.margin + S.plot_w > l->width)
		l->width = 2.0 * S.margin + S.plot_w;
	l->cells_x = S.margin + S.name_w + S.label_w;
	/* the legend first, so that it is seen before the rows it explains */
	nr_legend = legend_classes(&l->geo, legend);
	l->legend_per_row = (unsigned)((l->width - 2 * S.margin) / S.legend_item_w);
	if (!l->legend_per_row)
		l->legend_per_row = 1;
	legend_rows = (nr_legend + l->legend_per_row - 1) / l->legend_per_row;
	l->legend_y = S.margin;
	y = l->legend_y + legend_rows * (double)S.legend_row_h + S.margin;
	for (size_t i = 0; i < nr_panels; i++) {
		l->rows[i] = panel_rows(panels[i].snap, l->pages_per_cell);
		l->nr_pmds[i] = panels[i].snap->nr_pmds;
		l->cells_y[i] = y + S.title_h;
		y = l->cells_y[i] + l->rows[i] * row_h() + S.panel_gap;
	}
	l->height = y;
	if (l->has_plot) {
		l->plot_x = S.margin;
		l->plot_y = l->height;
		l->height = l->plot_y + S.plot_h;
	}
	l->height += S.margin;
	if (l->width > S.max_pixels || l->height > S.max_pixels) {
		mthp_msg(err, errlen, "map: the picture would be %.0f x %.0f pixels, more than %u",
			l->width, l->height, S.max_pixels);
		return -EFBIG;
	}
	return 0;
}

int mthp_map_cell_xy(const struct mthp_map_layout *l, size_t panel, size_t pmd,
		     uint32_t pte, double *x, double *y)
{
	uint32_t n = l->geo.ptes_per_pmd;
	uint64_t g;

	if (panel >= l->nr_panels || pmd >= l->nr_pmds[panel] || pte >= n ||
	    !l->pages_per_cell)
		return -EINVAL;
	g = (uint64_t)pmd * (n / l->pages_per_cell) + pte / l->pages_per_cell;
	*x = l->cells_x + (double)(g % S.cols) * S.cell_w;
	*y = l->cells_y[panel] + (double)(g / S.cols) * row_h();
	return 0;
}

/* ---- regions ---- */

/* Region r of a panel: given, or the snapshot's VMA r as "vma r+1". */
static bool panel_region(const struct mthp_map_panel *p, size_t r, uint64_t *start,
			 uint64_t *end, char *name, size_t len)
{
	if (p->regions) {
		if (r >= p->nr_regions)
			return false;
		*start = p->regions[r].start;
		*end = p->regions[r].end;
		snprintf(name, len, "%s", p->regions[r].name ? p->regions[r].name : "");
		return true;
	}
	if (r >= p->snap->nr_vmas)
		return false;
	*start = p->snap->vmas[r].start;
	*end = p->snap->vmas[r].end;
	snprintf(name, len, "vma %zu", r + 1);
	return true;
}

static size_t panel_nr_regions(const struct mthp_map_panel *p)
{
	return p->regions ? p->nr_regions : p->snap->nr_vmas;
}

/* The row (of its panel) holding page addr of pmd number k at pmd_addr. */
static uint32_t page_row(const struct mthp_map_layout *l, size_t k, uint64_t pmd_addr,
			 uint64_t addr)
{
	uint32_t per_pmd = l->geo.ptes_per_pmd / l->pages_per_cell;
	uint64_t pte = (addr - pmd_addr) / l->geo.page_size;

	return (uint32_t)(((uint64_t)k * per_pmd + pte / l->pages_per_cell) / S.cols);
}

int mthp_map_region_rows(const struct mthp_map_layout *l,
			 const struct mthp_map_panel *panels, size_t panel,
			 size_t r, uint32_t *first, uint32_t *last)
{
	const struct mthp_snapshot *snap;
	uint64_t start, end, pmd_size;
	char name[8];
	bool found = false;

	if (panel >= l->nr_panels || !panels[panel].snap)
		return -EINVAL;
	snap = panels[panel].snap;
	if (!panel_region(&panels[panel], r, &start, &end, name, sizeof(name)))
		return -EINVAL;
	pmd_size = mthp_pmd_size(&l->geo);
	for (size_t k = 0; k < snap->nr_pmds; k++) {
		uint64_t a = snap->pmds[k].addr, lo, hi;

		if (a >= end || a + pmd_size <= start)
			continue;
		lo = start > a ? start : a;
		hi = (end < a + pmd_size ? end : a + pmd_size) - 1;
		if (!found)
			*first = page_row(l, k, a, lo);
		*last = page_row(l, k, a, hi);
		found = true;
	}
	return found ? 0 : -ENOENT;
}

/* ---- drawing ---- */

static void set_rgb(cairo_t *cr, uint32_t rgb)
{
	picture_rgb(cr, rgb);
}

static void fill_rect(cairo_t *cr, uint32_t rgb, double x, double y, double w, double h)
{
	picture_fill_rect(cr, rgb, x, y, w, h);
}

static void text_at(cairo_t *cr, double x, double y, double size, bool bold,
		    const char *s)
{
	picture_text(cr, x, y, size, bold, S.text, s);
}

/* A run of cells of one class (or of shared marks) in one row of one pmd. */
struct run {
	bool open;
	uint32_t rgb;
	double x, y, h;
	uint32_t len;
};

static void run_flush(cairo_t *cr, struct run *r)
{
	if (r->open)
		fill_rect(cr, r->rgb, r->x, r->y, (double)r->len * S.cell_w, r->h);
	r->open = false;
}

static void run_add(cairo_t *cr, struct run *r, bool row_start, uint32_t rgb,
		    double x, double y, double h)
{
	if (r->open && (row_start || r->rgb != rgb))
		run_flush(cr, r);
	if (!r->open)
		*r = (struct run){ true, rgb, x, y, h, 0 };
	r->len++;
}

/* Draw the cells of one pmd; runs break at row ends and the pmd's end. */
static void draw_pmd(cairo_t *cr, const struct mthp_map_layout *l, size_t panel,
		     const struct mthp_snapshot *snap, size_t pmd)
{
	uint32_t ppc = l->pages_per_cell, cells = l->geo.ptes_per_pmd / ppc;
	double row_x = l->cells_x;
	struct run cls = { 0 }, mark = { 0 };

	for (uint32_t j = 0; j < cells; j++) {
		enum mthp_map_class c;
		bool shared, row_start;
		double x, y;

		c = mthp_map_cell_class(snap, pmd, j * ppc, ppc, &shared);
		if (mthp_map_cell_xy(l, panel, pmd, j * ppc, &x, &y))
			break;
		row_start = x == row_x;
		/* a pmd that starts inside a row: a tick under its first cell */
		if (j == 0 && !row_start)
			fill_rect(cr, S.text, x - 1, y + S.cell_h, 1, S.row_gap);
		run_add(cr, &cls, row_start, S.rgb[c], x, y, S.cell_h);
		if (mark.open && (row_start || !shared))
			run_flush(cr, &mark);
		if (shared)
			run_add(cr, &mark, row_start, S.rgb[MTHP_MAP_SHARED], x,
				y + S.cell_h - S.mark_h, S.mark_h);
	}
	run_flush(cr, &cls);
	run_flush(cr, &mark);
}

/* Text cut (ending "...") to fit width w. */
static void text_fit(cairo_t *cr, double x, double y, double size, bool bold,
		     const char *s, double w)
{
	char buf[80];
	size_t keep;

	snprintf(buf, sizeof(buf), "%s", s);
	keep = strlen(buf);
	while (keep > 0 && picture_text_width(cr, size, bold, buf) > w) {
		keep--;
		snprintf(buf, sizeof(buf), "%.*s...", (int)keep, s);
	}
	text_at(cr, x, y, size, bold, buf);
}

/*
 * The regions of a panel: a bracket (a bar, a tick at each end) over the
 * rows each covers, alternating between two columns so that neighbours
 * sharing a row stay apart; the name at the top of the bracket, or on the
 * next row of the region when an earlier name took that row.
 */
static void draw_regions(cairo_t *cr, const struct mthp_map_layout *l, size_t i,
			 const struct mthp_map_panel *panels)
{
	double bar_x = S.margin + S.name_w - 10, name_w = S.name_w - 16;
	int64_t named_row = -1;
	char name[64];

	for (size_t r = 0; r < panel_nr_regions(&panels[i]); r++) {
		uint64_t start, end;
		uint32_t first, last;
		double x = bar_x - (double)(r % 2) * 4, y0, y1;

		panel_region(&panels[i], r, &start, &end, name, sizeof(name));
		if (mthp_map_region_rows(l, panels, i, r, &first, &last))
			continue;
		y0 = l->cells_y[i] + first * row_h();
		y1 = l->cells_y[i] + last * row_h() + S.cell_h;
		fill_rect(cr, S.region_rgb, x, y0, 2, y1 - y0);
		fill_rect(cr, S.region_rgb, x, y0, 6, 1);
		fill_rect(cr, S.region_rgb, x, y1 - 1, 6, 1);
		if ((int64_t)first <= named_row)
			first = (uint32_t)(named_row + 1);
		if (first > last)
			continue;
		text_fit(cr, S.margin, l->cells_y[i] + first * row_h() + S.cell_h - 1,
			 11, false, name, name_w);
		named_row = first;
	}
}

/* The address of the first page of row r of a panel. */
static uint64_t row_addr(const struct mthp_map_layout *l,
			 const struct mthp_snapshot *snap, uint32_t r)
{
	uint32_t per_pmd = l->geo.ptes_per_pmd / l->pages_per_cell;
	uint64_t g = (uint64_t)r * S.cols;
	const struct mthp_snapshot_pmd *p = &snap->pmds[g / per_pmd];

	return p->addr + (g % per_pmd) * l->pages_per_cell * (uint64_t)l->geo.page_size;
}

static void draw_panel(cairo_t *cr, const struct mthp_map_layout *l, size_t i,
		       const struct mthp_map_panel *panels)
{
	const struct mthp_map_panel *panel = &panels[i];
	const struct mthp_snapshot *snap = panel->snap;
	double x = S.margin + S.name_w;
	char buf[160], size[16];

	mthp_tlb_size_label((uint64_t)l->pages_per_cell * l->geo.page_size,
			    size, sizeof(size));
	snprintf(buf, sizeof(buf), "%s  (%zu PMD ranges, 1 cell = %s)",
		 panel->title ? panel->title : "", snap->nr_pmds, size);
	text_at(cr, S.margin, l->cells_y[i] - 8, 14, true, buf);
	for (uint32_t r = 0; r < l->rows[i]; r++) {
		snprintf(buf, sizeof(buf), "%" PRIx64, row_addr(l, snap, r));
		text_at(cr, x, l->cells_y[i] + r * row_h() + S.cell_h - 1, 9, false, buf);
	}
	draw_regions(cr, l, i, panels);
	for (size_t p = 0; p < snap->nr_pmds; p++)
		draw_pmd(cr, l, i, snap, p);
}

static void draw_legend(cairo_t *cr, const struct mthp_map_layout *l)
{
	enum mthp_map_class legend[MTHP_MAP_NR_CLASSES];
	unsigned n = legend_classes(&l->geo, legend);
	char label[48];

	for (unsigned k = 0; k < n; k++) {
		double x = S.margin + (double)(k % l->legend_per_row) * S.legend_item_w;
		double y = l->legend_y + (double)(k / l->legend_per_row) * S.legend_row_h;

		fill_rect(cr, S.rgb[legend[k]], x, y, S.swatch, S.swatch);
		class_label(&l->geo, legend[k], label, sizeof(label));
		text_at(cr, x + S.swatch + 5, y + S.swatch - 1, 12, false, label);
	}
}

static void draw_plot(cairo_t *cr, const struct mthp_map_layout *l,
		      const struct mthp_map_plot *plot)
{
	double x0 = l->plot_x + 70, y0 = l->plot_y + 28;
	double w = S.plot_w - 100, h = S.plot_h - 70;
	double xmax = 0, ymax = 0;
	char buf[64];

	for (size_t i = 0; i < plot->nr_points; i++) {
		if (plot->points[i].bloat > xmax)
			xmax = plot->points[i].bloat;
		if (plot->points[i].tlb > ymax)
			ymax = plot->points[i].tlb;
	}
	xmax = xmax > 0 ? xmax * 1.15 : 1;
	ymax = ymax > 0 ? ymax * 1.15 : 1;
	text_at(cr, l->plot_x, l->plot_y + 14, 13, true,
		plot->title ? plot->title : "bloat against TLB entries");
	/* axes: a frame, end ticks labelled */
	set_rgb(cr, S.text);
	cairo_set_line_width(cr, 1);
	cairo_rectangle(cr, x0 + 0.5, y0 + 0.5, w, h);
	cairo_stroke(cr);
	text_at(cr, x0 - 8, y0 + h + 14, 10, false, "0");
	snprintf(buf, sizeof(buf), "%.0f", xmax);
	text_at(cr, x0 + w - 20, y0 + h + 14, 10, false, buf);
	snprintf(buf, sizeof(buf), "%.0f", ymax);
	text_at(cr, l->plot_x, y0 + 10, 10, false, buf);
	text_at(cr, x0 + w / 2 - 60, y0 + h + 30, 11, false,
		plot->x_label ? plot->x_label : "pages filled by collapse");
	text_at(cr, l->plot_x, y0 + h / 2, 11, false,
		plot->y_label ? plot->y_label : "TLB entries");
	for (size_t i = 0; i < plot->nr_points; i++) {
		const struct mthp_map_point *pt = &plot->points[i];
		double px = x0 + pt->bloat / xmax * w, py = y0 + h - pt->tlb / ymax * h;

		set_rgb(cr, S.point_rgb[i]);
		cairo_arc(cr, px, py, 4, 0, 6.283185307179586);
		cairo_fill(cr);
		snprintf(buf, sizeof(buf), "%s (%.0f, %.0f)",
			 pt->label ? pt->label : "", pt->bloat, pt->tlb);
		text_at(cr, px + 7, py - 5, 10, false, buf);
	}
}

static void draw_all(cairo_t *cr, const struct mthp_map_layout *l,
		     const struct mthp_map_panel *panels,
		     const struct mthp_map_plot *plot)
{
	set_rgb(cr, S.background);
	cairo_paint(cr);
	for (size_t i = 0; i < l->nr_panels; i++)
		draw_panel(cr, l, i, panels);
	draw_legend(cr, l);
	if (plot)
		draw_plot(cr, l, plot);
}

struct render {
	const struct mthp_map_layout *l;
	const struct mthp_map_panel *panels;
	const struct mthp_map_plot *plot;
};

static void draw_render(cairo_t *cr, void *ctx)
{
	const struct render *r = ctx;

	draw_all(cr, r->l, r->panels, r->plot);
}

int mthp_map_render(const char *path, const struct mthp_map_panel *panels,
		    size_t nr_panels, const struct mthp_map_plot *plot,
		    char *err, size_t errlen)
{
	struct mthp_map_layout l;
	struct render r = { &l, panels, plot };
	int ret;

	if (!picture_name_ok(path)) {
		mthp_msg(err, errlen,
			"%s: unknown picture type: the file name must end in .svg or .png",
			path ? path : "(null)");
		return -EINVAL;
	}
	ret = mthp_map_layout(panels, nr_panels, plot, &l, err, errlen);
	if (ret)
		return ret;
	return picture_write(path, l.width, l.height, draw_render, &r, err, errlen);
}

int mthp_map_draw(const char *path, const struct mthp_snapshot *before,
		  const struct mthp_snapshot *after, char *err, size_t errlen)
{
	const struct mthp_map_panel panels[2] = {
		{ "before", before },
		{ "after", after },
	};

	return mthp_map_render(path, panels, after ? 2 : 1, NULL, err, errlen);
}
