package pager

import (
	"errors"
	"fmt"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/uffd"
)

func isGone(err error) bool  { return errors.Is(err, uffd.ErrGone) }
func isAgain(err error) bool { return errors.Is(err, uffd.ErrAgain) }
func isExist(err error) bool { return errors.Is(err, uffd.ErrExist) }

// doMissingFault is handle_pte_fault() for a page that is not there:
// do_anonymous_page() for a none pte, do_swap_page() for a swap pte. It
// reports false when the fault must be tried again later.
func (p *Pager) doMissingFault(t *ksync.Task, w *worker, page uint64, write bool) bool {
	prev := p.lastFault.Swap(t, int64(page))
	orig := p.pteGet(t, page)
	switch orig.kind() {
	case kindGone:
		return true
	case kindPresent:
		if orig.dropping() {
			return false // evicted as we speak: fault it in after
		}
		p.alreadyThere(t, page)
		return true
	case kindNone:
		return p.doAnonymousPage(t, w, page, orig, write)
	}
	if !p.doSwapPage(t, w, page, orig, write) {
		return false
	}
	if prev+1 == int64(page) {
		p.readahead(t, w, page)
	}
	return true
}

// doAnonymousPage is do_anonymous_page(): install a page of zeros, write
// protected for a read fault (clean: eviction drops it back to none
// unless it is written) and writable for a write fault.
//
// UFFDIO_ZEROPAGE would map zeros too, but on the pager's shmem region
// it allocates a page just as a copy does, and maps it writable: a write
// would then go unseen.
func (p *Pager) doAnonymousPage(t *ksync.Task, w *worker, page uint64, orig pteVal, write bool) bool {
	f := p.allocFolio(t, &w.reclaim)
	if f == nil {
		return false
	}
	f.Lock(t)
	done, installed := p.install(t, f, page, orig, p.zeroPage, write)
	if installed {
		p.Stats.ZeroFills.Inc(t)
		f.Unlock(t)
		return true
	}
	f.Unlock(t)
	f.Put(t)
	return done
}

// doSwapPage is do_swap_page(): find the entry's folio in the swap cache,
// or pin the entry (swapcache_prepare) and add a new folio for it; read
// the slot with the folio locked; install it. A read fault keeps the slot
// (the page is clean, its copy current: the swap cache), a write fault
// frees it.
func (p *Pager) doSwapPage(t *ksync.Task, w *worker, page uint64, orig pteVal, write bool) bool {
	e := orig.entry()
	si := p.core.GetSwapDevice(t, e)
	if si == nil {
		// The slot is not in use any more: the pte changed.
		return false
	}
	defer p.core.PutSwapDevice(t, si)
	f := p.swapinFolio(t, &w.reclaim, e, true)
	if f == nil {
		return false
	}
	if err := si.ReadPage(t, e, w.buf); err != nil {
		return p.readError(t, f, page, orig, err)
	}
	done, installed := p.install(t, f, page, orig, w.buf, write)
	if installed {
		p.Stats.SwapIns.Inc(t)
		f.Unlock(t)
		return true
	}
	p.abandon(t, f)
	return done
}

// swapinFolio returns the locked swap cache folio of e, with a reference:
// the one in the cache, or a new one added under the pin of
// swapcache_prepare (__read_swap_cache_async). It returns nil when the
// entry is being swapped in by someone else, was freed, or no frame is
// free (with reclaim, when rc is not nil).
func (p *Pager) swapinFolio(t *ksync.Task, rc *reclaimer, e mem.SwpEntry, mayReclaim bool) *mem.Folio {
	if f := p.core.SwapCacheGetFolio(t, e); f != nil {
		f.Lock(t)
		if !f.Test(t, mem.PGSwapCache) || f.Swap() != e {
			// It left the swap cache (mapped and freed, or
			// evicted) while we waited for its lock.
			f.Unlock(t)
			f.Put(t)
			return nil
		}
		return f
	}
	var f *mem.Folio
	if mayReclaim {
		f = p.allocFolio(t, rc)
	} else {
		f = p.pool.Alloc(t)
	}
	if f == nil {
		return nil
	}
	if err := p.core.SwapcachePrepare(t, e); err != nil {
		// ErrExist: another task pinned it and is swapping it in;
		// ErrNoEnt: the slot was freed. Either way, look again later.
		f.Put(t)
		return nil
	}
	f.Lock(t)
	f.Flags.Set(t, mem.PGSwapBacked)
	if err := p.core.AddToSwapCache(t, f, e); err != nil {
		panic(fmt.Sprintf("pager: add_to_swap_cache(%v) under our own pin: %v", e, err))
	}
	return f
}

// install maps f's data (src) at page, unless the pte changed since it
// read orig: under the event lock and the page lock, the copy and the
// pte change are one step for every other task of the pager. It reports
// whether the fault is done (false: try again later) and whether f was
// installed. f is locked; on success the caller's reference to f becomes
// the pte's, and a swap-in's slot reference moves from the pte to the
// swap cache (and is freed for a write fault).
func (p *Pager) install(t *ksync.Task, f *mem.Folio, page uint64, orig pteVal, src []byte, write bool) (done, installed bool) {
	p.eventLock.RLock(t)
	defer p.eventLock.RUnlock(t)
	p.lockPte(t, page)
	defer p.unlockPte(t, page)
	cur := p.pteGet(t, page)
	// pager-recheck: the pte may have changed since orig was read: the
	// fault was handled by another worker, or the page was discarded.
	// Without the check, the ABA of seed 000 in userspace:
	//
	//	worker A (T1's fault)           worker B (T2's fault)   others
	//	                                orig = swap(E)
	//	orig = swap(E), read E
	//	install, free E (a write)
	//	                                                        E reused by Q
	//	                                                        P paged out to F
	//	                                read E: Q's data
	//	                                copy to P !!! P holds Q's data
	//	                                swap_free(E) !!! Q's slot
	if (p.cfg.Fixes.Get(fixes.PagerRecheck) != fixes.PagerRecheckNone || orig.kind() == kindNone) && cur != orig {
		switch cur.kind() {
		case kindPresent:
			if cur.dropping() {
				return false, false
			}
			p.alreadyThere(t, page)
			return true, false
		case kindGone:
			return true, false
		}
		return false, false
	}
	mode := uffd.CopyWP
	if write {
		mode = 0
	}
	err := p.ops.Copy(t, page, src, mode)
	switch {
	case err == nil:
	case isExist(err):
		p.alreadyThere(t, page)
		return true, false
	case isAgain(err):
		p.Stats.Again.Inc(t)
		return false, false
	case isGone(err):
		return true, false
	default:
		p.fail(t, err)
		return true, false
	}
	if t.Traced() {
		ksync.Note(t, "installed page %d (was %v) in folio %d", page, cur, f.PFN())
	}
	f.Mapping, f.Index = p, page
	f.AddMap(t)
	p.pteSet(t, page, presentPte(f.PFN()))
	activate := false
	if orig.kind() == kindSwap {
		// The pte's reference to the slot goes; the swap cache keeps
		// the slot (SWAP_HAS_CACHE) while the page stays clean.
		p.core.SwapFree(t, orig.entry())
		if write {
			// The copy in the slot is stale at once: free it
			// (folio_free_swap marks the folio dirty).
			if !p.core.FolioFreeSwap(t, f) {
				f.Flags.Set(t, mem.PGDirty)
			}
		}
		activate = p.workingsetRefault(t, page)
	} else if write {
		f.Flags.Set(t, mem.PGDirty)
	}
	p.lru.add(t, f, activate)
	return true, true
}

// abandon lets go of a locked swap-in folio that was not installed: it
// leaves the swap cache, which frees the slot if no pte refers to it any
// more, and keeps it for the pte otherwise (a retry reads it again).
// Unlike the kernel's readahead folios, an unmapped folio is on no LRU
// list here: nothing would reclaim it if it stayed.
func (p *Pager) abandon(t *ksync.Task, f *mem.Folio) {
	if f.Test(t, mem.PGSwapCache) && !f.Mapped(t) {
		p.core.SwapCacheDelFolio(t, f)
	}
	f.Unlock(t)
	f.Put(t)
}

// readError handles a swap-in whose device read failed: the data is
// lost. As the kernel marks the PTE with a swapin-error entry and sends
// SIGBUS, the pager poisons the page (the process gets SIGBUS when it
// touches it, until it discards it) and frees the slot. It reports
// whether the fault is done: if the pte changed while the page was read
// (the process discarded it, another worker installed it), the fault is
// tried again, as do_swap_page() returns to refault when pte_same()
// fails, and the retry answers it (a zero fill, or a wake); done with
// nothing installed or poisoned would leave the thread asleep in its
// fault (scenario pager-read-error).
func (p *Pager) readError(t *ksync.Task, f *mem.Folio, page uint64, orig pteVal, err error) (done bool) {
	p.Stats.ReadErrors.Inc(t)
	p.eventLock.RLock(t)
	p.lockPte(t, page)
	if p.pteGet(t, page) == orig {
		perr := p.ops.Poison(t, page)
		if isAgain(perr) {
			// An event is queued and not read (mmap_changing): like a
			// copy that fails with EAGAIN, the fault is put back and
			// tried again after the event, reading the slot again.
			p.Stats.Again.Inc(t)
		} else {
			if perr != nil && !isGone(perr) {
				p.fail(t, fmt.Errorf("%w; poisoning the page: %v", err, perr))
			}
			p.pteSet(t, page, poisonPte)
			p.core.SwapFree(t, orig.entry())
			done = true
		}
	}
	p.unlockPte(t, page)
	p.eventLock.RUnlock(t)
	p.abandon(t, f)
	return done
}

// readahead follows a swap-in by a missing fault that came right after
// one on the page before (a sequential walk) with copies of the next
// swapped-out pages (swap_vma_readahead): write-protected, without
// waking anyone, since nobody is expected to wait for them, and without
// reclaim, since they are a guess.
func (p *Pager) readahead(t *ksync.Task, w *worker, page uint64) {
	if p.cfg.Readahead == 0 {
		return
	}
	end := min(page+1+uint64(p.cfg.Readahead), p.cfg.Pages)
	for ra := page + 1; ra < end; ra++ {
		orig := p.pteGet(t, ra)
		if orig.kind() != kindSwap || !p.readaheadPage(t, w, ra, orig) {
			return
		}
	}
}

func (p *Pager) readaheadPage(t *ksync.Task, w *worker, page uint64, orig pteVal) bool {
	e := orig.entry()
	si := p.core.GetSwapDevice(t, e)
	if si == nil {
		return false
	}
	defer p.core.PutSwapDevice(t, si)
	f := p.swapinFolio(t, nil, e, false)
	if f == nil {
		return false
	}
	if err := si.ReadPage(t, e, w.buf); err != nil {
		// Not this fault's page: leave it for a real fault to report.
		p.abandon(t, f)
		return false
	}
	ok := p.installReadahead(t, f, page, orig, w.buf)
	if !ok {
		p.abandon(t, f)
		return false
	}
	f.Unlock(t)
	p.Stats.Readahead.Inc(t)
	return true
}

// installReadahead is install for a readahead page: always checked
// against its pte, copied write-protected and with DONTWAKE.
func (p *Pager) installReadahead(t *ksync.Task, f *mem.Folio, page uint64, orig pteVal, src []byte) bool {
	p.eventLock.RLock(t)
	defer p.eventLock.RUnlock(t)
	p.lockPte(t, page)
	defer p.unlockPte(t, page)
	if p.pteGet(t, page) != orig {
		return false
	}
	if err := p.ops.Copy(t, page, src, uffd.CopyWP|uffd.CopyDontWake); err != nil {
		if isAgain(err) {
			p.Stats.Again.Inc(t)
		}
		return false
	}
	if t.Traced() {
		ksync.Note(t, "readahead installed page %d in folio %d", page, f.PFN())
	}
	f.Mapping, f.Index = p, page
	f.AddMap(t)
	f.Flags.Set(t, mem.PGReadahead)
	p.pteSet(t, page, presentPte(f.PFN()))
	p.core.SwapFree(t, orig.entry())
	p.lru.add(t, f, false)
	return true
}

// allocFolio is alloc_page() for a fault: a free frame, reclaiming
// directly when there is none; nil if reclaim freed nothing (the fault
// is tried again after the worker reads its messages).
func (p *Pager) allocFolio(t *ksync.Task, rc *reclaimer) *mem.Folio {
	for try := 0; ; try++ {
		if f := p.pool.Alloc(t); f != nil {
			f.Flags.Set(t, mem.PGSwapBacked)
			p.wakeKswapd(t)
			return f
		}
		if rc == nil || try == 2 {
			return nil
		}
		p.shrink(t, rc, p.cfg.Batch)
	}
}
