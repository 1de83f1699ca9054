// SPDX-License-Identifier: MIT
/*
 * stress_shrink.c - `stress --shrink` (stress_shrink.h).  A candidate
 * schedule runs in a child (fork) whose output goes nowhere; its exit
 * says whether it failed (1, or killed by a signal: a crash is a failure)
 * and a pipe brings back its scheduling points and its decisions that
 * differed from the default, written at its end or by the crash report.
 * Each candidate of the same seed is deterministic, so a shrunk schedule
 * fails every time it is run.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mthp/sched.h>

#include "helpers/stress_shrink.h"

#define MAX_TRIES 4000		/* candidate schedules at most */
#define MAX_SECONDS 300.0	/* and this long */
#define CHILD_SECONDS 60	/* one candidate */

struct shrink {
	unsigned tries;
	double deadline;
	/* the last candidate's */
	uint64_t steps;
	struct sim_sched_preempt *decisions;
	size_t nr_decisions;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* The child: run cfg with no output, send back its decisions, exit 1 on a failure. */
static _Noreturn void child(const struct stress_config *cfg, int fd)
{
	struct stress_totals t;
	int null = open("/dev/null", O_WRONLY);

	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	alarm(CHILD_SECONDS);
	stress_decisions_fd = fd;
	if (stress_run(cfg, &t, NULL))
		_exit(2);
	stress_send_decisions(fd, t.steps);
	_exit(stress_ok(&t) ? 0 : 1);
}

/*
 * Run cfg in a child: 1 when it failed, 0 when it passed, -errno.  The
 * child's steps and decisions land in sh (when it sent them).
 */
static int try_run(struct shrink *sh, const struct stress_config *cfg)
{
	uint64_t steps = 0, n = 0;
	int fds[2], status;
	pid_t pid;

	sh->tries++;
	if (pipe(fds))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!pid) {
		close(fds[0]);
		child(cfg, fds[1]);
	}
	close(fds[1]);
	if (read_all(fds[0], &steps, sizeof(steps)) && read_all(fds[0], &n, sizeof(n)) &&
	    n < (1u << 26)) {
		struct sim_sched_preempt *d = malloc((n + 1) * sizeof(*d));

		if (d && read_all(fds[0], d, n * sizeof(*d))) {
			free(sh->decisions);
			sh->decisions = d;
			sh->nr_decisions = n;
			sh->steps = steps;
		} else {
			free(d);
		}
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGALRM ? 0 : 1;
	if (WEXITSTATUS(status) == 2)
		return -EINVAL;
	return WEXITSTATUS(status) == 1;
}

static bool out_of_budget(const struct shrink *sh)
{
	return sh->tries >= MAX_TRIES || now() > sh->deadline;
}

/* Does the candidate fail?  (Out of budget: taken as no.) */
static bool fails(struct shrink *sh, const struct stress_config *cfg, int *err)
{
	int r;

	if (*err || out_of_budget(sh))
		return false;
	r = try_run(sh, cfg);
	if (r < 0)
		*err = r;
	return r == 1;
}

/* Fewer mutator threads: the fewest that still fail. */
static void fewer_threads(struct shrink *sh, struct stress_config *c, int *err, FILE *out)
{
	unsigned from = c->nr_threads;

	for (unsigned t = 1; t < from; t++) {
		struct stress_config k = *c;

		k.nr_threads = t;
		if (fails(sh, &k, err)) {
			c->nr_threads = t;
			break;
		}
	}
	fprintf(out, "shrink: mutator threads %u -> %u\n", from, c->nr_threads);
}

/* Fewer operations: take away halves, quarters, ... while it still fails. */
static void fewer_ops(struct shrink *sh, struct stress_config *c, int *err, FILE *out)
{
	unsigned from = c->ops;

	for (unsigned d = c->ops / 2; d >= 1; d /= 2) {
		while (c->ops > d) {
			struct stress_config k = *c;

			k.ops = c->ops - d;
			if (!fails(sh, &k, err))
				break;
			c->ops = k.ops;
		}
	}
	fprintf(out, "shrink: operations %u -> %u\n", from, c->ops);
}

/*
 * Fewer preemptions: replay the schedule's own decisions, then drop
 * chunks of them (halves, quarters, ..., single ones) while the replay
 * still fails.  *list is the kept list (malloc'd).
 */
static void fewer_preemptions(struct shrink *sh, struct stress_config *c,
			      struct sim_sched_preempt **list, int *err, FILE *out)
{
	struct stress_config k = *c;
	struct sim_sched_preempt *d, *trial;
	size_t n, n0;

	/* the decisions of the schedule as it stands */
	if (!fails(sh, c, err) || !sh->decisions) {
		fprintf(out, "shrink: the schedule's decisions could not be read back; "
			"preemptions not shrunk\n");
		return;
	}
	n = n0 = sh->nr_decisions;
	d = malloc((n + 1) * sizeof(*d));
	trial = malloc((n + 1) * sizeof(*trial));
	if (!d || !trial) {
		free(d);
		free(trial);
		*err = -ENOMEM;
		return;
	}
	memcpy(d, sh->decisions, n * sizeof(*d));
	k.strategy = SIM_SCHED_REPLAY;
	k.replay = d;
	k.nr_replay = n;
	if (!fails(sh, &k, err)) {
		fprintf(out, "shrink: the replay of the schedule's %zu decisions passed; "
			"preemptions not shrunk\n", n);
		free(d);
		free(trial);
		return;
	}
	for (size_t chunk = n / 2 ? n / 2 : 1; chunk >= 1 && n; chunk /= 2) {
		for (size_t i = 0; i < n;) {
			size_t len = i + chunk <= n ? chunk : n - i;

			memcpy(trial, d, i * sizeof(*d));
			memcpy(trial + i, d + i + len, (n - i - len) * sizeof(*d));
			k.replay = trial;
			k.nr_replay = n - len;
			if (fails(sh, &k, err)) {
				memcpy(d, trial, (n - len) * sizeof(*d));
				n -= len;
			} else {
				i += len;
			}
		}
	}
	fprintf(out, "shrink: preemptions %zu -> %zu\n", n0, n);
	free(trial);
	free(*list);
	*list = d;
	c->strategy = SIM_SCHED_REPLAY;
	c->replay = d;
	c->nr_replay = n;
}

int stress_shrink(const struct stress_config *cfg, FILE *out)
{
	struct shrink sh = { .deadline = now() + MAX_SECONDS };
	struct stress_config c = *cfg;
	struct sim_sched_preempt *list = NULL;
	uint64_t steps0;
	size_t preempt0;
	int err = 0, r;
	char *cmd;

	c.det = true;
	c.schedules = 1;
	r = try_run(&sh, &c);
	if (r < 0)
		return r;
	if (!r) {
		fprintf(out, "shrink: the schedule of seed %llu passes: nothing to shrink\n",
			(unsigned long long)c.seed);
		free(sh.decisions);
		return 0;
	}
	steps0 = sh.steps;
	preempt0 = sh.nr_decisions;
	fprintf(out, "shrink: the schedule of seed %llu fails: %u mutator threads, %u operations, "
		"%llu scheduling points, %zu preemptions\n", (unsigned long long)c.seed,
		c.nr_threads, c.ops, (unsigned long long)steps0, preempt0);
	if (c.strategy != SIM_SCHED_REPLAY) {
		fewer_threads(&sh, &c, &err, out);
		fewer_ops(&sh, &c, &err, out);
	}
	fewer_preemptions(&sh, &c, &list, &err, out);
	if (err) {
		free(list);
		free(sh.decisions);
		return err;
	}
	/* the shrunk schedule once more, for its steps */
	if (!fails(&sh, &c, &err))
		fprintf(out, "shrink: out of budget before the last check\n");
	fprintf(out, "shrunk in %u runs%s: %u mutator threads, %u operations, %llu scheduling "
		"points (from %llu), %zu preemptions (from %zu)\n", sh.tries,
		out_of_budget(&sh) ? " (out of budget: it may shrink further)" : "",
		c.nr_threads, c.ops, (unsigned long long)sh.steps,
		(unsigned long long)steps0, c.strategy == SIM_SCHED_REPLAY ? c.nr_replay : preempt0,
		preempt0);
	cmd = stress_replay_command(&c, c.seed);
	fprintf(out, "shrunk: replay it: %s\n\n", cmd ? cmd : "(out of memory)");
	free(cmd);
	fflush(out);
	/* and run it where its failure and timeline show */
	{
		struct stress_totals t;

		r = stress_run(&c, &t, out);
		if (!r)
			r = stress_ok(&t) ? 0 : 1;
	}
	free(list);
	free(sh.decisions);
	return r < 0 ? r : 1;
}
