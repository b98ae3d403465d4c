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
	held := true
	defer func() {
		if held {
			core.PutSwapDevice(t, si)
		}
	}()

	folio := n.swapCacheGetFolio(t, entry, v, addr)
	swapcache := folio != nil
	// What the synchronous path holds on the entry until the fault is
	// done (the kernel's need_clear_cache): let go on every way out,
	// after the PTE is set or the fault given up (the "out:" label).
	var hold bypassHold
	defer func() { m.releaseBypassHold(t, si, entry, hold) }()

	if folio == nil {
		// The design decides how the entry comes in (ChooseSwapin): the
		// classic design may skip the swap cache on a synchronous device
		// when only this PTE holds the entry (seed 000's path, in the
		// node's fixes.Swapcache variant: swapinSync); the table design
		// never does, and reads a synchronous device's entry alone
		// through the swap cache (swapin_sync).
		var err error
		switch core.ChooseSwapin(t, si, entry) {
		case swap.SwapinBypass:
			folio, swapcache, hold, err = m.swapinSync(t, si, entry, func() bool {
				return pte(pt.ptes[i].Load(t)) == orig
			}, func() {
				core.PutSwapDevice(t, si)
				held = false
			})
		case swap.SwapinSync:
			folio, err = n.readSwapCache(t, si, entry, m.memcg, v, addr)
			swapcache = true
		}
		if folio == nil && err == nil && !swapcache {
			// Not the synchronous path: through the swap cache.
			folio, err = n.swapinReadahead(t, si, entry, m, v, addr)
			swapcache = true
		}
		if folio == nil {
			if errors.Is(err, errRefault) {
				return nil
			}
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
	if swapcache && n.swapinFolioStale(t, folio, entry) {
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
	// pinned) keeps the slot alive. Then the swap copy is dropped if it
	// is no use, before the PTE is set: the kernel's order since June
	// 2026 ("free swap cache before mapping to fix folio reuse"), and
	// classic's.
	switch {
	case hold == holdMapLock:
		// map-lock (classic): the locked byte stands for this PTE's
		// count and the lock: the slot is freed at once (the PTE is set
		// below, under the same PTL, before anyone can reuse it).
		core.SwapMapUnlock(t, entry, true)
		hold = holdNone
	case swapcache && folio.Swap() == entry:
		// folio_put_swap() (classic: swap_free(folio->swap)).
		core.FolioPutSwap(t, folio)
	default:
		// swap_free(entry) (classic only): the bypass's entry, which its
		// hold keeps alive, or, before swapin-recheck-entry's fix, the
		// PTE's entry whatever the folio's (the table design has no
		// such code: its check is always folio_matches_swap_entry()).
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
	// swap cache now, and the bypass it replaced never kept a copy. The
	// classic design's no-bypass variant of seed 000 does the same.
	if m.node.core.Design() == design.Table || m.node.cfg.Fixes.Get(fixes.Swapcache) == fixes.SwapcacheNoBypass {
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

// ---- Classic design only: the synchronous-device path and seed 000 ----
//
// Everything below is the swap-in of a synchronous device (zram) in the
// classic design (swap_map bytes, SWAP_HAS_CACHE, the bypass), with the
// variants of fixes.Swapcache that seed 000's thread weighed. A swap core
// that keeps the swap cache folio in its table has no bypass: these
// functions are what it replaces, whole.

// errRefault asks doSwapPage to return and let the access fault again.
var errRefault = errors.New("refault")

// bypassHold is what the synchronous path holds on its entry until the
// fault is done.
type bypassHold uint8

const (
	holdNone    bypassHold = iota
	holdPin                // SWAP_HAS_CACHE from swapcache_prepare(): swapcache_clear()
	holdCount              // swap-count: the count raised to 2: free_swap_and_cache()
	holdMapLock            // map-lock: SWAP_MAP_LOCK in place of the count of 1
)

// releaseBypassHold lets the entry go once the fault is done (the
// kernel's "out:" label): after the PTE is set and the PTL dropped, or
// when the fault gives up.
func (m *MM) releaseBypassHold(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, hold bypassHold) {
	core := m.node.core
	switch hold {
	case holdPin:
		core.SwapcacheClear(t, si, entry)
		if m.node.cfg.Fixes.Get(fixes.Swapcache) == fixes.SwapcachePinWaitqueue {
			// 01626a182302: wake the racers sleeping on swapcache_wq.
			core.WakeSwapcacheWaiters(t)
		}
	case holdCount:
		// Our raised count goes, and with it, if the PTE's count went
		// too, a folio that a racer left in the swap cache (the
		// thread's "swapcache clean up needs to be handled even in the
		// bypassing path").
		core.FreeSwapAndCache(t, entry)
	case holdMapLock:
		// The fault gave up with the PTE still holding the entry: the
		// count of 1 comes back.
		core.SwapMapUnlock(t, entry, false)
	}
}

// swapinSync is do_swap_page()'s synchronous-device path, in the variant
// of fixes.Swapcache the node runs. It returns the folio with one
// reference (unlocked; in the swap cache when swapcache is true, else
// private and charged), what is held on the entry, and errRefault when
// the fault should be retried. It is reached only where ChooseSwapin
// said SwapinBypass (classic: a synchronous device, and __swap_count()
// is 1). A nil folio with a nil error and swapcache false means the
// variant's path does not apply (the count changed): the caller goes
// through the swap cache with readahead.
//
// Without a fix the bypass lets two faults on one entry race: both read
// it, the first maps it and frees the slot, the page is written and
// swapped out again onto the same slot (ABA), and the second fault's
// pte_same() passes: it frees the new slot and maps the old contents (the
// seed's "random corruption of the swap map"). The race is scenario
// swapcache-pin, drawn in explore/testdata/scenarios/swapcache-pin.txt;
// swapin-zap.txt is the other racer every variant must let through, a
// zap of the PTE under the PTL. The variants close the window by holding
// the entry from before the read to after the PTE is set, so that the
// second fault cannot read it meanwhile, or by not bypassing the swap
// cache at all. putDevice lets go of the caller's device reference, for
// the code before fix fault-device-ref.
func (m *MM) swapinSync(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, pending func() bool, putDevice func()) (folio *mem.Folio, swapcache bool, hold bypassHold, err error) {
	n := m.node
	core := n.core
	v := n.cfg.Fixes.Get(fixes.Swapcache)
	if v != fixes.SwapcacheNoBypass && n.cfg.Fixes.Get(fixes.FaultDeviceRef) == fixes.FaultDeviceRefNone {
		// Before commit 2799e77529c2 the reference covered the lookup
		// and __swap_count() only: the bypass reads the device holding
		// nothing, and swapoff can clear the device under the read.
		// The seed-000 pin, which came later, holds try_to_unuse back
		// once taken, but not between here and the pin: the race of
		// scenario swapoff-bypass (drawn in
		// explore/testdata/scenarios/swapoff-bypass.txt).
		putDevice()
	}
	switch v {
	case fixes.SwapcacheNone:
		// The code before the fix: nothing held, the race above open.

	case fixes.SwapcachePinRefault, fixes.SwapcachePinSleep, fixes.SwapcachePinWaitqueue:
		// swapcache_prepare() pins the entry: SWAP_HAS_CACHE works as
		// a lock, and CPU2's swapcache_prepare(E) fails while CPU1
		// holds E. What CPU2 does then is the variant:
		if err := core.SwapcachePrepare(t, entry); err != nil {
			if errors.Is(err, swap.ErrExist) {
				switch v {
				case fixes.SwapcachePinSleep:
					// v4, merged as 13ddaf26be32: "Relax a bit
					// to prevent rapid repeated page faults".
					ksync.ScheduleTimeout(t, jiffy)
				case fixes.SwapcachePinWaitqueue:
					// 01626a182302: until the pin is dropped,
					// at most a tick.
					core.WaitSwapcache(t, pending)
				}
				// v1/v2 (pin-refault): refault at once.
			}
			return nil, false, holdNone, errRefault
		}
		hold = holdPin

	case fixes.SwapcacheSwapCount:
		// Under the cluster lock, the count must still be 1; raise it
		// to 2. CPU2 then sees 2 and goes through the swap cache,
		// where it finds the slot still held (by our count) and reads
		// the same page; whoever maps first wins pte_same.
		if !core.SwapCountRaise(t, entry) {
			return nil, false, holdNone, nil
		}
		hold = holdCount

	case fixes.SwapcacheMapLock:
		// Under the cluster lock, a map byte of exactly 1 (no swap
		// cache) becomes SWAP_MAP_LOCK. Whoever meets it spins
		// (__swap_count, swapcache_prepare, swap_duplicate, swap_free)
		// until we have mapped the page and freed the slot.
		switch core.SwapMapTryLock(t, entry) {
		case swap.MapLocked:
			hold = holdMapLock
		case swap.MapLockBusy:
			// Another fault holds it: after the spin the PTE has
			// most likely changed.
			return nil, false, holdNone, errRefault
		default:
			return nil, false, holdNone, nil
		}

	case fixes.SwapcacheNoBypass:
		// The swap cache is the synchronization: read the one page
		// into it (no readahead), and racers find it there.
		f, err := n.readSwapCache(t, si, entry, m.memcg, nil, 0)
		return f, true, holdNone, err
	}
	folio, err = m.swapinBypass(t, si, entry)
	return folio, false, hold, err
}

// swapinBypass is the bypass itself: read the entry straight from the
// device into a new folio, charged and private (not in the swap cache).
// It returns nil and an error when no memory could be had.
func (m *MM) swapinBypass(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry) (*mem.Folio, error) {
	n := m.node
	core := n.core
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
		return nil, err
	}
	// The folio is private until mapped: no lock needed to fill it, but
	// doSwapPage locks it like every other path.
	folio.Flags.Set(t, mem.PGSwapBacked)
	n.swapReadFolio(t, si, entry, folio)
	n.Stat.SwapinBypass.Inc(t)
	return folio, nil
}
