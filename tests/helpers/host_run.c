// SPDX-License-Identifier: MIT
/* host_run.c - run the cases of a host test and check the host after (host_run.h). */
#include <stdio.h>
#include <unistd.h>

#include "helpers/host_run.h"
#include "helpers/host_undo.h"
#include "helpers/live_child.h"
#include "helpers/live_skip.h"
#include "helpers/swapfile.h"
#include "helpers/thp_settings.h"

int host_tests_run(struct CMUnitTest *tests, size_t n, bool need_64k)
{
	int ret = live_tests_run(tests, n, host_test_requirements(need_64k));

	if (ret == 77)
		return ret;
	host_undo_all();
	if (!thp_settings_verify() || swapfile_listed(getpid())) {
		fprintf(stderr, "a THP knob or the swap file was left behind\n");
		return 1;
	}
	return ret;
}
