package explore

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"uswap/design"
	"uswap/fixes"
	"uswap/invariant"
	"uswap/ksync"
	"uswap/memcg"
	"uswap/swapdev"
	"uswap/system"
)

// Scenario scripts: a race written as a short text file in
// testdata/scenarios/ (docs/scenarios.md is the manual). A script says
// which fix decides the race, the machine, a setup, one block per racing
// task in the stress worker's verbs, the checks, and its budgets: each
// `explore` line is a strategy, a number of schedules and the variants
// of the fixes, with what the explorer must report as its expected
// output. The files are embedded in the binary and registered as
// scenarios like any other; `uswap explore --script FILE` runs one from
// disk, and `go test ./explore -rewrite` updates the expected outputs.
//
// The race's CPU1/CPU2 drawing lives in the script, as the comment block
// above its scenario line; engine comments point to it by the scenario's
// name.

// ScriptDir is where the embedded scripts are, relative to this package.
const ScriptDir = "testdata/scenarios"

//go:embed testdata/scenarios/*.txt
var scriptFiles embed.FS

func init() {
	// The embedded machines are not built here (CheckMachine): every
	// command of the binary would pay for it at start-up, and the tests
	// build each of them.
	scs, err := loadScripts(scriptFiles, ScriptDir, false)
	if err != nil {
		panic("explore: " + err.Error())
	}
	for _, sc := range scs {
		sc.Embedded = true
		register(sc.Scenario())
	}
}

// loadScripts reads every *.txt file of dir in fsys, in file name
// order: the embedded scenarios, or (in a test) a directory on disk;
// check builds each machine once (CheckMachine).
func loadScripts(fsys fs.FS, dir string, check bool) ([]*Script, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []*Script
	for _, e := range ents { // sorted by file name
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		file := path.Join(dir, e.Name())
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		sc, err := loadScript(file, string(src), check)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// Script is a scenario read from a script.
type Script struct {
	Name string // the file's name without .txt
	File string // where it was read from, for errors
	// Embedded: the script is one of the binary's (--scenario NAME runs
	// it); else it was read from disk (--script FILE).
	Embedded bool
	// Fix decides the race; NoFix marks a script that no one fix
	// decides (a setting every variant must keep clean).
	Fix   fixes.Fix
	NoFix bool
	// Thread is the seed thread ("000"), Commit the kernel commit.
	Thread, Commit string
	// Summary is the one-line description; Doc the rest of the
	// scenario's text and its drawing.
	Summary, Doc string
	// Design is the swap core design the script applies to: "" for
	// both, "classic" or "table".
	Design     string
	PanicMeans invariant.ID
	MaxSteps   int
	Budgets    []Budget

	cfg         system.Config // the machine, Fixes aside
	machineLine int
	names       *names
	setupOps    []*op
	tasks       []scriptTask
	check       []*op
	directives  []directive
}

type scriptTask struct {
	name string
	cpu  int
	ops  []*op
}

// Budget is one exploration that a scenario's tests run, and what it
// must report.
type Budget struct {
	// Fixes are NAME=VARIANT choices applied in order to the default
	// set (every fix as the kernel merged it).
	Fixes    []string
	Strategy string // as ParseSpec reads it
	Runs     int
	Seed     int64
	// Design limits the budget to one swap core design ("classic",
	// "table"); "" runs it in every design the scenario applies to.
	Design string
	// Want is the Verdict the exploration must give: "nothing found",
	// or "found " and the invariants the first failing schedule broke;
	// where the designs' verdicts differ, one line per design, "DESIGN:
	// VERDICT" (JoinVerdicts).
	Want string
	// Line is the explore line of a script, 0 for a Go scenario.
	Line int
}

// NothingFound is the verdict of an exploration that found no failing
// schedule.
const NothingFound = "nothing found"

// FixSet is the set of variants the budget runs.
func (b Budget) FixSet() (fixes.Set, error) {
	s := fixes.Default()
	for _, c := range b.Fixes {
		var err error
		if s, err = s.Choose(c); err != nil {
			return s, err
		}
	}
	return s, nil
}

// String is the budget as an explore line says it.
func (b Budget) String() string {
	s := "explore"
	if len(b.Fixes) > 0 {
		s += " fixes=(" + strings.Join(b.Fixes, ", ") + ")"
	}
	if b.Design != "" {
		s += " design=" + b.Design
	}
	return fmt.Sprintf("%s strategy=%s runs=%d seed=%d", s, b.Strategy, b.Runs, b.Seed)
}

// RunsIn reports whether b runs in design d for scenario s.
//
// A budget whose fixes choose a classic-only variant
// (fixes.VariantInfo.ClassicOnly) runs in the classic design only: the
// table design has no code of that variant, and a table-design machine
// refuses it.
func (b Budget) RunsIn(s *Scenario, d design.Design) bool {
	if !s.AppliesIn(d) || (b.Design != "" && b.Design != d.String()) {
		return false
	}
	fx, err := b.FixSet()
	return err != nil || fx.CheckDesign(d) == nil
}

// Designs are the designs b runs in for s, in design.All()'s order.
func (b Budget) Designs(s *Scenario) []design.Design {
	var ds []design.Design
	for _, d := range design.All() {
		if b.RunsIn(s, d) {
			ds = append(ds, d)
		}
	}
	return ds
}

// WantIn is the verdict b expects in design d: Want, or its "DESIGN:
// VERDICT" line for d.
func (b Budget) WantIn(d design.Design) string {
	for _, l := range strings.Split(b.Want, "\n") {
		if name, v, ok := strings.Cut(l, ": "); ok && name == d.String() {
			return strings.TrimSpace(v)
		}
	}
	return b.Want
}

// JoinVerdicts is a budget's expected output for verdicts vs, one per
// design of ds: the verdict if every design gave it, else one line per
// design, "DESIGN: VERDICT".
func JoinVerdicts(ds []design.Design, vs []string) string {
	same := true
	for _, v := range vs[1:] {
		same = same && v == vs[0]
	}
	if same {
		return vs[0]
	}
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = ds[i].String() + ": " + v
	}
	return strings.Join(lines, "\n")
}

// Verdict is what an exploration found, as a script's expected output
// says it: NothingFound, or "found " with the invariants the failing
// schedule broke (by their names in package invariant), or the kind of
// failure when it broke none (a deadlock, a livelock, a panic).
func Verdict(o *Outcome) string {
	if o.Failure == nil {
		return NothingFound
	}
	if vs := o.Failure.Violations(); len(vs) > 0 {
		var names []string
		for _, id := range vs.Broken() {
			names = append(names, id.String())
		}
		return "found " + strings.Join(names, ", ")
	}
	if f := o.Failure.Result.Failure; f != nil {
		return "found " + f.Kind.String()
	}
	return "found a failure its replay does not show"
}

// Scenario is the script as the explorer runs it.
func (sc *Script) Scenario() *Scenario {
	doc := sc.Summary
	if sc.Doc != "" {
		doc += "\n\n" + sc.Doc
	}
	return &Scenario{
		Name: sc.Name, Seed: sc.Thread, Fix: sc.Fix, NoFix: sc.NoFix, Commit: sc.Commit, Doc: doc,
		MaxSteps: sc.MaxSteps, Budgets: sc.Budgets, Script: sc,
		Build: sc.build, Designs: sc.designs(),
	}
}

// designs is the Scenario's Designs: nil for both, or the one of the
// design= key.
func (sc *Script) designs() []design.Design {
	if sc.Design == "" {
		return nil
	}
	d, err := design.Parse(sc.Design)
	if err != nil {
		panic("explore: " + sc.File + ": design=" + sc.Design + " passed the parse")
	}
	return []design.Design{d}
}

var scriptNameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// LoadScriptFile reads a script from disk.
func LoadScriptFile(file string) (*Script, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return LoadScript(file, string(src))
}

// LoadScript reads a script and builds its machine once
// (CheckMachine): file names it (its base name without .txt is the
// scenario's name) and places errors.
func LoadScript(file, src string) (*Script, error) { return loadScript(file, src, true) }

func loadScript(file, src string, check bool) (*Script, error) {
	name := strings.TrimSuffix(filepath.Base(file), ".txt")
	if !scriptNameRE.MatchString(name) {
		return nil, fmt.Errorf("%s: the file name %q is the scenario's name: lower-case words joined by hyphens, .txt", file, name)
	}
	ds, err := readDirectives(file, src)
	if err != nil {
		return nil, err
	}
	sc := &Script{Name: name, File: file, names: newNames(), directives: ds}
	if err := sc.compile(ds); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if check {
		if err := sc.CheckMachine(); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// CheckMachine builds the script's machine once and takes it down, so
// that a machine the engine refuses (a memcg limit above the RAM, bad
// watermarks) is an error of the script, not of every run.
func (sc *Script) CheckMachine() error {
	t := ksync.NewTask("load", 0)
	s, err := system.New(t, sc.cfg)
	if err != nil {
		return fmt.Errorf("%s: line %d: machine: %v", sc.File, sc.machineLine, err)
	}
	return s.Shutdown(t)
}

// The directives in the order a script gives them.
const (
	stHeader = iota
	stMachine
	stSetup
	stTasks
	stCheck
	stExplore
)

func (sc *Script) compile(ds []directive) error {
	state := -1
	taskNames := map[string]bool{}
	order := map[string]int{"scenario": stHeader, "machine": stMachine, "setup": stSetup, "task": stTasks, "check": stCheck, "explore": stExplore}
	for _, d := range ds {
		a := newArgs(opLine{line: d.line, text: d.cmd, verb: d.cmd, args: d.args})
		want, ok := order[d.cmd]
		if !ok {
			return fmt.Errorf("line %d: unknown directive %q (scenario, machine, setup, task, check, explore)", d.line, d.cmd)
		}
		repeats := want == stTasks || want == stExplore
		first := (state == -1) != (want == stHeader)
		if want < state || (want == state && !repeats) || first || (want > stMachine && state < stMachine) {
			return fmt.Errorf("line %d: %s out of place: a script is scenario, machine, [setup], task..., [check], explore...", d.line, d.cmd)
		}
		if d.cmd != "explore" && d.expected != "" {
			return fmt.Errorf("line %d: %s has an expected output; only explore lines have one", d.line, d.cmd)
		}
		state = want
		var err error
		switch d.cmd {
		case "scenario":
			err = sc.header(d, a)
		case "machine":
			err = sc.machine(d, a)
		case "setup":
			if err = a.done(); err == nil {
				sc.setupOps, err = sc.block(d, inSetup)
			}
		case "task":
			var name string
			if name, err = oneWord(a, "task name"); err != nil {
				return err
			}
			if taskNames[name] {
				return fmt.Errorf("line %d: task %s twice", d.line, name)
			}
			taskNames[name] = true
			cpu, err := a.num("cpu", int64(len(sc.tasks)))
			if err != nil {
				return err
			}
			if err := a.done(); err != nil {
				return err
			}
			ops, err := sc.block(d, inTask)
			if err != nil {
				return err
			}
			if len(ops) == 0 {
				return fmt.Errorf("line %d: task %s does nothing", d.line, name)
			}
			sc.tasks = append(sc.tasks, scriptTask{name: name, cpu: int(cpu), ops: ops})
		case "check":
			if err = a.done(); err == nil {
				sc.check, err = sc.block(d, inCheck)
			}
		case "explore":
			err = sc.explore(d, a)
		}
		if err != nil {
			return err
		}
	}
	if state < stTasks {
		return fmt.Errorf("a script needs a scenario line, a machine and at least one task")
	}
	// Devices that take fault rules in a run are wrapped at set-up.
	for i, f := range sc.names.faulty {
		sc.cfg.Devices[i].Faulty = sc.cfg.Devices[i].Faulty || f
	}
	return nil
}

func (sc *Script) header(d directive, a *args) error {
	fx, err := a.str("fix", "")
	if err != nil {
		return err
	}
	switch fx {
	case "":
		return a.errorf("name the fix that decides the race: fix=NAME (%s), or fix=none", strings.Join(fixes.Names(), ", "))
	case "none":
		sc.NoFix = true
	default:
		if sc.Fix, err = fixes.Lookup(fx); err != nil {
			return a.errorf("%v", err)
		}
	}
	if sc.Thread, err = a.str("seed", ""); err != nil {
		return err
	}
	if sc.Commit, err = a.str("commit", ""); err != nil {
		return err
	}
	if sc.Commit == "" && !sc.NoFix {
		sc.Commit = sc.Fix.Info().Commit
	}
	if sc.Design, err = a.str("design", ""); err != nil {
		return err
	}
	if sc.Design != "" {
		if _, err := design.Parse(sc.Design); err != nil {
			return a.errorf("design=%s: %v (leave it out for both)", sc.Design, err)
		}
	}
	if p, err := a.str("panic", ""); err != nil {
		return err
	} else if p != "" {
		if sc.PanicMeans, err = invariant.Lookup(p); err != nil {
			return a.errorf("panic=%s: %v", p, err)
		}
	}
	ms, err := a.num("max-steps", 0)
	if err != nil {
		return err
	}
	sc.MaxSteps = int(ms)
	if err := a.done(); err != nil {
		return err
	}
	sum, rest, _ := strings.Cut(d.input, "\n")
	if sc.Summary = strings.TrimSpace(sum); sc.Summary == "" {
		return fmt.Errorf("line %d: the scenario line's input starts with a one-line summary", d.line)
	}
	doc := strings.TrimSpace(rest)
	if drawing := strings.TrimRight(strings.Join(d.comment, "\n"), "\n "); drawing != "" {
		if doc != "" {
			doc += "\n\n"
		}
		doc += drawing
	}
	sc.Doc = doc
	return nil
}

// machine reads "machine frames=N ..." and its device and memcg lines.
func (sc *Script) machine(d directive, a *args) error {
	cfg := system.Config{MemcgMode: memcg.V2}
	frames, err := a.need("frames", "the RAM in 4 KiB frames")
	if err != nil {
		return err
	}
	cfg.Frames = int(frames)
	pc, err := a.num("page-cluster", 3)
	if err != nil {
		return err
	}
	cfg.PageCluster = int(pc)
	if cfg.Readahead, err = a.str("readahead", "vma"); err != nil {
		return err
	}
	if cfg.Kswapd, err = a.onOff("kswapd", false); err != nil {
		return err
	}
	if wm, ok := a.vals("watermarks"); ok {
		if len(wm) != 3 {
			return a.errorf("watermarks=(min, low, high) in frames")
		}
		var v [3]int
		for i, s := range wm {
			if v[i], err = strconv.Atoi(s); err != nil {
				return a.errorf("watermark %q is not a number", s)
			}
		}
		cfg.WatermarkMin, cfg.WatermarkLow, cfg.WatermarkHigh = v[0], v[1], v[2]
	}
	if err := a.done(); err != nil {
		return err
	}
	lines, err := splitOps(d)
	if err != nil {
		return err
	}
	for _, o := range lines {
		a := newArgs(o)
		switch o.verb {
		case "device":
			dc, err := deviceConfig(a)
			if err != nil {
				return err
			}
			cfg.Devices = append(cfg.Devices, dc)
		case "memcg":
			if cfg.MemcgLimit != 0 {
				return a.errorf("one memcg line: the machine has one workload cgroup")
			}
			if cfg.MemcgLimit, err = a.num("limit", 0); err != nil {
				return err
			}
			if cfg.MemcgLimit <= 0 {
				return a.errorf("memcg limit=PAGES")
			}
			if cfg.SwapLimit, err = a.num("swap", 0); err != nil {
				return err
			}
			mode, err := a.str("mode", "v2")
			if err != nil {
				return err
			}
			switch mode {
			case "v1":
				cfg.MemcgMode = memcg.V1
			case "v2":
			default:
				return a.errorf("mode=%s: v1 or v2", mode)
			}
			if err := a.done(); err != nil {
				return err
			}
		default:
			return a.errorf("a machine has device and memcg lines")
		}
	}
	sc.cfg = cfg
	sc.machineLine = d.line
	sc.names.devices = len(cfg.Devices)
	sc.names.faulty = make([]bool, len(cfg.Devices))
	return nil
}

// deviceConfig reads "device ram pages=N ...".
func deviceConfig(a *args) (system.DeviceConfig, error) {
	w := a.words()
	if len(w) != 1 || w[0] != "ram" {
		return system.DeviceConfig{}, a.errorf("device ram pages=N: scripts run on RAM devices (sync=off gives the swap cache path of a disk)")
	}
	dc := system.DeviceConfig{Kind: "ram"}
	pages, err := a.num("pages", 0)
	if err != nil {
		return dc, err
	}
	if pages < 2 {
		return dc, a.errorf("a device needs pages=N, the header page included")
	}
	dc.Pages = uint64(pages)
	if dc.Comp, err = a.str("comp", "lz4"); err != nil {
		return dc, err
	}
	prio, err := a.str("prio", "-1")
	if err != nil {
		return dc, err
	}
	if dc.Priority, err = strconv.Atoi(prio); err != nil {
		return dc, a.errorf("prio=%s is not a number", prio)
	}
	sync, err := a.onOff("sync", true)
	if err != nil {
		return dc, err
	}
	dc.Async = !sync
	if specs, ok := a.vals("faults"); ok {
		if dc.Faults, err = swapdev.ParseFaultRules(specs...); err != nil {
			return dc, a.errorf("%v", err)
		}
	}
	seed, err := a.num("fault-seed", 0)
	if err != nil {
		return dc, err
	}
	dc.FaultSeed = uint64(seed)
	return dc, a.done()
}

// block compiles the lines of a setup, task or check block.
func (sc *Script) block(d directive, in where) ([]*op, error) {
	lines, err := splitOps(d)
	if err != nil {
		return nil, err
	}
	var ops []*op
	for _, o := range lines {
		p, err := compileOp(sc.names, o, in)
		if err != nil {
			return nil, err
		}
		ops = append(ops, p)
	}
	return ops, nil
}

// explore reads a budget: "explore [revert] [variant=V] [fixes=(N=V,
// ...)] strategy=S runs=N [seed=N] [design=D]", whose expected output is
// the verdict (one per design where they differ).
func (sc *Script) explore(d directive, a *args) error {
	var b Budget
	if a.flag("revert") {
		if sc.NoFix {
			return a.errorf("revert: the scenario has no fix (fix=none); name one with fixes=(NAME=VARIANT)")
		}
		b.Fixes = append(b.Fixes, sc.Fix.String()+"="+sc.Fix.VariantName(sc.Fix.Info().Unfixed))
	}
	if v, err := a.str("variant", ""); err != nil {
		return err
	} else if v != "" {
		if sc.NoFix {
			return a.errorf("variant=: the scenario has no fix (fix=none)")
		}
		b.Fixes = append(b.Fixes, sc.Fix.String()+"="+v)
	}
	more, _ := a.vals("fixes")
	b.Fixes = append(b.Fixes, more...)
	if _, err := b.FixSet(); err != nil {
		return a.errorf("%v", err)
	}
	var err error
	if b.Strategy, err = a.str("strategy", ""); err != nil {
		return err
	}
	if _, err := ParseSpec(b.Strategy); err != nil {
		return a.errorf("%v", err)
	}
	runs, err := a.need("runs", "the schedules to explore")
	if err != nil {
		return err
	}
	b.Runs = int(runs)
	if b.Seed, err = a.num("seed", 1); err != nil {
		return err
	}
	if b.Design, err = a.str("design", ""); err != nil {
		return err
	}
	if b.Design != "" {
		if _, err := design.Parse(b.Design); err != nil {
			return a.errorf("%v", err)
		}
		if sc.Design != "" && b.Design != sc.Design {
			return a.errorf("design=%s: the scenario applies to the %s design only", b.Design, sc.Design)
		}
	}
	if err := a.done(); err != nil {
		return err
	}
	b.Want = strings.TrimSpace(d.expected)
	b.Line = d.line
	sc.Budgets = append(sc.Budgets, b)
	return nil
}
