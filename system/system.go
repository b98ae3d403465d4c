// Package system wires a configuration (frames, memory cgroups, swap
// devices, the swap core's design, the fixes that are on) into a running
// machine: a frame pool,
// a memcg hierarchy, a swap core with its devices swapped on, and an mm
// node with kswapd; and it audits the whole at quiescence.
//
// It owns no lock of its own beyond what it wires: the lock order is the
// mm package's (see its doc), with the swap core's and memcg's below.
package system

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
	"uswap/mm"
	"uswap/swap"
	"uswap/swapdev"
)

// DeviceConfig describes one swap device.
type DeviceConfig struct {
	// Kind is "ram" (a zram-like compressed device, synchronous) or
	// "file" (a swap file in the on-disk format, through the swap cache).
	Kind string
	// Pages is the device size in pages, the header page included.
	Pages uint64
	// Comp is the RAM device's compressor: "lz4" (default) or "zstd".
	Comp string
	// Path is the swap file of a "file" device; New (re)creates it with
	// swapdev.Mkswap and the options Mkswap (which refuses to replace
	// anything but a swap area unless told).
	Path   string
	Mkswap swapdev.MkswapOptions
	// Priority is the swapon priority; negative means automatic.
	Priority int
	// Async takes a RAM device's SWP_SYNCHRONOUS_IO away
	// (swapdev.Async): its swap-ins go through the swap cache, with
	// readahead, as a disk's do.
	Async bool
	// Faults, when not empty, wrap the device in a swapdev.Faulty that
	// injects these I/O errors and delays (the swap header is never
	// faulted); FaultSeed drives their Rate draws.
	Faults    []swapdev.FaultRule
	FaultSeed uint64
	// Faulty wraps the device in a swapdev.Faulty even without Faults,
	// for rules set later (Faulty.SetRules).
	Faulty bool
}

// Config is a machine.
type Config struct {
	// Frames is the RAM in 4 KiB frames.
	Frames  int
	Devices []DeviceConfig
	// MemcgMode is memcg.V2 (default when zero) or memcg.V1.
	MemcgMode memcg.Mode
	// MemcgLimit, when positive, creates a child cgroup "workload" of the
	// root with memory.max of that many pages (the cgroup the tests run
	// their address spaces in); it must not exceed Frames.
	MemcgLimit int64
	// SwapLimit, when positive, sets the workload cgroup's swap.max (v2)
	// in pages.
	SwapLimit int64
	Fixes     fixes.Set
	// Design is the swap core's design (package design): Classic, the
	// zero value, or Table.
	Design design.Design
	// PageCluster is vm.page-cluster; negative means the default (3).
	PageCluster int
	// Readahead is "cluster" or "vma" ("" = vma).
	Readahead string
	Kswapd    bool
	// MemcgBgReclaim starts uswap's background memcg reclaim (see
	// mm.Config.MemcgBgReclaim); Shutdown stops it.
	MemcgBgReclaim bool
	// Watermarks in frames; zero means derived from Frames.
	WatermarkMin, WatermarkLow, WatermarkHigh int
}

// DefaultConfig is a small machine with every fix on.
func DefaultConfig() Config {
	return Config{Frames: 1024, Fixes: fixes.Default(), PageCluster: 3, MemcgMode: memcg.V2}
}

// System is a running machine.
type System struct {
	cfg      Config           // immutable
	pool     *mem.Pool        // immutable
	root     *memcg.MemCgroup // immutable
	workload *memcg.MemCgroup // immutable: the limited cgroup, or the root
	core     *swap.Core       // immutable
	node     *mm.Node         // immutable
	devs     []swapdev.Device // immutable
	// swapInfos[i] is the swap info of devs[i] while it is swapped on:
	// guarded by swapMu.
	swapMu    ksync.Mutex
	swapInfos []*swap.SwapInfo
}

// New builds and starts a machine: it makes the devices, runs mkswap on
// them and swaps them on.
func New(t *ksync.Task, cfg Config) (*System, error) {
	if cfg.Frames <= 0 {
		return nil, fmt.Errorf("system: %d frames: a machine needs memory", cfg.Frames)
	}
	if cfg.MemcgMode == 0 {
		cfg.MemcgMode = memcg.V2
	}
	if !slices.Contains(design.All(), cfg.Design) {
		return nil, fmt.Errorf("system: unknown swap design %v (want one of %v)", cfg.Design, design.All())
	}
	if err := cfg.Fixes.CheckDesign(cfg.Design); err != nil {
		return nil, fmt.Errorf("system: %s design: %w", cfg.Design, err)
	}
	if cfg.MemcgLimit > int64(cfg.Frames) {
		return nil, fmt.Errorf("system: memcg limit %d pages is above the %d frames of the machine", cfg.MemcgLimit, cfg.Frames)
	}
	for i, d := range cfg.Devices {
		switch d.Kind {
		case "ram", "file":
		default:
			return nil, fmt.Errorf("system: device %d: unknown kind %q (want \"ram\" or \"file\")", i, d.Kind)
		}
		if d.Kind == "file" && d.Path == "" {
			return nil, fmt.Errorf("system: device %d: a file device needs a path", i)
		}
		if d.Kind == "file" && d.Async {
			return nil, fmt.Errorf("system: device %d: a file device is never synchronous: Async is for ram devices", i)
		}
	}
	pool, err := mem.NewPool(cfg.Frames)
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	root := memcg.NewRoot(cfg.MemcgMode)
	core := swap.NewCore(swap.Config{Fixes: cfg.Fixes, Accounting: root.Hierarchy(), Design: cfg.Design, Pool: pool})
	s := &System{cfg: cfg, pool: pool, root: root, workload: root, core: core}
	s.swapMu.Init(ksync.RankSystemSwap)
	if cfg.MemcgLimit > 0 {
		w, err := root.NewChild(t, "workload")
		if err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		if err := w.SetMemoryMax(t, cfg.MemcgLimit*mem.PageSize); err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		if cfg.SwapLimit > 0 {
			if err := w.SetSwapMax(t, cfg.SwapLimit*mem.PageSize); err != nil {
				return nil, fmt.Errorf("system: %w", err)
			}
		}
		s.workload = w
	}
	node, err := mm.NewNode(t, pool, core, root, mm.Config{
		Fixes: cfg.Fixes, PageCluster: cfg.PageCluster, Readahead: cfg.Readahead,
		WatermarkMin: cfg.WatermarkMin, WatermarkLow: cfg.WatermarkLow, WatermarkHigh: cfg.WatermarkHigh,
		Kswapd: cfg.Kswapd, MemcgBgReclaim: cfg.MemcgBgReclaim,
	})
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	s.node = node
	for i, d := range cfg.Devices {
		dev, err := makeDevice(t, i, d)
		if err != nil {
			s.Shutdown(t)
			return nil, err
		}
		s.devs = append(s.devs, dev)
		s.swapInfos = append(s.swapInfos, nil)
		if err := s.Swapon(t, i); err != nil {
			s.Shutdown(t)
			return nil, err
		}
	}
	return s, nil
}

func makeDevice(t *ksync.Task, i int, d DeviceConfig) (swapdev.Device, error) {
	dev, err := makeBareDevice(t, i, d)
	if err != nil || (len(d.Faults) == 0 && !d.Faulty) {
		return dev, err
	}
	return swapdev.NewFaulty(dev, d.FaultSeed, d.Faults...), nil
}

// FaultStats sums the faults injected by every Faulty device.
func (s *System) FaultStats() swapdev.FaultStats {
	var st swapdev.FaultStats
	for _, d := range s.devs {
		if f, ok := d.(*swapdev.Faulty); ok {
			fs := f.Stats()
			st.ReadErrors += fs.ReadErrors
			st.WriteErrors += fs.WriteErrors
			st.Delays += fs.Delays
		}
	}
	return st
}

func makeBareDevice(t *ksync.Task, i int, d DeviceConfig) (swapdev.Device, error) {
	if d.Pages == 0 {
		return nil, fmt.Errorf("system: device %d: 0 pages", i)
	}
	switch d.Kind {
	case "ram":
		dev, err := swapdev.NewRAM(fmt.Sprintf("zram%d", i), d.Pages, d.Comp)
		if err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		if _, err := swapdev.MkswapDevice(t, dev, swapdev.MkswapOptions{}); err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		if d.Async {
			return swapdev.Async{Device: dev}, nil
		}
		return dev, nil
	default:
		path := filepath.Clean(d.Path)
		if err := swapdev.Mkswap(path, int64(d.Pages)*mem.PageSize, d.Mkswap); err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		dev, err := swapdev.OpenFile(path)
		if err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		return dev, nil
	}
}

// Node is the mm node.
func (s *System) Node() *mm.Node { return s.node }

// Core is the swap core.
func (s *System) Core() *swap.Core { return s.core }

// Pool is the RAM.
func (s *System) Pool() *mem.Pool { return s.pool }

// Root is the root memory cgroup.
func (s *System) Root() *memcg.MemCgroup { return s.root }

// Workload is the limited cgroup (Config.MemcgLimit), or the root.
func (s *System) Workload() *memcg.MemCgroup { return s.workload }

// Devices are the swap devices, in configuration order.
func (s *System) Devices() []swapdev.Device { return s.devs }

// NewMM is an address space in the workload cgroup.
func (s *System) NewMM(t *ksync.Task) *mm.MM { return s.node.NewMM(t, s.workload) }

// Swapon swaps device i on (again).
func (s *System) Swapon(t *ksync.Task, i int) error {
	s.swapMu.Lock(t)
	defer s.swapMu.Unlock(t)
	if s.swapInfos[i] != nil {
		return fmt.Errorf("system: device %d is already swapped on", i)
	}
	opts := swap.SwaponOptions{}
	if p := s.cfg.Devices[i].Priority; p >= 0 {
		opts = swap.SwaponOptions{Prefer: true, Priority: p}
	}
	si, err := s.core.Swapon(t, s.devs[i], opts)
	if err != nil {
		return fmt.Errorf("system: %w", err)
	}
	s.swapInfos[i] = si
	return nil
}

// Swapoff swaps device i off: try_to_unuse brings its pages in. On an
// error the device stays swapped on and usable.
func (s *System) Swapoff(t *ksync.Task, i int) error {
	s.swapMu.Lock(t)
	si := s.swapInfos[i]
	s.swapMu.Unlock(t)
	if si == nil {
		return fmt.Errorf("system: device %d is not swapped on", i)
	}
	if err := s.core.Swapoff(t, si, s.node); err != nil {
		return err
	}
	s.swapMu.Lock(t)
	s.swapInfos[i] = nil
	s.swapMu.Unlock(t)
	return nil
}

// SwapInfo is device i's swap info, nil when it is swapped off.
func (s *System) SwapInfo(t *ksync.Task, i int) *swap.SwapInfo {
	s.swapMu.Lock(t)
	defer s.swapMu.Unlock(t)
	return s.swapInfos[i]
}

// Shutdown stops kswapd and the background memcg reclaimer, swaps every
// device off and closes it. Address spaces should have exited; what they
// still hold is brought in.
func (s *System) Shutdown(t *ksync.Task) error {
	if s.node != nil {
		s.node.StopMemcgReclaim(t)
		s.node.StopKswapd(t)
	}
	var errs []error
	for i := range s.devs {
		if s.SwapInfo(t, i) != nil {
			if err := s.Swapoff(t, i); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := s.devs[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Release gives the machine's memory (its frames, its RAM devices'
// pools) to the next machine built in this process: for a machine that
// is thrown away once nothing will run on it again (an explorer's
// schedule that passed). Nothing may use s after; a frame's data is nil.
func (s *System) Release(t *ksync.Task) {
	for _, d := range s.devs {
		swapdev.Release(t, d)
	}
	if s.pool != nil {
		s.pool.Release(t)
	}
}
