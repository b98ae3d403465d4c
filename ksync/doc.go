// Package ksync holds uswap's kernel-style primitives: the task (the
// kernel's `current`), spinlocks and mutexes with trylock, a reader-writer
// semaphore, atomics, flag words with a bit lock and bit waiters (the
// folio lock), wait queues with timeouts, a percpu_ref-like live
// reference, preempt-disabled sections with stop_machine() and RCU-sched
// read-side sections with synchronize_sched() (preempt.go, rcu.go),
// statistics counters, and cond_resched/schedule_timeout.
//
// Design:
//
//  1. Every operation takes the task that performs it, passed explicitly
//     (as gVisor passes a context). A task knows its logical CPU, for
//     per-CPU state, and, when the system runs under the explorer, its
//     Scheduler.
//  2. Every operation that another task can observe (lock, unlock,
//     trylock, atomic load, store and read-modify-write, bit lock, bit
//     wait, wait-queue sleep, cond_resched, schedule_timeout, live-ref
//     get/put/kill, entering and leaving a preempt-disabled or RCU-sched
//     section, stop_machine and synchronize_sched) is a scheduling point. In an ordinary run a point is
//     one predictable branch on Task.sched == nil and the primitive is
//     plain sync or sync/atomic.
//  3. Under a Scheduler exactly one task runs at a time. A blocking
//     primitive becomes "try, and if that fails, Block on the object";
//     releasing the object Wakes its waiters, who try again. The check and
//     the Block happen with no scheduling point between them, so no wake
//     is lost; wait-queue conditions are evaluated with points suppressed
//     for the same reason.
//  4. Statistics counters (Stat) are not scheduling points and must never
//     feed a decision of the engine. Their per-CPU slots, and LiveRef's,
//     are allocated on first use, NumCPU of them.
//  5. Plain data that a lock guards (a swap_map byte) is not a scheduling
//     point either; the engine annotates its accesses with Access, which
//     records them only when the run records a trace (Task.Traced), so
//     that the explorer can name the object two tasks race on.
//
// Engine code must not use sync, sync/atomic, time or the go statement
// directly: everything goes through this package, so that the explorer
// can schedule it and a seed replays exactly.
//
// Lock order: every lock of the engine has a rank, set where the lock is
// made (Init, Flags.InitRank), and lockrank.go holds the one table of
// the order, as the Go runtime's lock ranks are data. With the
// invariants build tag each task records the locks it holds and panics,
// naming both locks and their ranks, on an acquisition out of order, on
// an unranked lock, on a lock it already holds, and on a release or an
// AssertHeld of a lock it does not hold; a trylock may be taken out of
// order. Without the tag none of it costs anything.
//
// This package takes no lock of its own around caller code. Internally,
// a WaitQueue's mutex (a plain sync.Mutex) is innermost; condition
// functions run under it and must not block.
package ksync
