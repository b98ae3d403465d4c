package mm

import (
	"errors"
	"fmt"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
	"uswap/swap"
)

// doSwapPage is do_swap_page(): a fault on a swap PTE, as v6.12+ does it in
// the classic design and the swap table kernel in the table design (the
// differences are below the swap core's API, and the classic bypass
// below). mmapLock is held for reading. A nil return means "retry the
// access".
func (m *MM) doSwapPage(t *ksync.Task, v *vma, pt *pteTable, i int, addr uint64, orig pte, write bool) error {
	n := m.node
	core := n.core
	entry := pteToSwpEntry(orig)

	// get_swap_device(): from here on swapoff cannot free the device's
	// maps under us (seed 003).
	si := core.GetSwapDevice(t, entry)
	if si == nil {
		// Swapped off under us: try_to_unuse replaced the PTE, or will.
		return nil
	}
	defer core.PutSwapDevice(t, si)

	folio := n.swapCacheGetFolio(t, entry, v, addr)
	swapcache := folio != nil
	needClearCache := false
	// The pin is dropped on every way out, after the PTE is set or the
	// fault given up (the kernel's "out:" label).
	defer func() {
		if needClearCache {
			core.SwapcacheClear(t, si, entry)
			core.WakeSwapcacheWaiters(t)
		}
	}()

	if folio == nil {
		// The design decides how the entry comes in (ChooseSwapin): the
		// classic design skips the swap cache on a synchronous device
		// when only this PTE holds the entry (seed 000's bypass); the
		// table design never does, and reads a synchronous device's
		// entry alone through the swap cache (swapin_sync).
		switch path := core.ChooseSwapin(t, si, entry); path {
		case swap.SwapinBypass:
			var err error
			folio, needClearCache, err = m.swapinBypass(t, si, entry, func() bool {
				return pte(pt.ptes[i].Load(t)) == orig
			})
			if folio == nil {
				return err
			}
		default:
			var err error
			if path == swap.SwapinSync {
				folio, err = n.readSwapCache(t, si, entry, m.memcg, v, addr)
			} else {
				folio, err = n.swapinReadahead(t, si, entry, m, v, addr)
			}
			if folio == nil {
				// The kernel: VM_FAULT_OOM if the PTE is still the
				// same, else a racing fault already did the work.
				if pte(pt.ptes[i].Load(t)) == orig {
					if err == nil {
						// The entry went away under us (freed): refault.
						return nil
					}
					n.Stat.OOM.Inc(t)
					return err
				}
				return nil
			}
			swapcache = true
		}
		n.Stat.PgMajFault.Inc(t)
	}
	// From here we hold one reference on folio.

	// backOut is the kernel's "out_page:" label: unlock and drop the
	// folio. In the table design it first tries folio_free_swap() on the
	// folio's swap cache copy (phase II): a synchronous device's folio
	// is always in the swap cache now, where the bypass would have
	// dropped it, and one that lost its PTE to a racer is freed here
	// rather than left to reclaim.
	backOut := func() {
		if core.Design() == design.Table && folio.Test(t, mem.PGSwapCache) {
			core.FolioFreeSwap(t, folio)
		}
		folio.Unlock(t)
		folio.Put(t)
	}

	// folio_lock_or_retry(). In the table design a racing swap-in of the
	// same entry waits here, on the folio its winner put in the swap
	// cache, until the read is done (swapCacheAllocFolio).
	folio.Lock(t)
	if swapcache && (!folio.Test(t, mem.PGSwapCache) || folio.Swap() != entry) {
		// Reclaimed, or freed and reused, while we slept: refault
		// (folio_matches_swap_entry() failed).
		backOut()
		return nil
	}

	// pte_same() under the PTL, after every sleep above:
	//
	//	CPU1 (do_swap_page)              CPU2 (munmap / another fault)
	//	orig = pte (entry E)
	//	read E (sleeps)
	//	                                 zap: pte = none, swap_free(E)
	//	set pte = folio  !!! maps a page into an unmapped range, and
	//	swap_free(E)         frees E twice
	pt.ptl.Lock(t)
	if pte(pt.ptes[i].Load(t)) != orig {
		// pte_same() failed: somebody else mapped it, or zapped it.
		pt.ptl.Unlock(t)
		backOut()
		return nil
	}
	if !folio.Test(t, mem.PGUptodate) {
		// The read failed. The PTE keeps its swap entry (the kernel
		// returns VM_FAULT_SIGBUS and leaves it); swapoff turns it into
		// a swapin-error marker.
		pt.ptl.Unlock(t)
		backOut()
		return fmt.Errorf("%w: %#x: reading %v failed", ErrBus, addr, entry)
	}

	if folio.Mapping == nil {
		// folio_add_new_anon_rmap() for a folio that readahead (or
		// another lineage's swapoff) brought in.
		folio.Mapping, folio.Index = v.anon, addr>>PageShift
	}
	// This PTE's hold on the slot goes; the folio (in the swap cache, or
	// pinned) keeps the slot alive: folio_put_swap() (classic:
	// swap_free()), or, on the classic bypass, swap_free() of the entry
	// the pin holds. Then the swap copy is dropped if it is no use,
	// before the PTE is set: the kernel's order since June 2026 ("free
	// swap cache before mapping to fix folio reuse"), and classic's.
	if swapcache {
		core.FolioPutSwap(t, folio)
	} else {
		core.SwapFree(t, entry)
	}
	if swapcache && m.shouldTryToFreeSwap(t, folio, write) {
		core.FolioFreeSwap(t, folio)
	}
	// The folio is exclusive if this fault's reference is the only one
	// besides a swap cache whose slot nobody else holds... which after
	// FolioFreeSwap means: no swap cache, refcount 1, not mapped.
	exclusive := !folio.Test(t, mem.PGSwapCache) && folio.RefCount(t) == 1 && !folio.Mapped(t)
	flags := pteAccessed
	if write && exclusive && v.prot&ProtWrite != 0 {
		flags |= pteWrite | pteDirty
	}
	folio.AddMap(t)
	pt.ptes[i].Store(t, uint64(mkPTE(folio.PFN(), flags)))
	if !swapcache {
		// The bypass path's folio joins the LRU once it is mapped.
		n.folioAddLRU(t, folio)
	}
	// Our reference is now the PTE's, so the folio is unlocked before the
	// PTL is dropped (as the kernel does), or a racing COW could free it
	// still locked:
	//
	//	CPU1 (do_swap_page, bypass)      CPU2 (do_wp_page, same mm)
	//	set pte = folio (our ref = PTE's)
	//	spin_unlock(ptl)
	//	                                 folio_trylock fails: copy
	//	                                 replace pte, folio_put: freed
	//	folio_unlock  !!! a free frame
	//
	// (Found by the explorer, TestExploreSeed000.)
	folio.Unlock(t)
	pt.ptl.Unlock(t)
	return nil
}

// shouldTryToFreeSwap is should_try_to_free_swap(): after a swap-in, drop
// the swap copy if swap is getting full, or if this is a write fault and
// the only references are ours and the swap cache's (the copy on swap
// would be stale at once).
func (m *MM) shouldTryToFreeSwap(t *ksync.Task, folio *mem.Folio, write bool) bool {
	if !folio.Test(t, mem.PGSwapCache) {
		return false
	}
	if m.node.core.VMSwapFull(t) || memcg.SwapFull(t, m.memcg) {
		return true
	}
	// The table design always frees the swap cache of a synchronous
	// device's folio (phase II's "always try to free swap cache for
	// SWP_SYNCHRONOUS_IO devices"): every such swap-in goes through the
	// swap cache now, and the bypass it replaced never kept a copy.
	if m.node.core.Design() == design.Table {
		if si := m.node.core.SwapInfo(t, folio.Swap().Type()); si != nil && si.Synchronous(t) {
			return true
		}
	}
	// A dirty swap-cache folio found by a fault has a slot whose bytes
	// are stale: its pageout failed (the kernel's __end_swap_bio_write
	// re-dirties the folio and leaves it resident in the swap cache), or
	// never ran. uswap departs from the kernel here, which would retry the
	// same slot at the next pageout: once this fault's PTE is the last
	// holder, the slot is dropped so that the next pageout allocates a
	// different one, and a slot that failed a write is not reused for the
	// page. (Until then, the swap cache resolves the entry to the resident
	// folio; the slot's stale bytes are never read.)
	if folio.Test(t, mem.PGDirty) {
		return true
	}
	return write && folio.RefCount(t) == 2
}

// swapinBypass is the synchronous-device path of do_swap_page() in the
// classic design only (swap.SwapinBypass; the table design has no
// bypass: every swap-in goes through the swap cache): the swap cache is
// skipped, the folio is read straight from the device and mapped. It returns the folio (unlocked, not in the swap cache, charged,
// one reference), and whether the caller must drop the entry's pin
// (swapcache_clear) when it is done, which it must also do when the folio
// is nil; a nil folio with a nil error means "refault".
//
// With the swapcache-pin fix (seed 000, commit 13ddaf26be32) the entry is
// pinned with swapcache_prepare(): SWAP_HAS_CACHE works as a lock, and a
// racer that cannot take it waits on swapcache_wq for a tick and
// refaults. Without the fix nothing stops two faults on one entry: both
// read it, the first maps it and frees the slot, the page is written and
// swapped out again onto the same slot (ABA), and the second fault's
// pte_same() passes: it frees the new slot and maps the old contents (the
// write is lost, the swap map corrupted: the seed's "random corruption of
// the swap map"). The race is scenario swapcache-pin, drawn in
// explore/testdata/scenarios/swapcache-pin.txt. The pin closes the
// window: the second fault's swapcache_prepare(E) fails while the first
// holds E, so it waits and refaults, and finds the PTE already present.
//
// pending reports whether the fault is still to be done (the PTE still
// holds the entry): the wait ends early when it is not.
func (m *MM) swapinBypass(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, pending func() bool) (*mem.Folio, bool, error) {
	n := m.node
	core := n.core
	pinned := false
	if n.cfg.Fixes.Get(fixes.Swapcache) != fixes.SwapcacheNone {
		if err := core.SwapcachePrepare(t, entry); err != nil {
			// Somebody else is bringing the entry in (or it went
			// away): wait a tick for them and refault.
			if errors.Is(err, swap.ErrExist) {
				core.WaitSwapcache(t, pending)
			}
			return nil, false, nil
		}
		pinned = true
	}
	folio, err := n.allocFolio(t)
	if err == nil {
		var charged *memcg.MemCgroup
		charged, err = memcg.SwapinCharge(t, core.LookupSwapCgroupID(t, entry), m.memcg, 1)
		if err != nil {
			folio.Put(t)
			folio = nil
			err = errors.Join(ErrOOM, err)
		} else {
			folio.MemcgID = charged.ID()
			n.memcgCharged(t, charged)
		}
	}
	if err != nil {
		n.Stat.OOM.Inc(t)
		return nil, pinned, err
	}
	// The folio is private until mapped: no lock needed to fill it, but
	// doSwapPage locks it like every other path.
	folio.Flags.Set(t, mem.PGSwapBacked)
	n.swapReadFolio(t, si, entry, folio)
	n.Stat.SwapinBypass.Inc(t)
	return folio, pinned, nil
}
