package swap

import (
	"fmt"
	"uswap/invariant"

	"uswap/ksync"
	"uswap/mem"
)

// Audit checks the swap core at quiescence: no task may be using it
// (docs/invariants.md).
//
//   - slot-accounting: a slot is free iff its state says so (classic: its
//     map byte is 0; table: its entry is NULL); inuse_pages and each
//     cluster's count equal the slots in use; each cluster is on the list
//     its count calls for, and on exactly one; nr_swap_pages and the
//     available list agree with the devices; the overflow of large counts
//     agrees with the slots (classic: continuation digits with
//     COUNT_CONTINUED; table: the extend table with the saturated entry
//     counts); no device reference is held and no get_swap_device()
//     section is open.
//   - swap-cache: classic: SWAP_HAS_CACHE is set iff the swap cache has a
//     folio for the slot; table: the entry holds a folio's PFN iff that
//     folio is in the swap cache for it, and no shadow entry has count 0;
//     in both, the folio says so (PGSwapCache, folio->swap).
//   - no-kernel-bug: every bug the core recorded (a free of an unused
//     entry).
//
// swap-count (counts equal references) needs the page tables and is
// checked by the mm layer's audit through ForEachSlot.
func (c *Core) Audit(t *ksync.Task) []invariant.Violation {
	var vs []invariant.Violation
	add := func(id invariant.ID, obj, format string, args ...any) {
		vs = append(vs, invariant.Newf(id, obj, format, args...))
	}
	c.bugsLock.Lock(t)
	for _, b := range c.bugs {
		add(invariant.NoKernelBug, "swap core", "recorded bug: %s", b)
	}
	c.bugsLock.Unlock(t)
	if n := c.preempt.Open(); n != 0 {
		add(invariant.SlotAccounting, "swap core", "%d get_swap_device() preempt-disabled sections open at quiescence", n)
	}
	if n := c.rcu.Readers(); n != 0 {
		add(invariant.SlotAccounting, "swap core", "%d get_swap_device() RCU-sched read-side sections open at quiescence", n)
	}

	var wantFree, wantTotal int64
	for typ := range c.info {
		si := c.info[typ].Load(t)
		if si == nil || si.flags.Load(t)&swpUsed == 0 {
			continue
		}
		if si.flags.Load(t)&swpWriteOK != 0 {
			wantFree += int64(si.pages) - si.inuse.Load(t)
			wantTotal += int64(si.pages)
		} else {
			// Being swapped off: its pages are taken away.
			wantFree -= si.inuse.Load(t)
		}
		vs = append(vs, si.audit(t)...)
	}
	if got := c.nrSwapPages.Load(t); got != wantFree {
		add(invariant.SlotAccounting, "swap core", "nr_swap_pages %d, devices have %d free slots", got, wantFree)
	}
	if got := c.totalSwapPages.Load(t); got != wantTotal {
		add(invariant.SlotAccounting, "swap core", "total_swap_pages %d, devices have %d slots", got, wantTotal)
	}
	for cpu := range c.pcp {
		if tab := c.pcp[cpu].spareTable.Load(t); tab != nil && *tab != (clusterTable{}) {
			add(invariant.SlotAccounting, fmt.Sprintf("CPU %d", cpu), "the spare swap table is not clean")
		}
		// flush_percpu_swap_cluster() after si->users drained: no CPU
		// keeps a swapped-off device as its current one (the kernel
		// reuses the swap_info_struct, and a stale offset would index
		// the next device's clusters).
		if si := c.pcp[cpu].si.Load(t); si != nil && (c.info[si.typ].Load(t) != si || si.flags.Load(t)&swpUsed == 0) {
			add(invariant.SlotAccounting, fmt.Sprintf("CPU %d", cpu), "the percpu cluster names %s, which is swapped off", si.name)
		}
		if tab := c.pcp[cpu].spareSwapTable.Load(t); tab != nil && !tab.clean(t) {
			add(invariant.SlotAccounting, fmt.Sprintf("CPU %d", cpu), "the spare swap table is not clean")
		}
	}
	c.availLock.Lock(t)
	seen := map[*SwapInfo]bool{}
	for i, si := range c.avail {
		if seen[si] {
			add(invariant.SlotAccounting, si.name, "on the available list twice")
		}
		if si.flags.Load(t)&swpWriteOK == 0 || c.info[si.typ].Load(t) != si {
			// get_swap_pages()'s "in list but !SWP_WRITEOK"; the
			// kernel reuses the swap_info_struct at the next swapon,
			// whose plist_add() then corrupts the list.
			add(invariant.SlotAccounting, si.name, "on the available list but not writable (swapped off, or being swapped off)")
		}
		seen[si] = true
		if i > 0 && c.avail[i-1].prio < si.prio {
			add(invariant.SlotAccounting, si.name, "available list out of priority order")
		}
	}
	c.availLock.Unlock(t)
	for typ := range c.info {
		si := c.info[typ].Load(t)
		if si == nil || si.flags.Load(t)&swpWriteOK == 0 {
			continue
		}
		full := uint64(si.inuse.Load(t)) >= si.pages
		if seen[si] == full {
			add(invariant.SlotAccounting, si.name, "on the available list: %v, but full: %v", seen[si], full)
		}
	}
	return vs
}

func (si *SwapInfo) audit(t *ksync.Task) []invariant.Violation {
	var vs []invariant.Violation
	dev := fmt.Sprintf("swap %d (%s)", si.typ, si.name)
	add := func(id invariant.ID, obj, format string, args ...any) {
		vs = append(vs, invariant.Newf(id, obj, format, args...))
	}
	if n := si.users.Count(); n != 0 && si.flags.Load(t)&swpWriteOK != 0 {
		add(invariant.SlotAccounting, dev, "%d device references held at quiescence", n)
	}
	// Which list each cluster is on, from the lists themselves.
	si.lock.Lock(t)
	onList := make([]uint8, len(si.clusters))
	for _, l := range []struct {
		flag uint8
		list *clusterList
	}{{clusterFlagFree, &si.free}, {clusterFlagNonfull, &si.nonfull}, {clusterFlagFrag, &si.frag}, {clusterFlagFull, &si.full}} {
		n := 0
		prev := int32(-1)
		for idx := l.list.head; idx >= 0; idx = si.clusters[idx].next {
			if onList[idx] != 0 {
				add(invariant.SlotAccounting, fmt.Sprintf("%s cluster %d", dev, idx), "on the %s list and the %s list", clusterFlagNames[onList[idx]], clusterFlagNames[l.flag])
				break
			}
			if si.clusters[idx].prev != prev {
				add(invariant.SlotAccounting, fmt.Sprintf("%s cluster %d", dev, idx), "broken back link on the %s list", clusterFlagNames[l.flag])
			}
			onList[idx] = l.flag
			prev = idx
			n++
		}
		if n != l.list.n {
			add(invariant.SlotAccounting, dev, "%s list has %d clusters, its count says %d", clusterFlagNames[l.flag], n, l.list.n)
		}
	}
	fragNr := si.fragNr
	si.lock.Unlock(t)

	var inuse int64
	frag := 0
	for idx := range si.clusters {
		ci := &si.clusters[idx]
		obj := func() string { return fmt.Sprintf("%s cluster %d", dev, idx) }
		ci.lock.Lock(t)
		start := uint64(idx) * ClusterSize
		end := min(start+ClusterSize, si.max)
		n, count := si.core.slots.auditClusterLocked(t, si, idx, add)
		inuse += n
		count += int(start + ClusterSize - end) // past the end of the device
		if count != int(ci.count) {
			add(invariant.SlotAccounting, obj(), "count %d, but %d slots are in use", ci.count, count)
		}
		want := clusterFlagNonfull
		switch ci.count {
		case 0:
			want = clusterFlagFree
		case ClusterSize:
			want = clusterFlagFull
		}
		switch {
		case ci.flags != onList[idx]:
			add(invariant.SlotAccounting, obj(), "flags say %s list, found on %s", clusterFlagNames[ci.flags], clusterFlagNames[onList[idx]])
		case ci.flags == clusterFlagNone:
			add(invariant.SlotAccounting, obj(), "isolated (on no list) at quiescence")
		case want == clusterFlagNonfull && ci.flags != clusterFlagNonfull && ci.flags != clusterFlagFrag,
			want != clusterFlagNonfull && ci.flags != want:
			add(invariant.SlotAccounting, obj(), "count %d but on the %s list", ci.count, clusterFlagNames[ci.flags])
		}
		if ci.flags == clusterFlagFrag {
			frag++
		}
		ci.lock.Unlock(t)
	}
	if frag != fragNr {
		add(invariant.SlotAccounting, dev, "frag_cluster_nr %d, %d clusters on the frag list", fragNr, frag)
	}
	if got := si.inuse.Load(t); got != inuse {
		add(invariant.SlotAccounting, dev, "inuse_pages %d, but %d slots are in use", got, inuse)
	}
	return vs
}

// auditSlotLocked checks one in-use slot whose cluster is locked.
func (si *SwapInfo) auditSlotLocked(t *ksync.Task, ci *cluster, off uint64) []invariant.Violation {
	ci.lock.AssertHeld(t)
	var vs []invariant.Violation
	entry := mem.SwpEntryOf(si.typ, off)
	m := si.swapMap[off]
	if m&^SwapHasCache == SwapMapBad {
		return nil
	}
	if m == SwapMapLock {
		return []invariant.Violation{invariant.Newf(invariant.SlotAccounting, slotName(entry), "SWAP_MAP_LOCK (map-lock's swap-in) held at quiescence")}
	}
	var folio *mem.Folio
	if ci.table != nil {
		folio = ci.table.folios[off%ClusterSize]
	} else {
		vs = append(vs, invariant.Newf(invariant.SlotAccounting, slotName(entry), "in use in a cluster with no swap table"))
	}
	if (m&SwapHasCache != 0) != (folio != nil) {
		vs = append(vs, invariant.Newf(invariant.SwapCache, slotName(entry), "SWAP_HAS_CACHE is %v but the swap cache holds %v", m&SwapHasCache != 0, folio))
	}
	if folio != nil {
		if !folio.Test(t, mem.PGSwapCache) || folio.Swap() != entry {
			vs = append(vs, invariant.Newf(invariant.SwapCache, slotName(entry), "%v is in the swap cache here but has flags %s and swap %v", folio, mem.FlagString(folio.Flags.Load(t)), folio.Swap()))
		}
	}
	if m&CountContinued != 0 {
		si.contLock.Lock(t)
		first := si.cont[off/contPageSize].next.Load(t)
		si.contLock.Unlock(t)
		if first == nil {
			vs = append(vs, invariant.Newf(invariant.SlotAccounting, slotName(entry), "COUNT_CONTINUED with no continuation page"))
		} else if si.swapCountLocked(t, off) <= SwapMapMax {
			vs = append(vs, invariant.Newf(invariant.SlotAccounting, slotName(entry), "COUNT_CONTINUED but the count is only %d", si.swapCountLocked(t, off)))
		}
	}
	return vs
}

// slotName names a slot in a violation, built only when one is reported.
func slotName(e mem.SwpEntry) string { return "slot " + e.String() }

// SlotState is one in-use slot, as ForEachSlot reports it.
type SlotState struct {
	Entry    mem.SwpEntry
	Count    int        // references (PTEs, shmem entries), continuation included
	HasCache bool       // SWAP_HAS_CACHE
	Folio    *mem.Folio // the swap cache folio, if any
	MemcgID  uint16     // swap_cgroup record
}

// ForEachSlot calls fn for every in-use slot of every swapped-on device,
// in device and offset order; for audits at quiescence.
func (c *Core) ForEachSlot(t *ksync.Task, fn func(SlotState)) {
	for typ := range c.info {
		si := c.info[typ].Load(t)
		if si == nil || si.flags.Load(t)&swpUsed == 0 || si.clusters == nil {
			continue
		}
		for idx := range si.clusters {
			ci := &si.clusters[idx]
			ci.lock.Lock(t)
			states := c.slots.slotStatesLocked(t, si, idx)
			ci.lock.Unlock(t)
			for _, s := range states {
				fn(s)
			}
		}
	}
}
