package ksync

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Benchmarks of the ordinary (nil-scheduler) fast paths, each next to the
// plain sync or sync/atomic operation it wraps.

func BenchmarkMutexLockUnlock(b *testing.B) {
	t := NewTask("bench", 0)
	var m Mutex
	m.Init(RankTestLeaf)
	for b.Loop() {
		m.Lock(t)
		m.Unlock(t)
	}
}

func BenchmarkPlainMutexLockUnlock(b *testing.B) {
	var m sync.Mutex
	for b.Loop() {
		m.Lock()
		m.Unlock()
	}
}

func BenchmarkSpinLockLockUnlock(b *testing.B) {
	t := NewTask("bench", 0)
	var s SpinLock
	s.Init(RankTestLeaf)
	for b.Loop() {
		s.Lock(t)
		s.Unlock(t)
	}
}

func BenchmarkInt64Add(b *testing.B) {
	t := NewTask("bench", 0)
	var n Int64
	for b.Loop() {
		n.Add(t, 1)
	}
}

func BenchmarkPlainInt64Add(b *testing.B) {
	var n atomic.Int64
	for b.Loop() {
		n.Add(1)
	}
}

func BenchmarkFlagsLockBitUnlockBit(b *testing.B) {
	t := NewTask("bench", 0)
	var f Flags
	f.InitRank(RankTestLeaf)
	for b.Loop() {
		f.LockBit(t, 3)
		f.UnlockBit(t, 3)
	}
}

// BenchmarkPlainBitLock is the same bit lock written with sync/atomic:
// an Or to take it, an And and a waiter check to drop it.
func BenchmarkPlainBitLock(b *testing.B) {
	var f atomic.Uint64
	var waiters atomic.Int32
	for b.Loop() {
		for f.Or(1<<3)&(1<<3) != 0 {
		}
		f.And(^uint64(1 << 3))
		if waiters.Load() != 0 {
			b.Fatal("no waiters expected")
		}
	}
}

func BenchmarkLiveRefGetPut(b *testing.B) {
	t := NewTask("bench", 0)
	var r LiveRef
	for b.Loop() {
		if r.TryGetLive(t) {
			r.Put(t)
		}
	}
}

// BenchmarkPlainRefGetPut is the same protocol with sync/atomic: add,
// check dead, and on put subtract and check dead.
func BenchmarkPlainRefGetPut(b *testing.B) {
	var n atomic.Int64
	var dead atomic.Bool
	for b.Loop() {
		n.Add(1)
		if dead.Load() {
			b.Fatal("dead")
		}
		n.Add(-1)
		if dead.Load() {
			b.Fatal("dead")
		}
	}
}

// BenchmarkPreemptSection is get/put_swap_device() of the -V5b patch: a
// preempt_disable() section.
func BenchmarkPreemptSection(b *testing.B) {
	t := NewTask("bench", 0)
	var p Preemption
	for b.Loop() {
		p.Disable(t)
		p.Enable(t)
	}
}

// BenchmarkRCUSchedSection is get/put_swap_device() of the -V5a patch: an
// rcu_read_lock_sched() section.
func BenchmarkRCUSchedSection(b *testing.B) {
	t := NewTask("bench", 0)
	var r RCUSched
	for b.Loop() {
		r.ReadUnlock(t, r.ReadLock(t))
	}
}
