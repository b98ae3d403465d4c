package explore

import (
	"fmt"
	"slices"
	"strings"

	"uswap/invariant"
	"uswap/ksync"
	"uswap/sched"
)

// The conflict. A race is two tasks touching one object in an order the
// code did not expect. From the reported run's trace, the explorer finds
// the pairs of accesses by two tasks to one object, at least one of them
// a write, that follow each other on that object (for a lock: two
// acquisitions, the order of the critical sections), and keeps those
// whose order decides the failure: it runs the same schedule with the
// pair swapped, and the failure goes away.
//
// A schedule is swapped on its scheduling points, by task (sched.Order):
// the second task's points up to the one that makes its access are moved
// just before the point of the first task that precedes the first
// access; everything else keeps its order. When the program cannot go
// that way (the second task sleeps until the first one moves), the
// replay falls back to the old order, the failure stays, and the pair is
// not kept. A swap "decides" when the swapped run passes, fails another
// way, or (a use after free) panics at the same site only further on in
// the task's program: the access swapped went through.
//
// The report shows the pattern the seed threads draw when it is there:
// one task's two accesses to an object with another task's write between
// them, each pair deciding (an atomicity violation: "B reads the PTE,
// C writes it, B reads it again and cannot tell"). Otherwise it shows
// the deciding pairs, data before locks.
//
// Plain data guarded by a lock (swap_map bytes, cluster counts, swap
// table slots, the shmem index) is not a scheduling point; the engine
// annotates its accesses (ksync.Access) and the trace carries them, so
// that such a byte can be the object of a conflict. An access to part of
// an object (a swap_map byte) also reads the whole (the map pointer),
// so that freeing the whole conflicts with it.

// Conflict is two or three accesses to one object by two tasks whose
// order decides a failure: a pair, or a task's two accesses with the
// other task's access between them (both pairs deciding).
type Conflict struct {
	// Object is what the accesses touch: the whole, when one touched
	// a part of it (the event's ObjName then says which part).
	Object string
	// Accesses are the events in the order of the failing run.
	Accesses []sched.Event
	// Swapped says, for each adjacent pair of Accesses, what the run
	// with the two swapped did: "" when it passed, else what failed.
	Swapped []string
}

// Outcomes of a swap, best first.
const (
	swapPasses = iota
	swapFailsOtherwise
	swapFailsLater
)

// decided is a pair whose swap decides the failure.
type decided struct {
	first, second int // indices into the trace
	outcome       int
	what          string // the swapped run's failure, if any
}

// maxConflictRuns bounds the replays of one conflict search.
const maxConflictRuns = 600

// access is one access of the trace, with what it touches.
type access struct {
	obj   int  // object id
	write bool // changes obj (or takes it, for a lock)
	lock  bool // a lock acquisition
}

// findConflicts returns the conflicts of the failing, recorded run r,
// most telling first, or a note saying why there are none.
func findConflicts(rn *sched.Runner, sc *Scenario, env Env, r sched.Result, pm invariant.ID) ([]Conflict, string) {
	if r.Deviations == 0 {
		return nil, "the failure needs no interleaving: the run that never preempts fails"
	}
	key := failureKey(r, pm)
	steps := sched.Steps(r.Trace)
	// The unswapped order must replay the failure, or nothing can be
	// learned by swapping it.
	if base, _, err := runOn(rn, sc, env, sched.Order(steps), false); err != nil || failureKey(base, pm) != key {
		return nil, "replaying the schedule by task order does not reproduce the failure"
	}
	data, locks := candidatePairs(r.Trace)
	held := heldLocks(r.Trace)
	var dec []decided
	runs := 0
	try := func(pairs [][2]int) {
		for _, p := range pairs {
			if runs >= maxConflictRuns {
				return
			}
			// Accesses under a lock both tasks hold swap with their
			// critical sections: the second task goes before the first
			// takes the lock.
			first := p[0]
			if a := commonLock(r.Trace, held, p[0], p[1]); a >= 0 {
				first = a
			}
			swapped, ok := swapOrder(steps, &r.Trace[first], &r.Trace[p[1]])
			if !ok {
				continue
			}
			runs++
			res, _, err := runOn(rn, sc, env, sched.Order(swapped), false)
			if err != nil {
				continue
			}
			d := decided{first: p[0], second: p[1], outcome: swapPasses}
			switch {
			case res.Failure == nil:
			case failureKey(res, pm) != key:
				d.outcome, d.what = swapFailsOtherwise, failureText(res, pm)
			case res.Failure.Kind == sched.Panic && r.Failure.Kind == sched.Panic &&
				res.Failure.Task == r.Failure.Task && res.Failure.Point > r.Failure.Point:
				// The access swapped went through; the task failed the
				// same way further on (a use after free at its next
				// access).
				d.outcome, d.what = swapFailsLater, fmt.Sprintf("%s goes past it and fails the same way further on", res.Failure.TaskName)
			default:
				continue
			}
			dec = append(dec, d)
		}
	}
	try(data)
	if len(dec) == 0 {
		// Lock orders only when no data race decides.
		try(locks)
	}
	if len(dec) == 0 {
		return nil, fmt.Sprintf("no swap of two conflicting accesses (%d tried) makes the failure go away", runs)
	}
	return pickConflicts(r.Trace, dec), ""
}

// failureText is a run's failure in a few words.
func failureText(r sched.Result, pm invariant.ID) string {
	if vs := (&Report{Result: r, PanicMeans: pm}).Violations(); len(vs) > 0 {
		return vs[0].String()
	}
	return r.Failure.Kind.String()
}

// pickConflicts chooses what to show: the best atomicity violations
// (one task's two accesses to an object with the other tasks' writes to
// it between them, the pair that opens the window and the pair that
// closes it both deciding), on distinct objects; else the best pairs on
// distinct objects.
func pickConflicts(tr []sched.Event, dec []decided) []Conflict {
	type cand struct {
		c     Conflict
		score []int // higher first, compared in order
	}
	var cands []cand
	object := func(a, b int) string { return commonObject(&tr[a], &tr[b]) }
	for _, p := range dec {
		for _, q := range dec {
			y := tr[p.first].Task
			if tr[q.second].Task != y || p.second > q.first || q.second <= p.first || tr[p.second].Task == y ||
				object(p.first, p.second) != object(q.first, q.second) {
				continue
			}
			obj := object(p.first, p.second)
			mid, ok := between(tr, p.first, q.second, y, obj)
			if !ok {
				continue
			}
			c := Conflict{Object: obj, Swapped: []string{p.what, q.what}}
			c.Accesses = append(c.Accesses, tr[p.first])
			for _, m := range mid {
				c.Accesses = append(c.Accesses, tr[m])
			}
			c.Accesses = append(c.Accesses, tr[q.second])
			// A window that closes on a read (the task acts on what
			// it saw, stale: pte_same, a swap count) before one that
			// closes on a write; the first access that sees the other
			// tasks' writes, where the window closes.
			cands = append(cands, cand{c, []int{1, dataScore(&c), reads(&tr[q.second]), -p.outcome - q.outcome, -q.second, -p.first}})
		}
	}
	for _, p := range dec {
		c := Conflict{
			Object:   object(p.first, p.second),
			Accesses: []sched.Event{tr[p.first], tr[p.second]},
			Swapped:  []string{p.what},
		}
		cands = append(cands, cand{c, []int{0, dataScore(&c), reads(&tr[p.second]), -p.outcome, p.second, 0}})
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return slices.Compare(b.score, a.score) })
	var out []Conflict
	for _, c := range cands {
		if len(out) == shownConflicts {
			break
		}
		if slices.ContainsFunc(out, func(o Conflict) bool { return o.Object == c.c.Object }) {
			continue
		}
		out = append(out, c.c)
	}
	return out
}

// maxMiddle bounds the other tasks' writes a conflict line lists.
const maxMiddle = 6

// between lists the writes to object obj by tasks other than y strictly
// between trace indices a and b; it reports false if y itself touches
// obj there (a and b are then not one window).
func between(tr []sched.Event, a, b, y int, obj string) ([]int, bool) {
	var mid []int
	for i := a + 1; i < b; i++ {
		e := &tr[i]
		if e.Unwinding || (e.ObjName != obj && e.WholeName != obj) {
			continue
		}
		if e.Kind != sched.EvPoint && e.Kind != sched.EvAccess {
			continue
		}
		if e.Task == y {
			return nil, false
		}
		if e.Task != 0 && e.Op.Writes() && !e.Op.Releases() && len(mid) < maxMiddle {
			mid = append(mid, i)
		}
	}
	return mid, len(mid) > 0
}

// reads is 1 for an access that only reads its object.
func reads(e *sched.Event) int {
	if e.Op.Writes() {
		return 0
	}
	return 1
}

// dataScore is 1 when no access of the conflict takes a lock and its
// object has a kernel name: data races read better than lock orders.
func dataScore(c *Conflict) int {
	if strings.Contains(c.Object, "#") {
		return 0
	}
	for i := range c.Accesses {
		if c.Accesses[i].Op.Acquires() {
			return 0
		}
	}
	return 1
}

// commonObject is the object both events touch: the same one, or the
// whole one of them is part of.
func commonObject(a, b *sched.Event) string {
	switch {
	case a.Obj == b.Obj:
		return a.ObjName
	case a.Whole != 0 && a.Whole == b.Obj:
		return b.ObjName
	case b.Whole != 0 && b.Whole == a.Obj:
		return a.ObjName
	}
	return a.WholeName
}

// accessesOf lists what an event touches: its object (a write if its
// operation changes it), and the whole its object is part of (a read).
// Scheduling points that only sleep or yield touch nothing, a release
// orders nothing a swap could change (the next holder's acquisition
// pairs with this holder's), and the main task (the setup) is left out,
// as are operations made while a panic unwinds.
func accessesOf(e *sched.Event) []access {
	if e.Task == 0 || e.Obj == 0 || e.Unwinding {
		return nil
	}
	switch e.Kind {
	case sched.EvAccess:
	case sched.EvPoint:
		switch {
		case e.Op == ksync.OpResched, e.Op == ksync.OpSleep, e.Op == ksync.OpWait,
			e.Op == ksync.OpRefWait, e.Op == ksync.OpBitWait, e.Op.Releases():
			return nil
		}
	default:
		return nil
	}
	as := []access{{obj: e.Obj, write: e.Op.Writes(), lock: e.Op.Acquires()}}
	if e.Whole != 0 {
		as = append(as, access{obj: e.Whole})
	}
	return as
}

// candidatePairs lists the pairs of events (indices into the trace)
// that conflict and follow each other on their object: for each access,
// the latest earlier access to the object by each other task, if one of
// the two writes (data); for a lock acquisition, the latest earlier
// acquisition of the lock by each other task (locks). Each list has the
// latest second access first, the ones nearest the failure.
func candidatePairs(trace []sched.Event) (data, locks [][2]int) {
	type hist struct{ any, write, lock int }
	last := map[[2]int]*hist{} // by (object, task)
	tasks := 0
	for i := range trace {
		tasks = max(tasks, trace[i].Task+1)
	}
	seen := map[[2]int]bool{}
	for i := range trace {
		as := accessesOf(&trace[i])
		for _, a := range as {
			for other := 1; other < tasks; other++ {
				h := last[[2]int{a.obj, other}]
				if other == trace[i].Task || h == nil {
					continue
				}
				prev := h.write
				switch {
				case a.lock:
					prev = h.lock
				case a.write:
					prev = h.any
				}
				if p := [2]int{prev, i}; prev >= 0 && !seen[p] {
					seen[p] = true
					if a.lock {
						locks = append(locks, p)
					} else {
						data = append(data, p)
					}
				}
			}
		}
		for _, a := range as {
			k := [2]int{a.obj, trace[i].Task}
			h := last[k]
			if h == nil {
				h = &hist{-1, -1, -1}
				last[k] = h
			}
			h.any = i
			if a.write {
				h.write = i
			}
			if a.lock {
				h.lock = i
			}
		}
	}
	slices.Reverse(data)
	slices.Reverse(locks)
	return data, locks
}

// heldLocks lists, for each event, the acquisitions (trace indices) of
// the locks its task holds at it, outermost first. A trylock counts as
// taken if its task later releases the lock.
func heldLocks(tr []sched.Event) [][]int {
	out := make([][]int, len(tr))
	held := map[int][]int{} // by task
	for i := range tr {
		e := &tr[i]
		out[i] = held[e.Task]
		if e.Kind != sched.EvPoint || e.Unwinding {
			continue
		}
		switch {
		case e.Op.Acquires():
			if e.Op == ksync.OpTryLock || e.Op == ksync.OpBitTryLock || e.Op == ksync.OpTryRLock {
				if !releasedLater(tr, i) {
					continue
				}
			}
			held[e.Task] = append(slices.Clone(held[e.Task]), i)
		case e.Op.Releases():
			h := held[e.Task]
			for k := len(h) - 1; k >= 0; k-- {
				if tr[h[k]].Obj == e.Obj {
					held[e.Task] = slices.Delete(slices.Clone(h), k, k+1)
					break
				}
			}
		}
	}
	return out
}

// releasedLater reports whether the task of acquisition i releases its
// object before it acquires it again.
func releasedLater(tr []sched.Event, i int) bool {
	for j := i + 1; j < len(tr); j++ {
		if e := &tr[j]; e.Task == tr[i].Task && e.Obj == tr[i].Obj && e.Kind == sched.EvPoint {
			return e.Op.Releases()
		}
	}
	return false
}

// commonLock is the acquisition, by the first event's task, of the
// outermost lock that both events' tasks hold at them, or -1.
func commonLock(tr []sched.Event, held [][]int, first, second int) int {
	for _, a := range held[first] {
		for _, b := range held[second] {
			if tr[a].Obj == tr[b].Obj {
				return a
			}
		}
	}
	return -1
}

// swapOrder moves, in steps, the points of second's task that lead to
// second before the point of first's task that precedes first. It
// reports false when the pair cannot be expressed so.
func swapOrder(steps []sched.Step, first, second *sched.Event) ([]sched.Step, bool) {
	x, y := first.Task, second.Task
	at := func(task, point int) int {
		return slices.Index(steps, sched.Step{Task: task, Point: point})
	}
	i1 := at(x, max(first.Point, 1))
	if i1 < 0 {
		return nil, false
	}
	var moved []sched.Step
	if second.Point > 0 {
		i2 := at(y, second.Point)
		if i2 < i1 {
			return nil, false
		}
		for _, st := range steps[i1 : i2+1] {
			if st.Task == y {
				moved = append(moved, st)
			}
		}
	} else {
		// second happens before y's first point: starting y is what
		// makes it happen.
		moved = []sched.Step{{Task: y, Point: 0}}
	}
	out := make([]sched.Step, 0, len(steps)+1)
	out = append(out, steps[:i1]...)
	out = append(out, moved...)
	for _, st := range steps[i1:] {
		if st.Task != y || !slices.Contains(moved, st) {
			out = append(out, st)
		}
	}
	return out, true
}
