// SPDX-License-Identifier: MIT
/* A plug-in whose window hook writes through a null pointer. */
#include <mthp/policy_plugin.h>

/* volatile: the compiler cannot know it is null and drop the store */
int *volatile crashes_nowhere;

static int crash_window(const struct mthp_plugin_window *w)
{
	*crashes_nowhere = (int)w->order;
	return 1;
}

const struct mthp_policy_plugin mthp_policy_plugin = {
	.version = MTHP_POLICY_PLUGIN_VERSION,
	.name = "crashes",
	.fallback = "upstream",
	.window_attempt = crash_window,
};
