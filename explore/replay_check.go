package explore

import (
	"errors"
	"fmt"
	"slices"

	"uswap/sched"
)

// ErrChoicesMisfit marks a list of choices that was not recorded on this
// scenario with these fixes: a choice names a task that is not runnable
// at its decision, or the run ends before the list does.
var ErrChoicesMisfit = errors.New("the choices do not fit the scenario")

// strictReplay replays choices as sched.Replay does, and remembers the
// first decision where the list did not fit.
type strictReplay struct {
	choices  []int
	used     int
	bad      int // index of the first choice that was not runnable, or -1
	runnable []int
}

func (r *strictReplay) Spawned(int) {}

func (r *strictReplay) Pick(d *sched.Decision) int {
	if d.Index < len(r.choices) {
		r.used = d.Index + 1
		c := r.choices[d.Index]
		if slices.Contains(d.Runnable, c) {
			return c
		}
		if r.bad < 0 {
			r.bad, r.runnable = d.Index, slices.Clone(d.Runnable)
		}
	}
	if d.Current >= 0 && slices.Contains(d.Runnable, d.Current) {
		return d.Current
	}
	return d.Runnable[0]
}

// CheckChoices runs sc once with choices and reports, wrapping
// ErrChoicesMisfit, whether they fit it: every choice names a task that
// is runnable at its decision and the run uses them all, as a list that
// Explore reported for sc in env does. It is the check --replay makes
// before replaying.
func CheckChoices(sc *Scenario, env Env, choices []int) error {
	r := &strictReplay{choices: choices, bad: -1}
	if _, _, err := runOnce(sc, env, r, false); err != nil {
		return err
	}
	switch {
	case r.bad >= 0:
		return fmt.Errorf("%w: choice %d is task %d, which is not runnable at that decision of %s (runnable: %v)", ErrChoicesMisfit, r.bad, choices[r.bad], sc.Name, r.runnable)
	case r.used < len(choices):
		return fmt.Errorf("%w: %s ends after %d decisions, the list has %d choices", ErrChoicesMisfit, sc.Name, r.used, len(choices))
	}
	return nil
}
