// SPDX-License-Identifier: MIT
/* live_skip.c - the live and host tests' common reasons to skip (live_skip.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mthp/live.h>

#include "helpers/live_skip.h"

int live_test_requirements(bool need_64k)
{
	struct mthp_diag diag = { 0 };
	const char *thp = need_64k ? "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled" :
				     "/sys/kernel/mm/transparent_hugepage/enabled";

	if (geteuid() != 0) {
		printf("SKIP: needs root (CAP_SYS_ADMIN) to read PFNs and kpageflags\n");
		return 77;
	}
	if (access(thp, F_OK)) {
		printf("SKIP: no THP%s on this kernel\n", need_64k ? " with a 64kB size" : "");
		return 77;
	}
	if (sysconf(_SC_PAGESIZE) != 4096) {
		printf("SKIP: the layouts assume 4 KiB pages\n");
		return 77;
	}
	if (mthp_live_check_access(&diag) < 0) {
		printf("SKIP: %s\n", diag.msg);
		return 77;
	}
	return 0;
}

int host_test_requirements(bool need_64k)
{
	const char *knob = "/sys/kernel/mm/transparent_hugepage/enabled";

	if (geteuid() != 0) {
		printf("SKIP: needs root: the host tests write THP knobs, swap on "
		       "a file and make a cgroup\n");
		return 77;
	}
	if (access(knob, F_OK) == 0 && access(knob, W_OK) < 0) {
		printf("SKIP: %s is not writable here: %s\n", knob, strerror(errno));
		return 77;
	}
	return live_test_requirements(need_64k);
}

#define KPF_ZERO_PAGE_BIT 24	/* include/uapi/linux/kernel-page-flags.h */

/* 1: the page a read fault mapped is the zero page; 0: it is not; -1: cannot tell. */
static int probe_zero_page(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t e = 0, flags = 0;
	int pm, kf, ret = -1;
	char *p = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	(void)*(volatile char *)p;
	pm = open("/proc/self/pagemap", O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	if (pm >= 0 && kf >= 0 &&
	    pread(pm, &e, sizeof(e), (off_t)((uintptr_t)p / (uintptr_t)page * sizeof(e))) ==
	    sizeof(e) && (e >> 63) &&
	    pread(kf, &flags, sizeof(flags), (off_t)((e & ((1ull << 55) - 1)) * sizeof(flags))) ==
	    sizeof(flags))
		ret = (int)(flags >> KPF_ZERO_PAGE_BIT & 1);
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	munmap(p, (size_t)page);
	return ret;
}

bool live_read_maps_zero_page(void)
{
	static int known = -2;

	if (known == -2) {
		known = probe_zero_page();
		if (known == 0)
			printf("NOTE: a read fault maps no zero page on this kernel (it allocates "
			       "a page): the checks of zero-page PTEs expect none\n");
	}
	return known != 0;
}
