package mm

import (
	"fmt"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swap"
)

// This file is swapoff's other half (mm/swapfile.c): try_to_unuse walks
// every address space, brings each page of the device back in and drops
// the PTEs' hold on its slots, then frees the swap cache folios left over,
// until the device has no slot in use.

// unuseMaxPasses bounds try_to_unuse's retries (the kernel retries until
// a signal); each pass sleeps a tick, so that in-flight swap-ins and
// forks finish.
const unuseMaxPasses = 1000

// TryToUnuse is try_to_unuse(), the swap core's Unuser: it runs during
// Swapoff, after the device stopped handing out slots. It fails (and
// Swapoff puts the device back, usable) if memory for a page cannot be
// found.
func (n *Node) TryToUnuse(t *ksync.Task, si *swap.SwapInfo) error {
	for pass := 0; si.InusePages(t) != 0; pass++ {
		if pass >= unuseMaxPasses {
			return fmt.Errorf("try_to_unuse: %w: %d slots still in use after %d passes", swap.ErrBusy, si.InusePages(t), pass)
		}
		for _, m := range n.MMs(t) {
			if err := m.unuse(t, si); err != nil {
				return err
			}
		}
		if err := n.shmemUnuse(t, si); err != nil {
			return err
		}
		n.unuseSwapCache(t, si)
		if si.InusePages(t) != 0 {
			ksync.ScheduleTimeout(t, jiffy)
		}
	}
	return nil
}

// unuseSwapCache is try_to_unuse's sweep over the slots that only the
// swap cache holds: lock each folio, wait for writeback, folio_free_swap.
func (n *Node) unuseSwapCache(t *ksync.Task, si *swap.SwapInfo) {
	last := si.Device().Pages()
	for off := uint64(1); off < last && si.InusePages(t) != 0; off++ {
		entry := mem.SwpEntryOf(si.Type(), off)
		if n.core.GetSwapDevice(t, entry) == nil {
			break // past the swap area
		}
		folio := n.core.SwapCacheGetFolio(t, entry)
		if folio != nil {
			folio.Lock(t)
			folio.Flags.WaitOnBit(t, mem.PGWriteback)
			if folio.Test(t, mem.PGSwapCache) && folio.Swap() == entry {
				n.core.FolioFreeSwap(t, folio)
			}
			folio.Unlock(t)
			folio.Put(t)
		}
		n.core.PutSwapDevice(t, si)
		if off%ptrsPerTable == 0 {
			ksync.CondResched(t)
		}
	}
}

// unuse is unuse_mm(): for every swap PTE of si in the address space,
// bring the page in and map it (unuse_pte).
func (m *MM) unuse(t *ksync.Task, si *swap.SwapInfo) error {
	// mmget_not_zero() fails for an address space whose last user is
	// gone: exit_mmap is tearing it down and frees its swap entries
	// itself, so try_to_unuse skips it instead of waiting for its
	// mmap_lock. That lets exit's free_swap_and_cache() run against the
	// rest of swapoff: the race of scenario swapoff-free (drawn in
	// explore/testdata/scenarios/swapoff-free.txt), which
	// get_swap_device() in free_swap_and_cache() closes.
	if m.exiting.Load(t) {
		return nil
	}
	m.mmapLock.RLock(t)
	defer m.mmapLock.RUnlock(t)
	if m.dead {
		return nil
	}
	// check_stable_address_space(): a child whose fork failed midway
	// (MMF_UNSTABLE) has a half-built VMA tree, with XA_ZERO_ENTRY where
	// the fork stopped; its teardown frees its swap entries. Without the
	// check (the fork-unstable fix reverted, or its destroy-partial
	// variant, where a failed fork leaves an empty tree), the walk below
	// takes the marker for a VMA: the race of scenario swapoff-fork-fail
	// (drawn in explore/testdata/scenarios/swapoff-fork-fail.txt).
	if m.unstable && m.node.cfg.Fixes.Get(fixes.ForkUnstable) == fixes.ForkUnstableCheck {
		return nil
	}
	for _, v := range m.vmas {
		var err error
		m.forEachTable(t, v.start, v.end, func(pt *pteTable, base uint64, lo, hi int) bool {
			for i := lo; i < hi; i++ {
				p := pte(pt.ptes[i].Load(t))
				if !p.isSwap() || pteToSwpEntry(p).Type() != si.Type() {
					continue
				}
				if err = m.unusePTE(t, si, v, pt, i, base+uint64(i)<<PageShift, p); err != nil {
					return false
				}
			}
			ksync.CondResched(t)
			return true
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// unusePTE is unuse_pte_range()'s body and unuse_pte() for one PTE: get
// the folio through the swap cache (reading it if needed), lock it, wait
// for writeback, and if the PTE still holds the entry map the folio
// read-only, or install the swapin-error marker if the read failed; then
// drop the PTE's count and, if nobody else holds the slot, the swap copy.
func (m *MM) unusePTE(t *ksync.Task, si *swap.SwapInfo, v *vma, pt *pteTable, i int, addr uint64, orig pte) error {
	n := m.node
	entry := pteToSwpEntry(orig)
	folio := n.core.SwapCacheGetFolio(t, entry)
	if folio == nil {
		var err error
		folio, err = n.readSwapCache(t, si, entry, m.memcg, nil, addr)
		if folio == nil {
			if pte(pt.ptes[i].Load(t)) != orig {
				return nil
			}
			if err == nil {
				return nil // the entry went away; the next pass sees why
			}
			return fmt.Errorf("try_to_unuse: %v at %#x of %v: %w", entry, addr, m, err)
		}
	}
	folio.Lock(t)
	folio.Flags.WaitOnBit(t, mem.PGWriteback)
	if folio.Test(t, mem.PGSwapCache) && folio.Swap() == entry {
		pt.ptl.Lock(t)
		if pte(pt.ptes[i].Load(t)) == orig {
			if !folio.Test(t, mem.PGUptodate) {
				pt.ptes[i].Store(t, uint64(pteMarker))
			} else {
				if folio.Mapping == nil {
					folio.Mapping, folio.Index = v.anon, addr>>PageShift
				}
				folio.Get(t)
				pt.setLocked(t, i, folio, 0)
			}
			// folio_put_swap() (classic: swap_free()) after the
			// PTE is set, as unuse_pte() does.
			n.core.FolioPutSwap(t, folio)
		}
		pt.ptl.Unlock(t)
		n.core.FolioFreeSwap(t, folio)
	}
	folio.Unlock(t)
	folio.Put(t)
	return nil
}
