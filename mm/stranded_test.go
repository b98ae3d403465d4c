package mm_test

import (
	"testing"
	"uswap/design"

	"uswap/ksync"
	"uswap/mem"
	"uswap/swap"
)

// A swap-cache folio that is locked while its last PTE is zapped stays in
// the swap cache (free_swap_and_cache only trylocks it): stranded. Reclaim
// must free it and its slot.
func TestStrandedSwapCacheFreedByReclaim(t *testing.T) {
	forDesigns(t, testStrandedSwapCacheFreedByReclaim)
}

func testStrandedSwapCacheFreedByReclaim(t *testing.T, d design.Design) {
	cfg := fileConfig(t, 256, 0, 1024)
	cfg.Readahead = "cluster"
	s, tk := newSystemD(t, d, cfg)
	const pages = 16
	m, addr := mapFilled(t, tk, s, pages, 1)
	s.Node().Drain(tk)
	// Fault pages 0..2 in: the sequential faults open the cluster
	// readahead window, which brings page 3 into the swap cache, unmapped.
	verify(t, tk, m, addr, 3, 1, nil)
	var cached []*mem.Folio
	s.Core().ForEachSlot(tk, func(st swap.SlotState) {
		if st.Folio != nil && st.Count == 1 && !st.Folio.Mapped(tk) {
			cached = append(cached, st.Folio)
		}
	})
	if len(cached) == 0 {
		t.Fatal("readahead left nothing in the swap cache")
	}
	// A racing swap-in holds the folio lock while munmap zaps the PTE.
	// (Another task, by trylock: a task takes one folio lock in order
	// at a time, and no mmap_lock under one.)
	swapin := ksync.NewTask("swapin", 1)
	for _, f := range cached {
		if !f.TryLock(swapin) {
			t.Fatalf("%v is locked", f)
		}
	}
	if err := m.Munmap(tk, addr, pages*mem.PageSize); err != nil {
		t.Fatal(err)
	}
	for _, f := range cached {
		f.Unlock(swapin)
	}
	stranded := 0
	s.Core().ForEachSlot(tk, func(st swap.SlotState) {
		if st.HasCache && st.Count == 0 {
			stranded++
		}
	})
	if stranded != len(cached) {
		t.Fatalf("%d stranded slots, want %d", stranded, len(cached))
	}
	audit(t, tk, s)
	s.Node().Drain(tk)
	if got := s.Node().Stat.Stranded.Sum(); got != uint64(len(cached)) {
		t.Fatalf("reclaim freed %d stranded folios, want %d", got, len(cached))
	}
	m.Exit(tk)
	auditEmpty(t, tk, s)
}
