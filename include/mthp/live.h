/* SPDX-License-Identifier: MIT */
/*
 * mthp/live.h - the running kernel as a snapshot source: host THP settings,
 * a process's anonymous page tables (snapshot), its (m)THP audit,
 * process_madvise(MADV_COLLAPSE), and a userspace khugepaged (the daemon).
 *
 * Needs root (CAP_SYS_ADMIN) for PFNs in /proc/PID/pagemap and for
 * /proc/kpageflags and /proc/kpagecount.  Nothing here writes a sysfs knob.
 * Functions return 0 or -errno and never set errno; on error diag->msg says
 * what is wrong in words a user can act on.  -ESRCH: the process does not
 * exist or exited; -ENXIO: the pid is a kernel thread (no user memory);
 * -EAGAIN: its mappings kept changing while it was read.
 *
 * Young/old: pagemap has no young bit and KPF_IDLE is not refreshed from
 * the PTEs, so every present anon page is written young ('A', 'S'): the
 * plan predicts what khugepaged does to memory touched recently.
 */
#ifndef MTHP_LIVE_H
#define MTHP_LIVE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <mthp/settings.h>
#include <mthp/snapshot.h>

/* What the host offers. */
struct mthp_live_host {
	bool thp_present;	/* /sys/kernel/mm/transparent_hugepage exists */
	bool thp_disabled;	/* enabled=never and no size can be used */
	uint32_t sizes;		/* bit o: hugepages-<order o>/ exists */
	uint32_t unknown_knobs;	/* sysfs knobs the engine does not know (skipped) */
	/*
	 * khugepaged collapses sizes below the PMD size: a hugepages-<size>
	 * below it has stats/collapse_alloc (Linux 7.2; older kernels count
	 * collapses at the PMD size only)
	 */
	bool mthp_collapse;
};

/*
 * The host's per-size collapse counters, hugepages-<size>/stats/<name>:
 * X(stat, name).
 */
#define MTHP_HOST_COLLAPSE_STATS(X) \
	X(MTHP_HCS_ALLOC, "collapse_alloc") \
	X(MTHP_HCS_ALLOC_FAILED, "collapse_alloc_failed") \
	X(MTHP_HCS_EXCEED_NONE, "collapse_exceed_none_pte") \
	X(MTHP_HCS_EXCEED_SWAP, "collapse_exceed_swap_pte") \
	X(MTHP_HCS_EXCEED_SHARED, "collapse_exceed_shared_pte")
#define MTHP_HCS_VALUE(stat, name) stat,
enum mthp_host_collapse_stat {
	MTHP_HOST_COLLAPSE_STATS(MTHP_HCS_VALUE)
	MTHP_NR_HCS
};

struct mthp_host_collapse_stats {
	uint32_t have[MTHP_MAX_PMD_ORDER + 1];	/* bit s: the file of stat s exists */
	uint64_t v[MTHP_MAX_PMD_ORDER + 1][MTHP_NR_HCS];
};

const char *mthp_host_collapse_stat_name(enum mthp_host_collapse_stat s);

/*
 * Read the host's per-size collapse counters of every THP size; a kernel
 * without them gives have[] all 0.  0, or -errno with diag set when a file
 * that exists cannot be read or does not hold a number.
 */
int mthp_live_collapse_stats(const struct mthp_geometry *geo,
			     struct mthp_host_collapse_stats *st, struct mthp_diag *diag);

/*
 * Geometry from the page size and hpage_pmd_size, with the cont_order of
 * the host's TLB profile (mthp_tlb_host_profile()); 0 or -errno.
 */
int mthp_live_geometry(struct mthp_geometry *geo, struct mthp_diag *diag);

/*
 * The host's THP settings: defaults of the geometry, then every knob the
 * engine knows read from sysfs.  host may be NULL.
 */
int mthp_live_settings(struct mthp_settings *s, struct mthp_live_host *host,
		       struct mthp_diag *diag);

/*
 * The host's memory and swap in bytes (/proc/meminfo's MemTotal and
 * SwapTotal; swap 0 when there is none); 0 or -errno with a message.
 */
int mthp_live_host_memory(uint64_t *memory, uint64_t *swap, struct mthp_diag *diag);

/* 0 when this process can read PFNs and kpageflags; else -EPERM + message. */
int mthp_live_check_access(struct mthp_diag *diag);

/*
 * How page tables are read, process-wide: with the PAGEMAP_SCAN ioctl
 * (Linux 6.7) where the kernel has it (on, the default: populated and
 * PMD-mapped ranges found without reading them entry by entry, kpageflags
 * read in batches), or with plain pagemap reads of every PMD range, as on
 * kernels without it (off).  Both give the same snapshot and audit, but
 * for a PTE-mapped, fully mapped, aligned PMD-sized folio, which plain
 * reads cannot tell from a PMD-mapped one.  For tests and benchmarks that
 * compare the two.
 */
void mthp_live_set_pagemap_scan(bool on);

/*
 * A process's anonymous VMAs and page tables as a snapshot (format 2), with
 * the host settings as setting lines.  snap is initialised here; free it
 * with mthp_snapshot_free() (also after an error).  PMD ranges with nothing
 * mapped are left out.
 */
int mthp_live_snapshot(pid_t pid, struct mthp_snapshot *snap,
		       struct mthp_diag *diag);

/*
 * The same for the PMD ranges in [start, end) only (widened to PMD
 * bounds): vma lines for the anon VMAs that intersect it, pmd lines for
 * its populated ranges.  What the daemon reads per turn.
 */
int mthp_live_snapshot_range(pid_t pid, uint64_t start, uint64_t end,
			     struct mthp_snapshot *snap, struct mthp_diag *diag);

/*
 * Does this kernel track soft-dirty bits (CONFIG_MEM_SOFT_DIRTY)?  Tried
 * on a page of this process's own (clear_refs 4, a write, pagemap bit 55):
 * 1 yes, 0 no, or -errno with diag->msg.
 */
int mthp_live_soft_dirty(struct mthp_diag *diag);

/*
 * mthp_live_snapshot(), and into *written (initialised by the caller,
 * made anew for the snapshot's geometry) the present pages whose
 * soft-dirty bit is set: written since the last
 * mthp_live_clear_soft_dirty() of the process (or since their VMA was
 * made).  A PMD-mapped THP has one bit for all its pages.
 */
int mthp_live_snapshot_written(pid_t pid, struct mthp_snapshot *snap,
			       struct mthp_pmd_bits *written, struct mthp_diag *diag);

/*
 * Clear the soft-dirty bits of pid's pages (/proc/PID/clear_refs 4);
 * -ESRCH when the process is gone.
 */
int mthp_live_clear_soft_dirty(pid_t pid, struct mthp_diag *diag);

/*
 * What a recorder keeps from one frame to the next, so that a PMD range
 * whose page-table entries did not change since the frame before is not
 * read again from /proc/kpageflags and /proc/kpagecount: its entries, page
 * flags and map counts (24 bytes a page it holds).  A range keeps the
 * frame before's flags only when its entries are the same to the bit and
 * it held no page of a large folio, no locked page and no page freed
 * lazily (their flags change while the entries stay); every 16th frame
 * reads every range, which sees a page freed lazily (MADV_FREE) since.
 */
struct mthp_live_frames;
int mthp_live_frames_new(struct mthp_live_frames **out);
void mthp_live_frames_free(struct mthp_live_frames *f);
/* PMD ranges read page by page over all frames: their flags reused, read. */
void mthp_live_frames_stats(const struct mthp_live_frames *f, uint64_t *reused,
			    uint64_t *read);
/*
 * One frame of a recording of pid: mthp_live_snapshot_written() (written
 * may be NULL) with frames kept from the last call (mthp_live_frames).
 */
int mthp_live_snapshot_frame(pid_t pid, struct mthp_live_frames *frames,
			     struct mthp_snapshot *snap, struct mthp_pmd_bits *written,
			     struct mthp_diag *diag);

/* Occupancy buckets of a PMD range: present pages * 8 / N, 0..8 (8 = full). */
#define MTHP_AUDIT_OCC_BUCKETS 9

/* Counters of an audit, in pages (base pages of the geometry). */
struct mthp_audit_counts {
	uint64_t anon;			/* present anon pages (Anonymous) */
	uint64_t pmd_mapped;		/* anon-thp-pmd-aligned-<PMD>kB */
	uint64_t pte_aligned[MTHP_MAX_PMD_ORDER + 1];	/* anon-thp-pte-aligned-<order> */
	uint64_t pte_unaligned[MTHP_MAX_PMD_ORDER + 1];	/* anon-thp-pte-unaligned-<order> */
	uint64_t pte_partial;		/* anon-thp-pte-partial */
	uint64_t swap;			/* swap entries */
	uint64_t shared;		/* pages of folios mapped elsewhere too */
	uint64_t zero;			/* mappings of the (huge) zero page */
	uint64_t pmd_ranges;		/* PMD ranges fully inside anon VMAs */
	uint64_t occupancy[MTHP_AUDIT_OCC_BUCKETS];	/* of those, by bucket */
	/* anon-cont-pte-aligned-<order>: orders of mthp_audit_opts.cont_orders */
	uint64_t cont_pte[MTHP_MAX_PMD_ORDER + 1];
	/* the same of file-backed pages (mthp_audit_opts.files) */
	uint64_t file;			/* present file-backed pages */
	uint64_t file_pmd_mapped;
	uint64_t file_pte_aligned[MTHP_MAX_PMD_ORDER + 1];
	uint64_t file_pte_unaligned[MTHP_MAX_PMD_ORDER + 1];
	uint64_t file_pte_partial;
	uint64_t file_cont_pte[MTHP_MAX_PMD_ORDER + 1];
};

/* What an audit reads beyond the anon (m)THP counters. */
struct mthp_audit_opts {
	bool keep_ranges;	/* fill each anon VMA's ranges[] */
	bool files;		/* file-backed VMAs too: the file-* counters */
	uint32_t cont_orders;	/* 1 << order: the *-cont-* counters of that size */
};

/* One PMD range of an audit (kept when asked for). */
struct mthp_audit_range {
	uint64_t pmd_addr;
	uint32_t present;	/* present anon pages */
	uint32_t swap;
	uint32_t zero;
	bool huge;		/* PMD-mapped */
};

struct mthp_audit_vma {
	uint64_t start, end;
	uint32_t flags;		/* enum mthp_vma_flag */
	char perms[5];
	char name[64];
	struct mthp_audit_counts c;
	struct mthp_audit_range *ranges;	/* keep_ranges only */
	size_t nr_ranges;
};

struct mthp_audit_proc {
	pid_t pid;
	char comm[32];
	struct mthp_geometry geo;
	struct mthp_audit_opts opts;	/* what was read */
	struct mthp_audit_counts total;
	struct mthp_audit_vma *vmas;	/* anon VMAs (and file-backed ones) */
	size_t nr_vmas;
};

/* "EPERM", "ESRCH", ... for err or -err; "E?" for one not known. */
const char *mthp_errno_name(int err);

/* Audit one process; keep_ranges: fill each VMA's ranges[]. */
int mthp_live_audit(pid_t pid, bool keep_ranges, struct mthp_audit_proc *out,
		    struct mthp_diag *diag);
/* The same with everything mthp_audit_opts can ask for. */
int mthp_live_audit_opts(pid_t pid, const struct mthp_audit_opts *opts,
			 struct mthp_audit_proc *out, struct mthp_diag *diag);
void mthp_audit_proc_free(struct mthp_audit_proc *p);
void mthp_audit_counts_add(struct mthp_audit_counts *sum,
			   const struct mthp_audit_counts *c);

/* PIDs of every process (/proc) or of a cgroup and its children; sorted. */
int mthp_live_all_pids(pid_t **pids, size_t *nr, struct mthp_diag *diag);
int mthp_live_cgroup_pids(const char *path, pid_t **pids, size_t *nr,
			  struct mthp_diag *diag);

/*
 * process_madvise(MADV_COLLAPSE) on [start, start + len) of pid.  0, or
 * the errno of the call (-EPERM: no permission, -ESRCH: gone, -EINVAL,
 * -EAGAIN, -ENOMEM, -EBUSY as madvise(2) says).
 */
int mthp_live_collapse(pid_t pid, uint64_t start, uint64_t len,
		       struct mthp_diag *diag);

/* Is [pmd_addr, +PMD size) of pid PMD-mapped now?  1, 0 or -errno. */
int mthp_live_pmd_mapped(pid_t pid, uint64_t pmd_addr,
			 const struct mthp_geometry *geo, struct mthp_diag *diag);

/* ---- the userspace khugepaged (daemon.c) ---- */

/*
 * What the daemon scans and how.  Targets: pids (fixed; dropped when they
 * exit), or a cgroup (v2) and its descendants, or (neither) every process
 * with anonymous memory; the last two are listed again at each full scan.
 */
struct mthp_daemon_config {
	const pid_t *pids;		/* copied */
	size_t nr_pids;
	const char *cgroup;		/* copied; NULL: not a cgroup */
	uint32_t pages_to_scan;		/* budget per scan; 0: the settings' */
	enum mthp_policy policy;
	bool dry_run;			/* plan and log, never process_madvise */
	const char *const *overrides;	/* "KNOB=VALUE", for planning only */
	size_t nr_overrides;
};

/* The counters, named as khugepaged's sysfs files and SCAN_* results. */
struct mthp_daemon_counters {
	uint64_t pages_collapsed;	/* ranges collapsed (khugepaged/pages_collapsed) */
	uint64_t full_scans;		/* wraps past the last target (khugepaged/full_scans) */
	uint64_t pages_scanned;		/* progress: +1 per mm taken and per VMA
					 * skipped, +N per PMD range */
	uint64_t collapse_failed;	/* MADV_COLLAPSE calls that failed */
	uint64_t mthp_not_possible;	/* planned mTHP windows this kernel cannot do */
	uint64_t targets_dropped;	/* targets that exited or refused us */
	uint64_t result[MTHP_NR_RESULTS];	/* per scanned range: the plan's
						 * result, or the attempt's */
};

struct mthp_daemon_target {
	pid_t pid;
	uint64_t addr;		/* the cursor: everything below is done */
};

struct mthp_daemon {
	struct mthp_daemon_config cfg;
	struct mthp_settings settings;	/* host, then the overrides */
	struct mthp_live_host host;	/* what the host offers */
	struct mthp_daemon_target *targets;
	size_t nr_targets, cap_targets;
	size_t cursor;		/* index of the target being scanned */
	bool at_head;		/* the cursor is before the first target */
	struct mthp_daemon_counters c;
	FILE *log;		/* one line per decision; NULL: none */
	/* Set from signal handlers; looked at between PMD ranges. */
	volatile sig_atomic_t *stop;	/* finish the range, return */
	volatile sig_atomic_t *dump;	/* print the counters to log, clear */
	struct mthp_planner *work;
	struct mthp_pmd_plan *plan;
};

/*
 * Read the host settings (then apply the overrides), check access, and
 * list the targets.  -EINVAL: a bad override; -ESRCH: a --pid does not
 * exist; -EPERM: not root; -ENOENT: no THP on this kernel.  Free with
 * mthp_daemon_free(), also after an error.
 */
int mthp_daemon_init(struct mthp_daemon *d, const struct mthp_daemon_config *cfg,
		     FILE *log, struct mthp_diag *diag);

/*
 * One wake-up of khugepaged: scan at most pages_to_scan pages from the
 * cursor, mm by mm and PMD range by PMD range, plan each range, collapse
 * the PMD windows by process_madvise(MADV_COLLAPSE).  0; -ESRCH when no
 * target is left (fixed pids, all gone); -EPERM or -ENOMEM (fatal).
 */
int mthp_daemon_scan(struct mthp_daemon *d, struct mthp_diag *diag);

/* The counters as "name value" lines (non-zero results only). */
void mthp_daemon_print_counters(const struct mthp_daemon *d, FILE *f);

void mthp_daemon_free(struct mthp_daemon *d);

#endif /* MTHP_LIVE_H */
