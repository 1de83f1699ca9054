// SPDX-License-Identifier: MIT
/*
 * swapfile.c - the temporary swap file of the live tests: written with
 * zeros (a swap file must have no holes), mkswap, swapon(2); removed by
 * swapoff(2) and unlink(2), which a signal handler may call, at exit or
 * on a signal, after which the signal goes to the previous handler.
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

#include "helpers/swapfile.h"

static char swap_path[256];
static volatile sig_atomic_t swap_state;	/* 0 none, 1 file, 2 swapped on */
static bool installed;
static const int signals[] = { SIGINT, SIGTERM, SIGSEGV, SIGABRT };
static struct sigaction old_actions[sizeof(signals) / sizeof(signals[0])];

void swapfile_remove(void)
{
	if (swap_state == 2)
		swapoff(swap_path);
	if (swap_state >= 1)
		unlink(swap_path);
	swap_state = 0;
}

static void on_signal(int sig)
{
	swapfile_remove();
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i] != sig)
			continue;
		sigaction(sig, &old_actions[i], NULL);
		if (old_actions[i].sa_handler != SIG_IGN)
			raise(sig);
		return;
	}
}

static void install(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (installed)
		return;
	installed = true;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, &old_actions[i]);
	atexit(swapfile_remove);
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
	install();
	snprintf(swap_path, sizeof(swap_path), "%s/mthp-test-swap.XXXXXX", dir);
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
