// SPDX-License-Identifier: MIT
/*
 * sysfs.c - the host's THP settings read from
 * /sys/kernel/mm/transparent_hugepage into struct mthp_settings (knobs the
 * engine does not know are skipped, never written), the page-table
 * geometry, and the check that PFNs and page flags are readable.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mthp/sweep.h>
#include <mthp/tlb.h>

#include "common/names.h"
#include "live/live_internal.h"

int live_read_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	if (n < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	close(fd);
	buf[got] = '\0';
	return 0;
}

int live_read_text(const char *path, char *buf, size_t len)
{
	int ret = live_read_file(path, buf, len);

	if (!ret)
		buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

int mthp_live_geometry(struct mthp_geometry *geo, struct mthp_diag *diag)
{
	long page_size = sysconf(_SC_PAGESIZE);
	enum mthp_tlb_profile mmu;
	char buf[64], why[96];
	int ret;

	ret = mthp_geometry_from_page_size(geo, (uint64_t)page_size);
	if (ret < 0) {
		live_diag(diag, "page size %ld is not one mthp knows (4K, 16K, 64K)",
			  page_size);
		return ret;
	}
	if (live_read_text(LIVE_THP_DIR "/hpage_pmd_size", buf, sizeof(buf)) == 0) {
		uint64_t pmd = strtoull(buf, NULL, 10);

		if (pmd != mthp_pmd_size(geo)) {
			ret = mthp_geometry_from_ptes(geo, pmd / (uint64_t)page_size);
			if (ret < 0) {
				live_diag(diag, "hpage_pmd_size %s with %ld-byte pages is not a geometry mthp knows",
					  buf, page_size);
				return ret;
			}
		}
	}
	/* the host's MMU, which policy guarded reads (docs/guarded-policy.md) */
	if (!mthp_tlb_host_profile(&mmu, why, sizeof(why)) && mthp_tlb_profile_fits(mmu, geo))
		geo->cont_order = mthp_tlb_profile_info(mmu)->cont_order;
	return 0;
}

/* The kB value of "KEY:   N kB" in /proc/meminfo's text, in bytes; false if absent. */
static bool meminfo_value(const char *text, const char *key, uint64_t *bytes)
{
	size_t n = strlen(key);

	for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
		char *end;
		unsigned long long kb;

		if (strncmp(line, key, n) || line[n] != ':')
			continue;
		errno = 0;
		kb = strtoull(line + n + 1, &end, 10);
		if (errno || end == line + n + 1 || strncmp(end, " kB", 3) ||
		    kb > UINT64_MAX / 1024)
			return false;
		*bytes = (uint64_t)kb * 1024;
		return true;
	}
	return false;
}

int mthp_live_host_memory(uint64_t *memory, uint64_t *swap, struct mthp_diag *diag)
{
	char buf[8192];
	int ret = live_read_file("/proc/meminfo", buf, sizeof(buf));

	if (ret < 0) {
		live_diag(diag, "cannot read /proc/meminfo: %s", strerror(-ret));
		return ret;
	}
	if (!meminfo_value(buf, "MemTotal", memory) || !*memory) {
		live_diag(diag, "/proc/meminfo has no MemTotal line in kB");
		return -EINVAL;
	}
	if (!meminfo_value(buf, "SwapTotal", swap)) {
		live_diag(diag, "/proc/meminfo has no SwapTotal line in kB");
		return -EINVAL;
	}
	return 0;
}

/* "always [madvise] never" -> "madvise"; a number stays as it is. */
static void selected_value(const char *text, char *out, size_t len)
{
	const char *lb = strchr(text, '[');
	const char *rb = lb ? strchr(lb, ']') : NULL;
	size_t n;

	if (lb && rb) {
		text = lb + 1;
		n = (size_t)(rb - text);
	} else {
		n = strlen(text);
	}
	if (n >= len)
		n = len - 1;
	memcpy(out, text, n);
	out[n] = '\0';
}

struct read_ctx {
	struct mthp_settings *s;
	struct mthp_settings *target;
	int ret;
};

/* For every knob the engine knows: read its sysfs file if there is one. */
static void read_knob(void *ctx, const char *knob, const char *dflt)
{
	struct read_ctx *rc = ctx;
	char path[256], text[256], value[64], err[160];

	(void)dflt;
	snprintf(path, sizeof(path), LIVE_THP_DIR "/%s", knob);
	if (live_read_text(path, text, sizeof(text)) < 0)
		return;		/* this kernel lacks the knob: keep the default */
	selected_value(text, value, sizeof(value));
	if (mthp_settings_set(rc->target, knob, value, err, sizeof(err)) < 0 &&
	    !rc->ret)
		rc->ret = -EINVAL;
}

static uint32_t count_unknown(const struct mthp_settings *s, uint32_t *sizes)
{
	const char *top[] = { "enabled", "defrag", "use_zero_page", "shrink_underused",
			      "khugepaged" };
	uint32_t unknown = 0;
	struct dirent *de;
	DIR *d = opendir(LIVE_THP_DIR);

	*sizes = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		unsigned long kb;
		bool known = false;

		if (de->d_name[0] == '.')
			continue;
		if (sscanf(de->d_name, "hugepages-%lukB", &kb) == 1) {
			uint64_t pages = (uint64_t)kb * 1024 / s->geo.page_size;

			if (pages && !(pages & (pages - 1))) {
				unsigned o = (unsigned)__builtin_ctzll(pages);

				if (o < 32)
					*sizes |= 1u << o;
				if (o >= MTHP_MIN_ORDER && o <= s->geo.pmd_order)
					continue;
			}
			unknown++;
			continue;
		}
		for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
			known |= !strcmp(de->d_name, top[i]);
		if (!known && strcmp(de->d_name, "hpage_pmd_size") &&
		    strcmp(de->d_name, "shmem_enabled"))
			unknown++;
	}
	closedir(d);
	return unknown;
}

static const char *const host_collapse_stat_names[MTHP_NR_HCS] = {
	MTHP_HOST_COLLAPSE_STATS(MTHP_NAME_ENTRY)
};

const char *mthp_host_collapse_stat_name(enum mthp_host_collapse_stat s)
{
	return mthp_name_of(host_collapse_stat_names, MTHP_NR_HCS, s, "?");
}

/* The stats/ directory of a THP size; false when the path does not fit. */
static bool size_stats_path(char *buf, size_t len, const struct mthp_geometry *geo,
			    unsigned order, const char *file)
{
	return (size_t)snprintf(buf, len, "%s/hugepages-%llukB/stats/%s", LIVE_THP_DIR,
				(unsigned long long)geo->page_size << order >> 10,
				file) < len;
}

int mthp_live_collapse_stats(const struct mthp_geometry *geo,
			     struct mthp_host_collapse_stats *st, struct mthp_diag *diag)
{
	char path[256], text[64], *end;

	memset(st, 0, sizeof(*st));
	for (unsigned o = MTHP_MIN_ORDER; o <= geo->pmd_order; o++) {
		for (int s = 0; s < MTHP_NR_HCS; s++) {
			int ret;

			if (!size_stats_path(path, sizeof(path), geo, o,
					     mthp_host_collapse_stat_name(s)))
				continue;
			ret = live_read_text(path, text, sizeof(text));
			if (ret == -ENOENT)
				continue;
			if (ret < 0) {
				live_diag(diag, "cannot read %s: %s", path, strerror(-ret));
				return ret;
			}
			errno = 0;
			st->v[o][s] = strtoull(text, &end, 10);
			if (errno || end == text || *end) {
				live_diag(diag, "%s holds \"%s\", not a count", path, text);
				return -EINVAL;
			}
			st->have[o] |= 1u << s;
		}
	}
	return 0;
}

/* Is there a collapse_alloc of a size below the PMD size? */
static bool host_collapses_mthp(const struct mthp_geometry *geo)
{
	char path[256];

	for (unsigned o = MTHP_MIN_ORDER; o < geo->pmd_order; o++)
		if (size_stats_path(path, sizeof(path), geo, o, "collapse_alloc") &&
		    access(path, F_OK) == 0)
			return true;
	return false;
}

int mthp_live_settings(struct mthp_settings *s, struct mthp_live_host *host,
		       struct mthp_diag *diag)
{
	struct mthp_live_host h = { 0 };
	struct mthp_settings dflt;
	struct read_ctx rc = { &dflt, s, 0 };
	struct mthp_geometry geo;
	int ret;

	ret = mthp_live_geometry(&geo, diag);
	if (ret < 0)
		return ret;
	mthp_settings_init(s, &geo);
	if (access(LIVE_THP_DIR, F_OK) != 0) {
		if (host)
			*host = h;
		live_diag(diag, "transparent hugepages are not available on this kernel (no %s)",
			  LIVE_THP_DIR);
		return 0;
	}
	h.thp_present = true;
	dflt = *s;
	mthp_settings_foreach(&dflt, read_knob, &rc);
	h.unknown_knobs = count_unknown(s, &h.sizes);
	h.mthp_collapse = host_collapses_mthp(&s->geo);
	h.thp_disabled = s->enabled == MTHP_MODE_NEVER;
	for (unsigned o = MTHP_MIN_ORDER; o <= s->geo.pmd_order; o++) {
		enum mthp_thp_mode m = s->size_enabled[o];

		if (m == MTHP_MODE_ALWAYS || m == MTHP_MODE_MADVISE)
			h.thp_disabled = false;
	}
	if (host)
		*host = h;
	if (rc.ret < 0)
		live_diag(diag, "a THP knob in %s has a value mthp does not understand",
			  LIVE_THP_DIR);
	return rc.ret;
}

int mthp_live_check_access(struct mthp_diag *diag)
{
	static volatile uint64_t probe = 1;
	uint64_t entry = 0;
	long page_size = sysconf(_SC_PAGESIZE);
	int fd, ret;

	probe++;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -EACCES || ret == -EPERM) {
			live_diag(diag, "cannot open /proc/self/pagemap: %s: page frame numbers are hidden: %s",
				  strerror(-ret), live_denied_hint(LIVE_DENIED_PFN, geteuid()));
			return -EPERM;
		}
		live_diag(diag, "cannot open /proc/self/pagemap: %s", strerror(-ret));
		return ret;
	}
	if (pread(fd, &entry, sizeof(entry),
		  (off_t)((uintptr_t)&probe / (uint64_t)page_size * 8)) != sizeof(entry))
		entry = 0;
	close(fd);
	if (!(entry & PM_PRESENT) || !(entry & PM_PFN_MASK)) {
		live_diag(diag, "page frame numbers are hidden in /proc/PID/pagemap: %s",
			  live_denied_hint(LIVE_DENIED_PFN, geteuid()));
		return -EPERM;
	}
	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		live_diag(diag, "cannot open /proc/kpageflags: %s: %s", strerror(-ret),
			  ret == -EACCES || ret == -EPERM ?
			  live_denied_hint(LIVE_DENIED_PFN, geteuid()) : "cannot read page flags");
		return ret == -EACCES ? -EPERM : ret;
	}
	close(fd);
	return 0;
}
