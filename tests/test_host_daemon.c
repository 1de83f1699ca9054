// SPDX-License-Identifier: MIT
/*
 * test_host_daemon.c - `mthp daemon --cgroup` (make check-host): the
 * processes of a cgroup, made by the test below the cgroup2 mount, are
 * the targets, and a process moved into it is picked up at the next full
 * scan.  The cgroup is removed (its processes killed) at the end of the
 * case, at exit and on signals (host_undo.h).  Needs root, THP and a
 * writable cgroup2 mount.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/live.h>

#include "helpers/cgroup.h"
#include "helpers/daemon_child.h"
#include "helpers/host_run.h"
#include "helpers/live_child.h"

static int teardown(void **state)
{
	live_kids_teardown(state);
	cgroup_remove();
	return 0;
}

static void test_cgroup_picks_up_new_processes(void **state)
{
	struct daemon_child c = daemon_child_start();
	char cgroup[256];
	struct mthp_daemon_config cfg = {
		.cgroup = cgroup,
		.pages_to_scan = 1000000,
		.policy = MTHP_POLICY_UPSTREAM,
		.overrides = daemon_overrides,
		.nr_overrides = 2,
	};
	struct mthp_diag diag = { 0 };
	struct mthp_daemon d;
	int ret;

	(void)state;
	daemon_require_small_pages(&c);
	ret = cgroup_create(cgroup, sizeof(cgroup));
	if (ret < 0) {
		print_message("SKIP: no cgroup2 directory can be made: %s\n", strerror(-ret));
		skip();
	}
	if (mthp_daemon_init(&d, &cfg, NULL, &diag) < 0)
		fail_msg("daemon init: %s", diag.msg);
	assert_int_equal(d.nr_targets, 0);
	assert_int_equal(mthp_daemon_scan(&d, &diag), 0);	/* empty: nothing */
	assert_int_equal(d.c.pages_collapsed, 0);

	assert_int_equal(cgroup_add(c.pid), 0);
	assert_int_equal(mthp_daemon_scan(&d, &diag), 0);
	assert_int_equal(d.nr_targets, 1);
	assert_daemon_count(d.c.pages_collapsed, 1);
	assert_int_equal(daemon_pmd_mapped(c.pid, c.dense), 1);
	mthp_daemon_free(&d);
	live_kid_reap(c.pid);
	cgroup_remove();
	assert_int_equal(access(cgroup, F_OK), -1);	/* gone */
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_cgroup_picks_up_new_processes, teardown),
	};

	return host_tests_run(tests, sizeof(tests) / sizeof(tests[0]), false);
}
