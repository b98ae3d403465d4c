package mm_test

import (
	"testing"

	"uswap/mem"
	"uswap/mm"
)

// TestReadaheadChargesSlotOwner checks mem_cgroup_swapin_charge_folio()'s
// choice of cgroup: a folio read in for a swap entry is charged to the
// cgroup the slot was recorded for at swap-out (lookup_swap_cgroup_id),
// not to the task that happens to read it. Cluster readahead is where the
// two differ: a fault of cgroup A reads ahead the neighbouring slots,
// which hold cgroup B's pages.
func TestReadaheadChargesSlotOwner(t *testing.T) {
	// A swap file: a synchronous (RAM) device would bypass the swap
	// cache and read no neighbours.
	cfg := fileConfig(t, 256, 0, 64)
	cfg.Readahead = mm.ReadaheadCluster
	s, tk := newSystem(t, cfg)
	a, err := s.Root().NewChild(tk, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Root().NewChild(tk, "b")
	if err != nil {
		t.Fatal(err)
	}
	const pages = 4
	ma, mb := s.Node().NewMM(tk, a), s.Node().NewMM(tk, b)
	var addrA, addrB uint64
	for _, x := range []struct {
		m    *mm.MM
		addr *uint64
		seed uint64
	}{{ma, &addrA, 100}, {mb, &addrB, 200}} {
		if *x.addr, err = x.m.Mmap(tk, pages*mem.PageSize, mm.ProtRead|mm.ProtWrite); err != nil {
			t.Fatal(err)
		}
		fill(t, tk, x.m, *x.addr, pages, x.seed)
	}
	// A's pages take slots 1-4, then B's 5-8: one readahead window.
	for _, x := range []struct {
		m    *mm.MM
		addr uint64
	}{{ma, addrA}, {mb, addrB}} {
		if err := x.m.MadvisePageout(tk, x.addr, pages*mem.PageSize); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.Memory().Read(tk); got != 0 {
		t.Fatalf("cgroup b charged %d pages with all its pages swapped out", got)
	}
	// A's sequential faults grow the window until it reads B's slots.
	verify(t, tk, ma, addrA, pages, 100, nil)
	if s.Node().Stat.SwapRa.Sum() == 0 {
		t.Fatal("no page was read ahead: the test does not exercise readahead")
	}
	ra := b.Memory().Read(tk)
	if ra == 0 {
		t.Errorf("cgroup b charged nothing after a's faults read its slots ahead (a charged %d pages)", a.Memory().Read(tk))
	}
	if got := a.Memory().Read(tk); got != pages {
		t.Errorf("cgroup a charged %d pages, want its own %d", got, pages)
	}
	t.Logf("%d of b's pages read ahead by a's faults, charged to b", ra)
	verify(t, tk, mb, addrB, pages, 200, nil)
	auditExit(t, tk, s, ma, mb)
}
