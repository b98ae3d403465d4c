package explore

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/sched"
)

// reportOf finds the scenario's race with its first budget, once per
// test binary (firstFailure keeps it).
func reportOf(t *testing.T, s *Scenario) *Report { return firstFailure(t, s) }

// budgetFixes are the fixes of the budget firstFailure runs.
func budgetFixes(t *testing.T, s *Scenario) fixes.Set {
	t.Helper()
	b, _ := findBudget(s)
	fx, err := b.FixSet()
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// TestShrunkReplaysSameFailure: every scenario's failing schedule is
// reported shrunk, no bigger than found and a few dozen decisions at
// most; its choices replay to the same failure (the same invariants, or
// the same panic site); and the report draws at most maxDrawRows rows.
func TestShrunkReplaysSameFailure(t *testing.T) {
	for _, s := range Scenarios() {
		if _, ok := findBudget(s); !ok {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			rep := reportOf(t, s)
			fx := budgetFixes(t, s)
			if !rep.Shrunk {
				t.Fatal("the report is not of a shrunk schedule")
			}
			got := rep.Schedule()
			if got.Preemptions > rep.Found.Preemptions || (got.Preemptions == rep.Found.Preemptions && got.Switches > rep.Found.Switches) {
				t.Fatalf("shrunk to %v from %v: bigger", got, rep.Found)
			}
			// The pager's races need four preemptions (a worker, the
			// process's thread and the event reader each held back).
			if got.Switches > 36 || got.Preemptions > 4 {
				t.Errorf("shrunk schedule %v: more than a few dozen switches", got)
			}
			choices, err := DecodeChoices(rep.Choices)
			if err != nil {
				t.Fatal(err)
			}
			again, inst, err := runOnce(s, Env{Fixes: fx}, sched.Replay(choices), false)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := failureKey(again, panicMeans(inst)), failureKey(rep.Result, rep.PanicMeans); a == "" || a != b {
				t.Fatalf("the shrunk choices replay to %q, the report says %q", a, b)
			}
			// The original schedule failed the same way too.
			orig, err := DecodeChoices(rep.FoundChoices)
			if err != nil {
				t.Fatal(err)
			}
			before, inst, err := runOnce(s, Env{Fixes: fx}, sched.Replay(orig), false)
			if err != nil {
				t.Fatal(err)
			}
			if a := failureKey(before, panicMeans(inst)); a != failureKey(rep.Result, rep.PanicMeans) {
				t.Fatalf("the schedule as found fails as %q, the shrunk one as %q", a, failureKey(rep.Result, rep.PanicMeans))
			}
			if rep.Result.Failure != nil && rep.Result.Failure.Kind == sched.Livelock {
				// A livelock: every swapped replay would run to the
				// step cap too, so the loop explains it, not a
				// conflict.
				if rep.Result.Failure.Loop == nil || !strings.Contains(rep.ConflictNote, "livelock") {
					t.Errorf("a livelock without its loop: note %q", rep.ConflictNote)
				}
				return
			}
			if got.Switches == 0 {
				// A failure of every schedule (a policy, not an
				// interleaving): nothing to swap or draw, and the
				// report says so.
				if len(rep.Conflicts) != 0 || !strings.Contains(rep.ConflictNote, "needs no interleaving") {
					t.Errorf("a failure without switches: conflicts %d, note %q", len(rep.Conflicts), rep.ConflictNote)
				}
				return
			}
			if n := len(rep.keySteps()); n == 0 || n > maxDrawRows {
				t.Errorf("the drawing has %d rows", n)
			}
			if len(rep.Conflicts) == 0 {
				t.Errorf("no conflict: %s", rep.ConflictNote)
			}
			t.Logf("%s: %v, shrunk from %v in %d replays\n%s", s.Name, got, rep.Found, rep.ShrinkRuns, strings.Join(rep.conflictLines(), "\n"))
		})
	}
}

// conflictOn finds, among the report's conflicts, one on an object
// matching obj, with an access by a task named in by and one by a task
// named in with.
func conflictOn(rep *Report, obj *regexp.Regexp, by, with []string) *Conflict {
	for k := range rep.Conflicts {
		c := &rep.Conflicts[k]
		if !obj.MatchString(c.Object) {
			continue
		}
		var a, b bool
		for _, e := range c.Accesses {
			a = a || slicesContains(by, e.TaskName)
			b = b || slicesContains(with, e.TaskName)
		}
		if a && b {
			return c
		}
	}
	return nil
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestSeedConflicts: the conflict named for the seed races is the one
// the threads draw. Seed 000: the second fault's accesses to the PTE or
// the swap_map byte, with the first fault's and the swap-out's writes
// between them. Seed 003: swapoff freeing the device's maps (swap_map,
// cluster_info) against the swap-in's or free_swap_and_cache's access
// to them after.
func TestSeedConflicts(t *testing.T) {
	pin, _ := Lookup("swapcache-pin")
	rep := reportOf(t, pin)
	c := conflictOn(rep, regexp.MustCompile(`^(pte@0x[0-9a-f]+|si0->swap_map\[\d+\])$`), []string{"B"}, []string{"A", "C"})
	if c == nil {
		t.Fatalf("swapcache-pin: no conflict of B with A or C on the PTE or the swap_map byte:\n%s", strings.Join(rep.conflictLines(), "\n"))
	}
	if n := len(c.Accesses); c.Accesses[0].TaskName != "B" || c.Accesses[n-1].TaskName != "B" || n < 3 {
		t.Errorf("swapcache-pin: the conflict is not B's window with the others' writes in it: %s", c.String(rep))
	}
	for _, name := range []string{"swapoff-swapin", "swapoff-free"} {
		s, _ := Lookup(name)
		rep := reportOf(t, s)
		c := conflictOn(rep, regexp.MustCompile(`^si0->(swap_map|cluster_info)$`), []string{"swapoff"}, []string{"fault", "zap"})
		if c == nil {
			t.Fatalf("%s: no conflict of swapoff with the racer on the device's maps:\n%s", name, strings.Join(rep.conflictLines(), "\n"))
		}
		free := -1
		for i, e := range c.Accesses {
			if e.TaskName == "swapoff" && e.Op == ksync.OpFree && kernelFunc(e.Caller) == "swapoff" {
				free = i
			}
		}
		if free < 0 || free == len(c.Accesses)-1 || c.Accesses[len(c.Accesses)-1].TaskName == "swapoff" {
			t.Errorf("%s: the conflict is not swapoff's free followed by the racer's access: %s", name, c.String(rep))
		}
	}
}

// anonymous matches a name the namers did not give: a type and a number.
var anonymous = regexp.MustCompile(`#\d+\b`)

// TestObjectsNamed: every object in every scenario's traces, in every
// design the scenario applies to, with its fix reverted (the failing run:
// shrunk in the classic design; as found in the table design, where the
// race is) and with every fix on (a recorded run of a few schedules),
// has a kernel name, not a type and a number.
func TestObjectsNamed(t *testing.T) {
	for _, s := range Scenarios() {
		var runs []sched.Result
		if _, ok := findBudget(s); ok {
			runs = append(runs, reportOf(t, s).Result)
		}
		if b, ok := findBudgetIn(s, design.Table); ok {
			fx, err := b.FixSet()
			if err != nil {
				t.Fatal(err)
			}
			o, err := Explore(Config{Scenario: s, Fixes: fx, Design: design.Table, Strategy: MustSpec(b.Strategy), Runs: b.Runs, Seed: b.Seed,
				Workers: runtime.GOMAXPROCS(0), AsFound: true})
			if err != nil {
				t.Fatal(err)
			}
			if o.Failure == nil {
				t.Fatalf("%s: no failure with %v in the table design", s.Name, b)
			}
			runs = append(runs, o.Failure.Result)
		}
		for _, d := range design.All() {
			if !s.AppliesIn(d) {
				continue
			}
			// Three recorded schedules a design; one under the race
			// detector, whose CI run is the slow one (the names do not
			// depend on it).
			seeds := int64(3)
			if raceEnabled {
				seeds = 1
			}
			for seed := int64(1); seed <= seeds; seed++ {
				r, _, err := runOnce(s, Env{Fixes: fixes.Default(), Design: d}, sched.Walk(seed, 0.9), true)
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, r)
			}
		}
		seen := map[string]bool{}
		for _, r := range runs {
			for _, e := range View(r).Trace {
				for _, n := range []string{e.ObjName, e.WholeName} {
					if anonymous.MatchString(n) && !seen[n] {
						seen[n] = true
						t.Errorf("%s: %s[%d] %v on %q at %s: no kernel name", s.Name, e.TaskName, e.Task, e.Op, n, e.Caller)
					}
				}
			}
		}
	}
}

// TestParallelSame: any number of workers finds the same first failure,
// after the same number of runs and steps, as one worker; with nothing
// to find, they run the same schedules.
func TestParallelSame(t *testing.T) {
	s, _ := Lookup("swapoff-free")
	cases := []struct {
		fx   fixes.Set
		spec string
		runs int
	}{
		{revertedFix(t, s), "pct:3", 2000},
		{revertedFix(t, s), "walk:0.99", 3000},
		{fixes.Default(), "random", 300},
	}
	workers := []int{1, 3, 2}
	if raceEnabled {
		cases, workers = cases[:2], workers[:2]
	}
	for _, c := range cases {
		var want Outcome
		for _, w := range workers {
			prev := runtime.GOMAXPROCS(w)
			o, err := Explore(Config{Scenario: s, Fixes: c.fx, Strategy: MustSpec(c.spec), Runs: c.runs, Seed: 5, Workers: w})
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			if w == 1 {
				want = o
				continue
			}
			if o.Runs != want.Runs || o.Steps != want.Steps || (o.Failure == nil) != (want.Failure == nil) {
				t.Fatalf("%s %d workers: %d runs, %d steps, failure %v; one worker: %d, %d, %v", c.spec, w, o.Runs, o.Steps, o.Failure != nil, want.Runs, want.Steps, want.Failure != nil)
			}
			if o.Failure != nil && (o.Failure.Run != want.Failure.Run || o.Failure.Choices != want.Failure.Choices || o.Failure.FoundChoices != want.Failure.FoundChoices) {
				t.Fatalf("%s %d workers: run %d %s; one worker: run %d %s", c.spec, w, o.Failure.Run, o.Failure.Choices, want.Failure.Run, want.Failure.Choices)
			}
		}
	}
}

// livelockScenario is a scenario of its own (not registered): a task
// holds a folio's lock and sleeps until a second task, which keeps
// failing the trylock of that lock and yielding, gets somewhere.
func livelockScenario() *Scenario {
	return &Scenario{
		Name:     "test-livelock",
		MaxSteps: 3000,
		Setup: func(t *ksync.Task, env Env) (*Instance, error) {
			var lock ksync.Flags
			lock.InitRank(ksync.RankFolioLock)
			var never, locked ksync.Completion
			return &Instance{
				Tasks: []Task{
					{Name: "holder", CPU: 0, Fn: func(t *ksync.Task) {
						lock.LockBit(t, 0)
						locked.Complete(t)
						never.Wait(t)
						lock.UnlockBit(t, 0)
					}},
					{Name: "refault", CPU: 1, Role: "swapin_readahead", Fn: func(t *ksync.Task) {
						locked.Wait(t)
						for !lock.TryLockBit(t, 0) {
							ksync.CondResched(t)
						}
					}},
				},
				Names: map[any]string{&lock: "folio(pfn 3)->flags", &never: "never", &locked: "locked"},
			}, nil
		},
	}
}

// TestLivelockReported: a livelock is reported as such, with the loop
// that spins, what it waits for and who holds it, and the drawing shows
// one turn of the loop.
func TestLivelockReported(t *testing.T) {
	o, err := Explore(Config{Scenario: livelockScenario(), Strategy: MustSpec("random"), Runs: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if o.Failure == nil || o.Failure.Result.Failure.Kind != sched.Livelock {
		t.Fatalf("no livelock: %+v", o.Failure)
	}
	out := formatted(t, o.Failure)
	for _, want := range []string{
		"livelock: no end after 3000 scheduling points: refault repeats a cycle of 2 steps",
		"bit_trylock folio(pfn 3)->flags",
		"waits for folio(pfn 3)->flags (held by holder",
		"holder sleeps on never.wait",
		"refault (swapin_readahead)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if n := len(o.Failure.keySteps()); n == 0 || n > maxDrawRows {
		t.Errorf("the drawing has %d rows", n)
	}
}

// TestDeadlockReported: a lock inversion is reported as a deadlock: each
// sleeper, what it sleeps on, who took that last, and the pair of
// acquisitions whose order decides it.
func TestDeadlockReported(t *testing.T) {
	var a, b ksync.Mutex
	sc := &Scenario{
		Name: "test-deadlock",
		Setup: func(t *ksync.Task, env Env) (*Instance, error) {
			a, b = ksync.Mutex{}, ksync.Mutex{}
			a.Init(ksync.RankTestOuter)
			b.Init(ksync.RankTestInner)
			lock2 := func(x, y *ksync.Mutex) func(*ksync.Task) {
				return func(t *ksync.Task) {
					x.Lock(t)
					y.Lock(t)
					y.Unlock(t)
					x.Unlock(t)
				}
			}
			return &Instance{
				Tasks: []Task{{Name: "ab", CPU: 0, Fn: lock2(&a, &b)}, {Name: "ba", CPU: 1, Fn: lock2(&b, &a)}},
				Names: map[any]string{&a: "si0->lock", &b: "ci0[0]->lock"},
			}, nil
		},
	}
	o, err := Explore(Config{Scenario: sc, Strategy: MustSpec("dfs:1"), Runs: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ksync.Checked {
		// With the lock order checked (-tags invariants), the
		// inversion is caught as such when ba takes a under b, before
		// it can deadlock.
		if o.Failure == nil || o.Failure.Result.Failure.Kind != sched.Panic ||
			!strings.Contains(fmt.Sprint(o.Failure.Result.Failure.Value), "lock order: ba[2] takes") {
			t.Fatalf("no lock-order report: %+v", o.Failure)
		}
		return
	}
	if o.Failure == nil || o.Failure.Result.Failure.Kind != sched.Deadlock {
		t.Fatalf("no deadlock: %+v", o.Failure)
	}
	out := formatted(t, o.Failure)
	for _, want := range []string{"deadlock: ", "sleep(lock) on si0->lock", "sleep(lock) on ci0[0]->lock", "conflict "} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if n := len(o.Failure.keySteps()); n < 2 || n > maxDrawRows {
		t.Errorf("the drawing has %d rows:\n%s", n, out)
	}
}
