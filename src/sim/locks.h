/* SPDX-License-Identifier: MIT */
/*
 * sim/locks.h - how the simulator's threads share memory: the relaxed and
 * acquire/release atomics, the lock classes in the order they nest, the
 * lock validator's API (lockdep.c; debug builds only), and the lock
 * wrappers that take or drop a lock and record it.
 */
#ifndef MTHP_SIM_LOCKS_H
#define MTHP_SIM_LOCKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/names.h"

/* Atomic accessors of the fields other threads read or write unlocked. */

/*
 * Lock classes, ranked in the order they nest (outermost first); the
 * order and why is written once, at the top of lockdep.c.  Debug builds
 * (MTHP_DEBUG) record every lock taken through the wrappers below, with
 * the file and line of the call, in a per-thread list: a blocking
 * acquisition inside a lock of a higher rank (or the same class twice),
 * a release of a lock not held, and a failed Context: assertion abort
 * with both locks' names and both call sites.  Release builds compile all
 * of it away.  The classes: X(class, its name).
 */
#define SIM_LOCK_CLASSES(X) \
	X(LOCK_WORLD, "world")			/* sim->world_lock (debug only; write: sim_check) */ \
	X(LOCK_MMAP, "mmap_lock")		/* mm->mmap_lock */ \
	X(LOCK_MMAP_NESTED, "mmap_lock_nested")	/* a fork child's mmap_lock, inside the parent's */ \
	X(LOCK_VMA_TREE, "vma_tree")		/* mm->vma_tree_lock: the VMA list's RCU readers */ \
	X(LOCK_VMA, "vma_lock")			/* a VMA's per-VMA lock (sim_vma_lock) */ \
	X(LOCK_ANON_VMA, "anon_vma")		/* anon_vma->lock */ \
	X(LOCK_PMD, "pmd_lock")			/* sim_pmd_table->lock */ \
	X(LOCK_PMD_NESTED, "pmd_lock_nested")	/* a second PMD table, nested (mremap) */ \
	X(LOCK_PTE, "pte_lock")			/* sim_pte_table->lock */ \
	X(LOCK_PTE_NESTED, "pte_lock_nested")	/* a second PTE table, nested (fork, mremap) */ \
	X(LOCK_FOLIO_MAP, "folio_map_lock")	/* a large folio's map lock (bit spinlock) */ \
	X(LOCK_PGD, "pgd_lock")			/* mm->pgd_lock, the kernel's page_table_lock */ \
	X(LOCK_SWAP, "swap_lock")		/* sim->swap.lock (swap_info lock) */ \
	X(LOCK_ZONE, "zone_lock")		/* sim->pm.zone_lock (the buddy allocator) */ \
	X(LOCK_MEMCG, "memcg_lock")		/* sim->memcg_lock (cgroup creation) */ \
	X(LOCK_MM_LIST, "mm_list_lock")		/* sim->mm_list_lock */ \
	X(LOCK_KHUGEPAGED, "khugepaged_lock")	/* sim->khugepaged.lock (its thread's state) */ \
	X(LOCK_SETTINGS, "settings_lock")	/* sim->settings_lock */ \
	X(LOCK_TRACE, "trace_lock")		/* sim->trace.lock (one line at a time) */
enum sim_lock_class {
	SIM_LOCK_CLASSES(MTHP_NAME_VALUE)
	LOCK_NR_CLASSES
};

enum sim_lock_mode {
	LOCK_READ = 1,		/* shared */
	LOCK_WRITE = 2,		/* exclusive (a mutex is always this) */
	LOCK_ANY = 3,		/* for assertions: either */
};

/* The name of a lock class, as lockdep prints it. */
const char *lockdep_class_name(enum sim_lock_class c);

#if MTHP_DEBUG
void lockdep_acquired_at(enum sim_lock_class c, const void *obj,
			 enum sim_lock_mode mode, bool trylock,
			 const char *file, int line);
void lockdep_released_at(enum sim_lock_class c, const void *obj,
			 const char *file, int line);
/* Abort unless obj (any of the class when NULL) is held in mode. */
void lockdep_assert_held_at(enum sim_lock_class c, const void *obj,
			    enum sim_lock_mode mode, const char *file, int line);
/* Abort if obj (any of the class when NULL) is held. */
void lockdep_assert_not_held_at(enum sim_lock_class c, const void *obj,
				const char *file, int line);
/* Abort if the calling thread holds any lock. */
void lockdep_assert_none_held_at(const char *file, int line);
/* Is obj (any of the class when NULL) held in mode? */
bool lockdep_is_held(enum sim_lock_class c, const void *obj,
		     enum sim_lock_mode mode);
/* Number of locks the calling thread holds. */
unsigned lockdep_depth(void);
/* The calling thread's record, for the deterministic scheduler to switch. */
void *lockdep_thread_state(size_t *size);
#else
static inline void lockdep_acquired_at(enum sim_lock_class c, const void *obj,
				       enum sim_lock_mode mode, bool trylock,
				       const char *file, int line)
{
	(void)c; (void)obj; (void)mode; (void)trylock; (void)file; (void)line;
}
static inline void lockdep_released_at(enum sim_lock_class c, const void *obj,
				       const char *file, int line)
{
	(void)c; (void)obj; (void)file; (void)line;
}
static inline void lockdep_assert_held_at(enum sim_lock_class c, const void *obj,
					  enum sim_lock_mode mode,
					  const char *file, int line)
{
	(void)c; (void)obj; (void)mode; (void)file; (void)line;
}
static inline void lockdep_assert_not_held_at(enum sim_lock_class c,
					      const void *obj,
					      const char *file, int line)
{
	(void)c; (void)obj; (void)file; (void)line;
}
static inline void lockdep_assert_none_held_at(const char *file, int line)
{
	(void)file; (void)line;
}
static inline bool lockdep_is_held(enum sim_lock_class c, const void *obj,
				   enum sim_lock_mode mode)
{
	(void)c; (void)obj; (void)mode;
	return true;
}
static inline unsigned lockdep_depth(void) { return 0; }
static inline void *lockdep_thread_state(size_t *size)
{
	*size = 0;
	return NULL;
}
#endif

#define lockdep_acquired(c, obj, mode, trylock) \
	lockdep_acquired_at(c, obj, mode, trylock, __FILE__, __LINE__)
#define lockdep_released(c, obj) lockdep_released_at(c, obj, __FILE__, __LINE__)
#define lockdep_assert_held(c, obj, mode) \
	lockdep_assert_held_at(c, obj, mode, __FILE__, __LINE__)
#define lockdep_assert_not_held(c, obj) \
	lockdep_assert_not_held_at(c, obj, __FILE__, __LINE__)
#define lockdep_assert_none_held() lockdep_assert_none_held_at(__FILE__, __LINE__)
/*
 * mm's mmap_lock held in mode, as LOCK_MMAP or as LOCK_MMAP_NESTED (a
 * fork child's, whose VMAs and tables fork builds under the parent's).
 */
#define mmap_assert_locked(mm, mode)					\
	do {								\
		if (!lockdep_is_held(LOCK_MMAP_NESTED, (mm), (mode)))	\
			lockdep_assert_held(LOCK_MMAP, (mm), (mode));	\
	} while (0)

/*
 * The deterministic scheduler's side of the wrappers (sched.c,
 * mthp/sched.h).  sched_det is set on the OS thread that runs a
 * deterministic schedule and NULL everywhere else, so that real threads
 * pay one predictable branch.  sched_lock() takes the lock, blocking in
 * the scheduler while it is held; sched_trylock() tries it once; both
 * and sched_unlock() (which drops it) are scheduling points.
 */
struct sched;
extern __thread struct sched *sched_det;

enum sched_lock_kind {
	SCHED_MUTEX,
	SCHED_READ,		/* an rwlock for read */
	SCHED_WRITE,		/* an rwlock for write */
};

void sched_lock(void *l, enum sched_lock_kind k, enum sim_lock_class c,
		const void *obj, const char *file, int line);
bool sched_trylock(void *l, enum sched_lock_kind k, enum sim_lock_class c,
		   const void *obj, const char *file, int line);
void sched_unlock(void *l, enum sched_lock_kind k, enum sim_lock_class c,
		  const void *obj, const char *file, int line);
/* A scheduling point that names a step (a static string). */
void sched_step(const char *what);

#define sched_is_det() __builtin_expect(sched_det != NULL, 0)

/*
 * Atomic accesses.  ld_acquire() and st_release() are the steps of the
 * lockless protocols (a PMD entry read or published outside its lock, a
 * folio's reference count, a VMA's anon_vma): under a deterministic
 * schedule with atomic points (sim_sched_config.atomic_points) each is a
 * scheduling point, as a lock is, so another thread may run between any
 * two of them.  ld_config() and st_config() read and publish what the
 * program sets between operations (the settings, the trace, the
 * injection hook), and the relaxed ones are counters, flags read under
 * the lock that writes them, and statistics: none of these orders one
 * thread's steps against another's, so they are never points (with them
 * a schedule had 161,000 points where it has 62,000).
 */
extern __thread bool sched_det_atomic;

static inline void sched_atomic_point(void)
{
	if (sched_is_det() && sched_det_atomic)
		sched_step("atomic");
}
#define ld_relaxed(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define st_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ld_config(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define st_config(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ld_acquire(p)	(sched_atomic_point(), __atomic_load_n((p), __ATOMIC_ACQUIRE))
#define st_release(p, v) (sched_atomic_point(), __atomic_store_n((p), (v), __ATOMIC_RELEASE))

/*
 * The lock wrappers: take or drop the lock and record it with the
 * caller's file and line.  lock_at() and unlock_at() serve every kind
 * (k, a constant where they are inlined); the _at macros of each kind
 * check that the lock is of that type, and the plain names below pass
 * __FILE__ and __LINE__.  An rwlock is dropped as SCHED_READ, whichever
 * way it was taken: the scheduler knows which from its holder.
 */
static inline void lock_raw(void *l, enum sched_lock_kind k)
{
	switch (k) {
	case SCHED_MUTEX:
		pthread_mutex_lock(l);
		return;
	case SCHED_READ:
		pthread_rwlock_rdlock(l);
		return;
	case SCHED_WRITE:
		pthread_rwlock_wrlock(l);
		return;
	}
}
static inline void lock_at(void *l, enum sched_lock_kind k, enum sim_lock_class c,
			   const void *obj, const char *file, int line)
{
	if (sched_is_det())
		sched_lock(l, k, c, obj, file, line);
	else
		lock_raw(l, k);
	lockdep_acquired_at(c, obj, k == SCHED_READ ? LOCK_READ : LOCK_WRITE, false,
			    file, line);
}
static inline void unlock_at(void *l, enum sched_lock_kind k, enum sim_lock_class c,
			     const void *obj, const char *file, int line)
{
	lockdep_released_at(c, obj, file, line);
	if (sched_is_det())
		sched_unlock(l, k, c, obj, file, line);
	else if (k == SCHED_MUTEX)
		pthread_mutex_unlock(l);
	else
		pthread_rwlock_unlock(l);
}
static inline bool rw_read_trylock_at(pthread_rwlock_t *l, enum sim_lock_class c,
				      const void *obj, const char *file, int line)
{
	if (sched_is_det() ? !sched_trylock(l, SCHED_READ, c, obj, file, line) :
	    pthread_rwlock_tryrdlock(l) != 0)
		return false;
	lockdep_acquired_at(c, obj, LOCK_READ, true, file, line);
	return true;
}
/* l itself, where it is of type T (a compile error where it is not). */
#define LOCK_OF_TYPE(T, l)	(1 ? (l) : (T *)NULL)
#define rw_read_lock_at(l, ...) \
	lock_at(LOCK_OF_TYPE(pthread_rwlock_t, l), SCHED_READ, __VA_ARGS__)
#define rw_write_lock_at(l, ...) \
	lock_at(LOCK_OF_TYPE(pthread_rwlock_t, l), SCHED_WRITE, __VA_ARGS__)
#define rw_unlock_at(l, ...) \
	unlock_at(LOCK_OF_TYPE(pthread_rwlock_t, l), SCHED_READ, __VA_ARGS__)
#define mutex_lock_at(l, ...) \
	lock_at(LOCK_OF_TYPE(pthread_mutex_t, l), SCHED_MUTEX, __VA_ARGS__)
#define mutex_unlock_at(l, ...) \
	unlock_at(LOCK_OF_TYPE(pthread_mutex_t, l), SCHED_MUTEX, __VA_ARGS__)

#define mmap_read_lock(mm) \
	rw_read_lock_at(&(mm)->mmap_lock, LOCK_MMAP, (mm), __FILE__, __LINE__)
#define mmap_read_trylock(mm) \
	rw_read_trylock_at(&(mm)->mmap_lock, LOCK_MMAP, (mm), __FILE__, __LINE__)
#define mmap_write_lock(mm) \
	rw_write_lock_at(&(mm)->mmap_lock, LOCK_MMAP, (mm), __FILE__, __LINE__)
#define mmap_unlock(mm) \
	rw_unlock_at(&(mm)->mmap_lock, LOCK_MMAP, (mm), __FILE__, __LINE__)
/* A fork child's, while the parent's is held for write. */
#define mmap_write_lock_nested(mm) \
	rw_write_lock_at(&(mm)->mmap_lock, LOCK_MMAP_NESTED, (mm), __FILE__, __LINE__)
#define mmap_unlock_nested(mm) \
	rw_unlock_at(&(mm)->mmap_lock, LOCK_MMAP_NESTED, (mm), __FILE__, __LINE__)
#define anon_vma_lock_write(av) \
	rw_write_lock_at(&(av)->lock, LOCK_ANON_VMA, (av), __FILE__, __LINE__)
#define anon_vma_unlock_write(av) \
	rw_unlock_at(&(av)->lock, LOCK_ANON_VMA, (av), __FILE__, __LINE__)
/* The rmap walkers' side (rmap.c): shared, or tried as folio_referenced does. */
#define anon_vma_lock_read(av) \
	rw_read_lock_at(&(av)->lock, LOCK_ANON_VMA, (av), __FILE__, __LINE__)
#define anon_vma_trylock_read(av) \
	rw_read_trylock_at(&(av)->lock, LOCK_ANON_VMA, (av), __FILE__, __LINE__)
#define anon_vma_unlock_read(av) \
	rw_unlock_at(&(av)->lock, LOCK_ANON_VMA, (av), __FILE__, __LINE__)
#define pmd_lock(pmdt) \
	mutex_lock_at(&(pmdt)->lock, LOCK_PMD, (pmdt), __FILE__, __LINE__)
#define pmd_unlock(pmdt) \
	mutex_unlock_at(&(pmdt)->lock, LOCK_PMD, (pmdt), __FILE__, __LINE__)
#define pmd_lock_nested(pmdt) \
	mutex_lock_at(&(pmdt)->lock, LOCK_PMD_NESTED, (pmdt), __FILE__, __LINE__)
#define pmd_unlock_nested(pmdt) \
	mutex_unlock_at(&(pmdt)->lock, LOCK_PMD_NESTED, (pmdt), __FILE__, __LINE__)
#define pte_lock(t) \
	mutex_lock_at(&(t)->lock, LOCK_PTE, (t), __FILE__, __LINE__)
#define pte_unlock(t) \
	mutex_unlock_at(&(t)->lock, LOCK_PTE, (t), __FILE__, __LINE__)
#define pte_lock_nested(t) \
	mutex_lock_at(&(t)->lock, LOCK_PTE_NESTED, (t), __FILE__, __LINE__)
#define pte_unlock_nested(t) \
	mutex_unlock_at(&(t)->lock, LOCK_PTE_NESTED, (t), __FILE__, __LINE__)
#define pgd_lock(mm) \
	mutex_lock_at(&(mm)->pgd_lock, LOCK_PGD, (mm), __FILE__, __LINE__)
#define pgd_unlock(mm) \
	mutex_unlock_at(&(mm)->pgd_lock, LOCK_PGD, (mm), __FILE__, __LINE__)
#define swap_lock(sw) \
	mutex_lock_at(&(sw)->lock, LOCK_SWAP, (sw), __FILE__, __LINE__)
#define swap_unlock(sw) \
	mutex_unlock_at(&(sw)->lock, LOCK_SWAP, (sw), __FILE__, __LINE__)
#define zone_lock(pm) \
	mutex_lock_at(&(pm)->zone_lock, LOCK_ZONE, (pm), __FILE__, __LINE__)
#define zone_unlock(pm) \
	mutex_unlock_at(&(pm)->zone_lock, LOCK_ZONE, (pm), __FILE__, __LINE__)
#define memcg_lock(sim) \
	mutex_lock_at(&(sim)->memcg_lock, LOCK_MEMCG, (sim), __FILE__, __LINE__)
#define memcg_unlock(sim) \
	mutex_unlock_at(&(sim)->memcg_lock, LOCK_MEMCG, (sim), __FILE__, __LINE__)
#define mm_list_lock(sim) \
	mutex_lock_at(&(sim)->mm_list_lock, LOCK_MM_LIST, (sim), __FILE__, __LINE__)
#define mm_list_unlock(sim) \
	mutex_unlock_at(&(sim)->mm_list_lock, LOCK_MM_LIST, (sim), __FILE__, __LINE__)
#define khugepaged_lock(ks) \
	mutex_lock_at(&(ks)->lock, LOCK_KHUGEPAGED, (ks), __FILE__, __LINE__)
#define khugepaged_unlock(ks) \
	mutex_unlock_at(&(ks)->lock, LOCK_KHUGEPAGED, (ks), __FILE__, __LINE__)
#define settings_lock(sim) \
	mutex_lock_at(&(sim)->settings_lock, LOCK_SETTINGS, (sim), __FILE__, __LINE__)
#define settings_unlock(sim) \
	mutex_unlock_at(&(sim)->settings_lock, LOCK_SETTINGS, (sim), __FILE__, __LINE__)
#define trace_lock(tr) \
	mutex_lock_at(&(tr)->lock, LOCK_TRACE, (tr), __FILE__, __LINE__)
#define trace_unlock(tr) \
	mutex_unlock_at(&(tr)->lock, LOCK_TRACE, (tr), __FILE__, __LINE__)

/*
 * Per-VMA locks (vma.c).  The VMA list's readers without mmap_lock
 * (lock_vma_under_rcu()) hold the tree lock for read where the kernel
 * holds rcu_read_lock(); whatever changes the list holds it for write.
 * A VMA's lock is tried for read by a fault and taken for write, for a
 * moment, by vma_start_write().  mmap_write_unlock() ends every VMA's
 * write lock of the mm (vma_end_write_all()).
 */
struct sim_mm;
void vma_end_write_all(struct sim_mm *mm);
#define vma_tree_read_lock(mm) \
	rw_read_lock_at(&(mm)->vma_tree_lock, LOCK_VMA_TREE, (mm), __FILE__, __LINE__)
#define vma_tree_read_trylock(mm) \
	rw_read_trylock_at(&(mm)->vma_tree_lock, LOCK_VMA_TREE, (mm), __FILE__, __LINE__)
#define vma_tree_write_lock(mm) \
	rw_write_lock_at(&(mm)->vma_tree_lock, LOCK_VMA_TREE, (mm), __FILE__, __LINE__)
#define vma_tree_unlock(mm) \
	rw_unlock_at(&(mm)->vma_tree_lock, LOCK_VMA_TREE, (mm), __FILE__, __LINE__)
#define vma_lock_read_trylock(vl) \
	rw_read_trylock_at(&(vl)->lock, LOCK_VMA, (vl), __FILE__, __LINE__)
#define vma_lock_write(vl) \
	rw_write_lock_at(&(vl)->lock, LOCK_VMA, (vl), __FILE__, __LINE__)
#define vma_lock_unlock(vl) \
	rw_unlock_at(&(vl)->lock, LOCK_VMA, (vl), __FILE__, __LINE__)
#define mmap_write_unlock(mm)						\
	do {								\
		vma_end_write_all(mm);					\
		mmap_unlock(mm);					\
	} while (0)
#define mmap_write_unlock_nested(mm)					\
	do {								\
		vma_end_write_all(mm);					\
		mmap_unlock_nested(mm);					\
	} while (0)
/*
 * A fault's page tables: mmap_lock held (a fork child's: nested), or a
 * VMA's lock for read (the fault under the per-VMA lock).
 */
#define fault_assert_locked(mm)						\
	do {								\
		if (!lockdep_is_held(LOCK_VMA, NULL, LOCK_READ))	\
			mmap_assert_locked((mm), LOCK_ANY);		\
	} while (0)

#endif /* MTHP_SIM_LOCKS_H */
