package bench

import (
	"encoding/binary"
	"errors"
	"fmt"

	"uswap/ksync"
	"uswap/mm"
	"uswap/swap"
	"uswap/swapdev"
	"uswap/system"
	"uswap/workload"
)

// UswapEngine runs the workload on uswap's own swap, embedded in this
// process: no root, no set-up. The machine has the limit plus some slack
// in frames, a memory cgroup limited to Options.LimitMiB that the working
// set's address space is charged to, and one swap device (a compressed
// RAM device, like zram, or a swap file) sized for the working set.
type UswapEngine struct {
	sys  *system.System
	mm   *mm.MM
	task *ksync.Task

	undo *Undo // the swap file's removal, when Setup got no Options.Undo

	// MemcgPeak and MemcgLimit are the workload cgroup's memory
	// watermark (the highest usage any charge reached) and its limit, in
	// pages, as Teardown found them: the peak never exceeds the limit.
	MemcgPeak, MemcgLimit int64
}

// Name is "uswap".
func (*UswapEngine) Name() string { return "uswap" }

// UswapAvailable reports why the uswap engine cannot run, or nil.
func UswapAvailable() error { return nil }

// uswapConfig is the machine for opts, with the swap file sf for
// DeviceFile.
func uswapConfig(opts Options, sf swapFile) system.Config {
	limit := int64(opts.LimitMiB << 20 / PageSize)
	slack := max(limit/8, 256)
	dev := system.DeviceConfig{Kind: opts.Device, Pages: opts.Pages() + 1024, Comp: opts.Comp, Path: sf.path, Mkswap: sf.mk}
	return system.Config{
		Frames:      int(limit + slack),
		Devices:     []system.DeviceConfig{dev},
		MemcgLimit:  limit,
		Fixes:       opts.Fixes,
		PageCluster: opts.PageCluster,
		Design:      opts.Design,
		// Background memcg reclaim (like memory.high's async reclaim):
		// the walker faults while another task compresses.
		MemcgBgReclaim: opts.MemcgBgReclaim,
	}
}

// Setup builds the machine and maps the working set. The swap file of
// DeviceFile is made as prepareSwapFile says, and its removal recorded on
// opts.Undo (nil: Teardown removes it).
func (e *UswapEngine) Setup(opts Options) (Memory, error) {
	p, err := workload.ParsePattern(opts.Pattern)
	if err != nil {
		return nil, err
	}
	var sf swapFile
	if opts.Device == DeviceFile {
		if opts.Undo == nil {
			e.undo = new(Undo)
			opts.Undo = e.undo
		}
		if sf, err = prepareSwapFile(opts, opts.Undo); err != nil {
			return nil, errors.Join(err, e.Teardown())
		}
	}
	e.task = ksync.NewTask("usemem", 0)
	var sys *system.System
	newSystem := func() (err error) {
		sys, err = system.New(e.task, uswapConfig(opts, sf))
		return err
	}
	if opts.Device == DeviceFile {
		err = sf.make(opts.Undo, newSystem)
	} else {
		err = newSystem()
	}
	if err != nil {
		return nil, errors.Join(err, e.Teardown())
	}
	e.sys = sys
	e.mm = sys.NewMM(e.task)
	base, err := e.mm.Mmap(e.task, opts.Pages()*PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		return nil, errors.Join(err, e.Teardown())
	}
	return &uswapMemory{e: e, t: e.task, base: base, pattern: p, page: make([]byte, PageSize)}, nil
}

// Teardown exits the address space and shuts the machine down.
func (e *UswapEngine) Teardown() error {
	var err error
	if e.sys != nil {
		e.sys.Node().StopMemcgReclaim(e.task)
		w := e.sys.Workload().Memory()
		e.MemcgPeak, e.MemcgLimit = w.Watermark(e.task), w.Max(e.task)
	}
	if e.mm != nil {
		e.mm.Exit(e.task)
		e.mm = nil
	}
	if e.sys != nil {
		err = e.sys.Shutdown(e.task)
		e.sys = nil
	}
	if e.undo != nil {
		err = errors.Join(err, e.undo.Run())
		e.undo = nil
	}
	return err
}

// uswapMemory is the working set in a uswap address space, accessed
// through the software MMU by one task per goroutine.
type uswapMemory struct {
	e       *UswapEngine
	t       *ksync.Task
	base    uint64
	pattern workload.Pattern
	page    []byte // Fill's buffer
	word    [8]byte
}

// Thread is the memory as walker k's task sees it.
func (m *uswapMemory) Thread(k int) Memory {
	return &uswapMemory{e: m.e, t: ksync.NewTask(fmt.Sprintf("usemem/%d", k), k), base: m.base, pattern: m.pattern}
}

func (m *uswapMemory) addr(i uint64) uint64 { return m.base + i*PageSize }

// Fill stores page i's content.
func (m *uswapMemory) Fill(i uint64) error {
	workload.FillPage(m.page, i, m.pattern)
	return m.e.mm.Store(m.t, m.addr(i), m.page)
}

// Visit loads the first word, checks it and, with write, flips bit 0 of
// byte 8.
func (m *uswapMemory) Visit(i uint64, write bool) (bool, error) {
	if err := m.e.mm.Load(m.t, m.addr(i), m.word[:]); err != nil {
		return false, err
	}
	ok := binary.LittleEndian.Uint64(m.word[:]) == i
	if write {
		var b [1]byte
		if err := m.e.mm.Load(m.t, m.addr(i)+8, b[:]); err != nil {
			return ok, err
		}
		b[0] ^= 1
		if err := m.e.mm.Store(m.t, m.addr(i)+8, b[:]); err != nil {
			return ok, err
		}
	}
	return ok, nil
}

// Counters are the swap core's and the node's vm events.
func (m *uswapMemory) Counters() Counters {
	st := &m.e.sys.Node().Stat
	cs := &m.e.sys.Core().Stats
	return Counters{
		Pswpin: cs.PswpIn.Sum(), Pswpout: cs.PswpOut.Sum(),
		SwapRa: st.SwapRa.Sum(), SwapRaHit: st.SwapRaHit.Sum(),
		Pgfault: st.PgFault.Sum(), Pgmajfault: st.PgMajFault.Sum(),
	}
}

// Metadata is the swap core's per-slot memory now (swap.Footprint over
// the devices swapped on).
func (m *uswapMemory) Metadata() Metadata {
	var f swap.Footprint
	for _, si := range m.e.sys.Core().Active(m.t) {
		f = f.Add(si.Footprint(m.t))
	}
	return Metadata{Design: m.e.sys.Core().Design().String(), PerFreeSlot: f.PerFreeSlot(), PerUsedSlot: f.PerUsedSlot(),
		StaticBytes: f.Static, TableBytes: f.Tables, OverflowBytes: f.Overflow, SlotsInUse: f.InUse}
}

// Device is the swap device's statistics: mm_stat for the RAM device.
func (m *uswapMemory) Device() DeviceStats { return deviceStats(m.e.sys.Devices()[0]) }

// deviceStats describes one of uswap's devices: its size, and mm_stat for
// a RAM device.
func deviceStats(dev swap.Device) DeviceStats {
	d := DeviceStats{Kind: DeviceFile, Name: dev.Name(), Pages: dev.Pages()}
	if z, ok := dev.(*swapdev.RAM); ok {
		s := z.MMStat()
		d.Kind, d.Comp = DeviceRAM, z.Compressor()
		d.OrigDataSize, d.ComprDataSize, d.MemUsedTotal, d.MemLimit = s.OrigDataSize, s.ComprDataSize, s.MemUsedTotal, s.MemLimit
		d.MemUsedMax, d.SamePages, d.PagesCompacted, d.HugePages = s.MemUsedMax, s.SamePages, s.PagesCompacted, s.HugePages
	}
	return d
}

// NewEngine returns the engine called name; kernelChild is the command
// the kernel engine re-executes as its child.
func NewEngine(name string, kernelChild []string) (Engine, error) {
	switch name {
	case "uswap":
		return &UswapEngine{}, nil
	case "kernel":
		return &KernelEngine{ChildCommand: kernelChild}, nil
	case "realmem":
		return &RealmemEngine{}, nil
	}
	return nil, errors.New("engine " + name + ": want uswap, kernel or realmem")
}
