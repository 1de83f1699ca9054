// SPDX-License-Identifier: MIT
/*
 * host.c - which TLB profile the machine this runs on has, for the
 * answers that judge a setting by its TLB entries (mthp/sweep.h).
 *
 * x86-64: AMD family 17h (Zen) and later coalesce four aligned 4K PTEs of
 * one folio into one entry (the "zen" profile); other x86-64 CPUs have
 * 4K and 2M entries only ("x86-64").  arm64: contpte, by the base page
 * size ("arm64-4k", "arm64-16k", "arm64-64k").  Anything else: -ENOENT.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <mthp/sweep.h>

/* The value of the first "key : value" line of /proc/cpuinfo, or "". */
static void cpuinfo_field(const char *key, char *val, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	size_t klen = strlen(key);

	val[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		/* the key, then only blanks up to the colon */
		if (strncmp(line, key, klen) || !colon ||
		    line + klen + strspn(line + klen, " \t") != colon)
			continue;
		colon++;
		colon += strspn(colon, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(val, len, "%s", colon);
		break;
	}
	fclose(f);
}

static int x86_profile(enum mthp_tlb_profile *p, char *why, size_t whylen)
{
	char vendor[64], family[32];
	long fam;

	cpuinfo_field("vendor_id", vendor, sizeof(vendor));
	cpuinfo_field("cpu family", family, sizeof(family));
	fam = strtol(family, NULL, 10);
	if (!strcmp(vendor, "AuthenticAMD") && fam >= 0x17) {
		*p = MTHP_TLB_ZEN;
		snprintf(why, whylen, "this host: AMD family %ld", fam);
	} else {
		*p = MTHP_TLB_X86_64;
		snprintf(why, whylen, "this host: %s x86-64", vendor[0] ? vendor : "an");
	}
	return 0;
}

/* What the host is; the same for the life of the process. */
static int detect(enum mthp_tlb_profile *p, char *why, size_t whylen)
{
	struct utsname u;
	long page = sysconf(_SC_PAGESIZE);

	if (uname(&u))
		return -errno;
	if (!strcmp(u.machine, "x86_64") && page == 4096)
		return x86_profile(p, why, whylen);
	if (!strcmp(u.machine, "aarch64")) {
		if (page == 4096)
			*p = MTHP_TLB_ARM64_4K;
		else if (page == 16384)
			*p = MTHP_TLB_ARM64_16K;
		else if (page == 65536)
			*p = MTHP_TLB_ARM64_64K;
		else
			return -ENOENT;
		snprintf(why, whylen, "this host: arm64 with %ldK pages", page / 1024);
		return 0;
	}
	return -ENOENT;
}

/*
 * Found once: every live capture asks (mthp_live_geometry()), and reading
 * /proc/cpuinfo costs some 25 us, once per process of a whole-host audit.
 */
static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static int host_ret;
static enum mthp_tlb_profile host_profile;
static char host_why[96];

static void host_detect(void)
{
	host_ret = detect(&host_profile, host_why, sizeof(host_why));
}

int mthp_tlb_host_profile(enum mthp_tlb_profile *p, char *why, size_t whylen)
{
	pthread_once(&host_once, host_detect);
	if (host_ret)
		return host_ret;
	*p = host_profile;
	snprintf(why, whylen, "%s", host_why);
	return 0;
}
