package ksync

import (
	"sync/atomic"
	"unsafe"
)

// Flags is a word of atomic flag bits, like folio->flags, with a bit lock
// and bit waiters: the folio lock (PG_locked) is LockBit/UnlockBit, and
// waiting for PG_writeback to clear is WaitOnBit. Bits are numbered 0..63.
// Its zero value is all clear; InitRank gives its bit locks their rank.
type Flags struct {
	dbg bitDebug // checked builds only: the rank of the word's bit locks
	v   atomic.Uint64
}

// Init sets the word before it is shared; not a scheduling point. It
// keeps the rank.
func (f *Flags) Init(v uint64) { f.v.Store(v) }

// InitRank sets the rank in the lock order (ksync/lockrank.go) of the
// bit locks taken on this word (LockBit, TryLockBit): PG_locked's for a
// folio. It stores nothing in an ordinary build.
func (f *Flags) InitRank(r Rank) { f.dbg.setRank(r) }

// Load reads the whole word.
func (f *Flags) Load(t *Task) uint64 {
	if t.sched != nil {
		t.point(OpLoad, f)
	}
	return f.v.Load()
}

// Test is test_bit().
func (f *Flags) Test(t *Task, bit uint) bool {
	if t.sched != nil {
		t.point(OpLoad, f)
	}
	return f.v.Load()&(1<<bit) != 0
}

// Set is set_bit().
func (f *Flags) Set(t *Task, bit uint) {
	if t.sched != nil {
		t.point(OpOr, f)
	}
	f.v.Or(1 << bit)
}

// Clear is clear_bit().
func (f *Flags) Clear(t *Task, bit uint) {
	if t.sched != nil {
		t.point(OpAnd, f)
	}
	f.v.And(^uint64(1 << bit))
}

// TestAndSet is test_and_set_bit(): it reports whether the bit was set.
func (f *Flags) TestAndSet(t *Task, bit uint) bool {
	if t.sched != nil {
		t.point(OpOr, f)
	}
	return f.v.Or(1<<bit)&(1<<bit) != 0
}

// TestAndClear is test_and_clear_bit(): it reports whether the bit was set.
func (f *Flags) TestAndClear(t *Task, bit uint) bool {
	if t.sched != nil {
		t.point(OpAnd, f)
	}
	return f.v.And(^uint64(1<<bit))&(1<<bit) != 0
}

// BitKey is the object a task blocks on while it waits for a bit of a
// word: exported so that trace namers can name it ("folio(pfn 3)->flags
// PG_locked").
type BitKey struct {
	Flags *Flags
	Bit   uint
}

// TryLockBit is test_and_set_bit_lock() (folio_trylock): it reports whether
// it took the lock. A trylock may be taken out of order.
func (f *Flags) TryLockBit(t *Task, bit uint) bool {
	if debug {
		bitWill(t, &f.dbg, f, bit, lockTry)
	}
	if t.sched != nil {
		t.point(OpBitTryLock, f)
	}
	if f.v.Or(1<<bit)&(1<<bit) != 0 {
		return false
	}
	if debug {
		bitDid(t, &f.dbg, f, bit, lockTry)
	}
	return true
}

// LockBit is wait_on_bit_lock() (folio_lock): sleep until the bit is clear
// and set it.
func (f *Flags) LockBit(t *Task, bit uint) {
	if debug {
		bitWill(t, &f.dbg, f, bit, 0)
	}
	mightSleep(t)
	m := uint64(1) << bit
	if t.sched != nil {
		t.point(OpBitLock, f)
		for f.v.Or(m)&m != 0 {
			t.sched.Block(t, OpBitLock, BitKey{f, bit}, NoTimeout)
		}
	} else {
		for f.v.Or(m)&m != 0 {
			bitWaitQueue(f).Wait(t, func() bool { return f.v.Load()&m == 0 })
		}
	}
	if debug {
		bitDid(t, &f.dbg, f, bit, 0)
	}
}

// UnlockBit is clear_bit_unlock() followed by wake_up_bit() (folio_unlock).
func (f *Flags) UnlockBit(t *Task, bit uint) {
	if debug {
		bitUndo(t, &f.dbg, f, bit)
	}
	f.ClearAndWake(t, bit)
}

// AssertBitHeld panics, in checked builds, unless t took the bit lock
// (VM_BUG_ON_FOLIO(!folio_test_locked(folio)), made exact: held by t).
func (f *Flags) AssertBitHeld(t *Task, bit uint) {
	if debug {
		bitHeld(t, &f.dbg, f, bit, "assert bit lock held")
	}
}

// ClearAndWake clears the bit and wakes whoever waits on it
// (folio_end_writeback, folio_unlock).
func (f *Flags) ClearAndWake(t *Task, bit uint) {
	m := uint64(1) << bit
	if t.sched != nil {
		t.point(OpBitUnlock, f)
		f.v.And(^m)
		t.sched.Wake(t, BitKey{f, bit})
		return
	}
	f.v.And(^m)
	bitWaitQueue(f).wakeAll()
}

// WaitOnBit is wait_on_bit() (folio_wait_writeback, folio_wait_locked):
// sleep until the bit is clear.
func (f *Flags) WaitOnBit(t *Task, bit uint) {
	mightSleep(t)
	m := uint64(1) << bit
	if t.sched != nil {
		t.point(OpBitWait, f)
		for f.v.Load()&m != 0 {
			t.sched.Block(t, OpBitWait, BitKey{f, bit}, NoTimeout)
		}
		return
	}
	if f.v.Load()&m == 0 {
		return
	}
	bitWaitQueue(f).Wait(t, func() bool { return f.v.Load()&m == 0 })
}

// bitWaitTable is the kernel's hashed bit_wait_table: sleepers on any bit
// of any word share a queue chosen by the word's address, and re-check
// their own condition when woken.
var bitWaitTable [256]struct {
	WaitQueue
	_ [64]byte // keep the queues on separate cache lines
}

func bitWaitQueue(f *Flags) *WaitQueue {
	p := uintptr(unsafe.Pointer(f))
	h := (p >> 3) * 0x9e3779b97f4a7c15
	return &bitWaitTable[h>>56].WaitQueue
}
