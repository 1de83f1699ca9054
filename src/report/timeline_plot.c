// SPDX-License-Identifier: MIT
/*
 * timeline_plot.c - `mthp sim --timeline`: resident memory (top) and TLB
 * entries (bottom) over simulated time, one line per run, both axes from
 * 0, the runs' colours as in the sweep chart and named in a legend.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "report/picture.h"
#include "report/sim_report.h"

#define W 1200.0
#define LEFT 100.0
#define PANEL_W 1060.0
#define PANEL_H 300.0
#define TOP 70.0
#define GAP 80.0
#define TEXT 0x222222u
#define GRID 0xdddddd

struct timeline {
	const char *title, *profile;
	const struct mthp_run_report *runs;
	size_t n;
	double mib_per_page;
	double tmax;
};

static uint32_t colour(const struct mthp_run_report *r)
{
	return picture_run_rgb(r->policy);
}

static double value(const struct timeline *t, const struct mthp_run_sample *s, int which)
{
	return which ? (double)s->tlb_entries : (double)s->resident_pages * t->mib_per_page;
}

/* A round step of about a fifth of max: 1, 2 or 5 times a power of ten. */
static double step_of(double max)
{
	double raw = max / 5, p = pow(10, floor(log10(raw))), m = raw / p;

	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void panel(cairo_t *cr, const struct timeline *t, int which, double y0)
{
	double ymax = 0, ystep, tstep = step_of(t->tmax);
	char buf[64];

	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->runs[i].nr_samples; k++)
			ymax = fmax(ymax, value(t, &t->runs[i].timeline[k], which));
	ymax = ymax > 0 ? ymax * 1.1 : 1;
	ystep = step_of(ymax);
	for (double v = 0; v <= ymax + 1e-9; v += ystep) {
		double y = y0 + PANEL_H - v / ymax * PANEL_H;

		picture_fill_rect(cr, GRID, LEFT, floor(y), PANEL_W, 1);
		snprintf(buf, sizeof(buf), which ? "%.0f" : "%.1f", v);
		picture_text(cr, LEFT - 8 - picture_text_width(cr, 12, false, buf), y + 4, 12,
			     false, TEXT, buf);
	}
	for (double v = 0; v <= t->tmax + 1e-9; v += tstep) {
		double x = LEFT + v / t->tmax * PANEL_W;

		picture_fill_rect(cr, GRID, floor(x), y0, 1, PANEL_H);
		snprintf(buf, sizeof(buf), "%g s", v);
		picture_text(cr, x - picture_text_width(cr, 12, false, buf) / 2,
			     y0 + PANEL_H + 18, 12, false, TEXT, buf);
	}
	snprintf(buf, sizeof(buf), which ? "TLB entries (%s)" : "resident memory, MiB",
		 t->profile);
	picture_text(cr, LEFT, y0 - 10, 14, true, TEXT, buf);
	cairo_new_path(cr);
	picture_rgb(cr, TEXT);
	cairo_set_line_width(cr, 1);
	cairo_rectangle(cr, LEFT + 0.5, y0 + 0.5, PANEL_W, PANEL_H);
	cairo_stroke(cr);
	for (size_t i = 0; i < t->n; i++) {
		const struct mthp_run_report *r = &t->runs[i];

		cairo_new_path(cr);
		picture_rgb(cr, colour(r));
		cairo_set_line_width(cr, 2.5);
		for (size_t k = 0; k < r->nr_samples; k++) {
			double x = LEFT + (double)r->timeline[k].ns / 1e9 / t->tmax * PANEL_W;
			double y = y0 + PANEL_H - value(t, &r->timeline[k], which) / ymax * PANEL_H;

			if (k)
				cairo_line_to(cr, x, y);
			else
				cairo_move_to(cr, x, y);
		}
		cairo_stroke(cr);
	}
}

static void draw(cairo_t *cr, void *ctx)
{
	const struct timeline *t = ctx;
	double y = TOP + 2 * (PANEL_H + GAP);

	picture_rgb(cr, 0xffffff);
	cairo_paint(cr);
	picture_text(cr, 30, 28, 17, true, TEXT, t->title);
	panel(cr, t, 0, TOP);
	panel(cr, t, 1, TOP + PANEL_H + GAP);
	for (size_t i = 0; i < t->n; i++) {
		double x = LEFT + (double)i * 200;

		picture_fill_rect(cr, colour(&t->runs[i]), x, y - 10, 24, 5);
		picture_text(cr, x + 30, y - 4, 13, false, TEXT, mthp_run_name(t->runs[i].policy));
	}
}

int mthp_timeline_plot(const char *path, const char *title, const char *profile,
		       const struct mthp_run_report *runs, size_t n, uint32_t page_size,
		       char *err, size_t errlen)
{
	struct timeline t = { title, profile, runs, n, (double)page_size / 1048576.0, 0 };

	for (size_t i = 0; i < n; i++)
		if (runs[i].nr_samples)
			t.tmax = fmax(t.tmax, (double)runs[i].timeline[runs[i].nr_samples - 1].ns / 1e9);
	if (t.tmax <= 0)
		t.tmax = 1;
	return picture_write(path, W, TOP + 2 * (PANEL_H + GAP) + 20, draw, &t, err, errlen);
}
