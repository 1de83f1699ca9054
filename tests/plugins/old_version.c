// SPDX-License-Identifier: MIT
/*
 * A plug-in of version 1, from before the fault hook: its struct ends
 * after window_attempt, and it still runs.
 */
#include <stddef.h>
#include <stdint.h>

struct plugin_v1 {
	uint32_t version;
	const char *name;
	const char *fallback;
	int (*window_attempt)(const void *w);
};

const struct plugin_v1 mthp_policy_plugin = {
	.version = 1,
	.name = "old",
	.fallback = "upstream",
	.window_attempt = NULL,
};
