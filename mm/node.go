package mm

import (
	"slices"

	"fmt"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
	"uswap/swap"
)

// Readahead modes of swap-in (the kernel picks VMA readahead unless
// /sys/kernel/mm/swap/vma_ra_enabled is 0).
const (
	ReadaheadCluster = "cluster" // swap_cluster_readahead: neighbouring slots
	ReadaheadVMA     = "vma"     // swap_vma_readahead: neighbouring PTEs
)

// Config is the node's tunables: the vm sysctls that matter here.
type Config struct {
	Fixes fixes.Set
	// PageCluster is vm.page-cluster: readahead reads up to
	// 2^PageCluster pages. Negative means the default, 3.
	PageCluster int
	// Readahead is ReadaheadCluster or ReadaheadVMA ("" = VMA).
	Readahead string
	// Watermarks in free frames (the zone's min/low/high). Zero values
	// get defaults from the pool size. kswapd is woken when free frames
	// drop below Low and reclaims until High.
	WatermarkMin, WatermarkLow, WatermarkHigh int
	// Kswapd starts the background reclaimer. Explorer scenarios leave
	// it off (a task that never exits on its own).
	Kswapd bool
	// MemcgBgReclaim starts background memcg reclaim (memcg_reclaim.go):
	// a worker that reclaims a limited cgroup whose usage comes within a
	// margin of its memory.max, so that the faulting task seldom reclaims
	// (and compresses) itself. The kernel has no such worker for a hard
	// limit (its memory.high reclaim is a separate, user-set threshold):
	// it is uswap's own design, off by default; StopMemcgReclaim stops it.
	MemcgBgReclaim bool
}

// VMStat holds the vm_event counters (/proc/vmstat) with the kernel's
// names. They are for reporting only: nothing in the engine reads them.
type VMStat struct {
	PgFault      ksync.Stat // pgfault
	PgMajFault   ksync.Stat // pgmajfault: faults that read from a device
	SwapRa       ksync.Stat // swap_ra: pages read ahead
	SwapRaHit    ksync.Stat // swap_ra_hit: read-ahead pages faulted on
	PgSteal      ksync.Stat // pgsteal: pages reclaimed
	PgScan       ksync.Stat // pgscan: pages scanned on the inactive list
	PgActivate   ksync.Stat // pgactivate
	PgDeactivate ksync.Stat // pgdeactivate
	OOM          ksync.Stat // oom: faults that failed for lack of memory
	PgReuse      ksync.Stat // pgreuse: write faults that reused the page
	CowFault     ksync.Stat // cow faults that copied
	KswapdWake   ksync.Stat // kswapd wakeups
	Stranded     ksync.Stat // swap-cache folios nothing mapped, freed by reclaim
	SwapinBypass ksync.Stat // swap-ins that skipped the swap cache (sync device)
	// ShmemChargeFail counts shmem swap-ins whose memcg charge failed.
	ShmemChargeFail ksync.Stat
}

// Node is struct pglist_data plus the globals of mm: the RAM, the swap
// core, the memcg hierarchy and everything reclaim needs.
type Node struct {
	pool *mem.Pool        // immutable
	core *swap.Core       // immutable
	root *memcg.MemCgroup // immutable
	hier *memcg.Hierarchy // immutable
	cfg  Config           // immutable
	min  int64            // immutable: watermarks in frames
	low  int64            // immutable
	high int64            // immutable

	// lruvecs is a table indexed by memory cgroup id: lruvecs[id] is the
	// lruvec of cgroup id. A lruvec is made on first use under
	// lruvecsLock, which then publishes a grown copy of the table (a
	// published table is never changed). lruvecList lists them in
	// creation order (guarded by lruvecsLock) so that reclaim visits
	// them in a deterministic order.
	lruvecsLock ksync.SpinLock
	lruvecs     ksync.Pointer[[]*lruvec]
	lruvecList  []*lruvec

	// mmlist is the list of live address spaces (init_mm.mmlist), for
	// try_to_unuse and the audit: guarded by mmlistLock.
	mmlistLock ksync.SpinLock
	mmlist     []*MM
	nextMMID   int // guarded by mmlistLock

	// Swap-in readahead state of swapin_nr_pages(): atomics, like the
	// kernel's swapin_readahead_hits, last_readahead_pages, prev_offset.
	raHits    ksync.Int32
	raLastWin ksync.Int32
	raPrevOff ksync.Uint64

	kswapd  kswapdState
	memcgBg memcgBgState // background memcg reclaim (memcg_reclaim.go)

	// shmem is the list of shmem files (shmem_swaplist, shmem.go).
	shmem shmemState

	Stat VMStat
}

// NewNode wires a node: the pool's release hook, the hierarchy's
// reclaimer and, if configured, kswapd (stopped by StopKswapd) and the
// background memcg reclaimer (stopped by StopMemcgReclaim).
func NewNode(t *ksync.Task, pool *mem.Pool, core *swap.Core, root *memcg.MemCgroup, cfg Config) (*Node, error) {
	if pool == nil || core == nil || root == nil {
		return nil, fmt.Errorf("mm: NewNode needs a pool, a swap core and a memcg root")
	}
	if cfg.PageCluster < 0 {
		cfg.PageCluster = 3
	}
	if cfg.PageCluster > 10 {
		return nil, fmt.Errorf("mm: page_cluster %d is out of range 0..10", cfg.PageCluster)
	}
	switch cfg.Readahead {
	case "":
		cfg.Readahead = ReadaheadVMA
	case ReadaheadCluster, ReadaheadVMA:
	default:
		return nil, fmt.Errorf("mm: unknown readahead mode %q (want %q or %q)", cfg.Readahead, ReadaheadCluster, ReadaheadVMA)
	}
	frames := int64(pool.Frames())
	n := &Node{pool: pool, core: core, root: root, hier: root.Hierarchy(), cfg: cfg}
	n.lruvecsLock.Init(ksync.RankLruvecs)
	n.mmlistLock.Init(ksync.RankMmlist)
	n.shmem.lock.Init(ksync.RankShmemSwaplist)
	n.memcgBg.lock.Init(ksync.RankMemcgBgWork)
	n.min, n.low, n.high = int64(cfg.WatermarkMin), int64(cfg.WatermarkLow), int64(cfg.WatermarkHigh)
	if n.min == 0 {
		n.min = max(frames/64, 1)
	}
	if n.low == 0 {
		n.low = n.min + max(frames/64, 1)
	}
	if n.high == 0 {
		n.high = n.low + max(frames/64, 1)
	}
	if !(n.min <= n.low && n.low <= n.high && n.high <= frames) {
		return nil, fmt.Errorf("mm: watermarks min %d <= low %d <= high %d <= frames %d do not hold", n.min, n.low, n.high, frames)
	}
	pool.SetOwner(n)
	n.shmem.sb = newShmemSB()
	n.hier.SetReclaimer(t, n)
	if cfg.Kswapd {
		n.startKswapd(t)
	}
	if cfg.MemcgBgReclaim {
		n.StartMemcgReclaim(t)
	}
	return n, nil
}

// Pool is the node's RAM.
func (n *Node) Pool() *mem.Pool { return n.pool }

// Core is the swap core.
func (n *Node) Core() *swap.Core { return n.core }

// Root is the root memory cgroup.
func (n *Node) Root() *memcg.MemCgroup { return n.root }

// Config is the node's configuration, defaults filled in.
func (n *Node) Config() Config { return n.cfg }

// Watermarks returns min, low and high in frames.
func (n *Node) Watermarks() (min, low, high int64) { return n.min, n.low, n.high }

// lruvecOf is mem_cgroup_lruvec(): the lruvec of memcg id, made on first
// use.
func (n *Node) lruvecOf(t *ksync.Task, id uint16) *lruvec {
	if tab := n.lruvecs.Load(t); tab != nil && int(id) < len(*tab) && (*tab)[id] != nil {
		return (*tab)[id]
	}
	n.lruvecsLock.Lock(t)
	defer n.lruvecsLock.Unlock(t)
	var old []*lruvec
	if tab := n.lruvecs.Load(t); tab != nil {
		old = *tab
	}
	if int(id) < len(old) && old[id] != nil {
		return old[id]
	}
	tab := make([]*lruvec, max(len(old), int(id)+1))
	copy(tab, old)
	lv := newLruvec(id)
	tab[id] = lv
	n.lruvecList = append(n.lruvecList, lv)
	n.lruvecs.Store(t, &tab)
	return lv
}

// allLruvecs is a snapshot of the lruvecs in creation order.
func (n *Node) allLruvecs(t *ksync.Task) []*lruvec {
	n.lruvecsLock.Lock(t)
	defer n.lruvecsLock.Unlock(t)
	return append([]*lruvec(nil), n.lruvecList...)
}

// FolioReleased is the mm half of __folio_put(), called by the pool
// (mem.Owner): take the folio off its LRU list (lruvec_del_folio under
// the lruvec lock) and uncharge its memory cgroup (mem_cgroup_uncharge).
func (n *Node) FolioReleased(t *ksync.Task, f *mem.Folio) {
	if f.Test(t, mem.PGLRU) {
		lv := n.lruvecOf(t, f.MemcgID)
		lv.lock.Lock(t)
		if f.Flags.TestAndClear(t, mem.PGLRU) {
			lv.delLocked(t, f)
		}
		lv.lock.Unlock(t)
	}
	if id := f.MemcgID; id != 0 {
		if cg := n.hier.FromID(t, id); cg != nil {
			memcg.Uncharge(t, cg, 1)
		} else {
			panic(fmt.Sprintf("mm: %v charged to unknown memcg id %d", f, id))
		}
		f.MemcgID = 0
	}
	// Flags that may remain on a dead folio (swapbacked, uptodate,
	// dirty, referenced, active, readahead) mean nothing once free; the
	// ones the pool checks are kept for it to check.
	const keep = 1<<mem.PGLocked | 1<<mem.PGSwapCache | 1<<mem.PGLRU | 1<<mem.PGWriteback
	f.Flags.Init(f.Flags.Load(t) & keep)
}

// allocFolio is vma_alloc_folio() with direct reclaim: a frame with one
// reference, or ErrOOM after reclaim could not make room. It wakes
// kswapd when free frames drop below the low watermark.
func (n *Node) allocFolio(t *ksync.Task) (*mem.Folio, error) {
	ksync.MightSleep(t) // direct reclaim, even when this allocation needs none
	noProgress := 0
	for try := 0; ; try++ {
		if f := n.pool.Alloc(t); f != nil {
			if n.pool.NrFree(t) < n.low {
				n.wakeKswapd(t)
			}
			return f, nil
		}
		n.wakeKswapd(t)
		if try >= maxAllocRetries || noProgress >= maxNoProgress {
			return nil, fmt.Errorf("%w: no free frame after direct reclaim (%d frames)", ErrOOM, n.pool.Frames())
		}
		// __alloc_pages_direct_reclaim.
		if n.shrinkNode(t, nil, directReclaimBatch) == 0 {
			noProgress++
			ksync.ScheduleTimeout(t, jiffy)
		} else {
			noProgress = 0
		}
	}
}

const (
	maxAllocRetries    = 64
	maxNoProgress      = 16 // MAX_RECLAIM_RETRIES
	directReclaimBatch = 32 // SWAP_CLUSTER_MAX
	// jiffy is one tick, for schedule_timeout_uninterruptible(1).
	jiffy = 1_000_000 // a time.Duration of 1 ms
)

// allocCharged allocates a frame and charges it to cg
// (mem_cgroup_charge), with memcg reclaim when the charge would exceed a
// limit. The folio comes back with MemcgID set and one reference.
func (n *Node) allocCharged(t *ksync.Task, cg *memcg.MemCgroup) (*mem.Folio, error) {
	f, err := n.allocFolio(t)
	if err != nil {
		return nil, err
	}
	if err := cg.TryCharge(t, 1); err != nil {
		f.Put(t)
		return nil, fmt.Errorf("%w: %w", ErrOOM, err)
	}
	f.MemcgID = cg.ID()
	n.memcgCharged(t, cg)
	return f, nil
}

// addMM puts a new address space on mmlist.
func (n *Node) addMM(t *ksync.Task, m *MM) {
	n.mmlistLock.Lock(t)
	m.id = n.nextMMID
	n.nextMMID++
	n.mmlist = append(n.mmlist, m)
	n.mmlistLock.Unlock(t)
}

// delMM takes an exited address space off mmlist.
func (n *Node) delMM(t *ksync.Task, m *MM) {
	n.mmlistLock.Lock(t)
	n.mmlist = without(n.mmlist, m)
	n.mmlistLock.Unlock(t)
}

// without is list_del() on a slice: s without its first x, the order of
// the rest kept.
func without[T comparable](s []T, x T) []T {
	if i := slices.Index(s, x); i >= 0 {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// MMs is a snapshot of the live address spaces, in creation order.
func (n *Node) MMs(t *ksync.Task) []*MM {
	n.mmlistLock.Lock(t)
	defer n.mmlistLock.Unlock(t)
	return append([]*MM(nil), n.mmlist...)
}

// NewMM is mm_alloc(): an empty address space charged to cg (the root if
// nil).
func (n *Node) NewMM(t *ksync.Task, cg *memcg.MemCgroup) *MM {
	if cg == nil {
		cg = n.root
	}
	m := &MM{node: n, memcg: cg, nextAddr: mmapBase}
	m.mmapLock.Init(ksync.RankMmapLock)
	m.pageTableLock.Init(ksync.RankPageTableLock)
	n.addMM(t, m)
	return m
}
