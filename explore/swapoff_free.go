package explore

import (
	"fmt"
	"time"
	"uswap/invariant"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swap"
	"uswap/swapdev"
)

// The swapoff-free scenario is seed 003's race in the form that commit
// 82b1c07a0af6 ("mm: swap: fix race between free_swap_and_cache() and
// swapoff()", 2024) closed last: free_swap_and_cache() drops the PTE's
// reference and then looks at the slot again to reclaim its swap cache
// folio; swapoff's try_to_unuse() frees that folio as soon as the count
// is gone, sees inuse_pages reach 0, and frees swap_map and the clusters
// while free_swap_and_cache() is still on its way to them:
//
//	CPU 1 (zap_pte_range)              CPU 2 (swapoff)
//	pte_clear()
//	free_swap_and_cache(entry)
//	  si = swap_info[type]
//	  swap_entry_put(): count 1 -> 0,
//	    SWAP_HAS_CACHE left
//	                                   try_to_unuse():
//	                                     folio_free_swap(): slot free
//	                                     inuse_pages == 0
//	                                   si->swap_map = NULL
//	                                   si->cluster_info = NULL
//	  __try_to_reclaim_swap()
//	    lock_cluster()  !!! freed
//
// With get_swap_device() in free_swap_and_cache() (the swap-device-ref
// switch), swapoff waits for the reference before it frees anything.
//
// It runs on the swap core alone: the "page table" is one PTE of the
// scenario's own, and swapoff's Unuser walks it as unuse_pte_range()
// would.
func init() {
	register(&Scenario{
		Name:   "swapoff-free",
		Seed:   "003",
		Fix:    fixes.SwapDevice,
		Commit: "82b1c07a0af6 (mm: swap: fix race between free_swap_and_cache() and swapoff()); eb085574a752 for swap-in",
		Doc: "swapoff against free_swap_and_cache(): zap_pte_range() clears a PTE holding a swap entry\n" +
			"whose folio is still in the swap cache and frees the entry, while swapoff brings the\n" +
			"device's pages back and frees swap_map. Without get_swap_device() in free_swap_and_cache(),\n" +
			"its reclaim of the cache folio touches the clusters after swapoff freed them.",
		MaxSteps: 20_000,
		Setup:    setupSwapoffFree,
	})
}

type swapoffFree struct {
	pool  *mem.Pool
	core  *swap.Core
	si    *swap.SwapInfo
	pt    *pageTable
	entry mem.SwpEntry

	swapoffErr error // written by the swapoff task
}

func setupSwapoffFree(t *ksync.Task, env Env) (*Instance, error) {
	fx := env.Fixes
	w := &swapoffFree{pt: newPageTable(1)}
	var err error
	if w.pool, err = mem.NewPool(4); err != nil {
		return nil, err
	}
	w.core = swap.NewCore(swap.Config{Fixes: fx})
	if w.si, err = swaponRAM(t, w.core, "zram0", 16); err != nil {
		return nil, err
	}
	// A folio swapped out and unmapped, still in the swap cache: what
	// shrink_folio_list() leaves between try_to_unmap() and
	// __remove_mapping().
	f := w.pool.Alloc(t)
	f.Flags.Set(t, mem.PGSwapBacked)
	f.Flags.Set(t, mem.PGUptodate)
	f.Lock(t)
	if w.entry, err = w.core.FolioAllocSwap(t, f, nil); err != nil {
		return nil, err
	}
	if err := w.core.SwapDuplicate(t, w.entry); err != nil {
		return nil, err
	}
	w.pt.ptes[0].Store(t, uint64(w.entry))
	f.Unlock(t)
	f.Put(t) // the swap cache keeps its own reference

	names := map[any]string{}
	w.pt.names(names)
	return &Instance{
		Tasks: []Task{
			{Name: "zap", CPU: 0, Fn: w.zap},
			{Name: "swapoff", CPU: 1, Fn: w.swapoff},
		},
		Check:      w.check,
		Names:      names,
		PanicMeans: invariant.NoUseAfterSwapoff,
	}, nil
}

// swaponRAM makes a compressed-RAM device of pages pages, writes a swap
// header and swaps it on.
func swaponRAM(t *ksync.Task, c *swap.Core, name string, pages uint64) (*swap.SwapInfo, error) {
	dev, err := swapdev.NewRAM(name, pages, "lz4")
	if err != nil {
		return nil, err
	}
	if _, err := swapdev.MkswapDevice(t, dev, swapdev.MkswapOptions{}); err != nil {
		return nil, err
	}
	return c.Swapon(t, dev, swap.SwaponOptions{})
}

// zap is zap_pte_range() for one PTE: clear it under the PTL, then drop
// what it held.
func (w *swapoffFree) zap(t *ksync.Task) {
	w.pt.ptl.Lock(t)
	v := w.pt.ptes[0].Swap(t, 0)
	w.pt.ptl.Unlock(t)
	switch {
	case v == 0:
	case pteIsSwap(v):
		w.core.FreeSwapAndCache(t, pteSwap(v))
	default:
		f := w.pool.Folio(ptePFN(v))
		f.RemoveMap(t)
		f.Put(t)
	}
}

func (w *swapoffFree) swapoff(t *ksync.Task) {
	w.swapoffErr = w.core.Swapoff(t, w.si, w)
}

// TryToUnuse is swapoff's try_to_unuse() over the scenario's page table:
// unuse_pte() for a PTE that still holds an entry of si, then the slots
// that only the swap cache holds, again until inuse_pages is 0.
func (w *swapoffFree) TryToUnuse(t *ksync.Task, si *swap.SwapInfo) error {
	for {
		w.pt.ptl.Lock(t)
		v := w.pt.ptes[0].Load(t)
		w.pt.ptl.Unlock(t)
		if pteIsSwap(v) && pteSwap(v).Type() == si.Type() {
			if err := w.unusePTE(t, pteSwap(v)); err != nil {
				return err
			}
		}
		// The rest of try_to_unuse(): a slot that only the swap cache
		// holds loses its folio.
		if f := w.core.SwapCacheGetFolio(t, w.entry); f != nil {
			f.Lock(t)
			w.core.FolioFreeSwap(t, f)
			f.Unlock(t)
			f.Put(t)
		}
		if si.InusePages(t) == 0 {
			return nil
		}
		// A racing zap holds the last reference: wait a tick and walk
		// again, as try_to_unuse() retries.
		ksync.ScheduleTimeout(t, time.Millisecond)
	}
}

// unusePTE is unuse_pte(): map the swap cache folio of entry in place of
// the entry, and drop the entry's reference.
func (w *swapoffFree) unusePTE(t *ksync.Task, entry mem.SwpEntry) error {
	f := w.core.SwapCacheGetFolio(t, entry)
	if f == nil {
		// A racing zap cleared the PTE and its free_swap_and_cache()
		// reclaimed the folio: nothing to unuse. Nothing else drops the
		// folio here, so a PTE still holding the entry is a bug.
		w.pt.ptl.Lock(t)
		v := w.pt.ptes[0].Load(t)
		w.pt.ptl.Unlock(t)
		if v == uint64(entry) {
			return fmt.Errorf("unuse %v: no swap cache folio", entry)
		}
		return nil
	}
	f.Lock(t)
	w.pt.ptl.Lock(t)
	if w.pt.ptes[0].Load(t) == uint64(entry) {
		f.Get(t)
		f.AddMap(t)
		w.pt.ptes[0].Store(t, presentPTE(f))
		w.core.SwapFree(t, entry)
	}
	w.pt.ptl.Unlock(t)
	w.core.FolioFreeSwap(t, f)
	f.Unlock(t)
	f.Put(t)
	return nil
}

func (w *swapoffFree) check(t *ksync.Task) error {
	var vs invariant.List
	if w.swapoffErr != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "swapoff", "%s", w.swapoffErr.Error()))
	}
	if w.core.SwapInfo(t, w.si.Type()) != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "swap 0", "still swapped on"))
	}
	if v := w.pt.ptes[0].Load(t); v != 0 {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "pte", "%#x after zap", v))
	}
	if free := w.pool.NrFree(t); free != int64(w.pool.Frames()) {
		vs = append(vs, invariant.Newf(invariant.NoLostFrame, "frames", "%d of %d free after the PTE and the device are gone", free, w.pool.Frames()))
	}
	vs = append(vs, w.core.Audit(t)...)
	return vs.Err()
}
