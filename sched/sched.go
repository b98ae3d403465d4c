package sched

import (
	"fmt"
	"iter"
	"runtime/debug"
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
	// Record turns the trace on (Result.Trace), with the engine's notes
	// and access annotations. Without it a run records only its choices,
	// which is much cheaper.
	Record bool
	// Namer names objects in traces (for example "si0->lock"); "" or a
	// nil Namer falls back to the object's type and "#id", its number by
	// first appearance.
	Namer func(obj any) string
	// Check runs after every task returned cleanly, on Run's goroutine
	// (for example the audit); an error is a CheckFailed failure.
	Check func() error
	// After, if set, starts the run where an earlier run of task 0 alone
	// left the scheduler (Result.Prefix): its steps, task 0's points and
	// the clock go on from there. A run of main after a set-up that was
	// run once and copied (the explorer's snapshot) then makes the same
	// decisions, with the same Decision.Step and Executed, as a run that
	// does the set-up itself; the trace starts after the set-up.
	After *Prefix
}

// Prefix is where a run of task 0 alone left the scheduler.
type Prefix struct {
	Steps      int           // scheduling points passed
	Now        time.Duration // the virtual clock
	MainPoints int           // task 0's points and sleeps returned from
}

// abortSentinel is what a task panics with when a failed run is torn down;
// the task wrapper recovers it.
type abortSentinel struct{}

// task is one controlled task, run by a coroutine that the run's hub
// resumes when the task is chosen, and that yields back to it when it
// hands the CPU to another task or returns.
type task struct {
	s  *scheduler
	t  *ksync.Task
	id int
	fn func(*ksync.Task)
	co *coro // runs the task's body

	// Owned by the running task (see the package doc).
	blocked  bool
	blockOp  ksync.Op
	blockOn  any
	deadline time.Duration // -1: no timeout
	woken    bool          // result of the pending Block
	done     bool
	blockEv  Event // the EvBlock event, for deadlock reports
	points   int   // scheduling points reached, and sleeps returned from
	atPoint  bool  // stopped at its point points, not yet passed
}

type objInfo struct {
	id    int
	name  string
	named bool // by the Namer: final; otherwise the Namer is asked again
	whole int  // id of the object this one is part of (ksync.Part), 0 if none
}

// scheduler implements ksync.Scheduler. Every field is owned by the
// running task or, between two tasks, by the hub (Run's goroutine); the
// coroutine switches order all accesses.
type scheduler struct {
	runner   *Runner
	strategy Strategy
	opts     Options
	maxSteps int

	tasks    []*task // by id
	alive    []*task // tasks not yet returned, by increasing id
	cur      *task   // the task that runs, or that the hub resumes next
	steps    int
	now      time.Duration
	nextDL   time.Duration // earliest deadline of a sleeping task; maxDuration if none
	choices  []int
	executed []int // by task id: points passed (-1 before its first run)
	dec      Decision
	runq     []int // scratch for dec.Runnable

	preempts   int // decisions that preempted a task that could go on
	deviations int // decisions that took another task than defaultPick
	lastDev    int // 1 + the index of the last such decision

	failure  *Failure
	aborting bool

	// Trace state, used only with opts.Record.
	trace   []Event
	objs    map[any]objInfo
	pcs     [32]uintptr
	pcNames map[uintptr]string
}

const maxDuration = time.Duration(1<<63 - 1)

// Run runs main as task 0 under strategy until every task has returned
// or the run fails, and returns what happened. No goroutine of the run
// is left when it returns. It is NewRunner().Run followed by Close.
func Run(strategy Strategy, opts Options, main func(t *ksync.Task)) Result {
	var r Runner
	defer r.Close()
	return r.Run(strategy, opts, main)
}

// Runner runs schedules one after another and keeps the coroutines that
// ran the tasks of one run, with the stacks they grew, for the tasks of
// the next: an explorer worker runs hundreds of thousands of short runs.
// A Runner must not be used by two goroutines at once; its zero value is
// ready. Close stops the coroutines it keeps.
type Runner struct {
	idle []*coro
}

// coro is a coroutine (iter.Pull) that runs task bodies, one after
// another: it yields to the hub when its task hands the CPU on, and when
// the task has returned (then it waits for its next task).
type coro struct {
	resume func() (struct{}, bool)
	stop   func()
	yield  func(struct{}) bool
	tk     *task // the task it runs; nil while idle
}

// newCoro makes a coroutine; it starts when first resumed.
func newCoro() *coro {
	c := &coro{}
	c.resume, c.stop = iter.Pull(func(yield func(struct{}) bool) {
		c.yield = yield
		for {
			tk := c.tk
			tk.s.body(tk)
			c.tk = nil
			if !yield(struct{}{}) {
				return
			}
		}
	})
	return c
}

// Close stops the idle coroutines.
func (r *Runner) Close() {
	for _, c := range r.idle {
		c.stop()
	}
	r.idle = nil
}

// Run runs main as task 0 under strategy until every task has returned
// or the run fails, and returns what happened.
//
// The calling goroutine is the hub: it resumes the chosen task's
// coroutine, which runs until it hands the CPU on (naming the next task)
// or returns. A hand-off is two coroutine switches (task to hub, hub to
// task), which cost a fraction of a goroutine park and wake-up and do not
// depend on GOMAXPROCS.
func (rn *Runner) Run(strategy Strategy, opts Options, main func(t *ksync.Task)) Result {
	s := &scheduler{
		runner:   rn,
		strategy: strategy,
		opts:     opts,
		maxSteps: opts.MaxSteps,
		nextDL:   maxDuration,
	}
	if s.maxSteps <= 0 {
		s.maxSteps = DefaultMaxSteps
	}
	if opts.Record {
		s.objs = make(map[any]objInfo)
		s.pcNames = make(map[uintptr]string)
	}
	t0 := ksync.NewControlledTask(0, "main", 0, s)
	t0.SetTraced(opts.Record)
	s.cur = s.add(t0, main)
	if a := opts.After; a != nil {
		s.steps, s.now, s.cur.points = a.Steps, a.Now, a.MainPoints
	}
	for s.cur != nil {
		tk := s.cur
		tk.co.resume()
		if tk.done && tk.co.tk == nil {
			rn.idle = append(rn.idle, tk.co)
			tk.co = nil
		}
	}

	if opts.Record {
		s.nameLate()
	}
	if s.failure == nil && opts.Check != nil {
		if err := opts.Check(); err != nil {
			s.failure = &Failure{Kind: CheckFailed, Task: -1, Message: err.Error(), Err: err}
		}
	}
	r := Result{
		Choices:       s.choices,
		Trace:         s.trace,
		Steps:         s.steps,
		Failure:       s.failure,
		VirtualTime:   s.now,
		Preemptions:   s.preempts,
		Deviations:    s.deviations,
		LastDeviation: s.lastDev,
		MainPoints:    s.tasks[0].points,
	}
	for _, tk := range s.tasks {
		r.Tasks = append(r.Tasks, tk.t.Name())
	}
	if r.Failure != nil && r.Failure.Kind == Livelock && opts.Record {
		r.Failure.Loop = findLoop(r.Trace, r.Tasks)
		if l := r.Failure.Loop; l != nil {
			r.Failure.Message += ": "
			if l.Starved {
				r.Failure.Message += "starvation: "
			}
			r.Failure.Message += l.String()
		}
	}
	return r
}

// add registers t and gives it a coroutine, which runs it when the hub
// first resumes it.
func (s *scheduler) add(t *ksync.Task, fn func(*ksync.Task)) *task {
	tk := &task{s: s, t: t, id: t.ID(), fn: fn, deadline: -1}
	rn := s.runner
	if n := len(rn.idle); n > 0 {
		tk.co = rn.idle[n-1]
		rn.idle = rn.idle[:n-1]
	} else {
		tk.co = newCoro()
	}
	tk.co.tk = tk
	s.tasks = append(s.tasks, tk)
	s.alive = append(s.alive, tk)
	s.executed = append(s.executed, -1)
	s.strategy.Spawned(tk.id)
	return tk
}

// body is a task's coroutine.
func (s *scheduler) body(tk *task) {
	if !s.aborting {
		s.executed[tk.id] = tk.points // 0 but for task 0 with Options.After
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
			Point:    s.executed[tk.id],
			Value:    r,
			Stack:    string(debug.Stack()),
			Message:  fmt.Sprintf("%v panicked: %v", tk.t, r),
		})
	}()
	tk.fn(tk.t)
}

// exit retires the running task and names the task the hub resumes next
// (none when every task has returned); the coroutine then ends.
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
		s.cur = nil
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
	o := s.objName(obj)
	return o.id, o.name
}

// pick returns the next task. cur is the id of the task at the point if
// it may go on, -1 otherwise. With one runnable task there is nothing to
// decide: it is returned without asking the strategy or recording a
// choice. It returns nil on a deadlock.
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
	if len(s.runq) == 1 {
		return s.tasks[s.runq[0]]
	}
	s.dec = Decision{Index: len(s.choices), Step: s.steps, Current: cur, Runnable: s.runq, Executed: s.executed}
	id := s.strategy.Pick(&s.dec)
	ok, canRun := false, false
	for _, r := range s.runq {
		ok = ok || r == id
		canRun = canRun || r == cur
	}
	if !ok {
		panic(fmt.Sprintf("sched: strategy %T picked task %d, not among runnable %v", s.strategy, id, s.runq))
	}
	s.choices = append(s.choices, id)
	if canRun && id != cur {
		s.preempts++
	}
	if id != defaultPick(&s.dec) {
		s.deviations++
		s.lastDev = len(s.choices)
	}
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

// switchTo hands the CPU from the running task to next: it names next
// for the hub and yields; it returns when the hub resumes from again.
func (s *scheduler) switchTo(from, next *task) {
	if next == from {
		return
	}
	s.cur = next
	if !from.co.yield(struct{}{}) || s.aborting {
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
	tk.points++
	if s.steps > s.maxSteps {
		s.fail(&Failure{Kind: Livelock, Task: -1,
			Message: fmt.Sprintf("no end after %d scheduling points", s.maxSteps)})
		panic(abortSentinel{})
	}
	s.now += Quantum
	if s.nextDL <= s.now {
		s.fireTimeouts()
	}
	if len(s.alive) > 1 {
		tk.atPoint = true
		s.switchTo(tk, s.pick(tk.id))
		tk.atPoint = false
	}
	s.executed[tk.id] = tk.points
	if s.opts.Record {
		c, unwinding := s.caller()
		s.event(EvPoint, tk, op, obj, c, 0).Unwinding = unwinding
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
		c, unwinding := s.caller()
		s.event(EvBlock, tk, op, obj, c, 0).Unwinding = unwinding
		tk.blockEv = s.trace[len(s.trace)-1]
	}
	next := s.pick(-1)
	if next == nil {
		s.deadlock()
		panic(abortSentinel{})
	}
	s.switchTo(tk, next)
	// Running again after a sleep counts as a step of the task's
	// program, like a point: what it does next is placed after it.
	tk.points++
	s.executed[tk.id] = tk.points
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
		c, _ := s.caller()
		e := s.event(EvSpawn, ptk, 0, nil, c, child.ID())
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

// Access implements ksync.Scheduler.
func (s *scheduler) Access(t *ksync.Task, op ksync.Op, obj any) {
	if s.aborting || !s.opts.Record {
		return
	}
	c, unwinding := s.caller()
	s.event(EvAccess, s.self(t), op, obj, c, 0).Unwinding = unwinding
}

// Now implements ksync.Scheduler.
func (s *scheduler) Now() time.Duration { return s.now }

// event appends a trace event (with Record on) and returns it for
// further filling; without Record it returns a scratch event.
func (s *scheduler) event(k EventKind, tk *task, op ksync.Op, obj any, caller string, arg int) *Event {
	if !s.opts.Record {
		return &Event{}
	}
	o := s.objName(obj)
	e := Event{
		Step: len(s.trace), Time: s.now, Kind: k, Task: tk.id, TaskName: tk.t.Name(),
		Op: op, Obj: o.id, ObjName: o.name, Whole: o.whole, Caller: caller, Arg: arg,
		Point: s.executed[tk.id],
	}
	if o.whole != 0 {
		e.WholeName = s.wholeName(obj)
	}
	s.trace = append(s.trace, e)
	return &s.trace[len(s.trace)-1]
}
