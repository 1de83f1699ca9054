/* SPDX-License-Identifier: MIT */
/*
 * text_has.h - check that an output holds each of several pieces of text,
 * and on failure name the piece that is missing and show the output.
 */
#ifndef MTHP_TEST_TEXT_HAS_H
#define MTHP_TEST_TEXT_HAS_H

/*
 * Fails the case (cmocka) unless TEXT contains each of the strings given
 * after it, up to a NULL; the message names the first one missing.
 */
void assert_text_has(const char *text, ...);

#endif
