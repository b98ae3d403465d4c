package ksync

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// This file and rcu.go model what the kernel's scheduler gives
// stop_machine() and RCU-sched: sections in which a task cannot be
// preempted (preempt_disable(), rcu_read_lock_sched()) and waits for
// every such section to end (stop_machine(), synchronize_sched()).
//
// Design:
//
//  1. A section is entered and left by the task that runs it, on its
//     CPU slot: entering adds one to the slot's count of open sections,
//     leaving takes it away. A task may nest sections; its own depth is
//     Task.preempt (the kernel's preempt_count), which the debug build's
//     might_sleep check reads: a task that sleeps inside a section
//     panics, as a task that sleeps under a spinlock does.
//  2. A wait (stop_machine, a grace period) is over when the counts it
//     waits for are zero. With sequentially consistent atomics a section
//     that begins after the wait read a slot's count also begins after
//     whatever the waiter did before the wait (clearing SWP_VALID, say),
//     so it sees that; a section that began before keeps the count up
//     until it ends.
//  3. Under a Scheduler, entering and leaving a section are scheduling
//     points, the waits are blocking points, and the tasks are the CPUs:
//     two tasks are never on one CPU, so a section does not stop other
//     tasks from running, only the wait from ending.
//
// The two domains are kept apart: stop_machine() waits for the sections
// of its Preemption, a grace period for the read-side sections of its
// RCUSched. (In the kernel both wait for every preemption-disabled
// region, spinlocks included; each uswap variant uses one of them.)

// Preemption is the machine's CPUs as stop_machine() sees them: the
// preempt_disable() sections open on each, and whether a stop_machine()
// is under way. Its zero value has no section open; Init gives its lock
// a rank before the first StopMachine.
//
// stop_machine() runs its function on one CPU while the stopper thread
// holds every other CPU, which it can only do once each CPU has left its
// preempt-disabled section: it waits for every open section to end, and
// while it runs no CPU enters one (the stopper holds them all). So
// Disable waits while a StopMachine is under way; StopMachine waits
// until no section is open.
type Preemption struct {
	open     [maxCPUs]paddedInt64 // sections open per CPU slot; only the sum means anything
	stopping atomic.Bool          // a StopMachine is under way: Disable waits
	mu       Mutex                // stop_cpus_mutex: one stop_machine() at a time
	zero     WaitQueue            // StopMachine waits here; Enable wakes it while stopping
}

// Init ranks the lock that serializes StopMachine (stop_cpus_mutex),
// where the Preemption is made.
func (p *Preemption) Init() { p.mu.Init(RankStopCPUs) }

// stopKey is what a task entering a section blocks on while a
// StopMachine holds the CPUs.
type stopKey struct{ p *Preemption }

// Disable is preempt_disable(): open a section on t's CPU. While a
// StopMachine is under way the outermost Disable waits for it to end
// (the stopper holds the CPU); a nested one cannot, since the stopper
// waits for this CPU's open section.
func (p *Preemption) Disable(t *Task) {
	if t.sched != nil {
		t.point(OpPreemptDisable, p)
	}
	c := &p.open[t.cpu].v
	if t.preempt > 0 {
		c.Add(1)
		t.preempt++
		return
	}
	for {
		c.Add(1)
		if !p.stopping.Load() {
			break
		}
		// A stop is under way: back out (the stopper may be waiting
		// for this count) and wait for it to let the CPU go. This is
		// not a sleep of the task's own: might_sleep does not apply.
		c.Add(-1)
		p.zero.wakeOrSignal(t)
		for p.stopping.Load() {
			if t.sched != nil {
				t.sched.Block(t, OpPreemptDisable, stopKey{p}, NoTimeout)
			} else {
				runtime.Gosched()
			}
		}
	}
	t.preempt++
}

// Enable is preempt_enable(): close the section on t's CPU.
func (p *Preemption) Enable(t *Task) {
	leave(t, "preempt_enable")
	if t.sched != nil {
		t.point(OpPreemptEnable, p)
	}
	p.open[t.cpu].v.Add(-1)
	if p.stopping.Load() {
		p.zero.wakeOrSignal(t)
	}
}

// StopMachine is stop_machine(fn): wait until no task is inside a
// section, and run fn while none can enter one. fn runs on the caller
// with scheduling points suppressed and must not block. Other tasks may
// still run outside sections while fn runs (in the kernel they spin in
// the stopper with interrupts off): fn may rely on no section running,
// not on every task being stopped.
func (p *Preemption) StopMachine(t *Task, fn func()) {
	mightSleep(t)
	p.mu.Lock(t)
	if t.sched != nil {
		t.point(OpStopMachine, p)
	}
	p.stopping.Store(true)
	p.zero.wait(t, OpStopMachine, p, func() bool { return sumInt64(&p.open) == 0 }, NoTimeout)
	if fn != nil {
		t.nopoint++
		fn()
		t.nopoint--
	}
	p.stopping.Store(false)
	if t.sched != nil {
		t.sched.Wake(t, stopKey{p})
	}
	p.mu.Unlock(t)
}

// Open is the number of sections open now; for audits at quiescence.
func (p *Preemption) Open() int64 { return sumInt64(&p.open) }

func sumInt64(a *[maxCPUs]paddedInt64) int64 {
	var s int64
	for i := range a {
		s += a[i].v.Load()
	}
	return s
}

// leave closes one level of t's sections; closing one that was not
// opened is a bug of the caller, caught in debug builds.
func leave(t *Task, what string) {
	if debug && t.preempt <= 0 {
		panic(fmt.Sprintf("ksync: %v calls %s outside any section", t, what))
	}
	t.preempt--
}

// PreemptCount is the depth of t's preempt-disabled and RCU-sched
// read-side sections (preempt_count() without the spinlocks).
func (t *Task) PreemptCount() int { return t.preempt }

// CPURelax is cpu_relax() in a spin loop: a scheduling point that lets
// whoever the spinner waits for run. Spinning is not sleeping: there is
// no might_sleep check, and a task may spin holding a spinlock (which,
// if the holder it waits for needs that spinlock, never ends: the
// explorer reports it as a livelock).
func CPURelax(t *Task) {
	if t.sched != nil {
		t.point(OpRelax, t)
		return
	}
	runtime.Gosched()
}
