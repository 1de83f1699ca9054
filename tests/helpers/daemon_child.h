/* SPDX-License-Identifier: MIT */
/*
 * daemon_child.h - what the tests of `mthp daemon` share: a child with a
 * dense PMD range of order-0 pages, a sparse one and an empty one; the
 * overrides that make its ranges eligible; whether a range is PMD-mapped;
 * and counts that AddressSanitizer's own memory may raise.
 */
#ifndef MTHP_TEST_DAEMON_CHILD_H
#define MTHP_TEST_DAEMON_CHILD_H

#include <stdint.h>
#include <sys/types.h>

/* Under AddressSanitizer a forked child carries the sanitizer's mappings. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_ADDRESS_SPACE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_ADDRESS_SPACE 1
#endif
#endif
#ifndef SANITIZED_ADDRESS_SPACE
#define SANITIZED_ADDRESS_SPACE 0
#endif

/*
 * A count of the daemon's over a whole child: exact in a normal build; at
 * least that many under AddressSanitizer, whose own dense regions, in a
 * child forked from this test, are there to be collapsed too.  Checks of
 * the child's own ranges stay exact everywhere.
 */
#define assert_daemon_count(got, want) do {				\
	if (SANITIZED_ADDRESS_SPACE)					\
		assert_true((uint64_t)(got) >= (uint64_t)(want));	\
	else								\
		assert_int_equal((got), (want));			\
} while (0)

#define DAEMON_SPARSE_PAGES 10

/* Planning overrides: eligible without VM_HUGEPAGE, sparse ranges refused. */
#define DAEMON_SET_ALWAYS "enabled=always"
#define DAEMON_SET_NONE "khugepaged/max_ptes_none=64"
extern const char *const daemon_overrides[2];

struct daemon_child {
	pid_t pid;
	char pid_text[16];		/* pid in decimal, for a command line */
	uint64_t dense, sparse, empty;	/* the 3 PMD ranges of its VMA */
};

/*
 * A child (reaped by live_kids_teardown) with one 3-PMD VMA of its own:
 * range 0 fully written (order-0 pages: the host's enabled is not "always"
 * for a VMA without VM_HUGEPAGE... unless it is, then the range is a THP
 * at once and the cases skip), range 1 with DAEMON_SPARSE_PAGES pages,
 * range 2 empty.
 */
struct daemon_child daemon_child_start(void);

/* 1 when the range at addr of pid is PMD-mapped, 0 when not, else -errno. */
int daemon_pmd_mapped(pid_t pid, uint64_t addr);

/* Skip the case when the child's dense range is a THP already. */
void daemon_require_small_pages(const struct daemon_child *c);

#endif /* MTHP_TEST_DAEMON_CHILD_H */
