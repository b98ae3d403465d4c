package main

import (
	"fmt"
	"io"
	"time"

	"uswap/design"
	"uswap/explore"
	"uswap/fixes"
)

// explore --prove: both halves of each scenario's proof in each design.
// The race is found with the scenario's fix reverted where a budget of
// the scenario finds it (Scenario.RaceIn; with that budget's other
// choices, Scenario.RaceFixes), and nothing fails with every fix on; where the design has no code of the fix to revert (its unfixed
// variant is classic-only, as seed 000's bypass in the table design), the
// first half is skipped with a line saying why: a table-design machine
// refuses that variant. A scenario that no one fix decides (fix=none)
// has only the second half.

// proofJSON is one half of a scenario's proof in explore --prove's --json
// output.
type proofJSON struct {
	Scenario  string       `json:"scenario"`
	Design    string       `json:"design"`
	Half      string       `json:"half"` // "reverted" or "fixed"
	Fixes     string       `json:"fixes"`
	Want      string       `json:"want"` // "found" or "nothing"
	Held      bool         `json:"held"`
	Schedules int          `json:"schedules"`
	Seconds   float64      `json:"seconds"`
	PerSecond float64      `json:"schedules_per_s"`
	Failure   *failureJSON `json:"failure"`
	// Skipped says why the half did not run (the design has no code of
	// the fix, or the scenario is for the other design); held is then
	// true and want empty.
	Skipped string `json:"skipped,omitempty"`
}

// prove runs --prove: per scenario and design, the reverted half and
// the fixed half, each with --runs schedules (DefaultRuns unless
// --duration), one line per half. A half that did not hold is exit
// status 1, after every half ran (or an interruption stopped them).
func prove(out io.Writer, text bool, f exploreFlags, r exploreRun, run func(explore.Config) (explore.Outcome, error)) error {
	runs := f.runs
	if runs == 0 && f.dur == 0 {
		runs = explore.DefaultRuns
	}
	var proof []proofJSON
	ran, failed := 0, 0 // halves run, and those that did not hold
	emit := func(interrupted bool) error {
		return emitJSON(out, f.jsonOut, "explore", struct {
			Proof       []proofJSON `json:"proof"`
			Held        bool        `json:"held"`
			Interrupted bool        `json:"interrupted,omitempty"`
		}{proof, failed == 0 && !interrupted, interrupted})
	}
	skip := func(sc *explore.Scenario, d design.Design, why string) {
		proof = append(proof, proofJSON{Scenario: sc.Name, Design: d.String(), Half: "both", Held: true, Skipped: why})
		if text {
			fmt.Fprintf(out, "%-16s %-8s %s\n", sc.Name, d, why)
		}
	}
	err := forApplying(r.scs, r.designs, r.fixesIn, skip, func(sc *explore.Scenario, d design.Design) error {
		halves := []string{"reverted", "fixed"}
		if sc.NoFix {
			halves = halves[1:] // no one fix decides it: every variant must hold
		}
		for _, half := range halves {
			fx, want := r.fx, "nothing"
			if half == "reverted" {
				fx = sc.RaceFixes(d, r.fx)
				if why := explore.DoesNotApply(sc, fx, d); why != "" {
					// The design has no code of the fix to revert
					// (a classic-only variant): nothing to prove.
					proof = append(proof, proofJSON{Scenario: sc.Name, Design: d.String(), Half: half, Fixes: fx.String(), Held: true, Skipped: why})
					if text {
						fmt.Fprintf(out, "%-16s %-8s %-9s skipped: %s\n", sc.Name, d, half, why)
					}
					continue
				}
				if sc.RaceIn(d) {
					want = "found"
				}
			}
			o, err := run(explore.Config{Scenario: sc, Fixes: fx, Design: d, Runs: runs})
			if err != nil {
				return err
			}
			if o.Interrupted && o.Failure == nil {
				if text {
					fmt.Fprintf(out, "%-16s %-8s %-9s interrupted after %d schedules\n", sc.Name, d, half, o.Runs)
				}
				if err := emit(true); err != nil {
					return err
				}
				return errInterrupted
			}
			ran++
			held := (o.Failure != nil) == (want == "found")
			if !held {
				failed++
			}
			proof = append(proof, proofJSON{sc.Name, d.String(), half, fx.String(), want, held, o.Runs,
				o.Elapsed.Seconds(), o.PerSecond(), failureOf(o.Failure), ""})
			if text {
				if err := proofLine(out, sc, d.String(), half, fx, want, held, o); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := emit(false); err != nil {
		return err
	}
	if failed > 0 {
		return failedf("--prove: %d of %d halves did not hold", failed, ran)
	}
	return nil
}

// proofLine prints one half: what was wanted and what happened, and the
// report of a failure that was not wanted.
func proofLine(out io.Writer, sc *explore.Scenario, d, half string, fx fixes.Set, want string, held bool, o explore.Outcome) error {
	el := o.Elapsed.Round(time.Millisecond)
	head := fmt.Sprintf("%-16s %-8s %-9s", sc.Name, d, half)
	switch {
	case want == "found" && held:
		fmt.Fprintf(out, "%s found after %d schedules (%v): %s\n", head, o.Runs, el, firstLine(o.Failure.Broken()))
	case want == "found":
		fmt.Fprintf(out, "%s NOT FOUND in %d schedules (%v)\n", head, o.Runs, el)
	case held:
		what := ""
		if half == "reverted" {
			// Its budgets find no race with the fix reverted here: the
			// race is a variant's (swapin-zap's map-lock), or the
			// design's own code has none (seed 000's scenarios in the
			// table design).
			what = fmt.Sprintf(": the scenario's budgets find no race with fix %s reverted in this design", sc.Fix)
		}
		fmt.Fprintf(out, "%s nothing in %d schedules (%v, %.0f/s)%s\n", head, o.Runs, el, o.PerSecond(), what)
	default:
		fmt.Fprintf(out, "%s FAILED after %d schedules with fixes %s:\n", head, o.Runs, fx)
		return explore.WriteReport(out, o.Failure)
	}
	return nil
}
