// SPDX-License-Identifier: MIT
/* A plug-in whose fault hook answers orders no setting allowed. */
#include <mthp/policy_plugin.h>

static uint32_t every_order(const struct mthp_plugin_fault *f)
{
	return f->allowed | 0xfff0u;
}

const struct mthp_policy_plugin mthp_policy_plugin = {
	.version = MTHP_POLICY_PLUGIN_VERSION,
	.name = "bad-orders",
	.fallback = "upstream",
	.fault_orders = every_order,
};
