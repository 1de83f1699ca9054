// SPDX-License-Identifier: MIT
/* ftrace_line.c - ftrace text lines read and checked (ftrace_line.h). */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/result.h>

#include "helpers/ftrace_line.h"

/*
 * The line as trace-cmd and the kernel's own scripts read it: the task
 * name may hold spaces and dashes (the last dash before the pid ends it),
 * an optional "(TGID)", the CPU in brackets, the flags (four or five
 * characters), the time stamp in seconds with microseconds.
 */
static const char line_re[] =
	"^ *(.+)-([0-9]+) +(\\( *[0-9-]+\\) +)?\\[([0-9]+)\\] +([^ ]{4,5}) +"
	"([0-9]+)\\.([0-9]{6}): ([a-z0-9_]+): (.*)$";

static void copy_match(char *dst, size_t len, const char *src, const regmatch_t *m)
{
	size_t n = (size_t)(m->rm_eo - m->rm_so);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src + m->rm_so, n);
	dst[n] = '\0';
}

bool ftrace_line_parse(const char *line, struct ftrace_line *out)
{
	regmatch_t m[10];
	regex_t re;
	char num[32];
	bool ok;

	assert_int_equal(regcomp(&re, line_re, REG_EXTENDED), 0);
	ok = regexec(&re, line, 10, m, 0) == 0;
	if (ok) {
		copy_match(out->task, sizeof(out->task), line, &m[1]);
		copy_match(num, sizeof(num), line, &m[2]);
		out->pid = (unsigned)strtoul(num, NULL, 10);
		copy_match(num, sizeof(num), line, &m[4]);
		out->cpu = (unsigned)strtoul(num, NULL, 10);
		copy_match(out->flags, sizeof(out->flags), line, &m[5]);
		copy_match(num, sizeof(num), line, &m[6]);
		out->sec = strtoull(num, NULL, 10);
		copy_match(num, sizeof(num), line, &m[7]);
		out->usec = strtoull(num, NULL, 10);
		copy_match(out->event, sizeof(out->event), line, &m[8]);
		copy_match(out->fields, sizeof(out->fields), line, &m[9]);
	}
	regfree(&re);
	return ok;
}

/* Each event's fields, as TP_printk of Linux 7.2 writes them. */
static const char *const field_res[][2] = {
	{ "mm_khugepaged_scan_pmd",
	  "^mm=[0-9a-f]+, scan_pfn=0x[0-9a-f]+, referenced=[0-9]+, none_or_zero=[0-9]+, "
	  "status=([a-z_]+), unmapped=[0-9]+$" },
	{ "mm_collapse_huge_page",
	  "^mm=[0-9a-f]+, isolated=[01], status=([a-z_]+), order=[0-9]+$" },
	{ "mm_collapse_huge_page_isolate",
	  "^scan_pfn=0x[0-9a-f]+, none_or_zero=[0-9]+, referenced=[0-9]+, "
	  "status=([a-z_]+), order=[0-9]+$" },
	{ "mm_collapse_huge_page_swapin",
	  "^mm=[0-9a-f]+, swapped_in=[0-9]+, referenced=[0-9]+, ret=(-?[0-9]+), "
	  "order=[0-9]+$" },
	{ "mm_khugepaged_scan",
	  "^mm=[0-9a-f]+, progress=[0-9]+, full_scan_finished=[01]$" },
};

void assert_huge_memory_fields(const struct ftrace_line *l)
{
	for (size_t i = 0; i < sizeof(field_res) / sizeof(field_res[0]); i++) {
		regmatch_t m[2];
		char word[64];
		regex_t re;
		bool known = false;
		int rc;

		if (strcmp(l->event, field_res[i][0]))
			continue;
		assert_int_equal(regcomp(&re, field_res[i][1], REG_EXTENDED), 0);
		rc = regexec(&re, l->fields, 2, m, 0);
		regfree(&re);
		if (rc)
			fail_msg("%s: fields not as Linux 7.2 writes them: '%s'", l->event,
				 l->fields);
		if (i == 4)
			return;		/* no result in it */
		copy_match(word, sizeof(word), l->fields, &m[1]);
		/* a status is a SCAN_STATUS word, a swap-in's ret a result's value */
		for (int r = 0; r < MTHP_NR_RESULTS; r++) {
			char value[16];

			snprintf(value, sizeof(value), "%d", r);
			known |= !strcmp(word, i == 3 ? value :
					 mthp_result_status((enum mthp_result)r));
		}
		if (!known)
			fail_msg("%s: '%s' is no result of the kernel's", l->event, word);
		return;
	}
	fail_msg("event '%s' is none of huge_memory's that the simulator fires", l->event);
}

/* Where "name=" starts a field of l, or NULL. */
static const char *field_at(const struct ftrace_line *l, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = l->fields; (p = strstr(p, name)); p += n)
		if ((p == l->fields || p[-1] == ' ') && p[n] == '=')
			return p + n + 1;
	return NULL;
}

unsigned long long ftrace_field(const struct ftrace_line *l, const char *name)
{
	const char *v = field_at(l, name);

	if (!v)
		fail_msg("%s: no field %s in '%s'", l->event, name, l->fields);
	return strtoull(v, NULL, 0);
}

void ftrace_field_text(const struct ftrace_line *l, const char *name, char *buf,
		       unsigned len)
{
	const char *v = field_at(l, name);
	size_t n;

	if (!v)
		fail_msg("%s: no field %s in '%s'", l->event, name, l->fields);
	n = strcspn(v, ",");
	if (n >= len)
		n = len - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
}
