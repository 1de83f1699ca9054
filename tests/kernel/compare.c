// SPDX-License-Identifier: MIT
/*
 * compare.c - the host side of make check-kernel: for every batch that
 * tests/kernel/guest_khugepaged.c ran in the guest, plan the ranges of
 * before.snap (policy upstream, context khugepaged, the batch's settings,
 * the pages the guest made old marked old) and compare the plan's
 * collapses with the folios the real khugepaged left in after.snap; and
 * compare the per-size collapse_alloc counters with the plan's attempts.
 *
 *   compare RESULT_DIR...       each RESULT_DIR one batch (NN-NAME/)
 *
 * Prints one line per batch and every disagreement as: pattern, settings,
 * planned collapses, what the kernel did (index:order, index in PTEs).
 * Disagreements the project knows of and does not model yet are listed as
 * known (see known_case()); exit status 1 when there is any other one, or
 * a batch's files are missing or bad, else 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/engine.h>
#include <mthp/settings.h>
#include <mthp/snapshot.h>

#define MAX_ORDER 14
#define LINE_MAX_LEN 4096
#define MAX_CASES 256

struct batch_result {
	const char *dir;
	char settings_text[1024];	/* KNOB=VALUE ... on one line */
	struct mthp_settings settings;
	struct mthp_snapshot before, after;
	unsigned planned_allocs[MAX_ORDER];	/* collapses + attempts by order */
	unsigned kernel_folios[MAX_ORDER];	/* collapses seen, by order */
	uint64_t cases[MAX_CASES];	/* the ranges of the patterns */
	unsigned nr_cases;
	unsigned ranges, agree, known, new_disagree;
};

struct totals {
	unsigned ranges, agree, known, new_disagree, stats_bad, batches_bad;
};

static void warn_drop(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

/* DIR/NAME for reading, or NULL after saying why. */
static FILE *open_in(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		fprintf(stderr, "compare: cannot open %s: %s\n", path, strerror(errno));
	return f;
}

static int read_snapshot(struct mthp_snapshot *snap, const char *dir, const char *name)
{
	struct mthp_diag diag = { .warn = warn_drop };
	char path[1024];
	FILE *f = open_in(dir, name);
	int ret;

	if (!f)
		return -EIO;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = mthp_snapshot_read(snap, f, path, &diag);
	fclose(f);
	if (ret)
		fprintf(stderr, "compare: %s\n", diag.msg);
	return ret;
}

/* The snapshot's settings, then the batch's KNOB=VALUE lines. */
static int read_settings(struct batch_result *br)
{
	struct mthp_diag diag = { .warn = warn_drop };
	char line[256], err[256];
	size_t len = 0;
	FILE *f;
	int ret;

	ret = mthp_snapshot_settings(&br->before, &br->settings, "before.snap", &diag);
	if (ret) {
		fprintf(stderr, "compare: %s: %s\n", br->dir, diag.msg);
		return ret;
	}
	f = open_in(br->dir, "settings");
	if (!f)
		return -EIO;
	br->settings_text[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		ret = mthp_settings_set_assignment(&br->settings, line, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "compare: %s/settings: %s\n", br->dir, err);
			break;
		}
		len += snprintf(br->settings_text + len, sizeof(br->settings_text) - len,
				"%s%s", len ? " " : "", line);
		if (len >= sizeof(br->settings_text))
			len = sizeof(br->settings_text) - 1;
	}
	fclose(f);
	return ret;
}

static struct mthp_snapshot_pmd *find_pmd(struct mthp_snapshot *snap, uint64_t addr)
{
	for (size_t i = 0; i < snap->nr_pmds; i++)
		if (snap->pmds[i].addr == addr)
			return &snap->pmds[i];
	return NULL;
}

/*
 * The live capture shows every anon page young; mark old the PTEs the
 * guest made old with MADV_COLD (file "old": address, then indexes).
 */
static int apply_old(struct batch_result *br)
{
	char line[LINE_MAX_LEN];
	FILE *f = open_in(br->dir, "old");

	if (!f)
		return -EIO;
	while (fgets(line, sizeof(line), f)) {
		char *tok = strtok(line, " \n");
		struct mthp_snapshot_pmd *pmd;

		if (!tok)
			continue;
		pmd = find_pmd(&br->before, strtoull(tok, NULL, 16));
		while ((tok = strtok(NULL, " \n"))) {
			unsigned long k = strtoul(tok, NULL, 10);

			if (!pmd || pmd->kind != MTHP_PMD_TABLE ||
			    k >= br->before.geo.ptes_per_pmd)
				continue;
			if (pmd->ptes[k] == MTHP_PTE_YOUNG)
				pmd->ptes[k] = MTHP_PTE_OLD;
			else if (pmd->ptes[k] == MTHP_PTE_SHARED_YOUNG)
				pmd->ptes[k] = MTHP_PTE_SHARED_OLD;
		}
	}
	fclose(f);
	return 0;
}

/* The addresses of the patterns (file "intended"), not the guest's anchor. */
static int read_intended(struct batch_result *br)
{
	char line[LINE_MAX_LEN];
	FILE *f = open_in(br->dir, "intended");

	if (!f)
		return -EIO;
	while (fgets(line, sizeof(line), f) && br->nr_cases < MAX_CASES)
		br->cases[br->nr_cases++] = strtoull(line, NULL, 16);
	fclose(f);
	return 0;
}

static bool intended(const struct batch_result *br, uint64_t addr)
{
	for (unsigned i = 0; i < br->nr_cases; i++)
		if (br->cases[i] == addr)
			return true;
	return false;
}

/* The windows khugepaged left as large folios, as "index:order ...". */
static unsigned kernel_collapses(const struct mthp_snapshot_pmd *pmd, uint32_t n,
				 uint32_t pmd_order, struct mthp_window *out)
{
	unsigned nr = 0;

	if (!pmd)
		return 0;
	if (pmd->kind == MTHP_PMD_HUGE) {
		out[0] = (struct mthp_window){ .offset = 0, .order = (uint8_t)pmd_order };
		return 1;
	}
	if (pmd->kind != MTHP_PMD_TABLE || !pmd->folio_orders)
		return 0;
	for (uint32_t i = 0; i < n;) {
		uint8_t o = pmd->folio_orders[i];

		if (o == MTHP_NO_FOLIO || o == 0 || o >= MAX_ORDER || i % (1u << o)) {
			i++;
			continue;
		}
		if (nr < MTHP_MAX_COLLAPSES)
			out[nr++] = (struct mthp_window){ .offset = (uint16_t)i, .order = o };
		i += 1u << o;
	}
	return nr;
}

static void print_windows(const char *label, const struct mthp_window *w, unsigned nr)
{
	printf("    %-9s", label);
	if (!nr)
		printf(" nothing");
	for (unsigned i = 0; i < nr; i++)
		printf(" %u:%u", w[i].offset, w[i].order);
	printf("\n");
}

/* The PTE states in run-length form: "A*48 S*4 A*460". */
static void print_pattern(const struct mthp_snapshot_pmd *pmd, uint32_t n)
{
	printf("    pattern  ");
	for (uint32_t i = 0; i < n;) {
		uint32_t j = i;

		while (j < n && pmd->ptes[j] == pmd->ptes[i])
			j++;
		if (j - i > 1)
			printf(" %c*%u", pmd->ptes[i], j - i);
		else
			printf(" %c", pmd->ptes[i]);
		i = j;
	}
	printf("\n");
}

/*
 * The PTEs a failed attempt isolated and put back: the whole window when
 * it failed for lack of a young page (checked after the walk), else those
 * before the PTE that broke the shared limit.
 */
static void mark_put_back(const struct mthp_snapshot_pmd *pmd, const struct mthp_window *w,
			  unsigned max_shared, uint32_t pmd_order, bool *put_back)
{
	uint32_t end = w->offset + (1u << w->order);
	unsigned limit = w->order == pmd_order ? max_shared : 0, shared = 0;

	for (uint32_t i = w->offset; i < end; i++) {
		if (w->result == SCAN_EXCEED_SHARED_PTE &&
		    (pmd->ptes[i] == MTHP_PTE_SHARED_YOUNG ||
		     pmd->ptes[i] == MTHP_PTE_SHARED_OLD) && ++shared > limit)
			return;
		if (w->result == SCAN_EXCEED_SHARED_PTE ||
		    w->result == SCAN_LACK_REFERENCED_PAGE)
			put_back[i] = true;
	}
}

/*
 * Known kernel behaviour the project does not model yet: an attempt whose
 * isolation fails puts its pages back through the per-CPU LRU add batch,
 * which holds a reference to each until the batch drains; a later window
 * of the same walk that holds one of them fails on that reference (and
 * smaller windows around it may collapse instead).  A disagreement is
 * this one when every planned collapse the kernel did not make holds a
 * page a failed attempt of the plan put back.
 */
static bool known_case(const struct batch_result *br, const struct mthp_snapshot_pmd *pmd,
		       const struct mthp_pmd_plan *plan,
		       const struct mthp_window *got, unsigned nr_got)
{
	uint32_t pmd_order = br->before.geo.pmd_order;
	bool put_back[MTHP_MAX_PTES] = { false };
	unsigned missing = 0;

	for (unsigned i = 0; i < plan->nr_attempts; i++)
		mark_put_back(pmd, &plan->attempts[i], br->settings.max_ptes_shared,
			      pmd_order, put_back);
	for (unsigned i = 0; i < plan->nr_collapses; i++) {
		const struct mthp_window *w = &plan->collapses[i];
		bool made = false, held = false;

		for (unsigned k = 0; k < nr_got; k++)
			made |= got[k].offset == w->offset && got[k].order == w->order;
		if (made)
			continue;
		missing++;
		for (uint32_t k = w->offset; k < w->offset + (1u << w->order); k++)
			held |= put_back[k];
		if (!held)
			return false;
	}
	return missing > 0;
}

static bool same_windows(const struct mthp_window *a, unsigned na,
			 const struct mthp_window *b, unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++)
		if (a[i].offset != b[i].offset || a[i].order != b[i].order)
			return false;
	return true;
}

static void compare_pmd(void *ctx, const struct mthp_snapshot *snap,
			const struct mthp_snapshot_pmd *pmd,
			const struct mthp_pmd_plan *plan)
{
	struct batch_result *br = ctx;
	struct mthp_window got[MTHP_MAX_COLLAPSES];
	uint32_t n = snap->geo.ptes_per_pmd;
	unsigned nr_got;
	bool known;

	if (pmd->kind != MTHP_PMD_TABLE || !intended(br, pmd->addr))
		return;
	br->ranges++;
	for (unsigned i = 0; i < plan->nr_collapses; i++)
		if (plan->collapses[i].order < MAX_ORDER)
			br->planned_allocs[plan->collapses[i].order]++;
	for (unsigned i = 0; i < plan->nr_attempts; i++)
		if (plan->attempts[i].order < MAX_ORDER)
			br->planned_allocs[plan->attempts[i].order]++;
	nr_got = kernel_collapses(find_pmd(&br->after, pmd->addr), n,
				  snap->geo.pmd_order, got);
	for (unsigned i = 0; i < nr_got; i++)
		br->kernel_folios[got[i].order]++;
	if (same_windows(plan->collapses, plan->nr_collapses, got, nr_got)) {
		br->agree++;
		return;
	}
	known = known_case(br, pmd, plan, got, nr_got);
	if (known)
		br->known++;
	else
		br->new_disagree++;
	printf("  %s %s range %llx (scan %s)\n", known ? "KNOWN" : "DISAGREE", br->dir,
	       (unsigned long long)pmd->addr, mthp_result_name(plan->scan));
	print_pattern(pmd, n);
	printf("    settings  %s\n", br->settings_text);
	print_windows("planned", plan->collapses, plan->nr_collapses);
	print_windows("kernel", got, nr_got);
}

static int read_stat(const char *dir, const char *name, const char *key,
		     unsigned long *value)
{
	char path[1024], line[256];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			*value = strtoul(line + klen + 1, NULL, 10);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

/*
 * One pass allocates once per window that reaches the swap-in and
 * isolate steps: collapse_alloc of a size must equal the plan's collapses
 * plus failed attempts at that order.  Checked only for a batch whose
 * folios all agreed (a disagreement changes the attempts too).
 */
static unsigned check_stats(const struct batch_result *br)
{
	uint32_t pmd_order = br->before.geo.pmd_order;
	uint32_t page_kb = br->before.geo.page_size / 1024;
	unsigned bad = 0;

	for (uint32_t o = 2; o <= pmd_order && o < MAX_ORDER; o++) {
		unsigned long before, after;
		char key[128];

		snprintf(key, sizeof(key), "hugepages-%ukB/stats/collapse_alloc",
			 page_kb << o);
		if (read_stat(br->dir, "stats-before", key, &before) ||
		    read_stat(br->dir, "stats-after", key, &after))
			continue;
		if (after - before == br->planned_allocs[o])
			continue;
		if (br->known || br->new_disagree)
			continue;
		printf("  STATS %s order %u: collapse_alloc +%lu, the plan attempts %u windows"
		       " (%u collapsed)\n", br->dir, o, after - before,
		       br->planned_allocs[o], br->kernel_folios[o]);
		bad++;
	}
	return bad;
}

static int compare_batch(const char *dir, struct totals *t)
{
	static struct batch_result br;
	int ret;

	memset(&br, 0, sizeof(br));
	br.dir = dir;
	ret = read_snapshot(&br.before, dir, "before.snap");
	if (ret)
		return ret;
	ret = read_snapshot(&br.after, dir, "after.snap");
	if (ret)
		goto out_before;
	ret = read_settings(&br);
	if (!ret)
		ret = apply_old(&br);
	if (!ret)
		ret = read_intended(&br);
	if (!ret)
		ret = mthp_snapshot_plan(&br.before, &br.settings, MTHP_POLICY_UPSTREAM,
					 MTHP_CONTEXT_KHUGEPAGED, compare_pmd, &br);
	if (!ret) {
		unsigned bad = check_stats(&br);

		printf("%s: %u ranges, %u agree, %u known, %u new disagreements%s\n",
		       dir, br.ranges, br.agree, br.known, br.new_disagree,
		       bad ? ", per-size stats differ" : "");
		t->ranges += br.ranges;
		t->agree += br.agree;
		t->known += br.known;
		t->new_disagree += br.new_disagree;
		t->stats_bad += bad;
	}
	mthp_snapshot_free(&br.after);
out_before:
	mthp_snapshot_free(&br.before);
	return ret;
}

int main(int argc, char **argv)
{
	struct totals t = { 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: compare RESULT_DIR...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (compare_batch(argv[i], &t)) {
			printf("%s: cannot be compared (see above)\n", argv[i]);
			t.batches_bad++;
		}
	}
	printf("khugepaged against the plan: %u ranges, %u agree, %u known disagreements,"
	       " %u new disagreements, %u per-size stat differences, %u batches unreadable\n",
	       t.ranges, t.agree, t.known, t.new_disagree, t.stats_bad, t.batches_bad);
	return t.new_disagree || t.stats_bad || t.batches_bad ? 1 : 0;
}
