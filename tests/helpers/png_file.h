/* SPDX-License-Identifier: MIT */
/*
 * png_file.h - a picture written by the tools is a PNG file: its first
 * eight bytes are the PNG signature (the test fails otherwise).
 */
#ifndef MTHP_TEST_PNG_FILE_H
#define MTHP_TEST_PNG_FILE_H

void assert_png_file(const char *path);

#endif
