/* SPDX-License-Identifier: MIT */
/*
 * picture.h - what every picture of mthp shares (cairo): the file type
 * from the name (.svg or .png, either case), the surface, the write, and
 * a few drawing helpers.  Callers draw; this file owns files and colours.
 */
#ifndef MTHP_REPORT_PICTURE_H
#define MTHP_REPORT_PICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cairo.h>

/* True when the name ends in .svg or .png (either case). */
bool picture_name_ok(const char *path);

/*
 * Create path (w x h pixels), call draw(cr, ctx) on it, write it.
 * 0; -EINVAL (bad name, message in err), -ENOMEM, -EIO.
 */
int picture_write(const char *path, double w, double h,
		  void (*draw)(cairo_t *cr, void *ctx), void *ctx,
		  char *err, size_t errlen);

void picture_rgb(cairo_t *cr, uint32_t rgb);
/* A run's colour in every chart: no collapse, each built-in policy, a plug-in. */
uint32_t picture_run_rgb(int policy);
void picture_fill_rect(cairo_t *cr, uint32_t rgb, double x, double y, double w, double h);
/* Text with its baseline at (x, y), sans-serif, in colour rgb. */
void picture_text(cairo_t *cr, double x, double y, double size, bool bold,
		  uint32_t rgb, const char *s);
/* The width text would take. */
double picture_text_width(cairo_t *cr, double size, bool bold, const char *s);

#endif
