// SPDX-License-Identifier: MIT
/*
 * plugin.c - load a policy plug-in with dlopen and check it; run the work
 * that calls its hooks in a forked child whose output comes back through
 * pipes, so that a crash or a hang of the plug-in costs the child, and
 * the parent still says what happened.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mthp/policy_plugin.h>

#include "cli/opts.h"
#include "cli/plugin.h"

static bool good_name(const char *name)
{
	if (!name || !*name || strlen(name) > 64)
		return false;
	for (const char *c = name; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	}
	return true;
}

int mthp_plugin_load(const char *cmd, const char *path,
		     const struct mthp_policy_plugin **plugin,
		     enum mthp_policy *fallback, FILE *err)
{
	const struct mthp_policy_plugin *p;
	void *handle;

	/* a name without a slash would be searched for in the library path */
	if (!strchr(path, '/')) {
		fprintf(err, "mthp %s: policy plug-in %s: give a path (./%s)\n", cmd, path, path);
		return 1;
	}
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		fprintf(err, "mthp %s: policy plug-in %s: cannot load: %s\n", cmd, path, dlerror());
		return 1;
	}
	p = dlsym(handle, MTHP_POLICY_PLUGIN_SYMBOL);
	if (!p) {
		fprintf(err, "mthp %s: policy plug-in %s: no symbol '%s' (define "
			"'const struct mthp_policy_plugin %s')\n", cmd, path,
			MTHP_POLICY_PLUGIN_SYMBOL, MTHP_POLICY_PLUGIN_SYMBOL);
		goto fail;
	}
	if (p->version < MTHP_POLICY_PLUGIN_OLDEST || p->version > MTHP_POLICY_PLUGIN_VERSION) {
		fprintf(err, "mthp %s: policy plug-in %s: version %u, this mthp runs versions "
			"%u to %u (rebuild it against this mthp's policy_plugin.h)\n", cmd, path,
			p->version, MTHP_POLICY_PLUGIN_OLDEST, MTHP_POLICY_PLUGIN_VERSION);
		goto fail;
	}
	if (!good_name(p->name)) {
		fprintf(err, "mthp %s: policy plug-in %s: its name must be 1 to 64 letters, "
			"digits, '-' or '_'\n", cmd, path);
		goto fail;
	}
	if (!p->fallback || mthp_policy_parse(p->fallback, fallback)) {
		fprintf(err, "mthp %s: policy plug-in '%s' (%s): fallback '%s' is not a policy "
			"(legacy, seed, upstream or guarded)\n", cmd, p->name, path,
			p->fallback ? p->fallback : "(null)");
		goto fail;
	}
	/* the handle stays open: the hooks live in it for the process's life */
	*plugin = p;
	return 0;
fail:
	dlclose(handle);
	return 1;
}

/* Copy the child's two pipes to out and err until both close. */
static void copy_pipes(int fd_out, int fd_err, FILE *out, FILE *err)
{
	struct pollfd pfd[2] = { { fd_out, POLLIN, 0 }, { fd_err, POLLIN, 0 } };
	FILE *to[2] = { out, err };
	char buf[4096];
	int open_fds = 2;

	while (open_fds) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n > 0) {
				fwrite(buf, 1, (size_t)n, to[i]);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open_fds--;
		}
	}
}

/* In the child: load, tell the parent the plug-in's name, run fn. */
static int child_run(const char *cmd, const char *path, unsigned limit_s,
		     mthp_plugin_fn fn, void *ctx, char *name, FILE *out, FILE *err)
{
	const struct mthp_policy_plugin *p;
	enum mthp_policy fallback;
	char msg[256];
	int ret;

	static const int deadly[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM };

	/* the plug-in's faults kill this child, whatever handlers a sanitizer set */
	for (size_t i = 0; i < sizeof(deadly) / sizeof(deadly[0]); i++)
		signal(deadly[i], SIG_DFL);
	/* loading runs the plug-in's constructors: the limit covers them */
	alarm(limit_s);
	if (mthp_plugin_load(cmd, path, &p, &fallback, err))
		return 1;
	strcpy(name, p->name);
	mthp_policy_plugin_use(p);
	ret = fn(ctx, p, fallback, out, err);
	/* an answer outside the rules voids the run: said, never trusted */
	if (mthp_policy_plugin_violation(msg, sizeof(msg))) {
		fprintf(err, "mthp %s: policy plug-in '%s' (%s): %s; the run is not valid\n",
			cmd, p->name, path, msg);
		ret = 1;
	}
	mthp_policy_plugin_use(NULL);
	return ret;
}

static void report_death(const char *cmd, const char *path, const char *name,
			 unsigned limit_s, int sig, FILE *err)
{
	const char *abbrev = sigabbrev_np(sig);

	if (name[0])
		fprintf(err, "mthp %s: policy plug-in '%s' (%s)", cmd, name, path);
	else
		fprintf(err, "mthp %s: policy plug-in %s (while loading)", cmd, path);
	if (sig == SIGALRM)
		fprintf(err, " took longer than %u s, the time limit of a run: stopped\n",
			limit_s);
	else
		fprintf(err, " crashed: killed by signal SIG%s (%s)\n",
			abbrev ? abbrev : "?", strsignal(sig));
}

int mthp_plugin_run(const char *cmd, const char *path, unsigned limit_s,
		    mthp_plugin_fn fn, void *ctx, FILE *out, FILE *err)
{
	int po[2], pe[2], status, ret = 1;
	char *name;
	pid_t pid;

	/* the child writes the plug-in's name here once it has loaded */
	name = mmap(NULL, 128, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (name == MAP_FAILED)
		goto fail_errno;
	name[0] = '\0';
	fflush(out);
	fflush(err);
	if (pipe(po))
		goto fail_unmap;
	if (pipe(pe)) {
		close(po[0]);
		close(po[1]);
		goto fail_unmap;
	}
	pid = fork();
	if (pid < 0) {
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		goto fail_unmap;
	}
	if (pid == 0) {
		FILE *cout, *cerr;

		close(po[0]);
		close(pe[0]);
		cout = fdopen(po[1], "w");
		cerr = fdopen(pe[1], "w");
		if (!cout || !cerr)
			_exit(1);
		/* unbuffered errors: what was said before a crash still arrives */
		setvbuf(cerr, NULL, _IONBF, 0);
		ret = child_run(cmd, path, limit_s, fn, ctx, name, cout, cerr);
		fclose(cout);
		fclose(cerr);
		_exit(ret);
	}
	close(po[1]);
	close(pe[1]);
	copy_pipes(po[0], pe[0], out, err);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			goto fail_unmap;
	}
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else
		report_death(cmd, path, name, limit_s, WTERMSIG(status), err);
	munmap(name, 128);
	return ret;

fail_unmap:
	ret = errno;
	munmap(name, 128);
	errno = ret;
fail_errno:
	fprintf(err, "mthp %s: cannot run policy plug-in %s: %s\n", cmd, path, strerror(errno));
	return 1;
}

void mthp_plugin_announce(FILE *f, const struct mthp_policy_plugin *plugin,
			  const char *path, enum mthp_policy fallback)
{
	fprintf(f, "# policy plug-in %s (%s), falling back to %s\n", plugin->name, path,
		mthp_policy_name(fallback));
}

int mthp_plugin_command(const struct mthp_cmd_spec *spec, int parsed, void *opts,
			const char *path, uint64_t limit_s, unsigned default_s,
			mthp_plugin_fn fn, int (*builtin)(void *ctx, FILE *out, FILE *err),
			FILE *out, FILE *err)
{
	int status = parsed;

	if (!status && !path)
		status = builtin(opts, out, err);
	else if (!status)
		status = mthp_plugin_run(spec->name, path,
					 limit_s ? (unsigned)limit_s : default_s, fn, opts,
					 out, err);
	mthp_opts_free(spec, opts);
	return status < 0 ? 0 : status;
}
