package sched

import "slices"

// Explorer enumerates schedules depth-first, for tiny scenarios. It is
// stateless in the sense of model checkers such as CHESS: it keeps no
// program states, only the choices along the current path. Each run
// replays a prefix of choices and then never preempts (it keeps the
// current task, or runs the lowest runnable id when the current one
// blocks or returns). After a run, the explorer backtracks to the deepest
// decision with an alternative not yet tried whose preemption count stays
// within the bound; choosing another task while the current one could
// have gone on is one preemption.
//
// Use it as:
//
//	for e := sched.DFS(2); ; {
//		s, ok := e.Next()
//		if !ok {
//			break
//		}
//		r := sched.Run(s, opts, main)
//		...
//	}
type Explorer struct {
	bound int
	path  []dfsNode // decisions of the last run; the prefix is replayed
	runs  int
	done  bool
}

// dfsNode is one decision on the current path.
type dfsNode struct {
	current  int   // Decision.Current
	runnable []int // Decision.Runnable, copied
	choice   int   // the id taken on the current path
	tried    []int // ids already explored at this decision
	preempts int   // preemptions on the path before this decision
}

// DFS returns an Explorer bounded to preemptionBound preemptions per
// schedule.
func DFS(preemptionBound int) *Explorer { return &Explorer{bound: preemptionBound} }

// Runs is the number of schedules handed out so far.
func (e *Explorer) Runs() int { return e.runs }

// Next returns the strategy for the next schedule, or false once every
// schedule within the bound has been run. Each strategy must be used for
// exactly one Run, and that Run must end before Next is called again.
func (e *Explorer) Next() (Strategy, bool) {
	if e.done {
		return nil, false
	}
	if e.runs > 0 && !e.backtrack() {
		e.done = true
		return nil, false
	}
	e.runs++
	return &dfsRun{e: e}, true
}

// backtrack moves the path to the next unexplored schedule.
func (e *Explorer) backtrack() bool {
	for i := len(e.path) - 1; i >= 0; i-- {
		n := &e.path[i]
		canRun := n.current >= 0 && slices.Contains(n.runnable, n.current)
		for _, id := range n.runnable {
			if slices.Contains(n.tried, id) {
				continue
			}
			p := n.preempts
			if canRun && id != n.current {
				p++
			}
			if p > e.bound {
				continue
			}
			n.tried = append(n.tried, id)
			n.choice = id
			e.path = e.path[:i+1]
			return true
		}
	}
	return false
}

// dfsRun is the strategy of one run of an Explorer.
type dfsRun struct{ e *Explorer }

func (r *dfsRun) Spawned(int) {}

func (r *dfsRun) Pick(d *Decision) int {
	e := r.e
	if d.Index < len(e.path) {
		// Replaying the prefix: the program is deterministic, so the
		// decision is the same as on the previous run.
		return e.path[d.Index].choice
	}
	preempts := 0
	if d.Index > 0 {
		prev := &e.path[d.Index-1]
		preempts = prev.preempts
		if prev.current >= 0 && prev.choice != prev.current && slices.Contains(prev.runnable, prev.current) {
			preempts++
		}
	}
	c := defaultPick(d)
	e.path = append(e.path, dfsNode{
		current:  d.Current,
		runnable: slices.Clone(d.Runnable),
		choice:   c,
		tried:    []int{c},
		preempts: preempts,
	})
	return c
}
