// SPDX-License-Identifier: MIT
/* examples.c - walk and read the example snapshots (examples.h). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/examples.h"

unsigned examples_each_snap(void (*fn)(const char *path, void *ctx), void *ctx)
{
	DIR *dir = opendir(EXAMPLES_DIR);
	struct dirent *e;
	unsigned count = 0;

	if (!dir)
		fail_msg("%s: %s (run from the project root)", EXAMPLES_DIR, strerror(errno));
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		char path[512];

		if (len < 6 || strcmp(e->d_name + len - 5, ".snap"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, e->d_name);
		fn(path, ctx);
		count++;
	}
	closedir(dir);
	return count;
}

int example_read(const char *path, struct mthp_snapshot *snap,
		 struct mthp_settings *s, struct mthp_diag *diag)
{
	FILE *f = fopen(path, "r");
	int err;

	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	mthp_snapshot_init(snap, NULL);
	err = mthp_snapshot_read(snap, f, path, diag);
	fclose(f);
	if (err)
		return err;
	if (mthp_snapshot_settings(snap, s, path, diag))
		fail_msg("%s", diag->msg);
	return 0;
}
