// SPDX-License-Identifier: MIT
/*
 * cgroup.c - the temporary cgroup of the host tests (cgroup.h): found
 * through /proc/self/mounts, made with mkdir(2); removed by writing 1 to
 * its cgroup.kill and retrying rmdir(2) while its processes go away (each
 * step async-signal-safe, so the host undo stack may run it from a
 * signal handler).
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers/cgroup.h"
#include "helpers/host_undo.h"

static char cg_path[256];
static volatile sig_atomic_t cg_made;

/* Open the cgroup's file name; fd or -errno (no snprintf: signal-safe). */
static int cg_open(const char *name, int flags)
{
	char path[320];
	size_t n = strlen(cg_path), m = strlen(name);
	int fd;

	if (n + 1 + m + 1 > sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, cg_path, n);
	path[n] = '/';
	memcpy(path + n + 1, name, m + 1);
	fd = open(path, flags);
	return fd < 0 ? -errno : fd;
}

/* Write text to the cgroup's file name; 0 or -errno. */
static int cg_write(const char *name, const char *text)
{
	int fd = cg_open(name, O_WRONLY), ret = 0;

	if (fd < 0)
		return fd;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Without cgroup.kill (before Linux 5.14): SIGKILL each pid it lists. */
static void cg_kill_each(void)
{
	char buf[4096];
	ssize_t n;
	pid_t pid = 0;
	int fd = cg_open("cgroup.procs", O_RDONLY);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] >= '0' && buf[i] <= '9') {
			pid = pid * 10 + (buf[i] - '0');
			continue;
		}
		if (pid > 0)
			kill(pid, SIGKILL);
		pid = 0;
	}
}

void cgroup_remove(void)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };

	if (!cg_made)
		return;
	if (cg_write("cgroup.kill", "1") < 0)
		cg_kill_each();
	/* A killed process leaves the cgroup once it is gone: reap, retry. */
	for (int i = 0; i < 300 && rmdir(cg_path) < 0 && errno == EBUSY; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		nanosleep(&tick, NULL);
	}
	cg_made = 0;
}

/* The mount point of the first cgroup2 file system, or -ENOENT. */
static int cgroup2_root(char *buf, size_t len)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	struct mntent *m;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2"))
			continue;
		ret = snprintf(buf, len, "%s", m->mnt_dir) < (int)len ? 0 : -ENAMETOOLONG;
		break;
	}
	endmntent(f);
	return ret;
}

/* The path of the cgroup that process creator makes, into cg_path. */
static int cg_name(pid_t creator)
{
	char root[200];
	int ret = cgroup2_root(root, sizeof(root));

	if (ret < 0)
		return ret;
	snprintf(cg_path, sizeof(cg_path), "%s/mthp-test-%d", root, (int)creator);
	return 0;
}

int cgroup_create(char *path, size_t len)
{
	int ret;

	if (cg_made)
		return -EBUSY;
	ret = cg_name(getpid());
	if (ret < 0)
		return ret;
	ret = host_undo_register(cgroup_remove);
	if (ret < 0)
		return ret;
	if (mkdir(cg_path, 0755) < 0)
		return -errno;
	cg_made = 1;
	snprintf(path, len, "%s", cg_path);
	return 0;
}

bool cgroup_remove_leftover(pid_t creator)
{
	if (cg_made || cg_name(creator) < 0 || access(cg_path, F_OK) < 0)
		return false;
	cg_made = 1;
	cgroup_remove();
	return true;
}

int cgroup_add(pid_t pid)
{
	char text[24];

	snprintf(text, sizeof(text), "%d", (int)pid);
	return cg_write("cgroup.procs", text);
}
