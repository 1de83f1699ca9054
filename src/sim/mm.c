// SPDX-License-Identifier: MIT
/*
 * mm.c - the simulator and its processes: creation and teardown, the
 * settings (published as immutable versions), the simulated clock and
 * random numbers, the world lock of debug builds, and the mapping
 * operations mmap, munmap, mprotect and mremap (each under mmap_lock held
 * for write).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

#define SIM_MMAP_BASE 0x7f0000000000ull

const struct mthp_settings *sim_settings(struct sim *sim)
{
	return &((struct sim_settings_node *)ld_acquire(&sim->settings))->s;
}

int sim_set_settings(struct sim *sim, const struct mthp_settings *s)
{
	struct sim_settings_node *n = malloc(sizeof(*n));

	if (!n)
		return -ENOMEM;
	if (s->geo.ptes_per_pmd != sim->geo.ptes_per_pmd) {
		free(n);
		return -EINVAL;
	}
	n->s = *s;
	pthread_mutex_lock(&sim->settings_lock);
	n->prev = sim->settings;
	st_release(&sim->settings, n);
	pthread_mutex_unlock(&sim->settings_lock);
	return 0;
}

void sim_get_settings(struct sim *sim, struct mthp_settings *s)
{
	*s = *sim_settings(sim);
}

int sim_set_knob(struct sim *sim, const char *knob, const char *value)
{
	struct mthp_settings s;
	int err;

	pthread_mutex_lock(&sim->settings_lock);
	s = sim->settings->s;
	pthread_mutex_unlock(&sim->settings_lock);
	err = mthp_settings_set(&s, knob, value, NULL, 0);
	return err ? err : sim_set_settings(sim, &s);
}

void sim_set_read_fault_alloc(struct sim *sim, bool alloc)
{
	st_relaxed(&sim->read_fault_alloc, alloc);
}

const struct mthp_geometry *sim_geometry(const struct sim *sim)
{
	return &sim->geo;
}

uint64_t sim_now(struct sim *sim)
{
	return ld_relaxed(&sim->clock_ns);
}

void sim_advance(struct sim *sim, uint64_t ns)
{
	__atomic_fetch_add(&sim->clock_ns, ns, __ATOMIC_RELAXED);
}

uint64_t sim_random(struct sim *sim)
{
	uint64_t n = __atomic_fetch_add(&sim->rng_counter, 1, __ATOMIC_RELAXED);
	uint64_t z = sim->seed + (n + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * Context: no lock held (every operation starts here, so this asserts
 * that no simulator function is entered from under a simulator lock);
 * takes the world lock for read in debug builds.
 */
void world_enter(struct sim *sim)
{
#if MTHP_DEBUG
	lockdep_assert_none_held();
	rw_read_lock_at(&sim->world_lock, LOCK_WORLD, sim, __FILE__, __LINE__);
#else
	(void)sim;
#endif
}

/* Context: the world lock held for read, and nothing else; drops it. */
void world_exit(struct sim *sim)
{
#if MTHP_DEBUG
	lockdep_assert_held(LOCK_WORLD, sim, LOCK_READ);
	if (lockdep_depth() != 1)
		lockdep_assert_none_held();	/* reports the lock left held */
	rw_unlock_at(&sim->world_lock, LOCK_WORLD, sim, __FILE__, __LINE__);
#else
	(void)sim;
#endif
}

void sim_set_check_interval(struct sim *sim, uint32_t n)
{
	st_relaxed(&sim->check_interval, n ? n : 1);
}

void sim_debug_check(struct sim *sim)
{
#if MTHP_DEBUG
	uint32_t n = __atomic_add_fetch(&sim->check_counter, 1, __ATOMIC_RELAXED);

	if (n % ld_relaxed(&sim->check_interval))
		return;
	if (sim_check(sim)) {
		fprintf(stderr, "sim_check: %s\n", sim->check_msg);
		abort();
	}
#else
	(void)sim;
#endif
}

int sim_create(struct sim **out, const struct sim_config *cfg,
	       const struct mthp_settings *settings)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	unsigned max_order;
	int err;

	if (!sim)
		return -ENOMEM;
	err = mthp_geometry_from_page_size(&sim->geo, cfg->page_size);
	if (err || settings->geo.ptes_per_pmd != sim->geo.ptes_per_pmd) {
		err = -EINVAL;
		goto out_free;
	}
	sim->page_shift = (unsigned)__builtin_ctz(cfg->page_size);
	sim->pmd_shift = sim->page_shift + sim->geo.pmd_order;
	sim->top_entries = 1u << (SIM_VA_BITS - sim->pmd_shift - 18);
	max_order = sim->geo.pmd_order > 10 ? sim->geo.pmd_order : 10;
	err = physmem_init(&sim->pm, cfg->nr_frames, max_order);
	if (err)
		goto out_free;
	err = swap_init(&sim->swap, cfg->nr_swap_slots);
	if (err)
		goto out_physmem;
	sim->settings = calloc(1, sizeof(*sim->settings));
	if (!sim->settings) {
		err = -ENOMEM;
		goto out_swap;
	}
	sim->settings->s = *settings;
	sim->read_fault_alloc = cfg->read_fault_alloc;
	sim->seed = cfg->seed;
	sim->memcgs[0] = (struct sim_memcg){ .limit = UINT64_MAX, .used = true };
	pthread_mutex_init(&sim->settings_lock, NULL);
	pthread_mutex_init(&sim->memcg_lock, NULL);
	pthread_mutex_init(&sim->mm_list_lock, NULL);
	pthread_rwlock_init(&sim->world_lock, NULL);
	sim->next_mm_id = 1;
	sim->check_interval = 1;
	trace_init(sim);
	inject_init(sim);
	khugepaged_init(sim);
	*out = sim;
	return 0;
out_swap:
	swap_destroy(&sim->swap);
out_physmem:
	physmem_destroy(&sim->pm);
out_free:
	free(sim);
	return err;
}

void sim_destroy(struct sim *sim)
{
	struct sim_settings_node *n = sim->settings;

	if (!sim)
		return;
	khugepaged_destroy(sim);
	trace_destroy(sim);
	while (n) {
		struct sim_settings_node *prev = n->prev;

		free(n);
		n = prev;
	}
	pthread_mutex_destroy(&sim->settings_lock);
	pthread_mutex_destroy(&sim->memcg_lock);
	pthread_mutex_destroy(&sim->mm_list_lock);
	pthread_rwlock_destroy(&sim->world_lock);
	swap_destroy(&sim->swap);
	physmem_destroy(&sim->pm);
	free(sim);
}

/*
 * mmap_lock is fair to writers, as the kernel's rwsem is: once a writer
 * waits, new readers (and read trylocks) wait behind it, so a khugepaged
 * that keeps coming back for the read lock cannot starve munmap or fork.
 */
static void mmap_lock_init(struct sim_mm *mm)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&mm->mmap_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

/* An empty mm on the sim's list. Context: takes the mm list lock. */
int mm_alloc(struct sim *sim, unsigned memcg, struct sim_mm **out)
{
	struct sim_mm *mm;

	if (memcg >= SIM_MAX_MEMCGS || !sim->memcgs[memcg].used)
		return -EINVAL;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->pgd = calloc(sim->top_entries, sizeof(*mm->pgd));
	if (!mm->pgd) {
		free(mm);
		return -ENOMEM;
	}
	lockdep_assert_not_held(LOCK_MM_LIST, sim);
	mm->sim = sim;
	mm->memcg = memcg;
	mm->mmap_base = SIM_MMAP_BASE;
	mm->refs = 1;
	mmap_lock_init(mm);
	pthread_mutex_init(&mm->pgd_lock, NULL);
	mm_list_lock(sim);
	mm->id = sim->next_mm_id++;
	mm->next = sim->mm_list;
	sim->mm_list = mm;
	mm_list_unlock(sim);
	*out = mm;
	return 0;
}

int sim_mm_create(struct sim *sim, unsigned memcg, struct sim_mm **out)
{
	return mm_alloc(sim, memcg, out);
}

uint32_t sim_mm_id(const struct sim_mm *mm)
{
	return mm->id;
}

/* Context: takes the mm list lock.  Off the mm list and khugepaged's. */
static void mm_unlist(struct sim_mm *mm)
{
	struct sim *sim = mm->sim;

	lockdep_assert_not_held(LOCK_MM_LIST, sim);
	mm_list_lock(sim);
	for (struct sim_mm **p = &sim->mm_list; *p; p = &(*p)->next) {
		if (*p == mm) {
			*p = mm->next;
			break;
		}
	}
	khugepaged_exit_locked(mm);
	mm_list_unlock(sim);
}

void mm_put(struct sim_mm *mm)
{
	if (__atomic_sub_fetch(&mm->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_rwlock_destroy(&mm->mmap_lock);
	pthread_mutex_destroy(&mm->pgd_lock);
	free(mm->vmas);
	free(mm->pgd);
	free(mm);
}

/* Context: mmap_lock held for write. */
void mm_teardown(struct sim_mm *mm)
{
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	for (size_t i = 0; i < mm->nr_vmas; i++)
		zap_range(mm, mm->vmas[i].start, mm->vmas[i].end);
	for (size_t i = 0; i < mm->nr_vmas; i++)
		anon_vma_put(mm->vmas[i].anon_vma);
	mm->nr_vmas = 0;
	free_all_tables(mm);
}

void sim_exit(struct sim_mm *mm)
{
	struct sim *sim = mm->sim;

	world_enter(sim);
	mmap_write_lock(mm);
	st_relaxed(&mm->exiting, true);
	mm_teardown(mm);
	mmap_unlock(mm);
	mm_unlist(mm);
	world_exit(sim);
	mm_put(mm);
	sim_debug_check(sim);
}

static bool range_ok(struct sim *sim, uint64_t addr, uint64_t len)
{
	uint64_t mask = sim->geo.page_size - 1;

	return len && !(addr & mask) && !(len & mask) &&
	       addr + len > addr && addr + len <= (1ull << SIM_VA_BITS);
}

/* Context: mmap_lock held for write. */
int munmap_locked(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	err = zap_range(mm, start, end);
	if (!err)
		err = vma_remove_range(mm, start, end);
	if (!err)
		free_unused_tables(mm, start, end);
	return err;
}

int sim_mmap(struct sim_mm *mm, uint64_t *addr, uint64_t len, unsigned prot,
	     unsigned flags)
{
	struct sim *sim = mm->sim;
	uint64_t pmd_size = mthp_pmd_size(&sim->geo);
	struct sim_vma v = { .prot = prot & SIM_PROT_RW };
	int err;

	if (!range_ok(sim, (flags & SIM_MAP_FIXED) ? *addr : 0, len) ||
	    ((flags & SIM_MAP_FIXED) && !range_ok(sim, *addr, len)))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	if (flags & SIM_MAP_FIXED) {
		v.start = *addr;
		err = munmap_locked(mm, v.start, v.start + len);
	} else {
		err = vma_get_unmapped_area(mm, len, len >= pmd_size ? pmd_size :
					    sim->geo.page_size, &v.start);
	}
	if (err)
		goto out_unlock;
	v.end = v.start + len;
	v.pgoff = v.start >> sim->page_shift;
	err = vma_insert(mm, &v);
	if (err)
		goto out_unlock;
	vma_merge_range(mm, v.start, v.end);
	*addr = v.start;
out_unlock:
	mmap_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}

int sim_munmap(struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	struct sim *sim = mm->sim;
	int err;

	if (!range_ok(sim, addr, len))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	err = munmap_locked(mm, addr, addr + len);
	mmap_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}

/* Is [start, end) covered by VMAs without a hole? */
bool range_mapped(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	size_t i = vma_index_after(mm, start);
	uint64_t at = start;

	for (; i < mm->nr_vmas && at < end; i++) {
		if (mm->vmas[i].start > at)
			return false;
		at = mm->vmas[i].end;
	}
	return at >= end;
}

/*
 * Context: mmap_lock held for write; takes and drops the PMD lock, then
 * the PTE lock of the table.
 */
static int wrprotect_pmd(struct sim_mm *mm, uint64_t *pmdp,
			 struct sim_pmd_table *pmdt, uint64_t start,
			 uint64_t end, void *ctx)
{
	struct sim *sim = mm->sim;
	uint64_t pmd;
	struct sim_pte_table *t;

	(void)ctx;
	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	lockdep_assert_not_held(LOCK_PMD, pmdt);
	pmd_lock(pmdt);
	pmd = ld_acquire(pmdp);
	if (pmd_is_huge(pmd))
		st_release(pmdp, pmd & ~PMD_WRITE);
	pmd_unlock(pmdt);
	if (!pmd_is_table(pmd))
		return 0;
	t = pmd_table(pmd);
	pte_lock(t);
	for (uint32_t i = pte_index(sim, start); i <= pte_index(sim, end - 1); i++)
		if (pte_present(t->ptes[i]))
			t->ptes[i] &= ~PTE_WRITE;
	pte_unlock(t);
	return 0;
}

/* Context: mmap_lock held for write.  Bound [start, end) by VMA edges. */
int vma_isolate_range(struct sim_mm *mm, uint64_t start, uint64_t end)
{
	int err;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_WRITE);
	err = vma_split_at(mm, start);
	return err ? err : vma_split_at(mm, end);
}

int sim_mprotect(struct sim_mm *mm, uint64_t addr, uint64_t len, unsigned prot)
{
	struct sim *sim = mm->sim;
	uint64_t end = addr + len;
	int err;

	if (!range_ok(sim, addr, len))
		return -EINVAL;
	world_enter(sim);
	mmap_write_lock(mm);
	err = range_mapped(mm, addr, end) ? vma_isolate_range(mm, addr, end) : -ENOMEM;
	if (err)
		goto out_unlock;
	for (size_t i = vma_index_after(mm, addr);
	     i < mm->nr_vmas && mm->vmas[i].start < end; i++)
		mm->vmas[i].prot = prot & SIM_PROT_RW;
	if (!(prot & SIM_PROT_WRITE))
		err = walk_pmds(mm, addr, end, wrprotect_pmd, NULL);
	vma_merge_range(mm, addr, end);
out_unlock:
	mmap_unlock(mm);
	world_exit(sim);
	sim_debug_check(sim);
	return err;
}
