package swap

import (
	"slices"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
)

// This file allocates swap slots: folio_alloc_swap() and the cluster
// allocator under it (swap_alloc_fast, swap_alloc_slow,
// cluster_alloc_swap_entry, alloc_swap_scan_cluster).

// clusterIsUsable is cluster_is_usable() for order 0: the allocator may
// take slots from a cluster that is free, nonfull, frag or isolated.
func clusterIsUsable(ci *cluster) bool { return ci.flags <= clusterFlagFrag }

// getSwapEntry allocates one slot for folio, or returns 0 when every
// device is full: the allocation half of folio_alloc_swap(). The slot
// holds SWAP_HAS_CACHE (classic) or the folio itself (table).
func (c *Core) getSwapEntry(t *ksync.Task, folio *mem.Folio) mem.SwpEntry {
	var entry mem.SwpEntry
	if c.nrSwapPages.Load(t) > 0 {
		pcp := &c.pcp[t.CPU()]
		pcp.lock.Lock(t)
		entry = c.swapAllocFast(t, pcp, folio)
		if entry == 0 {
			entry = c.swapAllocSlow(t, pcp, folio)
		}
		pcp.lock.Unlock(t)
	}
	if entry == 0 {
		c.Stats.AllocFail.Inc(t)
	}
	return entry
}

// swapAllocFast is swap_alloc_fast(): try the CPU's current cluster on its
// current device. pcp.lock is held.
func (c *Core) swapAllocFast(t *ksync.Task, pcp *pcpSlot, folio *mem.Folio) mem.SwpEntry {
	si, offset := pcp.si.Load(t), pcp.offset
	if si == nil || offset == 0 || !c.getSwapDeviceInfo(t, si) {
		return 0
	}
	defer c.putSwapDeviceInfo(t, si)
	idx := int32(offset / ClusterSize)
	ci := si.lockCluster(t, offset)
	if !clusterIsUsable(ci) {
		ci.lock.Unlock(t)
		return 0
	}
	if ci.count == 0 {
		offset = uint64(idx) * ClusterSize
	}
	if found := si.allocSwapScanCluster(t, idx, offset, folio, pcp); found != 0 {
		return mem.SwpEntryOf(si.typ, found)
	}
	return 0
}

// swapAllocSlow is swap_alloc_slow(): walk the available devices by
// priority, rotating each behind its equals, until one yields a slot.
// pcp.lock is held.
func (c *Core) swapAllocSlow(t *ksync.Task, pcp *pcpSlot, folio *mem.Folio) mem.SwpEntry {
	var tried [mem.MaxSwapfiles]bool
	for {
		c.availLock.Lock(t)
		var si *SwapInfo
		for _, s := range c.avail {
			if !tried[s.typ] {
				si = s
				break
			}
		}
		if si == nil {
			c.availLock.Unlock(t)
			return 0
		}
		tried[si.typ] = true
		c.requeueAvailLocked(t, si)
		c.availLock.Unlock(t)
		if c.getSwapDeviceInfo(t, si) {
			off := si.clusterAllocSwapEntry(t, folio, pcp)
			c.putSwapDeviceInfo(t, si)
			if off != 0 {
				return mem.SwpEntryOf(si.typ, off)
			}
		}
	}
}

// getSwapDeviceInfo is get_swap_device_info(): the allocator holds the
// device's si->users while it allocates on it, so that swapoff, which
// kills the reference and waits for it before it frees swap_map, cannot
// free the maps under the allocation; it fails for a device being
// swapped off.
//
// With the alloc-scanning fix reverted the allocator only checks, once,
// that the device is writable (get_swap_pages()'s SWP_WRITEOK check of
// v6.12, made under si->lock, which the allocation then drops), takes no
// reference, and clusterAllocRange does not check SWP_WRITEOK again: an
// allocation in flight when swapoff clears the flag takes its slot after
// try_to_unuse has emptied the device, or touches swap_map after swapoff
// freed it. That is the race of scenario swapoff-alloc (drawn in
// explore/testdata/scenarios/swapoff-alloc.txt).
func (c *Core) getSwapDeviceInfo(t *ksync.Task, si *SwapInfo) bool {
	if c.fixes.Get(fixes.AllocScanning) == fixes.AllocScanningNone {
		return si.flags.Load(t)&swpWriteOK != 0
	}
	return si.users.TryGetLive(t)
}

// putSwapDeviceInfo drops what getSwapDeviceInfo took.
func (c *Core) putSwapDeviceInfo(t *ksync.Task, si *SwapInfo) {
	if c.fixes.Get(fixes.AllocScanning) != fixes.AllocScanningNone {
		si.users.Put(t)
	}
}

// clusterAllocSwapEntry is cluster_alloc_swap_entry(): find a cluster with
// a free slot: a free cluster first, then nonfull ones, then frag ones.
func (si *SwapInfo) clusterAllocSwapEntry(t *ksync.Task, folio *mem.Folio, pcp *pcpSlot) uint64 {
	if idx := si.isolateLockCluster(t, &si.free); idx >= 0 {
		if found := si.allocSwapScanCluster(t, idx, uint64(idx)*ClusterSize, folio, pcp); found != 0 {
			return found
		}
	}
	if si.core.VMSwapFull(t) {
		si.swapReclaimFullClusters(t, false)
	}
	frags := 0
	for {
		idx := si.isolateLockCluster(t, &si.nonfull)
		if idx < 0 {
			break
		}
		if found := si.allocSwapScanCluster(t, idx, uint64(idx)*ClusterSize, folio, pcp); found != 0 {
			return found
		}
		// A cluster that failed is relocated to the frag list.
		frags++
	}
	si.lock.Lock(t)
	existing := si.fragNr
	si.lock.Unlock(t)
	for ; frags < existing; frags++ {
		// Rotate the frag list: its clusters may hold slots freed
		// lazily since they were put there.
		idx := si.isolateLockCluster(t, &si.frag)
		if idx < 0 {
			break
		}
		if found := si.allocSwapScanCluster(t, idx, uint64(idx)*ClusterSize, folio, pcp); found != 0 {
			return found
		}
	}
	return 0
}

// allocSwapScanCluster is alloc_swap_scan_cluster(): with cluster idx
// locked, take the first usable slot at or after offset, relocate and
// unlock the cluster, and remember where the next allocation on this CPU
// should look. It returns the slot, or 0.
func (si *SwapInfo) allocSwapScanCluster(t *ksync.Task, idx int32, offset uint64, folio *mem.Folio, pcp *pcpSlot) uint64 {
	si.traceClusters(t)
	ci := &si.clusters[idx]
	start := uint64(idx) * ClusterSize
	end := min(start+ClusterSize, si.max)
	var found, next uint64
	if int(ci.count)+1 <= ClusterSize {
		for ; offset < end; offset++ {
			ok, needReclaim := si.core.slots.scanSlotLocked(t, si, ci, offset)
			if !ok {
				continue
			}
			if needReclaim {
				ok = si.clusterReclaimSlot(t, ci, offset)
				// Reclaim dropped the lock; the cluster may
				// have been taken off for another use.
				if !clusterIsUsable(ci) {
					break
				}
				if !ok {
					continue
				}
			}
			if !si.clusterAllocRange(t, ci, offset, folio) {
				break
			}
			found = offset
			if ci.count < ClusterSize && offset+1 < end {
				next = offset + 1
			}
			break
		}
	}
	si.relocateCluster(t, idx)
	ci.lock.Unlock(t)
	pcp.si.Store(t, si)
	pcp.offset = next
	return found
}

// clusterReclaimSlot is cluster_reclaim_range() for one slot: drop the
// cluster lock, try to free the swap cache folio that holds the slot, and
// relock. It reports whether the slot is free now.
func (si *SwapInfo) clusterReclaimSlot(t *ksync.Task, ci *cluster, offset uint64) bool {
	ci.lock.Unlock(t)
	si.tryToReclaimSwap(t, offset, ttrsAnyway|ttrsDirect)
	ci.lock.Lock(t)
	return si.core.slots.slotFreeLocked(t, si, ci, offset)
}

// clusterAllocRange is cluster_alloc_range() for one slot: the design
// records the slot as folio's (allocSlotLocked). It fails on a device
// that swapoff has cleared SWP_WRITEOK on (commit 0ec8bc9e880e; not with
// the alloc-scanning fix reverted: see getSwapDeviceInfo).
func (si *SwapInfo) clusterAllocRange(t *ksync.Task, ci *cluster, offset uint64, folio *mem.Folio) bool {
	if si.flags.Load(t)&swpWriteOK == 0 && si.core.fixes.Get(fixes.AllocScanning) != fixes.AllocScanningNone {
		return false
	}
	si.core.slots.allocSlotLocked(t, si, ci, offset, folio)
	si.traceCountWrite(t, int32(offset/ClusterSize))
	ci.count++
	si.swapRangeAlloc(t)
	return true
}

// swapRangeAlloc is swap_range_alloc() for one slot: account it, and take
// a device that just became full off the available list.
func (si *SwapInfo) swapRangeAlloc(t *ksync.Task) {
	si.core.nrSwapPages.Add(t, -1)
	if uint64(si.inuse.Add(t, 1)) == si.pages {
		si.core.delFromAvail(t, si)
	}
}

// swapRangeFree is swap_range_free() for one slot: tell the device, and
// account the slot free again. The cluster lock is held.
func (si *SwapInfo) swapRangeFree(t *ksync.Task, offset uint64) {
	si.dev.Discard(t, offset)
	si.core.nrSwapPages.Add(t, 1)
	if uint64(si.inuse.Add(t, -1)) == si.pages-1 {
		si.core.addToAvail(t, si)
	}
}

// swapReclaimFullClusters is swap_reclaim_full_clusters(): free the swap
// cache folios that hold slots of full clusters and nothing else, so that
// a full device can allocate again.
func (si *SwapInfo) swapReclaimFullClusters(t *ksync.Task, force bool) {
	toScan := 1
	if force {
		toScan = int(uint64(si.inuse.Load(t)) / ClusterSize)
	}
	for {
		idx := si.isolateLockCluster(t, &si.full)
		if idx < 0 {
			return
		}
		si.traceClusters(t)
		ci := &si.clusters[idx]
		start := uint64(idx) * ClusterSize
		end := min(si.max, start+ClusterSize)
		toScan--
		for off := start; off < end; off++ {
			if si.core.slots.onlyCachedLocked(t, si, ci, off) {
				ci.lock.Unlock(t)
				si.tryToReclaimSwap(t, off, ttrsAnyway)
				ci.lock.Lock(t)
			}
		}
		// Nothing was freed: the cluster is still isolated.
		if ci.flags == clusterFlagNone {
			si.relocateCluster(t, idx)
		}
		ci.lock.Unlock(t)
		if toScan <= 0 {
			return
		}
	}
}

// VMSwapFull is vm_swap_full(): more than half of all swap is in use.
func (c *Core) VMSwapFull(t *ksync.Task) bool {
	return c.nrSwapPages.Load(t)*2 < c.totalSwapPages.Load(t)
}

// delFromAvail is del_from_avail_list(): the device became full or is
// being swapped off. The check is repeated under availLock so that a
// racing free that re-adds the device is not undone.
func (c *Core) delFromAvail(t *ksync.Task, si *SwapInfo) {
	c.availLock.Lock(t)
	if uint64(si.inuse.Load(t)) >= si.pages || si.flags.Load(t)&swpWriteOK == 0 {
		c.removeAvailLocked(t, si)
	}
	c.availLock.Unlock(t)
}

// addToAvail is add_to_avail_list(): the device has a free slot again.
// SWP_WRITEOK is checked under swap_avail_lock, which swapoff's clearing
// of it precedes its taking the device off the list: a free that races
// swapoff either sees the flag cleared or puts the device back before
// swapoff takes it off.
//
// With the avail-writeok fix reverted the free checks SWP_WRITEOK first
// (under si->lock in the kernel of the time, which swapoff did not hold
// while it took the device off the list) and adds the device after, and
// swapoff clears the flag only after taking the device off: the device
// can be put back in between and stay on the list after swapoff, the
// race of scenario swapoff-avail-readd (drawn in
// explore/testdata/scenarios/swapoff-avail-readd.txt).
func (c *Core) addToAvail(t *ksync.Task, si *SwapInfo) {
	if c.fixes.Get(fixes.AvailWriteOK) == fixes.AvailWriteOKNone {
		if si.flags.Load(t)&swpWriteOK != 0 {
			c.availLock.Lock(t)
			c.insertAvailLocked(t, si)
			c.availLock.Unlock(t)
		}
		return
	}
	c.availLock.Lock(t)
	if uint64(si.inuse.Load(t)) < si.pages && si.flags.Load(t)&swpWriteOK != 0 {
		c.insertAvailLocked(t, si)
	}
	c.availLock.Unlock(t)
}

// insertAvailLocked is plist_add(): after every device of higher or equal
// priority.
func (c *Core) insertAvailLocked(t *ksync.Task, si *SwapInfo) {
	c.availLock.AssertHeld(t)
	if !slices.Contains(c.avail, si) {
		c.avail = plistAdd(c.avail, si)
	}
}

// plistAdd is plist_add() on a list of devices sorted by priority,
// highest first: si goes after every device of higher or equal priority.
func plistAdd(l []*SwapInfo, si *SwapInfo) []*SwapInfo {
	i := 0
	for i < len(l) && l[i].prio >= si.prio {
		i++
	}
	return slices.Insert(l, i, si)
}

// removeAvailLocked is plist_del(); availLock is held.
func (c *Core) removeAvailLocked(t *ksync.Task, si *SwapInfo) {
	c.availLock.AssertHeld(t)
	for i, s := range c.avail {
		if s == si {
			c.avail = append(c.avail[:i], c.avail[i+1:]...)
			return
		}
	}
}

// requeueAvailLocked is plist_requeue(): move si behind the other devices
// of its priority, so that equal devices take turns.
func (c *Core) requeueAvailLocked(t *ksync.Task, si *SwapInfo) {
	c.availLock.AssertHeld(t)
	c.removeAvailLocked(t, si)
	c.insertAvailLocked(t, si)
}
