// SPDX-License-Identifier: MIT
/*
 * tlbflush.c - the simulated CPUs' interrupts-off sections of GUP-fast
 * walks, and the IPIs that wait them out (sim/tlbflush.h says which step
 * sends one on which machine).
 *
 * Each CPU is a slot: irqs_off (set with a sequentially consistent store
 * before the walk reads the PMD), the table and the pin of the walk, and
 * a program lock held while interrupts are off.  An IPI reads irqs_off
 * after a full fence, so that of a walk reading a PMD and a writer
 * clearing it (then sending the IPI), either the walk sees the PMD clear
 * or the IPI sees the walk and waits for the lock.  The slots are the
 * program's, not one simulator's: an IPI reaches every CPU.
 */
#include <pthread.h>

#include <mthp/sched.h>
#include <mthp/sim.h>

#include "common/names.h"
#include "sim/locks.h"
#include "sim/tlbflush.h"
#include "sim/world.h"

#define SIM_GUP_CPUS 2

struct gup_cpu {
	pthread_mutex_t irq;		/* held while interrupts are off */
	uint32_t used;			/* atomic: claimed by a walker */
	uint32_t irqs_off;		/* atomic */
	const void *table;		/* atomic: the table the walk reads */
	uint32_t pin;			/* atomic: SIM_NO_PFN, or the page held */
};

static struct gup_cpu cpus[SIM_GUP_CPUS] = {
	{ .irq = PTHREAD_MUTEX_INITIALIZER, .pin = SIM_NO_PFN },
	{ .irq = PTHREAD_MUTEX_INITIALIZER, .pin = SIM_NO_PFN },
};
static uint32_t nr_used;		/* atomic */
static uint32_t machine;		/* atomic: enum sim_tlb_machine */

/*
 * A full barrier, as a read-modify-write of one word that both sides of
 * every store-then-load pair do (ThreadSanitizer has no fences): either
 * the walk sees the writer's store or the writer sees the walk's.
 */
static void full_barrier(void)
{
	__atomic_fetch_add(&nr_used, 0, __ATOMIC_SEQ_CST);
}

void tlb_set_machine(enum sim_tlb_machine m)
{
	st_config(&machine, (uint32_t)m);
}

void sim_tlb_set_broadcast(bool broadcast)
{
	tlb_set_machine(broadcast ? SIM_TLB_BROADCAST : SIM_TLB_IPI);
}

enum sim_tlb_machine tlb_machine(void)
{
	return (enum sim_tlb_machine)ld_config(&machine);
}

const char *tlb_machine_name(enum sim_tlb_machine m)
{
	static const char *const names[] = {
		[SIM_TLB_IPI] = "TLB flush by IPI",
		[SIM_TLB_BROADCAST] = "TLB flush broadcast, tables freed by RCU",
	};

	return mthp_name_of(names, sizeof(names) / sizeof(names[0]), m, "?");
}

struct gup_cpu *gup_cpu_get(void)
{
	for (unsigned i = 0; i < SIM_GUP_CPUS; i++) {
		uint32_t free_ = 0;

		if (__atomic_compare_exchange_n(&cpus[i].used, &free_, 1, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_fetch_add(&nr_used, 1, __ATOMIC_SEQ_CST);
			return &cpus[i];
		}
	}
	return NULL;
}

void gup_cpu_put(struct gup_cpu *c)
{
	__atomic_store_n(&c->pin, SIM_NO_PFN, __ATOMIC_SEQ_CST);
	__atomic_fetch_sub(&nr_used, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->used, 0, __ATOMIC_RELEASE);
}

/* Context: no lock held (a walk takes none while interrupts are off). */
void gup_irq_disable(struct gup_cpu *c)
{
	sim_sched_mutex_lock(&c->irq);
	__atomic_store_n(&c->irqs_off, 1, __ATOMIC_SEQ_CST);
	full_barrier();
}

/* Context: the walk's interrupts-off section. */
void gup_irq_enable(struct gup_cpu *c)
{
	__atomic_store_n(&c->table, NULL, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->irqs_off, 0, __ATOMIC_SEQ_CST);
	sim_sched_mutex_unlock(&c->irq);
}

void gup_cpu_set_table(struct gup_cpu *c, const void *t)
{
	__atomic_store_n(&c->table, t, __ATOMIC_SEQ_CST);
}

void gup_cpu_set_pin(struct gup_cpu *c, uint32_t pfn)
{
	sched_atomic_point();
	__atomic_store_n(&c->pin, pfn, __ATOMIC_SEQ_CST);
	full_barrier();
}

/*
 * The IPI: every CPU with interrupts off answers once they are back on.
 * Context: any lock may be held; takes and drops the CPUs' program locks.
 */
static void ipi_wait_all(void)
{
	if (!__atomic_load_n(&nr_used, __ATOMIC_SEQ_CST))
		return;
	full_barrier();
	for (unsigned i = 0; i < SIM_GUP_CPUS; i++) {
		if (!__atomic_load_n(&cpus[i].irqs_off, __ATOMIC_SEQ_CST))
			continue;
		sim_sched_mutex_lock(&cpus[i].irq);
		sim_sched_mutex_unlock(&cpus[i].irq);
	}
}

/* Context: any; may take and drop the CPUs' program locks. */
void flush_tlb_ipi(void)
{
	switch (tlb_machine()) {
	case SIM_TLB_IPI:
		ipi_wait_all();
		break;
	case SIM_TLB_BROADCAST:
		break;
	}
}

/* Context: any; may take and drop the CPUs' program locks. */
void tlb_remove_table_sync_one(void)
{
	switch (tlb_machine()) {
	case SIM_TLB_IPI:
		break;
	case SIM_TLB_BROADCAST:
		ipi_wait_all();
		break;
	}
}

/* Context: any; may take and drop the CPUs' program locks. */
void tlb_table_free_sync(void)
{
	ipi_wait_all();
}

bool gup_fast_walking(const void *t)
{
	if (!__atomic_load_n(&nr_used, __ATOMIC_SEQ_CST))
		return false;
	for (unsigned i = 0; i < SIM_GUP_CPUS; i++)
		if (__atomic_load_n(&cpus[i].irqs_off, __ATOMIC_SEQ_CST) &&
		    __atomic_load_n(&cpus[i].table, __ATOMIC_SEQ_CST) == t)
			return true;
	return false;
}

uint32_t gup_fast_pins(uint32_t pfn, uint32_t nr)
{
	uint32_t n = 0;

	if (!__atomic_load_n(&nr_used, __ATOMIC_SEQ_CST))
		return 0;
	full_barrier();
	for (unsigned i = 0; i < SIM_GUP_CPUS; i++) {
		uint32_t p = __atomic_load_n(&cpus[i].pin, __ATOMIC_SEQ_CST);

		if (p != SIM_NO_PFN && p - pfn < nr)
			n++;
	}
	return n;
}
