package explore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/swap"
	"uswap/swapdev"
)

// This file holds the verbs of a script's setup, task and check blocks:
// each line is compiled once, when the script is read, into a function
// that a run calls (the names it uses are resolved to indices then), so
// that a schedule costs what the same calls written in Go would.

// where is the kind of block a line is in.
type where int

const (
	inSetup where = iota // on the main task, before the tasks exist
	inTask               // in a racing task
	inCheck              // at the end, every task returned
)

// op is one compiled line.
type op struct {
	opLine
	// always: the line runs even after an earlier line of its task
	// failed (signal, so that nobody waits for a failed task forever).
	always bool
	run    func(x *opCtx) error
}

// opCtx is what a line runs with: the run, the task, and buffers of its
// own (a task can be preempted in the middle of a Store, so no two tasks
// share one), made on first use: a schedule's cost is mostly its set-up,
// and most tasks need no page buffer.
type opCtx struct {
	r     *scriptRun
	t     *ksync.Task
	who   string  // "setup", the task's name, or "check"
	touch [8]byte // a load that only faults
	page  []byte  // a page being stored
	got   []byte  // a page loaded
	tmp   []byte  // the expected page of a pattern
}

func (x *opCtx) storePage() []byte {
	if x.page == nil {
		x.page = make([]byte, mem.PageSize)
	}
	return x.page
}

func (x *opCtx) gotPage() []byte {
	if x.got == nil {
		x.got = make([]byte, mem.PageSize)
	}
	return x.got
}

// tmpPage is the scratch page of a pattern check.
func (x *opCtx) tmpPage() []byte {
	if x.tmp == nil {
		x.tmp = make([]byte, mem.PageSize)
	}
	return x.tmp
}

// names are the script's objects: address spaces, mappings, shmem files
// and completions share one namespace; tasks have their own.
type names struct {
	kind  map[string]string // name -> "mm", "mapping", "file", "completion"
	index map[string]int
	mms   []mmDecl
	maps  []mapDecl
	files []fileDecl
	comps []string
	// defaultMM is the index of the address space "mm" that lines
	// without mm= use, made at the start of the setup; -1 if none does.
	defaultMM int
	devices   int    // swap devices the machine has
	faulty    []bool // device i can take fault rules
}

type mmDecl struct {
	name string
	root bool // in the root cgroup, not the workload's
}

type mapDecl struct {
	name  string
	pages int
	mm    int // the address space it was made in
}

type fileDecl struct {
	name  string
	pages int // its size when created
}

// maxFilePages bounds a page index of a shmem file: files grow by
// writes, so a reference is checked against this, not the file's size.
const maxFilePages = 1 << 16

func newNames() *names {
	return &names{kind: map[string]string{}, index: map[string]int{}, defaultMM: -1}
}

func (n *names) declare(name, kind string, idx int) error {
	if name == "" || strings.ContainsAny(name, "[].=(),#") {
		return fmt.Errorf("%q is not a name (letters, digits, - and _)", name)
	}
	if k, ok := n.kind[name]; ok {
		return fmt.Errorf("%s is already a %s", name, k)
	}
	n.kind[name] = kind
	n.index[name] = idx
	return nil
}

func (n *names) lookup(name, kind string) (int, error) {
	k, ok := n.kind[name]
	if !ok {
		return 0, fmt.Errorf("%s is not declared (a %s)", name, kind)
	}
	if k != kind {
		return 0, fmt.Errorf("%s is a %s, not a %s", name, k, kind)
	}
	return n.index[name], nil
}

// mmArg resolves mm=NAME, or def; def < 0 means the default address
// space, declared on first use.
func (n *names) mmArg(a *args, def int) (int, error) {
	s, err := a.str("mm", "")
	if err != nil {
		return 0, err
	}
	if s != "" {
		i, err := n.lookup(s, "mm")
		if err != nil {
			return 0, a.errorf("%v", err)
		}
		return i, nil
	}
	if def >= 0 {
		return def, nil
	}
	return n.defaultMMIndex()
}

func (n *names) defaultMMIndex() (int, error) {
	if n.defaultMM < 0 {
		if err := n.declare("mm", "mm", len(n.mms)); err != nil {
			return 0, err
		}
		n.defaultMM = len(n.mms)
		n.mms = append(n.mms, mmDecl{name: "mm"})
	}
	return n.defaultMM, nil
}

func (n *names) pages(name string) (int, error) {
	switch n.kind[name] {
	case "mapping":
		return n.maps[n.index[name]].pages, nil
	case "file":
		return maxFilePages, nil
	case "":
		return 0, fmt.Errorf("%s is not declared (a mapping or a shmem file)", name)
	}
	return 0, fmt.Errorf("%s is a %s, not a mapping or a shmem file", name, n.kind[name])
}

// mapRef reads a page reference to a mapping.
func (n *names) mapRef(a *args, s string) (pageRef, int, error) {
	if n.kind[s] == "file" || n.kind[strings.SplitN(s, "[", 2)[0]] == "file" {
		return pageRef{}, 0, a.errorf("%s is a shmem file: use shmem read/write, or map it (map P shared=F)", s)
	}
	p, err := parsePageRef(s, n.pages)
	if err != nil {
		return p, 0, a.errorf("%v", err)
	}
	return p, n.index[p.name], nil
}

// fileRef reads a page reference to a shmem file; a bare name means its
// pages at creation.
func (n *names) fileRef(a *args, s string) (pageRef, int, error) {
	name, _, hasIdx := strings.Cut(s, "[")
	i, err := n.lookup(name, "file")
	if err != nil {
		return pageRef{}, 0, a.errorf("%v", err)
	}
	if !hasIdx {
		pg := n.files[i].pages
		if pg == 0 {
			return pageRef{}, 0, a.errorf("%s was created empty: give the pages, %s[i] or %s[lo..hi]", name, name, name)
		}
		return pageRef{name: name, lo: 0, hi: pg - 1}, i, nil
	}
	p, err := parsePageRef(s, n.pages)
	if err != nil {
		return p, 0, a.errorf("%v", err)
	}
	return p, i, nil
}

// oneWord takes exactly one positional word.
func oneWord(a *args, what string) (string, error) {
	w := a.words()
	if len(w) != 1 {
		return "", a.errorf("want one %s, got %d words", what, len(w))
	}
	return w[0], nil
}

// verb compiles one kind of line.
type verb struct {
	in      []where // the blocks it may appear in
	compile func(n *names, a *args, in where) (*op, error)
}

// verbs is built before the init functions run, which read the
// embedded scripts.
var verbs = makeVerbs()

func makeVerbs() map[string]verb {
	anywhere := []where{inSetup, inTask, inCheck}
	quiet := []where{inSetup, inCheck}
	return map[string]verb{
		"mm":          {anywhere, compileMM},
		"map":         {anywhere, compileMap},
		"munmap":      {anywhere, compileRange((*mm.MM).Munmap)},
		"fork":        {anywhere, compileFork},
		"exit":        {anywhere, compileExit},
		"load":        {anywhere, compileLoad},
		"store":       {anywhere, compileStore},
		"pageout":     {anywhere, compileRange((*mm.MM).MadvisePageout)},
		"dontneed":    {anywhere, compileRange((*mm.MM).MadviseDontneed)},
		"mincore":     {anywhere, compileMincore},
		"reclaim":     {anywhere, compileReclaim},
		"shmem":       {anywhere, compileShmem},
		"swapoff":     {anywhere, compileSwapoff},
		"swapon":      {anywhere, compileSwapon},
		"limit":       {anywhere, compileLimit},
		"faults":      {anywhere, compileFaults},
		"signal":      {[]where{inTask}, compileSignal},
		"wait":        {[]where{inTask}, compileWait},
		"expect":      {anywhere, compileExpect},
		"audit":       {quiet, compileAudit},
		"audit-empty": {quiet, compileAudit},
		"shutdown":    {[]where{inCheck}, compileShutdown},
	}
}

// verbNames lists the verbs, for errors.
func verbNames() string {
	return "mm map munmap fork exit load store pageout dontneed mincore reclaim shmem swapoff swapon limit faults signal wait expect audit audit-empty shutdown"
}

// compileOp compiles one line of a block: the verb's own arguments, then
// the ones every line takes (times=, allow=, swapins=, swapouts=,
// breaks=).
func compileOp(n *names, o opLine, in where) (*op, error) {
	v, ok := verbs[o.verb]
	if !ok {
		return nil, fmt.Errorf("line %d: unknown verb %q (verbs: %s)", o.line, o.verb, verbNames())
	}
	okHere := false
	for _, w := range v.in {
		okHere = okHere || w == in
	}
	if !okHere {
		return nil, fmt.Errorf("line %d: %s cannot be used in a %s block", o.line, o.verb, [...]string{"setup", "task", "check"}[in])
	}
	a := newArgs(o)
	allow, err := parseAllow(a)
	if err != nil {
		return nil, err
	}
	breaks := invariant.ID(0)
	if s, err := a.str("breaks", ""); err != nil {
		return nil, err
	} else if s != "" {
		if breaks, err = invariant.Lookup(s); err != nil {
			return nil, a.errorf("%v", err)
		}
	}
	times, err := a.num("times", 1)
	if err != nil {
		return nil, err
	}
	if times < 1 || times > 1<<16 {
		return nil, a.errorf("times=%d: 1 to 65536", times)
	}
	cpu, err := a.num("cpu", -1)
	if err != nil {
		return nil, err
	}
	if cpu >= 0 && in != inSetup {
		return nil, a.errorf("cpu=%d: only a setup line takes a CPU (a task's is on its task line)", cpu)
	}
	var deltas []statDelta
	for _, k := range []string{"swapins", "swapouts"} {
		v, err := a.num(k, -1)
		if err != nil {
			return nil, err
		}
		if v >= 0 {
			deltas = append(deltas, statDelta{name: k, want: uint64(v)})
		}
	}
	p, err := v.compile(n, a, in)
	if err != nil {
		return nil, err
	}
	if err := a.done(); err != nil {
		return nil, err
	}
	p.opLine = o
	run := p.run
	p.run = func(x *opCtx) error {
		var before []uint64
		for _, d := range deltas {
			before = append(before, d.read(x))
		}
		var err error
		for k := int64(0); k < times && err == nil; k++ {
			err = run(x)
		}
		for _, a := range allow {
			if err != nil && errors.Is(err, a) {
				err = nil
			}
		}
		if err == nil {
			for k, d := range deltas {
				if got := d.read(x) - before[k]; got != d.want {
					err = invariant.Newf(invariant.NoUnexpectedError, x.who, "%s went up by %d during the line, want %d", d.counter(), got, d.want)
					break
				}
			}
		}
		if err != nil && breaks != 0 {
			err = rebrand(err, breaks)
		}
		return err
	}
	if cpu >= 0 {
		p.run = onCPU(int(cpu), p.run)
	}
	return p, nil
}

// onCPU runs a setup line on CPU cpu (cpu=N): on a task of its own,
// which the main task waits for, so that the line uses that CPU's
// per-CPU state (its current swap cluster, say). Nothing else runs
// meanwhile: the setup has no other task.
func onCPU(cpu int, run func(x *opCtx) error) func(x *opCtx) error {
	return func(x *opCtx) error {
		var err error
		var done ksync.Completion
		x.r.setupNames[&done] = fmt.Sprintf("setup@cpu%d_done", cpu)
		ksync.Spawn(x.t, fmt.Sprintf("setup@cpu%d", cpu), cpu, func(t *ksync.Task) {
			err = run(x.r.ctx(t, x.who))
			done.Complete(t)
		})
		done.Wait(x.t)
		return err
	}
}

// statDelta is a swapins= or swapouts= argument: how much the line adds
// to pswpin or pswpout.
type statDelta struct {
	name string
	want uint64
}

// counter is the vmstat counter the argument reads.
func (d statDelta) counter() string {
	if d.name == "swapins" {
		return "pswpin"
	}
	return "pswpout"
}

func (d statDelta) read(x *opCtx) uint64 {
	st := &x.r.sys.Core().Stats
	if d.name == "swapins" {
		return st.PswpIn.Sum()
	}
	return st.PswpOut.Sum()
}

// rebrand makes every violation in err one of id (breaks=).
func rebrand(err error, id invariant.ID) error {
	var l invariant.List
	if errors.As(err, &l) {
		out := make(invariant.List, len(l))
		for i, v := range l {
			v.Invariant = id
			out[i] = v
		}
		return out
	}
	var v invariant.Violation
	if errors.As(err, &v) {
		v.Invariant = id
		return v
	}
	return invariant.Newf(id, "", "%v", err)
}

// allowNames are the errors allow= accepts.
var allowNames = []struct {
	name string
	err  error
}{
	{"oom", mm.ErrOOM}, {"bus", mm.ErrBus}, {"segv", mm.ErrSegv}, {"exited", mm.ErrExited},
	{"busy", swap.ErrBusy}, {"io", swapdev.ErrIO},
}

func parseAllow(a *args) ([]error, error) {
	vs, ok := a.vals("allow")
	if !ok {
		return nil, nil
	}
	var out []error
	for _, v := range vs {
		found := false
		for _, e := range allowNames {
			if e.name == v {
				out = append(out, e.err)
				found = true
			}
		}
		if !found {
			var known []string
			for _, e := range allowNames {
				known = append(known, e.name)
			}
			return nil, a.errorf("allow=%s: errors are %s", v, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// mm returns address space i, or an error if the run has not made it
// (yet).
func (x *opCtx) mm(i int) (*mm.MM, error) {
	if m := x.r.mms[i]; m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("address space %s does not exist yet (a fork in another task not waited for?)", x.r.sc.names.mms[i].name)
}

func (x *opCtx) file(i int) (*mm.ShmemFile, error) {
	if f := x.r.files[i]; f != nil {
		return f, nil
	}
	return nil, fmt.Errorf("shmem file %s does not exist yet", x.r.sc.names.files[i].name)
}

// addr is the address of page pg of mapping i.
func (x *opCtx) addr(i, pg int) (uint64, error) {
	a := x.r.addrs[i]
	if a == 0 {
		return 0, fmt.Errorf("mapping %s does not exist yet", x.r.sc.names.maps[i].name)
	}
	return a + pageBytes(pg), nil
}

// inRoot reads memcg=root|workload: whether what the line makes is
// charged to the root cgroup rather than the workload's.
func inRoot(a *args) (bool, error) {
	cg, err := a.str("memcg", "workload")
	if err == nil && cg != "workload" && cg != "root" {
		err = a.errorf("memcg=%s: root or workload", cg)
	}
	return cg == "root", err
}

func compileMM(n *names, a *args, _ where) (*op, error) {
	name, err := oneWord(a, "name")
	if err != nil {
		return nil, err
	}
	root, err := inRoot(a)
	if err != nil {
		return nil, err
	}
	i := len(n.mms)
	if err := n.declare(name, "mm", i); err != nil {
		return nil, a.errorf("%v", err)
	}
	n.mms = append(n.mms, mmDecl{name: name, root: root})
	return &op{run: func(x *opCtx) error {
		x.r.mms[i] = x.r.newMM(x.t, n.mms[i].root)
		return nil
	}}, nil
}

func compileMap(n *names, a *args, _ where) (*op, error) {
	name, err := oneWord(a, "mapping name")
	if err != nil {
		return nil, err
	}
	pages, err := a.num("pages", 0)
	if err != nil {
		return nil, err
	}
	if pages < 1 || pages > 1<<20 {
		return nil, a.errorf("pages=%d: a mapping has 1 to 2^20 pages", pages)
	}
	mi, err := n.mmArg(a, -1)
	if err != nil {
		return nil, err
	}
	ro, err := a.str("prot", "rw")
	if err != nil {
		return nil, err
	}
	prot := mm.ProtRead | mm.ProtWrite
	switch ro {
	case "rw":
	case "r":
		prot = mm.ProtRead
	default:
		return nil, a.errorf("prot=%s: r or rw", ro)
	}
	fi := -1
	if f, err := a.str("shared", ""); err != nil {
		return nil, err
	} else if f != "" {
		if fi, err = n.lookup(f, "file"); err != nil {
			return nil, a.errorf("shared=%s: %v", f, err)
		}
	}
	pgoff, err := a.num("pgoff", 0)
	if err != nil {
		return nil, err
	}
	if fi < 0 && pgoff != 0 {
		return nil, a.errorf("pgoff= is for shared mappings of a file")
	}
	i := len(n.maps)
	if err := n.declare(name, "mapping", i); err != nil {
		return nil, a.errorf("%v", err)
	}
	n.maps = append(n.maps, mapDecl{name: name, pages: int(pages), mm: mi})
	length := pageBytes(int(pages))
	return &op{run: func(x *opCtx) error {
		m, err := x.mm(mi)
		if err != nil {
			return err
		}
		var addr uint64
		if fi >= 0 {
			f, err := x.file(fi)
			if err != nil {
				return err
			}
			addr, err = m.MmapShared(x.t, f, pageBytes(int(pgoff)), length, prot)
			if err != nil {
				return err
			}
		} else if addr, err = m.Mmap(x.t, length, prot); err != nil {
			return err
		}
		x.r.addrs[i] = addr
		return nil
	}}, nil
}

// pagesOp compiles the lines that act on a page range of a mapping:
// the reference, mm= and the action per range.
func pagesOp(n *names, a *args) (pageRef, int, int, error) {
	w := a.words()
	if len(w) != 1 {
		return pageRef{}, 0, 0, a.errorf("want one page reference (P[i], P[lo..hi] or P), got %d words", len(w))
	}
	p, i, err := n.mapRef(a, w[0])
	if err != nil {
		return p, 0, 0, err
	}
	mi, err := n.mmArg(a, n.maps[i].mm)
	return p, i, mi, err
}

// compileRange compiles a line that makes one call over a page range
// of a mapping (munmap, pageout).
func compileRange(call func(m *mm.MM, t *ksync.Task, addr, length uint64) error) func(n *names, a *args, _ where) (*op, error) {
	return func(n *names, a *args, _ where) (*op, error) {
		return rangeOp(n, a, func(x *opCtx, _ pageRef, m *mm.MM, addr, length uint64) error {
			return call(m, x.t, addr, length)
		})
	}
}

// rangeOp compiles the page range of a line and its mm=, into an op
// that calls call on the range's address space, address and length.
func rangeOp(n *names, a *args, call func(x *opCtx, p pageRef, m *mm.MM, addr, length uint64) error) (*op, error) {
	p, i, mi, err := pagesOp(n, a)
	if err != nil {
		return nil, err
	}
	return &op{run: func(x *opCtx) error {
		m, err := x.mm(mi)
		if err != nil {
			return err
		}
		addr, err := x.addr(i, p.lo)
		if err != nil {
			return err
		}
		return call(x, p, m, addr, pageBytes(p.hi-p.lo+1))
	}}, nil
}

// pageName names page pg of mapping i as seen from address space mi:
// "P[8]", or "P[8]@child" in another address space than its own.
func pageName(n *names, i, mi, pg int) string {
	s := fmt.Sprintf("%s[%d]", n.maps[i].name, pg)
	if mi != n.maps[i].mm {
		s += "@" + n.mms[mi].name
	}
	return s
}

func compileLoad(n *names, a *args, _ where) (*op, error) {
	p, i, mi, err := pagesOp(n, a)
	if err != nil {
		return nil, err
	}
	want, err := parseContents(a, p.lo, p.hi)
	if err != nil {
		return nil, err
	}
	return &op{run: func(x *opCtx) error {
		m, err := x.mm(mi)
		if err != nil {
			return err
		}
		for pg := p.lo; pg <= p.hi; pg++ {
			addr, err := x.addr(i, pg)
			if err != nil {
				return err
			}
			if want == nil {
				// A touch: the fault is the point, 8 bytes do.
				if err := m.Load(x.t, addr, x.touch[:]); err != nil {
					return err
				}
				continue
			}
			if err := m.Load(x.t, addr, x.gotPage()); err != nil {
				return err
			}
			if err := checkContents(func() string { return pageName(n, i, mi, pg) }, x.got, x.tmpPage, pg, want); err != nil {
				return err
			}
		}
		return nil
	}}, nil
}

func compileStore(n *names, a *args, _ where) (*op, error) {
	p, i, mi, err := pagesOp(n, a)
	if err != nil {
		return nil, err
	}
	what, err := parseContents(a, p.lo, p.hi)
	if err != nil {
		return nil, err
	}
	if len(what) != 1 {
		return nil, a.errorf("store needs one content: fill=V, pattern=V or zero")
	}
	c := what[0]
	return &op{run: func(x *opCtx) error {
		m, err := x.mm(mi)
		if err != nil {
			return err
		}
		for pg := p.lo; pg <= p.hi; pg++ {
			addr, err := x.addr(i, pg)
			if err != nil {
				return err
			}
			p := x.storePage()
			c.make(p, pg)
			if err := m.Store(x.t, addr, p); err != nil {
				return err
			}
		}
		return nil
	}}, nil
}

func compileFork(n *names, a *args, _ where) (*op, error) {
	child, err := oneWord(a, "name for the child")
	if err != nil {
		return nil, err
	}
	pi, err := n.mmArg(a, -1)
	if err != nil {
		return nil, err
	}
	killAt, err := a.num("killed-at", -1)
	if err != nil {
		return nil, err
	}
	ci := len(n.mms)
	if err := n.declare(child, "mm", ci); err != nil {
		return nil, a.errorf("%v", err)
	}
	n.mms = append(n.mms, mmDecl{name: child, root: n.mms[pi].root})
	if killAt >= 0 {
		// A fork that a fatal signal interrupts: it fails with EINTR
		// and the child is torn down; NAME never names an mm.
		return &op{run: func(x *opCtx) error {
			m, err := x.mm(pi)
			if err != nil {
				return err
			}
			if err := m.ForkKilled(x.t, int(killAt)); !errors.Is(err, mm.ErrKilled) {
				return err
			}
			return nil
		}}, nil
	}
	return &op{run: func(x *opCtx) error {
		m, err := x.mm(pi)
		if err != nil {
			return err
		}
		c, err := m.Fork(x.t)
		if err != nil {
			return err
		}
		// A name forked again (times=N) names the newest child; the
		// older ones stay, for exit.
		if old := x.r.mms[ci]; old != nil {
			x.r.older[ci] = append(x.r.older[ci], old)
		}
		x.r.mms[ci] = c
		return nil
	}}, nil
}

func compileExit(n *names, a *args, _ where) (*op, error) {
	w := a.words()
	var mi int
	var err error
	switch len(w) {
	case 0:
		mi, err = n.defaultMMIndex()
	case 1:
		mi, err = n.lookup(w[0], "mm")
	default:
		return nil, a.errorf("exit takes one address space")
	}
	if err != nil {
		return nil, a.errorf("%v", err)
	}
	return &op{run: func(x *opCtx) error {
		m, err := x.mm(mi)
		if err != nil {
			return err
		}
		for _, o := range x.r.older[mi] {
			o.Exit(x.t)
		}
		m.Exit(x.t)
		return nil
	}}, nil
}

// compileMincore compiles "mincore REF [resident=N]": mincore(2) of the
// pages; with resident=, exactly N of them must be resident.
func compileMincore(n *names, a *args, _ where) (*op, error) {
	want, err := a.num("resident", -1)
	if err != nil {
		return nil, err
	}
	return rangeOp(n, a, func(x *opCtx, p pageRef, m *mm.MM, addr, length uint64) error {
		vec, err := m.Mincore(x.t, addr, length)
		if err != nil || want < 0 {
			return err
		}
		got := 0
		for _, b := range vec {
			got += int(b)
		}
		if int64(got) != want {
			return invariant.Newf(invariant.NoUnexpectedError, p.name, "mincore: %d pages resident, want %d", got, want)
		}
		return nil
	})
}

func compileReclaim(n *names, a *args, _ where) (*op, error) {
	pages, err := a.num("pages", 0)
	if err != nil {
		return nil, err
	}
	return &op{run: func(x *opCtx) error {
		node := x.r.sys.Node()
		if pages == 0 {
			node.Drain(x.t)
		} else {
			node.ReclaimMemcg(x.t, x.r.sys.Root(), int(pages))
		}
		return nil
	}}, nil
}

// compileShmem compiles "shmem SUBVERB ...": create, write, read,
// truncate, punch, delete.
func compileShmem(n *names, a *args, _ where) (*op, error) {
	w := a.words()
	if len(w) == 1 && w[0] == "umount" {
		return &op{run: func(x *opCtx) error { return x.r.sys.Node().ShmemUmount(x.t) }}, nil
	}
	if len(w) != 2 {
		return nil, a.errorf("want shmem create|write|read|truncate|punch|delete and a file (or its pages), or shmem umount")
	}
	sub, ref := w[0], w[1]
	if sub == "create" {
		pages, err := a.num("pages", 0)
		if err != nil {
			return nil, err
		}
		root, err := inRoot(a)
		if err != nil {
			return nil, err
		}
		i := len(n.files)
		if err := n.declare(ref, "file", i); err != nil {
			return nil, a.errorf("%v", err)
		}
		n.files = append(n.files, fileDecl{name: ref, pages: int(pages)})
		return &op{run: func(x *opCtx) error {
			f, err := x.r.newFile(x.t, root, int64(pageBytes(int(pages))))
			if err != nil {
				return err
			}
			x.r.files[i] = f
			return nil
		}}, nil
	}
	switch sub {
	case "truncate", "delete":
		fi, err := n.lookup(ref, "file")
		if err != nil {
			return nil, a.errorf("%v", err)
		}
		if sub == "delete" {
			return &op{run: func(x *opCtx) error {
				f, err := x.file(fi)
				if err != nil {
					return err
				}
				return f.Delete(x.t)
			}}, nil
		}
		pages, err := a.num("pages", -1)
		if err != nil {
			return nil, err
		}
		size, err := a.num("size", -1)
		if err != nil {
			return nil, err
		}
		if (pages < 0) == (size < 0) {
			return nil, a.errorf("truncate to pages=N or size=BYTES")
		}
		if pages >= 0 {
			size = int64(pageBytes(int(pages)))
		}
		return &op{run: func(x *opCtx) error {
			f, err := x.file(fi)
			if err != nil {
				return err
			}
			return f.Truncate(x.t, size)
		}}, nil
	case "write", "read", "punch":
	default:
		return nil, a.errorf("unknown shmem verb %q (create, write, read, truncate, punch, delete)", sub)
	}
	p, fi, err := n.fileRef(a, ref)
	if err != nil {
		return nil, err
	}
	if sub == "punch" {
		return &op{run: func(x *opCtx) error {
			f, err := x.file(fi)
			if err != nil {
				return err
			}
			return f.PunchHole(x.t, int64(pageBytes(p.lo)), int64(pageBytes(p.hi-p.lo+1)))
		}}, nil
	}
	cs, err := parseContents(a, p.lo, p.hi)
	if err != nil {
		return nil, err
	}
	if sub == "write" {
		if len(cs) != 1 {
			return nil, a.errorf("shmem write needs one content: fill=V, pattern=V or zero")
		}
		c := cs[0]
		return &op{run: func(x *opCtx) error {
			f, err := x.file(fi)
			if err != nil {
				return err
			}
			for pg := p.lo; pg <= p.hi; pg++ {
				p := x.storePage()
				c.make(p, pg)
				if _, err := f.Write(x.t, int64(pageBytes(pg)), p); err != nil {
					return err
				}
			}
			return nil
		}}, nil
	}
	return &op{run: func(x *opCtx) error {
		f, err := x.file(fi)
		if err != nil {
			return err
		}
		for pg := p.lo; pg <= p.hi; pg++ {
			buf := x.touch[:]
			if cs != nil {
				buf = x.gotPage()
			}
			got, err := f.Read(x.t, int64(pageBytes(pg)), buf)
			if err != nil {
				return err
			}
			if cs == nil {
				continue
			}
			obj := func() string { return fmt.Sprintf("%s[%d]", p.name, pg) }
			if got != len(buf) {
				return invariant.Newf(invariant.NoLostData, obj(), "read %d bytes of the page, want %d", got, len(buf))
			}
			if err := checkContents(obj, x.got, x.tmpPage, pg, cs); err != nil {
				return err
			}
		}
		return nil
	}}, nil
}

// device reads a positional device number.
func device(n *names, a *args) (int, error) {
	w, err := oneWord(a, "device number")
	if err != nil {
		return 0, err
	}
	d, err := strconv.Atoi(w)
	if err != nil || d < 0 || d >= n.devices {
		return 0, a.errorf("device %q: the machine has devices 0..%d", w, n.devices-1)
	}
	return d, nil
}

func compileSwapoff(n *names, a *args, _ where) (*op, error) {
	d, err := device(n, a)
	if err != nil {
		return nil, err
	}
	return &op{run: func(x *opCtx) error { return x.r.sys.Swapoff(x.t, d) }}, nil
}

func compileSwapon(n *names, a *args, _ where) (*op, error) {
	d, err := device(n, a)
	if err != nil {
		return nil, err
	}
	return &op{run: func(x *opCtx) error { return x.r.sys.Swapon(x.t, d) }}, nil
}

func compileLimit(n *names, a *args, _ where) (*op, error) {
	memory, err := a.num("memory", -1)
	if err != nil {
		return nil, err
	}
	swp, err := a.num("swap", -1)
	if err != nil {
		return nil, err
	}
	if memory < 0 && swp < 0 {
		return nil, a.errorf("limit memory=PAGES and/or swap=PAGES")
	}
	return &op{run: func(x *opCtx) error {
		cg := x.r.sys.Workload()
		if cg == x.r.sys.Root() {
			return fmt.Errorf("limit: the machine has no workload cgroup (memcg limit=N in the machine)")
		}
		if memory >= 0 {
			if err := cg.SetMemoryMax(x.t, memory*mem.PageSize); err != nil {
				return err
			}
		}
		if swp >= 0 {
			return cg.SetSwapMax(x.t, swp*mem.PageSize)
		}
		return nil
	}}, nil
}

func compileFaults(n *names, a *args, _ where) (*op, error) {
	d, err := device(n, a)
	if err != nil {
		return nil, err
	}
	specs, _ := a.vals("rules")
	rules, err := swapdev.ParseFaultRules(specs...)
	if err != nil {
		return nil, a.errorf("%v", err)
	}
	n.faulty[d] = true
	return &op{run: func(x *opCtx) error {
		f, ok := x.r.sys.Devices()[d].(*swapdev.Faulty)
		if !ok {
			return fmt.Errorf("device %d takes no fault rules", d)
		}
		f.SetRules(x.t, rules...)
		return nil
	}}, nil
}

// completion resolves (declaring on first use) a completion name.
func (n *names) completion(a *args, name string) (int, error) {
	if k, ok := n.kind[name]; ok {
		if k != "completion" {
			return 0, a.errorf("%s is a %s, not a completion", name, k)
		}
		return n.index[name], nil
	}
	i := len(n.comps)
	if err := n.declare(name, "completion", i); err != nil {
		return 0, a.errorf("%v", err)
	}
	n.comps = append(n.comps, name)
	return i, nil
}

func compileSignal(n *names, a *args, _ where) (*op, error) {
	name, err := oneWord(a, "completion name")
	if err != nil {
		return nil, err
	}
	i, err := n.completion(a, name)
	if err != nil {
		return nil, err
	}
	return &op{always: true, run: func(x *opCtx) error {
		x.r.comps[i].Complete(x.t)
		return nil
	}}, nil
}

func compileWait(n *names, a *args, _ where) (*op, error) {
	w := a.words()
	if len(w) == 0 {
		return nil, a.errorf("wait for one or more completions")
	}
	var idx []int
	for _, name := range w {
		i, err := n.completion(a, name)
		if err != nil {
			return nil, err
		}
		idx = append(idx, i)
	}
	return &op{run: func(x *opCtx) error {
		for _, i := range idx {
			x.r.comps[i].Wait(x.t)
		}
		return nil
	}}, nil
}

func compileAudit(n *names, a *args, _ where) (*op, error) {
	empty := a.o.verb == "audit-empty"
	return &op{run: func(x *opCtx) error {
		var vs []invariant.Violation
		if empty {
			vs = x.r.sys.AuditEmpty(x.t)
		} else {
			vs = x.r.sys.Audit(x.t)
		}
		return invariant.List(vs).Err()
	}}, nil
}

func compileShutdown(n *names, a *args, _ where) (*op, error) {
	return &op{run: func(x *opCtx) error { return x.r.sys.Shutdown(x.t) }}, nil
}

// expectTerm is one quantity expect can compare: its reading, the
// invariant a wrong value breaks, and how it reads the expected value.
type expectTerm struct {
	read   func(x *opCtx) (string, error)
	breaks invariant.ID
}

// compileExpect compiles "expect TERM=VALUE ...": counters of the
// machine, the state of pages and devices. See docs/scenarios.md.
func compileExpect(n *names, a *args, in where) (*op, error) {
	mi := -1
	if s, err := a.str("mm", ""); err != nil {
		return nil, err
	} else if s != "" {
		if mi, err = n.lookup(s, "mm"); err != nil {
			return nil, a.errorf("%v", err)
		}
	}
	type check struct {
		name string
		want string
		term expectTerm
	}
	var checks []check
	for i, x := range a.o.args {
		if a.used[i] {
			continue
		}
		if len(x.Vals) != 1 {
			return nil, a.errorf("expect TERM=VALUE, not %s", x)
		}
		a.used[i] = true
		t, err := n.expectTerm(a, x.Key, x.Vals[0], mi)
		if err != nil {
			return nil, err
		}
		checks = append(checks, check{x.Key, x.Vals[0], t})
	}
	if len(checks) == 0 {
		return nil, a.errorf("expect what? (TERM=VALUE, see docs/scenarios.md)")
	}
	return &op{run: func(x *opCtx) error {
		var vs invariant.List
		for _, c := range checks {
			got, err := c.term.read(x)
			if err != nil {
				return err
			}
			if got != c.want {
				vs = append(vs, invariant.Newf(c.term.breaks, c.name, "is %s, want %s", got, c.want))
			}
		}
		return vs.Err()
	}}, nil
}

// counterTerm reads a number.
func counterTerm(id invariant.ID, f func(x *opCtx) int64) expectTerm {
	return expectTerm{breaks: id, read: func(x *opCtx) (string, error) { return strconv.FormatInt(f(x), 10), nil }}
}

func (n *names) expectTerm(a *args, key, want string, mi int) (expectTerm, error) {
	number := func() error {
		if _, err := strconv.ParseInt(want, 0, 64); err != nil {
			return a.errorf("%s=%s: want a number", key, want)
		}
		return nil
	}
	switch key {
	case "free-slots":
		return counterTerm(invariant.SlotAccounting, func(x *opCtx) int64 { return x.r.sys.Core().NrSwapPages(x.t) }), number()
	case "used-slots":
		return counterTerm(invariant.SlotAccounting, func(x *opCtx) int64 {
			var n int64
			for _, si := range x.r.sys.Core().Active(x.t) {
				n += si.InusePages(x.t)
			}
			return n
		}), number()
	case "free-frames":
		return counterTerm(invariant.NoLostFrame, func(x *opCtx) int64 { return x.r.sys.Pool().NrFree(x.t) }), number()
	case "stranded":
		return counterTerm(invariant.NoLostFrame, func(x *opCtx) int64 { return int64(x.r.sys.Node().Stat.Stranded.Sum()) }), number()
	case "pswpin":
		return counterTerm(invariant.NoUnexpectedError, func(x *opCtx) int64 { return int64(x.r.sys.Core().Stats.PswpIn.Sum()) }), number()
	case "pswpout":
		return counterTerm(invariant.NoUnexpectedError, func(x *opCtx) int64 { return int64(x.r.sys.Core().Stats.PswpOut.Sum()) }), number()
	}
	if d, ok := strings.CutPrefix(key, "swap"); ok {
		if k, err := strconv.Atoi(d); err == nil {
			if k < 0 || k >= n.devices {
				return expectTerm{}, a.errorf("%s: the machine has devices 0..%d", key, n.devices-1)
			}
			if want != "on" && want != "off" {
				return expectTerm{}, a.errorf("%s=%s: on or off", key, want)
			}
			return expectTerm{breaks: invariant.NoUnexpectedError, read: func(x *opCtx) (string, error) {
				if x.r.sys.SwapInfo(x.t, k) != nil {
					return "on", nil
				}
				return "off", nil
			}}, nil
		}
	}
	if f, ok := strings.CutSuffix(key, ".swapped"); ok {
		fi, err := n.lookup(f, "file")
		if err != nil {
			return expectTerm{}, a.errorf("%v", err)
		}
		return counterTerm(invariant.NoUnexpectedError, func(x *opCtx) int64 {
			if fl := x.r.files[fi]; fl != nil {
				return int64(fl.NrSwapped(x.t))
			}
			return -1
		}), number()
	}
	// A page reference: the state of its PTEs.
	name, _, _ := strings.Cut(key, "[")
	if n.kind[name] == "mapping" {
		p, i, err := n.mapRef(a, key)
		if err != nil {
			return expectTerm{}, err
		}
		switch want {
		case "present", "swap", "none", "marker":
		default:
			return expectTerm{}, a.errorf("%s=%s: a page is present, swap, none or marker", key, want)
		}
		m := mi
		if m < 0 {
			m = n.maps[i].mm
		}
		return expectTerm{breaks: invariant.NoUnexpectedError, read: func(x *opCtx) (string, error) {
			mmv, err := x.mm(m)
			if err != nil {
				return "", err
			}
			// One state for the whole range, or the first that differs.
			var first string
			for pg := p.lo; pg <= p.hi; pg++ {
				addr, err := x.addr(i, pg)
				if err != nil {
					return "", err
				}
				st := mmv.Pagemap(x.t, addr).String()
				if pg == p.lo {
					first = st
				} else if st != first {
					return fmt.Sprintf("%s on page %d, %s on page %d", first, p.lo, st, pg), nil
				}
			}
			return first, nil
		}}, nil
	}
	return expectTerm{}, a.errorf("unknown term %q (free-slots, used-slots, free-frames, stranded, pswpin, pswpout, swapN, FILE.swapped, or a page reference)", key)
}
