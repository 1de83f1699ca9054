/* SPDX-License-Identifier: MIT */
/*
 * mthp/map.h - the address-space map: pictures of snapshots (cairo), one
 * cell per base page or per aligned block of pages, coloured by the order
 * of the folio mapping it, PMD ranges in rows labelled by address.
 *
 * One call draws one file: "before" and optionally "after" below it
 * (mthp_map_draw), or any number of titled snapshots stacked top to
 * bottom with, below them, a plot of bloat (x) against TLB entries (y),
 * one labelled point per policy (mthp_map_render; the `--compare`
 * picture).  The file type follows the name: ".svg" or ".png" (either
 * case); anything else is -EINVAL with a message naming the file.
 *
 * Layout, in one table (mthp_map_style), top to bottom: the legend, then
 * each panel (its title, then its rows), then the plot.  Every panel has
 * rows of `cols` cells; the cells of a snapshot are laid out in pmd
 * order, a row holding cols cells (a 512-PTE table fills one row; a
 * 8192-PTE one, 16 rows).  Left of the rows: the address of each row's
 * first page, and left of that the panel's regions (its VMAs), each a
 * bracket over the rows it covers with its name at the top.  A cell is 1
 * page unless all panels together would need more than max_rows rows:
 * then pages_per_cell doubles (up to one cell per PMD range) until they
 * fit; every panel of a picture uses the same scale.  A cell of several
 * pages takes the class that covers most of its pages (ties go to the
 * larger class: a later entry of enum mthp_map_class), and carries the
 * shared mark when any of its pages is shared ('S', 's').
 *
 * Drawing: the cells of a row of one PMD range are drawn as one filled
 * rectangle per run of cells of the same class, and one shared-mark
 * rectangle (the bottom mark_h pixels) per run of shared cells; the legend
 * has one swatch per class of the geometry; a region's bracket is three
 * rectangles of region_rgb (a bar and two ticks).  Nothing else is filled
 * with a palette colour.  Functions return 0 or -errno and never set errno; on
 * error a message goes to err (when errlen > 0).
 */
#ifndef MTHP_MAP_H
#define MTHP_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mthp/settings.h>

struct mthp_snapshot;

/* What a cell shows; also the palette index. */
enum mthp_map_class {
	MTHP_MAP_NONE,		/* '.', no table, or no pmd line */
	MTHP_MAP_ZERO,		/* '0': the shared zero page; a huge zero PMD */
	MTHP_MAP_SWAP,		/* 'w' */
	MTHP_MAP_NO_FOLIO,	/* 'n' special, 'u' uffd-wp */
	MTHP_MAP_ORDER0,	/* a folio of order o is MTHP_MAP_ORDER0 + o */
	MTHP_MAP_PMD = MTHP_MAP_ORDER0 + MTHP_MAX_PMD_ORDER + 1,	/* huge PMD */
	MTHP_MAP_SHARED,	/* the mark on shared cells, not a cell class */
};
#define MTHP_MAP_NR_CLASSES (MTHP_MAP_SHARED + 1)
#define MTHP_MAP_ORDER(o) ((enum mthp_map_class)(MTHP_MAP_ORDER0 + (o)))

#define MTHP_MAP_MAX_PANELS 8
#define MTHP_MAP_MAX_POINTS 16

/* The palette and the geometry of a picture, in pixels. */
struct mthp_map_style {
	uint32_t rgb[MTHP_MAP_NR_CLASSES];	/* 0xRRGGBB by class */
	const char *name[MTHP_MAP_NR_CLASSES];	/* legend words; NULL: a size */
	uint32_t background, text;		/* 0xRRGGBB, not in rgb[] */
	uint32_t point_rgb[MTHP_MAP_MAX_POINTS];	/* plot points, in order */
	unsigned cell_w, cell_h;	/* one cell */
	unsigned mark_h;		/* the shared mark: bottom of the cell */
	unsigned row_gap;		/* between rows; range ticks are drawn here */
	unsigned cols;			/* cells per row */
	unsigned max_rows;		/* rows of all panels before cells grow */
	unsigned margin;		/* around everything */
	unsigned name_w;		/* region names and brackets, leftmost */
	unsigned label_w;		/* address labels left of the rows */
	uint32_t region_rgb;		/* the region brackets */
	unsigned title_h;		/* panel titles */
	unsigned panel_gap;		/* below each panel */
	unsigned legend_item_w, legend_row_h, swatch;	/* the legend */
	unsigned plot_w, plot_h;	/* the bloat / TLB plot */
	unsigned max_pixels;		/* width or height beyond this: -EFBIG */
};
extern const struct mthp_map_style mthp_map_style;

/* A named address range of a panel: a VMA ("heap", "service/cache"). */
struct mthp_map_region {
	uint64_t start, end;	/* [start, end) */
	const char *name;
};

/*
 * One panel: a title over a snapshot, and the regions named beside it.
 * With no regions, the snapshot's VMAs are the regions, named "vma 1",
 * "vma 2", ... in order.
 */
struct mthp_map_panel {
	const char *title;
	const struct mthp_snapshot *snap;
	const struct mthp_map_region *regions;	/* in address order, or NULL */
	size_t nr_regions;
};

/* One plot point: a policy's bloat (pages filled) and TLB entries. */
struct mthp_map_point {
	const char *label;
	double bloat;
	double tlb;
};

struct mthp_map_plot {
	const char *title;	/* e.g. "bloat vs TLB entries (arm64-4k)" */
	const char *x_label;	/* NULL: "pages filled by collapse" */
	const char *y_label;	/* NULL: "TLB entries" */
	const struct mthp_map_point *points;
	size_t nr_points;	/* at most MTHP_MAP_MAX_POINTS */
};

/* Where everything goes; computed by mthp_map_layout(). */
struct mthp_map_layout {
	struct mthp_geometry geo;
	uint32_t pages_per_cell;
	size_t nr_panels;
	size_t nr_pmds[MTHP_MAP_MAX_PANELS];	/* pmds of each panel */
	uint32_t rows[MTHP_MAP_MAX_PANELS];	/* rows of each panel */
	double cells_x;		/* left of the first cell of every row */
	double cells_y[MTHP_MAP_MAX_PANELS];	/* top of each panel's first row */
	double legend_y;
	unsigned legend_per_row;
	bool has_plot;
	double plot_x, plot_y;
	double width, height;
};

/* The class of one PTE of a table; *shared set for 'S' and 's'. */
enum mthp_map_class mthp_map_pte_class(uint8_t state, uint8_t order, bool *shared);

/*
 * The class of the cell of pages [off, off + n) of a snapshot pmd (n a
 * power of two dividing ptes_per_pmd), by the majority rule above.
 */
enum mthp_map_class mthp_map_cell_class(const struct mthp_snapshot *snap,
					 size_t pmd, uint32_t off, uint32_t n,
					 bool *shared);

/* Lay out panels (and the plot, when not NULL); -EINVAL, -EFBIG. */
int mthp_map_layout(const struct mthp_map_panel *panels, size_t nr_panels,
		    const struct mthp_map_plot *plot, struct mthp_map_layout *l,
		    char *err, size_t errlen);

/* Top-left pixel of the cell holding PTE pte of pmd number pmd; -EINVAL. */
int mthp_map_cell_xy(const struct mthp_map_layout *l, size_t panel, size_t pmd,
		     uint32_t pte, double *x, double *y);

/*
 * The rows (0 is the panel's first) the bracket of region r of a panel
 * spans: every row holding one of its pages.  -ENOENT when the snapshot
 * has no page of the region (nothing is drawn for it), -EINVAL for a bad
 * panel or region.
 */
int mthp_map_region_rows(const struct mthp_map_layout *l,
			 const struct mthp_map_panel *panels, size_t panel,
			 size_t r, uint32_t *first, uint32_t *last);

/*
 * Draw panels, top to bottom in order, and the plot below them when plot
 * is not NULL.  -EINVAL (bad file name, no panels, more than
 * MTHP_MAP_MAX_PANELS, geometries that differ), -EFBIG, -EIO.
 */
int mthp_map_render(const char *path, const struct mthp_map_panel *panels,
		    size_t nr_panels, const struct mthp_map_plot *plot,
		    char *err, size_t errlen);

/* "before" and, when after is not NULL, "after" below it. */
int mthp_map_draw(const char *path, const struct mthp_snapshot *before,
		  const struct mthp_snapshot *after, char *err, size_t errlen);

#endif /* MTHP_MAP_H */
