package pager

import (
	"time"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
)

// reclaimer is a reclaiming task's scratch: the isolated folios and a
// page buffer for write-outs.
type reclaimer struct {
	folios []*mem.Folio
	buf    []byte
}

func (p *Pager) newReclaimer() reclaimer {
	return reclaimer{buf: make([]byte, PageSize)}
}

// wakeKswapd is wakeup_kswapd(): free frames fell below the low
// watermark.
func (p *Pager) wakeKswapd(t *ksync.Task) {
	if p.cfg.Kswapd && p.pool.NrFree(t) < int64(p.cfg.Low) && p.kswapdWQ.Active(t) {
		p.kswapdWQ.WakeAll(t)
	}
}

// Kswapd is the background reclaimer (kswapd's balance_pgdat): asleep
// until free frames fall below the low watermark, then reclaiming until
// they reach the high one. Start runs it when Config.Kswapd is set.
func (p *Pager) Kswapd(t *ksync.Task) {
	rc := p.newReclaimer()
	for {
		p.kswapdWQ.Wait(t, func() bool {
			return p.stopping.Load(t) || p.pool.NrFree(t) < int64(p.cfg.Low)
		})
		if p.stopping.Load(t) {
			return
		}
		for p.pool.NrFree(t) < int64(p.cfg.High) && !p.stopping.Load(t) {
			if p.shrink(t, &rc, p.cfg.Batch) == 0 {
				// Everything isolated is busy (locked, being
				// faulted in): let the others run.
				ksync.ScheduleTimeout(t, 50*time.Microsecond)
			}
		}
	}
}

// Reclaim reclaims up to nr pages now, as a worker's direct reclaim
// does, and returns how many it freed.
func (p *Pager) Reclaim(t *ksync.Task, nr int) int {
	rc := p.newReclaimer()
	return p.shrink(t, &rc, nr)
}

// shrink is shrink_inactive_list() and shrink_folio_list(): isolate up
// to nr folios and try to evict each.
func (p *Pager) shrink(t *ksync.Task, rc *reclaimer, nr int) int {
	rc.folios = p.isolate(t, nr, rc.folios[:0])
	freed := 0
	for _, f := range rc.folios {
		if p.shrinkFolio(t, rc, f) {
			freed++
		}
	}
	clear(rc.folios)
	return freed
}

// shrinkFolio tries to evict one isolated folio, and reports whether its
// frame was freed. It holds reclaim's reference to f.
//
// A dirty page is write-protected before it is written out (fix
// pager-writeout); its dirty bit is cleared for the write-out
// (folio_clear_dirty_for_io) and checked again before the drop: a write
// meanwhile faults, sets the bit and is let through, and the page stays.
// Without the protection:
//
//	evictor                         thread T
//	clear dirty, read page P
//	write P to slot E
//	                                store to P: no fault, lands in P
//	dirty? no: drop P, pte = E
//	                                load P: swap-in of E !!! the store is lost
//
// A clean page whose slot copy is current (in the swap cache) is dropped
// without a write; a clean page with no slot is a zero fill that was
// never written, and goes back to none.
func (p *Pager) shrinkFolio(t *ksync.Task, rc *reclaimer, f *mem.Folio) bool {
	if !f.TryLock(t) {
		p.putback(t, f, false)
		return false
	}
	page := f.Index
	mine := presentPte(f.PFN())

	p.eventLock.RLock(t)
	p.lockPte(t, page)
	if p.pteGet(t, page) != mine {
		p.unlockPte(t, page)
		p.eventLock.RUnlock(t)
		p.freeUnmapped(t, f)
		return true
	}
	wrote := false
	if f.Test(t, mem.PGDirty) {
		wrote = true
		if p.cfg.Fixes.Get(fixes.PagerWriteout) != fixes.PagerWriteoutNone {
			if err := p.ops.WriteProtect(t, page, 1, true); err != nil {
				p.unlockPte(t, page)
				p.eventLock.RUnlock(t)
				if isAgain(err) {
					p.Stats.Again.Inc(t)
				} else if !isGone(err) {
					p.fail(t, err)
				}
				f.Unlock(t)
				p.putback(t, f, false)
				return false
			}
		}
		f.Flags.Clear(t, mem.PGDirty)
		f.Flags.Set(t, mem.PGWriteback)
		p.unlockPte(t, page)
		p.eventLock.RUnlock(t)

		ok := p.pageout(t, rc, f, page)
		f.Flags.ClearAndWake(t, mem.PGWriteback)
		if !ok {
			f.Flags.Set(t, mem.PGDirty)
			f.Unlock(t)
			p.putback(t, f, true)
			return false
		}
		p.eventLock.RLock(t)
		p.lockPte(t, page)
		if p.pteGet(t, page) != mine {
			p.unlockPte(t, page)
			p.eventLock.RUnlock(t)
			p.freeUnmapped(t, f)
			return true
		}
		if f.Test(t, mem.PGDirty) {
			// Written during the write-out: keep it
			// (__remove_mapping() finding it dirty again).
			p.unlockPte(t, page)
			p.eventLock.RUnlock(t)
			p.Stats.Redirtied.Inc(t)
			f.Unlock(t)
			p.putback(t, f, true)
			return false
		}
	}
	// The page is clean and the event lock and page lock are held: drop
	// it, and leave its slot (if any) to the pte.
	if err := p.ops.Drop(t, page, 1); err != nil {
		p.unlockPte(t, page)
		p.eventLock.RUnlock(t)
		if !isGone(err) {
			p.fail(t, err)
		}
		f.Unlock(t)
		p.putback(t, f, false)
		return false
	}
	cached := f.Test(t, mem.PGSwapCache)
	if cached {
		e := f.Swap()
		// try_to_unmap(): the pte takes a reference to the slot.
		if err := p.core.SwapDuplicate(t, e); err != nil {
			panic("pager: swap_duplicate of a swap cache slot: " + err.Error())
		}
		p.pteSet(t, page, swapPte(e))
		p.ptes[page].shadow = uint32(p.age.Add(t, 1))
		if !wrote {
			p.Stats.CleanDrops.Inc(t)
		}
	} else {
		p.pteSet(t, page, 0)
		p.Stats.ZeroDrops.Inc(t)
	}
	if t.Traced() {
		ksync.Note(t, "evicted page %d to %v", page, p.pteGet(t, page))
	}
	f.RemoveMap(t)
	p.unlockPte(t, page)
	p.eventLock.RUnlock(t)
	if cached {
		// __remove_mapping(): out of the swap cache; the slot keeps
		// the pte's reference.
		p.core.DeleteFromSwapCache(t, f)
	}
	f.Flags.Clear(t, mem.PGReferenced)
	f.Flags.Clear(t, mem.PGReadahead)
	f.Unlock(t)
	f.Put(t) // the pte's
	f.Put(t) // reclaim's: the frame is free
	p.Stats.Evicted.Inc(t)
	return true
}

// pageout writes a dirty page to its slot, allocating one if it has none
// (add_to_swap, then swap_writepage). It reports false when the page
// must stay: no slot free, or the device failed.
func (p *Pager) pageout(t *ksync.Task, rc *reclaimer, f *mem.Folio, page uint64) bool {
	if !f.Test(t, mem.PGSwapCache) {
		if _, err := p.core.FolioAllocSwap(t, f, nil); err != nil {
			return false
		}
	}
	e := f.Swap()
	si := p.core.GetSwapDevice(t, e)
	if si == nil {
		return false
	}
	defer p.core.PutSwapDevice(t, si)
	if err := p.ops.ReadPage(t, page, rc.buf); err != nil {
		if !isGone(err) {
			p.fail(t, err)
		}
		return false
	}
	if err := si.WritePage(t, e, rc.buf); err != nil {
		p.fail(t, err)
		return false
	}
	p.Stats.Written.Inc(t)
	return true
}

// freeUnmapped frees an isolated, locked folio whose page the process
// discarded (its pte no longer maps it): out of the swap cache, then the
// frame.
func (p *Pager) freeUnmapped(t *ksync.Task, f *mem.Folio) {
	if f.Test(t, mem.PGSwapCache) {
		p.core.FolioFreeSwap(t, f)
	}
	f.Flags.Clear(t, mem.PGDirty)
	f.Unlock(t)
	f.Put(t)
}
