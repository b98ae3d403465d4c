package swap

import "testing"

// TestMapLockAndCountRaise: SWAP_MAP_LOCK replaces exactly a count of 1
// with no swap cache, and unlocking gives the count back or frees the
// slot; the swap-count raise takes a count of 1 to 2 with SWAP_HAS_CACHE
// masked, as swap_count() does.
func TestMapLockAndCountRaise(t *testing.T) {
	r := newRig(t, 8, 64)
	f, e := r.swapOut()
	if got := r.c.SwapMapTryLock(r.t, e); got != MapLockNo {
		t.Fatalf("locked a slot with only SWAP_HAS_CACHE: %v", got)
	}
	if err := r.c.SwapDuplicate(r.t, e); err != nil { // the PTE's count
		t.Fatal(err)
	}
	if got := r.c.SwapMapTryLock(r.t, e); got != MapLockNo {
		t.Fatalf("locked a slot in the swap cache: %v", got)
	}
	if !r.c.SwapCountRaise(r.t, e) || r.c.SwapCount(r.t, e) != 2 {
		t.Fatalf("the raise did not take the count 1 (with the cache masked) to 2: %d", r.c.SwapCount(r.t, e))
	}
	if r.c.SwapCountRaise(r.t, e) {
		t.Fatal("raised a count of 2")
	}
	r.c.SwapFree(r.t, e)
	f.Lock(r.t)
	r.c.SwapCacheDelFolio(r.t, f)
	f.Unlock(r.t)
	f.Put(r.t)
	// Count 1, no cache: what the bypass may lock.
	if got := r.c.SwapMapTryLock(r.t, e); got != MapLocked {
		t.Fatalf("SwapMapTryLock = %v", got)
	}
	r.c.SwapMapUnlock(r.t, e, false)
	if r.c.SwapCount(r.t, e) != 1 {
		t.Fatal("unlocking without freeing did not give the count back")
	}
	if r.c.SwapMapTryLock(r.t, e) != MapLocked {
		t.Fatal("could not lock again")
	}
	r.c.SwapMapUnlock(r.t, e, true)
	if n := r.devs[0].InusePages(r.t); n != 0 {
		t.Fatalf("%d slots in use after unlocking with free", n)
	}
	r.audit()
}
