// SPDX-License-Identifier: MIT
/*
 * output.c - output files named on the command line are checked before
 * the work that fills them, so a long run does not end with "cannot
 * create": the directory exists and is a directory, and the file is
 * writable, or can be created there (made, then removed again).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

/* The directory part of path ("." when there is none) in buf. */
static void dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

/* 0, or -errno with why in buf. */
static int check_dir(const char *dir, char *why, size_t len)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		int err = -errno;

		snprintf(why, len, "directory %s: %s", dir,
			 err == -ENOENT ? "does not exist" : strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "%s is not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

static int check_failed(char *why, size_t len, const char *what, int err)
{
	snprintf(why, len, "cannot be %s: %s", what, strerror(-err));
	return err;
}

static int check_file(const char *path, char *why, size_t len)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(why, len, "is a directory");
			return -EISDIR;
		}
		/* a FIFO's open would wait for a reader: ask, do not open */
		if (!S_ISREG(st.st_mode))
			return access(path, W_OK) ? check_failed(why, len, "written", -errno) : 0;
		fd = open(path, O_WRONLY | O_CLOEXEC);	/* no O_TRUNC: not yet */
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return check_failed(why, len, errno == EEXIST ? "created" : "written", -errno);
	close(fd);
	return 0;
}

int mthp_cli_check_output(FILE *err, const char *cmd, const char *opt,
			  const char *path)
{
	char dir[4096], why[4200];

	if (!path || !strcmp(path, "-"))
		return 0;
	if (!*path) {
		fprintf(err, "mthp %s: %s: the file name is empty\n", cmd, opt);
		return EXIT_USAGE;	/* a bad option value, not a file that fails */
	}
	dir_of(path, dir, sizeof(dir));
	if (check_dir(dir, why, sizeof(why)) < 0 || check_file(path, why, sizeof(why)) < 0) {
		fprintf(err, "mthp %s: %s %s: %s\n", cmd, opt, path, why);
		return 1;
	}
	return 0;
}

int mthp_cli_check_not_input(FILE *err, const char *cmd, const char *opt,
			     const char *path, const char *input)
{
	struct stat out, in;

	if (!path || !strcmp(path, "-") || !input || stat(path, &out) < 0 ||
	    stat(input, &in) < 0)
		return 0;
	if (out.st_dev != in.st_dev || out.st_ino != in.st_ino)
		return 0;
	fprintf(err, "mthp %s: %s %s: is %s, the file being read; writing it would "
		"destroy it\n", cmd, opt, path, input);
	return 1;
}

FILE *mthp_cli_open_input(const char *path)
{
	FILE *f = fopen(path, "r");
	struct stat st;

	if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		errno = EISDIR;
		return NULL;
	}
	return f;
}

int mthp_cli_json_failed(FILE *err, const char *cmd, int ret)
{
	fprintf(err, "mthp %s: %s\n", cmd, ret == -ENOMEM ?
		"out of memory building the JSON report" : "writing the JSON report failed");
	return 1;
}
