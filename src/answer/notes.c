// SPDX-License-Identifier: MIT
/*
 * notes.c - the sentences printed under a report: what the settings imply
 * for each policy, and what the runs' numbers show (mthp/notes.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mthp/notes.h>
#include <mthp/tlb.h>

struct notes {
	void (*emit)(void *ctx, const char *note);
	void *ctx;
	size_t n;
};

static void note(struct notes *nt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct notes *nt, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nt->emit(nt->ctx, buf);
	nt->n++;
}

/* The smallest order below PMD that some VMA could be allowed, or 0. */
static unsigned smallest_mthp_order(const struct mthp_settings *s)
{
	for (unsigned o = MTHP_MIN_ORDER; o < s->geo.pmd_order; o++) {
		enum mthp_thp_mode m = s->size_enabled[o];

		if (m == MTHP_MODE_ALWAYS || m == MTHP_MODE_MADVISE ||
		    (m == MTHP_MODE_INHERIT && s->enabled != MTHP_MODE_NEVER))
			return o;
	}
	return 0;
}

static bool ran(const struct mthp_note_run *runs, size_t n, enum mthp_policy p)
{
	for (size_t i = 0; i < n; i++)
		if (runs[i].policy == (int)p)
			return true;
	return false;
}

static void settings_notes(struct notes *nt, const struct mthp_settings *s,
			   const struct mthp_note_run *runs, size_t n)
{
	uint32_t none = s->max_ptes_none, last = s->geo.ptes_per_pmd - 1;
	unsigned o = smallest_mthp_order(s);
	char size[32];

	if (!o) {
		if (ran(runs, n, MTHP_POLICY_SEED) || ran(runs, n, MTHP_POLICY_UPSTREAM))
			note(nt, "No size below the PMD size is enabled: seed and upstream can "
			     "only collapse to the PMD size, as legacy does.");
		return;
	}
	mthp_tlb_size_label((uint64_t)s->geo.page_size << o, size, sizeof(size));
	if (ran(runs, n, MTHP_POLICY_UPSTREAM) && none && none != last)
		note(nt, "max_ptes_none %u acts as 0 for mTHP orders under upstream (Linux 7.2 "
		     "honours only 0 and %u below the PMD order): a window below the PMD size "
		     "collapses only when every one of its PTEs is present (a %s window: all "
		     "%u).", none, last, size, 1u << o);
	if (ran(runs, n, MTHP_POLICY_SEED) && none >= (last + 1) / 2)
		note(nt, "max_ptes_none %u is at least half a page table: under seed a window "
		     "collapsed at one order passes at the next order on a later scan, so "
		     "seed creeps (see re-collapses).", none);
	if (ran(runs, n, MTHP_POLICY_LEGACY))
		note(nt, "legacy collapses to the PMD size only (Linux before 7.2).");
}

static bool same_result(const struct mthp_note_run *a, const struct mthp_note_run *b)
{
	return !memcmp(a->collapses_by_order, b->collapses_by_order,
		       sizeof(a->collapses_by_order)) &&
	       a->pages_filled == b->pages_filled && a->resident_pages == b->resident_pages;
}

static void result_notes(struct notes *nt, const struct mthp_note_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t total = 0;

		if (runs[i].policy < 0)
			continue;
		for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
			total += runs[i].collapses_by_order[o];
		if (!total)
			note(nt, "%s collapsed nothing: the scan results and failed attempts "
			     "say why.", mthp_policy_name((enum mthp_policy)runs[i].policy));
		for (size_t k = 0; k < i; k++) {
			if (runs[k].policy < 0 || !total || !same_result(&runs[k], &runs[i]))
				continue;
			note(nt, "%s and %s made the same collapses here.",
			     mthp_policy_name((enum mthp_policy)runs[k].policy),
			     mthp_policy_name((enum mthp_policy)runs[i].policy));
			break;
		}
	}
}

/*
 * Memory a policy's run ends holding in partially mapped folios beyond
 * the run without collapses, when it is 1% of its resident memory or more:
 * resident MiB does not show it.
 */
static void partial_notes(struct notes *nt, const struct mthp_settings *s,
			  const struct mthp_note_run *runs, size_t n)
{
	double mib = (double)s->geo.page_size / (1 << 20);
	const struct mthp_note_run *base = NULL;

	for (size_t i = 0; i < n && !base; i++)
		if (runs[i].policy < 0)
			base = &runs[i];
	if (!base)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct mthp_note_run *r = &runs[i];
		char names[128] = "";
		size_t len = 0, count = 0;
		bool told = false;

		if (r->policy < 0 || r->partial_unmapped <= base->partial_unmapped ||
		    (r->partial_unmapped - base->partial_unmapped) * 100 < r->resident_pages)
			continue;
		/* one note for the runs that end with the same memory held */
		for (size_t k = 0; k < i; k++)
			told |= runs[k].policy >= 0 && runs[k].partial_unmapped == r->partial_unmapped;
		if (told)
			continue;
		for (size_t k = i; k < n; k++)
			count += runs[k].policy >= 0 && runs[k].partial_unmapped == r->partial_unmapped;
		for (size_t k = i, said = 0; k < n && len < sizeof(names); k++) {
			if (runs[k].policy < 0 || runs[k].partial_unmapped != r->partial_unmapped)
				continue;
			said++;
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						said == 1 ? "" : said == count ? " and " : ", ",
						mthp_policy_name((enum mthp_policy)runs[k].policy));
		}
		note(nt, "%s end%s with %.1f MiB in partially mapped folios that no process maps "
		     "(%.1f MiB without khugepaged): the workload unmapped parts of collapsed "
		     "folios, and Linux keeps such a folio whole until the deferred split "
		     "shrinker runs (memory pressure); resident MiB does not count that memory.",
		     names, count == 1 ? "s" : "", r->partial_unmapped * mib,
		     base->partial_unmapped * mib);
	}
}

size_t mthp_notes(const struct mthp_settings *s, const struct mthp_note_run *runs,
		  size_t nr_runs, void (*emit)(void *ctx, const char *note), void *ctx)
{
	struct notes nt = { .emit = emit, .ctx = ctx };

	settings_notes(&nt, s, runs, nr_runs);
	result_notes(&nt, runs, nr_runs);
	partial_notes(&nt, s, runs, nr_runs);
	return nt.n;
}
