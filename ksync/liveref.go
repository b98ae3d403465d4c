package ksync

import (
	"sync/atomic"
)

type paddedInt64 struct {
	v atomic.Int64
	_ [56]byte
}

// LiveRef is the kernel's percpu_ref as swap devices use it (si->users):
// get_swap_device() is TryGetLive, put_swap_device() is Put, and swapoff
// calls Kill then WaitForZero. Its zero value is live with no references.
//
// Design: each CPU has its own counter, so gets and puts of different
// CPUs do not share a cache line; a reference taken on one CPU may be
// dropped on another, so single counters go negative and only the sum
// means anything. TryGetLive increments its counter and then checks dead;
// Kill sets dead and WaitForZero sums. With sequentially consistent
// atomics, any reference whose TryGetLive saw "live" incremented before
// dead was set, so the sum read after Kill includes it; a failed
// TryGetLive undoes its increment on the same counter. So a zero sum after
// Kill means no reference is held or can be taken.
//
// The NumCPU counters are allocated on first use, like Stat's.
type LiveRef struct {
	dead   atomic.Bool
	counts atomic.Pointer[[]paddedInt64] // NumCPU counters; nil until first used
	zero   WaitQueue                     // WaitForZero sleeps here; Put after Kill wakes it
}

// count is cpu's counter, allocated with the others on first use.
func (r *LiveRef) count(cpu int) *atomic.Int64 {
	p := r.counts.Load()
	if p == nil {
		c := make([]paddedInt64, NumCPU)
		p = &c
		if !r.counts.CompareAndSwap(nil, p) {
			p = r.counts.Load()
		}
	}
	return &(*p)[cpu].v
}

// TryGetLive is percpu_ref_tryget_live(): take a reference unless the ref
// was killed.
func (r *LiveRef) TryGetLive(t *Task) bool {
	if t.sched != nil {
		t.point(OpRefGet, r)
	}
	c := r.count(t.cpu)
	c.Add(1)
	if r.dead.Load() {
		c.Add(-1)
		r.zero.wakeOrSignal(t)
		return false
	}
	return true
}

// Put is percpu_ref_put().
func (r *LiveRef) Put(t *Task) {
	if t.sched != nil {
		t.point(OpRefPut, r)
	}
	r.count(t.cpu).Add(-1)
	if r.dead.Load() {
		r.zero.wakeOrSignal(t)
	}
}

// Kill is percpu_ref_kill(): from now on TryGetLive fails.
func (r *LiveRef) Kill(t *Task) {
	if t.sched != nil {
		t.point(OpRefKill, r)
	}
	r.dead.Store(true)
}

// WaitQueue is the queue WaitForZero sleeps on, for trace namers.
func (r *LiveRef) WaitQueue() *WaitQueue { return &r.zero }

// WaitForZero sleeps until every reference taken before Kill is dropped
// (swapoff's wait_for_completion(&si->comp)).
func (r *LiveRef) WaitForZero(t *Task) {
	r.zero.wait(t, OpRefWait, r, func() bool { return r.sum() == 0 }, NoTimeout)
}

// Resurrect is percpu_ref_resurrect(): make a killed ref live again. Only
// after WaitForZero, with nobody else using r.
func (r *LiveRef) Resurrect(t *Task) {
	if t.sched != nil {
		t.point(OpStore, r)
	}
	r.dead.Store(false)
}

// Dead reports whether Kill was called (percpu_ref_is_dying).
func (r *LiveRef) Dead(t *Task) bool {
	if t.sched != nil {
		t.point(OpLoad, r)
	}
	return r.dead.Load()
}

// Count is the number of references held now; for audits at quiescence.
func (r *LiveRef) Count() int64 { return r.sum() }

func (r *LiveRef) sum() int64 {
	p := r.counts.Load()
	if p == nil {
		return 0
	}
	var s int64
	for i := range *p {
		s += (*p)[i].v.Load()
	}
	return s
}

// wakeOrSignal wakes the queue without adding a scheduling point of its
// own: the caller's operation was the point.
func (w *WaitQueue) wakeOrSignal(t *Task) {
	if t.sched != nil {
		t.sched.Wake(t, w)
		return
	}
	w.wakeAll()
}
