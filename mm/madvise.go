package mm

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
)

// MadvisePageout is madvise(addr, length, MADV_PAGEOUT) (mm/madvise.c,
// madvise_cold_or_pageout_pte_range() and reclaim_pages()): every folio
// mapped in the range and mapped only here is isolated from its LRU list
// and run through shrink_folio_list(), the path reclaim takes, so that
// it is written to swap and its PTEs become swap entries now. Folios
// that reclaim cannot take (locked, shared, under writeback, no free
// slot) stay resident, as in the kernel: it is advice. Pages that are
// not present are skipped.
//
// The kernel's reclaim_pages() passes ignore_references to
// shrink_folio_list(); uswap's shrinkFolio has no such argument, so the
// young bits of the PTEs walked here are cleared (with PG_referenced, as
// the kernel also does) before the folio is isolated: for a folio mapped
// only by this range, folio_check_references() then answers RECLAIM.
func (m *MM) MadvisePageout(t *ksync.Task, addr, length uint64) error {
	if addr&(mem.PageSize-1) != 0 || addr+length < addr {
		return fmt.Errorf("madvise(%#x, %d, MADV_PAGEOUT): %w", addr, length, ErrInval)
	}
	end := (addr + length + mem.PageSize - 1) &^ (mem.PageSize - 1)
	n := m.node
	var list []*mem.Folio
	m.mmapLock.RLock(t)
	if m.dead {
		m.mmapLock.RUnlock(t)
		return ErrExited
	}
	for _, v := range m.vmas {
		if v.end <= addr || v.start >= end {
			continue
		}
		s, e := max(v.start, addr), min(v.end, end)
		m.forEachTable(t, s, e, func(pt *pteTable, base uint64, lo, hi int) bool {
			for i := lo; i < hi; i++ {
				if f := n.pageoutPTE(t, pt, i); f != nil {
					list = append(list, f)
				}
			}
			return true
		})
	}
	m.mmapLock.RUnlock(t)
	if len(list) > 0 {
		n.ReclaimPages(t, list)
	}
	return nil
}

// pageoutPTE is madvise_cold_or_pageout_pte_range()'s body for one PTE:
// if it maps a folio that only this PTE maps, clear its young bit and
// PG_referenced and isolate the folio from its LRU list
// (folio_isolate_lru). It returns the isolated folio, holding the
// isolation reference, or nil.
func (n *Node) pageoutPTE(t *ksync.Task, pt *pteTable, i int) *mem.Folio {
	pt.ptl.Lock(t)
	p := pte(pt.ptes[i].Load(t))
	if !p.present() {
		pt.ptl.Unlock(t)
		return nil
	}
	f := n.pool.Folio(p.pfn())
	// folio_likely_mapped_shared(): leave shared folios alone.
	if f.MapCount(t) != 1 {
		pt.ptl.Unlock(t)
		return nil
	}
	if p&pteAccessed != 0 {
		pt.ptes[i].Store(t, uint64(p&^pteAccessed))
	}
	f.Flags.Clear(t, mem.PGReferenced)
	// The PTE's reference keeps the folio alive while we take ours.
	f.Get(t)
	pt.ptl.Unlock(t)
	if !n.isolateFolio(t, f) {
		f.Put(t)
		return nil
	}
	return f
}

// isolateFolio is folio_isolate_lru() for a folio the caller holds a
// reference on: take it off its LRU list if it is on one. That
// reference becomes the isolation reference.
func (n *Node) isolateFolio(t *ksync.Task, f *mem.Folio) bool {
	if !f.Test(t, mem.PGLRU) {
		return false
	}
	lv := n.lruvecOf(t, f.MemcgID)
	lv.lock.Lock(t)
	ok := f.Flags.TestAndClear(t, mem.PGLRU)
	if ok {
		lv.delLocked(t, f)
	}
	lv.lock.Unlock(t)
	return ok
}

// ReclaimPages is reclaim_pages(): run isolated folios (PGLRU clear, one
// isolation reference each) through shrink_folio_list(); the ones it
// cannot free go back to their LRU lists. It returns how many frames
// were freed.
func (n *Node) ReclaimPages(t *ksync.Task, folios []*mem.Folio) int {
	return n.shrinkFolioList(t, folios)
}

// MadviseDontneed is madvise(addr, length, MADV_DONTNEED)
// (madvise_dontneed_single_vma(), zap_page_range_single()): the range's
// pages are dropped, and the next access to an anonymous page finds
// zeroes. It holds mmap_lock only for reading, so it runs beside faults
// on the same pages: its zap clears each PTE and frees a swap entry with
// free_swap_and_cache() under the PTE table's PTL, where seed 000's
// variants meet it.
func (m *MM) MadviseDontneed(t *ksync.Task, addr, length uint64) error {
	if addr&(mem.PageSize-1) != 0 || addr+length < addr {
		return fmt.Errorf("madvise(%#x, %d, MADV_DONTNEED): %w", addr, length, ErrInval)
	}
	end := (addr + length + mem.PageSize - 1) &^ (mem.PageSize - 1)
	m.mmapLock.RLock(t)
	defer m.mmapLock.RUnlock(t)
	if m.dead {
		return ErrExited
	}
	for _, v := range m.vmas {
		if v.end <= addr || v.start >= end {
			continue
		}
		m.zapRange(t, max(v.start, addr), min(v.end, end))
	}
	return nil
}
