package mm

import (
	"uswap/ksync"
	"uswap/mem"
)

// doAnonymousPage is do_anonymous_page(): a fault on a PTE that maps
// nothing gets a fresh zeroed frame, charged to the address space's
// cgroup, mapped writable (the kernel maps the shared zero page on a
// read fault; here every first touch gets its own frame, which keeps the
// read path free of a special case). mmapLock is held for reading.
func (m *MM) doAnonymousPage(t *ksync.Task, v *vma, pt *pteTable, i int, addr uint64) error {
	folio, err := m.node.allocCharged(t, m.memcg)
	if err != nil {
		m.node.Stat.OOM.Inc(t)
		return err
	}
	clear(folio.Data())
	folio.Flags.Set(t, mem.PGSwapBacked)
	folio.Flags.Set(t, mem.PGUptodate)
	// folio_add_new_anon_rmap(): the folio is ours alone until the PTE
	// is set.
	folio.Mapping, folio.Index = v.anon, addr>>PageShift
	if !m.mapNewPTE(t, v, pt, i, folio, true) {
		folio.Put(t) // a racing fault got there first
	}
	return nil
}

// mapNewPTE is the tail of a fault that maps a page where nothing was
// mapped (do_anonymous_page's set_pte_at, finish_fault): under the PTL,
// unless a racing fault filled the PTE first, take a map count of folio
// and set the PTE young, with write permission (and dirty) if v is
// writable; a newly allocated folio (newFolio) also goes on its LRU list
// (folio_add_lru_vma). The caller's reference on folio becomes the PTE's.
// It reports whether it mapped the folio.
func (m *MM) mapNewPTE(t *ksync.Task, v *vma, pt *pteTable, i int, folio *mem.Folio, newFolio bool) bool {
	pt.ptl.Lock(t)
	defer pt.ptl.Unlock(t)
	if !pte(pt.ptes[i].Load(t)).none() {
		return false
	}
	flags := pteAccessed
	if v.prot&ProtWrite != 0 {
		flags |= pteWrite | pteDirty
	}
	pt.setLocked(t, i, folio, flags)
	if newFolio {
		m.node.folioAddLRU(t, folio)
	}
	return true
}

// doWPPage is do_wp_page(): a write to a present, write-protected PTE of
// a writable private mapping. If the folio is exclusive to this PTE
// (wp_can_reuse_anon_folio: its only reference is this PTE's, once a
// swap-cache copy whose slot nobody else holds is dropped), reuse it;
// otherwise copy it (wp_page_copy). mmapLock is held for reading.
func (m *MM) doWPPage(t *ksync.Task, v *vma, pt *pteTable, i int, addr uint64, orig pte) error {
	pt.ptl.Lock(t)
	if pte(pt.ptes[i].Load(t)) != orig {
		pt.ptl.Unlock(t)
		return nil
	}
	old := m.node.pool.Folio(orig.pfn())
	if m.canReuseLocked(t, pt, old) {
		pt.ptes[i].Store(t, uint64(orig|pteWrite|pteDirty|pteAccessed))
		pt.ptl.Unlock(t)
		m.node.Stat.PgReuse.Inc(t)
		return nil
	}
	// wp_page_copy(): keep the old folio alive while we copy it.
	old.Get(t)
	pt.ptl.Unlock(t)
	defer old.Put(t)

	folio, err := m.node.allocCharged(t, m.memcg)
	if err != nil {
		m.node.Stat.OOM.Inc(t)
		return err
	}
	// The old folio is mapped read-only everywhere and we hold a
	// reference, so nobody can reuse (write) it while we copy.
	copy(folio.Data(), old.Data())
	folio.Flags.Set(t, mem.PGSwapBacked)
	folio.Flags.Set(t, mem.PGUptodate)
	folio.Mapping, folio.Index = v.anon, addr>>PageShift

	pt.ptl.Lock(t)
	if pte(pt.ptes[i].Load(t)) != orig {
		pt.ptl.Unlock(t)
		folio.Put(t)
		return nil
	}
	pt.setLocked(t, i, folio, pteWrite|pteDirty|pteAccessed)
	m.node.folioAddLRU(t, folio)
	// The old PTE's hold on the old folio goes (our own reference keeps
	// it alive until the deferred Put).
	if orig&pteDirty != 0 {
		old.Flags.Set(t, mem.PGDirty)
	}
	old.RemoveMap(t)
	old.RefSub(t, 1)
	pt.ptl.Unlock(t)
	m.node.Stat.CowFault.Inc(t)
	return nil
}

// canReuseLocked is wp_can_reuse_anon_folio(): the PTL is held and the PTE
// maps folio. The folio can be written in place if this PTE's reference
// is the only one, after dropping its swap slot (folio_free_swap) when
// it is in the swap cache and no swap PTE shares the slot.
func (m *MM) canReuseLocked(t *ksync.Task, pt *pteTable, folio *mem.Folio) bool {
	pt.ptl.AssertHeld(t)
	swapcache := int32(0)
	if folio.Test(t, mem.PGSwapCache) {
		swapcache = 1
	}
	if folio.RefCount(t) > 1+swapcache {
		return false
	}
	if !folio.TryLock(t) {
		return false
	}
	if folio.Test(t, mem.PGSwapCache) {
		m.node.core.FolioFreeSwap(t, folio)
	}
	ok := folio.RefCount(t) == 1
	folio.Unlock(t)
	return ok
}
