package ksync

import (
	"sync"
	"sync/atomic"
	"time"
)

// WaitQueue is the kernel's wait_queue_head_t with wait_event semantics:
// a task sleeps until a condition holds; whoever makes it hold calls
// WakeAll. Its zero value is ready.
//
// The condition is evaluated with the queue's internal mutex held and,
// under a scheduler, with scheduling points suppressed; it must not block.
type WaitQueue struct {
	mu      sync.Mutex
	waiters []chan struct{} // ordinary runs only; guarded by mu
	n       atomic.Int32    // len(waiters); read without mu by WakeAll and Active
}

// Wait is wait_event(): it returns once cond() holds.
func (w *WaitQueue) Wait(t *Task, cond func() bool) {
	w.wait(t, OpWait, w, cond, NoTimeout)
}

// WaitTimeout is wait_event_timeout(): it returns cond() once cond holds
// or d has passed.
func (w *WaitQueue) WaitTimeout(t *Task, cond func() bool, d time.Duration) bool {
	return w.wait(t, OpWait, w, cond, d)
}

// wait sleeps on w until cond holds or d passes. Under a scheduler its one
// scheduling point is (op, obj): the primitive built on the queue (a
// Completion, a LiveRef) names itself, so that each operation is exactly
// one point.
func (w *WaitQueue) wait(t *Task, op Op, obj any, cond func() bool, d time.Duration) bool {
	mightSleep(t)
	if t.sched != nil {
		return w.waitControlled(t, op, obj, cond, d)
	}
	if cond() {
		return true
	}
	var timeout <-chan time.Time
	if d >= 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	for {
		ch := make(chan struct{})
		w.mu.Lock()
		w.waiters = append(w.waiters, ch)
		w.n.Add(1)
		// Registered before the check: a WakeAll after the state
		// change sees n > 0 and closes ch.
		if cond() {
			w.removeWaiter(ch)
			w.mu.Unlock()
			return true
		}
		w.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			w.mu.Lock()
			w.removeWaiter(ch)
			ok := cond()
			w.mu.Unlock()
			return ok
		}
	}
}

// removeWaiter drops ch from the waiters; w.mu (a plain sync.Mutex, under
// every ranked lock) is held.
func (w *WaitQueue) removeWaiter(ch chan struct{}) {
	for i, c := range w.waiters {
		if c == ch {
			last := len(w.waiters) - 1
			w.waiters[i] = w.waiters[last]
			w.waiters[last] = nil
			w.waiters = w.waiters[:last]
			w.n.Add(-1)
			return
		}
	}
}

func (w *WaitQueue) waitControlled(t *Task, op Op, obj any, cond func() bool, d time.Duration) bool {
	t.point(op, obj)
	var deadline time.Duration
	if d >= 0 {
		deadline = t.sched.Now() + d
	}
	for {
		if t.evalQuiet(cond) {
			return true
		}
		left := NoTimeout
		if d >= 0 {
			if left = deadline - t.sched.Now(); left <= 0 {
				return false
			}
		}
		if !t.sched.Block(t, op, w, left) {
			return t.evalQuiet(cond)
		}
	}
}

// evalQuiet evaluates a wait condition with scheduling points suppressed,
// so that the check and the Block that may follow are one atomic step.
func (t *Task) evalQuiet(cond func() bool) bool {
	t.nopoint++
	defer func() { t.nopoint-- }()
	return cond()
}

// WakeAll is wake_up_all(): every sleeper re-evaluates its condition.
func (w *WaitQueue) WakeAll(t *Task) {
	if t.sched != nil {
		t.point(OpWake, w)
		t.sched.Wake(t, w)
		return
	}
	w.wakeAll()
}

func (w *WaitQueue) wakeAll() {
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	for _, ch := range w.waiters {
		close(ch)
	}
	clear(w.waiters)
	w.waiters = w.waiters[:0]
	w.n.Store(0)
	w.mu.Unlock()
}

// Active is waitqueue_active(): whether anyone sleeps on w. Under a
// scheduler it always reports true, so that callers wake unconditionally
// and the scheduler decides.
func (w *WaitQueue) Active(t *Task) bool {
	if t.sched != nil {
		return true
	}
	return w.n.Load() != 0
}

// Completion is struct completion: one task waits for another to finish
// something.
type Completion struct {
	done atomic.Bool
	wq   WaitQueue
}

// WaitQueue is the queue Wait sleeps on (completion->wait), for trace
// namers.
func (c *Completion) WaitQueue() *WaitQueue { return &c.wq }

// Complete is complete_all(): every waiter, present and future, proceeds.
func (c *Completion) Complete(t *Task) {
	if t.sched != nil {
		t.point(OpStore, c)
	}
	c.done.Store(true)
	c.wq.wakeOrSignal(t) // the point above was this operation's point
}

// Wait is wait_for_completion().
func (c *Completion) Wait(t *Task) {
	c.wq.wait(t, OpWait, c, c.done.Load, NoTimeout)
}

// Done reports whether Complete was called.
func (c *Completion) Done(t *Task) bool {
	if t.sched != nil {
		t.point(OpLoad, c)
	}
	return c.done.Load()
}

// Reinit is reinit_completion(); nobody may be waiting.
func (c *Completion) Reinit() { c.done.Store(false) }
