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

	"uswap/design"
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
		if !s.NoFix && !slices.Contains(known, s.Fix) {
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

// firstFailures are the reports firstFailure made, shared by the tests
// that read them: each is shrunk and its conflict searched, which costs
// hundreds of replays. Callers must not change them.
var firstFailures = map[string]*Report{}

// firstFailure finds the scenario's race with its first budget that
// finds one.
func firstFailure(t *testing.T, s *Scenario) *Report {
	t.Helper()
	if r := firstFailures[s.Name]; r != nil {
		return r
	}
	b, ok := findBudget(s)
	if !ok {
		t.Fatalf("%s: no budget finds anything", s.Name)
	}
	fx, err := b.FixSet()
	if err != nil {
		t.Fatal(err)
	}
	o, err := Explore(Config{Scenario: s, Fixes: fx, Strategy: MustSpec(b.Strategy), Runs: b.Runs, Seed: b.Seed, Workers: runtime.GOMAXPROCS(0)})
	if err != nil {
		t.Fatal(err)
	}
	if o.Failure == nil {
		t.Fatalf("%s: no failure with %v", s.Name, b)
	}
	firstFailures[s.Name] = o.Failure
	return o.Failure
}

// revertedFix runs s's fix unfixed.
func revertedFix(t *testing.T, s *Scenario) fixes.Set {
	t.Helper()
	return fixes.Default().Revert(s.Fix)
}

// findBudget is the first budget of s that finds something in the
// classic design.
func findBudget(s *Scenario) (Budget, bool) { return findBudgetIn(s, design.Classic) }

// findBudgetIn is the first budget of s that finds something in design d.
func findBudgetIn(s *Scenario, d design.Design) (Budget, bool) {
	for _, b := range s.Budgets {
		if b.RunsIn(s, d) && b.WantIn(d) != NothingFound {
			return b, true
		}
	}
	return Budget{}, false
}

func formatted(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteReport(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func fullTrace(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteTrace(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReplayExact(t *testing.T) {
	for _, s := range Scenarios() {
		b, ok := findBudget(s)
		if !ok {
			continue
		}
		fx, err := b.FixSet()
		if err != nil {
			t.Fatal(err)
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
			for _, procs := range []int{1, 8} {
				prev := runtime.GOMAXPROCS(procs)
				rep, err := Replay(s, Env{Fixes: fx}, choices)
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
				rep.Shrunk, rep.Found, rep.FoundChoices, rep.ShrinkRuns = found.Shrunk, found.Found, found.FoundChoices, found.ShrinkRuns
				traces = append(traces, formatted(t, rep)+fullTrace(t, rep))
			}
			for _, tr := range traces[1:] {
				if tr != traces[0] {
					t.Fatal("reports differ across GOMAXPROCS")
				}
			}
			if traces[0] != formatted(t, found)+fullTrace(t, found) {
				t.Fatalf("the replay's report differs from the exploration's:\n%s\n---\n%s", traces[0], formatted(t, found))
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
					if !strings.Contains(fullTrace(t, found), w) {
						t.Errorf("trace lacks %q", w)
					}
				}
			}
		})
	}
}

// engineNames are names a scenario's failing trace must show.
var engineNames = map[string][]string{
	"swapcache-pin":  {"ptl@0x", "pte@0x", "ci0[0]->lock", "si0->users", "mm0->mmap_lock", "folio(pfn ", "->flags", "si0->swap_map[9]"},
	"swapoff-swapin": {"ptl@0x", "si0->users", "swap_info[0]", "free si0->swap_map", "free si0->cluster_info"},
	"swapoff-free":   {"si0->swap_map[", "si0->cluster_info", "zram0->table["},
	"shmem-swapoff":  {"shmem0->i_pages[0]", "shmem0->i_pages.xa_lock"},
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
		o, err := Explore(Config{Scenario: s, Fixes: fixes.Default().Revert(s.Fix), Strategy: MustSpec("pct:3"), Runs: 2000, Seed: 7})
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
	if err := CheckChoices(s, Env{Fixes: fx}, choices); err != nil {
		t.Fatalf("the reported choices: %v", err)
	}
	bad := slices.Clone(choices)
	bad[len(bad)/2] = 99
	long := append(slices.Clone(choices), choices...)
	for _, c := range [][]int{bad, long} {
		if err := CheckChoices(s, Env{Fixes: fx}, c); !errors.Is(err, ErrChoicesMisfit) {
			t.Errorf("misfit choices: %v", err)
		}
	}
}
