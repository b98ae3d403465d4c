//go:build race

package explore

// raceEnabled: the race detector slows schedules down about tenfold;
// the hold budgets shrink accordingly.
const raceEnabled = true
