// SPDX-License-Identifier: MIT
/* daemon_child.c - the child and checks of the daemon tests (daemon_child.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/live.h>

#include "helpers/daemon_child.h"
#include "helpers/live_child.h"

const char *const daemon_overrides[2] = { DAEMON_SET_ALWAYS, DAEMON_SET_NONE };

static void layout_dense_sparse(char *a)
{
	memset(a, 1, LIVE_PMD_SIZE);
	for (size_t i = 0; i < DAEMON_SPARSE_PAGES; i++)
		a[LIVE_PMD_SIZE + i * LIVE_PAGE] = 1;
}

struct daemon_child daemon_child_start(void)
{
	struct live_child lc = live_child_start(layout_dense_sparse);
	struct daemon_child c = {
		.pid = lc.pid,
		.dense = lc.addr,
		.sparse = lc.addr + LIVE_PMD_SIZE,
		.empty = lc.addr + 2 * LIVE_PMD_SIZE,
	};

	snprintf(c.pid_text, sizeof(c.pid_text), "%d", (int)c.pid);
	return c;
}

int daemon_pmd_mapped(pid_t pid, uint64_t addr)
{
	struct mthp_geometry geo;
	struct mthp_diag diag = { 0 };

	assert_int_equal(mthp_live_geometry(&geo, &diag), 0);
	return mthp_live_pmd_mapped(pid, addr, &geo, &diag);
}

void daemon_require_small_pages(const struct daemon_child *c)
{
	if (daemon_pmd_mapped(c->pid, c->dense) != 0) {
		print_message("SKIP: enabled=always on the host: the dense range is a THP "
			      "at fault\n");
		skip();
	}
}
