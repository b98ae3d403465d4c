package ksync

import (
	"sync/atomic"
)

// Stat is a per-CPU statistics counter, like a vm_event or a zram stat.
// Adding is not a scheduling point: a Stat is for reporting only and must
// never feed a decision of the engine. Its zero value is 0.
//
// Its NumCPU padded slots are allocated on the first Add: a machine has
// dozens of counters that a short run (an explorer schedule) never
// touches, and 64 slots of a cache line each made every system four
// kilobytes per counter larger.
type Stat struct {
	slots atomic.Pointer[[]paddedUint64] // NumCPU slots; nil until the first Add
}

type paddedUint64 struct {
	v atomic.Uint64
	_ [56]byte
}

// slot is t's CPU's counter, allocated with the others on first use.
func (s *Stat) slot(cpu int) *atomic.Uint64 {
	p := s.slots.Load()
	if p == nil {
		c := make([]paddedUint64, NumCPU)
		p = &c
		if !s.slots.CompareAndSwap(nil, p) {
			p = s.slots.Load()
		}
	}
	return &(*p)[cpu].v
}

// Add adds n on t's CPU.
func (s *Stat) Add(t *Task, n uint64) { s.slot(t.cpu).Add(n) }

// Inc adds one on t's CPU.
func (s *Stat) Inc(t *Task) { s.slot(t.cpu).Add(1) }

// Sub subtracts n on t's CPU (for gauges such as bytes in use).
func (s *Stat) Sub(t *Task, n uint64) { s.slot(t.cpu).Add(-n) }

// Sum is the total over all CPUs.
func (s *Stat) Sum() uint64 {
	p := s.slots.Load()
	if p == nil {
		return 0
	}
	var v uint64
	for i := range *p {
		v += (*p)[i].v.Load()
	}
	return v
}

// Reset sets the counter to zero; only when nobody adds concurrently.
func (s *Stat) Reset() {
	if p := s.slots.Load(); p != nil {
		for i := range *p {
			(*p)[i].v.Store(0)
		}
	}
}
