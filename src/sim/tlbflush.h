/* SPDX-License-Identifier: MIT */
/*
 * sim/tlbflush.h - the simulated CPUs that run GUP-fast walks with
 * interrupts off, and what waits their walks out (tlbflush.c): the TLB
 * flush when it is sent by IPI, tlb_remove_table_sync_one(), and the
 * freeing of a page table.
 *
 * A GUP-fast walk (gup.c) reads the PMD and a PTE with no lock, between
 * local_irq_disable() and local_irq_enable(), as the kernel's does.  An
 * IPI is not taken by a CPU with interrupts off, so a flush or sync that
 * sends one and waits for every CPU to answer returns only once each walk
 * that was in progress has ended.  Each simulated CPU's interrupts-off
 * section is a program lock of the deterministic scheduler
 * (sim_sched_mutex_lock()), so a waiter blocks there as on a lock.
 *
 * Which of the two steps sends the IPI depends on the machine, as in the
 * kernel:
 *   SIM_TLB_IPI        the TLB flush sends IPIs and waits for them; page
 *                      tables are freed after a flush (no
 *                      MMU_GATHER_RCU_TABLE_FREE), so
 *                      tlb_remove_table_sync_one() does nothing;
 *   SIM_TLB_BROADCAST  the hardware broadcasts the TLB flush, no IPI;
 *                      tables are freed through RCU, and
 *                      tlb_remove_table_sync_one() is the IPI.
 * Nothing here waits while no walker is registered: without GUP-fast
 * walkers (every simulation but the stress program's) each call is one
 * load.
 */
#ifndef MTHP_SIM_TLBFLUSH_H
#define MTHP_SIM_TLBFLUSH_H

#include <stdbool.h>
#include <stdint.h>

enum sim_tlb_machine {
	SIM_TLB_IPI,
	SIM_TLB_BROADCAST,
};

/* The machine's kind (the program's setting; SIM_TLB_IPI until set). */
void tlb_set_machine(enum sim_tlb_machine m);
enum sim_tlb_machine tlb_machine(void);
const char *tlb_machine_name(enum sim_tlb_machine m);

/* ---- the GUP-fast side: one simulated CPU ---- */

struct gup_cpu;

/* Claim a CPU for a walker thread; NULL when every one is taken. */
struct gup_cpu *gup_cpu_get(void);
void gup_cpu_put(struct gup_cpu *c);
/*
 * local_irq_disable(): from here to local_irq_enable() the walk is in
 * progress, and every IPI waits for it.  Context: no lock held.
 */
void gup_irq_disable(struct gup_cpu *c);
void gup_irq_enable(struct gup_cpu *c);
/* The page table the walk reads now (NULL: none); for the checks only. */
void gup_cpu_set_table(struct gup_cpu *c, const void *t);
/*
 * The page the walker holds a reference on (SIM_NO_PFN: none): its
 * speculative grab, kept when the re-checks pass.  The reference is
 * counted here, not in the folio's count: gup_fast_pins() adds it for
 * the refcount check of a collapse's isolation.
 */
void gup_cpu_set_pin(struct gup_cpu *c, uint32_t pfn);

/* ---- the other side ---- */

/*
 * The IPI of flush_tlb_range() in pmdp_collapse_flush(): on a
 * SIM_TLB_IPI machine, waits until every GUP-fast walk in progress has
 * ended.  Context: any lock may be held (a walk takes none).
 */
void flush_tlb_ipi(void);
/* tlb_remove_table_sync_one(): the same wait on a SIM_TLB_BROADCAST machine. */
void tlb_remove_table_sync_one(void);
/*
 * Before a page table is freed: wait out every walk in progress, on any
 * machine (after the flush's IPI, or an RCU grace period), so that no
 * walk reads a freed table.  Context: any.
 */
void tlb_table_free_sync(void);
/* Is a GUP-fast walk in progress on page table t?  Context: any. */
bool gup_fast_walking(const void *t);
/* GUP-fast references held on pages [pfn, pfn + nr).  Context: any. */
uint32_t gup_fast_pins(uint32_t pfn, uint32_t nr);

#endif /* MTHP_SIM_TLBFLUSH_H */
