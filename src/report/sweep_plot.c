// SPDX-License-Identifier: MIT
/*
 * sweep_plot.c - the Pareto chart of a sweep: memory increase over the
 * baseline (x, percent) against TLB entries (y), both axes from 0, one
 * marker per run (its colour the policy, filled when on the front), the
 * front drawn as a line, and each point numbered as the run's row of
 * the text table; the key below the chart gives every number its policy
 * and setting.  Runs that land on one point share one label ("3, 7", or
 * "3, 7, 11, +5" past three).  A sweep of more than KEY_MAX_RUNS runs
 * numbers and keys only the points on the front, one key line a point
 * and at most KEY_MAX_RUNS lines (the others stay unlabelled markers;
 * the table has every run), so that the picture stays a readable size.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/msg.h"
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
#define KEY_MAX_RUNS 120
#define TEXT 0x222222u
#define GRID 0xdddddd
#define FRONT 0xc0392bu


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
	bool front_only;	/* more than KEY_MAX_RUNS runs: label the front only */
	/* runs by point (resident pages, TLB entries), then row */
	size_t *by_point;
	size_t *pos;		/* per run: its place in by_point */
	size_t *count;		/* per run: the runs at its point */
	size_t nr_key, key_left;	/* key lines drawn, front points left out */
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
	return picture_run_rgb(run->policy);
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

/* A run's point and row, sorted without a context pointer. */
struct point_key {
	uint64_t resident, tlb;
	size_t run;
};

static int key_cmp(const struct point_key *x, const struct point_key *y, bool tlb_down)
{
	if (x->resident != y->resident)
		return x->resident < y->resident ? -1 : 1;
	if (x->tlb != y->tlb)
		return (x->tlb < y->tlb) != tlb_down ? -1 : 1;
	return x->run < y->run ? -1 : x->run > y->run;
}

/* By memory, then TLB entries (most first): the order of the front's line. */
static int front_cmp(const void *a, const void *b)
{
	return key_cmp(a, b, true);
}

/* By point (memory, then TLB entries), then row: runs at one point together. */
static int point_cmp(const void *a, const void *b)
{
	return key_cmp(a, b, false);
}

/* Sort runs[0..n) (indices into sw->runs) with cmp; keys is scratch of n. */
static void sort_runs(const struct mthp_sweep *sw, size_t *runs, size_t n,
		      struct point_key *keys, int (*cmp)(const void *, const void *))
{
	for (size_t k = 0; k < n; k++)
		keys[k] = (struct point_key){ sw->runs[runs[k]].report.resident_pages,
					      sw->runs[runs[k]].tlb_entries, runs[k] };
	qsort(keys, n, sizeof(*keys), cmp);
	for (size_t k = 0; k < n; k++)
		runs[k] = keys[k].run;
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

static bool same_point(const struct mthp_sweep *sw, size_t a, size_t b)
{
	return sw->runs[a].report.resident_pages == sw->runs[b].report.resident_pages &&
	       sw->runs[a].tlb_entries == sw->runs[b].tlb_entries;
}

/* Whether run i has the lowest row of the runs at its point. */
static bool point_first(const struct plot *p, size_t i)
{
	return p->pos[i] == 0 || !same_point(p->sw, p->by_point[p->pos[i] - 1], i);
}

/* The label of run i's point ("3, 7"), when i is the first run there. */
static bool point_label(const struct plot *p, size_t i, char *buf, size_t len)
{
	size_t used = 0, n = p->count[i];

	if (!point_first(p, i))
		return false;
	buf[0] = '\0';
	for (size_t k = 0; k < n && k < 3; k++)
		used += (size_t)snprintf(buf + used, len - used, "%s%zu", k ? ", " : "",
					 p->by_point[p->pos[i] + k] + 1);
	if (n > 3 && used < len)
		snprintf(buf + used, len - used, ", +%zu", n - 3);
	return true;
}

/* Runs with a key line (and a number on the chart). */
static bool in_key(const struct plot *p, size_t i)
{
	if (!p->front_only)
		return true;
	return p->sw->runs[i].on_front && point_first(p, i);
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
		if (in_key(p, i) && point_label(p, i, label, sizeof(label))) {
			double w = picture_text_width(cr, 12, run->on_front, label), lx, ly;

			place_label(&p->labels, x, y, w, &lx, &ly);
			picture_text(cr, lx, ly, 12, run->on_front, TEXT, label);
		}
	}
}

static void key_line(const struct plot *p, size_t i, char *buf, size_t len)
{
	const struct mthp_sweep *sw = p->sw;
	char setting[256];
	int n;

	mthp_sweep_combo_label(sw, sw->runs[i].combo, setting, sizeof(setting));
	n = snprintf(buf, len, "%zu  %s: %s", i + 1, mthp_run_name(sw->runs[i].policy),
		     setting);
	if (p->front_only && p->count[i] > 1 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " (and %zu more runs here)", p->count[i] - 1);
}

/* Choose the key's lines (at most KEY_MAX_RUNS) and its columns: two when
 * the longest line fits in half the width. */
static void key_layout(struct plot *p)
{
	cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
	cairo_t *cr = cairo_create(scratch);
	double widest = 0;
	char line[360];

	p->nr_key = p->key_left = 0;
	for (size_t i = 0; i < p->sw->nr_runs; i++) {
		double w;

		if (!in_key(p, i))
			continue;
		if (p->nr_key == KEY_MAX_RUNS) {
			p->key_left++;
			continue;
		}
		p->nr_key++;
		key_line(p, i, line, sizeof(line));
		w = picture_text_width(cr, KEY_FONT, true, line);
		widest = w > widest ? w : widest;
	}
	cairo_destroy(cr);
	cairo_surface_destroy(scratch);
	p->key_cols = widest + 14 <= (W - 30) / 2 - 30 ? 2 : 1;
	p->key_rows = (p->nr_key + !!p->key_left + p->key_cols - 1) / p->key_cols;
}

static void draw_key(cairo_t *cr, const struct plot *p)
{
	double col_w = (W - 30) / (double)p->key_cols - 30;
	char line[360];
	size_t k = 0;

	if (p->front_only)
		snprintf(line, sizeof(line), "Key: the points on the front (no run needs less "
			 "memory and fewer TLB entries; the line joins them); the table has all "
			 "%zu runs.", p->sw->nr_runs);
	else
		snprintf(line, sizeof(line), "Key: filled markers are on the front (no run needs "
			 "less memory and fewer TLB entries); the line joins them.");
	picture_text(cr, 30, KEY_Y - 22, 13, true, TEXT, line);
	for (size_t i = 0; i < p->sw->nr_runs && k < p->nr_key; i++) {
		const struct mthp_sweep_run *run = &p->sw->runs[i];
		double x, y;

		if (!in_key(p, i))
			continue;
		x = 30 + (double)(k / p->key_rows) * (col_w + 30);
		y = KEY_Y + (double)(k % p->key_rows) * KEY_ROW;
		k++;
		key_line(p, i, line, sizeof(line));
		cairo_new_path(cr);
		picture_rgb(cr, run_rgb(run));
		cairo_arc(cr, x + 5, y - 4, 4, 0, 2 * M_PI);
		cairo_fill(cr);
		picture_text(cr, x + 14, y, KEY_FONT, run->on_front, TEXT, line);
	}
	if (p->key_left) {
		snprintf(line, sizeof(line), "and %zu more points on the front: the rows marked * "
			 "in the table", p->key_left);
		picture_text(cr, 30 + (double)(k / p->key_rows) * (col_w + 30) + 14,
			     KEY_Y + (double)(k % p->key_rows) * KEY_ROW, KEY_FONT, false, TEXT,
			     line);
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

/* by_point, pos and count of every run. */
static void group_points(struct plot *p, struct point_key *keys)
{
	size_t n = p->sw->nr_runs;

	for (size_t i = 0; i < n; i++)
		p->by_point[i] = i;
	sort_runs(p->sw, p->by_point, n, keys, point_cmp);
	for (size_t k = 0, start = 0; k < n; k++) {
		p->pos[p->by_point[k]] = k;
		if (k + 1 == n || !same_point(p->sw, p->by_point[k], p->by_point[k + 1])) {
			for (size_t j = start; j <= k; j++)
				p->count[p->by_point[j]] = k + 1 - start;
			start = k + 1;
		}
	}
}

int mthp_sweep_plot(const char *path, const struct mthp_sweep *sw, double budget,
		    char *err, size_t errlen)
{
	struct plot p = { .sw = sw, .budget = budget };
	double xmin = 0, xmax = 0, ymax = (double)sw->baseline_tlb;
	size_t n = sw->nr_runs ? sw->nr_runs : 1;
	struct point_key *keys = calloc(n, sizeof(*keys));
	int ret = -ENOMEM;

	p.order = calloc(n, sizeof(*p.order));
	p.by_point = calloc(n, sizeof(*p.by_point));
	p.pos = calloc(n, sizeof(*p.pos));
	p.count = calloc(n, sizeof(*p.count));
	if (!keys || !p.order || !p.by_point || !p.pos || !p.count) {
		mthp_msg(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (size_t i = 0; i < sw->nr_runs; i++) {
		const struct mthp_sweep_run *run = &sw->runs[i];

		xmin = fmin(xmin, run->memory_change * 100);
		xmax = fmax(xmax, run->memory_change * 100);
		ymax = fmax(ymax, (double)run->tlb_entries);
		if (run->on_front)
			p.order[p.nr_front++] = i;
	}
	sort_runs(sw, p.order, p.nr_front, keys, front_cmp);
	group_points(&p, keys);
	/* x from 0 (or the lowest change, when a run uses less memory) */
	p.xmin = xmin < 0 ? xmin * 1.1 : 0;
	p.xmax = xmax > 0 ? xmax * 1.1 : 1;
	p.ymax = ymax > 0 ? ymax * 1.1 : 1;
	p.front_only = sw->nr_runs > KEY_MAX_RUNS;
	key_layout(&p);
	ret = picture_write(path, W, KEY_Y + (double)p.key_rows * KEY_ROW + 20, draw, &p,
			    err, errlen);
out:
	free(keys);
	free(p.order);
	free(p.by_point);
	free(p.pos);
	free(p.count);
	return ret;
}
