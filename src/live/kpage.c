// SPDX-License-Identifier: MIT
/*
 * kpage.c - /proc/kpageflags through a small direct-mapped cache of pread
 * windows (LIVE_KPAGE_WINDOW pfns each), so that pages faulted in address
 * order, whose pfns mostly run up or down, cost one read per window
 * instead of one per page; and the order of the
 * large folio a pfn belongs to, from the compound head and tail bits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live/live_internal.h"

static int cache_open(struct live_kpage_cache *c, const char *path,
		      struct mthp_diag *diag)
{
	int ret;

	memset(c->tag, 0, sizeof(c->tag));
	c->reads = 0;
	c->data = malloc(sizeof(uint64_t) * LIVE_KPAGE_SLOTS * LIVE_KPAGE_WINDOW);
	if (!c->data)
		return -ENOMEM;
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd >= 0)
		return 0;
	ret = -errno;
	free(c->data);
	c->data = NULL;
	if (ret == -EACCES || ret == -EPERM)
		live_diag(diag, "cannot open %s: %s: %s", path, strerror(-ret),
			  live_denied_hint(LIVE_DENIED_PFN, geteuid()));
	else
		live_diag(diag, "cannot open %s: %s", path, strerror(-ret));
	return ret;
}

static void cache_close(struct live_kpage_cache *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->data);
	c->data = NULL;
}

static uint64_t cache_get(struct live_kpage_cache *c, uint64_t pfn)
{
	uint64_t win = pfn / LIVE_KPAGE_WINDOW;
	unsigned slot = (unsigned)(win % LIVE_KPAGE_SLOTS);
	uint64_t *data = c->data + (size_t)slot * LIVE_KPAGE_WINDOW;

	if (c->tag[slot] != win + 1) {
		ssize_t n = pread(c->fd, data, sizeof(uint64_t) * LIVE_KPAGE_WINDOW,
				  (off_t)(win * LIVE_KPAGE_WINDOW * sizeof(uint64_t)));

		c->reads++;
		if (n < 0)
			n = 0;
		/* Past the end of memory reads short: zeros. */
		memset((char *)data + n, 0,
		       sizeof(uint64_t) * LIVE_KPAGE_WINDOW - (size_t)n);
		c->tag[slot] = win + 1;
	}
	return data[pfn % LIVE_KPAGE_WINDOW];
}

int live_kpage_open(struct live_kpage *kp, struct mthp_diag *diag)
{
	memset(kp, 0, sizeof(*kp));
	kp->flags.fd = -1;
	return cache_open(&kp->flags, "/proc/kpageflags", diag);
}

void live_kpage_close(struct live_kpage *kp)
{
	cache_close(&kp->flags);
}

uint64_t live_kpageflags(struct live_kpage *kp, uint64_t pfn)
{
	return cache_get(&kp->flags, pfn);
}

unsigned live_folio_order(struct live_kpage *kp, uint64_t pfn, uint64_t flags,
			  unsigned max_order)
{
	uint64_t limit = 1ull << max_order, head = pfn, nr = 1;

	if (kp->folio_nr && pfn >= kp->folio_head &&
	    pfn < kp->folio_head + kp->folio_nr)
		goto found;
	if (!(flags & KPF_BIT(KPF_THP)))
		return 0;
	/* Back to the head: folios are naturally aligned, so stay inside. */
	while (!(flags & KPF_BIT(KPF_COMPOUND_HEAD))) {
		if (!(flags & KPF_BIT(KPF_COMPOUND_TAIL)) || head == 0 ||
		    pfn - head >= limit)
			return 0;
		head--;
		flags = live_kpageflags(kp, head);
	}
	while (nr < limit &&
	       (live_kpageflags(kp, head + nr) & KPF_BIT(KPF_COMPOUND_TAIL)))
		nr++;
	kp->folio_head = head;
	kp->folio_nr = nr;
found:
	return (unsigned)(63 - __builtin_clzll(kp->folio_nr));
}

/*
 * LSD radix sort of pfns by pfn, 12 bits a pass over pfn - the lowest, as
 * many passes as the span of the pfns needs (two up to 64 GiB of 4K pages).
 */
#define SORT_BITS 12

struct live_pfn_slot *live_sort_pfns(struct live_pfn_slot *a,
				     struct live_pfn_slot *tmp, size_t nr)
{
	uint64_t min = UINT64_MAX, span = 0;

	if (nr <= 64) {		/* a few: no 32 KiB of counts to clear */
		for (size_t k = 1; k < nr; k++) {
			struct live_pfn_slot x = a[k];
			size_t j = k;

			for (; j && a[j - 1].pfn > x.pfn; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
		return a;
	}
	for (size_t k = 0; k < nr; k++)
		if (a[k].pfn < min)
			min = a[k].pfn;
	for (size_t k = 0; k < nr; k++)
		span |= a[k].pfn - min;
	for (unsigned shift = 0; shift < 64 && (span >> shift); shift += SORT_BITS) {
		size_t count[1u << SORT_BITS] = { 0 }, pos = 0;
		struct live_pfn_slot *t;

		for (size_t k = 0; k < nr; k++)
			count[((a[k].pfn - min) >> shift) & ((1u << SORT_BITS) - 1)]++;
		for (size_t d = 0; d < (1u << SORT_BITS); d++) {
			size_t c = count[d];

			count[d] = pos;
			pos += c;
		}
		for (size_t k = 0; k < nr; k++)
			tmp[count[((a[k].pfn - min) >> shift) &
				  ((1u << SORT_BITS) - 1)]++] = a[k];
		t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}
