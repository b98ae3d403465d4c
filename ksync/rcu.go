package ksync

import "sync/atomic"

// RCUSched is one RCU-sched domain: rcu_read_lock_sched() read-side
// sections and synchronize_sched() grace periods (see preempt.go for the
// design the two share). Its zero value has no reader and no grace
// period under way; Init gives its lock a rank before the first
// Synchronize.
//
// Design: each CPU slot counts its open readers in two phases. A reader
// counts itself in the phase that is current when it enters and leaves
// from the same one (its RCUToken). A grace period flips the phase and
// waits for the old phase's counts to drain: readers that entered
// before the flip are counted there; readers that enter after it count
// in the new phase and do not hold it up, so a stream of readers cannot
// starve it. A reader that read the old phase but counted itself only
// after the waiter summed the counts entered after everything the
// waiter did before the flip (the atomics are sequentially consistent),
// so it sees the updated state and need not be waited for. Unlike
// stop_machine(), a grace period never holds readers back.
type RCUSched struct {
	phase   atomic.Uint32
	readers [maxCPUs]rcuSlot
	waiting atomic.Int32 // grace periods waiting: ReadUnlock wakes them
	gp      Mutex        // one grace period at a time
	wq      WaitQueue    // ordinary runs: Synchronize sleeps here
}

type rcuSlot struct {
	n [2]atomic.Int64
	_ [48]byte
}

// Init ranks the lock that lets one grace period run at a time, where
// the RCUSched is made.
func (r *RCUSched) Init() { r.gp.Init(RankRCUGP) }

// RCUToken is the phase a read-side section counted itself in; the
// section passes it back to ReadUnlock (as srcu_read_lock's index).
type RCUToken uint8

// ReadLock is rcu_read_lock_sched(): enter a read-side section, which
// disables preemption (Task.PreemptCount counts it).
func (r *RCUSched) ReadLock(t *Task) RCUToken {
	if t.sched != nil {
		t.point(OpRCULock, r)
	}
	i := r.phase.Load() & 1
	r.readers[t.cpu].n[i].Add(1)
	t.preempt++
	return RCUToken(i)
}

// ReadUnlock is rcu_read_unlock_sched().
func (r *RCUSched) ReadUnlock(t *Task, tok RCUToken) {
	leave(t, "rcu_read_unlock_sched")
	if t.sched != nil {
		t.point(OpRCUUnlock, r)
	}
	r.readers[t.cpu].n[tok&1].Add(-1)
	if r.waiting.Load() != 0 {
		if t.sched != nil {
			t.sched.Wake(t, r)
		} else {
			r.wq.wakeAll()
		}
	}
}

// Synchronize is synchronize_sched() (synchronize_rcu() since v4.20):
// return once every read-side section that began before the call has
// ended.
func (r *RCUSched) Synchronize(t *Task) {
	mightSleep(t)
	r.gp.Lock(t)
	defer r.gp.Unlock(t)
	if t.sched != nil {
		t.point(OpRCUSync, r)
	}
	old := (r.phase.Add(1) - 1) & 1
	r.waiting.Add(1)
	defer r.waiting.Add(-1)
	drained := func() bool {
		var s int64
		for i := range r.readers {
			s += r.readers[i].n[old].Load()
		}
		return s == 0
	}
	if t.sched == nil {
		r.wq.Wait(t, drained)
		return
	}
	for !drained() {
		t.sched.Block(t, OpRCUSync, r, NoTimeout)
	}
}

// Readers is the number of read-side sections open now; for audits at
// quiescence.
func (r *RCUSched) Readers() int64 {
	var s int64
	for i := range r.readers {
		s += r.readers[i].n[0].Load() + r.readers[i].n[1].Load()
	}
	return s
}
