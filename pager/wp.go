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
	p.eventLock.RLock(t)
	defer p.eventLock.RUnlock(t)
	p.lockPte(t, page)
	defer p.unlockPte(t, page)
	cur := p.pteGet(t, page)
	if cur.kind() != kindPresent {
		if cur.kind() != kindGone {
			p.wake(t, page)
		}
		return true
	}
	f := p.pool.Folio(cur.pfn())
	f.Flags.Set(t, mem.PGDirty)
	f.Flags.Set(t, mem.PGReferenced)
	err := p.ops.WriteProtect(t, page, 1, false)
	switch {
	case err == nil, isGone(err):
	case isAgain(err):
		p.Stats.Again.Inc(t)
		return false
	default:
		p.fail(t, err)
		return true
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
	p.eventLock.RLock(t)
	defer p.eventLock.RUnlock(t)
	p.lockPte(t, page)
	defer p.unlockPte(t, page)
	cur := p.pteGet(t, page)
	if cur.kind() != kindPresent {
		if cur.kind() != kindGone {
			p.wake(t, page)
		}
		return true
	}
	f := p.pool.Folio(cur.pfn())
	err := p.ops.Continue(t, page, !f.Test(t, mem.PGDirty))
	switch {
	case err == nil, isGone(err):
	case isExist(err):
		p.alreadyThere(t, page)
	case isAgain(err):
		p.Stats.Again.Inc(t)
		return false
	default:
		p.fail(t, err)
	}
	return true
}
