package explore

import (
	"fmt"
	"reflect"

	"uswap/internal/snapshot"
	"uswap/ksync"
	"uswap/sched"
)

// machines makes the machine of every schedule of one exploration: a
// copy of one built once, when the scenario can be copied (it has a
// Build, as the scripts and the pager scenarios do, its set-up runs on
// the main task alone, and its machine obeys internal/snapshot's
// rules), or else a new build for every schedule.
//
// A copy runs from where the set-up left the scheduler (sched.Prefix), so
// a schedule on a copy makes the same decisions, step for step, as one
// that builds its own machine: the Outcome is the same either way (a
// test checks it for every scenario). The failing schedule's report, its
// shrinking and its conflict search build their machines afresh, which
// checks once more that the copy found what a build shows.
type machines struct {
	sc  *Scenario
	env Env
	// snap is the prototype, built once and never run, as Take
	// recorded it (it keeps the prototype alive); nil: every schedule
	// builds its own.
	snap  *snapshot.Snapshot
	after sched.Prefix
	// why says why every schedule builds its own machine, if it does.
	why string
}

// snapshotOptions are the rules of a scenario's machine: a compiled
// script is immutable and shared; a scheduler's task belongs to a run
// and must not be reachable from a machine at rest.
var snapshotOptions = snapshot.Options{
	Shared:  []reflect.Type{reflect.TypeFor[*Script]()},
	Refused: []reflect.Type{reflect.TypeFor[*ksync.Task]()},
}

// newMachines builds the prototype, unless rebuild says not to copy.
func newMachines(sc *Scenario, env Env, rebuild bool) (*machines, error) {
	ms := &machines{sc: sc, env: env}
	switch {
	case rebuild:
		ms.why = "asked to build every machine (--rebuild)"
		return ms, nil
	case sc.Build == nil:
		ms.why = "the scenario has no Build: it builds every machine"
		return ms, nil
	}
	var m Machine
	var err error
	r := sched.Run(sched.Replay(nil), sched.Options{MaxSteps: maxStepsOf(sc)}, func(t *ksync.Task) {
		m, err = sc.Build(t, env)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errSetup, sc.Name, err)
	}
	after, ok := r.Prefix()
	if !ok {
		// A set-up that fails, or that runs tasks of its own, is not one
		// state to copy: a helper task (a script's cpu=N line) and the
		// main task waiting for it make a decision, which the
		// exploring strategy takes, and every schedule builds.
		ms.why = "its set-up runs tasks besides the main one"
		if r.Failure != nil {
			ms.why = "its set-up fails: " + r.Failure.Message
		}
		return ms, nil
	}
	snap, err := snapshot.Take(m, snapshotOptions)
	if err != nil {
		ms.why = err.Error()
		return ms, nil
	}
	ms.snap, ms.after = snap, after
	return ms, nil
}

// copied says whether schedules run on copies.
func (ms *machines) copied() bool { return ms.snap != nil }

// check reports an error if the prototype changed while it was copied:
// then a copy was not what a build would have been, and what the
// exploration found cannot be trusted.
func (ms *machines) check() error {
	if ms.snap == nil {
		return nil
	}
	if err := ms.snap.Check(); err != nil {
		return fmt.Errorf("explore: %s: %w (explore again with --rebuild, and report this)", ms.sc.Name, err)
	}
	return nil
}

// machineWorker runs the schedules of one worker goroutine.
type machineWorker struct {
	ms      *machines
	rn      sched.Runner
	cp      *snapshot.Copier
	checked bool // the first copy was proved disjoint from the prototype
}

func (ms *machines) worker() *machineWorker {
	w := &machineWorker{ms: ms}
	if ms.snap != nil {
		w.cp = ms.snap.NewCopier()
	}
	return w
}

// close stops the worker's coroutines.
func (w *machineWorker) close() { w.rn.Close() }

// run runs one schedule, on a copy or on a new build, and passes a
// passed schedule's machine on to the next one.
func (w *machineWorker) run(st sched.Strategy) (sched.Result, *Instance, error) {
	ms := w.ms
	if ms.snap == nil {
		r, inst, err := runOn(&w.rn, ms.sc, ms.env, st, false)
		release(r, inst, err)
		return r, inst, err
	}
	m := w.cp.Copy().(Machine)
	if !w.checked {
		// Once per worker: the copy and the prototype (as Take found it,
		// which check confirms at the end) share nothing either could
		// write.
		if err := ms.snap.DisjointFrom(m); err != nil {
			return sched.Result{}, nil, fmt.Errorf("explore: %s: %w", ms.sc.Name, err)
		}
		w.checked = true
	}
	inst := m.Instance()
	inst.Release = nil // the copier reuses a copy's memory (Recycle)
	r, inst, err := runWith(&w.rn, ms.sc, st, false, &ms.after, func(*ksync.Task) (*Instance, error) { return inst, nil })
	if err == nil && r.Failure == nil {
		w.cp.Recycle()
	}
	return r, inst, err
}
