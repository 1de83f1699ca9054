// SPDX-License-Identifier: MIT
/*
 * access.c - what to tell a user the kernel refused to show: the hint
 * behind EACCES/EPERM on /proc files, which depends on who we are.  Not
 * root: root is needed.  Root and still refused: something else is
 * missing (a container's user namespace, a dropped capability, a ptrace
 * policy), and "root is needed" would send the user the wrong way.
 *
 * The euid is a parameter, so a test covers both cases without being
 * either.  Also the names of the errnos the live tools report.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "live/live_internal.h"

const char *live_denied_hint(enum live_denied what, uid_t euid)
{
	if (euid != 0)
		return what == LIVE_DENIED_PROC ?
		       "root (CAP_SYS_ADMIN) is needed to read another process's memory map" :
		       "root (CAP_SYS_ADMIN) is needed to see page frame numbers and page flags";
	switch (what) {
	case LIVE_DENIED_PROC:
		return "refused although running as root: the ptrace access check "
		       "(PTRACE_MODE_READ_FSCREDS) failed: Yama's ptrace_scope, an LSM, or a "
		       "container (no CAP_SYS_PTRACE over that process) forbids it";
	case LIVE_DENIED_PFN:
		return "refused although running as root: CAP_SYS_ADMIN in the initial user "
		       "namespace is missing (a container, or the capability was dropped)";
	}
	return "permission denied";
}

int live_open_failed(struct mthp_diag *diag, pid_t pid, const char *path, int err)
{
	if (err == -ENOENT || err == -ESRCH) {
		if (live_task_is_user(pid) == 0)
			return live_kernel_thread(diag, pid);
		live_diag(diag, "pid %d: no such process", (int)pid);
		return -ESRCH;
	}
	if (err == -EACCES || err == -EPERM)
		live_diag(diag, "pid %d: cannot open %s: %s: %s", (int)pid, path,
			  strerror(-err), live_denied_hint(LIVE_DENIED_PROC, geteuid()));
	else
		live_diag(diag, "pid %d: cannot open %s: %s", (int)pid, path,
			  strerror(-err));
	return err;
}

const char *mthp_errno_name(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ 0, "0" }, { EPERM, "EPERM" }, { ESRCH, "ESRCH" },
		{ EINTR, "EINTR" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EBUSY, "EBUSY" }, { EINVAL, "EINVAL" },
		{ ENOSYS, "ENOSYS" }, { EFAULT, "EFAULT" }, { ENXIO, "ENXIO" },
		{ ENOENT, "ENOENT" }, { EIO, "EIO" },
	};

	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	return "E?";
}
