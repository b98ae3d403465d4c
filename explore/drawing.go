package explore

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"uswap/sched"
)

// The short drawing: the steps of a failing run that matter, in the
// CPU columns of the seed threads' diagrams. A report shows it under the
// conflict line; the full trace is behind --full and in the HTML page,
// where these steps are highlighted.
//
// The steps that matter: the accesses of the conflicts shown (the first
// two), the locks held around them (the innermost lock each task holds
// at its access, taken and released), the failing step of a panic, and
// the sleeps and wakes between the first and the last of those. For a
// livelock, one turn of the loop that spins and what the others sleep
// on; for a deadlock, each sleeper and who last took what it waits for.
// At most maxDrawRows rows: sleeps and wakes far from the conflict go
// first, then the locks of the second conflict.

// maxDrawRows bounds the drawing.
const maxDrawRows = 25

// shownConflicts is how many conflicts the report's conflict lines and
// drawing show.
const shownConflicts = 2

// keySteps are the trace indices of the steps the drawing shows, in
// trace order.
func (r *Report) keySteps() []int {
	tr := r.Result.Trace
	type row struct{ ev, prio int }
	var rows []row
	add := func(ev, prio int) {
		if ev >= 0 && ev < len(tr) {
			rows = append(rows, row{ev, prio})
		}
	}
	f := r.Result.Failure
	switch {
	case f != nil && f.Kind == sched.Livelock && f.Loop != nil:
		for _, e := range f.Loop.Turn {
			add(e.Step, 0)
		}
		for id := range r.Result.Tasks {
			if id != f.Loop.Task {
				add(lastBlock(tr, id), 1)
			}
		}
	case f != nil && f.Kind == sched.Deadlock:
		for _, b := range f.Blocked {
			i := lastBlock(tr, b.Task)
			add(i, 0)
			if i >= 0 {
				add(lastAcquire(tr, tr[i].Obj, b.Task, i), 1)
			}
		}
	}
	for k, c := range r.Conflicts {
		if k == shownConflicts {
			break
		}
		for _, e := range c.Accesses {
			add(e.Step, k)
			if l, u := lockAround(tr, e.Step); l >= 0 {
				add(l, 1+k)
				add(u, 1+k)
			}
		}
	}
	if f != nil && f.Kind == sched.Panic {
		add(lastEvent(tr, f.Task), 0)
	}
	if len(rows) == 0 {
		return nil
	}
	lo, hi := len(tr), -1
	for _, rw := range rows {
		if rw.prio == 0 {
			lo, hi = min(lo, rw.ev), max(hi, rw.ev)
		}
	}
	for i := max(lo, 0); i <= hi && i < len(tr); i++ {
		switch tr[i].Kind {
		case sched.EvBlock, sched.EvWoken, sched.EvTimeout, sched.EvWake:
			if tr[i].Task != 0 {
				add(i, 3)
			}
		}
	}
	// Keep each step once, at its best priority.
	slices.SortFunc(rows, func(a, b row) int {
		if a.ev != b.ev {
			return a.ev - b.ev
		}
		return a.prio - b.prio
	})
	rows = slices.CompactFunc(rows, func(a, b row) bool { return a.ev == b.ev })
	if len(rows) > maxDrawRows {
		// Drop the least important, farthest from the conflict first.
		dist := func(ev int) int {
			d := len(tr)
			for _, rw := range rows {
				if rw.prio == 0 {
					d = min(d, max(ev-rw.ev, rw.ev-ev))
				}
			}
			return d
		}
		slices.SortStableFunc(rows, func(a, b row) int {
			if a.prio != b.prio {
				return a.prio - b.prio
			}
			return dist(a.ev) - dist(b.ev)
		})
		rows = rows[:maxDrawRows]
		slices.SortFunc(rows, func(a, b row) int { return a.ev - b.ev })
	}
	out := make([]int, len(rows))
	for i, rw := range rows {
		out[i] = rw.ev
	}
	return out
}

// lastEvent is the index of task's last event (before any panic
// unwinds it), or -1.
func lastEvent(tr []sched.Event, task int) int {
	for i := len(tr) - 1; i >= 0; i-- {
		if tr[i].Task == task && tr[i].Kind != sched.EvExit && !tr[i].Unwinding {
			return i
		}
	}
	return -1
}

// lastBlock is the index of task's last sleep, or -1.
func lastBlock(tr []sched.Event, task int) int {
	for i := len(tr) - 1; i >= 0; i-- {
		if tr[i].Task == task && tr[i].Kind == sched.EvBlock {
			return i
		}
	}
	return -1
}

// lastAcquire is the index of the last acquisition of obj before i by a
// task other than self, or -1.
func lastAcquire(tr []sched.Event, obj, self, i int) int {
	for j := i - 1; j >= 0; j-- {
		if e := &tr[j]; e.Obj == obj && e.Task != self && e.Kind == sched.EvPoint && e.Op.Acquires() {
			return j
		}
	}
	return -1
}

// lockAround finds the innermost lock the task of event i holds at it:
// the index of its acquisition and of its release (-1 if the task never
// released it), or -1, -1.
func lockAround(tr []sched.Event, i int) (int, int) {
	task := tr[i].Task
	var held []int // acquisitions not yet released, innermost last
	for j := 0; j < i; j++ {
		e := &tr[j]
		if e.Task != task || e.Kind != sched.EvPoint {
			continue
		}
		switch {
		case e.Op.Acquires():
			held = append(held, j)
		case e.Op.Releases():
			for k := len(held) - 1; k >= 0; k-- {
				if tr[held[k]].Obj == e.Obj {
					held = slices.Delete(held, k, k+1)
					break
				}
			}
		}
	}
	// The innermost one that the task releases later (a failed trylock
	// is never released) or still holds when it panics.
	for k := len(held) - 1; k >= 0; k-- {
		a := held[k]
		if a == i {
			continue
		}
		for j := i + 1; j < len(tr); j++ {
			e := &tr[j]
			if e.Task == task && e.Kind == sched.EvPoint && e.Op.Releases() && e.Obj == tr[a].Obj && !e.Unwinding {
				return a, j
			}
		}
		if lastEvent(tr, task) == i {
			return a, -1
		}
	}
	return -1, -1
}

// kernelFunc is an engine function in the kernel's spelling: the named
// Go function of an Event.Caller, snake-cased ("mm.(*MM).doSwapPage
// fault_swap.go:156" gives "do_swap_page").
func kernelFunc(caller string) string {
	if caller == "" {
		return ""
	}
	return snake(sched.FuncOf(caller))
}

// snake spells a Go name the kernel's way: "SwapcachePrepare" gives
// "swapcache_prepare", "unusePTE" "unuse_pte".
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// cell is what the drawing shows for an event: what it does, and in
// which function.
func cell(e *sched.Event) string {
	s := e.Text()
	if f := kernelFunc(e.Caller); f != "" && e.Kind != sched.EvNote {
		s += "  " + f
	}
	return s
}

// drawColumnMax bounds a column's width.
const drawColumnMax = 52

// writeDrawing writes the rows of steps as CPU columns, one per task
// that has a row, headed by the tasks' roles; conflict accesses are
// marked with "*".
func (r *Report) writeDrawing(b *strings.Builder, steps []int) {
	tr := r.Result.Trace
	marked := map[int]bool{}
	for k, c := range r.Conflicts {
		if k == shownConflicts {
			break
		}
		for _, e := range c.Accesses {
			marked[e.Step] = true
		}
	}
	var tasks []int
	for _, i := range steps {
		if !slices.Contains(tasks, tr[i].Task) {
			tasks = append(tasks, tr[i].Task)
		}
	}
	slices.Sort(tasks)
	width := map[int]int{}
	head := map[int]string{}
	for _, id := range tasks {
		head[id] = r.role(id)
		width[id] = len(head[id])
	}
	text := make([]string, len(steps))
	for k, i := range steps {
		text[k] = cell(&tr[i])
		if marked[i] {
			text[k] = "* " + text[k]
		} else {
			text[k] = "  " + text[k]
		}
		if rs := []rune(text[k]); len(rs) > drawColumnMax {
			text[k] = string(rs[:drawColumnMax-1]) + "…"
		}
		width[tr[i].Task] = max(width[tr[i].Task], len([]rune(text[k])))
	}
	b.WriteString("  step  ")
	for _, id := range tasks {
		b.WriteString(pad(head[id], width[id]+2))
	}
	b.WriteString("\n")
	for k, i := range steps {
		fmt.Fprintf(b, "  %4d  ", tr[i].Step)
		for _, id := range tasks {
			if id == tr[i].Task {
				b.WriteString(text[k])
				break
			}
			b.WriteString(strings.Repeat(" ", width[id]+2))
		}
		b.WriteString("\n")
	}
}

// role is a task's name in drawings.
func (r *Report) role(id int) string {
	if id < len(r.Roles) {
		return r.Roles[id]
	}
	if id < len(r.Result.Tasks) {
		return r.Result.Tasks[id]
	}
	return fmt.Sprintf("task %d", id)
}

// pad left-justifies s in width columns.
func pad(s string, width int) string {
	if n := len([]rune(s)); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s + " "
}
