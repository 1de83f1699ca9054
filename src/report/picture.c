// SPDX-License-Identifier: MIT
/*
 * picture.c - files, surfaces and drawing helpers shared by mthp's
 * pictures (see picture.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cairo-svg.h>

#include <mthp/scenario.h>

#include "report/picture.h"

enum picture_type { PICTURE_SVG, PICTURE_PNG };

static int picture_type(const char *path, enum picture_type *t)
{
	const char *dot = path ? strrchr(path, '.') : NULL;

	if (dot && !strcasecmp(dot, ".svg"))
		*t = PICTURE_SVG;
	else if (dot && !strcasecmp(dot, ".png"))
		*t = PICTURE_PNG;
	else
		return -EINVAL;
	return 0;
}

bool picture_name_ok(const char *path)
{
	enum picture_type t;

	return !picture_type(path, &t);
}

int picture_write(const char *path, double w, double h,
		  void (*draw)(cairo_t *cr, void *ctx), void *ctx,
		  char *err, size_t errlen)
{
	enum picture_type type;
	cairo_surface_t *surface;
	cairo_status_t status;
	cairo_t *cr;

	if (picture_type(path, &type)) {
		if (errlen)
			snprintf(err, errlen, "%s: unknown picture type: the file name must "
				 "end in .svg or .png", path ? path : "(null)");
		return -EINVAL;
	}
	if (type == PICTURE_SVG) {
		surface = cairo_svg_surface_create(path, w, h);
#if CAIRO_VERSION >= CAIRO_VERSION_ENCODE(1, 16, 0)
		cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX);
#endif
	} else {
		surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
	}
	cr = cairo_create(surface);
	draw(cr, ctx);
	status = cairo_status(cr);
	cairo_destroy(cr);
	if (status == CAIRO_STATUS_SUCCESS && type == PICTURE_PNG)
		status = cairo_surface_write_to_png(surface, path);
	cairo_surface_finish(surface);
	if (status == CAIRO_STATUS_SUCCESS)
		status = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	if (status != CAIRO_STATUS_SUCCESS) {
		if (errlen)
			snprintf(err, errlen, "%s: %s", path, cairo_status_to_string(status));
		return status == CAIRO_STATUS_NO_MEMORY ? -ENOMEM : -EIO;
	}
	return 0;
}

void picture_rgb(cairo_t *cr, uint32_t rgb)
{
	cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0,
			     ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0);
}

void picture_fill_rect(cairo_t *cr, uint32_t rgb, double x, double y, double w, double h)
{
	picture_rgb(cr, rgb);
	cairo_rectangle(cr, x, y, w, h);
	cairo_fill(cr);
}

static void font(cairo_t *cr, double size, bool bold)
{
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

void picture_text(cairo_t *cr, double x, double y, double size, bool bold,
		  uint32_t rgb, const char *s)
{
	font(cr, size, bold);
	picture_rgb(cr, rgb);
	cairo_move_to(cr, x, y);
	cairo_show_text(cr, s);
}

double picture_text_width(cairo_t *cr, double size, bool bold, const char *s)
{
	cairo_text_extents_t ext;

	font(cr, size, bold);
	cairo_text_extents(cr, s, &ext);
	return ext.x_advance;
}

uint32_t picture_run_rgb(int policy)
{
	static const uint32_t rgb[MTHP_NR_POLICIES] = {
		0x2e6fd8,	/* legacy */
		0xe67e22,	/* seed */
		0x27ae60,	/* upstream */
		0x8e44ad,	/* guarded */
	};

	if (policy == MTHP_RUN_NO_COLLAPSE)
		return 0x7f8c8d;
	if (policy == MTHP_RUN_PLUGIN || policy < 0 || policy >= MTHP_NR_POLICIES)
		return 0x16a085;
	return rgb[policy];
}
