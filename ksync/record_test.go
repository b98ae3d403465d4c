package ksync

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a Scheduler for a single task that records every call. Its
// Block never sleeps: it reports a timeout, which is what a lone task
// would get.
type recorder struct {
	calls []string
	now   time.Duration
}

func (r *recorder) Point(t *Task, op Op, obj any) {
	r.calls = append(r.calls, fmt.Sprintf("point %v %p", op, obj))
}

func (r *recorder) Block(t *Task, op Op, obj any, timeout time.Duration) bool {
	r.calls = append(r.calls, fmt.Sprintf("block %v %v %v", op, key(obj), timeout))
	if timeout >= 0 {
		r.now += timeout
	}
	return false
}

func (r *recorder) Wake(t *Task, obj any) {
	r.calls = append(r.calls, "wake "+key(obj))
}

func (r *recorder) Spawn(parent, child *Task, fn func(*Task)) {
	r.calls = append(r.calls, "spawn "+child.Name())
	child.SetID(1)
	fn(child)
}

func (r *recorder) Note(t *Task, msg string) { r.calls = append(r.calls, "note "+msg) }
func (r *recorder) Access(t *Task, op Op, obj any) {
	r.calls = append(r.calls, fmt.Sprintf("access %v %v", op, obj))
}
func (r *recorder) Now() time.Duration { return r.now }

// key prints a blocking key: the object's address, or the word's address
// and the bit for a bit key.
func key(obj any) string {
	switch k := obj.(type) {
	case BitKey:
		return fmt.Sprintf("%p/%d", k.Flags, k.Bit)
	case sleepKey:
		return fmt.Sprintf("sleep %p", k.t)
	}
	return fmt.Sprintf("%p", obj)
}

func pt(op Op, obj any) string { return fmt.Sprintf("point %v %p", op, obj) }
func wk(obj any) string        { return "wake " + key(obj) }

// primCase is one primitive operation: setup puts the object in a state
// where op does not sleep, run performs op, and want lists the scheduler
// calls op must make, in order.
type primCase struct {
	name  string
	setup func(t *Task)
	run   func(t *Task)
	want  []string
}

func primCases() []primCase {
	var (
		mu   Mutex
		sp   SpinLock
		rw   RWSem
		i32  Int32
		i64  Int64
		u32  Uint32
		u64  Uint64
		b    Bool
		p    Pointer[int]
		f    Flags
		wq   WaitQueue
		c    Completion
		ref  LiveRef
		none = func(*Task) {}
	)
	mu.Init(RankTestLeaf)
	sp.Init(RankTestLeaf)
	rw.Init(RankTestLeaf)
	f.InitRank(RankTestLeaf)
	x := new(int)
	return []primCase{
		{"Mutex.Lock", none, func(t *Task) { mu.Lock(t) }, []string{pt(OpLock, &mu)}},
		{"Mutex.Unlock", none, func(t *Task) { mu.Unlock(t) }, []string{pt(OpUnlock, &mu), wk(&mu)}},
		{"Mutex.TryLock", none, func(t *Task) { mu.TryLock(t) }, []string{pt(OpTryLock, &mu)}},
		{"Mutex.TryLock busy", none, func(t *Task) { mu.TryLock(t) }, []string{pt(OpTryLock, &mu)}},
		{"Mutex.Unlock again", none, func(t *Task) { mu.Unlock(t) }, []string{pt(OpUnlock, &mu), wk(&mu)}},
		{"SpinLock.Lock", none, func(t *Task) { sp.Lock(t) }, []string{pt(OpLock, &sp)}},
		{"SpinLock.Unlock", none, func(t *Task) { sp.Unlock(t) }, []string{pt(OpUnlock, &sp), wk(&sp)}},
		{"SpinLock.TryLock", none, func(t *Task) { sp.TryLock(t) }, []string{pt(OpTryLock, &sp)}},
		{"SpinLock.Unlock again", none, func(t *Task) { sp.Unlock(t) }, []string{pt(OpUnlock, &sp), wk(&sp)}},
		{"RWSem.Lock", none, func(t *Task) { rw.Lock(t) }, []string{pt(OpLock, &rw)}},
		{"RWSem.Unlock", none, func(t *Task) { rw.Unlock(t) }, []string{pt(OpUnlock, &rw), wk(&rw)}},
		{"RWSem.TryLock", none, func(t *Task) { rw.TryLock(t) }, []string{pt(OpTryLock, &rw)}},
		{"RWSem.TryRLock busy", none, func(t *Task) {
			if rw.TryRLock(t) {
				panic("TryRLock succeeded under a writer")
			}
		}, []string{pt(OpTryRLock, &rw)}},
		{"RWSem.Unlock again", none, func(t *Task) { rw.Unlock(t) }, []string{pt(OpUnlock, &rw), wk(&rw)}},
		{"RWSem.RLock", none, func(t *Task) { rw.RLock(t) }, []string{pt(OpRLock, &rw)}},
		{"RWSem.TryRLock", none, func(t *Task) { rw.TryRLock(t) }, []string{pt(OpTryRLock, &rw)}},
		{"RWSem.RUnlock", none, func(t *Task) { rw.RUnlock(t) }, []string{pt(OpRUnlock, &rw), wk(&rw)}},
		{"RWSem.RUnlock again", none, func(t *Task) { rw.RUnlock(t) }, []string{pt(OpRUnlock, &rw), wk(&rw)}},

		{"Int32.Load", none, func(t *Task) { i32.Load(t) }, []string{pt(OpLoad, &i32)}},
		{"Int32.Store", none, func(t *Task) { i32.Store(t, 1) }, []string{pt(OpStore, &i32)}},
		{"Int32.Add", none, func(t *Task) { i32.Add(t, 1) }, []string{pt(OpAdd, &i32)}},
		{"Int32.CompareAndSwap", none, func(t *Task) { i32.CompareAndSwap(t, 2, 3) }, []string{pt(OpCmpXchg, &i32)}},
		{"Int32.Swap", none, func(t *Task) { i32.Swap(t, 4) }, []string{pt(OpXchg, &i32)}},
		{"Int32.AddUnless", none, func(t *Task) { i32.AddUnless(t, 1, 0) }, []string{pt(OpCmpXchg, &i32)}},
		{"Int64.Load", none, func(t *Task) { i64.Load(t) }, []string{pt(OpLoad, &i64)}},
		{"Int64.Store", none, func(t *Task) { i64.Store(t, 1) }, []string{pt(OpStore, &i64)}},
		{"Int64.Add", none, func(t *Task) { i64.Add(t, 1) }, []string{pt(OpAdd, &i64)}},
		{"Int64.CompareAndSwap", none, func(t *Task) { i64.CompareAndSwap(t, 2, 3) }, []string{pt(OpCmpXchg, &i64)}},
		{"Int64.Swap", none, func(t *Task) { i64.Swap(t, 4) }, []string{pt(OpXchg, &i64)}},
		{"Uint32.Load", none, func(t *Task) { u32.Load(t) }, []string{pt(OpLoad, &u32)}},
		{"Uint32.Store", none, func(t *Task) { u32.Store(t, 1) }, []string{pt(OpStore, &u32)}},
		{"Uint32.Add", none, func(t *Task) { u32.Add(t, 1) }, []string{pt(OpAdd, &u32)}},
		{"Uint32.CompareAndSwap", none, func(t *Task) { u32.CompareAndSwap(t, 2, 3) }, []string{pt(OpCmpXchg, &u32)}},
		{"Uint64.Load", none, func(t *Task) { u64.Load(t) }, []string{pt(OpLoad, &u64)}},
		{"Uint64.Store", none, func(t *Task) { u64.Store(t, 1) }, []string{pt(OpStore, &u64)}},
		{"Uint64.Add", none, func(t *Task) { u64.Add(t, 1) }, []string{pt(OpAdd, &u64)}},
		{"Uint64.CompareAndSwap", none, func(t *Task) { u64.CompareAndSwap(t, 2, 3) }, []string{pt(OpCmpXchg, &u64)}},
		{"Uint64.Swap", none, func(t *Task) { u64.Swap(t, 4) }, []string{pt(OpXchg, &u64)}},
		{"Uint64.Or", none, func(t *Task) { u64.Or(t, 8) }, []string{pt(OpOr, &u64)}},
		{"Uint64.And", none, func(t *Task) { u64.And(t, 8) }, []string{pt(OpAnd, &u64)}},
		{"Bool.Load", none, func(t *Task) { b.Load(t) }, []string{pt(OpLoad, &b)}},
		{"Bool.Store", none, func(t *Task) { b.Store(t, true) }, []string{pt(OpStore, &b)}},
		{"Bool.Swap", none, func(t *Task) { b.Swap(t, false) }, []string{pt(OpXchg, &b)}},
		{"Bool.CompareAndSwap", none, func(t *Task) { b.CompareAndSwap(t, false, true) }, []string{pt(OpCmpXchg, &b)}},
		{"Pointer.Load", none, func(t *Task) { p.Load(t) }, []string{pt(OpLoad, &p)}},
		{"Pointer.Store", none, func(t *Task) { p.Store(t, x) }, []string{pt(OpStore, &p)}},
		{"Pointer.Swap", none, func(t *Task) { p.Swap(t, nil) }, []string{pt(OpXchg, &p)}},
		{"Pointer.CompareAndSwap", none, func(t *Task) { p.CompareAndSwap(t, nil, x) }, []string{pt(OpCmpXchg, &p)}},

		{"Flags.Load", none, func(t *Task) { f.Load(t) }, []string{pt(OpLoad, &f)}},
		{"Flags.Test", none, func(t *Task) { f.Test(t, 3) }, []string{pt(OpLoad, &f)}},
		{"Flags.Set", none, func(t *Task) { f.Set(t, 3) }, []string{pt(OpOr, &f)}},
		{"Flags.Clear", none, func(t *Task) { f.Clear(t, 3) }, []string{pt(OpAnd, &f)}},
		{"Flags.TestAndSet", none, func(t *Task) { f.TestAndSet(t, 4) }, []string{pt(OpOr, &f)}},
		{"Flags.TestAndClear", none, func(t *Task) { f.TestAndClear(t, 4) }, []string{pt(OpAnd, &f)}},
		{"Flags.LockBit", none, func(t *Task) { f.LockBit(t, 0) }, []string{pt(OpBitLock, &f)}},
		{"Flags.TryLockBit busy", none, func(t *Task) {
			if f.TryLockBit(t, 0) {
				panic("TryLockBit took a held bit lock")
			}
		}, []string{pt(OpBitTryLock, &f)}},
		{"Flags.UnlockBit", none, func(t *Task) { f.UnlockBit(t, 0) }, []string{pt(OpBitUnlock, &f), wk(BitKey{&f, 0})}},
		{"Flags.TryLockBit", none, func(t *Task) { f.TryLockBit(t, 0) }, []string{pt(OpBitTryLock, &f)}},
		{"Flags.UnlockBit after trylock", none, func(t *Task) { f.UnlockBit(t, 0) }, []string{pt(OpBitUnlock, &f), wk(BitKey{&f, 0})}},
		{"Flags.ClearAndWake", none, func(t *Task) { f.ClearAndWake(t, 5) }, []string{pt(OpBitUnlock, &f), wk(BitKey{&f, 5})}},
		{"Flags.WaitOnBit clear", none, func(t *Task) { f.WaitOnBit(t, 5) }, []string{pt(OpBitWait, &f)}},

		{"WaitQueue.Wait true", none, func(t *Task) {
			// The condition's own atomics are not points.
			wq.Wait(t, func() bool { return b.Load(t) })
		}, []string{pt(OpWait, &wq)}},
		{"WaitQueue.WaitTimeout", none, func(t *Task) {
			if wq.WaitTimeout(t, func() bool { return !b.Load(t) }, 10*time.Millisecond) {
				panic("WaitTimeout reported a false condition")
			}
		}, []string{pt(OpWait, &wq), fmt.Sprintf("block %v %p %v", OpWait, &wq, 10*time.Millisecond)}},
		{"WaitQueue.WakeAll", none, func(t *Task) { wq.WakeAll(t) }, []string{pt(OpWake, &wq), wk(&wq)}},
		{"WaitQueue.Active", none, func(t *Task) { wq.Active(t) }, nil},

		{"Completion.Done", none, func(t *Task) { c.Done(t) }, []string{pt(OpLoad, &c)}},
		{"Completion.Complete", none, func(t *Task) { c.Complete(t) }, []string{pt(OpStore, &c), wk(&c.wq)}},
		{"Completion.Wait", none, func(t *Task) { c.Wait(t) }, []string{pt(OpWait, &c)}},

		{"LiveRef.TryGetLive", none, func(t *Task) { ref.TryGetLive(t) }, []string{pt(OpRefGet, &ref)}},
		{"LiveRef.Put", none, func(t *Task) { ref.Put(t) }, []string{pt(OpRefPut, &ref)}},
		{"LiveRef.Dead", none, func(t *Task) { ref.Dead(t) }, []string{pt(OpLoad, &ref)}},
		{"LiveRef.Kill", none, func(t *Task) { ref.Kill(t) }, []string{pt(OpRefKill, &ref)}},
		{"LiveRef.TryGetLive dead", none, func(t *Task) {
			if ref.TryGetLive(t) {
				panic("TryGetLive succeeded after Kill")
			}
		}, []string{pt(OpRefGet, &ref), wk(&ref.zero)}},
		{"LiveRef.WaitForZero", none, func(t *Task) { ref.WaitForZero(t) }, []string{pt(OpRefWait, &ref)}},
		{"LiveRef.Resurrect", none, func(t *Task) { ref.Resurrect(t) }, []string{pt(OpStore, &ref)}},
		{"LiveRef.Count", none, func(t *Task) { ref.Count() }, nil},

		{"CondResched", none, func(t *Task) { CondResched(t) }, []string{"point cond_resched TASK"}},
		{"ScheduleTimeout", none, func(t *Task) { ScheduleTimeout(t, time.Millisecond) }, []string{
			"point schedule_timeout TASK",
			fmt.Sprintf("block %v sleep TASK %v", OpSleep, time.Millisecond),
		}},
		{"Now", none, func(t *Task) { Now(t) }, nil},
		{"Note", none, func(t *Task) { Note(t, "x=%d", 1) }, []string{"note x=1"}},
		{"Access", none, func(t *Task) { Access(t, OpWrite, "k") }, []string{"access write k"}},
		{"Spawn", none, func(t *Task) { Spawn(t, "kid", 1, func(*Task) {}) }, []string{"spawn kid"}},
	}
}

// TestEveryOpIsOnePoint runs every primitive operation under a recording
// scheduler: each must call Point exactly once, with its Op and its
// object, and wake what its waiters sleep on.
func TestEveryOpIsOnePoint(t *testing.T) {
	r := &recorder{}
	task := NewControlledTask(0, "rec", 0, r)
	task.SetTraced(true)
	for _, c := range primCases() {
		c.setup(task)
		r.calls = nil
		c.run(task)
		// TASK stands for the task itself, the object of its own sleeps.
		want := strings.ReplaceAll(fmt.Sprintf("%q", c.want), "TASK", fmt.Sprintf("%p", task))
		if fmt.Sprintf("%q", r.calls) != want {
			t.Errorf("%s: scheduler calls\n\t%q\nwant\n\t%s", c.name, r.calls, want)
		}
	}
}

// TestUntracedTaskRecordsNothing: a controlled task whose run records no
// trace makes no note and no access annotation.
func TestUntracedTaskRecordsNothing(t *testing.T) {
	r := &recorder{}
	task := NewControlledTask(0, "rec", 0, r)
	if task.Traced() {
		t.Fatal("a controlled task is traced before SetTraced")
	}
	Note(task, "x")
	Access(task, OpRead, "k")
	kid := Spawn(task, "kid", 1, func(*Task) {})
	if kid.Traced() || len(r.calls) != 1 || r.calls[0] != "spawn kid" {
		t.Fatalf("untraced task: calls %q, child traced %v", r.calls, kid.Traced())
	}
	task.SetTraced(true)
	if kid := Spawn(task, "kid2", 1, func(*Task) {}); !kid.Traced() {
		t.Fatal("the child of a traced task is not traced")
	}
}

// TestOrdinaryTaskNeverCallsScheduler runs the same operations on an
// ordinary task: the recorder, attached to no task, must see nothing, and
// no operation may allocate.
func TestOrdinaryTaskNeverCallsScheduler(t *testing.T) {
	r := &recorder{}
	_ = NewControlledTask(0, "unused", 0, r)
	task := NewTask("plain", 0)
	if task.Controlled() || task.Scheduler() != nil || task.Traced() {
		t.Fatal("an ordinary task has a scheduler")
	}
	for _, c := range primCases() {
		c.setup(task)
		c.run(task)
	}
	if len(r.calls) != 0 {
		t.Fatalf("ordinary run called the scheduler: %q", r.calls)
	}
	var mu Mutex
	var n Int64
	var f Flags
	var ref LiveRef
	mu.Init(RankTestLeaf)
	f.InitRank(RankTestLeaf)
	allocs := testing.AllocsPerRun(100, func() {
		mu.Lock(task)
		mu.Unlock(task)
		n.Add(task, 1)
		f.LockBit(task, 1)
		f.UnlockBit(task, 1)
		if ref.TryGetLive(task) {
			ref.Put(task)
		}
	})
	if allocs != 0 {
		t.Fatalf("ordinary operations allocate %v times", allocs)
	}
}
