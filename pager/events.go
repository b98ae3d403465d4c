package pager

import (
	"uswap/ksync"
	"uswap/mem"
)

// discardLocked applies a REMOVE (MADV_DONTNEED, MADV_REMOVE) or UNMAP
// (munmap) event of [start, end): the pages' contents are gone, as
// zap_pte_range() leaves them: a present page loses its mapping (its
// folio is freed, or left to reclaim if the swap cache still holds it),
// a swapped-out page's slot is freed (free_swap_and_cache()). Unmapped
// pages become gone; removed ones none, so that they read as zeros. The
// caller holds the event lock for writing, which excludes every holder
// of a page lock.
func (p *Pager) discardLocked(t *ksync.Task, start, end uint64, unmap bool) {
	first, last, ok := p.pageRange(start, end)
	if !ok {
		return
	}
	to := pteVal(0)
	if unmap {
		to = gonePte
	}
	for page := first; page < last; page++ {
		v := p.pteGet(t, page)
		switch v.kind() {
		case kindPresent:
			p.pteSet(t, page, to)
			f := p.pool.Folio(v.pfn())
			f.RemoveMap(t)
			// A clean page keeps its slot in the swap cache: free both
			// now if nobody holds the folio (an evictor or a worker
			// that does sees the pte change and frees it), rather
			// than leave the frame to reclaim as zap_pte_range() does.
			if f.Test(t, mem.PGSwapCache) && f.TryLock(t) {
				p.core.FolioFreeSwap(t, f)
				f.Flags.Clear(t, mem.PGDirty)
				f.Unlock(t)
			}
			f.Put(t)
			p.Stats.Removed.Inc(t)
		case kindSwap:
			p.pteSet(t, page, to)
			p.core.FreeSwapAndCache(t, v.entry())
			p.Stats.Removed.Inc(t)
		case kindNone:
			p.pteSet(t, page, to)
		case kindGone:
			if v == poisonPte {
				p.pteSet(t, page, to)
			}
		}
		if t.Traced() {
			ksync.Note(t, "discard page %d: %v", page, v)
		}
	}
	// The region's memory is a shared mapping of the pager's memfd:
	// MADV_DONTNEED there only unmaps it. Drop it, so that the process
	// reads zeros as it would from anonymous memory, and munmap frees it.
	if err := p.ops.Drop(t, first, last-first); err != nil && !isGone(err) {
		p.fail(t, err)
	}
}

// pageRange turns an address range into the pages of the region it
// covers.
func (p *Pager) pageRange(start, end uint64) (first, last uint64, ok bool) {
	base := p.ops.Page(0)
	lim := p.ops.Page(p.cfg.Pages)
	start = max(start, base)
	end = min(end, lim)
	if start >= end {
		return 0, 0, false
	}
	first = (start - base) / PageSize
	last = (end - base + PageSize - 1) / PageSize
	return first, last, true
}
