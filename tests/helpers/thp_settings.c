// SPDX-License-Identifier: MIT
/*
 * thp_settings.c - the THP knob stack of the host tests: original values
 * saved on first push, restored newest first by the host undo stack (at
 * exit and from a signal handler: open/write/close only, which are
 * async-signal-safe).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/host_undo.h"
#include "helpers/thp_settings.h"

#define THP_DIR "/sys/kernel/mm/transparent_hugepage/"
#define MAX_KNOBS 32

struct knob {
	char path[256];
	char orig[64];
	size_t orig_len;
};

static struct knob knobs[MAX_KNOBS];
static volatile sig_atomic_t nr_knobs;

static int read_value(const char *path, char *buf, size_t len)
{
	char text[256], *lb, *rb;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	text[strcspn(text, "\n")] = '\0';
	lb = strchr(text, '[');
	rb = lb ? strchr(lb, ']') : NULL;
	if (lb && rb) {
		*rb = '\0';
		lb++;
	} else {
		lb = text;
	}
	if (strlen(lb) >= len)
		return -ERANGE;
	memcpy(buf, lb, strlen(lb) + 1);
	return 0;
}

static int write_value(const char *path, const char *value, size_t len)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

void thp_settings_restore(void)
{
	for (int i = nr_knobs - 1; i >= 0; i--)
		write_value(knobs[i].path, knobs[i].orig, knobs[i].orig_len);
}

int thp_settings_push(const char *knob, const char *value)
{
	char path[256];
	int i, ret;

	snprintf(path, sizeof(path), THP_DIR "%s", knob);
	ret = host_undo_register(thp_settings_restore);
	if (ret < 0)
		return ret;
	for (i = 0; i < nr_knobs; i++)
		if (!strcmp(knobs[i].path, path))
			break;
	if (i == nr_knobs) {
		if (nr_knobs == MAX_KNOBS)
			return -ENOSPC;
		snprintf(knobs[i].path, sizeof(knobs[i].path), "%s", path);
		ret = read_value(path, knobs[i].orig, sizeof(knobs[i].orig));
		if (ret < 0)
			return ret;
		knobs[i].orig_len = strlen(knobs[i].orig);
		/* The entry is complete before a handler can see it. */
		atomic_signal_fence(memory_order_release);
		nr_knobs = i + 1;	/* only now can a handler restore it */
	}
	return write_value(path, value, strlen(value));
}

bool thp_settings_verify(void)
{
	char now[64];

	for (int i = 0; i < nr_knobs; i++) {
		if (read_value(knobs[i].path, now, sizeof(now)) < 0 ||
		    strcmp(now, knobs[i].orig)) {
			fprintf(stderr, "thp_settings: %s is '%s', was '%s'\n",
				knobs[i].path, now, knobs[i].orig);
			return false;
		}
	}
	return true;
}

int thp_settings_read(const char *knob, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), THP_DIR "%s", knob);
	return read_value(path, buf, len);
}

int thp_settings_write(const char *knob, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), THP_DIR "%s", knob);
	return write_value(path, value, strlen(value));
}
