package main

import (
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"uswap/compare"
	"uswap/explore"
)

// fixes compare: every candidate fix of the seed threads, judged by the
// explorer and priced by the threads' benchmarks in one run (package
// compare).

func init() { addCommand(newFixesCmd) }

func newFixesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fixes",
		Short: "the race fixes of the seed threads and their candidate variants",
		Long: `The race fixes of the seed threads, each with its variants: the code before
any fix, every candidate the thread weighed, the one merged, the kernel's
form. uswap explore --list lists them; --fix NAME=VARIANT chooses one in
explore, stress, bench and fixes compare.`,
	}
	cmd.AddCommand(compareFixesCmd())
	return cmd
}

func compareFixesCmd() *cobra.Command {
	o := compare.DefaultOptions()
	var (
		threads    []string
		strategies []string
		jsonOut    string
		markdown   bool
		htmlFile   string
		quiet      bool
		designs    string
	)
	cmd := &cobra.Command{
		Use:   "compare [--thread 000|003|004] [--design classic|table|both] [--runs N] [--strategy S]... [--rounds R] [--json | --markdown] [--html FILE]",
		Short: "judge every candidate fix with the explorer and price it with the thread's benchmark, side by side",
		Long: `For every variant of a seed thread's fix (uswap explore --list shows them),
run the explorer over the thread's scenarios, strategy after strategy
(--strategy, each for --runs schedules; a DFS stops once it has run every
schedule within its bound), until a schedule breaks one; and measure the
variant with the thread's benchmark, the other fixes at their default:

  000  swap-in pages/s on a synchronous RAM device, one thread and two
       threads faulting the same pages; CPU per page; extra faults
  003  the hot path (CPU per fault of a swap-in) and a swapoff's latency
       with two tasks faulting meanwhile
  004  device reads per failed charge and after, folios stranded in the
       swap cache, how many of them reclaim freed during the run and
       their mean time there ("–" when it freed none), read pages/s with
       hole punches racing, under a memory limit

Costs are medians of --rounds rounds that alternate the variants, printed
relative to the kernel's variant (*). A broken variant's verdict names the
scenario, the schedules it took, what broke, and the command that replays
it; --html writes a page with the table and every such trace.

--design runs it all in one design of the swap core or in both
(docs/swap-table.md): a table per thread and design, the explorer and
the benchmarks on that design's machines, the rounds alternating the
designs too. Costs are relative within a design; bench compare-designs
sets the designs' own figures side by side. A variant whose code only
the classic design has (uswap explore --list marks them), or a scenario
for one design only, does not apply in the table design: its row or
verdict says so and why, and it is neither explored nor measured. In the
table design seed 000's race cannot happen (no bypass, no SWAP_HAS_CACHE:
every swap-in goes through the swap cache): only the kernel's variant
runs there, standing for the table design's own code, and the table says
so.

It touches nothing on the host but its memory; no root needed. All three
threads take two to three minutes on two cores with the defaults.

Exit status: 0 done, 1 the explorer broke a default (kernel's) variant or
a measurement read back corrupt data, 2 a bad flag (an unknown thread,
strategy or design), 3 any other error, 130 interrupted (the threads
finished are printed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(threads) > 0 {
				o.Threads = nil
				for _, t := range threads {
					for _, x := range strings.Split(t, ",") {
						if !slices.Contains(compare.Threads(), x) {
							return usagef("--thread %q: want one of %s", x, strings.Join(compare.Threads(), ", "))
						}
						o.Threads = append(o.Threads, x)
					}
				}
			}
			if err := compare.CheckThreads(o.Threads); err != nil {
				return usagef("--thread: %v", err)
			}
			var err error
			if o.Designs, err = parseDesigns(designs); err != nil {
				return err
			}
			if len(strategies) > 0 {
				o.Strategies = nil
				for _, s := range strategies {
					sp, err := explore.ParseSpec(s)
					if err != nil {
						return usagef("--strategy: %v; want %s", err, strategyHelp)
					}
					o.Strategies = append(o.Strategies, sp)
				}
			}
			switch {
			case o.Runs < 1:
				return usagef("--runs %d: want at least 1", o.Runs)
			case o.Rounds < 1 || o.Rounds > 50:
				return usagef("--rounds %d: want 1 to 50", o.Rounds)
			case o.SwapinMiB < 1 || o.SwapinMiB > 4096:
				return usagef("--swapin-mib %d: want 1 to 4096", o.SwapinMiB)
			case jsonOnly(jsonOut) && markdown:
				return usagef("--json and --markdown both replace the text: choose one")
			}
			if err := checkJSONFlag(jsonOut); err != nil {
				return err
			}
			if err := checkOutput("html", htmlFile); err != nil {
				return err
			}
			if err := checkRAM("swapin-mib", formatSize(int64(o.SwapinMiB)*mib), 2*int64(o.SwapinMiB)*mib+128*mib, "the swap-in benchmark's working set and its compressed copy"); err != nil {
				return err
			}
			if !quiet {
				o.Progress = cmd.ErrOrStderr()
			}
			o.Context = cmd.Context()
			tables, err := compare.Run(o)
			stopped := errors.Is(err, compare.ErrInterrupted)
			if err != nil && !stopped {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case jsonOnly(jsonOut):
			case markdown:
				err = compare.WriteMarkdown(out, tables)
			default:
				err = compare.WriteText(out, tables)
			}
			if err != nil {
				return err
			}
			if err := emitJSON(out, jsonOut, "fixes compare", struct {
				Threads     []*compare.Table `json:"threads"`
				Interrupted bool             `json:"interrupted,omitempty"`
			}{tables, stopped}); err != nil {
				return err
			}
			if htmlFile != "" {
				if err := writeOutput(htmlFile, func(w io.Writer) error { return compare.WriteHTML(w, tables) }); err != nil {
					return err
				}
			}
			if stopped {
				return errInterrupted
			}
			for _, t := range tables {
				for _, r := range t.Rows {
					if r.Default && r.Broken() {
						return failedf("fixes compare: the explorer broke %s=%s, the kernel's variant, in the %s design", t.Fix, r.Variant, t.Design)
					}
					if strings.Contains(r.CostNote, "corrupt") {
						return failedf("fixes compare: %s=%s, %s design: %s", t.Fix, r.Variant, t.Design, r.CostNote)
					}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&threads, "thread", nil, "seed thread to compare: "+strings.Join(compare.Threads(), ", ")+" (repeatable; default all)")
	addDesignFlag(fl, &designs, true)
	fl.StringArrayVar(&strategies, "strategy", nil, "explorer strategy, repeatable, tried in turn: "+strategyHelp+" (default pct:3, walk:0.99, dfs:1)")
	fl.IntVar(&o.Runs, "runs", o.Runs, "schedules per scenario and strategy, at least 1")
	fl.Int64Var(&o.Seed, "seed", o.Seed, "seed of the first schedule")
	fl.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds of every measurement, alternating the variants, 1 to 50")
	fl.Uint64Var(&o.SwapinMiB, "swapin-mib", o.SwapinMiB, "working set of the swap-in and hot-path benchmarks, in MiB, 1 to 4096")
	fl.BoolVar(&markdown, "markdown", false, "print the tables as Markdown")
	fl.StringVar(&htmlFile, "html", "", "also write a page with the tables and every failing trace to this file")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no progress lines on standard error")
	addJSONFlag(cmd, &jsonOut)
	return cmd
}
