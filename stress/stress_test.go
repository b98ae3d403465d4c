package stress

import (
	"context"
	"strings"
	"testing"
	"time"

	"uswap/design"
	"uswap/invariant"
	"uswap/swapdev"
)

func rules(t *testing.T, specs ...string) []swapdev.FaultRule {
	t.Helper()
	rs, err := swapdev.ParseFaultRules(specs...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func runClean(t *testing.T, cfg Config) *Report {
	t.Helper()
	rep, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.String())
	if !rep.Clean() {
		t.Fatalf("violations:\n%s", rep)
	}
	return rep
}

// forDesigns runs fn as a subtest in each design of the swap core.
func forDesigns(t *testing.T, fn func(t *testing.T, d design.Design)) {
	for _, d := range design.All() {
		t.Run(d.String(), func(t *testing.T) { fn(t, d) })
	}
}

func TestStressRAMFaults(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		rep := runClean(t, Config{Tasks: 4, Ops: 8000, Seed: 1, Design: d, Frames: 512, Limit: 256, Pages: 64, SwapPages: 2048,
			Checkpoint: 3000, Faults: rules(t, "read:rate=0.002", "write:rate=0.01")})
		if rep.PgFault == 0 || rep.SwapOuts == 0 || rep.SwapIns == 0 {
			t.Errorf("no paging: %s", rep)
		}
	})
}

func TestStressFileFaults(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		runClean(t, Config{Tasks: 3, Ops: 4000, Seed: 2, Design: d, Device: "file", Dir: t.TempDir(), Frames: 512, Limit: 200, Pages: 48, SwapPages: 2048,
			Checkpoint: 2000, Faults: rules(t, "read:rate=0.002", "write:rate=0.01", "rw:rate=0.001:delay=10us:nofail")})
	})
}

// Swap smaller than the working sets: full devices and a full cgroup give
// OOM outcomes, never corruption, and work goes on.
func TestStressFullSwap(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		rep := runClean(t, Config{Tasks: 4, Ops: 5000, Seed: 3, Design: d, Frames: 256, Limit: 128, Pages: 64, SwapPages: 24,
			// No swapoff cycles: with both devices full, try_to_unuse retries
			// for long before it gives up, which -race makes slow.
			Checkpoint: 2000, NoController: true})
		if rep.OOM == 0 {
			t.Errorf("no OOM with swap full: %s", rep)
		}
	})
}

func TestStressDuration(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		runClean(t, Config{Tasks: 2, Duration: 200 * time.Millisecond, Seed: 4, Design: d, Frames: 256, Limit: 128, Pages: 32, NoController: true})
	})
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{Tasks: 0, Ops: 1, Frames: 1},
		{Tasks: 1, Frames: 1},
		{Tasks: 1, Ops: 1, Frames: 0},
		{Tasks: 1, Ops: 1, Frames: 10, Limit: 11},
		{Tasks: 1, Ops: 1, Frames: 10, Device: "tape"},
		{Tasks: 1, Ops: -1, Frames: 10},
	} {
		if _, err := Run(c); err == nil {
			t.Errorf("%+v: no error", c)
		} else {
			t.Log(err)
		}
	}
}

// TestStressInterrupted: a context cancelled halfway ends the run at a
// clean point, audited, with the report marked.
func TestStressInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rep := runClean(t, Config{Tasks: 2, Duration: time.Hour, Seed: 5, Frames: 256, Limit: 128, Pages: 32, Checkpoint: 500, Context: ctx})
	if !rep.Interrupted || rep.OpsTotal() == 0 || !strings.Contains(rep.String(), "interrupted") {
		t.Errorf("want an interrupted run with operations done:\n%s", rep)
	}
}

// TestReportNamesInvariants: a report's violations print the broken
// invariant's name on each line and its rule once.
func TestReportNamesInvariants(t *testing.T) {
	r := &Report{Seed: 7, Violations: invariant.List{
		invariant.Newf(invariant.NoLostData, "task 1", "load of 0x1000 in mm 2: corrupted"),
		invariant.Newf(invariant.NoLostData, "task 2", "load of 0x2000 in mm 3: corrupted"),
		invariant.Newf(invariant.SwapCount, "final audit: slot 0:5", "count 2, but 1 swap PTEs hold it"),
	}}
	out := r.String()
	for _, want := range []string{
		"VIOLATION: no-lost-data: task 1: load of 0x1000 in mm 2: corrupted (replay with --seed 7)",
		"VIOLATION: swap-count: final audit: slot 0:5: count 2",
		"  no-lost-data: " + invariant.NoLostData.Rule(),
		"  swap-count: " + invariant.SwapCount.Rule(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, invariant.NoLostData.Rule()); n != 1 {
		t.Errorf("the rule is printed %d times", n)
	}
	if r.Clean() {
		t.Error("a report with violations is clean")
	}
}
