package ksync

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Mutex is the kernel's struct mutex: a sleeping lock. Its zero value is
// unlocked.
type Mutex struct {
	mu    sync.Mutex
	owner atomic.Pointer[Task] // debug builds only
}

// Lock is mutex_lock().
func (m *Mutex) Lock(t *Task) {
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
		m.owner.Store(t)
	}
}

// TryLock is mutex_trylock().
func (m *Mutex) TryLock(t *Task) bool {
	if t.sched != nil {
		t.point(OpTryLock, m)
	}
	if !m.mu.TryLock() {
		return false
	}
	if debug {
		m.owner.Store(t)
	}
	return true
}

// Unlock is mutex_unlock().
func (m *Mutex) Unlock(t *Task) {
	if debug {
		m.checkOwner(t, "unlock")
		m.owner.Store(nil)
	}
	if t.sched != nil {
		t.point(OpUnlock, m)
		m.mu.Unlock()
		t.sched.Wake(t, m)
		return
	}
	m.mu.Unlock()
}

// AssertHeld is lockdep_assert_held(): in debug builds it panics unless t
// holds m.
func (m *Mutex) AssertHeld(t *Task) {
	if debug {
		m.checkOwner(t, "assert held")
	}
}

func (m *Mutex) checkOwner(t *Task, what string) {
	if o := m.owner.Load(); o != t {
		panic(fmt.Sprintf("ksync: %s of a lock held by %v, by %v", what, o, t))
	}
}

// SpinLock is the kernel's spinlock_t. Holders must not sleep (debug
// builds check it). It is a sync.Mutex underneath: Go's mutex spins
// before it parks, which is what a spinlock wants on a preemptible
// runtime.
type SpinLock struct {
	m Mutex
}

// Lock is spin_lock().
func (s *SpinLock) Lock(t *Task) {
	if t.sched != nil {
		t.point(OpLock, s)
		for !s.m.mu.TryLock() {
			t.sched.Block(t, OpLock, s, NoTimeout)
		}
	} else {
		s.m.mu.Lock()
	}
	if debug {
		s.m.owner.Store(t)
		t.spinDepth++
	}
}

// TryLock is spin_trylock().
func (s *SpinLock) TryLock(t *Task) bool {
	if t.sched != nil {
		t.point(OpTryLock, s)
	}
	if !s.m.mu.TryLock() {
		return false
	}
	if debug {
		s.m.owner.Store(t)
		t.spinDepth++
	}
	return true
}

// Unlock is spin_unlock().
func (s *SpinLock) Unlock(t *Task) {
	if debug {
		s.m.checkOwner(t, "spin_unlock")
		s.m.owner.Store(nil)
		t.spinDepth--
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
		s.m.checkOwner(t, "assert held")
	}
}

// RWSem is the kernel's rw_semaphore (mmap_lock, anon_vma->rwsem): many
// readers or one writer, sleeping.
type RWSem struct {
	mu     sync.RWMutex
	writer atomic.Pointer[Task] // debug builds only
}

// Lock is down_write().
func (s *RWSem) Lock(t *Task) {
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
		s.writer.Store(t)
	}
}

// TryLock is down_write_trylock().
func (s *RWSem) TryLock(t *Task) bool {
	if t.sched != nil {
		t.point(OpTryLock, s)
	}
	if !s.mu.TryLock() {
		return false
	}
	if debug {
		s.writer.Store(t)
	}
	return true
}

// Unlock is up_write().
func (s *RWSem) Unlock(t *Task) {
	if debug {
		if w := s.writer.Load(); w != t {
			panic(fmt.Sprintf("ksync: up_write by %v of an rwsem written by %v", t, w))
		}
		s.writer.Store(nil)
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
	mightSleep(t)
	if t.sched != nil {
		t.point(OpRLock, s)
		for !s.mu.TryRLock() {
			t.sched.Block(t, OpRLock, s, NoTimeout)
		}
		return
	}
	s.mu.RLock()
}

// TryRLock is down_read_trylock().
func (s *RWSem) TryRLock(t *Task) bool {
	if t.sched != nil {
		t.point(OpTryRLock, s)
	}
	return s.mu.TryRLock()
}

// RUnlock is up_read().
func (s *RWSem) RUnlock(t *Task) {
	if t.sched != nil {
		t.point(OpRUnlock, s)
		s.mu.RUnlock()
		t.sched.Wake(t, s)
		return
	}
	s.mu.RUnlock()
}

// AssertWriteHeld panics, in debug builds, unless t holds s for writing.
func (s *RWSem) AssertWriteHeld(t *Task) {
	if debug {
		if w := s.writer.Load(); w != t {
			panic(fmt.Sprintf("ksync: %v does not hold the rwsem for writing (%v does)", t, w))
		}
	}
}
