// Package explore runs race scenarios under the controlled scheduler
// (package sched) and reports the first schedule that breaks them,
// explained: shrunk, with the conflict that decides it and the steps
// that matter drawn.
//
// Design:
//
//  1. A Scenario is a setup, a few tasks and a final check, written as
//     an ordinary user of the engine: its setup runs on the scheduler's
//     main task, its tasks are spawned from there with ksync.Spawn, and
//     nothing in it uses goroutines, the wall clock or map iteration, so
//     a schedule replays exactly. The registry (Scenarios) is an ordered
//     slice.
//  2. Explore runs schedules: a strategy (random walk, PCT with depth D,
//     or bounded DFS with B preemptions, see ParseSpec) picks the task at
//     every decision, a point where two or more tasks can run (the
//     setup, where only the main task runs, makes none); the run's check
//     (the scenario's assertions plus the machine's audit of the invariants,
//     docs/invariants.md) runs at the
//     end, on a task of its own (sched.Quiet). A panic, a deadlock, a
//     livelock or a failed check is a failure.
//  3. Schedules run on Config.Workers goroutines, each with its own
//     sched.Runner (its coroutines kept from one run to the next). Run i
//     uses seed Seed+i whichever worker runs it; workers take batches of
//     consecutive indices in order, and a failure at index k is reported
//     once every index below k has run, so the outcome is one worker's.
//     DFS runs on one (explore.go says why).
//  4. A scenario's machine is built once per exploration, and
//     every schedule runs on a copy of it (machines.go,
//     internal/snapshot), started where the set-up left the scheduler
//     (sched.Options.After), so that it decides as a built one would;
//     Config.Rebuild, a set-up that runs tasks of its own, and a
//     scenario with no Build build every schedule's machine.
//  5. The first failing schedule is shrunk (shrink.go), replayed with the
//     trace on, and explained: the conflict that decides it
//     (conflict.go) and its key steps as CPU columns (drawing.go). Its
//     exact list of choices, encoded compactly (EncodeChoices), replays
//     it (Replay) to the same trace byte for byte whatever GOMAXPROCS is.
//     WriteReport prints the report, WriteTrace the whole trace, WriteHTML
//     both as a page.
//
// Shared between goroutines: the seedExploration of one Explore, under
// its mutex; scenarios and their scripts, and the prototype machine the
// workers copy, are read-only while they run.
package explore
