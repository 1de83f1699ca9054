/* SPDX-License-Identifier: MIT */
/*
 * examples.h - the snapshot files of tests/examples, as the tests that
 * run over all of them read them: one call per NAME.snap, and one reader
 * that gives the snapshot with the settings it asks for.
 */
#ifndef MTHP_TEST_EXAMPLES_H
#define MTHP_TEST_EXAMPLES_H

#include <mthp/snapshot.h>

#define EXAMPLES_DIR "tests/examples"

/*
 * Call FN(PATH, CTX) for each EXAMPLES_DIR/NAME.snap; returns how many.
 * Fails the case (cmocka) when the folder cannot be opened.
 */
unsigned examples_each_snap(void (*fn)(const char *path, void *ctx), void *ctx);

/*
 * Read the snapshot file PATH into SNAP and its settings into S: 0, or
 * the reader's -errno with DIAG saying why and SNAP empty (some examples
 * are bad input on purpose).  Fails the case when the file cannot be
 * opened, or when a snapshot that reads has settings that do not.
 */
int example_read(const char *path, struct mthp_snapshot *snap,
		 struct mthp_settings *s, struct mthp_diag *diag);

#endif
