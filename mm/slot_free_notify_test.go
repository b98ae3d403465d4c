package mm_test

import (
	"testing"

	"uswap/fixes"
)

// TestSlotFreeNotifyDirtiesFolio: before e914d8f00391 a swap cache read
// from zram freed the slot's data (swap_slot_free_notify) and made the
// folio dirty, so that the folio, now the only copy, is written again
// before reclaim drops it. A parent and its fork's child share the
// slots; the parent's faults go through the swap cache (count 2) and
// free the data; reclaim unmaps the parent again; the child must still
// read every page, which only the writeback of the dirty folios kept.
func TestSlotFreeNotifyDirtiesFolio(t *testing.T) {
	const pages = 4
	cfg := ramConfig(64, 0, 64)
	cfg.PageCluster = 0
	cfg.Fixes = fixes.Default().With(fixes.KeepSlotOnRead, fixes.KeepSlotFreeAlways)
	s, tk := newSystem(t, cfg)
	m, addr := mapFilled(t, tk, s, pages, 40)
	child, err := m.Fork(tk)
	if err != nil {
		t.Fatal(err)
	}
	s.Node().Drain(tk)
	in := s.Core().Stats.PswpIn.Sum()
	verify(t, tk, m, addr, pages, 40, nil) // the swap cache path: count 2
	if got := s.Core().Stats.PswpIn.Sum() - in; got != uint64(pages) {
		t.Fatalf("the parent read %d pages from swap, want %d", got, pages)
	}
	s.Node().Drain(tk)
	verify(t, tk, child, addr, pages, 40, nil)
	audit(t, tk, s)
}
