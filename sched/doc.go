// Package sched owns the explorer's controlled scheduler: it runs real
// engine code, one task at a time, and decides at every ksync scheduling
// point which task goes next. It implements ksync.Scheduler.
//
// Design:
//
//  1. Each task is a goroutine, but exactly one of them runs at a time.
//     The running task hands the CPU to the next by a send on that task's
//     own channel and then waits on its own; no other synchronization is
//     needed, and the race detector sees every hand-off as a
//     happens-before edge.
//  2. At every point a Strategy picks the next task among the runnable
//     ones, sorted by id: Random (a uniform random walk), PCT (random
//     priorities with d-1 change points, then a fair random tail), Replay
//     (an exact list of choices) and, through an Explorer, bounded
//     depth-first search. Every pick is recorded in Result.Choices, so
//     Replay(choices) reproduces a run exactly.
//  3. A task that cannot proceed Blocks on an object and is not runnable
//     until some task Wakes the same object (compared with ==) or its
//     timeout passes on the virtual clock. The clock advances by a fixed
//     quantum at every point and jumps to the earliest deadline when
//     nothing else can run. With nothing runnable and no deadline, the run
//     is a deadlock.
//  4. A run ends when every task has returned, or fails: a panic in a
//     task, a deadlock, or the step cap (a livelock). A failed run is
//     aborted: each goroutine still alive is resumed in turn, one at a
//     time, and panics at its next point with a private sentinel that its
//     wrapper recovers, so that no goroutine outlives Run.
//  5. Nothing depends on map iteration order, the wall clock or the Go
//     scheduler: a strategy and a seed give the same Result whatever
//     GOMAXPROCS is.
//
// All scheduler state is owned by whichever task currently runs (the
// hand-off orders every access), or by Run's goroutine before the first
// and after the last hand-off.
package sched
