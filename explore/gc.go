package explore

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's target (GOGC) that TuneGC sets.
// An exploration builds and throws away a machine per schedule over a
// live heap of a few MiB, so at the default of 100 the collector runs
// every few dozen schedules and took half of the CPU time (two-faults,
// one worker: 186 µs of CPU per schedule at GOGC=100, 87 at 400, 91 at
// 800; `GOGC=N go test -run XXX -bench 'Schedules/two-faults/classic/
// walk:0.99/workers=1' ./explore/`). 400 costs a heap five times the
// live one, tens of MiB.
const GCPercent = 400

// TuneGC sets the collector's target to GCPercent for a process whose
// work is exploring, unless the environment sets GOGC (the user's choice
// stands). It returns the function that restores the target before.
func TuneGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(GCPercent)
	return func() { debug.SetGCPercent(old) }
}
