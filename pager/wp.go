package pager

import (
	"uswap/ksync"
	"uswap/mem"
)

// doWPFault handles a write to a write-protected page: the page was
// clean (its slot copy current, or a zero fill) or is being written out.
// It becomes dirty and referenced, and the protection is lifted, which
// lets the write through (do_wp_page() reusing the page,
// wp_can_reuse_anon_folio()). A page under writeout stays resident: the
// evictor sees the dirty bit after its write-out and keeps it. A page
// that went meanwhile (evicted, discarded) has nothing to unprotect: the
// writer is woken and faults again as missing.
func (p *Pager) doWPFault(t *ksync.Task, page uint64) bool {
	return p.onPresent(t, page, func(f *mem.Folio) bool { return p.wpLocked(t, page, f) })
}

// onPresent runs fn on the folio of page, with the event lock and the
// page lock held, if the page is present; otherwise the page went
// (evicted, discarded) after the fault was reported, and its thread is
// woken to fault again as missing (unless the page was unmapped). It
// returns what fn returns: false to try the fault again later.
func (p *Pager) onPresent(t *ksync.Task, page uint64, fn func(f *mem.Folio) bool) bool {
	p.eventLock.RLock(t)
	defer p.eventLock.RUnlock(t)
	p.lockPte(t, page)
	defer p.unlockPte(t, page)
	cur := p.pteGet(t, page)
	if cur.dropping() {
		return false // after the drop, the page faults as missing
	}
	if cur.kind() != kindPresent {
		if cur.kind() != kindGone {
			p.wake(t, page)
		}
		return true
	}
	return fn(p.pool.Folio(cur.pfn()))
}

// wpLocked is doWPFault's work on a present page.
func (p *Pager) wpLocked(t *ksync.Task, page uint64, f *mem.Folio) bool {
	f.Flags.Set(t, mem.PGDirty)
	f.Flags.Set(t, mem.PGReferenced)
	if done, ok := p.resolved(t, page, p.ops.WriteProtect(t, page, 1, false)); !ok {
		return done
	}
	// The slot's copy is stale now. The kernel frees it when a write
	// reuses the page; the pager keeps it for the next write-out unless
	// swap is getting full (vm_swap_full()), and only if it can lock the
	// folio without waiting (an evictor may hold it).
	if f.Test(t, mem.PGSwapCache) && p.core.VMSwapFull(t) && f.TryLock(t) {
		if !f.Test(t, mem.PGWriteback) {
			p.core.FolioFreeSwap(t, f)
		}
		f.Unlock(t)
	}
	return true
}

// doMinorFault handles an access to a page that the region's page cache
// holds but the process's mapping does not: the process discarded it
// with MADV_DONTNEED (which on the shared mapping only unmaps; the
// REMOVE event that came first made the pte none and punched the page
// out, so the access only needs a wake to fault again as missing), or
// the kernel's own reclaim unmapped it and kept it (the pte is still
// present: map it again with UFFDIO_CONTINUE, write-protected while it
// is clean).
func (p *Pager) doMinorFault(t *ksync.Task, page uint64) bool {
	return p.onPresent(t, page, func(f *mem.Folio) bool { return p.minorLocked(t, page, f) })
}

// minorLocked is doMinorFault's work on a present page.
func (p *Pager) minorLocked(t *ksync.Task, page uint64, f *mem.Folio) bool {
	done, _ := p.resolved(t, page, p.ops.Continue(t, page, !f.Test(t, mem.PGDirty)))
	return done
}

// resolved sorts out the error of an ioctl that resolves a fault on
// page: done is false when the fault must be tried again later (EAGAIN:
// an event is pending); ok is true when the ioctl did its work, or found
// nothing left to do (the range went). EEXIST means the page was there
// already: its waiter is woken. Any other error is the pager's.
func (p *Pager) resolved(t *ksync.Task, page uint64, err error) (done, ok bool) {
	switch {
	case err == nil, isGone(err):
		return true, true
	case isExist(err):
		p.alreadyThere(t, page)
	case isAgain(err):
		p.Stats.Again.Inc(t)
		return false, false
	default:
		p.fail(t, err)
	}
	return true, false
}
