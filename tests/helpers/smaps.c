// SPDX-License-Identifier: MIT
/* smaps.c - AnonHugePages of one VMA, from /proc/PID/smaps (smaps.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "helpers/smaps.h"

long anon_huge_kb(pid_t pid, uint64_t addr)
{
	char path[64], line[512];
	unsigned long long start, end;
	bool in = false;
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* a VMA's header line, not a "Field:" line */
		if (sscanf(line, "%llx-%llx ", &start, &end) == 2 && strchr(line, ' ') &&
		    line[strcspn(line, " ") - 1] != ':')
			in = start <= addr && addr < end;
		else if (in && sscanf(line, "AnonHugePages: %ld", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}
