// SPDX-License-Identifier: MIT
/*
 * settings.c - page-table geometry and the THP sysfs knobs: names,
 * defaults, ranges, parsing and printing.  One table of integer knobs and
 * one of mode knobs drive set, get and foreach.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mthp/settings.h>

#include "common/array.h"
#include "common/msg.h"
#include "common/names.h"

int mthp_geometry_from_page_size(struct mthp_geometry *geo, uint64_t page_size)
{
	switch (page_size) {
	case 4096:
		return mthp_geometry_from_ptes(geo, 512);
	case 16384:
		return mthp_geometry_from_ptes(geo, 2048);
	case 65536:
		return mthp_geometry_from_ptes(geo, 8192);
	}
	return -EINVAL;
}

int mthp_geometry_from_ptes(struct mthp_geometry *geo, uint64_t ptes_per_pmd)
{
	switch (ptes_per_pmd) {
	case 512:
		*geo = (struct mthp_geometry){ 4096, 512, 9, 0 };
		return 0;
	case 2048:
		*geo = (struct mthp_geometry){ 16384, 2048, 11, 7 };
		return 0;
	case 8192:
		*geo = (struct mthp_geometry){ 65536, 8192, 13, 5 };
		return 0;
	}
	return -EINVAL;
}

static const char *const mode_names[] = {
	[MTHP_MODE_NEVER] = "never",
	[MTHP_MODE_ALWAYS] = "always",
	[MTHP_MODE_MADVISE] = "madvise",
	[MTHP_MODE_INHERIT] = "inherit",
};

static const char *const defrag_names[] = {
	[MTHP_DEFRAG_ALWAYS] = "always",
	[MTHP_DEFRAG_DEFER] = "defer",
	[MTHP_DEFRAG_DEFER_MADVISE] = "defer+madvise",
	[MTHP_DEFRAG_MADVISE] = "madvise",
	[MTHP_DEFRAG_NEVER] = "never",
};

const char *mthp_thp_mode_name(enum mthp_thp_mode m)
{
	return mthp_name_of(mode_names, ARRAY_SIZE(mode_names), m, "?");
}

void mthp_settings_init(struct mthp_settings *s, const struct mthp_geometry *geo)
{
	uint32_t n = geo->ptes_per_pmd;

	memset(s, 0, sizeof(*s));
	s->geo = *geo;
	s->enabled = MTHP_MODE_MADVISE;
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
		s->size_enabled[o] = MTHP_MODE_NEVER;
	s->size_enabled[geo->pmd_order] = MTHP_MODE_INHERIT;
	s->max_ptes_none = n - 1;
	s->max_ptes_swap = n / 8;
	s->max_ptes_shared = n / 2;
	s->pages_to_scan = n * 8;
	s->scan_sleep_millisecs = 10000;
	s->alloc_sleep_millisecs = 60000;
	s->khugepaged_defrag = 1;
	s->use_zero_page = 1;
	s->shrink_underused = 1;
	s->defrag = MTHP_DEFRAG_MADVISE;
}

/* Integer knobs: name, where the value lives, and the range. */
struct int_knob {
	const char *name;
	size_t offset;
	uint64_t min;
	uint64_t max;		/* 0: N-1 of the geometry */
};

#define INT_KNOB(n, field, lo, hi) { n, offsetof(struct mthp_settings, field), lo, hi }

static const struct int_knob int_knobs[] = {
	INT_KNOB("khugepaged/max_ptes_none", max_ptes_none, 0, 0),
	INT_KNOB("khugepaged/max_ptes_swap", max_ptes_swap, 0, 0),
	INT_KNOB("khugepaged/max_ptes_shared", max_ptes_shared, 0, 0),
	INT_KNOB("khugepaged/pages_to_scan", pages_to_scan, 1, 4294967295u),
	INT_KNOB("khugepaged/scan_sleep_millisecs", scan_sleep_millisecs, 0, 4294967295u),
	INT_KNOB("khugepaged/alloc_sleep_millisecs", alloc_sleep_millisecs, 0, 4294967295u),
	INT_KNOB("khugepaged/defrag", khugepaged_defrag, 0, 1),
	INT_KNOB("use_zero_page", use_zero_page, 0, 1),
	INT_KNOB("shrink_underused", shrink_underused, 0, 1),
};


/* ASCII decimal digits, optionally preceded by '+'; false on anything else or overflow. */
static bool parse_decimal(const char *text, uint64_t *out)
{
	const char *p = text;
	uint64_t v = 0;

	if (*p == '+')
		p++;
	if (!*p)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return true;
}

/* The order of "hugepages-<size>kB" for this geometry, or -1; *named = it has that shape. */
static int size_knob_order(const struct mthp_geometry *geo, const char *knob,
			   size_t len, bool *named)
{
	const char *prefix = "hugepages-";
	size_t plen = strlen(prefix);
	char digits[24];
	uint64_t kb;

	*named = false;
	if (len <= plen + 2 || strncmp(knob, prefix, plen) || strncmp(knob + len - 2, "kB", 2))
		return -1;
	*named = true;
	if (len - plen - 2 >= sizeof(digits))
		return -1;
	memcpy(digits, knob + plen, len - plen - 2);
	digits[len - plen - 2] = '\0';
	/* sysfs names the size one way: no sign, no leading zero */
	if (digits[0] == '+' || digits[0] == '0' || !parse_decimal(digits, &kb))
		return -1;
	for (unsigned o = 2; o <= geo->pmd_order; o++)
		if (((uint64_t)geo->page_size << o) / 1024 == kb)
			return (int)o;
	return -1;
}

void mthp_size_name(const struct mthp_geometry *geo, unsigned order, char *buf,
		    size_t buflen)
{
	snprintf(buf, buflen, "hugepages-%llukB",
		 (unsigned long long)(((uint64_t)geo->page_size << order) / 1024));
}

static int parse_mode(const char *value, bool allow_inherit, enum mthp_thp_mode *m)
{
	int i = mthp_name_find(mode_names, ARRAY_SIZE(mode_names), value);

	if (i < 0 || (i == MTHP_MODE_INHERIT && !allow_inherit))
		return -EINVAL;
	*m = (enum mthp_thp_mode)i;
	return 0;
}

int mthp_settings_set(struct mthp_settings *s, const char *knob,
		      const char *value, char *err, size_t errlen)
{
	const struct mthp_geometry *geo = &s->geo;
	const char *slash = strrchr(knob, '/');
	bool named;

	for (unsigned i = 0; i < ARRAY_SIZE(int_knobs); i++) {
		const struct int_knob *k = &int_knobs[i];
		uint64_t max = k->max ? k->max : geo->ptes_per_pmd - 1;
		uint64_t v;

		if (strcmp(knob, k->name))
			continue;
		if (!parse_decimal(value, &v) || v < k->min || v > max) {
			size_t sign = value[0] == '+' || value[0] == '-';
			bool number = value[sign] && strspn(value + sign, "0123456789") ==
						      strlen(value + sign);

			mthp_msg(err, errlen, "%s: '%s' is not %s %llu..%llu", knob, value,
				 number ? "in the range" : "a whole number in the range",
				 (unsigned long long)k->min, (unsigned long long)max);
			return -EINVAL;
		}
		*(uint32_t *)((char *)s + k->offset) = (uint32_t)v;
		return 0;
	}
	if (!strcmp(knob, "enabled")) {
		if (parse_mode(value, false, &s->enabled)) {
			mthp_msg(err, errlen, "enabled: '%s' is not one of always, madvise, never",
				value);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(knob, "defrag")) {
		int i = mthp_name_find(defrag_names, ARRAY_SIZE(defrag_names), value);

		if (i >= 0) {
			s->defrag = (enum mthp_defrag)i;
			return 0;
		}
		mthp_msg(err, errlen,
			"defrag: '%s' is not one of always, defer, defer+madvise, madvise, never",
			value);
		return -EINVAL;
	}
	if (slash && !strcmp(slash, "/enabled")) {
		int order = size_knob_order(geo, knob, (size_t)(slash - knob), &named);
		char lo[32], hi[32];

		if (named && order < 0) {
			mthp_size_name(geo, 2, lo, sizeof(lo));
			mthp_size_name(geo, geo->pmd_order, hi, sizeof(hi));
			mthp_msg(err, errlen,
				"%s: no such size with %u-byte pages (sizes %s..%s, orders 2..%u)",
				knob, geo->page_size, lo + strlen("hugepages-"),
				hi + strlen("hugepages-"), geo->pmd_order);
			return -EINVAL;
		}
		if (order >= 0) {
			if (parse_mode(value, true, &s->size_enabled[order])) {
				mthp_msg(err, errlen,
					"%s: '%s' is not one of always, inherit, madvise, never",
					knob, value);
				return -EINVAL;
			}
			return 0;
		}
	}
	mthp_msg(err, errlen, "unknown knob '%s'", knob);
	return -ENOENT;
}

int mthp_settings_set_assignment(struct mthp_settings *s, const char *assign,
				 char *err, size_t errlen)
{
	const char *eq = strchr(assign, '=');
	char knob[128];

	if (!eq || eq == assign || (size_t)(eq - assign) >= sizeof(knob)) {
		mthp_msg(err, errlen, "'%s' is not KNOB=VALUE", assign);
		return -EINVAL;
	}
	memcpy(knob, assign, (size_t)(eq - assign));
	knob[eq - assign] = '\0';
	return mthp_settings_set(s, knob, eq + 1, err, errlen);
}

void mthp_settings_foreach(const struct mthp_settings *s,
			   void (*fn)(void *ctx, const char *knob, const char *value),
			   void *ctx)
{
	char name[64], value[32];

	fn(ctx, "enabled", mode_names[s->enabled]);
	fn(ctx, "defrag", defrag_names[s->defrag]);
	for (unsigned o = 2; o <= s->geo.pmd_order; o++) {
		mthp_size_name(&s->geo, o, name, sizeof(name));
		strcat(name, "/enabled");
		fn(ctx, name, mode_names[s->size_enabled[o]]);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(int_knobs); i++) {
		snprintf(value, sizeof(value), "%u",
			 *(const uint32_t *)((const char *)s + int_knobs[i].offset));
		fn(ctx, int_knobs[i].name, value);
	}
}

struct get_ctx {
	const char *knob;
	char *buf;
	size_t buflen;
	bool found;
};

static void get_one(void *ctx, const char *knob, const char *value)
{
	struct get_ctx *g = ctx;

	if (!g->found && !strcmp(knob, g->knob)) {
		snprintf(g->buf, g->buflen, "%s", value);
		g->found = true;
	}
}

int mthp_settings_get(const struct mthp_settings *s, const char *knob,
		      char *buf, size_t buflen)
{
	struct get_ctx g = { knob, buf, buflen, false };

	mthp_settings_foreach(s, get_one, &g);
	return g.found ? 0 : -ENOENT;
}
