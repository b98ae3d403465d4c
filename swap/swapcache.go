package swap

import (
	"fmt"
	"time"

	"uswap/ksync"
	"uswap/mem"
)

// This file is the classic design's swap cache (mm/swap_state.c): folios
// indexed by swap entry, kept in the per-cluster table under the cluster
// lock, as the v6.18 swap table does. A folio in the swap cache has
// PGSwapCache set, folio->swap = its entry, one reference held by the
// cache, and its slot's map byte has SWAP_HAS_CACHE. The parts both
// designs share are at the end: __try_to_reclaim_swap and the device I/O.

// AddToSwapCache (classic) is add_to_swap_cache(): the folio is locked, not in the
// swap cache, and the caller holds SWAP_HAS_CACHE on entry (from
// FolioAllocSwap or SwapcachePrepare).
func (c *Core) AddToSwapCache(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry) error {
	si := c.swapInfoOf(t, entry)
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	si.traceMapRead(t, off)
	if si.swapMap[off]&SwapHasCache == 0 || ci.table == nil {
		panic(fmt.Sprintf("swap: add_to_swap_cache(%v, %v) without SWAP_HAS_CACHE (map %#x)", folio, entry, si.swapMap[off]))
	}
	si.traceTable(t, ksync.OpRead, off)
	slot := &ci.table.folios[off%ClusterSize]
	if *slot != nil {
		return ErrExist
	}
	folio.RefAdd(t, 1)
	folio.Flags.Set(t, mem.PGSwapCache)
	folio.SetSwap(entry)
	si.traceTable(t, ksync.OpWrite, off)
	*slot = folio
	c.Stats.CacheAdd.Inc(t)
	return nil
}

// deleteFromSwapCacheLocked is __delete_from_swap_cache() followed by
// put_swap_folio(), with the slot's cluster locked and the folio locked.
func (si *SwapInfo) deleteFromSwapCacheLocked(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry) {
	off := entry.Offset()
	si.traceClusters(t)
	ci := &si.clusters[off/ClusterSize]
	ci.lock.AssertHeld(t)
	folio.AssertLocked(t)
	si.traceTable(t, ksync.OpWrite, off)
	slot := &ci.table.folios[off%ClusterSize]
	if *slot != folio {
		panic(fmt.Sprintf("swap: deleting %v from the swap cache at %v, which holds %v", folio, entry, *slot))
	}
	*slot = nil
	if since, ok := si.clearStrayLocked(t, ci, off, folio); ok {
		si.core.Stats.StrayFreed.Inc(t)
		si.core.Stats.StrayLifetime.Add(t, uint64(ksync.Now(t)-since))
	}
	folio.SetSwap(0)
	folio.Flags.Clear(t, mem.PGSwapCache)
	si.core.Stats.CacheDel.Inc(t)
	si.swapEntryPutLocked(t, int32(off/ClusterSize), off, SwapHasCache)
}

// swapCacheLookup is find_get_page() on the swap address space (classic):
// the folio cached at offset, with a reference taken, or nil. A folio
// whose refcount reclaim has frozen counts as absent. No get_swap_device()
// section: SwapCacheGetFolio opens one for the variants that have one;
// its other callers are on their own (__try_to_reclaim_swap was, until
// 82b1c07a0af6).
func (si *SwapInfo) swapCacheLookup(t *ksync.Task, off uint64) *mem.Folio {
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	if ci.table == nil {
		return nil
	}
	si.traceTable(t, ksync.OpRead, off)
	f := ci.table.folios[off%ClusterSize]
	if f != nil && !f.TryGet(t) {
		return nil
	}
	return f
}

// deleteIfOnlyCached (classic) deletes a locked swap cache folio whose slot nothing
// but the swap cache holds (no PTE or shmem entry refers to it and no pin
// is taken), freeing the slot, and marks the folio dirty: its only copy is
// in memory now. It reports whether it did.
func (si *SwapInfo) deleteIfOnlyCached(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry) bool {
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	si.traceMapRead(t, off)
	if si.swapMap[off] != SwapHasCache {
		ci.lock.Unlock(t)
		return false
	}
	si.deleteFromSwapCacheLocked(t, folio, entry)
	ci.lock.Unlock(t)
	folio.RefSub(t, 1)
	folio.Flags.Set(t, mem.PGDirty)
	return true
}

// folioSwapcacheFreeable is folio_swapcache_freeable().
func folioSwapcacheFreeable(t *ksync.Task, folio *mem.Folio) bool {
	fl := folio.Flags.Load(t)
	return fl&(1<<mem.PGSwapCache) != 0 && fl&(1<<mem.PGWriteback) == 0
}

// __try_to_reclaim_swap() flags.
const (
	ttrsAnyway   = 1 << iota // reclaim the entry anyway if possible
	ttrsUnmapped             // if no PTE maps the folio
	ttrsFull                 // if swap is getting full
	ttrsDirect               // free the slot directly
)

// tryToReclaimSwap is __try_to_reclaim_swap(): free the swap cache folio of
// a slot that only the swap cache holds. The folio is only trylocked:
// callers may hold other folio locks. It reports whether it freed it.
func (si *SwapInfo) tryToReclaimSwap(t *ksync.Task, offset uint64, flags int) bool {
	c := si.core
	entry := mem.SwpEntryOf(si.typ, offset)
	// find_get_page(swap_address_space(entry), offset) (table:
	// swap_cache_get_folio()): the address space is found through the
	// entry's type, as swapInfoOf does, with no get_swap_device()
	// section.
	folio := c.slots.swapCacheGetFolio(t, c.swapInfoOf(t, entry), entry)
	if folio == nil {
		return false
	}
	defer folio.Put(t)
	if !folio.TryLock(t) {
		return false
	}
	defer folio.Unlock(t)
	// The folio may have left the swap cache before we locked it.
	if !folio.Test(t, mem.PGSwapCache) || folio.Swap() != entry {
		return false
	}
	need := flags&ttrsAnyway != 0 ||
		(flags&ttrsUnmapped != 0 && !folio.Mapped(t)) ||
		(flags&ttrsFull != 0 && c.VMSwapFull(t))
	if !need || !folioSwapcacheFreeable(t, folio) {
		return false
	}
	return c.slots.deleteIfOnlyCached(t, si, folio, entry)
}

// WaitSwapcache is the back-off of do_swap_page() when SwapcachePrepare
// fails on the bypass path (seed 000, classic design only): sleep on
// swapcache_wq for one tick or until SwapcacheClear's caller wakes it.
func (c *Core) WaitSwapcache(t *ksync.Task, pinned func() bool) {
	c.swapcacheWQ.WaitTimeout(t, func() bool { return !pinned() }, time.Millisecond)
}

// WakeSwapcacheWaiters wakes swapcache_wq after a SwapcacheClear (classic
// design only).
func (c *Core) WakeSwapcacheWaiters(t *ksync.Task) {
	if c.swapcacheWQ.Active(t) {
		c.swapcacheWQ.WakeAll(t)
	}
}

// ReadPage reads the page of entry from its device (swap_read_folio's
// I/O): the caller holds a device reference.
func (si *SwapInfo) ReadPage(t *ksync.Task, entry mem.SwpEntry, dst []byte) error {
	if err := si.dev.ReadPage(t, entry.Offset(), dst); err != nil {
		si.core.Stats.ReadErrors.Inc(t)
		return fmt.Errorf("swap-in of %v from %s: %w", entry, si.name, err)
	}
	si.core.Stats.PswpIn.Inc(t)
	return nil
}

// WritePage writes the page of entry to its device (swap_writepage's
// I/O).
func (si *SwapInfo) WritePage(t *ksync.Task, entry mem.SwpEntry, src []byte) error {
	if err := si.dev.WritePage(t, entry.Offset(), src); err != nil {
		return fmt.Errorf("swap-out of %v to %s: %w", entry, si.name, err)
	}
	si.core.Stats.PswpOut.Inc(t)
	return nil
}
