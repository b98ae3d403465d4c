package sched

import (
	"math/rand/v2"
	"slices"
)

// Decision describes one choice the scheduler asks a Strategy to make.
type Decision struct {
	// Index is the number of decisions made before this one in the run.
	Index int
	// Step is the number of scheduling points passed in the run so far
	// (Result.Steps at this moment).
	Step int
	// Current is the id of the task that reached the point and could go
	// on running, or -1 when it blocked or returned.
	Current int
	// Runnable holds the ids of the tasks that may run, in increasing
	// order; it always has two or more: where only one task can run
	// there is nothing to decide, and no decision is made. The slice is
	// reused: do not keep it.
	Runnable []int
	// Executed is, by task id, the number of steps the task has passed
	// (Event.Point: its scheduling points and returns from sleeps), or
	// -1 before it first ran; Current has not passed the point it stands
	// at. The slice is the scheduler's: do not keep or change it.
	Executed []int
}

// A Strategy picks the next task at each decision. Implementations need
// no locking: the scheduler calls them from one task at a time.
type Strategy interface {
	// Spawned is called when task id is created (0 is the main task).
	Spawned(id int)
	// Pick returns the id of the task to run, one of d.Runnable.
	Pick(d *Decision) int
}

func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
}

// Random returns a random walk: at every decision, a task chosen
// uniformly among the runnable ones.
func Random(seed int64) Strategy { return &randomWalk{rng: newRand(seed)} }

type randomWalk struct{ rng *rand.Rand }

func (r *randomWalk) Spawned(int) {}

func (r *randomWalk) Pick(d *Decision) int {
	return d.Runnable[r.rng.IntN(len(d.Runnable))]
}

// PCT returns probabilistic concurrency testing (Burckhardt et al., 2010):
// every task gets a random distinct priority when it is spawned, and
// depth-1 change points are drawn among the steps [1, steps) counted
// from the first decision (steps is the length of the racing part of a
// run: the points a non-preemptive run passes after its first decision).
// The highest-priority runnable task runs; at the first decision at or
// after a change point the current task's priority drops below every
// other. Past steps the strategy turns into a fair random walk, so that
// back-off-and-retry loops, which strict priorities would starve
// forever, end.
//
// Change points are placed by step, as the paper's k counts instructions,
// and not by decision: a stretch where one task runs alone (another
// sleeps, or returned) makes no decisions, but it is part of the run a
// change point must be able to land after.
func PCT(seed int64, depth, steps int) Strategy {
	p := &pct{rng: newRand(seed), steps: steps, base: -1}
	if steps > 1 {
		for i := 0; i < depth-1; i++ {
			p.changes = append(p.changes, 1+p.rng.IntN(steps-1))
		}
	}
	slices.Sort(p.changes)
	return p
}

type pct struct {
	rng     *rand.Rand
	steps   int
	base    int     // Decision.Step of the first decision; -1 before it
	changes []int   // sorted steps (from base) where the current task drops
	prio    []int64 // by task id; higher runs first
	low     int64   // the last demoted priority; all demotions are <= 0
}

func (p *pct) Spawned(id int) {
	for len(p.prio) <= id {
		p.prio = append(p.prio, 0)
	}
	// Positive and distinct in practice; ties break by id below.
	p.prio[id] = 1 + p.rng.Int64N(1<<62)
}

func (p *pct) Pick(d *Decision) int {
	if p.base < 0 {
		p.base = d.Step
	}
	step := d.Step - p.base
	if step >= p.steps {
		return d.Runnable[p.rng.IntN(len(d.Runnable))]
	}
	for len(p.changes) > 0 && p.changes[0] <= step {
		if d.Current >= 0 {
			p.low--
			p.prio[d.Current] = p.low
		}
		p.changes = p.changes[1:]
	}
	best := d.Runnable[0]
	for _, id := range d.Runnable[1:] {
		if p.prio[id] > p.prio[best] {
			best = id
		}
	}
	return best
}

// Replay returns a strategy that follows choices exactly, as recorded in
// Result.Choices. Past the end of the list, or if a recorded task is not
// runnable (the code changed), it keeps the current task running, or else
// the lowest runnable id.
func Replay(choices []int) Strategy { return &replay{choices: choices} }

type replay struct{ choices []int }

func (r *replay) Spawned(int) {}

func (r *replay) Pick(d *Decision) int {
	if d.Index < len(r.choices) && slices.Contains(d.Runnable, r.choices[d.Index]) {
		return r.choices[d.Index]
	}
	return defaultPick(d)
}

// defaultPick is the non-preemptive choice: keep the current task, or
// else the lowest runnable id.
func defaultPick(d *Decision) int {
	if d.Current >= 0 && slices.Contains(d.Runnable, d.Current) {
		return d.Current
	}
	return d.Runnable[0]
}

// Walk returns a random walk that keeps the current task with
// probability stay (when it can go on), and otherwise picks uniformly
// among the runnable tasks (the current one included). Random is Walk
// with stay 0. Races that need one task to run a long stretch alone (a
// whole swap-out inside another task's window) are out of reach of the
// uniform walk (2^-n for n steps) and within reach of a sticky one: runs
// of one task are what matters (the experience of CHESS and of PCT).
func Walk(seed int64, stay float64) Strategy {
	return &stickyWalk{rng: newRand(seed), stay: stay}
}

type stickyWalk struct {
	rng  *rand.Rand
	stay float64
}

func (w *stickyWalk) Spawned(int) {}

func (w *stickyWalk) Pick(d *Decision) int {
	if d.Current >= 0 && w.rng.Float64() < w.stay && slices.Contains(d.Runnable, d.Current) {
		return d.Current
	}
	return d.Runnable[w.rng.IntN(len(d.Runnable))]
}
