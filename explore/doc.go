// Package explore runs race scenarios under the controlled scheduler
// (package sched) and reports the first schedule that breaks them.
//
// Design:
//
//  1. A Scenario is a setup, a few tasks and a final check, written as
//     an ordinary user of the engine: its setup runs on the scheduler's
//     main task, its tasks are spawned from there with ksync.Spawn, and
//     nothing in it uses goroutines, the wall clock or map iteration, so
//     a schedule replays exactly. The registry (Scenarios) is an ordered
//     slice.
//  2. Explore runs one schedule after another: a strategy (random walk,
//     PCT with depth D, or bounded DFS with B preemptions, see ParseSpec)
//     picks the task at every scheduling point; the run's check (the
//     scenario's assertions plus the machine's audit of the invariants,
//     docs/invariants.md) runs at the end. A panic, a deadlock, a
//     livelock or a failed check is a failure. Decisions taken while only the main task exists (the
//     setup) are not shown to the strategy: PCT's change points and DFS's
//     backtracking land only where tasks race.
//  3. The first failing schedule is reported by its seed, its strategy
//     and its exact list of choices, encoded compactly (EncodeChoices);
//     Replay re-runs those choices with the trace on, which gives the
//     same trace byte for byte whatever GOMAXPROCS is. The trace is drawn
//     as columns, one per task (WriteReport), or as an HTML page
//     (WriteHTML).
//
// Nothing in this package is shared between goroutines: Explore runs one
// schedule at a time.
package explore
