package swap

import (
	"fmt"
	"unsafe"

	"uswap/design"
	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
)

// slotOps is the half of the swap core that differs between the designs
// (package design): what a slot's state is and how it changes. The
// classic design (classic.go over count.go and swapcache.go) keeps it in
// swap_map bytes with SWAP_HAS_CACHE and count continuation, and the swap
// cache folio and swap cgroup id in the per-cluster clusterTable; the
// table design (table*.go) keeps all of it in the per-cluster swap table.
//
// Everything else is shared and calls it: the devices, swapon and
// swapoff, the cluster allocator with its lists and per-CPU clusters, the
// device reference (get_swap_device), the reclaim of cache-only slots
// (__try_to_reclaim_swap), and the mm-facing API below, which is one set
// of operations for both designs.
type slotOps interface {
	// setupSlots gives a device being swapped on its per-slot state:
	// bad lists the slots never to allocate (the header and bad pages),
	// sorted; the clusters exist and count them.
	setupSlots(si *SwapInfo, bad []uint64)
	// releaseSlotsLocked frees it at swapoff, once no reference is
	// left, under si->lock with the clusters; releaseSlots frees what
	// goes after si->lock is dropped (classic: the continuation lists,
	// under cont_lock).
	releaseSlotsLocked(t *ksync.Task, si *SwapInfo)
	releaseSlots(t *ksync.Task, si *SwapInfo)

	// The allocator, with the slot's cluster ci (index idx) locked.
	//
	// scanSlotLocked is cluster_scan_range() for one slot: whether it is
	// free, or holds only a swap cache folio that may be reclaimed since
	// swap is getting full.
	scanSlotLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) (ok, needReclaim bool)
	// slotFreeLocked reports whether the slot is free.
	slotFreeLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) bool
	// allocSlotLocked takes the free slot for folio (cluster_alloc_range()
	// for one slot), giving the cluster its table if it has none.
	allocSlotLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64, folio *mem.Folio)
	// onlyCachedLocked reports whether nothing but a swap cache folio
	// holds the slot (swap_only_has_cache()).
	onlyCachedLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) bool
	// dropTablesLocked takes the tables of a cluster whose count reached
	// 0 (swap_cluster_free_table()).
	dropTablesLocked(t *ksync.Task, si *SwapInfo, ci *cluster)

	// The mm-facing operations, documented at the Core methods of the
	// same names in slots.go.
	folioAllocSwap(t *ksync.Task, folio *mem.Folio, charge func(mem.SwpEntry) (uint16, error)) (mem.SwpEntry, error)
	folioDupSwap(t *ksync.Task, folio *mem.Folio) error
	folioPutSwap(t *ksync.Task, folio *mem.Folio)
	swapDupEntryDirect(t *ksync.Task, entry mem.SwpEntry) error
	swapPutEntriesDirect(t *ksync.Task, entry mem.SwpEntry)
	swapCacheGetFolio(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) *mem.Folio
	swapCacheDelFolioLocked(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry)
	deleteIfOnlyCached(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) bool
	swapEntrySwapped(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) bool
	swpSwapcount(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) int
	memcgRecord(t *ksync.Task, si *SwapInfo, offset uint64, id uint16)
	memcgLookup(t *ksync.Task, si *SwapInfo, offset uint64) uint16
	swapinReserve(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) error
	swapinCommit(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry)
	swapinCancel(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry)
	swapinBackoff(t *ksync.Task)
	chooseSwapin(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) SwapinPath

	// The audit, at quiescence: the per-slot half of invariants 1 and 3
	// for cluster idx (locked), and the in-use slots for ForEachSlot.
	auditClusterLocked(t *ksync.Task, si *SwapInfo, idx int, add func(id invariant.ID, obj, format string, args ...any)) (inuse int64, count int)
	slotStatesLocked(t *ksync.Task, si *SwapInfo, idx int) []SlotState
	// footprint adds the device's per-slot structures to f.
	footprint(t *ksync.Task, si *SwapInfo, f *Footprint)
}

// newSlotOps is the design's half of c.
func newSlotOps(c *Core, d design.Design) slotOps {
	switch d {
	case design.Classic:
		return classicSlots{c}
	case design.Table:
		if c.pool == nil {
			panic("swap: the table design needs Config.Pool: its entries name folios by frame number")
		}
		return tableSlots{c}
	}
	panic(fmt.Sprintf("swap: unknown design %v", d))
}

// Design is the design the core runs.
func (c *Core) Design() design.Design { return c.design }

// SwapinPath is how do_swap_page() brings in an entry that is not in the
// swap cache; the design decides (ChooseSwapin).
type SwapinPath uint8

const (
	// SwapinReadahead: swapin_readahead(), through the swap cache with
	// the neighbours of the entry.
	SwapinReadahead SwapinPath = iota
	// SwapinSync: the entry alone, through the swap cache (the table
	// design's swapin_sync(), phase II's swapin_folio(), on an
	// SWP_SYNCHRONOUS_IO device).
	SwapinSync
	// SwapinBypass: skip the swap cache (the classic design on an
	// SWP_SYNCHRONOUS_IO device with __swap_count() == 1: seed 000's
	// path).
	SwapinBypass
)

// ChooseSwapin is do_swap_page()'s choice for an entry of si that missed
// in the swap cache. Classic (v6.15): the bypass on an SWP_SYNCHRONOUS_IO
// device when only this PTE holds the entry, else readahead. Table: every
// swap-in goes through the swap cache, without readahead on an
// SWP_SYNCHRONOUS_IO device. The caller holds a device reference.
func (c *Core) ChooseSwapin(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) SwapinPath {
	return c.slots.chooseSwapin(t, si, entry)
}

// FolioAllocSwap is folio_alloc_swap(): allocate a slot for folio, add
// the folio to the swap cache under it, and charge the slot to the
// folio's memory cgroup through charge (mem_cgroup_try_charge_swap, which
// returns the id to record). The folio is locked, swap-backed and not in
// the swap cache. The slot's count is 0: only the swap cache holds it.
//
// Classic: the allocator sets SWAP_HAS_CACHE, the charge follows, then
// add_to_swap_cache(); a failed charge gives the pin back
// (put_swap_folio). Table: the allocator stores the folio in the slot's
// entry in the same critical section (no pin in between), then the
// charge; a failed charge takes the folio out again (swap_cache_del_folio),
// which frees the slot.
func (c *Core) FolioAllocSwap(t *ksync.Task, folio *mem.Folio, charge func(mem.SwpEntry) (uint16, error)) (mem.SwpEntry, error) {
	return c.slots.folioAllocSwap(t, folio, charge)
}

// FolioDupSwap is folio_dup_swap(): one more reference to the slot of a
// folio that is locked and in the swap cache (try_to_unmap installing a
// swap PTE, shmem_writeout the mapping's entry). Classic:
// swap_duplicate(folio->swap), adding a continuation page past
// SWAP_MAP_MAX. Table: the entry's count, into the extend table past
// SwpTbCountMax-1; a count goes from 0 to 1 only here.
func (c *Core) FolioDupSwap(t *ksync.Task, folio *mem.Folio) error {
	return c.slots.folioDupSwap(t, folio)
}

// FolioPutSwap is folio_put_swap(): one reference fewer to the slot of a
// folio that is locked and in the swap cache (do_swap_page, unuse_pte and
// shmem_swapin_folio once the folio replaced the entry). The slot is not
// freed: the cached folio keeps it (FolioFreeSwap or SwapCacheDelFolio
// free it). Classic: swap_free(folio->swap), which SWAP_HAS_CACHE keeps
// from freeing the slot.
func (c *Core) FolioPutSwap(t *ksync.Task, folio *mem.Folio) {
	c.slots.folioPutSwap(t, folio)
}

// SwapDupEntryDirect is swap_dup_entry_direct(): one more reference to
// entry, whose holder's lock the caller has (fork's copy_nonpresent_pte,
// with both PTLs). Classic: swap_duplicate(entry).
func (c *Core) SwapDupEntryDirect(t *ksync.Task, entry mem.SwpEntry) error {
	return c.slots.swapDupEntryDirect(t, entry)
}

// SwapPutEntriesDirect is swap_put_entries_direct(): a PTE or shmem
// mapping entry holding entry is gone (the caller holds its lock, or took
// it out of the mapping). Drop the reference; a slot left with no
// reference is freed, or, if a swap cache folio holds it, that folio is
// reclaimed if it can be trylocked (__try_to_reclaim_swap): a folio locked
// by a racing swap-in stays in the swap cache, and reclaim frees it later
// (seed 004). Classic: free_swap_and_cache(entry).
func (c *Core) SwapPutEntriesDirect(t *ksync.Task, entry mem.SwpEntry) {
	c.slots.swapPutEntriesDirect(t, entry)
}

// SwapCacheGetFolio is swap_cache_get_folio(): the folio cached for entry,
// with a reference taken, or nil; a folio whose refcount reclaim froze
// counts as absent. The folio may leave the swap cache at any time after:
// the caller locks it and checks PGSwapCache and folio->swap before use
// (folio_matches_swap_entry). Classic: under the cluster lock. Table:
// lockless, an atomic read of the entry. The caller holds a device
// reference.
//
// It is lookup_swap_cache(), so the -V5a/-V5b variants of seed 003 do the
// lookup in a get_swap_device() section, and find nothing on a device
// that is no longer valid (in both designs: the device reference is
// shared).
func (c *Core) SwapCacheGetFolio(t *ksync.Task, entry mem.SwpEntry) *mem.Folio {
	sec, ok := c.enterSection(t, entry)
	if !ok {
		return nil
	}
	f := c.slots.swapCacheGetFolio(t, sec.si, entry)
	c.exitSection(t, sec)
	c.Stats.CacheFind.Inc(t)
	if f != nil {
		c.Stats.CacheHit.Inc(t)
	}
	return f
}

// SwapCacheDelFolio is swap_cache_del_folio() (classic:
// delete_from_swap_cache()): the folio is locked, in the swap cache, not
// under writeback, and the caller holds a reference besides the cache's.
// It leaves the swap cache, the cache's reference goes, and the slot is
// freed if no reference holds it.
func (c *Core) SwapCacheDelFolio(t *ksync.Task, folio *mem.Folio) {
	c.swapCacheDelFolioFrozen(t, folio)
	folio.RefSub(t, 1)
}

// FolioPutSwapDel is what shmem_swapin_folio() and
// shmem_set_folio_swapin_error() do once the index no longer holds the
// entry of a locked swap cache folio (the folio replaced it, or the
// swapin-error marker did): the index's count on the slot goes and the
// folio leaves the swap cache, which frees the slot; with dirty the folio
// is marked dirty (folio_mark_dirty: it is the only copy now). The order
// is the design's: classic (v6.15) delete_from_swap_cache(),
// folio_mark_dirty(), then swap_free() of the entry; table (phase II)
// folio_put_swap(), swap_cache_del_folio(), then folio_mark_dirty(). The
// caller holds a reference besides the cache's.
func (c *Core) FolioPutSwapDel(t *ksync.Task, folio *mem.Folio, dirty bool) {
	if c.design == design.Classic {
		entry := folio.Swap()
		c.SwapCacheDelFolio(t, folio)
		if dirty {
			folio.Flags.Set(t, mem.PGDirty)
		}
		c.SwapFree(t, entry)
		return
	}
	c.FolioPutSwap(t, folio)
	c.SwapCacheDelFolio(t, folio)
	if dirty {
		folio.Flags.Set(t, mem.PGDirty)
	}
}

// RemoveMapping is __remove_mapping() for a locked swap cache folio that
// reclaim wants to free: with the slot's cluster lock held (the kernel's
// swap_cluster_get_and_lock_irq; v6.15's xa_lock of the swap address
// space), freeze the folio's refcount at refs (the caller's and the swap
// cache's: no lookup holds a reference), give up if it is dirty again,
// and take it out of the swap cache (__swap_cache_del_folio; classic:
// __delete_from_swap_cache and put_swap_folio). On true the refcount is
// frozen at 0 and the caller frees the frame.
//
// The freeze is under the cluster lock as in the kernel: a swap-in that
// sees the frozen folio (its lookup's folio_try_get fails) and tries to
// insert its own folio waits on the lock until the old one is gone,
// instead of spinning between a failed lookup and a failed insertion.
//
// The classic design keeps the order uswap's classic engine has always
// had, the freeze before the cluster lock (the classic scenarios' budgets
// are measured on it): there a swap-in that meets the frozen folio
// misses, finds SWAP_HAS_CACHE still set by the slot, and sleeps a tick
// (SwapinBackoff) rather than spinning, so the order decides no
// livelock.
func (c *Core) RemoveMapping(t *ksync.Task, folio *mem.Folio, refs int32) bool {
	entry := folio.Swap()
	if c.design == design.Classic {
		if !folio.RefFreeze(t, refs) {
			return false
		}
		if folio.Test(t, mem.PGDirty) {
			folio.RefUnfreeze(t, refs)
			return false
		}
		c.swapCacheDelFolioFrozen(t, folio)
		return true
	}
	si := c.swapInfoOf(t, entry)
	ci := si.lockCluster(t, entry.Offset())
	defer ci.lock.Unlock(t)
	if !folio.RefFreeze(t, refs) {
		return false
	}
	if folio.Test(t, mem.PGDirty) {
		folio.RefUnfreeze(t, refs)
		return false
	}
	c.slots.swapCacheDelFolioLocked(t, si, folio, entry)
	return true
}

func (c *Core) swapCacheDelFolioFrozen(t *ksync.Task, folio *mem.Folio) {
	entry := folio.Swap()
	si := c.swapInfoOf(t, entry)
	ci := si.lockCluster(t, entry.Offset())
	c.slots.swapCacheDelFolioLocked(t, si, folio, entry)
	ci.lock.Unlock(t)
}

// FolioFreeSwap is folio_free_swap(): the folio is locked; if it is in the
// swap cache, not under writeback, and no PTE or shmem entry refers to its
// slot any more, delete it from the swap cache (freeing the slot) and mark
// it dirty, since its only copy is now in memory.
func (c *Core) FolioFreeSwap(t *ksync.Task, folio *mem.Folio) bool {
	if !folioSwapcacheFreeable(t, folio) {
		return false
	}
	entry := folio.Swap()
	return c.slots.deleteIfOnlyCached(t, c.swapInfoOf(t, entry), folio, entry)
}

// SwapEntrySwapped is swap_entry_swapped(): whether any PTE or shmem entry
// holds entry (its count, SWAP_HAS_CACHE aside, is not 0). A swap-in that
// finds it false gives up: the entry was freed. The caller holds a device
// reference.
func (c *Core) SwapEntrySwapped(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) bool {
	return c.slots.swapEntrySwapped(t, si, entry)
}

// SwpSwapcount is swp_swapcount(): the full reference count of entry
// (continuation pages or the extend table included); 0 if the device is
// gone.
func (c *Core) SwpSwapcount(t *ksync.Task, entry mem.SwpEntry) int {
	si := c.GetSwapDevice(t, entry)
	if si == nil {
		return 0
	}
	defer c.PutSwapDevice(t, si)
	sec, ok := c.enterSectionOf(t, si, entry)
	if !ok {
		return 0
	}
	defer c.exitSection(t, sec)
	return c.slots.swpSwapcount(t, si, entry)
}

// LookupSwapCgroupID is lookup_swap_cgroup_id(): the memory cgroup the
// slot of entry is charged to, or 0.
func (c *Core) LookupSwapCgroupID(t *ksync.Task, entry mem.SwpEntry) uint16 {
	si := c.swapInfoOf(t, entry)
	return c.slots.memcgLookup(t, si, entry.Offset())
}

// swapCgroupRecord is swap_cgroup_record(): note which memory cgroup the
// slot is charged to. The cluster is in use, so its tables exist.
func (si *SwapInfo) swapCgroupRecord(t *ksync.Task, offset uint64, id uint16) {
	si.core.slots.memcgRecord(t, si, offset, id)
}

// The swap-in insertion protocol, written once by the mm layer
// (swap_cache_alloc_folio in the table design, __read_swap_cache_async in
// the classic one) over these four steps, whose meaning the design
// decides:
//
//	loop:  folio = SwapCacheGetFolio(entry); found: done
//	       SwapEntrySwapped(entry) is false: the entry is gone
//	       allocate a folio
//	       SwapinReserve(folio, entry): the folio locked, or
//	         ErrExist: SwapinBackoff, put the folio, loop
//	         ErrNoEnt: the entry is gone
//	charge the folio; failed: SwapinCancel, unlock, put
//	SwapinCommit(folio, entry); add to the LRU; read; unlock
//
// Classic: SwapinReserve is swapcache_prepare(), which sets SWAP_HAS_CACHE
// as a pin (the folio is not in the swap cache yet); a racer's ErrExist
// means "pinned by someone who has no folio in the cache yet", so it
// sleeps a tick and tries again; SwapinCommit is add_to_swap_cache();
// SwapinCancel is swapcache_clear() and a wake-up of swapcache_wq.
//
// Table: SwapinReserve is swap_cache_add_folio(), which puts the locked
// folio in the slot's entry at once; a racer's ErrExist means the folio is
// there, so it loops without sleeping, finds it and sleeps on its lock;
// SwapinCommit has nothing left to do; SwapinCancel is
// swap_cache_del_folio().

// SwapinReserve claims entry for a swap-in into folio (new, unlocked, not
// in the swap cache): nil with the folio locked, or ErrExist if another
// swap-in holds it (retry), or ErrNoEnt if no reference holds it any
// more, the folio left unlocked. The caller holds a device reference.
// Classic: the pin, then the lock; table: the lock, then the folio in
// the table.
func (c *Core) SwapinReserve(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) error {
	return c.slots.swapinReserve(t, si, folio, entry)
}

// SwapinCommit puts folio, reserved and charged, in the swap cache for
// entry.
func (c *Core) SwapinCommit(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry) {
	c.slots.swapinCommit(t, folio, entry)
}

// SwapinCancel gives up a reservation whose charge failed.
func (c *Core) SwapinCancel(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) {
	c.slots.swapinCancel(t, si, folio, entry)
}

// SwapinBackoff is what a swap-in does after SwapinReserve's ErrExist,
// before it looks again.
func (c *Core) SwapinBackoff(t *ksync.Task) { c.slots.swapinBackoff(t) }

// Footprint is the memory the swap core keeps for a device's slots, from
// the sizes of the real structures.
type Footprint struct {
	Slots uint64 // usable slots
	InUse uint64 // slots in use
	// Static is what swapon allocates whatever the slots hold: the
	// SwapInfo, the cluster structs and (classic) the swap_map.
	Static uint64
	// Tables is the per-cluster tables of the clusters in use (classic:
	// the folio and memcg arrays; table: the swap table and its memcg
	// table), TableCount of them.
	Tables, TableCount uint64
	// Overflow is the count continuation pages (classic) or extend
	// tables (table).
	Overflow uint64
}

// Footprint measures si's per-slot structures now.
func (si *SwapInfo) Footprint(t *ksync.Task) Footprint {
	f := Footprint{Slots: si.pages, InUse: uint64(si.inuse.Load(t)), Static: uint64(unsafe.Sizeof(SwapInfo{}))}
	si.core.slots.footprint(t, si, &f)
	return f
}

// Add sums two footprints (of several devices).
func (f Footprint) Add(g Footprint) Footprint {
	return Footprint{Slots: f.Slots + g.Slots, InUse: f.InUse + g.InUse, Static: f.Static + g.Static,
		Tables: f.Tables + g.Tables, TableCount: f.TableCount + g.TableCount, Overflow: f.Overflow + g.Overflow}
}

// PerFreeSlot is the bytes an unused slot costs: its share of what swapon
// allocates.
func (f Footprint) PerFreeSlot() float64 {
	if f.Slots == 0 {
		return 0
	}
	return float64(f.Static) / float64(f.Slots)
}

// PerUsedSlot is the bytes a slot in use costs: PerFreeSlot, plus its
// share of its cluster's table, plus its share of the overflow tables.
func (f Footprint) PerUsedSlot() float64 {
	b := f.PerFreeSlot()
	if f.TableCount > 0 {
		b += float64(f.Tables) / float64(f.TableCount*ClusterSize)
	}
	if f.InUse > 0 {
		b += float64(f.Overflow) / float64(f.InUse)
	}
	return b
}
