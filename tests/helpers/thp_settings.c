// SPDX-License-Identifier: MIT
/*
 * thp_settings.c - the THP knob stack of the live tests: original values
 * saved on first push, restored newest first at exit and from a signal
 * handler (open/write/close only, which are async-signal-safe), then the
 * signal is passed on to the handler installed before ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
static bool installed;
static const int signals[] = { SIGINT, SIGTERM, SIGSEGV, SIGABRT };
static struct sigaction old_actions[sizeof(signals) / sizeof(signals[0])];

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

static void on_signal(int sig)
{
	thp_settings_restore();
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i] != sig)
			continue;
		sigaction(sig, &old_actions[i], NULL);
		if (old_actions[i].sa_handler == SIG_IGN)
			return;
		raise(sig);	/* the previous handler, or the default */
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
	atexit(thp_settings_restore);
}

int thp_settings_push(const char *knob, const char *value)
{
	char path[256];
	int i, ret;

	snprintf(path, sizeof(path), THP_DIR "%s", knob);
	install();
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
