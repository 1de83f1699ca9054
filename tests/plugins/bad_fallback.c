// SPDX-License-Identifier: MIT
/* A plug-in that falls back to a policy that does not exist. */
#include <mthp/policy_plugin.h>

const struct mthp_policy_plugin mthp_policy_plugin = {
	.version = MTHP_POLICY_PLUGIN_VERSION,
	.name = "lost",
	.fallback = "nonesuch",
};
