package mm

import (
	"uswap/ksync"
	"uswap/mem"
)

// zapRange is zap_pte_range() over [start, end): clear every PTE, moving
// the dirty bit of a present one to its folio and dropping its map count
// and reference, and dropping the swap count of a swap PTE with
// swap_put_entries_direct() (classic: free_swap_and_cache()), which only
// trylocks the swap cache folio: a folio locked by a racing swap-in stays
// in the swap cache, stranded, and reclaim frees it later. mmapLock is
// held for writing.
func (m *MM) zapRange(t *ksync.Task, start, end uint64) {
	m.forEachTable(t, start, end, func(pt *pteTable, base uint64, lo, hi int) bool {
		pt.ptl.Lock(t)
		for i := lo; i < hi; i++ {
			p := pte(pt.ptes[i].Load(t))
			if p.none() {
				continue
			}
			pt.ptes[i].Store(t, 0)
			switch {
			case p.present():
				m.zapFolioLocked(t, pt, m.node.pool.Folio(p.pfn()), p)
			case p.isSwap():
				m.node.core.SwapPutEntriesDirect(t, pteToSwpEntry(p))
			}
		}
		pt.ptl.Unlock(t)
		ksync.CondResched(t)
		return true
	})
}

// zapFolioLocked drops a present PTE's hold on folio; the PTE is already
// cleared and its PTL held. Like free_swap_cache() in the TLB batch, a
// swap-cache folio that nothing maps any more loses its slot if the
// folio can be trylocked and no swap PTE holds the slot.
func (m *MM) zapFolioLocked(t *ksync.Task, pt *pteTable, folio *mem.Folio, p pte) {
	pt.ptl.AssertHeld(t)
	if p&pteDirty != 0 {
		folio.Flags.Set(t, mem.PGDirty)
	}
	if folio.RemoveMap(t) == 0 && folio.Test(t, mem.PGSwapCache) && folio.TryLock(t) {
		m.node.core.FolioFreeSwap(t, folio)
		folio.Unlock(t)
	}
	folio.Put(t)
}
