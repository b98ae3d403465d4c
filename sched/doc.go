// Package sched owns the explorer's controlled scheduler: it runs real
// engine code, one task at a time, and decides at every ksync scheduling
// point which task goes next. It implements ksync.Scheduler.
//
// Design:
//
//  1. Each task runs on a coroutine (iter.Pull), and exactly one runs at
//     a time. The goroutine that calls Run is the hub: it resumes the
//     task the strategy chose; the task runs until it hands the CPU on
//     (it names the next task and yields) or returns. A hand-off is two
//     coroutine switches, a fraction of a goroutine park and wake-up,
//     whatever GOMAXPROCS is, and the race detector sees each switch as
//     a happens-before edge. A Runner keeps the coroutines of finished
//     tasks, with the stacks they grew, for the tasks of its next run.
//  2. Where two or more tasks can run, a Strategy picks the next one
//     among them, sorted by id: Random (a uniform random walk), Walk (a
//     sticky one), PCT (random priorities with d-1 change points placed
//     by step, then a fair random tail), Replay (an exact list of
//     choices), Order (a list of per-task steps) and, through an
//     Explorer, bounded depth-first search. Every pick is recorded in
//     Result.Choices, so Replay(choices) reproduces a run exactly; where
//     only one task can run there is no decision and nothing is recorded.
//  3. A task that cannot proceed Blocks on an object and is not runnable
//     until some task Wakes the same object (compared with ==) or its
//     timeout passes on the virtual clock. The clock advances by a fixed
//     quantum at every point and jumps to the earliest deadline when
//     nothing else can run. With nothing runnable and no deadline, the run
//     is a deadlock.
//  4. A run ends when every task has returned, or fails: a panic in a
//     task, a deadlock, or the step cap (a livelock: a recorded run names
//     the loop that spins, livelock.go). A failed run is aborted: each
//     task still alive is resumed in turn, one at a time, and panics at
//     its next point with a private sentinel that its wrapper recovers,
//     so that no task outlives Run.
//  5. Nothing depends on map iteration order, the wall clock or the Go
//     scheduler: a strategy and a seed give the same Result whatever
//     GOMAXPROCS is.
//  6. A recorded run (Options.Record) traces every point, sleep, wake,
//     spawn, note and access annotation (ksync.Access) with the task's
//     own step count (Event.Point), which places it in the task's
//     program order whatever the others do: the explorer swaps two
//     accesses by reordering those steps (Order).
//
// All scheduler state is owned by whichever task currently runs (the
// coroutine switches order every access), or by the hub between two
// tasks.
package sched
