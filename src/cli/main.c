// SPDX-License-Identifier: MIT
/* main.c - the `mthp` command. */
#include <stdio.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
	int status = mthp_cli_run(argc - 1, argv + 1, stdout, stderr);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("mthp: writing output");
		return 1;
	}
	return status;
}
