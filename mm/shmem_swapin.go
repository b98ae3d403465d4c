package mm

import (
	"errors"
	"fmt"
	"slices"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
	"uswap/swap"
)

// This file is shmem's swap-in (shmem_swapin_folio, shmem_confirm_swap,
// shmem_add_to_page_cache) and shmem_unuse for swapoff.
//
// Where the charge happens. In v6.15 a swap-cache folio is charged when
// it is read in (__read_swap_cache_async); the race of seed 004 is about
// the code before that (v5.7, "mm: memcontrol: charge swapin pages on
// instantiation" under review), where shmem_swapin_page charged the page
// only after confirming the swap entry under the folio lock. We keep that
// charge point, because it is the one the seed is about: shmem reads a
// folio into the swap cache charged to the root cgroup (every frame in
// uswap belongs to a cgroup; the root has no limit), and moves the charge
// to the file's cgroup (with reclaim) after confirming the entry. A
// failed charge is -ENOMEM with the folio still in the swap cache.
//
// Shmem always reads through the swap cache (no synchronous-device bypass
// as v6.15's shmem_swap_alloc_folio has) and without readahead.

// confirmSwap is shmem_confirm_swap(): whether the index still holds
// entry at index.
func (f *ShmemFile) confirmSwap(t *ksync.Task, index uint64, entry mem.SwpEntry) bool {
	f.iPages.Lock(t)
	defer f.iPages.Unlock(t)
	f.traceIndex(t, ksync.OpRead, index)
	return f.pages[index].swap == entry
}

// swapinFolio is shmem_swapin_folio(): bring in the page whose swap entry
// the index holds at index, and replace the entry by the folio. It
// returns the folio locked with a reference, errShmemExist if the entry
// changed (the caller looks again), ErrOOM (wrapping the memcg's
// *OOMError) if no memory could be had, or ErrBus on a read error. A read
// error leaves the swapin-error marker in the index in place of entry
// (shmem_set_folio_swapin_error): the slot and the failed folio are
// freed, and later looks at the index get ErrBus without reading again.
//
// The seed-004 race is scenario shmem-swapin, drawn in
// explore/testdata/scenarios/shmem-swapin.txt: a hole punch empties the
// index entry while the swap-in holds the folio locked, so
// free_swap_and_cache() cannot take the folio (it only trylocks) and
// leaves it in the swap cache; the swap-in then sees the entry gone
// (-EEXIST from shmem_add_to_page_cache) and unlocks a folio nothing
// refers to any more.
//
// Who deletes that folio from the swap cache, and what a failed charge
// (the cgroup is full) does with the cached copy, is the variant of
// fixes.ShmemSwapin (swapinFailed): the code before 2020 deleted it on a
// failed add and kept it on a failed charge; the patch under review
// deleted it on any error (the next read of a page whose charge failed
// reads the device again); the thread concluded to delete it only when
// the entry was seen purged; the kernel since v5.8 never deletes it and
// leaves the stray to reclaim; Joonsoo Kim proposed that the hole punch
// wait for the folio lock instead (shmem.go, undoIndex).
func (f *ShmemFile) swapinFolio(t *ksync.Task, index uint64, entry mem.SwpEntry) (*mem.Folio, error) {
	n := f.node
	core := n.core
	si := core.GetSwapDevice(t, entry)
	if si == nil {
		if !f.confirmSwap(t, index, entry) {
			return nil, errShmemExist
		}
		return nil, fmt.Errorf("%w: %v index %d: %v has no swap device", ErrBus, f, index, entry)
	}
	defer core.PutSwapDevice(t, si)

	folio := n.swapCacheGetFolio(t, entry, nil, 0)
	if folio == nil {
		var err error
		folio, err = n.shmemReadSwapCache(t, si, entry)
		if folio == nil {
			if err != nil {
				n.Stat.OOM.Inc(t)
				return nil, err
			}
			// The entry was freed under us: look again.
			return nil, errShmemExist
		}
		n.Stat.PgMajFault.Inc(t)
	}

	folio.Lock(t)
	var err error
	charging, added := false, false
	switch {
	case !folio.Test(t, mem.PGSwapCache) || folio.Swap() != entry || !f.confirmSwap(t, index, entry):
		err = errShmemExist
	case !folio.Test(t, mem.PGUptodate):
		// -EIO; shmem_swapin_folio's "failed:" path: the entry is
		// confirmed above, and shmem_set_folio_swapin_error() confirms
		// it again under the i_pages lock. If it went meanwhile, the
		// error is -EEXIST and the folio is handled as below.
		if f.setFolioSwapinError(t, folio, index, entry) {
			folio.Unlock(t)
			folio.Put(t)
			return nil, fmt.Errorf("%w: %v index %d: reading %v failed", ErrBus, f, index, entry)
		}
		err = errShmemExist
	default:
		folio.Flags.WaitOnBit(t, mem.PGWriteback)
		charging = true
		if err = n.shmemChargeFolio(t, folio, f.memcg); err == nil {
			added = true
			err = f.addToPageCache(t, folio, index, entry)
			f.addToPageCacheFailed(t, err)
		} else {
			n.Stat.ShmemChargeFail.Inc(t)
		}
	}
	if err != nil {
		f.swapinFailed(t, si, folio, index, entry, charging, added)
		folio.Unlock(t)
		folio.Put(t)
		return nil, err
	}
	// The index holds the folio now: its count on the slot and the swap
	// copy go (FolioPutSwapDel, in the design's order), and the folio,
	// the only copy, is dirty.
	core.FolioPutSwapDel(t, folio, true)
	return folio, nil
}

// setFolioSwapinError is shmem_set_folio_swapin_error() for the locked
// swap cache folio of entry whose read failed: replace entry at index by
// the swapin-error marker, only if the index still holds entry (the
// xa_cmpxchg under the i_pages lock), then, after folio_wait_writeback,
// drop the index's swap count (folio_put_swap) and take the folio out of
// the swap cache (swap_cache_del_folio), which frees the slot;
// info->swapped goes down (shmem_recalc_inode). The folio is freed at the
// caller's folio_put. It reports whether the marker was installed.
func (f *ShmemFile) setFolioSwapinError(t *ksync.Task, folio *mem.Folio, index uint64, entry mem.SwpEntry) bool {
	f.iPages.Lock(t)
	f.traceIndex(t, ksync.OpRead, index)
	if e, ok := f.pages[index]; !ok || e.swap != entry {
		f.iPages.Unlock(t)
		return false
	}
	f.traceIndex(t, ksync.OpWrite, index)
	f.pages[index] = shmemEntry{poisoned: true}
	f.nrSwapped--
	f.iPages.Unlock(t)
	n := f.node
	folio.Flags.WaitOnBit(t, mem.PGWriteback)
	if folio.Test(t, mem.PGSwapCache) && folio.Swap() == entry {
		n.core.FolioPutSwapDel(t, folio, false)
	} else {
		n.core.SwapPutEntriesDirect(t, entry)
	}
	return true
}

// swapinFailed is the "failed:" path of shmem_swapin_folio for a locked
// folio: what to do with its swap cache copy, per the variant of
// fixes.ShmemSwapin. charging says the error came from the charge or from
// shmem_add_to_page_cache (after the entry was confirmed), not from the
// confirmation itself; added says the charge succeeded and the add
// failed. A folio left in the swap cache whose slot nothing refers to,
// and that nobody else holds, is marked stranded for the measurements.
func (f *ShmemFile) swapinFailed(t *ksync.Task, si *swap.SwapInfo, folio *mem.Folio, index uint64, entry mem.SwpEntry, charging, added bool) {
	if !folio.Test(t, mem.PGSwapCache) || folio.Swap() != entry {
		return // somebody else's now
	}
	n := f.node
	switch n.cfg.Fixes.Get(fixes.ShmemSwapin) {
	case fixes.ShmemSwapinBefore2020:
		// v5.7: a failed charge only unlocks (the copy stays cached);
		// a failed shmem_add_to_page_cache(), which after a
		// confirmed entry means a racing hole punch, cancels the
		// charge and deletes the folio (215c02bc33bb). The charge
		// goes with the folio when it is freed.
		if added {
			n.core.SwapCacheDelFolio(t, folio)
		}
	case fixes.ShmemSwapinDeleteAnyError:
		// The patch under review: delete_from_swap_cache() on any
		// error of the charge or of shmem_add_to_page_cache, whether
		// or not the index still holds the entry. With the entry still
		// there, the next read goes to the device again.
		if charging {
			n.core.SwapCacheDelFolio(t, folio)
		}
	case fixes.ShmemSwapinDeleteIfRaced:
		// The thread's conclusion (v2's -ENOENT): only an entry purged
		// from the index justifies the deletion; folio_free_swap()
		// does it only if nothing but the swap cache holds the slot.
		// -ENOMEM keeps the folio cached for the next fault.
		if charging && !f.confirmSwap(t, index, entry) {
			n.core.FolioFreeSwap(t, folio)
		}
	case fixes.ShmemSwapinKeepCache, fixes.ShmemSwapinLockInUndo:
		// v5.8 and since: nothing is deleted here. A stray is left to
		// reclaim (keep-cache), or to the hole punch waiting for this
		// lock (lock-in-undo).
	}
	if folio.Test(t, mem.PGSwapCache) && folio.Swap() == entry && folio.RefCount(t) == 2 &&
		!n.core.SwapEntrySwapped(t, si, entry) && !f.confirmSwap(t, index, entry) {
		// Ours and the swap cache's are the only references, and no
		// index or PTE holds the slot: once unlocked, only reclaim
		// finds it.
		n.core.MarkStray(t, folio)
	}
}

// addToPageCache is shmem_add_to_page_cache() for a swapped-in folio: under
// the i_pages lock, replace the swap entry at index by the folio, or fail
// with -EEXIST if the index no longer holds the entry (the racing
// truncation of seed 004 is seen here). The folio is locked.
func (f *ShmemFile) addToPageCache(t *ksync.Task, folio *mem.Folio, index uint64, entry mem.SwpEntry) error {
	f.iPages.Lock(t)
	defer f.iPages.Unlock(t)
	f.traceIndex(t, ksync.OpRead, index)
	if e, ok := f.pages[index]; !ok || e.swap != entry {
		return errShmemExist
	}
	folio.Mapping, folio.Index = f, index
	folio.Get(t) // the index's reference
	f.traceIndex(t, ksync.OpWrite, index)
	f.pages[index] = shmemEntry{folio: folio}
	f.nrSwapped--
	return nil
}

// shmemReadSwapCache is shmem_swapin_cluster() without readahead, through
// swapCacheAllocFolio: the swap cache folio of entry with a reference,
// reading it in if it is not cached. A folio read here is charged to the
// root cgroup until shmemChargeFolio moves it (see the file comment). It
// returns nil, nil when the entry is no longer in use.
func (n *Node) shmemReadSwapCache(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry) (*mem.Folio, error) {
	folio, allocated, err := n.swapCacheAllocFolio(t, si, entry, nil, 0, func(folio *mem.Folio) error {
		folio.MemcgID = n.root.ID()
		return nil
	})
	if folio != nil && allocated {
		n.swapReadFolio(t, si, entry, folio)
		folio.Unlock(t)
	}
	return folio, err
}

// shmemChargeFolio is the charge of shmem_swapin_folio (the v5.7
// mem_cgroup_try_charge + commit_charge): move a locked folio's charge to
// cg, with reclaim. The folio moves to cg's LRU list; if reclaim has it
// isolated, we wait for it to be put back (reclaim cannot lock it, so it
// will), since folio->memcg_data may only change while the folio is on a
// list, under that list's lock.
func (n *Node) shmemChargeFolio(t *ksync.Task, folio *mem.Folio, cg *memcg.MemCgroup) error {
	old := folio.MemcgID
	if old == cg.ID() {
		return nil
	}
	if err := cg.TryCharge(t, 1); err != nil {
		return fmt.Errorf("%w: %w", ErrOOM, err)
	}
	for {
		lv := n.lruvecOf(t, old)
		lv.lock.Lock(t)
		if folio.Flags.TestAndClear(t, mem.PGLRU) {
			lv.delLocked(t, folio)
			folio.MemcgID = cg.ID()
			lv.lock.Unlock(t)
			break
		}
		lv.lock.Unlock(t)
		ksync.ScheduleTimeout(t, jiffy)
	}
	if oc := n.hier.FromID(t, old); oc != nil {
		memcg.Uncharge(t, oc, 1)
	}
	n.folioAddLRU(t, folio)
	return nil
}

// shmemUnuse is shmem_unuse(), called by try_to_unuse: for every file
// on the swaplist, swap in every index entry that lives on si. It stops
// at the first failure (out of memory): swapoff then fails cleanly. A
// page whose read fails is not a failure: shmem_swapin_folio left the
// swapin-error marker in its place and freed its slot, and the marker
// (no swap entry of si) is skipped like shmem_find_swap_entries() skips
// it (shmem_unuse_swap_entries() only stops on -ENOMEM).
func (n *Node) shmemUnuse(t *ksync.Task, si *swap.SwapInfo) error {
	for _, f := range n.shmemFiles(t) {
		ok, release := n.shmemUnuseHold(t, f)
		if !ok {
			continue // evicted meanwhile, or being unmounted
		}
		err := n.shmemUnuseInode(t, f, si)
		release()
		ksync.CondResched(t)
		if err != nil {
			return err
		}
	}
	return nil
}

// shmemUnuseInode is shmem_unuse_inode(): swap in every index entry of f
// that lives on si. f is held (shmemUnuseHold).
func (n *Node) shmemUnuseInode(t *ksync.Task, f *ShmemFile, si *swap.SwapInfo) error {
	type ent struct {
		index uint64
		swap  mem.SwpEntry
	}
	var todo []ent
	f.iPages.Lock(t)
	for i, e := range f.pages {
		if e.swap != 0 && e.swap.Type() == si.Type() {
			todo = append(todo, ent{i, e.swap})
		}
	}
	f.iPages.Unlock(t)
	slices.SortFunc(todo, func(a, b ent) int {
		switch {
		case a.index < b.index:
			return -1
		case a.index > b.index:
			return 1
		}
		return 0
	})
	for _, e := range todo {
		folio, err := f.swapinFolio(t, e.index, e.swap)
		if errors.Is(err, errShmemExist) {
			continue // truncated or brought in meanwhile
		}
		if errors.Is(err, ErrBus) && !f.confirmSwap(t, e.index, e.swap) {
			continue // the swapin-error marker took its place
		}
		if err != nil {
			return fmt.Errorf("shmem_unuse: %v index %d (%v): %w", f, e.index, e.swap, err)
		}
		folio.Unlock(t)
		folio.Put(t)
		ksync.CondResched(t)
	}
	return nil
}
