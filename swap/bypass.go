package swap

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
)

// This file is the swap core's side of two seed-000 variants
// (fixes.Swapcache) that the thread proposed and never posted: the
// count raised to 2 (swap-count) and the SWAP_MAP_LOCK map value
// (map-lock). Classic design only: both work on swap_map bytes.

// SwapMapLock is the thread's SWAP_MAP_LOCK: a map byte that stands for
// "a count of 1, taken by a swap-in that skips the swap cache". Its value
// is COUNT_CONTINUED|SWAP_MAP_BAD, which no count takes (SWAP_MAP_SHMEM
// had it until v6.14).
const SwapMapLock = CountContinued | SwapMapBad

// MapLockResult is what SwapMapTryLock did.
type MapLockResult uint8

const (
	// MapLockNo: the byte is not exactly 1 (a cache, a larger count, a
	// freed slot): the swap-in goes another way.
	MapLockNo MapLockResult = iota
	// MapLocked: the byte is SWAP_MAP_LOCK now, and ours.
	MapLocked
	// MapLockBusy: another swap-in held it; we spun until it let go.
	MapLockBusy
)

// SwapCountRaise is the swap-count variant's step, as the thread spells
// it: "1. Lock the cluster/swap lock; 2. Check if still have swap_count
// == 1, bail out if not; 3. Set it to 2" (__swap_duplicate's way, with
// the count check). swap_count() masks SWAP_HAS_CACHE, and so does this.
// It reports whether it raised the count.
func (c *Core) SwapCountRaise(t *ksync.Task, entry mem.SwpEntry) bool {
	sec, ok := c.enterSection(t, entry)
	if !ok {
		return false
	}
	defer c.exitSection(t, sec)
	si := sec.si
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	m := si.swapMap[off]
	if m&^SwapHasCache != 1 {
		return false
	}
	si.swapMap[off] = 2 | m&SwapHasCache
	return true
}

// SwapMapTryLock is the map-lock variant's step: under the cluster lock,
// a map byte of exactly 1 (one reference, no swap cache) becomes
// SwapMapLock. A byte that is already SwapMapLock is spun on until its
// holder lets go (MapLockBusy).
func (c *Core) SwapMapTryLock(t *ksync.Task, entry mem.SwpEntry) MapLockResult {
	sec, ok := c.enterSection(t, entry)
	if !ok {
		return MapLockNo
	}
	defer c.exitSection(t, sec)
	si := sec.si
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	switch si.swapMap[off] {
	case 1:
		si.swapMap[off] = SwapMapLock
		ci.lock.Unlock(t)
		return MapLocked
	case SwapMapLock:
		ci.lock.Unlock(t)
		si.lockClusterUnlocked(t, off).lock.Unlock(t)
		return MapLockBusy
	}
	ci.lock.Unlock(t)
	return MapLockNo
}

// SwapMapUnlock ends a SwapMapTryLock: with free the count of 1 goes too
// (the PTE that held it now maps the page) and the slot is freed;
// without, the byte is 1 again.
func (c *Core) SwapMapUnlock(t *ksync.Task, entry mem.SwpEntry, free bool) {
	sec, ok := c.enterSection(t, entry)
	if !ok {
		// A locked byte keeps the device in use: swapoff cannot have
		// finished.
		panic(fmt.Sprintf("swap: unlocking %v on a device that is gone", entry))
	}
	defer c.exitSection(t, sec)
	si := sec.si
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	if si.swapMap[off] != SwapMapLock {
		panic(fmt.Sprintf("swap: unlocking %v, whose map byte is %#x", entry, si.swapMap[off]))
	}
	si.swapMap[off] = 1
	if free {
		si.swapEntryPutLocked(t, int32(off/ClusterSize), off, 1)
	}
}

// lockClusterUnlocked locks the cluster of offset once its map byte is
// not SwapMapLock: everyone who meets the value spins (cpu_relax) until
// its holder lets go. With any other variant than map-lock the value
// never appears and this is lockCluster.
func (si *SwapInfo) lockClusterUnlocked(t *ksync.Task, offset uint64) *cluster {
	for {
		ci := si.lockCluster(t, offset)
		if si.swapMap[offset] != SwapMapLock {
			return ci
		}
		ci.lock.Unlock(t)
		ksync.CPURelax(t)
	}
}
