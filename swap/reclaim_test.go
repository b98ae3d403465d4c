package swap

import (
	"fmt"
	"testing"

	"uswap/ksync"
	"uswap/mem"
	"uswap/sched"
)

// TestTryToReclaimRechecksFolio: __try_to_reclaim_swap() looks the slot's
// folio up (taking a reference) and only then trylocks it; in between the
// folio can leave the swap cache at this entry and come back under
// another, while the entry goes to another folio. Only the recheck under
// the folio lock keeps it from deleting the wrong folio:
//
//	CPU1 (__try_to_reclaim_swap(E1))        CPU2
//	folio = lookup(E1): F, a reference
//	                                        delete F from the swap cache: E1 free
//	                                        F into the swap cache at E2
//	                                        folio_alloc_swap(G): E1, the only free slot
//	folio_trylock(F)
//	F is in the swap cache (at E2):
//	  delete_if_only_cached(F, E1)  !!! E1's cache slot holds G
//
// Every schedule within one preemption is run (sched.DFS(1)); each must
// end with F at E2 and the swap core's audit clean.
func TestTryToReclaimRechecksFolio(t *testing.T) {
	e := sched.DFS(1)
	for {
		s, ok := e.Next()
		if !ok {
			break
		}
		r := newRig(t, 16, 10) // 9 slots
		si := r.devs[0]
		f, e1 := r.swapOut() // F alone holds E1: SWAP_HAS_CACHE only
		var held []mem.SwpEntry
		for {
			g, eg := r.swapOut()
			if err := r.c.SwapDuplicate(r.t, eg); err != nil {
				t.Fatal(err)
			}
			r.dropCache(g) // a PTE's count of 1, no swap cache
			held = append(held, eg)
			if r.c.NrSwapPages(r.t) == 0 {
				break
			}
		}
		e2 := held[0]
		var moveErr error
		res := sched.Run(s, sched.Options{}, func(kt *ksync.Task) {
			ksync.Spawn(kt, "reclaim", 0, func(t *ksync.Task) {
				si.tryToReclaimSwap(t, e1.Offset(), ttrsAnyway)
			})
			ksync.Spawn(kt, "move", 1, func(t *ksync.Task) {
				f.Lock(t)
				if f.Test(t, mem.PGSwapCache) && f.Swap() == e1 {
					r.c.SwapCacheDelFolio(t, f)
				}
				if err := r.c.SwapcachePrepare(t, e2); err != nil {
					moveErr = fmt.Errorf("swapcache_prepare(E2): %w", err)
				} else if err := r.c.AddToSwapCache(t, f, e2); err != nil {
					moveErr = fmt.Errorf("add_to_swap_cache(F, E2): %w", err)
				}
				f.Unlock(t)
				g := r.pool.Alloc(t)
				g.Flags.Set(t, mem.PGSwapBacked)
				g.Lock(t)
				if eg, err := r.c.FolioAllocSwap(t, g, nil); err != nil || eg != e1 {
					moveErr = fmt.Errorf("folio_alloc_swap(G) = %v, %v; want E1 %v, the only free slot", eg, err, e1)
				}
				g.Unlock(t)
			})
		})
		if res.Failure != nil {
			t.Fatalf("schedule %d: %v", e.Runs(), res.Failure)
		}
		if moveErr != nil {
			t.Fatalf("schedule %d: %v", e.Runs(), moveErr)
		}
		if !f.Test(r.t, mem.PGSwapCache) || f.Swap() != e2 {
			t.Fatalf("schedule %d: F is at %v (in the swap cache: %v), want E2 %v", e.Runs(), f.Swap(), f.Test(r.t, mem.PGSwapCache), e2)
		}
		r.audit()
		if t.Failed() {
			t.Fatalf("schedule %d", e.Runs())
		}
	}
	if e.Runs() < 10 {
		t.Fatalf("DFS ran only %d schedules", e.Runs())
	}
	t.Logf("%d schedules", e.Runs())
}
