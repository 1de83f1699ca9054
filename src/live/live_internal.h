/* SPDX-License-Identifier: MIT */
/*
 * live_internal.h - what the files of src/live share: the pagemap and
 * kpageflags bit masks (as tools/mm/page-types.c names them), the VMA list
 * of /proc/PID/(s)maps, the batched pagemap and kpageflags readers, and the
 * capture walk that feeds both the snapshot and the audit.  Prototypes are
 * grouped by the file that defines them.
 */
#ifndef MTHP_LIVE_INTERNAL_H
#define MTHP_LIVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mthp/live.h>

/* /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PFN_BITS		55
#define PM_PFN_MASK		((1ull << PM_PFN_BITS) - 1)
#define PM_SOFT_DIRTY		(1ull << 55)
#define PM_MMAP_EXCLUSIVE	(1ull << 56)
#define PM_UFFD_WP		(1ull << 57)
#define PM_GUARD_REGION		(1ull << 58)
#define PM_FILE			(1ull << 61)
#define PM_SWAP			(1ull << 62)
#define PM_PRESENT		(1ull << 63)

/* /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h). */
#define KPF_LOCKED		0
#define KPF_REFERENCED		2
#define KPF_DIRTY		4
#define KPF_LRU			5
#define KPF_ANON		12
#define KPF_SWAPCACHE		13
#define KPF_SWAPBACKED		14
#define KPF_COMPOUND_HEAD	15
#define KPF_COMPOUND_TAIL	16
#define KPF_HUGE		17
#define KPF_NOPAGE		20
#define KPF_KSM			21
#define KPF_THP			22
#define KPF_ZERO_PAGE		24
#define KPF_IDLE		25
#define KPF_BIT(b)		(1ull << (b))

/* PAGEMAP_SCAN (Linux 6.7), declared here for older uapi headers. */
#define LIVE_PAGE_IS_PRESENT	(1ull << 3)
#define LIVE_PAGE_IS_SWAPPED	(1ull << 4)
#define LIVE_PAGE_IS_PFNZERO	(1ull << 5)
#define LIVE_PAGE_IS_HUGE	(1ull << 6)

/* ---- maps.c ---- */

struct live_vma {
	uint64_t start, end;
	uint64_t inode;
	char perms[5];
	char name[64];
	bool anon;		/* private, no file: heap, stack, anonymous */
	uint32_t flags;		/* enum mthp_vma_flag (smaps: VmFlags too) */
	uint64_t anon_kb, anon_huge_kb, swap_kb, rss_kb;	/* smaps only */
	uint64_t line;		/* a hash of its maps line */
};

struct live_maps {
	struct live_vma *vmas;
	size_t nr, cap;
	uint64_t hash;		/* of the text of maps, to see changes */
};

/* Read /proc/PID/maps (smaps=false) or smaps; -ESRCH when pid is gone. */
int live_maps_read(pid_t pid, bool smaps, struct live_maps *m,
		   struct mthp_diag *diag);
void live_maps_free(struct live_maps *m);

/*
 * Did the maps only grow from before to after (maps.c: every VMA of
 * before inside one of after with the same permissions, file and name)?
 * A capture whose maps only grew while it read keeps what it read.
 */
bool live_maps_grew_only(const struct live_maps *before, const struct live_maps *after);

/*
 * For tests: the next N tries of a capture find the maps changed, as if
 * the process had unmapped something while they were read.  0 but in
 * tests.
 */
extern unsigned live_capture_changes;

/* ---- pagemap.c ---- */

struct live_pagemap {
	pid_t pid;
	int fd;
	bool scan_ok;		/* PAGEMAP_SCAN works (and is not turned off) */
	uint32_t page_shift;
};

int live_pagemap_open(struct live_pagemap *pm, pid_t pid, uint32_t page_size,
		      struct mthp_diag *diag);
void live_pagemap_close(struct live_pagemap *pm);
/* Entries of [vfn, vfn + nr); -ESRCH when the process exited. */
int live_pagemap_read(struct live_pagemap *pm, uint64_t vfn, uint64_t nr,
		      uint64_t *out);

struct live_region {
	uint64_t start, end;	/* bytes */
	uint64_t categories;	/* LIVE_PAGE_IS_* */
};

/*
 * The populated regions (present or swapped) of [start, end), merged by
 * category, from PAGEMAP_SCAN.  *out is reallocated.  -EOPNOTSUPP if the
 * kernel lacks PAGEMAP_SCAN.
 */
int live_pagemap_regions(struct live_pagemap *pm, uint64_t start, uint64_t end,
			 struct live_region **out, size_t *nr, size_t *cap);

/* ---- kpage.c ---- */

#define LIVE_KPAGE_WINDOW	256	/* pfns per cached read */
#define LIVE_KPAGE_RUN		4096	/* pfns per read of a batch at most */
#define LIVE_KPAGE_GAP		32	/* pfns not needed read through, at most */
#define LIVE_KPAGE_SLOTS	256

struct live_kpage_cache {
	int fd;
	uint64_t tag[LIVE_KPAGE_SLOTS];		/* window index + 1; 0 empty */
	uint64_t *data;				/* SLOTS * WINDOW */
	uint64_t reads;
};

struct live_kpage {
	struct live_kpage_cache flags;
	uint64_t folio_head, folio_nr;		/* last resolved folio */
};

int live_kpage_open(struct live_kpage *kp, struct mthp_diag *diag);
void live_kpage_close(struct live_kpage *kp);
/* kpageflags of a pfn; 0 past the end of memory. */
uint64_t live_kpageflags(struct live_kpage *kp, uint64_t pfn);
/*
 * Order of the large folio holding pfn (flags: its kpageflags, KPF_THP
 * set), found from the head and tail bits; max_order bounds the search.
 */
unsigned live_folio_order(struct live_kpage *kp, uint64_t pfn, uint64_t flags,
			  unsigned max_order);
/*
 * nr consecutive pfns to look up in kpageflags, from pfn on, and the first
 * of the nr consecutive slots of the batch they go to.
 */
struct live_pfn_slot {
	uint64_t pfn;
	uint32_t slot, nr;
};

/* Sort pfns[0..nr) by pfn, tmp being scratch of the same size; the result. */
struct live_pfn_slot *live_sort_pfns(struct live_pfn_slot *pfns,
				     struct live_pfn_slot *tmp, size_t nr);

/* ---- preads.c ---- */

struct live_pread {
	int fd;
	bool pagemap;		/* a short read means the process is gone */
	uint64_t off;		/* bytes */
	size_t len;
	void *dst;
};

/* The helper thread of live_preads(); zero it before the first use. */
struct live_readers {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	bool started, failed, quit;
	bool open;		/* a list is being read: the helper may join */
	bool helping;		/* the helper is taking preads of it */
	uint64_t gen;		/* of the list, so the helper joins each once */
	const struct live_pread *tasks;
	size_t nr;
	atomic_size_t next;	/* the next pread to take */
	int helper_ret;
};

/*
 * Run the preads t[0..nr), by this thread and a helper when there are many
 * bytes to read and a second CPU.  A pagemap read that fails gives -ESRCH
 * (the process exited) or -errno; a kpageflags read reads zeros
 * past the end of memory.  0 or the first error.
 */
int live_preads(struct live_readers *rd, const struct live_pread *t, size_t nr);
/* End the helper thread, if one was started. */
void live_readers_stop(struct live_readers *rd);

/* ---- capture.c ---- */

/* One PMD range of a VMA, as read. */
/* A recorder's PTE states and folio orders of a range (frames.c). */
struct live_states {
	bool valid;		/* made of the entries and flags kept */
	uint8_t *ptes, *orders;	/* N each */
};

struct live_range {
	uint64_t pmd_addr;
	uint32_t lo, hi;	/* PTE indexes inside the VMA: [lo, hi) */
	bool huge;		/* PMD-mapped */
	bool huge_zero;		/* PMD maps the huge zero page */
	bool huge_shared;	/* PMD-mapped folio not exclusive */
	bool huge_dirty;	/* PMD soft-dirty (written since clear_refs 4) */
	bool empty;		/* nothing present or swapped in [lo, hi) */
	bool reused;		/* kflags the frame before's (frames.c) */
	uint64_t *pm;		/* N pagemap entries (not huge, not empty) */
	uint64_t *kflags;	/* N kpageflags of present pages, else 0 */
	struct live_states *states;	/* kept for the next frame, or NULL */
};

struct live_capture;
/*
 * Called per VMA (range NULL, before its ranges), per PMD range, and at the
 * end of each VMA (vma and range NULL).
 */
typedef int (*live_range_fn)(void *ctx, struct live_capture *cap,
			     const struct live_vma *vma,
			     const struct live_range *range);

/*
 * The PMD ranges of one VMA read together on the PAGEMAP_SCAN path, in
 * address order: up to LIVE_BATCH_TABLES ranges read PTE by PTE (the j-th
 * of them has its entries and kpageflags at j * N of pm and kf) and
 * PMD-mapped ones between them.
 */
#define LIVE_BATCH_TABLES	64
#define LIVE_BATCH_RANGES	512
#define LIVE_BATCH_READ		8	/* adjacent ranges read with one pread */

/*
 * The pfns of pfns[kbeg..kend), sorted, read with one pread: into vals
 * from vals[base] on, or straight into their slots when kend is kbeg + 1.
 */
struct live_pfn_run {
	uint64_t first, nr;	/* the pfns read */
	size_t base, kbeg, kend;
};

struct live_batch {
	struct live_range r[LIVE_BATCH_RANGES];
	uint64_t huge_e[LIVE_BATCH_RANGES];	/* the entry of a PMD-mapped range */
	size_t nr, tables;
	uint64_t *pm, *kf;		/* LIVE_BATCH_TABLES * N each */
	struct live_pfn_slot *pfns, *tmp;	/* LIVE_BATCH_TABLES * N each */
	struct live_pfn_run *runs;	/* LIVE_BATCH_TABLES * N */
	struct live_pread *reads;	/* LIVE_BATCH_TABLES * N + LIVE_BATCH_RANGES */
	uint64_t *vals;			/* what the runs read */
	size_t cap_vals;
	struct live_readers readers;
};

struct live_capture {
	pid_t pid;
	struct mthp_geometry geo;
	struct live_pagemap pm;
	struct live_kpage kp;
	struct live_maps maps;
	struct live_region *regions;
	size_t nr_regions, cap_regions;
	uint64_t *pm_buf, *kf_buf;
	struct live_batch *batch;
	uint64_t lo, hi;	/* the window: PMD ranges in [lo, hi) only */
	bool smaps;
	bool files;		/* file-backed VMAs too */
	struct mthp_live_frames *frames;	/* a recorder's, or NULL (frames.c) */
	bool started;		/* the maps were read once */
	bool vmas_kept;		/* maps read, VMA flags from the frames before */
};

/*
 * Walk the anon VMAs of pid, calling fn for each VMA and each PMD range
 * that intersects it.  Retries (calling reset, which must forget what fn
 * collected) when the maps changed during the walk; -EAGAIN after that.
 */
int live_capture(pid_t pid, bool smaps, live_range_fn fn,
		 int (*reset)(void *ctx), void *ctx, struct mthp_diag *diag);
/* live_capture() of the anon and the file-backed VMAs, with maps. */
int live_capture_files(pid_t pid, live_range_fn fn, int (*reset)(void *ctx),
		       void *ctx, struct mthp_diag *diag);
/*
 * The same for the anon VMAs that intersect [lo, hi) (widened to PMD
 * bounds), visiting only the PMD ranges inside it; each VMA is still
 * passed whole.
 */
int live_capture_range(pid_t pid, bool smaps, uint64_t lo, uint64_t hi,
		       live_range_fn fn, int (*reset)(void *ctx), void *ctx,
		       struct mthp_diag *diag);

/*
 * live_capture_range() of one frame of a recording: the page flags and
 * counts of a range whose entries did not change since the frame before
 * are that frame's (frames.c).
 */
int live_capture_frame(pid_t pid, struct mthp_live_frames *frames, live_range_fn fn,
		       int (*reset)(void *ctx), void *ctx, struct mthp_diag *diag);

/* ---- frames.c ---- */

/* Every this many frames, every range is read whole. */
#define LIVE_FRAMES_FULL 16

/* A capture of a frame begins (again, after a retry): ranges of n PTEs. */
void live_frames_begin(struct mthp_live_frames *f, uint32_t n);
/* It ended; done: complete, its ranges are the next frame's "before". */
void live_frames_end(struct mthp_live_frames *f, bool done);
/*
 * r's pagemap entries read: when they equal the frame before's and its
 * pages' flags stay with them, take its kflags and say so.
 */
bool live_frames_reuse(struct mthp_live_frames *f, struct live_range *r);
/*
 * Keep r (read whole, or reused) for the next frame, and give it the PTE
 * states kept with it (r->states): valid when reused and made before.
 */
int live_frames_keep(struct mthp_live_frames *f, struct live_range *r, bool reused);
/* Must this frame read smaps, and every range whole? */
bool live_frames_full(const struct mthp_live_frames *f);
/* Keep the VMA flags of m, read from smaps, for the frames after. */
int live_frames_keep_vmas(struct mthp_live_frames *f, const struct live_maps *m);
/*
 * m read from maps: give each anon VMA the flags kept for its maps line
 * (but MTHP_VMA_NOANONVMA, which the capture decides); false when one has
 * none kept (smaps must be read).
 */
bool live_frames_vmas(const struct mthp_live_frames *f, struct live_maps *m);

/* ---- snapshot.c ---- */

/*
 * Is the present page of pagemap entry e in a folio that may be mapped by
 * another process?  pagemap says "mapped exclusively" of a page of a
 * small folio mapped once (where kpagecount would say 1: no second read
 * is needed), and of a page of a large folio no other process maps a
 * part of.
 */
static inline bool live_page_shared(uint64_t e)
{
	return !(e & PM_MMAP_EXCLUSIVE);
}

/* ---- sysfs.c ---- */

#define LIVE_THP_DIR "/sys/kernel/mm/transparent_hugepage"

/* Read a small file whole into buf (at most len - 1 bytes, NUL-ended); 0 or -errno. */
int live_read_file(const char *path, char *buf, size_t len);
/* Its first line (a sysfs value), without the newline; 0 or -errno. */
int live_read_text(const char *path, char *buf, size_t len);

/* ---- diag helpers (maps.c) ---- */

/*
 * Has pid an mm of its own to lose: 0 for a kernel thread, 1 for a user
 * task (which, with no VMA left, is exiting or a zombie); -ESRCH when
 * /proc/PID/stat is gone.
 */
int live_task_is_user(pid_t pid);
/* "pid N is a kernel thread: it has no user memory"; returns -ENXIO. */
int live_kernel_thread(struct mthp_diag *diag, pid_t pid);

void live_diag(struct mthp_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- access.c: why the kernel refused ---- */

enum live_denied {
	LIVE_DENIED_PROC,	/* another process's maps or pagemap */
	LIVE_DENIED_PFN,	/* page frame numbers, kpageflags */
};

/* The hint after EACCES/EPERM, for a process of effective uid euid. */
const char *live_denied_hint(enum live_denied what, uid_t euid);

/*
 * The message and error of a failed open of pid's /proc file path (err
 * the -errno): -ESRCH "no such process" when it is gone, else err, with
 * the hint of live_denied_hint() when access was refused.
 */
int live_open_failed(struct mthp_diag *diag, pid_t pid, const char *path, int err);

#endif /* MTHP_LIVE_INTERNAL_H */
