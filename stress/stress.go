// Package stress is `uswap stress`: many tasks doing a seeded random mix
// of operations (mmap, load, store, fork, exit, munmap) on their own
// address spaces while a controller swaps devices off and on and changes
// the cgroup's limit, with device faults injected; every load is checked
// against a per-task reference model, the audit runs at checkpoints (the
// tasks quiesced) and at the end, when everything has exited and
// AuditEmpty must be clean.
//
// Each task also owns a few shmem files (shmem.go): writes and reads of
// aligned and unaligned ranges, truncation to any size, hole punches,
// deletion, and shared mappings whose loads and stores go to the same
// per-file model (a store through a mapping is visible to Read and the
// other way round).
//
// Expected errors are outcomes, not violations: ErrBus on a page whose
// swap-in read failed (the page is "lost by the device"), ErrOOM from a
// full device or a full cgroup, a swapoff that fails for lack of memory.
// A load that returns bytes other than the last ones stored is a
// violation (corruption), as is any other error and any audit finding.
//
// Locks: a checkpoint takes quiesce for writing; every operation of a
// task holds it for reading. stats are atomics.
package stress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"uswap/design"
	"uswap/fixes"
	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/swapdev"
	"uswap/system"
	"uswap/workload"
)

// Config is one stress run.
type Config struct {
	Tasks int
	// Ops is the total number of task operations (0: run for Duration).
	Ops      int64
	Duration time.Duration
	Seed     uint64
	Faults   []swapdev.FaultRule
	// Design is the swap core's design (package design).
	Design design.Design
	// Device is "ram" or "file"; two devices of that kind are made, so
	// that swapoff of one can move pages to the other.
	Device string
	// Dir holds the swap files of file devices ("" = a temporary one).
	Dir string
	// Frames is the RAM; Limit the workload cgroup's memory.max in pages
	// (0: no cgroup limit); SwapPages each device's size.
	Frames    int
	Limit     int64
	SwapPages uint64
	// Checkpoint is the number of operations between audits (0: only at
	// the end).
	Checkpoint int64
	// Pages is the largest mapping a task makes, in pages.
	Pages int
	// FilePages is the largest shmem file a task makes, in pages.
	FilePages int
	// NoController turns off swapoff/swapon cycles and limit changes.
	NoController bool
	// Fixes chooses the variant of every race fix (the zero Set is the
	// kernel's).
	Fixes fixes.Set
	// Progress, if set, gets a line per checkpoint.
	Progress io.Writer
	// Context, if set, stops the run when done: the tasks stop between
	// two operations, and the run ends as a finished one does (the final
	// audit, every task's exit, the empty audit), with
	// Report.Interrupted set.
	Context context.Context
}

// Op kinds.
const (
	OpMmap = iota
	OpLoad
	OpStore
	OpFork
	OpExit
	OpMunmap
	OpSwapoff
	OpSwapon
	OpLimit
	OpShmCreate
	OpShmWrite
	OpShmRead
	OpShmTruncate
	OpShmPunch
	OpShmDelete
	OpShmMmap  // MmapShared
	OpShmLoad  // load through a shared mapping
	OpShmStore // store through a shared mapping
	nOps
)

var opNames = [nOps]string{"mmap", "load", "store", "fork", "exit", "munmap", "swapoff", "swapon", "limit",
	"shm-create", "shm-write", "shm-read", "shm-truncate", "shm-punch", "shm-delete", "shm-mmap", "shm-load", "shm-store"}

// Report is what a run did.
type Report struct {
	Seed        uint64
	Design      design.Design
	Ops         [nOps]int64
	Elapsed     time.Duration
	PgFault     uint64
	PgMajFault  uint64
	SwapIns     uint64 // pswpin
	SwapOuts    uint64 // pswpout
	Faults      swapdev.FaultStats
	Bus         int64 // accesses that got SIGBUS (ErrBus)
	OOM         int64 // operations that got ErrOOM
	SwapoffFail int64 // swapoffs that failed (the device stayed on)
	LimitFail   int64 // limit changes refused
	// LostByDevice counts pages that got SIGBUS at least once (their
	// swap-in read failed): expected with read faults injected.
	LostByDevice int64
	// ShmemLost is the part of LostByDevice that were shmem file pages;
	// EOFBus the SIGBUSes of shared-mapping accesses past EOF (always
	// expected).
	ShmemLost   int64
	EOFBus      int64
	Checkpoints int
	// Interrupted is set when Config.Context stopped the run early.
	Interrupted bool
	Corrupted   int64 // loads whose bytes differ from the model
	// Violations are the first findings (corruption, unexpected errors,
	// audit violations), each naming the invariant it breaks; empty
	// means clean.
	Violations invariant.List
}

// Clean reports whether nothing was lost or corrupted.
func (r *Report) Clean() bool { return len(r.Violations) == 0 && r.Corrupted == 0 }

// OpsTotal is the number of operations done.
func (r *Report) OpsTotal() int64 {
	var n int64
	for _, c := range r.Ops {
		n += c
	}
	return n
}

// ReplayFlags are the flags of uswap stress that replay the run's mix:
// its seed, and its design unless classic.
func (r *Report) ReplayFlags() string {
	f := fmt.Sprintf("--seed %d", r.Seed)
	if r.Design != design.Classic {
		f += " --design " + r.Design.String()
	}
	return f
}

func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %s design: %d ops in %v (", r.Seed, r.Design, r.OpsTotal(), r.Elapsed.Round(time.Millisecond))
	for i, c := range r.Ops[:OpShmCreate] {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s %d", opNames[i], c)
	}
	fmt.Fprintf(&b, ")\nshmem ops (")
	for i, c := range r.Ops[OpShmCreate:] {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s %d", opNames[OpShmCreate+i], c)
	}
	fmt.Fprintf(&b, ")\n")
	fmt.Fprintf(&b, "page faults %d (major %d), swap-ins %d, swap-outs %d\n", r.PgFault, r.PgMajFault, r.SwapIns, r.SwapOuts)
	fmt.Fprintf(&b, "faults injected: %d read errors, %d write errors, %d delays\n", r.Faults.ReadErrors, r.Faults.WriteErrors, r.Faults.Delays)
	fmt.Fprintf(&b, "outcomes: SIGBUS %d (pages lost by the device %d, of them shmem %d; shared-mapping accesses past EOF %d), OOM %d, swapoff failed %d, limit refused %d\n",
		r.Bus, r.LostByDevice, r.ShmemLost, r.EOFBus, r.OOM, r.SwapoffFail, r.LimitFail)
	fmt.Fprintf(&b, "checkpoints audited %d; lost or corrupted pages %d; violations %d\n", r.Checkpoints, r.Corrupted, len(r.Violations))
	if r.Interrupted {
		fmt.Fprintf(&b, "interrupted: stopped early; every task exited and the machine was audited\n")
	}
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "VIOLATION: %s (replay with %s)\n", v, r.ReplayFlags())
	}
	if len(r.Violations) > 0 {
		fmt.Fprintf(&b, "the invariants broken (docs/invariants.md):\n%s", r.Violations.RulesIn(r.Design, "  "))
	}
	return b.String()
}

// Validate checks a configuration and fills defaults.
func (c *Config) Validate() error {
	if c.Tasks <= 0 {
		return fmt.Errorf("stress: %d tasks: need at least one", c.Tasks)
	}
	if c.Ops < 0 {
		return fmt.Errorf("stress: %d ops: must not be negative", c.Ops)
	}
	if c.Ops == 0 && c.Duration <= 0 {
		return errors.New("stress: give a number of operations or a duration")
	}
	if c.Frames <= 0 {
		return fmt.Errorf("stress: %d frames: a machine needs memory", c.Frames)
	}
	if c.Limit < 0 || c.Limit > int64(c.Frames) {
		return fmt.Errorf("stress: limit %d pages is not within the %d frames of the machine", c.Limit, c.Frames)
	}
	switch c.Device {
	case "":
		c.Device = "ram"
	case "ram", "file":
	default:
		return fmt.Errorf("stress: unknown device kind %q (want ram or file)", c.Device)
	}
	if c.SwapPages == 0 {
		c.SwapPages = 4096
	}
	if c.Pages <= 0 {
		c.Pages = 64
	}
	if c.FilePages <= 0 {
		c.FilePages = 16
	}
	if c.Checkpoint < 0 {
		return fmt.Errorf("stress: checkpoint every %d ops: must not be negative", c.Checkpoint)
	}
	if err := c.Fixes.CheckDesign(c.Design); err != nil {
		return fmt.Errorf("stress: %s design: %w", c.Design, err)
	}
	return nil
}

type run struct {
	cfg         Config
	sys         *system.System
	quiesce     sync.RWMutex
	stop        atomic.Bool
	interrupted atomic.Bool
	ops         [nOps]atomic.Int64
	done        atomic.Int64 // task operations so far
	bus         atomic.Int64
	oom         atomic.Int64
	swFail      atomic.Int64
	limFail     atomic.Int64
	lost        atomic.Int64
	shmLost     atomic.Int64
	eofBus      atomic.Int64
	corrupt     atomic.Int64

	vmu        sync.Mutex
	violations invariant.List // guarded by vmu
}

const maxViolations = 10

// violate records a broken invariant on object (a task, a checkpoint)
// and stops the run.
func (r *run) violate(id invariant.ID, object, format string, args ...any) {
	r.record(invariant.Newf(id, object, format, args...))
}

// record keeps one of the first maxViolations findings and stops the
// run.
func (r *run) record(v invariant.Violation) {
	r.vmu.Lock()
	if len(r.violations) < maxViolations {
		r.violations = append(r.violations, v)
	}
	r.vmu.Unlock()
	r.stop.Store(true)
}

// recordAudit records an audit's findings, the object prefixed with
// where the audit ran ("checkpoint 3", "final").
func (r *run) recordAudit(where string, vs []invariant.Violation) {
	for _, v := range vs {
		v.Object = where + " audit: " + v.Object
		r.record(v)
	}
}

// Run runs a stress test and reports it. The error is for a system that
// could not be built; violations are in the report.
func Run(cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir := cfg.Dir
	if cfg.Device == "file" && dir == "" {
		d, err := os.MkdirTemp("", "uswap-stress")
		if err != nil {
			return nil, fmt.Errorf("stress: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	scfg := system.Config{
		Frames:      cfg.Frames,
		MemcgLimit:  cfg.Limit,
		Fixes:       cfg.Fixes,
		PageCluster: 3,
		Design:      cfg.Design,
	}
	for i := range 2 {
		d := system.DeviceConfig{Kind: cfg.Device, Pages: cfg.SwapPages, Priority: -1,
			Faults: cfg.Faults, FaultSeed: cfg.Seed ^ uint64(i+1)*0x9e3779b97f4a7c15}
		if cfg.Device == "file" {
			d.Path = filepath.Join(dir, fmt.Sprintf("swapfile%d", i))
		}
		scfg.Devices = append(scfg.Devices, d)
	}
	main := ksync.NewTask("stress", 0)
	sys, err := system.New(main, scfg)
	if err != nil {
		return nil, fmt.Errorf("stress: %w", err)
	}
	r := &run{cfg: cfg, sys: sys}
	if cfg.Context != nil {
		ended := make(chan struct{})
		defer close(ended)
		go func() {
			select {
			case <-cfg.Context.Done():
				r.interrupted.Store(true)
				r.stop.Store(true)
			case <-ended:
			}
		}()
	}
	start := time.Now()
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	var wg sync.WaitGroup
	tasks := make([]*worker, cfg.Tasks)
	for i := range tasks {
		w := &worker{r: r, id: i, t: ksync.NewTask(fmt.Sprintf("stress%d", i), i), rng: cfg.Seed*0x100000001b3 + uint64(i)*0x9e3779b97f4a7c15 + 1, filePages: cfg.FilePages}
		tasks[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(deadline)
		}()
	}
	ctlDone := make(chan struct{})
	if !cfg.NoController {
		go func() {
			defer close(ctlDone)
			r.controller(deadline)
		}()
	} else {
		close(ctlDone)
	}
	checkpoints := 0
	if cfg.Checkpoint > 0 {
		next := cfg.Checkpoint
		for !r.stop.Load() && !r.finished(deadline) {
			if r.done.Load() < next {
				time.Sleep(time.Millisecond)
				continue
			}
			next = r.done.Load() + cfg.Checkpoint
			r.quiesce.Lock()
			r.recordAudit(fmt.Sprintf("checkpoint %d", checkpoints+1), sys.Audit(main))
			r.quiesce.Unlock()
			checkpoints++
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "checkpoint %d: %d ops, %d page faults, %v\n", checkpoints, r.done.Load(), sys.Node().Stat.PgFault.Sum(), time.Since(start).Round(time.Millisecond))
			}
		}
	}
	wg.Wait()
	r.stop.Store(true)
	<-ctlDone
	// The end: every task's address spaces and files are still alive;
	// audit, then check, exit and delete them all, swap everything back
	// on and audit the empty machine.
	r.recordAudit("final", sys.Audit(main))
	checkpoints++
	for _, w := range tasks {
		w.exitAll()
	}
	for i := range scfg.Devices {
		if sys.SwapInfo(main, i) == nil {
			if err := sys.Swapon(main, i); err != nil {
				r.violate(invariant.NoUnexpectedError, fmt.Sprintf("device %d", i), "final swapon: %v", err)
			}
		}
	}
	r.recordAudit("final empty", sys.AuditEmpty(main))
	rep := &Report{Seed: cfg.Seed, Design: cfg.Design, Elapsed: time.Since(start), Checkpoints: checkpoints, Interrupted: r.interrupted.Load()}
	for i := range rep.Ops {
		rep.Ops[i] = r.ops[i].Load()
	}
	st := &sys.Node().Stat
	rep.PgFault, rep.PgMajFault = st.PgFault.Sum(), st.PgMajFault.Sum()
	rep.SwapIns, rep.SwapOuts = sys.Core().Stats.PswpIn.Sum(), sys.Core().Stats.PswpOut.Sum()
	rep.Faults = sys.FaultStats()
	rep.Bus, rep.OOM, rep.SwapoffFail, rep.LimitFail = r.bus.Load(), r.oom.Load(), r.swFail.Load(), r.limFail.Load()
	rep.LostByDevice, rep.Corrupted = r.lost.Load(), r.corrupt.Load()
	rep.ShmemLost, rep.EOFBus = r.shmLost.Load(), r.eofBus.Load()
	r.vmu.Lock()
	rep.Violations = append(rep.Violations, r.violations...)
	r.vmu.Unlock()
	if err := sys.Shutdown(main); err != nil {
		rep.Violations = append(rep.Violations, invariant.Newf(invariant.NoUnexpectedError, "machine", "shutdown: %v", err))
	}
	return rep, nil
}

func (r *run) finished(deadline time.Time) bool {
	if r.cfg.Ops > 0 && r.done.Load() >= r.cfg.Ops {
		return true
	}
	return !deadline.IsZero() && time.Now().After(deadline)
}

// controller swaps the devices off and on in turn and moves the cgroup
// limit between half and all of its configured value.
func (r *run) controller(deadline time.Time) {
	t := ksync.NewTask("controller", r.cfg.Tasks)
	rng := r.cfg.Seed ^ 0xc0ffee
	for i := 0; !r.stop.Load() && !r.finished(deadline); i++ {
		time.Sleep(time.Duration(1+workload.SplitMix64(&rng)%5) * time.Millisecond)
		r.quiesce.RLock()
		if workload.SplitMix64(&rng)%3 == 0 && r.cfg.Limit > 0 {
			lim := r.cfg.Limit/2 + int64(workload.SplitMix64(&rng)%uint64(r.cfg.Limit/2+1))
			r.ops[OpLimit].Add(1)
			if err := r.sys.Workload().SetMemoryMax(t, lim*mem.PageSize); err != nil {
				r.limFail.Add(1)
			}
		} else {
			d := i % 2
			r.ops[OpSwapoff].Add(1)
			if err := r.sys.Swapoff(t, d); err != nil {
				r.swFail.Add(1)
				// A page whose read fails no longer stops swapoff:
				// unuse_pte and shmem_unuse leave the swapin-error
				// marker and go on, as the kernel does. Only running
				// out of memory (or a busy device) may fail it.
				if !errors.Is(err, mm.ErrOOM) && !isBusy(err) {
					r.violate(invariant.NoUnexpectedError, fmt.Sprintf("device %d", d), "swapoff: %v", err)
				}
			} else {
				r.ops[OpSwapon].Add(1)
				if err := r.sys.Swapon(t, d); err != nil {
					r.violate(invariant.NoUnexpectedError, fmt.Sprintf("device %d", d), "swapon: %v", err)
				}
			}
		}
		r.quiesce.RUnlock()
	}
	if r.cfg.Limit > 0 {
		if err := r.sys.Workload().SetMemoryMax(t, r.cfg.Limit*mem.PageSize); err != nil {
			r.limFail.Add(1)
		}
	}
}

func isBusy(err error) bool {
	return strings.Contains(err.Error(), "busy") || strings.Contains(err.Error(), "EBUSY")
}

// OpCounts are Ops by operation name (mmap, load, ..., shm-store).
func (r *Report) OpCounts() map[string]int64 {
	m := make(map[string]int64, nOps)
	for i, c := range r.Ops {
		m[opNames[i]] = c
	}
	return m
}
