// SPDX-License-Identifier: MIT
/* A plug-in built against a version of the header that is not this one. */
#include <mthp/policy_plugin.h>

const struct mthp_policy_plugin mthp_policy_plugin = {
	.version = MTHP_POLICY_PLUGIN_VERSION + 1,
	.name = "from-the-future",
	.fallback = "upstream",
};
