package swap

import (
	"testing"

	"uswap/mem"
)

// TestStrayAccounting: a folio marked stranded is counted until its
// deletion from the swap cache (by whoever does it) counts it freed with
// its time in the cache; a slot that still has a reference is not a
// stray, and marking it does nothing.
func TestStrayAccounting(t *testing.T) {
	r := newRig(t, 8, 64)
	f, _ := r.swapOut() // the swap cache holds the slot, nothing else
	other, oe := r.swapOut()
	if err := r.c.SwapDuplicate(r.t, oe); err != nil { // a PTE holds this one
		t.Fatal(err)
	}
	for _, x := range []*mem.Folio{f, other} {
		x.Lock(r.t)
		r.c.MarkStray(r.t, x)
		x.Unlock(r.t)
	}
	st := &r.c.Stats
	if got, left := st.StrayMarked.Sum(), r.c.StraysLeft(r.t); got != 1 || left != 1 {
		t.Fatalf("marked %d, left %d; want 1 and 1 (the referenced slot is no stray)", got, left)
	}
	f.Lock(r.t)
	if !r.c.FolioFreeSwap(r.t, f) {
		t.Fatal("folio_free_swap kept the stray")
	}
	f.Unlock(r.t)
	if freed, left := st.StrayFreed.Sum(), r.c.StraysLeft(r.t); freed != 1 || left != 0 {
		t.Fatalf("freed %d, left %d after the deletion", freed, left)
	}
	if st.StrayLifetime.Sum() == 0 {
		t.Error("no time in the cache recorded")
	}
	f.Put(r.t)
	other.Lock(r.t)
	r.c.SwapCacheDelFolio(r.t, other)
	other.Unlock(r.t)
	other.Put(r.t)
	r.c.SwapFree(r.t, oe)
	r.audit()
}
