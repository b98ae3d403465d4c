package swap

import (
	"fmt"
	"time"

	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
)

// classicSlots is the classic design's half of the core (slotOps): Linux
// v6.15's swap_map bytes (SWAP_HAS_CACHE, SWAP_MAP_MAX, count continuation:
// count.go) with v6.18's per-cluster table holding the swap cache folio and
// the swap cgroup id (swapcache.go). Its swap-in synchronisation is the
// SWAP_HAS_CACHE pin (swapcache_prepare), and do_swap_page() may bypass
// the swap cache on a synchronous device (seed 000).
type classicSlots struct{ c *Core }

func (cl classicSlots) setupSlots(si *SwapInfo, bad []uint64) {
	m := make([]uint8, si.max)
	for _, b := range bad {
		m[b] = SwapMapBad
	}
	si.swapMap = m
	si.cont = make([]contHead, (si.max+contPageSize-1)/contPageSize)
}

func (cl classicSlots) releaseSlotsLocked(t *ksync.Task, si *SwapInfo) {
	si.lock.AssertHeld(t)
	if t.Traced() {
		ksync.Access(t, ksync.OpFree, mapKey{si})
	}
	si.swapMap = nil
}

func (cl classicSlots) releaseSlots(t *ksync.Task, si *SwapInfo) {
	si.contLock.Lock(t)
	si.cont = nil
	si.contLock.Unlock(t)
}

func (cl classicSlots) scanSlotLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) (ok, needReclaim bool) {
	ci.lock.AssertHeld(t)
	si.traceMapRead(t, off)
	switch si.swapMap[off] {
	case 0:
		return true, false
	case SwapHasCache:
		if si.core.VMSwapFull(t) {
			return true, true
		}
	}
	return false, false
}

func (cl classicSlots) slotFreeLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) bool {
	ci.lock.AssertHeld(t)
	si.traceMapRead(t, off)
	return si.swapMap[off] == 0
}

// allocSlotLocked pins the slot with SWAP_HAS_CACHE; FolioAllocSwap adds
// the folio to the swap cache after the charge.
func (cl classicSlots) allocSlotLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64, folio *mem.Folio) {
	ci.lock.AssertHeld(t)
	if ci.table == nil {
		ci.table = si.allocClusterTable(t)
	}
	si.traceMapWrite(t, off)
	si.swapMap[off] = SwapHasCache
}

func (cl classicSlots) onlyCachedLocked(t *ksync.Task, si *SwapInfo, ci *cluster, off uint64) bool {
	ci.lock.AssertHeld(t)
	si.traceMapRead(t, off)
	return si.swapMap[off] == SwapHasCache
}

func (cl classicSlots) dropTablesLocked(t *ksync.Task, si *SwapInfo, ci *cluster) {
	ci.lock.AssertHeld(t)
	si.freeClusterTable(t, ci.table)
	ci.table = nil
}

func (cl classicSlots) folioAllocSwap(t *ksync.Task, folio *mem.Folio, charge func(mem.SwpEntry) (uint16, error)) (mem.SwpEntry, error) {
	c := cl.c
	entry := c.getSwapEntry(t, folio)
	if entry == 0 {
		return 0, ErrNoSwap
	}
	si := c.info[entry.Type()].Load(t)
	if charge != nil {
		id, err := charge(entry)
		if err != nil {
			c.putSwapEntry(t, si, entry, SwapHasCache)
			return 0, err
		}
		si.swapCgroupRecord(t, entry.Offset(), id)
	}
	if err := c.AddToSwapCache(t, folio, entry); err != nil {
		c.putSwapEntry(t, si, entry, SwapHasCache)
		return 0, err
	}
	c.Stats.SwapAlloc.Inc(t)
	return entry, nil
}

func (cl classicSlots) folioDupSwap(t *ksync.Task, folio *mem.Folio) error {
	return cl.c.SwapDuplicate(t, folio.Swap())
}

func (cl classicSlots) folioPutSwap(t *ksync.Task, folio *mem.Folio) {
	cl.c.SwapFree(t, folio.Swap())
}

func (cl classicSlots) swapDupEntryDirect(t *ksync.Task, entry mem.SwpEntry) error {
	return cl.c.SwapDuplicate(t, entry)
}

func (cl classicSlots) swapPutEntriesDirect(t *ksync.Task, entry mem.SwpEntry) {
	cl.c.FreeSwapAndCache(t, entry)
}

func (cl classicSlots) swapCacheGetFolio(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) *mem.Folio {
	return si.swapCacheLookup(t, entry.Offset())
}

func (cl classicSlots) swapCacheDelFolioLocked(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) {
	si.deleteFromSwapCacheLocked(t, folio, entry)
}

func (cl classicSlots) deleteIfOnlyCached(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) bool {
	return si.deleteIfOnlyCached(t, folio, entry)
}

// swapEntrySwapped is swap_entry_swapped(): __swap_count() of the map
// byte, SWAP_HAS_CACHE masked, is not 0 (a bad slot is never in a PTE).
// It is SwapCount, so that it opens the -V5a/-V5b get_swap_device()
// section and waits out a SWAP_MAP_LOCK as __swap_count() does.
func (cl classicSlots) swapEntrySwapped(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) bool {
	return cl.c.SwapCount(t, entry) != 0
}

func (cl classicSlots) swpSwapcount(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) int {
	off := entry.Offset()
	ci := si.lockClusterUnlocked(t, off)
	defer ci.lock.Unlock(t)
	return si.swapCountLocked(t, off)
}

func (cl classicSlots) memcgRecord(t *ksync.Task, si *SwapInfo, offset uint64, id uint16) {
	ci := si.lockCluster(t, offset)
	ci.table.memcg[offset%ClusterSize] = id
	ci.lock.Unlock(t)
}

func (cl classicSlots) memcgLookup(t *ksync.Task, si *SwapInfo, offset uint64) uint16 {
	ci := si.lockCluster(t, offset)
	defer ci.lock.Unlock(t)
	if ci.table == nil {
		return 0
	}
	return ci.table.memcg[offset%ClusterSize]
}

// swapinReserve is swapcache_prepare(): SWAP_HAS_CACHE pins the entry,
// then the folio, which nobody can see yet, is locked
// (__folio_set_locked); it enters the swap cache only at swapinCommit.
func (cl classicSlots) swapinReserve(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) error {
	if err := cl.c.SwapcachePrepare(t, entry); err != nil {
		return err
	}
	folio.Lock(t)
	return nil
}

// swapinCommit is add_to_swap_cache() under the pin.
func (cl classicSlots) swapinCommit(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry) {
	if err := cl.c.AddToSwapCache(t, folio, entry); err != nil {
		// We hold SWAP_HAS_CACHE: nobody else can have added one.
		panic("swap: add_to_swap_cache failed under our own pin: " + err.Error())
	}
}

// swapinCancel is put_swap_folio() of the pin (swapcache_clear), and the
// wake-up of any bypass fault waiting for it.
func (cl classicSlots) swapinCancel(t *ksync.Task, si *SwapInfo, folio *mem.Folio, entry mem.SwpEntry) {
	cl.c.SwapcacheClear(t, si, entry)
	cl.c.WakeSwapcacheWaiters(t)
}

// swapinBackoff is __read_swap_cache_async()'s
// schedule_timeout_uninterruptible(1): whoever holds the pin has no folio
// in the swap cache to wait on yet.
func (cl classicSlots) swapinBackoff(t *ksync.Task) {
	ksync.ScheduleTimeout(t, time.Millisecond) // one jiffy
}

// chooseSwapin is v6.15's do_swap_page(): skip the swap cache on an
// SWP_SYNCHRONOUS_IO device when only this PTE holds the entry.
func (cl classicSlots) chooseSwapin(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) SwapinPath {
	if si.Synchronous(t) && cl.c.SwapCount(t, entry) == 1 {
		return SwapinBypass
	}
	return SwapinReadahead
}

func (cl classicSlots) auditClusterLocked(t *ksync.Task, si *SwapInfo, idx int, add func(id invariant.ID, obj, format string, args ...any)) (inuse int64, count int) {
	ci := &si.clusters[idx]
	ci.lock.AssertHeld(t)
	start := uint64(idx) * ClusterSize
	end := min(start+ClusterSize, si.max)
	for off := start; off < end; off++ {
		m := si.swapMap[off]
		if m == 0 {
			if ci.table != nil && (ci.table.folios[off-start] != nil || ci.table.memcg[off-start] != 0) {
				add(invariant.SlotAccounting, fmt.Sprintf("slot %v", mem.SwpEntryOf(si.typ, off)), "free slot has swap cache or cgroup state")
			}
			continue
		}
		count++
		if m&^SwapHasCache != SwapMapBad {
			inuse++
		}
		for _, v := range si.auditSlotLocked(t, ci, off) {
			add(v.Invariant, v.Object, "%s", v.Problem)
		}
	}
	if ci.count == 0 && ci.table != nil {
		add(invariant.SlotAccounting, fmt.Sprintf("swap %d (%s) cluster %d", si.typ, si.name, idx), "free cluster keeps its swap table")
	}
	return inuse, count
}

func (cl classicSlots) slotStatesLocked(t *ksync.Task, si *SwapInfo, idx int) []SlotState {
	ci := &si.clusters[idx]
	ci.lock.AssertHeld(t)
	start := uint64(idx) * ClusterSize
	end := min(start+ClusterSize, si.max)
	var states []SlotState
	for off := start; off < end; off++ {
		m := si.swapMap[off]
		if m == 0 || m&^SwapHasCache == SwapMapBad {
			continue
		}
		s := SlotState{Entry: mem.SwpEntryOf(si.typ, off), Count: si.swapCountLocked(t, off), HasCache: m&SwapHasCache != 0}
		if ci.table != nil {
			s.Folio = ci.table.folios[off-start]
			s.MemcgID = ci.table.memcg[off-start]
		}
		states = append(states, s)
	}
	return states
}
