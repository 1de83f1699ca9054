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
#include <string.h>

/* A control byte a message does not print as it is: all but newline and tab. */
static inline int mthp_msg_is_control(unsigned char c)
{
	return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f;
}

/*
 * Control bytes written as \xNN, in place, the message cut at len: a
 * message quotes input, which may be binary, and goes to a terminal.
 */
static inline void mthp_msg_escape(char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(buf), ctl = 0, j;

	for (size_t i = 0; i < n; i++)
		ctl += mthp_msg_is_control((unsigned char)buf[i]);
	if (!ctl)
		return;
	/* from the end: byte i goes to j >= i, after every byte past i is read */
	j = n + 3 * ctl;
	buf[j < len - 1 ? j : len - 1] = '\0';
	for (size_t i = n; i-- > 0;) {
		unsigned char c = (unsigned char)buf[i];
		char out[4] = { (char)c };
		size_t w = 1;

		if (mthp_msg_is_control(c)) {
			out[0] = '\\';
			out[1] = 'x';
			out[2] = hex[c >> 4];
			out[3] = hex[c & 15];
			w = 4;
		}
		j -= w;
		for (size_t k = 0; k < w; k++)
			if (j + k < len - 1)
				buf[j + k] = out[k];
	}
}

static inline void mthp_vmsg(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (buf && len) {
		vsnprintf(buf, len, fmt, ap);
		mthp_msg_escape(buf, len);
	}
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
	mthp_msg_escape(buf, len);
}

#endif /* MTHP_COMMON_MSG_H */
