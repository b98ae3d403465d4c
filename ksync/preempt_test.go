package ksync_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"uswap/ksync"
	"uswap/sched"
)

// A quiescence wait is what swapoff does between clearing SWP_VALID and
// freeing swap_map: these tests play that protocol with each wait, and
// with a wait that does not wait, which must be caught.

// quiescer is one way to protect readers from a writer that frees what
// they use: enter/exit bracket a reader, wait is the writer's wait.
type quiescer struct {
	name  string
	enter func(t *ksync.Task) any
	exit  func(t *ksync.Task, tok any)
	wait  func(t *ksync.Task)
}

func quiescers() []quiescer {
	var p ksync.Preemption
	var r ksync.RCUSched
	var q ksync.Preemption // for the broken one: its wait is skipped
	p.Init()
	r.Init()
	q.Init()
	return []quiescer{
		{"stop_machine",
			func(t *ksync.Task) any { p.Disable(t); return nil },
			func(t *ksync.Task, _ any) { p.Enable(t) },
			func(t *ksync.Task) { p.StopMachine(t, nil) }},
		{"synchronize_sched",
			func(t *ksync.Task) any { return r.ReadLock(t) },
			func(t *ksync.Task, tok any) { r.ReadUnlock(t, tok.(ksync.RCUToken)) },
			r.Synchronize},
		{"no wait",
			func(t *ksync.Task) any { q.Disable(t); return nil },
			func(t *ksync.Task, _ any) { q.Enable(t) },
			func(t *ksync.Task) {}},
	}
}

// swapoffProtocol: readers check valid inside a section and, if it is
// set, use the map, which must not be freed before their section ends;
// the writer clears valid, waits, and frees. It reports the first
// use-after-free a reader saw, or "".
func swapoffProtocol(task *ksync.Task, q quiescer, readers, iters int, spawn func(t *ksync.Task, n int, fn func(t *ksync.Task, i int))) string {
	var valid, freed ksync.Bool
	var bad ksync.Pointer[string]
	valid.Store(task, true)
	spawn(task, readers+1, func(t *ksync.Task, w int) {
		if w == readers {
			valid.Store(t, false)
			q.wait(t)
			freed.Store(t, true)
			return
		}
		for j := 0; j < iters; j++ {
			tok := q.enter(t)
			// Saw the device valid: its map is ours until exit.
			if valid.Load(t) {
				for k := 0; k < 2; k++ {
					if freed.Load(t) {
						msg := fmt.Sprintf("reader %d saw the device valid, then its map freed inside its section", w)
						bad.Store(t, &msg)
					}
				}
			}
			q.exit(t, tok)
		}
	})
	if p := bad.Load(task); p != nil {
		return *p
	}
	return ""
}

func TestControlledQuiescence(t *testing.T) {
	for i, q := range quiescers() {
		t.Run(q.name, func(t *testing.T) {
			var found string
			for seed := int64(1); seed <= 200 && found == ""; seed++ {
				for _, s := range []sched.Strategy{sched.Random(seed), sched.PCT(seed, 3, 120)} {
					r := sched.Run(s, sched.Options{MaxSteps: 100000}, func(task *ksync.Task) {
						if msg := swapoffProtocol(task, quiescers()[i], 2, 3, workers); msg != "" {
							panic(msg)
						}
					})
					if r.Failure != nil {
						found = r.Failure.String()
						break
					}
				}
			}
			if q.name == "no wait" {
				if found == "" {
					t.Fatal("freeing without a wait was never caught: the check cannot fail")
				}
				return
			}
			if found != "" {
				t.Fatal(found)
			}
		})
	}
}

func TestQuiescenceOrdinary(t *testing.T) {
	for _, q := range quiescers()[:2] {
		t.Run(q.name, func(t *testing.T) {
			for round := 0; round < 20; round++ {
				if msg := swapoffProtocol(ksync.NewTask("main", 0), q, 4, 300, goWorkers); msg != "" {
					t.Fatal(msg)
				}
			}
		})
	}
}

// goWorkers runs n goroutines, each a task on its own CPU, and waits.
func goWorkers(_ *ksync.Task, n int, fn func(t *ksync.Task, i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ksync.NewTask(fmt.Sprint("w", i), i), i)
		}()
	}
	wg.Wait()
}

// TestQuiescenceNotStarved: a wait ends while readers keep entering and
// leaving sections.
func TestQuiescenceNotStarved(t *testing.T) {
	for _, q := range quiescers()[:2] {
		t.Run(q.name, func(t *testing.T) {
			var stop atomic.Bool
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					task := ksync.NewTask("reader", i)
					for !stop.Load() {
						tok := q.enter(task)
						runtime.Gosched()
						q.exit(task, tok)
					}
				}()
			}
			w := ksync.NewTask("writer", 5)
			for range 50 {
				q.wait(w)
			}
			stop.Store(true)
			wg.Wait()
		})
	}
}

// TestStopMachineHoldsSections: while stop_machine's function runs, no
// task is inside a section, and none enters one.
func TestStopMachineHoldsSections(t *testing.T) {
	runAll(t, func(task *ksync.Task) {
		var p ksync.Preemption
		p.Init()
		var inside, ran ksync.Int32
		workers(task, 3, func(t *ksync.Task, w int) {
			if w == 2 {
				p.StopMachine(t, func() {
					if p.Open() != 0 {
						panic("stop_machine's function runs with a section open")
					}
					ran.Store(t, 1)
				})
				return
			}
			for j := 0; j < 3; j++ {
				p.Disable(t)
				inside.Add(t, 1)
				inside.Add(t, -1)
				p.Disable(t) // nested
				p.Enable(t)
				p.Enable(t)
			}
		})
		if ran.Load(task) != 1 || p.Open() != 0 {
			panic("stop_machine did not run, or a section stayed open")
		}
	})
}

func TestPreemptCount(t *testing.T) {
	var p ksync.Preemption
	var r ksync.RCUSched
	task := ksync.NewTask("t", 0)
	p.Disable(task)
	tok := r.ReadLock(task)
	if got := task.PreemptCount(); got != 2 {
		t.Fatalf("PreemptCount %d inside two sections", got)
	}
	r.ReadUnlock(task, tok)
	p.Enable(task)
	if task.PreemptCount() != 0 || p.Open() != 0 || r.Readers() != 0 {
		t.Fatalf("after leaving: count %d, open %d, readers %d", task.PreemptCount(), p.Open(), r.Readers())
	}
}
