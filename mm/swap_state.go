package mm

import (
	"errors"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
	"uswap/swap"
)

// This file is the swap-in half of mm/swap_state.c: the swap cache
// lookup with readahead statistics, __read_swap_cache_async, and the two
// readahead policies (swap_cluster_readahead, swap_vma_readahead) with
// their window logic (__swapin_nr_pages).

// swapCacheGetFolio is swap_cache_get_folio(): look entry up in the swap
// cache and, if the folio was brought in by readahead, count a hit
// (swap_ra_hit) for the readahead window of v (VMA readahead) or of the
// node (cluster readahead).
func (n *Node) swapCacheGetFolio(t *ksync.Task, entry mem.SwpEntry, v *vma, addr uint64) *mem.Folio {
	folio := n.core.SwapCacheGetFolio(t, entry)
	if folio == nil {
		return nil
	}
	readahead := folio.Flags.TestAndClear(t, mem.PGReadahead)
	if v != nil && n.cfg.Readahead == ReadaheadVMA {
		ra := v.raInfo.Load(t)
		hits := raHits(ra)
		if readahead {
			hits = min(hits+1, raHitsMax)
		}
		v.raInfo.Store(t, raVal(addr>>PageShift, raWin(ra), hits))
	}
	if readahead {
		n.Stat.SwapRaHit.Inc(t)
		if v == nil || n.cfg.Readahead != ReadaheadVMA {
			n.raHits.Add(t, 1)
		}
	}
	return folio
}

// swapCacheAllocFolio is the swap-in insertion protocol, written once for
// both designs of the swap core: __read_swap_cache_async() in the classic
// design, swap_cache_alloc_folio() in the table design. It returns the
// swap cache folio of entry with a reference; or, if entry is not cached,
// a new folio inserted for it, locked, charged (by charge) and on the LRU,
// with allocated set: the caller reads it and unlocks it. It returns nil
// when the entry is no longer in use, or the error of the allocation or
// the charge. The caller holds a device reference on si.
//
// Two swap-ins that miss in the cache at once race to reserve the entry
// (swap.Core.SwapinReserve says what that is in each design). The loser
// sees ErrExist. In the classic design the winner holds only the
// SWAP_HAS_CACHE pin, with no folio in the cache yet, and the loser sleeps
// a tick (schedule_timeout_uninterruptible(1)) and looks again. In the
// table design the winner's folio is in the cache already, locked until
// its read is done; the loser's next lookup finds it, and the caller's
// folio_lock() is the wait:
//
//	CPU1                                CPU2
//	lookup(E): miss                     lookup(E): miss
//	alloc F1, lock F1                   alloc F2, lock F2
//	reserve(F1, E): table[E] = F1
//	                                    reserve(F2, E): -EEXIST
//	                                    put F2; lookup(E): F1, ref+1
//	read E into F1                      folio_lock(F1)  ... sleeps
//	unlock F1                           ... wakes: F1 uptodate
func (n *Node) swapCacheAllocFolio(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, v *vma, addr uint64, charge func(*mem.Folio) error) (folio *mem.Folio, allocated bool, err error) {
	core := n.core
	for {
		if f := n.swapCacheGetFolio(t, entry, v, addr); f != nil {
			return f, false, nil
		}
		// swap_entry_swapped(): nobody holds the entry any more (it
		// was freed, or only the swap cache or a pin holds it).
		if !core.SwapEntrySwapped(t, si, entry) {
			return nil, false, nil
		}
		nf, err := n.allocFolio(t)
		if err != nil {
			return nil, false, err
		}
		// The folio is ours: nobody can see it until SwapinReserve
		// (table) puts it, locked, in the swap cache.
		err = core.SwapinReserve(t, si, nf, entry)
		if err == nil {
			folio = nf
			break
		}
		nf.Put(t)
		if !errors.Is(err, swap.ErrExist) {
			return nil, false, nil
		}
		n.swapcachePrepareRetryWait(t)
	}
	folio.Flags.Set(t, mem.PGSwapBacked)
	if err := charge(folio); err != nil {
		core.SwapinCancel(t, si, folio, entry)
		folio.Unlock(t)
		folio.Put(t)
		return nil, false, err
	}
	core.SwapinCommit(t, folio, entry)
	n.folioAddLRU(t, folio)
	return folio, true, nil
}

// readSwapCacheAsync is swapCacheAllocFolio for an anonymous page: the
// folio is charged to the cgroup the slot is recorded for, else cg
// (mem_cgroup_swapin_charge_folio).
func (n *Node) readSwapCacheAsync(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, cg *memcg.MemCgroup, v *vma, addr uint64) (*mem.Folio, bool, error) {
	return n.swapCacheAllocFolio(t, si, entry, v, addr, func(folio *mem.Folio) error {
		charged, err := memcg.SwapinCharge(t, n.core.LookupSwapCgroupID(t, entry), cg, 1)
		if err != nil {
			return errors.Join(ErrOOM, err)
		}
		folio.MemcgID = charged.ID()
		n.memcgCharged(t, charged)
		return nil
	})
}

// swapcachePrepareRetryWait is what a swap-in does after SwapinReserve
// failed with ErrExist, before it looks again: the design's back-off
// (swap.Core.SwapinBackoff). Classic: another task holds SWAP_HAS_CACHE
// and has not put its folio in the swap cache yet, and
// __read_swap_cache_async() sleeps a tick
// (schedule_timeout_uninterruptible(1)), which takes the task off the
// run queue so that the holder runs. Table: the winner's folio is in the
// swap cache already, and the next lookup finds it and sleeps on its
// lock.
//
// With fix swapin-retry-sleep reverted (classic design only: the table
// design has no pin to spin on, and choosing the variant with it is an
// error) it is cond_resched(), as before commit 029c4628b2eb: the task
// stays runnable, and a task that outranks the holder (a real-time task
// on the holder's CPU) retries forever while the holder never runs: the
// livelock of scenario swapin-retry-livelock (drawn in
// explore/testdata/scenarios/swapin-retry-livelock.txt).
func (n *Node) swapcachePrepareRetryWait(t *ksync.Task) {
	if n.cfg.Fixes.Get(fixes.SwapinRetrySleep) == fixes.SwapinRetryCondResched {
		ksync.CondResched(t)
		return
	}
	n.core.SwapinBackoff(t)
}

// swapReadFolio is swap_read_folio() for a locked folio that is not
// uptodate: read it from the device and mark it uptodate, or leave it
// not uptodate on an I/O error (the fault then gets SIGBUS). The caller
// holds a device reference.
func (n *Node) swapReadFolio(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, folio *mem.Folio) {
	if err := si.ReadPage(t, entry, folio.Data()); err == nil {
		folio.Flags.Set(t, mem.PGUptodate)
		n.swapSlotFreeNotify(t, si, entry, folio)
	}
}

// readSwapCache reads one entry into the swap cache and returns its folio
// (unlocked, with a reference), or nil.
func (n *Node) readSwapCache(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, cg *memcg.MemCgroup, v *vma, addr uint64) (*mem.Folio, error) {
	f, allocated, err := n.readSwapCacheAsync(t, si, entry, cg, v, addr)
	if f != nil && allocated {
		n.swapReadFolio(t, si, entry, f)
		f.Unlock(t)
	}
	return f, err
}

// readAhead reads entry in as a readahead page: it is left in the swap
// cache with PGReadahead set.
func (n *Node) readAhead(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, cg *memcg.MemCgroup) {
	f, allocated, _ := n.readSwapCacheAsync(t, si, entry, cg, nil, 0)
	if f == nil {
		return
	}
	if allocated {
		n.swapReadFolio(t, si, entry, f)
		f.Flags.Set(t, mem.PGReadahead)
		n.Stat.SwapRa.Inc(t)
		f.Unlock(t)
	}
	f.Put(t)
}

// swapinReadahead is swapin_readahead(): bring entry in through the swap
// cache, reading its neighbours too (by slot or by address, per the
// node's readahead mode). The caller holds a device reference on si and
// mmapLock for reading.
func (n *Node) swapinReadahead(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, m *MM, v *vma, addr uint64) (*mem.Folio, error) {
	if n.cfg.Readahead == ReadaheadVMA && v != nil {
		return n.swapVMAReadahead(t, si, entry, m, v, addr)
	}
	return n.swapClusterReadahead(t, si, entry, m.memcg, v, addr)
}

// swapClusterReadahead is swap_cluster_readahead(): read the aligned
// window of slots around entry, then entry itself.
func (n *Node) swapClusterReadahead(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, cg *memcg.MemCgroup, v *vma, addr uint64) (*mem.Folio, error) {
	off := entry.Offset()
	win := n.swapinNrPages(t, off)
	if win > 1 {
		mask := uint64(win - 1)
		start := off &^ mask
		end := start + mask
		if start == 0 {
			start = 1
		}
		for o := start; o <= end; o++ {
			if o == off {
				continue
			}
			if o >= si.Device().Pages() {
				break
			}
			e := mem.SwpEntryOf(entry.Type(), o)
			if n.core.GetSwapDevice(t, e) == nil {
				// Past the end of the swap area.
				break
			}
			n.readAhead(t, si, e, cg)
			n.core.PutSwapDevice(t, si)
		}
	}
	return n.readSwapCache(t, si, entry, cg, v, addr)
}

// swapinNrPages is swapin_nr_pages(): the cluster readahead window.
func (n *Node) swapinNrPages(t *ksync.Task, offset uint64) int {
	maxPages := 1 << n.cfg.PageCluster
	if maxPages <= 1 {
		return 1
	}
	hits := int(n.raHits.Swap(t, 0))
	pages := swapinNrPagesWindow(n.raPrevOff.Load(t), offset, hits, maxPages, int(n.raLastWin.Load(t)))
	if pages == 0 {
		pages = 1
	}
	n.raPrevOff.Store(t, offset)
	n.raLastWin.Store(t, int32(pages))
	return pages
}

// swapinNrPagesWindow is __swapin_nr_pages(): grow the window with the
// hits of the last one, start it only on a sequential access, never
// shrink it by more than half at once.
func swapinNrPagesWindow(prevOffset, offset uint64, hits, maxPages, prevWin int) int {
	pages := hits + 2
	if pages == 2 {
		// No hits to judge by: read ahead only when the access is
		// next to the previous one.
		if offset != prevOffset+1 && offset != prevOffset-1 {
			pages = 1
		}
	} else {
		roundup := 4
		for roundup < pages {
			roundup <<= 1
		}
		pages = roundup
	}
	pages = min(pages, maxPages)
	// Don't shrink readahead too fast.
	pages = max(pages, prevWin/2)
	return pages
}

// The VMA readahead state, swap_readahead_info: the page number of the
// last fault, the window and the hits since, in one word.
const (
	raHitsMax = 0xff
	raWinMax  = 0xff
)

func raVal(pfn uint64, win, hits int) uint64 {
	return pfn<<16 | uint64(win&raWinMax)<<8 | uint64(hits&raHitsMax)
}
func raPFN(v uint64) uint64 { return v >> 16 }
func raWin(v uint64) int    { return int(v>>8) & raWinMax }
func raHits(v uint64) int   { return int(v) & raHitsMax }

// swapVMAReadahead is swap_vma_readahead(): read the swap entries of the
// PTEs around addr (within the VMA and its leaf table), then entry. The
// window grows with hits and follows the direction of the accesses
// (swap_ra_info).
func (n *Node) swapVMAReadahead(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, m *MM, v *vma, addr uint64) (*mem.Folio, error) {
	maxWin := 1 << min(n.cfg.PageCluster, 5) // SWAP_RA_ORDER_CEILING
	fpfn := addr >> PageShift
	win := 1
	if maxWin > 1 {
		ra := v.raInfo.Load(t)
		pfn := raPFN(ra)
		win = swapinNrPagesWindow(pfn, fpfn, raHits(ra), maxWin, raWin(ra))
		v.raInfo.Store(t, raVal(fpfn, win, 0))
		if win > 1 {
			var lpfn, rpfn uint64
			switch {
			case fpfn == pfn+1:
				lpfn, rpfn = fpfn, fpfn+uint64(win)
			case pfn == fpfn+1:
				lpfn, rpfn = fpfn-uint64(win)+1, fpfn+1
			default:
				left := uint64(win-1) / 2
				lpfn, rpfn = fpfn-left, fpfn+uint64(win)-left
			}
			tableStart := (addr &^ (pmdSize - 1)) >> PageShift
			start := max(lpfn, v.start>>PageShift, tableStart)
			end := min(rpfn, v.end>>PageShift, tableStart+ptrsPerTable)
			pt, _ := m.lookupPTE(t, addr)
			for p := start; p < end && pt != nil; p++ {
				if p == fpfn {
					continue
				}
				e := pte(pt.ptes[p%ptrsPerTable].Load(t))
				if !e.isSwap() {
					continue
				}
				n.readAheadPTE(t, si, entry, pteToSwpEntry(e), m.memcg)
			}
		}
	}
	return n.readSwapCache(t, si, entry, m.memcg, v, addr)
}

// readAheadPTE reads ahead re, the swap entry of a PTE in the window of
// a fault on targ, whose device si the fault holds. An entry of another
// device is read only under a reference to its own device
// (get_swap_device(), commit 1c2a936edd71): the fault's reference does
// not keep that device from being swapped off.
//
// With the readahead-device-ref fix reverted it is read with no
// reference at all, as between commits 78524b05f1a3 and 1c2a936edd71:
// swapoff of the other device brings the page in and frees swap_map
// under the read, the race of scenario readahead-other-device (drawn in
// explore/testdata/scenarios/readahead-other-device.txt).
func (n *Node) readAheadPTE(t *ksync.Task, si *swap.SwapInfo, targ, re mem.SwpEntry, cg *memcg.MemCgroup) {
	if re.Type() == targ.Type() {
		n.readAhead(t, si, re, cg)
		return
	}
	if n.cfg.Fixes.Get(fixes.ReadaheadDeviceRef) == fixes.ReadaheadDeviceRefNone {
		// swp_swap_info(): the device as it is, nothing held.
		if rsi := n.core.SwapInfo(t, re.Type()); rsi != nil {
			n.readAhead(t, rsi, re, cg)
		}
		return
	}
	rsi := n.core.GetSwapDevice(t, re)
	if rsi == nil {
		return
	}
	n.readAhead(t, rsi, re, cg)
	n.core.PutSwapDevice(t, rsi)
}
