package explore

import (
	"errors"
	"fmt"

	"uswap/invariant"
	"uswap/ksync"
	"uswap/mm"
	"uswap/system"
)

// scriptRun is one run of a script: the machine its setup built and the
// objects its lines made, by the index the names resolved to. Its slices
// are written by the tasks, one at a time under the scheduler; a task
// reads another's object only after a wait for it.
type scriptRun struct {
	sc  *Script
	sys *system.System
	// mms[i] is address space i; older[i] are the earlier children of a
	// name forked more than once (fork C times=N), which exit C exits
	// too.
	mms   []*mm.MM
	older [][]*mm.MM
	addrs []uint64 // per mapping: its address (the same in every fork)
	files []*mm.ShmemFile
	comps []ksync.Completion
	// vs[k] are task k's violations; its failed is set at its first.
	vs     []invariant.List
	failed []bool
	// tasksLeft counts the script's tasks still running, for the task
	// that stops kswapd after them.
	tasksLeft ksync.Int32
	allDone   ksync.Completion
	// setupNames names the objects of the setup's own tasks (cpu=N).
	setupNames map[any]string
}

func (r *scriptRun) newMM(t *ksync.Task, root bool) *mm.MM {
	if root {
		return r.sys.Node().NewMM(t, r.sys.Root())
	}
	return r.sys.NewMM(t)
}

func (r *scriptRun) newFile(t *ksync.Task, root bool, size int64) (*mm.ShmemFile, error) {
	if root {
		return r.sys.Node().ShmemCreate(t, r.sys.Root(), size)
	}
	return r.sys.ShmemCreate(t, size)
}

func (r *scriptRun) ctx(t *ksync.Task, who string) *opCtx {
	return &opCtx{r: r, t: t, who: who}
}

// violations turns what a line returned into violations: its own, or an
// unexpected error of the block it ran in; each says where it comes from.
func (x *opCtx) violations(o *op, err error) invariant.List {
	where := fmt.Sprintf(" (%s, line %d: %s)", x.who, o.line, o.text)
	var l invariant.List
	if errors.As(err, &l) {
		out := make(invariant.List, len(l))
		for i, v := range l {
			v.Problem += where
			out[i] = v
		}
		return out
	}
	var v invariant.Violation
	if errors.As(err, &v) {
		v.Problem += where
		return invariant.List{v}
	}
	return invariant.List{invariant.Newf(invariant.NoUnexpectedError, x.who, "line %d: %s: %v", o.line, o.text, err)}
}

// build is the Scenario's Build: the machine, after the setup block.
func (sc *Script) build(t *ksync.Task, env Env) (Machine, error) {
	r, err := sc.buildRun(t, env)
	if err != nil {
		return nil, err // not a typed nil
	}
	return r, nil
}

func (sc *Script) buildRun(t *ksync.Task, env Env) (*scriptRun, error) {
	cfg := sc.cfg
	cfg.Devices = append([]system.DeviceConfig(nil), cfg.Devices...)
	cfg.Fixes = env.Fixes
	cfg.Design = env.Design
	if sc.Design != "" && sc.Design != env.Design.String() {
		return nil, fmt.Errorf("%s applies to the %s design only, not %s", sc.File, sc.Design, env.Design)
	}
	sys, err := system.New(t, cfg)
	if err != nil {
		return nil, err
	}
	n := sc.names
	r := &scriptRun{
		sc: sc, sys: sys,
		mms: make([]*mm.MM, len(n.mms)), older: make([][]*mm.MM, len(n.mms)), addrs: make([]uint64, len(n.maps)), files: make([]*mm.ShmemFile, len(n.files)),
		comps: make([]ksync.Completion, len(n.comps)), setupNames: map[any]string{},
		vs: make([]invariant.List, len(sc.tasks)), failed: make([]bool, len(sc.tasks)),
	}
	if n.defaultMM >= 0 {
		r.mms[n.defaultMM] = sys.NewMM(t)
	}
	x := r.ctx(t, "setup")
	for _, o := range sc.setupOps {
		if err := o.run(x); err != nil {
			return nil, fmt.Errorf("%s: line %d: %s: %v", sc.File, o.line, o.text, err)
		}
	}
	return r, nil
}

// Instance hands the script's tasks and check over to the explorer.
func (r *scriptRun) Instance() *Instance {
	sc, sys := r.sc, r.sys
	names := r.setupNames
	for i, c := range sc.names.comps {
		names[&r.comps[i]] = c
	}
	inst := &Instance{Check: r.check, Names: names, Namer: r.namer, PanicMeans: sc.PanicMeans, Release: sys.Release}
	r.tasksLeft.Init(int32(len(sc.tasks)))
	for k, tk := range sc.tasks {
		inst.Tasks = append(inst.Tasks, Task{Name: tk.name, CPU: tk.cpu, Fn: func(t *ksync.Task) { r.runTask(k, t) }})
	}
	if sc.cfg.Kswapd {
		// kswapd runs until stopped: a task of its own stops it once
		// the script's tasks are done, so that the run ends.
		inst.Tasks = append(inst.Tasks, Task{Name: "kswapd-stop", CPU: 0, Fn: func(t *ksync.Task) {
			r.allDone.Wait(t)
			sys.Node().StopKswapd(t)
		}})
	}
	return inst
}

// runTask runs task k's lines. After a line fails, the rest are skipped
// but for signals, so that a task waiting for this one is not left
// waiting forever.
func (r *scriptRun) runTask(k int, t *ksync.Task) {
	tk := &r.sc.tasks[k]
	x := r.ctx(t, tk.name)
	for _, o := range tk.ops {
		if r.failed[k] && !o.always {
			continue
		}
		if err := o.run(x); err != nil {
			r.vs[k] = append(r.vs[k], x.violations(o, err)...)
			r.failed[k] = true
		}
	}
	// Counting the tasks out is a scheduling point: only a machine
	// with kswapd, whose stopper waits for them, pays it.
	if r.sc.cfg.Kswapd && r.tasksLeft.Add(t, -1) == 0 {
		r.allDone.Complete(t)
	}
}

// check is the Instance's Check: the tasks' violations in task order,
// then the check block's, every line of which runs.
func (r *scriptRun) check(t *ksync.Task) error {
	var vs invariant.List
	for _, v := range r.vs {
		vs = append(vs, v...)
	}
	x := r.ctx(t, "check")
	for _, o := range r.sc.check {
		if err := o.run(x); err != nil {
			vs = append(vs, x.violations(o, err)...)
		}
	}
	return vs.Err()
}

// namer names the engine's objects in traces (systemNamer), over the
// address spaces that exist when it is asked (forks made some late).
func (r *scriptRun) namer(obj any) string {
	var live []*mm.MM
	for i, m := range r.mms {
		if m != nil {
			live = append(live, m)
		}
		live = append(live, r.older[i]...)
	}
	return systemNamer(r.sys, live...)(obj)
}
