package explore

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
	"uswap/invariant"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/sched"
)

// DefaultRuns is the number of schedules Explore runs when Config gives
// neither Runs nor Duration.
const DefaultRuns = 10_000

// DefaultMaxSteps caps a run when the scenario sets no MaxSteps.
const DefaultMaxSteps = 100_000

// Config says what Explore runs.
type Config struct {
	Scenario *Scenario
	Fixes    fixes.Set
	// Design is the swap core's design the scenario's machine runs.
	Design   design.Design
	Strategy Spec
	// Runs bounds the number of schedules; Duration bounds the wall time
	// (checked between schedules). With both, the first reached ends the
	// exploration; with neither, DefaultRuns.
	Runs     int
	Duration time.Duration
	// Seed seeds run i's strategy with Seed+i (random, walk, PCT); DFS
	// ignores it.
	Seed int64
	// Progress, if set, is called every 64 schedules with the count so
	// far and the time spent.
	Progress func(runs int, elapsed time.Duration)
	// Context, if set, ends the exploration when done, between two
	// schedules (Outcome.Interrupted).
	Context context.Context
}

// Outcome is what Explore found.
type Outcome struct {
	Scenario  *Scenario
	Fixes     fixes.Set
	Design    design.Design
	Strategy  Spec
	Seed      int64
	Runs      int           // schedules run, the failing one included
	Steps     int64         // scheduling points passed in all of them
	Elapsed   time.Duration // wall time
	Exhausted bool          // DFS ran every schedule within its bound
	// Interrupted is set when Config.Context ended the exploration
	// before its budget.
	Interrupted bool
	// Failure is the first failing schedule, replayed with its trace;
	// nil if none failed.
	Failure *Report
}

// PerSecond is the exploration rate in schedules per second.
func (o *Outcome) PerSecond() float64 {
	if o.Elapsed <= 0 {
		return 0
	}
	return float64(o.Runs) / o.Elapsed.Seconds()
}

// Report is one failing schedule: how to run it again, and its trace.
type Report struct {
	Scenario *Scenario
	Fixes    fixes.Set
	Design   design.Design
	Strategy string // "random", "pct:3", "dfs:2", or "replay"
	Seed     int64  // the strategy's seed for this run (random, PCT)
	Run      int    // 1-based index of the run in its exploration
	Choices  string // EncodeChoices of the run's choices
	// Result is the run replayed from Choices with the trace recorded.
	Result sched.Result
	// PanicMeans is the invariant a panic breaks in this scenario
	// (Instance.PanicMeans).
	PanicMeans invariant.ID
}

// errSetup marks a scenario whose setup failed: a bug of the scenario,
// not a race.
var errSetup = errors.New("scenario setup failed")

// runOnce runs one schedule of sc.
func runOnce(sc *Scenario, env Env, st sched.Strategy, record bool) (sched.Result, *Instance, error) {
	var inst *Instance
	var setupErr error
	main := func(t *ksync.Task) {
		inst, setupErr = sc.Setup(t, env)
		if setupErr != nil {
			return
		}
		for _, tk := range inst.Tasks {
			ksync.Spawn(t, tk.Name, tk.CPU, tk.Fn)
		}
	}
	maxSteps := sc.MaxSteps
	if maxSteps <= 0 {
		maxSteps = DefaultMaxSteps
	}
	opts := sched.Options{
		MaxSteps: maxSteps,
		Record:   record,
		Check: func() (err error) {
			if setupErr != nil || inst == nil || inst.Check == nil {
				return nil
			}
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("the check panicked: %v\n%s", r, debug.Stack())
				}
			}()
			return inst.Check(ksync.NewTask("check", 0))
		},
	}
	if record {
		opts.Namer = func(obj any) string {
			if inst == nil {
				return ""
			}
			if n := inst.Names[obj]; n != "" {
				return n
			}
			if inst.Namer != nil {
				return inst.Namer(obj)
			}
			return ""
		}
	}
	r := sched.Run(st, opts, main)
	if setupErr != nil {
		return r, inst, fmt.Errorf("%w: %s: %v", errSetup, sc.Name, setupErr)
	}
	return r, inst, nil
}

// racingSteps is the number of decisions of a non-preemptive run of sc
// past its setup: the horizon over which PCT draws its change points.
func racingSteps(sc *Scenario, env Env) (int, error) {
	s := newSkipSetup(sched.Replay(nil))
	r, _, err := runOnce(sc, env, s, false)
	if err != nil {
		return 0, err
	}
	n := len(r.Choices)
	if s.base > 0 {
		n -= s.base
	}
	return max(n, 2), nil
}

// Explore runs schedules of cfg.Scenario until one fails or the budget
// is spent. Its results do not depend on GOMAXPROCS, but it is two to
// three times faster with GOMAXPROCS=1, where every hand-off between the
// run's goroutines is a direct switch (uswap explore sets it). An error means the scenario itself is broken (its setup
// failed); a race found is Outcome.Failure.
func Explore(cfg Config) (Outcome, error) {
	sc := cfg.Scenario
	env := Env{Fixes: cfg.Fixes, Design: cfg.Design}
	out := Outcome{Scenario: sc, Fixes: cfg.Fixes, Design: cfg.Design, Strategy: cfg.Strategy, Seed: cfg.Seed}
	runs := cfg.Runs
	if runs <= 0 && cfg.Duration <= 0 {
		runs = DefaultRuns
	}
	var steps int
	var dfs *sched.Explorer
	switch cfg.Strategy.Kind {
	case PCT:
		n, err := racingSteps(sc, env)
		if err != nil {
			return out, err
		}
		steps = n
	case DFS:
		dfs = sched.DFS(cfg.Strategy.Param)
	case Random, Walk:
	default:
		return out, fmt.Errorf("explore: no strategy")
	}
	start := time.Now()
	for i := 0; runs <= 0 || i < runs; i++ {
		if cfg.Duration > 0 && i%16 == 0 && time.Since(start) >= cfg.Duration {
			break
		}
		if cfg.Context != nil && cfg.Context.Err() != nil {
			out.Interrupted = true
			break
		}
		seed := cfg.Seed + int64(i)
		var st sched.Strategy
		switch cfg.Strategy.Kind {
		case Random:
			st = sched.Random(seed)
		case Walk:
			st = sched.Walk(seed, cfg.Strategy.Stay)
		case PCT:
			st = sched.PCT(seed, cfg.Strategy.Param, steps)
		case DFS:
			s, ok := dfs.Next()
			if !ok {
				out.Exhausted = true
				break
			}
			st = s
		}
		if st == nil {
			break
		}
		r, inst, err := runOnce(sc, env, newSkipSetup(st), false)
		out.Runs++
		out.Steps += int64(r.Steps)
		if err != nil {
			out.Elapsed = time.Since(start)
			return out, err
		}
		if r.Failure != nil {
			rep, err := Replay(sc, env, r.Choices)
			if err != nil {
				return out, err
			}
			rep.Strategy = cfg.Strategy.String()
			rep.Seed = seed
			rep.Run = i + 1
			if cfg.Strategy.Kind == DFS {
				rep.Seed = 0
			}
			if inst != nil && rep.PanicMeans == 0 {
				rep.PanicMeans = inst.PanicMeans
			}
			out.Failure = rep
			break
		}
		if cfg.Progress != nil && out.Runs%64 == 0 {
			cfg.Progress(out.Runs, time.Since(start))
		}
	}
	out.Elapsed = time.Since(start)
	return out, nil
}

// Replay runs sc once in env with the given choices (as Explore reports
// them) and the trace recorded.
func Replay(sc *Scenario, env Env, choices []int) (*Report, error) {
	r, inst, err := runOnce(sc, env, sched.Replay(choices), true)
	if err != nil {
		return nil, err
	}
	rep := &Report{Scenario: sc, Fixes: env.Fixes, Design: env.Design, Strategy: "replay", Choices: EncodeChoices(r.Choices), Result: r}
	if inst != nil {
		rep.PanicMeans = inst.PanicMeans
	}
	return rep, nil
}
