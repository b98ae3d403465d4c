package sched

import (
	"fmt"
	"strings"

	"uswap/ksync"
)

// Loop is what a run that never ended (a Livelock failure) kept doing at
// the end of its trace: the cycle of points one task repeated, what that
// cycle waited for, and what the other tasks did meanwhile. A task that
// keeps failing a trylock, or keeps sleeping a tick and refaulting on
// the same entry, shows up here with the functions and objects of one
// turn of its loop.
type Loop struct {
	Task     int
	TaskName string
	// Turn is one turn of the cycle, oldest first; Turns is how many
	// times it repeated, back from the end of the trace.
	Turn  []Event
	Turns int
	// Waits names what the turn tests and finds unchanged (a failed
	// trylock, a load, a bit it waits on), each with the task that holds
	// it or last changed it.
	Waits []string
	// Others says what each other live task did meanwhile.
	Others []string
	// Starved is set when another task made progress while this one
	// looped (starvation); otherwise no task did (a livelock).
	Starved bool
}

// Kind is "livelock" or "starvation".
func (l *Loop) Kind() string {
	if l.Starved {
		return "starvation"
	}
	return "livelock"
}

// Funcs lists the engine functions of one turn, in order, each once.
func (l *Loop) Funcs() []string {
	var out []string
	for i := range l.Turn {
		if f := FuncOf(l.Turn[i].Caller); f != "" && !contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// String says it in one line: who loops where, on what, and why nothing
// ends it (Kind says whether it is a livelock or starvation).
func (l *Loop) String() string {
	var objs []string
	for i := range l.Turn {
		e := &l.Turn[i]
		if e.ObjName != "" && (e.Kind == EvPoint || e.Kind == EvAccess) {
			s := e.Op.String() + " " + e.ObjName
			if !contains(objs, s) {
				objs = append(objs, s)
			}
		}
	}
	s := fmt.Sprintf("%s repeats a cycle of %d steps (%d times at the end) in %s: %s",
		l.TaskName, len(l.Turn), l.Turns, strings.Join(l.Funcs(), " > "), strings.Join(objs, ", "))
	if len(l.Waits) > 0 {
		s += "; it waits for " + strings.Join(l.Waits, ", ")
	}
	if len(l.Others) > 0 {
		s += "; meanwhile " + strings.Join(l.Others, ", ")
	}
	return s
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// FuncOf is the bare name of the named function of an Event.Caller, or
// of a function name: "swap.(*Core).swapEntryPut count.go:265" gives
// "swapEntryPut", a closure "mm.(*MM).Exit.func1.2" gives "Exit".
func FuncOf(caller string) string {
	fn, _, _ := strings.Cut(caller, " ")
	if i := strings.LastIndex(fn, "/"); i >= 0 {
		fn = fn[i+1:]
	}
	parts := strings.Split(fn, ".")
	for k := len(parts) - 1; k > 0; k-- {
		p := parts[k]
		if p == "" || strings.HasPrefix(p, "(") || strings.TrimLeft(p, "0123456789") == "" ||
			(strings.HasPrefix(p, "func") && strings.TrimLeft(p[4:], "0123456789") == "") {
			continue
		}
		return p
	}
	return parts[len(parts)-1]
}

// loopWindow is how far back from the end of a trace findLoop looks.
const loopWindow = 8192

// maxPeriod bounds the cycle length findLoop tries.
const maxPeriod = 256

// sig is what makes two events of one task "the same step" of a loop.
type sig struct {
	kind   EventKind
	op     ksync.Op
	obj    int
	caller string
}

// findLoop finds the cycle of a livelocked trace: for each task still
// alive, the shortest period with which its events at the end of the
// trace repeat (at least three turns, covering at least half of its
// events in the window); the looping task reported is the one with the
// most events in the window.
func findLoop(trace []Event, tasks []string) *Loop {
	start := max(0, len(trace)-loopWindow)
	win := trace[start:]
	alive := make([]bool, len(tasks))
	for i := range alive {
		alive[i] = true
	}
	for i := range trace {
		if trace[i].Kind == EvExit {
			alive[trace[i].Task] = false
		}
	}
	byTask := make([][]int, len(tasks)) // indices into win
	for i := range win {
		switch win[i].Kind {
		case EvPoint, EvBlock, EvWoken, EvTimeout, EvAccess, EvWake:
			byTask[win[i].Task] = append(byTask[win[i].Task], i)
		}
	}
	period := make([]int, len(tasks))
	turns := make([]int, len(tasks))
	best := -1
	for id := range tasks {
		if !alive[id] {
			continue
		}
		sigs := make([]sig, len(byTask[id]))
		for j, i := range byTask[id] {
			e := &win[i]
			sigs[j] = sig{e.Kind, e.Op, e.Obj, e.Caller}
		}
		period[id], turns[id] = findPeriod(sigs)
		if period[id] > 0 && (best < 0 || len(byTask[id]) > len(byTask[best])) {
			best = id
		}
	}
	if best < 0 {
		return nil
	}
	idx := byTask[best]
	l := &Loop{Task: best, TaskName: tasks[best], Turns: turns[best]}
	for _, i := range idx[len(idx)-period[best]:] {
		l.Turn = append(l.Turn, win[i])
	}
	l.Waits = waitsOf(trace, l)
	// What the others did while the loop repeated.
	from := idx[len(idx)-period[best]*turns[best]]
	for id := range tasks {
		if id == best || !alive[id] {
			continue
		}
		n := 0
		for _, i := range byTask[id] {
			if i > from {
				n++
			}
		}
		switch {
		case period[id] > 0:
			l.Others = append(l.Others, fmt.Sprintf("%s loops too (a cycle of %d steps)", tasks[id], period[id]))
		case n == 0:
			l.Others = append(l.Others, idle(trace, id, tasks[id]))
		default:
			l.Starved = true
			l.Others = append(l.Others, fmt.Sprintf("%s makes progress (%d steps meanwhile)", tasks[id], n))
		}
	}
	return l
}

// findPeriod returns the shortest period p of the end of s with at least
// three turns covering half of s, and the number of turns; 0, 0 if none.
func findPeriod(s []sig) (int, int) {
	for p := 1; p <= maxPeriod && 3*p <= len(s); p++ {
		k := 0
		for i := len(s) - 1; i-p >= 0 && s[i] == s[i-p]; i-- {
			k++
		}
		if n := k + p; n >= 3*p && 2*n >= len(s) {
			return p, n / p
		}
	}
	return 0, 0
}

// idle says what a task that took no step at the end of the trace was
// doing: asleep on an object since its last block, or runnable and
// never chosen.
func idle(trace []Event, id int, name string) string {
	for i := len(trace) - 1; i >= 0; i-- {
		e := &trace[i]
		if e.Task != id {
			continue
		}
		if e.Kind == EvBlock {
			return fmt.Sprintf("%s sleeps on %s in %s (since step %d)", name, e.ObjName, FuncOf(e.Caller), e.Step)
		}
		break
	}
	return name + " could run but was never chosen"
}

// waitsOf names what a loop's turn waits for: the objects it tests
// without changing (trylocks, loads, reads, bit waits), each with the
// other task that holds it (a lock acquired and not released) or last
// changed it.
func waitsOf(trace []Event, l *Loop) []string {
	var out []string
	seen := map[int]bool{}
	for i := range l.Turn {
		e := &l.Turn[i]
		switch {
		case e.Kind == EvPoint && (e.Op == ksync.OpTryLock || e.Op == ksync.OpBitTryLock || e.Op == ksync.OpTryRLock ||
			e.Op == ksync.OpLoad || e.Op == ksync.OpCmpXchg || e.Op == ksync.OpBitWait || e.Op == ksync.OpWait):
		case e.Kind == EvAccess && e.Op == ksync.OpRead:
		case e.Kind == EvBlock && e.Op != ksync.OpSleep:
		default:
			continue
		}
		if e.Obj == 0 || seen[e.Obj] {
			continue
		}
		seen[e.Obj] = true
		out = append(out, e.ObjName+holder(trace, e.Obj, l.Task))
	}
	return out
}

// holder says which other task holds lock obj (its last operation on it
// took it) or, for data, last changed it.
func holder(trace []Event, obj, self int) string {
	for i := len(trace) - 1; i >= 0; i-- {
		e := &trace[i]
		if e.Obj != obj || e.Task == self || (e.Kind != EvPoint && e.Kind != EvAccess) {
			continue
		}
		switch {
		case e.Op.Acquires():
			return fmt.Sprintf(" (held by %s since %s, step %d)", e.TaskName, FuncOf(e.Caller), e.Step)
		case e.Op.Releases():
			return ""
		case e.Op.Writes():
			return fmt.Sprintf(" (last changed by %s in %s, step %d)", e.TaskName, FuncOf(e.Caller), e.Step)
		}
	}
	return ""
}
