/* SPDX-License-Identifier: MIT */
/*
 * common/msg.h - the one printf-style helper behind the project's
 * messages: format into a caller's buffer, which may be absent (NULL or
 * no room: nothing is written), optionally after "NAME:LINE: ", the
 * prefix of every error about a line of an input file.
 *
 * Header only and libc only: every layer may include it.
 */
#ifndef MTHP_COMMON_MSG_H
#define MTHP_COMMON_MSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void mthp_vmsg(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (buf && len)
		vsnprintf(buf, len, fmt, ap);
}

static inline void mthp_msg(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void mthp_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mthp_vmsg(buf, len, fmt, ap);
	va_end(ap);
}

/* "NAME:LINE: message", or "NAME: message" when line is 0. */
static inline void mthp_vmsg_at(char *buf, size_t len, const char *name,
				unsigned line, const char *fmt, va_list ap)
{
	int n;

	if (!buf || !len)
		return;
	n = line ? snprintf(buf, len, "%s:%u: ", name, line) :
		   snprintf(buf, len, "%s: ", name);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(buf + n, len - (size_t)n, fmt, ap);
}

#endif /* MTHP_COMMON_MSG_H */
