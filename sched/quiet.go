package sched

import (
	"fmt"
	"time"

	"uswap/ksync"
)

// Quiet returns a task for code that runs alone at quiescence, after a
// run (a scenario's check, its audit): its scheduling points decide
// nothing and record nothing, a sleep with a timeout passes on a virtual
// clock at once, and a sleep that only a wake could end is a bug (it
// panics). An ordinary task would do the same work, but its every
// cond_resched yields the goroutine to the Go scheduler, which with
// several Ps costs more than the check itself.
func Quiet(name string, cpu int) *ksync.Task {
	return ksync.NewControlledTask(0, name, cpu, &quiet{})
}

// quiet is Quiet's scheduler: one task, no decisions.
type quiet struct{ now time.Duration }

func (q *quiet) Point(*ksync.Task, ksync.Op, any) { q.now += Quantum }

func (q *quiet) Block(t *ksync.Task, op ksync.Op, obj any, timeout time.Duration) bool {
	if timeout < 0 {
		panic(fmt.Sprintf("sched: %v sleeps in %v with no one left to wake it", t, op))
	}
	q.now += timeout
	return false
}

func (q *quiet) Wake(*ksync.Task, any) {}

func (q *quiet) Spawn(parent, _ *ksync.Task, _ func(*ksync.Task)) {
	panic(fmt.Sprintf("sched: %v spawns a task at quiescence", parent))
}

func (q *quiet) Note(*ksync.Task, string)          {}
func (q *quiet) Access(*ksync.Task, ksync.Op, any) {}
func (q *quiet) Now() time.Duration                { return q.now }
