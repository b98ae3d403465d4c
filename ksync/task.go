package ksync

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// NoTimeout asks Scheduler.Block for a sleep that only a Wake ends.
const NoTimeout time.Duration = -1

// Task is the kernel's `current`: whoever performs an operation. It is
// passed explicitly to every primitive.
type Task struct {
	id    int       // immutable
	name  string    // immutable
	cpu   int       // immutable: index of the logical CPU for per-CPU state
	sched Scheduler // immutable; nil in an ordinary run
	// traced is set when the scheduler records a trace: notes and
	// access annotations are made only then. Set before the task runs.
	traced bool

	// Owned by the task itself: only the goroutine running the task
	// touches these fields.
	nopoint int       // >0 while a wait condition is evaluated: points are suppressed
	dbg     taskDebug // checked builds only: the locks held, in order, and the spin depth
	preempt int       // preempt-disabled and RCU-sched sections open (preempt.go)
}

// Scheduler is the explorer's hook. It is attached to tasks made by
// NewControlledTask and called at every scheduling point. Exactly one
// controlled task runs at a time, so implementations need no locking of
// their own state beyond the hand-off between tasks.
type Scheduler interface {
	// Point is called before op on obj; the scheduler may run other
	// tasks before it returns.
	Point(t *Task, op Op, obj any)
	// Block parks t, which could not proceed on obj, until another task
	// calls Wake(obj) or, when timeout >= 0, until the virtual clock has
	// advanced by timeout. It reports whether t was woken (false: timed
	// out). It returns only when t has been chosen to run again.
	Block(t *Task, op Op, obj any, timeout time.Duration) bool
	// Wake makes every task blocked on obj runnable. It is not a
	// scheduling point.
	Wake(t *Task, obj any)
	// Spawn registers child, made by parent, and runs fn(child) on a new
	// goroutine under control.
	Spawn(parent, child *Task, fn func(*Task))
	// Note records an annotation in the trace; it is not a point.
	Note(t *Task, msg string)
	// Access records a plain access (OpRead, OpWrite, OpFree) to data
	// that a lock guards; it is not a point. Called only for traced
	// tasks (see Access).
	Access(t *Task, op Op, obj any)
	// Now is the virtual clock.
	Now() time.Duration
}

var nextTaskID atomic.Int64

// NewTask makes a task for an ordinary (uncontrolled) run. cpu selects its
// per-CPU slots; it is reduced modulo NumCPU.
func NewTask(name string, cpu int) *Task {
	return &Task{id: int(nextTaskID.Add(1)), name: name, cpu: cpuIndex(cpu)}
}

// NewControlledTask makes a task whose every point goes to s. id must be
// deterministic (the scheduler's spawn order) for runs to replay.
func NewControlledTask(id int, name string, cpu int, s Scheduler) *Task {
	if s == nil {
		panic("ksync: NewControlledTask with a nil scheduler")
	}
	return &Task{id: id, name: name, cpu: cpuIndex(cpu), sched: s}
}

// ID is the task's number: spawn order under a scheduler, a process-wide
// sequence otherwise.
func (t *Task) ID() int { return t.id }

// Name is the task's name, as shown in traces.
func (t *Task) Name() string { return t.name }

// CPU is the logical CPU whose per-CPU state the task uses.
func (t *Task) CPU() int { return t.cpu }

// Controlled reports whether t runs under a Scheduler.
func (t *Task) Controlled() bool { return t.sched != nil }

// Scheduler returns the task's scheduler, nil in an ordinary run.
func (t *Task) Scheduler() Scheduler { return t.sched }

func (t *Task) String() string { return fmt.Sprintf("%s[%d]", t.name, t.id) }

// TraceName names the task as the object of its own cond_resched and
// schedule_timeout points.
func (t *Task) TraceName() string { return "current" }

// point is the slow half of every scheduling point; callers test
// t.sched != nil first so that an ordinary run pays one branch.
func (t *Task) point(op Op, obj any) {
	if t.nopoint > 0 {
		return
	}
	t.sched.Point(t, op, obj)
}

// Traced reports whether the task's run records a trace (notes and
// access annotations); call sites test it before formatting a note or
// making an annotation's key, so that ordinary runs, and controlled runs
// that record nothing, pay one predictable branch.
func (t *Task) Traced() bool { return t.traced }

// SetTraced is for schedulers: it turns notes and annotations on for a
// controlled task before it runs. Tasks spawned by a traced task are
// traced.
func (t *Task) SetTraced(on bool) {
	if t.sched != nil {
		t.traced = on
	}
}

// Note records an annotation in the trace of a controlled run (for
// example "pte set to swap entry 0:17"). It is not a scheduling point.
// Call it as `if t.Traced() { ksync.Note(t, ...) }`.
func Note(t *Task, format string, args ...any) {
	if t.traced {
		t.sched.Note(t, fmt.Sprintf(format, args...))
	}
}

// Access annotates a plain access to data that a lock guards (a swap_map
// byte, a cluster's count, a swap table slot, a shmem index entry): op
// is OpRead, OpWrite or OpFree (the data's memory is released), obj a
// comparable key that the engine's namers name. Such data is not a
// scheduling point (its lock is); the annotation lets the explorer see
// which task touched which datum, to name the conflict of a race. Make
// the annotation before the access, so that a panicking access is
// recorded, and call it as
//
//	if t.Traced() { ksync.Access(t, ksync.OpRead, mapByte{si, off}) }
//
// so that nothing is built when the run records no trace. A helper that
// wraps it must be named traceX, a capital after "trace" (traceMapRead):
// traces show the engine function that called the helper, not the
// helper.
func Access(t *Task, op Op, obj any) {
	if t.traced {
		t.sched.Access(t, op, obj)
	}
}

// Part is implemented by annotation keys that stand for part of a larger
// object (a byte of swap_map, of the map as a whole): an access to a part
// reads the whole (the pointer to it), so that freeing the whole
// conflicts with it.
type Part interface {
	Whole() any
}

// Spawn starts fn on a new task named name, the kernel's kthread_run. In
// an ordinary run it is a goroutine; under a scheduler the child is
// controlled by the parent's scheduler (its id is assigned there).
func Spawn(parent *Task, name string, cpu int, fn func(*Task)) *Task {
	if parent.sched == nil {
		child := NewTask(name, cpu)
		go fn(child)
		return child
	}
	child := &Task{id: -1, name: name, cpu: cpuIndex(cpu), sched: parent.sched, traced: parent.traced}
	parent.sched.Spawn(parent, child, fn)
	return child
}

// SetID is for schedulers: it assigns a controlled task its deterministic
// id when the scheduler registers it.
func (t *Task) SetID(id int) { t.id = id }

// CondResched is cond_resched(): a voluntary scheduling point in a long
// loop. In an ordinary run it lets other goroutines run.
func CondResched(t *Task) {
	if debug && (t.spinning() > 0 || t.preempt > 0) {
		panic(fmt.Sprintf("ksync: %v calls cond_resched %s", t, t.atomicContext()))
	}
	if t.sched != nil {
		t.point(OpResched, t)
		return
	}
	runtime.Gosched()
}

// ScheduleTimeout is schedule_timeout_uninterruptible(d): sleep for d.
// Under a scheduler the sleep is on the virtual clock.
func ScheduleTimeout(t *Task, d time.Duration) {
	mightSleep(t)
	if t.sched != nil {
		t.point(OpSleep, t)
		t.sched.Block(t, OpSleep, sleepKey{t}, d)
		return
	}
	time.Sleep(d)
}

// sleepKey is the object a sleeping task blocks on: nothing wakes it.
type sleepKey struct{ t *Task }

// TraceName names the sleep in traces: the sleeper's timer.
func (k sleepKey) TraceName() string { return "timer(" + k.t.name + ")" }

// Now returns the time for timeouts: the virtual clock under a scheduler,
// the monotonic clock otherwise. The engine uses it only to bound waits,
// never to make a decision that a replay would need to reproduce.
func Now(t *Task) time.Duration {
	if t.sched != nil {
		return t.sched.Now()
	}
	return time.Since(epoch)
}

var epoch = time.Now()

// mightSleep is might_sleep(): sleeping with a spinlock held, or inside
// a preempt-disabled or RCU-sched read-side section, is a bug ("BUG:
// sleeping function called from invalid context").
func mightSleep(t *Task) {
	if debug && (t.spinning() > 0 || t.preempt > 0) {
		panic(fmt.Sprintf("ksync: %v sleeps %s", t, t.atomicContext()))
	}
}

// MightSleep is might_sleep() for engine code: a function that may sleep
// on some path (a cgroup charge that may reclaim, device I/O) calls it on
// every path, so that a caller holding a spinlock (a PTL, a lruvec lock)
// is caught in a checked build even when this call would not have slept.
// It costs nothing in an ordinary build.
func MightSleep(t *Task) { mightSleep(t) }

// atomicContext says why t may not sleep, for might_sleep's report.
func (t *Task) atomicContext() string {
	switch {
	case t.spinning() > 0 && t.preempt > 0:
		return fmt.Sprintf("while holding %d spinlock(s) inside %d preempt-disabled section(s)", t.spinning(), t.preempt)
	case t.spinning() > 0:
		return fmt.Sprintf("while holding %d spinlock(s)", t.spinning())
	}
	return fmt.Sprintf("inside %d preempt-disabled or RCU-sched read-side section(s)", t.preempt)
}

// maxCPUs bounds NumCPU and sizes the fixed per-CPU arrays (the
// preempt-disabled and RCU-sched section counts); the other per-CPU
// counters are allocated on first use, NumCPU of them.
const maxCPUs = 64

// NumCPU is the number of per-CPU slots: the machine's CPUs, at least 1,
// at most maxCPUs.
var NumCPU = func() int {
	n := runtime.NumCPU()
	if n > maxCPUs {
		n = maxCPUs
	}
	if n < 1 {
		n = 1
	}
	return n
}()

func cpuIndex(cpu int) int {
	if cpu < 0 {
		cpu = -cpu
	}
	return cpu % NumCPU
}
