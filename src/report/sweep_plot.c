// SPDX-License-Identifier: MIT
/*
 * sweep_plot.c - the Pareto chart of a sweep: memory increase over the
 * baseline (x, percent) against TLB entries (y), both axes from 0, one
 * marker per run (its colour the policy, filled when on the front), the
 * front drawn as a line, and each point numbered as the run's row of
 * the text table; the key below the chart gives every number its policy
 * and setting.  Runs that land on one point share one label ("3, 7").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/picture.h"
#include "report/sweep_report.h"

#define W 1200.0
#define PLOT_X 90.0		/* left of the plot area */
#define PLOT_Y 70.0
#define PLOT_W 1060.0
#define PLOT_H 560.0
#define KEY_Y (PLOT_Y + PLOT_H + 95.0)
#define MAX_LABELS 512
#define KEY_ROW 17.0
#define KEY_FONT 11.5
#define TEXT 0x222222u
#define GRID 0xdddddd
#define FRONT 0xc0392bu

static const uint32_t policy_rgb[1 + MTHP_NR_POLICIES] = {
	0x7f8c8d,	/* no collapse */
	0x2e6fd8,	/* legacy */
	0xe67e22,	/* seed */
	0x27ae60,	/* upstream */
};

/* Label boxes placed so far, so that no two labels overlap. */
struct boxes {
	double x[MAX_LABELS], y[MAX_LABELS], w[MAX_LABELS];
	size_t n;
};

struct plot {
	const struct mthp_sweep *sw;
	double budget;
	double xmin, xmax, ymax;	/* percent; entries */
	size_t key_rows, key_cols;
	size_t *order;		/* front runs by memory, for the line */
	size_t nr_front;
	struct boxes labels;
};

#define LABEL_H 14.0

static bool box_free(const struct boxes *b, double x, double y, double w)
{
	for (size_t i = 0; i < b->n; i++)
		if (x < b->x[i] + b->w[i] && b->x[i] < x + w && y - LABEL_H < b->y[i] &&
		    b->y[i] - LABEL_H < y)
			return false;
	return true;
}

/*
 * Where the label of a point at (x, y) goes: right of it, or left when it
 * would leave the plot, moved down (then up) a line at a time until it
 * overlaps no earlier label.
 */
static void place_label(struct boxes *b, double x, double y, double w, double *lx, double *ly)
{
	*lx = x + 8 + w > PLOT_X + PLOT_W ? x - 8 - w : x + 8;
	*ly = y - 6;
	for (int k = 1; k < 40 && !box_free(b, *lx, *ly, w); k++)
		*ly = y - 6 + (k % 2 ? 1 : -1) * ((k + 1) / 2) * LABEL_H;
	if (b->n < MAX_LABELS) {
		b->x[b->n] = *lx;
		b->y[b->n] = *ly;
		b->w[b->n] = w;
		b->n++;
	}
}

static uint32_t run_rgb(const struct mthp_sweep_run *run)
{
	return policy_rgb[run->policy == MTHP_RUN_NO_COLLAPSE ? 0 : 1 + run->policy];
}

static double px(const struct plot *p, double mem_change)
{
	return PLOT_X + (mem_change * 100 - p->xmin) / (p->xmax - p->xmin) * PLOT_W;
}

static double py(const struct plot *p, double tlb)
{
	return PLOT_Y + PLOT_H - tlb / p->ymax * PLOT_H;
}

/* A round step of about a fifth of max: 1, 2 or 5 times a power of ten. */
static double tick_step(double max)
{
	double raw = max / 5, pow10 = pow(10, floor(log10(raw))), m = raw / pow10;

	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * pow10;
}

static void draw_axes(cairo_t *cr, const struct plot *p)
{
	double step_x = tick_step(p->xmax - p->xmin), step_y = tick_step(p->ymax);
	char buf[64];

	cairo_set_line_width(cr, 1);
	for (double v = ceil(p->xmin / step_x) * step_x; v <= p->xmax + 1e-9; v += step_x) {
		double x = px(p, v / 100);

		picture_fill_rect(cr, GRID, floor(x), PLOT_Y, 1, PLOT_H);
		snprintf(buf, sizeof(buf), "%+g%%", fabs(v) < 1e-9 ? 0.0 : v);
		picture_text(cr, x - picture_text_width(cr, 12, false, buf) / 2,
			     PLOT_Y + PLOT_H + 18, 12, false, TEXT, buf);
	}
	for (double v = 0; v <= p->ymax + 1e-9; v += step_y) {
		double y = py(p, v);

		picture_fill_rect(cr, GRID, PLOT_X, floor(y), PLOT_W, 1);
		snprintf(buf, sizeof(buf), "%.0f", v);
		picture_text(cr, PLOT_X - 8 - picture_text_width(cr, 12, false, buf), y + 4, 12,
			     false, TEXT, buf);
	}
	picture_rgb(cr, TEXT);
	cairo_rectangle(cr, PLOT_X + 0.5, PLOT_Y + 0.5, PLOT_W, PLOT_H);
	cairo_stroke(cr);
	picture_text(cr, PLOT_X + PLOT_W / 2 - 150, PLOT_Y + PLOT_H + 42, 14, false, TEXT,
		     "resident memory, increase over the baseline");
	snprintf(buf, sizeof(buf), "TLB entries (%s)", mthp_tlb_profile_name(p->sw->profile));
	cairo_save(cr);
	cairo_move_to(cr, 22, PLOT_Y + PLOT_H / 2 + 60);
	cairo_rotate(cr, -M_PI / 2);
	picture_text(cr, 0, 0, 14, false, TEXT, buf);
	cairo_restore(cr);
}

/* Front runs by memory, then TLB entries: the order of the line. */
static bool left_of(const struct mthp_sweep *sw, size_t a, size_t b)
{
	const struct mthp_sweep_run *x = &sw->runs[a], *y = &sw->runs[b];

	if (x->report.resident_pages != y->report.resident_pages)
		return x->report.resident_pages < y->report.resident_pages;
	return x->tlb_entries > y->tlb_entries;
}

static void sort_front(struct plot *p)
{
	for (size_t k = 1; k < p->nr_front; k++)
		for (size_t j = k; j && left_of(p->sw, p->order[j], p->order[j - 1]); j--) {
			size_t t = p->order[j];

			p->order[j] = p->order[j - 1];
			p->order[j - 1] = t;
		}
}

static void draw_front(cairo_t *cr, const struct plot *p)
{
	cairo_new_path(cr);
	picture_rgb(cr, FRONT);
	cairo_set_line_width(cr, 2);
	for (size_t k = 0; k < p->nr_front; k++) {
		const struct mthp_sweep_run *run = &p->sw->runs[p->order[k]];
		double x = px(p, run->memory_change), y = py(p, (double)run->tlb_entries);

		if (k)
			cairo_line_to(cr, x, y);
		else
			cairo_move_to(cr, x, y);
	}
	cairo_stroke(cr);
}

/* The numbers of every run at the same point as run i, if i is the first. */
static bool point_label(const struct plot *p, size_t i, char *buf, size_t len)
{
	const struct mthp_sweep_run *run = &p->sw->runs[i];
	size_t used = 0;

	for (size_t k = 0; k < p->sw->nr_runs; k++) {
		const struct mthp_sweep_run *o = &p->sw->runs[k];

		if (o->report.resident_pages != run->report.resident_pages ||
		    o->tlb_entries != run->tlb_entries)
			continue;
		if (k < i)
			return false;
		if (used + 16 < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%zu", used ? ", " : "",
						 k + 1);
	}
	return true;
}

static void draw_points(cairo_t *cr, struct plot *p)
{
	char label[128];

	p->labels.n = 0;
	for (size_t i = 0; i < p->sw->nr_runs; i++) {
		const struct mthp_sweep_run *run = &p->sw->runs[i];
		double x = px(p, run->memory_change), y = py(p, (double)run->tlb_entries);

		cairo_new_path(cr);
		picture_rgb(cr, run_rgb(run));
		cairo_arc(cr, x, y, 5, 0, 2 * M_PI);
		if (run->on_front) {
			cairo_fill(cr);
		} else {
			cairo_set_line_width(cr, 1.5);
			cairo_stroke(cr);
		}
		if (point_label(p, i, label, sizeof(label))) {
			double w = picture_text_width(cr, 12, run->on_front, label), lx, ly;

			place_label(&p->labels, x, y, w, &lx, &ly);
			picture_text(cr, lx, ly, 12, run->on_front, TEXT, label);
		}
	}
}

static void key_line(const struct mthp_sweep *sw, size_t i, char *buf, size_t len)
{
	char setting[256];

	mthp_sweep_combo_label(sw, sw->runs[i].combo, setting, sizeof(setting));
	snprintf(buf, len, "%zu  %s: %s", i + 1, mthp_sweep_policy_label(sw->runs[i].policy),
		 setting);
}

/* Two columns when the longest line of the key fits in half the width. */
static size_t key_columns(const struct mthp_sweep *sw)
{
	cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
	cairo_t *cr = cairo_create(scratch);
	double widest = 0;
	char line[320];

	for (size_t i = 0; i < sw->nr_runs; i++) {
		double w;

		key_line(sw, i, line, sizeof(line));
		w = picture_text_width(cr, KEY_FONT, true, line);
		widest = w > widest ? w : widest;
	}
	cairo_destroy(cr);
	cairo_surface_destroy(scratch);
	return widest + 14 <= (W - 30) / 2 - 30 ? 2 : 1;
}

static void draw_key(cairo_t *cr, const struct plot *p)
{
	double col_w = (W - 30) / (double)p->key_cols - 30;
	char line[320];

	picture_text(cr, 30, KEY_Y - 22, 13, true, TEXT,
		     "Key: filled markers are on the front (no run needs less memory and fewer "
		     "TLB entries); the line joins them.");
	for (size_t i = 0; i < p->sw->nr_runs; i++) {
		const struct mthp_sweep_run *run = &p->sw->runs[i];
		double x = 30 + (double)(i / p->key_rows) * (col_w + 30);
		double y = KEY_Y + (double)(i % p->key_rows) * KEY_ROW;

		key_line(p->sw, i, line, sizeof(line));
		cairo_new_path(cr);
		picture_rgb(cr, run_rgb(run));
		cairo_arc(cr, x + 5, y - 4, 4, 0, 2 * M_PI);
		cairo_fill(cr);
		picture_text(cr, x + 14, y, KEY_FONT, run->on_front, TEXT, line);
	}
}

static void draw(cairo_t *cr, void *ctx)
{
	struct plot *p = ctx;
	char title[256];

	picture_rgb(cr, 0xffffff);
	cairo_paint(cr);
	picture_text(cr, 30, 26, 17, true, TEXT, p->sw->source ? p->sw->source : "sweep");
	snprintf(title, sizeof(title), "memory against TLB entries, %zu runs; baseline %.1f MiB, "
		 "%llu TLB entries", p->sw->nr_runs, (double)p->sw->baseline.resident_pages *
		 p->sw->settings.geo.page_size / 1048576.0,
		 (unsigned long long)p->sw->baseline_tlb);
	picture_text(cr, 30, 48, 13, false, TEXT, title);
	draw_axes(cr, p);
	draw_front(cr, p);
	draw_points(cr, p);
	draw_key(cr, p);
}

int mthp_sweep_plot(const char *path, const struct mthp_sweep *sw, double budget,
		    char *err, size_t errlen)
{
	struct plot p = { .sw = sw, .budget = budget };
	double xmin = 0, xmax = 0, ymax = (double)sw->baseline_tlb;
	int ret;

	p.order = calloc(sw->nr_runs ? sw->nr_runs : 1, sizeof(*p.order));
	if (!p.order)
		return -ENOMEM;
	for (size_t i = 0; i < sw->nr_runs; i++) {
		const struct mthp_sweep_run *run = &sw->runs[i];

		xmin = fmin(xmin, run->memory_change * 100);
		xmax = fmax(xmax, run->memory_change * 100);
		ymax = fmax(ymax, (double)run->tlb_entries);
		if (run->on_front)
			p.order[p.nr_front++] = i;
	}
	sort_front(&p);
	/* x from 0 (or the lowest change, when a run uses less memory) */
	p.xmin = xmin < 0 ? xmin * 1.1 : 0;
	p.xmax = xmax > 0 ? xmax * 1.1 : 1;
	p.ymax = ymax > 0 ? ymax * 1.1 : 1;
	p.key_cols = key_columns(sw);
	p.key_rows = (sw->nr_runs + p.key_cols - 1) / p.key_cols;
	ret = picture_write(path, W, KEY_Y + (double)p.key_rows * KEY_ROW + 20, draw, &p,
			    err, errlen);
	free(p.order);
	return ret;
}
