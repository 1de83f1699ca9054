// SPDX-License-Identifier: MIT
/*
 * diag.c - the snapshot code's messages: "FILE:LINE: what is wrong" for
 * errors (into diag->msg) and warnings (to diag->warn), and the quoting of
 * input bytes so that a message is always printable text.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "common/msg.h"

/* Longest piece of input quoted in a message before it is cut with "...". */
#define QUOTE_MAX 40

void snap_error(struct mthp_diag *d, const char *name, unsigned line,
		const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	va_start(ap, fmt);
	mthp_vmsg_at(d->msg, sizeof(d->msg), name ? name : SNAP_DEFAULT_NAME, line, fmt, ap);
	va_end(ap);
}

void snap_warn(struct mthp_diag *d, const char *name, unsigned line,
	       const char *fmt, ...)
{
	char buf[sizeof(d->msg)];
	va_list ap;

	if (!d || !d->warn)
		return;
	va_start(ap, fmt);
	mthp_vmsg_at(buf, sizeof(buf), name ? name : SNAP_DEFAULT_NAME, line, fmt, ap);
	va_end(ap);
	d->warn(d->warn_ctx, buf);
}


void snap_quote(char *buf, size_t buflen, const char *text, size_t len)
{
	size_t o = 0;

	if (!buflen)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		char piece[8];
		size_t plen;

		if (i == QUOTE_MAX) {
			snprintf(piece, sizeof(piece), "...");
		} else if (c >= 0x20 && c < 0x7f && c != '\\') {
			piece[0] = (char)c;
			piece[1] = '\0';
		} else {
			snprintf(piece, sizeof(piece), "\\x%02x", c);
		}
		plen = strlen(piece);
		if (o + plen >= buflen)
			break;
		memcpy(buf + o, piece, plen);
		o += plen;
		if (i == QUOTE_MAX)
			break;
	}
	buf[o] = '\0';
}
