package stress

import (
	"errors"
	"fmt"
	"time"

	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/swapdev"
	"uswap/workload"
)

// The reference model: per mapping, the value last stored in each page
// (0: never stored, the page reads as zeros; gone: unmapped). A stored
// page holds workload.FillPage(value, Mixed), whose first word is the
// value, so a load checks every byte.
const gone = ^uint64(0)

type mapping struct {
	addr  uint64
	vals  []uint64
	bus   []bool // the page got SIGBUS (its swap-in read failed)
	alive int    // pages not gone
}

type proc struct {
	m     *mm.MM
	maps  []*mapping
	smaps []*smapping // shared mappings of shmem files
}

// worker is one task; its procs are its address spaces (forks included).
// Only its goroutine touches it.
type worker struct {
	r     *run
	id    int
	t     *ksync.Task
	rng   uint64
	procs []*proc
	buf   []byte
	exp   []byte
	ops   int64
	src   []byte // the fuzz input, nil in a stress run

	files     []*sfile // the task's shmem files (shmem.go)
	filePages int      // the largest file, in pages
	fbuf      []byte   // shmem reads and writes
}

// object names the worker in a violation.
func (w *worker) object() string { return fmt.Sprintf("task %d", w.id) }

const (
	maxProcs    = 4
	maxMappings = 4
)

// rand draws from the seeded generator, or, when src is set (the fuzz
// target), from the fuzz input: one byte a choice, 0 once it is used up.
func (w *worker) rand(n int) int {
	if w.src != nil {
		if len(w.src) == 0 {
			return 0
		}
		b := int(w.src[0])
		w.src = w.src[1:]
		return b % n
	}
	return int(workload.SplitMix64(&w.rng) % uint64(n))
}

func (w *worker) loop(deadline time.Time) {
	w.init()
	r := w.r
	for !r.stop.Load() {
		n := r.done.Add(1)
		if r.cfg.Ops > 0 && n > r.cfg.Ops {
			r.done.Add(-1)
			return
		}
		if w.ops%256 == 0 && !deadline.IsZero() && time.Now().After(deadline) {
			return
		}
		w.ops++
		r.quiesce.RLock()
		w.step()
		r.quiesce.RUnlock()
	}
}

// init makes the buffers.
func (w *worker) init() {
	if w.buf == nil {
		w.buf = make([]byte, mem.PageSize)
		w.exp = make([]byte, mem.PageSize)
	}
	if w.filePages <= 0 {
		w.filePages = 16
	}
	if len(w.fbuf) < max(w.filePages, 3)*mem.PageSize {
		w.fbuf = make([]byte, max(w.filePages, 3)*mem.PageSize)
	}
}

func (w *worker) step() {
	if len(w.procs) == 0 {
		w.procs = append(w.procs, &proc{m: w.r.sys.NewMM(w.t)})
	}
	p := w.procs[w.rand(len(w.procs))]
	x := w.rand(1000)
	if x >= 700 {
		w.shmStep(p, x-700)
		return
	}
	if len(p.maps) == 0 {
		w.mmap(p)
		return
	}
	switch {
	case x < 330:
		w.load(p)
	case x < 650:
		w.store(p)
	case x < 665:
		w.mmap(p)
	case x < 680:
		w.munmap(p)
	case x < 690:
		w.fork(p)
	default:
		w.exit(p)
	}
}

func (w *worker) mmap(p *proc) {
	if len(p.maps) >= maxMappings {
		w.munmap(p)
		return
	}
	w.r.ops[OpMmap].Add(1)
	pages := 1 + w.rand(w.r.cfg.Pages)
	addr, err := p.m.Mmap(w.t, uint64(pages)*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		w.outcome(err, "mmap of %d pages in %v", pages, p.m)
		return
	}
	p.maps = append(p.maps, &mapping{addr: addr, vals: make([]uint64, pages), bus: make([]bool, pages), alive: pages})
}

func (w *worker) pick(p *proc) (*mapping, int) {
	mp := p.maps[w.rand(len(p.maps))]
	i := w.rand(len(mp.vals))
	for tries := 0; mp.vals[i] == gone && tries < 4; tries++ {
		i = w.rand(len(mp.vals))
	}
	return mp, i
}

func (w *worker) load(p *proc) {
	w.r.ops[OpLoad].Add(1)
	mp, i := w.pick(p)
	w.check(p, mp, i)
}

// check loads page i of mp and compares it with the model.
func (w *worker) check(p *proc, mp *mapping, i int) {
	addr := mp.addr + uint64(i)*mem.PageSize
	err := p.m.Load(w.t, addr, w.buf)
	if mp.vals[i] == gone {
		if !errors.Is(err, mm.ErrSegv) {
			w.r.violate(invariant.NoUnexpectedError, w.object(), "load of unmapped %#x in %v: %v, want SIGSEGV", addr, p.m, err)
		}
		return
	}
	if err != nil {
		w.accessError(mp, i, err, "load of %#x in %v", addr, p.m)
		return
	}
	if v := mp.vals[i]; v == 0 {
		clear(w.exp)
	} else {
		workload.FillPage(w.exp, v, workload.Mixed)
	}
	for j := range w.buf {
		if w.buf[j] != w.exp[j] {
			w.r.corrupt.Add(1)
			w.r.violate(invariant.NoLostData, w.object(), "load of %#x in %v: corrupted: byte %d is %#x, want %#x (value %#x, model value %#x)",
				addr, p.m, j, w.buf[j], w.exp[j], w.buf[:8], mp.vals[i])
			return
		}
	}
}

func (w *worker) store(p *proc) {
	w.r.ops[OpStore].Add(1)
	mp, i := w.pick(p)
	addr := mp.addr + uint64(i)*mem.PageSize
	v := workload.SplitMix64(&w.rng)>>2 | 1
	workload.FillPage(w.buf, v, workload.Mixed)
	err := p.m.Store(w.t, addr, w.buf)
	if mp.vals[i] == gone {
		if !errors.Is(err, mm.ErrSegv) {
			w.r.violate(invariant.NoUnexpectedError, w.object(), "store to unmapped %#x in %v: %v, want SIGSEGV", addr, p.m, err)
		}
		return
	}
	if err != nil {
		w.accessError(mp, i, err, "store to %#x in %v", addr, p.m)
		return
	}
	mp.vals[i] = v
	mp.bus[i] = false
}

// accessError sorts an access's error into an expected outcome or a
// violation. SIGBUS is expected only with read faults injected.
func (w *worker) accessError(mp *mapping, i int, err error, format string, args ...any) {
	r := w.r
	switch {
	case errors.Is(err, mm.ErrBus) && r.readFaults():
		r.bus.Add(1)
		if !mp.bus[i] {
			mp.bus[i] = true
			r.lost.Add(1)
		}
	case errors.Is(err, mm.ErrOOM):
		r.oom.Add(1)
	default:
		r.violate(invariant.NoUnexpectedError, w.object(), "%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// outcome counts an OOM or reports anything else as a violation.
func (w *worker) outcome(err error, format string, args ...any) {
	if errors.Is(err, mm.ErrOOM) {
		w.r.oom.Add(1)
		return
	}
	w.r.violate(invariant.NoUnexpectedError, w.object(), "%s: %v", fmt.Sprintf(format, args...), err)
}

func (w *worker) munmap(p *proc) {
	w.r.ops[OpMunmap].Add(1)
	k := w.rand(len(p.maps))
	mp := p.maps[k]
	n := len(mp.vals)
	lo := w.rand(n)
	hi := lo + 1 + w.rand(n-lo)
	if w.rand(2) == 0 {
		lo, hi = 0, n
	}
	if err := p.m.Munmap(w.t, mp.addr+uint64(lo)*mem.PageSize, uint64(hi-lo)*mem.PageSize); err != nil {
		w.outcome(err, "munmap in %v", p.m)
		return
	}
	for i := lo; i < hi; i++ {
		if mp.vals[i] != gone {
			mp.vals[i] = gone
			mp.alive--
		}
	}
	if mp.alive == 0 {
		p.maps = append(p.maps[:k], p.maps[k+1:]...)
	}
}

func (w *worker) fork(p *proc) {
	if len(w.procs) >= maxProcs {
		w.exit(p)
		return
	}
	w.r.ops[OpFork].Add(1)
	child, err := p.m.Fork(w.t)
	if err != nil {
		w.outcome(err, "fork of %v", p.m)
		return
	}
	c := &proc{m: child}
	for _, sm := range p.smaps {
		cp := *sm
		c.smaps = append(c.smaps, &cp)
	}
	for _, mp := range p.maps {
		c.maps = append(c.maps, &mapping{addr: mp.addr, vals: append([]uint64(nil), mp.vals...), bus: append([]bool(nil), mp.bus...), alive: mp.alive})
	}
	w.procs = append(w.procs, c)
}

func (w *worker) exit(p *proc) {
	w.r.ops[OpExit].Add(1)
	p.m.Exit(w.t)
	for k, q := range w.procs {
		if q == p {
			w.procs = append(w.procs[:k], w.procs[k+1:]...)
			break
		}
	}
}

// exitAll checks every live page of every address space and every shmem
// file, then exits the address spaces and deletes the files.
func (w *worker) exitAll() {
	w.init()
	w.shmCheckAll()
	for _, p := range w.procs {
		for _, mp := range p.maps {
			for i, v := range mp.vals {
				if v != gone {
					w.check(p, mp, i)
				}
			}
		}
		p.m.Exit(w.t)
	}
	w.procs = nil
	w.shmDeleteAll()
}

func (r *run) readFaults() bool {
	for _, f := range r.cfg.Faults {
		if f.Fail && f.Op&swapdev.FaultRead != 0 {
			return true
		}
	}
	return false
}
