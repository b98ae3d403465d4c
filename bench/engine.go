package bench

import "context"

// Memory is the working set an engine provides: pages 0..Pages()-1 of
// anonymous memory. Fill and Visit may be called from several goroutines
// at once on distinct pages.
type Memory interface {
	// Fill writes page i's content (workload.FillPage) into page i.
	Fill(i uint64) error
	// Visit reads page i's first 8 bytes and reports whether they equal
	// i; with write it then flips bit 0 of byte 8.
	Visit(i uint64, write bool) (ok bool, err error)
	// Counters are the engine's swap counters so far, with the kernel's
	// names; Run reports the difference over the run.
	Counters() Counters
	// Device is the swap device's statistics now.
	Device() DeviceStats
}

// Metadata is what the swap core keeps per slot, as an engine measures it
// (the uswap engine; the kernel's is not visible from outside).
type Metadata struct {
	Design        string  `json:"design"`
	PerFreeSlot   float64 `json:"bytes_per_free_slot"`
	PerUsedSlot   float64 `json:"bytes_per_used_slot"`
	StaticBytes   uint64  `json:"static_bytes"`
	TableBytes    uint64  `json:"table_bytes"`
	OverflowBytes uint64  `json:"overflow_bytes"`
	SlotsInUse    uint64  `json:"slots_in_use"`
}

// MetadataReporter is a Memory that can say what its swap keeps per slot.
type MetadataReporter interface {
	Metadata() Metadata
}

// Threaded is a Memory whose accesses from several goroutines each need
// their own context (uswap's ksync.Task, the kernel's "current"): Run
// walks with Thread(k) in goroutine k.
type Threaded interface {
	Memory
	Thread(k int) Memory
}

// Engine sets up the memory the workload runs on and tears it down.
type Engine interface {
	// Name is "uswap" or "kernel".
	Name() string
	// Setup builds the memory for opts (the limit, the swap device).
	Setup(opts Options) (Memory, error)
	// Teardown releases what Setup built; it is called once after a
	// successful Setup.
	Teardown() error
}

// Runner is an engine that runs the whole workload itself, elsewhere (the
// kernel engine runs it in a child process inside a memory cgroup). Run
// hands such an engine the work instead of calling Setup; it records
// what it changes on opts.Undo (never nil there), which Run undoes.
type Runner interface {
	Engine
	RunWorkload(ctx context.Context, opts Options, progress Progress) (*Report, error)
}

// Counters are swap and fault counters under /proc/vmstat's names.
type Counters struct {
	Pswpin     uint64 `json:"pswpin"`
	Pswpout    uint64 `json:"pswpout"`
	SwapRa     uint64 `json:"swap_ra"`
	SwapRaHit  uint64 `json:"swap_ra_hit"`
	Pgfault    uint64 `json:"pgfault"`
	Pgmajfault uint64 `json:"pgmajfault"`
}

// Sub is c - before, field by field (0 where a counter went backwards).
func (c Counters) Sub(before Counters) Counters {
	d := func(a, b uint64) uint64 {
		if a < b {
			return 0
		}
		return a - b
	}
	return Counters{
		Pswpin: d(c.Pswpin, before.Pswpin), Pswpout: d(c.Pswpout, before.Pswpout),
		SwapRa: d(c.SwapRa, before.SwapRa), SwapRaHit: d(c.SwapRaHit, before.SwapRaHit),
		Pgfault: d(c.Pgfault, before.Pgfault), Pgmajfault: d(c.Pgmajfault, before.Pgmajfault),
	}
}

// DeviceStats describe the swap device after the run: zram's mm_stat for
// compressed RAM (both engines), the size for a file.
type DeviceStats struct {
	Kind  string `json:"kind"` // DeviceRAM or DeviceFile
	Name  string `json:"name"` // /dev/zram0, a RAM device's name, a file's path
	Comp  string `json:"comp,omitempty"`
	Pages uint64 `json:"pages"` // device size in pages
	// mm_stat's fields, in its order (zero for a file).
	OrigDataSize   uint64 `json:"orig_data_size"`
	ComprDataSize  uint64 `json:"compr_data_size"`
	MemUsedTotal   uint64 `json:"mem_used_total"`
	MemLimit       uint64 `json:"mem_limit"`
	MemUsedMax     uint64 `json:"mem_used_max"`
	SamePages      uint64 `json:"same_pages"`
	PagesCompacted uint64 `json:"pages_compacted"`
	HugePages      uint64 `json:"huge_pages"`
}

// Progress receives the workload's progress: a phase of total pages,
// pages done (from any goroutine), the end of the phase.
type Progress interface {
	Phase(name string, total int64)
	Add(pages int64)
	Done()
}

// noProgress is the Progress that shows nothing.
type noProgress struct{}

func (noProgress) Phase(string, int64) {}
func (noProgress) Add(int64)           {}
func (noProgress) Done()               {}
