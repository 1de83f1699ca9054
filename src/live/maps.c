// SPDX-License-Identifier: MIT
/*
 * maps.c - the VMA list of a process from /proc/PID/maps or smaps: bounds,
 * permissions, name, whether it is anonymous, the snapshot VMA flags (from
 * smaps VmFlags) and the smaps sizes; plus the diag helper of src/live.
 * An exited (zombie) process has empty maps: that reads as -ESRCH, so no
 * caller reports a process that is gone as one with no memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/msg.h"
#include "common/array.h"
#include "live/live_internal.h"

void live_diag(struct mthp_diag *diag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mthp_vmsg(diag ? diag->msg : NULL, sizeof(diag->msg), fmt, ap);
	va_end(ap);
}

void live_maps_free(struct live_maps *m)
{
	free(m->vmas);
	*m = (struct live_maps){ 0 };
}

#define FNV1A_BASIS 0xcbf29ce484222325ull

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Anonymous: private, no backing file, not a special mapping. */
static bool vma_is_anon(const struct live_vma *v)
{
	if (v->inode != 0 || v->perms[3] != 'p')
		return false;
	if (v->name[0] == '\0')
		return true;
	return !strcmp(v->name, "[heap]") || !strncmp(v->name, "[stack", 6) ||
	       !strncmp(v->name, "[anon:", 6);
}

static int parse_header(const char *line, struct live_vma *v)
{
	unsigned long long start, end, off, inode;
	char perms[8], dev[16];
	int name_at = 0;

	if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &start, &end, perms,
		   &off, dev, &inode, &name_at) < 6)
		return -EINVAL;
	*v = (struct live_vma){ .start = start, .end = end, .inode = inode };
	memcpy(v->perms, perms, 4);
	if (name_at > 0) {
		const char *name = line + name_at;
		size_t n = strcspn(name, "\n");

		if (n >= sizeof(v->name))
			n = sizeof(v->name) - 1;
		memcpy(v->name, name, n);
	}
	v->anon = vma_is_anon(v);
	v->flags = v->anon ? MTHP_VMA_ANON : MTHP_VMA_FILE;
	if (v->perms[3] == 's')
		v->flags = MTHP_VMA_SHARED | (v->inode ? MTHP_VMA_FILE : 0);
	return 0;
}

static void parse_vmflags(const char *text, struct live_vma *v)
{
	char tok[4];
	int n;

	while (sscanf(text, " %3s%n", tok, &n) == 1) {
		if (!strcmp(tok, "hg"))
			v->flags |= MTHP_VMA_HUGEPAGE;
		else if (!strcmp(tok, "nh"))
			v->flags |= MTHP_VMA_NOHUGEPAGE;
		else if (!strcmp(tok, "um") || !strcmp(tok, "uw") || !strcmp(tok, "ui"))
			v->flags |= MTHP_VMA_UFFD;
		text += n;
	}
}

/* A smaps field line ("Anonymous:  12 kB") of the last VMA. */
static void parse_field(const char *line, struct live_vma *v)
{
	unsigned long long kb;

	if (!strncmp(line, "VmFlags:", 8)) {
		parse_vmflags(line + 8, v);
		return;
	}
	if (sscanf(line, "%*s %llu", &kb) != 1)
		return;
	if (!strncmp(line, "Rss:", 4))
		v->rss_kb = kb;
	else if (!strncmp(line, "Anonymous:", 10))
		v->anon_kb = kb;
	else if (!strncmp(line, "AnonHugePages:", 14))
		v->anon_huge_kb = kb;
	else if (!strncmp(line, "Swap:", 5))
		v->swap_kb = kb;
}

/*
 * The kernel hands maps out a page of text per read and starts the next
 * read at the end of the last VMA it gave: a VMA that grew at its end in
 * between (a heap's brk) comes again, from the same start.  Its later
 * line replaces the earlier one, as a view of the VMA after it grew.
 */
static int push_vma(struct live_maps *m, const struct live_vma *v)
{
	struct live_vma *last = m->nr ? &m->vmas[m->nr - 1] : NULL;

	if (last && v->start == last->start && v->end > last->end) {
		*last = *v;
		return 0;
	}
	if (mthp_array_grow((void **)&m->vmas, &m->cap, m->nr, sizeof(*m->vmas)))
		return -ENOMEM;
	m->vmas[m->nr++] = *v;
	return 0;
}

/*
 * An anon VMA whose smaps shows nothing ever mapped has, as far as we can
 * tell, no anon_vma yet (a VMA split from a used one is the exception).
 */
static void finish_vma(struct live_vma *v, bool smaps)
{
	if (smaps && v->anon && !v->rss_kb && !v->swap_kb && !v->anon_kb)
		v->flags |= MTHP_VMA_NOANONVMA;
}

#define PF_KTHREAD 0x00200000u	/* include/linux/sched.h */

int live_task_is_user(pid_t pid)
{
	char path[64], buf[1024], *rp;
	unsigned long flags;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (live_read_text(path, buf, sizeof(buf)) < 0)
		return -ESRCH;
	/* comm may hold spaces and parentheses: the fields follow the last ')' */
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return -ESRCH;
	return !(flags & PF_KTHREAD);
}

int live_kernel_thread(struct mthp_diag *diag, pid_t pid)
{
	live_diag(diag, "pid %d is a kernel thread: it has no user memory", (int)pid);
	return -ENXIO;
}

/*
 * Did the maps only grow from before to after?  Every VMA of before lies
 * inside one VMA of after with the same permissions, file and name
 * (grown at either end, or merged with a new neighbour: a heap's brk, an
 * allocator's new mmap next to its last one); after may hold new VMAs too.
 * Then what was read of before's VMAs still fits together: the pages the
 * new parts hold are left to the next capture.  A VMA shrunk, moved,
 * split, unmapped or changed in its permissions is not growth.
 */
bool live_maps_grew_only(const struct live_maps *before, const struct live_maps *after)
{
	size_t j = 0;

	for (size_t i = 0; i < before->nr; i++) {
		const struct live_vma *b = &before->vmas[i], *a;

		while (j < after->nr && after->vmas[j].end <= b->start)
			j++;
		if (j == after->nr)
			return false;
		a = &after->vmas[j];
		if (a->start > b->start || a->end < b->end || a->inode != b->inode ||
		    strcmp(a->perms, b->perms) || strcmp(a->name, b->name))
			return false;
	}
	return true;
}

int live_maps_read(pid_t pid, bool smaps, struct live_maps *m,
		   struct mthp_diag *diag)
{
	char path[64];
	char *line = NULL;
	size_t linecap = 0;
	struct live_vma cur;
	bool have = false;
	FILE *f;
	int ret = 0;

	*m = (struct live_maps){ .hash = FNV1A_BASIS };
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, smaps ? "smaps" : "maps");
	f = fopen(path, "re");
	if (!f) {
		return live_open_failed(diag, pid, path, -errno);
	}
	while (getline(&line, &linecap, f) > 0) {
		struct live_vma v;

		/* A header line starts with a hex digit and has a '-' early. */
		if (strchr(line, ':') && strchr(line, ':') < strchr(line, ' ') &&
		    smaps) {
			if (have)
				parse_field(line, &cur);
			continue;
		}
		if (parse_header(line, &v) < 0) {
			if (have && smaps)
				parse_field(line, &cur);
			continue;
		}
		m->hash = fnv1a(m->hash, line);
		v.line = fnv1a(FNV1A_BASIS, line);
		if (have) {
			finish_vma(&cur, smaps);
			ret = push_vma(m, &cur);
			if (ret < 0)
				goto out;
		}
		cur = v;
		have = true;
	}
	if (ferror(f)) {
		ret = -ESRCH;	/* reading a dying process's maps fails */
		live_diag(diag, "pid %d: exited while its maps were read", (int)pid);
		goto out;
	}
	if (have) {
		finish_vma(&cur, smaps);
		ret = push_vma(m, &cur);
	} else if (live_task_is_user(pid) != 0) {
		/* A user task's maps go empty when it exits: gone, not empty. */
		ret = -ESRCH;
		live_diag(diag, "pid %d: the process exited (no memory map left)",
			  (int)pid);
	} else {
		ret = live_kernel_thread(diag, pid);
	}
out:
	free(line);
	fclose(f);
	if (ret < 0)
		live_maps_free(m);
	return ret;
}
