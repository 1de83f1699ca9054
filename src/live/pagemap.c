// SPDX-License-Identifier: MIT
/*
 * pagemap.c - /proc/PID/pagemap: batched pread of entries and the
 * PAGEMAP_SCAN ioctl that finds populated and PMD-mapped regions without
 * reading every entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "live/live_internal.h"

/* include/uapi/linux/fs.h, Linux 6.7 */
struct live_page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

struct live_pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};

#define LIVE_PAGEMAP_SCAN _IOWR('f', 16, struct live_pm_scan_arg)

static atomic_bool use_scan = true;

void mthp_live_set_pagemap_scan(bool on)
{
	atomic_store(&use_scan, on);
}

int live_pagemap_open(struct live_pagemap *pm, pid_t pid, uint32_t page_size,
		      struct mthp_diag *diag)
{
	char path[64];

	*pm = (struct live_pagemap){ .pid = pid, .fd = -1, .scan_ok = atomic_load(&use_scan),
				     .page_shift = (uint32_t)__builtin_ctz(page_size) };
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd >= 0)
		return 0;
	return live_open_failed(diag, pid, path, -errno);
}

void live_pagemap_close(struct live_pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
}

int live_pagemap_read(struct live_pagemap *pm, uint64_t vfn, uint64_t nr,
		      uint64_t *out)
{
	size_t want = nr * sizeof(uint64_t), got = 0;

	while (got < want) {
		ssize_t n = pread(pm->fd, (char *)out + got, want - got,
				  (off_t)(vfn * sizeof(uint64_t) + got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ESRCH || errno == ENOENT ? -ESRCH : -errno;
		}
		if (n == 0)	/* the mm is gone */
			return -ESRCH;
		got += (size_t)n;
	}
	return 0;
}

#define SCAN_VEC 512

int live_pagemap_regions(struct live_pagemap *pm, uint64_t start, uint64_t end,
			 struct live_region **out, size_t *nr, size_t *cap)
{
	struct live_page_region vec[SCAN_VEC];
	uint64_t mask = LIVE_PAGE_IS_PRESENT | LIVE_PAGE_IS_SWAPPED;

	*nr = 0;
	if (!pm->scan_ok)
		return -EOPNOTSUPP;
	while (start < end) {
		struct live_pm_scan_arg arg = {
			.size = sizeof(arg),
			.start = start,
			.end = end,
			.vec = (uintptr_t)vec,
			.vec_len = SCAN_VEC,
			.category_anyof_mask = mask,
			.return_mask = mask | LIVE_PAGE_IS_PFNZERO | LIVE_PAGE_IS_HUGE,
		};
		long n = ioctl(pm->fd, LIVE_PAGEMAP_SCAN, &arg);

		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			if (err == ENOTTY || err == EINVAL || err == EOPNOTSUPP) {
				pm->scan_ok = false;
				return -EOPNOTSUPP;
			}
			return err == ESRCH ? -ESRCH : -err;
		}
		if (*nr + (size_t)n > *cap) {
			size_t ncap = (*cap ? *cap * 2 : 256) + (size_t)n;
			struct live_region *p = realloc(*out, ncap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			*out = p;
			*cap = ncap;
		}
		for (long i = 0; i < n; i++)
			(*out)[(*nr)++] = (struct live_region){
				vec[i].start, vec[i].end, vec[i].categories };
		if (arg.walk_end <= start)
			break;
		start = arg.walk_end;
	}
	return 0;
}
