package ksync

import "sync/atomic"

// Int32, Int64, Uint32, Uint64, Bool and Pointer are the kernel's atomic_t,
// atomic64_t and READ_ONCE/WRITE_ONCE/xchg/cmpxchg on a word. Every method
// is a scheduling point. All operations are sequentially consistent.
//
// Init sets the value of an atomic before it is shared (ATOMIC_INIT); it is
// not a scheduling point.

// Int32 is atomic_t.
type Int32 struct{ v atomic.Int32 }

func (a *Int32) Init(v int32) { a.v.Store(v) }

func (a *Int32) Load(t *Task) int32 {
	if t.sched != nil {
		t.point(OpLoad, a)
	}
	return a.v.Load()
}

func (a *Int32) Store(t *Task, v int32) {
	if t.sched != nil {
		t.point(OpStore, a)
	}
	a.v.Store(v)
}

// Add is atomic_add_return().
func (a *Int32) Add(t *Task, d int32) int32 {
	if t.sched != nil {
		t.point(OpAdd, a)
	}
	return a.v.Add(d)
}

func (a *Int32) CompareAndSwap(t *Task, old, new int32) bool {
	if t.sched != nil {
		t.point(OpCmpXchg, a)
	}
	return a.v.CompareAndSwap(old, new)
}

func (a *Int32) Swap(t *Task, v int32) int32 {
	if t.sched != nil {
		t.point(OpXchg, a)
	}
	return a.v.Swap(v)
}

// AddUnless is atomic_add_unless(): add d unless the value is u; it reports
// whether it added.
func (a *Int32) AddUnless(t *Task, d, u int32) bool {
	if t.sched != nil {
		t.point(OpCmpXchg, a)
	}
	for {
		v := a.v.Load()
		if v == u {
			return false
		}
		if a.v.CompareAndSwap(v, v+d) {
			return true
		}
	}
}

// Int64 is atomic64_t / atomic_long_t.
type Int64 struct{ v atomic.Int64 }

func (a *Int64) Init(v int64) { a.v.Store(v) }

func (a *Int64) Load(t *Task) int64 {
	if t.sched != nil {
		t.point(OpLoad, a)
	}
	return a.v.Load()
}

func (a *Int64) Store(t *Task, v int64) {
	if t.sched != nil {
		t.point(OpStore, a)
	}
	a.v.Store(v)
}

func (a *Int64) Add(t *Task, d int64) int64 {
	if t.sched != nil {
		t.point(OpAdd, a)
	}
	return a.v.Add(d)
}

func (a *Int64) CompareAndSwap(t *Task, old, new int64) bool {
	if t.sched != nil {
		t.point(OpCmpXchg, a)
	}
	return a.v.CompareAndSwap(old, new)
}

func (a *Int64) Swap(t *Task, v int64) int64 {
	if t.sched != nil {
		t.point(OpXchg, a)
	}
	return a.v.Swap(v)
}

// Uint32 is an unsigned 32-bit atomic word.
type Uint32 struct{ v atomic.Uint32 }

func (a *Uint32) Init(v uint32) { a.v.Store(v) }

func (a *Uint32) Load(t *Task) uint32 {
	if t.sched != nil {
		t.point(OpLoad, a)
	}
	return a.v.Load()
}

func (a *Uint32) Store(t *Task, v uint32) {
	if t.sched != nil {
		t.point(OpStore, a)
	}
	a.v.Store(v)
}

func (a *Uint32) Add(t *Task, d uint32) uint32 {
	if t.sched != nil {
		t.point(OpAdd, a)
	}
	return a.v.Add(d)
}

func (a *Uint32) CompareAndSwap(t *Task, old, new uint32) bool {
	if t.sched != nil {
		t.point(OpCmpXchg, a)
	}
	return a.v.CompareAndSwap(old, new)
}

// Uint64 is an unsigned 64-bit atomic word (a PTE, for instance).
type Uint64 struct{ v atomic.Uint64 }

func (a *Uint64) Init(v uint64) { a.v.Store(v) }

func (a *Uint64) Load(t *Task) uint64 {
	if t.sched != nil {
		t.point(OpLoad, a)
	}
	return a.v.Load()
}

func (a *Uint64) Store(t *Task, v uint64) {
	if t.sched != nil {
		t.point(OpStore, a)
	}
	a.v.Store(v)
}

func (a *Uint64) Add(t *Task, d uint64) uint64 {
	if t.sched != nil {
		t.point(OpAdd, a)
	}
	return a.v.Add(d)
}

func (a *Uint64) CompareAndSwap(t *Task, old, new uint64) bool {
	if t.sched != nil {
		t.point(OpCmpXchg, a)
	}
	return a.v.CompareAndSwap(old, new)
}

func (a *Uint64) Swap(t *Task, v uint64) uint64 {
	if t.sched != nil {
		t.point(OpXchg, a)
	}
	return a.v.Swap(v)
}

// Or sets mask and returns the old value.
func (a *Uint64) Or(t *Task, mask uint64) uint64 {
	if t.sched != nil {
		t.point(OpOr, a)
	}
	return a.v.Or(mask)
}

// And keeps mask and returns the old value.
func (a *Uint64) And(t *Task, mask uint64) uint64 {
	if t.sched != nil {
		t.point(OpAnd, a)
	}
	return a.v.And(mask)
}

// Bool is an atomic flag.
type Bool struct{ v atomic.Bool }

func (a *Bool) Init(v bool) { a.v.Store(v) }

func (a *Bool) Load(t *Task) bool {
	if t.sched != nil {
		t.point(OpLoad, a)
	}
	return a.v.Load()
}

func (a *Bool) Store(t *Task, v bool) {
	if t.sched != nil {
		t.point(OpStore, a)
	}
	a.v.Store(v)
}

func (a *Bool) Swap(t *Task, v bool) bool {
	if t.sched != nil {
		t.point(OpXchg, a)
	}
	return a.v.Swap(v)
}

func (a *Bool) CompareAndSwap(t *Task, old, new bool) bool {
	if t.sched != nil {
		t.point(OpCmpXchg, a)
	}
	return a.v.CompareAndSwap(old, new)
}

// Pointer is an atomic pointer (rcu_assign_pointer/READ_ONCE of a pointer).
type Pointer[T any] struct{ v atomic.Pointer[T] }

func (a *Pointer[T]) Init(v *T) { a.v.Store(v) }

// Peek loads the pointer without a scheduling point: for tools that look
// at the engine from outside a run (trace naming, audits at quiescence),
// never for engine decisions.
func (a *Pointer[T]) Peek() *T { return a.v.Load() }

func (a *Pointer[T]) Load(t *Task) *T {
	if t.sched != nil {
		t.point(OpLoad, a)
	}
	return a.v.Load()
}

func (a *Pointer[T]) Store(t *Task, v *T) {
	if t.sched != nil {
		t.point(OpStore, a)
	}
	a.v.Store(v)
}

func (a *Pointer[T]) Swap(t *Task, v *T) *T {
	if t.sched != nil {
		t.point(OpXchg, a)
	}
	return a.v.Swap(v)
}

func (a *Pointer[T]) CompareAndSwap(t *Task, old, new *T) bool {
	if t.sched != nil {
		t.point(OpCmpXchg, a)
	}
	return a.v.CompareAndSwap(old, new)
}
