package swap

import (
	"errors"
	"testing"

	"uswap/design"
	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
)

// TestSwapMapEncoding raises an entry's count to n with SwapDuplicate and
// lowers it back, checking the map byte and the full count at the
// interesting points: the map byte's own range, the first carry into a
// continuation page, the carry into a second and third page.
func TestSwapMapEncoding(t *testing.T) {
	cases := []struct {
		name      string
		n         int
		wantMap   uint8 // map byte at count n, SWAP_HAS_CACHE included
		wantPages int   // continuation pages of the entry's map page
	}{
		{"one", 1, SwapHasCache | 1, 0},
		{"below max", SwapMapMax - 1, SwapHasCache | (SwapMapMax - 1), 0},
		{"max", SwapMapMax, SwapHasCache | SwapMapMax, 0},
		{"first carry", SwapMapMax + 1, SwapHasCache | CountContinued, 1},
		{"carry plus one", SwapMapMax + 2, SwapHasCache | CountContinued | 1, 1},
		{"two digits", 1000, SwapHasCache | CountContinued | uint8(1000%(SwapMapMax+1)), 1},
		{"digit one full", (SwapMapMax + 1) * (SwapContMax + 1), SwapHasCache | CountContinued, 2},
		{"second page", (SwapMapMax+1)*(SwapContMax+1) + 5, SwapHasCache | CountContinued | 5, 2},
		{"far above", 20000, SwapHasCache | CountContinued | uint8(20000%(SwapMapMax+1)), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 16, 1024)
			f, e := r.swapOut()
			for i := 0; i < tc.n; i++ {
				if err := r.c.SwapDuplicate(r.t, e); err != nil {
					t.Fatalf("SwapDuplicate #%d: %v", i+1, err)
				}
			}
			if got := r.mapByte(e); got != tc.wantMap {
				t.Errorf("map byte at count %d = %#x, want %#x", tc.n, got, tc.wantMap)
			}
			if got := r.c.SwpSwapcount(r.t, e); got != tc.n {
				t.Errorf("swp_swapcount = %d, want %d", got, tc.n)
			}
			si := r.devs[0]
			if got := contPagesOf(r.t, si, e.Offset()); got != tc.wantPages {
				t.Errorf("continuation pages = %d, want %d", got, tc.wantPages)
			}
			r.audit()
			// Count back down, one at a time, and check every step.
			for want := tc.n - 1; want >= 0; want-- {
				r.c.SwapFree(r.t, e)
				if got := r.c.SwpSwapcount(r.t, e); got != want {
					t.Fatalf("after a free, count = %d, want %d", got, want)
				}
			}
			if got := r.mapByte(e); got != SwapHasCache {
				t.Errorf("map byte with only the cache left = %#x, want %#x", got, SwapHasCache)
			}
			r.dropCache(f)
			if got := r.mapByte(e); got != 0 {
				t.Errorf("map byte after the cache let go = %#x, want 0", got)
			}
			r.audit()
		})
	}
}

// TestSwapCountFarAbove takes a count past three continuation digits
// (over a million references) and back.
func TestSwapCountFarAbove(t *testing.T) {
	if testing.Short() {
		t.Skip("long count walk")
	}
	r := newRig(t, 16, 1024)
	f, e := r.swapOut()
	const n = (SwapMapMax+1)*(SwapContMax+1)*(SwapContMax+1) + 3
	for i := 0; i < n; i++ {
		if err := r.c.SwapDuplicate(r.t, e); err != nil {
			t.Fatalf("SwapDuplicate #%d: %v", i+1, err)
		}
	}
	if got := r.c.SwpSwapcount(r.t, e); got != n {
		t.Fatalf("count = %d, want %d", got, n)
	}
	if got := contPagesOf(r.t, r.devs[0], e.Offset()); got != 3 {
		t.Errorf("continuation pages = %d, want 3", got)
	}
	r.audit()
	for i := n; i > 0; i-- {
		r.c.SwapFree(r.t, e)
		if i%100003 == 0 {
			if got := r.c.SwpSwapcount(r.t, e); got != i-1 {
				t.Fatalf("count = %d, want %d", got, i-1)
			}
		}
	}
	if got := r.mapByte(e); got != SwapHasCache {
		t.Fatalf("map byte = %#x, want SWAP_HAS_CACHE", got)
	}
	r.dropCache(f)
	r.audit()
}

// TestContinuationOnlyForItsSlot: a neighbour slot of the same map page
// keeps its own count while another slot uses continuation.
func TestContinuationOnlyForItsSlot(t *testing.T) {
	r := newRig(t, 16, 1024)
	f1, e1 := r.swapOut()
	f2, e2 := r.swapOut()
	for i := 0; i < 500; i++ {
		if err := r.c.SwapDuplicate(r.t, e1); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if err := r.c.SwapDuplicate(r.t, e2); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := r.c.SwpSwapcount(r.t, e1), r.c.SwpSwapcount(r.t, e2); a != 500 || b != 3 {
		t.Fatalf("counts %d and %d, want 500 and 3", a, b)
	}
	for i := 0; i < 500; i++ {
		r.c.SwapFree(r.t, e1)
	}
	for i := 0; i < 3; i++ {
		r.c.SwapFree(r.t, e2)
	}
	r.dropCache(f1)
	r.dropCache(f2)
	r.audit()
}

func TestSwapcachePrepare(t *testing.T) {
	r := newRig(t, 16, 1024)
	f, e := r.swapOut()
	// The swap cache holds the entry: a second pin fails.
	if err := r.c.SwapcachePrepare(r.t, e); !errors.Is(err, ErrExist) {
		t.Fatalf("prepare with a cache folio: %v, want ErrExist", err)
	}
	// A PTE holds it, the cache lets go: the pin succeeds once.
	if err := r.c.SwapDuplicate(r.t, e); err != nil {
		t.Fatal(err)
	}
	r.dropCache(f)
	if got := r.mapByte(e); got != 1 {
		t.Fatalf("map byte = %#x, want 1", got)
	}
	if err := r.c.SwapcachePrepare(r.t, e); err != nil {
		t.Fatalf("first pin: %v", err)
	}
	if err := r.c.SwapcachePrepare(r.t, e); !errors.Is(err, ErrExist) {
		t.Fatalf("second pin: %v, want ErrExist", err)
	}
	if got := r.mapByte(e); got != SwapHasCache|1 {
		t.Fatalf("pinned map byte = %#x", got)
	}
	// The PTE goes while pinned: the pin keeps the slot...
	r.c.SwapFree(r.t, e)
	if got := r.mapByte(e); got != SwapHasCache {
		t.Fatalf("map byte = %#x, want SWAP_HAS_CACHE", got)
	}
	// ...and clearing the pin frees it.
	r.c.SwapcacheClear(r.t, r.devs[0], e)
	if got := r.mapByte(e); got != 0 {
		t.Fatalf("map byte after clear = %#x, want 0", got)
	}
	if err := r.c.SwapcachePrepare(r.t, e); !errors.Is(err, ErrNoEnt) {
		t.Fatalf("prepare on a free slot: %v, want ErrNoEnt", err)
	}
	if err := r.c.SwapDuplicate(r.t, e); !errors.Is(err, ErrNoEnt) {
		t.Fatalf("duplicate of a free slot: %v, want ErrNoEnt", err)
	}
	r.audit()
}

// TestDoubleFreeIsReported: freeing an unused entry (what the seed-000 race
// does) is recorded as a bug, and the audit reports it, in both designs.
func TestDoubleFreeIsReported(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		r := newRigDesign(t, d, 16, 1024)
		e := r.allocSlot(r.t)
		r.free(e)
		r.free(e)
		vs := r.c.Audit(r.t)
		if len(vs) != 1 || vs[0].Invariant != invariant.NoKernelBug {
			t.Fatalf("audit after a double free = %v, want one recorded bug", vs)
		}
	})
}

// TestSwapPutEntriesDirect is zap_pte_range's free (free_swap_and_cache in
// the classic design) in both designs.
func TestSwapPutEntriesDirect(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		r := newRigDesign(t, d, 16, 1024)
		// The last PTE goes: the unmapped cache folio goes with it.
		f, e := r.swapOut()
		f.Lock(r.t)
		if err := r.c.FolioDupSwap(r.t, f); err != nil {
			t.Fatal(err)
		}
		f.Unlock(r.t)
		if got := r.slot(e); got != "cached 1" {
			t.Fatalf("slot %s after try_to_unmap, want cached 1", got)
		}
		r.c.SwapPutEntriesDirect(r.t, e)
		if f.Test(r.t, mem.PGSwapCache) || r.slot(e) != "free" {
			t.Fatalf("folio still in the swap cache (flags %x) or slot in use (%s)", f.Flags.Load(r.t), r.slot(e))
		}
		if f.RefCount(r.t) != 1 {
			t.Fatalf("refcount %d, want the test's 1", f.RefCount(r.t))
		}
		f.Put(r.t)

		// The folio is locked by a racing swap-in: the free only
		// trylocks, so the folio is stranded in the swap cache (seed 004).
		f, e = r.swapOut()
		f.Lock(r.t)
		if err := r.c.FolioDupSwap(r.t, f); err != nil {
			t.Fatal(err)
		}
		r.c.SwapPutEntriesDirect(r.t, e)
		f.Unlock(r.t)
		if got := r.slot(e); got != "cached" {
			t.Fatalf("stranded slot %s, want cached", got)
		}
		r.audit()
		// Reclaim's path: the stranded folio is freeable now.
		f.Lock(r.t)
		if !r.c.FolioFreeSwap(r.t, f) {
			t.Fatal("FolioFreeSwap refused a stranded folio")
		}
		f.Unlock(r.t)
		f.Put(r.t)
		if r.slot(e) != "free" {
			t.Fatal("slot not freed")
		}
		r.audit()
	})
}

func TestSwapCacheLookup(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		r := newRigDesign(t, d, 16, 1024)
		f, e := r.swapOut()
		got := r.c.SwapCacheGetFolio(r.t, e)
		if got != f {
			t.Fatalf("lookup = %v, want %v", got, f)
		}
		if rc := f.RefCount(r.t); rc != 3 {
			t.Fatalf("refcount after lookup = %d, want 3 (test, cache, lookup)", rc)
		}
		got.Put(r.t)
		// A frozen folio (reclaim is removing it) is not found.
		if !f.RefFreeze(r.t, 2) {
			t.Fatal("freeze failed")
		}
		if got := r.c.SwapCacheGetFolio(r.t, e); got != nil {
			t.Fatalf("lookup of a frozen folio = %v", got)
		}
		f.RefUnfreeze(r.t, 2)
		// A lookup's reference keeps reclaim from removing it.
		got = r.c.SwapCacheGetFolio(r.t, e)
		f.Lock(r.t)
		if r.c.RemoveMapping(r.t, f, 2) {
			t.Fatal("__remove_mapping froze a folio a lookup holds")
		}
		got.Put(r.t)
		if !r.c.RemoveMapping(r.t, f, 2) {
			t.Fatal("__remove_mapping failed on a clean folio nobody holds")
		}
		f.Unlock(r.t)
		f.RefUnfreeze(r.t, 1)
		f.Put(r.t)
		if r.slot(e) != "free" {
			t.Fatal("slot not freed")
		}
		if r.pool.NrFree(r.t) != 16 {
			t.Fatalf("%d frames free, want 16", r.pool.NrFree(r.t))
		}
		r.audit()
	})
}

// contPagesOf counts the continuation pages of offset's map page.
func contPagesOf(t *ksync.Task, si *SwapInfo, offset uint64) int {
	n := 0
	for p := si.cont[offset/contPageSize].next.Load(t); p != nil; p = p.next.Load(t) {
		n++
	}
	return n
}
