package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Variant is one engine set-up a comparison runs in every round: the
// kernel engine, or uswap with background memcg reclaim on or off.
type Variant struct {
	Engine         string `json:"engine"`
	MemcgBgReclaim bool   `json:"memcg_bg_reclaim"`
}

// Name is "kernel", "uswap bg=on" or "uswap bg=off".
func (v Variant) Name() string {
	if v.Engine != "uswap" {
		return v.Engine
	}
	return "uswap memcg_bg_reclaim=" + onOff(v.MemcgBgReclaim)
}

// Range is the median, minimum and maximum of one figure over rounds.
type Range struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func rangeOf(xs []float64) Range {
	if len(xs) == 0 {
		return Range{}
	}
	return Range{Median: median(xs), Min: slices.Min(xs), Max: slices.Max(xs)}
}

func (r Range) format(scale float64, prec int) string {
	return fmt.Sprintf("%.*f (%.*f..%.*f)", prec, r.Median*scale, prec, r.Min*scale, prec, r.Max*scale)
}

// Summary is one variant's figures over the complete rounds.
type Summary struct {
	Variant
	Runs      int   `json:"runs"`
	PagesPerS Range `json:"pages_per_s"`
	// CPU time per page visited in the passes: user plus system, and each.
	CPUPerPageNs  Range `json:"cpu_per_page_ns"`
	UserPerPageNs Range `json:"user_per_page_ns"`
	SysPerPageNs  Range `json:"sys_per_page_ns"`
	// OfBound is the run's pages/s as a fraction of what its compressor's
	// cost allows on the cores it used (Bound.OfBound).
	OfBound Range `json:"of_bound"`
	// Ratio is, for a uswap variant, its pages/s over the kernel's in
	// the same round.
	Ratio *Range `json:"ratio_to_kernel,omitempty"`
}

// Comparison is `bench compare`: rounds of every variant, run in turn
// (kernel, uswap, kernel, uswap, ...), each variant's figures over the
// rounds, and the machine they ran on.
type Comparison struct {
	Options   Options   `json:"options"`
	Rounds    int       `json:"rounds"`
	Variants  []Variant `json:"variants"`
	Runs      []*Report `json:"runs"` // in the order they ran
	Summaries []Summary `json:"summaries"`
	Comp      *CompCost `json:"compressor,omitempty"` // the last run's compressor cost
	Machine   Machine   `json:"machine"`
	Interrupt bool      `json:"interrupted,omitempty"`
	runVar    []Variant // runVar[i] is Runs[i]'s variant
	runRound  []int     // runRound[i] is Runs[i]'s round, from 1
	watch     *Watch    // nil once stopped
}

// OwnThreads is how many threads a run of opts keeps busy at most: the
// walkers, and uswap's background reclaimer.
func OwnThreads(opts Options) int { return opts.Threads + 1 }

// RunFunc runs one engine on opts (the caller's way of running it: its
// undo list and interrupt handling).
type RunFunc func(ctx context.Context, engine string, opts Options) (*Report, error)

// Compare runs rounds rounds of variants on opts, each round every
// variant in turn, and summarizes them. It stops at the first error, or
// when ctx is done (Interrupt): the comparison then covers the runs that
// completed. onRun, if not nil, gets each run's line (RunLine) as the run
// ends.
func Compare(ctx context.Context, opts Options, rounds int, variants []Variant, run RunFunc, onRun func(line string)) (*Comparison, error) {
	c := &Comparison{Options: opts, Rounds: rounds, Variants: variants, watch: WatchMachine(OwnThreads(opts))}
	var err error
	defer func() { c.finish() }()
	for r := 1; r <= rounds && !c.Interrupt; r++ {
		for _, v := range variants {
			o := opts
			o.MemcgBgReclaim = v.MemcgBgReclaim
			var rep *Report
			rep, err = run(ctx, v.Engine, o)
			if rep != nil {
				c.Runs = append(c.Runs, rep)
				c.runVar = append(c.runVar, v)
				c.runRound = append(c.runRound, r)
				if onRun != nil {
					onRun(c.RunLine(len(c.Runs) - 1))
				}
			}
			if err != nil {
				return c, err
			}
			if rep == nil || rep.Interrupted || ctx.Err() != nil {
				c.Interrupt = true
				break
			}
		}
	}
	return c, nil
}

// finish stops the watch and summarizes the complete runs.
func (c *Comparison) finish() {
	if c.watch != nil {
		c.Machine = c.watch.Stop()
		c.watch = nil
	}
	kernel := map[int]float64{} // round -> kernel pages/s
	for i, r := range c.Runs {
		if c.runVar[i].Engine == "kernel" && !r.Interrupted {
			kernel[c.runRound[i]] = r.PagesPerS
		}
	}
	for _, v := range c.Variants {
		s := Summary{Variant: v}
		var rate, cpu, user, sys, of, ratio []float64
		for i, r := range c.Runs {
			if c.runVar[i] != v || r.Interrupted {
				continue
			}
			s.Runs++
			rate = append(rate, r.PagesPerS)
			cpu = append(cpu, r.CPUPerPageNs)
			user = append(user, r.perPage(r.CPU.User)*1e3)
			sys = append(sys, r.perPage(r.CPU.Sys)*1e3)
			if r.Bound != nil {
				of = append(of, r.Bound.OfBound)
			}
			if k, ok := kernel[c.runRound[i]]; ok && v.Engine != "kernel" && k > 0 {
				ratio = append(ratio, r.PagesPerS/k)
			}
			if r.Bound != nil {
				cc := r.Bound.CompCost
				c.Comp = &cc
			}
		}
		if s.Runs == 0 {
			continue
		}
		s.PagesPerS, s.CPUPerPageNs, s.UserPerPageNs, s.SysPerPageNs = rangeOf(rate), rangeOf(cpu), rangeOf(user), rangeOf(sys)
		s.OfBound = rangeOf(of)
		if len(ratio) > 0 {
			rr := rangeOf(ratio)
			s.Ratio = &rr
		}
		c.Summaries = append(c.Summaries, s)
	}
}

// HeaderLine is the comparison's first line: the work.
func HeaderLine(o Options, rounds int) string {
	return fmt.Sprintf("compare size_mib=%d limit_mib=%d passes=%d threads=%d access=%s pattern=%s comp=%s device=%s rounds=%d",
		o.SizeMiB, o.LimitMiB, o.Passes, o.Threads, o.Access(), o.Pattern, o.Comp, o.Device, rounds)
}

// RunLine is run i's line.
func (c *Comparison) RunLine(i int) string {
	var b strings.Builder
	r := c.Runs[i]
	fmt.Fprintf(&b, "round %d engine=%s pages_per_s=%.0f cpu_us_per_page=%.3f user_us=%.3f sys_us=%.3f",
		c.runRound[i], c.runVar[i].Name(), r.PagesPerS, r.CPUPerPageNs/1e3, r.perPage(r.CPU.User), r.perPage(r.CPU.Sys))
	if r.Bound != nil {
		fmt.Fprintf(&b, " of_bound=%.2f cores_used=%.2f", r.Bound.OfBound, r.Bound.CoresUsed)
	}
	fmt.Fprintf(&b, " pswpin=%d pswpout=%d corrupt=%d", r.Counters.Pswpin, r.Counters.Pswpout, r.Corrupt)
	if r.Interrupted {
		b.WriteString(" interrupted")
	}
	return b.String()
}

// WriteText prints the header, one line per run, then the tail
// (WriteTail).
func (c *Comparison) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", HeaderLine(c.Options, c.Rounds))
	for i := range c.Runs {
		fmt.Fprintf(&b, "%s\n", c.RunLine(i))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return c.WriteTail(w)
}

// WriteTail prints the compressor's cost, the machine, and each variant's
// figures over the rounds: median (min..max).
func (c *Comparison) WriteTail(w io.Writer) error {
	var b strings.Builder
	if cc := c.Comp; cc != nil {
		fmt.Fprintf(&b, "compressor comp=%s impl=%q compress_us=%.3f decompress_us=%.3f per_page_us=%.3f comp_ratio=%.2f\n",
			cc.Comp, cc.Impl, cc.CompressNs/1e3, cc.DecompressNs/1e3, (cc.CompressNs+cc.DecompressNs)/1e3, cc.Ratio)
	}
	fmt.Fprintf(&b, "%s\n", c.Machine.Line())
	for _, s := range c.Summaries {
		fmt.Fprintf(&b, "summary engine=%s runs=%d pages_per_s=%s cpu_us_per_page=%s user_us=%s sys_us=%s of_bound=%s\n",
			s.Name(), s.Runs, s.PagesPerS.format(1, 0), s.CPUPerPageNs.format(1e-3, 3),
			s.UserPerPageNs.format(1e-3, 3), s.SysPerPageNs.format(1e-3, 3), s.OfBound.format(1, 2))
	}
	for _, s := range c.Summaries {
		if s.Ratio != nil {
			bg := ""
			if s.Engine == "uswap" {
				bg = " memcg_bg_reclaim=" + onOff(s.MemcgBgReclaim)
			}
			fmt.Fprintf(&b, "ratio %s/kernel=%.2f (%.2f..%.2f)%s rounds=%d\n",
				s.Engine, s.Ratio.Median, s.Ratio.Min, s.Ratio.Max, bg, len(c.ratioRounds(s.Variant)))
		}
	}
	if c.Interrupt {
		fmt.Fprintf(&b, "interrupted: %d of %d runs complete; the figures are theirs\n", c.complete(), c.Rounds*len(c.Variants))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ratioRounds are the rounds in which v and the kernel both completed.
func (c *Comparison) ratioRounds(v Variant) []int {
	done := map[Variant]map[int]bool{}
	for i, r := range c.Runs {
		if !r.Interrupted {
			if done[c.runVar[i]] == nil {
				done[c.runVar[i]] = map[int]bool{}
			}
			done[c.runVar[i]][c.runRound[i]] = true
		}
	}
	var rounds []int
	for r := 1; r <= c.Rounds; r++ {
		if done[v][r] && done[Variant{Engine: "kernel"}][r] {
			rounds = append(rounds, r)
		}
	}
	return rounds
}

func (c *Comparison) complete() int {
	n := 0
	for _, r := range c.Runs {
		if !r.Interrupted {
			n++
		}
	}
	return n
}

// Corrupt is the failed checks of every run.
func (c *Comparison) Corrupt() uint64 {
	var n uint64
	for _, r := range c.Runs {
		n += r.Corrupt
	}
	return n
}
