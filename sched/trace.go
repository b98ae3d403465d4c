package sched

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode"

	"uswap/ksync"
)

// EventKind says what an Event records.
type EventKind uint8

const (
	EvPoint   EventKind = iota + 1 // the task passed a scheduling point and performs Op on Obj
	EvBlock                        // the task sleeps on Obj
	EvWoken                        // the task was woken and runs again
	EvTimeout                      // the task's sleep timed out and it runs again
	EvWake                         // the task woke Arg sleepers on Obj
	EvSpawn                        // the task spawned task Arg
	EvExit                         // the task returned
	EvNote                         // an annotation from the engine (ksync.Note)
	EvAccess                       // the task read or wrote plain data Obj (ksync.Access): not a point
)

var kindNames = [...]string{
	EvPoint: "point", EvBlock: "block", EvWoken: "woken", EvTimeout: "timeout",
	EvWake: "wake", EvSpawn: "spawn", EvExit: "exit", EvNote: "note", EvAccess: "access",
}

func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "event?"
}

// Event is one row of a trace.
type Event struct {
	Step     int           // index of the event in the trace
	Time     time.Duration // virtual clock
	Kind     EventKind
	Task     int
	TaskName string
	Op       ksync.Op // EvPoint, EvBlock, EvAccess
	Obj      int      // object id by first appearance, from 1; 0 if none
	ObjName  string
	// Whole and WholeName are the object Obj is part of (a swap_map
	// byte's map, see ksync.Part): 0 and "" if none.
	Whole     int
	WholeName string
	Caller    string // engine function and file:line that reached the point
	Note      string // EvNote text; EvSpawn child name
	Arg       int    // EvWake: sleepers woken; EvSpawn: child id
	// Unwinding marks an operation made by a deferred call while a
	// panic unwinds the task; Caller is then the panicking function.
	Unwinding bool
	// Point is the task's own count of steps, its scheduling points and
	// its returns from sleeps: for EvPoint, EvWoken and EvTimeout the
	// number of this step (from 1), for other events the number of steps
	// the task had passed (0 before its first). Together with Task it
	// places the event in the task's program order, whatever the other
	// tasks do: see Order.
	Point int
}

// String formats the event on one line.
func (e *Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5d %s[%d] ", e.Step, e.TaskName, e.Task)
	b.WriteString(e.Text())
	if e.Caller != "" {
		b.WriteString("  @ ")
		b.WriteString(e.Caller)
	}
	return b.String()
}

// Text is the event without task and caller: what a timeline cell shows.
func (e *Event) Text() string {
	if e.Unwinding {
		return e.text() + " (unwinding the panic)"
	}
	return e.text()
}

func (e *Event) text() string {
	switch e.Kind {
	case EvPoint:
		return e.Op.String() + " " + e.ObjName
	case EvBlock:
		return "sleep(" + e.Op.String() + ") on " + e.ObjName
	case EvWoken:
		return "woken"
	case EvTimeout:
		return "timed out"
	case EvWake:
		return fmt.Sprintf("wake %d on %s", e.Arg, e.ObjName)
	case EvSpawn:
		return fmt.Sprintf("spawn %s[%d]", e.Note, e.Arg)
	case EvExit:
		return "exit"
	case EvNote:
		return "» " + e.Note
	case EvAccess:
		return e.Op.String() + " " + e.ObjName
	}
	return e.Kind.String()
}

// FailureKind classifies a failed run.
type FailureKind uint8

const (
	Panic       FailureKind = iota + 1 // a task panicked
	Deadlock                           // no task can run and none has a timeout
	Livelock                           // the step cap was reached
	CheckFailed                        // Options.Check returned an error
)

func (k FailureKind) String() string {
	switch k {
	case Panic:
		return "panic"
	case Deadlock:
		return "deadlock"
	case Livelock:
		return "livelock"
	case CheckFailed:
		return "check failed"
	}
	return "failure?"
}

// Failure says why a run failed.
type Failure struct {
	Kind     FailureKind
	Task     int // the task that panicked; -1 otherwise
	TaskName string
	// Point is, for a panic, the number of scheduling points the task
	// had passed (Event.Point): where in its program it panicked.
	Point   int
	Value   any    // the panic value
	Stack   string // the panicking goroutine's stack
	Message string
	Err     error   // CheckFailed: the error Options.Check returned
	Blocked []Event // Deadlock: the EvBlock event of every sleeping task
	// Loop is, for a Livelock of a recorded run, the cycle a task kept
	// repeating and what it waited for; nil when none was found.
	Loop *Loop
}

func (f *Failure) Error() string { return f.String() }

func (f *Failure) String() string {
	s := f.Kind.String() + ": " + f.Message
	for i := range f.Blocked {
		s += "\n\t" + f.Blocked[i].String()
	}
	return s
}

// Result is the outcome of one Run.
type Result struct {
	// Choices are the task picked at every decision (a point where more
	// than one task could run): Replay(Choices) reproduces the run.
	Choices     []int
	Trace       []Event // nil unless Options.Record
	Steps       int     // scheduling points passed
	Failure     *Failure
	VirtualTime time.Duration
	Tasks       []string // task names by id
	// Preemptions counts the decisions that stopped a task that could
	// have gone on; Deviations those that took another task than the
	// non-preemptive default (keep the current task, else the lowest
	// runnable id). Choices[:LastDeviation] replays the run: past it
	// every choice is the default.
	Preemptions   int
	Deviations    int
	LastDeviation int
	// MainPoints are the points task 0 passed, and the sleeps it
	// returned from: with Steps and VirtualTime, where a run of main
	// alone leaves the scheduler (Prefix).
	MainPoints int
}

// Prefix is where a run of task 0 alone, which made no decision, left
// the scheduler: Options.After starts another run there.
func (r Result) Prefix() (Prefix, bool) {
	if len(r.Tasks) != 1 || len(r.Choices) != 0 || r.Failure != nil {
		return Prefix{}, false
	}
	return Prefix{Steps: r.Steps, Now: r.VirtualTime, MainPoints: r.MainPoints}, true
}

var internalPrefixes = []string{
	reflect.TypeOf(ksync.Task{}).PkgPath() + ".",
	reflect.TypeOf(Event{}).PkgPath() + ".",
	"runtime.",
	"iter.", // the coroutines that run the tasks
}

// internalFunc reports whether a frame is the machinery's, not the
// engine function a trace should show: ksync, sched, the runtime, the
// coroutines, and the engine's annotation helpers, which are named
// traceX (traceMapRead: see ksync.Access).
func internalFunc(fn string) bool {
	for _, p := range internalPrefixes {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	name := FuncOf(fn)
	return len(name) > 5 && strings.HasPrefix(name, "trace") && unicode.IsUpper(rune(name[5]))
}

// caller returns the first engine frame on the stack of the running task,
// as "pkg.Func file.go:line"; frames are resolved once per program counter.
//
// An operation made by a deferred call while a panic unwinds the task
// (a deferred unlock) has runtime.gopanic between it and the engine
// frames that are still on the stack, which are the panicking
// function's, not the deferring one's: unwinding reports it, and the
// trace marks the event.
func (s *scheduler) caller() (caller string, unwinding bool) {
	n := runtime.Callers(3, s.pcs[:])
	for _, pc := range s.pcs[:n] {
		c, ok := s.pcNames[pc]
		if !ok {
			c = resolvePC(pc)
			s.pcNames[pc] = c
		}
		switch c {
		case "":
		case panicFrame:
			unwinding = true
		default:
			return c, unwinding
		}
	}
	return "", unwinding
}

// panicFrame is what resolvePC returns for runtime.gopanic.
const panicFrame = "\x00gopanic"

// resolvePC names the outermost non-internal frame of pc's inlining tree
// that is closest to the call, or "" if every frame there is internal.
func resolvePC(pc uintptr) string {
	frames := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			return panicFrame
		}
		if f.Function != "" && !internalFunc(f.Function) {
			fn := f.Function
			if i := strings.LastIndex(fn, "/"); i >= 0 {
				fn = fn[i+1:]
			}
			file := f.File
			if i := strings.LastIndex(file, "/"); i >= 0 {
				file = file[i+1:]
			}
			return fmt.Sprintf("%s %s:%d", fn, file, f.Line)
		}
		if !more {
			return ""
		}
	}
}

// objName names obj by first appearance: with the Namer's name, or
// else its type and "#id". An annotation key that is part of a larger
// object (ksync.Part) records that object too.
func (s *scheduler) objName(obj any) objInfo {
	if obj == nil {
		return objInfo{}
	}
	o, seen := s.objs[obj]
	if seen && (o.named || s.opts.Namer == nil) {
		return o
	}
	id := len(s.objs) + 1
	if seen {
		id = o.id
	}
	name := ""
	if s.opts.Namer != nil {
		// A Namer may learn names as the run goes (a scenario's setup
		// builds the objects before it can name them): an object it
		// did not name is asked again when it shows up again.
		name = s.opts.Namer(obj)
	}
	if seen && name == "" {
		return o
	}
	named := name != ""
	if tn, ok := obj.(interface{ TraceName() string }); ok && name == "" {
		name, named = tn.TraceName(), true
	}
	if name == "" {
		name = reflect.TypeOf(obj).String()
		name = strings.TrimLeft(name, "*")
		if i := strings.LastIndex(name, "."); i >= 0 && !strings.Contains(name, "[") {
			name = name[i+1:]
		}
		name = fmt.Sprintf("%s#%d", name, id)
	}
	o = objInfo{id: id, name: name, named: named}
	s.objs[obj] = o // before the whole's lookup, which may add objects
	if p, ok := obj.(ksync.Part); ok {
		o.whole = s.objName(p.Whole()).id
		s.objs[obj] = o
	}
	if seen {
		// Named at last: the events before say so too.
		s.rename(id, name)
	}
	return o
}

// rename gives object id its name in the events recorded so far.
func (s *scheduler) rename(id int, name string) {
	for i := range s.trace {
		e := &s.trace[i]
		if e.Obj == id {
			e.ObjName = name
		}
		if e.Whole == id {
			e.WholeName = name
		}
	}
}

// nameLate asks the Namer, at the end of a recorded run, for the objects
// it could not name when they showed up and that did not show up again
// (a swap device's reference killed before the device is published), in
// order of first appearance, and renames them in the trace.
func (s *scheduler) nameLate() {
	if s.opts.Namer == nil {
		return
	}
	type unnamed struct {
		id  int
		obj any
	}
	var late []unnamed
	for obj, o := range s.objs {
		if !o.named {
			late = append(late, unnamed{o.id, obj})
		}
	}
	slices.SortFunc(late, func(a, b unnamed) int { return a.id - b.id })
	for _, u := range late {
		if name := s.opts.Namer(u.obj); name != "" {
			o := s.objs[u.obj]
			o.name, o.named = name, true
			s.objs[u.obj] = o
			s.rename(u.id, name)
		}
	}
}

// wholeName is the name of the object obj is part of.
func (s *scheduler) wholeName(obj any) string {
	if p, ok := obj.(ksync.Part); ok {
		return s.objName(p.Whole()).name
	}
	return ""
}
