package ksync

import (
	"sync"
	"unsafe"
)

// lockHow says how a lock is taken, for the checked build's record.
type lockHow uint8

const (
	lockSpin   lockHow = 1 << iota // a spinlock: counts in the spin depth
	lockRead                       // an RWSem taken for reading
	lockTry                        // by trylock: allowed out of order
	lockNested                     // LockNested: a second lock of a nestable rank
)

// Mutex is the kernel's struct mutex: a sleeping lock. Its zero value is
// unlocked; Init gives it its rank before it is shared.
type Mutex struct {
	dbg lockDebug // checked builds only: holder and rank
	mu  sync.Mutex
}

// Init sets the lock's rank in the lock order (ksync/lockrank.go). It
// stores nothing in an ordinary build. Call it where the lock is made,
// before the lock is shared.
func (m *Mutex) Init(r Rank) { m.dbg.setRank(r) }

// Lock is mutex_lock().
func (m *Mutex) Lock(t *Task) {
	if debug {
		lockWill(t, &m.dbg, unsafe.Pointer(m), 0)
	}
	mightSleep(t)
	if t.sched != nil {
		t.point(OpLock, m)
		for !m.mu.TryLock() {
			t.sched.Block(t, OpLock, m, NoTimeout)
		}
	} else {
		m.mu.Lock()
	}
	if debug {
		lockDid(t, &m.dbg, unsafe.Pointer(m), 0)
	}
}

// TryLock is mutex_trylock(). A trylock may be taken out of order.
func (m *Mutex) TryLock(t *Task) bool {
	if debug {
		lockWill(t, &m.dbg, unsafe.Pointer(m), lockTry)
	}
	if t.sched != nil {
		t.point(OpTryLock, m)
	}
	if !m.mu.TryLock() {
		return false
	}
	if debug {
		lockDid(t, &m.dbg, unsafe.Pointer(m), lockTry)
	}
	return true
}

// Unlock is mutex_unlock().
func (m *Mutex) Unlock(t *Task) {
	if debug {
		lockUndo(t, &m.dbg, unsafe.Pointer(m), 0, "unlock")
	}
	if t.sched != nil {
		t.point(OpUnlock, m)
		m.mu.Unlock()
		t.sched.Wake(t, m)
		return
	}
	m.mu.Unlock()
}

// AssertHeld is lockdep_assert_held(): in checked builds it panics unless
// t holds m.
func (m *Mutex) AssertHeld(t *Task) {
	if debug {
		lockHeld(t, &m.dbg, unsafe.Pointer(m), 0, "assert held")
	}
}

// SpinLock is the kernel's spinlock_t. Holders must not sleep (checked
// builds check it). It is a sync.Mutex underneath: Go's mutex spins
// before it parks, which is what a spinlock wants on a preemptible
// runtime. Its zero value is unlocked; Init gives it its rank.
type SpinLock struct {
	m Mutex
}

// Init sets the lock's rank in the lock order (ksync/lockrank.go); see
// Mutex.Init.
func (s *SpinLock) Init(r Rank) { s.m.dbg.setRank(r) }

// Lock is spin_lock().
func (s *SpinLock) Lock(t *Task) { s.lock(t, lockSpin) }

// LockNested is spin_lock_nested(lock, SINGLE_DEPTH_NESTING): it takes a
// second lock of a rank the task already holds one of, which the lock
// order allows only for a rank it marks nestable (two PTLs, in fork).
func (s *SpinLock) LockNested(t *Task) { s.lock(t, lockSpin|lockNested) }

func (s *SpinLock) lock(t *Task, how lockHow) {
	if debug {
		lockWill(t, &s.m.dbg, unsafe.Pointer(s), how)
	}
	if t.sched != nil {
		t.point(OpLock, s)
		for !s.m.mu.TryLock() {
			t.sched.Block(t, OpLock, s, NoTimeout)
		}
	} else {
		s.m.mu.Lock()
	}
	if debug {
		lockDid(t, &s.m.dbg, unsafe.Pointer(s), how)
	}
}

// TryLock is spin_trylock(). A trylock may be taken out of order.
func (s *SpinLock) TryLock(t *Task) bool {
	if debug {
		lockWill(t, &s.m.dbg, unsafe.Pointer(s), lockSpin|lockTry)
	}
	if t.sched != nil {
		t.point(OpTryLock, s)
	}
	if !s.m.mu.TryLock() {
		return false
	}
	if debug {
		lockDid(t, &s.m.dbg, unsafe.Pointer(s), lockSpin|lockTry)
	}
	return true
}

// Unlock is spin_unlock().
func (s *SpinLock) Unlock(t *Task) {
	if debug {
		lockUndo(t, &s.m.dbg, unsafe.Pointer(s), lockSpin, "spin_unlock")
	}
	if t.sched != nil {
		t.point(OpUnlock, s)
		s.m.mu.Unlock()
		t.sched.Wake(t, s)
		return
	}
	s.m.mu.Unlock()
}

// AssertHeld is lockdep_assert_held() for a spinlock.
func (s *SpinLock) AssertHeld(t *Task) {
	if debug {
		lockHeld(t, &s.m.dbg, unsafe.Pointer(s), 0, "assert held")
	}
}

// RWSem is the kernel's rw_semaphore (mmap_lock, anon_vma->rwsem): many
// readers or one writer, sleeping. Its zero value is unlocked; Init gives
// it its rank.
type RWSem struct {
	dbg lockDebug // checked builds only: the writer and the rank
	mu  sync.RWMutex
}

// Init sets the lock's rank in the lock order (ksync/lockrank.go); see
// Mutex.Init.
func (s *RWSem) Init(r Rank) { s.dbg.setRank(r) }

// Lock is down_write().
func (s *RWSem) Lock(t *Task) { s.lock(t, 0) }

func (s *RWSem) lock(t *Task, how lockHow) {
	if debug {
		lockWill(t, &s.dbg, unsafe.Pointer(s), how)
	}
	mightSleep(t)
	if t.sched != nil {
		t.point(OpLock, s)
		for !s.mu.TryLock() {
			t.sched.Block(t, OpLock, s, NoTimeout)
		}
	} else {
		s.mu.Lock()
	}
	if debug {
		lockDid(t, &s.dbg, unsafe.Pointer(s), how)
	}
}

// LockNested is down_write_nested(sem, SINGLE_DEPTH_NESTING): it takes
// a second lock of a rank the task already holds one of, which the lock
// order allows only for a rank it marks nestable (two mmap_locks, in
// fork).
func (s *RWSem) LockNested(t *Task) { s.lock(t, lockNested) }

// TryLock is down_write_trylock(). A trylock may be taken out of order.
func (s *RWSem) TryLock(t *Task) bool {
	if debug {
		lockWill(t, &s.dbg, unsafe.Pointer(s), lockTry)
	}
	if t.sched != nil {
		t.point(OpTryLock, s)
	}
	if !s.mu.TryLock() {
		return false
	}
	if debug {
		lockDid(t, &s.dbg, unsafe.Pointer(s), lockTry)
	}
	return true
}

// Unlock is up_write().
func (s *RWSem) Unlock(t *Task) {
	if debug {
		lockUndo(t, &s.dbg, unsafe.Pointer(s), 0, "up_write")
	}
	if t.sched != nil {
		t.point(OpUnlock, s)
		s.mu.Unlock()
		t.sched.Wake(t, s)
		return
	}
	s.mu.Unlock()
}

// RLock is down_read().
func (s *RWSem) RLock(t *Task) {
	if debug {
		lockWill(t, &s.dbg, unsafe.Pointer(s), lockRead)
	}
	mightSleep(t)
	if t.sched != nil {
		t.point(OpRLock, s)
		for !s.mu.TryRLock() {
			t.sched.Block(t, OpRLock, s, NoTimeout)
		}
	} else {
		s.mu.RLock()
	}
	if debug {
		lockDid(t, &s.dbg, unsafe.Pointer(s), lockRead)
	}
}

// TryRLock is down_read_trylock(). A trylock may be taken out of order.
func (s *RWSem) TryRLock(t *Task) bool {
	if debug {
		lockWill(t, &s.dbg, unsafe.Pointer(s), lockRead|lockTry)
	}
	if t.sched != nil {
		t.point(OpTryRLock, s)
	}
	if !s.mu.TryRLock() {
		return false
	}
	if debug {
		lockDid(t, &s.dbg, unsafe.Pointer(s), lockRead|lockTry)
	}
	return true
}

// RUnlock is up_read().
func (s *RWSem) RUnlock(t *Task) {
	if debug {
		lockUndo(t, &s.dbg, unsafe.Pointer(s), lockRead, "up_read")
	}
	if t.sched != nil {
		t.point(OpRUnlock, s)
		s.mu.RUnlock()
		t.sched.Wake(t, s)
		return
	}
	s.mu.RUnlock()
}

// AssertHeld is lockdep_assert_held() for an rwsem (mmap_assert_locked):
// in checked builds it panics unless t holds s for reading or writing.
func (s *RWSem) AssertHeld(t *Task) {
	if debug {
		lockHeld(t, &s.dbg, unsafe.Pointer(s), lockRead, "assert held")
	}
}

// AssertWriteHeld is lockdep_assert_held_write() (mmap_assert_write_locked):
// in checked builds it panics unless t holds s for writing.
func (s *RWSem) AssertWriteHeld(t *Task) {
	if debug {
		lockHeld(t, &s.dbg, unsafe.Pointer(s), 0, "assert write held")
	}
}
