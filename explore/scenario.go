package explore

import (
	"fmt"
	"slices"
	"strings"
	"uswap/invariant"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
)

// Scenario is one race, written as a user of the engine.
type Scenario struct {
	// Name is what --scenario takes.
	Name string
	// Seed is the seed thread the race comes from ("000", "003", "004"),
	// or "" for a race from the kernel's later history.
	Seed string
	// Fix is the fix whose variants decide the race.
	Fix fixes.Fix
	// NoFix marks a scenario that no one fix decides (Fix means
	// nothing then): a setting in which every variant must keep the
	// invariants. Its budgets run with the fixes as the kernel merged
	// them.
	NoFix bool
	// Commit names the kernel commit of the fix.
	Commit string
	// Doc describes the race, with its CPU1/CPU2 diagram.
	Doc string
	// MaxSteps caps a run (a livelock beyond it); 0 means 100,000.
	MaxSteps int
	// Designs are the swap core designs the scenario applies to; nil
	// means every design (a script's design= key).
	Designs []design.Design
	// A scenario has one of Setup and Build, which run on the
	// scheduler's main task before any other task exists.
	//
	// Setup builds one instance in env: a machine for every schedule.
	Setup func(t *ksync.Task, env Env) (*Instance, error)
	// Build is Setup cut in two, so that the explorer can build the
	// machine once and give every schedule a copy of it
	// (internal/snapshot, machines.go): Build makes the machine and runs
	// the set-up, and the Machine's Instance hands its tasks and check
	// over. A schedule that builds its own machine runs both (instance).
	Build func(t *ksync.Task, env Env) (Machine, error)
	// Budgets are the explorations its tests run and what each must
	// report: at least one that finds the race with Fix reverted
	// (unless NoFix) and one that finds nothing with every fix on.
	// A script's come from its explore lines.
	Budgets []Budget
	// Script is the script the scenario was read from; nil for a
	// scenario written in Go.
	Script *Script
}

// Env is what a scenario's machine runs: the variant of every fix and the
// swap core's design (and, as the engine grows, every other choice a run
// is explored under).
type Env struct {
	Fixes  fixes.Set
	Design design.Design
}

// AppliesIn reports whether the scenario runs in design d.
func (s *Scenario) AppliesIn(d design.Design) bool {
	return s.Designs == nil || slices.Contains(s.Designs, d)
}

// RaceIn reports whether the scenario's race can happen in design d:
// a budget with its fix reverted finds it there. A design with no code
// of the fix (seed 000's pin in the table design) has none: its budgets
// say "nothing found" there, and --prove expects nothing with the fix
// reverted.
func (s *Scenario) RaceIn(d design.Design) bool {
	if s.NoFix || !s.AppliesIn(d) {
		return false
	}
	_, ok := s.raceBudget(d)
	return ok
}

// RaceFixes is the fix set that shows s's race in design d, on top of
// base: base with the scenario's fix reverted and the other choices of
// the first budget that finds the race in d (a zram race needs seed
// 000's bypass without its pin as well: its budgets revert both). With
// no such budget it is base with the fix reverted.
func (s *Scenario) RaceFixes(d design.Design, base fixes.Set) fixes.Set {
	fx := base.Revert(s.Fix)
	if bfx, ok := s.raceBudget(d); ok {
		for _, f := range bfx.Changed() {
			fx = fx.With(f, bfx.Get(f))
		}
	}
	return fx
}

// raceBudget is the fix set of the first budget that runs in design d
// with the scenario's fix reverted and finds something there.
func (s *Scenario) raceBudget(d design.Design) (fixes.Set, bool) {
	for _, b := range s.Budgets {
		fx, err := b.FixSet()
		if err == nil && fx.Unfixed(s.Fix) && b.RunsIn(s, d) && strings.HasPrefix(b.WantIn(d), "found ") {
			return fx, true
		}
	}
	return fixes.Set{}, false
}

// instance builds one instance of s in env on a machine of its own: its
// Setup, or its Build and the machine's Instance.
func (s *Scenario) instance(t *ksync.Task, env Env) (*Instance, error) {
	if s.Setup != nil {
		return s.Setup(t, env)
	}
	m, err := s.Build(t, env)
	if err != nil {
		return nil, err
	}
	return m.Instance(), nil
}

// Machine is what a scenario's Build made: the root of everything the
// schedule's tasks touch. A copy of it (internal/snapshot) shares no
// writable memory with it, so it may hold no closure, channel or
// scheduler task.
type Machine interface {
	// Instance makes the instance that runs on this machine; it is
	// called once per machine.
	Instance() *Instance
}

// Instance is one run of a scenario: what Setup built.
type Instance struct {
	// Tasks are spawned in order by the main task, which then returns.
	Tasks []Task
	// Check runs after every task returned, at quiescence, on a task of
	// its own. It holds the scenario's assertions and the audit; an
	// invariant.List error names the invariants that broke.
	Check func(t *ksync.Task) error
	// Names names objects in traces ("PTL", "pte"); others get their
	// type's name. Looked up, never iterated.
	Names map[any]string
	// Namer names the objects Names does not (the engine's: swap core,
	// frame pool, node, address spaces; see systemNamer). Optional.
	Namer func(obj any) string
	// PanicMeans is the invariant a panic in a task breaks in this
	// scenario (a nil swap_map's index panic is no-use-after-swapoff);
	// 0 when a panic means nothing more than itself.
	PanicMeans invariant.ID
	// Release, optional, gives the machine's memory to the next one
	// (system.System.Release). The explorer calls it after a schedule
	// that passed, when every task has returned and nothing will touch
	// the machine again; never after a failure, whose machine a report
	// may still read.
	Release func(t *ksync.Task)

	// queues names the wait queues of the completions in Names; built
	// by the trace namer on first use.
	queues map[*ksync.WaitQueue]string
}

// Task is one racing task of an Instance.
type Task struct {
	Name string
	CPU  int
	Fn   func(t *ksync.Task)
	// Role, optional, says what the task stands for in a report's
	// drawing, after its name ("do_swap_page", "MADV_PAGEOUT").
	Role string
}

// registry is the ordered list of scenarios; scenario files add to it in
// init functions through register, and Scenarios sorts nothing: the
// order is the files' init order (alphabetical by file name), which is
// deterministic.
var registry []*Scenario

func register(s *Scenario) {
	if (s.Setup == nil) == (s.Build == nil) {
		panic("explore: scenario " + s.Name + " needs one of Setup and Build")
	}
	for _, o := range registry {
		if o.Name == s.Name {
			panic("explore: scenario " + s.Name + " registered twice")
		}
	}
	registry = append(registry, s)
}

// Scenarios lists every scenario in registration order.
func Scenarios() []*Scenario { return append([]*Scenario(nil), registry...) }

// Names lists the scenarios' names in registration order.
func Names() []string {
	var n []string
	for _, s := range registry {
		n = append(n, s.Name)
	}
	return n
}

// Lookup finds a scenario by name; an unknown name is an error listing
// the known ones.
func Lookup(name string) (*Scenario, error) {
	for _, s := range registry {
		if s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(Names(), ", "))
}
