package mm

import (
	"fmt"

	"uswap/fixes"
	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
)

// This file is reclaim of shmem folios (shrink_folio_list for a folio of
// a shmem mapping, with shmem_writeout) and the shmem half of the audit.

// shrinkShmemFolio is shrink_folio_list()'s body for a locked, isolated
// folio that a shmem file's index holds: check references, unmap it from
// every address space (its PTEs become none), write it out with
// shmemWriteout, and free it (__remove_mapping). Results as shrinkFolio.
func (n *Node) shrinkShmemFolio(t *ksync.Task, folio *mem.Folio, f *ShmemFile) shrinkResult {
	if r, done := n.shrinkVerdict(t, folio, true); done {
		return r
	}
	if folio.Mapped(t) && !n.unmapFileFolioTry(t, folio, true) {
		folio.Unlock(t)
		return shrinkActivate
	}
	if !f.writeout(t, folio) {
		folio.Unlock(t)
		return shrinkActivate
	}
	// pageout() wrote it: the folio is in the swap cache only.
	return n.removeMapping(t, folio)
}

// writeout is shmem_writeout() followed by swap_writeout() for a locked,
// unmapped folio of the index: allocate a slot (charged to the folio's
// cgroup's swap), take the index's swap count on it (folio_dup_swap();
// v6.15: swap_shmem_alloc is swap_duplicate_nr, a count of 1 like a PTE's;
// SWAP_MAP_SHMEM is gone since v6.14), replace the folio by the entry in
// the index under the i_pages lock, and write the page. It reports
// whether the folio left the index; a write error leaves it dirty in the
// swap cache, where the index's entry finds it.
//
// The count is taken before the entry is in the index, where a
// truncation or hole punch (shmem_free_swap(), free_swap_and_cache())
// can find it without the folio lock. Fix shmem-count-before-index
// reverted takes it after the lock that published the entry is dropped,
// as shmem_writepage did from v2.6.33 until commit 826267cf1e6c, which
// moved it under that lock: the race of scenario shmem-writeout-punch
// (drawn in explore/testdata/scenarios/shmem-writeout-punch.txt), where
// the punch frees a count not yet taken and the writeout's count is left
// with no owner, for swapoff to look for forever.
func (f *ShmemFile) writeout(t *ksync.Task, folio *mem.Folio) bool {
	n := f.node
	var charge func(mem.SwpEntry) (uint16, error)
	if cg := n.hier.FromID(t, folio.MemcgID); cg != nil {
		charge = memcg.ChargeSwapFunc(t, cg)
	}
	entry, err := n.core.FolioAllocSwap(t, folio, charge)
	if err != nil {
		return false
	}
	order := n.cfg.Fixes.Get(fixes.ShmemCountBeforeIndex)
	if order == fixes.ShmemCountBeforeIndexV6 {
		if err := n.core.FolioDupSwap(t, folio); err != nil {
			// Cannot happen for a fresh slot; undo.
			n.core.SwapCacheDelFolio(t, folio)
			return false
		}
	}
	index := folio.Index
	f.iPages.Lock(t)
	f.traceIndex(t, ksync.OpRead, index)
	if e := f.pages[index]; e.folio != folio {
		panic(fmt.Sprintf("mm: %v index %d holds %v, not the locked %v", f, index, e.folio, folio))
	}
	// shmem_delete_from_page_cache(folio, swp_to_radix_entry(swap)).
	f.traceIndex(t, ksync.OpWrite, index)
	f.pages[index] = shmemEntry{swap: entry}
	f.nrSwapped++
	folio.Mapping, folio.Index = nil, 0
	if order == fixes.ShmemCountUnderLock {
		f.swapShmemAlloc(t, folio)
	}
	f.iPages.Unlock(t)
	if order == fixes.ShmemCountAfterUnlock {
		f.swapShmemAlloc(t, folio)
	}
	folio.RefSub(t, 1) // the index's reference
	folio.Flags.Set(t, mem.PGDirty)
	n.pageout(t, folio)
	return true
}

// swapShmemAlloc is swap_shmem_alloc() (folio_dup_swap() of the still
// locked swap cache folio) once the entry is in the index, where it
// cannot be undone: a fresh slot always takes a count (a racing free of
// the count not yet taken is recorded by the swap core, and this one is
// then left with no owner).
func (f *ShmemFile) swapShmemAlloc(t *ksync.Task, folio *mem.Folio) {
	if err := f.node.core.FolioDupSwap(t, folio); err != nil {
		panic(fmt.Sprintf("mm: swap_shmem_alloc(%v) for %v: %v", folio.Swap(), f, err))
	}
}

// shmemAudit is the shmem part of Audit: it adds each index's swap
// entries to swapRefs (swap-count) and returns, per frame, how many
// index entries hold it (no-lost-frame), reporting index entries whose
// folio's rmap disagrees.
func (n *Node) shmemAudit(t *ksync.Task, swapRefs map[mem.SwpEntry]int, add func(id invariant.ID, obj, format string, args ...any)) []int {
	inIndex := make([]int, n.pool.Frames())
	for _, f := range n.shmemFiles(t) {
		f.iPages.Lock(t)
		swapped := 0
		eof := f.nrPagesEOF(t)
		for _, i := range f.sortedIndicesLocked(t, 0, ^uint64(0)) {
			e := f.pages[i]
			if i >= eof {
				add(invariant.NoLostFrame, f.String(), "index %d holds %v beyond EOF (%d pages)", i, e, eof)
			}
			switch {
			case e.poisoned:
				// The swapin-error marker holds no slot and no
				// frame, and is not in info->swapped.
				if e.swap != 0 || e.folio != nil {
					add(invariant.NoLostFrame, f.String(), "index %d: swapin-error marker also holds %v, %v", i, e.swap, e.folio)
				}
			case e.swap != 0:
				swapRefs[e.swap]++
				swapped++
			case e.folio != nil:
				inIndex[e.folio.PFN()]++
				if e.folio.Mapping != f || e.folio.Index != i {
					add(invariant.NoLostFrame, e.folio.String(), "in %v at index %d but its rmap says index %d of %v", f, i, e.folio.Index, e.folio.Mapping)
				}
				if e.folio.Test(t, mem.PGSwapCache) {
					add(invariant.NoLostFrame, e.folio.String(), "in %v at index %d and in the swap cache", f, i)
				}
			}
		}
		if swapped != f.nrSwapped {
			add(invariant.SwapCount, f.String(), "info->swapped %d, but %d index entries hold swap", f.nrSwapped, swapped)
		}
		f.iPages.Unlock(t)
	}
	return inIndex
}

// shmemAuditEmpty is the shmem part of AuditEmpty: no file is left, and
// (after Drain) no folio is stranded in the swap cache.
func (n *Node) shmemAuditEmpty(t *ksync.Task) []invariant.Violation {
	var vs []invariant.Violation
	if fs := n.shmemFiles(t); len(fs) != 0 {
		vs = append(vs, invariant.Newf(invariant.NoLostFrame, "shmem", "%d shmem files still live", len(fs)))
	}
	stranded := 0
	for pfn := range n.pool.Frames() {
		f := n.pool.Folio(pfn)
		if f.RefCount(t) != 0 && f.Test(t, mem.PGSwapCache) && !f.Mapped(t) {
			stranded++
		}
	}
	if stranded != 0 {
		vs = append(vs, invariant.Newf(invariant.NoLostFrame, "swap cache", "%d folios stranded in the swap cache after reclaim drained", stranded))
	}
	return vs
}
