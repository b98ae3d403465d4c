package sched

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"uswap/ksync"
)

// Quantum is how far the virtual clock advances at every scheduling
// point, so that timeouts fire even while other tasks spin.
const Quantum = time.Microsecond

// DefaultMaxSteps is the step cap when Options.MaxSteps is 0.
const DefaultMaxSteps = 1_000_000

// Options tune a Run.
type Options struct {
	// MaxSteps caps the scheduling points of a run; reaching it is a
	// Livelock failure. 0 means DefaultMaxSteps.
	MaxSteps int
	// Record turns the trace on (Result.Trace). Without it a run records
	// only its choices, which is much cheaper.
	Record bool
	// Namer names objects in traces (for example "si->lock"); "" or a nil
	// Namer falls back to the object's type. Names get "#id" appended.
	Namer func(obj any) string
	// Check runs after every task returned cleanly, on Run's goroutine
	// (for example the audit); an error is a CheckFailed failure.
	Check func() error
}

// abortSentinel is what a task panics with when a failed run is torn down;
// the task wrapper recovers it.
type abortSentinel struct{}

// task is one controlled task.
type task struct {
	t    *ksync.Task
	id   int
	fn   func(*ksync.Task)
	wake chan struct{} // the CPU is handed to this task by a send here

	// Owned by the running task (see the package doc).
	blocked  bool
	blockOp  ksync.Op
	blockOn  any
	deadline time.Duration // -1: no timeout
	woken    bool          // result of the pending Block
	done     bool
	blockEv  Event // the EvBlock event, for deadlock reports
}

type objInfo struct {
	id    int
	name  string
	named bool // by the Namer: final; otherwise the Namer is asked again
}

// scheduler implements ksync.Scheduler. Every field is owned by the
// running task; the hand-off on task.wake orders all accesses.
type scheduler struct {
	strategy Strategy
	opts     Options
	maxSteps int

	tasks   []*task // by id
	alive   []*task // tasks not yet returned, by increasing id
	cur     *task   // the task that runs
	steps   int
	now     time.Duration
	nextDL  time.Duration // earliest deadline of a sleeping task; maxDuration if none
	choices []int
	dec     Decision
	runq    []int // scratch for dec.Runnable

	failure  *Failure
	aborting bool
	done     chan struct{} // the last task to finish signals Run
	wg       sync.WaitGroup

	// Trace state, used only with opts.Record.
	trace   []Event
	objs    map[any]objInfo
	pcs     [32]uintptr
	pcNames map[uintptr]string
}

const maxDuration = time.Duration(1<<63 - 1)

// Run runs main as task 0 under strategy until every task has returned
// or the run fails, and returns what happened. No goroutine of the run
// is left when it returns.
func Run(strategy Strategy, opts Options, main func(t *ksync.Task)) Result {
	s := &scheduler{
		strategy: strategy,
		opts:     opts,
		maxSteps: opts.MaxSteps,
		nextDL:   maxDuration,
		done:     make(chan struct{}, 1),
	}
	if s.maxSteps <= 0 {
		s.maxSteps = DefaultMaxSteps
	}
	if opts.Record {
		s.objs = make(map[any]objInfo)
		s.pcNames = make(map[uintptr]string)
	}
	t0 := ksync.NewControlledTask(0, "main", 0, s)
	tk := s.add(t0, main)
	s.cur = tk
	tk.wake <- struct{}{}
	<-s.done
	s.wg.Wait()

	if s.failure == nil && opts.Check != nil {
		if err := opts.Check(); err != nil {
			s.failure = &Failure{Kind: CheckFailed, Task: -1, Message: err.Error(), Err: err}
		}
	}
	r := Result{
		Choices:     s.choices,
		Trace:       s.trace,
		Steps:       s.steps,
		Failure:     s.failure,
		VirtualTime: s.now,
	}
	for _, tk := range s.tasks {
		r.Tasks = append(r.Tasks, tk.t.Name())
	}
	return r
}

// add registers t and starts its goroutine, parked until it is first
// chosen.
func (s *scheduler) add(t *ksync.Task, fn func(*ksync.Task)) *task {
	tk := &task{t: t, id: t.ID(), fn: fn, wake: make(chan struct{}, 1), deadline: -1}
	s.tasks = append(s.tasks, tk)
	s.alive = append(s.alive, tk)
	s.strategy.Spawned(tk.id)
	s.wg.Add(1)
	go s.body(tk)
	return tk
}

// body is a task's goroutine.
func (s *scheduler) body(tk *task) {
	defer s.wg.Done()
	<-tk.wake
	if !s.aborting {
		s.runTask(tk)
	}
	s.exit(tk)
}

// runTask runs the task's function and turns a panic into a failure.
func (s *scheduler) runTask(tk *task) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if _, ok := r.(abortSentinel); ok {
			return
		}
		s.fail(&Failure{
			Kind:     Panic,
			Task:     tk.id,
			TaskName: tk.t.Name(),
			Value:    r,
			Stack:    string(debug.Stack()),
			Message:  fmt.Sprintf("%v panicked: %v", tk.t, r),
		})
	}()
	tk.fn(tk.t)
}

// exit retires the running task and hands the CPU on; the goroutine then
// ends.
func (s *scheduler) exit(tk *task) {
	tk.done = true
	for i, a := range s.alive {
		if a == tk {
			s.alive = append(s.alive[:i], s.alive[i+1:]...)
			break
		}
	}
	if !s.aborting {
		s.event(EvExit, tk, 0, nil, "", 0)
	}
	if len(s.alive) == 0 {
		s.done <- struct{}{}
		return
	}
	var next *task
	if !s.aborting {
		next = s.pick(-1)
		if next == nil {
			s.deadlock()
		}
	}
	if s.aborting {
		// Tear down the survivors one at a time, lowest id first.
		next = s.alive[0]
	}
	s.cur = next
	next.wake <- struct{}{}
}

// fail records the first failure and starts aborting the run.
func (s *scheduler) fail(f *Failure) {
	if s.failure == nil {
		s.failure = f
	}
	s.aborting = true
}

func (s *scheduler) deadlock() {
	f := &Failure{Kind: Deadlock, Task: -1}
	msg := ""
	for _, a := range s.alive {
		if msg != "" {
			msg += ", "
		}
		on, name := s.nameOf(a.blockOn)
		msg += fmt.Sprintf("%v sleeps in %v on %s", a.t, a.blockOp, name)
		ev := a.blockEv
		if ev.Kind == 0 {
			ev = Event{Kind: EvBlock, Task: a.id, TaskName: a.t.Name(), Op: a.blockOp, Obj: on, ObjName: name}
		}
		f.Blocked = append(f.Blocked, ev)
	}
	f.Message = msg
	s.fail(f)
}

// nameOf names obj whether or not a trace is recorded.
func (s *scheduler) nameOf(obj any) (int, string) {
	if s.objs == nil {
		return 0, fmt.Sprintf("%T", obj)
	}
	return s.objName(obj)
}

// pick asks the strategy for the next task. cur is the id of the task at
// the point if it may go on, -1 otherwise. It returns nil on a deadlock.
func (s *scheduler) pick(cur int) *task {
	s.runq = s.runq[:0]
	for _, a := range s.alive {
		if !a.blocked {
			s.runq = append(s.runq, a.id)
		}
	}
	for len(s.runq) == 0 {
		if s.nextDL == maxDuration {
			return nil
		}
		// Nothing can run: jump the clock to the earliest deadline.
		// nextDL may be stale (its sleeper was woken before it), in
		// which case fireTimeouts only finds the real next one: jump
		// again.
		s.now = s.nextDL
		s.fireTimeouts()
		for _, a := range s.alive {
			if !a.blocked {
				s.runq = append(s.runq, a.id)
			}
		}
	}
	s.dec = Decision{Index: len(s.choices), Current: cur, Runnable: s.runq}
	id := s.strategy.Pick(&s.dec)
	ok := false
	for _, r := range s.runq {
		if r == id {
			ok = true
			break
		}
	}
	if !ok {
		panic(fmt.Sprintf("sched: strategy %T picked task %d, not among runnable %v", s.strategy, id, s.runq))
	}
	s.choices = append(s.choices, id)
	return s.tasks[id]
}

// fireTimeouts makes runnable every sleeper whose deadline has passed.
func (s *scheduler) fireTimeouts() {
	s.nextDL = maxDuration
	for _, a := range s.alive {
		if !a.blocked || a.deadline < 0 {
			continue
		}
		if a.deadline <= s.now {
			a.blocked, a.woken, a.blockOn, a.deadline = false, false, nil, -1
		} else if a.deadline < s.nextDL {
			s.nextDL = a.deadline
		}
	}
}

// switchTo hands the CPU from the running task to next and waits until
// some task hands it back.
func (s *scheduler) switchTo(from, next *task) {
	if next == from {
		return
	}
	s.cur = next
	next.wake <- struct{}{}
	<-from.wake
	if s.aborting {
		panic(abortSentinel{})
	}
}

func (s *scheduler) self(t *ksync.Task) *task {
	tk := s.cur
	if tk.t != t {
		panic(fmt.Sprintf("sched: %v reached a point while %v runs", t, tk.t))
	}
	return tk
}

// Point implements ksync.Scheduler.
func (s *scheduler) Point(t *ksync.Task, op ksync.Op, obj any) {
	if s.aborting {
		panic(abortSentinel{})
	}
	tk := s.self(t)
	s.steps++
	if s.steps > s.maxSteps {
		s.fail(&Failure{Kind: Livelock, Task: -1,
			Message: fmt.Sprintf("no end after %d scheduling points", s.maxSteps)})
		panic(abortSentinel{})
	}
	s.now += Quantum
	if s.nextDL <= s.now {
		s.fireTimeouts()
	}
	s.switchTo(tk, s.pick(tk.id))
	if s.opts.Record {
		s.event(EvPoint, tk, op, obj, s.caller(), 0)
	}
}

// Block implements ksync.Scheduler.
func (s *scheduler) Block(t *ksync.Task, op ksync.Op, obj any, timeout time.Duration) bool {
	if s.aborting {
		panic(abortSentinel{})
	}
	tk := s.self(t)
	tk.blocked, tk.blockOp, tk.blockOn, tk.woken = true, op, obj, false
	tk.deadline = -1
	if timeout >= 0 {
		tk.deadline = s.now + timeout
		if tk.deadline < s.nextDL {
			s.nextDL = tk.deadline
		}
	}
	if s.opts.Record {
		s.event(EvBlock, tk, op, obj, s.caller(), 0)
		tk.blockEv = s.trace[len(s.trace)-1]
	}
	next := s.pick(-1)
	if next == nil {
		s.deadlock()
		panic(abortSentinel{})
	}
	s.switchTo(tk, next)
	if s.opts.Record {
		k := EvWoken
		if !tk.woken {
			k = EvTimeout
		}
		s.event(k, tk, 0, nil, "", 0)
	}
	return tk.woken
}

// Wake implements ksync.Scheduler.
func (s *scheduler) Wake(t *ksync.Task, obj any) {
	if s.aborting {
		return
	}
	n := 0
	for _, a := range s.alive {
		if a.blocked && a.blockOn == obj {
			a.blocked, a.woken, a.blockOn, a.deadline = false, true, nil, -1
			n++
		}
	}
	if n > 0 && s.opts.Record {
		s.event(EvWake, s.self(t), 0, obj, "", n)
	}
}

// Spawn implements ksync.Scheduler.
func (s *scheduler) Spawn(parent, child *ksync.Task, fn func(*ksync.Task)) {
	if s.aborting {
		panic(abortSentinel{})
	}
	ptk := s.self(parent)
	child.SetID(len(s.tasks))
	s.add(child, fn)
	if s.opts.Record {
		e := s.event(EvSpawn, ptk, 0, nil, s.caller(), child.ID())
		e.Note = child.Name()
	}
}

// Note implements ksync.Scheduler.
func (s *scheduler) Note(t *ksync.Task, msg string) {
	if s.aborting || !s.opts.Record {
		return
	}
	e := s.event(EvNote, s.self(t), 0, nil, "", 0)
	e.Note = msg
}

// Now implements ksync.Scheduler.
func (s *scheduler) Now() time.Duration { return s.now }

// event appends a trace event (with Record on) and returns it for
// further filling; without Record it returns a scratch event.
func (s *scheduler) event(k EventKind, tk *task, op ksync.Op, obj any, caller string, arg int) *Event {
	if !s.opts.Record {
		return &Event{}
	}
	oid, oname := s.objName(obj)
	s.trace = append(s.trace, Event{
		Step: len(s.trace), Time: s.now, Kind: k, Task: tk.id, TaskName: tk.t.Name(),
		Op: op, Obj: oid, ObjName: oname, Caller: caller, Arg: arg,
	})
	return &s.trace[len(s.trace)-1]
}
