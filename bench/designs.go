package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"uswap/design"
)

// This file is `uswap bench compare-designs`: usemem's rows and the
// swap-in benchmark's on the uswap engine in both designs of the swap core
// (docs/swap-table.md), in alternating rounds, side by side.

// DesignRow is one workload: its options (the design aside) and what each
// design did on it.
type DesignRow struct {
	Name    string         `json:"name"`
	Options Options        `json:"options"`
	Results []DesignResult `json:"results"` // one per design, design.All()'s order
}

// DesignResult is one design's runs of a row: the medians over the
// rounds of the figures each run reports.
type DesignResult struct {
	Design       design.Design `json:"design"`
	Runs         int           `json:"runs"`
	PagesPerS    float64       `json:"pages_per_s"`
	CPUPerPageNs float64       `json:"cpu_per_page_ns"`
	// Latency is the fault latency percentiles of the passes' visits, in
	// nanoseconds.
	Latency struct {
		P50  int64 `json:"p50_ns"`
		P99  int64 `json:"p99_ns"`
		P999 int64 `json:"p99_9_ns"`
	} `json:"latency"`
	// PerFreeSlot and PerUsedSlot are the swap core's metadata bytes per
	// slot, from the last run (they do not vary between runs).
	PerFreeSlot float64  `json:"bytes_per_free_slot"`
	PerUsedSlot float64  `json:"bytes_per_used_slot"`
	Counters    Counters `json:"counters"` // the last run's
	Corrupt     uint64   `json:"corrupt"`  // over every run
}

// DesignComparison is the whole table.
type DesignComparison struct {
	Rounds int         `json:"rounds"`
	Rows   []DesignRow `json:"rows"`
	// Interrupted is set when ctx ended the runs: Rows holds the rows
	// that ran whole.
	Interrupted bool `json:"interrupted,omitempty"`
}

// DesignRunFunc runs one row in one design: Run on a UswapEngine, or what the
// caller wraps around it.
type DesignRunFunc func(ctx context.Context, o Options) (*Report, error)

// swapinLimitMiB is the swap-in rows' cgroup limit: BenchmarkSwapin's set-up
// (mm/bench_test.go), a working set four times a limit of 1024 pages, one
// task loading.
const swapinLimitMiB = 4

// DesignRows are compare-designs' rows for base: usemem's four rows
// (sequential and random, one and two threads) with base's size and
// limit, and the swap-in benchmark's two (sequential and random, a 16 MiB
// working set in a 4 MiB cgroup, one thread).
func DesignRows(base Options) []DesignRow {
	var rows []DesignRow
	for _, threads := range []int{1, 2} {
		for _, random := range []bool{false, true} {
			o := base
			o.Threads, o.Random, o.Engine = threads, random, "uswap"
			th := "thread"
			if threads > 1 {
				th = "threads"
			}
			rows = append(rows, DesignRow{Name: fmt.Sprintf("usemem %s, %d %s", o.Access(), threads, th), Options: o})
		}
	}
	for _, random := range []bool{false, true} {
		o := base
		o.SizeMiB, o.LimitMiB, o.Threads, o.Random, o.Write, o.Engine = 4*swapinLimitMiB, swapinLimitMiB, 1, random, false, "uswap"
		rows = append(rows, DesignRow{Name: "swap-in " + o.Access(), Options: o})
	}
	return rows
}

// CompareDesigns runs every row on the uswap engine in each design,
// rounds times, alternating the order of the designs from round to round
// so that neither always runs on a warmer (or busier) machine. run (nil:
// Run on a new UswapEngine) runs one; log, if not nil, gets a line per
// run. When ctx ends, the rows done so far are returned, Interrupted.
func CompareDesigns(ctx context.Context, rows []DesignRow, rounds int, run DesignRunFunc, log io.Writer) (*DesignComparison, error) {
	if run == nil {
		run = func(ctx context.Context, o Options) (*Report, error) { return Run(ctx, &UswapEngine{}, o, nil) }
	}
	if rounds < 1 {
		return nil, fmt.Errorf("compare-designs: rounds must be at least 1, not %d", rounds)
	}
	cmp := &DesignComparison{Rounds: rounds}
	for _, row := range rows {
		reps := make(map[design.Design][]*Report)
		for r := range rounds {
			for _, d := range DesignOrder(design.All(), r) {
				o := row.Options
				o.Design = d
				if err := o.Validate(); err != nil {
					return nil, fmt.Errorf("compare-designs: %s: %w", row.Name, err)
				}
				rep, err := run(ctx, o)
				if err != nil {
					return nil, fmt.Errorf("compare-designs: %s, %s design: %w", row.Name, d, err)
				}
				if rep.Interrupted || ctx.Err() != nil {
					cmp.Interrupted = true
					return cmp, nil
				}
				reps[d] = append(reps[d], rep)
				if log != nil {
					fmt.Fprintf(log, "%s, %s design, round %d: %.0f pages/s, %.0f ns CPU per page\n", row.Name, d, r+1, rep.PagesPerS, rep.CPUPerPageNs)
				}
			}
		}
		for _, d := range design.All() {
			row.Results = append(row.Results, summarize(d, reps[d]))
		}
		cmp.Rows = append(cmp.Rows, row)
	}
	return cmp, nil
}

// DesignOrder is the order in which round r (from 0) runs the designs
// ds: as given in even rounds, reversed in odd ones, so that no design
// always runs first, on a cooler (or quieter) machine. compare-designs,
// bench swapin and fixes compare alternate their designs so.
func DesignOrder(ds []design.Design, r int) []design.Design {
	order := slices.Clone(ds)
	if r%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

// summarize is the medians of one design's runs of a row (with an even
// number of runs, the mean of the two middle ones).
func summarize(d design.Design, reps []*Report) DesignResult {
	res := DesignResult{Design: d, Runs: len(reps)}
	med := func(f func(*Report) float64) float64 {
		v := make([]float64, len(reps))
		for i, r := range reps {
			v[i] = f(r)
		}
		slices.Sort(v)
		n := len(v)
		if n%2 == 0 { // the mean of the two middle runs
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[n/2]
	}
	res.PagesPerS = med(func(r *Report) float64 { return r.PagesPerS })
	res.CPUPerPageNs = med(func(r *Report) float64 { return r.CPUPerPageNs })
	res.Latency.P50 = int64(med(func(r *Report) float64 { return float64(r.Latency.P50) }))
	res.Latency.P99 = int64(med(func(r *Report) float64 { return float64(r.Latency.P99) }))
	res.Latency.P999 = int64(med(func(r *Report) float64 { return float64(r.Latency.P999) }))
	last := reps[len(reps)-1]
	if md := last.Metadata; md != nil {
		res.PerFreeSlot, res.PerUsedSlot = md.PerFreeSlot, md.PerUsedSlot
	}
	res.Counters = last.Counters
	for _, r := range reps {
		res.Corrupt += r.Corrupt
	}
	return res
}

// Corrupt is the failed checks of every run.
func (c *DesignComparison) Corrupt() uint64 {
	var n uint64
	for _, row := range c.Rows {
		for _, r := range row.Results {
			n += r.Corrupt
		}
	}
	return n
}

// WriteText prints the table: a line per row and design, each design's
// pages/s also as a ratio to the classic design's.
func (c *DesignComparison) WriteText(w io.Writer) error {
	var b strings.Builder
	if len(c.Rows) > 0 {
		o := c.Rows[0].Options
		fmt.Fprintf(&b, "uswap engine in both swap core designs (docs/swap-table.md): %s %s device, %s pages, passes=%d; medians of %d alternating rounds\n",
			o.Comp, o.Device, o.Pattern, o.Passes, c.Rounds)
	}
	fmt.Fprintf(&b, "%-40s %-8s %10s %7s %9s %8s %8s %9s %8s %8s %8s %8s\n",
		"row", "design", "pages/s", "ratio", "cpu ns/pg", "p50 us", "p99 us", "p99.9 us", "B/free", "B/used", "pswpin", "majflt")
	for _, row := range c.Rows {
		name := fmt.Sprintf("%s (%d/%d MiB)", row.Name, row.Options.SizeMiB, row.Options.LimitMiB)
		var base float64
		for i, r := range row.Results {
			if i == 0 {
				base = r.PagesPerS
			} else {
				name = ""
			}
			ratio := "-"
			if i > 0 && base > 0 {
				ratio = fmt.Sprintf("%.2f", r.PagesPerS/base)
			}
			fmt.Fprintf(&b, "%-40s %-8s %10.0f %7s %9.0f %8.2f %8.2f %9.2f %8.3f %8.3f %8d %8d\n",
				name, r.Design, r.PagesPerS, ratio, r.CPUPerPageNs, us(r.Latency.P50), us(r.Latency.P99), us(r.Latency.P999),
				r.PerFreeSlot, r.PerUsedSlot, r.Counters.Pswpin, r.Counters.Pgmajfault)
		}
	}
	fmt.Fprintf(&b, "corrupt=%d\n", c.Corrupt())
	_, err := io.WriteString(w, b.String())
	return err
}
