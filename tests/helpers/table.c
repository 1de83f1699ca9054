// SPDX-License-Identifier: MIT
/*
 * tests/helpers/table.c - table builders, settings lists, a plan runner and
 * the one-line plan format shared by the engine tests (see table.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pattern.h"
#include "helpers/table.h"

uint8_t mt_default_folio(int c)
{
	switch (c) {
	case '.': case '0': case 'w': case 'u': case 'n':
		return MTHP_NO_FOLIO;
	}
	return 0;
}

unsigned mt_log2(uint32_t n)
{
	unsigned o = 0;

	while ((1u << o) < n)
		o++;
	return o;
}

void mt_table_init(struct mt_table *t, uint32_t n, char c)
{
	t->n = n;
	t->kind = MTHP_PMD_TABLE;
	t->has_fills = false;
	memset(t->fills, 0, sizeof(t->fills));
	mt_table_fill(t, 0, n, c);
}

int mt_table_pattern(struct mt_table *t, uint32_t n, const char *pattern, char *err,
		     size_t errlen)
{
	bool has_folios;
	uint32_t padded;

	t->n = n;
	t->kind = MTHP_PMD_TABLE;
	t->has_fills = false;
	memset(t->fills, 0, sizeof(t->fills));
	return mthp_pattern_parse(pattern, n, t->ptes, t->folios, &has_folios, &padded, err,
				  errlen);
}

void mt_table_fill(struct mt_table *t, uint32_t from, uint32_t to, char c)
{
	for (uint32_t i = from; i < to && i < t->n; i++) {
		t->ptes[i] = (uint8_t)c;
		t->folios[i] = mt_default_folio(c);
	}
}

void mt_table_put(struct mt_table *t, uint32_t at, const char *str)
{
	for (uint32_t i = 0; str[i] && at + i < t->n; i++) {
		t->ptes[at + i] = (uint8_t)str[i];
		t->folios[at + i] = mt_default_folio(str[i]);
	}
}

void mt_table_folio(struct mt_table *t, uint32_t from, uint32_t to, unsigned order)
{
	for (uint32_t i = from; i < to && i < t->n; i++)
		t->folios[i] = (uint8_t)order;
}

uint32_t mt_table_count(const struct mt_table *t, uint32_t from, uint32_t to,
			const char *chars)
{
	uint32_t n = 0;

	for (uint32_t i = from; i < to && i < t->n; i++)
		if (strchr(chars, t->ptes[i]))
			n++;
	return n;
}

bool mt_after_page_count(const struct mthp_pmd_plan *prev, const struct mthp_window *w)
{
	for (uint32_t a = 0; a < prev->nr_attempts; a++) {
		const struct mthp_window *f = &prev->attempts[a];

		if (f->result == SCAN_PAGE_COUNT &&
		    f->offset < w->offset + (1u << w->order) &&
		    w->offset < f->offset + (1u << f->order))
			return true;
	}
	return false;
}

void mt_table_apply(struct mt_table *t, const struct mthp_pmd_plan *p)
{
	unsigned pmd_order = mt_log2(t->n);

	for (uint32_t k = 0; k < p->nr_collapses; k++) {
		const struct mthp_window *w = &p->collapses[k];
		uint32_t len = 1u << w->order;
		uint8_t filled = 0;

		for (uint32_t i = w->offset; i < w->offset + len; i++)
			filled |= t->ptes[i] == '.' || t->ptes[i] == '0' || t->fills[i];
		for (uint32_t i = w->offset; i < w->offset + len; i++)
			t->fills[i] = filled;
		mt_table_fill(t, w->offset, w->offset + len, 'A');
		mt_table_folio(t, w->offset, w->offset + len, w->order);
		if (w->order == pmd_order)
			t->kind = MTHP_PMD_HUGE;
	}
}

int mt_settings(struct mthp_settings *s, uint32_t n, char *err, size_t errlen, ...)
{
	struct mthp_geometry geo;
	const char *assign;
	va_list ap;
	int ret;

	ret = mthp_geometry_from_ptes(&geo, n);
	if (ret)
		return ret;
	mthp_settings_init(s, &geo);
	va_start(ap, errlen);
	while ((assign = va_arg(ap, const char *))) {
		ret = mthp_settings_set_assignment(s, assign, err, errlen);
		if (ret)
			break;
	}
	va_end(ap);
	return ret;
}

static struct mthp_pmd_plan *plan_buf;
static struct mthp_planner *work_buf;

const struct mthp_pmd_plan *mt_plan_range(const struct mthp_settings *s,
					  enum mthp_policy policy,
					  enum mthp_context context,
					  uint32_t vma_flags,
					  const struct mthp_range *range)
{
	struct mthp_rules rules;

	if (!plan_buf) {
		plan_buf = calloc(1, sizeof(*plan_buf));
		work_buf = calloc(1, sizeof(*work_buf));
		if (!plan_buf || !work_buf)
			abort();
	}
	/* Poison, so a field the engine forgets to set shows. */
	memset(plan_buf, 0xa5, sizeof(*plan_buf));
	memset(work_buf, 0x5a, sizeof(*work_buf));
	mthp_rules_init(&rules, s, policy, context, vma_flags);
	mthp_plan_range(plan_buf, &rules, range, work_buf);
	return plan_buf;
}

const struct mthp_pmd_plan *mt_plan(const struct mthp_settings *s,
				    enum mthp_policy policy,
				    enum mthp_context context,
				    uint32_t vma_flags, const struct mt_table *t)
{
	uint64_t size = mthp_pmd_size(&s->geo);
	struct mthp_range range = {
		.pmd_addr = MT_PMD_ADDR,
		.vma_start = MT_PMD_ADDR,
		.vma_end = MT_PMD_ADDR + size,
		.kind = t->kind,
		.ptes = t->ptes,
		.folio_orders = t->folios,
		.folio_fills = t->has_fills ? t->fills : NULL,
	};

	return mt_plan_range(s, policy, context, vma_flags, &range);
}

const char *mt_result_short(enum mthp_result r)
{
	const char *name = mthp_result_name(r);

	return strncmp(name, "SCAN_", 5) ? name : name + 5;
}

void mt_strcat(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

#define STR_BUFS 4
#define STR_CAP (256 * 1024)

bool mt_plans_equal(const struct mthp_pmd_plan *a, const struct mthp_pmd_plan *b)
{
	return a->scan == b->scan && a->pages_filled == b->pages_filled &&
	       a->underused == b->underused && a->lru_batch_end == b->lru_batch_end &&
	       a->nr_collapses == b->nr_collapses && a->nr_attempts == b->nr_attempts &&
	       !memcmp(a->collapses, b->collapses, a->nr_collapses * sizeof(a->collapses[0])) &&
	       !memcmp(a->attempts, b->attempts, a->nr_attempts * sizeof(a->attempts[0]));
}

const char *mt_plan_str(const struct mthp_pmd_plan *p)
{
	static char bufs[STR_BUFS][STR_CAP];
	static unsigned next;
	char *b = bufs[next++ % STR_BUFS];
	uint32_t nc = p->nr_collapses, na = p->nr_attempts;

	b[0] = '\0';
	mt_strcat(b, STR_CAP, "%s C[", mt_result_short(p->scan));
	if (nc > MTHP_MAX_COLLAPSES)
		mt_strcat(b, STR_CAP, "?%u", nc);
	else
		for (uint32_t i = 0; i < nc; i++)
			mt_strcat(b, STR_CAP, "%s%u/%u", i ? " " : "",
				  p->collapses[i].offset, p->collapses[i].order);
	mt_strcat(b, STR_CAP, "] A[");
	if (na > MTHP_MAX_ATTEMPTS)
		mt_strcat(b, STR_CAP, "?%u", na);
	else
		for (uint32_t i = 0; i < na; i++)
			mt_strcat(b, STR_CAP, "%s%u/%u:%s", i ? " " : "",
				  p->attempts[i].offset, p->attempts[i].order,
				  mt_result_short((enum mthp_result)p->attempts[i].result));
	mt_strcat(b, STR_CAP, "] F=%u", p->pages_filled);
	return b;
}

/* Set one PTE's state, keeping a large folio's order under a present PTE. */
static void set_state(struct mt_table *t, uint32_t i, char c)
{
	t->ptes[i] = (uint8_t)c;
	if (mt_default_folio(c) == MTHP_NO_FOLIO)
		t->folios[i] = MTHP_NO_FOLIO;
	else if (t->folios[i] == MTHP_NO_FOLIO)
		t->folios[i] = 0;
}

/* A present state: young, or old with probability old/8. */
static char present(struct mthp_rng *r, uint32_t old)
{
	return mthp_rng_below(r, 8) < old ? 'a' : 'A';
}

static void sprinkle(struct mt_table *t, struct mthp_rng *r, uint32_t count, const char *states)
{
	size_t ns = strlen(states);

	for (uint32_t k = 0; k < count; k++) {
		/* two draws in order: the same seed gives the same table with any compiler */
		uint32_t at = mthp_rng_below(r, t->n);

		set_state(t, at, states[mthp_rng_below(r, (uint32_t)ns)]);
	}
}

void mt_table_random(struct mt_table *t, uint32_t n, struct mthp_rng *r, int bad)
{
	unsigned pmd = mt_log2(n);
	uint32_t old = (uint32_t[]){ 0, 0, 1, 4, 8 }[mthp_rng_below(r, 5)];
	uint32_t shape = mthp_rng_below(r, 6);

	mt_table_init(t, n, '.');
	switch (shape) {
	case 0:		/* empty */
		break;
	case 1: {	/* sparse */
		uint32_t den = 2u + mthp_rng_below(r, 128);

		for (uint32_t i = 0; i < n; i++)
			if (mthp_rng_below(r, den) == 0)
				set_state(t, i, present(r, old));
		break;
	}
	case 2: {	/* clustered runs */
		uint32_t runs = 1 + mthp_rng_below(r, 8);

		for (uint32_t k = 0; k < runs; k++) {
			uint32_t start = mthp_rng_below(r, n);
			uint32_t len = 1 + mthp_rng_below(r, n / (1u << mthp_rng_below(r, 6)) / 2 + 1);

			for (uint32_t i = start; i < start + len && i < n; i++)
				set_state(t, i, present(r, old));
		}
		break;
	}
	case 3:		/* aligned blocks */
	case 5: {	/* aligned blocks with sparse pages */
		uint32_t blocks = 1 + mthp_rng_below(r, 6);

		for (uint32_t k = 0; k < blocks; k++) {
			unsigned o = 2 + mthp_rng_below(r, pmd - 1);
			uint32_t len = 1u << o;
			uint32_t off = mthp_rng_below(r, n >> o) << o;

			for (uint32_t i = off; i < off + len; i++)
				set_state(t, i, present(r, old));
		}
		if (shape == 5)
			for (uint32_t i = 0; i < n; i++)
				if (mthp_rng_below(r, 16) == 0)
					set_state(t, i, present(r, old));
		break;
	}
	case 4:		/* full */
		for (uint32_t i = 0; i < n; i++)
			set_state(t, i, present(r, old));
		break;
	}

	/* Existing large folios over aligned blocks of present pages. */
	if (mthp_rng_below(r, 3) == 0) {
		uint32_t folios = 1 + mthp_rng_below(r, 3);

		for (uint32_t k = 0; k < folios; k++) {
			unsigned o = 2 + mthp_rng_below(r, pmd - 1);
			uint32_t len = 1u << o;
			uint32_t off = mthp_rng_below(r, n >> o) << o;
			int taken = 0;

			for (uint32_t i = off; i < off + len; i++)
				if (t->folios[i] != MTHP_NO_FOLIO && t->folios[i] > 0)
					taken = 1;
			if (taken)
				continue;
			for (uint32_t i = off; i < off + len; i++) {
				set_state(t, i, present(r, old));
				t->folios[i] = (uint8_t)o;
			}
		}
	}

	/* Occasional other states. */
	if (mthp_rng_below(r, 3) == 0)
		sprinkle(t, r, 1 + mthp_rng_below(r, 4), "w");
	if (mthp_rng_below(r, 20) == 0)
		sprinkle(t, r, mthp_rng_below(r, n / 4), "w");
	if (mthp_rng_below(r, 3) == 0)
		sprinkle(t, r, 1 + mthp_rng_below(r, 4), "Ss");
	if (mthp_rng_below(r, 20) == 0)
		sprinkle(t, r, mthp_rng_below(r, n), "Ss");
	if (mthp_rng_below(r, 4) == 0)
		sprinkle(t, r, 1 + mthp_rng_below(r, 4), "0");
	if (mthp_rng_below(r, 6) == 0)
		sprinkle(t, r, 1 + mthp_rng_below(r, 8), "a");
	if (bad && mthp_rng_below(r, 10) == 0)
		sprinkle(t, r, 1 + mthp_rng_below(r, 2), "unlfNKP");
}
