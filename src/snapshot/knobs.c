// SPDX-License-Identifier: MIT
/*
 * knobs.c - the setting lines of a snapshot as THP settings: each line is
 * applied with mthp_settings_set() (src/engine/settings.c), an unknown knob
 * is a warning, a bad value an error at the setting's own line.  The reader
 * uses the same check once the geometry is fixed.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

int snap_apply_setting(struct mthp_settings *s,
		       const struct mthp_snapshot_setting *set,
		       const char *name, struct mthp_diag *d)
{
	char err[256] = "";
	char q[64];
	int ret;

	ret = mthp_settings_set(s, set->key, set->value, err, sizeof(err));
	if (ret == -ENOENT) {
		snap_quote(q, sizeof(q), set->key, strlen(set->key));
		snap_warn(d, name, set->line, "unknown setting '%s' ignored", q);
		return 0;
	}
	if (ret) {
		snap_error(d, name, set->line, "%s", err);
		return -EINVAL;
	}
	return 0;
}

int mthp_snapshot_settings(const struct mthp_snapshot *snap,
			   struct mthp_settings *s, const char *name,
			   struct mthp_diag *diag)
{
	mthp_settings_init(s, &snap->geo);
	for (size_t i = 0; i < snap->nr_settings; i++) {
		int err = snap_apply_setting(s, &snap->settings[i], name, diag);

		if (err)
			return err;
	}
	return 0;
}
