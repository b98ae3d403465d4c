package bench

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mm"
	"uswap/system"
	"uswap/workload"
)

// SwapinOptions is the swap-in benchmark of seed 000's thread ("Performance
// overhead is minimal, microbenchmark swapin 10G from 32G zram"): fill a
// working set, push all of it out to a compressed RAM device with
// MADV_PAGEOUT, then read every page back once, timing only the
// read-back.
type SwapinOptions struct {
	SizeMiB uint64 `json:"size_mib"`
	// Threads read the pages back, every one of them all the pages in
	// the same order: with two, they fault on the same pages at once
	// (the race of seed 000, and what its variants' racers pay).
	Threads int `json:"threads"`
	// Cache sends the swap-ins through the swap cache: the device is
	// not SWP_SYNCHRONOUS_IO, so do_swap_page() reads ahead through the
	// swap cache (the commit's "Cached" figure). Without it the device
	// is synchronous, and the design decides: in the classic design the
	// seed-000 variant (the bypass, or no-bypass's swap cache); in the
	// table design swapin_sync(), through the swap cache without
	// readahead (there is no bypass).
	Cache       bool      `json:"cache"`
	Pattern     string    `json:"pattern"`
	Comp        string    `json:"comp"`
	PageCluster int       `json:"page_cluster"` // -1: the default (3)
	Fixes       fixes.Set `json:"fixes"`
	// Design is the swap core's design (docs/swap-table.md).
	Design design.Design `json:"design"`
}

// DefaultSwapinOptions read back 256 MiB with one thread, through the
// bypass, with the kernel's fixes.
func DefaultSwapinOptions() SwapinOptions {
	return SwapinOptions{SizeMiB: 256, Threads: 1, Pattern: "mixed", Comp: "lz4", PageCluster: -1}
}

// Validate reports the first option that makes no sense.
func (o SwapinOptions) Validate() error {
	switch {
	case o.SizeMiB == 0 || o.SizeMiB > 64<<10:
		return fmt.Errorf("size %d MiB: want 1 MiB to 64 GiB", o.SizeMiB)
	case o.Threads < 1 || o.Threads > 64:
		return fmt.Errorf("threads %d: want 1 to 64", o.Threads)
	case o.PageCluster < -1 || o.PageCluster > 10:
		return fmt.Errorf("page cluster %d: want 0 to 10, or -1 for the default", o.PageCluster)
	}
	if _, err := workload.ParsePattern(o.Pattern); err != nil {
		return fmt.Errorf("pattern %q: want mixed, zero or random", o.Pattern)
	}
	if o.Comp != "lz4" && o.Comp != "zstd" {
		return fmt.Errorf("compressor %q: want lz4 or zstd", o.Comp)
	}
	return checkDesign(o.Design, o.Fixes)
}

// checkDesign reports a design that does not exist, or a fix variant a
// machine of the design cannot run (fixes.Set.CheckDesign).
func checkDesign(d design.Design, fx fixes.Set) error {
	if !slices.Contains(design.All(), d) {
		return fmt.Errorf("design %v: want one of %v", d, design.All())
	}
	if err := fx.CheckDesign(d); err != nil {
		return fmt.Errorf("%s design: %w", d, err)
	}
	return nil
}

// Path is how the swap-ins went: "bypass" (the classic design's
// synchronous device, as the seed-000 variant decides), "swapin_sync"
// (the table design's synchronous device: the swap cache, no
// readahead) or "swap cache" (readahead).
func (o SwapinOptions) Path() string {
	switch {
	case o.Cache:
		return "swap cache"
	case o.Design == design.Table:
		return "swapin_sync"
	}
	return "bypass"
}

// SwapinResult is one read-back.
type SwapinResult struct {
	Options SwapinOptions `json:"options"`
	Pages   uint64        `json:"pages"`
	// Elapsed and CPU are the read-back's wall time and the process's
	// CPU time (user and system) meanwhile.
	Elapsed    time.Duration `json:"elapsed_ns"`
	CPU        time.Duration `json:"cpu_ns"`
	PagesPerS  float64       `json:"pages_per_s"`
	CPUPerPage time.Duration `json:"cpu_per_page_ns"`
	// What the read-back did: page faults (a racer that refaults counts
	// again), device reads, swap-ins that skipped the swap cache, and
	// pages whose first word was wrong.
	Faults  uint64 `json:"faults"`
	PswpIn  uint64 `json:"pswpin"`
	Bypass  uint64 `json:"bypass"`
	Corrupt uint64 `json:"corrupt"`
}

// swapinMachine is a machine with a working set swapped out.
type swapinMachine struct {
	sys   *system.System
	mm    *mm.MM
	task  *ksync.Task
	base  uint64
	pages uint64
}

// newSwapinMachine fills pages pages of the pattern and pushes them all
// out to one RAM device (not synchronous with cache), on a machine of
// design d.
func newSwapinMachine(pages uint64, pattern, comp string, cache bool, pageCluster int, fx fixes.Set, d design.Design) (*swapinMachine, error) {
	p, err := workload.ParsePattern(pattern)
	if err != nil {
		return nil, err
	}
	if pageCluster < 0 {
		pageCluster = 3
	}
	task := ksync.NewTask("bench", 0)
	sys, err := system.New(task, system.Config{
		Frames:      int(pages) + 1024,
		Devices:     []system.DeviceConfig{{Kind: "ram", Pages: pages + 1024, Comp: comp, Priority: -1, Async: cache}},
		Fixes:       fx,
		PageCluster: pageCluster,
		Design:      d,
	})
	if err != nil {
		return nil, err
	}
	m := &swapinMachine{sys: sys, mm: sys.NewMM(task), task: task, pages: pages}
	if m.base, err = m.mm.Mmap(task, pages*PageSize, mm.ProtRead|mm.ProtWrite); err != nil {
		return nil, errors.Join(err, m.close())
	}
	buf := make([]byte, PageSize)
	for i := range pages {
		workload.FillPage(buf, i, p)
		if err := m.mm.Store(task, m.base+i*PageSize, buf); err != nil {
			return nil, errors.Join(err, m.close())
		}
	}
	if err := m.mm.MadvisePageout(task, m.base, pages*PageSize); err != nil {
		return nil, errors.Join(err, m.close())
	}
	if out := uint64(m.sys.SwapInfo(task, 0).InusePages(task)); out != pages {
		return nil, errors.Join(fmt.Errorf("bench: %d of %d pages pushed out", out, pages), m.close())
	}
	return m, nil
}

func (m *swapinMachine) close() error {
	m.mm.Exit(m.task)
	return m.sys.Shutdown(m.task)
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Swapin runs one swap-in benchmark.
func Swapin(o SwapinOptions) (*SwapinResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	pages := o.SizeMiB << 20 / PageSize
	m, err := newSwapinMachine(pages, o.Pattern, o.Comp, o.Cache, o.PageCluster, o.Fixes, o.Design)
	if err != nil {
		return nil, err
	}
	st, cs := &m.sys.Node().Stat, &m.sys.Core().Stats
	faults0, in0, by0 := st.PgFault.Sum(), cs.PswpIn.Sum(), st.SwapinBypass.Sum()
	var corrupt [64]uint64
	errs := make([]error, o.Threads)
	var wg sync.WaitGroup
	cpu0, start := cpuTime(), time.Now()
	for k := range o.Threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := ksync.NewTask(fmt.Sprintf("swapin/%d", k), k)
			var w [8]byte
			for i := range pages {
				if err := m.mm.Load(t, m.base+i*PageSize, w[:]); err != nil {
					errs[k] = err
					return
				}
				if binary.LittleEndian.Uint64(w[:]) != i {
					corrupt[k]++
				}
			}
		}()
	}
	wg.Wait()
	r := &SwapinResult{Options: o, Pages: pages, Elapsed: time.Since(start), CPU: cpuTime() - cpu0}
	r.Faults, r.PswpIn, r.Bypass = st.PgFault.Sum()-faults0, cs.PswpIn.Sum()-in0, st.SwapinBypass.Sum()-by0
	for _, c := range corrupt {
		r.Corrupt += c
	}
	r.PagesPerS = float64(pages) / r.Elapsed.Seconds()
	r.CPUPerPage = r.CPU / time.Duration(pages)
	err = errors.Join(errors.Join(errs...), m.close())
	return r, err
}

// String is one line: what was read back, how fast, at what CPU cost.
func (r *SwapinResult) String() string {
	o := r.Options
	return fmt.Sprintf("swapin %d MiB, %d thread(s), %s design, %s, fixes %s: %.0f pages/s, %.2f µs CPU/page (%d faults, %d device reads, %d bypassed, corrupt=%d)",
		o.SizeMiB, o.Threads, o.Design, o.Path(), o.Fixes, r.PagesPerS, float64(r.CPUPerPage)/float64(time.Microsecond), r.Faults, r.PswpIn, r.Bypass, r.Corrupt)
}

// MedianSwapin is the round with the median pages/s.
func MedianSwapin(rs []*SwapinResult) *SwapinResult {
	if len(rs) == 0 {
		return nil
	}
	s := append([]*SwapinResult(nil), rs...)
	slices.SortFunc(s, func(a, b *SwapinResult) int { return cmp.Compare(a.PagesPerS, b.PagesPerS) })
	return s[len(s)/2]
}
