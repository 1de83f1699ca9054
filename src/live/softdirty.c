// SPDX-License-Identifier: MIT
/*
 * softdirty.c - whether this kernel tracks soft-dirty bits, found out on
 * a page of this process's own: clear the bits (/proc/self/clear_refs 4),
 * write the page, and read its pagemap entry, whose bit 55 a kernel with
 * CONFIG_MEM_SOFT_DIRTY sets on the write.  Nothing outside this process
 * changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mthp/live.h>

#include "live/live_internal.h"


int mthp_live_soft_dirty(struct mthp_diag *diag)
{
	long page = sysconf(_SC_PAGESIZE);
	struct live_pagemap pm;
	uint64_t e = 0;
	int fd, ret;
	char *p;

	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		live_diag(diag, "soft-dirty check: mmap: %s", strerror(errno));
		return -ENOMEM;
	}
	p[0] = 1;
	fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd < 0 || write(fd, "4", 1) != 1) {
		ret = -errno;
		live_diag(diag, "soft-dirty check: writing 4 to /proc/self/clear_refs: %s",
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		munmap(p, (size_t)page);
		return ret;
	}
	close(fd);
	p[0] = 2;
	ret = live_pagemap_open(&pm, getpid(), (uint32_t)page, diag);
	if (!ret) {
		ret = live_pagemap_read(&pm, (uint64_t)(uintptr_t)p / (uint64_t)page, 1, &e);
		if (ret)
			live_diag(diag, "soft-dirty check: reading /proc/self/pagemap: %s",
				  strerror(-ret));
		live_pagemap_close(&pm);
	}
	munmap(p, (size_t)page);
	if (ret)
		return ret;
	return (e & PM_SOFT_DIRTY) ? 1 : 0;
}

int mthp_live_clear_soft_dirty(pid_t pid, struct mthp_diag *diag)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "4", 1) != 1)
		ret = errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;	/* gone */
	if (fd >= 0)
		close(fd);
	if (ret)
		live_diag(diag, "writing 4 to %s (clearing the soft-dirty bits): %s", path,
			  strerror(-ret));
	return ret;
}
