/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h - a temporary cgroup v2 directory for the host tests: made
 * below the first cgroup2 mount, and removed (its processes killed
 * first) at exit, on the signals of host_undo.h and by cgroup_remove().
 */
#ifndef MTHP_TEST_CGROUP_H
#define MTHP_TEST_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Make the cgroup and write its path to path (len bytes).  0, -ENOENT when
 * no cgroup2 file system is mounted, or another -errno of mkdir.
 */
int cgroup_create(char *path, size_t len);

/* Move pid into the cgroup; 0 or -errno. */
int cgroup_add(pid_t pid);

/* Kill its processes and remove it (idempotent; also at exit and on signals). */
void cgroup_remove(void);

/*
 * The cgroup that process creator made and left behind, if any: removed as
 * cgroup_remove() does; true when there was one.
 */
bool cgroup_remove_leftover(pid_t creator);

#endif /* MTHP_TEST_CGROUP_H */
