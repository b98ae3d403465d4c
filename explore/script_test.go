package explore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"uswap/design"
	"uswap/fixes"
	"uswap/sched"
)

// TestScripts runs every embedded script through datadriven: each
// explore line runs its budget and compares the verdict with the
// expected output (`go test ./explore -run TestScripts -rewrite` writes
// the new verdicts into the files). The directives datadriven reads
// must be the ones the registry read.
func TestScripts(t *testing.T) {
	n := 0
	for _, s := range Scenarios() {
		if s.Script == nil {
			continue
		}
		n++
		t.Run(s.Name, func(t *testing.T) { runScript(t, s, s.Script.File) })
	}
	if n == 0 {
		t.Fatal("no scripts registered")
	}
}

// runScript runs the script file at path, which holds s, with datadriven.
func runScript(t *testing.T, s *Scenario, path string) {
	k := 0
	ds := s.Script.directives
	datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
		if k >= len(ds) {
			t.Fatalf("%s: datadriven reads more directives than the registry (%d)", d.Pos, len(ds))
		}
		want := ds[k]
		k++
		if err := sameDirective(d, want); err != nil {
			t.Fatalf("%s: datadriven and the registry read the script differently: %v", d.Pos, err)
		}
		if d.Cmd != "explore" {
			return ""
		}
		for _, b := range s.Budgets {
			if b.Line == want.line {
				return runBudget(t, s, b)
			}
		}
		t.Fatalf("%s: no budget for the explore line", d.Pos)
		return ""
	})
	if k != len(ds) {
		t.Fatalf("datadriven read %d directives, the registry %d", k, len(ds))
	}
}

// runScriptSource writes src as the script NAME.txt in a directory of
// its own, loads it from there and runs it.
func runScriptSource(t *testing.T, name, src string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".txt")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadScriptFile(file)
	if err != nil {
		t.Fatal(err)
	}
	runScript(t, sc.Scenario(), file)
}

// sameDirective compares what datadriven read with what the registry
// read.
func sameDirective(d *datadriven.TestData, want directive) error {
	if !strings.HasSuffix(d.Pos, fmt.Sprintf(":%d", want.line)) {
		return fmt.Errorf("directive at %s, registry's at line %d", d.Pos, want.line)
	}
	if d.Cmd != want.cmd {
		return fmt.Errorf("command %q, registry's %q", d.Cmd, want.cmd)
	}
	var got []scriptArg
	for _, a := range d.CmdArgs {
		got = append(got, scriptArg{Key: a.Key, Vals: a.Vals})
	}
	if len(got) != len(want.args) {
		return fmt.Errorf("arguments %v, registry's %v", got, want.args)
	}
	for i := range got {
		if got[i].Key != want.args[i].Key || !slices.Equal(got[i].Vals, want.args[i].Vals) {
			return fmt.Errorf("argument %v, registry's %v", got[i], want.args[i])
		}
	}
	if d.Input != want.input {
		return fmt.Errorf("input %q, registry's %q", d.Input, want.input)
	}
	return nil
}

// runBudget explores s with b in every design b runs in and returns
// the verdicts as its expected output says them (JoinVerdicts). A budget
// that must find nothing runs a tenth of its schedules with -short and a
// third under the race detector (about ten times slower); one that must
// find a race runs whole (it stops at the first failure).
func runBudget(t testing.TB, s *Scenario, b Budget) string {
	t.Helper()
	fx, err := b.FixSet()
	if err != nil {
		t.Fatal(err)
	}
	ds := b.Designs(s)
	if len(ds) == 0 {
		t.Fatalf("%s runs in no design of %s", b, s.Name)
	}
	var vs []string
	for _, d := range ds {
		runs := b.Runs
		if b.WantIn(d) == NothingFound {
			if testing.Short() {
				runs = max(runs/10, 1)
			}
			if raceEnabled {
				runs = max(runs/3, 1)
			}
		}
		o, err := Explore(Config{Scenario: s, Fixes: fx, Design: d, Strategy: MustSpec(b.Strategy), Runs: runs, Seed: b.Seed, AsFound: true, Workers: runtime.GOMAXPROCS(0)})
		if err != nil {
			t.Fatal(err)
		}
		v := Verdict(&o)
		if o.Failure != nil {
			t.Logf("%s (%s, %s design): %s on run %d of %d: %s", b, fx, d, v, o.Failure.Run, runs, o.Failure.Broken())
			if o.Failure.Result.Failure == nil {
				t.Errorf("%s design: run %d failed, its replay did not", d, o.Failure.Run)
			}
		} else {
			t.Logf("%s (%s, %s design): %s in %d runs", b, fx, d, v, o.Runs)
		}
		vs = append(vs, v)
	}
	return JoinVerdicts(ds, vs)
}

// TestScriptMachines: every embedded script's machine is one the engine
// builds (the registry does not build them at start-up).
func TestScriptMachines(t *testing.T) {
	for _, s := range Scenarios() {
		if s.Script != nil {
			if err := s.Script.CheckMachine(); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestBudgets: every scenario says, in every design it applies to, how
// to find its race (or, in a design with no code of its fix, that its
// fix reverted finds nothing there) and how long to look for nothing,
// and a Go scenario's budgets hold (a script's run in TestScripts).
func TestBudgets(t *testing.T) {
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			for _, d := range design.All() {
				if !s.AppliesIn(d) {
					continue
				}
				finds, none, holds := false, false, false
				for _, b := range s.Budgets {
					fx, err := b.FixSet()
					if err != nil {
						t.Fatalf("%v: %v", b, err)
					}
					if !b.RunsIn(s, d) {
						continue
					}
					want := b.WantIn(d)
					changed := !s.NoFix && fx.Get(s.Fix) != s.Fix.Info().Merged
					switch {
					case want == NothingFound && len(fx.Changed()) == 0:
						holds = true
					case changed && strings.HasPrefix(want, "found "):
						finds = true
					case changed && want == NothingFound:
						none = true
					}
				}
				if !holds {
					t.Errorf("%s design: no budget finds nothing with every fix on (an explore line without revert whose output is %q)", d, NothingFound)
				}
				// A design where every variant but the default is
				// classic-only has no code of the fix to revert.
				if !s.NoFix && !finds && !none && s.Fix.RunsIn(s.Fix.Info().Unfixed, d) {
					t.Errorf("%s design: no budget finds the race with %s reverted or another of its variants (an explore revert or variant= line whose output is found ...), nor says that the design has no race (its output %q there)", d, s.Fix, NothingFound)
				}
			}
			if s.Script != nil {
				return
			}
			for _, b := range s.Budgets {
				if got := runBudget(t, s, b); got != b.Want {
					t.Errorf("%v: %s, want %s", b, got, b.Want)
				}
			}
		})
	}
}

// raceScript is a new scenario as an mm engineer would write it: about
// thirty lines, nothing else. Its budgets are the ones it must meet.
const raceScript = `# A fault on a swapped-out page against swapoff (seed 003's swap-in
# half): without get_swap_device(), swapoff frees swap_map under the
# fault.
#
#	fault (load P[0])          swapoff
#	si = swap_info[type]
#	                           try_to_unuse(): P[0] mapped
#	                           swap_map = NULL
#	swap_map[offset]  !!! freed

scenario fix=swap-device seed=003 panic=no-use-after-swapoff
swapoff frees swap_map under a fault on one of its pages
----

machine frames=16 page-cluster=0
device ram pages=10
----

setup
map P pages=1
store P[0] fill=0x3c
pageout P[0]
expect P[0]=swap used-slots=1
----

task fault
load P[0] fill=0x3c
----

task swapoff
swapoff 0
----

check
expect swap0=off
audit
load P[0] fill=0x3c
----

explore revert strategy=dfs:1 runs=100
----
found no-use-after-swapoff

explore strategy=pct:3 runs=50
----
nothing found
`

// TestNewScript: a script added to the scenarios directory with nothing
// else is registered and its expectations run, through the same loader
// the embedded scripts go through.
func TestNewScript(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fault-swapoff.txt"), []byte(raceScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not a script"), 0o644); err != nil {
		t.Fatal(err)
	}
	scs, err := loadScripts(os.DirFS(dir), ".", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 1 || scs[0].Name != "fault-swapoff" || scs[0].Fix != fixes.SwapDevice || scs[0].Thread != "003" {
		t.Fatalf("loaded %+v", scs)
	}
	if lines := strings.Count(raceScript, "\n"); lines > 50 {
		t.Errorf("the example script is %d lines; keep it short", lines)
	}
	s := scs[0].Scenario()
	if !strings.Contains(s.Doc, "swap_map[offset]  !!! freed") {
		t.Errorf("the drawing is not in the scenario's doc: %q", s.Doc)
	}
	runScript(t, s, filepath.Join(dir, "fault-swapoff.txt"))
}

// TestScriptErrors: a bad script is refused with the file, the line and
// what is wrong.
func TestScriptErrors(t *testing.T) {
	good := func(edit func(string) string) string { return edit(raceScript) }
	for _, tc := range []struct {
		name, src, want string
	}{
		{"no-fix", good(func(s string) string { return strings.Replace(s, "fix=swap-device ", "", 1) }), "name the fix"},
		{"unknown-fix", good(func(s string) string { return strings.Replace(s, "fix=swap-device", "fix=nope", 1) }), `unknown fix "nope"`},
		{"unknown-verb", good(func(s string) string { return strings.Replace(s, "swapoff 0", "swapout 0", 1) }), `line 31: unknown verb "swapout"`},
		{"bad-page", good(func(s string) string { return strings.Replace(s, "store P[0]", "store P[1]", 1) }), `"P[1]": P has 1 pages`},
		{"undeclared", good(func(s string) string {
			return strings.Replace(s, "load P[0] fill=0x3c\n----\n\ntask", "load Q[0]\n----\n\ntask", 1)
		}), "Q is not declared"},
		{"fill-too-big", good(func(s string) string { return strings.Replace(s, "fill=0x3c\npageout", "fill=0x13c\npageout", 1) }), "more than a byte"},
		{"device", good(func(s string) string { return strings.Replace(s, "swapoff 0", "swapoff 1", 1) }), "devices 0..0"},
		{"no-separator", "scenario fix=swapcache\nsummary\n", "has no ---- line"},
		{"order", good(func(s string) string {
			return strings.Replace(s, "machine frames=16", "task early\nload P[0]\n----\n\nmachine frames=16", 1)
		}), "out of place"},
		{"bad-strategy", good(func(s string) string { return strings.Replace(s, "strategy=dfs:1", "strategy=bfs", 1) }), "bfs"},
		{"bad-expect", good(func(s string) string { return strings.Replace(s, "expect swap0=off", "expect swap0=gone", 1) }), "on or off"},
		{"signal-in-setup", good(func(s string) string { return strings.Replace(s, "pageout P[0]\n", "pageout P[0]\nsignal x\n", 1) }), "signal cannot be used in a setup block"},
		{"unknown-arg", good(func(s string) string { return strings.Replace(s, "pageout P[0]", "pageout P[0] fast=yes", 1) }), "pageout does not take fast=yes"},
		{"cpu-in-task", good(func(s string) string { return strings.Replace(s, "swapoff 0\n----", "swapoff 0 cpu=1\n----", 1) }), "only a setup line takes a CPU"},
		{"file-device", good(func(s string) string { return strings.Replace(s, "device ram", "device file", 1) }), "RAM devices"},
		{"name", raceScript, "file name"},
		{"bad-design", good(func(s string) string { return strings.Replace(s, "panic=no-use-after-swapoff", "design=swapmap", 1) }), `unknown swap design "swapmap"`},
		{"budget-design", good(func(s string) string { return strings.Replace(s, "strategy=dfs:1", "strategy=dfs:1 design=both", 1) }), `unknown swap design "both"`},
		{"budget-other-design", good(func(s string) string {
			return strings.Replace(strings.Replace(s, "panic=no-use-after-swapoff", "panic=no-use-after-swapoff design=classic", 1), "strategy=dfs:1", "strategy=dfs:1 design=table", 1)
		}), "applies to the classic design only"},
		{"machine", good(func(s string) string {
			return strings.Replace(s, "device ram pages=10", "device ram pages=10\nmemcg limit=64", 1)
		}), "line 15: machine: system: memcg limit 64 pages is above the 16 frames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := "testdata/scenarios/" + tc.name + ".txt"
			if tc.name == "name" {
				file = "Bad_Name.txt"
			}
			_, err := LoadScript(file, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("LoadScript = %v, want an error naming %s and saying %q", err, file, tc.want)
			}
		})
	}
}

// TestBudgetDesigns: a budget runs in the designs its scenario applies to
// (or the one its design= names), and its expected output gives one
// verdict, or one per design where they differ; a scenario's race is in
// the designs where a budget with its fix reverted finds it.
func TestBudgetDesigns(t *testing.T) {
	s, err := Lookup("swapcache-pin")
	if err != nil {
		t.Fatal(err)
	}
	if !s.RaceIn(design.Classic) || s.RaceIn(design.Table) || !s.AppliesIn(design.Table) {
		t.Errorf("swapcache-pin: race in classic %v, in table %v; applies in table %v", s.RaceIn(design.Classic), s.RaceIn(design.Table), s.AppliesIn(design.Table))
	}
	if o, _ := Lookup("swapoff-free"); !o.RaceIn(design.Classic) || !o.RaceIn(design.Table) {
		t.Error("swapoff-free: its race is in both designs")
	}
	both := design.All()
	if got := JoinVerdicts(both, []string{NothingFound, NothingFound}); got != NothingFound {
		t.Errorf("JoinVerdicts, same: %q", got)
	}
	joined := JoinVerdicts(both, []string{"found no-lost-data", NothingFound})
	if joined != "classic: found no-lost-data\ntable: nothing found" {
		t.Errorf("JoinVerdicts, different: %q", joined)
	}
	b := Budget{Want: joined}
	if b.WantIn(design.Classic) != "found no-lost-data" || b.WantIn(design.Table) != NothingFound {
		t.Errorf("WantIn: %q, %q", b.WantIn(design.Classic), b.WantIn(design.Table))
	}
	one := Budget{Design: "table", Want: NothingFound}
	if ds := one.Designs(s); len(ds) != 1 || ds[0] != design.Table || one.WantIn(design.Table) != NothingFound {
		t.Errorf("a table-only budget runs in %v", ds)
	}
	classicOnly := &Scenario{Name: "c", Designs: []design.Design{design.Classic}}
	if ds := (Budget{}).Designs(classicOnly); len(ds) != 1 || ds[0] != design.Classic {
		t.Errorf("a classic scenario's budget runs in %v", ds)
	}
}

// TestParseScriptLine: the reader's line syntax is datadriven's.
func TestParseScriptLine(t *testing.T) {
	for _, line := range []string{
		"explore revert strategy=pct:3 runs=1000",
		"device ram pages=10 faults=(read:offset=3:times=1, write:rate=0.5) prio=-1",
		"store P[0..7] fill=0x10+i",
		"load P[2] pattern=(10, 20) mm=child",
		"x a=(b, (c, d), e) f= g",
		"bad (a",
		"a=(unclosed",
	} {
		cmd, args, err := parseScriptLine(line)
		wcmd, wargs, werr := datadriven.ParseLine(line)
		if (err == nil) != (werr == nil) || cmd != wcmd || len(args) != len(wargs) {
			t.Errorf("%q: %q %v %v; datadriven: %q %v %v", line, cmd, args, err, wcmd, wargs, werr)
			continue
		}
		for i := range args {
			if args[i].Key != wargs[i].Key || !slices.Equal(args[i].Vals, wargs[i].Vals) {
				t.Errorf("%q: argument %v, datadriven's %v", line, args[i], wargs[i])
			}
		}
	}
}

// TestScriptTrace: a failing script's report names the script's
// completions and carries its drawing in the HTML page.
func TestScriptTrace(t *testing.T) {
	s, err := Lookup("swapcache-pin")
	if err != nil {
		t.Fatal(err)
	}
	rep := firstFailure(t, s)
	var h bytes.Buffer
	if err := WriteHTML(&h, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"A_done", "pte_same(E(S)): passes!"} {
		if !strings.Contains(h.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if rep.Result.Failure.Kind != sched.CheckFailed {
		t.Errorf("failure %v, want the check's", rep.Result.Failure)
	}
}

// TestScriptForkTimes: times=N repeats a line; a name forked N times
// names every child for exit. Seventy forks of a swapped-out page take
// its count past SWAP_MAP_MAX into count continuation and back.
func TestScriptForkTimes(t *testing.T) {
	const src = `scenario fix=none
seventy children share a swapped-out page
----

machine frames=32 page-cluster=0
device ram pages=16
----

setup
map P pages=1
store P[0] fill=0x77
pageout P[0]
fork kids times=70
expect P[0]=swap mm=kids used-slots=1
----

task parent
load P[0] fill=0x77
----

task child
load P[0] fill=0x77 mm=kids
exit kids
----

check
audit
exit
audit-empty
----

explore strategy=random runs=4
----
nothing found
`
	runScriptSource(t, "fork-times", src)
}

// TestScriptSetupError: a setup that does not get where the script says
// is an error of the script, naming its line, not a race.
func TestScriptSetupError(t *testing.T) {
	src := strings.Replace(raceScript, "expect P[0]=swap used-slots=1", "expect P[0]=swap used-slots=2", 1)
	sc, err := LoadScript("testdata/scenarios/setup-error.txt", src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Explore(Config{Scenario: sc.Scenario(), Fixes: fixes.Default(), Strategy: MustSpec("random"), Runs: 1})
	if err == nil || !strings.Contains(err.Error(), "setup-error.txt: line 23: expect P[0]=swap used-slots=2") || !strings.Contains(err.Error(), "is 1, want 2") {
		t.Fatalf("Explore = %v, want the setup's line and what it found", err)
	}
}

// TestScriptVerbs runs every verb once where its outcome is certain (the
// setup runs alone), so that each does what docs/scenarios.md says.
func TestScriptVerbs(t *testing.T) {
	const src = `scenario fix=none
every verb, once
----

machine frames=64 page-cluster=0
device ram pages=16
device ram pages=16 sync=off
memcg limit=48 swap=24
----

setup
map P pages=2
store P fill=0x21+i
pageout P swapouts=2
expect P=swap used-slots=2 pswpout=2
mincore P resident=0
faults 0 rules=(read)
load P[0] allow=bus             # the read fails: SIGBUS, the entry stays
expect P[0]=swap
faults 0
reclaim                         # the table design's failed folio stays in the swap cache until reclaim drops it
load P[0] fill=0x21 swapins=1
load P[1] fill=(0x99, 0x22) breaks=no-lost-data
shmem create F pages=2
shmem write F fill=0x31+i
map S pages=2 shared=F
mincore S resident=2              # in the file, not yet mapped
load S[1] fill=0x32
store S[0] fill=0x41
shmem read F[0] fill=0x41
shmem truncate F pages=1
shmem punch F[0]
shmem read F[0] zero
limit memory=40 swap=20
mm other memcg=root
map Q pages=1 mm=other
store Q[0] fill=0x51
fork kid mm=other
load Q[0] fill=0x51 mm=kid
exit kid
fork never mm=other killed-at=0 # EINTR: the child is torn down
load Q[0] fill=0x51 mm=other cpu=1
exit other
swapoff 0
expect swap0=off P=present
swapon 0
expect swap0=on
munmap P[1]
expect P[1]=none
reclaim pages=4
----

task a
load P[0] fill=0x21
----

check
shmem delete F
munmap S
shmem umount
exit
audit-empty
shutdown
----

explore strategy=random runs=2
----
nothing found
`
	runScriptSource(t, "verbs", src)
}

// TestScriptKswapd: a machine with kswapd gets a task that stops it once
// the script's tasks are done, so that every run ends.
func TestScriptKswapd(t *testing.T) {
	const src = `scenario fix=none
kswapd reclaims while a task fills memory
----

machine frames=32 kswapd=on watermarks=(4, 8, 12)
device ram pages=64
----

task fill
map P pages=40
store P pattern=i
load P pattern=i
exit
----

check
audit-empty
----

explore strategy=random runs=5
----
nothing found
`
	runScriptSource(t, "kswapd", src)
}

func TestStripComment(t *testing.T) {
	for in, want := range map[string]string{
		"load P[0]":                 "load P[0]",
		"load P[0]   # a comment":   "load P[0]   ",
		"# all comment":             "",
		"faults 0 rules=(a#b) # x":  "faults 0 rules=(a#b) ",
		"store P fill=1\t# tabbed":  "store P fill=1\t",
		"a#b # the second one cuts": "a#b ",
	} {
		if got := stripComment(in); got != want {
			t.Errorf("stripComment(%q) = %q, want %q", in, got, want)
		}
	}
}
