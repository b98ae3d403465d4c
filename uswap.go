// Package uswap is the Linux swap subsystem rebuilt in Go, as a library:
// a small machine with its own RAM, a memory cgroup limit and a zram-like
// compressed swap device, whose memory a program maps, stores into and
// loads from through a software MMU. Storing more than the limit allows
// makes the machine's reclaim swap pages out; touching a swapped-out page
// faults it back in, exactly as the kernel's mm/swapfile.c,
// mm/swap_state.c, mm/memory.c and mm/vmscan.c do it.
//
// # A first program
//
// New makes a machine from a few Options; the zero Options are a working
// machine (64 MiB of RAM, a 16 MiB limit, 128 MiB of lz4-compressed
// swap). Map gives anonymous memory; Store and Load copy bytes in and
// out; PageOut pushes a mapping's resident pages to swap now
// (MADV_PAGEOUT), where otherwise the limit makes reclaim do it as the
// program goes; Stats reads every counter at once; Audit checks the
// invariants of the whole machine (docs/invariants.md) and returns what
// broke; Close shuts the machine down. This program maps twice the
// limit, stores into every page, pushes the rest out, loads every page
// back and checks it (it is the package's Example):
//
//	m, err := uswap.New(uswap.Options{}) // 64 MiB of RAM, a 16 MiB limit, 128 MiB of compressed swap
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer m.Close()
//	mem, err := m.Map(32 << 20) // twice the limit: storing into it swaps
//	if err != nil {
//		log.Fatal(err)
//	}
//	page := make([]byte, uswap.PageSize)
//	for off := int64(0); off < mem.Size(); off += uswap.PageSize {
//		binary.LittleEndian.PutUint64(page, uint64(off)) // each page says where it belongs
//		mem.Store(off, page)
//	}
//	mem.PageOut() // what is still resident goes to swap too
//	bad := 0
//	for off := int64(0); off < mem.Size(); off += uswap.PageSize {
//		if mem.Load(off, page) != nil || binary.LittleEndian.Uint64(page) != uint64(off) {
//			bad++
//		}
//	}
//	fmt.Println("bad pages:", bad, "swapped in:", m.Stats().Swap.PswpIn, "audit findings:", len(m.Audit()))
//
// It prints "bad pages: 0 swapped in: 8192 audit findings: 0". Stats
// has the rest: st.Swap.PswpOut (pages written to swap), st.VM.PgMajFault
// (faults that read from it), st.Memcg.Memory (the cgroup's usage, limit
// and peak, in pages), st.Device (the device's mm_stat). Audit returns
// an invariant.List: each broken invariant by name, the object and the
// problem.
//
// # Tasks: simple and concurrent use
//
// Every operation of the engine runs on behalf of a task, the kernel's
// current (package ksync). A Machine owns one task, and the methods
// without a task argument (the Machine's, and a Mapping's Load, Store,
// PageOut and Unmap) use it: call them from one goroutine at a time, as
// one thread of the machine. For concurrent use, give each
// goroutine its own task (Machine.NewTask) and call the forms that take
// one (LoadTask, StoreTask, PageOutTask); they may run at the same time as
// each other and as the Machine's own methods. Audit wants the machine
// quiet: no task in the middle of an operation.
//
// # Beyond the door
//
// The machine is a system.System underneath (Machine.System): its
// packages (mm for address spaces, shmem files, fork and reclaim; swap for
// the swap core; memcg for cgroups; swapdev for devices; fixes for the
// race fixes' variants) offer everything this package does not. The
// design is in docs/design.md.
package uswap

import (
	"fmt"
	"reflect"
	"slices"

	"uswap/design"
	"uswap/fixes"
	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
	"uswap/mm"
	"uswap/swapdev"
	"uswap/system"
)

// PageSize is the size of a page of the machine's memory: 4 KiB.
const PageSize = mem.PageSize

// The defaults of Options.
const (
	DefaultMemory = 64 << 20 // RAM: 64 MiB
	DefaultSwap   = 2 * DefaultMemory
)

// The errors an access can fail with, for errors.Is.
var (
	// ErrSegv is SIGSEGV: an address outside the mapping, or an access
	// after Unmap.
	ErrSegv = mm.ErrSegv
	// ErrBus is SIGBUS: the page's data could not be read back from the
	// swap device.
	ErrBus = mm.ErrBus
	// ErrOOM: no memory could be found, even after reclaim (the swap
	// device is full, or the limit leaves no room).
	ErrOOM = mm.ErrOOM
	// ErrClosed: the machine was closed (its address space has exited).
	ErrClosed = mm.ErrExited
)

// Options configure a machine. The zero value is a working machine:
// every field has a default.
type Options struct {
	// Memory is the machine's RAM in bytes, rounded down to pages;
	// DefaultMemory when zero.
	Memory int64
	// Limit is the memory cgroup limit of the machine's memory in
	// bytes (memory.max): storing more than this makes reclaim swap
	// pages out. A quarter of Memory when zero; at most Memory.
	Limit int64
	// Swap is the size in bytes of the swap device, a zram-like
	// compressed RAM device that holds only what is swapped out, so a
	// large one costs nothing until it is used; DefaultSwap when zero.
	Swap int64
	// Compressor is the swap device's: "lz4" (the default) or "zstd".
	Compressor string
	// Fixes chooses the variant of each race fix (package fixes); the
	// zero value runs every fix as the kernel merged it.
	Fixes fixes.Set
	// Design is the swap core's design (package design,
	// docs/swap-table.md): the zero value is classic (swap_map and
	// SWAP_HAS_CACHE), design.Table the swap table.
	Design design.Design
	// Kswapd starts the background reclaimer, which keeps free RAM
	// above the low watermark on its own goroutine. Without it, only
	// the memory limit and allocations that find no free frame reclaim,
	// synchronously, which keeps a single-task program deterministic.
	Kswapd bool
}

// Machine is a running machine: RAM, a memory cgroup with the limit, a
// swap device swapped on, and one address space whose memory Map hands
// out. Its methods use the Machine's own task (see the package doc).
type Machine struct {
	sys   *system.System
	task  *ksync.Task // the machine's own task
	space *mm.MM      // the address space of Map
	limit int64       // bytes
	tasks int         // tasks made by NewTask, for their CPU; under task's use
}

// New makes and starts a machine. A bad option is an error that names it.
func New(opts Options) (*Machine, error) {
	if opts.Memory == 0 {
		opts.Memory = DefaultMemory
	}
	if opts.Limit == 0 {
		opts.Limit = opts.Memory / 4
	}
	if opts.Swap == 0 {
		opts.Swap = DefaultSwap
	}
	if opts.Compressor == "" {
		opts.Compressor = "lz4"
	}
	switch {
	case opts.Memory < 64*PageSize:
		return nil, fmt.Errorf("uswap: Memory %d bytes: need at least %d (64 pages)", opts.Memory, 64*PageSize)
	case opts.Limit < 16*PageSize || opts.Limit > opts.Memory:
		return nil, fmt.Errorf("uswap: Limit %d bytes: want %d (16 pages) to Memory (%d)", opts.Limit, 16*PageSize, opts.Memory)
	case opts.Swap < 16*PageSize:
		return nil, fmt.Errorf("uswap: Swap %d bytes: need at least %d (16 pages)", opts.Swap, 16*PageSize)
	case !slices.Contains(swapdev.Compressors, opts.Compressor):
		return nil, fmt.Errorf("uswap: Compressor %q: want one of %v", opts.Compressor, swapdev.Compressors)
	}
	t := ksync.NewTask("uswap", 0)
	sys, err := system.New(t, system.Config{
		Frames:      int(opts.Memory / PageSize),
		Devices:     []system.DeviceConfig{{Kind: "ram", Pages: uint64(opts.Swap / PageSize), Comp: opts.Compressor, Priority: -1}},
		MemcgLimit:  opts.Limit / PageSize,
		Fixes:       opts.Fixes,
		Design:      opts.Design,
		PageCluster: -1,
		Kswapd:      opts.Kswapd,
	})
	if err != nil {
		return nil, fmt.Errorf("uswap: %w", err)
	}
	return &Machine{sys: sys, task: t, space: sys.NewMM(t), limit: opts.Limit / PageSize * PageSize}, nil
}

// Close is the machine's shutdown: the address space exits, the swap
// device is swapped off (bringing back what the exit left on it) and
// closed. The machine and its mappings are unusable afterwards; a second
// Close does nothing.
func (m *Machine) Close() error {
	if m.space == nil {
		return nil
	}
	m.space.Exit(m.task)
	m.space = nil
	return m.sys.Shutdown(m.task)
}

// Task is the machine's own task, the one its methods without a task
// argument use.
func (m *Machine) Task() *ksync.Task { return m.task }

// NewTask makes a task for a goroutine of its own: pass it to the Task
// forms (LoadTask, StoreTask, PageOutTask). Each task gets the next
// logical CPU, so that per-CPU state (the swap allocator's current
// cluster, the compression streams) is spread as it would be over CPUs.
// NewTask uses the machine's own task's goroutine: call it from there.
func (m *Machine) NewTask(name string) *ksync.Task {
	m.tasks++
	return ksync.NewTask(name, m.tasks)
}

// System is the machine underneath, for everything this package does not
// offer (shmem files, fork, more address spaces, swapoff).
func (m *Machine) System() *system.System { return m.sys }

// Limit is the memory limit in bytes (Options.Limit, whole pages).
func (m *Machine) Limit() int64 { return m.limit }

// Map maps size bytes (rounded up to whole pages) of anonymous,
// readable and writable memory: mmap(NULL, size, PROT_READ|PROT_WRITE,
// MAP_PRIVATE|MAP_ANONYMOUS). Every page reads as zeros until stored
// into; each is given a frame on its first touch, charged to the
// machine's memory cgroup.
func (m *Machine) Map(size int64) (*Mapping, error) {
	if m.space == nil {
		return nil, ErrClosed
	}
	if size <= 0 {
		return nil, fmt.Errorf("uswap: Map(%d): the size must be positive", size)
	}
	addr, err := m.space.Mmap(m.task, uint64(size), mm.ProtRead|mm.ProtWrite)
	if err != nil {
		return nil, fmt.Errorf("uswap: %w", err)
	}
	return &Mapping{m: m, space: m.space, addr: addr, size: (size + PageSize - 1) / PageSize * PageSize}, nil
}

// Mapping is memory that Map gave: size bytes at an address of the
// machine's address space. Offsets are from its start.
type Mapping struct {
	m     *Machine // immutable
	space *mm.MM   // immutable: the machine's address space
	addr  uint64   // immutable
	size  int64    // immutable: whole pages
}

// Size is the mapping's size in bytes: whole pages.
func (r *Mapping) Size() int64 { return r.size }

// Addr is the mapping's first address in the machine's address space
// (for the engine's own calls: mm.MM.Load and Store take addresses).
func (r *Mapping) Addr() uint64 { return r.addr }

// Store copies src into the mapping at off, with the machine's task. It
// faults in what it touches (swapping pages in, or giving new ones their
// frame), which may make reclaim swap other pages out.
func (r *Mapping) Store(off int64, src []byte) error { return r.StoreTask(r.m.task, off, src) }

// Load copies the mapping's bytes at off into dst, with the machine's
// task, faulting in (swapping in) what it touches.
func (r *Mapping) Load(off int64, dst []byte) error { return r.LoadTask(r.m.task, off, dst) }

// PageOut pushes every resident page of the mapping to swap now, with the
// machine's task: madvise(MADV_PAGEOUT). Like the kernel's it is advice:
// a page another task is using stays.
func (r *Mapping) PageOut() error { return r.PageOutTask(r.m.task) }

// StoreTask is Store for task t (from Machine.NewTask).
func (r *Mapping) StoreTask(t *ksync.Task, off int64, src []byte) error {
	addr, err := r.at(off, len(src))
	if err == nil {
		err = r.space.Store(t, addr, src)
	}
	return err
}

// LoadTask is Load for task t (from Machine.NewTask).
func (r *Mapping) LoadTask(t *ksync.Task, off int64, dst []byte) error {
	addr, err := r.at(off, len(dst))
	if err == nil {
		err = r.space.Load(t, addr, dst)
	}
	return err
}

// PageOutTask is PageOut for task t (from Machine.NewTask).
func (r *Mapping) PageOutTask(t *ksync.Task) error {
	return r.space.MadvisePageout(t, r.addr, uint64(r.size))
}

// Unmap unmaps the mapping (munmap) with the machine's task: its pages
// and swap slots are freed, and later accesses fail with ErrSegv.
func (r *Mapping) Unmap() error { return r.space.Munmap(r.m.task, r.addr, uint64(r.size)) }

// at is the address of [off, off+n) of the mapping, or an ErrSegv error.
func (r *Mapping) at(off int64, n int) (uint64, error) {
	if off < 0 || off+int64(n) > r.size {
		return 0, fmt.Errorf("%w: [%d, %d) is outside the %d bytes of the mapping", ErrSegv, off, off+int64(n), r.size)
	}
	return r.addr + uint64(off), nil
}

// Stats is one snapshot of the machine's counters: the swap core's,
// the vm events, the memory cgroup's and the swap device's. Each counter
// is read once, not all at one instant: take it when the machine is
// quiet for numbers that add up.
type Stats struct {
	// Frames is the RAM in pages; FreeFrames the pages not in use.
	Frames, FreeFrames int64
	// SwapPages is total_swap_pages: the swap device's usable slots;
	// FreeSwapPages is nr_swap_pages, those not in use.
	SwapPages, FreeSwapPages int64
	// Swap is the swap core's counters (swap.Stats).
	Swap SwapStats
	// VM is the vm_event counters of /proc/vmstat that mm keeps
	// (mm.VMStat).
	VM VMStats
	// Memcg is the machine's memory cgroup: usage, limit and peak of
	// memory and swap, in pages, and its events (memory.events).
	Memcg memcg.Stats
	// Device is the swap device's /sys/block/zram0/mm_stat.
	Device swapdev.MMStat
}

// SwapStats are the swap core's counters (package swap's Stats), summed.
type SwapStats struct {
	PswpIn     uint64 // pages read from the swap device
	PswpOut    uint64 // pages written to the swap device
	SwapAlloc  uint64 // slots allocated
	SwapFree   uint64 // slots freed
	CacheAdd   uint64 // folios added to the swap cache
	CacheDel   uint64 // folios deleted from the swap cache
	CacheFind  uint64 // swap cache lookups
	CacheHit   uint64 // swap cache lookups that found a folio
	AllocFail  uint64 // allocations that found no slot
	ContAdded  uint64 // count continuation pages added (classic design)
	ExtendAdd  uint64 // extend tables allocated (table design)
	ReadErrors uint64 // device read errors
	// Seed 004's stranded folios: swap cache folios a shmem swap-in gave
	// up on that nothing else holds (marked), those freed since, and
	// the nanoseconds they spent stranded, summed.
	StrayMarked   uint64
	StrayFreed    uint64
	StrayLifetime uint64
}

// VMStats are mm's vm_event counters (package mm's VMStat), summed.
type VMStats struct {
	PgFault      uint64 // page faults
	PgMajFault   uint64 // faults that read from the swap device
	SwapRa       uint64 // pages read ahead
	SwapRaHit    uint64 // read-ahead pages faulted on
	PgSteal      uint64 // pages reclaimed
	PgScan       uint64 // pages scanned by reclaim
	PgActivate   uint64 // pages moved to the active list
	PgDeactivate uint64 // pages moved to the inactive list
	OOM          uint64 // faults that failed for lack of memory
	PgReuse      uint64 // write faults that reused the page
	CowFault     uint64 // copy-on-write faults that copied
	KswapdWake   uint64 // kswapd wakeups
	Stranded     uint64 // swap-cache pages nothing mapped, freed by reclaim
	SwapinBypass uint64 // swap-ins that skipped the swap cache (a synchronous device; classic design)
	// ShmemChargeFail counts shmem swap-ins whose memcg charge failed.
	ShmemChargeFail uint64
}

// Stats reads the machine's counters (with the machine's task).
func (m *Machine) Stats() Stats {
	t, core := m.task, m.sys.Core()
	st := Stats{
		Frames:        int64(m.sys.Pool().Frames()),
		FreeFrames:    m.sys.Pool().NrFree(t),
		SwapPages:     core.TotalSwapPages(t),
		FreeSwapPages: core.NrSwapPages(t),
		Memcg:         m.sys.Workload().Stats(t),
	}
	sumStats(&st.Swap, &core.Stats)
	sumStats(&st.VM, &m.sys.Node().Stat)
	if dev, ok := m.sys.Devices()[0].(*swapdev.RAM); ok {
		st.Device = dev.MMStat()
	}
	return st
}

// sumStats sets each uint64 field of *dst to the sum of the ksync.Stat
// field of the same name in *src, and panics if a field of either has no
// partner: a counter added to the engine must be added to the snapshot.
func sumStats(dst, src any) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	if d.NumField() != s.NumField() {
		panic(fmt.Sprintf("uswap: %s has %d counters, %s %d", d.Type(), d.NumField(), s.Type(), s.NumField()))
	}
	for i := range s.NumField() {
		name := s.Type().Field(i).Name
		f := d.FieldByName(name)
		if !f.IsValid() {
			panic(fmt.Sprintf("uswap: %s has no counter %s of %s", d.Type(), name, s.Type()))
		}
		f.SetUint(s.Field(i).Addr().Interface().(*ksync.Stat).Sum())
	}
}

// Audit checks every invariant of the machine (docs/invariants.md) and
// returns what broke, nil when nothing did. It wants the machine quiet:
// call it when no task is in the middle of an operation.
func (m *Machine) Audit() invariant.List {
	return m.sys.Audit(m.task)
}
