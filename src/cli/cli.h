/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the subcommands of `mthp`.  Each takes its own argv (argv[0] is
 * the subcommand name), writes its output to out and its messages to err,
 * and returns the process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef MTHP_CLI_H
#define MTHP_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define EXIT_USAGE 2

struct mthp_command {
	const char *name;
	int (*run)(int argc, char **argv, FILE *out, FILE *err);
	const char *summary;
};

/* The command table, NULL-terminated (main.c). */
extern const struct mthp_command mthp_commands[];

/* A process id argument: decimal, 1 .. 2^30-1; 0 or -EINVAL. */
int mthp_cli_parse_pid(const char *text, pid_t *pid);

/*
 * output.c: check an output file of option opt before the work that
 * writes it (its directory exists, it can be written or created; "-" and
 * NULL pass).  0, or the exit status after "mthp CMD: OPT PATH: why" on
 * err: 1, or 2 (EXIT_USAGE) for an empty name, a bad option value.
 */
int mthp_cli_check_output(FILE *err, const char *cmd, const char *opt,
			  const char *path);
/*
 * The same file as input (both named, the output existing)?  1 (the exit
 * status) after saying so on err, else 0: opening the output would
 * truncate the input it is made from.
 */
int mthp_cli_check_not_input(FILE *err, const char *cmd, const char *opt,
			     const char *path, const char *input);

/*
 * A JSON report that could not be made (ret -ENOMEM) or written: 1 (the
 * exit status) after saying which on err.
 */
int mthp_cli_json_failed(FILE *err, const char *cmd, int ret);

/*
 * fopen(path, "r") of a file a command reads; NULL with errno EISDIR for
 * a directory, which fopen opens and whose first read would fail.
 */
FILE *mthp_cli_open_input(const char *path);

/* pause.c: CLOCK_MONOTONIC in ms. */
uint64_t mthp_cli_now_ms(void);
/*
 * Sleep until the monotonic time end (ms), or until *stop or *wake (may
 * be NULL) is set by a signal handler (SIGTERM, SIGINT, SIGUSR1, installed
 * without SA_RESTART); true when *wake ended it.
 */
bool mthp_cli_pause_until(uint64_t end, const volatile sig_atomic_t *stop,
			  const volatile sig_atomic_t *wake);

/* Run argv as `mthp argv[0] ...` would (used by main and tests). */
int mthp_cli_run(int argc, char **argv, FILE *out, FILE *err);

/* plan.c */
int cmd_plan(int argc, char **argv, FILE *out, FILE *err);

/* audit.c, snapshot.c, collapse.c (live processes) */
int cmd_audit(int argc, char **argv, FILE *out, FILE *err);
int cmd_snapshot(int argc, char **argv, FILE *out, FILE *err);
int cmd_collapse(int argc, char **argv, FILE *out, FILE *err);
int cmd_daemon(int argc, char **argv, FILE *out, FILE *err);	/* daemon.c */
int cmd_advise(int argc, char **argv, FILE *out, FILE *err);	/* advise.c */
int cmd_record(int argc, char **argv, FILE *out, FILE *err);	/* record.c */
int cmd_trace_diff(int argc, char **argv, FILE *out, FILE *err);	/* tracediff.c */

/* sim.c */
int cmd_sim(int argc, char **argv, FILE *out, FILE *err);
/*
 * replay.c: `mthp sim --replay PATH` with khugepaged off and under each
 * policy, and its reports; the exit status.
 */
struct cli_sweep_opts;
struct cli_replay_opts {
	const char *path;
	const int *policies;		/* enum mthp_policy */
	size_t nr_policies;
	const char *const *sets;
	size_t nr_sets;
	bool json, stats;
	const char *snapshot;		/* the last run's end state, or NULL */
	const char *map;		/* every run's end state drawn, or NULL */
	const char *timeline;		/* memory and TLB entries over time, or NULL */
	const struct cli_sweep_opts *tlb;	/* --tlb: the machine's MMU, when given */
};
int cli_sim_replay(const struct cli_replay_opts *o, FILE *out, FILE *err);
struct mthp_settings;
struct mthp_replay_size;
/*
 * The recording's settings with the --set ones, and its machine's size
 * with --set memory= and swap=: 0, or an exit status after saying why.
 */
int cli_replay_settings(const char *path, const char *const *sets, size_t nr_sets,
			struct mthp_settings *s, struct mthp_replay_size *size, FILE *err);

/*
 * load.c: `mthp sim --load PATH` ("-": standard input), khugepaged's full
 * passes over the loaded snapshot; the exit status.
 */
struct cli_load_opts {
	const char *path;
	int policy;			/* enum mthp_policy */
	uint64_t passes;		/* at most; a pass that collapses nothing ends them */
	const char *const *sets;
	size_t nr_sets;
	const char *trace;		/* or NULL */
	uint32_t trace_mask;		/* 0: every event */
	const char *snapshot;		/* the process after the passes, or NULL */
	bool stats;
	int swap_device;		/* enum sim_swap_device */
	const struct cli_sweep_opts *tlb;	/* --tlb: the machine's MMU, when given */
};
int cli_sim_load(const struct cli_load_opts *o, FILE *out, FILE *err);

struct mthp_settings;
struct mthp_snapshot;
/* The --set KNOB=VALUE assignments over s: 0, or EXIT_USAGE after saying why. */
int cli_apply_sets(const char *cmd, const char *const *sets, size_t nr_sets,
		   struct mthp_settings *s, FILE *err);
/* path created for writing, or NULL after saying why. */
FILE *cli_open_output(const char *cmd, const char *path, FILE *err);
/* snap written to path: 0, or 1 after saying why. */
int cli_write_snapshot(const char *cmd, const char *path, const struct mthp_snapshot *snap,
		       FILE *err);

#endif /* MTHP_CLI_H */
