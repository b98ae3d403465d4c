//go:build invariants

package ksync

import (
	"fmt"
	"strings"
	"sync/atomic"
	"unsafe"
)

// debug turns on expensive checks (lock order and ownership, spinlock
// depth).
const debug = true

// lockDebug is a lock's debug state: its holder (the writer, for an
// RWSem) and its rank.
type lockDebug struct {
	owner atomic.Pointer[Task]
	rank  Rank // set by Init before the lock is shared
}

// bitDebug is the rank of a flag word's bit locks.
type bitDebug struct {
	rank Rank // set by InitRank before the word is shared
}

// taskDebug is a task's record of the locks it holds, in the order it
// took them (the kernel's current->held_locks), and its spinlock depth
// (the preempt count). Only the task's own goroutine touches it.
type taskDebug struct {
	spinDepth int
	held      []heldLock
}

// heldLock is one entry of a task's record.
type heldLock struct {
	obj  unsafe.Pointer // the lock, or the flag word of a bit lock
	bit  int            // the bit of a bit lock; -1 for other locks
	rank Rank
	how  lockHow // lockRead, lockSpin, lockTry, lockNested as taken
}

func (h heldLock) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v at %p", h.rank, h.obj)
	if h.bit >= 0 {
		fmt.Fprintf(&b, " bit %d", h.bit)
	}
	if h.how&lockRead != 0 {
		b.WriteString(" for reading")
	}
	if h.how&lockTry != 0 {
		b.WriteString(" by trylock")
	}
	return b.String()
}

func (d *lockDebug) setRank(r Rank) { d.rank = r }
func (d *bitDebug) setRank(r Rank)  { d.rank = r }

func (t *Task) spinning() int { return t.dbg.spinDepth }

// heldList prints t's record, one lock a line, outermost first.
func (t *Task) heldList() string {
	var b strings.Builder
	for i, h := range t.dbg.held {
		fmt.Fprintf(&b, "\n\t#%d %v", i, h)
	}
	return b.String()
}

// will is the check before an acquisition: the rank is set, the lock is
// not already held by t, and, unless it is a trylock, every lock t holds
// may be held when a lock of this rank is taken (two of one rank only
// with LockNested, for a rank the table marks nestable).
func (t *Task) will(l heldLock) {
	if l.rank == RankNone || l.rank >= numRanks {
		panic(fmt.Sprintf("ksync: %v takes a lock with no rank at %p: give it one where it is made (Init(ksync.Rank...)); it holds:%s", t, l.obj, t.heldList()))
	}
	if l.how&lockTry != 0 {
		return
	}
	same := 0
	for _, h := range t.dbg.held {
		if h.obj == l.obj && h.bit == l.bit {
			panic(fmt.Sprintf("ksync: %v takes %v, which it already holds (%v): a self-deadlock; it holds:%s", t, l, h, t.heldList()))
		}
		if h.rank == l.rank {
			same++
			if l.how&lockNested != 0 && rankOrder[l.rank].nest && same == 1 {
				continue
			}
			panic(fmt.Sprintf("ksync: lock order: %v takes %v while holding %v, of the same rank (the table allows two only with LockNested where it marks the rank nestable); it holds:%s", t, l, h, t.heldList()))
		}
		if rankOrder[h.rank].leaf {
			panic(fmt.Sprintf("ksync: lock order: %v takes %v while holding %v, a leaf: no lock may be taken under it (ksync/lockrank.go); it holds:%s", t, l, h, t.heldList()))
		}
		if !orderOK(h.rank, l.rank) {
			panic(fmt.Sprintf("ksync: lock order: %v takes %v while holding %v, which may not be held when %s is taken (ksync/lockrank.go); it holds:%s", t, l, h, rankOrder[l.rank].name, t.heldList()))
		}
	}
}

// did records an acquisition.
func (t *Task) did(l heldLock) {
	t.dbg.held = append(t.dbg.held, l)
	if l.how&lockSpin != 0 {
		t.dbg.spinDepth++
	}
}

// undo removes a released lock from t's record; releasing a lock t does
// not hold panics.
func (t *Task) undo(obj unsafe.Pointer, bit int, read bool, what string) {
	for i := len(t.dbg.held) - 1; i >= 0; i-- {
		h := t.dbg.held[i]
		if h.obj == obj && h.bit == bit && (h.how&lockRead != 0) == read {
			t.dbg.held = append(t.dbg.held[:i], t.dbg.held[i+1:]...)
			if h.how&lockSpin != 0 {
				t.dbg.spinDepth--
			}
			return
		}
	}
	panic(fmt.Sprintf("ksync: %v: %s of a lock at %p (bit %d) that it does not hold; it holds:%s", t, what, obj, bit, t.heldList()))
}

// holds reports whether t's record has the lock (for reading, writing,
// or either when any).
func (t *Task) holds(obj unsafe.Pointer, bit int, how lockHow, any bool) bool {
	for _, h := range t.dbg.held {
		if h.obj == obj && h.bit == bit && (any || (h.how&lockRead) == (how&lockRead)) {
			return true
		}
	}
	return false
}

func lockWill(t *Task, d *lockDebug, obj unsafe.Pointer, how lockHow) {
	t.will(heldLock{obj: obj, bit: -1, rank: d.rank, how: how})
}

func lockDid(t *Task, d *lockDebug, obj unsafe.Pointer, how lockHow) {
	if how&lockRead == 0 {
		d.owner.Store(t)
	}
	t.did(heldLock{obj: obj, bit: -1, rank: d.rank, how: how})
}

func lockUndo(t *Task, d *lockDebug, obj unsafe.Pointer, how lockHow, what string) {
	if how&lockRead == 0 {
		if o := d.owner.Load(); o != t {
			panic(fmt.Sprintf("ksync: %s of %v at %p held by %v, by %v", what, d.rank, obj, o, t))
		}
		d.owner.Store(nil)
	}
	t.undo(obj, -1, how&lockRead != 0, what)
}

// lockHeld panics unless t holds the lock: for writing (the owner) when
// how has no lockRead, for reading or writing when it has.
func lockHeld(t *Task, d *lockDebug, obj unsafe.Pointer, how lockHow, what string) {
	if how&lockRead != 0 {
		if !t.holds(obj, -1, how, true) {
			panic(fmt.Sprintf("ksync: %s: %v does not hold %v at %p; it holds:%s", what, t, d.rank, obj, t.heldList()))
		}
		return
	}
	if o := d.owner.Load(); o != t {
		panic(fmt.Sprintf("ksync: %s: %v at %p is held by %v, not by %v", what, d.rank, obj, o, t))
	}
}

func bitWill(t *Task, d *bitDebug, f *Flags, bit uint, how lockHow) {
	t.will(heldLock{obj: unsafe.Pointer(f), bit: int(bit), rank: d.rank, how: how})
}

func bitDid(t *Task, d *bitDebug, f *Flags, bit uint, how lockHow) {
	t.did(heldLock{obj: unsafe.Pointer(f), bit: int(bit), rank: d.rank, how: how})
}

func bitUndo(t *Task, d *bitDebug, f *Flags, bit uint) {
	t.undo(unsafe.Pointer(f), int(bit), false, "bit unlock")
}

func bitHeld(t *Task, d *bitDebug, f *Flags, bit uint, what string) {
	if !t.holds(unsafe.Pointer(f), int(bit), 0, false) {
		panic(fmt.Sprintf("ksync: %s: %v does not hold %v at %p bit %d; it holds:%s", what, t, d.rank, f, bit, t.heldList()))
	}
}
