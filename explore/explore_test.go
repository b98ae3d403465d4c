package explore

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"uswap/fixes"
	"uswap/sched"
)

func TestChoicesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		choices []int
		enc     string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{0, 0, 0, 1, 2, 2}, "0*3.1.2*2"},
		{append(slices.Repeat([]int{0}, 40), 11, 35), "0*14.b.z"},
	} {
		if got := EncodeChoices(tc.choices); got != tc.enc {
			t.Errorf("EncodeChoices(%v) = %q, want %q", tc.choices, got, tc.enc)
		}
		got, err := DecodeChoices(tc.enc)
		if err != nil || !slices.Equal(got, tc.choices) {
			t.Errorf("DecodeChoices(%q) = %v, %v; want %v", tc.enc, got, err, tc.choices)
		}
	}
	for _, bad := range []string{"x!", "1*0", "1*", "-1", "1..2"} {
		if _, err := DecodeChoices(bad); err == nil {
			t.Errorf("DecodeChoices(%q) accepted", bad)
		}
	}
}

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for an error
	}{
		{"random", "random"}, {"pct", "pct:3"}, {"pct:5", "pct:5"}, {"dfs", "dfs:2"},
		{"dfs:0", "dfs:0"}, {"PCT:2", "pct:2"},
		{"walk", "walk:0.99"}, {"walk:0.9", "walk:0.9"}, {"walk:0", "walk:0"},
		{"pct:0", ""}, {"random:3", ""}, {"dfs:x", ""}, {"bfs", ""}, {"", ""}, {"walk:1", ""}, {"walk:-0.5", ""}, {"walk:x", ""},
	} {
		sp, err := ParseSpec(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseSpec(%q) = %v, want an error", tc.in, sp)
		case tc.want != "" && (err != nil || sp.String() != tc.want):
			t.Errorf("ParseSpec(%q) = %v, %v; want %s", tc.in, sp, err, tc.want)
		}
	}
}

func TestRegistry(t *testing.T) {
	if len(Scenarios()) == 0 {
		t.Fatal("no scenarios")
	}
	known := fixes.All()
	for _, s := range Scenarios() {
		if !slices.Contains(known, s.Fix) {
			t.Errorf("scenario %s: unknown fix %v", s.Name, s.Fix)
		}
		if got, err := Lookup(s.Name); err != nil || got != s {
			t.Errorf("Lookup(%s) = %v, %v", s.Name, got, err)
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), Scenarios()[0].Name) {
		t.Errorf("Lookup(nope) = %v, want an error listing the scenarios", err)
	}
}

// budget is how many schedules a strategy may take, with seed 1, to find
// a scenario's race with its fix reverted. Random walks are not listed
// for races that need one task to run a long stretch alone (see
// TestRandomWalkReach).
type budget struct {
	spec string
	runs int
}

var findBudgets = map[string][]budget{
	"swapoff-free":   {{"pct:2", 2000}, {"pct:3", 2000}, {"dfs:1", 500}, {"dfs:2", 10000}, {"walk:0.99", 3000}},
	"swapcache-pin":  {{"pct:3", 1000}, {"pct:2", 1000}, {"dfs:1", 500}, {"dfs:2", 3000}, {"walk:0.99", 2000}},
	"swapoff-swapin": {{"pct:3", 1000}, {"pct:2", 1000}, {"dfs:1", 500}, {"dfs:2", 2000}, {"walk:0.99", 1000}},
	"shmem-swapoff":  {{"pct:3", 1000}, {"pct:2", 1000}, {"dfs:1", 500}, {"dfs:2", 3000}, {"walk:0.99", 2000}},
}

// holdBudgets are the CI-sized runs with every fix on.
var holdBudgets = []budget{{"random", 1000}, {"walk:0.99", 1000}, {"pct:2", 1000}, {"pct:3", 1000}, {"dfs:1", 2000}, {"dfs:2", 1000}}

func revertedFix(t *testing.T, s *Scenario) fixes.Set {
	t.Helper()
	return fixes.Default().Revert(s.Fix)
}

func TestFoundWithFixReverted(t *testing.T) {
	for _, s := range Scenarios() {
		for _, b := range findBudgets[s.Name] {
			t.Run(s.Name+"/"+b.spec, func(t *testing.T) {
				o, err := Explore(Config{Scenario: s, Fixes: revertedFix(t, s), Strategy: MustSpec(b.spec), Runs: b.runs, Seed: 1})
				if err != nil {
					t.Fatal(err)
				}
				if o.Failure == nil {
					t.Fatalf("no failure in %d runs (exhausted %v)", o.Runs, o.Exhausted)
				}
				f := o.Failure.Result.Failure
				if f == nil {
					t.Fatalf("run %d failed, its replay did not", o.Failure.Run)
				}
				if f.Kind == sched.Livelock || f.Kind == sched.Deadlock {
					t.Fatalf("found a %v, not the race: %v", f.Kind, f)
				}
				t.Logf("found on run %d: %s", o.Runs, o.Failure.Broken())
			})
		}
	}
}

func TestNothingWithFixOn(t *testing.T) {
	for _, s := range Scenarios() {
		for _, b := range holdBudgets {
			t.Run(s.Name+"/"+b.spec, func(t *testing.T) {
				runs := b.runs
				if testing.Short() {
					runs /= 10
				}
				if raceEnabled {
					runs /= 3
				}
				o, err := Explore(Config{Scenario: s, Fixes: fixes.Default(), Strategy: MustSpec(b.spec), Runs: runs, Seed: 1})
				if err != nil {
					t.Fatal(err)
				}
				if o.Failure != nil {
					var buf bytes.Buffer
					WriteReport(&buf, o.Failure)
					t.Fatalf("failure with every fix on:\n%s", buf.String())
				}
			})
		}
	}
}

// firstFailure finds the scenario's race with its first budget.
func firstFailure(t *testing.T, s *Scenario) *Report {
	t.Helper()
	b := findBudgets[s.Name][0]
	o, err := Explore(Config{Scenario: s, Fixes: revertedFix(t, s), Strategy: MustSpec(b.spec), Runs: b.runs, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if o.Failure == nil {
		t.Fatalf("%s: no failure with %s", s.Name, b.spec)
	}
	return o.Failure
}

func formatted(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteReport(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReplayExact(t *testing.T) {
	for _, s := range Scenarios() {
		if len(findBudgets[s.Name]) == 0 {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			found := firstFailure(t, s)
			choices, err := DecodeChoices(found.Choices)
			if err != nil {
				t.Fatal(err)
			}
			// The report's trace is the replay's; replay again under
			// one and two Ps, and compare the traces byte for byte.
			want := View(found.Result)
			var traces []string
			for _, procs := range []int{1, 2, 1, 8} {
				prev := runtime.GOMAXPROCS(procs)
				rep, err := Replay(s, revertedFix(t, s), choices)
				runtime.GOMAXPROCS(prev)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Choices != found.Choices {
					t.Fatalf("GOMAXPROCS %d: replay took other choices", procs)
				}
				var a, b bytes.Buffer
				sched.FormatColumns(want, &a)
				sched.FormatColumns(View(rep.Result), &b)
				if a.String() != b.String() {
					t.Fatalf("GOMAXPROCS %d: replay differs:\n%s\n---\n%s", procs, a.String(), b.String())
				}
				rep.Strategy, rep.Seed, rep.Run = found.Strategy, found.Seed, found.Run
				traces = append(traces, formatted(t, rep))
			}
			for _, tr := range traces[1:] {
				if tr != traces[0] {
					t.Fatal("reports differ across GOMAXPROCS")
				}
			}
			if traces[0] != formatted(t, found) {
				t.Fatal("the replay's report differs from the exploration's")
			}
			var h bytes.Buffer
			if err := WriteHTML(&h, found); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"<title>uswap explore: " + s.Name, "FAILURE in scenario", s.Fix.String(), "zap[1]"} {
				if s.Name == "swapoff-free" && !strings.Contains(h.String(), want) {
					t.Errorf("HTML lacks %q", want)
				}
			}
			// The engine's objects carry the kernel's names.
			if want, ok := engineNames[s.Name]; ok {
				for _, w := range want {
					if !strings.Contains(traces[0], w) {
						t.Errorf("trace lacks %q", w)
					}
				}
			}
		})
	}
}

// engineNames are names a scenario's failing trace must show.
var engineNames = map[string][]string{
	"swapcache-pin":  {"ptl@0x", "pte@0x", "ci0[0]->lock", "si0->users", "mm0->mmap_lock", "->flags"},
	"swapoff-swapin": {"ptl@0x", "si0->users", "swap_info[0]"},
}

// TestExplorationDeterministic: the same seed finds the same schedule
// whatever GOMAXPROCS is.
func TestExplorationDeterministic(t *testing.T) {
	s, err := Lookup("swapoff-free")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, procs := range []int{1, 4} {
		prev := runtime.GOMAXPROCS(procs)
		o, err := Explore(Config{Scenario: s, Fixes: revertedFix(t, s), Strategy: MustSpec("pct:3"), Runs: 2000, Seed: 7})
		runtime.GOMAXPROCS(prev)
		if err != nil || o.Failure == nil {
			t.Fatalf("GOMAXPROCS %d: %v, failure %v", procs, err, o.Failure)
		}
		got = append(got, o.Failure.Choices)
	}
	if got[0] != got[1] {
		t.Fatalf("different schedules: %s vs %s", got[0], got[1])
	}
}

// TestRandomWalkReach documents the random walk's reach on the scenarios
// it is not budgeted for: it runs and must not report anything but the
// race (a livelock or a deadlock would be a bug of the scenario).
func TestRandomWalkReach(t *testing.T) {
	for _, s := range Scenarios() {
		o, err := Explore(Config{Scenario: s, Fixes: revertedFix(t, s), Strategy: MustSpec("random"), Runs: 1000, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if o.Failure != nil {
			if k := o.Failure.Result.Failure.Kind; k == sched.Livelock || k == sched.Deadlock {
				t.Fatalf("%s: %v", s.Name, o.Failure.Result.Failure)
			}
		}
		t.Logf("%s: random walk, %d runs: found %v", s.Name, o.Runs, o.Failure != nil)
	}
}

// TestExploreInterrupted: a cancelled context ends the exploration
// between two schedules.
func TestExploreInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	o, err := Explore(Config{Scenario: Scenarios()[0], Fixes: fixes.Default(), Strategy: MustSpec("random"), Runs: 1_000_000, Seed: 1,
		Context: ctx, Progress: func(int, time.Duration) { cancel() }})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Interrupted || o.Runs != 64 || o.Failure != nil {
		t.Fatalf("got %d runs, interrupted %v: want 64, interrupted", o.Runs, o.Interrupted)
	}
}

// TestCheckChoices: a failing schedule's choices fit its scenario; a
// choice of a task that does not exist, or too many choices, do not.
func TestCheckChoices(t *testing.T) {
	s, err := Lookup("swapcache-pin")
	if err != nil {
		t.Fatal(err)
	}
	rep := firstFailure(t, s)
	choices, err := DecodeChoices(rep.Choices)
	if err != nil {
		t.Fatal(err)
	}
	fx := revertedFix(t, s)
	if err := CheckChoices(s, fx, choices); err != nil {
		t.Fatalf("the reported choices: %v", err)
	}
	bad := slices.Clone(choices)
	bad[len(bad)/2] = 99
	long := append(slices.Clone(choices), choices...)
	for _, c := range [][]int{bad, long} {
		if err := CheckChoices(s, fx, c); !errors.Is(err, ErrChoicesMisfit) {
			t.Errorf("misfit choices: %v", err)
		}
	}
}
