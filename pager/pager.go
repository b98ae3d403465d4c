package pager

import (
	"errors"
	"fmt"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swap"
)

// PageSize is the size of a page of the region.
const PageSize = mem.PageSize

// Policy chooses which resident page eviction takes.
type Policy int

const (
	// PolicyWorkingset is the kernel's two lists with refault
	// detection (mm/workingset.c): the default.
	PolicyWorkingset Policy = iota
	// PolicyFIFO evicts pages in the order they came in.
	PolicyFIFO
)

func (p Policy) String() string {
	if p == PolicyFIFO {
		return "fifo"
	}
	return "workingset"
}

// ParsePolicy reads "workingset" or "fifo".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "workingset", "":
		return PolicyWorkingset, nil
	case "fifo":
		return PolicyFIFO, nil
	}
	return 0, fmt.Errorf("eviction policy %q: want workingset or fifo", s)
}

// Config is one pager.
type Config struct {
	// Pages is the region's size in pages.
	Pages uint64
	// Budget is the number of pages that may be resident at once, like
	// a memory cgroup's limit.
	Budget int
	// Device holds the swapped-out pages; it must carry a swap header
	// (swapdev.MkswapDevice or swapdev.Mkswap). The pager swaps it on
	// and off; the caller closes it.
	Device swap.Device
	// Policy is the eviction policy.
	Policy Policy
	// Readahead is how many of the next swapped-out pages a sequential
	// missing fault copies in with it; 0 turns readahead off.
	Readahead int
	// Workers is the number of fault-handling tasks Start spawns
	// (default 2); Kswapd adds the background reclaimer.
	Workers int
	Kswapd  bool
	// Batch is how many pages a round of reclaim takes (default 32).
	Batch int
	// Low and High are kswapd's watermarks in free frames: it wakes
	// below Low and reclaims up to High. Zero derives them from Budget.
	Low, High int
	// Fixes chooses the variants of the pager's fixes (pager-*).
	Fixes fixes.Set
}

// Pager pages one region.
type Pager struct {
	ops  Ops            // immutable
	cfg  Config         // immutable
	core *swap.Core     // immutable
	si   *swap.SwapInfo // immutable
	pool *mem.Pool      // immutable: the budget's frames
	ptes []pte          // immutable slice; see pte for each field's guard

	// eventLock orders the reading of messages (for writing) against
	// every change of a page's state (for reading): see the package doc.
	eventLock ksync.RWSem

	lru lruvec

	// age is the workingset clock (lruvec->nonresident_age): evictions
	// and activations so far. Atomic.
	age ksync.Int64
	// lastFault is the page of the last missing fault, for readahead's
	// sequential test. Atomic.
	lastFault ksync.Int64

	stopping ksync.Bool      // set by Stop
	kswapdWQ ksync.WaitQueue // kswapd sleeps here until frames run low
	running  ksync.Int32     // tasks of Start still running
	exited   ksync.WaitQueue // Stop waits here for running to reach 0

	errLock ksync.SpinLock
	err     error // the first error the pager could not handle; guarded by errLock

	zeroPage []byte // immutable: a page of zeros, the source of zero fills

	Stats Stats
}

// Stats count what the pager did. They are reporting only.
type Stats struct {
	MissingFaults ksync.Stat // missing-page messages handled
	WPFaults      ksync.Stat // write-protect messages handled
	MinorFaults   ksync.Stat // minor-fault messages handled
	SwapIns       ksync.Stat // pages copied in from a slot by a fault
	ZeroFills     ksync.Stat // pages installed as zeros
	Readahead     ksync.Stat // pages copied in by readahead
	AlreadyThere  ksync.Stat // faults whose page was installed already (EEXIST or the pte)
	Again         ksync.Stat // operations refused while an event was pending (EAGAIN)
	Wakes         ksync.Stat // UFFDIO_WAKE issued
	Evicted       ksync.Stat // pages dropped by eviction
	Written       ksync.Stat // pages written to a slot by eviction
	CleanDrops    ksync.Stat // pages dropped without writing (their slot copy was current)
	ZeroDrops     ksync.Stat // never-written zero fills dropped back to none
	Redirtied     ksync.Stat // pages kept because a write came during writeout
	Activated     ksync.Stat // refaults that went to the active list
	Removed       ksync.Stat // pages the process discarded (REMOVE, UNMAP)
	ReadErrors    ksync.Stat // swap-ins whose device read failed (the page is poisoned)
}

// New builds a pager for the region that ops stands for: a swap core
// with cfg.Device swapped on, and cfg.Budget frames. Nothing runs until
// Start (or Serve on tasks of the caller's).
func New(t *ksync.Task, ops Ops, cfg Config) (*Pager, error) {
	if cfg.Pages == 0 {
		return nil, errors.New("pager: a region of 0 pages")
	}
	if cfg.Budget < 4 {
		return nil, fmt.Errorf("pager: a budget of %d pages; it takes at least 4", cfg.Budget)
	}
	if cfg.Device == nil {
		return nil, errors.New("pager: no swap device")
	}
	if cfg.Readahead < 0 || cfg.Readahead > 256 {
		return nil, fmt.Errorf("pager: readahead of %d pages; want 0 to 256", cfg.Readahead)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.Low <= 0 {
		cfg.Low = max(2, cfg.Budget/64)
	}
	if cfg.High <= cfg.Low {
		cfg.High = max(cfg.Low+1, cfg.Budget/32)
	}
	if cfg.High >= cfg.Budget {
		return nil, fmt.Errorf("pager: watermarks %d/%d leave no room in a budget of %d pages", cfg.Low, cfg.High, cfg.Budget)
	}
	pool, err := mem.NewDescriptorPool(cfg.Budget)
	if err != nil {
		return nil, err
	}
	core := swap.NewCore(swap.Config{Fixes: cfg.Fixes})
	si, err := core.Swapon(t, cfg.Device, swap.SwaponOptions{})
	if err != nil {
		return nil, fmt.Errorf("pager: %w", err)
	}
	p := &Pager{
		ops: ops, cfg: cfg, core: core, si: si, pool: pool,
		ptes:     make([]pte, cfg.Pages),
		zeroPage: make([]byte, PageSize),
	}
	p.eventLock.Init(ksync.RankPagerEvents)
	p.errLock.Init(ksync.RankPagerErr)
	for i := range p.ptes {
		p.ptes[i].ptl.InitRank(ksync.RankPagerPTL)
	}
	p.lru.init(pool)
	pool.SetOwner(p)
	p.lastFault.Init(-2)
	return p, nil
}

// Config is the pager's configuration, with its defaults filled in.
func (p *Pager) Config() Config { return p.cfg }

// Core is the pager's swap core; Pool its frames.
func (p *Pager) Core() *swap.Core { return p.core }

// Pool is the pager's frames.
func (p *Pager) Pool() *mem.Pool { return p.pool }

// SwapInfo is the swapped-on device.
func (p *Pager) SwapInfo() *swap.SwapInfo { return p.si }

// Resident is the number of pages resident now.
func (p *Pager) Resident(t *ksync.Task) int64 {
	return int64(p.pool.Frames()) - p.pool.NrFree(t)
}

// FolioReleased is the pager's half of __folio_put(), called by the pool
// (mem.Owner): a folio whose last reference is gone leaves the LRU before
// its frame is freed.
func (p *Pager) FolioReleased(t *ksync.Task, f *mem.Folio) {
	if f.Flags.Test(t, mem.PGLRU) {
		p.lru.del(t, f)
	}
	f.Flags.Init(0)
}

// Start spawns the workers (and kswapd) on tasks of their own.
func (p *Pager) Start(t *ksync.Task) {
	for i := range p.cfg.Workers {
		p.spawn(t, fmt.Sprintf("uffd-worker%d", i), i, func(t *ksync.Task) { p.Serve(t) })
	}
	if p.cfg.Kswapd {
		p.spawn(t, "kswapd", p.cfg.Workers, p.Kswapd)
	}
}

func (p *Pager) spawn(t *ksync.Task, name string, cpu int, fn func(*ksync.Task)) {
	p.running.Add(t, 1)
	ksync.Spawn(t, name, cpu, func(t *ksync.Task) {
		defer func() {
			p.running.Add(t, -1)
			p.exited.WakeAll(t)
		}()
		fn(t)
	})
}

// Stop makes every worker and kswapd return, and waits for the tasks
// Start spawned. Faults still waiting are left to the caller (closing
// the userfaultfd wakes their threads).
func (p *Pager) Stop(t *ksync.Task) {
	p.stopping.Store(t, true)
	p.ops.Interrupt(t)
	p.kswapdWQ.WakeAll(t)
	p.exited.Wait(t, func() bool { return p.running.Load(t) == 0 })
}

// Err is the first error the pager could not handle (a device that
// fails writes, a userfaultfd ioctl failing in a way the protocol does
// not expect), or nil.
func (p *Pager) Err(t *ksync.Task) error {
	p.errLock.Lock(t)
	defer p.errLock.Unlock(t)
	return p.err
}

func (p *Pager) fail(t *ksync.Task, err error) {
	p.errLock.Lock(t)
	if p.err == nil {
		p.err = err
	}
	p.errLock.Unlock(t)
	if t.Traced() {
		ksync.Note(t, "pager error: %v", err)
	}
}

// Teardown frees every page's frame and slot and swaps the device off.
// It runs after Stop, when nothing else touches the pager; the region's
// memory is the caller's to drop.
func (p *Pager) Teardown(t *ksync.Task) error {
	// Swap cache folios whose page the process discarded while they
	// were locked are on the LRU, mapped by no page: free them first.
	for _, f := range p.unmappedOnLRU(t) {
		f.Lock(t)
		p.core.FolioFreeSwap(t, f)
		f.Unlock(t)
		f.Put(t)
	}
	for page := range p.ptes {
		v := p.pteGet(t, uint64(page))
		switch v.kind() {
		case kindPresent:
			f := p.pool.Folio(v.pfn())
			f.Lock(t)
			if f.Test(t, mem.PGSwapCache) {
				p.core.SwapCacheDelFolio(t, f)
			}
			f.Unlock(t)
			f.RemoveMap(t)
			f.Put(t)
		case kindSwap:
			p.core.FreeSwapAndCache(t, v.entry())
		}
		p.pteSet(t, uint64(page), 0)
	}
	return p.core.Swapoff(t, p.si, noUsers{})
}

// unmappedOnLRU returns the folios on the LRU that no page maps, each
// with a reference taken.
func (p *Pager) unmappedOnLRU(t *ksync.Task) []*mem.Folio {
	var fs []*mem.Folio
	p.lru.lock.Lock(t)
	for _, which := range []int{lruInactive, lruActive} {
		for pfn := p.lru.lists[which].head; pfn >= 0; pfn = p.pool.Folio(int(pfn)).LRUNext {
			if f := p.pool.Folio(int(pfn)); !f.Mapped(t) && f.TryGet(t) {
				fs = append(fs, f)
			}
		}
	}
	p.lru.lock.Unlock(t)
	return fs
}

// noUsers is the swapoff walk of a pager that dropped every page first.
type noUsers struct{}

func (noUsers) TryToUnuse(t *ksync.Task, si *swap.SwapInfo) error { return nil }

// Snapshot is the pager's counters as plain numbers.
type Snapshot struct {
	MissingFaults, WPFaults, MinorFaults, SwapIns, ZeroFills, Readahead uint64
	AlreadyThere, Again, Wakes                                          uint64
	Evicted, Written, CleanDrops, ZeroDrops, Redirtied                  uint64
	Activated, Removed, ReadErrors                                      uint64
	PswpIn, PswpOut                                                     uint64
}

// Snapshot reads the counters.
func (p *Pager) Snapshot() Snapshot {
	s := &p.Stats
	return Snapshot{
		MissingFaults: s.MissingFaults.Sum(), WPFaults: s.WPFaults.Sum(), MinorFaults: s.MinorFaults.Sum(), SwapIns: s.SwapIns.Sum(),
		ZeroFills: s.ZeroFills.Sum(), Readahead: s.Readahead.Sum(), AlreadyThere: s.AlreadyThere.Sum(),
		Again: s.Again.Sum(), Wakes: s.Wakes.Sum(), Evicted: s.Evicted.Sum(), Written: s.Written.Sum(),
		CleanDrops: s.CleanDrops.Sum(), ZeroDrops: s.ZeroDrops.Sum(), Redirtied: s.Redirtied.Sum(),
		Activated: s.Activated.Sum(), Removed: s.Removed.Sum(), ReadErrors: s.ReadErrors.Sum(),
		PswpIn: p.core.Stats.PswpIn.Sum(), PswpOut: p.core.Stats.PswpOut.Sum(),
	}
}
