//go:build invariants

package ksync

import (
	"strings"
	"testing"
)

// TestOwnerChecks: for every kind of lock, AssertHeld passes for the
// holder and panics for another task, and a release by another task or
// of a lock not held panics.
func TestOwnerChecks(t *testing.T) {
	for _, k := range lockKinds() {
		a, b := NewTask("a", 0), NewTask("b", 1)
		l := k.make(RankTestLeaf)
		l.lock(a)
		l.assertHeld(a)
		mustPanic(t, k.name+": AssertHeld by another task", func() { l.assertHeld(b) })
		mustPanic(t, k.name+": release by another task", func() { l.unlock(b) })
		l.unlock(a)
		mustPanic(t, k.name+": AssertHeld after the release", func() { l.assertHeld(a) })
		mustPanic(t, k.name+": release of a lock not held", func() { l.unlock(a) })
		if a.dbg.spinDepth != 0 || len(a.dbg.held) != 0 {
			t.Fatalf("%s: spin depth %d, record %s after the release", k.name, a.dbg.spinDepth, a.heldList())
		}
		wantDepth := 0
		if k.name == "SpinLock" {
			wantDepth = 1
		}
		if !l.trylock(a) || a.dbg.spinDepth != wantDepth {
			t.Fatalf("%s: TryLock did not count the lock (spin depth %d)", k.name, a.dbg.spinDepth)
		}
		l.unlock(a)
	}
}

// TestLockOrder: for every kind of lock as the inner one (the outer is a
// mutex, so that a sleeping inner lock may be taken under it), a nesting
// in the table's order passes, the inverted pair panics naming both
// locks and their ranks, and the inverted pair passes when the inner
// lock is a trylock. The pairs are the test ranks and the swap core's
// cluster and si->lock, whose order is the one the kernel keeps.
func TestLockOrder(t *testing.T) {
	pairs := []struct{ outer, inner Rank }{
		{RankTestOuter, RankTestInner},
		{RankClusterLock, RankSwapInfoLock},
		{RankMmapLock, RankFolioLock},
	}
	for _, k := range lockKinds() {
		for _, p := range pairs {
			t.Run(k.name+"/"+rankOrder[p.inner].name, func(t *testing.T) {
				task := NewTask("t", 0)
				outer := new(Mutex)
				outer.Init(p.outer)
				in := k.make(p.inner)
				lockIn, unlockIn, tryIn := in.lock, in.unlock, in.trylock

				// In order: outer, then inner.
				outer.Lock(task)
				lockIn(task)
				unlockIn(task)
				outer.Unlock(task)

				// Inverted: inner, then outer. (Under a spinlock inner
				// the mutex's Lock is also a sleep under a spinlock; the
				// order is checked first.)
				lockIn(task)
				msg := mustPanic(t, "inverted pair", func() { outer.Lock(task) })
				for _, want := range []string{"lock order", rankOrder[p.outer].name, rankOrder[p.inner].name, p.outer.String(), p.inner.String()} {
					if !strings.Contains(msg, want) {
						t.Errorf("panic %q lacks %q", msg, want)
					}
				}
				// A trylock out of order is allowed.
				if !outer.TryLock(task) {
					t.Fatal("trylock of a free mutex failed")
				}
				outer.Unlock(task)
				unlockIn(task)

				// Inner by trylock under nothing, then the outer: the
				// trylocked lock is recorded and checked against.
				if !tryIn(task) {
					t.Fatal("trylock of a free lock failed")
				}
				mustPanic(t, "in order after an out-of-order trylock", func() { outer.Lock(task) })
				unlockIn(task)
				if n := len(task.dbg.held); n != 0 {
					t.Fatalf("%d locks left in the record: %s", n, task.heldList())
				}
			})
		}
	}
}

// TestLockOrderRules: the other checks of the record.
func TestLockOrderRules(t *testing.T) {
	task := func() *Task { return NewTask("t", 0) }
	t.Run("unranked", func(t *testing.T) {
		var m Mutex
		msg := mustPanic(t, "unranked lock", func() { m.Lock(task()) })
		if !strings.Contains(msg, "no rank") {
			t.Errorf("panic %q", msg)
		}
		mustPanic(t, "unranked trylock", func() { m.TryLock(task()) })
		var f Flags
		mustPanic(t, "unranked bit lock", func() { f.LockBit(task(), 0) })
	})
	t.Run("self-deadlock", func(t *testing.T) {
		tk := task()
		var f Flags
		f.InitRank(RankTestLeaf)
		f.LockBit(tk, 0)
		msg := mustPanic(t, "bit lock taken twice", func() { f.LockBit(tk, 0) })
		if !strings.Contains(msg, "already holds") {
			t.Errorf("panic %q", msg)
		}
		if f.TryLockBit(tk, 0) {
			t.Fatal("trylock of a held bit lock succeeded")
		}
	})
	t.Run("same rank", func(t *testing.T) {
		tk := task()
		var a, b, c SpinLock
		a.Init(RankTestLeaf)
		b.Init(RankTestLeaf)
		a.Lock(tk)
		msg := mustPanic(t, "two locks of one rank", func() { b.Lock(tk) })
		if !strings.Contains(msg, "same rank") {
			t.Errorf("panic %q", msg)
		}
		mustPanic(t, "LockNested of a rank not marked nestable", func() { b.LockNested(tk) })
		a.Unlock(tk)

		a.Init(RankTestInner) // nestable, as the PTL is
		b.Init(RankTestInner)
		c.Init(RankTestInner)
		a.Lock(tk)
		mustPanic(t, "Lock of a second nestable lock", func() { b.Lock(tk) })
		b.LockNested(tk)
		mustPanic(t, "a third of the rank", func() { c.LockNested(tk) })
		b.Unlock(tk)
		a.Unlock(tk)
	})
	t.Run("assert held", func(t *testing.T) {
		a := task()
		var rw RWSem
		rw.Init(RankTestLeaf)
		rw.RLock(a)
		mustPanic(t, "AssertWriteHeld of a read-held rwsem", func() { rw.AssertWriteHeld(a) })
		rw.RUnlock(a)
		var f Flags
		f.InitRank(RankTestLeaf)
		f.LockBit(a, 3)
		mustPanic(t, "AssertBitHeld of another bit", func() { f.AssertBitHeld(a, 4) })
		f.UnlockBit(a, 3)
	})
	t.Run("might sleep", func(t *testing.T) {
		tk := task()
		var s SpinLock
		s.Init(RankTestOuter)
		s.Lock(tk)
		msg := mustPanic(t, "MightSleep under a spinlock", func() { MightSleep(tk) })
		if !strings.Contains(msg, "spinlock") {
			t.Errorf("panic %q", msg)
		}
		s.Unlock(tk)
		MightSleep(tk)
	})
}
