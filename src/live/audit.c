// SPDX-License-Identifier: MIT
/*
 * audit.c - the (m)THP audit of a live process: per anon VMA (and, when
 * asked, per file-backed VMA) the memory
 * mapped by folios of each order, with the definitions of the kernel's
 * tools/mm/thpmaps, plus swap entries, pages of shared folios, zero-page
 * mappings and the occupancy of each PMD range; and the pid lists of
 * /proc and of a cgroup.
 *
 * thpmaps's definitions, kept here: take the present pages with KPF_THP in
 * address order and cut them into runs where both the virtual and the
 * physical page number go up by one.  In a run, pages before the first
 * compound head are "partial"; each head starts a folio that reaches to
 * the next head; the last folio of a run is "partial" too when the page
 * after the run's last pfn is a compound tail (the folio goes on
 * unmapped).  A whole folio of n pages counts 2^floor(log2 n) pages at
 * that order, "aligned" when its first virtual page number is a multiple
 * of that, else "unaligned".  PMD-mapped folios are counted apart
 * (anon-thp-pmd-aligned), so anon-thp-pte-aligned-<PMD size> is a
 * PTE-mapped PMD-sized folio.  Each folio, and each partial page, counts
 * as anon or file by its own page flags (a private file mapping holds
 * both), as thpmaps counts them.
 *
 * A contiguous block of 2^k pages (--cont) is the same as thpmaps's: a
 * run of THP pages whose virtual and physical page numbers are both
 * multiples of 2^k at its first page, 2^k long inside one run, with no
 * compound head after its first page.  PMD-mapped ranges are never in a
 * run, so anon-cont-pte-aligned leaves them out and anon-cont-pmd-aligned
 * is the PMD-mapped memory, as thpmaps subtracts AnonHugePages.
 *
 * With the file-backed VMAs (--file), a PMD-mapped range of such a VMA is
 * a page-cache THP (file-thp-pmd-aligned; thpmaps reads the same from
 * smaps ShmemPmdMapped + FilePmdMapped), and its swap entries and
 * zero-page mappings are not counted.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live/live_internal.h"
#include "common/array.h"

struct thp_run {
	bool active;
	uint64_t last_vfn, last_pfn;
	bool folio;
	bool folio_anon;
	uint64_t folio_vfn, folio_nr;
	/* per --cont order: pages of the current aligned block, its first
	 * page's kind, and whether a folio starts inside it */
	uint32_t cont_nr[MTHP_MAX_PMD_ORDER + 1];
	bool cont_anon[MTHP_MAX_PMD_ORDER + 1];
	bool cont_split[MTHP_MAX_PMD_ORDER + 1];
};

struct audit_ctx {
	struct mthp_audit_proc *p;
	struct mthp_audit_vma *vma;	/* current */
	const struct live_vma *live;	/* current, as read */
	struct thp_run run;
	struct mthp_audit_opts opts;
	size_t cap_ranges;
};

static void count_folio(struct mthp_audit_counts *c, bool anon, uint64_t vfn,
			uint64_t nr)
{
	unsigned order = (unsigned)(63 - __builtin_clzll(nr));

	if (order > MTHP_MAX_PMD_ORDER)
		order = MTHP_MAX_PMD_ORDER;
	nr = 1ull << order;
	if (vfn % nr == 0)
		(anon ? c->pte_aligned : c->file_pte_aligned)[order] += nr;
	else
		(anon ? c->pte_unaligned : c->file_pte_unaligned)[order] += nr;
}

static void count_partial(struct mthp_audit_counts *c, bool anon, uint64_t nr)
{
	if (anon)
		c->pte_partial += nr;
	else
		c->file_pte_partial += nr;
}

static void run_end(struct audit_ctx *ac, struct live_kpage *kp)
{
	struct thp_run *run = &ac->run;

	if (!run->active)
		return;		/* the usual case between 4K pages: nothing to reset */
	if (run->folio) {
		uint64_t next = live_kpageflags(kp, run->last_pfn + 1);

		if (next & KPF_BIT(KPF_COMPOUND_TAIL))
			count_partial(&ac->vma->c, run->folio_anon, run->folio_nr);
		else
			count_folio(&ac->vma->c, run->folio_anon, run->folio_vfn,
				    run->folio_nr);
	}
	*run = (struct thp_run){ 0 };
}

/*
 * thpmaps's contiguous blocks of 2^order pages: naturally aligned in both
 * the virtual and the physical address, inside one run, with no folio
 * starting after the block's first page.
 */
static void run_cont(struct audit_ctx *ac, uint64_t vfn, uint64_t pfn, bool head,
		     bool anon)
{
	struct thp_run *run = &ac->run;
	struct mthp_audit_counts *c = &ac->vma->c;

	for (uint32_t m = ac->opts.cont_orders; m; m &= m - 1) {
		unsigned o = (unsigned)__builtin_ctz(m);
		uint64_t nr = 1ull << o;

		if (vfn % nr == 0) {
			run->cont_nr[o] = pfn % nr == 0;
			run->cont_anon[o] = anon;
			run->cont_split[o] = false;
		} else if (run->cont_nr[o]) {
			run->cont_nr[o]++;
			run->cont_split[o] |= head;
		}
		if (run->cont_nr[o] == nr) {
			if (!run->cont_split[o])
				(run->cont_anon[o] ? c->cont_pte : c->file_cont_pte)[o] += nr;
			run->cont_nr[o] = 0;
		}
	}
}

static void run_page(struct audit_ctx *ac, struct live_kpage *kp, uint64_t vfn,
		     uint64_t pfn, uint64_t flags)
{
	struct thp_run *run = &ac->run;
	bool head = flags & KPF_BIT(KPF_COMPOUND_HEAD);
	bool anon = flags & KPF_BIT(KPF_ANON);

	if (!run->active || vfn != run->last_vfn + 1 || pfn != run->last_pfn + 1) {
		run_end(ac, kp);
		run->active = true;
	}
	run->last_vfn = vfn;
	run->last_pfn = pfn;
	run_cont(ac, vfn, pfn, head, anon);
	if (head) {
		if (run->folio)
			count_folio(&ac->vma->c, run->folio_anon, run->folio_vfn,
				    run->folio_nr);
		run->folio = true;
		run->folio_anon = anon;
		run->folio_vfn = vfn;
		run->folio_nr = 1;
	} else if (run->folio) {
		run->folio_nr++;
	} else {
		count_partial(&ac->vma->c, anon, 1);
	}
}

static int keep_range(struct audit_ctx *ac, const struct mthp_audit_range *r)
{
	struct mthp_audit_vma *v = ac->vma;

	if (mthp_array_grow((void **)&v->ranges, &ac->cap_ranges, v->nr_ranges,
			    sizeof(*v->ranges)))
		return -ENOMEM;
	v->ranges[v->nr_ranges++] = *r;
	return 0;
}

static void occupancy(struct mthp_audit_counts *c, uint32_t present, uint32_t n)
{
	c->occupancy[(uint64_t)present * (MTHP_AUDIT_OCC_BUCKETS - 1) / n]++;
}

static int table_range(struct audit_ctx *ac, struct live_capture *cap,
		       const struct live_range *r, struct mthp_audit_range *ar)
{
	struct mthp_audit_counts *c = &ac->vma->c;
	uint64_t vfn0 = r->pmd_addr / cap->geo.page_size;
	bool anon_vma = ac->live->anon;

	for (uint32_t i = r->lo; i < r->hi; i++) {
		uint64_t e = r->pm[i], f = r->kflags[i];

		if (!(e & PM_PRESENT)) {
			run_end(ac, &cap->kp);
			if (anon_vma && (e & PM_SWAP) && !(e & PM_GUARD_REGION)) {
				c->swap++;
				ar->swap++;
			}
			continue;
		}
		if (f & KPF_BIT(KPF_ZERO_PAGE)) {
			run_end(ac, &cap->kp);
			if (anon_vma) {
				c->zero++;
				ar->zero++;
			}
			continue;
		}
		if (f & KPF_BIT(KPF_ANON)) {
			c->anon++;
			ar->present++;
			if (live_page_shared(e))
				c->shared++;
		} else if (anon_vma) {
			run_end(ac, &cap->kp);	/* a special mapping */
			continue;
		} else {
			c->file++;
		}
		if (f & KPF_BIT(KPF_THP))
			run_page(ac, &cap->kp, vfn0 + i, e & PM_PFN_MASK, f);
		else
			run_end(ac, &cap->kp);
	}
	return 0;
}

static int audit_range(void *ctx, struct live_capture *cap,
		       const struct live_vma *vma, const struct live_range *r)
{
	struct audit_ctx *ac = ctx;
	struct mthp_audit_proc *p = ac->p;
	uint32_t n = cap->geo.ptes_per_pmd;
	struct mthp_audit_range ar = { .pmd_addr = r ? r->pmd_addr : 0 };
	struct mthp_audit_counts *c;

	if (!vma) {		/* end of the VMA */
		run_end(ac, &cap->kp);
		return 0;
	}
	if (!r) {
		struct mthp_audit_vma *v;

		v = realloc(p->vmas, (p->nr_vmas + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->vmas = v;
		ac->vma = &v[p->nr_vmas++];
		*ac->vma = (struct mthp_audit_vma){ .start = vma->start,
						    .end = vma->end,
						    .flags = vma->flags };
		memcpy(ac->vma->perms, vma->perms, sizeof(vma->perms));
		memcpy(ac->vma->name, vma->name, sizeof(vma->name));
		ac->cap_ranges = 0;
		ac->live = vma;
		p->geo = cap->geo;
		return 0;
	}
	c = &ac->vma->c;
	if (r->huge && !vma->anon) {
		/* a PMD-mapped page-cache folio */
		run_end(ac, &cap->kp);
		c->file_pmd_mapped += n;
		c->file += n;
		return 0;
	}
	if (r->huge) {
		run_end(ac, &cap->kp);
		ar.huge = true;
		if (r->huge_zero) {
			c->zero += n;
			ar.zero = n;
		} else {
			c->pmd_mapped += n;
			c->anon += n;
			ar.present = n;
			if (r->huge_shared)
				c->shared += n;
		}
	} else {
		table_range(ac, cap, r, &ar);
	}
	if (!vma->anon)
		return 0;
	if (r->lo == 0 && r->hi == n)
		occupancy(c, ar.present, n);
	return ac->opts.keep_ranges ? keep_range(ac, &ar) : 0;
}

static int audit_reset(void *ctx)
{
	struct audit_ctx *ac = ctx;

	for (size_t i = 0; i < ac->p->nr_vmas; i++)
		free(ac->p->vmas[i].ranges);
	free(ac->p->vmas);
	ac->p->vmas = NULL;
	ac->p->nr_vmas = 0;
	ac->vma = NULL;
	ac->run = (struct thp_run){ 0 };
	return 0;
}

void mthp_audit_counts_add(struct mthp_audit_counts *sum,
			   const struct mthp_audit_counts *c)
{
	const uint64_t *src = (const uint64_t *)c;
	uint64_t *dst = (uint64_t *)sum;

	_Static_assert(sizeof(*c) % sizeof(uint64_t) == 0, "counts are u64 only");
	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

/* Ranges fully inside a VMA that no callback saw are empty: bucket 0. */
static void finish_vma(struct mthp_audit_vma *v, const struct mthp_geometry *geo)
{
	uint64_t pmd = mthp_pmd_size(geo);
	uint64_t first = (v->start + pmd - 1) & ~(pmd - 1);
	uint64_t last = v->end & ~(pmd - 1);
	uint64_t seen = 0;

	v->c.pmd_ranges = last > first ? (last - first) / pmd : 0;
	for (unsigned b = 0; b < MTHP_AUDIT_OCC_BUCKETS; b++)
		seen += v->c.occupancy[b];
	v->c.occupancy[0] += v->c.pmd_ranges - seen;
}

void mthp_audit_proc_free(struct mthp_audit_proc *p)
{
	for (size_t i = 0; i < p->nr_vmas; i++)
		free(p->vmas[i].ranges);
	free(p->vmas);
	p->vmas = NULL;
	p->nr_vmas = 0;
}

int mthp_live_audit(pid_t pid, bool keep_ranges, struct mthp_audit_proc *out,
		    struct mthp_diag *diag)
{
	struct mthp_audit_opts opts = { .keep_ranges = keep_ranges };

	return mthp_live_audit_opts(pid, &opts, out, diag);
}

int mthp_live_audit_opts(pid_t pid, const struct mthp_audit_opts *opts,
			 struct mthp_audit_proc *out, struct mthp_diag *diag)
{
	struct audit_ctx ac = { .p = out, .opts = *opts };
	char path[64];
	int ret;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->opts = *opts;
	ret = mthp_live_geometry(&out->geo, diag);
	if (ret < 0)
		return ret;
	ret = mthp_live_check_access(diag);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (live_read_text(path, out->comm, sizeof(out->comm)) < 0) {
		live_diag(diag, "pid %d: no such process", (int)pid);
		return -ESRCH;
	}
	out->opts.cont_orders &= (2u << out->geo.pmd_order) - 2;	/* 2 pages to PMD */
	ac.opts = out->opts;
	ret = opts->files ? live_capture_files(pid, audit_range, audit_reset, &ac, diag) :
	      live_capture(pid, false, audit_range, audit_reset, &ac, diag);
	if (ret < 0) {
		mthp_audit_proc_free(out);
		return ret;
	}
	for (size_t i = 0; i < out->nr_vmas; i++) {
		if (out->vmas[i].flags & MTHP_VMA_ANON)
			finish_vma(&out->vmas[i], &out->geo);
		mthp_audit_counts_add(&out->total, &out->vmas[i].c);
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int push_pid(pid_t **pids, size_t *nr, size_t *cap, pid_t pid)
{
	if (mthp_array_grow((void **)pids, cap, *nr, sizeof(**pids)))
		return -ENOMEM;
	(*pids)[(*nr)++] = pid;
	return 0;
}

static void sort_unique(pid_t *pids, size_t *nr)
{
	size_t out = 0;

	if (!*nr)
		return;
	qsort(pids, *nr, sizeof(*pids), cmp_pid);
	for (size_t i = 0; i < *nr; i++)
		if (!out || pids[out - 1] != pids[i])
			pids[out++] = pids[i];
	*nr = out;
}

int mthp_live_all_pids(pid_t **pids, size_t *nr, struct mthp_diag *diag)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");
	int ret = 0;

	*pids = NULL;
	*nr = 0;
	if (!d) {
		ret = -errno;
		live_diag(diag, "cannot open /proc: %s", strerror(-ret));
		return ret;
	}
	while ((de = readdir(d)) && !ret) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		ret = push_pid(pids, nr, &cap, (pid_t)atoi(de->d_name));
	}
	closedir(d);
	if (!ret)
		sort_unique(*pids, nr);
	return ret;
}

static int cgroup_walk(const char *dir, pid_t **pids, size_t *nr, size_t *cap,
		       int depth)
{
	char path[4096];
	struct dirent *de;
	FILE *f;
	DIR *d;
	int pid, ret = 0;

	if (depth > 64)
		return -ELOOP;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &pid) == 1 && !ret)
		ret = push_pid(pids, nr, cap, (pid_t)pid);
	fclose(f);
	if (ret)
		return ret;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && !ret) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = cgroup_walk(path, pids, nr, cap, depth + 1);
		if (ret == -ENOENT)	/* removed while walked */
			ret = 0;
	}
	closedir(d);
	return ret;
}

int mthp_live_cgroup_pids(const char *path, pid_t **pids, size_t *nr,
			  struct mthp_diag *diag)
{
	char full[4096];
	size_t cap = 0;
	int ret;

	*pids = NULL;
	*nr = 0;
	if (!*path) {
		live_diag(diag, "cgroup: the path is empty (the root cgroup is /)");
		return -EINVAL;
	}
	/* relative: below the cgroup2 mount, never the working directory */
	if (path[0] == '/' && (!strncmp(path, "/sys/fs/cgroup", 14) || access(path, F_OK) == 0))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "/sys/fs/cgroup%s%s",
			 path[0] == '/' ? "" : "/", path);
	ret = cgroup_walk(full, pids, nr, &cap, 0);
	if (ret < 0) {
		live_diag(diag, "cgroup %s: cannot read %s/cgroup.procs: %s",
			  path, full, strerror(-ret));
		free(*pids);
		*pids = NULL;
		*nr = 0;
		return ret;
	}
	sort_unique(*pids, nr);
	return 0;
}
