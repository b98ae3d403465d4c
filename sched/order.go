package sched

// Step is one step of one task's program: its Point-th scheduling point
// or return from a sleep (Event.Point). A task's steps are in its
// program order whatever the other tasks do, so a list of steps of
// several tasks is a schedule that does not depend on decision numbers:
// it stays meaningful when a change early in the run moves every later
// decision.
type Step struct {
	Task  int
	Point int
}

// Steps lists the steps of a recorded trace (its scheduling points and
// returns from sleeps) in the order they were passed.
func Steps(trace []Event) []Step {
	var out []Step
	for i := range trace {
		switch e := &trace[i]; e.Kind {
		case EvPoint, EvWoken, EvTimeout:
			out = append(out, Step{e.Task, e.Point})
		}
	}
	return out
}

// Order returns a strategy that passes the points in the order of steps
// as far as the program lets it: at every decision it runs the task of
// the first step not yet passed whose task can run. A step whose task
// cannot run (it sleeps, or took another path and returned) is passed
// over until it can; past the list the choice is the non-preemptive
// default. The explorer uses it to run a recorded schedule with two
// accesses swapped (see explore's conflict search).
func Order(steps []Step) Strategy { return &order{steps: steps} }

type order struct {
	steps []Step
	next  int // steps before next are passed
}

func (o *order) Spawned(int) {}

func (o *order) passed(d *Decision, st Step) bool {
	return st.Task < len(d.Executed) && d.Executed[st.Task] >= st.Point
}

func (o *order) Pick(d *Decision) int {
	for o.next < len(o.steps) && o.passed(d, o.steps[o.next]) {
		o.next++
	}
	for i := o.next; i < len(o.steps); i++ {
		st := o.steps[i]
		if o.passed(d, st) {
			continue
		}
		for _, id := range d.Runnable {
			if id == st.Task {
				return id
			}
		}
	}
	return defaultPick(d)
}
