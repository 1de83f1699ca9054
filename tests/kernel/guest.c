// SPDX-License-Identifier: MIT
/*
 * guest.c - the THP knobs and the snapshot command for the programs that
 * run inside the make check-kernel guest (see guest.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

const char *const guest_sizes[GUEST_NR_SIZES] = {
	"16kB", "32kB", "64kB", "128kB", "256kB", "512kB", "1024kB", "2048kB",
};

void guest_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

int guest_knob_write(const char *knob, const char *value)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), GUEST_THP "/%s", knob);
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		ret = -errno;
		goto out_say;
	}
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
out_say:
	if (ret)
		guest_say("cannot write '%s' to %s: %s", value, path, strerror(-ret));
	return ret;
}

int guest_knob_read(const char *knob, unsigned long *value)
{
	char path[256], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), GUEST_THP "/%s", knob);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		int ret = -errno;

		guest_say("cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		guest_say("cannot read %s", path);
		return -EIO;
	}
	buf[n] = '\0';
	*value = strtoul(buf, NULL, 10);
	return 0;
}

int guest_thp_all_never(void)
{
	char knob[64];

	for (size_t i = 0; i < GUEST_NR_SIZES; i++) {
		snprintf(knob, sizeof(knob), "hugepages-%s/enabled", guest_sizes[i]);
		if (guest_knob_write(knob, "never"))
			return -EIO;
	}
	return guest_knob_write("enabled", "never") ? -EIO : 0;
}

int guest_snapshot(pid_t pid, const char *path)
{
	const char *mthp = getenv("MTHP") ? getenv("MTHP") : "/bin/mthp";
	char pidstr[16];
	int status;
	pid_t p;

	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	p = fork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		execl(mthp, "mthp", "snapshot", "--pid", pidstr, "-o", path, (char *)NULL);
		guest_say("cannot run %s: %s", mthp, strerror(errno));
		_exit(127);
	}
	if (waitpid(p, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		guest_say("mthp snapshot --pid %s -o %s failed", pidstr, path);
		return -EIO;
	}
	return 0;
}
