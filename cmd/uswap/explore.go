package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"uswap/design"
	"uswap/explore"
	"uswap/fixes"
)

// explore: run race scenarios under the controlled scheduler (package
// explore) until a schedule breaks one, and report it so that it replays.

func init() { addCommand(newExploreCmd) }

type exploreFlags struct {
	scenario string
	fixes    fixFlags
	strategy string
	runs     int
	dur      time.Duration
	seed     int64
	replay   string
	html     string
	jsonOut  string
	list     bool
	quiet    bool
	full     bool
	workers  int
	rebuild  bool
	scripts  []string
	budgets  bool
	design   string
	prove    bool
	// designSet: --design was given (--budgets runs each budget in its
	// own designs and takes none).
	designSet bool
}

// strategyHelp names the strategies with their parameters' ranges.
const strategyHelp = "random, walk:P (0 <= P < 1), pct:D (1 <= D <= 64) or dfs:B (0 <= B <= 64)"

func newExploreCmd() *cobra.Command {
	var f exploreFlags
	cmd := &cobra.Command{
		Use:   "explore --scenario NAME|--script FILE [--revert FIX] [--strategy random|walk:P|pct:D|dfs:B] [--runs N | --duration D] [--seed S] [--workers N]",
		Short: "find the races of a scenario under the controlled scheduler, replay and draw them",
		Long: `explore runs a race scenario again and again under the controlled
scheduler, one schedule at a time, until a schedule fails (a panic, a
deadlock, a livelock, or the scenario's check and the audit) or the budget
is spent. The failing schedule is shrunk (fewer preemptions, then fewer
switches, failing the same way) and reported with what broke, its size
before and after, its exact list of choices (which --replay runs again to
the same trace), the conflict that decides it (the accesses of two tasks
to one kernel object whose order, swapped, makes the failure go away),
and the steps that matter drawn as CPU columns; a livelock is reported
with the loop that spins and what it waits for. --full adds the whole
trace; --html writes it as a page with those steps highlighted.

--revert NAME runs a fix's code from before any fix (all: every fix's),
--fix NAME=VARIANT runs one of its variants (--list shows them); --scenario
all runs every scenario in turn, --runs and --duration counting per
scenario; after a failure the next scenario still runs, and the last
line names every one that failed. Scenarios are scripts
(docs/scenarios.md) built into the binary from
explore/testdata/scenarios; --script FILE runs one from disk,
and --budgets runs scenarios' own explore lines and checks their
verdicts. --workers runs that many schedules at once (0, the default:
one per CPU); the result is the one a single worker gives. A scenario's
machine is built once and every schedule runs on a copy of it
(docs/design.md; cont-lock-carry, whose set-up runs a helper task,
builds one for every schedule); --rebuild builds every schedule's
machine anew instead, slower and with the same result.
--design runs the scenarios' machines in one design of the swap core or
in several (both: each scenario in turn in each); a scenario that
applies to one design only (a script's design=) is not run in the
other, and a line says it does not apply there and why. A --revert or
--fix of a variant whose code only the classic design has (seed 000's
pins, SWAP_MAP_LOCK, count continuation; --list marks them) is refused
with the table design, but --revert all reverts there every fix whose
code from before it the table design has.
--prove runs both halves of each scenario's proof in each design: its
race must be found with its fix reverted (within --runs schedules, or
--duration) where a budget of the scenario finds it, and nothing may
fail with every fix on; where the design has no code of the fix to
revert (seed 000's bypass in the table design) the reverted half is
skipped with a line that says why. It prints one line per half, and
exits 1 if any half fails.
Strategies: random (a uniform random walk), walk:P (a random walk that
keeps the running task with probability P, 0 <= P < 1; default 0.99),
pct:D (probabilistic concurrency testing of depth D, 1 to 64), dfs:B
(every schedule with at most B preemptions, 0 to 64).

It touches nothing on the host; no root needed. Ctrl-C stops between two
schedules and prints the schedules explored so far.

Exit status: 0 no schedule failed (with --budgets: every budget found
what it expects; with --prove: every half held), 1 one did (the report
is printed; with --budgets: a budget found something else; with --prove:
a half did not hold), 2 a bad flag (an unknown scenario, fix or
strategy, a bad script, --replay choices that do not fit the scenario),
3 any other error, 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.designSet = cmd.Flags().Changed("design")
			return runExplore(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "", "scenario to run, or all")
	f.fixes.register(fl)
	fl.StringVar(&f.strategy, "strategy", "pct:3", strategyHelp)
	fl.IntVar(&f.runs, "runs", 0, fmt.Sprintf("schedules to run per scenario (default %d unless --duration)", explore.DefaultRuns))
	fl.DurationVar(&f.dur, "duration", 0, "explore for this long per scenario")
	fl.DurationVar(&f.dur, "for", 0, "the old name of --duration")
	_ = fl.MarkHidden("for")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the first schedule (schedule i uses seed+i)")
	fl.StringVar(&f.replay, "replay", "", "replay this list of choices (as a report prints it) instead of exploring")
	fl.StringVar(&f.html, "html", "", "also write the failing trace as an HTML page to this file")
	fl.BoolVar(&f.list, "list", false, "list the scenarios and fixes")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line")
	fl.BoolVar(&f.full, "full", false, "print the whole trace after the report")
	fl.IntVar(&f.workers, "workers", 0, "schedules to run at once, 0 for one per CPU; the result does not depend on it (dfs runs on one)")
	fl.BoolVar(&f.rebuild, "rebuild", false, "build every schedule's machine anew instead of copying one built once (slower; the same result)")
	fl.StringArrayVar(&f.scripts, "script", nil, "run the scenario script FILE (docs/scenarios.md) from disk; with --list, list it too (repeatable)")
	fl.BoolVar(&f.budgets, "budgets", false, "run each scenario's own budgets (a script's explore lines) and compare what they find with what they expect")
	fl.BoolVar(&f.prove, "prove", false, "check both halves of each scenario's proof in each design: found with its fix reverted, nothing with the fixes on")
	addDesignFlag(fl, &f.design, true)
	addJSONFlag(cmd, &f.jsonOut)
	return cmd
}

func listScenarios(w io.Writer, extra []*explore.Scenario) {
	fmt.Fprintln(w, "scenarios (seed thread, the fix that decides the race, its kernel commit):")
	for _, s := range append(explore.Scenarios(), extra...) {
		seed, fix, commit := s.Seed, s.Fix.String(), s.Commit
		if seed == "" {
			seed = "-"
		}
		if s.NoFix {
			fix, commit = "-", "-"
		}
		if i := strings.IndexByte(commit, ' '); i > 0 {
			commit = commit[:i]
		}
		fmt.Fprintf(w, "  %-20s seed %-4s fix %-14s %-13s %s\n", s.Name, seed, fix, commit, firstLine(s.Doc))
	}
	fmt.Fprintln(w, "fixes (--fix NAME=VARIANT in explore, stress, bench and fixes compare; --revert NAME runs the unfixed")
	fmt.Fprintln(w, "variant; * marks the default, the kernel's; [status] says what became of each in the kernel):")
	for _, fx := range fixes.All() {
		in := fx.Info()
		fmt.Fprintf(w, "  %-24s %s\n", fx, in.Race)
		for i, v := range in.Variants {
			mark := " "
			if fixes.Variant(i) == in.Merged {
				mark = "*"
			}
			doc := v.Doc
			if v.ClassicOnly != "" {
				doc += " (classic design only: " + v.ClassicOnly + ")"
			}
			fmt.Fprintf(w, "    %s %-17s %-19s %s\n", mark, v.Name, "["+v.Status.String()+"]", doc)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// exploreRun is what explore did, checked at the door and then run.
type exploreRun struct {
	scs       []*explore.Scenario
	fx        fixes.Set
	revertAll bool // --revert all: fixesIn keeps, per design, only the reverts whose code exists there
	spec      explore.Spec
	choices   []int
	designs   []design.Design
}

// fixesIn is the fix set a machine of design d runs: the chosen one, but
// with --revert all the table design keeps the fixes whose code before
// the fix only the classic design has at their merged variant
// (fixes.Set.RevertedIn), so that "every fix reverted" means every one
// that can be, in each design.
func (r exploreRun) fixesIn(d design.Design) fixes.Set {
	if r.revertAll {
		return r.fx.RevertedIn(d)
	}
	return r.fx
}

// loadScripts reads the --script files: a bad one is a usage error.
func (f exploreFlags) loadScripts() ([]*explore.Scenario, error) {
	var scs []*explore.Scenario
	for _, file := range f.scripts {
		sc, err := explore.LoadScriptFile(file)
		if err != nil {
			return nil, usagef("--script: %v", err)
		}
		scs = append(scs, sc.Scenario())
	}
	return scs, nil
}

// check validates every flag before any exploration.
func (f exploreFlags) check() (exploreRun, error) {
	var r exploreRun
	fromDisk, err := f.loadScripts()
	if err != nil {
		return r, err
	}
	switch {
	case f.scenario == "" && len(fromDisk) > 0:
		r.scs = fromDisk
	case f.scenario == "":
		return r, usagef("--scenario or --script is required (known: all, %s; --list describes them)", strings.Join(explore.Names(), ", "))
	case f.scenario == "all":
		r.scs = append(explore.Scenarios(), fromDisk...)
	default:
		for _, sc := range fromDisk {
			if sc.Name == f.scenario {
				r.scs = []*explore.Scenario{sc}
			}
		}
		if r.scs == nil {
			sc, err := explore.Lookup(f.scenario)
			if err != nil {
				return r, usagef("--scenario: %v", err)
			}
			r.scs = []*explore.Scenario{sc}
		}
	}
	if f.budgets && (f.replay != "" || f.fixes.given() || f.runs != 0 || f.dur != 0 || f.html != "" || f.jsonOut != "") {
		return r, usagef("--budgets runs the scenarios' own budgets: no --replay, --revert, --fix, --runs, --duration, --html or --json with it")
	}
	if r.fx, err = f.fixes.set(); err != nil {
		return r, err
	}
	spec, err := explore.ParseSpec(f.strategy)
	if err != nil {
		return r, usagef("--strategy: %v; want %s", err, strategyHelp)
	}
	r.spec = spec
	if f.runs < 0 || f.dur < 0 {
		return r, usagef("--runs %d and --duration %v: must not be negative", f.runs, f.dur)
	}
	if f.workers < 0 {
		return r, usagef("--workers %d: must not be negative", f.workers)
	}
	if err := checkOutput("html", f.html); err != nil {
		return r, err
	}
	if err := checkJSONFlag(f.jsonOut); err != nil {
		return r, err
	}
	if r.designs, err = parseDesigns(f.design); err != nil {
		return r, err
	}
	r.revertAll = slices.Contains(f.fixes.reverts, "all")
	for _, d := range r.designs {
		if err := checkDesignFixes(r.fixesIn(d), d); err != nil {
			return r, err
		}
	}
	if f.prove && (f.replay != "" || f.fixes.given() || f.budgets) {
		return r, usagef("--prove chooses which fix to revert itself: it goes with neither --replay, --revert, --fix nor --budgets")
	}
	if f.budgets && f.designSet {
		return r, usagef("--budgets runs each budget in the designs it names (a script's design= keys): no --design with it")
	}
	if f.replay != "" {
		if len(r.scs) != 1 {
			return r, usagef("--replay needs one scenario, not all")
		}
		if len(r.designs) != 1 {
			return r, usagef("--replay needs one design, not %v", r.designs)
		}
		if !r.scs[0].AppliesIn(r.designs[0]) {
			return r, usagef("--replay: scenario %s does not apply to the %s design", r.scs[0].Name, r.designs[0])
		}
		if r.choices, err = explore.DecodeChoices(f.replay); err != nil {
			return r, usagef("--replay: %v", err)
		}
		if err := explore.CheckChoices(r.scs[0], explore.Env{Fixes: r.fx, Design: r.designs[0]}, r.choices); err != nil {
			if errors.Is(err, explore.ErrChoicesMisfit) {
				return r, usagef("--replay: %v; were they recorded with --scenario %s and the same --design, --revert and --fix?", err, f.scenario)
			}
			return r, err
		}
	}
	return r, nil
}

// scenarioJSON is one scenario's exploration in explore's --json output.
type scenarioJSON struct {
	Scenario  string  `json:"scenario"`
	Design    string  `json:"design"`
	Fixes     string  `json:"fixes"`
	Strategy  string  `json:"strategy"`
	Seed      int64   `json:"seed"`
	Workers   int     `json:"workers"`
	Schedules int     `json:"schedules"`
	Steps     int64   `json:"steps"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"schedules_per_s"`
	Exhausted bool    `json:"exhausted"`
	// Machine is "copied" (every schedule ran on a copy of one machine
	// built once) or "built" (each built its own), and BuiltWhy why.
	Machine  string       `json:"machine"`
	BuiltWhy string       `json:"built_why,omitempty"`
	Failure  *failureJSON `json:"failure"`
}

// notApplyingJSON is a scenario and design explore did not run, and why
// (explore.DoesNotApply).
type notApplyingJSON struct {
	Scenario string `json:"scenario"`
	Design   string `json:"design"`
	Why      string `json:"why"`
}

// failureJSON is a failing schedule.
type failureJSON struct {
	Run       int          `json:"run"`
	Seed      int64        `json:"seed"`
	Strategy  string       `json:"strategy"`
	Choices   string       `json:"choices"`
	Broken    string       `json:"broken"`
	Replay    string       `json:"replay"`
	Schedule  scheduleJSON `json:"schedule"`
	Found     scheduleJSON `json:"found"`
	Conflicts []string     `json:"conflicts"`
}

// scheduleJSON sizes a schedule.
type scheduleJSON struct {
	Switches    int `json:"switches"`
	Preemptions int `json:"preemptions"`
	Decisions   int `json:"decisions"`
	Steps       int `json:"steps"`
}

func scheduleOf(s explore.Schedule) scheduleJSON {
	return scheduleJSON{s.Switches, s.Preemptions, s.Decisions, s.Steps}
}

func failureOf(rep *explore.Report) *failureJSON {
	if rep == nil || rep.Result.Failure == nil {
		return nil
	}
	return &failureJSON{rep.Run, rep.Seed, rep.Strategy, rep.Choices, rep.Broken(), rep.ReplayCommand(),
		scheduleOf(rep.Schedule()), scheduleOf(rep.Found), rep.ConflictLines()}
}

func runExplore(cmd *cobra.Command, f exploreFlags) error {
	out := cmd.OutOrStdout()
	if f.list {
		fromDisk, err := f.loadScripts()
		if err != nil {
			return err
		}
		listScenarios(out, fromDisk)
		return nil
	}
	r, err := f.check()
	if err != nil {
		return err
	}
	defer explore.TuneGC()()
	workers := f.workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	if f.budgets {
		return runBudgets(cmd, out, r.scs, workers, f.rebuild)
	}
	text := !jsonOnly(f.jsonOut)
	var results []scenarioJSON
	var notApplying []notApplyingJSON
	emit := func(interrupted bool) error {
		return emitJSON(out, f.jsonOut, "explore", struct {
			Scenarios   []scenarioJSON    `json:"scenarios"`
			NotApplying []notApplyingJSON `json:"not_applying"`
			Interrupted bool              `json:"interrupted,omitempty"`
		}{results, notApplying, interrupted})
	}
	if f.replay != "" {
		rep, err := explore.Replay(r.scs[0], explore.Env{Fixes: r.fx, Design: r.designs[0]}, r.choices)
		if err != nil {
			return err
		}
		results = append(results, scenarioJSON{Scenario: r.scs[0].Name, Design: r.designs[0].String(), Fixes: r.fx.String(), Strategy: "replay", Workers: 1, Schedules: 1, Failure: failureOf(rep)})
		if err := writeReport(out, text, f.html, f.full, rep); err != nil {
			return err
		}
		if err := emit(false); err != nil {
			return err
		}
		if rep.Result.Failure != nil {
			return failedf("the replayed schedule fails")
		}
		return nil
	}

	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	progress := !f.quiet && stderr == os.Stderr && term.IsTerminal(int(os.Stderr.Fd()))
	run := func(cfg explore.Config) (explore.Outcome, error) {
		cfg.Context, cfg.Seed, cfg.Strategy, cfg.Duration, cfg.Workers, cfg.Rebuild = ctx, f.seed, r.spec, f.dur, workers, f.rebuild
		if progress {
			var last time.Duration
			cfg.Progress = func(runs int, el time.Duration) {
				if el-last < 200*time.Millisecond {
					return
				}
				last = el
				fmt.Fprintf(stderr, "\r\033[K%s %s %s: %d schedules, %.0f/s, %v", cfg.Scenario.Name, cfg.Design, r.spec, runs, float64(runs)/el.Seconds(), el.Truncate(100*time.Millisecond))
			}
		}
		o, err := explore.Explore(cfg)
		if progress {
			fmt.Fprint(stderr, "\r\033[K")
		}
		return o, err
	}
	if f.prove {
		return prove(out, text, f, r, run)
	}
	var failed []string // "scenario (design)" of every exploration that failed
	skip := func(sc *explore.Scenario, d design.Design, why string) {
		notApplying = append(notApplying, notApplyingJSON{sc.Name, d.String(), why})
		if text {
			fmt.Fprintf(out, "scenario %s, design %s: %s\n", sc.Name, d, why)
		}
	}
	err = forApplying(r.scs, r.designs, r.fixesIn, skip, func(sc *explore.Scenario, d design.Design) error {
		fx := r.fixesIn(d)
		o, err := run(explore.Config{Scenario: sc, Fixes: fx, Design: d, Runs: f.runs})
		if err != nil {
			return err
		}
		results = append(results, scenarioJSON{sc.Name, d.String(), fx.String(), r.spec.String(), f.seed, o.Workers, o.Runs, o.Steps,
			o.Elapsed.Seconds(), o.PerSecond(), o.Exhausted, machineOf(o), o.BuiltWhy, failureOf(o.Failure)})
		if o.Failure != nil {
			if err := writeReport(out, text, f.html, f.full, o.Failure); err != nil {
				return err
			}
			if text {
				fmt.Fprintf(out, "\n%d schedules in %v before the failure (%s)\n\n", o.Runs, o.Elapsed.Round(time.Millisecond), plural(o.Workers, "worker"))
			}
			// The next scenario or design still runs: with --revert
			// all, --scenario all finds every race in one command.
			failed = append(failed, fmt.Sprintf("%s (%s)", sc.Name, d))
			return nil
		}
		what := ""
		switch {
		case o.Interrupted:
			what = " before the interruption"
		case o.Exhausted:
			what = fmt.Sprintf(" (every schedule within %d preemptions)", r.spec.Param)
		}
		if text {
			fmt.Fprintf(out, "scenario %s, design %s, fixes %s, strategy %s, seed %d: %d schedules%s in %v (%.0f/s, %s, machines %s), no failure\n",
				sc.Name, d, fx, r.spec, f.seed, o.Runs, what, o.Elapsed.Round(time.Millisecond), o.PerSecond(), plural(o.Workers, "worker"), machineOf(o))
		}
		if o.Interrupted {
			if text {
				fmt.Fprintf(out, "interrupted: %d explorations (scenario and design) done\n", len(results))
			}
			if err := emit(true); err != nil {
				return err
			}
			return errInterrupted
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := emit(false); err != nil {
		return err
	}
	switch {
	case len(failed) == 1 && len(results) == 1:
		return failedf("scenario %s: a schedule failed", failed[0])
	case len(failed) > 0:
		if text {
			fmt.Fprintf(out, "%d of %d explorations failed: %s\n", len(failed), len(results), strings.Join(failed, ", "))
		}
		return failedf("%d of %d explorations failed", len(failed), len(results))
	}
	return nil
}

// runBudgets runs every budget of every scenario, on workers goroutines,
// and prints what each found against what it expects; a difference is
// exit status 1. It needs only verdicts: failures are reported as found.
func runBudgets(cmd *cobra.Command, w io.Writer, scs []*explore.Scenario, workers int, rebuild bool) error {
	bad := 0
	for _, sc := range scs {
		if len(sc.Budgets) == 0 {
			fmt.Fprintf(w, "%s: no budgets\n", sc.Name)
			bad++
			continue
		}
		for _, b := range sc.Budgets {
			fx, err := b.FixSet()
			if err != nil {
				return err
			}
			spec, err := explore.ParseSpec(b.Strategy)
			if err != nil {
				return err
			}
			for _, d := range b.Designs(sc) {
				o, err := explore.Explore(explore.Config{Scenario: sc, Fixes: fx, Design: d, Strategy: spec, Runs: b.Runs, Seed: b.Seed, Context: cmd.Context(),
					Workers: workers, AsFound: true, Rebuild: rebuild})
				if err != nil {
					return err
				}
				if o.Interrupted {
					return errInterrupted
				}
				got, want := explore.Verdict(&o), b.WantIn(d)
				mark := "ok"
				if got != want {
					mark = "DIFFERS: want " + want
					bad++
				}
				where := sc.Name
				if b.Line > 0 {
					where = fmt.Sprintf("%s:%d", sc.Name, b.Line)
				}
				fmt.Fprintf(w, "%s: %s (fixes %s, %s design): %s in %d schedules, %v: %s\n", where, b, fx, d, got, o.Runs, o.Elapsed.Round(time.Millisecond), mark)
			}
		}
	}
	if bad > 0 {
		return failedf("%d budgets did not find what they expect", bad)
	}
	return nil
}

// machineOf says how an exploration's schedules got their machines.
func machineOf(o explore.Outcome) string {
	if o.Copied {
		return "copied"
	}
	return "built"
}

// plural is "1 worker", "2 workers".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// writeReport prints the report (as text unless JSON replaces it; with
// the whole trace if full) and, with a file name, writes the page.
func writeReport(w io.Writer, text bool, htmlFile string, full bool, rep *explore.Report) error {
	if text {
		if err := explore.WriteReport(w, rep); err != nil {
			return err
		}
		if full {
			fmt.Fprintln(w)
			if err := explore.WriteTrace(w, rep); err != nil {
				return err
			}
		}
	}
	if htmlFile == "" {
		return nil
	}
	if err := writeOutput(htmlFile, func(fh io.Writer) error { return explore.WriteHTML(fh, rep) }); err != nil {
		return err
	}
	if text {
		fmt.Fprintf(w, "\ntrace written to %s\n", htmlFile)
	}
	return nil
}
