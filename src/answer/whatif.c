// SPDX-License-Identifier: MIT
/*
 * whatif.c - which one-knob change flips a window's decision
 * (mthp/whatif.h): the range is planned again for every value of every
 * knob that can matter, and each window's decision is compared with the
 * current plan's.  The engine decides; this file only counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/whatif.h>

enum knob_id { KNOB_NONE, KNOB_SIZE, KNOB_SWAP, KNOB_SHARED, KNOB_GLOBAL };

static const char *const modes[] = { "never", "always", "madvise", "inherit" };

struct search {
	const struct mthp_whatif_range *wr;
	struct mthp_whatif *out;
	size_t n;
	struct mthp_pmd_plan *plan;
	struct mthp_planner *work;
	/* per window: flipping values of the knob being searched */
	uint64_t (*flips)[MTHP_MAX_PTES / 64];
};

static bool collapsed(const struct mthp_pmd_plan *plan, uint32_t off, unsigned order)
{
	for (uint32_t c = 0; c < plan->nr_collapses; c++)
		if (plan->collapses[c].offset == off && plan->collapses[c].order == order)
			return true;
	return false;
}

static void plan_with(struct search *sr, const struct mthp_settings *s)
{
	struct mthp_rules rules;

	mthp_rules_init(&rules, s, sr->wr->policy, sr->wr->context, sr->wr->vma_flags);
	mthp_plan_range(sr->plan, &rules, sr->wr->range, sr->work);
}

/* Record, for value v, which windows it flips. */
static void mark_flips(struct search *sr, uint32_t v)
{
	for (size_t i = 0; i < sr->n; i++)
		if (collapsed(sr->plan, sr->out[i].offset, sr->out[i].order) !=
		    sr->out[i].collapses)
			sr->flips[i][v / 64] |= 1ull << (v % 64);
}

/* "0-5, 9, 300-511" from a value bitmap, cut short with "..." */
static void format_values(const uint64_t *bits, uint32_t nr, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t v = 0; v < nr; v++) {
		uint32_t end = v;
		int w;

		if (!(bits[v / 64] >> (v % 64) & 1))
			continue;
		while (end + 1 < nr && bits[(end + 1) / 64] >> ((end + 1) % 64) & 1)
			end++;
		if (end == v)
			w = snprintf(buf + used, len - used, "%s%u", used ? ", " : "", v);
		else
			w = snprintf(buf + used, len - used, "%s%u-%u", used ? ", " : "", v, end);
		if (w < 0 || (size_t)w >= len - used) {
			snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : 1, "...");
			return;
		}
		used += (size_t)w;
		v = end;
	}
}

static uint32_t *numeric_field(struct mthp_settings *s, enum knob_id k)
{
	switch (k) {
	case KNOB_NONE:
		return &s->max_ptes_none;
	case KNOB_SWAP:
		return &s->max_ptes_swap;
	case KNOB_SHARED:
		return &s->max_ptes_shared;
	case KNOB_SIZE:
	case KNOB_GLOBAL:
		break;
	}
	return NULL;
}

static const char *const numeric_names[] = {
	[KNOB_NONE] = "khugepaged/max_ptes_none",
	[KNOB_SWAP] = "khugepaged/max_ptes_swap",
	[KNOB_SHARED] = "khugepaged/max_ptes_shared",
};

static void search_numeric(struct search *sr, enum knob_id k)
{
	struct mthp_settings s = *sr->wr->settings;
	uint32_t *field = numeric_field(&s, k), cur = *field, nr = s.geo.ptes_per_pmd;

	for (size_t i = 0; i < sr->n; i++)
		memset(sr->flips[i], 0, sizeof(sr->flips[i]));
	for (uint32_t v = 0; v < nr; v++) {
		if (v == cur)
			continue;
		*field = v;
		plan_with(sr, &s);
		mark_flips(sr, v);
	}
	for (size_t i = 0; i < sr->n; i++) {
		struct mthp_whatif_knob *kn = &sr->out[i].knobs[sr->out[i].nr_knobs++];
		long best = -1;

		snprintf(kn->knob, sizeof(kn->knob), "%s", numeric_names[k]);
		for (uint32_t v = 0; v < nr; v++)
			if (sr->flips[i][v / 64] >> (v % 64) & 1 &&
			    (best < 0 || labs((long)v - (long)cur) < labs(best - (long)cur)))
				best = v;
		kn->current = cur;
		kn->nearest_value = best;
		kn->flips = best >= 0;
		if (kn->flips) {
			snprintf(kn->nearest, sizeof(kn->nearest), "%ld", best);
			format_values(sr->flips[i], nr, kn->values, sizeof(kn->values));
		}
	}
}

/* The mode knobs: each other mode of the window's size, or of "enabled". */
static void search_mode(struct search *sr, enum knob_id k)
{
	for (size_t i = 0; i < sr->n; i++) {
		struct mthp_whatif *w = &sr->out[i];
		struct mthp_whatif_knob *kn = &w->knobs[w->nr_knobs++];
		const struct mthp_settings *cur = sr->wr->settings;
		size_t used = 0;

		memset(kn, 0, sizeof(*kn));
		kn->current = kn->nearest_value = -1;
		if (k == KNOB_SIZE) {
			mthp_size_name(&cur->geo, w->order, kn->knob, sizeof(kn->knob) - 8);
			strcat(kn->knob, "/enabled");
		} else {
			snprintf(kn->knob, sizeof(kn->knob), "enabled");
		}
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			struct mthp_settings s = *cur;
			char err[128];

			if (mthp_settings_set(&s, kn->knob, modes[m], err, sizeof(err)) ||
			    !memcmp(&s, cur, sizeof(s)))
				continue;
			plan_with(sr, &s);
			if (collapsed(sr->plan, w->offset, w->order) == w->collapses)
				continue;
			if (!kn->flips)
				snprintf(kn->nearest, sizeof(kn->nearest), "%s", modes[m]);
			kn->flips = true;
			used += (size_t)snprintf(kn->values + used, sizeof(kn->values) - used,
						 "%s%s", used ? ", " : "", modes[m]);
		}
	}
}

static bool window_has(const struct mthp_range *range, const struct mthp_whatif *w,
		       const char *states)
{
	for (uint32_t k = w->offset; k < w->offset + (1u << w->order); k++)
		if (strchr(states, range->ptes[k]))
			return true;
	return false;
}

static void words(const struct mthp_whatif_range *wr, struct mthp_whatif *w)
{
	const char *verb = w->collapses ? "does not collapse" : "collapses";

	w->suggestion = -1;
	for (unsigned k = 0; k < w->nr_knobs; k++)
		if (w->knobs[k].flips) {
			w->suggestion = (int)k;
			break;
		}
	if (w->suggestion >= 0) {
		const struct mthp_whatif_knob *kn = &w->knobs[w->suggestion];
		long lo = kn->current < kn->nearest_value ? kn->current : kn->nearest_value;
		long hi = kn->current < kn->nearest_value ? kn->nearest_value : kn->current;
		int len = snprintf(w->words, sizeof(w->words), "%s with %s=%s", verb, kn->knob,
				   kn->nearest);

		if (kn->current >= 0 && hi - lo > 1 && len > 0 && (size_t)len < sizeof(w->words))
			len += snprintf(w->words + len, sizeof(w->words) - (size_t)len,
					"; no value from %ld to %ld does", lo + 1, hi - 1);
		if (len > 0 && (size_t)len < sizeof(w->words))
			snprintf(w->words + len, sizeof(w->words) - (size_t)len,
				 " under %s (values that do: %s)", mthp_policy_name(wr->policy),
				 kn->values);
		return;
	}
	if (w->collapses)
		snprintf(w->words, sizeof(w->words), "no single knob stops this collapse");
	else if (wr->range->kind == MTHP_PMD_TABLE && w->order < wr->settings->geo.pmd_order &&
		 window_has(wr->range, w, "Ss"))
		snprintf(w->words, sizeof(w->words), "a shared PTE below the PMD order: no "
			 "setting collapses this window");
	else if (wr->range->kind == MTHP_PMD_TABLE && w->order < wr->settings->geo.pmd_order &&
		 window_has(wr->range, w, "w"))
		snprintf(w->words, sizeof(w->words), "a swap PTE below the PMD order: no "
			 "setting collapses this window");
	else
		snprintf(w->words, sizeof(w->words), "no single knob collapses this window");
}

static int check_windows(const struct mthp_whatif_range *wr, const struct mthp_whatif *out,
			 size_t n)
{
	uint32_t nr = wr->settings->geo.ptes_per_pmd;

	if (n > MTHP_WHATIF_MAX_WINDOWS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (out[i].order > wr->settings->geo.pmd_order ||
		    out[i].offset % (1u << out[i].order) || out[i].offset + (1u << out[i].order) > nr)
			return -EINVAL;
	return 0;
}

int mthp_whatif(const struct mthp_whatif_range *wr, struct mthp_whatif *out, size_t n)
{
	struct search sr = { .wr = wr, .out = out, .n = n };
	int err = check_windows(wr, out, n);

	if (err)
		return err;
	sr.plan = malloc(sizeof(*sr.plan));
	sr.work = malloc(sizeof(*sr.work));
	sr.flips = calloc(n ? n : 1, sizeof(*sr.flips));
	if (!sr.plan || !sr.work || !sr.flips) {
		err = -ENOMEM;
		goto out_free;
	}
	plan_with(&sr, wr->settings);
	for (size_t i = 0; i < n; i++) {
		out[i].collapses = collapsed(sr.plan, out[i].offset, out[i].order);
		out[i].nr_knobs = 0;
	}
	if (wr->context == MTHP_CONTEXT_KHUGEPAGED)
		search_numeric(&sr, KNOB_NONE);
	search_mode(&sr, KNOB_SIZE);
	if (wr->context == MTHP_CONTEXT_KHUGEPAGED) {
		search_numeric(&sr, KNOB_SWAP);
		search_numeric(&sr, KNOB_SHARED);
	}
	search_mode(&sr, KNOB_GLOBAL);
	for (size_t i = 0; i < n; i++)
		words(wr, &out[i]);
out_free:
	free(sr.flips);
	free(sr.work);
	free(sr.plan);
	return err;
}
