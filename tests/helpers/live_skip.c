// SPDX-License-Identifier: MIT
/* live_skip.c - the live and host tests' common reasons to skip (live_skip.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
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
