package swap

import (
	"fmt"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
)

// This file is the classic design's swap counts: swap_duplicate(),
// swapcache_prepare(), swap_free(), swapcache_clear(),
// free_swap_and_cache(), the count continuation pages, and the reading of
// counts (swp_swapcount()). The table design's are in table.go.
//
// Every function here needs the entry's device to stay swapped on: the
// caller holds a GetSwapDevice reference (percpu-ref), or the function
// opens a get_swap_device() section itself where the -V5a/-V5b patches
// put one, or something else holds swapoff back (the PTE under its PTL,
// a locked swap cache folio, a SWAP_HAS_CACHE pin), or nothing does:
// the races of seed 003 (see device.go).

// swapInfoOf is swp_swap_info(): the device of entry, with no reference
// taken and no check that it is still swapped on.
func (c *Core) swapInfoOf(t *ksync.Task, entry mem.SwpEntry) *SwapInfo {
	si := c.info[entry.Type()].Load(t)
	if si == nil {
		panic(fmt.Sprintf("swap: %v names no swap device", entry))
	}
	return si
}

// swapDuplicateLocked is __swap_duplicate() for one slot, with its cluster
// locked: add usage (1, or SwapHasCache to pin the entry).
func (si *SwapInfo) swapDuplicateLocked(t *ksync.Task, offset uint64, usage uint8) error {
	si.assertClusterLocked(t, offset)
	si.traceMapRead(t, offset)
	count := si.swapMap[offset]
	// swapin_readahead() does not check that an entry is valid: it
	// may be bad.
	if count&^SwapHasCache == SwapMapBad {
		return ErrNoEnt
	}
	hasCache := count & SwapHasCache
	count &^= SwapHasCache
	switch {
	case count == 0 && hasCache == 0:
		return ErrNoEnt
	case usage == SwapHasCache:
		if hasCache != 0 {
			return ErrExist
		}
		hasCache = SwapHasCache
	case count&^CountContinued > SwapMapMax:
		return ErrInval
	case count&^CountContinued < SwapMapMax:
		count += usage
	case si.swapCountContinued(t, offset, count):
		count = CountContinued
	default:
		return errNeedCont
	}
	si.traceMapWrite(t, offset)
	si.swapMap[offset] = count | hasCache
	return nil
}

// swapDuplicate is __swap_duplicate(), inside a get_swap_device()
// section for the variants that have one (-V5a/-V5b put it here): a
// device that is no longer valid gives ErrNoEnt, as a freed entry does.
func (c *Core) swapDuplicate(t *ksync.Task, entry mem.SwpEntry, usage uint8) error {
	sec, ok := c.enterSection(t, entry)
	if !ok {
		return ErrNoEnt
	}
	defer c.exitSection(t, sec)
	si := sec.si
	off := entry.Offset()
	if off >= si.max {
		return ErrBadEntry
	}
	ci := si.lockClusterUnlocked(t, off)
	err := si.swapDuplicateLocked(t, off, usage)
	ci.lock.Unlock(t)
	return err
}

// SwapDuplicate is swap_duplicate(): one more reference to entry (a PTE
// copied by fork, or installed by try_to_unmap), adding a count
// continuation page when the count passes SwapMapMax.
func (c *Core) SwapDuplicate(t *ksync.Task, entry mem.SwpEntry) error {
	for {
		err := c.swapDuplicate(t, entry, 1)
		if err != errNeedCont {
			return err
		}
		c.addSwapCountContinuation(t, entry)
	}
}

// SwapcachePrepare is swapcache_prepare(): set SWAP_HAS_CACHE, which pins
// the entry (nobody else can add it to the swap cache or free the slot
// under us). ErrExist means someone else holds the pin or a swap cache
// folio; ErrNoEnt means the entry was freed.
func (c *Core) SwapcachePrepare(t *ksync.Task, entry mem.SwpEntry) error {
	return c.swapDuplicate(t, entry, SwapHasCache)
}

// addSwapCountContinuation is add_swap_count_continuation(): give the
// entry's map page one more continuation page, unless a racer already did
// or the count no longer needs it. The first page marks the map page
// (set_page_private(head, SWP_CONTINUED)) before it is linked.
//
// With the cont-lock fix reverted the adders are serialized (by si->lock
// in the kernel of the time; here by contLock, uswap's si->lock ranking
// below the cluster locks), but swapCountContinued walks without the
// lock: see there.
func (c *Core) addSwapCountContinuation(t *ksync.Task, entry mem.SwpEntry) {
	sec, ok := c.enterSection(t, entry)
	if !ok {
		return // swapped off meanwhile: the caller's retry sees it
	}
	defer c.exitSection(t, sec)
	si := sec.si
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	si.traceMapRead(t, off)
	count := si.swapMap[off] &^ SwapHasCache
	if count&^CountContinued != SwapMapMax {
		return
	}
	si.contLock.Lock(t)
	defer si.contLock.Unlock(t)
	head, in := &si.cont[off/contPageSize], off%contPageSize
	if head.private.Load(t) != swpContinued {
		if count&CountContinued != 0 {
			panic(fmt.Sprintf("swap: slot %d:%d is COUNT_CONTINUED with no continuation page", si.typ, off))
		}
		head.private.Store(t, swpContinued)
	}
	link := &head.next
	for p := link.Load(t); p != nil; p = link.Load(t) {
		// A racer added a page, or a digit has room: nothing to add.
		if count&CountContinued == 0 {
			return
		}
		count = p.digits[in]
		if count&^CountContinued != SwapContMax {
			return
		}
		link = &p.next
	}
	// list_add_tail(); the kernel does not zero the page (a digit is
	// set before it is read), Go does.
	link.Store(t, new(contPage))
	c.Stats.ContAdded.Inc(t)
}

// contDigits is the walk of a map page's continuation list for one map
// byte: its digit on each page, lowest first.
func contDigits(t *ksync.Task, head *contHead, in uint64) []*uint8 {
	var d []*uint8
	for p := head.next.Load(t); p != nil; p = p.next.Load(t) {
		d = append(d, &p.digits[in])
	}
	return d
}

// swapCountContinued is swap_count_continued(): carry an increment into,
// or borrow a decrement from, the continuation digits of offset, whose
// map count (SwapHasCache masked) is count. The cluster lock is held.
// Incrementing, it reports false when a new continuation page is needed;
// decrementing, whether any continuation digit remains non-zero.
//
// The walk is under contLock (commit 2628bd6fc052): the list is shared
// with the slots of the map page's other clusters, whose adders link
// pages into it under their own cluster locks. With the cont-lock fix
// reverted the walk takes no lock, and a carry that finds the map page
// marked but its list still empty (an adder between set_page_private()
// and list_add_tail()) takes list_next_entry(head), the map page itself,
// for its first continuation page: it writes its digit into its own map
// byte, which the caller then overwrites with COUNT_CONTINUED. The count
// is lost: the race of scenario cont-lock-carry (drawn in
// explore/testdata/scenarios/cont-lock-carry.txt).
func (si *SwapInfo) swapCountContinued(t *ksync.Task, offset uint64, count uint8) bool {
	head, in := &si.cont[offset/contPageSize], offset%contPageSize
	if head.private.Load(t) != swpContinued {
		if count&CountContinued != 0 {
			panic(fmt.Sprintf("swap: slot %d:%d is COUNT_CONTINUED with no continuation page", si.typ, offset))
		}
		return false // add_swap_count_continuation() first
	}
	if si.core.fixes.Get(fixes.ContLock) != fixes.ContLockNone {
		si.contLock.Lock(t)
		defer si.contLock.Unlock(t)
	}
	pages := contDigits(t, head, in)
	if len(pages) == 0 {
		// list_next_entry(head) is head: the map page's own byte.
		pages = []*uint8{&si.swapMap[offset]}
	}
	i := 0
	switch count {
	case SwapMapMax: // the first carry out of the map byte
		*pages[0] = 1
		return true
	case SwapMapMax | CountContinued: // increment: add 1 to 999
		for *pages[i] == SwapContMax|CountContinued {
			i++
			if i == len(pages) {
				panic(fmt.Sprintf("swap: slot %d:%d continuation runs off its last page", si.typ, offset))
			}
		}
		if *pages[i] == SwapContMax {
			i++
			if i == len(pages) {
				return false
			}
			*pages[i] = 0
		}
		*pages[i]++
		for j := i - 1; j >= 0; j-- {
			*pages[j] = CountContinued
		}
		return true
	case CountContinued: // decrement: take 1 from 1000
		for *pages[i] == CountContinued {
			i++
			if i == len(pages) {
				panic(fmt.Sprintf("swap: slot %d:%d continuation runs off its last page", si.typ, offset))
			}
		}
		if *pages[i] == 0 {
			panic(fmt.Sprintf("swap: slot %d:%d continuation digit underflow", si.typ, offset))
		}
		*pages[i]--
		carry := uint8(CountContinued)
		if *pages[i] == 0 {
			carry = 0
		}
		for j := i - 1; j >= 0; j-- {
			*pages[j] = SwapContMax | carry
			carry = CountContinued
		}
		return carry == CountContinued
	}
	panic(fmt.Sprintf("swap: slot %d:%d swap_count_continued with count %#x", si.typ, offset, count))
}

// swapEntryPutLocked is swap_entry_put_locked(): drop usage (one
// reference, or SwapHasCache) from a slot whose cluster (index idx) is
// locked, and free the slot when nothing is left. It returns what is left.
func (si *SwapInfo) swapEntryPutLocked(t *ksync.Task, idx int32, offset uint64, usage uint8) uint8 {
	si.assertClusterLocked(t, offset)
	si.traceMapRead(t, offset)
	count := si.swapMap[offset]
	hasCache := count & SwapHasCache
	count &^= SwapHasCache
	if usage == SwapHasCache {
		if hasCache == 0 {
			panic(fmt.Sprintf("swap: slot %d:%d drops SWAP_HAS_CACHE it does not have (map %#x)", si.typ, offset, si.swapMap[offset]))
		}
		hasCache = 0
	} else if count&^CountContinued <= SwapMapMax {
		if count == CountContinued {
			if si.swapCountContinued(t, offset, count) {
				count = SwapMapMax | CountContinued
			} else {
				count = SwapMapMax
			}
		} else {
			count--
		}
	}
	left := count | hasCache
	if left != 0 {
		si.traceMapWrite(t, offset)
		si.swapMap[offset] = left
	} else {
		si.swapEntriesFree(t, idx, offset)
	}
	return left
}

// swapEntriesFree is swap_entries_free() for one slot whose map byte is
// down to nothing: free it, uncharge its cgroup, and move its cluster.
func (si *SwapInfo) swapEntriesFree(t *ksync.Task, idx int32, offset uint64) {
	si.traceClusters(t)
	ci := &si.clusters[idx]
	si.traceMapWrite(t, offset)
	si.swapMap[offset] = 0
	var memcgID uint16
	if tab := ci.table; tab != nil {
		i := offset % ClusterSize
		si.traceTable(t, ksync.OpRead, offset)
		if f := tab.folios[i]; f != nil {
			panic(fmt.Sprintf("swap: freeing slot %d:%d with %v still in the swap cache", si.typ, offset, f))
		}
		memcgID, tab.memcg[i] = tab.memcg[i], 0
	}
	si.slotFreedLocked(t, idx, offset, memcgID)
}

// slotFreedLocked is the half of swap_entries_free() both designs share,
// once the design has cleared the slot's state: uncharge the cgroup the
// slot was recorded for, account the slot free (swap_range_free), and
// move the cluster, which lets its tables go if it is empty.
func (si *SwapInfo) slotFreedLocked(t *ksync.Task, idx int32, offset uint64, memcgID uint16) {
	ci := &si.clusters[idx]
	si.traceCountWrite(t, idx)
	ci.count--
	if memcgID != 0 {
		if acc := si.core.accounting; acc != nil {
			acc.UnchargeSwap(t, memcgID, 1)
		}
	}
	si.swapRangeFree(t, offset)
	si.core.Stats.SwapFree.Inc(t)
	if ci.count == 0 {
		si.freeCluster(t, idx)
	} else {
		si.partialFreeCluster(t, idx)
	}
}

// swapEntryPut is swap_entry_put(): lock the slot's cluster and drop usage.
// An entry that is free or past the device's end is a bug of the caller
// (the kernel's "Unused swap offset entry"): it is recorded and ignored.
func (c *Core) swapEntryPut(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry, usage uint8) uint8 {
	off := entry.Offset()
	if off >= si.max {
		c.reportBug(t, "swap_free: bad offset %v (device max %d)", entry, si.max)
		return 0
	}
	ci := si.lockClusterUnlocked(t, off)
	defer ci.lock.Unlock(t)
	si.traceMapRead(t, off)
	m := si.swapMap[off]
	if m == 0 || m&^SwapHasCache == SwapMapBad || (usage != SwapHasCache && m&^SwapHasCache == 0) {
		c.reportBug(t, "swap_free: unused swap entry %v (map %#x, dropping %#x)", entry, m, usage)
		return m
	}
	return si.swapEntryPutLocked(t, int32(off/ClusterSize), off, usage)
}

// putSwapEntry drops usage from an entry the caller owns.
func (c *Core) putSwapEntry(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry, usage uint8) {
	c.swapEntryPut(t, si, entry, usage)
}

// SwapFree is swap_free(): drop one reference to entry.
func (c *Core) SwapFree(t *ksync.Task, entry mem.SwpEntry) {
	c.swapEntryPut(t, c.swapInfoOf(t, entry), entry, 1)
}

// SwapcacheClear is swapcache_clear(): drop the pin that SwapcachePrepare
// took, freeing the slot if nothing else holds it. The caller then wakes
// the swap cache waiters (WakeSwapcacheWaiters).
func (c *Core) SwapcacheClear(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) {
	c.swapEntryPut(t, si, entry, SwapHasCache)
}

// PutSwapFolio is put_swap_folio(): drop the swap cache's SWAP_HAS_CACHE
// for a folio that left (or never entered) the swap cache.
func (c *Core) PutSwapFolio(t *ksync.Task, entry mem.SwpEntry) {
	c.swapEntryPut(t, c.swapInfoOf(t, entry), entry, SwapHasCache)
}

// FreeSwapAndCache is free_swap_and_cache(): a PTE or shmem index entry
// holding entry is gone. Drop its reference and, if only the swap cache
// holds the slot now, try to free the cache folio too; that try only
// trylocks the folio, so a folio that someone has locked (a racing
// swap-in) stays in the swap cache, and reclaim frees it later.
//
// It holds the device from the start (get_swap_device(), commit
// 82b1c07a0af6): swapoff could otherwise free swap_map and the clusters
// between the count's drop and the reclaim of the folio (scenario
// swapoff-free, drawn in explore/testdata/scenarios/swapoff-free.txt).
func (c *Core) FreeSwapAndCache(t *ksync.Task, entry mem.SwpEntry) {
	si := c.GetSwapDevice(t, entry)
	if si == nil {
		return
	}
	defer c.PutSwapDevice(t, si)
	left := c.swapEntryPut(t, si, entry, 1)
	if left == SwapHasCache {
		si.tryToReclaimSwap(t, entry.Offset(), ttrsUnmapped|ttrsFull)
	}
}

// FreeSwapAndCacheLocking is free_swap_and_cache() as the lock-in-undo
// variant of fixes.ShmemSwapin has shmem_undo_range() call it (Joonsoo
// Kim's proposal in seed 004's thread): a folio that a racing swap-in has
// locked is waited for, not only tried, so that it is deleted here
// rather than left stranded. It sleeps: the caller holds no spinlock.
//
// It cannot wait for what is not there yet: a swap-in that pinned the
// entry (swapcache_prepare) and has not added its folio to the swap cache
// is not found, and its folio may still be left behind.
func (c *Core) FreeSwapAndCacheLocking(t *ksync.Task, entry mem.SwpEntry) {
	si := c.GetSwapDevice(t, entry)
	if si == nil {
		return
	}
	defer c.PutSwapDevice(t, si)
	if c.swapEntryPut(t, si, entry, 1) != SwapHasCache {
		return
	}
	folio := c.SwapCacheGetFolio(t, entry)
	if folio == nil {
		return
	}
	defer folio.Put(t)
	folio.Lock(t)
	defer folio.Unlock(t)
	if folio.Test(t, mem.PGSwapCache) && folio.Swap() == entry {
		folio.Flags.WaitOnBit(t, mem.PGWriteback)
		c.FolioFreeSwap(t, folio)
	}
}

// SwapCount is __swap_count(): the map count of entry without
// continuation (SWAP_HAS_CACHE masked; COUNT_CONTINUED may be set).
//
// In a get_swap_device() section for the variants that have one; a
// device that is no longer valid counts 0, as the patch's did.
func (c *Core) SwapCount(t *ksync.Task, entry mem.SwpEntry) int {
	sec, ok := c.enterSection(t, entry)
	if !ok {
		return 0
	}
	defer c.exitSection(t, sec)
	si := sec.si
	off := entry.Offset()
	ci := si.lockClusterUnlocked(t, off)
	si.traceMapRead(t, off)
	m := si.swapMap[off]
	ci.lock.Unlock(t)
	return int(m &^ SwapHasCache)
}

// swapCountLocked is the full count of a slot whose cluster is locked.
func (si *SwapInfo) swapCountLocked(t *ksync.Task, offset uint64) int {
	si.assertClusterLocked(t, offset)
	si.traceMapRead(t, offset)
	m := si.swapMap[offset] &^ SwapHasCache
	if m == SwapMapBad {
		return 0
	}
	if m&CountContinued == 0 {
		return int(m)
	}
	count := int(m &^ CountContinued)
	si.contLock.Lock(t)
	defer si.contLock.Unlock(t)
	n := SwapMapMax + 1
	for _, p := range contDigits(t, &si.cont[offset/contPageSize], offset%contPageSize) {
		d := *p
		count += int(d&^CountContinued) * n
		n *= SwapContMax + 1
		if d&CountContinued == 0 {
			break
		}
	}
	return count
}

// reportBug records a condition the kernel would pr_err() about: a double
// free, an unused entry. The audit reports each one.
func (c *Core) reportBug(t *ksync.Task, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.bugsLock.Lock(t)
	c.bugs = append(c.bugs, msg)
	c.bugsLock.Unlock(t)
	if t.Traced() {
		ksync.Note(t, "BUG: %s", msg)
	}
}
