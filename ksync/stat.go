package ksync

import "sync/atomic"

// Stat is a per-CPU statistics counter, like a vm_event or a zram stat.
// Adding is not a scheduling point: a Stat is for reporting only and must
// never feed a decision of the engine. Its zero value is 0.
type Stat struct {
	slots [maxCPUs]paddedUint64
}

type paddedUint64 struct {
	v atomic.Uint64
	_ [56]byte
}

// Add adds n on t's CPU.
func (s *Stat) Add(t *Task, n uint64) { s.slots[t.cpu].v.Add(n) }

// Inc adds one on t's CPU.
func (s *Stat) Inc(t *Task) { s.slots[t.cpu].v.Add(1) }

// Sub subtracts n on t's CPU (for gauges such as bytes in use).
func (s *Stat) Sub(t *Task, n uint64) { s.slots[t.cpu].v.Add(-n) }

// Sum is the total over all CPUs.
func (s *Stat) Sum() uint64 {
	var v uint64
	for i := range s.slots {
		v += s.slots[i].v.Load()
	}
	return v
}

// Reset sets the counter to zero; only when nobody adds concurrently.
func (s *Stat) Reset() {
	for i := range s.slots {
		s.slots[i].v.Store(0)
	}
}
