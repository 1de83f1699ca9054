// SPDX-License-Identifier: MIT
/* A shared object with no mthp_policy_plugin in it. */
int not_a_policy(void);

int not_a_policy(void)
{
	return 1;
}
