/* SPDX-License-Identifier: MIT */
/*
 * common/names.h - an enum's names as a table indexed by its values, and
 * the two lookups every such table wants: the name of a value, checked
 * against the table's bounds, and the value of a name; and the X-macro
 * entries that make the enum and the table from one list.  Header only and
 * libc only: every layer may include it.
 */
#ifndef MTHP_COMMON_NAMES_H
#define MTHP_COMMON_NAMES_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

/*
 * An enum and its names kept in step by one X-macro list of X(value,
 * name) entries: LIST(MTHP_NAME_VALUE) in the enum's braces, and
 * LIST(MTHP_NAME_ENTRY) in the braces of its table of names.
 */
#define MTHP_NAME_VALUE(value, name) value,
#define MTHP_NAME_ENTRY(value, name) [value] = name,

/*
 * names[value] of a table of nr names; fallback for a value past the
 * table (a negative enum value converts to a huge one) or a hole in it.
 */
static inline const char *mthp_name_of(const char *const *names, size_t nr,
				       size_t value, const char *fallback)
{
	return value < nr && names[value] ? names[value] : fallback;
}

/* The value whose name is the len bytes at name, or -EINVAL if none is. */
static inline int mthp_name_find_len(const char *const *names, size_t nr,
				     const char *name, size_t len)
{
	for (size_t i = 0; i < nr; i++)
		if (names[i] && strlen(names[i]) == len && !memcmp(names[i], name, len))
			return (int)i;
	return -EINVAL;
}

/* The value whose name is the string name, or -EINVAL if none is. */
static inline int mthp_name_find(const char *const *names, size_t nr, const char *name)
{
	return mthp_name_find_len(names, nr, name, strlen(name));
}

#endif /* MTHP_COMMON_NAMES_H */
