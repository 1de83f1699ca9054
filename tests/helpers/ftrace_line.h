/* SPDX-License-Identifier: MIT */
/*
 * ftrace_line.h - read a line of an ftrace text trace as a parser of
 * Linux's traces does ("TASK-PID [CPU] FLAGS SECONDS: EVENT: FIELDS"), and
 * check the fields of the huge_memory events against Linux 7.2's layout.
 */
#ifndef MTHP_TEST_FTRACE_LINE_H
#define MTHP_TEST_FTRACE_LINE_H

#include <stdbool.h>

struct ftrace_line {
	char task[32];
	unsigned pid, cpu;
	char flags[8];
	unsigned long long sec, usec;
	char event[64];
	char fields[512];
};

/* true when line (no newline) has the ftrace format; *out gets its parts. */
bool ftrace_line_parse(const char *line, struct ftrace_line *out);

/*
 * Fails the case unless l's event is one of huge_memory's the simulator
 * fires and its fields are 7.2's, in its order, with values of its form
 * (a status one of the kernel's SCAN_STATUS words).
 */
void assert_huge_memory_fields(const struct ftrace_line *l);

/*
 * The value of field name in l's fields as a number (0x... read as hex),
 * failing the case when there is no such field.
 */
unsigned long long ftrace_field(const struct ftrace_line *l, const char *name);
/* The text of a field, such as status=, into buf; fails when absent. */
void ftrace_field_text(const struct ftrace_line *l, const char *name, char *buf,
		       unsigned len);

#endif
