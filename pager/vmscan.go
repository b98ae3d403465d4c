package pager

import (
	"cmp"
	"slices"
	"time"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
)

// reclaimer is a reclaiming task's scratch: the isolated folios, those
// ready to drop, and a page buffer for write-outs.
type reclaimer struct {
	folios  []*mem.Folio
	ready   []*mem.Folio
	marked  []*mem.Folio // dropFolios' scratch
	dropped []*mem.Folio
	buf     []byte
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
// to nr folios, write out the dirty ones, and drop those that stayed
// clean, in runs of consecutive pages (one hole punched per run).
func (p *Pager) shrink(t *ksync.Task, rc *reclaimer, nr int) int {
	rc.folios = p.isolate(t, nr, rc.folios[:0])
	rc.ready = rc.ready[:0]
	freed := 0
	for _, f := range rc.folios {
		switch p.prepareFolio(t, rc, f) {
		case shrinkFreed:
			freed++
		case shrinkReady:
			rc.ready = append(rc.ready, f)
		}
	}
	slices.SortFunc(rc.ready, func(a, b *mem.Folio) int { return cmp.Compare(a.Index, b.Index) })
	freed += p.dropFolios(t, rc, rc.ready)
	clear(rc.folios)
	clear(rc.ready)
	return freed
}

// What prepareFolio did with a folio.
const (
	shrinkKept  = iota // put back on the LRU
	shrinkFreed        // its page was gone: freed
	shrinkReady        // clean and locked: to drop
)

// prepareFolio makes an isolated folio ready to drop: locked, its page
// still mapping it, clean. A dirty page is write-protected before it is
// written out (fix pager-writeout), and its dirty bit cleared for the
// write-out (folio_clear_dirty_for_io); dropFolios checks the bit again
// under the page lock: a write meanwhile faults, sets it and is let
// through, and the page stays. Without the protection:
//
//	evictor                         thread T
//	clear dirty, read page P
//	write P to slot E
//	                                store to P: no fault, lands in P
//	dirty? no: drop P, pte = E
//	                                load P: swap-in of E !!! the store is lost
//
// A clean page whose slot copy is current (in the swap cache) needs no
// write.
func (p *Pager) prepareFolio(t *ksync.Task, rc *reclaimer, f *mem.Folio) int {
	if !f.TryLock(t) {
		p.putback(t, f, false)
		return shrinkKept
	}
	page := f.Index
	mine := presentPte(f.PFN())
	p.eventLock.RLock(t)
	p.lockPte(t, page)
	if p.pteGet(t, page) != mine {
		p.unlockPte(t, page)
		p.eventLock.RUnlock(t)
		p.freeUnmapped(t, f)
		return shrinkFreed
	}
	if !f.Test(t, mem.PGDirty) {
		p.unlockPte(t, page)
		p.eventLock.RUnlock(t)
		return shrinkReady
	}
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
			return shrinkKept
		}
	}
	f.Flags.Clear(t, mem.PGDirty)
	f.Flags.Set(t, mem.PGWriteback)
	p.unlockPte(t, page)
	p.eventLock.RUnlock(t)

	ok := p.pageout(t, rc, f, page)
	f.Flags.ClearAndWake(t, mem.PGWriteback)
	if ok {
		f.Flags.Set(t, mem.PGReclaim) // written this round
	} else {
		f.Flags.Set(t, mem.PGDirty)
		f.Unlock(t)
		p.putback(t, f, true)
		return shrinkKept
	}
	return shrinkReady
}

// dropFolios drops the pages of fs (locked, clean when prepared, sorted
// by page), in runs of consecutive pages, under the event lock: each
// page's lock is taken in turn to check its pte and dirty bit once more
// (__remove_mapping()'s check) and, if it may go, to mark its pte
// dropping; each run of marked pages is dropped with one hole punched;
// then each marked pte takes its slot (try_to_unmap()'s swap_duplicate)
// or becomes none (a zero fill never written), and the folios leave the
// swap cache and are freed. A fault on a page marked dropping is tried
// again after; a page written before its mark stays; one the process
// discarded is freed. It returns the frames freed.
func (p *Pager) dropFolios(t *ksync.Task, rc *reclaimer, fs []*mem.Folio) int {
	freed := 0
	marked := rc.marked[:0]
	p.eventLock.RLock(t)
	for _, f := range fs {
		mine := presentPte(f.PFN())
		p.lockPte(t, f.Index)
		cur := p.pteGet(t, f.Index)
		ok := cur == mine && !f.Test(t, mem.PGDirty)
		if ok {
			p.pteSet(t, f.Index, mine|droppingBit)
		}
		p.unlockPte(t, f.Index)
		switch {
		case ok:
			marked = append(marked, f)
		case cur == mine:
			// Written since its write-out: keep it.
			p.Stats.Redirtied.Inc(t)
			f.Flags.Clear(t, mem.PGReclaim)
			f.Unlock(t)
			p.putback(t, f, true)
		default:
			// Discarded by the process meanwhile.
			p.freeUnmapped(t, f)
			freed++
		}
	}
	dropped := rc.dropped[:0]
	for i := 0; i < len(marked); {
		j := i + 1
		for j < len(marked) && marked[j].Index == marked[j-1].Index+1 {
			j++
		}
		err := p.ops.Drop(t, marked[i].Index, uint64(j-i))
		if err != nil && !isGone(err) {
			p.fail(t, err)
		}
		for _, f := range marked[i:j] {
			p.lockPte(t, f.Index)
			if err == nil {
				p.unmapLocked(t, f)
				dropped = append(dropped, f)
			} else {
				p.pteSet(t, f.Index, presentPte(f.PFN()))
			}
			p.unlockPte(t, f.Index)
			if err != nil {
				f.Flags.Clear(t, mem.PGReclaim)
				f.Unlock(t)
				p.putback(t, f, false)
			}
		}
		i = j
	}
	p.eventLock.RUnlock(t)
	for _, f := range dropped {
		if !f.Flags.TestAndClear(t, mem.PGReclaim) && f.Test(t, mem.PGSwapCache) {
			p.Stats.CleanDrops.Inc(t)
		}
		if f.Test(t, mem.PGSwapCache) {
			// __remove_mapping(): out of the swap cache; the slot
			// keeps the pte's reference.
			p.core.SwapCacheDelFolio(t, f)
		}
		f.Flags.Clear(t, mem.PGReferenced)
		f.Flags.Clear(t, mem.PGReadahead)
		f.Unlock(t)
		f.Put(t) // the pte's
		f.Put(t) // reclaim's: the frame is free
		p.Stats.Evicted.Inc(t)
		freed++
	}
	clear(marked)
	clear(dropped)
	rc.marked, rc.dropped = marked, dropped
	return freed
}

// unmapLocked points a dropped page's pte at its slot, or at nothing for
// a zero fill that was never written, and takes the mapping's count off
// its folio. The event lock and the page lock are held.
func (p *Pager) unmapLocked(t *ksync.Task, f *mem.Folio) {
	page := f.Index
	if f.Test(t, mem.PGSwapCache) {
		e := f.Swap()
		// try_to_unmap(): the pte takes a reference to the slot.
		if err := p.core.SwapDuplicate(t, e); err != nil {
			panic("pager: swap_duplicate of a swap cache slot: " + err.Error())
		}
		p.pteSet(t, page, swapPte(e))
		p.ptes[page].shadow = uint32(p.age.Add(t, 1))
	} else {
		p.pteSet(t, page, 0)
		p.Stats.ZeroDrops.Inc(t)
	}
	if t.Traced() {
		ksync.Note(t, "evicted page %d to %v", page, p.pteGet(t, page))
	}
	f.RemoveMap(t)
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
