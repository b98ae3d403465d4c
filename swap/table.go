package swap

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
)

// tableSlots is the table design's half of the core (slotOps): the
// kernel's swap table after phases I-III, with phase IV's per-cluster
// memcg table (docs/swap-table.md). A cluster in use has a swapTable whose
// entries (table_entry.go) say, per slot: free, cached (a folio's PFN),
// swapped out (a shadow), or bad; with the slot's count in their top bits
// and, past SwpTbCountMax-1, in the cluster's extendTable. There is no
// swap_map, no SWAP_HAS_CACHE and no count continuation.
//
// Synchronisation. Every write of an entry, of the extend table and of the
// memcg table is under the cluster lock; the swap cache lookup reads the
// entry without it. A swap-in inserts a locked folio into the entry
// (swapinReserve is swap_cache_add_folio): whoever inserts first reads the
// page, and a racer finds that folio and sleeps on its lock. A count goes
// from 0 to 1 only through folioDupSwap, with the folio locked in the swap
// cache: the locked folio is what pins a slot of count 0.
type tableSlots struct{ c *Core }

// swapTable is struct swap_table (mm/swap_table.h), one atomic long per
// slot of a cluster, with phase IV's memcg_table beside it (the
// swap_cgroup id of each slot). Allocated when the cluster comes into use
// (swap_cluster_alloc_table), dropped when it empties; entries are written
// under the cluster lock and read by the lockless lookup; memcg under the
// cluster lock.
type swapTable struct {
	entries [ClusterSize]ksync.Uint64
	memcg   [ClusterSize]uint16
}

// extendTable is ci->extend_table: the count of every slot whose entry
// count is SwpTbCountMax (0 for the others). Guarded by the cluster lock.
type extendTable [ClusterSize]uint32

// clean reports whether every entry is NULL and every memcg id 0: the
// state of a table that may be given to another cluster. For the audit.
func (tab *swapTable) clean(t *ksync.Task) bool {
	for i := range tab.entries {
		if tab.entries[i].Load(t) != swpTbNull || tab.memcg[i] != 0 {
			return false
		}
	}
	return true
}

// allocSwapTable is swap_cluster_alloc_table(): the CPU's spare table if
// it has one (what the kernel's table kmem_cache does for it), else a new
// one. It is clean.
func (si *SwapInfo) allocSwapTable(t *ksync.Task) *swapTable {
	if tab := si.core.pcp[t.CPU()].spareSwapTable.Swap(t, nil); tab != nil {
		return tab
	}
	return new(swapTable)
}

// entryOf is the entry of offset in its cluster's table tab.
func entryOf(tab *swapTable, offset uint64) *ksync.Uint64 {
	return &tab.entries[offset%ClusterSize]
}

// entryLocked reads the table of cluster ci (locked) and the entry of
// offset in it: a nil table and NULL when the cluster has none.
func entryLocked(t *ksync.Task, ci *cluster, offset uint64) (*swapTable, uint64) {
	ci.lock.AssertHeld(t)
	if tab := ci.tb.Load(t); tab != nil {
		return tab, entryOf(tab, offset).Load(t)
	}
	return nil, swpTbNull
}

// setupSlots marks the bad slots SWP_TB_BAD; their clusters get their
// tables at once (they are in use for good). Nothing else is allocated:
// a cluster gets its table when it comes into use.
func (ts tableSlots) setupSlots(si *SwapInfo, bad []uint64) {
	for _, b := range bad {
		ci := &si.clusters[b/ClusterSize]
		tab := ci.tb.Peek() // swapon: nobody else sees the device yet
		if tab == nil {
			tab = new(swapTable)
			ci.tb.Init(tab)
		}
		entryOf(tab, b).Init(swpTbBad)
	}
}

// releaseSlots has nothing of its own to free at swapoff: the tables and
// extend tables go with the clusters.
// releaseSlotsLocked and releaseSlots have nothing to free: the tables of
// a device emptied by try_to_unuse went with its clusters' last slots.
func (ts tableSlots) releaseSlotsLocked(t *ksync.Task, si *SwapInfo) {}

func (ts tableSlots) releaseSlots(t *ksync.Task, si *SwapInfo) {}

func (ts tableSlots) scanSlotLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) (ok, needReclaim bool) {
	switch _, tb := entryLocked(t, ci, off); {
	case swpTbIsNull(tb):
		return true, false
	case swpTbIsFolio(tb) && swpTbGetCount(tb) == 0:
		if si.core.VMSwapFull(t) {
			return true, true
		}
	}
	return false, false
}

func (ts tableSlots) slotFreeLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) bool {
	_, tb := entryLocked(t, ci, off)
	return swpTbIsNull(tb)
}

// allocSlotLocked is cluster_alloc_range() with __swap_cache_add_folio():
// the folio enters the swap cache in the allocator's critical section,
// with count 0 ("add folio to swap cache directly on allocation").
func (ts tableSlots) allocSlotLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64, folio *mem.Folio) {
	ci.lock.AssertHeld(t)
	tab := ci.tb.Load(t)
	if tab == nil {
		tab = si.allocSwapTable(t)
		ci.tb.Store(t, tab)
	}
	entryOf(tab, off).Store(t, folioToSwpTb(folio, 0))
	ts.cacheAdded(t, folio, mem.SwpEntryOf(si.typ, off))
}

// cacheAdded is the folio half of __swap_cache_add_folio(): the swap
// cache's reference, PG_swapcache, folio->swap.
func (ts tableSlots) cacheAdded(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry) {
	folio.RefAdd(t, 1)
	folio.Flags.Set(t, mem.PGSwapCache)
	folio.SetSwap(entry)
	ts.c.Stats.CacheAdd.Inc(t)
}

func (ts tableSlots) onlyCachedLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) bool {
	_, tb := entryLocked(t, ci, off)
	return swpTbIsFolio(tb) && swpTbGetCount(tb) == 0
}

// dropTablesLocked is swap_cluster_free_table(): the table goes to the
// CPU's spare (it is clean: every slot was freed), and the extend table,
// which is all zero by then, goes too.
func (ts tableSlots) dropTablesLocked(t *ksync.Task, si *SwapInfo, ci *cluster) {
	ci.lock.AssertHeld(t)
	tab := ci.tb.Load(t)
	ci.tb.Store(t, nil)
	ci.extend = nil
	if tab != nil {
		si.core.pcp[t.CPU()].spareSwapTable.CompareAndSwap(t, nil, tab)
	}
}

// countLocked is the full count of a countable entry tb of slot off:
// the entry's count, or the extend table's when it is saturated.
func countLocked(ci *cluster, off uint64, tb uint64) int {
	n := swpTbGetCount(tb)
	if n == SwpTbCountMax {
		return int(ci.extend[off%ClusterSize])
	}
	return n
}

// dupLocked is __swap_cluster_dup_entry(): one more reference to slot off
// of cluster ci (locked). A count reaching SwpTbCountMax moves into the
// extend table, allocated on the first such count (the kernel may drop
// the lock to allocate it; a Go allocation cannot fail).
func (ts tableSlots) dupLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) error {
	tab, tb := entryLocked(t, ci, off)
	entry := mem.SwpEntryOf(si.typ, off)
	if !swpTbIsCountable(tb) || swpTbIsNull(tb) {
		ts.c.reportBug(t, "swap_dup_entries: %v is not in use (%s)", entry, swpTbString(tb))
		return ErrNoEnt
	}
	i := off % ClusterSize
	switch n := swpTbGetCount(tb); {
	case n == 0 && !swpTbIsFolio(tb):
		// Only a locked swap cache folio pins a slot of count 0.
		ts.c.reportBug(t, "swap_dup_entries: %v has count 0 and no swap cache folio", entry)
		return ErrNoEnt
	case n < SwpTbCountMax-1:
		entryOf(tab, off).Store(t, swpTbSetCount(tb, n+1))
	case n == SwpTbCountMax-1:
		if ci.extend == nil {
			ci.extend = new(extendTable)
			ts.c.Stats.ExtendAdd.Inc(t)
		}
		ci.extend[i] = SwpTbCountMax
		entryOf(tab, off).Store(t, swpTbSetCount(tb, SwpTbCountMax))
	default:
		ci.extend[i]++
	}
	return nil
}

// putLocked is __swap_cluster_put_entry(): one reference fewer to slot off
// of cluster ci (locked). It never frees the slot; it returns the entry
// and the count left, or ok false (and a recorded bug) if the slot had no
// reference to drop.
func (ts tableSlots) putLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) (tb uint64, left int, ok bool) {
	tab, tb := entryLocked(t, ci, off)
	if !swpTbIsCountable(tb) || swpTbIsNull(tb) || swpTbGetCount(tb) == 0 {
		ts.c.reportBug(t, "swap_free: unused swap entry %v (%s)", mem.SwpEntryOf(si.typ, off), swpTbString(tb))
		return tb, 0, false
	}
	i := off % ClusterSize
	n := swpTbGetCount(tb)
	if n < SwpTbCountMax {
		tb = swpTbSetCount(tb, n-1)
		entryOf(tab, off).Store(t, tb)
		return tb, n - 1, true
	}
	ci.extend[i]--
	if left := int(ci.extend[i]); left >= SwpTbCountMax {
		return tb, left, true
	}
	// Back below SWP_TB_COUNT_MAX: the entry holds the count again.
	ci.extend[i] = 0
	tb = swpTbSetCount(tb, SwpTbCountMax-1)
	entryOf(tab, off).Store(t, tb)
	ts.extendTryFreeLocked(ci)
	return tb, SwpTbCountMax - 1, true
}

// extendTryFreeLocked is swap_extend_table_try_free(): drop the extend
// table once no slot's count is in it.
func (ts tableSlots) extendTryFreeLocked(ci *cluster) {
	for _, n := range ci.extend {
		if n != 0 {
			return
		}
	}
	ci.extend = nil
}

// freeSlotLocked is __swap_cluster_free_entry(): slot off of cluster idx
// (locked) has count 0 and no folio: it becomes NULL, and the shared half
// uncharges its cgroup and accounts it free.
func (ts tableSlots) freeSlotLocked(t *ksync.Task, si *SwapInfo, idx int32, off uint64) {
	ci := &si.clusters[idx]
	ci.lock.AssertHeld(t)
	tab := ci.tb.Load(t)
	entryOf(tab, off).Store(t, swpTbNull)
	i := off % ClusterSize
	memcgID := tab.memcg[i]
	tab.memcg[i] = 0
	si.slotFreedLocked(t, idx, off, memcgID)
}

// folioAllocSwap is folio_alloc_swap(): allocate a slot with the folio in
// its entry (count 0), then charge it; a failed charge takes the folio out
// of the swap cache again, which frees the slot.
func (ts tableSlots) folioAllocSwap(t *ksync.Task, folio *mem.Folio, charge func(mem.SwpEntry) (uint16, error)) (mem.SwpEntry, error) {
	c := ts.c
	entry := c.getSwapEntry(t, folio)
	if entry == 0 {
		return 0, ErrNoSwap
	}
	if charge != nil {
		id, err := charge(entry)
		if err != nil {
			c.SwapCacheDelFolio(t, folio)
			return 0, err
		}
		c.info[entry.Type()].Load(t).swapCgroupRecord(t, entry.Offset(), id)
	}
	c.Stats.SwapAlloc.Inc(t)
	return entry, nil
}

// folioDupSwap is folio_dup_swap(): the folio is locked and in the swap
// cache.
func (ts tableSlots) folioDupSwap(t *ksync.Task, folio *mem.Folio) error {
	entry := folio.Swap()
	si := ts.c.swapInfoOf(t, entry)
	ci := si.lockCluster(t, entry.Offset())
	defer ci.lock.Unlock(t)
	return ts.dupLocked(t, si, ci, entry.Offset())
}

// folioPutSwap is folio_put_swap(): the folio is locked and in the swap
// cache, and keeps the slot even at count 0.
func (ts tableSlots) folioPutSwap(t *ksync.Task, folio *mem.Folio) {
	entry := folio.Swap()
	si := ts.c.swapInfoOf(t, entry)
	ci := si.lockCluster(t, entry.Offset())
	if tb, _, ok := ts.putLocked(t, si, ci, entry.Offset()); ok && (!swpTbIsFolio(tb) || swpTbToPFN(tb) != folio.PFN()) {
		ts.c.reportBug(t, "folio_put_swap: %v is not in the swap cache at %v (%s)", folio, entry, swpTbString(tb))
	}
	ci.lock.Unlock(t)
}

// swapDupEntryDirect is swap_dup_entry_direct(): the caller's lock on the
// entry's holder (fork's PTLs) keeps the device and the count stable.
func (ts tableSlots) swapDupEntryDirect(t *ksync.Task, entry mem.SwpEntry) error {
	si := ts.c.swapInfoOf(t, entry)
	off := entry.Offset()
	if off >= si.max {
		return ErrBadEntry
	}
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	return ts.dupLocked(t, si, ci, off)
}

// swapPutEntriesDirect is swap_put_entries_direct() for one entry
// (swap_put_entries_cluster with reclaim_cache): drop the reference; a
// slot left at 0 is freed if no folio holds it, else its folio is
// reclaimed if it can be trylocked.
func (ts tableSlots) swapPutEntriesDirect(t *ksync.Task, entry mem.SwpEntry) {
	c := ts.c
	si := c.GetSwapDevice(t, entry)
	if si == nil {
		return
	}
	defer c.PutSwapDevice(t, si)
	off := entry.Offset()
	idx := int32(off / ClusterSize)
	ci := si.lockCluster(t, off)
	tb, left, ok := ts.putLocked(t, si, ci, off)
	needReclaim := false
	if ok && left == 0 {
		if swpTbIsFolio(tb) {
			needReclaim = true
		} else {
			ts.freeSlotLocked(t, si, idx, off)
		}
	}
	ci.lock.Unlock(t)
	if needReclaim {
		si.tryToReclaimSwap(t, off, ttrsUnmapped|ttrsFull)
	}
}

// swapCacheGetFolio is swap_cache_get_folio(): a lockless read of the
// entry (swap_table_get), then folio_try_get(). The table pointer and the
// entry are atomics; the cluster lock is not taken.
func (ts tableSlots) swapCacheGetFolio(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) *mem.Folio {
	off := entry.Offset()
	tab := si.clusters[off/ClusterSize].tb.Load(t)
	if tab == nil {
		return nil
	}
	tb := entryOf(tab, off).Load(t)
	if !swpTbIsFolio(tb) {
		return nil
	}
	f := ts.c.pool.Folio(swpTbToPFN(tb))
	if !f.TryGet(t) {
		return nil
	}
	return f
}

// swapCacheDelFolioLocked is __swap_cache_del_folio(): the entry becomes a
// shadow keeping its count, the folio leaves the swap cache, and a slot
// whose count is 0 is freed in the same critical section.
func (ts tableSlots) swapCacheDelFolioLocked(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) {
	off := entry.Offset()
	idx := int32(off / ClusterSize)
	ci := &si.clusters[idx]
	tab, tb := entryLocked(t, ci, off)
	if !swpTbIsFolio(tb) || swpTbToPFN(tb) != folio.PFN() {
		panic(fmt.Sprintf("swap: deleting %v from the swap cache at %v, whose entry is %s", folio, entry, swpTbString(tb)))
	}
	n := swpTbGetCount(tb)
	entryOf(tab, off).Store(t, shadowToSwpTb(n))
	folio.SetSwap(0)
	folio.Flags.Clear(t, mem.PGSwapCache)
	ts.c.Stats.CacheDel.Inc(t)
	if n == 0 {
		ts.freeSlotLocked(t, si, idx, off)
	}
}

// deleteIfOnlyCached is folio_free_swap()'s body: a folio whose slot has
// count 0 (folio_maybe_swapped() is false) leaves the swap cache, which
// frees the slot; it is marked dirty.
func (ts tableSlots) deleteIfOnlyCached(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) bool {
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	if _, tb := entryLocked(t, ci, off); !swpTbIsFolio(tb) || swpTbToPFN(tb) != folio.PFN() || swpTbGetCount(tb) != 0 {
		ci.lock.Unlock(t)
		return false
	}
	ts.swapCacheDelFolioLocked(t, si, folio, entry)
	ci.lock.Unlock(t)
	folio.RefSub(t, 1)
	folio.Flags.Set(t, mem.PGDirty)
	return true
}

// swapEntrySwapped is swap_entry_swapped(): the slot's count is not 0.
func (ts tableSlots) swapEntrySwapped(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) bool {
	return ts.swpSwapcount(t, si, entry) != 0
}

// swpSwapcount is swp_swapcount(): the count, the extend table's when the
// entry's is saturated; 0 for a free or bad slot.
func (ts tableSlots) swpSwapcount(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) int {
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	_, tb := entryLocked(t, ci, off)
	if !swpTbIsCountable(tb) {
		return 0
	}
	return countLocked(ci, off, tb)
}

// memcgRecord is __swap_cgroup_set() into the cluster's memcg table; the
// slot is in use, so the table exists.
func (ts tableSlots) memcgRecord(t *ksync.Task, si *SwapInfo, offset uint64, id uint16) {
	ci := si.lockCluster(t, offset)
	ci.tb.Load(t).memcg[offset%ClusterSize] = id
	ci.lock.Unlock(t)
}

func (ts tableSlots) memcgLookup(t *ksync.Task, si *SwapInfo, offset uint64) uint16 {
	ci := si.lockCluster(t, offset)
	defer ci.lock.Unlock(t)
	tab := ci.tb.Load(t)
	if tab == nil {
		return 0
	}
	return tab.memcg[offset%ClusterSize]
}

// swapinReserve is swap_cache_add_folio(): under the cluster lock, put the
// locked folio in the entry, keeping the count. ErrExist: a folio is
// there (the caller's lookup will find it and wait on its lock); ErrNoEnt:
// the count is 0, or the cluster has no table, or the slot is bad.
func (ts tableSlots) swapinReserve(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) error {
	// __folio_set_locked(): the folio is seen locked from the moment it
	// is in the table.
	folio.Lock(t)
	if err := ts.swapCacheAddFolio(t, si, folio, entry); err != nil {
		folio.Unlock(t)
		return err
	}
	return nil
}

// swapCacheAddFolio is swap_cache_add_folio() for a locked folio.
func (ts tableSlots) swapCacheAddFolio(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) error {
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	tab := ci.tb.Load(t)
	if tab == nil {
		return ErrNoEnt
	}
	e := entryOf(tab, off)
	tb := e.Load(t)
	switch {
	case swpTbIsFolio(tb):
		return ErrExist
	case !swpTbIsShadow(tb) || swpTbGetCount(tb) == 0:
		return ErrNoEnt
	}
	e.Store(t, folioToSwpTb(folio, swpTbGetCount(tb)))
	ts.cacheAdded(t, folio, entry)
	return nil
}

// swapinCommit has nothing left to do: swapinReserve put the folio in the
// swap cache already.
func (ts tableSlots) swapinCommit(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry) {}

// swapinCancel is __swap_cache_prepare_and_add()'s failed charge:
// swap_cache_del_folio().
func (ts tableSlots) swapinCancel(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) {
	ts.c.SwapCacheDelFolio(t, folio)
}

// swapinBackoff does nothing: ErrExist means another swap-in's folio is
// in the table, and the lookup that follows finds it; its lock is the
// wait.
func (ts tableSlots) swapinBackoff(t *ksync.Task) {}

// chooseSwapin: every swap-in goes through the swap cache; a synchronous
// device is read without readahead (swapin_sync).
func (ts tableSlots) chooseSwapin(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) SwapinPath {
	if si.Synchronous(t) {
		return SwapinSync
	}
	return SwapinReadahead
}
