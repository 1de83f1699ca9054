// SPDX-License-Identifier: MIT
/*
 * daemon.c - a userspace khugepaged: the target list (pids, a cgroup, or
 * every process with anonymous memory), the (mm, address) cursor, the
 * progress accounting of one wake-up, the plan of each PMD range by the
 * engine (khugepaged context), the PMD collapses by
 * process_madvise(MADV_COLLAPSE), the decision log and the counters.
 *
 * One wake-up (mthp_daemon_scan), as khugepaged_do_scan() and
 * khugepaged_scan_mm_slot() account it (mm/khugepaged.c):
 *
 *   budget = pages_to_scan
 *   until the budget is used, or the cursor passed the list head twice:
 *     at the head: list the targets again (cgroup, all), re-read settings
 *     take the mm under the cursor                         +1
 *     from its address, per VMA:
 *       not anon, not eligible, no aligned PMD range     +1, next VMA
 *       per aligned PMD range: snapshot, plan            +PTEs scanned
 *         (up to the one that ended the scan; 1 for a range with no page
 *         table or mapped by a PMD: the plan's progress)
 *         PMD window: MADV_COLLAPSE; the turn ends (khugepaged drops
 *         mmap_lock after any collapse attempt), the loop takes the
 *         same mm again while budget remains
 *     its VMAs exhausted: next mm; past the last one full_scans++
 *
 * Per turn the process is read once: /proc/PID/maps for the VMA list,
 * then a snapshot of only the address window the budget can reach.  A
 * process that exits is dropped from the list (-ESRCH anywhere); one
 * whose mappings keep changing is skipped for this pass (khugepaged's
 * failed mmap_lock trylock); a collapse failing for lack of memory ends
 * the wake-up (khugepaged's alloc_sleep).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mthp/engine.h>

#include "live/live_internal.h"
#include "common/array.h"

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return x > UINT64_MAX - (a - 1) ? align_down(UINT64_MAX, a) :
	       align_down(x + a - 1, a);
}

/*
 * The SCAN_* result behind a MADV_COLLAPSE errno (the kernel's
 * madvise_collapse_errno() read backwards, where it is one to one).
 */
static enum mthp_result errno_result(int err)
{
	switch (err) {
	case 0:
		return SCAN_SUCCEED;
	case -ENOMEM:
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	case -ESRCH:
		return SCAN_ANY_PROCESS;
	default:
		return SCAN_FAIL;
	}
}

static void check_dump(struct mthp_daemon *d)
{
	if (d->dump && *d->dump) {
		*d->dump = 0;
		if (d->log) {
			mthp_daemon_print_counters(d, d->log);
			fflush(d->log);
		}
	}
}

static bool stopping(const struct mthp_daemon *d)
{
	return d->stop && *d->stop;
}

static void log_line(struct mthp_daemon *d, pid_t pid, uint64_t addr,
		     const char *result, const char *action, int err,
		     const char *note)
{
	if (!d->log)
		return;
	fprintf(d->log, "pid=%d addr=%" PRIx64 " result=%s action=%s errno=%s%s%s\n",
		(int)pid, addr, result, action, mthp_errno_name(err),
		note && note[0] ? " " : "", note ? note : "");
	fflush(d->log);
}

/* ---- targets ---- */

static int push_target(struct mthp_daemon *d, pid_t pid)
{
	if (mthp_array_grow((void **)&d->targets, &d->cap_targets, d->nr_targets,
			    sizeof(*d->targets)))
		return -ENOMEM;
	d->targets[d->nr_targets++] = (struct mthp_daemon_target){ .pid = pid };
	return 0;
}

static void drop_target(struct mthp_daemon *d, size_t i, int err, const char *why)
{
	log_line(d, d->targets[i].pid, 0, "-", "drop", err, why);
	memmove(&d->targets[i], &d->targets[i + 1],
		(d->nr_targets - i - 1) * sizeof(d->targets[0]));
	d->nr_targets--;
	d->c.targets_dropped++;
}

/* Does pid map anonymous memory (a user process, not a kernel thread)? */
static bool has_anon(pid_t pid)
{
	struct live_maps m;
	bool anon = false;

	if (live_maps_read(pid, false, &m, NULL) < 0)
		return false;
	for (size_t i = 0; i < m.nr && !anon; i++)
		anon = m.vmas[i].anon;
	live_maps_free(&m);
	return anon;
}

/* The cgroup's or every process's pids again (not for fixed pids). */
static int list_targets(struct mthp_daemon *d, struct mthp_diag *diag)
{
	pid_t *pids = NULL, self = getpid();
	size_t nr = 0;
	int ret;

	if (d->cfg.nr_pids)
		return 0;
	ret = d->cfg.cgroup ? mthp_live_cgroup_pids(d->cfg.cgroup, &pids, &nr, diag) :
			      mthp_live_all_pids(&pids, &nr, diag);
	if (ret < 0)
		return ret;
	d->nr_targets = 0;
	for (size_t i = 0; i < nr && !ret; i++) {
		/* Not ourselves: our own maps change while we read them. */
		if (pids[i] != self && has_anon(pids[i]))
			ret = push_target(d, pids[i]);
	}
	free(pids);
	return ret;
}

/* The host's settings, then the overrides. */
static int load_settings(struct mthp_daemon *d, struct mthp_live_host *host,
			 struct mthp_diag *diag)
{
	char err[160];
	int ret;

	ret = mthp_live_settings(&d->settings, host, diag);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < d->cfg.nr_overrides; i++) {
		ret = mthp_settings_set_assignment(&d->settings, d->cfg.overrides[i],
						   err, sizeof(err));
		if (ret < 0) {
			live_diag(diag, "--set %s: %s", d->cfg.overrides[i], err);
			return -EINVAL;
		}
	}
	return 0;
}

int mthp_daemon_init(struct mthp_daemon *d, const struct mthp_daemon_config *cfg,
		     FILE *log, struct mthp_diag *diag)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->cfg.pids = NULL;
	d->cfg.nr_pids = 0;
	d->cfg.cgroup = NULL;
	d->log = log;
	d->at_head = true;
	if (cfg->cgroup && !(d->cfg.cgroup = strdup(cfg->cgroup)))
		goto out_nomem;
	d->work = malloc(sizeof(*d->work));
	d->plan = malloc(sizeof(*d->plan));
	if (!d->work || !d->plan)
		goto out_nomem;
	ret = load_settings(d, &d->host, diag);
	if (ret < 0)
		return ret;
	if (!d->host.thp_present) {
		live_diag(diag, "transparent hugepages are not available on this kernel (no %s)",
			  LIVE_THP_DIR);
		return -ENOENT;
	}
	ret = mthp_live_check_access(diag);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < cfg->nr_pids; i++) {
		struct live_maps m;

		ret = live_maps_read(cfg->pids[i], false, &m, diag);
		if (ret < 0)
			return ret;
		live_maps_free(&m);
		ret = push_target(d, cfg->pids[i]);
		if (ret < 0)
			goto out_nomem;
	}
	d->cfg.nr_pids = cfg->nr_pids;	/* fixed targets from now on */
	ret = list_targets(d, diag);
	if (ret == -ENOMEM)
		goto out_nomem;
	return ret;

out_nomem:
	live_diag(diag, "out of memory");
	return -ENOMEM;
}

void mthp_daemon_free(struct mthp_daemon *d)
{
	free(d->targets);
	free((char *)d->cfg.cgroup);
	free(d->work);
	free(d->plan);
	memset(d, 0, sizeof(*d));
}

void mthp_daemon_print_counters(const struct mthp_daemon *d, FILE *f)
{
	const struct mthp_daemon_counters *c = &d->c;

	fprintf(f, "# mthp daemon counters\n");
	fprintf(f, "pages_collapsed %" PRIu64 "\n", c->pages_collapsed);
	fprintf(f, "full_scans %" PRIu64 "\n", c->full_scans);
	fprintf(f, "pages_scanned %" PRIu64 "\n", c->pages_scanned);
	fprintf(f, "collapse_failed %" PRIu64 "\n", c->collapse_failed);
	fprintf(f, "mthp_not_possible %" PRIu64 "\n", c->mthp_not_possible);
	fprintf(f, "targets %zu\n", d->nr_targets);
	fprintf(f, "targets_dropped %" PRIu64 "\n", c->targets_dropped);
	for (unsigned r = 0; r < MTHP_NR_RESULTS; r++)
		if (c->result[r])
			fprintf(f, "%s %" PRIu64 "\n",
				mthp_result_name((enum mthp_result)r), c->result[r]);
}

/* ---- one PMD range ---- */

struct turn {
	uint64_t budget;
	uint64_t progress;
	bool attempted;		/* a collapse was attempted: the turn ends */
	bool alloc_failed;	/* ENOMEM: the wake-up ends */
};

/* "16x64kB,2x128kB": the mTHP windows of a plan. */
static void mthp_windows(const struct mthp_daemon *d, const struct mthp_pmd_plan *plan,
			 char *buf, size_t len)
{
	uint32_t by_order[MTHP_MAX_PMD_ORDER + 1] = { 0 };
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < plan->nr_collapses; i++)
		by_order[plan->collapses[i].order]++;
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER && used < len; o++) {
		int n;

		if (!by_order[o])
			continue;
		n = snprintf(buf + used, len - used, "%s%ux%" PRIu64 "kB",
			     used ? "," : "windows=", by_order[o],
			     ((uint64_t)d->settings.geo.page_size << o) / 1024);
		if (n > 0)
			used += (size_t)n;
	}
}

/*
 * Act on the plan of one range: log it, collapse its PMD window.
 * 0, or the -errno of a collapse that makes the target go (-ESRCH,
 * -EPERM, -EACCES), with diag set.
 */
static int act(struct mthp_daemon *d, pid_t pid, uint64_t addr,
	       const struct mthp_pmd_plan *plan, struct turn *turn,
	       struct mthp_diag *diag)
{
	enum mthp_result r = plan->scan;
	uint64_t size = mthp_pmd_size(&d->settings.geo);
	char note[256];
	int ret;

	/* Nothing mapped, or a THP already: nothing to decide, no line. */
	if (r == SCAN_NO_PTE_TABLE || r == SCAN_PMD_MAPPED) {
		d->c.result[r]++;
		return 0;
	}
	if (r == SCAN_SUCCEED && !plan->nr_collapses)
		r = plan->nr_attempts ? (enum mthp_result)
			plan->attempts[plan->nr_attempts - 1].result : SCAN_FAIL;
	if (r != SCAN_SUCCEED) {
		d->c.result[r]++;
		log_line(d, pid, addr, mthp_result_name(r), "skip", 0, NULL);
		return 0;
	}
	if (plan->collapses[0].order != d->settings.geo.pmd_order) {
		d->c.result[r]++;
		d->c.mthp_not_possible += plan->nr_collapses;
		mthp_windows(d, plan, note, sizeof(note));
		log_line(d, pid, addr, mthp_result_name(r), "mthp-not-possible", 0, note);
		return 0;
	}
	/* The kernel drops mmap_lock for any attempt: the turn ends here. */
	turn->attempted = true;
	if (d->cfg.dry_run) {
		d->c.result[r]++;
		log_line(d, pid, addr, mthp_result_name(r), "would-collapse", 0, NULL);
		return 0;
	}
	ret = mthp_live_collapse(pid, addr, size, diag);
	r = errno_result(ret);
	d->c.result[r]++;
	if (ret == 0) {
		d->c.pages_collapsed++;
		log_line(d, pid, addr, mthp_result_name(r), "collapse", 0, NULL);
		return 0;
	}
	d->c.collapse_failed++;
	log_line(d, pid, addr, mthp_result_name(r), "collapse", ret, diag->msg);
	if (ret == -ENOMEM)
		turn->alloc_failed = true;
	if (ret == -ESRCH || ret == -EPERM || ret == -EACCES)
		return ret;
	return 0;
}

/* ---- one turn of one mm ---- */

/*
 * Where the budget runs out, counting as the walk will (every anon VMA
 * taken as eligible): the end of the window to read; UINT64_MAX when the
 * budget reaches past the last VMA.
 */
static uint64_t window_end(const struct mthp_daemon *d, const struct live_maps *m,
			   uint64_t from, const struct turn *turn)
{
	uint64_t pmd = mthp_pmd_size(&d->settings.geo);
	uint64_t n = d->settings.geo.ptes_per_pmd;
	uint64_t est = turn->progress;

	for (size_t i = 0; i < m->nr; i++) {
		const struct live_vma *v = &m->vmas[i];
		uint64_t hs, he, ranges, left;

		if (v->end <= from)
			continue;
		hs = align_up(v->start > from ? v->start : from, pmd);
		he = align_down(v->end, pmd);
		if (!v->anon || hs >= he) {
			est++;
			continue;
		}
		ranges = (he - hs) / pmd;
		left = est < turn->budget ? turn->budget - est : 0;
		if (ranges * n >= left)
			return hs + (left + n - 1) / n * pmd;
		est += ranges * n;
	}
	return UINT64_MAX;
}

static const struct mthp_snapshot_vma *snap_vma(const struct mthp_snapshot *s,
						const struct live_vma *v)
{
	for (size_t i = 0; i < s->nr_vmas; i++)
		if (s->vmas[i].start == v->start && s->vmas[i].end == v->end)
			return &s->vmas[i];
	return NULL;
}

/*
 * Scan the PMD ranges [hs, he) of one eligible VMA; *more when the turn
 * ended before its last range.
 */
static int scan_vma(struct mthp_daemon *d, struct mthp_daemon_target *t,
		    const struct mthp_snapshot *snap, const struct mthp_snapshot_vma *sv,
		    const struct mthp_rules *rules, uint64_t hs, uint64_t he,
		    uint64_t wend, struct turn *turn, bool *more,
		    struct mthp_diag *diag)
{
	uint64_t pmd = mthp_pmd_size(&d->settings.geo);
	size_t pi = 0;
	int ret;

	*more = true;
	for (uint64_t addr = hs; addr < he; addr += pmd) {
		struct mthp_range range = {
			.pmd_addr = addr,
			.vma_start = sv->start,
			.vma_end = sv->end,
			.kind = MTHP_PMD_NONE,
		};

		if (addr >= wend || turn->progress >= turn->budget || stopping(d))
			return 0;
		while (pi < snap->nr_pmds && snap->pmds[pi].addr < addr)
			pi++;
		if (pi < snap->nr_pmds && snap->pmds[pi].addr == addr) {
			range.kind = snap->pmds[pi].kind;
			range.ptes = snap->pmds[pi].ptes;
			range.folio_orders = snap->pmds[pi].folio_orders;
		}
		mthp_plan_range(d->plan, rules, &range, d->work);
		turn->progress += d->plan->progress;
		t->addr = addr + pmd;
		ret = act(d, t->pid, addr, d->plan, turn, diag);
		check_dump(d);
		if (ret < 0)
			return ret;
		if (turn->attempted || turn->alloc_failed)
			return 0;
	}
	*more = false;
	return 0;
}

/*
 * One turn of target t from its cursor; *done when its VMAs are
 * exhausted.  -ESRCH (gone), -EAGAIN (maps kept changing), -EPERM,
 * -EACCES (refused), -ENOMEM.
 */
static int scan_mm(struct mthp_daemon *d, struct mthp_daemon_target *t,
		   struct turn *turn, bool *done, struct mthp_diag *diag)
{
	uint64_t pmd = mthp_pmd_size(&d->settings.geo);
	struct mthp_snapshot snap;
	struct live_maps m;
	uint64_t wend;
	int ret;

	*done = false;
	ret = live_maps_read(t->pid, false, &m, diag);
	if (ret < 0)
		return ret;
	wend = window_end(d, &m, t->addr, turn);
	ret = mthp_live_snapshot_range(t->pid, t->addr, wend, &snap, diag);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < m.nr; i++) {
		const struct live_vma *v = &m.vmas[i];
		const struct mthp_snapshot_vma *sv;
		struct mthp_rules rules;
		uint64_t hs, he;
		bool more;

		if (v->end <= t->addr)
			continue;
		if (v->start >= wend || turn->progress >= turn->budget || stopping(d))
			goto out;
		hs = align_up(v->start > t->addr ? v->start : t->addr, pmd);
		he = align_down(v->end, pmd);
		sv = v->anon ? snap_vma(&snap, v) : NULL;
		if (sv)
			mthp_rules_init(&rules, &d->settings, d->cfg.policy,
					MTHP_CONTEXT_KHUGEPAGED, sv->flags);
		if (!sv || !rules.eligible || hs >= he) {
			turn->progress++;	/* a skipped VMA */
			t->addr = v->end;
			continue;
		}
		ret = scan_vma(d, t, &snap, sv, &rules, hs, he, wend, turn, &more, diag);
		if (ret < 0 || more)
			goto out;
		t->addr = v->end;
	}
	*done = wend == UINT64_MAX;
out:
	mthp_snapshot_free(&snap);
	live_maps_free(&m);
	return ret;
}

/* ---- one wake-up ---- */

int mthp_daemon_scan(struct mthp_daemon *d, struct mthp_diag *diag)
{
	struct turn turn = {
		.budget = d->cfg.pages_to_scan ? d->cfg.pages_to_scan :
						 d->settings.pages_to_scan,
	};
	unsigned passes = 0;
	int ret = 0;

	while (turn.progress < turn.budget && !stopping(d) && !turn.alloc_failed) {
		struct mthp_daemon_target *t;
		bool done;

		check_dump(d);
		if (d->at_head) {
			if (++passes >= 2)
				break;
			ret = load_settings(d, NULL, diag);
			if (!ret)
				ret = list_targets(d, diag);
			if (ret < 0)
				break;
			d->at_head = false;
			d->cursor = 0;
		}
		if (!d->nr_targets) {
			d->at_head = true;
			if (d->cfg.nr_pids)
				goto out_none_left;
			break;
		}
		t = &d->targets[d->cursor];
		turn.progress++;	/* taking the mm */
		turn.attempted = false;
		ret = scan_mm(d, t, &turn, &done, diag);
		switch (ret) {
		case 0:
			break;
		case -EAGAIN:	/* khugepaged's failed trylock: skip it this pass */
			log_line(d, t->pid, t->addr, "-", "skip-pass", ret, diag->msg);
			done = true;
			ret = 0;
			break;
		case -ESRCH:
		case -EPERM:
		case -EACCES:
			if (ret == -EPERM && mthp_live_check_access(NULL) < 0)
				goto out;	/* we lost access ourselves: fatal */
			drop_target(d, d->cursor, ret, diag->msg);
			ret = 0;
			if (d->cursor >= d->nr_targets) {
				d->at_head = true;
				d->c.full_scans++;
			}
			if (!d->nr_targets && d->cfg.nr_pids)
				goto out_none_left;
			continue;
		default:
			goto out;
		}
		if (done) {
			t->addr = 0;
			if (++d->cursor >= d->nr_targets) {
				d->at_head = true;
				d->c.full_scans++;
			}
		}
	}
out:
	d->c.pages_scanned += turn.progress;
	return ret;

out_none_left:
	live_diag(diag, "no target left: every --pid exited");
	d->c.pages_scanned += turn.progress;
	return -ESRCH;
}
