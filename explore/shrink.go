package explore

import (
	"slices"

	"uswap/invariant"
	"uswap/sched"
)

// Shrinking. A schedule a strategy finds is rarely the simplest that
// fails: a random walk switches tasks at most of its decisions, PCT's
// fair tail too. Before it is shown, a failing schedule is shrunk, as
// QuickCheck shrinks a failing input and Hypothesis its choice sequence:
//
//  1. The schedule is its choices list (the "tape"), interpreted by
//     sched.Replay: past its end, and wherever the task it names cannot
//     run, the choice is the non-preemptive default (keep the current
//     task, else the lowest runnable id). So any edit of a tape is a
//     schedule, and a tape only needs its deviations from the default.
//  2. A candidate is kept when its run fails the same way (failureKey:
//     the same invariants broken, or the same kind of failure at the
//     same site) and is smaller: fewer preemptions first, then fewer
//     deviations, then a shorter tape, then fewer steps. The tape kept
//     is the candidate's run's own choices, cut after its last deviation.
//  3. Candidates, simplest first: cut the tape before one of its
//     deviations (everything after runs by default); turn one deviation
//     back into the default (the latest first); delete one deviation;
//     delete the default stretch before a deviation, or half of it, so
//     that the deviation comes sooner. The first candidate kept restarts
//     the passes; shrinking ends when a whole pass keeps nothing, or
//     after maxShrinkRuns replays. It is deterministic: no clock, no
//     randomness.
//
// The shrunk choices are what a report prints and --replay runs; a test
// checks that they replay to the same failure.

// maxShrinkRuns bounds the replays one shrinking may take; a livelock's
// replays each run to the step cap, and get fewer.
const (
	maxShrinkRuns         = 800
	maxShrinkLivelockRuns = 60
)

// shrunk is the result of shrink.
type shrunk struct {
	choices []int
	result  sched.Result
	runs    int
}

// decisionLog wraps a strategy and logs the non-preemptive default of
// each decision, which tells the deviations of the run's choices.
type decisionLog struct {
	sched.Strategy
	defaults []int
}

func (l *decisionLog) Pick(d *sched.Decision) int {
	l.defaults = append(l.defaults, defaultOf(d))
	return l.Strategy.Pick(d)
}

// defaultOf is the non-preemptive choice: keep the current task, or else
// the lowest runnable id (sched.Replay's past its list).
func defaultOf(d *sched.Decision) int {
	if d.Current >= 0 && slices.Contains(d.Runnable, d.Current) {
		return d.Current
	}
	return d.Runnable[0]
}

type shrinker struct {
	rn     *sched.Runner
	sc     *Scenario
	env    Env
	pm     invariant.ID
	key    string
	runs   int
	budget int

	best     sched.Result
	tape     []int // best.Choices[:best.LastDeviation]
	defaults []int // the default of each decision of tape
}

// smaller orders runs by preemptions, deviations, tape length, steps.
func smaller(a, b sched.Result) bool {
	ka := [4]int{a.Preemptions, a.Deviations, a.LastDeviation, a.Steps}
	kb := [4]int{b.Preemptions, b.Deviations, b.LastDeviation, b.Steps}
	return slices.Compare(ka[:], kb[:]) < 0
}

// run replays a tape and logs its decisions' defaults.
func (s *shrinker) run(tape []int) (sched.Result, []int, bool) {
	s.runs++
	log := &decisionLog{Strategy: sched.Replay(tape)}
	r, _, err := runOn(s.rn, s.sc, s.env, log, false)
	return r, log.defaults, err == nil
}

// try runs a candidate tape and keeps it if it fails the same way and is
// smaller.
func (s *shrinker) try(cand []int) bool {
	if s.runs >= s.budget {
		return false
	}
	r, defaults, ok := s.run(cand)
	if !ok || failureKey(r, s.pm) != s.key || !smaller(r, s.best) {
		return false
	}
	s.keep(r, defaults)
	return true
}

func (s *shrinker) keep(r sched.Result, defaults []int) {
	s.best = r
	s.tape = slices.Clone(r.Choices[:r.LastDeviation])
	s.defaults = slices.Clone(defaults[:r.LastDeviation])
}

// shrink shrinks the failing run orig (see the comment above).
func shrink(rn *sched.Runner, sc *Scenario, env Env, orig sched.Result, pm invariant.ID) shrunk {
	s := &shrinker{rn: rn, sc: sc, env: env, pm: pm, key: failureKey(orig, pm), budget: maxShrinkRuns}
	if orig.Failure.Kind == sched.Livelock {
		s.budget = maxShrinkLivelockRuns
	}
	// The original's own decisions, for their defaults.
	r, defaults, ok := s.run(orig.Choices)
	if !ok || failureKey(r, pm) != s.key {
		return shrunk{choices: orig.Choices[:orig.LastDeviation], result: orig, runs: s.runs}
	}
	s.keep(r, defaults)
	for s.pass() {
	}
	return shrunk{choices: s.tape, result: s.best, runs: s.runs}
}

// pass tries the candidates of the current tape in order and reports
// whether one was kept.
func (s *shrinker) pass() bool {
	var devs []int
	for i, c := range s.tape {
		if c != s.defaults[i] {
			devs = append(devs, i)
		}
	}
	tape := s.tape
	// Cut before a deviation: everything after it by default.
	for _, d := range devs {
		if s.try(tape[:d:d]) {
			return true
		}
	}
	// Turn one deviation into the default.
	for j := len(devs) - 1; j >= 0; j-- {
		c := slices.Clone(tape)
		c[devs[j]] = s.defaults[devs[j]]
		if s.try(c) {
			return true
		}
	}
	// Delete one deviation.
	for j := len(devs) - 1; j >= 0; j-- {
		if s.try(slices.Delete(slices.Clone(tape), devs[j], devs[j]+1)) {
			return true
		}
	}
	// Bring a deviation sooner: delete the default stretch before it,
	// or half of it.
	for j := len(devs) - 1; j >= 0; j-- {
		from := 0
		if j > 0 {
			from = devs[j-1] + 1
		}
		for gap := devs[j] - from; gap > 0; gap /= 2 {
			if s.try(slices.Delete(slices.Clone(tape), devs[j]-gap, devs[j])) {
				return true
			}
		}
	}
	return false
}
