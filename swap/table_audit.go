package swap

import (
	"fmt"

	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
)

// auditClusterLocked checks the table design's per-slot state of cluster
// idx (locked), and returns the slots in use (bad ones aside) and the
// slots the cluster's count should include (bad ones too):
//
//   - slot-accounting: a NULL entry has no cgroup id; every other entry is
//     a PFN, a shadow or bad; a saturated count (SwpTbCountMax) has its
//     count in the extend table, at least SwpTbCountMax, and no other slot
//     has one there; the extend table is kept only while a count is in it;
//     a free cluster keeps no table.
//   - swap-cache: a PFN entry names a folio that is in the swap cache for
//     this slot (PG_swapcache, folio->swap); a shadow entry has a count
//     (nothing pins a slot but a folio in its entry).
func (ts tableSlots) auditClusterLocked(t *ksync.Task, si *SwapInfo, idx int, add func(id invariant.ID, obj, format string, args ...any)) (inuse int64, count int) {
	ci := &si.clusters[idx]
	ci.lock.AssertHeld(t)
	cobj := func() string { return fmt.Sprintf("swap %d (%s) cluster %d", si.typ, si.name, idx) }
	tab := ci.tb.Load(t)
	if tab == nil {
		if ci.extend != nil {
			add(invariant.SlotAccounting, cobj(), "extend table without a swap table")
		}
		return 0, 0
	}
	start := uint64(idx) * ClusterSize
	end := min(start+ClusterSize, si.max)
	extended := 0
	for off := start; off < end; off++ {
		i := off % ClusterSize
		entry := mem.SwpEntryOf(si.typ, off)
		tb := entryOf(tab, off).Load(t)
		switch {
		case swpTbIsNull(tb):
			if tab.memcg[i] != 0 {
				add(invariant.SlotAccounting, slotName(entry), "free slot keeps cgroup id %d", tab.memcg[i])
			}
		case swpTbIsBad(tb):
			count++
		case swpTbIsFolio(tb) || swpTbIsShadow(tb):
			count++
			inuse++
			n := swpTbGetCount(tb)
			switch {
			case n == SwpTbCountMax && (ci.extend == nil || ci.extend[i] < SwpTbCountMax):
				var ext uint32
				if ci.extend != nil {
					ext = ci.extend[i]
				}
				add(invariant.SlotAccounting, slotName(entry), "saturated entry count, but the extend table holds %d", ext)
			case n == SwpTbCountMax:
				extended++
			case ci.extend != nil && ci.extend[i] != 0:
				add(invariant.SlotAccounting, slotName(entry), "entry count %d, but the extend table holds %d", n, ci.extend[i])
			}
			if swpTbIsShadow(tb) && n == 0 {
				add(invariant.SwapCache, slotName(entry), "swapped out with count 0 and no folio: nothing holds the slot")
			}
			if swpTbIsFolio(tb) {
				f := ts.c.pool.Folio(swpTbToPFN(tb))
				if !f.Test(t, mem.PGSwapCache) || f.Swap() != entry {
					add(invariant.SwapCache, slotName(entry), "entry holds %v, which has flags %s and swap %v", f, mem.FlagString(f.Flags.Load(t)), f.Swap())
				}
			}
		default:
			add(invariant.SlotAccounting, slotName(entry), "entry %s is no swap table entry", swpTbString(tb))
		}
	}
	if ci.extend != nil && extended == 0 {
		add(invariant.SlotAccounting, cobj(), "extend table kept with no count in it")
	}
	if ci.count == 0 {
		add(invariant.SlotAccounting, cobj(), "free cluster keeps its swap table")
	}
	return inuse, count
}

func (ts tableSlots) slotStatesLocked(t *ksync.Task, si *SwapInfo, idx int) []SlotState {
	ci := &si.clusters[idx]
	ci.lock.AssertHeld(t)
	tab := ci.tb.Load(t)
	if tab == nil {
		return nil
	}
	start := uint64(idx) * ClusterSize
	end := min(start+ClusterSize, si.max)
	var states []SlotState
	for off := start; off < end; off++ {
		tb := entryOf(tab, off).Load(t)
		if !swpTbIsFolio(tb) && !swpTbIsShadow(tb) {
			continue
		}
		s := SlotState{Entry: mem.SwpEntryOf(si.typ, off), Count: countLocked(ci, off, tb), MemcgID: tab.memcg[off%ClusterSize]}
		if swpTbIsFolio(tb) {
			s.HasCache = true
			s.Folio = ts.c.pool.Folio(swpTbToPFN(tb))
		}
		states = append(states, s)
	}
	return states
}
