package mm

import (
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
)

// This file is page reclaim for anonymous folios (mm/vmscan.c): the
// shrinkers of the inactive and active lists, shrink_folio_list with
// add_to_swap, try_to_unmap, pageout and __remove_mapping, and the
// entry points: direct reclaim (allocFolio), memcg reclaim
// (ReclaimMemcg) and kswapd (kswapd.go).

// reclaimPriorities is DEF_PRIORITY: a reclaim pass scans 1/2^prio of
// each list, halving prio until enough was reclaimed.
const reclaimPriorities = 12

// shrinkNode is shrink_node() / do_try_to_free_pages(): reclaim about nr
// frames from the lruvecs of target and its descendants (every lruvec
// when target is nil), and return how many were freed.
func (n *Node) shrinkNode(t *ksync.Task, target *memcg.MemCgroup, nr int) int {
	lvs := n.allLruvecs(t)
	if target != nil && !target.IsRoot() {
		k := 0
		for _, lv := range lvs {
			if n.inSubtree(t, lv.memcgID, target) {
				lvs[k] = lv
				k++
			}
		}
		lvs = lvs[:k]
	}
	reclaimed := 0
	first := reclaimPriorities
	if !n.canReclaimAnon(t, target) {
		// No swap to write to (can_reclaim_anon_pages() is false): only
		// folios that need no slot can go, the stranded swap-cache
		// ones. One pass finds them.
		first = 0
	}
	for prio := first; prio >= 0 && reclaimed < nr; prio-- {
		for _, lv := range lvs {
			reclaimed += n.shrinkLruvec(t, lv, prio, nr-reclaimed)
			if reclaimed >= nr {
				break
			}
		}
	}
	return reclaimed
}

// canReclaimAnon is can_reclaim_anon_pages(): whether there is swap space
// that target may use.
func (n *Node) canReclaimAnon(t *ksync.Task, target *memcg.MemCgroup) bool {
	free := n.core.NrSwapPages(t)
	if target != nil {
		free = memcg.NrSwapPages(t, target, free)
	}
	return free > 0
}

// inSubtree reports whether memcg id is target or below it.
func (n *Node) inSubtree(t *ksync.Task, id uint16, target *memcg.MemCgroup) bool {
	cg := n.hier.FromID(t, id)
	for ; cg != nil; cg = cg.Parent() {
		if cg == target {
			return true
		}
	}
	return false
}

// ReclaimMemcg is try_to_free_mem_cgroup_pages(), the memcg package's
// Reclaimer: reclaim from over and its descendants.
func (n *Node) ReclaimMemcg(t *ksync.Task, over *memcg.MemCgroup, nrPages int) int {
	return n.shrinkNode(t, over, max(nrPages, directReclaimBatch))
}

// shrinkLruvec is shrink_lruvec() for the anon lists at one priority:
// age the active list when the inactive one is low, then shrink the
// inactive list. It returns the number of frames freed.
func (n *Node) shrinkLruvec(t *ksync.Task, lv *lruvec, prio, nr int) int {
	inactive, active := lv.sizes(t)
	// inactive_is_low() with an inactive ratio of 1 (small memory).
	if inactive < active {
		n.shrinkActiveList(t, lv, max((active-inactive)>>prio, min(active, directReclaimBatch)))
		inactive, _ = lv.sizes(t)
	}
	scan := max(inactive>>prio, min(inactive, directReclaimBatch))
	reclaimed := 0
	for scan > 0 && reclaimed < nr {
		batch := min(scan, directReclaimBatch)
		isolated, scanned := n.isolateLRU(t, lv, lruInactive, batch)
		n.Stat.PgScan.Add(t, uint64(scanned))
		scan -= max(scanned, 1)
		if len(isolated) == 0 {
			break
		}
		reclaimed += n.shrinkFolioList(t, isolated)
	}
	return reclaimed
}

// shrinkActiveList is shrink_active_list() for anon folios: move up to nr
// folios from the tail of the active list to the inactive list, clearing
// their accessed bits (the kernel keeps only referenced executable file
// folios active; anon folios are always deactivated).
func (n *Node) shrinkActiveList(t *ksync.Task, lv *lruvec, nr int) {
	isolated, _ := n.isolateLRU(t, lv, lruActive, nr)
	for _, f := range isolated {
		if f.TryLock(t) {
			n.folioReferenced(t, f)
			f.Unlock(t)
		}
		f.Flags.Clear(t, mem.PGActive)
		f.Flags.Clear(t, mem.PGReferenced)
		n.Stat.PgDeactivate.Inc(t)
	}
	n.moveFoliosToLRU(t, isolated)
}

// folioRef is enum folio_references.
type folioRef int

const (
	folioRefReclaim folioRef = iota
	folioRefKeep
	folioRefActivate
)

// folioCheckReferences is folio_check_references() for an anon folio.
func (n *Node) folioCheckReferences(t *ksync.Task, f *mem.Folio) folioRef {
	ptes := n.folioReferenced(t, f)
	referenced := f.Flags.TestAndClear(t, mem.PGReferenced)
	if ptes < 0 {
		// rmap lock contention: rotate (the kernel returns ACTIVATE).
		return folioRefActivate
	}
	if ptes > 0 {
		// All mapped folios start out with a page table reference
		// from the fault that made them: look twice.
		f.Flags.Set(t, mem.PGReferenced)
		if referenced || ptes > 1 {
			return folioRefActivate
		}
		return folioRefKeep
	}
	return folioRefReclaim
}

// shrinkVerdict is the start of shrink_folio_list()'s work on a locked
// folio: a folio that needs a swap slot (needSlot) when none is free is
// activated without walking its mappings, and folio_check_references()
// decides whether it is kept or activated. done reports a verdict (the
// folio then unlocked); otherwise the folio is to be reclaimed.
func (n *Node) shrinkVerdict(t *ksync.Task, f *mem.Folio, needSlot bool) (r shrinkResult, done bool) {
	if needSlot && n.core.NrSwapPages(t) <= 0 {
		f.Unlock(t)
		return shrinkActivate, true
	}
	switch n.folioCheckReferences(t, f) {
	case folioRefActivate:
		f.Unlock(t)
		return shrinkActivate, true
	case folioRefKeep:
		f.Unlock(t)
		return shrinkKeep, true
	}
	return 0, false
}

// shrinkFolioList is shrink_folio_list() for anonymous folios. Each
// folio comes isolated (PGLRU clear, one reference held for the
// isolation). It returns how many frames it freed; the rest go back to
// the LRU together at the end (shrink_inactive_list's
// move_folios_to_lru).
func (n *Node) shrinkFolioList(t *ksync.Task, folios []*mem.Folio) int {
	freed := 0
	keep := folios[:0] // the folios kept, in place of those already seen
	for _, f := range folios {
		switch n.shrinkFolio(t, f) {
		case shrinkFreed:
			freed++
			n.Stat.PgSteal.Inc(t)
		case shrinkActivate:
			if !f.Flags.TestAndSet(t, mem.PGActive) {
				n.Stat.PgActivate.Inc(t)
			}
			keep = append(keep, f)
		case shrinkKeep:
			keep = append(keep, f)
		}
	}
	n.moveFoliosToLRU(t, keep)
	return freed
}

type shrinkResult int

const (
	shrinkKeep shrinkResult = iota
	shrinkActivate
	shrinkFreed
)

// shrinkFolio is the body of shrink_folio_list() for one isolated folio.
// On shrinkFreed the frame is back in the pool and the isolation
// reference gone; otherwise the folio is unlocked and still isolated.
func (n *Node) shrinkFolio(t *ksync.Task, f *mem.Folio) shrinkResult {
	if !f.TryLock(t) {
		return shrinkKeep
	}
	if f.Test(t, mem.PGWriteback) {
		f.Unlock(t)
		return shrinkKeep
	}
	if sf, ok := f.Mapping.(*ShmemFile); ok {
		return n.shrinkShmemFolio(t, f, sf) // shmem_writeout
	}
	if f.Mapping == nil && !f.Test(t, mem.PGSwapCache) {
		// Truncated from a shmem file while isolated: the last put
		// (putback's) frees it.
		f.Unlock(t)
		return shrinkKeep
	}
	// A swap-cache folio that nothing maps and whose slot nobody else
	// holds is stranded (a swap-in lost its race with zap, seed 004's
	// "page reclaim will ultimately pick these pages up"): free the slot
	// and the frame without writing it out.
	if f.Test(t, mem.PGSwapCache) && !f.Mapped(t) && n.core.FolioFreeSwap(t, f) {
		n.Stat.Stranded.Inc(t)
		if !f.Mapped(t) && f.RefFreeze(t, 1) {
			f.Unlock(t)
			n.pool.FreeFrozen(t, f)
			return shrinkFreed
		}
		f.Unlock(t)
		return shrinkKeep
	}
	if r, done := n.shrinkVerdict(t, f, !f.Test(t, mem.PGSwapCache)); done {
		return r
	}
	// add_to_swap().
	if !f.Test(t, mem.PGSwapCache) {
		cg := n.hier.FromID(t, f.MemcgID)
		var charge func(mem.SwpEntry) (uint16, error)
		if cg != nil {
			charge = memcg.ChargeSwapFunc(t, cg)
		}
		if _, err := n.core.FolioAllocSwap(t, f, charge); err != nil {
			// No swap (or the swap limit): keep it in memory.
			f.Unlock(t)
			return shrinkActivate
		}
		// The only copy is in memory until pageout writes it.
		f.Flags.Set(t, mem.PGDirty)
	}
	if f.Mapped(t) && !n.tryToUnmap(t, f) {
		f.Unlock(t)
		return shrinkActivate
	}
	if f.Test(t, mem.PGDirty) {
		switch n.pageout(t, f) {
		case pageoutError:
			f.Unlock(t)
			return shrinkActivate
		}
	}
	return n.removeMapping(t, f)
}

// removeMapping is __remove_mapping() for a locked, unmapped swap-cache
// folio that pageout wrote: the isolation reference and the swap cache's
// are all that may be left. A task that found the folio in the swap
// cache (a fault, try_to_unuse) holds one more: keep it then. The freeze
// is what makes the lookup safe:
//
//	CPU1 (do_swap_page)              CPU2 (reclaim)
//	                                 refcount == 2: nobody else
//	swap_cache_get_folio: ref++
//	                                 delete from swap cache, free
//	folio_lock, map it  !!! a freed frame
//
// With the freeze at 2 (RemoveMapping, under the slot's cluster lock, as
// the kernel freezes under the swap cache's lock) the count drops to 0
// atomically only if no lookup took a reference; a lookup after the
// freeze fails its TryGet and finds nothing. A folio dirtied again (a
// failed write) stays too. The folio is unlocked on return.
func (n *Node) removeMapping(t *ksync.Task, f *mem.Folio) shrinkResult {
	if !n.core.RemoveMapping(t, f, 2) {
		f.Unlock(t)
		return shrinkKeep
	}
	f.Unlock(t)
	n.pool.FreeFrozen(t, f)
	return shrinkFreed
}

type pageoutResult int

const (
	pageoutSuccess pageoutResult = iota
	pageoutError
)

// pageout is pageout() + swap_writepage() for a locked, unmapped, dirty
// swap-cache folio: clear dirty, set writeback, write the page, end
// writeback. The devices are synchronous, so writeback ends before this
// returns and the folio stays locked throughout. On a write error the
// folio is dirty again and stays resident (mapping_set_error).
func (n *Node) pageout(t *ksync.Task, f *mem.Folio) pageoutResult {
	entry := f.Swap()
	si := n.core.GetSwapDevice(t, entry)
	if si == nil {
		return pageoutError
	}
	f.Flags.Clear(t, mem.PGDirty)
	f.Flags.Set(t, mem.PGWriteback)
	err := si.WritePage(t, entry, f.Data())
	n.core.PutSwapDevice(t, si)
	if err != nil {
		f.Flags.Set(t, mem.PGDirty)
	}
	f.Flags.ClearAndWake(t, mem.PGWriteback)
	if err != nil {
		return pageoutError
	}
	return pageoutSuccess
}
