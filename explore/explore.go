package explore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"uswap/design"
	"uswap/fixes"
	"uswap/invariant"
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
	// (checked between batches of schedules). With both, the first
	// reached ends the exploration; with neither, DefaultRuns.
	Runs     int
	Duration time.Duration
	// Seed seeds run i's strategy with Seed+i (random, walk, PCT); DFS
	// ignores it.
	Seed int64
	// Workers is the number of schedules run at once, each on its own
	// goroutine; 0 means 1. Any number gives the same Outcome (see
	// Explore). DFS runs on one worker whatever this says.
	Workers int
	// Progress, if set, is called about every 64 schedules with the
	// count so far and the time spent. With several workers it is called
	// from theirs, one call at a time.
	Progress func(runs int, elapsed time.Duration)
	// AsFound reports the failing schedule as the strategy found it,
	// replayed with its trace: no shrinking and no conflict search, for
	// callers that need only the verdict (a scenario's budgets).
	AsFound bool
	// Context, if set, ends the exploration when done, between two
	// schedules (between two batches with several workers): Outcome.
	// Interrupted.
	Context context.Context
	// Rebuild builds every schedule's machine anew, even where the
	// scenario's machine could be built once and copied (machines.go):
	// slower, with the same Outcome.
	Rebuild bool
}

// env is the machine a schedule of cfg runs: its fixes and design.
func (cfg *Config) env() Env { return Env{Fixes: cfg.Fixes, Design: cfg.Design} }

// Outcome is what Explore found.
type Outcome struct {
	Scenario  *Scenario
	Fixes     fixes.Set
	Design    design.Design
	Strategy  Spec
	Seed      int64
	Workers   int           // goroutines that ran schedules
	Runs      int           // schedules run, the failing one included
	Steps     int64         // scheduling points passed in all of them
	Elapsed   time.Duration // wall time of the exploration (shrinking and the report excluded)
	Exhausted bool          // DFS ran every schedule within its bound
	// Interrupted is set when Config.Context ended the exploration
	// before its budget.
	Interrupted bool
	// Failure is the first failing schedule, shrunk and replayed with
	// its trace; nil if none failed.
	Failure *Report
	// Copied says that the schedules ran on copies of one machine built
	// once; BuiltWhy, when they did not, says why every schedule built
	// its own.
	Copied   bool
	BuiltWhy string
}

// PerSecond is the exploration rate in schedules per second.
func (o *Outcome) PerSecond() float64 {
	if o.Elapsed <= 0 {
		return 0
	}
	return float64(o.Runs) / o.Elapsed.Seconds()
}

// Schedule sizes one schedule: its switches (the decisions that took
// another task than the non-preemptive default: keep the running task,
// else the lowest runnable id), the preemptions among them (the running
// task could have gone on), the decisions its choices list holds (up to
// the last switch; past them every choice is the default), and the
// scheduling points the run passed.
type Schedule struct {
	Switches    int
	Preemptions int
	Decisions   int
	Steps       int
}

func scheduleOf(r sched.Result) Schedule {
	return Schedule{Switches: r.Deviations, Preemptions: r.Preemptions, Decisions: r.LastDeviation, Steps: r.Steps}
}

func (s Schedule) String() string {
	return fmt.Sprintf("%s (%s) over %s, %s", plural(s.Switches, "switch"), plural(s.Preemptions, "preemption"),
		plural(s.Decisions, "decision"), plural(s.Steps, "step"))
}

// plural is "1 step", "2 steps", "2 switches".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "ch") {
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Report is one failing schedule: how to run it again, why it fails, and
// its trace.
type Report struct {
	Scenario *Scenario
	Fixes    fixes.Set
	Design   design.Design
	Strategy string // "random", "pct:3", "dfs:2", or "replay"
	Seed     int64  // the strategy's seed for this run (random, PCT)
	Run      int    // 1-based index of the run in its exploration
	// Choices is EncodeChoices of the reported run's choices, which
	// --replay runs again: the shrunk schedule when Shrunk is set.
	Choices string
	// Found is the schedule as the strategy found it; FoundChoices its
	// choices. Shrunk tells whether the reported run is a shrunk one,
	// ShrinkRuns how many replays the shrinking took.
	Found        Schedule
	FoundChoices string
	Shrunk       bool
	ShrinkRuns   int
	// Result is the reported run replayed with the trace recorded.
	Result sched.Result
	// PanicMeans is the invariant a panic breaks in this scenario
	// (Instance.PanicMeans).
	PanicMeans invariant.ID
	// Roles are the tasks' names for drawings, by task id.
	Roles []string
	// Conflicts are the pairs of accesses whose order decides the
	// failure, most telling first (see findConflicts).
	Conflicts []Conflict
	// ConflictNote says why Conflicts is empty, if it is.
	ConflictNote string
}

// Schedule sizes the reported run.
func (r *Report) Schedule() Schedule { return scheduleOf(r.Result) }

// errSetup marks a scenario whose setup failed: a bug of the scenario,
// not a race.
var errSetup = errors.New("scenario setup failed")

// runOnce runs one schedule of sc on a fresh runner.
func runOnce(sc *Scenario, env Env, st sched.Strategy, record bool) (sched.Result, *Instance, error) {
	var rn sched.Runner
	defer rn.Close()
	return runOn(&rn, sc, env, st, record)
}

// runOn runs one schedule of sc on rn, on a machine of its own.
func runOn(rn *sched.Runner, sc *Scenario, env Env, st sched.Strategy, record bool) (sched.Result, *Instance, error) {
	return runWith(rn, sc, st, record, nil, func(t *ksync.Task) (*Instance, error) { return sc.instance(t, env) })
}

// maxStepsOf is the step cap of sc's runs.
func maxStepsOf(sc *Scenario) int {
	if sc.MaxSteps <= 0 {
		return DefaultMaxSteps
	}
	return sc.MaxSteps
}

// runWith runs one schedule of sc on rn, whose main task gets its
// instance from setup and spawns its tasks; after, if set, is where the
// set-up of a copied machine left the scheduler.
func runWith(rn *sched.Runner, sc *Scenario, st sched.Strategy, record bool, after *sched.Prefix, setup func(t *ksync.Task) (*Instance, error)) (sched.Result, *Instance, error) {
	var inst *Instance
	var setupErr error
	main := func(t *ksync.Task) {
		inst, setupErr = setup(t)
		if setupErr != nil {
			return
		}
		for _, tk := range inst.Tasks {
			ksync.Spawn(t, tk.Name, tk.CPU, tk.Fn)
		}
	}
	opts := sched.Options{
		MaxSteps: maxStepsOf(sc),
		Record:   record,
		After:    after,
		Check: func() (err error) {
			if setupErr != nil || inst == nil || inst.Check == nil {
				return nil
			}
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("the check panicked: %v\n%s", r, debug.Stack())
				}
			}()
			return inst.Check(sched.Quiet("check", 0))
		},
	}
	if record {
		opts.Namer = func(obj any) string { return inst.name(obj) }
	}
	r := rn.Run(st, opts, main)
	if setupErr != nil {
		return r, inst, fmt.Errorf("%w: %s: %v", errSetup, sc.Name, setupErr)
	}
	return r, inst, nil
}

// release gives a passed schedule's machine to the next one
// (Instance.Release): every task returned, the check passed, and nothing
// keeps the machine. A failure's machine stays whole for its report.
func release(r sched.Result, inst *Instance, err error) {
	if err == nil && r.Failure == nil && inst != nil && inst.Release != nil {
		inst.Release(sched.Quiet("release", 0))
	}
}

// name names obj for a trace: the scenario's own names (and the wait
// queues of its named completions), then its Namer's.
func (inst *Instance) name(obj any) string {
	if inst == nil {
		return ""
	}
	if n := inst.Names[obj]; n != "" {
		return n
	}
	if q, ok := obj.(*ksync.WaitQueue); ok && len(inst.Names) > 0 {
		if inst.queues == nil {
			// Built once; the result does not depend on the map's order.
			inst.queues = map[*ksync.WaitQueue]string{}
			for o, n := range inst.Names {
				if w, ok := o.(waitQueueOwner); ok {
					inst.queues[w.WaitQueue()] = n + ".wait"
				}
			}
		}
		if n := inst.queues[q]; n != "" {
			return n
		}
	}
	if inst.Namer != nil {
		return inst.Namer(obj)
	}
	return ""
}

// racingSteps is the number of scheduling points a non-preemptive run of
// sc passes from its first decision on (its setup, where only the main
// task runs, makes none): the horizon over which PCT draws its change
// points.
func racingSteps(sc *Scenario, env Env) (int, error) {
	first := &firstStep{Strategy: sched.Replay(nil), step: -1}
	r, _, err := runOnce(sc, env, first, false)
	if err != nil {
		return 0, err
	}
	if first.step < 0 {
		return 2, nil
	}
	return max(r.Steps-first.step, 2), nil
}

// firstStep notes the step of the first decision.
type firstStep struct {
	sched.Strategy
	step int
}

func (f *firstStep) Pick(d *sched.Decision) int {
	if f.step < 0 {
		f.step = d.Step
	}
	return f.Strategy.Pick(d)
}

// strategyFor makes the strategy of run i.
func strategyFor(spec Spec, seed int64, steps int) sched.Strategy {
	switch spec.Kind {
	case Random:
		return sched.Random(seed)
	case Walk:
		return sched.Walk(seed, spec.Stay)
	case PCT:
		return sched.PCT(seed, spec.Param, steps)
	}
	return nil
}

// found is the first failing run of an exploration.
type found struct {
	index   int
	choices []int
	inst    *Instance
}

// Explore runs schedules of cfg.Scenario until one fails or the budget
// is spent, and reports the first failing one, shrunk (see shrink), with
// the conflict that decides it. An error means the scenario itself is
// broken (its setup failed); a race found is Outcome.Failure.
//
// With several workers, run i still uses seed Seed+i: workers take
// batches of consecutive indices in order, a failure at index k stops
// every worker from taking indices past k, and it is reported only once
// every index below k has run, so the failure reported, Runs and Steps
// are those of one worker. Results do not depend on GOMAXPROCS either.
func Explore(cfg Config) (Outcome, error) {
	sc := cfg.Scenario
	out := Outcome{Scenario: sc, Fixes: cfg.Fixes, Design: cfg.Design, Strategy: cfg.Strategy, Seed: cfg.Seed, Workers: max(cfg.Workers, 1)}
	runs := cfg.Runs
	if runs <= 0 && cfg.Duration <= 0 {
		runs = DefaultRuns
	}
	var steps int
	switch cfg.Strategy.Kind {
	case PCT:
		n, err := racingSteps(sc, cfg.env())
		if err != nil {
			return out, err
		}
		steps = n
	case DFS:
		out.Workers = 1
	case Random, Walk:
	default:
		return out, fmt.Errorf("explore: no strategy")
	}
	start := time.Now()
	ms, err := newMachines(sc, cfg.env(), cfg.Rebuild)
	if err != nil {
		return out, err
	}
	out.Copied, out.BuiltWhy = ms.copied(), ms.why
	var f *found
	if cfg.Strategy.Kind == DFS {
		f, err = exploreDFS(&cfg, &out, ms, runs, start)
	} else {
		f, err = exploreSeeds(&cfg, &out, ms, runs, steps, start)
	}
	out.Elapsed = time.Since(start)
	if err == nil {
		err = ms.check()
	}
	if err != nil || f == nil {
		return out, err
	}
	var rep *Report
	if cfg.AsFound {
		rep, err = replayAsFound(sc, cfg.env(), f.choices)
	} else {
		rep, err = reportFound(sc, cfg.env(), f.choices, f.inst)
	}
	if err != nil {
		return out, err
	}
	rep.Strategy = cfg.Strategy.String()
	rep.Run = f.index + 1
	if cfg.Strategy.Kind != DFS {
		rep.Seed = cfg.Seed + int64(f.index)
	}
	out.Failure = rep
	return out, nil
}

// exploreDFS runs the bounded depth-first search, on one goroutine: its
// next schedule is the previous one's path backtracked, which depends on
// the runnable sets that run discovered, so the enumeration is a chain
// and its first failure in DFS order cannot be had sooner by splitting
// it (a dfs:B budget is a few thousand schedules, seconds at most).
func exploreDFS(cfg *Config, out *Outcome, ms *machines, runs int, start time.Time) (*found, error) {
	dfs := sched.DFS(cfg.Strategy.Param)
	w := ms.worker()
	defer w.close()
	for i := 0; runs <= 0 || i < runs; i++ {
		if cfg.Duration > 0 && i%16 == 0 && time.Since(start) >= cfg.Duration {
			break
		}
		if cfg.Context != nil && cfg.Context.Err() != nil {
			out.Interrupted = true
			break
		}
		st, ok := dfs.Next()
		if !ok {
			out.Exhausted = true
			break
		}
		r, inst, err := w.run(st)
		out.Runs++
		out.Steps += int64(r.Steps)
		if err != nil {
			return nil, err
		}
		if r.Failure != nil {
			return &found{index: i, choices: r.Choices, inst: inst}, nil
		}
		if cfg.Progress != nil && out.Runs%64 == 0 {
			cfg.Progress(out.Runs, time.Since(start))
		}
	}
	return nil, nil
}

// batchSize is how many consecutive run indices a worker takes at once.
const batchSize = 16

// seedExploration is the state the workers of exploreSeeds share, under
// mu.
type seedExploration struct {
	mu       sync.Mutex
	next     int  // the next batch to hand out
	stop     int  // the lowest failing (or broken) index found; MaxInt if none
	stopped  bool // Config.Context ended the exploration
	fail     *found
	err      error
	errIndex int
	batches  []int64 // by batch: the scheduling points its runs passed
	runs     []int   // by batch: the runs it ran (it stops at its first failure)
	done     int     // runs finished, for Progress
}

// exploreSeeds runs the seeded strategies (random, walk, PCT) on
// cfg.Workers goroutines; see Explore for why the result is that of one.
func exploreSeeds(cfg *Config, out *Outcome, ms *machines, runs, steps int, start time.Time) (*found, error) {
	x := &seedExploration{stop: math.MaxInt}
	var wg sync.WaitGroup
	for range out.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.work(cfg, ms, runs, steps, start)
		}()
	}
	wg.Wait()
	// Every batch below the last one handed out ran to its end or to
	// its first failure; count those up to the first failure.
	last := len(x.batches)
	if x.stop != math.MaxInt {
		last = x.stop/batchSize + 1
	}
	for b := 0; b < last && b < len(x.batches); b++ {
		out.Runs += x.runs[b]
		out.Steps += x.batches[b]
	}
	if x.err != nil && x.errIndex == x.stop {
		return nil, x.err
	}
	if x.fail == nil {
		out.Interrupted = x.stopped
	}
	return x.fail, nil
}

// work is one worker: it takes the next batch of indices until the
// budget is spent or a failure below them is known.
func (x *seedExploration) work(cfg *Config, ms *machines, runs, steps int, start time.Time) {
	w := ms.worker()
	defer w.close()
	for {
		x.mu.Lock()
		b := x.next
		first := b * batchSize
		if (runs > 0 && first >= runs) || first > x.stop ||
			(cfg.Duration > 0 && time.Since(start) >= cfg.Duration) {
			x.mu.Unlock()
			return
		}
		if cfg.Context != nil && cfg.Context.Err() != nil {
			x.stopped = true
			x.mu.Unlock()
			return
		}
		x.next++
		for len(x.batches) <= b {
			x.batches = append(x.batches, 0)
			x.runs = append(x.runs, 0)
		}
		x.mu.Unlock()

		end := first + batchSize
		if runs > 0 {
			end = min(end, runs)
		}
		var pts int64
		n := 0
		for i := first; i < end; i++ {
			st := strategyFor(cfg.Strategy, cfg.Seed+int64(i), steps)
			r, inst, err := w.run(st)
			n++
			pts += int64(r.Steps)
			if err != nil || r.Failure != nil {
				x.mu.Lock()
				if i < x.stop {
					x.stop = i
					x.fail, x.err, x.errIndex = nil, err, i
					if err == nil {
						x.fail = &found{index: i, choices: r.Choices, inst: inst}
					}
				}
				x.mu.Unlock()
				break
			}
		}
		x.mu.Lock()
		x.batches[b], x.runs[b] = pts, n
		before := x.done
		x.done += n
		if cfg.Progress != nil && x.done/64 != before/64 {
			cfg.Progress(x.done, time.Since(start))
		}
		x.mu.Unlock()
	}
}

// reportFound shrinks a failing run's choices and reports the shrunk run.
func reportFound(sc *Scenario, env Env, choices []int, inst *Instance) (*Report, error) {
	var rn sched.Runner
	defer rn.Close()
	orig, oinst, err := runOn(&rn, sc, env, sched.Replay(choices), false)
	if err != nil {
		return nil, err
	}
	if orig.Failure == nil {
		return nil, fmt.Errorf("explore: %s: the failing run did not fail when replayed (choices %s): the scenario is not deterministic", sc.Name, EncodeChoices(choices))
	}
	if oinst != nil {
		inst = oinst
	}
	pm := panicMeans(inst)
	sh := shrink(&rn, sc, env, orig, pm)
	rep, err := replayReport(&rn, sc, env, sh.choices)
	if err != nil {
		return nil, err
	}
	if failureKey(rep.Result, rep.PanicMeans) != failureKey(orig, pm) {
		return nil, fmt.Errorf("explore: %s: the shrunk schedule %s does not replay the failure (%s)", sc.Name, EncodeChoices(sh.choices), failureKey(rep.Result, rep.PanicMeans))
	}
	rep.Found = scheduleOf(orig)
	rep.FoundChoices = EncodeChoices(orig.Choices[:orig.LastDeviation])
	rep.Shrunk = true
	rep.ShrinkRuns = sh.runs
	return rep, nil
}

// replayAsFound reports a failing run's choices replayed with the trace,
// as found.
func replayAsFound(sc *Scenario, env Env, choices []int) (*Report, error) {
	r, inst, err := runOnce(sc, env, sched.Replay(choices), true)
	if err != nil {
		return nil, err
	}
	rep := &Report{Scenario: sc, Fixes: env.Fixes, Design: env.Design, Choices: EncodeChoices(r.Choices[:r.LastDeviation]), Result: r, PanicMeans: panicMeans(inst)}
	rep.Found, rep.FoundChoices, rep.Roles = scheduleOf(r), rep.Choices, roles(r, inst)
	return rep, nil
}

// Replay runs sc once with the given choices (as Explore reports them),
// with the trace recorded, and looks for the conflict that decides its
// failure, if it fails.
func Replay(sc *Scenario, env Env, choices []int) (*Report, error) {
	var rn sched.Runner
	defer rn.Close()
	return replayReport(&rn, sc, env, choices)
}

func replayReport(rn *sched.Runner, sc *Scenario, env Env, choices []int) (*Report, error) {
	r, inst, err := runOn(rn, sc, env, sched.Replay(choices), true)
	if err != nil {
		return nil, err
	}
	rep := &Report{Scenario: sc, Fixes: env.Fixes, Design: env.Design, Strategy: "replay", Choices: EncodeChoices(r.Choices[:r.LastDeviation]), Result: r, PanicMeans: panicMeans(inst)}
	rep.Found, rep.FoundChoices, rep.Roles = scheduleOf(r), rep.Choices, roles(r, inst)
	switch {
	case r.Failure == nil:
	case r.Failure.Kind == sched.Livelock:
		// Every swapped replay would run to the step cap: the loop
		// (Failure.Loop) is what explains a livelock.
		rep.ConflictNote = "a livelock: the loop below is what never ends"
	default:
		rep.Conflicts, rep.ConflictNote = findConflicts(rn, sc, env, r, rep.PanicMeans)
	}
	return rep, nil
}

// roles are the tasks' names for drawings: a task's Role after its name.
func roles(r sched.Result, inst *Instance) []string {
	rs := slices.Clone(r.Tasks)
	if inst != nil {
		for i, tk := range inst.Tasks {
			// Tasks are spawned in order after the main task.
			if id := i + 1; id < len(rs) && tk.Role != "" {
				rs[id] = tk.Name + " (" + tk.Role + ")"
			}
		}
	}
	return rs
}

func panicMeans(inst *Instance) invariant.ID {
	if inst == nil {
		return 0
	}
	return inst.PanicMeans
}

// failureKey says what a run's failure is, for telling whether two runs
// fail the same way: the invariants it broke (a failed check's, or the
// one a panic means in the scenario: Report.Violations); else the kind
// of failure and where (a panic's task and site, a deadlock's sleepers,
// a check's message). "" for a run that did not fail.
func failureKey(r sched.Result, pm invariant.ID) string {
	f := r.Failure
	if f == nil {
		return ""
	}
	if vs := (&Report{Result: r, PanicMeans: pm}).Violations(); len(vs) > 0 {
		var ids []string
		for _, id := range vs.Broken() {
			ids = append(ids, id.String())
		}
		slices.Sort(ids)
		return "broken: " + strings.Join(ids, ",")
	}
	switch f.Kind {
	case sched.CheckFailed:
		first, _, _ := strings.Cut(f.Message, "\n")
		return "check: " + first
	case sched.Panic:
		return fmt.Sprintf("panic: %s at %s", f.TaskName, panicSite(f.Stack))
	case sched.Deadlock:
		var who []string
		for _, e := range f.Blocked {
			who = append(who, e.TaskName+" "+e.Op.String())
		}
		slices.Sort(who)
		return "deadlock: " + strings.Join(who, ", ")
	}
	return f.Kind.String()
}
