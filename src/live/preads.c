// SPDX-License-Identifier: MIT
/*
 * preads.c - a list of preads of /proc files run by this thread and, when
 * the list is long enough to be worth it and the process may use a second
 * CPU, by one helper thread started on first use, the two taking the next
 * pread of the list in turn: nearly all the time of reading page tables is
 * spent in the kernel filling pagemap, kpageflags and kpagecount entries,
 * one after the other, so two CPUs do it in about half the time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "live/live_internal.h"

/* Below this many bytes in all, one thread reads the whole list. */
#define SPLIT_BYTES (64u << 10)

static int do_pread(const struct live_pread *t)
{
	size_t got = 0;

	while (got < t->len) {
		ssize_t n = pread(t->fd, (char *)t->dst + got, t->len - got,
				  (off_t)(t->off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (t->pagemap) {
			if (n < 0)
				return errno == ESRCH || errno == ENOENT ? -ESRCH : -errno;
			if (n == 0)	/* the mm is gone */
				return -ESRCH;
		} else if (n <= 0) {
			break;	/* past the end of memory: zeros */
		}
		got += (size_t)n;
	}
	memset((char *)t->dst + got, 0, t->len - got);
	return 0;
}

/*
 * Take the next task of the open job until none is left: the two threads
 * share the list task by task, so that when the helper is not given a CPU
 * soon, this thread reads the whole list and waits for nobody.
 */
static int take(struct live_readers *rd)
{
	size_t i;
	int ret = 0;

	while ((i = atomic_fetch_add(&rd->next, 1)) < rd->nr) {
		int err = do_pread(&rd->tasks[i]);

		if (err < 0 && !ret)
			ret = err;
	}
	return ret;
}

static void *helper(void *arg)
{
	struct live_readers *rd = arg;
	uint64_t done_gen = 0;

	pthread_mutex_lock(&rd->lock);
	for (;;) {
		while (!rd->quit && !(rd->open && rd->gen != done_gen))
			pthread_cond_wait(&rd->go, &rd->lock);
		if (rd->quit)
			break;
		done_gen = rd->gen;
		rd->helping = true;
		pthread_mutex_unlock(&rd->lock);
		rd->helper_ret = take(rd);
		pthread_mutex_lock(&rd->lock);
		rd->helping = false;
		pthread_cond_signal(&rd->done);
	}
	pthread_mutex_unlock(&rd->lock);
	return NULL;
}

/* Is there a second CPU to read on, and a helper thread running on it? */
static bool helper_ready(struct live_readers *rd)
{
	cpu_set_t cpus;

	if (rd->started || rd->failed)
		return rd->started;
	rd->failed = true;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) || CPU_COUNT(&cpus) < 2)
		return false;
	if (pthread_mutex_init(&rd->lock, NULL))
		return false;
	if (pthread_cond_init(&rd->go, NULL)) {
		pthread_mutex_destroy(&rd->lock);
		return false;
	}
	if (pthread_cond_init(&rd->done, NULL)) {
		pthread_cond_destroy(&rd->go);
		pthread_mutex_destroy(&rd->lock);
		return false;
	}
	if (pthread_create(&rd->thread, NULL, helper, rd)) {
		pthread_cond_destroy(&rd->done);
		pthread_cond_destroy(&rd->go);
		pthread_mutex_destroy(&rd->lock);
		return false;
	}
	rd->failed = false;
	rd->started = true;
	return true;
}

int live_preads(struct live_readers *rd, const struct live_pread *t, size_t nr)
{
	size_t total = 0;
	int ret, theirs;

	for (size_t i = 0; i < nr; i++)
		total += t[i].len;
	if (nr < 2 || total < SPLIT_BYTES || !helper_ready(rd)) {
		ret = 0;
		for (size_t i = 0; i < nr && !ret; i++)
			ret = do_pread(&t[i]);
		return ret;
	}
	pthread_mutex_lock(&rd->lock);
	rd->tasks = t;
	rd->nr = nr;
	atomic_store(&rd->next, 0);
	rd->helper_ret = 0;
	rd->gen++;
	rd->open = true;
	pthread_cond_signal(&rd->go);
	pthread_mutex_unlock(&rd->lock);
	ret = take(rd);
	/* Closed: a helper that wakes only now leaves this list alone. */
	pthread_mutex_lock(&rd->lock);
	rd->open = false;
	while (rd->helping)
		pthread_cond_wait(&rd->done, &rd->lock);
	theirs = rd->helper_ret;
	pthread_mutex_unlock(&rd->lock);
	return ret < 0 ? ret : theirs;
}

void live_readers_stop(struct live_readers *rd)
{
	if (!rd->started)
		return;
	pthread_mutex_lock(&rd->lock);
	rd->quit = true;
	pthread_cond_signal(&rd->go);
	pthread_mutex_unlock(&rd->lock);
	pthread_join(rd->thread, NULL);
	pthread_cond_destroy(&rd->done);
	pthread_cond_destroy(&rd->go);
	pthread_mutex_destroy(&rd->lock);
	rd->started = false;
}
