// SPDX-License-Identifier: MIT
/*
 * madvise.c - process_madvise(MADV_COLLAPSE) on another process through a
 * pidfd (pidfd_open + syscall, for C libraries without wrappers), and the
 * check whether a PMD range is PMD-mapped now (PAGEMAP_SCAN).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "live/live_internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

int mthp_live_collapse(pid_t pid, uint64_t start, uint64_t len,
		       struct mthp_diag *diag)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)start, .iov_len = len };
	int pidfd, ret = 0;
	long n;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		ret = -errno;
		if (ret == -ESRCH)
			live_diag(diag, "pid %d: no such process", (int)pid);
		else
			live_diag(diag, "pid %d: pidfd_open: %s", (int)pid, strerror(-ret));
		return ret;
	}
	n = syscall(SYS_process_madvise, pidfd, &iov, 1UL, MADV_COLLAPSE, 0U);
	if (n < 0) {
		ret = -errno;
		switch (ret) {
		case -EPERM:
		case -EACCES:
			live_diag(diag, "pid %d: no permission for process_madvise(MADV_COLLAPSE) (needs CAP_SYS_NICE and ptrace access)",
				  (int)pid);
			break;
		case -ESRCH:
			live_diag(diag, "pid %d: the process exited", (int)pid);
			break;
		case -ENOSYS:
			live_diag(diag, "process_madvise is not available on this kernel");
			break;
		default:
			live_diag(diag, "pid %d: MADV_COLLAPSE %#llx-%#llx: %s", (int)pid,
				  (unsigned long long)start,
				  (unsigned long long)(start + len), strerror(-ret));
		}
	} else if ((uint64_t)n < len) {
		ret = -EAGAIN;
		live_diag(diag, "pid %d: MADV_COLLAPSE advised only %ld of %llu bytes",
			  (int)pid, n, (unsigned long long)len);
	}
	close(pidfd);
	return ret;
}

int mthp_live_pmd_mapped(pid_t pid, uint64_t pmd_addr,
			 const struct mthp_geometry *geo, struct mthp_diag *diag)
{
	struct live_pagemap pm;
	struct live_region *regions = NULL;
	size_t nr = 0, cap = 0;
	uint64_t end = pmd_addr + mthp_pmd_size(geo);
	int ret;

	ret = live_pagemap_open(&pm, pid, geo->page_size, diag);
	if (ret < 0)
		return ret;
	ret = live_pagemap_regions(&pm, pmd_addr, end, &regions, &nr, &cap);
	if (ret == 0)
		ret = nr == 1 && regions[0].start <= pmd_addr && regions[0].end >= end &&
		      (regions[0].categories & LIVE_PAGE_IS_HUGE) ? 1 : 0;
	else
		live_diag(diag, "pid %d: cannot read pagemap: %s", (int)pid,
			  strerror(-ret));
	free(regions);
	live_pagemap_close(&pm);
	return ret;
}
