// SPDX-License-Identifier: MIT
/*
 * swapfile.c - the temporary swap file of the host tests: written with
 * zeros (a swap file must have no holes), mkswap, swapon(2); removed by
 * swapoff(2) and unlink(2), which a signal handler may call, through the
 * host undo stack (at exit and on signals).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/host_undo.h"
#include "helpers/swapfile.h"

static char swap_path[256];
static volatile sig_atomic_t swap_state;	/* 0 none, 1 file, 2 swapped on */

void swapfile_remove(void)
{
	if (swap_state == 2)
		swapoff(swap_path);
	if (swap_state >= 1)
		unlink(swap_path);
	swap_state = 0;
}

static int run_mkswap(const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("mkswap", "mkswap", path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENOEXEC;
}

int swapfile_create(const char *dir, size_t mb)
{
	static char zeros[1 << 20];
	int fd, ret;

	if (swap_state)
		return -EBUSY;
	ret = host_undo_register(swapfile_remove);
	if (ret < 0)
		return ret;
	snprintf(swap_path, sizeof(swap_path), "%s/mthp-test-swap-%d.XXXXXX", dir,
		 (int)getpid());
	fd = mkstemp(swap_path);
	if (fd < 0)
		return -errno;
	swap_state = 1;
	for (size_t i = 0; i < mb; i++) {
		if (write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros)) {
			ret = -errno;
			close(fd);
			goto out_remove;
		}
	}
	fchmod(fd, 0600);
	fsync(fd);
	close(fd);
	ret = run_mkswap(swap_path);
	if (ret < 0)
		goto out_remove;
	if (swapon(swap_path, 0) < 0) {
		ret = -errno;
		goto out_remove;
	}
	swap_state = 2;
	return 0;

out_remove:
	swapfile_remove();
	return ret;
}

bool swapfile_listed(pid_t creator)
{
	char line[512], name[64];
	bool found = false;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	snprintf(name, sizeof(name), "/mthp-test-swap-%d.", (int)creator);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, name) != NULL;
	fclose(f);
	return found;
}
