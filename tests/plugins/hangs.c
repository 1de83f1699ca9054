// SPDX-License-Identifier: MIT
/* A plug-in whose window hook never returns. */
#include <unistd.h>

#include <mthp/policy_plugin.h>

static int hang_window(const struct mthp_plugin_window *w)
{
	for (;;)
		sleep(1);
	return w->fallback_attempts;
}

const struct mthp_policy_plugin mthp_policy_plugin = {
	.version = MTHP_POLICY_PLUGIN_VERSION,
	.name = "hangs",
	.fallback = "upstream",
	.window_attempt = hang_window,
};
