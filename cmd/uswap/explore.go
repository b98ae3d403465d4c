package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"uswap/explore"
	"uswap/fixes"
)

// explore: run race scenarios under the controlled scheduler (package
// explore) until a schedule breaks one, and report it so that it replays.

func init() { rootCmd.AddCommand(newExploreCmd()) }

// errRaceFound is returned when a schedule failed: exit status 1, the
// report already printed.
var errRaceFound = errors.New("a schedule failed")

type exploreFlags struct {
	scenario string
	reverts  []string
	choices  []string
	strategy string
	runs     int
	dur      time.Duration
	seed     int64
	replay   string
	html     string
	list     bool
	quiet    bool
}

func newExploreCmd() *cobra.Command {
	var f exploreFlags
	cmd := &cobra.Command{
		Use:   "explore --scenario NAME [--revert FIX] [--strategy random|pct:D|dfs:B] [--runs N | --for DURATION] [--seed S]",
		Short: "find the races of a scenario under the controlled scheduler, replay and draw them",
		Long: `explore runs a race scenario again and again under the controlled
scheduler, one schedule at a time, until a schedule fails (a panic, a
deadlock, a livelock, or the scenario's check and the audit) or the budget
is spent. A failure is reported with its seed, strategy and exact list of
choices, which --replay runs again to the same trace, drawn as columns,
one per task (and with --html as a page).

--revert turns a fix off (the code as it was before it); --scenario all
runs every scenario in turn, --runs and --for counting per scenario.
Strategies: random (a random walk), pct:D (probabilistic concurrency
testing of depth D), dfs:B (every schedule with at most B preemptions).

Exit status: 0 when no schedule failed, 1 when one did, 2 for a usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runExplore(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "", "scenario to run, or all")
	fl.StringArrayVar(&f.reverts, "revert", nil, "run this fix's code from before any fix, or all of them with \"all\" (repeatable)")
	fl.StringArrayVar(&f.choices, "fix", nil, "run a fix as VARIANT: NAME=VARIANT (repeatable; --list shows them)")
	fl.StringVar(&f.strategy, "strategy", "pct:3", "random, pct:D or dfs:B")
	fl.IntVar(&f.runs, "runs", 0, fmt.Sprintf("schedules to run per scenario (default %d unless --for)", explore.DefaultRuns))
	fl.DurationVar(&f.dur, "for", 0, "explore for this long per scenario")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the first schedule (schedule i uses seed+i)")
	fl.StringVar(&f.replay, "replay", "", "replay this list of choices (as a report prints it) instead of exploring")
	fl.StringVar(&f.html, "html", "", "also write the failing trace as an HTML page to this file")
	fl.BoolVar(&f.list, "list", false, "list the scenarios and fixes")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line")
	return cmd
}

func listScenarios(w io.Writer) {
	fmt.Fprintln(w, "scenarios:")
	for _, s := range explore.Scenarios() {
		seed := s.Seed
		if seed == "" {
			seed = "-"
		}
		fmt.Fprintf(w, "  %-20s seed %-4s fix %-24s %s\n", s.Name, seed, s.Fix, firstLine(s.Doc))
	}
	fmt.Fprintln(w, "fixes (--fix NAME=VARIANT; --revert NAME runs the unfixed variant; * marks the default):")
	for _, fx := range fixes.All() {
		in := fx.Info()
		fmt.Fprintf(w, "  %-24s %s\n", fx, in.Race)
		for i, v := range in.Variants {
			mark := " "
			if fixes.Variant(i) == in.Merged {
				mark = "*"
			}
			fmt.Fprintf(w, "    %s %-20s %s\n", mark, v.Name, v.Doc)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func runExplore(cmd *cobra.Command, f exploreFlags) error {
	out := cmd.OutOrStdout()
	if f.list {
		listScenarios(out)
		return nil
	}
	if f.scenario == "" {
		return usagef("explore: --scenario is required (known: all, %s; --list describes them)", strings.Join(explore.Names(), ", "))
	}
	var scs []*explore.Scenario
	if f.scenario == "all" {
		scs = explore.Scenarios()
	} else {
		sc, err := explore.Lookup(f.scenario)
		if err != nil {
			return usagef("explore: %v", err)
		}
		scs = []*explore.Scenario{sc}
	}
	fx := fixes.Default()
	for _, r := range f.reverts {
		var err error
		if fx, err = fx.RevertName(r); err != nil {
			return usagef("explore: --revert: %v", err)
		}
	}
	for _, c := range f.choices {
		var err error
		if fx, err = fx.Choose(c); err != nil {
			return usagef("explore: --fix: %v", err)
		}
	}
	spec, err := explore.ParseSpec(f.strategy)
	if err != nil {
		return usagef("explore: %v", err)
	}
	if f.runs < 0 || f.dur < 0 {
		return usagef("explore: --runs and --for must not be negative")
	}

	if f.replay != "" {
		if f.scenario == "all" {
			return usagef("explore: --replay needs one scenario, not all")
		}
		choices, err := explore.DecodeChoices(f.replay)
		if err != nil {
			return usagef("explore: --replay: %v", err)
		}
		rep, err := explore.Replay(scs[0], fx, choices)
		if err != nil {
			return err
		}
		if err := writeReport(out, f.html, rep); err != nil {
			return err
		}
		if rep.Result.Failure != nil {
			return errRaceFound
		}
		return nil
	}

	// One schedule runs at a time and exactly one of its goroutines at a
	// time: a single P makes every hand-off a direct switch, two to three
	// times faster than waking another P. Results do not depend on it.
	runtime.GOMAXPROCS(1)

	stderr := cmd.ErrOrStderr()
	progress := !f.quiet && stderr == os.Stderr && term.IsTerminal(int(os.Stderr.Fd()))
	for _, sc := range scs {
		cfg := explore.Config{Scenario: sc, Fixes: fx, Strategy: spec, Runs: f.runs, Duration: f.dur, Seed: f.seed}
		if progress {
			var last time.Duration
			cfg.Progress = func(runs int, el time.Duration) {
				if el-last < 200*time.Millisecond {
					return
				}
				last = el
				fmt.Fprintf(stderr, "\r\033[K%s %s: %d schedules, %.0f/s, %v", sc.Name, spec, runs, float64(runs)/el.Seconds(), el.Truncate(100*time.Millisecond))
			}
		}
		o, err := explore.Explore(cfg)
		if progress {
			fmt.Fprint(stderr, "\r\033[K")
		}
		if err != nil {
			return err
		}
		if o.Failure != nil {
			if err := writeReport(out, f.html, o.Failure); err != nil {
				return err
			}
			fmt.Fprintf(out, "\n%d schedules in %v before the failure\n", o.Runs, o.Elapsed.Round(time.Millisecond))
			return errRaceFound
		}
		what := ""
		if o.Exhausted {
			what = fmt.Sprintf(" (every schedule within %d preemptions)", spec.Param)
		}
		fmt.Fprintf(out, "scenario %s, fixes %s, strategy %s, seed %d: %d schedules%s in %v (%.0f/s), no failure\n",
			sc.Name, fx, spec, f.seed, o.Runs, what, o.Elapsed.Round(time.Millisecond), o.PerSecond())
	}
	return nil
}

// writeReport prints the report and, with a file name, writes the page.
func writeReport(w io.Writer, htmlFile string, rep *explore.Report) error {
	if err := explore.WriteReport(w, rep); err != nil {
		return err
	}
	if htmlFile == "" {
		return nil
	}
	fh, err := os.Create(htmlFile)
	if err != nil {
		return err
	}
	if err := explore.WriteHTML(fh, rep); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntrace written to %s\n", htmlFile)
	return nil
}
