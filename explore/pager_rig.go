package explore

import (
	"fmt"

	"uswap/invariant"
	"uswap/ksync"
	"uswap/pager"
	"uswap/swapdev"
	"uswap/uffdsim"
)

// The pager-* scenarios run the userfaultfd pager (package pager)
// against the simulated userfaultfd (package uffdsim): the process's
// threads are tasks that load, store and discard pages of the region,
// the pager's workers are tasks that run pager.Serve, and a closer task
// stops the pager once the threads are done. A thread that is never
// woken from its fault leaves everyone asleep: the scheduler reports a
// deadlock.

// pagerRig is one run's pager, region and task bookkeeping.
type pagerRig struct {
	p       *pager.Pager
	dev     *swapdev.RAM
	r       *uffdsim.Region
	threads []*ksync.Completion // done by each process thread
	errs    []error             // what each thread found wrong, by thread
	names   map[any]string      // the scenario's own objects (completion)
	faulty  *swapdev.Faulty     // the fault injector in front of dev, if any
	// start makes the scenario's tasks on the rig (Instance). It is a
	// top-level function, not a closure, so that the rig, the
	// scenario's Machine, can be copied (internal/snapshot).
	start func(g *pagerRig) *Instance
}

// Instance implements Machine: the scenario's tasks on this rig.
func (g *pagerRig) Instance() *Instance { return g.start(g) }

// pagerScenario gives sc, a pager scenario, its Build from build, which
// makes the rig, runs the set-up and sets the rig's start.
func pagerScenario(sc *Scenario, build func(t *ksync.Task, env Env) (*pagerRig, error)) *Scenario {
	sc.Build = func(t *ksync.Task, env Env) (Machine, error) {
		g, err := build(t, env)
		if err != nil {
			return nil, err // not a typed nil
		}
		return g, nil
	}
	return sc
}

// completion is a completion of the scenario's own, named in traces.
func (g *pagerRig) completion(name string) *ksync.Completion {
	c := new(ksync.Completion)
	if g.names == nil {
		g.names = map[any]string{}
	}
	g.names[c] = name
	return c
}

const pagerRigBase = 0x7f5500000000

// newPagerRig builds a pager over a simulated region of pages pages,
// budget frames and a RAM device of devPages pages (header included).
func newPagerRig(t *ksync.Task, env Env, pages uint64, budget int, devPages uint64, readahead int) (*pagerRig, error) {
	dev, err := swapdev.NewRAM("zram0", devPages, "lz4")
	if err != nil {
		return nil, err
	}
	if _, err := swapdev.MkswapDevice(t, dev, swapdev.MkswapOptions{}); err != nil {
		return nil, err
	}
	r := uffdsim.New(pagerRigBase, int(pages))
	p, err := pager.New(t, r, pager.Config{
		Pages: pages, Budget: budget, Device: dev, Readahead: readahead,
		Workers: 1, Batch: 4, Low: 1, High: 2, Fixes: env.Fixes,
	})
	if err != nil {
		return nil, err
	}
	return &pagerRig{p: p, dev: dev, r: r}, nil
}

// same is a page whose every word is v: what the scenarios store (zram
// keeps same-filled pages without compressing them).
func same(v uint64) []byte {
	b := uffdsim.FillWord(v)
	for i := 8; i < len(b); i += 8 {
		copy(b[i:i+8], b[:8])
	}
	return b
}

// thread makes a process thread: fn's error is the thread's finding.
func (g *pagerRig) thread(name string, cpu int, fn func(t *ksync.Task) error) Task {
	i := len(g.threads)
	g.threads = append(g.threads, &ksync.Completion{})
	g.errs = append(g.errs, nil)
	return Task{Name: name, CPU: cpu, Fn: func(t *ksync.Task) {
		g.errs[i] = fn(t)
		g.threads[i].Complete(t)
	}}
}

// worker makes a task that runs one pager worker until the closer stops
// the pager.
func (g *pagerRig) worker(name string, cpu int) Task {
	return Task{Name: name, CPU: cpu, Fn: g.p.Serve}
}

// closer makes the task that waits for every thread and stops the pager.
func (g *pagerRig) closer(cpu int) Task {
	return Task{Name: "closer", CPU: cpu, Fn: func(t *ksync.Task) {
		for _, c := range g.threads {
			c.Wait(t)
		}
		g.p.Stop(t)
	}}
}

// load is a thread's load of a page that must read one of want.
func (g *pagerRig) load(t *ksync.Task, page uint64, want ...uint64) error {
	v, err := g.r.Load(t, page)
	if err != nil {
		return fmt.Errorf("load of page %d: %w", page, err)
	}
	for _, w := range want {
		if v == w {
			return nil
		}
	}
	return fmt.Errorf("load of page %d read %#x, want %#x", page, v, want)
}

// check is the end of a run: what the threads found, the pager's error
// and its audit (which includes the swap core's).
func (g *pagerRig) check(t *ksync.Task) error {
	var vs invariant.List
	for i, err := range g.errs {
		if err != nil {
			vs = append(vs, invariant.Newf(invariant.NoLostData, fmt.Sprintf("thread %d", i), "%v", err))
		}
	}
	if err := g.p.Err(t); err != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "pager", "%v", err))
	}
	vs = append(vs, g.p.Audit(t)...)
	if len(vs) == 0 {
		return nil
	}
	return vs
}

// namer names the pager's, the region's and the swap core's objects.
func (g *pagerRig) namer() func(obj any) string {
	return func(obj any) string {
		if n := g.r.ObjectName(obj); n != "" {
			return n
		}
		for i, c := range g.threads {
			switch obj {
			case c:
				return fmt.Sprintf("thread%d_done", i)
			case c.WaitQueue():
				return fmt.Sprintf("thread%d_done.wait", i)
			}
		}
		if n := g.dev.ObjectName(obj); n != "" {
			return n
		}
		if n := g.p.ObjectName(obj); n != "" {
			return n
		}
		if n := g.p.Core().ObjectName(obj); n != "" {
			return n
		}
		return g.p.Pool().ObjectName(obj)
	}
}

// instance finishes an Instance with the rig's check and names.
func (g *pagerRig) instance(tasks ...Task) *Instance {
	return &Instance{Tasks: tasks, Check: g.check, Names: g.names, Namer: g.namer()}
}
