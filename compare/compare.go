// Package compare answers a seed thread's two questions about each of its
// candidate fixes, in one run: is it correct, and what does it cost?
// For every variant of the thread's fix (package fixes) it runs the
// explorer over the thread's scenarios (package explore), stopping at the
// first schedule that breaks one, and measures the variant with the
// thread's own benchmark (package bench), the other fixes at their
// default. Costs are medians of rounds that alternate the variants (and
// the designs), and are printed relative to the kernel's variant.
//
// It does so in each design of the swap core asked for (package design,
// docs/swap-table.md), a table per thread and design. A variant whose
// code only the classic design has, or a scenario for another design,
// does not apply in the table design: the table says so and why
// (DoesNotApply), and neither explores nor measures it.
//
// It is a tool outside the engine: it uses clocks and goroutines freely.
package compare

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"uswap/bench"
	"uswap/design"
	"uswap/explore"
	"uswap/fixes"
)

// Options say what a comparison runs.
type Options struct {
	// Threads are the seed threads to compare ("000", "003", "004").
	Threads []string
	// Designs are the swap core designs to compare them in, each thread
	// in each (none: the classic design).
	Designs []design.Design
	// Strategies are tried in turn on every scenario, each for Runs
	// schedules (a DFS stops earlier when it has run every schedule
	// within its bound).
	Strategies []explore.Spec
	Runs       int
	Seed       int64
	// Rounds of every cost measurement, alternating the variants; the
	// median is kept.
	Rounds int
	// SwapinMiB is seed 000's and 003's working set; SwapoffMiB seed
	// 003's swapoff and SwapoffFaulters the tasks faulting during it;
	// ShmemPages and ShmemOps seed 004's files and work.
	SwapinMiB       uint64
	SwapoffMiB      uint64
	SwapoffFaulters int
	ShmemPages      int
	ShmemOps        int
	// Progress, if set, gets a line per step.
	Progress io.Writer
	// Context, if set, stops the comparison when done, between two
	// explorations or measurements: Run returns the tables finished so
	// far, and ErrInterrupted.
	Context context.Context
}

// ErrInterrupted is Run's error when Options.Context stopped it.
var ErrInterrupted = errors.New("compare: interrupted")

func (o Options) stopped() bool { return o.Context != nil && o.Context.Err() != nil }

// DefaultOptions run all three threads in a few minutes on two shared
// cores.
func DefaultOptions() Options {
	return Options{
		Threads:         []string{"000", "003", "004"},
		Designs:         []design.Design{design.Classic},
		Strategies:      []explore.Spec{explore.MustSpec("pct:3"), explore.MustSpec("walk:0.99"), explore.MustSpec("dfs:1")},
		Runs:            2000,
		Seed:            1,
		Rounds:          3,
		SwapinMiB:       64,
		SwapoffMiB:      32,
		SwapoffFaulters: 2,
		ShmemPages:      1024,
		ShmemOps:        40000,
	}
}

// Threads lists the seed threads that have a fix, in order.
func Threads() []string {
	var ts []string
	for _, f := range fixes.All() {
		if th := f.Info().Thread; th != "" && !slices.Contains(ts, th) {
			ts = append(ts, th)
		}
	}
	return ts
}

// Table is one thread's comparison in one design.
type Table struct {
	Thread string        `json:"thread"`
	Design design.Design `json:"design"`
	Fix    string        `json:"fix"`
	Commit string        `json:"commit"`
	Race   string        `json:"race"`
	// NoRace says why the race cannot happen in Design, when the fix's
	// code from before any fix has no counterpart there (seed 000 in the
	// table design): the kernel's variant then stands for the design's
	// own code, and what the explorer says of it is that code's verdict.
	NoRace   string        `json:"no_race,omitempty"`
	Costs    []CostName    `json:"costs"`
	Rows     []*Row        `json:"variants"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	fix      fixes.Fix
	merged   int
	measures func(o Options, fx fixes.Set, d design.Design) ([]float64, string, error)
}

// CostName is one cost column: what it measures, its unit, and whether
// less is better.
type CostName struct {
	Name       string `json:"name"`
	Unit       string `json:"unit"`
	LessBetter bool   `json:"less_is_better"`
}

// Cost is one measured cost. NotMeasured, when no round measured it,
// prints as "–" and is null in JSON.
type Cost float64

// NotMeasured is the cost of a column that no round could measure.
var NotMeasured = Cost(math.NaN())

// Measured reports whether c is not NotMeasured.
func (c Cost) Measured() bool { return !math.IsNaN(float64(c)) }

// MarshalJSON is the number, or null when it was not measured.
func (c Cost) MarshalJSON() ([]byte, error) {
	if !c.Measured() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(c))
}

// Row is one variant.
type Row struct {
	Variant string `json:"variant"`
	Status  string `json:"status"`
	Default bool   `json:"default"`
	Source  string `json:"source"`
	Doc     string `json:"doc"`
	// Verdicts has one entry per scenario of the thread.
	Verdicts []*Verdict `json:"verdicts"`
	// Costs are the medians, in the order of Table.Costs; Relative are
	// the same over the default variant's (0 when either is 0 or not
	// measured). A cost no round measured (the mean time of the stranded
	// folios reclaim freed, when it freed none) is NotMeasured.
	Costs    []Cost `json:"costs"`
	Relative []Cost `json:"relative"`
	// CostNote says what went wrong in a measurement (a crash of a
	// broken variant), if anything.
	CostNote string `json:"cost_note,omitempty"`
	// NotApplying says why the variant does not run in the table's
	// design (DoesNotApply); it is then neither explored nor measured.
	NotApplying string `json:"does_not_apply,omitempty"`
}

// Broken reports whether the explorer found a failure in any scenario.
func (r *Row) Broken() bool {
	for _, v := range r.Verdicts {
		if v.Found {
			return true
		}
	}
	return false
}

// Verdict is the explorer's conclusion on one scenario.
type Verdict struct {
	Scenario string `json:"scenario"`
	// NotApplying says why the scenario was not explored in the table's
	// design (DoesNotApply), if it was not.
	NotApplying string `json:"does_not_apply,omitempty"`
	Found       bool   `json:"found"`
	// Strategies are the strategies run, with the schedules each took;
	// Schedules their total.
	Strategies []string `json:"strategies"`
	Schedules  int      `json:"schedules"`
	// With a failure: what it broke, as the scripts' budgets say it (the
	// invariants' names, or livelock, deadlock, panic), what broke in
	// words (the invariant and its object, or the failure), and the
	// command that replays it.
	Kind    string          `json:"kind,omitempty"`
	Broke   string          `json:"broke,omitempty"`
	Replay  string          `json:"replay,omitempty"`
	Report  *explore.Report `json:"-"`
	Elapsed time.Duration   `json:"elapsed_ns"`
}

// Run compares every variant of each thread's fix in each design, a
// table per thread and design, the designs of a thread in o.Designs'
// order. Interrupted, it returns the threads it finished and
// ErrInterrupted.
func Run(o Options) ([]*Table, error) {
	designs := o.Designs
	if len(designs) == 0 {
		designs = []design.Design{design.Classic}
	}
	for i, d := range designs {
		switch {
		case !slices.Contains(design.All(), d):
			return nil, fmt.Errorf("compare: unknown swap design %v (want one of %v)", d, design.All())
		case slices.Contains(designs[:i], d):
			return nil, fmt.Errorf("compare: the %s design is given twice", d)
		}
	}
	var tables []*Table
	for _, th := range o.Threads {
		var ts []*Table
		for _, d := range designs {
			t, err := newTable(th, d)
			if err != nil {
				return nil, err
			}
			if err := t.explore(o); err != nil {
				return tables, err
			}
			ts = append(ts, t)
		}
		if err := measure(o, ts); err != nil {
			return tables, err
		}
		tables = append(tables, ts...)
	}
	return tables, nil
}

// CheckThreads reports the first thread that has no fix or no benchmark.
func CheckThreads(threads []string) error {
	for _, th := range threads {
		if _, err := newTable(th, design.Classic); err != nil {
			return err
		}
	}
	return nil
}

func newTable(thread string, d design.Design) (*Table, error) {
	var f fixes.Fix
	found := false
	for _, x := range fixes.All() {
		if x.Info().Thread == thread {
			f, found = x, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("compare: no fix for seed thread %q (known: %v)", thread, Threads())
	}
	in := f.Info()
	t := &Table{Thread: thread, Design: d, Fix: f.String(), Commit: in.Commit, Race: in.Race, fix: f, merged: int(in.Merged)}
	if !f.RunsIn(in.Unfixed, d) {
		t.NoRace = fmt.Sprintf("the race cannot happen in the %s design: the code before the fix (%s=%s) has no counterpart there (%s); the kernel's variant (*) runs the %s design's own code",
			d, f, f.VariantName(in.Unfixed), f.ClassicOnly(in.Unfixed), d)
	}
	switch thread {
	case "000":
		t.Costs, t.measures = seed000Costs, measure000
	case "003":
		t.Costs, t.measures = seed003Costs, measure003
	case "004":
		t.Costs, t.measures = seed004Costs, measure004
	default:
		return nil, fmt.Errorf("compare: seed thread %s has no benchmark", thread)
	}
	for i, v := range in.Variants {
		t.Rows = append(t.Rows, &Row{Variant: v.Name, Status: v.Status.String(), Default: i == t.merged, Source: v.Source, Doc: v.Doc,
			NotApplying: explore.DoesNotApply(nil, t.fixes(i), d)})
	}
	return t, nil
}

// fixes is the set that runs the table's variant i, every other fix at
// its default.
func (t *Table) fixes(i int) fixes.Set { return fixes.Default().With(t.fix, fixes.Variant(i)) }

func progressf(o Options, format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// explore runs the thread's scenarios under every variant that applies
// in the table's design, and records why the others do not.
func (t *Table) explore(o Options) error {
	start := time.Now()
	defer func() { t.Elapsed += time.Since(start) }()
	// One schedule runs at a time: a single P makes every hand-off a
	// direct switch (see explore.Explore). The benchmarks get every P.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var scs []*explore.Scenario
	for _, s := range explore.Scenarios() {
		if s.Fix == t.fix && !s.NoFix {
			scs = append(scs, s)
		}
	}
	for i, row := range t.Rows {
		fx := t.fixes(i)
		for _, sc := range scs {
			v := &Verdict{Scenario: sc.Name, NotApplying: explore.DoesNotApply(sc, fx, t.Design)}
			if v.NotApplying != "" {
				row.Verdicts = append(row.Verdicts, v)
				continue
			}
			start := time.Now()
			for _, spec := range o.Strategies {
				out, err := explore.Explore(explore.Config{Scenario: sc, Fixes: fx, Design: t.Design, Strategy: spec, Runs: o.Runs, Seed: o.Seed, Context: o.Context})
				if err != nil {
					return err
				}
				if out.Interrupted {
					return ErrInterrupted
				}
				v.Schedules += out.Runs
				label := fmt.Sprintf("%s %d", spec, out.Runs)
				if out.Exhausted {
					label += " (all)"
				}
				v.Strategies = append(v.Strategies, label)
				if rep := out.Failure; rep != nil {
					v.Found, v.Report = true, rep
					v.Kind = strings.TrimPrefix(explore.Verdict(&out), "found ")
					v.Broke = firstLine(rep.Broken())
					v.Replay = rep.ReplayCommand()
					break
				}
			}
			v.Elapsed = time.Since(start)
			row.Verdicts = append(row.Verdicts, v)
			progressf(o, "  %s=%s, %s design, %s: %s", t.Fix, row.Variant, t.Design, sc.Name, v.Short())
		}
		if row.NotApplying != "" {
			progressf(o, "  %s=%s: %s", t.Fix, row.Variant, row.NotApplying)
		}
	}
	return nil
}

// Short is the verdict in a few words.
func (v *Verdict) Short() string {
	if v.NotApplying != "" {
		return v.NotApplying
	}
	if !v.Found {
		return fmt.Sprintf("nothing in %d schedules (%s)", v.Schedules, joinStrategies(v.Strategies))
	}
	return fmt.Sprintf("%s after %d schedules (%s): %s", v.Kind, v.Schedules, joinStrategies(v.Strategies), v.Broke)
}

func joinStrategies(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// measure runs the thread's benchmark for every variant of every table
// of ts (one thread, one table per design) that applies in its design,
// o.Rounds times, alternating the variants and the designs (the designs'
// order reversed every other round, as bench.DesignOrder), and keeps
// the medians.
func measure(o Options, ts []*Table) error {
	samples := make([][][][]float64, len(ts)) // [table][variant][round][cost]
	var ds []design.Design
	for k, t := range ts {
		samples[k] = make([][][]float64, len(t.Rows))
		ds = append(ds, t.Design)
	}
	for round := range max(o.Rounds, 1) {
		for _, d := range bench.DesignOrder(ds, round) {
			k := slices.Index(ds, d)
			t := ts[k]
			for i, row := range t.Rows {
				if row.NotApplying != "" {
					continue
				}
				if o.stopped() {
					return ErrInterrupted
				}
				start := time.Now()
				vals, note, err := t.measures(o, t.fixes(i), t.Design)
				t.Elapsed += time.Since(start)
				if err != nil {
					return fmt.Errorf("compare: %s=%s, %s design: %w", t.Fix, row.Variant, t.Design, err)
				}
				if note != "" && row.CostNote == "" {
					row.CostNote = note
				}
				samples[k][i] = append(samples[k][i], vals)
				progressf(o, "  %s=%s, %s design, round %d: %v", t.Fix, row.Variant, t.Design, round+1, vals)
			}
		}
	}
	for k, t := range ts {
		t.summarize(samples[k])
	}
	return nil
}

// summarize keeps the medians of samples ([variant][round][cost]) and
// their ratios to the default variant's; a variant that does not apply
// has no samples, and its costs are NotMeasured.
func (t *Table) summarize(samples [][][]float64) {
	for i, row := range t.Rows {
		row.Costs = make([]Cost, len(t.Costs))
		for c := range t.Costs {
			var xs []float64
			for _, s := range samples[i] {
				xs = append(xs, s[c])
			}
			row.Costs[c] = median(xs)
		}
	}
	base := t.Rows[t.merged].Costs
	for _, row := range t.Rows {
		row.Relative = make([]Cost, len(t.Costs))
		for c := range t.Costs {
			if base[c] != 0 && base[c].Measured() && row.Costs[c].Measured() {
				row.Relative[c] = row.Costs[c] / base[c]
			}
		}
	}
}

// median is the median of the rounds that measured the cost (a round
// gives NaN when it had nothing to measure), NotMeasured if none did.
func median(xs []float64) Cost {
	s := slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(s) == 0 {
		return NotMeasured
	}
	slices.SortFunc(s, cmp.Compare[float64])
	return Cost(s[len(s)/2])
}

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// Seed 000: swap-in on a synchronous RAM device, one reader and two
// readers faulting the same pages.
var seed000Costs = []CostName{
	{"swap-in, 1 thread", "pages/s", false},
	{"swap-in, 2 threads on the same pages", "pages/s", false},
	{"CPU per page, 1 thread", "µs", true},
	{"faults beyond one per page, 2 threads", "faults", true},
}

func measure000(o Options, fx fixes.Set, d design.Design) ([]float64, string, error) {
	so := bench.DefaultSwapinOptions()
	so.SizeMiB, so.Fixes, so.Design = o.SwapinMiB, fx, d
	one, err := bench.Swapin(so)
	if err != nil {
		return nil, "", err
	}
	so.Threads = 2
	two, err := bench.Swapin(so)
	if err != nil {
		return nil, "", err
	}
	note := ""
	if one.Corrupt+two.Corrupt > 0 {
		note = fmt.Sprintf("%d corrupt pages read back", one.Corrupt+two.Corrupt)
	}
	return []float64{one.PagesPerS, two.PagesPerS, us(one.CPUPerPage), float64(two.Faults - two.Pages)}, note, nil
}

// Seed 003: the hot path (a swap-in's CPU per fault, every fault taking
// get_swap_device as the variant does) and a swapoff with two tasks
// faulting meanwhile.
var seed003Costs = []CostName{
	{"CPU per fault (swap-in, 1 thread)", "µs", true},
	{"swap-in, 1 thread", "pages/s", false},
	{"swapoff with 2 faulting tasks", "ms", true},
	{"faults during swapoff", "faults/s", false},
}

func measure003(o Options, fx fixes.Set, d design.Design) ([]float64, string, error) {
	so := bench.DefaultSwapinOptions()
	so.SizeMiB, so.Fixes, so.Design = o.SwapinMiB, fx, d
	in, err := bench.Swapin(so)
	if err != nil {
		return nil, "", err
	}
	off, err := bench.Swapoff(bench.SwapoffOptions{SizeMiB: o.SwapoffMiB, Faulters: o.SwapoffFaulters, Comp: "lz4", Fixes: fx, Design: d})
	if err != nil {
		return nil, "", err
	}
	note := ""
	if off.Crashed != "" {
		note = "a task crashed during swapoff: " + off.Crashed
	}
	return []float64{us(in.CPUPerPage), in.PagesPerS, float64(off.Swapoff) / float64(time.Millisecond), off.FaultsPerS}, note, nil
}

// Seed 004: device reads of failed charges, strays, throughput under a
// memory limit with hole punches racing the reads.
var seed004Costs = []CostName{
	{"device reads per failed charge", "reads", true},
	{"device reads when read again after the failures", "reads", true},
	{"folios stranded in the swap cache", "folios", true},
	{"stranded folios reclaim freed in the run", "folios", false},
	{"mean time stranded until reclaim", "ms", true},
	{"reads with hole punches racing", "pages/s", false},
}

func measure004(o Options, fx fixes.Set, d design.Design) ([]float64, string, error) {
	so := bench.DefaultShmemOptions()
	so.Pages, so.Ops, so.Fixes, so.Design = o.ShmemPages, o.ShmemOps, fx, d
	r, err := bench.Shmem(so)
	if err != nil {
		return nil, "", err
	}
	note := ""
	if r.Corrupt > 0 {
		note = fmt.Sprintf("%d corrupt pages", r.Corrupt)
	}
	life := math.NaN() // nothing to measure: reclaim freed no stranded folio
	if r.StraysFreed > 0 {
		life = float64(r.StrayLifetime) / float64(time.Millisecond)
	}
	return []float64{r.ReadsPerFailedCharge, float64(r.ReadBack), float64(r.Strays), float64(r.StraysFreed), life, r.PagesPerS}, note, nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
